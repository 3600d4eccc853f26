"""Elementary functions of floats, with IEEE (numpy) semantics, and `math_check`.

The function ops never raise: `sin(inf)` is NaN, `log(0)` is -inf, as numpy
and the C library compute them. CPython's `math` module raises instead; the
frontend expresses `math.log(x)` as `math_check(log(x), x)`, which applies
CPython's own rule (mathmodule.c's `math_1`): a NaN result from non-NaN
arguments is a domain error (ValueError); an infinite result from finite
arguments is an OverflowError for functions that can overflow and a domain
error otherwise. Keeping the check separate keeps the function ops pure,
differentiable and lowerable one way on every target.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from adjit.ir.ops.base import Op, OpTypeError, declare, same_type_rule
from adjit.ir.types import F64, Type


def _ieee(py_fn: Callable[..., float], np_fn: Callable[..., Any]) -> Callable[..., float]:
    """Evaluate like C's libm: CPython's math function where it is defined
    (the same libm call), numpy's value where math would raise."""

    def evaluate(attrs: dict[str, Any], *args: float) -> float:
        try:
            return float(py_fn(*args))
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(np_fn(*(np.float64(a) for a in args)))

    return evaluate


def _c_tgamma(x: float) -> float:
    """C's tgamma where CPython's math.gamma raises."""
    if x == 0.0:
        return math.copysign(math.inf, x)
    if x == -math.inf or (x < 0 and x == math.floor(x)):
        return math.nan
    return math.inf


def _c_lgamma(x: float) -> float:
    return math.inf


# name: (math-module function, numpy function, can overflow in CPython's math_1)
UNARY: dict[str, tuple[Callable[[float], float], Callable[..., Any], bool]] = {
    "sin": (math.sin, np.sin, False),
    "cos": (math.cos, np.cos, False),
    "tan": (math.tan, np.tan, False),
    "asin": (math.asin, np.arcsin, False),
    "acos": (math.acos, np.arccos, False),
    "atan": (math.atan, np.arctan, False),
    "sinh": (math.sinh, np.sinh, True),
    "cosh": (math.cosh, np.cosh, True),
    "tanh": (math.tanh, np.tanh, False),
    "asinh": (math.asinh, np.arcsinh, False),
    "acosh": (math.acosh, np.arccosh, False),
    "atanh": (math.atanh, np.arctanh, False),
    "exp": (math.exp, np.exp, True),
    "exp2": (lambda x: 2.0 ** x, np.exp2, True),
    "expm1": (math.expm1, np.expm1, True),
    "log": (math.log, np.log, False),
    "log2": (math.log2, np.log2, False),
    "log10": (math.log10, np.log10, False),
    "log1p": (math.log1p, np.log1p, False),
    "sqrt": (math.sqrt, np.sqrt, False),
    "cbrt": (lambda x: float(np.cbrt(x)), np.cbrt, False),
    "erf": (math.erf, None, False),
    "erfc": (math.erfc, None, False),
    "floor": (lambda x: float(np.floor(x)), np.floor, False),  # keeps -0.0, as C's floor
    "ceil": (lambda x: float(np.ceil(x)), np.ceil, False),
    "trunc": (lambda x: float(np.trunc(x)), np.trunc, False),
    "fabs": (math.fabs, np.fabs, False),
    "gamma": (math.gamma, _c_tgamma, True),
    "lgamma": (math.lgamma, _c_lgamma, True),
}
# Functions with poles at the non-positive integers: an infinite result
# there is a domain error in CPython, elsewhere an overflow.
POLES = ("gamma", "lgamma")

BINARY: dict[str, tuple[Callable[[float, float], float], Callable[..., Any], bool]] = {
    "atan2": (math.atan2, np.arctan2, False),
    "hypot": (math.hypot, np.hypot, True),
    "fpow": (math.pow, np.power, True),
    "copysign": (math.copysign, np.copysign, False),
    "fmin": (lambda a, b: np.fmin(a, b), np.fmin, False),
    "fmax": (lambda a, b: np.fmax(a, b), np.fmax, False),
}

FUNCTIONS: dict[str, Op] = {}
for _name, (_py, _np, _) in UNARY.items():
    FUNCTIONS[_name] = declare(Op(_name, same_type_rule(F64, arity=1), _ieee(_py, _np or _py)))
