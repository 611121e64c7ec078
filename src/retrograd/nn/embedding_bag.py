"""``EmbeddingBag`` and ``F.embedding_bag``: the sum, mean or max of bags of embedding rows, without
materialising the rows of every bag as a padded (bags, length, dim) tensor (PyTorch's
``nn.EmbeddingBag``: bag-of-words and recommendation models).

A 1-D ``input`` is the concatenation of the bags, ``offsets`` their starts (with
``include_last_offset``, one more entry: the end of the last bag, CSR style); a 2-D input (B, L)
is B bags of L ids. Bag b of ``mode="sum"`` is Σₖ wₖ·W[idₖ] over its ids (wₖ =
``per_sample_weights``, else 1), ``"mean"`` divides by the bag's size, ``"max"`` takes each
column's maximum. Entries equal to ``padding_idx`` are left out of their bag (of its size too);
an empty bag gives zeros.

Composed from retrograd ops, so the gradients come for free: the rows are gathered
(``take``), weighted, and added into their bags (``index_add``: the gradient of a row is its
bag's gradient, over the bag's size for the mean); the max picks, per bag and column, the first
row that holds the maximum (``take_along_dim``: only that row gets the gradient, as PyTorch's).
Which entry belongs to which bag, and where each maximum is, is integer bookkeeping done on the
host beside the ops.
"""

from __future__ import annotations

from ..autograd.backend import host, to_numpy, xp
from ..autograd.op import OpError
from ..autograd.replay import NotReplayable, tracing
from ..autograd.tensor import Tensor, get_default_dtype
from ..ops import device_checks, reshape, take
from ..ops.manipulation import take_along_dim
from ..ops.scatter import index_add
from . import functional as F, init
from .layers import _count
from .module import Module, Parameter, check_device

__all__ = ["EmbeddingBag", "embedding_bag"]

MODES = ("sum", "mean", "max")


class EmbeddingBagError(OpError, RuntimeError):
    """Offsets, dtypes or ``padding_idx`` that ``embedding_bag`` cannot work with (PyTorch raises a
    RuntimeError; this is also an ``OpError``, hence a ``ValueError``)."""


class EmbeddingBagIndexError(F.EmbeddingIndexError, RuntimeError):
    """An id outside [0, num_embeddings) (a ``RuntimeError`` as PyTorch's, and an ``IndexError``)."""


def _array(t):
    return t.data if isinstance(t, Tensor) else xp.asarray(t)


def _check_integers(name, a, position):
    if a.dtype.kind not in "iu" or a.dtype.itemsize not in (4, 8) or a.dtype.kind == "u":
        raise EmbeddingBagError(f"Expected tensor for argument #{position} '{name}' to have one of the following "
                                f"scalar types: Long, Int; but got {a.dtype} instead (while checking arguments for "
                                f"embedding_bag)")


