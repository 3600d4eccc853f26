"""adjit.vectorize: batched results equal scalar calls bit for bit, on corpus
programs and their derivatives; broadcasting, out=, errors inside a batch,
"parallel" against "cpu", empty and non-contiguous batches, bad input."""
from __future__ import annotations

import math
import sys
from collections import defaultdict

import numpy as np
import pytest

import adjit
from adjit.api import Staged
from adjit.errors import AdjitTypeError, CudaUnavailableError, UnsupportedError
from adjit.vectorize import ShapeError
from tests.corpus_cases import CASES


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def shifted_reciprocal(x, s):
    return 1.0 / (x - s)


def power(x, n):
    return x ** n


def pick(flag, a, b):
    return a if flag else b


def polar(x, y):
    return math.sqrt(x * x + y * y), math.atan2(y, x)


def first(x):
    return x[0]


def ramp(n):
    return np.zeros(n)


def halvings(x):
    k = 0
    while x > 1.0:
        x = x / 2.0
        k += 1
    return k


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def scalar_results(out) -> list:
    return list(out) if isinstance(out, tuple) else [out]


def check_against_scalar(staged, columns: list[np.ndarray], target: str = "cpu") -> None:
    """vectorize(staged) over `columns` equals staged called point by point."""
    batched = scalar_results(adjit.vectorize(staged, target)(*columns))
    points = [staged(*(c[i].item() for c in columns)) for i in range(len(columns[0]))]
    for k, column in enumerate(batched):
        expected = [scalar_results(p)[k] for p in points]
        assert same_bits(column, np.array(expected, dtype=column.dtype)), (k, column, expected)


# --- corpus programs and their gradients ---------------------------------------------

FILES = ("textbook.py", "logistic_while.py", "nested_break_continue.py", "newton_sqrt.py",
         "short_circuit.py", "int_arith.py", "conversions.py", "math_funcs.py",
         "tuple_return.py", "integer_loops.py", "overflow.py")


def scalar_groups():
    """(case, columns) for the corpus cases of FILES whose arguments are
    scalars, one per pattern of argument types: column k holds argument k
    of every input of that pattern."""
    out = []
    for case in CASES:
        if case.file not in FILES:
            continue
        groups = defaultdict(list)
        for args in case.args_list:
            if all(isinstance(a, (bool, int, float)) for a in args):
                groups[tuple(type(a) for a in args)].append(args)
        for types, rows in groups.items():
            columns = [np.array([r[k] for r in rows], dtype=t) for k, t in enumerate(types)]
            out.append(pytest.param(case, columns, id=f"{case.id}-{len(out)}"))
    return out


GROUPS = scalar_groups()


@pytest.mark.parametrize("case,columns", GROUPS)
def test_corpus_batched_equals_scalar(case, columns):
    check_against_scalar(Staged((str(case.path), case.func)), columns)


@pytest.mark.parametrize("case,columns", [g for g in GROUPS if g.values[0].differentiable])
def test_corpus_gradient_batched_equals_scalar(case, columns):
    f = Staged((str(case.path), case.func))
    argnums = tuple(k for k, c in enumerate(columns) if c.dtype == np.float64)
    value = f(*(c[0].item() for c in columns))
    if not argnums or not isinstance(value, float):
        pytest.skip("no float argument or not a float result")
    check_against_scalar(adjit.grad(f, argnums=argnums), columns)


def test_corpus_selection_is_not_empty():
    assert len(GROUPS) >= 20
    assert sum(g.values[0].differentiable for g in GROUPS) >= 10


# --- transformations ---------------------------------------------------------------

X1 = np.linspace(0.25, 4.0, 9)
X2 = np.linspace(-3.0, 3.0, 9)


@pytest.mark.parametrize("make", [
    lambda: adjit.jit(textbook),
    lambda: adjit.grad(textbook),
    lambda: adjit.grad(textbook, argnums=1),
    lambda: adjit.grad(textbook, argnums=(0, 1)),
    lambda: adjit.value_and_grad(textbook, argnums=(0, 1)),
    lambda: adjit.jacfwd(textbook, argnums=(0, 1)),
    lambda: adjit.hessian(textbook),
    lambda: adjit.grad(adjit.grad(textbook)),
], ids=["jit", "grad", "grad1", "grad01", "value_and_grad", "jacfwd", "hessian", "grad2"])
def test_transformed_functions(make):
    f = make()
    batched = adjit.vectorize(f)(X1, X2)
    points = [f(a, b) for a, b in zip(X1.tolist(), X2.tolist())]

    def walk(got, *want):  # the batched result has the structure of one point's result
        if isinstance(got, tuple):
            assert all(isinstance(w, tuple) and len(w) == len(got) for w in want)
            for k, g in enumerate(got):
                walk(g, *(w[k] for w in want))
        else:
            assert same_bits(got, np.array(want))

    walk(batched, *points)


