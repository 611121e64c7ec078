"""``rg.explore``: see backpropagation through time in the browser.

One self-contained HTML file per view (inline CSS and script, no network):

* ``rg.explore.explore(model, xs, ys, loss_fn, modes=[…], path="bptt.html")``
  traces full BPTT and every mode on the same run and writes an explorer with
  a selector between the modes and between the batch rows: the time × quantity
  heatmap (‖∂L/∂hₜ‖, ‖∂L/∂cₜ‖, per-gate deltas, each step's share of every
  parameter's gradient, log colour scale), each mode's reach drawn from its
  jobs, the connectivity matrix ‖∂ℓₜ/∂x_{t′}‖ full and truncated with the
  bias report per parameter, and the schedule of a checkpointed mode (which
  states are stored, which steps recomputed). Hover shows exact values.
* ``trace.to_html(path)`` (``rg.bptt.trace``): the same page for one trace.
* ``rg.explore.explain_html(loss, path)``: the recorded graph of any tape
  (what ``rg.explain`` prints) with each op's shapes, gradient norms and saved
  bytes, clickable.

The data a page draws is embedded as JSON in
``<script type="application/json" id="retrograd-trace">`` (``read_data``
returns it), so other tools can read it. Layer: above ``bptt`` (it imports
``bptt``, ``recurrent``, ``nn``, ``ops``, ``autograd`` and ``plot`` only).
"""

from __future__ import annotations

from ..bptt import diagnostics as _inspect
from ..bptt.alignment import Alignment
from ..bptt.alignment import alignment as _alignment
from ..bptt.diagnostics import compare, trace
from ..bptt.modes import Full, Mode, chunk, full, tail, williams_peng, window
from ..bptt.online import OnlineMode
from .explain import ExplainGraph, explain_html
from .page import explorer_data, read_data, write_html

_inspect.register_html_writer("trace", write_html)


def default_modes(T: int) -> list:
    """full(), chunk(k), williams_peng(k/2, k), window(k) and tail(k) with k = T/4:
    sizes at which every mode's picture differs."""
    k = max(2, T // 4)
    return [full(), chunk(k), williams_peng(max(1, k // 2), k), window(k), tail(k)]


class Explorer:
    """The traces of several modes on one run (``explore``'s result):
    ``traces`` maps each mode's name to its ``GradientTrace`` (each with the
    shared ``connectivity`` and its ``bias`` against full BPTT); ``alignment``
    the ``rg.bptt.Alignment`` of the traced and online modes (None when not
    computed); ``path`` is the file written, if any. ``to_html(path)`` writes
    (again)."""

    def __init__(self, traces: dict, title: str | None = None, alignment: Alignment | None = None):
        self.traces, self.title, self.alignment, self.path = traces, title, alignment, None

    @property
    def connectivity(self):
        return next(iter(self.traces.values())).connectivity

    def data(self, max_rows: int = 8) -> dict:
        """The JSON the page embeds (``rg.explore.page``)."""
        return explorer_data(list(self.traces.values()), self.title, max_rows, alignment=self.alignment)

    def to_html(self, path, title: str | None = None, **options) -> str:
        """Write the explorer (``write_html``'s options: ``fallback``, ``max_rows``); returns the path."""
        self.path = write_html(list(self.traces.values()), path, title or self.title, alignment=self.alignment,
                               **options)
        return self.path

    def __repr__(self):
        return f"Explorer({', '.join(self.traces)}{', ' + self.path if self.path else ''})"


def explore(model, xs, ys, loss_fn, modes=None, path=None, *, state=None, batch_first: bool = False, mask=None,
            reset=None, connectivity: int | bool = 100, title: str | None = None, online=None,
            alignment: bool = False, seeds: int = 8, **options) -> Explorer:
    """Trace full BPTT and every mode of ``modes`` (default ``default_modes(T)``)
    on the same run (parameters fixed; arguments as ``rg.bptt.trace``), and,
    with ``path``, write the explorer there.

    Full BPTT is always traced (the reference of every mode's bias; shown
    first when ``modes`` has no plain ``full()``). The connectivity
    ‖∂ℓₜ/∂x_{t′}‖ is computed once, on at most ``connectivity`` loss and input
    steps (``False``: not at all; it costs one backward pass per loss step
    shown), and each mode's is the full one cut to its reach (exact: see
    ``rg.bptt.inspect.Connectivity``). ``options`` go to ``write_html``
    (``fallback``, ``max_rows``). Returns an ``Explorer``.

    ``online``: online modes (``rg.bptt.rtrl()``, ``uoro(seed)``, ``kf_rtrl(seed)``,
    ``snap(n)``, ``rflo(decay)``); one inside ``modes`` is moved here (they
    have no trace: no heatmap, reach or connectivity). With any online mode,
    or ``alignment=True``, ``rg.bptt.alignment`` is computed for the traced
    modes and the online ones together, on the same run (a stochastic mode
    ``seeds`` times), and the page shows it: the cosine of each mode's
    estimate of dLₜ/dθ with the exact one at every step, and the relative
    variance over seeds (``Explorer.alignment``; ``data["alignment"]``)."""
    T = len(xs[0]) if batch_first else len(xs)
    modes = default_modes(T) if modes is None else list(modes)
    online = list(online or [])
    for m in online:
        if not isinstance(m, OnlineMode):
            raise TypeError(f"rg.explore.explore: online must hold online modes (rg.bptt.rtrl(), uoro() …), got {m!r}"
                            + ("; put a truncation mode in modes" if isinstance(m, Mode) else ""))
    for m in modes:
        if not isinstance(m, (Mode, OnlineMode)):
            raise TypeError(f"rg.explore.explore: modes must be rg.bptt modes (full(), chunk(k), rtrl() …), "
                            f"got {m!r}")
    online = [m for m in modes if isinstance(m, OnlineMode)] + online
    modes = [m for m in modes if isinstance(m, Mode)]
    run = dict(state=state, batch_first=batch_first, mask=mask, reset=reset)
    reference = trace(model, xs, ys, loss_fn, Full(), connectivity=connectivity, **run)
    traces = {}
    plain_full = [m for m in modes if isinstance(m, Full) and not m.recompute]
    if not plain_full:
        traces[str(reference.mode)] = reference
    for m in modes:
        if isinstance(m, Full) and not m.recompute:
            tr = reference
        else:
            tr = trace(model, xs, ys, loss_fn, m, **run)
            tr.connectivity = reference.connectivity
            tr.bias = compare(m, tr.total, reference.total)
        traces[str(m)] = tr
    aligned = None
    if online or alignment:
        aligned = _alignment(model, xs, ys, loss_fn, [tr.mode for tr in traces.values()] + online, seeds=seeds,
                             **run)
    result = Explorer(traces, title, aligned)
    if path is not None:
        result.to_html(path, **options)
    return result


__all__ = ["explore", "Explorer", "default_modes", "write_html", "explorer_data", "read_data", "explain_html",
           "ExplainGraph"]
