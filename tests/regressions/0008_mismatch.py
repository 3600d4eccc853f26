# adjit fuzz regression: mismatch in jvp-primal
# found: python -m tests.fuzz --seed 1 (program 2988), shrunk
# compared: CPython vs the primal result of adjit.jvp
# checks: value, derivatives, second_order
# function: f2
# inputs: [[0.4], -1.0]
# signature: mismatch|jvp-primal|
# detail: component 0: expected -0.6, got 0.4 (16 ulp)
import math
import numpy as np

def f0(x, a):
    t1 = a
    x[0] -= t1
    t3 = a
    return t3

def f2(x, a):
    y = np.zeros(3)
    t2 = a
    k3 = 0
    while (a if f0(y, t2) >= y[0] else math.tanh(f0(x, y[k3]))) >= y[k3]:
        pass
    t6 = x[0]
    return t6
