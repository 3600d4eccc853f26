# The textbook function of AD courses (workloads.md, section 1), written as
# one expression and as the evaluation trace v_1 .. v_5.
import math


def f(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def f_trace(x1, x2):
    v1 = math.log(x1)
    v2 = x1 * x2
    v3 = math.sin(x2)
    v4 = v1 + v2
    v5 = v4 - v3
    return v5
