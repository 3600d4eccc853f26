"""Reading the IR's text form (`adjit.ir.printer`) back into IR.

`parse_module_text(print_module(m))` rebuilds `m`, and printing the result
gives the same text again, with or without the `# line:col` comments (which
become the nodes' spans). That lets a pass test be IR text in, IR text out.

The parser reads one line at a time; regions nest by braces and indentation
is ignored. Names are resolved per function (the printer makes them unique
there); a name's hint is its source variable: `%s.2` -> `s`, `%7` -> none, so
reprinting names the values as before. Types are read as printed, without
spaces inside `<...>`. `writes(%a, ...)` after the result types names the
array parameters the function writes to (`Function.writes`). The parser
builds what the text says and does not type check it: run
`adjit.ir.verify.verify_module` for that.

A bare attribute word is a string (`fill = zeros`), except `True`/`False`
(bools) and `inf`/`nan` (floats); other values are Python literals.
"""
from __future__ import annotations

import ast
import re
from typing import Any

from adjit.errors import Span
from adjit.ir import ops
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.ops import OPS
from adjit.ir.types import BOOL, F64, I64, Type, parse_type

LOCATION = re.compile(r"\s+#\s*(\d+):(\d+)\s*$")
FAILED_MARK = re.compile(r"\s+<-- failed here$")
VALUE_NAME = re.compile(r"%([^\s,:(){}]+)")
SYMBOL = re.compile(r"@([^\s,(){}]+)")
WORD = re.compile(r"[A-Za-z_]\w*")
STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
ATTR_VALUE = re.compile(r"[^,{}]+")
CONSTANT = re.compile(r"[-+.\w]+")
REGION_NEXT = re.compile(r"\}\s*(\w+)\s*\{")
NUMBERED_SUFFIX = re.compile(r"\.\d+$")


