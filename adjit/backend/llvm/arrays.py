"""Lowerings of the array ops: `array_new`, `array_get`, `array_set`,
`array_dim`.

Indices follow Python: a negative index counts from the end (an index
known not to be negative skips that, see `nonnegative_values`); anything
else outside the dimension raises IndexError with numpy's message (unless
boundscheck=False; reverse mode's `checked_before` accesses never raise,
see `FunctionLowering.raise_if`). `array_new` allocates a C-contiguous block (calloc for
zeros, malloc for empty, malloc and a fill loop for ones). `array_set`
writes in place when it consumes the only reference to its operand (see
`ownership.py`) and copies otherwise.
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import (
    A_DATA, A_HEADER, A_SHAPE, A_STRIDES, BIT, DOUBLE, H_REFCOUNT, HEADER, HEADER_SIZE, INT8,
    PTR, array_type)
from adjit.backend.llvm.registry import lowers
from adjit.backend.llvm.runtime import counted_loop, i64, load_field
from adjit.backend.llvm.runtime_checks import MESSAGES, index_message, shapes_message
from adjit.backend.llvm.scalar import f64
from adjit.ir import ops
from adjit.ir.builder import constant_value
from adjit.ir.core import Function, Value


def _null(fl, p: ir.Value) -> ir.Value:
    return fl.b.icmp_unsigned("==", p, ir.Constant(PTR, None))


@lowers(ops.array_new)
def _array_new(fl, node, dims):
    b = fl.b
    ndim = len(dims)
    for d in dims:
        fl.raise_if(b.icmp_signed("<", d, i64(0)), ValueError, MESSAGES["negative_dims"])
    count, overflow = dims[0], ir.Constant(BIT, 0)
    if ndim == 2:
        both = b.smul_with_overflow(dims[0], dims[1])
        count, overflow = b.extract_value(both, 0), b.extract_value(both, 1)
    scaled = b.smul_with_overflow(count, i64(8))
    nbytes = b.extract_value(scaled, 0)
    fl.raise_if(b.or_(overflow, b.extract_value(scaled, 1)), ValueError, MESSAGES["too_big"])
    zero = ir.Constant(BIT, int(node.attrs["fill"] == "zeros"))
    header = b.call(fl.ml.runtime.alloc(), [fl.ctx, nbytes, zero])
    fl.raise_if(_null(fl, header), MemoryError, MESSAGES["no_memory"], [nbytes])
    data = b.gep(header, [i64(HEADER_SIZE)], inbounds=True, source_etype=INT8)
    if node.attrs["fill"] == "ones":
        with counted_loop(b, count, "fill") as k:
            b.store(f64(1.0), b.gep(data, [k], inbounds=True, source_etype=DOUBLE))
    strides = [i64(8)] if ndim == 1 else [b.mul(dims[1], i64(8)), i64(8)]
    out = ir.Constant(array_type(ndim), ir.Undefined)
    out = b.insert_value(out, data, A_DATA)
    for d in range(ndim):
        out = b.insert_value(out, dims[d], [A_SHAPE, d])
        out = b.insert_value(out, strides[d], [A_STRIDES, d])
    return [b.insert_value(out, header, A_HEADER)]


def nonnegative_values(fn: Function) -> set[Value]:
    """Integer values of `fn` that are never negative, so indexing with them
    needs no count-from-the-end fixup: non-negative constants, dimensions,
    `max` with one of those, and the index of a `range` loop that counts up
    from one of those or down to a stop of at least -1 (reverse mode's
    loops). LLVM cannot prove the last: the loop counts its trips apart."""
    known: set[Value] = set()

    def nonnegative(v: Value, floor: int = 0) -> bool:
        value = constant_value(v)
        return (value >= floor) if isinstance(value, int) else v in known

    for node in fn.body.walk():
        if node.op is ops.array_dim or (node.op is ops.const and nonnegative(node.result)):
            known.add(node.result)
        elif node.op is ops.max_ and any(nonnegative(v) for v in node.operands):
            known.add(node.result)
        elif node.op is ops.for_:
            start, stop, step = node.operands[:3]
            step_value = constant_value(step)
            if isinstance(step_value, int) and (
                    (step_value > 0 and nonnegative(start))
                    or (step_value < 0 and nonnegative(stop, floor=-1))):
                known.add(node.regions[0].args[0])
    return known


def normalize_indices(fl, array: ir.Value, indices: list[ir.Value], node) -> list[ir.Value]:
    """Python's negative indices (but not for indices known not to be
    negative), and numpy's IndexError when out of range."""
    b = fl.b
    out = []
    for axis, index in enumerate(indices):
        size = b.extract_value(array, [A_SHAPE, axis])
        fixed = index
        if node.operands[1 + axis] not in fl.nonnegative:
            fixed = b.select(b.icmp_signed("<", index, i64(0)), b.add(index, size), index)
        if fl.options.boundscheck:
            fl.raise_if(b.icmp_unsigned(">=", fixed, size), IndexError, index_message(axis),
                        [index, size])
        out.append(fixed)
    return out


