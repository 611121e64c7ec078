"""``Op``: one recorded step of the tape — its forward, its vjp, and what the vjp needs.

Subclasses put the forward and the vjp side by side, and declare what the
vjp reads (Chainer's ``retain_inputs``/``retain_outputs``, the ``self`` /
``result`` / ``self.sizes()`` of PyTorch's ``derivatives.yaml``)::

    class Tanh(UnaryOp):
        "y = tanh(x);  x̄ = ȳ·(1 − y²)"
        save_inputs, save_ans = (), True     # the output only: x is not kept
        def forward(self, x):            return xp.tanh(x)
        def vjp(self, ns, g, y, x):      return (g * (1 - y * y),)

What an op keeps for its backward pass, and nothing more:

- ``save_inputs``: the inputs whose *values* the vjp reads. A tuple of
  positions (``(0,)``: the first input), or a dict ``{position: positions}``
  for an input needed only when one of those inputs needs a gradient
  (``Mul``: x̄ = z̄·y and ȳ = z̄·x, so ``{0: (1,), 1: (0,)}``: y is kept only
  when x needs a gradient), or ``ALL``. An input that is not kept reaches the
  vjp as an ``ArrayMeta`` — its shape and dtype, no data — which is all a
  shape op (reshape, sum, broadcast) needs, and all the engine needs to sum
  a gradient back over broadcast axes and cast it to the input's dtype.
  An input that needs no gradient and is not kept reaches it as None.
- ``save_ans``: the vjp reads the op's output (tanh, exp, sigmoid, sqrt).
- ``self.save(name=array)`` in ``forward``: anything else (a softmax, an
  argmax, a mask).

The default, for an ``Op`` written outside retrograd, is ``ALL``: correct,
not lean. Every op of retrograd declares its own (a test checks it).

Graph edges point at producers, not at Tensors: an input made by a recorded
op is reached through that op (and its output index, for an op with several
outputs), a leaf through the leaf itself. So an intermediate Tensor the user
dropped is freed, and its array too unless some op kept it.

Beside each vjp sits the op's forward-mode rule, ``jvp(ns, ts, ans, *xs)``:
the tangent of the output from the inputs' tangents (``autograd.forward``),
reading the same saved values — the vjp of input i and its jvp need the same
partial derivative ∂f/∂xᵢ, so what the vjp declares suffices for both.

``vjp`` receives the array namespace ``ns`` and arrays in a first-order
backward pass, and ``rg`` ops and Tensors under ``create_graph=True`` (the
kept inputs rebuilt as Tensors on the tape, ``input_tensors``), so the same
rule builds a differentiable graph for second derivatives.

Calling an op runs its forward on the inputs' arrays and, if any input
requires a gradient and grad mode is on, records the op (``Op.record``, the
one recording path of every op and of ``rg.scan``): the op instance *is* the
tape entry.
"""

from __future__ import annotations

import weakref

from . import backend
from .backend import xp
from .mode import AnomalyError, _mode, mutations, next_seq as _next_seq, user_site as _user_site
from .tensor import Tensor, _HookHandle, _wrap, get_default_dtype

ALL = "all"
"""``save_inputs = ALL``: the vjp reads every input (the default for ops written outside retrograd)."""


def _describe(args) -> str:
    """``float32[2, 3], int`` — the dtypes and shapes of an op's arguments, for errors."""
    parts = []
    for a in args:
        d = a.data if isinstance(a, Tensor) else a
        if hasattr(d, "shape") and hasattr(d, "dtype"):
            parts.append(f"{d.dtype}{list(d.shape)}")
        else:
            parts.append(type(d).__name__)
    return ", ".join(parts)


# grad_fn hooks (``Op.register_prehook`` / ``register_hook``), kept beside the ops rather than in a
# slot of each: most graphs have none, and the engine looks here only when some op has one
NODE_PREHOOKS = weakref.WeakKeyDictionary()  # op → [fn(grad_outputs)]
NODE_POSTHOOKS = weakref.WeakKeyDictionary()  # op → [fn(grad_inputs, grad_outputs)]


