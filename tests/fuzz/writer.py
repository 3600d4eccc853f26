"""Writing one random function of the subset: statements, expressions, bounds.

`FunctionWriter` emits the lines of one function for `generate.ProgramGenerator`
and keeps the invariants stated in generate.py: names are block-scoped (a
name assigned inside an `if` or a loop is not read after it), float
variables stay floats, and every variable and array has a magnitude bound.
A subexpression whose bound exceeds `CAP` is squashed through `math.tanh`;
inside a loop, a variable assigned before the loop is only updated by forms
that stay bounded whatever the trip count, after its bound was widened once
for all iterations (`enter_loop`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    from tests.fuzz.generate import ProgramGenerator

CAP = 1e4  # larger subexpressions are squashed through math.tanh
HELPER_BOUND = 4.0  # float arguments passed to a helper are squashed below this
HELPER_ARRAY_BOUND = 50.0  # what a helper assumes about its array argument
FLOAT_CONSTS = ("0.5", "1.0", "2.0", "0.25", "1.5", "3.0", "0.1", "0.75")


@dataclass
class Signature:
    name: str
    params: list[str]  # names; "n" is the int, "x" the array, others floats
    returns: int  # 1 or 2 values
    bound: float = 1.0  # of each returned value, assuming helper-bounded arguments
    array_bound: float = HELPER_ARRAY_BOUND  # of the array argument after the call


@dataclass
class Var:
    name: str
    bound: float
    loop_depth: int  # the loop nesting where it was first assigned


@dataclass
class Block:
    floats: dict[str, Var] = field(default_factory=dict)
    ints: list[str] = field(default_factory=list)


def fmt_bound(b: float) -> float:
    return b if math.isfinite(b) else math.inf


class FunctionWriter:
    """Writes one function; tracks what is defined where and how large it may be."""

    MAX_STATEMENTS = 12

    def __init__(self, gen: "ProgramGenerator", sig: Signature, helpers: list[Signature],
                 param_bound: float, array_bound: float):
        self.gen = gen
        self.ch = gen.ch
        self.sig = sig
        self.helpers = helpers
        self.lines: list[str] = []
        self.blocks: list[Block] = [Block()]
        self.arrays: dict[str, float] = {}
        self.matrices: set[str] = set()  # the 2-D ones among `arrays`
        self.loops: list[int] = []  # trip bounds of the enclosing loops
        self.fresh = 0
        self.budget = self.MAX_STATEMENTS
        for p in sig.params:
            if p == "n":
                self.blocks[0].ints.append("n")
            elif p == "x":
                self.arrays["x"] = array_bound
            elif p == "m":  # the entry's 2-D argument (helpers take none)
                self.arrays["m"] = array_bound
                self.matrices.add("m")
            else:
                self.blocks[0].floats[p] = Var(p, param_bound, 0)

    # -- scopes --

    def floats(self) -> list[Var]:
        out: dict[str, Var] = {}
        for block in self.blocks:
            out.update(block.floats)
        return list(out.values())

    def ints(self) -> list[str]:
        return [name for block in self.blocks for name in block.ints]

    def lookup(self, name: str) -> Var:
        for block in reversed(self.blocks):
            if name in block.floats:
                return block.floats[name]
        raise KeyError(name)

    def new_name(self, prefix: str) -> str:
        self.fresh += 1
        return f"{prefix}{self.fresh}"

    def define(self, name: str, bound: float) -> None:
        self.blocks[-1].floats[name] = Var(name, bound, len(self.loops))

    def set_bound(self, name: str, bound: float) -> None:
        self.lookup(name).bound = fmt_bound(bound)

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def trips(self) -> int:
        return math.prod(self.loops) if self.loops else 1

    def carried(self, var: Var) -> bool:
        """Assigned before the innermost loop: updates must keep it bounded."""
        return var.loop_depth < len(self.loops)

    # -- expressions --

    def libm(self) -> None:
        self.gen.exact = False

    def squash(self, text: str, bound: float) -> tuple[str, float]:
        if bound <= CAP:
            return text, bound
        self.libm()
        return f"math.tanh({text})", 1.0

    def vectors(self) -> list[str]:
        """The 1-D arrays (helpers take those)."""
        return [a for a in self.arrays if a not in self.matrices]

    def index(self, arr: str) -> str:
        if arr in self.matrices:
            return f"{self.axis_index(f'{arr}.shape[0]')}, {self.axis_index(f'{arr}.shape[1]')}"
        return self.axis_index(f"len({arr})")

    def axis_index(self, length: str) -> str:
        ints = self.ints()
        options: list[tuple[str, int]] = [("0", 2), ("-1", 1), (f"{length} - 1", 1)]
        if ints:
            iv = self.ch.pick(ints)
            options += [(f"{iv} % {length}", 6), (f"({iv} + 1) % {length}", 2),
                        (f"{iv} % {length} - {length}", 1)]
        return self.ch.weighted(options)

    def leaf(self) -> tuple[str, float]:
        floats, ints, arrays = self.floats(), self.ints(), list(self.arrays)
        calls = [h for h in self.helpers
                 if h.returns == 1 and ("x" not in h.params or self.vectors())]
        kind = self.ch.weighted([("var", 8 if floats else 0), ("const", 2),
                                 ("read", 3 if arrays else 0), ("int", 1 if ints else 0),
                                 ("call", 2 if calls and self.gen.depth_calls < 2 else 0)])
        if kind == "var":
            v = self.ch.pick(floats)
            return v.name, v.bound
        if kind == "const":
            c = self.ch.pick(FLOAT_CONSTS)
            return c, float(c)
        if kind == "read":
            arr = self.ch.pick(arrays)
            return f"{arr}[{self.index(arr)}]", self.arrays[arr]
        if kind == "int":
            iv = self.ch.pick(ints)
            return self.ch.pick([f"float({iv})", f"({iv} * 0.5)"]), 8.0
        return self.call_text(self.ch.pick(calls), leaf_args=True)

    UNARY: tuple[tuple[str, Callable[[float], float], bool], ...] = (
        ("(-{0})", lambda b: b, False),
        ("abs({0})", lambda b: b, False),
        ("math.sin({0})", lambda b: 1.0, True),
        ("math.cos({0})", lambda b: 1.0, True),
        ("math.tanh({0})", lambda b: 1.0, True),
        ("math.atan({0})", lambda b: 1.6, True),
        ("math.exp(math.tanh({0}))", lambda b: 2.72, True),
        ("math.exp(-{0} * {0})", lambda b: 1.0, True),
        ("math.log(1.0 + {0} * {0})", lambda b: math.log1p(b * b), True),
        ("math.sqrt(1.0 + {0} * {0})", lambda b: math.sqrt(1.0 + b * b), True),
        ("({0} ** 2)", lambda b: b * b, True),
        ("({0} ** 3)", lambda b: b ** 3, True),
        ("np.tanh({0})", lambda b: 1.0, True),
        ("np.sin({0})", lambda b: 1.0, True),
        ("np.arctan({0})", lambda b: 1.6, True),
        ("np.log1p({0} * {0})", lambda b: math.log1p(b * b), True),
    )

    BINARY: tuple[tuple[str, Callable[[float, float], float], bool], ...] = (
        ("({0} + {1})", lambda p, q: p + q, False),
        ("({0} - {1})", lambda p, q: p + q, False),
        ("({0} * {1})", lambda p, q: p * q, False),
        ("({0} / (1.0 + {1} * {1}))", lambda p, q: p, False),
        ("min({0}, {1})", max, False),
        ("max({0}, {1})", max, False),
        ("({0} / (2.0 + math.cos({1})))", lambda p, q: p, True),
        ("math.atan2({0}, 1.0 + {1} * {1})", lambda p, q: 1.6, True),
        ("({0} or {1})", max, False),
    )

    def expr(self, depth: int) -> tuple[str, float]:
        if depth <= 0:
            return self.leaf()
        kind = self.ch.weighted([("leaf", 3), ("unary", 3), ("binary", 5), ("cond", 1)])
        if kind == "leaf":
            return self.leaf()
        if kind == "unary":
            template, rule, inexact = self.ch.pick(self.UNARY)
            # an operand written twice in the template stays small
            text, b = self.expr(min(depth - 1, 1) if template.count("{0}") > 1 else depth - 1)
            if inexact:
                self.libm()
            return self.squash(template.format(text), rule(b))
        if kind == "binary":
            template, rule, inexact = self.ch.pick(self.BINARY)
            left, bl = self.expr(depth - 1)
            right, br = self.expr(min(depth - 1, 1) if template.count("{1}") > 1 else depth - 1)
            if inexact:
                self.libm()
            return self.squash(template.format(left, right), rule(bl, br))
        test = self.cond(1)
        left, bl = self.expr(depth - 1)
        right, br = self.expr(depth - 1)
        return f"({left} if {test} else {right})", max(bl, br)

    def cond(self, depth: int) -> str:
        ints = self.ints()
        kind = self.ch.weighted([("cmp", 6), ("int", 2 if ints else 0), ("chain", 1),
                                 ("and", 1 if depth > 0 else 0), ("or", 1 if depth > 0 else 0),
                                 ("not", 1 if depth > 0 else 0)])
        if kind == "cmp":
            op = self.ch.pick(("<", ">", "<=", ">="))
            left, _ = self.expr(1)
            right, _ = self.expr(self.ch.integer(0, 1))
            return f"{left} {op} {right}"
        if kind == "int":
            iv = self.ch.pick(ints)
            return self.ch.pick([f"{iv} % 2 == 0", f"{iv} > 1", f"{iv} != 2", f"{iv} < 3"])
        if kind == "chain":
            a, _ = self.leaf()
            b, _ = self.leaf()
            c, _ = self.leaf()
            return f"{a} < {b} < {c}"
        if kind == "not":
            return f"not ({self.cond(depth - 1)})"
        return f"({self.cond(depth - 1)}) {kind} ({self.cond(depth - 1)})"

    def bounded_arg(self) -> str:
        text, b = self.expr(self.ch.integer(0, 1))
        if b > HELPER_BOUND:
            self.libm()
            text = f"math.tanh({text})"
        return text

    def int_arg(self) -> str:
        options = ["2", "0", "3"] + self.ints()
        if "x" in self.arrays:
            options.append("len(x)")
        return self.ch.pick(options)

    def call_text(self, sig: Signature, leaf_args: bool = False) -> tuple[str, float]:
        args = []
        self.gen.depth_calls += 1
        for p in sig.params:
            if p == "n":
                args.append(self.int_arg())
            elif p == "x":
                arr = self.ch.pick(self.vectors())
                args.append(arr)
                self.arrays[arr] = max(self.arrays[arr], sig.array_bound)
            elif leaf_args:
                text, b = self.leaf()
                if b > HELPER_BOUND:
                    self.libm()
                    text = f"math.tanh({text})"
                args.append(text)
            else:
                args.append(self.bounded_arg())
        self.gen.depth_calls -= 1
        return f"{sig.name}({', '.join(args)})", sig.bound

    # -- statements --

    def block(self, indent: int, count: int) -> None:
        for _ in range(count):
            self.statement(indent)

    def statement(self, indent: int) -> None:
        self.budget -= 1
        in_loop = bool(self.loops)
        roomy = self.budget > 0
        floats = self.floats()
        usable = [h for h in self.helpers if "x" not in h.params or self.vectors()]
        kind = self.ch.weighted([
            ("assign", 4), ("update", 4 if floats else 0), ("aug", 3 if floats else 0),
            ("if", 2 if roomy and len(self.blocks) < 4 else 0),
            ("for", 2 if roomy and len(self.loops) < 2 else 0),
            ("while", 1 if roomy and len(self.loops) < 2 else 0),
            ("write", 2 if self.arrays else 0), ("call", 3 if usable else 0),
            ("swap", 1 if len(floats) >= 2 else 0), ("jump", 2 if in_loop else 0),
            ("return", 1 if len(self.blocks) > 1 else 0), ("chain", 1),
        ])
        getattr(self, f"stmt_{kind}")(indent)

    def stmt_assign(self, indent: int) -> None:
        text, b = self.expr(self.ch.integer(1, 3))
        name = self.new_name("t")
        self.emit(indent, f"{name} = {text}")
        self.define(name, b)

    def stmt_chain(self, indent: int) -> None:
        text, b = self.expr(self.ch.integer(0, 2))
        first, second = self.new_name("t"), self.new_name("t")
        self.emit(indent, f"{first} = {second} = {text}")
        self.define(first, b)
        self.define(second, b)

    def bounded_update(self, target: str, bound: float) -> tuple[str, float]:
        """An update of a carried variable (or array element) that keeps it
        bounded whatever the number of iterations; returns (statement, bound)."""
        e, _ = self.expr(self.ch.integer(0, 2))
        forms = [
            (f"{target} /= (1.0 + {e} * {e})", bound, False),
            (f"{target} += 0.5 * {e} / (1.0 + {e} * {e})", bound + 0.25 * self.trips(), False),
            (f"{target} = math.tanh({e})", max(bound, 1.0), True),
            (f"{target} += 0.5 * math.sin({e})", bound + 0.5 * self.trips(), True),
            (f"{target} -= 0.25 * math.cos({e})", bound + 0.25 * self.trips(), True),
            (f"{target} *= math.tanh({e})", bound, True),
            (f"{target} = 0.5 * {target} + 0.5 * math.atan({e})", max(bound, 1.6), True),
        ]
        text, b, inexact = self.ch.pick(forms)
        if inexact:
            self.libm()
        return text, b

    def stmt_update(self, indent: int) -> None:
        var = self.ch.pick(self.floats())
        if self.carried(var):
            text, b = self.bounded_update(var.name, var.bound)
        else:
            text, b = self.expr(self.ch.integer(1, 3))
            text = f"{var.name} = {text}"
        self.emit(indent, text)
        self.set_bound(var.name, b)

    def stmt_aug(self, indent: int) -> None:
        var = self.ch.pick(self.floats())
        if self.carried(var):
            text, b = self.bounded_update(var.name, var.bound)
            self.emit(indent, text)
            self.set_bound(var.name, b)
            return
        e, be = self.expr(self.ch.integer(0, 2))
        op = self.ch.pick(("+=", "-=", "*=", "/="))
        if op == "/=":
            text, b = f"{var.name} /= (1.0 + {e} * {e})", var.bound
        elif op == "*=":
            if var.bound * be > CAP:
                self.libm()
                e, be = f"math.tanh({e})", 1.0
            text, b = f"{var.name} *= {e}", var.bound * be
        else:
            text, b = f"{var.name} {op} {e}", var.bound + be
        self.emit(indent, text)
        self.set_bound(var.name, b)

    def stmt_swap(self, indent: int) -> None:
        first, second = self.ch.pick(self.floats()), self.ch.pick(self.floats())
        if first.name == second.name:
            return self.stmt_assign(indent)
        self.emit(indent, f"{first.name}, {second.name} = {second.name}, {first.name}")
        b = max(first.bound, second.bound)
        self.set_bound(first.name, b)
        self.set_bound(second.name, b)

    def stmt_write(self, indent: int) -> None:
        arr = self.ch.pick(list(self.arrays))
        target = f"{arr}[{self.index(arr)}]"
        if self.loops:
            text, b = self.bounded_update(target, self.arrays[arr])
        else:
            e, be = self.expr(self.ch.integer(0, 2))
            op = self.ch.pick(("=", "+=", "-="))
            text, b = f"{target} {op} {e}", (be if op == "=" else self.arrays[arr] + be)
        self.emit(indent, text)
        self.arrays[arr] = max(self.arrays[arr], fmt_bound(b))

    def stmt_call(self, indent: int) -> None:
        sig = self.ch.pick([h for h in self.helpers if "x" not in h.params or self.vectors()])
        text, b = self.call_text(sig)
        if sig.returns == 2:
            first, second = self.new_name("t"), self.new_name("t")
            self.emit(indent, f"{first}, {second} = {text}")
            self.define(first, b)
            self.define(second, b)
        elif "x" in sig.params and self.ch.flag(0.3):
            self.emit(indent, text)  # called for the writes it makes to the array
        else:
            name = self.new_name("t")
            self.emit(indent, f"{name} = {text}")
            self.define(name, b)

    def stmt_jump(self, indent: int) -> None:
        self.emit(indent, f"if {self.cond(1)}:")
        if self.ch.flag(0.3):
            self.blocks.append(Block())
            self.stmt_assign(indent + 1)
            self.blocks.pop()
        self.emit(indent + 1, self.ch.pick(("break", "continue")))

    def stmt_return(self, indent: int) -> None:
        self.emit(indent, f"if {self.cond(1)}:")
        self.emit(indent + 1, f"return {self.result_text()}")

    def body(self, indent: int, count: int, ints: Sequence[str] = ()) -> None:
        self.blocks.append(Block(ints=list(ints)))
        self.block(indent, count)
        self.blocks.pop()

    def stmt_if(self, indent: int) -> None:
        self.emit(indent, f"if {self.cond(1)}:")
        self.body(indent + 1, self.ch.integer(1, 2))
        while self.ch.flag(0.25):
            self.emit(indent, f"elif {self.cond(1)}:")
            self.body(indent + 1, 1)
        if self.ch.flag(0.5):
            self.emit(indent, "else:")
            self.body(indent + 1, self.ch.integer(1, 2))

    def enter_loop(self, trips: int) -> None:
        """Loop-carried values may grow by bounded updates on every iteration:
        widen every bound once, for all iterations, before the body."""
        self.loops.append(trips)
        widen = 0.5 * self.trips() * 4
        for block in self.blocks:
            for var in block.floats.values():
                var.bound = max(var.bound, 1.6) + widen
        for arr in self.arrays:
            self.arrays[arr] = max(self.arrays[arr], 1.6) + widen

    def range_text(self) -> tuple[str, int]:
        ints = self.ints()
        options: list[tuple[tuple[str, int], int]] = [(("range(3)", 3), 2), (("range(2, 5)", 3), 1)]
        if "n" in ints:
            options += [(("range(n)", 7), 4), (("range(1, n)", 6), 1),
                        (("range(n - 1, -1, -1)", 7), 1), (("range(0, n, 2)", 4), 1),
                        (("range(min(n, 3))", 3), 1)]
        if "x" in self.arrays:
            options += [(("range(len(x))", 5), 3), (("range(len(x) - 1, -1, -1)", 5), 1)]
        outer = [i for i in ints if i.startswith("i")]
        if outer:
            iv = self.ch.pick(outer)
            options += [((f"range({iv})", 7), 1), ((f"range({iv} + 1)", 8), 1)]
        return self.ch.weighted(options)

    def stmt_for(self, indent: int) -> None:
        text, trips = self.range_text()
        var = self.new_name("i")
        self.emit(indent, f"for {var} in {text}:")
        self.enter_loop(trips)
        self.body(indent + 1, self.ch.integer(1, 3), ints=[var])
        self.loops.pop()

    def stmt_while(self, indent: int) -> None:
        counter = self.new_name("k")
        options = [("4", 4), ("3", 3)]
        if "n" in self.ints():
            options.append(("n", 7))
        if "x" in self.arrays:
            options.append(("len(x)", 5))
        bound, trips = self.ch.pick(options)
        self.emit(indent, f"{counter} = 0")
        self.blocks[-1].ints.append(counter)
        test = f"{counter} < {bound}"
        if self.ch.flag(0.7):
            test += f" and {self.cond(0)}"
        self.emit(indent, f"while {test}:")
        self.enter_loop(trips)
        self.emit(indent + 1, f"{counter} += 1")
        self.body(indent + 1, self.ch.integer(1, 3))
        self.loops.pop()

    # -- the function --

    def result_text(self) -> str:
        texts = [self.sum_text() for _ in range(self.sig.returns)]
        return ", ".join(texts)

    def sum_text(self) -> str:
        """A sum of several variables (and an array element), so the result
        depends on most of what the function computed."""
        floats = self.floats()
        locals_ = [v for v in floats if v.name not in self.sig.params]
        pool = locals_ or floats
        count = self.ch.integer(1, min(4, len(pool))) if pool else 0
        terms = []
        for _ in range(count):
            v = self.ch.pick(pool)
            if v.name not in terms:
                terms.append(v.name)
        for arr in self.arrays:
            if self.ch.flag(0.5):
                terms.append(f"{arr}[{self.index(arr)}]")
        if not terms:
            terms.append(self.leaf()[0])
        return " + ".join(terms)

    def result_bound(self) -> float:
        bounds = [v.bound for v in self.floats()] + list(self.arrays.values())
        return max(1.0, sum(bounds))

    def write(self) -> list[str]:
        self.emit(0, f"def {self.sig.name}({', '.join(self.sig.params)}):")
        if "x" in self.arrays and self.ch.flag(0.5):
            size = self.ch.pick(["len(x)", "3"] + (["n + 1"] if "n" in self.ints() else []))
            self.emit(1, f"y = np.zeros({size})")
            self.arrays["y"] = 0.0
        if self.ch.flag(0.3):
            rows = self.ch.pick(["2", "3"] + (["len(x)"] if "x" in self.arrays else []))
            cols = self.ch.pick(["2", "3"] + (["n + 1"] if "n" in self.ints() else []))
            self.emit(1, f"z = np.zeros(({rows}, {cols}))")
            self.arrays["z"] = 0.0
            self.matrices.add("z")
        self.stmt_assign(1)
        self.block(1, self.ch.integer(0, 4))
        self.emit(1, f"return {self.result_text()}")
        self.sig.bound = min(self.result_bound(), CAP)
        if "x" in self.arrays:
            self.sig.array_bound = self.arrays["x"]
        return self.lines