def with_contiguous_strides(b: ir.IRBuilder, array: ir.Value, ndim: int) -> ir.Value:
    """`array` with the strides of a C-contiguous array of its shape, computed
    here rather than read, so that LLVM knows them (`Options.contiguous`)."""
    stride = i64(8)
    for axis in reversed(range(ndim)):
        array = b.insert_value(array, stride, [A_STRIDES, axis])
        stride = b.mul(stride, b.extract_value(array, [A_SHAPE, axis]), flags=["nsw"])
    return array


def element_pointer(fl, array: ir.Value, indices: list[ir.Value]) -> ir.Value:
    """The address of an element, from normalized indices and byte strides.

    Strides are whole elements (the wrapper copies arrays whose strides are
    not multiples of 8): counting in elements lets LLVM recognize unit
    strides and vectorize."""
    b = fl.b
    offset = i64(0)
    for axis, index in enumerate(indices):
        stride = b.ashr(b.extract_value(array, [A_STRIDES, axis]), i64(3), flags=["exact"])
        offset = b.add(offset, b.mul(index, stride))
    return b.gep(b.extract_value(array, A_DATA), [offset], inbounds=True, source_etype=DOUBLE)


@lowers(ops.array_get)
def _array_get(fl, node, args):
    array, *indices = args
    at = element_pointer(fl, array, normalize_indices(fl, array, indices, node))
    return [fl.b.load(at, typ=DOUBLE)]


def copy_array(fl, array: ir.Value, ndim: int) -> ir.Value:
    copied = fl.b.call(fl.ml.runtime.copy(ndim), [fl.ctx, array])
    nbytes = fl.b.mul(fl.b.extract_value(copied, [A_SHAPE, 0]), i64(8))
    if ndim == 2:
        nbytes = fl.b.mul(nbytes, fl.b.extract_value(copied, [A_SHAPE, 1]))
    fl.raise_if(_null(fl, fl.b.extract_value(copied, A_DATA)), MemoryError,
                MESSAGES["no_memory"], [nbytes])
    return copied


def writable(fl, node, array: ir.Value, ndim: int) -> ir.Value:
    """The array `node` may write into: `array` itself when the node holds its
    only reference, else a fresh copy (see ownership.py)."""
    b = fl.b
    if node in fl.plan.copying:
        return copy_array(fl, array, ndim)
    if node.operands[0] in fl.plan.unique:
        return array
    header = b.extract_value(array, A_HEADER)
    shared = b.icmp_signed("!=", load_field(b, HEADER, header, H_REFCOUNT), i64(1))
    here = b.block
    with b.if_then(shared, likely=False):
        copied = copy_array(fl, array, ndim)
        fl.release(header)
        copied_block = b.block
    target = b.phi(array.type, name="target")
    target.add_incoming(array, here)
    target.add_incoming(copied, copied_block)
    return target


@lowers(ops.array_set)
def _array_set(fl, node, args):
    array, *indices, value = args
    indices = normalize_indices(fl, array, indices, node)
    target = writable(fl, node, array, len(indices))
    fl.b.store(value, element_pointer(fl, target, indices))
    return [target]


@lowers(ops.array_add_at)
def _array_add_at(fl, node, args):
    array, *indices, value = args
    indices = normalize_indices(fl, array, indices, node)
    target = writable(fl, node, array, len(indices))
    at = element_pointer(fl, target, indices)
    fl.b.store(fl.b.fadd(fl.b.load(at, typ=DOUBLE), value, flags=fl.fm), at)
    return [target]


@lowers(ops.array_add)
def _array_add(fl, node, args):
    x, y = args
    b = fl.b
    ndim = node.operands[0].type.ndim
    shape_x = [b.extract_value(x, [A_SHAPE, d]) for d in range(ndim)]
    shape_y = [b.extract_value(y, [A_SHAPE, d]) for d in range(ndim)]
    differ = ir.Constant(BIT, 0)
    for dx, dy in zip(shape_x, shape_y):
        differ = b.or_(differ, b.icmp_signed("!=", dx, dy))
    fl.raise_if(differ, ValueError, shapes_message(ndim), shape_x + shape_y)
    target = writable(fl, node, x, ndim)

    def add_at(indices):
        at = element_pointer(fl, target, indices)
        other = b.load(element_pointer(fl, y, indices), typ=DOUBLE)
        b.store(b.fadd(b.load(at, typ=DOUBLE), other, flags=fl.fm), at)

    with counted_loop(b, shape_x[0], "add") as i:
        if ndim == 1:
            add_at([i])
        else:
            with counted_loop(b, shape_x[1], "add.cols") as j:
                add_at([i, j])
    return [target]


@lowers(ops.array_dim)
def _array_dim(fl, node, args):
    return [fl.b.extract_value(args[0], [A_SHAPE, node.attrs["axis"]])]
