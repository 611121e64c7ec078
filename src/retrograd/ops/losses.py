"""Fused losses: one op each, so the gradient they pass back is the textbook
delta, computed in one step (and visible as one row in ``rg.explain``).

Every loss follows PyTorch's definition, options included (``weight``,
``pos_weight``, ``label_smoothing``, ``ignore_index``), and refuses what PyTorch
refuses with an ``OpError`` naming the op, the shapes/dtypes and the fix. The
class weights are constants: like PyTorch, no loss differentiates with respect
to them, and a weight that requires a gradient is refused.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import BinaryOp, OpError
from ..autograd.tensor import Tensor
from .elementwise import softplus
from .reductions import log_softmax

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction):
    if isinstance(reduction, str) and reduction in _REDUCTIONS:
        return
    hint = ""
    if not isinstance(reduction, str):  # torch's third positional argument is ``weight``
        hint = "; the third positional argument is the reduction here: pass class weights as weight=..."
    raise OpError(f"{op}: reduction must be one of {_REDUCTIONS}, got {_short(reduction)}{hint}")


def _short(value) -> str:
    if isinstance(value, Tensor) or hasattr(value, "shape"):
        d = value.data if isinstance(value, Tensor) else value
        return f"an array {d.dtype}{list(d.shape)}"
    return repr(value)


def _floating(op, what, a):
    if a.dtype.kind != "f":
        raise OpError(f"{op}: {what} must be floating-point, got {a.dtype}{list(a.shape)}")


def _constant_weight(op, name, value, input_dtype, cast=False):
    """A weight argument as an array: a Tensor that does not require a gradient
    (PyTorch does not differentiate with respect to loss weights), an array, or
    a Python sequence (taken in the input's dtype). Floating-point only.
    ``cast``: convert it to the input's floating dtype (the binary losses
    compute in the input's dtype whatever the weight's, as PyTorch does)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise OpError(f"{op}: {name} requires a gradient, but the loss is not differentiable with respect "
                          f"to {name} (PyTorch refuses it too); pass {name}.detach()")
        arr = value.data
    elif isinstance(value, (list, tuple, int, float)):
        arr = xp.asarray(value, dtype=input_dtype)
    else:
        arr = xp.asarray(value)
    if arr.dtype.kind != "f":
        raise OpError(f"{op}: {name} must be floating-point, got {arr.dtype}{list(arr.shape)}")
    if cast and input_dtype.kind == "f" and arr.dtype != input_dtype:
        arr = arr.astype(input_dtype)
    return arr


def _broadcast_weight(op, name, w, shape):
    """Check that ``w`` broadcasts to ``shape`` without growing it (PyTorch:
    "output with shape ... doesn't match the broadcast shape")."""
    try:
        full = xp.broadcast_shapes(tuple(w.shape), tuple(shape))
    except ValueError:
        full = None
    if full != tuple(shape):
        raise OpError(f"{op}: {name} of shape {tuple(w.shape)} does not broadcast to the input's shape "
                      f"{tuple(shape)}")


