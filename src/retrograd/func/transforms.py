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
are plain tensors, off the tape.

``f`` takes Tensors and returns a Tensor or a tuple/list/dict of them.
"""

from __future__ import annotations

import functools
import math
import weakref

from .. import ops
from ..autograd import engine
from ..autograd.backend import xp
from ..autograd.forward import push_tangents, seed_key, zeros_tangent
from ..autograd.mode import enable_grad, is_grad_enabled, next_seq
from ..autograd.op import UnaryOp
from ..autograd.tensor import Tensor, _wrap


# ---------------------------------------------------------------- primals
class _Primal(UnaryOp):
    """x ↦ x: marks where a transform's primal enters ``f`` when the primal is itself on a
    tape, so the transform's graph ends here and an outer transform's goes on through it."""
    name, elementwise, save_inputs = "primal", True, ()
    __slots__ = ()

    def forward(self, x): return x
    def vjp(self, ns, g, ans, x): return (g,)
    def jvp(self, ns, ts, ans, x): return ts[0]


def _as_tensor(x, what):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (float, int)) or hasattr(x, "__array__"):
        return _wrap(xp.asarray(x))
    raise TypeError(f"{what}: expected a Tensor, got {type(x).__name__}")


_PRIMAL_LEAVES: dict = {}  # id(leaf) → (weak reference, sequence number when a transform made it)


def _primal(x: Tensor) -> Tensor:
    """A fresh start for the graph of ``f``: a leaf sharing x's data, or (x on a tape) x through ``_Primal``."""
    if x.requires_grad:
        return _Primal()(x)
    leaf = _wrap(x.data)
    leaf.requires_grad = True
    key = id(leaf)
    _PRIMAL_LEAVES[key] = (weakref.ref(leaf, lambda _, key=key: _PRIMAL_LEAVES.pop(key, None)), next_seq())
    return leaf


def _made_inside(leaf: Tensor, start: int) -> bool:
    """Whether ``leaf`` is the primal of a transform nested inside ``f`` (made after ``start``)."""
    entry = _PRIMAL_LEAVES.get(id(leaf))
    return entry is not None and entry[0]() is leaf and entry[1] >= start


def _outer(*tensors) -> bool:
    """Whether an outer transform (or the user) differentiates through these: then record."""
    return is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in tensors)


def _reaches_outside(outputs, own, start: int) -> bool:
    """Whether the graph ``f`` recorded reaches a tensor from outside it — a closed-over weight that
    requires grad, an argument outside ``argnums`` on an outer tape — so the result must stay on the
    tape for that outer derivative (torch.func records then too). ``own``: ids of the transform's
    own primal leaves; ``start``: the sequence number before ``f`` ran."""
    if not is_grad_enabled():
        return False
    stack = [t._node for t in outputs if isinstance(t, Tensor) and t._node is not None]
    seen = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.seq < start:
            return True
        for e in n.edges or ():
            if e is None:
                continue
            if isinstance(e, Tensor):
                if id(e) not in own and not _made_inside(e, start):
                    return True
                continue
            stack.append(e[0] if type(e) is tuple else e)
    return False


# ---------------------------------------------------------------- pytrees (Tensor, tuple, list, dict)
def _flatten(tree):
    """The Tensors of ``tree`` and a function that rebuilds the tree from new leaves."""
    if isinstance(tree, Tensor) or tree is None:
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        sizes = [len(p[0]) for p in parts]

        def rebuild(leaves, kind=type(tree)):
            out, i = [], 0
            for (_, r), n in zip(parts, sizes):
                out.append(r(leaves[i:i + n]))
                i += n
            return kind(*out) if hasattr(kind, "_fields") else kind(out)  # a NamedTuple takes its fields
        return [leaf for p in parts for leaf in p[0]], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild_values = _flatten([tree[k] for k in keys])
        return leaves, lambda new: dict(zip(keys, rebuild_values(new)))
    return [_as_tensor(tree, "output")], lambda leaves: leaves[0]


def _argnums(argnums, nargs, name):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{name}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise ValueError(f"{name}: argnums {argnums!r} out of range for {nargs} positional argument(s)")
    return single, tuple(a % nargs for a in nums)


def _split_aux(out, has_aux, name):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError(f"{name}(f, has_aux=True): f must return a tuple (output, aux)")
    return out


def _detached(tree):
    leaves, rebuild = _flatten(tree)
    return rebuild([None if t is None else _wrap(t.data) for t in leaves])


