"""The reference-counting plan of adjit/backend/llvm/ownership.py on IR text.

A value is written in place without a run-time check only when it certainly
holds the only reference to its block. A fresh array that is also pushed on
a tape (reverse mode saving a loop's carried array) is shared with the tape,
so writing it afterwards must copy: the tape keeps the value as it was.
"""
from __future__ import annotations

import numpy as np

from adjit.backend.llvm import compile_module
from adjit.backend.llvm.ownership import plan_function
from adjit.ir.interp import interpret
from adjit.ir.textparse import parse_module_text

PUSHED_THEN_WRITTEN = """\
func @f(%a: f64) -> f64 {
  %n = const 1 : i64
  %zero = const 0 : i64
  %three = const 3 : i64
  %sum0 = const 0.0 : f64
  %tape0 = tape_new %three : tape<array<f64,1>>
  %x0 = array_new %n {fill = zeros} : array<f64,1>
  %x, %tape = for %zero, %three, %n, %x0, %tape0 : array<f64,1>, tape<array<f64,1>> {
  ^(%k: i64, %xk: array<f64,1>, %tk: tape<array<f64,1>>):
    %pushed = tape_push %tk, %xk : tape<array<f64,1>>
    %old = array_get %xk, %zero : f64
    %new = add %old, %a : f64
    %next = array_set %xk, %zero, %new : array<f64,1>
    yield %next, %pushed
  }
  %rest, %sum = for %zero, %three, %n, %tape, %sum0 : tape<array<f64,1>>, f64 {
  ^(%j: i64, %tj: tape<array<f64,1>>, %s: f64):
    %popped, %saved = tape_pop %tj : tape<array<f64,1>>, array<f64,1>
    %v = array_get %saved, %zero : f64
    %s1 = add %s, %v : f64
    yield %popped, %s1
  }
  return %sum
}
"""


def test_an_array_pushed_on_a_tape_is_not_written_in_place_unchecked():
    module = parse_module_text(PUSHED_THEN_WRITTEN)
    fn = module.entry_function
    plan = plan_function(fn)
    loop = fn.body.nodes[6]
    carried = loop.regions[0].args[1]
    assert carried.hint == "xk"
    assert carried not in plan.unique  # shared with the tape after the push
    assert fn.body.nodes[5].result in plan.unique  # the fresh array itself is unique


def test_the_tape_keeps_each_iteration_s_array_as_it_was():
    module = parse_module_text(PUSHED_THEN_WRITTEN)
    # records: [0], [a], [2a] -> 3a; writing in place would give [3a] three times -> 9a
    assert interpret(module, [2.0]) == 6.0
    assert compile_module(module)(2.0) == 6.0
    assert np.isclose(compile_module(module)(0.5), 1.5)
