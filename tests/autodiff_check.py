"""Gradient checking helpers shared by the autodiff tests (as JAX's check_grads).

Directional derivatives three ways, on the float inputs and float outputs of
a function: forward mode (`jvp`), reverse mode (`vjp`, checked through the
identity <c, J u> = <J^T c, u>) and central finite differences.
"""
from __future__ import annotations

import numpy as np

import adjit


def is_float(a) -> bool:
    return isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype == np.float64)


def flat_floats(out) -> np.ndarray:
    """The float components of a result (floats and float arrays), flattened."""
    parts = out if isinstance(out, tuple) else (out,)
    pieces = [np.ravel(np.asarray(p, dtype=np.float64)) for p in parts
              if isinstance(p, (float, np.floating, np.ndarray))]
    return np.concatenate(pieces) if pieces else np.zeros(0)


def random_like(args, rng) -> list:
    return [rng.normal(size=a.shape) if isinstance(a, np.ndarray) else float(rng.normal())
            if isinstance(a, float) else None for a in args]


def shifted(args, direction, h) -> list:
    return [a + h * d if d is not None else a for a, d in zip(args, direction)]


def central_difference(f, args, direction, scale=1.0) -> np.ndarray:
    """(f(x + h u) - f(x - h u)) / 2h, h chosen relative to the input scale."""
    h = 1e-6 * max(1.0, scale)
    hi = flat_floats(f(*shifted(args, direction, h)))
    lo = flat_floats(f(*shifted(args, direction, -h)))
    return (hi - lo) / (2 * h)


def input_scale(args) -> float:
    values = [np.max(np.abs(a)) for a in args if isinstance(a, np.ndarray) and a.size] + \
             [abs(a) for a in args if isinstance(a, float)]
    return float(max(values, default=1.0))


def dot(xs, ys) -> float:
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)) for x, y in zip(xs, ys)
                     if x is not None and y is not None))


def copies(args) -> list:
    """Fresh copies: functions may write to their array arguments."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def check_directional(f, args, seed=0, rtol=1e-6, atol=1e-8, interp=False):
    """Forward, reverse and finite differences agree on random directions."""
    rng = np.random.default_rng(seed)
    run = adjit.interpret(f) if interp else f
    u = random_like(args, rng)
    primal_out, tangent_out = adjit.jvp(run, copies(args), [d if d is not None else 0 for d in u])
    forward = flat_floats(tangent_out)
    fd = central_difference(run, copies(args), u, input_scale(args))
    np.testing.assert_allclose(forward, fd, rtol=rtol * 100, atol=atol * 100 * (1 + np.max(
        np.abs(fd), initial=0)))
    out, vjp_fn = adjit.vjp(run, *copies(args))
    parts = out if isinstance(out, tuple) else (out,)
    cts = tuple(rng.normal(size=p.shape) if isinstance(p, np.ndarray) else float(rng.normal())
                for p in parts if isinstance(p, (float, np.ndarray)))
    grads = vjp_fn(cts if len(cts) != 1 else cts[0])
    lhs = float(np.dot(flat_floats(cts), forward))
    rhs = dot(grads, u)
    assert abs(lhs - rhs) <= rtol * max(1.0, abs(lhs), abs(rhs)) + atol, (lhs, rhs)
    np.testing.assert_allclose(flat_floats(primal_out), flat_floats(out), rtol=1e-15)
