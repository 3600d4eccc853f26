"""Structured control flow and calls: `if`, `while`, `for`, `call`.

- `if %c` has regions `then` and `else` (no arguments), each yielding the
  node's results.
- `while %init...` has regions `cond` and `body`, both taking the carried
  values as arguments; `cond` yields one bool, `body` yields the next carried
  values; the results are the carried values when `cond` yields false.
- `for %start, %stop, %step, %init...` iterates Python's
  `range(start, stop, step)`; its `body` takes the index (i64) and the
  carried values and yields the next carried values.
- `call %args... {callee = @name}` calls another function of the module.

`break`, `continue` and early `return` are not ops: the frontend lowers them
into flags carried by these loops.
"""
from __future__ import annotations

from typing import Any

from adjit.ir.ops.base import Op, OpTypeError, declare
from adjit.ir.types import BOOL, I64, Type


def _types(values) -> list[Type]:
    return [v.type for v in values]


def _expect(got: list[Type], want: list[Type], what: str) -> None:
    if got != want:
        raise OpTypeError(f"{what}: expected ({', '.join(map(str, want))}), "
                          f"got ({', '.join(map(str, got))})")


def _given_by_regions(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    raise OpTypeError("result types of control-flow ops come from their regions")


def _verify_if(node) -> None:
    _expect(_types(node.operands), [BOOL], "if condition")
    if len(node.regions) != 2:
        raise OpTypeError("if needs a then and an else region")
    for region in node.regions:
        _expect(_types(region.args), [], "if region arguments")
        _expect(_types(region.yields), _types(node.results), "if region yields")


def _eval_if(node, args: list[Any], interp) -> list[Any]:
    return interp.run_region(node.regions[0 if args[0] else 1], [])


def _verify_while(node) -> None:
    carried = _types(node.operands)
    if len(node.regions) != 2:
        raise OpTypeError("while needs a cond and a body region")
    cond, body = node.regions
    _expect(_types(node.results), carried, "while results")
    _expect(_types(cond.args), carried, "while cond arguments")
    _expect(_types(cond.yields), [BOOL], "while cond yields")
    _expect(_types(body.args), carried, "while body arguments")
    _expect(_types(body.yields), carried, "while body yields")


def _eval_while(node, args: list[Any], interp) -> list[Any]:
    cond, body = node.regions
    carried = list(args)
    while interp.run_region(cond, carried)[0]:
        interp.tick()
        carried = interp.run_region(body, carried)
    return carried


def _verify_for(node) -> None:
    if len(node.operands) < 3:
        raise OpTypeError("for needs start, stop and step")
    _expect(_types(node.operands[:3]), [I64, I64, I64], "for range")
    carried = _types(node.operands[3:])
    if len(node.regions) != 1:
        raise OpTypeError("for needs one body region")
    body = node.regions[0]
    _expect(_types(node.results), carried, "for results")
    _expect(_types(body.args), [I64] + carried, "for body arguments")
    _expect(_types(body.yields), carried, "for body yields")


def _eval_for(node, args: list[Any], interp) -> list[Any]:
    start, stop, step, *carried = args
    if step == 0:
        raise ValueError("range() arg 3 must not be zero")
    for i in range(start, stop, step):
        interp.tick()
        carried = interp.run_region(node.regions[0], [i, *carried])
    return carried


def _verify_call(node) -> None:
    if not isinstance(node.attrs.get("callee"), str):
        raise OpTypeError("call needs a callee name")


def _eval_call(node, args: list[Any], interp) -> list[Any]:
    return interp.call(node.attrs["callee"], args)


if_ = declare(Op("if", _given_by_regions, _eval_if, structured=True,
                 region_names=("then", "else"), verify=_verify_if))
while_ = declare(Op("while", _given_by_regions, _eval_while, structured=True,
                    region_names=("cond", "body"), verify=_verify_while))
for_ = declare(Op("for", _given_by_regions, _eval_for, structured=True,
                  region_names=("body",), verify=_verify_for, may_raise=True))
call = declare(Op("call", _given_by_regions, _eval_call, structured=True, may_raise=True,
                  verify=_verify_call, doc="Result types are the callee's result types."))


EXCEPTIONS = {cls.__name__: cls for cls in (
    ValueError, ZeroDivisionError, IndexError, OverflowError, MemoryError)}


def _check_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if types != [BOOL]:
        raise OpTypeError("check takes one bool")
    if attrs.get("error") not in EXCEPTIONS or not isinstance(attrs.get("message"), str):
        raise OpTypeError("check needs an error name and a message")
    return []


def _eval_check(attrs: dict[str, Any], failed: bool) -> tuple:
    if failed:
        raise EXCEPTIONS[attrs["error"]](attrs["message"])
    return ()


check = declare(Op("check", _check_rule, _eval_check, may_raise=True,
                   doc="Raise attrs['error'](attrs['message']) when the operand is true."))
