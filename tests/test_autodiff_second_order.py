"""Second order through loops: reverse over reverse, against forward over
reverse and finite differences of the gradient.

`grad(grad(f))` and `jacrev(jacrev(f))` differentiate a reverse-mode graph
whose loops push and pop tapes: the tape ops' own VJP rules (the adjoint of
a pop pushes the record's cotangent, the adjoint of a push pops it) make
that a reverse-mode graph again. `hessian` is forward over reverse
(`jacfwd(jacrev(f))`), an independent path to the same numbers. Native code
and the interpreter are both checked.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit.ir import ops
from adjit.ir.core import Module
from adjit.ir.interp import interpret
from adjit.ir.textparse import parse_function_text
from adjit.passes.autodiff.vjp import vjp_function
from tests.loop_functions import (before_inside_after, break_continue, if_in_while,
                                  logistic_for, nested, newton_sqrt)

H = 1e-5


def divide(a, x):
    for k in range(2):
        x[0] /= a
    return x[0]


def written_in_while(a, x):
    k = 0
    while k < 5:
        x[k % len(x)] = x[k % len(x)] * a + math.sin(x[(k + 1) % len(x)] * a)
        k += 1
        if x[0] > 100.0:
            break
    return x[0] * x[1]


SCALAR_CASES = [
    (logistic_for, (0.3, 4)), (logistic_for, (0.3, 1)), (newton_sqrt, (2.0,)),
    (break_continue, (0.7, 6)), (break_continue, (3.0, 6)), (if_in_while, (0.6,)),
    (nested, (0.4, 4)), (nested, (0.4, 0)), (before_inside_after, (0.3, 4)),
    (divide, (0.5, np.array([0.9]))), (written_in_while, (0.8, np.array([0.5, 1.5, -0.3]))),
]


def fresh(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def gradient_difference(g, x, rest):
    return (g(x + H, *fresh(rest)) - g(x - H, *fresh(rest))) / (2 * H)


@pytest.mark.parametrize("f,args", SCALAR_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_grad_of_grad_through_loops(f, args):
    x, rest = args[0], list(args[1:])
    gg = adjit.grad(adjit.grad(f))(x, *fresh(rest))
    fd = gradient_difference(adjit.grad(f), x, rest)
    assert gg == pytest.approx(fd, rel=1e-6, abs=1e-6)
    assert adjit.interpret(adjit.grad(adjit.grad(f)))(x, *fresh(rest)) == \
        pytest.approx(gg, rel=1e-12, abs=1e-12)
    assert adjit.hessian(f)(x, *fresh(rest)) == pytest.approx(gg, rel=1e-10, abs=1e-10)
    _, vjp_fn = adjit.vjp(adjit.grad(f), x, *fresh(rest))
    assert vjp_fn(1.0)[0] == pytest.approx(gg, rel=1e-10, abs=1e-10)


STACK = """\
func @f(%x: f64) -> f64 {
  %n = const 2 : i64
  %two = const 2.0 : f64
  %t0 = tape_new %n : tape<f64>
  %sq = mul %x, %x : f64
  %t1 = tape_push %t0, %x : tape<f64>
  %t2 = tape_push %t1, %sq : tape<f64>
  %t3, %a = tape_pop %t2 : tape<f64>, f64
  %t4, %b = tape_pop %t3 : tape<f64>, f64
  %twob = mul %two, %b : f64
  %r = sub %a, %twob : f64
  return %r
}
"""


@pytest.mark.parametrize("x", [0.5, -1.5])
def test_tape_vjp_rules_give_each_record_its_own_cotangent(x):
    """x and x*x go through a tape: r = x*x - 2x, dr/dx = 2x - 2 (popping in
    the wrong order would give x - 2x*x and 1 - 4x)."""
    fused = vjp_function(parse_function_text(STACK), [0])
    value, grad = interpret(Module({fused.name: fused}, fused.name), [x, 1.0])
    assert (value, grad) == (x * x - 2 * x, 2 * x - 2)


def test_third_order_through_a_loop():
    x, n = 0.3, 4
    ggg = adjit.grad(adjit.grad(adjit.grad(logistic_for)))(x, n)
    fd = gradient_difference(adjit.grad(adjit.grad(logistic_for)), x, [n])
    assert ggg == pytest.approx(fd, rel=1e-6)
    # reverse over forward over reverse: tangent tapes differentiated in reverse
    assert adjit.grad(adjit.hessian(logistic_for))(x, n) == pytest.approx(ggg, rel=1e-12)


def test_grad_of_grad_is_reverse_over_reverse():
    """Four tapes: the first gradient's, one per loop of the second reverse
    pass (the first gradient's forward loop and its adjoint loop), and the
    tape of cotangents that the adjoint of the pops fills and the adjoint of
    the pushes empties."""
    fn = adjit.make_ir(adjit.grad(adjit.grad(logistic_for)))(0.3, 3).entry_function
    assert len([n for n in fn.walk() if n.op is ops.tape_new]) == 4


def recurrence(x):
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * math.sin(x[i]) + x[i] * x[i - 1]
    s = 0.0
    for i in range(len(y)):
        s += y[i] * y[i]
    return s


def bisect_scaled(x):
    lo, hi = 0.0, 4.0
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        if mid * mid > 2.0:
            hi = mid
        else:
            lo = mid
    s = 0.0
    for i in range(len(x)):
        s += lo * x[i] ** 3 + x[i] * x[(i + 1) % len(x)]
    return s


@pytest.mark.parametrize("f", [recurrence, bisect_scaled])
@pytest.mark.parametrize("x", [[0.3, -1.2, 2.0, 0.5], [1.1, 0.4]])
def test_jacrev_of_jacrev_through_loops(f, x):
    x = np.array(x)
    rr = adjit.jacrev(adjit.jacrev(f))(x)
    np.testing.assert_allclose(rr, rr.T, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rr, adjit.hessian(f)(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(adjit.interpret(adjit.jacrev(adjit.jacrev(f)))(x), rr,
                               rtol=1e-12, atol=1e-12)
    g = adjit.grad(f)
    fd = np.array([(g(x + H * e) - g(x - H * e)) / (2 * H) for e in np.eye(len(x))])
    np.testing.assert_allclose(rr, fd, rtol=1e-5, atol=1e-5)
    u = np.linspace(-1.0, 1.0, len(x))
    _, vjp_fn = adjit.vjp(adjit.grad(f), x)
    np.testing.assert_allclose(vjp_fn(u)[0], rr @ u, rtol=1e-10, atol=1e-10)
