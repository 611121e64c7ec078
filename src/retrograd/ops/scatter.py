"""PyTorch's scatter family: ``scatter``, ``scatter_add``, ``scatter_reduce``, ``index_add``,
``index_copy``, ``index_fill``, ``masked_scatter``.

Each writes (or accumulates) values into a copy of ``input`` at positions an index names. None
needs an ``Op`` of its own: the adjoint of indexing, ``IndexAdd`` (zeros with values added at an
advanced index, ``shape.index_add``), puts the values in place, ``where`` chooses between the
written entries and ``input``, and ``scatter_reduce``'s max, min and product run the existing
reductions over a table of each position's contributors. So every gradient (and jvp, and second
derivative) is that of the pieces, and reads like the formula::

    scatter_add(x, d, i, s) = x + place(s)    x̄ = ȳ            s̄ = gather(ȳ, d, i)
    scatter(x, d, i, s)     = where(w, place(s), x)
                                              x̄ = ȳ·(1 − w)    s̄ = gather(ȳ, d, i)   (w: written)
    index_add(x, d, i, s, α) = x + α·place(s) x̄ = ȳ            s̄ = α·index_select(ȳ, d, i)
    scatter_reduce 'mean'   = (x + place(s)) / n              x̄ = ȳ/n           s̄ = gather(ȳ/n)
    scatter_reduce 'amax'   = max over each position's contributors: ties share ȳ by rg.conventions

Indices are checked as PyTorch checks them: never wrapped (``index_fill`` alone takes negative
indices, as PyTorch's does), out of range raises an ``IndexError`` (also a ``RuntimeError`` where
PyTorch raises that) naming the function.

Where an index repeats a position, ``scatter`` and ``index_copy`` keep the last write in index order
(what PyTorch's CPU kernels do; it documents the result as undefined), and only that write gets a
gradient — the derivative of the function computed. PyTorch passes ȳ to every repeated write.
"""

from __future__ import annotations

import warnings

from ..autograd.backend import xp
from ..autograd.op import DimError, IndexRangeError, OpError
from ..autograd.tensor import Tensor
from . import device_checks
from . import elementwise as E
from .division import floor_divide
from .extrema import amax, amin
from .rearrange import _as_tensor, clone, masked_fill
from .reductions import prod
from .shape import _data, broadcast_to, concatenate, getitem, index_add as _place_at, reshape


class ScatterError(OpError, RuntimeError):
    """Arguments a scatter-family function cannot take: a ``RuntimeError`` as PyTorch raises, and an
    ``OpError``."""


class ScatterIndexError(IndexRangeError, RuntimeError):
    """An index outside its range: an ``IndexError`` and a ``RuntimeError`` (PyTorch raises either,
    by function), and an ``OpError``."""


class ScatterNotImplemented(OpError, NotImplementedError):
    """A dtype a reduction has no kernel for in PyTorch (the mean of booleans)."""


