# adjit fuzz regression: mismatch in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, programs 348, 898, 984, 1629, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f1
# inputs: [[1.0, 2.0]]
# signature: mismatch|interp-value|
# detail: component 0: expected -1.0, got 1.0 (bitwise)
import math

import numpy as np


def f0(x):
    x[0] -= 1.0
    return 0.0


def f1(x):
    k = 0
    while k < 2:
        k += 1
        f0(x)
    return x[0]
