"""Sequence layers ``RNN``, ``LSTM``, ``GRU`` with PyTorch's constructor,
parameter names (``weight_ih_l0`` …) and call convention::

    lstm = rg.nn.LSTM(input_size, hidden_size, num_layers=2, batch_first=True)
    out, (h_n, c_n) = lstm(x, (h0, c0))     # h0, c0: (num_layers, B, H)

Each layer is one fused op over the whole sequence (``fused.py``) with a
hand-written per-gate BPTT. ``step(x_t, state)`` runs one time step of a batch
(``x_t`` of shape (B, input_size), or (input_size,) unbatched) and returns
``(output_t, new_state)``, the same as ``forward`` on a sequence of length 1.
"""

from __future__ import annotations

from ..autograd.backend import xp

from .. import ops
from ..nn import functional as F
from ..nn.module import Module
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap
from . import fused
from .cells import recurrent_parameters, shapes_doc


class _RecurrentLayer(Module):
    kind = "RNN"
    has_cell_state = False
    sequence_model = True  # rg.bptt may call it on a whole segment of steps at once

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, dtype=None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__}: num_layers must be ≥ 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        for layer in range(num_layers):
            recurrent_parameters(self, self.kind, input_size if layer == 0 else hidden_size, hidden_size, bias,
                                 suffix=f"_l{layer}", dtype=dtype)

    def _weights(self, layer):
        return tuple(getattr(self, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _zeros(self, batch, dtype):
        return _wrap(xp.zeros((self.num_layers, batch, self.hidden_size), dtype=dtype))

    def _split_state(self, state, batch, dtype):
        """Per-layer initial states from PyTorch's stacked (num_layers, B, H) form."""
        parts = (state if self.has_cell_state else (state,)) if state is not None else None
        if parts is None:
            parts = tuple(self._zeros(batch, dtype) for _ in range(2 if self.has_cell_state else 1))
        want = (self.num_layers, batch, self.hidden_size)
        for p in parts:
            if tuple(p.shape) != want:
                raise OpError(f"{type(self).__name__}: initial state has shape {tuple(p.shape)}, expected {want} "
                              f"(num_layers, batch, hidden_size)")
        return parts

    def _map_state(self, state, fn):
        """``fn`` applied to each part of a state ((h, c) for an LSTM, h otherwise); None stays None."""
        if state is None:
            return None
        return tuple(fn(s) for s in state) if self.has_cell_state else fn(state)

    def forward(self, x, state=None):
        """Run the whole sequence: x of shape (T, B, I) ((B, T, I) with
        ``batch_first``, (T, I) unbatched) and state of shape (num_layers, B, H)
        ((h, c) for an LSTM); returns (outputs of the last layer, final state)."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        unbatched = x.ndim == 2
        if unbatched:
            x = ops.unsqueeze(x, 1)
            state = self._map_state(state, lambda s: ops.unsqueeze(s, 1))
        elif self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise OpError(f"{type(self).__name__}({self.input_size}, {self.hidden_size}): expected input "
                          f"(T, B, {self.input_size}){' with batch_first' if self.batch_first else ''}, "
                          f"got shape {tuple(x.shape)}")
        if x.shape[0] == 0:  # PyTorch: "Expected sequence length to be larger than 0 in RNN"
            raise OpError(f"{type(self).__name__}({self.input_size}, {self.hidden_size}): expected a sequence "
                          f"length larger than 0, got input of shape {tuple(x.shape)}")
        h, state_out = self._run_time_major(x, state)
        if unbatched:
            h = ops.squeeze(h, 1)
            state_out = self._map_state(state_out, lambda s: ops.squeeze(s, 1))
        elif self.batch_first:
            h = ops.swapaxes(h, 0, 1)
        return h, state_out

    def step(self, x_t, state=None):
        """One time step of a batch: x_t of shape (B, I) (or (I,) unbatched),
        state as ``forward``'s ((num_layers, B, H), or (num_layers, H)
        unbatched; (h, c) for an LSTM). Returns (output_t of shape (B, H) — or
        (H,) —, new state): ``forward`` on a sequence of length 1, whatever
        ``batch_first`` says (a single step has no time axis)."""
        if not isinstance(x_t, Tensor):
            x_t = Tensor(x_t)
        if x_t.ndim not in (1, 2) or x_t.shape[-1] != self.input_size:
            raise OpError(f"{type(self).__name__}({self.input_size}, {self.hidden_size}).step: expected x_t "
                          f"(B, {self.input_size}) or ({self.input_size},), got shape {tuple(x_t.shape)}")
        unbatched = x_t.ndim == 1
        if unbatched:
            x_t = ops.unsqueeze(x_t, 0)
            state = self._map_state(state, lambda s: ops.unsqueeze(s, 1))
        h, state_out = self._run_time_major(ops.unsqueeze(x_t, 0), state)
        h = ops.squeeze(h, 0)  # (1, B, H) → (B, H)
        if unbatched:
            h = ops.squeeze(h, 0)
            state_out = self._map_state(state_out, lambda s: ops.squeeze(s, 1))
        return h, state_out

    def _run_time_major(self, x, state):
        """The stacked layers on x of shape (T, B, I) from a (num_layers, B, H) state (or None)."""
        parts = self._split_state(state, x.shape[1], x.dtype)
        finals = [[] for _ in parts]
        h = x
        for layer in range(self.num_layers):
            init = tuple(p[layer] for p in parts)
            outs = self._run_layer(layer, h, init)
            h = outs[0]
            for store, final in zip(finals, outs[1:]):
                store.append(final)
            if self.dropout and self.training and layer < self.num_layers - 1:
                h = F.dropout(h, self.dropout, True)
        state_out = tuple(ops.stack(f) for f in finals)
        return h, (state_out if self.has_cell_state else state_out[0])

    def extra_repr(self):
        extra = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        return f"{self.input_size}, {self.hidden_size}{extra}, batch_first={self.batch_first}"


class RNN(_RecurrentLayer):
    __doc__ = "Elman RNN, tanh or relu. Per layer: " + shapes_doc("RNN", "input_size or hidden_size")
    kind = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, dtype)
        self.nonlinearity = nonlinearity

    def _run_layer(self, layer, x, init):
        return fused.RNNLayer(self.nonlinearity)(x, init[0], *self._weights(layer))


class LSTM(_RecurrentLayer):
    __doc__ = "LSTM (gate order i, f, g, o). Per layer: " + shapes_doc("LSTM", "input_size or hidden_size")
    kind = "LSTM"
    has_cell_state = True

    def _run_layer(self, layer, x, init):
        return fused.LSTMLayer()(x, init[0], init[1], *self._weights(layer))


class GRU(_RecurrentLayer):
    __doc__ = "GRU (gate order r, z, n). Per layer: " + shapes_doc("GRU", "input_size or hidden_size")
    kind = "GRU"

    def _run_layer(self, layer, x, init):
        return fused.GRULayer()(x, init[0], *self._weights(layer))
