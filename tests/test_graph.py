"""networkx export of the IR, and its JSON, GraphML and DOT forms."""
from __future__ import annotations

import io
import json
import shutil

import networkx as nx
import pytest

from adjit.errors import GraphvizUnavailableError
from adjit.ir import graph as irgraph
from adjit.ir.core import Module, Region
from adjit.ir.graph import render, to_dot, to_json, to_networkx, write_graphml
from adjit.ir.textparse import parse_module_text

TEXT = """\
func @main(%x: f64, %n: i64) -> (f64, i64) {
  %0 = const 0 : i64
  %1 = const 1 : i64
  %s = for %0, %n, %1, %x : f64 {                 # 4:5
  ^(%i: i64, %s.1: f64):
    %2 = to_f64 %i : f64
    %3 = gt %s.1, %2 : bool                       # 5:12
    %s.2 = if %3 : f64 {
      %4 = sin %s.1 : f64
      yield %4
    } else {
      yield %2
    }
    yield %s.2
  }
  %w = while %s : f64 {
  ^(%w.1: f64):
    %5 = const 10.0 : f64
    %6 = lt %w.1, %5 : bool
    yield %6
  } body {
  ^(%w.2: f64):
    %w.3 = add %w.2, %w.2 : f64
    yield %w.3
  }
  %y, %z = call %w, %n {callee = @pair} : f64, i64
  %7 = lt %n, %0 : bool
  check %7 {error = ValueError, message = 'say "hi" \\\\ {ok}'}
  return %y, %z
}

func @pair(%u: f64, %m: i64) -> (f64, i64) {
  return %u, %m
}

func @nullary() -> f64 {
  %0 = const 1.0 : f64
  return %0
}

func @calls_nullary(%x: f64) -> f64 {
  %0 = call {callee = @nullary} : f64
  return %0
}
"""


@pytest.fixture
def module() -> Module:
    return parse_module_text(TEXT)


def _regions(region: Region) -> list[Region]:
    found = [region]
    for node in region.nodes:
        for inner in node.regions:
            found += _regions(inner)
    return found


def expected_counts(module: Module) -> tuple[int, int, int]:
    """(graph nodes, data edges, call edges) counted from the IR itself."""
    nodes = data = calls = 0
    for fn in module.functions.values():
        regions = _regions(fn.body)
        ir_nodes = list(fn.walk())
        nodes += len(ir_nodes) + sum(len(r.args) for r in regions) + len(regions)
        data += sum(len(n.operands) for n in ir_nodes) + sum(len(r.yields) for r in regions)
        for n in ir_nodes:
            if n.op.name == "call":
                calls += max(1, len(module.functions[n.attrs["callee"]].params))
    return nodes, data, calls


def edge_kinds(g: nx.MultiDiGraph) -> tuple[int, int]:
    kinds = [d["kind"] for _, _, d in g.edges(data=True)]
    return kinds.count("data"), kinds.count("call")


def test_counts_match_the_ir(module):
    g = to_networkx(module)
    nodes, data, calls = expected_counts(module)
    assert g.number_of_nodes() == nodes
    assert edge_kinds(g) == (data, calls)


def test_single_function_has_no_call_edges(module):
    g = to_networkx(module.entry_function)
    assert {d["function"] for _, d in g.nodes(data=True)} == {"main"}
    assert edge_kinds(g)[1] == 0
    assert g.graph["name"] == "main"


