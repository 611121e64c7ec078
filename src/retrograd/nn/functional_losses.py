"""``torch.nn.functional``'s losses and distances beyond the core ones (l1, smooth l1, Huber,
KL divergence, cosine similarity, pairwise distance, the margin and embedding losses, Gaussian
and Poisson NLL), each composed from differentiable ops, so its gradient is the ops' (no rule of
its own); re-exported by ``nn.functional``."""

from __future__ import annotations

import math
import warnings

from .. import ops as _ops
from ..ops import norm, reshape, sqrt
from ..ops.losses import _legacy_reduction
from ..ops.shape import _data as _arr
from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap


# ---------------------------------------------------------------- losses composed from differentiable ops
# Each loss below is written with existing ops (abs via x·sign(x), where, log, exp, sums), so it needs no
# derivative rule of its own: its gradient is the composition's. Their kinks give PyTorch's gradients
# whatever ``rg.conventions`` policy is in force (|d| is d·sign(d), so its slope at 0 is sign(0) = 0, and
# every clamp at 0 is where(v < 0, 0, v), which passes the gradient at v = 0, as PyTorch's clamp_min does).

_LOSS_REDUCTIONS = ("none", "mean", "sum")
_EPS_COSINE_EMBEDDING = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss


def _t(*xs):
    """Arrays and numbers as (constant) Tensors, so every composition below stays on the tape."""
    out = tuple(x if isinstance(x, Tensor) else _wrap(xp.asarray(x)) for x in xs)
    return out if len(out) > 1 else out[0]


def _loss_reduction(op, size_average, reduce, reduction, allowed=_LOSS_REDUCTIONS):
    """PyTorch's legacy ``size_average``/``reduce`` (with its warning), then the reduction checked."""
    reduction = _legacy_reduction(size_average, reduce, reduction, stacklevel=4)
    if not (isinstance(reduction, str) and reduction in allowed):
        raise OpError(f"{op}: reduction must be one of {allowed}, got {reduction!r} (PyTorch refuses it too)")
    return reduction


def _reduce_loss(loss, reduction):
    """'none': the elementwise losses; 'sum'; 'mean' (NaN for an empty input, as PyTorch gives)."""
    if reduction == "none":
        return loss
    return _ops.sum(loss) if reduction == "sum" else _ops.mean(loss)


def _float_input(op, name, x):
    """Refuse an integer, bool or complex input (PyTorch refuses them in these losses)."""
    d = _arr(x)
    if d.dtype.kind != "f":
        raise OpError(f"{op}: {name} must be floating-point, got {d.dtype}{list(d.shape)}; convert it with "
                      f".to(rg.float32) or .to(rg.float64)")
    return d.dtype


def _target_like(op, target, dtype, cast_float=False):
    """The target in the input's dtype where PyTorch computes in it: an integer or bool target always
    (PyTorch's float-tensor op int-tensor gives the float dtype), a float one when ``cast_float``
    (losses whose result PyTorch gives in the input's dtype). Complex targets are refused."""
    d = _arr(target)
    if d.dtype.kind == "c":
        raise OpError(f"{op}: complex target is not supported, got {d.dtype}{list(d.shape)}")
    if d.dtype.kind in "biu" or (cast_float and d.dtype != dtype):
        return _ops.cast(target, dtype) if isinstance(target, Tensor) else d.astype(dtype)
    return target


def _broadcast_shapes(op, *named):
    """The shape the ``(name, shape)`` pairs broadcast to, or an OpError naming them (PyTorch: "The size
    of tensor a must match the size of tensor b")."""
    try:
        return tuple(xp.broadcast_shapes(*(tuple(s) for _, s in named)))
    except ValueError:
        desc = ", ".join(f"{n} shape {tuple(s)}" for n, s in named)
        raise OpError(f"{op}: {desc} do not broadcast (PyTorch refuses them too)") from None


