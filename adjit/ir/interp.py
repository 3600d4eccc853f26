"""The reference interpreter: the semantics every backend is tested against.

Each op's own `evaluate` rule does the work; this module only walks regions.
Exceptions the program raises (ZeroDivisionError, ValueError, IndexError,
OverflowError) keep CPython's type and message, with the source location of
the failing node appended. Arrays are copied on write (pure values).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from adjit.errors import SourceFile, runtime_error
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.types import BOOL, F64, I64, ArrayType, TapeType, Type

PROGRAM_ERRORS = (ArithmeticError, ValueError, IndexError)


class StepLimitExceeded(RuntimeError):
    """A loop ran more iterations than the interpreter's step budget."""


def to_python(value: Any, type: Type) -> Any:
    """Coerce an argument to the Python representation of `type`."""
    if type == F64:
        return float(value)
    if type == I64:
        return int(value)
    if type == BOOL:
        return bool(value)
    if isinstance(type, ArrayType):
        return np.array(value, dtype=np.float64)  # a copy: writes come back via `writes`
    if isinstance(type, TapeType):
        return value  # a residual handed back by a forward graph
    raise TypeError(f"cannot pass a value of type {type}")


class Interpreter:
    def __init__(self, module: Module, max_steps: int | None = None):
        self.module = module
        self.max_steps = max_steps
        self.steps = 0
        self.source: SourceFile | None = module.source
        self.env: dict[Value, Any] = {}

    def tick(self) -> None:
        """Count one loop iteration against the step budget."""
        self.steps += 1
        if self.max_steps is not None and self.steps > self.max_steps:
            raise StepLimitExceeded(f"more than {self.max_steps} loop iterations")

    def call(self, name: str, args: Sequence[Any]) -> list[Any]:
        fn: Function = self.module.functions[name]
        saved_source = self.source
        self.source = fn.source or self.source
        try:
            return self.run_region(fn.body, list(args))
        finally:
            self.source = saved_source

    def run_region(self, region: Region, args: list[Any]) -> list[Any]:
        env = self.env
        for param, value in zip(region.args, args):
            env[param] = value
        for node in region.nodes:
            self.run_node(node)
        return [env[v] for v in region.yields]

    def run_node(self, node: Node) -> None:
        env = self.env
        args = [env[v] for v in node.operands]
        try:
            if node.op.structured:
                out = node.op.evaluate(node, args, self)
            else:
                out = node.op.run(node.attrs, args)
        except PROGRAM_ERRORS as exc:
            if getattr(exc, "adjit_location", None) is not None:
                raise
            raise runtime_error(type(exc), str(exc), self.source, node.span) from None
        for result, value in zip(node.results, out):
            env[result] = value


def interpret(module: Module, args: Sequence[Any], function: str | None = None,
              max_steps: int | None = None) -> Any:
    """Run `function` (default: the module's entry) on Python values.

    Returns one value, or a tuple for a multi-value return, as Python would.
    Arrays the function writes to are copied back into the argument arrays,
    so the caller sees the writes as it would under CPython.
    """
    fn = module.functions[function or module.entry]
    if len(args) != len(fn.params):
        raise TypeError(f"{fn.name}() takes {len(fn.params)} arguments, got {len(args)}")
    values = [to_python(a, p.type) for a, p in zip(args, fn.params)]
    out = Interpreter(module, max_steps).call(fn.name, values)
    returned = len(fn.returned_types)
    for k, final in zip(fn.writes, out[returned:]):
        if isinstance(args[k], np.ndarray):
            np.copyto(args[k], final)
    out = out[:returned]
    return out[0] if len(out) == 1 else tuple(out)
