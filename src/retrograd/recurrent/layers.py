"""Sequence layers ``RNN``, ``LSTM``, ``GRU`` with PyTorch's constructor,
parameter names (``weight_ih_l0``, ``weight_ih_l0_reverse`` …), state layout
and call convention, plus Keras' masks and options::

    lstm = rg.nn.LSTM(input_size, hidden_size, num_layers=2, batch_first=True, bidirectional=True)
    out, (h_n, c_n) = lstm(x, (h0, c0))      # h0, c0: (num_layers * num_directions, B, H)
    out, (h_n, c_n) = lstm(packed)           # a PackedSequence in, a PackedSequence out
    out, (h_n, c_n) = lstm(x, mask=ids != 0) # Keras' masking: state carried, output 0 at padding

Each layer and direction is one fused op (``fused.py``) over the packed rows
of the batch (``packing.py``) with a hand-written per-gate BPTT:

* **packed input**: the op runs on ``data`` as it is; h_n/c_n are each
  sequence's state at its own last step, in the caller's order (PyTorch);
* **mask** (True = a real step, shaped like the input's time and batch axes):
  at a masked step the state is carried unchanged and the output is zero
  (Keras with ``zero_output_for_mask=True``); pre-padding, post-padding and
  gaps all work, and padded steps cost no compute. The mask decides the
  shapes of the packed rows, so it is planned on the host: give it as host
  data (a NumPy array or a list) on a device backend; a mask on the device is
  read once per call (one wait for the device);
* **bidirectional**: the reverse direction reads each sequence's real steps
  backwards from its own last one (padding never enters it); the outputs are
  [forward, reverse] on the feature axis, the states ordered l0, l0_reverse, l1 …

Options beyond PyTorch's (Keras names): ``activation`` ('tanh' or 'relu') for
the LSTM's candidate and cell output and the GRU's candidate (the RNN has
PyTorch's ``nonlinearity``); ``recurrent_dropout`` p: one mask per sequence on
hₜ₋₁ where it enters the recurrent product (variational dropout, Gal &
Ghahramani 2016); ``returns``: ``"output_and_state"`` (PyTorch's pair),
``"output"`` (the outputs only: the layer chains in ``nn.Sequential`` like
Keras' ``return_sequences=True``) or ``"last"`` (each sequence's last output,
the directions concatenated: Keras' ``return_sequences=False``);
``zero_output_for_mask`` (default True, where Keras' is False): with False a
masked step's output repeats the row's last real output (0 before its first
real step), as Keras' layers (not its ``Bidirectional``, which forces True).
``forward(..., return_gates=True)`` also returns every step's gate activations
(and the LSTM's cell states), differentiable, without a slow cell loop.

``step(x_t, state)`` runs one time step of a batch (``x_t`` of shape
(B, input_size), or (input_size,) unbatched) and returns
``(output_t, new_state)``, the same as ``forward`` on a sequence of length 1.
"""

from __future__ import annotations

import warnings

from .. import ops
from .. import random as rg_random
from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap
from ..nn import functional as F
from ..nn.module import Module
from ..nn.rnn_utils import PackedSequence
from . import fused, keras_weights
from .cells import GATE_NAMES, recurrent_parameters, shapes_doc
from .packing import MaskPlan, Steps, as_step_mask
from .sequence_op import ACTIVATIONS, expose_gates

RETURNS = ("output_and_state", "output", "last")


