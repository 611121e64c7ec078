"""Fused losses: one op each, so the gradient they pass back is the textbook
delta, computed in one step (and visible as one row in ``rg.explain``)."""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.op import BinaryOp, OpError
from ..autograd.tensor import Tensor
from .shape import _data

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


def mse_loss(input, target, reduction: str = "mean"):  # noqa: A002 - torch's names
    """Mean (or summed) squared error, one op: its gradient is 2(a − y)/n."""
    return MSELoss(reduction)(input, target)


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


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean"):  # noqa: A002
    """Sigmoid + binary cross-entropy in one stable op: its gradient is σ(z) − y (÷ n)."""
    return BCEWithLogits(reduction)(input, target)


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


def binary_cross_entropy(input, target, reduction: str = "mean"):  # noqa: A002
    """Binary cross-entropy of probabilities (logs clamped at −100, like PyTorch)."""
    return BinaryCrossEntropy(reduction)(input, target)


class CrossEntropy(BinaryOp):
    """ℓ = reduce(logsumexp(z) − z[y]) over the class axis 1, from logits;
    z̄ = ℓ̄·(softmax(z) − onehot(y))/n

    ``y`` holds class indices (shape of z without axis 1) or class
    probabilities (same shape as z). Indices equal to ``ignore_index`` add
    nothing and are not counted in the mean. The forward saves softmax(z)
    (and the mask of counted entries), so the backward is one subtraction at
    the target entries; the engine frees them once the vjp ran.
    """
    name = "cross_entropy"
    __slots__ = ("reduction", "ignore_index", "count")

    def __init__(self, reduction="mean", ignore_index=-100):
        _check_reduction(self.name, reduction)
        self.reduction, self.ignore_index = reduction, ignore_index

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def _indices(self, z, y):
        """(class indices with ignored ones set to 0, mask of counted entries or None when all
        count) — or (None, None) for probability targets."""
        if y.shape == z.shape and y.dtype.kind == "f":
            return None, None
        if y.dtype.kind not in "iu":
            raise OpError(f"cross_entropy: target must hold class indices (integers) or probabilities of the "
                          f"input's shape {z.shape}; got {y.dtype}{list(y.shape)}")
        if y.shape != z.shape[:1] + z.shape[2:]:
            raise OpError(f"cross_entropy: input of shape {z.shape} needs class indices of shape "
                          f"{z.shape[:1] + z.shape[2:]}, got {y.shape}")
        c = z.shape[1]
        lo, hi = (int(y.min()), int(y.max())) if y.size else (0, 0)
        keep = None
        if lo < 0:  # ignore_index entries (anything else negative is an error)
            keep = y != self.ignore_index
            y = xp.where(keep, y, 0)
            lo = int(y.min())
        if lo < 0 or hi >= c:
            raise OpError(f"cross_entropy: class index out of range [0, {c}) (min {lo}, max {hi})")
        return y, keep

    def forward(self, z, y):
        if z.ndim < 2:
            raise OpError(f"cross_entropy: input must be (N, C, ...) logits, got shape {z.shape}")
        yi, keep = self._indices(z, y)
        shifted = z - z.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        se = e.sum(axis=1, keepdims=True)
        if yi is None:
            loss = ((xp.log(se) - shifted) * y).sum(axis=1)
            count = loss.size
        else:
            picked = xp.take_along_axis(shifted, xp.expand_dims(yi, 1), axis=1) if z.ndim > 2 else \
                shifted[xp.arange(len(yi)), yi][:, None]
            loss = (xp.log(se) - picked).squeeze(1)  # logsumexp(z) − z_y
            if keep is not None:
                loss *= keep
            count = loss.size if keep is None else int(keep.sum())
        e /= se
        # softmax(z) is reused by the backward pass; saved (not a slot) so the
        # engine frees it right after the vjp and rg.explain counts it
        self.save(probs=e, keep=keep)
        self.count = count
        if self.reduction == "none":
            return loss
        total = loss.sum()
        return total * (1.0 / max(count, 1)) if self.reduction == "mean" else total

    def vjp(self, ns, g, loss, z, y):
        yv = ns.value(y)
        if self.reduction == "none":
            scale = ns.expand_dims(g, 1)
        else:
            scale = g * (1.0 / max(self.count, 1) if self.reduction == "mean" else 1.0)
        probs, keep = self.saved["probs"], self.saved["keep"]
        probability_targets = yv.shape == probs.shape and yv.dtype.kind == "f"
        yi = None if probability_targets else (yv if keep is None else xp.where(keep, yv, 0))
        if isinstance(z, xp.ndarray):  # first order: softmax from the forward, minus 1 at the targets
            if yi is None:
                return (probs * yv.sum(axis=1, keepdims=True) - yv) * scale, None
            delta = probs.copy()
            if delta.ndim == 2:
                delta[xp.arange(len(yi)), yi] -= 1
            else:
                idx = xp.expand_dims(yi, 1)
                xp.put_along_axis(delta, idx, xp.take_along_axis(delta, idx, axis=1) - 1, axis=1)
            if keep is not None:
                delta *= xp.expand_dims(keep, 1)
            delta *= scale
            return delta, None
        # under create_graph: the same formula with differentiable ops
        if yi is None:
            t = yv
        else:
            t = xp.zeros(probs.shape, dtype=probs.dtype)
            w = xp.ones(yi.shape, dtype=t.dtype) if keep is None else keep.astype(t.dtype)
            xp.put_along_axis(t, xp.expand_dims(yi, 1), xp.expand_dims(w, 1), axis=1)
        rows = t.sum(axis=1, keepdims=True)  # 1 for counted rows, 0 for ignored ones
        return (ns.softmax(z, axis=1) * rows - t) * scale, None


def cross_entropy(input, target, reduction: str = "mean", ignore_index: int = -100):  # noqa: A002
    """Softmax cross-entropy from logits (N, C, ...) with class indices or
    probabilities; one op whose gradient is softmax(z) − onehot(y) (÷ n)."""
    return CrossEntropy(reduction, ignore_index)(input, _data(target) if isinstance(target, Tensor)
                                                    and not target.requires_grad else target)
