"""Seeing BPTT: per-time-step gradient flow (``trace``), what truncation
costs (``bias_report``) and how strongly each loss depends on each input
(``connectivity``).

A ``GradientTrace`` holds, besides the per-step norms summed over the batch,
the same norms per batch row, the mode's jobs (which losses reach which
steps), its checkpointing schedule when it recomputes, the mask and reset of
the run, and optionally the connectivity matrix and the bias report.
``trace.to_dict()`` is that data as plain lists (what ``rg.explore`` embeds in
its HTML explorer); ``trace.to_html(path)`` writes the explorer (the writer
lives in ``rg.explore``, a higher layer, which registers it when imported:
``import retrograd`` does).
"""

from __future__ import annotations

import numpy as np

from ..autograd import hooks
from ..recurrent import cells, fused
from .api import gradient, gradient_with_plan, record_plan
from .runner import Runner
from ..autograd.engine import grad as _grad
from ..autograd.tensor import Tensor
from .modes import Full, Mode
from .revolve import Advance, Free, Restore, Reverse, Store


def _norm(a) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


def _row_norms(a) -> np.ndarray:
    """Norm of each batch row of a per-step array: rows are axis −2 of a
    (…, B, H) array ((B, H) states and gate deltas, (num_layers, B, H) states
    of the fused layers), an array with one dimension is a single row."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < 2:
        return np.array([_norm(a)])
    a = np.moveaxis(a, -2, 0)
    return np.sqrt(np.sum(np.square(a.reshape(a.shape[0], -1)), axis=1))


_HTML_WRITERS = {}


def register_html_writer(kind: str, writer) -> None:
    """Install the function that renders ``kind`` ("trace") as HTML: ``rg.explore``
    (a higher layer, which ``rg.bptt`` may not import) registers itself here."""
    _HTML_WRITERS[kind] = writer


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

    Per batch row (``B`` rows; rows are axis −2 of the state, see
    ``_row_norms``): ``h_row_norm``, ``c_row_norm`` and ``gate_row_norm[g]``
    are (T, B) arrays whose rows' squares sum to the squares of the totals
    above. ``jobs`` lists the mode's jobs as (update, first, loss start, loss
    stop); ``plan`` is the mode's plan for T steps (fitted to the measured
    sizes for ``full(memory_budget=…)``), whose ``schedule`` says which states a
    checkpointed mode stores and which steps it recomputes; ``mask`` (T, B) and
    ``reset`` (B,) are the run's, or None. ``connectivity`` (a
    ``Connectivity``) and ``bias`` (a ``BiasReport``) are set when ``trace``
    is asked for them. ``to_dict()`` / ``to_html(path)``: the explorer's data
    and page.
    """

    def __init__(self, mode, rec, total, losses, *, plan=None, mask=None, reset=None, connectivity=None,
                 bias=None):
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
        seen = [a for a in rec.h if a is not None]
        self.B = len(_row_norms(seen[0])) if seen else 1

        def rows(seq):
            out = np.zeros((T, self.B))
            for t, a in enumerate(seq):
                if a is not None:
                    r = _row_norms(a)
                    if len(r) == self.B:
                        out[t] = r
            return out
        self.h_row_norm = rows(rec.h)
        self.c_row_norm = rows(rec.c) if self.c_norm is not None else None
        self.gate_row_norm = {g: rows(v) for g, v in rec.gates.items()}
        self.plan = plan if plan is not None else mode.plan(T)
        self.jobs = [(job.update, job.first, job.losses.start, job.losses.stop) for job in mode.iter_jobs(T)]
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.reset = None if reset is None else np.asarray(reset, dtype=bool)
        self.connectivity = connectivity
        self.bias = bias

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

    def schedule(self) -> dict | None:
        """The checkpointing schedule of the mode's plan as plain data, or None
        when the mode keeps every tape: the units' step bounds, the actions in
        order (``["store", u]``, ``["free", u]``, ``["restore", u]``,
        ``["advance", start unit, stop unit]``, ``["reverse", u]``), how many
        times each step is advanced (``runs``; the first sweep included), the
        steps whose incoming state the first sweep stores, and the totals."""
        sch = getattr(self.plan, "schedule", None)
        if sch is None:
            return None
        names = {Store: "store", Free: "free", Restore: "restore", Reverse: "reverse"}
        acts, runs = [], [0] * self.T
        for act in sch.actions():
            if isinstance(act, Advance):
                acts.append(["advance", act.start, act.stop])
                for step in range(sch.bounds(act.start)[0], sch.bounds(act.stop - 1)[1]):
                    runs[step] += 1
            else:
                acts.append([names[type(act)], act.unit])
        return {"T": sch.T, "unit": sch.unit, "snapshots": sch.snapshots,
                "units": [list(sch.bounds(u)) for u in range(sch.n)], "actions": acts, "runs": runs,
                "first_sweep": list(sch.first_sweep), "recomputed": sch.recomputed,
                "peak_snapshots": sch.peak_snapshots, "repetition": sch.repetition, "describe": str(sch)}

    def quantities(self) -> list:
        """The heatmap's rows as (key, label, values over t, per-row (T, B) values or None)."""
        out = [("h", "‖∂L/∂h‖", self.h_norm, self.h_row_norm)]
        if self.c_norm is not None:
            out.append(("c", "‖∂L/∂c‖", self.c_norm, self.c_row_norm))
        out += [(f"gate:{g}", f"gate {g} δ", v, self.gate_row_norm.get(g)) for g, v in self.gate_norm.items()]
        out += [(f"share:{n}", f"{n} share", v, None) for n, v in self.param_share.items()]
        return out

    def to_dict(self, max_rows: int = 8) -> dict:
        """The trace as plain JSON-ready data (what the HTML explorer embeds):
        the mode, T, B, each quantity over t (``values``; a parameter's share is
        signed, the heatmap draws its magnitude) and per batch row (``rows``, a
        list of B lists, for the first ``max_rows`` rows), the step losses, the
        jobs, the no-grad prefix, the checkpointing schedule, the mask / reset
        and the bias report. Every number is the trace's float64, unrounded.
        The connectivity matrix is not included (``Connectivity.to_dict``): it
        is shared by every mode traced on one run."""
        shown = min(self.B, max_rows)
        quantities = [{"key": key, "label": label, "values": [float(v) for v in values],
                       "rows": None if per_row is None else
                       [[float(v) for v in per_row[:, b]] for b in range(shown)]}
                      for key, label, values, per_row in self.quantities()]
        mode = self.mode
        params = {k: getattr(mode, k) for k in ("k", "k1", "k2", "checkpoint_every", "snapshots", "memory_budget")
                  if getattr(mode, k, None) is not None}
        return {
            "mode": str(mode), "kind": type(mode).__name__, "params": params, "T": self.T, "B": self.B,
            "rows_shown": shown, "quantities": quantities, "losses": [float(v) for v in self.losses],
            "jobs": [list(j) for j in self.jobs], "no_grad_prefix": int(getattr(self.plan, "no_grad_prefix", 0)),
            "updates": len({j[0] for j in self.jobs}), "schedule": self.schedule(),
            "mask": None if self.mask is None else self.mask.astype(int).tolist(),
            "reset": None if self.reset is None else self.reset.astype(int).tolist(),
            "vanishing_ratio": self.vanishing_ratio(),
            "bias": None if self.bias is None else self.bias.to_list(),
        }

    def to_html(self, path, title: str | None = None, **options):
        """Write the interactive explorer of this trace to ``path`` (one
        self-contained HTML file; ``rg.explore.write_html`` documents it and
        its ``options``). Returns the path."""
        writer = _HTML_WRITERS.get("trace")
        if writer is None:
            raise RuntimeError("GradientTrace.to_html: the HTML writer is rg.explore's; import retrograd.explore "
                               "(import retrograd does) before calling it")
        return writer([self], path, title=title, **options)

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
          reset=None, connectivity: bool | int = False, bias: bool = False) -> GradientTrace:
    """Run ``mode`` over the sequence (parameters fixed) and record, per time
    step, ‖∂L/∂hₜ‖ (and ‖∂L/∂cₜ‖ for an LSTM), the per-gate delta norms and
    each step's share of every parameter gradient. ``xs``/``ys`` are (T, B, …),
    or (B, T, …) with ``batch_first=True``; ``mask`` / ``reset`` as in
    ``rg.bptt.gradient`` (padded steps keep a row's state and add no loss).

    ``connectivity=True`` (or a number of steps n) also computes
    ``trace.connectivity`` (``connectivity()``: ‖∂ℓₜ/∂x_{t′}‖ on at most n = 100
    loss and input steps; one backward pass per loss step shown), and
    ``bias=True`` ``trace.bias`` (the ``bias_report`` against full BPTT, from
    one more pass). For ``full(memory_budget=…)`` the mode is also run once as
    ``gradient`` runs it, to fit its checkpointing schedule (``trace.plan``)."""
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
        _, followed = runner.run(collect)
    record_plan(mode, followed)  # as before the runner returned its plan: the single-step plan this trace ran
    params = dict(model.named_parameters())
    total = {n: total.get(n, np.zeros(params[n].shape)) for n in names}
    plan = mode.plan(runner.T)
    if plan.needs_measurement:  # the trace ran single steps: run the mode itself to fit its schedule
        _, plan = gradient_with_plan(model, xs, ys, loss_fn, mode, state, batch_first, mask=mask, reset=reset)
    run_mask = None if runner.mask is None else np.asarray(runner.mask, dtype=bool)
    run_reset = None if reset is None else np.asarray(reset, dtype=bool).reshape(-1)
    tr = GradientTrace(mode, rec, total, runner.step_losses.copy(), plan=plan, mask=run_mask, reset=run_reset)
    if connectivity:
        steps = 100 if connectivity is True else int(connectivity)
        tr.connectivity = _connectivity(model, xs, ys, loss_fn, state, batch_first, mask=mask, reset=reset,
                                        max_steps=steps)
    if bias:
        g_full = gradient(model, xs, ys, loss_fn, Full(), state, batch_first, mask=mask, reset=reset)
        tr.bias = compare(mode, total, g_full)
    return tr


