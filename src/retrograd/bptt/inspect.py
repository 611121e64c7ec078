"""Seeing BPTT: per-time-step gradient flow (``trace``) and what truncation
costs (``bias_report``)."""

from __future__ import annotations

import numpy as np

from ..autograd import hooks
from ..recurrent import cells, fused
from .engine import Runner, gradient
from .modes import Full, Mode


def _norm(a) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


class _Recorder:
    """Listens to a Runner (segments of one step) and to the cells / fused ops."""

    def __init__(self, T, names):
        self.T = T
        self.h = [None] * T        # summed ∂L/∂hₜ arrays
        self.c = [None] * T
        self.gates = {}            # gate name -> [summed delta arrays per step]
        self.param = {n: [None] * T for n in names}
        self.gate_tensors = {}     # step -> [(gate name, pre-activation Tensor)]
        self.current = None        # step whose vjp is running
        self.building = None       # step being recorded (forward)

    # --- forward: cells report their gate pre-activations
    def on_gates(self, cell, gates):
        if self.building is None:
            return
        kind = "LSTM" if isinstance(cell, cells.LSTMCell) else "GRU" if isinstance(cell, cells.GRUCell) else "RNN"
        names = cells.GATE_NAMES[kind] if kind != "RNN" else ("a",)
        self.gate_tensors.setdefault(self.building, []).extend(zip(names, gates))

    # --- backward: fused ops report per-step deltas
    def on_fused(self, op, t, dh, dc, da):
        if self.current is None or t != 0:  # segments are single steps: t is 0 within the op
            return
        step = self.current
        self._add(self.h, step, dh)
        if dc is not None:
            self._add(self.c, step, dc)
        kind = {"lstm_layer": "LSTM", "gru_layer": "GRU"}.get(op.name)
        names = cells.GATE_NAMES[kind] if kind else ("a",)
        H = da.shape[-1] // len(names)
        for i, name in enumerate(names):
            self._add(self.gates.setdefault(name, [None] * self.T), step, da[:, i * H:(i + 1) * H])
        self.fused = True

    @staticmethod
    def _add(store, step, arr):
        arr = np.asarray(arr, dtype=np.float64)
        store[step] = arr.copy() if store[step] is None else store[step] + arr

    # --- Runner protocol
    def forward_begin(self, start):
        self.building = start

    def forward_end(self):
        self.building = None

    def targets(self, seg):
        extra = [p for p in seg.state_out if p.requires_grad]
        extra += [t for _, t in self.gate_tensors.get(seg.start, []) if t.requires_grad]
        return extra

    def enter(self, seg):
        self.current = seg.start

    def exit(self, seg):
        self.current = None

    def segment_done(self, seg, job, names, param_grads, extra_grads):
        step = seg.start
        for name, g in zip(names, param_grads):
            if g is not None:
                self._add(self.param[name], step, g.data)
        states = [p for p in seg.state_out if p.requires_grad]
        if not getattr(self, "fused", False):
            for i, g in enumerate(extra_grads[:len(states)]):
                if g is not None:
                    self._add(self.h if i == 0 else self.c, step, g.data)
        gates = [(n, t) for n, t in self.gate_tensors.get(step, []) if t.requires_grad]
        for (name, _), g in zip(gates, extra_grads[len(states):]):
            if g is not None:
                self._add(self.gates.setdefault(name, [None] * self.T), step, g.data)


