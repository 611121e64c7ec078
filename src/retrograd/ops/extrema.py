"""max, min, amax, amin, aminmax: the reductions with a kink.

Tied maxima share the gradient as ``rg.conventions`` says (first / split /
all / min_norm). ``max(x, d)`` is PyTorch's (values, indices); ``max(x, axis=a)``
NumPy's values; ``max(a, b)`` with a tensor ``b`` the elementwise maximum."""

from __future__ import annotations

import builtins
from typing import NamedTuple

from ..autograd import conventions
from ..autograd.backend import xp
from ..autograd.op import DimError, OpError
from ..autograd.tensor import Tensor, _wrap
from . import device_checks
from .kinks import maximum, minimum
from .shape import _data
from .reductions import _NOT_GIVEN, _Reduction, _count, _expand, _norm_axis, _torch_axis


class _MaxMin(_Reduction):
    """y = maxₐ x;  x̄ = ȳ at the maximum, 0 elsewhere.

    With k tied maxima the policy decides: ``first`` (the first in index
    order), ``split``/``min_norm`` (1/k each) or ``all`` (ȳ to each).
    """
    save_ans = True
    __slots__ = ("share", "nan_to_first")
    save_inputs = (0,)

    def __init__(self, axis=None, keepdims=False, nan_to_first=False):
        super().__init__(axis, keepdims)
        self.share = conventions.reduction_weights()
        # PyTorch's max(x, dim) routes ȳ to the index it returns, the first NaN of a NaN line;
        # amax (and the NumPy form) share it by the policy over x == y, which no NaN meets
        self.nan_to_first = nan_to_first

    def forward(self, x):
        if x.dtype.kind == "c":
            raise OpError(f"{self.name}: complex input is not ordered (got {x.dtype}{list(x.shape)}); PyTorch "
                          f"refuses it too: reduce x.abs() or x.real instead")
        if x.size == 0 and not _count(x.shape, _norm_axis(self.axis, x.ndim, self.name)):
            raise OpError(f"{self.name}: cannot reduce over a dimension of size 0 (input shape {x.shape}); "
                          f"PyTorch refuses it too")
        return self.reduce(x, axis=_norm_axis(self.axis, x.ndim, self.name), keepdims=self.keepdims)

    def vjp(self, ns, g, y, x):
        axes, mask = self._weights(ns, y, x)
        return (_expand(ns, g, axes, self.keepdims) * mask,)

    def jvp(self, ns, ts, y, x):
        """ẏ = Σₐ w·ẋ with the vjp's weights w (the same share of tied maxima)."""
        axes, mask = self._weights(ns, y, x)
        t = ts[0]
        nl = t.ndim - x.ndim
        return ns.sum(t * mask, axis=tuple(a + nl for a in axes), keepdims=self.keepdims)

    def _weights(self, ns, y, x):
        """(reduced axes, each entry's weight in the derivative): ``tie_mask``, and for
        ``nan_to_first`` the first NaN of a NaN line."""
        xv = ns.value(x)
        axes = self._axes(xv)
        yk = _expand(xp, ns.value(y), axes, self.keepdims)
        if self.nan_to_first:
            nan_lines = xp.isnan(yk)
            if device_checks.may_hold(nan_lines):
                with xp.errstate(invalid="ignore"):  # "split" of a NaN line is 0/0, replaced below
                    mask = tie_mask(xv, yk, axes, self.share)
                return axes, xp.where(nan_lines, tie_mask(xp.isnan(xv), True, axes, "first"), mask)
        return axes, tie_mask(xv, yk, axes, self.share)


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


class MaxResult(NamedTuple):
    """``(values, indices)`` of ``max``/``min`` with ``dim=`` (PyTorch's ``torch.return_types.max``)."""
    values: Tensor
    indices: Tensor


