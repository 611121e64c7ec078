"""PyTorch's remaining losses: the multi-class and multi-label margin losses, the multi-label soft margin
loss, the triplet losses, and ``F.gumbel_softmax``, as functions (re-exported by ``nn.functional``) and
modules (``nn.MultiMarginLoss`` …). CTC lives in ``ctc.py``, the adaptive softmax in ``adaptive.py``.

Each is composed from differentiable ops, so its gradient is the ops' (no rule of its own). Where
PyTorch's kernel adds a hinge term only when it is strictly positive (``multi_margin_loss``,
``multilabel_margin_loss``: the gradient is 0 at the kink), the hinge is ``where(z > 0, z, 0)``; where
PyTorch calls ``clamp_min`` (the triplet losses: the gradient passes at the kink) it is ``_clamp_min0``."""

from __future__ import annotations

import warnings

from .. import ops as _ops
from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.op import DimError, IndexRangeError, OpError, off_tape
from ..autograd.tensor import Tensor
from ..ops import reshape
from ..ops.shape import _data as _arr
from ..ops.losses import _legacy_reduction
from .functional_losses import _clamp_min0, _reduce_loss, _t, pairwise_distance
from .loss import PairwiseDistance, _Loss


class LossInputError(OpError, RuntimeError):
    """Inputs a loss cannot take (shapes, target values or dtypes): a ``RuntimeError`` as PyTorch raises,
    and an ``OpError``."""


class LossDtypeError(OpError, NotImplementedError):
    """An integer input where the loss computes in floating point: PyTorch's ``NotImplementedError`` (its
    kernel has no integer version), and an ``OpError``."""


# ---------------------------------------------------------------- shared checks
def _reduction(op, size_average, reduce, reduction):
    """PyTorch's legacy ``size_average``/``reduce`` (with its warning), then the reduction checked (its
    ValueError)."""
    reduction = _legacy_reduction(size_average, reduce, reduction, stacklevel=4)
    if not (isinstance(reduction, str) and reduction in ("none", "mean", "sum")):
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction; use 'none', 'mean' or 'sum'")
    return reduction


def _float_only(op, x):
    d = _arr(x)
    if d.dtype.kind != "f":
        raise LossDtypeError(f"{op}: input must be floating-point, got {d.dtype}{list(d.shape)} (PyTorch has no "
                             f"{d.dtype} kernel); convert it with .to(rg.float32) or .to(rg.float64)")


