# adjit fuzz regression: mismatch in native-hessian-vs-hvp
# found: python -m tests.fuzz --seed 3 --native, program 1450 of 2500, shrunk, then reduced by hand
# compared: native adjit.hessian times u vs adjit.jvp(adjit.grad(f), u) vs the interpreter
# checks: value, native, derivatives, second_order, native_derivatives, native_second_order
# function: f0
# inputs: [0.5, [0.9]]
# signature: mismatch|native-hessian-vs-hvp|
# detail: H u = [556.4428471143323] but jvp(grad) = [196.39159309917608]
import math

import numpy as np


def f0(a, x):
    for k in range(2):
        x[0] /= a
    return x[0]
