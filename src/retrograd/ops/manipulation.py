"""PyTorch's tensor-manipulation functions, composed from the primitives (no vjp of their own):
``take_along_dim``, ``select``, ``tensor_split``, ``vsplit``/``hsplit``/``dsplit``, ``column_stack``,
``dstack``, ``ravel``, ``moveaxis``, ``rot90``, ``fliplr``/``flipud``, ``repeat_interleave``,
``diag_embed``, ``diagflat``, ``block_diag``, ``cartesian_prod``, ``combinations``,
``broadcast_tensors``.

Each moves or copies entries: it checks PyTorch's shape rules, then calls ``getitem`` (basic or
advanced), ``reshape``, ``transpose``, ``concatenate``, ``pad`` or ``index_add``, so its gradient
is the adjoint movement those record — a slice's ȳ goes back to where it came from, a repeated
entry sums the gradients of its copies. Mixed dtypes promote as PyTorch's (an integer beside a
floating tensor takes the floating dtype).
"""

from __future__ import annotations

import itertools

from ..autograd.backend import xp
from ..autograd.op import DimError, IndexRangeError, OpError
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from . import device_checks
from .composite import gather, flatten
from .matrix import _promoted, diag, meshgrid
from .rearrange import _as_tensor, clone, flip
from .shape import (_check_axis, _data, broadcast_to, concatenate, getitem, index_add as _place_at, movedim, pad,
                    reshape, stack, swapaxes)


class ManipulationError(OpError, RuntimeError):
    """Arguments PyTorch refuses with a ``RuntimeError``: also an ``OpError``."""


class ManipulationIndexError(IndexRangeError, RuntimeError):
    """An index out of range: an ``IndexError`` and a ``RuntimeError`` (PyTorch raises either)."""


def _dim(op, dim, ndim):
    """``dim`` in [0, max(ndim, 1)), refused (naming ``op``) otherwise."""
    return _check_axis(op, dim, max(ndim, 1))


