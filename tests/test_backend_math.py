"""Math functions in compiled code: CPython's values and exceptions.

`math.f(x)` compiles to the C library's f (what CPython calls) plus
CPython's error rule (`math_check`), so results agree with CPython within
2 ulp (usually bitwise) and raise the same exceptions; gamma and lgamma are
CPython's own algorithms, bitwise. numpy functions never raise.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from adjit.ir.interp import interpret
from test_backend import module_of, native, outcome

INF, NAN = math.inf, math.nan


def m_sin(x):
    return math.sin(x)


def m_cos(x):
    return math.cos(x)


def m_tan(x):
    return math.tan(x)


def m_asin(x):
    return math.asin(x)


def m_acos(x):
    return math.acos(x)


def m_atan(x):
    return math.atan(x)


def m_sinh(x):
    return math.sinh(x)


def m_cosh(x):
    return math.cosh(x)


def m_tanh(x):
    return math.tanh(x)


def m_asinh(x):
    return math.asinh(x)


def m_acosh(x):
    return math.acosh(x)


def m_atanh(x):
    return math.atanh(x)


def m_exp(x):
    return math.exp(x)


def m_exp2(x):
    return math.exp2(x)


def m_expm1(x):
    return math.expm1(x)


def m_log(x):
    return math.log(x)


def m_log2(x):
    return math.log2(x)


def m_log10(x):
    return math.log10(x)


def m_log1p(x):
    return math.log1p(x)


def m_sqrt(x):
    return math.sqrt(x)


def m_cbrt(x):
    return math.cbrt(x)


def m_erf(x):
    return math.erf(x)


def m_erfc(x):
    return math.erfc(x)


def m_fabs(x):
    return math.fabs(x)


def m_gamma(x):
    return math.gamma(x)


def m_lgamma(x):
    return math.lgamma(x)


def m_floor(x):
    return math.floor(x)


def m_ceil(x):
    return math.ceil(x)


def m_trunc(x):
    return math.trunc(x)


def m_atan2(y, x):
    return math.atan2(y, x)


def m_hypot(x, y):
    return math.hypot(x, y)


def m_pow(x, y):
    return math.pow(x, y)


def m_copysign(x, y):
    return math.copysign(x, y)


def m_log_base(x, b):
    return math.log(x, b)


def np_unchecked(x):
    return np.log(x) + np.sqrt(x) + np.arcsin(x) + np.exp(x * 1000.0)


def np_fmin_fmax(x, y):
    return np.fmin(x, y), np.fmax(x, y)


UNARY = [m_sin, m_cos, m_tan, m_asin, m_acos, m_atan, m_sinh, m_cosh, m_tanh, m_asinh, m_acosh,
         m_atanh, m_exp, m_exp2, m_expm1, m_log, m_log2, m_log10, m_log1p, m_sqrt, m_erf,
         m_erfc, m_fabs, m_floor, m_ceil, m_trunc]
if not hasattr(math, "cbrt"):  # Python < 3.11
    UNARY.remove(m_exp2)
else:
    UNARY.append(m_cbrt)
BINARY = [m_atan2, m_hypot, m_pow, m_copysign, m_log_base]

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 5e-324, 1e-300, INF, -INF, NAN]
SAMPLES = SPECIAL + [s * m for s in (1.0, -1.0)
                     for m in np.logspace(-8, 3, 37).tolist() + [700.0, 710.0, 1e10, 1e300]]


def close(got, want, ulps: int = 2) -> bool:
    if isinstance(want, int):
        return got == want and type(got) is int
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if got == want:
        return want != 0.0 or math.copysign(1.0, got) == math.copysign(1.0, want)
    if math.isinf(got) or math.isinf(want):
        return False
    return abs(got - want) <= ulps * math.ulp(max(abs(got), abs(want)))


def check_against_cpython(f, inputs, ulps: int = 2):
    compiled = native(f, *inputs[0])
    module = module_of(f, *inputs[0])
    bad = []
    for args in inputs:
        got, want = outcome(compiled, *args), outcome(f, *args)
        reference = outcome(lambda *a: interpret(module, a), *args)
        if want[0] == "ok" and isinstance(want[1], int) and not -2 ** 63 <= want[1] < 2 ** 63:
            want = reference  # adjit's ints are int64: OverflowError where CPython's grow
        for expected in (want, reference):
            if got[0] != expected[0] or (got[0] == "raise" and got[1] is not expected[1]) \
                    or (got[0] == "ok" and not close(got[1], expected[1], ulps)):
                bad.append((args, got, expected))
    assert not bad, f"{f.__name__}: {bad[:5]}"


@pytest.mark.parametrize("f", UNARY, ids=lambda f: f.__name__)
def test_unary_math_functions_match_cpython(f):
    check_against_cpython(f, [(x,) for x in SAMPLES])


@pytest.mark.parametrize("f", BINARY, ids=lambda f: f.__name__)
def test_binary_math_functions_match_cpython(f):
    values = SPECIAL + [3.0, -3.0, 0.1, 10.0, 1e200, -1e200]
    check_against_cpython(f, [(x, y) for x in values for y in values])


@pytest.mark.parametrize("f", [m_gamma, m_lgamma], ids=lambda f: f.__name__)
def test_gamma_functions_are_cpythons_bitwise(f):
    rng = np.random.default_rng(0)
    xs = SAMPLES + rng.uniform(-30.0, 30.0, 400).tolist() + [-3.0, -2.5, 23.0, 24.0, 171.5, 172.0,
                                                              -170.5, -200.5, 1e-21, -1e-21]
    check_against_cpython(f, [(x,) for x in xs], ulps=0)


def test_numpy_functions_do_not_raise():
    f = native(np_unchecked, 0.5)
    assert math.isnan(f(-1.0)) and f(0.0) == -INF and math.isinf(f(1.0))
    g = native(np_fmin_fmax, 1.0, 2.0)
    for x, y in [(1.0, 2.0), (NAN, 1.0), (1.0, NAN), (0.0, -0.0), (-0.0, 0.0)]:
        lo, hi = g(x, y)
        assert close(lo, float(np.fmin(x, y))) and close(hi, float(np.fmax(x, y)))


def test_numpy_error_model_leaves_math_unchecked():
    f = native(m_log, 1.0, error_model="numpy")
    assert f(0.0) == -INF and math.isnan(f(-1.0))
    assert native(m_exp, 1.0, error_model="numpy")(1000.0) == INF
