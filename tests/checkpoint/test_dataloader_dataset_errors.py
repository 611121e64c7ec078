"""DataLoader over map-style datasets (``len()`` and ``[i]``, as PyTorch's):
they are read at indices 0 … len − 1, their own errors reach the caller, and
an IndexError below ``len()`` is an error, not the end of the data."""

import numpy as np
import pytest

import retrograd as rg
from retrograd.data import DataLoader


class Records:
    """A dataset of ``n`` items; ``missing`` raises KeyError, items from ``short`` on IndexError."""

    def __init__(self, n=10, missing=None, short=None, pairs=False):
        self.n, self.missing, self.short, self.pairs = n, missing, short, pairs

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.missing:
            raise KeyError(f"record {i} is missing")
        if not 0 <= i < (self.n if self.short is None else self.short):
            raise IndexError(f"index {i} out of range")
        x = np.full(3, i, dtype=np.float32)
        return (x, np.int64(i % 2)) if self.pairs else x


def test_dataset_column_error_reaches_the_caller():
    with pytest.raises(KeyError, match="record 7 is missing"):
        DataLoader((Records(missing=7),), batch_size=4)


def test_dataset_error_reaches_the_caller():
    with pytest.raises(KeyError, match="record 7 is missing"):
        DataLoader(Records(missing=7, pairs=True), batch_size=4)


@pytest.mark.parametrize("pairs", [False, True])
def test_short_dataset_is_an_error(pairs):
    data = Records(short=5, pairs=pairs)
    with pytest.raises(IndexError, match=r"len\(\) is 10.*\[5\]"):
        DataLoader(data if pairs else (data,), batch_size=4)


def test_map_style_dataset_batches_like_arrays():
    x = np.repeat(np.arange(10, dtype=np.float32)[:, None], 3, axis=1)
    y = np.arange(10) % 2
    ours = [tuple(t.data for t in b) for b in DataLoader(Records(pairs=True), batch_size=4)]
    arrays = [tuple(t.data for t in b) for b in DataLoader((x, y), batch_size=4)]
    assert len(ours) == len(arrays) == 3
    for a, b in zip(ours, arrays):
        assert all(np.array_equal(p, q) and p.dtype == q.dtype for p, q in zip(a, b))
    column = [b[0].data for b in DataLoader((Records(),), batch_size=4)]
    assert np.array_equal(np.concatenate(column), x)


def test_array_likes_still_convert_as_arrays():
    # lists and objects with __array__ keep NumPy's conversion (a pandas-style index is not positional)
    class Wrapped:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

        def __len__(self):
            return len(self.a)

        def __getitem__(self, i):
            raise AssertionError("read through __array__, not item by item")

    (batch,) = DataLoader((Wrapped(np.arange(4.0)), [0, 1, 0, 1]), batch_size=4)
    assert batch[0].data.tolist() == [0.0, 1.0, 2.0, 3.0] and batch[1].data.tolist() == [0, 1, 0, 1]
    assert rg.tensor(batch[0].data).shape == (4,)
