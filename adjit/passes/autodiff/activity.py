"""Activity analysis: which values depend on the inputs being differentiated.

Reverse mode accumulates cotangents only for active values, so data that the
result does not depend on through the differentiated inputs (a data matrix,
a constant table) gets no cotangent accumulator at all.
"""
from __future__ import annotations

from adjit.ir import ops
from adjit.ir.core import Function, Node, Region, Value
from adjit.ir.types import TapeType, is_differentiable


def active_values(fn: Function, wrt: list[int]) -> set[Value]:
    """Values that may depend on the parameters `wrt` (a fixed point over the
    regions: loop-carried values become active when their update does)."""
    active: set[Value] = {fn.params[k] for k in wrt}
    changed = True
    while changed:
        size = len(active)
        _region(fn.body, active)
        changed = len(active) != size
    return active


def _mark(values: list[Value], flags: list[bool], active: set[Value]) -> None:
    """Floats, float arrays and tapes (whose records carry derivatives) can be active."""
    for v, flag in zip(values, flags):
        if flag and (is_differentiable(v.type) or isinstance(v.type, TapeType)):
            active.add(v)


def _region(region: Region, active: set[Value]) -> None:
    for node in region.nodes:
        _node(node, active)


def _node(node: Node, active: set[Value]) -> None:
    if node.op is ops.if_:
        for r in node.regions:
            _region(r, active)
        flags = [any(r.yields[k] in active for r in node.regions)
                 for k in range(len(node.results))]
        _mark(node.results, flags, active)
    elif node.op in (ops.for_, ops.while_):
        lead = 3 if node.op is ops.for_ else 0
        body = node.regions[-1]
        carried = body.args[1:] if node.op is ops.for_ else body.args
        inits = node.operands[lead:]
        flags = [init in active or y in active for init, y in zip(inits, body.yields)]
        for r in node.regions:
            args = r.args[1:] if (node.op is ops.for_ and r is body) else r.args
            _mark(args, flags, active)
        _mark(carried, flags, active)
        for r in node.regions:
            _region(r, active)
        _mark(node.results, flags, active)
    elif any(v in active for v in node.operands):
        _mark(node.results, [True] * len(node.results), active)
