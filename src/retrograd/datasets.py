"""Map-style datasets as ``torch.utils.data`` has them: ``Dataset``, ``TensorDataset``,
``Subset``, ``ConcatDataset``, ``StackDataset`` and ``random_split``, with PyTorch's indexing,
lengths and refusals. ``rg.data.DataLoader`` reads any of them (``len()`` and ``[i]``)."""

from __future__ import annotations

import bisect
import math
import warnings

from . import random as rg_random
from .autograd.tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(i)`` (and ``__len__``).
    ``a + b`` is ``ConcatDataset([a, b])``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


def _rows(t) -> int:
    return t.shape[0] if isinstance(t, Tensor) else len(t)


class TensorDataset(Dataset):
    """Samples ``(t₁[i], t₂[i], …)`` of tensors that share their first dimension."""

    def __init__(self, *tensors):
        if not tensors or any(_rows(tensors[0]) != _rows(t) for t in tensors):
            raise AssertionError("Size mismatch between tensors")  # PyTorch's assert, with its text
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return _rows(self.tensors[0])


class StackDataset(Dataset):
    """Datasets of one length side by side: sample i is ``(a[i], b[i], …)`` (positional) or
    ``{"name": d[i], …}`` (keyword), as PyTorch's."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        parts = args or tuple(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """Datasets one after another: index i runs through the first, then the second, …;
    ``cumulative_sizes`` holds the running totals."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        self.cumulative_sizes, total = [], 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None) -> list[Subset]:
    """``dataset`` split at random into non-overlapping ``Subset``s of ``lengths`` (counts that
    sum to its length, or fractions that sum to 1: each ⌊fraction·n⌋, the remainder handed out
    one by one from the first, as PyTorch's). The permutation is drawn from ``generator``
    (a NumPy Generator) or ``rg.random``'s, so ``rg.manual_seed`` makes it reproducible."""
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = (generator or rg_random.generator()).permutation(sum(lengths)).tolist()
    subsets, offset = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[offset:offset + length]))
        offset += length
    return subsets


__all__ = ["ConcatDataset", "Dataset", "StackDataset", "Subset", "TensorDataset", "random_split"]