class Connectivity:
    """‖∂ℓₜ/∂x_{t′}‖: how strongly the loss at step t depends on the input at
    step t′ under full BPTT (``full``, an L × S array over ``loss_steps`` ×
    ``input_steps``; ``full_rows`` the same per batch row, B × L × S, or None
    when the inputs have no batch axis) — lower-triangular, since ℓₜ depends
    on inputs up to t only.

    Under a truncation mode, ℓₜ's gradient reaches the steps s of its job's
    reach, first … t, and there the truncated ∂ℓₜ/∂x_s *equals* the full one:
    every path from x_s to ℓₜ runs through steps s … t, all after the cut
    (the state entering ``first``). So the mode's matrix is the full one times
    ``mode.reach(T)`` (``of(mode)``), exactly. Norms are over the input's
    features (and rows, for ``full``)."""

    def __init__(self, T, loss_steps, input_steps, full, full_rows):
        self.T, self.loss_steps, self.input_steps = T, list(loss_steps), list(input_steps)
        self.full, self.full_rows = full, full_rows

    def reach_mask(self, mode: Mode) -> np.ndarray:
        """The mode's reach on this grid: mask[i, j] when ℓ_{loss_steps[i]} reaches input_steps[j]."""
        mask = np.zeros((len(self.loss_steps), len(self.input_steps)), dtype=bool)
        row = {t: i for i, t in enumerate(self.loss_steps)}
        cols = np.asarray(self.input_steps)
        for job in mode.iter_jobs(self.T):
            for t in job.losses:
                if t in row:
                    mask[row[t]] = (cols >= job.first) & (cols <= t)
        return mask

    def of(self, mode: Mode) -> np.ndarray:
        """The connectivity under ``mode``: the full matrix where the mode's reach has it, 0 elsewhere."""
        return np.where(self.reach_mask(mode), self.full, 0.0)

    def to_dict(self, max_rows: int = 8) -> dict:
        """Plain data: the steps, the full matrix (``values``, a list per loss
        step) and per batch row (``rows``, the first ``max_rows``), float64 unrounded."""
        rows = None if self.full_rows is None else \
            [[[float(v) for v in line] for line in m] for m in self.full_rows[:max_rows]]
        return {"T": self.T, "loss_steps": self.loss_steps, "input_steps": self.input_steps,
                "values": [[float(v) for v in line] for line in self.full], "rows": rows}