def _bags(offsets, n: int, include_last_offset: bool):
    """(bag of each of the n entries, −1 for an entry in no bag; the number of bags), from the
    starts in ``offsets`` (host int64)."""
    if offsets.size - include_last_offset <= 0:  # no bags: only an empty input fits in them
        if n == 0:
            return host.zeros(0, host.int64), 0
        raise EmbeddingBagError(f"embedding_bag: offsets of shape {tuple(offsets.shape)} leaves the {n} entries of "
                                f"the input in no bag; offsets must start with 0"
                                + (" and end with the input's length" if include_last_offset else ""))
    if offsets[0] != 0:
        raise EmbeddingBagError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                                f"from position 0. However, got {int(offsets[0])}")
    if offsets[-1] > n:
        raise EmbeddingBagError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                                f"{int(offsets[-1])}")
    if (host.diff(offsets) < 0).any():
        raise EmbeddingBagError(f"embedding_bag: offsets must be non-decreasing (each bag starts where the last one "
                                f"ends or later), got {offsets.tolist()}")
    starts = offsets[:-1] if include_last_offset else offsets
    end = int(offsets[-1]) if include_last_offset else n  # CSR: the last offset ends the last bag
    position = host.arange(n)
    bag = host.searchsorted(starts, position, side="right") - 1  # the last bag starting at or before each entry
    return host.where(position < end, bag, -1), len(starts)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type: float = 2, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights=None,
                  include_last_offset: bool = False, padding_idx=None):  # noqa: A002 - PyTorch's names
    """PyTorch's ``F.embedding_bag``: per bag, the sum, mean or max of the rows of ``weight``
    (num_embeddings, dim) its ids pick; returns (bags, dim).

    ``input``: 1-D ids with ``offsets`` (the bags' starts, from 0, non-decreasing; with
    ``include_last_offset`` one more entry, the end of the last bag) or 2-D (B, L) without them.
    ``per_sample_weights`` (``mode="sum"`` only; the input's shape): each row is weighted.
    ``padding_idx``: entries with that id belong to no bag. ``max_norm``: the picked rows whose
    ``norm_type``-norm exceeds it are renormalised in the table first (in place).
    ``scale_grad_by_freq``: a row's gradient is divided by how often its id occurs in ``input``
    (sum and mean). ``sparse=True`` is not implemented (no sparse tensors here)."""
    idx, table = _array(input), weight
    if per_sample_weights is not None and tuple(_array(per_sample_weights).shape) != tuple(idx.shape):
        raise OpError(f"embedding_bag: If per_sample_weights ({tuple(_array(per_sample_weights).shape)}) is not None, "
                      f"then it must have the same shape as the input ({tuple(idx.shape)})")
    if len(getattr(table, "shape", ())) != 2:
        raise OpError(f"weight has to be a 2D Tensor, but got Tensor of dimension {len(getattr(table, 'shape', ()))}")
    if idx.ndim == 2:
        if offsets is not None:
            raise OpError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed "
                          f"length sequences. However, found offsets of type {type(offsets)}")
        if idx.shape[1] == 0 and idx.shape[0]:
            raise EmbeddingBagError(f"embedding_bag: a 2-D input of shape {tuple(idx.shape)} holds bags of length 0 "
                                    f"(PyTorch refuses it too); give each bag at least one id")
        length = idx.shape[1]
        offsets_host = host.arange(0, idx.size, max(length, 1), dtype=host.int64)
        include_last_offset = False
    elif idx.ndim == 1:
        if offsets is None:
            raise OpError("offsets has to be a 1D Tensor but got None")
        if _array(offsets).ndim != 1:
            raise OpError("offsets has to be a 1D Tensor")
        _check_integers("offsets", _array(offsets), 3)
        offsets_host = to_numpy(_array(offsets)).astype(host.int64)
    else:
        raise OpError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if mode not in MODES:
        raise OpError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise OpError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise OpError("max mode does not support sparse weights")
    F._dense_only("embedding_bag", sparse)
    if tracing():
        raise NotReplayable("embedding_bag: its bags are host bookkeeping a replay would freeze; run without compile")
    _check_integers("indices", idx, 1)
    n_emb = table.shape[0]
    device_checks.refuse_out_of_range(idx, n_emb, EmbeddingBagIndexError,
                                      f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be "
                                      f"{{bad}} (num_embeddings={n_emb})")
    if max_norm is not None:
        F.renorm_rows(table, idx, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  f"GitHub.")
    if table.dtype.kind != "f":
        raise EmbeddingBagError(f"Expected tensor for argument #1 'weight' to have one of the following scalar types: "
                                f"Half, BFloat16, Float, Double; but got {table.dtype} instead (while checking "
                                f"arguments for embedding_bag)")
    if per_sample_weights is not None and _array(per_sample_weights).dtype != table.dtype:
        raise EmbeddingBagError(f"embedding_bag: per_sample_weights ({_array(per_sample_weights).dtype}) must have the "
                                f"weight's dtype ({table.dtype})")
    if padding_idx is not None:
        if not -n_emb <= padding_idx < n_emb:
            raise EmbeddingBagError(f"padding_idx must be within the number of embeddings, {-n_emb} through "
                                    f"{n_emb - 1}, but got {padding_idx}")
        padding_idx %= n_emb
    return _reduce_bags(idx, table, offsets_host, mode, per_sample_weights, include_last_offset, padding_idx,
                        scale_grad_by_freq)


