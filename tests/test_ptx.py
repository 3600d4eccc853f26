"""The PTX backend: every corpus program and its gradient becomes PTX that
`ptxas` assembles for sm_80 and sm_90; gradients through `while` loops get
the GPU rule's compile error; the kernel ABI; finding the CUDA toolkit."""
from __future__ import annotations

import ctypes
import itertools
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import adjit
from adjit.backend.ptx import CudaUnavailableError, emit_ptx, find_libdevice, find_ptxas
from adjit.backend.ptx import launch, toolkit
from adjit.backend.ptx.codegen import PtxProgram
from adjit.backend.ptx.kernel import ERROR_WORDS
from adjit.errors import UnsupportedError
from adjit.ir.types import F64

corpus_cases = pytest.importorskip("corpus_cases")

ARCHES = ("sm_80", "sm_90")
# Gradients that reverse a `while` loop: no GPU kernel by the rule of docs/gpu.md.
WHILE_GRADIENTS = {
    "defined_before_loop.py::before_inside_after_while", "linear_search.py::first_above_value",
    "logistic_while.py::logistic_while", "multiple_returns.py::first_pair_above",
    "multiple_returns.py::return_from_while", "nested_break_continue.py::nested_break_continue",
    "nested_break_continue.py::while_break_continue", "newton_sqrt.py::newton_sqrt",
}


def _ptxas_or_skip() -> Path:
    try:
        return find_ptxas()
    except CudaUnavailableError as exc:
        pytest.skip(f"ptxas is not installed here: {exc.message}")


def _programs() -> list[tuple[str, object, tuple]]:
    """(id, corpus case, arguments) for each corpus function and signature."""
    seen, out, count = set(), [], {}
    for case in corpus_cases.CASES:
        args = case.args_list[0]
        key = (case.id, tuple(type(a).__name__ for a in args))
        if key not in seen:
            seen.add(key)
            n = count[case.id] = count.get(case.id, 0) + 1
            out.append((case.id if n == 1 else f"{case.id}#{n}", case, args))
    return out


PROGRAMS = _programs()


def _modules(case, args) -> dict[str, object]:
    """The optimized IR of the program and, for a differentiable function
    of floats with one float result, of its gradient."""
    target = (str(case.path), case.func)
    primal = adjit.jit(target).ir(*args, optimize=True)
    out = {"primal": primal}
    if case.differentiable and case.float_argnums \
            and primal.entry_function.returned_types == [F64]:
        out["grad"] = adjit.grad(target, argnums=case.float_argnums).ir(*args, optimize=True)
    return out


