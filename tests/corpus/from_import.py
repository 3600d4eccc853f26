# Names imported with `from math import ...`.
from math import sin, cos, exp, sqrt, pi


def from_import(x):
    return sin(x) * cos(x) + exp(-x) + sqrt(pi * x)
