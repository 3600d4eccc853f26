"""The parser: source text -> syntax tree, and its errors.

Positive tests check tree shapes and spans; the rejection table checks that
each construct outside the subset (and each kind of syntax error) is reported
with the right class, line, column and message.
"""
from __future__ import annotations

import ast
import inspect
import math
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adjit.errors import AdjitSyntaxError, Span, UnsupportedError
from adjit.frontend import syntax as S
from adjit.frontend.parser import MAX_EXPR_DEPTH, parse_function_source, parse_module


def body(src: str) -> list[S.Stmt]:
    """The body of the only function in `src`."""
    (fn,) = parse_module(textwrap.dedent(src)).functions.values()
    return fn.body


def expr(text: str) -> S.Expr:
    """The expression `text`, parsed as `return text` in a function."""
    (ret,) = body(f"def f():\n    return {text}\n")
    return ret.value


def shape(e) -> object:
    """A compact, span-free picture of an expression tree, for comparisons."""
    if isinstance(e, S.Num):
        return e.value
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.BinOp):
        return (e.op, shape(e.left), shape(e.right))
    if isinstance(e, S.UnaryOp):
        return (e.op, shape(e.operand))
    if isinstance(e, S.BoolOp):
        return (e.op, *map(shape, e.values))
    if isinstance(e, S.Compare):
        return ("cmp", shape(e.left), *[(op, shape(c)) for op, c in zip(e.ops, e.comparators)])
    if isinstance(e, S.IfExp):
        return ("ifexp", shape(e.test), shape(e.body), shape(e.orelse))
    if isinstance(e, S.Call):
        return ("call", ".".join(e.func), *map(shape, e.args))
    if isinstance(e, S.Subscript):
        return ("[]", shape(e.value), *map(shape, e.indices))
    if isinstance(e, S.Attribute):
        return (".", shape(e.value), e.attr)
    if isinstance(e, S.Tuple):
        return ("tuple", *map(shape, e.elts))
    raise AssertionError(e)


# --- a representative program ---------------------------------------------

PROGRAM = '''\
"""A module docstring."""
from __future__ import annotations
import math
import numpy as np
from math import sin, sqrt as root
from adjit import jit

TWO_PI = 2 * math.pi
N = -3


@jit
def energy(x, n: int, scale=1.0, shift=-2) -> float:
    """Sum of squares; the docstring is not a statement."""
    total = 0.0  # a comment
    for i in range(n):
        total += x[i] ** 2
    if total > 10:
        return -total
    elif total < 0: return 0.0
    else:
        pass
    return scale * total + shift


def swap(a, b):
    a, b = b, a
    return (a, b)


if __name__ == "__main__":
    print("energy", energy([1.0, 2.0], 2, scale=3), {"not": "compiled"})
'''


def test_program_structure_and_spans():
    m = parse_module(PROGRAM, "prog.py")
    assert m.source.name == "prog.py"
    assert list(m.functions) == ["energy", "swap"]
    assert m.module_aliases == {"math": "math", "np": "numpy"}
    assert m.imported_names == {"sin": ("math", "sin"), "root": ("math", "sqrt"),
                                "jit": ("adjit", "jit")}
    assert shape(m.constants["TWO_PI"].value) == ("*", 2, (".", "math", "pi"))
    assert m.constants["TWO_PI"].span == Span(8, 1, 8, 21)
    assert shape(m.constants["N"].value) == ("-", 3)

    f = m.functions["energy"]
    assert f.decorators == [("jit",)]
    assert f.docstring == "Sum of squares; the docstring is not a statement."
    assert f.span == Span(13, 1, 23, 33)
    assert [(p.name, p.default and p.default.value) for p in f.params] == [
        ("x", None), ("n", None), ("scale", 1.0), ("shift", -2)]
    assert f.params[3].span == Span(13, 34, 13, 39)
    assert f.params[3].default.span == Span(13, 40, 13, 42)

    assign, loop, branch, ret = f.body
    assert isinstance(assign, S.Assign) and assign.span == Span(15, 5, 15, 16)
    assert isinstance(loop, S.For) and loop.span == Span(16, 5, 17, 27)
    assert loop.var.id == "i" and [shape(a) for a in loop.range_args] == ["n"]
    (aug,) = loop.body
    assert isinstance(aug, S.AugAssign) and aug.op == "+"
    assert shape(aug.value) == ("**", ("[]", "x", "i"), 2)
    assert aug.value.span == Span(17, 18, 17, 27)
    assert isinstance(branch, S.If) and branch.span == Span(18, 5, 22, 13)
    (elif_,) = branch.orelse
    assert isinstance(elif_, S.If) and elif_.span == Span(20, 5, 22, 13)
    assert isinstance(elif_.body[0], S.Return) and elif_.body[0].span == Span(20, 21, 20, 31)
    assert isinstance(elif_.orelse[0], S.Pass)
    assert shape(ret.value) == ("+", ("*", "scale", "total"), "shift")

    swap = m.functions["swap"]
    unpack, back = swap.body
    assert [shape(t) for t in unpack.targets] == [("tuple", "a", "b")]
    assert shape(unpack.value) == ("tuple", "b", "a")
    assert back.value.span == Span(28, 12, 28, 18)  # the parentheses belong to the tuple


