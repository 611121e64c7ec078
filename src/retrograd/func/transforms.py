"""``jvp``, ``vjp``, ``grad``, ``jacfwd``, ``jacrev``, ``hessian``: torch.func's transforms on retrograd's tape.

Each transform runs ``f`` once, recording its graph from fresh *primals*
(the arguments being differentiated), then reads derivatives off that graph:

- reverse mode (``vjp``, ``grad``, ``jacrev``): the engine's backward pass,
  one per cotangent — x̄ = ȳ·J;
- forward mode (``jvp``, ``jacfwd``): ``autograd.forward.push_tangents``, the
  ops' jvps in creation order — ẏ = J·ẋ; ``jacfwd`` pushes the whole basis of
  an argument at once, as leading axes of one tangent.

Transforms compose as in torch.func: when a primal (or a tangent, or a
cotangent) is itself on a tape — a ``jvp`` of ``grad``, a ``jacfwd`` of
``jacrev`` (``hessian``), a ``grad`` of ``jvp`` — the inner transform
records its derivative computation (``create_graph``, differentiable
tangents), so the outer one differentiates through it. Otherwise the results
are plain tensors, off the tape. What counts as "on a tape" follows torch.func's
levels (``levels.py``): a tensor left over from a transform that has returned —
one that escaped ``f``, or the graph a ``vjp_fn`` holds — is a constant.

``f`` takes Tensors and returns a Tensor or a tuple/list/dict of them.
"""

from __future__ import annotations

import functools
import math

from .. import ops
from ..autograd import engine
from ..autograd.backend import xp
from ..autograd.forward import push_tangents, seed_key, zeros_tangent
from ..autograd.mode import enable_grad, is_grad_enabled
from ..autograd.tensor import Tensor, _wrap
from .checks import (GRAD, JVP, VJP, argnums as _argnums, checked_inputs, cotangent_structure, detached, flatten,
                     output_leaves, scalar_output, split_aux)
from .levels import level, outer as _outer, primal as _primal, reached, reaches_outside as _reaches_outside, still_live
from .pytree import TransformError, TransformTypeError, describe, tree_flatten, tree_unflatten
from .vmap import _randomness  # jacfwd refuses or repeats draws as vmap does (torch's jacfwd is a vmap)


# ---------------------------------------------------------------- trees, checks
_flatten, _detached, _checked_inputs, _output_leaves = flatten, detached, checked_inputs, output_leaves  # linearize's