def _grid(T, n):
    """At most n steps of 0 … T−1, evenly spread, first and last included."""
    if T <= n:
        return list(range(T))
    return sorted({int(round(v)) for v in np.linspace(0, T - 1, n)})


def connectivity(model, xs, ys, loss_fn, state=None, batch_first: bool = False, *, mask=None, reset=None,
                 max_steps: int = 100) -> Connectivity:
    """‖∂ℓₜ/∂x_{t′}‖ under full BPTT for t, t′ on a grid of at most ``max_steps``
    steps each (see ``Connectivity``): the sequence is recorded once on one
    tape with the inputs as leaves, then one backward pass per loss step on
    the grid. ``xs`` must be an array or Tensor (T, B, …) ((B, T, …) with
    ``batch_first``), or a list of equal-shape steps."""
    data = xs.data if isinstance(xs, Tensor) else np.asarray(xs)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    leaf = Tensor(data, requires_grad=True)
    runner = Runner(model, leaf, ys, loss_fn, Full(), state, segment=len(data[0] if batch_first else data),
                    batch_first=batch_first, check_model=True, mask=mask, reset=reset)
    T = runner.T
    (seg,) = list(runner._recorded_segments())
    loss_steps, input_steps = _grid(T, max_steps), _grid(T, max_steps)
    time_axis = 1 if batch_first else 0
    per_row = data.ndim >= 3
    full = np.zeros((len(loss_steps), len(input_steps)))
    rows = np.zeros((data.shape[1 - time_axis], len(loss_steps), len(input_steps))) if per_row else None
    for i, t in enumerate(loss_steps):
        loss = seg.losses[t]
        if loss is None or not loss.requires_grad:
            continue
        (g,) = _grad([loss], [leaf], retain_graph=True, allow_unused=True)
        if g is None:
            continue
        g = np.moveaxis(np.asarray(g.data, dtype=np.float64), time_axis, 0)[input_steps]  # (S, [B,] …)
        full[i] = np.sqrt(np.sum(np.square(g.reshape(len(input_steps), -1)), axis=1))
        if per_row:
            sq = np.square(g.reshape(g.shape[0], g.shape[1], -1)).sum(axis=2)  # (S, B)
            rows[:, i, :] = np.sqrt(sq).T
    return Connectivity(T, loss_steps, input_steps, full, rows)


