"""Shared pytest set-up: the repository root on sys.path, the corpus location."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# `import adjit` finds this checkout and `import tests.corpus_cases` the module
# beside this file, however pytest was started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """tests/corpus/: the subset programs, one .py file each."""
    return TESTS_DIR / "corpus"
