# Module-level numeric constants, math.pi and math.e.
import math

HALF = 0.5
N_TERMS = 12
OFFSET = -3
SCALE = 2.0 * HALF + 1.0


def circle_area(r):
    return math.pi * r * r


def e_power(x):
    return math.e ** x - math.exp(x) + x


def use_consts(x):
    return HALF * x + N_TERMS + OFFSET * SCALE


def exp_series(x):
    s = 0.0
    term = 1.0
    for k in range(N_TERMS):
        s += term
        term = term * x / (k + 1)
    return s
