"""``rg.explain`` as a page: the recorded graph of one backward pass, clickable.

``explain_html(loss, path)`` runs the backward pass as ``rg.explain`` does
(non-destructive: the tape is kept, no ``.grad`` written) with a
``BackwardTrace`` that also remembers each op's node, so the page can draw
the graph: one box per op, from the loss (left) towards the leaves (right),
coloured by the norm of the gradient arriving at it (log scale) and sized by
the bytes it saved for its backward. Clicking an op (or its row in the table)
shows its shapes, gradient norms and saved bytes, and the ops it sends
gradient to and receives it from. The table of every step (``rg.explain``'s
columns, whatever they are) is in the page itself, so it prints and reads
without JavaScript.
"""

from __future__ import annotations

import html
import math
import os

import numpy as np

from ..autograd import graph
from ..autograd.explain import BackwardTrace, trace_backward
from ..autograd.tensor import Tensor
from ._assets import asset, script
from .page import dumps, fill


def _norm(g) -> float:
    if g is None:
        return 0.0
    if isinstance(g, (list, tuple)):
        return float(math.sqrt(sum(_norm(x) ** 2 for x in g)))
    v = g.data if isinstance(g, Tensor) else g
    return float(np.sqrt(np.sum(np.square(np.asarray(v), dtype=np.float64))))


class ExplainGraph(BackwardTrace):
    """A ``BackwardTrace`` (rows as ``rg.explain`` prints them) that also
    keeps, per step, the op's node, the numeric norm of the gradient arriving
    at it, and which recorded steps produced its inputs: the graph."""

    def __init__(self):
        super().__init__()
        self.nodes, self.grad_norms = [], []

    def record(self, node, g, *args, **kwargs):
        super().record(node, g, *args, **kwargs)
        self.nodes.append(node)
        self.grad_norms.append(_norm(g))

    def data(self, title: str | None = None) -> dict:
        """The page's JSON: the header, each step's cells, its numeric
        gradient norm and saved bytes, and the steps its inputs come from."""
        index = {id(n): i for i, n in enumerate(self.nodes)}
        steps = []
        for i, (node, row) in enumerate(zip(self.nodes, self.rows)):
            inputs, leaves = [], []
            for edge, x in zip(graph.inputs(node), node.xs):
                if isinstance(edge, graph.Edge) and id(edge.node) in index:
                    inputs.append(index[id(edge.node)])
                elif isinstance(edge, Tensor):
                    leaves.append(f"leaf {tuple(edge.shape)}")
                elif edge is None and hasattr(x, "shape"):
                    leaves.append(f"constant {tuple(x.shape)}")
            steps.append({"cells": [c if isinstance(c, (int, float)) else str(c) for c in row],
                          "op": getattr(node, "name", type(node).__name__), "grad_norm": self.grad_norms[i],
                          "saved_bytes": int(self._bytes[i]), "inputs": inputs, "leaves": leaves})
        return {"format": "retrograd-explain/1", "title": title or f"backward pass: {len(steps)} steps",
                "header": list(self.header), "steps": steps, "saved_bytes": int(sum(self._bytes))}


_BODY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>@@TITLE@@</title><style>@@CSS@@</style></head>
<body>
<header><h1>@@TITLE@@</h1><p class="note">@@SUBTITLE@@</p></header>
<main class="interactive">
<section class="panel" id="panel-graph"><h2>The recorded graph, as the backward pass walks it</h2>
<p class="note">From the loss (left) towards the leaves (right); an op's colour is the norm of the gradient
arriving at it (log scale, dark = small), its height the bytes it saved for the backward pass. Click an op.</p>
<div style="overflow-x:auto"><canvas id="graph"></canvas></div>
<div id="details" class="note">Click an op in the graph or the table.</div></section>
</main>
<section class="panel" id="panel-table"><h2>Every step</h2><div class="scroll"><table id="steps">@@TABLE@@</table></div></section>
<div id="tooltip" role="tooltip"></div>
<script type="application/json" id="retrograd-trace">@@DATA@@</script>
<script>@@JS@@</script>
</body></html>
"""


def render(data: dict) -> str:
    """The page for ``ExplainGraph.data()``."""
    head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in data["header"]) + "</tr>"
    rows = "".join(f'<tr data-step="{i}">' + "".join(f"<td>{html.escape(str(c))}</td>" for c in s["cells"]) + "</tr>"
                   for i, s in enumerate(data["steps"]))
    subtitle = (f"{len(data['steps'])} steps; the tape held {data['saved_bytes']} bytes for the backward pass. "
                "Steps are numbered as rg.explain prints them.")
    return fill(_BODY, {"TITLE": html.escape(data["title"]), "SUBTITLE": html.escape(subtitle),
                        "CSS": asset("style.css"), "TABLE": head + rows, "JS": script("explain.js"),
                        "DATA": dumps(data)})


def explain_html(loss, path, grad=None, title: str | None = None) -> ExplainGraph:
    """Write the backward pass of ``loss`` (any tape: fused layers, composed
    cells, ``rg.scan``) as a clickable graph to ``path`` and return the trace
    (``print(it)`` gives ``rg.explain``'s table). Non-destructive, as
    ``rg.explain``: the tape is kept and no ``.grad`` is written."""
    tracer = trace_backward(loss, ExplainGraph(), grad)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(tracer.data(title)))
    tracer.path = str(path)
    return tracer
