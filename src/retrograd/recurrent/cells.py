"""Recurrent cells composed from primitives, readable gate by gate.

Each cell is a stateless map ``(x, state) → new state`` with PyTorch's
equations, parameter names and layouts (gates stacked in the rows of
``weight_ih`` / ``weight_hh`` in PyTorch's order; both biases kept):

RNNCell   h′ = tanh(W_ih x + b_ih + W_hh h + b_hh)                 (or relu)
LSTMCell  i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh)
          c′ = f ⊙ c + i ⊙ g,   h′ = o ⊙ tanh(c′)                 (gate order i, f, g, o)
GRUCell   r = σ(W_ir x + b_ir + W_hr h + b_hr)
          z = σ(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
          h′ = (1 − z) ⊙ n + z ⊙ h                                  (gate order r, z, n)

Backpropagating through them is ordinary reverse mode over these ops; the
sequence layers in ``layers.py`` do the same computation as one fused op
with a hand-written per-gate BPTT, and are tested equal to these cells.
The equations live once, in ``rnn_update`` / ``lstm_update`` / ``gru_update``
(functions of the input, the state and the weights); the cells call them, and
the fused ops call them to record a differentiable backward
(``create_graph=True``).

Each cell emits ``GATES_EVENT`` with its gate pre-activations (whose
gradients are the per-gate deltas) to the observers of ``autograd.hooks``:
``rg.bptt.trace`` listens with ``hooks.observe(GATES_EVENT, fn)``.

The update functions also name their ops for ``rg.explain`` (``_name_*``,
after the math, which they leave as it is): ``getitem [a_i]`` is gate i's
pre-activation, so the gradient that row passes on is δi; ``sigmoid [gate
i]``, ``mul [f⊙c]``, ``add [c′]``, ``mul [h′]`` … follow the equations above.
"""

from __future__ import annotations

import math

from ..autograd import hooks
from ..autograd.backend import xp
from ..autograd.graph import label_many

from .. import ops
from ..nn import init
from ..nn.module import Module, Parameter, check_device
from ..autograd.op import OpError
from ..autograd.tensor import get_default_dtype

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
GATE_NAMES = {"RNN": ("h",), "LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n")}

# hooks event: fn(cell, pre_activations), emitted by every cell's forward.
GATES_EVENT = "recurrent.gates"


def shapes_doc(kind: str, input_size: str = "input_size", hidden: str = "hidden_size") -> str:
    """Parameter shapes of a cell kind, generated from one table so the docs of
    the three kinds cannot drift apart."""
    k = GATES[kind]
    rows = f"{k}*{hidden}" if k > 1 else hidden
    return (f"weight_ih: ({rows}, {input_size}), weight_hh: ({rows}, {hidden}), "
            f"bias_ih: ({rows},), bias_hh: ({rows},)  [gates {', '.join(GATE_NAMES[kind])}]")


def recurrent_parameters(module, kind, input_size, hidden_size, bias, suffix="", dtype=None):
    """Create PyTorch-style recurrent parameters, initialised U(±1/√hidden_size)."""
    rows = GATES[kind] * hidden_size
    dt = dtype or get_default_dtype()
    names = [("weight_ih", (rows, input_size)), ("weight_hh", (rows, hidden_size))]
    if bias:
        names += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0  # PyTorch: a 0-wide cell is allowed
    for name, shape in names:
        p = Parameter(xp.zeros(shape, dtype=dt))
        init.uniform_(p, -bound, bound)
        setattr(module, name + suffix, p)
    if not bias:
        for name in ("bias_ih", "bias_hh"):
            module.register_parameter(name + suffix, None)


ACTIVATION_FUNCTIONS = {"tanh": ops.tanh, "relu": ops.relu}


def _dropped(h, recurrent_mask):
    """hₜ₋₁ as it enters the recurrent product: ⊙ the recurrent dropout mask, if any."""
    return h if recurrent_mask is None else h * recurrent_mask


def _name_step(tensors, names) -> None:
    """Name the ops that made a step's tensors (``rg.explain`` shows ``op [name]``); nothing
    to name when nothing was recorded (no_grad). This runs every recorded step: one pass."""
    if tensors[-1].grad_fn is not None:
        label_many(tensors, names)


_RNN_NAMES = ("W_ih x", "W_hh h", "a", "h′")


