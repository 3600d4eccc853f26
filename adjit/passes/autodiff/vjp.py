"""Reverse mode: the VJP transform, IR to IR.

`vjp_function(fn, wrt)` builds one fused graph: the forward part computes
the primal and keeps what the adjoint part needs; the adjoint part runs the
nodes backwards, accumulating cotangents with each op's `vjp` rule.
`adjit.passes.autodiff.split` cuts it into a forward graph and an adjoint
graph for `vjp`; `grad` compiles it fused, so values the adjoint needs from
straight-line code are plain SSA values.

What the forward part keeps:
- straight-line values: nothing to do, the adjoint refers to them;
- an `if`: its branches yield the values their adjoints need as extra
  results (each branch a placeholder for the other's);
- a loop: per iteration, one record pushed on a tape at the end of the body
  (`Saving`): the values the iteration started with, and its trip count.
  The adjoint is a counted loop over the iterations in reverse that pops
  the records, recomputes the body from them (store carried values,
  recompute the rest), and runs the body's adjoint. Branches inside loops
  are recomputed from the same values, so they take the same way; nothing
  else of another iteration is read. Two kinds of carried values are not
  pushed whole: an array the body changes only by element writes, at its
  top level or in its branches (the record holds the overwritten elements
  and the branches taken; the adjoint undoes the writes), and a tape (a
  loop of a reverse-mode graph: the record holds what its pops returned,
  the recomputation replays them).

Cotangents of arrays accumulate in place (`array_add_at` for `x[i]` reads);
accumulators of arrays used in a branch or a loop are created outside it and
passed through, so reading x[i] in a loop costs O(1) in the adjoint.
Calls must have been inlined first.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from adjit.errors import InternalError, UnsupportedError
from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.clone import clone_node
from adjit.ir.core import Function, Node, Region, Value
from adjit.ir.ops.array import zeros_like
from adjit.ir.ops.base import Indexed
from adjit.ir.types import BOOL, F64, I64, ArrayType, TapeType, Type, is_differentiable
from adjit.passes.autodiff.activity import active_values
from adjit.passes.autodiff.jvp import is_differentiable as has_derivative, zero_of

Env = dict  # old Value, or (old Node, "tape" | "trip") -> new Value

# While set (by `adjit dump`, to draw the two sweeps), build_vjp marks each
# top-level node of the fused graph with attrs[SWEEP] = "forward" or
# "adjoint"; the marks survive cloning, and dump removes them before any
# pass sees them.
SWEEP = "sweep"
MARK_SWEEPS: contextvars.ContextVar[bool] = contextvars.ContextVar("mark_sweeps", default=False)


def placeholder(b: Builder, t: Type) -> Value:
    """A value of type `t` for a branch that does not compute it."""
    if isinstance(t, ArrayType):
        zero = b.const(0)
        return b.apply(ops.array_new, *[zero] * t.ndim, fill="empty")
    if isinstance(t, TapeType):
        return b.node(ops.tape_new, [b.const(0)], [t]).result
    return b.const(0, t) if t in (F64, I64, BOOL) else b.const(0.0)


def defined_in(region: Region) -> set[Value]:
    out = set(region.args)
    for node in region.walk():
        out.update(node.results)
    stack = [region]
    while stack:
        r = stack.pop()
        out.update(r.args)
        for node in r.nodes:
            stack.extend(node.regions)
    return out


def free_values(regions: list[Region]) -> list[Value]:
    """Values with derivatives (tapes included) used in `regions` but defined
    outside, in a stable order."""
    inner: set[Value] = set()
    for r in regions:
        inner |= defined_in(r)
    seen: dict[Value, None] = {}
    for r in regions:
        stack = [r]
        while stack:
            region = stack.pop()
            for node in region.nodes:
                for v in node.operands:
                    if v not in inner and has_derivative(v.type):
                        seen.setdefault(v)
                stack.extend(node.regions)
            for v in region.yields:
                if v not in inner and has_derivative(v.type):
                    seen.setdefault(v)
    return list(seen)


def trip_count(b: Builder, start: Value, stop: Value, step: Value) -> Value:
    """len(range(start, stop, step)), without dividing by a zero step."""
    one, zero = b.const(1), b.const(0)
    up = b.apply(ops.gt, step, zero)
    up_count = b.apply(ops.floordiv, b.apply(ops.add, b.apply(ops.sub, stop, start),
                                             b.apply(ops.sub, step, one)),
                       b.apply(ops.max_, step, one))
    neg_step = b.apply(ops.neg, step)
    down_count = b.apply(ops.floordiv, b.apply(ops.add, b.apply(ops.sub, start, stop),
                                               b.apply(ops.sub, neg_step, one)),
                         b.apply(ops.max_, neg_step, one))
    return b.apply(ops.max_, b.apply(ops.select, up, up_count, down_count), zero)


def mark_recomputed(node: Node) -> None:
    """Mark a node of a loop body recomputed in the adjoint `checked_before`:
    it ran on the same values in the forward sweep, so it cannot raise now,
    may be deleted when unused (`adjit.passes.manager.has_effects`) and needs
    no bounds checks."""
    if node.op.may_raise or node.regions:
        node.attrs["checked_before"] = True
    for region in node.regions:
        for inner in region.nodes:
            mark_recomputed(inner)


@dataclass(eq=False)
class Branch:
    """An `if` of a loop body that writes a restored array: per region, the
    writes (and nested branches) from the array before the `if` to the
    region's yield."""

    node: Node
    chains: list[list[Any]]


