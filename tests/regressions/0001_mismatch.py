# adjit fuzz regression: mismatch in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, programs 300, 781, 835, 876, 896, 1355, 1380, 2127, 2754, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f0
# inputs: [-1.0]
# signature: mismatch|interp-value|
# detail: component 0: expected 0.5, got -3.5 (bitwise)
import math

import numpy as np


def f0(a):
    t1 = a
    for i in range(3):
        t1 += 0.5
        a = a * 2.0
    return t1
