"""``Function``: a custom op written as PyTorch writes one — a ``forward`` and a ``backward`` that
share a context object, ``ctx``.

An ``Op`` (``autograd.op``) is retrograd's own way to add a primitive: ``forward`` on arrays,
``vjp`` beside it, what it keeps declared. ``Function`` is PyTorch's way, for code written for
``torch.autograd.Function``: both methods work on Tensors, with retrograd's ops, and the
forward hands the backward what it needs through ``ctx``::

    class Exp(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):               # runs under no_grad: nothing inside is recorded
            y = rg.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):              # g: the gradient of y;  returns that of x
            (y,) = ctx.saved_tensors
            return g * y                   # x̄ = ȳ·eˣ

    y = Exp.apply(x)                       # never Exp()(x) or Exp.forward(...)

How a call lands on the tape: ``apply`` runs ``forward`` under ``no_grad`` (its ops are not
recorded: the Function is one step of the tape, not the steps inside it), then records a single
op, ``BackwardCFunction``, with an edge to each input that requires a gradient. The outputs are
that op's outputs. In the backward pass the engine calls the op's vjp, which wraps the incoming
gradients as Tensors, calls the user's ``backward`` and checks what it returned (one gradient
or None per input of ``forward``, of the input's shape or one that sums to it).

Because ``backward`` is written with Tensor ops, it is differentiable for free: under
``create_graph=True`` the engine runs it with recording on, the saved tensors are the inputs and
outputs as they sit on the tape, so the gradient it returns is itself on the tape (double
backward). ``@once_differentiable`` marks a backward that is not (written on ``.data``, say):
differentiating its result raises. Forward mode (``rg.func.jvp``, ``jacfwd``) calls the
Function's own ``jvp`` staticmethod, if it has one, with the inputs' tangents.

The context (``FunctionCtx``): ``save_for_backward`` / ``saved_tensors``,
``needs_input_grad``, ``mark_non_differentiable``, ``set_materialize_grads``,
``save_for_forward``, ``mark_dirty`` (on the tape the input's history moves onto the Function,
as PyTorch's rebase; refused for a view that requires grad), and any attribute you set.
"""

from __future__ import annotations

import functools
import inspect
import warnings
import weakref

from . import backend
from .mode import _mode, enable_grad, mutations, next_seq, no_grad
from .namespaces import ARRAY_NS, TENSOR_NS
from .op import Op, _edge, array_meta
from .replay import NotReplayable
from .tensor import Tensor, _wrap

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
         "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
         "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
         "you need to access saved tensors after calling backward.")
"""PyTorch's message when saved tensors are read after a backward pass released them."""

_RELEASED = "released"  # what the saved tensors become once a backward pass without retain_graph ran
_CLEARED = "cleared"    # … or once read, with ``clear_saved_tensors_on_access``
CLEARED = ("saved_tensors can only be accessed once when clear_saved_tensors_on_access=True is set on the "
           "autograd.Function. Either access saved_tensors only once, or set clear_saved_tensors_on_access=False.")


class _SavedOutput:
    """An output of the Function kept for its backward: its array and output index, not the Tensor
    (the Tensor points at the op, which holds the context: a reference cycle). ``saved_tensors``
    makes it a Tensor on the tape at that op again, so a backward that reads it is differentiable."""

    __slots__ = ("index", "data")

    def __init__(self, index, data):
        self.index, self.data = index, data


