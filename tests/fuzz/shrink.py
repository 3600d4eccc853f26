"""Shrinking failing programs without hypothesis, and recording them.

`shrink(program, still_fails)` greedily applies source-to-source reductions
(through Python's `ast`) while `still_fails` holds: drop a function, delete
a statement, replace an `if` or a loop by one of its bodies, replace an
expression by one of its operands or by a constant, then simplify the
inputs (smaller `n`, shorter `x`, rounder floats). A candidate that CPython
cannot run is simply not accepted (`still_fails` re-checks it), so every
step keeps the program valid.

`write_regression` stores a shrunk program as `tests/regressions/NNNN_<kind>.py`
with a header that `tests/test_regressions.py` reads back:

    # adjit fuzz regression: <kind> in <check>
    # compared: <what against what>
    # checks: value, derivatives, ...   (the harness checks to run)
    # function: f1
    # inputs: [0.5, 3, [0.1, 0.2]]
    # signature: <kind>|<check>|<where>
    # detail: <what differed>
"""
from __future__ import annotations

import ast
import copy
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tests.fuzz.generate import Program, is_valid
from tests.fuzz.harness import (Checks, Finding, ProgramTimeout, inputs_text, parse_inputs,
                                time_limit, with_source)

REGRESSIONS_DIR = Path(__file__).resolve().parent.parent / "regressions"

COMPARED = {
    "interp-value": "CPython vs adjit.interpret: result and array arguments after the call",
    "native-value": "CPython vs adjit.jit (native): result and array arguments after the call",
    "jvp": "adjit.jvp (interpreter) runs", "vjp": "adjit.vjp (interpreter) runs",
    "jvp-primal": "CPython vs the primal result of adjit.jvp",
    "vjp-primal": "CPython vs the primal result of adjit.vjp",
    "jvp-fd": "adjit.jvp vs central finite differences of the CPython function",
    "jvp-vs-vjp": "<c, jvp(u)> vs <vjp(c), u>",
    "grad": "adjit.grad runs", "grad-vs-vjp": "adjit.grad vs vjp_fn(1.0)",
    "hvp": "adjit.jvp(adjit.grad(f)) runs", "hessian": "adjit.hessian runs",
    "hvp-fd": "adjit.jvp(adjit.grad(f)) vs finite differences of adjit.grad",
    "hessian-vs-hvp": "adjit.hessian times u vs adjit.jvp(adjit.grad(f), u)",
}


def compared(check: str) -> str:
    if check.startswith("native-") and check not in COMPARED:
        return "native " + COMPARED.get(check[len("native-"):], check) + " vs the interpreter"
    return COMPARED.get(check, check)


# --- reductions --------------------------------------------------------------------

def _bodies(tree: ast.AST) -> Iterator[list]:
    """Every statement list of the functions (bodies and else-branches)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module):
            continue
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body:
                yield body


def _with_body(tree: ast.Module, body: list, index: int, new: list) -> str:
    """The source with body[index] replaced by `new` (the tree is restored)."""
    old = body[:]
    body[index:index + 1] = new
    if not body:
        body.append(ast.Pass())
    try:
        return ast.unparse(tree)
    finally:
        body[:] = old


def statement_candidates(source: str, entry: str) -> Iterator[str]:
    tree = ast.parse(source)
    for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        if fn.name != entry:
            yield ast.unparse(ast.Module(body=[n for n in tree.body if n is not fn],
                                         type_ignores=[]))
    for body in list(_bodies(tree)):
        for index in reversed(range(len(body))):
            stmt = body[index]
            yield _with_body(tree, body, index, [])
            if isinstance(stmt, (ast.If, ast.For, ast.While)):
                yield _with_body(tree, body, index, list(stmt.body))
                if stmt.orelse:
                    yield _with_body(tree, body, index, list(stmt.orelse))


def expression_candidates(source: str) -> Iterator[str]:
    tree = ast.parse(source)
    targets = [n for n in ast.walk(tree)
               if isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Call, ast.IfExp, ast.BoolOp,
                                 ast.Compare)) and not _is_structural_call(n)]
    for node in targets:
        for child in _operands(node) + [ast.Constant(0.5), ast.Constant(1.0)]:
            # deepcopy with a memo entry for `node`: the copy holds `child` there
            yield ast.unparse(copy.deepcopy(tree, {id(node): copy.deepcopy(child)}))


def _is_structural_call(node: ast.AST) -> bool:
    """range(...), len(...), np.zeros(...): replacing them breaks the program's shape."""
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Name) and f.id in ("range", "len")) or \
        (isinstance(f, ast.Attribute) and f.attr == "zeros")


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Compare):
        return [ast.Constant(True), ast.Constant(False)]
    return []


