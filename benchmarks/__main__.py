"""`python -m benchmarks [all|helmholtz|gmm|calls|logistic|passes|compile|batched] [--quick]`:
run benchmarks and print their figures; `all` also writes docs/benchmarks.md,
its plots (docs/img/) and benchmarks/out/results.json from this run;
`report` rewrites docs/benchmarks.md and the plots from that JSON file."""
from benchmarks import peers  # noqa: I001  (first: it pins thread counts before numpy loads)

import argparse
import datetime
import json
import time
import traceback

from benchmarks import (calls, compile_scaling, gmm, helmholtz, logistic, passes, peers_batched,
                        peers_calls, report)
from benchmarks.common import ROOT, machine

WHICH = ("helmholtz", "gmm", "calls", "logistic", "passes", "compile", "batched")


def run_batched(quick: bool) -> dict:
    """benchmarks/batched.py's figures and the peers' beside them, or why they are missing."""
    try:
        from benchmarks import batched

        figures = batched.run(quick=quick)
    except Exception as exc:  # a missing or failing module is reported, not fatal
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"adjit": figures, "peers": peers_batched.run(quick=quick)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", nargs="?", default="all", choices=("all", "report") + WHICH)
    parser.add_argument("--quick", action="store_true",
                        help="fewer sizes and repeats (a smoke test; its figures are not reported)")
    args = parser.parse_args()
    if args.which == "report":
        saved = json.loads((ROOT / "benchmarks" / "out" / "results.json").read_text())
        report.write(saved, ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "img")
        return
    started = time.perf_counter()
    results: dict = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"), "machine": machine(), "quick": args.quick,
        "versions": peers.versions(), "threads": peers.threads()}
    q = args.quick
    steps = {"helmholtz": lambda: helmholtz.run(quick=q),
             "gmm": lambda: gmm.run(quick=q),
             "calls": lambda: {"adjit": {**calls.overhead(q), **calls.compile_latency()},
                               "peers": peers_calls.run(quick=q)},
             "logistic": lambda: logistic.run(quick=q),
             "passes": lambda: passes.run(quick=q),
             "compile": lambda: compile_scaling.run(quick=q),
             "batched": lambda: run_batched(q)}
    for name, step in steps.items():
        if args.which in ("all", name):
            print(f"== {name}", flush=True)
            start = time.perf_counter()
            results[name] = step()
            print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
    results["skipped peers"] = dict(peers.skipped)
    results["seconds"] = time.perf_counter() - started
    if args.which == "all":
        # A quick run is a smoke test: its report never replaces the real one.
        out = ROOT / "benchmarks" / "out" / ("quick" if args.quick else "")
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        if args.quick:
            report.write(results, out / "benchmarks.md", out / "img")
        else:
            report.write(results, ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "img")
    print(f"total {results['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