def _reduce(loss, reduction):
    """'none': the elementwise losses; 'sum'; 'mean' (NaN for an empty input, as PyTorch gives)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.size == 0:
        return xp.asarray(xp.nan, dtype=loss.dtype)
    return loss.sum() / loss.size


def _scale(reduction, size):
    """d reduce / d loss_i (an empty input has no entries to scale)."""
    return 1.0 / size if reduction == "mean" and size else 1.0


# ---------------------------------------------------------------- mean squared error
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


# ---------------------------------------------------------------- binary cross-entropy
def _check_binary(op, what, x, y):
    _floating(op, what, x)
    if y.shape != x.shape:
        raise OpError(f"{op}: {what} shape {x.shape} and target shape {y.shape} differ (PyTorch: target size "
                      f"must be the same as input size)")
    if y.dtype != x.dtype:
        raise OpError(f"{op}: target dtype {y.dtype} differs from the {what}'s {x.dtype} (PyTorch refuses it "
                      f"too); cast the target with .astype({x.dtype})")


class BCEWithLogits(BinaryOp):
    """ℓ = reduce(w·[(1 − y)·z + (1 + (q − 1)·y)·softplus(−z)])  (q = pos_weight, stable for any z);
    z̄ = ℓ̄·w·(σ(z)·(1 + (q − 1)·y) − q·y)/n,  ȳ = −ℓ̄·w·(z + (q − 1)·log σ(z))/n

    Without weights: the fused delta σ(z) − y that seed page 002 asks about,
    with a = σ(z). ``weight`` rescales each element, ``pos_weight`` the
    positive term; both broadcast to the input (PyTorch's definition, and its
    "mean" divides by the number of elements, not by the weights).
    """
    name, broadcasts = "binary_cross_entropy_with_logits", True
    __slots__ = ("reduction",)

    def __init__(self, reduction="mean", weight=None, pos_weight=None):
        _check_reduction(self.name, reduction)
        self.reduction = reduction
        self.save(weight=weight, pos_weight=pos_weight)  # constants the vjp needs; freed with the inputs

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, z, y):
        _check_binary(self.name, "logits", z, y)
        w, q = self.saved["weight"], self.saved["pos_weight"]
        for name, arr in (("weight", w), ("pos_weight", q)):
            if arr is not None:
                _broadcast_weight(self.name, name, arr, z.shape)
        if q is None:
            loss = xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        else:
            softplus_neg = xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(-z, 0)  # −log σ(z)
            loss = (1 - y) * z + (1 + (q - 1) * y) * softplus_neg
        if w is not None:
            loss = loss * w
        return _reduce(loss, self.reduction)

    def vjp(self, ns, g, loss, z, y):
        w, q = self.saved["weight"], self.saved["pos_weight"]
        s = g * _scale(self.reduction, z.size)
        if w is not None:
            s = s * w
        if q is None:
            gz = (ns.sigmoid(z) - y) * s
        else:
            gz = (ns.sigmoid(z) * (y * (q - 1) + 1) - y * q) * s  # tensors first: arrays on the right
        gy = None
        if self.needs[1]:
            if q is None:
                gy = -z * s
            elif isinstance(z, xp.ndarray):
                gy = -(z - (q - 1) * (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(-z, 0))) * s
            else:  # under create_graph: softplus(−z) = −log σ(z) as a differentiable op
                gy = -(z - softplus(-z) * (q - 1)) * s
        return gz, gy


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean", *,  # noqa: A002
                                     weight=None, pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable op: its gradient is σ(z) − y (÷ n).

    ``weight`` (broadcast to the input) rescales each element's loss;
    ``pos_weight`` (broadcast to the input, typically one value per class on
    the last axis) multiplies the positive term: ℓ = −w·[q·y·log σ(z) + (1 − y)·log(1 − σ(z))].
    Gradients flow to the input and the target, as in PyTorch.
    """
    dtype = _array(input).dtype
    weight = _constant_weight(BCEWithLogits.name, "weight", weight, dtype, cast=True)
    pos_weight = _constant_weight(BCEWithLogits.name, "pos_weight", pos_weight, dtype, cast=True)
    return BCEWithLogits(reduction, weight, pos_weight)(input, _target(target))


