# `**` with int and float operands, and its precedence over unary minus.


def pow_float_int(x, n):
    return x ** n


def pow_int_int(i, j):
    return i ** j


def pow_float_float(x, y):
    return x ** y


def pow_const(x):
    return x ** 2 + x ** 0.5 + x ** -1 + 2.0 ** x - x ** 3 ** 0.5 - -x ** 2
