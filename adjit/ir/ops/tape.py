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
