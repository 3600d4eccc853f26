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
- a loop: the carried values at the start of every iteration, pushed on a
  tape, and its trip count. The adjoint is a counted loop over the iterations
  in reverse that pops the carried values, recomputes the body from them
  (store carried values, recompute the rest), and runs the body's adjoint.
  Branches inside loops are recomputed from the same values, so they take the
  same way; nothing else of another iteration is read.

Cotangents of arrays accumulate in place (`array_add_at` for `x[i]` reads);
accumulators of arrays used in a branch or a loop are created outside it and
passed through, so reading x[i] in a loop costs O(1) in the adjoint.
Calls must have been inlined first.
"""
from __future__ import annotations

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
from adjit.passes.autodiff.jvp import zero_of

Env = dict  # old Value, or (old Node, "tape" | "trip") -> new Value


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
    """Differentiable values used in `regions` but defined outside, in a stable order."""
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
                    if v not in inner and is_differentiable(v.type):
                        seen.setdefault(v)
                stack.extend(node.regions)
            for v in region.yields:
                if v not in inner and is_differentiable(v.type):
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


class VJPTransform:
    def __init__(self, fn: Function, active: set[Value] | None = None):
        self.fn = fn
        self.active = active  # values that depend on the differentiated inputs

    def fail(self, message: str, node: Node):
        raise UnsupportedError(message, self.fn.source, node.span)

    # --- forward part --------------------------------------------------------

    def forward(self, b: Builder, region: Region, env: Env) -> None:
        """Emit `region`'s nodes, keeping what their adjoints need in `env`."""
        for node in region.nodes:
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
        leading = 3 if is_for else 0
        operands = [env.get(v, v) for v in node.operands]
        inits = operands[leading:]
        carried_types = [v.type for v in inits]
        tape_type = TapeType(tuple(carried_types))
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
            extras = new.args[len(old.args):]
            if is_body:
                carried = new.args[1:len(old.args)] if is_for else new.args[:len(old.args)]
                tape = sb.apply(ops.tape_push, extras[0], *carried)
            for inner_node in old.nodes:
                clone_node(sb, inner_node, inner)
            new.yields = [inner.get(v, v) for v in old.yields]
            if is_body:
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

    # --- adjoint part --------------------------------------------------------

    def is_active(self, v: Value) -> bool:
        return is_differentiable(v.type) and (self.active is None or v in self.active)

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
        cts = [ct.get(r) if is_differentiable(r.type) else None for r in node.results]
        if all(c is None for c in cts):
            return
        if node.op.vjp is None:
            self.fail(f"differentiating {node.op.name} is not supported", node)
        xs = [env.get(v, v) for v in node.operands]
        ys = [env.get(v, v) for v in node.results]
        cts = [c if c is not None else (zero_of(b, y) if is_differentiable(y.type) else None)
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
        arrays = self.pass_in(b, free, env, ct)
        scalars = [v for v in free if v not in arrays]
        regions = []
        for old in node.regions:
            new = Region()
            inner_ct = {v: ct[v] for v in arrays}
            with b.at(new):
                for y, c in zip(old.yields, cts):
                    self.accumulate(b, inner_ct, y, c, env)
                self.adjoint(b, old, env, inner_ct)
                new.yields = [inner_ct[v] for v in arrays] + \
                             [inner_ct.get(v) if inner_ct.get(v) is not None
                              else zero_of(b, env.get(v, v)) for v in scalars]
            regions.append(new)
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
        state_types = [tape.type] + [c.type for c in ct_inits] + [a.type for a in acc_inits]
        region = Region([I64] + state_types, ["k", "tape"] + [""] * (len(state_types) - 1))
        k_arg, tape_arg = region.args[:2]
        ct_args = region.args[2:2 + len(active)]
        acc_args = region.args[2 + len(active):]
        rb = Builder(region, b.span)
        popped = rb.node(ops.tape_pop, [tape_arg], [tape.type, *tape.type.elements]).results
        inner = dict(env)
        inner.update(zip(carried_args, popped[1:]))
        if is_for:
            start, _, step = [env.get(v, v) for v in node.operands[:3]]
            inner[body.args[0]] = rb.apply(ops.add, start, rb.apply(ops.mul, k_arg, step))
        first = len(region.nodes)
        self.forward(rb, body, inner)  # recompute this iteration
        for node in region.nodes[first:]:
            mark_recomputed(node)
        inner_ct: dict = {v: a for v, a in zip(arrays, acc_args)}
        for k, c in zip(active, ct_args):
            self.accumulate(rb, inner_ct, body.yields[k], c, inner)
        self.adjoint(rb, body, inner, inner_ct)
        region.yields = [popped[0]] + \
            [inner_ct.get(carried_args[k]) if inner_ct.get(carried_args[k]) is not None
             else zero_of(rb, popped[1 + k]) for k in active] + \
            [inner_ct[v] for v in arrays] + \
            [a if inner_ct.get(v) is None else rb.apply(ops.add, a, inner_ct[v])
             for v, a in zip(scalars, acc_args[len(arrays):])]
        last = b.apply(ops.sub, trip, b.const(1))
        new_node = b.node(ops.for_, [last, b.const(-1), b.const(-1), tape] + ct_inits + acc_inits,
                          state_types, regions=[region])
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
    fused = Function(name or f"{fn.name}.vjp", body, [v.type for v in body.yields], fn.span,
                     fn.source, origin=fn.origin, writes=list(fn.writes))
    return fused, boundary, len(outputs)
