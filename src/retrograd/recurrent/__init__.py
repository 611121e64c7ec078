"""Recurrent cells (composed gate by gate), fused sequence layers, and the
state they carry (``state``: detach / reset / select rows; ``Stateful``).

The classes are also reachable as ``rg.nn.RNNCell``, ``rg.nn.LSTM`` … (this
package registers them there: ``nn`` itself does not import upwards).
"""

from .. import nn as _nn
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import GRU, LSTM, RNN
from .state import detach_rows, detach_state, rebuild_state, reset_rows, select_rows, state_parts
from .stateful import Stateful

for _cls in (RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU):
    setattr(_nn, _cls.__name__, _cls)
    if _cls.__name__ not in _nn.__all__:  # listed where users look: `from retrograd.nn import *`, help, the docs
        _nn.__all__.append(_cls.__name__)

# PyTorch's base classes (``isinstance(m, nn.RNNBase)``): the layers' and the cells' own bases. Their
# constructors keep retrograd's arguments (no leading ``mode``, no ``num_chunks``).
from .cells import RNNCellBase  # noqa: E402
from .layers import RNNBase  # noqa: E402

for _name, _cls in (("RNNBase", RNNBase), ("RNNCellBase", RNNCellBase)):
    setattr(_nn, _name, _cls)
    if _name not in _nn.__all__:
        _nn.__all__.append(_name)

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Stateful", "detach_state", "reset_rows",
           "detach_rows", "select_rows", "state_parts", "rebuild_state"]
