"""Golden tests: the printed IR of small programs, compared to reviewed text.

Each `tests/golden/NAME.py` has a reviewed `NAME.ir` beside it: the IR of
the function named in `SIGNATURES`, specialized on the given example
arguments. After an intended change of the lowering, regenerate with
`ADJIT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_ir.py` and review
the diff before committing.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import adjit
from adjit.ir.printer import print_module
from adjit.ir.verify import verify_module

GOLDEN = Path(__file__).resolve().parent / "golden"
V = np.zeros(3)

SIGNATURES = {
    "textbook": ("f", (2.0, 5.0)),
    "logistic_for": ("logistic", (0.3, 3)),
    "logistic_while": ("logistic", (0.3, 3)),
    "if_elif": ("piecewise", (0.5,)),
    "promotion": ("total", (0.5, 3)),
    "short_circuit": ("guarded", (2.0,)),
    "chained": ("inside", (0.0, 0.5, 1.0)),
    "break_continue": ("search", (V, 0.5)),
    "early_return": ("first_above", (V, 0.5)),
    "arrays": ("outer", (V, V)),
    "calls": ("use", (1.0, 2.0)),
    "writes": ("caller", (V,)),
    "conditional_expr": ("relu_sq", (1.0,)),
}


def printed(name: str) -> str:
    func, args = SIGNATURES[name]
    module = adjit.make_ir((str(GOLDEN / f"{name}.py"), func))(*args)
    verify_module(module)
    return print_module(module).replace(str(GOLDEN) + "/", "")


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_golden_ir(name):
    expected_path = GOLDEN / f"{name}.ir"
    text = printed(name)
    if os.environ.get("ADJIT_UPDATE_GOLDEN"):
        expected_path.write_text(text)
    assert text == expected_path.read_text()


def test_every_golden_program_is_checked():
    assert {p.stem for p in GOLDEN.glob("*.py")} == set(SIGNATURES)