def test_textbook_gradient_values():
    g1, g2 = adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)))(X1, X2)
    np.testing.assert_allclose(g1, 1 / X1 + X2, rtol=1e-15)
    np.testing.assert_allclose(g2, X1 - np.cos(X2), rtol=1e-15, atol=1e-15)


def test_loop_with_tape_in_gradient():
    f = Staged(("tests/corpus/logistic_while.py", "logistic_while"))
    x = np.linspace(0.01, 0.99, 50)
    check_against_scalar(adjit.grad(f), [x, np.full(50, 7)])
    check_against_scalar(adjit.grad(f), [x, np.full(50, 7)], "parallel")


def test_decorator_and_scalar_arguments():
    vf = adjit.vectorize(target="parallel", threads=2)(textbook)
    out = vf(2.0, 5.0)
    assert isinstance(out, np.float64) and out == textbook(2.0, 5.0)
    assert adjit.vectorize(textbook)(np.float64(2.0), 5) == adjit.jit(textbook)(2.0, 5)


# --- broadcasting and layouts ------------------------------------------------------------

def reference(f, *arrays):
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    views = [np.broadcast_to(a, shape) for a in arrays]
    out = np.empty(shape)
    for index in np.ndindex(*shape):
        out[index] = f(*(v[index].item() for v in views))
    return out


@pytest.mark.parametrize("shapes", [
    [(5, 1), (7,)], [(), (4,)], [(3,), ()], [(2, 3, 4), (3, 1)], [(2, 1, 4), (1, 3, 1)],
    [(1, 1, 6), (2, 3, 1)], [(4, 5), (4, 5)], [(1,), (1, 1, 1)],
])
def test_broadcasting(shapes):
    rng = np.random.default_rng(len(shapes[0]))
    x1 = rng.uniform(0.5, 3.0, shapes[0])
    x2 = rng.uniform(-2.0, 2.0, shapes[1])
    got = adjit.vectorize(textbook)(x1, x2)
    assert same_bits(got, reference(adjit.jit(textbook), x1, x2))


@pytest.mark.parametrize("layout", ["reversed", "strided", "fortran", "transposed", "column",
                                    "unaligned"])
def test_non_contiguous_inputs(layout):
    base = np.random.default_rng(1).uniform(0.5, 3.0, (6, 8))
    x = {"reversed": base[0, ::-1], "strided": base.reshape(-1)[::3],
         "fortran": np.asfortranarray(base), "transposed": base.T, "column": base[:, 2],
         "unaligned": np.frombuffer(b"\0" + base.tobytes(), offset=1, count=48)}[layout]
    assert not x.flags.c_contiguous or layout == "unaligned"
    for target in ("cpu", "parallel"):
        got = adjit.vectorize(adjit.grad(textbook), target)(x, 0.5)
        assert same_bits(got, reference(adjit.grad(textbook), x, 0.5))


def test_int_and_bool_arrays():
    x = np.linspace(-2.0, 2.0, 7)
    n = np.arange(-3, 4, dtype=np.int32)
    got = adjit.vectorize(power)(x, n)
    assert same_bits(got, np.array([power(a, int(b)) for a, b in zip(x.tolist(), n)]))
    flags = np.array([True, False, True])
    assert same_bits(adjit.vectorize(pick)(flags, 1.5, np.array([2, 3, 4])),
                     np.array([1.5, 3.0, 1.5]))
    counts = adjit.vectorize(halvings)(np.array([0.5, 3.0, 1e6]))
    assert counts.dtype == np.int64 and counts.tolist() == [0, 2, 20]


def test_bool_results():
    f = Staged(("tests/corpus/chained_compare.py", "sorted3"))
    x = np.array([-1.0, 0.5, 2.0])
    got = adjit.vectorize(f)(0.0, x, 1.0)
    assert got.dtype == np.bool_
    assert got.tolist() == [False, True, False] == [f(0.0, v, 1.0) for v in x.tolist()]


# --- out= -------------------------------------------------------------------------------

