"""Calling compiled code from Python: `CompiledFunction`.

A call goes through the module's CPython-level entry when it has one
(`pyentry.py`: functions of scalars and arrays), else it converts the
arguments to the C ABI of the exported entry (`entry.py`, docs/backend.md)
and calls it through ctypes. Both release the GIL for the duration of the
call; the native code touches no global state, so any number of threads may
call one function at once. Results come back as Python floats, ints and
bools, a tuple for several, and numpy arrays:

- an array the call allocated is wrapped without copying; the numpy array
  owns the block (its base is a `_Block` that releases its references
  exactly once, when the array is collected; the CPython-level entry makes
  such arrays itself, with a capsule as their base);
- an array whose data belongs to an argument (the function returned an
  argument, possibly after writing to it in place) comes back as that very
  argument object.

A returned tape is a `NativeTape`, which a later call can consume.
Arrays the function writes to (`Function.writes`) are copied back into the
caller's arrays when the writes did not already happen in place, so callers
see them as under CPython.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from adjit.backend.llvm.abi import (
    FLAG_NO_INPLACE, HEADER_SIZE, Record, ctypes_descriptor, ctypes_scalar, is_managed)
from adjit.backend.llvm.pyentry import numpy_api_address
from adjit.backend.llvm.runtime_checks import SiteTable
from adjit.ir.core import Module
from adjit.ir.types import BOOL, F64, I64, ArrayType, TapeType, Type

if TYPE_CHECKING:
    from adjit.backend.llvm.engine import Engine
    from adjit.backend.llvm.lower import Options

class NativeRuntime:
    """The process-wide runtime functions Python calls on native blocks
    (engine.py compiles them once): release a reference, copy a tape."""

    def __init__(self, release_address: int, tape_copy_address: int):
        self.release = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(release_address)
        self.tape_copy = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(tape_copy_address)


class _Block:
    """Holds references to one native array block; numpy arrays over it keep
    it alive as their base, and the last of them releases it."""

    __slots__ = ("__array_interface__", "block", "references", "runtime")

    def __init__(self, block: int, interface: dict[str, Any], runtime: NativeRuntime):
        self.block = block
        self.references = 1
        self.runtime = runtime
        self.__array_interface__ = interface

    def __del__(self) -> None:
        for _ in range(self.references):
            self.runtime.release(self.block)


class NativeTape:
    """A tape that compiled code returned (a residual of reverse mode).

    Passing it to a compiled function hands it over: the callee pops it, so
    it can be passed only once; pass `tape.copy()` to keep it.
    """

    __slots__ = ("_block", "type", "_runtime")

    def __init__(self, block: int, type: TapeType, runtime: NativeRuntime):
        self._block: int | None = block
        self.type = type
        self._runtime = runtime

    def __len__(self) -> int:
        return ctypes.c_int64.from_address(self._live() + HEADER_SIZE).value

    def __repr__(self) -> str:
        state = f"{len(self)} records" if self._block else "consumed"
        return f"<NativeTape {self.type}: {state}>"

    def _live(self) -> int:
        if not self._block:
            raise ValueError("this tape was handed to a compiled function already; pass "
                             "tape.copy() to use a tape more than once")
        return self._block

    def copy(self) -> "NativeTape":
        block = self._runtime.tape_copy(self._live())
        if not block:
            raise MemoryError("cannot copy a tape")
        return NativeTape(block, self.type, self._runtime)

    def take(self) -> int:
        """The block, now owned by the caller (this object lets go of it)."""
        block = self._live()
        self._block = None
        return block

    def __del__(self) -> None:
        if self._block:
            self._runtime.release(self._block)


@dataclass(frozen=True)
class CallStats:
    """What one call did with memory (tests use it to check in-place writes)."""

    allocs: int
    copies: int
    frees: int
    leaked: int


def _interface(desc: Any, ndim: int) -> dict[str, Any]:
    return {"data": (desc.data or 0, False), "shape": tuple(desc.shape[:ndim]),
            "strides": tuple(desc.strides[:ndim]), "typestr": "<f8", "version": 3}


def _element_aligned(x: np.ndarray) -> np.ndarray:
    """`x`, or a copy when its data or strides are not multiples of 8 bytes
    (compiled code counts strides in elements)."""
    if x.__array_interface__["data"][0] % 8 or any(s % 8 for s in x.strides):
        return np.array(x)
    return x


def _scalar_converter(t: Type) -> Callable[[Any], Any]:
    return {F64: float, I64: int, BOOL: bool}[t]


class _PyMethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_char_p), ("ml_meth", ctypes.c_void_p),
                ("ml_flags", ctypes.c_int), ("ml_doc", ctypes.c_char_p)]


_METH_FASTCALL = 0x0080
_PyCFunction_NewEx = ctypes.pythonapi.PyCFunction_NewEx
_PyCFunction_NewEx.restype = ctypes.py_object
_PyCFunction_NewEx.argtypes = [ctypes.POINTER(_PyMethodDef), ctypes.py_object, ctypes.py_object]


class CompiledFunction:
    """Native code for the entry function of an IR module.

    Call it like the Python function it came from. `llvm_ir` is the LLVM IR
    as lowered, `optimized_ir` after O3; `assembly()` and `object_code()`
    give the machine code; `call_with_stats(*args)` also returns `CallStats`.
    """

    def __init__(self, module: Module, address: int, sites: SiteTable, options: "Options", *,
                 llvm_ir: str, optimized_ir: str, engine: "Engine", python_address: int = 0):
        fn = module.entry_function
        self.module = module
        self.function = fn
        self.name = fn.name
        self.options = options
        self.sites = sites
        self.llvm_ir = llvm_ir
        self.optimized_ir = optimized_ir
        self.address = address
        self._engine = engine
        self.param_types: list[Type] = [p.type for p in fn.params]
        self.result_types: list[Type] = list(fn.result_types)
        self.writes: list[int] = list(getattr(fn, "writes", []))
        self.returned = len(self.result_types) - len(self.writes)

        self._runtime = engine.runtime
        arg_ctypes = [ctypes.c_void_p if is_managed(t) else ctypes_scalar(t)
                      for t in self.param_types]
        self._cfunc = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, *arg_ctypes,
                                       *[ctypes.c_void_p] * len(self.result_types))(address)
        fields = [("record", Record)]
        for k, t in enumerate(self.result_types):
            fields.append((f"r{k}", ctypes_descriptor(t.ndim, True) if t.is_array
                           else ctypes.c_void_p if is_managed(t) else ctypes_scalar(t)))
        self._frame_type = type(f"Frame_{self.name}", (ctypes.Structure,), {"_fields_": fields})
        self._offsets = [getattr(self._frame_type, f"r{k}").offset
                         for k in range(len(self.result_types))]
        self._converters = [_scalar_converter(t) if t.is_scalar else None
                            for t in self.param_types]
        self._array_params = [k for k, t in enumerate(self.param_types) if t.is_array]
        self._tape_params = [k for k, t in enumerate(self.param_types) if isinstance(t, TapeType)]
        self._result_fields = [(f"r{k}", t if is_managed(t) else None)
                               for k, t in enumerate(self.result_types)]
        self._returns_tapes = any(isinstance(t, TapeType) for t in self.result_types)
        if python_address:
            self._call = self._builtin(python_address)
            # Calls go straight to the builtin: a class of this one instance whose
            # __call__ is the builtin (not a method: it gets no `self`).
            self.__class__ = type("CompiledFunction", (CompiledFunction,),
                                  {"__call__": self._call, "__slots__": ()})
        else:
            self._call = self._generic_call

    def __repr__(self) -> str:
        params = ", ".join(map(str, self.param_types))
        return f"<CompiledFunction {self.name}({params})>"

    # --- calling ------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        return self._call(*args)

    def _generic_call(self, *args: Any) -> Any:
        return self._invoke(args)[0]

    def _builtin(self, address: int) -> Callable[..., Any]:
        """The module's CPython-level entry (pyentry.py) as a Python builtin."""
        self._method_def = _PyMethodDef(self.name.encode(), address, _METH_FASTCALL, None)
        return self.entry_with_fallback(self._generic_call)

    def entry_with_fallback(self, fallback: Callable[..., Any]) -> Callable[..., Any] | None:
        """The native entry as a builtin that calls `fallback(*args)` for
        arguments it does not take as they are (other types, arity, arrays it
        cannot read in place); None when the function has no native entry."""
        if getattr(self, "_method_def", None) is None:
            return None
        companions = (fallback, self._raise_from_record, self._finish, np.ndarray, float, int,
                      bool, numpy_api_address())
        return _PyCFunction_NewEx(ctypes.byref(self._method_def), companions, None)

    def _raise_from_record(self, address: int) -> None:
        self.sites.raise_for_record(Record.from_address(address))

    def _finish(self, address: int, *args: Any) -> Any:
        """The results of a call made by the CPython-level entry (arrays among them)."""
        arrays = {k: args[k] for k in self._array_params}
        return self._results(self._frame_type.from_address(address), args, arrays)

    def call_with_stats(self, *args: Any) -> tuple[Any, CallStats]:
        result, record = self._invoke(args)
        return result, CallStats(record.allocs, record.copies, record.frees, record.leaked)

    def _invoke(self, args: Sequence[Any]) -> tuple[Any, Record]:
        if len(args) != len(self.param_types):
            raise TypeError(f"{self.name}() takes {len(self.param_types)} arguments, "
                            f"got {len(args)}")
        values = list(args)
        for k, convert in enumerate(self._converters):
            if convert is not None:
                values[k] = convert(values[k])
        arrays: dict[int, np.ndarray] = {}
        keep = []
        if self._array_params:
            for k in self._array_params:
                arrays[k] = _element_aligned(np.asarray(args[k], dtype=np.float64))
                if k in self.options.contiguous and not arrays[k].flags.c_contiguous:
                    arrays[k] = np.ascontiguousarray(arrays[k])  # the code assumes it
            for k in self._array_params:
                desc = self._descriptor(k, arrays)
                keep.append(desc)
                values[k] = ctypes.addressof(desc)
        for k in self._tape_params:
            tape = args[k]
            if not isinstance(tape, NativeTape) or tape.type != self.param_types[k]:
                raise TypeError(f"{self.name}() argument {k + 1} must be a native "
                                f"{self.param_types[k]}, not {type(tape).__name__}")
        for k in self._tape_params:
            values[k] = args[k].take()  # last: nothing can fail before the call now
        frame = self._frame_type()
        base = ctypes.addressof(frame)
        status = self._cfunc(base, *values, *[base + off for off in self._offsets])
        if status:
            self.sites.raise_for_record(frame.record)
        results = self._results(frame, args, arrays)
        return results, frame.record

    def _descriptor(self, k: int, arrays: dict[int, np.ndarray]) -> Any:
        x = arrays[k]
        ndim = self.param_types[k].ndim
        if x.ndim != ndim:
            raise TypeError(f"{self.name}() argument {k + 1} must be a {ndim}-d array, "
                            f"not {x.ndim}-d")
        desc = ctypes_descriptor(ndim, False)()
        interface = x.__array_interface__
        desc.data = interface["data"][0]
        desc.shape[:] = x.shape
        desc.strides[:] = x.strides
        shared = not x.flags.writeable or any(
            j != k and np.may_share_memory(x, other) for j, other in arrays.items())
        desc.flags = FLAG_NO_INPLACE if shared else 0
        return desc

    def _results(self, frame: Any, args: Sequence[Any], arrays: dict[int, np.ndarray]) -> Any:
        owners: dict[int, np.ndarray] = {}
        out = []
        for name, t in self._result_fields:
            value = getattr(frame, name)
            if t is None:
                pass
            elif isinstance(t, ArrayType):
                value = self._array_result(value, t.ndim, owners, args, arrays)
            else:
                value = NativeTape(value, t, self._runtime)
            out.append(value)
        if self._returns_tapes:
            for block, array in owners.items():
                if ctypes.c_int64.from_address(block).value > array.base.references:
                    # A returned tape holds this array too: give Python its own copy,
                    # so that writing to the result cannot change what the tape recorded.
                    private = array.copy()
                    out = [private if v is array else v for v in out]
        for k, final in zip(self.writes, out[self.returned:]):
            target = args[k]
            if final is not target and isinstance(target, np.ndarray):
                np.copyto(target, final)
        if self.returned == 1:
            return out[0]
        return tuple(out[:self.returned]) if self.returned else None

    def _array_result(self, desc: Any, ndim: int, owners: dict[int, np.ndarray],
                      args: Sequence[Any], arrays: dict[int, np.ndarray]) -> np.ndarray:
        """A returned array: each result holds one reference to its block; all
        results over one block are one numpy array (as `return y, y` in CPython)."""
        block = desc.block
        if block:
            if block in owners:
                owners[block].base.references += 1
            else:
                interface = _interface(desc, ndim)
                owners[block] = np.asarray(_Block(block, interface, self._runtime))
            return owners[block]
        # The data belongs to an argument: give back the argument itself.
        interface = _interface(desc, ndim)
        for k, x in arrays.items():
            if (x.__array_interface__["data"][0] == interface["data"][0]
                    and x.shape == interface["shape"]
                    and (x.size == 0 or all(a == b or n == 1 for a, b, n in zip(
                        x.strides, interface["strides"], x.shape)))):  # size-1 axes: any
                return args[k] if args[k] is x else x
        raise AssertionError("a returned array aliases no argument")  # pragma: no cover

    # --- machine code ------------------------------------------------------------------

    def assembly(self) -> str:
        """The optimized module as assembly for the host CPU."""
        return self._engine.assembly(self.optimized_ir)

    def object_code(self) -> bytes:
        """The optimized module as an object file (ELF on Linux)."""
        return self._engine.object_code(self.optimized_ir)
