"""Lowerings of the scalar ops: constants, arithmetic, comparisons,
conversions and `check`, with CPython's semantics.

- Integer arithmetic wraps modulo 2**64 (no `nsw`/`nuw` flags: no undefined
  behaviour); `//` and `%` floor (Python), and INT64_MIN // -1 wraps instead
  of trapping.
- Float `//` and `%` follow CPython's float_floor_div / float_rem (the sign
  of the divisor, signed zeros, infinities); `**` follows float_pow.
- Errors (ZeroDivisionError, ValueError, OverflowError) carry CPython's
  messages. With error_model="numpy", float division by zero gives inf/nan,
  integer division by zero gives 0 and float `**` is C's pow, as numpy.
"""
from __future__ import annotations

import math

from llvmlite import ir

from adjit.backend.llvm.abi import BIT, DOUBLE, INT64, is_managed
from adjit.backend.llvm.registry import lowers
from adjit.backend.llvm.runtime import header_of, i64
from adjit.backend.llvm.runtime_checks import MESSAGES
from adjit.ir import ops
from adjit.ir.ops.arith import wrap_i64
from adjit.ir.ops.control import EXCEPTIONS
from adjit.ir.types import BOOL, F64, I64

def f64(x: float) -> ir.Constant:
    return ir.Constant(DOUBLE, x)


def bit(x: bool) -> ir.Constant:
    return ir.Constant(BIT, int(x))


def intrinsic(fl, name: str, *args: ir.Value) -> ir.Value:
    fnty = ir.FunctionType(DOUBLE, [DOUBLE] * len(args))
    fn = fl.ml.llmod.declare_intrinsic(name, [DOUBLE], fnty=fnty)
    return fl.b.call(fn, list(args))


def is_float(node) -> bool:
    return node.operands[0].type == F64


@lowers(ops.const)
def _const(fl, node, args):
    value = node.attrs["value"]
    t = node.result.type
    if t == BOOL:
        return [bit(bool(value))]
    if t == I64:
        return [i64(wrap_i64(int(value)))]
    return [f64(float(value))]


# --- arithmetic --------------------------------------------------------------------

def _binary(float_op: str, int_op: str):
    def rule(fl, node, args):
        if is_float(node):
            return [getattr(fl.b, float_op)(*args, flags=fl.fm)]
        return [getattr(fl.b, int_op)(*args)]

    return rule


lowers(ops.add)(_binary("fadd", "add"))
lowers(ops.sub)(_binary("fsub", "sub"))
lowers(ops.mul)(_binary("fmul", "mul"))


@lowers(ops.neg)
def _neg(fl, node, args):
    if is_float(node):
        return [fl.b.fneg(args[0], flags=fl.fm)]
    return [fl.b.sub(i64(0), args[0])]


@lowers(ops.abs_)
def _abs(fl, node, args):
    (a,) = args
    if is_float(node):
        return [intrinsic(fl, "llvm.fabs", a)]
    return [fl.b.select(fl.b.icmp_signed("<", a, i64(0)), fl.b.sub(i64(0), a), a)]


@lowers(ops.min_, ops.max_)
def _min_max(fl, node, args):
    a, b_ = args
    pred = "<" if node.op is ops.min_ else ">"
    if is_float(node):
        better = fl.b.fcmp_ordered(pred, b_, a)
    else:
        better = fl.b.icmp_signed(pred, b_, a)
    return [fl.b.select(better, b_, a)]  # `b if b < a else a`, as Python's min


@lowers(ops.div)
def _div(fl, node, args):
    a, b_ = args
    if not fl.numpy_errors:
        fl.raise_if(fl.b.fcmp_ordered("==", b_, f64(0.0)), ZeroDivisionError,
                    MESSAGES["float_div"])
    return [fl.b.fdiv(a, b_, flags=fl.fm)]


@lowers(ops.fdiv)
def _fdiv(fl, node, args):
    return [fl.b.fdiv(*args, flags=fl.fm)]  # IEEE: x/0 is inf or nan


