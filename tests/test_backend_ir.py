"""The backend on IR built by hand: value semantics where the frontend would
never produce the pattern, tapes, and the engine's outputs.

The frontend's `a[i] = v` rebinding makes the old array dead in the common
case; the IR below keeps the old array alive after an `array_set` (directly,
through a loop's initial value, through an `if` result, through a call), and
compiled code must then copy instead of writing in place.
"""
from __future__ import annotations

import gc

import numpy as np
import pytest

from adjit.backend.llvm import NativeTape, compile_module, get_engine
from adjit.errors import InternalError
from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.core import Function, Module, Region
from adjit.ir.interp import interpret
from adjit.ir.types import BOOL, F64, I64, ArrayType, TapeType
from adjit.ir.verify import verify_module
from test_backend_arrays import rss_growth

VEC = ArrayType(1)


def function(name, param_types, build) -> Function:
    body = Region(list(param_types))
    body.yields = list(build(Builder(body), *body.args))
    return Function(name, body, [v.type for v in body.yields])


def module(*functions: Function) -> Module:
    m = Module()
    for fn in functions:
        m.add(fn)
    m.entry = functions[0].name
    verify_module(m)
    return m


def for_loop(b: Builder, start, stop, inits, body):
    """`for i in range(start, stop)` carrying `inits`; body(b, i, *carried) -> yields."""
    region = Region([I64] + [v.type for v in inits])
    with b.at(region):
        region.yields = list(body(b, *region.args))
    node = b.node(ops.for_, [start, stop, b.const(1), *inits], [v.type for v in inits],
                  regions=[region])
    return node.results


def constant_function(value: float) -> Module:
    return module(function("const", [], lambda b: [b.const(value)]))


def first_plus(b, x, y):
    return b.apply(ops.add, b.apply(ops.array_get, x, b.const(0)),
                   b.apply(ops.array_get, y, b.const(0)))


# --- value semantics ----------------------------------------------------------------

def test_set_copies_when_the_old_array_is_used_afterwards():
    def build(b, x):
        y = b.apply(ops.array_set, x, b.const(0), b.const(5.0))
        return [first_plus(b, x, y), y]

    m = module(function("f", [VEC], build))
    x = np.array([1.0, 2.0])
    (value, y), stats = compile_module(m).call_with_stats(x)
    assert value == 6.0 and list(y) == [5.0, 2.0] and list(x) == [1.0, 2.0]
    assert stats.copies == 1 and interpret(m, [np.array([1.0, 2.0])])[0] == 6.0


def test_loop_carried_array_whose_initial_value_lives_on_copies_once():
    def build(b, x, n):
        (r,) = for_loop(b, b.const(0), n, [x],
                        lambda b, i, y: [b.apply(ops.array_set, y, i, b.const(1.0))])
        return [r, b.apply(ops.array_get, x, b.const(0))]

    f = compile_module(module(function("f", [VEC, I64], build)))
    x = np.zeros(1000)
    (r, old), stats = f.call_with_stats(x, 1000)
    assert old == 0.0 and r.sum() == 1000.0 and x.sum() == 0.0
    assert stats.copies == 1  # on the first write; the other 999 are in place


def test_if_result_aliasing_an_argument_copies_only_on_that_branch():
    def build(b, x, c):
        then, other = Region([]), Region([])
        then.yields = [x]
        with b.at(other):
            other.yields = [b.apply(ops.array_new, b.apply(ops.array_dim, x, axis=0),
                                    fill="ones")]
        (z,) = b.node(ops.if_, [c], [VEC], regions=[then, other]).results
        w = b.apply(ops.array_set, z, b.const(0), b.const(7.0))
        return [w, b.apply(ops.array_get, x, b.const(0))]

    f = compile_module(module(function("f", [VEC, BOOL], build)))
    x = np.array([1.0, 2.0])
    (w, old), stats = f.call_with_stats(x, True)
    assert list(w) == [7.0, 2.0] and old == 1.0 and list(x) == [1.0, 2.0] and stats.copies == 1
    (w, old), stats = f.call_with_stats(x, False)
    assert list(w) == [7.0, 1.0] and stats.copies == 0


def test_one_array_passed_twice_to_a_writing_callee():
    def callee(b, a, c):
        a2 = b.apply(ops.array_set, a, b.const(0), b.const(9.0))
        return [first_plus(b, a2, c)]

    def caller(b, x):
        return b.node(ops.call, [x, x], [F64], attrs={"callee": "g"}).results

    m = module(function("f", [VEC], caller), function("g", [VEC, VEC], callee))
    assert compile_module(m)(np.array([1.0])) == 10.0 == interpret(m, [np.array([1.0])])


def test_select_of_arrays_keeps_one_and_releases_the_other():
    def build(b, x, c):
        fresh = b.apply(ops.array_new, b.const(3), fill="zeros")
        return [b.apply(ops.select, c, x, fresh)]

    f = compile_module(module(function("f", [VEC, BOOL], build)))
    x = np.ones(3)
    assert f(x, True) is x
    out, stats = f.call_with_stats(x, False)
    assert list(out) == [0.0, 0.0, 0.0] and stats.frees == 0 and stats.leaked == 0
    _, stats = f.call_with_stats(x, True)
    assert stats.frees == 1 and stats.leaked == 0


