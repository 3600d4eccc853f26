"""Rendering a compilation stage of a function (`adjit dump`).

Stages: `parsed` (the syntax tree) and `ir` (typed IR specialized on example
arguments). Formats: the text form, or the IR as a graph in JSON
(networkx node-link), GraphML, DOT, or a picture rendered by Graphviz.
"""
from __future__ import annotations

import dataclasses
import io
from typing import Any

from adjit.errors import SourceFile, Span
from adjit.frontend import syntax

GRAPH_FORMATS = ("json", "graphml", "dot", "svg", "png")


def format_tree(node: Any, indent: int = 0) -> str:
    """An indented, one-field-per-line rendering of a syntax tree."""
    pad = "  " * indent
    if isinstance(node, list):
        if not node:
            return "[]"
        return "\n".join(f"{pad}- " + format_tree(x, indent + 1).lstrip() for x in node)
    if not dataclasses.is_dataclass(node):
        return repr(node)
    fields = [f for f in dataclasses.fields(node) if f.name not in ("span", "source")]
    span = getattr(node, "span", None)
    head = type(node).__name__ + (f" @{span.line}:{span.col}" if isinstance(span, Span) else "")
    lines = [head]
    for f in fields:
        value = getattr(node, f.name)
        if isinstance(value, (SourceFile, Span)) or f.name == "func_span":
            continue
        if isinstance(value, dict):
            value = list(value.values()) if f.name in ("functions", "constants") else value
        if isinstance(value, (list, syntax.Expr, syntax.Stmt, syntax.FunctionDef,
                              syntax.Param, syntax.Constant)) and value != []:
            lines.append(f"{pad}  {f.name}:")
            inner = format_tree(value, indent + 2)
            lines.append(inner if isinstance(value, list) else f"{pad}    {inner}")
        else:
            lines.append(f"{pad}  {f.name}: {format_tree(value)}")
    return "\n".join(lines)


def render(target, stage: str, fmt: str, example_args: list[Any]) -> str | bytes:
    if stage == "parsed":
        if fmt != "text":
            raise ValueError("the parsed stage is printed as text only")
        return format_tree(target.definition) + "\n"
    from adjit.api import lower_call

    module, _ = lower_call(target, example_args)
    return render_module(module, fmt)


def render_module(module, fmt: str) -> str | bytes:
    from adjit.ir import graph
    from adjit.ir.printer import print_module

    if fmt == "text":
        return print_module(module)
    if fmt == "json":
        return graph.to_json(graph.to_networkx(module))
    if fmt == "graphml":
        buffer = io.BytesIO()
        graph.write_graphml(graph.to_networkx(module), buffer)
        return buffer.getvalue().decode()
    dot = graph.to_dot(module)
    if fmt == "dot":
        return dot
    return graph.render(dot, fmt)
