"""A CPython-level entry point for functions of scalars: the fast call path.

ctypes spends about a microsecond per call converting arguments and
setting up libffi. For a function whose parameters and results are all
scalars (f64, i64, bool), the module also gets

    PyObject *<prefix>_py(PyObject *self, PyObject *const *args, Py_ssize_t nargs)

a METH_FASTCALL function that `wrapper.py` turns into a Python builtin
(`PyCFunction_NewEx`). It converts the arguments with the C API
(PyFloat_AsDouble, PyLong_AsLongLong, PyObject_IsTrue), releases the GIL
around the call of the C entry (`entry.py`), and builds the results
(PyFloat_FromDouble, ...; a tuple for several). `self` is a tuple
(fallback, on_error) of Python callables: anything unusual (wrong arity,
arguments the C API does not convert) goes to `fallback(*args)`, the
generic ctypes path, which converts or explains; a failed call goes to
`on_error(address of the error record)`, which raises.

The C API symbols are registered with LLVM from the running interpreter
(`engine.py`), so nothing depends on how libpython was linked.
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import DOUBLE, INT8, INT32, INT64, PTR, RECORD, STATUS_OK
from adjit.backend.llvm.runtime import i64, is_null, stack_alloc
from adjit.ir.core import Function
from adjit.ir.types import BOOL, F64, I64

C_API = {
    "PyFloat_AsDouble": (DOUBLE, [PTR]),
    "PyLong_AsLongLong": (INT64, [PTR]),
    "PyObject_IsTrue": (INT32, [PTR]),
    "PyErr_Occurred": (PTR, []),
    "PyErr_Clear": (ir.VoidType(), []),
    "PyFloat_FromDouble": (PTR, [DOUBLE]),
    "PyLong_FromLongLong": (PTR, [INT64]),
    "PyBool_FromLong": (PTR, [INT64]),
    "PyLong_FromVoidPtr": (PTR, [PTR]),
    "PyTuple_New": (PTR, [INT64]),
    "PyTuple_SetItem": (INT32, [PTR, INT64, PTR]),
    "PyTuple_GetItem": (PTR, [PTR, INT64]),
    "PyEval_SaveThread": (PTR, []),
    "PyEval_RestoreThread": (ir.VoidType(), [PTR]),
    "PyObject_Vectorcall": (PTR, [PTR, PTR, INT64, PTR]),
    "Py_DecRef": (ir.VoidType(), [PTR]),
}
SCALARS = (F64, I64, BOOL)


def has_python_entry(fn: Function) -> bool:
    types = [p.type for p in fn.params] + list(fn.result_types)
    return bool(fn.result_types) and all(t in SCALARS for t in types)


def define_python_entry(module: ir.Module, fn: Function, entry: ir.Function, name: str) -> None:
    """Define `name`, the METH_FASTCALL wrapper of the C entry `entry` of `fn`."""

    def api(symbol: str) -> ir.Function:
        existing = module.globals.get(symbol)
        if existing is not None:
            return existing
        ret, params = C_API[symbol]
        return ir.Function(module, ir.FunctionType(ret, params), symbol)

    py = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, INT64]), name)
    this, args, nargs = py.args
    b = ir.IRBuilder(py.append_basic_block("entry"))
    record = stack_alloc(b, RECORD, "record")
    address = stack_alloc(b, PTR, "address")
    slots = [stack_alloc(b, DOUBLE if t == F64 else INT64 if t == I64 else INT8, "result")
             for t in fn.result_types]
    fallback = py.append_basic_block("fallback")
    with b.if_then(b.icmp_signed("!=", nargs, i64(len(fn.params))), likely=False):
        b.branch(fallback)

    values = []
    for k, param in enumerate(fn.params):
        obj = b.load(b.gep(args, [i64(k)], source_etype=PTR), typ=PTR)
        if param.type == BOOL:
            truth = b.call(api("PyObject_IsTrue"), [obj])
            failed = b.icmp_signed("<", truth, ir.Constant(INT32, 0))
            value = b.zext(b.icmp_signed(">", truth, ir.Constant(INT32, 0)), INT8)
        else:
            convert = "PyFloat_AsDouble" if param.type == F64 else "PyLong_AsLongLong"
            value = b.call(api(convert), [obj])
            minus_one = (b.fcmp_ordered("==", value, ir.Constant(DOUBLE, -1.0))
                         if param.type == F64 else b.icmp_signed("==", value, i64(-1)))
            failed = b.and_(minus_one, b.not_(is_null(b, b.call(api("PyErr_Occurred"), []))))
        with b.if_then(failed, likely=False):
            b.call(api("PyErr_Clear"), [])
            b.branch(fallback)
        values.append(value)

    state = b.call(api("PyEval_SaveThread"), [])
    status = b.call(entry, [record] + values + slots)
    b.call(api("PyEval_RestoreThread"), [state])
    with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(INT32, STATUS_OK)), likely=False):
        b.store(b.call(api("PyLong_FromVoidPtr"), [record]), address)
        on_error = b.call(api("PyTuple_GetItem"), [this, i64(1)])
        raised = b.call(api("PyObject_Vectorcall"), [on_error, address, i64(1),
                                                     ir.Constant(PTR, None)])
        b.call(api("Py_DecRef"), [b.load(address, typ=PTR)])
        b.ret(raised)  # NULL: the exception is set

    results = []
    for t, slot in zip(fn.result_types, slots):
        if t == F64:
            results.append(b.call(api("PyFloat_FromDouble"), [b.load(slot, typ=DOUBLE)]))
        elif t == I64:
            results.append(b.call(api("PyLong_FromLongLong"), [b.load(slot, typ=INT64)]))
        else:
            flag = b.zext(b.load(slot, typ=INT8), INT64)
            results.append(b.call(api("PyBool_FromLong"), [flag]))
    if len(results) == 1:
        b.ret(results[0])
    else:
        tuple_ = b.call(api("PyTuple_New"), [i64(len(results))])
        for k, item in enumerate(results):
            b.call(api("PyTuple_SetItem"), [tuple_, i64(k), item])  # steals the reference
        b.ret(tuple_)

    b.position_at_end(fallback)
    generic = b.call(api("PyTuple_GetItem"), [this, i64(0)])
    b.ret(b.call(api("PyObject_Vectorcall"), [generic, args, nargs, ir.Constant(PTR, None)]))
