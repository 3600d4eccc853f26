"""Lowerings of structured control flow and calls: `if`, `while`, `for`,
`call`.

- `if`: a conditional branch to two blocks, each lowering its region; the
  results are phis in the merge block.
- `while`: a header block with one phi per carried value; the condition
  region is lowered inline in the header, the body jumps back to it.
- `for`: Python's `range(start, stop, step)`; the trip count is computed
  before the loop as CPython's range does (unsigned, so no overflow for any
  int64 bounds), step 0 raises ValueError. The loop counts iterations and
  steps the index alongside; it is emitted in rotated form (a guard, then a
  body that tests at its end).
- `call`: an LLVM call of the callee's internal function; a non-zero
  status returns at once (the callee already filled the error record).
"""
from __future__ import annotations

from llvmlite import ir

from adjit.backend.llvm.abi import INT64
from adjit.backend.llvm.registry import lowers
from adjit.backend.llvm.runtime import i64
from adjit.backend.llvm.runtime_checks import MESSAGES
from adjit.ir import ops


def _phis(fl, values: list[ir.Value], incoming: ir.Block, name: str) -> list[ir.Value]:
    phis = []
    for v in values:
        phi = fl.b.phi(v.type, name=name)
        phi.add_incoming(v, incoming)
        phis.append(phi)
    return phis


@lowers(ops.if_)
def _if(fl, node, args):
    b = fl.b
    then_block = fl.llfn.append_basic_block("then")
    else_block = fl.llfn.append_basic_block("else")
    merge = fl.llfn.append_basic_block("endif")
    b.cbranch(args[0], then_block, else_block)
    arms = []
    for region, block in zip(node.regions, (then_block, else_block)):
        b.position_at_end(block)
        yields = fl.region(region, [])
        arms.append((yields, b.block))
        b.branch(merge)
    b.position_at_end(merge)
    results = []
    for k, result in enumerate(node.results):
        phi = b.phi(arms[0][0][k].type, name=result.hint or "if")
        for yields, block in arms:
            phi.add_incoming(yields[k], block)
        results.append(phi)
    return results


@lowers(ops.while_)
def _while(fl, node, args):
    b = fl.b
    cond, body = node.regions
    pre = b.block
    head = fl.llfn.append_basic_block("while.head")
    body_block = fl.llfn.append_basic_block("while.body")
    done = fl.llfn.append_basic_block("while.done")
    b.branch(head)
    b.position_at_end(head)
    carried = _phis(fl, args, pre, "carried")
    (go_on,) = fl.region(cond, carried)
    b.cbranch(go_on, body_block, done)
    b.position_at_end(body_block)
    for phi, value in zip(carried, fl.region(body, carried)):
        phi.add_incoming(value, b.block)
    b.branch(head)
    b.position_at_end(done)
    return carried


def trip_count(fl, start: ir.Value, stop: ir.Value, step: ir.Value) -> ir.Value:
    """len(range(start, stop, step)) as CPython computes it, for step != 0."""
    b = fl.b
    up = b.icmp_signed(">", step, i64(0))
    nonempty = b.select(up, b.icmp_signed("<", start, stop), b.icmp_signed(">", start, stop))
    distance = b.select(up, b.sub(b.sub(stop, start), i64(1)), b.sub(b.sub(start, stop), i64(1)))
    stride = b.select(up, step, b.sub(i64(0), step))
    return b.select(nonempty, b.add(b.udiv(distance, stride), i64(1)), i64(0))


@lowers(ops.for_)
def _for(fl, node, args):
    """Emitted already rotated (a guard, then a body that tests at its end):
    LLVM's loop passes would rotate it anyway, at a cost that grows with the
    size of the whole function for every loop."""
    b = fl.b
    start, stop, step, *init = args
    if not (isinstance(step, ir.Constant) and step.constant):
        fl.raise_if(b.icmp_signed("==", step, i64(0)), ValueError, MESSAGES["range_step"])
    n = trip_count(fl, start, stop, step)
    pre = b.block
    body_block = fl.llfn.append_basic_block("for.body")
    done = fl.llfn.append_basic_block("for.done")
    b.cbranch(b.icmp_unsigned("!=", n, i64(0)), body_block, done)
    b.position_at_end(body_block)
    k = b.phi(INT64, name="trip")
    k.add_incoming(i64(0), pre)
    index = b.phi(INT64, name=node.regions[0].args[0].hint or "i")
    index.add_incoming(start, pre)
    carried = _phis(fl, init, pre, "carried")
    yields = fl.region(node.regions[0], [index] + carried)
    end = b.block
    next_k = b.add(k, i64(1))
    k.add_incoming(next_k, end)
    index.add_incoming(b.add(index, step), end)
    for phi, value in zip(carried, yields):
        phi.add_incoming(value, end)
    b.cbranch(b.icmp_unsigned("<", next_k, n), body_block, done)
    b.position_at_end(done)
    results = []
    for value, phi, result in zip(init, yields, node.results):
        out = b.phi(value.type, name=result.hint or "carried")
        out.add_incoming(value, pre)
        out.add_incoming(phi, end)
        results.append(out)
    return results


@lowers(ops.call)
def _call(fl, node, args):
    b = fl.b
    out = b.call(fl.ml.functions[node.attrs["callee"]], [fl.ctx] + list(args))
    fl.propagate_if(b.extract_value(out, 0))
    return [b.extract_value(out, k + 1) for k in range(len(node.results))]
