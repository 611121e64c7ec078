"""Recurrent cells, fused sequence layers and ``scan``.

The classes are also reachable as ``rg.nn.RNNCell``, ``rg.nn.LSTM`` … (this
package registers them there: ``nn`` itself does not import upwards).
"""

from .. import nn as _nn
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import GRU, LSTM, RNN
from .scan import scan

for _cls in (RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU):
    setattr(_nn, _cls.__name__, _cls)

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "scan"]
