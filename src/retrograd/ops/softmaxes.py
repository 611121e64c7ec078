"""logsumexp, softmax and log_softmax along an axis, shifted by the max so
nothing overflows; the vjps use the saved output (softmax) or its exponent."""

from __future__ import annotations

import builtins

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, UnaryOp
from ..autograd.tensor import _wrap, get_default_dtype
from .shape import _data
from .reductions import _NOT_GIVEN, _Reduction, _expand, _norm_axis, _torch_axis, _with_dtype


class LogSumExp(_Reduction):
    """y = log Σₐ eˣ (shifted by the max: no overflow);  x̄ = ȳ·softmax(x),  ẏ = Σₐ ẋ·softmax(x)"""
    name, save_ans = "logsumexp", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x):
        axes = _norm_axis(self.axis, x.ndim, "logsumexp")
        if x.size == 0:  # log of an empty sum: −inf where the reduced axes are empty, as PyTorch
            with xp.errstate(divide="ignore"):
                return xp.log(xp.sum(xp.exp(x), axis=axes, keepdims=self.keepdims))
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        return out if self.keepdims else xp.squeeze(out, axis=axes)

    def vjp(self, ns, g, y, x):
        axes = self._axes(ns.value(x))
        return (_expand(ns, g, axes, self.keepdims) * ns.exp(x - _expand(ns, y, axes, self.keepdims)),)

    def jvp(self, ns, ts, y, x):
        t = ts[0]
        nlead = t.ndim - x.ndim
        axes = self._axes(ns.value(x))
        p = ns.exp(x - _expand(ns, y, axes, self.keepdims))  # softmax(x) over the axes
        return ns.sum(t * p, axis=tuple(a + nlead for a in axes), keepdims=self.keepdims)


def logsumexp(x, axis=None, keepdims=False, *, dim=_NOT_GIVEN, keepdim=None):
    """log Σ eˣ over ``axis``, stable for large x; −inf over an empty axis.
    Integer and boolean tensors are computed in the default float dtype
    (PyTorch's). PyTorch's ``dim`` (an int or a non-empty tuple) and
    ``keepdim`` are accepted."""
    if dim is not _NOT_GIVEN or keepdim is not None:
        axis, keepdims = _torch_axis("logsumexp", axis, keepdims, dim, keepdim, empty_means_all=False,
                                     ndim=len(x.shape))
    if getattr(x, "dtype", xp.dtype(float)).kind in "biu":
        x = _wrap(_data(x).astype(get_default_dtype()))
    return LogSumExp(axis, keepdims)(x)


def _refuse_softmax_input(op, x):
    """PyTorch has no softmax of integer, boolean or complex tensors; neither
    do we. (Computing integers in the default float dtype, as the elementwise
    activations do, would make ``nll_loss(log_softmax(labels))`` of integer
    logits compute where PyTorch refuses.)"""
    if x.dtype.kind == "c":
        raise OpError(f"{op}: complex input is not supported (got {x.dtype}{list(x.shape)}); PyTorch refuses it "
                      f"too: apply {op} to x.real or x.abs()")
    raise OpError(f"{op}: expected a floating tensor, got {x.dtype}{list(x.shape)} (PyTorch refuses it too); "
                  f"convert it first (x.float() or x.to(rg.get_default_dtype()))")


class Softmax(UnaryOp):
    """y = eˣ / Σₐ eˣ;  x̄ = y·(ȳ − Σₐ ȳ·y),  ẏ = y·(ẋ − Σₐ ẋ·y)"""
    name, save_ans = "softmax", True
    __slots__ = ("axis",)
    save_inputs = ()
    elementwise = True

    def __init__(self, axis=-1): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"

    def forward(self, x):
        if x.dtype.kind != "f":
            _refuse_softmax_input("softmax", x)
        if x.size == 0:  # no entries along some axis: an empty output, as PyTorch
            return x.copy()
        e = xp.exp(x - xp.max(x, axis=self.axis, keepdims=True))
        e /= xp.sum(e, axis=self.axis, keepdims=True)
        return e

    def vjp(self, ns, g, y, x):
        return (y * (g - ns.sum(g * y, axis=self.axis, keepdims=True)),)

    def jvp(self, ns, ts, y, x):
        t = ts[0]
        return y * (t - ns.sum(t * y, axis=_lead_axis(self.axis, y, t), keepdims=True))


def _lead_axis(axis, y, t):
    """The softmax ``axis`` of ``y`` as an axis of its tangent ``t`` (leading direction axes in front);
    a 0-d softmax has no axis to sum over (its output is the constant 1)."""
    if y.ndim == 0:
        return ()
    nlead = t.ndim - y.ndim
    if isinstance(axis, tuple):  # NumPy's max/sum take a tuple, so the forward does too
        return tuple(a % y.ndim + nlead for a in axis)
    return axis % y.ndim + nlead


def _softmax_axis(op, x, axis, dim, dtype):
    if dim is not _NOT_GIVEN:
        if axis != -1:
            raise OpError(f"{op}: got both axis={axis!r} (NumPy) and dim={dim!r} (PyTorch); pass one of them")
        axis = dim
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise OpError(f"{op}: dim must be one int, got {axis!r}")
    ndim = len(x.shape)
    if not -builtins.max(ndim, 1) <= axis < builtins.max(ndim, 1):
        raise DimError(f"{op}: dim {axis} is out of range for a tensor with {ndim} dimensions")
    if dtype is not None:
        x = _with_dtype(op, x, dtype)
    return x, axis


def softmax(x, axis=-1, *, dim=_NOT_GIVEN, dtype=None):
    """eˣ / Σ eˣ along ``axis`` (shifted by the max: no overflow). PyTorch's
    ``dim`` and ``dtype`` (cast first) are accepted."""
    if dim is not _NOT_GIVEN or dtype is not None:
        x, axis = _softmax_axis("softmax", x, axis, dim, dtype)
    return Softmax(axis)(x)


class LogSoftmax(UnaryOp):
    """y = x − logsumexp(x);  x̄ = ȳ − eʸ·Σₐ ȳ,  ẏ = ẋ − Σₐ ẋ·eʸ"""
    name, save_ans = "log_softmax", True
    __slots__ = ("axis",)
    save_inputs = ()
    elementwise = True

    def __init__(self, axis=-1): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"

    def forward(self, x):
        if x.dtype.kind != "f":
            _refuse_softmax_input("log_softmax", x)
        if x.size == 0:  # no entries along some axis: an empty output, as PyTorch
            return x.copy()
        s = x - xp.max(x, axis=self.axis, keepdims=True)
        s -= xp.log(xp.sum(xp.exp(s), axis=self.axis, keepdims=True))
        return s

    def vjp(self, ns, g, y, x):
        return (g - ns.exp(y) * ns.sum(g, axis=self.axis, keepdims=True),)

    def jvp(self, ns, ts, y, x):
        t = ts[0]
        return t - ns.sum(t * ns.exp(y), axis=_lead_axis(self.axis, y, t), keepdims=True)


def log_softmax(x, axis=-1, *, dim=_NOT_GIVEN, dtype=None):
    """x − logsumexp(x) along ``axis``, stable. PyTorch's ``dim`` and ``dtype`` are accepted."""
    if dim is not _NOT_GIVEN or dtype is not None:
        x, axis = _softmax_axis("log_softmax", x, axis, dim, dtype)
    return LogSoftmax(axis)(x)
