"""`adjit demo`: the built-in example end to end.

f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5): its source, its typed IR,
its gradient graph, the evaluation traces of both modes, and its value and
gradient compiled to native code.
"""
from __future__ import annotations

from pathlib import Path
from typing import TextIO

EXAMPLE = Path(__file__).with_name("examples") / "textbook.py"
POINT = (2.0, 5.0)


def run(out: TextIO, native: bool = True) -> None:
    import adjit
    from adjit.api import Staged, resolve_target
    from adjit.dump import stage_module
    from adjit.ir.printer import print_module

    target = resolve_target((str(EXAMPLE), "f"))
    f = Staged(target, backend="native" if native else "interp")
    out.write(f"== source ({EXAMPLE.name}) ==\n{EXAMPLE.read_text()}\n")
    out.write("== IR, specialized on (f64, f64) ==\n")
    out.write(print_module(stage_module(target, "ir", list(POINT))) + "\n")
    out.write("== reverse mode: forward graph (primal and residuals) ==\n")
    out.write(print_module(stage_module(target, "fwd", list(POINT))) + "\n")
    out.write("== reverse mode: adjoint graph ==\n")
    out.write(print_module(stage_module(target, "adj", list(POINT))) + "\n")
    out.write("== forward mode, x1dot = 1, x2dot = 0 ==\n")
    out.write(str(adjit.trace(f, *POINT, mode="forward")) + "\n\n")
    out.write("== reverse mode ==\n")
    out.write(str(adjit.trace(f, *POINT, mode="reverse")) + "\n\n")
    value, (g1, g2) = adjit.value_and_grad(f, argnums=(0, 1))(*POINT)
    how = "native code" if native else "the interpreter"
    out.write(f"== compiled ({how}) ==\nf(2, 5) = {value:.3f}   ({value!r})\n")
    out.write(f"grad f(2, 5) = ({g1:.3f}, {g2:.3f})   ({g1!r}, {g2!r})\n")
