"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory.

A backward pass needs what each op kept in the forward pass (its inputs, its output). Through
``checkpoint(function, *args)`` the tape keeps only the *inputs* of ``function``; the backward
pass runs ``function`` again, with recording on, and backpropagates through that recomputed
piece. Memory for a model cut into k checkpointed segments: the k segment inputs plus one
segment's activations at a time, instead of every activation.

Two variants, as in PyTorch, picked by ``use_reentrant``:

**use_reentrant=False** (recommended). The forward runs ``function`` with recording on, then
looks at the piece of tape it just recorded — the ops numbered after the call began, walked
back from its outputs — and keeps only the *boundary* of that piece: where its ops read
tensors from outside it (the arguments, a module's parameters, any tensor from earlier that
the function closes over). The piece is replaced by one op, ``CheckpointBackward`` (an
``rg.autograd.Function``), with one input per boundary tensor; the ops inside are dropped
with the values they kept (while the function runs they exist as usual: the peak is one
piece's activations). So parameters get their gradients without being arguments, and
``rg.autograd.grad(loss, params)`` works.

Its backward recomputes: it runs ``function`` on the same arguments (the random generator as
it was in the forward pass, ``preserve_rng_state``), re-points the edges where the new piece
reads from outside at fresh leaves — one per boundary tensor — so that a gradient pass over
the piece stops at its boundary instead of running on into the rest of the graph, and calls
``rg.autograd.grad`` from the recomputed outputs to those leaves. Their gradients are the
op's gradients. Under ``create_graph=True`` the gradients are on the tape; the same edges are
then pointed back at the real boundary tensors, so that differentiating the gradients again
reaches the arguments and parameters (double backward).

**use_reentrant=True** (PyTorch's default when ``use_reentrant`` is not given, with a warning).
``CheckpointFunction``: the forward runs under ``no_grad`` and keeps the tensor arguments; the
backward runs ``function`` again on detached copies and calls ``rg.autograd.backward`` inside the
backward pass (hence "reentrant"). Parameters receive their gradients as a side effect of that
inner call, so: the outputs do not require grad unless an argument does, and
``rg.autograd.grad`` / ``backward(inputs=...)`` are refused.

For both: gradients equal the un-checkpointed ones exactly (the same ops run in the same
order), a second backward pass needs ``retain_graph=True``, and modifying an argument in place
between the forward and the backward pass is an error (with use_reentrant=False, so is
modifying a parameter the function read: PyTorch recomputes with the new values).

Forward mode (``rg.func.jvp``) through a checkpoint is refused; ``retain_grad`` on a tensor
computed inside the function has no effect (the piece it lives on is dropped).
"""

from __future__ import annotations

import contextlib
import warnings

from .. import random as rg_random
from ..autograd import backend, engine
from ..autograd.function import Function
from ..autograd.graph import producer, walk
from ..autograd.mode import enable_grad, is_grad_enabled, next_seq
from ..autograd.op import _edge, array_meta
from ..autograd.tensor import Tensor, _wrap
from ..func.pytree import tree_flatten, tree_unflatten
from ..nn import Sequential

_USE_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch 2.9, "
    "calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is recommended, but if "
    "you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants.")
"""PyTorch 2.13's warning, word for word (warning filters written for PyTorch match it)."""

_SEQUENTIAL_WARNING = (
    "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed explicitly. In "
    "version 2.9 we will raise an exception if use_reentrant is not passed. use_reentrant=False is recommended, but "
    "if you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants.")

_REENTRANT_GRAD = (
    "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing an `inputs` parameter "
    "to .backward(). To resolve this error, you can either set use_reentrant=False, or call .backward() without "
    "passing the `inputs` argument.")

_DETERMINISM_CHECKS = ("default", "none")


class CheckpointError(RuntimeError):
    """The recomputation did not compute what the forward pass did (other shapes or dtypes,
    other outputs, other tensors read): the function must be deterministic apart from the
    random generator, which ``preserve_rng_state`` restores."""


def noop_context_fn():
    """The default ``context_fn``: two context managers that do nothing."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """``inputs`` with each Tensor replaced by a detached copy that requires grad as it did."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for a in inputs:
        if isinstance(a, Tensor):
            d = a.detach()
            d.requires_grad = a.requires_grad
            a = d
        out.append(a)
    return tuple(out)


def check_backward_validity(inputs) -> None:
    """Warn (as PyTorch does) when no Tensor among ``inputs`` requires grad: a reentrant
    checkpoint's outputs then have no gradient, not even for the parameters inside."""
    if not any(a.requires_grad for a in inputs if isinstance(a, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=3)


@contextlib.contextmanager
def _rng_as_in_forward(state):
    """Run the block with the global random generator in ``state`` (as ``get_rng_state`` gave
    it in the forward pass), and give the generator back as it was before the block: the
    recomputation draws the same dropout masks and the caller's stream does not move. None:
    nothing is done (``preserve_rng_state=False``)."""
    if state is None:
        yield
        return
    outer = rg_random.get_rng_state()
    rg_random.set_rng_state(state)
    try:
        yield
    finally:
        rg_random.set_rng_state(outer)


# ---------------------------------------------------------------- use_reentrant=True
def _inside_grad_call() -> bool:
    """Whether the backward pass now running is ``rg.autograd.grad`` (or ``backward(inputs=)``,
    which calls it): PyTorch's ``_is_checkpoint_valid``. Such a pass delivers gradients to its
    inputs only, and a reentrant checkpoint's parameters get theirs from an inner
    ``backward`` that would write ``.grad`` behind its back."""
    return engine.in_grad_pass()


class CheckpointFunction(Function):
    """The reentrant checkpoint (``use_reentrant=True``), PyTorch's ``CheckpointFunction``:
    ``CheckpointFunction.apply(function, preserve_rng_state, *args)``."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        """``run_function(*args)`` under ``no_grad``, keeping the tensor arguments (and the
        random generator's state) for the backward pass."""
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.rng_state = rg_random.get_rng_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        """Run the function again on detached copies of the arguments and backpropagate
        through it with ``rg.autograd.backward`` (parameters accumulate their ``.grad``
        there); return the copies' gradients."""
        if _inside_grad_call():
            raise RuntimeError(_REENTRANT_GRAD)
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with _rng_as_in_forward(ctx.rng_state):
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        roots, root_grads = [], []
        for o, g in zip(outputs, grads):
            if isinstance(o, Tensor) and o.requires_grad:
                roots.append(o)
                root_grads.append(g)
        if not roots:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        engine.backward(roots, root_grads)
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in detached)


# ---------------------------------------------------------------- use_reentrant=False: the tape piece
def _key(e):
    """A dict key for a graph edge: a leaf by identity (a Tensor compares elementwise), an op or
    (op, output index) as it is."""
    return id(e) if isinstance(e, Tensor) else e


def _op_of(e):
    return None if e is None or isinstance(e, Tensor) else e[0] if type(e) is tuple else e


def _piece(roots, start):
    """The ops recorded after creation number ``start`` that ``roots`` (Tensors) reach, the
    latest first (so every op comes after all its consumers), without walking past the ops
    recorded before ``start``: those belong to the rest of the graph."""
    return walk(list(roots), after=start)


def _outside(e, start) -> bool:
    """Whether edge ``e`` of an op in the piece leads out of it: a leaf, or an earlier op."""
    return isinstance(e, Tensor) or _op_of(e).seq < start


class _Frame:
    """What a non-reentrant checkpoint keeps between its forward and its backward pass: the
    function and its arguments, the random generator's state, the boundary of the recorded
    piece (its edges, and a Tensor standing for each), and which outputs were on the piece."""

    __slots__ = ("function", "args", "tensor_at", "kwargs", "rng_state", "recompute_context", "determinism_check",
                 "debug", "edges", "index", "positions", "metas", "forward_ops")


def _boundary(outputs, start, frame, args) -> list:
    """Walk the piece below ``outputs``: the edges where it reads from outside (``frame.edges``,
    each once, in the order found); returns a Tensor for each, on the tape where the edge leads —
    the leaf itself, the argument itself, or for a tensor the function closed over a stand-in
    of its shape and dtype, which each op's record of its inputs gives (its kept value or
    ``ArrayMeta``; an elementwise op's input has its output's shape, found further down)."""
    meta = {_key(_edge(t)): (t.data.shape, t.data.dtype) for t in outputs}
    edges, index, names = [], {}, []
    for n in _piece(outputs, start):
        names.append(n.name)
        own = meta.get(n)
        for e, x in zip(n.edges or (), n.xs or ()):
            if e is None:
                continue
            k = _key(e)
            if k not in meta:
                if x is None:  # not kept at all: the input of an elementwise op, of its output's shape
                    if own is not None:
                        meta[k] = own
                elif hasattr(x, "shape"):
                    meta[k] = (x.shape, x.dtype)
            if _outside(e, start) and k not in index:
                index[k] = len(edges)
                edges.append(e)
    by_edge = {_key(_edge(a)): a for a in args if isinstance(a, Tensor) and a.requires_grad}
    stand_ins = []
    for e in edges:
        k = _key(e)
        if isinstance(e, Tensor) or k in by_edge:
            stand_ins.append(e if isinstance(e, Tensor) else by_edge[k])
            continue
        node, i = (e[0], e[1]) if type(e) is tuple else (e, 0)
        shape_dtype = meta.get(k) or (node.out_meta[i] if getattr(node, "out_meta", None) else None)
        if shape_dtype is None:
            raise CheckpointError(f"checkpoint: cannot tell the shape of a tensor (made by {node.name}) that the "
                                  f"checkpointed function reads without taking it as an argument; pass it as one")
        shape, dtype = shape_dtype
        t = _wrap(backend.xp.broadcast_to(backend.xp.zeros((), dtype), shape), node)  # values never read
        if type(e) is tuple:
            t._oi = i
        stand_ins.append(t)
    frame.edges, frame.index = edges, index
    frame.forward_ops = names if frame.debug else None
    return stand_ins


def _cut(roots, start, frame, boundary) -> dict:
    """Point the recomputed piece's edges to the outside at new leaves, one per boundary edge,
    so that a gradient pass from ``roots`` stops there. Returns {boundary index: leaf}. A leaf
    carries the value of that input (``boundary``'s tensor, or what an op kept of it when that
    tensor is a stand-in): under ``create_graph`` a vjp reads it."""
    sites, values = {}, {}
    for n in _piece(roots, start):
        for i, (e, x) in enumerate(zip(n.edges or (), n.xs or ())):
            if e is None or not _outside(e, start):
                continue
            k = frame.index.get(_key(e))
            if k is None:
                raise _error(frame, "the recomputation read a tensor that requires grad which the forward pass did "
                                    "not read (a different tensor, or one created inside the function); the "
                                    "function must compute the same thing both times", roots, start)
            sites.setdefault(n, []).append((i, k))
            if type(x) is backend.ndarray:
                values.setdefault(k, x)
    leaves = {}
    for n, places in sites.items():
        edges = list(n.edges)
        for i, k in places:
            leaf = leaves.get(k)
            if leaf is None:
                leaf = leaves[k] = _wrap(values.get(k, boundary[k].data))
                leaf._requires_grad = True
            edges[i] = leaf
        n.edges = tuple(edges)
    return leaves


def _reroot(grads, start, frame, leaves) -> None:
    """Under ``create_graph``: point the edges that lead to the leaves ``_cut`` made back at the
    boundary tensors, in the recomputed piece and in the graph of its gradients, so that the
    gradients are functions of the arguments and parameters themselves."""
    back = {id(leaf): frame.edges[k] for k, leaf in leaves.items()}
    for n in _piece([g for g in grads if g is not None], start):
        if n.edges and any(isinstance(e, Tensor) and id(e) in back for e in n.edges):
            n.edges = tuple(back.get(id(e), e) if isinstance(e, Tensor) else e for e in n.edges)


def _metadata(a) -> str:
    """What the determinism check compares (PyTorch's "default" check: shape, dtype, device)."""
    return f"{{'shape': {tuple(a.shape)}, 'dtype': {a.dtype}}}"


def _error(frame, message, roots=(), start=None) -> CheckpointError:
    """A ``CheckpointError``; with ``debug=True`` it lists the ops of the forward pass and of the
    recomputation (below ``roots``, recorded after ``start``)."""
    if frame.debug:
        recomputed = [n.name for n in _piece(roots, start)] if roots else []
        message += (f"\nops recorded in the forward pass (latest first): {frame.forward_ops}\n"
                    f"ops recorded in the recomputation (latest first): {recomputed}")
    return CheckpointError("retrograd.utils.checkpoint: " + message)


def _recompute(frame, args, grads, boundary) -> tuple:
    """The backward pass of a non-reentrant checkpoint: the gradients of the ``boundary`` tensors."""
    create_graph = is_grad_enabled()  # (the engine records a backward pass only under create_graph)
    with _rng_as_in_forward(frame.rng_state), enable_grad(), frame.recompute_context:
        start = next_seq()
        out = frame.function(*args, **frame.kwargs)
    flat = tree_flatten(out)[0]
    if len(flat) <= max(frame.positions):
        raise _error(frame, f"the recomputation returned {len(flat)} values, the forward pass more "
                            f"({max(frame.positions) + 1} at least)")
    outs = [flat[p] for p in frame.positions]
    if frame.determinism_check == "default":
        wrong = ""
        for k, (o, meta) in enumerate(zip(outs, frame.metas)):
            got = _metadata(o.data) if isinstance(o, Tensor) else type(o).__name__
            if got != _metadata(meta):
                wrong += f"output at position {k}:\nsaved metadata: {_metadata(meta)}\nrecomputed metadata: {got}\n"
        if wrong:
            raise _error(frame, "Recomputed values for the following tensors have different metadata than during "
                                f"the forward pass.\n{wrong}", [o for o in outs if isinstance(o, Tensor)], start)
    roots, root_grads = [], []
    for k, (o, g) in enumerate(zip(outs, grads)):
        if g is None:
            continue
        node = producer(o) if isinstance(o, Tensor) else None
        if node is None or node.seq < start:
            raise _error(frame, f"output at position {k} was computed on the tape in the forward pass but not in "
                                f"the recomputation")
        roots.append(o)
        root_grads.append(g)
    result = [None] * len(frame.edges)
    if not roots:
        return tuple(result)
    leaves = _cut(roots, start, frame, boundary)
    order = sorted(leaves)
    gs = engine.grad(roots, [leaves[k] for k in order], root_grads, create_graph=create_graph, allow_unused=True)
    if create_graph:
        _reroot(gs, start, frame, leaves)
    for k, g in zip(order, gs):
        result[k] = g
    return tuple(result)


class Checkpoint(Function):
    """The tape entry of a non-reentrant checkpoint (``CheckpointBackward``): one input per
    boundary tensor of the piece it replaces, one output per output of the piece. Built by
    ``checkpoint(..., use_reentrant=False)``, not called directly."""

    @staticmethod
    def forward(ctx, frame, values, *boundary):
        """The outputs, already computed (``values``), as new tensors of this op; the boundary
        tensors and the tensor arguments are kept."""
        ctx.frame = frame
        ctx.set_materialize_grads(False)  # an output that received no gradient is left out of the pass
        # the tensors go with the saved tensors (released by a backward pass without retain_graph)
        frame.tensor_at = [isinstance(a, Tensor) for a in frame.args]
        ctx.save_for_backward(*boundary, *[a for a in frame.args if isinstance(a, Tensor)])
        frame.args = tuple(None if t else a for a, t in zip(frame.args, frame.tensor_at))
        return tuple(v.detach() for v in values)

    @staticmethod
    def backward(ctx, *grads):
        """Recompute the piece and return the boundary tensors' gradients (``_recompute``)."""
        frame, saved = ctx.frame, ctx.saved_tensors  # (raises once a pass released them)
        n = len(frame.edges)
        tensors = iter(saved[n:])
        args = tuple(next(tensors) if t else a for a, t in zip(frame.args, frame.tensor_at))
        return (None, None) + _recompute(frame, args, grads, saved[:n])

    @staticmethod
    def jvp(ctx, *tangents):
        """Forward mode is not supported through a checkpoint (PyTorch's non-reentrant one allows it)."""
        raise NotImplementedError("checkpoint(use_reentrant=False): forward-mode AD (rg.func.jvp, jacfwd, "
                                  "forward_ad) through a checkpoint is not supported in retrograd; call the "
                                  "function without checkpoint where you need forward mode")


def _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, determinism_check, debug, args, kwargs):
    if debug and context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got "
                         f"{determinism_check}")
    forward_context, recompute_context = context_fn()
    rng_state = rg_random.get_rng_state() if preserve_rng_state else None
    if not is_grad_enabled():
        return function(*args, **kwargs)  # nothing is recorded: nothing to checkpoint
    start = next_seq()
    completed = False
    with forward_context:
        out = function(*args, **kwargs)
        completed = True
    if not completed:
        raise RuntimeError("retrograd.utils.checkpoint: the forward context provided by context_fn suppressed an "
                           "exception raised during the checkpointed forward. This is not supported because "
                           "checkpoint cannot return a value for a failed forward.")
    flat, spec = tree_flatten(out)
    positions, inner, first = [], [], {}
    for p, t in enumerate(flat):
        node = producer(t) if isinstance(t, Tensor) else None
        if node is not None and node.seq > start and id(t) not in first:
            first[id(t)] = len(inner)
            positions.append(p)
            inner.append(t)
    if not inner:
        return out  # no output was recorded: nothing to recompute
    frame = _Frame()
    frame.function, frame.args, frame.kwargs = function, args, kwargs
    frame.rng_state, frame.recompute_context = rng_state, recompute_context
    frame.determinism_check, frame.debug = determinism_check, bool(debug)
    frame.positions = positions
    frame.metas = [array_meta(t.data) for t in inner]
    stand_ins = _boundary(inner, start, frame, list(args) + list(kwargs.values()))
    new = Checkpoint.apply(frame, tuple(inner), *stand_ins)
    flat = [new[first[id(t)]] if id(t) in first else t for t in flat]
    return tree_unflatten(flat, spec)  # (the recorded piece goes with the last reference to its outputs)


# ---------------------------------------------------------------- the API
def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=noop_context_fn,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True,
               preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)``, checkpointed: the tape keeps its inputs, not the values
    computed inside, and the backward pass runs it again (PyTorch's
    ``torch.utils.checkpoint.checkpoint``; this module's docstring explains both variants).

    - ``use_reentrant``: False (recommended: keyword arguments, ``rg.autograd.grad``, double
      backward, parameters with outputs that need no argument's gradient) or True (PyTorch's
      older variant). Not given: True, with PyTorch's ``UserWarning`` asking to pass it.
    - ``preserve_rng_state``: recompute with the random generator as it was in the forward
      pass, so dropout draws the same mask (the generator is left as it was afterwards).
    - ``context_fn`` (use_reentrant=False only): returns two context managers, entered around
      the forward call and around the recomputation.
    - ``determinism_check`` (use_reentrant=False): "default" compares the recomputed outputs'
      shapes and dtypes with the forward's and raises ``CheckpointError``; "none" does not.
    - ``debug`` (use_reentrant=False): errors list the ops of the forward and the recomputation.
    - ``early_stop``: accepted for PyTorch's signature; the recomputation always runs the whole
      function (the piece's gradient needs all of it).

    ``function`` must compute the same thing when run again (no side effects that change it).
    Gradients equal those without checkpointing."""
    if use_reentrant is None:
        warnings.warn(_USE_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, determinism_check, debug, args,
                                         kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant: bool | None = None, **kwargs):
    """Run ``functions`` (an ``rg.nn.Sequential``, or a list of modules or functions) one after
    the other on ``input``, cut into ``segments`` chunks of ``len(functions) // segments``; every
    chunk but the last is checkpointed (PyTorch's ``checkpoint_sequential``). The one keyword
    argument accepted is ``preserve_rng_state`` (default True); ``use_reentrant`` as for
    ``checkpoint``."""
    if use_reentrant is None:
        warnings.warn(_SEQUENTIAL_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    if segments == 0:
        raise ZeroDivisionError(f"checkpoint_sequential: segments must be at least 1 (got 0) for "
                                f"{len(functions)} functions")
    segment_size = len(functions) // segments
    if segment_size == 0:  # (PyTorch: range()'s "arg 3 must not be zero")
        raise ValueError(f"checkpoint_sequential: {segments} segments for {len(functions)} functions: a segment "
                         f"would be empty; pass between 1 and len(functions) segments")

    def run_function(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1)(input)


__all__ = ["CheckpointError", "CheckpointFunction", "check_backward_validity", "checkpoint", "checkpoint_sequential",
           "detach_variable", "noop_context_fn"]