# ---------------------------------------------------------------- the context
class FunctionCtx:
    """The ``ctx`` that ``forward`` (or ``setup_context``) fills and ``backward`` / ``jvp`` read.

    Besides the methods below it carries ``needs_input_grad`` (per argument of ``forward``:
    whether it is a Tensor that requires grad) and any attribute set on it, for values that are
    not Tensors (``ctx.dim = dim``)."""

    needs_input_grad: tuple = ()
    materialize_grads = True
    _materialize_non_diff_grads = True  # PyTorch's switch: False sends None for non-differentiable outputs
    to_save = None              # save_for_backward's tensors, until apply packs them
    saved_for_forward = None    # save_for_forward's
    non_differentiable = ()
    dirty_tensors = ()
    _saved = None               # packed by apply: Tensors, None, _SavedOutput; _RELEASED after backward
    _saved_fwd = None
    _in_jvp = False
    _node = None                # weakref to the op this context belongs to
    _recording = False
    _forward_cls = None

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (inputs, outputs or intermediates of ``forward``, or None) for
        ``backward``, which reads them as ``ctx.saved_tensors``. Call it at most once. Saved inputs
        and outputs come back as they are on the tape, so a backward that computes with them is
        differentiable again (an intermediate is a constant there)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}; keep other values as attributes of ctx (ctx.name = value)")
        self.to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Keep ``tensors`` for ``jvp``, which reads them as ``ctx.saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise AssertionError("save_for_forward expects all arguments to be tensors; you should save "
                                     "non-tensors as attributes on ctx.")
        self.saved_for_forward = tensors

    def mark_non_differentiable(self, *outputs) -> None:
        """Declare outputs that have no gradient (an index, a mask): they do not require grad, and
        ``backward`` still receives a gradient for each of them — zeros of its shape (None
        with ``set_materialize_grads(False)``)."""
        self.non_differentiable = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` and ``jvp`` receive zeros (True, the default) or None for the
        gradients of outputs (tangents of inputs) that have none."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that ``forward`` modified in place: their arrays are stamped as modified
        (a backward through an earlier op that kept them raises) and an output that is such an
        input is returned as that very tensor. On the tape that tensor becomes the
        Function's output (PyTorch's rebase); a leaf, or a view, that requires grad is refused."""
        if self._recording:
            if any(isinstance(t, Tensor) and t._requires_grad and t._node is None for t in tensors):
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
            if any(isinstance(t, Tensor) and t._requires_grad and getattr(t.data, "base", None) is not None
                   for t in tensors):
                # PyTorch rebases the view's base too; retrograd keeps no view graph to rebase
                raise RuntimeError(
                    "mark_dirty: an input that requires grad and is a view of another tensor was modified in "
                    "place on the tape; retrograd cannot move the history of the tensor it views. Pass "
                    "x.clone() to the Function instead")
        self.dirty_tensors = tensors

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` kept (in ``jvp``: what ``save_for_forward`` kept), as a tuple;
        raises once a backward pass without ``retain_graph`` has released them."""
        packed = self._saved_fwd if self._in_jvp else self._saved
        if packed is _RELEASED or packed is _CLEARED:
            raise RuntimeError(FREED if packed is _RELEASED else CLEARED)
        if packed is None:
            return ()
        node = self._node() if self._node is not None else None
        result = []
        for s in packed:
            if type(s) is _SavedOutput:  # back on the tape at the op, as the output it was
                t = _wrap(s.data, node)
                if node is not None and node.multi:
                    t._oi = s.index
                s = t
            result.append(s)
        if self._forward_cls is not None and self._forward_cls.clear_saved_tensors_on_access and not self._in_jvp:
            self._saved = _CLEARED
        return tuple(result)


# ---------------------------------------------------------------- the user's class
class Function(FunctionCtx):
    """Base class of a custom op written as PyTorch writes one (``torch.autograd.Function``).

    Subclass it with staticmethods, and call ``MyFunction.apply(*args)``:

    - ``forward(ctx, *args, **kwargs)``: the output (a Tensor, or a tuple of Tensors and other
      values) from the arguments (Tensors or anything else), computed with retrograd's ops; it
      runs under ``no_grad``. Or ``forward(*args)`` without ``ctx``, plus
      ``setup_context(ctx, inputs, output)`` to fill ``ctx`` (the form ``torch.func`` requires);
    - ``backward(ctx, *grad_outputs)`` (or ``vjp``, the same): one gradient per output in, one per
      argument of ``forward`` out — a Tensor, or None for an argument that is not a Tensor or
      needs no gradient (``ctx.needs_input_grad[i]``). A gradient may have a shape that
      broadcasting the input gives (it is summed back); its dtype is cast to the input's;
    - ``jvp(ctx, *grad_inputs)`` (optional, for forward mode): one tangent per argument in (None
      for arguments that are not Tensors), one per output out.

    Class attributes: ``clear_saved_tensors_on_access`` (reading ``ctx.saved_tensors`` releases
    them) and ``boxed_grads_call`` (``backward`` receives the gradients as one list).
    Check a new Function with ``rg.gradcheck``."""

    clear_saved_tensors_on_access = False
    boxed_grads_call = False
    generate_vmap_rule = False  # PyTorch's flag; retrograd's vmap runs forward on the batch either way

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd functions are all "
                      f"static, so you should invoke them on the class itself. Instantiating an autograd function "
                      f"will raise an error in a future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style autograd "
            f"function with static forward method: call {type(self).__name__}.apply(...), not "
            f"{type(self).__name__}()(...).")

    @staticmethod
    def forward(*args, **kwargs):
        """The output from the arguments (see the class docstring); override it."""
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Fill ``ctx`` from the arguments (``inputs``, a tuple) and the ``output`` of a ``forward``
        written without ``ctx``; override it together with such a forward."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """The gradients of the arguments from those of the outputs (see the class docstring)."""
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward  # one name for the other, as in PyTorch

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """The tangents of the outputs from those of the arguments (forward mode); optional."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @staticmethod
    def vmap(info, in_dims, *args):
        """PyTorch's batching rule hook, kept for its name: retrograd's ``rg.func.vmap`` calls the
        Function once per example and never calls this (README, "Differences from PyTorch")."""
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap "
                                  "staticmethod or set generate_vmap_rule=True.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and record the call as one op on the tape (when grad mode
        is on and a Tensor argument requires grad). Returns what ``forward`` returned, its Tensors
        made outputs of that op."""
        return _apply(cls, args, kwargs)


def _overrides_setup_context(cls) -> bool:
    return cls.setup_context is not Function.setup_context


def _positional(cls, args, kwargs, split):
    """The arguments as a tuple, keywords put at their places in ``forward``'s signature (PyTorch
    passes keyword arguments as positional ones: every argument of ``forward`` is an input).
    With ``setup_context`` the defaults are filled in first, as PyTorch does."""
    forward = cls.forward
    if split:
        bound = inspect.signature(forward).bind(*args, **kwargs)
        bound.apply_defaults()
        args, kwargs = bound.args, bound.kwargs
    if not kwargs:
        return tuple(args)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in inspect.signature(forward).parameters.values() if p.kind in kinds]
    names = names if split else names[1:]  # (ctx)
    missing = object()
    slots = list(args) + [missing] * max(0, len(names) - len(args))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"forward() got an unexpected keyword argument '{name}'")
        i = names.index(name)
        if slots[i] is not missing:
            raise TypeError(f"forward() got multiple values for argument '{name}'")
        slots[i] = value
    last = max(i for i, v in enumerate(slots) if v is not missing)
    for i in range(last + 1):
        if slots[i] is missing:
            raise TypeError(f"forward() missing required argument: '{names[i]}' (position {i})")
    return tuple(slots[:last + 1])


def _apply(cls, args, kwargs):
    if _mode.trace is not None:
        raise NotReplayable(f"{cls.__name__}.apply: a custom autograd.Function inside a traced call (its forward "
                            f"is Python a replay cannot repeat); run without compile")
    split = _overrides_setup_context(cls)
    args = _positional(cls, args, kwargs, split)
    needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
    ctx = FunctionCtx()
    ctx.needs_input_grad = needs  # whatever the grad mode, as PyTorch's
    ctx._forward_cls = cls
    ctx._recording = _mode.grad_enabled and True in needs
    dual = _mode.dual
    dual_tangents = None
    if dual is not None:  # forward AD: the tangents come from the Function's jvp, not its forward's ops
        dual_tangents = [dual.tangent_tensor(a) if isinstance(a, Tensor) else None for a in args]
        if all(t is None for t in dual_tangents):
            dual_tangents = None
    _mode.dual = None if dual_tangents is not None else dual
    try:
        with no_grad():
            if split:
                out = cls.forward(*args)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args)
        result = _outputs(cls, ctx, args, needs, out)  # (marking dirty inputs must not zero their tangents)
    finally:
        _mode.dual = dual
    if dual_tangents is not None:
        _dual_tangents(cls, ctx, dual, args, dual_tangents, result)
    return result


def _dual_tangents(cls, ctx, dual, args, tangents, result):
    """In a dual level, the outputs' tangents from the Function's ``jvp`` (PyTorch's rule): one
    tangent per argument in (zeros, or None without materialised grads, for a Tensor without one;
    None for a non-Tensor), one per output out. An input marked dirty must get back its own
    tangent, modified in place."""
    ts = []
    for a, t in zip(args, tangents):
        if isinstance(a, Tensor) and t is None and ctx.materialize_grads:
            t = _wrap(backend.xp.zeros_like(a.data))
        ts.append(t)
    ctx._in_jvp = True
    _mode.dual = None  # the jvp's own ops on tangents carry no tangent of their own
    try:
        with no_grad():
            res = cls.jvp(ctx, *ts)
    finally:
        ctx._in_jvp = False
        _mode.dual = dual
    res = res if isinstance(res, tuple) else (res,)
    outs = result if isinstance(result, tuple) else (result,)
    if len(res) != len(outs):
        raise RuntimeError(f"Function's jvp returned an invalid number of forward gradients (expected {len(outs)} "
                           f"but got {len(res)}): {cls.__name__}.jvp returns one tangent per output of forward")
    dirty = {id(d) for d in ctx.dirty_tensors}
    nondiff = {id(n) for n in ctx.non_differentiable}
    given = {id(t.data) for t in tangents if t is not None}
    for pos, (o, t) in enumerate(zip(outs, res)):
        if not isinstance(o, Tensor):
            continue
        if id(o) in dirty:
            i = next(i for i, a in enumerate(args) if a is o)
            if t is not ts[i] or tangents[i] is None:
                raise RuntimeError(f"{cls.__name__}.jvp: the jvp function must modify the corresponding gradient "
                                   f"inplace for an input marked dirty (argument {i}): write into its tangent "
                                   f"and return that very tensor")
            continue  # its tangent is the input's, modified in place
        if t is None or o.data.dtype.kind not in "fc" or id(o) in nondiff:
            dual.set(o, None)
            continue
        if not isinstance(t, Tensor):
            raise RuntimeError(f"expected Variable or None (got {type(t).__name__}) for grad output {pos}.")
        if tuple(t.shape) != tuple(o.shape):
            raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the "
                               f"original Tensor, this is not supported. Tensor is of size {list(o.shape)} while "
                               f"the given forward gradient is of size {list(t.shape)}.")
        data = t.data.astype(o.data.dtype, copy=False)
        if id(data) in given:  # an input's tangent passed through: the output's own copy
            data = data.copy()
        dual.set(o, data)


def _outputs(cls, ctx, args, needs, out):
    """What ``apply`` returns: ``forward``'s result with its Tensors made outputs of the recorded op
    (or, off the tape, as they are); and the saved tensors packed."""
    recording = ctx._recording
    several = isinstance(out, tuple)
    items = out if several else (out,)
    inputs = {id(a) for a in args if isinstance(a, Tensor)}
    dirty = {id(t) for t in ctx.dirty_tensors}
    for t in ctx.dirty_tensors:
        if id(t) not in inputs:
            warnings.warn("ctx.mark_dirty() received a tensor that was not an input. Only input Tensors that have "
                          "been mutated should be passed to ctx.mark_dirty().", UserWarning, stacklevel=3)
        elif isinstance(t, Tensor):
            t.mark_modified_()  # an op recorded earlier that kept this array must not use the new values
    nondiff = {id(t) for t in ctx.non_differentiable}
    n_tensors = sum(isinstance(o, Tensor) for o in items)
    node = BackwardCFunction(cls, ctx, n_tensors > 1) if recording and n_tensors else None
    result, attached, metas, differentiable, positions, seen = [], {}, [], [], [], set()
    itself = {}  # id -> the tensor returned as itself (made by forward, or dirty): returned twice, it stays one
    rebase = {}  # id -> (dirty input, output index): its history moves onto this op once the edges are taken
    for pos, o in enumerate(items):
        if not isinstance(o, Tensor):
            result.append(o)
            continue
        k = len(positions)
        positions.append(pos)
        metas.append((o.data.shape, o.data.dtype))
        diff = node is not None and o.data.dtype.kind == "f" and id(o) not in nondiff
        differentiable.append(diff)
        fresh = id(o) not in inputs and id(o) not in seen
        if id(o) in itself:
            # PyTorch returns the very tensor again, now the later output of the node: the gradient
            # of both uses arrives there, and the earlier output's gradient is zeros (or None)
            t = itself[id(o)]
            if diff and node.multi:
                attached[id(o)] = k
                if id(o) in rebase:
                    rebase[id(o)] = (o, k)
                else:
                    t._oi = k
            result.append(t)
            continue
        if id(o) in dirty and id(o) in inputs and id(o) not in seen:
            t = o  # an input modified in place: returned as itself, on the tape moved onto this op (below)
            if diff:
                rebase[id(o)] = (o, k)
                attached[id(o)] = k
        elif diff:
            if fresh and o._node is None and not o._requires_grad:
                t = o  # made by forward: it becomes the output itself (a saved output is this tensor)
                t._node, t._requires_grad = node, True
            else:  # an input, a tensor returned twice, one on a tape of its own: a new tensor of its data
                t = _wrap(o.data, node)
            if node.multi:
                t._oi = k
            if t is o:
                attached[id(o)] = k  # saved, it comes back as this output (an input saved stays the input)
        elif fresh and not o._requires_grad:
            t = o
        else:
            t = _wrap(o.data)  # PyTorch returns a view: never the input itself
        seen.add(id(o))
        if t is o:
            itself[id(o)] = t
        result.append(t)
    if node is not None:
        node.record_call(args, needs, tuple(metas), tuple(differentiable), tuple(positions), len(items), several)
        for o, k in rebase.values():  # PyTorch's rebase: the input's edges are recorded, now it is this output
            o._node, o._requires_grad = node, True
            if node.multi:
                o._oi = k
        if _mode.anomaly:
            for t, diff in zip((result[p] for p in positions), differentiable):
                if diff:
                    node._check_forward(t.data, args)
    ctx._saved = _pack(ctx.to_save, attached)
    ctx._saved_fwd = _pack(ctx.saved_for_forward, attached)
    ctx.to_save = ctx.saved_for_forward = None  # packed: the tuples would keep the outputs (and the op) alive
    return tuple(result) if several else result[0]


def _pack(tensors, attached):
    """Saved tensors as the context keeps them: an output on the tape as a ``_SavedOutput``."""
    if tensors is None:
        return None
    packed = []
    for t in tensors:
        k = attached.get(id(t)) if t is not None else None
        packed.append(t if k is None else _SavedOutput(k, t.data))
    return tuple(packed)


# ---------------------------------------------------------------- the op on the tape
class BackwardCFunction(Op):
    """The tape entry of one ``Function.apply`` call (PyTorch's name): its vjp calls the
    Function's ``backward``, its jvp the Function's ``jvp``.

    It keeps no input (``save_inputs = ()``: the backward reads what ``ctx`` saved) — only each
    Tensor input's shape and dtype (``ArrayMeta``), to check and cast the gradients returned. Its
    ``name`` is the Function's name + ``Backward`` (``ExpBackward``); the context's attributes
    read through it (``y.grad_fn.saved_tensors``, ``y.grad_fn.needs_input_grad``), as in
    PyTorch, where the context is the node.

    A backward pass without ``retain_graph`` releases the saved tensors but keeps the edges, so
    a Function that saved nothing can be backpropagated through again, as in PyTorch."""

    __slots__ = ("name", "fn", "ctx", "multi", "out_meta", "differentiable", "positions", "n_items", "several")
    save_inputs = ()      # the vjp reads ctx.saved_tensors, not the inputs
    jvp_lead = False      # the user's jvp takes one tangent direction at a time

    def __init__(self, cls, ctx, multi):
        self.name, self.fn, self.ctx, self.multi = f"{cls.__name__}Backward", cls, ctx, multi
        self.ans = self.saved = self.hooks = self.retained = self.label = None
        ctx._node = weakref.ref(self)

    def record_call(self, args, needs, metas, differentiable, positions, n_items, several):
        """Put the call on the tape: edges to the inputs that need a gradient, every Tensor
        input's shape and dtype, the outputs' shapes and dtypes."""
        self.edges = tuple([_edge(a) if need else None for a, need in zip(args, needs)])
        self.xs = tuple([array_meta(a.data) if isinstance(a, Tensor) else None for a in args])
        self.needs = needs
        self.out_meta, self.differentiable, self.positions = metas, differentiable, positions
        self.n_items, self.several = n_items, several
        self.seq = next_seq()

    @property
    def materialize_grads(self) -> bool:
        """Whether outputs that received no gradient get zeros from the engine (``set_materialize_grads``)."""
        return self.ctx.materialize_grads

    def __getattr__(self, name):
        # only for names the op lacks: the context's API and attributes, as PyTorch's node has them
        try:
            ctx = BackwardCFunction.ctx.__get__(self)
        except AttributeError:
            raise AttributeError(name) from None
        if not name.startswith("_") and (name in vars(ctx) or hasattr(FunctionCtx, name)):
            return getattr(ctx, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # ------------------------------------------------------------ reverse mode
    def vjp(self, ns, g, ans, *xs):
        """Call the Function's ``backward`` with one gradient per output of ``forward`` (a Tensor;
        zeros or None where there is none) and check the gradients it returns."""
        ctx, cls = self.ctx, self.fn
        gs = g if self.multi else (g,)
        grads = [None] * self.n_items
        for k, pos in enumerate(self.positions):
            gk = gs[k] if self.differentiable[k] else None
            if gk is None and ctx.materialize_grads and (self.differentiable[k] or ctx._materialize_non_diff_grads):
                gk = backend.xp.zeros(*self.out_meta[k])
            grads[pos] = gk if gk is None or isinstance(gk, Tensor) else _wrap(gk)
        user = _user_backward(cls)
        result = user(ctx, list(grads)) if cls.boxed_grads_call else user(ctx, *grads)
        return self._checked(result, ns)

    def vjp_differentiable(self, gs):
        """Under ``create_graph`` (several outputs): the same call, on Tensors."""
        return self.vjp(TENSOR_NS, gs, None)

    def _checked(self, result, ns):
        """The gradients ``backward`` returned, checked as PyTorch checks them: one per input (extra
        Nones allowed), a Tensor or None, None for a non-Tensor input, a shape the input's
        broadcasts to (summed back to it). Arrays in a first-order pass, Tensors under create_graph."""
        res = result if isinstance(result, tuple) else (result,)
        n = len(self.needs)
        if len(res) > n and all(r is None for r in res[n:]):
            res = res[:n]
        if len(res) != n:
            raise RuntimeError(f"function {self.name} returned an incorrect number of gradients (expected {n}, got "
                               f"{len(res)}): backward returns one gradient (or None) per argument of forward")
        out = []
        saved = self._saved_arrays_ids() if ns is ARRAY_NS else ()
        for i, (gi, meta, need) in enumerate(zip(res, self.xs, self.needs)):
            if gi is None:
                out.append(None)
                continue
            if not isinstance(gi, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(gi).__name__}): function {self.name} "
                                   f"returned it as the gradient of argument {i}; return a Tensor or None")
            if meta is None:
                raise RuntimeError(f"function {self.name} returned a gradient different than None at position "
                                   f"{i + 1}, but the corresponding forward input was not a Variable")
            if not need:
                out.append(None)
                continue
            value = gi if ns is TENSOR_NS else gi.data
            if tuple(gi.shape) != tuple(meta.shape):
                if not _expandable(meta.shape, gi.shape):
                    raise RuntimeError(f"Function {self.name} returned an invalid gradient at index {i} - got "
                                       f"{list(gi.shape)} but expected shape compatible with {list(meta.shape)}")
                value = ns.sum_to(value, tuple(meta.shape))
            elif id(value) in saved:
                value = value.copy()  # a saved array returned as a gradient must not become a leaf's .grad
            out.append(value)
        return tuple(out)

    def _saved_arrays_ids(self):
        packed = self.ctx._saved
        if packed is None or type(packed) is str:
            return ()
        return {id(s.data) for s in packed if s is not None}

    # ------------------------------------------------------------ forward mode
    def jvp(self, ns, ts, ans, *xs):
        """Call the Function's ``jvp`` with one tangent per argument of ``forward`` (None for
        arguments that are not Tensors; zeros, or None without materialised grads, for Tensors
        with no tangent) and check the tangents it returns."""
        ctx, cls = self.ctx, self.fn
        tangents = []
        for t, meta in zip(ts, self.xs):
            if meta is None:
                tangents.append(None)
            elif t is None:
                tangents.append(_wrap(backend.xp.zeros(meta.shape, meta.dtype)) if ctx.materialize_grads else None)
            else:
                tangents.append(t if isinstance(t, Tensor) else _wrap(t))
        ctx._in_jvp = True
        try:
            with enable_grad() if ns is TENSOR_NS else no_grad():
                result = cls.jvp(ctx, *tangents)
        finally:
            ctx._in_jvp = False
        res = result if isinstance(result, tuple) else (result,)
        if len(res) != self.n_items:
            raise RuntimeError(f"Function's jvp returned an invalid number of forward gradients (expected "
                               f"{self.n_items} but got {len(res)}): {cls.__name__}.jvp returns one tangent per "
                               f"output of forward")
        out = []
        for k, pos in enumerate(self.positions):
            t = res[pos]
            if t is None or not self.differentiable[k]:
                out.append(None)
                continue
            if not isinstance(t, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(t).__name__}) for grad output {pos}.")
            shape, dtype = self.out_meta[k]
            if tuple(t.shape) != tuple(shape):
                raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the "
                                   f"original Tensor, this is not supported. Tensor is of size {list(shape)} while "
                                   f"the given forward gradient is of size {list(t.shape)}.")
            value = t if ns is TENSOR_NS else t.data
            out.append(value if t.data.dtype == dtype else ns.astype(value, dtype))
        return tuple(out) if self.multi else out[0]

    # ------------------------------------------------------------ what it keeps
    def saved_arrays(self) -> list:
        """The arrays of the saved tensors (for backward and for jvp), each once."""
        seen, result = set(), []
        for packed in (self.ctx._saved, self.ctx._saved_fwd):
            if packed is None or type(packed) is str:
                continue
            for s in packed:
                if s is not None and id(s.data) not in seen:
                    seen.add(id(s.data))
                    result.append(s.data)
        return result

    def release(self) -> None:
        """Drop the saved tensors (reading them raises PyTorch's "backward through the graph a
        second time"); the edges stay (see the class docstring)."""
        ctx = self.ctx
        ctx._saved = ctx._saved if ctx._saved is _CLEARED else _RELEASED
        ctx._saved_fwd = _RELEASED

    def check_not_modified(self) -> None:
        """Raise if a saved tensor's array was modified in place after the call was recorded."""
        stamps = mutations.stamps
        for i, x in enumerate(self.saved_arrays()):
            stamp = stamps.get(id(x), -1)
            if getattr(x, "base", None) is not None:
                stamp = max(stamp, stamps.get(id(x.base), -1))
            if stamp > self.seq:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: saved tensor {i} of {self.name} ({x.dtype}{list(x.shape)}) was modified after "
                    f"the call was recorded. Recompute the forward pass after the update, or call backward() first.")