def _node_hook(registry, op, fn):
    if not callable(fn):
        raise TypeError(f"{op.name}: a grad_fn hook must be callable, got {type(fn).__name__}")
    hooks = registry.setdefault(op, [])
    hooks.append(fn)
    return _HookHandle(hooks, fn)


class OpError(ValueError, RuntimeError):
    """An op was given inputs it cannot work with (shapes, dtypes, arguments): a ``ValueError``, and
    the ``RuntimeError`` PyTorch raises for most of these (shapes that do not fit, a bad size)."""


class IndexRangeError(OpError, IndexError):
    """An index (a class target, a position) outside its range: an ``IndexError`` as PyTorch
    raises, and an ``OpError``."""


class DimError(OpError, IndexError):
    """A dim out of range for the tensor: an ``IndexError`` as PyTorch raises ("Dimension out of
    range"), and an ``OpError``."""


class ArrayMeta:
    """An input the vjp does not read, as the tape keeps it: shape and dtype, no data.

    A shape op's vjp reads ``x.shape`` (``reshape``: x̄ = ȳ.reshape(x.shape)),
    and the engine reads both to sum a gradient back over broadcast axes and
    cast it to the input's dtype; neither needs the values. Instances are
    shared between ops (one per shape and dtype)."""

    __slots__ = ("shape", "dtype")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __repr__(self):
        return f"ArrayMeta({self.dtype}{list(self.shape)})"


_METAS: dict = {}


def array_meta(a) -> ArrayMeta:
    """The (shared) ``ArrayMeta`` of array ``a``: a dict lookup once its shape has been seen.

    Keyed by the dtype's identity (NumPy hashes a dtype anew on every call; the
    built-in dtypes are shared objects) and checked on a hit, so a dtype object
    that died and left its id to another is never mistaken for it."""
    dtype = a.dtype
    key = (a.shape, id(dtype))
    m = _METAS.get(key)
    if m is None or m.dtype is not dtype:
        if len(_METAS) > 4096:  # bounded: shapes of a long-running process come and go
            _METAS.clear()
        m = _METAS[key] = ArrayMeta.__new__(ArrayMeta)
        m.shape, m.dtype = a.shape, dtype
    return m


def _shape_of(a, x):
    """What the tape holds of an input the vjp does not read: the leaf's own array
    when it is a leaf (the edge keeps the leaf alive anyway, so this costs nothing),
    else its ``ArrayMeta``. (``x`` is ``a.data`` itself: only integer tensors are
    converted before a forward, and they never need a gradient.)"""
    return x if a._node is None else array_meta(x)


def _constant_shape(x):
    """An input that needs no gradient and is not kept: a constant array as its
    ``ArrayMeta``, a Python number as itself (nothing to free)."""
    return array_meta(x) if type(x) is backend.ndarray else x


def _edge(a):
    """Where the gradient of input ``a`` (a Tensor that requires grad) goes: the op that made it
    (with the output index, for an op with several outputs), or the leaf itself."""
    node = a._node
    if node is None:
        return a
    return (node, a._oi) if node.multi else node


