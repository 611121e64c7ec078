"""``torch.utils``'s parts that model code uses, under PyTorch's names:

- ``rg.utils.checkpoint``: activation checkpointing (``checkpoint``, ``checkpoint_sequential``);
- ``rg.utils.data``: ``DataLoader``, ``Dataset``, ``TensorDataset`` … (``rg.data``'s, re-exported).
"""

from . import checkpoint, data  # noqa: F401

__all__ = ["checkpoint", "data"]
