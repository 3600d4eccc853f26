"""The public API: transformations as users see them, dispatch and caching.

Every transformation (`jit`, `grad`, `value_and_grad`, `jacfwd`, `jacrev`,
`hessian`, `jacobian`) returns a `Staged` function: the user's source plus a
list of IR-to-IR steps. On a call it is specialized on the argument types
(cached per signature), lowered, inlined, transformed and compiled; its flat
IR results are given JAX's shapes. Since each step's output is an ordinary
IR function, transformations nest to any depth (`grad(grad(f))`).
"""
from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import sys
import threading
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from adjit.errors import UnsupportedError
from adjit.frontend.lower import lower_function
from adjit.frontend.resolve import UserFunction
from adjit.frontend.source import load_python_function, scope_for_file
from adjit.ir.core import Function, Module, Node
from adjit.ir.interp import interpret as run_interpreter
from adjit.ir.types import BOOL, F64, I64, ArrayType, Type, is_differentiable
from adjit.ir.verify import verify_module
from adjit.passes.inline import inline_calls

Step = Callable[[Function], Function]
Structure = Callable[[list[Any]], Any]


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


def resolve_target(fn: Any) -> UserFunction:
    """A Python function, an adjit function, or (path, name) in a source file."""
    if isinstance(fn, Staged):
        return fn.target
    if isinstance(fn, UserFunction):
        return fn
    if isinstance(fn, (tuple, list)):
        path, name = fn
        with collector_paused():  # parsing is part of compiling
            scope = scope_for_file(path)
        if name not in scope.module.functions:
            raise NameError(f"{path} defines no function {name!r}")
        return UserFunction(scope.module.functions[name], scope)
    with collector_paused():
        target = load_python_function(fn)
    if target is None:
        raise TypeError(f"adjit compiles Python functions, not {type(fn).__name__}")
    return target


def lower_call(target: UserFunction, args: Sequence[Any]) -> tuple[Module, list[Any]]:
    """The IR module of `target` specialized on `args`, and the bound values."""
    values = bind_arguments(target, args)
    module = lower_function(target.definition, target.scope, [type_of(v) for v in values])
    return module, values


RECURSION_LIMIT = 20000


@contextlib.contextmanager
def deep_recursion(target: UserFunction):
    """Room for deeply nested programs (the compiler recurses over nested
    expressions, regions and call chains); past it, a clean error."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(max(saved, RECURSION_LIMIT))
    try:
        yield
    except RecursionError:
        raise UnsupportedError(f"{target.definition.name!r} is nested too deeply to compile "
                               "(expressions, blocks or calls thousands of levels deep)",
                               target.scope.source, target.definition.span,
                               ("split it into smaller functions or loops",)) from None
    finally:
        sys.setrecursionlimit(saved)


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while compiling: lowering and
    the passes allocate IR objects by the hundred thousand, and the collector
    rescanned them again and again (a fifth of the first-call time of a
    3,000-statement gradient). Nested and concurrent compiles share one
    pause; a collector the user had disabled stays disabled."""
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def contiguous_arrays(module: Module, signature: tuple) -> list[int]:
    """The entry's parameters that the signature says are C-contiguous arrays
    (its parts are `Staged.signature`'s, one per parameter)."""
    params = module.entry_function.params
    if len(params) != len(signature):
        return []
    return [k for k, part in enumerate(signature)
            if part[0] != "static" and part[1] == "C" and params[k].type.is_array]


def _kinds(args: tuple) -> tuple:
    """A cheap key that determines the arguments' IR types and array layouts
    (the Python types, and for arrays their dtype, ndim and layout)."""
    types = tuple(map(type, args))
    if np.ndarray not in types:
        return types
    return types + tuple((a.dtype.char, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous)
                         for a in args if type(a) is np.ndarray)


def static_value(k: int, value: Any) -> Any:
    """A static argument as it enters the specialization key: hashable, and a
    number or bool (it is folded into the IR as a constant)."""
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"static argument {k} must be hashable (it is part of the "
                        f"specialization key), not a {type(value).__name__}; pass it as a "
                        "regular argument instead") from None
    if not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        raise TypeError(f"static argument {k} is folded into the code as a constant: pass an "
                        f"int, float or bool, not a {type(value).__name__}")
    return value.item() if isinstance(value, np.generic) else value


