"""Inputs for the programs in tests/corpus/, and CPython as their oracle.

`CASES` lists `Case(file, func, args_list, differentiable)`: the function
`func` of `tests/corpus/<file>` called on each tuple in `args_list`. Every
input keeps the function inside its domain: CPython returns a float, int,
bool, float64 ndarray or a tuple of those, never raises. A function may appear
in several cases, e.g. with smooth inputs in one and inputs on a kink or with
a huge derivative in another.

`differentiable` says that the function's value is a smooth function of its
float arguments (`Case.float_argnums`: float scalars and float64 arrays) near
every input of the case: no branch flips, no trip count changes, no int()
jumps within a small step, and the result holds floats. Finite differences
are then a valid oracle for derivatives there. Cases without float arguments
or with int/bool results are never differentiable.

`ERROR_CASES` lists `ErrorCase(file, func, args, exception)`: inputs on which
CPython raises `exception`, which compiled code must raise too.

In CPython an element read `x[i]` is a numpy float64, not a float, and
arithmetic on it follows numpy: `1.0 / x[i]` with `x[i] == 0` gives inf and a
warning instead of ZeroDivisionError, `x[i] ** 1000.0` gives inf instead of
OverflowError, and a sum `s = 0.0; s += x[i]` becomes a numpy float64 after
its first iteration. No input here depends on that difference: errors in
`ERROR_CASES` come from Python float or int arithmetic on values not read from
arrays, from `math` functions (which raise on numpy floats too), from indexing
and from `range`.

`run_cpython` runs a corpus function under CPython on deep copies of its
arguments. Loading a corpus file executes it; that is fine here, in the test
oracle. The compiler itself only ever parses these files.
"""
from __future__ import annotations

import copy
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class Case:
    file: str  # a file name in tests/corpus/, e.g. "textbook.py"
    func: str
    args_list: tuple[tuple[Any, ...], ...]
    differentiable: bool = True

    @property
    def id(self) -> str:
        return f"{self.file}::{self.func}"

    @property
    def path(self) -> Path:
        return CORPUS_DIR / self.file

    @property
    def float_argnums(self) -> tuple[int, ...]:
        """Positions of the float scalar and float64 array arguments."""
        return tuple(i for i, a in enumerate(self.args_list[0]) if is_float_arg(a))


@dataclass(frozen=True)
class ErrorCase:
    file: str
    func: str
    args: tuple[Any, ...]
    exception: type[BaseException]

    @property
    def id(self) -> str:
        return f"{self.file}::{self.func}"


def is_float_arg(a: Any) -> bool:
    """A float scalar or a float64 array (bool and int are not)."""
    if isinstance(a, np.ndarray):
        return a.dtype == np.float64
    return isinstance(a, float)


_modules: dict[Path, ModuleType] = {}


