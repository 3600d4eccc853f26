# `if` inside loops: a different branch may be taken at every iteration.


def leaky_relu_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            s += x[i]
        else:
            s += 0.01 * x[i]
    return s


def branchy_map(x, n):
    v = x
    for i in range(n):
        if v > 1.0:
            v = v / 3.0
        else:
            v = v * v + 1.0
    return v


def branch_on_index(x, n):
    v = x
    for i in range(n):
        if i % 3 == 0:
            v = v * 1.1
        elif i % 3 == 1:
            v = v + 0.5
        else:
            v = v - 0.1 * v * v
    return v