Step = Any  # an array_set Node, or a Branch


def trace_writes(region: Region, v: Value) -> tuple[Value, list[Step]] | None:
    """Follow array value `v` back through the element writes and branches of
    `region`'s top level to the first value `region` does not define: that
    value and the steps from it to `v`, in order (None if `v` comes from
    another node)."""
    nodes = set(region.nodes)
    steps: list[Step] = []
    while isinstance(v.owner, Node) and v.owner in nodes:
        owner = v.owner
        if owner.op is ops.array_set:
            steps.append(owner)
            v = owner.operands[0]
        elif owner.op is ops.if_:
            k = owner.results.index(v)
            traced = [trace_writes(r, r.yields[k]) for r in owner.regions]
            if any(t is None for t in traced) or len({t[0] for t in traced}) != 1:
                return None
            steps.append(Branch(owner, [t[1] for t in traced]))
            v = traced[0][0]
        else:
            return None
    return v, steps[::-1]


@dataclass(eq=False)
class Saving:
    """What a loop's forward part pushes on its tape each iteration, in record
    order: the carried values kept whole (`whole`: slots), the records of the
    pops of the tapes it carries (`pops`), and the items of the carried
    arrays restored by undoing their writes (`restored`: slot -> steps): per
    element write, its indices (but not a `for` loop's index, which the
    adjoint recomputes) and the overwritten value; per branch, its condition
    (the writes of the region not taken get placeholders)."""

    node: Node
    restored: dict[int, list[Step]]
    tape_ops: list[Node]
    whole: list[int] = field(init=False)
    pops: list[Node] = field(init=False)
    items: list[Node] = field(init=False)
    nested: dict[Node, list[Node]] = field(init=False)
    tape_type: TapeType = field(init=False)

    def __post_init__(self) -> None:
        leading = 3 if self.node.op is ops.for_ else 0
        carried = [v.type for v in self.node.operands[leading:]]
        self.whole = [k for k, t in enumerate(carried)
                      if not isinstance(t, TapeType) and k not in self.restored]
        self.pops = [n for n in self.tape_ops if n.op is ops.tape_pop]
        self.items, self.nested = [], {}
        for k in sorted(self.restored):
            self.collect(self.restored[k], [])
        fields = [carried[k] for k in self.whole] + \
            [r.type for pop in self.pops for r in pop.results[1:]] + \
            [t for item in self.items for t in self.field_types(item)]
        self.tape_type = TapeType(tuple(fields))

    def collect(self, chain: list[Step], enclosing: list[Node]) -> None:
        """Add the items of `chain` to `items`, and to `nested` of each
        enclosing branch."""
        for step in chain:
            item = step.node if isinstance(step, Branch) else step
            if item not in self.items:
                self.items.append(item)
                for outer in enclosing:
                    self.nested.setdefault(outer, []).append(item)
            if isinstance(step, Branch):
                self.nested.setdefault(item, [])
                for inner in step.chains:
                    self.collect(inner, enclosing + [item])

    @property
    def loop_index(self) -> Value | None:
        return self.node.regions[-1].args[0] if self.node.op is ops.for_ else None

    def saved_indices(self, write: Node) -> list[Value]:
        return [v for v in write.operands[1:-1] if v is not self.loop_index]

    def field_types(self, item: Node) -> list[Type]:
        if item.op is ops.if_:
            return [BOOL]
        return [I64] * len(self.saved_indices(item)) + [item.results[0].type.dtype]

    def emit(self, b: Builder, nodes: list[Node], env: Env, saved: dict) -> None:
        """Clone a loop body's `nodes`, keeping in `saved` the record fields of
        the items among them: a write's indices and the element it overwrites,
        a branch's condition, and (as extra results of the branch) the items
        inside it."""
        for node in nodes:
            if node in self.nested:
                self.emit_branch(b, node, env, saved)
                continue
            if node in self.items:
                array, *indices = [env.get(v, v) for v in node.operands[:-1]]
                saved[node] = [env.get(v, v) for v in self.saved_indices(node)] + \
                    [b.apply(ops.array_get, array, *indices)]
            clone_node(b, node, env)

    def emit_branch(self, b: Builder, node: Node, env: Env, saved: dict) -> None:
        inside = self.nested[node]
        types = [t for item in inside for t in self.field_types(item)]
        regions = []
        for old in node.regions:
            new, inner, local = Region(), dict(env), {}
            rb = Builder(new, b.span)
            self.emit(rb, old.nodes, inner, local)
            new.yields = [inner.get(v, v) for v in old.yields] + \
                [v for item in inside for v in local.get(item) or
                 [placeholder(rb, t) for t in self.field_types(item)]]
            regions.append(new)
        new_node = b.node(ops.if_, [env.get(node.operands[0], node.operands[0])],
                          [r.type for r in node.results] + types, regions=regions,
                          hints=[r.hint for r in node.results] + [""] * len(types))
        n = len(node.results)
        env.update(zip(node.results, new_node.results[:n]))
        extras = list(new_node.results[n:])
        for item in inside:
            width = len(self.field_types(item))
            saved[item], extras = extras[:width], extras[width:]
        saved[node] = [new_node.operands[0]]

    def record(self, saved: dict) -> list[Value]:
        return [v for item in self.items for v in saved[item]]

    def split(self, record: list[Value], index: Value | None
              ) -> tuple[list[Value], list[Value], dict]:
        """A popped record: the whole values, the pops' records, and per item
        its fields (a write's full indices and overwritten value, a branch's
        condition); `index` is the `for` loop's recomputed index."""
        whole, rest = record[:len(self.whole)], record[len(self.whole):]
        n_popped = sum(len(pop.results) - 1 for pop in self.pops)
        pops, rest = rest[:n_popped], rest[n_popped:]
        items = {}
        for item in self.items:
            width = len(self.field_types(item))
            fields, rest = rest[:width], rest[width:]
            if item.op is ops.if_:
                items[item] = fields[0]
            else:
                saved = iter(fields[:-1])
                items[item] = ([index if v is self.loop_index else next(saved)
                                for v in item.operands[1:-1]], fields[-1])
        return whole, pops, items

    def undo(self, b: Builder, slot: int, array: Value, items: dict) -> Value:
        """`array` as it was before this iteration's writes to carried slot `slot`."""
        return self.undo_chain(b, self.restored[slot], array, items)

    def undo_chain(self, b: Builder, chain: list[Step], array: Value, items: dict) -> Value:
        for step in reversed(chain):
            if isinstance(step, Branch):
                regions = []
                for inner in step.chains:
                    region = Region()
                    region.yields = [self.undo_chain(Builder(region, b.span), inner, array,
                                                     items)]
                    regions.append(region)
                array = b.node(ops.if_, [items[step.node]], [array.type],
                               regions=regions).result
            else:
                indices, old = items[step]
                array = b.node(ops.array_set, [array, *indices, old],
                               attrs={"checked_before": True}).result
        return array


