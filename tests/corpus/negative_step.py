# `range` with a negative step and with a general step.


def countdown(x, n):
    s = 0.0
    for i in range(n, 0, -1):
        s = s * x + i
    return s


def step_by(x, a, b, c):
    s = 0.0
    for i in range(a, b, c):
        s += x * i
    return s


def reverse_copy_dot(x, y):
    n = x.shape[0]
    s = 0.0
    for i in range(n - 1, -1, -1):
        s += x[i] * y[n - 1 - i]
    return s
