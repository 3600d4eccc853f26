"""Errors adjit reports about the user's program.

Every error about user code carries a location (file, line, column), the
source line and a caret, and renders like a compiler diagnostic:

    f.py:3:12: error: lambda is not supported; write a nested def ... instead
        y = lambda t: t
               ^

Internal failures are `InternalError`, which names the stage that failed and
asks the user to report it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines, 1-based columns, end exclusive."""

    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


@dataclass(frozen=True)
class SourceFile:
    """The text of one module, kept to quote lines in diagnostics."""

    name: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 1 <= line <= len(lines) else ""


def render_location(source: SourceFile | None, span: Span | None) -> str:
    """`file:line:col`, just the file name when no span is known, or "" for
    an error about no program (a missing CUDA driver, say)."""
    if source is None:
        return f"<unknown>:{span.line}:{span.col}" if span else ""
    return f"{source.name}:{span.line}:{span.col}" if span else source.name


def render_caret(source: SourceFile | None, span: Span | None) -> str:
    """The source line and a caret under the span, indented by four spaces."""
    if source is None or span is None:
        return ""
    text = source.line_text(span.line).expandtabs(1)
    if not text:
        return ""
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    return f"    {text}\n    {' ' * (span.col - 1)}{'^' * width}"


class AdjitError(Exception):
    """Base class of every error adjit raises about a user's program."""

    kind = "error"

    def __init__(self, message: str, source: SourceFile | None = None,
                 span: Span | None = None, notes: tuple[str, ...] = ()):
        self.message = message
        self.source = source
        self.span = span
        self.notes = tuple(notes)
        super().__init__(self.render())

    @property
    def filename(self) -> str | None:
        return self.source.name if self.source else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.col if self.span else None

    def render(self) -> str:
        where = render_location(self.source, self.span)
        head = f"{where + ': ' if where else ''}{self.kind}: {self.message}"
        parts = [head]
        caret = render_caret(self.source, self.span)
        if caret:
            parts.append(caret)
        parts.extend(f"note: {n}" for n in self.notes)
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


class AdjitSyntaxError(AdjitError, SyntaxError):
    """The text is not valid Python in adjit's subset grammar."""

    def __init__(self, message: str, source: SourceFile | None = None,
                 span: Span | None = None, notes: tuple[str, ...] = ()):
        AdjitError.__init__(self, message, source, span, notes)
        # SyntaxError's own attributes, so tools that know SyntaxError work.
        self.msg = message
        self.lineno = span.line if span else None
        self.offset = span.col if span else None
        self.text = source.line_text(span.line) if (source and span) else None

    def __str__(self) -> str:
        return self.render()


class UnsupportedError(AdjitError):
    """Valid Python that adjit does not compile; the message says what to write."""


class AdjitTypeError(AdjitError, TypeError):
    """A type error in the user's program (found while specializing it)."""


class AdjitNameError(AdjitError, NameError):
    """An undefined or possibly-undefined name."""


class ShapeError(AdjitError, ValueError):
    """Arguments (or `out=` arrays) of a vectorized call whose shapes do not broadcast."""


class CudaUnavailableError(AdjitError):
    """A part of the CUDA stack (toolkit, driver bindings, a GPU) is missing."""

    kind = "CUDA unavailable"


class GraphvizUnavailableError(AdjitError, RuntimeError):
    """Graphviz's `dot`, which draws graph pictures (svg, png), is not installed."""

    kind = "Graphviz unavailable"


class InternalError(AdjitError):
    """A bug in adjit. The message names the stage and asks for a report."""

    kind = "internal error"

    def __init__(self, message: str, stage: str = "", source: SourceFile | None = None,
                 span: Span | None = None, notes: tuple[str, ...] = ()):
        self.stage = stage
        where = f" in {stage}" if stage else ""
        notes = tuple(notes) + (
            "this is a bug in adjit; please report it with the program that triggered it",)
        super().__init__(f"{message}{where}", source, span, notes)


def error_at(cls: type[AdjitError], message: str, source: SourceFile | None,
             span: Span | None, *notes: str) -> AdjitError:
    """Build an error of class `cls` at `span` (a convenience for raisers)."""
    return cls(message, source, span, notes)


def runtime_error(exc_type: type[BaseException], message: str, source: SourceFile | None,
                  span: Span | None) -> BaseException:
    """The exception CPython would raise, with the user's source line appended.

    Compiled code and the interpreter raise CPython's exception types
    (ZeroDivisionError, ValueError, IndexError, ...); the message adds where.
    """
    if span is None:
        return exc_type(message)
    line = source.line_text(span.line).strip() if source else ""
    where = f"{render_location(source, span)}"
    exc = exc_type(f"{message} (at {where}: {line})" if line else f"{message} (at {where})")
    exc.adjit_location = (source.name if source else None, span.line, span.col)
    return exc