def _extremum(op, cls, pick, other_fn, x, axis, keepdims, dim, keepdim):
    if isinstance(axis, (Tensor, xp.ndarray)):  # torch.max(a, b): the elementwise maximum
        if dim is not _NOT_GIVEN or keepdim is not None or keepdims:
            raise OpError(f"{op}: {op}(input, other) is elementwise and takes no dim/keepdim")
        return other_fn(x, axis)
    if dim is _NOT_GIVEN:
        if keepdim is None:
            return cls(axis, keepdims)(x)
        if axis is None:
            raise OpError(f"{op}: keepdim needs dim (PyTorch's {op}(input, dim, keepdim))")
        axis, dim = None, axis  # x.max(1, keepdim=True): PyTorch's keyword makes the call PyTorch's
    if dim is None:
        raise OpError(f"{op}: dim must be one int, got None; call {op}(x) for the {op} of every entry")
    axis, keepdims = _torch_axis(op, axis, keepdims, dim, keepdim, int_only=True)
    values = cls(axis, keepdims, nan_to_first=True)(x)
    d = _data(x)
    ndim = d.ndim
    if not -builtins.max(ndim, 1) <= axis < builtins.max(ndim, 1):
        raise DimError(f"{op}: dim {axis} is out of range for a tensor with {ndim} dimensions")
    if ndim == 0:
        return MaxResult(values, _wrap(xp.zeros((), dtype=xp.int64)))
    if d.shape[axis] == 0 or d.size == 0:
        return MaxResult(values, _wrap(xp.zeros(values.shape, dtype=xp.int64)))
    # NaN wins, as in PyTorch: argmax/argmin of NumPy already pick the first NaN
    indices = pick(d, axis=axis, keepdims=keepdims).astype(xp.int64, copy=False)
    return MaxResult(values, _wrap(xp.asarray(indices)))


def max(x, dim=_NOT_GIVEN, keepdim=None, *, axis=None, keepdims=False):  # noqa: A001
    """The max of every entry, or along a dimension; tied maxima share the
    gradient per ``rg.conventions``.

    PyTorch's forms (positional, or ``dim=``/``keepdim=``): ``max(x, d)`` returns
    ``(values, indices)`` (``.values``, ``.indices``; indices int64, the first
    of ties); ``max(a, b)`` with a tensor ``b`` is the elementwise ``maximum``.
    NumPy's form (``axis=``, ``keepdims=``) returns the values only."""
    if dim is _NOT_GIVEN and axis is None and keepdim is None:
        return Max(None, keepdims)(x)
    if isinstance(dim, (Tensor, xp.ndarray)):
        return _extremum("max", Max, xp.argmax, maximum, x, dim, keepdims, _NOT_GIVEN, keepdim)
    return _extremum("max", Max, xp.argmax, maximum, x, axis, keepdims, dim, keepdim)


class Min(_MaxMin):
    __doc__ = _MaxMin.__doc__.replace("max", "min")
    name = "min"
    __slots__ = ()
    reduce = staticmethod(lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims))


def min(x, dim=_NOT_GIVEN, keepdim=None, *, axis=None, keepdims=False):  # noqa: A001
    """The min of every entry, or along a dimension; the forms of ``max``:
    ``min(x, d)`` → ``(values, indices)``, ``min(a, b)`` → ``minimum``,
    ``min(x, axis=a)`` → values (NumPy)."""
    if dim is _NOT_GIVEN and axis is None and keepdim is None:
        return Min(None, keepdims)(x)
    if isinstance(dim, (Tensor, xp.ndarray)):
        return _extremum("min", Min, xp.argmin, minimum, x, dim, keepdims, _NOT_GIVEN, keepdim)
    return _extremum("min", Min, xp.argmin, minimum, x, axis, keepdims, dim, keepdim)


def amax(x, dim=(), keepdim: bool = False):
    """PyTorch's ``amax``: the max over ``dim`` (an int or a tuple; ``()``, the
    default, means every dim), values only. Tied maxima share the gradient per
    ``rg.conventions`` (the default policy shares it evenly, as PyTorch does)."""
    axis, keepdims = _torch_axis("amax", None, False, dim, keepdim, ndim=len(x.shape))
    return Max(axis, keepdims)(x)


def amin(x, dim=(), keepdim: bool = False):
    """PyTorch's ``amin``: the min over ``dim`` (see ``amax``)."""
    axis, keepdims = _torch_axis("amin", None, False, dim, keepdim, ndim=len(x.shape))
    return Min(axis, keepdims)(x)


class MinMaxResult(NamedTuple):
    """``(min, max)`` of ``aminmax`` (PyTorch's ``torch.return_types.aminmax``)."""
    min: Tensor
    max: Tensor


def aminmax(x, *, dim=None, keepdim: bool = False):
    """PyTorch's ``aminmax``: ``(min, max)`` over ``dim`` (one int, or every dim when None)."""
    if dim is not None and not isinstance(dim, int):
        raise OpError(f"aminmax: dim must be one int or None, got {dim!r}")
    axis, keepdims = _torch_axis("aminmax", None, False, dim, keepdim)
    return MinMaxResult(Min(axis, keepdims)(x), Max(axis, keepdims)(x))
