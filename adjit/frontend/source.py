"""Where functions come from: source files and Python function objects.

The source text is parsed; nothing is executed or imported. A Python
function is found in its module file (`inspect.getsourcefile`) when it is
defined there at top level and the whole module is in the subset; otherwise
(nested functions, notebooks, modules with other code) its own source
(`inspect.getsource`) is parsed and free names are read from its
`__globals__` and closure (see `resolve.Scope`).
"""
from __future__ import annotations

import hashlib
import inspect
import os
import textwrap
import weakref
from typing import Any, Callable

from adjit.errors import AdjitError, UnsupportedError
from adjit.frontend.parser import parse_function_source, parse_module
from adjit.frontend.resolve import Scope, UserFunction

_file_scopes: dict[tuple[str, str], Scope] = {}
_function_cache: "weakref.WeakKeyDictionary[Callable, UserFunction]" = weakref.WeakKeyDictionary()


def read_source(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def scope_for_text(text: str | bytes, filename: str = "<string>") -> Scope:
    """The scope of a whole module's source text (cached by content)."""
    data = text.encode() if isinstance(text, str) else text
    key = (str(filename), hashlib.sha256(data).hexdigest())
    scope = _file_scopes.get(key)
    if scope is None:
        scope = Scope(parse_module(data, str(filename)), load_function=load_python_function)
        _file_scopes[key] = scope
    return scope


def scope_for_file(path: str | os.PathLike) -> Scope:
    return scope_for_text(read_source(path), str(path))


def unwrap(fn: Any) -> Any:
    """The Python function behind an adjit wrapper (jit, grad, ...)."""
    while hasattr(fn, "__adjit_function__"):
        fn = fn.__adjit_function__
    return fn


def load_python_function(obj: Any) -> UserFunction | None:
    """The definition and scope of a Python function object; None if not one."""
    fn = unwrap(obj)
    if not inspect.isfunction(fn):
        return None
    cached = _function_cache.get(fn)
    if cached is not None:
        return cached
    path = inspect.getsourcefile(fn)
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        raise UnsupportedError(f"the source of {fn.__qualname__} is not available; adjit "
                               "compiles functions from their source text",
                               None, None) from None
    result = None
    if path and os.path.exists(path) and fn.__qualname__ == fn.__name__:
        try:
            scope = scope_for_file(path)
        except AdjitError:
            scope = None  # the module has code outside the subset: use the function alone
        definition = scope.module.functions.get(fn.__name__) if scope else None
        if definition is not None and definition.span.line >= first_line:
            scope.py_globals = fn.__globals__
            result = UserFunction(definition, scope)
    if result is None:
        text = textwrap.dedent("".join(lines))
        module = parse_function_source(text, path or "<string>", first_line)
        names = dict(fn.__globals__)
        if fn.__closure__:
            names.update({n: c.cell_contents for n, c in
                          zip(fn.__code__.co_freevars, fn.__closure__)})
        scope = Scope(module, names, load_function=load_python_function)
        result = UserFunction(module.functions[fn.__name__], scope)
    _function_cache[fn] = result
    return result
