# np.ones and np.empty (every element written before it is read), 1-D and
# 2-D.
import numpy as np


def ones_plus(x):
    y = np.ones(x.shape[0])
    for i in range(x.shape[0]):
        y[i] += x[i]
    return y


def empty_filled(x):
    n = x.shape[0]
    y = np.empty(n)
    for i in range(n):
        y[i] = 2.0 * x[i]
    s = 0.0
    for i in range(n):
        s += y[i] * x[i]
    return s


def ones_2d(n, m, v):
    A = np.ones((n, m))
    for i in range(n):
        for j in range(m):
            A[i, j] *= v + i - j
    return A


def outer_empty(x, y):
    A = np.empty((x.shape[0], y.shape[0]))
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            A[i, j] = x[i] * y[j]
    return A
