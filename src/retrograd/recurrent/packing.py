"""The packed layout the fused recurrent ops run on, and how a mask gets there.

A batch of B sequences, sorted by decreasing length, is stored *packed*: the
rows of the data are the real steps only, time-major, step t holding the first
``b_t`` sequences (b₀ ≥ b₁ ≥ …; PyTorch's ``PackedSequence.batch_sizes``)::

    position of (step t, row j) = offset_t + j,   offset_t = b₀ + … + b_{t−1},  j < b_t

A plain (T, B) batch is the case b_t = B (positions t·B + j: a reshape).

``Steps`` holds the table and the index arrays the kernels need (where a row's
last step is, where its previous step is). ``MaskPlan`` brings a Keras-style
mask — any pattern of real (True) and padded (False) steps in a (T, B) batch —
to this layout: since a masked step carries the state unchanged, a row's
states are those of its real steps run back to back, so the real steps are
gathered to the front of each row (``source``), the rows sorted by how many
they have, and the outputs scattered back (``scatter``, with zeros at masked
steps). Pre-padding, post-padding and gaps all become one packed batch, and
padded steps cost no compute.

The plan decides the shapes of the packed batch, so it is made on the host
(``backend.host``), as PyTorch keeps ``lengths`` on the CPU: a mask given as
host data (a NumPy array, a list, a Tensor holding a NumPy array) costs no
device→host read; a mask on the device is copied to the host once per plan
(one read, which waits for the device). Only the index arrays it produces go
to the device.
"""

from __future__ import annotations

import functools

from ..autograd import backend
from ..autograd.backend import host, xp
from ..autograd.op import OpError
from ..autograd.tensor import Tensor


class Steps:
    """The packed layout of one batch: ``sizes[t]`` = b_t rows at step t (non-increasing),
    ``batch`` = B rows in all (rows b₀ … B−1 have no step: they keep their initial state)."""
    __slots__ = ("sizes", "offsets", "batch", "total", "dense", "_cache")

    def __init__(self, sizes, batch: int):
        sizes = [int(b) for b in sizes]
        if any(b < 1 for b in sizes) or any(a < b for a, b in zip(sizes, sizes[1:])) or (sizes and sizes[0] > batch):
            raise OpError(f"recurrent layer: batch sizes must be positive and non-increasing, at most the batch "
                          f"({batch}); got {sizes}")
        self.sizes, self.batch = sizes, int(batch)
        offsets, total = [], 0
        for b in sizes:
            offsets.append(total)
            total += b
        self.offsets, self.total = offsets, total
        self.dense = all(b == batch for b in sizes)
        self._cache = {}

    @classmethod
    def full(cls, steps: int, batch: int) -> "Steps":
        """Every row runs every step: a plain (T, B) batch (an empty batch has no
        rows to step). Shared between calls of the same shape (a ``Steps`` is
        never changed once built; only its index arrays are filled in lazily)."""
        return _full_steps(cls, int(steps), int(batch))

    @property
    def first(self) -> int:
        """b₀: the rows that take at least one step."""
        return self.sizes[0] if self.sizes else 0

    def __len__(self):
        return len(self.sizes)

    @property
    def blocks(self) -> list[tuple[int, int, int, int]]:
        """(start, stop, b_t, start of step t − 1's rows or −1 at t = 0) of every
        step: what the kernels' loops read, computed once (the per-step
        bookkeeping is most of the cost of a tiny layer)."""
        return self._memo("blocks", lambda: [(a, a + b, b, self.offsets[t - 1] if t else -1)
                                             for t, (a, b) in enumerate(zip(self.offsets, self.sizes))])

    def lengths(self):
        """How many steps each of the ``first`` active rows takes (non-increasing)."""
        sizes = xp.asarray(self.sizes, dtype=xp.int64)
        return (sizes[None, :] > xp.arange(self.first)[:, None]).sum(axis=1)

    def _memo(self, key, build):
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = build()
        return value

    def final_positions(self):
        """Position of each active row's last step (its state there is its h_n)."""
        def build():
            lengths = self.lengths()
            offsets = xp.asarray(self.offsets, dtype=xp.int64)
            return offsets[lengths - 1] + xp.arange(self.first)
        return self._memo("final", build)

    def previous_positions(self):
        """For the rows of steps 1 … T−1 (packed order), the position of the same
        row at the step before: hₜ₋₁ of those rows is ``Y[previous_positions()]``.
        A slice when the batch is dense."""
        if self.dense:
            return slice(0, self.total - self.batch)
        return self._memo("previous", lambda: xp.concatenate(
            [xp.arange(a, a + b, dtype=xp.int64) for a, b in zip(self.offsets, self.sizes[1:])]
            or [xp.zeros(0, dtype=xp.int64)]))

    def rows(self):
        """The batch row of every packed position."""
        return self._memo("rows", lambda: xp.concatenate(
            [xp.arange(b, dtype=xp.int64) for b in self.sizes] or [xp.zeros(0, dtype=xp.int64)]))

    def reversed_positions(self):
        """The involution (t, j) ↔ (Lⱼ − 1 − t, j): each row's steps in reverse
        order (the reverse direction of a bidirectional layer)."""
        def build():
            lengths = self.lengths()
            offsets = xp.asarray(self.offsets, dtype=xp.int64)
            rows = self.rows()
            steps = xp.concatenate([xp.full(b, t, dtype=xp.int64) for t, b in enumerate(self.sizes)]
                                   or [xp.zeros(0, dtype=xp.int64)])
            return offsets[lengths[rows] - 1 - steps] + rows
        return self._memo("reversed", build)