# ---------------------------------------------------------------- forward mode
def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J·tangents)``: the Jacobian-vector product, in forward mode.

    ``primals`` is a tuple of arguments (Tensors, or tuples/lists/dicts of them) and
    ``tangents`` a tuple of the same structure and shapes. For ``func(x) = tanh(x)``,
    ``jvp(func, (x,), (v,))`` gives ``(tanh(x), v·(1 − tanh²x))``. Like
    ``torch.func.jvp``: with ``has_aux=True`` ``func`` returns ``(output, aux)`` and the
    result is ``(output, tangent, aux)``; ``strict=True`` refuses an output that does not
    depend on the primals (its tangent would be zeros).
    """
    if not isinstance(primals, tuple):
        raise TransformTypeError(f"jvp: primals and tangents must be tuples (as in torch.func.jvp); primals is a "
                                 f"{type(primals).__name__}. {JVP}: Expected primals to be a tuple. E.g. it should "
                                 f"be valid to call f(*primals).")
    p_leaves, p_spec = tree_flatten(primals)
    t_leaves, t_spec = tree_flatten(tangents)
    if not isinstance(tangents, tuple):
        raise TransformTypeError(f"jvp: primals and tangents must be tuples (as in torch.func.jvp); tangents is a "
                                 f"{type(tangents).__name__}. {JVP}: Expected primals and tangents to have the same "
                                 f"python structure")
    if p_spec != t_spec:
        raise TransformError(f"jvp: primals and tangents must have the same structure: primals {describe(p_spec)}, "
                             f"tangents {describe(t_spec)}. {JVP}: Expected primals and tangents to have the same "
                             f"python structure")
    if not p_leaves:
        raise TransformError(f"jvp: primals must contain at least one Tensor. {JVP}: Expected primals to contain at "
                             f"least one Tensor.")
    for what, leaves in (("primal", p_leaves), ("tangent", t_leaves)):
        for t in leaves:
            if not isinstance(t, Tensor):
                raise TransformError(f"jvp: the {what}s a transform differentiates must be Tensors, got "
                                     f"{type(t).__name__}. {JVP}: Expected {what}s to only contain Tensors, got "
                                     f"{type(t)}")
    checked_inputs(p_leaves, "jvp", "primal")
    checked_inputs(t_leaves, "jvp", "tangent")
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        if tuple(t.shape) != tuple(p.shape):
            raise TransformError(f"jvp: tangent {i} has shape {list(t.shape)} but its primal has shape "
                                 f"{list(p.shape)}; they must match (Trying to set a forward gradient that has a "
                                 f"different size than that of the original Tensor, this is not supported. Tensor "
                                 f"is of size {list(p.shape)} while the given forward gradient is of size "
                                 f"{list(t.shape)}.)")
    out, leaves, spec, tans, reached, aux = _linearize(
        lambda ps: func(*tree_unflatten(ps, p_spec)), p_leaves, list(enumerate(t_leaves)), (), has_aux, "jvp", JVP)
    if strict and not all(reached):
        raise TransformError("jvp(f, primals, tangents, strict=True): the output of f is independent of the "
                             "inputs, which strict=True does not allow (The output of f is independent of the "
                             "inputs. This is not allowed with strict=True.)")
    tans = tree_unflatten(tans, spec)
    return (out, tans, aux) if has_aux else (out, tans)


def _linearize(call, primals, seeded, lead, has_aux, name, who, real=None):
    """Record ``call(fresh primals)`` (the list ``primals`` of Tensors, made fresh) and push the
    tangents ``seeded`` ([(primal index, tangent)]) with leading axes ``lead``. Returns (output
    tree, output leaves, their spec, their tangents, whether a tangent reached each, aux).
    ``name``, ``who``: the transform, and its name in torch's messages; ``real``: complex outputs
    refused, naming it (``jacfwd``'s, as torch's)."""
    differentiable = _outer(*primals, *(t for _, t in seeded))
    with enable_grad(), level() as start:
        ps = [_primal(p, start) for p in primals]
        out = call(ps)
    out, aux = split_aux(out, has_aux, name, who)
    leaves, spec = output_leaves(out, who, real=real)
    differentiable = differentiable or _reaches_outside(leaves, start)
    seeds = {}
    for i, t in seeded:
        t = t if differentiable else t.data
        if not differentiable and t.dtype != ps[i].data.dtype:
            t = t.astype(ps[i].data.dtype)
        seeds[seed_key(ps[i])] = t
    pushed = push_tangents(leaves, seeds, start_seq=start, lead=lead, differentiable=differentiable)
    tans = [_wrap(zeros_tangent(t, lead)) if d is None else d if isinstance(d, Tensor) else _wrap(d)
            for d, t in zip(pushed, leaves)]
    if not differentiable:
        out, aux = _detached(out), (_detached(aux) if has_aux else None)
    return out, leaves, spec, tans, [d is not None for d in pushed], aux


# ---------------------------------------------------------------- reverse mode
def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` returns ``cotangents·J``, one
    gradient per primal (a tuple; a primal that is a tuple/list/dict of Tensors gets a
    gradient of its structure), as ``torch.func.vjp``. The cotangents must have the
    structure of ``func``'s output (dict keys in the same order); a ``None`` cotangent
    counts as zero (as 1 for a one-element output, as autograd's implicit gradient).
    ``vjp_fn`` may be called several times (the graph is kept while it lives)."""
    p_leaves, p_spec = tree_flatten(primals)
    checked_inputs(p_leaves, "vjp", "primal")
    outer = _outer(*p_leaves)
    with enable_grad(), level() as start:
        ps = [_primal(p, start) for p in p_leaves]
        out = func(*tree_unflatten(ps, p_spec))
    out, aux = split_aux(out, has_aux, "vjp", VJP)
    leaves, out_spec = output_leaves(out, VJP, float_only=True)
    outer = outer or _reaches_outside(leaves, start)
    # the live level the graph reaches whatever the grad mode: vjp_fn records its derivative when it is
    # called in grad mode while that level lives (torch.func's: a vjp made under no_grad, called outside,
    # records; a vjp_fn that escaped the transform whose primal it was made at does not)
    link = [reached(p_leaves)]
    if link[0] is None:
        link[0] = reached(leaves, start)

    def vjp_fn(cotangents):
        cts, ct_spec = tree_flatten(cotangents)
        cotangent_structure(ct_spec, out_spec)
        given = []
        for k, (c, o) in enumerate(zip(cts, leaves)):
            if c is None:
                if o.data.size != 1:
                    raise TransformError(f"vjp_fn: cotangent {k} is None for an output of shape {list(o.shape)}: "
                                         f"a cotangent can be left out (None) only for a one-element output")
                c = _wrap(xp.ones(o.shape, dtype=o.data.dtype))
            elif not isinstance(c, Tensor):
                raise TransformTypeError(f"vjp_fn: cotangents can be either Tensors or None, got "
                                         f"{type(c).__name__} (gradients can be either Tensors or None, but got "
                                         f"{type(c).__name__})")
            elif tuple(c.shape) != tuple(o.shape):
                raise TransformError(f"vjp_fn: a cotangent has shape {list(c.shape)} but its output has shape "
                                     f"{list(o.shape)} (Mismatch in shape: grad_output[{k}] has a shape of "
                                     f"{list(c.shape)} and output[{k}] has a shape of {list(o.shape)}.)")
            given.append(c)
        if link[0] is not None and not still_live(link[0]):
            link[0] = reached(leaves, start)  # that level has died since: does the graph reach another?
        create = is_grad_enabled() and (link[0] is not None or _outer(*given))
        return tree_unflatten(_pull(leaves, given, ps, create), p_spec)

    result_out = out if outer else _detached(out)
    if has_aux:
        return result_out, vjp_fn, (aux if outer else _detached(aux))
    return result_out, vjp_fn


