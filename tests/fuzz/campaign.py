"""A fuzzing campaign (`python -m tests.fuzz --programs 20000 --seed 1 --jobs 2`).

Programs `start .. start+programs-1` of the seed are generated and checked
(`tests.fuzz.harness.check_program`) in `--jobs` worker processes, each
program under `--timeout` seconds of CPU time (a SIGPROF in the worker; a
worker stuck in native code, silent for `wall_limit` seconds, or dead of a
signal is killed and replaced, and the program counts as a timeout or a
crash). Progress lines give the running figures;
at the end, each new failure signature (kind, check, exception and adjit
frame) is shrunk once and written to tests/regressions/, and the figures
are appended to docs/reliability.md.

With `--state FILE` the campaign is resumable: the figures and the numbers
of the programs done are saved there every 30 s and when the campaign is
interrupted (Ctrl-C or SIGTERM); running the same command again continues
with the programs not yet done, and the final figures cover all runs.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import platform
import signal
import subprocess
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from tests.fuzz.generate import Program, program_for
from tests.fuzz.harness import FAILING, Checks, Finding, check_program, family, inputs_text

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "docs" / "reliability.md"
KINDS = ("ok", "mismatch", "crash", "unsupported", "rejected", "timeout", "invalid",
         "harness-error")
RECYCLE = 200  # tasks per worker before it is replaced (bounds memory growth)


@dataclass(frozen=True)
class Config:
    seed: int
    native: bool
    native_second_order_every: int
    timeout: float
    shrink_budget: float

    def checks(self, index: int) -> Checks:
        every = self.native_second_order_every
        return Checks(native=self.native, derivatives=True, second_order=True,
                      native_derivatives=self.native,
                      native_second_order=self.native and every > 0 and index % every == 0)


def worker_main(conn, config: Config) -> None:
    """Serve ('check', index) and ('shrink', index, signature) requests."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        if task[0] == "check":
            conn.send(run_check(config, task[1]))
        else:
            conn.send(run_shrink(config, task[1], task[2]))


def run_check(config: Config, index: int) -> tuple:
    start = time.perf_counter()
    try:
        program = program_for(config.seed, index)
    except Exception as exc:  # noqa: BLE001 - a generator failure is reported, not fatal
        return ("done", index, "invalid", [], [f"generator: {exc}"], 0.0)
    try:
        outcome = check_program(program, config.checks(index), timeout=config.timeout)
    except Exception as exc:  # noqa: BLE001 - a bug of the harness, not of adjit
        where = traceback.format_exception(exc)[-1].strip()
        return ("done", index, "harness-error", [("harness-error", "harness", where, where)], [],
                time.perf_counter() - start)
    findings = [(f.kind, f.check, f.detail, f.where) for f in outcome.findings]
    return ("done", index, outcome.kind, findings, outcome.notes, time.perf_counter() - start)


def run_shrink(config: Config, index: int, signature: str) -> tuple:
    from tests.fuzz.shrink import shrink

    program = program_for(config.seed, index)
    checks = config.checks(index)

    def outcome_of(candidate: Program):
        return check_program(candidate, checks, timeout=config.timeout)

    def matching(candidate: Program) -> list[Finding]:
        return [f for f in outcome_of(candidate).findings if f.family == family(signature)]

    small = shrink(program, lambda candidate: bool(matching(candidate)),
                   budget_s=config.shrink_budget)
    found = matching(small)
    if not found:  # flaky: keep the original
        small = program
        found = matching(program)
    f = found[0] if found else Finding(*signature.split("|")[:2], "not reproduced",
                                       signature.split("|")[2])
    return ("shrunk", index, small.source, small.entry, inputs_text(small.args),
            (f.kind, f.check, f.detail, f.where))


class Worker:
    def __init__(self, ctx, config: Config):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, config), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple | None = None
        self.deadline = 0.0
        self.served = 0

    def send(self, task: tuple, limit: float) -> None:
        self.task = task
        self.deadline = time.monotonic() + limit
        self.served += 1
        self.conn.send(task)

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