for _name, (_py, _np, _) in BINARY.items():
    FUNCTIONS[_name] = declare(Op(_name, same_type_rule(F64), _ieee(_py, _np)))
CAN_OVERFLOW = {n: spec[2] for n, spec in {**UNARY, **BINARY}.items()}


def _check_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if not types or any(t != F64 for t in types):
        raise OpTypeError("math_check takes a f64 result and its f64 arguments")
    if attrs.get("func") not in CAN_OVERFLOW:
        raise OpTypeError(f"math_check of unknown function {attrs.get('func')!r}")
    return [F64]


def _check(attrs: dict[str, Any], result: float, *args: float) -> float:
    """CPython's math-module error rule; returns `result` when it is valid."""
    if math.isnan(result) and not any(math.isnan(a) for a in args):
        raise ValueError("math domain error")
    if math.isinf(result) and all(math.isfinite(a) for a in args):
        overflow = CAN_OVERFLOW[attrs["func"]]
        if attrs["func"] == "fpow" and args[0] == 0.0:
            overflow = False  # math.pow(0.0, -1.0) is a domain error
        if attrs["func"] in POLES and args[0] <= 0 and args[0] == math.floor(args[0]):
            overflow = False
        raise (OverflowError("math range error") if overflow
               else ValueError("math domain error"))
    return result


math_check = declare(Op("math_check", _check_rule, _check, may_raise=True,
                        doc="Raise as CPython's math module would for `func`; else "
                            "return the result operand unchanged."))


# --- derivative rules --------------------------------------------------------

def _rules():
    """Partial derivatives of every function op, as IR built from other ops."""
    from adjit.ir.ops import arith as a
    from adjit.ir.ops.base import piecewise_constant

    f = FUNCTIONS

    def c(b, v):
        return b.const(v)

    def mul(b, x, y):
        return b.apply(a.mul, x, y)

    def inv_sqrt(b, x):  # 1 / sqrt(x)
        return a.Quotient(None, b.apply(f["sqrt"], x))

    def sq(b, x):
        return mul(b, x, x)

    one_minus_sq = lambda b, x: b.apply(a.sub, c(b, 1.0), sq(b, x))  # noqa: E731
    unary = {
        "sin": lambda b, x, y: b.apply(f["cos"], x),
        "cos": lambda b, x, y: b.apply(a.neg, b.apply(f["sin"], x)),
        "tan": lambda b, x, y: b.apply(a.add, c(b, 1.0), sq(b, y)),
        "asin": lambda b, x, y: inv_sqrt(b, one_minus_sq(b, x)),
        "acos": lambda b, x, y: a.Quotient(c(b, -1.0), b.apply(f["sqrt"], one_minus_sq(b, x))),
        "atan": lambda b, x, y: a.Quotient(None, b.apply(a.add, c(b, 1.0), sq(b, x))),
        "sinh": lambda b, x, y: b.apply(f["cosh"], x),
        "cosh": lambda b, x, y: b.apply(f["sinh"], x),
        "tanh": lambda b, x, y: one_minus_sq(b, y),
        "asinh": lambda b, x, y: inv_sqrt(b, b.apply(a.add, sq(b, x), c(b, 1.0))),
        "acosh": lambda b, x, y: inv_sqrt(b, b.apply(a.sub, sq(b, x), c(b, 1.0))),
        "atanh": lambda b, x, y: a.Quotient(None, one_minus_sq(b, x)),
        "exp": lambda b, x, y: y,
        "exp2": lambda b, x, y: mul(b, y, c(b, math.log(2.0))),
        "expm1": lambda b, x, y: b.apply(a.add, y, c(b, 1.0)),
        "log": lambda b, x, y: a.Quotient(None, x),
        "log2": lambda b, x, y: a.Quotient(c(b, 1.0 / math.log(2.0)), x),
        "log10": lambda b, x, y: a.Quotient(c(b, 1.0 / math.log(10.0)), x),
        "log1p": lambda b, x, y: a.Quotient(None, b.apply(a.add, c(b, 1.0), x)),
        "sqrt": lambda b, x, y: a.Quotient(c(b, 0.5), y),
        "cbrt": lambda b, x, y: a.Quotient(c(b, 1.0 / 3.0), sq(b, y)),
        "erf": lambda b, x, y: mul(b, c(b, 2.0 / math.sqrt(math.pi)),
                                   b.apply(f["exp"], b.apply(a.neg, sq(b, x)))),
        "erfc": lambda b, x, y: mul(b, c(b, -2.0 / math.sqrt(math.pi)),
                                    b.apply(f["exp"], b.apply(a.neg, sq(b, x)))),
        "fabs": lambda b, x, y: a.sign(b, x),
    }
    for name, d in unary.items():
        a.def_partials(f[name], lambda b, attrs, xs, y, d=d: [d(b, xs[0], y)])

    def hyp_sq(b, x, y):
        return b.apply(a.add, sq(b, x), sq(b, y))

    a.def_partials(f["atan2"], lambda b, attrs, xs, y: [  # atan2(y0, x0)
        a.Quotient(xs[1], hyp_sq(b, xs[0], xs[1])),
        a.Quotient(b.apply(a.neg, xs[0]), hyp_sq(b, xs[0], xs[1]))])
    a.def_partials(f["hypot"], lambda b, attrs, xs, y: [a.Quotient(xs[0], y),
                                                         a.Quotient(xs[1], y)])
    a.def_partials(f["fpow"], a.pow_partials)
    a.def_partials(f["copysign"], lambda b, attrs, xs, y: [
        mul(b, b.apply(f["copysign"], c(b, 1.0), xs[0]),
            b.apply(f["copysign"], c(b, 1.0), xs[1])), None])
    a.pick_rules(f["fmin"], lambda b, x, y: b.apply(a.lt, y, x))
    a.pick_rules(f["fmax"], lambda b, x, y: b.apply(a.gt, y, x))
    piecewise_constant(f["floor"], f["ceil"], f["trunc"])
    a.def_partials(f["lgamma"], lambda b, attrs, xs, y: [digamma(b, xs[0])])
    a.def_partials(f["gamma"], lambda b, attrs, xs, y: [mul(b, y, digamma(b, xs[0]))])

    @math_check.def_jvp
    def _check_jvp(b, attrs, xs, ys, ts):
        return [ts[0]]  # the check passes its first operand through

    @math_check.def_vjp
    def _check_vjp(b, attrs, xs, ys, cts):
        return [cts[0]] + [None] * (len(xs) - 1)


