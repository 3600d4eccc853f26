# l_{k+1} = l_k (l_k + 4), three times (workloads.md, section 2): as a loop,
# unrolled, in closed form, and the closed form of its derivative.


def swell_loop(x):
    v = x
    for i in range(3):
        v = v * (v + 4.0)
    return v


def swell_unrolled(x):
    v = x
    v = v * (v + 4.0)
    v = v * (v + 4.0)
    v = v * (v + 4.0)
    return v


def swell_closed_form(x):
    return x * (x + 4.0) * (x + 2.0) ** 2 * (x * x + 4.0 * x + 2.0) ** 2


def swell_derivative(x):
    p = x ** 7 + 14.0 * x ** 6 + 78.0 * x ** 5 + 220.0 * x ** 4
    p = p + 330.0 * x ** 3 + 252.0 * x ** 2 + 84.0 * x + 8.0
    return 8.0 * p