def run_pool(tasks: list[tuple], jobs: int, config: Config, limit: float, on_result) -> None:
    """Run `tasks` on `jobs` workers; a task past `limit` seconds (or whose
    worker dies) yields a synthetic result from `lost(task, why)`."""
    ctx = mp.get_context("spawn")
    workers = [Worker(ctx, config) for _ in range(jobs)]
    pending = collections.deque(tasks)
    deaths = 0
    try:
        while pending or any(w.task for w in workers):
            for k, w in enumerate(workers):
                if w.task is None and pending:
                    if w.served >= RECYCLE:
                        w.conn.send(None)
                        w.stop()
                        w = workers[k] = Worker(ctx, config)
                    w.send(pending.popleft(), limit)
            busy = [w for w in workers if w.task]
            wait = max(0.05, min(w.deadline for w in busy) - time.monotonic())
            ready = mp.connection.wait([w.conn for w in busy], timeout=wait)
            for k, w in enumerate(workers):
                if w.task is None:
                    continue
                if w.conn in ready:
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        w.proc.join(timeout=5)
                        deaths = deaths + 1 if w.served == 1 else 0
                        if deaths > 10:
                            raise RuntimeError("workers die on their first task: see their "
                                               "error output above")
                        on_result(lost(w.task, f"worker died (exit code {w.proc.exitcode})",
                                       "crash"))
                        w.stop()
                        workers[k] = Worker(ctx, config)
                        continue
                    w.task = None
                    on_result(result)
                elif time.monotonic() > w.deadline:
                    on_result(lost(w.task, f"no answer within {limit:g} s", "timeout"))
                    w.stop()
                    workers[k] = Worker(ctx, config)
    finally:
        for w in workers:
            try:
                w.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            w.stop()


def wall_limit(timeout: float) -> float:
    """Wall-clock seconds before the parent kills a silent worker: the
    worker's own limit is CPU time, which a loaded machine stretches."""
    return 3 * timeout + 30


def lost(task: tuple, why: str, kind: str) -> tuple:
    if task[0] == "check":
        return ("done", task[1], kind, [(kind, "worker", why, why.split(" (")[0])], [], 0.0)
    return ("lost", task[1], why)


class Tally:
    def __init__(self, total: int, log: Path | None = None, append: bool = False):
        self.total = total
        self.log = open(log, "a" if append else "w") if log else None
        self.done: set[int] = set()
        self.earlier_wall = 0.0  # seconds spent by earlier runs of a resumed campaign
        self.indices: dict[str, list[int]] = collections.defaultdict(list)
        self.primary: dict[str, list[int]] = collections.defaultdict(list)
        self.kinds: collections.Counter = collections.Counter()
        self.signatures: collections.Counter = collections.Counter()
        self.first: dict[str, tuple[int, tuple]] = {}
        self.notes: collections.Counter = collections.Counter()
        self.check_time = 0.0
        self.start = time.monotonic()
        self.last_print = 0.0

    def add(self, result: tuple) -> None:
        _, index, kind, findings, notes, elapsed = result
        self.done.add(index)
        self.kinds[kind] += 1
        self.check_time += elapsed
        for finding in findings:
            sig = f"{finding[0]}|{finding[1]}|{finding[3]}"
            self.signatures[sig] += 1
            self.first.setdefault(sig, (index, finding))
            self.indices[sig].append(index)
        if self.log and kind != "ok":
            self.log.write(json.dumps({"index": index, "kind": kind, "findings": findings,
                                       "notes": notes}) + "\n")
            self.log.flush()
        for note in notes:
            self.notes[note.split(" (")[0]] += 1
        failing = [f for f in findings if f[0] in FAILING]
        if failing:  # the first failure of a program; later ones often follow from it
            self.primary[f"{failing[0][0]}|{failing[0][1]}|{failing[0][3]}"].append(index)
        done = sum(self.kinds.values())
        if time.monotonic() - self.last_print > 30 or done == self.total:
            self.last_print = time.monotonic()
            print(self.line(), flush=True)

    def line(self) -> str:
        done = sum(self.kinds.values())
        parts = " ".join(f"{k} {self.kinds[k]}" for k in KINDS
                         if self.kinds[k] or k not in ("invalid", "harness-error"))
        return f"[{self.wall():7.0f} s] {done}/{self.total}: {parts}"

    def wall(self) -> float:
        return self.earlier_wall + time.monotonic() - self.start

    def to_state(self, identity: dict) -> dict:
        return {"campaign": identity, "done": ranges(self.done), "wall": self.wall(),
                "check_time": self.check_time, "kinds": dict(self.kinds),
                "signatures": dict(self.signatures), "notes": dict(self.notes),
                "first": {s: [i, list(f)] for s, (i, f) in self.first.items()},
                "indices": dict(self.indices), "primary": dict(self.primary)}

    def load_state(self, state: dict) -> None:
        self.done = {i for a, b in state["done"] for i in range(a, b + 1)}
        self.earlier_wall = state["wall"]
        self.check_time = state["check_time"]
        self.kinds.update(state["kinds"])
        self.signatures.update(state["signatures"])
        self.notes.update(state["notes"])
        self.first = {s: (i, tuple(f)) for s, (i, f) in state["first"].items()}
        self.indices.update(state["indices"])
        self.primary.update(state["primary"])


