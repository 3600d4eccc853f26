# x.shape[0], A.shape[1], len(A) and int-to-float promotion of sizes.
import numpy as np


def dims(A):
    return A.shape[0], A.shape[1], len(A)


def row_means(A):
    n = A.shape[0]
    m = A.shape[1]
    r = np.zeros(n)
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += A[i, j]
        r[i] = s / m
    return r


def mean(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i]
    return s / float(len(x))
