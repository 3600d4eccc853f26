"""Tapes: the per-loop stacks of reverse mode, as heap blocks.

A tape value is a pointer to a tape block (abi.TAPE): a header (so tapes are
reference counted and linked like arrays), the record count and capacity,
and a separate malloc'd array of records, each an LLVM struct of the
record's field values. `tape_new(n)` reserves n records (n = 0: unknown,
the buffer then grows geometrically on push); `tape_push` appends in place
and `tape_pop` removes the last record: the IR uses each tape value exactly
once, so the block is updated in place, as the interpreter does.

References in records: pushing an array (or tape) moves its reference into
the tape, popping moves it out. Each tape type gets an `ops` function,
specialized to its record type, that the runtime calls through the block's
`ops` pointer: TAPE_DROP releases what the records hold (when the tape dies),
TAPE_DUP adds a reference to each (a copy of the tape), TAPE_ESCAPE prepares
a tape that leaves the call for Python: arrays whose memory belongs to the
caller (external headers, on the entry's stack) are replaced by private
copies, and every block the tape reaches is unlinked from the call's live
list, so that Python owns it.

Growth is bounded: a tape whose records would exceed `max_tape_bytes`
(adjit/config.py, read from the environment by `tape_limit_exceeded`, only
when a tape grows beyond 64 KiB) raises MemoryError, as does a failed
malloc; the error exit frees the call's tapes.
"""
from __future__ import annotations

from llvmlite import ir

from adjit import config
from adjit.backend.llvm.abi import (
    A_HEADER, BIT, H_REFCOUNT, HEADER, HF_EXTERNAL, HF_TAPE, H_FLAGS, INT8, INT32, INT64, PTR,
    T_CAPACITY, T_COUNT, T_OPS, T_RECORD_SIZE, T_RECORDS, TAPE, TAPE_DROP, TAPE_DUP,
    TAPE_ESCAPE, is_managed, value_type)
from adjit.backend.llvm.registry import lowers
from adjit.backend.llvm.runtime import (
    Runtime, call_tape_ops, counted_loop, field_ptr, has_flag, header_of, i64, is_null,
    load_field, store_field)
from adjit.backend.llvm.runtime_checks import MESSAGES
from adjit.errors import AdjitError
from adjit.ir import ops
from adjit.ir.types import TapeType

EMPTY_TAPE = "pop from an empty tape"
TAPE_TOO_BIG = ("a tape of {0} bytes for a loop of {function} exceeds max_tape_bytes = {1}: "
                "raise it with adjit.config.set_max_tape_bytes(n) or ADJIT_MAX_TAPE_BYTES=n")
MIN_CAPACITY = 8


def record_type(t: TapeType) -> ir.LiteralStructType:
    return ir.LiteralStructType([value_type(e) for e in t.elements])


def sizeof(b: ir.IRBuilder, typ: ir.Type) -> ir.Value:
    end = b.gep(ir.Constant(PTR, None), [i64(1)], source_etype=typ)
    return b.ptrtoint(end, INT64)


def tape_alloc(runtime: Runtime) -> ir.Function:
    """tape_alloc(ctx, capacity, record_size, ops) -> tape, or null when out of memory."""

    def body(b: ir.IRBuilder, fn: ir.Function) -> None:
        ctx, capacity, size, ops_fn = fn.args
        malloc = runtime.libc("malloc", PTR, [INT64])
        t = b.call(malloc, [sizeof(b, TAPE)])
        with b.if_then(is_null(b, t), likely=False):
            b.ret(t)
        records = b.select(b.icmp_signed(">", capacity, i64(0)),
                           b.call(malloc, [b.mul(capacity, size)]), ir.Constant(PTR, None))
        failed = b.and_(is_null(b, records), b.icmp_signed(">", capacity, i64(0)))
        with b.if_then(failed, likely=False):
            b.call(runtime.libc("free", ir.VoidType(), [PTR]), [t])
            b.ret(ir.Constant(PTR, None))
        header = field_ptr(b, TAPE, t, 0)
        for k, v in ((H_REFCOUNT, i64(1)), (H_FLAGS, i64(HF_TAPE))):
            store_field(b, HEADER, header, k, v)
        for k in (2, 3):  # prev, next: unlinked
            store_field(b, HEADER, header, k, t)
        b.call(runtime.link(), [ctx, t])
        for k, v in ((T_COUNT, i64(0)), (T_CAPACITY, capacity), (T_RECORDS, records),
                     (T_RECORD_SIZE, size), (T_OPS, ops_fn)):
            store_field(b, TAPE, t, k, v)
        b.ret(t)

    return runtime.define("tape_alloc", PTR, [PTR, INT64, INT64, PTR], body)


