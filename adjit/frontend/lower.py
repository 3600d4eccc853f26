"""Lowering the syntax tree to typed SSA IR with structured control flow.

A function is specialized per signature (argument types). Statements update
an environment from variable names to SSA values (`scope.Binding`):

- an `if` lowers both branches into regions, then merges the environments:
  a variable that differs between branches becomes a result of the `if` node
  (converted to a common type by Python's int/float promotion); one assigned
  on only one path becomes "possibly undefined", an error where it is used;
- a loop carries the variables its body assigns that are defined before it;
  if the body widens one (an int accumulator that becomes a float), the loop
  is lowered again with the widened type;
- `break`, `continue` and `return` set flags (`$brk`, `$cont`, `$ret`) and
  return values (`$rv0`, ...); the statements after one that may have set a
  flag run under `if not flag`; a loop's condition tests its flags first. A
  `for` whose body can `break` or `return` becomes a `while` over a counter,
  so that it stops early.

Calls to other user functions specialize them on the argument types and
become `call` nodes (inlining is a pass).
"""
from __future__ import annotations

import re
from typing import Any, Callable

from adjit.errors import AdjitSyntaxError, AdjitTypeError, SourceFile, Span, UnsupportedError
from adjit.frontend import syntax as s
from adjit.frontend.exprs import ExpressionLowering
from adjit.frontend.resolve import Scope
from adjit.frontend.scope import (Binding, Env, assigned_names, contains, is_internal,
                                  may_write_arrays, unify, written_arrays)
from adjit.ir import ops
from adjit.ir.builder import Builder, constant_value
from adjit.ir.core import Function, Module, Region, Value
from adjit.ir.types import BOOL, F64, I64, ArrayType, Type

MAX_LOOP_ATTEMPTS = 8
# `$ret` (a return happened) and `$rv0`, `$rv1`, ... (the values returned).
_RETURN_STATE = re.compile(r"\$ret\Z|\$rv").match


class LoopFrame:
    """Names of the flags (and counter) of one loop being lowered."""

    def __init__(self, depth: int):
        self.brk = f"$brk{depth}"
        self.cont = f"$cont{depth}"
        self.counter = f"$counter{depth}"


