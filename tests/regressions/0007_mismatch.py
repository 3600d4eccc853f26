# adjit fuzz regression: mismatch in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, programs 2154 and 2988 of 3000, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f1
# inputs: [[-0.5]]
# signature: mismatch|interp-value|
# detail: component 0: expected 1.0, got -0.5 (bitwise)
import math

import numpy as np


def f0(x):
    x[0] += 0.5
    return x[0]


def f1(x):
    k = 0
    while k < 3 and f0(x) < 10.0:
        k += 1
    return x[0]
