"""Variable bindings during lowering, and how they merge at joins.

A `Binding` maps a source variable to the SSA value it holds, or records that
the variable is possibly undefined (assigned on some paths only), with the
assignment sites for the error message. Names starting with `$` are the
lowering's own variables (break/continue/return flags, return values, loop
counters); they never become "possibly undefined": where one path lacks them,
a placeholder of the right type is used (False for a flag, which is exactly
its meaning there; any value for the others, which the flags guard).
"""
from __future__ import annotations

from dataclasses import dataclass

from adjit.errors import Span
from adjit.ir.types import BOOL, F64, I64, Type


@dataclass(frozen=True)
class Binding:
    value: object | None  # an ir Value, or None when possibly undefined
    sites: tuple[Span, ...]  # where the variable was assigned

    @property
    def defined(self) -> bool:
        return self.value is not None


Env = dict[str, Binding]


def is_internal(name: str) -> bool:
    return name.startswith("$")


def unify(a: Type, b: Type) -> Type | None:
    """The type both branches' values convert to (Python's promotion)."""
    if a == b:
        return a
    pair = {a, b}
    if pair <= {F64, I64, BOOL}:
        return F64 if F64 in pair else I64
    return None


def assigned_names(stmts) -> set[str]:
    """Every variable a statement list may (re)bind, syntactically."""
    from adjit.frontend import syntax as s

    out: set[str] = set()

    def target(t) -> None:
        if isinstance(t, s.Name):
            out.add(t.id)
        elif isinstance(t, s.Subscript) and isinstance(t.value, s.Name):
            out.add(t.value.id)
        elif isinstance(t, s.Tuple):
            for e in t.elts:
                target(e)

    stack = list(stmts)
    while stack:
        st = stack.pop()
        if isinstance(st, s.Assign):
            for t in st.targets:
                target(t)
        elif isinstance(st, s.AugAssign):
            target(st.target)
        elif isinstance(st, s.If):
            stack.extend(st.body)
            stack.extend(st.orelse)
        elif isinstance(st, s.While):
            stack.extend(st.body)
        elif isinstance(st, s.For):
            out.add(st.var.id)
            stack.extend(st.body)
    return out


def contains(stmts, kinds: tuple[type, ...], into_loops: bool) -> bool:
    """Whether a statement of `kinds` occurs, optionally inside nested loops."""
    from adjit.frontend import syntax as s

    stack = list(stmts)
    while stack:
        st = stack.pop()
        if isinstance(st, kinds):
            return True
        if isinstance(st, s.If):
            stack.extend(st.body)
            stack.extend(st.orelse)
        elif isinstance(st, (s.While, s.For)) and into_loops:
            stack.extend(st.body)
    return False


def written_arrays(stmts) -> set[str]:
    """Names an array write in `stmts` may go through: targets of `x[i] = v`
    and `x[i] += v`, arrays passed to a function (it may write to them), and
    the names they are copied from inside `stmts` (`y = x`)."""
    from adjit.frontend import syntax as s
    from adjit.frontend.library import BUILTINS

    out: set[str] = set()
    copies: list[tuple[str, str]] = []
    stack: list = list(stmts)
    while stack:
        item = stack.pop()
        if isinstance(item, (s.Assign, s.AugAssign)):
            targets = item.targets if isinstance(item, s.Assign) else [item.target]
            for t in targets:
                if isinstance(t, s.Subscript) and isinstance(t.value, s.Name):
                    out.add(t.value.id)
                if isinstance(item, s.Assign) and isinstance(t, s.Name) \
                        and isinstance(item.value, s.Name):
                    copies.append((t.id, item.value.id))
        if isinstance(item, s.Call) and not (len(item.func) == 1
                                             and item.func[0] in BUILTINS):
            out.update(a.id for a in item.args if isinstance(a, s.Name))
        if isinstance(item, (s.Stmt, s.Expr)):
            stack.extend(v for v in vars(item).values() if isinstance(v, (s.Stmt, s.Expr)))
            stack.extend(x for v in vars(item).values() if isinstance(v, list)
                         for x in v if isinstance(x, (s.Stmt, s.Expr)))
    changed = True
    while changed:  # y = x; y[i] = v writes x too
        changed = False
        for target, source in copies:
            if target in out and source not in out:
                out.add(source)
                changed = True
    return out


def may_write_arrays(stmts) -> bool:
    """Whether statements may write array elements: `x[i] = v`, `x[i] += v`,
    or a call of a function (which may write to the arrays it is given)."""
    from adjit.frontend import syntax as s
    from adjit.frontend.library import BUILTINS

    stack: list = list(stmts)
    while stack:
        item = stack.pop()
        if isinstance(item, (s.Assign, s.AugAssign)):
            targets = item.targets if isinstance(item, s.Assign) else [item.target]
            if any(isinstance(t, s.Subscript) for t in targets):
                return True
        if isinstance(item, s.Call) and len(item.func) == 1 and item.func[0] not in BUILTINS:
            return True  # maybe a user function
        if isinstance(item, (s.Stmt, s.Expr)):
            stack.extend(v for v in vars(item).values() if isinstance(v, (s.Stmt, s.Expr)))
            stack.extend(x for v in vars(item).values() if isinstance(v, list)
                         for x in v if isinstance(x, (s.Stmt, s.Expr)))
    return False
