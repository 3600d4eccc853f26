# Exceptions raised inside loops, in the middle of the work.
import math


def log_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.log(x[i])
    return s


def reciprocal_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += 1.0 / x[i]
    return s


def shifted_reciprocal_sum(x, n):
    s = 0.0
    for i in range(n):
        s += 1.0 / (x - i)
    return s


def int_reciprocal_count(n, k):
    c = 0
    for i in range(n):
        c += 100 // (k - i)
    return c
