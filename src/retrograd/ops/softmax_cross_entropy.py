"""Softmax cross-entropy from logits as one fused op: ℓ = logsumexp(z) − z[y] per
sample, whose gradient is the textbook delta softmax(z) − onehot(y) computed in
one step. PyTorch's options (``weight``, ``ignore_index``, ``label_smoothing``,
probability targets, unbatched input) change the target distribution T, and the
gradient is then softmax(z)·ΣT − T.

Classes are on axis 1 of an (N, C, d1, …) input, as in PyTorch. Sequence
logits are usually (N, T, C), classes last: PyTorch reads their axis 1 (the
steps) as the classes, and raises when T ≠ C but silently computes another
loss when T = C. So an input of three or more axes whose integer target has
the shape of ``input.shape[:-1]`` (the classes look last) is refused with the
fixes, unless ``class_axis=`` says where the classes are (``class_axis=1``:
PyTorch's layout; ``class_axis=-1``: classes last).
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import BinaryOp, IndexRangeError, OpError
from ..autograd.tensor import Tensor
from . import cuda_softmax_ce, device_checks
from .losses import _array, _check_reduction, _constant_weight, _floating, _legacy_reduction, _target
from .shape import movedim
from .softmaxes import log_softmax


_PROBABILITY_SUM_TOLERANCE = 1e-3
_TARGET_DTYPES = frozenset(xp.dtype(d) for d in ("int64", "uint8"))  # PyTorch's "Long or Byte"
_warned_probability_input = False  # the softmax-output warning is shown once per process
_checked_on_device = False  # on a device backend only the first call is checked: a read waits for the device


def _warn_if_probabilities(z):
    """Warn (once per process) when the logits given to ``cross_entropy`` look
    like probabilities already: every entry in [0, 1] and every row summing to
    1. That is a softmax output (Keras' ``from_logits=False``), and
    cross_entropy would apply a second softmax to it. On NumPy every call is
    checked until it warns; on a device backend only the process's first call
    (a model that outputs probabilities does so from its first batch), so later
    training steps never wait for the device."""
    global _warned_probability_input, _checked_on_device
    if _warned_probability_input or z.ndim == 0 or z.size == 0 or z.dtype.kind != "f":
        return
    if not device_checks.on_host():
        if _checked_on_device:
            return
        _checked_on_device = True
    axis = 0 if z.ndim == 1 else 1
    # a single class has cross-entropy 0 whatever the input: nothing to get wrong
    if z.shape[axis] < 2:
        return
    first = z if z.ndim == 1 else z[:1]  # logits almost always fail on the first sample: O(C), not O(N·C)
    if not (float(first.min()) >= 0 and float(first.max()) <= 1):  # NaN: no warning
        return
    if not (float(z.min()) >= 0 and float(z.max()) <= 1):
        return
    if not float(xp.abs(z.sum(axis=axis) - 1).max()) <= _PROBABILITY_SUM_TOLERANCE:
        return
    _warned_probability_input = True
    warnings.warn("cross_entropy: the input looks like probabilities (every entry in [0, 1], each row summing "
                  "to 1), but cross_entropy takes logits and applies log_softmax itself, so this is not the "
                  "cross-entropy of these probabilities. For probabilities p (a softmax output, Keras' "
                  "from_logits=False) use rg.nll_loss(rg.log(p), target); for logits, ignore this warning "
                  "(shown once).", UserWarning, stacklevel=3)


def _inverse(count, dtype):
    """1/count, 0 when count is 0 (nothing counted: no entry moves the loss): a Python number on the
    host, a 0-d array of ``dtype`` on a device (computed in float64 as the host's number, no read)."""
    if not isinstance(count, xp.ndarray):
        return 1.0 / count if count else 0.0
    nothing = count == 0
    return xp.where(nothing, 0.0, 1.0 / xp.where(nothing, 1.0, count)).astype(dtype)


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
    save_inputs = (0, 1)

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
            # PyTorch takes (1,) as well as () for an unbatched input's target
            if y.shape == z.shape:  # PyTorch reads a target of the input's shape as probabilities
                raise OpError(f"cross_entropy: a target of the input's shape {z.shape} holds class probabilities "
                              f"and must be floating-point, got {y.dtype} (PyTorch refuses it too); class "
                              f"indices have shape {expected}")
            if y.dtype.kind not in "iu" or not (y.shape == expected or z.ndim == 1 and y.shape == (1,)):
                raise OpError(f"cross_entropy: input of shape {z.shape} needs integer class indices of shape "
                              f"{expected} or floating probabilities of shape {z.shape}; got {y.dtype}{list(y.shape)}")
            if y.shape == (1,) and z.ndim == 1 and self.label_smoothing:
                raise OpError(f"cross_entropy: label_smoothing with an unbatched input of shape {z.shape} needs a "
                              f"0-d target, got shape (1,) (PyTorch refuses it too); pass target.reshape(())")
            if y.dtype not in _TARGET_DTYPES:
                raise OpError(f"cross_entropy: class indices must be int64 (or uint8), got {y.dtype}{list(y.shape)} "
                              f"(PyTorch refuses it too); convert them with .astype('int64')")
        w = self.saved["weight"]
        if w is not None:
            if w.shape != (classes,):
                raise OpError(f"cross_entropy: weight must hold one value per class, shape ({classes},), got "
                              f"{tuple(w.shape)}")
            if w.dtype != z.dtype and y.dtype.kind != "f":  # probability targets: promoted, as in PyTorch
                raise OpError(f"cross_entropy: weight dtype {w.dtype} differs from the input's {z.dtype} (PyTorch "
                              f"refuses it too); cast the weight to {z.dtype}")

    def _class_indices(self, y, classes):
        """(class indices with the ignored ones set to 0, mask of counted entries or None when all count).
        On a device the mask is always made and the range check is deferred (``device_checks``)."""
        if not device_checks.on_host():
            keep = y != self.ignore_index
            device_checks.refuse_out_of_range(
                xp.where(keep, y, 0), classes, IndexRangeError,
                f"cross_entropy: class index out of range: the target holds {{bad}}, valid classes are [0, {classes}) "
                f"(entries equal to ignore_index={self.ignore_index} are skipped; negative indices are refused, as "
                f"in PyTorch)")
            keep = keep & (y >= 0) & (y < classes)  # a row with a bad index counts for nothing until it is raised
            return xp.where(keep, y, 0), keep
        keep = None
        if y.size:
            lo, hi = int(y.min()), int(y.max())
            if lo <= self.ignore_index <= hi:  # only then can an entry be ignored: skip the pass otherwise
                ignored = y == self.ignore_index
                if ignored.any():
                    keep = ~ignored
                    y = xp.where(keep, y, 0)
                    lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= classes:
                bad = lo if lo < 0 else hi
                raise IndexRangeError(f"cross_entropy: class index out of range: the target holds {bad}, "
                              f"valid classes are [0, {classes}) (entries equal to ignore_index={self.ignore_index} "
                              f"are skipped; negative indices are refused, as in PyTorch)")
        return y, keep

    def forward(self, z, y):
        self._check(z, y)
        self.unbatched = z.ndim == 1
        if self.unbatched:
            z, y = z[None], (y[None] if y.dtype.kind == "f" else y.reshape((1,)))
        c, eps, w = z.shape[1], self.label_smoothing, self.saved["weight"]
        if y.dtype.kind == "f" and not (y.dtype == z.dtype and (w is None or w.dtype == z.dtype)):
            # probability targets (and weights) of other float dtypes: PyTorch computes in the promoted dtype
            dtype = xp.result_type(z, y) if w is None else xp.result_type(z, y, w)
            z, y = z.astype(dtype, copy=False), y.astype(dtype, copy=False)
            w = None if w is None else w.astype(dtype, copy=False)
        if self._one_kernel(z, y, w, eps):
            return self._forward_one_kernel(z, y)
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
            if keep is not None:  # 0, not 0·loss: a NaN logit in an ignored row must not count
                loss = xp.where(keep, loss, 0)
            if not device_checks.on_host():  # the count stays on the device (float64, as the host's Python number)
                counted = keep if target_weight is None else target_weight * keep
                denominator = counted.sum(dtype=xp.float64)
            elif target_weight is None:
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
        if isinstance(denominator, xp.ndarray):  # on a device: total/count, or NaN when nothing counted
            nothing = denominator == 0
            mean = total / xp.where(nothing, 1.0, denominator).astype(total.dtype)
            return xp.where(nothing, xp.asarray(xp.nan, dtype=total.dtype), mean)
        if not denominator:  # nothing counted: NaN, as PyTorch gives (0/0 without the warning)
            return total * xp.asarray(xp.nan, dtype=total.dtype)
        return total / denominator  # a Python number: the loss keeps the input's float dtype

    def _one_kernel(self, z, y, w, eps) -> bool:
        """Whether the one-kernel path applies: a device backend (the host keeps the path below,
        unchanged), (N, C) logits, class-index targets, no class weights, no label smoothing."""
        return (not device_checks.on_host() and z.ndim == 2 and not self.unbatched and y.dtype.kind != "f"
                and w is None and not eps and z.dtype.kind == "f" and z.dtype.itemsize >= 4)

    def _forward_one_kernel(self, z, y):
        """ℓᵢ and δᵢ = softmax(zᵢ) − onehot(yᵢ) of every row in one kernel (``cuda_softmax_ce``:
        CuPy's on a GPU, its NumPy twin elsewhere); the range check is deferred to the device."""
        self.probability_targets = False
        # the deferred range check names a bad index (as the path below); its row counts for nothing until
        # it is raised: given to the kernel as ignored
        _, keep = self._class_indices(y, z.shape[1])
        loss, delta, _ = cuda_softmax_ce.rows(z, xp.where(keep, y, self.ignore_index), self.ignore_index)
        self.save(probs=None, delta=delta, keep=keep, weight=None)
        self.denominator = keep.sum(dtype=xp.float64)
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "sum":
            return total
        nothing = self.denominator == 0
        mean = total / xp.where(nothing, 1.0, self.denominator).astype(total.dtype)
        return xp.where(nothing, xp.asarray(xp.nan, dtype=total.dtype), mean)

    def _probs(self, targets):
        """softmax(z) as saved, or rebuilt from the one kernel's δ (δ + onehot(``targets``) on the
        counted rows)."""
        probs = self.saved.get("probs")
        if probs is not None:
            return probs
        delta, keep = self.saved["delta"], self.saved["keep"]
        yv = xp.where(keep, targets, 0)
        probs = delta.copy()
        probs[xp.arange(len(yv)), yv] += keep.astype(probs.dtype)
        return probs

    def vjp(self, ns, g, loss, z, y):
        if self.reduction == "none":
            scale = ns.reshape(g, (1, 1)) if self.unbatched else ns.expand_dims(g, 1)
        elif self.reduction == "sum":
            scale = g
        else:  # nothing counted: the loss is NaN but no entry moves it (PyTorch's gradient is 0)
            scale = g * _inverse(self.denominator, self._dtype())
        gz, gy = self._partials(ns, z, y)
        if isinstance(z, xp.ndarray):
            gz *= scale  # in place: the partials are a fresh array
        else:
            gz = gz * scale
        if gy is not None:
            gy = gy * scale
        c = self._classes()
        if self.unbatched:
            gz = ns.reshape(gz, (c,))
            gy = None if gy is None else ns.reshape(gy, (c,))
        return gz, gy

    def jvp(self, ns, ts, loss, z, y):
        """ℓ̇ᵢ = Σ_c (softmax(z)·ΣT − T)ᵢc·żᵢc − (1 − ε)·Σ_c w_c·log softmax(z)ᵢc·ẏᵢc, reduced as the loss
        ("mean": ÷ the vjp's denominator; 0 when nothing counted)"""
        gz, gy = self._partials(ns, z, y)
        c = self._classes()
        r = nlead = None
        for t, d in zip(ts, (gz, gy)):
            if t is None:
                continue
            nlead = t.ndim - z.ndim
            if self.unbatched:  # (C,) as the one row (1, C) the partials have
                t = ns.reshape(t, tuple(t.shape[:nlead]) + (1, c))
            term = ns.sum(t * d, axis=nlead + 1)  # over the classes
            r = term if r is None else r + term
        if self.reduction == "none":
            return ns.reshape(r, tuple(r.shape[:nlead])) if self.unbatched else r
        r = ns.sum(r, axis=tuple(range(nlead, r.ndim)))
        if self.reduction == "mean":
            r = r * _inverse(self.denominator, self._dtype())
        return r

    def _partials(self, ns, z, y):
        """(∂ℓᵢ/∂z, ∂ℓᵢ/∂y or None) per row, batched as (N, C, d1, …) (an unbatched row as (1, C)), before
        the reduction: softmax(z)·Σ_c T − T, and −(1 − ε)·w·log softmax(z) for probability targets that
        need a gradient. The vjp scales them by ℓ̄, the jvp contracts them with the tangents."""
        first_order = isinstance(z, xp.ndarray)
        if first_order and self.saved.get("probs") is None:  # the one kernel's δ, zero on ignored rows
            return self.saved["delta"].copy(), None
        probs, keep, w = self._probs(ns.value(y)), self.saved["keep"], self.saved["weight"]
        c, eps = probs.shape[1], self.label_smoothing
        z_b = ns.reshape(z, (1, c)) if self.unbatched else z
        if first_order and z_b.dtype != probs.dtype:  # targets of another float dtype: the promoted one
            z_b = z_b.astype(probs.dtype)
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
            gz = soft * ns.sum(t, axis=1, keepdims=True) - t
            if self.needs[1]:
                log_p = _log_softmax_array(z_b) if first_order else log_softmax(z_b, axis=1)
                gy = -(1 - eps) * log_p
                if w_c is not None:
                    gy = gy * w_c
        else:
            yv = ns.value(y_b)
            yi = yv if keep is None else xp.where(keep, yv, 0)
            if first_order:
                gz = self._index_delta(probs, yi, keep, w, w_c)
            else:  # differentiable walks: the same formula with differentiable ops
                t = self._index_distribution(probs, yi, keep, w, w_c)
                gz = ns.softmax(z_b, axis=1) * t.sum(axis=1, keepdims=True) - t
        return gz, gy

    def _dtype(self):
        saved = self.saved["probs"] if self.saved.get("probs") is not None else self.saved["delta"]
        return saved.dtype

    def _classes(self) -> int:
        saved = self.saved["probs"] if self.saved.get("probs") is not None else self.saved["delta"]
        return saved.shape[1]

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
        uniform_total = eps / c * ((float(w.sum()) if device_checks.on_host() else w.sum()) if w is not None else c)
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


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,  # noqa: A002
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0, *,
                  class_axis: int | None = None):
    """Softmax cross-entropy from logits, PyTorch's ``F.cross_entropy``: one op
    whose gradient is softmax(z) − onehot(y) (÷ n).

    ``input``: logits (N, C, d1, ...) or unbatched (C,). ``target``: integer
    class indices (N, d1, ...) / () — entries equal to ``ignore_index`` are
    skipped — or floating probabilities of the input's shape (their gradient
    is −log softmax(z)). ``weight`` (C,): a rescaling per class; "mean" then
    divides by the summed weights of the counted targets. ``label_smoothing``
    ε ∈ [0, 1] mixes the target with the uniform distribution:
    T = (1 − ε)·onehot(y) + ε/C. Warns once if the input already looks like
    probabilities (use ``nll_loss(log(p), y)`` for those). The arguments are
    PyTorch's, in its order (``weight`` third); ``size_average``/``reduce`` are
    its deprecated form of ``reduction`` (mapped as PyTorch maps them, with its
    warning).

    ``class_axis`` (keyword-only, retrograd's; PyTorch has none) names the
    input's class axis: ``class_axis=-1`` takes sequence logits (N, T, C) with
    targets (N, T) (class probabilities: (N, T, C)) and is the same as
    ``cross_entropy(input.movedim(-1, 1), target)``; ``reduction="none"``
    gives the target's shape. Without it the classes are on axis 1, but an
    input of three or more axes with an integer target shaped like
    ``input.shape[:-1]`` is refused (the classes look last, where PyTorch
    would read axis 1: an error when T ≠ C, a wrong loss when T = C); pass
    ``class_axis=1`` to keep PyTorch's reading.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(CrossEntropy.name, reduction, positional=False)
    if class_axis is not None:
        input, target = _classes_on_axis_1(input, target, class_axis)  # noqa: A001
    else:
        _refuse_classes_last(input, target)
    z = _array(input)
    _warn_if_probabilities(z)
    weight = _constant_weight(CrossEntropy.name, "weight", weight, z.dtype)
    return CrossEntropy(reduction, ignore_index, weight, label_smoothing)(input, _target(target))


def _classes_on_axis_1(input, target, class_axis):  # noqa: A002
    """``input`` (and a probability target of its shape) with ``class_axis`` moved to axis 1 (0 unbatched)."""
    shape = tuple(_array(input).shape)
    ndim = len(shape)
    if isinstance(class_axis, bool) or not isinstance(class_axis, numbers.Integral):
        raise OpError(f"cross_entropy: class_axis must be an int, got {class_axis!r}")
    if not -max(ndim, 1) <= class_axis < max(ndim, 1):
        raise OpError(f"cross_entropy: class_axis={class_axis} is out of range for an input of shape "
                      f"{shape}")
    axis, home = int(class_axis) % max(ndim, 1), 0 if ndim <= 1 else 1
    if axis == home:
        return input, target
    probabilities = _array(target).dtype.kind == "f" and tuple(xp.shape(_array(target))) == shape
    input = _moved(input, axis, home)  # noqa: A001
    return input, (_moved(target, axis, home) if probabilities else target)


def _moved(x, source, destination):
    return movedim(x, source, destination) if isinstance(x, Tensor) else xp.moveaxis(xp.asarray(x), source,
                                                                                      destination)


def _refuse_classes_last(input, target):  # noqa: A002
    """Refuse (N, T, C)-looking logits read with classes on axis 1 (module docstring)."""
    shape, y = tuple(_array(input).shape), _array(target)
    if len(shape) < 3 or y.dtype.kind == "f" or tuple(y.shape) != shape[:-1]:
        return
    if shape[1] == shape[-1] == 1:  # one class either way: both readings give the same loss
        return
    c = shape[-1]
    move = ("cross_entropy(logits.transpose(1, 2), target) (or swapaxes(logits, 1, 2))" if len(shape) == 3 else
            "cross_entropy(movedim(logits, -1, 1), target)")
    effect = (f"here axis 1 has {shape[1]} entries, as many as the {c} classes on the last axis, so it would "
              f"silently compute a different loss" if shape[1] == c else
              f"here the target would need shape {shape[:1] + shape[2:]}")
    raise OpError(
        f"cross_entropy: input of shape {shape} with integer target of shape {tuple(y.shape)}: the classes look "
        f"to be on the last axis (sequence logits (N, T, C) with targets (N, T)), but cross_entropy reads them on "
        f"axis 1 (PyTorch's (N, C, d1, …) layout; {effect}). Flatten the steps: "
        f"cross_entropy(logits.reshape(-1, {c}), target.reshape(-1)); or move the classes to axis 1: "
        f"{move}; or name the class axis: cross_entropy(logits, target, class_axis=-1) "
        f"(class_axis=1 if the input really is (N, C, d1, …))")
