# `and` / `or` / `not` with short circuit: the right operand guards a domain
# error and must not be evaluated when the left one decides.
import math


def log_guard(x):
    if x > 0.0 and math.log(x) > 1.0:
        return x * math.log(x)
    return x


def div_guard(x, y):
    if y == 0.0 or x / y > 2.0:
        return 1.0 + x
    return x * y


def sqrt_guard(x):
    return x >= 0.0 and math.sqrt(x) < 2.0


def not_both(a, b):
    return not (a > 0.0 and b > 0.0)


def precedence(a, b, c):
    # `and` binds tighter than `or`.
    if a > 0.0 or b > 0.0 and c > 0.0:
        return a + b + c
    return a * b * c