@functools.lru_cache(maxsize=64)
def _full_steps(cls, steps, batch):
    return cls([batch] * steps if batch else [], batch)


backend.on_backend_change(_full_steps.cache_clear)  # their index arrays live on the old backend


class MaskPlan:
    """A (T, B) boolean mask as a packed batch, planned on the host (a device mask
    is read once, here).

    ``order``: the batch rows sorted by decreasing number of real steps
    (stable); ``steps``: the packed layout of those counts; ``source``: for
    each packed position, the flat index t·B + r of the real step it holds in
    the (T·B, …) input; ``scatter``: for each flat (t, r), the packed position
    holding it, or ``steps.total`` (a zero row appended to the outputs) where
    the step is masked."""
    __slots__ = ("order", "steps", "source", "scatter", "unordered", "_mask", "_scatter_host")

    def __init__(self, mask):
        mask = backend.to_numpy(mask)         # host data as it is; a device mask: one read
        T, B = mask.shape
        counts = mask.sum(axis=0)
        order = host.argsort(-counts, kind="stable")
        sorted_counts = counts[order]
        sizes, running = [], B
        ends = [0] * (T + 1)                  # how many rows have exactly n real steps
        for n in sorted_counts.tolist():
            ends[n] += 1
        for t in range(T):                    # b_t = #rows with more than t real steps
            running -= ends[t]
            if not running:
                break
            sizes.append(running)
        self.steps = Steps(sizes, B)
        # the k-th real step of each row, in the rows' sorted order
        m = mask[:, order]                                            # (T, B) in sorted row order
        rank = host.cumsum(m, axis=0) - 1                             # k of each real step
        t_idx, j_idx = host.nonzero(m)
        offsets = host.asarray(self.steps.offsets + [self.steps.total], dtype=host.int64)
        position = offsets[rank[t_idx, j_idx]] + j_idx                # where (t, sorted row j) lands
        source = host.empty(self.steps.total, dtype=host.int64)
        source[position] = t_idx * B + order[j_idx]
        scatter = host.full(T * B, self.steps.total, dtype=host.int64)
        scatter[source] = host.arange(self.steps.total, dtype=host.int64)
        # the index arrays the ops gather and scatter with go to the device (a copy, no wait for it)
        self.order, self.unordered = xp.asarray(order), xp.asarray(host.argsort(order))
        self.source, self.scatter = xp.asarray(source), xp.asarray(scatter)
        self._mask, self._scatter_host = mask, scatter

    def repeating_scatter(self):
        """``scatter`` with each masked (t, r) pointing at row r's last real step
        before t instead of at the zero row (which stays for steps before the
        first real one): Keras' outputs with ``zero_output_for_mask=False``."""
        T, B = self._mask.shape
        last = host.where(self._mask, host.arange(T)[:, None], -1)
        last = host.maximum.accumulate(last, axis=0)                 # (T, B): last real t' ≤ t, or -1
        flat = last.clip(0) * B + host.arange(B)[None, :]
        filled = host.where(last >= 0, self._scatter_host[flat], self.steps.total)
        return xp.asarray(filled.reshape(-1))


def as_step_mask(mask, T: int, B: int, batch_first: bool, who: str, unbatched: bool = False):
    """A user's mask as a (T, B) boolean host array, checked: True marks a real step.
    Its shape is the input's time and batch axes: (T, B), (B, T) with
    ``batch_first``, (T,) for an unbatched sequence (then B = 1). Host data is used
    as it is; a device mask is read once, after the checks (which read only its
    shape and dtype)."""
    m = mask.data if isinstance(mask, Tensor) else mask
    if not hasattr(m, "dtype"):  # a list: host data
        m = host.asarray(m)
    if m.dtype != bool:
        raise OpError(f"{who}: mask must be boolean (True marks a real step), got {m.dtype}{list(m.shape)}; "
                      f"compare to build one, e.g. mask = ids != padding_idx")
    if unbatched:
        want, axes = (T,), "(time,)"
    else:
        want, axes = ((B, T), "(batch, time)") if batch_first else ((T, B), "(time, batch)")
    if tuple(m.shape) != want:
        raise OpError(f"{who}: mask of shape {tuple(m.shape)} does not match the input's {axes} axes {want}")
    m = backend.to_numpy(m)
    return m.reshape(T, 1) if unbatched else m.T if batch_first else m


__all__ = ["Steps", "MaskPlan", "as_step_mask"]
