"""Lowering cases beyond the corpus: definedness across exits, aliasing, promotion."""
from __future__ import annotations

import numpy as np
import pytest

import adjit


def if_chain(x):
    if x < -1.0:
        return -1.0
    elif x < 0.0:
        y = x * x
    elif x < 1.0:
        y = x * 2.0
    else:
        y = x + 10.0
    return y


def continue_skips_assignment(n):
    s = 0.0
    for i in range(n):
        if i == 3:
            continue
        else:
            t = i * 2.0
        s += t
    return s


def break_skips_assignment(n):
    s = 0.0
    k = 0
    while True:
        if k >= n:
            break
        else:
            t = k * 0.5
        s += t
        k += 1
    return s


def alias_write(x):
    y = x
    y[0] = 5.0
    return x[0] + y[0]


def alias_in_loop(x):
    y = x
    for i in range(len(x)):
        y[i] = 2.0 * y[i]
    return x[len(x) - 1]


def writes_through_call(x):
    double(x)
    double(x)
    return x[0]


def double(v):
    for i in range(len(v)):
        v[i] *= 2.0
    return 0.0


def int_to_float_accumulator(n):
    s = 0
    for i in range(n):
        s = s + 0.5
    return s


@pytest.mark.parametrize("f,args", [
    (if_chain, (-2.0,)), (if_chain, (-0.5,)), (if_chain, (0.5,)), (if_chain, (3.0,)),
    (continue_skips_assignment, (6,)), (break_skips_assignment, (5,)),
    (alias_write, (np.array([1.0, 2.0]),)), (alias_in_loop, (np.array([1.0, 2.0, 3.0]),)),
    (writes_through_call, (np.array([1.5, 2.0]),)), (int_to_float_accumulator, (3,)),
])
def test_matches_cpython(f, args):
    copy = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    assert adjit.interpret(f)(*copy) == f(*[a.copy() if isinstance(a, np.ndarray) else a
                                            for a in args])


def test_writes_reach_the_caller_as_in_cpython():
    x = np.array([1.0, 2.0])
    adjit.interpret(writes_through_call)(x)
    np.testing.assert_array_equal(x, [4.0, 8.0])
