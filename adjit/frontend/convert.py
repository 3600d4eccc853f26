"""Lark parse tree -> the syntax tree of `adjit.frontend.syntax`, with the subset's checks.

`Converter` has one method per grammar rule or alias (grammar.lark parses
more than the subset on purpose) and rejects, by name, at its own location
and with a hint, every construct adjit does not compile. It walks the tree
with an explicit stack, so nesting costs no Python frames; expressions deeper
than MAX_EXPR_DEPTH are rejected, so later stages may recurse over the result.
Spans come from the tokens the parse tree keeps: 1-based lines and columns,
end exclusive.
"""
from __future__ import annotations

import ast
import functools
import warnings
from dataclasses import dataclass

from lark import Token, Tree

from adjit.errors import AdjitSyntaxError, SourceFile, Span, UnsupportedError
from adjit.frontend import syntax as S

MAX_EXPR_DEPTH = 200  # CPython's own limit on nested parentheses
INT64_MAX = 2**63 - 1
ALLOWED_MODULES = frozenset({"math", "numpy", "adjit"})
LAYOUT = frozenset({"_NEWLINE", "_INDENT", "_DEDENT", "$END"})  # tokens that take up no text
# Tokens that carry a value. Other tokens (keywords, punctuation) only delimit:
# they give spans their ends, then are dropped before a method sees children.
_VALUE_TOKENS = frozenset({"NAME", "DEC_NUMBER", "HEX_NUMBER", "OCT_NUMBER", "BIN_NUMBER",
                           "FLOAT_NUMBER", "IMAG_NUMBER", "STRING", "LONG_STRING"})


def token_span(tok: Token) -> Span:
    return Span(tok.line, tok.column, tok.end_line, tok.end_column)


def tree_span(tree: Tree) -> Span:
    """The span of a parse tree, from its first to its last token."""
    ends = []
    for order in (iter, reversed):
        t = tree
        while isinstance(t, Tree):
            t = next(c for c in order(t.children)
                     if c is not None and not (isinstance(c, Token) and c.type in LAYOUT))
        ends.append(t)
    return Span(ends[0].line, ends[0].column, ends[1].end_line, ends[1].end_column)


@dataclass
class _StringLit:
    """A string literal: allowed as a docstring, rejected anywhere else."""

    span: Span
    pieces: list[str]

    def kind(self) -> str:
        prefixes = {p[:p.index(p[-1])].lower() for p in self.pieces}
        if any("f" in p for p in prefixes):
            return "f-strings"
        return "bytes literals" if any("b" in p for p in prefixes) else "string literals"


@dataclass
class Docstring:
    """A string statement: a docstring if it comes first, else rejected."""

    span: Span
    value: str


@dataclass
class Import:
    """What an import statement binds (only the module level may have them)."""

    span: Span
    module_aliases: dict[str, str]
    imported_names: dict[str, tuple[str, str]]


@dataclass
class _Clause:
    """An `elif` (with its test) or an `else` (test None) clause."""

    span: Span
    test: S.Expr | None
    body: list[S.Stmt]


_IGNORED = object()  # what annotations and the `/` parameter marker convert to

