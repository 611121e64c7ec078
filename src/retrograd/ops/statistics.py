"""PyTorch's NaN-aware and paired reductions, the median, and the cumulative extrema:
``nansum``, ``nanmean``, ``var_mean``, ``std_mean``, ``median``, ``logcumsumexp``, ``cummax``, ``cummin``.

All but ``logcumsumexp`` are compositions: the NaN-aware sums replace NaN by 0 with ``where``
(x̄ = ȳ where x is not NaN, 0 at NaN, PyTorch's too); the median and the cumulative extrema find
their indices off the tape and take the values with ``gather``, so ȳ flows to the selected entry
(``value_selecting_reduction_backward`` in PyTorch). ``logcumsumexp`` is an ``Op`` (a running
log-sum-exp cannot be composed stably from a shifted cumsum: an entry far below a later maximum
underflows to −inf); its vjp is PyTorch's, written with logcumsumexp itself so that it is
differentiable again under ``create_graph``.
"""

from __future__ import annotations

import builtins
from typing import NamedTuple

from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, UnaryOp
from ..autograd.tensor import Tensor, _wrap
from . import device_checks
from .composite import gather, squeeze
from .elementwise import where
from .extrema import amax
from .rearrange import _as_tensor
from .reductions import _NOT_GIVEN, _norm_axis, _torch_axis, _with_dtype, mean, std, var
from .reductions import sum as _sum
from .rearrange import clone
from .shape import _check_axis, getitem, reshape


def _dim(op, dim, ndim):
    """``dim`` as a non-negative int (a 0-d tensor takes 0 and −1, as PyTorch), refused otherwise."""
    return _check_axis(op, dim, builtins.max(ndim, 1))


# ---------------------------------------------------------------- NaN-aware sums
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002 - torch's names
    """Σ x over ``dim`` (every dim when None or ``[]``) with NaN counted as 0 (``torch.nansum``):
    y = Σ where(isnan x, 0, x);  x̄ = ȳ where x is not NaN, 0 at NaN. Integers and booleans sum
    in int64 unless ``dtype`` says; complex input is refused, as PyTorch's CPU kernel does."""
    x = _with_dtype("nansum", _as_tensor(input), dtype)
    if x.dtype.kind == "c":
        raise OpError(f"nansum: complex input is not supported (got {x.dtype}); PyTorch refuses it too")
    if x.dtype.kind == "f":
        x = where(xp.isnan(x.data), xp.zeros((), dtype=x.dtype), x)
    return _sum(x, dim=dim, keepdim=keepdim)


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The mean of the non-NaN entries over ``dim`` (``torch.nanmean``): nansum(x) / #(x not NaN),
    NaN for a line of NaNs only (0/0);  x̄ = ȳ / count where x is not NaN, 0 at NaN. Floating
    input only, as in PyTorch."""
    x = _with_dtype("nanmean", _as_tensor(input), dtype)
    if x.dtype.kind != "f":
        raise OpError(f"nanmean: expected input to have floating point dtype, but got {x.dtype}; convert it "
                      f"first (x.float())")
    axis, keepdims = _torch_axis("nanmean", None, False, dim, keepdim, ndim=x.ndim)
    axes = _norm_axis(axis, x.ndim, "nanmean")
    count = (~xp.isnan(x.data)).sum(axis=axes, keepdims=keepdims).astype(x.dtype)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return nansum(x, dim=dim, keepdim=keepdim) / count


def _is_float(op, x):
    if x.dtype.kind not in "fc":
        raise OpError(f"{op}: only supports floating point and complex dtypes, got {x.dtype}; convert first "
                      f"(x.float())")


def _mean_dim(dim):
    """The dims of the mean beside var(x, dim, …): a bool in dim's place is PyTorch's ``unbiased``."""
    return None if dim is _NOT_GIVEN or isinstance(dim, bool) else dim


def var_mean(input, dim=_NOT_GIVEN, unbiased=None, keepdim=None, *, correction=None):  # noqa: A002
    """(var(x), mean(x)) over ``dim`` in one call (``torch.var_mean``), a plain tuple as PyTorch's:
    var = Σd²/(n − correction), d = x − mean, correction 1 by default (``unbiased=False`` is 0).
    The arguments are ``torch.var``'s."""
    x = _as_tensor(input)
    _is_float("var_mean", x)
    return (var(x, dim, unbiased, keepdim, correction=correction),
            mean(x, dim=_mean_dim(dim), keepdim=bool(keepdim)))


def std_mean(input, dim=_NOT_GIVEN, unbiased=None, keepdim=None, *, correction=None):  # noqa: A002
    """(std(x), mean(x)) over ``dim`` (``torch.std_mean``): std = √(Σd²/(n − correction)); the
    arguments are ``torch.std``'s."""
    x = _as_tensor(input)
    _is_float("std_mean", x)
    return (std(x, dim, unbiased, keepdim, correction=correction),
            mean(x, dim=_mean_dim(dim), keepdim=bool(keepdim)))


