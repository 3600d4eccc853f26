"""The `accumulate` pass (adjit/passes/accumulate.py): loop-invariant
`array_add_at` nodes of reverse mode become floats the loop carries, added
once after the loop when it ran; everything else is left alone."""
from __future__ import annotations

import numpy as np
import pytest

import adjit
from adjit.backend.llvm.engine import compile_module
from adjit.ir import ops
from adjit.ir.interp import interpret
from adjit.ir.printer import print_module
from adjit.ir.textparse import parse_module_text
from adjit.passes.accumulate import PromoteAccumulations  # noqa: F401  (registers the pass)
from adjit.passes.manager import POST_AD, run_pipeline

PLAIN = ",".join(name for name in POST_AD.split(",") if name != "accumulate")
PROMOTING = PLAIN + ",accumulate"
LOOP = """func @f(%g: array<f64,1>, %n: i64, %i: i64, %v: f64) -> array<f64,1> {{
  %0 = const 0 : i64
  %1 = const 1 : i64
  %r = for %0, %n, %1, %g : array<f64,1> {{
  ^(%j: i64, %a: array<f64,1>):
    %w = to_f64 %j : f64
    %b = array_add_at %a, %j, %w {{checked_before = True}} : array<f64,1>
    %c = array_add_at %b, %i, %v {attrs}: array<f64,1>
{extra}    yield %c
  }}
  return %r
}}
"""
PROMOTED = """func @f(%g: array<f64,1>, %n: i64, %i: i64, %v: f64) -> array<f64,1> {
  %0 = const 0 : i64
  %1 = const 1 : i64
  %2 = const 0.0 : f64
  %r, %acc = for %0, %n, %1, %g, %2 : array<f64,1>, f64 {
  ^(%j: i64, %a: array<f64,1>, %acc.1: f64):
    %w = to_f64 %j : f64
    %b = array_add_at %a, %j, %w {checked_before = True} : array<f64,1>
    %3 = add %acc.1, %v : f64
    yield %b, %3
  }
  %4 = lt %0, %n : bool
  %5 = if %4 : array<f64,1> {
    %6 = array_add_at %r, %i, %acc {checked_before = True} : array<f64,1>
    yield %6
  } else {
    yield %r
  }
  return %5
}
"""


def promote(text: str) -> str:
    module = parse_module_text(text)
    run_pipeline(module, "accumulate", verify=True)
    return print_module(module)


def test_an_invariant_accumulation_becomes_a_carried_float():
    text = LOOP.format(attrs="{checked_before = True} ", extra="")
    assert promote(text) == PROMOTED
    g = np.arange(4.0)
    for n in (0, 1, 4):
        want = interpret(parse_module_text(text), [g, n, 2, 0.25])
        got = interpret(parse_module_text(PROMOTED), [g, n, 2, 0.25])
        np.testing.assert_allclose(got, want, rtol=1e-15)


@pytest.mark.parametrize("attrs, extra", [
    ("", ""),  # not reverse mode's: its index was never checked
    ("{checked_before = True} ", "    %d = array_get %c, %j : f64\n"),  # the loop reads it
])
def test_other_accumulations_stay(attrs, extra):
    text = LOOP.format(attrs=attrs, extra=extra)
    assert promote(text) == print_module(parse_module_text(text))


def quadratic_form(x, A):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        for j in range(n):
            s += x[i] * A[i, j] * x[j]
    return s


def shifted(x, m):
    s = 0.0
    for i in range(2):
        for j in range(m):
            s += x[i + 100] * x[j]  # never read when m == 0
    return s


def gradient_module(fn, *args, pipeline: str):
    module = adjit.make_ir(adjit.grad(fn))(*args)
    run_pipeline(module, pipeline, to_fixed_point=True, verify=True)
    return module


def invariant_accumulations(module) -> int:
    """array_add_at nodes in a loop at indices all defined outside it."""
    count = 0
    for loop in module.entry_function.body.walk():
        if loop.op is not ops.for_:
            continue
        body = loop.regions[0]
        inside = set(body.args)
        for node in body.walk():
            inside.update(node.results)
            for inner in node.regions:
                inside.update(inner.args)
        count += sum(1 for node in body.walk() if node.op is ops.array_add_at
                     and not any(v in inside for v in node.operands[1:-1]))
    return count


def test_reverse_mode_quadratic_form():
    rng = np.random.default_rng(1)
    x, A = rng.uniform(-1, 1, 7), rng.uniform(-1, 1, (7, 7))
    plain = gradient_module(quadratic_form, x, A, pipeline=PLAIN)
    promoted = gradient_module(quadratic_form, x, A, pipeline=PROMOTING)
    assert invariant_accumulations(plain) == 1
    assert invariant_accumulations(promoted) == 0
    want = (A + A.T) @ x
    np.testing.assert_allclose(interpret(promoted, [x, A]), want, rtol=1e-13)
    np.testing.assert_allclose(compile_module(promoted)(x, A), want, rtol=1e-13)


def test_a_loop_that_never_runs_adds_nothing():
    """The moved accumulation runs only after an iteration: with m == 0,
    x[i + 100] was never checked, and nothing may be written there."""
    x = np.arange(1.0, 4.0)
    promoted = gradient_module(shifted, x, 0, pipeline=PROMOTING)
    assert invariant_accumulations(promoted) == 0
    assert interpret(promoted, [x, 0]).tolist() == [0.0, 0.0, 0.0]
    assert compile_module(promoted)(x, 0).tolist() == [0.0, 0.0, 0.0]
    plain = gradient_module(shifted, x, 0, pipeline=PLAIN)
    assert invariant_accumulations(plain) == 1
    with pytest.raises(IndexError):
        compile_module(promoted)(x, 1)
