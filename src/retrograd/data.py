"""Batching: ``DataLoader`` for (x, y) arrays, and (issue 5) stateful batches."""

from __future__ import annotations

import numpy as np

from . import random as rg_random
from .tensor import Tensor, _wrap


class DataLoader:
    """Iterate over mini-batches of equally long arrays.

    ``DataLoader((x, y), batch_size=32, shuffle=True)`` yields tuples of
    Tensors; each pass is one epoch. Shuffling draws from ``rg.random``'s
    generator (or ``generator``), so ``rg.manual_seed`` and checkpoints make
    the order reproducible.
    """

    def __init__(self, arrays, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 generator=None):
        arrays = tuple(a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
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
        order = None
        if self.shuffle:
            order = (self.generator or rg_random.generator()).permutation(self.n)
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            idx = slice(lo, hi) if order is None else order[lo:hi]
            yield tuple(_wrap(a[idx]) for a in self.arrays)
