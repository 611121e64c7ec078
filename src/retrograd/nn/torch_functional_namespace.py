"""``torch``'s top-level forms of ``nn.functional``'s functions (``torch.dropout``, ``torch.layer_norm``,
``torch.batch_norm``, ``torch.embedding``, ``torch.kl_div`` …), exported as ``rg.<name>``.

They are ATen's signatures, not ``F``'s, and the differences matter:

- every argument is positional and often required (``torch.dropout(input, p, train)``);
- ``batch_norm``/``instance_norm`` take (input, weight, bias, running_mean, running_var, training,
  momentum, eps, cudnn_enabled); ``embedding`` takes (weight, indices, padding_idx=-1, …), where a
  negative ``padding_idx`` means none;
- the losses take ``reduction`` as an int: 0 none, 1 mean, 2 sum (any other int: none, as ATen), and
  its default is 0, none: ATen's schemas say Mean, but torch's Python bindings give 0 (``torch.kl_div(x,
  t)`` is unreduced); ``kl_div``'s mean is over every element, without ``F``'s warning;
- the normalisations, ``prelu`` and ``bilinear`` refuse parameters of another dtype than the input
  (ATen's "mixed dtype" errors) and integer inputs, where ``F``'s compositions would promote;
- ``adaptive_max_pool1d`` and ``max_pool1d_with_indices`` always return (output, indices);
  ``embedding_bag`` returns ATen's four tensors (output, offset2bag, bag_size, max_indices);
- the in-place forms ``dropout_``, ``celu_``, ``selu_``, ``rrelu_``, ``threshold_``,
  ``embedding_renorm_`` … follow ``rg.ops.inplace``'s rules (off the tape only).

Each calls the ``F`` function (or the op) that computes it, after the checks ATen makes (with
PyTorch's ``RuntimeError`` texts), so values and gradients are ``F``'s.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..autograd.backend import to_numpy, xp
from ..autograd.op import DimError, OpError
from ..autograd.tensor import Tensor
from ..ops import inplace as IP
from ..ops.activations import selu
from . import functional as F
from .dropout_extra import _dropped
from .embedding_bag import _bags
from .functional import (channel_shuffle, cosine_similarity, pairwise_distance,  # noqa: F401 - the same
                         pixel_shuffle, pixel_unshuffle)  # signature in torch and F: re-exported as they are


class FunctionalNamespaceError(OpError, RuntimeError):
    """A call ATen refuses with a ``RuntimeError`` (also an ``OpError``)."""


class FunctionalNotImplemented(OpError, NotImplementedError):
    """A dtype ATen has no kernel for (its ``NotImplementedError``; also an ``OpError``)."""


def _tensor(fn, value, argument="input"):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{argument}' must be Tensor, not {type(value).__name__}")
    return value


def _reduction(fn, reduction):
    """ATen's integer reduction as ``F``'s string: 1 mean, 2 sum, anything else none."""
    if isinstance(reduction, bool) or not isinstance(reduction, numbers.Integral):
        raise TypeError(f"{fn}(): argument 'reduction' must be int (0 none, 1 mean, 2 sum), not "
                        f"{type(reduction).__name__}")
    return {1: "mean", 2: "sum"}.get(int(reduction), "none")


def _same_dtype(fn, x, *params, message="mixed dtype (CPU): all inputs must share same datatype."):
    """ATen's kernels take one dtype: refuse an integer input, and parameters of another dtype."""
    if x.dtype.kind != "f":
        raise FunctionalNotImplemented(f"\"{fn}\" not implemented for '{IP._torch_name(x.dtype)}' (convert the "
                                       f"input first, e.g. x.float())")
    for p in params:
        if p is not None and getattr(p, "dtype", x.dtype) != x.dtype:
            raise FunctionalNamespaceError(f"{message} ({fn}: input {x.dtype}, parameter {p.dtype}; convert the "
                                           f"parameter, e.g. w.to(x.dtype))")


