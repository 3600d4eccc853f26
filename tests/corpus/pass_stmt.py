# `pass` in branches and loop bodies; docstrings.


def with_pass(x):
    """Absolute value, the long way."""
    if x > 0.0:
        pass
    else:
        x = -x
    for i in range(3):
        pass
    return x


def pass_in_loop(x, n):
    """Adds x at even steps only."""
    s = 0.0
    for i in range(n):
        if i % 2 == 1:
            pass
        else:
            s += x
    return s
