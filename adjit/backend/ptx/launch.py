"""Running compiled kernels on an NVIDIA GPU through the CUDA driver API
(the optional `cuda-python` package: `pip install adjit[gpu]`).

    run_batched(module, inputs, outputs)     # outputs[k][p] = result k at point p
    self_check(module, inputs)               # a small batch, GPU against CPU

`module` is a transformed, optimized IR module whose entry takes and
returns scalars. The first call for a module and architecture compiles it
(`codegen.compile_ptx`) and loads the PTX into the device's primary
context; later calls reuse the loaded kernel. Each launch copies the inputs
to device memory, zeroes the error buffer, gives each thread an arena slice
when the program allocates (arrays, tapes), launches a grid-stride grid,
and copies the outputs back. An error in any point raises the exception
the CPU code raises for that point, with the source line, and a note
naming the point.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from adjit.backend.ptx.arena import ARENA_GLOBAL
from adjit.backend.ptx.codegen import PtxProgram, check_arch, compile_ptx
from adjit.backend.ptx.kernel import E_FLAG, E_PAYLOAD0, E_POINT, E_SITE, ERROR_WORDS
from adjit.backend.ptx.toolkit import CudaUnavailableError
from adjit.errors import InternalError
from adjit.ir.core import Module
from adjit.ir.types import BOOL, F64, I64

THREADS_PER_BLOCK = 128
SCRATCH_BYTES = 64 * 1024  # arena slice per thread, for programs that allocate
ARENA_BUDGET = 1 << 30  # device bytes for all slices together, at most
DTYPES = {F64: np.dtype(np.float64), I64: np.dtype(np.int64), BOOL: np.dtype(np.bool_)}


def driver() -> Any:
    """cuda-python's driver API module, or CudaUnavailableError."""
    try:
        from cuda.bindings import driver as cuda_driver
    except ImportError:
        try:
            from cuda import cuda as cuda_driver  # cuda-python before 12.6
        except ImportError:
            raise CudaUnavailableError(
                "running on a GPU needs the `cuda-python` package, which is not installed",
                notes=("install it with `pip install adjit[gpu]` (or `pip install "
                       "cuda-python`)",)) from None
    return cuda_driver


def _check(result: tuple, what: str) -> Any:
    """The values of a driver call's (error, values...) result, or an error."""
    cuda = driver()
    err, *values = result
    if err != cuda.CUresult.CUDA_SUCCESS:
        _, text = cuda.cuGetErrorString(err)
        message = text.decode() if isinstance(text, bytes) else str(err)
        if err in (cuda.CUresult.CUDA_ERROR_NO_DEVICE, cuda.CUresult.CUDA_ERROR_NOT_INITIALIZED,
                   getattr(cuda.CUresult, "CUDA_ERROR_STUB_LIBRARY", None)):
            raise CudaUnavailableError(f"no usable NVIDIA GPU: {what} failed: {message}",
                                       notes=("run on a machine with an NVIDIA GPU and its "
                                              "driver, or use target='cpu'",))
        raise RuntimeError(f"CUDA {what} failed: {message}")
    return values[0] if len(values) == 1 else tuple(values)


@dataclass
class Device:
    """The first GPU, its primary context, and what launches need to know."""

    handle: Any
    context: Any
    arch: str
    multiprocessors: int


_device: Device | None = None
_lock = threading.Lock()


def device() -> Device:
    """The first GPU (initializing the driver once), or CudaUnavailableError."""
    global _device
    with _lock:
        if _device is None:
            cuda = driver()
            try:
                initialized = cuda.cuInit(0)
            except Exception as exc:  # cuda-python loads libcuda here, and fails without it
                raise CudaUnavailableError(
                    f"the NVIDIA driver library could not be loaded: {exc}",
                    notes=("run on a machine with an NVIDIA GPU and its driver",)) from None
            _check(initialized, "cuInit")
            if _check(cuda.cuDeviceGetCount(), "cuDeviceGetCount") < 1:
                raise CudaUnavailableError("no NVIDIA GPU found by the CUDA driver")
            handle = _check(cuda.cuDeviceGet(0), "cuDeviceGet")
            attribute = cuda.CUdevice_attribute
            major = _check(cuda.cuDeviceGetAttribute(
                attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, handle), "attribute")
            minor = _check(cuda.cuDeviceGetAttribute(
                attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, handle), "attribute")
            sms = _check(cuda.cuDeviceGetAttribute(
                attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, handle), "attribute")
            context = _check(cuda.cuDevicePrimaryCtxRetain(handle), "cuDevicePrimaryCtxRetain")
            _device = Device(handle, context, f"sm_{major}{minor}", sms)
        _check(driver().cuCtxSetCurrent(_device.context), "cuCtxSetCurrent")
        return _device


