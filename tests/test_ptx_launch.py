"""Launching kernels (adjit.backend.ptx.launch). Argument checking and the
errors without cuda-python run everywhere; the launches themselves run
where cuda-python and an NVIDIA GPU are present and are skipped otherwise."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import adjit
from adjit.backend.ptx import CudaUnavailableError, launch
from adjit.backend.ptx.launch import run_batched, self_check

TEXTBOOK = "import math\n\ndef f(x1, x2):\n    return math.log(x1) + x1 * x2 - math.sin(x2)\n"


def _module(tmp_path, source: str, func: str, args: tuple, grad: bool = False):
    path = tmp_path / f"{func}.py"
    path.write_text(source)
    staged = adjit.grad((str(path), func), argnums=tuple(range(len(args)))) if grad \
        else adjit.jit((str(path), func))
    return staged.ir(*args, optimize=True)


def _gpu_or_skip() -> None:
    try:
        launch.device()
    except CudaUnavailableError as exc:
        pytest.skip(f"no GPU launch here: {exc.message}")


# --- everywhere ----------------------------------------------------------------------

def test_without_cuda_python_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    module = _module(tmp_path, TEXTBOOK, "f", (1.5, 2.0))
    monkeypatch.setitem(sys.modules, "cuda", None)  # `import cuda...` fails
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    monkeypatch.setattr(launch, "_device", None)
    x = np.ones(4)
    with pytest.raises(CudaUnavailableError, match=r"cuda-python.*\n.*adjit\[gpu\]"):
        run_batched(module, [x, x], [np.empty(4)])


@pytest.mark.parametrize("inputs, outputs, error, message", [
    ([np.ones(4)], [np.empty(4)], TypeError, "takes 2 arguments and returns 1"),
    ([np.ones(4), np.ones(4, np.float32)], [np.empty(4)], TypeError, "input 1 must be a 1-D"),
    ([np.ones(4), np.ones(8)[::2]], [np.empty(4)], TypeError, "strided"),
    ([np.ones(4), np.ones(5)], [np.empty(4)], ValueError, "input 1 has 5 points"),
    ([np.ones(4), np.ones(4)], [np.empty((4, 1))], TypeError, "output 0 must be a 1-D"),
])
def test_arrays_are_checked_before_anything_runs(tmp_path, inputs, outputs, error, message):
    module = _module(tmp_path, TEXTBOOK, "f", (1.5, 2.0))
    with pytest.raises(error, match=message):
        run_batched(module, inputs, outputs)


def test_functions_of_arrays_are_not_batched(tmp_path):
    source = "def total(x):\n    s = 0.0\n    for i in range(x.shape[0]):\n        s += x[i]\n" \
             "    return s\n"
    module = _module(tmp_path, source, "total", (np.ones(3),))
    with pytest.raises(TypeError, match="scalars to scalars"):
        run_batched(module, [np.ones(3)], [np.empty(3)])


# --- on a GPU ----------------------------------------------------------------------------

def test_gradient_of_the_textbook_function_matches_the_cpu(tmp_path):
    _gpu_or_skip()
    module = _module(tmp_path, TEXTBOOK, "f", (1.5, 2.0), grad=True)
    n = 10_000
    x1 = np.linspace(0.5, 3.0, n)
    x2 = np.linspace(-2.0, 2.0, n)
    d1, d2 = np.empty(n), np.empty(n)
    run_batched(module, [x1, x2], [d1, d2])
    np.testing.assert_allclose(d1, 1.0 / x1 + x2, rtol=1e-14)
    np.testing.assert_allclose(d2, x1 - np.cos(x2), rtol=1e-13, atol=1e-15)
    assert self_check(module, [x1, x2]) <= 1e-12


def test_division_by_zero_raises_with_the_source_line(tmp_path):
    _gpu_or_skip()
    source = "def g(x, y):\n    return x / y\n"
    module = _module(tmp_path, source, "g", (1.0, 2.0))
    y = np.array([1.0, 2.0, 0.0, 4.0])
    with pytest.raises(ZeroDivisionError) as info:
        run_batched(module, [np.ones(4), y], [np.empty(4)])
    assert "return x / y" in str(info.value)
    assert any("point 2" in note for note in info.value.__notes__)


def test_math_domain_error_raises_value_error(tmp_path):
    _gpu_or_skip()
    module = _module(tmp_path, "import math\n\ndef h(x):\n    return math.sqrt(x)\n", "h",
                     (1.0,))
    with pytest.raises(ValueError, match="math domain error"):
        run_batched(module, [np.array([4.0, -1.0])], [np.empty(2)])


def test_arrays_inside_a_kernel_come_from_the_arena(tmp_path):
    _gpu_or_skip()
    source = ("import numpy as np\n\ndef poly(x, n):\n    c = np.zeros(n)\n"
              "    for i in range(n):\n        c[i] = x ** i\n    s = 0.0\n"
              "    for i in range(n):\n        s += c[i]\n    return s\n")
    module = _module(tmp_path, source, "poly", (0.5, 8))
    x = np.linspace(-0.9, 0.9, 1000)
    n = np.full(1000, 8, np.int64)
    out = np.empty(1000)
    run_batched(module, [x, n], [out])
    np.testing.assert_allclose(out, (1 - x ** 8) / (1 - x), rtol=1e-13)
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        run_batched(_module(tmp_path, "import numpy as np\n\ndef at(k):\n"
                                      "    return np.zeros(3)[k]\n", "at", (1,)),
                    [np.array([0, 5])], [np.empty(2)])
    too_big = np.full(1000, 1 << 20, np.int64)  # 8 MiB per point: more than a slice
    with pytest.raises(MemoryError) as info:
        run_batched(module, [x, too_big], [out])
    assert any("bytes for arrays and tapes" in note for note in info.value.__notes__)


def test_reverse_mode_through_a_for_loop_on_the_gpu(tmp_path):
    _gpu_or_skip()
    source = ("def logistic(r, x):\n    for k in range(20):\n        x = r * x * (1.0 - x)\n"
              "    return x\n")
    module = _module(tmp_path, source, "logistic", (3.5, 0.25), grad=True)
    r = np.linspace(2.5, 3.9, 512)
    x = np.full(512, 0.25)
    assert self_check(module, [r, x], points=512) <= 1e-12
