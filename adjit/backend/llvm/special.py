"""CPython's own gamma and lgamma, emitted as LLVM functions.

CPython's `math.gamma` and `math.lgamma` do not call the C library: they
use a Lanczos approximation (Modules/mathmodule.c: m_tgamma, m_lgamma,
lanczos_sum, m_sinpi). C's tgamma differs from them by up to ~10 ulp and
lgamma near its zeros by far more, so the backend computes what CPython
computes, operation for operation (no fast-math, no contraction; sin, cos,
exp, log and pow are the C library's, as in CPython).

The values where CPython raises (poles, overflow) are C's (tgamma(0) = inf,
tgamma(-1) = nan, ...), which is what `adjit.ir.ops.mathfn` specifies;
`math_check` then raises.
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import DOUBLE, INT32

LANCZOS_G = 6.024680040776729583740234375
LANCZOS_G_MINUS_HALF = 5.524680040776729583740234375
LANCZOS_NUM = (
    23531376880.410759688572007674451636754734846804940,
    42919803642.649098768957899047001988850926355848959,
    35711959237.355668049440185451547166705960488635843,
    17921034426.037209699919755754458931112671403265390,
    6039542586.3520280050642916443072979210699388420708,
    1439720407.3117216736632230727949123939715485786772,
    248874557.86205415651146038641322942321632125127801,
    31426415.585400194380614231628318205362874684987640,
    2876370.6289353724412254090516208496135991145378768,
    186056.26539522349504029498971604569928220784236328,
    8071.6720023658162106380029022722506138218516325024,
    210.82427775157934587250973392071336271166969580291,
    2.5066282746310002701649081771338373386264310793408,
)
LANCZOS_DEN = (0.0, 39916800.0, 120543840.0, 150917976.0, 105258076.0, 45995730.0,
               13339535.0, 2637558.0, 357423.0, 32670.0, 1925.0, 66.0, 1.0)
PI = 3.141592653589793238462643383279502884197
LOGPI = 1.144729885849400174143427351353058711647
NGAMMA_INTEGRAL = 23


def _c(x: float) -> ir.Constant:
    return ir.Constant(DOUBLE, x)


class _Emitter:
    """Straight-line double arithmetic with early returns, in one function."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module):
        self.b = b
        self.module = module

    def call(self, name: str, *args: ir.Value) -> ir.Value:
        fnty = ir.FunctionType(DOUBLE, [DOUBLE] * len(args))
        return self.b.call(self.module.declare_intrinsic(name, [DOUBLE], fnty=fnty), list(args))

    def add(self, a, b): return self.b.fadd(a, b)  # noqa: E704
    def sub(self, a, b): return self.b.fsub(a, b)  # noqa: E704
    def mul(self, a, b): return self.b.fmul(a, b)  # noqa: E704
    def div(self, a, b): return self.b.fdiv(a, b)  # noqa: E704
    def fabs(self, x): return self.call("llvm.fabs", x)  # noqa: E704

    def lt(self, a, b): return self.b.fcmp_ordered("<", a, b)  # noqa: E704

    def ret_if(self, condition: ir.Value, value_fn) -> None:
        with self.b.if_then(condition):
            self.b.ret(value_fn())

    def lanczos_sum(self, x: ir.Value) -> ir.Value:
        """Lanczos' sum L_g(x) for x > 0, as a rational function."""
        b = self.b
        small = self.lt(x, _c(5.0))
        num_s, den_s = _c(0.0), _c(0.0)
        for k in reversed(range(len(LANCZOS_NUM))):
            num_s = self.add(self.mul(num_s, x), _c(LANCZOS_NUM[k]))
            den_s = self.add(self.mul(den_s, x), _c(LANCZOS_DEN[k]))
        num_l, den_l = _c(0.0), _c(0.0)
        for k in range(len(LANCZOS_NUM)):
            num_l = self.add(self.div(num_l, x), _c(LANCZOS_NUM[k]))
            den_l = self.add(self.div(den_l, x), _c(LANCZOS_DEN[k]))
        return self.div(b.select(small, num_s, num_l), b.select(small, den_s, den_l))

    def sinpi(self, x: ir.Value) -> ir.Value:
        """sin(pi * x) for finite x, exact at integers (CPython's m_sinpi)."""
        b = self.b
        y = b.frem(self.fabs(x), _c(2.0))
        n = b.fptosi(self.call("llvm.round", self.mul(_c(2.0), y)), INT32)
        cases = [
            lambda: self.call("llvm.sin", self.mul(_c(PI), y)),
            lambda: self.call("llvm.cos", self.mul(_c(PI), self.sub(y, _c(0.5)))),
            lambda: self.call("llvm.sin", self.mul(_c(PI), self.sub(_c(1.0), y))),
            lambda: b.fneg(self.call("llvm.cos", self.mul(_c(PI), self.sub(y, _c(1.5))))),
            lambda: self.call("llvm.sin", self.mul(_c(PI), self.sub(y, _c(2.0)))),
        ]
        fn = b.function
        done = fn.append_basic_block("sinpi.done")
        switch = b.switch(n, done)
        here = b.block
        results = []
        for k, case in enumerate(cases):
            block = fn.append_basic_block(f"sinpi.{k}")
            switch.add_case(ir.Constant(INT32, k), block)
            b.position_at_end(block)
            results.append((case(), b.block))
            b.branch(done)
        b.position_at_end(done)
        r = b.phi(DOUBLE)
        r.add_incoming(_c(float("nan")), here)  # unreachable for finite x
        for value, block in results:
            r.add_incoming(value, block)
        return self.mul(self.call("llvm.copysign", _c(1.0), x), r)


