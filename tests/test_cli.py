"""The `adjit` command: every subcommand, in-process through `adjit.cli.main`
and as a real `python -m adjit` process, with every exit code.

Exit codes: 0 success; 1 an error in the user's program (a compile error shown
as `file:line:col: error:` with a caret, or an exception the program raised);
2 a usage error; 3 an internal error.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from adjit import cli
from adjit.errors import InternalError

REPO_ROOT = Path(__file__).resolve().parent.parent
TEXTBOOK = str(REPO_ROOT / "adjit" / "examples" / "textbook.py")
F_VALUE = math.log(2.0) + 2.0 * 5.0 - math.sin(5.0)  # the textbook function at (2, 5)
DF_DX1 = 1.0 / 2.0 + 5.0
DF_DX2 = 2.0 - math.cos(5.0)

PROGRAM = '''\
"""Functions for the CLI tests."""
import math

import numpy as np


def norm(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i]
    return math.sqrt(s)


def trace(A):
    t = 0.0
    for i in range(A.shape[0]):
        t += A[i, i]
    return t


def scale(x, a=2.0):
    for i in range(len(x)):
        x[i] *= a
    return x


def minmax(x):
    lo = x[0]
    hi = x[0]
    for i in range(1, len(x)):
        lo = min(lo, x[i])
        hi = max(hi, x[i])
    return lo, hi


def power(x, n=3):
    return x ** n


def recip(x):
    return 1.0 / x


def get(x, i):
    return x[i]


def flag(b, x):
    if b:
        return x
    return -x


def squares(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = x[i] * x[i]
    return y


def two(x, y):
    return x + y, x * y


def ramp(x):
    return x if x > 0.0 else 0.0


def loop(x, n):
    for i in range(n):
        x = 4.0 * x * (1.0 - x)
    return x
'''
RECIP_LINE = PROGRAM.splitlines().index("    return 1.0 / x") + 1

BAD_PROGRAM = "def f(x):\n    y = lambda t: t\n    return x\n"
UNDEFINED_PROGRAM = "def f(x):\n    if x > 0:\n        y = 1.0\n    return y\n"
CARET_LINE = re.compile(r"^ +\^+$", re.MULTILINE)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("cli")
    paths = {}
    for name, text in (("prog", PROGRAM), ("bad", BAD_PROGRAM), ("undef", UNDEFINED_PROGRAM)):
        (d / f"{name}.py").write_text(text)
        paths[name] = str(d / f"{name}.py")
    np.save(d / "m.npy", np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.save(d / "v.npy", np.array([3, 4]))  # ints: converted to float64
    paths["m.npy"], paths["v.npy"] = str(d / "m.npy"), str(d / "v.npy")
    paths["dir"] = str(d)
    return paths


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_process(*argv: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "adjit", *argv], capture_output=True,
                          text=True, env=env, cwd=cwd or str(REPO_ROOT), timeout=300)


def floats_in(text: str) -> list[float]:
    """The numbers in `text` (not digits inside names such as `dx1`)."""
    return [float(m) for m in re.findall(r"(?<![\w.])-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", text)]


def subcommands() -> list[str]:
    import argparse

    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def assert_user_error(err: str, path: str, line: int, col: int, message: str) -> None:
    assert f"{path}:{line}:{col}: error: {message}" in err
    assert CARET_LINE.search(err), err


# --- the command itself ------------------------------------------------------------

def test_no_subcommand_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys)
    assert code == 2
    assert "usage: adjit" in err


def test_unknown_subcommand_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys, "frob")
    assert code == 2
    assert "invalid choice: 'frob'" in err


def test_unknown_option_is_a_usage_error(capsys, files):
    code, _, err = run_cli(capsys, "run", files["prog"], "norm", "--frob")
    assert code == 2
    assert "unrecognized arguments: --frob" in err


def test_version(capsys):
    from adjit import __version__

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"adjit {__version__}"


@pytest.mark.parametrize("command", subcommands())
def test_help_of_every_subcommand(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: adjit {command}")


def test_help_lists_every_subcommand(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in subcommands():
        assert command in out


def test_internal_error_exits_3(capsys, monkeypatch):
    from adjit import demo

    def broken(out):
        raise InternalError("something impossible happened", stage="demo")

    monkeypatch.setattr(demo, "run", broken)
    code, _, err = run_cli(capsys, "demo")
    assert code == 3
    assert "internal error: something impossible happened in demo" in err
    assert "please report it" in err


def test_unexpected_exception_is_an_internal_error(capsys, monkeypatch):
    from adjit import demo

    def broken(out):
        raise KeyError("oops")

    monkeypatch.setattr(demo, "run", broken)
    code, _, err = run_cli(capsys, "demo")
    assert code == 3
    assert "internal error" in err and "please report it" in err


# --- demo ----------------------------------------------------------------------------

def test_demo_prints_the_textbook_value(capsys):
    code, out, err = run_cli(capsys, "demo")
    assert code == 0, err
    assert "11.652" in out
    assert any(abs(v - F_VALUE) < 1e-12 for v in floats_in(out)), out
    assert "def f(x1, x2):" in out
    assert "func @f(%x1: f64, %x2: f64) -> f64 {" in out
    assert any(abs(v - DF_DX2) < 1e-12 for v in floats_in(out)), "the gradient is shown"


# --- run -----------------------------------------------------------------------------

@pytest.mark.parametrize("func, args, expected", [
    ("power", ["2"], "8"),
    ("power", ["2.0"], "8.0"),
    ("power", ["2.0", "-1"], "0.5"),
    ("recip", ["-2"], "-0.5"),
    ("recip", ["1e3"], "0.001"),
    ("recip", ["inf"], "0.0"),
    ("flag", ["true", "2"], "2"),
    ("flag", ["False", "2.5"], "-2.5"),
    ("norm", ["3,4"], "5.0"),
    ("norm", ["[3,4]"], "5.0"),
    ("norm", ["5,"], "5.0"),
    ("trace", ["1,2;3,4"], "5.0"),
    ("scale", ["1,2,3"], "[2., 4., 6.]"),
    ("scale", ["1,2,3", "0.5"], "[0.5, 1. , 1.5]"),
    ("minmax", ["3,-1,2"], "(-1.0, 3.0)"),
    ("two", ["2", "3"], "(5, 6)"),
    ("get", ["1,2,3", "-1"], "3.0"),
])
def test_run_values(capsys, files, func, args, expected):
    code, out, err = run_cli(capsys, "run", files["prog"], func, *args)
    assert (code, out, err) == (0, expected + "\n", "")


def test_run_textbook(capsys):
    code, out, _ = run_cli(capsys, "run", TEXTBOOK, "f", "2", "5")
    assert code == 0
    assert float(out) == F_VALUE


def test_run_npy_files(capsys, files):
    assert run_cli(capsys, "run", files["prog"], "trace", files["m.npy"])[:2] == (0, "5.0\n")
    assert run_cli(capsys, "run", files["prog"], "norm", files["v.npy"])[:2] == (0, "5.0\n")


def test_run_named_arguments(capsys, files):
    assert run_cli(capsys, "run", files["prog"], "scale", "x=1,2,3", "a=-1")[:2] == \
        (0, "[-1., -2., -3.]\n")
    assert run_cli(capsys, "run", files["prog"], "power", "x=2")[:2] == (0, "8\n")  # n=3
    assert run_cli(capsys, "run", files["prog"], "power", "n=2", "x=3.0")[:2] == (0, "9.0\n")


def test_run_negative_exponent_form_after_double_dash(capsys, files):
    assert run_cli(capsys, "run", files["prog"], "recip", "--", "-2.5e-1")[:2] == (0, "-4.0\n")


def test_run_interp(capsys, files):
    assert run_cli(capsys, "run", files["prog"], "norm", "3,4", "--interp")[:2] == (0, "5.0\n")
    assert run_cli(capsys, "run", "--interp", files["prog"], "power", "2")[:2] == (0, "8\n")


def test_run_runtime_exception_exits_1(capsys, files):
    code, out, err = run_cli(capsys, "run", files["prog"], "recip", "0")
    assert code == 1 and out == ""
    assert err == (f"ZeroDivisionError: float division by zero "
                   f"(at {files['prog']}:{RECIP_LINE}:12: return 1.0 / x)\n")


@pytest.mark.parametrize("func, args, exc", [
    ("get", ["1,2,3", "3"], "IndexError: index 3 is out of bounds for axis 0 with size 3"),
    ("power", ["2", "-1"], "ValueError: integer ** negative integer is not supported"),
])
def test_run_other_runtime_exceptions_exit_1(capsys, files, func, args, exc):
    code, _, err = run_cli(capsys, "run", files["prog"], func, *args)
    assert code == 1
    assert err.startswith(exc)


def test_run_compile_error_exits_1_with_location_and_caret(capsys, files):
    code, out, err = run_cli(capsys, "run", files["bad"], "f", "1")
    assert code == 1 and out == ""
    assert_user_error(err, files["bad"], 2, 9, "lambda is not supported")
    assert "    y = lambda t: t\n" in err


def test_run_possibly_undefined_exits_1_with_notes(capsys, files):
    code, _, err = run_cli(capsys, "run", files["undef"], "f", "1.0")
    assert code == 1
    assert_user_error(err, files["undef"], 4, 12, "'y' may be undefined here")
    assert "note: it is assigned at line 3, column 9, on some paths only" in err


def test_run_type_error_in_program_exits_1(capsys, files):
    code, _, err = run_cli(capsys, "run", files["prog"], "get", "1,2,3", "1.5")
    assert code == 1
    assert_user_error(err, files["prog"], PROGRAM.splitlines().index("    return x[i]") + 1,
                      14, "array indices must be integers, not f64")


@pytest.mark.parametrize("args, message", [
    (["missing.py", "f", "1"], "no such file: missing.py"),
    (["{prog}", "nope", "1"], "defines no function 'nope' (it defines: norm, trace, "),
    (["{prog}", "norm", "abc"], "cannot read 'abc' as a number, a bool, an array"),
    (["{prog}", "trace", "1,2;3"], "cannot read '1,2;3'"),
    (["{prog}", "norm", "missing.npy"], "cannot read array file missing.npy"),
    (["{prog}", "power", "y=2"], "no parameter named 'y' (parameters: x, n)"),
    (["{prog}", "power", "2", "n=2"], "give arguments either all by position or all as name=value"),
    (["{prog}", "power", "n=2"], "missing value for x"),
])
def test_run_usage_errors_exit_2(capsys, files, args, message):
    args = [a.format(prog=files["prog"]) for a in args]
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2 and out == ""
    assert err.startswith("adjit run: error: ") and message in err


def test_run_missing_function_argument_is_usage_error(capsys, files):
    code, _, err = run_cli(capsys, "run", files["prog"])
    assert code == 2
    assert "required" in err


def test_run_wrong_argument_count_is_a_usage_error(capsys, files):
    assert run_cli(capsys, "run", files["prog"], "power")[0] == 2
    assert run_cli(capsys, "run", files["prog"], "power", "1", "2", "3")[0] == 2


# --- dump ----------------------------------------------------------------------------

def test_dump_text_default_types(capsys, files):
    code, out, _ = run_cli(capsys, "dump", files["prog"], "power")
    assert code == 0
    assert out.startswith("func @power(%x: f64, %n: i64) -> f64 {\n")  # n=3 gives i64
    assert "  %1 = pow %x, %0 : f64" in out
    assert out.endswith("}\n")


def test_dump_defaults_to_the_last_function(capsys, files):
    code, out, _ = run_cli(capsys, "dump", files["prog"], "--at", "0.5", "3")
    assert code == 0
    assert out.startswith("func @loop(%x: f64, %n: i64) -> f64 {")


def test_dump_prints_what_make_ir_gives(capsys):
    import adjit
    from adjit.ir.printer import print_module

    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "f", "--at", "2.0", "5.0")
    assert code == 0
    assert out == print_module(adjit.make_ir((TEXTBOOK, "f"))(2.0, 5.0))


@pytest.mark.parametrize("options, header", [
    (["--at", "2", "3"], "func @power(%x: i64, %n: i64) -> i64 {"),
    (["--at", "2.0,3"], "func @power(%x: f64, %n: i64) -> f64 {"),
    (["--at", "x=2", "n=3"], "func @power(%x: i64, %n: i64) -> i64 {"),
    (["--at", "x=2.5"], "func @power(%x: f64, %n: i64) -> f64 {"),
    (["--types", "i64,i64"], "func @power(%x: i64, %n: i64) -> i64 {"),
    (["--types", "float,int"], "func @power(%x: f64, %n: i64) -> f64 {"),
    (["--types", "bool,bool"], "func @power(%x: bool, %n: bool) -> i64 {"),
])
def test_dump_argument_types(capsys, files, options, header):
    code, out, err = run_cli(capsys, "dump", files["prog"], "power", *options)
    assert code == 0, err
    assert out.splitlines()[0] == header


def test_dump_array_types(capsys, files):
    assert run_cli(capsys, "dump", files["prog"], "norm", "--types", "array1")[1].startswith(
        "func @norm(%x: array<f64,1>) -> f64 {")
    assert run_cli(capsys, "dump", files["prog"], "trace", "--types", "array2")[1] \
        .startswith("func @trace(%A: array<f64,2>) -> f64 {")
    assert run_cli(capsys, "dump", files["prog"], "norm", "--at", "x=3,4")[1].startswith(
        "func @norm(%x: array<f64,1>) -> f64 {")
    out = run_cli(capsys, "dump", files["prog"], "scale", "--at", f"x={files['v.npy']}")[1]
    assert out.startswith("func @scale(%x: array<f64,1>, %a: f64) -> "
                          "(array<f64,1>, array<f64,1>) writes(%x) {")


def test_dump_program_error_exits_1(capsys, files):
    code, out, err = run_cli(capsys, "dump", files["prog"], "norm")  # x defaults to f64
    assert code == 1 and out == ""
    assert_user_error(err, files["prog"], 9, 24, "a f64 has no len()")


def test_dump_unknown_type_exits_2(capsys, files):
    code, _, err = run_cli(capsys, "dump", files["prog"], "power", "--types", "complex")
    assert code == 2
    assert "unknown type 'complex'" in err


def test_dump_unknown_stage_or_format_exits_2(capsys, files):
    assert run_cli(capsys, "dump", files["prog"], "--stage", "magic")[0] == 2
    assert run_cli(capsys, "dump", files["prog"], "--format", "pdf")[0] == 2


def test_dump_stage_parsed(capsys, files):
    code, out, _ = run_cli(capsys, "dump", files["prog"], "recip", "--stage", "parsed")
    assert code == 0
    assert out.startswith(f"FunctionDef @{RECIP_LINE - 1}:1\n  name: 'recip'\n")
    assert "BinOp @" in out and "op: '/'" in out


def test_dump_text_only_stages_reject_graph_formats_as_usage_errors(capsys, files):
    code, _, err = run_cli(capsys, "dump", files["prog"], "--stage", "parsed", "--format", "json")
    assert code == 2 and "text only" in err


def test_dump_json(capsys):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--format", "json")
    assert code == 0
    data = json.loads(out)
    g = nx.node_link_graph(data)
    ops = {d["op"] for _, d in g.nodes(data=True)}
    assert {"param", "log", "math_check", "mul", "sin", "return"} <= ops
    assert g.graph["name"] == "f"
    assert g.nodes["f/n0"]["label"] == "%0 = log %x1 : f64"


def test_dump_graphml(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--format", "graphml")
    assert code == 0
    g = nx.parse_graphml(out)
    assert g.nodes["f/n2"]["op"] == "mul"
    assert json.loads(g.graph["regions"])[0]["id"] == "f/body"
    path = tmp_path / "f.graphml"
    assert run_cli(capsys, "dump", TEXTBOOK, "--format", "graphml", "-o", str(path))[:2] == (0, "")
    h = nx.read_graphml(path)
    assert sorted(h.nodes) == sorted(g.nodes)


def test_dump_dot(capsys):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--format", "dot")
    assert code == 0
    assert out.startswith('digraph "f" {')
    assert '"f/n0" [label="%0 = log %x1 : f64"' in out
    assert out.rstrip().endswith("}")


def test_dump_output_file_matches_stdout(capsys, tmp_path):
    stdout = run_cli(capsys, "dump", TEXTBOOK)[1]
    path = tmp_path / "f.ir"
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "-o", str(path))
    assert (code, out) == (0, "")
    assert path.read_text() == stdout
    path2 = tmp_path / "f.dot"
    assert run_cli(capsys, "dump", TEXTBOOK, "--format", "dot", "--output", str(path2))[0] == 0
    assert path2.read_text().startswith("digraph")


def test_dump_binary_format_to_stdout_is_a_usage_error(capsys):
    code, out, err = run_cli(capsys, "dump", TEXTBOOK, "--format", "png")
    assert (code, out) == (2, "")
    assert "--format png is binary: give -o FILE" in err


def test_pictures_without_graphviz_say_what_to_install(capsys, monkeypatch, tmp_path):
    import adjit.ir.graph as irgraph

    monkeypatch.setattr(irgraph.shutil, "which", lambda name: None)
    code, out, err = run_cli(capsys, "dump", TEXTBOOK, "--format", "png", "-o",
                             str(tmp_path / "f.png"))
    assert (code, out) == (1, "")
    assert err.startswith("Graphviz unavailable: Graphviz 'dot' was not found on PATH")
    assert "apt-get install graphviz" in err and "Traceback" not in err


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


@needs_dot
def test_dump_svg_and_png_files(capsys, tmp_path):
    svg, png = tmp_path / "f.svg", tmp_path / "f.png"
    assert run_cli(capsys, "dump", TEXTBOOK, "--format", "svg", "-o", str(svg))[:2] == (0, "")
    assert run_cli(capsys, "dump", TEXTBOOK, "--format", "png", "-o", str(png))[:2] == (0, "")
    assert "<svg" in svg.read_text()
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@needs_dot
def test_dump_svg_to_stdout(capsys):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--format", "svg")
    assert code == 0 and "<svg" in out


@pytest.mark.parametrize("stage, header", [
    ("jvp", "func @f.jvp(%x1: f64, %x2: f64, %x1.dot: f64, %x2.dot: f64) -> (f64, f64) {"),
    ("grad", "func @f.grad(%x1: f64, %x2: f64) -> (f64, f64) {"),
    ("fwd", "func @f.fwd(%x1: f64, %x2: f64) -> ("),
    ("adj", "func @f.adj("),
])
def test_dump_derivative_stages(capsys, stage, header):
    code, out, err = run_cli(capsys, "dump", TEXTBOOK, "f", "--stage", stage, "--at", "2,5")
    assert code == 0, err
    assert out.startswith(header)


def test_dump_derivative_stage_wrt(capsys):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--stage", "grad", "--wrt", "x1")
    assert code == 0
    assert out.startswith("func @f.grad(%x1: f64, %x2: f64) -> f64 {")
    code, _, err = run_cli(capsys, "dump", TEXTBOOK, "--stage", "grad", "--wrt", "x3")
    assert code == 2
    assert "--wrt: no parameter named 'x3' (parameters: x1, x2)" in err


def test_dump_derivative_stage_json(capsys):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--stage", "jvp", "--format", "json")
    assert code == 0
    assert any(n["op"] == "cos" for n in json.loads(out)["nodes"])


def sweeps_by_op(out: str) -> dict[str, set[str]]:
    """op -> the sweeps its nodes are in, from `dump --format json`."""
    found: dict[str, set[str]] = {}
    for node in json.loads(out)["nodes"]:
        found.setdefault(node["op"], set()).add(node["sweep"])
    return found


def test_dump_gradient_json_tells_the_sweeps_apart(capsys):
    code, out, err = run_cli(capsys, "dump", TEXTBOOK, "--stage", "grad", "--format", "json")
    assert code == 0, err
    sweeps = sweeps_by_op(out)
    assert sweeps["log"] == sweeps["sin"] == sweeps["param"] == {"forward"}
    assert sweeps["cos"] == sweeps["return"] == {"adjoint"}


def test_dump_gradient_of_a_loop_tells_the_sweeps_apart(capsys, files):
    code, out, err = run_cli(capsys, "dump", files["prog"], "loop", "--stage", "grad",
                             "--types", "f64,i64", "--format", "json")
    assert code == 0, err
    sweeps = sweeps_by_op(out)
    assert sweeps["tape_push"] == {"forward"} and sweeps["tape_pop"] == {"adjoint"}
    assert sweeps["for"] == {"forward", "adjoint"}  # the loop, and the loop run backwards
    for stage, sweep in (("fwd", "forward"), ("adj", "adjoint")):
        code, out, err = run_cli(capsys, "dump", files["prog"], "loop", "--stage", stage,
                                 "--types", "f64,i64", "--format", "json")
        assert code == 0, err
        assert set().union(*sweeps_by_op(out).values()) == {sweep}
    code, out, _ = run_cli(capsys, "dump", files["prog"], "loop", "--stage", "opt",
                           "--types", "f64,i64", "--format", "json")
    assert all("sweep" not in node for node in json.loads(out)["nodes"])


def test_dump_gradient_dot_and_graphml_show_the_sweeps(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--stage", "grad", "--format", "dot")
    assert code == 0
    assert 'label="forward sweep"' in out and 'label="adjoint sweep"' in out
    path = tmp_path / "g.graphml"
    code, _, _ = run_cli(capsys, "dump", TEXTBOOK, "--stage", "grad", "--format", "graphml",
                         "-o", str(path))
    assert code == 0
    g = nx.read_graphml(str(path), force_multigraph=True)
    assert {d["sweep"] for _, d in g.nodes(data=True)} == {"forward", "adjoint"}


def test_dump_gradient_text_carries_no_sweep_marks(capsys):
    code, out, _ = run_cli(capsys, "dump", TEXTBOOK, "--stage", "grad", "--passes", "")
    assert code == 0
    assert "sweep" not in out and "cos" in out


def test_dump_asm(capsys):
    code, out, err = run_cli(capsys, "dump", TEXTBOOK, "--stage", "asm")
    assert code == 0, err
    assert out.strip()


def test_dump_llvm(capsys):
    code, out, err = run_cli(capsys, "dump", TEXTBOOK, "--stage", "llvm")
    assert code == 0, err
    assert "define" in out


# --- grad, jacobian, check -------------------------------------------------------------

def grad_lines(out: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"^(value|d/d\w+): (\S+)$", out, re.MULTILINE)}


def test_grad_textbook_native(capsys):
    code, out, err = run_cli(capsys, "grad", TEXTBOOK, "f", "--at", "2,5")
    assert code == 0, err
    assert grad_lines(out) == pytest.approx({"value": F_VALUE, "d/dx1": DF_DX1,
                                             "d/dx2": DF_DX2}, rel=1e-14)


@pytest.mark.parametrize("options", [["--interp"], ["--mode", "forward", "--interp"],
                                     ["--mode", "reverse", "--interp"]])
def test_grad_textbook_modes(capsys, options):
    code, out, err = run_cli(capsys, "grad", TEXTBOOK, "f", "--at", "x1=2", "x2=5", *options)
    assert code == 0, err
    assert grad_lines(out) == pytest.approx({"value": F_VALUE, "d/dx1": DF_DX1,
                                             "d/dx2": DF_DX2}, rel=1e-14)


def test_grad_wrt(capsys):
    code, out, _ = run_cli(capsys, "grad", TEXTBOOK, "f", "--at", "2,5", "--wrt", "x2",
                           "--interp")
    assert code == 0
    assert grad_lines(out) == pytest.approx({"value": F_VALUE, "d/dx2": DF_DX2}, rel=1e-14)


def test_grad_through_a_loop_and_an_array(capsys, files):
    code, out, _ = run_cli(capsys, "grad", files["prog"], "loop", "--at", "0.3", "3",
                           "--interp")
    assert code == 0
    x, d = 0.3, 1.0
    for _ in range(3):
        x, d = 4 * x * (1 - x), d * (4 - 8 * x)
    assert grad_lines(out) == pytest.approx({"value": x, "d/dx": d}, rel=1e-12)
    code, out, _ = run_cli(capsys, "grad", files["prog"], "norm", "--at", "x=3,4", "--interp")
    assert code == 0
    assert out.splitlines()[0] == "value: 5.0"
    assert floats_in(out.splitlines()[1]) == pytest.approx([0.6, 0.8])


def test_grad_errors(capsys, files):
    code, _, err = run_cli(capsys, "grad", TEXTBOOK, "f")
    assert code == 2 and "--at" in err
    code, _, err = run_cli(capsys, "grad", TEXTBOOK, "f", "--at", "2,5", "--wrt", "x3")
    assert code == 2 and "no parameter named 'x3'" in err
    code, _, err = run_cli(capsys, "grad", files["prog"], "two", "--at", "2,3", "--interp")
    assert code == 1 and "grad requires one float result" in err
    code, _, err = run_cli(capsys, "grad", files["prog"], "loop", "--at", "0.3", "3",
                           "--wrt", "n", "--interp")
    assert code == 1
    assert "range() arguments must be integers" in err and CARET_LINE.search(err)


def test_grad_at_array_written_with_commas(capsys, files):
    code, out, _ = run_cli(capsys, "grad", files["prog"], "norm", "--at", "3,4", "--interp")
    assert code == 0 and out.startswith("value: 5.0")


def test_jacobian_of_a_vector_function(capsys, files):
    for mode in ("auto", "forward", "reverse"):
        code, out, err = run_cli(capsys, "jacobian", files["prog"], "squares", "--at",
                                 "x=1,2,3", "--mode", mode, "--interp")
        assert code == 0, err
        assert out.splitlines()[0] == "d/dx:"
        assert floats_in(out) == [2.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 6.0]


def test_jacobian_of_a_scalar_function(capsys):
    code, out, _ = run_cli(capsys, "jacobian", TEXTBOOK, "f", "--at", "2,5", "--interp")
    assert code == 0
    assert out.splitlines()[0::2] == ["d/dx1:", "d/dx2:"]
    assert floats_in(out) == pytest.approx([DF_DX1, DF_DX2], rel=1e-14)


def test_jacobian_of_several_results(capsys, files):
    code, out, _ = run_cli(capsys, "jacobian", files["prog"], "two", "--at", "2,3", "--interp")
    assert (code, out) == (0, "d/dx:\n(1.0, 3.0)\nd/dy:\n(1.0, 2.0)\n")


def test_jacobian_of_several_results_wrt_one(capsys, files):
    code, out, _ = run_cli(capsys, "jacobian", files["prog"], "two", "--at", "2,3", "--wrt",
                           "x", "--interp")
    assert code == 0 and floats_in(out) == [1.0, 3.0]


def test_check_passes(capsys, files):
    code, out, _ = run_cli(capsys, "check", files["prog"], "ramp", "--at", "0.5", "--interp")
    assert code == 0
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == [
        "reverse vs fd", "forward vs fd", "forward vs reverse"]
    assert all(float(line.split(":")[1]) < 1e-6 for line in lines[:3])
    assert lines[3] == "ok"


def test_check_fails_at_a_kink_with_exit_1(capsys, files):
    code, out, _ = run_cli(capsys, "check", files["prog"], "ramp", "--at", "0.0", "--interp")
    assert code == 1
    assert "reverse vs fd: 5.000e-01" in out
    assert out.splitlines()[-1] == "FAILED: errors above 1e-06"
    code, out, _ = run_cli(capsys, "check", files["prog"], "ramp", "--at", "0.0", "--interp",
                           "--tolerance", "0.6")
    assert code == 0 and out.splitlines()[-1] == "ok"


def test_check_textbook_native(capsys):
    code, out, err = run_cli(capsys, "check", TEXTBOOK, "f", "--at", "2,5")
    assert code == 0, err
    assert out.splitlines()[-1] == "ok"


@pytest.mark.skipif("trace" not in subcommands(), reason="no trace subcommand")
def test_trace_tables(capsys):
    code, out, err = run_cli(capsys, "trace", TEXTBOOK, "f", "--at", "2,5")
    assert code == 0, err
    assert "Forward Primal Trace" in out and "Forward Tangent Trace" in out
    code, out, err = run_cli(capsys, "trace", TEXTBOOK, "f", "--at", "2,5", "--mode", "reverse")
    assert code == 0, err
    assert "Reverse Adjoint Trace" in out
    assert re.search(r"^x1bar = .* 5\.5$", out, re.MULTILINE)


@pytest.mark.parametrize("args, message", [
    (["--at", "2,5", "--wrt", "x3"], "--wrt: no parameter named 'x3'"),
    (["--at", "2,5", "--mode", "sideways"], "invalid choice: 'sideways'"),
    ([], "the following arguments are required: --at"),
])
def test_trace_usage_errors_exit_2(capsys, args, message):
    code, _, err = run_cli(capsys, "trace", TEXTBOOK, "f", *args)
    assert code == 2
    assert message in err


def test_trace_and_jacobian_program_errors_exit_1(capsys, files):
    code, _, err = run_cli(capsys, "trace", files["prog"], "recip", "--at", "0.0")
    assert code == 1 and err.startswith("ZeroDivisionError:")
    code, _, err = run_cli(capsys, "jacobian", files["bad"], "f", "--at", "1.0")
    assert code == 1
    assert_user_error(err, files["bad"], 2, 9, "lambda is not supported")
    code, _, err = run_cli(capsys, "jacobian", TEXTBOOK, "f", "--at", "2,5", "--wrt", "y")
    assert code == 2 and "--wrt: no parameter named 'y'" in err


# --- the same through a real process -----------------------------------------------------

def test_process_demo():
    done = run_process("demo")
    assert done.returncode == 0, done.stderr
    assert any(abs(v - F_VALUE) < 1e-12 for v in floats_in(done.stdout))


def test_process_run(files):
    done = run_process("run", files["prog"], "trace", "1,2;3,4", cwd=files["dir"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "5.0\n", "")
    done = run_process("run", "prog.py", "trace", "m.npy", cwd=files["dir"])
    assert (done.returncode, done.stdout) == (0, "5.0\n")


def test_process_run_runtime_error(files):
    done = run_process("run", "prog.py", "recip", "0", cwd=files["dir"])
    assert done.returncode == 1
    assert done.stderr == ("ZeroDivisionError: float division by zero "
                           f"(at prog.py:{RECIP_LINE}:12: return 1.0 / x)\n")


def test_process_compile_error(files):
    done = run_process("run", "bad.py", "f", "1", cwd=files["dir"])
    assert done.returncode == 1
    assert_user_error(done.stderr, "bad.py", 2, 9, "lambda is not supported")


def test_process_usage_errors(files):
    assert run_process("frob").returncode == 2
    done = run_process("run", "missing.py", "f", cwd=files["dir"])
    assert (done.returncode, done.stderr) == (2, "adjit run: error: no such file: missing.py\n")
    done = run_process("dump", "prog.py", "nope", cwd=files["dir"])
    assert done.returncode == 2 and "defines no function 'nope'" in done.stderr


def test_process_help():
    for command in subcommands():
        done = run_process(command, "--help")
        assert done.returncode == 0, command
        assert done.stdout.startswith(f"usage: adjit {command}")


def test_process_dump(files):
    done = run_process("dump", "prog.py", "recip", cwd=files["dir"])
    assert done.returncode == 0
    assert done.stdout.startswith("func @recip(%x: f64) -> f64 {")
    done = run_process("dump", "prog.py", "recip", "--format", "json", cwd=files["dir"])
    assert json.loads(done.stdout)["graph"]["name"] == "recip"


def test_process_grad_jacobian_check():
    done = run_process("grad", TEXTBOOK, "f", "--at", "2,5")
    assert done.returncode == 0, done.stderr
    assert grad_lines(done.stdout) == pytest.approx(
        {"value": F_VALUE, "d/dx1": DF_DX1, "d/dx2": DF_DX2}, rel=1e-14)
    done = run_process("jacobian", TEXTBOOK, "f", "--at", "2,5", "--interp")
    assert done.returncode == 0, done.stderr
    assert floats_in(done.stdout) == pytest.approx([DF_DX1, DF_DX2], rel=1e-14)
    done = run_process("check", TEXTBOOK, "f", "--at", "2,5", "--interp")
    assert done.returncode == 0 and done.stdout.endswith("ok\n")


def test_process_trace():
    done = run_process("trace", TEXTBOOK, "f", "--at", "2,5", "--mode", "reverse")
    assert done.returncode == 0, done.stderr
    assert "Reverse Adjoint Trace" in done.stdout
    assert re.search(r"^x2bar = .* 1\.716", done.stdout, re.MULTILINE)
    done = run_process("trace", TEXTBOOK, "f")
    assert done.returncode == 2 and "required: --at" in done.stderr


def test_process_check_failure_and_dump_pictures(files, tmp_path):
    done = run_process("check", "prog.py", "ramp", "--at", "0.0", "--interp", cwd=files["dir"])
    assert done.returncode == 1 and done.stdout.endswith("FAILED: errors above 1e-06\n")
    done = run_process("dump", TEXTBOOK, "--stage", "grad", "--format", "dot")
    assert done.returncode == 0 and 'label="adjoint sweep"' in done.stdout


def test_process_internal_error_exits_3():
    """A bug in adjit (here: a stage that raises KeyError) exits 3 in a real process."""
    script = ("import sys\n"
              "from adjit import cli, demo\n"
              "def broken(out):\n"
              "    raise KeyError('oops')\n"
              "demo.run = broken\n"
              "sys.exit(cli.main(['demo']))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 3
    assert "internal error" in done.stderr and "please report it" in done.stderr