@lowers(ops.select)
def _select(fl, node, args):
    condition, a, b_ = args
    chosen = fl.b.select(condition, a, b_)
    t = node.operands[1].type
    if is_managed(t):  # both operands were consumed: release the other one
        fl.release(header_of(fl.b, fl.b.select(condition, b_, a), t))
    return [chosen]


def float_divmod(fl, a: ir.Value, w: ir.Value) -> tuple[ir.Value, ir.Value]:
    """CPython's _float_div_mod (w != 0): (floor quotient, modulo)."""
    b = fl.b
    mod = b.frem(a, w, flags=fl.fm)  # C fmod
    div = b.fdiv(b.fsub(a, mod, flags=fl.fm), w, flags=fl.fm)
    nonzero = b.fcmp_unordered("!=", mod, f64(0.0))
    signs_differ = b.xor(b.fcmp_ordered("<", w, f64(0.0)), b.fcmp_ordered("<", mod, f64(0.0)))
    adjust = b.and_(nonzero, signs_differ)
    zero_mod = intrinsic(fl, "llvm.copysign", f64(0.0), w)
    mod = b.select(nonzero, b.select(adjust, b.fadd(mod, w, flags=fl.fm), mod), zero_mod)
    div = b.select(adjust, b.fsub(div, f64(1.0), flags=fl.fm), div)
    floor = intrinsic(fl, "llvm.floor", div)
    snapped = b.select(b.fcmp_ordered(">", b.fsub(div, floor, flags=fl.fm), f64(0.5)),
                       b.fadd(floor, f64(1.0), flags=fl.fm), floor)
    zero_div = intrinsic(fl, "llvm.copysign", f64(0.0), b.fdiv(a, w, flags=fl.fm))
    div = b.select(b.fcmp_unordered("!=", div, f64(0.0)), snapped, zero_div)
    return div, mod


