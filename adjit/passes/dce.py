"""Dead code elimination.

One backward walk per function, from the returned values; a value is live
when a kept node or a region's yield uses it. Rules:

- A node without effects (`manager.has_effects`: impure, may raise, or
  holds such a node) whose results are all dead is deleted. Nodes that may
  raise are kept even when unused (their exception is observable), except
  where the operands prove they cannot (`manager.CANNOT_RAISE`: division by
  a nonzero constant, allocation with dimensions read from arrays, ...).
- `if`: dead results are removed, with their yields in both branches; an
  `if` with no live result and no effect inside is deleted.
- `while` / `for`: a carried value is kept only if its result is live, or
  the condition, an effectful node of the loop, or another kept carried
  value depends on it (a fixed point over the dependencies inside the
  regions); the others are removed (initial value, region arguments, yield,
  result). A loop with no live result and no effect inside is deleted
  (termination is not an effect).
- Tapes: a `tape_push` has no effect of its own, so a tape that is pushed
  but never popped dies with all its pushes (inside loops too: the carried
  tape goes with them), and so does an unused `tape_new`.
- Element accesses and array sums that provably cannot raise are like pure
  nodes (`Bounds`): `x[i]` where the same index was already used, earlier
  in the same or an enclosing region, on an array of the same shape (it
  would have raised there), or where `i` is the index of a `for` over
  `range(0, n)` or its reverse `range(n - 1, -1, -1)` with n the array's
  dimension; `array_add` of two arrays of the same shape. Shapes are
  followed through element writes, array sums, loop-carried values the
  loop only writes to, and `if` results whose branches agree.
- Calls are kept (inline first).
"""
from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass
from typing import ClassVar

from adjit.ir import ops
from adjit.ir.builder import constant_value
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.passes.manager import Pass, has_effects, register


@register
@dataclass(frozen=True)
class DeadCodeElimination(Pass):
    name: ClassVar[str] = "dce"

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            eliminate_dead_code(fn)
        return module


def eliminate_dead_code(fn: Function) -> None:
    _DCE(Bounds(fn).safe).region(fn.body, set())


class _DCE:
    def __init__(self, proven: set[Node]) -> None:
        self.memo: dict[Node, bool] = {}
        self.proven = proven

    def effects(self, node: Node) -> bool:
        return has_effects(node, self.memo, self.proven)

    def region(self, region: Region, live: set[Value]) -> None:
        """Delete dead nodes of `region`; `live` gains every value used."""
        live.update(region.yields)
        kept: list[Node] = []
        for node in reversed(region.nodes):
            used = any(r in live for r in node.results)
            if not used and not self.effects(node):
                continue
            if node.op is ops.if_:
                self.trim_if(node, live)
            elif node.op in (ops.while_, ops.for_):
                self.trim_loop(node, live)
            else:
                for inner in node.regions:
                    self.region(inner, live)
            live.update(node.operands)
            kept.append(node)
        kept.reverse()
        region.nodes = kept

    def trim_if(self, node: Node, live: set[Value]) -> None:
        keep = [k for k, r in enumerate(node.results) if r in live]
        node.results = _renumber([node.results[k] for k in keep])
        for inner in node.regions:
            inner.yields = [inner.yields[k] for k in keep]
            self.region(inner, live)

    def trim_loop(self, node: Node, live: set[Value]) -> None:
        lead = 3 if node.op is ops.for_ else 0
        keep = self.needed_carried(node, live)
        node.operands = node.operands[:lead] + [node.operands[lead + k] for k in keep]
        node.results = _renumber([node.results[k] for k in keep])
        for inner in node.regions:
            skip = 1 if node.op is ops.for_ else 0
            inner.args = _renumber(inner.args[:skip] + [inner.args[skip + k] for k in keep])
            if inner is node.regions[-1]:
                inner.yields = [inner.yields[k] for k in keep]
        for inner in node.regions:
            self.region(inner, live)

    def needed_carried(self, node: Node, live: set[Value]) -> list[int]:
        """Positions of the carried values the loop must keep."""
        skip = 1 if node.op is ops.for_ else 0
        body = node.regions[-1]
        needed = {k for k, r in enumerate(node.results) if r in live}
        if len(needed) == len(node.results):
            return sorted(needed)  # nothing to trim: skip walking the body
        while True:
            used: set[Value] = set()
            for inner in node.regions:
                roots = [body.yields[k] for k in needed] if inner is body else list(inner.yields)
                self.uses(inner, roots, used)
            grown = needed | {k for inner in node.regions
                              for k, a in enumerate(inner.args[skip:]) if a in used}
            if grown == needed:
                return sorted(needed)
            needed = grown

    def uses(self, region: Region, roots: list[Value], used: set[Value]) -> None:
        """Add to `used` what computing `roots` and the effects of `region`
        needs (conservatively whole nested nodes), without changing anything."""
        used.update(roots)
        for node in reversed(region.nodes):
            if any(r in used for r in node.results) or self.effects(node):
                used.update(node.operands)
                for inner in node.regions:
                    self.uses(inner, inner.yields, used)


