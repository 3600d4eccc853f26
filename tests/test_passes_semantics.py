"""Every pass and pipeline preserves what the interpreter computes.

On the whole corpus (`tests/corpus_cases.py`), for the primal IR and the IR
of its gradient (AD output is messy, so a good stress test), each pass
alone, PRE_AD and POST_AD (to a fixed point) run with the verifier after
every pass; the optimized module must return the same values as the
original (floats within 2 ulp: `fpow(x, 2.0) -> x * x` may differ from C's
pow by its own error) and raise the same exceptions at the same source
lines. A few Jacobians, Hessians and second derivatives go through POST_AD
too. Inputs whose run exceeds a step budget are skipped to keep this fast.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import adjit
from adjit.api import Staged, bind_arguments, type_of
from adjit.errors import AdjitError
from adjit.frontend.lower import lower_function
from adjit.ir.core import Module
from adjit.ir.interp import StepLimitExceeded, interpret
from adjit.passes.inline import inline_calls
from adjit.passes.manager import POST_AD, PRE_AD, registry, run_pipeline
from tests.corpus_cases import CASES, CORPUS_DIR, ERROR_CASES

STEP_BUDGET = 3000
INPUTS_PER_CASE = 2
PIPELINES = [name for name in sorted(registry())] + [PRE_AD, POST_AD]


def close(got, want) -> bool:
    if isinstance(want, tuple):
        return isinstance(got, tuple) and len(got) == len(want) and all(map(close, got, want))
    if isinstance(want, np.ndarray):
        return isinstance(got, np.ndarray) and got.shape == want.shape and all(
            close(float(g), float(w)) for g, w in zip(got.ravel(), want.ravel()))
    if isinstance(want, float):
        if math.isnan(want):
            return isinstance(got, float) and math.isnan(got)
        return isinstance(got, float) and (got == want and math.copysign(1, got) == math.copysign(
            1, want) or abs(got - want) <= 2 * math.ulp(want))
    return type(got) is type(want) and got == want


def unoptimized_ir(fn, args) -> Module:
    """What `adjit.make_ir(fn)(*args)` gives before any optimization: these
    tests want AD's raw output, whatever pipelines `adjit.api` runs."""
    staged = fn if isinstance(fn, Staged) else Staged(fn)
    values = bind_arguments(staged.target, list(args))
    module = lower_function(staged.target.definition, staged.target.scope,
                            [type_of(v) for v in values])
    if staged.steps:
        inline_calls(module)
        f = module.entry_function
        for step in staged.steps:
            f = step(f)
        module = Module({f.name: f}, f.name, module.source)
    return module


def outcome(module, args):
    """('returns', value, written arrays) or ('raises', type, line); None when
    the run is too long for this test."""
    args = copy.deepcopy(args)
    try:
        value = interpret(module, args, max_steps=STEP_BUDGET)
        return "returns", value, tuple(a for a in args if isinstance(a, np.ndarray))
    except StepLimitExceeded:
        return None
    except (ArithmeticError, ValueError, IndexError) as exc:
        location = getattr(exc, "adjit_location", None)
        return "raises", type(exc), location and location[1]


def same_outcome(got, want) -> bool:
    if got[0] != want[0]:
        return False
    if want[0] == "raises":
        return got[1:] == want[1:]
    return close(got[1], want[1]) and close(got[2], want[2])


def check_pipelines(make, inputs, pipelines=PIPELINES):
    """Run each pipeline on a fresh module from `make()`; compare outcomes."""
    reference = make()
    wanted = [(args, outcome(reference, args)) for args in inputs]
    wanted = [(args, w) for args, w in wanted if w is not None]
    for pipeline in pipelines:
        module = make()
        run_pipeline(module, pipeline, verify=True, to_fixed_point=pipeline == POST_AD)
        for args, want in wanted:
            got = outcome(module, args)
            assert got is not None and same_outcome(got, want), (pipeline, args, got, want)


def transforms(case):
    target = (str(case.path), case.func)
    yield "primal", target
    if case.float_argnums and case.differentiable:
        yield "grad", adjit.grad(target, argnums=case.float_argnums[0])


PARAMS = [pytest.param(case, kind, f, id=f"{case.id}:{kind}")
          for case in CASES
          for kind, f in transforms(case)]


@pytest.mark.parametrize("case,kind,fn", PARAMS)
def test_pipelines_preserve_results(case, kind, fn):
    try:
        unoptimized_ir(fn, case.args_list[0])
    except (TypeError, AdjitError):
        pytest.skip("grad needs one float result")
    check_pipelines(lambda: unoptimized_ir(fn, case.args_list[0]),
                    case.args_list[:INPUTS_PER_CASE])


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.id for c in ERROR_CASES])
def test_pipelines_preserve_exceptions(case):
    fn = (str(CORPUS_DIR / case.file), case.func)
    check_pipelines(lambda: unoptimized_ir(fn, case.args), [case.args])


STRESS = [
    ("logistic_for.py", "logistic_for", adjit.jacrev, (0.3, 3)),
    ("nested_loops.py", "triangle_sum", adjit.jacfwd, None),
    ("branch_in_loop.py", "leaky_relu_sum", adjit.jacrev, None),
    ("textbook.py", "f", adjit.hessian, (2.0, 5.0)),
    ("swell_map.py", "swell_loop", lambda f: adjit.grad(adjit.grad(f)), (0.5,)),
    ("logistic_while.py", "logistic_while", lambda f: adjit.grad(adjit.grad(f)), (0.3, 3)),
    ("dot_norm.py", "normalize", adjit.jacrev, None),
    ("mlp.py", "mlp", lambda f: adjit.jacrev(f, argnums=4), None),
]


@pytest.mark.parametrize("file,func,transform,args", STRESS,
                         ids=[f"{f}::{g}" for f, g, _, _ in STRESS])
def test_post_ad_on_higher_order_graphs(file, func, transform, args):
    case = next(c for c in CASES if c.file == file and c.func == func)
    inputs = [args] if args is not None else list(case.args_list)
    fn = transform((str(case.path), func))
    check_pipelines(lambda: unoptimized_ir(fn, inputs[0]), inputs, [PRE_AD, POST_AD])
