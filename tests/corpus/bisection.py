# Bisection for the root of cos(x) = c x on [lo, hi], by tolerance and by a
# fixed number of halvings.
import math


def g(x, c):
    return math.cos(x) - c * x


def bisect(c, lo, hi):
    flo = g(lo, c)
    while hi - lo > 1e-10:
        mid = 0.5 * (lo + hi)
        fmid = g(mid, c)
        if fmid * flo > 0.0:
            lo = mid
            flo = fmid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def bisect_fixed(c, lo, hi, n):
    for i in range(n):
        mid = 0.5 * (lo + hi)
        if g(mid, c) * g(lo, c) > 0.0:
            lo = mid
        else:
            hi = mid
    return lo, hi
