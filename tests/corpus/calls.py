# Functions calling functions: a helper returning a tuple that the caller
# unpacks, a helper called in a loop, a helper defined after its caller.
import math


def square(x):
    return x * x


def sum_sq(x, y):
    return square(x) + square(y)


def polar(x, y):
    r = math.sqrt(sum_sq(x, y))
    return r, math.atan2(y, x)


def polar_roundtrip(x, y):
    r, t = polar(x, y)
    return r * math.cos(t) + 2.0 * r * math.sin(t)


def sum_of_squares_loop(x, n):
    s = 0.0
    for i in range(n):
        s += square(x + i)
    return s


def caller_first(x):
    return helper_later(x, 2.0) + 1.0


def helper_later(x, k):
    return k * math.tanh(x)
