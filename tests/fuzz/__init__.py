"""Differential fuzzing of adjit: random subset programs checked against CPython.

`generate` builds random programs of the subset (as source text) with their
inputs, from a plain `random.Random` or from hypothesis (which then shrinks
failures). `harness` runs one program through CPython, adjit's interpreter
and native code, and checks derivatives three ways (forward mode, reverse
mode, finite differences) and to second order; `python -m tests.fuzz` runs a
campaign over many programs in worker processes. See docs/reliability.md.
"""
