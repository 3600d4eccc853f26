"""The benchmark suite's own code, without timing anything: the peers'
hand-derived gradients agree with adjit's, the generated compile-scaling
programs have the size they claim, and the report renders from results."""
from __future__ import annotations

import ast
import math

import numpy as np
import pytest

import adjit
from adjit.api import Staged
from benchmarks import compile_scaling, gmm, helmholtz, peers_gmm, peers_helmholtz, report
from benchmarks.peers_logistic import tangent_loop
from benchmarks.workloads import gmm_objective, long_logistic


@pytest.mark.parametrize("n", [1, 4, 9])
def test_helmholtz_hand_gradients_match_adjit(n):
    x, b, A = helmholtz.inputs(n, seed=n)
    want = adjit.grad(peers_helmholtz.helmholtz)(x, b, A)
    np.testing.assert_allclose(peers_helmholtz.numpy_gradient(x, b, A), want, rtol=1e-10)
    np.testing.assert_allclose(peers_helmholtz.loop_gradient(x, b, A), want, rtol=1e-10)
    assert peers_helmholtz.vectorized(np, x, b, A) == pytest.approx(
        peers_helmholtz.helmholtz(x, b, A), rel=1e-12)


@pytest.mark.parametrize("d, K", [(1, 1), (2, 3), (4, 5)])
def test_gmm_objective_and_hand_gradients_agree(d, K):
    params = gmm.inputs(7, d, K, seed=d + K)
    params = params[:4] + (0.7, 2)  # a prior with m != 0 exercises every term
    value = adjit.jit(gmm_objective)(*params)
    assert value == pytest.approx(gmm_objective(*params), rel=1e-12)
    P = peers_gmm.scatter_tensor(d)
    assert peers_gmm.vectorized(np, peers_gmm.numpy_logsumexp, P, *params) == \
        pytest.approx(value, rel=1e-12)
    want = adjit.grad(gmm_objective, argnums=(0, 1, 2))(*params)
    for got in (peers_gmm.numpy_gradient(*params), peers_gmm.loop_gradient(*params)):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_gmm_matches_adbench_formula_with_explicit_matrices():
    alphas, means, icf, x, gamma, m = gmm.inputs(5, 3, 2, seed=1)
    d, K, n = 3, 2, 5
    total = 0.0
    for i in range(n):
        terms = []
        for k in range(K):
            Q = np.diag(np.exp(icf[k, :d]))
            lower = iter(icf[k, d:])  # the strict lower triangle, column by column
            for c in range(d):
                for r in range(c + 1, d):
                    Q[r, c] = next(lower)
            y = Q @ (x[i] - means[k])
            terms.append(alphas[k] + icf[k, :d].sum() - 0.5 * y @ y)
        total += np.log(np.exp(terms).sum())
    total -= n * np.log(np.exp(alphas).sum())
    total += sum(0.5 * gamma ** 2 * ((np.exp(icf[k, :d]) ** 2).sum() + (icf[k, d:] ** 2).sum())
                 - m * icf[k, :d].sum() for k in range(K))
    total += peers_gmm.constants(n, d, K, gamma, m)
    assert gmm_objective(alphas, means, icf, x, gamma, m) == pytest.approx(total, rel=1e-12)


def test_logistic_tangent_loop_matches_adjit():
    assert tangent_loop(0.3, 25) == pytest.approx(adjit.grad(long_logistic)(0.3, 25), rel=1e-9)


@pytest.mark.parametrize("size", [10, 11, 37, 250])
def test_compile_scaling_program_has_the_stated_size(size, tmp_path):
    source = compile_scaling.program(size)
    body = ast.parse(source).body[-1].body
    assert sum(1 + (len(s.body) if isinstance(s, ast.For) else 0) for s in body) == size
    namespace = {"math": math}
    exec(compile(source, "<generated>", "exec"), namespace)
    path = tmp_path / "generated.py"
    path.write_text(source)
    compiled = Staged((str(path), "f"))
    assert compiled(0.3, 0.7) == pytest.approx(namespace["f"](0.3, 0.7), rel=1e-12)


def test_report_renders_every_section(tmp_path):
    rows = [{"n": n, "f: adjit": 1e-6 * n, "grad: adjit reverse": 3e-6 * n,
             "grad: adjit forward": 5e-6 * n, "f: jax": 2e-6 * n, "grad: jax": 4e-6 * n}
            for n in (1, 8)]
    results = {
        "date": "2026-01-01 00:00 UTC", "machine": "test machine", "seconds": 60.0,
        "versions": {"numpy": "1"}, "threads": {"OMP_NUM_THREADS": "1"},
        "skipped peers": {"torch": "not installed"},
        "helmholtz": rows,
        "gmm": [{"d": 2, "K": 5, "f: adjit": 1e-3, "grad: adjit": 4e-3, "f: numpy": 2e-3,
                 "grad: numpy (by hand)": 3e-3}],
        "logistic": [{"N": 1000, "f: adjit": 1e-6, "derivative: adjit reverse": 2e-6,
                      "peak memory growth per iteration (bytes)": 8.0}],
        "calls": {"adjit": {"adjit f": 4e-7, "adjit / numba": 0.9},
                  "peers": [{"peer": "jax", "f": 1e-5, "grad f": None}]},
        "compile": {"rows": [{"statements": 10, "f": 0.1, "grad f": 0.2}],
                    "fits": {"f": {"seconds per statement": 1e-3, "intercept (s)": 0.1,
                                   "log-log exponent (>= 100 statements)": 1.0}}},
        "passes": [{"gradient of": "x", "with passes": 1e-6, "without passes": 2e-6,
                    "without / with": 2.0}],
        "batched": {"error": "ImportError: gone"},
    }
    out = tmp_path / "bench.md"
    report.write(results, out, tmp_path / "img")
    text = out.read_text()
    # Relative to f at n = 1: reverse at n = 8 is 24 us / 1 us; at the same n, 3.
    assert "| reverse AD | 3 | 24 |" in text
    assert "| reverse AD | 3 | 3 |" in text
    assert "| 2 | 5 | 4 | 1.5 |" in text  # GMM gradient / objective, adjit and numpy
    assert "torch: not installed" in text
    assert "Not measured: benchmarks/batched.py failed or is missing (ImportError: gone)" in text
    for heading in ("## Helmholtz", "## GMM", "## Long loops", "## Calls", "## Compile time",
                    "## adjit's passes", "## Batched"):
        assert heading in text