# --- expressions -------------------------------------------------------------

@pytest.mark.parametrize("text,want", [
    ("-x**2", ("-", ("**", "x", 2))),
    ("a - b - c", ("-", ("-", "a", "b"), "c")),
    ("2**3**2", ("**", 2, ("**", 3, 2))),
    ("2**-1", ("**", 2, ("-", 1))),
    ("not a and b", ("and", ("not", "a"), "b")),
    ("a or b and not c", ("or", "a", ("and", "b", ("not", "c")))),
    ("a or b or c", ("or", "a", "b", "c")),
    ("a if b else c if d else e", ("ifexp", "b", "a", ("ifexp", "d", "c", "e"))),
    ("a + b * c % d // e / f", ("+", "a", ("/", ("//", ("%", ("*", "b", "c"), "d"), "e"), "f"))),
    ("(a + b) * -c", ("*", ("+", "a", "b"), ("-", "c"))),
    ("+a - -b", ("-", ("+", "a"), ("-", "b"))),
    ("a < b <= c", ("cmp", "a", ("<", "b"), ("<=", "c"))),
    ("a == b != c > d >= e", ("cmp", "a", ("==", "b"), ("!=", "c"), (">", "d"), (">=", "e"))),
    ("not a < b", ("not", ("cmp", "a", ("<", "b")))),
    ("a + b < c * d", ("cmp", ("+", "a", "b"), ("<", ("*", "c", "d")))),
    ("math.sin(x) + np.zeros((n, m))", ("+", ("call", "math.sin", "x"),
                                         ("call", "np.zeros", ("tuple", "n", "m")))),
    ("x.shape[0]", ("[]", (".", "x", "shape"), 0)),
    ("A[i, j + 1]", ("[]", "A", "i", ("+", "j", 1))),
    ("A[(i, j)]", ("[]", "A", "i", "j")),
    ("math.pi * np.nan", ("*", (".", "math", "pi"), (".", "np", "nan"))),
    ("np.linalg.norm(x)", ("call", "np.linalg.norm", "x")),
    ("f()", ("call", "f")),
    ("g(a, b,)", ("call", "g", "a", "b")),
    ("((((x))))", "x"),
    ("(a, b), c", ("tuple", ("tuple", "a", "b"), "c")),
    ("(a,)", ("tuple", "a")),
    ("()", ("tuple",)),
    ("a if b else c or d", ("ifexp", "b", "a", ("or", "c", "d"))),
])
def test_precedence_and_shapes(text, want):
    assert shape(expr(text)) == want


_PY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**", ast.USub: "-", ast.UAdd: "+", ast.Not: "not",
           ast.And: "and", ast.Or: "or", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.Eq: "==", ast.NotEq: "!="}


def py_shape(e: ast.expr) -> object:
    """`shape` of CPython's own syntax tree: the oracle for precedence."""
    if isinstance(e, ast.Constant):
        return e.value
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.BinOp):
        return (_PY_OPS[type(e.op)], py_shape(e.left), py_shape(e.right))
    if isinstance(e, ast.UnaryOp):
        return (_PY_OPS[type(e.op)], py_shape(e.operand))
    if isinstance(e, ast.BoolOp):
        return (_PY_OPS[type(e.op)], *map(py_shape, e.values))
    if isinstance(e, ast.Compare):
        return ("cmp", py_shape(e.left),
                *[(_PY_OPS[type(op)], py_shape(c)) for op, c in zip(e.ops, e.comparators)])
    if isinstance(e, ast.IfExp):
        return ("ifexp", py_shape(e.test), py_shape(e.body), py_shape(e.orelse))
    if isinstance(e, ast.Call):
        return ("call", e.func.id, *map(py_shape, e.args))
    if isinstance(e, ast.Subscript):
        index = e.slice.elts if isinstance(e.slice, ast.Tuple) else [e.slice]
        return ("[]", py_shape(e.value), *map(py_shape, index))
    if isinstance(e, ast.Attribute):
        return (".", py_shape(e.value), e.attr)
    if isinstance(e, ast.Tuple):
        return ("tuple", *map(py_shape, e.elts))
    raise AssertionError(ast.dump(e))


_OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or"]


def _compound(parts):
    return st.one_of(
        st.tuples(st.sampled_from(["-", "+", "not "]), parts).map("".join),
        st.tuples(parts, st.sampled_from(_OPERATORS), parts).map(" ".join),
        st.tuples(parts, parts, parts).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
        parts.map(lambda t: f"({t})"),
        st.lists(parts, max_size=3).map(lambda ts: f"f({', '.join(ts)})"),
        st.tuples(parts, parts).map(lambda t: f"x[{t[0]}, {t[1]}]"),
        st.tuples(parts, parts).map(lambda t: f"({t[0]}, {t[1]})"),
    )


_EXPRESSIONS = st.recursive(
    st.sampled_from(["a", "b", "x", "True", "False", "1", "2.5", "0x1f", "1_0", "math.pi"]),
    _compound, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_EXPRESSIONS)
def test_expressions_parse_as_cpython_parses_them(text):
    """Unparenthesized operators of every precedence level, against CPython's parser
    (text that is not Python, such as `a + not b`, must fail in both)."""
    try:
        want = repr(py_shape(ast.parse(text, mode="eval").body))
    except SyntaxError:
        want = "SyntaxError"
    try:
        got = repr(shape(expr(text)))
    except AdjitSyntaxError:
        got = "SyntaxError"
    assert got == want


@pytest.mark.parametrize("text,value", [
    ("1_000", 1000), ("0x1f", 31), ("0o17", 15), ("0b101", 5), ("0", 0), ("00", 0),
    ("1.5", 1.5), ("1e-3", 1e-3), (".5", 0.5), ("5.", 5.0), ("1_000.5", 1000.5), ("2E+2", 200.0),
    ("True", True), ("False", False), ("9223372036854775807", 2**63 - 1),
])
def test_literals(text, value):
    e = expr(text)
    assert isinstance(e, S.Num) and e.value == value and type(e.value) is type(value)


def test_huge_float_literal_is_inf_as_in_python():
    assert expr("1e999").value == math.inf


def test_expression_spans():
    e = expr("(a + b) * c")  # `return ` puts the expression at column 12
    assert e.span == Span(2, 12, 2, 23)
    assert e.left.span == Span(2, 13, 2, 18)
    call = expr("math.sin(x)")
    assert call.span == Span(2, 12, 2, 23) and call.func_span == Span(2, 12, 2, 20)
    assert call.args[0].span == Span(2, 21, 2, 22)


def test_multiline_expression_in_brackets():
    (ret,) = body("""
        def f(a, b):
            return (a +
                    b) * f(a,
                           b)
        """)
    assert shape(ret.value) == ("*", ("+", "a", "b"), ("call", "f", "a", "b"))
    assert ret.span == Span(3, 5, 5, 22)


# --- statements --------------------------------------------------------------

def test_assignments():
    stmts = body("""
        def f(x, A):
            a = b = 0
            (c, d) = 1, 2
            A[i, j] = v
            A[i] -= 1
            x //= 2; x %= 3; x **= 2; x /= 4; x *= 5
            y: float = 1.0
            x
        """)
    chained, unpack, store, aug, *rest = stmts
    assert [shape(t) for t in chained.targets] == ["a", "b"] and shape(chained.value) == 0
    assert shape(unpack.targets[0]) == ("tuple", "c", "d")
    assert shape(store.targets[0]) == ("[]", "A", "i", "j")
    assert isinstance(aug, S.AugAssign) and aug.op == "-" and shape(aug.target) == ("[]", "A", "i")
    assert [s.op for s in rest[:5]] == ["//", "%", "**", "/", "*"]
    assert isinstance(rest[5], S.Assign) and shape(rest[5].targets[0]) == "y"  # annotation ignored
    assert isinstance(rest[6], S.ExprStmt)


def test_control_flow():
    stmts = body("""
        def f(n):
            while n > 0:
                n -= 1
                if n == 3: continue
                if n == 5: break
            for i in range(2, n): pass
            for i in range(10, 0, -1):
                pass
            if n: return
            return n, 1
        """)
    loop, for2, for3, early, last = stmts
    assert isinstance(loop, S.While) and shape(loop.test) == ("cmp", "n", (">", 0))
    assert isinstance(loop.body[1].body[0], S.Continue)
    assert isinstance(loop.body[2].body[0], S.Break)
    assert [shape(a) for a in for2.range_args] == [2, "n"]
    assert [shape(a) for a in for3.range_args] == [10, 0, ("-", 1)]
    assert early.body[0].value is None
    assert shape(last.value) == ("tuple", "n", 1)


