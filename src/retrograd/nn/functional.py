"""``rg.nn.functional``: the functional forms of the layers (PyTorch's names).

The differentiable primitives and losses come from ``retrograd.ops``; this
module adds the compositions that need layer state or randomness (dropout,
layer_norm, batch_norm, embedding).
"""

from __future__ import annotations

import math
import warnings

from .. import random as rg_random
from .. import ops as _ops
from ..ops import (avg_pool2d, binary_cross_entropy, binary_cross_entropy_with_logits, conv2d,  # noqa: F401
                   cross_entropy, gelu, logsigmoid, max_pool2d, mse_loss, nll_loss, sigmoid, softsign, tanh)
from ..ops import matmul, mean, norm, one_hot, reshape, sqrt, take, var  # noqa: F401
from ..ops import clamp
from ..ops import reductions as _reductions
from ..ops import softmaxes as _softmax
from ..ops.rearrange import torch_pad
from ..ops import device_checks
from ..ops.shape import _data
from ..ops import linear  # noqa: F401 - torch.nn.functional.linear, shapes checked by the op
from ..ops.conv import conv1d, conv_transpose2d  # noqa: F401
from ..autograd.op import OpError, off_tape
from ..autograd.backend import xp
from ..autograd.replay import tracing
from ..autograd.tensor import Tensor, _wrap
from ..autograd.mode import no_grad
from .functional_losses import (cosine_embedding_loss, cosine_similarity, gaussian_nll_loss, hinge_embedding_loss,
                                huber_loss, kl_div, l1_loss, margin_ranking_loss, pairwise_distance,
                                poisson_nll_loss, smooth_l1_loss, soft_margin_loss, _arr, _float_input, _t)  # noqa: F401 - torch.nn.functional's names


# ``inplace=True`` (PyTorch's) is accepted by every activation here and computed out of place: the same
# values and gradients, returned as a new tensor (the input, which an op may have saved, is never
# overwritten). Code that uses the returned tensor, as ``x = F.relu(x, inplace=True)``, runs unchanged.


def relu(input, inplace: bool = False):  # noqa: A002 - PyTorch's names
    """max(x, 0) (PyTorch's ``F.relu``; the kink follows ``rg.conventions``)."""
    return _ops.relu(input)


def relu6(input, inplace: bool = False):  # noqa: A002
    """min(max(x, 0), 6)."""
    return _ops.relu6(input)


def elu(input, alpha: float = 1.0, inplace: bool = False):  # noqa: A002
    """x for x > 0, α(eˣ − 1) below."""
    return _ops.elu(input, alpha)


def selu(input, inplace: bool = False):  # noqa: A002
    """scale·elu(x, α) with PyTorch's constants."""
    return _ops.selu(input)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):  # noqa: A002
    """max(x, slope·x)."""
    return _ops.leaky_relu(input, negative_slope)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):  # noqa: A002
    """x clamped to [min_val, max_val]."""
    return _ops.hardtanh(input, min_val, max_val)


def silu(input, inplace: bool = False):  # noqa: A002
    """x·σ(x)."""
    return _ops.silu(input)


def mish(input, inplace: bool = False):  # noqa: A002
    """x·tanh(softplus(x))."""
    return _ops.mish(input)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):  # noqa: A002
    """log(1 + e^(βx))/β, and x itself where βx > ``threshold`` (PyTorch's
    switch to the linear branch, values and gradient exactly)."""
    smooth = _ops.softplus(input, beta)
    return _ops.where(_data(input) * beta > threshold, input, smooth)


