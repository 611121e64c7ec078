"""Reductions: sum, max/min (with the tie conventions), prod, logsumexp,
softmax and log_softmax.

The vjp of a reduction broadcasts the upstream gradient back over the reduced
axes; ``_expand`` re-inserts those axes when ``keepdims=False``.
"""

from __future__ import annotations

import builtins

from ..autograd import conventions
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from ..autograd.tensor import _wrap
from .shape import _data


def _norm_axis(axis, ndim, op):
    """Normalise ``axis`` (None, int or tuple) to a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise OpError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _expand(ns, g, axes, keepdims):
    """Re-insert the reduced ``axes`` into ``g`` so it broadcasts against the input."""
    if keepdims or not axes:
        return g
    shape = list(g.shape)
    for a in axes:
        shape.insert(a, 1)
    return ns.reshape(g, tuple(shape))


class _Reduction(UnaryOp):
    __slots__ = ("axis", "keepdims")

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def extra_repr(self): return f"axis={self.axis}, keepdims={self.keepdims}"

    def _axes(self, x):
        return _norm_axis(self.axis, x.ndim, self.name)


class Sum(_Reduction):
    """y = Σₐ x;  x̄ = broadcast ȳ over the summed axes"""
    name = "sum"
    __slots__ = ()

    def forward(self, x): return x.sum(axis=_norm_axis(self.axis, x.ndim, "sum"), keepdims=self.keepdims)

    def vjp(self, ns, g, y, x):
        return (ns.broadcast_to(_expand(ns, g, self._axes(x), self.keepdims), x.shape),)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Σ x over ``axis`` (all axes when None)."""
    return Sum(axis, keepdims)(x)


class Mean(_Reduction):
    """y = Σₐ x / n;  x̄ = broadcast ȳ / n over the averaged axes"""
    name = "mean"
    __slots__ = ()

    def forward(self, x):
        axes = _norm_axis(self.axis, x.ndim, "mean")
        n = 1
        for a in axes:
            n *= x.shape[a]
        return x.sum(axis=axes, keepdims=self.keepdims) * (1.0 / n)  # ndarray.mean's wrapper is slow

    def vjp(self, ns, g, y, x):
        axes = self._axes(x)
        n = 1
        for a in axes:
            n *= x.shape[a]
        return (ns.broadcast_to(_expand(ns, g, axes, self.keepdims) * (1.0 / n), x.shape),)


def mean(x, axis=None, keepdims=False):
    """Σx / n over ``axis``."""
    return Mean(axis, keepdims)(x)


class _MaxMin(_Reduction):
    """y = maxₐ x;  x̄ = ȳ at the maximum, 0 elsewhere.

    With k tied maxima the policy decides: ``first`` (the first in index
    order), ``split``/``min_norm`` (1/k each) or ``all`` (ȳ to each).
    """
    save_ans = True
    __slots__ = ("share",)

    def __init__(self, axis=None, keepdims=False):
        super().__init__(axis, keepdims)
        self.share = conventions.reduction_weights()

    def forward(self, x):
        if x.size == 0:
            raise OpError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        return self.reduce(x, axis=_norm_axis(self.axis, x.ndim, self.name), keepdims=self.keepdims)

    def vjp(self, ns, g, y, x):
        xv, axes = ns.value(x), self._axes(ns.value(x))
        yk = _expand(xp, ns.value(y), axes, self.keepdims)
        mask = tie_mask(xv, yk, axes, self.share)
        return (_expand(ns, g, axes, self.keepdims) * mask,)


def tie_mask(x, y_keepdims, axes, share):
    """Weights of each entry in the gradient of a max/min over ``axes``:
    the policy's share at the (possibly tied) extremal entries, 0 elsewhere.
    Shared with max-pooling."""
    hit = x == y_keepdims
    if share == "all":
        return hit.astype(x.dtype)
    if share == "split":
        return hit / hit.sum(axis=axes, keepdims=True, dtype=x.dtype)
    # first: keep only the first hit in C order over the reduced axes
    moved = xp.moveaxis(hit, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))
    first = xp.zeros_like(flat)
    idx = xp.argmax(flat, axis=-1)
    xp.put_along_axis(first, idx[..., None], True, axis=-1)
    first = first.reshape(moved.shape)
    return xp.moveaxis(first, tuple(range(-len(axes), 0)), axes).astype(x.dtype)


class Max(_MaxMin):
    __doc__ = _MaxMin.__doc__
    name = "max"
    __slots__ = ()
    reduce = staticmethod(lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims))


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Max over ``axis``; tied maxima share the gradient per ``rg.conventions``."""
    return Max(axis, keepdims)(x)


class Min(_MaxMin):
    __doc__ = _MaxMin.__doc__.replace("max", "min")
    name = "min"
    __slots__ = ()
    reduce = staticmethod(lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims))


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Min over ``axis``; tied minima share the gradient per ``rg.conventions``."""
    return Min(axis, keepdims)(x)


