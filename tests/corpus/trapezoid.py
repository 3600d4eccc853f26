# The trapezoid rule, calling the integrand in the loop.
import math


def integrand(t, a):
    return math.exp(-a * t * t)


def trapezoid(a, b, n):
    h = b / n
    s = 0.5 * (integrand(0.0, a) + integrand(b, a))
    for i in range(1, n):
        s += integrand(i * h, a)
    return s * h
