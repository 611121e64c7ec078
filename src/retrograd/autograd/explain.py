"""Seeing a backward pass: ``rg.explain(loss)`` and ``loss.backward(trace=True)``.

``BackwardTrace`` is the observer the engine calls after each op's vjp; it
records the op, the shapes, the norms of the gradients in and out and the
bytes the op saved for its backward (from the op's declared saved arrays).

``label(tensor, text)`` names what the op that made ``tensor`` computes
inside a bigger formula; the trace shows it beside the op's name. The
recurrent cells name their steps by gate (``sigmoid [gate i]``,
``mul [f⊙c]``, ``add [c′]`` …), so the per-gate deltas of an ``LSTMCell``
can be read off the table: the gradient an ``[a_i]`` row passes on is δi.
"""

from __future__ import annotations

from . import backend, engine, hooks
from .engine import BACKWARD_STEP, _value, root_gradients, run_backward
from .graph import label, label_many, label_of  # noqa: F401  (explain.label names the rows of the table)


def _compact_shapes(shapes: list[str]) -> str:
    """Input shapes for the table; many inputs (a ``stack`` of T steps) fold into runs: ``(1, 1) ×14``."""
    if len(shapes) <= 3:
        return ", ".join(shapes)
    runs = []
    for s in shapes:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    parts = [s if n == 1 else f"{s} ×{n}" for s, n in runs]
    return ", ".join(parts) if len(parts) <= 2 else f"{len(shapes)} inputs: {parts[0]} …"


def _compact_norms(norms: list[float | None]) -> str:
    """Norms sent to each input; beyond three inputs, their count and range (``-``: an input that needs none)."""
    if len(norms) <= 3:
        return ", ".join("-" if n is None else f"{n:.4g}" for n in norms)
    real = [n for n in norms if n is not None]
    text = f"{len(norms)} inputs" + (f": {min(real):.4g} … {max(real):.4g}" if real else ": -")
    return text + (f" ({len(norms) - len(real)} -)" if real and len(real) < len(norms) else "")


class BackwardTrace:
    """The steps of one backward pass, in the order they ran.

    Each row: step, op, input shapes, output (= upstream gradient) shape,
    ‖upstream gradient‖, ‖gradient sent to each input‖, bytes the op saved.
    ``print(trace)`` shows the table; ``rows`` holds the raw records and
    ``labels`` each row's ``label`` (None where the op has none; the table
    shows ``op [label]``). An op with many inputs (a ``stack`` of T steps)
    has its shapes and norms folded so that the row stays one table row.
    """

    header = ("step", "op", "inputs", "output", "|grad in|", "|grad out| per input", "saved")

    def __init__(self, live: bool = False):
        self.rows = []
        self.labels = []
        self._bytes = []
        self.live = live
        if live:
            print(self._fmt(self.header))

    @staticmethod
    def _fmt(row, label=None):
        widths = (4, 16, 28, 14, 11, 30, 10)
        if label:
            row = (row[0], f"{row[1]} [{label}]") + tuple(row[2:])
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()

    def record(self, node, g, sent):
        """The engine's ``BACKWARD_STEP`` observer: one row per op, before its saved values are freed."""
        saved = node.saved_nbytes()
        shapes = _compact_shapes([str(tuple(x.shape)) if hasattr(x, "shape") else
                                  "const" if e is None else str(tuple(_value(g).shape))  # elementwise: g's shape
                                  for e, x in zip(node.edges, node.xs)])
        outs = _compact_norms([None if gi is None else _norm(gi) for gi in sent])
        out_shape = (", ".join(str(tuple(_value(gi).shape)) for gi in g) if isinstance(g, list)
                     else str(tuple(_value(g).shape)))
        row = (len(self.rows) + 1, node.name, shapes, out_shape,
               f"{_norm(g):.4g}", outs, _fmt_bytes(saved))
        self.rows.append(row)
        self.labels.append(label_of(node))
        self._bytes.append(saved)
        if self.live:
            print(self._fmt(row, self.labels[-1]))

    def __str__(self):
        return self.table()

    def table(self, limit: int | None = None) -> str:
        """The steps as a table; with ``limit``, only the first and last ``limit // 2`` rows."""
        rows = [self._fmt(r, lab) for r, lab in zip(self.rows, self.labels)]
        if limit is not None and len(rows) > limit:
            head, tail = limit - limit // 2, limit // 2
            rows = rows[:head] + [f"... {len(rows) - head - tail} more steps ..."] + (rows[-tail:] if tail else [])
        total = sum(self._bytes) if self._bytes else 0
        footer = [f"{len(self.rows)} steps; the tape held {_fmt_bytes(total)} for the backward pass"] if self.rows else []
        return "\n".join([self._fmt(self.header)] + rows + footer)

    def __len__(self):
        return len(self.rows)


def _norm(g) -> float:
    if isinstance(g, (list, tuple)):
        return float(sum(_norm(gi) ** 2 for gi in g) ** 0.5)
    v = _value(g)
    return float(backend.xp.sqrt(backend.xp.sum(backend.xp.square(v, dtype=backend.xp.float64)))) if hasattr(v, "shape") else abs(float(v))


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def explain(loss, grad=None, limit: int | None = None) -> BackwardTrace:
    """Print and return every step of ``loss``'s backward pass, in the order it runs.

    Non-destructive: the tape is kept and no ``.grad`` is written, so you can
    call ``loss.backward()`` afterwards. Each row names the op, its input
    shapes, the output shape, the norm of the gradient arriving at the op and
    of the gradient it passes to each input, and the bytes the op saved for
    its vjp (which is what the backward pass costs in memory). With ``limit``,
    a long pass prints only its first and last ``limit // 2`` steps; the
    returned trace keeps every row either way.
    """
    tracer = trace_backward(loss, BackwardTrace(), grad)
    print(tracer.table(limit))
    return tracer


def trace_backward(loss, tracer, grad=None):
    """Run ``loss``'s backward pass without side effects — the tape is kept and no
    ``.grad`` is written — with ``tracer.record`` observing every step; returns ``tracer``."""
    with hooks.observe(BACKWARD_STEP, tracer.record):
        run_backward([loss], root_gradients([loss], None if grad is None else [grad], False), retain_graph=True,
                     create_graph=False, capture={})
    return tracer


engine.make_tracer = BackwardTrace  # backward(trace=True) prints with it; the engine does not import this module
