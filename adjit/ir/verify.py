"""The IR verifier: SSA scoping, types, and each op's structural rules.

Run after every pass in tests and debug mode. A failure raises
`VerifyError` naming the node; `adjit.passes` turns it into an internal error
that names the pass.
"""
from __future__ import annotations

from adjit.ir import ops
from adjit.ir.core import Function, Module, Node, Region, Value
from adjit.ir.ops.base import OpTypeError


class VerifyError(Exception):
    def __init__(self, message: str, node: Node | None = None):
        super().__init__(message)
        self.node = node


def verify_module(module: Module) -> None:
    if module.entry and module.entry not in module.functions:
        raise VerifyError(f"entry function @{module.entry} is missing")
    for fn in module.functions.values():
        verify_function(fn, module)


def verify_function(fn: Function, module: Module | None = None) -> None:
    _region(fn.body, set(), module, owner=fn.name)
    got = [v.type for v in fn.body.yields]
    if got != list(fn.result_types):
        raise VerifyError(f"@{fn.name} returns ({', '.join(map(str, got))}) but is declared "
                          f"to return ({', '.join(map(str, fn.result_types))})")


def _region(region: Region, visible: set[Value], module: Module | None, owner: str) -> None:
    """Check `region`; `visible` holds the values of the enclosing regions, on
    entry and again on return (one set for the whole function: a copy per
    region made verification quadratic in the number of loops)."""
    own: list[Value] = []
    for arg in region.args:
        if arg in visible:
            raise VerifyError(f"region argument {arg!r} defined twice in @{owner}")
        visible.add(arg)
        own.append(arg)
    for node in region.nodes:
        for v in node.operands:
            if v not in visible:
                raise VerifyError(f"{node.op.name} uses {v!r} which is not defined before it "
                                  f"in scope (@{owner})", node)
        _node_types(node, module)
        for inner in node.regions:
            _region(inner, visible, module, owner)
        for v in node.results:
            if v in visible or v.owner is not node:
                raise VerifyError(f"{node.op.name} result {v!r} defined twice", node)
            visible.add(v)
            own.append(v)
    for v in region.yields:
        if v not in visible:
            raise VerifyError(f"yield of {v!r} which is not defined in scope (@{owner})")
    visible.difference_update(own)


def _node_types(node: Node, module: Module | None) -> None:
    try:
        if node.op.verify is not None:
            node.op.verify(node)
        if not node.op.structured:
            want = node.op.infer([v.type for v in node.operands], node.attrs)
            got = [v.type for v in node.results]
            if want != got:
                raise OpTypeError(f"results ({', '.join(map(str, got))}) but the type rule "
                                  f"gives ({', '.join(map(str, want))})")
        if node.op is ops.call and module is not None:
            callee = module.functions.get(node.attrs["callee"])
            if callee is None:
                raise OpTypeError(f"call of unknown function @{node.attrs['callee']}")
            if [p.type for p in callee.params] != [v.type for v in node.operands]:
                raise OpTypeError(f"call arguments do not match @{callee.name}'s parameters")
            if list(callee.result_types) != [v.type for v in node.results]:
                raise OpTypeError(f"call results do not match @{callee.name}'s results")
    except OpTypeError as exc:
        raise VerifyError(f"{node.op.name}: {exc}", node) from None
