"""Timing helpers (interleaved repeats, medians), the cross-check of every
peer's result before timing, Markdown tables and plots."""
from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"


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


def agree(results: dict[str, object], rtol: float, atol: float = 0.0) -> None:
    """Every candidate's result equals the first one's (arrays and tuples of
    arrays are compared element by element): nothing is timed unchecked."""
    names = list(results)
    want = flatten(results[names[0]])
    for name in names[1:]:
        got = flatten(results[name])
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=f"{name} disagrees with {names[0]}")


def flatten(value: object) -> np.ndarray:
    if isinstance(value, (tuple, list)):
        return np.concatenate([flatten(v) for v in value])
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().numpy()
    return np.ravel(np.asarray(value, dtype=np.float64))


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()}, "
            f"Python {platform.python_version()}")


def fmt(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def ratio(value: float) -> str:
    return f"{value:.3g}"


def table(rows: list[dict], columns: list[str], formats: dict | None = None) -> str:
    """A Markdown table; a missing cell is left empty."""
    formats = formats or {}
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = ""
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            cells.append("" if v is None else formats.get(c, default_format)(v))
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


def default_format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def plot(path: Path, title: str, xlabel: str, ylabel: str,
         series: dict[str, tuple[list[float], list[float]]], logx: bool = True,
         logy: bool = True, fit: tuple[list[float], list[float]] | None = None) -> str | None:
    """A line plot of each series written to `path` (PNG); None when
    matplotlib is missing (the report says so instead of linking it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    if fit is not None:
        ax.plot(fit[0], fit[1], linestyle="--", color="gray", label="linear fit")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return str(path)
