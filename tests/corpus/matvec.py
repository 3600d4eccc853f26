# 2-D reads: matrix-vector product into a new array, and a quadratic form.
import numpy as np


def matvec(A, x):
    n = A.shape[0]
    m = A.shape[1]
    y = np.zeros(n)
    for i in range(n):
        t = 0.0
        for j in range(m):
            t += A[i, j] * x[j]
        y[i] = t
    return y


def quadratic_form(A, x):
    y = matvec(A, x)
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return s
