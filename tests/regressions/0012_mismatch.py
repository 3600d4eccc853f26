# adjit fuzz regression: mismatch in interp-value
# found: python -m tests.fuzz --seed 5 --native, program 2218 of 3000, reduced by hand (a harness fix: numpy's own tanh differs from libm's, which adjit calls for np.tanh as for math.tanh; the oracle now computes numpy's math functions with libm where the two differ)
# compared: CPython vs adjit.interpret and native: result and array arguments after the call
# checks: value, native
# function: f0
# inputs: [0.61182]
# signature: mismatch|interp-value|
# detail: component 0: expected 1.0, got 0.0 (bitwise)
import math

import numpy as np


def f0(a):
    if np.tanh(a) < math.tanh(a):
        return 1.0
    return 0.0
