"""Forward mode: the JVP transform, IR to IR.

Every value gets a tangent alongside it; control flow is kept as it is. A
tangent that is zero by construction is absent (a symbolic zero) and is
materialized only where a region must yield a value: one branch of an `if`
changes a value that the other leaves constant, or a loop carries it.

`jvp_function(fn, wrt)` takes parameters `(primals..., tangents of wrt...)`
and returns `(primal results..., tangents of the differentiable results...)`.
Calls must have been inlined (`adjit.passes.inline`).
"""
from __future__ import annotations

from adjit.errors import InternalError, UnsupportedError
from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.core import Function, Node, Region, Value
from adjit.ir.ops.array import zeros_like
from adjit.ir.types import ArrayType, TapeType, Type, is_differentiable as _differentiable
from adjit.passes.autodiff.activity import active_values

MAX_FIXPOINT = 64


def is_differentiable(t: Type) -> bool:
    """Values of these types get tangents here: floats, float arrays, and
    tapes (whose tangent is the tape of their records' tangents)."""
    return _differentiable(t) or isinstance(t, TapeType)


def zero_of(b: Builder, primal: Value) -> Value:
    """A materialized zero tangent (or cotangent) for `primal`."""
    if isinstance(primal.type, ArrayType):
        return zeros_like(b, primal)
    if isinstance(primal.type, TapeType):
        return b.node(ops.tape_new, [b.const(0)], [primal.type]).result
    return b.const(0.0)


