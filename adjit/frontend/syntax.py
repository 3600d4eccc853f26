"""The syntax tree of adjit's Python subset.

The Lark parse tree is turned into these small dataclasses by
`adjit.frontend.parser`; `adjit.frontend.lower` turns them into IR. Every node
carries the `Span` of the source it came from. The tree holds only constructs
the subset supports: anything else is rejected by the parser with a message.

Names from imports are not resolved here: a call's `func` is the dotted name
as written (`("math", "sin")`, `("np", "zeros")`, `("sin",)`, `("g",)`); the
`Module` records what the imports bound so the lowering can resolve them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from adjit.errors import SourceFile, Span


# --- expressions -----------------------------------------------------------

@dataclass
class Expr:
    span: Span


@dataclass
class Num(Expr):
    """An int, float or bool literal (`value` has the Python type)."""

    value: int | float | bool


@dataclass
class Name(Expr):
    id: str


@dataclass
class BinOp(Expr):
    op: str  # one of + - * / // % **
    left: Expr
    right: Expr


@dataclass
class UnaryOp(Expr):
    op: str  # one of - + not
    operand: Expr


@dataclass
class Compare(Expr):
    """`left op0 c0 op1 c1 ...`, Python's chained comparison."""

    left: Expr
    ops: list[str]  # each one of < <= > >= == !=
    comparators: list[Expr]


@dataclass
class BoolOp(Expr):
    """`a and b and c` or `a or b`, with Python's short-circuit semantics."""

    op: str  # and | or
    values: list[Expr]


@dataclass
class IfExp(Expr):
    test: Expr
    body: Expr
    orelse: Expr


@dataclass
class Call(Expr):
    func: tuple[str, ...]  # dotted name as written
    args: list[Expr]
    func_span: Span | None = None


@dataclass
class Subscript(Expr):
    """`x[i]` or `A[i, j]` (indices are expressions, never slices)."""

    value: Expr
    indices: list[Expr]


@dataclass
class Attribute(Expr):
    """`x.shape` (the only attribute on values the subset has)."""

    value: Expr
    attr: str


@dataclass
class Tuple(Expr):
    elts: list[Expr]


# --- statements ------------------------------------------------------------

@dataclass
class Stmt:
    span: Span


@dataclass
class Assign(Stmt):
    """`t0 = t1 = value`; each target a Name, Subscript or Tuple of Names."""

    targets: list[Expr]
    value: Expr


@dataclass
class AugAssign(Stmt):
    target: Expr  # Name or Subscript
    op: str  # + - * / // % **
    value: Expr


@dataclass
class ExprStmt(Stmt):
    value: Expr


@dataclass
class If(Stmt):
    """`elif` chains are nested `If`s in `orelse`."""

    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]


@dataclass
class While(Stmt):
    test: Expr
    body: list[Stmt]


@dataclass
class For(Stmt):
    """`for var in range(*range_args)`: 1 to 3 arguments, as Python's range."""

    var: Name
    range_args: list[Expr]
    body: list[Stmt]


@dataclass
class Break(Stmt):
    pass


@dataclass
class Continue(Stmt):
    pass


@dataclass
class Pass(Stmt):
    pass


@dataclass
class Return(Stmt):
    value: Expr | None


# --- definitions -----------------------------------------------------------

@dataclass
class Param:
    name: str
    span: Span
    default: Num | None = None


@dataclass
class FunctionDef:
    name: str
    params: list[Param]
    body: list[Stmt]
    span: Span
    docstring: str | None = None
    decorators: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class Constant:
    """A module-level `NAME = <numeric literal or constant expression>`."""

    name: str
    value: Expr
    span: Span


@dataclass
class Module:
    source: SourceFile
    functions: dict[str, FunctionDef]
    constants: dict[str, Constant]
    # local name -> module, e.g. {"math": "math", "np": "numpy"}
    module_aliases: dict[str, str] = field(default_factory=dict)
    # local name -> (module, attribute), e.g. {"sin": ("math", "sin")}
    imported_names: dict[str, tuple[str, str]] = field(default_factory=dict)
