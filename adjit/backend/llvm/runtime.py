"""Run-time helpers emitted into every module as internal LLVM functions:
allocation of array blocks, reference release, copies, and freeing all
blocks of a call. No global state: everything hangs off the call's context.

Block layout (abi.py): a `Header` {refcount, flags, prev, next} followed
by the elements, allocated in one malloc/calloc. Live blocks form a doubly
linked list whose sentinel is in the context; `free_all` empties it after an
error (and after a successful call, where anything left is a leak that the
record counts and tests assert to be zero). The helpers also accept a null
context (the process-wide runtime module uses them on blocks Python owns):
nothing is linked or counted then.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from llvmlite import ir

from adjit.backend.llvm.abi import (
    A_DATA, A_HEADER, A_SHAPE, A_STRIDES, BIT, C_RECORD, C_SENTINEL, CONTEXT, DOUBLE, H_FLAGS,
    H_NEXT, H_PREV, H_REFCOUNT, HEADER, HEADER_SIZE, HF_EXTERNAL, HF_TAPE, INT8, INT32, INT64,
    PTR, RECORD, R, T_OPS, T_RECORDS, TAPE, TAPE_DROP, array_type, is_managed)
from adjit.ir.types import Type


def i64(v: int) -> ir.Constant:
    return ir.Constant(INT64, v)


def stack_alloc(b: ir.IRBuilder, typ: ir.Type, name: str = "") -> ir.Value:
    """An alloca typed as an opaque pointer (llvmlite types it `typ*`)."""
    slot = b.alloca(typ, name=name)
    slot.type = PTR
    return slot


def field_ptr(b: ir.IRBuilder, struct: ir.Type, ptr: ir.Value, k: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), k)],
                 inbounds=True, source_etype=struct)


def load_field(b: ir.IRBuilder, struct: ir.Type, ptr: ir.Value, k: int) -> ir.Value:
    return b.load(field_ptr(b, struct, ptr, k), typ=struct.elements[k])


def store_field(b: ir.IRBuilder, struct: ir.Type, ptr: ir.Value, k: int, value: ir.Value) -> None:
    b.store(value, field_ptr(b, struct, ptr, k))


def is_null(b: ir.IRBuilder, p: ir.Value) -> ir.Value:
    return b.icmp_unsigned("==", p, ir.Constant(PTR, None))


def bump_record(b: ir.IRBuilder, ctx: ir.Value, name: str) -> None:
    """Count one event in the call's record (nothing without a context)."""
    with b.if_then(b.not_(is_null(b, ctx))):
        record = load_field(b, CONTEXT, ctx, C_RECORD)
        slot = field_ptr(b, RECORD, record, R[name])
        b.store(b.add(b.load(slot, typ=INT64), i64(1)), slot)


def header_of(b: ir.IRBuilder, value: ir.Value, t: Type) -> ir.Value:
    """The header pointer of a managed value (an array or a tape)."""
    assert is_managed(t), t
    return b.extract_value(value, A_HEADER) if t.is_array else value


TAPE_OPS_TYPE = ir.FunctionType(ir.VoidType(), [PTR, PTR, INT32])


def call_tape_ops(b: ir.IRBuilder, ops_fn: ir.Value, ctx: ir.Value, tape: ir.Value,
                  op: int) -> None:
    """Call a tape's ops function through its (opaque) pointer."""
    # llvmlite calls only through typed function pointers; a bitcast between
    # pointer types would be folded away, so go through an integer.
    typed = b.inttoptr(b.ptrtoint(ops_fn, INT64), TAPE_OPS_TYPE.as_pointer())
    b.call(typed, [ctx, tape, ir.Constant(INT32, op)])


def has_flag(b: ir.IRBuilder, header: ir.Value, flag: int) -> ir.Value:
    flags = load_field(b, HEADER, header, H_FLAGS)
    return b.icmp_unsigned("!=", b.and_(flags, i64(flag)), i64(0))


@contextmanager
def counted_loop(b: ir.IRBuilder, n: ir.Value, name: str = "loop") -> Iterator[ir.Value]:
    """`for k in range(n)` (n >= 0); yields k, positioned in the body.
    After the `with`, the builder is positioned after the loop."""
    pre = b.block
    head = b.append_basic_block(f"{name}.head")
    body = b.append_basic_block(f"{name}.body")
    done = b.append_basic_block(f"{name}.done")
    b.branch(head)
    b.position_at_end(head)
    k = b.phi(INT64, name=f"{name}.k")
    k.add_incoming(i64(0), pre)
    b.cbranch(b.icmp_signed("<", k, n), body, done)
    b.position_at_end(body)
    yield k
    k.add_incoming(b.add(k, i64(1)), b.block)
    b.branch(head)
    b.position_at_end(done)


