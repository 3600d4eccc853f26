"""Helmholtz free energy (Baydin et al. 2018, Table 4): time of f and of its
gradient by adjit's reverse mode, forward mode (n passes) and central finite
differences, and by every installed peer, all measured in one process with
every result checked against the others first."""
from __future__ import annotations

import numpy as np

import adjit
from benchmarks import peers_helmholtz
from benchmarks.common import agree, fmt, interleaved
from benchmarks.workloads import helmholtz

SIZES = (1, 8, 15, 22, 29, 36, 43, 50, 100, 1000)
QUICK_SIZES = (1, 8, 50)
FD_MAX_N = 100  # 2n primal calls per gradient: at n = 1000 one call takes seconds

# Baydin et al. (2018), Table 4: gradient time / f time at the same n, DiffSharp 0.5.7.
PUBLISHED = {"numerical differences": (1.08, 6.93, 12.17, 17.15, 19.87, 23.64, 25.67, 28.63),
             "forward AD (n passes)": (1.34, 2.66, 3.55, 4.54, 4.77, 5.59, 6.40, 7.69),
             "reverse AD": (1.52, 2.16, 2.16, 2.31, 2.16, 2.07, 1.99, 1.96)}
PUBLISHED_SIZES = (1, 8, 15, 22, 29, 36, 43, 50)


def inputs(n: int, seed: int = 0):
    """x_i ~ U(0.1, 1), b rescaled so that b.x = 0.5, A = (M + M^T) / 2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 1.0, n)
    b = rng.uniform(0.1, 1.0, n)
    b *= 0.5 / float(b @ x)
    M = rng.uniform(-1.0, 1.0, (n, n))
    return x, b, (M + M.T) / 2


def central_differences(primal, x, b, A, h: float = 1e-6) -> np.ndarray:
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        out[i] = (primal(up, b, A) - primal(down, b, A)) / (2 * h)
    return out


def run(quick: bool = False) -> list[dict]:
    """One row per n: seconds per call of every candidate, keyed
    "f: NAME" and "grad: NAME"."""
    primal = adjit.jit(helmholtz)
    reverse = adjit.grad(helmholtz)
    forward = adjit.jacfwd(helmholtz)
    rows = []
    for n in QUICK_SIZES if quick else SIZES:
        x, b, A = inputs(n)
        peer_f, peer_g = peers_helmholtz.candidates(x, b, A, slow_ok=not quick or n <= 50)
        f_candidates = {"adjit": lambda: primal(x, b, A), **peer_f}
        g_candidates = {"adjit reverse": lambda: reverse(x, b, A),
                        "adjit forward": lambda: forward(x, b, A), **peer_g}
        agree({k: fn() for k, fn in f_candidates.items()}, rtol=1e-10)
        agree({k: fn() for k, fn in g_candidates.items()}, rtol=1e-8, atol=1e-8)
        if n <= FD_MAX_N:
            fd = lambda: central_differences(primal, x, b, A)  # noqa: E731
            agree({"adjit reverse": reverse(x, b, A), "finite differences": fd()},
                  rtol=1e-4, atol=1e-2)
            g_candidates["finite differences"] = fd
        t = interleaved({**{f"f: {k}": fn for k, fn in f_candidates.items()},
                         **{f"grad: {k}": fn for k, fn in g_candidates.items()}},
                        repeats=3 if quick else (5 if n >= 1000 else 7))
        rows.append({"n": n, **t})
        print(f"n={n:5d}  f {fmt(t['f: adjit'])}  reverse/f "
              f"{t['grad: adjit reverse'] / t['f: adjit']:.2f}  forward/f "
              f"{t['grad: adjit forward'] / t['f: adjit']:.2f}  "
              + "  ".join(f"{k} {fmt(v)}" for k, v in t.items() if "adjit" not in k),
              flush=True)
    return rows


if __name__ == "__main__":
    run(quick=True)
