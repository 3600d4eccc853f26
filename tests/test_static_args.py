"""`jit(static_argnums=...)`: static values are folded into the IR as
constants before the passes run, one specialization per value."""
from __future__ import annotations

import math

import numpy as np
import pytest

import adjit


def power(x, n):
    y = 1.0
    for i in range(n):
        y = y * x
    return y


def scaled(x, c, flag):
    if flag:
        return x * c
    return x - c


def fill(n, v):
    a = np.zeros(n)
    for i in range(n):
        a[i] = v * i
    return a


def test_the_static_value_is_a_constant_in_the_ir():
    f = adjit.jit(power, static_argnums=1)
    ir = f.inspect_ir(2.0, 5)
    assert "const 5 : i64" in ir
    loop = next(line for line in ir.splitlines() if " for " in line)
    assert "%n," not in loop and "%n " not in loop  # the bound is the constant, not the parameter
    assert f(2.0, 5) == 32.0
    assert f(3.0, 2) == 9.0
    assert "const 2 : i64" in f.inspect_ir(3.0, 2)


def test_a_static_bool_removes_the_branch():
    g = adjit.jit(scaled, static_argnums=(1, 2))
    assert g(2.0, 3.0, True) == 6.0
    assert g(2.0, 3.0, False) == -1.0
    ir = g.inspect_ir(2.0, 3.0, False)
    assert "const 3.0 : f64" in ir and " if " not in ir and "mul" not in ir


def test_each_value_is_its_own_specialization():
    f = adjit.jit(power, static_argnums=(1,))
    for n in range(6):
        assert f(1.5, n) == 1.5 ** n
    assert len(f.cache) == 6
    assert f(1.5, 3) == 1.5 ** 3
    assert len(f.cache) == 6  # reused


def test_static_values_with_arrays_and_transformations():
    f = adjit.jit(fill, static_argnums=0)
    np.testing.assert_array_equal(f(4, 0.5), [0.0, 0.5, 1.0, 1.5])
    dpower = adjit.grad(adjit.jit(power, static_argnums=1))
    assert dpower(2.0, 5) == pytest.approx(5 * 2.0 ** 4, rel=1e-15)
    assert dpower(2.0, 0) == 0.0
    primal, tangent = adjit.jvp(adjit.jit(power, static_argnums=1), (2.0, 3), (1.0, 0.0))
    assert (primal, tangent) == (8.0, pytest.approx(12.0, rel=1e-15))
    value, back = adjit.vjp(adjit.jit(power, static_argnums=1), 2.0, 3)
    assert value == 8.0 and back(1.0)[0] == pytest.approx(12.0, rel=1e-15)
    dscaled = adjit.grad(adjit.jit(scaled, static_argnums=(1, 2)))
    assert dscaled(2.0, 3.0, True) == 3.0
    assert dscaled(2.0, 3.0, False) == 1.0


def test_numpy_scalars_and_float_values():
    f = adjit.jit(scaled, static_argnums=(1, 2))
    assert f(1.0, np.float64(math.pi), np.bool_(True)) == math.pi
    assert "const 0.25 : f64" in f.inspect_ir(1.0, 0.25, True)


@pytest.mark.parametrize("value, message", [
    ([3], "must be hashable .* not a list"),
    (np.arange(3.0), "must be hashable .* not a ndarray"),
    ("three", "int, float or bool, not a str"),
    ((1, 2), "int, float or bool, not a tuple"),
])
def test_bad_static_values_are_clear_errors(value, message):
    f = adjit.jit(power, static_argnums=1)
    with pytest.raises(TypeError, match=message):
        f(2.0, value)


def test_bad_static_argnums():
    with pytest.raises(TypeError, match="non-negative ints"):
        adjit.jit(power, static_argnums=(-1,))
    with pytest.raises(TypeError, match="non-negative ints"):
        adjit.jit(power, static_argnums=("n",))
    f = adjit.jit(power, static_argnums=5)
    with pytest.raises(TypeError, match="name an argument 5, but there are 2"):
        f(2.0, 3)