class RNNBase(Module):
    """The base of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's ``nn.RNNBase``, for
    ``isinstance(m, nn.RNNBase)``). Its constructor is the layers' (``input_size, hidden_size, …``),
    without PyTorch's leading ``mode``: the subclass's ``kind`` says which recurrence it runs."""

    kind = "RNN"
    has_cell_state = False
    sequence_model = True  # rg.bptt may call it on a whole segment of steps at once

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None, activation: str = "tanh", recurrent_dropout: float = 0.0,
                 returns: str = "output_and_state", zero_output_for_mask: bool = True):
        super().__init__()
        name = type(self).__name__
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be ≥ 1, got {num_layers}")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero, got {hidden_size!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got {dropout}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers=1",
                          stacklevel=3)
        if not 0 <= recurrent_dropout < 1:
            raise ValueError(f"{name}: recurrent_dropout must be in [0, 1), got {recurrent_dropout}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"{name}: activation must be one of {ACTIVATIONS}, got {activation!r}")
        if returns not in RETURNS:
            raise ValueError(f"{name}: returns must be one of {RETURNS}, got {returns!r}")
        if not isinstance(zero_output_for_mask, bool):
            raise ValueError(f"{name}: zero_output_for_mask must be True or False, got {zero_output_for_mask!r}")
        if not zero_output_for_mask and bidirectional:
            raise ValueError(f"{name}: zero_output_for_mask=False with bidirectional=True: Keras' Bidirectional "
                             f"sets zero_output_for_mask=True on both of its layers when they return sequences; "
                             f"leave it True (masked steps output 0)")
        if device not in (None, "cpu"):
            raise ValueError(f"{name}: device={device!r}: retrograd places arrays with rg.set_backend, not per "
                             f"module; leave device out")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bool(bidirectional)
        self.mode, self.proj_size = self.kind if self.kind != "RNN" else f"RNN_{activation.upper()}", 0  # PyTorch's
        self.activation, self.recurrent_dropout, self.returns = activation, recurrent_dropout, returns
        self.zero_output_for_mask = zero_output_for_mask
        for layer in range(num_layers):
            for suffix in self._suffixes():
                recurrent_parameters(self, self.kind, input_size if layer == 0 else hidden_size * self.num_directions,
                                     hidden_size, bias, suffix=f"_l{layer}{suffix}", dtype=dtype)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weights(self, layer, direction=0):
        suffix = f"_l{layer}{self._suffixes()[direction]}"
        return tuple(getattr(self, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN weight-compaction call: nothing to do here (the fused
        ops read the parameters as they are), kept so PyTorch code runs unchanged."""

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction, PyTorch's order:
        ``[[weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0], [… _l0_reverse], …]``."""
        return [[w for w in self._weights(layer, d) if w is not None]
                for layer in range(self.num_layers) for d in range(self.num_directions)]

    def load_keras_weights(self, weights, layer: int = 0, reverse: bool = False) -> None:
        """Copy a Keras layer's weights into layer ``layer`` (the backward half of a
        ``Bidirectional`` with ``reverse=True``). ``weights`` is ``keras_layer.get_weights()``
        — ``[kernel, recurrent_kernel(, bias)]`` — or the Keras layer itself, whose
        options are then checked too: ``activation`` (``nonlinearity`` for the RNN),
        ``recurrent_activation`` (only 'sigmoid'), ``use_bias``, the GRU's
        ``reset_after`` and ``go_backwards`` (refused unless ``reverse``); a Keras
        ``Bidirectional`` (merge_mode 'concat') loads both halves of ``layer``.

        Keras keeps W transposed ((input, k·H)) and one bias; the gate order is the
        same for the LSTM (i, f, c=g, o) and the GRU's is (z, r, h) where PyTorch's is
        (r, z, n), so the blocks are reordered. Only Keras' ``reset_after=True`` GRU
        (its default since TF 2, bias of shape (2, 3H)) computes PyTorch's GRU;
        a ``reset_after=False`` bias (3H,) is refused, as is any array whose shape is not
        Keras' (as Keras' ``set_weights`` refuses it), and ``reverse=True`` on a
        unidirectional layer. A bias-less GRU's arrays cannot say ``reset_after``:
        they load with a warning (pass the layer to have it checked). Nothing is
        changed when anything is refused."""
        keras_weights.load_keras_weights(self, weights, layer, reverse)

    def _zeros(self, batch, dtype):
        return _wrap(xp.zeros((self.num_layers * self.num_directions, batch, self.hidden_size), dtype=dtype))

    def _split_state(self, state, batch, dtype):
        """The initial state's parts in PyTorch's stacked (num_layers · num_directions, B, H) form."""
        parts = (state if self.has_cell_state else (state,)) if state is not None else None
        if parts is None:
            parts = tuple(self._zeros(batch, dtype) for _ in range(2 if self.has_cell_state else 1))
        want = (self.num_layers * self.num_directions, batch, self.hidden_size)
        for i, p in enumerate(parts):
            if tuple(p.shape) != want:
                which = f"hidden[{i}]" if self.has_cell_state else "hidden"  # PyTorch's words
                raise OpError(f"{type(self).__name__}: initial state has shape {tuple(p.shape)}, expected {want} "
                              f"(num_layers * num_directions, batch, hidden_size): Expected {which} size {want}, "
                              f"got {list(p.shape)}")
        return parts

    def _map_state(self, state, fn):
        """``fn`` applied to each part of a state ((h, c) for an LSTM, h otherwise); None stays None."""
        if state is None:
            return None
        return tuple(fn(s) for s in state) if self.has_cell_state else fn(state)

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    # ------------------------------------------------------------ the call
    def forward(self, input, hx=None, *, mask=None, return_gates: bool = False):  # noqa: A002 - PyTorch's name
        """Run the whole sequence. ``input``: (T, B, I) ((B, T, I) with
        ``batch_first``, (T, I) unbatched) or a ``PackedSequence``; ``hx``:
        (num_layers · num_directions, B, H) ((h, c) for an LSTM) or None for
        zeros; ``mask``: boolean, True at real steps, shaped like the input's
        time and batch axes ((T, B), (B, T) with ``batch_first``, (T,)
        unbatched). Returns what ``returns`` says — by default (outputs of
        the last layer, final state) — with a dict of gate activations
        appended when ``return_gates`` (each (num_layers · num_directions,
        *output rows*, H): LSTM i, f, g, o and c, GRU r, z, n)."""
        result, _ = self._forward(input, hx, mask, return_gates)
        return result

    def forward_with_state(self, input, hx=None, *, mask=None):  # noqa: A002 - PyTorch's name
        """``(what forward returns, final state)``: the state as well when ``returns`` is
        ``"output"`` or ``"last"`` (Keras' ``stateful=True`` with ``return_sequences``
        either way: ``Stateful`` carries it). Arguments as ``forward``'s."""
        return self._forward(input, hx, mask, False)

    def _forward(self, input, hx, mask, return_gates):  # noqa: A002
        if return_gates and self.kind == "RNN":
            raise OpError(f"{self._name()}: an Elman RNN has no gates (its outputs are its states); "
                          f"return_gates is for LSTM and GRU")
        empty = None  # rows of a mask= with no real step (a PackedSequence has none)
        if isinstance(input, PackedSequence):
            out, state, gates = self._forward_packed(input, hx, mask, return_gates)
        else:
            out, state, gates, empty = self._forward_padded(input, hx, mask, return_gates)
        if self.returns == "output_and_state":
            result = (out, state)
        elif self.returns == "output":
            result = (out,)
        else:
            h_n = state[0] if self.has_cell_state else state
            D = self.num_directions
            last = [h_n[-D + d] for d in range(D)]
            last = last[0] if D == 1 else ops.concatenate(last, axis=-1)
            if empty is not None:  # Keras: a row that never stepped has output 0 (its state stays h0)
                cond = empty[:, None] if last.ndim == 2 else empty
                last = ops.where(xp.broadcast_to(xp.asarray(cond), last.shape),
                                 _wrap(xp.zeros(last.shape, last.dtype)), last)
            result = (last,)
        if return_gates:
            result += (expose_gates(gates),)  # retain_grad() / rg.grad on a gate give ∂L/∂gate
        return (result[0] if len(result) == 1 else result), state

    def _forward_packed(self, seq, hx, mask, return_gates):
        if mask is not None:
            raise OpError(f"{self._name()}: a PackedSequence already says which steps are real; pass mask= only "
                          f"with a padded Tensor input")
        data = seq.data if isinstance(seq.data, Tensor) else Tensor(seq.data)
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise OpError(f"{self._name()}: expected packed data of shape (N, {self.input_size}), got "
                          f"{tuple(data.shape)}")
        sizes = backend.host_int64(seq.batch_sizes.data).tolist()  # host data (PackedSequence keeps it there)
        steps = Steps(sizes, sizes[0] if sizes else 0)
        order = None if seq.sorted_indices is None else seq.sorted_indices.data
        unorder = None if seq.unsorted_indices is None else seq.unsorted_indices.data
        rows, state, gates = self._run(data, steps, hx, data.dtype, order, unorder, return_gates)
        out = PackedSequence(rows, seq.batch_sizes, seq.sorted_indices, seq.unsorted_indices)
        if gates is not None:
            gates = {k: ops.stack(v) for k, v in gates.items()}
        return out, state, gates

    def _forward_padded(self, x, hx, mask, return_gates):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        unbatched = x.ndim == 2
        if x.ndim not in (2, 3):
            raise OpError(f"{self._name()}: Expected input to be 2D or 3D, got {x.ndim}D tensor instead: expected "
                          f"input (T, B, {self.input_size}){' with batch_first' if self.batch_first else ''}, got "
                          f"shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise OpError(f"{self._name()}: expected input (T, B, {self.input_size})"
                          f"{' with batch_first' if self.batch_first else ''}, got shape {tuple(x.shape)}: "
                          f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                          f"got {x.shape[-1]}")
        if unbatched:
            x = ops.unsqueeze(x, 1)
            hx = self._map_state(hx, lambda s: ops.unsqueeze(s, 1))
        elif self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        T, B = x.shape[0], x.shape[1]
        if T == 0:  # PyTorch: "Expected sequence length to be larger than 0 in RNN"
            raise OpError(f"{self._name()}: Expected sequence length to be larger than 0 in RNN, got input of "
                          f"shape {tuple(x.shape)}")
        rows = ops.reshape(x, (T * B, self.input_size))
        plan = empty = None
        if mask is None:
            steps, order, unorder = Steps.full(T, B), None, None
        else:
            m = as_step_mask(mask, T, B, self.batch_first, self._name(), unbatched=unbatched)
            if m.all():  # (a host array) nothing padded: the plain batch, no gathers
                steps, order, unorder = Steps.full(T, B), None, None
            else:
                plan = MaskPlan(m)
                if not m.any(axis=0).all():
                    empty = ~m.any(axis=0)
                steps, order, unorder = plan.steps, plan.order, plan.unordered
                rows = ops.index_select(rows, 0, plan.source)
        out_rows, state, gates = self._run(rows, steps, hx, x.dtype, order, unorder, return_gates)

        def unpack(r, axis=0, scatter=None):  # packed rows (…, N, F) → (…, T, B, F) in the caller's layout
            if plan is not None:
                shape = list(r.shape)
                shape[axis] = 1
                r = ops.index_select(ops.concatenate([r, _wrap(xp.zeros(shape, dtype=r.dtype))], axis=axis),
                                     axis, plan.scatter if scatter is None else scatter)
            r = ops.reshape(r, tuple(r.shape[:axis]) + (T, B) + tuple(r.shape[axis + 1:]))
            if unbatched:
                return ops.squeeze(r, axis + 1)
            return ops.swapaxes(r, axis, axis + 1) if self.batch_first else r

        # Keras' zero_output_for_mask=False: a masked step repeats the row's last real output (0 before its first)
        out = unpack(out_rows, scatter=None if plan is None or self.zero_output_for_mask else plan.repeating_scatter())
        if unbatched:
            state = self._map_state(state, lambda s: ops.squeeze(s, 1))
        if gates is not None:
            gates = {k: unpack(ops.stack(v), axis=1) for k, v in gates.items()}
        return out, state, gates, empty

    def step(self, x_t, state=None):
        """One time step of a batch: x_t of shape (B, I) (or (I,) unbatched),
        state as ``forward``'s ((num_layers · num_directions, B, H), or
        without B unbatched; (h, c) for an LSTM). Returns (output_t of shape
        (B, num_directions · H) — or without B —, new state): ``forward`` on a
        sequence of length 1, whatever ``batch_first`` and ``returns`` say (a
        single step has no time axis)."""
        if not isinstance(x_t, Tensor):
            x_t = Tensor(x_t)
        if x_t.ndim not in (1, 2) or x_t.shape[-1] != self.input_size:
            raise OpError(f"{self._name()}.step: expected x_t (B, {self.input_size}) or ({self.input_size},), "
                          f"got shape {tuple(x_t.shape)}")
        unbatched = x_t.ndim == 1
        if unbatched:
            x_t = ops.unsqueeze(x_t, 0)
            state = self._map_state(state, lambda s: ops.unsqueeze(s, 1))
        h, state_out, _ = self._run(x_t, Steps.full(1, x_t.shape[0]), state, x_t.dtype, None, None, False)
        if unbatched:
            h = ops.squeeze(h, 0)
            state_out = self._map_state(state_out, lambda s: ops.squeeze(s, 1))
        return h, state_out

    # ------------------------------------------------------------ the layers on packed rows
    def _run(self, rows, steps, hx, dtype, order, unorder, return_gates):
        """The stacked layers and directions over packed ``rows`` (N, I). ``order``:
        the batch row each packed row comes from (None: the identity), used to
        bring ``hx`` to the packed order; ``unorder`` its inverse, for the final
        state. Returns (output rows (N, D·H), final state, gates or None)."""
        parts = self._split_state(hx, steps.batch, dtype)
        if order is not None:
            parts = tuple(ops.index_select(p, 1, order) for p in parts)
        D = self.num_directions
        reverse = steps.reversed_positions() if D == 2 else None
        finals = [[] for _ in parts]
        gates = {} if return_gates else None
        x = rows
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                xin = x if d == 0 else ops.index_select(x, 0, reverse)
                res = self._run_layer(layer, d, xin, steps, tuple(p[k] for p in parts), return_gates)
                back = (lambda r: r) if d == 0 else (lambda r: ops.index_select(r, 0, reverse))
                outs.append(back(res[0]))
                for store, final in zip(finals, res[1:1 + len(parts)]):
                    store.append(final)
                if return_gates:
                    self._collect_gates(gates, [back(g) for g in res[1 + len(parts):]])
            x = outs[0] if D == 1 else ops.concatenate(outs, axis=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        state = tuple(ops.stack(f) for f in finals)
        if unorder is not None:
            state = tuple(ops.index_select(s, 1, unorder) for s in state)
        return x, (state if self.has_cell_state else state[0]), gates

    def _collect_gates(self, gates, arrays):
        """Split a layer's stacked gate activations (N, k·H) into named (N, H) parts."""
        H = self.hidden_size
        names = GATE_NAMES[self.kind]
        for i, name in enumerate(names):
            gates.setdefault(name, []).append(arrays[0][:, i * H:(i + 1) * H])
        if len(arrays) > 1:  # the LSTM's cell states
            gates.setdefault("c", []).append(arrays[1])

    def _recurrent_mask(self, batch, dtype):
        """One recurrent dropout mask per sequence (B, H), scaled by 1/(1 − p), in training only."""
        p = self.recurrent_dropout
        if not p or not self.training:
            return None
        keep = rg_random.generator().random((batch, self.hidden_size)) >= p
        return xp.asarray(keep.astype(dtype) * (1.0 / (1.0 - p)))

    def extra_repr(self):
        extra = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        extra += ", bidirectional=True" if self.bidirectional else ""
        extra += f", activation={self.activation!r}" if self.activation != "tanh" else ""
        extra += f", recurrent_dropout={self.recurrent_dropout}" if self.recurrent_dropout else ""
        extra += f", returns={self.returns!r}" if self.returns != "output_and_state" else ""
        extra += ", zero_output_for_mask=False" if not self.zero_output_for_mask else ""
        return f"{self.input_size}, {self.hidden_size}{extra}, batch_first={self.batch_first}"


# The class docstrings of RNN, LSTM and GRU share this part (``help(nn.LSTM)`` shows it filled in).
_SHAPES_DOC = """

    Shapes (T: steps, B: batch, I: ``input_size``, H: ``hidden_size``, D: 2 if
    ``bidirectional`` else 1, L: ``num_layers``):

    * ``input``: (T, B, I); (B, T, I) with ``batch_first=True``; (T, I) unbatched;
      or a ``PackedSequence`` (``nn.utils.rnn.pack_padded_sequence``);
    * ``hx``, the initial state: {state}, {state_shape} (without B when unbatched),
      zeros when None; ``batch_first`` does not change the state's layout (PyTorch's rule);
    * ``mask=``: boolean, True at real steps, (T, B) ((B, T) with ``batch_first``).

    ``output, {final} = layer(input, hx=None)``:

    * ``output``: (T, B, D·H) ((B, T, D·H) with ``batch_first``): the last layer's
      hidden state at every step, the directions concatenated [forward, reverse];
      a ``PackedSequence`` for packed input; zero at masked steps (the row's last
      real output with ``zero_output_for_mask=False``, Keras' default);
    * ``{final}``: {state_shape}: the state after each sequence's last real step,
      every layer and direction (l0, l0_reverse, l1, …).

    ``returns="output"`` gives ``output`` alone (the layer chains in
    ``nn.Sequential``), ``returns="last"`` each sequence's last output (B, D·H);
    ``return_gates=True`` appends the per-step gate activations (see ``forward``).
    ``layer.step(x_t, state)`` runs one step: x_t (B, I) → (output_t (B, D·H), new state).

    Parameters, per layer l and direction (names ``weight_ih_l0``, ``weight_ih_l0_reverse`` …): """


_RecurrentLayer = RNNBase  # the name the layers below use


def _refuse_proj_size(name, proj_size):
    """PyTorch's refusal of ``proj_size`` for RNN and GRU (the argument keeps its positional slot)."""
    if proj_size:
        raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU "
                         f"(got proj_size={proj_size}); leave it 0")


class RNN(_RecurrentLayer):
    __doc__ = ("""Elman RNN over a whole sequence: hₜ = tanh(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh) (or relu).

    ``nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``: PyTorch's arguments;
    ``recurrent_dropout``, ``returns`` and ``zero_output_for_mask`` (Keras' options) are keyword-only."""
               + _SHAPES_DOC.format(state="h0", state_shape="(L·D, B, H)", final="h_n")
               + shapes_doc("RNN", "input_size or D*hidden_size"))
    kind = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *, recurrent_dropout=0.0,
                 returns="output_and_state", zero_output_for_mask=True):
        _refuse_proj_size("RNN", proj_size)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device,
                         dtype, nonlinearity, recurrent_dropout, returns, zero_output_for_mask)
        self.nonlinearity = nonlinearity

    def _run_layer(self, layer, direction, x, steps, init, gates):
        op = fused.RNNLayer(steps, self.nonlinearity, self._recurrent_mask(steps.batch, x.dtype))
        return op(x, init[0], *self._weights(layer, direction))

    def extra_repr(self):
        return super().extra_repr().replace(f", activation={self.activation!r}", "") + (
            f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(_RecurrentLayer):
    __doc__ = ("""LSTM over a whole sequence, PyTorch's equations (gate order i, f, g, o):
    i, f, g, o = σ, σ, tanh, σ of (W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh); cₜ = f⊙cₜ₋₁ + i⊙g; hₜ = o⊙tanh(cₜ).

    ``nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``: PyTorch's arguments; ``activation``,
    ``recurrent_dropout``, ``returns`` and ``zero_output_for_mask`` (Keras' options) are keyword-only."""
               + _SHAPES_DOC.format(state="(h0, c0)", state_shape="(L·D, B, H) each", final="(h_n, c_n)")
               + shapes_doc("LSTM", "input_size or D*hidden_size"))
    kind = "LSTM"
    has_cell_state = True

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None, *, activation="tanh",
                 recurrent_dropout=0.0, returns="output_and_state", zero_output_for_mask=True):
        if proj_size:
            raise ValueError(f"LSTM: proj_size={proj_size} is not supported (LSTM with projections); "
                             f"project the outputs with a Linear layer instead")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device,
                         dtype, activation, recurrent_dropout, returns, zero_output_for_mask)

    def _run_layer(self, layer, direction, x, steps, init, gates):
        op = fused.LSTMLayer(steps, self.activation, self._recurrent_mask(steps.batch, x.dtype), gates)
        return op(x, init[0], init[1], *self._weights(layer, direction))


class GRU(_RecurrentLayer):
    __doc__ = ("""GRU over a whole sequence, PyTorch's equations (gate order r, z, n):
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h′ = (1 − z)⊙n + z⊙h.

    ``nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``: PyTorch's arguments; ``activation``,
    ``recurrent_dropout``, ``returns`` and ``zero_output_for_mask`` (Keras' options) are keyword-only."""
               + _SHAPES_DOC.format(state="h0", state_shape="(L·D, B, H)", final="h_n")
               + shapes_doc("GRU", "input_size or D*hidden_size"))
    kind = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None, *, activation="tanh",
                 recurrent_dropout=0.0, returns="output_and_state", zero_output_for_mask=True):
        _refuse_proj_size("GRU", proj_size)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device,
                         dtype, activation, recurrent_dropout, returns, zero_output_for_mask)

    def _run_layer(self, layer, direction, x, steps, init, gates):
        op = fused.GRULayer(steps, self.activation, self._recurrent_mask(steps.batch, x.dtype), gates)
        return op(x, init[0], *self._weights(layer, direction))
