"""Call overhead of a 2-argument scalar function (adjit and Numba side by
side), compile latency of the textbook function's first call (in this
process, and in new processes with `jit(cache=True)`), and the resident
memory of 10^6 calls returning new arrays."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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
    return {**t, **array_memory(10 ** 5 if quick else 10 ** 6)}


def compile_latency(samples: int = 15) -> dict:
    """First call of a new function (fresh source, so nothing is cached),
    in this process; then `cache_latency` in new processes."""
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
    return {**out, **cache_latency()}


# A new process: import adjit, then the first call of the textbook function.
FIRST_CALL = '''import sys, time, json
start = time.perf_counter()
import adjit
imported = time.perf_counter()
sys.path.insert(0, {folder!r})
import textbook_module
f = adjit.jit(textbook_module.textbook, cache={cache})
f(2.0, 5.0)
done = time.perf_counter()
from adjit.backend.llvm.engine import get_engine
print(json.dumps({{"import": imported - start, "first call": done - imported,
                  "compiled": get_engine().counts["compiled"]}}))
'''
TEXTBOOK_MODULE = '''import math


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)
'''


def _new_process(folder: str, cache: bool, cache_dir: str) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, ADJIT_CACHE_DIR=cache_dir, PYTHONPATH=root)
    done = subprocess.run([sys.executable, "-c", FIRST_CALL.format(folder=folder, cache=cache)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cache_latency(samples: int = 9, uncached_samples: int = 3) -> dict:
    """First call of the textbook function in a new process beyond the time
    of `import adjit`: with `cache=True` and the entry on disk (the process
    compiles nothing: checked), and without the cache (parsing, lowering,
    LLVM)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "textbook_module.py").write_text(TEXTBOOK_MODULE)
        cache_dir = str(Path(tmp) / "cache")
        _new_process(tmp, True, cache_dir)  # writes the entry
        runs = [_new_process(tmp, True, cache_dir) for _ in range(samples)]
        # A run that compiled found no entry: adjit's own files changed meanwhile
        # (they are part of the key); it wrote a new entry for the next runs.
        hits = [r for r in runs if r["compiled"] == 0]
        if len(hits) < (samples + 1) // 2:
            raise RuntimeError(f"only {len(hits)} of {samples} runs found the cache entry")
        cold = [_new_process(tmp, False, cache_dir) for _ in range(uncached_samples)]
    out = {"import adjit (new process)": statistics.median(h["import"] for h in hits),
           "first call beyond import, cache=True hit": statistics.median(
               h["first call"] for h in hits),
           "first call beyond import, no cache": statistics.median(
               c["first call"] for c in cold)}
    print("  ".join(f"{k}: {fmt(v)}" for k, v in out.items()), flush=True)
    return out


def resident_bytes() -> int:
    """This process's resident set size (Linux /proc; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ramp(n):
    a = np.zeros(n)
    for i in range(n):
        a[i] = 0.5 * i
    return a


def array_memory(calls: int = 10 ** 6, n: int = 100) -> dict:
    """Resident memory growth over `calls` calls of a compiled function that
    returns a new array of n floats each time (after 10^4 warm-up calls)."""
    f = adjit.jit(ramp)
    for _ in range(10 ** 4):
        f(n)
    before = resident_bytes()
    start = time.perf_counter()
    for _ in range(calls):
        f(n)
    elapsed = time.perf_counter() - start
    growth = (resident_bytes() - before) / 2 ** 20
    out = {"new-array call (n = 100)": elapsed / calls,
           "resident memory growth (MB) / 10^6 new-array calls": growth * 10 ** 6 / calls}
    print(f"new-array call: {fmt(elapsed / calls)}  resident memory growth over {calls} "
          f"calls: {growth:.2f} MB", flush=True)
    return out


if __name__ == "__main__":
    overhead()
    compile_latency()
