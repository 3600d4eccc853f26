"""Scalar ops: constants, arithmetic, comparisons, logic, conversions.

Binary arithmetic takes two operands of one type (`f64` or `i64`); the
frontend inserts conversions to apply Python's int/float promotion. The
interpreter rules use Python's own operators on Python floats, so results
and exceptions (ZeroDivisionError, OverflowError) are CPython's; integer
results wrap to 64 bits, as compiled code does.
"""
from __future__ import annotations

from typing import Any

from adjit.ir.ops.base import NUMBERS, ORDERED, Op, OpTypeError, declare, same_type_rule
from adjit.ir.types import BOOL, F64, I64, Type

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def wrap_i64(v: int) -> int:
    """Two's-complement wrap of a Python int to int64."""
    return ((v - INT64_MIN) % 2 ** 64) + INT64_MIN


def _numeric(fn):
    """Apply `fn` with Python semantics; wrap int results to int64."""

    def evaluate(attrs: dict[str, Any], *args: Any) -> Any:
        out = fn(*args)
        return wrap_i64(out) if isinstance(out, int) and not isinstance(out, bool) else out

    return evaluate


def _const_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    value = attrs["value"]
    if isinstance(value, bool):
        return [BOOL]
    if isinstance(value, int):
        return [I64]
    if isinstance(value, float):
        return [F64]
    raise OpTypeError(f"constant {value!r} is not a bool, int or float")


const = declare(Op("const", _const_rule, lambda attrs: attrs["value"],
                   doc="A literal: attrs['value'] is a Python bool, int or float."))

add = declare(Op("add", same_type_rule(*NUMBERS), _numeric(lambda a, b: a + b), commutative=True))
sub = declare(Op("sub", same_type_rule(*NUMBERS), _numeric(lambda a, b: a - b)))
mul = declare(Op("mul", same_type_rule(*NUMBERS), _numeric(lambda a, b: a * b), commutative=True))
div = declare(Op("div", same_type_rule(F64), lambda attrs, a, b: a / b, may_raise=True,
                 doc="True division of floats; ZeroDivisionError on a zero divisor."))
floordiv = declare(Op("floordiv", same_type_rule(*NUMBERS), _numeric(lambda a, b: a // b),
                      may_raise=True))
mod = declare(Op("mod", same_type_rule(*NUMBERS), _numeric(lambda a, b: a % b), may_raise=True,
                 doc="Python's modulo: the result has the sign of the divisor."))


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b < 0:
        raise ValueError("integer ** negative integer is not supported: "
                         "write float(a) ** b")
    out = a ** b
    if isinstance(out, complex):
        raise ValueError("negative number cannot be raised to a fractional power")
    return out


pow_ = declare(Op("pow", same_type_rule(*NUMBERS), _numeric(_pow), may_raise=True,
                  doc="Python's ** (ZeroDivisionError for 0.0 ** negative, OverflowError, "
                      "ValueError where CPython would return a complex number)."))

neg = declare(Op("neg", same_type_rule(*NUMBERS, arity=1), _numeric(lambda a: -a)))
abs_ = declare(Op("abs", same_type_rule(*NUMBERS, arity=1), _numeric(abs)))
min_ = declare(Op("min", same_type_rule(*NUMBERS), lambda attrs, a, b: b if b < a else a,
                  doc="Python's min(a, b): `b if b < a else a` (so NaN handling is CPython's)."))
max_ = declare(Op("max", same_type_rule(*NUMBERS), lambda attrs, a, b: b if b > a else a,
                  doc="Python's max(a, b): `b if b > a else a`."))

lt = declare(Op("lt", same_type_rule(*ORDERED, result=BOOL), lambda attrs, a, b: a < b))
le = declare(Op("le", same_type_rule(*ORDERED, result=BOOL), lambda attrs, a, b: a <= b))
gt = declare(Op("gt", same_type_rule(*ORDERED, result=BOOL), lambda attrs, a, b: a > b))
ge = declare(Op("ge", same_type_rule(*ORDERED, result=BOOL), lambda attrs, a, b: a >= b))
eq = declare(Op("eq", same_type_rule(*ORDERED, result=BOOL), lambda attrs, a, b: a == b,
                commutative=True))
ne = declare(Op("ne", same_type_rule(*ORDERED, result=BOOL), lambda attrs, a, b: a != b,
                commutative=True))

not_ = declare(Op("not", same_type_rule(BOOL, arity=1), lambda attrs, a: not a))


def _convert_rule(result: Type, allowed: tuple[Type, ...]):
    def rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
        if len(types) != 1 or types[0] not in allowed or types[0] == result:
            raise OpTypeError(f"cannot convert ({', '.join(map(str, types))}) to {result}")
        return [result]

    return rule


def _to_i64(attrs: dict[str, Any], a: Any) -> int:
    out = int(a)  # ValueError for NaN, OverflowError for inf, as CPython
    if not INT64_MIN <= out <= INT64_MAX:
        raise OverflowError("float too large to convert to a 64-bit integer")
    return out


to_f64 = declare(Op("to_f64", _convert_rule(F64, (I64, BOOL)), lambda attrs, a: float(a),
                    doc="float(i) for ints and bools."))
to_i64 = declare(Op("to_i64", _convert_rule(I64, (F64, BOOL)), _to_i64, may_raise=True,
                    doc="int(x): truncation toward zero; ValueError for NaN, OverflowError "
                        "for infinities and values outside int64."))
to_bool = declare(Op("to_bool", _convert_rule(BOOL, (F64, I64)), lambda attrs, a: bool(a),
                     doc="Truthiness: x != 0 (NaN is true, as in Python)."))
