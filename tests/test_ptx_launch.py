"""Launching kernels (adjit.backend.ptx.launch). Argument checking and the
errors without cuda-python run everywhere; the launches themselves run
where cuda-python and an NVIDIA GPU are present and are skipped otherwise."""
from __future__ import annotations

import ctypes
import enum
import math
import re
import sys
import weakref

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


# --- everywhere: the host side against a recording driver ------------------------------

class RecordingDriver:
    """A stand-in for cuda-python's driver module: device memory is host
    memory, and a launch checks its parameters against the loaded PTX's
    `.entry` and evaluates the points with the CPU build of the same module.
    It tests what the launcher does around the kernel (argument packing,
    copies, the error buffer, freeing), not the GPU."""

    class CUresult(enum.IntEnum):
        CUDA_SUCCESS = 0
        CUDA_ERROR_NOT_INITIALIZED = 3
        CUDA_ERROR_NO_DEVICE = 100

    class CUdevice_attribute(enum.IntEnum):
        CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76

    def __init__(self, fail_point: int | None = None, fail_site: int = 0):
        self.cpu = None  # the CPU build of the module last compiled to PTX
        self.fail_point, self.fail_site = fail_point, fail_site
        self.memory: dict[int, np.ndarray] = {}  # device pointer -> its bytes
        self.calls: list[str] = []
        self.ptx = ""
        self.launches: list[tuple] = []

    def _ok(self, name, *values):
        self.calls.append(name)
        return (self.CUresult.CUDA_SUCCESS, *values)

    def cuGetErrorString(self, err):
        return self.CUresult.CUDA_SUCCESS, b"error"

    def cuInit(self, flags):
        return self._ok("cuInit")

    def cuDeviceGetCount(self):
        return self._ok("cuDeviceGetCount", 1)

    def cuDeviceGet(self, k):
        return self._ok("cuDeviceGet", k)

    def cuDeviceGetAttribute(self, attribute, device):
        values = {16: 4, 75: 8, 76: 0}
        return self._ok("cuDeviceGetAttribute", values[int(attribute)])

    def cuDevicePrimaryCtxRetain(self, device):
        return self._ok("cuDevicePrimaryCtxRetain", "context")

    def cuCtxSetCurrent(self, context):
        assert context == "context"
        return self._ok("cuCtxSetCurrent")

    def cuModuleLoadData(self, image):
        assert image.endswith(b"\0"), "the PTX image must be NUL-terminated"
        self.ptx = image[:-1].decode()
        return self._ok("cuModuleLoadData", "module")

    def cuModuleGetFunction(self, module, name):
        assert f".entry {name.decode()}(" in self.ptx
        return self._ok("cuModuleGetFunction", name.decode())

    def cuModuleGetGlobal(self, module, name):
        size = re.search(rf"\.global .*\.b8 {name.decode()}\[(\d+)\]", self.ptx).group(1)
        return self._ok("cuModuleGetGlobal", self._alloc(int(size)), int(size))

    def _alloc(self, nbytes):
        block = np.zeros(nbytes, np.uint8)
        self.memory[block.ctypes.data] = block
        return block.ctypes.data

    def cuMemAlloc(self, nbytes):
        return self._ok("cuMemAlloc", self._alloc(nbytes))

    def cuMemFree(self, pointer):
        del self.memory[int(pointer)]
        return self._ok("cuMemFree")

    def _block(self, pointer, nbytes):
        block = self.memory[int(pointer)]
        assert nbytes <= block.nbytes, "a copy past the end of a device buffer"
        return block

    def cuMemcpyHtoD(self, device, host, nbytes):
        ctypes.memmove(self._block(device, nbytes).ctypes.data, host, nbytes)
        return self._ok("cuMemcpyHtoD")

    def cuMemcpyDtoH(self, host, device, nbytes):
        ctypes.memmove(host, self._block(device, nbytes).ctypes.data, nbytes)
        return self._ok("cuMemcpyDtoH")

    def cuLaunchKernel(self, function, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        entry = re.search(rf"\.entry {function}\((.*?)\)", self.ptx, re.S).group(1)
        kinds = re.findall(r"\.param (\.\w+)", entry)
        assert kinds == [".u64"] * len(kinds), kinds  # n, then one pointer per buffer
        pointers = np.frombuffer((ctypes.c_uint64 * len(kinds)).from_address(params),
                                 np.uint64)
        words = [int(np.frombuffer((ctypes.c_uint64 * 1).from_address(int(p)), np.uint64)[0])
                 for p in pointers]
        n, buffers = words[0], words[1:]
        params_in = self.cpu.module.entry_function.params
        inputs = [self.memory[b].view(launch.DTYPES[p.type])[:n]
                  for b, p in zip(buffers, params_in)]
        results = self.cpu.module.entry_function.result_types
        outputs = [self.memory[b].view(launch.DTYPES[t])[:n]
                   for b, t in zip(buffers[len(inputs):], results)]
        error = self.memory[buffers[-1]].view(np.int64)
        assert len(buffers) == len(inputs) + len(outputs) + 1 and not error.any()
        for p in range(n):
            if p == self.fail_point:
                error[[0, 1, 6]] = 1, self.fail_site, p
                break
            got = self.cpu(*(a[p].item() for a in inputs))
            for out, value in zip(outputs, got if isinstance(got, tuple) else (got,)):
                out[p] = value
        self.launches.append(((gx, gy, gz), (bx, by, bz), n))
        return self._ok("cuLaunchKernel")

    def cuCtxSynchronize(self):
        return self._ok("cuCtxSynchronize")


@pytest.fixture
def recording_driver(monkeypatch):
    """Install a `RecordingDriver`; skip where the CUDA toolkit's libdevice,
    which PTX code generation links in, is not installed."""
    from adjit.backend.ptx.toolkit import find_libdevice

    try:
        find_libdevice()
    except CudaUnavailableError as exc:
        pytest.skip(f"no libdevice here: {exc.message}")

    def install(**options):
        from adjit.backend.llvm import compile_module

        fake = RecordingDriver(**options)
        compile_ptx = launch.compile_ptx

        def compiling(module, **kwargs):
            fake.cpu = compile_module(module)
            return compile_ptx(module, **kwargs)

        monkeypatch.setattr(launch, "compile_ptx", compiling)
        monkeypatch.setattr(launch, "driver", lambda: fake)
        monkeypatch.setattr(launch, "_device", None)
        monkeypatch.setattr(launch, "_loaded", weakref.WeakKeyDictionary())
        return fake
    return install


def test_a_launch_packs_its_arguments_as_the_kernel_declares_them(tmp_path, recording_driver):
    module = _module(tmp_path, TEXTBOOK, "f", (1.5, 2.0), grad=True)
    fake = recording_driver()
    n = 1000
    x1, x2 = np.linspace(0.5, 3.0, n), np.linspace(-2.0, 2.0, n)
    d1, d2 = np.empty(n), np.empty(n)
    run_batched(module, [x1, x2], [d1, d2])
    np.testing.assert_array_equal(d1, 1.0 / x1 + x2)
    np.testing.assert_allclose(d2, x1 - np.cos(x2), rtol=1e-15, atol=1e-15)
    (grid, block, points), = fake.launches
    assert points == n and block == (launch.THREADS_PER_BLOCK, 1, 1)
    assert grid[0] * block[0] >= n or grid[0] == 4 * 16  # grid-stride past 16 blocks per SM
    assert not fake.memory, "every device buffer is freed"
    assert fake.calls.index("cuCtxSynchronize") > fake.calls.index("cuLaunchKernel")
    run_batched(module, [x1, x2], [d1, d2])  # the loaded kernel is reused
    assert fake.calls.count("cuModuleLoadData") == 1 and fake.calls.count("cuInit") == 1


def test_an_error_in_the_kernel_raises_the_cpu_exception(tmp_path, recording_driver):
    module = _module(tmp_path, "def g(x, y):\n    return x / y\n", "g", (1.0, 2.0))
    from adjit.backend.ptx.codegen import compile_ptx

    sites = compile_ptx(module, arch="sm_80").sites.sites
    site = next(k for k, s in enumerate(sites) if s.exc_type is ZeroDivisionError)
    fake = recording_driver(fail_point=2, fail_site=site)
    with pytest.raises(ZeroDivisionError) as info:
        run_batched(module, [np.ones(4), np.array([1.0, 2.0, 0.0, 4.0])], [np.empty(4)])
    assert "return x / y" in str(info.value)
    assert any("point 2 of the batch" in note for note in info.value.__notes__)
    assert not fake.memory


def test_programs_that_allocate_get_an_arena(tmp_path, recording_driver):
    source = ("import numpy as np\n\ndef poly(x, n):\n    c = np.zeros(n)\n"
              "    for i in range(n):\n        c[i] = x ** i\n    s = 0.0\n"
              "    for i in range(n):\n        s += c[i]\n    return s\n")
    module = _module(tmp_path, source, "poly", (0.5, 8))
    fake = recording_driver()
    x, n, out = np.linspace(-0.9, 0.9, 100), np.full(100, 8, np.int64), np.empty(100)
    run_batched(module, [x, n], [out])
    np.testing.assert_allclose(out, (1 - x ** 8) / (1 - x), rtol=1e-13)
    assert "cuModuleGetGlobal" in fake.calls
    assert self_check(module, [x, n], points=16) == 0.0


def test_vectorize_on_cuda_broadcasts_and_fills_out(recording_driver):
    fake = recording_driver()
    grad = adjit.grad(textbook_function, argnums=(0, 1))
    x1 = np.linspace(0.5, 3.0, 12).reshape(3, 4)
    x2 = np.linspace(-2.0, 2.0, 4)
    got = adjit.vectorize(grad, "cuda")(x1, x2)
    want = adjit.vectorize(grad, "cpu")(x1, x2)
    for a, b in zip(got, want):
        assert a.shape == (3, 4)
        np.testing.assert_array_equal(a, b)
    out = (np.empty((4, 3)).T, np.empty((3, 4)))  # one strided, one contiguous
    adjit.vectorize(grad, "cuda")(x1, x2, out=out)
    for a, b in zip(out, want):
        np.testing.assert_array_equal(a, b)
    assert fake.calls.count("cuLaunchKernel") == 2


def textbook_function(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)