class Op:
    """One recorded step of the tape: forward, vjp, and what the vjp needs.

    Class attributes a subclass may set:

    - ``name``: short label used in traces and errors;
    - ``save_inputs``: which inputs' values the vjp reads (``autograd.op``'s docstring);
    - ``save_ans``: keep the forward output for the vjp (tanh, exp, sigmoid …);
    - ``broadcasts``: the op broadcasts its inputs, so the engine sums each input
      gradient back to the input's shape (broadcasting is handled
      once, in the engine, not in every rule);
    - ``elementwise``: one input, and the output has its shape and dtype (tanh,
      sigmoid, relu …): an input the vjp does not read is not
      kept at all, not even its shape (the gradient has it).
    - ``jvp_lead``: the jvp takes tangents with leading direction axes (False:
      the forward walk runs it once per direction);
    - ``aligns_tangents``: for a broadcasting op, the walk lines the tangents up
      with the output before the jvp (False: the rule does it,
      as matmul, whose batch axes are not its last two).

    A recorded op holds: ``edges`` (per input: the producer op, ``(op,
    output index)``, the leaf Tensor, or None for an input that needs no
    gradient), ``xs`` (per input: the array when kept, else its
    ``ArrayMeta``, or None: a constant, or the input of an ``elementwise``
    op, whose gradient has its shape), ``needs`` (which inputs need a gradient),
    ``ans``, ``saved``, hooks, ``retained`` (``retain_grad``), ``label``
    (``graph.label``) and ``seq`` (creation order). Under ``detect_anomaly`` the
    line of user code that created it is kept aside (``creation_site``), not in
    every op.
    """

    __slots__ = ("edges", "xs", "needs", "ans", "saved", "hooks", "retained", "label", "seq", "__weakref__")
    name = "op"
    save_inputs = ALL
    save_ans = False
    broadcasts = False
    elementwise = False
    multi = False  # several outputs (see MultiOp)
    jvp_lead = True  # the jvp takes tangents with leading direction axes (else run once per direction)
    aligns_tangents = True  # a broadcasting op's tangents are lined up with its output before its jvp

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._save_plans = {}  # needs → which inputs to keep, worked out once per pattern
        cls._keeps_one = cls._save_plan((True,))[0]  # the pattern of every recorded one-input op

    def forward(self, *xs):
        raise NotImplementedError

    def vjp(self, ns, g, ans, *xs):
        """Reverse mode: the gradients of the inputs, a tuple with one entry per input (None for
        an input that needs none: ``self.needs[i]`` says which do), given ``g``, the gradient of
        the output (a list of them for a ``MultiOp``).

        ``ns`` is the namespace to compute with: NumPy-like functions on arrays in an ordinary
        backward pass, the same names as differentiable ops on Tensors under
        ``create_graph=True`` (``autograd.namespaces.NAMES``: ``ns.exp``, ``ns.sum``,
        ``ns.reshape``, ``ns.where`` …; arithmetic operators work on both) — so one rule serves
        first and higher derivatives. ``ans`` is the output when ``save_ans`` (else None), ``xs``
        the inputs as kept (``save_inputs``; the others as their ``ArrayMeta``). A broadcasting
        op (``broadcasts = True``) may return gradients of the output's shape: the engine sums
        them back to each input's shape. Example, for y = x·sin(x)::

            class XSinX(UnaryOp):
                name, save_inputs = "x_sin_x", (0,)
                def forward(self, x):          return x * xp.sin(x)
                def vjp(self, ns, g, y, x):    return (g * (ns.sin(x) + x * ns.cos(x)),)
                def jvp(self, ns, ts, y, x):   return ts[0] * (ns.sin(x) + x * ns.cos(x))

        ``rg.gradcheck`` checks a new op against finite differences."""
        raise NotImplementedError(f"{self.name}: no vector-Jacobian product is defined")

    def jvp(self, ns, ts, ans, *xs):
        """Forward mode: the tangent of the output given ``ts``, the tangents of the
        inputs (None: zero), from the same saved values as the vjp (``forward``).
        A tangent may carry leading axes (a batch of directions) unless the op
        sets ``jvp_lead = False``."""
        raise NotImplementedError(f"{self.name}: no Jacobian-vector product (forward-mode rule) is defined")

    def extra_repr(self) -> str:
        return ""

    def save(self, **arrays) -> None:
        """Declare what the vjp needs beyond its kept inputs and (``save_ans``) the
        output, e.g. ``self.save(probs=softmax_z)`` in ``forward``; the vjp reads
        ``self.saved["probs"]``. The engine releases it, with the inputs, right
        after this op's vjp ran (unless ``retain_graph=True``), and memory reports
        (``rg.explain``) count it."""
        self.saved = arrays

    # ------------------------------------------------------------ recording
    @classmethod
    def _save_plan(cls, needs: tuple) -> tuple:
        """Per input, whether its value is kept, given which inputs need a gradient."""
        plan = cls._save_plans.get(needs)
        if plan is None:
            spec = cls.save_inputs
            if spec == ALL:
                plan = (True,) * len(needs)
            elif isinstance(spec, dict):
                plan = tuple(i in spec and (spec[i] == ALL or any(j < len(needs) and needs[j] for j in spec[i]))
                             for i in range(len(needs)))
            else:
                plan = tuple(i in spec for i in range(len(needs)))
            cls._save_plans[needs] = plan
        return plan

    def record(self, args, xs, needs, out) -> None:
        """Put this op on the tape: the edges to the producers of ``args``, the
        inputs the vjp reads (``save_inputs``; the others as their shape and
        dtype), the output if ``save_ans``. ``xs`` are the arrays of ``args``
        as the forward saw them, ``needs`` which args need a gradient. The one
        recording path: every op call and ``rg.scan`` go through it."""
        n = len(args)
        if n == 1:  # most ops: unrolled (a loop or a comprehension costs more than the rest)
            a = args[0]
            node = a._node
            self.edges = (a if node is None else (node, a._oi) if node.multi else node,)
            self.xs = xs if self._keeps_one else _NOTHING if self.elementwise else (_shape_of(a, xs[0]),)
            self.needs = _NEED1
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = self.label = None
            self.seq = _next_seq()
            return
        plan = self._save_plans.get(needs)
        if plan is None:
            plan = self._save_plan(needs)
        # Below, per input: the edge (a leaf is its own edge, the common case inlined), and what is
        # kept — the value if declared, else a leaf's own array, else the shape (``_shape_of``).
        if n == 2:
            a, b = args
            need_a, need_b = needs
            keep_a, keep_b = plan
            leaf_a, leaf_b = need_a and a._node is None, need_b and b._node is None
            self.edges = (a if leaf_a else _edge(a) if need_a else None, b if leaf_b else _edge(b) if need_b else None)
            if not (keep_a or keep_b) and need_a and need_b and self.broadcasts and type(out) is backend.ndarray:
                # add, sub, where: their vjps read no input, so two inputs of the output's shape and dtype
                # need nothing kept (the gradient has both), and one comparison settles it (not so for a
                # shape op such as concatenate, whose two empty inputs can have its empty output's shape)
                x, y = xs
                shape, dtype = out.shape, out.dtype
                xs = (_NOTHING2 if x.shape == shape and y.shape == shape and x.dtype is dtype and y.dtype is dtype
                      else (_shape_of(a, x), _shape_of(b, y)))
            elif not ((keep_a or leaf_a) and (keep_b or leaf_b)):
                x, y = xs
                xs = (x if keep_a or leaf_a else array_meta(x) if need_a else _constant_shape(x),
                      y if keep_b or leaf_b else array_meta(y) if need_b else _constant_shape(y))
            self.xs = xs
        elif n == 3:  # linear (x, W, b)
            a, b, c = args
            need_a, need_b, need_c = needs
            keep_a, keep_b, keep_c = plan
            leaf_a, leaf_b, leaf_c = need_a and a._node is None, need_b and b._node is None, need_c and c._node is None
            self.edges = (a if leaf_a else _edge(a) if need_a else None, b if leaf_b else _edge(b) if need_b else None,
                          c if leaf_c else _edge(c) if need_c else None)
            if not ((keep_a or leaf_a) and (keep_b or leaf_b) and (keep_c or leaf_c)):
                x, y, z = xs
                xs = (x if keep_a or leaf_a else array_meta(x) if need_a else _constant_shape(x),
                      y if keep_b or leaf_b else array_meta(y) if need_b else _constant_shape(y),
                      z if keep_c or leaf_c else array_meta(z) if need_c else _constant_shape(z))
            self.xs = xs
        else:
            self.edges = tuple([_edge(a) if need else None for a, need in zip(args, needs)])
            if False in plan:
                xs = tuple([x if keep else _shape_of(a, x) if need else _constant_shape(x)
                            for a, x, need, keep in zip(args, xs, needs, plan)])
            self.xs = xs
        self.needs = needs
        self.ans = out if self.save_ans else None
        self.hooks = self.retained = self.label = None
        self.seq = _next_seq()

    # ------------------------------------------------------------ what the tape holds
    def input_tensors(self) -> tuple:
        """The inputs as the vjp sees them under ``create_graph``: kept values as
        Tensors on the tape (the leaf itself, or the value re-attached to the op
        that made it), inputs not kept as their ``ArrayMeta``, constants as they are."""
        if self.edges is None:
            raise _freed(self)
        result = []
        for e, x in zip(self.edges, self.xs):
            if x is None or type(x) is ArrayMeta or e is None:
                result.append(_wrap(x) if type(x) is backend.ndarray else x)
            elif isinstance(e, Tensor):
                result.append(e)
            elif type(e) is tuple:
                t = _wrap(x, e[0])
                t._oi = e[1]
                result.append(t)
            else:
                result.append(_wrap(x, e))
        return tuple(result)

    def saved_arrays(self) -> list:
        """Every array this op keeps alive for its vjp, each once: its kept
        inputs, its output when ``save_ans``, and what it declared with ``save``."""
        arrays = list(self.kept_inputs())
        ans = getattr(self, "ans", None)
        arrays += list(ans) if isinstance(ans, tuple) else [ans]
        saved = getattr(self, "saved", None)
        if saved:
            arrays += list(saved.values())
        seen, result = set(), []
        for a in arrays:
            if hasattr(a, "nbytes") and id(a) not in seen:
                seen.add(id(a))
                result.append(a)
        return result

    def kept_inputs(self) -> list:
        """The input arrays this op keeps for its vjp (``save_inputs``): not the
        leaves' arrays that stand for their shape (the leaf lives anyway)."""
        if self.edges is None or self.xs is None:
            return []
        plan = self._save_plan(self.needs)
        return [x for x, keep in zip(self.xs, plan) if keep]

    def saved_nbytes(self) -> int:
        """Bytes held for the vjp: the sum over ``saved_arrays()``."""
        return sum(a.nbytes for a in self.saved_arrays())

    def vjp_scratch_nbytes(self) -> int:
        """Bytes the vjp allocates beyond the gradients it returns (none for most ops;
        a fused recurrent op's per-step deltas). The BPTT planner budgets with it."""
        return 0

    def release(self) -> None:
        """Drop everything saved for the vjp, and the edges (the engine calls it after the vjp ran)."""
        self.edges = self.xs = self.ans = self.saved = None

    def check_not_modified(self) -> None:
        """Raise if an array this op kept was changed in place (``mark_modified_``:
        an optimizer step, ``load_state_dict``) after the op was recorded: its
        vjp would differentiate with the new values (PyTorch's "modified by an
        inplace operation"). Each kept array is checked against the version
        stamp of its memory (its own, or its base's for a view)."""
        stamps = mutations.stamps
        plan = self._save_plan(self.needs) if self.xs is not None else ()
        for i, (x, keep) in enumerate(zip(self.xs or (), plan)):
            if not keep or type(x) is not backend.ndarray:
                continue
            stamp = stamps.get(id(x), -1)
            if x.base is not None:
                stamp = max(stamp, stamps.get(id(x.base), -1))
            if stamp > self.seq:
                raise RuntimeError(
                    f"backward of {self.name}: input {i} ({x.dtype}{list(x.shape)}) was modified in place (an "
                    f"optimizer step, load_state_dict or another in-place update) after {self.name} was "
                    f"recorded, and {self.name} needs its old value for the gradient. Recompute the forward "
                    f"pass after the update, or call backward() before modifying it.")

    def register_prehook(self, fn):
        """PyTorch's ``Node.register_prehook``: ``fn(grad_outputs)`` runs before this op's vjp (after
        the hooks of its output tensors) with a tuple of one gradient per output (None where none
        came); it may return a tuple of as many in their place. Returns a handle whose ``remove()``
        unregisters it."""
        return _node_hook(NODE_PREHOOKS, self, fn)

    def register_hook(self, fn):
        """PyTorch's ``Node.register_hook``: ``fn(grad_inputs, grad_outputs)`` runs after this op's
        vjp, with a tuple of one gradient per input (of its shape; None for an input that needs no
        gradient) and the gradients it received; it may return a tuple of as many in place of
        ``grad_inputs``. Returns a handle whose ``remove()`` unregisters it."""
        return _node_hook(NODE_POSTHOOKS, self, fn)

    @property
    def next_functions(self) -> tuple:
        """PyTorch's ``grad_fn.next_functions``: per input, ``(op, output index)`` for a computed
        input, ``(AccumulateGrad, 0)`` for a leaf (``.variable`` is the leaf), ``(None, 0)`` for
        an input that needs no gradient; ``()`` once a backward released the op."""
        return tuple((None, 0) if e is None else (AccumulateGrad(e), 0) if isinstance(e, Tensor)
                     else e if type(e) is tuple else (e, 0) for e in self.edges or ())

    def __repr__(self):
        extra = self.extra_repr()
        return f"<{self.name}{' ' + extra if extra else ''}>"

    # ------------------------------------------------------------ calling
    def __call__(self, *args) -> "Tensor":
        """Run the forward pass on ``args`` and record this op on the tape."""
        out, record = self._apply(args)
        t = _wrap(out, self if record else None)
        if _mode.trace is not None:
            _mode.trace.call(self, args, None, (t,))
        if _mode.dual is not None:
            _mode.dual.call(self, args, None, (t,))
        return t

    def _apply(self, args):
        """Forward on the arrays of ``args``; record the op if any input needs a
        gradient. Returns (output, recorded). Shared by every op with a
        variable number of inputs and by MultiOp; UnaryOp, BinaryOp and
        TernaryOp unroll the same steps because they are most of every graph."""
        xs = tuple([a.data if isinstance(a, Tensor) else a for a in args])
        try:
            out = self.forward(*xs)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail(args, e) from e
        if self.multi:
            out = tuple(o if type(o) is backend.ndarray else xp.asarray(o) for o in out)
        elif type(out) is not backend.ndarray:
            out = xp.asarray(out)
        mode = _mode
        if mode.anomaly:
            for o in (out if self.multi else (out,)):
                self._check_forward(o, args)
        record = False
        if mode.grad_enabled:
            needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            if True in needs:
                record = True
                self.record(args, xs, needs, out)
        return out, record

    def _params(self) -> str:
        extra = self.extra_repr()
        return f"({extra})" if extra else ""

    def _fail(self, args, e):
        kind = IndexRangeError if isinstance(e, IndexError) else OpError  # an index out of range stays an IndexError
        return kind(f"{self.name}{self._params()}: cannot apply to ({_describe(args)}): {e}")

    def _check_forward(self, out, args):
        """Anomaly mode: refuse a non-finite output, and remember where user code made this op."""
        _SITES[self] = _user_site()
        if _mode.backward_depth:  # computing a gradient: the engine checks it as the backward's result
            return
        if out.dtype.kind in "fc" and not xp.isfinite(out).all():
            raise AnomalyError(
                f"detect_anomaly: forward of {self.name}{self._params()} on ({_describe(args)}) "
                f"produced {'NaN' if xp.isnan(out).any() else 'Inf'}; called at {_user_site()}"
            )


