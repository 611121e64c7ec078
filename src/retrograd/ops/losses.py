"""Fused losses: one op each, so the gradient they pass back is the textbook
delta, computed in one step (and visible as one row in ``rg.explain``)."""

from __future__ import annotations

from ..backend import xp
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
        return _reduce(d, self.reduction)

    def vjp(self, ns, g, loss, a, y):
        delta = (a - y) * (g * (2.0 * _scale(self.reduction, a.size)))
        return delta, (-delta if self.needs[1] else None)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() * (1.0 / loss.size) if reduction == "mean" else loss.sum()


def _scale(reduction, size):
    return 1.0 / size if reduction == "mean" else 1.0


class BCEWithLogits(BinaryOp):
    """ℓ = reduce(max(z, 0) − z·y + log(1 + e^−|z|))  (stable for any z);
    z̄ = ℓ̄·(σ(z) − y)/n,  ȳ = −ℓ̄·z/n

    The fused form: the delta a − y that seed page 002 asks about, with a = σ(z).
    """
    name, broadcasts = "binary_cross_entropy_with_logits", True
    __slots__ = ("reduction",)

    def __init__(self, reduction="mean"):
        _check_reduction(self.name, reduction)
        self.reduction = reduction

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, z, y):
        if z.shape != y.shape:
            raise OpError(f"binary_cross_entropy_with_logits: logits shape {z.shape} and target shape "
                          f"{y.shape} differ")
        loss = xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        return _reduce(loss, self.reduction)

    def vjp(self, ns, g, loss, z, y):
        s = g * _scale(self.reduction, z.size)
        gz = (ns.sigmoid(z) - y) * s
        gy = -z * s if self.needs[1] else None
        return gz, gy


class BinaryCrossEntropy(BinaryOp):
    """ℓ = −reduce(y·log p + (1 − y)·log(1 − p)), logs clamped at −100 (PyTorch);
    p̄ = ℓ̄·(p − y) / (p(1 − p)) / n"""
    name, broadcasts = "binary_cross_entropy", True
    __slots__ = ("reduction",)

    def __init__(self, reduction="mean"):
        _check_reduction(self.name, reduction)
        self.reduction = reduction

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, p, y):
        if p.shape != y.shape:
            raise OpError(f"binary_cross_entropy: input shape {p.shape} and target shape {y.shape} differ")
        if p.size and (p.min() < 0 or p.max() > 1):
            raise OpError("binary_cross_entropy: input must be probabilities in [0, 1] "
                          "(use binary_cross_entropy_with_logits for logits)")
        with xp.errstate(divide="ignore"):
            loss = -(y * xp.maximum(xp.log(p), -100) + (1 - y) * xp.maximum(xp.log1p(-p), -100))
        return _reduce(loss, self.reduction)

    def vjp(self, ns, g, loss, p, y):
        s = g * _scale(self.reduction, p.size)
        eps = 1e-12  # PyTorch clamps the denominator the same way
        gp = (p - y) / ns.maximum(p * (1 - p), eps) * s
        gy = None
        if self.needs[1]:
            pv = ns.value(p)
            with xp.errstate(divide="ignore"):
                gy = -(xp.maximum(xp.log(pv), -100) - xp.maximum(xp.log1p(-pv), -100)) * s
        return gp, gy


class CrossEntropy(BinaryOp):
    """ℓ = reduce(logsumexp(z) − z[y]) over the class axis 1, from logits;
    z̄ = ℓ̄·(softmax(z) − onehot(y))/n

    ``y`` holds class indices (shape of z without axis 1) or class
    probabilities (same shape as z). Indices equal to ``ignore_index`` add
    nothing and are not counted in the mean.
    """
    name = "cross_entropy"
    __slots__ = ("reduction", "ignore_index", "count")

    def __init__(self, reduction="mean", ignore_index=-100):
        _check_reduction(self.name, reduction)
        self.reduction, self.ignore_index = reduction, ignore_index

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def _target(self, z, y):
        """One-hot (or probability) targets with the class axis at 1, and the mask of counted rows."""
        if y.shape == z.shape and y.dtype.kind == "f":
            return y, None
        if y.dtype.kind not in "iu":
            raise OpError(f"cross_entropy: target must hold class indices (integers) or probabilities of the "
                          f"input's shape {z.shape}; got {y.dtype}{list(y.shape)}")
        if y.shape != z.shape[:1] + z.shape[2:]:
            raise OpError(f"cross_entropy: input of shape {z.shape} needs class indices of shape "
                          f"{z.shape[:1] + z.shape[2:]}, got {y.shape}")
        keep = y != self.ignore_index
        c = z.shape[1]
        yi = xp.where(keep, y, 0)
        if yi.size and (yi.min() < 0 or yi.max() >= c):
            raise OpError(f"cross_entropy: class index out of range [0, {c}) (min {yi.min()}, max {yi.max()})")
        onehot = xp.zeros(z.shape, dtype=z.dtype)
        xp.put_along_axis(onehot, xp.expand_dims(yi, 1), xp.expand_dims(keep, 1).astype(z.dtype), axis=1)
        return onehot, keep

    def forward(self, z, y):
        if z.ndim < 2:
            raise OpError(f"cross_entropy: input must be (N, C, ...) logits, got shape {z.shape}")
        t, keep = self._target(z, y)
        m = z.max(axis=1, keepdims=True)
        lse = xp.log(xp.exp(z - m).sum(axis=1, keepdims=True)) + m
        loss = ((lse - z) * t).sum(axis=1)
        self.count = loss.size if keep is None else int(keep.sum())
        if self.reduction == "none":
            return loss
        total = loss.sum()
        return total / max(self.count, 1) if self.reduction == "mean" else total

    def vjp(self, ns, g, loss, z, y):
        t, keep = self._target(ns.value(z), ns.value(y))
        if self.reduction == "none":
            gz = ns.expand_dims(g, 1) * (ns.softmax(z, axis=1) * t.sum(axis=1, keepdims=True) - t)
        else:
            s = g * (1.0 / max(self.count, 1) if self.reduction == "mean" else 1.0)
            rows = t.sum(axis=1, keepdims=True)  # 1 for counted rows, 0 for ignored ones
            gz = (ns.softmax(z, axis=1) * rows - t) * s
        return gz, None
