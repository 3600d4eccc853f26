"""Inspection of compiled functions, and pass printing from the command line."""
from __future__ import annotations

import math

import numpy as np

import adjit
from adjit.cli import main


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def scale(x, s):
    t = 0.0
    for i in range(len(x)):
        t += x[i] * s
    return t


def test_inspect_per_signature():
    f = adjit.jit(textbook)
    ir = f.inspect_ir(2.0, 5.0)
    assert ir.startswith("func @textbook(%x1: f64, %x2: f64) -> f64") and "log %x1" in ir
    assert "define" in f.inspect_llvm(2.0, 5.0)
    assert f.inspect_asm(2.0, 5.0).strip()
    g = adjit.jit(scale)
    g(np.ones(3), 2.0)
    g(np.ones(3), 2)
    assert len(g.inspect_ir()) == 2  # one entry per compiled signature
    assert "(%x: array<f64,1>, %s: i64)" in "".join(g.inspect_ir().values())


def test_grad_inspects_the_gradient_graph():
    g = adjit.grad(textbook, argnums=(0, 1))
    assert g(2.0, 5.0) == (5.5, 2 - math.cos(5.0))
    assert "cos %x2" in g.inspect_ir(2.0, 5.0)


def test_dump_prints_around_passes(tmp_path, capsys):
    path = tmp_path / "t.py"
    path.write_text("import math\n\n\ndef f(x1, x2):\n"
                    "    return math.log(x1) + x1 * x2 - math.sin(x2)\n")
    assert main(["dump", str(path), "f", "--stage", "opt", "--at", "2,5",
                 "--print-before", "cse", "--print-after", "dce"]) == 0
    err = capsys.readouterr().err
    assert "cse" in err and "dce" in err and "func @f" in err
    assert main(["dump", str(path), "f", "--print-after", "nosuchpass"]) == 2
