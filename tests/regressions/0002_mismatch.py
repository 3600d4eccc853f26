# adjit fuzz regression: mismatch in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, programs 1300, 1949, 2103, 2264, 2393, 2762, 2888, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f0
# inputs: [[1.0, 2.0]]
# signature: mismatch|interp-value|
# detail: array argument 0 after the call: component 0: expected 0.0, got 1.0 (bitwise)
import math

import numpy as np


def f0(x):
    if x[1] < 10.0:
        x[1] += 1.0
    x[0] -= 1.0
    return x[0]
