"""`adjit.vectorize`: a function of scalars (or any transformation of one,
`grad(f)`, `value_and_grad(f)`, `jacfwd(f)`, ...) mapped over arrays like a
numpy ufunc.

Each parameter takes a scalar or an array of floats, ints or bools; the
arguments broadcast together (numpy's rules) and every result is an array of
the broadcast shape (a tuple of them for several results, shaped as the
transformation returns them). The function is specialized on the element
types of its arguments and compiled once per signature, as `jit` does.

Targets: "cpu" evaluates the whole batch in one native call
(`backend/llvm/batched.py`) with the GIL released; "parallel" splits the
points into contiguous chunks that native calls evaluate on `threads`
Python threads at once (no Python runs per point, so they run truly in
parallel; results are those of "cpu", bit for bit); "cuda" hands the
optimized IR and flat inputs to the PTX launcher
(`adjit.backend.ptx.launch.run_batched`).

The first point whose evaluation raises (in C order) stops the batch and
raises what a scalar call there raises, with a note naming the point.
"""
from __future__ import annotations

import dataclasses
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from adjit.api import Staged, _staged, bind_arguments
from adjit.backend.llvm.batched import (
    NUMPY_DTYPES, BatchedFunction, Grid, compile_batched, is_scalar_signature, make_grid)
from adjit.errors import AdjitError, AdjitTypeError, ShapeError, UnsupportedError
from adjit.ir.core import Module
from adjit.ir.types import BOOL, F64, I64, Type

TARGETS = ("cpu", "parallel", "cuda")
MIN_CHUNK = 512  # "parallel" makes no chunk of fewer points than this
CHUNKS_PER_THREAD = 4
_ELEMENT_TYPES = {"f": F64, "i": I64, "u": I64, "b": BOOL}
_SAMPLE = {F64: 0.0, I64: 0, BOOL: False}


def vectorize(fn: Any = None, target: str = "cpu", *, threads: int | None = None):
    """Map `fn` over the elements of its arguments, like a numpy ufunc.

    Works as `vectorize(f)`, `vectorize(grad(f), "parallel")` and as a
    decorator (`@vectorize`, `@vectorize(target="parallel")`). `threads`
    (for "parallel") defaults to os.cpu_count().
    """
    if target not in TARGETS:
        raise ValueError(f"vectorize target must be one of {TARGETS}, not {target!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive int, not {threads!r}")

    def wrap(f: Any) -> Vectorized:
        return Vectorized(_staged(f), target, threads or os.cpu_count() or 1)

    return wrap if fn is None else wrap(fn)


