"""Losses as modules (``nn.CrossEntropyLoss`` …), wrapping the fused loss functions."""

from __future__ import annotations

from .. import ops
from .module import Module


# ------------------------------------------------------------ losses
class _Loss(Module):
    fn = None

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):  # noqa: A002
        return type(self).fn(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (fused: the gradient is 2(a − y)/n)."""

    fn = staticmethod(ops.mse_loss)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities."""

    fn = staticmethod(ops.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable op (gradient σ(z) − y)."""

    fn = staticmethod(ops.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (gradient softmax(z) − onehot(y))."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return ops.cross_entropy(input, target, self.reduction, self.ignore_index)


class NLLLoss(CrossEntropyLoss):
    """Negative log-likelihood of log-probabilities."""

    def forward(self, input, target):  # noqa: A002
        return ops.nll_loss(input, target, self.reduction, self.ignore_index)
