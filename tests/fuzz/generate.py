"""Random programs of adjit's subset, as source text, with their inputs.

One generator serves two drivers through the `Chooser` interface: a plain
`random.Random` (`programs(seed, count)`, for campaigns: program `k` of a
seed is reproducible on its own) and hypothesis (`program_strategy()`, for
tests: hypothesis then shrinks a failing program). Every choice is an
integer drawn in a range whose low end is the simplest option, so
hypothesis shrinks towards fewer statements, simpler expressions, no
optional parts.

Invariants of every program handed out (`is_valid` checks the last two by
running it under CPython):

- a module `import math` / `import numpy as np` with 1-3 functions `f0`,
  `f1`, ...; a later one may call an earlier one (no recursion); the last is
  the entry. Parameters: 1-3 floats `a b c`, optionally an int `n` (0-6), a
  1-D float array `x` (length 1-5) and, for the entry, a 2-D float array `m`
  (1-3 x 1-3); locals may include a 1-D `y` and a 2-D `z` made by
  `np.zeros`.
- only the documented subset (docs/subset.md): every variable is assigned
  before its use on every path (names are block-scoped: one assigned inside
  an `if` or a loop is never read after it), float variables stay floats,
  ints only index, bound loops and compare; division only by expressions
  at least 1 in magnitude; `math` functions only inside their domains
  (`log(1 + t*t)`, `sqrt(1 + t*t)`, `exp` of a bounded argument); loops are
  `for` over bounded ranges and `while k < bound and ...` with the counter
  incremented first; arrays are indexed modulo their length.
- CPython runs the entry on the inputs without an exception and returns
  finite floats (one or a tuple of two) of magnitude <= 1e6.
- values stay bounded: the generator tracks a magnitude bound per variable
  and squashes (`math.tanh`) any subexpression that could exceed `CAP`;
  inside loops, variables carried across iterations are only updated by
  forms that keep them bounded whatever the trip count.

Float comparisons make the output piecewise smooth: at rare inputs a branch
flips within a finite-difference step. The harness detects that (two step
sizes disagree) and moves the point.
"""
from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from tests.fuzz.writer import HELPER_ARRAY_BOUND, HELPER_BOUND, FunctionWriter, Signature

INPUT_BOUND = 2.0  # float inputs of the entry lie in [-2, 2]
RESULT_LIMIT = 1e6  # programs whose results exceed this are discarded


# --- choices -----------------------------------------------------------------------

class Chooser:
    """Where the generator's decisions come from. `integer(lo, hi)` is the only
    primitive; `lo` is always the simplest choice."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def flag(self, p: float) -> bool:
        """True with probability `p`; False is the simpler answer."""
        return self.integer(0, 999) >= round(1000 * (1.0 - p))

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def weighted(self, pairs: Sequence[tuple[Any, int]]) -> Any:
        """One of the values, by integer weight (0: unavailable); the first
        available value is the simplest."""
        live = [(v, w) for v, w in pairs if w > 0]
        r = self.integer(0, sum(w for _, w in live) - 1)
        for value, w in live:
            if r < w:
                return value
            r -= w
        raise AssertionError("unreachable")


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    """Choices drawn by hypothesis (`draw` of `st.composite` or `st.data()`)."""

    def __init__(self, draw: Callable[[Any], Any]):
        from hypothesis import strategies as st

        self.draw = draw
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return lo + self.draw(self.st.integers(0, hi - lo)) if hi > lo else lo


# --- programs ----------------------------------------------------------------------

@dataclass
class Program:
    """A module's source, the entry function, and the inputs to call it on."""

    source: str
    entry: str
    args: tuple
    exact: bool = True  # only + - * /, abs, min, max: compiled results are bitwise CPython's
    label: str = ""

    def copied_args(self) -> tuple:
        return copy.deepcopy(self.args)