def _int(op, name, value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise ManipulationError(f"{op}: {name} must be an int, got {value!r}")
    return value


# ---------------------------------------------------------------- picking entries
def take_along_dim(input, indices, dim=None):  # noqa: A002 - torch's names
    """Entries of ``input`` at ``indices`` along ``dim`` (``torch.take_along_dim``, NumPy's
    ``take_along_axis``): ``input`` and ``indices`` broadcast against each other in every other dim,
    then out[i][j] = input[i][indices[i][j]] (dim 1). Without ``dim``, both are flattened first.
    ``indices``: int64, in [−size, size) along ``dim`` (a negative one counts from the end) or in
    [0, numel) without ``dim``. x̄ = ȳ added back at the taken positions."""
    x = _as_tensor(input)
    idx = xp.asarray(_data(indices))
    if idx.dtype != xp.int64:
        raise ManipulationError(f"take_along_dim: dtype of indices should be int64 (Long) but got {idx.dtype}; "
                                f"convert it with .long()")
    if dim is None:
        flat = reshape(x, (-1,))
        n = flat.shape[0]
        device_checks.refuse_out_of_range(idx, n, ManipulationIndexError,
                                          f"take_along_dim: index {{bad}} is out of bounds for dimension 0 with "
                                          f"size {n} (the flattened input)")
        return gather(flat, 0, idx.reshape(-1))
    if x.ndim != idx.ndim:
        raise ManipulationError(f"take_along_dim: input and indices should have the same number of dimensions, but "
                                f"got {x.ndim} dimensions for input, and {idx.ndim} dimensions for indices")
    if not x.ndim:
        raise DimError(f"take_along_dim: Dimension specified as {dim} but tensor has no dimensions")
    d = _dim("take_along_dim", dim, x.ndim)
    n = x.shape[d]
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
        raise ManipulationIndexError(f"take_along_dim: index {bad} is out of range [{-n}, {n}) for dim {d} of the "
                                     f"input of shape {tuple(x.shape)}")
    x_shape, i_shape = list(x.shape), list(idx.shape)
    x_shape[d] = i_shape[d] = 1
    try:
        common = list(xp.broadcast_shapes(tuple(x_shape), tuple(i_shape)))
    except ValueError as e:
        raise ManipulationError(f"take_along_dim: input of shape {tuple(x.shape)} and indices of shape "
                                f"{tuple(idx.shape)} do not broadcast apart from dim {d}") from e
    x_target, i_target = list(common), list(common)
    x_target[d], i_target[d] = n, idx.shape[d]
    if tuple(x_target) != tuple(x.shape):
        x = broadcast_to(x, tuple(x_target))
    return gather(x, d, xp.broadcast_to(idx % n if n else idx, tuple(i_target)))


def select(input, dim, index):  # noqa: A002
    """The slice of ``input`` at ``index`` along ``dim``, that dim removed (``torch.select``;
    ``x.select(1, i)`` is ``x[:, i]``). A negative ``index`` counts from the end; x̄ = ȳ in that
    slice, 0 elsewhere."""
    x = _as_tensor(input)
    if not x.ndim:
        raise DimError("select: select() cannot be applied to a 0-dim tensor.")
    d = _check_axis("select", dim, x.ndim)
    if isinstance(index, Tensor):
        index = index.item()
    index = _int("select", "index", index)
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexRangeError(f"select: index {index} out of range for tensor of size {list(x.shape)} at "
                              f"dimension {d}")
    return getitem(x, (slice(None),) * d + (index,))


# ---------------------------------------------------------------- splitting
def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None):  # noqa: A002
    """``input`` cut along ``dim`` into views (``torch.tensor_split``, NumPy's ``array_split``): an int
    n gives n pieces, the first size % n of them one longer; a list (or 1-D int64 tensor) of indices
    cuts before each index (Python's slice rules: negative ones count from the end, indices past the
    end give empty pieces). ``sections=`` and ``indices=`` are the keyword forms. Each piece is a slice
    on the tape."""
    given = [v is not None for v in (indices_or_sections, sections, indices)]
    if sum(given) != 1:
        raise ManipulationError("tensor_split: give exactly one of indices_or_sections, sections or indices")
    x = _as_tensor(input)
    if not x.ndim:
        raise ManipulationError("tensor_split: expected at least a 1-dimensional tensor, but got a tensor with "
                                "0 dims")
    d = _check_axis("tensor_split", dim, x.ndim)
    spec = next(v for v in (indices_or_sections, sections, indices) if v is not None)
    if isinstance(spec, Tensor) or hasattr(spec, "dtype") and hasattr(spec, "ndim"):
        arr = xp.asarray(_data(spec))
        if arr.dtype != xp.int64:
            raise ManipulationError(f"tensor_split: expected tensor_indices_or_sections to have dtype of long "
                                    f"(int64), but got {arr.dtype}")
        if arr.ndim > 1:
            raise ManipulationError(f"tensor_split: expected tensor_indices_or_sections to be a zero-dimensional or "
                                    f"one-dimensional tensor, but got a tensor with {arr.ndim} dims")
        spec = int(arr) if arr.ndim == 0 else [int(v) for v in arr.tolist()]
    n = x.shape[d]
    lead = (slice(None),) * d
    if isinstance(spec, int) and not isinstance(spec, bool):
        if spec <= 0:
            raise ManipulationError(f"tensor_split: number of sections must be larger than 0, got {spec}")
        size, extra = divmod(n, spec)
        bounds = [0]
        for k in range(spec):
            bounds.append(bounds[-1] + size + (1 if k < extra else 0))
        return tuple(getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:]))
    cuts = [_int("tensor_split", "an index", v) for v in spec]
    starts, stops = [0] + cuts, cuts + [None]
    return tuple(getitem(x, lead + (slice(a, b),)) for a, b in zip(starts, stops))


def _numpy_split(op, x, spec, dim, least):
    """``vsplit``/``hsplit``/``dsplit``: NumPy's split along ``dim`` (an int must divide the dim)."""
    x = _as_tensor(x)
    if x.ndim < least:
        raise ManipulationError(f"{op}: torch.{op} requires a tensor with at least {least} dimension, but got a "
                                f"tensor with {x.ndim} dimensions!")
    if isinstance(spec, int) and not isinstance(spec, bool):
        n = x.shape[dim]
        if spec == 0 or n % spec:
            raise ManipulationError(f"{op}: torch.{op} attempted to split along dimension {dim}, but the size of "
                                    f"the dimension {n} is not divisible by the split_size {spec}!")
        return tensor_split(x, spec, dim)
    return tensor_split(x, list(spec), dim)


