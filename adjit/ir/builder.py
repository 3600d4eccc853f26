"""Building IR: append typed nodes to a region.

The frontend, the autodiff rules and the passes all create nodes through a
`Builder`, so every node gets its result types from its op's type rule at
construction (AD preserves types: nothing is re-inferred later).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from adjit.errors import Span
from adjit.ir import ops
from adjit.ir.core import Node, Region, Value
from adjit.ir.ops.base import Op
from adjit.ir.types import BOOL, F64, I64, Type


class Builder:
    """Appends nodes to `region`; `span` is the default source span."""

    def __init__(self, region: Region, span: Span | None = None):
        self.region = region
        self.span = span

    @contextmanager
    def at(self, region: Region, span: Span | None = None) -> Iterator["Builder"]:
        """Temporarily append to another region (e.g. a branch being built)."""
        saved = self.region, self.span
        self.region = region
        if span is not None:
            self.span = span
        try:
            yield self
        finally:
            self.region, self.span = saved

    @contextmanager
    def located(self, span: Span | None) -> Iterator["Builder"]:
        saved = self.span
        self.span = span if span is not None else saved
        try:
            yield self
        finally:
            self.span = saved

    def node(self, op: Op, operands: list[Value], result_types: list[Type] | None = None,
             attrs: dict[str, Any] | None = None, regions: list[Region] | None = None,
             span: Span | None = None, hints: list[str] | None = None) -> Node:
        """Append a node. Result types come from the op's rule unless given
        (structured ops get theirs from the caller)."""
        attrs = attrs or {}
        if result_types is None:
            result_types = op.infer([v.type for v in operands], attrs)
        node = Node(op, operands, result_types, attrs, regions,
                    span if span is not None else self.span, hints)
        if op.verify is not None:
            op.verify(node)
        self.region.nodes.append(node)
        return node

    def apply(self, op: Op, *operands: Value, hint: str = "", span: Span | None = None,
              **attrs: Any) -> Value:
        """Append a single-result op and return its result."""
        return self.node(op, list(operands), attrs=attrs, span=span,
                         hints=[hint] if hint else None).result

    def const(self, value: float | int | bool, type: Type | None = None) -> Value:
        if type == F64:
            value = float(value)
        elif type == I64:
            value = int(value)
        elif type == BOOL:
            value = bool(value)
        return self.apply(ops.const, value=value)


def constant_value(value: Value) -> Any:
    """The Python value of `value` if a `const` node defines it, else None."""
    owner = value.owner
    if isinstance(owner, Node) and owner.op is ops.const:
        return owner.attrs["value"]
    return None
