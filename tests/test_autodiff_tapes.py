"""What reverse mode saves on loop tapes, and that the gradients stay right.

A loop that writes elements of an array it carries saves, per write, only
the overwritten value (and the index, unless it is the loop's own index):
the adjoint restores the array of each iteration by undoing the writes.
Carried values the adjoint never reads are not saved at all. The tape
record sizes are read from the optimized IR (8 bytes per f64 or i64 field);
the native allocation counts show that no iteration copies the array.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit.ir import ops
from adjit.ir.types import ArrayType, TapeType
from tests.autodiff_check import check_directional


def prefix(a, x):
    for i in range(1, len(x)):
        x[i] = x[i - 1] * a + math.sin(x[i])
    return x[len(x) - 1]


def shifted_writes(a, x):
    k = 0
    while k < 2 * len(x):
        j = (3 * k + 1) % len(x)
        x[j] = x[j] * a + x[-1 - j] * 0.5
        x[-1] = x[-1] - 0.1 * x[j]
        k += 1
        if x[0] > 50.0:
            break
    return x[0] + x[1] * x[2]


def matrix_rows(a, A):
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            A[i, j] = A[i, j] * a + A[i - 1, j] * A[i, j - 1]
    return A[A.shape[0] - 1, A.shape[1] - 1]


def written_in_branch(a, x):
    for i in range(len(x)):
        if x[i] > 0.0:
            x[i] = x[i] * a
        else:
            x[(i + 1) % len(x)] = x[i] - a
    return x[0] * x[len(x) - 1]


def elif_chain(a, x):
    for i in range(1, len(x)):
        if x[i] > 0.5:
            x[i] = x[i] * a
            x[0] = x[0] + 0.1 * a
        elif x[i] > 0.0:
            if x[i] > 0.25:
                x[i] = math.sin(x[i] * a)
        else:
            x[(i + 1) % len(x)] = x[i] * x[(i + 1) % len(x)] - a
    return x[0] * x[len(x) - 1] + x[len(x) // 2]


def while_with_jumps(a, x):
    k = 0
    while k < 3 * len(x):
        j = k % len(x)
        k += 1
        if x[j] < -2.0:
            continue
        if x[j] > 0.0:
            x[j] = x[j] * a - 0.3
        else:
            x[j] = x[j] * x[j] - a
        if x[0] > 40.0:
            break
    return x[0] + x[1] * x[len(x) - 1]


def fill_lower(a, A):
    """A matrix filled by two nested loops, written in a branch of the inner one."""
    for i in range(1, A.shape[0]):
        for j in range(A.shape[1]):
            if j < i:
                A[i, j] = A[i - 1, j] * a + math.sin(A[i, j])
            elif j > i + 1:
                continue
            else:
                A[i, j - 1] = A[i, j - 1] - a * A[i - 1, j]
    s = a
    for j in range(A.shape[1]):
        s += A[A.shape[0] - 1, j] * A[0, j]
    return s


def sum_of_squares(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * x * i
    return s


def record_sizes(staged, *args) -> list[int]:
    """Bytes per record of every tape in the compiled graph (arrays: -1)."""
    module = staged.modules[staged.signature(list(args))]
    sizes = []
    for node in module.entry_function.walk():
        if node.op is ops.tape_new:
            fields = node.results[0].type.elements
            sizes.append(-1 if any(isinstance(t, (ArrayType, TapeType)) for t in fields)
                         else 8 * len(fields))
    return sizes


def gradient(f, *args):
    g = adjit.grad(f, argnums=tuple(range(len(args))))
    return g, g(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])


def test_element_writes_save_only_the_overwritten_values():
    x = np.linspace(0.1, 0.9, 50)
    g, (da, dx) = gradient(prefix, 0.7, x)
    h = 1e-6
    assert da == pytest.approx((prefix(0.7 + h, x.copy()) - prefix(0.7 - h, x.copy())) / (2 * h),
                               rel=1e-7)
    # one tape, 8 bytes per iteration: the overwritten x[i] (i is the loop index)
    assert record_sizes(g, 0.7, x) == [8]
    runner = g.specialization([0.7, x])
    small = runner.call_with_stats(0.7, x[:5].copy())[1]
    large = runner.call_with_stats(0.7, np.linspace(0.1, 0.9, 5000))[1]
    assert (large.allocs, large.copies) == (small.allocs, small.copies)  # none per iteration
    assert large.leaked == 0


def test_a_while_loop_saves_each_write_with_its_index():
    x = np.array([0.3, -0.8, 1.2, 0.5, 0.9])
    g, _ = gradient(shifted_writes, 0.9, x)
    # per iteration: the counter k, x[j]'s index and old value, x[-1]'s old value
    assert record_sizes(g, 0.9, x) == [32]
    check_directional(shifted_writes, [0.9, x])
    check_directional(shifted_writes, [1.6, x])  # breaks early


def test_undoing_writes_keeps_vjp_repeatable():
    x = np.linspace(0.1, 0.9, 20)
    out, vjp_fn = adjit.vjp(prefix, 0.7, x.copy())
    first, second = vjp_fn(1.0), vjp_fn(2.0)
    assert second[0] == pytest.approx(2 * first[0], rel=1e-14)
    np.testing.assert_allclose(second[1], 2 * first[1], rtol=1e-14)


@pytest.mark.parametrize("f,args", [
    (matrix_rows, (0.8, np.arange(1.0, 13.0).reshape(3, 4) / 10)),
    (prefix, (0.7, np.array([0.4]))),  # zero iterations
])
def test_writes_in_nested_loops_and_branches(f, args):
    check_directional(f, list(args))
    check_directional(f, list(args), interp=True)


BRANCH_CASES = [
    (written_in_branch, (1.3, np.array([0.5, -0.2, 0.7, -1.1]))),
    (elif_chain, (0.9, np.array([0.7, 0.3, 0.1, -0.4, 0.6]))),
    (elif_chain, (0.9, np.array([0.2]))),  # zero iterations
    (while_with_jumps, (1.1, np.array([0.4, -0.6, -3.0, 0.8]))),
    (while_with_jumps, (2.5, np.array([0.4, -0.6, -3.0, 0.8]))),  # breaks
]


@pytest.mark.parametrize("f,args", BRANCH_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_writes_in_branches_of_loops(f, args):
    check_directional(f, list(args))
    check_directional(f, list(args), interp=True)


@pytest.mark.parametrize("f,args,sizes", [
    # the condition, x[i]'s old value, x[(i+1) % n]'s index and old value
    (written_in_branch, (1.3, np.array([0.5, -0.2, 0.7, -1.1])), [32]),
    # three conditions (if, elif, the inner if), the old values of the four
    # writes, the index of x[(i+1) % n] (x[0]'s is a constant)
    (elif_chain, (0.9, np.array([0.7, 0.3, 0.1, -0.4, 0.6])), [64]),
    # the counter k, three branch conditions (`continue` wraps the rest of the
    # body in a branch), each write's index and old value
    (while_with_jumps, (1.1, np.array([0.4, -0.6, -3.0, 0.8])), [64]),
])
def test_writes_in_branches_save_only_the_overwritten_values(f, args, sizes):
    """Per iteration: the branch taken and the writes' fields (placeholders for
    the branch not taken), never the array."""
    g, _ = gradient(f, *args)
    assert record_sizes(g, *args) == sizes
    x = args[1]
    big = np.resize(x, 2000)
    runner = g.specialization(list(args))
    small = runner.call_with_stats(args[0], x.copy())[1]
    large = runner.call_with_stats(args[0], big)[1]
    assert (large.allocs, large.copies) == (small.allocs, small.copies)  # none per iteration


@pytest.mark.parametrize("f,args", BRANCH_CASES[:2] + BRANCH_CASES[3:],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_grad_of_grad_through_writes_in_branches(f, args):
    a, x = args
    gg = adjit.grad(adjit.grad(f))(a, x.copy())
    h = 1e-5
    g = adjit.grad(f)
    fd = (g(a + h, x.copy()) - g(a - h, x.copy())) / (2 * h)
    assert gg == pytest.approx(fd, rel=1e-6, abs=1e-6)
    assert adjit.interpret(adjit.grad(adjit.grad(f)))(a, x.copy()) == \
        pytest.approx(gg, rel=1e-12, abs=1e-12)
    assert adjit.hessian(f)(a, x.copy()) == pytest.approx(gg, rel=1e-10, abs=1e-10)


def test_values_the_adjoint_does_not_read_are_not_saved():
    g = adjit.grad(sum_of_squares)
    assert g(0.5, 4) == pytest.approx(2 * 0.5 * 6)
    assert record_sizes(g, 0.5, 4) == []  # `s` is carried, but d(s + t)/ds needs no s


NESTED_CASES = [
    (matrix_rows, (0.8, np.arange(1.0, 13.0).reshape(3, 4) / 10)),
    (fill_lower, (0.7, np.arange(1.0, 21.0).reshape(4, 5) / 10)),
    (fill_lower, (0.7, np.arange(1.0, 6.0).reshape(1, 5) / 10)),  # the outer loop: no trips
    (fill_lower, (0.7, np.zeros((3, 0)))),  # the inner loop: no trips
]


@pytest.mark.parametrize("f,args", NESTED_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_writes_in_nested_loops(f, args):
    check_directional(f, list(args))
    check_directional(f, list(args), interp=True)
    a, A = args
    gg = adjit.grad(adjit.grad(f))(a, A.copy())
    h = 1e-5
    g = adjit.grad(f)
    assert gg == pytest.approx((g(a + h, A.copy()) - g(a - h, A.copy())) / (2 * h),
                               rel=1e-6, abs=1e-6)
    assert adjit.hessian(f)(a, A.copy()) == pytest.approx(gg, rel=1e-10, abs=1e-10)


def test_nested_loops_save_the_inner_writes_by_element():
    """The inner loop's writes are saved by element; the outer loop, whose
    body changes the matrix through the inner loop, still saves it whole."""
    A = np.arange(1.0, 13.0).reshape(3, 4) / 10
    g, _ = gradient(matrix_rows, 0.8, A)
    assert sorted(record_sizes(g, 0.8, A)) == [-1, 8]
    # writes in the inner loop's branches: two conditions, A[i, j]'s row and
    # old value, A[i, j - 1]'s indices and old value (j is the loop's index)
    A = np.arange(1.0, 21.0).reshape(4, 5) / 10
    g, _ = gradient(fill_lower, 0.7, A)
    assert sorted(record_sizes(g, 0.7, A)) == [-1, 56]