def test_node_and_edge_attributes(module):
    g = to_networkx(module)
    loop = g.nodes["main/n2"]
    assert loop == {"op": "for", "types": "f64", "label": "%s = for %0, %n, %1, %x : f64",
                    "line": 4, "col": 5, "region": "main/body", "function": "main"}
    assert g.nodes["main/n2.body/arg1"]["op"] == "arg"
    assert g.nodes["main/body/arg0"] == {
        "op": "param", "types": "f64", "label": "%x: f64", "line": 0, "col": 0,
        "region": "main/body", "function": "main"}
    assert g.nodes["main/n5.then/yield"]["label"] == "yield %4"
    assert g.nodes["main/body/yield"]["op"] == "return"
    assert g.nodes["main/n4"]["region"] == "main/n2.body"
    edges = g.get_edge_data("main/n2.body/arg1", "main/n4")
    assert [e["value"] for e in edges.values()] == ["%s.1"]
    # `add %w.2, %w.2`: two parallel edges, one per operand position
    twice = g.get_edge_data("main/n7.body/arg0", "main/n10")
    assert sorted(e["index"] for e in twice.values()) == [0, 1]
    assert {(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "call"} == {
        ("main/n11", "pair/body/arg0"), ("main/n11", "pair/body/arg1"),
        ("calls_nullary/n0", "nullary/body/yield")}
    for _, data in g.nodes(data=True):
        assert all(isinstance(v, (str, int)) for v in data.values())


def test_regions_metadata(module):
    regions = {r["id"]: r for r in to_networkx(module).graph["regions"]}
    assert regions["main/body"] == {"id": "main/body", "parent": "", "owner": "",
                                    "name": "body", "function": "main"}
    assert regions["main/n5.else"] == {"id": "main/n5.else", "parent": "main/n2.body",
                                       "owner": "main/n5", "name": "else", "function": "main"}
    assert {r["name"] for r in regions.values()} == {"body", "then", "else", "cond"}


def test_json_round_trip(module):
    g = to_networkx(module)
    back = nx.node_link_graph(json.loads(to_json(g)))
    assert isinstance(back, nx.MultiDiGraph)
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert sorted(map(repr, back.edges(data=True))) == sorted(map(repr, g.edges(data=True)))
    assert back.graph == g.graph


def test_graphml_round_trip(module, tmp_path):
    g = to_networkx(module)
    path = tmp_path / "m.graphml"
    write_graphml(g, str(path))
    back = nx.read_graphml(str(path), force_multigraph=True)
    assert (back.number_of_nodes(), back.number_of_edges()) == (
        g.number_of_nodes(), g.number_of_edges())
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert sorted(map(repr, back.edges(data=True))) == sorted(map(repr, g.edges(data=True)))
    assert json.loads(back.graph["regions"]) == g.graph["regions"]
    buffer = io.BytesIO()
    write_graphml(g, buffer)
    assert buffer.getvalue().startswith(b"<?xml")


def test_dot_structure(module):
    text = to_dot(module, title='my "module"')
    assert text.startswith('digraph "my \\"module\\"" {')
    assert 'subgraph "cluster_main/n5.then" {' in text
    assert 'label="cond"' in text and 'label="else"' in text and 'label="func @pair"' in text
    assert '"main/n2.body/arg1" -> "main/n4" [label="%s.1"];' in text
    assert 'say \\"hi\\" \\\\\\\\ {ok}' in text
    assert text.count("{") == text.count("}")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_dot_is_accepted_by_graphviz(module, tmp_path):
    for target in (module, module.entry_function):
        svg = render(to_dot(target), "svg")
        assert b"<svg" in svg
    path = tmp_path / "m.png"
    render(to_dot(module), "png", str(path))
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(RuntimeError, match="failed"):
        render("digraph {", "svg")


def test_render_without_graphviz(monkeypatch):
    monkeypatch.setattr(irgraph.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizUnavailableError, match="Graphviz 'dot' was not found on PATH"):
        render("digraph {}")


def test_undefined_value_is_reported(module):
    fn = module.functions["pair"]
    fn.body.yields = [module.entry_function.body.nodes[0].result]
    with pytest.raises(ValueError, match="not defined before it"):
        to_networkx(fn)


# --- the forward and adjoint sweeps of gradient graphs -------------------------------

SWEPT = """\
func @g(%x: f64, %n: i64) -> f64 {
  %0 = sin %x : f64
  %1 = const 2.0 : f64
  %2 = mul %0, %1 : f64
  %3 = add %2, %x : f64
  %4 = cos %x : f64
  %5 = mul %4, %0 : f64
  %6 = const 0 : i64
  %7 = const 1 : i64
  %8 = for %6, %n, %7, %3 : f64 {
  ^(%i: i64, %s: f64):
    %9 = mul %s, %5 : f64
    yield %9
  }
  return %8
}
"""


def test_sweeps_of_completes_the_marks_of_reverse_mode():
    from adjit.dump import sweeps_of

    fn = parse_module_text(SWEPT).entry_function
    n = fn.body.nodes
    marks = {n[0]: "forward", n[2]: "adjoint", n[5]: "forward"}
    sweeps = sweeps_of(fn, marks)
    assert [sweeps[node] for node in n] == [
        "forward",   # marked
        "adjoint",   # a constant only the adjoint sweep uses
        "adjoint",   # marked
        "adjoint",   # uses an adjoint value
        "forward",   # used by the forward sweep
        "forward",   # marked
        "adjoint", "adjoint",  # only the loop uses them
        "adjoint"]  # the loop uses %3
    assert sweeps_of(fn, {}, "adjoint") == {node: "adjoint" for node in n}


def test_sweep_attributes_of_nodes_regions_params_and_return():
    fn = parse_module_text(SWEPT).entry_function
    n = fn.body.nodes
    sweeps = {node: "forward" for node in n} | {n[8]: "adjoint"}
    g = to_networkx(fn, sweeps)
    assert g.nodes["g/body/arg0"]["sweep"] == "forward"
    assert g.nodes["g/n0"]["sweep"] == "forward"
    assert g.nodes["g/n8"]["sweep"] == "adjoint"
    # Nested nodes, region arguments and yields are in their loop's sweep.
    assert {g.nodes[k]["sweep"] for k in ("g/n8.body/arg1", "g/n9", "g/n8.body/yield")} == \
        {"adjoint"}
    assert g.nodes["g/body/yield"]["sweep"] == "adjoint"  # returns what the loop computes
    only_adjoint = to_networkx(fn, {node: "adjoint" for node in n})
    assert only_adjoint.nodes["g/body/arg1"]["sweep"] == "adjoint"
    assert all("sweep" not in data for _, data in to_networkx(fn).nodes(data=True))
    back = nx.node_link_graph(json.loads(to_json(g)))
    assert back.nodes["g/n9"]["sweep"] == "adjoint"


def test_dot_draws_each_sweep_as_a_coloured_cluster():
    fn = parse_module_text(SWEPT).entry_function
    n = fn.body.nodes
    text = to_dot(fn, sweeps={node: "forward" for node in n} | {n[8]: "adjoint"})
    forward = text.index('subgraph "cluster_g/body_forward" {')
    adjoint = text.index('subgraph "cluster_g/body_adjoint" {')
    loop = text.index('subgraph "cluster_g/n8.body" {')
    assert 'label="forward sweep"; style="rounded,filled"; fillcolor="#eaf1fb"' in text
    assert 'label="adjoint sweep"; style="rounded,filled"; fillcolor="#fcefe3"' in text
    assert forward < text.index('"g/n0" [') < adjoint < loop  # the loop's region nests in
    assert '"g/n9" [label="%9 = mul %s, %5 : f64", shape=box, color="#cc6600", penwidth=2];' \
        in text
    assert '"g/n0" [label="%0 = sin %x : f64", shape=box, color="#3366cc", penwidth=2];' in text
    assert text.count("{") == text.count("}")
    if shutil.which("dot"):
        assert b"<svg" in render(text, "svg")
    assert "sweep" not in to_dot(fn)
