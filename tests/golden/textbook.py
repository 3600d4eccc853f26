import math


def f(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)
