"""Lowering an IR `Module` to an llvmlite `ir.Module`.

Every IR function becomes an internal LLVM function

    {i32 status, results...} @name(ptr ctx, params...)

(status 0: ok; 1: an error whose site and payloads are in the context's
record), and the entry function also gets an exported C wrapper
(`entry.py`) and, when it takes and returns only scalars and arrays, a
CPython-level wrapper of that (`pyentry.py`). Structured control flow maps
directly onto basic blocks and phi nodes (`control.py`); every other op is
lowered by its rule in `registry.LOWERINGS`. Array references are duplicated
and dropped where `ownership.plan_function` says.

Invariant: LLVM values of IR values are only used in blocks the IR value's
definition dominates, because regions nest exactly like the blocks they
lower to.
"""
from __future__ import annotations

from typing import Sequence

from llvmlite import ir

from adjit.backend.llvm import arrays, control, mathfns, scalar, tapes  # noqa: F401  (rules)
from adjit.backend.llvm.abi import (
    C_RECORD, CONTEXT, H_REFCOUNT, HEADER, INT32, INT64, PTR, RECORD, R,
    STATUS_ERROR, STATUS_OK, value_type)
from adjit.backend.llvm.entry import define_entry
from adjit.backend.llvm.options import ERROR_MODELS, Options  # noqa: F401  (re-exported)
from adjit.backend.llvm.ownership import Plan, plan_function
from adjit.backend.llvm.pyentry import define_python_entry, has_python_entry
from adjit.backend.llvm.registry import LOWERINGS
from adjit.backend.llvm.runtime import (
    Runtime, field_ptr, header_of, i64, load_field, store_field)
from adjit.backend.llvm.runtime_checks import SiteTable
from adjit.errors import InternalError
from adjit.ir.core import Function, Module, Node, Region, Value

def result_struct(fn: Function) -> ir.LiteralStructType:
    return ir.LiteralStructType([INT32] + [value_type(t) for t in fn.result_types])


class ModuleLowering:
    """Lowers all functions of `module` into one LLVM module named `prefix`."""

    def __init__(self, module: Module, options: Options, prefix: str, triple: str = ""):
        self.module = module
        self.options = options
        self.prefix = prefix
        self.llmod = ir.Module(name=prefix)
        if triple:
            self.llmod.triple = triple
        self.runtime = Runtime(self.llmod)
        self.math_symbols = mathfns.SYMBOLS  # how function ops are called (mathfns.py)
        self.sites = SiteTable()
        self.functions: dict[str, ir.Function] = {}
        for fn in module.functions.values():
            ftype = ir.FunctionType(result_struct(fn),
                                    [PTR] + [value_type(p.type) for p in fn.params])
            llfn = ir.Function(self.llmod, ftype, f"{prefix}.{fn.name}")
            llfn.linkage = "internal"
            self.functions[fn.name] = llfn
        self.entry_name = ""  # the exported C entry, once lowered
        self.python_entry_name = ""  # the CPython-level entry, if the signature allows one

    def lower(self) -> ir.Module:
        for fn in self.module.functions.values():
            FunctionLowering(self, fn).run()
        entry = self.module.entry_function
        self.entry_name = define_entry(self, entry)
        if has_python_entry(entry):
            self.python_entry_name = f"{self.prefix}_py"
            define_python_entry(self.llmod, self.runtime, entry,
                                self.llmod.globals[self.entry_name],
                                self.python_entry_name, self.options.contiguous)
        return self.llmod


