"""The corpus checked against CPython itself, before any compiler is involved.

Every case runs and returns values of the subset's types; every error case
raises what it says; every corpus file is used; every file stays inside the
subset (checked on Python's own AST); `differentiable` cases are smooth where
they claim to be; and the workloads compute what their formulas say.
"""
from __future__ import annotations

import ast
import math

import numpy as np
import pytest

from tests.corpus_cases import (CASES, CORPUS_DIR, ERROR_CASES, Case, cpython_function,
                                is_float_arg, iter_inputs, run_cpython)

INPUTS = list(iter_inputs())
INPUT_IDS = [f"{case.id}[{i}]" for case, i, _ in INPUTS]


def leaves(value):
    """The scalars and arrays of a result, tuples flattened."""
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def is_subset_value(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype == np.float64 and value.ndim in (1, 2)
    return isinstance(value, (bool, int, float, np.floating, np.bool_))


def float_leaves(value) -> list[np.ndarray]:
    out = []
    for leaf in leaves(value):
        if isinstance(leaf, np.ndarray):
            out.append(leaf.ravel())
        elif isinstance(leaf, (float, np.floating)):
            out.append(np.array([leaf], dtype=np.float64))
    return out


def arg_kind(a) -> str:
    if isinstance(a, np.ndarray):
        return f"array{a.ndim}:{a.dtype}"
    return type(a).__name__


# --- the cases run -------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # numpy's inf and nan
@pytest.mark.parametrize("case, i, args", INPUTS, ids=INPUT_IDS)
def test_case_runs_and_returns_subset_values(case: Case, i: int, args):
    result = run_cpython(case.file, case.func, args)
    assert not isinstance(result, tuple) or len(result) >= 2
    for leaf in leaves(result):
        assert is_subset_value(leaf), f"{case.id} returned {type(leaf).__name__}: {leaf!r}"


@pytest.mark.parametrize("err", ERROR_CASES, ids=[e.id for e in ERROR_CASES])
def test_error_case_raises(err):
    with pytest.raises(err.exception):
        run_cpython(err.file, err.func, err.args)


def test_every_corpus_file_is_used():
    used = {c.file for c in CASES} | {e.file for e in ERROR_CASES}
    files = {p.name for p in CORPUS_DIR.glob("*.py")}
    assert len(files) >= 45
    assert files - used == set()
    assert used - files == set()


def test_every_corpus_function_is_used():
    used = {(c.file, c.func) for c in CASES}
    for path in sorted(CORPUS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                assert (path.name, node.name) in used, f"{path.name}::{node.name} has no case"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_is_well_formed(case: Case):
    assert len(case.args_list) >= 3
    kinds = {tuple(arg_kind(a) for a in args) for args in case.args_list}
    assert len(kinds) == 1, f"{case.id}: arguments of different kinds {kinds}"
    for args in case.args_list:
        for a in args:
            assert not isinstance(a, np.ndarray) or (a.dtype == np.float64 and a.ndim in (1, 2))
    if case.differentiable:
        assert case.float_argnums, f"{case.id}: differentiable without float arguments"


def test_run_cpython_leaves_arguments_alone():
    x = np.array([1.0, 2.0, 3.0])
    result = run_cpython("scale_inplace.py", "scale_inplace", (x, 2.0))
    assert list(result) == [2.0, 4.0, 6.0]
    assert list(x) == [1.0, 2.0, 3.0]


# --- differentiable cases are smooth ----------------------------------------------

def directional_fd(case: Case, args, direction, cotangent, h: float) -> float:
    def phi(t: float) -> float:
        moved = list(args)
        for k, d in zip(case.float_argnums, direction):
            moved[k] = args[k] + t * d
        outs = float_leaves(run_cpython(case.file, case.func, tuple(moved)))
        return sum(float(np.dot(w, o)) for w, o in zip(cotangent, outs))

    return (phi(h) - phi(-h)) / (2.0 * h)


DIFFERENTIABLE = [(c, i, a) for c, i, a in INPUTS if c.differentiable]


@pytest.mark.parametrize("case, i, args", DIFFERENTIABLE,
                         ids=[f"{c.id}[{i}]" for c, i, _ in DIFFERENTIABLE])
def test_differentiable_case_is_smooth(case: Case, i: int, args):
    """Central differences with two step sizes agree: no kink or jump nearby."""
    rng = np.random.default_rng(i)
    result = run_cpython(case.file, case.func, args)
    outs = float_leaves(result)
    assert outs, f"{case.id} has no float result"
    assert all(np.all(np.isfinite(o)) for o in outs)
    direction = [rng.normal(size=np.shape(args[k])) if isinstance(args[k], np.ndarray) else rng.normal()
                 for k in case.float_argnums]
    cotangent = [rng.normal(size=o.shape) for o in outs]
    coarse = directional_fd(case, args, direction, cotangent, 1e-4)
    fine = directional_fd(case, args, direction, cotangent, 1e-5)
    magnitude = sum(float(np.sum(np.abs(o))) for o in outs)
    assert coarse == pytest.approx(fine, rel=1e-3, abs=1e-6 * (1.0 + magnitude))


# --- the corpus stays inside the subset -------------------------------------------

ALLOWED_NODES = (
    ast.Module, ast.Import, ast.ImportFrom, ast.alias, ast.FunctionDef, ast.arguments, ast.arg,
    ast.Assign, ast.AugAssign, ast.Return, ast.If, ast.While, ast.For, ast.Break, ast.Continue,
    ast.Pass, ast.Expr, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call,
    ast.Subscript, ast.Attribute, ast.Name, ast.Constant, ast.Tuple, ast.expr_context,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)
ALLOWED_MODULES = {"math", "numpy"}


def subset_violations(tree: ast.Module) -> list[str]:
    """Constructs outside adjit's subset, as 'line: what' strings."""
    bad = []
    docstrings = {id(f.body[0].value) for f in ast.walk(tree)
                  if isinstance(f, (ast.FunctionDef, ast.Module)) and f.body
                  and isinstance(f.body[0], ast.Expr) and isinstance(f.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if not isinstance(node, ALLOWED_NODES):
            bad.append(f"{line}: {type(node).__name__}")
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            if not isinstance(node.value, (int, float)):
                bad.append(f"{line}: constant {node.value!r}")
        elif isinstance(node, ast.Call) and node.keywords:
            bad.append(f"{line}: keyword arguments")
        elif isinstance(node, ast.For):
            it = node.iter
            if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                    and 1 <= len(it.args) <= 3 and isinstance(node.target, ast.Name)) or node.orelse:
                bad.append(f"{line}: for over something other than range")
        elif isinstance(node, ast.While) and node.orelse:
            bad.append(f"{line}: while ... else")
        elif isinstance(node, ast.FunctionDef):
            if node.decorator_list or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
                bad.append(f"{line}: decorators, *args or keyword-only arguments")
            if any(isinstance(n, ast.FunctionDef) for s in node.body for n in ast.walk(s)):
                bad.append(f"{line}: nested def")
        elif isinstance(node, ast.Import):
            bad += [f"{line}: import {a.name}" for a in node.names if a.name not in ALLOWED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module != "math":
            bad.append(f"{line}: from {node.module} import")
        elif isinstance(node, ast.Expr) and id(node.value) not in docstrings and not isinstance(node.value, ast.Call):
            bad.append(f"{line}: expression statement")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id in ("math", "np")):
                bad.append(f"{node.lineno}: method call .{node.func.attr}()")
            elif owner.id == "np" and node.func.attr in ("dot", "sum", "array", "mean", "max", "min"):
                bad.append(f"{node.lineno}: np.{node.func.attr} (arrays are used element-wise)")
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name)
                                                    and node.value.id in ("math", "np")):
            if node.attr != "shape":
                bad.append(f"{node.lineno}: attribute .{node.attr}")
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            bad.append(f"{node.lineno}: slicing")
    return bad


@pytest.mark.parametrize("path", sorted(CORPUS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_corpus_file_stays_in_subset(path):
    assert subset_violations(ast.parse(path.read_text())) == []


def test_subset_check_rejects_outside_constructs():
    src = "def f(x):\n    y = [x]\n    return x.sum() + np.dot(x, x)\n"
    found = " ".join(subset_violations(ast.parse(src)))
    assert "List" in found and ".sum()" in found and "np.dot" in found


# --- the workloads compute their formulas -----------------------------------------

def call(file: str, func: str, *args):
    return run_cpython(file, func, args)


def test_textbook_value_and_derivative_formulas():
    assert call("textbook.py", "f", 2.0, 5.0) == pytest.approx(11.652, abs=5e-4)
    assert call("textbook.py", "f_trace", 2.0, 5.0) == call("textbook.py", "f", 2.0, 5.0)
    assert 2.0 - math.cos(5.0) == 1.7163378145367738


@pytest.mark.parametrize("x", [0.5, -1.0, 1.3])
def test_swell_forms_agree(x):
    loop = call("swell_map.py", "swell_loop", x)
    assert call("swell_map.py", "swell_unrolled", x) == loop
    assert call("swell_map.py", "swell_closed_form", x) == pytest.approx(loop, rel=1e-12)
    h = 1e-6
    fd = (call("swell_map.py", "swell_loop", x + h) - call("swell_map.py", "swell_loop", x - h)) / (2 * h)
    assert call("swell_map.py", "swell_derivative", x) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("x", [0.1, 0.3, 0.7])
def test_logistic_derivative_formula(x):
    h = 1e-7
    fd = (call("logistic_for.py", "logistic_for", x + h, 3)
          - call("logistic_for.py", "logistic_for", x - h, 3)) / (2 * h)
    assert call("logistic_for.py", "dl4_dx", x) == pytest.approx(fd, rel=1e-5)
    assert call("logistic_while.py", "logistic_while", x, 3) == call("logistic_for.py", "logistic_for", x, 3)


def test_helmholtz_matches_vectorized_formula():
    case = next(c for c in CASES if c.func == "helmholtz")
    for x, b, A in case.args_list:
        bx = b @ x
        s2 = math.sqrt(2.0)
        expected = (8.314 * 298.15 * np.sum(x * np.log(x / (1.0 - bx)))
                    - (x @ A @ x) / (math.sqrt(8.0) * bx) * math.log((1 + (1 + s2) * bx) / (1 + (1 - s2) * bx)))
        assert call("helmholtz.py", "helmholtz", x, b, A) == pytest.approx(expected, rel=1e-10)


def gmm_reference(alphas, means, icf, x, gamma, m):
    n, d = x.shape
    K = alphas.shape[0]
    rows, cols = np.tril_indices(d, -1)
    order = np.lexsort((rows, cols))  # column by column
    terms = np.zeros((n, K))
    for k in range(K):
        Q = np.diag(np.exp(icf[k, :d]))
        Q[rows[order], cols[order]] = icf[k, d:]
        z = (x - means[k]) @ Q.T
        terms[:, k] = alphas[k] + icf[k, :d].sum() - 0.5 * np.sum(z * z, axis=1)

    def lse(v, axis=None):
        mx = np.max(v, axis=axis, keepdims=True)
        return np.squeeze(mx, axis=axis) + np.log(np.sum(np.exp(v - mx), axis=axis))

    nn = d + m + 1
    lgd = 0.25 * d * (d - 1) * math.log(math.pi) + sum(math.lgamma(0.5 * nn + 0.5 * (1 - j))
                                                       for j in range(1, d + 1))
    c = nn * d * (math.log(gamma) - 0.5 * math.log(2.0)) - lgd
    prior = sum(0.5 * gamma ** 2 * (np.sum(np.exp(icf[k, :d]) ** 2) + np.sum(icf[k, d:] ** 2))
                - m * icf[k, :d].sum() for k in range(K))
    return (np.sum(lse(terms, axis=1)) - n * lse(alphas) + prior
            - 0.5 * n * d * math.log(2 * math.pi) - K * c)


def test_gmm_matches_vectorized_formula():
    case = next(c for c in CASES if c.func == "gmm_objective")
    for args in case.args_list:
        assert call("gmm.py", "gmm_objective", *args) == pytest.approx(gmm_reference(*args), rel=1e-10)


def test_array_programs_match_numpy():
    rng = np.random.default_rng(0)
    A, B, x = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=4)
    np.testing.assert_allclose(call("matvec.py", "matvec", A, x), A @ x, rtol=1e-12)
    np.testing.assert_allclose(call("matmul.py", "matmul", A, B), A @ B, rtol=1e-12)
    np.testing.assert_array_equal(call("transpose.py", "transpose", A), A.T)
    np.testing.assert_allclose(call("prefix_sum.py", "prefix_sum", x), np.cumsum(x), rtol=1e-12)
    np.testing.assert_allclose(call("horner.py", "horner", x, 0.7), np.polyval(x[::-1], 0.7), rtol=1e-12)
    np.testing.assert_allclose(np.sum(call("logsumexp.py", "softmax", x)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(call("running_max.py", "running_max", x), np.maximum.accumulate(x))


def test_iterations_converge_to_their_answers():
    for a in (2.0, 0.25, 1e6):
        assert call("newton_sqrt.py", "newton_sqrt", a) == pytest.approx(math.sqrt(a), rel=1e-12)
    root = call("bisection.py", "bisect", 1.0, 0.0, 1.0)
    assert math.cos(root) == pytest.approx(root, abs=1e-9)
    assert call("integer_loops.py", "gcd", 48, 18) == 6
    assert call("integer_loops.py", "collatz_steps", 27) == 111


def test_float_argnums_are_the_float_arguments():
    case = next(c for c in CASES if c.func == "gmm_constants")
    assert case.float_argnums == (3,)
    assert next(c for c in CASES if c.func == "helmholtz").float_argnums == (0, 1, 2)
    assert is_float_arg(np.zeros(2)) and not is_float_arg(True) and not is_float_arg(3)
    assert cpython_function("textbook.py", "f")(2.0, 5.0) == call("textbook.py", "f", 2.0, 5.0)
