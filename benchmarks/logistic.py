"""The logistic map v = 3.9 v (1 - v) iterated N times: primal, forward and
reverse derivative time, and the reverse mode's tape memory per iteration."""
from __future__ import annotations

import math
import resource

import adjit
from benchmarks import workloads
from benchmarks.common import fmt, interleaved


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(sizes=(10 ** 3, 10 ** 5, 10 ** 7), quick: bool = False) -> list[dict]:
    primal = adjit.jit(workloads.long_logistic)
    reverse = adjit.grad(workloads.long_logistic)
    reverse(0.3, 10), primal(0.3, 10), adjit.jvp(primal, (0.3, 10), (1.0, 0))  # compile
    rows = []
    for n in sorted(sizes):
        x = 0.3
        before = peak_rss_bytes()  # the peak only grows: sizes run in increasing order
        d_rev = reverse(x, n)
        growth = max(0, peak_rss_bytes() - before)
        d_fwd = adjit.jvp(primal, (x, n), (1.0, 0))[1]
        # Chaotic: the derivative grows like e^(n/2) and overflows for large n.
        if math.isfinite(d_fwd):
            assert abs(d_rev - d_fwd) <= 1e-6 * max(1.0, abs(d_fwd)), (d_rev, d_fwd)
        else:
            assert not math.isfinite(d_rev), (d_rev, d_fwd)
        t = interleaved({"primal": lambda: primal(x, n), "reverse": lambda: reverse(x, n),
                         "forward": lambda: adjit.jvp(primal, (x, n), (1.0, 0))},
                        repeats=3 if quick or n >= 10 ** 7 else 5, min_time=0.01)
        row = {"N": n, **t, "reverse / primal": t["reverse"] / t["primal"],
               "forward / primal": t["forward"] / t["primal"],
               "peak memory growth per iteration (bytes)": growth / n}
        rows.append(row)
        print(f"N={n:>9}  primal {fmt(t['primal'])}  reverse {fmt(t['reverse'])} "
              f"({row['reverse / primal']:.1f}x)  forward {fmt(t['forward'])}  "
              f"peak growth {growth / n:.1f} B/iteration", flush=True)
    return rows


if __name__ == "__main__":
    run()
