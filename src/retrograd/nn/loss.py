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