def _frames(op, x):
    """(number of samples, number of classes) of a margin loss's input: (C,), (N, C) with C > 0, or a 0-d
    input (one sample of one class), as PyTorch's shape check."""
    shape = tuple(x.shape)
    if not (len(shape) == 0 or (len(shape) in (1, 2) and shape[-1] != 0)):
        raise LossInputError(f"{op}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                             f"{list(shape)}; give (C,) or (N, C) scores with C > 0")
    return (1, shape[0] if shape else 1) if len(shape) < 2 else shape


def _class_indices(op, target):
    """The target as an int64 array (PyTorch accepts int64 only)."""
    y = _arr(target)
    if y.dtype != xp.int64:
        raise LossInputError(f"{op}: expected scalar type Long but found {y.dtype} in the target "
                             f"{y.dtype}{list(y.shape)}; convert it with .long()")
    return y


def _margin_mean(loss, reduction):
    """'mean' of the margin losses: Σℓ/N, and 0 for an empty batch (PyTorch's kernels divide a zero sum by
    max(N, 1), unlike the mean of an empty tensor)."""
    if reduction == "mean" and loss.size == 0:
        return _ops.sum(loss)
    return _reduce_loss(loss, reduction)


# ---------------------------------------------------------------- multi-class margin
def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,  # noqa: A002
                      size_average=None, reduce=None, reduction: str = "mean"):
    """PyTorch's ``F.multi_margin_loss``, the multi-class hinge loss of scores x (N, C) (or (C,)) and class
    indices y (N,):

    ℓₙ = Σ_{i ≠ yₙ} w_{yₙ}·max(0, margin − x_{n,yₙ} + x_{n,i})ᵖ / C,  p ∈ {1, 2}.

    A hinge term counts only where it is strictly positive (PyTorch's kernel: the gradient is 0 at the
    kink). ``weight`` (C,) is a constant (PyTorch refuses one that requires a gradient) of the input's
    dtype. 'none' has the target's shape; 'mean' of an empty batch is 0, as in PyTorch."""
    reduction = _reduction("multi_margin_loss", size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got p={p!r}")
    if weight is not None and _arr(weight).ndim != 1:
        raise ValueError(f"multi_margin_loss: weight must be one-dimensional, got shape {tuple(_arr(weight).shape)}")
    x = _t(input)
    _float_only("multi_margin_loss", x)
    frames, dim = _frames("multi_margin_loss", x)
    y = _class_indices("multi_margin_loss", target)
    if y.ndim > 1 or y.size != frames:
        raise LossInputError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                             f"samples (batch size). Expected target size [{frames}], but got {list(y.shape)}. "
                             f"Input has shape {list(x.shape)}.")
    w = None
    if weight is not None:
        if isinstance(weight, Tensor) and weight.requires_grad:
            raise LossInputError("The function 'multi_margin_loss' is not differentiable with respect to argument "
                                 "'weight'. This input cannot have requires_grad True. (pass weight.detach())")
        w = _arr(weight)
        if w.size != dim:
            raise LossInputError(f"multi_margin_loss: inconsistent weight size, expected {dim} but got "
                                 f"{list(w.shape)}: one weight per class")
        if w.dtype != x.dtype:
            raise LossInputError(f"multi_margin_loss: expected scalar type {x.dtype} but found {w.dtype} in the "
                                 f"weight: give it the input's dtype")
    if y.size and (y.min() < 0 or y.max() >= dim):
        raise LossInputError(f"multi_margin_loss: target out of range: class indices must be in [0, {dim}), got "
                             f"values from {int(y.min())} to {int(y.max())}")
    yi = y.reshape(frames)
    scores = reshape(x, (frames, dim))
    z = (margin - _ops.gather(scores, 1, yi[:, None])) + scores  # PyTorch's order: margin − x_y + x_i
    others = xp.arange(dim)[None, :] != yi[:, None]
    h = _ops.where(others & (_arr(z) > 0), z, 0.0)
    if p == 2:
        h = h * h
    if w is not None:
        h = h * w[yi][:, None]
    loss = reshape(_ops.sum(h, axis=1) / dim, tuple(y.shape))
    return _margin_mean(loss, reduction)


# ---------------------------------------------------------------- multi-label margin
def multilabel_margin_loss(input, target, size_average=None, reduce=None,  # noqa: A002
                           reduction: str = "mean"):
    """PyTorch's ``F.multilabel_margin_loss``: each sample's target lists its classes, ended by the first
    −1 (the rest ignored), as int64 of the input's shape; with J the listed classes,

    ℓₙ = Σ_{j ∈ J} Σ_{i ∉ J} max(0, 1 − x_{n,j} + x_{n,i}) / C

    (a class listed twice counts twice, as in PyTorch's kernel). Terms count only where strictly positive
    (the gradient is 0 at the kink). 'none' gives (N,) for a 2-D input, () for a 1-D or 0-d one."""
    reduction = _reduction("multilabel_margin_loss", size_average, reduce, reduction)
    x = _t(input)
    _float_only("multilabel_margin_loss", x)
    frames, dim = _frames("multilabel_margin_loss", x)
    y = _class_indices("multilabel_margin_loss", target)
    fits = y.ndim <= 1 and y.size == dim if x.ndim < 2 else tuple(y.shape) == (frames, dim)
    if not fits:
        raise LossInputError(f"multilabel_margin_loss: inconsistent target size: {list(y.shape)} for input of size: "
                             f"{list(x.shape)}; the target has the input's shape")
    if y.size and (y.min() < -1 or y.max() >= dim):
        raise LossInputError(f"multilabel_margin_loss: argument #2 'target' is out of range: class indices must be "
                             f"in [0, {dim}) or -1 (the end of a sample's list), got values from {int(y.min())} to "
                             f"{int(y.max())}")
    y2 = y.reshape(frames, dim)
    ended = xp.cumsum(y2 < 0, axis=1) > 0
    listed = ~ended  # the entries before the first −1
    is_target = xp.zeros((frames, dim), dtype=bool)
    rows = xp.broadcast_to(xp.arange(frames)[:, None], (frames, dim))
    is_target[rows[listed], y2[listed]] = True
    count = int(listed.sum(axis=1).max()) if frames else 0
    scores = reshape(x, (frames, dim))
    targets = xp.where(listed, y2, 0)[:, :count]
    z = (1.0 - _ops.gather(scores, 1, targets)[:, :, None]) + reshape(scores, (frames, 1, dim))
    counted = listed[:, :count, None] & ~is_target[:, None, :] & (_arr(z) > 0)
    loss = _ops.sum(_ops.where(counted, z, 0.0), axis=(1, 2)) / dim
    if x.ndim < 2:
        loss = reshape(loss, ())
    return _margin_mean(loss, reduction)