def test_out_single_and_tuple():
    out = np.empty(9)
    assert adjit.vectorize(textbook)(X1, X2, out=out) is out
    assert same_bits(out, adjit.vectorize(textbook)(X1, X2))
    g = (np.empty(9), np.empty(9))
    got = adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)))(X1, X2, out=g)
    assert got[0] is g[0] and got[1] is g[1]
    assert same_bits(g[0], 1 / X1 + X2)
    value, (d1, d2) = np.empty(9), (np.empty(9), np.empty(9))
    adjit.vectorize(adjit.value_and_grad(textbook, argnums=(0, 1)))(X1, X2, out=(value, (d1, d2)))
    assert same_bits(value, adjit.vectorize(textbook)(X1, X2)) and same_bits(d2, g[1])


def test_out_strided_broadcast_and_in_place():
    out = np.zeros((4, 6))[:, ::2]  # not contiguous
    adjit.vectorize(textbook)(2.0, np.arange(3.0), out=out)
    assert same_bits(out, reference(adjit.jit(textbook), 2.0, np.broadcast_to(np.arange(3.0),
                                                                            (4, 3))))
    full = np.empty((2, 3))
    adjit.vectorize(textbook)(1.5, 0.5, out=full)  # the arguments broadcast to out's shape
    assert np.all(full == textbook(1.5, 0.5))
    x = X1.copy()
    adjit.vectorize(textbook)(x, X2, out=x)
    assert same_bits(x, adjit.vectorize(textbook)(X1, X2))
    y = X1.copy()
    adjit.vectorize(textbook)(y, X2, out=y[::-1])  # overlapping the other way round
    assert same_bits(y[::-1], adjit.vectorize(textbook)(X1, X2))


def test_out_errors():
    vf = adjit.vectorize(textbook)
    with pytest.raises(AdjitTypeError, match="dtype float64, not float32"):
        vf(X1, X2, out=np.empty(9, np.float32))
    with pytest.raises(ShapeError, match=r"out= array 1 has shape \(9, 1\)"):
        vf(X1, X2, out=np.empty((9, 1)))
    with pytest.raises(AdjitTypeError, match="needs 2 arrays"):
        adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)))(X1, X2, out=np.empty(9))
    readonly = np.empty(9)
    readonly.flags.writeable = False
    with pytest.raises(AdjitTypeError, match="read-only"):
        vf(X1, X2, out=readonly)


# --- errors inside a batch ------------------------------------------------------------

def scalar_error(f, *args) -> BaseException:
    with pytest.raises(Exception) as info:
        f(*args)
    return info.value


@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_zero_division_at_element_k(target):
    x = np.arange(3000.0)
    expected = scalar_error(adjit.jit(shifted_reciprocal), 1234.0, 1234.0)
    out = np.full(3000, -1.0)
    with pytest.raises(ZeroDivisionError) as info:
        adjit.vectorize(shifted_reciprocal, target, threads=3)(x, 1234.0, out=out)
    assert str(info.value) == str(expected)
    assert "return 1.0 / (x - s)" in str(info.value)
    assert info.value.__notes__ == ["raised at batch element (1234,)"]
    assert np.array_equal(out[:1234], 1.0 / (x[:1234] - 1234.0))
    if target == "cpu":  # stops at the first error
        assert np.all(out[1234:] == -1.0)


def test_domain_error_in_gradient_at_element_k():
    x = np.ones((3, 4))
    x[1, 2] = -1.0
    g = adjit.grad(textbook)
    expected = scalar_error(g, -1.0, 0.5)
    with pytest.raises(ValueError) as info:
        adjit.vectorize(g)(x, 0.5)
    assert str(info.value) == str(expected) and "math domain error" in str(expected)
    assert info.value.adjit_location == expected.adjit_location
    assert info.value.__notes__ == ["raised at batch element (1, 2)"]


def test_parallel_reports_the_first_error():
    x = np.arange(10000.0)
    s = np.full(10000, -1.0)
    s[[7000, 2500, 9000]] = x[[7000, 2500, 9000]]
    with pytest.raises(ZeroDivisionError) as info:
        adjit.vectorize(shifted_reciprocal, "parallel", threads=4)(x, s)
    assert info.value.__notes__ == ["raised at batch element (2500,)"]


# --- parallel, empty batches ----------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_parallel_equals_cpu(threads):
    rng = np.random.default_rng(threads)
    x1 = rng.uniform(0.1, 5.0, 100_003)
    x2 = rng.uniform(-5.0, 5.0, (1, 100_003))
    g = adjit.grad(textbook, argnums=(0, 1))
    cpu = adjit.vectorize(g, "cpu")(x1, x2)
    parallel = adjit.vectorize(g, "parallel", threads=threads)(x1, x2)
    assert all(same_bits(a, b) for a, b in zip(cpu, parallel))


