# Every augmented assignment, on floats, ints and array elements.
import numpy as np


def aug_float(x, y):
    z = x
    z += y
    z -= 0.5 * x
    z *= y
    z /= x
    z **= 2
    w = z
    w //= 0.75
    w %= 0.3
    return z, w


def aug_int(i, j):
    k = i
    k += j
    k -= 1
    k *= 3
    k //= 2
    k %= 7
    k **= 2
    return k


def aug_array(x, s):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] += x[i]
        y[i] *= s
        y[i] -= 1.0
        y[i] /= 2.0
    return y
