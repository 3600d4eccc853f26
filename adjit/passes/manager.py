"""The pass manager: passes by name, pipelines as strings, and running them.

A pass is a small frozen dataclass whose class attribute `name` is its
command-line name and whose `run(module)` rewrites the module (in place is
allowed) and returns it. Fields are its options, written in a pipeline as
`simplify{fastmath=true}`. A pipeline is a comma-separated string of pass
names, `"inline,fold,cse,dce"`; an unknown name is a ValueError that lists
the known ones.

`run_pipeline` runs one, optionally to a fixed point (until the printed IR
stops changing, at most `max_rounds` rounds). Around every pass it can
verify the IR (`verify=True`, or `ADJIT_VERIFY=1`), print it before or after
named passes, dump it to a directory (`dump_dir`, or `ADJIT_DUMP_IR=dir`:
one numbered file per pass, `00-input.ir`, `01-inline.ir`, ...), and record
a `PassStat` (time, node counts). A pass that fails with anything but an
`AdjitError` (a user error it found) becomes an `InternalError` naming the
pass, with the IR it failed on written to a temporary file named in the
message (the failing node marked when it is known).

The bottom of this module holds the facts about effects that several passes
share: which nodes may raise, which may be deleted, and substitution of
values.
"""
from __future__ import annotations

import contextvars
import dataclasses
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence, TextIO

from adjit.errors import AdjitError, InternalError
from adjit.ir import ops
from adjit.ir.builder import constant_value
from adjit.ir.core import Module, Node, Region, Value
from adjit.ir.printer import print_module
from adjit.ir.types import ArrayType, TapeType
from adjit.ir.verify import VerifyError, verify_module


@dataclass(frozen=True)
class Pass:
    """Base class of passes: subclasses set `name` and define `run`."""

    name: ClassVar[str] = ""

    def run(self, module: Module) -> Module:
        raise TypeError(f"pass class {type(self).__name__} defines no run()")

    def __str__(self) -> str:
        options = [f"{f.name}={getattr(self, f.name)}".lower() for f in dataclasses.fields(self)
                   if getattr(self, f.name) != f.default]
        return self.name + ("{" + ",".join(options) + "}" if options else "")


PASSES: dict[str, type[Pass]] = {}
PASS_MODULES = ("dce", "cse", "fold", "simplify", "licm", "tape_elim",
                "accumulate")  # inline: below

# The default pipelines (`adjit.api` runs them around the AD steps).
PRE_AD = "inline,fold,cse,dce"
POST_AD = "simplify,fold,cse,dce,tape-elim,licm,accumulate"


def register(cls: type[Pass]) -> type[Pass]:
    """Class decorator: make a pass known to `parse_pipeline` by its name."""
    if not cls.name or cls.name in PASSES:
        raise ValueError(f"pass name {cls.name!r} is empty or registered twice")
    PASSES[cls.name] = cls
    return cls


@register
@dataclass(frozen=True)
class Inline(Pass):
    """`adjit.passes.inline.inline_calls`, then drop the functions no call
    reaches from the entry any more (the entry is kept)."""

    name: ClassVar[str] = "inline"

    def run(self, module: Module) -> Module:
        from adjit.passes.inline import inline_calls

        inline_calls(module)
        if module.entry in module.functions:
            reached, todo = {module.entry}, [module.entry]
            while todo:
                for node in module.functions[todo.pop()].walk():
                    callee = node.attrs.get("callee") if node.op is ops.call else None
                    if callee is not None and callee not in reached:
                        reached.add(callee)
                        todo.append(callee)
            for name in [n for n in module.functions if n not in reached]:
                del module.functions[name]
        return module


def registry() -> dict[str, type[Pass]]:
    """Every pass by name (importing the pass modules registers them)."""
    import importlib

    for module in PASS_MODULES:
        importlib.import_module(f"adjit.passes.{module}")
    return PASSES


PIPELINE_ITEM = re.compile(r"\s*([\w-]+)\s*(?:\{([^{}]*)\})?\s*(?:,|$)")


def parse_pipeline(text: str) -> list[Pass]:
    """`"inline,fold,simplify{fastmath=true},dce"` -> pass objects."""
    known = registry()
    passes, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = PIPELINE_ITEM.match(text, pos)
        if m is None:
            raise ValueError(f"malformed pipeline {text!r} at {text[pos:]!r}")
        name, options = m.group(1), m.group(2)
        if name not in known:
            raise ValueError(f"unknown pass {name!r}; known passes: {', '.join(sorted(known))}")
        passes.append(known[name](**_options(known[name], options or "")))
        pos = m.end()
    return passes