class FunctionLowering(ExpressionLowering):
    def __init__(self, program: "ProgramLowering", definition: s.FunctionDef, scope: Scope,
                 arg_types: list[Type], symbol: str):
        self.program = program
        self.definition = definition
        self.scope = scope
        self.source: SourceFile = scope.source
        body = Region(arg_types, [p.name for p in definition.params])
        self.b = Builder(body, definition.span)
        self.env: Env = {p.name: Binding(v, (p.span,))
                         for p, v in zip(definition.params, body.args)}
        # `$paramK` follows the current value of array parameter K through
        # element writes (to it or to an alias), so writes reach the caller.
        for k, v in enumerate(body.args):
            if isinstance(v.type, ArrayType):
                self.env[f"$param{k}"] = Binding(v, ())
        self.loops: list[LoopFrame] = []
        self.return_arity: int | None = None
        self.function = Function(symbol, body, [], definition.span, scope.source,
                                 origin=definition.name)

    # --- errors and helpers -------------------------------------------------

    def fail(self, cls, message: str, span: Span | None, *notes: str):
        raise cls(message, self.source, span, notes)

    def placeholder(self, t: Type) -> Value:
        """A value of type `t` that is never read (flags guard every read)."""
        if isinstance(t, ArrayType):
            zero = self.b.const(0)
            return self.b.apply(ops.array_new, *[zero] * t.ndim, fill="empty")
        return self.b.const(0, t)

    def convert(self, v: Value, t: Type) -> Value:
        if v.type == t:
            return v
        if t == F64:
            return self.b.apply(ops.to_f64, v)
        if t == I64:
            return self.b.apply(ops.to_i64, v)
        raise AssertionError(f"no conversion from {v.type} to {t}")

    def bind(self, name: str, value: Value, span: Span) -> None:
        if not value.hint and not is_internal(name):
            value.hint = name
        self.env[name] = Binding(value, (span,))

    # --- entry --------------------------------------------------------------

    def lower(self) -> Function:
        self.block(self.definition.body)
        ret = self.env["$ret"].value if "$ret" in self.env else None
        if self.return_arity is None:
            self.fail(UnsupportedError, f"function {self.definition.name!r} never returns a "
                      "value; adjit functions return a number, an array or a tuple of them",
                      self.definition.span)
        if constant_value(ret) is not True:
            self.fail(UnsupportedError, f"function {self.definition.name!r} may reach its end "
                      "without a return (Python would return None)", self.definition.span,
                      "add a return statement at the end of the function")
        values = [self.env[f"$rv{k}"].value for k in range(self.return_arity)]
        params = self.function.params
        self.function.writes = [k for k in range(len(params)) if f"$param{k}" in self.env
                                and self.env[f"$param{k}"].value is not params[k]]
        values += [self.env[f"$param{k}"].value for k in self.function.writes]
        self.function.body.yields = values
        self.function.result_types = [v.type for v in values]
        return self.function

    # --- statements ---------------------------------------------------------

    def block(self, stmts: list[s.Stmt]) -> None:
        for k, stmt in enumerate(stmts):
            with self.b.located(stmt.span):
                self.statement(stmt)
            if isinstance(stmt, (s.Break, s.Continue, s.Return)):
                return  # the rest is unreachable
            if self.may_exit(stmt) and k + 1 < len(stmts):
                self.guarded(stmts[k + 1:], stmts[k + 1].span)
                return

    def may_exit(self, stmt: s.Stmt) -> bool:
        if isinstance(stmt, s.If):
            return (contains([stmt], (s.Return,), into_loops=True)
                    or contains([stmt], (s.Break, s.Continue), into_loops=False))
        if isinstance(stmt, (s.While, s.For)):
            return contains(stmt.body, (s.Return,), into_loops=True)
        return False

    def exit_flags(self) -> list[str]:
        names = ["$ret"]
        if self.loops:
            names += [self.loops[-1].brk, self.loops[-1].cont]
        return [n for n in names if n in self.env and self.env[n].defined
                and constant_value(self.env[n].value) is not False]

    def guarded(self, rest: list[s.Stmt], span: Span) -> None:
        """Lower `rest` under `if not (any exit flag)`."""
        flags = self.exit_flags()
        if not flags:
            return self.block(rest)
        if any(constant_value(self.env[f].value) is True for f in flags):
            return  # an exit is certain: the rest never runs
        with self.b.located(span):
            stop = self.env[flags[0]].value
            for f in flags[1:]:
                stop = self.if_value(stop, lambda: self.b.const(True),
                                     lambda f=f: self.env[f].value)

            def on_stop() -> None:
                if len(flags) == 1:  # we know which flag is set
                    self.env[flags[0]] = Binding(self.b.const(True), ())

            self.if_statement(stop, on_stop, lambda: self.block(rest))

    def statement(self, st: s.Stmt) -> None:
        method = getattr(self, "stmt_" + type(st).__name__)
        method(st)

    def stmt_Pass(self, st: s.Pass) -> None:
        pass

    def stmt_ExprStmt(self, st: s.ExprStmt) -> None:
        if not isinstance(st.value, s.Num):
            self.exprs(st.value)  # evaluated for the exceptions it may raise

    def stmt_Assign(self, st: s.Assign) -> None:
        multi = any(isinstance(t, s.Tuple) for t in st.targets)
        values = self.exprs(st.value) if multi else [self.expr(st.value)]
        for target in st.targets:
            self.assign(target, values, st.span)

    def assign(self, target: s.Expr, values: list[Value], span: Span) -> None:
        if isinstance(target, s.Tuple):
            if len(values) != len(target.elts):
                self.fail(AdjitTypeError, f"cannot unpack {len(values)} values into "
                          f"{len(target.elts)} names", target.span)
            for t, v in zip(target.elts, values):
                self.assign(t, [v], span)
            return
        if len(values) != 1:
            self.fail(AdjitTypeError, f"cannot assign {len(values)} values to one name; "
                      "unpack them: a, b = ...", target.span)
        if isinstance(target, s.Name):
            self.bind(target.id, values[0], target.span)
        elif isinstance(target, s.Subscript):
            self.store(target, values[0])
        else:
            self.fail(UnsupportedError, "cannot assign to this expression", target.span)

    def store(self, target: s.Subscript, value: Value, indices: list[Value] | None = None) -> None:
        """`x[i] = v`: a new array value, rebound to `x` and every alias of it."""
        if not isinstance(target.value, s.Name):
            self.fail(UnsupportedError, "element assignment needs an array variable: "
                      "x[i] = v", target.span)
        old = self.name(target.value)
        indices = indices if indices is not None else self.indices(target, old)
        if value.type not in (F64, I64, BOOL):
            self.fail(AdjitTypeError, f"cannot store a {value.type} in an array element",
                      target.span)
        with self.b.located(target.span):
            new = self.b.apply(ops.array_set, old, *indices, self.convert(value, F64))
        for name, binding in list(self.env.items()):
            if binding.value is old:
                self.bind(name, new, target.span)

    def stmt_AugAssign(self, st: s.AugAssign) -> None:
        if isinstance(st.target, s.Subscript):
            array = self.expr(st.target.value)
            indices = self.indices(st.target, array)
            with self.b.located(st.target.span):
                current = self.b.apply(ops.array_get, array, *indices)
            value = self.binary(st.op, current, self.expr(st.value), st.span)
            self.store(st.target, value, indices)
        elif isinstance(st.target, s.Name):
            value = self.binary(st.op, self.name(st.target), self.expr(st.value), st.span)
            self.bind(st.target.id, value, st.target.span)
        else:
            self.fail(UnsupportedError, "augmented assignment needs a name or x[i]", st.span)

    def stmt_Return(self, st: s.Return) -> None:
        if st.value is None:
            self.fail(UnsupportedError, "return without a value is not supported; return a "
                      "number, an array or a tuple", st.span)
        values = self.exprs(st.value)
        if self.return_arity is None:
            self.return_arity = len(values)
        elif self.return_arity != len(values):
            self.fail(AdjitTypeError, f"this return gives {len(values)} values but an earlier "
                      f"one gives {self.return_arity}", st.span)
        for k, v in enumerate(values):
            self.env[f"$rv{k}"] = Binding(v, (st.span,))
        self.env["$ret"] = Binding(self.b.const(True), (st.span,))

    def stmt_Break(self, st: s.Break) -> None:
        if not self.loops:
            self.fail(AdjitSyntaxError, "'break' outside loop", st.span)
        self.env[self.loops[-1].brk] = Binding(self.b.const(True), (st.span,))

    def stmt_Continue(self, st: s.Continue) -> None:
        if not self.loops:
            self.fail(AdjitSyntaxError, "'continue' not properly in loop", st.span)
        self.env[self.loops[-1].cont] = Binding(self.b.const(True), (st.span,))

    def stmt_If(self, st: s.If) -> None:
        cond = self.truth(self.expr(st.test), st.test.span)
        known = constant_value(cond)
        if known is not None:  # `if True:`, `if DEBUG:` with a constant
            return self.block(st.body if known else st.orelse)
        self.if_statement(cond, lambda: self.block(st.body), lambda: self.block(st.orelse))

    # --- joins --------------------------------------------------------------

    def if_statement(self, cond: Value, then: Callable[[], None],
                     orelse: Callable[[], None]) -> None:
        """Lower two branches into regions and merge what they bind."""
        before = self.env
        outs: list[tuple[Region, Env]] = []
        for build in (then, orelse):
            region = Region()
            self.env = dict(before)
            with self.b.at(region):
                build()
            outs.append((region, self.env))
        self.env = before
        self.merge_into_if(cond, outs)

    def merge_into_if(self, cond: Value, outs: list[tuple[Region, Env]]) -> None:
        (r_then, e_then), (r_else, e_else) = outs
        exited = [self.exits_for_sure(e) for e in (e_then, e_else)]
        merged: Env = {}
        joined: list[tuple[str, Type, tuple[Span, ...]]] = []
        for name in sorted(set(e_then) | set(e_else)):
            bt, be = e_then.get(name), e_else.get(name)
            if bt is not None and be is not None and bt.value is be.value:
                merged[name] = bt
                continue
            sites = (bt.sites if bt else ()) + (be.sites if be else ())
            if not (bt and bt.defined) or not (be and be.defined):
                present = bt if (bt and bt.defined) else be
                # A branch that surely returned (or left the loop) does not
                # reach the code after the `if`: what it leaves unassigned is
                # no reason to call a variable possibly undefined.
                other_exited = exited[1] if present is bt else exited[0]
                if present is None or not present.defined or \
                        not (is_internal(name) or other_exited):
                    merged[name] = Binding(None, sites)
                    continue
                missing = r_else if present is bt else r_then
                with self.b.at(missing):
                    filler = self.placeholder(present.value.type)
                (e_else if present is bt else e_then)[name] = Binding(filler, ())
                bt, be = e_then[name], e_else[name]
            t = unify(bt.value.type, be.value.type)
            if t is None and name == "$value":
                self.fail(AdjitTypeError, f"the two results are a {bt.value.type} and a "
                          f"{be.value.type}", self.b.span)
            if t is None:
                self.fail(AdjitTypeError, f"{name!r} is a {bt.value.type} on one path and a "
                          f"{be.value.type} on another", be.sites[-1] if be.sites else None,
                          *(f"assigned at line {sp.line}, column {sp.col}" for sp in sites))
            ct, ce = constant_value(bt.value), constant_value(be.value)
            if ct is not None and ct == ce and bt.value.type == be.value.type == t \
                    and type(ct) is type(ce):
                merged[name] = Binding(self.b.const(ct, t), sites)
                continue
            joined.append((name, t, sites))
        # Names holding the same value on both paths (aliases of one array)
        # share one result, so they stay aliases after the `if`.
        slots: dict[tuple[int, int], int] = {}
        unique: list[tuple[str, Type, tuple[Span, ...]]] = []
        slot_of: list[int] = []
        for name, t, sites in joined:
            key = (id(e_then[name].value), id(e_else[name].value))
            if key not in slots:
                slots[key] = len(unique)
                unique.append((name, t, sites))
            slot_of.append(slots[key])
        for region, env in outs:
            with self.b.at(region):
                region.yields = [self.convert(env[n].value, t) for n, t, _ in unique]
        node = self.b.node(ops.if_, [cond], [t for _, t, _ in unique], regions=[r_then, r_else],
                           hints=[n if not is_internal(n) else n.strip("$0123456789")
                                  for n, _, _ in unique])
        for (name, _, sites), slot in zip(joined, slot_of):
            merged[name] = Binding(node.results[slot], sites)
        self.env = merged

    def exits_for_sure(self, env: Env) -> bool:
        """Whether a branch's environment has certainly returned, or broken
        out of or continued the innermost loop."""
        names = ["$ret"] + ([self.loops[-1].brk, self.loops[-1].cont] if self.loops else [])
        return any(n in env and env[n].defined and constant_value(env[n].value) is True
                   for n in names)

    def if_value(self, cond: Value, then: Callable[[], Value],
                 orelse: Callable[[], Value]) -> Value:
        """An `if` producing one value. Its branches may still change
        variables (a call that writes to an array argument), so it is a
        statement-level `if` whose branches bind the value to `$value`."""
        known = constant_value(cond)
        if known is not None:
            return then() if known else orelse()
        outer = self.env.pop("$value", None)

        def bind(build: Callable[[], Value]) -> Callable[[], None]:
            def branch() -> None:
                value = build()  # may replace self.env (nested ifs): bind after it
                self.env["$value"] = Binding(value, (self.b.span,))

            return branch

        self.if_statement(cond, bind(then), bind(orelse))
        value = self.env.pop("$value").value
        if outer is not None:
            self.env["$value"] = outer
        return value

    # --- loops --------------------------------------------------------------

    def stmt_While(self, st: s.While) -> None:
        if may_write_arrays([s.ExprStmt(st.test.span, st.test)]):
            # The test calls a function that may write to arrays: the condition
            # region cannot pass those writes on, so test it in the body:
            # `while True: if not test: break` then the body.
            exit_if = s.If(st.test.span, s.UnaryOp(st.test.span, "not", st.test),
                           [s.Break(st.test.span)], [])
            st = s.While(st.span, s.Num(st.test.span, True), [exit_if, *st.body])
        self.loop(st, st.body, counter=None)

    def stmt_For(self, st: s.For) -> None:
        args = [self.expr(a) for a in st.range_args]
        for a, e in zip(args, st.range_args):
            if a.type not in (I64, BOOL):
                self.fail(AdjitTypeError, f"range() arguments must be integers, not {a.type}",
                          e.span, "convert with int(...)")
        args = [self.convert(a, I64) for a in args]
        if len(args) == 1:
            args = [self.b.const(0), args[0]]
        if len(args) == 2:
            args.append(self.b.const(1))
        if len(args) != 3:
            self.fail(AdjitTypeError, "range() takes 1 to 3 arguments", st.span)
        if constant_value(args[2]) == 0:
            self.fail(UnsupportedError, "range() arg 3 must not be zero", st.range_args[2].span)
        early = (contains(st.body, (s.Break,), into_loops=False)
                 or contains(st.body, (s.Return,), into_loops=True))
        if early:
            self.loop(st, st.body, counter=args)
        else:
            self.counted_loop(st, args)

    def carried_names(self, loop: list[s.Stmt], extra: tuple[str, ...] = ()) -> list[str]:
        """User variables the loop assigns that are defined before it, then the
        lowering's own: the return flag and values (if the loop can return)."""
        names = assigned_names(loop)
        user = {n for n in names if n in self.env and self.env[n].defined}
        body = [b for st in loop for b in st.body]
        writes = may_write_arrays(body)
        if writes:  # arrays written through a name, an alias, or a call
            targets = {id(self.env[n].value) for n in written_arrays(body)
                       if n in self.env and self.env[n].defined}
            user |= {n for n, b in self.env.items() if not is_internal(n) and b.defined
                     and isinstance(b.value.type, ArrayType) and id(b.value) in targets}
        user = sorted(user)
        returns = contains(loop, (s.Return,), into_loops=True)
        internal = [n for n in (("$ret",) if returns else ()) + extra
                    if n in self.env and self.env[n].defined]
        if returns:
            internal += sorted(n for n in self.env if n.startswith("$rv") and self.env[n].defined)
        if writes:
            internal += sorted(n for n in self.env if n.startswith("$param"))
        return user + internal

    def counted_loop(self, st: s.For, rng: list[Value]) -> None:
        """A `for` node: the trip count is known when the loop starts."""

        def body(region: Region, env: Env) -> None:
            self.env[st.var.id] = Binding(region.args[0], (st.var.span,))
            region.args[0].hint = st.var.id
            self.block(st.body)

        self.build_loop(st, self.carried_names([st]), body, ops.for_, rng, [I64])

    def loop(self, st: s.Stmt, body_stmts: list[s.Stmt], counter: list[Value] | None) -> None:
        """A `while` node, for `while` and for a `for` that may exit early."""
        frame = LoopFrame(len(self.loops))
        self.env[frame.brk] = Binding(self.b.const(False), ())
        extra: tuple[str, ...] = (frame.brk,)
        if counter is not None:
            start, stop, step = counter
            if constant_value(step) is None:
                with self.b.located(st.range_args[-1].span):
                    self.b.node(ops.check, [self.b.apply(ops.eq, step, self.b.const(0))],
                                attrs={"error": "ValueError",
                                       "message": "range() arg 3 must not be zero"})
            self.env[frame.counter] = Binding(start, ())
            extra += (frame.counter,)

        def cond(region: Region, env: Env) -> Value:
            stop_now = self.env[frame.brk].value
            if "$ret" in self.env:
                ret = self.env["$ret"].value
                stop_now = self.if_value(stop_now, lambda: self.b.const(True), lambda: ret)
            return self.if_value(stop_now, lambda: self.b.const(False), test)

        def test() -> Value:
            if counter is None:
                return self.truth(self.expr(st.test), st.test.span)
            return self.range_test(self.env[frame.counter].value, counter[1], counter[2])

        def body(region: Region, env: Env) -> None:
            if counter is not None:
                i = self.env[frame.counter].value
                self.env[st.var.id] = Binding(i, (st.var.span,))
                self.env[frame.counter] = Binding(self.b.apply(ops.add, i, counter[2]), ())
            self.block(body_stmts)

        self.build_loop(st, self.carried_names([st], extra), body, ops.while_, [], [],
                        cond=cond, frame=frame)
        del self.env[frame.brk]
        self.env.pop(frame.counter, None)
        forever = isinstance(st, s.While) and isinstance(st.test, s.Num) and st.test.value is True
        if forever and not contains(body_stmts, (s.Break,), into_loops=False):
            self.env["$ret"] = Binding(self.b.const(True), ())  # only a return leaves it

    def range_test(self, i: Value, stop: Value, step: Value) -> Value:
        known = constant_value(step)
        if known is not None:
            return self.b.apply(ops.lt if known > 0 else ops.gt, i, stop)
        up = self.b.apply(ops.gt, step, self.b.const(0))
        return self.if_value(up, lambda: self.b.apply(ops.lt, i, stop),
                             lambda: self.b.apply(ops.gt, i, stop))

    def build_loop(self, st: s.Stmt, carried: list[str], body_fn, op, leading: list[Value],
                   leading_arg_types: list[Type], cond=None, frame: LoopFrame | None = None):
        """Lower a loop, widening carried types until the body agrees with them."""
        parent = self.b.region
        checkpoint = len(parent.nodes)
        before = dict(self.env)
        widened: dict[str, Type] = {}
        diverged: set[str] = set()  # aliases before the loop that part inside it
        for _ in range(MAX_LOOP_ATTEMPTS):
            del parent.nodes[checkpoint:]
            self.env = dict(before)
            for name, t in widened.items():
                if name in self.env and self.env[name].defined:
                    self.env[name] = Binding(self.convert(self.env[name].value, t),
                                             self.env[name].sites)
                else:  # an internal variable first set inside the loop
                    self.env[name] = Binding(self.placeholder(t), ())
            names = carried + [n for n in widened if n not in carried]
            inits = [self.env[n].value for n in names]
            types = [v.type for v in inits]
            # Names bound to one value before the loop (aliases of one array)
            # share its region argument, so a write through one reaches all.
            first: dict[int, int] = {}
            group = [first.setdefault(id(v), k) if isinstance(v.type, ArrayType)
                     and names[k] not in diverged else k for k, v in enumerate(inits)]
            hints = [n.strip("$0123456789") if is_internal(n) else n for n in names]
            regions = []
            if cond is not None:
                cond_region = Region(types, hints)
                self.env = {**before, **{n: Binding(cond_region.args[g], ())
                                         for n, g in zip(names, group)}}
                with self.b.at(cond_region):
                    cond_region.yields = [cond(cond_region, self.env)]
                regions.append(cond_region)
            body = Region(leading_arg_types + types, [""] * len(leading_arg_types) + hints)
            carried_args = body.args[len(leading_arg_types):]
            self.env = {**before, **{n: Binding(carried_args[g], self.env_sites(before, n))
                                     for n, g in zip(names, group)}}
            self.loops.append(frame or LoopFrame(len(self.loops)))
            with self.b.at(body):
                body_fn(body, self.env)
            self.loops.pop()
            end = self.env
            changed = False
            for n, t in zip(names, types):
                got = end[n].value.type if end.get(n) and end[n].defined else t
                u = unify(t, got)
                if u is None:
                    self.fail(AdjitTypeError, f"{n!r} is a {t} before the loop and a {got} "
                              "after an iteration", end[n].sites[-1] if end[n].sites else None)
                if u != t:
                    widened[n] = u
                    changed = True
            # The return flag and values first set inside the loop (filtered
            # in C: a Python loop over every name made lowering quadratic).
            for n in filter(_RETURN_STATE, end):
                if n not in names and end[n].defined:
                    widened[n] = end[n].value.type
                    changed = True
            for k, g in enumerate(group):
                if g != k and end[names[k]].value is not end[names[g]].value:
                    diverged.update((names[k], names[g]))
                    changed = True
            if changed:
                continue
            with self.b.at(body):
                body.yields = [self.convert(end[n].value, t) for n, t in zip(names, types)]
            regions.append(body)
            node = self.b.node(op, leading + inits, types, regions=regions, hints=hints)
            results = self.loop_results(group, inits, body.yields, carried_args, node.results)
            self.env = dict(before)
            for n in assigned_names([st]):
                if n not in names:
                    sites = (end[n].sites if n in end else ()) or (st.span,)
                    self.env[n] = Binding(None, sites)
            for n, v in zip(names, results):
                self.env[n] = Binding(v, before[n].sites if n in before else ())
            return node
        self.fail(AdjitTypeError, "cannot settle the types of the loop's variables", st.span)

    @staticmethod
    def loop_results(group: list[int], inits: list[Value], yields: list[Value],
                     args: list[Value], results: list[Value]) -> list[Value]:
        """What each carried name holds after the loop: its initial value if the
        body never changes it; the result of the first name of its alias group
        that ends each iteration with the same value (aliases stay aliases)."""
        out = []
        for k, g in enumerate(group):
            if yields[k] is args[g] and yields[g] is args[g]:
                out.append(inits[k])
                continue
            same = next(j for j in range(len(group))
                        if group[j] == g and yields[j] is yields[k])
            out.append(results[same])
        return out

    @staticmethod
    def env_sites(env: Env, name: str) -> tuple[Span, ...]:
        return env[name].sites if name in env else ()

    # --- calls of user functions --------------------------------------------

    def call_user(self, target, args: list[Value], span: Span) -> list[Value]:
        definition: s.FunctionDef = target.definition
        params = definition.params
        if len(args) > len(params):
            self.fail(AdjitTypeError, f"{definition.name}() takes {len(params)} arguments but "
                      f"{len(args)} were given", span)
        for p in params[len(args):]:
            if p.default is None:
                self.fail(AdjitTypeError, f"{definition.name}() missing argument {p.name!r}",
                          span)
            args.append(self.b.const(p.default.value))
        callee = self.program.specialize(definition, target.scope, [a.type for a in args], span,
                                         self.source)
        node = self.b.node(ops.call, args, list(callee.result_types),
                           attrs={"callee": callee.name})
        returned = len(callee.returned_types)
        for k, new in zip(callee.writes, node.results[returned:]):
            for name, binding in list(self.env.items()):  # the caller sees the writes
                if binding.value is args[k]:
                    self.env[name] = Binding(new, binding.sites)
        return node.results[:returned]


