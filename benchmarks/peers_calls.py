"""Per-call cost of the 2-argument textbook function and of its gradient
for each peer, beside adjit's figures from benchmarks/calls.py: at this size
the time is almost all dispatch overhead."""
from __future__ import annotations

import math

from benchmarks import peers
from benchmarks.common import agree, fmt, interleaved
from benchmarks.workloads import textbook

X1, X2 = 2.0, 5.0
GRADIENT = (X2 + 1.0 / X1, X1 - math.cos(X2))  # (5.5, 1.7163...)


def run(quick: bool = False) -> list[dict]:
    """One row per peer: seconds per call of f and of grad f (both arguments)."""
    primal = {"cpython": lambda: textbook(X1, X2)}
    grad = {}
    nb = peers.njit(textbook)
    if nb is not None:
        primal["numba"] = lambda: nb(X1, X2)
    jax = peers.load("jax")
    if jax is not None:
        jf = jax.jit(textbook_with(jax.numpy))
        jg = jax.jit(jax.grad(textbook_with(jax.numpy), argnums=(0, 1)))
        primal["jax"] = lambda: jf(X1, X2).block_until_ready()
        grad["jax"] = lambda: jax.block_until_ready(jg(X1, X2))
    torch = peers.load("torch")
    if torch is not None:
        f = textbook_with(torch)
        t1, t2 = torch.tensor(X1, dtype=torch.float64), torch.tensor(X2, dtype=torch.float64)

        def torch_grad():
            a, b = t1.detach().requires_grad_(), t2.detach().requires_grad_()
            return torch.autograd.grad(f(a, b), (a, b))

        primal["torch"] = lambda: f(t1, t2)
        grad["torch"] = torch_grad
    autograd = peers.load("autograd")
    if autograd is not None:
        import autograd.numpy as anp

        ag = autograd.grad(textbook_with(anp), argnum=(0, 1))
        grad["autograd"] = lambda: ag(X1, X2)
    agree({"cpython": textbook(X1, X2), **{k: fn() for k, fn in primal.items()}}, rtol=1e-14)
    agree({"exact": GRADIENT, **{k: fn() for k, fn in grad.items()}}, rtol=1e-14)
    t = interleaved({**{f"f: {k}": fn for k, fn in primal.items()},
                     **{f"grad: {k}": fn for k, fn in grad.items()}},
                    repeats=3 if quick else 7, min_time=0.02)
    rows = [{"peer": name, "f": t.get(f"f: {name}"), "grad f": t.get(f"grad: {name}")}
            for name in dict.fromkeys([*primal, *grad])]
    print("  ".join(f"{k} {fmt(v)}" for k, v in t.items()), flush=True)
    return rows


def textbook_with(xp):
    """The textbook function on the array module `xp`'s scalars."""
    return lambda x1, x2: xp.log(x1) + x1 * x2 - xp.sin(x2)
