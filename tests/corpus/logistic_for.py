# The logistic map l_{k+1} = 4 l_k (1 - l_k) iterated n times with `for`
# (workloads.md, section 2), and the closed form of d l_4 / dx to check it.


def logistic_for(x, n):
    l = x
    for i in range(n):
        l = 4.0 * l * (1.0 - l)
    return l


def dl4_dx(x):
    # d l_4 / dx where l_1 = x: the derivative of logistic_for(x, 3).
    p = 1.0 - 42.0 * x + 504.0 * x ** 2 - 2640.0 * x ** 3 + 7040.0 * x ** 4
    p = p - 9984.0 * x ** 5 + 7168.0 * x ** 6 - 2048.0 * x ** 7
    return 64.0 * p
