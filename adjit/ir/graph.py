"""The IR as a graph: networkx export, JSON, GraphML and Graphviz DOT.

`to_networkx` turns a function or module into a `networkx.MultiDiGraph`
whose nodes are (ids are strings, unique within a module):

- `<fn>/n<k>`: the k-th IR node of function `fn` in program (printing)
  order, nested nodes included;
- `<region>/arg<i>`: function parameters (op `param`) and region arguments
  (op `arg`);
- `<region>/yield`: the values each region yields (op `yield`; `return`
  for a function body), so that what leaves a region is visible.

A region's id is `<fn>/body` for a function body and `<node id>.<name>` for
a region of a control-flow node (`f/n3.then`). `G.graph["regions"]` lists
them (id, parent, owner, name, function) so drawings can nest them.

Edges go from the definer of a value to each use: `kind="data"` with the
printed `value` name, its `type` and the operand `index`; and `kind="call"`
from a `call` node to each parameter of its callee (to the callee's return
when it has none), when the callee is in the graph. Node and edge attributes
are str or int only, so GraphML can store them.

Gradient graphs are drawn with their two sweeps told apart: given `sweeps`
(each top-level node of a function body -> "forward" or "adjoint"), every
graph node gets a `sweep` attribute: nested nodes, region arguments and
yields take their top-level ancestor's; parameters are in the forward sweep
(the adjoint one when the function has no forward node), the return in the
adjoint sweep when it returns a value the adjoint sweep computes. DOT then
draws each sweep as a coloured cluster.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from typing import IO, Mapping

import networkx as nx

from adjit.ir import ops
from adjit.errors import GraphvizUnavailableError
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.printer import Namer, Printer

DOT_NOT_FOUND = ("Graphviz 'dot' was not found on PATH; install the graphviz package "
                 "(e.g. apt-get install graphviz)")


class _LinePrinter(Printer):
    """The printer, remembering each node's line and the names it gave values,
    so graph labels read exactly like the text form."""

    def __init__(self) -> None:
        super().__init__(show_locations=False)
        self.labels: dict[Node, str] = {}
        self.namer = Namer()

    def region_body(self, region: Region, namer: Namer, depth: int) -> None:
        self.namer = namer
        super().region_body(region, namer, depth)

    def node(self, node: Node, namer: Namer, depth: int) -> None:
        first = len(self.lines)
        super().node(node, namer, depth)
        self.labels[node] = self.lines[first].strip().removesuffix(" {")


SWEEPS = ("forward", "adjoint")


class _GraphBuilder:
    def __init__(self, functions: dict[str, Function], sweeps: Mapping[Node, str] | None):
        self.functions = functions
        self.sweeps = sweeps
        self.sweep = ""  # of the top-level node being added, when sweeps are drawn
        self.graph = nx.MultiDiGraph(regions=[])
        self.calls: list[tuple[str, str]] = []

    def function(self, fn: Function) -> None:
        printer = _LinePrinter()
        printer.function(fn)
        self.fn, self.labels, self.namer = fn.name, printer.labels, printer.namer
        self.definer: dict[Value, str] = {}
        self.count = 0
        if self.sweeps is not None:
            has_forward = any(self.sweeps.get(n, "forward") == "forward" for n in fn.body.nodes)
            self.sweep = "forward" if has_forward else "adjoint"
        self.region(fn.body, f"{fn.name}/body", "body", parent="", owner="")

    def add(self, node_id: str, op: str, types: str, label: str, region: str,
            line: int = 0, col: int = 0) -> None:
        extra = {"sweep": self.sweep} if self.sweeps is not None else {}
        self.graph.add_node(node_id, op=op, types=types, label=label, line=line, col=col,
                            region=region, function=self.fn, **extra)

    def use(self, value: Value, user: str, index: int) -> None:
        if value not in self.definer:
            raise ValueError(f"@{self.fn}: {user} uses {self.namer[value]}, which is not "
                             "defined before it (run adjit.ir.verify on the IR)")
        self.graph.add_edge(self.definer[value], user, kind="data", value=self.namer[value],
                            type=str(value.type), index=index)

    def region(self, region: Region, region_id: str, name: str, parent: str, owner: str) -> None:
        self.graph.graph["regions"].append(
            {"id": region_id, "parent": parent, "owner": owner, "name": name,
             "function": self.fn})
        is_body = not parent
        for i, arg in enumerate(region.args):
            arg_id = f"{region_id}/arg{i}"
            self.add(arg_id, "param" if is_body else "arg", str(arg.type),
                     f"{self.namer[arg]}: {arg.type}", region_id)
            self.definer[arg] = arg_id
        for node in region.nodes:
            node_id = f"{self.fn}/n{self.count}"
            self.count += 1
            if is_body and self.sweeps is not None:
                self.sweep = self.sweeps.get(node, "forward")
            span = node.span
            self.add(node_id, node.op.name, ", ".join(str(v.type) for v in node.results),
                     self.labels[node], region_id, span.line if span else 0,
                     span.col if span else 0)
            for index, value in enumerate(node.operands):
                self.use(value, node_id, index)
            region_names = node.op.region_names
            for k, inner in enumerate(node.regions):
                inner_name = region_names[k] if k < len(region_names) else f"region{k}"
                self.region(inner, f"{node_id}.{inner_name}", inner_name, region_id, node_id)
            for value in node.results:
                self.definer[value] = node_id
            if node.op is ops.call:
                self.calls.append((node_id, node.attrs["callee"]))
        op = "return" if is_body else "yield"
        if is_body and self.sweeps is not None:
            adjoint = any(self.graph.nodes[self.definer[v]].get("sweep") == "adjoint"
                          for v in region.yields if v in self.definer)
            self.sweep = "adjoint" if adjoint else "forward"
        yield_id = f"{region_id}/yield"
        names = ", ".join(self.namer[v] for v in region.yields)
        self.add(yield_id, op, ", ".join(str(v.type) for v in region.yields),
                 f"{op} {names}".rstrip(), region_id)
        for index, value in enumerate(region.yields):
            self.use(value, yield_id, index)

    def call_edges(self) -> None:
        for call_id, callee in self.calls:
            if callee not in self.functions:
                continue
            params = self.functions[callee].params
            targets = [f"{callee}/body/arg{i}" for i in range(len(params))]
            for index, target in enumerate(targets or [f"{callee}/body/yield"]):
                self.graph.add_edge(call_id, target, kind="call", value=f"@{callee}",
                                    type="", index=index)


def to_networkx(fn_or_module: Function | Module,
                sweeps: Mapping[Node, str] | None = None) -> nx.MultiDiGraph:
    """The data-flow graph of a function or of all functions of a module;
    with `sweeps`, each node's `sweep` (see the module docstring)."""
    if isinstance(fn_or_module, Function):
        functions = [fn_or_module]
        name = fn_or_module.name
    else:
        module = fn_or_module
        functions = sorted(module.functions.values(), key=lambda f: f.name != module.entry)
        name = module.entry or "module"
    builder = _GraphBuilder({f.name: f for f in functions}, sweeps)
    builder.graph.graph["name"] = name
    for fn in functions:
        builder.function(fn)
    builder.call_edges()
    return builder.graph