def ranges(numbers: set[int]) -> list[list[int]]:
    """[[first, last], ...] runs of consecutive numbers: a compact checkpoint."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return runs


def save_state(path: Path, state: dict) -> None:
    """Write the checkpoint atomically: an interrupted write leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)


def md_escape(text: str) -> str:
    """`|` inside a Markdown table cell."""
    return text.replace("|", "\\|")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                             capture_output=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, text=True, capture_output=True, timeout=10)
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def report_entry(args, tally: Tally, written: list[str], wall: float) -> str:
    k = tally.kinds
    rows = [f"| {name} | {k[name]} |" for name in KINDS
            if k[name] or name not in ("invalid", "harness-error")]
    sigs = [f"| {c} | `{md_escape(s)}` |" for s, c in tally.signatures.most_common()]
    skipped = {n: c for n, c in tally.notes.items() if not n.startswith("compared")}
    compared = {n.split(": ", 1)[1]: c for n, c in tally.notes.items()
                if n.startswith("compared")}
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    last = args.start + args.programs - 1
    lines = [
        f"### Campaign {when}: seed {args.seed}, programs {args.start}..{last}",
        "",
        f"`python -m tests.fuzz --programs {args.programs} --seed {args.seed} --start {args.start} "
        f"--jobs {args.jobs} {'--native' if args.native else '--no-native'} "
        f"--timeout {args.timeout:g}`"
        f" at commit {git_commit()}, Python {platform.python_version()}, "
        f"{wall:.0f} s wall ({tally.check_time:.0f} s of checks).",
        "",
        "| outcome | programs |", "|---|---|", *rows, "",
    ]
    if sigs:
        lines += ["| findings | signature (kind, check, where) |", "|---|---|", *sigs, ""]
    if compared:
        lines += ["Comparisons made (programs): " +
                  ", ".join(f"{n} {c}" for n, c in sorted(compared.items())) + ".", ""]
    if skipped:
        lines += ["Notes (programs): " +
                  ", ".join(f"{n} {c}" for n, c in sorted(skipped.items())) + ".", ""]
    if written:
        lines += ["Regressions written: " + ", ".join(f"`{w}`" for w in written) + ".", ""]
    return "\n".join(lines)


