"""Adadelta, Adamax, NAdam, RAdam, Rprop and ASGD with PyTorch 2.13's update rules,
hyper-parameter names, defaults, errors and ``state_dict`` layout.

Each is an ``Optimizer`` (``optimizer.py``) that gives ``update(param, grad, state, group)``;
the base class negates the gradient first when ``maximize`` is set, as PyTorch does. The
arithmetic follows PyTorch's single-tensor kernels step for step (the same operations in the
same order), so the parameters agree with PyTorch's to the last bits in float64.

``foreach``, ``capturable`` and ``differentiable`` are PyTorch's arguments, accepted and kept
in the parameter groups (so ``state_dict`` has PyTorch's keys), and change nothing here: the
update is one loop over the parameters either way (``foreach``), there are no CUDA graphs to
capture (``capturable``), and the update is never recorded on the tape (``differentiable``).

PyTorch keeps a few per-parameter scalars (NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``)
as 0-d tensors of float32, or float64 when that is the default dtype, and rounds them to it at
every step; here they are Python numbers rounded the same way (to ``rg.get_default_dtype()``'s
precision), so the updates agree with PyTorch's exactly, not only to float32 accuracy.
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.tensor import get_default_dtype
from .optimizer import Optimizer


def _scalar(value) -> float:
    """``value`` rounded as PyTorch stores an optimizer's scalar state: float64 when that is the
    default dtype, float32 otherwise (``torch.optim.optimizer._get_scalar_dtype``)."""
    if xp.dtype(get_default_dtype()) == xp.float64:
        return float(value)
    return float(xp.float32(value))


def _lerp_(start, end, weight: float) -> None:
    """``start ← start + weight·(end − start)`` in place, as PyTorch's ``lerp_`` computes it
    (from the nearer end: ``end − (end − start)·(1 − weight)`` when weight ≥ 0.5)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): a step whose size adapts to the ratio of two running averages.

    v ← ρv + (1 − ρ)g²;  Δ = √(u + ε) / √(v + ε) · g;  u ← ρu + (1 − ρ)Δ²;  p ← p − lr·Δ

    (g includes ``weight_decay``·p). ``rho`` must lie in [0, 1]. ``foreach``, ``capturable``
    and ``differentiable`` are accepted and change nothing (the step is never recorded on the
    tape, whatever ``differentiable`` says)."""

    defaults = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False, capturable=False, foreach=None,
                    differentiable=False)

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                         capturable=capturable, foreach=foreach, differentiable=differentiable)

    def _check(self, group):
        super()._check(group)
        rho = group.get("rho", 0.0)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"{type(self).__name__}: invalid rho value: {rho} (must be in [0, 1])")

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            state["acc_delta"] = xp.zeros_like(p.data)
        state["step"] += 1
        rho, eps = group["rho"], group["eps"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += (1 - rho) * g * g
        delta = xp.sqrt(acc + eps) / xp.sqrt(sq + eps) * g
        acc *= rho
        acc += (1 - rho) * delta * delta
        p.data -= group["lr"] * delta


class Adamax(Optimizer):
    """Adamax (Kingma & Ba 2015, §7): Adam with the infinity norm for the second moment.

    m ← β₁m + (1 − β₁)g;  u ← max(β₂u, abs(g) + ε);  p ← p − lr/(1 − β₁ᵗ) · m / u

    ``foreach``, ``capturable`` and ``differentiable`` are accepted and change nothing (the step is
    never recorded on the tape, whatever ``differentiable`` says)."""

    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=None, maximize=False,
                    differentiable=False, capturable=False)

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 foreach: bool | None = None, *, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=foreach,
                         maximize=maximize, differentiable=differentiable, capturable=capturable)

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_inf"] = xp.zeros_like(p.data)
        state["step"] += 1
        b1, b2 = group["betas"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        _lerp_(state["exp_avg"], g, 1 - b1)
        u = state["exp_inf"]
        u *= b2
        xp.maximum(u, xp.abs(g) + group["eps"], out=u)  # NaN propagates, as torch.maximum
        clr = group["lr"] / (1 - b1 ** state["step"])
        p.data -= clr * state["exp_avg"] / u


class NAdam(Optimizer):
    """NAdam (Dozat 2016): Adam with Nesterov momentum and a momentum schedule.

    μₜ = β₁(1 − ½·0.96^(t·ψ)) (ψ = ``momentum_decay``), Πₜ = μ₁⋯μₜ;
    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  d = √(v / (1 − β₂ᵗ)) + ε;
    p ← p − lr(1 − μₜ)/(1 − Πₜ) · g/d − lr·μₜ₊₁/(1 − Πₜμₜ₊₁) · m/d

    ``decoupled_weight_decay``: p ← p(1 − lr·λ) first (NAdamW) instead of g ← g + λp.
    ``foreach``, ``capturable`` and ``differentiable`` are accepted and change nothing (the step is
    never recorded on the tape, whatever ``differentiable`` says)."""

    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                    decoupled_weight_decay=False, maximize=False, foreach=None, capturable=False,
                    differentiable=False)
    rules = {**Optimizer.rules, "momentum_decay": "invalid momentum_decay value: {}"}

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                         maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable)

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        lr, wd, (b1, b2), psi = group["lr"], group["weight_decay"], group["betas"], group["momentum_decay"]
        if wd:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        # torch multiplies its 0-d float32 (or float64) tensor by mu cast to that dtype; the product of
        # two float32 numbers is exact in double, so rounding it once gives float32's product
        prod = _scalar(_scalar(state["mu_product"]) * _scalar(mu))
        state["mu_product"] = prod
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1 - b1)
        v *= b2
        v += (1 - b2) * g * g
        denom = xp.sqrt(v / (1 - b2 ** t)) + group["eps"]
        p.data -= lr * (1.0 - mu) / (1.0 - prod) * g / denom
        p.data -= lr * mu_next / (1.0 - prod * mu_next) * m / denom


class RAdam(Optimizer):
    """RAdam (Liu et al. 2020): Adam with the variance of its adaptive rate rectified.

    m, v as Adam's; ρ∞ = 2/(1 − β₂) − 1, ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ); with m̂ = m/(1 − β₁ᵗ):
    p ← p − lr·m̂·√(1 − β₂ᵗ)/(√v + ε)·r, r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ)), when ρₜ > 5;
    p ← p − lr·m̂ (plain momentum SGD) in the first steps, while ρₜ ≤ 5.

    ``decoupled_weight_decay``: p ← p(1 − lr·λ) first (RAdamW) instead of g ← g + λp.
    ``foreach``, ``capturable`` and ``differentiable`` are accepted and change nothing (the step is
    never recorded on the tape, whatever ``differentiable`` says)."""

    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False, foreach=None,
                    capturable=False, decoupled_weight_decay=False, differentiable=False)

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize,
                         foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                         differentiable=differentiable)

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        lr, wd, (b1, b2) = group["lr"], group["weight_decay"], group["betas"]
        if wd:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1 - b1)
        v *= b2
        v += (1 - b2) * g * g
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        m_hat = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        if rho_t > 5.0:  # the variance of the adaptive rate is tractable: rectify it
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = (bc2 ** 0.5) / (xp.sqrt(v) + group["eps"])
            p.data -= m_hat * lr * adaptive * rect
        else:
            p.data -= m_hat * lr


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun 1993): only the sign of the gradient counts.

    Each entry has its own step size s (``lr`` at first): where the gradient kept its sign,
    s ← min(s·η₊, s_max); where it flipped, s ← max(s·η₋, s_min) and that entry does not move
    this step (its gradient is taken as 0, so it will not count as a flip next step);
    p ← p − sign(g)·s. ``etas`` = (η₋, η₊) with 0 < η₋ < 1 < η₊; ``step_sizes`` = (s_min, s_max).
    ``foreach``, ``capturable`` and ``differentiable`` are accepted and change nothing (the step is
    never recorded on the tape, whatever ``differentiable`` says)."""

    defaults = dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), foreach=None, maximize=False,
                    differentiable=False, capturable=False)

    def __init__(self, params, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        super().__init__(params, lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                         maximize=maximize, differentiable=differentiable, capturable=capturable)

    def _check(self, group):
        super()._check(group)
        if "etas" in group:
            etas = group["etas"]
            if not (isinstance(etas, (tuple, list)) and len(etas) == 2 and 0.0 < etas[0] < 1.0 < etas[1]):
                shown = f"{etas[0]}, {etas[1]}" if isinstance(etas, (tuple, list)) and len(etas) == 2 else repr(etas)
                raise ValueError(f"{type(self).__name__}: invalid eta values: {shown} (need 0 < etaminus < 1 < "
                                 f"etaplus)")

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["prev"] = xp.zeros_like(p.data)
            state["step_size"] = xp.full(p.shape, group["lr"], dtype=p.dtype)
        state["step"] += 1
        eta_minus, eta_plus = group["etas"]
        lo, hi = group["step_sizes"]
        # +1 kept its sign, −1 flipped, 0 no history; NaN stays NaN (an array even for a 0-d parameter)
        factor = xp.asarray(xp.sign(g * state["prev"])).copy()
        plus, minus, zero = factor > 0, factor < 0, factor == 0
        factor[plus] = eta_plus
        factor[minus] = eta_minus
        factor[zero] = 1
        size = state["step_size"]
        size *= factor
        xp.clip(size, lo, hi, out=size)
        g = xp.array(g, copy=True)
        g[factor == eta_minus] = 0  # a flipped entry waits a step
        p.data -= xp.sign(g) * size
        state["prev"][...] = g


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky 1992), with the step-size schedule of Bottou (2012).

    p ← p(1 − λη) − η·g;  ā ← p while μ = 1, then ā ← ā + μ(p − ā);
    η ← lr / (1 + λ·lr·t)^α;  μ ← 1 / max(1, t − t₀)

    (λ = ``lambd``). The average ā is kept in the state as ``ax``: PyTorch's ASGD does not put it
    into the parameters either; read ``optimizer.state_dict()["state"][i]["ax"]``.
    ``foreach``, ``capturable`` and ``differentiable`` are accepted and change nothing (the step is
    never recorded on the tape, whatever ``differentiable`` says)."""

    defaults = dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, foreach=None, maximize=False,
                    differentiable=False, capturable=False)
    # PyTorch checks only lr and weight_decay here (alpha is an exponent, not a decay rate)
    rules = {k: v for k, v in Optimizer.rules.items() if k != "alpha"}

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0.0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        super().__init__(params, lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                         maximize=maximize, differentiable=differentiable, capturable=capturable)

    def update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["eta"] = _scalar(group["lr"])
            state["mu"] = 1.0
            state["ax"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        lr, lambd = group["lr"], group["lambd"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        eta = state["eta"]
        p.data *= 1 - lambd * eta
        p.data -= eta * g
        if state["mu"] != 1:
            state["ax"] += (p.data - state["ax"]) * state["mu"]
        else:
            state["ax"][...] = p.data
        state["eta"] = _scalar(lr / ((1 + lambd * lr * t) ** group["alpha"]))
        state["mu"] = _scalar(1 / max(1, t - group["t0"]))


__all__ = ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"]
