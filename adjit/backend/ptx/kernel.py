"""The kernel that maps a function over points (docs/gpu.md, "Kernel ABI"):

    void <name>_kernel(i64 n, inputs..., outputs..., i64 *err)

- one input per parameter: a scalar parameter takes a pointer to n values
  (f64 or i64; bool as one byte each), point p reading element p; an array
  parameter takes a pointer to an input descriptor {data, shape[N],
  strides[N], flags} of one array that every point reads;
- one output per result: a scalar result a pointer to n values; an array
  result (a returned array, or an argument array the function writes to) a
  pointer to {data, shape[N]}: a C-contiguous (n, *shape) buffer, point p's
  array going to data + p * prod(shape) * 8;
- `err`: ERROR_WORDS i64 words, zero before the launch. The first point that
  fails sets word 0 to 1 (an atomic compare-and-swap, so the first error
  wins) and writes its error site, four payloads and the point's index; the
  launcher raises the exception the CPU code would raise from them.

Threads walk the points in a grid-stride loop; each point runs with a fresh
context and an emptied arena slice (`arena.py`). A thread stops at its
first error.
"""
from __future__ import annotations

import re

from llvmlite import ir

from adjit.backend.llvm.abi import (
    A_DATA, A_SHAPE, A_STRIDES, C_RECORD, C_SENTINEL, CONTEXT, DOUBLE, H_NEXT, H_PREV, HEADER,
    INT8, INT32, INT64, PTR, RECORD, R, STATUS_OK)
from adjit.backend.llvm.entry import _argument_array
from adjit.backend.llvm.runtime import (
    counted_loop, field_ptr, i64, load_field, stack_alloc, store_field)
from adjit.backend.ptx.arena import ArenaRuntime, global_thread_index, special_register
from adjit.ir.core import Function
from adjit.ir.types import BOOL, F64, I64, ArrayType

ERROR_WORDS = 8
E_FLAG, E_SITE, E_PAYLOAD0, E_POINT = 0, 1, 2, 6
SHAPE_MISMATCH = ("array result {0} of a point has shape {1}, the output expects {2}: "
                  "a GPU kernel needs every point's array results to have one shape")


def output_descriptor(ndim: int) -> ir.LiteralStructType:
    """{ptr data, [N x i64] shape}: where array results of all points go."""
    return ir.LiteralStructType([PTR, ir.ArrayType(INT64, ndim)])


def kernel_name(fn: Function) -> str:
    """`<name>_kernel`, with characters PTX names cannot hold as `_`
    (`f.grad` -> `f_grad_kernel`)."""
    return re.sub(r"\W", "_", fn.name) + "_kernel"


def define_kernel(ml, fn: Function) -> str:
    """Define the kernel of `fn` in `ml.llmod`; returns its name."""
    runtime: ArenaRuntime = ml.runtime
    scalar_types = {F64: DOUBLE, I64: INT64, BOOL: INT8}
    ftype = ir.FunctionType(ir.VoidType(), [INT64] + [PTR] * (
        len(fn.params) + len(fn.result_types)) + [PTR])
    kernel = ir.Function(ml.llmod, ftype, kernel_name(fn))
    kernel.calling_convention = "ptx_kernel"
    n, *rest = kernel.args
    inputs, outputs, err = rest[:len(fn.params)], rest[len(fn.params):-1], rest[-1]
    b = ir.IRBuilder(kernel.append_basic_block("entry"))
    record = stack_alloc(b, RECORD, "record")
    ctx = stack_alloc(b, CONTEXT, "ctx")
    start = global_thread_index(ml.llmod, b)
    stride = b.mul(special_register(ml.llmod, b, "nctaid.x"),
                   special_register(ml.llmod, b, "ntid.x"))
    entry_block = b.block
    head = kernel.append_basic_block("point.head")
    body = kernel.append_basic_block("point.body")
    failed = kernel.append_basic_block("point.failed")
    done = kernel.append_basic_block("done")
    b.branch(head)
    b.position_at_end(head)
    point = b.phi(INT64, name="point")
    point.add_incoming(start, entry_block)
    b.cbranch(b.icmp_signed("<", point, n), body, done)

    b.position_at_end(body)
    runtime.reset(b)
    store_field(b, CONTEXT, ctx, C_RECORD, record)
    sentinel = field_ptr(b, CONTEXT, ctx, C_SENTINEL)
    for k in (H_PREV, H_NEXT):
        store_field(b, HEADER, sentinel, k, sentinel)
    values = [ctx]
    for param, arg in zip(fn.params, inputs):
        if isinstance(param.type, ArrayType):
            values.append(_argument_array(b, arg, param.type.ndim, writable=False))
            continue
        element = scalar_types[param.type]
        x = b.load(b.gep(arg, [point], source_etype=element), typ=element)
        values.append(b.icmp_unsigned("!=", x, ir.Constant(INT8, 0)) if param.type == BOOL
                      else x)
    out = b.call(ml.functions[fn.name], values)
    status = b.extract_value(out, 0)
    ok = kernel.append_basic_block("point.ok")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(INT32, STATUS_OK)), failed, ok)
    b.position_at_end(ok)
    for k, (t, ptr) in enumerate(zip(fn.result_types, outputs)):
        value = b.extract_value(out, k + 1)
        if isinstance(t, ArrayType):
            _store_array(ml, fn, b, record, value, t.ndim, ptr, point, k, failed)
        elif t == BOOL:
            b.store(b.zext(value, INT8), b.gep(ptr, [point], source_etype=INT8))
        else:
            b.store(value, b.gep(ptr, [point], source_etype=scalar_types[t]))
    point.add_incoming(b.add(point, stride), b.block)
    b.branch(head)

    b.position_at_end(failed)
    flag = b.gep(err, [i64(E_FLAG)], source_etype=INT64)
    won = b.cmpxchg(flag, i64(0), i64(1), "monotonic", "monotonic")
    with b.if_then(b.extract_value(won, 1)):
        fields = [(E_SITE, "site")] + [(E_PAYLOAD0 + j, f"payload{j}") for j in range(4)]
        for word, name in fields:
            b.store(load_field(b, RECORD, record, R[name]),
                    b.gep(err, [i64(word)], source_etype=INT64))
        b.store(point, b.gep(err, [i64(E_POINT)], source_etype=INT64))
    b.branch(done)
    b.position_at_end(done)
    b.ret_void()
    return kernel.name


