"""The differential harness: one program through CPython and adjit, compared.

`check_program(program, checks)` writes the program to a temporary `.py`
file and compares, on the program's inputs:

- values: CPython (the file imported: it is the oracle) against
  `adjit.interpret((path, name))` and, with `checks.native`, against
  `adjit.jit((path, name))`; the results and the array arguments after the
  call (the program may write them). Programs using only `+ - * /`, `abs`,
  `min`, `max` and comparisons must agree bitwise; with `math`/numpy calls
  or `**`, within `VALUE_ULPS` units in the last place.
- first derivatives along a random direction `u` of the float arguments:
  forward mode (`adjit.jvp`) against central finite differences of the
  CPython function, and reverse mode (`adjit.vjp`) through the identity
  <c, J u> == <J^T c, u>; `adjit.grad` against `vjp(1.0)`.
- second derivatives (`checks.second_order`, small programs with one float
  result): `adjit.jvp` of `adjit.grad` (a Hessian-vector product) against
  finite differences of the gradient, and `adjit.hessian` against it.
- with `checks.native_derivatives` (and `native_second_order`), the native
  jvp/vjp (and Hessian) against the interpreter's.

Float comparisons make programs piecewise smooth. A finite difference is
trusted only when two step sizes agree; otherwise the point is moved a
little (up to `SHIFTS` times) and, failing that, the check is skipped and
noted as a kink.

Each comparison that fails is a `Finding`: `mismatch` (a value or
derivative differs), `crash` (an exception that is not an `AdjitError` with
a source line, or an `InternalError`, where CPython raised nothing),
`rejected` (an `AdjitError` with a line on a program of the documented
subset), `unsupported` (native code for an op the backend lacks, or an
`UnsupportedError` of a transformation) or `timeout`.
"""
from __future__ import annotations

import contextlib
import importlib.util
import itertools
import math
import os
import re
import signal
import tempfile
import traceback
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

import adjit
from adjit.errors import AdjitError, InternalError, UnsupportedError
from adjit.frontend.library import NUMPY_UNARY
from adjit.ir.ops.mathfn import UNARY
from tests.fuzz.generate import Program

VALUE_ULPS = 16  # libm-dependent results: this many ulps of max(1, |a|, |b|)
FD_RTOL = 1e-6  # forward mode against finite differences
FD2_RTOL = 1e-5  # Hessian-vector products against differences of the gradient
AD_RTOL = 1e-9  # forward against reverse, grad against vjp, native against interpreter
AD_ATOL = 1e-12  # times the size of the values: derivatives that are rounding noise around 0
KINK_RTOL = 1e-4  # two finite-difference step sizes farther apart than this: a kink
SHIFTS = 3  # moves of the point before a derivative check is skipped
SMALL_SOURCE, SMALL_CALLS = 2500, 4  # second-order checks only below these sizes
SEVERITY = ("ok", "unsupported", "timeout", "rejected", "mismatch", "crash")
FAILING = ("timeout", "rejected", "mismatch", "crash")


@dataclass(frozen=True)
class Checks:
    """Which comparisons to run."""

    native: bool = True
    derivatives: bool = True
    second_order: bool = True
    native_derivatives: bool = True
    native_second_order: bool = False

    GROUPS = ("native", "derivatives", "second_order", "native_derivatives",
              "native_second_order")

    def names(self) -> list[str]:
        return ["value"] + [g for g in self.GROUPS if getattr(self, g)]

    @classmethod
    def from_names(cls, names: list[str]) -> "Checks":
        unknown = set(names) - set(cls.GROUPS) - {"value"}
        if unknown:
            raise ValueError(f"unknown checks {sorted(unknown)}")
        return cls(**{g: g in names for g in cls.GROUPS})


@dataclass
class Finding:
    kind: str  # one of SEVERITY, not "ok"
    check: str  # e.g. "interp-value", "jvp-fd", "native-vjp"
    detail: str
    where: str = ""  # for exceptions: the type and the innermost adjit frame

    @property
    def signature(self) -> str:
        return f"{self.kind}|{self.check}|{self.where}"

    @property
    def family(self) -> str:
        """The signature without the adjit frame: what shrinking preserves."""
        return family(self.signature)


def family(signature: str) -> str:
    kind, check, where = signature.split("|", 2)
    return f"{kind}|{check}|{where.split('@')[0]}"