class ProgramLowering:
    """Specializes functions on demand and collects them in one IR module."""

    def __init__(self) -> None:
        self.module = Module()
        self.specialized: dict[tuple, Function] = {}
        self.in_progress: set[tuple[int, str]] = set()

    def specialize(self, definition: s.FunctionDef, scope: Scope, arg_types: list[Type],
                   span: Span | None = None, caller_source: SourceFile | None = None) -> Function:
        key = (id(scope), definition.name, tuple(arg_types))
        if key in self.specialized:
            return self.specialized[key]
        if (id(scope), definition.name) in self.in_progress:
            raise UnsupportedError(f"recursive call of {definition.name!r} is not supported",
                                   caller_source, span, ("rewrite the recursion as a loop",))
        if scope.evaluate_constant is None:
            scope.evaluate_constant = evaluate_constant
        symbol = definition.name
        k = 1
        while symbol in self.module.functions:
            symbol = f"{definition.name}.{k}"
            k += 1
        self.in_progress.add((id(scope), definition.name))
        try:
            fn = FunctionLowering(self, definition, scope, list(arg_types), symbol).lower()
        finally:
            self.in_progress.discard((id(scope), definition.name))
        self.module.add(fn)
        self.specialized[key] = fn
        return fn


def evaluate_constant(expr: s.Expr, scope: Scope) -> Any:
    """A module constant's value: its expression compiled and interpreted."""
    from adjit.ir.interp import interpret

    definition = s.FunctionDef("<constant>", [], [s.Return(expr.span, expr)], expr.span)
    program = ProgramLowering()
    fn = program.specialize(definition, scope, [])
    program.module.entry = fn.name
    if len(fn.result_types) != 1 or fn.result_types[0] not in (F64, I64, BOOL):
        raise UnsupportedError("module constants must be numbers", scope.source, expr.span)
    return interpret(program.module, [])


def lower_function(definition: s.FunctionDef, scope: Scope, arg_types: list[Type]) -> Module:
    """The IR module for `definition` specialized on `arg_types` (entry first)."""
    program = ProgramLowering()
    fn = program.specialize(definition, scope, arg_types)
    program.module.entry = fn.name
    program.module.source = scope.source
    return program.module