class VJPTransform:
    def __init__(self, fn: Function, active: set[Value] | None = None):
        self.fn = fn
        self.active = active  # values that depend on the differentiated inputs
        self.savings: dict[Node, Saving] = {}

    def fail(self, message: str, node: Node):
        raise UnsupportedError(message, self.fn.source, node.span)

    # --- forward part --------------------------------------------------------

    def forward(self, b: Builder, region: Region, env: Env) -> None:
        """Emit `region`'s nodes, keeping what their adjoints need in `env`.
        Nodes whose results `env` already gives are not emitted (the tape
        ops a loop's recomputation replays, see `replay_tapes`)."""
        for node in region.nodes:
            if node.results and all(r in env for r in node.results):
                continue
            with b.located(node.span):
                if node.op is ops.if_:
                    self.forward_if(b, node, env)
                elif node.op in (ops.for_, ops.while_):
                    self.forward_loop(b, node, env)
                elif node.op is ops.call:
                    raise InternalError("a call reached reverse mode (inline first)", "vjp")
                else:
                    clone_node(b, node, env)

    def forward_if(self, b: Builder, node: Node, env: Env) -> None:
        branch_envs, regions = [], []
        for old in node.regions:
            new = Region()
            inner = dict(env)
            with b.at(new):
                self.forward(b, old, inner)
            regions.append(new)
            branch_envs.append({k: v for k, v in inner.items() if k not in env})
        keys: list[Any] = []
        for e in branch_envs:
            keys.extend(k for k in e if k not in keys)
        keys = [k for k in keys if k not in node.results]
        types = [r.type for r in node.results] + [self.key_type(k, branch_envs) for k in keys]
        for old, new, e in zip(node.regions, regions, branch_envs):
            with b.at(new):
                new.yields = [e.get(v, env.get(v, v)) for v in old.yields] + \
                             [e[k] if k in e else placeholder(b, t)
                              for k, t in zip(keys, types[len(node.results):])]
        new_node = b.node(ops.if_, [env.get(node.operands[0], node.operands[0])], types,
                          regions=regions, hints=[r.hint for r in node.results] + [""] * len(keys))
        n = len(node.results)
        env.update(zip(node.results, new_node.results[:n]))
        env.update(zip(keys, new_node.results[n:]))

    @staticmethod
    def key_type(key: Any, envs: list[Env]) -> Type:
        for e in envs:
            if key in e:
                return e[key].type
        raise AssertionError(key)

    def forward_loop(self, b: Builder, node: Node, env: Env) -> None:
        is_for = node.op is ops.for_
        operands = [env.get(v, v) for v in node.operands]
        saving = self.saving(node)
        tape_type = saving.tape_type
        if is_for:
            trip = trip_count(b, *operands[:3])
            tape0 = b.node(ops.tape_new, [trip], [tape_type]).result
            extra_inits, extra_types = [tape0], [tape_type]
        else:
            tape0 = b.node(ops.tape_new, [b.const(0)], [tape_type]).result
            extra_inits, extra_types = [tape0, b.const(0)], [tape_type, I64]
        regions = []
        for old in node.regions:
            is_body = old is node.regions[-1]
            new = Region([a.type for a in old.args] + extra_types,
                         [a.hint for a in old.args] + ["tape", "trips"][:len(extra_types)])
            inner = dict(env)
            inner.update(zip(old.args, new.args))
            sb = Builder(new, b.span)
            saved: dict[Node, list[Value]] = {}
            saving.emit(sb, old.nodes, inner, saved)
            new.yields = [inner.get(v, v) for v in old.yields]
            if is_body:
                extras = new.args[len(old.args):]
                carried = new.args[1:len(old.args)] if is_for else new.args[:len(old.args)]
                record = [carried[k] for k in saving.whole] + \
                    [inner[r] for pop in saving.pops for r in pop.results[1:]] + \
                    saving.record(saved)
                tape = sb.apply(ops.tape_push, extras[0], *record)
                new.yields += [tape] + ([] if is_for else
                                        [sb.apply(ops.add, extras[1], sb.const(1))])
            regions.append(new)
        n = len(node.results)
        new_node = b.node(node.op, operands + extra_inits,
                          [r.type for r in node.results] + extra_types, regions=regions,
                          hints=[r.hint for r in node.results] + ["tape", "trips"][:len(extra_types)])
        env.update(zip(node.results, new_node.results[:n]))
        env[(node, "tape")] = new_node.results[n]
        env[(node, "trip")] = trip if is_for else new_node.results[n + 1]

    def saving(self, node: Node) -> Saving:
        """What a loop saves per iteration (computed once per loop)."""
        if node not in self.savings:
            self.savings[node] = Saving(node, self.written_arrays(node),
                                        self.carried_tape_ops(node))
        return self.savings[node]

    @staticmethod
    def written_arrays(node: Node) -> dict[int, list[Step]]:
        """The carried arrays a loop body changes only by element writes, at
        its top level or in its branches: slot -> the steps from the body's
        argument to its yield. The adjoint restores such an array to its
        value at the start of each iteration by undoing the writes, so only
        the overwritten elements are saved (O(1) per write instead of the
        whole array per iteration)."""
        body = node.regions[-1]
        skip = 1 if node.op is ops.for_ else 0
        out: dict[int, list[Step]] = {}
        for k, arg in enumerate(body.args[skip:]):
            if isinstance(arg.type, ArrayType):
                traced = trace_writes(body, body.yields[k])
                if traced is not None and traced[0] is arg:
                    out[k] = traced[1]
        return out

    def carried_tape_ops(self, node: Node) -> list[Node]:
        """The pushes and pops, in order, of the tapes a loop carries (a loop
        of a reverse-mode graph, differentiated again).

        Their records are not recomputed in the adjoint: a tape is updated in
        place, so it cannot be read again. Instead the loop's own tape saves
        what the pops of each iteration returned, and `replay_tapes` gives
        those records to the recomputed body. This needs each carried tape
        to go from the body's argument to its yield through pushes and pops
        at the body's top level, its only uses."""
        body = node.regions[-1]
        skip = 1 if node.op is ops.for_ else 0
        uses: dict[Value, int] = {}
        for r in node.regions:
            for inner in r.walk():
                for v in inner.operands:
                    uses[v] = uses.get(v, 0) + 1
                for nested in inner.regions:
                    for v in nested.yields:
                        uses[v] = uses.get(v, 0) + 1
        for v in body.yields:
            uses[v] = uses.get(v, 0) + 1
        user = {n.operands[0]: n for n in body.nodes
                if n.op in (ops.tape_push, ops.tape_pop)}
        chain: list[Node] = []
        for k, arg in enumerate(body.args[skip:]):
            if not isinstance(arg.type, TapeType):
                continue
            if node.op is ops.while_ and uses.get(node.regions[0].args[k]):
                self.fail("reverse mode through a loop whose condition reads a tape is not "
                          "supported", node)
            v = arg
            while v is not body.yields[k]:
                if uses.get(v) != 1 or v not in user:
                    self.fail("reverse mode through a loop that uses a tape other than by "
                              "pushing and popping it in its body is not supported", node)
                chain.append(user[v])
                v = user[v].results[0]
            if uses.get(v) != 1:
                self.fail("reverse mode through a loop that uses a tape other than by pushing "
                          "and popping it in its body is not supported", node)
        for v in free_values([body]):
            if isinstance(v.type, TapeType):
                self.fail("reverse mode through a loop that reads a tape it does not carry "
                          "is not supported", node)
        position = {n: i for i, n in enumerate(body.nodes)}
        return sorted(chain, key=position.__getitem__)

    def replay_tapes(self, node: Node, env: Env, records: list[Value]) -> None:
        """Map the carried tapes of a loop's body and their pushes and pops to
        themselves (so `forward` does not emit them again; only their types
        matter to the adjoint rules) and the pops' records to `records`."""
        body = node.regions[-1]
        for arg in body.args:
            if isinstance(arg.type, TapeType):
                env[arg] = arg
        for tape_node in self.saving(node).tape_ops:
            env[tape_node.results[0]] = tape_node.results[0]
            if tape_node.op is ops.tape_pop:
                fields = tape_node.results[1:]
                env.update(zip(fields, records[:len(fields)]))
                records = records[len(fields):]

    # --- adjoint part --------------------------------------------------------

    def is_active(self, v: Value) -> bool:
        return has_derivative(v.type) and (self.active is None or v in self.active)

    def accumulate(self, b: Builder, ct: dict, v: Value, contribution: Any, env: Env) -> None:
        if contribution is None or not self.is_active(v):
            return
        current = ct.get(v)
        if isinstance(contribution, Indexed):
            if current is None:
                current = zeros_like(b, env.get(v, v))
            # The forward sweep read v at these indices: they are in bounds.
            ct[v] = b.node(ops.array_add_at, [current, *contribution.indices, contribution.value],
                           attrs={"checked_before": True}).result
        elif current is None:
            ct[v] = contribution
        elif isinstance(v.type, TapeType):
            raise InternalError("a tape got two cotangents (tapes are used once)", "vjp")
        elif isinstance(v.type, ArrayType):
            ct[v] = b.apply(ops.array_add, current, contribution)
        else:
            ct[v] = b.apply(ops.add, current, contribution)

    def adjoint(self, b: Builder, region: Region, env: Env, ct: dict) -> None:
        for node in reversed(region.nodes):
            with b.located(node.span):
                if node.op is ops.if_:
                    self.adjoint_if(b, node, env, ct)
                elif node.op in (ops.for_, ops.while_):
                    self.adjoint_loop(b, node, env, ct)
                else:
                    self.adjoint_node(b, node, env, ct)

    def adjoint_node(self, b: Builder, node: Node, env: Env, ct: dict) -> None:
        cts = [ct.get(r) if has_derivative(r.type) else None for r in node.results]
        if all(c is None for c in cts):
            return
        if node.op.vjp is None:
            self.fail(f"differentiating {node.op.name} is not supported", node)
        xs = [env.get(v, v) for v in node.operands]
        ys = [env.get(v, v) for v in node.results]
        cts = [c if c is not None else (zero_of(b, y) if has_derivative(y.type) else None)
               for c, y in zip(cts, ys)]
        for v, contribution in zip(node.operands, node.op.vjp(b, node.attrs, xs, ys, cts)):
            self.accumulate(b, ct, v, contribution, env)

    def pass_in(self, b: Builder, free: list[Value], env: Env, ct: dict) -> list[Value]:
        """Array accumulators for `free`, created outside the region if needed."""
        arrays = [v for v in free if isinstance(v.type, ArrayType)]
        for v in arrays:
            if ct.get(v) is None:
                ct[v] = zeros_like(b, env.get(v, v))
        return arrays

    def adjoint_if(self, b: Builder, node: Node, env: Env, ct: dict) -> None:
        cts = [ct.get(r) for r in node.results]
        if all(c is None for c in cts):
            return
        free = [v for v in free_values(node.regions) if self.is_active(v)]
        # Arrays without a cotangent yet get one in the branches (an array
        # written in a branch passes its result's cotangent on, in place);
        # zeros only in a branch that gives none.
        arrays = [v for v in free if isinstance(v.type, ArrayType)]
        scalars = [v for v in free if v not in arrays]
        regions, inner_cts = [], []
        for old in node.regions:
            new = Region()
            inner_ct = {v: ct[v] for v in arrays if ct.get(v) is not None}
            with b.at(new):
                for y, c in zip(old.yields, cts):
                    self.accumulate(b, inner_ct, y, c, env)
                self.adjoint(b, old, env, inner_ct)
            regions.append(new)
            inner_cts.append(inner_ct)
        arrays = [v for v in arrays if any(c.get(v) is not None for c in inner_cts)]
        for new, inner_ct in zip(regions, inner_cts):
            with b.at(new):
                new.yields = [inner_ct.get(v) if inner_ct.get(v) is not None
                              else zeros_like(b, env.get(v, v)) for v in arrays] + \
                             [inner_ct.get(v) if inner_ct.get(v) is not None
                              else zero_of(b, env.get(v, v)) for v in scalars]
        types = [v.type for v in arrays + scalars]
        new_node = b.node(ops.if_, [env.get(node.operands[0], node.operands[0])], types,
                          regions=regions)
        for v, r in zip(arrays, new_node.results):
            ct[v] = r
        for v, r in zip(scalars, new_node.results[len(arrays):]):
            self.accumulate(b, ct, v, r, env)

    def adjoint_loop(self, b: Builder, node: Node, env: Env, ct: dict) -> None:
        is_for = node.op is ops.for_
        leading = 3 if is_for else 0
        body = node.regions[-1]
        carried_args = body.args[1:] if is_for else body.args
        inits = node.operands[leading:]
        active = [k for k, r in enumerate(node.results) if self.is_active(r)]
        if all(ct.get(node.results[k]) is None for k in active):
            return
        free = [v for v in free_values([body]) if v not in carried_args and self.is_active(v)]
        arrays = self.pass_in(b, free, env, ct)
        scalars = [v for v in free if v not in arrays]
        tape, trip = env[(node, "tape")], env[(node, "trip")]
        ct_inits = [ct.get(node.results[k]) for k in active]
        ct_inits = [c if c is not None else zero_of(b, env.get(node.results[k]))
                    for c, k in zip(ct_inits, active)]
        acc_inits = [ct[v] for v in arrays] + [b.const(0.0) for _ in scalars]
        # The arrays restored by undoing writes, from their values after the loop.
        saving = self.saving(node)
        restored = sorted(saving.restored)
        primal_inits = [env.get(node.results[k], node.results[k]) for k in restored]
        state_types = [tape.type] + [c.type for c in ct_inits] + [a.type for a in acc_inits] \
            + [a.type for a in primal_inits]
        region = Region([I64] + state_types, ["k", "tape"] + [""] * (len(state_types) - 1))
        k_arg, tape_arg = region.args[:2]
        ct_args = region.args[2:2 + len(active)]
        acc_args = region.args[2 + len(active):2 + len(active) + len(acc_inits)]
        primal_args = region.args[2 + len(active) + len(acc_inits):]
        rb = Builder(region, b.span)
        popped = rb.node(ops.tape_pop, [tape_arg], [tape.type, *tape.type.elements]).results
        inner = dict(env)
        if is_for:
            start, _, step = [env.get(v, v) for v in node.operands[:3]]
            inner[body.args[0]] = rb.apply(ops.add, start, rb.apply(ops.mul, k_arg, step))
        whole, pops, writes = saving.split(popped[1:], inner.get(body.args[0]) if is_for
                                           else None)
        inner.update(zip([carried_args[k] for k in saving.whole], whole))
        self.replay_tapes(node, inner, pops)
        for k, array in zip(restored, primal_args):
            inner[carried_args[k]] = saving.undo(rb, k, array, writes)
        first = len(region.nodes)
        self.forward(rb, body, inner)  # recompute this iteration
        for recomputed in region.nodes[first:]:
            mark_recomputed(recomputed)
        inner_ct: dict = {v: a for v, a in zip(arrays, acc_args)}
        for k, c in zip(active, ct_args):
            self.accumulate(rb, inner_ct, body.yields[k], c, inner)
        self.adjoint(rb, body, inner, inner_ct)
        region.yields = [popped[0]] + \
            [inner_ct.get(carried_args[k]) if inner_ct.get(carried_args[k]) is not None
             else zero_of(rb, inner[carried_args[k]]) for k in active] + \
            [inner_ct[v] for v in arrays] + \
            [a if inner_ct.get(v) is None else rb.apply(ops.add, a, inner_ct[v])
             for v, a in zip(scalars, acc_args[len(arrays):])] + \
            [saving.undo(rb, k, inner[body.yields[k]], writes) for k in restored]
        last = b.apply(ops.sub, trip, b.const(1))
        new_node = b.node(ops.for_, [last, b.const(-1), b.const(-1), tape] + ct_inits + acc_inits
                          + primal_inits, state_types, regions=[region])
        results = new_node.results[1:]
        for k, r in zip(active, results):
            self.accumulate(b, ct, inits[k], r, env)
        for v, r in zip(arrays, results[len(active):]):
            ct[v] = r
        for v, r in zip(scalars, results[len(active) + len(arrays):]):
            self.accumulate(b, ct, v, r, env)