def tape_limit_exceeded(runtime: Runtime) -> ir.Function:
    """tape_limit_exceeded(count, record_size) -> 0 when `count` records fit
    in max_tape_bytes, else the limit. Reads the environment only for tapes
    beyond UNCHECKED_TAPE_BYTES; an unset or unparsable variable gives the
    default (Python's adjit.config reports a bad value when it compiles)."""

    def body(b: ir.IRBuilder, fn: ir.Function) -> None:
        count, size = fn.args
        size = b.select(b.icmp_signed(">", size, i64(0)), size, i64(1))  # records of nothing
        small = b.sdiv(i64(config.UNCHECKED_TAPE_BYTES), size)
        with b.if_then(b.icmp_signed("<=", count, small)):
            b.ret(i64(0))
        name = bytearray(config.MAX_TAPE_BYTES_ENV.encode()) + b"\x00"
        text = ir.GlobalVariable(fn.module, ir.ArrayType(INT8, len(name)),
                                 "adjit.max_tape_bytes_env")
        text.global_constant = True
        text.linkage = "private"
        text.initializer = ir.Constant(text.value_type, name)
        value = b.call(runtime.libc("getenv", PTR, [PTR]), [text])
        default = i64(config.DEFAULT_MAX_TAPE_BYTES)

        def exceeded(limit: ir.Value) -> None:
            b.ret(b.select(b.icmp_signed(">", count, b.sdiv(limit, size)), limit, i64(0)))

        with b.if_then(is_null(b, value)):
            exceeded(default)
        parsed = b.call(runtime.libc("strtoll", INT64, [PTR, PTR, INT32]),
                        [value, ir.Constant(PTR, None), ir.Constant(INT32, 10)])
        exceeded(b.select(b.icmp_signed(">", parsed, i64(0)), parsed, default))

    return runtime.define("tape_limit_exceeded", INT64, [INT64, INT64], body)


def check_tape_size(fl, count: ir.Value, size: ir.Value) -> None:
    """MemoryError at the current node when `count` records of `size` bytes
    exceed max_tape_bytes."""
    try:
        config.max_tape_bytes()
    except ValueError as exc:  # a bad ADJIT_MAX_TAPE_BYTES, at the loop that needs it
        span = fl.node_now.span if fl.node_now else None
        raise AdjitError(str(exc), fl.source, span) from None
    limit = fl.b.call(tape_limit_exceeded(fl.ml.runtime), [count, size])
    fl.raise_if(fl.b.icmp_signed("!=", limit, i64(0)), MemoryError,
                TAPE_TOO_BIG.replace("{function}", fl.fn.name), [fl.b.mul(count, size), limit])


def tape_ops(runtime: Runtime, t: TapeType) -> ir.Value:
    """The ops function of tapes of type `t` (null when records hold no references)."""
    managed = [(k, e) for k, e in enumerate(t.elements) if is_managed(e)]
    if not managed:
        return ir.Constant(PTR, None)
    rec_t = record_type(t)
    name = "tape_ops." + "_".join(str(e) for e in t.elements).replace("<", "(").replace(">", ")")

    def body(b: ir.IRBuilder, fn: ir.Function) -> None:
        ctx, tape, op = fn.args
        count = load_field(b, TAPE, tape, T_COUNT)
        records = load_field(b, TAPE, tape, T_RECORDS)
        done = fn.append_basic_block("done")
        switch = b.switch(op, done)
        for code, action in ((TAPE_DROP, _drop), (TAPE_DUP, _dup), (TAPE_ESCAPE, _escape)):
            block = fn.append_basic_block(f"op{code}")
            switch.add_case(ir.Constant(INT32, code), block)
            b.position_at_end(block)
            with counted_loop(b, count, "records") as r:
                record = b.gep(records, [r], source_etype=rec_t)
                for k, e in managed:
                    slot = b.gep(record, [ir.Constant(INT32, 0), ir.Constant(INT32, k)],
                                 source_etype=rec_t)
                    action(b, runtime, ctx, slot, e)
            b.branch(done)
        b.position_at_end(done)
        b.ret_void()

    return runtime.define(name, ir.VoidType(), [PTR, PTR, INT32], body)


def _drop(b, runtime, ctx, slot, t) -> None:
    value = b.load(slot, typ=value_type(t))
    b.call(runtime.release(), [ctx, header_of(b, value, t)])


def _dup(b, runtime, ctx, slot, t) -> None:
    header = header_of(b, b.load(slot, typ=value_type(t)), t)
    count = field_ptr(b, HEADER, header, H_REFCOUNT)
    b.store(b.add(b.load(count, typ=INT64), i64(1)), count)


def _escape(b, runtime, ctx, slot, t) -> None:
    value = b.load(slot, typ=value_type(t))
    if isinstance(t, TapeType):
        escape_tape(b, runtime, ctx, value)
        return
    header = b.extract_value(value, A_HEADER)
    with b.if_then(has_flag(b, header, HF_EXTERNAL)):
        copied = b.call(runtime.copy(t.ndim), [ctx, value])
        # Out of memory: keep the caller's array (valid while the caller keeps it).
        with b.if_then(b.not_(is_null(b, b.extract_value(copied, 0)))):
            b.store(copied, slot)
            b.call(runtime.release(), [ctx, header])
    b.call(runtime.unlink(), [b.extract_value(b.load(slot, typ=value_type(t)), A_HEADER)])