def int_divmod(fl, a: ir.Value, w: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Python's floor division and modulo of int64 (w != 0), wrapping."""
    b = fl.b
    minus_one = b.icmp_signed("==", w, i64(-1))
    safe_w = b.select(minus_one, i64(1), w)  # sdiv INT64_MIN by -1 is undefined
    q = b.sdiv(a, safe_w)
    r = b.srem(a, safe_w)
    adjust = b.and_(b.icmp_signed("!=", r, i64(0)),
                    b.icmp_signed("<", b.xor(r, w), i64(0)))
    q = b.select(adjust, b.sub(q, i64(1)), q)
    r = b.select(adjust, b.add(r, w), r)
    q = b.select(minus_one, b.sub(i64(0), a), q)
    r = b.select(minus_one, i64(0), r)
    return q, r


def _divmod_rule(index: int, float_message: str, int_message: str):
    def rule(fl, node, args):
        a, w = args
        b = fl.b
        if is_float(node):
            if fl.numpy_errors:
                # numpy's npy_divmod: a zero divisor gives fmod (nan) and a / w.
                zero = b.fcmp_ordered("==", w, f64(0.0))
                one = b.select(zero, f64(1.0), w)
                result = float_divmod(fl, a, one)[index]
                special = b.fdiv(a, w, flags=fl.fm) if index == 0 else b.frem(a, w)
                return [b.select(zero, special, result)]
            fl.raise_if(b.fcmp_ordered("==", w, f64(0.0)), ZeroDivisionError,
                        MESSAGES[float_message])
            return [float_divmod(fl, a, w)[index]]
        zero = b.icmp_signed("==", w, i64(0))
        if fl.numpy_errors:
            result = int_divmod(fl, a, b.select(zero, i64(1), w))[index]
            return [b.select(zero, i64(0), result)]
        fl.raise_if(zero, ZeroDivisionError, MESSAGES[int_message])
        return [int_divmod(fl, a, w)[index]]

    return rule


lowers(ops.floordiv)(_divmod_rule(0, "float_floordiv", "int_floordiv"))
lowers(ops.mod)(_divmod_rule(1, "float_mod", "int_mod"))


# --- power ---------------------------------------------------------------------------

def _is_odd_integer(fl, x: ir.Value) -> ir.Value:
    """fmod(fabs(x), 2.0) == 1.0 (x finite)."""
    return fl.b.fcmp_ordered("==", fl.b.frem(intrinsic(fl, "llvm.fabs", x), f64(2.0)), f64(1.0))


def isnan(fl, x: ir.Value) -> ir.Value:
    return fl.b.fcmp_unordered("uno", x, x)


def isinf(fl, x: ir.Value) -> ir.Value:
    return fl.b.fcmp_ordered("==", intrinsic(fl, "llvm.fabs", x), f64(float("inf")))


def float_pow(fl, v: ir.Value, w: ir.Value) -> ir.Value:
    """CPython's float_pow, special case by special case."""
    b = fl.b
    fn = fl.llfn
    done = fn.append_basic_block("pow.done")
    out = []  # (value, block)

    def case(condition: ir.Value, value_fn) -> None:
        hit = fn.append_basic_block("pow.case")
        rest = fn.append_basic_block("pow.next")
        b.cbranch(condition, hit, rest)
        b.position_at_end(hit)
        value = value_fn()
        out.append((value, b.block))
        b.branch(done)
        b.position_at_end(rest)

    fabs_v = lambda: intrinsic(fl, "llvm.fabs", v)  # noqa: E731
    case(b.fcmp_ordered("==", w, f64(0.0)), lambda: f64(1.0))
    case(isnan(fl, v), lambda: v)
    case(isnan(fl, w), lambda: b.select(b.fcmp_ordered("==", v, f64(1.0)), f64(1.0), w))

    def inf_exponent():
        av = fabs_v()
        grows = b.icmp_unsigned("==", b.fcmp_ordered(">", w, f64(0.0)),
                                b.fcmp_ordered(">", av, f64(1.0)))
        return b.select(b.fcmp_ordered("==", av, f64(1.0)), f64(1.0),
                        b.select(grows, intrinsic(fl, "llvm.fabs", w), f64(0.0)))

    case(isinf(fl, w), inf_exponent)

    def inf_base():
        odd = _is_odd_integer(fl, w)
        positive = b.select(odd, v, fabs_v())
        negative = b.select(odd, intrinsic(fl, "llvm.copysign", f64(0.0), v), f64(0.0))
        return b.select(b.fcmp_ordered(">", w, f64(0.0)), positive, negative)

    case(isinf(fl, v), inf_base)

    def zero_base():
        fl.raise_if(b.fcmp_ordered("<", w, f64(0.0)), ZeroDivisionError, MESSAGES["zero_pow"])
        return b.select(_is_odd_integer(fl, w), v, f64(0.0))

    case(b.fcmp_ordered("==", v, f64(0.0)), zero_base)
    negative = b.fcmp_ordered("<", v, f64(0.0))

    def fractional():
        # CPython computes the complex power (_Py_c_pow); only its overflow raises
        # in CPython, a complex result raises ValueError in adjit.
        size = intrinsic(fl, "llvm.pow", fabs_v(), w)
        phase = b.fmul(f64(math.pi), w)
        real = b.fmul(size, intrinsic(fl, "llvm.cos", phase))
        imag = b.fmul(size, intrinsic(fl, "llvm.sin", phase))
        fl.raise_if(b.or_(isinf(fl, real), isinf(fl, imag)), OverflowError,
                    MESSAGES["complex_overflow"])
        fl.raise_if(bit(True), ValueError, MESSAGES["fractional_pow"])
        return f64(float("nan"))  # not reached

    case(b.and_(negative, b.fcmp_ordered("!=", w, intrinsic(fl, "llvm.floor", w))), fractional)
    negate = b.and_(negative, _is_odd_integer(fl, w))
    base = fabs_v()
    case(b.fcmp_ordered("==", base, f64(1.0)),
         lambda: b.select(negate, f64(-1.0), f64(1.0)))
    result = intrinsic(fl, "llvm.pow", base, w)
    fl.raise_if(isinf(fl, result), OverflowError, MESSAGES["pow_overflow"])
    out.append((b.select(negate, b.fneg(result), result), b.block))
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(DOUBLE, name="pow")
    for value, block in out:
        phi.add_incoming(value, block)
    return phi


def int_pow(fl, a: ir.Value, e: ir.Value) -> ir.Value:
    """a ** e for e >= 0 by repeated squaring, wrapping modulo 2**64."""
    b = fl.b
    pre = b.block
    head = fl.llfn.append_basic_block("ipow.head")
    body = fl.llfn.append_basic_block("ipow.body")
    done = fl.llfn.append_basic_block("ipow.done")
    b.branch(head)
    b.position_at_end(head)
    result, base, exp = b.phi(INT64), b.phi(INT64), b.phi(INT64)
    result.add_incoming(i64(1), pre)
    base.add_incoming(a, pre)
    exp.add_incoming(e, pre)
    b.cbranch(b.icmp_signed(">", exp, i64(0)), body, done)
    b.position_at_end(body)
    odd = b.trunc(exp, BIT)
    result.add_incoming(b.select(odd, b.mul(result, base), result), body)
    base.add_incoming(b.mul(base, base), body)
    exp.add_incoming(b.lshr(exp, i64(1)), body)
    b.branch(head)
    b.position_at_end(done)
    return result


@lowers(ops.pow_)
def _pow(fl, node, args):
    v, w = args
    if not is_float(node):
        fl.raise_if(fl.b.icmp_signed("<", w, i64(0)), ValueError, MESSAGES["int_negative_pow"])
        return [int_pow(fl, v, w)]
    if fl.numpy_errors:
        return [intrinsic(fl, "llvm.pow", v, w)]
    return [float_pow(fl, v, w)]


# --- comparisons and logic ----------------------------------------------------------

_PREDICATES = {ops.lt: "<", ops.le: "<=", ops.gt: ">", ops.ge: ">=", ops.eq: "==", ops.ne: "!="}


@lowers(*_PREDICATES)
def _compare(fl, node, args):
    pred = _PREDICATES[node.op]
    t = node.operands[0].type
    if t == F64:
        if node.op is ops.ne:
            return [fl.b.fcmp_unordered("!=", *args)]  # NaN != x is True
        return [fl.b.fcmp_ordered(pred, *args)]
    if t == BOOL:
        return [fl.b.icmp_unsigned(pred, *args)]  # False < True
    return [fl.b.icmp_signed(pred, *args)]


@lowers(ops.not_)
def _not(fl, node, args):
    return [fl.b.xor(args[0], bit(True))]


# --- conversions ------------------------------------------------------------------------

@lowers(ops.to_f64)
def _to_f64(fl, node, args):
    if node.operands[0].type == BOOL:
        return [fl.b.uitofp(args[0], DOUBLE)]
    return [fl.b.sitofp(args[0], DOUBLE)]


@lowers(ops.to_bool)
def _to_bool(fl, node, args):
    if node.operands[0].type == F64:
        return [fl.b.fcmp_unordered("!=", args[0], f64(0.0))]  # NaN is true
    return [fl.b.icmp_signed("!=", args[0], i64(0))]


@lowers(ops.to_i64)
def _to_i64(fl, node, args):
    (x,) = args
    b = fl.b
    if node.operands[0].type == BOOL:
        return [b.zext(x, INT64)]
    fl.raise_if(isnan(fl, x), ValueError, MESSAGES["nan_to_int"])
    fl.raise_if(isinf(fl, x), OverflowError, MESSAGES["inf_to_int"])
    # Doubles near 2**63 are 2048 apart, so these bounds are exact.
    in_range = b.and_(b.fcmp_ordered(">=", x, f64(-2.0 ** 63)),
                      b.fcmp_ordered("<", x, f64(2.0 ** 63)))
    fl.raise_if(b.not_(in_range), OverflowError, MESSAGES["int_to_64"])
    return [b.fptosi(x, INT64)]


@lowers(ops.check)
def _check(fl, node, args):
    fl.raise_if(args[0], EXCEPTIONS[node.attrs["error"]], node.attrs["message"].replace("{", "{{")
                .replace("}", "}}"))
    return []