def load_corpus_module(case_file: str | Path) -> ModuleType:
    """Import a corpus file (a name in tests/corpus/ or a path), once."""
    path = Path(case_file)
    if not path.is_absolute() and not path.exists():
        path = CORPUS_DIR / path
    path = path.resolve()
    if path not in _modules:
        spec = importlib.util.spec_from_file_location(f"adjit_corpus_{path.stem}", path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[path] = module
    return _modules[path]


def cpython_function(case_file: str | Path, func: str) -> Callable[..., Any]:
    return getattr(load_corpus_module(case_file), func)


def run_cpython(case_file: str | Path, func: str, args: tuple[Any, ...]) -> Any:
    """Call `func` of a corpus file under CPython on deep copies of `args`."""
    return cpython_function(case_file, func)(*copy.deepcopy(tuple(args)))


def iter_inputs(cases: list[Case] | None = None) -> Iterator[tuple[Case, int, tuple[Any, ...]]]:
    """(case, index, args) for every input of every case."""
    for case in CASES if cases is None else cases:
        for i, args in enumerate(case.args_list):
            yield case, i, args


# --- building inputs --------------------------------------------------------

def vec(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def empty_vec() -> np.ndarray:
    return np.zeros(0)


def rand_vec(n: int, seed: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, n)


def rand_mat(n: int, m: int, seed: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, (n, m))


def helmholtz_args(n: int, seed: int, bx: float = 0.5) -> tuple[np.ndarray, ...]:
    """x_i ~ U(0.1, 1); b rescaled so that b.x = bx; A symmetric, (M + M^T)/2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 1.0, n)
    b = rng.uniform(0.1, 1.0, n)
    b = b * (bx / float(b @ x))
    M = rng.uniform(-1.0, 1.0, (n, n))
    return x, b, (M + M.T) / 2.0


def gmm_params(n: int, d: int, K: int, seed: int) -> tuple[np.ndarray, ...]:
    """alphas (K), means (K, d), icf (K, d(d+1)/2), x (n, d)."""
    rng = np.random.default_rng(seed)
    alphas = rng.normal(0.0, 1.0, K)
    means = rng.normal(0.0, 1.0, (K, d))
    icf = rng.normal(0.0, 0.5, (K, d * (d + 1) // 2))
    x = rng.normal(0.0, 1.0, (n, d))
    return alphas, means, icf, x


def mlp_args(seed: int, hidden: int = 4, inputs: int = 3) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    return (rng.normal(0.0, 0.7, (hidden, inputs)), rng.normal(0.0, 0.3, hidden),
            rng.normal(0.0, 0.7, hidden), float(rng.normal()), rng.normal(0.0, 1.0, inputs))


V3 = vec(0.1, 0.5, 0.9)
GMM_A = gmm_params(5, 2, 3, seed=41)
GMM_B = gmm_params(4, 3, 2, seed=42)
GMM_C = gmm_params(10, 2, 5, seed=43)
MLP_A = mlp_args(51)
MLP_B = mlp_args(52)
MLP_C = mlp_args(53, hidden=2, inputs=1)


def C(file: str, func: str, args_list: list[tuple[Any, ...]], differentiable: bool = True) -> Case:
    return Case(file, func, tuple(tuple(a) for a in args_list), differentiable)


CASES: list[Case] = [
    C("textbook.py", "f", [(2.0, 5.0), (0.5, -1.0), (3.7, 0.25), (10.0, 2.0)]),
    C("textbook.py", "f_trace", [(2.0, 5.0), (0.5, -1.0), (3.7, 0.25)]),

    C("logistic_for.py", "logistic_for", [(0.3, 3), (0.1, 0), (0.7, 1), (0.2, 5), (0.45, 8)]),
    C("logistic_for.py", "dl4_dx", [(0.3,), (0.1,), (0.7,), (0.9,)]),
    C("logistic_while.py", "logistic_while", [(0.3, 3), (0.1, 0), (0.7, 1), (0.2, 5), (0.45, 8)]),

    C("swell_map.py", "swell_loop", [(0.5,), (-1.0,), (1.3,), (-3.5,)]),
    C("swell_map.py", "swell_unrolled", [(0.5,), (-1.0,), (1.3,), (-3.5,)]),
    C("swell_map.py", "swell_closed_form", [(0.5,), (-1.0,), (1.3,), (-3.5,)]),
    C("swell_map.py", "swell_derivative", [(0.5,), (-1.0,), (1.3,), (-3.5,)]),

    C("long_logistic.py", "long_logistic", [(0.3, 5), (0.6, 0), (0.1, 8)]),
    # Chaotic: the derivative grows like exp(0.5 n); no finite-difference oracle.
    C("long_logistic.py", "long_logistic", [(0.3, 1000), (0.5, 100), (0.123, 10000)],
      differentiable=False),

    C("nested_break_continue.py", "nested_break_continue",
      [(1.0, 6, 5), (-0.5, 8, 8), (2.0, 0, 3), (0.3, 10, 10)]),
    C("nested_break_continue.py", "while_break_continue", [(1.0, 10), (3.0, 20), (0.5, 0), (-1.0, 7)]),
    C("nested_break_continue.py", "math_free_step", [(1.0, 2.0), (-3.0, 0.5), (0.0, 0.0)]),

    C("linear_search.py", "find_first_above", [(V3, 0.4), (V3, 2.0), (empty_vec(), 0.0)],
      differentiable=False),
    C("linear_search.py", "first_above_value", [(V3, 0.4), (V3, 2.0), (rand_vec(10, 1), 0.3)]),

    C("newton_sqrt.py", "newton_sqrt", [(2.0,), (0.25,), (1e6,), (3.0,)]),
    # At a = 1 the start value switches branch: no derivative there.
    C("newton_sqrt.py", "newton_sqrt", [(1.0,), (1e-8,), (1e300,)], differentiable=False),
    C("newton_sqrt.py", "newton_sqrt_steps", [(2.0,), (1.0,), (1e6,)], differentiable=False),

    C("bisection.py", "g", [(0.5, 1.0), (1.0, 0.5), (-2.0, 2.0)]),
    C("bisection.py", "bisect", [(1.0, 0.0, 1.0), (0.5, 0.0, 2.0), (2.0, 0.0, 1.0)],
      differentiable=False),
    C("bisection.py", "bisect_fixed", [(1.0, 0.0, 1.0, 20), (0.5, 0.0, 2.0, 0), (2.0, 0.0, 1.0, 5)],
      differentiable=False),

    C("piecewise.py", "piecewise", [(-3.0,), (-1.0,), (0.5,), (2.0,), (5.0,)]),
    C("piecewise.py", "classify", [(-2.0,), (0.0,), (0.5,), (3.0,)], differentiable=False),
    C("piecewise.py", "tax", [(5000.0, 0.1, 0.3), (20000.0, 0.1, 0.3), (80000.0, 0.15, 0.4)]),

    C("chained_compare.py", "in_band", [(0.5, 0.0, 1.0), (1.5, 0.0, 1.0), (-0.5, 0.0, 1.0)]),
    C("chained_compare.py", "in_band", [(1.0, 0.0, 1.0), (0.0, 0.0, 1.0), (2.0, 2.0, 2.0)],
      differentiable=False),
    C("chained_compare.py", "sorted3", [(1.0, 2.0, 3.0), (1.0, 3.0, 2.0), (2.0, 2.0, 2.0)],
      differentiable=False),
    C("chained_compare.py", "chain_ints", [(0, 1, 2), (-1, 1, 2), (0, 1, 1), (2, 1, 0)],
      differentiable=False),
    C("chained_compare.py", "exp_in_band", [(0.0, 0.5, 2.0), (1.0, 0.5, 2.0), (-2.0, 0.5, 2.0)]),

    C("short_circuit.py", "log_guard", [(5.0,), (2.0,), (-1.0,), (0.0,)]),
    C("short_circuit.py", "div_guard", [(5.0, 2.0), (1.0, 2.0), (-4.0, 1.0)]),
    # y == 0 takes the guarded branch; nearby y flips it.
    C("short_circuit.py", "div_guard", [(3.0, 0.0), (-3.0, 0.0), (0.0, 0.0)], differentiable=False),
    C("short_circuit.py", "sqrt_guard", [(1.0,), (9.0,), (-4.0,), (0.0,)], differentiable=False),
    C("short_circuit.py", "not_both", [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0)], differentiable=False),
    C("short_circuit.py", "precedence",
      [(1.0, -1.0, -1.0), (-1.0, 1.0, 1.0), (-1.0, 1.0, -2.0), (-1.0, -2.0, 3.0)]),

    C("prefix_sum.py", "prefix_sum", [(vec(1.0, 2.0, 3.0),), (rand_vec(7, 2),), (empty_vec(),)]),
    C("prefix_sum.py", "weighted_prefix_total",
      [(vec(1.0, 2.0, 3.0), 0.5), (rand_vec(7, 3), -2.0), (vec(4.0), 1.0)]),

    C("matvec.py", "matvec", [(rand_mat(3, 4, 4), rand_vec(4, 5)), (vec(2.0).reshape(1, 1), vec(-3.0)),
                              (rand_mat(5, 2, 6), rand_vec(2, 7))]),
    C("matvec.py", "quadratic_form", [(rand_mat(3, 3, 8), rand_vec(3, 9)), (rand_mat(1, 1, 10), vec(2.0)),
                                      (rand_mat(6, 6, 11), rand_vec(6, 12))]),

    C("transpose.py", "transpose", [(rand_mat(2, 3, 13),), (rand_mat(4, 4, 14),), (rand_mat(1, 5, 15),)]),
    C("transpose.py", "symmetric_part_trace",
      [(rand_mat(3, 3, 16),), (rand_mat(1, 1, 17),), (rand_mat(5, 5, 18),)]),

    C("scale_inplace.py", "scale_inplace", [(vec(1.0, 2.0, 3.0), 2.0), (rand_vec(5, 19), -0.5),
                                            (empty_vec(), 3.0)]),
    C("scale_inplace.py", "scale_rows_inplace", [(rand_mat(3, 2, 20), rand_vec(3, 21)),
                                                 (rand_mat(1, 4, 22), vec(2.0)),
                                                 (rand_mat(4, 4, 23), rand_vec(4, 24))]),
    C("scale_inplace.py", "scale_then_sum", [(vec(1.0, 2.0, 3.0), 2.0), (rand_vec(5, 25), -0.5),
                                             (empty_vec(), 3.0)]),

    C("calls.py", "square", [(3.0,), (-1.5,), (0.0,)]),
    C("calls.py", "sum_sq", [(1.0, 2.0), (-0.5, 3.0), (0.0, -1.0)]),
    C("calls.py", "polar", [(1.0, 1.0), (-2.0, 0.5), (0.3, -4.0)]),
    C("calls.py", "polar_roundtrip", [(1.0, 1.0), (-2.0, 0.5), (0.3, -4.0)]),
    C("calls.py", "sum_of_squares_loop", [(1.5, 4), (-2.0, 0), (0.1, 10)]),
    C("calls.py", "caller_first", [(0.5,), (-2.0,), (0.0,)]),
    C("calls.py", "helper_later", [(0.5, 2.0), (-2.0, 1.0), (0.0, -3.0)]),

    C("helmholtz.py", "helmholtz", [helmholtz_args(1, 31), helmholtz_args(3, 32),
                                    helmholtz_args(8, 33), helmholtz_args(50, 34)]),

    C("gmm.py", "logsumexp", [(rand_vec(5, 35),), (vec(1.0),), (vec(-1.0, 2.0, 2.5),)]),
    C("gmm.py", "gmm_data_term", [GMM_A, GMM_B, GMM_C]),
    C("gmm.py", "gmm_prior", [(GMM_A[2], 2, 1.0, 0), (GMM_B[2], 3, 2.0, 1), (GMM_C[2], 2, 0.5, 3)]),
    C("gmm.py", "gmm_constants", [(5, 2, 3, 1.0, 0), (4, 3, 2, 2.0, 1), (10, 2, 5, 0.5, 3)]),
    C("gmm.py", "gmm_objective", [GMM_A + (1.0, 0), GMM_B + (2.0, 1), GMM_C + (0.5, 3)]),

    C("horner.py", "horner", [(vec(1.0, 2.0, 3.0), 0.5), (vec(-7.0, 0.5, -3.0, 2.0), 1.7),
                              (vec(4.0), 3.0), (empty_vec(), 2.0)]),
    C("horner.py", "horner_fixed", [(0.0,), (1.7,), (-2.5,)]),
    C("horner.py", "horner_derivative", [(vec(1.0, 2.0, 3.0), 0.5), (vec(-7.0, 0.5, -3.0, 2.0), 1.7),
                                         (vec(4.0), 3.0)]),

    C("defined_before_loop.py", "before_inside_after", [(0.5, 3), (1.0, 0), (-0.7, 6)]),
    C("defined_before_loop.py", "before_inside_after_while", [(0.5, 1.0), (2.0, -1.0), (0.0, 3.0)]),

    C("carried_product.py", "power_loop", [(1.1, 5), (2.0, 0), (-0.5, 3), (0.9, 10)]),
    C("carried_product.py", "product_array", [(vec(1.0, 2.0, 3.0),), (rand_vec(6, 36),), (empty_vec(),)]),
    C("carried_product.py", "rising_factorial", [(0.5, 4), (2.0, 0), (-3.5, 3)]),

    C("zero_trip.py", "zero_trip_for", [(1.5,), (-2.0,), (0.0,)]),
    C("zero_trip.py", "zero_trip_range", [(1.5, 5, 2), (1.5, 3, 3), (0.5, 0, 4), (2.0, -3, -1)]),
    C("zero_trip.py", "zero_trip_while", [(3.0,), (-1.0,), (45.0,)]),
    C("zero_trip.py", "empty_array_sum", [(1.5, 0), (2.0, 3), (-1.0, 0)]),

    C("negative_step.py", "countdown", [(0.5, 5), (2.0, 0), (-1.5, 3)]),
    C("negative_step.py", "step_by", [(1.0, 0, 10, 3), (2.0, 10, 0, -2), (0.5, 5, 5, 1), (1.5, 0, 10, -1),
                                      (1.0, -1, -10, -4)]),
    C("negative_step.py", "reverse_copy_dot", [(vec(1.0, 2.0, 3.0), vec(4.0, 5.0, 6.0)),
                                               (rand_vec(5, 37), rand_vec(5, 38)), (empty_vec(), empty_vec())]),

    C("while_true_break.py", "grow_until", [(1.0,), (50.0,), (200.0,), (-0.1,)]),
    C("while_true_break.py", "grow_steps", [(1.0,), (50.0,), (200.0,)], differentiable=False),

    C("int_arith.py", "int_divmod", [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 3), (6, 3)],
      differentiable=False),
    C("int_arith.py", "float_divmod", [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0)]),
    # x // y and x % y jump where x / y is an integer.
    C("int_arith.py", "float_divmod", [(-0.5, 0.25), (6.0, 3.0), (0.0, -1.0)], differentiable=False),
    C("int_arith.py", "int_true_div", [(7, 2), (-7, 2), (1, 3)], differentiable=False),
    C("int_arith.py", "int_mix", [(5, 1.5), (-4, 2.0), (0, -1.0)]),

    C("minmax.py", "min_max3", [(1.0, 2.0, 3.0), (3.0, -1.0, 2.0), (0.5, 0.25, -7.0)]),
    C("minmax.py", "clamp", [(0.5, 0.0, 1.0), (-1.0, 0.0, 1.0), (2.0, 0.0, 1.0)]),
    C("minmax.py", "min_max_int", [(1, 2, 3), (3, -1, 2), (-5, -5, 0)], differentiable=False),
    C("minmax.py", "array_max", [(vec(1.0, 3.0, 2.0),), (rand_vec(8, 39),), (vec(-4.0),)]),
    C("minmax.py", "array_min", [(vec(1.0, 3.0, 2.0),), (rand_vec(8, 40),), (vec(-4.0),)]),
    C("minmax.py", "array_min", [(empty_vec(),), (vec(math.inf, 1.0),), (vec(2.0, 2.0),)],
      differentiable=False),

    C("conversions.py", "split_int_frac", [(2.7,), (-2.7,), (0.25,)]),
    C("conversions.py", "split_int_frac", [(5.0,), (0.0,), (-1.0,)], differentiable=False),
    C("conversions.py", "float_of_int", [(7,), (-2,), (0,)], differentiable=False),
    C("conversions.py", "to_int", [(2.7,), (-2.7,), (1e15,), (-0.5,)], differentiable=False),
    C("conversions.py", "index_from_fraction", [(rand_vec(5, 44), 0.3), (rand_vec(5, 45), 0.9),
                                                (vec(1.0, 2.0), 0.5)]),

    C("math_funcs.py", "trig", [(0.3, 1.2), (-0.5, 0.7), (0.9, -2.0)]),
    C("math_funcs.py", "exp_log", [(0.3, 1.5), (1.2, 0.7), (0.0, 3.0)]),
    C("math_funcs.py", "roots_powers", [(0.5, 2.0), (-1.0, 3.0), (2.5, 0.5)]),
    C("math_funcs.py", "hyperbolic", [(0.3, 1.2), (-0.5, -0.7), (0.9, 2.0)]),
    C("math_funcs.py", "special", [(0.3,), (1.5,), (-0.4,)]),
    C("math_funcs.py", "sqrt_of", [(4.0,), (2.0,), (0.01,)]),
    C("math_funcs.py", "sqrt_of", [(0.0,), (-0.0,), (1e-300,), (math.inf,)], differentiable=False),
    C("math_funcs.py", "acos_of", [(0.5,), (-0.99,), (0.0,)]),
    C("math_funcs.py", "log_base", [(8.0, 2.0), (100.0, 10.0), (0.5, 3.0)]),
    C("math_funcs.py", "pow_of", [(2.0, 0.5), (3.0, 3.0), (0.5, -1.5)]),
    # A negative base needs an integral exponent: no derivative in y.
    C("math_funcs.py", "pow_of", [(-8.0, 3.0), (-2.0, -2.0), (0.0, 2.0)], differentiable=False),

    C("numpy_scalar.py", "np_mix", [(0.5,), (2.0,), (1.3,)]),
    C("numpy_scalar.py", "np_edge", [(0.0,), (-1.0,), (4.0,)], differentiable=False),
    C("numpy_scalar.py", "np_pi", [(0.5,), (-2.0,), (0.0,)]),

    C("constants.py", "circle_area", [(1.0,), (2.5,), (0.1,)]),
    C("constants.py", "e_power", [(1.0,), (-2.0,), (0.5,)]),
    C("constants.py", "use_consts", [(1.0,), (-2.0,), (0.5,)]),
    C("constants.py", "exp_series", [(1.0,), (-2.0,), (0.5,)]),

    C("power.py", "pow_float_int", [(1.5, 3), (2.0, -2), (-1.5, 0), (-2.0, 5)]),
    C("power.py", "pow_int_int", [(2, 10), (-3, 3), (5, 0), (0, 0)], differentiable=False),
    C("power.py", "pow_float_float", [(2.0, 0.5), (0.5, -1.5), (3.0, 2.2)]),
    C("power.py", "pow_const", [(1.5,), (4.0,), (0.3,)]),

    C("tuple_return.py", "fib_pair", [(1.0, 1.0, 5), (0.5, -0.3, 0), (2.0, 1.0, 10)]),
    C("tuple_return.py", "swap", [(1.0, 2.0), (-3.0, 0.5), (0.0, 0.0)]),
    C("tuple_return.py", "sincos", [(0.5,), (2.0,), (-1.0,)]),
    C("tuple_return.py", "use_sincos", [(0.5,), (2.0,), (-1.0,)]),
    C("tuple_return.py", "stats", [(vec(1.0, 2.0, 4.0),), (rand_vec(9, 46),), (vec(3.0),)]),

    C("aug_assign.py", "aug_float", [(2.0, 3.1), (1.5, -0.5), (-1.0, 2.5)]),
    C("aug_assign.py", "aug_int", [(3, 4), (-5, 2), (0, 0)], differentiable=False),
    C("aug_assign.py", "aug_array", [(vec(1.0, 2.0), 3.0), (rand_vec(4, 47), -1.0), (empty_vec(), 2.0)]),

    C("cond_expr.py", "relu", [(1.5,), (-2.0,), (0.3,)]),
    C("cond_expr.py", "sign", [(2.0,), (-3.0,), (0.0,)], differentiable=False),
    C("cond_expr.py", "alternating", [(0.5, 4), (1.5, 0), (-2.0, 7)]),
    C("cond_expr.py", "sqrt_abs", [(4.0,), (-9.0,), (0.25,)]),

    C("from_import.py", "from_import", [(0.5,), (2.0,), (3.0,)]),

    C("branch_in_loop.py", "leaky_relu_sum", [(vec(1.0, -2.0, 3.0),), (rand_vec(6, 48),), (empty_vec(),)]),
    C("branch_in_loop.py", "branchy_map", [(0.5, 5), (2.0, 8), (1.5, 0), (0.2, 3)]),
    C("branch_in_loop.py", "branch_on_index", [(1.0, 7), (0.5, 0), (-2.0, 4)]),

    C("nested_loops.py", "triangle_sum", [(0.5, 5), (2.0, 0), (-1.0, 4)]),
    C("nested_loops.py", "while_of_for", [(1.0, 3), (12.0, 2), (0.01, 1)]),
    C("nested_loops.py", "pair_interactions", [(vec(0.0, 1.0, 3.0),), (rand_vec(7, 49),), (vec(2.0),)]),

    C("dot_norm.py", "dot", [(vec(1.0, 2.0), vec(3.0, -1.0)), (rand_vec(6, 54), rand_vec(6, 55)),
                             (empty_vec(), empty_vec())]),
    C("dot_norm.py", "norm", [(vec(3.0, 4.0),), (rand_vec(6, 56),), (vec(-2.0),)]),
    C("dot_norm.py", "normalize", [(vec(3.0, 4.0),), (rand_vec(6, 57),), (vec(-2.0),)]),
    C("dot_norm.py", "cosine", [(vec(1.0, 2.0), vec(3.0, -1.0)), (rand_vec(6, 58), rand_vec(6, 59)),
                                (vec(2.0), vec(-0.5))]),

    C("logsumexp.py", "logsumexp", [(rand_vec(5, 60),), (vec(1.0),), (vec(-1.0, 2.0, 2.5, 700.0),)]),
    C("logsumexp.py", "softmax", [(rand_vec(5, 61),), (vec(1.0),), (vec(-1.0, 2.0, 2.5),)]),
    C("logsumexp.py", "softplus", [(1.0,), (-3.0,), (20.0,)]),

    C("ode_euler.py", "euler_decay", [(1.0, 0.5, 2.0, 10), (2.0, 1.5, 1.0, 100), (-1.0, 0.1, 3.0, 1)]),
    C("ode_euler.py", "pendulum", [(0.5, 0.0, 100), (1.0, -0.5, 10), (0.1, 0.2, 0)]),

    C("matmul.py", "matmul", [(rand_mat(2, 3, 62), rand_mat(3, 2, 63)), (vec(2.0).reshape(1, 1),
                              vec(-1.0).reshape(1, 1)), (rand_mat(3, 3, 64), rand_mat(3, 4, 65))]),
    C("matmul.py", "trace_of_product", [(rand_mat(2, 3, 66), rand_mat(3, 2, 67)),
                                        (rand_mat(3, 3, 68), rand_mat(3, 4, 69)),
                                        (rand_mat(4, 1, 70), rand_mat(1, 4, 71))]),

    C("ones_empty.py", "ones_plus", [(vec(1.0, 2.0),), (rand_vec(5, 72),), (empty_vec(),)]),
    C("ones_empty.py", "empty_filled", [(vec(1.0, 2.0),), (rand_vec(5, 73),), (empty_vec(),)]),
    C("ones_empty.py", "ones_2d", [(2, 3, 1.5), (1, 1, -2.0), (0, 3, 1.0)]),
    C("ones_empty.py", "outer_empty", [(vec(1.0, 2.0), vec(3.0, 4.0, 5.0)), (rand_vec(4, 74), rand_vec(2, 75)),
                                       (empty_vec(), vec(1.0))]),

    C("halving.py", "halve_count", [(10.0,), (0.5,), (1000.0,)], differentiable=False),
    C("halving.py", "halve_value", [(10.0,), (0.5,), (1000.0,)]),

    C("multiple_returns.py", "early_exit", [(-1.5,), (1.0,), (3.0,)]),
    C("multiple_returns.py", "first_pair_above", [(V3, 1.2), (V3, 5.0), (rand_vec(6, 76), 0.8)]),
    C("multiple_returns.py", "return_from_while", [(1.0,), (0.5,), (3.0,)]),

    C("pass_stmt.py", "with_pass", [(2.0,), (-3.0,), (0.5,)]),
    C("pass_stmt.py", "pass_in_loop", [(1.5, 5), (2.0, 0), (-1.0, 4)]),

    C("heat_stencil.py", "heat_1d", [(rand_vec(6, 77), 0.2, 10), (vec(1.0, 0.0, 0.0, 1.0), 0.25, 0),
                                     (rand_vec(3, 78), 0.1, 3), (vec(1.0, 2.0, 3.0, 4.0), 0.3, 1)]),
    C("heat_stencil.py", "laplacian_2d", [(rand_mat(4, 5, 79),), (rand_mat(2, 2, 80),), (rand_mat(3, 3, 81),)]),

    C("bool_ops.py", "is_between", [(0.5, 0.0, 1.0), (1.5, 0.0, 1.0), (1.0, 0.0, 1.0)], differentiable=False),
    C("bool_ops.py", "xor", [(1.0, -1.0), (1.0, 1.0), (-1.0, -1.0), (-1.0, 2.0)], differentiable=False),
    C("bool_ops.py", "count_positive", [(vec(1.0, -2.0, 3.0),), (rand_vec(9, 82),), (empty_vec(),)],
      differentiable=False),
    C("bool_ops.py", "all_sorted", [(vec(1.0, 2.0, 3.0),), (vec(1.0, 3.0, 2.0),), (empty_vec(),), (vec(5.0),)],
      differentiable=False),

    C("integer_loops.py", "gcd", [(48, 18), (17, 5), (0, 7), (-12, 8)], differentiable=False),
    C("integer_loops.py", "digit_sum", [(12345,), (-907,), (0,)], differentiable=False),
    C("integer_loops.py", "collatz_steps", [(27,), (1,), (6,)], differentiable=False),

    C("mlp.py", "mlp", [MLP_A, MLP_B, MLP_C]),
    C("mlp.py", "mlp_loss", [MLP_A + (0.5,), MLP_B + (-1.0,), MLP_C + (2.0,)]),

    C("trapezoid.py", "integrand", [(0.5, 1.0), (2.0, 0.1), (0.0, 3.0)]),
    C("trapezoid.py", "trapezoid", [(1.0, 2.0, 10), (0.5, 1.0, 1), (2.0, 3.0, 50)]),

    C("running_max.py", "running_max", [(vec(1.0, 3.0, 2.0, 5.0, 4.0),), (rand_vec(6, 83),), (vec(-1.0),)]),
    C("running_max.py", "argmax", [(vec(1.0, 3.0, 2.0, 5.0, 4.0),), (rand_vec(6, 84),), (vec(-1.0),)],
      differentiable=False),

    C("shapes.py", "dims", [(rand_mat(2, 3, 85),), (rand_mat(1, 1, 86),), (np.zeros((0, 4)),)],
      differentiable=False),
    C("shapes.py", "row_means", [(rand_mat(2, 3, 87),), (rand_mat(1, 1, 88),), (rand_mat(4, 2, 89),)]),
    C("shapes.py", "mean", [(vec(1.0, 2.0),), (rand_vec(5, 90),), (vec(-3.0),)]),

    C("abs_sign.py", "abs_mix", [(1.5, -2.0), (-0.5, 3.0), (2.0, 1.0)]),
    C("abs_sign.py", "abs_int", [(3, 5), (-4, 2), (0, 0)], differentiable=False),
    C("abs_sign.py", "copysign", [(1.5, -2.0), (-0.5, 3.0), (2.0, 1.0)]),

    C("rounding.py", "floor_ceil", [(2.5,), (-2.5,), (3.0,), (-0.0,)], differentiable=False),
    C("rounding.py", "frac_part", [(2.3,), (-1.7,), (0.5,)]),
    C("rounding.py", "floor_div_scale", [(7.3, 2.0), (-5.5, 1.5), (1.0, 0.3)]),

    C("negative_index.py", "last", [(vec(1.0, 2.0, 3.0),), (vec(4.0),), (rand_vec(5, 91),)]),
    C("negative_index.py", "corners", [(rand_mat(2, 3, 92),), (rand_mat(1, 1, 93),), (rand_mat(4, 4, 94),)]),
    C("negative_index.py", "at", [(V3, 0), (V3, -1), (V3, 2), (V3, -3)]),
    C("negative_index.py", "at2", [(rand_mat(2, 3, 95), 1, 2), (rand_mat(2, 3, 95), -2, -3),
                                   (rand_mat(2, 3, 95), 0, -1)]),
    C("negative_index.py", "set_at", [(vec(1.0, 2.0, 3.0), -1, 5.0), (vec(1.0, 2.0, 3.0), 0, -1.0),
                                      (vec(7.0), -1, 0.5)]),

    C("errors_in_loops.py", "log_sum", [(vec(1.0, 2.0, 3.0),), (rand_vec(5, 96, 0.1, 2.0),), (empty_vec(),)]),
    C("errors_in_loops.py", "reciprocal_sum", [(vec(1.0, 2.0, -4.0),), (rand_vec(5, 97, 0.5, 2.0),),
                                               (empty_vec(),)]),
    C("errors_in_loops.py", "shifted_reciprocal_sum", [(2.5, 5), (-1.5, 3), (0.5, 0)]),
    C("errors_in_loops.py", "int_reciprocal_count", [(5, 10), (0, 0), (3, -2)], differentiable=False),

    C("overflow.py", "exp_growth", [(1.0,), (-1000.0,), (700.0,)]),
    C("overflow.py", "pow_growth", [(10.0, 300.0), (2.0, 0.5), (0.5, 3.0)]),
    C("overflow.py", "mul_to_inf", [(1.5,), (-2.0,), (0.5,)]),
    C("overflow.py", "mul_to_inf", [(1e20,), (-1e10,), (math.inf,)], differentiable=False),

    C("type_promotion.py", "sum_from_int_zero", [(vec(1.0, 2.0),), (rand_vec(4, 98),), (vec(-0.5),)]),
    # With no iteration the result stays the int 0.
    C("type_promotion.py", "sum_from_int_zero", [(empty_vec(),), (vec(0.0),), (vec(1.0, -1.0),)],
      differentiable=False),
    C("type_promotion.py", "weighted_index_sum", [(vec(1.0, 2.0),), (rand_vec(4, 99),), (empty_vec(),)]),
]


ERROR_CASES: list[ErrorCase] = [
    ErrorCase("textbook.py", "f", (0.0, 1.0), ValueError),
    ErrorCase("textbook.py", "f", (-1.0, 2.0), ValueError),
    ErrorCase("helmholtz.py", "helmholtz", helmholtz_args(3, 32, bx=1.5), ValueError),
    ErrorCase("math_funcs.py", "sqrt_of", (-1.0,), ValueError),
    ErrorCase("math_funcs.py", "acos_of", (2.0,), ValueError),
    ErrorCase("math_funcs.py", "log_base", (0.0, 2.0), ValueError),
    ErrorCase("math_funcs.py", "log_base", (2.0, 1.0), ZeroDivisionError),
    ErrorCase("math_funcs.py", "pow_of", (-8.0, 1.0 / 3.0), ValueError),
    ErrorCase("math_funcs.py", "pow_of", (0.0, -1.0), ValueError),
    ErrorCase("math_funcs.py", "exp_log", (-1.0, 2.0), ValueError),
    ErrorCase("overflow.py", "exp_growth", (1000.0,), OverflowError),
    ErrorCase("overflow.py", "pow_growth", (10.0, 400.0), OverflowError),
    ErrorCase("overflow.py", "pow_growth", (0.0, -1.0), ZeroDivisionError),
    ErrorCase("power.py", "pow_float_int", (0.0, -2), ZeroDivisionError),
    ErrorCase("int_arith.py", "int_divmod", (1, 0), ZeroDivisionError),
    ErrorCase("int_arith.py", "int_divmod", (-5, 0), ZeroDivisionError),
    ErrorCase("int_arith.py", "float_divmod", (1.0, 0.0), ZeroDivisionError),
    ErrorCase("int_arith.py", "int_true_div", (1, 0), ZeroDivisionError),
    ErrorCase("errors_in_loops.py", "log_sum", (vec(1.0, 0.0, 2.0),), ValueError),
    ErrorCase("errors_in_loops.py", "log_sum", (vec(1.0, -1.0),), ValueError),
    ErrorCase("errors_in_loops.py", "shifted_reciprocal_sum", (2.0, 5), ZeroDivisionError),
    ErrorCase("errors_in_loops.py", "int_reciprocal_count", (5, 2), ZeroDivisionError),
    ErrorCase("shapes.py", "mean", (empty_vec(),), ZeroDivisionError),
    ErrorCase("trapezoid.py", "trapezoid", (1.0, 2.0, 0), ZeroDivisionError),
    ErrorCase("negative_step.py", "step_by", (1.0, 0, 5, 0), ValueError),
    ErrorCase("conversions.py", "to_int", (math.inf,), OverflowError),
    ErrorCase("conversions.py", "to_int", (-math.inf,), OverflowError),
    ErrorCase("conversions.py", "to_int", (math.nan,), ValueError),
    ErrorCase("conversions.py", "index_from_fraction", (vec(1.0, 2.0), 2.5), IndexError),
    ErrorCase("negative_index.py", "at", (V3, 3), IndexError),
    ErrorCase("negative_index.py", "at", (V3, -4), IndexError),
    ErrorCase("negative_index.py", "at", (empty_vec(), 0), IndexError),
    ErrorCase("negative_index.py", "at2", (rand_mat(2, 3, 95), 0, 3), IndexError),
    ErrorCase("negative_index.py", "at2", (rand_mat(2, 3, 95), -3, 0), IndexError),
    ErrorCase("negative_index.py", "set_at", (vec(1.0, 2.0), 5, 1.0), IndexError),
    ErrorCase("logsumexp.py", "logsumexp", (empty_vec(),), IndexError),
    ErrorCase("minmax.py", "array_max", (empty_vec(),), IndexError),
]
