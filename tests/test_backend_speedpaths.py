"""The fast paths of compiled calls (behaviour and values, not time):

- the CPython-level entry builds array results itself (pyentry.py): a
  numpy array over the block the call allocated, whose base (a capsule)
  releases the block when the array is collected; results it cannot build
  so (an argument returned, one block twice, writes to copy back) go
  through Python as before;
- indices that are never negative (range loops, reverse mode's loops
  counting down to 0) skip the count-from-the-end fixup (arrays.py).
"""
from __future__ import annotations

import gc
import resource

import numpy as np
import pytest

import adjit


def fresh(n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = i * 0.5
    return y


def mixed(n):
    a = np.zeros(n)
    m = np.ones((n, 2))
    return a, 1.5, m, n, n > 2


def quadratic_form(x, A):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        for j in range(n):
            s += x[i] * A[i, j] * x[j]
    return s


def backwards(x):
    n = x.shape[0]
    s = 0.0
    for i in range(n - 1, -1, -1):
        s = s * 0.5 + x[i]
    return s


def from_the_end(x, k):
    s = 0.0
    for i in range(k, 0):
        s += x[i]
    return s


def test_array_results_are_numpy_arrays_over_the_native_block():
    f = adjit.jit(fresh)
    y = f(5)
    assert y.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert type(y) is np.ndarray and y.dtype == np.float64
    assert not y.flags.owndata and type(y.base).__name__ == "PyCapsule"
    assert y.flags.writeable and y.flags.c_contiguous and y.flags.aligned
    y[0] = 7.0
    assert f(5)[0] == 0.0  # a new block per call
    assert f(0).shape == (0,)


def test_several_results_of_every_kind():
    a, x, m, n, big = adjit.jit(mixed)(3)
    assert a.tolist() == [0.0, 0.0, 0.0] and x == 1.5 and (n, big) == (3, True)
    assert m.shape == (3, 2) and m.strides == (16, 8) and (m == 1.0).all()
    assert type(a.base).__name__ == "PyCapsule" and a.base is not m.base


def test_blocks_are_released_when_the_arrays_are_collected():
    f = adjit.jit(fresh)
    f(10)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(3000):
        f(10_000)  # 80 kB each: 240 MB if they leaked
    gc.collect()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB
    kept = [f(4) for _ in range(100)]
    assert all(k.tolist() == [0.0, 0.5, 1.0, 1.5] for k in kept)


def test_gradients_return_arrays_directly():
    rng = np.random.default_rng(0)
    x, A = rng.uniform(-1, 1, 6), rng.uniform(-1, 1, (6, 6))
    g = adjit.grad(quadratic_form)(x, A)
    assert type(g.base).__name__ == "PyCapsule"
    np.testing.assert_allclose(g, (A + A.T) @ x, rtol=1e-13)
    gx, gA = adjit.grad(quadratic_form, argnums=(0, 1))(x, A)
    np.testing.assert_allclose(gA, np.outer(x, x), rtol=1e-13)
    np.testing.assert_allclose(gx, g, rtol=1e-13)


@pytest.mark.parametrize("transform", [adjit.jacfwd, adjit.jacrev])
def test_jacobians_of_one_argument_are_called_directly(transform):
    rng = np.random.default_rng(1)
    x, A = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, (4, 4))
    jac = transform(quadratic_form)
    first = jac(x, A)  # compiles; later calls enter native code directly
    assert type(jac).__call__ is not adjit.api.Staged.__call__
    np.testing.assert_allclose(jac(x, A), first, rtol=0)
    np.testing.assert_allclose(first, (A + A.T) @ x, rtol=1e-13)
    one = transform(quadratic_form, argnums=(0,))(x, A)  # a tuple: through Python
    assert isinstance(one, tuple) and len(one) == 1
    np.testing.assert_allclose(one[0], first, rtol=1e-13)


@pytest.mark.parametrize("n", [0, 1, 5])
def test_loops_counting_down_index_from_the_start(n):
    x = np.arange(1.0, n + 1.0)
    assert adjit.jit(backwards)(x) == backwards(x)
    want = np.array([0.5 ** k for k in range(n)])
    np.testing.assert_allclose(adjit.grad(backwards)(x), want, rtol=1e-15)


def test_negative_loop_indices_still_count_from_the_end():
    x = np.arange(1.0, 6.0)
    f = adjit.jit(from_the_end)
    assert f(x, -2) == from_the_end(x, -2) == 9.0
    with pytest.raises(IndexError):
        f(x, -6)


# --- compiling: the collector pause and the codegen options -----------------------------

def cubic(x):
    return x * x * x


def test_the_collector_runs_again_after_compiling():
    assert gc.isenabled()
    assert adjit.grad(cubic)(2.0) == 12.0
    assert gc.isenabled()


def test_a_collector_the_user_disabled_stays_disabled():
    gc.disable()
    try:
        assert adjit.jit(cubic)(2.0) == 8.0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_runs_again_after_a_failed_compile(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(x):\n    return [x]\n")
    with pytest.raises(adjit.errors.UnsupportedError):
        adjit.jit((str(path), "f"))(1.0)
    assert gc.isenabled()


def test_nested_pauses_resume_the_collector_once():
    from adjit.api import collector_paused

    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_stack_slot_sharing_is_off_only_while_generating_code(monkeypatch):
    import llvmlite.binding as llvm

    from adjit.backend.llvm.engine import get_engine

    seen = []
    original = llvm.set_option
    monkeypatch.setattr(llvm, "set_option",
                        lambda name, option: (seen.append(option), original(name, option)))
    with get_engine().codegen():
        assert seen == ["-no-stack-slot-sharing=true"]
    assert seen == ["-no-stack-slot-sharing=true", "-no-stack-slot-sharing=false"]
