"""The Python library surface the subset can call: builtins, `math`, numpy.

Maps what the user wrote (`math.sin`, `np.exp`, `abs`, `np.zeros`, ...) onto
IR ops. `math.*` functions get CPython's error behaviour (a `math_check`
after the IEEE op); numpy functions keep numpy's (inf/nan, no exception).
This is the only table from Python names to ops; the ops themselves are
declared once in `adjit.ir.ops`.
"""
from __future__ import annotations

import math
from typing import Callable

from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.core import Value
from adjit.ir.types import BOOL, F64, I64

ALLOWED_MODULES = ("math", "numpy")

# Constants reachable as module attributes (math.pi, np.inf, ...).
CONSTANTS: dict[tuple[str, str], float] = {
    ("math", "pi"): math.pi, ("math", "e"): math.e, ("math", "tau"): math.tau,
    ("math", "inf"): math.inf, ("math", "nan"): math.nan,
    ("numpy", "pi"): math.pi, ("numpy", "e"): math.e, ("numpy", "inf"): math.inf,
    ("numpy", "nan"): math.nan, ("numpy", "euler_gamma"): 0.5772156649015329,
}

# Python name -> IR function op name, for one-argument float functions.
MATH_UNARY = {n: n for n in (
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "exp", "expm1", "log2", "log10", "log1p", "sqrt", "erf", "erfc", "fabs", "gamma",
    "lgamma")}
MATH_UNARY.update({"exp2": "exp2", "cbrt": "cbrt"})
MATH_BINARY = {"atan2": "atan2", "hypot": "hypot", "pow": "fpow", "copysign": "copysign"}
MATH_TO_INT = {"floor": "floor", "ceil": "ceil", "trunc": "trunc"}

NUMPY_UNARY = {
    "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos",
    "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "exp": "exp", "exp2": "exp2", "expm1": "expm1",
    "log": "log", "log2": "log2", "log10": "log10", "log1p": "log1p", "sqrt": "sqrt",
    "cbrt": "cbrt", "fabs": "fabs", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
}
NUMPY_BINARY = {"arctan2": "atan2", "hypot": "hypot", "power": "fpow", "copysign": "copysign",
                "fmin": "fmin", "fmax": "fmax"}
NUMPY_ALLOC = {"zeros": "zeros", "ones": "ones", "empty": "empty"}
NUMPY_ALLOC_LIKE = {"zeros_like": "zeros", "ones_like": "ones", "empty_like": "empty"}

BUILTINS = ("abs", "min", "max", "float", "int", "bool", "len", "round")


def to_float(b: Builder, v: Value) -> Value:
    return v if v.type == F64 else b.apply(ops.to_f64, v)


def to_int(b: Builder, v: Value) -> Value:
    return v if v.type == I64 else b.apply(ops.to_i64, v)


def apply_math(b: Builder, name: str, args: list[Value], checked: bool) -> Value:
    """An IEEE function op on float arguments, with CPython's check if `checked`."""
    args = [to_float(b, a) for a in args]
    result = b.apply(ops.MATH_FUNCTIONS[name], *args)
    if checked:
        result = b.apply(ops.math_check, result, *args, func=name)
    return result


def math_log(b: Builder, args: list[Value]) -> Value:
    """math.log(x) or math.log(x, base) = log(x) / log(base), as CPython."""
    value = apply_math(b, "log", args[:1], checked=True)
    if len(args) == 2:
        base = apply_math(b, "log", args[1:], checked=True)
        value = b.apply(ops.div, value, base)
    return value


def math_isnan(b: Builder, x: Value) -> Value:
    x = to_float(b, x)
    return b.apply(ops.ne, x, x)


def math_isinf(b: Builder, x: Value) -> Value:
    x = to_float(b, x)
    return b.apply(ops.eq, b.apply(ops.MATH_FUNCTIONS["fabs"], x), b.const(math.inf))


def math_isfinite(b: Builder, x: Value) -> Value:
    x = to_float(b, x)
    return b.apply(ops.lt, b.apply(ops.MATH_FUNCTIONS["fabs"], x), b.const(math.inf))


def scaled(factor: float) -> Callable[[Builder, list[Value]], Value]:
    def build(b: Builder, args: list[Value]) -> Value:
        return b.apply(ops.mul, to_float(b, args[0]), b.const(factor))

    return build


# math functions that are not one op (name -> (arity range, builder)).
MATH_SPECIAL: dict[str, tuple[tuple[int, int], Callable[[Builder, list[Value]], Value]]] = {
    "log": ((1, 2), math_log),
    "isnan": ((1, 1), lambda b, a: math_isnan(b, a[0])),
    "isinf": ((1, 1), lambda b, a: math_isinf(b, a[0])),
    "isfinite": ((1, 1), lambda b, a: math_isfinite(b, a[0])),
    "degrees": ((1, 1), scaled(180.0 / math.pi)),
    "radians": ((1, 1), scaled(math.pi / 180.0)),
}
NUMPY_SPECIAL: dict[str, tuple[tuple[int, int], Callable[[Builder, list[Value]], Value]]] = {
    "isnan": ((1, 1), lambda b, a: math_isnan(b, a[0])),
    "isinf": ((1, 1), lambda b, a: math_isinf(b, a[0])),
    "isfinite": ((1, 1), lambda b, a: math_isfinite(b, a[0])),
    "square": ((1, 1), lambda b, a: b.apply(ops.mul, to_float(b, a[0]), to_float(b, a[0]))),
    "degrees": ((1, 1), scaled(180.0 / math.pi)),
    "radians": ((1, 1), scaled(math.pi / 180.0)),
    "deg2rad": ((1, 1), scaled(math.pi / 180.0)),
    "rad2deg": ((1, 1), scaled(180.0 / math.pi)),
}


def known_function(module: str, name: str) -> bool:
    if module == "math":
        return (name in MATH_UNARY or name in MATH_BINARY or name in MATH_TO_INT
                or name in MATH_SPECIAL)
    if module == "numpy":
        return (name in NUMPY_UNARY or name in NUMPY_BINARY or name in NUMPY_SPECIAL
                or name in NUMPY_ALLOC or name in NUMPY_ALLOC_LIKE or name in ("abs", "absolute"))
    return False


def is_truthy_type(t) -> bool:
    return t in (F64, I64, BOOL)
