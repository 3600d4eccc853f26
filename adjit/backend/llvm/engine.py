"""The process-wide JIT: one MCJIT execution engine for the host CPU.

`compile_module(module, ...)` lowers an IR module (`lower.py`), parses and
verifies the LLVM IR (a verifier failure is an `InternalError` with stage
"llvm": LLVM must never abort the process), optimizes it with the new pass
manager at O3, adds it to the engine and returns a `CompiledFunction`
(`wrapper.py`). Compiling holds a lock: LLVM's global context and the
engine are not thread-safe; calling compiled code needs no lock.

Every module gets a unique symbol prefix (`adjitN`), so modules never clash
in the one engine. Compiled code stays loaded for the life of the process.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import threading

import llvmlite.binding as llvm
from llvmlite import ir

from adjit.backend.llvm.abi import PTR
from adjit.backend.llvm.lower import Options, lower_module
from adjit.backend.llvm.pyentry import C_API
from adjit.backend.llvm.runtime import Runtime
from adjit.backend.llvm.tapes import tape_copy
from adjit.backend.llvm.wrapper import CompiledFunction, NativeRuntime
from adjit.errors import AdjitError, InternalError
from adjit.ir.core import Module


class Engine:
    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        libm = ctypes.util.find_library("m")
        if libm:
            llvm.load_library_permanently(libm)
        for symbol in C_API:  # for pyentry.py
            llvm.add_symbol(symbol, ctypes.cast(getattr(ctypes.pythonapi, symbol),
                                                ctypes.c_void_p).value)
        self.target = llvm.Target.from_default_triple()
        self.target_machine = self.target.create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3)
        self.triple = llvm.get_process_triple()
        backing = llvm.parse_assembly("")
        backing.triple = self.triple
        self.execution_engine = llvm.create_mcjit_compiler(backing, self.target_machine)
        self.lock = threading.Lock()
        self._ids = itertools.count()
        self.runtime = self._compile_runtime()

    def _compile_runtime(self) -> NativeRuntime:
        """The runtime functions Python calls on blocks it owns (no context)."""
        module = ir.Module(name="adjit_rt")
        module.triple = self.triple
        runtime = Runtime(module)
        null = ir.Constant(PTR, None)
        release = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), "adjit_rt_release")
        b = ir.IRBuilder(release.append_basic_block())
        b.call(runtime.release(), [null, release.args[0]])
        b.ret_void()
        copy = ir.Function(module, ir.FunctionType(PTR, [PTR]), "adjit_rt_tape_copy")
        b = ir.IRBuilder(copy.append_basic_block())
        b.ret(b.call(tape_copy(runtime), [copy.args[0]]))
        llmod = self.parse(str(module))
        self.optimize(llmod)
        self.execution_engine.add_module(llmod)
        self.execution_engine.finalize_object()
        address = self.execution_engine.get_function_address
        return NativeRuntime(address("adjit_rt_release"), address("adjit_rt_tape_copy"))

    def optimize(self, llmod: llvm.ModuleRef) -> None:
        """LLVM's default O3 pipeline (new pass manager), vectorizers on."""
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pass_builder = llvm.create_pass_builder(self.target_machine, pto)
        pass_builder.getModulePassManager().run(llmod, pass_builder)

    def parse(self, text: str) -> llvm.ModuleRef:
        """Parse and verify LLVM IR text; errors become InternalError."""
        try:
            llmod = llvm.parse_assembly(text)
            llmod.verify()
        except RuntimeError as exc:
            raise InternalError(f"invalid LLVM IR: {exc}", stage="llvm") from None
        llmod.triple = self.triple
        llmod.data_layout = str(self.target_machine.target_data)
        return llmod

    def compile(self, module: Module, options: Options) -> CompiledFunction:
        with self.lock:
            prefix = f"adjit{next(self._ids)}"
            try:
                lowered = lower_module(module, options, prefix, self.triple)
            except AdjitError:
                raise
            except Exception as exc:
                raise InternalError(f"{type(exc).__name__}: {exc}", stage="llvm lowering") from exc
            text = str(lowered.llmod)
            llmod = self.parse(text)
            self.optimize(llmod)
            optimized = str(llmod)
            self.execution_engine.add_module(llmod)
            self.execution_engine.finalize_object()
            address = self.execution_engine.get_function_address(lowered.entry_name)
            python_address = (self.execution_engine.get_function_address(
                lowered.python_entry_name) if lowered.python_entry_name else 0)
        if not address:
            raise InternalError(f"symbol {lowered.entry_name} not found", stage="llvm")
        return CompiledFunction(module, address, lowered.sites, options, llvm_ir=text,
                                optimized_ir=optimized, engine=self,
                                python_address=python_address)

    def assembly(self, optimized_ir: str) -> str:
        with self.lock:
            return self.target_machine.emit_assembly(self.parse(optimized_ir))

    def object_code(self, optimized_ir: str) -> bytes:
        with self.lock:
            return self.target_machine.emit_object(self.parse(optimized_ir))


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine


def compile_module(module: Module, *, fastmath: bool = False, error_model: str = "python",
                   boundscheck: bool = True) -> CompiledFunction:
    """Compile `module` to native code; the result calls its entry function."""
    options = Options(fastmath=fastmath, error_model=error_model, boundscheck=boundscheck)
    return get_engine().compile(module, options)
