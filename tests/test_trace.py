"""Evaluation traces reproduce the classic tables of the textbook function
(shared/reference/workloads.md, section 1) row by row."""
from __future__ import annotations

import math

import pytest

import adjit

PRIMAL = [("v_-1", 2), ("v_0", 5), ("v_1", 0.693), ("v_2", 10), ("v_3", -0.959),
          ("v_4", 10.693), ("v_5", 11.652)]
TANGENT = [("v_-1dot", 1), ("v_0dot", 0), ("v_1dot", 0.5), ("v_2dot", 5), ("v_3dot", 0),
           ("v_4dot", 5.5), ("v_5dot", 5.5)]
ADJOINT = [("v_5bar", 1), ("v_4bar", 1), ("v_3bar", -1), ("v_1bar", 1), ("v_2bar", 1),
           ("v_0bar", -0.284), ("v_-1bar", 5), ("v_0bar", 1.716), ("v_-1bar", 5.5),
           ("x2bar", 1.716), ("x1bar", 5.5)]
FORMULAS = ["x1", "x2", "ln v_-1", "v_-1 * v_0", "sin v_0", "v_1 + v_2", "v_4 - v_3"]


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def rows(trace_rows):
    return [(r.name, round(r.value, 3)) for r in trace_rows]


def test_forward_trace_matches_the_classic_table():
    t = adjit.trace(textbook, 2.0, 5.0, mode="forward")
    assert rows(t.primal) == [(n, pytest.approx(v, abs=5e-4)) for n, v in PRIMAL]
    assert [r.formula for r in t.primal] == FORMULAS
    assert rows(t.tangent) == [(n, pytest.approx(v, abs=5e-4)) for n, v in TANGENT]
    text = str(t)
    assert "Forward Primal Trace" in text and "Forward Tangent Trace" in text
    assert "v_1 = ln v_-1" in text and "0.693" in text


def test_reverse_trace_matches_the_classic_table():
    t = adjit.trace(textbook, 2.0, 5.0, mode="reverse")
    assert rows(t.adjoint) == [(n, pytest.approx(v, abs=5e-4)) for n, v in ADJOINT]
    assert t.adjoint[-1].value == pytest.approx(5.5, abs=1e-12)
    assert t.adjoint[-2].value == pytest.approx(2 - math.cos(5), abs=1e-12)
    assert "Reverse Adjoint Trace" in str(t)


def test_trace_of_a_loop_shows_iterations_and_agrees_with_grad():
    def logistic(x, n):
        l = x
        for i in range(n):
            l = 4.0 * l * (1.0 - l)
        return l

    t = adjit.trace(logistic, 0.3, 3, mode="reverse")
    assert {r.iteration for r in t.primal if r.iteration} == {"[1]", "[2]", "[3]"}
    assert t.adjoint[-1].value == pytest.approx(adjit.interpret(adjit.grad(logistic))(0.3, 3))
    f = adjit.trace(logistic, 0.3, 3, mode="forward")
    assert f.tangent[-1].value == pytest.approx(t.adjoint[-1].value)


def test_long_traces_are_elided():
    def many(x, n):
        for i in range(n):
            x = x * 1.0001
        return x

    text = str(adjit.trace(many, 1.0, 200, mode="forward"))
    assert "rows elided" in text and len(text.splitlines()) < 80