@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_empty_batches(target):
    vf = adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)), target)
    a, b = vf(np.empty(0), 1.0)
    assert a.shape == b.shape == (0,) and a.dtype == np.float64
    a, b = vf(np.empty((0, 3)), np.ones(3))
    assert a.shape == (0, 3)
    assert adjit.vectorize(halvings, target)(np.empty((2, 0))).dtype == np.int64


# --- bad input ------------------------------------------------------------------------

def test_wrong_shapes():
    with pytest.raises(ShapeError) as info:
        adjit.vectorize(textbook)(np.ones(3), np.ones(4))
    assert isinstance(info.value, ValueError)
    assert "do not broadcast together: (3,) (4,)" in str(info.value)
    assert info.value.filename.endswith("test_vectorize.py") and info.value.line == textbook.__code__.co_firstlineno


def test_unsupported_functions_and_arguments():
    with pytest.raises(AdjitTypeError) as info:
        adjit.vectorize(first)(np.ones((2, 3)))
    assert "array parameters are not supported" in str(info.value)
    with pytest.raises(UnsupportedError, match="scalar results; this one returns array"):
        adjit.vectorize(ramp)(np.array([1, 2]))
    with pytest.raises(AdjitTypeError, match="dtype complex128"):
        adjit.vectorize(textbook)(np.ones(2, complex), 1.0)
    with pytest.raises(AdjitTypeError, match="dtype <U1"):
        adjit.vectorize(textbook)(np.array(["a"]), 1.0)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        adjit.vectorize(textbook)(1.0, 2.0, 3.0)
    with pytest.raises(UnsupportedError, match="static_argnums are not supported"):
        adjit.vectorize(adjit.jit(power, static_argnums=(1,)))
    with pytest.raises(UnsupportedError, match="not for backend='interp'"):
        adjit.vectorize(adjit.interpret(power))
    with pytest.raises(ValueError, match="target must be one of"):
        adjit.vectorize(textbook, "gpu")
    with pytest.raises(ValueError, match="threads must be a positive int"):
        adjit.vectorize(textbook, "parallel", threads=0)


def test_compiled_once_per_signature():
    vf = adjit.vectorize(power)
    vf(X1, 2), vf(X2, np.arange(9)), vf(X1, 2.0)
    assert len(vf.compiled) == 2


# --- cuda ---------------------------------------------------------------------------------

def test_cuda_contract(monkeypatch):
    """What the cuda target hands the launcher: the optimized scalar module,
    flat contiguous inputs and outputs of one length (a CPU stand-in runs it)."""
    import types

    seen = {}

    def run_batched(module, inputs, outputs, arch=None):
        seen["module"] = module
        from adjit.backend.llvm.engine import compile_module

        scalar = compile_module(module)
        n = len(inputs[0])
        for a in inputs + outputs:
            assert a.ndim == 1 and a.flags.c_contiguous and len(a) == n
        assert [a.dtype for a in inputs] == [np.float64, np.int64]
        for i in range(n):
            outputs[0][i] = scalar(float(inputs[0][i]), int(inputs[1][i]))

    fake = types.ModuleType("adjit.backend.ptx.launch")
    fake.run_batched = run_batched
    monkeypatch.setitem(sys.modules, "adjit.backend.ptx.launch", fake)
    got = adjit.vectorize(power, "cuda")(np.linspace(0, 1, 6).reshape(2, 3), np.arange(3))
    assert [str(p.type) for p in seen["module"].entry_function.params] == ["f64", "i64"]
    assert same_bits(got, reference(adjit.jit(power), np.linspace(0, 1, 6).reshape(2, 3),
                                    np.arange(3)))
    out = np.zeros((3, 2)).T  # not contiguous: filled from a flat copy
    adjit.vectorize(power, "cuda")(np.linspace(0, 1, 6).reshape(2, 3), np.arange(3), out=out)
    assert same_bits(out, got)


def test_cuda_without_launcher(monkeypatch):
    monkeypatch.setitem(sys.modules, "adjit.backend.ptx.launch", None)
    with pytest.raises(ImportError, match="target='cpu' or 'parallel'"):
        adjit.vectorize(textbook, "cuda")(X1, X2)


def test_cuda_on_a_gpu():
    launch = pytest.importorskip("adjit.backend.ptx.launch",
                                 reason="the CUDA launcher is not installed")
    x1 = np.linspace(0.5, 3.0, 1000)
    try:
        got = adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)), "cuda")(x1, 0.25)
    except CudaUnavailableError as exc:  # no cuda-python, driver or GPU: the launcher says so
        pytest.skip(f"no GPU to run on: {exc.message}")
    cpu = adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)))(x1, 0.25)
    assert launch is not None
    for a, b in zip(got, cpu):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
