"""`adjit demo`: the built-in example end to end.

f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5): its source, its typed IR,
and its value from the reference interpreter.
"""
from __future__ import annotations

from pathlib import Path
from typing import TextIO

EXAMPLE = Path(__file__).with_name("examples") / "textbook.py"
POINT = (2.0, 5.0)


def run(out: TextIO) -> None:
    from adjit.api import interpret, lower_call, resolve_target
    from adjit.ir.printer import print_module

    target = resolve_target((str(EXAMPLE), "f"))
    source = EXAMPLE.read_text()
    module, _ = lower_call(target, POINT)
    out.write(f"== source ({EXAMPLE.name}) ==\n{source}\n")
    out.write(f"== IR, specialized on (f64, f64) ==\n{print_module(module)}\n")
    value = interpret((str(EXAMPLE), "f"))(*POINT)
    out.write(f"== value ==\nf{POINT} = {value:.6g}   ({value!r})\n")
