"""Rendering a compilation stage of a function (`adjit dump`).

Stages: `parsed` (the syntax tree), the IR stages of `stage_module`, and
the compiled code (`llvm`, `asm`; `ptx` is rendered by the CLI). Formats:
the text form, or the IR as a graph in JSON (networkx node-link), GraphML,
DOT, or a picture rendered by Graphviz. Pictures of the AD stages tell the
forward sweep from the adjoint sweep (`sweeps_of`).
"""
from __future__ import annotations

import dataclasses
import io
from collections import defaultdict
from typing import Any, Callable

from adjit.errors import SourceFile, Span
from adjit.frontend import syntax
from adjit.ir.core import Function, Node

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


STAGES = ("parsed", "ir", "opt", "jvp", "grad", "fwd", "adj", "llvm", "asm", "ptx")


AD_STAGES = ("grad", "fwd", "adj")  # the stages whose pictures show the two sweeps


def stage_module(target, stage: str, example_args: list[Any], wrt: list[int] | None = None,
                 passes: str | None = None, stats: list | None = None,
                 sweeps: dict[Node, str] | None = None):
    """The IR module of a stage: `ir` (as lowered), `opt` (after adjit's
    passes), `jvp` (forward mode), `grad` (the fused reverse-mode gradient),
    `fwd` / `adj` (the forward and adjoint graphs that `vjp` runs); the AD
    stages are optimized. `passes` replaces the pipelines. For the reverse-mode
    stages, `sweeps` receives the sweep of each top-level node (`sweeps_of`)."""
    from adjit.api import Staged, bind_arguments, is_differentiable, type_of
    from adjit.ir.core import Module
    from adjit.passes.autodiff.compose import grad_graph, jvp_graph
    from adjit.passes.autodiff.split import split_vjp

    staged = Staged(target, options={"passes": passes} if passes is not None else None)
    values = bind_arguments(staged.target, example_args)
    if wrt is None:
        wrt = [k for k, v in enumerate(values) if is_differentiable(type_of(v))]
    marks: dict[Node, str] = {}
    steps = {
        "ir": None,
        "opt": None,
        "jvp": lambda f: jvp_graph(f, wrt),
        "grad": collecting_marks(lambda f: grad_graph(f, wrt), marks),
        "fwd": lambda f: split_vjp(f, wrt).forward,
        "adj": lambda f: split_vjp(f, wrt).adjoint,
    }
    step = steps[stage]
    derived = staged if step is None else staged.derive(step, lambda flat: flat)
    module, _ = derived._lower(values, optimize=stage != "ir", stats=stats)
    if sweeps is not None and stage in AD_STAGES:
        whole = {"fwd": "forward", "adj": "adjoint"}.get(stage)
        sweeps.update(sweeps_of(module.entry_function, marks, whole))
    return Module(module.functions, module.entry, module.source)


def collecting_marks(step: Callable[[Function], Function],
                     marks: dict[Node, str]) -> Callable[[Function], Function]:
    """`step` with reverse mode marking the sweeps (vjp.MARK_SWEEPS); the
    marks move from the nodes' attributes to `marks` before any pass runs."""
    from adjit.passes.autodiff.vjp import MARK_SWEEPS, SWEEP

    def run(fn: Function) -> Function:
        token = MARK_SWEEPS.set(True)
        try:
            out = step(fn)
        finally:
            MARK_SWEEPS.reset(token)
        for node in out.body.nodes:
            if SWEEP in node.attrs:
                marks[node] = node.attrs.pop(SWEEP)
        return out

    return run


def sweeps_of(fn: Function, marks: dict[Node, str], whole: str | None = None) -> dict[Node, str]:
    """The sweep ("forward" or "adjoint") of each top-level node of a gradient
    graph: `whole` for all when given; else the mark reverse mode gave it,
    and for a node a pass created since, "adjoint" when it uses a value of
    the adjoint sweep or only the adjoint sweep (and the returned
    gradients) use it."""
    nodes = fn.body.nodes
    if whole is not None:
        return {node: whole for node in nodes}
    definer = {v: node for node in nodes for v in node.results}
    uses: dict[Node, list[Node]] = {node: [] for node in nodes}
    users: dict[Node, list[Node | None]] = defaultdict(list)  # None: the return
    for node in nodes:
        for inner in (node, *(n for r in node.regions for n in r.walk())):
            for v in inner.operands:
                if v in definer:
                    uses[node].append(definer[v])
                    users[definer[v]].append(node)
    for v in fn.body.yields:
        if v in definer:
            users[definer[v]].append(None)
    sweep = {node: marks[node] for node in nodes if node in marks}
    for node in nodes:
        if node not in sweep and any(sweep.get(d) == "adjoint" for d in uses[node]):
            sweep[node] = "adjoint"
    for node in reversed(nodes):
        if node not in sweep:
            only_adjoint = users[node] and all(u is None or sweep.get(u) == "adjoint"
                                               for u in users[node])
            sweep[node] = "adjoint" if only_adjoint else "forward"
    return sweep


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
    sweeps: dict[Node, str] = {}
    module = stage_module(target, stage, example_args, wrt, passes, stats, sweeps)
    return render_module(module, fmt, sweeps if stage in AD_STAGES else None)


def render_module(module, fmt: str, sweeps: dict[Node, str] | None = None) -> str | bytes:
    """`module` in `fmt`; graph formats show `sweeps` (see adjit.ir.graph)."""
    from adjit.ir import graph
    from adjit.ir.printer import print_module

    if fmt == "text":
        return print_module(module)
    if fmt == "json":
        return graph.to_json(graph.to_networkx(module, sweeps))
    if fmt == "graphml":
        buffer = io.BytesIO()
        graph.write_graphml(graph.to_networkx(module, sweeps), buffer)
        return buffer.getvalue().decode()
    dot = graph.to_dot(module, sweeps=sweeps)
    if fmt == "dot":
        return dot
    return graph.render(dot, fmt)