def _in_place(fn, name, input, compute):  # noqa: A002
    """``compute()`` written into ``input`` (``rg.ops.inplace``'s rules); returns ``input``."""
    return IP._in_place(_tensor(name, input), name, f"x = rg.{fn}(x, ...)", compute)


def _dropout_in_place(fn, name, input, p, train):  # noqa: A002
    """A dropout written into ``input``; a no-op (even on the tape, as ATen's) when it changes nothing:
    not ``train``, p = 0 or an empty input."""
    x = _tensor(name, input)
    if not train or p == 0 or not x.size:
        fn(x, p, train)  # checks p
        return x
    return _in_place(fn.__name__, name, x, lambda: fn(x, p, train))


# ---------------------------------------------------------------- activations
def celu(input, alpha=1.0):  # noqa: A002
    """``torch.celu``: max(0, x) + min(0, α·(exp(x/α) − 1)) (``F.celu``)."""
    return F.celu(_tensor("celu", input), alpha)


def celu_(input, alpha=1.0):  # noqa: A002
    """``torch.celu_``: ``celu`` written into ``input`` in place, off the tape only."""
    return _in_place("celu", "celu_", input, lambda: F.celu(input, alpha))


def selu_(input):  # noqa: A002
    """``torch.selu_``: ``selu`` written into ``input`` in place, off the tape only."""
    return _in_place("selu", "selu_", input, lambda: selu(input))


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):  # noqa: A002
    """``torch.rrelu``: in training each x ≤ 0 times its own slope drawn from U(lower, upper) (rg's
    generator), else ``leaky_relu`` with slope (lower + upper)/2 (``F.rrelu``). ``generator`` must be
    None: the draws come from rg's global generator (``rg.manual_seed``)."""
    if generator is not None:
        raise TypeError("rrelu(): generator= is not supported; seed rg's generator with rg.manual_seed instead")
    return F.rrelu(_tensor("rrelu", input), lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):  # noqa: A002
    """``torch.rrelu_``: ``rrelu`` written into ``input`` in place, off the tape only."""
    return _in_place("rrelu", "rrelu_", input, lambda: rrelu(input, lower, upper, training, generator))


def hardshrink(input, lambd=0.5):  # noqa: A002
    """``torch.hardshrink``: x where |x| > λ, else 0 (``F.hardshrink``)."""
    return F.hardshrink(_tensor("hardshrink", input), lambd)


def threshold(input, threshold, value):  # noqa: A002
    """``torch.threshold``: x where x > threshold, else ``value`` (``F.threshold``)."""
    return F.threshold(_tensor("threshold", input), threshold, value)


def threshold_(input, threshold, value):  # noqa: A002
    """``torch.threshold_``: ``threshold`` written into ``input`` in place, off the tape only."""
    return _in_place("threshold", "threshold_", input, lambda: F.threshold(input, threshold, value))


def prelu(input, weight):  # noqa: A002
    """``torch.prelu``: max(0, x) + weight·min(0, x), one weight or one per channel (``F.prelu``)."""
    x = _tensor("prelu", input)
    w = _tensor("prelu", weight, "weight")
    if w.dtype != x.dtype:
        raise FunctionalNamespaceError(f"prelu: Type promoting not supported. Got {IP._torch_name(x.dtype)} and "
                                       f"{IP._torch_name(w.dtype)}")
    return F.prelu(x, w)


# ---------------------------------------------------------------- dropout
def _dropout(name, input, p, train, feature, alpha):  # noqa: A002
    x = _tensor(name, input)
    if not 0 <= p <= 1:
        raise FunctionalNamespaceError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not train:
        return x
    if x.dtype.kind != "f" and p != 0 and x.size:
        raise FunctionalNamespaceError(f"result type Float can't be cast to the desired output type "
                                       f"{IP._torch_name(x.dtype)} ({name} of an integer tensor; convert it first, "
                                       f"e.g. x.float())")
    return _dropped(x, p, train, name, feature, alpha)


