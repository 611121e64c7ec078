"""Fused losses: one op each, so the gradient they pass back is the textbook
delta, computed in one step (and visible as one row in ``rg.explain``).

Every loss follows PyTorch's definition, options included (``weight``,
``pos_weight``, ``label_smoothing``, ``ignore_index``), and refuses what PyTorch
refuses with an ``OpError`` naming the op, the shapes/dtypes and the fix. The
class weights are constants: like PyTorch, no loss differentiates with respect
to them, and a weight that requires a gradient is refused.
"""

from __future__ import annotations

import warnings

from ..autograd.backend import xp
from ..autograd.forward_ad import carries_tangent
from ..autograd.op import BinaryOp, OpError
from ..autograd.tensor import Tensor
from . import device_checks
from .elementwise import softplus

_REDUCTIONS = ("mean", "sum", "none")


def _legacy_reduction(size_average, reduce, reduction, stacklevel=3):
    """PyTorch's deprecated ``size_average``/``reduce`` pair, mapped as PyTorch maps
    it (with its warning): either given overrides ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  UserWarning, stacklevel=stacklevel)
    return reduction


def _check_reduction(op, reduction, positional=True):
    """``positional``: the op's third positional argument is the reduction (not
    PyTorch's ``weight``), which a non-string value there hints at."""
    if isinstance(reduction, str) and reduction in _REDUCTIONS:
        return
    hint = ""
    if positional and not isinstance(reduction, str):  # torch's third positional argument is ``weight``
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
    if isinstance(value, str):
        raise OpError(_string_weight(op, name, value))
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


def _string_weight(op, name, value) -> str:
    """The error for a string where a weight goes: mostly a reduction passed
    positionally, where PyTorch (and retrograd) take ``weight``."""
    hint = (f"; to choose the reduction, pass it by name: reduction={value!r} (as in PyTorch)"
            if value in _REDUCTIONS else "")
    return f"{op}: {name} must be a tensor of weights, got the string {value!r}{hint}"


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


def _pushed(ns, ts, xs, partials, reduction):
    """A loss's tangent from its elementwise partials (the vjp's gradients at ℓ̄ = 1, "mean"'s 1/n
    included): ℓ̇ = Σ ∂ℓ/∂xᵢ·ẋᵢ, summed over the entries unless ``reduction`` is "none". The
    losses reduce, so the walk cannot line their tangents up with the output (``aligns_tangents
    = False``): each tangent, lead + its input's shape, is lined up with the partials here."""
    r = nlead = None
    for t, x, d in zip(ts, xs, partials):
        if t is None:
            continue
        nlead = t.ndim - x.ndim
        if x.ndim < d.ndim:  # a broadcast input (mse_loss): 1s between the leading axes and its own
            t = ns.reshape(t, tuple(t.shape[:nlead]) + (1,) * (d.ndim - x.ndim) + tuple(x.shape))
        term = t * d
        r = term if r is None else r + term
    if reduction != "none":
        r = ns.sum(r, axis=tuple(range(nlead, r.ndim)))
    return r


# ---------------------------------------------------------------- mean squared error
class MSELoss(BinaryOp):
    """ℓ = reduce((a − y)²);  ā = ℓ̄·2(a − y)/n (n = a.size for "mean", 1 for "sum"),  ȳ = −ā"""
    name, broadcasts = "mse_loss", True
    aligns_tangents = False  # the output is reduced: ``_pushed`` lines the tangents up
    __slots__ = ("reduction",)
    save_inputs = (0, 1)

    def __init__(self, reduction="mean"):
        _check_reduction(self.name, reduction)
        self.reduction = reduction

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, a, y):
        if a.dtype.kind == "c" or y.dtype.kind == "c":
            raise OpError(f"mse_loss: complex input is not supported (got {a.dtype}{list(a.shape)} and "
                          f"{y.dtype}{list(y.shape)}), as in PyTorch; compare the real and imaginary parts")
        if a.shape != y.shape:
            _broadcast_pair(self.name, a.shape, y.shape)
        d = a - y
        d *= d
        return _reduce(d, self.reduction)

    def vjp(self, ns, g, loss, a, y):
        d = a - y  # broadcast shape: the engine sums each gradient back to its input's shape
        d *= g * (2.0 * _scale(self.reduction, d.size))  # in place: d is a fresh array
        return d, (-d if self.needs[1] else None)

    def jvp(self, ns, ts, loss, a, y):
        """ℓ̇ = reduce(2(a − y)·(ȧ − ẏ)) (÷ n for "mean")"""
        return _pushed(ns, ts, (a, y), self.vjp(ns, 1.0, loss, a, y), self.reduction)