def escape_tape(b: ir.IRBuilder, runtime: Runtime, ctx: ir.Value, tape: ir.Value) -> None:
    """Hand a tape and everything it holds over to the caller (see module doc)."""
    ops_fn = load_field(b, TAPE, tape, T_OPS)
    with b.if_then(b.not_(is_null(b, ops_fn))):
        call_tape_ops(b, ops_fn, ctx, tape, TAPE_ESCAPE)
    b.call(runtime.unlink(), [tape])


def tape_copy(runtime: Runtime) -> ir.Function:
    """tape_copy(tape) -> an independent tape with the same records (null: out of memory)."""

    def body(b: ir.IRBuilder, fn: ir.Function) -> None:
        (src,) = fn.args
        count = load_field(b, TAPE, src, T_COUNT)
        size = load_field(b, TAPE, src, T_RECORD_SIZE)
        ops_fn = load_field(b, TAPE, src, T_OPS)
        null = ir.Constant(PTR, None)
        t = b.call(tape_alloc(runtime), [null, count, size, ops_fn])
        with b.if_then(is_null(b, t), likely=False):
            b.ret(t)
        memcpy = runtime.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, INT64])
        b.call(memcpy, [load_field(b, TAPE, t, T_RECORDS), load_field(b, TAPE, src, T_RECORDS),
                        b.mul(count, size), ir.Constant(BIT, 0)])
        store_field(b, TAPE, t, T_COUNT, count)
        with b.if_then(b.not_(is_null(b, ops_fn))):
            call_tape_ops(b, ops_fn, null, t, TAPE_DUP)
        b.ret(t)

    return runtime.define("tape_copy", PTR, [PTR], body)


# --- lowerings ------------------------------------------------------------------------------

@lowers(ops.tape_new)
def _tape_new(fl, node, args):
    b = fl.b
    t = node.results[0].type
    capacity = b.select(b.icmp_signed(">", args[0], i64(0)), args[0], i64(0))
    size = sizeof(b, record_type(t))
    check_tape_size(fl, capacity, size)
    tape = b.call(tape_alloc(fl.ml.runtime),
                  [fl.ctx, capacity, size, tape_ops(fl.ml.runtime, t)])
    fl.raise_if(is_null(b, tape), MemoryError, MESSAGES["no_memory"], [b.mul(capacity, size)])
    return [tape]


@lowers(ops.tape_push)
def _tape_push(fl, node, args):
    b = fl.b
    tape, *fields = args
    rec_t = record_type(node.operands[0].type)
    count = load_field(b, TAPE, tape, T_COUNT)
    capacity = load_field(b, TAPE, tape, T_CAPACITY)
    with b.if_then(b.icmp_signed("==", count, capacity), likely=False):
        grown = b.select(b.icmp_signed("<", capacity, i64(MIN_CAPACITY // 2)),
                         i64(MIN_CAPACITY), b.mul(capacity, i64(2)))
        check_tape_size(fl, grown, sizeof(b, rec_t))
        nbytes = b.mul(grown, sizeof(b, rec_t))
        realloc = fl.ml.runtime.libc("realloc", PTR, [PTR, INT64])
        records = b.call(realloc, [load_field(b, TAPE, tape, T_RECORDS), nbytes])
        fl.raise_if(is_null(b, records), MemoryError, MESSAGES["no_memory"], [nbytes])
        store_field(b, TAPE, tape, T_RECORDS, records)
        store_field(b, TAPE, tape, T_CAPACITY, grown)
    record = ir.Constant(rec_t, ir.Undefined)
    for k, v in enumerate(fields):
        record = b.insert_value(record, v, k)
    slot = b.gep(load_field(b, TAPE, tape, T_RECORDS), [count], source_etype=rec_t)
    b.store(record, slot)
    store_field(b, TAPE, tape, T_COUNT, b.add(count, i64(1)))
    return [tape]


@lowers(ops.tape_pop)
def _tape_pop(fl, node, args):
    b = fl.b
    (tape,) = args
    rec_t = record_type(node.operands[0].type)
    count = load_field(b, TAPE, tape, T_COUNT)
    fl.raise_if(b.icmp_signed("==", count, i64(0)), IndexError, EMPTY_TAPE)
    last = b.sub(count, i64(1))
    store_field(b, TAPE, tape, T_COUNT, last)
    record = b.load(b.gep(load_field(b, TAPE, tape, T_RECORDS), [last], source_etype=rec_t),
                    typ=rec_t)
    return [tape] + [b.extract_value(record, k) for k in range(len(rec_t.elements))]