def rnn_update(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", recurrent_mask=None):
    """One Elman step: a = W_ih x + b_ih + W_hh (h ⊙ m) + b_hh, h′ = tanh(a) or relu(a)
    (m: the recurrent dropout mask, none by default).
    Returns (h′, (a,)): the new state and the pre-activation."""
    from_x, from_h = ops.linear(x, w_ih, b_ih), ops.linear(_dropped(h, recurrent_mask), w_hh, b_hh)
    a = from_x + from_h
    h = ACTIVATION_FUNCTIONS[nonlinearity](a)
    _name_step((from_x, from_h, a, h), _RNN_NAMES)
    return h, (a,)


_LSTM_NAMES = ("W_ih x", "W_hh h", "a: i,f,g,o", "a_i", "a_f", "a_g", "a_o", "gate i", "gate f", "gate g",
               "gate o", "f⊙c", "i⊙g", "c′", "h′")


def lstm_update(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, activation="tanh", recurrent_mask=None):
    """One LSTM step: i, f, g, o = σ, σ, φ, σ of the four row blocks of
    W_ih x + b_ih + W_hh (h ⊙ m) + b_hh; c′ = f⊙c + i⊙g, h′ = o⊙φ(c′), with
    φ = tanh (PyTorch) or relu (Keras' ``activation='relu'``) and m the
    recurrent dropout mask (none by default). Returns ((h′, c′), (a_i, a_f,
    a_g, a_o)): the new state and the gate pre-activations."""
    from_x, from_h = ops.linear(x, w_ih, b_ih), ops.linear(_dropped(h, recurrent_mask), w_hh, b_hh)
    a = from_x + from_h
    phi = ACTIVATION_FUNCTIONS[activation]
    H = w_hh.shape[1]
    pre = (a[..., 0 * H:1 * H], a[..., 1 * H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:4 * H])
    i = ops.sigmoid(pre[0])  # input gate
    f = ops.sigmoid(pre[1])  # forget gate
    g = phi(pre[2])          # candidate cell
    o = ops.sigmoid(pre[3])  # output gate
    kept, added = f * c, i * g
    c = kept + added
    phi_c = phi(c)
    h = o * phi_c
    _name_step((phi_c, from_x, from_h, a, *pre, i, f, g, o, kept, added, c, h),
               (f"{activation} c′",) + _LSTM_NAMES)
    return (h, c), pre


_GRU_NAMES = ("W_ih x", "W_hh h", "x→r", "h→r", "x→z", "h→z", "x→n", "h→n", "r⊙(h→n)", "a_r", "a_z", "a_n",
              "gate r", "gate z", "gate n", "1−z", "(1−z)⊙n", "z⊙h", "h′")


def gru_update(x, h, w_ih, w_hh, b_ih=None, b_hh=None, activation="tanh", recurrent_mask=None):
    """One GRU step: r = σ(a_r), z = σ(a_z), n = φ(W_in x + b_in + r⊙(W_hn (h ⊙ m) + b_hn)),
    h′ = (1 − z)⊙n + z⊙h (φ = tanh, or relu; m the recurrent dropout mask,
    none by default). Returns (h′, (a_r, a_z, a_n)): the new state and the
    gate pre-activations."""
    H = w_hh.shape[1]
    gx = ops.linear(x, w_ih, b_ih)
    gh = ops.linear(_dropped(h, recurrent_mask), w_hh, b_hh)
    x_r, h_r, x_z, h_z = gx[..., 0:H], gh[..., 0:H], gx[..., H:2 * H], gh[..., H:2 * H]
    r_pre = x_r + h_r
    z_pre = x_z + h_z
    r = ops.sigmoid(r_pre)                                   # reset gate
    z = ops.sigmoid(z_pre)                                   # update gate
    x_n, h_n = gx[..., 2 * H:3 * H], gh[..., 2 * H:3 * H]
    reset_h_n = r * h_n
    n_pre = x_n + reset_h_n
    n = ACTIVATION_FUNCTIONS[activation](n_pre)              # candidate
    one_minus_z = 1.0 - z
    from_n, from_h = one_minus_z * n, z * h
    h = from_n + from_h
    _name_step((gx, gh, x_r, h_r, x_z, h_z, x_n, h_n, reset_h_n, r_pre, z_pre, n_pre, r, z, n, one_minus_z,
                from_n, from_h, h), _GRU_NAMES)
    return h, (r_pre, z_pre, n_pre)


def _report_gates(cell, pre):
    if hooks.active(GATES_EVENT):  # one dictionary lookup when nobody listens
        hooks.emit(GATES_EVENT, cell, pre)


class RNNCellBase(Module):
    """The base of ``RNNCell``, ``LSTMCell`` and ``GRUCell`` (PyTorch's ``nn.RNNCellBase``, for
    ``isinstance(m, nn.RNNCellBase)``). Its constructor is the cells' (``input_size, hidden_size, bias``),
    without PyTorch's ``num_chunks``: the subclass's ``kind`` sets the gates."""

    kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(type(self).__name__, device)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        recurrent_parameters(self, self.kind, input_size, hidden_size, bias, dtype=dtype)

    def _zeros(self, x):
        batch = x.shape[:-1]
        return ops.zeros(*batch, self.hidden_size, dtype=x.dtype)

    def _check(self, x, states=()):
        """PyTorch's checks of a cell's call (its messages, with the shapes): x (B, I) or (I,);
        each given state (B, H), or (H,) for an unbatched x. Nothing broadcasts."""
        shape = x.shape  # the common case first, in a few comparisons: a cell runs once per time step
        if len(shape) == 2 and shape[1] == self.input_size:
            expected = (shape[0], self.hidden_size)
        elif len(shape) == 1 and shape[0] == self.input_size:
            expected = (self.hidden_size,)
        else:
            expected = None
        if expected is not None:
            for s in states:
                if s is not None and s.shape != expected:
                    break
            else:
                return
        self._refuse(x, states)

    def _refuse(self, x, states):
        """The error for a call ``_check`` did not pass."""
        name = f"{type(self).__name__}({self.input_size}, {self.hidden_size})"
        if x.ndim not in (1, 2):
            raise OpError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead (shape {tuple(x.shape)}); "
                          f"run a sequence through {type(self).__name__[:-4]} or loop over its steps")
        if x.shape[-1] != self.input_size:
            raise OpError(f"{name}: input has inconsistent input_size: got {x.shape[-1]} expected {self.input_size} "
                          f"(input of shape {tuple(x.shape)})")
        for i, s in enumerate(states):
            if s is None:
                continue
            if s.ndim != x.ndim:
                raise OpError(f"{name}: hidden{i} of shape {tuple(s.shape)} does not fit the {x.ndim}-D input of "
                              f"shape {tuple(x.shape)}: give a {'(B, H)' if x.ndim == 2 else '(H,)'} state")
            if x.ndim == 2 and s.shape[0] != x.shape[0]:
                raise OpError(f"{name}: Input batch size {x.shape[0]} doesn't match hidden{i} batch size "
                              f"{s.shape[0]}; states are not broadcast")
            if s.shape[-1] != self.hidden_size:
                raise OpError(f"{name}: hidden{i} has inconsistent hidden_size: got {s.shape[-1]}, expected "
                              f"{self.hidden_size}")

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


_Cell = RNNCellBase  # the name the cells below use


class RNNCell(_Cell):
    __doc__ = "h′ = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). " + shapes_doc("RNN")
    kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x, h=None):
        self._check(x, (h,))
        h = self._zeros(x) if h is None else h
        h, pre = rnn_update(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        _report_gates(self, pre)
        return h


class LSTMCell(_Cell):
    __doc__ = "c′ = f⊙c + i⊙g, h′ = o⊙tanh(c′); returns (h′, c′). " + shapes_doc("LSTM")
    kind = "LSTM"

    def forward(self, x, state=None):
        self._check(x, () if state is None else tuple(state))
        if state is None:
            h = c = self._zeros(x)
        else:
            h, c = state
        state, pre = lstm_update(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        _report_gates(self, pre)  # pre-activations: their gradients are the per-gate deltas
        return state


class GRUCell(_Cell):
    __doc__ = "h′ = (1 − z)⊙n + z⊙h. " + shapes_doc("GRU")
    kind = "GRU"

    def forward(self, x, h=None):
        self._check(x, (h,))
        h = self._zeros(x) if h is None else h
        h, pre = gru_update(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        _report_gates(self, pre)
        return h
