"""Resources of compiled derivatives: tapes bounded by max_tape_bytes (a
clean MemoryError, also when malloc fails), resident memory flat over many
grad and vjp calls, and one compiled gradient called from many threads."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import adjit
from adjit import config

REPO = Path(__file__).resolve().parents[1]
MiB = 2**20


def rss_bytes() -> int:
    """Resident memory of this process (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def chain(a, n):
    """A while loop with a data-dependent trip count: its tape grows on push."""
    s = 0.5
    k = 0
    while k < n and s < 10.0:
        s = math.sin(s * a) + 0.5
        k += 1
    return s


def chain_fresh(a, n):
    """The same loop, compiled by only one test (a fresh compilation)."""
    s = 0.5
    k = 0
    while k < n and s < 10.0:
        s = math.sin(s * a) + 0.5
        k += 1
    return s


def mixed(a, x, n):
    """Scalars, an array read in a loop, and a loop-carried product: tapes."""
    s = 0.0
    for i in range(n):
        s = s + math.sin(a * x[i % len(x)]) * (1.0 + 0.1 * math.tanh(s))
    return s


def zeros_sum(n):
    """An array allocation of a size known only at run time."""
    y = np.zeros(n)
    return y[0] + y[n - 1]


def chain_gradient(a: float, n: int) -> float:
    """d chain / d a by forward accumulation in Python (the oracle)."""
    s, ds = 0.5, 0.0
    for _ in range(n):
        if s >= 10.0:
            break
        s, ds = math.sin(s * a) + 0.5, math.cos(s * a) * (ds * a + s)
    return ds


# --- max_tape_bytes ----------------------------------------------------------------------

def test_a_tape_beyond_max_tape_bytes_raises_memory_error(monkeypatch):
    g = adjit.grad(chain)
    assert g(0.9, 50) == pytest.approx(chain_gradient(0.9, 50), rel=1e-12)
    monkeypatch.setenv(config.MAX_TAPE_BYTES_ENV, str(2**16))
    with pytest.raises(MemoryError) as info:
        g(0.9, 10**6)
    message = str(info.value)
    assert "max_tape_bytes = 65536" in message
    assert "chain" in message  # the function
    assert "while k < n and s < 10.0" in message  # the loop's source line
    assert "ADJIT_MAX_TAPE_BYTES" in message  # how to raise it
    # Below the limit the same compiled code runs on, and raising the limit
    # takes effect without recompiling.
    assert g(0.9, 100) == pytest.approx(chain_gradient(0.9, 100), rel=1e-12)
    monkeypatch.setenv(config.MAX_TAPE_BYTES_ENV, str(64 * MiB))
    assert g(0.9, 10**5) == pytest.approx(chain_gradient(0.9, 10**5), rel=1e-9)


def test_tapes_of_a_refused_call_are_freed(monkeypatch):
    g = adjit.grad(chain)
    monkeypatch.setenv(config.MAX_TAPE_BYTES_ENV, str(4 * MiB))
    for _ in range(3):  # warm up: the allocator's pools reach their size
        with pytest.raises(MemoryError):
            g(0.9, 10**8)
    before = rss_bytes()
    for _ in range(20):  # each call fills 4 MiB of tape before it is refused
        with pytest.raises(MemoryError):
            g(0.9, 10**8)
    assert rss_bytes() - before < 12 * MiB


def test_max_tape_bytes_setting_is_validated(monkeypatch):
    monkeypatch.delenv(config.MAX_TAPE_BYTES_ENV, raising=False)
    assert config.max_tape_bytes() == config.DEFAULT_MAX_TAPE_BYTES == 8 * 2**30
    config.set_max_tape_bytes(2**20)
    assert os.environ[config.MAX_TAPE_BYTES_ENV] == str(2**20)
    assert config.max_tape_bytes() == 2**20
    config.set_max_tape_bytes(None)
    assert config.MAX_TAPE_BYTES_ENV not in os.environ
    for bad in (0, -5, 1000, 2.5, True, "1G"):
        with pytest.raises(ValueError, match="max_tape_bytes must be an int"):
            config.set_max_tape_bytes(bad)
    monkeypatch.setenv(config.MAX_TAPE_BYTES_ENV, "8GB")
    with pytest.raises(ValueError, match="write a whole number of bytes"):
        config.max_tape_bytes()
    with pytest.raises(adjit.AdjitError, match="ADJIT_MAX_TAPE_BYTES='8GB'") as info:
        adjit.grad(chain_fresh)(0.9, 3)  # reported when code with tapes is compiled
    assert info.value.line == chain_fresh.__code__.co_firstlineno + 4  # the loop


def test_failed_malloc_raises_memory_error_not_a_crash():
    """Under an address-space limit, a tape that grows until realloc fails
    (max_tape_bytes set far above it) and an array too large for calloc
    raise MemoryError; the process goes on. A subprocess, so that a crash
    fails the test instead of the test run."""
    script = textwrap.dedent("""
        import resource
        import numpy as np
        import adjit
        from adjit import config
        from tests.test_resources import chain, chain_gradient, zeros_sum

        g, z = adjit.grad(chain), adjit.jit(zeros_sum)
        assert abs(g(0.9, 50) - chain_gradient(0.9, 50)) < 1e-12
        assert z(10) == 0.0
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (size + 256 * 2**20, resource.RLIM_INFINITY))
        config.set_max_tape_bytes(2**62)
        for call in (lambda: g(0.9, 10**12), lambda: z(10**11)):
            try:
                call()
            except MemoryError as exc:
                assert "Unable to allocate" in str(exc), exc
                print("MemoryError:", str(exc).split(" (at")[0])
            else:
                raise AssertionError("no MemoryError")
        assert abs(g(0.9, 50) - chain_gradient(0.9, 50)) < 1e-12
        print("still working")
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(config.MAX_TAPE_BYTES_ENV, None)
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, text=True,
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("MemoryError: Unable to allocate") == 2, run.stdout
    assert "still working" in run.stdout


# --- repeated calls and threads -----------------------------------------------------------

GRAD_CALLS = 10**5  # about 10 us each
VJP_CALLS = 10**4  # vjp and vjp_fn from Python: about 0.4 ms a pair (docs/reliability.md)
X = np.linspace(0.1, 1.0, 5)


def assert_flat(calls, count: int) -> None:
    """`calls(count)` leaves resident memory as it was after a warm-up."""
    calls(max(count // 50, 200))  # warm up: caches, the allocator's pools
    before = rss_bytes()
    calls(count)
    growth = rss_bytes() - before
    # A leak of one tape or array per call would be several MiB.
    assert growth < 2 * MiB, f"resident memory grew by {growth / MiB:.2f} MiB in {count} calls"


def test_repeated_grad_calls_leave_resident_memory_flat():
    g = adjit.grad(mixed, argnums=(0, 1))
    expected_a, expected_x = g(0.3, X, 12)
    interpreted_a, interpreted_x = adjit.interpret(g)(0.3, X, 12)
    assert expected_a == pytest.approx(interpreted_a, rel=1e-12)
    np.testing.assert_allclose(expected_x, interpreted_x, rtol=1e-12)

    def calls(count: int) -> None:
        for _ in range(count):
            da, dx = g(0.3, X, 12)
        assert da == expected_a and (dx == expected_x).all()

    assert_flat(calls, GRAD_CALLS)


def test_repeated_vjp_calls_leave_resident_memory_flat():
    expected_a, expected_x = adjit.grad(mixed, argnums=(0, 1))(0.3, X, 12)
    value, vjp_fn = adjit.vjp(mixed, 0.3, X, 12)
    assert value == pytest.approx(mixed(0.3, X, 12), rel=1e-14)
    ct_a, ct_x, ct_n = vjp_fn(1.0)
    assert ct_a == pytest.approx(expected_a, rel=1e-12) and ct_n is None
    np.testing.assert_allclose(ct_x, expected_x, rtol=1e-12)

    def calls(count: int) -> None:
        for _ in range(count):
            _, fn = adjit.vjp(mixed, 0.3, X, 12)
            da, dx, _ = fn(1.0)
        assert da == ct_a and (dx == ct_x).all()

    assert_flat(calls, VJP_CALLS)


def test_one_compiled_gradient_from_eight_threads():
    g = adjit.grad(mixed, argnums=(0, 1))
    inputs = [(0.1 + 0.05 * t, X * (1 + t), 5 + t) for t in range(8)]
    expected = [g(*args) for args in inputs]  # compiled once, single-threaded
    interpreted = adjit.interpret(g)
    for args, (da, dx) in zip(inputs[:2], expected):
        ia, ix = interpreted(*args)
        assert da == pytest.approx(ia, rel=1e-12)
        np.testing.assert_allclose(dx, ix, rtol=1e-12)
    wrong: list[str] = []
    barrier = threading.Barrier(8)

    def worker(t: int) -> None:
        barrier.wait()
        args, (ea, ex) = inputs[t], expected[t]
        for k in range(10**4):
            da, dx = g(*args)
            if da != ea or not (dx == ex).all():
                wrong.append(f"thread {t}, call {k}: {da}, {dx} instead of {ea}, {ex}")
                return

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not wrong, wrong[:3]
