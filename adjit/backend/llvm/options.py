"""Code generation options of the CPU backend (its own module, so that
loading cached code needs none of the lowering modules)."""
from __future__ import annotations

from dataclasses import dataclass

ERROR_MODELS = ("python", "numpy")


@dataclass(frozen=True)
class Options:
    """fastmath: `fast` flags on float arithmetic. error_model: "python"
    raises as CPython does; "numpy" gives inf/nan for division by zero and
    does not check math functions. boundscheck: IndexError on bad indices
    (negative indices always count from the end)."""

    fastmath: bool = False
    error_model: str = "python"
    boundscheck: bool = True

    def __post_init__(self) -> None:
        if self.error_model not in ERROR_MODELS:
            raise ValueError(f"error_model must be one of {ERROR_MODELS}, not "
                             f"{self.error_model!r}")
