"""The IR text parser: print -> parse -> print is the identity, errors name the line."""
from __future__ import annotations

import importlib.util
import math
import textwrap

import numpy as np
import pytest
from hypothesis import given, strategies as st

from adjit.errors import Span
from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.core import Function, Module, Region
from adjit.ir.interp import interpret
from adjit.ir.printer import print_function, print_module
from adjit.ir.textparse import IRParseError, parse_function_text, parse_module_text
from adjit.ir.types import F64, I64, ArrayType
from adjit.ir.verify import verify_module

# Canonical printer output (without locations): for, if, while, call with two
# results, array ops, check, math_check and constant edge cases.
SAMPLE = """\
func @main(%x: f64, %n: i64, %a: array<f64,2>) -> (f64, i64) {
  %0 = const 0 : i64
  %1 = const 1 : i64
  %s, %k = for %0, %n, %1, %x, %0 : f64, i64 {
  ^(%i: i64, %s.1: f64, %k.1: i64):
    %2 = to_f64 %i : f64
    %3 = gt %s.1, %2 : bool
    %s.2 = if %3 : f64 {
      %4 = sin %s.1 : f64
      yield %4
    } else {
      yield %2
    }
    %k.2 = add %k.1, %1 : i64
    yield %s.2, %k.2
  }
  %w = while %s : f64 {
  ^(%w.1: f64):
    %5 = const 10.0 : f64
    %6 = lt %w.1, %5 : bool
    yield %6
  } body {
  ^(%w.2: f64):
    %7 = const 2.0 : f64
    %w.3 = mul %w.2, %7 : f64
    yield %w.3
  }
  %8 = array_dim %a {axis = 1} : i64
  %9 = array_get %a, %0, %0 : f64
  %b = array_set %a, %0, %1, %w : array<f64,2>
  %c = array_new %8, %n {fill = zeros} : array<f64,2>
  %y, %z = call %w, %n {callee = @helper} : f64, i64
  %10 = lt %n, %0 : bool
  check %10 {error = ValueError, message = 'range() arg 3 must not be zero'}
  %11 = log %y : f64
  %12 = math_check %11, %y {func = log} : f64
  return %12, %k
}

func @helper(%u: f64, %m: i64) -> (f64, i64) {
  %0 = const -0.0 : f64
  %1 = const inf : f64
  %2 = const -inf : f64
  %3 = const nan : f64
  %4 = const 1e-05 : f64
  %5 = const True : bool
  %6 = const False : bool
  %7 = const -9223372036854775808 : i64
  %8 = add %u, %0 : f64
  %9 = min %8, %1 : f64
  return %9, %m
}
"""


def round_trip(module: Module) -> Module:
    """Parse both printed forms back; both must reprint identically and verify."""
    for locations in (True, False):
        text = print_module(module, show_locations=locations)
        parsed = parse_module_text(text)
        verify_module(parsed)
        assert print_module(parsed, show_locations=locations) == text
    return parsed


def test_sample_round_trips_and_runs():
    module = parse_module_text(SAMPLE)
    verify_module(module)
    assert print_module(module, show_locations=False) == SAMPLE
    assert module.entry == "main"
    assert interpret(module, [0.5, 4, np.ones((2, 3))]) == (math.log(12.0), 4)


def test_constants_keep_their_python_types():
    helper = parse_module_text(SAMPLE).functions["helper"]
    values = [node.attrs["value"] for node in helper.body.nodes if node.op is ops.const]
    zero, inf, ninf, nan, tiny, true, false, big = values
    assert math.copysign(1.0, zero) == -1.0 and inf == math.inf and ninf == -math.inf
    assert math.isnan(nan) and tiny == 1e-05 and big == -(2 ** 63)
    assert true is True and false is False and type(big) is int


def test_attributes_and_hints():
    main = parse_module_text(SAMPLE).entry_function
    by_op = {node.op.name: node for node in main.walk()}
    assert by_op["array_dim"].attrs == {"axis": 1}
    assert by_op["call"].attrs == {"callee": "helper"}
    assert by_op["check"].attrs == {"error": "ValueError",
                                    "message": "range() arg 3 must not be zero"}
    loop = by_op["for"]
    assert [v.hint for v in loop.results] == ["s", "k"]
    assert [a.hint for a in loop.regions[0].args] == ["i", "s", "k"]
    assert by_op["to_f64"].result.hint == ""


def test_locations_become_spans():
    located = "  %0 = sin %x : f64".ljust(48) + "# 3:12"
    text = f"func @f(%x: f64) -> f64 {{\n{located}\n  %1 = cos %0 : f64\n  return %1\n}}\n"
    fn = parse_function_text(text)
    assert fn.body.nodes[0].span == Span(3, 12)
    assert fn.body.nodes[1].span is None
    assert print_function(fn) + "\n" == text


def _built_module() -> Module:
    """A module built with the Builder, with spans, awkward strings and no results."""
    body = Region([F64, I64, ArrayType(1)], ["x", "n", "v"])
    b = Builder(body, Span(1, 1))
    x, n, v = body.args
    zero, one = b.const(0), b.const(1)
    loop = Region([I64, F64], ["i", "acc"])
    with b.at(loop, Span(4, 5)):
        elem = b.apply(ops.array_get, v, loop.args[0])
        acc = b.apply(ops.add, loop.args[1], elem, hint="acc")
        loop.yields = [acc]
    total = b.node(ops.for_, [zero, n, one, x], [F64], regions=[loop], hints=["acc"]).result
    bad = b.apply(ops.lt, n, zero)
    b.node(ops.check, [bad], [], attrs={"error": "IndexError",
                                        "message": "it's {odd}, = \"#\" # 9:9"})
    body.yields = [total]
    side = Region([F64], ["t"])
    side.yields = []
    module = Module()
    module.add(Function("f", body, [F64]))
    module.add(Function("noresult", side, []))
    module.entry = "f"
    verify_module(module)
    return module


