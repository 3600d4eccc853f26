"""Memory for arrays and tapes inside GPU kernels, without malloc.

Each thread owns a slice of one device buffer, the *arena*: the module
global `adjit_arena` = {ptr base, i64 bytes per thread}, which the launcher
writes before each launch; thread g's slice starts at base + g * bytes.
The slice starts with the offset of its first free byte; blocks follow,
each behind a 16-byte prefix holding its size. The kernel empties the
slice before each point.

`ArenaRuntime` is the CPU runtime (`adjit.backend.llvm.runtime.Runtime`)
with its C library calls replaced by arena functions of the same
signatures: malloc and calloc bump the offset (null when the slice is full,
which compiled code reports as MemoryError), free gives back the last
block, realloc grows the last block in place or moves the block, getenv
finds nothing. All the
rest of the runtime (reference counts, the live list, copies, tapes) is
the CPU's, unchanged.
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import BIT, INT8, INT32, INT64, PTR
from adjit.backend.llvm.runtime import Runtime, i64, is_null
from adjit.errors import InternalError

ARENA_GLOBAL = "adjit_arena"
ARENA = ir.LiteralStructType([PTR, INT64])
BLOCK_PREFIX = 16  # bytes before each block: its size, padded to keep 16-byte alignment
SLICE_START = 16  # the slice's own prefix: the offset of its first free byte


def special_register(module: ir.Module, b: ir.IRBuilder, name: str) -> ir.Value:
    """A PTX special register (threadIdx.x, ...) as an i64."""
    symbol = f"llvm.nvvm.read.ptx.sreg.{name}"
    fn = module.globals.get(symbol) or ir.Function(module, ir.FunctionType(INT32, []), symbol)
    return b.zext(b.call(fn, []), INT64)


def global_thread_index(module: ir.Module, b: ir.IRBuilder) -> ir.Value:
    block = special_register(module, b, "ctaid.x")
    return b.add(b.mul(block, special_register(module, b, "ntid.x")),
                 special_register(module, b, "tid.x"))


def _round_up(b: ir.IRBuilder, n: ir.Value) -> ir.Value:
    return b.and_(b.add(n, i64(15)), i64(~15))


class ArenaRuntime(Runtime):
    """The runtime of kernels: arena functions instead of the C library."""

    def __init__(self, module: ir.Module):
        super().__init__(module)
        self.arena = ir.GlobalVariable(module, ARENA, ARENA_GLOBAL)
        self.arena.initializer = ir.Constant(ARENA, None)
        self.arena.align = 8

    def libc(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        makers = {"malloc": self.malloc, "calloc": self.calloc, "realloc": self.realloc,
                  "free": self.free, "getenv": self.getenv}
        if name == "strtoll":  # only reached with a variable getenv found: never
            return super().libc(name, ret, args)
        if name not in makers:
            raise InternalError(f"no GPU version of the C library function {name!r}",
                                stage="ptx")
        return makers[name]()

    @property
    def allocates(self) -> bool:
        """Whether the module's code allocates (so launches need an arena)."""
        return "gpu.malloc" in self._fns

    # --- the thread's slice ---------------------------------------------------------

    def slice_base(self, b: ir.IRBuilder) -> ir.Value:
        """This thread's slice (null when the launcher gave no arena)."""
        zero = ir.Constant(INT32, 0)
        base = b.load(b.gep(self.arena, [zero, zero], source_etype=ARENA), typ=PTR)
        size = b.load(b.gep(self.arena, [zero, ir.Constant(INT32, 1)], source_etype=ARENA),
                      typ=INT64)
        offset = b.mul(global_thread_index(self.module, b), size)
        return b.select(is_null(b, base), base, b.gep(base, [offset], source_etype=INT8))

    def slice_size(self, b: ir.IRBuilder) -> ir.Value:
        zero = ir.Constant(INT32, 0)
        return b.load(b.gep(self.arena, [zero, ir.Constant(INT32, 1)], source_etype=ARENA),
                      typ=INT64)

    def reset(self, b: ir.IRBuilder) -> None:
        """Empty this thread's slice (at the start of each point)."""
        base = self.slice_base(b)
        with b.if_then(b.not_(is_null(b, base))):
            b.store(i64(SLICE_START), base)

    # --- the C library's allocation functions --------------------------------------------

    def malloc(self) -> ir.Function:
        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            (nbytes,) = fn.args
            base = self.slice_base(b)
            with b.if_then(is_null(b, base), likely=False):
                b.ret(base)
            top = b.load(base, typ=INT64)
            block = b.add(top, i64(BLOCK_PREFIX))
            new_top = b.add(block, _round_up(b, nbytes))
            too_big = b.or_(b.icmp_unsigned(">", new_top, self.slice_size(b)),
                            b.icmp_unsigned("<", new_top, top))  # nbytes wrapped around
            with b.if_then(too_big, likely=False):
                b.ret(ir.Constant(PTR, None))
            b.store(nbytes, b.gep(base, [top], source_etype=INT8))
            b.store(new_top, base)
            b.ret(b.gep(base, [block], source_etype=INT8))

        return self.define("gpu.malloc", PTR, [INT64], body)

    def calloc(self) -> ir.Function:
        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            count, size = fn.args
            nbytes = b.mul(count, size)
            p = b.call(self.malloc(), [nbytes])
            with b.if_then(b.not_(is_null(b, p))):
                memset = self.module.declare_intrinsic("llvm.memset", [PTR, INT64])
                b.call(memset, [p, ir.Constant(INT8, 0), nbytes, ir.Constant(BIT, 0)])
            b.ret(p)

        return self.define("gpu.calloc", PTR, [INT64, INT64], body)

    def getenv(self) -> ir.Function:
        """A GPU thread has no environment: every variable is unset (so tape
        size limits are the defaults; the arena bounds them anyway)."""

        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            b.ret(ir.Constant(PTR, None))

        return self.define("gpu.getenv", PTR, [PTR], body)

    def _is_last(self, b: ir.IRBuilder, base: ir.Value, p: ir.Value) -> ir.Value:
        """Whether block `p` ends at the slice's first free byte."""
        size = b.load(b.gep(p, [i64(-BLOCK_PREFIX)], source_etype=INT8), typ=INT64)
        end = b.add(b.ptrtoint(p, INT64), _round_up(b, size))
        return b.icmp_unsigned("==", end,
                               b.add(b.ptrtoint(base, INT64), b.load(base, typ=INT64)))

    def free(self) -> ir.Function:
        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            (p,) = fn.args
            base = self.slice_base(b)
            with b.if_then(b.or_(is_null(b, p), is_null(b, base))):
                b.ret_void()
            with b.if_then(self._is_last(b, base, p)):
                start = b.sub(b.ptrtoint(p, INT64), i64(BLOCK_PREFIX))
                b.store(b.sub(start, b.ptrtoint(base, INT64)), base)
            b.ret_void()

        return self.define("gpu.free", ir.VoidType(), [PTR], body)

    def realloc(self) -> ir.Function:
        def body(b: ir.IRBuilder, fn: ir.Function) -> None:
            p, nbytes = fn.args
            base = self.slice_base(b)
            with b.if_then(b.or_(is_null(b, p), is_null(b, base))):
                b.ret(b.call(self.malloc(), [nbytes]))
            size_at = b.gep(p, [i64(-BLOCK_PREFIX)], source_etype=INT8)
            old = b.load(size_at, typ=INT64)
            with b.if_then(self._is_last(b, base, p)):
                block = b.sub(b.ptrtoint(p, INT64), b.ptrtoint(base, INT64))
                new_top = b.add(block, _round_up(b, nbytes))
                fits = b.icmp_unsigned("<=", new_top, self.slice_size(b))
                with b.if_then(fits):
                    b.store(nbytes, size_at)
                    b.store(new_top, base)
                    b.ret(p)
            q = b.call(self.malloc(), [nbytes])
            with b.if_then(is_null(b, q), likely=False):
                b.ret(q)
            memcpy = self.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, INT64])
            keep = b.select(b.icmp_unsigned("<", old, nbytes), old, nbytes)
            b.call(memcpy, [q, p, keep, ir.Constant(BIT, 0)])
            b.ret(q)

        return self.define("gpu.realloc", PTR, [PTR, INT64], body)
