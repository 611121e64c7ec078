"""rg.utils.data: torch.utils.data's names for rg.data's pieces (the same objects, nothing new)."""

import numpy as np

import retrograd as rg
from retrograd.utils.data import (ConcatDataset, DataLoader, Dataset, StackDataset, Subset, TensorDataset,
                                  random_split)


def test_names_are_rg_data_objects():
    for name, obj in [("DataLoader", DataLoader), ("Dataset", Dataset), ("TensorDataset", TensorDataset),
                      ("Subset", Subset), ("ConcatDataset", ConcatDataset), ("StackDataset", StackDataset),
                      ("random_split", random_split)]:
        assert obj is getattr(rg.data, name), name
    assert rg.utils.data.TensorDataset is TensorDataset and rg.utils.checkpoint.checkpoint is not None


def test_a_loader_built_from_them_batches():
    data = TensorDataset(rg.tensor(np.arange(10.0).reshape(5, 2)), rg.tensor(np.arange(5)))
    batches = list(DataLoader(data, batch_size=2))
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[-1][1].data, [4])
