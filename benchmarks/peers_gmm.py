"""ADBench's GMM objective for each peer: one vectorized formula for the
array libraries (numpy, JAX, PyTorch, HIPS autograd) as in ADBench's Python
versions, its gradient derived by hand for numpy, and a hand-written loop
gradient for Numba."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from benchmarks import peers
from benchmarks.workloads import gmm_objective


def constants(n: int, d: int, K: int, gamma: float, m: int) -> float:
    """-n d/2 log(2 pi) - K C(d, gamma, m), C the Wishart log normalization."""
    dof = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * dof + 0.5 * (1 - j)) for j in range(1, d + 1))
    c = dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return -0.5 * n * d * math.log(2.0 * math.pi) - K * c


def scatter_tensor(d: int) -> np.ndarray:
    """P[p, r, c] = 1 where l_k[p] is L_k[r, c] (column by column), so that
    L_k = einsum('p,prc->rc', l_k, P) in every array library."""
    cols, rows = np.triu_indices(d, 1)
    P = np.zeros((len(rows), d, d))
    P[np.arange(len(rows)), rows, cols] = 1.0
    return P


def vectorized(xp, lse, P, alphas, means, icf, x, gamma, m):
    """The objective with array module `xp` and its log-sum-exp `lse(a, axis)`."""
    n, d = x.shape
    K = alphas.shape[0]
    q, l = icf[:, :d], icf[:, d:]
    XC = x[:, None, :] - means[None, :, :]                          # (n, K, d)
    Y = xp.exp(q)[None, :, :] * XC + xp.einsum("krc,ikc->ikr", xp.einsum("kp,prc->krc", l, P), XC)
    main = alphas[None, :] + xp.sum(q, 1)[None, :] - 0.5 * xp.sum(Y * Y, 2)
    prior = xp.sum(0.5 * gamma * gamma * (xp.sum(xp.exp(2.0 * q), 1) + xp.sum(l * l, 1))
                   - m * xp.sum(q, 1))
    return xp.sum(lse(main, 1)) - n * lse(alphas, 0) + prior + constants(n, d, K, gamma, m)


def numpy_logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis, keepdims=True)
    return np.log(np.exp(a - top).sum(axis)) + np.squeeze(top, axis)


def numpy_gradient(alphas, means, icf, x, gamma, m):
    """By hand: with w_ik the softmax over k of the main terms and y_ik =
    Q_k (x_i - mu_k), dE/dalpha_k = sum_i w_ik - n softmax(alpha)_k,
    dE/dmu_k = Q_k^T sum_i w_ik y_ik, dE/dQ_k = -sum_i w_ik y_ik (x_i - mu_k)^T
    (its diagonal times exp(q_k), its strict lower triangle for l_k), plus
    sum_i w_ik for each q_kj and the prior's gamma^2 exp(2 q) - m and gamma^2 l."""
    n, d = x.shape
    q, l = icf[:, :d], icf[:, d:]
    cols, rows = np.triu_indices(d, 1)
    Q = np.zeros((alphas.shape[0], d, d))
    Q[:, rows, cols] = l
    Q += np.exp(q)[:, :, None] * np.eye(d)
    XC = x[:, None, :] - means[None, :, :]
    Y = np.einsum("krc,ikc->ikr", Q, XC)
    main = alphas[None, :] + q.sum(1)[None, :] - 0.5 * (Y * Y).sum(2)
    W = np.exp(main - main.max(1, keepdims=True))
    W /= W.sum(1, keepdims=True)
    soft_alpha = np.exp(alphas - alphas.max())
    soft_alpha /= soft_alpha.sum()
    WY = W[:, :, None] * Y
    GQ = -np.einsum("ikr,ikc->krc", WY, XC)
    g_icf = np.empty_like(icf)
    g_icf[:, :d] = (W.sum(0)[:, None] + np.einsum("kjj->kj", GQ) * np.exp(q)
                    + gamma * gamma * np.exp(2.0 * q) - m)
    g_icf[:, d:] = GQ[:, rows, cols] + gamma * gamma * l
    return W.sum(0) - n * soft_alpha, np.einsum("krc,ikr->kc", Q, WY), g_icf


