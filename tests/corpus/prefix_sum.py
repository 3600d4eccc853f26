# 1-D arrays: reading an argument, allocating a result, writing into it.
import numpy as np


def prefix_sum(x):
    n = x.shape[0]
    s = np.zeros(n)
    acc = 0.0
    for i in range(n):
        acc += x[i]
        s[i] = acc
    return s


def weighted_prefix_total(x, w):
    s = prefix_sum(x)
    total = 0.0
    for i in range(len(s)):
        total += w * s[i] * s[i]
    return total
