"""Helmholtz free energy (Baydin et al. 2018, Table 4): primal against Numba
and CPython, and gradient / primal time ratios for reverse mode, forward mode
(n passes) and central finite differences, all measured in one process."""
from __future__ import annotations

import numpy as np

import adjit
from benchmarks import workloads
from benchmarks.common import fmt, interleaved

SIZES = (1, 8, 15, 22, 29, 36, 43, 50, 100, 1000)


def inputs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 1.0, n)
    b = rng.uniform(0.1, 1.0, n)
    b *= 0.5 / float(b @ x)
    M = rng.uniform(-1.0, 1.0, (n, n))
    return x, b, (M + M.T) / 2


def numba_primal():
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(workloads.helmholtz)


def run(sizes=SIZES, quick: bool = False) -> list[dict]:
    primal = adjit.jit(workloads.helmholtz)
    reverse = adjit.grad(workloads.helmholtz)
    forward = adjit.jacfwd(workloads.helmholtz)
    nb = numba_primal()
    rows = []
    for n in sizes:
        x, b, A = inputs(n)
        want = workloads.helmholtz(x, b, A)
        assert abs(primal(x, b, A) - want) <= 1e-9 * abs(want)
        g = reverse(x, b, A)
        np.testing.assert_allclose(forward(x, b, A), g, rtol=1e-9, atol=1e-9)

        def finite_differences():
            h = 1e-6
            out = np.empty(n)
            for i in range(n):
                up, down = x.copy(), x.copy()
                up[i] += h
                down[i] -= h
                out[i] = (primal(up, b, A) - primal(down, b, A)) / (2 * h)
            return out

        candidates = {"adjit primal": lambda: primal(x, b, A),
                      "adjit reverse": lambda: reverse(x, b, A),
                      "adjit forward": lambda: forward(x, b, A)}
        if n <= 100:
            candidates["finite differences"] = finite_differences
        if nb is not None:
            nb(x, b, A)
            candidates["numba primal"] = lambda: nb(x, b, A)
        if n <= 100 or not quick:
            candidates["cpython primal"] = lambda: workloads.helmholtz(x, b, A)
        t = interleaved(candidates, repeats=3 if quick else 7)
        row = {"n": n, **{k: v for k, v in t.items()}}
        row["reverse / primal"] = t["adjit reverse"] / t["adjit primal"]
        row["forward / primal"] = t["adjit forward"] / t["adjit primal"]
        if "finite differences" in t:
            row["fd / primal"] = t["finite differences"] / t["adjit primal"]
        if "numba primal" in t:
            row["adjit / numba"] = t["adjit primal"] / t["numba primal"]
        if "cpython primal" in t:
            row["cpython / adjit"] = t["cpython primal"] / t["adjit primal"]
        rows.append(row)
        print(f"n={n:5d}  primal {fmt(t['adjit primal'])}  reverse/primal "
              f"{row['reverse / primal']:.2f}  forward/primal {row['forward / primal']:.2f}"
              + (f"  adjit/numba {row['adjit / numba']:.2f}" if "adjit / numba" in row else "")
              + (f"  cpython/adjit {row['cpython / adjit']:.0f}" if "cpython / adjit" in row
                 else ""), flush=True)
    return rows


if __name__ == "__main__":
    run()
