"""``rg.autograd.functional``: torch.autograd.functional's ``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``hvp`` and ``vhp``, with its signatures, result structures, checks and errors.

For ``f: (x₁, …, xₙ) ↦ (y₁, …, yₘ)`` with Jacobian blocks ``Jᵢⱼ = ∂yᵢ/∂xⱼ`` (shape
``yᵢ.shape + xⱼ.shape``) and, for a scalar ``f``, the Hessian ``H = ∂²f/∂x∂x``:

- ``vjp``      vᵀJ, one backward pass (``engine.grad``);
- ``jvp``      J·v, forward mode (``forward.push_tangents``, the ops' jvps in creation order);
- ``jacobian`` J, one backward pass per output entry, or (``strategy="forward-mode"``) the
  whole standard basis pushed forward at once;
- ``hessian``  the Jacobian of the Jacobian (the inner one with ``create_graph=True``);
- ``vhp``      vᵀH, reverse over reverse (a backward pass through the recorded backward pass);
- ``hvp``      H·v, forward over reverse (v pushed through the recorded backward pass).

These are ``rg.func``'s transforms in torch.autograd's calling convention (``inputs`` a
Tensor or a tuple of Tensors, ``v`` given up front, ``create_graph`` and ``strict`` instead of
composing transforms). They are built here, on the core, because ``rg.func`` sits above it.

As in torch, ``func`` is called with fresh inputs that require grad: detached copies of the
given tensors, or (``create_graph=True`` and the tensor on a tape) a view of it, so results
stay differentiable with respect to it. The given tensors are never modified. Results are
detached unless ``create_graph=True``. ``strict=True`` raises where an output is independent
of an input; ``strict=False`` gives zeros there.
"""

from __future__ import annotations

import contextlib
import math

from . import backend
from .engine import grad as _engine_grad
from .forward import Basis, _ops_between, push_tangents, seed_key
from .mode import enable_grad, is_grad_enabled, next_seq
from .namespaces import TENSOR_NS
from .tensor import Tensor, _wrap

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGIES = ("forward-mode", "reverse-mode")


# ---------------------------------------------------------------- torch's checks and conventions
def _as_tuple(x, what, fn):
    """(whether ``x`` was a tuple, ``x`` as a tuple of Tensors); torch's TypeError otherwise (a list too)."""
    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    for i, el in enumerate(xs):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {what}"
            raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of Tensors but "
                            f"{where} has type {type(el)}.")
    return is_tuple, xs


def _untuple(res, is_tuple, inner_tuple=None):
    """The result as the caller's structure: a tuple only where the caller gave (or func returned) one."""
    if inner_tuple is not None and not inner_tuple:
        res = tuple(r[0] for r in res)
    return res if is_tuple else res[0]


def _fresh(xs, create_graph, need_graph=True):
    """What ``func`` is called with (torch's ``_grad_preprocess``): a view of x when its derivative
    must reach x (create_graph, x on a tape), else a detached leaf — requiring grad, so the ops
    on it are recorded (an integer tensor refuses that, with torch's error)."""
    return tuple(TENSOR_NS.reshape(x, x.shape) if create_graph and x.requires_grad
                 else x.detach().requires_grad_(need_graph) for x in xs)


def _detached(xs, create_graph):
    if create_graph:
        return xs
    return tuple(x.detach() if isinstance(x, Tensor) else _detached(x, False) for x in xs)


def _zeros_like(x):
    return _wrap(backend.xp.zeros(x.shape, dtype=x.dtype))


def _given_v(v, refs, refs_tuple, create_graph, fn, none_message):
    """``v`` as a tuple matching ``refs`` (the outputs for vjp, the inputs otherwise), or None
    where it may be left out (one tensor of one element); cast to each ref's float dtype."""
    if v is None:
        if len(refs) != 1 or refs[0].size != 1:
            raise RuntimeError(none_message)
        return None
    _, v = _as_tuple(v, "v", fn)
    v = _fresh(v, create_graph, need_graph=False)
    if len(v) != len(refs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(refs)} but got {len(v)}." if refs_tuple
                           else "The given v should contain a single Tensor.")
    for i, (t, r) in enumerate(zip(v, refs)):
        if t.shape != r.shape:
            raise RuntimeError(f"{f'Entry {i} in ' if refs_tuple else ''}v has invalid size: should be "
                               f"{tuple(r.shape)} but got {tuple(t.shape)}.")
    # a v of another dtype is cast to its ref's (torch's autograd casts a grad_output so)
    return tuple(t if t.dtype == r.dtype or r.dtype.kind != "f" else
                 TENSOR_NS.astype(t, r.dtype) if t.requires_grad else _wrap(t.data.astype(r.dtype))
                 for t, r in zip(v, refs))