_VALUES = "adjit compiles numbers, tuples and numpy arrays"
# Constructs rejected without looking inside them: rule or alias -> message.
_REJECTED = {
    "classdef": "class definitions are not supported; write module-level functions",
    "lambdef": "lambda is not supported; write a module-level def instead",
    "with_stmt": "`with` statements are not supported",
    "try_stmt": "`try` statements are not supported; adjit raises CPython's exceptions itself, "
                "catch them around the call",
    "raise_stmt": "`raise` is not supported; adjit raises CPython's exceptions itself "
                  "(ZeroDivisionError, ValueError, IndexError, ...)",
    "assert_stmt": "`assert` is not supported; check the arguments before the call",
    "global_stmt": "`global` is not supported; pass the value as a parameter "
                   "(module-level constants can be read directly)",
    "nonlocal_stmt": "`nonlocal` is not supported; pass the value as a parameter",
    "del_stmt": "`del` is not supported; just stop using the name",
    "yield_expr": "`yield` is not supported (generators cannot be compiled); "
                  "return the values instead",
    "await_": "`await` is not supported; adjit compiles plain functions",
    "walrus": "assignment expressions (`:=`) are not supported; assign in a statement of its own",
    "list_display": "list literals are not supported; create the array with `np.zeros(n)` "
                    "and assign its elements (`np.array([...])` is not supported either)",
    "list_comp": "list comprehensions are not supported; fill an array made with `np.zeros(n)` "
                 "in a `for i in range(n)` loop",
    "dict_display": "dict literals are not supported; " + _VALUES,
    "dict_comp": "dict comprehensions are not supported; " + _VALUES,
    "set_display": "set literals are not supported; " + _VALUES,
    "set_comp": "set comprehensions are not supported; " + _VALUES,
    "genexp": "generator expressions are not supported; accumulate in a `for i in range(n)` loop",
    "slice": "slicing is not supported; loop over the indices instead",
    "star_expr": "starred expressions (`*x`) are not supported; write the elements one by one",
    "star_arg": "argument unpacking (`f(*args)`) is not supported; pass the arguments one by one",
    "kwargs_arg": "argument unpacking (`f(**kwargs)`) is not supported; "
                  "pass the arguments one by one",
    "kwargs_param": "`**kwargs` parameters are not supported; list the parameters one by one",
    "none": "None is not supported; return a number (e.g. 0.0 or math.nan) instead",
    "ellipsis": "`...` is not supported; write `pass`",
    "imag": "complex literals are not supported; adjit computes with float64",
    "relative_import": "relative imports are not supported: "
                       "adjit resolves only math, numpy and adjit",
    "import_star": "`from module import *` is not supported; import the names you use",
}
_BITWISE = "bitwise operator {!r} is not supported; use `and` / `or` / `not` for logic"
_MATMUL = "matrix multiplication `@` is not supported; write the loop"
STRING_MESSAGE = "{} are not supported (except as docstrings); adjit compiles numeric code"


def _whole(method):
    """Mark a converter method as taking the unconverted subtree."""
    method.takes = "tree"
    return method


def _with_tokens(method):
    """Mark a converter method as taking its keyword and operator tokens too."""
    method.takes = "tokens"
    return method