def _implicit_softmax_dim(op, ndim):
    """PyTorch's legacy choice when ``dim`` is not given (with its warning): 0 for
    0-, 1- and 3-D inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X "
                  f"as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002 - PyTorch's names
    """PyTorch's ``F.softmax``: eˣ / Σ eˣ along ``dim`` (cast to ``dtype`` first).
    Without ``dim``, PyTorch's deprecated implicit choice, with its warning."""
    if dim is None:
        dim = _implicit_softmax_dim("softmax", len(input.shape))
    return _softmax.softmax(input, dim=dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """PyTorch's ``F.log_softmax``: x − logsumexp(x) along ``dim`` (see ``softmax``)."""
    if dim is None:
        dim = _implicit_softmax_dim("log_softmax", len(input.shape))
    return _softmax.log_softmax(input, dim=dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """PyTorch's ``F.softmin``: softmax(−x) along ``dim``."""
    if dim is None:
        dim = _implicit_softmax_dim("softmin", len(input.shape))
    return _softmax.softmax(-input if dtype is None else -_reductions._with_dtype("softmin", input, dtype),
                               dim=dim)


def normalize(input, p: float = 2.0, dim=1, eps: float = 1e-12, out=None):  # noqa: A002
    """PyTorch's ``F.normalize``: x / max(‖x‖_p, eps) with the p-norm over
    ``dim`` (an int or a tuple), so rows of norm below ``eps`` are divided by
    ``eps`` instead of by their norm."""
    if out is not None:
        raise OpError("normalize: out= is not supported (retrograd has no in-place outputs); use the result")
    return input / clamp(norm(input, p, dim, keepdim=True), eps, None)


def pad(input, pad, mode: str = "constant", value=None):  # noqa: A002
    """PyTorch's ``F.pad``: widths from the last dim backwards, ``(left, right,
    top, bottom, …)``; ``mode`` constant, reflect, replicate or circular
    (``rg.pad`` keeps NumPy's ``pad_width`` instead).

    Like PyTorch, reflect and replicate refuse bool input and input with an
    empty dim other than the batch dim of an (N, C, …) input."""
    if mode in ("reflect", "replicate"):
        _check_mirrored_pad_input(input, pad, mode)
    return torch_pad(input, pad, mode, value)


def _check_mirrored_pad_input(x, pad, mode):
    """PyTorch's reflection/replication kernels: no bool, and every dim non-empty but the batch dim."""
    shape, dtype = _shape(x), getattr(x, "dtype", None)
    if dtype is not None and dtype.kind == "b":
        raise OpError(f"pad: mode={mode!r} is not implemented for bool input (shape {shape}), as in PyTorch; "
                      f"cast it to an integer or float dtype first, or use mode='constant'")
    dims = len(tuple(pad)) // 2
    batched = len(shape) == dims + 2
    if any(n == 0 for n in shape[1 if batched else 0:]):
        raise OpError(f"pad: mode={mode!r} needs every dim but the batch dim non-empty, got shape {shape} "
                      f"(PyTorch refuses it too)")


def dropout(x, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p and scale the rest by 1/(1 − p)
    (inverted dropout: nothing to undo at evaluation). ``inplace=True`` is
    accepted and computed out of place (the returned tensor holds the result)."""
    if not 0 <= p < 1:
        if p == 1 and training:
            return x * 0.0
        if p != 1:
            raise OpError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    return x * _dropout_scale(x, p)


@off_tape
def _dropout_scale(x, p):
    """Dropout's mask times 1/(1 − p) for ``x`` (a constant of the tape, drawn anew by a replay).
    The mask is drawn on the host (rg.random's generator) and crosses to the backend as
    booleans, 1 byte an element; scaled there."""
    keep = xp.asarray(rg_random.generator().random(x.shape) >= p)
    return Tensor(keep.astype(x.dtype) * (1.0 / (1.0 - p)))


class EmbeddingIndexError(OpError, IndexError):
    """An embedding index outside ``[0, num_embeddings)`` (PyTorch raises IndexError too)."""


def _shape(t):
    return tuple(getattr(t, "shape", ()))


def check_embedding_indices(idx, num_embeddings: int, who: str = "embedding"):
    """Refuse non-integer indices and indices outside [0, num_embeddings) (no wrapping of
    negative indices: PyTorch raises ``IndexError: index out of range in self``)."""
    dtype = getattr(idx, "dtype", None)
    if dtype is None or dtype.kind not in "iu" or dtype.itemsize not in (4, 8) or dtype.kind == "u":
        raise OpError(f"{who}: indices must be integers of dtype int64 or int32 (PyTorch refuses others too), "
                      f"got {dtype or type(idx)}; convert them with .astype('int64')")
    device_checks.refuse_out_of_range(idx, num_embeddings, EmbeddingIndexError,
                                      f"{who}: index {{bad}} is out of range for num_embeddings={num_embeddings} "
                                      f"(indices must be in [0, {num_embeddings - 1}]; negative indices do "
                                      f"not wrap)")


class EmbeddingPaddingIndexError(OpError, AssertionError):
    """A ``padding_idx`` outside [−num_embeddings, num_embeddings) (PyTorch asserts,
    raising ``AssertionError``; this is also an ``OpError``, hence a ``ValueError``)."""


def resolve_padding_idx(padding_idx, num_embeddings: int, who: str = "embedding"):
    """``padding_idx`` as a row number in [0, num_embeddings), counting a negative one
    from the end as PyTorch does; None stays None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, int):
        raise OpError(f"{who}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise EmbeddingPaddingIndexError(f"{who}: Padding_idx must be within num_embeddings (got padding_idx="
                                         f"{padding_idx} for num_embeddings={num_embeddings}; valid: "
                                         f"{-num_embeddings} … {num_embeddings - 1})")
    return padding_idx % num_embeddings


def embedding(indices, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``indices``;
    gradients of repeated indices accumulate. Indices outside
    [0, num_embeddings) raise ``EmbeddingIndexError`` (an ``OpError`` and an ``IndexError``).

    ``padding_idx`` (PyTorch's): the entries that pick that row (negative counts from
    the end) still read its value but send it no gradient, so the row stays as it is
    during training (``nn.Embedding`` also initialises it to zeros). ``max_norm``: each picked
    row whose ``norm_type``-norm exceeds it is rescaled to it first, in the table itself
    (PyTorch's ``embedding_renorm_``)."""
    if len(_shape(weight)) != 2:
        raise OpError(f"embedding: weight must be (num_embeddings, embedding_dim), got shape {_shape(weight)}")
    _dense_only("embedding", sparse)
    if max_norm is not None:
        renorm_rows(weight, indices, max_norm, norm_type)
    return embedding_rows(indices, weight, resolve_padding_idx(padding_idx, weight.shape[0]), "embedding",
                          scale_grad_by_freq)


def _dense_only(who, sparse):
    if sparse:
        raise OpError(f"{who}: sparse=True is not implemented (retrograd has no sparse tensors: the gradient of "
                      f"the table is dense); leave it False")


def _scale_grad_by_frequency(rows, ids, among=None):
    """``scale_grad_by_freq=True`` (PyTorch's): the gradient reaching ``rows`` (the lookups of the
    integer array ``ids``, one row per id) is divided, entry by entry, by how often its id occurs in
    ``among`` (default: ``ids``), so a frequent token's row is not updated more than a rare one's.
    A hook on ``rows``: the values are unchanged."""
    if rows.requires_grad:
        values, counts = xp.unique(ids if among is None else among, return_counts=True)
        inverse = (1.0 / counts[xp.searchsorted(values, ids.reshape(-1))]).reshape(tuple(ids.shape) + (1,))
        rows.register_hook(lambda g: g * Tensor(inverse.astype(g.dtype)))
    return rows


def renorm_rows(weight, indices, max_norm, norm_type: float = 2.0):
    """Rescale, in place and off the tape, every row of ``weight`` that ``indices`` picks and whose
    ``norm_type``-norm exceeds ``max_norm`` to that norm: w ← w·max_norm/(‖w‖ + 1e−7), as PyTorch."""
    ids = xp.unique(xp.asarray(indices.data if isinstance(indices, Tensor) else indices).reshape(-1))
    table = weight.data if isinstance(weight, Tensor) else weight
    ids = ids[(ids >= 0) & (ids < table.shape[0])]  # a bad id is left to the lookup, which names it
    rows = table[ids]
    norms = (xp.abs(rows) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    if bool(over.any()):
        table[ids[over]] = rows[over] * (max_norm / (norms[over] + 1e-7))[:, None]
        if isinstance(weight, Tensor):
            weight.mark_modified_()  # a graph that read the old rows refuses its backward, as after an optimizer step


def embedding_rows(indices, weight, padding_idx, who: str, scale_grad_by_freq: bool = False):
    """``embedding`` with ``padding_idx`` resolved (a row number or None), errors naming ``who``.
    The indices are checked off the tape (``_checked_indices``), so a replayed step checks each
    step's anew; the padding mask is a comparison of tensors, computed again too."""
    ids = _checked_indices(indices, weight.shape[0], who)
    rows = take(weight, ids, axis=0)
    if scale_grad_by_freq:
        _scale_grad_by_frequency(rows, ids.data)
    if padding_idx is None:
        return rows
    is_padding = ids == padding_idx
    if not tracing() and not device_checks.may_hold(is_padding.data):
        return rows
    # The padding entries read the row as a constant: `where` sends them no gradient, so
    # the row's gradient is exactly zero (not a sum that happens to cancel).
    with no_grad():
        padding_row = weight[padding_idx] if isinstance(weight, Tensor) else Tensor(weight[padding_idx])
    return _ops.where(is_padding[..., None], padding_row, rows)


@off_tape
def _checked_indices(indices, num_embeddings: int, who: str):
    """``indices`` as a tensor of the same array, once ``check_embedding_indices`` passed: a
    function off the tape, so that a replay runs the check on every step's indices."""
    idx = indices.data if isinstance(indices, Tensor) else xp.asarray(indices)
    check_embedding_indices(idx, num_embeddings, who)
    return _wrap(idx)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the trailing ``normalized_shape`` axes, then scale and shift."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[len(x.shape) - len(shape):]) != shape:
        raise OpError(f"layer_norm: input of shape {tuple(x.shape)} does not end in normalized_shape {shape}")
    axes = tuple(range(len(x.shape) - len(shape), len(x.shape)))
    mu = mean(x, axis=axes, keepdims=True)
    y = (x - mu) / sqrt(var(x, axis=axes, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel (axis 1) over the batch and spatial axes.

    Training uses the batch statistics and updates the running ones in place
    (unbiased variance, like PyTorch); evaluation uses the running ones.
    """
    nd = len(x.shape)
    if nd < 2:
        raise OpError(f"batch_norm: expected (N, C, ...) input, got shape {tuple(x.shape)}")
    axes = (0,) + tuple(range(2, nd))
    bshape = (1, x.shape[1]) + (1,) * (nd - 2)
    if training:
        n = math.prod(x.shape[a] for a in axes)
        if n <= 1:
            raise OpError(f"batch_norm: need more than 1 value per channel when training, got input "
                          f"shape {tuple(x.shape)}")
        mu = mean(x, axis=axes, keepdims=True)
        v = var(x, axis=axes, keepdims=True)
        if running_mean is not None:
            with no_grad():
                running_mean.data *= 1 - momentum
                running_mean.data += momentum * mu.data.reshape(-1)
                running_var.data *= 1 - momentum
                running_var.data += momentum * v.data.reshape(-1) * (n / (n - 1))
    else:
        mu = reshape(running_mean, bshape)
        v = reshape(running_var, bshape)
    y = (x - mu) / sqrt(v + eps)
    if weight is not None:
        y = y * reshape(weight, bshape)
    if bias is not None:
        y = y + reshape(bias, bshape)
    return y


# ---------------------------------------------------------------- group normalisation
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):  # noqa: A002
    """PyTorch's ``F.group_norm``: the C channels of an ``(N, C, *)`` input split into ``num_groups`` groups
    of C/G, each normalised over its channels and spatial positions, per sample:

    y = (x − μ_{n,g}) / √(σ²_{n,g} + ε) · w_c + b_c   (σ² the biased variance, as PyTorch's).

    C must be divisible by G (PyTorch refuses it otherwise); ``weight`` and ``bias`` have shape (C,)."""
    x = _t(input)
    shape = tuple(x.shape)
    if len(shape) < 2:
        raise OpError(f"group_norm: expected an input of at least 2 dims (N, C, *), got shape {shape}")
    n, c = shape[0], shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise OpError(f"group_norm: the number of channels ({c}) of the input of shape {shape} must be divisible "
                      f"by num_groups={num_groups!r} (PyTorch refuses it too)")
    _float_input("group_norm", "input", x)
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(_arr(p).shape) != (c,):
            raise OpError(f"group_norm: {name} of shape {tuple(_arr(p).shape)} must be ({c},), one value per "
                          f"channel of the input of shape {shape}")
    grouped = reshape(x, (n, num_groups, math.prod(shape[1:]) // num_groups))
    mu = mean(grouped, axis=2, keepdims=True)
    centred = grouped - mu
    v = mean(centred * centred, axis=2, keepdims=True)
    y = reshape(centred / sqrt(v + eps), shape)
    bshape = (1, c) + (1,) * (len(shape) - 2)
    if weight is not None:
        y = y * reshape(weight, bshape)
    if bias is not None:
        y = y + reshape(bias, bshape)
    return y


# ---------------------------------------------------------------- adaptive average pooling
def _adaptive_windows(size: int, out: int):
    """PyTorch's adaptive windows over an axis of ``size``: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """PyTorch's ``F.adaptive_avg_pool2d``: an (N, C, H, W) or (C, H, W) input averaged over the windows
    rows [⌊i·H/h⌋, ⌈(i+1)·H/h⌉) × columns [⌊j·W/w⌋, ⌈(j+1)·W/w⌉) into an (h, w) output (windows may
    overlap). ``output_size`` is an int (square) or a pair; None in it keeps that axis's size. Each
    output is a mean of a slice, so the gradient spreads ȳ/(window size) over its window."""
    x = _t(input)
    shape = tuple(x.shape)
    if len(shape) not in (3, 4) or any(s == 0 for s in shape[-2:]) or (len(shape) == 4 and shape[1] == 0):
        raise OpError(f"adaptive_avg_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input with non-zero "
                      f"sizes in the non-batch dims, got shape {shape}")
    _float_input("adaptive_avg_pool2d", "input", x)
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 2:
        raise OpError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    h, w = (shape[-2 + k] if s is None else s for k, s in enumerate(sizes))
    if not (isinstance(h, int) and isinstance(w, int) and h >= 0 and w >= 0):
        raise OpError(f"adaptive_avg_pool2d: output_size must be non-negative ints (or None), got {output_size!r}")
    H, W = shape[-2:]
    if (h, w) == (H, W):
        return x * 1.0
    rows = [mean(x[..., r0:r1, :], axis=-2, keepdims=True) for r0, r1 in _adaptive_windows(H, h)]
    x = _ops.concatenate(rows, axis=-2) if rows else x[..., :0, :]  # h = 0: an empty output, as PyTorch's
    cols = [mean(x[..., c0:c1], axis=-1, keepdims=True) for c0, c1 in _adaptive_windows(W, w)]
    return _ops.concatenate(cols, axis=-1) if cols else x[..., :0]


# attention lives in a file of its own (it builds on the functions above: linear, dropout)
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402,F401

# more activations, normalisations, shuffles and dropouts: each file holds functions and modules
from .activation_extra import (celu, glu, hardshrink, hardsigmoid, hardswish, prelu, rrelu,  # noqa: E402,F401
                               softshrink, tanhshrink, threshold)
from .normalization_extra import instance_norm, local_response_norm, rms_norm  # noqa: E402,F401
from .containers_extra import bilinear  # noqa: E402,F401
from .rearrange_extra import channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: E402,F401
from .dropout_extra import (alpha_dropout, dropout1d, dropout2d, dropout3d,  # noqa: E402,F401
                            feature_alpha_dropout)

# more convolution, pooling and resampling: the 1-d/3-d convolutions are ops.conv's, the rest pooling.py's and
# resampling.py's
from ..ops.conv import conv3d, conv_transpose1d, conv_transpose3d  # noqa: E402,F401
from .pooling import (adaptive_avg_pool1d, adaptive_avg_pool3d, adaptive_max_pool1d,  # noqa: E402,F401
                      adaptive_max_pool1d_with_indices, adaptive_max_pool2d, adaptive_max_pool2d_with_indices,
                      adaptive_max_pool3d, adaptive_max_pool3d_with_indices, avg_pool1d, avg_pool3d, lp_pool1d,
                      lp_pool2d, lp_pool3d, max_pool1d, max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d,
                      max_pool3d_with_indices, max_unpool1d, max_unpool2d, max_unpool3d)
from .resampling import fold, interpolate, unfold, upsample, upsample_bilinear, upsample_nearest  # noqa: E402,F401

# the remaining losses (margin, multi-label, triplet), Gumbel-softmax and CTC: losses_extra.py and ctc.py
from .losses_extra import (gumbel_softmax, multi_margin_loss, multilabel_margin_loss,  # noqa: E402,F401
                           multilabel_soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss)
from .ctc import ctc_loss  # noqa: E402,F401

# bags of embeddings: sum, mean or max per bag (embedding_bag.py)
from .embedding_bag import embedding_bag  # noqa: E402,F401

# spatial transformers (spatial_transform.py), fractional max-pooling (fractional_pooling.py), torch.pdist
from .spatial_transform import affine_grid, grid_sample  # noqa: E402,F401
from .fractional_pooling import (fractional_max_pool2d, fractional_max_pool2d_with_indices,  # noqa: E402,F401
                                 fractional_max_pool3d, fractional_max_pool3d_with_indices)
from ..ops.products import pdist  # noqa: E402,F401