_SITES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def creation_site(node) -> str | None:
    """Where user code created ``node``, if it was recorded under ``detect_anomaly``."""
    return _SITES.get(node)


class AccumulateGrad:
    """The end of a path at a leaf in ``next_functions`` (PyTorch's node of that name): ``variable``
    is the leaf; two are equal when their leaf is the same tensor."""

    __slots__ = ("variable",)
    name = "AccumulateGrad"

    def __init__(self, variable):
        self.variable = variable

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self):
        return f"<AccumulateGrad of a leaf of shape {tuple(self.variable.shape)}>"


def _freed(node):
    return RuntimeError(
        f"backward through op '{node.name}' a second time: the tape was freed after the first "
        f"backward. Pass retain_graph=True to the first backward() if you need to backpropagate twice."
    )


# Unary, binary and ternary ops are most of every graph: their ``__call__`` is
# the general one (``Op._apply``) unrolled — no *args, no loops — which halves
# the per-op overhead. All of them record through ``Op.record``.
class UnaryOp(Op):
    """An op of one tensor argument (elementwise functions, reductions, shape ops)."""

    __slots__ = ()

    def __call__(self, x) -> "Tensor":
        if isinstance(x, Tensor):
            xd, req = x.data, x.requires_grad
        else:
            xd, req = x, False
        try:
            out = self.forward(xd)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail((x,), e) from e
        if type(out) is not backend.ndarray:
            out = xp.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t._grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x,))
        if req and mode.grad_enabled:
            self.record((x,), (xd,), _NEED1, out)
            t._node, t._requires_grad = self, True
        else:
            t._node, t._requires_grad = None, False
        if mode.trace is not None:
            mode.trace.call(self, (x,), (xd,), (t,))
        if mode.dual is not None:
            mode.dual.call(self, (x,), (xd,), (t,))
        return t


