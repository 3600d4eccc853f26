"""Tape ops: the per-loop stacks that reverse mode creates.

A tape is a value like any other: `tape_push` returns the tape with one more
record, `tape_pop` returns the tape with one record fewer and the record. Each
tape value is used exactly once (AD emits them that way), so the interpreter
and the backends update the stack in place. `tape_new`'s operand is the number
of records expected (0 when unknown: the tape then grows geometrically).
"""
from __future__ import annotations

from typing import Any

from adjit.ir.ops.base import Op, OpTypeError, declare
from adjit.ir.types import I64, TapeType, Type


def _typed_by_builder(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    raise OpTypeError("the result type of tape_new is given where it is built")


def _verify_new(node) -> None:
    if [v.type for v in node.operands] != [I64]:
        raise OpTypeError("tape_new takes the expected number of records (i64)")
    if len(node.results) != 1 or not isinstance(node.results[0].type, TapeType):
        raise OpTypeError("tape_new gives one tape")


class Tape(list):
    """The interpreter's tape: a Python list used as a stack."""


def _new(node, args, interp) -> list[Any]:
    return [Tape()]


def _push_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if not types or not isinstance(types[0], TapeType) \
            or tuple(types[1:]) != types[0].elements:
        raise OpTypeError("tape_push takes a tape and one value per record field")
    return [types[0]]


def _push(attrs: dict[str, Any], tape: Tape, *values: Any) -> Tape:
    tape.append(values)
    return tape


def _pop_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if len(types) != 1 or not isinstance(types[0], TapeType):
        raise OpTypeError("tape_pop takes a tape")
    return [types[0], *types[0].elements]


def _pop(attrs: dict[str, Any], tape: Tape) -> tuple:
    if not tape:
        raise IndexError("pop from an empty tape")
    return (tape, *tape.pop())


tape_new = declare(Op("tape_new", _typed_by_builder, _new, structured=True,
                      verify=_verify_new, doc="An empty tape with room for n records."))
tape_push = declare(Op("tape_push", _push_rule, _push, may_raise=True,
                       doc="Push one record; MemoryError past the tape limit."))
tape_pop = declare(Op("tape_pop", _pop_rule, _pop, doc="Pop the last record."))


# --- derivative rules --------------------------------------------------------
# The tangent of a tape is a tape of the records' tangents (forward over
# reverse: `jvp` of a `vjp` graph), and its cotangent a tape of the records'
# cotangents (reverse over reverse: the adjoint of a pop pushes the record's
# cotangent, the adjoint of a push pops it, so each record meets its own
# cotangent; see docs/autodiff.md). Fields without a derivative (ints,
# bools) repeat the primal value, so records keep one layout.

def _derivative_or_zero(b, t, x):
    from adjit.ir.ops.array import zeros_like
    from adjit.ir.types import F64, ArrayType

    if t is not None:
        return t
    if isinstance(x.type, ArrayType):
        return zeros_like(b, x)
    if isinstance(x.type, TapeType):
        return b.node(tape_new, [b.const(0)], [x.type]).result
    return b.const(0.0) if x.type == F64 else x


@tape_new.def_jvp
def _new_jvp(b, attrs, xs, ys, ts):
    return [b.node(tape_new, [xs[0]], [ys[0].type]).result]


@tape_push.def_jvp
def _push_jvp(b, attrs, xs, ys, ts):
    fields = [_derivative_or_zero(b, t, x) for t, x in zip(ts, xs)]
    return [b.apply(tape_push, *fields)]


@tape_pop.def_jvp
def _pop_jvp(b, attrs, xs, ys, ts):
    tangent = _derivative_or_zero(b, ts[0], xs[0])
    return list(b.node(tape_pop, [tangent], [y.type for y in ys]).results)


@tape_new.def_vjp
def _new_vjp(b, attrs, xs, ys, cts):
    return [None]


@tape_push.def_vjp
def _push_vjp(b, attrs, xs, ys, cts):
    return list(b.node(tape_pop, [cts[0]], [x.type for x in xs]).results)


@tape_pop.def_vjp
def _pop_vjp(b, attrs, xs, ys, cts):
    fields = [_derivative_or_zero(b, c, y) for c, y in zip(cts[1:], ys[1:])]
    return [b.apply(tape_push, cts[0], *fields)]
