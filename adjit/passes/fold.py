"""Constant folding, with each op's own `evaluate` (no second table).

Rules:

- A node without regions whose operands are all constants and whose
  results are scalars is evaluated by its op's `evaluate`; the results
  become `const` nodes (each checked against its result type). If
  evaluating raises, the node stays: the program raises at run time, with
  its location. Arrays are never built at compile time, and integer powers
  with exponents beyond 256 are left to run time (Python would compute
  the exact power before it wraps to 64 bits).
- `check` of a constant false is deleted (it cannot fail).
- `select` with a constant condition is the chosen operand.
- `if` with a constant condition is replaced by the nodes of the taken
  region; its results are that region's yields.
- `for` with constant start, stop and step whose range is empty (and whose
  step is not zero, which raises) is replaced by its initial values.
- `while` whose condition region yields a constant false and holds no node
  that may raise is replaced by its initial values.

Folding runs in one walk in program order, so folded results feed the
folding of later nodes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from adjit.ir import ops
from adjit.ir.builder import constant_value
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.types import BOOL, F64, I64, Type
from adjit.passes.manager import Pass, has_effects, register, resolve


@register
@dataclass(frozen=True)
class ConstantFolding(Pass):
    name: ClassVar[str] = "fold"

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            fold_constants(fn)
        return module


def fold_constants(fn: Function) -> None:
    _Fold().region(fn.body)


def as_literal(value: Any, t: Type) -> bool | int | float | None:
    """`value` as the Python literal of a `const` of type `t`, or None."""
    if isinstance(value, np.generic):
        value = value.item()
    if t == F64 and isinstance(value, float):
        return value
    if t == I64 and isinstance(value, int) and not isinstance(value, bool):
        return value
    if t == BOOL and isinstance(value, bool):
        return value
    return None


SCALARS = (F64, I64, BOOL)
MAX_INT_EXPONENT = 256


def _costly(node: Node, consts: list[Any]) -> bool:
    """Integer powers are computed exactly before wrapping to 64 bits: a huge
    exponent would stall the compiler (the run-time code wraps as it goes)."""
    return node.op is ops.pow_ and node.results[0].type == I64 \
        and abs(consts[1]) > MAX_INT_EXPONENT and abs(consts[0]) > 1


def make_const(value: bool | int | float, like: Node, hint: str = "") -> Node:
    return Node(ops.const, [], [{bool: BOOL, int: I64, float: F64}[type(value)]],
                {"value": value}, span=like.span, hints=[hint])


class _Fold:
    def __init__(self) -> None:
        self.subst: dict[Value, Value] = {}

    def region(self, region: Region) -> None:
        out: list[Node] = []
        for node in region.nodes:
            node.operands = [resolve(self.subst, v) for v in node.operands]
            for inner in node.regions:
                self.region(inner)
            out.extend(self.fold(node))
        region.nodes = out
        region.yields = [resolve(self.subst, v) for v in region.yields]

    def replace(self, node: Node, values: list[Value]) -> list[Node]:
        self.subst.update(zip(node.results, values))
        return []

    def fold(self, node: Node) -> list[Node]:
        """The nodes that take `node`'s place."""
        consts = [constant_value(v) for v in node.operands]
        known = all(c is not None for c in consts)
        op = node.op
        if op is ops.if_ and known:
            taken = node.regions[0 if consts[0] else 1]
            self.subst.update(zip(node.results, taken.yields))
            return taken.nodes
        if op is ops.for_ and all(c is not None for c in consts[:3]):
            start, stop, step = consts[:3]
            if step != 0 and not range(start, stop, step):
                return self.replace(node, node.operands[3:])
        if op is ops.while_:
            cond = node.regions[0]
            if constant_value(cond.yields[0]) is False \
                    and not any(has_effects(n) for n in cond.nodes):
                return self.replace(node, node.operands)
        if op is ops.select and consts[0] is not None:
            return self.replace(node, [node.operands[1 if consts[0] else 2]])
        if op is ops.check and consts[0] is False:
            return []
        if op is ops.const or op.structured or node.regions or not known or not node.results \
                or any(r.type not in SCALARS for r in node.results) or _costly(node, consts):
            return [node]
        try:
            values = op.run(node.attrs, consts)
        except Exception:  # it raises at run time, where the location is known
            return [node]
        literals = [as_literal(v, r.type) for v, r in zip(values, node.results)]
        if len(values) != len(node.results) or any(v is None for v in literals):
            return [node]
        new = [make_const(v, node, r.hint) for v, r in zip(literals, node.results)]
        self.replace(node, [n.result for n in new])
        return new
