"""adjit: a differentiating compiler for numerical Python.

Plain Python functions of floats, ints and float64 arrays are parsed (never
executed), lowered to a typed SSA graph IR, differentiated as graph
transformations, optimized and compiled to native code.
"""
from adjit.api import (check_grad, grad, hessian, interpret, jacfwd, jacobian, jacrev, jit, jvp,
                       make_ir, value_and_grad, vjp)
from adjit import config
from adjit.trace import trace
from adjit.vectorize import vectorize
from adjit.errors import (AdjitError, AdjitNameError, AdjitSyntaxError, AdjitTypeError,
                          CudaUnavailableError, InternalError, ShapeError, UnsupportedError)

__version__ = "0.1.0"

__all__ = [
    "jit", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian", "hessian",
    "check_grad", "trace", "vectorize",
    "make_ir", "interpret", "config",
    "AdjitError", "AdjitNameError", "AdjitSyntaxError", "AdjitTypeError", "CudaUnavailableError",
    "InternalError", "ShapeError", "UnsupportedError", "__version__",
]
