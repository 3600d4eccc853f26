# Returning tuples, unpacking them, and swapping by tuple assignment.
import math


def fib_pair(x, y, n):
    a = x
    b = y
    for i in range(n):
        a, b = b, a + b
    return a, b


def swap(x, y):
    x, y = y, x
    return x - 2.0 * y


def sincos(x):
    return math.sin(x), math.cos(x)


def use_sincos(x):
    s, c = sincos(x)
    return s * s + c


def stats(x):
    n = x.shape[0]
    mean = 0.0
    for i in range(n):
        mean += x[i]
    mean = mean / n
    var = 0.0
    for i in range(n):
        var += (x[i] - mean) ** 2
    return mean, var / n
