# 2-D allocation with a shape tuple, and writes A[i, j] = v.
import numpy as np


def transpose(A):
    n = A.shape[0]
    m = A.shape[1]
    B = np.zeros((m, n))
    for i in range(n):
        for j in range(m):
            B[j, i] = A[i, j]
    return B


def symmetric_part_trace(A):
    B = transpose(A)
    t = 0.0
    for i in range(A.shape[0]):
        t += 0.5 * (A[i, i] + B[i, i]) * A[i, 0]
    return t
