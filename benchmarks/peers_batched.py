"""The gradient of the textbook function at many points: adjit.vectorize on
one thread side by side with jax.vmap(jax.grad) and PyTorch's autograd of
the sum (one backward pass gives every point's gradient)."""
from __future__ import annotations

import numpy as np

import adjit
from benchmarks import peers
from benchmarks.common import agree, fmt, interleaved
from benchmarks.peers_calls import textbook_with
from benchmarks.workloads import textbook


def run(quick: bool = False) -> dict:
    """Seconds per point of each candidate."""
    n = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(0.5, 4.0, n), rng.uniform(-3.0, 3.0, n)
    cpu = adjit.vectorize(adjit.grad(textbook, argnums=(0, 1)), "cpu")
    candidates = {"adjit vectorize (cpu, 1 thread)": lambda: cpu(x1, x2)}
    jax = peers.load("jax")
    if jax is not None:
        batched = jax.jit(jax.vmap(jax.grad(textbook_with(jax.numpy), argnums=(0, 1))))
        j1, j2 = jax.numpy.asarray(x1), jax.numpy.asarray(x2)
        candidates["jax vmap(grad)"] = lambda: jax.block_until_ready(batched(j1, j2))
    torch = peers.load("torch")
    if torch is not None:
        f = textbook_with(torch)
        t1, t2 = torch.from_numpy(x1), torch.from_numpy(x2)

        def torch_grad():
            a, b = t1.detach().requires_grad_(), t2.detach().requires_grad_()
            return torch.autograd.grad(f(a, b).sum(), (a, b))

        candidates["torch autograd of the sum"] = torch_grad
    agree({k: fn() for k, fn in candidates.items()}, rtol=1e-13)
    t = interleaved(candidates, repeats=3 if quick else 7, min_time=0.05 if quick else 0.2)
    out = {f"{k} per point": v / n for k, v in t.items()}
    print("  ".join(f"{k}: {fmt(v)}" for k, v in out.items()), flush=True)
    return out
