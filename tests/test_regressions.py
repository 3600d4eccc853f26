"""Programs the fuzzer found failing, one file each in tests/regressions/.

Each file is a subset program with a header (see tests/fuzz/shrink.py):
`# function:` the entry, `# inputs: [...]` its arguments, `# checks:` the
harness checks to run. The test runs those checks (CPython against adjit's
interpreter and native code, derivatives against finite differences) and
requires every comparison to pass.

A file whose bug is still open is listed in `OPEN`, with the reason; it is
expected to fail (strict: once adjit is fixed the test says so, and the
entry must be removed).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import check_program
from tests.fuzz.shrink import REGRESSIONS_DIR, load_regression

OPEN: dict[str, str] = {}

FILES = sorted(REGRESSIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.py"))


def marks(path: Path) -> list:
    reason = OPEN.get(path.name)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=marks(p)) for p in FILES])
def test_regression(path: Path) -> None:
    program, checks, fields = load_regression(path)
    outcome = check_program(program, checks, timeout=120)
    assert outcome.kind not in ("invalid",), outcome.report(program)
    assert not outcome.failed, f"{fields.get('compared', '')}\n{outcome.report(program)}"


def test_open_entries_name_existing_files() -> None:
    names = {p.name for p in FILES}
    assert not set(OPEN) - names, f"OPEN lists missing files: {sorted(set(OPEN) - names)}"
