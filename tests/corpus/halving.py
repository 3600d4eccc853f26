# Data-dependent `while` loops that reassign a parameter.


def halve_count(x):
    n = 0
    while x > 1.0:
        x = x / 2.0
        n += 1
    return n


def halve_value(x):
    n = 0
    while x > 1.0:
        x = x / 2.0
        n += 1
    return x * (n + 1)
