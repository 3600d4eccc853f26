# math.floor, math.ceil, math.trunc (they return ints) and float // .
import math


def floor_ceil(x):
    return math.floor(x), math.ceil(x), math.trunc(x)


def frac_part(x):
    return x - math.floor(x) + 0.5 * (math.ceil(x) - x)


def floor_div_scale(x, y):
    return (x // y) * y + math.floor(x / y) * 0.5
