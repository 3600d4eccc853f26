"""The exported C entry point of a compiled module (docs/backend.md):

    int32_t <prefix>_entry(Record *record, <params>, <result pointers>)

Scalars by value (bool as one byte), arrays by pointer to an input
descriptor {data, shape[N], strides[N], flags}, each result through a
pointer (an array result to an output descriptor {data, shape[N],
strides[N], block}). Returns 0, or 1 with the error site and payloads in
`record`.

The entry sets up the call's context on its stack, gives each argument
array a stack header marked external (reference count 1 for parameters the
function writes to, so writes happen in place, unless the caller forbids it;
2 otherwise: the first write copies), calls the internal function, and then
hands the blocks of returned arrays and tapes to the caller (unlinking them
from the live list) and frees every other block: all of them after an
error, normally none (the count goes to `record.leaked`). A tape argument
is handed over to the call (it pops it); it is never on the live list.
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import (
    A_HEADER, C_RECORD, C_SENTINEL, CONTEXT, FLAG_NO_INPLACE, H_FLAGS, H_NEXT, H_PREV,
    H_REFCOUNT, HEADER, HF_EXTERNAL, INT8, INT32, PTR, RECORD, R, STATUS_OK, abi_param_type,
    input_descriptor, value_type)
from adjit.backend.llvm.runtime import (
    field_ptr, has_flag, i64, load_field, stack_alloc, store_field)
from adjit.backend.llvm.tapes import escape_tape
from adjit.ir.core import Function
from adjit.ir.types import BOOL, ArrayType, TapeType


def define_entry(ml, fn: Function) -> str:
    """Define the exported wrapper of `fn` in `ml.llmod`; returns its name."""
    name = f"{ml.prefix}_entry"
    params = [abi_param_type(p.type) for p in fn.params]
    ftype = ir.FunctionType(INT32, [PTR] + params + [PTR] * len(fn.result_types))
    entry = ir.Function(ml.llmod, ftype, name)
    b = ir.IRBuilder(entry.append_basic_block("entry"))
    record, *rest = entry.args
    abi_args, out_ptrs = rest[:len(params)], rest[len(params):]

    for field in ("allocs", "copies", "frees", "leaked"):
        store_field(b, RECORD, record, R[field], i64(0))
    ctx = stack_alloc(b, CONTEXT, "ctx")
    store_field(b, CONTEXT, ctx, C_RECORD, record)
    sentinel = field_ptr(b, CONTEXT, ctx, C_SENTINEL)
    for k in (H_PREV, H_NEXT):
        store_field(b, HEADER, sentinel, k, sentinel)

    values = [ctx]
    writes = set(getattr(fn, "writes", ()))
    for k, (param, arg) in enumerate(zip(fn.params, abi_args)):
        if param.type == BOOL:
            values.append(b.icmp_unsigned("!=", arg, ir.Constant(INT8, 0)))
        elif isinstance(param.type, ArrayType):
            values.append(_argument_array(b, arg, param.type.ndim, k in writes))
        else:
            values.append(arg)
    out = b.call(ml.functions[fn.name], values)
    runtime = ml.runtime

    status = b.extract_value(out, 0)
    with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(INT32, STATUS_OK)), likely=False):
        b.call(runtime.free_all(), [ctx])
        b.ret(status)
    for k, (t, ptr) in enumerate(zip(fn.result_types, out_ptrs)):
        value = b.extract_value(out, k + 1)
        if t == BOOL:
            b.store(b.zext(value, INT8), ptr)
        elif isinstance(t, TapeType):
            escape_tape(b, runtime, ctx, value)
            b.store(value, ptr)
        elif isinstance(t, ArrayType):
            header = b.extract_value(value, A_HEADER)
            external = has_flag(b, header, HF_EXTERNAL)
            with b.if_then(b.not_(external)):
                b.call(runtime.unlink(), [header])
            block = b.select(external, ir.Constant(PTR, None), header)
            b.store(b.insert_value(value, block, A_HEADER), ptr)
        else:
            b.store(value, ptr)
    leaked = b.call(runtime.free_all(), [ctx])
    store_field(b, RECORD, record, R["leaked"], leaked)
    b.ret(ir.Constant(INT32, STATUS_OK))
    return name


def _argument_array(b: ir.IRBuilder, descriptor: ir.Value, ndim: int,
                    writable: bool) -> ir.Value:
    """The array value of an argument: its descriptor and a stack header. The
    count starts at 2, which makes the first write copy, unless the function
    writes to this parameter (`Function.writes`: the caller sees the writes)
    and the caller allows it."""
    desc_t = input_descriptor(ndim)
    header = stack_alloc(b, HEADER, "arg.header")
    if writable:
        flags = load_field(b, desc_t, descriptor, 3)
        no_inplace = b.icmp_unsigned("!=", b.and_(flags, i64(FLAG_NO_INPLACE)), i64(0))
        count = b.select(no_inplace, i64(2), i64(1))
    else:
        count = i64(2)
    store_field(b, HEADER, header, H_REFCOUNT, count)
    store_field(b, HEADER, header, H_FLAGS, i64(HF_EXTERNAL))
    store_field(b, HEADER, header, H_PREV, header)
    store_field(b, HEADER, header, H_NEXT, header)
    value = ir.Constant(value_type(ArrayType(ndim)), ir.Undefined)
    for k in range(3):
        value = b.insert_value(value, load_field(b, desc_t, descriptor, k), k)
    return b.insert_value(value, header, A_HEADER)
