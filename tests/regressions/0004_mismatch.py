# adjit fuzz regression: mismatch in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, programs 1099, 1299, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f1
# inputs: [-1.0, [-0.8]]
# signature: mismatch|interp-value|
# detail: component 0: expected -0.2, got -0.4 (bitwise)
import math

import numpy as np


def f0(x, a):
    x[0] = 0.5 * x[0]
    return a


def f1(a, x):
    f0(x, f0(x, a))
    return x[0]
