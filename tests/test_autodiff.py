"""Forward and reverse mode against closed forms, finite differences and each other."""
from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from tests.autodiff_check import check_directional, is_float
from tests.corpus_cases import CASES, cpython_function
from tests.loop_functions import (before_inside_after, break_continue, if_in_while,
                                  logistic_for, logistic_while, nested, newton_sqrt)

INTERP = True  # the interpreter is the reference; test_backend_autodiff runs native


def run(f):
    return adjit.interpret(f) if INTERP else f


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def swell(x):
    v = x
    for i in range(3):
        v = v * (v + 4.0)
    return v


DL = {
    1: lambda x: 1.0,
    2: lambda x: 4 - 8 * x,
    3: lambda x: 16 * (1 - 10 * x + 24 * x ** 2 - 16 * x ** 3),
    4: lambda x: 64 * (1 - 42 * x + 504 * x ** 2 - 2640 * x ** 3 + 7040 * x ** 4
                       - 9984 * x ** 5 + 7168 * x ** 6 - 2048 * x ** 7),
}


def test_textbook_gradient_both_modes():
    g = run(adjit.grad(textbook, argnums=(0, 1)))(2.0, 5.0)
    assert g[0] == pytest.approx(5.5, abs=1e-12)
    assert g[1] == pytest.approx(2 - math.cos(5), abs=1e-12)
    assert g[1] == pytest.approx(1.7163378145367738, abs=1e-12)
    jac = run(adjit.jacfwd(textbook, argnums=(0, 1)))(2.0, 5.0)
    assert jac == pytest.approx((5.5, 1.7163378145367738), abs=1e-12)
    value, tangent = adjit.jvp(run(textbook), (2.0, 5.0), (1.0, 0.0))
    assert value == pytest.approx(11.652071455223084, abs=1e-12)
    assert tangent == pytest.approx(5.5, abs=1e-12)
    value, grads = run(adjit.value_and_grad(textbook, argnums=(0, 1)))(2.0, 5.0)
    assert value == pytest.approx(11.652, abs=1e-3) and grads[0] == pytest.approx(5.5)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("f", [logistic_for, logistic_while])
@pytest.mark.parametrize("x", [0.1, 0.25, 0.6, 0.9])
def test_logistic_closed_forms(f, n, x):
    # The expanded polynomials cancel badly in floating point: compare to 1e-9.
    want = DL[n](x)
    assert run(adjit.grad(f))(x, n) == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert adjit.jvp(run(f), (x, n), (1.0, 0))[1] == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("x", [0.5, -1.0, 1.3])
def test_swell_map(x):
    want = 8 * (x ** 7 + 14 * x ** 6 + 78 * x ** 5 + 220 * x ** 4 + 330 * x ** 3 + 252 * x ** 2
                + 84 * x + 8)
    assert run(adjit.grad(swell))(x) == pytest.approx(want, rel=1e-12)


DIFFERENTIABLE = [c for c in CASES if c.differentiable and c.float_argnums]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in DIFFERENTIABLE])
def test_corpus_forward_reverse_finite_differences(case):
    f = (str(case.path), case.func)
    for k, args in enumerate(case.args_list):
        check_directional(f, list(args), seed=k, interp=INTERP)


# --- loops that break AD systems -------------------------------------------

def accumulate_until(x, c):
    # The trip count depends on both inputs (constant near the test points).
    s = 0.0
    k = 0
    while s < c:
        s = s + x * x + 0.1 * k
        k += 1
    return s * x


def carried_product(x, n):
    acc = 1.0
    for i in range(n):
        acc = acc * x
    return acc


def early_return(x, n):
    for i in range(n):
        if x * i > 3.0:
            return x * i * i
    return -x


def array_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[(i + 1) % len(x)]
    return s


