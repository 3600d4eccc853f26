"""Errors raised by compiled code: the per-module table of error sites and the
messages CPython uses.

Compiled code never builds strings. Each place that can raise is a *site*:
(exception type, message template, source file, span), numbered in a table
kept with the compiled module. On an error, generated code stores the site's
number and up to four integer payloads (e.g. the index and the size for an
IndexError) in the caller's error record and returns status 1;
`raise_for_record` turns that into the exception CPython would raise, with
the message the interpreter gives and the source line appended
(`adjit.errors.runtime_error`).

CPython's own messages differ between versions ("float division by zero"
in 3.11, "division by zero" in 3.12+), so they are taken from the running
interpreter rather than written down here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from adjit.errors import SourceFile, Span, runtime_error


def _message_of(compute: Callable[[], Any]) -> str:
    try:
        compute()
    except (ArithmeticError, ValueError) as exc:
        return str(exc)
    raise AssertionError("expected an exception")  # pragma: no cover


def _zero(x: float) -> float:
    return x - x  # a zero the constant folder of CPython cannot see


MESSAGES = {
    "float_div": _message_of(lambda: 1.0 / _zero(1.0)),
    "float_floordiv": _message_of(lambda: 1.0 // _zero(1.0)),
    "float_mod": _message_of(lambda: 1.0 % _zero(1.0)),
    "int_floordiv": _message_of(lambda: 1 // int(_zero(1.0))),
    "int_mod": _message_of(lambda: 1 % int(_zero(1.0))),
    "zero_pow": _message_of(lambda: _zero(1.0) ** -1.0),
    "pow_overflow": _message_of(lambda: 10.0 ** (400.0 + _zero(1.0))),
    "complex_overflow": _message_of(lambda: (-1e300 + _zero(1.0)) ** 2.5),
    "nan_to_int": _message_of(lambda: int(math.nan)),
    "inf_to_int": _message_of(lambda: int(math.inf)),
    "negative_dims": _message_of(lambda: np.zeros(-1)),
    # Messages adjit's interpreter gives (adjit/ir/ops/*.py).
    "int_to_64": "float too large to convert to a 64-bit integer",
    "fractional_pow": "negative number cannot be raised to a fractional power",
    "int_negative_pow": "integer ** negative integer is not supported: write float(a) ** b",
    "math_domain": "math domain error",
    "math_range": "math range error",
    "range_step": _message_of(lambda: range(0, 1, int(_zero(1.0)))),
    "too_big": _message_of(lambda: np.zeros((2 ** 40, 2 ** 40))),
    "no_memory": "Unable to allocate {0} bytes for an array",
}


def shapes_message(ndim: int) -> str:
    """numpy's message for adding arrays of different shapes; payloads: both shapes."""
    if ndim == 1:
        return "operands could not be broadcast together with shapes ({0},) ({1},)"
    return "operands could not be broadcast together with shapes ({0}, {1}) ({2}, {3})"


def index_message(axis: int) -> str:
    """numpy's IndexError message; payloads: the index, the size."""
    return f"index {{0}} is out of bounds for axis {axis} with size {{1}}"


@dataclass(frozen=True)
class ErrorSite:
    exc_type: type[BaseException]
    template: str  # str.format template over the payloads
    source: SourceFile | None
    span: Span | None

    def exception(self, payloads: tuple[int, ...]) -> BaseException:
        return runtime_error(self.exc_type, self.template.format(*payloads), self.source,
                             self.span)


class SiteTable:
    """The error sites of one module, numbered from 0 (deduplicated)."""

    def __init__(self) -> None:
        self.sites: list[ErrorSite] = []
        self._index: dict[ErrorSite, int] = {}

    def add(self, exc_type: type[BaseException], template: str, source: SourceFile | None,
            span: Span | None) -> int:
        site = ErrorSite(exc_type, template, source, span)
        if site not in self._index:
            self._index[site] = len(self.sites)
            self.sites.append(site)
        return self._index[site]

    def raise_for_record(self, record: Any) -> None:
        """Raise the exception a failed call's error record describes."""
        site = self.sites[record.site]
        payloads = (record.payload0, record.payload1, record.payload2, record.payload3)
        raise site.exception(payloads) from None