def vsplit(input, indices_or_sections):  # noqa: A002
    """``tensor_split`` along dim 0 of an at least 2-D tensor; an int must divide that dim (``torch.vsplit``)."""
    return _numpy_split("vsplit", input, indices_or_sections, 0, 2)


def hsplit(input, indices_or_sections):  # noqa: A002
    """``tensor_split`` along dim 1 (dim 0 of a 1-D tensor); an int must divide that dim (``torch.hsplit``)."""
    x = _as_tensor(input)
    return _numpy_split("hsplit", x, indices_or_sections, 1 if x.ndim > 1 else 0, 1)


def dsplit(input, indices_or_sections):  # noqa: A002
    """``tensor_split`` along dim 2 of an at least 3-D tensor; an int must divide that dim (``torch.dsplit``)."""
    return _numpy_split("dsplit", input, indices_or_sections, 2, 3)


# ---------------------------------------------------------------- joining
def _tensors(op, tensors):
    if isinstance(tensors, Tensor):
        raise ManipulationError(f"{op}: expects a sequence of tensors, got one tensor; wrap it in a list")
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        raise ManipulationError(f"{op}: expects a non-empty TensorList")
    return _promoted(*ts)


def column_stack(tensors):
    """The tensors side by side as columns (``torch.column_stack``): 0-d and 1-D ones become (n, 1)
    columns, then all are joined along dim 1 (``hstack``)."""
    ts = [reshape(t, (t.size, 1)) if t.ndim <= 1 else t for t in _tensors("column_stack", tensors)]
    _same_ndim("column_stack", ts)
    return concatenate(ts, dim=1)


def _same_ndim(op, ts):
    dims = {t.ndim for t in ts}
    if len(dims) > 1:
        raise ManipulationError(f"{op}: Tensors must have same number of dimensions: got {sorted(dims)}")


def _atleast_3d(x):
    """``x`` as at least 3-D, NumPy's way: () → (1, 1, 1), (n,) → (1, n, 1), (m, n) → (m, n, 1)."""
    x = _as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1, 1, 1))
    if x.ndim == 1:
        return reshape(x, (1, x.shape[0], 1))
    if x.ndim == 2:
        return reshape(x, tuple(x.shape) + (1,))
    return x


def dstack(tensors):
    """The tensors stacked depthwise, along dim 2, each made at least 3-D first (``torch.dstack``)."""
    ts = [_atleast_3d(t) for t in _tensors("dstack", tensors)]
    _same_ndim("dstack", ts)
    return concatenate(ts, dim=2)