def _options(cls: type[Pass], text: str) -> dict[str, Any]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = (s.strip() for s in item.partition("="))
        if key not in fields:
            raise ValueError(f"pass {cls.name!r} has no option {key!r}; its options: "
                             f"{', '.join(fields) or 'none'}")
        if value.lower() in ("true", "false", ""):
            out[key] = value.lower() != "false"
        else:
            out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


@dataclass(frozen=True)
class PassStat:
    """One run of one pass: wall time and node counts (all functions)."""

    name: str
    seconds: float
    nodes_before: int
    nodes_after: int


# Passes around which every pipeline run prints the IR, besides those it is
# asked to (`adjit dump --print-before/--print-after` set it: the pipelines
# run deep inside the transformations).
PRINT_AROUND: contextvars.ContextVar[tuple[frozenset[str], frozenset[str]]] = \
    contextvars.ContextVar("print_around", default=(frozenset(), frozenset()))


def count_nodes(module: Module) -> int:
    return sum(1 for fn in module.functions.values() for _ in fn.walk())


def run_pipeline(module: Module, pipeline: str | Sequence[Pass], *, verify: bool = False,
                 print_before: Iterable[str] = (), print_after: Iterable[str] = (),
                 dump_dir: str | os.PathLike | None = None, stats: list[PassStat] | None = None,
                 to_fixed_point: bool = False, max_rounds: int = 8,
                 stream: TextIO | None = None) -> Module:
    """Run `pipeline` on `module`; returns the resulting module.

    print_before / print_after: pass names (or "all") whose input / output
    IR is printed to `stream` (stderr). to_fixed_point: repeat the whole
    pipeline until the printed IR no longer changes, at most `max_rounds`
    times.
    """
    passes = parse_pipeline(pipeline) if isinstance(pipeline, str) else list(pipeline)
    always_before, always_after = PRINT_AROUND.get()
    runner = _Runner(verify or os.environ.get("ADJIT_VERIFY") == "1",
                     set(print_before) | always_before, set(print_after) | always_after, dump_dir or os.environ.get("ADJIT_DUMP_IR") or None,
                     stats, stream or sys.stderr)
    if runner.verify:
        runner.check(module, "the pipeline's input")
    runner.dump(module, "input")
    last = print_module(module, show_locations=False) if to_fixed_point else ""
    for _ in range(max_rounds if to_fixed_point else 1):
        for p in passes:
            module = runner.run(p, module)
        if to_fixed_point:
            now = print_module(module, show_locations=False)
            if now == last:
                break
            last = now
    return module


class _Runner:
    """Runs single passes with the instrumentation `run_pipeline` asked for."""

    def __init__(self, verify: bool, before: set[str], after: set[str],
                 dump_dir: str | os.PathLike | None, stats: list[PassStat] | None,
                 stream: TextIO):
        self.verify, self.before, self.after = verify, before, after
        self.dump_dir, self.stats, self.stream = dump_dir, stats, stream
        self.dumped = 0
        if dump_dir is not None:
            os.makedirs(dump_dir, exist_ok=True)
            self.dumped = sum(1 for f in os.listdir(dump_dir) if re.match(r"\d+-.*\.ir$", f))

    def run(self, p: Pass, module: Module) -> Module:
        if p.name in self.before or "all" in self.before:
            self.show(module, f"before {p}")
        before = count_nodes(module) if self.stats is not None else 0
        start = time.perf_counter()
        try:
            module = p.run(module)
        except AdjitError:
            raise
        except Exception as exc:  # a bug in the pass: name it, keep the IR
            raise self.failure(module, f"pass {p}", exc, getattr(exc, "node", None)) from exc
        seconds = time.perf_counter() - start
        if self.stats is not None:
            self.stats.append(PassStat(str(p), seconds, before, count_nodes(module)))
        if self.verify:
            self.check(module, f"pass {p}")
        if p.name in self.after or "all" in self.after:
            self.show(module, f"after {p}")
        self.dump(module, p.name)
        return module

    def check(self, module: Module, what: str) -> None:
        try:
            verify_module(module)
        except VerifyError as exc:
            raise self.failure(module, what, exc, exc.node, verifying=True) from exc

    def failure(self, module: Module, what: str, exc: Exception, node: Node | None,
                verifying: bool = False) -> InternalError:
        try:
            text = print_module(module, marked=node)
        except Exception as printing:  # the IR may be half rewritten
            text = f"// the IR could not be printed: {printing!r}\n"
        fd, path = tempfile.mkstemp(prefix="adjit-failed-", suffix=".ir")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        problem = "invalid IR" if verifying else f"{type(exc).__name__}"
        return InternalError(f"{problem}: {exc} (the IR is in {path})", stage=what,
                             source=module.source, span=node.span if node else None)

    def show(self, module: Module, title: str) -> None:
        self.stream.write(f"// ----- IR {title} -----\n{print_module(module)}")

    def dump(self, module: Module, label: str) -> None:
        if self.dump_dir is None:
            return
        path = os.path.join(self.dump_dir, f"{self.dumped:02d}-{label}.ir")
        with open(path, "w") as f:
            f.write(print_module(module))
        self.dumped += 1