class GradientTrace:
    """Per-time-step view of one BPTT pass.

    ``h_norm[t]`` = ‖∂L/∂hₜ‖ (summed over the mode's jobs), ``c_norm`` the same
    for an LSTM's cell state, ``gate_norm[g][t]`` the norm of each gate's
    pre-activation delta (LSTM i, f, g, o; GRU r, z, n), ``param_norm[p][t]``
    the norm of step t's contribution to parameter p's gradient and
    ``param_share[p][t]`` its share of that gradient (projection on the total;
    the shares sum to 1). ``plot(path)`` draws the heatmap.
    """

    def __init__(self, mode, rec, total, losses):
        T = rec.T
        self.mode, self.T, self.losses = mode, T, losses
        self.total = total
        fill = lambda seq: np.array([0.0 if a is None else _norm(a) for a in seq])  # noqa: E731
        self.h_norm = fill(rec.h)
        self.c_norm = fill(rec.c) if any(a is not None for a in rec.c) else None
        self.gate_norm = {g: fill(v) for g, v in rec.gates.items()}
        self.param_norm = {n: fill(v) for n, v in rec.param.items()}
        self.param_share = {}
        for n, contribs in rec.param.items():
            g = total[n].astype(np.float64).ravel()
            gg = float(g @ g)
            self.param_share[n] = np.array([0.0 if a is None or gg == 0 else float(a.ravel() @ g) / gg
                                            for a in contribs])

    def rows(self):
        """(label, values over t) for every row of the heatmap."""
        out = [("‖∂L/∂h‖", self.h_norm)]
        if self.c_norm is not None:
            out.append(("‖∂L/∂c‖", self.c_norm))
        out += [(f"gate {g}", v) for g, v in self.gate_norm.items()]
        out += [(f"{n} share", np.abs(v)) for n, v in self.param_share.items()]
        return out

    def vanishing_ratio(self) -> float:
        """‖∂L/∂h‖ at the first step over its maximum: ≪ 1 means vanishing gradients."""
        peak = self.h_norm.max()
        return float(self.h_norm[0] / peak) if peak > 0 else 0.0

    def plot(self, path, title: str | None = None):
        """Save the gradient-flow figure (‖∂L/∂hₜ‖ and the heatmap) as a PNG."""
        from ..plot import _prepare, _pyplot

        plt = _pyplot()
        if plt is None:
            print("(matplotlib is not installed: pip install 'retrograd[plot]' to get the plot)")
            return None
        rows = self.rows()
        data = np.array([v for _, v in rows])
        norm = data / np.maximum(data.max(axis=1, keepdims=True), 1e-300)
        with np.errstate(divide="ignore"):
            logd = np.log10(np.maximum(norm, 1e-12))
        _prepare(path)
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6, self.T * 0.12 + 3), 2.2 + 0.32 * len(rows)),
                                       gridspec_kw={"height_ratios": [1, max(1, len(rows) / 3)]})
        ax1.semilogy(np.arange(1, self.T + 1), np.maximum(self.h_norm, 1e-300), marker=".")
        ax1.set_ylabel("‖∂L/∂hₜ‖")
        from matplotlib.ticker import NullFormatter

        ax1.yaxis.set_minor_formatter(NullFormatter())
        ax1.set_title(title or f"gradient flow, {self.mode}")
        ax1.grid(alpha=0.3)
        im = ax2.imshow(logd, aspect="auto", cmap="magma", vmin=-12, vmax=0,
                        extent=(0.5, self.T + 0.5, len(rows) - 0.5, -0.5))
        ax2.set_yticks(range(len(rows)))
        ax2.set_yticklabels([r for r, _ in rows])
        ax2.set_xlabel("time step t")
        fig.colorbar(im, ax=ax2, label="log10 (value / row max)")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def __str__(self):
        head = f"gradient flow over {self.T} steps, {self.mode}; ‖∂L/∂h‖ first/max = {self.vanishing_ratio():.2e}"
        cols = ["t", "‖∂L/∂h‖"] + (["‖∂L/∂c‖"] if self.c_norm is not None else []) + list(self.gate_norm)
        lines = [head, "  ".join(f"{c:>10}" for c in cols)]
        for t in range(self.T):
            vals = [self.h_norm[t]] + ([self.c_norm[t]] if self.c_norm is not None else []) + \
                   [v[t] for v in self.gate_norm.values()]
            lines.append(f"{t + 1:>10}  " + "  ".join(f"{v:>10.3e}" for v in vals))
        return "\n".join(lines)


def trace(model, xs, ys, loss_fn, mode: Mode = None, state=None, batch_first: bool = False, *, mask=None,
          reset=None) -> GradientTrace:
    """Run ``mode`` over the sequence (parameters fixed) and record, per time
    step, ‖∂L/∂hₜ‖ (and ‖∂L/∂cₜ‖ for an LSTM), the per-gate delta norms and
    each step's share of every parameter gradient. ``xs``/``ys`` are (T, B, …),
    or (B, T, …) with ``batch_first=True``; ``mask`` / ``reset`` as in
    ``rg.bptt.gradient`` (padded steps keep a row's state and add no loss)."""
    mode = mode or Full()
    names = [n for n, _ in model.named_parameters()]
    runner = Runner(model, xs, ys, loss_fn, mode, state, segment=1, batch_first=batch_first, check_model=True,
                    mask=mask, reset=reset)
    rec = runner.listener = _Recorder(runner.T, names)
    total = {}

    def collect(update, grads, retained, steps):
        for k, v in grads.items():
            total[k] = v if k not in total else total[k] + v

    with hooks.observe(cells.GATES_EVENT, rec.on_gates), hooks.observe(fused.STEP_EVENT, rec.on_fused):
        runner.run(collect)
    params = dict(model.named_parameters())
    total = {n: total.get(n, np.zeros(params[n].shape)) for n in names}
    return GradientTrace(mode, rec, total, runner.step_losses.copy())


class BiasReport:
    """Truncated gradient against the full one, per parameter."""

    def __init__(self, mode, rows):
        self.mode, self.rows = mode, rows  # rows: (name, rel_error, cosine, norm_mode, norm_full)

    def __str__(self):
        lines = [f"bias of {self.mode} against full(): per parameter",
                 f"{'parameter':<20}{'rel. error':>12}{'cosine':>10}{'‖g mode‖':>12}{'‖g full‖':>12}"]
        for name, rel, cos, nm, nf in self.rows:
            lines.append(f"{name:<20}{rel:>12.3e}{cos:>10.4f}{nm:>12.4e}{nf:>12.4e}")
        return "\n".join(lines)

    def as_dict(self):
        """{parameter: {"rel_error", "cosine"}}."""
        return {name: {"rel_error": rel, "cosine": cos} for name, rel, cos, _, _ in self.rows}


def bias_report(model, xs, ys, loss_fn, mode: Mode, state=None) -> BiasReport:
    """What truncation costs: relative error ‖g − g_full‖/‖g_full‖ and cosine
    between the mode's gradient and full BPTT's, for every parameter."""
    g_mode = gradient(model, xs, ys, loss_fn, mode, state)
    g_full = gradient(model, xs, ys, loss_fn, Full(), state)
    rows = []
    for name in g_full:
        a, b = g_mode[name].astype(np.float64).ravel(), g_full[name].astype(np.float64).ravel()
        nb, na = _norm(b), _norm(a)
        rel = _norm(a - b) / nb if nb > 0 else (0.0 if na == 0 else np.inf)
        cos = float(a @ b) / (na * nb) if na > 0 and nb > 0 else (1.0 if na == nb else 0.0)
        rows.append((name, rel, cos, na, nb))
    return BiasReport(mode, rows)


__all__ = ["trace", "GradientTrace", "bias_report", "BiasReport"]
