"""Lowerings of the elementary functions and of `math_check`.

A function op becomes an LLVM intrinsic where LLVM has one that the target
lowers to the C library (`llvm.sin.f64` -> sin, ...: LLVM may constant fold
and hoist these), and a call to the C library function otherwise. Either
way the code computes what C's libm computes, which is what CPython's
`math` module and numpy call. Symbols are resolved from the running process
(CPython links libm).

`SYMBOLS` is the default table; a `ModuleLowering` for another target
(PTX: libdevice's `__nv_sin`, ...) sets its own `math_symbols`.
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import DOUBLE
from adjit.backend.llvm.registry import lowers
from adjit.backend.llvm.runtime_checks import MESSAGES
from adjit.backend.llvm.scalar import f64, intrinsic, isinf, isnan
from adjit.backend.llvm.special import define_gamma, define_lgamma
from adjit.ir import ops
from adjit.ir.ops import mathfn

# IR function name -> ("intrinsic", "llvm.sin"), ("libm", "sin") or ("adjit", "gamma").
SYMBOLS: dict[str, tuple[str, str]] = {
    **{n: ("intrinsic", f"llvm.{n}") for n in (
        "sin", "cos", "tan", "exp", "exp2", "log", "log2", "log10", "sqrt", "fabs", "floor",
        "ceil", "trunc", "copysign")},
    "fpow": ("intrinsic", "llvm.pow"),
    **{n: ("libm", n) for n in (
        "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "expm1",
        "log1p", "cbrt", "erf", "erfc", "atan2", "hypot")},
    # CPython computes these itself (special.py), not with C's tgamma and lgamma.
    "gamma": ("adjit", "gamma"),
    "lgamma": ("adjit", "lgamma"),
}

SPECIAL = {"gamma": define_gamma, "lgamma": define_lgamma}

def libm(fl, name: str, nargs: int) -> ir.Function:
    module = fl.ml.llmod
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(DOUBLE, [DOUBLE] * nargs), name)
        fn.attributes.add("nounwind")
    return fn


def call_function(fl, name: str, args: list[ir.Value]) -> ir.Value:
    kind, symbol = fl.ml.math_symbols.get(name, ("libm", name))
    b = fl.b
    if kind == "intrinsic":
        return intrinsic(fl, symbol, *args)
    if kind == "adjit":
        return b.call(SPECIAL[symbol](fl.ml.runtime), args)
    return b.call(libm(fl, symbol, len(args)), args)


def _function_rule(name: str):
    def rule(fl, node, args):
        return [call_function(fl, name, args)]

    return rule


def _fmin_fmax(fl, node, args):
    """numpy's fmin/fmax: the other operand when one is NaN; on ties
    (0.0 and -0.0) the first operand."""
    a, b_ = args
    pred = "<=" if node.op.name == "fmin" else ">="
    keep_a = fl.b.or_(fl.b.fcmp_ordered(pred, a, b_), isnan(fl, b_))
    return [fl.b.select(keep_a, a, b_)]


for _name, _op in mathfn.FUNCTIONS.items():
    if _name in ("fmin", "fmax"):
        lowers(_op)(_fmin_fmax)
    else:
        lowers(_op)(_function_rule(_name))


def _isfinite(fl, x: ir.Value) -> ir.Value:
    return fl.b.fcmp_ordered("<", intrinsic(fl, "llvm.fabs", x), f64(float("inf")))


def _any(fl, bits: list[ir.Value]) -> ir.Value:
    out = bits[0]
    for x in bits[1:]:
        out = fl.b.or_(out, x)
    return out


def _all(fl, bits: list[ir.Value]) -> ir.Value:
    out = bits[0]
    for x in bits[1:]:
        out = fl.b.and_(out, x)
    return out


@lowers(ops.math_check)
def _math_check(fl, node, args):
    """CPython's math_1 rule (see adjit/ir/ops/mathfn.py); nothing with
    error_model="numpy". One branch per check, and only the instructions
    the function needs: large programs hold thousands of checks."""
    result, *inputs = args
    if fl.numpy_errors:
        return [result]
    b = fl.b
    func = node.attrs["func"]
    nan_out = b.and_(isnan(fl, result), b.not_(_any(fl, [isnan(fl, x) for x in inputs])))
    blew_up = b.and_(isinf(fl, result), _all(fl, [_isfinite(fl, x) for x in inputs]))
    domain = (b.or_(nan_out, blew_up), ValueError, MESSAGES["math_domain"])
    if not mathfn.CAN_OVERFLOW[func]:
        fl.raise_if(*domain)
        return [result]
    overflow = blew_up  # an infinite result from finite inputs, except:
    if func == "fpow":  # 0.0 ** negative is a domain error
        overflow = b.and_(overflow, b.fcmp_unordered("!=", inputs[0], f64(0.0)))
    if func in mathfn.POLES:  # so is a pole of gamma or lgamma
        x = inputs[0]
        pole = b.and_(b.fcmp_ordered("<=", x, f64(0.0)),
                      b.fcmp_ordered("==", x, intrinsic(fl, "llvm.floor", x)))
        overflow = b.and_(overflow, b.not_(pole))
    fl.raise_first([(overflow, OverflowError, MESSAGES["math_range"]), domain])
    return [result]
