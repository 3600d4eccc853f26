"""`adjit compile`: object files and C headers that link into C programs.

The object files are linked with a small C driver by the system C compiler
(tests that need one are skipped when there is none), run, and the numbers
they print compared with CPython's. Also: LLVM IR and assembly output, the
header's declarations, error statuses and messages, symbol clashes, and the
PTX target (through a stand-in for adjit.backend.ptx.emit_ptx).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from adjit import cli
from adjit.backend.llvm.aot import printf_message
from adjit.backend.llvm.runtime_checks import ErrorSite
from adjit.errors import SourceFile, Span

REPO_ROOT = Path(__file__).resolve().parent.parent
TEXTBOOK = str(REPO_ROOT / "adjit" / "examples" / "textbook.py")
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc, gcc or clang) on PATH")

PROGRAM = '''\
import math

import numpy as np


def norm(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i]
    return math.sqrt(s)


def squares(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = x[i] * x[i]
    return y


def recip(x):
    return 1.0 / x


def get(v, i):
    return v[i]


def cos(x):
    return math.sin(x)
'''
RECIP_LINE = PROGRAM.splitlines().index("    return 1.0 / x") + 1
GET_LINE = PROGRAM.splitlines().index("    return v[i]") + 1


@pytest.fixture
def prog(tmp_path) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    return path


def compile_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["compile", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def build_and_run(tmp_path: Path, objects: list[Path], driver: str) -> str:
    source = tmp_path / "driver.c"
    source.write_text(driver)
    exe = tmp_path / "driver"
    done = subprocess.run([CC, "-std=c99", "-Wall", "-Werror", "-I", str(tmp_path), "-o",
                           str(exe), str(source), *map(str, objects), "-lm"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


TEXTBOOK_DRIVER = r'''
#include <stdio.h>
#include "textbook.h"

int main(void) {
    adjit_record record;
    double value, d_x1, d_x2;
    if (f(&record, 2.0, 5.0, &value) != ADJIT_OK) return 1;
    if (f_grad(&record, 2.0, 5.0, &d_x1, &d_x2) != ADJIT_OK) return 1;
    printf("%.17g %.17g %.17g\n", value, d_x1, d_x2);
    return 0;
}
'''


@needs_cc
def test_textbook_function_and_gradient_link_into_c(capsys, tmp_path):
    obj = tmp_path / "textbook.o"
    code, out, err = compile_cli(capsys, TEXTBOOK, "f", "--grad", "-o", str(obj))
    assert code == 0, err
    assert out == f"wrote {obj} and {tmp_path / 'textbook.h'}\n"
    printed = build_and_run(tmp_path, [obj], TEXTBOOK_DRIVER).split()
    assert printed == ["11.652071455223084", "5.5", "1.7163378145367738"]
    assert [float(v) for v in printed] == [math.log(2.0) + 10.0 - math.sin(5.0), 5.5,
                                           2.0 - math.cos(5.0)]


def test_textbook_header_declares_the_calling_convention(capsys, tmp_path):
    obj = tmp_path / "tb.o"
    assert compile_cli(capsys, TEXTBOOK, "--grad", "-o", str(obj))[0] == 0
    header = (tmp_path / "tb.h").read_text()
    assert "#ifndef TB_H\n#define TB_H" in header
    assert "int32_t f(adjit_record *record, double x1, double x2, double *result);" in header
    assert ("int32_t f_grad(adjit_record *record, double x1, double x2, double *d_x1, "
            "double *d_x2);") in header
    assert ("int64_t adjit_error_message(const adjit_record *record, char *buf, "
            "size_t size);") in header
    assert "typedef struct { double *data; int64_t shape[1]; int64_t strides[1]; " \
           "int64_t flags; }" in header


ARRAY_DRIVER = r'''
#include <stdio.h>
#include <stdlib.h>
#include "arrays.h"

int main(void) {
    double x[3] = {3.0, 4.0, 12.0};
    double strided[6] = {3.0, -1.0, 4.0, -1.0, 12.0, -1.0};
    adjit_array1 a = {x, {3}, {sizeof(double)}, 0};
    adjit_array1 b = {strided, {3}, {2 * sizeof(double)}, 0};
    adjit_record record;
    double n;
    adjit_result1 grad, sq;
    if (norm(&record, &a, &n) != ADJIT_OK) return 1;
    printf("%.17g\n", n);
    if (norm_grad(&record, &b, &grad) != ADJIT_OK) return 1;
    for (int i = 0; i < grad.shape[0]; i++)
        printf("%.17g\n", *(double *)((char *)grad.data + i * grad.strides[0]));
    free(grad.block);
    if (squares(&record, &b, &sq) != ADJIT_OK) return 1;
    for (int i = 0; i < sq.shape[0]; i++) printf("%.17g\n", sq.data[i]);
    free(sq.block);
    printf("leaked %lld\n", (long long)record.leaked);
    return 0;
}
'''


@needs_cc
def test_array_arguments_and_results(capsys, tmp_path, prog):
    obj = tmp_path / "arrays.o"
    code, _, err = compile_cli(capsys, str(prog), "norm", "squares", "--types", "array1",
                               "--grad", "--wrt", "x", "-o", str(obj))
    assert code == 1 and "grad requires a function with a float result" in err  # squares
    code, _, err = compile_cli(capsys, str(prog), "norm", "--types", "x=array1", "--grad",
                               "-o", str(obj))
    assert code == 0, err
    assert "int32_t norm_grad(adjit_record *record, const adjit_array1 *x, " \
           "adjit_result1 *d_x);" in (tmp_path / "arrays.h").read_text()
    # Two objects in one program: the second one's names get a prefix.
    other = tmp_path / "squares.o"
    code, _, err = compile_cli(capsys, str(prog), "squares", "--types", "array1", "--prefix",
                               "sq_", "-o", str(other))
    assert code == 0, err
    driver = ARRAY_DRIVER.replace('#include "arrays.h"',
                                  '#include "arrays.h"\n#include "squares.h"')
    driver = driver.replace("squares(&record", "sq_squares(&record")
    out = build_and_run(tmp_path, [obj, other], driver).splitlines()
    assert [float(v) for v in out[:7]] == [13.0, 3 / 13, 4 / 13, 12 / 13, 9.0, 16.0, 144.0]
    assert out[7] == "leaked 0"


ERROR_DRIVER = r'''
#include <stdio.h>
#include "errors.h"

int main(void) {
    adjit_record record;
    char message[512];
    double r;
    double x[3] = {1.0, 2.0, 3.0};
    adjit_array1 a = {x, {3}, {sizeof(double)}, 0};
    int status = recip(&record, 0.0, &r);
    adjit_error_message(&record, message, sizeof message);
    printf("%d %s\n", status, message);
    status = get(&record, &a, 5, &r);
    int64_t length = adjit_error_message(&record, message, 8);
    printf("%d %s %lld\n", status, message, (long long)length);
    adjit_error_message(&record, message, sizeof message);
    printf("%s\n", message);
    status = get(&record, &a, -1, &r);
    printf("%d %.17g\n", status, r);
    return 0;
}
'''


@needs_cc
def test_errors_reach_c_as_status_and_message(capsys, tmp_path, prog):
    obj = tmp_path / "errors.o"
    code, _, err = compile_cli(capsys, str(prog), "recip", "get", "--types", "v=array1",
                               "i=i64", "-o", str(obj))
    assert code == 0, err
    out = build_and_run(tmp_path, [obj], ERROR_DRIVER).splitlines()
    try:
        1.0 / (lambda: 0.0)()
    except ZeroDivisionError as exc:
        division = str(exc)
    assert out[0] == (f"1 ZeroDivisionError: {division} "
                      f"(at {prog}:{RECIP_LINE}:12: return 1.0 / x)")
    full = (f"IndexError: index 5 is out of bounds for axis 0 with size 3 "
            f"(at {prog}:{GET_LINE}:12: return v[i])")
    assert out[1] == f"1 IndexEr {len(full)}"  # truncated to the buffer, full length returned
    assert out[2] == full
    assert out[3] == "0 3"


def test_printf_message_escapes_percent_and_orders_payloads():
    source = SourceFile("m.py", "x = 1\n")
    site = ErrorSite(ValueError, "100% of {1} and {0}", source, Span(1, 5, 1, 6))
    fmt, order = printf_message(site)
    assert fmt == "ValueError: 100%% of %lld and %lld (at m.py:1:5: x = 1)"
    assert order == [1, 0]


def test_a_name_of_a_library_function_needs_a_prefix(capsys, tmp_path, prog):
    obj = tmp_path / "cos.o"
    code, _, err = compile_cli(capsys, str(prog), "cos", "--grad", "-o", str(obj))
    assert code == 2
    assert "the exported name 'cos' is also a C library function" in err
    assert "--prefix" in err
    code, _, err = compile_cli(capsys, str(prog), "cos", "--grad", "--prefix", "my_",
                               "-o", str(obj))
    assert code == 0, err
    header = (tmp_path / "cos.h").read_text()
    assert "int32_t my_cos(" in header and "int32_t my_cos_grad(" in header
    assert "int64_t my_adjit_error_message(" in header


def test_emit_llvm_and_asm_print_text(capsys, tmp_path):
    code, out, err = compile_cli(capsys, TEXTBOOK, "--grad", "--emit", "llvm")
    assert code == 0, err
    # The C entries return a status; results go through pointers.
    assert re.search(r"^define .*i32 @f\(ptr .*, double .*, double .*, ptr .*\)", out, re.M)
    assert re.search(r"^define .*i32 @f_grad\(ptr .*, double .*, double .*, ptr .*, ptr ", out,
                     re.M)
    assert "Py" not in out  # no CPython API in ahead-of-time code
    code, out, err = compile_cli(capsys, TEXTBOOK, "--emit", "asm")
    assert code == 0, err
    assert "f:" in out.splitlines() and "f_grad:" not in out.splitlines()
    path = tmp_path / "tb.ll"
    assert compile_cli(capsys, TEXTBOOK, "--emit", "llvm", "-o", str(path))[0] == 0
    assert re.search(r"^define .*i32 @f\(ptr", path.read_text(), re.M)
    assert (tmp_path / "tb.h").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--emit", "obj"], "give -o FILE.o"),
    (["--target", "cpu", "--emit", "ptx"], "--target cpu cannot emit ptx"),
    (["--target", "ptx", "--emit", "asm"], "--target ptx cannot emit asm"),
    (["-o", "out.h"], "the header is written beside it"),
    (["--types", "complex,f64", "--emit", "llvm"], "unknown type 'complex'"),
    (["--types", "f64", "--emit", "llvm"], "f() has 2 parameters (x1, x2), not 1"),
    (["--types", "y=f64", "--emit", "llvm"], "no compiled function has a parameter named 'y'"),
    (["--wrt", "y", "--grad", "--emit", "llvm"], "no compiled function has a parameter"),
    (["nope", "--emit", "llvm"], "defines no function 'nope'"),
    (["f", "--emit", "llvm"], "two exported functions would both be named 'f'"),
    (["--emit", "llvm", "-o", "/nonexistent-dir/f.ll"], "cannot write /nonexistent-dir/f.ll"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    func = [] if argv[0] == "nope" else ["f"]
    code, out, err = compile_cli(capsys, TEXTBOOK, *func, *argv)
    assert code == 2, err
    assert message in err and err.startswith("adjit compile: error: ")


def test_written_array_parameters_come_back_as_final_results(capsys, tmp_path, prog):
    (tmp_path / "scale.py").write_text("def scale(x, a=2.0):\n"
                                       "    for i in range(len(x)):\n"
                                       "        x[i] *= a\n"
                                       "    return x[0]\n")
    code, _, err = compile_cli(capsys, str(tmp_path / "scale.py"), "--types", "x=array1",
                               "--emit", "llvm", "-o", str(tmp_path / "scale.ll"))
    assert code == 0, err
    assert ("int32_t scale(adjit_record *record, const adjit_array1 *x, double a, "
            "double *result, adjit_result1 *x_final);") in (tmp_path / "scale.h").read_text()


def test_missing_file_and_integer_gradient(capsys, prog):
    code, _, err = compile_cli(capsys, "missing.py", "--emit", "llvm")
    assert (code, err) == (2, "adjit compile: error: no such file: missing.py\n")
    code, _, err = compile_cli(capsys, str(prog), "get", "--types", "array1,i64", "--grad",
                               "--wrt", "i", "--emit", "llvm")
    assert code == 2 and "get() has no float parameter to differentiate among --wrt i" in err


def test_program_error_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    return lambda t: t\n")
    code, _, err = compile_cli(capsys, str(bad), "--emit", "llvm")
    assert code == 1
    assert f"{bad}:2:12: error: lambda is not supported" in err


@pytest.fixture
def fake_ptx(monkeypatch):
    """A stand-in for adjit.backend.ptx that records what it was asked."""
    calls = []

    def emit_ptx(module, *, arch="sm_80"):
        calls.append((sorted(module.functions), module.entry, arch))
        return f"// PTX of {', '.join(sorted(module.functions))} for {arch}\n"

    monkeypatch.setitem(sys.modules, "adjit.backend.ptx",
                        types.SimpleNamespace(emit_ptx=emit_ptx))
    return calls


def test_ptx_target_emits_the_function_and_its_gradient(capsys, tmp_path, fake_ptx):
    code, out, err = compile_cli(capsys, TEXTBOOK, "f", "--target", "ptx", "--arch", "sm_90")
    assert (code, out, err) == (0, "// PTX of f for sm_90\n", "")
    code, _, err = compile_cli(capsys, TEXTBOOK, "f", "--grad", "--target", "ptx")
    assert code == 2 and "give -o OUT.ptx" in err
    code, out, err = compile_cli(capsys, TEXTBOOK, "f", "--grad", "--emit", "ptx", "-o",
                                 str(tmp_path / "tb.ptx"))
    assert (code, err) == (0, "")
    assert out == f"wrote {tmp_path / 'tb.f.ptx'}, {tmp_path / 'tb.f_grad.ptx'}\n"
    assert (tmp_path / "tb.f.ptx").read_text() == "// PTX of f for sm_80\n"
    assert (tmp_path / "tb.f_grad.ptx").read_text() == "// PTX of f.grad for sm_80\n"
    assert fake_ptx == [(["f"], "f", "sm_90"), (["f"], "f", "sm_80"),
                        (["f.grad"], "f.grad", "sm_80")]
    assert not list(tmp_path.glob("*.h"))


def test_dump_stage_ptx(capsys, fake_ptx):
    code = cli.main(["dump", TEXTBOOK, "f", "--stage", "ptx", "--arch", "sm_75"])
    out = capsys.readouterr().out
    assert (code, out) == (0, "// PTX of f for sm_75\n")
    code = cli.main(["dump", TEXTBOOK, "--stage", "ptx", "--format", "json"])
    assert code == 2


def test_without_a_ptx_backend_ptx_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "adjit.backend.ptx", None)  # import fails
    code, _, err = compile_cli(capsys, TEXTBOOK, "--emit", "ptx")
    assert code == 2 and "no PTX backend" in err


def run_process(*argv: str, cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "adjit", *argv], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


@needs_cc
def test_compile_in_a_process(tmp_path):
    done = run_process("compile", TEXTBOOK, "f", "--grad", "-o", "textbook.o",
                       cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    printed = build_and_run(tmp_path, [tmp_path / "textbook.o"], TEXTBOOK_DRIVER).split()
    assert printed == ["11.652071455223084", "5.5", "1.7163378145367738"]
    done = run_process("compile", TEXTBOOK, "--emit", "obj", cwd=str(tmp_path))
    assert done.returncode == 2 and "give -o FILE.o" in done.stderr


CALLS_DRIVER = r'''
#include <stdio.h>
#include "calls.h"

int main(void) {
    adjit_record record;
    double a, b, da, db;
    if (sq(&record, 3.0, &a) || sq_grad(&record, 3.0, &da)) return 1;
    if (h(&record, 3.0, &b) || h_grad(&record, 3.0, &db)) return 1;
    printf("%.17g %.17g %.17g %.17g\n", a, da, b, db);
    return 0;
}
'''


@needs_cc
def test_functions_that_call_functions(capsys, tmp_path):
    source = tmp_path / "calls.py"
    source.write_text("def sq(x):\n    return x * x\n\n\n"
                      "def h(x):\n    return sq(x) + sq(2.0 * x)\n")
    obj = tmp_path / "calls.o"
    code, _, err = compile_cli(capsys, str(source), "sq", "h", "--grad", "-o", str(obj))
    assert code == 0, err
    out = build_and_run(tmp_path, [obj], CALLS_DRIVER).split()
    assert [float(v) for v in out] == [9.0, 6.0, 45.0, 30.0]


def cuda_toolkit_missing() -> str | None:
    """Why the real PTX backend cannot run here, or None when it can."""
    try:
        from adjit.backend.ptx import find_libdevice
        find_libdevice()
    except Exception as exc:  # noqa: BLE001 - any reason is a reason to skip
        return f"no CUDA toolkit for the PTX backend: {exc}"
    return None


def test_real_ptx_of_a_function_and_its_gradient(capsys, tmp_path):
    reason = cuda_toolkit_missing()
    if reason:
        pytest.skip(reason)
    code, out, err = compile_cli(capsys, TEXTBOOK, "f", "--grad", "--target", "ptx", "-o",
                                 str(tmp_path / "tb.ptx"))
    assert code == 0, err
    primal = (tmp_path / "tb.f.ptx").read_text()
    grad = (tmp_path / "tb.f_grad.ptx").read_text()
    assert ".target sm_80" in primal and ".entry f_kernel(" in primal
    assert ".entry f_grad_kernel(" in grad
    code = cli.main(["dump", TEXTBOOK, "f", "--stage", "ptx", "--arch", "sm_90"])
    out = capsys.readouterr().out
    assert code == 0 and ".target sm_90" in out and ".entry f_kernel(" in out
