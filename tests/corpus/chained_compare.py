# Chained comparisons: `a < b <= c` evaluates b once and stops at the first
# false comparison.
import math


def in_band(x, lo, hi):
    if lo < x <= hi:
        return x * x
    return -x


def sorted3(a, b, c):
    return a <= b <= c


def chain_ints(i, j, k):
    return 0 <= i < j != k


def exp_in_band(x, lo, hi):
    if lo < math.exp(x) < hi:
        return math.exp(x) - lo
    return hi - x
