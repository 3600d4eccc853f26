"""What an op is, and the one registry of ops.

An `Op` is declared once, in one of the modules of this package, with every
fact about it side by side: its name, its type rule, whether it may raise,
its interpreter rule, and (as the compiler grows) its derivative rules and a
pointer to its lowering. Code dispatches on `Op` objects, never on names; the
name -> op map (`OPS`) exists only for the IR text parser and the CLI.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from adjit.ir.types import BOOL, F64, I64, Type


class OpTypeError(Exception):
    """An op applied to operand types its rule rejects (caught and located by callers)."""


@dataclass(eq=False)
class Op:
    """A primitive of the IR.

    infer(operand_types, attrs) -> result types; raises OpTypeError.
    evaluate(attrs, *operand_values) -> a value, or a tuple for several
      results. Ops with regions (`structured`) instead get
      evaluate(node, operand_values, run_region) -> list of results.
    pure: no effect besides its results and possibly raising.
    may_raise: can raise a CPython exception at run time (never deleted
      even when its results are unused, and never hoisted past a branch).
    verify(node): structural checks beyond operand types (regions, attrs);
      raises OpTypeError.
    jvp / vjp: derivative rules, written with the IR builder (autodiff).
    """

    name: str
    infer: Callable[[list[Type], dict[str, Any]], list[Type]]
    evaluate: Callable[..., Any]
    pure: bool = True
    may_raise: bool = False
    structured: bool = False
    region_names: tuple[str, ...] = ()
    commutative: bool = False
    verify: Callable[[Any], None] | None = None
    jvp: Callable[..., Any] | None = None
    vjp: Callable[..., Any] | None = None
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Op {self.name}>"

    def def_jvp(self, rule: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: `rule(b, attrs, xs, ys, tangents) -> output tangents`
        (None is a symbolic zero, in and out)."""
        self.jvp = rule
        return rule

    def def_vjp(self, rule: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: `rule(b, attrs, xs, ys, cotangents) -> one contribution
        per operand` (None for none; `Indexed` for one array element)."""
        self.vjp = rule
        return rule

    def run(self, attrs: dict[str, Any], args: list[Any]) -> list[Any]:
        """Evaluate a non-structured op, always returning a list of results."""
        out = self.evaluate(attrs, *args)
        return list(out) if isinstance(out, tuple) else [out]


OPS: dict[str, Op] = {}


def declare(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} declared twice")
    OPS[op.name] = op
    return op


# --- type rules shared by many ops -----------------------------------------

def _check_arity(types: list[Type], n: int, name: str) -> None:
    if len(types) != n:
        raise OpTypeError(f"{name} takes {n} operands, got {len(types)}")


def same_type_rule(*allowed: Type, result: Type | None = None, arity: int = 2):
    """Operands of one type from `allowed`; result that type (or `result`)."""

    def rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
        _check_arity(types, arity, "op")
        first = types[0]
        if first not in allowed or any(t != first for t in types):
            names = ", ".join(map(str, types))
            raise OpTypeError(f"operands ({names}) must all be one of "
                              + ", ".join(map(str, allowed)))
        return [result or first]

    return rule


def fixed_rule(operands: tuple[Type, ...], results: tuple[Type, ...]):
    def rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
        if tuple(types) != operands:
            raise OpTypeError(f"expects ({', '.join(map(str, operands))}), got "
                              f"({', '.join(map(str, types))})")
        return list(results)

    return rule


NUMBERS = (F64, I64)
ORDERED = (F64, I64, BOOL)


@dataclass(frozen=True)
class Indexed:
    """A cotangent contribution to one element of an array: `ct[indices] += value`.

    Reverse mode adds it into the array's cotangent accumulator in place, so
    reading x[i] in a loop costs O(1) in the adjoint, not a zero array.
    """

    indices: tuple[Any, ...]
    value: Any


def piecewise_constant(*declared: Op) -> None:
    """Give ops whose results do not vary with their inputs (floor, int
    conversions, ...) derivative rules that are symbolic zeros."""
    for op in declared:
        op.jvp = lambda b, attrs, xs, ys, ts: [None] * len(ys)
        op.vjp = lambda b, attrs, xs, ys, cts: [None] * len(xs)
