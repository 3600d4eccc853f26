"""A CPython-level entry point: the fast call path.

ctypes spends about a microsecond per call converting arguments and setting
up libffi, and reading an array's address from Python costs as much again.
For a function of scalars and arrays (no tapes) the module also gets

    PyObject *<prefix>_py(PyObject *self, PyObject *const *args, Py_ssize_t nargs)

a METH_FASTCALL function that `wrapper.py` turns into a Python builtin
(`PyCFunction_NewEx`). It converts scalar arguments with the C API
(PyFloat_AsDouble, PyLong_AsLongLong, PyObject_IsTrue) and reads float64
numpy arrays through the buffer protocol into input descriptors, releases
the GIL around the call of the C entry (`entry.py`) and builds the results
(PyFloat_FromDouble, ...; a tuple for several). An array result the call
allocated becomes a numpy array over its block, without a copy
(`PyArray_New`), whose base is a capsule that releases the block when the
array is collected.

`self` is a tuple (fallback, on_error, finish, numpy.ndarray, float, int,
bool, address of numpy's C API table) of Python objects; scalar arguments
must be exactly of the type the function was specialized for. Anything
unusual (wrong arity, arguments the C API does not convert, arrays that are
not aligned float64 ndarrays, or read-only ones the function writes to) goes
to `fallback(*args)`, the generic ctypes path, which converts or explains. A
failed call goes to `on_error(address of the error record)`, which raises.
Results the entry does not build (an argument's array returned, one block
returned twice, writes to copy back) are finished in Python:
`finish(address of the frame, *args)`, where the frame is the error record
followed by the result slots, laid out as the wrapper's ctypes frame.

The C API symbols are registered with LLVM from the running interpreter
(`engine.py`), so nothing depends on how libpython was linked.
"""
from __future__ import annotations

import ctypes
import functools
from typing import Sequence

from llvmlite import ir

from adjit.backend.llvm.abi import (
    A_DATA, A_HEADER, A_SHAPE, A_STRIDES, BIT, DOUBLE, FLAG_NO_INPLACE, INT8, INT32, INT64, PTR,
    RECORD, STATUS_OK, abi_param_type, input_descriptor, output_descriptor)
from adjit.backend.llvm.runtime import (
    Runtime, field_ptr, i64, is_null, load_field, stack_alloc, store_field)
from adjit.ir.core import Function
from adjit.ir.types import BOOL, F64, I64, ArrayType

VOID = ir.VoidType()
C_API = {
    "PyFloat_AsDouble": (DOUBLE, [PTR]),
    "PyLong_AsLongLong": (INT64, [PTR]),
    "PyObject_IsTrue": (INT32, [PTR]),
    "PyErr_Occurred": (PTR, []),
    "PyErr_Clear": (VOID, []),
    "PyFloat_FromDouble": (PTR, [DOUBLE]),
    "PyLong_FromLongLong": (PTR, [INT64]),
    "PyBool_FromLong": (PTR, [INT64]),
    "PyLong_FromVoidPtr": (PTR, [PTR]),
    "PyTuple_New": (PTR, [INT64]),
    "PyTuple_SetItem": (INT32, [PTR, INT64, PTR]),
    "PyTuple_GetItem": (PTR, [PTR, INT64]),
    "PyEval_SaveThread": (PTR, []),
    "PyEval_RestoreThread": (VOID, [PTR]),
    "PyObject_Vectorcall": (PTR, [PTR, PTR, INT64, PTR]),
    "PyObject_GetBuffer": (INT32, [PTR, PTR, INT32]),
    "PyBuffer_Release": (VOID, [PTR]),
    "Py_DecRef": (VOID, [PTR]),
    "PyLong_AsVoidPtr": (PTR, [PTR]),
    "PyCapsule_New": (PTR, [PTR, PTR, PTR]),
    "PyCapsule_GetPointer": (PTR, [PTR, PTR]),
}
# numpy's C API, called through its function table (numpy's `_ARRAY_API`,
# whose slots numpy keeps stable across versions): PyArray_New and
# PyArray_SetBaseObject.
NPY_NEW, NPY_SET_BASE = 93, 282
PYARRAY_NEW = ir.FunctionType(PTR, [PTR, INT32, PTR, INT32, PTR, PTR, INT32, INT32, PTR])
PYARRAY_SET_BASE = ir.FunctionType(INT32, [PTR, PTR])
NPY_DOUBLE = 12
NPY_ARRAY_WRITEABLE = 0x0400


