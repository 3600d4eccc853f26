"""The Helmholtz free energy for each peer: one vectorized formula for the
array libraries (numpy, JAX, PyTorch, HIPS autograd), its gradient derived
by hand for numpy, and a hand-written loop gradient for Numba."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from benchmarks import peers
from benchmarks.workloads import RT, helmholtz

SQRT2 = math.sqrt(2.0)


def vectorized(xp, x, b, A):
    """f(x) with the array module `xp` (numpy, jax.numpy, torch, autograd.numpy)."""
    bx = xp.sum(b * x)
    xAx = xp.sum(x * (A @ x))
    ratio = (1.0 + (1.0 + SQRT2) * bx) / (1.0 + (1.0 - SQRT2) * bx)
    return RT * xp.sum(x * xp.log(x / (1.0 - bx))) - xAx / (math.sqrt(8.0) * bx) * xp.log(ratio)


def numpy_gradient(x, b, A):
    """d f / d x by hand: the entropy term gives RT (log(x_k / (1 - b.x)) + 1
    + sum(x) b_k / (1 - b.x)); the mixing term -x.A.x g(b.x) gives
    -2 (A x)_k g - x.A.x g' b_k with g(t) = log(ratio(t)) / (sqrt(8) t)."""
    bx = float(b @ x)
    Ax = A @ x
    xAx = float(x @ Ax)
    up, down = 1.0 + (1.0 + SQRT2) * bx, 1.0 + (1.0 - SQRT2) * bx
    log_ratio = math.log(up / down)
    g = log_ratio / (math.sqrt(8.0) * bx)
    dg = ((((1.0 + SQRT2) / up - (1.0 - SQRT2) / down) * bx - log_ratio)
          / (math.sqrt(8.0) * bx * bx))
    entropy = RT * (np.log(x / (1.0 - bx)) + 1.0 + x.sum() * b / (1.0 - bx))
    return entropy - 2.0 * Ax * g - xAx * dg * b


def loop_gradient(x, b, A):
    """numpy_gradient's formula with loops, for Numba."""
    n = x.shape[0]
    bx = 0.0
    total = 0.0
    for i in range(n):
        bx += b[i] * x[i]
        total += x[i]
    Ax = np.zeros(n)
    xAx = 0.0
    for i in range(n):
        for j in range(n):
            Ax[i] += A[i, j] * x[j]
        xAx += x[i] * Ax[i]
    up = 1.0 + (1.0 + SQRT2) * bx
    down = 1.0 + (1.0 - SQRT2) * bx
    log_ratio = math.log(up / down)
    g = log_ratio / (math.sqrt(8.0) * bx)
    dg = (((1.0 + SQRT2) / up - (1.0 - SQRT2) / down) * bx - log_ratio) / (math.sqrt(8.0) * bx * bx)
    out = np.empty(n)
    for k in range(n):
        out[k] = (RT * (math.log(x[k] / (1.0 - bx)) + 1.0 + total * b[k] / (1.0 - bx))
                  - 2.0 * Ax[k] * g - xAx * dg * b[k])
    return out


def candidates(x, b, A, slow_ok: bool) -> tuple[dict[str, Callable], dict[str, Callable]]:
    """(primal, gradient) closures of every installed peer at these inputs.
    `slow_ok`: include CPython (pure interpreted loops)."""
    primal: dict[str, Callable] = {}
    grad: dict[str, Callable] = {}
    if slow_ok:
        primal["cpython"] = lambda: helmholtz(x, b, A)
    primal["numpy"] = lambda: vectorized(np, x, b, A)
    grad["numpy (by hand)"] = lambda: numpy_gradient(x, b, A)
    nb_f, nb_g = peers.njit(helmholtz), peers.njit(loop_gradient)
    if nb_f is not None:
        primal["numba"] = lambda: nb_f(x, b, A)
        grad["numba (by hand)"] = lambda: nb_g(x, b, A)
    jax = peers.load("jax")
    if jax is not None:
        jx, jb, jA = (jax.numpy.asarray(v) for v in (x, b, A))
        jf = jax.jit(lambda x, b, A: vectorized(jax.numpy, x, b, A))
        jg = jax.jit(jax.grad(lambda x, b, A: vectorized(jax.numpy, x, b, A)))
        primal["jax"] = lambda: jf(jx, jb, jA).block_until_ready()
        grad["jax"] = lambda: jg(jx, jb, jA).block_until_ready()
    torch = peers.load("torch")
    if torch is not None:
        tx, tb, tA = (torch.from_numpy(v) for v in (x, b, A))

        def torch_grad():
            leaf = tx.detach().requires_grad_()
            return torch.autograd.grad(vectorized(torch, leaf, tb, tA), leaf)[0]

        primal["torch"] = lambda: vectorized(torch, tx, tb, tA)
        grad["torch"] = torch_grad
    autograd = peers.load("autograd")
    if autograd is not None:
        import autograd.numpy as anp

        ag = autograd.grad(lambda x: vectorized(anp, x, b, A))
        primal["autograd"] = lambda: vectorized(anp, x, b, A)
        grad["autograd"] = lambda: ag(x)
    return primal, grad

