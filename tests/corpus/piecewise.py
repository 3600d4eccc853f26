# `if` / `elif` / `else` chains: assigning in each branch, and returning from
# each branch.
import math


def piecewise(x):
    if x < -2.0:
        y = -x - 1.0
    elif x < 0.0:
        y = 0.25 * x * x
    elif x < 1.0:
        y = math.sin(x)
    elif x <= 3.0:
        y = math.exp(x - 1.0)
    else:
        y = 3.0 * math.log(x)
    return y


def classify(x):
    if x < 0.0:
        return -1
    elif x == 0.0:
        return 0
    elif x < 1.0:
        return 1
    else:
        return 2


def tax(income, rate_low, rate_high):
    if income <= 10000.0:
        t = 0.0
    elif income <= 50000.0:
        t = rate_low * (income - 10000.0)
    else:
        t = rate_low * 40000.0 + rate_high * (income - 50000.0)
    return t
