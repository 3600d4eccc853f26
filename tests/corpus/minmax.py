# min and max of two and of several arguments, and over arrays.
import math


def min_max3(a, b, c):
    return min(a, b, c), max(a, b, c)


def clamp(x, lo, hi):
    return max(lo, min(x, hi))


def min_max_int(i, j, k):
    return min(i, j, k) * 10 + max(i, j)


def array_max(x):
    m = x[0]
    for i in range(1, len(x)):
        m = max(m, x[i])
    return m


def array_min(x):
    m = math.inf
    for i in range(len(x)):
        m = min(x[i], m)
    return m