@functools.cache
def numpy_api_address() -> int:
    """The address of numpy's C API function table, as the compiled entries
    get it (in `self`): read from the running numpy, so compiled code holds
    no address of this process."""
    try:
        from numpy._core import _multiarray_umath as core
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray as core
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi))
    return get_pointer(core._ARRAY_API, None)
# Py_buffer: {buf, obj, len, itemsize, readonly, ndim, format, shape, strides, suboffsets,
# internal}; an object's type is the pointer after its reference count.
PY_BUFFER = ir.LiteralStructType([PTR, PTR, INT64, INT64, INT32, INT32, PTR, PTR, PTR, PTR, PTR])
B_BUF, B_ITEMSIZE, B_NDIM, B_FORMAT, B_SHAPE, B_STRIDES = 0, 3, 5, 6, 7, 8
PYBUF_RECORDS_RO = 0x1C  # PyBUF_STRIDES | PyBUF_FORMAT
PYBUF_WRITABLE = 0x01
OB_TYPE_OFFSET = 8
(SELF_FALLBACK, SELF_ON_ERROR, SELF_FINISH, SELF_NDARRAY, SELF_FLOAT, SELF_INT, SELF_BOOL,
 SELF_NUMPY_API) = range(8)
SELF_SCALAR_TYPE = {F64: SELF_FLOAT, I64: SELF_INT, BOOL: SELF_BOOL}
SCALARS = (F64, I64, BOOL)


def has_python_entry(fn: Function) -> bool:
    types = [p.type for p in fn.params] + list(fn.result_types)
    return bool(fn.result_types) and all(t in SCALARS or t.is_array for t in types)


def finished_in_python(fn: Function) -> bool:
    """Whether results always go through Python's `finish`: writes to array
    arguments, which may have to be copied back into the caller's arrays."""
    return bool(getattr(fn, "writes", ()))


def frame_type(fn: Function) -> ir.LiteralStructType:
    """The error record and the result slots, as the wrapper's ctypes frame."""
    slots = [output_descriptor(t.ndim) if t.is_array else abi_param_type(t)
             for t in fn.result_types]
    return ir.LiteralStructType([RECORD] + slots)