_NEED1 = (True,)
_NOTHING, _NOTHING2 = (None,), (None, None)  # inputs of the output's shape and dtype: nothing kept
_NEEDS2 = {(True, True): (True, True), (True, False): (True, False), (False, True): (False, True)}
_PYTHON_SCALARS = frozenset((float, int, bool))


def _with_scalar(array, constant):
    """(array, constant) ready for a binary op, with PyTorch's rules for a
    scalar beside a tensor (NumPy 2 differs on both):

    - a scalar never raises a tensor's floating dtype: ``float32 · np.float64(2)``
      stays float32 (a NumPy scalar is passed on as a Python scalar, which
      NumPy treats as "weak");
    - an integer or boolean tensor with a floating scalar gives the default
      float dtype (``rg.get_default_dtype()``), not float64.

    Anything else (arrays, 0-d arrays included, lists) keeps NumPy's promotion."""
    kind = type(constant)
    if kind not in _PYTHON_SCALARS:
        if (getattr(constant, "shape", None) != () or not hasattr(constant, "item")
                or isinstance(constant, backend.ndarray)):
            return array, constant
        constant = constant.item()  # a NumPy scalar: a Python scalar
        kind = type(constant)
        if kind not in _PYTHON_SCALARS:  # complex: NumPy's rules
            return array, constant
    if kind is float and array.dtype.kind in "iub":
        array = array.astype(get_default_dtype())
    return array, constant


