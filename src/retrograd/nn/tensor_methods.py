"""The Tensor methods whose functions live in ``nn`` (PyTorch has them on ``torch.Tensor`` too):
``x.hardshrink(lambd=0.5)`` is ``F.hardshrink(x, lambd)`` and ``x.prelu(weight)`` is ``F.prelu(x, weight)``.

``ops.methods`` installs the methods of the op families; these functions sit a layer above the ops,
so this module, imported by ``nn``, adds them (as the engine adds ``Tensor.backward``).
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from .activation_extra import hardshrink, prelu

METHODS = {"hardshrink": hardshrink, "prelu": prelu}
"""The Tensor methods this module installs."""

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
