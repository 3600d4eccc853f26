# The math module's functions, in groups.
import math


def trig(x, y):
    a = math.sin(x) + math.cos(y) + math.tan(x)
    b = math.asin(x) + math.acos(x) + math.atan(y) + math.atan2(y, x)
    return a + b


def exp_log(x, y):
    a = math.exp(x) + math.log(y) + math.log(y, 2.0) + math.log(x + 1.0, y + 1.0)
    b = math.log10(y) + math.log2(y) + math.log1p(x) + math.expm1(x)
    return a + b


def roots_powers(x, y):
    return math.sqrt(y) + math.pow(y, x) + math.hypot(x, y) + math.fabs(x - y)


def hyperbolic(x, y):
    return math.sinh(x) + math.cosh(x) + math.tanh(y) + math.asinh(y) + math.atanh(x)


def special(x):
    return math.erf(x) + math.erfc(x) * 2.0 + math.lgamma(x + 2.0) + math.gamma(x + 1.5)


def sqrt_of(x):
    return math.sqrt(x)


def acos_of(x):
    return math.acos(x)


def log_base(x, b):
    return math.log(x, b)


def pow_of(x, y):
    return math.pow(x, y)