@dataclass
class Outcome:
    kind: str  # "ok", a finding kind, or "invalid" (CPython itself failed)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.kind in FAILING

    def worst(self) -> Finding | None:
        ranked = sorted(self.findings, key=lambda f: SEVERITY.index(f.kind), reverse=True)
        return ranked[0] if ranked else None

    def report(self, program: Program | None = None) -> str:
        lines = [f"outcome: {self.kind}"]
        lines += [f"  {f.kind} [{f.check}] {f.detail}" for f in self.findings]
        lines += [f"  note: {n}" for n in self.notes]
        if program is not None:
            lines += [f"function {program.entry}, inputs {inputs_text(program.args)}",
                      program.source]
        return "\n".join(lines)


class ProgramTimeout(BaseException):
    """The time limit of `time_limit` ran out (a BaseException, so that the
    checks' `except Exception` does not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ProgramTimeout in the main thread after `seconds` of the
    process's CPU time (SIGPROF; CPU time, so that a loaded machine does not
    make programs time out. Python code is interrupted; native code only
    when it returns)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise ProgramTimeout(f"more than {seconds:g} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


# --- values --------------------------------------------------------------------------

def inputs_text(args: tuple) -> str:
    """Inputs as a Python literal (arrays as lists): `# inputs: [...]`."""
    parts = [repr(a.tolist()) if isinstance(a, np.ndarray) else repr(a) for a in args]
    return "[" + ", ".join(parts) + "]"


def parse_inputs(text: str) -> tuple:
    import ast

    values = ast.literal_eval(text)
    return tuple(np.array(v, dtype=np.float64) if isinstance(v, list) else v for v in values)


def exact_arithmetic(source: str) -> bool:
    """Only + - * /, abs, min, max, float(): IEEE results CPython must match bitwise."""
    return "**" not in source and "math." not in source and \
        not re.search(r"np\.(?!zeros\b)\w+", source)


def copies(args: tuple) -> list:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def relaid(args: tuple) -> list:
    """Copies with the arrays in another layout: 1-D ones as every other
    element of a buffer, 2-D ones in Fortran order (compiled code is
    specialized on layout, and the fast entry falls back for others)."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim == 1:
            b = np.full(2 * a.size, np.nan)[::2]
            b[...] = a
            a = b
        elif isinstance(a, np.ndarray):
            a = np.array(a, order="F")
        out.append(a)
    return out


def flat_floats(value: Any) -> list[float]:
    parts = value if isinstance(value, tuple) else (value,)
    out: list[float] = []
    for p in parts:
        if isinstance(p, np.ndarray):
            out += [float(v) for v in p.ravel()]
        elif p is not None:
            out.append(float(p))
    return out


def same_float(a: float, b: float, exact: bool) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if exact:
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= VALUE_ULPS * math.ulp(max(1.0, abs(a), abs(b)))


def value_difference(expected: Any, got: Any, exact: bool) -> str | None:
    """None when `got` matches `expected` (a number, array or tuple of them)."""
    shape_e = len(expected) if isinstance(expected, tuple) else -1
    shape_g = len(got) if isinstance(got, tuple) else -1
    if shape_e != shape_g:
        return f"expected {expected!r}, got {got!r} (structure)"
    e, g = flat_floats(expected), flat_floats(got)
    if len(e) != len(g):
        return f"expected {expected!r}, got {got!r} (sizes)"
    for k, (a, b) in enumerate(zip(e, g)):
        if not same_float(a, b, exact):
            how = "bitwise" if exact else f"{VALUE_ULPS} ulp"
            return f"component {k}: expected {a!r}, got {b!r} ({how})"
    return None


def array_args(args: list) -> list:
    return [a for a in args if isinstance(a, np.ndarray)]


def close(a: list[float], b: list[float], rtol: float, atol: float = 0.0) -> int | None:
    """The first index where |a - b| > rtol * max(|a|, |b|) + atol; None if none."""
    if len(a) != len(b):
        return -1
    for k, (x, y) in enumerate(zip(a, b)):
        if not (abs(x - y) <= rtol * max(abs(x), abs(y)) + atol):
            return k
    return None


# --- running ----------------------------------------------------------------------

_counter = itertools.count()