# ---------------------------------------------------------------- multi-label soft margin
def _broadcast_or_refuse(op, *named):
    try:
        return tuple(xp.broadcast_shapes(*(tuple(s) for _, s in named)))
    except ValueError:
        desc = ", ".join(f"{n} {list(s)}" for n, s in named)
        raise LossInputError(f"{op}: the shapes of {desc} do not broadcast (PyTorch: The size of tensor a must "
                             f"match the size of tensor b)") from None


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                reduction: str = "mean"):
    """PyTorch's ``F.multilabel_soft_margin_loss``: a logistic loss per class, averaged over the classes (the
    last axis),

    ℓₙ = −Σ_c w_c·(y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c)) / C,

    PyTorch's formula term for term: the target and ``weight`` broadcast with the input, and both are
    differentiable (as in PyTorch); 'none' gives the input's shape without its last axis."""
    reduction = _reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    x, y = _t(input, target)
    _float_only("multilabel_soft_margin_loss", x)
    shapes = [("input", x.shape), ("target", y.shape)] + ([] if weight is None else [("weight", _arr(weight).shape)])
    _broadcast_or_refuse("multilabel_soft_margin_loss", *shapes)
    if x.ndim == 0:
        raise DimError("multilabel_soft_margin_loss: Dimension specified as -1 but tensor has no dimensions: the "
                       "input needs a class axis (its last)")
    loss = -(y * _ops.logsigmoid(x) + (1 - y) * _ops.logsigmoid(-x))
    if weight is not None:
        loss = loss * _t(weight)
    classes = x.shape[-1]
    loss = _ops.sum(loss, axis=x.ndim - 1)
    loss = loss / classes if classes else loss * float("nan")  # no classes: PyTorch's 0/0
    return _reduce_loss(loss, reduction)


# ---------------------------------------------------------------- triplets
def _minimum_split(a, b):
    """min(a, b) with ``torch.minimum``'s gradient whatever ``rg.conventions`` says: all to the smaller, half
    to each at a tie (and NaN where either is NaN)."""
    ad, bd = _arr(a), _arr(b)
    return _ops.where(ad < bd, a, _ops.where(bd < ad, b, a * 0.5 + b * 0.5))


