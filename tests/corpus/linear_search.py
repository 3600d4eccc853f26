# Early `return` from inside a loop: linear search.


def find_first_above(x, t):
    for i in range(x.shape[0]):
        if x[i] > t:
            return i
    return -1


def first_above_value(x, t):
    n = len(x)
    for i in range(n):
        if x[i] > t:
            return x[i] * x[i] - t
    return 0.0
