"""The textbook function of AD courses (Griewank & Walther; Baydin et al. 2018)."""
import math


def f(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)
