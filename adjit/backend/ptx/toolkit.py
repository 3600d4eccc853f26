"""Finding the CUDA toolkit pieces the PTX backend needs: libdevice (the
bitcode library of math functions linked into every PTX module) and
`ptxas` (the assembler that validates PTX and compiles it for an sm_XX).

They are looked for where a user's machine has them, in this order:
`CUDA_HOME`, `CUDA_PATH`, the standard locations (/usr/local/cuda,
/usr/local/cuda-X.Y, /opt/cuda), the directory of `ptxas` on `PATH`, and the
`nvidia-cuda-nvcc` wheel (site-packages/nvidia/cuda_nvcc). What is missing is
a `CudaUnavailableError` that lists where it looked.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from adjit.errors import CudaUnavailableError

LIBDEVICE = Path("nvvm") / "libdevice" / "libdevice.10.bc"
PTXAS = Path("bin") / "ptxas"
STANDARD_ROOTS = (Path("/usr/local/cuda"), Path("/opt/cuda"))
VERSIONED_PARENT = Path("/usr/local")  # holds cuda-X.Y directories


def candidate_roots() -> list[Path]:
    """Toolkit roots in the order they are searched."""
    roots = [Path(os.environ[v]) for v in ("CUDA_HOME", "CUDA_PATH") if os.environ.get(v)]
    roots.extend(STANDARD_ROOTS)
    versioned = sorted(VERSIONED_PARENT.glob("cuda-*"), key=_version_key, reverse=True)
    roots.extend(versioned)
    on_path = shutil.which("ptxas")
    if on_path:
        roots.append(Path(on_path).resolve().parent.parent)
    for entry in sys.path:
        wheel = Path(entry or ".") / "nvidia" / "cuda_nvcc"
        if wheel.is_dir():
            roots.append(wheel)
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def _version_key(path: Path) -> tuple[int, ...]:
    digits = path.name.removeprefix("cuda-").split(".")
    return tuple(int(d) if d.isdigit() else -1 for d in digits)


def _find(relative: Path, what: str, hint: str) -> Path:
    roots = candidate_roots()
    for root in roots:
        if (root / relative).is_file():
            return root / relative
    looked = ", ".join(str(r / relative) for r in roots) or "nowhere"
    raise CudaUnavailableError(
        f"{what} not found (looked in: {looked})",
        notes=(hint, "set CUDA_HOME to the CUDA toolkit's directory, or "
                     "`pip install nvidia-cuda-nvcc`"))


def find_libdevice() -> Path:
    """The path of libdevice.10.bc."""
    return _find(LIBDEVICE, "libdevice (nvvm/libdevice/libdevice.10.bc)",
                 "libdevice provides the math functions of PTX code")


def find_ptxas() -> Path:
    """The path of the `ptxas` assembler."""
    return _find(PTXAS, "ptxas (bin/ptxas)", "ptxas assembles PTX for a GPU architecture")
