"""The user-level transformations as IR-to-IR functions.

Each takes a `Function` (calls inlined) and returns a new `Function` whose
results are flat; `adjit.api` gives them JAX's Python-level shapes. Because
every transformation yields an ordinary function, they nest: `grad(grad(f))`
differentiates the graph `grad(f)` built.

- grad_graph: the gradient (cotangent 1.0 fed to the first result).
- jvp_graph: forward mode with tangents as extra parameters.
- jacfwd_graph / jacrev_graph: Jacobians, one forward pass per input element
  or one reverse pass per output element, as loops in the IR; the result of
  a Jacobian of an output of shape S by an input of shape T has shape S + T
  (at most 2 dimensions).
"""
from __future__ import annotations

from adjit.errors import UnsupportedError
from adjit.ir import ops
from adjit.ir.builder import Builder
from adjit.ir.clone import clone_node
from adjit.ir.core import Function, Region, Value
from adjit.ir.ops.array import zeros_like
from adjit.ir.types import F64, I64, ArrayType, Type, is_differentiable
from adjit.passes.autodiff.jvp import jvp_function
from adjit.passes.autodiff.vjp import vjp_function


def inline_body(b: Builder, fn: Function, args: list[Value]) -> list[Value]:
    """Emit a copy of `fn`'s body with `args` for its parameters; its results."""
    mapping: dict[Value, Value] = dict(zip(fn.params, args))
    for node in fn.body.nodes:
        clone_node(b, node, mapping)
    return [mapping.get(v, v) for v in fn.body.yields]


def new_function(fn: Function) -> tuple[Region, Builder]:
    """An empty body with `fn`'s parameters."""
    body = Region([p.type for p in fn.params], [p.hint for p in fn.params])
    return body, Builder(body, fn.span)


def finish(fn: Function, name: str, body: Region, results: list[Value]) -> Function:
    body.yields = results
    return Function(name, body, [v.type for v in results], fn.span, fn.source,
                    origin=fn.origin)


def check_wrt(fn: Function, argnums: list[int]) -> None:
    for k in argnums:
        if not 0 <= k < len(fn.params):
            raise ValueError(f"argnums {k} is out of range for {len(fn.params)} parameters")
        if not is_differentiable(fn.params[k].type):
            raise TypeError(f"cannot differentiate with respect to parameter "
                            f"{fn.params[k].hint or k!r} of type {fn.params[k].type}: only "
                            "float and float64-array arguments have derivatives (pass a float, "
                            "e.g. 2.0 instead of 2)")


def grad_graph(fn: Function, argnums: list[int], has_aux: bool = False,
               with_value: bool = False) -> Function:
    """Results: [value] + gradients for argnums + [aux values]."""
    check_wrt(fn, argnums)
    returned = fn.returned_types
    if not returned or returned[0] != F64:
        what = returned[0] if returned else "nothing"
        raise TypeError(f"grad requires a function with a float result, got {what}; "
                        "use jacrev or vjp for other results"
                        + ("" if has_aux else " (or has_aux=True for (value, aux) results)"))
    if len(returned) > 1 and not has_aux:
        raise TypeError(f"grad requires one float result, got {len(returned)} results; pass "
                        "has_aux=True if the others are auxiliary data")
    body, b = new_function(fn)
    n = len(returned)
    fused = vjp_function(fn, argnums, of=[0])
    outs = inline_body(b, fused, list(body.args) + [b.const(1.0)])
    value, aux, grads = outs[0], outs[1:n], outs[n:n + len(argnums)]
    results = ([value] if with_value else []) + grads + (aux if has_aux else [])
    return finish(fn, f"{fn.name}.grad", body, results)


def jvp_graph(fn: Function, argnums: list[int]) -> Function:
    check_wrt(fn, argnums)
    return jvp_function(fn, argnums)


def _basis(b: Builder, like: Value, index: Value | None) -> Value:
    """1.0 (a scalar input) or the unit array with a 1.0 at `index`."""
    if index is None:
        return b.const(1.0)
    return b.apply(ops.array_set, zeros_like(b, like), index, b.const(1.0))


def _jacobian_type(fn: Function, out: Type, inp: Type) -> Type:
    ndim = (out.ndim if isinstance(out, ArrayType) else 0) + \
           (inp.ndim if isinstance(inp, ArrayType) else 0)
    if ndim > 2:
        raise UnsupportedError(f"a Jacobian of a {out} result by a {inp} argument would have "
                               f"{ndim} dimensions; adjit's arrays have at most 2",
                               fn.source, fn.span)
    return F64 if ndim == 0 else ArrayType(ndim)


