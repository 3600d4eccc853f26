# adjit fuzz regression: crash in interp-value
# found: python -m tests.fuzz --seed 1 --no-native, program 274 and 12 others of 3000; seed 11 program 9, shrunk, then reduced by hand
# compared: CPython vs adjit.interpret: result and array arguments after the call
# checks: value, native
# function: f1
# inputs: [0.3, [1.0, 2.0]]
# signature: crash|interp-value|VerifyError@verify:_region
# detail: VerifyError: array_get uses <Value ?: array<f64,1>> which is not defined before it in scope (@f1)
import math

import numpy as np


def f0(x):
    x[0] -= 1.0
    return 0.5


def f1(a, x):
    t1 = f0(x) if a > 0.0 else a
    return t1 + x[0]
