"""Cutting a fused reverse-mode graph into a forward graph and an adjoint graph.

`vjp_function` emits the forward part first and the adjoint part after it.
The residuals are the values of the forward part that the adjoint part uses:
straight-line values, the extra results of branches, and loop tapes. The
forward graph returns `(primal results..., residuals...)` (and writes to no
argument: the adjoint reads the arguments as they were);
the adjoint graph takes `(residuals..., output cotangents...)` and returns
the input cotangents.
"""
from __future__ import annotations

from dataclasses import dataclass

from adjit.ir.builder import Builder
from adjit.ir.clone import clone_node
from adjit.ir.core import Function, Node, Region, Value
from adjit.passes.autodiff.vjp import build_vjp


@dataclass
class SplitVJP:
    forward: Function
    adjoint: Function
    residual_count: int


def _uses(nodes: list[Node], yields: list[Value]) -> list[Value]:
    """Every value the nodes (and their nested regions) and yields read, in order."""
    seen: dict[Value, None] = {}
    stack: list[Region] = []
    for node in nodes:
        for v in node.operands:
            seen.setdefault(v)
        stack.extend(node.regions)
    while stack:
        region = stack.pop()
        for node in region.nodes:
            for v in node.operands:
                seen.setdefault(v)
            stack.extend(node.regions)
        for v in region.yields:
            seen.setdefault(v)
    for v in yields:
        seen.setdefault(v)
    return list(seen)


def split_vjp(fn: Function, wrt: list[int], of: list[int] | None = None) -> SplitVJP:
    fused, boundary, _ = build_vjp(fn, wrt, of)
    params = fused.params[:len(fn.params)]
    cts = fused.params[len(fn.params):]
    n_ret = len(fn.returned_types)
    returned = fused.body.yields[:n_ret]
    grads = fused.body.yields[n_ret:n_ret + len(wrt)]
    forward_nodes = fused.body.nodes[:boundary]
    adjoint_nodes = fused.body.nodes[boundary:]
    defined = set(params)
    for node in forward_nodes:
        defined.update(node.results)
    residuals = [v for v in _uses(adjoint_nodes, grads) if v in defined]

    fwd_body = Region([p.type for p in params], [p.hint for p in params])
    mapping: dict[Value, Value] = dict(zip(params, fwd_body.args))
    b = Builder(fwd_body, fn.span)
    for node in forward_nodes:
        clone_node(b, node, mapping)
    # No `writes`: the forward graph must not update the caller's arrays in
    # place, because the adjoint reads them as residuals as they were (vjp
    # takes the derivative at the arguments before the call).
    fwd_body.yields = [mapping.get(v, v) for v in returned + residuals]
    forward = Function(f"{fn.name}.fwd", fwd_body, [v.type for v in fwd_body.yields], fn.span,
                       fn.source, origin=fn.origin)

    adj_body = Region([v.type for v in residuals] + [c.type for c in cts],
                      [v.hint for v in residuals] + [c.hint for c in cts])
    mapping = dict(zip(residuals + cts, adj_body.args))
    b = Builder(adj_body, fn.span)
    for node in adjoint_nodes:
        clone_node(b, node, mapping)
    adj_body.yields = [mapping.get(v, v) for v in grads]
    adjoint = Function(f"{fn.name}.adj", adj_body, [v.type for v in adj_body.yields], fn.span,
                       fn.source, origin=fn.origin)
    return SplitVJP(forward, adjoint, len(residuals))