def vjp_function(fn: Function, wrt: list[int], name: str | None = None,
                 of: list[int] | None = None) -> Function:
    """The fused reverse-mode graph of `fn`: parameters `(primals..., output
    cotangents...)`, results `(primal results..., cotangents of wrt...)`.
    One output cotangent per differentiable returned value (or per returned
    value listed in `of`)."""
    fused, _, _ = build_vjp(fn, wrt, of, name)
    return fused


def build_vjp(fn: Function, wrt: list[int], of: list[int] | None = None,
              name: str | None = None) -> tuple[Function, int, int]:
    """The fused graph, the number of its top-level nodes that form the
    forward part, and the number of output cotangents."""
    for k in wrt:
        if not is_differentiable(fn.params[k].type):
            raise ValueError(f"parameter {k} of {fn.origin or fn.name} has type "
                             f"{fn.params[k].type}, which has no derivative")
    returned = fn.body.yields[:len(fn.returned_types)]
    if of is None:
        of = [k for k, v in enumerate(returned) if is_differentiable(v.type)]
    outputs = [returned[k] for k in of]
    params = fn.params
    body = Region([p.type for p in params] + [v.type for v in outputs],
                  [p.hint for p in params] + ["ct" if len(outputs) == 1 else f"ct{k}"
                                              for k in range(len(outputs))])
    env: Env = dict(zip(params, body.args))
    b = Builder(body, fn.span)
    transform = VJPTransform(fn, active_values(fn, wrt))
    transform.forward(b, fn.body, env)
    boundary = len(body.nodes)
    ct: dict = {}
    for v, c in zip(outputs, body.args[len(params):]):
        transform.accumulate(b, ct, v, c, env)
    transform.adjoint(b, fn.body, env, ct)
    grads = [ct.get(params[k]) if ct.get(params[k]) is not None else zero_of(b, body.args[k])
             for k in wrt]
    written = fn.body.yields[len(fn.returned_types):]
    body.yields = [env.get(v, v) for v in returned] + grads + [env.get(v, v) for v in written]
    if MARK_SWEEPS.get():
        for k, node in enumerate(body.nodes):
            node.attrs[SWEEP] = "forward" if k < boundary else "adjoint"
    fused = Function(name or f"{fn.name}.vjp", body, [v.type for v in body.yields], fn.span,
                     fn.source, origin=fn.origin, writes=list(fn.writes))
    return fused, boundary, len(outputs)
