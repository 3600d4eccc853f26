"""Call overhead of a 2-argument scalar function (adjit and Numba side by
side), and compile latency of the textbook function's first call."""
from __future__ import annotations

import statistics
import time

import adjit
from benchmarks import workloads
from benchmarks.common import fmt, interleaved

SOURCE = '''import math


def f{k}(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)
'''


def overhead(quick: bool = False) -> dict:
    f = adjit.jit(workloads.textbook)
    g = adjit.grad(workloads.textbook, argnums=(0, 1))
    f(2.0, 5.0), g(2.0, 5.0)
    candidates = {"adjit f": lambda: f(2.0, 5.0), "adjit grad f": lambda: g(2.0, 5.0),
                  "cpython f": lambda: workloads.textbook(2.0, 5.0)}
    try:
        import numba

        nb = numba.njit(workloads.textbook)
        nb(2.0, 5.0)
        candidates["numba f"] = lambda: nb(2.0, 5.0)
    except ImportError:
        pass
    t = interleaved(candidates, repeats=3 if quick else 9, min_time=0.05)
    if "numba f" in t:
        t["adjit / numba"] = t["adjit f"] / t["numba f"]
    print("  ".join(f"{k}: {fmt(v) if 'adjit /' not in k else f'{v:.2f}'}"
                    for k, v in t.items()), flush=True)
    return t


def compile_latency(samples: int = 15) -> dict:
    """First call of a new function (fresh source, so nothing is cached)."""
    import tempfile
    from pathlib import Path

    from adjit.api import Staged

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, transform in (("f", None), ("grad f", "grad")):
            times = []
            for k in range(samples):
                path = Path(tmp) / f"m_{label.replace(' ', '_')}_{k}.py"
                path.write_text(SOURCE.format(k=k))
                start = time.perf_counter()
                staged = Staged((str(path), f"f{k}"))
                if transform:
                    staged = adjit.grad(staged, argnums=(0, 1))
                staged(2.0, 5.0)
                times.append(time.perf_counter() - start)
            out[f"first call of {label}"] = statistics.median(times)
    print("  ".join(f"{k}: {fmt(v)}" for k, v in out.items()), flush=True)
    return out


if __name__ == "__main__":
    overhead()
    compile_latency()
