"""Bad input never crashes adjit: it compiles and runs, or it is an error at a line.

Every input here (mutated, truncated or random source; pathological nesting
and sizes; huge literals) must, within a time bound, either compile (and
run, where it has a function to run) or raise an `adjit.errors.AdjitError`
whose `.line` is set. A RecursionError, an AttributeError from adjit's
insides or an error without a location is a failure. Running a program may
also raise the exception CPython would raise (ZeroDivisionError, ...) with
the source location attached.

The risky cases (native compilation of huge functions) run in a subprocess,
so that a segfault or an abort of LLVM shows as a failed test rather than a
dead test run. The security tests run the `adjit` command on files whose
top level would create a marker file if it were executed, and check that no
marker appears: adjit reads source, it never runs it.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import adjit
from adjit.errors import AdjitError
from adjit.frontend.source import scope_for_text
from tests.fuzz.generate import programs
from tests.fuzz.harness import ProgramTimeout, adjit_frame, time_limit

REPO = Path(__file__).resolve().parent.parent
TIME_BOUND = 20.0  # seconds for any single input
EXAMPLE_ARGS = {"a": 0.5, "b": -1.25, "c": 2.0, "n": 3, "x": np.array([0.25, -0.5, 1.0])}


class Bad(AssertionError):
    """Not graceful; `where` is the exception type and innermost adjit frame."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.where = where


def open_bug_frames() -> set[str]:
    """`Type@module:function` of the crashes recorded in tests/regressions/ and
    still open: a hardening input that hits one of them is that known bug."""
    from tests.fuzz.shrink import REGRESSIONS_DIR, header_fields
    from tests.test_regressions import OPEN

    sigs = [header_fields(REGRESSIONS_DIR / name).get("signature", "") for name in OPEN]
    return {s.split("|")[2] for s in sigs if s.startswith("crash|") and "@" in s}


def tolerate_known(failures: list[Bad]) -> None:
    """Fail on any failure that is not an open, recorded bug; warn about those."""
    known = open_bug_frames()
    new = [f for f in failures if f.where not in known]
    assert not new, "\n\n".join(str(f) for f in new[:3])
    if failures:
        warnings.warn(f"{len(failures)} inputs hit open bugs of tests/regressions/: "
                      f"{sorted({f.where for f in failures})}")


def graceful(exc: BaseException) -> bool:
    """An error adjit may raise about a user's program: an AdjitError at a
    line, or a run-time exception CPython would raise, with its location."""
    if isinstance(exc, AdjitError):
        return exc.line is not None and exc.filename is not None
    return isinstance(exc, (ArithmeticError, ValueError, IndexError)) and \
        hasattr(exc, "adjit_location")


def compile_and_run(text: str | bytes, tmp_path: Path, name: str = "prog",
                    run: bool = True, bound: float = TIME_BOUND, only: str | None = None) -> str:
    """Parse `text`; lower, and run on the interpreter, every function whose
    parameters are among `EXAMPLE_ARGS`. Returns "ok" or "error"; raises Bad
    for anything not graceful."""
    path = tmp_path / f"{name}.py"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    start = time.monotonic()
    try:
        with time_limit(bound):
            scope = scope_for_text(text, str(path))
            for fname, definition in scope.module.functions.items():
                params = [p.name for p in definition.params]
                if not set(params) <= set(EXAMPLE_ARGS) or only not in (None, fname):
                    continue
                args = [EXAMPLE_ARGS[p] for p in params]
                adjit.make_ir((str(path), fname))(*args)
                if run:
                    try:
                        with time_limit(2.0):
                            adjit.interpret((str(path), fname))(*[
                                a.copy() if isinstance(a, np.ndarray) else a for a in args])
                    except ProgramTimeout:
                        pass  # the program itself may loop for ever (CPython would too)
        return "ok"
    except ProgramTimeout:
        raise Bad(f"{name}: no answer within {bound:g} s") from None
    except BaseException as exc:  # noqa: BLE001 - everything is judged here
        if graceful(exc):
            return "error"
        raise Bad(f"{name}: {type(exc).__name__}: {exc}\n--- source ---\n{text[:2000]!r}",
                  f"{type(exc).__name__}@{adjit_frame(exc.__traceback__)}") from exc
    finally:
        assert time.monotonic() - start < bound + 5


