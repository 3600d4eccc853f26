"""A native loop that evaluates a compiled scalar function over many points.

For an IR module whose entry takes and returns scalars, `compile_batched`
adds to the module's own LLVM module (so LLVM inlines the function into the
loop)

    int64_t <prefix>_batched(int64_t start, int64_t stop, int64_t inner,
                             void **bases, int64_t *outer_strides,
                             int64_t *inner_strides, Record *record)

which walks the flat indices [start, stop) of a (rows, inner) grid in C
order. Operand k (the parameters, then the results) is element (r, c) at
`bases[k] + r * outer_strides[k] + c * inner_strides[k]` (strides in bytes,
0 for a broadcast operand). Per point it loads the arguments (double,
int64, or one byte for bool), calls the exported entry (`entry.py`) and
stores the results. It returns -1, or at the first point whose call fails
the flat index of that point, with the error in `record` as a scalar call
would leave it; points after it are not evaluated.

The loop keeps no state between points and touches no global, so disjoint
ranges of one grid may run on several threads at once (`"parallel"` in
`adjit.vectorize`); ctypes releases the GIL for the call.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
from llvmlite import ir

from adjit.backend.llvm.abi import DOUBLE, INT8, INT32, INT64, PTR, STATUS_OK, Record
from adjit.backend.llvm.engine import get_engine
from adjit.backend.llvm.lower import ModuleLowering, Options
from adjit.backend.llvm.runtime_checks import SiteTable
from adjit.ir.core import Module
from adjit.ir.types import BOOL, F64, I64, Type

ELEMENT_TYPES = {F64: DOUBLE, I64: INT64, BOOL: INT8}
NUMPY_DTYPES = {F64: np.dtype(np.float64), I64: np.dtype(np.int64), BOOL: np.dtype(np.bool_)}
NO_ERROR = -1


def is_scalar_signature(module: Module) -> bool:
    fn = module.entry_function
    types = [p.type for p in fn.params] + list(fn.result_types)
    return bool(fn.result_types) and all(t in ELEMENT_TYPES for t in types)


def define_batched(ml: ModuleLowering, inline: bool = True) -> str:
    """Define `<prefix>_batched` (see the module docstring) in `ml.llmod`;
    returns its name. With `inline=False` the scalar entry is kept out of
    line (a real call per point: what benchmarks compare against)."""
    fn = ml.module.entry_function
    params = [p.type for p in fn.params]
    results = list(fn.result_types)
    scalar_entry = ml.llmod.globals[ml.entry_name]
    scalar_entry.attributes.add("alwaysinline" if inline else "noinline")
    name = f"{ml.prefix}_batched"
    ftype = ir.FunctionType(INT64, [INT64, INT64, INT64, PTR, PTR, PTR, PTR])
    batched = ir.Function(ml.llmod, ftype, name)
    start, stop, inner, bases, outer_strides, inner_strides, record = batched.args
    b = ir.IRBuilder(batched.append_basic_block("entry"))

    def operand_field(table: ir.Value, k: int, typ: ir.Type) -> ir.Value:
        return b.load(b.gep(table, [ir.Constant(INT64, k)], source_etype=typ), typ=typ)

    n_ops = len(params) + len(results)
    base = [operand_field(bases, k, PTR) for k in range(n_ops)]
    outer = [operand_field(outer_strides, k, INT64) for k in range(n_ops)]
    step = [operand_field(inner_strides, k, INT64) for k in range(n_ops)]
    slots = [b.alloca(ELEMENT_TYPES[t], name=f"result{k}") for k, t in enumerate(results)]
    entry_block = b.block

    row_head = batched.append_basic_block("row.head")
    row_body = batched.append_basic_block("row.body")
    point_head = batched.append_basic_block("point.head")
    point_body = batched.append_basic_block("point.body")
    point_done = batched.append_basic_block("point.done")
    row_done = batched.append_basic_block("row.done")
    failed = batched.append_basic_block("failed")
    finished = batched.append_basic_block("finished")
    b.branch(row_head)

    # Rows: the run of points [i, i + n) that lies in one row of the grid.
    b.position_at_end(row_head)
    i = b.phi(INT64, "i")
    i.add_incoming(start, entry_block)
    b.cbranch(b.icmp_signed("<", i, stop), row_body, finished)
    b.position_at_end(row_body)
    row = b.sdiv(i, inner)
    col = b.srem(i, inner)
    to_row_end, to_stop = b.sub(inner, col), b.sub(stop, i)
    n = b.select(b.icmp_signed("<", to_row_end, to_stop), to_row_end, to_stop)
    first = [b.gep(base[k], [b.add(b.mul(row, outer[k]), b.mul(col, step[k]))],
                   source_etype=INT8) for k in range(n_ops)]
    b.branch(point_head)

    b.position_at_end(point_head)
    j = b.phi(INT64, "j")
    j.add_incoming(ir.Constant(INT64, 0), row_body)
    b.cbranch(b.icmp_signed("<", j, n), point_body, row_done)

    b.position_at_end(point_body)
    where = [b.gep(first[k], [b.mul(j, step[k])], source_etype=INT8) for k in range(n_ops)]
    args = [b.load(where[k], typ=ELEMENT_TYPES[t]) for k, t in enumerate(params)]
    status = b.call(scalar_entry, [record, *args, *slots])
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(INT32, STATUS_OK)), failed,
              point_done).set_weights([1, 1 << 20])

    b.position_at_end(point_done)
    for k, (slot, t) in enumerate(zip(slots, results)):
        b.store(b.load(slot, typ=ELEMENT_TYPES[t]), where[len(params) + k])
    j.add_incoming(b.add(j, ir.Constant(INT64, 1)), point_done)
    b.branch(point_head)

    b.position_at_end(row_done)
    i.add_incoming(b.add(i, n), row_done)
    b.branch(row_head)

    b.position_at_end(failed)
    b.ret(b.add(i, j))
    b.position_at_end(finished)
    b.ret(ir.Constant(INT64, NO_ERROR))
    return name


_BATCHED_SIGNATURE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                      ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_void_p)


@dataclass(frozen=True)
class Grid:
    """Where the operands of one batched call live: `rows` x `inner` points
    in C order; per operand (parameters, then results) its base address and
    its row and point strides in bytes."""

    rows: int
    inner: int
    bases: ctypes.Array
    outer_strides: ctypes.Array
    inner_strides: ctypes.Array

    @property
    def size(self) -> int:
        return self.rows * self.inner


def make_grid(rows: int, inner: int, bases: list[int], outer: list[int],
              step: list[int]) -> Grid:
    n = len(bases)
    return Grid(rows, inner, (ctypes.c_void_p * n)(*bases), (ctypes.c_int64 * n)(*outer),
                (ctypes.c_int64 * n)(*step))


class BatchedFunction:
    """The native batched loop of one scalar signature.

    `run(grid, start, stop)` evaluates the points [start, stop) of `grid`
    (releasing the GIL); it returns None, or (index, record) of the first
    point that failed, which `raise_error` turns into the exception a scalar
    call raises there.
    """

    def __init__(self, module: Module, options: Options, inline: bool = True):
        fn = module.entry_function
        self.param_types: list[Type] = [p.type for p in fn.params]
        self.result_types: list[Type] = list(fn.result_types)
        lowered, self.optimized_ir, (address,) = get_engine().compile_extended(
            module, options, lambda ml: [define_batched(ml, inline)])
        self.sites: SiteTable = lowered.sites
        self._cfunc = _BATCHED_SIGNATURE(address)

    def run(self, grid: Grid, start: int, stop: int) -> tuple[int, Record] | None:
        if start >= stop:
            return None
        record = Record()
        index = self._cfunc(start, stop, grid.inner, ctypes.addressof(grid.bases),
                            ctypes.addressof(grid.outer_strides),
                            ctypes.addressof(grid.inner_strides), ctypes.addressof(record))
        return None if index == NO_ERROR else (index, record)

    def raise_error(self, index: int, record: Record, shape: tuple[int, ...]) -> None:
        """Raise the failed point's exception, noting which point it was."""
        try:
            self.sites.raise_for_record(record)
        except Exception as exc:
            point = np.unravel_index(index, shape) if shape else ()
            note = f"raised at batch element {tuple(int(p) for p in point)}"
            # BaseException.add_note is Python 3.11+; __notes__ is what it fills.
            exc.__notes__ = [*getattr(exc, "__notes__", []), note]
            raise


def compile_batched(module: Module, options: Options | None = None,
                    inline: bool = True) -> BatchedFunction:
    """The batched loop of `module`, whose entry takes and returns scalars."""
    return BatchedFunction(module, options or Options(), inline)
