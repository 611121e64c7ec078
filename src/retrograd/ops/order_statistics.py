"""PyTorch's order statistics: ``kthvalue``, ``mode``, ``msort``, ``nanmedian``, ``quantile``,
``nanquantile``.

The order is found off the tape (a stable argsort, NaN last, as PyTorch orders it); the values are
then taken with ``gather`` (or ``getitem``), so ȳ flows back to the entries chosen — PyTorch's
``value_selecting_reduction_backward``. A quantile between two order statistics is their ``lerp``
(PyTorch's formula, which is exact at both ends), so each of the two gets ȳ times its weight.
``nanmedian`` over every entry shares ȳ among the entries equal to the median as ``rg.conventions``
shares tied maxima (the default splits it evenly, as PyTorch's ``evenly_distribute_backward``).

Among tied values the entry whose index is returned is the stable order's (PyTorch's
``kthvalue`` and ``mode`` promise none: its selection algorithm may pick another of the ties).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError
from ..autograd.tensor import Tensor, _wrap
from . import elementwise as E
from .composite import gather, squeeze
from .extrema import amax
from .ordering import sort
from .rearrange import _as_tensor, clone
from .reductions import sum as _sum
from .shape import _check_axis, _data, getitem, movedim, reshape


class OrderError(OpError, RuntimeError):
    """Arguments PyTorch refuses with a ``RuntimeError``: also an ``OpError``."""


class OrderNotImplemented(OpError, NotImplementedError):
    """A dtype PyTorch has no kernel for (booleans for ``kthvalue``)."""


class KthvalueResult(NamedTuple):
    """``(values, indices)`` of ``kthvalue`` (PyTorch's ``torch.return_types.kthvalue``)."""
    values: Tensor
    indices: Tensor


class ModeResult(NamedTuple):
    """``(values, indices)`` of ``mode`` (PyTorch's ``torch.return_types.mode``)."""
    values: Tensor
    indices: Tensor


class NanmedianResult(NamedTuple):
    """``(values, indices)`` of ``nanmedian`` with ``dim`` (PyTorch's ``torch.return_types.nanmedian``)."""
    values: Tensor
    indices: Tensor


def _dim(op, dim, ndim):
    return _check_axis(op, dim, max(ndim, 1))


def _orderable(op, x, allow_bool=True):
    if x.dtype.kind == "c" or (x.dtype.kind == "b" and not allow_bool):
        raise OrderNotImplemented(f"{op}: not implemented for {x.dtype} tensors (PyTorch has no kernel either)")


def _picked(x, d, index, keepdim, result):
    """``result(values, indices)`` of the entries of ``x`` at ``index`` (keepdims along ``d``)."""
    values = gather(x, d, index)
    if not keepdim:
        values, index = squeeze(values, d), index.squeeze(d)
    return result(values, _wrap(index.astype(xp.int64, copy=False)))


def _stable_order(data, d):
    return xp.argsort(data, axis=d, kind="stable")


# ---------------------------------------------------------------- kthvalue, mode, msort
def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002 - torch's names
    """The ``k``-th smallest entry along ``dim`` (k from 1; ``torch.kthvalue``):
    ``KthvalueResult(values, indices)``, NaN counted as the largest. x̄ = ȳ at the entry chosen."""
    x = _as_tensor(input)
    _orderable("kthvalue", x, allow_bool=False)
    d = _dim("kthvalue", dim, x.ndim)
    if not isinstance(k, int) or isinstance(k, bool):
        raise OrderError(f"kthvalue: k must be an int, got {k!r}")
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise OrderError(f"kthvalue: kthvalue(): selected number k out of range for dimension {d} (k = {k}, the "
                         f"dimension has size {n})")
    if not x.ndim:
        return KthvalueResult(clone(x), _wrap(xp.zeros((), dtype=xp.int64)))
    index = xp.take(_stable_order(x.data, d), [k - 1], axis=d)
    return _picked(x, d, index, keepdim, KthvalueResult)


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """The most frequent value along ``dim`` (``torch.mode``): ``ModeResult(values, indices)``; among
    equally frequent values the smallest, and the index of its last occurrence (PyTorch's). Each NaN
    counts once (NaN ≠ NaN). x̄ = ȳ at that entry."""
    x = _as_tensor(input)
    _orderable("mode", x)
    d = _dim("mode", dim, x.ndim)
    if not x.ndim:
        return ModeResult(clone(x), _wrap(xp.zeros((), dtype=xp.int64)))
    n = x.shape[d]
    if n == 0:
        raise DimError(f"mode: mode(): Expected reduction dim {d} to have non-zero size.")
    data = xp.moveaxis(x.data, d, -1)
    order = xp.argsort(data, axis=-1, kind="stable")
    s = xp.take_along_axis(data, order, axis=-1)
    same = s[..., 1:] == s[..., :-1]  # NaN ≠ NaN: each NaN is a run of its own
    positions = xp.arange(n)
    starts = xp.concatenate([xp.ones(same.shape[:-1] + (1,), dtype=bool), ~same], axis=-1)
    ends = xp.concatenate([~same, xp.ones(same.shape[:-1] + (1,), dtype=bool)], axis=-1)
    run_start = xp.maximum.accumulate(xp.where(starts, positions, 0), axis=-1)
    lengths = xp.where(ends, positions - run_start + 1, -1)
    best = xp.argmax(lengths, axis=-1)[..., None]  # the first longest run: the smallest value
    index = xp.moveaxis(xp.take_along_axis(order, best, axis=-1), -1, d)  # the run's last: the last occurrence
    return _picked(x, d, index, keepdim, ModeResult)


def msort(input):  # noqa: A002
    """``input`` sorted along dim 0, values only (``torch.msort``: ``sort(input, dim=0).values``)."""
    x = _as_tensor(input)
    if not x.ndim:
        return clone(x)
    return sort(x, dim=0).values


# ---------------------------------------------------------------- nanmedian
def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median of the non-NaN entries (``torch.nanmedian``): NaN only when every entry is.

    Without ``dim``: a 0-d tensor; x̄ = ȳ shared among the entries equal to the median (by
    ``rg.conventions``, split evenly by default), among the NaNs when all are NaN. With ``dim``:
    ``NanmedianResult(values, indices)`` (index 0 for a line of NaNs), x̄ = ȳ at the entry chosen."""
    x = _as_tensor(input)
    _orderable("nanmedian", x)
    if dim is None:
        if keepdim:
            raise TypeError("nanmedian(): keepdim needs dim (PyTorch's nanmedian(input) takes no keepdim)")
        flat = reshape(x, (-1,))
        data = flat.data
        if not data.size:
            if x.dtype.kind != "f":
                raise OrderError(f"nanmedian: the median of an empty {x.dtype} tensor is undefined")
            return _sum(flat) + xp.asarray(xp.nan, dtype=x.dtype)
        valid = ~xp.isnan(data) if x.dtype.kind == "f" else xp.ones(data.shape, dtype=bool)
        if not valid.any():
            return _sum(flat) * (1.0 / data.size)  # NaN, with ȳ/n to each entry (all NaN)
        kept = xp.sort(data[valid])
        m = kept[(kept.size - 1) // 2]
        return amax(getitem(flat, xp.nonzero(data == m)[0]))
    d = _dim("nanmedian", dim, x.ndim)
    if not x.ndim:
        return NanmedianResult(clone(x), _wrap(xp.zeros((), dtype=xp.int64)))
    data = x.data
    if data.shape[d] == 0:
        raise DimError(f"nanmedian: Expected reduction dim {d} to have non-zero size (shape {tuple(x.shape)})")
    one = [1 if k == d else s for k, s in enumerate(data.shape)]
    count = (~xp.isnan(data)).sum(axis=d, keepdims=True) if x.dtype.kind == "f" else xp.full(one, data.shape[d])
    at = xp.maximum((count - 1) // 2, 0).astype(xp.int64)  # a line of NaNs: its first entry
    index = xp.take_along_axis(_stable_order(data, d), at, axis=d)
    return _picked(x, d, index, keepdim, NanmedianResult)


# ---------------------------------------------------------------- quantiles
INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_array(op, q, dtype):
    """(q as an array of ``dtype``, whether it was a scalar), checked as PyTorch checks it."""
    if isinstance(q, Tensor) or hasattr(q, "dtype") and hasattr(q, "ndim"):
        arr = xp.asarray(_data(q))
        if arr.ndim > 1:
            raise OrderError(f"{op}: quantile() q must be a scalar or 1D tensor, got shape {list(arr.shape)}")
        if arr.dtype != dtype:
            raise OrderError(f"{op}: quantile() q tensor must be same dtype as the input tensor (q {arr.dtype}, "
                             f"input {dtype})")
        if arr.size and not bool(((arr >= 0) & (arr <= 1)).all()):
            raise OrderError(f"{op}: quantile() q values must be in the range [0, 1]")
        return arr.reshape(-1), arr.ndim == 0
    if isinstance(q, bool) or not isinstance(q, numbers.Real):
        raise TypeError(f"{op}: q must be a number or a tensor, got {type(q).__name__}")
    if not 0 <= q <= 1:  # NaN fails too
        raise OrderError(f"{op}: quantile() q must be in the range [0, 1] but got {q}")
    return xp.asarray([q], dtype=dtype), True


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):  # noqa: A002
    x = _as_tensor(input)
    if x.dtype not in (xp.float32, xp.float64):
        raise OrderError(f"{op}: quantile() input tensor must be either float or double dtype, got {x.dtype}")
    if interpolation not in INTERPOLATIONS:
        raise OrderError(f"{op}: quantile() interpolation must be one of linear, lower, higher, midpoint or "
                         f"nearest, but got {interpolation}")
    qs, scalar = _q_array(op, q, x.dtype)
    if not x.size:
        raise OrderError(f"{op}: quantile() input tensor must be non-empty")
    if dim is None:
        lines, out_shape = reshape(x, (-1,)), (1,) * x.ndim if keepdim else ()
    else:
        d = _dim(op, dim, x.ndim)
        lines = movedim(x, d, -1) if x.ndim else reshape(x, (1,))
        kept = [s for k, s in enumerate(x.shape) if k != d]
        out_shape = tuple(x.shape[:d]) + (1,) + tuple(x.shape[d + 1:]) if keepdim and x.ndim else tuple(kept)
    data = lines.data
    n = data.shape[-1]
    order = xp.argsort(data, axis=-1, kind="stable")  # NaN last
    nans = xp.isnan(data)
    last = n - 1
    if ignore_nan:
        valid = (~nans).sum(axis=-1, keepdims=True)
        ranks = qs * (valid - 1).astype(x.dtype)
        ranks = xp.where(valid == 0, 0, ranks)  # a line of NaNs: its first entry, NaN
    else:
        ranks = xp.where(nans.any(axis=-1, keepdims=True), last, qs * xp.asarray(last, dtype=x.dtype))
    ranks = xp.broadcast_to(ranks, data.shape[:-1] + (qs.size,)).astype(x.dtype)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)  # half to even, as PyTorch's round
    below = ranks.astype(xp.int64)
    values = gather(lines, lines.ndim - 1, xp.take_along_axis(order, below, axis=-1))
    if interpolation in ("linear", "midpoint"):
        above = xp.ceil(ranks).astype(xp.int64)
        upper = gather(lines, lines.ndim - 1, xp.take_along_axis(order, above, axis=-1))
        weights = xp.full(ranks.shape, 0.5, dtype=x.dtype) if interpolation == "midpoint" else \
            (ranks - below).astype(x.dtype)
        values = _lerp(values, upper, weights)
    values = movedim(values, -1, 0)  # the q dim first
    result = reshape(values, (qs.size,) + out_shape)
    return reshape(result, out_shape) if scalar else result


def _lerp(start, end, weight):
    """PyTorch's lerp, exact at both ends: start + w·(end − start) for w < ½, end − (end − start)·(1 − w)
    above; start̄ = ȳ·(1 − w), end̄ = ȳ·w either way."""
    step = E.sub(end, start)
    with xp.errstate(invalid="ignore"):
        return E.where(xp.abs(weight) < 0.5, E.add(start, E.mul(step, weight)),
                       E.sub(end, E.mul(step, 1 - weight)))


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """The ``q``-quantiles of ``input`` along ``dim`` (every entry when None; ``torch.quantile``).

    ``q``: a number or a 0-d/1-D tensor of ``input``'s dtype, in [0, 1]; a 1-D q puts its dim first.
    The quantile sits at rank r = q·(n − 1) of the sorted line; between the two order statistics
    around r it is ``interpolation``: 'linear' (lerp by r − ⌊r⌋), 'lower', 'higher', 'midpoint' (their
    mean) or 'nearest' (r rounded half to even). A line holding NaN gives NaN. Float32/float64 input
    only, as PyTorch. x̄: ȳ shared by the interpolation weights between the two entries."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """``quantile`` of the non-NaN entries (``torch.nanquantile``): r = q·(m − 1) with m the count of
    non-NaN entries of the line; NaN only for a line of NaNs."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)

