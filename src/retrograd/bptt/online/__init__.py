"""Online credit assignment: real-time recurrent learning and its approximations.

BPTT waits for the end of a sequence (or of a truncation window) and runs
backwards. The online algorithms carry forward, with the state, the
**influence** of every parameter on it, Mₜ = dsₜ/dθ, and can give the gradient
of every step's loss at that step (Williams & Zipser 1989)::

    Mₜ = Jₜ Mₜ₋₁ + Iₜ            Jₜ = ∂sₜ/∂sₜ₋₁,  Iₜ = ∂sₜ/∂θ (the step alone)
    dLₜ/dθ = ∂Lₜ/∂θ + ∂Lₜ/∂sₜ₋₁ · Mₜ₋₁

That recursion *is* forward-mode differentiation through time: Mₜ is the
tangent of sₜ when sₜ₋₁ carries the tangent Mₜ₋₁ and θ its own basis. So
``rtrl()`` records each step of the user's model and pushes Mₜ₋₁ through it
with the ops' jvps (``autograd.forward``), every parameter direction at once
(a leading axis of P directions; a parameter read by a linear layer gets its
immediate influence written in place, ``forward.Basis``).

The approximations keep less than the n×P influence per row:

==============  ==============================================================  =========================
mode            influence kept (per row)                                        source
==============  ==============================================================  =========================
``rtrl()``      Mₜ exact                                                        Williams & Zipser 1989
``snap(n)``     Mₜ on the entries a parameter can reach within n steps          Menick et al. 2021
                (structural pattern), zero elsewhere
``rflo(d)``     Mₜ = d·Mₜ₋₁ + Iₜ  (Jₜ replaced by d·I: a leaky cell's 1 − α)     Murray 2019
``uoro()``      Mₜ ≈ ũₜ θ̃ₜᵀ, rank one, unbiased (random signs ν)               Tallec & Ollivier 2018
``kf_rtrl()``   Mₜ ≈ uₜ ⊗ Aₜ (Kronecker factors of the one weight matrix        Mujika et al. 2018
                over [s; x; 1]), unbiased (random signs c₁, c₂)
==============  ==============================================================  =========================

Every estimate of step t's gradient is assembled the same way: with
cₜ = ∂Lₜ/∂sₜ and M̃ the kept influence,

    ĝₜ = (∂Lₜ/∂θ − cₜ Iₜ) + cₜ M̃ₜ + (∂Lₜ/∂sₜ₋₁ − cₜ Jₜ) M̃ₜ₋₁

the exact gradient of what does not pass through the new state, plus the
influence's share. With the exact Mₜ this is dLₜ/dθ; for a model whose output
reads the new state (Marschall et al.'s network) it is cₜ M̃ₜ plus the
readout's gradient, as in the papers. Parameters that do not reach the state
(a readout) get their exact gradient.
"""

from __future__ import annotations

from .base import EPSILON, OnlineMode
from .estimators import KFRTRL, UORO
from .exact import RFLO, RTRL, SnAp
from .run import OnlineRun, recurrent_indices


def rtrl(*, compile: bool = False) -> RTRL:
    """Exact real-time recurrent learning (``RTRL``). ``compile=True``: the model's step is
    traced once and replayed (``autograd.replay``), for every mode."""
    return RTRL(compile=compile)


def uoro(seed=None, init: str = "zeros", *, compile: bool = False) -> UORO:
    """Unbiased online recurrent optimisation (``UORO``)."""
    return UORO(seed, init, compile=compile)


def kf_rtrl(seed=None, init: str = "zeros", *, compile: bool = False) -> KFRTRL:
    """Kronecker-factored RTRL (``KFRTRL``)."""
    return KFRTRL(seed, init, compile=compile)


def snap(n: int = 1, *, compile: bool = False) -> SnAp:
    """SnAp-n: RTRL on the n-step sparsity pattern (``SnAp``)."""
    return SnAp(n, compile=compile)


def rflo(decay: float, *, compile: bool = False) -> RFLO:
    """RFLO's influence: Jₜ replaced by decay·I (``RFLO``)."""
    return RFLO(decay, compile=compile)


__all__ = ["OnlineMode", "OnlineRun", "RTRL", "UORO", "KFRTRL", "SnAp", "RFLO", "rtrl", "uoro", "kf_rtrl", "snap",
           "rflo", "EPSILON", "recurrent_indices"]