def fold_static_arguments(fn: Function, values: dict[int, Any]) -> None:
    """Replace the uses of the static parameters of `fn` by constants (the
    parameters stay, unused), so the passes and LLVM specialize on them."""
    from adjit.ir import ops
    from adjit.passes.manager import substitute

    subst = {}
    constants = []
    for k, value in sorted(values.items()):
        param = fn.params[k]
        convert = {F64: float, I64: int, BOOL: bool}[param.type]
        node = Node(ops.const, [], [param.type], {"value": convert(value)},
                    span=fn.span, hints=[param.hint])
        constants.append(node)
        subst[param] = node.result
    fn.body.nodes[:0] = constants
    substitute(fn.body, subst)


def single(results: list[Any]) -> Any:
    return results[0] if len(results) == 1 else tuple(results)


class Staged:
    """A user function, the transformations applied to it, and its compiled
    specializations (one per signature).

    `step_keys` describe the steps for the disk cache (`jit(cache=True)`):
    one JSON-able description per step, or None when a step has none (then
    nothing is cached). With the disk cache, the source is parsed only when
    something has to be compiled: a cache hit reads no source."""

    def __init__(self, fn: Any, steps: tuple[Step, ...] = (), structure: Structure = single,
                 backend: str = "native", options: dict[str, Any] | None = None,
                 static_argnums: tuple[int, ...] = (), step_keys: tuple | None = ()):
        self.fn = fn
        # Parsed now, so that a function adjit cannot compile is an error at
        # once; with the disk cache, only when something has to be compiled.
        self._target = None if (options or {}).get("cache") else resolve_target(fn)
        self._fingerprint: str | None = None  # of the source, for the disk cache
        self.steps = steps
        self.step_keys = step_keys
        self.structure = structure
        self.backend = backend
        self.options = dict(options or {})
        self.static_argnums = tuple(static_argnums)
        self.cache: dict[tuple, Callable[..., Any]] = {}
        self.fast: dict[tuple, Callable[..., Any]] = {}  # argument kinds -> runner
        self.modules: dict[tuple, Module] = {}  # signature -> optimized IR compiled
        self.derived: dict[tuple, Staged] = {}
        self.lock = threading.Lock()
        self.__adjit_function__ = fn
        if hasattr(fn, "__name__"):
            functools.update_wrapper(self, fn, updated=())

    @property
    def target(self) -> UserFunction:
        """The parsed definition (parsed on first use)."""
        if self._target is None:
            self._target = resolve_target(self.fn)
        return self._target

    def derive(self, step: Step, structure: Structure, step_key: Any = None) -> "Staged":
        """This function with one more transformation; `step_key` describes
        it for the disk cache (None: not cached)."""
        keys = (self.step_keys + (step_key,)
                if self.step_keys is not None and step_key is not None else None)
        return Staged(self.fn, self.steps + (step,), structure, self.backend, self.options,
                      self.static_argnums, keys)

    def derive_cached(self, key: tuple, make_step: Callable[[], Step]) -> "Staged":
        """A derived function kept on this one, so its compiled
        specializations are reused across calls (`jvp`, `vjp`)."""
        with self.lock:
            derived = self.derived.get(key)
            if derived is None:
                derived = self.derive(make_step(), lambda flat: flat)
                self.derived[key] = derived
        return derived

    def signature(self, values: list[Any]) -> tuple:
        if self.static_argnums and max(self.static_argnums) >= len(values):
            raise TypeError(f"static_argnums {self.static_argnums} name an argument "
                            f"{max(self.static_argnums)}, but there are {len(values)}")
        key = []
        for k, v in enumerate(values):
            if k in self.static_argnums:
                key.append(("static", type(v).__name__, static_value(k, v)))
            else:
                t = type_of(v)
                layout = ""
                if isinstance(v, np.ndarray):
                    layout = "C" if v.flags.c_contiguous else "F" if v.flags.f_contiguous else "A"
                key.append((str(t), layout))
        return tuple(key)

    def ir(self, *args: Any, optimize: bool = False) -> Module:
        """The IR module of this (transformed) function for `args`' types:
        as lowered and transformed, or after adjit's pass pipelines."""
        module, _ = self._lower(list(bind_arguments(self.target, args)), optimize=optimize)
        return module

    def _lower(self, values: list[Any], optimize: bool = True,
               stats: list | None = None) -> tuple[Module, list[Any]]:
        """Lower, optimize (adjit's pipelines, or `passes=` of `jit`), apply
        the transformations, optimizing after each."""
        with deep_recursion(self.target):
            return self._lower_steps(values, optimize, stats)

    def _lower_steps(self, values: list[Any], optimize: bool,
                     stats: list | None) -> tuple[Module, list[Any]]:
        from adjit.passes.manager import POST_AD, PRE_AD, run_pipeline

        module = lower_function(self.target.definition, self.target.scope,
                                [type_of(v) for v in values])
        fold_static_arguments(module.entry_function,
                              {k: values[k] for k in self.static_argnums if k < len(values)})
        custom = self.options.get("passes")
        if optimize:
            # Plain compiled code keeps its calls: a runtime error in a callee
            # then names the callee's own source line.
            pre = custom if custom is not None else (PRE_AD if self.steps else "fold,cse,dce")
            run_pipeline(module, pre, stats=stats)
        if self.steps:
            inline_calls(module)
            fn = module.entry_function
            for step in self.steps:
                module = Module({(fn := step(fn)).name: fn}, fn.name, module.source)
                if optimize:
                    run_pipeline(module, custom if custom is not None else POST_AD,
                                 to_fixed_point=custom is None, stats=stats)
                    fn = module.entry_function
        verify_module(module)
        return module, values

    def specialization(self, values: list[Any]) -> Callable[..., Any]:
        key = self.signature(values)
        runner = self.cache.get(key)
        if runner is None:
            with self.lock:
                runner = self.cache.get(key)
                if runner is None:
                    disk_key = self._disk_key(key)
                    if disk_key is not None:
                        from adjit.backend.llvm.engine import load_cached

                        runner = load_cached(disk_key)
                    if runner is None:
                        with collector_paused():
                            module, _ = self._lower(values)
                            with deep_recursion(self.target):
                                runner = self._compile(module, disk_key,
                                                       contiguous_arrays(module, key))
                        self.modules[key] = module
                    self.cache[key] = runner
        return runner

    def _disk_key(self, signature: tuple) -> dict[str, Any] | None:
        """The disk cache key of one specialization (None: not cached)."""
        if not self.options.get("cache") or self.backend != "native" or self.step_keys is None:
            return None
        from adjit.backend.llvm import disk_cache

        if self._fingerprint is None:
            self._fingerprint = disk_cache.source_fingerprint(self.fn)
        if self._fingerprint is None:
            return None
        return {"format": disk_cache.FORMAT, "function": self._fingerprint,
                "signature": [repr(part) for part in signature],
                "steps": [repr(k) for k in self.step_keys],
                "options": {k: v for k, v in sorted(self.options.items()) if k != "cache"},
                "environment": disk_cache.environment()}

    def _bind(self, args: Sequence[Any]) -> list[Any]:
        """`bind_arguments`; with the disk cache, from the Python function's
        own parameters when they are plain (so a cache hit parses nothing)."""
        fn = self.fn
        code = getattr(fn, "__code__", None)
        if (self._target is None and self.options.get("cache") and code is not None
                and not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
                and not code.co_kwonlyargcount and len(args) <= code.co_argcount):
            defaults = fn.__defaults__ or ()
            missing = code.co_argcount - len(args)
            if missing <= len(defaults) and all(type(d) in (int, float, bool) for d in defaults):
                return list(args) + list(defaults[len(defaults) - missing:] if missing else ())
        return bind_arguments(self.target, args)

    def _compile(self, module: Module, disk_key: dict[str, Any] | None = None,
                 contiguous: Sequence[int] = ()) -> Callable[..., Any]:
        if self.backend == "interp":
            def interpret_call(*vals: Any) -> Any:
                with deep_recursion(self.target):  # nested regions and calls recurse
                    return run_interpreter(module, vals)

            return interpret_call
        from adjit.backend.llvm.engine import compile_module

        options = {k: v for k, v in self.options.items() if k not in ("passes", "cache")}
        return compile_module(module, cache_key=disk_key, contiguous=contiguous, **options)

    def __call__(self, *args: Any) -> Any:
        return self._dispatch(*args)

    def _dispatch(self, *args: Any) -> Any:
        """Find (or compile) the specialization for these arguments and call it.
        When it has a native entry, calls go straight to it from then on: this
        instance's __call__ becomes that builtin, which checks the argument
        types itself and comes back here for any other signature."""
        runner = self.fast.get(_kinds(args)) if not self.static_argnums else None
        if runner is None:
            values = self._bind(args)
            runner = self.specialization(values)
            if len(values) == len(args) and not self.static_argnums:
                # The compiled function's own entry, skipping its Python __call__.
                self.fast[_kinds(args)] = getattr(runner, "_call", runner)
                self._enter_directly(runner)
            args = tuple(values)
        out = runner(*args)
        if self.structure is single:
            return out
        return self.structure(list(out) if isinstance(out, tuple) else [out])

    def _inspect(self, args: tuple, show: Callable[[Module, Any], str]) -> str | dict:
        """`show` of one signature (compiled now if needed), or of every
        compiled signature when no arguments are given (as Numba's inspect_*)."""
        if args:
            values = bind_arguments(self.target, args)
            runner = self.specialization(values)
            key = self.signature(values)
            if key not in self.modules:  # loaded from the disk cache: lower it now
                self.modules[key] = self._lower(values)[0]
            return show(self.modules[key], runner)
        return {key: show(self.modules[key], runner) for key, runner in self.cache.items()
                if key in self.modules}

    def inspect_ir(self, *args: Any) -> str | dict:
        """The optimized IR that is compiled, for `args`' signature."""
        return self._inspect(args, lambda module, runner: str(module))

    def inspect_llvm(self, *args: Any) -> str | dict:
        """The LLVM IR after LLVM's O3, for `args`' signature."""
        return self._inspect(args, lambda module, runner: runner.optimized_ir)

    def inspect_asm(self, *args: Any) -> str | dict:
        """The host assembly, for `args`' signature."""
        return self._inspect(args, lambda module, runner: runner.assembly())

    def _enter_directly(self, runner: Any) -> None:
        entry = getattr(runner, "entry_with_fallback", None)
        if self.structure is not single or entry is None:
            return
        builtin = entry(self._dispatch)
        if builtin is not None:  # a builtin is not bound as a method: it gets no self
            self.__class__ = type("Staged", (Staged,), {"__call__": builtin})

    def __repr__(self) -> str:
        return f"<adjit function {self.target.definition.name}>"