# ---------------------------------------------------------------- median
class MedianResult(NamedTuple):
    """``(values, indices)`` of ``median`` with ``dim`` (PyTorch's ``torch.return_types.median``)."""
    values: Tensor
    indices: Tensor


def _orderable(op, x):
    if x.dtype.kind not in "iuf":
        raise OpError(f"{op}: not implemented for {x.dtype} tensors (PyTorch refuses them too)")


def median(input, dim=None, keepdim: bool = False):  # noqa: A002
    """The lower median: the ⌊(n − 1)/2⌋-th smallest value (``torch.median``; NaN when any entry is NaN).

    Without ``dim``, over all entries, a 0-d tensor (NaN for an empty one); x̄ = ȳ shared among
    the entries equal to the median as ``rg.conventions`` shares tied maxima (the default,
    ``min_norm``, splits it evenly: PyTorch's ``evenly_distribute_backward``), among the NaNs when
    it is NaN.

    With ``dim``: ``MedianResult(values, indices)``, the index of the entry chosen (the stable
    sort's, the first NaN of a line holding NaN), and x̄ = ȳ at that entry only."""
    x = _as_tensor(input)
    _orderable("median", x)
    if dim is None:
        if keepdim:
            raise OpError("median: keepdim needs dim (PyTorch's median(input) takes no keepdim)")
        flat = reshape(x, (-1,))
        n = flat.shape[0]
        if n == 0:
            if x.dtype.kind != "f":
                raise OpError(f"median: the median of an empty {x.dtype} tensor is undefined")
            return _sum(flat) + xp.asarray(xp.nan, dtype=x.dtype)
        data = flat.data
        nans = xp.isnan(data) if x.dtype.kind == "f" else xp.zeros(data.shape, dtype=bool)
        if nans.any():
            chosen = getitem(flat, xp.nonzero(nans)[0])
            return _sum(chosen) * (1.0 / chosen.shape[0])  # NaN, with ȳ/k to each NaN
        m = xp.sort(data)[(n - 1) // 2]
        return amax(getitem(flat, xp.nonzero(data == m)[0]))
    d = _dim("median", dim, x.ndim)
    if x.ndim == 0:
        return MedianResult(clone(x), _wrap(xp.zeros((), dtype=xp.int64)))
    data = x.data
    if data.shape[d] == 0:
        raise DimError(f"median: expected reduction dim {dim} to have non-zero size (shape {tuple(x.shape)})")
    n = data.shape[d]
    order = xp.argsort(data, axis=d, kind="stable")  # NaN sorts last
    index = xp.take(order, [(n - 1) // 2], axis=d)
    if x.dtype.kind == "f":
        nans = xp.isnan(data)
        index = xp.where(nans.any(axis=d, keepdims=True), xp.argmax(nans, axis=d, keepdims=True), index)
    index = index.astype(xp.int64)
    values = gather(x, d, index)
    if not keepdim:
        values, index = squeeze(values, d), index.squeeze(d)
    return MedianResult(values, _wrap(index))


# ---------------------------------------------------------------- logcumsumexp
def _logcumsumexp_array(x, axis, reverse=False):
    """log Σ_{j≤i} exp(xⱼ) along ``axis`` by a running logaddexp (exact where a shifted cumsum underflows)."""
    if reverse:
        return xp.flip(_logcumsumexp_array(xp.flip(x, axis), axis), axis)
    if x.shape[axis] == 0:
        return x.copy()
    with xp.errstate(invalid="ignore"):  # −inf + −inf inside logaddexp
        accumulate = getattr(xp.logaddexp, "accumulate", None)
        if accumulate is not None:
            return accumulate(x, axis=axis)
        out = xp.moveaxis(x, axis, 0).copy()
        for i in range(1, out.shape[0]):
            out[i] = xp.logaddexp(out[i - 1], out[i])
        return xp.moveaxis(out, 0, axis)


class LogCumSumExp(UnaryOp):
    """yᵢ = log Σ_{j≤i} exp(xⱼ) along ``axis``;  x̄ₖ = Σ_{i≥k} ȳᵢ·exp(xₖ − yᵢ)

    computed as PyTorch does, stably, with ȳ split by sign:
    x̄ = exp(rlcse(log ȳ⁺ − y) + x) − exp(rlcse(log ȳ⁻ − y) + x), rlcse the reversed logcumsumexp."""
    name, save_ans = "logcumsumexp", True
    __slots__ = ("axis", "reverse")
    save_inputs = (0,)

    def __init__(self, axis, reverse=False): self.axis, self.reverse = axis, reverse
    def extra_repr(self): return f"dim={self.axis}" + (", reverse" if self.reverse else "")

    def forward(self, x):
        if x.ndim == 0:
            return x.copy()
        return _logcumsumexp_array(x, self.axis, self.reverse)

    def _split(self, ns, w, x, y, axis, transpose):
        """The running sums of w·exp(x − y) for a weight w of either sign, as
        exp(lcse(log w⁺ + a) + b) − exp(lcse(log w⁻ + a) + b): for the vjp (``transpose``) over
        i ≥ k of w·exp(−yᵢ), times exp(xₖ); for the jvp over j ≤ i of w·exp(xⱼ), times exp(−yᵢ)."""
        wv = ns.value(w)
        lowest = xp.finfo(wv.dtype).min
        magnitude = ns.where(wv > 0, w, -w)
        log_abs = ns.log(ns.where(wv != 0, magnitude, 1.0))
        terms = []
        for keep in (wv > 0, wv < 0):
            logs = ns.where(keep, log_abs, lowest)
            if transpose:
                terms.append(ns.exp(ns.logcumsumexp(logs - y, axis, not self.reverse) + x))
            else:
                terms.append(ns.exp(ns.logcumsumexp(logs + x, axis, self.reverse) - y))
        return terms[0] - terms[1]

    def vjp(self, ns, g, y, x):
        if g.ndim == 0:
            return (g,)
        with xp.errstate(invalid="ignore", over="ignore"):
            return (self._split(ns, g, x, y, self.axis, True),)

    def jvp(self, ns, ts, y, x):
        """ẏᵢ = Σ_{j≤i} ẋⱼ·exp(xⱼ − yᵢ) (softmax weights of the running window), signs split as in the vjp.

        Where yᵢ = −∞ (the window holds only −∞) but the whole slice does not, ẏᵢ = 0, PyTorch's
        forward AD (``logcumsumexp_jvp`` masks the zero running sums; its backward gives NaN there,
        and so does this vjp); a slice of −∞ only stays NaN, as in both of PyTorch's modes."""
        t = ts[0]
        if not x.ndim:
            return t
        with xp.errstate(invalid="ignore", over="ignore"):
            out = self._split(ns, t, x, y, self.axis + t.ndim - x.ndim, False)
        yv = ns.value(y)
        total = xp.take(yv, [0 if self.reverse else -1], axis=self.axis)  # log Σ over the whole slice
        empty = (yv == -xp.inf) & (total > -xp.inf)
        if device_checks.may_hold(empty):
            out = ns.where(empty, 0.0, out)
        return out


namespaces.extend("logcumsumexp", lambda x, axis, reverse=False: _logcumsumexp_array(x, axis, reverse),
                  lambda x, axis, reverse=False: LogCumSumExp(axis, reverse)(x))


def logcumsumexp(input, dim: int):  # noqa: A002
    """yᵢ = log Σ_{j≤i} exp(xⱼ) along ``dim`` (``torch.logcumsumexp``), exact where a shifted cumsum
    would underflow; x̄ₖ = Σ_{i≥k} ȳᵢ·exp(xₖ − yᵢ). Floating input only (PyTorch has no integer
    kernel; its complex one is not provided here)."""
    x = _as_tensor(input)
    if x.dtype.kind != "f":
        raise OpError(f"logcumsumexp: not implemented for {x.dtype} tensors; convert first (x.float())"
                      + (" (complex input is not supported by retrograd)" if x.dtype.kind == "c" else ""))
    return LogCumSumExp(_dim("logcumsumexp", dim, x.ndim))(x)


# ---------------------------------------------------------------- cumulative extrema
class CumExtremaResult(NamedTuple):
    """``(values, indices)`` of ``cummax``/``cummin`` (PyTorch's ``torch.return_types.cummax``)."""
    values: Tensor
    indices: Tensor


def _cumulative_extremum(op, better, input, dim):  # noqa: A002
    x = _as_tensor(input)
    if x.dtype.kind not in "biuf":
        raise OpError(f"{op}: not implemented for {x.dtype} tensors (PyTorch refuses complex too)")
    d = _dim(op, dim, x.ndim)
    if x.ndim == 0:
        return CumExtremaResult(clone(x), _wrap(xp.zeros((), dtype=xp.int64)))
    data = x.data
    n = data.shape[d]
    shape = [1] * data.ndim
    shape[d] = n
    positions = xp.arange(n, dtype=xp.int64).reshape(shape)
    running = better.accumulate(data, axis=d) if n else data  # NaN propagates
    hits = data == running  # an entry that reaches the running extremum (ties: the latest, as PyTorch)
    if data.dtype.kind == "f":
        hits |= xp.isnan(data) & xp.isnan(running)
    index = xp.maximum.accumulate(xp.where(hits, positions, 0), axis=d) if n else xp.zeros(data.shape, xp.int64)
    return CumExtremaResult(gather(x, d, index), _wrap(index.astype(xp.int64)))


def cummax(input, dim: int):  # noqa: A002
    """Running maxima along ``dim`` (``torch.cummax``): ``CumExtremaResult(values, indices)`` with
    valuesᵢ = max_{j≤i} xⱼ and indicesᵢ the latest j reaching it (from a NaN on, NaN and the latest
    NaN's index, as PyTorch); x̄ⱼ = Σ of ȳᵢ over the i whose index is j."""
    return _cumulative_extremum("cummax", xp.maximum, input, dim)


def cummin(input, dim: int):  # noqa: A002
    """Running minima along ``dim`` (``torch.cummin``), as ``cummax`` with min."""
    return _cumulative_extremum("cummin", xp.minimum, input, dim)
