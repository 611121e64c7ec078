"""Reductions: sum, mean, var/std, max/min (with the tie conventions), prod,
logsumexp, softmax and log_softmax.

The vjp of a reduction broadcasts the upstream gradient back over the reduced
axes; ``_expand`` re-inserts those axes when ``keepdims=False``.

Edges follow PyTorch: ``axis=0`` or ``-1`` on a 0-d tensor reduces nothing
(PyTorch accepts dim 0/-1 on 0-d tensors); the mean of zero elements is NaN
(0/0), and so is a variance with no degrees of freedom left (``ddof ≥ n``:
Σd²/0 is inf, or NaN when Σd² = 0); the product of zero elements is 1.
"""

from __future__ import annotations

import math

from ..autograd import conventions
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from ..autograd.tensor import _wrap
from .elementwise import Sqrt
from .shape import _data


def _norm_axis(axis, ndim, op):
    """Normalise ``axis`` (None, int or tuple) to a sorted tuple of non-negative ints.

    A 0-d tensor has no axes, but accepts ``0`` and ``-1`` like PyTorch (a
    0-d tensor behaves as if it had one axis of size 1): they reduce nothing,
    so they normalise to ``()``."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if ndim == 0:
        for a in axes:
            if a not in (0, -1):
                raise OpError(f"{op}: axis {a} is out of range for a 0-d tensor (only 0 and -1 are accepted)")
        return ()
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise OpError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def _count(shape, axes) -> int:
    """How many elements a reduction over ``axes`` combines into each output."""
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _inverse(n):
    """1/n as the factor of a mean; NaN for n = 0, as PyTorch's mean of nothing (0/0)."""
    return 1.0 / n if n else math.nan


def _require_float(op, x):
    """PyTorch's mean/var/std refuse integer and boolean tensors (they cannot
    infer a floating output dtype); so do we, rather than pick one."""
    if x.dtype.kind not in "fc":
        raise OpError(f"{op}: expected a floating tensor, got {x.dtype}; convert it first "
                      f"(x.float() or x.to(rg.get_default_dtype()))")


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
        if x.dtype.kind not in "fc":
            _require_float("mean", x)
        axes = _norm_axis(self.axis, x.ndim, "mean")
        # ndarray.mean's wrapper is slow; n = 0 gives NaN (0·NaN) like PyTorch
        return x.sum(axis=axes, keepdims=self.keepdims) * _inverse(_count(x.shape, axes))

    def vjp(self, ns, g, y, x):
        axes = self._axes(x)
        return (ns.broadcast_to(_expand(ns, g, axes, self.keepdims) * _inverse(_count(x.shape, axes)), x.shape),)


def mean(x, axis=None, keepdims=False):
    """Σx / n over ``axis``; NaN where n = 0 (PyTorch's mean of an empty axis)."""
    return Mean(axis, keepdims)(x)


class Var(_Reduction):
    """y = Σₐ d² / max(0, n − ddof) with d = x − mean x;  x̄ = ȳ·2d / (n − ddof)

    PyTorch's definition, degenerate cases included: with no degrees of
    freedom left (n ≤ ddof) the value is Σd²/0, i.e. inf (NaN where Σd² = 0
    or n = 0). The gradient there is PyTorch's too: over all axes
    (``axis=None``) it is ȳ·(NaN where x equals the mean, inf elsewhere);
    over given axes it is the formula ȳ·2d/(n − ddof), whose factor is inf
    for n = ddof and finite (negative) for n < ddof.
    """
    name = "var"
    __slots__ = ("ddof",)

    def __init__(self, axis=None, keepdims=False, ddof=0):
        super().__init__(axis, keepdims)
        self.ddof = ddof

    def extra_repr(self): return f"axis={self.axis}, keepdims={self.keepdims}, ddof={self.ddof}"

    def forward(self, x):
        if x.dtype.kind not in "fc":
            _require_float("var", x)
        axes = _norm_axis(self.axis, x.ndim, "var")
        n = _count(x.shape, axes)
        d = x - x.sum(axis=axes, keepdims=True) * _inverse(n)
        squares = (d * d).sum(axis=axes, keepdims=self.keepdims)
        dof = n - self.ddof
        if dof > 0:
            return squares * (1.0 / dof)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return squares / xp.zeros((), dtype=squares.dtype)  # Σd²/0: inf, or NaN for 0/0

    def vjp(self, ns, g, y, x):
        axes = self._axes(ns.value(x))
        n = _count(x.shape, axes)
        g = _expand(ns, g, axes, self.keepdims)
        d = x - ns.sum(x, axis=axes, keepdims=True) * _inverse(n)
        dof = n - self.ddof
        if dof <= 0 and (self.axis is None or not axes):
            # PyTorch's all-axes rule: ∞·2d with the sign dropped, NaN where d = 0
            factor = xp.where(ns.value(d) == 0, math.nan, math.inf).astype(ns.value(x).dtype)
            with xp.errstate(invalid="ignore"):  # ȳ = 0 (a std of inf) times inf: NaN, as PyTorch
                return (g * factor,)
        with xp.errstate(invalid="ignore"):
            return (g * d * (2.0 / dof if dof else math.inf),)


def var(x, axis=None, keepdims=False, ddof: int = 0):
    """Mean squared deviation Σd²/(n − ddof) over ``axis`` (NumPy's ``ddof``;
    ``ddof=1`` is PyTorch's unbiased default). ``ddof ≥ n`` gives inf (NaN
    when all deviations are 0), as PyTorch."""
    return Var(axis, keepdims, ddof)(x)


def std(x, axis=None, keepdims=False, ddof: int = 0):
    """√var(x) over ``axis`` (its gradient is ȳ/(2·std) times var's)."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind not in "fc":
        _require_float("std", x)
    return Sqrt()(var(x, axis, keepdims, ddof))


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
        flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (_count(x.shape, axes),))
        if flat.shape[-1] == 0:  # a product of nothing: no entries to differentiate
            return xp.zeros_like(x)
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
