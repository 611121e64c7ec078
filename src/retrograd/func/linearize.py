"""``linearize``: torch.func's ``linearize`` — ``f`` run once, its Jacobian applied to any tangent later.

``jvp(f, primals, tangents)`` runs ``f`` for every tangent; ``linearize(f, *primals)``
records ``f`` once and returns ``jvp_fn``, which pushes each new tangent through
that recorded graph (``autograd.forward.push_tangents``: the ops' jvps in creation
order) without running ``f`` again — JAX's ``linearize`` and torch.func's. The same
numbers as ``jvp`` at the same primals.
"""

from __future__ import annotations

from ..autograd.forward import push_tangents, seed_key, zeros_tangent
from ..autograd.mode import enable_grad
from ..autograd.tensor import Tensor, _wrap
from .pytree import TransformError, TransformTypeError, describe, tree_flatten, tree_unflatten
from .checks import checked_inputs as _checked_inputs, detached as _detached, output_leaves as _output_leaves
from .levels import level, outer as _outer, primal as _primal, reaches_outside as _reaches_outside


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``, as ``torch.func.linearize``: ``jvp_fn(*tangents)`` returns
    J·tangents, the Jacobian of ``func`` at ``primals`` applied to ``tangents`` (given as
    ``primals`` are: the same tree structure, shapes and dtypes), with the structure of
    ``func``'s output. ``func`` runs once, here; every ``jvp_fn`` call is one forward-mode
    sweep of its recorded graph, so ``jvp_fn`` may be called many times at the cost of the
    sweep alone. For ``func(x) = sin(x)``: ``jvp_fn(v) = cos(x)·v``.

    As in torch.func, the output and the tangents stay on the tape when something outside
    differentiates through them (a primal, a tangent or a weight ``func`` reads requires grad);
    otherwise they are plain tensors."""
    p_leaves, p_spec = tree_flatten(primals)
    if not p_leaves:
        raise TransformError("linearize: primals must contain at least one Tensor")
    _checked_inputs(p_leaves, "linearize", "primal")
    outer = _outer(*p_leaves)
    with enable_grad(), level() as start:
        ps = [_primal(p, start) for p in p_leaves]
        out = func(*tree_unflatten(ps, p_spec))
    leaves, out_spec = _output_leaves(out, "linearize")
    outer = outer or _reaches_outside(leaves, start)

    def jvp_fn(*tangents):
        """J·tangents at the primals ``linearize`` was given (one forward-mode sweep)."""
        t_leaves, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise TransformError(f"linearize's jvp_fn: expected the tangents {describe(t_spec)} to have the "
                                 f"structure of the primals {describe(p_spec)} (Expected the tangents "
                                 f"{describe(t_spec)} to have the same argspec as the primals {describe(p_spec)})")
        for i, (t, p) in enumerate(zip(t_leaves, p_leaves)):
            if not isinstance(t, Tensor):
                raise TransformTypeError(f"linearize's jvp_fn: tangent:{i} is a {type(t).__name__}; tangents "
                                         f"must be Tensors")
            if tuple(t.shape) != tuple(p.shape):
                raise TransformError(f"linearize's jvp_fn: tangent:{i} with shape {list(t.shape)} in flattened "
                                     f"pytree doesn't match the shape {list(p.shape)} of the corresponding primal; "
                                     f"give tangents shaped as the primals")
            if t.data.dtype != p.data.dtype:
                raise TransformError(f"linearize's jvp_fn: tangent:{i} with dtype {t.data.dtype} in flattened "
                                     f"pytree doesn't match the dtype {p.data.dtype} of the corresponding primal; "
                                     f"convert it (t.to(x.dtype))")
        differentiable = outer or _outer(*t_leaves)
        seeds = {seed_key(p): (t if differentiable else t.data) for p, t in zip(ps, t_leaves)}
        pushed = push_tangents(leaves, seeds, start_seq=start, lead=(), differentiable=differentiable)
        tans = [_wrap(zeros_tangent(o)) if d is None else d if isinstance(d, Tensor) else _wrap(d)
                for d, o in zip(pushed, leaves)]
        return tree_unflatten(tans, out_spec)

    return (out if outer else _detached(out)), jvp_fn


__all__ = ["linearize"]
