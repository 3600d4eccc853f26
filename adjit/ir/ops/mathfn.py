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
    "floor": (lambda x: float(math.floor(x)), np.floor, False),
    "ceil": (lambda x: float(math.ceil(x)), np.ceil, False),
    "trunc": (lambda x: float(math.trunc(x)), np.trunc, False),
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