def _renumber(values: list[Value]) -> list[Value]:
    for k, v in enumerate(values):
        v.index = k
    return values


# --- array shapes and indices --------------------------------------------------------

SHAPE_PRESERVING = (ops.array_set, ops.array_add_at, ops.array_add)
ACCESSES = (ops.array_get, ops.array_set, ops.array_add_at)


class Bounds:
    """The element accesses and array sums of a function that cannot raise.

    A shape is a tuple of dimension keys; equal keys mean equal dimensions:
    ("const", n), ("value", v) for a dimension computed as v, ("dim", a, k)
    for axis k of an array a whose allocation is not visible.
    """

    def __init__(self, fn: Function):
        self.safe: set[Node] = set()
        self.shapes: dict[Value, tuple] = {}
        self.ranges: dict[Value, tuple] = {}  # for-loop index -> n, with index in [0, n)
        self.parent: dict[Region, Node] = {}
        for node in fn.walk():
            for region in node.regions:
                self.parent[region] = node
        self.walk(fn.body, ChainMap())

    def walk(self, region: Region, known: ChainMap) -> None:
        known = known.new_child()
        for node in region.nodes:
            if node.op is ops.for_:
                self.index_range(node)
            for inner in node.regions:
                self.walk(inner, known)
            if node.op in ACCESSES:
                array = node.operands[0]
                indices = tuple(node.operands[1:1 + array.type.ndim])
                key = (self.shape(array), indices)
                if key in known or all(self.ranges.get(i) == d for i, d in zip(indices, key[0])):
                    self.safe.add(node)
                known[key] = True
            elif node.op is ops.array_add:
                if self.shape(node.operands[0]) == self.shape(node.operands[1]):
                    self.safe.add(node)

    def index_range(self, node: Node) -> None:
        start, stop, step = node.operands[:3]
        first, last, stride = (constant_value(v) for v in (start, stop, step))
        if first == 0 and stride == 1:
            self.ranges[node.regions[0].args[0]] = self.dim(stop)
            return
        owner = start.owner
        if last == -1 and stride == -1 and isinstance(owner, Node) and owner.op is ops.sub \
                and constant_value(owner.operands[1]) == 1:
            n = owner.operands[0]
            bound = n.owner
            if isinstance(bound, Node) and bound.op is ops.max_ \
                    and constant_value(bound.operands[1]) == 0:
                n = bound.operands[0]  # max(n, 0) - 1 down to 0: the same indices
            self.ranges[node.regions[0].args[0]] = self.dim(n)

    def dim(self, d: Value) -> tuple:
        owner = d.owner
        if isinstance(owner, Node) and owner.op is ops.array_dim:
            return self.shape(owner.operands[0])[owner.attrs["axis"]]
        c = constant_value(d)
        return ("const", c) if c is not None else ("value", d)

    @staticmethod
    def origin(v: Value) -> Value:
        while isinstance(v.owner, Node) and v.owner.op in SHAPE_PRESERVING:
            v = v.owner.operands[0]
        return v

    def shape(self, v: Value) -> tuple:
        if v in self.shapes:
            return self.shapes[v]
        o = self.origin(v)
        out = tuple(("dim", o, k) for k in range(v.type.ndim))
        owner = o.owner
        if isinstance(owner, Node) and owner.op is ops.array_new:
            out = tuple(self.dim(d) for d in owner.operands)
        elif isinstance(owner, Node) and owner.op in (ops.for_, ops.while_):
            out = self.carried_shape(owner, o.index, out)
        elif isinstance(owner, Node) and owner.op is ops.if_:
            then, other = (self.shape(r.yields[o.index]) for r in owner.regions)
            out = then if then == other else out
        elif isinstance(owner, Region) and owner in self.parent:
            loop = self.parent[owner]
            skip = 1 if loop.op is ops.for_ and owner is loop.regions[0] else 0
            if loop.op in (ops.for_, ops.while_) and o.index >= skip:
                out = self.carried_shape(loop, o.index - skip, out)
        self.shapes[v] = out
        return out

    def carried_shape(self, loop: Node, k: int, opaque: tuple) -> tuple:
        """The shape of carried value k if the body only writes into it."""
        skip = 1 if loop.op is ops.for_ else 0
        body = loop.regions[-1]
        if self.origin(body.yields[k]) is not body.args[skip + k]:
            return opaque
        return self.shape(loop.operands[3 * skip + k])