def test_builder_module_round_trips():
    parsed = round_trip(_built_module())
    assert parsed.functions["noresult"].result_types == []
    check = next(n for n in parsed.entry_function.walk() if n.op is ops.check)
    assert check.attrs["message"] == "it's {odd}, = \"#\" # 9:9"
    assert interpret(parsed, [1.5, 3, [1.0, 2.0, 4.0]]) == 8.5


def test_frontend_output_round_trips(tmp_path):
    try:
        from adjit.api import make_ir
    except ImportError:
        pytest.skip("the frontend is not available")
    source = tmp_path / "progs.py"
    source.write_text(textwrap.dedent("""\
        import math
        import numpy as np

        def f(x, n):
            s = 0.0
            k = 0
            for i in range(n):
                if x > i:
                    s = s + math.sin(x) * i
                else:
                    continue
            while k < 3 and s < 100.0:
                k += 1
                s = s * 2.0
            a = np.zeros(n)
            a[0] = s
            return a[0] + len(a), k
        """))
    spec = importlib.util.spec_from_file_location("progs", source)
    progs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(progs)
    module = make_ir(progs.f)(2.0, 4)
    parsed = round_trip(module)
    assert interpret(parsed, [2.0, 4]) == interpret(module, [2.0, 4])


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_constant_round_trips(value):
    fn = parse_function_text(f"func @f() -> f64 {{\n  %0 = const {value!r} : f64\n  return %0\n}}")
    got = fn.body.nodes[0].attrs["value"]
    assert repr(got) == repr(value)


@pytest.mark.parametrize("text, line, message", [
    ("func @f(%x: f64) -> f64 {\n  %0 = frobnicate %x : f64\n  return %0\n}", 2, "unknown op"),
    ("func @f(%x: f64) -> f64 {\n  %0 = sin %y : f64\n  return %0\n}", 2, "%y is not defined"),
    ("func @f(%x: f64) -> f64 {\n  %0 = sin %x : f32\n  return %0\n}", 2, "bad type"),
    ("func @f(%x: array<f32,1>) -> f64 {\n  return %x\n}", 1, "bad type"),
    ("func @f(%x: f64) -> f64 {\n  %0 = sin %x\n  return %0\n}", 2, "result types"),
    ("func @f(%x: f64) -> f64 {\n  %0 = sin %x : f64 junk\n  return %0\n}", 2, "unexpected"),
    ("func @f(%x: f64) -> f64 {\n  %x = sin %x : f64\n  return %x\n}", 2, "defined twice"),
    ("func @f(%x: f64) -> f64 {\n  %0 = const 1.5 : i64\n  return %0\n}", 2, "not a i64"),
    ("func @f(%x: f64) -> f64 {\n\n  %0 = sin %x : f64\n", 3, "end of text"),
    ("fn f(x) {\n}", 1, "expected 'func'"),
    ("func @f() -> () {\n  return\n}\nfunc @f() -> () {\n  return\n}", 4, "defined twice"),
    ("func @f(%x: f64) -> f64 {\n  %0 = array_dim %x {axis = (} : i64\n  return %0\n}", 2,
     "attribute value"),
    ("func @f(%c: bool) -> f64 {\n  %0 = if %c : f64 {\n    %1 = const 1.0 : f64\n"
     "    yield %1\n  } otherwise {\n    yield %1\n  }\n  return %0\n}", 5, "no region"),
    ("func @f(%c: bool) -> f64 {\n  %0 = if %c : f64 {\n    %1 = const 1.0 : f64\n"
     "    yield %1\n  } else {\n    yield %0\n  }\n  return %0\n}", 6, "%0 is not defined"),
])
def test_errors_name_the_line(text, line, message):
    with pytest.raises(IRParseError) as info:
        parse_module_text(text)
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(f"line {line}:")
    assert isinstance(info.value, ValueError)


def test_function_text_needs_exactly_one_function():
    with pytest.raises(IRParseError, match="one function"):
        parse_function_text(SAMPLE)


def test_failure_marker_and_comments_are_ignored():
    module = parse_module_text(SAMPLE)
    marked = next(n for n in module.entry_function.walk() if n.op is ops.MATH_FUNCTIONS["sin"])
    text = "# a comment line\n\n" + print_module(module, marked=marked)
    assert "<-- failed here" in text
    assert print_module(parse_module_text(text)) == print_module(module)


def test_nested_types():
    fn = parse_function_text("func @f(%t: tape<f64,array<f64,1>>, %u: tuple<i64,bool>) -> () {\n"
                             "  return\n}")
    assert [str(p.type) for p in fn.params] == ["tape<f64,array<f64,1>>", "tuple<i64,bool>"]
    assert fn.result_types == []


WRITES = """\
func @scale(%s: f64, %x: array<f64,1>) -> (f64, array<f64,1>) writes(%x) {
  %0 = const 0 : i64
  %1 = array_get %x, %0 : f64
  %2 = mul %1, %s : f64
  %x.1 = array_set %x, %0, %2 : array<f64,1>
  return %s, %x.1
}
"""


def test_written_parameters():
    fn = parse_function_text(WRITES)
    assert fn.writes == [1] and fn.returned_types == [F64]
    assert print_function(fn, show_locations=False) + "\n" == WRITES
    with pytest.raises(IRParseError, match="names no parameter") as info:
        parse_function_text(WRITES.replace("writes(%x)", "writes(%y)"))
    assert info.value.line == 1
