"""Gradient run time with and without adjit's own passes (LLVM O3 in both)."""
from __future__ import annotations

import numpy as np

import adjit
from benchmarks import workloads
from benchmarks.common import fmt, interleaved
from benchmarks.helmholtz import inputs


def run(quick: bool = False) -> list[dict]:
    rows = []
    cases = [("helmholtz n=50", workloads.helmholtz, inputs(50)),
             ("helmholtz n=1000", workloads.helmholtz, inputs(1000)),
             ("logistic N=1e5", workloads.long_logistic, (0.3, 10 ** 5))]
    for label, f, args in cases:
        with_passes = adjit.grad(f)
        without = adjit.grad(adjit.jit(f, passes=""))
        np.testing.assert_allclose(with_passes(*args), without(*args), rtol=1e-9, atol=1e-12)
        t = interleaved({"with passes": lambda: with_passes(*args),
                         "without passes": lambda: without(*args)},
                        repeats=3 if quick else 7)
        row = {"gradient of": label, **t,
               "without / with": t["without passes"] / t["with passes"]}
        rows.append(row)
        print(f"{label}: with passes {fmt(t['with passes'])}, without "
              f"{fmt(t['without passes'])} ({row['without / with']:.2f}x)", flush=True)
    return rows


if __name__ == "__main__":
    run()