def _ones_v(refs):
    return (_wrap(backend.xp.ones(refs[0].shape, dtype=refs[0].dtype)),)


_INPUT_V_NONE = ("The vector v can only be None if the input to the user-provided function is a single Tensor "
                 "with a single element.")


def _check_requires_grad(xs, kind, strict):
    """torch's strict-mode check that each of ``xs`` (outputs, or the gradient) depends on the inputs."""
    if not strict:
        return
    for i, x in enumerate(xs):
        if x is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. "
                               "This is not allowed in strict mode.")
        if x.requires_grad:
            continue
        if kind == "jacobian":
            raise RuntimeError("While computing the hessian, found that the jacobian of the user-provided "
                               f"function with respect to input {i} is independent of the input. This is not "
                               "allowed in strict mode. You should ensure that your function is twice "
                               "differentiable and that the jacobian depends on the inputs (this would be "
                               "violated by a linear function for example).")
        if kind == "grad_inputs":
            raise RuntimeError(f"The gradient with respect to input {i} is independent of the inputs of the "
                               "user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                           "must be computed in a differentiable manner from the input when running in strict mode.")


_UNREACHED = {  # torch's strict-mode message per stage, for a derivative that is structurally absent
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in "
                  "strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the "
                         "double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    """Zeros (of each ref's shape) where a derivative is absent; torch's strict errors instead.
    The stage names say which derivative it is, as torch's (its jvp and hvp use the double
    backward trick; here they are forward mode, with the same conditions and messages)."""
    res = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_UNREACHED[stage].format(i=i))
            g = _zeros_like(r)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _grad(outputs, inputs, cotangents=None, create_graph=False):
    """Σ cotangent·∂output/∂input per input, None where no output reaches it (torch's
    ``_autograd_grad``: the outputs off the tape are left out). The graph is kept: ``func``
    may have read tensors of the caller's graph, which a later backward pass still needs."""
    cotangents = (None,) * len(outputs) if cotangents is None else cotangents
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _engine_grad([o for o, _ in pairs], list(inputs), [c for _, c in pairs], retain_graph=True,
                        create_graph=create_graph, allow_unused=True)


def _push(outputs, inputs, v, start, create_graph, lead=()):
    """The tangents of ``outputs`` for tangents ``v`` of ``inputs`` (forward mode over the ops
    recorded since ``start``), as Tensors, None where no input reaches an output; on the tape
    with ``create_graph``."""
    if create_graph:
        seeds = {seed_key(x): t for x, t in zip(inputs, v)}
    else:  # a copy: a result must not share memory with the caller's v (an identity f returns it)
        seeds = {seed_key(x): backend.xp.array(t.data, dtype=x.dtype) for x, t in zip(inputs, v)}
    with enable_grad() if create_graph else contextlib.nullcontext():
        pushed = push_tangents(list(outputs), seeds, start_seq=start, lead=lead, differentiable=create_graph)
    return [None if d is None else d if isinstance(d, Tensor) else _wrap(backend.xp.asarray(d)) for d in pushed]


def _reached(outputs, inputs, start):
    """Per input, whether some output on the tape depends on it (torch's gradient being not None)."""
    keys = {seed_key(x): i for i, x in enumerate(inputs)}
    hit = {keys[seed_key(o)] for o in outputs if o.requires_grad and seed_key(o) in keys}
    for n in _ops_between([o for o in outputs if o.requires_grad], keys, start):
        for e in n.edges:
            k = id(e) if isinstance(e, Tensor) else e
            if k is not None and k in keys:
                hit.add(keys[k])
    return [i in hit for i in range(len(inputs))]


def _single_scalar(outputs, is_tuple, fn):
    if is_tuple:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor")
    if outputs[0].size != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn} should contain a single element")


# ---------------------------------------------------------------- products
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀJ)``: the vector-Jacobian product, x̄ⱼ = Σᵢ vᵢ·∂yᵢ/∂xⱼ, by one backward pass.

    ``v`` has the structure and shapes of ``func``'s output (None only for one output of one
    element: then v = 1 and the result is the gradient). The result has the structure of
    ``inputs``. ``rg.func.vjp(func, *inputs)[1](v)`` computes the same.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _given_v(v, outputs, is_outputs_tuple, create_graph, "vjp",
                     "The vector v can only be None if the user-provided function returns a single Tensor "
                     "with a single element.")
    result = _fill_in_zeros(_grad(outputs, inputs, v, create_graph), inputs, strict, create_graph, "back")
    return (_untuple(_detached(outputs, create_graph), is_outputs_tuple),
            _untuple(_detached(result, create_graph), is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J·v)``: the Jacobian-vector product, ẏᵢ = Σⱼ ∂yᵢ/∂xⱼ·vⱼ, in forward mode.

    ``v`` has the structure and shapes of ``inputs`` (None only for one input of one element);
    the result has the structure of ``func``'s output. torch computes it with the double
    backward trick; here the tangents are pushed through the recorded ops (their jvps), as
    ``rg.func.jvp(func, inputs, v)`` does, with torch's strict-mode conditions and errors.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph)
        v = _given_v(v, inputs, is_inputs_tuple, create_graph, "jvp", _INPUT_V_NONE) or _ones_v(inputs)
        start = next_seq()
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        if strict:  # torch's grad_inputs: an input no output depends on
            _check_requires_grad([x if r else None for x, r in zip(inputs, _reached(outputs, inputs, start))],
                                 "grad_inputs", strict)
    result = _fill_in_zeros(_push(outputs, inputs, v, start, create_graph), outputs, strict, create_graph,
                            "back_trick")
    return (_untuple(_detached(outputs, create_graph), is_outputs_tuple),
            _untuple(_detached(result, create_graph), is_outputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀH)`` for a scalar ``func``: (vᵀH)ⱼ = Σᵢ vᵢ·∂²f/∂xᵢ∂xⱼ, reverse over reverse —
    a backward pass (v as its cotangent) through the recorded backward pass that gave ∇f.

    ``v`` has the structure and shapes of ``inputs``; so has the result. In ``rg.func``:
    ``vjp(grad(f), x)[1](v)``.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _fresh(inputs, create_graph)
        v = _given_v(v, inputs, is_inputs_tuple, create_graph, "vhp", _INPUT_V_NONE)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "vhp")
        _check_requires_grad(outputs, "outputs", strict)
        _single_scalar(outputs, is_outputs_tuple, "vhp")
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    result = _fill_in_zeros(_grad(jac, inputs, v, create_graph), inputs, strict, create_graph, "double_back")
    return (_untuple(_detached(outputs, create_graph), is_outputs_tuple),
            _untuple(_detached(result, create_graph), is_inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H·v)`` for a scalar ``func``: (Hv)ᵢ = Σⱼ ∂²f/∂xᵢ∂xⱼ·vⱼ, forward over reverse —
    v pushed forward through the recorded backward pass that gave ∇f.

    H is symmetric, so this equals ``vhp`` up to rounding (torch: the double backward trick).
    ``v`` has the structure and shapes of ``inputs``; so has the result. In ``rg.func``:
    ``jvp(grad(f), (x,), (v,))[1]``.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _fresh(inputs, create_graph)
        v = _given_v(v, inputs, is_inputs_tuple, create_graph, "hvp", _INPUT_V_NONE) or _ones_v(inputs)
        start = next_seq()
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "hvp")
        _check_requires_grad(outputs, "outputs", strict)
        _single_scalar(outputs, is_outputs_tuple, "hvp")
        jac = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        jac = [_zeros_like(x) if g is None else g for g, x in zip(jac, inputs)]
    result = _fill_in_zeros(_push(jac, inputs, v, start, create_graph), inputs, strict, create_graph,
                            "double_back_trick")
    return (_untuple(_detached(outputs, create_graph), is_outputs_tuple),
            _untuple(_detached(result, create_graph), is_inputs_tuple))


# ---------------------------------------------------------------- Jacobians
def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func``: block Jᵢⱼ = ∂yᵢ/∂xⱼ of shape ``yᵢ.shape + xⱼ.shape``; a tuple of
    tuples (per output, per input) where ``func`` returns a tuple and ``inputs`` is one.

    ``"reverse-mode"``: one backward pass per output entry (a one-hot cotangent), as
    ``rg.func.jacrev``; ``vectorize=True`` gives the same values (torch batches those passes; here
    they run one after the other) and, as in torch, refuses ``strict=True``. ``"forward-mode"``
    (torch: only with ``vectorize=True``, and neither ``strict`` nor ``create_graph``): ``func``
    is recorded once and the standard basis of all inputs pushed through it at once, as
    ``rg.func.jacfwd``.
    """
    if strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacfwd(func, inputs, strict, vectorize)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jac = tuple(_jacobian_rows(i, o, inputs, create_graph, strict) for i, o in enumerate(outputs))
    return _untuple(_detached(jac, create_graph), is_outputs_tuple, is_inputs_tuple)


def _jacobian_rows(i, out, inputs, create_graph, strict):
    """(∂out/∂x for x in inputs): one backward pass per entry of output ``i``, stacked."""
    shapes = [tuple(out.shape) + tuple(x.shape) for x in inputs]
    if not out.requires_grad:  # constant (strict refused it already): no pass reaches an input
        return tuple(_wrap(backend.xp.zeros(s, dtype=x.dtype)) for s, x in zip(shapes, inputs))
    rows = [[] for _ in inputs]
    for k in range(out.size):
        onehot = backend.xp.zeros(out.size, dtype=out.dtype)
        onehot[k] = 1
        gs = _grad((out,), inputs, (_wrap(onehot.reshape(out.shape)),), create_graph)
        for j, (g, x) in enumerate(zip(gs, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent of input {j}. "
                                       "This is not allowed in strict mode.")
                g = _zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. "
                                   "This is not allowed in strict mode when create_graph=True.")
            rows[j].append(g)
    return tuple(_stacked(r, s, x, create_graph) for r, s, x in zip(rows, shapes, inputs))


def _stacked(rows, shape, x, create_graph):
    """Rows (one per output entry) as one block of ``shape``; with ops when they are on the tape."""
    if not rows:  # an output with no entries
        return _wrap(backend.xp.zeros(shape, dtype=x.dtype))
    if create_graph and any(r.requires_grad for r in rows):
        ns = TENSOR_NS
        return ns.reshape(ns.concatenate([ns.expand_dims(r, 0) for r in rows], 0), shape)
    return _wrap(backend.xp.stack([r.data for r in rows]).reshape(shape))


def _jacfwd(func, inputs, strict, vectorize):
    """``jacobian(strategy="forward-mode")``: every input's standard basis pushed at once (a
    leading axis of Σ sizes directions), each output's tangent cut back into blocks."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are '
                           'not supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")
    for x in inputs:
        if x.dtype.kind != "f":
            raise ValueError(f"Expected primal to be floating point or complex, but got: {x.dtype}")
    # torch's forward AD keeps the tangents on the graph of an input that requires grad: so here
    outer = is_grad_enabled() and any(x.requires_grad for x in inputs)
    sizes = [math.prod(x.shape) for x in inputs]
    total = sum(sizes)
    with enable_grad():
        inputs = _fresh(inputs, outer)
        start = next_seq()
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs", "jacobian")
    basis, off = [], 0
    for x, n in zip(inputs, sizes):
        basis.append(_wrap(Basis(off, total, x.shape, x.dtype).dense()))
        off += n
    tangents = _push(outputs, inputs, basis, start, outer, lead=(total,))
    jac = []
    for o, t in zip(outputs, tangents):
        blocks, off = [], 0
        for x, n in zip(inputs, sizes):
            shape = tuple(o.shape) + tuple(x.shape)
            if t is None:
                blocks.append(_wrap(backend.xp.zeros(shape, dtype=o.dtype)))
            else:
                blocks.append(_basis_block(t, off, n, o, shape))
            off += n
        jac.append(tuple(blocks))
    return _untuple(tuple(jac), is_outputs_tuple, is_inputs_tuple)