def append_report(path: Path, entry: str) -> None:
    text = path.read_text() if path.exists() else "# Reliability\n"
    marker = "## Campaign log"
    if marker not in text:
        text = text.rstrip() + f"\n\n{marker}\n\nAppended by `python -m tests.fuzz`.\n"
    path.write_text(text.rstrip() + "\n\n" + entry.rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="index of the first program")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--native", action=argparse.BooleanOptionalAction, default=True,
                        help="also compile natively (adjit.jit) and compare")
    parser.add_argument("--native-second-order-every", type=int, default=10, metavar="K",
                        help="native Hessians for every K-th program (0: never)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per program")
    parser.add_argument("--shrink-budget", type=float, default=120.0,
                        help="seconds to shrink each new failure")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True,
                        help="write new failures to tests/regressions/")
    parser.add_argument("--per-signature", type=int, default=2, metavar="K",
                        help="shrink and write up to K programs per new failure signature")
    parser.add_argument("--log", type=Path, help="write every non-ok program here (JSON lines)")
    parser.add_argument("--report", type=Path, default=REPORT,
                        help="append the figures here (docs/reliability.md)")
    parser.add_argument("--no-report", dest="report", action="store_const", const=None)
    parser.add_argument("--state", type=Path, metavar="FILE",
                        help="checkpoint (JSON): save the figures and the programs done here; "
                             "the same command continues an interrupted campaign")
    args = parser.parse_args(argv)

    from tests.fuzz.shrink import known_signatures, write_regression

    config = Config(args.seed, args.native, args.native_second_order_every, args.timeout,
                    args.shrink_budget)
    identity = {"seed": args.seed, "start": args.start, "programs": args.programs,
                "native": args.native, "native_second_order_every": args.native_second_order_every,
                "timeout": args.timeout}
    state = json.loads(args.state.read_text()) if args.state and args.state.exists() else None
    if state is not None and state["campaign"] != identity:
        parser.error(f"{args.state} checkpoints another campaign ({state['campaign']}); "
                     "give the same options, or another --state file")
    tally = Tally(args.programs, args.log, append=state is not None)
    if state is not None:
        tally.load_state(state)
        print(f"resuming from {args.state}: {len(tally.done)} programs done", flush=True)
    print(f"campaign: seed {args.seed}, programs {args.start}..{args.start + args.programs - 1}, "
          f"{args.jobs} jobs, {'native' if args.native else 'no native'}", flush=True)
    tasks = [("check", i) for i in range(args.start, args.start + args.programs)
             if i not in tally.done]
    last_save = time.monotonic()
    recording = stop = False  # an interrupt while a result is recorded waits for its end

    def on_result(result: tuple) -> None:
        nonlocal last_save, recording
        recording = True
        tally.add(result)
        if args.state and time.monotonic() - last_save > 30:
            save_state(args.state, tally.to_state(identity))
            last_save = time.monotonic()
        recording = False
        if stop:
            raise KeyboardInterrupt

    def interrupt(signum, frame):
        nonlocal stop
        if not recording:
            raise KeyboardInterrupt
        stop = True

    handlers = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_pool(tasks, args.jobs, config, wall_limit(args.timeout), on_result)
    except KeyboardInterrupt:
        print(tally.line())
        if args.state:
            save_state(args.state, tally.to_state(identity))
            print(f"interrupted: {len(tally.done)} programs done, saved in {args.state}; "
                  "the same command continues the campaign", flush=True)
        else:
            print("interrupted (no --state: the figures above are not saved)", flush=True)
        return 130
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if args.state:
        save_state(args.state, tally.to_state(identity))

    written: list[str] = []
    known = known_signatures()
    new = [s for s in tally.primary if s not in known and s.split("|")[0] != "timeout"
           and not s.endswith("|worker") and not s.startswith("harness-error")]
    if args.write and new:
        print(f"shrinking {len(new)} new failure signature(s)", flush=True)
        shrunk: list[tuple] = []
        shrink_tasks = [("shrink", index, sig) for sig in new
                        for index in sorted(set(tally.primary[sig]))[:args.per_signature]]
        run_pool(shrink_tasks, args.jobs, config, args.shrink_budget * 2 + 60, shrunk.append)
        sources = set()
        for result in shrunk:
            if result[0] != "shrunk":
                print(f"  program {result[1]}: not shrunk ({result[2]})")
                continue
            _, index, source, entry, inputs, f = result
            if source in sources:
                continue
            sources.add(source)
            from tests.fuzz.harness import parse_inputs

            program = Program(source, entry, parse_inputs(inputs))
            path = write_regression(program, Finding(*f), config.checks(index),
                                    f"python -m tests.fuzz --seed {args.seed} "
                                    f"(program {index}), shrunk")
            written.append(str(path.relative_to(REPO)))
            print(f"  {f[0]}|{f[1]}|{f[3]}: {path.relative_to(REPO)}")
    wall = tally.wall()
    print(tally.line())
    for sig, count in tally.signatures.most_common():
        index, finding = tally.first[sig]
        print(f"  {count:6d}  {sig}  (first: program {index}: {finding[2][:160]})")
    if args.report is not None:
        append_report(args.report, report_entry(args, tally, written, wall))
        print(f"figures appended to {args.report}")
    return 0