class FunctionLowering:
    """The state of lowering one function: builder, value map, plan."""

    def __init__(self, ml: ModuleLowering, fn: Function):
        self.ml = ml
        self.fn = fn
        self.options = ml.options
        self.source = fn.source or ml.module.source
        self.llfn = ml.functions[fn.name]
        self.ctx = self.llfn.args[0]
        self.b = ir.IRBuilder(self.llfn.append_basic_block("entry"))
        self.record = load_field(self.b, CONTEXT, self.ctx, C_RECORD)
        self.values: dict[Value, ir.Value] = {}
        self.plan: Plan = plan_function(fn)
        self.nonnegative = arrays.nonnegative_values(fn)  # indices needing no fixup
        self.fm = ("fast",) if ml.options.fastmath else ()
        self._error_exit: ir.Block | None = None
        self._raise: ir.Block | None = None  # shared by every check (see raise_first)
        self._raise_phis: dict[str, ir.PhiInstr] = {}  # record field -> its value
        self._raise_preds: list[ir.Block] = []
        self.node_now: Node | None = None

    @property
    def numpy_errors(self) -> bool:
        return self.options.error_model == "numpy"

    def run(self) -> None:
        args = list(self.llfn.args[1:])
        if self.fn is self.ml.module.entry_function:
            for k in self.options.contiguous:
                args[k] = arrays.with_contiguous_strides(self.b, args[k],
                                                         self.fn.params[k].type.ndim)
        results = self.region(self.fn.body, args)
        out = ir.Constant(self.llfn.return_value.type, ir.Undefined)
        out = self.b.insert_value(out, ir.Constant(INT32, STATUS_OK), 0)
        for k, v in enumerate(results):
            out = self.b.insert_value(out, v, k + 1)
        self.b.ret(out)

    # --- regions and nodes ---------------------------------------------------------

    def region(self, region: Region, args: Sequence[ir.Value]) -> list[ir.Value]:
        """Lower `region` at the builder's position; returns the yielded values."""
        for param, value in zip(region.args, args):
            self.values[param] = value
        for v in self.plan.drop_at_entry.get(region, ()):
            self.drop(v)
        for node in region.nodes:
            self.node(node)
        for v in self.plan.dup_at_yield.get(region, ()):
            self.dup(v)
        return [self.values[v] for v in region.yields]

    def node(self, node: Node) -> None:
        rule = LOWERINGS.get(node.op)
        if rule is None:
            raise InternalError(f"no LLVM lowering for op {node.op.name!r}", stage="llvm",
                                source=self.source, span=node.span)
        for v in self.plan.dup_before.get(node, ()):
            self.dup(v)
        saved, self.node_now = self.node_now, node
        outs = rule(self, node, [self.values[v] for v in node.operands])
        self.node_now = saved
        for result, value in zip(node.results, outs):
            self.values[result] = value
        for v in self.plan.drop_after.get(node, ()):
            self.drop(v)

    # --- references ------------------------------------------------------------------

    def dup(self, v: Value) -> None:
        """One more reference to the block of array or tape `v`."""
        header = header_of(self.b, self.values[v], v.type)
        count = field_ptr(self.b, HEADER, header, H_REFCOUNT)
        self.b.store(self.b.add(self.b.load(count, typ=INT64), i64(1)), count)

    def drop(self, v: Value) -> None:
        self.release(header_of(self.b, self.values[v], v.type))

    def release(self, header: ir.Value) -> None:
        self.b.call(self.ml.runtime.release(), [self.ctx, header])

    # --- errors ----------------------------------------------------------------------

    def error_exit(self) -> ir.Block:
        """The block that returns status 1 (the record is already filled)."""
        if self._error_exit is None:
            here = self.b.block
            self._error_exit = self.llfn.append_basic_block("error")
            self.b.position_at_end(self._error_exit)
            out = ir.Constant(self.llfn.return_value.type, ir.Undefined)
            self.b.ret(self.b.insert_value(out, ir.Constant(INT32, STATUS_ERROR), 0))
            self.b.position_at_end(here)
        return self._error_exit

    def raise_if(self, failed: ir.Value, exc_type: type[BaseException], template: str,
                 payloads: Sequence[ir.Value] = (), node: Node | None = None) -> None:
        """Raise `exc_type(template.format(*payloads))` at the current node when
        `failed` (an i1) is true; continue after it otherwise. Not for a node
        reverse mode marked `checked_before`: it repeats, on the same values,
        a computation the forward sweep checked already (a check left in
        would keep LLVM from vectorizing the adjoint's loops)."""
        self.raise_first([(failed, exc_type, template)], payloads, node)

    def raise_first(self, checks: Sequence[tuple[ir.Value, type[BaseException], str]],
                    payloads: Sequence[ir.Value] = (), node: Node | None = None) -> None:
        """`raise_if` for each (failed, exc_type, template) of `checks` in
        turn, with one branch: the first that failed raises.

        Every check of a function branches to one shared block, whose phis
        pick the site and payloads to record: a block per check made LLVM's
        O3 and code generation superlinear in the number of checks."""
        node = node or self.node_now
        if node is not None and node.attrs.get("checked_before"):
            return
        span = node.span if node else None
        b = self.b
        *earlier, (failed, exc_type, template) = checks
        site: ir.Value = i64(self.ml.sites.add(exc_type, template, self.source, span))
        for cond, exc_type, template in reversed(earlier):
            site = b.select(cond, i64(self.ml.sites.add(exc_type, template, self.source, span)),
                            site)
            failed = b.or_(cond, failed)
        go_on = self.llfn.append_basic_block("ok")
        b.cbranch(failed, self._raise_block(), go_on).set_weights([1, 1 << 20])
        self._raise_preds.append(b.block)
        fields = {"site": site, **{f"payload{k}": p for k, p in enumerate(payloads)}}
        for name in fields.keys() - self._raise_phis.keys():
            self._raise_phi(name)
        for name, phi in self._raise_phis.items():
            phi.add_incoming(fields.get(name, i64(0)), b.block)
        b.position_at_end(go_on)

    def _raise_block(self) -> ir.Block:
        """The shared block that fills the record and returns status 1."""
        if self._raise is None:
            here = self.b.block
            self._raise = self.llfn.append_basic_block("raise")
            self.b.position_at_end(self._raise)
            self.b.branch(self.error_exit())
            self.b.position_at_end(here)
        return self._raise

    def _raise_phi(self, name: str) -> None:
        """A phi of the shared raise block storing record field `name`
        (0 from the checks before it, which had no such payload)."""
        here = self.b.block
        self.b.position_at_start(self._raise)
        phi = self.b.phi(INT64, name)
        for pred in self._raise_preds[:-1]:
            phi.add_incoming(i64(0), pred)
        self.b.position_before(self._raise.terminator)
        store_field(self.b, RECORD, self.record, R[name], phi)
        self.b.position_at_end(here)
        self._raise_phis[name] = phi

    def propagate_if(self, status: ir.Value) -> None:
        """Return the callee's error status when it is not 0."""
        failed = self.b.icmp_unsigned("!=", status, ir.Constant(INT32, STATUS_OK))
        go_on = self.llfn.append_basic_block("ok")
        self.b.cbranch(failed, self.error_exit(), go_on).set_weights([1, 1 << 20])
        self.b.position_at_end(go_on)


def lower_module(module: Module, options: Options | None = None, prefix: str = "adjit",
                 triple: str = "") -> ModuleLowering:
    """Lower `module`; the result holds the LLVM module, the error sites and
    the exported entry's name."""
    ml = ModuleLowering(module, options or Options(), prefix, triple)
    ml.lower()
    return ml
