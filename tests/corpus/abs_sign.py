# abs on floats and ints, math.fabs, math.copysign.
import math


def abs_mix(x, y):
    return abs(x) + abs(y - x) * math.fabs(y)


def abs_int(i, j):
    return abs(i - j) + abs(i)


def copysign(x, y):
    return math.copysign(x * x, y)
