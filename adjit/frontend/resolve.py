"""Static name resolution: what a free name in a function refers to.

A module's names come from its source text only (imports against a whitelist,
constants, function definitions); nothing is executed or imported. For a
function handed over as a Python object whose module file is unavailable or
does not define it at top level (a function defined inside another one), the
names its source leaves free are read from the function's `__globals__` and
closure: modules must be `math`/`numpy`, numbers become constants, Python
functions are compiled from their own source. Reading those dictionaries runs
no user code.
"""
from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from adjit.errors import SourceFile, Span, UnsupportedError
from adjit.frontend import syntax
from adjit.frontend.library import CONSTANTS, known_function


@dataclass(frozen=True)
class ModuleRef:
    module: str  # "math" or "numpy"


@dataclass(frozen=True)
class LibraryFunction:
    module: str
    name: str


@dataclass(frozen=True)
class ConstantRef:
    value: int | float | bool


@dataclass(frozen=True)
class UserFunction:
    definition: syntax.FunctionDef
    scope: "Scope"


Resolved = ModuleRef | LibraryFunction | ConstantRef | UserFunction


class Scope:
    """The global names visible to the functions of one source module.

    `evaluate_constant(expr, scope)` computes a module-level constant; it is
    supplied by the lowering (which compiles and interprets the expression).
    """

    def __init__(self, module: syntax.Module, py_globals: dict[str, Any] | None = None,
                 load_function: Callable[[Any], UserFunction] | None = None):
        self.module = module
        self.py_globals = py_globals or {}
        self.load_function = load_function
        self.constant_values: dict[str, int | float | bool] = {}
        self.evaluating: set[str] = set()
        self.evaluate_constant: Callable[[syntax.Expr, "Scope"], Any] | None = None

    @property
    def source(self) -> SourceFile:
        return self.module.source

    def resolve(self, name: str, span: Span) -> Resolved | None:
        module = self.module
        if name in module.functions:
            return UserFunction(module.functions[name], self)
        if name in module.module_aliases:
            return ModuleRef(module.module_aliases[name])
        if name in module.imported_names:
            return self.attribute(*module.imported_names[name], span)
        if name in module.constants:
            return ConstantRef(self.constant(name, span))
        if name in self.py_globals:
            return self.from_python(name, self.py_globals[name], span)
        return None

    def attribute(self, module: str, attr: str, span: Span) -> Resolved:
        """`module.attr` for an allowed module."""
        if (module, attr) in CONSTANTS:
            return ConstantRef(CONSTANTS[(module, attr)])
        if known_function(module, attr):
            return LibraryFunction(module, attr)
        shown = "np" if module == "numpy" else module
        raise UnsupportedError(f"{shown}.{attr} is not supported by adjit", self.source, span,
                               ("see docs/subset.md for the supported math and numpy "
                                "functions",))

    def constant(self, name: str, span: Span) -> int | float | bool:
        if name not in self.constant_values:
            if name in self.evaluating:
                raise UnsupportedError(f"module constant {name!r} is defined in terms of "
                                       "itself", self.source, span)
            self.evaluating.add(name)
            try:
                assert self.evaluate_constant is not None
                self.constant_values[name] = self.evaluate_constant(
                    self.module.constants[name].value, self)
            finally:
                self.evaluating.discard(name)
        return self.constant_values[name]

    def from_python(self, name: str, obj: Any, span: Span) -> Resolved:
        if obj is math:
            return ModuleRef("math")
        if obj is np:
            return ModuleRef("numpy")
        if isinstance(obj, (bool, int, float, np.floating, np.integer)):
            return ConstantRef(obj.item() if isinstance(obj, np.generic) else obj)
        for module_name, module in (("math", math), ("numpy", np)):
            if isinstance(obj, (types.BuiltinFunctionType, np.ufunc)) and \
                    getattr(module, getattr(obj, "__name__", ""), None) is obj:
                return self.attribute(module_name, obj.__name__, span)
        if self.load_function is not None:
            loaded = self.load_function(obj)
            if loaded is not None:
                return loaded
        raise UnsupportedError(f"name {name!r} refers to a Python {type(obj).__name__}, which "
                               "adjit cannot compile", self.source, span,
                               ("adjit can use numbers, math, numpy and functions written in "
                                "its subset",))
