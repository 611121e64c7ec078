"""Scratch memory of the fused recurrent ops: reused, not re-allocated.

A training step of a fused layer allocates a few large buffers (the gates of
every step, the cell states, the gate deltas of the backward pass: for an LSTM
with B = 32, H = 256, T = 100 about 30 MB) and frees them when the step is
over. Fresh large allocations come from the operating system page by page, so
every step would pay for first-touch page faults again (a measurable share of
the step). ``pool`` keeps buffers the ops have finished with and hands them out
again for the same shape and dtype.

Only buffers that never escape go back: what an op saved for its vjp, when the
engine *releases* it (never after a ``retain_graph`` pass: the graph may be
walked again), and the vjp's own deltas when no ``STEP_EVENT`` observer has
seen views of them. An op's outputs never go back. The pool holds at most
``max_bytes`` (oldest dropped first) and is emptied when the backend changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..autograd import backend
from ..autograd.backend import xp


class BufferPool:
    """Free arrays by (shape, dtype), handed out by ``take`` and returned by ``give``."""

    def __init__(self, max_bytes: int = 256 * 2 ** 20):
        self.max_bytes, self.bytes = max_bytes, 0
        self._free = OrderedDict()      # (shape, dtype) -> list of arrays, oldest key first
        self._lock = threading.Lock()

    def take(self, shape, dtype):
        """An uninitialised array of ``shape`` and ``dtype`` (a returned one when there is one)."""
        key = (tuple(shape), xp.dtype(dtype))
        with self._lock:
            arrays = self._free.get(key)
            if arrays:
                a = arrays.pop()
                self.bytes -= a.nbytes
                return a
        return xp.empty(key[0], dtype=key[1])

    def give(self, *arrays) -> None:
        """Return arrays nobody else holds (None entries are skipped)."""
        with self._lock:
            for a in arrays:
                if a is None or a.base is not None:  # views keep their base alive elsewhere: never pooled
                    continue
                key = (a.shape, a.dtype)
                self._free.setdefault(key, []).append(a)
                self._free.move_to_end(key)
                self.bytes += a.nbytes
            while self.bytes > self.max_bytes and self._free:
                key, arrays = next(iter(self._free.items()))
                self.bytes -= arrays.pop(0).nbytes
                if not arrays:
                    del self._free[key]

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self.bytes = 0


pool = BufferPool()
backend.on_backend_change(pool.clear)  # arrays of the old backend must not come back


class Prefixes(dict):
    """The first b rows of each scratch buffer, sliced once per b (slicing in
    every step is a measurable share of a small layer's time)."""

    def __init__(self, *buffers):
        super().__init__()
        self.buffers = buffers

    def __missing__(self, b):
        views = self[b] = tuple(buf[:b] for buf in self.buffers)
        return views


__all__ = ["BufferPool", "pool", "Prefixes"]
