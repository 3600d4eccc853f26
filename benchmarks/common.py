"""Timing helpers: interleaved repeats, medians, side-by-side ratios."""
from __future__ import annotations

import gc
import platform
import statistics
import time
from typing import Callable


def time_call(fn: Callable[[], object], min_time: float = 0.02) -> float:
    """Seconds per call: calls batched to at least `min_time` seconds."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n
        n *= 2 if elapsed == 0 else max(2, int(min_time / elapsed * 1.2))


def interleaved(candidates: dict[str, Callable[[], object]], repeats: int = 7,
                min_time: float = 0.02) -> dict[str, float]:
    """Median seconds per call of each candidate, repeats interleaved so that
    the machine's noise hits all of them alike."""
    samples: dict[str, list[float]] = {k: [] for k in candidates}
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in candidates.items():
                samples[name].append(time_call(fn, min_time))
    finally:
        gc.enable()
    return {k: statistics.median(v) for k, v in samples.items()}


def machine() -> str:
    import llvmlite
    import numpy

    return (f"{platform.processor() or platform.machine()}, {platform.system()}, "
            f"Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"llvmlite {llvmlite.__version__}")


def fmt(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"
