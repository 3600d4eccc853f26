"""Every op of the IR, importable as `adjit.ir.ops.<name>`.

`OPS` maps printed names to ops (for the IR text parser and the CLI only).
"""
from adjit.ir.ops.base import OPS, Op, OpTypeError, declare
from adjit.ir.ops.arith import (
    abs_, add, const, div, eq, fdiv, floordiv, ge, gt, le, lt, max_, min_, mod, mul, ne, neg,
    not_, pow_, select, sub, to_bool, to_f64, to_i64,
)
from adjit.ir.ops.mathfn import FUNCTIONS as MATH_FUNCTIONS, math_check
from adjit.ir.ops.array import array_add, array_add_at, array_dim, array_get, array_new, array_set
from adjit.ir.ops.control import call, check, for_, if_, while_
from adjit.ir.ops.tape import tape_new, tape_pop, tape_push

__all__ = [
    "OPS", "Op", "OpTypeError", "declare", "MATH_FUNCTIONS",
    "abs_", "add", "const", "div", "fdiv", "eq", "floordiv", "ge", "gt", "le", "lt", "max_", "min_",
    "mod", "mul", "ne", "neg", "not_", "pow_", "sub", "to_bool", "to_f64", "to_i64",
    "math_check", "array_add", "array_add_at", "array_dim", "array_get", "array_new",
    "array_set", "select",
    "call", "check", "for_", "if_", "while_", "tape_new", "tape_pop", "tape_push",
]