def _check_1d(fn: Function, t: Type, what: str) -> None:
    if isinstance(t, ArrayType) and t.ndim != 1:
        raise UnsupportedError(f"Jacobians with respect to or of 2-D arrays ({what}) are not "
                               "supported; flatten to 1-D", fn.source, fn.span)


def jacobian_graph(fn: Function, argnums: list[int], mode: str) -> Function:
    """Results: for each differentiable result o, for each argnum k, dO/dx_k."""
    check_wrt(fn, argnums)
    returned = fn.body.yields[:len(fn.returned_types)]
    outputs = [k for k, v in enumerate(returned) if is_differentiable(v.type)]
    for k in outputs:
        _check_1d(fn, returned[k].type, "result")
    for k in argnums:
        _check_1d(fn, fn.params[k].type, "argument")
    body, b = new_function(fn)
    args = list(body.args)
    primal = inline_body(b, fn, args)  # result shapes, and the values
    jac: dict[tuple[int, int], Value] = {}
    for o in outputs:
        for k in argnums:
            t = _jacobian_type(fn, returned[o].type, fn.params[k].type)
            jac[o, k] = b.const(0.0) if t == F64 else b.apply(
                ops.array_new, *_dims(b, primal[o], args[k]), fill="zeros")
    if mode == "forward":
        _jacfwd(b, fn, args, primal, outputs, argnums, jac)
    else:
        _jacrev(b, fn, args, primal, outputs, argnums, jac)
    return finish(fn, f"{fn.name}.jac{mode[:3]}", body, [jac[o, k] for o in outputs
                                                         for k in argnums])


def _dims(b: Builder, out: Value, inp: Value) -> list[Value]:
    dims = []
    for v in (out, inp):
        if isinstance(v.type, ArrayType):
            dims.append(b.apply(ops.array_dim, v, axis=0))
    return dims


def _loop_over(b: Builder, count: Value | None, state: list[Value], body_fn) -> list[Value]:
    """Run body_fn(b, index or None, state) -> new state once, or for each index."""
    if count is None:
        return body_fn(b, None, state)
    region = Region([I64] + [s.type for s in state])
    rb = Builder(region, b.span)
    region.yields = body_fn(rb, region.args[0], list(region.args[1:]))
    return b.node(ops.for_, [b.const(0), count, b.const(1)] + state, [s.type for s in state],
                  regions=[region]).results


def _store(b: Builder, target: Value, value: Value, index: Value | None,
           index_is_row: bool) -> Value:
    """Write a column (forward) or row (reverse) of a Jacobian."""
    if not isinstance(target.type, ArrayType):
        return value
    if target.type.ndim == 1:
        if index is None:
            return value
        return b.apply(ops.array_set, target, index, value)
    n = b.apply(ops.array_dim, value, axis=0)
    region = Region([I64, target.type])
    rb = Builder(region, b.span)
    j, acc = region.args
    element = rb.apply(ops.array_get, value, j)
    position = (index, j) if index_is_row else (j, index)
    region.yields = [rb.apply(ops.array_set, acc, *position, element)]
    return b.node(ops.for_, [b.const(0), n, b.const(1), target], [target.type],
                  regions=[region]).result


def _jacfwd(b, fn, args, primal, outputs, argnums, jac) -> None:
    for k in argnums:
        tangent_fn = jvp_function(fn, [k])
        n_ret = len(fn.returned_types)
        count = b.apply(ops.array_dim, args[k], axis=0) if isinstance(args[k].type, ArrayType) \
            else None
        state = [jac[o, k] for o in outputs]

        def column(rb: Builder, j: Value | None, state: list[Value]) -> list[Value]:
            outs = inline_body(rb, tangent_fn, args + [_basis(rb, args[k], j)])
            tangents = outs[n_ret:]
            return [_store(rb, s, t, j, index_is_row=False) for s, t in zip(state, tangents)]

        for o, value in zip(outputs, _loop_over(b, count, state, column)):
            jac[o, k] = value


def _jacrev(b, fn, args, primal, outputs, argnums, jac) -> None:
    for o in outputs:
        fused = vjp_function(fn, list(argnums), of=[o])
        n_ret = len(fn.returned_types)
        out = primal[o]
        count = b.apply(ops.array_dim, out, axis=0) if isinstance(out.type, ArrayType) else None
        state = [jac[o, k] for k in argnums]

        def row(rb: Builder, i: Value | None, state: list[Value]) -> list[Value]:
            ct = _basis(rb, out, i)
            outs = inline_body(rb, fused, args + [ct])
            grads = outs[n_ret:n_ret + len(argnums)]
            return [_store(rb, s, g, i, index_is_row=True) for s, g in zip(state, grads)]

        for k, value in zip(argnums, _loop_over(b, count, state, row)):
            jac[o, k] = value