class BinaryOp(Op):
    """An op of two arguments, each a tensor or a constant (arithmetic, maximum …)."""

    __slots__ = ()

    def __call__(self, x, y) -> "Tensor":
        # Tensor with Tensor is the hot path: two type checks, nothing else.
        # A constant operand takes the branch that adapts scalars to PyTorch's
        # promotion (``_with_scalar``).
        if isinstance(x, Tensor):
            xd, rx = x.data, x.requires_grad
            if isinstance(y, Tensor):
                yd, ry = y.data, y.requires_grad
            else:
                xd, yd = _with_scalar(xd, y)
                ry = False
        else:
            rx = False
            if isinstance(y, Tensor):
                yd, ry = y.data, y.requires_grad
                yd, xd = _with_scalar(yd, x)
            else:
                xd, yd, ry = x, y, False
        try:
            out = self.forward(xd, yd)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail((x, y), e) from e
        if type(out) is not backend.ndarray:
            out = xp.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t._grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x, y))
        if (rx or ry) and mode.grad_enabled:
            self.record((x, y), (xd, yd), _NEEDS2[rx, ry], out)
            t._node, t._requires_grad = self, True
        else:
            t._node, t._requires_grad = None, False
        if mode.trace is not None:
            mode.trace.call(self, (x, y), (xd, yd), (t,))
        if mode.dual is not None:
            mode.dual.call(self, (x, y), (xd, yd), (t,))
        return t


