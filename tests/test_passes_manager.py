"""The pass manager: names, pipelines, instrumentation, internal errors."""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import ClassVar

import pytest

from adjit.errors import InternalError, UnsupportedError
from adjit.ir.core import Module
from adjit.ir.printer import print_module
from adjit.ir.textparse import parse_module_text
from adjit.passes.manager import (POST_AD, PRE_AD, Pass, PassStat, count_nodes, parse_pipeline,
                                  registry, run_pipeline)
from adjit.passes.simplify import RULES, Simplify

SOURCE = """\
func @f(%x: f64, %y: f64) -> f64 {
  %0 = const 1.0 : f64
  %1 = const 2.0 : f64
  %2 = add %0, %1 : f64
  %3 = mul %x, %0 : f64
  %4 = mul %x, %0 : f64
  %5 = add %3, %4 : f64
  %6 = sin %y : f64
  return %5
}
"""


def module() -> Module:
    return parse_module_text(SOURCE)


@dataclass(frozen=True)
class Breaks(Pass):
    """Makes the IR invalid: deletes the nodes that define the result."""

    name: ClassVar[str] = "breaks"

    def run(self, m: Module) -> Module:
        m.entry_function.body.nodes[2:] = []
        return m


@dataclass(frozen=True)
class Crashes(Pass):
    name: ClassVar[str] = "crashes"

    def run(self, m: Module) -> Module:
        node = m.entry_function.body.nodes[3]
        exc = KeyError("boom")
        exc.node = node
        raise exc


@dataclass(frozen=True)
class UserError(Pass):
    name: ClassVar[str] = "user-error"

    def run(self, m: Module) -> Module:
        raise UnsupportedError("not supported")


@dataclass(frozen=True)
class Grows(Pass):
    """Never reaches a fixed point: adds a node every run."""

    name: ClassVar[str] = "grows"

    def run(self, m: Module) -> Module:
        from adjit.ir.builder import Builder

        Builder(m.entry_function.body).const(1.0)
        return m


def test_registry_knows_every_pass():
    assert set(registry()) == {"inline", "dce", "cse", "fold", "simplify", "licm", "tape-elim",
                               "accumulate"}
    for name, cls in registry().items():
        assert cls.name == name and cls.__doc__


def test_parse_pipeline():
    passes = parse_pipeline("inline, fold,cse ,dce")
    assert [p.name for p in passes] == ["inline", "fold", "cse", "dce"]
    assert [p.name for p in parse_pipeline(PRE_AD)] == PRE_AD.split(",")
    assert [p.name for p in parse_pipeline(POST_AD)] == POST_AD.split(",")
    assert parse_pipeline("") == []


def test_unknown_pass_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        parse_pipeline("fold,cse2,dce")
    message = str(info.value)
    assert "'cse2'" in message
    for name in registry():
        assert name in message


def test_pass_options():
    (p,) = parse_pipeline("simplify{fastmath=true}")
    assert p == Simplify(fastmath=True) and str(p) == "simplify{fastmath=true}"
    assert parse_pipeline("simplify")[0] == Simplify(fastmath=False)
    with pytest.raises(ValueError, match="no option 'fast'"):
        parse_pipeline("simplify{fast=true}")
    with pytest.raises(ValueError, match="malformed"):
        parse_pipeline("simplify{fastmath=true")


def test_rules_have_unique_names():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))


def test_stats_record_every_pass():
    stats: list[PassStat] = []
    m = run_pipeline(module(), "fold,cse,dce", stats=stats)
    assert [s.name for s in stats] == ["fold", "cse", "dce"]
    assert stats[0].nodes_before == 7
    assert all(s.seconds >= 0 for s in stats)
    assert [s.nodes_after for s in stats[:-1]] == [s.nodes_before for s in stats[1:]]
    assert stats[-1].nodes_after == count_nodes(m)


