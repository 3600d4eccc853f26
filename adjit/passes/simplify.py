"""Algebraic simplification: rewrite rules as a pattern table.

Every rule in `RULES` is IEEE-exact (bit-for-bit the same result for every
input, NaN, infinities and signed zeros included, and no exception removed
that could have happened), unless it is marked `fastmath`: those hold only
without NaN, infinities and signed zeros, and run only with
`simplify{fastmath=true}`. Rules whose root op may raise (`div`, `pow`)
match only operands where it cannot, so the root can go.

Choices worth knowing (see `docs/passes.md` for the whole table):

- `x + 0.0 -> x` is not exact (-0.0 + 0.0 is +0.0): fastmath only. Its
  exact forms are `x + (-0.0) -> x` and `x - 0.0 -> x`.
- `x * 0.0 -> 0.0` and `x - x -> 0.0` fail for NaN, infinities and signs:
  fastmath only (for i64 they are exact and always on).
- `x ** 2.0 -> x * x` is not done for `pow` (Python's `**` raises
  OverflowError where `x * x` gives inf) but is for `fpow`, the IEEE power
  the derivative rules emit (C's pow is correctly rounded for squares).
- `x ** 0.5 -> sqrt(x)` is never done: pow(-0.0, 0.5) is +0.0 and
  pow(-inf, 0.5) is +inf where sqrt gives -0.0 and NaN.
- Division by a power of two whose reciprocal is exact is multiplication
  by that reciprocal (both round the same real number once).

Besides the table, two structural rules:

- `if` forwarding: a result that both branches yield as the same value
  defined outside the `if` is that value.
- loop pass-through: a carried value that the body yields unchanged is its
  initial value, in the loop and after it (DCE then drops the slot).

Constant operands are the job of `fold`; dead nodes left behind are the job
of `dce`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Union

from adjit.ir import ops
from adjit.ir.builder import Builder, constant_value
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.ops.base import Op
from adjit.ir.types import F64
from adjit.passes.cse import literal_key
from adjit.passes.manager import Pass, register, resolve


# --- the pattern language -------------------------------------------------------

@dataclass(frozen=True)
class Var:
    """Any value; the same name twice must be the same value."""

    name: str


@dataclass(frozen=True)
class Lit:
    """In a pattern: a constant equal (type and bits) to one of `values`.
    In a result: a constant of the root's result type with `values[0]`."""

    values: tuple
    keys: frozenset = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(map(literal_key, self.values)))


@dataclass(frozen=True)
class Apply:
    """A value computed by `op` from operands matching `args` (both orders
    for commutative ops); `bind` names the value itself."""

    op: Op
    args: tuple
    bind: str = ""


Term = Union[Var, Lit, Apply]
Match = dict


def P(op: Op, *args: Term, bind: str = "") -> Apply:
    return Apply(op, args, bind)


def K(*values: Any) -> Lit:
    return Lit(values)


x, y, c = Var("x"), Var("y"), Var("c")


def match(term: Term, value: Value, env: Match) -> Match | None:
    """The bindings under which `value` matches `term` (extending `env`)."""
    if isinstance(term, Var):
        if term.name in env:
            return env if env[term.name] is value else None
        return {**env, term.name: value}
    if isinstance(term, Lit):
        literal = constant_value(value)
        return env if literal is not None and literal_key(literal) in term.keys else None
    node = value.owner
    if not isinstance(node, Node) or node.op is not term.op \
            or len(node.operands) != len(term.args):
        return None
    if term.bind:
        env = {**env, term.bind: value}
    orders = [node.operands]
    if node.op.commutative and len(node.operands) == 2:
        orders.append(node.operands[::-1])
    for operands in orders:
        out: Match | None = env
        for arg, operand in zip(term.args, operands):
            out = match(arg, operand, out)
            if out is None:
                break
        if out is not None:
            return out
    return None


def build(term: Term | Callable, env: Match, b: Builder, root: Node) -> Value:
    if callable(term):
        return term(env, b)
    if isinstance(term, Var):
        return env[term.name]
    if isinstance(term, Lit):
        return b.const(term.values[0], root.results[0].type)
    return b.apply(term.op, *(build(a, env, b, root) for a in term.args))


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: Apply
    result: Any  # a Term, or f(env, builder) -> Value
    when: Callable[[Match], bool] | None = None
    fastmath: bool = False


