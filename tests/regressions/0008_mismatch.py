# adjit fuzz regression: mismatch in native-jvp-vs-vjp
# found: python -m tests.fuzz --seed 2 (program 1333), shrunk
# compared: native <c, jvp(u)> vs <vjp(c), u> vs the interpreter
# checks: value, native, derivatives, second_order, native_derivatives
# function: f1
# inputs: [2.0, [-1.1], 1.0, -1.0]
# signature: mismatch|native-jvp-vs-vjp|
# detail: <c, J u> = -0.023012124229356112 but <J^T c, u> = 0.42696490825132943
import math
import numpy as np

def f1(a, x, b, c):
    t1 = b
    for i2 in range(len(x)):
        t1 *= x[i2]
    x[0] = b
    return (x[len(x) - 1], t1)
