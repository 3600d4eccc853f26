"""Loop-invariant code motion.

Rules:

- A node directly in a loop's region (`while` cond or body, `for` body)
  whose operands are all defined outside the loop (or by nodes already
  hoisted) moves to just before the loop node, in its original order.
- Only nodes that cannot raise move (`manager.may_raise`: a loop may run
  zero times, and an exception must not happen earlier than in the source),
  only pure ones, never nodes with regions or structured ops, never tape
  nodes, never array allocations (a fresh array per iteration may be
  written in place; a hoisted one could not).
- Inner loops are processed first, so an invariant of two nested loops
  moves out of both. Nodes inside an `if` in a loop stay there (hoisting
  them would compute them on paths that did not).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from adjit.ir import ops
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.passes.manager import Pass, allocates, is_tape_node, may_raise, register


@register
@dataclass(frozen=True)
class LoopInvariantCodeMotion(Pass):
    name: ClassVar[str] = "licm"

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            hoist_invariants(fn)
        return module


def hoist_invariants(fn: Function) -> None:
    _region(fn.body)


def _movable(node: Node) -> bool:
    return (node.op.pure and not node.op.structured and not node.regions
            and not may_raise(node) and not is_tape_node(node) and not allocates(node))


def _region(region: Region) -> None:
    out: list[Node] = []
    for node in region.nodes:
        for inner in node.regions:
            _region(inner)
        if node.op in (ops.while_, ops.for_):
            out.extend(_hoist(node))
        out.append(node)
    region.nodes = out


def _defined_inside(node: Node) -> set[Value]:
    inside: set[Value] = set()
    for region in node.regions:
        inside.update(region.args)
        for inner in region.walk():
            inside.update(inner.results)
            for r in inner.regions:
                inside.update(r.args)
    return inside


def _hoist(loop: Node) -> list[Node]:
    """Remove the invariant nodes from `loop`'s regions; return them in order."""
    inside = _defined_inside(loop)
    hoisted: list[Node] = []
    for region in loop.regions:
        kept = []
        for node in region.nodes:
            if _movable(node) and not any(v in inside for v in node.operands):
                hoisted.append(node)
                inside.difference_update(node.results)
            else:
                kept.append(node)
        region.nodes = kept
    return hoisted