# Bernoulli numbers B2, B4, ..., B14 for the asymptotic series of digamma.
BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)
DIGAMMA_SHIFT = 8.0


def digamma(b, x):
    """psi(x) = d lgamma(x) / dx, built from other ops (so that its own
    derivatives come from differentiating this graph): the reflection
    psi(x) = psi(1 - x) - pi / tan(pi x) below 1/2, the recurrence
    psi(y) = psi(y + 1) - 1/y up to y >= 8, then the asymptotic series
    log y - 1/(2y) - sum B2k / (2k y^2k)."""
    from adjit.ir.core import Region
    from adjit.ir.ops import arith as a
    from adjit.ir.ops.control import while_

    f = FUNCTIONS
    c = b.const
    reflect = b.apply(a.lt, x, c(0.5))
    y0 = b.apply(a.select, reflect, b.apply(a.sub, c(1.0), x), x)
    cond = Region([F64, F64])
    with b.at(cond):
        cond.yields = [b.apply(a.lt, cond.args[0], c(DIGAMMA_SHIFT))]
    body = Region([F64, F64])
    with b.at(body):
        y, acc = body.args
        body.yields = [b.apply(a.add, y, c(1.0)),
                       b.apply(a.sub, acc, b.apply(a.fdiv, c(1.0), y))]
    y, acc = b.node(while_, [y0, c(0.0)], [F64, F64], regions=[cond, body]).results
    inv2 = b.apply(a.fdiv, c(1.0), b.apply(a.mul, y, y))
    series, power = c(0.0), c(1.0)
    for k, bern in enumerate(BERNOULLI, start=1):
        power = b.apply(a.mul, power, inv2)
        series = b.apply(a.add, series, b.apply(a.mul, c(bern / (2 * k)), power))
    psi = b.apply(a.sub, b.apply(f["log"], y), b.apply(a.fdiv, c(0.5), y))
    psi = b.apply(a.add, b.apply(a.sub, psi, series), acc)
    pix = b.apply(a.mul, c(math.pi), x)
    reflected = b.apply(a.sub, psi, b.apply(a.fdiv, c(math.pi), b.apply(f["tan"], pix)))
    return b.apply(a.select, reflect, reflected, psi)


_rules()