def _broadcast_pair(op, input_shape, target_shape):
    """The shape input and target broadcast to, or an OpError when they do not."""
    try:
        return xp.broadcast_shapes(tuple(input_shape), tuple(target_shape))
    except ValueError:
        raise OpError(f"{op}: input shape {tuple(input_shape)} and target shape {tuple(target_shape)} do not "
                      f"broadcast (PyTorch refuses them too); give the target the input's shape") from None


def mse_loss(input, target, reduction: str = "mean"):  # noqa: A002 - torch's names
    """Mean (or summed) squared error, one op: its gradient is 2(a − y)/n.

    Like PyTorch, an input and target of different shapes that broadcast are
    compared at the broadcast shape (n is its size) with a ``UserWarning``:
    broadcasting a loss is almost always a bug."""
    input_shape, target_shape = getattr(input, "shape", ()), getattr(target, "shape", ())
    if input_shape != target_shape and tuple(input_shape) != tuple(target_shape):
        input_shape, target_shape = tuple(input_shape), tuple(target_shape)
        _broadcast_pair(MSELoss.name, input_shape, target_shape)
        warnings.warn(f"mse_loss: using a target size ({target_shape}) that is different to the input size "
                      f"({input_shape}); this will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", UserWarning, stacklevel=2)
    return MSELoss(reduction)(input, target)


# ---------------------------------------------------------------- binary cross-entropy
def _check_binary(op, what, x, y, same_dtype=True):
    """Float input, a target of its shape; ``same_dtype``: of its dtype too (binary_cross_entropy;
    with logits PyTorch takes a target of any float dtype)."""
    _floating(op, what, x)
    if y.shape != x.shape:
        raise OpError(f"{op}: {what} shape {x.shape} and target shape {y.shape} differ (PyTorch: target size "
                      f"must be the same as input size)")
    if same_dtype and y.dtype != x.dtype:
        raise OpError(f"{op}: target dtype {y.dtype} differs from the {what}'s {x.dtype} (PyTorch refuses it "
                      f"too); cast the target with .astype({x.dtype})")
    if not same_dtype and y.dtype.kind != "f":
        raise OpError(f"{op}: target must be floating-point, got {y.dtype}{list(y.shape)} (PyTorch refuses it "
                      f"too); cast it with .astype({x.dtype})")


def _log_sigmoid(z):
    """log σ(z) = −(max(−z, 0) + log(1 + e^−|z|)), finite wherever σ(z) > 0."""
    return -(xp.maximum(-z, 0) + xp.log1p(xp.exp(-xp.abs(z))))


