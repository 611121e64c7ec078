"""Losses as modules (``nn.CrossEntropyLoss`` …), wrapping the fused loss functions."""

from __future__ import annotations

from .. import ops
from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from ..ops.losses import _legacy_reduction  # PyTorch's size_average/reduce, shared with the functions
from .module import Module


# ------------------------------------------------------------ losses
class _Loss(Module):
    """A loss function as a module, with PyTorch's constructor arguments."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction)

    def _weight(self, name, value):
        """A class/element weight is a buffer (in the state dict, moved by ``.double()``), as in PyTorch."""
        if value is None:
            setattr(self, name, None)
        else:
            self.register_buffer(name, value.data if isinstance(value, Tensor) else xp.asarray(value))

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """Mean squared error (fused: the gradient is 2(a − y)/n)."""

    def forward(self, input, target):  # noqa: A002
        return ops.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, optionally weighted per element."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self._weight("weight", weight)

    def forward(self, input, target):  # noqa: A002
        return ops.binary_cross_entropy(input, target, reduction=self.reduction, weight=self.weight)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable op (gradient σ(z) − y), with
    PyTorch's ``weight`` and ``pos_weight``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self._weight("weight", weight)
        self._weight("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return ops.binary_cross_entropy_with_logits(input, target, reduction=self.reduction, weight=self.weight,
                                                    pos_weight=self.pos_weight)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (gradient softmax(z) − onehot(y)), with
    PyTorch's ``weight``, ``ignore_index`` and ``label_smoothing``; ``class_axis``
    (keyword, retrograd's) names the class axis, e.g. -1 for (B, T, V) sequence
    logits (see ``rg.cross_entropy``)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0, *, class_axis: int | None = None):
        super().__init__(size_average, reduce, reduction)
        self._weight("weight", weight)
        self.ignore_index, self.label_smoothing, self.class_axis = ignore_index, label_smoothing, class_axis

    def forward(self, input, target):  # noqa: A002
        return ops.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                                 label_smoothing=self.label_smoothing, class_axis=self.class_axis)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities, with PyTorch's ``weight`` and ``ignore_index``."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self._weight("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return ops.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


# ------------------------------------------------------------ losses composed from differentiable ops
# (rg.nn.functional's compositions: no derivative rules of their own)
from . import functional as _F  # noqa: E402 - after the fused losses above


class L1Loss(_Loss):
    """Mean (or summed) absolute error abs(x − y) (``F.l1_loss``; slope sign(x − y), 0 at a tie)."""

    def forward(self, input, target):  # noqa: A002
        return _F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """½d²/β for abs(d) < β, else abs(d) − ½β, with d = x − y (``F.smooth_l1_loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return _F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """½d² for abs(d) < δ, else δ(abs(d) − ½δ), with d = x − y (``F.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return _F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """Pointwise KL divergence y·(log y − x) of the target from log-probabilities x (``F.kl_div``);
    ``reduction='batchmean'`` gives the per-sample KL divergence."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return _F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class SoftMarginLoss(_Loss):
    """log(1 + e^{−y·x}) for labels y = ±1 (``F.soft_margin_loss``)."""

    def forward(self, input, target):  # noqa: A002
        return _F.soft_margin_loss(input, target, reduction=self.reduction)


class _MarginLoss(_Loss):
    default_margin = 0.0

    def __init__(self, margin: float | None = None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = self.default_margin if margin is None else margin


class MarginRankingLoss(_MarginLoss):
    """max(0, −y·(x1 − x2) + margin) (``F.margin_ranking_loss``)."""

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input1, input2, target):
        return _F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_MarginLoss):
    """x for y = 1, max(0, margin − x) for y = −1 (``F.hinge_embedding_loss``)."""

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input, target):  # noqa: A002
        return _F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_MarginLoss):
    """1 − cos(x1, x2) for y = 1, max(0, cos(x1, x2) − margin) for y = −1 (``F.cosine_embedding_loss``)."""

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input1, input2, target):
        return _F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """½(log max(var, ε) + (x − y)²/max(var, ε)) (+ ½log 2π if ``full``) (``F.gaussian_nll_loss``)."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):  # noqa: A002
        return _F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """e^x − y·x (``log_input``) or x − y·log(x + ε), plus Stirling's term if ``full``
    (``F.poisson_nll_loss``)."""

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None, eps: float = 1e-8,
                 reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return _F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


# ------------------------------------------------------------ similarity and distance (not losses)
class CosineSimilarity(Module):
    """Cosine similarity of x1 and x2 along ``dim`` (``F.cosine_similarity``)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return _F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """‖x1 − x2 + ε‖_p over the last axis (``F.pairwise_distance``)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return _F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