@contextlib.contextmanager
def program_file(program: Program) -> Iterator[str]:
    """The program's source in a fresh temporary .py file."""
    with tempfile.TemporaryDirectory(prefix="adjit-fuzz-") as tmp:
        path = os.path.join(tmp, f"fuzz_{os.getpid()}_{next(_counter)}.py")
        with open(path, "w") as f:
            f.write(program.source)
        yield path


def import_function(path: str, name: str) -> Callable[..., Any]:
    """The oracle: CPython imports the file and hands out the function."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


class LibmNumpy:
    """numpy as adjit computes it: its scalar math functions through the C
    library, everything else numpy's own. numpy has its own implementations
    of some functions (tanh, exp, log1p, arctan, ...; at about a third of
    inputs tanh differs in the last bit), and adjit calls libm for np.* as for
    math.*, within the documented 2 ulp of numpy. The table is adjit's own:
    the numpy name's op (`frontend.library.NUMPY_UNARY`) and that op's
    math-module function (`ir.ops.mathfn.UNARY`)."""

    LIBM = {name: UNARY[op][0] for name, op in NUMPY_UNARY.items() if op in UNARY}

    def __getattr__(self, name: str) -> Any:
        scalar = self.LIBM.get(name)
        if scalar is None:
            return getattr(np, name)

        def libm(x: Any) -> Any:
            return np.float64(scalar(x)) if np.ndim(x) == 0 else getattr(np, name)(x)
        return libm


def libm_oracle(source: str, name: str) -> Callable[..., Any] | None:
    """The entry as CPython runs it with `LibmNumpy` for `np`; None when the
    program calls none of numpy's math functions."""
    if not re.search(r"np\.(?!zeros\b)\w+\(", source) or "import numpy as np\n" not in source:
        return None
    scope: dict[str, Any] = {"__name__": "adjit_fuzz_libm", "np": LibmNumpy()}
    exec(compile(source.replace("import numpy as np\n", ""), "<libm oracle>", "exec"), scope)
    return scope[name]


