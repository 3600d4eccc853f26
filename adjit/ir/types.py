"""The types of IR values.

Scalars `f64`, `i64`, `bool`; arrays `array<f64,N>` (N = 1 or 2, always
float64 elements); `tuple<...>` for multi-result signatures; `tape<T...>` for
the per-loop stacks reverse mode creates. Types are immutable and compared by
value; the printed form is also the form the IR text parser reads.
"""
from __future__ import annotations

from dataclasses import dataclass


class Type:
    """Base class; subclasses are frozen dataclasses."""

    @property
    def is_scalar(self) -> bool:
        return isinstance(self, ScalarType)

    @property
    def is_array(self) -> bool:
        return isinstance(self, ArrayType)


@dataclass(frozen=True)
class ScalarType(Type):
    name: str

    def __str__(self) -> str:
        return self.name


F64 = ScalarType("f64")
I64 = ScalarType("i64")
BOOL = ScalarType("bool")
SCALARS = {t.name: t for t in (F64, I64, BOOL)}


@dataclass(frozen=True)
class ArrayType(Type):
    ndim: int
    dtype: ScalarType = F64

    def __str__(self) -> str:
        return f"array<{self.dtype},{self.ndim}>"


@dataclass(frozen=True)
class TupleType(Type):
    elements: tuple[Type, ...]

    def __str__(self) -> str:
        return "tuple<" + ",".join(map(str, self.elements)) + ">"


@dataclass(frozen=True)
class TapeType(Type):
    """A LIFO stack of records, one pushed per loop iteration."""

    elements: tuple[Type, ...]

    def __str__(self) -> str:
        return "tape<" + ",".join(map(str, self.elements)) + ">"


def is_numeric(t: Type) -> bool:
    return t in (F64, I64, BOOL)


def is_differentiable(t: Type) -> bool:
    """Values of these types carry tangents and cotangents."""
    return t == F64 or (isinstance(t, ArrayType) and t.dtype == F64)


def parse_type(text: str) -> Type:
    """Inverse of `str(type)`."""
    text = text.strip()
    if text in SCALARS:
        return SCALARS[text]
    for prefix, build in (("array<", None), ("tuple<", TupleType), ("tape<", TapeType)):
        if text.startswith(prefix) and text.endswith(">"):
            inner = text[len(prefix):-1]
            if build is None:
                dtype, _, ndim = inner.partition(",")
                if dtype.strip() not in SCALARS or not ndim.strip().isdigit():
                    raise ValueError(f"unknown type {text!r}")
                return ArrayType(int(ndim), SCALARS[dtype.strip()])
            return build(tuple(parse_type(p) for p in split_top_level(inner)))
    raise ValueError(f"unknown type {text!r}")


def split_top_level(text: str) -> list[str]:
    """Split `a,b<c,d>,e` on the commas not nested in angle brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:])
    return [p.strip() for p in parts]
