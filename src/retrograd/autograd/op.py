"""``Op``: one recorded step of the tape — its forward, its vjp, and what the vjp needs.

Subclasses put the forward and the vjp side by side::

    class Tanh(UnaryOp):
        "y = tanh(x);  x̄ = ȳ·(1 − y²)"
        save_ans = True
        def forward(self, x):            return xp.tanh(x)
        def vjp(self, ns, g, y, x):      return (g * (1 - y * y),)

``vjp`` receives the array namespace ``ns`` and arrays in a first-order
backward pass, and ``rg`` ops and Tensors under ``create_graph=True``, so the
same rule builds a differentiable graph for second derivatives.

Calling an op runs its forward on the inputs' arrays and, if any input
requires a gradient and grad mode is on, records the op as the output's
``_node``: the op instance *is* the tape entry.
"""

from __future__ import annotations

from . import backend
from .backend import xp
from .mode import AnomalyError, _mode, next_seq as _next_seq, user_site as _user_site
from .tensor import Tensor, _wrap, get_default_dtype


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


class OpError(ValueError):
    """An op was given inputs it cannot work with (shapes, dtypes, arguments)."""


class Op:
    """One recorded step of the tape: forward, vjp, and what the vjp needs.

    Class attributes a subclass may set:

    ``name``        short label used in traces and errors;
    ``save_ans``    keep the forward output for the vjp (tanh, exp, sigmoid …);
    ``broadcasts``  the op broadcasts its inputs, so the engine sums each input
                    gradient back to the input's shape (broadcasting is handled
                    once, in the engine, not in every rule).
    """

    __slots__ = ("inputs", "xs", "needs", "ans", "saved", "hooks", "retained", "site", "seq", "__weakref__")
    name = "op"
    save_ans = False
    broadcasts = False
    multi = False  # several outputs (see MultiOp)

    def forward(self, *xs):
        raise NotImplementedError

    def vjp(self, ns, g, ans, *xs):
        raise NotImplementedError(f"{self.name}: no vector-Jacobian product is defined")

    def extra_repr(self) -> str:
        return ""

    def save(self, **arrays) -> None:
        """Declare what the vjp needs beyond the inputs and (``save_ans``) the
        output, e.g. ``self.save(probs=softmax_z)`` in ``forward``; the vjp reads
        ``self.saved["probs"]``. The engine releases it, with the inputs, right
        after this op's vjp ran (unless ``retain_graph=True``), and memory reports
        (``rg.explain``) count it."""
        self.saved = arrays

    def saved_arrays(self) -> list:
        """Every array this op keeps alive for its vjp: its input arrays, its
        output when ``save_ans``, and what it declared with ``save``."""
        arrays = list(getattr(self, "xs", None) or ())
        ans = getattr(self, "ans", None)
        arrays += list(ans) if isinstance(ans, tuple) else [ans]
        saved = getattr(self, "saved", None)
        if saved:
            arrays += list(saved.values())
        return [a for a in arrays if hasattr(a, "nbytes")]

    def saved_nbytes(self) -> int:
        """Bytes held for the vjp: the sum over ``saved_arrays()``."""
        return sum(a.nbytes for a in self.saved_arrays() if a is not None)

    def release(self) -> None:
        """Drop everything saved for the vjp (the engine calls it after the vjp ran)."""
        self.inputs = self.xs = self.ans = self.saved = None

    def __repr__(self):
        extra = self.extra_repr()
        return f"<{self.name}{' ' + extra if extra else ''}>"

    def __call__(self, *args) -> "Tensor":
        """Run the forward pass on ``args`` and record this op on the tape."""
        xs, out, record = self._apply(args)
        t = _wrap(out, self if record else None)
        return t

    def _apply(self, args):
        """Forward on the arrays of ``args``; record the op if any input needs a
        gradient. Returns (arrays, output, recorded). Shared by every op with a
        variable number of inputs and by MultiOp; UnaryOp and BinaryOp unroll
        the same steps because they are most of every graph."""
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
                self.inputs, self.xs, self.needs = args, xs, needs
                self.ans = out if self.save_ans else None
                self.hooks = self.retained = None
                self.site = _user_site() if mode.anomaly else None
                self.seq = _next_seq()
        return xs, out, record

    def _params(self) -> str:
        extra = self.extra_repr()
        return f"({extra})" if extra else ""

    def _fail(self, args, e):
        return OpError(f"{self.name}{self._params()}: cannot apply to ({_describe(args)}): {e}")

    def _check_forward(self, out, args):
        if out.dtype.kind in "fc" and not xp.isfinite(out).all():
            raise AnomalyError(
                f"detect_anomaly: forward of {self.name}{self._params()} on ({_describe(args)}) "
                f"produced {'NaN' if xp.isnan(out).any() else 'Inf'}; called at {_user_site()}"
            )


# Unary, binary and ternary ops are most of every graph: their ``__call__`` is
# the general one (``Op._apply``) unrolled — no *args, no loops — which halves
# the per-op overhead.
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
        t.data, t.grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x,))
        if req and mode.grad_enabled:
            self.inputs, self.xs, self.needs = (x,), (xd,), _NEED1
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = None
            self.site = _user_site() if mode.anomaly else None
            self.seq = _next_seq()
            t._node, t.requires_grad = self, True
        else:
            t._node, t.requires_grad = None, False
        return t


_NEED1 = (True,)
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
        t.data, t.grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x, y))
        if (rx or ry) and mode.grad_enabled:
            self.inputs, self.xs, self.needs = (x, y), (xd, yd), _NEEDS2[rx, ry]
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = None
            self.site = _user_site() if mode.anomaly else None
            self.seq = _next_seq()
            t._node, t.requires_grad = self, True
        else:
            t._node, t.requires_grad = None, False
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
        t.data, t.grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x, y, z))
        if (rx or ry or rz) and mode.grad_enabled:
            self.inputs, self.xs, self.needs = (x, y, z), (xd, yd, zd), (rx, ry, rz)
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = None
            self.site = _user_site() if mode.anomaly else None
            self.seq = _next_seq()
            t._node, t.requires_grad = self, True
        else:
            t._node, t.requires_grad = None, False
        return t


class MultiOp(Op):
    """An op with several outputs (a recurrent layer returns its outputs and its
    final state). ``forward`` returns a tuple of arrays; ``vjp`` receives the
    list of output gradients, with zeros for outputs that received none, and
    the tuple of outputs as ``ans`` when ``save_ans``."""

    __slots__ = ("out_meta",)
    multi = True

    def vjp_differentiable(self, gs):
        """The vjp recorded as ``rg`` ops on ``self.inputs`` (Tensors), for
        ``create_graph=True``; ``gs`` are the output gradients as Tensors."""
        raise NotImplementedError(f"{self.name}: second derivatives through this op are not implemented")

    def __call__(self, *args) -> tuple:
        xs, outs, record = self._apply(args)
        if record:
            self.out_meta = tuple((o.shape, o.dtype) for o in outs)
        result = []
        for i, o in enumerate(outs):
            t = _wrap(o, self if record else None)
            t._oi = i
            result.append(t)
        return tuple(result)