def dropout(input, p, train):  # noqa: A002
    """``torch.dropout(input, p, train)``: each entry zeroed with probability p and the rest scaled by
    1/(1 − p) when ``train``; ``input`` itself otherwise (``F.dropout``)."""
    return _dropout("dropout", input, p, train, False, False)


def feature_dropout(input, p, train):  # noqa: A002
    """``torch.feature_dropout``: whole channels (one draw per (n, c) of an input of ≥ 2 dims) zeroed
    with probability p, the rest scaled by 1/(1 − p), when ``train``."""
    return _dropout("feature_dropout", input, p, train, True, False)


def alpha_dropout(input, p, train):  # noqa: A002
    """``torch.alpha_dropout``: ``F.alpha_dropout`` (SELU's self-normalising dropout) when ``train``."""
    return _dropout("alpha_dropout", input, p, train, False, True)


def feature_alpha_dropout(input, p, train):  # noqa: A002
    """``torch.feature_alpha_dropout``: alpha dropout of whole channels when ``train``."""
    return _dropout("feature_alpha_dropout", input, p, train, True, True)


def dropout_(input, p, train):  # noqa: A002
    """``torch.dropout_``: ``dropout`` written into ``input`` in place, off the tape only."""
    return _dropout_in_place(dropout, "dropout_", input, p, train)


def feature_dropout_(input, p, train):  # noqa: A002
    """``torch.feature_dropout_``: ``feature_dropout`` in place, off the tape only."""
    return _dropout_in_place(feature_dropout, "feature_dropout_", input, p, train)


def alpha_dropout_(input, p, train):  # noqa: A002
    """``torch.alpha_dropout_``: ``alpha_dropout`` in place, off the tape only."""
    return _dropout_in_place(alpha_dropout, "alpha_dropout_", input, p, train)


def feature_alpha_dropout_(input, p, train):  # noqa: A002
    """``torch.feature_alpha_dropout_``: ``feature_alpha_dropout`` in place, off the tape only."""
    return _dropout_in_place(feature_alpha_dropout, "feature_alpha_dropout_", input, p, train)