# ---------------------------------------------------------------- forward mode
def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J·tangents)``: the Jacobian-vector product, in forward mode.

    ``primals`` and ``tangents`` are tuples of Tensors of the same shapes. For
    ``func(x) = tanh(x)``, ``jvp(func, (x,), (v,))`` gives ``(tanh(x), v·(1 − tanh²x))``.
    Like ``torch.func.jvp``; with ``has_aux=True`` ``func`` returns ``(output, aux)``
    and the result is ``(output, tangent, aux)``.
    """
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: primals and tangents must be tuples (as in torch.func.jvp)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    primals = tuple(_as_tensor(p, "jvp: primal") for p in primals)
    tangents = tuple(_as_tensor(t, "jvp: tangent") for t in tangents)
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if tuple(t.shape) != tuple(p.shape):
            raise ValueError(f"jvp: tangent {i} has shape {list(t.shape)} but its primal has shape "
                             f"{list(p.shape)}; they must match")
    out, outs, tans, aux = _linearize(func, primals, [(i, t) for i, t in enumerate(tangents)], (), has_aux, "jvp")
    return (out, tans, aux) if has_aux else (out, tans)


def _linearize(func, primals, seeded, lead, has_aux, name):
    """Record ``func`` from fresh primals and push tangents ``seeded`` ([(arg index, tangent)])
    with leading axes ``lead``. Returns (output tree, output leaves, tangent tree, aux)."""
    differentiable = _outer(*primals, *(t for _, t in seeded))
    start = next_seq()
    with enable_grad():
        ps = tuple(_primal(p) for p in primals)
        out = func(*ps)
    out, aux = _split_aux(out, has_aux, name)
    leaves, rebuild = _flatten(out)
    differentiable = differentiable or _reaches_outside(leaves, {id(p) for p in ps}, start)
    seeds = {}
    for i, t in seeded:
        t = t if differentiable else t.data
        if not differentiable and t.dtype != ps[i].data.dtype and ps[i].data.dtype.kind in "fc":
            t = t.astype(ps[i].data.dtype)
        seeds[seed_key(ps[i])] = t
    for t in leaves:
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}: f must return Tensors, got {type(t).__name__}")
    pushed = push_tangents([t for t in leaves if t is not None], seeds, start_seq=start, lead=lead,
                           differentiable=differentiable)
    tans, k = [], 0
    for t in leaves:
        if t is None:
            tans.append(None)
            continue
        d = pushed[k]
        k += 1
        if d is None:
            d = zeros_tangent(t, lead)
        tans.append(d if isinstance(d, Tensor) else _wrap(d))
    if not differentiable:
        out, aux = _detached(out), (_detached(aux) if has_aux else None)
    return out, leaves, rebuild(tans), aux


# ---------------------------------------------------------------- reverse mode
def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` returns ``cotangents·J``, one
    gradient per primal (a tuple), as ``torch.func.vjp``. ``vjp_fn`` may be called
    several times (the graph is kept while it lives)."""
    primals = tuple(_as_tensor(p, "vjp: primal") for p in primals)
    outer = _outer(*primals)
    start = next_seq()
    with enable_grad():
        ps = tuple(_primal(p) for p in primals)
        out = func(*ps)
    out, aux = _split_aux(out, has_aux, "vjp")
    leaves, _ = _flatten(out)
    outer = outer or _reaches_outside(leaves, {id(p) for p in ps}, start)

    def vjp_fn(cotangents):
        cts, _ = _flatten(cotangents)
        if len(cts) != len(leaves):
            raise ValueError(f"vjp_fn: expected {len(leaves)} cotangent(s) (the structure of func's output), "
                             f"got {len(cts)}")
        cts = [_as_tensor(c, "vjp_fn: cotangent") for c in cts]
        for c, o in zip(cts, leaves):
            if tuple(c.shape) != tuple(o.shape):
                raise ValueError(f"vjp_fn: a cotangent has shape {list(c.shape)} but its output has shape "
                                 f"{list(o.shape)}")
        return _pull(leaves, cts, ps, outer or _outer(*cts))

    result_out = out if outer else _detached(out)
    if has_aux:
        return result_out, vjp_fn, (aux if outer else _detached(aux))
    return result_out, vjp_fn