def input_candidates(args: tuple) -> Iterator[tuple]:
    for k, a in enumerate(args):
        if isinstance(a, bool):
            continue
        if isinstance(a, int):
            for smaller in range(a):
                yield args[:k] + (smaller,) + args[k + 1:]
        elif isinstance(a, np.ndarray):
            for drop in range(len(a)):
                if len(a) > 1:
                    yield args[:k] + (np.delete(a, drop),) + args[k + 1:]
            for j in range(len(a)):
                for digits in (1, 2):
                    rounder = a.copy()
                    rounder[j] = round(float(a[j]), digits)
                    if rounder[j] != a[j]:
                        yield args[:k] + (rounder,) + args[k + 1:]
        elif isinstance(a, float):
            for digits in (0, 1, 2):
                r = round(a, digits)
                if r != a and r != 0.0:
                    yield args[:k] + (r,) + args[k + 1:]


def returns_at_end(source: str) -> bool:
    """Every function ends with a `return` (the subset requires one on every
    path; CPython would return None where adjit rejects the program)."""
    tree = ast.parse(source)
    return all(isinstance(n.body[-1], ast.Return) for n in tree.body
               if isinstance(n, ast.FunctionDef))


def shrink(program: Program, still_fails: Callable[[Program], bool],
           budget_s: float = 120.0, max_tries: int = 1500) -> Program:
    """The smallest program found (by greedy reduction) that still fails."""
    deadline = time.monotonic() + budget_s
    tries = 0

    def accept(candidate: Program) -> bool:
        nonlocal tries
        if time.monotonic() > deadline or tries >= max_tries:
            return False
        tries += 1
        if not returns_at_end(candidate.source):
            return False
        try:
            with time_limit(2.0):
                if not is_valid(candidate):
                    return False
        except ProgramTimeout:
            return False
        return still_fails(candidate)

    passes: list[Callable[[Program], list[Program]]] = [
        lambda p: [with_source(p, c + "\n") for c in statement_candidates(p.source, p.entry)],
        lambda p: [with_source(p, c + "\n") for c in expression_candidates(p.source)],
        lambda p: [with_source(p, p.source, args) for args in input_candidates(p.args)],
    ]
    current = program
    improved = True
    while improved and time.monotonic() < deadline and tries < max_tries:
        improved = False
        for make in passes:
            position = 0  # candidates before it were just tried: go on from there
            while True:
                candidates = make(current)
                for k in range(position, len(candidates)):
                    candidate = candidates[k]
                    same_source = candidate.source == current.source
                    if (same_source and inputs_text(candidate.args) == inputs_text(current.args)) \
                            or (not same_source and len(candidate.source) >= len(current.source)):
                        continue
                    if accept(candidate):
                        current, position, improved = candidate, k, True
                        break
                else:
                    break
    return current


# --- regression files -------------------------------------------------------------

def header_fields(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def load_regression(path: Path) -> tuple[Program, Checks, dict[str, str]]:
    fields = header_fields(path)
    program = Program(path.read_text(), fields["function"], parse_inputs(fields["inputs"]),
                      label=path.name)
    checks = Checks.from_names([c.strip() for c in fields.get("checks", "value").split(",")])
    return with_source(program, program.source), checks, fields


def known_signatures(directory: Path = REGRESSIONS_DIR) -> set[str]:
    return {header_fields(p).get("signature", "") for p in sorted(directory.glob("[0-9]*.py"))}


def write_regression(program: Program, finding: Finding, checks: Checks, found: str,
                     directory: Path = REGRESSIONS_DIR) -> Path:
    """Store the program as the next NNNN_<kind>.py of `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:4]) for p in directory.glob("[0-9][0-9][0-9][0-9]_*.py")]
    number = max(numbers, default=0) + 1
    path = directory / f"{number:04d}_{finding.kind}.py"
    detail = " ".join(finding.detail.split())[:400]
    header = [
        f"# adjit fuzz regression: {finding.kind} in {finding.check}",
        f"# found: {found}",
        f"# compared: {compared(finding.check)}",
        f"# checks: {', '.join(checks.names())}",
        f"# function: {program.entry}",
        f"# inputs: {inputs_text(program.args)}",
        f"# signature: {finding.signature}",
        f"# detail: {detail}",
    ]
    body = program.source if program.source.endswith("\n") else program.source + "\n"
    path.write_text("\n".join(header) + "\n" + body)
    return path