class BCEWithLogits(BinaryOp):
    """ℓ = reduce(w·[(1 − y)·z + (1 + (q − 1)·y)·softplus(−z)])  (q = pos_weight, stable for any z);
    z̄ = ℓ̄·w·(σ(z)·(1 + (q − 1)·y) − q·y)/n,  ȳ = −ℓ̄·w·(z + (q − 1)·log σ(z))/n

    Without weights: the fused output delta σ(z) − y (why it passes gradient checking: ``retrograd demo output-delta``),
    with a = σ(z). ``weight`` rescales each element, ``pos_weight`` the
    positive term; both broadcast to the input (PyTorch's definition, and its
    "mean" divides by the number of elements, not by the weights).
    """
    name, broadcasts = "binary_cross_entropy_with_logits", True
    aligns_tangents = False  # the output is reduced: ``_pushed`` lines the tangents up
    __slots__ = ("reduction",)
    save_inputs = (0, 1)

    def __init__(self, reduction="mean", weight=None, pos_weight=None):
        _check_reduction(self.name, reduction)
        self.reduction = reduction
        self.save(weight=weight, pos_weight=pos_weight)  # constants the vjp needs; freed with the inputs

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, z, y):
        _check_binary(self.name, "logits", z, y, same_dtype=False)
        w, q = self.saved["weight"], self.saved["pos_weight"]
        for name, arr in (("weight", w), ("pos_weight", q)):
            if arr is not None:
                _broadcast_weight(self.name, name, arr, z.shape)
        # PyTorch's expression, term for term, so ±∞ logits give its ∞ and NaN:
        # (1 − y)·z − (1 + (q − 1)·y)·log σ(z)
        with xp.errstate(invalid="ignore"):  # ∞ − ∞ and 0·∞ are PyTorch's NaN too
            log_sigmoid = _log_sigmoid(z)
            if q is not None:
                log_sigmoid = log_sigmoid * ((q - 1) * y + 1)
            loss = (1 - y) * z - log_sigmoid
        if w is not None:
            loss = loss * w
        if loss.dtype != y.dtype:  # PyTorch accumulates into a tensor of the target's dtype
            loss = loss.astype(y.dtype)
        return _reduce(loss, self.reduction)

    def vjp(self, ns, g, loss, z, y):
        w, q = self.saved["weight"], self.saved["pos_weight"]
        s = g * _scale(self.reduction, z.size)
        if w is not None:
            s = s * w
        if q is None:
            gz = (ns.sigmoid(z) - y) * s
        else:
            # PyTorch's order, (q·y + 1 − y)·σ(z) − q·y, so an infinite target gives its NaN
            qy = y * q  # tensors first: arrays on the right
            with xp.errstate(invalid="ignore"):  # an infinite target: ∞ − ∞, PyTorch's NaN too
                gz = (ns.sigmoid(z) * (qy + 1 - y) - qy) * s
        gy = None
        if self.needs[1]:
            if q is None:
                gy = -z * s
            elif isinstance(z, xp.ndarray):  # PyTorch's log σ(−z) − q·log σ(z)
                gy = (_log_sigmoid(-z) - q * _log_sigmoid(z)) * s
            else:  # under create_graph: log σ(−z) = −softplus(z), as differentiable ops
                gy = (softplus(-z) * q - softplus(z)) * s
        return gz, gy

    def jvp(self, ns, ts, loss, z, y):
        """ℓ̇ = reduce(∂ℓ/∂z·ż + ∂ℓ/∂y·ẏ), the partials the vjp gives at ℓ̄ = 1; in the target's dtype,
        as the loss (PyTorch accumulates it so)"""
        r = _pushed(ns, ts, (z, y), self.vjp(ns, 1.0, loss, z, y), self.reduction)
        dtype = y.dtype if y.dtype.kind == "f" else None
        return r if dtype is None or r.dtype == dtype else ns.astype(r, dtype)


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
    aligns_tangents = False  # the output is reduced: ``_pushed`` lines the tangents up
    __slots__ = ("reduction",)
    save_inputs = (0, 1)

    def __init__(self, reduction="mean", weight=None):
        _check_reduction(self.name, reduction)
        self.reduction = reduction
        self.save(weight=weight)

    def extra_repr(self): return f"reduction={self.reduction!r}"

    def forward(self, p, y):
        _check_binary(self.name, "input", p, y)
        for what, a in (("input", p), ("target", y)):
            # min/max propagate NaN, so a NaN fails both comparisons: refused like ±∞ (PyTorch's check)
            if a.size and not device_checks.on_host():
                lo, hi = a.min(), a.max()
                device_checks.defer(
                    ~((lo >= 0) & (hi <= 1)), OpError,
                    f"binary_cross_entropy: {what} must be probabilities in [0, 1] (NaN is not), got values from "
                    f"{{lo}} to {{hi}} in {a.dtype}{list(a.shape)}"
                    + (" (use binary_cross_entropy_with_logits for logits)" if what == "input" else ""), lo=lo, hi=hi)
            elif a.size and not (a.min() >= 0 and a.max() <= 1):
                raise OpError(f"binary_cross_entropy: {what} must be probabilities in [0, 1] (NaN is not), "
                              f"got values from {a.min()} to {a.max()} in {a.dtype}{list(a.shape)}"
                              + (" (use binary_cross_entropy_with_logits for logits)" if what == "input" else ""))
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

    def jvp(self, ns, ts, loss, p, y):
        """ℓ̇ = reduce(∂ℓ/∂p·ṗ + ∂ℓ/∂y·ẏ), the partials the vjp gives at ℓ̄ = 1"""
        return _pushed(ns, ts, (p, y), self.vjp(ns, 1.0, loss, p, y), self.reduction)


def binary_cross_entropy(input, target, reduction: str = "mean", *, weight=None):  # noqa: A002
    """Binary cross-entropy of probabilities (logs clamped at −100, like
    PyTorch); ``weight`` (broadcast to the input) rescales each element."""
    weight = _constant_weight(BinaryCrossEntropy.name, "weight", weight, _array(input).dtype, cast=True)
    return BinaryCrossEntropy(reduction, weight)(input, _target(target))


def _array(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _target(target):
    """A target that needs no gradient travels as a plain array (the op records
    no edge to it); one that requires a gradient, or carries a forward-AD tangent,
    stays a Tensor."""
    if isinstance(target, Tensor):
        return target if target.requires_grad or carries_tangent(target) else target.data
    return xp.asarray(target)



# ---------------------------------------------------------------- softmax cross-entropy
