"""Code generation options of the CPU backend (its own module, so that
loading cached code needs none of the lowering modules)."""
from __future__ import annotations

from dataclasses import dataclass, field

ERROR_MODELS = ("python", "numpy")


@dataclass(frozen=True)
class Options:
    """fastmath: `fast` flags on float arithmetic. error_model: "python"
    raises as CPython does; "numpy" gives inf/nan for division by zero and
    does not check math functions. boundscheck: IndexError on bad indices
    (negative indices always count from the end). contiguous: positions of
    the entry's array parameters that callers pass C-contiguous (adjit.jit
    specializes on layout): their strides are constants in the code, which
    LLVM then folds into addressing and vectorizes; the callers check it
    (the CPython entry falls back, the ctypes path copies)."""

    fastmath: bool = False
    error_model: str = "python"
    boundscheck: bool = True
    contiguous: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "contiguous", tuple(sorted(set(self.contiguous))))
        if self.error_model not in ERROR_MODELS:
            raise ValueError(f"error_model must be one of {ERROR_MODELS}, not "
                             f"{self.error_model!r}")
