"""Scalar ops: constants, arithmetic, comparisons, logic, conversions.

Binary arithmetic takes two operands of one type (`f64` or `i64`); the
frontend inserts conversions to apply Python's int/float promotion. The
interpreter rules use Python's own operators on Python floats, so results
and exceptions (ZeroDivisionError, OverflowError) are CPython's; integer
results wrap to 64 bits, as compiled code does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from adjit.ir.ops.base import (NUMBERS, ORDERED, Op, OpTypeError, declare, piecewise_constant,
                               same_type_rule)
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


def _ieee_div(attrs: dict[str, Any], a: float, b: float) -> float:
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


fdiv = declare(Op("fdiv", same_type_rule(F64), _ieee_div,
                  doc="IEEE division (x/0 is inf or nan, never an exception): numpy's "
                      "semantics, and what derivative rules use."))
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


def _select_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if len(types) != 3 or types[0] != BOOL or types[1] != types[2]:
        raise OpTypeError("select takes a bool and two values of one type")
    return [types[1]]


select = declare(Op("select", _select_rule, lambda attrs, c, a, b: a if c else b,
                    doc="`a if c else b` with both operands already computed (no branch)."))


# --- derivative rules --------------------------------------------------------
# Tangents and cotangents may be None: a symbolic zero, never materialized.

def t_add(b, x, y):
    if x is None:
        return y
    return x if y is None else b.apply(add, x, y)


def t_neg(b, x):
    return None if x is None else b.apply(neg, x)


def t_scale(b, x, factor):
    return None if x is None else b.apply(mul, x, factor)


def t_zero_if_none(b, x, like):
    return b.const(0.0) if x is None else x


@dataclass(frozen=True)
class Quotient:
    """A partial derivative `numerator / denominator` (numerator None: 1).

    It scales a tangent or cotangent t as `t / denominator * numerator`:
    one division of t instead of computing 1/denominator and multiplying,
    and partials with the same denominator share the division (after cse)."""

    numerator: Any
    denominator: Any


def scale_by_partial(b, t, d):
    """t * d for a partial d (a value or a Quotient)."""
    if not isinstance(d, Quotient):
        return b.apply(mul, t, d)
    scaled = b.apply(fdiv, t, d.denominator)
    return scaled if d.numerator is None else b.apply(mul, scaled, d.numerator)


def def_partials(op: Op, partials) -> None:
    """Rules of a scalar function from its partial derivatives:
    `partials(b, attrs, xs, y) -> [d y / d x_k, a Quotient, or None]`."""

    def jvp(b, attrs, xs, ys, ts):
        ds = partials(b, attrs, xs, ys[0])
        out = None
        for t, d in zip(ts, ds):
            if t is not None and d is not None:
                out = t_add(b, out, scale_by_partial(b, t, d))
        return [out]

    def vjp(b, attrs, xs, ys, cts):
        ds = partials(b, attrs, xs, ys[0])
        return [None if d is None or _is_constant(x) else scale_by_partial(b, cts[0], d)
                for x, d in zip(xs, ds)]

    op.jvp, op.vjp = jvp, vjp


piecewise_constant(const, floordiv, lt, le, gt, ge, eq, ne, not_, to_f64, to_i64, to_bool)


@add.def_jvp
def _add_jvp(b, attrs, xs, ys, ts):
    return [t_add(b, ts[0], ts[1])]


@add.def_vjp
def _add_vjp(b, attrs, xs, ys, cts):
    return [cts[0], cts[0]]


@sub.def_jvp
def _sub_jvp(b, attrs, xs, ys, ts):
    if ts[0] is not None and ts[1] is not None:
        return [b.apply(sub, ts[0], ts[1])]
    return [t_add(b, ts[0], t_neg(b, ts[1]))]


@sub.def_vjp
def _sub_vjp(b, attrs, xs, ys, cts):
    return [cts[0], b.apply(neg, cts[0])]


@neg.def_jvp
def _neg_jvp(b, attrs, xs, ys, ts):
    return [t_neg(b, ts[0])]


@neg.def_vjp
def _neg_vjp(b, attrs, xs, ys, cts):
    return [b.apply(neg, cts[0])]


def _is_constant(v) -> bool:
    """A value defined by a `const` node: its cotangent is never needed."""
    owner = getattr(v, "owner", None)
    return getattr(owner, "op", None) is const


def_partials(mul, lambda b, attrs, xs, y: [xs[1], xs[0]])
for _division in (div, fdiv):  # d(x/z) = dx/z - (x/z) dz/z: both divide by z once
    def_partials(_division, lambda b, attrs, xs, y: [
        Quotient(None, xs[1]), Quotient(b.apply(neg, y), xs[1])])
def_partials(mod, lambda b, attrs, xs, y: [
    b.const(1.0), b.apply(neg, b.apply(floordiv, xs[0], xs[1]))])


def pow_partials(b, attrs, xs, y):
    from adjit.ir.ops.mathfn import FUNCTIONS

    x, p = xs
    dx = b.apply(mul, p, b.apply(FUNCTIONS["fpow"], x, b.apply(sub, p, b.const(1.0))))
    is_zero = b.apply(eq, x, b.const(0.0))
    dp = b.apply(select, is_zero, b.const(0.0),
                 b.apply(mul, y, b.apply(FUNCTIONS["log"], x)))
    return [dx, dp]


def_partials(pow_, pow_partials)


def sign(b, x):
    """-1, 0 or 1: the derivative of |x| (0 at 0, by convention)."""
    zero = b.const(0.0)
    return b.apply(select, b.apply(gt, x, zero), b.const(1.0),
                   b.apply(select, b.apply(lt, x, zero), b.const(-1.0), zero))


def_partials(abs_, lambda b, attrs, xs, y: [sign(b, xs[0])])


def pick_rules(op: Op, takes_second) -> None:
    """min/max: the derivative follows the operand the forward picked."""

    def jvp(b, attrs, xs, ys, ts):
        if ts[0] is None and ts[1] is None:
            return [None]
        second = takes_second(b, xs[0], xs[1])
        return [b.apply(select, second, t_zero_if_none(b, ts[1], xs[1]),
                        t_zero_if_none(b, ts[0], xs[0]))]

    def vjp(b, attrs, xs, ys, cts):
        second = takes_second(b, xs[0], xs[1])
        zero = b.const(0.0)
        return [b.apply(select, second, zero, cts[0]), b.apply(select, second, cts[0], zero)]

    op.jvp, op.vjp = jvp, vjp


pick_rules(min_, lambda b, x, y: b.apply(lt, y, x))
pick_rules(max_, lambda b, x, y: b.apply(gt, y, x))


@select.def_jvp
def _select_jvp(b, attrs, xs, ys, ts):
    if ts[1] is None and ts[2] is None:
        return [None]
    return [b.apply(select, xs[0], t_zero_if_none(b, ts[1], xs[1]),
                    t_zero_if_none(b, ts[2], xs[2]))]


@select.def_vjp
def _select_vjp(b, attrs, xs, ys, cts):
    zero = b.const(0.0)
    return [None, b.apply(select, xs[0], cts[0], zero), b.apply(select, xs[0], zero, cts[0])]