def _not_float(name: str) -> Callable[[Match], bool]:
    return lambda env: env[name].type != F64


def _exact_reciprocal(env: Match) -> bool:
    d = constant_value(env["c"])
    if not isinstance(d, float) or d == 0.0 or not math.isfinite(d):
        return False
    return math.frexp(d)[0] in (0.5, -0.5) and 1.0 / d != 0.0 and (1.0 / d) * d == 1.0


def _times_reciprocal(env: Match, b: Builder) -> Value:
    return b.apply(ops.mul, env["x"], b.const(1.0 / constant_value(env["c"])))


f = ops.MATH_FUNCTIONS
ONE, ZERO, MINUS_ONE = K(1.0, 1), K(0.0, 0), K(-1.0, -1)

RULES: list[Rule] = [
    # identities
    Rule("mul-one", P(ops.mul, x, ONE), x),
    Rule("div-one", P(ops.div, x, K(1.0)), x),
    Rule("fdiv-one", P(ops.fdiv, x, K(1.0)), x),
    Rule("add-minus-zero", P(ops.add, x, K(-0.0, 0)), x),
    Rule("add-zero", P(ops.add, x, K(0.0)), x, fastmath=True),
    Rule("sub-zero", P(ops.sub, x, ZERO), x),
    Rule("pow-one", P(ops.pow_, x, ONE), x),
    Rule("fpow-one", P(f["fpow"], x, K(1.0)), x),
    Rule("select-same", P(ops.select, c, x, x), x),
    Rule("min-same", P(ops.min_, x, x), x),
    Rule("max-same", P(ops.max_, x, x), x),
    Rule("fmin-same", P(f["fmin"], x, x), x),
    Rule("fmax-same", P(f["fmax"], x, x), x),
    Rule("select-true-false", P(ops.select, c, K(True), K(False)), c),
    # negation
    Rule("neg-neg", P(ops.neg, P(ops.neg, x)), x),
    Rule("not-not", P(ops.not_, P(ops.not_, c)), c),
    Rule("mul-minus-one", P(ops.mul, x, MINUS_ONE), P(ops.neg, x)),
    Rule("minus-zero-sub", P(ops.sub, K(-0.0, 0), x), P(ops.neg, x)),
    Rule("add-neg", P(ops.add, x, P(ops.neg, y)), P(ops.sub, x, y)),
    Rule("sub-neg", P(ops.sub, x, P(ops.neg, y)), P(ops.add, x, y)),
    Rule("neg-mul-neg", P(ops.mul, P(ops.neg, x), P(ops.neg, y)), P(ops.mul, x, y)),
    Rule("abs-abs", P(ops.abs_, P(ops.abs_, x, bind="a")), Var("a")),
    Rule("abs-neg", P(ops.abs_, P(ops.neg, x)), P(ops.abs_, x)),
    Rule("fabs-fabs", P(f["fabs"], P(f["fabs"], x, bind="a")), Var("a")),
    Rule("fabs-neg", P(f["fabs"], P(ops.neg, x)), P(f["fabs"], x)),
    Rule("select-not", P(ops.select, P(ops.not_, c), x, y), P(ops.select, c, y, x)),
    Rule("select-false-true", P(ops.select, c, K(False), K(True)), P(ops.not_, c)),
    # powers and division (strength reduction)
    Rule("pow-zero", P(ops.pow_, x, K(0.0, -0.0, 0)), K(1)),
    Rule("fpow-zero", P(f["fpow"], x, K(0.0, -0.0)), K(1.0)),
    Rule("int-square", P(ops.pow_, x, K(2)), P(ops.mul, x, x)),
    Rule("fpow-square", P(f["fpow"], x, K(2.0)), P(ops.mul, x, x)),
    Rule("div-power-of-two", P(ops.div, x, c), _times_reciprocal, when=_exact_reciprocal),
    Rule("fdiv-power-of-two", P(ops.fdiv, x, c), _times_reciprocal, when=_exact_reciprocal),
    # comparisons of a value with itself
    Rule("self-lt", P(ops.lt, x, x), K(False)),
    Rule("self-gt", P(ops.gt, x, x), K(False)),
    Rule("int-self-eq", P(ops.eq, x, x), K(True), when=_not_float("x")),
    Rule("int-self-le", P(ops.le, x, x), K(True), when=_not_float("x")),
    Rule("int-self-ge", P(ops.ge, x, x), K(True), when=_not_float("x")),
    Rule("int-self-ne", P(ops.ne, x, x), K(False), when=_not_float("x")),
    # integers have no NaN, infinity or signed zero
    Rule("int-self-sub", P(ops.sub, x, x), K(0), when=_not_float("x")),
    Rule("int-mul-zero", P(ops.mul, x, K(0)), K(0)),
    Rule("int-floordiv-one", P(ops.floordiv, x, K(1)), x),
    Rule("int-mod-one", P(ops.mod, x, K(1)), K(0)),
    # fastmath: true only without NaN, infinities and signed zeros
    Rule("mul-zero", P(ops.mul, x, K(0.0, -0.0)), K(0.0), fastmath=True),
    Rule("self-sub", P(ops.sub, x, x), K(0.0), fastmath=True),
    Rule("zero-sub", P(ops.sub, K(0.0), x), P(ops.neg, x), fastmath=True),
    Rule("zero-fdiv", P(ops.fdiv, K(0.0, -0.0), x), K(0.0), fastmath=True),
    Rule("self-eq", P(ops.eq, x, x), K(True), fastmath=True),
    Rule("self-le", P(ops.le, x, x), K(True), fastmath=True),
    Rule("self-ge", P(ops.ge, x, x), K(True), fastmath=True),
    Rule("self-ne", P(ops.ne, x, x), K(False), fastmath=True),
]


