# Float overflow: math.exp and ** raise OverflowError, * gives inf;
# 0.0 ** negative raises ZeroDivisionError.
import math


def exp_growth(x):
    return math.exp(x) * 0.5


def pow_growth(x, y):
    return x ** y


def mul_to_inf(x):
    y = x
    for i in range(5):
        y = y * y
    return y