class JVPTransform:
    def __init__(self, fn: Function, active: set[Value]):
        self.fn = fn
        self.active = active  # values that depend on the inputs with tangents
        self.primal: dict[Value, Value] = {}
        self.tangent: dict[Value, Value] = {}

    def p(self, v: Value) -> Value:
        return self.primal.get(v, v)

    def t_or_zero(self, b: Builder, v: Value) -> Value:
        t = self.tangent.get(v)
        return t if t is not None else zero_of(b, self.p(v))

    def region(self, b: Builder, region: Region) -> None:
        for node in region.nodes:
            with b.located(node.span):
                self.node(b, node)

    def node(self, b: Builder, node: Node) -> None:
        if node.op is ops.if_:
            return self.if_node(b, node)
        if node.op in (ops.for_, ops.while_):
            return self.loop(b, node)
        if node.op is ops.call:
            raise InternalError("a call reached forward mode (inline first)", stage="jvp")
        new = b.node(node.op, [self.p(v) for v in node.operands], [v.type for v in node.results],
                     attrs=dict(node.attrs), hints=[v.hint for v in node.results])
        self.primal.update(zip(node.results, new.results))
        ts = [self.tangent.get(v) for v in node.operands]
        creates_tape = any(isinstance(r.type, TapeType) for r in node.results)
        if not creates_tape and (all(t is None for t in ts)
                                 or not any(is_differentiable(r.type) for r in node.results)):
            return
        if node.op.jvp is None:
            raise UnsupportedError(f"differentiating {node.op.name} is not supported",
                                   self.fn.source, node.span)
        outs = node.op.jvp(b, node.attrs, [self.p(v) for v in node.operands], new.results, ts)
        for result, t in zip(node.results, outs):
            if t is not None:
                self.tangent[result] = t

    def if_node(self, b: Builder, node: Node) -> None:
        branches = []
        for region in node.regions:
            new = Region()
            with b.at(new):
                self.region(b, region)
            branches.append(new)
        with_tangent = [k for k, r in enumerate(node.results) if is_differentiable(r.type)
                        and any(self.tangent.get(reg.yields[k]) is not None
                                for reg in node.regions)]
        for old, new in zip(node.regions, branches):
            with b.at(new):
                new.yields = [self.p(v) for v in old.yields] + \
                             [self.t_or_zero(b, old.yields[k]) for k in with_tangent]
        types = [r.type for r in node.results] + [node.results[k].type for k in with_tangent]
        hints = [r.hint for r in node.results] + [f"{node.results[k].hint}.dot"
                                                   if node.results[k].hint else ""
                                                   for k in with_tangent]
        new_node = b.node(ops.if_, [self.p(node.operands[0])], types, regions=branches,
                          hints=hints)
        n = len(node.results)
        self.primal.update(zip(node.results, new_node.results[:n]))
        for k, t in zip(with_tangent, new_node.results[n:]):
            self.tangent[node.results[k]] = t

    def loop(self, b: Builder, node: Node) -> None:
        leading = 3 if node.op is ops.for_ else 0
        inits = node.operands[leading:]
        body = node.regions[-1]
        # Start from the activity analysis (tapes always carry tangent tapes),
        # so the body is normally transformed once, however deep the nesting.
        active = {k for k, (v, r) in enumerate(zip(inits, node.results))
                  if is_differentiable(v.type) and (self.tangent.get(v) is not None
                                                    or r in self.active
                                                    or isinstance(r.type, TapeType))}
        for _ in range(MAX_FIXPOINT):
            order = sorted(active)
            regions = [self.loop_region(b, r, node, order) for r in node.regions]
            grown = {k for k, y in enumerate(body.yields)
                     if is_differentiable(y.type) and self.tangent.get(y) is not None} - active
            if not grown:
                break
            active |= grown
        else:
            raise InternalError("tangents of a loop did not settle", stage="jvp")
        for region, old in zip(regions, node.regions):
            if old is body:
                with b.at(region):
                    region.yields = [self.p(v) for v in old.yields] + \
                                    [self.t_or_zero(b, old.yields[k]) for k in order]
        init_tangents = [self.t_or_zero(b, inits[k]) for k in order]
        types = [r.type for r in node.results] + [node.results[k].type for k in order]
        new_node = b.node(node.op, [self.p(v) for v in node.operands] + init_tangents, types,
                          regions=regions, hints=[r.hint for r in node.results] + [""] * len(order))
        n = len(node.results)
        self.primal.update(zip(node.results, new_node.results[:n]))
        for k, t in zip(order, new_node.results[n:]):
            self.tangent[node.results[k]] = t

    def loop_region(self, b: Builder, old: Region, node: Node, order: list[int]) -> Region:
        """A loop region with tangent arguments for the carried values in `order`."""
        skip = 1 if node.op is ops.for_ and old is node.regions[-1] else 0
        carried = old.args[skip:]
        types: list[Type] = [a.type for a in old.args] + [carried[k].type for k in order]
        new = Region(types, [a.hint for a in old.args] + [""] * len(order))
        self.primal.update(zip(old.args, new.args))
        for a in carried:
            self.tangent.pop(a, None)
        for k, t in zip(order, new.args[len(old.args):]):
            self.tangent[carried[k]] = t
        with b.at(new):
            self.region(b, old)
        if old is not node.regions[-1]:  # the while condition: yields its bool only
            new.yields = [self.p(v) for v in old.yields]
        return new


def jvp_function(fn: Function, wrt: list[int], name: str | None = None) -> Function:
    """The forward-mode derivative of `fn` with respect to parameters `wrt`."""
    for k in wrt:
        if not is_differentiable(fn.params[k].type):
            raise ValueError(f"parameter {k} of {fn.origin or fn.name} has type "
                             f"{fn.params[k].type}, which has no derivative")
    transform = JVPTransform(fn, active_values(fn, wrt))
    params = fn.params
    body = Region([p.type for p in params] + [params[k].type for k in wrt],
                  [p.hint for p in params] + [f"{params[k].hint}.dot" for k in wrt])
    transform.primal.update(zip(params, body.args))
    for k, t in zip(wrt, body.args[len(params):]):
        transform.tangent[params[k]] = t
    b = Builder(body, fn.span)
    transform.region(b, fn.body)
    returned = fn.body.yields[:len(fn.returned_types)]
    written = fn.body.yields[len(fn.returned_types):]
    differentiable = [v for v in returned if is_differentiable(v.type)]
    body.yields = [transform.p(v) for v in returned] + \
                  [transform.t_or_zero(b, v) for v in differentiable] + \
                  [transform.p(v) for v in written]
    out = Function(name or f"{fn.name}.jvp", body, [v.type for v in body.yields], fn.span,
                   fn.source, origin=fn.origin, writes=list(fn.writes))
    return out
