# Conditional expressions; only the chosen operand is evaluated.
import math


def relu(x):
    return x if x > 0.0 else 0.0


def sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def alternating(x, n):
    s = 0.0
    for i in range(n):
        s += x if i % 2 == 0 else -x * x
    return s


def sqrt_abs(x):
    return math.sqrt(x) if x >= 0.0 else -math.sqrt(-x)
