"""adjit: a differentiating compiler for numerical Python.

Plain Python functions of floats, ints and float64 arrays are parsed (never
executed), lowered to a typed SSA graph IR, differentiated as graph
transformations, optimized and compiled to native code.
"""
from adjit.api import interpret, make_ir
from adjit.errors import (AdjitError, AdjitNameError, AdjitSyntaxError, AdjitTypeError,
                          InternalError, UnsupportedError)

__version__ = "0.1.0"

__all__ = [
    "interpret", "make_ir",
    "AdjitError", "AdjitNameError", "AdjitSyntaxError", "AdjitTypeError", "InternalError",
    "UnsupportedError", "__version__",
]
