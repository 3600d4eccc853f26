"""The PTX backend for NVIDIA GPUs (docs/gpu.md).

    ptx = emit_ptx(module, arch="sm_80")   # PTX text with `<entry>_kernel`
    run_batched(module, inputs, outputs)   # launch on a GPU (adjit.backend.ptx.launch)

`emit_ptx` needs llvmlite and libdevice (the CUDA toolkit); launching also
needs the `cuda-python` package (`pip install adjit[gpu]`) and a GPU.
"""
from adjit.backend.ptx.codegen import DEFAULT_ARCH, PtxProgram, compile_ptx, emit_ptx
from adjit.backend.ptx.toolkit import CudaUnavailableError, find_libdevice, find_ptxas

__all__ = ["DEFAULT_ARCH", "CudaUnavailableError", "PtxProgram", "compile_ptx", "emit_ptx",
           "find_libdevice", "find_ptxas"]
