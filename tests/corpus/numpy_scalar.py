# numpy's scalar functions on floats, with numpy's semantics (nan and inf
# instead of exceptions).
import numpy as np


def np_mix(x):
    a = np.sin(x) + np.cos(x) + np.tan(x) + np.exp(x) + np.sqrt(x)
    b = np.log(x) + np.tanh(x) + np.abs(x - 1.0) + np.arctan(x) + np.log1p(x)
    return a + b


def np_edge(x):
    # -inf at 0, nan below 0: numpy warns, it does not raise.
    return np.log(x) + np.sqrt(x)


def np_pi(x):
    return np.pi * x + np.e
