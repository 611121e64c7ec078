"""Recurrent cells (composed gate by gate) and fused sequence layers.

The classes are also reachable as ``rg.nn.RNNCell``, ``rg.nn.LSTM`` … (this
package registers them there: ``nn`` itself does not import upwards).
"""

from .. import nn as _nn
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import GRU, LSTM, RNN

for _cls in (RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU):
    setattr(_nn, _cls.__name__, _cls)

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]