@dataclass
class LoadedKernel:
    program: PtxProgram
    module: Any  # CUmodule
    function: Any  # CUfunction
    uses_arena: bool


_loaded: "weakref.WeakKeyDictionary[Module, dict[str, LoadedKernel]]" = \
    weakref.WeakKeyDictionary()


def load(module: Module, arch: str) -> LoadedKernel:
    """The kernel of `module` for `arch`, compiled and loaded once."""
    per_arch = _loaded.setdefault(module, {})
    if arch not in per_arch:
        cuda = driver()
        program = compile_ptx(module, arch=arch)
        image = program.ptx.encode() + b"\0"
        cu_module = _check(cuda.cuModuleLoadData(image), "cuModuleLoadData")
        function = _check(cuda.cuModuleGetFunction(cu_module, program.kernel.encode()),
                          "cuModuleGetFunction")
        per_arch[arch] = LoadedKernel(program, cu_module, function, program.uses_arena)
    return per_arch[arch]


def _check_arrays(module: Module, inputs: Sequence[np.ndarray],
                  outputs: Sequence[np.ndarray]) -> int:
    """The batch size, after checking the arrays against the entry's signature."""
    entry = module.entry_function
    params = [p.type for p in entry.params]
    if any(t not in DTYPES for t in params + list(entry.result_types)):
        raise TypeError(f"run_batched maps functions of scalars to scalars; {entry.name} "
                        f"takes ({', '.join(map(str, params))}) and returns "
                        f"({', '.join(map(str, entry.result_types))})")
    if len(inputs) != len(params) or len(outputs) != len(entry.result_types):
        raise TypeError(f"{entry.name} takes {len(params)} arguments and returns "
                        f"{len(entry.result_types)} values: run_batched got {len(inputs)} input "
                        f"and {len(outputs)} output arrays")
    n = len(inputs[0]) if inputs else len(outputs[0]) if outputs else 0
    named = [("input", k, a, t) for k, (a, t) in enumerate(zip(inputs, params))]
    named += [("output", k, a, t) for k, (a, t) in enumerate(zip(outputs, entry.result_types))]
    for role, k, array, t in named:
        if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype != DTYPES[t] \
                or not array.flags.c_contiguous:
            raise TypeError(f"{role} {k} must be a 1-D contiguous {DTYPES[t]} array "
                            f"(for {t}), not {_describe(array)}")
        if len(array) != n:
            raise ValueError(f"{role} {k} has {len(array)} points, input 0 has {n}")
        if role == "output" and not array.flags.writeable:
            raise ValueError(f"output {k} is read-only")
    return n


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        layout = "contiguous" if array.flags.c_contiguous else "strided"
        return f"a {array.ndim}-D {layout} {array.dtype} array"
    return type(array).__name__


