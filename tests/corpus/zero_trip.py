# Loops that run zero times: the values carried into them come out unchanged.
import numpy as np


def zero_trip_for(x):
    y = x * 2.0
    for i in range(0):
        y = y * y
    return y


def zero_trip_range(x, a, b):
    y = x
    for i in range(a, b):
        y = y * x + i
    return y


def zero_trip_while(x):
    y = x
    while y > 10.0:
        y = y / 2.0
    return y + 1.0


def empty_array_sum(x, n):
    a = np.zeros(n)
    s = x
    for i in range(a.shape[0]):
        s += a[i] * x
    return s