def _user_backward(cls):
    """The Function's ``backward`` or ``vjp`` (one of them, not both)."""
    backward, vjp = cls.backward, cls.vjp
    if backward is not Function.backward and vjp is not Function.vjp:
        raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You should "
                           "only implement one of them.")
    return vjp if vjp is not Function.vjp else backward


def _expandable(shape, grad_shape) -> bool:
    """Whether ``shape`` broadcasts to ``grad_shape`` (so the gradient sums back to ``shape``)."""
    try:
        return backend.xp.broadcast_shapes(tuple(shape), tuple(grad_shape)) == tuple(grad_shape)
    except ValueError:
        return False


# ---------------------------------------------------------------- once_differentiable
class DelayedError(Function):
    """The outputs of a ``@once_differentiable`` backward, passed through: differentiating them raises."""

    @staticmethod
    def forward(ctx, *xs):
        """The values unchanged (new tensors of the same data, on the tape at this op)."""
        return xs

    @staticmethod
    def backward(ctx, *grads):
        """Refuse: the values came from a backward that cannot be differentiated."""
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(fn):
    """Decorator for a ``backward`` that is not differentiable (it computes off the tape, on
    arrays): it runs under ``no_grad``, and under ``create_graph=True`` (when the incoming
    gradients require grad) the gradients it returns are on the tape through an op whose own
    backward raises "trying to differentiate twice a function that was marked with
    @once_differentiable" — a clear error instead of a silently wrong second derivative."""
    @functools.wraps(fn)
    def wrapper(ctx, *args, **kwargs):
        with no_grad():
            outputs = fn(ctx, *args, **kwargs)
        if not _mode.grad_enabled or not any(isinstance(a, Tensor) and a._requires_grad for a in args):
            return outputs
        several = isinstance(outputs, tuple)
        marked = []
        for o in (outputs if several else (outputs,)):
            if isinstance(o, Tensor) and o.data.dtype.kind == "f":
                o = o.detach().requires_grad_()
            marked.append(o)
        passed = DelayedError.apply(*marked)
        return passed if several else passed[0]
    return wrapper


__all__ = ["BackwardCFunction", "Function", "FunctionCtx", "once_differentiable"]
