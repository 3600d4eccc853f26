"""Lowering expressions (a mixin of `lower.FunctionLowering`).

Expressions never rebind variables, so their control flow (`and`, `or`,
conditional expressions, chained comparisons: all short-circuit, because the
operand not taken may raise) is a single-result `if`.
"""
from __future__ import annotations

from adjit.errors import AdjitNameError, AdjitTypeError, Span, UnsupportedError
from adjit.frontend import library as lib
from adjit.frontend import syntax as s
from adjit.frontend.resolve import ConstantRef, LibraryFunction, ModuleRef, UserFunction
from adjit.frontend.scope import unify
from adjit.ir import ops
from adjit.ir.core import Value
from adjit.ir.ops.base import OpTypeError
from adjit.ir.types import BOOL, F64, I64, ArrayType

BINARY = {"+": ops.add, "-": ops.sub, "*": ops.mul, "/": ops.div, "//": ops.floordiv,
          "%": ops.mod, "**": ops.pow_}
COMPARE = {"<": ops.lt, "<=": ops.le, ">": ops.gt, ">=": ops.ge, "==": ops.eq, "!=": ops.ne}
SCALARS = (F64, I64, BOOL)


class ExpressionLowering:
    """Expects `self.b`, `self.env`, `self.scope`, `self.fail`, `self.convert`,
    `self.if_value` and `self.call_user` from the statement lowering."""

    def expr(self, e: s.Expr) -> Value:
        values = self.exprs(e)
        if len(values) != 1:
            self.fail(AdjitTypeError, f"this expression gives {len(values)} values where one "
                      "is needed", e.span)
        return values[0]

    def exprs(self, e: s.Expr) -> list[Value]:
        """Lower an expression that may give several values (tuples, calls)."""
        with self.b.located(e.span):
            try:
                if isinstance(e, s.Tuple):
                    return [self.expr(x) for x in e.elts]
                if isinstance(e, s.Call):
                    return self.call(e)
                return [getattr(self, "expr_" + type(e).__name__)(e)]
            except OpTypeError as exc:
                self.fail(AdjitTypeError, str(exc), e.span)

    def expr_Num(self, e: s.Num) -> Value:
        return self.b.const(e.value)

    def expr_Name(self, e: s.Name) -> Value:
        return self.name(e)

    def name(self, e: s.Name) -> Value:
        binding = self.env.get(e.id)
        if binding is not None:
            if binding.defined:
                return binding.value
            self.fail(AdjitNameError, f"{e.id!r} may be undefined here", e.span,
                      *(f"it is assigned at line {sp.line}, column {sp.col}, on some paths only"
                        for sp in binding.sites),
                      "assign it on every path before this use (before the loop, or in "
                      "every branch)")
        ref = self.scope.resolve(e.id, e.span)
        if isinstance(ref, ConstantRef):
            return self.b.const(ref.value)
        if ref is None:
            self.fail(AdjitNameError, f"name {e.id!r} is not defined", e.span)
        what = "module" if isinstance(ref, ModuleRef) else "function"
        self.fail(UnsupportedError, f"{e.id!r} is a {what}, not a value", e.span,
                  "functions can only be called")

    def truth(self, v: Value, span: Span) -> Value:
        if v.type == BOOL:
            return v
        if v.type in (F64, I64):
            return self.b.apply(ops.to_bool, v)
        self.fail(AdjitTypeError, f"the truth value of a {v.type} is ambiguous", span,
                  "compare its elements or its length instead")

    def scalar(self, v: Value, span: Span, what: str) -> Value:
        if v.type not in SCALARS:
            self.fail(UnsupportedError, f"{what} of a {v.type} is not supported", span,
                      "arrays are used element by element: write a loop over x[i]")
        return v

    # --- operators ----------------------------------------------------------

    def expr_BinOp(self, e: s.BinOp) -> Value:
        return self.binary(e.op, self.expr(e.left), self.expr(e.right), e.span)

    def binary(self, op: str, a: Value, b: Value, span: Span) -> Value:
        self.scalar(a, span, f"'{op}'")
        self.scalar(b, span, f"'{op}'")
        with self.b.located(span):
            if op == "/" or (op == "**" and F64 in (a.type, b.type)):
                t = F64
            else:
                t = F64 if F64 in (a.type, b.type) else I64
            return self.b.apply(BINARY[op], self.convert(a, t), self.convert(b, t))

    def expr_UnaryOp(self, e: s.UnaryOp) -> Value:
        if e.op == "-" and isinstance(e.operand, s.Num) and not isinstance(e.operand.value, bool):
            return self.b.const(-e.operand.value)  # a negative literal
        v = self.expr(e.operand)
        if e.op == "not":
            return self.b.apply(ops.not_, self.truth(v, e.operand.span))
        self.scalar(v, e.span, f"unary '{e.op}'")
        v = self.convert(v, I64) if v.type == BOOL else v
        return self.b.apply(ops.neg, v) if e.op == "-" else v

    def compare(self, op: str, a: Value, b: Value, span: Span) -> Value:
        self.scalar(a, span, f"'{op}'")
        self.scalar(b, span, f"'{op}'")
        t = unify(a.type, b.type)
        return self.b.apply(COMPARE[op], self.convert(a, t), self.convert(b, t))

    def expr_Compare(self, e: s.Compare) -> Value:
        def chain(left: Value, k: int) -> Value:
            right = self.expr(e.comparators[k])
            result = self.compare(e.ops[k], left, right, e.span)
            if k + 1 == len(e.ops):
                return result
            return self.if_value(result, lambda: chain(right, k + 1),
                                 lambda: self.b.const(False))

        return chain(self.expr(e.left), 0)

    def expr_BoolOp(self, e: s.BoolOp) -> Value:
        def chain(k: int) -> Value:
            v = self.expr(e.values[k])
            if k + 1 == len(e.values):
                return v
            t = self.truth(v, e.values[k].span)
            if e.op == "and":
                return self.if_value(t, lambda: chain(k + 1), lambda: v)
            return self.if_value(t, lambda: v, lambda: chain(k + 1))

        return chain(0)

    def expr_IfExp(self, e: s.IfExp) -> Value:
        cond = self.truth(self.expr(e.test), e.test.span)
        return self.if_value(cond, lambda: self.expr(e.body), lambda: self.expr(e.orelse))

    # --- arrays -------------------------------------------------------------

    def indices(self, e: s.Subscript, array: Value) -> list[Value]:
        if not isinstance(array.type, ArrayType):
            self.fail(AdjitTypeError, f"a {array.type} cannot be indexed", e.value.span)
        if len(e.indices) != array.type.ndim:
            hint = ("index every axis: A[i, j]" if len(e.indices) < array.type.ndim
                    else f"this array has {array.type.ndim} axis")
            self.fail(UnsupportedError, f"{len(e.indices)} index for a {array.type.ndim}-D array "
                      "is not supported" if len(e.indices) < array.type.ndim
                      else f"too many indices for a {array.type.ndim}-D array", e.span, hint)
        out = []
        for index in e.indices:
            v = self.expr(index)
            if v.type not in (I64, BOOL):
                self.fail(AdjitTypeError, f"array indices must be integers, not {v.type}",
                          index.span, "convert with int(...)")
            out.append(self.convert(v, I64))
        return out

    def expr_Subscript(self, e: s.Subscript) -> Value:
        if isinstance(e.value, s.Attribute) and e.value.attr == "shape":
            return self.shape(e)
        array = self.expr(e.value)
        return self.b.apply(ops.array_get, array, *self.indices(e, array))

    def shape(self, e: s.Subscript) -> Value:
        array = self.expr(e.value.value)
        if not isinstance(array.type, ArrayType):
            self.fail(AdjitTypeError, f"a {array.type} has no shape", e.value.span)
        axis = e.indices[0] if len(e.indices) == 1 else None
        if not isinstance(axis, s.Num) or isinstance(axis.value, bool) \
                or not isinstance(axis.value, int) \
                or not -array.type.ndim <= axis.value < array.type.ndim:
            self.fail(UnsupportedError, "x.shape must be indexed by a constant axis", e.span,
                      f"write x.shape[0]{' or x.shape[1]' if array.type.ndim == 2 else ''}")
        return self.b.apply(ops.array_dim, array, axis=axis.value % array.type.ndim)

    def expr_Attribute(self, e: s.Attribute) -> Value:
        if isinstance(e.value, s.Name) and e.value.id not in self.env:
            ref = self.scope.resolve(e.value.id, e.value.span)
            if isinstance(ref, ModuleRef):
                attr = self.scope.attribute(ref.module, e.attr, e.span)
                if isinstance(attr, ConstantRef):
                    return self.b.const(attr.value)
                self.fail(UnsupportedError, f"{e.value.id}.{e.attr} is a function, not a value",
                          e.span, "call it")
        v = self.expr(e.value)
        if isinstance(v.type, ArrayType):
            if e.attr == "ndim":
                return self.b.const(v.type.ndim)
            if e.attr == "size":
                size = self.b.apply(ops.array_dim, v, axis=0)
                for axis in range(1, v.type.ndim):
                    size = self.b.apply(ops.mul, size, self.b.apply(ops.array_dim, v, axis=axis))
                return size
            if e.attr == "shape":
                self.fail(UnsupportedError, "x.shape as a value is not supported", e.span,
                          "index it: x.shape[0]")
        self.fail(UnsupportedError, f"attribute {e.attr!r} of a {v.type} is not supported",
                  e.span, "arrays support .shape[k], .size and .ndim")

    # --- calls --------------------------------------------------------------

    def call(self, e: s.Call) -> list[Value]:
        head, *rest = e.func
        target = None
        if head not in self.env:
            target = self.scope.resolve(head, e.func_span or e.span)
        if isinstance(target, ModuleRef) and len(rest) == 1:
            target = self.scope.attribute(target.module, rest[0], e.func_span or e.span)
        elif rest:
            self.fail(UnsupportedError, f"{'.'.join(e.func)}() is not supported", e.span,
                      "only math.*, numpy (np.*) and the functions of this module can be called")
        if isinstance(target, UserFunction):
            args = [self.expr(a) for a in e.args]
            # An array named as an argument is passed as it is after the other
            # arguments ran (one of them may have written to it, as in CPython).
            args = [self.name(a) if isinstance(a, s.Name) and isinstance(v.type, ArrayType)
                    else v for a, v in zip(e.args, args)]
            return self.call_user(target, args, e.span)
        if isinstance(target, LibraryFunction):
            return [self.call_library(target, e)]
        if target is None and head in lib.BUILTINS and not rest:
            return [self.call_builtin(head, e)]
        if target is None and head not in self.env:
            self.fail(AdjitNameError, f"name {head!r} is not defined", e.func_span or e.span)
        self.fail(UnsupportedError, f"{'.'.join(e.func)} cannot be called", e.span)

    def arity(self, e: s.Call, low: int, high: int) -> None:
        if not low <= len(e.args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            self.fail(AdjitTypeError, f"{'.'.join(e.func)}() takes {want} arguments, got "
                      f"{len(e.args)}", e.span)

    def call_library(self, f: LibraryFunction, e: s.Call) -> Value:
        module, name = f.module, f.name
        if module == "numpy" and (name in lib.NUMPY_ALLOC or name in lib.NUMPY_ALLOC_LIKE):
            return self.allocate(name, e)
        args = [self.scalar(self.expr(a), a.span, f"{'.'.join(e.func)}()") for a in e.args]
        if module == "math":
            special = lib.MATH_SPECIAL.get(name)
            if special:
                self.arity(e, *special[0])
                return special[1](self.b, args)
            if name in lib.MATH_UNARY or name in lib.MATH_TO_INT:
                self.arity(e, 1, 1)
                out = lib.apply_math(self.b, lib.MATH_UNARY.get(name) or lib.MATH_TO_INT[name],
                                     args, checked=True)
                return self.b.apply(ops.to_i64, out) if name in lib.MATH_TO_INT else out
            self.arity(e, 2, 2)
            return lib.apply_math(self.b, lib.MATH_BINARY[name], args, checked=True)
        special = lib.NUMPY_SPECIAL.get(name)
        if special:
            self.arity(e, *special[0])
            return special[1](self.b, args)
        if name in ("abs", "absolute"):
            self.arity(e, 1, 1)
            v = self.convert(args[0], I64) if args[0].type == BOOL else args[0]
            return self.b.apply(ops.abs_, v)
        if name in lib.NUMPY_UNARY:
            self.arity(e, 1, 1)
            return lib.apply_math(self.b, lib.NUMPY_UNARY[name], args, checked=False)
        self.arity(e, 2, 2)
        return lib.apply_math(self.b, lib.NUMPY_BINARY[name], args, checked=False)

    def allocate(self, name: str, e: s.Call) -> Value:
        self.arity(e, 1, 1)
        fill = lib.NUMPY_ALLOC.get(name) or lib.NUMPY_ALLOC_LIKE[name]
        arg = e.args[0]
        if name in lib.NUMPY_ALLOC_LIKE:
            like = self.expr(arg)
            if not isinstance(like.type, ArrayType):
                self.fail(AdjitTypeError, f"np.{name}() needs an array", arg.span)
            dims = [self.b.apply(ops.array_dim, like, axis=k) for k in range(like.type.ndim)]
        else:
            dims = self.exprs(arg) if isinstance(arg, s.Tuple) else [self.expr(arg)]
            if not 1 <= len(dims) <= 2:
                self.fail(UnsupportedError, f"np.{name}() of {len(dims)} dimensions is not "
                          "supported", arg.span, "arrays have 1 or 2 dimensions")
            for d in dims:
                if d.type not in (I64, BOOL):
                    self.fail(AdjitTypeError, f"array dimensions must be integers, not {d.type}",
                              arg.span, "convert with int(...)")
            dims = [self.convert(d, I64) for d in dims]
        return self.b.apply(ops.array_new, *dims, fill=fill)

    def call_builtin(self, name: str, e: s.Call) -> Value:
        if name == "len":
            self.arity(e, 1, 1)
            v = self.expr(e.args[0])
            if not isinstance(v.type, ArrayType):
                self.fail(AdjitTypeError, f"a {v.type} has no len()", e.args[0].span)
            return self.b.apply(ops.array_dim, v, axis=0)
        if name in ("min", "max"):
            if len(e.args) < 2:
                self.fail(UnsupportedError, f"{name}() of one argument is not supported", e.span,
                          f"{name}() takes two or more numbers; for an array write a loop")
            op = ops.min_ if name == "min" else ops.max_
            values = [self.scalar(self.expr(a), a.span, f"{name}()") for a in e.args]
            t = F64 if F64 in [v.type for v in values] else I64
            acc = self.convert(values[0], t)
            for v in values[1:]:
                acc = self.b.apply(op, acc, self.convert(v, t))
            return acc
        if name == "round":
            self.fail(UnsupportedError, "round() is not supported", e.span,
                      "use math.floor(x + 0.5) or np.rint semantics explicitly")
        self.arity(e, 1, 1)
        v = self.scalar(self.expr(e.args[0]), e.args[0].span, f"{name}()")
        if name == "abs":
            return self.b.apply(ops.abs_, self.convert(v, I64) if v.type == BOOL else v)
        if name == "float":
            return self.convert(v, F64)
        if name == "int":
            return v if v.type == I64 else self.b.apply(ops.to_i64, v)
        return self.truth(v, e.args[0].span)  # bool()