# ---------------------------------------------------------------- argument checks
def _dim(op, dim, ndim):
    """``dim`` in [0, max(ndim, 1)) (a 0-d tensor takes 0 and −1, as PyTorch)."""
    n = max(ndim, 1)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise ScatterError(f"{op}: dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise DimError(f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _index_array(op, index, dtypes=("int64", "int32")):
    """The index as an integer backend array, refused unless of one of ``dtypes`` (PyTorch's rule)."""
    idx = xp.asarray(_data(index))
    if idx.dtype.name not in dtypes:
        raise ScatterError(f"{op}: Expected dtype {'/'.join(dtypes[::-1])} for index, got {idx.dtype}"
                           f"{list(idx.shape)}; convert it with .long()")
    return idx


def _same_dtype(op, x, src):
    if x.dtype != src.dtype:
        raise ScatterError(f"{op}: Expected self.dtype to be equal to src.dtype, got self {x.dtype} and src "
                           f"{src.dtype} (PyTorch does not promote here); cast one of them first")


def _positions_map(shape):
    """An int64 array of ``shape`` holding each entry's flat (C-order) position."""
    return xp.arange(_count(shape), dtype=xp.int64).reshape(shape)


def _count(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _scatter_positions(op, x, dim, idx, src):
    """For ``scatter``-like ops: (flat positions in ``x`` written, in the index's C order; the values
    written, a flat tensor), after PyTorch's checks: as many dims as ``x`` (and as ``src``), ``index``
    no larger than ``src`` anywhere and than ``x`` apart from ``dim``, entries in [0, size of dim)."""
    shape = tuple(x.shape) or (1,)
    nd = len(shape)
    ishape = idx.shape or (1,)
    if len(ishape) != nd:
        raise ScatterError(f"{op}: Index tensor must have the same number of dimensions as self tensor (index "
                           f"{list(idx.shape)}, self {list(x.shape)})")
    if src is not None:
        sshape = tuple(src.shape) or (1,)
        if len(sshape) != nd:
            raise ScatterError(f"{op}: Index tensor must have the same number of dimensions as src tensor (index "
                               f"{list(idx.shape)}, src {list(src.shape)})")
        if any(i > s for i, s in zip(ishape, sshape)) or any(i > n for d, (i, n) in enumerate(zip(ishape, shape))
                                                             if d != dim):
            raise ScatterError(f"{op}: Expected index {list(idx.shape)} to be no larger than self {list(x.shape)} "
                               f"apart from dimension {dim} and to be no larger size than src {list(src.shape)}")
    elif any(i > n for d, (i, n) in enumerate(zip(ishape, shape)) if d != dim):
        raise ScatterError(f"{op}: Expected index {list(idx.shape)} to be no larger than self {list(x.shape)} "
                           f"apart from dimension {dim}")
    device_checks.refuse_out_of_range(idx, shape[dim], ScatterIndexError,
                                      f"{op}: index {{bad}} is out of bounds for dimension {dim} with size "
                                      f"{shape[dim]} (negative indices are refused, as in PyTorch)")
    grids = xp.ogrid[tuple(slice(0, s) for s in ishape)]
    where = tuple(idx.reshape(ishape).astype(xp.int64, copy=False) if d == dim else grids[d] for d in range(nd))
    positions = _positions_map(shape)[where].reshape(-1)
    if src is None:
        return positions, None
    values = getitem(src if src.ndim else reshape(src, (1,)), tuple(slice(0, s) for s in ishape))
    return positions, reshape(values, (-1,))


def _last_writes(positions):
    """Which entries of ``positions`` are the last write to their position (all of them when no
    position repeats): the index order decides, as in PyTorch's CPU kernels."""
    n = positions.size
    _, first_of_reversed = xp.unique(positions[::-1], return_index=True)
    if first_of_reversed.size == n:
        return None
    return xp.sort(n - 1 - first_of_reversed)


def _place(x, positions, values):
    """``x`` with ``values`` (a flat tensor) written at the flat ``positions``, the last write winning:
    where(written, zeros + values at positions, x). x̄ = ȳ where nothing was written, the winning
    values get ȳ at their positions."""
    shape = tuple(x.shape)
    keep = _last_writes(positions)
    if keep is not None:
        positions, values = positions[keep], getitem(values, keep)
    written = xp.zeros(_count(shape), dtype=bool)
    written[positions] = True
    placed = _place_at((written.size,), x.dtype, positions, values)
    return reshape(E.where(written, placed, reshape(x, (-1,))), shape)


# ---------------------------------------------------------------- scatter, scatter_add
_NO_VALUE = object()


def scatter(input, dim, index, src=_NO_VALUE, *, value=_NO_VALUE, reduce=None):  # noqa: A002 - torch's names
    """``input`` with ``src`` written at ``index`` along ``dim`` (``torch.scatter``): for a 3-D tensor
    and dim 1, out[i][index[i][j][k]][k] = src[i][j][k]. ``src`` may be a number (or ``value=``), written
    at every indexed position. ``index`` has ``input``'s number of dims and is no larger than ``src``,
    nor than ``input`` apart from ``dim``; only ``src``'s entries within ``index``'s shape are read.

    x̄ = ȳ where nothing was written, 0 where something was; s̄ = gather(ȳ, dim, index), 0 for the
    entries of ``src`` not read. A position indexed twice keeps the last write (PyTorch: undefined),
    and only that write gets a gradient.

    ``reduce='add'|'multiply'`` is PyTorch's deprecated form of ``scatter_reduce`` with 'sum'/'prod'
    (with its warning when ``src`` is a tensor)."""
    if src is not _NO_VALUE and value is not _NO_VALUE:
        raise ScatterError("scatter: give src or value, not both")
    if src is _NO_VALUE and value is _NO_VALUE:
        raise ScatterError("scatter: missing src (a tensor) or value (a number)")
    source = value if src is _NO_VALUE else src
    x = _as_tensor(input)
    d = _dim("scatter", dim, x.ndim)
    idx = _index_array("scatter", index)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ScatterError(f"scatter: reduce argument must be either add or multiply, got {reduce!r}")
        mode = "sum" if reduce == "add" else "prod"
        if isinstance(source, Tensor) or hasattr(source, "shape") and getattr(source, "ndim", 0):
            warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed "
                          "in a future PyTorch release. Use torch.scatter_reduce instead for more reduction "
                          "options.", UserWarning, stacklevel=2)
            return scatter_reduce(x, d, idx, source, mode)
        filled = Tensor(xp.full(idx.shape, _scalar("scatter", source, x.dtype), dtype=x.dtype))
        return scatter_reduce(x, d, idx, filled, mode)
    if not isinstance(source, (Tensor, xp.ndarray)):  # a number: a fill
        if not idx.size:
            return clone(x)
        positions, _ = _scatter_positions("scatter", x, d, idx, None)
        mask = xp.zeros(_count(tuple(x.shape)), dtype=bool)
        mask[positions] = True
        return masked_fill(x, mask.reshape(x.shape), _scalar("scatter", source, x.dtype))
    s = _as_tensor(source)
    _same_dtype("scatter", x, s)
    if not idx.size:
        return clone(x)
    positions, values = _scatter_positions("scatter", x, d, idx, s)
    return _place(x, positions, values)


def _scalar(op, value, dtype):
    """A fill value as a number of ``dtype``'s kind (a float into an integer tensor truncates, as
    PyTorch's cast); a 0-d tensor is taken as its number."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise ScatterError(f"{op}: the value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, complex) and xp.dtype(dtype).kind != "c":
        raise ScatterError(f"{op}: Converting complex Scalar to non-complex type is not supported "
                           f"(value {value!r}, tensor dtype {dtype})")
    return value


def scatter_add(input, dim, index, src):  # noqa: A002
    """``input`` with ``src`` added at ``index`` along ``dim`` (``torch.scatter_add``): for dim 1,
    out[i][index[i][j]] += src[i][j]; positions indexed several times add every value. The index
    rules are ``scatter``'s. y = x + place(s);  x̄ = ȳ,  s̄ = gather(ȳ, dim, index)."""
    x, s = _as_tensor(input), _as_tensor(src)
    d = _dim("scatter_add", dim, x.ndim)
    idx = _index_array("scatter_add", index)
    _same_dtype("scatter_add", x, s)
    if not idx.size:
        return clone(x)
    positions, values = _scatter_positions("scatter_add", x, d, idx, s)
    shape = tuple(x.shape)
    return E.add(x, reshape(_place_at((_count(shape),), x.dtype, positions, values), shape))


# ---------------------------------------------------------------- scatter_reduce
REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """``input`` with ``src`` reduced into the positions ``index`` names along ``dim``
    (``torch.scatter_reduce``): each indexed position becomes the reduction ('sum', 'prod', 'mean',
    'amax' or 'amin') of the values scattered to it, and of its own value when ``include_self``
    (the default); positions nothing is scattered to keep their value. The index rules are
    ``scatter``'s.

    Gradients as PyTorch's: 'sum' x̄ = ȳ (0 at scattered positions without ``include_self``),
    s̄ = gather(ȳ); 'mean' divides both by each position's count; 'prod' gives each factor the
    product of the others (exact with zeros); 'amax'/'amin' give ȳ to the entries equal to the result,
    shared among ties as ``rg.conventions`` says (the default, ``min_norm``, splits it evenly, as
    PyTorch does). Integer 'mean' rounds down (floor division), as PyTorch's."""
    if reduce in ("max", "min"):  # PyTorch takes these spellings too
        reduce = "a" + reduce
    if reduce not in REDUCTIONS:
        raise ScatterError(f"scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce!r}")
    if not isinstance(include_self, bool):
        raise ScatterError(f"scatter_reduce: include_self must be a bool, got {include_self!r}")
    x, s = _as_tensor(input), _as_tensor(src)
    d = _dim("scatter_reduce", dim, x.ndim)
    idx = _index_array("scatter_reduce", index)
    _same_dtype("scatter_reduce", x, s)
    if reduce == "mean" and x.dtype.kind == "b":
        raise ScatterNotImplemented("scatter_reduce: 'mean' is not implemented for bool tensors (PyTorch has no "
                                    "kernel either); convert to an integer or floating dtype first")
    if not idx.size:
        return clone(x)
    positions, values = _scatter_positions("scatter_reduce", x, d, idx, s)
    shape = tuple(x.shape)
    n = _count(shape)
    flat = reshape(x, (-1,))
    counts = xp.bincount(positions, minlength=n)
    written = counts > 0
    if reduce in ("sum", "mean"):
        base = flat if include_self else E.where(written, xp.zeros((), dtype=x.dtype), flat)
        total = E.add(base, _place_at((n,), x.dtype, positions, values))
        if reduce == "mean":
            divisor = xp.maximum(counts + int(include_self), 1).astype(x.dtype)
            total = E.true_divide(total, divisor) if x.dtype.kind in "fc" else floor_divide(total, divisor)
        return reshape(total, shape)
    return reshape(_reduce_contributors(reduce, flat, positions, values, written, include_self), shape)


def _reduce_contributors(reduce, flat, positions, values, written, include_self):
    """'amax', 'amin', 'prod': each written position's contributors (its own value first when
    ``include_self``, then the scattered values in index order) gathered into rows, reduced with
    ``amax``/``amin``/``prod`` along the row, and put back. Rows are grouped by width (the next
    power of two of their count) and padded with the reduction's identity, so the tables hold at most
    twice the contributors, however unevenly they fall."""
    dtype = flat.dtype
    own = xp.nonzero(written)[0]
    dest = xp.concatenate([own, positions]) if include_self else positions
    n = flat.shape[0]
    source = xp.concatenate([own, n + xp.arange(positions.size)]) if include_self else xp.arange(positions.size)
    order = xp.argsort(dest, kind="stable")
    dest, source = dest[order], source[order]
    rows, starts, counts = xp.unique(dest, return_index=True, return_counts=True)
    pad = xp.asarray(_identity(reduce, dtype), dtype=dtype).reshape(1)
    pool = concatenate([flat, values, pad] if include_self else [values, pad])
    pad_at = pool.shape[0] - 1
    widths = 1 << xp.ceil(xp.log2(counts)).astype(xp.int64)
    reducer = {"amax": amax, "amin": amin, "prod": prod}[reduce]
    targets, results = [], []
    for width in xp.unique(widths):
        chosen = widths == width
        columns = xp.arange(int(width))
        at = starts[chosen][:, None] + columns
        table = xp.where(columns < counts[chosen][:, None], source[xp.minimum(at, source.size - 1)], pad_at)
        reduced = reducer(getitem(pool, table), 1)
        if reduced.dtype != dtype:  # prod of integers or booleans is int64
            reduced = E.cast(reduced, dtype)
        targets.append(rows[chosen])
        results.append(reduced)
    placed = _place_at((n,), dtype, xp.concatenate(targets), concatenate(results) if len(results) > 1 else results[0])
    return E.where(written, placed, flat)


def _identity(reduce, dtype):
    """The value that changes no reduction of ``dtype``: the padding of a contributor row."""
    dtype = xp.dtype(dtype)
    if reduce == "prod":
        return 1
    lowest = reduce == "amax"
    if dtype.kind == "b":
        return not lowest
    if dtype.kind in "iu":
        info = xp.iinfo(dtype)
        return info.min if lowest else info.max
    return -xp.inf if lowest else xp.inf


# ---------------------------------------------------------------- the index_* family
def _vector_index(op, index, dtypes, vector_error):
    idx = xp.asarray(_data(index))
    if idx.dtype.name not in dtypes:
        raise ScatterError(f"{op}: Expected dtype {'/'.join(dtypes[::-1])} for index but got: {idx.dtype}; convert "
                           f"it with .long()")
    if idx.ndim > 1:
        raise vector_error(f"{op}: Index is supposed to be a vector (1-D or 0-D), but got dim: {idx.ndim} "
                           f"(shape {list(idx.shape)})")
    return idx.reshape(-1).astype(xp.int64, copy=False)


def _source_along(op, x, d, idx, source, error):
    """Check that ``source`` is ``x`` with dim ``d`` of size ``len(idx)`` (PyTorch's index_add/index_copy)."""
    shape, sshape = tuple(x.shape), tuple(source.shape)
    if not shape or not sshape:
        if shape or sshape or idx.size != 1:
            raise error(f"{op}: source tensor shape must match self tensor shape, excluding the specified "
                        f"dimension. Got self.shape = {list(shape)} source.shape = {list(sshape)}")
        return
    if len(sshape) != len(shape):
        raise error(f"{op}: When source and destination are not scalars, their dimensionality must match. Source "
                    f"dimensionality ({len(sshape)}), destination dimensionality ({len(shape)})")
    if sshape[d] != idx.size:
        raise error(f"{op}: Number of indices ({idx.size}) should be equal to source.size(dim) ({sshape[d]}), "
                    f"for dim: {d}")
    if any(a != b for k, (a, b) in enumerate(zip(shape, sshape)) if k != d):
        raise error(f"{op}: source tensor shape must match self tensor shape, excluding the specified dimension. "
                    f"Got self.shape = {list(shape)} source.shape = {list(sshape)}")


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """``input`` with ``alpha·source`` added along ``dim`` at ``index`` (``torch.index_add``): for
    dim 0, out[index[i]] += alpha·source[i]; repeated indices add every slice. ``index``: a vector of
    int64/int32 in [0, size); ``source``: ``input``'s shape with dim ``dim`` of size len(index).
    y = x + α·place(s);  x̄ = ȳ,  s̄ = α·index_select(ȳ, dim, index).

    Also retrograd's older form ``index_add(shape, dtype, index, g)`` (zeros of ``shape`` with ``g``
    added at an advanced ``index``: getitem's adjoint), told apart by its first argument, a shape."""
    if isinstance(input, (tuple, list)):
        if alpha != 1:
            raise ScatterError("index_add(shape, dtype, index, g) takes no alpha")
        return _place_at(input, dim, index, source)
    x, s = _as_tensor(input), _as_tensor(source)
    d = _dim("index_add", dim, x.ndim)
    idx = _vector_index("index_add", index, ("int64", "int32"), ScatterIndexError)
    if x.dtype != s.dtype:
        raise ScatterError(f"index_add: self ({x.dtype}) and source ({s.dtype}) must have the same scalar type "
                           f"(PyTorch does not promote here)")
    _source_along("index_add", x, d, idx, s, ScatterError)
    n = x.shape[d] if x.ndim else 1
    device_checks.refuse_out_of_range(idx, n, ScatterIndexError, f"index_add: index {{bad}} is out of range in "
                                      f"self: dim {d} has size {n} (negative indices are refused, as in PyTorch)")
    if not x.ndim:
        return E.add(x, _times(s, alpha, x.dtype))
    shape = tuple(x.shape)
    where = (slice(None),) * d + (idx,)
    return E.add(x, _place_at(shape, x.dtype, where, _times(s, alpha, x.dtype)))


def _times(s, alpha, dtype):
    """α·s, α cast to s's dtype's kind (an integer tensor truncates a float α, as PyTorch does)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise ScatterError(f"index_add: alpha must be a number, got {alpha!r}")
    if xp.dtype(dtype).kind in "iub":
        alpha = int(alpha)
    return s if alpha == 1 else E.mul(s, alpha)


def index_copy(input, dim, index, source):  # noqa: A002
    """``input`` with the slices of ``source`` copied along ``dim`` to the positions ``index`` names
    (``torch.index_copy``): for dim 0, out[index[i]] = source[i]. ``index``: an int64 vector in
    [0, size). x̄ = ȳ outside the copied slices, s̄ = index_select(ȳ, dim, index). A repeated index
    keeps the last slice (PyTorch: undefined), and only that slice gets a gradient."""
    x, s = _as_tensor(input), _as_tensor(source)
    d = _dim("index_copy", dim, x.ndim)
    idx = _vector_index("index_copy", index, ("int64",), ScatterIndexError)
    if x.dtype != s.dtype:
        raise ScatterError(f"index_copy: self and source expected to have the same dtype, but got (self) {x.dtype} "
                           f"and (source) {s.dtype}")
    if not s.ndim or not x.ndim:  # a scalar source (or destination): one index, one entry
        if not s.ndim and idx.size != 1:
            raise ScatterIndexError(f"index_copy: When source is scalar, index should have one element (got "
                                    f"{idx.size})")
        if x.ndim > 1 or s.size != 1 or idx.size != 1:
            raise ScatterError(f"index_copy: Source/destination tensor must have same slice shapes (self "
                               f"{list(x.shape)}, source {list(s.shape)}, {idx.size} indices)")
    else:
        _source_along("index_copy", x, d, idx, s, ScatterIndexError)
    shape = tuple(x.shape) or (1,)
    device_checks.refuse_out_of_range(idx, shape[d], ScatterIndexError,
                                      f"index_copy: index {{bad}} is out of bounds for dimension {d} with size "
                                      f"{shape[d]} (negative indices are refused, as in PyTorch)")
    # writes that meet differ only along d, where C order is index order: the last in it wins
    positions = _positions_map(shape)[(slice(None),) * d + (idx,)].reshape(-1)
    return _place(x, positions, reshape(s, (-1,)))


def index_fill(input, dim, index, value):  # noqa: A002
    """``input`` with ``value`` (a number or a 0-d tensor) in the slices along ``dim`` at ``index``
    (``torch.index_fill``). ``index``: an int64 vector; negative entries count from the end, as
    PyTorch's index_fill takes them. x̄ = ȳ outside the filled slices; a value that requires grad
    gets the sum of ȳ over the filled entries."""
    x = _as_tensor(input)
    d = _dim("index_fill", dim, x.ndim)
    idx = xp.asarray(_data(index))
    if idx.dtype.name != "int64":
        raise ScatterIndexError(f"index_fill: Expected dtype int64 for index, got {idx.dtype}; convert it with "
                                f".long()")
    if idx.ndim > 1:
        raise ScatterError(f"index_fill: Index has to be a vector/scalar, got shape {list(idx.shape)}")
    n = x.shape[d] if x.ndim else 1
    idx = idx.reshape(-1)
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
        raise ScatterIndexError(f"index_fill: index {bad} is out of bounds for dimension {d} with size {n}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ScatterError(f"index_fill: only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
    else:
        value = _scalar("index_fill", value, x.dtype)
    along = xp.zeros(n, dtype=bool)
    along[idx % n if n else idx] = True
    mask = along.reshape((n,) + (1,) * (x.ndim - d - 1)) if x.ndim else along.reshape(())
    return masked_fill(x, xp.broadcast_to(mask, x.shape), value)


def masked_scatter(input, mask, source):  # noqa: A002
    """``input`` with the entries where the boolean ``mask`` is True replaced, in row-major order, by
    the first entries of ``source`` (``torch.masked_scatter``); ``input`` and ``mask`` broadcast
    against each other, and ``source`` must hold at least as many entries as the mask has Trues.
    x̄ = ȳ where the mask is False (summed over broadcast copies); s̄ = ȳ[mask] in ``source``'s first
    entries, 0 for the rest."""
    x, s = _as_tensor(input), _as_tensor(source)
    m = xp.asarray(_data(mask))
    if m.dtype != bool:
        raise ScatterError(f"masked_scatter: only supports boolean masks, but got mask with dtype {m.dtype}")
    if x.dtype != s.dtype:
        raise ScatterError(f"masked_scatter: expected self and source to have same dtypes but got {x.dtype} and "
                           f"{s.dtype}")
    try:
        shape = xp.broadcast_shapes(tuple(x.shape), m.shape)
    except ValueError as e:
        raise ScatterError(f"masked_scatter: the mask bool{list(m.shape)} does not broadcast with the tensor "
                           f"{x.dtype}{list(x.shape)}") from e
    mb = xp.ascontiguousarray(xp.broadcast_to(m, shape))
    k = int(mb.sum())
    if k > _count(tuple(s.shape)):
        raise ScatterError(f"masked_scatter: Number of elements of source ({_count(tuple(s.shape))}) < number of "
                           f"ones in mask ({k})")
    xb = x if tuple(x.shape) == shape else broadcast_to(x, shape)
    taken = getitem(reshape(s, (-1,)), slice(0, k))
    if not shape:  # a 0-d tensor: as one entry
        return reshape(E.where(mb, _place_at((1,), x.dtype, mb.reshape(1), taken), reshape(xb, (1,))), ())
    return E.where(mb, _place_at(shape, x.dtype, mb, taken), xb)