@pytest.mark.parametrize("f,args,want", [
    (newton_sqrt, (2.0,), lambda a: 0.5 / math.sqrt(a)),
    (carried_product, (1.3, 5), lambda x: 5 * x ** 4),
    (carried_product, (1.3, 0), lambda x: 0.0),
    (before_inside_after, (0.3, 4), lambda x: 2 * 6 * math.exp(2 * x)),
    (before_inside_after, (0.3, 0), lambda x: 0.0),
])
def test_loop_derivatives_closed_form(f, args, want):
    assert run(adjit.grad(f))(*args) == pytest.approx(want(args[0]), rel=1e-9, abs=1e-12)
    assert adjit.jvp(run(f), args, (1.0,) + (0,) * (len(args) - 1))[1] == \
        pytest.approx(want(args[0]), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("f,args", [
    (accumulate_until, (0.7, 5.3)), (accumulate_until, (0.7, -1.0)), (if_in_while, (0.7,)), (break_continue, (1.5, 6)),
    (break_continue, (3.0, 6)), (break_continue, (1.1, 0)), (nested, (0.4, 4)),
    (nested, (0.4, 0)), (early_return, (0.9, 6)), (early_return, (0.1, 6)),
    (array_loop, (np.array([0.3, -1.2, 2.0, 0.5]),)),
])
def test_loop_derivatives_agree(f, args):
    check_directional(f, list(args), interp=INTERP)


# --- second order ------------------------------------------------------------

def branchy(x, y):
    if x > y:
        z = x * x * y
    else:
        z = math.sin(x) * y * y
    for i in range(3):
        z = z * 0.5 + x * y
    return z


def rosenbrock(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@pytest.mark.parametrize("x,y", [(1.5, 0.5), (0.2, 0.9)])
def test_second_order_through_branches_and_loops(x, y):
    g = run(adjit.grad(branchy, argnums=(0, 1)))
    h = 1e-6
    fd_xx = (g(x + h, y)[0] - g(x - h, y)[0]) / (2 * h)
    assert run(adjit.grad(adjit.grad(branchy)))(x, y) == pytest.approx(fd_xx, rel=1e-6)
    assert adjit.jvp(run(adjit.grad(branchy)), (x, y), (1.0, 0.0))[1] == \
        pytest.approx(fd_xx, rel=1e-6)


@pytest.mark.parametrize("x", [[1.0, 2.0, 0.5], [-0.3, 0.8, 1.1, 0.2]])
def test_hessian_symmetric_and_matches_gradient_differences(x):
    x = np.array(x)
    H = run(adjit.hessian(rosenbrock))(x)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-9)
    g = run(adjit.grad(rosenbrock))
    h = 1e-6
    fd = np.array([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(len(x))])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(run(adjit.jacrev(adjit.grad(rosenbrock)))(x), H, rtol=1e-12)


def test_jacobians_of_vector_function():
    def f(x):
        y = np.zeros(2)
        y[0] = x[0] * x[1]
        y[1] = math.sin(x[2]) + x[0]
        return y

    x = np.array([1.0, 2.0, 3.0])
    want = np.array([[2.0, 1.0, 0.0], [1.0, 0.0, math.cos(3.0)]])
    np.testing.assert_allclose(run(adjit.jacfwd(f))(x), want, rtol=1e-15)
    np.testing.assert_allclose(run(adjit.jacrev(f))(x), want, rtol=1e-15)
    np.testing.assert_allclose(adjit.jacobian(run(f))(x), want, rtol=1e-15)


def test_gradient_with_respect_to_an_int_is_a_clear_error():
    with pytest.raises(TypeError, match="only float and float64-array arguments"):
        run(adjit.grad(logistic_for, argnums=1))(0.3, 3)


def test_grad_of_non_scalar_is_a_clear_error():
    def f(x):
        return x, x

    with pytest.raises(TypeError, match="has_aux=True"):
        run(adjit.grad(f))(1.0)
    assert run(adjit.grad(f, has_aux=True))(2.0) == (1.0, 2.0)


def test_vjp_runs_the_adjoint_graph_on_saved_residuals():
    from adjit.ir.types import TapeType
    from adjit.passes.autodiff.split import split_vjp
    from adjit.passes.inline import inline_calls

    module = adjit.make_ir(logistic_while)(0.3, 4)
    inline_calls(module)
    parts = split_vjp(module.entry_function, [0])
    residual_types = parts.forward.result_types[1:1 + parts.residual_count]
    assert any(isinstance(t, TapeType) for t in residual_types)  # the loop's tape
    assert [p.type for p in parts.adjoint.params][:parts.residual_count] == residual_types
    out, vjp_fn = adjit.vjp(run(logistic_while), 0.3, 4)
    assert out == pytest.approx(logistic_while(0.3, 4))
    first = vjp_fn(1.0)
    assert first[0] == pytest.approx(DL[4](0.3), rel=1e-9) and first[1] is None
    assert vjp_fn(2.0)[0] == pytest.approx(2 * first[0], rel=1e-15)  # callable again


def test_check_grad_reports_small_errors():
    report = adjit.check_grad(run(textbook), 2.0, 5.0)
    assert report["reverse_vs_fd"] < 1e-8 and report["forward_vs_fd"] < 1e-8
    assert report["forward_vs_reverse"] < 1e-15
    report = adjit.check_grad(run(rosenbrock), np.array([0.5, -0.2, 1.3]))
    assert report["reverse_vs_fd"] < 1e-6 and report["forward_vs_reverse"] < 1e-12
    assert report["reverse"][0].shape == (3,)


def test_jacobian_chooses_its_mode_per_argument_shape():
    def f(x):
        y = np.zeros(3)
        for i in range(3):
            y[i] = x[0] * (i + 1.0) + x[len(x) - 1]
        return y

    jac = adjit.jacobian(f)
    for _ in range(2):  # size 1 -> 3: forward mode, the second call reuses the choice
        np.testing.assert_array_equal(jac(np.array([2.0])), [[2.0], [3.0], [4.0]])
    want = np.zeros((3, 4))  # size 4 -> 3: reverse mode
    want[:, 0], want[:, 3] = [1.0, 2.0, 3.0], 1.0
    np.testing.assert_array_equal(jac(np.arange(4.0)), want)


def squares_of_rows(A):
    out = np.zeros(A.shape[0])
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            out[i] += A[i, j] ** 2
    return out


def test_jacobian_by_a_2d_array_is_refused_at_the_function():
    with pytest.raises(adjit.errors.UnsupportedError) as info:
        adjit.jacrev(squares_of_rows)(np.ones((2, 3)))
    assert info.value.line == squares_of_rows.__code__.co_firstlineno
    assert "flatten to 1-D" in str(info.value) and "def squares_of_rows(A):" in str(info.value)
