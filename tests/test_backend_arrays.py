"""Arrays in compiled code: layouts, allocation, in-place writes, ownership.

Every array layout numpy has (C, Fortran, strided, reversed, transposed)
reads and writes correctly; element writes happen in place when the old
value is dead (a loop of n writes makes no copy) and copy when it is still
used (value semantics); returned arrays own their memory, which is freed
exactly once; nothing leaks, also when a call raises.
"""
from __future__ import annotations

import copy
import gc
import threading
import time

import numpy as np
import pytest

from adjit.backend.llvm import compile_module
from adjit.ir.interp import interpret
from test_backend import module_of, native, same


def total(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * (i + 1)
    return s


def total2(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s += A[i, j] * (i + 2 * j + 1)
    return s


def ends(x, A):
    return x[-1] - x[-len(x)] + A[-1, -1] * A[-A.shape[0], 0]


def table(n, m):
    A = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            A[i, j] = i * 10.0 + j
    return A


def ones_and_empty(n):
    a = np.ones(n)
    b = np.empty(n)
    for i in range(n):
        b[i] = a[i] + i
    return a, b


def doubled(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = 2.0 * x[i]
    return y


def scale(x, s):
    for i in range(len(x)):
        x[i] = x[i] * s
    return x


def scale_rows(A, d):
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            A[i, j] *= d[i]
    return A.shape[0] * 1.0


def matmul(A, B):
    C = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0.0
            for k in range(A.shape[1]):
                s += A[i, k] * B[k, j]
            C[i, j] = s
    return C


def same_twice(n):
    y = np.zeros(n)
    return y, y


def identity(x):
    return x


def counted(x, n):
    s = 0.0
    for i in range(n * 1000):
        s = s * 0.5 + x * i
    return s


def raises_late(n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = i * 1.0
    return y[n]


RNG = np.random.default_rng(1)
VEC = RNG.normal(size=9)
MAT = RNG.normal(size=(4, 6))


def layouts_1d():
    return {"c": VEC.copy(), "strided": VEC.copy()[::2], "reversed": VEC.copy()[::-1],
            "column": np.asfortranarray(MAT)[:, 2], "empty": np.zeros(0)}


def layouts_2d():
    return {"c": MAT.copy(), "fortran": np.asfortranarray(MAT), "transposed": MAT.copy().T,
            "strided": MAT.copy()[::2, ::-1], "row": MAT.copy()[1:2, :]}


@pytest.mark.parametrize("layout", list(layouts_1d()))
def test_reads_and_writes_of_1d_layouts(layout):
    x = layouts_1d()[layout]
    assert native(total, VEC)(x) == total(x)
    assert same(native(doubled, VEC)(x), doubled(x))
    mine, theirs = layouts_1d()[layout], layouts_1d()[layout]
    result = native(scale, VEC, 2.0)(mine, -1.5)
    assert same(result, scale(theirs, -1.5)) and same(mine, theirs)


@pytest.mark.parametrize("layout", list(layouts_2d()))
def test_reads_and_writes_of_2d_layouts(layout):
    A = layouts_2d()[layout]
    assert native(total2, MAT)(A) == total2(A)
    B = layouts_2d()[layout]
    d = np.arange(1.0, B.shape[0] + 1)
    want = B.copy()
    scale_rows(want, d)
    native(scale_rows, MAT, VEC)(B, d)
    assert same(B, want)
    assert same(native(matmul, MAT, MAT)(A, A.T.copy()), matmul(A, A.T.copy()))


def test_negative_indices():
    assert native(ends, VEC, MAT)(VEC, MAT) == ends(VEC, MAT)


def test_allocation_fills_and_layout():
    A = native(table, 2, 3)(3, 4)
    assert same(A, table(3, 4)) and A.flags.c_contiguous
    a, b = native(ones_and_empty, 2)(5)
    assert same(a, np.ones(5)) and same(b, np.arange(1.0, 6.0))
    assert native(table, 2, 3)(0, 3).shape == (0, 3)


def test_returned_arrays_own_their_memory():
    y = native(doubled, VEC)(VEC)
    assert not y.flags.owndata and y.base is not None and y.flags.writeable
    y[0] = 7.0  # writable, and ours
    a, b = native(same_twice, 3)(4)
    assert a is b  # as CPython returns one object twice


def test_an_argument_returned_comes_back_as_itself():
    x = VEC.copy()
    assert native(identity, VEC)(x) is x
    assert native(scale, VEC, 2.0)(x, 1.0) is x


# --- in-place writes ------------------------------------------------------------

def test_a_loop_of_element_writes_makes_no_copy():
    f = native(doubled, VEC)
    y, stats = f.call_with_stats(np.ones(100_000))
    assert (stats.allocs, stats.copies, stats.leaked) == (1, 0, 0)
    # `y` is known to be unique: the loop has no copy path and no reference check.
    assert "copy" not in f.optimized_ir and "memcpy" not in f.optimized_ir
    start = time.perf_counter()
    f(np.ones(2_000_000))  # quadratic copying would take hours
    assert time.perf_counter() - start < 5.0


def test_writes_to_an_argument_happen_in_place_and_reach_the_caller():
    x = np.arange(5.0)
    result, stats = native(scale, VEC, 2.0).call_with_stats(x, 3.0)
    assert result is x and same(x, np.arange(5.0) * 3.0)
    assert (stats.allocs, stats.copies) == (0, 0)


def test_aliased_arguments_are_never_written_in_place():
    A = MAT.copy()
    want = MAT @ MAT.T
    assert np.allclose(native(matmul, MAT, MAT)(A, A.T), want)
    x = np.arange(6.0)
    _, stats = native(scale_rows, MAT, VEC).call_with_stats(x.reshape(2, 3), x[:2])
    assert stats.copies == 1  # A overlaps d: copy once, then write back
    mine, theirs = np.arange(1.0, 7.0), np.arange(1.0, 7.0)
    native(scale_rows, MAT, VEC)(mine.reshape(2, 3), mine[:2])
    interpret(module_of(scale_rows, MAT, VEC), [theirs.reshape(2, 3), theirs[:2]])
    assert same(mine, theirs)  # d keeps its value during the loop, as in the interpreter


def test_read_only_arguments_raise_like_cpython():
    x = np.arange(3.0)
    x.flags.writeable = False
    with pytest.raises(ValueError):
        native(scale, VEC, 2.0)(x, 2.0)
    assert same(x, np.arange(3.0))


# --- memory ------------------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2 ** 20


def rss_growth(run, calls: int) -> float:
    for _ in range(200):
        run()
    gc.collect()
    before = rss_mb()
    for _ in range(calls):
        run()
    gc.collect()
    return rss_mb() - before


def test_returned_arrays_are_freed():
    f = native(table, 2, 3)
    # 20000 leaked blocks of 8 kB would be 160 MB.
    assert rss_growth(lambda: f(32, 32), 20_000) < 20.0


def test_nothing_leaks_when_a_call_raises():
    f = native(raises_late, 3)

    def run():
        with pytest.raises(IndexError):
            f(1000)

    assert rss_growth(run, 20_000) < 20.0


def test_no_block_is_left_behind():
    for f, args in [(table, (5, 5)), (ones_and_empty, (6,)), (same_twice, (3,)),
                    (doubled, (VEC,)), (scale, (VEC.copy(), 2.0))]:
        _, stats = native(f, *args).call_with_stats(*copy.deepcopy(args))
        assert stats.leaked == 0 and stats.frees + stats.leaked <= stats.allocs + stats.copies


# --- threads -------------------------------------------------------------------------

def test_one_function_called_from_eight_threads():
    f = native(matmul, MAT, MAT)
    g = native(total, VEC)
    h = native(counted, 1.0, 3)
    inputs = [RNG.normal(size=(5, 5)) for _ in range(8)]
    errors = []

    def work(A):
        try:
            for _ in range(300):
                assert np.array_equal(f(A, A), matmul(A, A))
                assert g(A[0]) == total(A[0])
                assert h(A[0, 0], 3) == counted(A[0, 0], 3)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(A,)) for A in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_compiling_from_several_threads():
    from test_backend_ir import constant_function

    results = [None] * 6

    def work(k):
        results[k] = compile_module(constant_function(float(k)))()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [float(k) for k in range(6)]


def test_unaligned_arrays_are_passed_as_copies():
    raw = np.zeros(8 * 5 + 1, dtype=np.uint8)
    x = np.frombuffer(raw.data, dtype=np.float64, count=5, offset=1)  # misaligned
    assert native(total, VEC)(x) == total(x)
    record = np.zeros(4, dtype=[("a", "f8"), ("b", "i4")])["a"]  # stride 12
    record[:] = [1.0, 2.0, 3.0, 4.0]
    native(scale, VEC, 2.0)(record, 2.0)
    assert list(record) == [2.0, 4.0, 6.0, 8.0]  # writes still reach the caller


def test_arguments_other_than_float64_ndarrays_are_converted():
    f = native(total, VEC)
    assert type(type(f).__call__).__name__ == "builtin_function_or_method"
    want = total(np.array([1.0, 2.0, 3.0]))
    for x in ([1.0, 2.0, 3.0], np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0], dtype=">f8"),
              np.array([1.0, 2.0, 3.0], dtype=np.float32)):
        assert f(x) == want
    with pytest.raises(TypeError):
        f(np.ones((2, 2)))


# --- C-contiguous specializations (Options.contiguous) ----------------------------------

def odd_strides():
    """C-contiguous by numpy's rules, with strides of size-1 axes that are not."""
    base = MAT.copy()
    return {"row, odd stride": np.lib.stride_tricks.as_strided(base, (1, 6), (8 * 1000, 8)),
            "column, odd stride": np.lib.stride_tricks.as_strided(base, (4, 1), (48, 8 * 77))}


@pytest.mark.parametrize("first", ["c", "fortran"])
def test_jit_specializes_on_layout_and_any_layout_after_gets_right_results(first):
    import adjit

    reads, writes = adjit.jit(total2), adjit.jit(scale_rows)
    order = [first] + [k for k in layouts_2d() if k != first]
    for layout in order + list(odd_strides()):
        A = {**layouts_2d(), **odd_strides()}[layout]
        assert reads(A) == total2(A), layout
        mine, theirs = np.array(A, order="K"), np.array(A, order="K")
        if layout in odd_strides():
            mine = A  # the odd strides themselves
        d = np.arange(1.0, A.shape[0] + 1)
        scale_rows(theirs, d)
        writes(mine, d)
        assert same(mine, theirs), layout


def test_code_for_contiguous_arrays_has_constant_strides():
    module = module_of(total2, MAT)
    generic = compile_module(module)
    contiguous = compile_module(module, contiguous=[0])
    assert contiguous.options.contiguous == (0,)
    assert contiguous.optimized_ir != generic.optimized_ir
    for layout, A in {**layouts_2d(), **odd_strides()}.items():
        assert contiguous(A) == generic(A) == total2(A), layout


def test_a_contiguous_parameter_written_through_a_copy_reaches_the_caller():
    compiled = compile_module(module_of(scale_rows, MAT, VEC), contiguous=[0])
    B, want = np.asfortranarray(MAT), MAT.copy()
    d = np.arange(1.0, 5.0)
    scale_rows(want, d)
    compiled(B, d)
    assert same(B, want) and B.flags.f_contiguous
