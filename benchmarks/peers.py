"""The peers adjit is measured against: which are installed, their versions,
and one thread each. Import this module before numpy, jax or torch: the
thread settings are environment variables read when those load."""
from __future__ import annotations

import functools
import importlib
import os
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Callable

# One thread everywhere: adjit's code is single-threaded, and the machine is shared.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
for _name, _value in THREAD_ENV.items():
    os.environ.setdefault(_name, _value)

# Peer name -> (module to import, distribution whose version is reported).
PEERS = {"numba": ("numba", "numba"), "jax": ("jax", "jax"), "torch": ("torch", "torch"),
         "autograd": ("autograd", "autograd")}

_loaded: dict[str, ModuleType | None] = {}
skipped: dict[str, str] = {}


def load(name: str) -> ModuleType | None:
    """The peer's module configured for the benchmarks (float64, one thread),
    or None when it is not installed (the reason lands in `skipped`)."""
    if name not in _loaded:
        try:
            module = importlib.import_module(PEERS[name][0])
        except Exception as exc:  # an installed but broken peer is skipped too
            skipped[name] = f"not installed ({type(exc).__name__}: {exc})"
            module = None
        if name == "jax" and module is not None:
            module.config.update("jax_enable_x64", True)
            module.config.update("jax_platforms", "cpu")
        if name == "torch" and module is not None:
            module.set_num_threads(1)
            module.set_num_interop_threads(1)
        _loaded[name] = module
    return _loaded[name]


def versions() -> dict[str, str]:
    """Versions of adjit's dependencies and of every peer that loads."""
    out = {}
    for dist in ("numpy", "llvmlite", "lark", "matplotlib"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    for name, (_, dist) in PEERS.items():
        if load(name) is not None:
            out[name] = version(dist)
    return out


def threads() -> dict[str, str]:
    """The thread settings in force, for the report."""
    out = {k: os.environ[k] for k in THREAD_ENV}
    torch = load("torch")
    if torch is not None:
        out["torch.get_num_threads()"] = str(torch.get_num_threads())
    return out


@functools.cache
def njit(fn: Callable) -> Callable | None:
    """Numba's compilation of `fn` (compiled once), or None without Numba."""
    numba = load("numba")
    return None if numba is None else numba.njit(fn)