class Vectorized:
    """A function mapped over arrays; call it as `vf(*args, out=None)`."""

    def __init__(self, staged: Staged, target: str, threads: int):
        self.staged = staged
        if staged.backend != "native":
            raise self._error(UnsupportedError, "vectorize compiles to native code, not for "
                              f"backend={staged.backend!r}", "vectorize the function itself")
        if staged.static_argnums:
            raise self._error(UnsupportedError, "vectorize maps over every argument: "
                              "static_argnums are not supported",
                              "vectorize the function without static_argnums")
        self.target = target
        self.threads = threads
        self.compiled: dict[tuple[Type, ...], tuple[Module, BatchedFunction | None]] = {}
        self.lock = threading.Lock()
        name = staged.target.definition.name
        self.__name__ = self.__qualname__ = f"vectorize({name})"
        self.__doc__ = getattr(staged, "__doc__", None)

    def __repr__(self) -> str:
        return f"<adjit vectorized function {self.staged.target.definition.name} ({self.target})>"

    # --- errors about the user's call, at the function's definition -------------

    def _error(self, cls: type[AdjitError], message: str, *notes: str) -> AdjitError:
        target = self.staged.target
        return cls(message, target.scope.source, target.definition.span, notes)

    # --- calling ---------------------------------------------------------------

    def __call__(self, *args: Any, out: Any = None) -> Any:
        values = bind_arguments(self.staged.target, args)
        operands = [self._operand(k, v) for k, v in enumerate(values)]
        types = tuple(_ELEMENT_TYPES[a.dtype.kind] for a in operands)
        module, batched = self._specialization(types)
        result_types = list(module.entry_function.result_types)
        outs = self._outputs(out, result_types)
        shape = self._shape(operands, outs)
        results = [o if o is not None else np.empty(shape, NUMPY_DTYPES[t])
                   for o, t in zip(outs, result_types)]
        if math.prod(shape):
            if batched is None:
                self._run_cuda(module, operands, results, shape)
            else:
                self._run_native(batched, operands, results, shape)
        if out is None and not shape:
            results = [r[()] for r in results]  # all scalar arguments: scalars, as numpy
        return self.staged.structure(results)

    def _operand(self, k: int, value: Any) -> np.ndarray:
        """Argument k as an array of float64, int64 or bool elements."""
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise self._error(AdjitTypeError, f"argument {k + 1} cannot be read as an array: "
                              f"{exc}", "pass floats, ints, bools or numpy arrays of them") from None
        kind = array.dtype.kind
        if kind not in _ELEMENT_TYPES:
            raise self._error(AdjitTypeError, f"argument {k + 1} has elements of dtype "
                              f"{array.dtype}, which vectorize cannot pass",
                              "pass float, int or bool elements (convert with "
                              "x.astype(np.float64))")
        return array.astype(NUMPY_DTYPES[_ELEMENT_TYPES[kind]], copy=False)

    def _specialization(self, types: tuple[Type, ...]) -> tuple[Module, BatchedFunction | None]:
        found = self.compiled.get(types)
        if found is None:
            with self.lock:
                found = self.compiled.get(types)
                if found is None:
                    found = self.compiled[types] = self._compile(types)
        return found

    def _compile(self, types: tuple[Type, ...]) -> tuple[Module, BatchedFunction | None]:
        note = ("vectorize passes one element of each argument to the function: each "
                "parameter is a scalar (array parameters are not supported yet)")
        try:
            module = self.staged.ir(*[_SAMPLE[t] for t in types], optimize=True)
        except (AdjitTypeError, UnsupportedError) as exc:
            raise type(exc)(exc.message, exc.source, exc.span, exc.notes + (note,)) from None
        if not is_scalar_signature(module):
            returned = ", ".join(map(str, module.entry_function.result_types)) or "nothing"
            raise self._error(UnsupportedError, f"vectorize needs a function with scalar "
                              f"results; this one returns {returned}", note)
        if self.target == "cuda":
            return module, None
        from adjit.backend.llvm.lower import Options

        codegen = {f.name for f in dataclasses.fields(Options)}
        options = {k: v for k, v in self.staged.options.items() if k in codegen}
        return module, compile_batched(module, Options(**options))

    def _outputs(self, out: Any, result_types: list[Type]) -> list[np.ndarray | None]:
        """The `out=` arrays, one per flat result (nested tuples are flattened)."""
        if out is None:
            return [None] * len(result_types)
        flat = list(_flatten(out))
        if len(flat) != len(result_types):
            raise self._error(AdjitTypeError, f"out= needs {len(result_types)} arrays (one per "
                              f"result of the function), got {len(flat)}")
        for k, (o, t) in enumerate(zip(flat, result_types)):
            want = NUMPY_DTYPES[t]
            if not isinstance(o, np.ndarray) or o.dtype != want:
                got = o.dtype if isinstance(o, np.ndarray) else type(o).__name__
                raise self._error(AdjitTypeError, f"out= array {k + 1} must be a numpy array of "
                                  f"dtype {want}, not {got}", f"allocate it with "
                                  f"np.empty(shape, dtype=np.{want})")
            if not o.flags.writeable:
                raise self._error(AdjitTypeError, f"out= array {k + 1} is read-only")
        return flat

    def _shape(self, operands: list[np.ndarray], outs: list[np.ndarray | None]) -> tuple:
        shapes = [a.shape for a in operands] + [o.shape for o in outs if o is not None]
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise self._error(ShapeError, "the arguments' shapes do not broadcast together: " +
                              " ".join(str(s) for s in shapes),
                              "shapes broadcast as numpy's do: compared from the last axis, "
                              "each pair of sizes must be equal or one of them 1") from None
        for k, o in enumerate(outs):
            if o is not None and o.shape != shape:
                raise self._error(ShapeError, f"out= array {k + 1} has shape {o.shape}, but the "
                                  f"arguments broadcast to {shape}")
        return shape

    # --- native targets ------------------------------------------------------------

    def _run_native(self, batched: BatchedFunction, operands: list[np.ndarray],
                    results: list[np.ndarray], shape: tuple) -> None:
        inputs = [_readable(np.broadcast_to(a, shape), results) for a in operands]
        outputs = [r if _aligned(r) else np.empty(shape, r.dtype) for r in results]
        grid = _grid(inputs + outputs, shape)
        if grid is None:  # no 2-d layout covers them all: contiguous copies do
            inputs = [np.ascontiguousarray(a) for a in inputs]
            outputs = [o if o.flags.c_contiguous else np.empty(shape, o.dtype) for o in outputs]
            grid = _grid(inputs + outputs, shape)
        failed = self._evaluate(batched, grid)
        if failed is not None:
            batched.raise_error(*failed, shape)
        for final, o in zip(results, outputs):
            if o is not final:
                np.copyto(final, o)

    def _evaluate(self, batched: BatchedFunction, grid: Grid) -> Any:
        """Run the whole grid (on several threads for "parallel"); the first
        failure in point order, or None.

        "parallel" cuts the points into CHUNKS_PER_THREAD chunks per thread,
        taken in order by the pool's threads as they come free, so a thread
        slowed by other work on its core takes fewer of them. A chunk that
        starts after a failed point is skipped."""
        size = grid.size
        chunks = 1
        if self.target == "parallel":
            chunks = min(self.threads * CHUNKS_PER_THREAD, max(1, size // MIN_CHUNK))
        if chunks == 1:
            return batched.run(grid, 0, size)
        bounds = [size * c // chunks for c in range(chunks + 1)]
        first_failure = [size]
        lock = threading.Lock()

        def run_chunk(lo: int, hi: int) -> Any:
            if first_failure[0] < lo:
                return None
            failed = batched.run(grid, lo, hi)
            if failed is not None:
                with lock:
                    first_failure[0] = min(first_failure[0], failed[0])
            return failed

        pool = _pool(min(self.threads, chunks))
        futures = [pool.submit(run_chunk, lo, hi) for lo, hi in zip(bounds, bounds[1:])]
        failures = [f.result() for f in futures]
        return next((f for f in failures if f is not None), None)

    # --- cuda ------------------------------------------------------------------------

    def _run_cuda(self, module: Module, operands: list[np.ndarray], results: list[np.ndarray],
                  shape: tuple) -> None:
        try:
            from adjit.backend.ptx.launch import run_batched
        except ImportError as exc:
            raise ImportError(f"vectorize(target='cuda') needs adjit's CUDA launcher "
                              f"(adjit.backend.ptx.launch), which cannot be imported: {exc}; "
                              "use target='cpu' or 'parallel'") from exc
        inputs = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in operands]
        direct = [r.flags.c_contiguous for r in results]  # else through a flat copy
        outputs = [r.reshape(-1) if d else np.empty(r.size, r.dtype)
                   for r, d in zip(results, direct)]
        run_batched(module, inputs, outputs)
        for final, flat, d in zip(results, outputs, direct):
            if not d:
                final[...] = flat.reshape(shape)


def _flatten(out: Any):
    if isinstance(out, (tuple, list)):
        for item in out:
            yield from _flatten(item)
    else:
        yield out


def _aligned(a: np.ndarray) -> bool:
    """Whether every element sits at a multiple of its size (native loads assume it)."""
    size = a.dtype.itemsize
    return a.__array_interface__["data"][0] % size == 0 and all(s % size == 0
                                                                 for s in a.strides)


def _readable(view: np.ndarray, results: list[np.ndarray]) -> np.ndarray:
    """An input view the loop may read while writing `results`: a copy when
    it is unaligned, or overlaps an output other than element for element
    (as `out=x` does, which is safe: each point is read before it is written)."""
    for r in results:
        if np.may_share_memory(view, r) and not (
                view.__array_interface__["data"][0] == r.__array_interface__["data"][0]
                and view.strides == r.strides):
            return view.copy()
    return view if _aligned(view) else view.copy()


def _grid(arrays: list[np.ndarray], shape: tuple) -> Grid | None:
    """A (rows, inner) grid over arrays of `shape` that visits their points
    in C order: axes of size 1 dropped, neighbouring axes merged where every
    array steps through them as through one; None if more than two remain."""
    axes: list[tuple[int, list[int]]] = []
    for d, n in enumerate(shape):
        if n == 1:
            continue
        strides = [a.strides[d] for a in arrays]
        if axes and all(outer == s * n for outer, s in zip(axes[-1][1], strides)):
            axes[-1] = (axes[-1][0] * n, strides)
        else:
            axes.append((n, strides))
    if len(axes) > 2:
        return None
    zeros = [0] * len(arrays)
    while len(axes) < 2:
        axes.insert(0, (1, zeros))
    (rows, outer), (inner, step) = axes
    bases = [a.__array_interface__["data"][0] for a in arrays]
    return make_grid(rows, inner, bases, outer, step)


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of `workers` threads (kept, so calls do not pay
    for starting threads)."""
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="adjit-vectorize")
        return _pools[workers]


__all__ = ["vectorize", "Vectorized", "ShapeError", "TARGETS"]
