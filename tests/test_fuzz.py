"""A bounded, reproducible sample of the differential fuzzer (tests/fuzz/).

Hypothesis draws programs of the subset (`tests.fuzz.generate`) and the
harness compares CPython, adjit's interpreter and native code, and checks
first and second derivatives against finite differences
(`tests.fuzz.harness`). `derandomize=True` makes the sample the same on
every run; on a failure hypothesis shrinks the program and the assertion
prints it with its inputs. Longer campaigns: `python -m tests.fuzz`
(docs/reliability.md).

Failures already recorded in tests/regressions/ and still open (listed in
`tests/test_regressions.OPEN`) are recognized by their signature (kind,
check, exception type and adjit frame) and reported as a warning instead of
failing this test again.
"""
from __future__ import annotations

import collections
import json
import warnings

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from tests.fuzz.generate import program_strategy, programs
from tests.fuzz.harness import Checks, Outcome, check_program
from tests.fuzz.shrink import REGRESSIONS_DIR, header_fields
from tests.test_regressions import OPEN

INTERP_EXAMPLES = 500
NATIVE_EXAMPLES = 60


def open_signatures() -> set[str]:
    return {header_fields(REGRESSIONS_DIR / name).get("signature", "") for name in OPEN}


def unexplained(outcome: Outcome, known: set[str], masked: collections.Counter) -> list[str]:
    """The failing findings not explained by an open regression."""
    out = []
    for f in outcome.findings:
        if f.kind not in ("timeout", "rejected", "mismatch", "crash"):
            continue
        if f.signature in known:
            masked[f.signature] += 1
        else:
            out.append(f.signature)
    return out


def run_sample(checks: Checks, examples: int, shrink: bool = True) -> None:
    known = open_signatures()
    masked: collections.Counter = collections.Counter()
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=phases, suppress_health_check=list(HealthCheck))
    @given(program_strategy())
    def check(program):
        outcome = check_program(program, checks, timeout=60)
        assume(outcome.kind != "invalid")
        new = unexplained(outcome, known, masked)
        assert not new, outcome.report(program)

    check()
    if masked:
        warnings.warn("known open bugs (tests/regressions/) seen in the fuzz sample: " +
                      ", ".join(f"{s} x{c}" for s, c in masked.items()))


def test_fuzz_interpreter_and_derivatives() -> None:
    """CPython vs the interpreter; jvp, vjp, grad, Hessians vs finite differences."""
    run_sample(Checks(native=False, native_derivatives=False), INTERP_EXAMPLES)


def test_fuzz_native() -> None:
    """Native code (values and first derivatives) vs CPython and the interpreter."""
    # Not shrunk here: every step would compile natively (minutes); shrink a
    # failure with `tests.fuzz.shrink` or reproduce it with the interpreter.
    run_sample(Checks(native=True, second_order=False, native_derivatives=True),
               NATIVE_EXAMPLES, shrink=False)


def test_campaign_programs_are_reproducible() -> None:
    first = [p.source for p in programs(seed=3, count=5)]
    again = [p.source for p in programs(seed=3, count=5, start=0)]
    assert first == again
    assert len(set(first)) == 5
    assert next(programs(seed=3, count=1, start=4)).source == first[4]


def test_campaign_resumes_from_its_checkpoint(tmp_path, monkeypatch, capsys) -> None:
    from tests.fuzz import campaign

    state = tmp_path / "state.json"
    argv = ["--programs", "4", "--seed", "5", "--jobs", "1", "--no-native", "--no-report",
            "--no-write", "--state", str(state), "--log", str(tmp_path / "log.jsonl")]
    pool = campaign.run_pool

    def interrupted(tasks, jobs, config, limit, on_result):  # Ctrl-C after two programs
        for task in tasks[:2]:
            on_result(campaign.run_check(config, task[1]))
        raise KeyboardInterrupt

    monkeypatch.setattr(campaign, "run_pool", interrupted)
    assert campaign.main(argv) == 130
    saved = json.loads(state.read_text())
    assert saved["done"] == [[0, 1]] and sum(saved["kinds"].values()) == 2

    resumed_tasks: list = []

    def resumed(tasks, *rest):
        resumed_tasks.extend(tasks)
        pool(tasks, *rest)

    monkeypatch.setattr(campaign, "run_pool", resumed)
    assert campaign.main(argv) == 0
    assert resumed_tasks == [("check", 2), ("check", 3)]
    saved = json.loads(state.read_text())
    assert saved["done"] == [[0, 3]] and saved["kinds"] == {"ok": 4}
    with pytest.raises(SystemExit):  # the checkpoint of another campaign is refused
        campaign.main(["--programs", "5", *argv[2:]])
    assert "checkpoints another campaign" in capsys.readouterr().err
    assert campaign.ranges({1, 2, 3, 7, 9, 10}) == [[1, 3], [7, 7], [9, 10]]


@pytest.mark.parametrize("index", range(5))
def test_generated_programs_run_under_cpython(index: int) -> None:
    from tests.fuzz.generate import is_valid

    program = next(programs(seed=101, count=1, start=index))
    assert is_valid(program)
    compile(program.source, "<fuzz>", "exec")
