import math


def guarded(x):
    return x > 0.0 and math.log(x) > 1.0
