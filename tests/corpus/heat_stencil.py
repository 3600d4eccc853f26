# Stencils: explicit 1-D heat steps with two arrays swapped by tuple
# assignment, and a 2-D Laplacian into a new array.
import numpy as np


def heat_1d(u0, alpha, steps):
    n = u0.shape[0]
    u = np.zeros(n)
    for i in range(n):
        u[i] = u0[i]
    v = np.zeros(n)
    for s in range(steps):
        for i in range(1, n - 1):
            v[i] = u[i] + alpha * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        v[0] = u[0]
        v[n - 1] = u[n - 1]
        u, v = v, u
    return u


def laplacian_2d(A):
    n = A.shape[0]
    m = A.shape[1]
    L = np.zeros((n, m))
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            L[i, j] = A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1] - 4.0 * A[i, j]
    return L
