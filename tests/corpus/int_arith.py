# Integer and float `//` and `%` with Python's sign rules (floor division,
# remainder with the divisor's sign), and true division of ints.


def int_divmod(a, b):
    q = a // b
    r = a % b
    return q, r, q * b + r


def float_divmod(x, y):
    return x // y, x % y


def int_true_div(i, j):
    return i / j


def int_mix(i, x):
    return (i // 3) * x + (i % 3) - i * 2 + x / (i * i + 1)