class Prod(_Reduction):
    """y = Πₐ x;  x̄ᵢ = ȳ·Π_{j≠i} xⱼ  (exclusive products: exact with zeros)"""
    name = "prod"
    __slots__ = ()

    def forward(self, x): return xp.prod(x, axis=_norm_axis(self.axis, x.ndim, "prod"), keepdims=self.keepdims)

    def vjp(self, ns, g, y, x):
        axes = self._axes(ns.value(x))
        others = ProdOthers(axes)(x) if not isinstance(x, xp.ndarray) else ProdOthers(axes).forward(x)
        return (_expand(ns, g, axes, self.keepdims) * others,)


def prod(x, axis=None, keepdims=False):
    """Π x over ``axis`` (its gradient is exact with zeros)."""
    return Prod(axis, keepdims)(x)


class ProdOthers(UnaryOp):
    """y_i = Π_{j≠i} x_j over ``axes`` (the derivative of prod).

    Its own vjp: x̄_k = Σ_{i≠k} ȳ_i·Π_{j∉{i,k}} x_j, computed by brute force
    over pairs; used only for second derivatives of prod.
    """
    name = "prod_others"
    __slots__ = ("axes",)

    def __init__(self, axes): self.axes = axes

    def forward(self, x):
        axes = self.axes
        moved = xp.moveaxis(x, axes, tuple(range(-len(axes), 0)))
        flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        out = (left * right).reshape(moved.shape)
        return xp.moveaxis(out, tuple(range(-len(axes), 0)), axes)

    def vjp(self, ns, g, y, x):
        axes = self.axes
        n = 1
        for a in axes:
            n *= x.shape[a]
        moved = ns.value(x)
        # Σ_{i≠k} g_i Π_{j∉{i,k}} x_j : zero x_k and x_i in turn (small n only).
        xm = xp.moveaxis(moved, axes, tuple(range(-len(axes), 0)))
        flat = xm.reshape(xm.shape[: xm.ndim - len(axes)] + (n,))
        gm = xp.moveaxis(ns.value(g), axes, tuple(range(-len(axes), 0))).reshape(flat.shape)
        res = xp.zeros_like(flat)
        for k in range(n):
            for i in range(n):
                if i != k:
                    keep = [j for j in range(n) if j not in (i, k)]
                    res[..., k] += gm[..., i] * xp.prod(flat[..., keep], axis=-1)
        out = xp.moveaxis(res.reshape(xm.shape), tuple(range(-len(axes), 0)), axes)
        return (out,)


class LogSumExp(_Reduction):
    """y = log Σₐ eˣ (shifted by the max: no overflow);  x̄ = ȳ·softmax(x)"""
    name, save_ans = "logsumexp", True
    __slots__ = ()

    def forward(self, x):
        axes = _norm_axis(self.axis, x.ndim, "logsumexp")
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        return out if self.keepdims else xp.squeeze(out, axis=axes)

    def vjp(self, ns, g, y, x):
        axes = self._axes(ns.value(x))
        return (_expand(ns, g, axes, self.keepdims) * ns.exp(x - _expand(ns, y, axes, self.keepdims)),)


def logsumexp(x, axis=None, keepdims=False):
    """log Σ eˣ, stable for large x."""
    return LogSumExp(axis, keepdims)(x)


class Softmax(UnaryOp):
    """y = eˣ / Σₐ eˣ;  x̄ = y·(ȳ − Σₐ ȳ·y)"""
    name, save_ans = "softmax", True
    __slots__ = ("axis",)

    def __init__(self, axis=-1): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"

    def forward(self, x):
        e = xp.exp(x - xp.max(x, axis=self.axis, keepdims=True))
        e /= xp.sum(e, axis=self.axis, keepdims=True)
        return e

    def vjp(self, ns, g, y, x):
        return (y * (g - ns.sum(g * y, axis=self.axis, keepdims=True)),)


def softmax(x, axis=-1):
    """eˣ / Σ eˣ along ``axis`` (shifted by the max: no overflow)."""
    return Softmax(axis)(x)


class LogSoftmax(UnaryOp):
    """y = x − logsumexp(x);  x̄ = ȳ − eʸ·Σₐ ȳ"""
    name, save_ans = "log_softmax", True
    __slots__ = ("axis",)

    def __init__(self, axis=-1): self.axis = axis
    def extra_repr(self): return f"axis={self.axis}"

    def forward(self, x):
        s = x - xp.max(x, axis=self.axis, keepdims=True)
        s -= xp.log(xp.sum(xp.exp(s), axis=self.axis, keepdims=True))
        return s

    def vjp(self, ns, g, y, x):
        return (g - ns.exp(y) * ns.sum(g, axis=self.axis, keepdims=True),)


def log_softmax(x, axis=-1):
    """x − logsumexp(x) along ``axis``, stable."""
    return LogSoftmax(axis)(x)


def argmax(x, axis=None):
    """Index of the max (not differentiable)."""
    return _wrap(xp.asarray(xp.argmax(_data(x), axis=axis)))


def argmin(x, axis=None):
    """Index of the min (not differentiable)."""
    return _wrap(xp.asarray(xp.argmin(_data(x), axis=axis)))
