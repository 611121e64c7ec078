"""PyTorch's counting and searching functions, computed off the tape: ``unique``,
``unique_consecutive``, ``bincount``, ``histc``, ``bucketize``, ``searchsorted``, ``isin``,
``count_nonzero``, ``tril_indices``, ``triu_indices``, ``unravel_index``.

Their results are integers (indices, counts) or counts held in floats, piecewise constant in the
input: no gradient flows through them (a replay recomputes them from the new values, ``off_tape``).
The one exception is ``bincount``'s ``weights``: a weighted count is a scatter-add of the weights,
w̄ᵢ = ȳ[xᵢ], recorded as ``index_add`` (PyTorch leaves it undifferentiable).

``searchsorted`` and ``bucketize`` run PyTorch's own binary search (``cus_lower_bound`` /
``cus_upper_bound``), vectorised over the values, so that NaN in the values or the boundaries lands
where PyTorch puts it (NumPy's ``searchsorted`` orders NaN differently).
"""

from __future__ import annotations

import numbers

from ..autograd.backend import xp
from ..autograd.op import IndexRangeError, OpError, off_tape
from ..autograd.tensor import Tensor, _wrap
from .rearrange import _as_tensor
from .shape import _check_axis, _data, index_add as _place_at


class CountingError(OpError, RuntimeError):
    """Arguments PyTorch refuses with a ``RuntimeError``: also an ``OpError``."""


class CountingNotImplemented(OpError, NotImplementedError):
    """A dtype PyTorch has no kernel for (``bincount`` of floats, ``histc`` of integers …)."""


def _array(x):
    return xp.asarray(_data(x))


