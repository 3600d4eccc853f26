"""Array ops: allocation, element read, element write, dimension.

Arrays are values: `array_set` returns a new array and leaves its operand
unchanged. The interpreter copies; backends write in place when the operand
is dead afterwards (which the frontend's `a[i] = v` rebinding makes the common
case). Indices follow Python: negative counts from the end, anything else
outside the dimension raises IndexError with numpy's message.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from adjit.ir.ops.base import Op, OpTypeError, declare
from adjit.ir.types import I64, ArrayType, Type

FILLS = ("zeros", "ones", "empty")


def _new_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if not 1 <= len(types) <= 2 or any(t != I64 for t in types):
        raise OpTypeError("array_new takes one or two i64 dimensions")
    if attrs.get("fill") not in FILLS:
        raise OpTypeError(f"array_new fill must be one of {', '.join(FILLS)}")
    return [ArrayType(len(types))]


def _new(attrs: dict[str, Any], *dims: int) -> np.ndarray:
    if any(d < 0 for d in dims):
        raise ValueError("negative dimensions are not allowed")
    # `empty` is zero-filled in the interpreter so runs are reproducible.
    return np.ones(dims) if attrs["fill"] == "ones" else np.zeros(dims)


def _index_rule(types: list[Type], extra: int) -> ArrayType:
    if not types or not isinstance(types[0], ArrayType):
        raise OpTypeError("the first operand must be an array")
    array = types[0]
    indices = types[1:len(types) - extra]
    if len(indices) != array.ndim or any(t != I64 for t in indices):
        raise OpTypeError(f"{array} needs {array.ndim} i64 indices")
    return array


def normalize_index(index: int, size: int, axis: int) -> int:
    """Python's negative indices; numpy's IndexError message."""
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {size}")
    return index + size if index < 0 else index


def _position(array: np.ndarray, indices: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(normalize_index(i, n, axis)
                 for axis, (i, n) in enumerate(zip(indices, array.shape)))


def _get_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    return [_index_rule(types, 0).dtype]


def _set_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    array = _index_rule(types, 1)
    if types[-1] != array.dtype:
        raise OpTypeError(f"cannot store {types[-1]} into {array}")
    return [array]


def _get(attrs: dict[str, Any], array: np.ndarray, *indices: int) -> float:
    return float(array[_position(array, indices)])


def _set(attrs: dict[str, Any], array: np.ndarray, *rest: Any) -> np.ndarray:
    *indices, value = rest
    out = array.copy()
    out[_position(array, tuple(indices))] = value
    return out


def _dim_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if len(types) != 1 or not isinstance(types[0], ArrayType):
        raise OpTypeError("array_dim takes one array")
    if not 0 <= attrs.get("axis", -1) < types[0].ndim:
        raise OpTypeError(f"axis {attrs.get('axis')} out of range for {types[0]}")
    return [I64]


array_new = declare(Op("array_new", _new_rule, _new, may_raise=True,
                       doc="np.zeros/ones/empty of the given dimensions (attrs['fill'])."))
array_get = declare(Op("array_get", _get_rule, _get, may_raise=True, doc="x[i] / A[i, j]"))
array_set = declare(Op("array_set", _set_rule, _set, may_raise=True,
                       doc="A copy of the array with one element replaced."))
array_dim = declare(Op("array_dim", _dim_rule, lambda attrs, a: int(a.shape[attrs["axis"]]),
                       doc="x.shape[axis]; len(x) is axis 0."))


def _add_at_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    return _set_rule(types, attrs)


def _add_at(attrs: dict[str, Any], array: np.ndarray, *rest: Any) -> np.ndarray:
    *indices, value = rest
    out = array.copy()
    out[_position(array, tuple(indices))] += value
    return out


def _add_rule(types: list[Type], attrs: dict[str, Any]) -> list[Type]:
    if len(types) != 2 or not isinstance(types[0], ArrayType) or types[0] != types[1]:
        raise OpTypeError("array_add takes two arrays of one type")
    return [types[0]]


def _add(attrs: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.shape != y.shape:
        raise ValueError(f"operands could not be broadcast together with shapes {x.shape} "
                         f"{y.shape}")
    return x + y


array_add_at = declare(Op("array_add_at", _add_at_rule, _add_at, may_raise=True,
                          doc="A copy of the array with value added to one element "
                              "(reverse mode accumulates x[i]'s cotangent with it)."))
array_add = declare(Op("array_add", _add_rule, _add, may_raise=True,
                       doc="Elementwise sum of two arrays of one shape (cotangent sums)."))


# --- derivative rules --------------------------------------------------------

def zeros_like(b, array):
    """A new zero array with the shape of `array`."""
    dims = [b.apply(array_dim, array, axis=k) for k in range(array.type.ndim)]
    return b.apply(array_new, *dims, fill="zeros")


def _array_rules() -> None:
    from adjit.ir.ops.base import Indexed, piecewise_constant

    piecewise_constant(array_new, array_dim)

    @array_get.def_jvp
    def _get_jvp(b, attrs, xs, ys, ts):
        return [None if ts[0] is None else b.apply(array_get, ts[0], *xs[1:])]

    @array_get.def_vjp
    def _get_vjp(b, attrs, xs, ys, cts):
        return [Indexed(tuple(xs[1:]), cts[0])] + [None] * (len(xs) - 1)

    @array_set.def_jvp
    def _set_jvp(b, attrs, xs, ys, ts):
        if ts[0] is None and ts[-1] is None:
            return [None]
        base = ts[0] if ts[0] is not None else zeros_like(b, xs[0])
        value = ts[-1] if ts[-1] is not None else b.const(0.0)
        return [b.apply(array_set, base, *xs[1:-1], value)]

    @array_set.def_vjp
    def _set_vjp(b, attrs, xs, ys, cts):
        indices = xs[1:-1]
        value_ct = b.apply(array_get, cts[0], *indices)
        array_ct = b.apply(array_set, cts[0], *indices, b.const(0.0))  # overwritten
        return [array_ct] + [None] * len(indices) + [value_ct]

    @array_add_at.def_jvp
    def _add_at_jvp(b, attrs, xs, ys, ts):
        if ts[0] is None and ts[-1] is None:
            return [None]
        base = ts[0] if ts[0] is not None else zeros_like(b, xs[0])
        value = ts[-1] if ts[-1] is not None else b.const(0.0)
        return [b.apply(array_add_at, base, *xs[1:-1], value)]

    @array_add_at.def_vjp
    def _add_at_vjp(b, attrs, xs, ys, cts):
        indices = xs[1:-1]
        return [cts[0]] + [None] * len(indices) + [b.apply(array_get, cts[0], *indices)]

    @array_add.def_jvp
    def _add_jvp(b, attrs, xs, ys, ts):
        if ts[0] is None or ts[1] is None:
            return [ts[0] if ts[1] is None else ts[1]]
        return [b.apply(array_add, ts[0], ts[1])]

    @array_add.def_vjp
    def _add_vjp(b, attrs, xs, ys, cts):
        return [cts[0], cts[0]]


_array_rules()