class _PythonEntry:
    def __init__(self, module: ir.Module, runtime: Runtime, fn: Function, entry: ir.Function,
                 name: str, contiguous: Sequence[int]):
        self.module = module
        self.contiguous = set(contiguous)
        self.runtime = runtime
        self.fn = fn
        self.entry = entry
        self.py = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, INT64]), name)
        self.this, self.args, self.nargs = self.py.args
        self.b = ir.IRBuilder(self.py.append_basic_block("entry"))
        self.fallback = self.py.append_basic_block("fallback")
        self.views: list[ir.Value] = []  # Py_buffers acquired so far

    def api(self, symbol: str, *args: ir.Value) -> ir.Value:
        fn = self.module.globals.get(symbol)
        if fn is None:
            ret, params = C_API[symbol]
            fn = ir.Function(self.module, ir.FunctionType(ret, params), symbol)
        return self.b.call(fn, list(args))

    def item(self, k: int) -> ir.Value:
        return self.api("PyTuple_GetItem", self.this, i64(k))

    def give_up_if(self, failed: ir.Value, clear_error: bool = False) -> None:
        """Release what was acquired and take the generic path when `failed`."""
        with self.b.if_then(failed, likely=False):
            if clear_error:
                self.api("PyErr_Clear")
            self.release_views()
            self.b.branch(self.fallback)

    def release_views(self) -> None:
        for view in self.views:
            self.api("PyBuffer_Release", view)

    def scalar(self, obj: ir.Value, t) -> ir.Value:
        b = self.b
        # Exactly the Python type the function was specialized for (float, int,
        # bool); anything else (an int for a float, np.float64) takes the
        # fallback, which converts or specializes anew.
        ob_type = b.load(b.gep(obj, [i64(OB_TYPE_OFFSET)], source_etype=INT8), typ=PTR)
        self.give_up_if(b.icmp_unsigned("!=", ob_type, self.item(SELF_SCALAR_TYPE[t])))
        if t == BOOL:
            truth = self.api("PyObject_IsTrue", obj)
            self.give_up_if(b.icmp_signed("<", truth, ir.Constant(INT32, 0)), clear_error=True)
            return b.zext(b.icmp_signed(">", truth, ir.Constant(INT32, 0)), INT8)
        value = self.api("PyFloat_AsDouble" if t == F64 else "PyLong_AsLongLong", obj)
        minus_one = (b.fcmp_ordered("==", value, ir.Constant(DOUBLE, -1.0)) if t == F64
                     else b.icmp_signed("==", value, i64(-1)))
        self.give_up_if(b.and_(minus_one, b.not_(is_null(b, self.api("PyErr_Occurred")))),
                        clear_error=True)
        return value

    def array(self, obj: ir.Value, t: ArrayType, writable: bool,
              contiguous: bool = False) -> ir.Value:
        """An input descriptor of a float64 ndarray with aligned data and strides
        (C-contiguous ones, where the code assumes them: `Options.contiguous`)."""
        b = self.b
        ob_type = b.load(b.gep(obj, [i64(OB_TYPE_OFFSET)], source_etype=INT8), typ=PTR)
        self.give_up_if(b.icmp_unsigned("!=", ob_type, self.item(SELF_NDARRAY)))
        view = stack_alloc(b, PY_BUFFER, "view")
        flags = PYBUF_RECORDS_RO | (PYBUF_WRITABLE if writable else 0)
        got = self.api("PyObject_GetBuffer", obj, view, ir.Constant(INT32, flags))
        self.give_up_if(b.icmp_signed("<", got, ir.Constant(INT32, 0)), clear_error=True)
        self.views.append(view)
        data = load_field(b, PY_BUFFER, view, B_BUF)
        fmt = load_field(b, PY_BUFFER, view, B_FORMAT)
        bad = b.or_(b.icmp_signed("!=", load_field(b, PY_BUFFER, view, B_NDIM),
                                  ir.Constant(INT32, t.ndim)),
                    b.icmp_signed("!=", load_field(b, PY_BUFFER, view, B_ITEMSIZE), i64(8)))
        bad = b.or_(bad, b.icmp_unsigned("!=", b.load(fmt, typ=INT8), ir.Constant(INT8, ord("d"))))
        second = b.gep(fmt, [i64(1)], source_etype=INT8)
        bad = b.or_(bad, b.icmp_unsigned("!=", b.load(second, typ=INT8), ir.Constant(INT8, 0)))
        bad = b.or_(bad, self.misaligned(b.ptrtoint(data, INT64)))
        desc_t = input_descriptor(t.ndim)
        desc = stack_alloc(b, desc_t, "descriptor")
        store_field(b, desc_t, desc, 0, data)
        c_stride = i64(8)  # of this axis, were the array C-contiguous
        for axis in reversed(range(t.ndim)):
            size = None
            for field, k in ((B_SHAPE, 1), (B_STRIDES, 2)):
                values = load_field(b, PY_BUFFER, view, field)
                value = b.load(b.gep(values, [i64(axis)], source_etype=INT64), typ=INT64)
                if field == B_SHAPE:
                    size = value
                else:
                    bad = b.or_(bad, self.misaligned(value))
                    if contiguous:  # a stride matters only where the axis has 2+ elements
                        bad = b.or_(bad, b.and_(b.icmp_signed(">", size, i64(1)),
                                                b.icmp_unsigned("!=", value, c_stride)))
                slot = b.gep(desc, [ir.Constant(INT32, 0), ir.Constant(INT32, k),
                                    ir.Constant(INT32, axis)], source_etype=desc_t)
                b.store(value, slot)
            c_stride = b.mul(c_stride, size)
        store_field(b, desc_t, desc, 3, i64(0))
        self.give_up_if(bad)  # the generic path copies or converts it
        return desc

    def misaligned(self, value: ir.Value) -> ir.Value:
        return self.b.icmp_unsigned("!=", self.b.and_(value, i64(7)), i64(0))

    def extent(self, desc: ir.Value, ndim: int) -> tuple[ir.Value, ir.Value]:
        """[lo, hi): the bytes an array's elements occupy."""
        b = self.b
        desc_t = input_descriptor(ndim)
        lo = b.ptrtoint(load_field(b, desc_t, desc, 0), INT64)
        hi = b.add(lo, i64(8))
        for axis in range(ndim):
            size = b.load(b.gep(desc, [ir.Constant(INT32, 0), ir.Constant(INT32, 1),
                                       ir.Constant(INT32, axis)], source_etype=desc_t), typ=INT64)
            stride = b.load(b.gep(desc, [ir.Constant(INT32, 0), ir.Constant(INT32, 2),
                                         ir.Constant(INT32, axis)], source_etype=desc_t),
                            typ=INT64)
            span = b.mul(b.sub(size, i64(1)), stride)
            lo = b.add(lo, b.select(b.icmp_signed("<", span, i64(0)), span, i64(0)))
            hi = b.add(hi, b.select(b.icmp_signed(">", span, i64(0)), span, i64(0)))
        return lo, hi

    def mark_overlaps(self, arrays: dict[int, ir.Value]) -> None:
        """Forbid in-place writes to a written array that overlaps another argument."""
        b = self.b
        writes = set(getattr(self.fn, "writes", ()))
        extents = {k: self.extent(d, self.fn.params[k].type.ndim) for k, d in arrays.items()}
        for k in writes & set(arrays):
            overlap = ir.Constant(BIT, 0)
            for j, (lo, hi) in extents.items():
                if j != k:
                    mine = extents[k]
                    overlap = b.or_(overlap, b.and_(b.icmp_signed("<", mine[0], hi),
                                                    b.icmp_signed("<", lo, mine[1])))
            desc_t = input_descriptor(self.fn.params[k].type.ndim)
            store_field(b, desc_t, arrays[k], 3,
                        b.select(overlap, i64(FLAG_NO_INPLACE), i64(0)))

    def define(self) -> None:
        b, fn = self.b, self.fn
        frame_t = frame_type(fn)
        frame = stack_alloc(b, frame_t, "frame")
        boxed = stack_alloc(b, ir.ArrayType(PTR, len(fn.params) + 1), "boxed")
        with b.if_then(b.icmp_signed("!=", self.nargs, i64(len(fn.params))), likely=False):
            b.branch(self.fallback)
        values, arrays = [], {}
        writes = set(getattr(fn, "writes", ()))
        for k, param in enumerate(fn.params):
            obj = b.load(b.gep(self.args, [i64(k)], source_etype=PTR), typ=PTR)
            if param.type.is_array:
                arrays[k] = self.array(obj, param.type, k in writes,
                                       contiguous=k in self.contiguous)
                values.append(arrays[k])
            else:
                values.append(self.scalar(obj, param.type))
        if len(arrays) > 1 and writes:
            self.mark_overlaps(arrays)
        slots = [b.gep(frame, [ir.Constant(INT32, 0), ir.Constant(INT32, k + 1)],
                       source_etype=frame_t) for k in range(len(fn.result_types))]
        state = self.api("PyEval_SaveThread")
        status = b.call(self.entry, [frame] + values + slots)
        self.api("PyEval_RestoreThread", state)
        self.release_views()
        with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(INT32, STATUS_OK)),
                       likely=False):
            b.ret(self.call_python(SELF_ON_ERROR, frame, boxed, 0))  # NULL: raised
        if finished_in_python(fn):
            b.ret(self.call_python(SELF_FINISH, frame, boxed, len(fn.params)))
        else:
            blocks = [load_field(b, output_descriptor(t.ndim), slot, A_HEADER)
                      for t, slot in zip(fn.result_types, slots) if t.is_array]
            if blocks:
                with b.if_then(self.not_all_own(blocks), likely=False):
                    b.ret(self.call_python(SELF_FINISH, frame, boxed, len(fn.params)))
            b.ret(self.results(slots))
        b.position_at_end(self.fallback)
        b.ret(self.api("PyObject_Vectorcall", self.item(SELF_FALLBACK), self.args, self.nargs,
                       ir.Constant(PTR, None)))

    def call_python(self, which: int, frame: ir.Value, boxed: ir.Value, nargs: int) -> ir.Value:
        """self[which](frame address, *args[:nargs])."""
        b = self.b
        address = self.api("PyLong_FromVoidPtr", frame)
        b.store(address, boxed)
        for k in range(nargs):
            arg = b.load(b.gep(self.args, [i64(k)], source_etype=PTR), typ=PTR)
            b.store(arg, b.gep(boxed, [i64(k + 1)], source_etype=PTR))
        out = self.api("PyObject_Vectorcall", self.item(which), boxed, i64(nargs + 1),
                       ir.Constant(PTR, None))
        self.api("Py_DecRef", address)
        return out

    def not_all_own(self, blocks: list[ir.Value]) -> ir.Value:
        """Whether some array result is not a block of its own (it is an
        argument's data, or two results share one block): `finish` then
        gives back the argument itself, or one array for both, as CPython."""
        b = self.b
        bad = ir.Constant(BIT, 0)
        for k, block in enumerate(blocks):
            bad = b.or_(bad, is_null(b, block))
            for other in blocks[:k]:
                bad = b.or_(bad, b.icmp_unsigned("==", block, other))
        return bad

    def results(self, slots: list[ir.Value]) -> ir.Value:
        """The Python result (a tuple for several); NULL with the exception
        set when one cannot be made, after freeing the others."""
        b = self.b
        made: list[ir.Value] = []
        types = self.fn.result_types
        for k, (t, slot) in enumerate(zip(types, slots)):
            if t.is_array:
                obj = self.array_result(slot, t.ndim, lambda k=k: self.abandon(made, slots, k))
            else:
                obj = self.scalar_result(slot, t)
                with b.if_then(is_null(b, obj), likely=False):
                    self.abandon(made, slots, k)
            made.append(obj)
        if len(made) == 1:
            return made[0]
        packed = self.api("PyTuple_New", i64(len(made)))
        with b.if_then(is_null(b, packed), likely=False):
            self.abandon(made, slots, len(made))
        for k, item in enumerate(made):
            self.api("PyTuple_SetItem", packed, i64(k), item)  # steals the reference
        return packed

    def abandon(self, made: list[ir.Value], slots: list[ir.Value], failed: int) -> None:
        """Result `failed` could not be made (its own block is released
        already): drop the results made and the blocks after it, return NULL."""
        b = self.b
        for obj in made:
            self.api("Py_DecRef", obj)
        for t, slot in list(zip(self.fn.result_types, slots))[failed + 1:]:
            if t.is_array:
                self.release_block(load_field(b, output_descriptor(t.ndim), slot, A_HEADER))
        b.ret(ir.Constant(PTR, None))

    def scalar_result(self, slot: ir.Value, t) -> ir.Value:
        b = self.b
        if t == F64:
            return self.api("PyFloat_FromDouble", b.load(slot, typ=DOUBLE))
        if t == I64:
            return self.api("PyLong_FromLongLong", b.load(slot, typ=INT64))
        return self.api("PyBool_FromLong", b.zext(b.load(slot, typ=INT8), INT64))

    def array_result(self, slot: ir.Value, ndim: int, abandon) -> ir.Value:
        """A numpy array over the returned block, without a copy: its base is
        a capsule holding the block's reference, released when collected."""
        b = self.b
        desc_t = output_descriptor(ndim)
        block = load_field(b, desc_t, slot, A_HEADER)
        capsule = self.api("PyCapsule_New", block, ir.Constant(PTR, None),
                           self.capsule_destructor())
        with b.if_then(is_null(b, capsule), likely=False):
            self.release_block(block)
            abandon()
        table = self.api("PyLong_AsVoidPtr", self.item(SELF_NUMPY_API))

        def numpy_api(slot_index: int, ftype: ir.FunctionType) -> ir.Value:
            address = b.load(b.gep(table, [i64(slot_index)], source_etype=PTR), typ=PTR)
            return b.inttoptr(b.ptrtoint(address, INT64), ftype.as_pointer())

        array = b.call(numpy_api(NPY_NEW, PYARRAY_NEW), [
            self.item(SELF_NDARRAY), ir.Constant(INT32, ndim), field_ptr(b, desc_t, slot, A_SHAPE),
            ir.Constant(INT32, NPY_DOUBLE), field_ptr(b, desc_t, slot, A_STRIDES),
            load_field(b, desc_t, slot, A_DATA), ir.Constant(INT32, 0),
            ir.Constant(INT32, NPY_ARRAY_WRITEABLE), ir.Constant(PTR, None)])
        with b.if_then(is_null(b, array), likely=False):
            self.api("Py_DecRef", capsule)  # releases the block
            abandon()
        failed = b.call(numpy_api(NPY_SET_BASE, PYARRAY_SET_BASE), [array, capsule])
        with b.if_then(b.icmp_signed("<", failed, ir.Constant(INT32, 0)), likely=False):
            self.api("Py_DecRef", array)  # the capsule went with it (SetBase steals it)
            abandon()
        return array

    def release_block(self, block: ir.Value) -> None:
        self.b.call(self.runtime.release(), [ir.Constant(PTR, None), block])

    def capsule_destructor(self) -> ir.Function:
        """void(PyObject *capsule): release the block the capsule holds."""
        name = f"{self.py.name}.release_capsule"
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(VOID, [PTR]), name)
            fn.linkage = "internal"
            saved, self.b = self.b, ir.IRBuilder(fn.append_basic_block("entry"))
            block = self.api("PyCapsule_GetPointer", fn.args[0], ir.Constant(PTR, None))
            self.release_block(block)
            self.b.ret_void()
            self.b = saved
        return fn


def define_python_entry(module: ir.Module, runtime: Runtime, fn: Function, entry: ir.Function,
                        name: str, contiguous: Sequence[int] = ()) -> None:
    """Define `name`, the METH_FASTCALL wrapper of the C entry `entry` of `fn`;
    arrays at the positions `contiguous` must be C-contiguous (else the
    fallback)."""
    _PythonEntry(module, runtime, fn, entry, name, contiguous).define()
