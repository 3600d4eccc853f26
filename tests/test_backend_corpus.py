"""Every corpus program, compiled: the same results as the interpreter
(floats bitwise), the same writes to argument arrays, the same exceptions
with the same messages, and no array block left behind."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from adjit.api import lower_call, resolve_target
from adjit.backend.llvm import compile_module
from adjit.ir.interp import interpret
from test_backend import same
from tests.fuzz.harness import relaid

corpus_cases = pytest.importorskip("corpus_cases")

INPUTS = list(corpus_cases.iter_inputs())


_compiled: dict = {}


def lowered(path, func, args):
    return lower_call(resolve_target((str(path), func)), copy.deepcopy(tuple(args)))


def compiled(module, key):
    """One compilation per corpus function and argument types (inputs of a
    case share their types)."""
    if key not in _compiled:
        _compiled[key] = compile_module(module)
    return _compiled[key]


def kinds(values):
    return tuple((type(v).__name__, getattr(v, "ndim", None)) for v in values)


@pytest.mark.parametrize("case, index, args", INPUTS,
                         ids=[f"{c.id}[{i}]" for c, i, _ in INPUTS])
def test_native_matches_the_interpreter(case, index, args):
    module, values = lowered(case.path, case.func, args)
    mine, theirs = copy.deepcopy(values), copy.deepcopy(values)
    want = interpret(module, theirs)
    got, stats = compiled(module, (case.id, kinds(values))).call_with_stats(*mine)
    assert same(got, want), (got, want)
    assert all(same(a, b) for a, b in zip(mine, theirs)), "writes to arguments differ"
    assert stats.leaked == 0


@pytest.mark.parametrize("case", corpus_cases.ERROR_CASES,
                         ids=[e.id for e in corpus_cases.ERROR_CASES])
def test_native_raises_like_the_interpreter(case):
    module, values = lowered(corpus_cases.CORPUS_DIR / case.file, case.func, case.args)
    with pytest.raises(case.exception) as got:
        compile_module(module)(*copy.deepcopy(values))
    with pytest.raises(case.exception) as want:
        interpret(module, copy.deepcopy(values))
    assert str(got.value) == str(want.value)


ARRAY_INPUTS = [(c, i, a) for c, i, a in INPUTS if any(isinstance(v, np.ndarray) for v in a)]


@pytest.mark.parametrize("case, index, args", ARRAY_INPUTS,
                         ids=[f"{c.id}[{i}]" for c, i, _ in ARRAY_INPUTS])
def test_jit_gives_the_same_results_for_arrays_in_any_layout(case, index, args):
    """adjit.jit specializes on layout: C-contiguous arrays get constant
    strides, others the general code, and the fast entry falls back when a
    later call's layout differs from the first's."""
    import adjit

    f = adjit.jit((str(case.path), case.func))
    contiguous, other = copy.deepcopy(list(args)), relaid(tuple(args))
    want = f(*contiguous)
    got = f(*other)
    assert same(got, want), (got, want)
    assert all(same(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a, b)
               for a, b in zip(other, contiguous)), "writes to arguments differ"
