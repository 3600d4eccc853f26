"""The reference interpreter computes what CPython computes, on the whole corpus."""
from __future__ import annotations

import math

import numpy as np
import pytest

import adjit
from tests.corpus_cases import CASES, ERROR_CASES, iter_inputs, run_cpython


def assert_same(got, want, where: str = "") -> None:
    """Equal values: floats bitwise (or within 2 ulp where libm may differ),
    ints exactly, arrays elementwise, tuples elementwise."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), (where, got, want)
        for k, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{k}]")
        return
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), (where, got)
        assert got.shape == want.shape, (where, got.shape, want.shape)
        np.testing.assert_array_max_ulp(got, want, maxulp=2)
        return
    if isinstance(want, (bool, np.bool_)):
        assert bool(got) == bool(want), (where, got, want)
        return
    if isinstance(want, (int, np.integer)):
        assert got == want, (where, got, want)
        return
    got, want = float(got), float(want)
    if math.isnan(want):
        assert math.isnan(got), (where, got, want)
    elif want != got:
        assert abs(got - want) <= 2 * math.ulp(want), (where, got, want)


def interp(case_file, func):
    return adjit.interpret((str(case_file), func))


@pytest.mark.parametrize("case,index,args",
                         [pytest.param(c, i, a, id=f"{c.id}[{i}]") for c, i, a in iter_inputs()])
def test_interpreter_matches_cpython(case, index, args):
    want = run_cpython(case.file, case.func, args)
    got = interp(case.path, case.func)(*args)
    assert_same(got, want, case.id)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ERROR_CASES])
def test_interpreter_raises_like_cpython(case):
    from tests.corpus_cases import CORPUS_DIR

    with pytest.raises(case.exception) as info:
        interp(CORPUS_DIR / case.file, case.func)(*case.args)
    text = (CORPUS_DIR / case.file).read_text().splitlines()
    line = info.value.adjit_location[1]
    assert text[line - 1].strip() in str(info.value)
