"""Programs that parse but cannot be compiled: each error names the place
(file, line, column), quotes the line with a caret, and says what to write."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

import adjit
from adjit.errors import (AdjitError, AdjitNameError, AdjitTypeError, CudaUnavailableError,
                          SourceFile, Span, UnsupportedError)
from adjit.frontend.source import scope_for_text
from adjit.frontend.resolve import UserFunction

V = np.zeros(3)
M = np.zeros((2, 2))

# (source, args, error class, line, column, message substring)
CASES = [
    ("def f(x):\n    if x > 0:\n        y = 1.0\n    return y\n", (1.0,),
     AdjitNameError, 4, 12, "'y' may be undefined here"),
    ("def f(n):\n    for i in range(n):\n        t = i\n    return t\n", (3,),
     AdjitNameError, 4, 12, "'t' may be undefined here"),
    ("def f(x):\n    return z + x\n", (1.0,), AdjitNameError, 2, 12, "name 'z' is not defined"),
    ("def f(x):\n    return g(x)\n", (1.0,), AdjitNameError, 2, 12, "name 'g' is not defined"),
    ("import numpy as np\ndef f(x):\n    if x > 0:\n        y = 1.0\n    else:\n"
     "        y = np.zeros(2)\n    return y\n", (1.0,), AdjitTypeError, 6, 9,
     "'y' is a f64 on one path and a array<f64,1> on another"),
    ("def f(x):\n    return x + 1.0\n", (V,), UnsupportedError, 2, 12,
     "'+' of a array<f64,1> is not supported"),
    ("def f(x, i):\n    return x[i]\n", (V, 1.5), AdjitTypeError, 2, 14,
     "array indices must be integers, not f64"),
    ("def f(A):\n    return A[0]\n", (M,), UnsupportedError, 2, 12,
     "1 index for a 2-D array is not supported"),
    ("def f(x):\n    return x[0, 1]\n", (V,), UnsupportedError, 2, 12,
     "too many indices for a 1-D array"),
    ("def f(x):\n    return x[0]\n", (1.0,), AdjitTypeError, 2, 12, "a f64 cannot be indexed"),
    ("def f(x):\n    y = 2.0 * x\n", (1.0,), UnsupportedError, 1, 1, "never returns a value"),
    ("def f(x):\n    if x > 0:\n        return 1.0\n", (1.0,), UnsupportedError, 1, 1,
     "may reach its end without a return"),
    ("def f(x):\n    if x > 0:\n        return 1.0, 2.0\n    return 1.0\n", (1.0,),
     AdjitTypeError, 4, 5, "this return gives 1 values but an earlier one gives 2"),
    ("def f(x):\n    return f(x)\n", (1.0,), UnsupportedError, 2, 12,
     "recursive call of 'f' is not supported"),
    ("import math\ndef f(x):\n    return math.fsum(x)\n", (1.0,), UnsupportedError, 3, 12,
     "math.fsum is not supported"),
    ("def f(x):\n    return min(x)\n", (V,), UnsupportedError, 2, 12,
     "min() of one argument is not supported"),
    ("def f(x):\n    for i in range(x):\n        pass\n    return 0.0\n", (1.5,), AdjitTypeError,
     2, 20, "range() arguments must be integers"),
    ("def f(x):\n    a, b = x\n    return a\n", (1.0,), AdjitTypeError, 2, 5,
     "cannot unpack 1 values into 2 names"),
    ("def g(x):\n    return x, x\ndef f(x):\n    return g(x) + 1.0\n", (1.0,), AdjitTypeError,
     4, 12, "gives 2 values where one is needed"),
    ("def g(x, y):\n    return x\ndef f(x):\n    return g(x)\n", (1.0,), AdjitTypeError, 4, 12,
     "g() missing argument 'y'"),
    ("import math\ndef f(x):\n    return math.sin(x, x)\n", (1.0,), AdjitTypeError, 3, 12,
     "math.sin() takes 1 arguments, got 2"),
    ("def f(x):\n    return x.shape\n", (V,), UnsupportedError, 2, 12,
     "x.shape as a value is not supported"),
    ("def f(x):\n    if x:\n        return 1.0\n    return 0.0\n", (V,), AdjitTypeError, 2, 8,
     "the truth value of a array<f64,1> is ambiguous"),
    ("import numpy as np\ndef f(n):\n    return np.zeros((n, n, n))\n", (2,), UnsupportedError,
     3, 21, "np.zeros() of 3 dimensions is not supported"),
    ("import math\ndef f(x):\n    return math(x)\n", (1.0,), UnsupportedError, 3, 12,
     "math cannot be called"),
    ("def f(x):\n    return round(x)\n", (1.0,), UnsupportedError, 2, 12,
     "round() is not supported"),
    ("C = C + 1\ndef f(x):\n    return x + C\n", (1.0,), UnsupportedError, 1, 5,
     "module constant 'C' is defined in terms of itself"),
]


def compile_text(source: str, args):
    scope = scope_for_text(source, "prog.py")
    name = list(scope.module.functions)[-1]
    target = UserFunction(scope.module.functions[name], scope)
    from adjit.api import lower_call

    return lower_call(target, args)


@pytest.mark.parametrize("source,args,cls,line,col,message", CASES,
                         ids=[c[5][:40] for c in CASES])
def test_rejected(source, args, cls, line, col, message):
    with pytest.raises(cls) as info:
        compile_text(source, args)
    err = info.value
    assert (err.filename, err.line, err.column) == ("prog.py", line, col), err.render()
    assert message in err.message, err.render()
    rendered = err.render()
    assert rendered.startswith(f"prog.py:{line}:{col}: error: ")
    assert source.splitlines()[line - 1].strip() in rendered  # the source line is quoted
    assert "^" in rendered


def test_possibly_undefined_names_the_assignment():
    with pytest.raises(AdjitNameError) as info:
        compile_text("def f(x):\n    if x > 0:\n        y = 1.0\n    return y\n", (1.0,))
    assert "assigned at line 3, column 9" in info.value.render()


def test_type_error_points_at_both_assignments():
    source = textwrap.dedent("""\
        import numpy as np
        def f(x):
            if x > 0:
                y = 1.0
            else:
                y = np.zeros(2)
            return y
        """)
    with pytest.raises(AdjitTypeError) as info:
        compile_text(source, (1.0,))
    text = info.value.render()
    assert "line 4, column 9" in text and "line 6, column 9" in text


def test_errors_through_the_public_api():
    def f(x):
        return x[0]

    with pytest.raises(adjit.AdjitError) as info:
        adjit.interpret(f)(1.0)
    assert info.value.filename.endswith("test_lower_errors.py")


def test_errors_render_with_as_much_location_as_they_have():
    source = SourceFile("prog.py", "x = 1\ny = x +\n")
    assert CudaUnavailableError("no GPU", notes=("use target='cpu'",)).render() == \
        "CUDA unavailable: no GPU\nnote: use target='cpu'"
    assert AdjitError("bad", source).render() == "prog.py: error: bad"
    assert AdjitError("bad", source, Span(2, 5, 2, 6)).render() == \
        "prog.py:2:5: error: bad\n    y = x +\n        ^"
    assert AdjitError("bad", None, Span(2, 5)).render() == "<unknown>:2:5: error: bad"