def _triplet(op, anchor, positive, negative, distance, margin, swap, reduction):
    a, p, n = _t(anchor, positive, negative)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if not a.ndim == p.ndim == n.ndim:
        raise LossInputError(f"{op}: The anchor, positive, and negative tensors are expected to have the same number "
                             f"of dimensions, but got: anchor {a.ndim}D, positive {p.ndim}D, and negative "
                             f"{n.ndim}D inputs")
    d_pos, d_neg = distance(a, p), distance(a, n)
    if swap:  # Balntas et al. 2016: the positive as the anchor when it is closer to the negative
        d_neg = _minimum_split(d_neg, distance(p, n))
    return _reduce_loss(_clamp_min0(margin + d_pos - d_neg), reduction)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
    """PyTorch's ``F.triplet_margin_loss``: with d the ``pairwise_distance`` (‖x − y + ε‖_p over the last axis),

    ℓ = max(0, margin + d(a, p) − d(a, n)),  and with ``swap`` d(a, n) replaced by min(d(a, n), d(p, n)).

    The three inputs have the same number of dims and broadcast; margin > 0. At the hinge the gradient
    passes (PyTorch's clamp_min); at a tie of the swap's min it is halved (torch.minimum's)."""
    reduction = _reduction("triplet_margin_loss", size_average, reduce, reduction)

    def distance(x1, x2):
        return pairwise_distance(x1, x2, p, eps)
    return _triplet("triplet_margin_loss", anchor, positive, negative, distance, margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean"):
    """PyTorch's ``F.triplet_margin_with_distance_loss``: ``triplet_margin_loss`` with any distance,
    ``distance_function(x1, x2)`` (a differentiable function of two tensors; default ``pairwise_distance``),
    ℓ = max(0, margin + d(a, p) − d(a, n))."""
    reduction = _reduction("triplet_margin_with_distance_loss", None, None, reduction)
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet("triplet_margin_with_distance_loss", anchor, positive, negative, distance, margin, swap,
                    reduction)


# ---------------------------------------------------------------- Gumbel-softmax
@off_tape
def _gumbel_noise(x):
    """Gumbel(0, 1) noise −log E, E ~ Exp(1) from ``rg.random``'s generator, in x's dtype: a constant of the
    tape, drawn anew by a replay."""
    e = rg_random.generator().standard_exponential(tuple(x.shape))
    with xp.errstate(divide="ignore"):
        return Tensor(xp.asarray(-xp.log(e)).astype(x.dtype))


@off_tape
def _straight_through(y_soft, dim):
    """one_hot(argmax y) − y as a constant: added to y it gives the one-hot values with y's gradient."""
    s = y_soft.data
    if s.ndim == 0:
        return Tensor(xp.ones_like(s) - s)
    if s.shape[dim] == 0:
        raise IndexRangeError(f"gumbel_softmax: max(): Expected reduction dim {dim % s.ndim} to have non-zero size "
                              f"(the logits have shape {tuple(s.shape)})")
    hard = xp.zeros_like(s)
    xp.put_along_axis(hard, xp.expand_dims(xp.argmax(s, axis=dim), dim), 1.0, axis=dim)
    return Tensor(hard - s)


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1):
    """PyTorch's ``F.gumbel_softmax``: a differentiable sample from the categorical distribution
    softmax(logits) (Jang et al., Maddison et al., 2016):

    y = softmax((logits + g) / τ) along ``dim``,  g = −log E, E ~ Exp(1) (Gumbel noise from ``rg.random``).

    argmax y is distributed as Categorical(softmax(logits)); τ → 0 makes y one-hot. ``hard=True`` returns
    the one-hot of argmax y with y's gradient (straight-through: one_hot − y.detach() + y). ``eps`` is
    deprecated and ignored, as in PyTorch."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    x = _t(logits)
    if _arr(x).dtype.kind != "f":
        raise LossInputError(f"gumbel_softmax: Exponential distribution is a continuous probability distribution. "
                             f"dtype must be a floating point but you specified {_arr(x).dtype} (logits "
                             f"{list(x.shape)})")
    with xp.errstate(divide="ignore", invalid="ignore"):  # τ = 0: PyTorch's NaN
        y_soft = _ops.softmax((x + _gumbel_noise(x)) / tau, axis=dim)
    if not hard:
        return y_soft
    return _straight_through(y_soft, dim) + y_soft


# ---------------------------------------------------------------- modules
class MultiMarginLoss(_Loss):
    """The multi-class hinge loss Σ_{i ≠ y} w_y·max(0, margin − x_y + x_i)ᵖ / C (``F.multi_margin_loss``);
    ``weight`` is a buffer."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got p={p!r}")
        if weight is not None and _arr(weight).ndim != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got {_arr(weight).ndim}D "
                             f"instead")
        self._weight("weight", weight)
        self.p, self.margin = p, margin

    def forward(self, input, target):  # noqa: A002
        return multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                 reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Σ_{j listed} Σ_{i not listed} max(0, 1 − x_j + x_i) / C, the target listing classes up to a −1
    (``F.multilabel_margin_loss``)."""

    def forward(self, input, target):  # noqa: A002
        return multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """−Σ_c w_c(y_c log σ(x_c) + (1 − y_c) log σ(−x_c)) / C (``F.multilabel_soft_margin_loss``); ``weight``
    is a buffer."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self._weight("weight", weight)

    def forward(self, input, target):  # noqa: A002
        return multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, margin + d(a, p) − d(a, n)), d the p-norm distance (``F.triplet_margin_loss``)."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                   swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """max(0, margin + d(a, p) − d(a, n)) with any distance function (``F.triplet_margin_with_distance_loss``);
    the default is an ``nn.PairwiseDistance()`` submodule, as in PyTorch."""

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                             f"instead")
        self.distance_function = PairwiseDistance() if distance_function is None else distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                 margin=self.margin, swap=self.swap, reduction=self.reduction)


__all__ = ["multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss", "gumbel_softmax", "MultiMarginLoss", "MultiLabelMarginLoss",
           "MultiLabelSoftMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss"]
