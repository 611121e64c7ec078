"""Per-step alignment: how well each mode's estimate of dLₜ/dθ points where the exact one does.

Marschall, Cho & Savin (2020) compare online algorithms by the cosine, at every
step, between an algorithm's gradient estimate and the exact one (RTRL's), and
by the variance of the stochastic ones (UORO, KF-RTRL). ``alignment`` computes
both for the user's own model and any modes — online or truncated BPTT — from
``gradient(..., per_step=True)``:

    cosₜ = ⟨ĝₜ, gₜ⟩ / (‖ĝₜ‖ ‖gₜ‖)        (gₜ = dLₜ/dθ exact: ``full()``'s per-step gradient)
    varₜ = E‖ĝₜ − E ĝₜ‖² / ‖gₜ‖²          (over ``seeds`` runs of a stochastic mode; 0 otherwise)

with all parameters flattened into one vector. A biased mode shows a cosine
below 1 even without noise (a truncation, RFLO, SnAp); an unbiased noisy one
(UORO) shows a low cosine per seed but a mean estimate that aligns.
"""

from __future__ import annotations

import copy

import numpy as np

from .api import gradient
from .modes import Full


class Alignment:
    """Per-step cosine and relative variance of each mode's estimate (``alignment``)."""

    def __init__(self, T, cosine: dict, mean_cosine: dict, variance: dict, seeds: dict):
        self.T = T
        self.cosine = cosine            # mode → (T,): cosine of each seed's estimate, averaged over seeds
        self.mean_cosine = mean_cosine  # mode → (T,): cosine of the estimate averaged over seeds
        self.variance = variance        # mode → (T,): E‖ĝ − Eĝ‖² / ‖g‖²
        self.seeds = seeds              # mode → number of runs

    def __str__(self):
        lines = ["per-step alignment with the exact dLₜ/dθ (cosine averaged over steps and seeds)",
                 f"{'mode':<22}{'cosine':>10}{'cos of mean':>14}{'rel. variance':>16}{'seeds':>7}"]
        for m in self.cosine:
            lines.append(f"{m:<22}{np.nanmean(self.cosine[m]):>10.4f}{np.nanmean(self.mean_cosine[m]):>14.4f}"
                         f"{np.nanmean(self.variance[m]):>16.4e}{self.seeds[m]:>7}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain lists (JSON): {"T", "modes": [{"mode", "cosine", "mean_cosine", "variance", "seeds"}]}."""
        def clean(a):
            return [None if not np.isfinite(v) else float(v) for v in a]
        return {"T": self.T, "modes": [{"mode": m, "cosine": clean(self.cosine[m]),
                                        "mean_cosine": clean(self.mean_cosine[m]),
                                        "variance": clean(self.variance[m]), "seeds": self.seeds[m]}
                                       for m in self.cosine]}

    def plot(self, path: str, title: str | None = None) -> str:
        """Cosine per step for every mode (matplotlib), written to ``path``."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for m, c in self.cosine.items():
            ax.plot(np.arange(self.T), c, label=m, lw=1.2)
        ax.set_xlabel("step t")
        ax.set_ylabel("cos(ĝₜ, dLₜ/dθ)")
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(title or "per-step alignment with the exact gradient")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def _flat(per: dict, T: int) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).reshape(T, -1) for v in per.values()], axis=1)


def _cos(a, b):
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((na > 0) & (nb > 0), (a * b).sum(1) / (na * nb), np.where(na == nb, 1.0, 0.0))


def alignment(model, xs, ys, loss_fn, modes, state=None, batch_first: bool = False, *, mask=None, reset=None,
              seeds: int = 8) -> Alignment:
    """Each mode's per-step alignment with the exact per-step gradient (``rg.bptt.alignment``'s
    module docstring).
    ``modes``: a list of modes (online or truncated BPTT); a stochastic one (``uoro``,
    ``kf_rtrl``) runs ``seeds`` times with seeds ``mode.seed + k`` (0 + k when None)."""
    kw = dict(state=state, batch_first=batch_first, mask=mask, reset=reset)
    exact = gradient(model, xs, ys, loss_fn, Full(), per_step=True, **kw)
    T = next(iter(exact.values())).shape[0]
    g = _flat(exact, T)
    cosine, mean_cosine, variance, counts = {}, {}, {}, {}
    for mode in modes:
        runs = []
        n = seeds if getattr(mode, "stochastic", False) else 1
        for k in range(n):
            m = mode
            if n > 1:
                m = copy.copy(mode)
                m.seed = (mode.seed or 0) + k
            runs.append(_flat(gradient(model, xs, ys, loss_fn, m, per_step=True, **kw), T))
        runs = np.stack(runs)  # (seeds, T, P)
        key = repr(mode)
        cosine[key] = np.mean([_cos(r, g) for r in runs], axis=0)
        mean = runs.mean(0)
        mean_cosine[key] = _cos(mean, g)
        norm2 = (g * g).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = ((runs - mean) ** 2).sum(2).sum(0) / max(n - 1, 1)
            variance[key] = np.where(norm2 > 0, spread / norm2, np.nan)
        counts[key] = n
    return Alignment(T, cosine, mean_cosine, variance, counts)


__all__ = ["alignment", "Alignment"]
