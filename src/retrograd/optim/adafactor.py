"""Adafactor (Shazeer & Stern 2018) with PyTorch 2.13's update rule, hyper-parameters, defaults,
errors and ``state_dict`` layout (``torch.optim.Adafactor``).

Adam keeps a second-moment estimate V as large as the parameter. Adafactor keeps, for a matrix
gradient G of shape (…, m, n), only its row means R (…, m, 1) and column means C (…, 1, n) of G²
and rebuilds V as their outer product scaled by the mean row factor: V̂ = R·C / mean(R), a rank-1
estimate that costs m + n numbers instead of m·n. A vector (or 0-d) parameter keeps the full
average, as Adam does. The step follows PyTorch's single-tensor kernel operation for operation,
so the parameters agree with PyTorch's to the last bits in float64.
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from .optimizer import Optimizer
from .optimizers_extra import _lerp_


def check_learning_rate(name: str, lr) -> float:
    """``lr`` as a float, refused as PyTorch's Adafactor and Muon refuse it: a Tensor with more
    than one element (``ValueError``), a negative or NaN one (``ValueError``), a non-number
    (``TypeError``). Infinity is accepted, as in PyTorch."""
    if isinstance(lr, Tensor):
        if lr.numel() != 1:
            raise ValueError(f"{name}: Tensor lr must be 1-element (got shape {tuple(lr.shape)})")
        lr = float(lr)
    if isinstance(lr, (bool, str, bytes)) or not hasattr(lr, "__float__"):
        raise TypeError(f"{name}: lr must be a number, got {lr!r}")
    if not 0.0 <= float(lr):
        raise ValueError(f"{name}: Learning rate should be >= 0 but is: {lr}")
    return float(lr)


def _at_least(name: str, what: str, value, bound: float, sign: str = ">=") -> None:
    """``value`` ``sign`` ``bound`` (a NaN fails either way), else PyTorch's ``ValueError``."""
    if isinstance(value, (bool, str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(f"{name}: {what} must be a number, got {value!r}")
    ok = float(value) >= bound if sign == ">=" else float(value) <= bound
    if not ok:
        raise ValueError(f"{name}: {what} should be {sign} {bound:g} but is: {value}")


def refuse_complex(name: str, group) -> None:
    """PyTorch's check before a step touches anything: no complex parameter with a gradient."""
    for p in group["params"]:
        if p.grad is not None and xp.iscomplexobj(p.data):
            raise RuntimeError(f"{name} does not support complex parameters")


def _rms(a) -> float:
    """‖a‖₂ / √(number of elements), as PyTorch's ``a.norm(2).item() / a.numel() ** 0.5``."""
    return float(xp.sqrt(xp.sum(a * a))) / (a.size ** 0.5)


class Adafactor(Optimizer):
    """Adafactor: Adam's per-entry step sizes with a factored second moment (sublinear memory).

    At step t, with G the gradient (negated when ``maximize``), τ = ``beta2_decay``, λ =
    ``weight_decay``, d the clipping threshold and (ε₁, ε₂) = ``eps``::

        β̂ = 1 − t^τ;  ρ = min(lr, 1/√t);  α = max(ε₂, RMS(θ))·ρ;  θ ← θ(1 − lr·λ)
        G of 2 or more dimensions:  R ← β̂R + (1 − β̂)·mean_n(G²),  C ← β̂C + (1 − β̂)·mean_m(G²),
                                    V̂ = R·C / max(mean_m(R), ε₁)      (an outer product per matrix)
        otherwise:                  V̂ ← β̂V̂ + (1 − β̂)G²
        U = G / √max(V̂, ε₁²);  Û = U / max(1, RMS(U)/d);  θ ← θ − α·Û

    As in PyTorch (and unlike the paper), ``lr`` caps the relative step ρ and scales the decoupled
    weight decay; ε₁ (None: the machine epsilon of the first parameter's dtype in the group,
    as PyTorch) guards the final estimate rather than the factors. State per parameter:
    ``step`` and ``row_var`` (…, m, 1) and ``col_var`` (…, 1, n), or ``variance`` (the gradient's
    shape). ``foreach`` is PyTorch's argument, accepted; the update is one loop either way (the
    same numbers)."""

    defaults = dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, foreach=None,
                    maximize=False)
    rules: dict = {}  # PyTorch's own checks and wording, in ``_check``

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None, maximize: bool = False):
        eps = tuple(eps) if isinstance(eps, list) else eps  # a pair saved as a list is a tuple again
        super().__init__(params, lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                         foreach=foreach, maximize=maximize)

    def _check(self, group):
        """PyTorch's checks, in its order: lr ≥ 0, beta2_decay ≤ 0, ε₁ (unless None) ≥ 0, ε₂ ≥ 0,
        d ≥ 1, weight_decay ≥ 0."""
        super()._check(group)  # ``foreach`` None/True/False, as every retrograd optimizer
        name = type(self).__name__
        check_learning_rate(name, group["lr"])
        _at_least(name, "beta2_decay", group["beta2_decay"], 0.0, "<=")
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"{name}: eps must be a pair (eps1, eps2) with eps1 a number or None, got {eps!r}")
        if eps[0] is not None:
            _at_least(name, "epsilon1", eps[0], 0.0)
        _at_least(name, "epsilon2", eps[1], 0.0)
        _at_least(name, "Clipping threshold d", group["d"], 1.0)
        _at_least(name, "weight_decay", group["weight_decay"], 0.0)

    def _step_group(self, group, states):
        refuse_complex(type(self).__name__, group)
        eps1 = group["eps"][0]
        for p in group["params"]:
            if p.grad is None:
                continue
            if eps1 is None:  # PyTorch picks it once per group, from the first parameter stepped
                eps1 = float(xp.finfo(p.dtype).eps)
            g = p.grad.data
            self.update(p, -g if group["maximize"] else g, states.setdefault(id(p), {}), group, eps1)

    def update(self, p, g, state, group, eps1=None):
        """One Adafactor step of ``p`` with the gradient array ``g`` (already negated for
        ``maximize``); ``eps1`` None takes ε₁ from the group or ``p``'s dtype."""
        if not state:
            state["step"] = 0
            if g.ndim > 1:
                state["row_var"] = xp.zeros(g.shape[:-1] + (1,), dtype=g.dtype)
                state["col_var"] = xp.zeros(g.shape[:-2] + (1,) + g.shape[-1:], dtype=g.dtype)
            else:
                state["variance"] = xp.zeros_like(g)
        if eps1 is None:
            eps1 = group["eps"][0] if group["eps"][0] is not None else float(xp.finfo(p.dtype).eps)
        eps2 = group["eps"][1]
        lr, wd = float(group["lr"]), group["weight_decay"]
        state["step"] += 1
        t = float(state["step"])
        one_minus_beta2 = t ** group["beta2_decay"]
        rho = min(lr, 1 / (t ** 0.5))
        alpha = max(eps2, _rms(p.data)) * rho  # from the parameter before its weight decay
        if wd != 0:
            p.data *= 1 - lr * wd
        if g.ndim > 1:
            # mean(G², axis) computed as PyTorch does: the norm along the axis, squared, over the count
            row_mean = xp.sqrt(xp.sum(g * g, axis=-1, keepdims=True)) ** 2 / g.shape[-1]
            _lerp_(state["row_var"], row_mean, one_minus_beta2)
            col_mean = xp.sqrt(xp.sum(g * g, axis=-2, keepdims=True)) ** 2 / g.shape[-2]
            _lerp_(state["col_var"], col_mean, one_minus_beta2)
            var_estimate = xp.matmul(state["row_var"], state["col_var"])
            var_estimate /= xp.maximum(xp.mean(state["row_var"], axis=-2, keepdims=True), eps1)
        else:
            _lerp_(state["variance"], g * g, one_minus_beta2)
            var_estimate = state["variance"].copy()  # the update must not write into the state
        # ε₁ squared: the square root comes next
        update = 1.0 / xp.sqrt(xp.maximum(var_estimate, eps1 * eps1))
        update *= g
        denom = max(1.0, _rms(update) / group["d"])
        p.data -= (alpha / denom) * update

    def state_shape(self, param, name: str) -> tuple:
        """The shape of the state entry ``name`` of ``param``: ``row_var`` and ``col_var`` are the
        parameter's shape with its last, or second-to-last, dimension 1; the rest its own shape.
        (``rg.load`` checks a saved array against it.)"""
        shape = tuple(param.shape)
        if name == "row_var" and len(shape) > 1:
            return shape[:-1] + (1,)
        if name == "col_var" and len(shape) > 1:
            return shape[:-2] + (1,) + shape[-1:]
        return shape

    def restore_state(self, param, name: str, value, index: int):
        """As ``Optimizer.restore_state``, with the factored ``row_var`` / ``col_var`` checked
        against their own shapes (``state_shape``)."""
        if name in ("row_var", "col_var") and hasattr(value, "shape"):
            expected = self.state_shape(param, name)
            if tuple(value.shape) != expected:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state '{name}' of parameter {index} has "
                                 f"shape {tuple(value.shape)}; a parameter of shape {tuple(param.shape)} needs "
                                 f"{expected}")
            return xp.array(value, dtype=param.dtype, copy=True)
        return super().restore_state(param, name, value, index)


__all__ = ["Adafactor"]
