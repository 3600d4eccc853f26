"""The IR's data structures: values, nodes, regions, functions, modules.

Invariants (checked by `adjit.ir.verify`):

- SSA: every `Value` is defined exactly once, either as a result of a `Node`
  or as an argument of a `Region`; a use sees only values defined earlier in
  its region or in an enclosing region.
- Structured control flow: a `Region` is a list of nodes followed by the
  values it `yields`; control-flow nodes (`if`, `while`, `for`) own regions.
  There are no jumps.
- Every value has a `Type`; every node carries the `Span` of the source it
  came from (or None for nodes that transformations create from nothing).
- A `Function`'s body region has the parameters as its arguments and yields
  the return values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from adjit.errors import SourceFile, Span
from adjit.ir.types import Type, TupleType

if TYPE_CHECKING:
    from adjit.ir.ops.base import Op


class Value:
    """An SSA value. `hint` is the source variable name, for printing only."""

    __slots__ = ("type", "hint", "owner", "index")

    def __init__(self, type: Type, hint: str = "", owner: "Node | Region | None" = None,
                 index: int = 0):
        self.type = type
        self.hint = hint
        self.owner = owner
        self.index = index

    def __repr__(self) -> str:
        return f"<Value {self.hint or '?'}: {self.type}>"


class Node:
    """One application of an op: operands in, results out, regions inside."""

    __slots__ = ("op", "operands", "results", "attrs", "regions", "span")

    def __init__(self, op: "Op", operands: list[Value], result_types: list[Type],
                 attrs: dict[str, Any] | None = None, regions: list["Region"] | None = None,
                 span: Span | None = None, hints: list[str] | None = None):
        self.op = op
        self.operands = list(operands)
        hints = hints or [""] * len(result_types)
        self.results = [Value(t, h, self, i) for i, (t, h) in enumerate(zip(result_types, hints))]
        self.attrs = dict(attrs or {})
        self.regions = list(regions or [])
        self.span = span

    @property
    def result(self) -> Value:
        assert len(self.results) == 1, f"{self.op.name} has {len(self.results)} results"
        return self.results[0]

    def __repr__(self) -> str:
        return f"<Node {self.op.name}>"


class Region:
    """A block of nodes with arguments, ending in the values it yields."""

    __slots__ = ("args", "nodes", "yields")

    def __init__(self, arg_types: list[Type] = (), hints: list[str] | None = None):
        hints = hints or [""] * len(arg_types)
        self.args = [Value(t, h, self, i) for i, (t, h) in enumerate(zip(arg_types, hints))]
        self.nodes: list[Node] = []
        self.yields: list[Value] = []

    def add_arg(self, type: Type, hint: str = "") -> Value:
        v = Value(type, hint, self, len(self.args))
        self.args.append(v)
        return v

    def walk(self) -> Iterator[Node]:
        """Every node in this region and its nested regions, in program order."""
        for node in self.nodes:
            yield node
            for region in node.regions:
                yield from region.walk()


@dataclass(eq=False)
class Function:
    """A specialized function: typed parameters, a body, typed results."""

    name: str
    body: Region
    result_types: list[Type]
    span: Span | None = None
    source: SourceFile | None = None
    # The source-level function this was specialized from.
    origin: str = ""
    # Positions of array parameters the function writes to. Their final
    # values are the last results, after the returned values, so that
    # callers see the writes as CPython's callers do.
    writes: list[int] = field(default_factory=list)

    @property
    def returned_types(self) -> list[Type]:
        """The types of the values the source returns (without `writes`)."""
        return self.result_types[:len(self.result_types) - len(self.writes)]

    @property
    def params(self) -> list[Value]:
        return self.body.args

    @property
    def result_type(self) -> Type:
        """One type, or a tuple type for a multi-value return."""
        returned = self.returned_types
        return returned[0] if len(returned) == 1 else TupleType(tuple(returned))

    def walk(self) -> Iterator[Node]:
        return self.body.walk()


@dataclass(eq=False)
class Module:
    """Functions by symbol name; `entry` names the function the user called."""

    functions: dict[str, Function] = field(default_factory=dict)
    entry: str = ""
    source: SourceFile | None = None

    @property
    def entry_function(self) -> Function:
        return self.functions[self.entry]

    def add(self, fn: Function) -> Function:
        self.functions[fn.name] = fn
        return fn

    def __str__(self) -> str:
        from adjit.ir.printer import print_module  # the printer depends on this module

        return print_module(self)
