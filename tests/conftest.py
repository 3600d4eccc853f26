"""Shared pytest set-up: the repository root on sys.path, the corpus location."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# `import adjit` finds this checkout and `import tests.corpus_cases` the module
# beside this file, however pytest was started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def pytest_configure(config: pytest.Config) -> None:
    """An interpreter without adjit's dependencies would fail to collect every
    test module with an ImportError: say once what to run instead."""
    missing = [m for m in ("lark", "numpy", "llvmlite", "networkx", "hypothesis")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise pytest.UsageError(
            f"{sys.executable} lacks adjit's test dependencies ({', '.join(missing)}); run "
            "the tests as README.md says: python -m venv .venv && .venv/bin/pip install "
            "'.[test]' && .venv/bin/python -m pytest")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """tests/corpus/: the subset programs, one .py file each."""
    return TESTS_DIR / "corpus"
