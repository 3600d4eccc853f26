"""Helmholtz free energy (Baydin et al. 2018, Table 4), with b.x, x.A.x and
the sum each an explicit loop: the benchmarks' and the docs' copy."""
import math

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
