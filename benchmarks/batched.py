"""Batched evaluation: the gradient of the textbook function
f(x1, x2) = ln(x1) + x1 x2 - sin(x2) at 10^6 points (docs/batched.md).

Side by side, in one run (interleaved repeats, medians):

- `adjit.vectorize(grad(f))` with target "cpu" and "parallel" (2 threads,
  or os.cpu_count()), writing into preallocated `out=` arrays;
- the scalar native time: the same compiled scalar gradient called once per
  point, out of line, from a native loop over the same arrays
  (`compile_batched(..., inline=False)`): what one scalar evaluation costs
  native code, with no Python in between;
- numpy evaluating the hand-written gradient (1/x1 + x2, x1 - cos(x2)).
"""
from __future__ import annotations

import os
import time

import numpy as np

import adjit
from adjit.backend.llvm.batched import compile_batched, make_grid
from benchmarks import workloads
from benchmarks.common import fmt, interleaved


def numpy_gradient(x1: np.ndarray, x2: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> None:
    np.divide(1.0, x1, out=g1)
    g1 += x2
    np.cos(x2, out=g2)
    np.subtract(x1, g2, out=g2)


def cores_busy(fn, calls: int = 5) -> float:
    """CPU time of this process / wall time over `calls` calls of `fn`: how
    many cores its threads kept busy at once (on an idle machine, about the
    thread count when they run in parallel)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def run(quick: bool = False) -> dict:
    n = 200_000 if quick else 1_000_000
    threads = max(2, os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    x1 = rng.uniform(0.5, 4.0, n)
    x2 = rng.uniform(-3.0, 3.0, n)
    g1, g2 = np.empty(n), np.empty(n)

    gradient = adjit.grad(workloads.textbook, argnums=(0, 1))
    cpu = adjit.vectorize(gradient, "cpu")
    parallel = adjit.vectorize(gradient, "parallel", threads=threads)
    module = gradient.ir(1.0, 1.0, optimize=True)
    scalar_calls = compile_batched(module, inline=False)
    grid = make_grid(1, n, [a.ctypes.data for a in (x1, x2, g1, g2)], [0] * 4, [8] * 4)

    # Every candidate computes the same values (checked here, bit for bit).
    expected = tuple(np.array(r) for r in cpu(x1, x2))
    for candidate in (lambda: parallel(x1, x2, out=(g1, g2)),
                      lambda: scalar_calls.run(grid, 0, n)):
        g1[:], g2[:] = 0.0, 0.0
        candidate()
        assert np.array_equal(g1, expected[0]) and np.array_equal(g2, expected[1])

    t = interleaved({
        "cpu": lambda: cpu(x1, x2, out=(g1, g2)),
        "parallel": lambda: parallel(x1, x2, out=(g1, g2)),
        "scalar calls": lambda: scalar_calls.run(grid, 0, n),
        "numpy": lambda: numpy_gradient(x1, x2, g1, g2),
    }, repeats=3 if quick else 7, min_time=0.05 if quick else 0.2)
    out = {
        "points": n,
        "parallel cores busy": cores_busy(lambda: parallel(x1, x2, out=(g1, g2))),
        "threads": threads,
        "cpu per point": t["cpu"] / n,
        "parallel per point": t["parallel"] / n,
        "scalar native per point": t["scalar calls"] / n,
        "numpy per point": t["numpy"] / n,
        "parallel speedup": t["cpu"] / t["parallel"],
        "cpu / scalar native": t["cpu"] / t["scalar calls"],
        "cpu / numpy": t["cpu"] / t["numpy"],
    }
    print("  ".join(f"{k}: {fmt(v) if 'per point' in k else f'{v:.3g}'}"
                    for k, v in out.items()), flush=True)
    return out


if __name__ == "__main__":
    run()
