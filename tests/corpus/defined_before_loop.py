# A value defined before a loop, used inside it and after it.
import math


def before_inside_after(x, n):
    k = math.sin(x)
    s = 0.0
    for i in range(n):
        s = s + k * s + x * k
    return s * k + k


def before_inside_after_while(x, y):
    scale = x * y
    t = 0.0
    while t < 3.0:
        t += 0.5
        y = y + scale * t
    return y - scale
