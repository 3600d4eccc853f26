# The logistic map iterated n times with a `while` loop and a counter.


def logistic_while(x, n):
    l = x
    i = 0
    while i < n:
        l = 4.0 * l * (1.0 - l)
        i += 1
    return l
