"""Compiled code raises what CPython raises, with the interpreter's message
and the user's source line.

Every error kind the backend can report is triggered here; each must have
CPython's exception type, exactly the interpreter's message (which appends
`(at file:line:col: <source line>)`), and the same location.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from adjit.ir.interp import interpret
from test_backend import module_of, native


def true_div(x, y):
    return x / y


def floor_div(x, y):
    return x // y


def modulo(x, y):
    return x % y


def power(x, y):
    return x ** y


def square_root(x):
    return math.sqrt(x)


def logarithm(x):
    return math.log(x)


def exponential(x):
    return math.exp(x)


def gamma_of(x):
    return math.gamma(x)


def to_int(x):
    return int(x)


def stepped(n, step):
    s = 0
    for i in range(0, n, step):
        s += i
    return s


def allocate(n):
    y = np.zeros(n)
    return y


def allocate2(n, m):
    return np.ones((n, m))


def read(x, i):
    return x[i]


def read2(A, i, j):
    return A[i, j]


def write(x, i):
    y = np.zeros(len(x))
    y[i] = 1.0
    return y


def inner(x):
    return math.log(x - 1.0)


def outer(x):
    s = 0.0
    for k in range(3):
        s += inner(x + k)
    return s


def fails_in_a_loop(x, n):
    y = np.zeros(n)
    for i in range(n + 1):
        y[i] = x / (n - i)
    return y


VEC = np.arange(3.0)
MAT = np.arange(6.0).reshape(2, 3)

CASES = [
    (true_div, (1.0, 0.0), ZeroDivisionError),
    (true_div, (-0.0, -0.0), ZeroDivisionError),
    (floor_div, (1.0, 0.0), ZeroDivisionError),
    (floor_div, (5, 0), ZeroDivisionError),
    (modulo, (1.0, -0.0), ZeroDivisionError),
    (modulo, (-5, 0), ZeroDivisionError),
    (power, (0.0, -1.0), ZeroDivisionError),
    (power, (-0.0, -3.0), ZeroDivisionError),
    (power, (10.0, 400.0), OverflowError),
    (power, (-10.0, 401.0), OverflowError),
    (power, (-1e300, 2.5), OverflowError),
    (power, (-8.0, 1.0 / 3.0), ValueError),
    (power, (2, -1), ValueError),
    (square_root, (-1.0,), ValueError),
    (logarithm, (0.0,), ValueError),
    (logarithm, (-math.inf,), ValueError),
    (exponential, (1000.0,), OverflowError),
    (gamma_of, (-2.0,), ValueError),
    (gamma_of, (200.0,), OverflowError),
    (to_int, (math.nan,), ValueError),
    (to_int, (math.inf,), OverflowError),
    (to_int, (-math.inf,), OverflowError),
    (to_int, (1e19,), OverflowError),
    (stepped, (5, 0), ValueError),
    (allocate, (-1,), ValueError),
    (allocate2, (2, -3), ValueError),
    (allocate2, (2 ** 40, 2 ** 40), ValueError),
    (read, (VEC, 3), IndexError),
    (read, (VEC, -4), IndexError),
    (read, (np.zeros(0), 0), IndexError),
    (read2, (MAT, 2, 0), IndexError),
    (read2, (MAT, 0, -4), IndexError),
    (write, (VEC, 5), IndexError),
    (outer, (1.0,), ValueError),
    (fails_in_a_loop, (1.0, 4), ZeroDivisionError),
]


@pytest.mark.parametrize("f, args, exc_type", CASES,
                         ids=[f"{f.__name__}{args}"[:60] for f, args, _ in CASES])
def test_error_matches_the_interpreter_and_names_the_line(f, args, exc_type):
    with pytest.raises(exc_type) as got:
        native(f, *args)(*args)
    with pytest.raises(exc_type) as want:
        interpret(module_of(f, *args), args)
    assert str(got.value) == str(want.value)
    assert got.value.adjit_location == want.value.adjit_location
    source_line = open(__file__).read().splitlines()[got.value.adjit_location[1] - 1].strip()
    assert source_line in str(got.value)
    if not any(f.__name__ == name and args == known for name, known in DIFFERENT_IN_CPYTHON):
        with pytest.raises(exc_type):
            f(*args)


# CPython returns a complex number, a float, an int beyond int64 (adjit's
# documented differences).
DIFFERENT_IN_CPYTHON = [("power", (-8.0, 1.0 / 3.0)), ("power", (2, -1)), ("to_int", (1e19,))]


def test_index_error_message_is_numpys():
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 1 with size 3"):
        native(read2, MAT, 0, 0)(MAT, 0, -4)


def test_the_numpy_error_model_computes_inf_and_nan():
    assert native(true_div, 1.0, 1.0, error_model="numpy")(1.0, -0.0) == -math.inf
    assert math.isnan(native(modulo, 1.0, 1.0, error_model="numpy")(1.0, 0.0))
    assert native(floor_div, 1.0, 1.0, error_model="numpy")(-1.0, 0.0) == -math.inf
    assert native(floor_div, 1, 1, error_model="numpy")(7, 0) == 0
    assert native(power, 1.0, 1.0, error_model="numpy")(0.0, -1.0) == math.inf
    assert math.isnan(native(power, 1.0, 1.0, error_model="numpy")(-8.0, 0.5))
    with pytest.raises(IndexError):  # not an arithmetic error
        native(read, VEC, 0, error_model="numpy")(VEC, 3)


def test_without_boundscheck_valid_indices_still_work():
    f = native(read2, MAT, 0, 0, boundscheck=False)
    assert f(MAT, -1, -1) == MAT[-1, -1] and f(MAT, 1, 0) == MAT[1, 0]