class BinaryCrossEntropy(BinaryOp):
    """ℓ = −reduce(w·[y·log p + (1 − y)·log(1 − p)]), logs clamped at −100 (PyTorch);
    p̄ = ℓ̄·w·(p − y) / max(p(1 − p), 1e-12) / n,  ȳ = ℓ̄·w·(log(1 − p) − log p)/n (PyTorch's −logit p)"""
    name, broadcasts = "binary_cross_entropy", True
    __slots__ = ("reduction",)

    def __init__(self, reduction="mean", weight=None):
        _check_reduction(self.name, reduction)
        self.reduction = reduction
        self.save(weight=weight)

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, p, y):
        _check_binary(self.name, "input", p, y)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise OpError("binary_cross_entropy: input must be probabilities in [0, 1] "
                          "(use binary_cross_entropy_with_logits for logits)")
        w = self.saved["weight"]
        if w is not None:
            _broadcast_weight(self.name, "weight", w, p.shape)
        with xp.errstate(divide="ignore"):
            loss = -(y * xp.maximum(xp.log(p), -100) + (1 - y) * xp.maximum(xp.log1p(-p), -100))
        if w is not None:
            loss = loss * w
        return _reduce(loss, self.reduction)

    def vjp(self, ns, g, loss, p, y):
        w = self.saved["weight"]
        s = g * _scale(self.reduction, p.size)
        if w is not None:
            s = s * w
        eps = 1e-12  # PyTorch clamps the denominator the same way
        gp = (p - y) / ns.maximum(p * (1 - p), eps) * s
        gy = None
        if self.needs[1]:
            if isinstance(p, xp.ndarray):
                with xp.errstate(divide="ignore"):
                    gy = (xp.log1p(-p) - xp.log(p)) * s
            else:  # under create_graph: from p's graph, so ∂²ℓ/∂p∂y is there
                gy = (ns.log(1 - p) - ns.log(p)) * s
        return gp, gy


def binary_cross_entropy(input, target, reduction: str = "mean", *, weight=None):  # noqa: A002
    """Binary cross-entropy of probabilities (logs clamped at −100, like
    PyTorch); ``weight`` (broadcast to the input) rescales each element."""
    weight = _constant_weight(BinaryCrossEntropy.name, "weight", weight, _array(input).dtype, cast=True)
    return BinaryCrossEntropy(reduction, weight)(input, _target(target))