def _pull(outputs, cotangents, ps, create):
    """Σ cotangent·∂output/∂p for each primal p (zeros where none depends on it)."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not pairs:
        return [_zeros_like(p) for p in ps]
    gs = engine.grad([o for o, _ in pairs], list(ps), [c if create else c.data for _, c in pairs],
                     retain_graph=True, create_graph=create, allow_unused=True)
    return [_zeros_like(p) if g is None else g for g, p in zip(gs, ps)]


def _zeros_like(p):
    return _wrap(xp.zeros(p.shape, dtype=p.data.dtype))


def grad(func, argnums=0, has_aux: bool = False):
    """The function computing the gradient of scalar-valued ``func`` with respect to
    argument(s) ``argnums`` (an int, or a tuple: then a tuple of gradients), as
    ``torch.func.grad``; an argument may be a tuple/list/dict of Tensors (a module's
    parameters: ``grad(lambda p: loss(functional_call(model, p, x)))(params)``), and
    its gradient has the same structure. With ``has_aux=True`` it returns ``(gradient, aux)``."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """Like ``grad``, returning ``(gradient, value)`` (``(gradient, (value, aux))`` with ``has_aux``)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        single, nums = _argnums(argnums, len(args), "grad")
        args = list(args)
        trees = _differentiated(args, nums, "grad")  # an argument may be a tree (a module's parameters)
        create = _outer(*(t for i in nums for t in trees[i][0]))
        with enable_grad(), level() as start:
            ps = {i: [_primal(t, start) for t in trees[i][0]] for i in nums}
            call = [tree_unflatten(ps[i], trees[i][1]) if i in ps else a for i, a in enumerate(args)]
            out = func(*call, **kwargs)
        out, aux = split_aux(out, has_aux, "grad", GRAD)
        scalar_output(out)
        create = create or _reaches_outside([out], start)
        plist = [p for i in nums for p in ps[i]]
        if out.requires_grad and plist:
            # the graph is kept: it may reach an outer transform's (a grad under no_grad inside a grad)
            gs = engine.grad(out, plist, retain_graph=True, create_graph=create, allow_unused=True)
            gs = [_zeros_like(p) if g is None else g for g, p in zip(gs, plist)]
        else:
            gs = [_zeros_like(p) for p in plist]
        g = _per_argument(gs, trees, nums, single)
        value = out if create else _wrap(out.data)
        if has_aux:
            return g, (value, aux if create else _detached(aux))
        return g, value
    return wrapper


