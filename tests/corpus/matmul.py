# Matrix product into a new 2-D array, and its trace.
import numpy as np


def matmul(A, B):
    n = A.shape[0]
    k = A.shape[1]
    m = B.shape[1]
    C = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            s = 0.0
            for p in range(k):
                s += A[i, p] * B[p, j]
            C[i, j] = s
    return C


def trace_of_product(A, B):
    C = matmul(A, B)
    t = 0.0
    for i in range(min(C.shape[0], C.shape[1])):
        t += C[i, i]
    return t
