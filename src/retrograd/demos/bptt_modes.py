"""Every truncation mode on one sequence, side by side with full BPTT.

For a small LSTM on one sequence this prints, for each mode, which losses
reach which steps, the gradient's relative error and cosine against full
BPTT per parameter (``rg.bptt.bias_report``), and draws the per-step gradient
flow of full BPTT and of each mode (``rg.bptt.trace``) in one figure: the
heatmap shows where each mode stops the gradient, and ‖∂L/∂hₜ‖ decaying
backwards shows the vanishing gradient that makes truncation cheap. It also
writes ``bptt_modes.html``, the interactive explorer of the same run
(``rg.explore``): every mode's heatmap, reach, connectivity ‖∂ℓₜ/∂x_{t′}‖,
bias, and the schedule of binomial checkpointing (``full(snapshots=4)``).

The printed pictures cover 16 steps: enough for every mode's reach to differ
(over 12 steps ``williams_peng(4, 12)`` reaches back to step 0 everywhere,
like ``full()``).
"""

from __future__ import annotations

import os

import numpy as np

import retrograd as rg
from retrograd import bptt, nn
from retrograd import explore as rg_explore

DESCRIPTION = "one sequence, every truncation mode's gradient against full BPTT, bias report, gradient heatmap"


class Tagger(nn.Module):
    sequence_model = True

    def __init__(self, inputs=3, hidden=16, classes=3):
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden)
        self.readout = nn.Linear(hidden, classes)

    def forward(self, x, state):
        h, state = self.lstm(x, state)
        return self.readout(h), state


PICTURE_STEPS = 16  # williams_peng(4, 12) differs from full() only past step 12


def modes():
    return [bptt.full(), bptt.chunk(8), bptt.williams_peng(4, 12), bptt.window(8), bptt.tail(8)]


def run(out_dir: str = ".", seed: int = 0, T: int = 32, verbose: bool = True, plot: bool = True) -> dict:
    """Run the demo (see ``retrograd.demos.bptt_modes``'s module docstring);
    returns its results as a dict (the tests check them)."""
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Tagger().double()
    xs = rng.standard_normal((T, 4, 3))
    ys = (np.cumsum(xs[..., 0], axis=0) > 0).astype(np.int64) + (xs[..., 1] > 1)  # depends on the past
    reports, traces = {}, {}
    # the gradient of the last loss alone decays backwards through time: vanishing gradients
    last_only = [np.full(ys.shape[1], -100)] * (T - 1) + [ys[-1]]
    traces["full(), last loss only"] = bptt.trace(model, xs, last_only, rg.cross_entropy, bptt.full())
    for mode in modes():
        traces[str(mode)] = bptt.trace(model, xs, ys, rg.cross_entropy, mode)
        if not isinstance(mode, bptt.Full):
            reports[str(mode)] = bptt.bias_report(model, xs, ys, rg.cross_entropy, mode)
        if verbose:
            print(f"\n{mode}: which losses reach which steps (first {PICTURE_STEPS} steps)")
            print(mode.picture(PICTURE_STEPS))
            if str(mode) in reports:
                print(reports[str(mode)])
    decay = traces["full(), last loss only"].vanishing_ratio()
    if verbose:
        print(f"\n‖∂ℓ_T/∂h_1‖ / max_t ‖∂ℓ_T/∂h_t‖ = {decay:.2e}: the last loss barely reaches the first steps")
    summary = {m: {"rel_error_weight_hh": r.as_dict()["lstm.weight_hh_l0"]["rel_error"],
                   "cosine_weight_hh": r.as_dict()["lstm.weight_hh_l0"]["cosine"]} for m, r in reports.items()}
    if verbose:
        print("\nsummary for lstm.weight_hh_l0 (the recurrent weights, where truncation matters):")
        for m, v in summary.items():
            print(f"  {m:<22} relative error {v['rel_error_weight_hh']:.3f}   cosine {v['cosine_weight_hh']:.4f}")
    path = _plot(os.path.join(out_dir, "bptt_modes.png"), traces, T) if plot else None
    if path:
        print(f"gradient flow heatmap written to {path}")
    html = None
    if plot:
        html = rg_explore.explore(model, xs, ys, rg.cross_entropy, modes() + [bptt.full(snapshots=4)],
                                  os.path.join(out_dir, "bptt_modes.html"),
                                  title=f"every truncation mode on one sequence (LSTM tagger, T = {T})").path
        print(f"interactive gradient explorer written to {html}")
    # the claims printed above: Williams & Peng's overlap is closer to full BPTT than plain chunks, and
    # Theano's tail (one window for all losses) further than a per-loss window of the same length
    errors = {m: v["rel_error_weight_hh"] for m, v in summary.items()}
    wp, ch, tl, wi = (next(v for m, v in errors.items() if m.startswith(p))
                      for p in ("williams_peng", "chunk", "tail", "window"))
    ok = wp < ch and tl > wi
    if not ok:
        print("bptt-modes: the truncation errors do not order as this demo claims (williams_peng < chunk, "
              "window < tail)")
    return {"reports": {m: r.as_dict() for m, r in reports.items()}, "summary": summary, "decay": decay,
            "h_norms": {m: t.h_norm for m, t in traces.items()}, "plot": path, "html": html, "ok": ok,
            "files": [f for f in (path, html) if f]}


def _plot(path, traces, T):
    from ..plot import _prepare, _pyplot

    plt = _pyplot()
    if plt is None:
        return None
    _prepare(path)
    names = list(traces)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.35 * len(names) + 1.2), sharex=True)
    peak = max(t.h_norm.max() for t in traces.values())
    for ax, name in zip(axes, names):
        tr = traces[name]
        rows = np.array([tr.h_norm, tr.c_norm] + [tr.gate_norm[g] for g in ("i", "f", "g", "o")])
        with np.errstate(divide="ignore"):
            data = np.log10(np.maximum(rows / peak, 1e-8))
        im = ax.imshow(data, aspect="auto", cmap="magma", vmin=-8, vmax=0,
                       extent=(0.5, tr.T + 0.5, rows.shape[0] - 0.5, -0.5))
        ax.set_yticks(range(rows.shape[0]))
        ax.set_yticklabels(["‖∂L/∂h‖", "‖∂L/∂c‖", "δi", "δf", "δg", "δo"], fontsize=7)
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1].set_xlabel("time step t")
    fig.suptitle(f"gradient flow per truncation mode: LSTM tagger, one sequence of T = {T} steps", fontsize=10)
    fig.colorbar(im, ax=axes, label="log10 (norm / max over all modes)", shrink=0.8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
