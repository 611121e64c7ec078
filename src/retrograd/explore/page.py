"""Writing the trace explorer: the JSON it embeds and the one HTML file.

The file holds everything it needs (CSS, script, data, a static image): it
opens from disk with no network. The data is in
``<script type="application/json" id="retrograd-trace">``::

    {"format": "retrograd-explorer/1", "title": …, "T": …, "B": …, "rows_shown": …,
     "modes": [GradientTrace.to_dict() of each mode …],
     "connectivity": Connectivity.to_dict() or null,
     "alignment": Alignment.to_dict() or null}

``alignment`` (``rg.bptt.alignment`` of the traced modes and any online ones:
{"T", "modes": [{"mode", "cosine", "mean_cosine", "variance", "seeds"}]}, one
value per step, null where undefined) is absent from pages written before it
existed; the page then says it was not computed.

Numbers are the traces' float64 values, unrounded (Python's shortest
round-trip repr); ±∞ and NaN, which JSON lacks, are the strings "Infinity",
"-Infinity" and "NaN".
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re

import numpy as np

from ._assets import asset, script


def _finite(obj):
    """A copy of ``obj`` with non-finite floats as strings (JSON has no ∞ or NaN)."""
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return _finite(obj.item())
    return obj


def dumps(data) -> str:
    """JSON for a ``<script>`` element: no ``<`` inside (it could close the element)."""
    return json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def explorer_data(traces, title: str | None = None, max_rows: int = 8, alignment=None) -> dict:
    """The explorer's data for ``traces`` (GradientTraces of one run, one per
    mode): each mode's ``to_dict``, the connectivity of the first trace
    that has one (every mode of a run shares it), and ``alignment`` (an
    ``rg.bptt.Alignment`` of the same run, or its ``to_dict()``; None: not
    computed)."""
    traces = list(traces)
    if not traces:
        raise ValueError("rg.explore: no trace to show")
    T, B = traces[0].T, traces[0].B
    for tr in traces:
        if (tr.T, tr.B) != (T, B):
            raise ValueError(f"rg.explore: the traces are not of one run: {traces[0].mode} has T = {T}, B = {B}, "
                             f"{tr.mode} has T = {tr.T}, B = {tr.B}")
    conn = next((tr.connectivity for tr in traces if tr.connectivity is not None), None)
    if alignment is not None:
        alignment = alignment.to_dict() if hasattr(alignment, "to_dict") else dict(alignment)
        if alignment["T"] != T:
            raise ValueError(f"rg.explore: the alignment is not of the traced run: T = {alignment['T']}, "
                             f"the traces have T = {T}")
    return {"format": "retrograd-explorer/1", "title": title or f"gradient flow over {T} steps",
            "T": T, "B": B, "rows_shown": min(B, max_rows),
            "modes": [tr.to_dict(max_rows=max_rows) for tr in traces],
            "connectivity": None if conn is None else conn.to_dict(max_rows=max_rows),
            "alignment": alignment}


def fallback_png(traces) -> bytes | None:
    """A static picture of every mode's heatmap (for print and for a viewer
    without JavaScript), or None without matplotlib. Fixed size whatever T."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    traces = list(traces)
    fig, axes = plt.subplots(len(traces), 1, figsize=(10, 0.9 + 1.5 * len(traces)), squeeze=False)
    for ax, tr in zip(axes[:, 0], traces):
        qs = tr.quantities()
        data = np.array([np.abs(v) for _, _, v, _ in qs])
        peak = np.maximum(data.max(axis=1, keepdims=True), 1e-300)
        with np.errstate(divide="ignore"):
            logd = np.log10(np.maximum(data / peak, 1e-8))
        im = ax.imshow(logd, aspect="auto", cmap="magma", vmin=-8, vmax=0, interpolation="nearest",
                       extent=(-0.5, tr.T - 0.5, len(qs) - 0.5, -0.5))
        ax.set_yticks(range(len(qs)))
        ax.set_yticklabels([label for _, label, _, _ in qs], fontsize=6)
        ax.set_title(str(tr.mode), fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time step t (from 0)")
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="log10 (value / row max)", shrink=0.8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return buf.getvalue()


_BODY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>@@TITLE@@</title><style>@@CSS@@</style></head>
<body>
<header><h1>@@TITLE@@</h1>
<p class="note">@@SUBTITLE@@</p>
<div class="controls">
<label>mode <select id="mode"></select></label>
<label>batch row <select id="row"></select></label>
<label>show <select id="view"><option value="values">values</option>
<option value="diff">difference from full()</option></select></label>
<label>colour scale: each quantity's max over <select id="norm"><option value="all">all modes</option>
<option value="mode">this mode</option></select></label>
<span class="note" id="mode-summary"></span>
</div></header>
<figure class="fallback">@@FALLBACK@@</figure>
<main class="interactive">
<section class="panel" id="panel-flow"><h2>Gradient flow through time</h2>
<p class="note">‖∂L/∂hₜ‖ of the selected mode (red; the other modes grey), then every quantity over t on a log
colour scale (@@DECADES@@ decades below the quantity's max; grey: exactly 0): ‖∂L/∂hₜ‖, ‖∂L/∂cₜ‖, each gate's
pre-activation delta, and each step's share of every parameter's gradient (magnitude; hover for the sign).
"show: difference from full()" colours |mode − full()| on the same scale, so what a truncation changes stands
out even where the values agree to four digits.
A cyan bar marks a row whose state was reset before step 0; grey ticks mark padded steps. Hover for exact values.</p>
<canvas id="flow-line"></canvas><canvas id="heatmap"></canvas></section>
<section class="panel" id="panel-reach"><h2>Which losses reach which steps</h2>
<p class="note" id="reach-note"></p>
<canvas id="reach"></canvas>
<div class="legend"><span><i style="background:#2f6db5"></i>reach of ℓₜ (colours alternate by update)</span>
<span><i style="background:#c0392b"></i>▼ an update (after its last loss)</span>
<span><i style="background:#e2e2e6"></i>run without a tape</span></div></section>
<section class="panel" id="panel-conn"><h2>Connectivity ‖∂ℓₜ/∂x<sub>t′</sub>‖ and the truncation's bias</h2>
<p class="note">How strongly the loss at step t depends on the input at step t′; a truncation keeps the full
value inside each loss's reach and cuts the rest (light cells). One colour scale for both.</p>
<div class="pair"><div><h3>full BPTT</h3><canvas id="conn-full"></canvas></div>
<div><h3 id="conn-mode-title">under the mode</h3><canvas id="conn-mode"></canvas></div></div>
<table id="bias"></table></section>
<section class="panel" id="panel-schedule"><h2>Checkpointing schedule</h2>
<p class="note" id="schedule-note"></p><canvas id="schedule"></canvas></section>
<section class="panel" id="panel-alignment"><h2>Per-step alignment with the exact gradient</h2>
<p class="note">cos(ĝₜ, dLₜ/dθ) at every step t: how well each mode's estimate of the gradient of the loss at
step t (all parameters as one vector) points where the exact one does (full BPTT's, which RTRL equals).
A truncation or an approximate influence (SnAp, RFLO) is biased: below 1 without noise. A stochastic mode
(UORO, KF-RTRL) runs once per seed: its solid line is the cosine of each seed's estimate averaged over the
seeds, its dashed line the cosine of their mean; the table adds the variance over seeds relative to ‖dLₜ/dθ‖².
The selected mode is drawn thick. Hover for exact values.</p>
<p class="note" id="alignment-note"></p>
<canvas id="alignment"></canvas>
<div class="legend" id="alignment-legend"></div>
<table id="alignment-table"></table></section>
</main>
<div id="tooltip" role="tooltip"></div>
<script type="application/json" id="retrograd-trace">@@DATA@@</script>
<script>@@JS@@</script>
</body></html>
"""


_MARKER = re.compile(r"@@([A-Z]+)@@")


def fill(template: str, values: dict) -> str:
    """``template`` with each ``@@NAME@@`` replaced by ``values[NAME]``.

    The template is split on its markers once and the values joined in
    between, so a value that contains a marker (a title ``"@@JS@@"``, a mode
    name, the script itself) is never searched for one and stays as it is."""
    parts = _MARKER.split(template)  # text, name, text, name, …, text
    names = set(parts[1::2])
    if names != set(values):
        raise KeyError(f"the page template's markers {sorted(names)} and the values {sorted(values)} differ")
    return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))


def render(data: dict, png: bytes | None = None) -> str:
    """The explorer page for ``data`` (``explorer_data``) as one HTML string."""
    title = html.escape(data["title"])
    modes = ", ".join(m["mode"] for m in data["modes"])
    traced = {m["mode"] for m in data["modes"]}
    online = [m["mode"] for m in (data.get("alignment") or {}).get("modes", []) if m["mode"] not in traced]
    more = f"; online modes (alignment only): {', '.join(online)}" if online else ""
    subtitle = html.escape(f"T = {data['T']} steps, B = {data['B']} batch rows; modes: {modes}{more}. "
                           "Steps are numbered from 0, as in the code.")
    if png is not None:
        fallback = (f'<img alt="gradient heatmaps of {html.escape(modes)}" '
                    f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                    "<figcaption>static view (print, or no JavaScript)</figcaption>")
    else:
        fallback = "<figcaption>(no static image: matplotlib is not installed)</figcaption>"
    return fill(_BODY, {"TITLE": title, "SUBTITLE": subtitle, "DECADES": "8", "FALLBACK": fallback,
                        "CSS": asset("style.css"), "JS": script("trace.js"), "DATA": dumps(data)})


def write_html(traces, path, title: str | None = None, *, fallback: bool = True, max_rows: int = 8,
               alignment=None) -> str:
    """Write the explorer of ``traces`` (``GradientTrace``s of one run, one
    per mode; or a single trace) to ``path``: one self-contained HTML file.
    ``fallback``: embed a static PNG (matplotlib) shown in print and without
    JavaScript; ``max_rows``: per-row values for at most that many batch rows
    (they dominate the file size); ``alignment``: an ``rg.bptt.Alignment`` of
    the same run for the alignment panel (None: the panel says it was not
    computed). Returns the path."""
    if not isinstance(traces, (list, tuple)):
        traces = [traces]
    data = explorer_data(traces, title, max_rows, alignment)
    page = render(data, fallback_png(traces) if fallback else None)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return str(path)


def read_data(path) -> dict:
    """The JSON an explorer file embeds (the strings "Infinity", "-Infinity",
    "NaN" turned back into floats)."""
    text = open(path, encoding="utf-8").read()
    start = text.index('<script type="application/json" id="retrograd-trace">')
    start = text.index(">", start) + 1
    end = text.index("</script>", start)

    def back(obj):
        if isinstance(obj, str) and obj in ("Infinity", "-Infinity", "NaN"):
            return float(obj.replace("Infinity", "inf").replace("NaN", "nan"))
        if isinstance(obj, dict):
            return {k: back(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [back(v) for v in obj]
        return obj

    return back(json.loads(text[start:end]))
