#!/usr/bin/env bash
# The GPU checks, in one run, on a machine with an NVIDIA GPU and its driver
# (docs/gpu.md, "Running the GPU checks"): the launch tests, which skip
# elsewhere, then vectorize(target="cuda") against "cpu" at 10^6 points.
# Needs adjit's dependencies and cuda-python importable (PYTHONPATH may
# point at an unpacked wheel folder); prints the figures, exits non-zero on
# a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
"$python" -c "from adjit.backend.ptx.launch import device; print('device', device())"
"$python" -m pytest -q -p no:cacheprovider -rs tests/test_ptx_launch.py \
    tests/test_vectorize.py -k "cuda or gpu or launch or arena or kernel"
"$python" - <<'PY'
import math
import time

import numpy as np

import adjit


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


grad = adjit.grad(textbook, argnums=(0, 1))
x1 = np.linspace(0.5, 3.0, 1_000_000)
x2 = np.linspace(-2.0, 2.0, 1_000_000)
cpu, cuda = adjit.vectorize(grad, "cpu"), adjit.vectorize(grad, "cuda")
want, got = cpu(x1, x2), cuda(x1, x2)
for a, b in zip(got, want):
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
for name, fn in (("cpu", cpu), ("cuda", cuda)):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fn(x1, x2)
        times.append(time.perf_counter() - start)
    print(f"gradient at 10^6 points, {name}: {min(times) * 1e3:.2f} ms (best of 5, "
          "copies included)")
PY