def test_array_add_and_add_at():
    def build(b, x, y):
        s = b.apply(ops.array_add, x, y)
        return [b.apply(ops.array_add_at, s, b.const(-1), b.const(10.0))]

    m = module(function("f", [VEC, VEC], build))
    x, y = np.arange(3.0), np.ones(3)
    assert list(compile_module(m)(x, y)) == [1.0, 2.0, 13.0] and list(x) == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"shapes \(3,\) \(2,\)"):
        compile_module(m)(x, np.ones(2))


# --- tapes ----------------------------------------------------------------------------

RECORD = TapeType((F64, VEC))


def record_loop(b, x, n):
    """Push (i, the array) each iteration, then write into the array: the
    tape keeps every version (the write copies)."""
    tape0 = b.node(ops.tape_new, [b.const(0)], [RECORD]).result

    def body(b, i, tape, y):
        tape = b.apply(ops.tape_push, tape, b.apply(ops.to_f64, i), y)
        return [tape, b.apply(ops.array_set, y, b.const(0), b.apply(ops.to_f64, i))]

    return for_loop(b, b.const(0), n, [tape0, x], body)


def drain(b, tape, n):
    def body(b, i, tape, s):
        tape, k, y = b.node(ops.tape_pop, [tape], [RECORD, F64, VEC]).results
        return [tape, b.apply(ops.add, s, b.apply(ops.mul, k, b.apply(ops.array_get, y, i)))]

    return [for_loop(b, b.const(0), n, [tape, b.const(0.0)], body)[1]]


def tape_functions():
    make = compile_module(module(function("make", [VEC, I64],
                                          lambda b, x, n: [record_loop(b, x, n)[0]])))
    use = compile_module(module(function("use", [RECORD, I64], drain)))
    both = module(function("both", [VEC, I64],
                           lambda b, x, n: drain(b, record_loop(b, x, n)[0], n)))
    return make, use, both


def test_tapes_cross_calls_and_keep_every_version():
    make, use, both = tape_functions()
    x = np.full(4, 0.5)
    tape = make(x, 4)
    assert isinstance(tape, NativeTape) and len(tape) == 4 and list(x) == [0.5] * 4
    spare = tape.copy()
    # Popped last first: at step i the record of iteration k = 3 - i, whose array
    # has y[0] = k - 1 (written by iteration k - 1) and 0.5 elsewhere; s += k * y[i].
    want = 3 * 2.0 + 2 * 0.5 + 1 * 0.5 + 0 * 0.5
    assert use(tape, 4) == want == compile_module(both)(x, 4) == interpret(both, [x, 4])
    with pytest.raises(ValueError, match="tape.copy"):
        use(tape, 4)
    assert use(spare, 4) == want


def test_an_array_returned_beside_a_tape_holding_it_is_private():
    def build(b, n):
        y = b.apply(ops.array_new, n, fill="ones")
        tape = b.node(ops.tape_new, [b.const(1)], [RECORD]).result
        return [b.apply(ops.tape_push, tape, b.const(2.0), y), y]

    tape, y = compile_module(module(function("f", [I64], build)))(3)
    y[0] = 100.0  # must not reach the record
    use = compile_module(module(function("use", [RECORD, I64], drain)))
    assert use(tape, 1) == 2.0


def test_popping_an_empty_tape_raises():
    make, use, _ = tape_functions()
    with pytest.raises(IndexError):
        use(make(np.ones(3), 2), 3)


def test_tapes_do_not_leak():
    make, use, both = tape_functions()
    run_both = compile_module(both)
    x = np.ones(64)
    assert rss_growth(lambda: use(make(x, 20), 20), 3000) < 20.0
    assert rss_growth(lambda: make(x, 20), 3000) < 20.0  # tapes collected unused
    assert rss_growth(lambda: run_both(x, 20), 3000) < 20.0
    _, stats = run_both.call_with_stats(x, 20)
    assert stats.leaked == 0
    gc.collect()


# --- the engine ---------------------------------------------------------------------------

def test_llvm_ir_assembly_and_object_code_are_available():
    def build(b, x, y):
        return [b.apply(ops.add, b.apply(ops.mul, x, y), x)]

    m = module(function("f", [F64, F64], build))
    plain = compile_module(m)
    assert "fmul double" in plain.llvm_ir and "fast" not in plain.llvm_ir
    assert "define" in plain.optimized_ir
    assert "_entry" in plain.assembly()
    assert plain.object_code()[:4] == b"\x7fELF"
    fast = compile_module(m, fastmath=True)
    assert "fmul fast double" in fast.llvm_ir and fast(2.0, 3.0) == 8.0


def test_invalid_llvm_ir_is_an_internal_error_not_a_crash():
    with pytest.raises(InternalError) as info:
        get_engine().parse("define i32 @f() {\n  ret double 0.0\n}\n")
    assert info.value.stage == "llvm"
