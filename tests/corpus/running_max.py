# Running maximum into a new array: a branch per element.
import numpy as np


def running_max(x):
    n = x.shape[0]
    y = np.zeros(n)
    m = x[0]
    for i in range(n):
        if x[i] > m:
            m = x[i]
        y[i] = m
    return y


def argmax(x):
    best = 0
    for i in range(1, x.shape[0]):
        if x[i] > x[best]:
            best = i
    return best
