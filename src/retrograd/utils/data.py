"""``torch.utils.data``'s names for retrograd's data pieces (``rg.data``), so that code written
for PyTorch imports them from where it expects: ``from retrograd.utils.data import DataLoader``.
Nothing here adds behaviour; see ``rg.data`` and ``rg.datasets``."""

from ..data import (ConcatDataset, DataLoader, Dataset, StackDataset, Subset,  # noqa: F401
                    TensorDataset, random_split)

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "StackDataset", "Subset", "TensorDataset", "random_split"]