def test_fixed_point_stops_when_nothing_changes():
    stats: list[PassStat] = []
    run_pipeline(module(), POST_AD, stats=stats, to_fixed_point=True)
    rounds = len(stats) // len(POST_AD.split(","))
    assert 2 <= rounds < 8
    stats.clear()
    run_pipeline(module(), [Grows()], stats=stats, to_fixed_point=True, max_rounds=5)
    assert len(stats) == 5


def test_print_before_and_after():
    out = io.StringIO()
    run_pipeline(module(), "fold,dce", print_before=["dce"], print_after=["fold"], stream=out)
    text = out.getvalue()
    assert text.count("// ----- IR") == 2
    assert "IR after fold" in text and "IR before dce" in text
    assert text.index("IR after fold") < text.index("IR before dce")


def test_dump_dir_numbers_files(tmp_path, monkeypatch):
    run_pipeline(module(), "fold,cse,dce", dump_dir=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["00-input.ir", "01-fold.ir", "02-cse.ir", "03-dce.ir"]
    assert parse_module_text((tmp_path / "03-dce.ir").read_text())
    env_dir = tmp_path / "env"
    monkeypatch.setenv("ADJIT_DUMP_IR", str(env_dir))
    run_pipeline(module(), "dce")
    run_pipeline(module(), "cse")  # a second pipeline continues the numbering
    assert sorted(p.name for p in env_dir.iterdir()) == [
        "00-input.ir", "01-dce.ir", "02-input.ir", "03-cse.ir"]


def written_file(message: str) -> str:
    """The text of the file an internal error names (then removed)."""
    path = re.search(r"the IR is in (\S+)\)", message).group(1)
    with open(path) as f:
        text = f.read()
    os.remove(path)
    return text


def test_verifier_names_the_pass_that_broke_the_ir():
    with pytest.raises(InternalError) as info:
        run_pipeline(module(), [Breaks()], verify=True)
    assert info.value.stage == "pass breaks"
    assert "invalid IR" in str(info.value)
    assert "func @f" in written_file(str(info.value))


def test_verification_from_the_environment(monkeypatch):
    run_pipeline(module(), [Breaks()])  # not verified: no error
    monkeypatch.setenv("ADJIT_VERIFY", "1")
    with pytest.raises(InternalError) as info:
        run_pipeline(module(), [Breaks()])
    written_file(str(info.value))


def test_a_crashing_pass_is_an_internal_error_with_the_ir():
    with pytest.raises(InternalError) as info:
        run_pipeline(module(), [Crashes()])
    message = str(info.value)
    assert info.value.stage == "pass crashes" and "KeyError" in message
    text = written_file(message)
    assert "<-- failed here" in text
    marked = next(line for line in text.splitlines() if "failed here" in line)
    assert "mul %x" in marked
    assert isinstance(info.value.__cause__, KeyError)


def test_user_errors_pass_through():
    with pytest.raises(UnsupportedError):
        run_pipeline(module(), [UserError()])


def test_inline_drops_callees_but_keeps_the_entry():
    text = """\
func @main(%x: f64) -> f64 {
  %0 = call %x {callee = @sq} : f64
  return %0
}

func @sq(%y: f64) -> f64 {
  %0 = mul %y, %y : f64
  return %0
}

func @unused(%z: f64) -> f64 {
  return %z
}
"""
    m = run_pipeline(parse_module_text(text), "inline", verify=True)
    assert list(m.functions) == ["main"]
    assert print_module(m).count("mul %x, %x") == 1


def test_default_pipelines_optimize():
    m = run_pipeline(module(), PRE_AD, verify=True)
    assert print_module(m) == """\
func @f(%x: f64, %y: f64) -> f64 {
  %0 = const 1.0 : f64
  %1 = mul %x, %0 : f64
  %2 = add %1, %1 : f64
  return %2
}
"""
    m = run_pipeline(m, POST_AD, verify=True, to_fixed_point=True)
    assert "mul" not in print_module(m)
