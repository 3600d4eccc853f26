"""Compile time against program size: first call of f and of grad f for
generated programs of 10 to 10,000 statements (straight-line assignments
with a small counted loop every tenth statement), and a least-squares line
through the times (seconds per statement)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

import adjit
from adjit.api import Staged
from benchmarks.common import fmt

SIZES = (10, 30, 100, 300, 1000, 3000, 10000)
# A size whose first call, extrapolated linearly from the size before it,
# would take longer than this is skipped (and listed as skipped): it keeps
# `python -m benchmarks all` within its 20 minutes.
BUDGET_S = 150.0
QUICK_SIZES = (10, 100, 300)


def program(statements: int) -> str:
    """A function of two floats whose body has exactly `statements` statements
    (the `for` and its one-statement body count as two)."""
    body = ["v0 = x * y"]
    k = 0
    while len(body) < statements - 2:  # `acc = 0.0` and the return are the other two
        if len(body) % 10 == 8 and len(body) <= statements - 4:
            body += ["for i in range(3):", f"    acc = acc * 0.5 + v{k}"]
        else:
            k += 1
            body.append(f"v{k} = v{k - 1} * 0.999 + math.sin(v{max(k - 2, 0)}) * y")
    lines = ["import math", "", "", "def f(x, y):", "    acc = 0.0"]
    lines += ["    " + line for line in body]
    lines.append(f"    return acc + v{k}")
    return "\n".join(lines) + "\n"


def first_call(path: Path, transform) -> float:
    start = time.perf_counter()
    staged = Staged((str(path), "f"))
    transform(staged)(0.3, 0.7)
    return time.perf_counter() - start


def run(quick: bool = False) -> dict:
    """Per size: the statement count and the first-call seconds of f and of
    grad f (sizes over the budget are listed in "skipped"); and the fitted
    slope and intercept of each."""
    rows, skipped = [], []
    last: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm_up = Path(tmp) / "warm_up.py"  # LLVM's and the parser's one-time setup
        warm_up.write_text(program(10))
        first_call(warm_up, lambda s: adjit.grad(s, argnums=(0, 1)))
        for size in QUICK_SIZES if quick else SIZES:
            row = {"statements": size}
            for label, transform in (("f", lambda s: s),
                                     ("grad f", lambda s: adjit.grad(s, argnums=(0, 1)))):
                if label in last and last[label][1] * size / last[label][0] > BUDGET_S:
                    skipped.append(f"{label} at {size}")
                    continue
                # A new file each time, so that nothing is cached.
                path = Path(tmp) / f"p{size}_{label.replace(' ', '_')}.py"
                path.write_text(program(size))
                row[label] = first_call(path, transform)
                last[label] = (size, row[label])
            rows.append(row)
            print(f"{size:6d} statements: " + "  ".join(
                f"{k} {fmt(v)}" for k, v in row.items() if k != "statements"), flush=True)
    fits = {}
    for label in ("f", "grad f"):
        sizes = np.array([r["statements"] for r in rows if label in r], dtype=float)
        times = np.array([r[label] for r in rows if label in r])
        slope, intercept = np.polyfit(sizes, times, 1)
        exponent = np.polyfit(np.log(sizes[sizes >= 100]), np.log(times[sizes >= 100]), 1)[0] \
            if (sizes >= 100).sum() >= 2 else float("nan")
        fits[label] = {"seconds per statement": slope, "intercept (s)": intercept,
                       "log-log exponent (>= 100 statements)": exponent}
    return {"rows": rows, "fits": fits, "skipped": skipped}


if __name__ == "__main__":
    run(quick=True)