SEEDS = [p.source for p in programs(seed=2024, count=12)]
ALPHABET = "abcnxy01234569.+-*/%=<>()[],:; \n\t#'\"_!&|^~@{}\\ie"


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(chars))
        op = rng.randrange(3)
        if op == 0:
            del chars[k]
        elif op == 1:
            chars.insert(k, rng.choice(ALPHABET))
        else:
            j = min(len(chars) - 1, k + rng.randint(1, 8))
            chars[k], chars[j] = chars[j], chars[k]
    return "".join(chars)


def test_mutated_sources(tmp_path: Path) -> None:
    rng = random.Random(7)
    results = {"ok": 0, "error": 0}
    failures: list[Bad] = []
    for k in range(240):
        source = mutate(SEEDS[k % len(SEEDS)], rng)
        try:
            results[compile_and_run(source, tmp_path, f"mutant{k}")] += 1
        except Bad as bad:
            failures.append(bad)
    tolerate_known(failures)
    assert results["error"] > 0 and results["ok"] > 0, results


def test_truncated_sources(tmp_path: Path) -> None:
    failures: list[Bad] = []
    for s, source in enumerate(SEEDS[:4]):
        for cut in range(0, len(source), max(1, len(source) // 40)):
            try:
                compile_and_run(source[:cut], tmp_path, f"cut{s}_{cut}", run=False)
            except Bad as bad:
                failures.append(bad)
    tolerate_known(failures)


def test_random_bytes(tmp_path: Path) -> None:
    rng = random.Random(11)
    for k in range(60):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        assert compile_and_run(data, tmp_path, f"bytes{k}") in ("ok", "error")
    for k in range(60):
        text = "".join(rng.choice(ALPHABET + "defreturnwhileforifelse") for _ in range(200))
        compile_and_run(text, tmp_path, f"ascii{k}")


@pytest.mark.parametrize("bad", [b"\xff\xfe", b"\x80", b"\xc3\x28", b"\xed\xa0\x80",
                                 b"\x00", b"\xef\xbb\xbf\xef\xbb\xbf"])
def test_non_utf8_and_control_bytes(tmp_path: Path, bad: bytes) -> None:
    source = SEEDS[0].encode()
    for where in (0, len(source) // 2, len(source)):
        assert compile_and_run(source[:where] + bad + source[where:], tmp_path) in ("ok", "error")


def test_latin1_coding_declaration(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\ndef f(a):\n    return a  # caf\xe9\n".encode("latin-1")
    assert compile_and_run(text, tmp_path) in ("ok", "error")


@pytest.mark.parametrize("kind", ["parens", "unary", "binary", "calls", "subscripts",
                                  "conditional", "sum10k", "compare_chain"])
def test_deep_and_long_expressions(tmp_path: Path, kind: str) -> None:
    n = 1000
    body = {
        "parens": "(" * n + "a" + ")" * n,
        "unary": "-" * n + "a",
        "binary": "(a + " * n + "a" + ")" * n,
        "calls": "math.sin(" * n + "a" + ")" * n,
        "subscripts": "x[" * 200 + "0" + "]" * 200,
        "conditional": "(a if a > 0.0 else " * n + "a" + ")" * n,
        "sum10k": " + ".join(["a"] * 10000),
        "compare_chain": "1.0 if " + " < ".join(["a"] * 2000) + " else 0.0",
    }[kind]
    text = f"import math\n\n\ndef f(a, x):\n    return {body}\n"
    compile_and_run(text, tmp_path, kind)


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "1e-999", "10**400", "2**63",
                                     "9223372036854775807", "9223372036854775808",
                                     "1" + "0" * 400, "0x" + "f" * 100, "1" * 5000 + ".0",
                                     "0." + "3" * 5000, "1_000_000_000_000_000_000_000"])
def test_huge_literals(tmp_path: Path, literal: str) -> None:
    text = f"def f(a):\n    t = {literal}\n    return a + t\n"
    compile_and_run(text, tmp_path, "literal")


def nested_loops(depth: int) -> str:
    lines = ["def f(a):", "    s = 0.0"]
    for d in range(depth):
        lines.append("    " * (d + 1) + f"for i{d} in range(1):")
    lines.append("    " * (depth + 1) + "s += a * a")
    lines.append("    return s")
    return "\n".join(lines) + "\n"


def nested_ifs(depth: int) -> str:
    lines = ["def f(a):", "    s = 0.0"]
    for d in range(depth):
        lines.append("    " * (d + 1) + f"if a > {d}.0 - 1000.0:")
    lines.append("    " * (depth + 1) + "s += a * a")
    lines.append("    return s")
    return "\n".join(lines) + "\n"


def test_nested_loops_interpreted_and_differentiated(tmp_path: Path) -> None:
    path = tmp_path / "loops.py"
    path.write_text(nested_loops(50))
    with time_limit(TIME_BOUND):
        assert adjit.interpret((str(path), "f"))(1.5) == 2.25
        assert adjit.grad(adjit.interpret((str(path), "f")))(1.5) == 3.0


@pytest.mark.parametrize("depth", [50, 99, 100, 150, 400])
def test_nested_ifs(tmp_path: Path, depth: int) -> None:
    assert compile_and_run(nested_ifs(depth), tmp_path, f"ifs{depth}") in ("ok", "error")


def test_many_functions_and_long_call_chain(tmp_path: Path) -> None:
    parts = ["def f0(a):\n    return a * 0.5\n"]
    for k in range(1, 300):
        parts.append(f"def f{k}(a):\n    return f{k - 1}(a) + 1.0\n")
    text = "\n".join(parts) + "\ndef f(a):\n    return f299(a)\n"
    assert compile_and_run(text, tmp_path, "chain", only="f") in ("ok", "error")


# --- in a subprocess: native compilation of huge functions -----------------------------

CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
import adjit
from adjit.errors import AdjitError
path, what, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.monotonic()
f = (path, "f")
try:
    if what == "jit":
        value = adjit.jit(f)(*args)
    elif what == "grad":
        value = adjit.grad(f)(*args)
    else:
        value = adjit.interpret(f)(*args)
    print(json.dumps({{"result": "ok", "value": repr(value), "s": time.monotonic() - start}}))
except AdjitError as exc:
    print(json.dumps({{"result": "error", "line": exc.line, "message": str(exc)[:300],
                      "s": time.monotonic() - start}}))
"""


def child_env() -> dict:
    """The environment of a child process: this checkout first on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def run_child(tmp_path: Path, text: str, what: str, args: list, bound: float) -> dict:
    path = tmp_path / "big.py"
    path.write_text(text)
    script = CHILD.format(repo=str(REPO))
    try:
        proc = subprocess.run([sys.executable, "-c", script, str(path), what, json.dumps(args)],
                              capture_output=True, text=True, timeout=bound, env=child_env())
    except subprocess.TimeoutExpired:
        raise Bad(f"{what}: no answer within {bound:g} s") from None
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["result"] == "error":
        assert report["line"] is not None, report
    return report


def long_function(lines: int) -> str:
    body = "".join(f"    s = s * 0.5 + {k % 7}.0\n" for k in range(lines))
    return f"def f(a):\n    s = a\n{body}    return s\n"


def test_native_compile_of_a_10000_line_function(tmp_path: Path) -> None:
    report = run_child(tmp_path, long_function(10000), "jit", [1.0], bound=90)
    if report["result"] == "ok":
        expected = 1.0
        for k in range(10000):
            expected = expected * 0.5 + k % 7
        assert float(report["value"]) == expected


def test_native_compile_of_a_10000_term_sum(tmp_path: Path) -> None:
    terms = " + ".join(f"a * {k % 5}.0" for k in range(10000))
    run_child(tmp_path, f"def f(a):\n    return {terms}\n", "jit", [1.0], bound=60)


def test_native_compile_of_50_nested_loops(tmp_path: Path) -> None:
    report = run_child(tmp_path, nested_loops(50), "jit", [1.5], bound=60)
    assert report["result"] == "error" or float(report["value"]) == 2.25


# --- security: adjit never executes the files it reads --------------------------------

HOSTILE = {
    "main_block": ('import math\n\n\ndef f(a):\n    return math.sin(a) * a\n\n\n'
                   'if __name__ == "__main__":\n    open({marker!r}, "w").write("ran")\n'),
    "import_os": ('import os\n\nos.system("touch " + {marker!r})\n\n\n'
                  'def f(a):\n    return a * a\n'),
    "module_call": 'open({marker!r}, "w")\n\n\ndef f(a):\n    return a * a\n',
    "constant": ('X = __import__("os").system("touch " + {marker!r})\n\n\n'
                 'def f(a):\n    return a * X\n'),
    "default": ('def f(a, b=__import__("os").system("touch " + {marker!r})):\n'
                '    return a * a\n'),
    "body": 'def f(a):\n    open({marker!r}, "w")\n    return a * a\n',
    "exec": 'def f(a):\n    exec("open(" + repr({marker!r}) + ", \'w\')")\n    return a\n',
    "decorator": ('@__import__("os").system\ndef f(a):\n    return a * a\n'),
    "from_os": 'from os import system\n\n\ndef f(a):\n    system("touch " + {marker!r})\n'
               '    return a\n',
    "class_body": 'class C:\n    open({marker!r}, "w")\n\n\ndef f(a):\n    return a\n',
    "lambda_default": ('def f(a, b=(lambda: open({marker!r}, "w"))()):\n    return a\n'),
    "annotation": 'def f(a: open({marker!r}, "w")) -> float:\n    return a * a\n',
}

ACCEPTED = ("main_block", "annotation")  # valid subset: the block is skipped, annotations ignored
COMMANDS = (["dump"], ["run", "f", "1.5"], ["grad", "f", "--at", "1.5"])


def marker_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("marker"))


def test_cli_never_executes_the_main_block(tmp_path: Path) -> None:
    """The canonical case through the real command line, one process each."""
    marker = tmp_path / "marker_main"
    source = tmp_path / "prog.py"
    source.write_text(HOSTILE["main_block"].format(marker=str(marker)))
    for command in COMMANDS:
        argv = [sys.executable, "-m", "adjit", command[0], str(source), *command[1:]]
        if command[0] == "dump":
            argv.append("f")
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              env=child_env())
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        assert not marker_files(tmp_path), command
    assert not marker.exists()