def run_batched(module: Module, inputs: list[np.ndarray], outputs: list[np.ndarray], *,
                arch: str | None = None) -> None:
    """Evaluate `module`'s entry at every point on the GPU: outputs[k][p] is
    result k of the entry called with (inputs[0][p], inputs[1][p], ...)."""
    n = _check_arrays(module, inputs, outputs)
    dev = device()
    kernel = load(module, check_arch(arch) if arch else dev.arch)
    if n == 0:
        return
    cuda = driver()
    blocks_needed = -(-n // THREADS_PER_BLOCK)
    blocks = min(blocks_needed, dev.multiprocessors * 16)
    if kernel.uses_arena:
        blocks = min(blocks, max(1, ARENA_BUDGET // (SCRATCH_BYTES * THREADS_PER_BLOCK)))
    buffers: list[Any] = []
    try:
        def device_copy(array: np.ndarray) -> Any:
            pointer = _alloc(cuda, buffers, max(array.nbytes, 1))
            if array.nbytes:
                _check(cuda.cuMemcpyHtoD(pointer, array.ctypes.data, array.nbytes),
                       "cuMemcpyHtoD")
            return pointer

        device_inputs = [device_copy(a) for a in inputs]
        device_outputs = [_alloc(cuda, buffers, max(o.nbytes, 1)) for o in outputs]
        error_words = np.zeros(ERROR_WORDS, np.int64)
        device_error = device_copy(error_words)
        if kernel.uses_arena:
            threads = blocks * THREADS_PER_BLOCK
            arena = _alloc(cuda, buffers, threads * SCRATCH_BYTES)
            descriptor = np.array([int(arena), SCRATCH_BYTES], np.uint64)
            global_ptr, size = _check(cuda.cuModuleGetGlobal(kernel.module,
                                                             ARENA_GLOBAL.encode()),
                                      "cuModuleGetGlobal")
            if size != descriptor.nbytes:
                raise InternalError(f"{ARENA_GLOBAL} has {size} bytes, expected "
                                    f"{descriptor.nbytes}", stage="ptx launch")
            _check(cuda.cuMemcpyHtoD(global_ptr, descriptor.ctypes.data, descriptor.nbytes),
                   "cuMemcpyHtoD")
        values = [np.array([n], np.int64)] + [
            np.array([int(p)], np.uint64) for p in device_inputs + device_outputs + [device_error]]
        params = np.array([v.ctypes.data for v in values], np.uint64)
        _check(cuda.cuLaunchKernel(kernel.function, blocks, 1, 1, THREADS_PER_BLOCK, 1, 1, 0,
                                   0, params.ctypes.data, 0), "cuLaunchKernel")
        _check(cuda.cuCtxSynchronize(), "cuCtxSynchronize")
        _check(cuda.cuMemcpyDtoH(error_words.ctypes.data, device_error, error_words.nbytes),
               "cuMemcpyDtoH")
        for out, pointer in zip(outputs, device_outputs):
            if out.nbytes:
                _check(cuda.cuMemcpyDtoH(out.ctypes.data, pointer, out.nbytes), "cuMemcpyDtoH")
    finally:
        for pointer in buffers:
            cuda.cuMemFree(pointer)
    if error_words[E_FLAG]:
        raise_device_error(kernel.program, error_words)


def _alloc(cuda: Any, buffers: list, nbytes: int) -> Any:
    pointer = _check(cuda.cuMemAlloc(nbytes), "cuMemAlloc")
    buffers.append(pointer)
    return pointer


def raise_device_error(program: PtxProgram, error_words: np.ndarray) -> None:
    """Raise the exception an error buffer describes (kernel.py's layout)."""
    site = program.sites.sites[int(error_words[E_SITE])]
    payloads = tuple(int(x) for x in error_words[E_PAYLOAD0:E_PAYLOAD0 + 4])
    exc = site.exception(payloads)
    exc.add_note(f"at point {int(error_words[E_POINT])} of the batch (on the GPU)")
    if isinstance(exc, MemoryError):
        exc.add_note(f"on the GPU each thread has {SCRATCH_BYTES} bytes for arrays and tapes")
    raise exc


def self_check(module: Module, inputs: list[np.ndarray], *, points: int = 64,
               arch: str | None = None, rtol: float = 1e-12) -> float:
    """Run the first `points` points on the GPU and one by one on the CPU;
    return the largest relative difference, or raise AssertionError when it
    exceeds `rtol` (libdevice's functions are within 2 ulp of the C
    library's, so results agree closely but not always bitwise)."""
    from adjit.backend.llvm import compile_module

    entry = module.entry_function
    batch = [np.ascontiguousarray(a[:points]) for a in inputs]
    n = len(batch[0]) if batch else 0
    outputs = [np.empty(n, DTYPES[t]) for t in entry.result_types]
    run_batched(module, batch, outputs, arch=arch)
    cpu = compile_module(module)
    worst = 0.0
    for p in range(n):
        want = cpu(*(a[p].item() for a in batch))
        want = want if isinstance(want, tuple) else (want,)
        for k, (w, out) in enumerate(zip(want, outputs)):
            got = out[p].item()
            if w == got or (w != w and got != got):
                continue
            difference = abs(got - w) / max(abs(w), abs(got), np.finfo(np.float64).tiny)
            worst = max(worst, difference)
            if not difference <= rtol:
                raise AssertionError(f"GPU and CPU differ at point {p}, result {k}: "
                                     f"{got!r} != {w!r}")
    return worst
