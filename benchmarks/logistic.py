"""The logistic map v = 3.9 v (1 - v) iterated N times: primal, forward and
reverse derivative time of adjit and its peers, and adjit's reverse-mode
tape memory per iteration."""
from __future__ import annotations

import math
import resource

import adjit
from benchmarks import peers_logistic
from benchmarks.common import agree, fmt, interleaved
from benchmarks.workloads import long_logistic

SIZES = (10 ** 3, 10 ** 5, 10 ** 7)
QUICK_SIZES = (10 ** 3, 10 ** 5)
# The map is chaotic: rounding differences (an FMA here or there) grow like
# e^(N/2), and the derivative overflows past N ~ 1400. Results are compared
# at a length where they are meaningful, then timed at the long ones.
CHECK_N = 30


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(quick: bool = False) -> list[dict]:
    primal = adjit.jit(long_logistic)
    reverse = adjit.grad(long_logistic)

    def forward(x, n):
        return adjit.jvp(primal, (x, n), (1.0, 0))[1]

    x = 0.3
    check_f, check_d = peers_logistic.candidates(x, CHECK_N)
    agree({"adjit": primal(x, CHECK_N), **{k: fn() for k, fn in check_f.items()}}, rtol=1e-9)
    agree({"adjit reverse": reverse(x, CHECK_N), "adjit forward": forward(x, CHECK_N),
           **{k: fn() for k, fn in check_d.items()}}, rtol=1e-9)
    rows = []
    for n in sorted(QUICK_SIZES if quick else SIZES):
        before = peak_rss_bytes()  # the peak only grows: sizes run in increasing order
        d_rev = reverse(x, n)
        growth = max(0, peak_rss_bytes() - before)
        d_fwd = forward(x, n)
        if math.isfinite(d_fwd):
            assert abs(d_rev - d_fwd) <= 1e-6 * max(1.0, abs(d_fwd)), (d_rev, d_fwd)
        else:
            assert not math.isfinite(d_rev), (d_rev, d_fwd)
        peer_f, peer_d = peers_logistic.candidates(x, n)
        for fn in (*peer_f.values(), *peer_d.values()):
            fn()  # compile (JAX specializes on n)
        t = interleaved({"f: adjit": lambda: primal(x, n),
                         "derivative: adjit reverse": lambda: reverse(x, n),
                         "derivative: adjit forward": lambda: forward(x, n),
                         **{f"f: {k}": fn for k, fn in peer_f.items()},
                         **{f"derivative: {k}": fn for k, fn in peer_d.items()}},
                        repeats=3 if quick or n >= 10 ** 7 else 5, min_time=0.01)
        rows.append({"N": n, **t, "peak memory growth per iteration (bytes)": growth / n})
        print(f"N={n:>9}  " + "  ".join(f"{k} {fmt(v)}" for k, v in t.items())
              + f"  peak growth {growth / n:.1f} B/iteration", flush=True)
    return rows


if __name__ == "__main__":
    run(quick=True)