class ProgramGenerator:
    def __init__(self, ch: Chooser):
        self.ch = ch
        self.exact = True
        self.depth_calls = 0

    def params(self, entry: bool) -> list[str]:
        params = ["a", "b", "c"][:self.ch.integer(1, 3)]
        for name, p in (("n", 0.5), ("x", 0.5), ("m", 0.3 if entry else 0.0)):
            if p and self.ch.flag(p):
                params.insert(self.ch.integer(0, len(params)), name)
        return params

    def input_float(self) -> float:
        return round(self.ch.integer(-200000, 200000) * 1e-5 + 0.0123, 7)

    def inputs(self, params: list[str]) -> tuple:
        out: list[Any] = []
        for p in params:
            if p == "n":
                out.append(self.ch.integer(0, 6))
            elif p == "x":
                out.append(np.array([self.input_float() for _ in range(self.ch.integer(1, 5))]))
            elif p == "m":
                rows, cols = self.ch.integer(1, 3), self.ch.integer(1, 3)
                out.append(np.array([[self.input_float() for _ in range(cols)]
                                     for _ in range(rows)]))
            else:
                out.append(self.input_float())
        return tuple(out)

    def program(self) -> Program:
        count = self.ch.integer(1, 3)
        sigs: list[Signature] = []
        chunks = ["import math", "", "import numpy as np", ""]
        for k in range(count):
            entry = k == count - 1
            sig = Signature(f"f{k}", self.params(entry), 2 if self.ch.flag(0.2) else 1)
            helpers = [s for s in sigs if self.ch.flag(0.7)] if sigs else []
            writer = FunctionWriter(self, sig, helpers,
                                    INPUT_BOUND if entry else HELPER_BOUND,
                                    INPUT_BOUND if entry else HELPER_ARRAY_BOUND)
            chunks += ["", *writer.write(), ""]
            sigs.append(sig)
        entry = sigs[-1]
        source = "\n".join(chunks).rstrip() + "\n"
        return Program(source, entry.name, self.inputs(entry.params), self.exact)


def generate(ch: Chooser) -> Program:
    """One program (not yet checked against CPython)."""
    return ProgramGenerator(ch).program()


# --- validity: CPython runs it ------------------------------------------------------

def cpython_function(source: str, entry: str, filename: str = "<fuzz>") -> Callable[..., Any]:
    """The entry function of `source`, executed by CPython (the oracle)."""
    namespace: dict[str, Any] = {"__name__": "adjit_fuzz_program"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[entry]


def float_leaves(value: Any) -> list[float]:
    if isinstance(value, tuple):
        return [v for part in value for v in float_leaves(part)]
    if isinstance(value, np.ndarray):
        return [float(v) for v in value.ravel()]
    return [float(value)]


def is_valid(program: Program) -> bool:
    """CPython runs the entry without an exception; results and the array
    argument (which the program may write) are finite and not huge."""
    try:
        args = program.copied_args()
        result = cpython_function(program.source, program.entry)(*args)
    except Exception:  # noqa: BLE001 - any failure makes the program invalid
        return False
    parts = result if isinstance(result, tuple) else (result,)
    if not all(isinstance(p, (float, np.floating)) for p in parts):
        return False
    values = float_leaves(result) + [v for a in args if isinstance(a, np.ndarray)
                                     for v in float_leaves(a)]
    return all(math.isfinite(v) and abs(v) <= RESULT_LIMIT for v in values)


def program_for(seed: int, index: int, attempts: int = 200) -> Program:
    """Program `index` of the campaign `seed`: the first valid one drawn from
    random.Random(f"{seed}:{index}:{attempt}")."""
    for attempt in range(attempts):
        program = generate(RandomChooser(random.Random(f"{seed}:{index}:{attempt}")))
        if is_valid(program):
            program.label = f"seed {seed} program {index}"
            return program
    raise RuntimeError(f"no valid program for seed {seed} index {index}")


def programs(seed: int, count: int, start: int = 0) -> Iterator[Program]:
    """`count` valid programs of campaign `seed` (reproducible one by one)."""
    for index in range(start, start + count):
        yield program_for(seed, index)


def program_strategy():
    """A hypothesis strategy of valid programs (invalid draws are rejected)."""
    from hypothesis import assume
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        program = generate(DrawChooser(draw))
        assume(is_valid(program))
        return program

    return build()