SECURITY_CHILD = """
import contextlib, io, json, sys
sys.path.insert(0, {repo!r})
from adjit.cli import main
codes = {{}}
for path in sys.argv[1:]:
    for command in {commands!r}:
        args = [command[0], path, *command[1:]]
        if command[0] == "dump":
            args.append("f")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            codes[path + " " + command[0]] = [main(args), err.getvalue()[-500:]]
print(json.dumps(codes))
"""


def test_cli_never_executes_hostile_files(tmp_path: Path) -> None:
    """Every hostile file through adjit's command-line entry point (`adjit.cli.main`),
    all in one subprocess: dump, run and grad exit 0 or 1, never 3, and no marker."""
    paths = []
    for name, template in HOSTILE.items():
        path = tmp_path / f"{name}.py"
        path.write_text(template.format(marker=str(tmp_path / f"marker_{name}")))
        paths.append(str(path))
    script = SECURITY_CHILD.format(repo=str(REPO), commands=[list(c) for c in COMMANDS])
    proc = subprocess.run([sys.executable, "-c", script, *paths], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=child_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not marker_files(tmp_path), marker_files(tmp_path)
    bad = {k: v for k, v in codes.items() if v[0] not in (0, 1)}
    assert not bad, bad
    for key, (code, err) in codes.items():
        if not any(f"/{name}.py " in key for name in ACCEPTED):
            assert code == 1, (key, code, err)  # rejected with an error at a line
            assert ":" in err and "error" in err, (key, err)