# ---------------------------------------------------------------- Jacobians
def _differentiated(args, nums, name):
    """Per argument index in ``nums``: (its Tensors, its spec); an argument may be a tree."""
    trees = {}
    for i in nums:
        leaves, spec = tree_flatten(args[i])
        trees[i] = (checked_inputs(leaves, name, "argument", real=name != "grad"), spec)
    return trees


def _per_argument(blocks, trees, nums, single):
    """Per-Tensor results (gradients, or one output's Jacobian blocks; one per differentiated
    Tensor, in order) grouped back into the arguments' structures: the argument's own for one
    argnum, a tuple of them for several."""
    per_arg, k = [], 0
    for i in nums:
        n = len(trees[i][0])
        per_arg.append(tree_unflatten(blocks[k:k + n], trees[i][1]))
        k += n
    return per_arg[0] if single else tuple(per_arg)


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None):
    """The Jacobian of ``func`` with respect to argument(s) ``argnums``, by reverse mode
    (one backward pass per output entry: cheap when outputs are few). For an output of
    shape O and an argument of shape A the Jacobian has shape O + A; a tuple
    ``argnums`` gives a tuple per output, an argument that is a tuple/list/dict of
    Tensors a Jacobian of that structure, as ``torch.func.jacrev``. ``chunk_size`` is
    accepted for torch.func's signature (rows are computed one at a time here)."""
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, float))
                                   or chunk_size < 1):
        raise TransformError(f"jacrev: `chunk_size` should be greater than 0. (chunk_size must be None or a "
                             f"positive number, got {chunk_size!r})")
    @functools.wraps(func)
    def wrapper(*args):
        single, nums = _argnums(argnums, len(args), "jacrev")
        trees = _differentiated(args, nums, "jacrev")
        create = _outer(*(t for i in nums for t in trees[i][0]))
        with enable_grad(), level() as start:
            ps = {i: [_primal(t, start) for t in trees[i][0]] for i in nums}
            out = func(*[tree_unflatten(ps[i], trees[i][1]) if i in ps else a for i, a in enumerate(args)])
        out, aux = split_aux(out, has_aux, "jacrev", f"jacrev: {VJP}")
        leaves, spec = output_leaves(out, f"jacrev: {VJP}", float_only=True, real="jacrev")
        plist = [p for i in nums for p in ps[i]]
        create = create or _reaches_outside(leaves, start)
        result = tree_unflatten([_per_argument(_jacobian_rows(o, plist, create), trees, nums, single)
                                 for o in leaves], spec)
        return (result, aux if create else _detached(aux)) if has_aux else result
    return wrapper