def _warn_size(op, input_shape, target_shape):
    """PyTorch's warning for a target whose shape differs from the input's (it then broadcasts)."""
    if tuple(input_shape) != tuple(target_shape):
        warnings.warn(f"{op}: using a target size ({tuple(target_shape)}) that is different to the input size "
                      f"({tuple(input_shape)}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", UserWarning, stacklevel=3)


def _abs(d):
    """abs(d) as d·sign(d): the slope at 0 is sign(0) = 0 (PyTorch's), whatever the kink policy."""
    return d * _ops.sign(d).detach() if isinstance(d, Tensor) else xp.abs(d)


def _clamp_min0(v):
    """max(v, 0) with PyTorch's clamp_min gradient: 1 where v ≥ 0 (the tie included), NaN kept."""
    return _ops.where(_arr(v) < 0, 0.0, v)


def _loss_weight(op, weight, input_shape, dtype):
    """``weight`` of l1_loss/huber_loss: the input's exact shape (PyTorch's ValueError otherwise)."""
    w = _arr(weight)
    if tuple(w.shape) != tuple(input_shape):
        raise OpError(f"{op}: weight of shape {tuple(w.shape)} must have the input's shape {tuple(input_shape)} "
                      f"(PyTorch: Weights and input must have the same size)")
    return weight


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",  # noqa: A002
            weight=None):
    """Mean (or summed) absolute error, PyTorch's ``F.l1_loss``.

    ℓᵢ = wᵢ·abs(xᵢ − yᵢ); 'mean' is Σℓᵢ / n, or Σwᵢ·abs(xᵢ − yᵢ) / Σwᵢ with ``weight`` (of the input's shape).
    ∂ℓᵢ/∂xᵢ = wᵢ·sign(xᵢ − yᵢ), 0 at xᵢ = yᵢ (PyTorch's). A target of another shape broadcasts, with
    PyTorch's warning."""
    input, target = _t(input, target)
    reduction = _loss_reduction("l1_loss", size_average, reduce, reduction)
    dtype = _float_input("l1_loss", "input", input)
    target = _target_like("l1_loss", target, dtype)
    _broadcast_shapes("l1_loss", ("input", input.shape), ("target", _arr(target).shape))
    _warn_size("l1_loss", input.shape, _arr(target).shape)
    loss = _abs(input - target)
    if weight is None:
        return _reduce_loss(loss, reduction)
    _loss_weight("l1_loss", weight, input.shape, dtype)
    loss = loss * weight
    if reduction == "mean":
        return _ops.sum(loss) / _ops.sum(weight)
    return _reduce_loss(loss, reduction)