def block_diag(*tensors):
    """The block-diagonal matrix of the tensors (``torch.block_diag``): each (a 0-d one as (1, 1), a 1-D
    one as a row) placed below and right of the one before, zeros elsewhere; dtypes promote. Without
    tensors, a (1, 0) matrix, as PyTorch's."""
    ts = [_as_tensor(t) for t in tensors]
    for k, t in enumerate(ts):
        if t.ndim > 2:
            raise ManipulationError(f"block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                                    f"{t.ndim} dimensions")
    if not ts:
        return _wrap(xp.zeros((1, 0), dtype=get_default_dtype()))
    ts = [reshape(t, (1, 1)) if t.ndim == 0 else reshape(t, (1, t.shape[0])) if t.ndim == 1 else t
          for t in _promoted(*ts)]
    width = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        rows.append(pad(t, ((0, 0), (left, width - left - t.shape[1]))))
        left += t.shape[1]
    return concatenate(rows, dim=0)


def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape (``torch.broadcast_tensors``), a tuple; each
    gradient sums back over its broadcast dims."""
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        return ()
    try:
        shape = xp.broadcast_shapes(*(tuple(t.shape) for t in ts))
    except ValueError as e:
        raise ManipulationError(f"broadcast_tensors: shapes {[tuple(t.shape) for t in ts]} do not broadcast "
                                f"together") from e
    return tuple(t if tuple(t.shape) == shape else broadcast_to(t, shape) for t in ts)


def ravel(input):  # noqa: A002
    """``input`` flattened to 1-D, in row-major order (``torch.ravel``)."""
    return reshape(_as_tensor(input), (-1,))


moveaxis = movedim  # NumPy's name, PyTorch's alias


# ---------------------------------------------------------------- rotating and flipping
def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """``input`` rotated by 90° ``k`` times in the plane of ``dims``, from the first towards the second
    (``torch.rot90``; a negative ``k`` turns the other way): a flip and a transpose, on the tape."""
    x = _as_tensor(input)
    dims = list(dims)
    k = _int("rot90", "k", k)
    if len(dims) != 2:
        raise ManipulationError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise ManipulationError(f"rot90: expected total dims >= 2, but got total dims = {x.ndim}")
    a, b = (_check_axis("rot90", d, x.ndim) for d in dims)
    if a == b:
        raise ManipulationError(f"rot90: expected rotation dims to be different, but got dim0 = {dims[0]} and "
                                f"dim1 = {dims[1]}")
    turns = k % 4
    if turns == 1:
        return swapaxes(flip(x, b), a, b)
    if turns == 2:
        return flip(x, [a, b])
    if turns == 3:
        return swapaxes(flip(x, a), a, b)
    return clone(x)


def fliplr(input):  # noqa: A002
    """``input`` with dim 1 reversed (left and right exchanged; ``torch.fliplr``, at least 2-D)."""
    x = _as_tensor(input)
    if x.ndim < 2:
        raise ManipulationError(f"fliplr: Input must be >= 2-d, got shape {tuple(x.shape)}.")
    return flip(x, 1)


def flipud(input):  # noqa: A002
    """``input`` with dim 0 reversed (up and down exchanged; ``torch.flipud``, at least 1-D)."""
    x = _as_tensor(input)
    if x.ndim < 1:
        raise ManipulationError("flipud: Input must be >= 1-d, got a 0-d tensor.")
    return flip(x, 0)


# ---------------------------------------------------------------- repeating
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Each entry of ``input`` repeated along ``dim`` (``torch.repeat_interleave``; NumPy's ``repeat``):
    ``repeats`` an int, or an integer tensor with one count per entry (or one count for all).
    Without ``dim``, the flattened input. ``output_size``, when given, must be the total length.
    The gradient of an entry is the sum over its copies. ``repeat_interleave(repeats)`` alone (an
    integer tensor) gives the indices 0, 1, … each repeated: ``repeat_interleave(arange(n), repeats)``."""
    if repeats is None:
        counts = _counts(input)
        if counts.ndim != 1:
            raise ManipulationError("repeat_interleave: repeat_interleave only accept 1D vector as repeat")
        return _wrap(xp.repeat(xp.arange(counts.size, dtype=xp.int64), counts))
    x = _as_tensor(input)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = _dim("repeat_interleave", dim, x.ndim)
        if not x.ndim:
            x = reshape(x, (1,))
    n = x.shape[d]
    if isinstance(repeats, int) and not isinstance(repeats, bool):
        if repeats < 0:
            raise ManipulationError(f"repeat_interleave: Repeats must be non-negative, got {repeats}")
        if output_size is not None and output_size != n * repeats:
            raise ManipulationError(f"repeat_interleave: Invalid output_size, expected {n * repeats} but got "
                                    f"{output_size}")
        counts = xp.full(n, repeats, dtype=xp.int64)
    else:
        counts = _counts(repeats)
        if counts.ndim > 1:
            raise ManipulationError(f"repeat_interleave: repeats must be 0-dim or 1-dim tensor, got shape "
                                    f"{list(counts.shape)}")
        if counts.size == 1:
            counts = xp.full(n, int(counts.reshape(())), dtype=xp.int64)
        elif counts.size != n:
            raise ManipulationError(f"repeat_interleave: repeats must have the same size as input along dim, but "
                                    f"got repeats.size(0) = {counts.size} and input.size({d}) = {n}")
        if output_size is not None and output_size != int(counts.sum()):
            raise ManipulationError(f"repeat_interleave: allocated size does not match required size (output_size "
                                    f"{output_size}, repeats sum to {int(counts.sum())})")
    source = xp.repeat(xp.arange(n, dtype=xp.int64), counts)
    return getitem(x, (slice(None),) * d + (source,))


def _counts(repeats):
    """Repeat counts as a non-negative int64 array (PyTorch takes int64 or int32 ones)."""
    counts = xp.asarray(_data(repeats))
    if counts.dtype.kind not in "iu":
        raise OpError(f"repeat_interleave: repeats must be an integer tensor (int64 or int32), got {counts.dtype}")
    if counts.size and int(counts.min()) < 0:
        raise ManipulationError("repeat_interleave: repeats can not be negative")
    return counts.astype(xp.int64, copy=False)


# ---------------------------------------------------------------- diagonals
def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """A tensor whose 2-D slices over (``dim1``, ``dim2``) of the output hold the last dim of ``input``
    on their ``offset`` diagonal, zeros elsewhere (``torch.diag_embed``; the output has one more dim,
    its other dims are ``input``'s batch dims). x̄ = ȳ read back off that diagonal."""
    x = _as_tensor(input)
    offset = _int("diag_embed", "offset", offset)
    nd = x.ndim + 1
    a, b = _check_axis("diag_embed", dim1, nd), _check_axis("diag_embed", dim2, nd)
    if a == b:
        raise ManipulationError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    if not x.ndim:
        raise DimError(f"diag_embed: Dimension out of range (expected to be in range of [-1, 0], but got {dim1})")
    n = x.shape[-1]
    m = n + abs(offset)
    steps = xp.arange(n)
    rows, cols = steps + max(-offset, 0), steps + max(offset, 0)
    square = _place_at(tuple(x.shape[:-1]) + (m, m), x.dtype, (Ellipsis, rows, cols), x)
    return movedim(square, (-2, -1), (a, b))


def diagflat(input, offset=0):  # noqa: A002
    """The square matrix with ``input`` flattened on its ``offset`` diagonal (``torch.diagflat``)."""
    return diag(flatten(_as_tensor(input)), _int("diagflat", "offset", offset))


# ---------------------------------------------------------------- products of index sets
def cartesian_prod(*tensors):
    """Every tuple of one entry from each 1-D tensor, in row-major order (``torch.cartesian_prod``,
    ``itertools.product``): a (∏ nᵢ, k) tensor, or the tensor itself for one input. The tensors share
    one dtype; each gradient sums ȳ over the rows its entry appears in."""
    ts = [_as_tensor(t) for t in tensors]
    if not ts:
        raise ManipulationError("cartesian_prod: meshgrid expects a non-empty TensorList")
    for t in ts:
        if t.ndim != 1:
            raise ManipulationError(f"cartesian_prod: Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    if len({t.dtype for t in ts}) > 1:
        raise ManipulationError(f"cartesian_prod: meshgrid expects all tensors to have the same dtype, got "
                                f"{[str(t.dtype) for t in ts]}")
    grids = meshgrid(*ts, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], dim=1)


def combinations(input, r=2, with_replacement=False):  # noqa: A002
    """The length-``r`` combinations of a 1-D tensor's entries, in ``itertools.combinations`` order
    (``with_replacement``: ``combinations_with_replacement``): an (n_comb, r) tensor (shape (0,) for
    r = 0, as PyTorch's). Each gradient sums ȳ over the places its entry appears."""
    x = _as_tensor(input)
    if x.ndim != 1:
        raise ManipulationError(f"combinations: Expect a 1D vector, but got shape {list(x.shape)}")
    r = _int("combinations", "r", r)
    if r < 0:
        raise ManipulationError(f"combinations: Expect a non-negative number, but got {r}")
    if r == 0:
        return _wrap(xp.zeros((0,), dtype=x.dtype))
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    picks = xp.asarray(list(make(range(x.shape[0]), r)), dtype=xp.int64).reshape(-1, r)
    return getitem(x, picks)