def _jacobian_rows(o, plist, create):
    """[∂o/∂p for p in plist], each of shape o.shape + p.shape, one backward pass per entry of o."""
    size = math.prod(o.shape)
    rows = [[] for _ in plist]
    for k in range(size):
        if not o.requires_grad:
            break
        onehot = xp.zeros(size, dtype=o.data.dtype)
        onehot[k] = 1
        onehot = onehot.reshape(o.shape)
        gs = engine.grad(o, plist, _wrap(onehot) if create else onehot, retain_graph=True, create_graph=create,
                         allow_unused=True)
        for r, g, p in zip(rows, gs, plist):
            r.append(_zeros_like(p) if g is None else g)
    result = []
    for r, p in zip(rows, plist):
        shape = tuple(o.shape) + tuple(p.shape)
        if not r:
            result.append(_wrap(xp.zeros(shape, dtype=p.data.dtype)))
        elif create:
            result.append(ops.reshape(ops.stack(r, 0), shape))
        else:
            result.append(_wrap(xp.stack([g.data for g in r]).reshape(shape)))
    return result


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` with respect to argument(s) ``argnums``, by forward mode:
    ``func`` is recorded once and the whole basis of every differentiated argument pushed
    through as one batch of tangents (cheap when inputs are few). Shapes and structures as
    ``jacrev``. ``randomness`` as torch.func's: ``"error"`` refuses a random op inside
    ``func``, ``"same"`` draws once for every direction (one recording), ``"different"``
    draws anew for each direction (one recording per direction)."""
    if randomness not in ("error", "different", "same"):
        raise TransformError(f"jacfwd: Only allowed values for randomness are 'error', 'different', or 'same'. "
                             f"Got {randomness}")
    @functools.wraps(func)
    def wrapper(*args):
        single, nums = _argnums(argnums, len(args), "jacfwd")
        trees = _differentiated(args, nums, "jacfwd")
        primals = [t for i in nums for t in trees[i][0]]
        sizes = [math.prod(p.shape) for p in primals]
        total = sum(sizes)

        def call(ps):
            given, k = list(args), 0
            for i in nums:
                n = len(trees[i][0])
                given[i] = tree_unflatten(ps[k:k + n], trees[i][1])
                k += n
            with _randomness(randomness):
                return func(*given)

        def basis(rows):
            """Each primal's tangent for the directions ``rows`` (a range of the flattened inputs)."""
            seeded, off = [], 0
            for j, (p, n) in enumerate(zip(primals, sizes)):
                e = xp.zeros((len(rows), n), dtype=p.data.dtype)
                inside = [(r, row - off) for r, row in enumerate(rows) if off <= row < off + n]
                for r, col in inside:
                    e[r, col] = 1
                seeded.append((j, _wrap(e.reshape((len(rows),) + tuple(p.shape)))))
                off += n
            return seeded

        if randomness == "different":  # every direction its own recording, and its own draws
            runs = [_linearize(call, primals, basis([row]), (1,), has_aux, "jacfwd", f"jacfwd: {JVP}", "jacfwd")
                    for row in range(total)]
            leaves, spec, aux = runs[0][1], runs[0][2], runs[0][5]
            tans = [ops.cat([r[3][k] for r in runs], 0) for k in range(len(leaves))]
        else:
            _, leaves, spec, tans, _, aux = _linearize(call, primals, basis(range(total)), (total,), has_aux, "jacfwd",
                                                       f"jacfwd: {JVP}", "jacfwd")
        jacobians = []
        for t, o in zip(tans, leaves):
            blocks, off = [], 0
            for p, n in zip(primals, sizes):
                blocks.append(_to_jacobian(t[off:off + n] if n != total else t, p, o))
                off += n
            jacobians.append(_per_argument(blocks, trees, nums, single))
        result = tree_unflatten(jacobians, spec)
        return (result, aux) if has_aux else result
    return wrapper


def _to_jacobian(t, a, o):
    """A pushed basis (n, *o.shape) as the Jacobian o.shape + a.shape."""
    n = math.prod(a.shape)
    osize = math.prod(o.shape)
    if isinstance(t, Tensor) and t.requires_grad:
        flat = ops.reshape(t, (n, osize))
        return ops.reshape(ops.transpose(flat, (1, 0)), tuple(o.shape) + tuple(a.shape))
    data = t.data if isinstance(t, Tensor) else t
    return _wrap(xp.ascontiguousarray(data.reshape(n, osize).T).reshape(tuple(o.shape) + tuple(a.shape)))


def hessian(func, argnums=0):
    """The Hessian of scalar ``func``: ``jacfwd(jacrev(func, argnums), argnums)`` (forward over
    reverse), as ``torch.func.hessian``; shape A + A for an argument of shape A."""
    return jacfwd(jacrev(func, argnums), argnums)


__all__ = ["jvp", "vjp", "grad", "grad_and_value", "jacfwd", "jacrev", "hessian"]