def _pull(outputs, cotangents, ps, create):
    """Σ cotangent·∂output/∂p for each primal p (zeros where none depends on it)."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o is not None and o.requires_grad]
    if not pairs:
        return tuple(_zeros_like(p) for p in ps)
    gs = engine.grad([o for o, _ in pairs], list(ps), [c if create else c.data for _, c in pairs],
                     retain_graph=True, create_graph=create, allow_unused=True)
    return tuple(_zeros_like(p) if g is None else g for g, p in zip(gs, ps))


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
        trees = {}  # an argument may be a Tensor or a tuple/list/dict of them (a module's parameters)
        for i in nums:
            leaves, rebuild = _flatten(args[i])
            trees[i] = ([_as_tensor(t, "grad: argument") for t in leaves], rebuild)
        create = _outer(*(t for i in nums for t in trees[i][0]))
        start = next_seq()
        with enable_grad():
            ps = {i: [_primal(t) for t in trees[i][0]] for i in nums}
            call = [trees[i][1](ps[i]) if i in ps else a for i, a in enumerate(args)]
            out = func(*call, **kwargs)
        out, aux = _split_aux(out, has_aux, "grad")
        create = create or _reaches_outside([out], {id(p) for i in nums for p in ps[i]}, start)
        if not isinstance(out, Tensor) or out.data.size != 1 or out.ndim != 0:
            raise RuntimeError(f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got "
                               f"{'a tensor of shape ' + str(list(out.shape)) if isinstance(out, Tensor) else type(out).__name__}")
        plist = [p for i in nums for p in ps[i]]
        if out.requires_grad and plist:
            gs = engine.grad(out, plist, retain_graph=create, create_graph=create, allow_unused=True)
            gs = [_zeros_like(p) if g is None else g for g, p in zip(gs, plist)]
        else:
            gs = [_zeros_like(p) for p in plist]
        per_arg, k = [], 0
        for i in nums:
            n = len(ps[i])
            per_arg.append(trees[i][1](gs[k:k + n]))
            k += n
        g = per_arg[0] if single else tuple(per_arg)
        value = out if create else _wrap(out.data)
        if has_aux:
            return g, (value, aux if create else _detached(aux))
        return g, value
    return wrapper


# ---------------------------------------------------------------- Jacobians
def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None):
    """The Jacobian of ``func`` with respect to argument(s) ``argnums``, by reverse mode
    (one backward pass per output entry: cheap when outputs are few). For an output of
    shape O and an argument of shape A the Jacobian has shape O + A; a tuple
    ``argnums`` gives a tuple per output, as ``torch.func.jacrev``. ``chunk_size`` is
    accepted for torch.func's signature (rows are computed one at a time here)."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"jacrev: chunk_size must be None or a positive int, got {chunk_size!r}")
    @functools.wraps(func)
    def wrapper(*args):
        single, nums = _argnums(argnums, len(args), "jacrev")
        args = [(_as_tensor(a, "jacrev: argument") if i in nums else a) for i, a in enumerate(args)]
        create = _outer(*(args[i] for i in nums))
        start = next_seq()
        with enable_grad():
            ps = {i: _primal(args[i]) for i in nums}
            out = func(*[ps.get(i, a) for i, a in enumerate(args)])
        out, aux = _split_aux(out, has_aux, "jacrev")
        leaves, rebuild = _flatten(out)
        plist = [ps[i] for i in nums]
        create = create or _reaches_outside(leaves, {id(p) for p in plist}, start)
        jacs = []
        for o in leaves:
            per_arg = _jacobian_rows(o, plist, create)
            jacs.append(per_arg[0] if single else tuple(per_arg))
        result = rebuild(jacs)
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
    ``func`` is recorded once per argument and the whole basis of that argument pushed
    through as one batch of tangents (cheap when inputs are few). Shapes as ``jacrev``.
    ``randomness`` is torch.func's argument: one recording serves every direction, so
    random ops (dropout) draw once, as ``"same"``; any of its values is accepted."""
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"jacfwd: randomness must be 'error', 'different' or 'same', got {randomness!r}")
    @functools.wraps(func)
    def wrapper(*args):
        single, nums = _argnums(argnums, len(args), "jacfwd")
        args = [(_as_tensor(a, "jacfwd: argument") if i in nums else a) for i, a in enumerate(args)]
        per_arg, aux = [], None
        for i in nums:
            a = args[i]
            n = math.prod(a.shape)
            dtype = a.data.dtype if a.data.dtype.kind in "fc" else xp.float64
            basis = _wrap(xp.eye(n, dtype=dtype).reshape((n,) + tuple(a.shape)))

            def f_of_one(x, i=i):  # only argument i is a primal: the others stay as given
                call = list(args)
                call[i] = x
                return func(*call)
            out, leaves, tans, aux = _linearize(f_of_one, (a,), [(0, basis)], (n,), has_aux, "jacfwd")
            tan_leaves, rebuild = _flatten(tans)
            per_arg.append(([_to_jacobian(t, a, o) for t, o in zip(tan_leaves, leaves)], rebuild))
        rebuild = per_arg[0][1]
        count = len(per_arg[0][0])
        jacs = [per_arg[0][0][k] if single else tuple(p[0][k] for p in per_arg) for k in range(count)]
        result = rebuild(jacs)
        return (result, aux) if has_aux else result
    return wrapper


def _to_jacobian(t, a, o):
    """A pushed basis (n, *o.shape) as the Jacobian o.shape + a.shape."""
    if t is None:
        return None
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
