"""Evaluation traces, the way AD is taught (Griewank and Walther; Baydin et al.).

`trace(f, *args, mode="forward")` runs the IR of `f` and records one row per
float-valued operation: the Forward Primal Trace (`v_1 = ln v_-1 = 0.693`)
beside the Forward Tangent Trace (`v_1dot = v_-1dot * (1 / v_-1) = 0.5`), or,
with mode="reverse", the primal trace followed by the Reverse Adjoint Trace
(`v_5bar = ybar = 1`, ..., `x2bar = v_0bar = 1.716`).

Inputs are v_{1-n} ... v_0. Straight-line code is listed in level order (all
operations on inputs first, as the classic tables do); loops are listed as
they run, with their iteration numbers. The formulas of the tangent and
adjoint rows are printed from the IR that each op's own JVP and VJP rules
emit, so they are the derivative the compiler uses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.core import Function, Node, Region, Value
from adjit.ir.interp import Interpreter, to_python
from adjit.ir.types import F64

SYMBOLS = {ops.add: "+", ops.sub: "-", ops.mul: "*", ops.div: "/", ops.fdiv: "/",
           ops.pow_: "**"}
NAMES = {"log": "ln"}
SKIPPED = (ops.const, ops.math_check, ops.check)
ELIDE_AFTER = 60


def number(v: float) -> str:
    """Three decimals, trailing zeros dropped (10.000 -> 10), as the tables print."""
    if not math.isfinite(v):
        return str(v)
    text = f"{round(v, 3):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class Row:
    name: str  # v_3, v_3dot, v_3bar, x1bar
    formula: str
    value: float
    iteration: str = ""  # "i=2" inside loops


@dataclass
class Trace:
    mode: str
    primal: list[Row] = field(default_factory=list)
    tangent: list[Row] = field(default_factory=list)
    adjoint: list[Row] = field(default_factory=list)

    def __str__(self) -> str:
        lines = []
        if self.mode == "forward":
            lines.append(_table(["Forward Primal Trace", "", "Forward Tangent Trace", ""],
                                [[f"{p.iteration} {p.name} = {p.formula}".strip(),
                                  number(p.value), f"{t.name} = {t.formula}", number(t.value)]
                                 for p, t in zip(self.primal, self.tangent)]))
        else:
            lines.append(_table(["Forward Primal Trace", ""],
                                [[f"{p.iteration} {p.name} = {p.formula}".strip(),
                                  number(p.value)] for p in self.primal]))
            lines.append("")
            lines.append(_table(["Reverse Adjoint Trace", ""],
                                [[f"{r.iteration} {r.name} = {r.formula}".strip(),
                                  number(r.value)] for r in self.adjoint]))
        return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    if len(rows) > ELIDE_AFTER:
        half = ELIDE_AFTER // 2
        rows = rows[:half] + [["...", f"({len(rows) - 2 * half} rows elided)"] +
                              [""] * (len(header) - 2)] + rows[-half:]
    widths = [max(len(r[k]) for r in [header] + rows) for k in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out)


def number_or_name(x: Any) -> str:
    """How an operand that is not a traced value (a constant) is shown."""
    return number(x) if isinstance(x, float) else str(x)


def is_traced(name: str) -> bool:
    return name.startswith("v_")


def level_order(region: Region) -> list[Node]:
    """A topological order of straight-line nodes by depth from the inputs."""
    depth: dict[Value, int] = {}
    keyed = []
    for k, node in enumerate(region.nodes):
        d = 1 + max((depth.get(v, 0) for v in node.operands), default=0)
        if node.op in SKIPPED:
            d -= 1  # constants and checks do not add a level
        for r in node.results:
            depth[r] = d
        keyed.append((d, k, node))
    return [node for _, _, node in sorted(keyed, key=lambda t: (t[0], t[1]))]


class _Tracer(Interpreter):
    """The interpreter, recording every float-valued operation it runs."""

    def __init__(self, module, names: dict[Value, str]):
        super().__init__(module)
        self.names = names
        self.records: list[tuple[Node, list[Any], list[Any], str, dict[Value, str]]] = []
        self.iterations: list[str] = []
        self.counter = 0
        self.incoming: dict[Region, list[str]] = {}  # names of a region's arguments
        self.bodies: dict[Region, Node] = {}  # loop body -> loop
        self.last_yields: list[str] = []

    def run_region(self, region: Region, args: list[Any]) -> list[Any]:
        straight = not any(n.regions for n in region.nodes)
        nodes = level_order(region) if straight else region.nodes
        env = self.env
        for param, value, name in zip(region.args, args, self.incoming.get(region, [])):
            env[param] = value
            if name:
                self.names[param] = name
        for param, value in zip(region.args, args):
            env[param] = value
        for node in nodes:
            self.run_node(node)
        carried = [self.names.get(v, "") for v in region.yields]
        if region in self.bodies:  # the next iteration's arguments are these yields
            node = self.bodies[region]
            lead = [""] if node.op is ops.for_ else []
            for r in node.regions:
                self.incoming[r] = (lead if r is region else []) + carried
        self.last_yields = carried
        return [env[v] for v in region.yields]

    def run_node(self, node: Node) -> None:
        if node.op in (ops.for_, ops.while_):
            self.iterations.append("0")
            lead = 3 if node.op is ops.for_ else 0
            names = [self.names.get(v, "") for v in node.operands[lead:]]
            for r in node.regions:
                self.incoming[r] = ([""] if lead and r is node.regions[-1] else []) + names
            self.bodies[node.regions[-1]] = node
            self.last_yields = names
        super().run_node(node)
        if node.op in (ops.for_, ops.while_, ops.if_):
            for result, name in zip(node.results, self.last_yields):
                if name:
                    self.names[result] = name
        if node.op in (ops.for_, ops.while_):
            self.iterations.pop()
        if node.op.structured or node.op in SKIPPED:
            if node.op is ops.math_check:
                self.names[node.result] = self.names.get(node.operands[0], "?")
            return
        if len(node.results) == 1 and node.result.type == F64:
            self.counter += 1
            xs = [self.env[v] for v in node.operands]
            operand_names = {v: self.names.get(v) or number_or_name(x)
                             for v, x in zip(node.operands, xs)}
            self.names[node.result] = f"v_{self.counter}"
            self.records.append((node, xs, self.env[node.result], self.where(), operand_names,
                                 self.names[node.result]))

    def tick(self) -> None:
        super().tick()
        if self.iterations:
            self.iterations[-1] = str(int(self.iterations[-1]) + 1)

    def where(self) -> str:
        return "[" + ",".join(self.iterations) + "]" if self.iterations else ""


def render(value: Value, names: dict[Value, str]) -> str:
    """An expression for `value` from the nodes that define it."""
    if value in names:
        return names[value]
    owner = value.owner
    if not isinstance(owner, Node):
        return "?"
    if owner.op is ops.const:
        return number(owner.attrs["value"]) if isinstance(owner.attrs["value"], float) \
            else str(owner.attrs["value"])
    args = [render(v, names) for v in owner.operands]
    if owner.op in SYMBOLS and len(args) == 2:
        return f"{_wrap(args[0])} {SYMBOLS[owner.op]} {_wrap(args[1])}"
    if owner.op is ops.neg:
        return f"-{_wrap(args[0])}"
    if owner.op is ops.math_check:
        return args[0]
    return f"{NAMES.get(owner.op.name, owner.op.name)} {' '.join(map(_wrap, args))}"


def _wrap(text: str) -> str:
    return f"({text})" if " " in text and not text.startswith("(") else text


def _rule_expressions(node: Node, names: dict[Value, str], seeds: list[str], mode: str):
    """The JVP (or VJP) rule of `node` emitted on symbolic inputs, rendered."""
    region = Region([v.type for v in node.operands] + [F64] * len(seeds))
    b = Builder(region)
    xs = list(region.args[:len(node.operands)])
    symbols = dict(zip(xs, [names[v] for v in node.operands]))
    seed_values = list(region.args[len(node.operands):])
    symbols.update(zip(seed_values, seeds))
    y = b.node(node.op, xs, [r.type for r in node.results], attrs=dict(node.attrs)).results
    symbols[y[0]] = names.get(node.result, "y")
    if mode == "forward":
        ts = [s if v.type == F64 and is_traced(names[v]) else None
              for v, s in zip(node.operands, seed_values)]
        outs = node.op.jvp(b, node.attrs, xs, y, ts)
    else:
        outs = node.op.vjp(b, node.attrs, xs, y, seed_values)
    return region, xs, seed_values, y, outs, symbols


def _evaluate(region: Region, inputs: list[Value], values: list[Any], target: Value) -> float:
    from adjit.ir.core import Module

    interp = Interpreter(Module())
    interp.env.update(zip(inputs, values))
    for node in region.nodes:
        interp.run_node(node)
    return float(interp.env[target])


def build_trace(fn: Function, args: Sequence[Any], mode: str, wrt: list[int]) -> Trace:
    from adjit.ir.core import Module

    module = Module({fn.name: fn}, fn.name, fn.source)
    n = len(fn.params)
    names = {p: f"v_{k - n + 1}" for k, p in enumerate(fn.params)}
    tracer = _Tracer(module, names)
    values = [to_python(a, p.type) for a, p in zip(args, fn.params)]
    tracer.call(fn.name, values)
    out = Trace(mode)
    for p, v in zip(fn.params, values):
        if p.type == F64:
            out.primal.append(Row(names[p], p.hint, v))
    for node, xs, y, where, operand_names, name in tracer.records:
        formula = render(node.result, operand_names)
        out.primal.append(Row(name, formula, y, where))
    if mode == "forward":
        _forward_rows(fn, values, wrt, names, tracer, out)
    else:
        _reverse_rows(fn, values, wrt, names, tracer, out)
    return out


def _forward_rows(fn, values, wrt, names, tracer, out: Trace) -> None:
    dots: dict[str, float] = {}
    for k, p in enumerate(fn.params):
        if p.type == F64:
            dots[names[p]] = 1.0 if k in wrt else 0.0
            out.tangent.append(Row(f"{names[p]}dot", f"{p.hint}dot", dots[names[p]]))
    for node, xs, y, where, operand_names, name in tracer.records:
        active = [v for v in node.operands if v.type == F64 and is_traced(operand_names[v])]
        seeds = [f"{operand_names[v]}dot" if v in active else "0" for v in node.operands]
        region, inputs, seed_values, y, outs, symbols = _rule_expressions(
            node, operand_names, seeds, "forward")
        if outs[0] is None:
            out.tangent.append(Row(f"{name}dot", "0", 0.0, where))
            dots[name] = 0.0
            continue
        numbers = xs + [dots.get(s[:-3], 0.0) if s != "0" else 0.0 for s in seeds]
        value = _evaluate(region, inputs + seed_values, numbers, outs[0])
        dots[name] = value
        out.tangent.append(Row(f"{name}dot", render(outs[0], symbols), value, where))


def _reverse_rows(fn, values, wrt, names, tracer, out: Trace) -> None:
    bars: dict[str, float] = {}
    records = tracer.records
    if not records:
        return
    last = records[-1][5]
    bars[last] = 1.0
    out.adjoint.append(Row(f"{last}bar", "ybar", 1.0))
    for node, xs, y, where, operand_names, name in reversed(records):
        if name not in bars:
            continue
        region, inputs, seed_values, y, outs, symbols = _rule_expressions(
            node, operand_names, [f"{name}bar"], "reverse")
        for v, contribution in zip(node.operands, outs):
            target = operand_names.get(v, "")
            if contribution is None or v.type != F64 or not is_traced(target):
                continue
            value = _evaluate(region, inputs + seed_values, xs + [bars[name]], contribution)
            formula = render(contribution, symbols)
            if target in bars:
                bars[target] += value
                formula = f"{target}bar + {_wrap(formula)}"
            else:
                bars[target] = value
            out.adjoint.append(Row(f"{target}bar", formula, bars[target], where))
    n = len(fn.params)
    for k in reversed(range(n)):
        p = fn.params[k]
        if p.type == F64 and k in wrt:
            out.adjoint.append(Row(f"{p.hint}bar", f"{names[p]}bar",
                                   bars.get(names[p], 0.0)))


def trace(fn: Any, *args: Any, mode: str = "forward", wrt: int | Sequence[int] | None = None
          ) -> Trace:
    """The evaluation trace of `fn` at `args` (see the module docstring).

    mode="forward" seeds the tangent of the first float argument (or of
    `wrt`) with 1; mode="reverse" seeds the adjoint of the result with 1 and
    lists the adjoints of the `wrt` arguments (default: every float argument).
    """
    from adjit.api import Staged, bind_arguments, type_of
    from adjit.passes.inline import inline_calls

    if mode not in ("forward", "reverse"):
        raise ValueError("mode must be 'forward' or 'reverse'")
    staged = fn if isinstance(fn, Staged) else Staged(fn, backend="interp")
    values = bind_arguments(staged.target, list(args))
    module = staged.ir(*values)
    inline_calls(module)
    function = module.entry_function
    floats = [k for k, v in enumerate(values) if type_of(v) == F64]
    if wrt is None:
        wrt = floats[:1] if mode == "forward" else floats
    elif isinstance(wrt, int):
        wrt = [wrt]
    return build_trace(function, values, mode, list(wrt))