class Converter:
    """Lark parse tree -> syntax tree, bottom-up with an explicit stack.

    Each rule or alias has a method `name(span, children)` that receives the
    converted children without delimiting tokens (@_with_tokens: with them).
    Methods marked @_whole and the constructs named in _REJECTED see the
    subtree before its children are converted, so the outermost unsupported
    construct is the one reported.
    """

    def __init__(self, source: SourceFile, adjit_names: set[str]):
        self.source = source
        self.adjit_names = adjit_names

    def unsupported(self, message: str, span: Span) -> UnsupportedError:
        return UnsupportedError(message, self.source, span)

    def syntax_error(self, message: str, span: Span) -> AdjitSyntaxError:
        return AdjitSyntaxError(message, self.source, span)

    def convert(self, root: Tree):
        values: list = []
        depths: list[int] = []  # expression depth of each value (0 for non-expressions)
        spans: dict[int, Span] = {}  # id(tree) -> span, for the trees converted so far
        stack = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if not isinstance(node, Tree):  # a Token or a None placeholder
                values.append(node)
                depths.append(0)
                continue
            method, takes = self._rule(node.data)
            if not children_done:
                if node.data in _REJECTED:
                    raise self.unsupported(_REJECTED[node.data], tree_span(node))
                if takes == "tree":
                    span = spans[id(node)] = tree_span(node)
                    values.append(method(self, span, node))
                    depths.append(0)
                else:
                    stack.append((node, True))
                    stack.extend((child, False) for child in reversed(node.children))
                continue
            span = spans[id(node)] = self._span_of(node.children, spans)
            start = len(values) - len(node.children)
            children, child_depths = values[start:], depths[start:]
            del values[start:], depths[start:]
            args = []
            for child in children:
                if isinstance(child, Token):
                    if child.type in _VALUE_TOKENS or (takes == "tokens"
                                                       and child.type not in LAYOUT):
                        args.append(child)
                elif isinstance(child, _StringLit) and node.data != "expr_stmt":
                    raise self.unsupported(STRING_MESSAGE.format(child.kind()), child.span)
                else:
                    args.append(child)
            result = method(self, span, args)
            deepest = max(child_depths)
            if isinstance(result, S.Expr):  # parentheses (`paren`) add no depth
                depths.append(deepest if args and result is args[0] else deepest + 1)
            elif deepest > MAX_EXPR_DEPTH:
                culprit = children[child_depths.index(deepest)]
                raise self.unsupported(f"expression nested too deeply (limit {MAX_EXPR_DEPTH}); "
                                       "split it into several assignments", culprit.span)
            else:
                depths.append(0)
            values.append(result)
        return values[0]

    @classmethod
    @functools.cache
    def _rule(cls, name: str):
        """The method for a rule or alias, and what it takes."""
        method = getattr(cls, name, None)
        return method, getattr(method, "takes", "values")

    @staticmethod
    def _span_of(children: list, spans: dict[int, Span]) -> Span:
        """From the first to the last child that takes up text (written out: it is hot)."""
        for first in children:
            if first is not None and not (isinstance(first, Token) and first.type in LAYOUT):
                break
        for last in reversed(children):
            if last is not None and not (isinstance(last, Token) and last.type in LAYOUT):
                break
        if isinstance(first, Token):
            line, col = first.line, first.column
        else:
            start = spans[id(first)]
            line, col = start.line, start.col
        if isinstance(last, Token):
            return Span(line, col, last.end_line, last.end_column)
        end = spans[id(last)]
        return Span(line, col, end.end_line, end.end_col)

    # --- expressions ---

    def paren(self, span, c):
        return c[0]  # the span of a parenthesized expression excludes the parentheses

    def var(self, span, c):
        return S.Name(span, c[0].value)

    def int_(self, span, c):
        try:
            value = int(c[0].value, 0)
        except ValueError:  # more digits than int() converts, so far beyond int64
            value = INT64_MAX + 1
        if value > INT64_MAX:
            raise self.unsupported("integer literal does not fit in 64 bits (adjit's integers are "
                                   "int64); write it as a float, e.g. 1e20", span)
        return S.Num(span, value)

    def float_(self, span, c):
        return S.Num(span, float(c[0].value))

    def true(self, span, c):
        return S.Num(span, True)

    def false(self, span, c):
        return S.Num(span, False)

    def string(self, span, c):
        return _StringLit(span, [t.value for t in c])

    def tuple(self, span, c):
        return S.Tuple(span, list(c))

    def getattr(self, span, c):
        return S.Attribute(span, c[0], c[1].value)

    def getitem(self, span, c):
        value, *indices = c
        if len(indices) == 1 and isinstance(indices[0], S.Tuple):
            indices = indices[0].elts  # x[(i, j)] is x[i, j]
        return S.Subscript(span, value, indices)

    def call(self, span, c):
        func, *args = c
        path = _dotted(func)
        if path is None:
            raise self.unsupported("only calls of named functions are supported, "
                                   "such as `f(x)` or `math.sin(x)`", func.span)
        return S.Call(span, path, args, func_span=func.span)

    @_whole
    def kwarg(self, span, tree):
        name = tree.children[0].value
        raise self.unsupported(f"keyword arguments are not supported; "
                               f"pass `{name}` positionally", span)

    @_with_tokens
    def binop(self, span, c):
        left, op, right = c
        if op.value == "@":
            raise self.unsupported(_MATMUL, token_span(op))
        return S.BinOp(span, op.value, left, right)

    @_whole
    def bitop(self, span, tree):
        while isinstance(tree.children[0], Tree) and tree.children[0].data == "bitop":
            tree = tree.children[0]  # report the first operator of a chain
        op = tree.children[1]
        raise self.unsupported(_BITWISE.format(op.value), token_span(op))

    @_with_tokens
    def unary(self, span, c):
        op, operand = c
        if op.value == "~":
            raise self.unsupported(_BITWISE.format("~"), token_span(op))
        return S.UnaryOp(span, op.value, operand)

    def not_(self, span, c):
        return S.UnaryOp(span, "not", c[0])

    def or_test(self, span, c):
        return S.BoolOp(span, "or", list(c))

    def and_test(self, span, c):
        return S.BoolOp(span, "and", list(c))

    @_with_tokens
    def comp_op(self, span, c):
        op = " ".join(t.value for t in c)
        if op in ("is", "is not"):
            raise self.unsupported(f"`{op}` comparisons are not supported; compare numbers with "
                                   "`==` or `!=`", span)
        if op in ("in", "not in"):
            raise self.unsupported(f"`{op}` tests are not supported; compare the values "
                                   "one by one", span)
        return op

    def comparison(self, span, c):
        return S.Compare(span, c[0], list(c[1::2]), list(c[2::2]))

    def ifexp(self, span, c):
        body, test, orelse = c
        return S.IfExp(span, test, body, orelse)

    # --- simple statements ---

    def expr_stmt(self, span, c):
        if not isinstance(c[0], _StringLit):
            return S.ExprStmt(span, c[0])
        if c[0].kind() != "string literals":
            raise self.unsupported(STRING_MESSAGE.format(c[0].kind()), span)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes are only deprecated
                value = ast.literal_eval(" ".join(c[0].pieces))
        except (SyntaxError, ValueError) as e:
            reason = e.msg if isinstance(e, SyntaxError) else e
            raise self.syntax_error(f"invalid string literal: {reason}", span) from None
        return Docstring(span, value)

    def assign(self, span, c):
        *targets, value = c
        return S.Assign(span, [self._target(t) for t in targets], value)

    @_with_tokens
    def augassign(self, span, c):
        target, op, value = c
        op = op.value[:-1]
        if op == "@":
            raise self.unsupported(_MATMUL, span)
        if op in ("&", "|", "^", "<<", ">>"):
            raise self.unsupported(_BITWISE.format(op), span)
        if isinstance(target, S.Tuple):
            raise self.syntax_error("'tuple' is an illegal expression for augmented assignment",
                                    target.span)
        return S.AugAssign(span, self._target(target), op, value)

    def annassign(self, span, c):
        target, _, *value = c
        if not value:
            raise self.unsupported("an annotation without a value is not supported; "
                                   "assign a value, as in `x: float = 0.0`", span)
        if isinstance(target, S.Tuple):
            raise self.syntax_error("only a single target (not a tuple) can be annotated",
                                    target.span)
        return S.Assign(span, [self._target(target)], value[0])

    @_whole
    def annotation(self, span, tree):
        return _IGNORED

    def _target(self, t: S.Expr) -> S.Expr:
        if isinstance(t, S.Name) or (isinstance(t, S.Subscript) and isinstance(t.value, S.Name)):
            return t
        if isinstance(t, S.Subscript):
            raise self.unsupported("only `name[...] = value` element writes are supported; "
                                   "write `A[i, j] = v` instead of `A[i][j] = v`", t.span)
        if isinstance(t, S.Tuple):
            for elt in t.elts:
                if not isinstance(elt, S.Name):
                    raise self.unsupported("tuple assignment targets must be plain names, "
                                           "as in `a, b = b, a`", elt.span)
            return t
        if isinstance(t, S.Attribute):
            raise self.unsupported("assignment to attributes is not supported", t.span)
        what = {S.Call: "function call", S.Num: "literal"}.get(type(t), "expression")
        raise self.syntax_error(f"cannot assign to {what}", t.span)

    def pass_stmt(self, span, c):
        return S.Pass(span)

    def break_stmt(self, span, c):
        return S.Break(span)

    def continue_stmt(self, span, c):
        return S.Continue(span)

    def return_stmt(self, span, c):
        return S.Return(span, c[0])

    # --- imports ---

    def dotted_name(self, span, c):
        return ".".join(t.value for t in c), span

    def _module(self, module: str, span: Span) -> str:
        if module not in ALLOWED_MODULES:
            raise self.unsupported(f"import of module {module!r} is not supported: "
                                   "adjit resolves only math, numpy and adjit", span)
        return module

    def dotted_as_name(self, span, c):
        (module, module_span), *alias = c
        return (alias[0].value if alias else module), self._module(module, module_span)

    def import_name(self, span, c):
        return Import(span, dict(c), {})

    def import_as_name(self, span, c):
        return c[-1].value, c[0].value

    def import_from(self, span, c):
        (module, module_span), *names = c
        if module == "__future__":  # compiler directives that change nothing here
            return Import(span, {}, {})
        self._module(module, module_span)
        return Import(span, {}, {local: (module, name) for local, name in names})

    # --- compound statements ---

    def suite(self, span, c):
        return list(c)

    def _block(self, items: list) -> list[S.Stmt]:
        """A function's or a loop's body: statements only."""
        for item in items:
            if isinstance(item, S.FunctionDef):
                raise self.unsupported(f"nested function definitions are not supported; "
                                       f"define `{item.name}` at module level", item.span)
            if isinstance(item, Docstring):
                raise self.unsupported(STRING_MESSAGE.format("string literals"), item.span)
            if isinstance(item, Import):
                raise self.unsupported("imports inside functions are not supported; "
                                       "import at module level", item.span)
        return items

    def elif_clause(self, span, c):
        return _Clause(span, c[0], self._block(c[1]))

    def else_clause(self, span, c):
        return _Clause(span, None, self._block(c[0]))

    def if_stmt(self, span, c):
        test, body, *elifs, orelse = c
        rest = orelse.body if orelse else []
        for clause in reversed(elifs):
            whole = Span(clause.span.line, clause.span.col, span.end_line, span.end_col)
            rest = [S.If(whole, clause.test, clause.body, rest)]
        return S.If(span, test, self._block(body), rest)

    def while_stmt(self, span, c):
        test, body, orelse = c
        if orelse:
            raise self.unsupported("`while ... else` is not supported; set a flag before `break` "
                                   "and test it after the loop", orelse.span)
        return S.While(span, test, self._block(body))

    def for_stmt(self, span, c):
        target, iterable, body, orelse = c
        if orelse:
            raise self.unsupported("`for ... else` is not supported; set a flag before `break` "
                                   "and test it after the loop", orelse.span)
        if not isinstance(target, S.Name):
            raise self.unsupported("the target of a `for` loop must be one name, "
                                   "as in `for i in range(n)`", target.span)
        if not (isinstance(iterable, S.Call) and iterable.func == ("range",)):
            raise self.unsupported("only `for i in range(...)` is supported; index the array "
                                   "instead: `for i in range(len(x))`", iterable.span)
        if not 1 <= len(iterable.args) <= 3:
            raise self.unsupported(f"range expects 1 to 3 arguments, got {len(iterable.args)}",
                                   iterable.span)
        return S.For(span, target, iterable.args, self._block(body))

    @_whole
    def async_stmt(self, span, tree):
        what = {"funcdef": "def", "for_stmt": "for", "with_stmt": "with"}[tree.children[1].data]
        raise self.unsupported(f"`async {what}` is not supported; "
                               "adjit compiles plain functions", span)

    # --- functions ---

    def funcdef(self, span, c):
        name, params, body = c[0], c[1], c[-1]
        docstring = None
        if isinstance(body[0], Docstring):
            docstring, body = body[0].value, body[1:]
        body = self._block(body)
        self._check_loop_control(body)
        return S.FunctionDef(name.value, params or [], body, span, docstring)

    def _check_loop_control(self, body: list[S.Stmt]) -> None:
        stack = [(body, False)]
        while stack:
            stmts, in_loop = stack.pop()
            for stmt in stmts:
                if isinstance(stmt, (S.Break, S.Continue)) and not in_loop:
                    word = "break" if isinstance(stmt, S.Break) else "continue"
                    raise self.syntax_error(f"'{word}' outside loop", stmt.span)
                if isinstance(stmt, S.If):
                    stack += [(stmt.body, in_loop), (stmt.orelse, in_loop)]
                elif isinstance(stmt, (S.While, S.For)):
                    stack.append((stmt.body, True))

    def parameters(self, span, c):
        params = [p for p in c if p is not _IGNORED]
        seen: set[str] = set()
        for i, p in enumerate(params):
            if p.name in seen:
                raise self.syntax_error(f"duplicate parameter {p.name!r} in function definition",
                                        p.span)
            seen.add(p.name)
            if p.default is None and i and params[i - 1].default is not None:
                raise self.syntax_error("parameter without a default follows parameter "
                                        "with a default", p.span)
        return params

    def param(self, span, c):
        name, *rest = [p for p in c if p is not _IGNORED]  # the annotation is ignored
        return S.Param(name.value, token_span(name), self._default(rest[0] if rest else None))

    def _default(self, d: S.Expr | None) -> S.Num | None:
        if d is None or isinstance(d, S.Num):
            return d
        if isinstance(d, S.UnaryOp) and d.op in "+-" and isinstance(d.operand, S.Num):
            value = d.operand.value
            return S.Num(d.span, -value if d.op == "-" else +value)
        raise self.unsupported("a parameter default must be a number literal, "
                               "such as `1.0` or `-2`", d.span)

    @_whole
    def star_param(self, span, tree):
        if len(tree.children) > 1:
            raise self.unsupported("`*args` parameters are not supported; "
                                   "list the parameters one by one", span)
        raise self.unsupported("keyword-only parameters (after a bare `*`) are not supported; "
                               "make them positional", span)

    def slash_param(self, span, c):
        return _IGNORED  # adjit's parameters are all positional anyway

    @_whole
    def decorator(self, span, tree):
        expr = tree.children[1]
        if isinstance(expr, Tree) and expr.data == "call":
            expr = expr.children[0]
        path = _lark_dotted(expr)
        if path is None or path[0] not in self.adjit_names:
            shown = f"`@{'.'.join(path)}`" if path else "this decorator"
            raise self.unsupported(f"decorator {shown} is not supported; only adjit's decorators "
                                   "(such as `@adjit.jit`) may decorate a compiled function", span)
        return path

    def decorated(self, span, c):
        *decorators, func = c
        func.decorators = list(decorators)
        return func


def _dotted(e: S.Expr) -> tuple[str, ...] | None:
    """`a.b.c` as ("a", "b", "c"); None if `e` is not a dotted name."""
    parts = []
    while isinstance(e, S.Attribute):
        parts.append(e.attr)
        e = e.value
    return (e.id, *reversed(parts)) if isinstance(e, S.Name) else None


def _lark_dotted(t) -> tuple[str, ...] | None:
    """`_dotted` of an unconverted parse tree."""
    parts = []
    while isinstance(t, Tree) and t.data == "getattr":
        parts.append(t.children[-1].value)
        t = t.children[0]
    if isinstance(t, Tree) and t.data == "var":
        return (t.children[0].value, *reversed(parts))
    return None
