# Indexing with Python's rules: negative indices count from the end.


def last(x):
    return x[-1] + 2.0 * x[-len(x)]


def corners(A):
    return A[0, 0] + A[-1, -1] * 2.0 + A[0, -1] * 3.0 + A[-1, 0] * 4.0


def at(x, i):
    return x[i]


def at2(A, i, j):
    return A[i, j]


def set_at(x, i, v):
    x[i] = v
    return x