def to_json(g: nx.MultiDiGraph) -> str:
    """node-link JSON; `networkx.node_link_graph(json.loads(text))` reads it back."""
    return json.dumps(nx.node_link_data(g))


def write_graphml(g: nx.MultiDiGraph, path_or_file: str | IO[bytes]) -> None:
    """GraphML; the region list, which GraphML cannot hold, becomes a JSON string."""
    h = g.copy()
    h.graph["regions"] = json.dumps(g.graph.get("regions", []))
    nx.write_graphml(h, path_or_file)


# --- Graphviz ------------------------------------------------------------------

NODE_STYLES = {
    "param": 'shape=ellipse, style=filled, fillcolor="#d4f0d4"',
    "arg": 'shape=ellipse, style=filled, fillcolor="#e6f7e6"',
    "yield": 'shape=invhouse, style=filled, fillcolor="#f6d6d6"',
    "return": 'shape=invhouse, style="filled,bold", fillcolor="#f0b8b8"',
    "call": 'shape=box, style=filled, fillcolor="#fff0c0"',
    "const": 'shape=box, style=filled, fillcolor="#eeeeee", fontcolor="#555555"',
}
CONTROL_STYLE = 'shape=box, style="rounded,filled,bold", fillcolor="#d6e2fa"'
PLAIN_STYLE = "shape=box"


