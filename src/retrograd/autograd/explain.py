"""Seeing a backward pass: ``rg.explain(loss)`` and ``loss.backward(trace=True)``.

``BackwardTrace`` is the observer the engine calls after each op's vjp; it
records the op, the shapes, the norms of the gradients in and out and the
bytes the op saved for its backward (from the op's declared saved arrays).
"""

from __future__ import annotations

from . import backend
from .engine import _value, root_gradients, run_backward


class BackwardTrace:
    """The steps of one backward pass, in the order they ran.

    Each row: step, op, input shapes, output (= upstream gradient) shape,
    ‖upstream gradient‖, ‖gradient sent to each input‖, bytes the op saved.
    ``print(trace)`` shows the table; ``rows`` holds the raw records.
    """

    header = ("step", "op", "inputs", "output", "|grad in|", "|grad out| per input", "saved")

    def __init__(self, live: bool = False):
        self.rows = []
        self._bytes = []
        self.live = live
        if live:
            print(self._fmt(self.header))

    @staticmethod
    def _fmt(row):
        widths = (4, 16, 28, 14, 11, 30, 10)
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()

    def record(self, node, g, inputs, needs, gs, saved):
        shapes = ", ".join(str(tuple(_value(a).shape)) if hasattr(_value(a), "shape") else "const"
                           for a in inputs)
        outs = ", ".join(f"{_norm(gi):.4g}" if (need and gi is not None) else "-"
                         for need, gi in zip(needs, gs))
        out_shape = (", ".join(str(tuple(_value(gi).shape)) for gi in g) if isinstance(g, list)
                     else str(tuple(_value(g).shape)))
        row = (len(self.rows) + 1, node.name, shapes, out_shape,
               f"{_norm(g):.4g}", outs, _fmt_bytes(saved))
        self.rows.append(row)
        self._bytes.append(saved)
        if self.live:
            print(self._fmt(row))

    def __str__(self):
        return self.table()

    def table(self, limit: int | None = None) -> str:
        """The steps as a table; with ``limit``, only the first and last ``limit // 2`` rows."""
        rows = [self._fmt(r) for r in self.rows]
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
    tracer = BackwardTrace()
    run_backward([loss], root_gradients([loss], None if grad is None else [grad], False), retain_graph=True,
         create_graph=False, capture={}, tracer=tracer)
    print(tracer.table(limit))
    return tracer
