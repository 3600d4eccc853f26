"""Expression swell: the logistic map l = 4 l (1 - l) unrolled n = 1..30 times.

For each n: nodes of the primal IR as lowered and after PRE_AD, and of the
reverse-mode gradient (`compose.grad_graph`) as AD emits it and after
POST_AD. The optimized gradient must stay within 4 times the optimized
primal for every n (no swell: reverse mode costs a constant factor).
`python -m tests.test_passes_swell` prints the table for docs/passes.md.
"""
from __future__ import annotations

from adjit.frontend.lower import lower_function
from adjit.frontend.source import scope_for_text
from adjit.ir.core import Module
from adjit.ir.interp import interpret
from adjit.ir.types import F64
from adjit.passes.autodiff.compose import grad_graph
from adjit.passes.manager import POST_AD, PRE_AD, count_nodes, run_pipeline

SIZES = range(1, 31)


def logistic_source(n: int) -> str:
    body = ["    l = 4.0 * l * (1.0 - l)"] * n
    return "\n".join(["def logistic(x):", "    l = x", *body, "    return l", ""])


def swell_row(n: int) -> tuple[int, int, int, int, int, Module, Module]:
    """(n, primal, primal after PRE_AD, gradient, gradient after POST_AD,
    optimized primal module, optimized gradient module)."""
    scope = scope_for_text(logistic_source(n), f"<logistic x{n}>")
    primal = lower_function(scope.module.functions["logistic"], scope, [F64])
    lowered = count_nodes(primal)
    run_pipeline(primal, PRE_AD, verify=True)
    fn = grad_graph(primal.entry_function, [0])
    gradient = Module({fn.name: fn}, fn.name, primal.source)
    emitted = count_nodes(gradient)
    run_pipeline(gradient, POST_AD, verify=True, to_fixed_point=True)
    return n, lowered, count_nodes(primal), emitted, count_nodes(gradient), primal, gradient


def derivative(x: float, n: int) -> float:
    l, d = x, 1.0
    for _ in range(n):
        l, d = 4.0 * l * (1.0 - l), 4.0 * d * (1.0 - 2.0 * l)
    return d


def test_gradient_stays_within_four_times_the_primal():
    for n in SIZES:
        _, _, primal, _, gradient, _, module = swell_row(n)
        assert gradient <= 4 * primal, (n, primal, gradient)
        if n in (1, 7, 30):
            got = interpret(module, [0.3])
            assert abs(got - derivative(0.3, n)) <= 1e-9 * max(1.0, abs(got)), n


def markdown_table() -> str:
    lines = ["| n | primal (lowered) | primal (PRE_AD) | gradient (as AD emits it) "
             "| gradient (POST_AD) | gradient / primal |",
             "|---:|---:|---:|---:|---:|---:|"]
    for n in SIZES:
        _, lowered, primal, emitted, gradient, _, _ = swell_row(n)
        lines.append(f"| {n} | {lowered} | {primal} | {emitted} | {gradient} "
                     f"| {gradient / primal:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
