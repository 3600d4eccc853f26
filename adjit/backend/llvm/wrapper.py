"""Calling compiled code from Python: `CompiledFunction`.

A call converts the arguments to the C ABI of the exported entry
(`entry.py`, docs/backend.md) and calls it through ctypes, which releases the
GIL for the duration of the call; the native code touches no global state,
so any number of threads may call one function at once. Results come back
as Python floats, ints and bools, a tuple for several, and numpy arrays:

- an array the call allocated is wrapped without copying; the numpy array
  owns the block (its base is a `_Block` that frees it exactly once when the
  last array using it is collected);
- an array whose data belongs to an argument (the function returned an
  argument, possibly after writing to it in place) comes back as that very
  argument object.

Arrays the function writes to (`Function.writes`) are copied back into the
caller's arrays when the writes did not already happen in place, so callers
see them as under CPython.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from adjit.backend.llvm.abi import FLAG_NO_INPLACE, Record, ctypes_descriptor, ctypes_scalar
from adjit.backend.llvm.runtime_checks import SiteTable
from adjit.ir.core import Module
from adjit.ir.types import BOOL, F64, I64, ArrayType, Type

if TYPE_CHECKING:
    from adjit.backend.llvm.engine import Engine
    from adjit.backend.llvm.lower import Options

_libc = ctypes.CDLL(None)
_free = _libc.free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None


class _Block:
    """Owns one malloc'd block; numpy arrays over it keep it alive as their base."""

    __slots__ = ("__array_interface__", "block")

    def __init__(self, block: int, interface: dict[str, Any]):
        self.block = block
        self.__array_interface__ = interface

    def __del__(self) -> None:
        _free(self.block)


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


def _scalar_converter(t: Type) -> Callable[[Any], Any]:
    return {F64: float, I64: int, BOOL: bool}[t]


class CompiledFunction:
    """Native code for the entry function of an IR module.

    Call it like the Python function it came from. `llvm_ir` is the LLVM IR
    as lowered, `optimized_ir` after O3; `assembly()` and `object_code()`
    give the machine code; `call_with_stats(*args)` also returns `CallStats`.
    """

    def __init__(self, module: Module, address: int, sites: SiteTable, options: "Options", *,
                 llvm_ir: str, optimized_ir: str, engine: "Engine"):
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

        arg_ctypes = [ctypes.c_void_p if t.is_array else ctypes_scalar(t)
                      for t in self.param_types]
        self._cfunc = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, *arg_ctypes,
                                       *[ctypes.c_void_p] * len(self.result_types))(address)
        fields = [("record", Record)]
        for k, t in enumerate(self.result_types):
            fields.append((f"r{k}", ctypes_descriptor(t.ndim, True) if t.is_array
                           else ctypes_scalar(t)))
        self._frame_type = type(f"Frame_{self.name}", (ctypes.Structure,), {"_fields_": fields})
        self._offsets = [getattr(self._frame_type, f"r{k}").offset
                         for k in range(len(self.result_types))]
        self._converters = [None if t.is_array else _scalar_converter(t)
                            for t in self.param_types]
        self._array_params = [k for k, t in enumerate(self.param_types) if t.is_array]

    def __repr__(self) -> str:
        params = ", ".join(map(str, self.param_types))
        return f"<CompiledFunction {self.name}({params})>"

    # --- calling ------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        return self._invoke(args)[0]

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
                arrays[k] = np.asarray(args[k], dtype=np.float64)
            for k in self._array_params:
                desc = self._descriptor(k, arrays)
                keep.append(desc)
                values[k] = ctypes.addressof(desc)
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
        for k, t in enumerate(self.result_types):
            value = getattr(frame, f"r{k}")
            if isinstance(t, ArrayType):
                value = self._array_result(value, t.ndim, owners, args, arrays)
            out.append(value)
        for k, final in zip(self.writes, out[self.returned:]):
            target = args[k]
            if isinstance(target, np.ndarray) and final is not target:
                np.copyto(target, final)
        out = out[:self.returned]
        if len(out) == 1:
            return out[0]
        return tuple(out) if out else None

    @staticmethod
    def _array_result(desc: Any, ndim: int, owners: dict[int, np.ndarray], args: Sequence[Any],
                      arrays: dict[int, np.ndarray]) -> np.ndarray:
        interface = _interface(desc, ndim)
        if desc.block:
            if desc.block not in owners:
                owners[desc.block] = np.asarray(_Block(desc.block, interface))
            return owners[desc.block]
        # The data belongs to an argument: give back the argument itself.
        for k, x in arrays.items():
            if (x.__array_interface__["data"][0] == interface["data"][0]
                    and x.shape == interface["shape"] and x.strides == interface["strides"]):
                return args[k] if args[k] is x else x
        raise AssertionError("a returned array aliases no argument")  # pragma: no cover

    # --- machine code ------------------------------------------------------------------

    def assembly(self) -> str:
        """The optimized module as assembly for the host CPU."""
        return self._engine.assembly(self.optimized_ir)

    def object_code(self) -> bytes:
        """The optimized module as an object file (ELF on Linux)."""
        return self._engine.object_code(self.optimized_ir)
