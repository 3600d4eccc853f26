"""Liveness of array values and the reference-counting plan built from it.

IR arrays are values: `array_set` returns a new array. Compiled code keeps
one reference count per array buffer (and per tape) and follows the plan
computed here (in the manner of Perceus, Reinking et al. 2021), so that:

- an `array_set` whose operand is dead afterwards *consumes* the operand's
  reference; at run time it writes in place when that reference is the only
  one (count 1), and copies otherwise (the buffer is shared with a value that
  is still live, e.g. through an `if` result or a loop-carried alias);
- an `array_set` whose operand is still used later copies, leaving the
  operand untouched;
- every buffer allocated by the call is freed right after its last use.

Ownership rules. Each array value holds one reference while it is owned by
the region that defines it (node results; the arguments of function bodies
and loop bodies). Operands are either consumed (the first operand of
`array_set`, `array_add_at` and `array_add`; `call` arguments, loop initial
values, both choices of `select`, what `tape_push` pushes and the tapes of
`tape_push`/`tape_pop`; region yields) or borrowed (every other use,
including any use from inside a nested region). A consumed operand
whose reference is still needed afterwards is duplicated first (`dup`); an
owned value is dropped (`drop`) right after its last borrowing use. An owned
value whose last use is inside an `if` moves into both branches, which then
own it. `while` condition regions borrow their arguments (the loop state
owns them). Liveness is the standard backward analysis over each region,
where a node uses everything its nested regions use from outside, and a
loop's regions see values from outside as live throughout (they are, for
the next iteration).

On top of the plan, `unique` marks values that certainly hold the only
reference to their block; an in-place op consuming one needs no run-time
check, which keeps loops of element writes free of anything but the write.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from adjit.backend.llvm.abi import is_managed
from adjit.ir import ops
from adjit.ir.core import Function, Node, Region, Value


def is_array(v: Value) -> bool:
    """Whether `v` holds a reference (arrays and tapes do; see abi.is_managed)."""
    return is_managed(v.type)


# Ops that write into their first operand when they hold its only reference.
IN_PLACE = (ops.array_set, ops.array_add_at, ops.array_add)


def _consumed_positions(node: Node) -> range | tuple[int, ...]:
    if node.op in IN_PLACE:
        return (0,)
    if node.op is ops.select:
        return (1, 2)
    if node.op in (ops.call, ops.while_, ops.tape_push):
        return range(len(node.operands))
    if node.op is ops.tape_pop:
        return (0,)
    if node.op is ops.for_:
        return range(3, len(node.operands))
    return ()


@dataclass
class Plan:
    """Where compiled code duplicates and drops array references."""

    dup_before: dict[Node, list[Value]] = field(default_factory=dict)
    drop_after: dict[Node, list[Value]] = field(default_factory=dict)
    drop_at_entry: dict[Region, list[Value]] = field(default_factory=dict)
    dup_at_yield: dict[Region, list[Value]] = field(default_factory=dict)
    # array_set (and other IN_PLACE) nodes whose operand stays live: they copy.
    copying: set[Node] = field(default_factory=set)
    # Values certainly holding the only reference to their block wherever they
    # are used: an IN_PLACE op consuming one writes in place without a check.
    unique: set[Value] = field(default_factory=set)

    def add(self, table: dict, key, value: Value, times: int = 1) -> None:
        if times > 0:
            table.setdefault(key, []).extend([value] * times)


class _Analysis:
    def __init__(self) -> None:
        self.plan = Plan()
        self._free: dict[Region, list[Value]] = {}

    # --- uses ----------------------------------------------------------------

    def free_uses(self, region: Region) -> list[Value]:
        """Array values `region` (and its nested regions) uses but does not define."""
        if region not in self._free:
            defined = set(region.args)
            used: dict[Value, None] = {}
            for node in region.nodes:
                for v in node.operands:
                    if is_array(v) and v not in defined:
                        used.setdefault(v)
                for inner in node.regions:
                    for v in self.free_uses(inner):
                        if v not in defined:
                            used.setdefault(v)
                defined.update(node.results)
            for v in region.yields:
                if is_array(v) and v not in defined:
                    used.setdefault(v)
            self._free[region] = list(used)
        return self._free[region]

    def nested_uses(self, node: Node) -> list[Value]:
        out: dict[Value, None] = {}
        for inner in node.regions:
            for v in self.free_uses(inner):
                out.setdefault(v)
        return list(out)

    def node_uses(self, node: Node) -> list[Value]:
        out = {v: None for v in node.operands if is_array(v)}
        for v in self.nested_uses(node):
            out.setdefault(v)
        return list(out)

    # --- the plan --------------------------------------------------------------

    def region(self, region: Region, owned_at_entry: list[Value]) -> None:
        plan = self.plan
        nodes = region.nodes
        live = {v for v in region.yields if is_array(v)}
        live_after: list[set[Value]] = [set()] * len(nodes)
        for k in range(len(nodes) - 1, -1, -1):
            live_after[k] = set(live)
            live.update(self.node_uses(nodes[k]))
        owned: set[Value] = set()
        for v in owned_at_entry:
            if v in live:
                owned.add(v)
            else:
                plan.add(plan.drop_at_entry, region, v)
        for k, node in enumerate(nodes):
            moved = self.node(node, owned, live_after[k])
            self.subregions(node, moved)
            for v in node.results:
                if is_array(v):
                    if v in live_after[k]:
                        owned.add(v)
                    else:
                        plan.add(plan.drop_after, node, v)
        for v, times in Counter(v for v in region.yields if is_array(v)).items():
            if v in owned:
                owned.discard(v)
                times -= 1
            plan.add(plan.dup_at_yield, region, v, times)
        assert not owned, f"array values neither consumed nor dropped: {owned}"

    def node(self, node: Node, owned: set[Value], live_after: set[Value]) -> list[Value]:
        """Plan the references `node` uses; returns the values moved into an `if`."""
        plan = self.plan
        consumed = Counter(node.operands[k] for k in _consumed_positions(node)
                           if is_array(node.operands[k]))
        borrowed = {v for k, v in enumerate(node.operands)
                    if is_array(v) and k not in _consumed_positions(node)}
        borrowed.update(self.nested_uses(node))
        moved = []
        for v in self.node_uses(node):
            times = consumed[v]
            if v in owned and v not in live_after:
                owned.discard(v)
                if node.op is ops.if_:
                    moved.append(v)  # the `if` has no array operands of its own
                elif v in borrowed:
                    plan.add(plan.dup_before, node, v, times)
                    plan.add(plan.drop_after, node, v)
                else:
                    plan.add(plan.dup_before, node, v, times - 1)
            elif node.op in IN_PLACE and v is node.operands[0]:
                plan.copying.add(node)
            else:
                plan.add(plan.dup_before, node, v, times)
        return moved

    def subregions(self, node: Node, moved: list[Value]) -> None:
        if node.op is ops.if_:
            for region in node.regions:
                self.region(region, moved)
        elif node.op is ops.while_:
            cond, body = node.regions
            self.region(cond, [])
            self.region(body, [a for a in body.args if is_array(a)])
        elif node.op is ops.for_:
            body = node.regions[0]
            self.region(body, [a for a in body.args[1:] if is_array(a)])
        else:
            for region in node.regions:
                self.region(region, [])


class _Uniqueness:
    """Which values are unique: made with a count of 1 (new arrays and the
    results of IN_PLACE ops, which write in place or into a fresh copy), or
    joining only such values (`if`, `select`, loops: a fixpoint), and never
    duplicated. Parameters, call results and popped values are not."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.dupped = {v for table in (plan.dup_before, plan.dup_at_yield)
                       for values in table.values() for v in values}

    def ok(self, v: Value, unique: set[Value]) -> bool:
        return v in unique and v not in self.dupped

    def region(self, region: Region, unique: set[Value]) -> None:
        for node in region.nodes:
            if node.op is ops.array_new or node.op in IN_PLACE:
                unique.add(node.result)
            elif node.op is ops.select:
                if all(self.ok(v, unique) for v in node.operands[1:]):
                    unique.add(node.result)
            elif node.op is ops.if_:
                for inner in node.regions:
                    self.region(inner, unique)
                unique.update(r for k, r in enumerate(node.results)
                              if all(self.ok(inner.yields[k], unique) for inner in node.regions))
            elif node.op in (ops.while_, ops.for_):
                self.loop(node, unique)

    def loop(self, node: Node, unique: set[Value]) -> None:
        lead = 3 if node.op is ops.for_ else 0
        inits = node.operands[lead:]
        slots = {k for k, v in enumerate(inits) if is_array(v) and self.ok(v, unique)}
        while True:
            trial = set(unique)
            for inner in node.regions:
                args = inner.args[len(inner.args) - len(inits):]
                trial.update(args[k] for k in slots)
                self.region(inner, trial)
            body = node.regions[-1]
            kept = {k for k in slots if self.ok(body.yields[k], trial)}
            if kept == slots:
                unique.clear()
                unique.update(trial)
                unique.update(node.results[k] for k in slots)
                return
            slots = kept


def plan_function(fn: Function) -> Plan:
    """The reference-counting plan of one function (its array parameters are
    owned by the body: callers hand over one reference per argument)."""
    analysis = _Analysis()
    analysis.region(fn.body, [p for p in fn.params if is_array(p)])
    plan = analysis.plan
    uniqueness = _Uniqueness(plan)
    uniqueness.region(fn.body, plan.unique)
    # A value made with a count of 1 but duplicated somewhere (pushed on a
    # tape and written afterwards, say) may share its block when written.
    plan.unique -= uniqueness.dupped
    return plan
