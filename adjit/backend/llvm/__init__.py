"""The CPU backend: IR -> LLVM IR -> O3 -> machine code, called through ctypes.

    compiled = compile_module(module)          # an adjit.ir Module
    compiled(*args)                            # like the Python function
    compiled.optimized_ir, compiled.assembly() # what it became

See docs/backend.md for the calling convention. The names below are
imported on first use: loading cached code (disk_cache.py) must not import
the lowering modules.
"""
import importlib

_EXPORTS = {"CallStats": "wrapper", "CompiledFunction": "wrapper", "NativeTape": "wrapper",
            "Options": "options", "compile_module": "engine", "get_engine": "engine",
            "load_cached": "engine", "lower_module": "lower"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
