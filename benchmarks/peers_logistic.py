"""The long logistic loop v = 3.9 v (1 - v) for each peer: CPython and Numba
on adjit's own source with a hand-written tangent loop for Numba's
derivative, JAX's jit(grad) through lax.fori_loop (reversible because the
trip count is static), and PyTorch and HIPS autograd taping every operation
of a Python loop (run only at small N: they keep a graph node per operation)."""
from __future__ import annotations

from typing import Callable

from benchmarks import peers
from benchmarks.workloads import long_logistic

TAPING_PEERS_MAX_N = 10 ** 3
CPYTHON_MAX_N = 10 ** 5


def tangent_loop(x, n):
    """d v_n / d x by hand: carry the tangent beside the value."""
    v = x
    dv = 1.0
    for i in range(n):
        dv = 3.9 * (1.0 - 2.0 * v) * dv
        v = 3.9 * v * (1.0 - v)
    return dv


def candidates(x: float, n: int) -> tuple[dict[str, Callable], dict[str, Callable]]:
    """(primal, derivative) closures of every installed peer at (x, n)."""
    primal: dict[str, Callable] = {}
    deriv: dict[str, Callable] = {}
    if n <= CPYTHON_MAX_N:
        primal["cpython"] = lambda: long_logistic(x, n)
    nb_f, nb_d = peers.njit(long_logistic), peers.njit(tangent_loop)
    if nb_f is not None:
        primal["numba"] = lambda: nb_f(x, n)
        deriv["numba (by hand, forward)"] = lambda: nb_d(x, n)
    jax = peers.load("jax")
    if jax is not None:
        def jax_logistic(x, n):
            return jax.lax.fori_loop(0, n, lambda i, v: 3.9 * v * (1.0 - v), x)

        jf = jax.jit(jax_logistic, static_argnums=1)
        jg = jax.jit(jax.grad(jax_logistic), static_argnums=1)
        primal["jax"] = lambda: jf(x, n).block_until_ready()
        deriv["jax (reverse)"] = lambda: jg(x, n).block_until_ready()
    torch = peers.load("torch")
    if torch is not None and n <= TAPING_PEERS_MAX_N:
        def torch_derivative():
            leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            return torch.autograd.grad(long_logistic(leaf, n), leaf)[0]

        deriv["torch (reverse)"] = torch_derivative
    autograd = peers.load("autograd")
    if autograd is not None and n <= TAPING_PEERS_MAX_N:
        ag = autograd.grad(long_logistic)
        deriv["autograd (reverse)"] = lambda: ag(x, n)
    return primal, deriv

