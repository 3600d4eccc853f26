# Functions returning bools; `not`; booleans as loop conditions.


def is_between(x, lo, hi):
    return lo <= x and x <= hi


def xor(a, b):
    p = a > 0.0
    q = b > 0.0
    return (p or q) and not (p and q)


def count_positive(x):
    c = 0
    for i in range(x.shape[0]):
        pos = x[i] > 0.0
        if pos:
            c += 1
    return c


def all_sorted(x):
    ok = True
    i = 1
    while ok and i < x.shape[0]:
        if x[i - 1] > x[i]:
            ok = False
        i += 1
    return ok