class IRParseError(ValueError):
    """Malformed IR text; `line` is the 1-based line number."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


class Cursor:
    """Scans one line (location comment already removed) left to right."""

    def __init__(self, text: str, number: int):
        self.text = text
        self.number = number
        self.pos = 0

    def error(self, message: str) -> IRParseError:
        return IRParseError(f"{message} in {self.text.strip()!r}", self.number)

    def rest(self) -> str:
        return self.text[self.pos:].strip()

    def end(self) -> None:
        if self.rest():
            raise self.error(f"unexpected {self.rest()!r}")

    def peek(self, prefix: str) -> bool:
        """Skip blanks; does the rest start with `prefix`?"""
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text.startswith(prefix, self.pos)

    def accept(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.accept(literal):
            raise self.error(f"expected {literal!r}")

    def match(self, pattern: re.Pattern, what: str) -> re.Match:
        self.peek("")
        m = pattern.match(self.text, self.pos)
        if m is None:
            raise self.error(f"expected {what}")
        self.pos = m.end()
        return m

    def type(self) -> Type:
        """A type, reading `<...>` by nesting depth."""
        start = self.match(WORD, "a type").start()
        depth = 0
        while self.pos < len(self.text) and (depth or self.text[self.pos] == "<"):
            depth += {"<": 1, ">": -1}.get(self.text[self.pos], 0)
            self.pos += 1
        text = self.text[start:self.pos]
        try:
            return parse_type(text)
        except (ValueError, KeyError):
            raise self.error(f"bad type {text!r}") from None

    def sequence(self, item, close: str = "") -> list:
        """Comma-separated items up to `close` (consumed) or the end of the line."""
        items: list = []
        if close and self.accept(close):
            return items
        items.append(item())
        while self.accept(","):
            items.append(item())
        if close:
            self.expect(close)
        return items

    def name(self) -> str:
        return self.match(VALUE_NAME, "a %value").group(1)

    def typed_name(self) -> tuple[str, Type]:
        name = self.name()
        self.expect(":")
        return name, self.type()

    def attribute(self) -> tuple[str, Any]:
        key = self.match(WORD, "an attribute name").group()
        self.expect("=")
        if self.peek("@"):
            return key, self.match(SYMBOL, "a function name").group(1)
        if self.peek("'") or self.peek('"'):
            return key, ast.literal_eval(self.match(STRING, "a string").group())
        word = self.match(ATTR_VALUE, "an attribute value").group().strip()
        if word in ("inf", "-inf", "nan"):
            return key, float(word)
        if word.isidentifier() and word not in ("True", "False", "None"):
            return key, word
        try:
            return key, ast.literal_eval(word)
        except (ValueError, SyntaxError):
            raise self.error(f"bad attribute value {word!r}") from None


def _constant(text: str, type: Type, cursor: Cursor) -> bool | int | float:
    """The literal of a `const` line; its result type says int or float."""
    try:
        if type == F64:
            return float(text)
        if type == I64:
            return int(text)
        if type == BOOL and text in ("True", "False"):
            return text == "True"
    except ValueError:
        pass
    raise cursor.error(f"{text!r} is not a {type} constant")


def _hint(name: str) -> str:
    return "" if name.isdigit() else NUMBERED_SUFFIX.sub("", name)


class Parser:
    def __init__(self, text: str):
        self.lines: list[tuple[int, str, Span | None]] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            span = None
            m = LOCATION.search(line)
            if m:
                span = Span(int(m.group(1)), int(m.group(2)))
                line = line[:m.start()]
            self.lines.append((number, FAILED_MARK.sub("", line), span))
        self.index = 0
        self.values: dict[str, Value] = {}

    def next_line(self, expected: str) -> tuple[Cursor, Span | None]:
        if self.index >= len(self.lines):
            last = self.lines[-1][0] if self.lines else 1
            raise IRParseError(f"unexpected end of text, expected {expected}", last)
        number, text, span = self.lines[self.index]
        self.index += 1
        return Cursor(text, number), span

    def define(self, name: str, value: Value, cursor: Cursor) -> None:
        if name in self.values:
            raise cursor.error(f"%{name} is defined twice")
        self.values[name] = value

    def lookup(self, name: str, cursor: Cursor) -> Value:
        if name not in self.values:
            raise cursor.error(f"%{name} is not defined")
        return self.values[name]

    def module(self) -> Module:
        module = Module()
        while self.index < len(self.lines):
            header = self.lines[self.index][0]
            fn = self.function()
            if fn.name in module.functions:
                raise IRParseError(f"function @{fn.name} is defined twice", header)
            module.add(fn)
            module.entry = module.entry or fn.name
        return module

    def function(self) -> Function:
        c, _ = self.next_line("'func @name(...) -> ... {'")
        self.values = {}
        c.expect("func")
        name = c.match(SYMBOL, "@name").group(1)
        c.expect("(")
        params = c.sequence(c.typed_name, ")")
        c.expect("->")
        results = c.sequence(c.type, ")") if c.accept("(") else [c.type()]
        param_names = [n for n, _ in params]
        writes = []
        if c.accept("writes"):
            c.expect("(")
            for written in c.sequence(c.name, ")"):
                if written not in param_names:
                    raise c.error(f"writes(%{written}) names no parameter")
                writes.append(param_names.index(written))
        c.expect("{")
        c.end()
        body = Region([t for _, t in params], [_hint(n) for n in param_names])
        for param, value in zip(param_names, body.args):
            self.define(param, value, c)
        self.region_body(body, "return")
        c, _ = self.next_line("'}'")
        if c.rest() != "}":
            raise c.error(f"expected '}}' closing @{name}")
        return Function(name, body, results, writes=writes)

    def region_body(self, region: Region, terminator: str) -> None:
        """Nodes up to and including the `yield`/`return` line."""
        while True:
            c, span = self.next_line(f"{terminator!r}")
            if c.accept(terminator) and (not c.rest() or c.text[c.pos].isspace()):
                region.yields = [self.lookup(n, c) for n in c.sequence(c.name)] if c.rest() else []
                return
            c.pos = 0
            region.nodes.append(self.node(c, span))

    def node(self, c: Cursor, span: Span | None) -> Node:
        names = []
        if c.peek("%"):
            names = c.sequence(c.name)
            c.expect("=")
        op_name = c.match(WORD, "an op name").group()
        op = OPS.get(op_name)
        if op is None:
            raise c.error(f"unknown op {op_name!r}")
        operands, attrs, literal = [], {}, None
        if op is ops.const:
            literal = c.match(CONSTANT, "a constant").group()
        elif c.peek("%"):
            operands = [self.lookup(n, c) for n in c.sequence(c.name)]
        if c.peek("{") and c.rest() != "{":
            c.expect("{")
            attrs = dict(c.sequence(c.attribute, "}"))
        types = c.sequence(c.type) if c.accept(":") else []
        if len(types) != len(names):
            raise c.error(f"{len(names)} results but {len(types)} result types")
        if literal is not None:
            if len(types) != 1:
                raise c.error("const needs one result type")
            attrs["value"] = _constant(literal, types[0], c)
        has_regions = c.accept("{")
        c.end()
        regions = self.regions(op) if has_regions else []
        node = Node(op, operands, types, attrs, regions, span, [_hint(n) for n in names])
        for name, value in zip(names, node.results):
            self.define(name, value, c)
        return node

    def regions(self, op: ops.Op) -> list[Region]:
        """The regions after a `{`: each `^(...)` args, body, `yield`, then `}` or `} name {`."""
        regions = []
        while True:
            region = Region()
            if self.index < len(self.lines) and self.lines[self.index][1].startswith("^"):
                c, _ = self.next_line("region arguments")
                c.expect("^(")
                for name, type in c.sequence(c.typed_name, ")"):
                    self.define(name, region.add_arg(type, _hint(name)), c)
                c.expect(":")
                c.end()
            self.region_body(region, "yield")
            regions.append(region)
            c, _ = self.next_line("'}'")
            if c.rest() == "}":
                return regions
            m = REGION_NEXT.fullmatch(c.rest())
            if m is None:
                raise c.error("expected '}' or '} <region> {'")
            names = op.region_names
            if len(regions) >= len(names) or m.group(1) != names[len(regions)]:
                raise c.error(f"{op.name} has no region {m.group(1)!r} here "
                              f"(its regions: {', '.join(names) or 'none'})")


def parse_module_text(text: str) -> Module:
    """A module from `print_module` text; its first function is the entry."""
    return Parser(text).module()


def parse_function_text(text: str) -> Function:
    """The one function of `print_function` text."""
    module = parse_module_text(text)
    if len(module.functions) != 1:
        raise IRParseError(f"expected one function, found {len(module.functions)}", 1)
    return module.entry_function