def _array(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _target(target):
    """A target that needs no gradient travels as a plain array (the op records
    no edge to it); one that requires a gradient stays a Tensor."""
    if isinstance(target, Tensor):
        return target if target.requires_grad else target.data
    return xp.asarray(target)



# ---------------------------------------------------------------- softmax cross-entropy
_PROBABILITY_SUM_TOLERANCE = 1e-3
_warned_probability_input = False  # the softmax-output warning is shown once per process


def _warn_if_probabilities(z):
    """Warn (once per process) when the logits given to ``cross_entropy`` look
    like probabilities already: every entry in [0, 1] and every row summing to
    1. That is a softmax output (Keras' ``from_logits=False``), and
    cross_entropy would apply a second softmax to it."""
    global _warned_probability_input
    if _warned_probability_input or z.ndim == 0 or z.size == 0 or z.dtype.kind != "f":
        return
    axis = 0 if z.ndim == 1 else 1
    # a single class has cross-entropy 0 whatever the input: nothing to get wrong
    if z.shape[axis] < 2 or not (float(z.min()) >= 0 and float(z.max()) <= 1):  # NaN: no warning
        return
    if not float(xp.abs(z.sum(axis=axis) - 1).max()) <= _PROBABILITY_SUM_TOLERANCE:
        return
    _warned_probability_input = True
    warnings.warn("cross_entropy: the input looks like probabilities (every entry in [0, 1], each row summing "
                  "to 1), but cross_entropy takes logits and applies log_softmax itself, so this is not the "
                  "cross-entropy of these probabilities. For probabilities p (a softmax output, Keras' "
                  "from_logits=False) use rg.nll_loss(rg.log(p), target); for logits, ignore this warning "
                  "(shown once).", UserWarning, stacklevel=3)


def _along_classes(w, ndim):
    """Class weights (C,) shaped to broadcast along axis 1 of an (N, C, d1, ...) array."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


def _subtract_at_targets(delta, yi, amount):
    """delta[i, y_i, ...] −= amount (a scalar or an array shaped like yi), in place."""
    if delta.ndim == 2:
        delta[xp.arange(len(yi)), yi] -= amount
        return
    idx = xp.expand_dims(yi, 1)
    xp.put_along_axis(delta, idx, xp.take_along_axis(delta, idx, axis=1) - xp.expand_dims(
        xp.asarray(amount, dtype=delta.dtype) * xp.ones(yi.shape, dtype=delta.dtype), 1), axis=1)


class CrossEntropy(BinaryOp):
    """ℓᵢ = −Σ_c Tᵢc·log softmax(z)ᵢc over the class axis 1, from logits;
    z̄ = ℓ̄·(softmax(z)·Σ_c Tᵢc − T)/n,  ȳ = −ℓ̄·(1 − ε)·w·log softmax(z)/n (probability targets)

    T is the target distribution: for class indices ``onehot(y)`` (so the
    gradient is the fused softmax(z) − onehot(y)), or the probabilities ``y``;
    label smoothing ε mixes in the uniform ε/C; class weights w scale column
    c. Indices equal to ``ignore_index`` add nothing and are not counted.
    "mean" divides by the summed weights of the counted targets (their number
    without weights), or for probability targets by the number of rows
    (PyTorch's definitions). The input is (N, C, d1, ...) or unbatched (C,).

    The forward saves softmax(z) (and the mask of counted entries), so the
    first-order backward is one subtraction at the target entries; the
    engine frees them once the vjp ran.
    """
    name = "cross_entropy"
    __slots__ = ("reduction", "ignore_index", "label_smoothing", "denominator", "unbatched", "probability_targets")

    def __init__(self, reduction="mean", ignore_index=-100, weight=None, label_smoothing=0.0):
        _check_reduction(self.name, reduction)
        if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
            raise OpError(f"cross_entropy: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
        self.reduction, self.ignore_index, self.label_smoothing = reduction, int(ignore_index), float(label_smoothing)
        self.save(weight=weight)

    def extra_repr(self):
        extra = [f"reduction={self.reduction!r}"]
        if self.ignore_index != -100:
            extra.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            extra.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(extra)

    def _check(self, z, y):
        """Refuse what PyTorch refuses, with the shapes and the fix."""
        _floating(self.name, "input (logits)", z)
        if z.ndim == 0 or z.shape[0 if z.ndim == 1 else 1] == 0:
            raise OpError(f"cross_entropy: input must be (N, C, d1, ...) or unbatched (C,) logits with C ≥ 1, "
                          f"got shape {z.shape}")
        classes = z.shape[0 if z.ndim == 1 else 1]
        if y.dtype.kind == "f":
            if y.shape != z.shape:
                raise OpError(f"cross_entropy: probability targets must have the input's shape {z.shape}, got "
                              f"{y.dtype}{list(y.shape)} (class indices must be integers)")
            if self.ignore_index != -100:
                raise OpError("cross_entropy: ignore_index applies to class-index targets only (PyTorch refuses "
                              "it with probability targets)")
        else:
            expected = () if z.ndim == 1 else z.shape[:1] + z.shape[2:]
            if y.dtype.kind not in "iu" or y.shape != expected:
                raise OpError(f"cross_entropy: input of shape {z.shape} needs integer class indices of shape "
                              f"{expected} or floating probabilities of shape {z.shape}; got {y.dtype}{list(y.shape)}")
        w = self.saved["weight"]
        if w is not None:
            if w.shape != (classes,):
                raise OpError(f"cross_entropy: weight must hold one value per class, shape ({classes},), got "
                              f"{tuple(w.shape)}")
            if w.dtype != z.dtype:
                raise OpError(f"cross_entropy: weight dtype {w.dtype} differs from the input's {z.dtype} (PyTorch "
                              f"refuses it too); cast the weight to {z.dtype}")

    def _class_indices(self, y, classes):
        """(class indices with the ignored ones set to 0, mask of counted entries or None when all count)."""
        keep = None
        if y.size:
            ignored = y == self.ignore_index
            if ignored.any():
                keep = ~ignored
                y = xp.where(keep, y, 0)
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= classes:
                raise OpError(f"cross_entropy: class index out of range: the target holds {lo if lo < 0 else hi}, "
                              f"valid classes are [0, {classes}) (entries equal to ignore_index={self.ignore_index} "
                              f"are skipped; negative indices are refused, as in PyTorch)")
        return y, keep

    def forward(self, z, y):
        self._check(z, y)
        self.unbatched = z.ndim == 1
        if self.unbatched:
            z, y = z[None], y[None]
        c, eps, w = z.shape[1], self.label_smoothing, self.saved["weight"]
        shifted = z - z.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        se = e.sum(axis=1, keepdims=True)
        log_se = xp.log(se)
        keep = None
        self.probability_targets = y.dtype.kind == "f"
        if self.probability_targets:
            t = y * (1 - eps) + eps / c if eps else y
            if w is not None:
                t = t * _along_classes(w, z.ndim)
            loss = ((log_se - shifted) * t).sum(axis=1)
            denominator = loss.size
        else:
            yi, keep = self._class_indices(y, c)
            picked = shifted[xp.arange(len(yi)), yi] if z.ndim == 2 else \
                xp.take_along_axis(shifted, xp.expand_dims(yi, 1), axis=1).squeeze(1)
            loss = log_se.squeeze(1) - picked  # −log softmax(z) at the target
            target_weight = None
            if w is not None:
                target_weight = w[yi]
                loss = loss * target_weight
            if eps:
                neg_log_p = log_se - shifted
                if w is not None:
                    neg_log_p = neg_log_p * _along_classes(w, z.ndim)
                loss = (1 - eps) * loss + (eps / c) * neg_log_p.sum(axis=1)
            if keep is not None:
                loss = loss * keep
            if target_weight is None:
                denominator = loss.size if keep is None else int(keep.sum())
            else:
                denominator = float((target_weight if keep is None else target_weight * keep).sum())
        e /= se
        # softmax(z) is reused by the backward pass; saved (not a slot) so the
        # engine frees it right after the vjp and rg.explain counts it
        self.save(probs=e, keep=keep, weight=w)
        self.denominator = denominator
        if self.reduction == "none":
            return loss[0] if self.unbatched else loss
        total = loss.sum()
        if self.reduction == "sum":
            return total
        with xp.errstate(invalid="ignore", divide="ignore"):  # nothing counted: NaN, as PyTorch gives
            return total / xp.asarray(denominator, dtype=total.dtype)

    def vjp(self, ns, g, loss, z, y):
        probs, keep, w = self.saved["probs"], self.saved["keep"], self.saved["weight"]
        c, eps = probs.shape[1], self.label_smoothing
        if self.reduction == "none":
            scale = ns.reshape(g, (1, 1)) if self.unbatched else ns.expand_dims(g, 1)
        elif self.reduction == "sum":
            scale = g
        else:  # nothing counted: the loss is NaN but no entry moves it (PyTorch's gradient is 0)
            scale = g * (1.0 / self.denominator if self.denominator else 0.0)
        first_order = isinstance(z, xp.ndarray)
        z_b = ns.reshape(z, (1, c)) if self.unbatched else z
        y_b = ns.reshape(y, (1, c)) if self.unbatched and self.probability_targets else y
        if self.unbatched and not self.probability_targets:
            y_b = ns.value(y).reshape((1,))
        w_c = None if w is None else _along_classes(w, probs.ndim)
        gy = None
        if self.probability_targets:
            t = y_b * (1 - eps) + eps / c if eps else y_b
            if w_c is not None:
                t = t * w_c
            soft = probs if first_order else ns.softmax(z_b, axis=1)
            gz = (soft * ns.sum(t, axis=1, keepdims=True) - t) * scale
            if self.needs[1]:
                log_p = _log_softmax_array(z_b) if first_order else log_softmax(z_b, axis=1)
                gy = -(1 - eps) * log_p * scale
                if w_c is not None:
                    gy = gy * w_c
        else:
            yv = ns.value(y_b)
            yi = yv if keep is None else xp.where(keep, yv, 0)
            if first_order:
                gz = self._index_delta(probs, yi, keep, w, w_c)
                gz *= scale  # in place: the delta is a fresh array
            else:  # under create_graph: the same formula with differentiable ops
                t = self._index_distribution(probs, yi, keep, w, w_c)
                gz = (ns.softmax(z_b, axis=1) * t.sum(axis=1, keepdims=True) - t) * scale
        if self.unbatched:
            gz = ns.reshape(gz, (c,))
            gy = None if gy is None else ns.reshape(gy, (c,))
        return gz, gy

    def _index_delta(self, probs, yi, keep, w, w_c):
        """softmax(z)·Σ_c T − T for class-index targets, built in place on a copy of softmax(z)."""
        eps, c = self.label_smoothing, probs.shape[1]
        delta = probs.copy()
        if w is None and not eps:  # the fused fast path: softmax(z) − onehot(y)
            _subtract_at_targets(delta, yi, 1)
            if keep is not None:
                delta *= xp.expand_dims(keep, 1)
            return delta
        at_target = (1 - eps) * (w[yi] if w is not None else xp.ones(yi.shape, dtype=probs.dtype))
        uniform_total = eps / c * (float(w.sum()) if w is not None else c)
        if keep is not None:
            at_target = at_target * keep
        rows = at_target + uniform_total * (keep if keep is not None else 1)
        delta *= xp.expand_dims(rows, 1)
        _subtract_at_targets(delta, yi, at_target)
        if eps:
            uniform = (eps / c) * (w_c if w_c is not None else 1.0)
            delta -= uniform * (xp.expand_dims(keep, 1) if keep is not None else 1)
        return delta

    def _index_distribution(self, probs, yi, keep, w, w_c):
        """T for class-index targets as an array: (1 − ε)·w_y at the target, ε/C·w_c everywhere, 0 where ignored."""
        eps, c = self.label_smoothing, probs.shape[1]
        t = xp.zeros(probs.shape, dtype=probs.dtype)
        if eps:
            t += (eps / c) * (w_c if w_c is not None else 1.0)
        _subtract_at_targets(t, yi, -(1 - eps) * (w[yi] if w is not None else 1.0))
        if keep is not None:
            t *= xp.expand_dims(keep, 1)
        return t


def _log_softmax_array(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - xp.log(xp.exp(s).sum(axis=1, keepdims=True))


def cross_entropy(input, target, reduction: str = "mean", ignore_index: int = -100, *,  # noqa: A002
                  weight=None, label_smoothing: float = 0.0):
    """Softmax cross-entropy from logits, PyTorch's ``F.cross_entropy``: one op
    whose gradient is softmax(z) − onehot(y) (÷ n).

    ``input``: logits (N, C, d1, ...) or unbatched (C,). ``target``: integer
    class indices (N, d1, ...) / () — entries equal to ``ignore_index`` are
    skipped — or floating probabilities of the input's shape (their gradient
    is −log softmax(z)). ``weight`` (C,): a rescaling per class; "mean" then
    divides by the summed weights of the counted targets. ``label_smoothing``
    ε ∈ [0, 1] mixes the target with the uniform distribution:
    T = (1 − ε)·onehot(y) + ε/C. Warns once if the input already looks like
    probabilities (use ``nll_loss(log(p), y)`` for those).
    """
    z = _array(input)
    _warn_if_probabilities(z)
    weight = _constant_weight(CrossEntropy.name, "weight", weight, z.dtype)
    return CrossEntropy(reduction, ignore_index, weight, label_smoothing)(input, _target(target))
