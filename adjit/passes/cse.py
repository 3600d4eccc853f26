"""Common subexpression elimination, region-aware.

Rules:

- Constants are hoisted to the start of the function body and deduplicated
  there (they have no operands, so every use sees them). Two constants are
  the same when their types and bits are: 0.0 and -0.0 differ, NaN equals
  NaN, 1 and 1.0 and True differ.
- A node is replaced by an earlier identical node when both have the same
  op, operands, attributes and result types; operands of commutative ops are
  compared as a set (ordered by definition). Nodes that may raise qualify
  too (the first one raises first, and if it did not, the second cannot).
- Scoping: the available nodes are those of the enclosing regions before
  the node and of its own region before it; a node in a nested region may
  reuse a value from an enclosing region, never the other way round, and a
  branch never reuses a value of its sibling branch.
- Never merged: impure ops, nodes with regions or structured ops (`if`,
  loops, calls, `tape_new`), nodes that touch tapes (each tape value is used
  exactly once), and array allocations (merging two would make one of the
  in-place writes into them a copy).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from adjit.ir import ops
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.passes.manager import Pass, allocates, is_tape_node, register, resolve


@register
@dataclass(frozen=True)
class CommonSubexpressionElimination(Pass):
    name: ClassVar[str] = "cse"

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            eliminate_common_subexpressions(fn)
        return module


def literal_key(value: Any) -> tuple:
    """Constants by type and bits (`0.0 == -0.0` and `1 == 1.0 == True` in Python)."""
    if isinstance(value, float):
        return (float, value.hex())
    return (type(value), value)


def eliminate_common_subexpressions(fn: Function) -> None:
    cse = _CSE()
    cse.hoist_constants(fn.body)
    cse.region(fn.body, {})


def _eligible(node: Node) -> bool:
    return (node.op.pure and not node.op.structured and not node.regions
            and not is_tape_node(node) and not allocates(node))


class _CSE:
    def __init__(self) -> None:
        self.subst: dict[Value, Value] = {}
        self.order: dict[Value, int] = {}

    def hoist_constants(self, body: Region) -> None:
        first: dict[tuple, Node] = {}

        def take(region: Region) -> None:
            rest = []
            for node in region.nodes:
                if node.op is ops.const:
                    key = literal_key(node.attrs["value"])
                    if key in first:
                        self.subst[node.result] = first[key].result
                    else:
                        first[key] = node
                    continue
                for inner in node.regions:
                    take(inner)
                rest.append(node)
            region.nodes = rest

        take(body)
        body.nodes[:0] = first.values()

    def define(self, values: list[Value]) -> None:
        for v in values:
            self.order[v] = len(self.order)

    def key(self, node: Node) -> tuple:
        operands = list(node.operands)
        if node.op.commutative and len(operands) == 2:
            operands.sort(key=lambda v: self.order.get(v, -1))
        attrs = tuple(sorted((k, literal_key(v)) for k, v in node.attrs.items()))
        return (node.op, tuple(operands), attrs, tuple(r.type for r in node.results))

    def region(self, region: Region, available: dict[tuple, Node]) -> None:
        """`available` holds the nodes of the enclosing regions by key, on
        entry and again on return: the keys added here are removed at the end
        (one dict, as lookups through a ChainMap per region cost several
        hashes of the key each)."""
        added: list[tuple] = []
        self.define(region.args)
        kept = []
        for node in region.nodes:
            node.operands = [resolve(self.subst, v) for v in node.operands]
            for inner in node.regions:
                self.region(inner, available)
            if _eligible(node):
                key = self.key(node)
                earlier = available.get(key)
                if earlier is not None:
                    self.subst.update(zip(node.results, earlier.results))
                    continue
                available[key] = node
                added.append(key)
            self.define(node.results)
            kept.append(node)
        region.nodes = kept
        region.yields = [resolve(self.subst, v) for v in region.yields]
        for key in added:
            del available[key]
