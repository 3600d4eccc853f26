"""Differential fuzzing of adjit: random subset programs checked against CPython.

- `generate` (with `writer`): random programs of the subset, as source text
  with their inputs, from a plain `random.Random` (`programs(seed, count)`)
  or from hypothesis (`program_strategy()`, which then shrinks failures);
- `harness`: `check_program` runs one program through CPython, adjit's
  interpreter and native code, and checks derivatives three ways (forward
  mode, reverse mode, finite differences) and to second order;
- `shrink`: reduces a failing program without hypothesis and records it in
  tests/regressions/;
- `campaign` (`python -m tests.fuzz`): many programs in worker processes.

See docs/reliability.md.
"""
