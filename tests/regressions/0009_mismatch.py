# adjit fuzz regression: mismatch in native-jvp-vs-vjp
# found: python -m tests.fuzz --seed 2 --native, programs 1177 and 1333 of 1500, shrunk, then reduced by hand
# compared: native <c, jvp(u)> vs <vjp(c), u> vs the interpreter
# checks: value, native, derivatives, native_derivatives
# function: f0
# inputs: [2.0, [3.0]]
# signature: mismatch|native-jvp-vs-vjp|
# detail: <c, J u> = -0.27670820753236575 but <J^T c, u> = -0.2790454944576165
import math

import numpy as np


def f0(b, x):
    t1 = b
    for i in range(len(x)):
        t1 *= x[i]
    x[0] = b
    return t1