class TernaryOp(Op):
    """An op of three arguments (``linear``: x, W, b — the most common op of an
    MLP), unrolled like UnaryOp and BinaryOp; b may be None."""

    __slots__ = ()

    def __call__(self, x, y, z=None) -> "Tensor":
        xd, rx = (x.data, x.requires_grad) if isinstance(x, Tensor) else (x, False)
        yd, ry = (y.data, y.requires_grad) if isinstance(y, Tensor) else (y, False)
        zd, rz = (z.data, z.requires_grad) if isinstance(z, Tensor) else (z, False)
        try:
            out = self.forward(xd, yd, zd)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail((x, y, z), e) from e
        if type(out) is not backend.ndarray:
            out = xp.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t._grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x, y, z))
        if (rx or ry or rz) and mode.grad_enabled:
            self.record((x, y, z), (xd, yd, zd), (rx, ry, rz), out)
            t._node, t._requires_grad = self, True
        else:
            t._node, t._requires_grad = None, False
        if mode.trace is not None:
            mode.trace.call(self, (x, y, z), (xd, yd, zd), (t,))
        if mode.dual is not None:
            mode.dual.call(self, (x, y, z), (xd, yd, zd), (t,))
        return t


class MultiOp(Op):
    """An op with several outputs (a recurrent layer returns its outputs and its
    final state). ``forward`` returns a tuple of arrays; ``vjp`` receives the
    list of output gradients, with zeros for outputs that received none, and
    the tuple of outputs as ``ans`` when ``save_ans``."""

    __slots__ = ("out_meta",)
    multi = True

    def vjp_differentiable(self, gs):
        """The vjp recorded as ``rg`` ops on ``self.input_tensors()``, for
        ``create_graph=True``; ``gs`` are the output gradients as Tensors."""
        raise NotImplementedError(f"{self.name}: second derivatives through this op are not implemented")

    def record(self, args, xs, needs, outs) -> None:
        super().record(args, xs, needs, outs)
        self.out_meta = tuple((o.shape, o.dtype) for o in outs)

    def __call__(self, *args) -> tuple:
        outs, record = self._apply(args)
        result = []
        for i, o in enumerate(outs):
            t = _wrap(o, self if record else None)
            t._oi = i
            result.append(t)
        result = tuple(result)
        if _mode.trace is not None:
            _mode.trace.call(self, args, None, result)
        if _mode.dual is not None:
            _mode.dual.call(self, args, None, result)
        return result