_staged_functions: "weakref.WeakKeyDictionary[Any, Staged]" = weakref.WeakKeyDictionary()
_staged_files: dict[tuple, Staged] = {}


def _staged(fn: Any) -> Staged:
    """The Staged function of `fn`, one per Python function (or file function),
    so `jvp(f, ...)` and `vjp(f, ...)` reuse what they compiled before."""
    if isinstance(fn, Staged):
        return fn
    if isinstance(fn, (tuple, list)):
        key = tuple(fn)
        if key not in _staged_files:
            _staged_files[key] = Staged(fn)
        return _staged_files[key]
    try:
        staged = _staged_functions.get(fn)
    except TypeError:  # not weakly referenceable
        return Staged(fn)
    if staged is None:
        staged = _staged_functions[fn] = Staged(fn)
    return staged


BACKENDS = ("native", "interp")


def jit(fn: Any = None, *, static_argnums: int | Sequence[int] = (), fastmath: bool = False,
        error_model: str = "python", boundscheck: bool = True, backend: str = "native",
        passes: str | None = None, cache: bool = False):
    """Compile `fn` to native code on first call, specialized per argument types.

    Works as `@jit`, `@jit(fastmath=True)` and `jit(f)`. `passes` replaces
    adjit's pass pipelines (e.g. "inline,fold,cse,dce"; "" for none).
    `static_argnums`: arguments whose values (ints, floats, bools) are folded
    into the code as constants, one specialization per value. `cache=True`
    keeps the compiled code on disk for later processes (docs/backend.md).
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0
               for k in static_argnums):
        raise TypeError(f"static_argnums must be non-negative ints, not {static_argnums!r}")
    from adjit.backend.llvm.options import Options

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    Options(fastmath, error_model, boundscheck)  # a bad error_model is an error now, too
    options = {"fastmath": fastmath, "error_model": error_model, "boundscheck": boundscheck}
    if cache:
        options["cache"] = True
    if passes is not None:
        from adjit.passes.manager import parse_pipeline

        parse_pipeline(passes)  # unknown names are an error now, not at the first call
        options["passes"] = passes

    def wrap(f: Any) -> Staged:
        return Staged(f, backend=backend, options=options,
                      static_argnums=tuple(static_argnums))

    return wrap if fn is None else wrap(fn)


def _argnums(argnums: int | Sequence[int]) -> tuple[list[int], bool]:
    if isinstance(argnums, int):
        return [argnums], False
    return list(argnums), True


def grad(fn: Any, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Staged:
    """The gradient of a function with a float result, with respect to the
    arguments `argnums`: one value, or a tuple for a tuple of argnums; with
    `has_aux`, `f` returns (value, aux...) and grad returns (gradient, aux)."""
    from adjit.passes.autodiff.compose import grad_graph

    nums, as_tuple = _argnums(argnums)

    def with_aux(flat: list[Any]) -> Any:
        grads = tuple(flat[:len(nums)]) if as_tuple else flat[0]
        return (grads, single(flat[len(nums):])) if has_aux else grads

    # Without aux the flat results are the answer: calls can go straight to native code.
    return _staged(fn).derive(lambda f: grad_graph(f, nums, has_aux),
                              with_aux if has_aux else single, ("grad", tuple(nums), has_aux))


def value_and_grad(fn: Any, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Staged:
    """(value, gradient), or ((value, aux), gradient) with `has_aux`, as JAX."""
    from adjit.passes.autodiff.compose import grad_graph

    nums, as_tuple = _argnums(argnums)

    def nested(flat: list[Any]) -> Any:
        value, grads, aux = flat[0], flat[1:1 + len(nums)], flat[1 + len(nums):]
        grads = tuple(grads) if as_tuple else grads[0]
        return ((value, single(aux)) if has_aux else value), grads

    # Without aux and for one argument, (value, gradient) is the flat result itself.
    structure = nested if has_aux or as_tuple else single
    return _staged(fn).derive(lambda f: grad_graph(f, nums, has_aux, with_value=True),
                              structure, ("value_and_grad", tuple(nums), has_aux))


def _jacobian(fn: Any, argnums: int | Sequence[int], mode: str) -> Staged:
    from adjit.passes.autodiff.compose import jacobian_graph

    nums, as_tuple = _argnums(argnums)
    outputs: list[int] = []

    def step(f: Function) -> Function:
        outputs[:] = [k for k, t in enumerate(f.returned_types) if is_differentiable(t)]
        return jacobian_graph(f, nums, mode)

    def per_output(flat: list[Any]) -> Any:
        grouped = [tuple(flat[i * len(nums):(i + 1) * len(nums)]) for i in range(len(outputs))]
        return grouped[0] if len(grouped) == 1 else tuple(grouped)

    # With one argnum the flat results are the answer: calls go straight to native code.
    return _staged(fn).derive(step, per_output if as_tuple else single)


def jacfwd(fn: Any, argnums: int | Sequence[int] = 0) -> Staged:
    """The Jacobian by forward mode: one tangent pass per input element."""
    return _jacobian(fn, argnums, "forward")


def jacrev(fn: Any, argnums: int | Sequence[int] = 0) -> Staged:
    """The Jacobian by reverse mode: one adjoint pass per output element."""
    return _jacobian(fn, argnums, "reverse")


def jacobian(fn: Any, argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Jacobian, by forward mode when the result has more elements than the
    arguments differentiated and by reverse mode otherwise (decided once per
    argument types and shapes, by running f)."""
    forward, reverse = jacfwd(fn, argnums), jacrev(fn, argnums)
    nums, _ = _argnums(argnums)
    chosen: dict[tuple, Staged] = {}  # per argument types and shapes: f runs once per key

    def call(*args: Any) -> Any:
        key = tuple((type(a), np.shape(a)) for a in args)
        if key not in chosen:
            out = _staged(fn)(*args)
            n_out = sum(np.size(o) for o in (out if isinstance(out, tuple) else (out,)))
            n_in = sum(np.size(args[k]) for k in nums)
            chosen[key] = forward if n_out > n_in else reverse
        return chosen[key](*args)

    return call