def _basis_block(t, off, n, o, shape):
    """Directions ``off … off + n`` of a pushed basis (total, *o.shape), as the block o.shape + x.shape."""
    if t.requires_grad:
        ns = TENSOR_NS
        flat = ns.reshape(ns.getitem(t, slice(off, off + n)), (n, o.size))
        return ns.reshape(ns.transpose(flat, (1, 0)), shape)
    return _wrap(backend.xp.ascontiguousarray(t.data[off:off + n].reshape(n, o.size).T).reshape(shape))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func``: block Hᵢⱼ = ∂²f/∂xᵢ∂xⱼ of shape ``xᵢ.shape + xⱼ.shape``
    (a tuple of tuples for a tuple of inputs), as torch computes it: the ``jacobian`` (by
    ``outer_jacobian_strategy``) of the reverse-mode Jacobian recorded with ``create_graph=True``.
    Forward over reverse is ``rg.func.hessian`` (``jacfwd(jacrev(f))``).
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        _single_scalar(t_out, is_out_tuple, "hessian")
        return TENSOR_NS.reshape(out, ())  # torch's squeeze(): the inner Jacobian has the inputs' shapes

    def jac_func(*inp):  # its inputs require grad (forward mode's fresh inputs too)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _untuple(res, is_inputs_tuple, is_inputs_tuple)