def adjit_frame(tb) -> str:
    """`module:function` of the innermost frame in adjit's own code."""
    frames = [f for f in traceback.extract_tb(tb) if f"{os.sep}adjit{os.sep}" in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f"{Path(f.filename).stem}:{f.name}"


def exception_finding(check: str, exc: BaseException, native: bool) -> Finding:
    first = str(exc).splitlines()[0][:300] if str(exc) else ""
    detail = f"{type(exc).__name__}: {first}"
    where = f"{type(exc).__name__}@{adjit_frame(exc.__traceback__)}"
    if isinstance(exc, InternalError):
        if native and "no LLVM lowering" in str(exc):
            op = re.search(r"op '(\w+)'", str(exc))
            return Finding("unsupported", check, detail, f"llvm:{op.group(1) if op else '?'}")
        return Finding("crash", check, detail, where)
    if isinstance(exc, UnsupportedError) and exc.line is not None:
        return Finding("unsupported", check, detail, f"UnsupportedError:{first[:60]}")
    if isinstance(exc, AdjitError) and exc.line is not None:
        return Finding("rejected", check, detail, f"{type(exc).__name__}:{first[:60]}")
    return Finding("crash", check, detail, where)


class Run:
    """The state of one program's checks."""

    def __init__(self, program: Program, path: str, checks: Checks):
        self.program = program
        self.path = path
        self.checks = checks
        self.exact = exact_arithmetic(program.source)
        self.outcome = Outcome("ok")
        self.rng = np.random.default_rng(zlib.crc32(program.source.encode()))
        self.oracle = import_function(path, program.entry)
        libm = libm_oracle(program.source, program.entry)
        if libm is not None and self.outputs_differ(self.oracle, libm):
            # adjit computes np.tanh & co. with libm: that is the reference.
            self.oracle = libm
            self.outcome.notes.append("oracle: numpy's math functions through libm "
                                      "(numpy's own results differ at these inputs)")
        self.interp = self.attempt("interp-value",
                                   lambda: adjit.interpret((path, program.entry)))
        self.native = None
        if checks.native:
            self.native = self.attempt("native-value", lambda: adjit.jit((path, program.entry)),
                                       native=True)

    def outputs_differ(self, f: Callable[..., Any], g: Callable[..., Any]) -> bool:
        """Whether f and g both return on the program's inputs, with results
        or array arguments after the call that differ in any bit."""
        try:
            a, b = copies(self.program.args), copies(self.program.args)
            fa, gb = f(*a), g(*b)
        except Exception:  # noqa: BLE001 - the comparisons report raising programs
            return False
        return value_difference(fa, gb, exact=True) is not None or any(
            value_difference(x, y, exact=True) is not None
            for x, y in zip(array_args(a), array_args(b)))

    def add(self, finding: Finding) -> None:
        self.outcome.findings.append(finding)

    def did(self, check: str) -> None:
        """Note a comparison made (campaigns count them)."""
        self.outcome.notes.append(f"compared: {check}")

    def attempt(self, check: str, fn: Callable[[], Any], native: bool = False) -> Any:
        """fn(), or None after recording its exception as a finding."""
        try:
            return fn()
        except ProgramTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified
            self.add(exception_finding(check, exc, native))
            return None

    # -- values --

    def cpython(self, args: tuple | list) -> tuple[Any, list]:
        args = copies(tuple(args))
        return self.oracle(*args), args

    def check_values(self) -> bool:
        try:
            expected, expected_args = self.cpython(self.program.args)
        except Exception as exc:  # noqa: BLE001 - the oracle failed: not our program
            return self.check_raises(exc)
        layouts = any(isinstance(a, np.ndarray) for a in self.program.args)
        for name, runner, native, arrange in (
                ("interp", self.interp, False, copies), ("native", self.native, True, copies),
                ("native-layout", self.native if layouts else None, True, relaid)):
            if runner is None:
                continue
            args = arrange(self.program.args)
            got = self.attempt(f"{name}-value", lambda: runner(*args), native)
            if got is None:
                continue
            diff = value_difference(expected, got, self.exact)
            self.did(f"{name}-value")
            if diff is None:
                for k, (e, g) in enumerate(zip(array_args(expected_args), array_args(args))):
                    diff = value_difference(e, g, self.exact)
                    if diff:
                        diff = f"array argument {k} after the call: {diff}"
                        break
            if diff:
                self.add(Finding("mismatch", f"{name}-value", diff))
        return True

    def check_raises(self, exc: Exception) -> bool:
        """CPython raised: adjit must raise the same type (no derivative checks)."""
        self.outcome.notes.append(f"CPython raises {type(exc).__name__}")
        for name, runner in (("interp", self.interp), ("native", self.native)):
            if runner is None:
                continue
            try:
                got = runner(*copies(self.program.args))
            except type(exc):
                continue
            except Exception as other:  # noqa: BLE001 - classified below
                finding = exception_finding(f"{name}-raises", other, name == "native")
                if finding.kind != "crash":
                    finding = Finding("mismatch", f"{name}-raises",
                                      f"CPython raises {type(exc).__name__}, adjit "
                                      f"{type(other).__name__}: {other}")
                self.add(finding)
                continue
            self.add(Finding("mismatch", f"{name}-raises",
                             f"CPython raises {type(exc).__name__}: {exc}; adjit returns {got!r}"))
        return False

    # -- derivatives --

    def ad_atol(self) -> float:
        """Absolute slack of AD-against-AD comparisons: a derivative that is
        zero in exact arithmetic comes out as rounding noise of the size of
        the values it was computed from, differently in each mode."""
        values = flat_floats(self.cpython(self.program.args)[0]) + \
            [v for a in self.program.args if not isinstance(a, (bool, int))
             for v in flat_floats(a)]
        return AD_ATOL * max([1.0] + [abs(v) for v in values])

    def float_positions(self) -> list[int]:
        return [k for k, a in enumerate(self.program.args)
                if isinstance(a, float) or isinstance(a, np.ndarray)]

    def direction(self) -> list:
        return [self.rng.normal(size=a.shape) if isinstance(a, np.ndarray) else
                float(self.rng.normal()) if isinstance(a, float) else 0
                for a in self.program.args]

    def scale(self, args) -> float:
        values = [float(np.max(np.abs(a))) for a in args if isinstance(a, np.ndarray)] + \
                 [abs(a) for a in args if isinstance(a, float)]
        return max([1.0] + values)

    @staticmethod
    def moved(args, u, h) -> list:
        return [a + h * d if isinstance(a, (float, np.ndarray)) else a for a, d in zip(args, u)]

    def at(self, f: Callable[..., Any], args, u, h) -> list[float]:
        return flat_floats(f(*copies(tuple(self.moved(args, u, h)))))

    def smooth_difference(self, f, args, u, h) -> tuple[list[float], float] | None:
        """Central differences at h, if f has no kink near the point: those at
        10 h agree, and the jump between the one-sided differences shrinks
        with the step (at a kink exactly at the point, e.g. a tie in `max`,
        central differences at both steps agree on the mean of the slopes,
        but the one-sided ones differ by the same jump at both steps)."""
        mid = self.at(f, args, u, 0.0)
        hi, lo, hi10, lo10 = (self.at(f, args, u, s) for s in (h, -h, 10 * h, -10 * h))
        size = max([abs(v) for v in hi + lo + hi10 + lo10] + [1.0])
        fine = [(p - q) / (2 * h) for p, q in zip(hi, lo)]
        coarse = [(p - q) / (20 * h) for p, q in zip(hi10, lo10)]
        slack = 1e3 * np.finfo(float).eps * size / h
        if close(fine, coarse, KINK_RTOL, slack) is not None:
            return None
        for p, m, q, p10, q10 in zip(hi, mid, lo, hi10, lo10):
            jump = (p - m) / h - (m - q) / h  # about h f'' where f is smooth
            jump10 = (p10 - m) / (10 * h) - (m - q10) / (10 * h)  # about 10 h f''
            if abs(jump) > slack and abs(jump10) < 5 * abs(jump):
                return None
        return fine, size

    def smooth_point(self, f, u, h_rel: float) -> tuple[list, list[float], float, float] | None:
        """A point near the inputs where f is smooth along u: (args, fd, size, h)."""
        args = copies(self.program.args)
        for attempt in range(SHIFTS + 1):
            if attempt:
                self.outcome.notes.append(f"kink near the point: moved ({attempt})")
                push = self.direction()
                args = self.moved(copies(self.program.args), push, 1e-3 * attempt)
            h = h_rel * self.scale(args)
            try:
                found = self.smooth_difference(f, args, u, h)
            except Exception:  # noqa: BLE001 - the moved point left the domain
                continue
            if found is not None:
                return args, found[0], found[1], h
        return None

    def check_derivatives(self, prefix: str, runner: Any, native: bool,
                          reference: dict | None = None) -> dict | None:
        """Forward and reverse mode of `runner` (interp or native) at the inputs."""
        u = reference["u"] if reference else self.direction()
        args = copies(self.program.args)
        results: dict[str, Any] = {"u": u}
        out = self.attempt(f"{prefix}jvp", lambda: adjit.jvp(runner, copies(args), u), native)
        if out is None:
            return None
        primal, tangent = out
        expected, _ = self.cpython(args)
        diff = value_difference(expected, primal, self.exact)
        if diff:
            self.add(Finding("mismatch", f"{prefix}jvp-primal", diff))
        forward = flat_floats(tangent)
        results["forward"] = forward
        out = self.attempt(f"{prefix}vjp", lambda: adjit.vjp(runner, *copies(args)), native)
        if out is None:
            return None
        primal, vjp_fn = out
        diff = value_difference(expected, primal, self.exact)
        if diff:
            self.add(Finding("mismatch", f"{prefix}vjp-primal", diff))
        outputs = primal if isinstance(primal, tuple) else (primal,)
        cts = reference["cts"] if reference else tuple(float(self.rng.normal()) for _ in outputs)
        results["cts"] = cts
        grads = self.attempt(f"{prefix}vjp", lambda: vjp_fn(cts if len(cts) > 1 else cts[0]),
                             native)
        if grads is None:
            return None
        results["reverse"] = grads
        lhs_terms = [c * t for c, t in zip(cts, forward)]
        rhs_terms = [float(np.sum(np.asarray(g) * np.asarray(d)))
                     for g, d in zip(grads, u) if g is not None]
        lhs, rhs = sum(lhs_terms), sum(rhs_terms)
        scale = sum(abs(t) for t in lhs_terms) + sum(
            float(np.sum(np.abs(np.asarray(g) * np.asarray(d)))) for g, d in zip(grads, u)
            if g is not None)
        self.did(f"{prefix}jvp-vs-vjp")
        if len(forward) != len(cts) or abs(lhs - rhs) > AD_RTOL * scale + self.ad_atol():
            self.add(Finding("mismatch", f"{prefix}jvp-vs-vjp",
                             f"<c, J u> = {lhs!r} but <J^T c, u> = {rhs!r}"))
        if reference is not None:
            self.compare_to_reference(prefix, results, reference)
            return results
        found = self.smooth_point(self.oracle, u, 1e-6)
        if found is None:
            self.outcome.notes.append("first derivatives: kink, finite differences skipped")
        else:
            point, fd, size, h = found
            moved = self.attempt(f"{prefix}jvp", lambda: adjit.jvp(runner, copies(point), u),
                                 native)
            if moved is not None:
                tangent = flat_floats(moved[1])
                slack = 100 * np.finfo(float).eps * size / h
                k = close(tangent, fd, FD_RTOL, slack)
                self.did(f"{prefix}jvp-fd")
                if k is not None:
                    self.add(Finding("mismatch", f"{prefix}jvp-fd",
                                     f"forward mode {tangent} but finite differences {fd}"
                                     f" (component {k}, at {inputs_text(tuple(point))})"))
        if len(outputs) == 1:
            self.check_grad(prefix, runner, native, vjp_fn)
        return results

    def check_grad(self, prefix: str, runner: Any, native: bool, vjp_fn: Callable) -> None:
        """`grad` (the fused graph) against a second call of `vjp_fn` (the split one)."""
        nums = tuple(self.float_positions())
        g = self.attempt(f"{prefix}grad",
                         lambda: adjit.grad(runner, argnums=nums)(*copies(self.program.args)),
                         native)
        once = self.attempt(f"{prefix}vjp", lambda: vjp_fn(1.0), native)
        if g is None or once is None:
            return
        want = [v for k in nums for v in flat_floats(once[k])]
        got = flat_floats(g)
        self.did(f"{prefix}grad-vs-vjp")
        if close(got, want, AD_RTOL, self.ad_atol()) is not None:
            self.add(Finding("mismatch", f"{prefix}grad-vs-vjp", f"grad {got} but vjp(1.0) {want}"))

    def compare_to_reference(self, prefix: str, results: dict, reference: dict) -> None:
        """Native derivatives against the interpreter's."""
        k = close(results["forward"], reference["forward"], AD_RTOL, self.ad_atol())
        self.did(f"{prefix}jvp-vs-interp")
        if k is not None:
            self.add(Finding("mismatch", f"{prefix}jvp",
                             f"native {results['forward']} interp {reference['forward']}"))
        mine = [v for g in results["reverse"] if g is not None for v in flat_floats(g)]
        theirs = [v for g in reference["reverse"] if g is not None for v in flat_floats(g)]
        k = close(mine, theirs, AD_RTOL, self.ad_atol())
        if k is not None:
            self.add(Finding("mismatch", f"{prefix}vjp", f"native {mine} interp {theirs}"))

    def check_second_order(self, prefix: str, runner: Any, native: bool,
                           reference: dict | None = None) -> dict | None:
        """Hessian-vector products and Hessians (one float result only)."""
        nums = tuple(self.float_positions())
        args = copies(self.program.args)
        expected, _ = self.cpython(args)
        if isinstance(expected, tuple) or not nums:
            return None
        u = reference["u"] if reference else self.direction()
        gradient = adjit.grad(runner, argnums=nums)
        out = self.attempt(f"{prefix}hvp", lambda: adjit.jvp(gradient, copies(args), u), native)
        if out is None:
            return None
        hvp = flat_floats(out[1])
        results: dict[str, Any] = {"hvp": hvp, "u": u}
        scalars = [k for k in nums if isinstance(args[k], float)]
        if scalars:
            hess = self.attempt(f"{prefix}hessian",
                                lambda: adjit.hessian(runner, argnums=tuple(scalars))(*args),
                                native)
            if hess is not None:
                rows = [flat_floats(row) for row in hess]
                results["hessian"] = rows
                us = [u[k] for k in scalars]
                only = [u[k] if k in scalars else (np.zeros_like(a) if isinstance(a, np.ndarray)
                                                   else 0.0) for k, a in enumerate(args)]
                along = self.attempt(f"{prefix}hvp",
                                     lambda: adjit.jvp(gradient, copies(args), only), native)
                if along is not None:
                    by_arg = along[1] if isinstance(along[1], tuple) else (along[1],)
                    hu = [sum(r * v for r, v in zip(row, us)) for row in rows]
                    want = [float(by_arg[nums.index(k)]) for k in scalars]
                    k = close(hu, want, 1e-8, 1e-12 * max([1.0] + [abs(v) for v in want]))
                    self.did(f"{prefix}hessian-vs-hvp")
                    if k is not None:
                        self.add(Finding("mismatch", f"{prefix}hessian-vs-hvp",
                                         f"H u = {hu} but jvp(grad) = {want}"))
        if reference is not None:
            k = close(hvp, reference["hvp"], 1e-8, self.ad_atol())
            self.did(f"{prefix}hvp-vs-interp")
            if k is not None:
                self.add(Finding("mismatch", f"{prefix}hvp",
                                 f"native {hvp} interp {reference['hvp']}"))
            return results
        g = self.interp_gradient(nums)
        found = self.smooth_point(g, u, 1e-5)
        if found is None:
            self.outcome.notes.append("second derivatives: kink, finite differences skipped")
            return results
        point, fd, size, h = found
        moved = self.attempt(f"{prefix}hvp", lambda: adjit.jvp(gradient, copies(point), u),
                             native)
        if moved is not None:
            hvp = flat_floats(moved[1])
            slack = 1e3 * np.finfo(float).eps * size / h
            k = close(hvp, fd, FD2_RTOL, slack)
            self.did(f"{prefix}hvp-fd")
            if k is not None:
                self.add(Finding("mismatch", f"{prefix}hvp-fd",
                                 f"jvp(grad) {hvp} but differences of grad {fd} "
                                 f"(component {k}, at {inputs_text(tuple(point))})"))
        return results

    def interp_gradient(self, nums: tuple) -> Callable[..., Any]:
        return adjit.grad(self.interp, argnums=nums)


def small_program(source: str) -> bool:
    """Small enough for second-order checks: Hessians of deeply inlined call
    trees take seconds on the interpreter."""
    calls = len(re.findall(r"\bf\d+\(", source)) - len(re.findall(r"\bdef f\d+\(", source))
    return len(source) <= SMALL_SOURCE and calls <= SMALL_CALLS


def finish(outcome: Outcome) -> Outcome:
    worst = outcome.worst()
    if outcome.kind != "invalid":
        outcome.kind = worst.kind if worst else "ok"
    return outcome


def check_program(program: Program, checks: Checks = Checks(),
                  timeout: float | None = None) -> Outcome:
    """Run every check of `checks` on `program`; see the module docstring."""
    with program_file(program) as path:
        try:
            with time_limit(timeout):
                return finish(_check(program, path, checks))
        except ProgramTimeout as exc:
            return Outcome("timeout", [Finding("timeout", "program", str(exc), "timeout")])


def _check(program: Program, path: str, checks: Checks) -> Outcome:
    try:
        run = Run(program, path, checks)
    except Exception as exc:  # noqa: BLE001 - the oracle cannot even import it
        return Outcome("invalid", notes=[f"CPython cannot import it: {exc}"])
    if run.interp is None or not run.check_values():
        return run.outcome
    if any(f.check == "interp-value" and f.kind != "mismatch" for f in run.outcome.findings):
        return run.outcome
    if not run.float_positions() or not flat_floats(run.cpython(program.args)[0]):
        return run.outcome
    first = second = None
    if checks.derivatives:
        first = run.check_derivatives("", run.interp, False)
    if checks.second_order and small_program(program.source):
        second = run.check_second_order("", run.interp, False)
    elif checks.second_order:
        run.outcome.notes.append("second derivatives: program too large, skipped")
    native_ok = run.native is not None and not any(f.check == "native-value"
                                                   for f in run.outcome.findings)
    if checks.native_derivatives and native_ok and first is not None:
        run.check_derivatives("native-", run.native, True, first)
    if checks.native_second_order and native_ok and second is not None:
        run.check_second_order("native-", run.native, True, second)
    return run.outcome


def with_source(program: Program, source: str, args: tuple | None = None) -> Program:
    return replace(program, source=source, args=program.args if args is None else args,
                   exact=exact_arithmetic(source))
