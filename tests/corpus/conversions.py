# float() and int(): int() truncates towards zero; an int from a float used
# as an index.


def split_int_frac(x):
    i = int(x)
    return float(i), x - i


def float_of_int(n):
    return float(n) / 3.0


def to_int(x):
    return int(x)


def index_from_fraction(x, t):
    i = int(t * (len(x) - 1))
    return x[i] * t