def _assemble(ptxas: Path, ptx_file: Path, arch: str) -> str:
    """ptxas's complaint, or "" when it assembles."""
    result = subprocess.run([str(ptxas), f"-arch={arch}", str(ptx_file), "-o", "/dev/null"],
                            capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stderr


@pytest.fixture(scope="module")
def corpus_ptx(tmp_path_factory):
    """{(program id, "primal"|"grad"): problems}: compile everything once
    (LLVM in this thread), assembling with ptxas in parallel meanwhile."""
    ptxas = _ptxas_or_skip()
    folder = tmp_path_factory.mktemp("ptx")
    pending, results = [], {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for k, (pid, case, args) in enumerate(PROGRAMS):
            for kind, module in _modules(case, args).items():
                try:
                    ptx = emit_ptx(module, arch="sm_80")
                except UnsupportedError as exc:
                    results[(pid, kind)] = exc
                    continue
                path = folder / f"{k}_{kind}.ptx"
                path.write_text(ptx)
                for arch in ARCHES:
                    pending.append(((pid, kind, arch), pool.submit(_assemble, ptxas, path, arch)))
        for (pid, kind, arch), future in pending:
            results.setdefault((pid, kind), {})[arch] = future.result()
    return results


@pytest.mark.parametrize("pid", [p for p, _, _ in PROGRAMS])
def test_corpus_program_and_gradient_assemble(corpus_ptx, pid):
    kinds = {kind: r for (p, kind), r in corpus_ptx.items() if p == pid}
    assert "primal" in kinds
    for kind, result in kinds.items():
        if kind == "grad" and pid.split("#")[0] in WHILE_GRADIENTS:
            assert isinstance(result, UnsupportedError), result
            assert "while" in result.message and result.line is not None
            continue
        assert not isinstance(result, Exception), f"{kind}: {result}"
        assert result == {arch: "" for arch in ARCHES}, f"{kind}: {result}"


def test_every_while_gradient_in_the_list_is_a_corpus_program():
    assert WHILE_GRADIENTS <= {p for p, _, _ in PROGRAMS}


# --- the kernel ABI ----------------------------------------------------------------

def _textbook_grad():
    return adjit.grad((str(corpus_cases.CORPUS_DIR / "textbook.py"), "f"),
                      argnums=(0, 1)).ir(1.5, 2.0, optimize=True)


@pytest.mark.parametrize("arch", ARCHES)
def test_kernel_signature_and_target(arch, tmp_path):
    ptx = emit_ptx(_textbook_grad(), arch=arch)
    assert f".target {arch}" in ptx
    head = ptx[ptx.index(".entry f_grad_kernel("):]
    params = head[:head.index(")")].count(".param")
    assert params == 1 + 2 + 2 + 1  # n, x1 and x2, two partials, the error buffer
    assert ".extern" not in ptx  # libdevice's __nv_log and __nv_sin are linked in
    assert re.search(r"atom\.[\w.]*cas\.b64", ptx)  # the first error wins
    path = tmp_path / "f.ptx"
    path.write_text(ptx)
    assert _assemble(_ptxas_or_skip(), path, arch) == ""


def test_only_the_kernel_is_visible():
    ptx = emit_ptx(_textbook_grad())
    visible = [line for line in ptx.splitlines() if line.startswith(".visible")]
    assert len(visible) == 2, visible  # the kernel and the arena global
    assert any("f_grad_kernel" in line for line in visible)
    assert any("adjit_arena" in line for line in visible)


def test_a_bad_arch_is_a_value_error():
    with pytest.raises(ValueError, match="sm_80"):
        emit_ptx(_textbook_grad(), arch="80")


def test_the_while_rule_names_the_loop_and_the_fix(tmp_path):
    source = tmp_path / "shrink.py"
    source.write_text("def f(x):\n    y = x\n    while y > 1.0:\n        y = y * y * 0.25\n"
                      "    return y\n")
    module = adjit.grad((str(source), "f")).ir(3.0, optimize=True)
    with pytest.raises(UnsupportedError) as info:
        emit_ptx(module)
    assert info.value.line == 3
    assert "for k in range(bound)" in str(info.value)
    # The same loop as a bounded for loop, its body guarded, compiles.
    source.write_text("def f(x):\n    y = x\n    for k in range(60):\n        if y > 1.0:\n"
                      "            y = y * y * 0.25\n    return y\n")
    module = adjit.grad((str(source), "f")).ir(3.0, optimize=True)
    assert ".entry f_grad_kernel(" in emit_ptx(module)


def test_vjp_forward_graphs_returning_tapes_are_rejected(tmp_path):
    from adjit.ir.core import Function, Module, Region
    from adjit.ir.types import TapeType

    tape = TapeType((F64,))
    fn = Function("g", Region([tape], ["t"]), [tape])
    fn.body.yields = list(fn.body.args)
    with pytest.raises(UnsupportedError, match="tape"):
        emit_ptx(Module({"g": fn}, "g"))


# --- finding the toolkit ------------------------------------------------------------

def _no_toolkit(monkeypatch, tmp_path):
    """Hide every place the toolkit is looked for."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(toolkit, "STANDARD_ROOTS", ())
    monkeypatch.setattr(toolkit, "VERSIONED_PARENT", empty)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setattr(sys, "path", [str(empty)])


def test_missing_toolkit_names_what_is_missing(monkeypatch, tmp_path):
    _no_toolkit(monkeypatch, tmp_path)
    with pytest.raises(CudaUnavailableError) as info:
        find_libdevice()
    assert "libdevice" in str(info.value) and "CUDA_HOME" in str(info.value)
    with pytest.raises(CudaUnavailableError, match="ptxas"):
        find_ptxas()


def _fake_toolkit(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "ptxas").write_text("")
    (root / "nvvm" / "libdevice").mkdir(parents=True)
    (root / "nvvm" / "libdevice" / "libdevice.10.bc").write_bytes(b"")


@pytest.mark.parametrize("variable", ["CUDA_HOME", "CUDA_PATH"])
def test_toolkit_from_environment(monkeypatch, tmp_path, variable):
    _no_toolkit(monkeypatch, tmp_path)
    _fake_toolkit(tmp_path / "cuda")
    monkeypatch.setenv(variable, str(tmp_path / "cuda"))
    assert find_libdevice() == tmp_path / "cuda" / "nvvm/libdevice/libdevice.10.bc"
    assert find_ptxas() == tmp_path / "cuda" / "bin/ptxas"


def test_toolkit_from_the_newest_versioned_directory(monkeypatch, tmp_path):
    _no_toolkit(monkeypatch, tmp_path)
    for version in ("cuda-9.2", "cuda-12.4", "cuda-12.10"):
        _fake_toolkit(tmp_path / "empty" / version)
    assert find_ptxas() == tmp_path / "empty" / "cuda-12.10" / "bin/ptxas"


def test_toolkit_from_ptxas_on_path(monkeypatch, tmp_path):
    _no_toolkit(monkeypatch, tmp_path)
    _fake_toolkit(tmp_path / "tk")
    (tmp_path / "tk" / "bin" / "ptxas").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "tk" / "bin"))
    assert find_libdevice() == tmp_path / "tk" / "nvvm/libdevice/libdevice.10.bc"


def test_toolkit_from_the_nvcc_wheel(monkeypatch, tmp_path):
    _no_toolkit(monkeypatch, tmp_path)
    _fake_toolkit(tmp_path / "site" / "nvidia" / "cuda_nvcc")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    assert find_ptxas() == tmp_path / "site" / "nvidia" / "cuda_nvcc" / "bin/ptxas"


# --- the kernel, run on the CPU ----------------------------------------------------
# The kernel's LLVM IR (before libdevice) compiled for the host, as a grid of
# one thread: the grid-stride loop, the arena, the error buffer and the
# launcher's exceptions are tested here, where no GPU is present.

_HOST_SREGS = {"tid": 0, "ctaid": 0, "ntid": 1, "nctaid": 1}
_emulated = itertools.count()


def emulate_kernel(module, inputs, outputs, scratch=launch.SCRATCH_BYTES):
    """run_batched's contract, with the kernel running on the CPU; an input
    or output may also be a ctypes descriptor (array parameters and results)."""
    from adjit.backend.llvm.engine import get_engine
    from adjit.backend.ptx.codegen import lower_for_gpu
    from adjit.backend.llvm.options import Options

    text, kernel, sites, uses_arena = lower_for_gpu(module, Options())
    tag = f"emulated{next(_emulated)}"
    text = text.replace("ptx_kernel ", "").replace("@__nv_", "@")
    text = text.replace(f'@"{kernel}"', f"@{tag}_kernel").replace('@"adjit_arena"', f"@{tag}_arena")
    for name, value in _HOST_SREGS.items():
        symbol = f'@"llvm.nvvm.read.ptx.sreg.{name}.x"'
        text = text.replace(f"declare i32 {symbol}()",
                            f"define internal i32 {symbol}() {{ ret i32 {value} }}")
        text = text.replace(symbol, f"@{tag}_{name}")
    engine = get_engine()
    with engine.lock:
        llmod = engine.parse(text)
        engine.execution_engine.add_module(llmod)
        engine.execution_engine.finalize_object()
        address = engine.execution_engine.get_function_address(f"{tag}_kernel")
        arena_address = engine.execution_engine.get_global_value_address(f"{tag}_arena")
    arena = np.zeros(scratch // 8, np.int64)
    arena_descriptor = (ctypes.c_uint64 * 2).from_address(arena_address)
    arena_descriptor[0], arena_descriptor[1] = arena.ctypes.data, scratch
    err = np.zeros(ERROR_WORDS, np.int64)
    n = next(len(a) for a in inputs if isinstance(a, np.ndarray))
    pointers = [a.ctypes.data if isinstance(a, np.ndarray) else ctypes.addressof(a)
                for a in list(inputs) + list(outputs) + [err]]
    call = ctypes.CFUNCTYPE(None, ctypes.c_int64, *[ctypes.c_void_p] * len(pointers))(address)
    call(n, *pointers)
    if err[0]:
        program = PtxProgram("", kernel, "host", sites, module, uses_arena)
        launch.raise_device_error(program, err)


def _source_module(tmp_path, source, func, args, grad=False):
    path = tmp_path / f"{func}.py"
    path.write_text(source)
    staged = adjit.grad((str(path), func), argnums=tuple(range(len(args)))) if grad \
        else adjit.jit((str(path), func))
    return staged.ir(*args, optimize=True)


def test_emulated_kernel_maps_the_gradient_over_points():
    module = _textbook_grad()
    x1, x2 = np.linspace(0.5, 3.0, 50), np.linspace(-2.0, 2.0, 50)
    d1, d2 = np.empty(50), np.empty(50)
    emulate_kernel(module, [x1, x2], [d1, d2])
    cpu = adjit.grad((str(corpus_cases.CORPUS_DIR / "textbook.py"), "f"), argnums=(0, 1))
    for p in range(50):
        assert (d1[p], d2[p]) == cpu(float(x1[p]), float(x2[p]))


def test_emulated_kernel_reports_the_first_error_with_its_line_and_point(tmp_path):
    module = _source_module(tmp_path, "import math\n\ndef g(x, y):\n    return math.log(x) / y\n",
                            "g", (1.0, 2.0))
    out = np.empty(4)
    with pytest.raises(ZeroDivisionError) as info:
        emulate_kernel(module, [np.ones(4), np.array([1.0, 2.0, 0.0, 0.0])], [out])
    assert "return math.log(x) / y" in str(info.value)
    assert info.value.__notes__ == ["at point 2 of the batch (on the GPU)"]
    assert list(out[:2]) == [0.0, 0.0]  # the points before the error were computed
    with pytest.raises(ValueError, match="math domain error"):
        emulate_kernel(module, [np.array([1.0, -1.0]), np.ones(2)], [np.empty(2)])


def test_emulated_kernel_allocates_from_the_arena(tmp_path):
    source = ("import numpy as np\n\ndef poly(x, n):\n    c = np.zeros(n)\n"
              "    for i in range(n):\n        c[i] = x ** i\n    s = 0.0\n"
              "    for i in range(n):\n        s += c[i]\n    return s\n")
    module = _source_module(tmp_path, source, "poly", (0.5, 8))
    x = np.linspace(-0.9, 0.9, 64)
    out = np.empty(64)
    emulate_kernel(module, [x, np.full(64, 8, np.int64)], [out], scratch=1024)
    np.testing.assert_allclose(out, (1 - x ** 8) / (1 - x), rtol=1e-13)
    with pytest.raises(MemoryError) as info:  # 200 doubles do not fit 1 KiB
        emulate_kernel(module, [x, np.full(64, 200, np.int64)], [out], scratch=1024)
    assert "bytes for arrays and tapes" in info.value.__notes__[-1]
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 3"):
        at = _source_module(tmp_path, "import numpy as np\n\ndef at(k):\n"
                                      "    return np.zeros(3)[k]\n", "at", (1,))
        emulate_kernel(at, [np.array([0, 5], np.int64)], [np.empty(2)])


def test_emulated_kernel_runs_reverse_mode_through_a_for_loop(tmp_path):
    source = ("def logistic(r, x):\n    for k in range(20):\n        x = r * x * (1.0 - x)\n"
              "    return x\n")
    module = _source_module(tmp_path, source, "logistic", (3.5, 0.25), grad=True)
    r, x = np.linspace(2.5, 3.9, 32), np.full(32, 0.25)
    dr, dx = np.empty(32), np.empty(32)
    emulate_kernel(module, [r, x], [dr, dx], scratch=4096)
    cpu = adjit.grad((str(tmp_path / "logistic.py"), "logistic"), argnums=(0, 1))
    for p in range(32):
        assert (dr[p], dx[p]) == cpu(float(r[p]), float(x[p]))


class _Slab(ctypes.Structure):
    """kernel.output_descriptor(1): where the points' 1-D array results go."""
    _fields_ = [("data", ctypes.c_void_p), ("shape", ctypes.c_int64 * 1)]


def test_emulated_kernel_shares_array_arguments_and_stacks_array_results(tmp_path):
    from adjit.backend.llvm.abi import ctypes_descriptor

    source = ("def energy(x, w):\n    s = 0.0\n    for i in range(x.shape[0]):\n"
              "        s += w * x[i] * x[i]\n    return s\n")
    x = np.array([1.0, -2.0, 3.0])
    module = _source_module(tmp_path, source, "energy", (x, 0.5), grad=True)
    shared = ctypes_descriptor(1, output=False)(x.ctypes.data, (3,), (8,), 0)
    w = np.array([0.5, 1.0, 2.0, -1.0])
    dx = np.zeros((4, 3))
    slab = _Slab(dx.ctypes.data, (3,))
    dw = np.empty(4)
    emulate_kernel(module, [shared, w], [slab, dw])
    np.testing.assert_array_equal(dx, 2.0 * w[:, None] * x[None, :])
    np.testing.assert_array_equal(dw, np.full(4, x @ x))
    with pytest.raises(ValueError, match=r"shape \(3,\), the output expects \(2,\)"):
        emulate_kernel(module, [shared, w], [_Slab(dx.ctypes.data, (2,)), dw])
