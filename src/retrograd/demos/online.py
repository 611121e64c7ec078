"""Online learning beyond BPTT: RTRL, UORO, KF-RTRL, SnAp-1, RFLO and truncated BPTT on the Add task.

Marschall, Cho & Savin (2020, JMLR) compared the online algorithms on one
network and one task; this demo runs the same comparison with retrograd's
modes on a model written as a user would write it:

    hₜ = W_rec aₜ₋₁ + W_in xₜ + b,   aₜ = (1 − α) aₜ₋₁ + α tanh(hₜ),   zₜ = W_out aₜ + b_out

(n_h = 32, α = 1, softmax cross-entropy). The Add task: xₜ ~ Bernoulli(½), fed
as (xₜ, 1 − xₜ); the target is the distribution (pₜ, 1 − pₜ) with
pₜ = ½ + ½ xₜ₋₅ − ¼ xₜ₋₉. The cross-entropy cannot go below 0.662 without
memory, 0.519 knowing xₜ₋₅, 0.454 knowing both: the plot draws these floors
under each mode's learning curve (online SGD, one update per step; the
truncations ``chunk(10)`` and ``chunk(4)`` update after each chunk).

The network is written in Mujika's form — one weight over [aₜ₋₁; xₜ] and its
bias — so KF-RTRL applies; it is the same network as W_rec, W_in, b.
Learning rates: 0.03 (their choice), 0.003 for UORO and KF-RTRL (their UORO
diverged at 0.01; their KF-RTRL result is at 0.003). The claim: RTRL's mean
loss over the last 5000 steps is below 0.47, and every mode's curve is finite.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

import retrograd as rg
from retrograd import bptt, nn
from retrograd.nn.module import Parameter

DESCRIPTION = "Add task: RTRL, UORO, KF-RTRL, SnAp-1, RFLO and truncated BPTT learning online, with the floors"

FLOORS = {"no memory": 0.662, "knows x(t-5)": 0.519, "knows x(t-5), x(t-9)": 0.454}


def add_task(steps: int, seed: int, t1: int = 5, t2: int = 9):
    """Inputs (T, 1, 2) and target distributions (T, 1, 2) of the Add task (one row)."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.5, steps + t2)
    p = 0.5 + 0.5 * x[t2 - t1:steps + t2 - t1] - 0.25 * x[:steps]
    x = x[t2:]
    xs = np.stack([x, 1 - x], axis=1).astype(np.float64)[:, None, :]
    ys = np.stack([p, 1 - p], axis=1).astype(np.float64)[:, None, :]
    return xs, ys


class LeakyRNN(nn.Module):
    """aₜ = (1 − α) aₜ₋₁ + α tanh(W [aₜ₋₁; xₜ] + b), zₜ = W_out aₜ + b_out."""

    def __init__(self, n_in: int, n_h: int, n_out: int, alpha: float, rng):
        super().__init__()
        w_rec = rng.normal(0, np.sqrt(1 / n_h), (n_h, n_h))
        w_in = rng.normal(0, np.sqrt(1 / n_in), (n_h, n_in))
        self.W = Parameter(np.concatenate([w_rec, w_in], axis=1))
        self.b = Parameter(np.zeros(n_h))
        self.W_out = Parameter(rng.normal(0, np.sqrt(1 / n_h), (n_out, n_h)))
        self.b_out = Parameter(np.zeros(n_out))
        self.alpha = alpha

    def forward(self, x, a):
        h = rg.linear(rg.cat([a, x], -1), self.W, self.b)
        a = (1 - self.alpha) * a + self.alpha * rg.tanh(h)
        return rg.linear(a, self.W_out, self.b_out), a


def modes(seed: int):
    """(label, mode, learning rate) of every curve; the online modes replay a traced step
    (``compile=True``: the eager run's numbers, in less time)."""
    return [("RTRL", bptt.rtrl(compile=True), 0.03), ("UORO", bptt.uoro(seed=seed, compile=True), 0.003),
            ("KF-RTRL", bptt.kf_rtrl(seed=seed, compile=True), 0.003), ("SnAp-1", bptt.snap(1, compile=True), 0.03),
            ("RFLO", bptt.rflo(0.0, compile=True), 0.03), ("chunk(10)", bptt.chunk(10), 0.03),
            ("chunk(4)", bptt.chunk(4), 0.03)]


def run(out_dir: str = ".", seed: int = 0, steps: int = 30_000, n_h: int = 32, only=None, verbose: bool = True,
        plot: bool = True) -> dict:
    """Train every mode (or those labelled in ``only``) from the same initial network on the
    same sequence; returns {"losses": {label: per-step losses}, "final": {label: mean of the
    last 5000 (or last sixth)}, "ok", "files"}."""
    previous = rg.get_default_dtype()
    rg.set_default_dtype(np.float64)
    try:
        xs, ys = add_task(steps, seed)
        tail = min(5000, max(steps // 6, 1))
        losses, final, seconds = {}, {}, {}
        for label, mode, lr in modes(seed):
            if only is not None and label not in only:
                continue
            model = LeakyRNN(2, n_h, 2, 1.0, np.random.default_rng(seed + 1))
            opt = rg.optim.SGD(model.parameters(), lr=lr)
            t0 = time.perf_counter()
            with warnings.catch_warnings():  # two small logits can sum to 1: they are logits all the same
                warnings.filterwarnings("ignore", message="cross_entropy: the input looks like probabilities")
                res = bptt.train(model, xs, ys, rg.cross_entropy, opt, mode, state=rg.zeros(1, n_h))
            seconds[label] = time.perf_counter() - t0
            losses[label] = np.asarray(res.losses)
            final[label] = float(np.mean(losses[label][-tail:]))
            if verbose:
                print(f"{label:<10} lr {lr:<6} mean loss of the last {tail} steps {final[label]:.3f}  "
                      f"({seconds[label] / steps * 1e3:.2f} ms/step)")
    finally:
        rg.set_default_dtype(previous)
    finite = all(np.isfinite(v).all() for v in losses.values())
    ok = finite and ("RTRL" not in final or final["RTRL"] < 0.47)
    files = []
    if plot:
        files.append(_plot(losses, os.path.join(out_dir, "online.png")))
        if verbose:
            print(f"wrote {files[-1]}")
    if verbose:
        print("floors: " + ", ".join(f"{k} {v}" for k, v in FLOORS.items()))
        print("claim: RTRL ends below 0.47 and every curve is finite: " + ("yes" if ok else "NO"))
    return {"losses": losses, "final": final, "seconds": seconds, "ok": ok, "files": files}


def _plot(losses: dict, path: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    for label, curve in losses.items():
        width = max(1, min(500, len(curve) // 20))
        smooth = np.convolve(curve, np.ones(width) / width, mode="valid")
        ax.plot(np.arange(len(smooth)) + width, smooth, label=label, lw=1.2)
    for text, y in FLOORS.items():  # the floors, labelled in the right margin, clear of the curves
        ax.axhline(y, color="grey", ls="--", lw=0.8)
        ax.annotate(text, xy=(1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", color="grey", fontsize=8)
    ax.set_xlabel("step (online SGD)")
    ax.set_ylabel("cross-entropy (running mean)")
    ax.set_ylim(0.42, 0.76)
    ax.set_title("Add task: online credit assignment, n_h = 32")
    ax.legend(fontsize=8, ncol=4, loc="upper center")
    fig.tight_layout()
    fig.subplots_adjust(right=0.83)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
