"""The public API: what users call (transformations, dispatch and caching).

`make_ir(f)(*args)` returns the IR of `f` specialized on the types of `args`
(as `jax.make_jaxpr` does); `interpret(f)(*args)` runs that IR on the
reference interpreter.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from adjit.frontend.lower import lower_function
from adjit.frontend.resolve import UserFunction
from adjit.frontend.source import load_python_function, scope_for_file
from adjit.ir.core import Module
from adjit.ir.interp import interpret as run_interpreter
from adjit.ir.types import BOOL, F64, I64, ArrayType, Type


def type_of(value: Any) -> Type:
    """The IR type of a Python argument (raises TypeError for others)."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return I64
    if isinstance(value, (float, np.floating)):
        return F64
    if isinstance(value, np.ndarray):
        if value.dtype != np.float64:
            raise TypeError(f"arrays must have dtype float64, not {value.dtype}: convert with "
                            "x.astype(np.float64)")
        if value.ndim not in (1, 2):
            raise TypeError(f"arrays must have 1 or 2 dimensions, not {value.ndim}")
        return ArrayType(value.ndim)
    raise TypeError(f"adjit cannot pass a {type(value).__name__}; pass floats, ints, bools or "
                    "float64 numpy arrays")


def bind_arguments(target: UserFunction, args: Sequence[Any]) -> list[Any]:
    """Positional arguments completed with the defaults of the definition."""
    params = target.definition.params
    name = target.definition.name
    if len(args) > len(params):
        raise TypeError(f"{name}() takes {len(params)} arguments but {len(args)} were given")
    out = list(args)
    for p in params[len(args):]:
        if p.default is None:
            raise TypeError(f"{name}() missing required argument: {p.name!r}")
        out.append(p.default.value)
    return out


def resolve_target(fn: Any, name: str | None = None) -> UserFunction:
    """A Python function, or (path, name) of a function in a source file."""
    if isinstance(fn, (tuple, list)):
        path, name = fn
        scope = scope_for_file(path)
        if name not in scope.module.functions:
            raise NameError(f"{path} defines no function {name!r}")
        return UserFunction(scope.module.functions[name], scope)
    target = load_python_function(fn)
    if target is None:
        raise TypeError(f"adjit compiles Python functions, not {type(fn).__name__}")
    return target


def lower_call(target: UserFunction, args: Sequence[Any]) -> tuple[Module, list[Any]]:
    values = bind_arguments(target, args)
    module = lower_function(target.definition, target.scope, [type_of(v) for v in values])
    return module, values


def make_ir(fn: Any) -> Callable[..., Module]:
    """`make_ir(f)(*args)`: the IR module of `f` specialized on `args`' types."""
    target = resolve_target(fn)
    return lambda *args: lower_call(target, args)[0]


def interpret(fn: Any) -> Callable[..., Any]:
    """`interpret(f)(*args)`: run `f` on adjit's reference interpreter."""
    target = resolve_target(fn)

    def run(*args: Any) -> Any:
        module, values = lower_call(target, args)
        return run_interpreter(module, values)

    run.__adjit_function__ = fn
    return run
