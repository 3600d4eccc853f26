# adjit fuzz regression: crash in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, program 39 and 77 others of 3000, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f0
# inputs: [-2.0]
# signature: crash|interp-value|AttributeError@lower:merge_into_if
# detail: AttributeError: 'NoneType' object has no attribute 'type'
import math

import numpy as np


def f0(a):
    if a > 0.0:
        return a
    if a > 1.0:
        t1 = a
    return a
