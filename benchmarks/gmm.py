"""ADBench's GMM objective (n = 1000 points, d in {2, 10, 20}, K in {5, 10,
25}): objective and gradient time of adjit (reverse mode through the loops
of benchmarks/workloads.py) and of every installed peer, every gradient
checked against the others first."""
from __future__ import annotations

import numpy as np

import adjit
from benchmarks import peers_gmm
from benchmarks.common import agree, fmt, interleaved
from benchmarks.workloads import gmm_objective

SIZES = [(d, K) for d in (2, 10, 20) for K in (5, 10, 25)]
QUICK_SIZES = [(2, 5), (10, 5)]
N_POINTS = 1000
CPYTHON_MAX_WORK = 10 ** 6  # n K d^2 above which the interpreted loops take seconds a call

# ADBench (2015) gradient / objective time ratios over these sizes, from workloads.md.
PUBLISHED = {"hand-written C++": "2.1-3.7", "Tapenade": "3.6-10.3", "ADOL-C": "7.9-23",
             "Adept": "7.8-33"}


def inputs(n: int, d: int, K: int, seed: int = 0) -> tuple:
    """(alphas, means, icf, x, gamma, m) with ADBench's Wishart prior (gamma 1, m 0)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0.0, 1.0, K), rng.uniform(0.0, 1.0, (K, d)),
            rng.normal(0.0, 0.1, (K, d * (d + 1) // 2)), rng.uniform(0.0, 1.0, (n, d)), 1.0, 0)


def run(quick: bool = False) -> list[dict]:
    """One row per (d, K): seconds per call, keyed "f: NAME" and "grad: NAME"."""
    objective = adjit.jit(gmm_objective)
    gradient = adjit.grad(gmm_objective, argnums=(0, 1, 2))
    rows = []
    for d, K in QUICK_SIZES if quick else SIZES:
        params = inputs(N_POINTS, d, K)
        slow_ok = N_POINTS * K * d * d <= (CPYTHON_MAX_WORK // 10 if quick else CPYTHON_MAX_WORK)
        peer_f, peer_g = peers_gmm.candidates(params, slow_ok)
        f_candidates = {"adjit": lambda: objective(*params), **peer_f}
        g_candidates = {"adjit": lambda: gradient(*params), **peer_g}
        agree({k: fn() for k, fn in f_candidates.items()}, rtol=1e-10)
        agree({k: fn() for k, fn in g_candidates.items()}, rtol=1e-7, atol=1e-7)
        t = interleaved({**{f"f: {k}": fn for k, fn in f_candidates.items()},
                         **{f"grad: {k}": fn for k, fn in g_candidates.items()}},
                        repeats=3 if quick else 5)
        rows.append({"d": d, "K": K, **t})
        print(f"d={d:2d} K={K:2d}  " + "  ".join(f"{k} {fmt(v)}" for k, v in t.items()),
              flush=True)
    return rows


if __name__ == "__main__":
    run(quick=True)
