"""Golden pass tests: IR text in, IR text out, reviewed by hand.

Each `tests/passes_golden/<pass>/<name>.ir` holds

    // pipeline: <pipeline>      (optional; default: the directory's pass)
    // args: <Python tuple>      (optional; the interpreter runs the input and
                                  the output on them and must agree)
    // <what the case shows>
    <input IR>
    // -----
    <expected output IR, exactly as the printer prints it>

After an intended change of a pass, regenerate the expected halves with
`ADJIT_UPDATE_GOLDEN=1 python -m pytest tests/test_passes_golden.py` and
review the diff before committing.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from adjit.ir.interp import interpret
from adjit.ir.printer import print_module
from adjit.ir.textparse import parse_module_text
from adjit.ir.verify import verify_module
from adjit.passes.manager import run_pipeline

GOLDEN = Path(__file__).resolve().parent / "passes_golden"
SEPARATOR = "// -----"
CASES = sorted(GOLDEN.glob("*/*.ir"))


def read_case(path: Path) -> tuple[str, tuple | None, str, str, str]:
    """(pipeline, args, header, input text, expected text)."""
    text = path.read_text()
    before, _, expected = text.partition(f"\n{SEPARATOR}\n")
    pipeline, args, header, body = path.parent.name.replace("_", "-"), None, [], []
    for line in before.splitlines():
        if line.startswith("// pipeline:"):
            pipeline = line.split(":", 1)[1].strip()
        elif line.startswith("// args:"):
            args = eval(line.split(":", 1)[1], {"np": np, "inf": math.inf, "nan": math.nan})
        if line.startswith("//"):
            header.append(line)
        else:
            body.append(line)
    return pipeline, args, "\n".join(header), "\n".join(body).strip() + "\n", expected


def same(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b and str(a) == str(b)


def outcome(module, args):
    # Copies: a function that writes to an array argument changes the caller's array.
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    try:
        return "returns", interpret(module, args)
    except (ArithmeticError, ValueError, IndexError) as exc:
        return "raises", type(exc)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_pass_golden(path):
    pipeline, args, header, source, expected = read_case(path)
    module = parse_module_text(source)
    verify_module(module)
    assert print_module(module) == source, "the input is not in printed form"
    before = outcome(parse_module_text(source), args) if args is not None else None
    run_pipeline(module, pipeline, verify=True)
    got = print_module(module)
    if os.environ.get("ADJIT_UPDATE_GOLDEN"):
        path.write_text(f"{header}\n{source}{SEPARATOR}\n{got}")
        expected = got
    assert got == expected
    assert print_module(parse_module_text(expected)) == expected
    if args is not None:
        after = outcome(module, args)
        assert before[0] == after[0] and same(before[1], after[1]), (before, after)


def test_every_pass_has_five_golden_cases():
    from adjit.passes.manager import registry

    for name in registry():
        if name != "inline":
            assert len(list((GOLDEN / name.replace("-", "_")).glob("*.ir"))) >= 5, name
