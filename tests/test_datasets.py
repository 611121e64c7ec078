"""rg.data's map-style datasets against torch.utils.data's: lengths, items, splits and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch

D = rg.data


def _tensors(n=10):
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    return x, np.arange(n)


@requires_torch
def test_tensor_dataset_items_and_length_as_torch():
    x, y = _tensors()
    ours, theirs = D.TensorDataset(rg.tensor(x), rg.tensor(y)), torch.utils.data.TensorDataset(
        torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 10
    for i in (0, 3, -1, slice(2, 5)):
        for a, b in zip(ours[i], theirs[i]):
            np.testing.assert_array_equal(a.data, b.numpy())
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(rg.tensor(x), rg.tensor(y[:5]))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y[:5]))


@requires_torch
def test_concat_and_subset_index_as_torch():
    a, b = list(range(4)), list(range(10, 13))
    ours = D.ConcatDataset([a, b])
    theirs = torch.utils.data.ConcatDataset([a, b])
    assert ours.cumulative_sizes == theirs.cumulative_sizes == [4, 7]
    assert [ours[i] for i in range(-7, 7)] == [theirs[i] for i in range(-7, 7)]
    for ds in (ours, theirs):
        with pytest.raises(ValueError, match="should not exceed dataset length"):
            ds[-8]
        with pytest.raises(IndexError):
            ds[7]
    for cls in (D.ConcatDataset, torch.utils.data.ConcatDataset):
        with pytest.raises(AssertionError, match="should not be an empty iterable"):
            cls([])
    sub, tsub = D.Subset(ours, [6, 0, 2]), torch.utils.data.Subset(theirs, [6, 0, 2])
    assert len(sub) == len(tsub) == 3 and [sub[i] for i in range(3)] == [tsub[i] for i in range(3)]
    x, _ = _tensors()
    rows = D.Subset(D.TensorDataset(rg.tensor(x)), [1, 5, 7])
    np.testing.assert_array_equal(rows[[0, 2]][0].data, x[[1, 7]])  # a list index reads several at once


def test_dataset_addition_and_stack():
    class Squares(D.Dataset):
        def __len__(self): return 3
        def __getitem__(self, i): return i * i

    both = Squares() + Squares()
    assert isinstance(both, D.ConcatDataset) and [both[i] for i in range(6)] == [0, 1, 4, 0, 1, 4]
    stacked = D.StackDataset(Squares(), [10, 11, 12])
    assert stacked[2] == (4, 12) and len(stacked) == 3
    named = D.StackDataset(x=Squares(), y=[10, 11, 12])
    assert named[1] == {"x": 1, "y": 11}
    with pytest.raises(ValueError, match="Size mismatch"):
        D.StackDataset(Squares(), [1, 2])
    with pytest.raises(NotImplementedError):
        D.Dataset()[0]


@requires_torch
@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33], [1.0]])
def test_random_split_sizes_as_torch(lengths):
    data = list(range(10))
    ours = D.random_split(data, lengths, generator=np.random.default_rng(0))
    theirs = torch.utils.data.random_split(data, lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    seen = sorted(x for s in ours for x in (s[i] for i in range(len(s))))
    assert seen == data  # a permutation: every item once


@requires_torch
def test_random_split_refusals_as_torch():
    for split in (D.random_split, torch.utils.data.random_split):
        with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
            split(list(range(10)), [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        D.random_split(list(range(3)), [0.9, 0.1])


def test_random_split_follows_rg_manual_seed_and_loads():
    x, y = _tensors(12)
    ds = D.TensorDataset(rg.tensor(x), rg.tensor(y))
    rg.manual_seed(3)
    first = [s.indices for s in D.random_split(ds, [8, 4])]
    rg.manual_seed(3)
    assert [s.indices for s in D.random_split(ds, [8, 4])] == first
    train, _ = D.random_split(ds, [8, 4])
    (xb, yb), = list(D.DataLoader(train, batch_size=8))  # the loader reads a subset like any dataset
    np.testing.assert_array_equal(xb.data, x[train.indices])
    np.testing.assert_array_equal(yb.data, y[train.indices])
