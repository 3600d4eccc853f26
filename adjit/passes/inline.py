"""Inlining: replace every `call` by a copy of the callee's body.

The IR has no recursion (the frontend rejects it), so inlining terminates;
callees are inlined bottom-up. Autodiff runs after this pass, so it never
sees a call.
"""
from __future__ import annotations

from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.clone import clone_node
from adjit.ir.core import Function, Module, Region, Value


def inline_calls(module: Module) -> Module:
    """Inline every call in every function of `module`, in place; returns it."""
    done: set[str] = set()
    for name in list(module.functions):
        _inline_function(module, name, done)
    return module


def _inline_function(module: Module, name: str, done: set[str]) -> None:
    if name in done:
        return
    fn = module.functions[name]
    for node in fn.walk():
        if node.op is ops.call:
            _inline_function(module, node.attrs["callee"], done)
    _inline_region(module, fn.body)
    done.add(name)


def _inline_region(module: Module, region: Region) -> None:
    old_nodes = region.nodes
    region.nodes = []
    b = Builder(region)
    replaced: dict[Value, Value] = {}
    for node in old_nodes:
        node.operands = [replaced.get(v, v) for v in node.operands]
        for inner in node.regions:
            _remap_free(inner, replaced)
            _inline_region(module, inner)
        if node.op is not ops.call:
            region.nodes.append(node)
            continue
        callee: Function = module.functions[node.attrs["callee"]]
        mapping: dict[Value, Value] = dict(zip(callee.params, node.operands))
        with b.located(node.span):
            for inner in callee.body.nodes:
                clone_node(b, inner, mapping)
        for result, value in zip(node.results, callee.body.yields):
            replaced[result] = mapping.get(value, value)
    region.yields = [replaced.get(v, v) for v in region.yields]


def _remap_free(region: Region, replaced: dict[Value, Value]) -> None:
    """Uses inside nested regions of values that inlining replaced."""
    if not replaced:
        return
    for node in region.walk():
        node.operands = [replaced.get(v, v) for v in node.operands]
    stack = [region]
    while stack:
        r = stack.pop()
        r.yields = [replaced.get(v, v) for v in r.yields]
        for node in r.nodes:
            stack.extend(node.regions)