_connectivity = connectivity  # ``trace``'s argument of the same name hides the function there


class BiasReport:
    """Truncated gradient against the full one, per parameter."""

    def __init__(self, mode, rows):
        self.mode, self.rows = mode, rows  # rows: (name, rel_error, cosine, norm_mode, norm_full)
        self.alignment = None  # per-step alignment (bias_report(..., per_step=True))

    def __str__(self):
        lines = [f"bias of {self.mode} against full(): per parameter",
                 f"{'parameter':<20}{'rel. error':>12}{'cosine':>10}{'‖g mode‖':>12}{'‖g full‖':>12}"]
        for name, rel, cos, nm, nf in self.rows:
            lines.append(f"{name:<20}{rel:>12.3e}{cos:>10.4f}{nm:>12.4e}{nf:>12.4e}")
        if self.alignment is not None:
            lines += ["", str(self.alignment)]
        return "\n".join(lines)

    def as_dict(self):
        """{parameter: {"rel_error", "cosine"}}."""
        return {name: {"rel_error": rel, "cosine": cos} for name, rel, cos, _, _ in self.rows}

    def to_list(self):
        """Every row as {"parameter", "rel_error", "cosine", "norm_mode", "norm_full"} (plain floats)."""
        return [{"parameter": name, "rel_error": float(rel), "cosine": float(cos), "norm_mode": float(nm),
                 "norm_full": float(nf)} for name, rel, cos, nm, nf in self.rows]


def compare(mode, g_mode: dict, g_full: dict) -> BiasReport:
    """The ``BiasReport`` of gradient ``g_mode`` against ``g_full`` (both {name: array})."""
    rows = []
    for name in g_full:
        a, b = np.asarray(g_mode[name], dtype=np.float64).ravel(), np.asarray(g_full[name], dtype=np.float64).ravel()
        nb, na = _norm(b), _norm(a)
        rel = _norm(a - b) / nb if nb > 0 else (0.0 if na == 0 else np.inf)
        cos = float(a @ b) / (na * nb) if na > 0 and nb > 0 else (1.0 if na == nb else 0.0)
        rows.append((name, rel, cos, na, nb))
    return BiasReport(mode, rows)


def bias_report(model, xs, ys, loss_fn, mode: Mode, state=None, *, per_step: bool = False,
                seeds: int = 8) -> BiasReport:
    """What truncation (or an online approximation) costs: relative error
    ‖g − g_full‖/‖g_full‖ and cosine between the mode's gradient and full BPTT's,
    for every parameter. ``per_step=True`` adds ``report.alignment``
    (``rg.bptt.alignment``): the cosine of the mode's estimate of each step's
    dLₜ/dθ with the exact one, and its variance over ``seeds`` runs of a
    stochastic mode (UORO, KF-RTRL)."""
    g_mode = gradient(model, xs, ys, loss_fn, mode, state)
    g_full = gradient(model, xs, ys, loss_fn, Full(), state)
    report = compare(mode, g_mode, g_full)
    if per_step:
        from .alignment import alignment
        report.alignment = alignment(model, xs, ys, loss_fn, [mode], state, seeds=seeds)
    return report


__all__ = ["trace", "GradientTrace", "bias_report", "BiasReport", "compare", "connectivity", "Connectivity",
           "register_html_writer"]
