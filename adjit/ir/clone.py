"""Copying IR: nodes and regions with a mapping from old values to new ones.

Inlining and the autodiff transforms build new graphs out of pieces of old
ones; every copy goes through `clone_node`, so nested regions get fresh
arguments and every use is remapped.
"""
from __future__ import annotations

from adjit.ir.builder import Builder
from adjit.ir.core import Node, Region, Value


def clone_region(region: Region, mapping: dict[Value, Value]) -> Region:
    """A copy of `region`; values defined outside it are looked up in `mapping`
    (and kept as they are when absent)."""
    new = Region([a.type for a in region.args], [a.hint for a in region.args])
    for old, fresh in zip(region.args, new.args):
        mapping[old] = fresh
    b = Builder(new)
    for node in region.nodes:
        clone_node(b, node, mapping)
    new.yields = [mapping.get(v, v) for v in region.yields]
    return new


def clone_node(b: Builder, node: Node, mapping: dict[Value, Value]) -> Node:
    """Append a copy of `node` to `b`'s region and map its results."""
    regions = [clone_region(r, mapping) for r in node.regions]
    new = b.node(node.op, [mapping.get(v, v) for v in node.operands],
                 [v.type for v in node.results], attrs=dict(node.attrs), regions=regions,
                 span=node.span, hints=[v.hint for v in node.results])
    for old, fresh in zip(node.results, new.results):
        mapping[old] = fresh
    return new