# --- facts the passes share ----------------------------------------------------

def _nonnegative(v: Value) -> bool:
    c = constant_value(v)
    owner = v.owner
    return (c is not None and c >= 0) or (isinstance(owner, Node) and owner.op is ops.array_dim)


def _nonzero_constant(v: Value) -> bool:
    c = constant_value(v)
    return c is not None and c != 0


# An op that may raise cannot on these operands (one entry per op, not an
# if-ladder): allocations of dimensions read from arrays or constants >= 0,
# division by a nonzero constant, ranges with a nonzero constant step.
CANNOT_RAISE = {
    ops.array_new: lambda node: all(map(_nonnegative, node.operands)),
    ops.div: lambda node: _nonzero_constant(node.operands[1]),
    ops.floordiv: lambda node: _nonzero_constant(node.operands[1]),
    ops.mod: lambda node: _nonzero_constant(node.operands[1]),
    ops.for_: lambda node: _nonzero_constant(node.operands[2]),
}


def may_raise(node: Node) -> bool:
    """Whether the node itself (not its regions) can raise at run time."""
    if not node.op.may_raise:
        return False
    proof = CANNOT_RAISE.get(node.op)
    return proof is None or not proof(node)


def has_effects(node: Node, memo: dict[Node, bool] | None = None,
                proven: set[Node] | frozenset = frozenset()) -> bool:
    """Whether deleting the node (its results unused) could change what the
    program does: it may raise (and is not in `proven`, the nodes an
    analysis showed cannot), is impure, or holds such a node.

    A `tape_push` has none: the MemoryError at the tape limit is a resource
    limit, not the program's behaviour, and a record never popped is never
    observed. Nor has a node reverse mode marked `checked_before`: it repeats,
    on the same values, a computation the forward sweep already ran (or uses
    indices it already checked). Whether a loop terminates is not an effect (an unused loop
    with no effect inside may be deleted, as C++ compilers assume progress).
    """
    if memo is not None and node in memo:
        return memo[node]
    if node.op is ops.tape_push or node.attrs.get("checked_before"):
        out = False  # a recomputation of what already ran cannot raise anew
    else:
        out = (not node.op.pure or (may_raise(node) and node not in proven)
               or any(has_effects(inner, memo, proven) for r in node.regions for inner in r.nodes))
    if memo is not None:
        memo[node] = out
    return out


def is_tape_node(node: Node) -> bool:
    """Tape values are used exactly once and updated in place: never merge,
    move or duplicate the nodes that make or consume them."""
    return any(isinstance(v.type, TapeType) for v in (*node.operands, *node.results))


def allocates(node: Node) -> bool:
    """A fresh array: merging or hoisting it would make a later in-place
    write copy (the backend writes in place only into dead arrays)."""
    return node.op is ops.array_new and isinstance(node.results[0].type, ArrayType)


def resolve(subst: dict[Value, Value], v: Value) -> Value:
    """`v` after the replacements recorded in `subst` (followed to the end)."""
    while v in subst:
        v = subst[v]
    return v


def substitute(region: Region, subst: dict[Value, Value]) -> None:
    """Apply `subst` to every use in `region` and its nested regions."""
    if not subst:
        return
    for node in region.nodes:
        node.operands = [resolve(subst, v) for v in node.operands]
        for inner in node.regions:
            substitute(inner, subst)
    region.yields = [resolve(subst, v) for v in region.yields]