def rules_by_op(fastmath: bool) -> dict[Op, list[Rule]]:
    table: dict[Op, list[Rule]] = {}
    for rule in RULES:
        if fastmath or not rule.fastmath:
            table.setdefault(rule.pattern.op, []).append(rule)
    return table


# --- the pass ---------------------------------------------------------------------

@register
@dataclass(frozen=True)
class Simplify(Pass):
    name: ClassVar[str] = "simplify"
    fastmath: bool = False

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            simplify(fn, self.fastmath)
        return module


MAX_CHAIN = 8  # rewrites of the nodes one rewrite builds, in a row


def simplify(fn: Function, fastmath: bool = False) -> None:
    _Simplify(rules_by_op(fastmath)).region(fn.body)


class _Simplify:
    def __init__(self, rules: dict[Op, list[Rule]]):
        self.rules = rules
        self.subst: dict[Value, Value] = {}

    def region(self, region: Region) -> None:
        out: list[Node] = []
        for node in region.nodes:
            node.operands = [resolve(self.subst, v) for v in node.operands]
            if node.op in (ops.while_, ops.for_):
                self.pass_through(node)
            for inner in node.regions:
                self.region(inner)
            if node.op is ops.if_:
                self.forward_if(node)
            out.extend(self.rewrite(node, MAX_CHAIN))
        region.nodes = out
        region.yields = [resolve(self.subst, v) for v in region.yields]

    def rewrite(self, node: Node, budget: int) -> list[Node]:
        """The nodes that take `node`'s place (itself when no rule applies)."""
        if budget == 0 or len(node.results) != 1 or node.regions:
            return [node]
        for rule in self.rules.get(node.op, ()):
            env = match(rule.pattern, node.result, {})
            if env is None or (rule.when is not None and not rule.when(env)):
                continue
            scratch = Region()
            value = build(rule.result, env, Builder(scratch, node.span), node)
            if value.owner in scratch.nodes and not value.hint:
                value.hint = node.result.hint
            self.subst[node.result] = value
            out: list[Node] = []
            for new in scratch.nodes:
                out.extend(self.rewrite(new, budget - 1))
            return out
        return [node]

    def forward_if(self, node: Node) -> None:
        then, other = node.regions
        for r, a, b in zip(node.results, then.yields, other.yields):
            if a is b:
                self.subst[r] = a

    def pass_through(self, node: Node) -> None:
        skip = 1 if node.op is ops.for_ else 0
        inits = node.operands[3 if node.op is ops.for_ else 0:]
        body = node.regions[-1]
        for k, init in enumerate(inits):
            if resolve(self.subst, body.yields[k]) is body.args[skip + k]:
                self.subst[node.results[k]] = init
                for region in node.regions:
                    self.subst[region.args[skip + k] if region is body else region.args[k]] = init
