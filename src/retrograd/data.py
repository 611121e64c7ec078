"""Batching: ``DataLoader`` for (x, y) arrays, and (issue 5) stateful batches."""

from __future__ import annotations

import numpy as np

from . import random as rg_random
from .autograd import backend
from .autograd.tensor import Tensor, _wrap


class DataLoader:
    """Iterate over mini-batches of equally long arrays.

    ``DataLoader((x, y), batch_size=32, shuffle=True)`` yields tuples of
    Tensors; each pass is one epoch. Shuffling draws from ``rg.random``'s
    generator (or ``generator``), so ``rg.manual_seed`` and checkpoints make
    the order reproducible.
    """

    def __init__(self, arrays, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 generator=None):
        # Tensors and backend (device) arrays stay where they are; anything else is host
        # data, kept on the host and moved to the backend one batch at a time
        arrays = tuple(a.data if isinstance(a, Tensor) else a if isinstance(a, backend.ndarray) else np.asarray(a)
                       for a in arrays)
        n = {len(a) for a in arrays}
        if len(n) != 1:
            raise ValueError(f"DataLoader: arrays have different lengths {sorted(n)}")
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        self.arrays, self.n = arrays, n.pop()
        self.batch_size, self.shuffle, self.drop_last, self.generator = batch_size, shuffle, drop_last, generator

    def __len__(self):
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        order = device_order = None
        if self.shuffle:
            order = (self.generator or rg_random.generator()).permutation(self.n)
            if any(not isinstance(a, np.ndarray) for a in self.arrays):
                device_order = backend.xp.asarray(order)  # index device arrays with a device index
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            if order is None:
                parts = [a[lo:hi] for a in self.arrays]
            else:
                parts = [a[order[lo:hi]] if isinstance(a, np.ndarray) else a[device_order[lo:hi]]
                         for a in self.arrays]
            # host batches cross to the backend here (no copy under NumPy)
            yield tuple(_wrap(p if isinstance(p, backend.ndarray) else backend.xp.asarray(p)) for p in parts)


class StatefulBatch:
    """One batch of ``stateful_batches``: ``x`` and ``y`` of shape (k, B, …)
    (time-major) or (B, k, …), ``reset`` (B,) True where a row starts a new
    sequence in this batch, ``valid`` (k, B) (or (B, k)) False on padding;
    ``time_major`` says which layout (``rg.bptt.train_stateful`` reads it)."""

    __slots__ = ("x", "y", "reset", "valid", "sequence", "time_major")

    def __init__(self, x, y, reset, valid, sequence, time_major: bool = True):
        self.x, self.y, self.reset, self.valid, self.sequence = x, y, reset, valid, sequence
        self.time_major = time_major

    def __iter__(self):
        return iter((self.x, self.y, self.reset))


def stateful_batches(sequences, batch_size: int, k: int, targets=None, time_major: bool = True,
                     pad_value=0):
    """Arrange many long sequences for stateful truncated BPTT.

    Each of the ``batch_size`` rows is a lane that reads sequences one after
    another, ``k`` steps per batch, so row i of batch b + 1 continues row i of
    batch b, and ``reset`` marks the rows where a new sequence begins (reset
    the state there). Sequences are read in place (a 2-D array of shape
    (N, L) or a list of arrays): only the current batch is ever copied. A
    sequence whose length is not a multiple of k ends with a padded chunk
    (``valid`` False), and lanes with nothing left to read are padded until
    all lanes finish.

    ``targets`` (same lengths) gives ``y``; a step's target may have another
    shape and dtype than a step's input (``y`` is sized from ``targets``). By
    default ``y`` is the next item of each sequence (language modelling: the
    last step of a sequence has no next item and is marked not valid).

    The seed page 002 case — 125,973 sequences of length 1000, k = 25, batch
    40 — is ``stateful_batches(seqs, 40, 25)``: 3,150 rounds of 40 batches.
    """
    if batch_size < 1 or k < 1:
        raise ValueError(f"stateful_batches: batch_size and k must be positive, got {batch_size}, {k}")
    n = len(sequences)
    if targets is not None and len(targets) != n:
        raise ValueError(f"stateful_batches: {n} sequences but {len(targets)} target sequences")
    lanes = [None] * batch_size        # (sequence index, position) per row
    next_seq = 0
    sample = np.asarray(sequences[0]) if n else np.zeros(1)
    item_shape, dtype = sample.shape[1:], sample.dtype
    # a step's target may have another shape than a step's input (class ids for one-hot inputs, …)
    target_sample = sample if targets is None or not n else np.asarray(targets[0])
    target_shape, target_dtype = target_sample.shape[1:], target_sample.dtype
    while True:
        reset = np.zeros(batch_size, dtype=bool)
        for i in range(batch_size):
            if lanes[i] is not None and lanes[i][1] >= len(sequences[lanes[i][0]]):
                lanes[i] = None
            if lanes[i] is None and next_seq < n:
                if targets is not None and len(targets[next_seq]) != len(sequences[next_seq]):
                    raise ValueError(f"stateful_batches: sequence {next_seq} has {len(sequences[next_seq])} steps "
                                     f"but its targets have {len(targets[next_seq])}")
                lanes[i] = (next_seq, 0)
                next_seq += 1
                reset[i] = True
        if all(lane is None for lane in lanes):
            return
        x = np.full((batch_size, k) + item_shape, pad_value, dtype=dtype)
        y = np.full((batch_size, k) + target_shape, pad_value, dtype=target_dtype)
        valid = np.zeros((batch_size, k), dtype=bool)
        which = np.full(batch_size, -1)
        for i, lane in enumerate(lanes):
            if lane is None:
                continue
            s, pos = lane
            seq = sequences[s]
            stop = min(pos + k, len(seq))
            x[i, :stop - pos] = seq[pos:stop]
            if targets is None:
                nxt = seq[pos + 1:stop + 1]
                y[i, :len(nxt)] = nxt
                valid[i, :len(nxt)] = True
            else:
                y[i, :stop - pos] = targets[s][pos:stop]
                valid[i, :stop - pos] = True
            which[i] = s
            lanes[i] = (s, stop)
        if time_major:
            x, y, valid = np.swapaxes(x, 0, 1), np.swapaxes(y, 0, 1), valid.T
        yield StatefulBatch(x, y, reset, valid, which, time_major)
