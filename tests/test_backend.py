"""The LLVM backend computes what CPython and the interpreter compute.

Each program below is compiled once and run on many inputs, special values
included (inf, nan, -0.0, int64 extremes). Floats compare bitwise (the sign
of zero and NaN-ness included) for + - * / // % and conversions, within
2 ulp for functions of the C library.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from adjit.backend.llvm import compile_module
from adjit.backend.llvm.registry import LOWERINGS
from adjit.ir.interp import interpret
from adjit.ir.ops import OPS

INF, NAN = math.inf, math.nan
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
FLOATS = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0, -7.0, 0.1, 1e300, -1e300, 5e-324, INF, -INF, NAN]
INTS = [0, 1, -1, 2, -2, 3, -7, 7, 10, INT64_MAX, INT64_MIN, 2 ** 62]

_cache: dict = {}


def native(f, *example, **options):
    """`f` compiled for the types of `example` (cached)."""
    key = (f, tuple(type(a) for a in example), tuple(sorted(options.items())))
    if key not in _cache:
        module = adjit.make_ir(f)(*example)
        _cache[key] = (compile_module(module, **options), module)
    return _cache[key][0]


def module_of(f, *example):
    native(f, *example)
    return _cache[(f, tuple(type(a) for a in example), ())][1]


def outcome(run, *args):
    """('ok', value) or ('raise', exception type)."""
    try:
        return "ok", run(*args)
    except (ArithmeticError, ValueError, IndexError) as exc:
        return "raise", type(exc)


def same(got, want) -> bool:
    if isinstance(want, tuple):
        return (isinstance(got, tuple) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    if isinstance(want, np.ndarray):
        return (isinstance(got, np.ndarray) and got.shape == want.shape
                and np.array_equal(got, want, equal_nan=True)
                and np.array_equal(np.signbit(got), np.signbit(want)))
    if isinstance(want, float):
        return isinstance(got, float) and (
            (math.isnan(got) and math.isnan(want))
            or (got == want and math.copysign(1.0, got) == math.copysign(1.0, want)))
    return type(got) is type(want) and got == want


def agree(got, want) -> bool:
    if got[0] != want[0]:
        return False
    return same(got[1], want[1]) if got[0] == "ok" else got[1] is want[1]


def check_all(f, inputs, cpython=True):
    """native == interpreter on every input (and == CPython where CPython
    returns a float rather than a complex), results or exception types."""
    compiled = native(f, *inputs[0])
    module = module_of(f, *inputs[0])
    for args in inputs:
        got = outcome(compiled, *args)
        want = outcome(lambda *a: interpret(module, a), *args)
        assert agree(got, want), (f.__name__, args, got, want)
        if cpython:
            py = outcome(f, *args)
            if not (py[0] == "ok" and isinstance(py[1], complex)):
                assert agree(got, py), (f.__name__, args, got, py)


# --- scalar arithmetic ------------------------------------------------------------

def add(x, y):
    return x + y


def sub(x, y):
    return x - y


def mul(x, y):
    return x * y


def div(x, y):
    return x / y


def floordiv(x, y):
    return x // y


def mod(x, y):
    return x % y


def power(x, y):
    return x ** y


def minimum(x, y):
    return min(x, y)


def maximum(x, y):
    return max(x, y)


def compare(x, y):
    return x < y, x <= y, x > y, x >= y, x == y, x != y


def unary(x):
    return -x, abs(x), not x, 1 if x else 0


FLOAT_PAIRS = [(a, b) for a in FLOATS for b in FLOATS]
INT_PAIRS = [(a, b) for a in INTS for b in INTS]


@pytest.mark.parametrize("f", [add, sub, mul, div, floordiv, mod, power, minimum, maximum,
                               compare])
def test_float_binary_ops(f):
    check_all(f, FLOAT_PAIRS)


@pytest.mark.parametrize("f", [add, sub, mul, floordiv, mod, minimum, maximum, compare])
def test_int_binary_ops_wrap_like_the_interpreter(f):
    # CPython's ints are unbounded; adjit's wrap to int64 (the interpreter's rule).
    check_all(f, INT_PAIRS, cpython=False)
    small = [(a, b) for a in range(-9, 10) for b in range(-9, 10)]
    check_all(f, small)


def test_int_power():
    check_all(power, [(a, b) for a in range(-5, 6) for b in range(0, 12)])
    check_all(power, [(3, 100), (-3, 63), (2, 64), (7, -1), (0, -2), (INT64_MIN, 2)],
              cpython=False)


def test_unary_ops():
    check_all(unary, [(x,) for x in FLOATS])
    check_all(unary, [(n,) for n in INTS], cpython=False)


def test_float_floor_division_and_modulo_special_cases():
    for x, y, q, r in [(-1.0, INF, -1.0, INF), (1.0, -INF, -1.0, -INF), (-0.0, 5.0, -0.0, 0.0),
                       (0.0, -5.0, -0.0, -0.0), (INF, 1.0, NAN, NAN), (7.5, -2.0, -4.0, -0.5)]:
        assert same(native(floordiv, 1.0, 1.0)(x, y), q)
        assert same(native(mod, 1.0, 1.0)(x, y), r)


def test_int_division_by_minus_one_wraps():
    assert native(floordiv, 1, 1)(INT64_MIN, -1) == INT64_MIN
    assert native(mod, 1, 1)(INT64_MIN, -1) == 0


# --- conversions --------------------------------------------------------------------

def to_int(x):
    return int(x)


def to_float(n):
    return float(n)


def bool_to_number(b):
    return float(b) + int(b)


def test_conversions():
    check_all(to_int, [(x,) for x in FLOATS + [2.7, -2.7, 9.2e18, -9.2e18, 2.0 ** 63, -2.0 ** 63]],
              cpython=False)
    check_all(to_float, [(n,) for n in INTS])
    check_all(bool_to_number, [(True,), (False,)])


# --- control flow -----------------------------------------------------------------------

def if_chain(x):
    if x < -1.0:
        return -1.0
    y = 0.0
    if x < 0.0:
        y = x * x
    elif x < 1.0:
        y = x * 2.0
    elif x == 1.0:
        return 1.5
    else:
        y = x + 10.0
    return y


def while_loop(n):
    i = 0
    s = 0
    while i < n:
        i += 1
        if i % 3 == 0:
            continue
        if s > 50:
            break
        s += i
    return s, i


def for_early_return(x, n):
    acc = 0.0
    for k in range(n):
        acc = acc * x + k
        if acc > 100.0:
            return acc, k
    return acc, -1


def nested_loops(n, m):
    count = 0
    for i in range(n):
        j = 0
        while j < m:
            if j > i:
                break
            if (i + j) % 2 == 1:
                j += 1
                continue
            count += i * j
            j += 1
    return count


def ranges(a, b, c):
    s = 0
    for i in range(a, b, c):
        s = s * 3 + i
    for i in range(b):
        s += i
    for i in range(a, b):
        s -= i
    return s


def test_if_chain():
    check_all(if_chain, [(x,) for x in [-5.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, NAN]])


def test_while_with_break_and_continue():
    check_all(while_loop, [(n,) for n in [0, 1, 2, 5, 10, 100]])


def test_for_with_early_return():
    check_all(for_early_return, [(x, n) for x in [0.5, 2.0, 10.0] for n in [0, 1, 5, 40]])


def test_nested_loops():
    check_all(nested_loops, [(n, m) for n in [0, 1, 4, 7] for m in [0, 3, 6]])


def test_range_semantics():
    args = [(a, b, c) for a in (-7, 0, 3, 10) for b in (-5, 0, 4, 12) for c in (-3, -1, 1, 2, 5)]
    check_all(ranges, args + [(0, 5, 0), (5, 0, 0)])


def count_range(a, b, c):
    n = 0
    for i in range(a, b, c):
        n += 1
    return n


def test_range_trip_count_at_int64_extremes():
    f = native(count_range, 1, 1, 1)
    for a, b, c in [(INT64_MIN, INT64_MIN + 5, 2), (INT64_MAX - 4, INT64_MAX, 1),
                    (INT64_MAX, INT64_MAX - 7, -3), (0, 10, INT64_MAX), (0, -10, INT64_MIN),
                    (-3, 3, 1), (3, -3, -1), (5, 5, 1)]:
        assert f(a, b, c) == len(range(a, b, c))


# --- calls and tuples ---------------------------------------------------------------------

def helper(a, b):
    return a * b, a + b


def caller(x):
    p, q = helper(x, 2.0)
    r, s = helper(q, p)
    return p + q + r + s


def mixed_tuple(x, n, flag):
    if flag:
        return x * 2.0, n + 1, x > 0.0
    return x, n, not flag


def test_calls_between_functions():
    check_all(caller, [(x,) for x in [0.0, 1.5, -2.0, INF]])


def test_tuple_results_of_every_scalar_type():
    check_all(mixed_tuple, [(1.5, 3, True), (-2.0, -1, False), (0.0, INT64_MAX, True)],
              cpython=False)
    assert native(mixed_tuple, 1.5, 3, True)(1.5, 3, True) == (3.0, 4, True)


def test_arguments_are_converted_like_the_interpreter():
    f = native(add, 1.0, 1.0)
    assert f(1, 2) == 3.0 and isinstance(f(1, 2), float)
    assert f(np.float32(1.5), np.float64(2.0)) == 3.5 and f(True, -1.0) == 0.0
    with pytest.raises(TypeError):
        f(1.0)
    with pytest.raises(TypeError):
        f(1.0, None)
    g = native(mixed_tuple, 1.5, 3, True)
    assert g(2, np.int64(3), 1) == (4.0, 4, True) and g(2.0, 3.9, 0.0) == (2.0, 3, True)
    assert native(add, 1, 1)(INT64_MAX, 1) == INT64_MIN
    assert native(add, 1, 1)(2 ** 64 + 5, 1) == 6  # wraps, as the interpreter


def test_scalar_functions_are_called_without_ctypes():
    f = native(add, 1.0, 1.0)
    assert type(type(f).__call__).__name__ == "builtin_function_or_method"
    with pytest.raises(ZeroDivisionError, match="div"):
        native(div, 1.0, 1.0)(1.0, 0.0)


# --- the backend is complete ------------------------------------------------------------------

def test_every_op_has_an_llvm_lowering():
    missing = sorted(name for name, op in OPS.items() if op not in LOWERINGS)
    assert missing == []


def test_options_are_validated():
    with pytest.raises(ValueError):
        compile_module(module_of(add, 1.0, 1.0), error_model="c")


@pytest.mark.parametrize("options, message", [
    ({"backend": "cuda"}, "backend must be one of"),
    ({"error_model": "c"}, "error_model must be one of"),
])
def test_jit_rejects_bad_options_at_once(options, message):
    with pytest.raises(ValueError, match=message):
        adjit.jit(add, **options)
