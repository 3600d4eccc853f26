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


STAGES = ("parsed", "ir", "opt", "jvp", "grad", "fwd", "adj", "llvm", "asm")


def stage_module(target, stage: str, example_args: list[Any], wrt: list[int] | None = None,
                 passes: str | None = None, stats: list | None = None):
    """The IR module of a stage: `ir` (as lowered), `opt` (after adjit's
    passes), `jvp` (forward mode), `grad` (the fused reverse-mode gradient),
    `fwd` / `adj` (the forward and adjoint graphs that `vjp` runs); the AD
    stages are optimized. `passes` replaces the pipelines."""
    from adjit.api import Staged, bind_arguments, is_differentiable, type_of
    from adjit.ir.core import Module
    from adjit.passes.autodiff.compose import grad_graph, jvp_graph
    from adjit.passes.autodiff.split import split_vjp

    staged = Staged(target, options={"passes": passes} if passes is not None else None)
    values = bind_arguments(staged.target, example_args)
    if wrt is None:
        wrt = [k for k, v in enumerate(values) if is_differentiable(type_of(v))]
    steps = {
        "ir": None,
        "opt": None,
        "jvp": lambda f: jvp_graph(f, wrt),
        "grad": lambda f: grad_graph(f, wrt),
        "fwd": lambda f: split_vjp(f, wrt).forward,
        "adj": lambda f: split_vjp(f, wrt).adjoint,
    }
    step = steps[stage]
    derived = staged if step is None else staged.derive(step, lambda flat: flat)
    module, _ = derived._lower(values, optimize=stage != "ir", stats=stats)
    return Module(module.functions, module.entry, module.source)


def render(target, stage: str, fmt: str, example_args: list[Any],
           wrt: list[int] | None = None, passes: str | None = None,
           stats: list | None = None) -> str | bytes:
    if stage == "parsed":
        if fmt != "text":
            raise ValueError("the parsed stage is printed as text only")
        return format_tree(target.definition) + "\n"
    if stage in ("llvm", "asm"):
        if fmt != "text":
            raise ValueError(f"the {stage} stage is printed as text only")
        from adjit.backend.llvm.engine import compile_module

        compiled = compile_module(stage_module(target, "opt", example_args, passes=passes))
        return compiled.optimized_ir if stage == "llvm" else compiled.assembly()
    return render_module(stage_module(target, stage, example_args, wrt, passes, stats), fmt)


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