def _smooth(op, input, target, reduction, width, scale):
    """The quadratic-then-linear loss of d = x − y: ½d²·scale/width inside abs(d) < width, else
    scale·(abs(d) − ½width). ``where`` picks the branch; each branch sees only its own entries (the other
    gets 0), so an infinite d gives no NaN gradient through the unused square."""
    input, target = _t(input, target)
    dtype = _float_input(op, "input", input)
    target = _target_like(op, target, dtype, cast_float=(op == "huber_loss"))
    _broadcast_shapes(op, ("input", input.shape), ("target", _arr(target).shape))
    _warn_size(op, input.shape, _arr(target).shape)
    d = input - target
    z = _abs(d)
    inside = _arr(z) < width
    dq = _ops.where(inside, d, 0.0)  # the quadratic branch's d (0 outside it)
    quad = dq * dq * (0.5 * scale / width)
    lin = (z - 0.5 * width) * scale
    return _ops.where(inside, quad, lin)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",  # noqa: A002
                   beta: float = 1.0):
    """PyTorch's ``F.smooth_l1_loss``: with d = x − y,

    ℓᵢ = ½dᵢ²/β if abs(dᵢ) < β, else abs(dᵢ) − ½β;  ∂ℓᵢ/∂xᵢ = dᵢ/β inside, sign(dᵢ) outside (continuous at
    abs(d) = β). β = 0 is the L1 loss (PyTorch's); a negative β is refused, as PyTorch does."""
    reduction = _loss_reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise OpError(f"smooth_l1_loss: beta must be non-negative, got {beta} (PyTorch: smooth_l1_loss does not "
                      f"support negative values for beta)")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return _reduce_loss(_smooth("smooth_l1_loss", input, target, reduction, beta, 1.0), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):  # noqa: A002
    """PyTorch's ``F.huber_loss``: with d = x − y,

    ℓᵢ = ½dᵢ² if abs(dᵢ) < δ, else δ(abs(dᵢ) − ½δ);  ∂ℓᵢ/∂xᵢ = dᵢ inside, δ·sign(dᵢ) outside. δ must be
    positive. ``weight`` (the input's shape) multiplies ℓᵢ; 'mean' is then the mean of wᵢℓᵢ (PyTorch's).
    The result has the input's dtype (a target of another float dtype is converted, as PyTorch computes)."""
    reduction = _loss_reduction("huber_loss", None, None, reduction)
    if not delta > 0:
        raise OpError(f"huber_loss: delta must be positive, got {delta} (PyTorch: huber_loss does not support "
                      f"non-positive values for delta)")
    loss = _smooth("huber_loss", input, target, reduction, delta, delta)
    if weight is not None:
        loss = loss * _loss_weight("huber_loss", weight, input.shape, None)
    return _reduce_loss(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",  # noqa: A002
           log_target: bool = False):
    """PyTorch's ``F.kl_div``: the pointwise KL divergence of ``target`` from the log-probabilities
    ``input``,

    ℓᵢ = yᵢ·(log yᵢ − xᵢ), 0 where yᵢ = 0 (``log_target=False``);  ℓᵢ = e^{yᵢ}·(yᵢ − xᵢ) (``log_target=True``),

    ∂ℓᵢ/∂xᵢ = −yᵢ (or −e^{yᵢ}). 'batchmean' is Σℓᵢ / (size of axis 0) (the KL divergence per sample);
    'mean' divides by every element (PyTorch's warning says so). Input and target broadcast."""
    input, target = _t(input, target)
    legacy = size_average is not None or reduce is not None
    reduction = _loss_reduction("kl_div", size_average, reduce, reduction, _LOSS_REDUCTIONS + ("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    for name, v in (("input", input), ("target", target)):
        d = _arr(v)
        if d.dtype.kind != "f":
            raise OpError(f"kl_div: {name} must be floating-point, got {d.dtype}{list(d.shape)} (PyTorch: "
                          f"integral and complex inputs are not supported)")
    _broadcast_shapes("kl_div", ("input", input.shape), ("target", _arr(target).shape))
    if log_target:
        loss = _ops.exp(target) * (target - input)
    else:
        y = _arr(target)
        zero = y == 0
        safe = _ops.where(zero, 1.0, target)  # log of 1 where y = 0: no −inf, a 0 gradient there
        loss = _ops.where(zero, 0.0, target * _ops.log(safe)) - target * input
    if reduction == "batchmean":
        total = _ops.sum(loss)
        if not len(input.shape):
            return total
        with xp.errstate(invalid="ignore"):  # an empty batch: 0/0 = NaN, silently, as PyTorch
            return total / input.shape[0]
    return _reduce_loss(loss, reduction)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """PyTorch's ``F.cosine_similarity`` (its formula since 1.13): x1 and x2 broadcast, then

    cos = Σ_dim (x1 / max(‖x1‖, ε)) · (x2 / max(‖x2‖, ε)),

    the 2-norms taken over ``dim``. As in PyTorch the clamp at ε is not differentiated (the gradient
    flows through ‖x‖ as if unclamped), so abs(cos) ≤ 1 and a zero vector gets x2/ε²-sized gradients."""
    x1, x2 = _t(x1, x2)
    d1, d2 = _arr(x1), _arr(x2)
    if not (d1.dtype.kind == "f" or d2.dtype.kind == "f") or "c" in (d1.dtype.kind, d2.dtype.kind):
        raise OpError(f"cosine_similarity: expected a floating-point common dtype, got {d1.dtype}{list(d1.shape)} "
                      f"and {d2.dtype}{list(d2.shape)}")
    common = xp.result_type(d1.dtype, d2.dtype) if d1.dtype.kind == d2.dtype.kind else (
        d1.dtype if d1.dtype.kind == "f" else d2.dtype)
    x1 = x1 if d1.dtype == common else _target_like("cosine_similarity", x1, common, cast_float=True)
    x2 = x2 if d2.dtype == common else _target_like("cosine_similarity", x2, common, cast_float=True)
    shape = _broadcast_shapes("cosine_similarity", ("x1", d1.shape), ("x2", d2.shape))
    nd = len(shape)
    if not -max(nd, 1) <= dim < max(nd, 1):
        raise OpError(f"cosine_similarity: dim {dim} is out of range for inputs broadcast to shape {shape}")
    if nd == 0:  # PyTorch takes dim 0 (or −1) of a scalar: one-element vectors
        return reshape(cosine_similarity(reshape(x1, (1,)), reshape(x2, (1,)), 0, eps), ())
    x1, x2 = (x if tuple(_arr(x).shape) == shape else _ops.broadcast_to(x, shape) for x in (x1, x2))

    def unit(x):
        n = norm(x, 2, dim, keepdim=True)
        nv = _arr(n)
        return x / (n + (xp.maximum(nv, eps) - nv))  # the clamp added as a constant: not differentiated

    return _ops.sum(unit(x1) * unit(x2), axis=dim)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """PyTorch's ``F.pairwise_distance``: ‖x1 − x2 + ε‖_p over the last axis of the broadcast inputs
    (p = ∞ the largest abs(·), −∞ the smallest, 0 the count of non-zeros, else (Σabs(·)ᵖ)^{1/p}); the gradient
    of the norm is 0 at a zero vector, as PyTorch's."""
    x1, x2 = _t(x1, x2)
    for name, x in (("x1", x1), ("x2", x2)):
        _float_input("pairwise_distance", name, x)
    if p < 0 and p != -math.inf:
        raise OpError(f"pairwise_distance: negative p ({p}) is not supported (rg.norm refuses it); use p >= 0 "
                      f"or p=-inf")
    shape = _broadcast_shapes("pairwise_distance", ("x1", _arr(x1).shape), ("x2", _arr(x2).shape))
    diff = x1 - x2 + eps
    if not shape:  # PyTorch's norm over the only axis of a scalar
        return norm(reshape(diff, (1,)), p, 0)
    return norm(diff, p, len(shape) - 1, keepdim=keepdim)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):  # noqa: A002
    """PyTorch's ``F.soft_margin_loss``, the two-class logistic loss for labels y = ±1:

    ℓᵢ = log(1 + e^{−yᵢxᵢ});  ∂ℓᵢ/∂xᵢ = −yᵢ·e^{−yᵢxᵢ}/(1 + e^{−yᵢxᵢ}). PyTorch's formula, term for term
    (so a huge −yx overflows to ∞ as in PyTorch); the result has the input's dtype."""
    input, target = _t(input, target)
    reduction = _loss_reduction("soft_margin_loss", size_average, reduce, reduction)
    if target.requires_grad:
        raise OpError("soft_margin_loss: the target requires a gradient, but PyTorch's soft_margin_loss is not "
                      "differentiable with respect to the target (it refuses one that requires grad); pass "
                      "target.detach()")
    dtype = _float_input("soft_margin_loss", "input", input)
    target = _target_like("soft_margin_loss", target, dtype, cast_float=True)
    _broadcast_shapes("soft_margin_loss", ("input", input.shape), ("target", _arr(target).shape))
    return _reduce_loss(_ops.log1p(_ops.exp(-input * target)), reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                        reduction: str = "mean"):
    """PyTorch's ``F.margin_ranking_loss``: ℓᵢ = max(0, −yᵢ·(x1ᵢ − x2ᵢ) + margin) for y = ±1 (1: x1
    should rank higher). The three tensors need the same number of dims (PyTorch's check), then
    broadcast. At the hinge (the max's argument 0) the gradient is the linear side's, as PyTorch's."""
    input1, input2, target = _t(input1, input2, target)
    reduction = _loss_reduction("margin_ranking_loss", size_average, reduce, reduction)
    s1, s2, st = _arr(input1).shape, _arr(input2).shape, _arr(target).shape
    if not len(s1) == len(s2) == len(st):
        raise OpError(f"margin_ranking_loss: all input tensors should have the same number of dimensions, got "
                      f"input1 {tuple(s1)}, input2 {tuple(s2)}, target {tuple(st)} (PyTorch refuses them too)")
    dtype = _float_input("margin_ranking_loss", "input1", input1)
    _float_input("margin_ranking_loss", "input2", input2)
    target = _target_like("margin_ranking_loss", target, dtype)
    _broadcast_shapes("margin_ranking_loss", ("input1", s1), ("input2", s2), ("target", st))
    return _reduce_loss(_clamp_min0(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,  # noqa: A002
                         reduction: str = "mean"):
    """PyTorch's ``F.hinge_embedding_loss``: for y = 1, ℓᵢ = xᵢ; for y = −1, ℓᵢ = max(0, margin − xᵢ)
    (PyTorch's formula, so a target other than ±1 gets both terms). The result has the input's dtype."""
    input, target = _t(input, target)
    reduction = _loss_reduction("hinge_embedding_loss", size_average, reduce, reduction)
    dtype = _float_input("hinge_embedding_loss", "input", input)
    target = _target_like("hinge_embedding_loss", target, dtype, cast_float=True)
    _broadcast_shapes("hinge_embedding_loss", ("input", input.shape), ("target", _arr(target).shape))
    y = _arr(target)
    loss = _ops.where(y != 1, _clamp_min0(margin - input), 0.0) + _ops.where(y != -1, input, 0.0)
    return _reduce_loss(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                          reduction: str = "mean"):
    """PyTorch's ``F.cosine_embedding_loss``: with cos = Σx1·x2 / √((Σx1² + ε)(Σx2² + ε)), ε = 1e-12, over
    the last axis, ℓᵢ = 1 − cosᵢ for y = 1 and max(0, cosᵢ − margin) for y = −1 (0 for other y).
    A 1-D target goes with 2-D inputs (N, D), a 0-D target with 1-D inputs (D,), as in PyTorch."""
    input1, input2, target = _t(input1, input2, target)
    reduction = _loss_reduction("cosine_embedding_loss", size_average, reduce, reduction)
    s1, s2, st = _arr(input1).shape, _arr(input2).shape, _arr(target).shape
    if len(st) not in (0, 1):
        raise OpError(f"cosine_embedding_loss: a 0-D or 1-D target is expected, got shape {tuple(st)} "
                      f"(PyTorch: multi-target not supported)")
    if len(s1) != len(st) + 1 or len(s2) != len(st) + 1:
        raise OpError(f"cosine_embedding_loss: a {len(st)}-D target expects {len(st) + 1}-D inputs, got input1 "
                      f"{tuple(s1)} and input2 {tuple(s2)} (PyTorch refuses them too)")
    _float_input("cosine_embedding_loss", "input1", input1)
    _float_input("cosine_embedding_loss", "input2", input2)
    _broadcast_shapes("cosine_embedding_loss", ("input1", s1), ("input2", s2))
    axis = len(st)
    prod = _ops.sum(input1 * input2, axis=axis)
    mag1 = _ops.sum(input1 * input1, axis=axis) + _EPS_COSINE_EMBEDDING
    mag2 = _ops.sum(input2 * input2, axis=axis) + _EPS_COSINE_EMBEDDING
    cos = prod / sqrt(mag1 * mag2)
    _broadcast_shapes("cosine_embedding_loss", ("cosine", _arr(cos).shape), ("target", st))
    y = _arr(target)
    loss = _ops.where(y == 1, 1 - cos, 0.0) + _ops.where(y == -1, _clamp_min0(cos - margin), 0.0)
    return _reduce_loss(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,  # noqa: A002
                      reduction: str = "mean"):
    """PyTorch's ``F.gaussian_nll_loss``: the negative log-likelihood of ``target`` under N(input, var),

    ℓᵢ = ½(log max(varᵢ, ε) + (xᵢ − yᵢ)² / max(varᵢ, ε)) (+ ½log 2π when ``full``).

    ``var`` is the input's shape, one dim short of it, or the input's shape with one axis of size 1
    (homoscedastic), or a float; negative entries are refused. As in PyTorch the clamp at ε is not
    differentiated: the gradient with respect to var is that of the formula at the clamped value."""
    input, target = _t(input, target)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise OpError("gaussian_nll_loss: var has negative entry/entries (PyTorch refuses them too)")
        var = xp.full(tuple(input.shape), float(var), dtype=_arr(input).dtype)
    else:
        if bool((_arr(var) < 0).any()):
            raise OpError("gaussian_nll_loss: var has negative entry/entries (PyTorch refuses them too)")
    si, sv = tuple(input.shape), tuple(_arr(var).shape)
    if sv != si:
        if si[:-1] == sv:
            var = reshape(var, sv + (1,)) if isinstance(var, Tensor) else _arr(var).reshape(sv + (1,))
        elif not (len(si) == len(sv) and sum(b for a, b in zip(si, sv) if a != b) == 1):
            raise OpError(f"gaussian_nll_loss: var of shape {sv} is of incorrect size for input of shape {si}: "
                          f"give it the input's shape, the input's shape without its last axis, or the input's "
                          f"shape with one axis of size 1 (PyTorch refuses it too)")
    reduction = _loss_reduction("gaussian_nll_loss", None, None, reduction)
    _float_input("gaussian_nll_loss", "input", input)
    vv = _arr(var)
    var = var + (xp.maximum(vv, eps) - vv)  # the clamp as a constant shift: not differentiated (PyTorch)
    d = input - target
    loss = (_ops.log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce_loss(loss, reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,  # noqa: A002
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    """PyTorch's ``F.poisson_nll_loss``: the negative log-likelihood of counts ``target`` under
    Poisson(λ), without the constant log(y!):

    ℓᵢ = e^{xᵢ} − yᵢxᵢ (``log_input``, x = log λ);  ℓᵢ = xᵢ − yᵢ·log(xᵢ + ε) (x = λ).

    ``full`` adds Stirling's approximation of log(y!), y·log y − y + ½log(2πy), for y > 1 only."""
    input, target = _t(input, target)
    reduction = _loss_reduction("poisson_nll_loss", size_average, reduce, reduction)
    dtype = _float_input("poisson_nll_loss", "input", input)
    target = _target_like("poisson_nll_loss", target, dtype)
    _broadcast_shapes("poisson_nll_loss", ("input", input.shape), ("target", _arr(target).shape))
    if log_input:
        loss = _ops.exp(input) - target * input
    else:
        loss = input - target * _ops.log(input + eps)
    if full:
        small = _arr(target) <= 1
        t = _ops.where(small, 2.0, target)  # Stirling's term at a harmless y where it is masked out
        stirling = t * _ops.log(t) - t + 0.5 * _ops.log(t * (2 * math.pi))
        loss = loss + _ops.where(small, 0.0, stirling)
    return _reduce_loss(loss, reduction)
