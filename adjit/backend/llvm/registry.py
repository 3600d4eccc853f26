"""The one table from IR ops to their LLVM lowerings.

A lowering is `rule(fl, node, args) -> list of LLVM values`, where `fl` is
the `FunctionLowering` in progress (builder, error sites, options) and
`args` the LLVM values of the node's operands. Each op's rule is declared
next to the lowerings of its kin (`scalar.py`, `mathfns.py`, `arrays.py`,
`control.py`) with `@lowers(op)`; dispatch is on the op object.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from adjit.ir.ops.base import Op

if TYPE_CHECKING:
    from adjit.backend.llvm.lower import FunctionLowering

Rule = Callable[["FunctionLowering", Any, list[Any]], list[Any]]
LOWERINGS: dict[Op, Rule] = {}


def lowers(*ops: Op) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        for op in ops:
            if op in LOWERINGS:
                raise ValueError(f"op {op.name!r} has two LLVM lowerings")
            LOWERINGS[op] = rule
        return rule

    return register