def test_elif_chain_nests_ifs():
    (chain,) = body("""
        def f(x):
            if x < 0:
                return -1
            elif x == 0:
                return 0
            elif x < 10:
                return 1
            else:
                return 2
        """)
    second = chain.orelse[0]
    third = second.orelse[0]
    assert shape(second.test) == ("cmp", "x", ("==", 0))
    assert shape(third.test) == ("cmp", "x", ("<", 10))
    assert shape(third.orelse[0].value) == 2
    assert (second.span.line, third.span.line, third.span.end_line) == (5, 7, 10)


def test_one_line_compound_statements_and_semicolons():
    stmts = body("def f(x):\n    if x: return 1\n    a = 1; b = 2;\n    while x: x -= 1\n")
    assert isinstance(stmts[0], S.If) and isinstance(stmts[0].body[0], S.Return)
    assert [type(s) for s in stmts[1:3]] == [S.Assign, S.Assign]
    assert isinstance(stmts[3], S.While)


def test_docstrings_are_not_statements():
    m = parse_module('"""mod"""\ndef f():\n    """only a docstring"""\n\n'
                     'def g():\n    \'\'\'one\n    two\'\'\'\n    return 1\n')
    assert m.functions["f"].docstring == "only a docstring" and m.functions["f"].body == []
    assert m.functions["g"].docstring == "one\n    two" and len(m.functions["g"].body) == 1


def test_main_block_is_skipped_entirely():
    m = parse_module("def f():\n    return 1\n\nif '__main__' == __name__:\n"
                     "    import os\n    class A: pass\n    print(f'{f()}', [1, 2], sep='')\n")
    assert list(m.functions) == ["f"] and m.constants == {}


def test_imports_and_future():
    m = parse_module("from __future__ import annotations\nimport math as m, numpy\n"
                     "from numpy import (zeros, pi as PI,)\nimport adjit\n")
    assert m.module_aliases == {"m": "math", "numpy": "numpy", "adjit": "adjit"}
    assert m.imported_names == {"zeros": ("numpy", "zeros"), "PI": ("numpy", "pi")}


def test_constants():
    m = parse_module("import math\nA = B = 2.5\nC = -A * 2 + math.sqrt(2.0)\n"
                     "D: int = 4\nFLAG = True\n")
    assert set(m.constants) == {"A", "B", "C", "D", "FLAG"}
    assert shape(m.constants["C"].value) == ("+", ("*", ("-", "A"), 2), ("call", "math.sqrt", 2.0))
    assert m.constants["D"].value.value == 4


def test_parameters():
    (f,) = parse_module("def f(a, b: float, /, c=1.0, d=-2, e=+3, g=True) -> float:\n    pass\n"
                        ).functions.values()
    assert [(p.name, p.default and p.default.value) for p in f.params] == [
        ("a", None), ("b", None), ("c", 1.0), ("d", -2), ("e", 3), ("g", True)]
    assert all(isinstance(p.default, S.Num) for p in f.params[2:])


def test_decorators():
    m = parse_module("import adjit as aj\nfrom adjit import grad as g\n"
                     "@aj.jit(fast=True)\n@g\ndef f(x):\n    return x\n")
    assert m.functions["f"].decorators == [("aj", "jit"), ("g",)]


def test_crlf_tabs_and_bytes():
    m = parse_module(b"\xef\xbb\xbfdef f(x):\r\n\tif x:\r\n\t\treturn 1\r\n\treturn 2\r\n")
    assert m.functions["f"].body[1].span == Span(4, 2, 4, 10)
    # A tab then eight spaces: the same column either way, as CPython accepts.
    assert body("def f():\n\tif 1:\n        \treturn 1\n")
    m = parse_module("# -*- coding: latin-1 -*-\nX = 1  # caf\xe9\n".encode("latin-1"))
    assert m.constants["X"].value.value == 1


def test_comments_blank_lines_and_continuations():
    stmts = body("def f(x):\n\n    # c\n        # deeper comment\n    y = x + \\\n        1\n\n"
                 "  # shallow\n    return y  # end\n# final comment")
    assert [type(s) for s in stmts] == [S.Assign, S.Return]
    assert stmts[0].span == Span(5, 5, 6, 10)


# --- inspect.getsource --------------------------------------------------------

def _make_nested():
    def nested(x, n=2):
        """A docstring with a line
less indented than the def."""
        s = 0.0
        for i in range(n):
            s += x
        return s
    return nested


