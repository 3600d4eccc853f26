"""The process-wide JIT: one MCJIT execution engine for the host CPU.

`compile_module(module, ...)` lowers an IR module (`lower.py`), parses and
verifies the LLVM IR (a verifier failure is an `InternalError` with stage
"llvm": LLVM must never abort the process), optimizes it with the new pass
manager at O3, adds it to the engine and returns a `CompiledFunction`
(`wrapper.py`). Compiling holds a lock: LLVM's global context and the
engine are not thread-safe; calling compiled code needs no lock.

Every module gets a unique symbol prefix (`adjitN`), so modules never clash
in the one engine. Compiled code stays loaded for the life of the process.

With a cache key (`jit(cache=True)`), the prefix is the key's digest and the
object code MCJIT emits is written to the disk cache (`disk_cache.py`) with
what the wrapper needs as data; `load_cached` gives a later process the
function from that entry without lowering or LLVM passes (`add_object_file`).
The lowering modules are imported only when something is compiled, so a
process that only loads cached code never imports them.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import llvmlite.binding as llvm
from llvmlite import ir

from adjit.backend.llvm import disk_cache
from adjit.backend.llvm.abi import PTR
from adjit.backend.llvm.options import Options
from adjit.backend.llvm.pyentry import C_API
from adjit.backend.llvm.wrapper import CompiledFunction, NativeRuntime
from adjit.errors import AdjitError, InternalError
from adjit.ir.core import Function, Module, Region
from adjit.ir.types import parse_type

if TYPE_CHECKING:
    from adjit.backend.llvm.lower import ModuleLowering

RUNTIME_SYMBOLS = ("adjit_rt_release", "adjit_rt_tape_copy")


class Engine:
    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        if not hasattr(ctypes.CDLL(None), "sin"):  # libm is not linked into this Python
            libm = ctypes.util.find_library("m")  # (runs a subprocess: only when needed)
            if libm:
                llvm.load_library_permanently(libm)
        for symbol in C_API:  # for pyentry.py
            llvm.add_symbol(symbol, ctypes.cast(getattr(ctypes.pythonapi, symbol),
                                                ctypes.c_void_p).value)
        self.target = llvm.Target.from_default_triple()
        self.target_machine = self.target.create_target_machine(
            cpu=disk_cache.host_cpu()[0], features=disk_cache.host_cpu()[1], opt=3)
        self.triple = llvm.get_process_triple()
        backing = llvm.parse_assembly("")
        backing.triple = self.triple
        self.execution_engine = llvm.create_mcjit_compiler(backing, self.target_machine)
        # MCJIT needs a module to start with, but generating code for it (at the
        # first finalize) costs milliseconds that a process loading only cached
        # objects would pay: take it out again.
        self.execution_engine.remove_module(backing)
        self.lock = threading.RLock()
        self._ids = itertools.count()
        self._runtime: NativeRuntime | None = None
        # (module, object code) of what MCJIT compiled since the list was cleared.
        self._emitted: list[tuple[llvm.ModuleRef, bytes]] = []
        self.execution_engine.set_object_cache(
            lambda llmod, obj: self._emitted.append((llmod, obj)))
        self.cached: dict[str, CompiledFunction] = {}  # by cache key digest, in this process
        self.counts = {"compiled": 0, "loaded": 0}  # modules compiled; cache entries loaded

    @property
    def runtime(self) -> NativeRuntime:
        """The runtime functions Python calls on blocks it owns (compiled on first use)."""
        with self.lock:
            if self._runtime is None:
                self._compile_runtime()
                self._runtime = self._runtime_functions()
            return self._runtime

    def cached_runtime(self) -> NativeRuntime:
        """The runtime, loaded from the disk cache when it holds it (else
        compiled and stored there): functions loaded from the cache need it."""
        with self.lock:
            if self._runtime is None:
                key = {"runtime": disk_cache.FORMAT, "environment": disk_cache.environment()}
                entry = disk_cache.read_entry(key)
                if entry is not None and entry[1].get("object"):
                    self._add_object(entry[1]["object"])
                else:
                    disk_cache.write_entry(key, {}, {"object": self._compile_runtime()})
                self._runtime = self._runtime_functions()
            return self._runtime

    def _runtime_functions(self) -> NativeRuntime:
        addresses = [self.execution_engine.get_function_address(s) for s in RUNTIME_SYMBOLS]
        if not all(addresses):
            raise InternalError("the runtime functions are not loaded", stage="llvm")
        return NativeRuntime(*addresses)

    @contextlib.contextmanager
    def codegen(self) -> Iterator[None]:
        """Hold the lock while generating machine code, with stack slot
        sharing off: sharing colours every spill slot against every other,
        quadratic in the spills, and a large gradient spills thousands of
        values (the forward values its adjoint reads); it took a third of
        the machine-code time of a 3,000-statement gradient and saved 0.1% of
        its code. The LLVM option is global, so it is set only meanwhile."""
        with self.lock:
            llvm.set_option("", "-no-stack-slot-sharing=true")
            try:
                yield
            finally:
                llvm.set_option("", "-no-stack-slot-sharing=false")

    def _add_object(self, obj: bytes) -> None:
        self.execution_engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.execution_engine.finalize_object()

    def _finalize(self, llmod: llvm.ModuleRef) -> bytes:
        """Add `llmod` to the engine and generate its code; its object code."""
        self._emitted.clear()
        self.execution_engine.add_module(llmod)
        with self.codegen():
            self.execution_engine.finalize_object()
        self.counts["compiled"] += 1
        objects = [obj for m, obj in self._emitted if m is llmod]
        self._emitted.clear()
        return objects[-1] if objects else b""

    def _compile_runtime(self) -> bytes:
        """Compile the runtime functions (no context); their object code."""
        from adjit.backend.llvm.runtime import Runtime
        from adjit.backend.llvm.tapes import tape_copy

        module = ir.Module(name="adjit_rt")
        module.triple = self.triple
        runtime = Runtime(module)
        null = ir.Constant(PTR, None)
        release = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), RUNTIME_SYMBOLS[0])
        b = ir.IRBuilder(release.append_basic_block())
        b.call(runtime.release(), [null, release.args[0]])
        b.ret_void()
        copy = ir.Function(module, ir.FunctionType(PTR, [PTR]), RUNTIME_SYMBOLS[1])
        b = ir.IRBuilder(copy.append_basic_block())
        b.ret(b.call(tape_copy(runtime), [copy.args[0]]))
        llmod = self.parse(str(module))
        self.optimize(llmod)
        return self._finalize(llmod)

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

    def compile(self, module: Module, options: Options,
                cache_key: dict[str, Any] | None = None) -> CompiledFunction:
        """Compile `module`; with `cache_key`, also write it to the disk cache."""
        from adjit.backend.llvm.lower import lower_module

        digest = disk_cache.key_digest(cache_key) if cache_key is not None else None
        with self.lock:
            if digest is not None:
                if digest in self.cached:
                    return self.cached[digest]
                self.cached_runtime()
                prefix = f"adjit_{digest[:32]}"
            else:
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
            obj = self._finalize(llmod)
            address = self.execution_engine.get_function_address(lowered.entry_name)
            python_address = (self.execution_engine.get_function_address(
                lowered.python_entry_name) if lowered.python_entry_name else 0)
            if not address:
                raise InternalError(f"symbol {lowered.entry_name} not found", stage="llvm")
            compiled = CompiledFunction(module, address, lowered.sites, options, llvm_ir=text,
                                        optimized_ir=optimized, engine=self,
                                        python_address=python_address)
            if digest is not None:
                self.cached[digest] = compiled
                if obj:
                    disk_cache.write_entry(cache_key, _entry_metadata(lowered, options), {
                        "object": obj, "llvm": text.encode(), "optimized": optimized.encode()})
        return compiled

    def load_cached(self, cache_key: dict[str, Any]) -> CompiledFunction | None:
        """The function the disk cache holds for `cache_key`, loaded without
        lowering or LLVM passes; None when there is no valid entry."""
        digest = disk_cache.key_digest(cache_key)
        with self.lock:
            if digest in self.cached:
                return self.cached[digest]
            entry = disk_cache.read_entry(cache_key)
            if entry is None:
                return None
            metadata, sections = entry
            try:
                signature = _signature_module(metadata)
                sites = disk_cache.sites_from_data(metadata["errors"])
                options = Options(**metadata["options"])
                entry_name, python_name = str(metadata["entry"]), str(metadata["python_entry"])
                llvm_ir, optimized = sections["llvm"].decode(), sections["optimized"].decode()
                obj = sections["object"]
            except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
                disk_cache.debug(f"rejected an entry: malformed metadata ({exc!r})")
                return None
            prefix = f"adjit_{digest[:32]}"
            if not all(n.startswith(prefix) for n in (entry_name, python_name) if n):
                disk_cache.debug("rejected an entry: symbols of another key")
                return None
            self.cached_runtime()
            self._add_object(obj)
            address = self.execution_engine.get_function_address(entry_name)
            python_address = (self.execution_engine.get_function_address(python_name)
                              if python_name else 0)
            if not address or (python_name and not python_address):
                raise InternalError(f"a cached object lacks the symbol {entry_name}",
                                    stage="llvm")
            self.counts["loaded"] += 1
            compiled = CompiledFunction(signature, address, sites, options, llvm_ir=llvm_ir,
                                        optimized_ir=optimized, engine=self,
                                        python_address=python_address)
            self.cached[digest] = compiled
        return compiled

    def compile_extended(self, module: Module, options: Options,
                         extend: Callable[[ModuleLowering], list[str]]
                         ) -> tuple["ModuleLowering", str, list[int]]:
        """Lower `module` as `compile` does, let `extend(lowering)` add functions
        to its LLVM module (so LLVM can inline the module's own functions into
        them), then verify, optimize and load it. Returns the lowering, the
        optimized IR and the addresses of the functions `extend` named."""
        from adjit.backend.llvm.lower import lower_module

        with self.lock:
            prefix = f"adjit{next(self._ids)}"
            try:
                lowered = lower_module(module, options, prefix, self.triple)
                names = extend(lowered)
            except AdjitError:
                raise
            except Exception as exc:
                raise InternalError(f"{type(exc).__name__}: {exc}", stage="llvm lowering") from exc
            llmod = self.parse(str(lowered.llmod))
            self.optimize(llmod)
            optimized = str(llmod)
            self._finalize(llmod)
            addresses = [self.execution_engine.get_function_address(n) for n in names]
        if not all(addresses):
            raise InternalError(f"symbols {names} not found", stage="llvm")
        return lowered, optimized, addresses

    def assembly(self, optimized_ir: str) -> str:
        with self.codegen():
            return self.target_machine.emit_assembly(self.parse(optimized_ir))

    def object_code(self, optimized_ir: str) -> bytes:
        with self.codegen():
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


def _entry_metadata(lowered: "ModuleLowering", options: Options) -> dict[str, Any]:
    """What the wrapper needs besides the machine code, as JSON data."""
    fn = lowered.module.entry_function
    return {"entry": lowered.entry_name, "python_entry": lowered.python_entry_name,
            "name": fn.name, "params": [str(p.type) for p in fn.params],
            "results": [str(t) for t in fn.result_types], "writes": list(fn.writes),
            "options": {"fastmath": options.fastmath, "error_model": options.error_model,
                        "boundscheck": options.boundscheck,
                        "contiguous": list(options.contiguous)},
            "errors": disk_cache.sites_to_data(lowered.sites)}


def _signature_module(metadata: dict[str, Any]) -> Module:
    """The entry function's signature (a declaration: no body) as a Module,
    which is all the wrapper reads of the IR."""
    params = [parse_type(str(t)) for t in metadata["params"]]
    results = [parse_type(str(t)) for t in metadata["results"]]
    writes = [int(k) for k in metadata["writes"]]
    if any(not 0 <= k < len(params) for k in writes):
        raise ValueError("a written parameter out of range")
    name = str(metadata["name"])
    fn = Function(name, Region(params), results, writes=writes)
    return Module({name: fn}, name)


def compile_module(module: Module, *, fastmath: bool = False, error_model: str = "python",
                   boundscheck: bool = True, contiguous: Sequence[int] = (),
                   cache_key: dict[str, Any] | None = None) -> CompiledFunction:
    """Compile `module` to native code; the result calls its entry function.
    With `cache_key` (a JSON-able dict naming everything the code depends
    on), the code is also written to the disk cache for `load_cached`."""
    options = Options(fastmath=fastmath, error_model=error_model, boundscheck=boundscheck,
                      contiguous=tuple(contiguous))
    return get_engine().compile(module, options, cache_key)


def load_cached(cache_key: dict[str, Any]) -> CompiledFunction | None:
    """The compiled function the disk cache holds for `cache_key`, or None."""
    return get_engine().load_cached(cache_key)