# ------------------------------------------------------------ values computed off the tape
class OffTape(Op):
    """A call of a function that computes a tensor from tensors' values off the tape (a
    comparison, ``argmax``, ``isnan``, a cast to an integer dtype): never recorded for
    backward, but seen by ``autograd.replay`` while it traces, so that a replay computes it
    again from the new values instead of keeping the traced result."""

    __slots__ = ("fn", "args", "kwargs")
    name = "off_tape"
    save_inputs = ()

    def __init__(self, fn, args, kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def extra_repr(self):
        return getattr(self.fn, "__name__", "")

    def forward(self, *xs):
        args = [_wrap(x) if isinstance(a, Tensor) else a for a, x in zip(self.args, xs)]
        return self.fn(*args, **self.kwargs).data

    def vjp(self, ns, g, ans, *xs):
        return (None,) * len(xs)

    def jvp(self, ns, ts, ans, *xs):
        return None


def off_tape(fn):
    """Decorator for a function that returns a tensor computed from tensors' values without
    an op (``OffTape``): the call is seen by a replay's trace and repeated by the replay."""
    def traced(*args, **kwargs):
        out = fn(*args, **kwargs)
        trace = _mode.trace
        if trace is not None and type(out) is Tensor and not any(out is a for a in args) and id(out) not in trace.made:
            trace.call(OffTape(fn, args, kwargs), args, None, (out,))  # (an op's output is traced already)
        return out
    traced.__name__, traced.__qualname__, traced.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    traced.__module__, traced.__wrapped__ = fn.__module__, fn
    return traced