def loop_gradient(alphas, means, icf, x, gamma, m):
    """numpy_gradient's formula with loops, one data point at a time, for Numba."""
    n, d = x.shape
    K = alphas.shape[0]
    g_alpha = np.zeros(K)
    g_means = np.zeros((K, d))
    g_icf = np.zeros(icf.shape)
    XC = np.empty((K, d))
    Y = np.empty((K, d))
    main = np.empty(K)
    for i in range(n):
        top = -np.inf
        for k in range(K):
            sumq = 0.0
            sq = 0.0
            for r in range(d):
                XC[k, r] = x[i, r] - means[k, r]
            idx = d
            for r in range(d):
                Y[k, r] = math.exp(icf[k, r]) * XC[k, r]
                sumq += icf[k, r]
            for c in range(d):
                for r in range(c + 1, d):
                    Y[k, r] += icf[k, idx] * XC[k, c]
                    idx += 1
            for r in range(d):
                sq += Y[k, r] * Y[k, r]
            main[k] = alphas[k] + sumq - 0.5 * sq
            top = max(top, main[k])
        total = 0.0
        for k in range(K):
            main[k] = math.exp(main[k] - top)
            total += main[k]
        for k in range(K):
            w = main[k] / total
            g_alpha[k] += w
            for r in range(d):
                g_icf[k, r] += w - w * Y[k, r] * XC[k, r] * math.exp(icf[k, r])
                g_means[k, r] += w * math.exp(icf[k, r]) * Y[k, r]
            idx = d
            for c in range(d):
                for r in range(c + 1, d):
                    g_icf[k, idx] -= w * Y[k, r] * XC[k, c]
                    g_means[k, c] += w * icf[k, idx] * Y[k, r]
                    idx += 1
    top = alphas.max()
    total = 0.0
    for k in range(K):
        total += math.exp(alphas[k] - top)
    for k in range(K):
        g_alpha[k] -= n * math.exp(alphas[k] - top) / total
        for j in range(d):
            g_icf[k, j] += gamma * gamma * math.exp(2.0 * icf[k, j]) - m
        for j in range(d, icf.shape[1]):
            g_icf[k, j] += gamma * gamma * icf[k, j]
    return g_alpha, g_means, g_icf


def candidates(params: tuple, slow_ok: bool) -> tuple[dict[str, Callable], dict[str, Callable]]:
    """(objective, gradient) closures of every installed peer at `params` =
    (alphas, means, icf, x, gamma, m). `slow_ok`: include CPython."""
    alphas, means, icf, x, gamma, m = params
    P = scatter_tensor(x.shape[1])
    primal: dict[str, Callable] = {}
    grad: dict[str, Callable] = {}
    if slow_ok:
        primal["cpython"] = lambda: gmm_objective(*params)
    primal["numpy"] = lambda: vectorized(np, numpy_logsumexp, P, *params)
    grad["numpy (by hand)"] = lambda: numpy_gradient(*params)
    nb_f, nb_g = peers.njit(gmm_objective), peers.njit(loop_gradient)
    if nb_f is not None:
        primal["numba"] = lambda: nb_f(*params)
        grad["numba (by hand)"] = lambda: nb_g(*params)
    jax = peers.load("jax")
    if jax is not None:
        from jax.scipy.special import logsumexp as jlse

        jP, jx = jax.numpy.asarray(P), jax.numpy.asarray(x)
        jparams = tuple(jax.numpy.asarray(v) for v in (alphas, means, icf))

        def objective(a, mu, icf):
            return vectorized(jax.numpy, jlse, jP, a, mu, icf, jx, gamma, m)

        jf = jax.jit(objective)
        jg = jax.jit(jax.grad(objective, argnums=(0, 1, 2)))
        primal["jax"] = lambda: jf(*jparams).block_until_ready()
        grad["jax"] = lambda: jax.block_until_ready(jg(*jparams))
    torch = peers.load("torch")
    if torch is not None:
        tP, tx = torch.from_numpy(P), torch.from_numpy(x)
        tparams = tuple(torch.from_numpy(v) for v in (alphas, means, icf))

        def torch_grad():
            leaves = [v.detach().requires_grad_() for v in tparams]
            value = vectorized(torch, torch.logsumexp, tP, *leaves, tx, gamma, m)
            return torch.autograd.grad(value, leaves)

        primal["torch"] = lambda: vectorized(torch, torch.logsumexp, tP, *tparams, tx, gamma, m)
        grad["torch"] = torch_grad
    autograd = peers.load("autograd")
    if autograd is not None:
        import autograd.numpy as anp
        from autograd.scipy.special import logsumexp as alse

        ag = autograd.grad(lambda p: vectorized(anp, alse, P, *p, x, gamma, m))
        primal["autograd"] = lambda: vectorized(anp, alse, P, *params)
        grad["autograd"] = lambda: ag((alphas, means, icf))
    return primal, grad

