"""The stable text form of the IR.

    func @f(%x1: f64, %x2: f64) -> f64 {
      %0 = log %x1 : f64                          # 2:12
      %s = for %c0, %n, %c1, %s.0 : f64 {         # 4:5
      ^(%i: i64, %s.1: f64):
        ...
        yield %s.2
      }
      return %0
    }

One node per line: results, op name, operands, attributes in braces, result
types after a colon, and the source `line:col` in a trailing comment. Nested
regions are indented; a region's arguments are listed on a `^(...)` line;
regions after the first are introduced by their name (`} else {`,
`} body {`). Values are named after the source variable they hold (`%s`,
`%s.1`, ...) or numbered. A function that writes to array parameters lists
them after its result types (`-> (f64, array<f64,1>) writes(%x)`); their
final values are its last results. `adjit.ir.textparse` reads this form back.
"""
from __future__ import annotations

from typing import Any

from adjit.ir import ops
from adjit.ir.core import Function, Module, Node, Region, Value

LOCATION_COLUMN = 48


class Namer:
    """Assigns each value a unique printed name within one function."""

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}
        self.used: set[str] = set()
        self.counter = 0
        self.suffix: dict[str, int] = {}  # next suffix to try per hint (linear time)

    def define(self, value: Value) -> str:
        if value.hint:
            k = self.suffix.get(value.hint, 0)
            name = value.hint if k == 0 else f"{value.hint}.{k}"
            while name in self.used:
                k += 1
                name = f"{value.hint}.{k}"
            self.suffix[value.hint] = k + 1
        else:
            while str(self.counter) in self.used:
                self.counter += 1
            name = str(self.counter)
            self.counter += 1
        self.used.add(name)
        self.names[value] = name
        return "%" + name

    def __getitem__(self, value: Value) -> str:
        name = self.names.get(value)
        return "%" + name if name is not None else f"%<undefined {value.type}>"


def format_attr(key: str, value: Any) -> str:
    if key == "callee":
        return f"callee = @{value}"
    if isinstance(value, str):
        bare = value.isidentifier() and value not in ("True", "False", "None", "inf", "nan")
        return f"{key} = {value if bare else repr(value)}"
    return f"{key} = {value!r}"


def format_constant(value: Any) -> str:
    return repr(value)


def _with_location(text: str, node: Node) -> str:
    if node.span is None:
        return text
    pad = max(1, LOCATION_COLUMN - len(text))
    return f"{text}{' ' * pad}# {node.span.line}:{node.span.col}"


class Printer:
    def __init__(self, show_locations: bool = True, marked: Node | None = None):
        self.show_locations = show_locations
        self.marked = marked
        self.lines: list[str] = []

    def function(self, fn: Function) -> str:
        namer = Namer()
        params = ", ".join(f"{namer.define(p)}: {p.type}" for p in fn.params)
        results = ", ".join(map(str, fn.result_types))
        if len(fn.result_types) != 1:
            results = f"({results})"
        writes = ""
        if fn.writes:
            writes = " writes(" + ", ".join(namer[fn.params[k]] for k in fn.writes) + ")"
        self.lines = [f"func @{fn.name}({params}) -> {results}{writes} {{"]
        self.region_body(fn.body, namer, 1)
        yields = ", ".join(namer[v] for v in fn.body.yields)
        self.lines.append(f"  return {yields}".rstrip())
        self.lines.append("}")
        return "\n".join(self.lines)

    def region_body(self, region: Region, namer: Namer, depth: int) -> None:
        for node in region.nodes:
            self.node(node, namer, depth)

    def node(self, node: Node, namer: Namer, depth: int) -> None:
        indent = "  " * depth
        operands = ", ".join(namer[v] for v in node.operands)
        if node.op is ops.const:
            operands = format_constant(node.attrs["value"])
            attrs = ""
        else:
            attrs = ", ".join(format_attr(k, v) for k, v in sorted(node.attrs.items()))
            attrs = f" {{{attrs}}}" if attrs else ""
        results = ", ".join(namer.define(v) for v in node.results)
        head = f"{results} = " if node.results else ""
        types = ", ".join(str(v.type) for v in node.results)
        text = f"{indent}{head}{node.op.name}"
        text += f" {operands}" if operands else ""
        text += attrs
        text += f" : {types}" if types else ""
        if node.regions:
            text += " {"
        if node is self.marked:
            text += "    <-- failed here"
        self.lines.append(_with_location(text, node) if self.show_locations else text)
        for k, region in enumerate(node.regions):
            if k > 0:
                self.lines.append(f"{indent}}} {node.op.region_names[k]} {{")
            if region.args:
                args = ", ".join(f"{namer.define(a)}: {a.type}" for a in region.args)
                self.lines.append(f"{indent}^({args}):")
            self.region_body(region, namer, depth + 1)
            yields = ", ".join(namer[v] for v in region.yields)
            self.lines.append(f"{indent}  yield {yields}".rstrip())
        if node.regions:
            self.lines.append(f"{indent}}}")


def print_function(fn: Function, show_locations: bool = True, marked: Node | None = None) -> str:
    return Printer(show_locations, marked).function(fn)


def print_module(module: Module, show_locations: bool = True, marked: Node | None = None) -> str:
    """The entry function first, then the others in definition order."""
    order = sorted(module.functions.values(), key=lambda f: f.name != module.entry)
    return "\n\n".join(print_function(f, show_locations, marked) for f in order) + "\n"
