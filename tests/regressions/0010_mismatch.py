# adjit fuzz regression: mismatch in native-hessian-vs-hvp
# found: python -m tests.fuzz --seed 3 (program 1450), shrunk
# compared: native adjit.hessian times u vs adjit.jvp(adjit.grad(f), u) vs the interpreter
# checks: value, native, derivatives, second_order, native_derivatives, native_second_order
# function: f0
# inputs: [0.5, 0.1, [0.9]]
# signature: mismatch|native-hessian-vs-hvp|
# detail: H u = [-3247.61660314537, 0.0] but jvp(grad) = [-484.71889599184624, 0.0]
import math
import numpy as np

def f0(a, b, x):
    t1 = a
    k2 = 0
    while k2 < 4:
        k2 += 1
        x[k2 % len(x)] /= t1
    return x[k2 % len(x)]