# ---------------------------------------------------------------- unique
def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [_wrap(values)]
    if return_inverse:
        out.append(_wrap(inverse.astype(xp.int64, copy=False)))
    if return_counts:
        out.append(_wrap(counts.astype(xp.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


@off_tape
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002 - torch's names
    """The distinct entries of ``input``, sorted (``torch.unique``; ``sorted=False`` allows any order,
    and gets the sorted one). With ``return_inverse``, also where each entry went (``input``'s shape);
    with ``return_counts``, how often each occurs. With ``dim``, the distinct slices along ``dim``, in
    lexicographic order (the inverse then has one entry per slice). NaNs are distinct from each other
    (NaN ≠ NaN). Returns a tensor, or a tuple when an extra output is asked for."""
    data = _array(input)
    if dim is None:
        values, inverse, counts = xp.unique(data.reshape(-1), return_inverse=True, return_counts=True,
                                            equal_nan=False)
        return _unique_result(values, inverse.reshape(data.shape), counts, return_inverse, return_counts)
    d = _check_axis("unique", dim, max(data.ndim, 1))
    if not data.ndim:
        data = data.reshape(1)
    if not data.shape[d]:
        return _unique_result(data, xp.zeros(0, dtype=xp.int64), xp.zeros(0, dtype=xp.int64), return_inverse,
                              return_counts)
    values, inverse, counts = xp.unique(data, axis=d, return_inverse=True, return_counts=True)
    return _unique_result(values, inverse.reshape(-1), counts, return_inverse, return_counts)


@off_tape
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """``input`` with each run of equal consecutive entries (slices along ``dim``) collapsed to one
    (``torch.unique_consecutive``, Unix's ``uniq``); ``return_inverse``: each entry's run,
    ``return_counts``: each run's length. NaN ≠ NaN, so NaNs never merge."""
    data = _array(input)
    if dim is None:
        flat = data.reshape(-1)
        new = xp.ones(flat.shape, dtype=bool)
        new[1:] = flat[1:] != flat[:-1]
        values, inverse_shape = flat[new], data.shape
    else:
        d = _check_axis("unique_consecutive", dim, max(data.ndim, 1))
        if not data.ndim:
            data = data.reshape(1)
        moved = xp.moveaxis(data, d, 0).reshape(data.shape[d], -1)
        new = xp.ones(data.shape[d], dtype=bool)
        new[1:] = (moved[1:] != moved[:-1]).any(axis=1) if moved.shape[1] else False
        values, inverse_shape = xp.compress(new, data, axis=d), (data.shape[d],)
    inverse = xp.cumsum(new) - 1
    starts = xp.nonzero(new)[0]
    counts = xp.diff(xp.concatenate([starts, [new.size]]))
    return _unique_result(values, inverse.reshape(inverse_shape), counts, return_inverse, return_counts)


# ---------------------------------------------------------------- counting into bins
@off_tape
def bincount(input, weights=None, minlength=0):  # noqa: A002
    """How often each value 0 … max occurs in a 1-D tensor of non-negative integers (``torch.bincount``):
    an int64 tensor of length max(max + 1, ``minlength``). With ``weights`` (1-D, one per entry), each
    occurrence adds its weight instead: floating weights keep their dtype, others count in float64.
    The weighted count is ``index_add`` of the weights, so a weight that requires grad gets
    w̄ᵢ = ȳ[xᵢ]."""
    x = _array(input)
    if x.dtype.kind not in "iu":
        raise CountingNotImplemented(f"bincount: not implemented for {x.dtype} tensors; it counts integers "
                                     f"(convert with .long())")
    if x.ndim != 1 or (x.size and int(x.min()) < 0):
        raise CountingError(f"bincount: bincount only supports 1-d non-negative integral inputs (got "
                            f"{x.dtype}{list(x.shape)}" + (f" holding {int(x.min())}" if x.ndim == 1 else "") + ")")
    if not isinstance(minlength, int) or isinstance(minlength, bool) or minlength < 0:
        raise CountingError(f"bincount: minlength should be >= 0, got {minlength!r}")
    length = max(int(x.max()) + 1 if x.size else 0, minlength)
    if weights is None:
        return _wrap(xp.bincount(x, minlength=length).astype(xp.int64))
    w = _as_tensor(weights)
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise CountingError(f"bincount: weights should be 1-d and have the same length as input (input "
                            f"{list(x.shape)}, weights {list(w.shape)})")
    if w.dtype.kind != "f":
        w = _wrap(w.data.astype(xp.float64))
    return _place_at((length,), w.dtype, x.astype(xp.int64), w)


@off_tape
def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """A histogram of ``input``'s entries in ``bins`` equal bins over [``min``, ``max``]
    (``torch.histc``), counts in ``input``'s floating dtype. With min = max, the data's range
    (widened by 1 on each side when it is one value). Entries outside the range and NaNs are not
    counted; the last bin includes its right edge. Each entry's bin is PyTorch's
    ⌊(x − min)·bins / (max − min)⌋, computed in ``input``'s dtype."""
    x = _array(input)
    if x.dtype.kind != "f":
        raise CountingNotImplemented(f"histc: not implemented for {x.dtype} tensors (PyTorch's histogram_cpu "
                                     f"neither); convert with .float()")
    if not isinstance(bins, int) or isinstance(bins, bool):
        raise TypeError(f"histc(): argument 'bins' must be int, not {type(bins).__name__}")
    if bins <= 0:
        raise CountingError(f"histc: torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    flat = x.reshape(-1)
    if lo == hi and flat.size:
        lo, hi = float(flat.min()), float(flat.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (xp.isfinite(lo) and xp.isfinite(hi)):
        raise CountingError(f"histc: torch.histc: range of [{lo}, {hi}] is not finite")
    if not lo < hi:
        raise CountingError("histc: torch.histc: max must be larger than min")
    left, right = xp.asarray(lo, dtype=x.dtype), xp.asarray(hi, dtype=x.dtype)
    inside = flat[(flat >= left) & (flat <= right)]
    with xp.errstate(invalid="ignore", over="ignore"):
        at = ((inside - left) * bins / (right - left)).astype(xp.int64)
    at = xp.minimum(at, bins - 1)  # the right edge belongs to the last bin
    return _wrap(xp.bincount(at, minlength=bins).astype(x.dtype))


# ---------------------------------------------------------------- searching sorted sequences
def _binary_search(boundaries, values, right, sorter=None):
    """PyTorch's binary search, run for every value at once: per row of ``boundaries`` (R, n) and the
    matching row of ``values`` (R, m), the first i with b[i] ≥ v (``right``: b[i] > v), comparisons
    with NaN failing as in C++."""
    rows, n = boundaries.shape
    start = xp.zeros(values.shape, dtype=xp.int64)
    end = xp.full(values.shape, n, dtype=xp.int64)
    row = xp.arange(rows)[:, None]
    with xp.errstate(invalid="ignore"):
        while True:
            active = start < end
            if not active.any():
                return start
            mid = start + ((end - start) >> 1)
            column = xp.minimum(mid, n - 1)
            if sorter is not None:
                column = sorter[row, column]
            mid_val = boundaries[row, column]
            go_right = ~(mid_val > values) if right else ~(mid_val >= values)
            start = xp.where(active & go_right, mid + 1, start)
            end = xp.where(active & ~go_right, mid, end)


def _searchable(op, a):
    if a.dtype.kind == "b":
        raise CountingNotImplemented(f"{op}: not implemented for bool tensors (PyTorch neither)")
    if a.dtype.kind == "c":
        raise CountingError(f"{op}: complex tensors are not ordered")


def _side(op, right, side):
    if side is None:
        return bool(right)
    if side not in ("left", "right"):
        raise CountingError(f"{op}: torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise CountingError(f"{op}: torch.searchsorted(): side and right can't be set to opposites, got side of "
                            f"left while right was True")
    return side == "right"


@off_tape
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):  # noqa: A002
    """For each value of ``input``, the index where it would be inserted into ``sorted_sequence`` to keep
    it sorted (``torch.searchsorted``): the first i with sequence[i] ≥ value, or > value with
    ``right=True`` / ``side='right'``. An N-D sequence searches row by row: its leading dims must be
    ``input``'s. ``sorter``: int64 indices that sort an unsorted sequence. int64 (``out_int32``:
    int32) indices of ``input``'s shape."""
    seq = _array(sorted_sequence)
    scalar = not isinstance(input, Tensor) and not hasattr(input, "shape")
    values = xp.asarray(_data(input))
    use_right = _side("searchsorted", right, side)
    _searchable("searchsorted", seq)
    _searchable("searchsorted", values)
    if not seq.ndim:
        raise CountingError("searchsorted: torch.searchsorted(): boundaries tensor should have positive dimension, "
                            "but got 0 dimension")
    if seq.ndim > 1 and (scalar or seq.shape[:-1] != values.shape[:-1] or values.ndim != seq.ndim):
        raise CountingError(f"searchsorted: torch.searchsorted(): boundaries tensor should be 1 dimension or the first "
                            f"N-1 dimensions of boundaries tensor and input value tensor must match, but we got "
                            f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
    order = None
    if sorter is not None:
        order = _array(sorter)
        if order.dtype != xp.int64:
            raise CountingError(f"searchsorted: torch.searchsorted(): sorter must be a tensor of long dtype but got "
                                f"dtype {order.dtype}")
        if order.shape != seq.shape:
            raise CountingError(f"searchsorted: torch.searchsorted(): boundary and sorter must have the same size, "
                                f"but got boundary tensor {list(seq.shape)} and got sorter tensor {list(order.shape)}")
        if order.size and (int(order.min()) < 0 or int(order.max()) >= seq.shape[-1]):
            raise CountingError("searchsorted: torch.searchsorted(): sorter index out of range")
        order = order.reshape(-1, seq.shape[-1])
    rows = seq.reshape(-1, seq.shape[-1])
    if seq.ndim == 1:
        found = _binary_search(rows, values.reshape(1, -1), use_right, order)
    else:
        found = _binary_search(rows, values.reshape(rows.shape[0], -1), use_right, order)
    return _wrap(found.reshape(values.shape).astype(xp.int32 if out_int32 else xp.int64))


@off_tape
def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each value of ``input`` among the 1-D sorted ``boundaries`` (``torch.bucketize``):
    i with boundaries[i − 1] < v ≤ boundaries[i] (``right=True``: boundaries[i − 1] ≤ v <
    boundaries[i]), i.e. ``searchsorted(boundaries, input)``. int64 (``out_int32``: int32) indices."""
    b = _array(boundaries)
    if b.ndim != 1:
        raise CountingError(f"bucketize: boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    return searchsorted.__wrapped__(b, input, out_int32=out_int32, right=right)


@off_tape
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each entry of ``elements`` is among ``test_elements`` (``torch.isin``; either may be a
    number, not both): a bool tensor of ``elements``' shape (``invert``: whether it is not). NaN is
    in nothing."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): expects elements or test_elements to be a tensor, got two numbers")
    a, b = _array(elements), _array(test_elements)
    for t in (a, b):
        if t.dtype.kind in "bc":
            raise CountingError(f"isin: Unsupported input type encountered for isin(): {t.dtype}")
    return _wrap(xp.isin(a, b, assume_unique=assume_unique, invert=invert))


@off_tape
def count_nonzero(input, dim=None):  # noqa: A002
    """The number of nonzero entries over ``dim`` (an int, a sequence, or every dim when None;
    ``torch.count_nonzero``), int64. NaN counts as nonzero."""
    data = _array(input)
    if dim is None:
        return _wrap(xp.asarray(xp.count_nonzero(data), dtype=xp.int64))
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    axes = [_check_axis("count_nonzero", d, max(data.ndim, 1)) for d in dims]
    if len(set(axes)) != len(axes):
        raise CountingError(f"count_nonzero: dim {axes[0]} appears multiple times in the list of dims")
    if not data.ndim:
        return _wrap(xp.asarray(int(data != 0), dtype=xp.int64))
    return _wrap(xp.asarray(xp.count_nonzero(data, axis=tuple(axes)), dtype=xp.int64))


# ---------------------------------------------------------------- index sets
def _triangle_indices(op, lower, row, col, offset, dtype):
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{op}(): argument '{name}' must be int, got {type(v).__name__}")
    if row < 0:
        raise CountingError(f"{op}: row must be non-negative, got {row}")
    if col < 0:
        raise CountingError(f"{op}: col must be non-negative, got {col}")
    dt = xp.dtype(xp.int64 if dtype is None else dtype)
    if dt.kind not in "iu":
        raise CountingNotImplemented(f"{op}: not implemented for {dt} (it makes integer indices)")
    i, j = (xp.tril_indices if lower else xp.triu_indices)(row, offset, col)
    return _wrap(xp.stack([i, j]).astype(dt).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) row and column indices of the lower triangle of a ``row`` × ``col`` matrix, entries
    with column − row ≤ ``offset``, in row-major order (``torch.tril_indices``; int64 unless ``dtype``)."""
    return _triangle_indices("tril_indices", True, row, col, offset, dtype)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the upper triangle, column − row ≥ ``offset`` (``torch.triu_indices``)."""
    return _triangle_indices("triu_indices", False, row, col, offset, dtype)


@off_tape
def unravel_index(indices, shape):
    """The coordinates, in a tensor of ``shape``, of flat (row-major) ``indices`` (``torch.unravel_index``):
    a tuple of int64 tensors of ``indices``' shape, one per dim. Indices lie in [−numel, numel) (a
    negative one counts from the end); others are refused (PyTorch wraps them around)."""
    idx = _array(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected 'indices' to be integer dtype, but got {idx.dtype}")
    dims = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(s) for s in shape)
    if any(s < 0 for s in dims):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, but got {tuple(dims)}")
    if not dims:
        return ()
    numel = 1
    for s in dims:
        numel *= s
    if numel == 0:
        raise CountingError(f"unravel_index: a shape with zero elements {tuple(dims)} has no valid index")
    if idx.size and (int(idx.min()) < -numel or int(idx.max()) >= numel):
        bad = int(idx.min()) if int(idx.min()) < -numel else int(idx.max())
        raise IndexRangeError(f"unravel_index: index {bad} is out of range [{-numel}, {numel}) for shape "
                              f"{tuple(dims)}")
    flat = idx.astype(xp.int64) % numel
    return tuple(_wrap(c.astype(xp.int64)) for c in xp.unravel_index(flat, dims))