def hessian(fn: Any, argnums: int | Sequence[int] = 0) -> Staged:
    """jacfwd(jacrev(f)): forward over reverse."""
    return jacfwd(jacrev(fn, argnums), argnums)


def jvp(fn: Any, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """(f(*primals), the derivative of f at primals in the direction tangents).

    Tangents of int and bool arguments are ignored (they have no derivative)."""
    staged = _staged(fn)
    values = bind_arguments(staged.target, list(primals))
    wrt = [k for k, v in enumerate(values) if is_differentiable(type_of(v))]
    if len(tangents) != len(primals):
        raise TypeError(f"jvp needs one tangent per primal ({len(primals)}), got "
                        f"{len(tangents)}")
    tangent_values = [np.asarray(tangents[k], dtype=np.float64) if isinstance(values[k], np.ndarray)
                      else float(tangents[k]) for k in wrt if k < len(tangents)]
    derived = staged.derive_cached(("jvp", tuple(wrt)), lambda: _JVPStep(wrt))
    runner, n_ret, n_diff = derived.steps[-1].specialize(derived, values)
    out = runner(*values, *tangent_values)
    flat = list(out) if isinstance(out, tuple) else [out]
    return staged.structure(flat[:n_ret]), single(flat[n_ret:n_ret + n_diff])


class _JVPStep:
    """The IR step of `jvp`, remembering the result counts per signature."""

    def __init__(self, wrt: list[int]):
        self.wrt = wrt
        self.counts: tuple[int, int] = (0, 0)
        self.runners: dict[tuple, Any] = {}

    def __call__(self, fn: Function) -> Function:
        from adjit.passes.autodiff.compose import jvp_graph

        self.counts = (len(fn.returned_types),
                       sum(1 for t in fn.returned_types if is_differentiable(t)))
        return jvp_graph(fn, self.wrt)

    def specialize(self, staged: "Staged", values: list[Any]):
        key = staged.signature(values)
        if key not in self.runners:
            runner = staged.specialization(values)
            self.runners[key] = (runner, *self.counts)
        return self.runners[key]


def vjp(fn: Any, *primals: Any) -> tuple[Any, Callable[..., tuple]]:
    """(f(*primals), vjp_fn): vjp_fn(cotangent) returns one cotangent per
    primal (None for int and bool arguments), as a tuple.

    The forward graph runs now and returns the residuals (straight-line
    values and loop tapes); vjp_fn runs the compiled adjoint graph on them.
    """
    staged = _staged(fn)
    # The adjoint is taken at the arguments as they are now, even if the
    # function writes to its array arguments.
    values = [v.copy() if isinstance(v, np.ndarray) else v
              for v in bind_arguments(staged.target, list(primals))]
    wrt = [k for k, v in enumerate(values) if is_differentiable(type_of(v))]
    forward = staged.derive_cached(("vjp", tuple(wrt)), lambda: _SplitStep(wrt))
    run_forward, adjoint, n_ret, n_res = forward.steps[-1].specialize(forward, values)
    flat = run_forward(*values)
    flat = list(flat) if isinstance(flat, tuple) else [flat]
    primal_out = staged.structure(flat[:n_ret])
    residuals = flat[n_ret:n_ret + n_res]

    def vjp_fn(cotangent: Any) -> tuple:
        cts = list(cotangent) if isinstance(cotangent, tuple) else [cotangent]
        cts = [np.asarray(c, dtype=np.float64) if isinstance(c, np.ndarray) else float(c)
               for c in cts]
        saved = [_fresh_residual(r) for r in residuals]  # vjp_fn may be called again
        grads = adjoint(*saved, *cts)
        grads = list(grads) if isinstance(grads, tuple) else [grads]
        out: list[Any] = [None] * len(primals)
        for k, g in zip(wrt, grads):
            if k < len(primals):
                out[k] = g
        return tuple(out)

    return primal_out, vjp_fn


def _fresh_residual(value: Any) -> Any:
    """A residual the adjoint may consume (tapes are popped): a copy of it."""
    copy = getattr(value, "copy", None)
    return copy() if copy is not None and not isinstance(value, np.ndarray) else value


class _SplitStep:
    """The IR step of `vjp`: the forward graph, remembering the adjoint graph
    and compiling it beside the forward one, once per signature."""

    def __init__(self, wrt: list[int]):
        self.wrt = wrt
        self.split: dict[tuple, Any] = {}
        self.current: Any = None

    def __call__(self, fn: Function) -> Function:
        from adjit.passes.autodiff.split import split_vjp

        self.current = (split_vjp(fn, self.wrt), len(fn.returned_types))
        return self.current[0].forward

    def specialize(self, staged: "Staged", values: list[Any]):
        key = staged.signature(values)
        if key not in self.split:
            run_forward = staged.specialization(values)
            parts, n_ret = self.current
            adj = parts.adjoint
            with collector_paused():
                adjoint = staged._compile(Module({adj.name: adj}, adj.name, adj.source))
            self.split[key] = (run_forward, adjoint, n_ret, parts.residual_count)
        return self.split[key]


def finite_difference_step(x: float) -> float:
    """Central-difference step for an input of this size: about the cube root
    of machine epsilon, relative to |x| (1e-6 * max(1, |x|)), which balances
    truncation error (O(h^2)) and rounding error (O(eps / h))."""
    return 1e-6 * max(1.0, abs(x))


def check_grad(fn: Any, *args: Any, argnums: int | Sequence[int] | None = None) -> dict:
    """Compare reverse mode, forward mode and central finite differences.

    Returns the largest relative errors (`reverse_vs_fd`, `forward_vs_fd`,
    `forward_vs_reverse`) and the three Jacobians (by argument), as a dict.
    """
    staged = _staged(fn)
    values = bind_arguments(staged.target, list(args))
    if argnums is None:
        argnums = [k for k, v in enumerate(values[:len(args)])
                   if is_differentiable(type_of(v))]
    nums, _ = _argnums(argnums)
    reverse = jacrev(staged, tuple(nums))(*values)
    forward = jacfwd(staged, tuple(nums))(*values)
    if isinstance(reverse, tuple) and len(reverse) and isinstance(reverse[0], tuple):
        raise TypeError("check_grad compares functions with one differentiable result")
    fd = []
    for k in nums:
        x = np.asarray(values[k], dtype=np.float64)
        columns = []
        for index in np.ndindex(*x.shape):
            h = finite_difference_step(float(x[index]))
            up, down = list(values), list(values)
            if x.ndim:
                up[k], down[k] = x.copy(), x.copy()
                up[k][index] += h
                down[k][index] -= h
            else:
                up[k], down[k] = float(x) + h, float(x) - h
            hi = np.asarray(staged(*up), dtype=np.float64)
            lo = np.asarray(staged(*down), dtype=np.float64)
            columns.append((hi - lo) / (2 * h))
        stacked = np.stack(columns, axis=-1) if columns else np.zeros(0)
        fd.append(stacked.reshape(np.shape(stacked)[:-1] + x.shape) if x.ndim else stacked[..., 0])
    reverse = list(reverse) if isinstance(reverse, tuple) else [reverse]
    forward = list(forward) if isinstance(forward, tuple) else [forward]

    def worst(a: list, b: list) -> float:
        errors = [np.max(np.abs(np.asarray(x) - np.asarray(y)) /
                         np.maximum(1.0, np.abs(np.asarray(y))), initial=0.0)
                  for x, y in zip(a, b)]
        return float(max(errors, default=0.0))

    return {"reverse_vs_fd": worst(reverse, fd), "forward_vs_fd": worst(forward, fd),
            "forward_vs_reverse": worst(forward, reverse),
            "reverse": reverse, "forward": forward, "finite_differences": fd}


def make_ir(fn: Any) -> Callable[..., Module]:
    """`make_ir(f)(*args)`: the IR module of `f` (or of a transformed adjit
    function) specialized on `args`' types, as `jax.make_jaxpr`."""
    staged = _staged(fn)
    return staged.ir


def interpret(fn: Any) -> Callable[..., Any]:
    """`interpret(f)(*args)`: run `f` on adjit's reference interpreter."""
    staged = _staged(fn)
    return Staged(staged.fn, staged.steps, staged.structure, backend="interp")


__all__ = ["jit", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian",
           "hessian", "check_grad", "make_ir", "interpret", "Staged"]