def _tgamma_body(b: ir.IRBuilder, fn: ir.Function) -> None:
    e = _Emitter(b, fn.module)
    x = fn.args[0]
    inf = _c(float("inf"))
    finite = b.fcmp_ordered("<", e.fabs(x), inf)
    isnan = b.fcmp_unordered("uno", x, x)
    e.ret_if(b.and_(b.not_(finite), b.or_(isnan, b.fcmp_ordered(">", x, _c(0.0)))), lambda: x)
    e.ret_if(b.not_(finite), lambda: _c(float("nan")))
    e.ret_if(b.fcmp_ordered("==", x, _c(0.0)), lambda: e.call("llvm.copysign", inf, x))
    integral = b.fcmp_ordered("==", x, e.call("llvm.floor", x))
    e.ret_if(b.and_(integral, e.lt(x, _c(0.0))), lambda: _c(float("nan")))

    def table() -> ir.Value:
        values = ir.Constant(ir.ArrayType(DOUBLE, NGAMMA_INTEGRAL),
                             [_c(float(_factorial(k))) for k in range(NGAMMA_INTEGRAL)])
        factorials = ir.GlobalVariable(fn.module, values.type, "adjit.gamma_integral")
        factorials.global_constant = True
        factorials.linkage = "internal"
        factorials.initializer = values
        index = b.sub(b.fptosi(x, INT32), ir.Constant(INT32, 1))
        at = b.gep(factorials, [ir.Constant(INT32, 0), index], inbounds=True,
                   source_etype=values.type)
        return b.load(at, typ=DOUBLE)

    e.ret_if(b.and_(integral, b.fcmp_ordered("<=", x, _c(float(NGAMMA_INTEGRAL)))), table)
    absx = e.fabs(x)
    e.ret_if(e.lt(absx, _c(1e-20)), lambda: e.div(_c(1.0), x))
    large = b.fcmp_ordered(">", absx, _c(200.0))
    e.ret_if(b.and_(large, e.lt(x, _c(0.0))), lambda: e.div(_c(0.0), e.sinpi(x)))
    e.ret_if(large, lambda: inf)

    g_half = _c(LANCZOS_G_MINUS_HALF)
    y = e.add(absx, g_half)
    above = b.fcmp_ordered(">", absx, g_half)
    z = b.select(above, e.sub(e.sub(y, absx), g_half), e.sub(e.sub(y, g_half), absx))
    z = e.div(e.mul(z, _c(LANCZOS_G)), y)
    below_140 = e.lt(absx, _c(140.0))

    with b.if_then(e.lt(x, _c(0.0))):
        r = e.div(e.mul(e.div(e.div(_c(-PI), e.sinpi(absx)), absx), e.call("llvm.exp", y)),
                  e.lanczos_sum(absx))
        r = e.sub(r, e.mul(z, r))
        e.ret_if(below_140, lambda: e.div(r, e.call("llvm.pow", y, e.sub(absx, _c(0.5)))))
        half = e.call("llvm.pow", y, e.sub(e.div(absx, _c(2.0)), _c(0.25)))
        b.ret(e.div(e.div(r, half), half))
    r = e.div(e.lanczos_sum(absx), e.call("llvm.exp", y))
    r = e.add(r, e.mul(z, r))
    e.ret_if(below_140, lambda: e.mul(r, e.call("llvm.pow", y, e.sub(absx, _c(0.5)))))
    half = e.call("llvm.pow", y, e.sub(e.div(absx, _c(2.0)), _c(0.25)))
    b.ret(e.mul(e.mul(r, half), half))


def _lgamma_body(b: ir.IRBuilder, fn: ir.Function) -> None:
    e = _Emitter(b, fn.module)
    x = fn.args[0]
    inf = _c(float("inf"))
    e.ret_if(b.fcmp_unordered("uno", x, x), lambda: x)
    e.ret_if(b.fcmp_ordered("==", e.fabs(x), inf), lambda: inf)
    integral = b.and_(b.fcmp_ordered("==", x, e.call("llvm.floor", x)),
                      b.fcmp_ordered("<=", x, _c(2.0)))
    e.ret_if(b.and_(integral, b.fcmp_ordered("<=", x, _c(0.0))), lambda: inf)
    e.ret_if(integral, lambda: _c(0.0))
    absx = e.fabs(x)
    e.ret_if(e.lt(absx, _c(1e-20)), lambda: b.fneg(e.call("llvm.log", absx)))
    r = e.sub(e.call("llvm.log", e.lanczos_sum(absx)), _c(LANCZOS_G))
    shifted = e.sub(e.add(absx, _c(LANCZOS_G)), _c(0.5))
    r = e.add(r, e.mul(e.sub(absx, _c(0.5)), e.sub(e.call("llvm.log", shifted), _c(1.0))))
    e.ret_if(e.lt(x, _c(0.0)), lambda: e.sub(e.sub(e.sub(
        _c(LOGPI), e.call("llvm.log", e.fabs(e.sinpi(absx)))), e.call("llvm.log", absx)), r))
    b.ret(r)


def _factorial(k: int) -> int:
    out = 1
    for j in range(2, k + 1):
        out *= j
    return out


def define_gamma(runtime) -> ir.Function:
    """CPython's m_tgamma as an internal function of the runtime's module."""
    return runtime.define("gamma", DOUBLE, [DOUBLE], _tgamma_body)


def define_lgamma(runtime) -> ir.Function:
    """CPython's m_lgamma as an internal function of the runtime's module."""
    return runtime.define("lgamma", DOUBLE, [DOUBLE], _lgamma_body)