def _store_array(ml, fn: Function, b: ir.IRBuilder, record: ir.Value, value: ir.Value,
                 ndim: int, descriptor: ir.Value, point: ir.Value, k: int,
                 failed: ir.Block) -> None:
    """Copy array result `k` of this point into its slot of the output buffer,
    or fail with a ValueError when its shape differs from the output's."""
    desc_t = output_descriptor(ndim)
    shape = [b.extract_value(value, [A_SHAPE, d]) for d in range(ndim)]
    expected = [b.load(b.gep(descriptor, [ir.Constant(INT32, 0), ir.Constant(INT32, 1),
                                          ir.Constant(INT32, d)], source_etype=desc_t),
                       typ=INT64) for d in range(ndim)]
    differs = ir.Constant(ir.IntType(1), 0)
    for got, want in zip(shape, expected):
        differs = b.or_(differs, b.icmp_signed("!=", got, want))
    names = [f"({{{j}}},)" if ndim == 1 else f"({{{j}}}, {{{j + 1}}})" for j in (0, ndim)]
    template = SHAPE_MISMATCH.format(k, names[0], names[1])
    site = ml.sites.add(ValueError, template, fn.source, fn.span)
    mismatch = ml.llmod.globals[kernel_name(fn)].append_basic_block("shape.mismatch")
    go_on = ml.llmod.globals[kernel_name(fn)].append_basic_block("shape.ok")
    b.cbranch(differs, mismatch, go_on)
    b.position_at_end(mismatch)
    store_field(b, RECORD, record, R["site"], i64(site))
    for j, v in enumerate(shape + expected):
        store_field(b, RECORD, record, R[f"payload{j}"], v)
    b.branch(failed)
    b.position_at_end(go_on)

    count = shape[0] if ndim == 1 else b.mul(shape[0], shape[1])
    data = load_field(b, desc_t, descriptor, 0)
    slot = b.gep(data, [b.mul(point, count)], source_etype=DOUBLE)
    src = b.extract_value(value, A_DATA)
    strides = [b.extract_value(value, [A_STRIDES, d]) for d in range(ndim)]
    if ndim == 1:
        with counted_loop(b, shape[0], "out") as i:
            at = b.gep(src, [b.mul(i, strides[0])], source_etype=INT8)
            b.store(b.load(at, typ=DOUBLE), b.gep(slot, [i], source_etype=DOUBLE))
        return
    with counted_loop(b, shape[0], "out.rows") as i:
        row = b.gep(src, [b.mul(i, strides[0])], source_etype=INT8)
        out_row = b.gep(slot, [b.mul(i, shape[1])], source_etype=DOUBLE)
        with counted_loop(b, shape[1], "out.cols") as j:
            at = b.gep(row, [b.mul(j, strides[1])], source_etype=INT8)
            b.store(b.load(at, typ=DOUBLE), b.gep(out_row, [j], source_etype=DOUBLE))