def test_getsource_of_nested_function_keeps_file_lines():
    fn = _make_nested()
    lines, first = inspect.getsourcelines(fn)  # indented; a docstring line is not
    m = parse_function_source("".join(lines), __file__, first)
    f = m.functions["nested"]
    assert f.span.line == first == fn.__code__.co_firstlineno
    assert f.params[1].default.value == 2
    assert [s.span.line for s in f.body] == [first + 3, first + 4, first + 6]
    assert f.body[0].span.col == 9  # columns of the file, not of a dedented copy
    assert m.source.line_text(first + 3).strip() == "s = 0.0"


def test_function_source_decorated_and_dedented():
    text = "    @adjit.jit\n    @jit(x=1)\n    def g(x):\n        return x\n"
    m = parse_function_source(text, "m.py", 40)
    f = m.functions["g"]
    assert f.decorators == [("adjit", "jit"), ("jit",)] and f.span == Span(42, 5, 43, 17)
    m = parse_function_source(textwrap.dedent(text), "m.py", 40)
    assert m.functions["g"].body[0].span == Span(43, 5, 43, 13)
    assert parse_function_source("@aj.grad\ndef h(x):\n    return x\n", "m.py", 1,
                                 adjit_names={"aj"}).functions["h"].decorators == [("aj", "grad")]


@pytest.mark.parametrize("text,cls,line,col,message", [
    ("    @functools.wraps(f)\n    def g(x):\n        return x\n", UnsupportedError, 10, 5,
     "decorator `@functools.wraps` is not supported"),
    ("    def g(x):\n        return x\n  y = 1\n", AdjitSyntaxError, 12, 3,
     "unindent does not match any outer indentation level"),
    ("    x = 1\n", UnsupportedError, 10, 5, "exactly one function definition"),
    ("    def g(x):\n        def h(): pass\n", UnsupportedError, 11, 9,
     "nested function definitions"),
])
def test_function_source_errors(text, cls, line, col, message):
    with pytest.raises(cls) as info:
        parse_function_source(text, "m.py", 10)
    assert (info.type, info.value.line, info.value.column) == (cls, line, col)
    assert message in info.value.message


# --- robustness -----------------------------------------------------------------

def test_deep_parentheses_parse():
    assert shape(expr("(" * 1000 + "x" + ")" * 1000)) == "x"


@pytest.mark.parametrize("text", [
    "+".join(["1"] * 10_000),
    "-" * 1000 + "x",
    "f(" * 1000 + "x" + ")" * 1000,
    "**".join(["x"] * 1000),
    "1+(" * 300 + "1" + ")" * 300,
])
def test_too_deep_expressions_are_clean_errors(text):
    with pytest.raises(UnsupportedError) as info:
        body(f"def f(x):\n    return {text}\n")
    assert (info.value.line, info.value.column) == (2, 12)
    assert f"expression nested too deeply (limit {MAX_EXPR_DEPTH})" in info.value.message


def test_expression_at_the_depth_limit_parses():
    e = expr("+".join(["1"] * MAX_EXPR_DEPTH))
    assert isinstance(e, S.BinOp)


