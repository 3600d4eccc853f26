"""Tape elimination: records that never need a tape become plain SSA values.

A tape *web* is the set of tape values connected by `tape_push`,
`tape_pop`, the carried values of loops and the results of `if`s: one
tape as it flows through the function (each value used once). Webs that
reach anything else (a function parameter or result, a call) are left
alone. Rules:

- Push then pop: `%t1 = tape_push %t0, %a...` followed, in the same region,
  by `%t2, %b... = tape_pop %t1` gives `%b... = %a...` and `%t2 = %t0`;
  both nodes go. Applied in program order this pairs k pushes with k pops in
  LIFO order, in straight-line code: a tape created, pushed k times and
  popped k times in one region, without a loop in between, disappears.
  Across regions (a push before a loop, its pop inside) nothing changes:
  the pop runs once per iteration.
- Invariant fields: when every push of a web stores the same value `%v` in
  field j, every pop's field j is `%v`, where `%v` is visible at the pop
  and no loop that carries the web runs `%v`'s definition more than once
  (else a pop could see an earlier iteration's `%v`). Reverse mode pushes
  the arrays a loop carries even when the loop never changes them; this
  rule turns those into the arrays themselves.
- Unused fields: a field that no pop's result uses is dropped from the
  tape's type, every push and every pop; a tape with no field left is no
  tape at all (its pushes and pops go).
- Never popped: a tape whose value ends unused after a chain of pushes is
  removed with its pushes. That is `dce`'s tape rule; this pass runs `dce`
  on every function that holds tapes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from adjit.ir import ops
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.types import TapeType
from adjit.passes.dce import eliminate_dead_code
from adjit.passes.manager import Pass, register, resolve, substitute

TAPE_OPS = (ops.tape_new, ops.tape_push, ops.tape_pop)


@register
@dataclass(frozen=True)
class TapeElimination(Pass):
    name: ClassVar[str] = "tape-elim"

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            eliminate_tapes(fn)
        return module


def eliminate_tapes(fn: Function) -> None:
    if not any(n.op in TAPE_OPS for n in fn.walk()):
        return
    _pair_pushes_and_pops(fn.body, {})
    subst: dict[Value, Value] = {}
    webs = _Webs(fn)
    for web in webs.webs():
        webs.forward_invariant_fields(web, subst)
    substitute(fn.body, subst)
    used = _used_values(fn.body)
    for web in webs.webs():
        _drop_unused_fields(web, used, subst)
    substitute(fn.body, subst)
    _delete_replaced(fn.body, subst)
    eliminate_dead_code(fn)


def _pair_pushes_and_pops(region: Region, subst: dict[Value, Value]) -> None:
    here: set[Node] = set()
    out: list[Node] = []
    for node in region.nodes:
        node.operands = [resolve(subst, v) for v in node.operands]
        for inner in node.regions:
            _pair_pushes_and_pops(inner, subst)
        push = node.operands[0].owner if node.op is ops.tape_pop else None
        if push in here and push.op is ops.tape_push:
            subst.update(zip(node.results, push.operands))
            continue
        here.add(node)
        out.append(node)
    region.nodes = out
    region.yields = [resolve(subst, v) for v in region.yields]


@dataclass(eq=False)
class Web:
    """One tape through the function."""

    values: list[Value] = field(default_factory=list)
    pushes: list[Node] = field(default_factory=list)
    pops: list[Node] = field(default_factory=list)
    carriers: list[Node] = field(default_factory=list)  # loops that carry it
    escapes: bool = False


class _Webs:
    def __init__(self, fn: Function):
        self.parent: dict[Value, Value] = {}
        self.region_owner: dict[Region, Node] = {}
        self.home: dict[Node, tuple[Region, int]] = {}
        self.by_root: dict[Value, Web] = {}
        self._index(fn.body)
        self._connect(fn)

    # union-find over tape values
    def find(self, v: Value) -> Value:
        root = v
        while self.parent.get(root, root) is not root:
            root = self.parent[root]
        while v is not root:
            self.parent[v], v = root, self.parent[v]
        return root

    def union(self, *values: Value) -> None:
        roots = [self.find(v) for v in values]
        for r in roots[1:]:
            if r is not roots[0]:
                self.parent[r] = roots[0]

    def _index(self, region: Region) -> None:
        for i, node in enumerate(region.nodes):
            self.home[node] = (region, i)
            for inner in node.regions:
                self.region_owner[inner] = node
                self._index(inner)

    def _connect(self, fn: Function) -> None:
        escaping: list[Value] = [v for v in (*fn.params, *fn.body.yields)
                                 if isinstance(v.type, TapeType)]
        carried: list[tuple[Value, Node]] = []
        defined: list[Value] = [v for v in fn.params if isinstance(v.type, TapeType)]
        for node in fn.walk():
            defined.extend(v for r in node.regions for v in r.args
                           if isinstance(v.type, TapeType))
            defined.extend(v for v in node.results if isinstance(v.type, TapeType))
            region = self.home[node][0]
            tapes = [v for v in (*node.operands, *node.results) if isinstance(v.type, TapeType)]
            escaping.extend(v for v in node.operands
                            if isinstance(v.type, TapeType) and self.crosses_loop(v, region))
            for inner in node.regions:
                escaping.extend(v for v in inner.yields
                                if isinstance(v.type, TapeType) and self.crosses_loop(v, inner))
            if not tapes:
                continue
            if node.op in TAPE_OPS:
                self.union(*node.operands[:1 if node.op is not ops.tape_new else 0],
                           node.results[0])
            elif node.op is ops.if_:
                for k, r in enumerate(node.results):
                    if isinstance(r.type, TapeType):
                        self.union(r, *(region.yields[k] for region in node.regions))
            elif node.op in (ops.for_, ops.while_):
                skip = 1 if node.op is ops.for_ else 0
                for k, init in enumerate(node.operands[3 * skip:]):
                    if isinstance(init.type, TapeType):
                        self.union(init, node.results[k], node.regions[-1].yields[k],
                                   *(r.args[k + skip] for r in node.regions))
                        carried.append((init, node))
            else:
                escaping.extend(tapes)
        for v in defined:
            self.web(v).values.append(v)
        for node in fn.walk():
            if node.op is ops.tape_push:
                self.web(node.results[0]).pushes.append(node)
            elif node.op is ops.tape_pop:
                self.web(node.results[0]).pops.append(node)
        for init, loop in carried:
            self.web(init).carriers.append(loop)
        for v in escaping:
            self.web(v).escapes = True

    def crosses_loop(self, v: Value, used_in: Region) -> bool:
        """Whether a use of `v` in `used_in` is inside a loop that `v` is
        not (the use would run more often than the definition)."""
        defined = self.region_of(v)
        region = used_in
        while region is not defined and region in self.region_owner:
            node = self.region_owner[region]
            if node.op in (ops.for_, ops.while_):
                return True
            region = self.home[node][0]
        return False

    def web(self, v: Value) -> Web:
        return self.by_root.setdefault(self.find(v), Web())

    def webs(self) -> list[Web]:
        return [w for w in self.by_root.values() if not w.escapes]

    # where values are defined and visible
    def region_of(self, v: Value) -> Region | None:
        owner = v.owner
        if isinstance(owner, Region):
            return owner
        return self.home[owner][0] if owner in self.home else None

    def encloses(self, loop: Node, region: Region) -> bool:
        while region in self.region_owner:
            node = self.region_owner[region]
            if node is loop:
                return True
            region = self.home[node][0]
        return False

    def visible_at(self, v: Value, node: Node) -> bool:
        defined = self.region_of(v)
        if defined is None:
            return False
        after = -1 if isinstance(v.owner, Region) else self.home[v.owner][1]
        region, index = self.home[node]
        while region is not defined:
            if region not in self.region_owner:
                return False
            region, index = self.home[self.region_owner[region]]
        return index > after

    def forward_invariant_fields(self, web: Web, subst: dict[Value, Value]) -> None:
        if not web.pushes:
            return
        for j in range(1, len(web.pushes[0].operands)):
            stored = {id(p.operands[j]): p.operands[j] for p in web.pushes}
            if len(stored) != 1:
                continue
            (v,) = stored.values()
            home = self.region_of(v)
            if isinstance(v.type, TapeType):
                continue
            if home is None or any(self.encloses(loop, home) for loop in web.carriers):
                continue
            if all(self.visible_at(v, pop) for pop in web.pops):
                for pop in web.pops:
                    subst[pop.results[j]] = v


def _used_values(region: Region) -> set[Value]:
    used = set(region.yields)
    for node in region.walk():
        used.update(node.operands)
        for inner in node.regions:
            used.update(inner.yields)
    return used


def _drop_unused_fields(web: Web, used: set[Value], subst: dict[Value, Value]) -> None:
    if not web.values or not web.pops:
        return
    fields = web.values[0].type.elements
    keep = [j for j in range(len(fields))
            if any(pop.results[1 + j] in used for pop in web.pops)]
    if len(keep) == len(fields):
        return
    if not keep:  # no record left: pushes and pops only pass the tape on
        for node in web.pushes + web.pops:
            subst[node.results[0]] = node.operands[0]
        return
    new_type = TapeType(tuple(fields[j] for j in keep))
    for v in web.values:
        v.type = new_type
    for push in web.pushes:
        push.operands = [push.operands[0]] + [push.operands[1 + j] for j in keep]
    for pop in web.pops:
        pop.results = [pop.results[0]] + [pop.results[1 + j] for j in keep]
        for k, r in enumerate(pop.results):
            r.index = k


def _delete_replaced(region: Region, subst: dict[Value, Value]) -> None:
    """Drop the pushes and pops whose tape results were replaced."""
    region.nodes = [n for n in region.nodes
                    if not (n.op in TAPE_OPS[1:] and n.results[0] in subst)]
    for node in region.nodes:
        for inner in node.regions:
            _delete_replaced(inner, subst)
