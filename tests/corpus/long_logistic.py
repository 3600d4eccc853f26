# The long loop of the benchmarks: v = 3.9 v (1 - v), n times.


def long_logistic(x, n):
    v = x
    for i in range(n):
        v = 3.9 * v * (1.0 - v)
    return v
