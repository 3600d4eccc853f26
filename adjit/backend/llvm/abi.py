"""Data layout of compiled code: LLVM types of IR values, array headers,
the per-call context, and the C ABI of the exported entry point.

Inside a module every IR value is one LLVM first-class value:

    f64 -> double    i64 -> i64    bool -> i1
    array<f64,N> -> {ptr data, [N x i64] shape, [N x i64] strides, ptr header}
    tape<...> -> ptr (to the tape block)

Strides are in bytes, so C-ordered, Fortran-ordered and strided views all
work. `header` points to a `Header` that carries the array's reference count
(see `ownership.py`): arrays compiled code allocates live in one malloc'd
block, header first, elements `HEADER_SIZE` bytes after it; an argument
array gets a header on the stack of the exported entry marked external, so
its memory is never freed. A tape block starts with a header too. Every
block allocated during a call is linked into the call's `Context`, so an
error anywhere frees everything at once.

docs/backend.md describes the exported C ABI that `wrapper.py` calls.
"""
from __future__ import annotations

import ctypes

from llvmlite import ir

from adjit.errors import InternalError
from adjit.ir.types import BOOL, F64, I64, ArrayType, TapeType, Type

DOUBLE = ir.DoubleType()
INT64 = ir.IntType(64)
INT32 = ir.IntType(32)
INT8 = ir.IntType(8)
BIT = ir.IntType(1)
PTR = ir.PointerType()

STATUS_OK = 0
STATUS_ERROR = 1

# Header of every managed block (arrays, tapes): {refcount, flags, prev, next}.
HEADER = ir.LiteralStructType([INT64, INT64, PTR, PTR])
HEADER_SIZE = 32
H_REFCOUNT, H_FLAGS, H_PREV, H_NEXT = range(4)
HF_EXTERNAL = 1  # the memory is not ours (an argument array): never freed
HF_TAPE = 2  # a tape: releasing it releases what its records hold

# A tape block: {header, count, capacity, records, record size, ops}, where
# `records` is a separate malloc'd array of records (LLVM structs of the
# record's field values) and `ops(ctx, tape, op)` a function specialized to
# the record type that applies TAPE_DROP / TAPE_DUP / TAPE_ESCAPE to the
# references the records hold (null when they hold none).
TAPE = ir.LiteralStructType([HEADER, INT64, INT64, PTR, INT64, PTR])
T_HEADER, T_COUNT, T_CAPACITY, T_RECORDS, T_RECORD_SIZE, T_OPS = range(6)
TAPE_DROP, TAPE_DUP, TAPE_ESCAPE = range(3)

# The error record and call statistics the caller passes to the entry.
RECORD_FIELDS = ("site", "payload0", "payload1", "payload2", "payload3", "allocs", "copies",
                 "frees", "leaked")
RECORD = ir.LiteralStructType([INT64] * len(RECORD_FIELDS))
R = {name: k for k, name in enumerate(RECORD_FIELDS)}

# Per-call context, on the exported entry's stack: the record and the
# sentinel header of the list of live blocks.
CONTEXT = ir.LiteralStructType([PTR, HEADER])
C_RECORD, C_SENTINEL = 0, 1

# Input descriptor flags.
FLAG_NO_INPLACE = 1  # the array aliases another argument or is read-only


def array_type(ndim: int) -> ir.LiteralStructType:
    dims = ir.ArrayType(INT64, ndim)
    return ir.LiteralStructType([PTR, dims, dims, PTR])


A_DATA, A_SHAPE, A_STRIDES, A_HEADER = range(4)


def value_type(t: Type) -> ir.Type:
    """The LLVM type of an IR value inside a module."""
    if t == F64:
        return DOUBLE
    if t == I64:
        return INT64
    if t == BOOL:
        return BIT
    if isinstance(t, ArrayType):
        return array_type(t.ndim)
    if isinstance(t, TapeType):
        return PTR  # the tape block, which starts with its header
    raise InternalError(f"the LLVM backend has no representation for values of type {t}",
                        stage="llvm")


def input_descriptor(ndim: int) -> ir.LiteralStructType:
    """{ptr data, [N x i64] shape, [N x i64] strides, i64 flags}."""
    dims = ir.ArrayType(INT64, ndim)
    return ir.LiteralStructType([PTR, dims, dims, INT64])


def output_descriptor(ndim: int) -> ir.LiteralStructType:
    """{ptr data, [N x i64] shape, [N x i64] strides, ptr block}; block is
    what to pass to free(), or null when data belongs to an argument."""
    return array_type(ndim)


def abi_param_type(t: Type) -> ir.Type:
    """How the exported entry takes a parameter: scalars by value, arrays by
    pointer to an input descriptor."""
    if t == BOOL:
        return INT8
    if isinstance(t, (ArrayType, TapeType)):
        return PTR
    return value_type(t)


def is_managed(t: Type) -> bool:
    """Values of these types hold a reference to a block (see ownership.py)."""
    return isinstance(t, (ArrayType, TapeType))


# --- the same layout for ctypes ------------------------------------------------

class Record(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64) for name in RECORD_FIELDS]


_DESCRIPTORS: dict[tuple[str, int], type] = {}


def ctypes_descriptor(ndim: int, output: bool) -> type:
    """The ctypes mirror of `input_descriptor` / `output_descriptor`."""
    key = ("out" if output else "in", ndim)
    if key not in _DESCRIPTORS:
        last = ("block", ctypes.c_void_p) if output else ("flags", ctypes.c_int64)
        _DESCRIPTORS[key] = type(f"Descriptor{ndim}{key[0].title()}", (ctypes.Structure,), {
            "_fields_": [("data", ctypes.c_void_p), ("shape", ctypes.c_int64 * ndim),
                         ("strides", ctypes.c_int64 * ndim), last]})
    return _DESCRIPTORS[key]


def ctypes_scalar(t: Type) -> type:
    return {F64: ctypes.c_double, I64: ctypes.c_int64, BOOL: ctypes.c_bool}[t]