def quote(text: str) -> str:
    """A DOT double-quoted string; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


SWEEP_STYLES = {
    "forward": ('style="rounded,filled"; fillcolor="#eaf1fb"; color="#3366cc"', "#3366cc"),
    "adjoint": ('style="rounded,filled"; fillcolor="#fcefe3"; color="#cc6600"', "#cc6600"),
}


def to_dot(fn_or_module: Function | Module, title: str | None = None,
           sweeps: Mapping[Node, str] | None = None) -> str:
    """Graphviz source: one cluster per function, nested clusters per region;
    with `sweeps`, a function body is split into a blue forward-sweep cluster
    and an orange adjoint-sweep cluster, and node outlines take their colour."""
    g = to_networkx(fn_or_module, sweeps)
    regions = g.graph["regions"]
    children: dict[str, list[dict]] = defaultdict(list)
    for region in regions:
        children[region["parent"]].append(region)
    members: dict[str, list[str]] = defaultdict(list)
    for node_id, data in g.nodes(data=True):
        members[data["region"]].append(node_id)
    owners = {region["owner"] for region in regions}

    lines = [f"digraph {quote(title or g.graph['name'])} {{",
             f'  graph [label={quote(title or g.graph["name"])}, labelloc=t, '
             'fontname="Helvetica", compound=true];',
             '  node [fontname="Courier", fontsize=10];',
             '  edge [fontname="Courier", fontsize=9, color="#555555"];']

    def node_line(node_id: str, indent: str) -> None:
        data = g.nodes[node_id]
        style = CONTROL_STYLE if node_id in owners else NODE_STYLES.get(data["op"], PLAIN_STYLE)
        if "sweep" in data:
            style += f', color="{SWEEP_STYLES[data["sweep"]][1]}", penwidth=2'
        lines.append(f"{indent}{quote(node_id)} [label={quote(data['label'])}, {style}];")

    def contents(node_ids: list[str], regions_inside: list[dict], indent: str) -> None:
        for node_id in node_ids:
            node_line(node_id, indent)
        for child in regions_inside:
            cluster(child, indent)

    def cluster(region: dict, indent: str) -> None:
        top = not region["parent"]
        label = f"func @{region['function']}" if top else region["name"]
        style = ('style=solid; color="#444444"' if top
                 else 'style="rounded,dashed"; color="#7788aa"')
        lines.append(f"{indent}subgraph {quote('cluster_' + region['id'])} {{")
        lines.append(f"{indent}  label={quote(label)}; {style};")
        node_ids, inside = members[region["id"]], children[region["id"]]
        if top and node_ids and "sweep" in g.nodes[node_ids[0]]:
            for sweep in SWEEPS:
                name = quote(f"cluster_{region['id']}_{sweep}")
                lines.append(f"{indent}  subgraph {name} {{")
                lines.append(f"{indent}    label={quote(sweep + ' sweep')}; "
                             f"{SWEEP_STYLES[sweep][0]};")
                contents([n for n in node_ids if g.nodes[n]["sweep"] == sweep],
                         [r for r in inside if g.nodes[r["owner"]]["sweep"] == sweep],
                         indent + "    ")
                lines.append(f"{indent}  }}")
        else:
            contents(node_ids, inside, indent + "  ")
        lines.append(f"{indent}}}")

    for region in children[""]:
        cluster(region, "  ")
    for source, target, data in g.edges(data=True):
        if data["kind"] == "call":
            # No constraint=false: with nested clusters Graphviz 2.43 then fails
            # with "trouble in init_rank".
            attrs = 'style=dashed, color="#3366cc", label="call"'
        else:
            attrs = f"label={quote(data['value'])}"
        lines.append(f"  {quote(source)} -> {quote(target)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str = "svg", path: str | None = None) -> bytes:
    """Run Graphviz `dot -T<fmt>`; return the image, and write it to `path` if given."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizUnavailableError(DOT_NOT_FOUND)
    done = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode(), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}")
    if path is not None:
        with open(path, "wb") as out:
            out.write(done.stdout)
    return done.stdout