def test_deeply_nested_unsupported_constructs_are_clean_errors():
    with pytest.raises(UnsupportedError, match="list literals"):
        body("def f(x):\n    return " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(AdjitSyntaxError, match="too many levels of indentation"):
        parse_module("def f(x):\n" + "".join(" " * i + "if x:\n" for i in range(1, 102))
                     + " " * 102 + "pass\n")


def test_ten_thousand_statements_parse_in_seconds():
    lines = "".join(f"    x = x * {i} + 1.5\n" for i in range(10_000))
    src = "def f(x):\n" + lines + "    return x\n"
    start = time.process_time()
    (f,) = parse_module(src).functions.values()
    elapsed = time.process_time() - start
    assert len(f.body) == 10_001 and f.body[-2].span.line == 10_001
    assert elapsed < 20, elapsed  # about 3 s of CPU on a quiet machine


# --- rejected programs --------------------------------------------------------

def fn(*lines: str) -> str:
    """A function `f(x)` whose body is `lines` (so the first is on line 2)."""
    return "def f(x):\n" + "".join(f"    {line}\n" for line in lines)


REJECTED = [
    # constructs outside the subset: (source, class, line, column, message part)
    ("class A:\n    pass\n", UnsupportedError, 1, 1, "class definitions are not supported"),
    (fn("return lambda t: t"), UnsupportedError, 2, 12, "lambda is not supported"),
    (fn("with x:", "    pass"), UnsupportedError, 2, 5, "`with` statements are not supported"),
    (fn("try:", "    pass", "except ValueError:", "    pass"), UnsupportedError, 2, 5,
     "`try` statements are not supported"),
    (fn("raise ValueError"), UnsupportedError, 2, 5, "adjit raises CPython's exceptions itself"),
    (fn("assert x > 0"), UnsupportedError, 2, 5, "`assert` is not supported"),
    (fn("global y"), UnsupportedError, 2, 5, "`global` is not supported"),
    (fn("nonlocal y"), UnsupportedError, 2, 5, "`nonlocal` is not supported"),
    (fn("yield x"), UnsupportedError, 2, 5, "`yield` is not supported"),
    ("async def f(x):\n    return x\n", UnsupportedError, 1, 1, "`async def` is not supported"),
    (fn("return await x"), UnsupportedError, 2, 12, "`await` is not supported"),
    (fn("del x"), UnsupportedError, 2, 5, "`del` is not supported"),
    ("import os\n", UnsupportedError, 1, 8,
     "import of module 'os' is not supported: adjit resolves only math, numpy and adjit"),
    ("from scipy import special\n", UnsupportedError, 1, 6, "import of module 'scipy'"),
    ("import numpy.linalg\n", UnsupportedError, 1, 8, "import of module 'numpy.linalg'"),
    ("from math import *\n", UnsupportedError, 1, 18, "import *` is not supported"),
    ("from . import helpers\n", UnsupportedError, 1, 1, "relative imports are not supported"),
    (fn("import math"), UnsupportedError, 2, 5, "imports inside functions are not supported"),
    (fn("return [t * 2 for t in range(3)]"), UnsupportedError, 2, 12, "list comprehensions"),
    (fn("return {t: 1 for t in x}"), UnsupportedError, 2, 12, "dict comprehensions"),
    (fn("return {t for t in x}"), UnsupportedError, 2, 12, "set comprehensions"),
    (fn("return sum(t for t in x)"), UnsupportedError, 2, 16, "generator expressions"),
    (fn("y = [1, 2]"), UnsupportedError, 2, 9,
     "list literals are not supported; create the array with `np.zeros(n)`"),
    (fn("y = {'a': 1}"), UnsupportedError, 2, 9, "dict literals are not supported"),
    (fn("y = {1, 2}"), UnsupportedError, 2, 9, "set literals are not supported"),
    (fn("y = 'text'"), UnsupportedError, 2, 9,
     "string literals are not supported (except as docstrings)"),
    (fn("y = f'{x}'"), UnsupportedError, 2, 9, "f-strings are not supported"),
    (fn("y = b'raw'"), UnsupportedError, 2, 9, "bytes literals are not supported"),
    (fn('"""doc"""', '"""not a docstring"""'), UnsupportedError, 3, 5,
     "string literals are not supported"),
    (fn("return None"), UnsupportedError, 2, 12, "None is not supported; return a number"),
    ("def f(*args):\n    pass\n", UnsupportedError, 1, 7, "`*args` parameters are not supported"),
    ("def f(**kwargs):\n    pass\n", UnsupportedError, 1, 7,
     "`**kwargs` parameters are not supported"),
    ("def f(x, *, y):\n    pass\n", UnsupportedError, 1, 10, "keyword-only parameters"),
    (fn("return g(*x)"), UnsupportedError, 2, 14, "argument unpacking (`f(*args)`)"),
    (fn("return g(**x)"), UnsupportedError, 2, 14, "argument unpacking (`f(**kwargs)`)"),
    (fn("return g(x, y=1)"), UnsupportedError, 2, 17,
     "keyword arguments are not supported; pass `y` positionally"),
    (fn("if (n := x):", "    pass"), UnsupportedError, 2, 9, "assignment expressions (`:=`)"),
    ("@functools.cache\ndef f(x):\n    return x\n", UnsupportedError, 1, 1,
     "decorator `@functools.cache` is not supported"),
    (fn("return x[1:3]"), UnsupportedError, 2, 14,
     "slicing is not supported; loop over the indices"),
    (fn("return x[:, 0]"), UnsupportedError, 2, 14, "slicing is not supported"),
    (fn("return x is y"), UnsupportedError, 2, 14, "`is` comparisons are not supported"),
    (fn("return x is not y"), UnsupportedError, 2, 14, "`is not` comparisons"),
    (fn("return x in y"), UnsupportedError, 2, 14, "`in` tests are not supported"),
    (fn("return x not in y"), UnsupportedError, 2, 14, "`not in` tests"),
    (fn("return x & 1"), UnsupportedError, 2, 14,
     "bitwise operator '&' is not supported; use `and` / `or` / `not`"),
    (fn("return x | y ^ z"), UnsupportedError, 2, 14, "bitwise operator '|'"),
    (fn("return x << 2"), UnsupportedError, 2, 14, "bitwise operator '<<'"),
    (fn("return ~x"), UnsupportedError, 2, 12, "bitwise operator '~'"),
    (fn("x &= 1"), UnsupportedError, 2, 5, "bitwise operator '&'"),
    (fn("return x @ x"), UnsupportedError, 2, 14,
     "matrix multiplication `@` is not supported; write the loop"),
    (fn("x @= x"), UnsupportedError, 2, 5, "matrix multiplication"),
    (fn("for t in x:", "    pass"), UnsupportedError, 2, 14,
     "only `for i in range(...)` is supported; index the array instead: `for i in range(len(x))`"),
    (fn("for i, j in range(3):", "    pass"), UnsupportedError, 2, 9,
     "target of a `for` loop must be one name"),
    (fn("for i in range(1, 2, 3, 4):", "    pass"), UnsupportedError, 2, 14,
     "range expects 1 to 3 arguments"),
    (fn("while x:", "    pass", "else:", "    pass"), UnsupportedError, 4, 5,
     "`while ... else` is not supported"),
    (fn("for i in range(3):", "    pass", "else:", "    pass"), UnsupportedError, 4, 5,
     "`for ... else`"),
    (fn("def g(y):", "    return y"), UnsupportedError, 2, 5,
     "nested function definitions are not supported; define `g` at module level"),
    (fn("return 1j"), UnsupportedError, 2, 12, "complex literals are not supported"),
    (fn("return 2.5J + 1"), UnsupportedError, 2, 12, "complex literals"),
    (fn("return 9223372036854775808"), UnsupportedError, 2, 12,
     "integer literal does not fit in 64 bits"),
    (fn("return 1" + "0" * 5000), UnsupportedError, 2, 12, "does not fit in 64 bits"),
    (fn("return ..."), UnsupportedError, 2, 12, "`...` is not supported; write `pass`"),
    (fn("return *x, 1"), UnsupportedError, 2, 12, "starred expressions"),
    (fn("x.attr = 1"), UnsupportedError, 2, 5, "assignment to attributes is not supported"),
    (fn("a, x[0] = 1, 2"), UnsupportedError, 2, 8, "tuple assignment targets must be plain names"),
    (fn("x[0][1] = 2"), UnsupportedError, 2, 5, "write `A[i, j] = v` instead of `A[i][j] = v`"),
    (fn("x: float"), UnsupportedError, 2, 5, "an annotation without a value is not supported"),
    (fn("return x[0](1)"), UnsupportedError, 2, 12, "only calls of named functions are supported"),
    ("def f(x=None):\n    pass\n", UnsupportedError, 1, 9, "None is not supported"),
    ("def f(x=math.pi):\n    pass\n", UnsupportedError, 1, 9,
     "a parameter default must be a number literal"),
    ("x = 1\nprint(x)\n", UnsupportedError, 2, 1, "at module level"),
    ("for i in range(3):\n    pass\n", UnsupportedError, 1, 1, "at module level"),
    ("N = (1, 2)\n", UnsupportedError, 1, 5,
     "a module-level constant must be a numeric expression"),
    ("a, b = 1, 2\n", UnsupportedError, 1, 1, "a module-level assignment must bind one name"),
    ("X = 1\n'late string'\n", UnsupportedError, 2, 1, "string literals are not supported"),
    (fn("return " + "+".join(["x"] * 300)), UnsupportedError, 2, 12,
     "expression nested too deeply"),
    # Python's own syntax errors
    ("x = = 1\n", AdjitSyntaxError, 1, 5, "invalid syntax: unexpected '='"),
    (fn("return (x +", "", "def g():", "    pass"), AdjitSyntaxError, 4, 5,
     "invalid syntax: unexpected 'def'"),
    (fn("return f(1, 2"), AdjitSyntaxError, 2, 13,
     "unexpected end of file: '(' opened at 2:13 is never closed"),
    (fn("return x]"), AdjitSyntaxError, 2, 13, "unmatched ']'"),
    (fn("return (x]"), AdjitSyntaxError, 2, 14, "closing ']' does not match opening '(' at 2:12"),
    ("def f(x):\n  if x:\n      pass\n    return 1\n", AdjitSyntaxError, 4, 5,
     "unindent does not match any outer indentation level"),
    (fn("return 1", "    return 2"), AdjitSyntaxError, 3, 9, "unexpected indent"),
    ("  x = 1\n", AdjitSyntaxError, 1, 3, "unexpected indent"),
    ("def f(x):\nreturn x\n", AdjitSyntaxError, 2, 1, "expected an indented block"),
    ("def f(x)\n    return x\n", AdjitSyntaxError, 1, 9, "expected ':'"),
    (fn("if x", "    pass"), AdjitSyntaxError, 2, 9, "expected ':'"),
    (fn("return x +"), AdjitSyntaxError, 2, 15, "invalid syntax: unexpected end of line"),
    (fn("return 1 if x"), AdjitSyntaxError, 2, 18, "expected 'else'"),
    (fn("return x $ 2"), AdjitSyntaxError, 2, 14, "unexpected character '$'"),
    (fn("return x \u00d7 2"), AdjitSyntaxError, 2, 14, "invalid character '\u00d7' (U+00D7)"),
    (fn("return 'abc"), AdjitSyntaxError, 2, 12, "unterminated string literal"),
    (fn('return """abc'), AdjitSyntaxError, 2, 12, "unterminated triple-quoted string literal"),
    (fn("return 012"), AdjitSyntaxError, 2, 12, "leading zeros in decimal integer literals"),
    (fn("break"), AdjitSyntaxError, 2, 5, "'break' outside loop"),
    (fn("if x:", "    continue"), AdjitSyntaxError, 3, 9, "'continue' outside loop"),
    ("def f(x, x):\n    pass\n", AdjitSyntaxError, 1, 10, "duplicate parameter 'x'"),
    ("def f(x=1, y):\n    pass\n", AdjitSyntaxError, 1, 12, "parameter without a default follows"),
    (fn("f(x) = 1"), AdjitSyntaxError, 2, 5, "cannot assign to function call"),
    (fn("1 = x"), AdjitSyntaxError, 2, 5, "cannot assign to literal"),
    (fn("x + 1 = x"), AdjitSyntaxError, 2, 5, "cannot assign to expression"),
    (fn("(a, b) += 1"), AdjitSyntaxError, 2, 5, "illegal expression for augmented assignment"),
    ("def f():\n\tif 1:\n        return 1\n", AdjitSyntaxError, 3, 9,
     "inconsistent use of tabs and spaces"),
    (b"def f(x):\n    return '\xff'\n", AdjitSyntaxError, 2, 13,
     "source is not valid utf-8: cannot decode byte 0xff"),
    (b"X = 1\n\xe9\n", AdjitSyntaxError, 2, 1, "cannot decode byte 0xe9"),
]


@pytest.mark.parametrize("src,cls,line,col,message", REJECTED,
                         ids=[f"{i}-{r[4][:40]}" for i, r in enumerate(REJECTED)])
def test_rejected(src, cls, line, col, message):
    with pytest.raises(cls) as info:
        parse_module(src, "bad.py")
    err = info.value
    assert type(err) is cls
    assert (err.line, err.column) == (line, col), err.render()
    assert message in err.message, err.render()
    assert err.filename == "bad.py"


def test_error_renders_like_a_compiler_diagnostic():
    with pytest.raises(UnsupportedError) as info:
        parse_module(fn("return lambda t: t"), "f.py")
    assert str(info.value) == (
        "f.py:2:12: error: lambda is not supported; write a module-level def instead\n"
        "        return lambda t: t\n"
        "               ^^^^^^^^^^^")


def test_syntax_errors_are_syntax_errors():
    with pytest.raises(SyntaxError) as info:
        parse_module("x = = 1\n", "s.py")
    assert (info.value.lineno, info.value.offset, info.value.text) == (1, 5, "x = = 1")


def test_unclosed_bracket_is_noted_on_later_errors():
    with pytest.raises(AdjitSyntaxError) as info:
        parse_module(fn("y = (1,", "z = 2"))
    assert info.value.notes == ("'(' opened at 2:9 may be missing its closing bracket",)


def test_outermost_unsupported_construct_is_reported():
    with pytest.raises(UnsupportedError, match="lambda"):
        parse_module(fn("return lambda: [t for t in 'ab']"))


def test_every_grammar_rule_is_converted_or_rejected():
    """A rule without a converter method would fail inside adjit instead of naming the user's
    construct; rules that only occur inside a rejected construct need none."""
    from adjit.frontend.convert import _REJECTED, Converter
    from adjit.frontend.parser import _lark
    inside_rejected = {"comp_for", "comp_if", "comp_tail", "dict_item", "except_clause",
                       "finally_clause", "with_item"}
    names = set()
    for rule in _lark().rules:
        name = str(rule.alias or rule.origin.name)
        inlined = name.startswith("_") or (rule.options.expand1 and not rule.alias
                                           and len(rule.expansion) == 1)
        if not inlined and name != "start":
            names.add(name)
    assert inside_rejected <= names
    assert {n for n in names if n not in _REJECTED and not hasattr(Converter, n)} == inside_rejected
