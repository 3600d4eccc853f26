"""Loop-invariant accumulations become scalars the loop carries.

Reverse mode accumulates cotangents with `array_add_at`. In a loop nest
such as `for i: for j: s += x[i] * A[i, j] * x[j]`, the adjoint of the
inner loop adds to `g[j]` and to `g[i]` in every iteration. `g[i]` is the
same element throughout the inner loop, yet it makes a round trip through
memory per iteration (load, add, store, and the next load waits for the
store): LLVM cannot keep it in a register, because `g[j]` is the same
element when `j == i`. This pass sums those terms in a float the loop
carries and adds the sum once after the loop.

Rule: in a `for` loop with a constant step, an `array_add_at` node moves
out of the loop when

- it is marked `checked_before` (an accumulation of reverse mode: its
  indices were checked by the forward sweep, in the same iteration);
- its indices are defined outside the loop;
- it is a link of a chain of `array_add_at` nodes that leads from the
  array the loop carries (the body's argument) to the array the body
  yields, each link used only by the next one: the loop reads no element
  of the array, so no iteration can see the missing terms.

The node becomes `acc' = add acc, value` on a new carried float (starting
at 0.0), and after the loop an `if` that runs when the loop ran at least
once (with no iteration, the indices may never have been checked) adds the
sum to the element. The terms are added in another order (theirs first,
then the element), so a result may differ from the unmoved one in its
last bits, as with any reassociation of float sums: reverse mode fixes no
order for cotangent sums.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

from adjit.ir import ops
from adjit.ir.builder import Builder, constant_value
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.types import F64
from adjit.passes.manager import Pass, register, resolve, substitute


@register
@dataclass(frozen=True)
class PromoteAccumulations(Pass):
    name: ClassVar[str] = "accumulate"

    def run(self, module: Module) -> Module:
        for fn in module.functions.values():
            promote_accumulations(fn)
        return module


def promote_accumulations(fn: Function) -> None:
    _region(fn.body)


def _region(region: Region) -> None:
    out: list[Node] = []
    subst: dict[Value, Value] = {}
    for node in region.nodes:
        node.operands = [resolve(subst, v) for v in node.operands]
        for inner in node.regions:
            substitute(inner, subst)
            _region(inner)
        before, after, replaced = _promote(node) if _counted(node) else ([], [], {})
        out.extend(before)
        out.append(node)
        out.extend(after)
        subst.update(replaced)
    region.yields = [resolve(subst, v) for v in region.yields]
    region.nodes = out


def _counted(node: Node) -> bool:
    step = constant_value(node.operands[2]) if node.op is ops.for_ else None
    return isinstance(step, int) and not isinstance(step, bool) and step != 0


def _defined_inside(region: Region) -> set[Value]:
    inside = set(region.args)
    for node in region.walk():
        inside.update(node.results)
        for inner in node.regions:
            inside.update(inner.args)
    return inside


def _uses(region: Region) -> Counter:
    """How often each value is used in `region`: operands of its nodes,
    anything its nested regions use, its yields."""
    uses: Counter = Counter(region.yields)
    for node in region.walk():
        uses.update(node.operands)
    for node in region.walk():
        for inner in node.regions:
            uses.update(inner.yields)
    return uses


def _chain(body: Region, start: Value, end: Value, uses: Counter) -> list[Node] | None:
    """The `array_add_at` nodes leading from `start` to `end` directly in
    `body`, each value used once (by the next link), or None."""
    producers = {node.result: node for node in body.nodes if node.op is ops.array_add_at}
    chain: list[Node] = []
    v = end
    while v is not start:
        node = producers.get(v)
        if node is None or uses[v] != 1:
            return None
        chain.append(node)
        v = node.operands[0]
    if uses[start] != 1:
        return None
    return chain[::-1]


def _promote(loop: Node) -> tuple[list[Node], list[Node], dict[Value, Value]]:
    """Rewrite `loop`; returns the nodes to put before and after it, and the
    replacements of its results for the nodes after it."""
    body = loop.regions[0]
    inside = _defined_inside(body)
    uses = _uses(body)
    carried = len(loop.operands) - 3
    before, after, replaced = Region(), Region(), {}
    for k in range(carried):
        arg, result = body.args[1 + k], loop.results[k]
        if not arg.type.is_array:
            continue
        chain = _chain(body, arg, body.yields[k], uses) or []
        movable = [node for node in chain if node.attrs.get("checked_before")
                   and not any(v in inside for v in node.operands[1:-1])]
        if not movable:
            continue
        sums = []
        for node in movable:
            zero = Builder(before, loop.span).const(0.0)
            acc = body.add_arg(F64, "acc")
            loop.operands.append(zero)
            total = Node(ops.add, [acc, node.operands[-1]], [F64], span=node.span)
            body.nodes[body.nodes.index(node)] = total
            substitute(body, {node.result: node.operands[0]})
            body.yields.append(total.result)
            sums.append((node, Value(F64, "acc", loop, len(loop.results))))
            loop.results.append(sums[-1][1])
        replaced[result] = _add_after(after, loop, result, sums)
    return before.nodes, after.nodes, replaced


def _add_after(after: Region, loop: Node, array: Value,
               sums: list[tuple[Node, Value]]) -> Value:
    """Add each sum to its element when `loop` ran; returns the new array."""
    start, stop, step = loop.operands[:3]
    b = Builder(after, loop.span)
    ran = b.apply(ops.lt if constant_value(step) > 0 else ops.gt, start, stop)
    then, otherwise = Region(), Region()
    updated = array
    for node, total in sums:
        updated = Builder(then, node.span).node(ops.array_add_at,
                                                [updated, *node.operands[1:-1], total],
                                                attrs=dict(node.attrs)).result
    then.yields = [updated]
    otherwise.yields = [array]
    return b.node(ops.if_, [ran], [array.type], regions=[then, otherwise]).result
