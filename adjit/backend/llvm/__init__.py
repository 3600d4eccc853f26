"""The CPU backend: IR -> LLVM IR -> O3 -> machine code, called through ctypes.

    compiled = compile_module(module)          # an adjit.ir Module
    compiled(*args)                            # like the Python function
    compiled.optimized_ir, compiled.assembly() # what it became

See docs/backend.md for the calling convention.
"""
from adjit.backend.llvm.engine import compile_module, get_engine
from adjit.backend.llvm.lower import Options, lower_module
from adjit.backend.llvm.wrapper import CallStats, CompiledFunction, NativeTape

__all__ = ["CallStats", "CompiledFunction", "NativeTape", "Options", "compile_module",
           "get_engine", "lower_module"]