def _reduce_bags(idx, weight, offsets, mode, per_sample_weights, include_last_offset, padding_idx, scale_grad_by_freq):
    """The bags' sum, mean or max (arguments checked by ``embedding_bag``)."""
    ids = to_numpy(idx).reshape(-1).astype(host.int64)
    bag, n_bags = _bags(offsets, ids.size, include_last_offset)
    keep = (bag >= 0) if padding_idx is None else (bag >= 0) & (ids != padding_idx)
    position = host.flatnonzero(keep)  # the entries that count, in order (so their bags are non-decreasing)
    kept_bag = bag[position]
    rows = take(weight, xp.asarray(ids[position]), axis=0)  # (K, dim)
    if scale_grad_by_freq:  # counted over the whole input, as PyTorch
        F._scale_grad_by_frequency(rows, xp.asarray(ids[position]), among=xp.asarray(ids))
    if per_sample_weights is not None:
        w = per_sample_weights if isinstance(per_sample_weights, Tensor) else Tensor(_array(per_sample_weights))
        rows = rows * take(reshape(w, (-1,)), xp.asarray(position), axis=0)[:, None]
    dim = weight.shape[1]
    zeros = Tensor(xp.zeros((n_bags, dim), dtype=weight.dtype))
    if mode == "max":
        return _bag_max(rows, kept_bag, zeros)
    out = index_add(zeros, 0, xp.asarray(kept_bag), rows)
    if mode == "mean":
        sizes = host.maximum(host.bincount(kept_bag, minlength=n_bags), 1)
        out = out / Tensor(xp.asarray(sizes[:, None], dtype=weight.dtype))
    return out


def _bag_max(rows, kept_bag, zeros):
    """Per bag and column, the first of the bag's rows that holds the maximum (a NaN counts as the
    maximum); bags without rows stay zeros."""
    if not kept_bag.size:
        return index_add(zeros, 0, xp.asarray(kept_bag), rows)
    values = to_numpy(rows.data)
    first_of_group = host.flatnonzero(host.r_[True, kept_bag[1:] != kept_bag[:-1]])  # each non-empty bag's first row
    group = host.cumsum(host.r_[False, kept_bag[1:] != kept_bag[:-1]])  # the group (non-empty bag) of each row
    peak = host.maximum.reduceat(values, first_of_group, axis=0)
    at_peak = (values == peak[group]) | (host.isnan(values) & host.isnan(peak[group]))
    candidates = host.where(at_peak, host.arange(len(values))[:, None], len(values))
    first = host.minimum.reduceat(candidates, first_of_group, axis=0)  # (groups, dim): a row index per column
    picked = take_along_dim(rows, Tensor(xp.asarray(first)), 0)
    return index_add(zeros, 0, xp.asarray(kept_bag[first_of_group]), picked)


class EmbeddingBag(Module):
    """Bags of embeddings reduced by ``mode`` ("sum", "mean" — the default — or "max"): a table
    (num_embeddings, embedding_dim), initialised N(0, 1) like PyTorch's, whose
    ``forward(input, offsets=None, per_sample_weights=None)`` is ``F.embedding_bag`` on it.
    ``padding_idx``: that row starts as zeros and its entries are left out of their bags."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm=None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False, _weight=None,
                 include_last_offset: bool = False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        _count(num_embeddings, "num_embeddings", "EmbeddingBag")
        _count(embedding_dim, "embedding_dim", "EmbeddingBag")
        check_device("EmbeddingBag", device)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.padding_idx = F.resolve_padding_idx(padding_idx, num_embeddings, "EmbeddingBag")
        if _weight is None:
            self.weight = Parameter(xp.zeros((num_embeddings, embedding_dim), dtype=dtype or get_default_dtype()))
            self.reset_parameters()
        else:
            table = _array(_weight)
            if tuple(table.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(table)
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def reset_parameters(self) -> None:
        """N(0, 1) draws, the padding row zeros."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):  # noqa: A002 - PyTorch's names
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm=None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                        include_last_offset: bool = False, padding_idx=None):
        """An EmbeddingBag holding ``embeddings`` (num_embeddings, embedding_dim), frozen (no
        gradient) unless ``freeze=False``."""
        if len(tuple(embeddings.shape)) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