class Runtime:
    """Declares libc functions and defines the helpers in one LLVM module, once."""

    def __init__(self, module: ir.Module):
        self.module = module
        self._fns: dict[str, ir.Function] = {}

    def libc(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        return fn

    def define(self, name: str, ret: ir.Type, args: list[ir.Type],
                body: Callable[[ir.IRBuilder, ir.Function], None]) -> ir.Function:
        if name not in self._fns:
            fn = ir.Function(self.module, ir.FunctionType(ret, args), f"adjit.{name}")
            fn.linkage = "internal"
            body(ir.IRBuilder(fn.append_basic_block("entry")), fn)
            self._fns[name] = fn
        return self._fns[name]

    # --- allocation and release ---------------------------------------------------

    def alloc(self) -> ir.Function:
        """alloc(ctx, nbytes, zero) -> header, or null when out of memory."""

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            ctx, nbytes, zero = fn.args
            total = b.add(nbytes, i64(HEADER_SIZE))
            calloc = self.libc("calloc", PTR, [INT64, INT64])
            malloc = self.libc("malloc", PTR, [INT64])
            with b.if_else(zero) as (then, otherwise):
                with then:
                    zeroed = b.call(calloc, [i64(1), total])
                    zero_block = b.block
                with otherwise:
                    raw = b.call(malloc, [total])
                    raw_block = b.block
            h = b.phi(PTR)
            h.add_incoming(zeroed, zero_block)
            h.add_incoming(raw, raw_block)
            with b.if_then(is_null(b, h), likely=False):
                b.ret(h)
            store_field(b, HEADER, h, H_REFCOUNT, i64(1))
            store_field(b, HEADER, h, H_FLAGS, i64(0))
            store_field(b, HEADER, h, H_PREV, h)
            store_field(b, HEADER, h, H_NEXT, h)
            b.call(self.link(), [ctx, h])
            bump_record(b, ctx, "allocs")
            b.ret(h)

        return self.define("alloc", PTR, [PTR, INT64, BIT], body)

    def link(self) -> ir.Function:
        """Put an unlinked block on the context's live list (no-op without a context)."""

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            ctx, h = fn.args
            with b.if_then(is_null(b, ctx)):
                b.ret_void()
            sentinel = field_ptr(b, CONTEXT, ctx, C_SENTINEL)
            nxt = load_field(b, HEADER, sentinel, H_NEXT)
            store_field(b, HEADER, h, H_PREV, sentinel)
            store_field(b, HEADER, h, H_NEXT, nxt)
            store_field(b, HEADER, nxt, H_PREV, h)
            store_field(b, HEADER, sentinel, H_NEXT, h)
            b.ret_void()

        return self.define("link", ir.VoidType(), [PTR, PTR], body)

    def unlink(self) -> ir.Function:
        """Remove a block from the live list (idempotent: it then points to itself)."""

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            h = fn.args[0]
            prev = load_field(b, HEADER, h, H_PREV)
            nxt = load_field(b, HEADER, h, H_NEXT)
            store_field(b, HEADER, prev, H_NEXT, nxt)
            store_field(b, HEADER, nxt, H_PREV, prev)
            store_field(b, HEADER, h, H_PREV, h)
            store_field(b, HEADER, h, H_NEXT, h)
            b.ret_void()

        return self.define("unlink", ir.VoidType(), [PTR], body)

    def release(self) -> ir.Function:
        """release(ctx, header): drop one reference; free the block at zero."""

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            ctx, h = fn.args
            count = b.sub(load_field(b, HEADER, h, H_REFCOUNT), i64(1))
            store_field(b, HEADER, h, H_REFCOUNT, count)
            live = b.or_(b.icmp_signed("!=", count, i64(0)), has_flag(b, h, HF_EXTERNAL))
            with b.if_then(live):
                b.ret_void()
            free = self.libc("free", ir.VoidType(), [PTR])
            with b.if_then(has_flag(b, h, HF_TAPE)):
                ops = load_field(b, TAPE, h, T_OPS)
                with b.if_then(b.not_(is_null(b, ops))):
                    call_tape_ops(b, ops, ctx, h, TAPE_DROP)
                b.call(free, [load_field(b, TAPE, h, T_RECORDS)])
            b.call(self.unlink(), [h])
            b.call(free, [h])
            bump_record(b, ctx, "frees")
            b.ret_void()

        return self.define("release", ir.VoidType(), [PTR, PTR], body)

    def free_all(self) -> ir.Function:
        """Free every block still on the context's live list (the references
        they hold are on it too, or belong to the caller); returns how many."""

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            ctx = fn.args[0]
            sentinel = field_ptr(b, CONTEXT, ctx, C_SENTINEL)
            first = load_field(b, HEADER, sentinel, H_NEXT)
            entry = b.block
            head = b.append_basic_block("head")
            step = b.append_basic_block("step")
            done = b.append_basic_block("done")
            b.branch(head)
            b.position_at_end(head)
            h = b.phi(PTR)
            count = b.phi(INT64)
            h.add_incoming(first, entry)
            count.add_incoming(i64(0), entry)
            b.cbranch(b.icmp_unsigned("==", h, sentinel), done, step)
            b.position_at_end(step)
            nxt = load_field(b, HEADER, h, H_NEXT)
            free = self.libc("free", ir.VoidType(), [PTR])
            with b.if_then(has_flag(b, h, HF_TAPE)):
                b.call(free, [load_field(b, TAPE, h, T_RECORDS)])
            b.call(free, [h])
            h.add_incoming(nxt, b.block)
            count.add_incoming(b.add(count, i64(1)), b.block)
            b.branch(head)
            b.position_at_end(done)
            store_field(b, HEADER, sentinel, H_NEXT, sentinel)
            store_field(b, HEADER, sentinel, H_PREV, sentinel)
            b.ret(count)

        return self.define("free_all", INT64, [PTR], body)

    # --- copies -----------------------------------------------------------------------

    def copy(self, ndim: int) -> ir.Function:
        """copy(ctx, array) -> a C-contiguous copy (data null when out of memory)."""
        arr_t = array_type(ndim)

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            ctx, src = fn.args
            shape = [b.extract_value(src, [A_SHAPE, d]) for d in range(ndim)]
            strides = [b.extract_value(src, [A_STRIDES, d]) for d in range(ndim)]
            count = shape[0] if ndim == 1 else b.mul(shape[0], shape[1])
            nbytes = b.mul(count, i64(8))
            h = b.call(self.alloc(), [ctx, nbytes, ir.Constant(BIT, 0)])
            with b.if_then(b.icmp_unsigned("==", h, ir.Constant(PTR, None)), likely=False):
                b.ret(b.insert_value(src, ir.Constant(PTR, None), A_DATA))
            bump_record(b, ctx, "copies")
            dst = b.gep(h, [i64(HEADER_SIZE)], inbounds=True, source_etype=INT8)
            data = b.extract_value(src, A_DATA)
            contiguous_strides = [i64(8)] if ndim == 1 else [b.mul(shape[1], i64(8)), i64(8)]
            contiguous = ir.Constant(BIT, 1)
            for d in range(ndim):
                # A dimension of size 1 may have any stride.
                ok = b.or_(b.icmp_signed("==", strides[d], contiguous_strides[d]),
                           b.icmp_signed("<=", shape[d], i64(1)))
                contiguous = b.and_(contiguous, ok)
            with b.if_else(contiguous) as (fast, slow):
                with fast:
                    memcpy = self.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, INT64])
                    b.call(memcpy, [dst, data, nbytes, ir.Constant(BIT, 0)])
                with slow:
                    self._strided_copy(b, data, dst, shape, strides)
            out = ir.Constant(arr_t, ir.Undefined)
            out = b.insert_value(out, dst, A_DATA)
            for d in range(ndim):
                out = b.insert_value(out, shape[d], [A_SHAPE, d])
                out = b.insert_value(out, contiguous_strides[d], [A_STRIDES, d])
            b.ret(b.insert_value(out, h, A_HEADER))

        return self.define(f"copy{ndim}", arr_t, [PTR, arr_t], body)

    @staticmethod
    def _strided_copy(b: ir.IRBuilder, src: ir.Value, dst: ir.Value, shape: list[ir.Value],
                      strides: list[ir.Value]) -> None:
        if len(shape) == 1:
            with counted_loop(b, shape[0], "copy") as i:
                at = b.gep(src, [b.mul(i, strides[0])], source_etype=INT8)
                b.store(b.load(at, typ=DOUBLE), b.gep(dst, [i], source_etype=DOUBLE))
            return
        with counted_loop(b, shape[0], "copy.rows") as i:
            row = b.gep(src, [b.mul(i, strides[0])], source_etype=INT8)
            out_row = b.gep(dst, [b.mul(i, shape[1])], source_etype=DOUBLE)
            with counted_loop(b, shape[1], "copy.cols") as j:
                at = b.gep(row, [b.mul(j, strides[1])], source_etype=INT8)
                b.store(b.load(at, typ=DOUBLE), b.gep(out_row, [j], source_etype=DOUBLE))
