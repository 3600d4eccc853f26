"""The benchmark functions, written in adjit's subset (shared/reference/workloads.md)."""
import math

import numpy as np

RT = 8.314 * 298.15


def helmholtz(x, b, A):
    n = x.shape[0]
    bx = 0.0
    for i in range(n):
        bx += b[i] * x[i]
    xAx = 0.0
    for i in range(n):
        for j in range(n):
            xAx += x[i] * A[i, j] * x[j]
    s = 0.0
    for i in range(n):
        s += x[i] * math.log(x[i] / (1.0 - bx))
    sqrt2 = math.sqrt(2.0)
    ratio = (1.0 + (1.0 + sqrt2) * bx) / (1.0 + (1.0 - sqrt2) * bx)
    return RT * s - xAx / (math.sqrt(8.0) * bx) * math.log(ratio)


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def long_logistic(x, n):
    v = x
    for i in range(n):
        v = 3.9 * v * (1.0 - v)
    return v


def new_array(n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = i * 0.5
    return y

