"""Fused losses: one op each, so the gradient they pass back is the textbook
delta, computed in one step (and visible as one row in ``rg.explain``)."""

from __future__ import annotations

from ..tensor import BinaryOp, OpError

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise OpError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


class MSELoss(BinaryOp):
    """ℓ = reduce((a − y)²);  ā = ℓ̄·2(a − y)/n (n = a.size for "mean", 1 for "sum"),  ȳ = −ā"""
    name, broadcasts = "mse_loss", True
    __slots__ = ("reduction",)

    def __init__(self, reduction="mean"):
        _check_reduction(self.name, reduction)
        self.reduction = reduction

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, a, y):
        if a.shape != y.shape:
            raise OpError(f"mse_loss: input shape {a.shape} and target shape {y.shape} differ "
                          f"(broadcasting a loss is almost always a bug)")
        d = a - y
        d *= d
        if self.reduction == "none":
            return d
        return d.sum() * (1.0 / d.size) if self.reduction == "mean" else d.sum()

    def vjp(self, ns, g, loss, a, y):
        scale = 2.0 / a.size if self.reduction == "mean" else 2.0
        delta = (a - y) * (g * scale)
        return delta, (-delta if self.needs[1] else None)