# ---------------------------------------------------------------- normalisation
def _normalized_shape(fn, x, normalized_shape, star=", "):
    if isinstance(normalized_shape, numbers.Integral):
        raise TypeError(f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    shape = tuple(normalized_shape)
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise FunctionalNamespaceError(f"Given normalized_shape={list(shape)}, expected input with shape "
                                       f"[*{star}{', '.join(map(str, shape))}], but got input of size{list(x.shape)}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):  # noqa: A002
    """``torch.layer_norm``: ``F.layer_norm`` (``cudnn_enable`` is accepted and ignored)."""
    x = _tensor("layer_norm", input)
    _same_dtype("LayerNormKernelImpl", x, weight, bias)
    return F.layer_norm(x, _normalized_shape("layer_norm", x, normalized_shape), weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """``torch.rms_norm``: x / √(mean(x²) + eps) over the trailing ``normalized_shape``, times weight
    (``F.rms_norm``; eps None: the dtype's machine epsilon)."""
    x = _tensor("rms_norm", input)
    return F.rms_norm(x, _normalized_shape("rms_norm", x, normalized_shape, star=""), weight, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):  # noqa: A002
    """``torch.group_norm``: ``F.group_norm`` (``cudnn_enabled`` accepted and ignored)."""
    x = _tensor("group_norm", input)
    if x.ndim < 2:
        raise DimError(f"Dimension out of range (expected to be in range of [-1, 0], but got 1) (group_norm of an "
                       f"input of shape {list(x.shape)}: it needs (N, C, *))")
    _same_dtype("GroupNormKernelImpl", x, weight, bias,
                message=f"expected scalar type {IP._torch_name(x.dtype)} but found another")
    if x.shape[1] % num_groups:
        raise FunctionalNamespaceError(f"Expected number of channels in input to be divisible by num_groups, but got "
                                       f"input of shape {list(x.shape)} and num_groups={num_groups}")
    return F.group_norm(x, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,  # noqa: A002
               cudnn_enabled):
    """``torch.batch_norm`` in ATen's argument order: ``F.batch_norm(input, running_mean, running_var,
    weight, bias, training, momentum, eps)``. In training the running statistics (when given) are
    updated in place; in evaluation they are required."""
    x = _tensor("batch_norm", input)
    if not training and (running_mean is None or running_var is None):
        which = "running_mean" if running_mean is None else "running_var"
        raise FunctionalNamespaceError(f"{which} must be defined in evaluation mode")
    _same_dtype("batch_norm", x, weight, bias, running_mean, running_var)
    return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,  # noqa: A002
                  cudnn_enabled):
    """``torch.instance_norm`` in ATen's argument order: ``F.instance_norm(input, running_mean,
    running_var, weight, bias, use_input_stats, momentum, eps)``."""
    x = _tensor("instance_norm", input)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise FunctionalNamespaceError("Expected running_mean and running_var to be defined when use_input_stats is "
                                       "false")
    return F.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# ---------------------------------------------------------------- embeddings
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """``torch.embedding(weight, indices, …)``: the rows of ``weight`` that ``indices`` pick
    (``F.embedding`` with its arguments swapped). ATen's ``padding_idx``: a row in range whose entries
    get no gradient; a negative one (the default −1) means none."""
    w = _tensor("embedding", weight, "weight")
    dtype = getattr(indices, "dtype", None)
    if dtype not in (xp.int64, xp.int32):
        raise FunctionalNamespaceError(f"Expected tensor for argument #1 'indices' to have one of the following scalar "
                                       f"types: Long, Int; but got {dtype} instead (while checking arguments for "
                                       f"embedding)")
    pad = padding_idx if isinstance(padding_idx, int) and 0 <= padding_idx < w.shape[0] else None
    return F.embedding(indices, w, padding_idx=pad, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_renorm_(input, indices, max_norm, norm_type):  # noqa: A002
    """``torch.embedding_renorm_``: every row of ``input`` that ``indices`` picks and whose
    ``norm_type``-norm exceeds ``max_norm`` rescaled to max_norm/(norm + 1e−7) of itself, in place,
    off the tape only; returns ``input``."""
    IP._guard(_tensor("embedding_renorm_", input), "embedding_renorm_", "rg.no_grad() around it")
    F.renorm_rows(input, indices, max_norm, norm_type)
    return input


_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """``torch.embedding_bag`` (ATen's form): ``mode`` 0 sum, 1 mean, 2 max; ``indices`` flattened to
    1-D and split into bags at ``offsets``. Returns ATen's four tensors:

    - ``output`` (bags, dim): ``F.embedding_bag``'s (with its gradients);
    - ``offset2bag``: the bag of each index (empty for sum without ``padding_idx`` on a float32 table, as
      ATen's fast path);
    - ``bag_size``: each bag's number of non-padding indices (zeros for sum);
    - ``max_indices``: for max, (bags, dim) the row each maximum came from (the first of ties, 0 for an
      empty bag); for mean ``bag_size`` again; for sum zeros.

    The last three are integer bookkeeping in offsets' and indices' promoted dtype, off the tape."""
    if mode not in _MODES:
        raise FunctionalNamespaceError("`mode` must be sum, mean, or max.")
    w, idx, offs = (_tensor("embedding_bag", v, n) for v, n in ((weight, "weight"), (indices, "indices"),
                                                                  (offsets, "offsets")))
    if idx.ndim != 1:  # ATen's kernels disagree on other shapes (its float64 path fails): refused here
        raise FunctionalNamespaceError(f"embedding_bag: indices must be 1-D with offsets, got shape {list(idx.shape)} "
                                       f"(flatten them and give each bag's start in offsets, or call "
                                       f"F.embedding_bag, which takes (bags, length) indices)")
    flat = idx
    # ATen ignores scale_grad_by_freq in max mode (F refuses the pair)
    output = F.embedding_bag(flat, w, offs, scale_grad_by_freq=scale_grad_by_freq and mode != 2, mode=_MODES[mode],
                             sparse=sparse, per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding_idx)
    ids = to_numpy(flat.data).astype(np.int64)
    dtype = np.promote_types(idx.dtype, offs.dtype)
    bag, n_bags = _bags(to_numpy(offs.data).astype(np.int64), ids.size, include_last_offset)
    pad = None if padding_idx is None else padding_idx % w.shape[0]
    keep = (bag >= 0) if pad is None else (bag >= 0) & (ids != pad)
    sizes = np.bincount(bag[keep], minlength=n_bags)[:n_bags]
    # ATen's fast path (sum, no padding, a float32 or narrower table) skips offset2bag
    fast = mode == 0 and pad is None and w.dtype.itemsize <= 4
    offset2bag = np.zeros(0, np.int64) if fast else np.maximum(bag, 0)
    if mode == 0:
        bag_size = max_indices = np.zeros(n_bags, np.int64)
    elif mode == 1:
        bag_size = max_indices = sizes
    else:
        bag_size = sizes
        out = to_numpy(output.data)
        rows = to_numpy(w.data)[ids[keep]]  # the kept rows, in order: the first at the maximum wins
        at_max = (rows == out[bag[keep]]) | (np.isnan(rows) & np.isnan(out[bag[keep]]))
        first = np.full(out.shape, ids.size, np.int64)
        np.minimum.at(first, bag[keep], np.where(at_max, np.arange(rows.shape[0])[:, None], ids.size))
        kept_ids = np.append(ids[keep], 0)  # an empty bag (first == past the end) gives 0
        max_indices = kept_ids[np.minimum(first, rows.shape[0])]
    aux = (Tensor(xp.asarray(np.asarray(a).astype(dtype))) for a in (offset2bag, bag_size, max_indices))
    return (output, *aux)


# ---------------------------------------------------------------- losses (integer reductions)
def kl_div(input, target, reduction=0, *, log_target=False):  # noqa: A002
    """``torch.kl_div``: target·(log target − input) (or exp(t)·(t − input) with ``log_target``),
    reduced by ATen's int: 1 the mean over every element, 2 the sum, else none."""
    with warnings.catch_warnings():  # F's warning about 'mean' is F's, not ATen's
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(_tensor("kl_div", input), target, reduction=_reduction("kl_div", reduction),
                        log_target=log_target)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    """``torch.margin_ranking_loss``: max(0, −y·(x₁ − x₂) + margin), ATen's int reduction."""
    return F.margin_ranking_loss(_tensor("margin_ranking_loss", input1, "input1"), input2, target, margin,
                                 reduction=_reduction("margin_ranking_loss", reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):  # noqa: A002
    """``torch.hinge_embedding_loss``: x where y = 1, max(0, margin − x) where y = −1; ATen's int reduction."""
    return F.hinge_embedding_loss(_tensor("hinge_embedding_loss", input), target, margin,
                                  reduction=_reduction("hinge_embedding_loss", reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    """``torch.cosine_embedding_loss``: 1 − cos(x₁, x₂) where y = 1, max(0, cos − margin) where y = −1;
    ATen's int reduction."""
    return F.cosine_embedding_loss(_tensor("cosine_embedding_loss", input1, "input1"), input2, target, margin,
                                   reduction=_reduction("cosine_embedding_loss", reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):  # noqa: A002
    """``torch.poisson_nll_loss`` (every argument required): exp(x) − y·x with ``log_input``, else
    x − y·log(x + eps); ``full`` adds Stirling's term; ATen's int reduction."""
    return F.poisson_nll_loss(_tensor("poisson_nll_loss", input), target, log_input, full, eps=eps,
                              reduction=_reduction("poisson_nll_loss", reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=0):
    """``torch.triplet_margin_loss``: max(d(a, p) − d(a, n) + margin, 0), ATen's int reduction."""
    return F.triplet_margin_loss(_tensor("triplet_margin_loss", anchor, "anchor"), positive, negative, margin, p,
                                 eps, swap, reduction=_reduction("triplet_margin_loss", reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    """``torch.ctc_loss``: ``F.ctc_loss`` with ATen's int reduction (1: the mean over the batch of
    each loss divided by its target length, 2: the sum, else none)."""
    return F.ctc_loss(_tensor("ctc_loss", log_probs, "log_probs"), targets, input_lengths, target_lengths, blank,
                      _reduction("ctc_loss", reduction), zero_infinity)


# ---------------------------------------------------------------- pooling and rearranging
def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """``torch.max_pool1d``: ``F.max_pool1d`` without indices (stride empty or None: the kernel size)."""
    return F.max_pool1d(_tensor("max_pool1d", input), kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """``torch.max_pool1d_with_indices``: (output, indices) of ``F.max_pool1d``."""
    return F.max_pool1d_with_indices(_tensor("max_pool1d_with_indices", input), kernel_size, stride or None,
                                     padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """``torch.max_pool3d``: ``F.max_pool3d`` without indices."""
    return F.max_pool3d(_tensor("max_pool3d", input), kernel_size, stride or None, padding, dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002
    """``torch.avg_pool1d``: ``F.avg_pool1d`` (stride empty or None: the kernel size)."""
    return F.avg_pool1d(_tensor("avg_pool1d", input), kernel_size, stride or None, padding, ceil_mode,
                        count_include_pad)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """``torch.adaptive_avg_pool1d``: ``F.adaptive_avg_pool1d``."""
    return F.adaptive_avg_pool1d(_tensor("adaptive_avg_pool1d", input), output_size)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    """``torch.adaptive_max_pool1d``: always (output, indices), as ATen's."""
    return F.adaptive_max_pool1d_with_indices(_tensor("adaptive_max_pool1d", input), output_size)


def bilinear(input1, input2, weight, bias=None):
    """``torch.bilinear``: y = x₁ᵀ A x₂ + b per output feature (``F.bilinear``); all tensors of one dtype."""
    tensors = [_tensor("bilinear", t, n) for t, n in ((input1, "input1"), (input2, "input2"), (weight, "weight"))]
    if bias is not None:
        tensors.append(_tensor("bilinear", bias, "bias"))
    if len({t.dtype for t in tensors}) > 1:
        names = ", ".join(f"{n}: {t.dtype}" for n, t in zip(("input1", "input2", "weight", "bias"), tensors))
        raise FunctionalNamespaceError(f"All tensors must have the same dtype, got {names}")
    return F.bilinear(input1, input2, weight, bias)


def native_channel_shuffle(input, groups):  # noqa: A002
    """``torch.native_channel_shuffle``: ``channel_shuffle``."""
    return F.channel_shuffle(_tensor("native_channel_shuffle", input), groups)


__all__ = ["celu", "celu_", "selu_", "rrelu", "rrelu_", "hardshrink", "threshold", "threshold_", "prelu", "dropout",
           "feature_dropout", "alpha_dropout", "feature_alpha_dropout", "dropout_", "feature_dropout_",
           "alpha_dropout_", "feature_alpha_dropout_", "layer_norm", "rms_norm", "group_norm", "batch_norm",
           "instance_norm", "embedding", "embedding_renorm_", "embedding_bag", "kl_div", "margin_ranking_loss",
           "hinge_embedding_loss", "cosine_embedding_loss", "poisson_nll_loss", "triplet_margin_loss", "ctc_loss",
           "max_pool1d", "max_pool1d_with_indices", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
           "adaptive_max_pool1d", "native_channel_shuffle", "bilinear", "channel_shuffle", "cosine_similarity",
           "pairwise_distance", "pixel_shuffle", "pixel_unshuffle"]
