"""Keras weights into retrograd's recurrent layers (``RNNBase.load_keras_weights``).

Keras keeps W transposed ((input, k·H)) and one bias (the GRU two, as rows of a
(2, 3H) array); its GRU gate order is (z, r, h) where PyTorch's is (r, z, n).

``get_weights()`` arrays alone cannot say everything that decides the function
a Keras layer computes: its ``activation`` and ``recurrent_activation``,
``go_backwards``, and for a GRU without bias whether ``reset_after`` (PyTorch's
GRU) is set — a bias-less ``reset_after=False`` GRU has arrays of the same
shapes and computes U(r⊙h) instead of r⊙(U h). Given the Keras layer itself
(duck-typed: ``get_weights`` and ``get_config``, so keras is never imported),
these are read from its config and a mismatch is refused.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import Tensor

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
KERAS_CLASS = {"RNN": "SimpleRNN", "LSTM": "LSTM", "GRU": "GRU"}


def _is_keras_layer(obj) -> bool:
    return callable(getattr(obj, "get_weights", None)) and callable(getattr(obj, "get_config", None))


def _activation_name(value):
    """A Keras config's activation as a name ('tanh'), or None when it is not a plain builtin."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # Keras 3 may serialize {"module": …, "class_name": "function", "config": "tanh"}
        cfg = value.get("config")
        return cfg if isinstance(cfg, str) else None
    return getattr(value, "__name__", None)


def _check_config(module, keras_layer, name, reverse):
    """Refuse a Keras layer whose options make it compute another function than ``module``."""
    kind = module.kind
    cls = type(keras_layer).__name__
    want = KERAS_CLASS[kind]
    if cls != want and want not in [c.__name__ for c in type(keras_layer).__mro__]:
        raise OpError(f"{name}: got a Keras {cls}; this {module._name()} loads the weights of a Keras {want}")
    cfg = keras_layer.get_config()
    ours = module.nonlinearity if kind == "RNN" else module.activation
    act = _activation_name(cfg.get("activation", "tanh"))
    if act != ours:
        option = "nonlinearity" if kind == "RNN" else "activation"
        raise OpError(f"{name}: the Keras {cls} has activation={act!r} but this layer's {option} is {ours!r}; "
                      f"construct it with {option}={act!r}" + ("" if act in ("tanh", "relu") else
                                                               " (retrograd has 'tanh' and 'relu')"))
    if kind != "RNN":
        rec = _activation_name(cfg.get("recurrent_activation", "sigmoid"))
        if rec != "sigmoid":
            raise OpError(f"{name}: the Keras {cls} has recurrent_activation={rec!r}; retrograd's gates are the "
                          f"logistic sigmoid (Keras 3's default) only")
    if kind == "GRU" and not cfg.get("reset_after", True):
        raise OpError(f"{name}: the Keras GRU has reset_after=False, which computes U(r⊙h) where PyTorch's GRU "
                      f"computes r⊙(U h); only reset_after=True (Keras' default) is PyTorch's GRU")
    if cfg.get("go_backwards", False) and not reverse:
        raise OpError(f"{name}: the Keras {cls} has go_backwards=True, which retrograd's layers have not: flip the "
                      f"time axis of the input (and mask) and load it as a forward layer's weights via "
                      f"load_keras_weights(layer.get_weights()); the outputs then come in reversed time order, "
                      f"as Keras'. (The backward half of a Bidirectional loads with reverse=True.)")
    if cfg.get("use_bias", True) != module.bias:
        raise OpError(f"{name}: the Keras {cls} has use_bias={cfg.get('use_bias')} but this layer has "
                      f"bias={module.bias}; construct it with bias={cfg.get('use_bias')}")


def load_keras_weights(module, weights, layer=0, reverse=False) -> None:
    """``module.load_keras_weights`` (see ``RNNBase.load_keras_weights``)."""
    name = f"{type(module).__name__}.load_keras_weights"
    if _is_keras_layer(weights) and hasattr(weights, "forward_layer") and hasattr(weights, "backward_layer"):
        if not module.bidirectional or reverse:
            raise OpError(f"{name}: a Keras Bidirectional loads into a bidirectional=True layer, with reverse=False "
                          f"(both halves are loaded)")
        merge = getattr(weights, "merge_mode", "concat")
        if merge != "concat":
            raise OpError(f"{name}: the Keras Bidirectional has merge_mode={merge!r}; retrograd's outputs are the "
                          f"directions concatenated (merge_mode='concat'). Load forward_layer and backward_layer "
                          f"(reverse=True) one by one, and merge the halves out[..., :H] and out[..., H:] yourself")
        fwd, bwd = _checked_arrays(module, weights.forward_layer, name, layer, False), \
            _checked_arrays(module, weights.backward_layer, name, layer, True)
        _assign(module, fwd, layer, False)
        _assign(module, bwd, layer, True)
        return
    _assign(module, _checked_arrays(module, weights, name, layer, reverse), layer, reverse)


def _checked_arrays(module, weights, name, layer, reverse):
    """The Keras arrays, checked against ``module``'s layer ``layer``; nothing is changed here."""
    if not isinstance(layer, numbers.Integral) or isinstance(layer, bool) or not 0 <= layer < module.num_layers:
        raise OpError(f"{name}: layer={layer!r}; this {module._name()} has layers 0 … {module.num_layers - 1} "
                      f"(num_layers={module.num_layers})")
    if reverse and not module.bidirectional:
        raise OpError(f"{name}: reverse=True loads the backward half of a Keras Bidirectional, but this "
                      f"{module._name()} is not bidirectional; construct it with bidirectional=True, or load "
                      f"with reverse=False")
    from_layer = _is_keras_layer(weights)
    if from_layer:
        _check_config(module, weights, name, reverse)
        weights = weights.get_weights()
    arrays = [xp.asarray(w.data if isinstance(w, Tensor) else w) for w in weights]
    if len(arrays) not in (2, 3) or (len(arrays) == 3) != module.bias:
        raise OpError(f"{name}: expected [kernel, recurrent_kernel{', bias' if module.bias else ''}] "
                      f"(bias={module.bias}), got {len(arrays)} arrays")
    H, k = module.hidden_size, GATES[module.kind]
    I = module.input_size if layer == 0 else H * module.num_directions
    where = f"layer {layer}{' (reverse)' if reverse else ''}"
    if module.kind == "GRU" and module.bias and tuple(arrays[2].shape) == (k * H,):
        raise OpError(f"{name}: a GRU bias of shape {tuple(arrays[2].shape)} is Keras' reset_after=False "
                      f"GRU, which computes another function; only reset_after=True (bias (2, {k * H})) "
                      f"is PyTorch's GRU")
    # Keras' set_weights refuses any other shape; slicing gate blocks out of a wider array would drop columns
    expected = {"kernel": (I, k * H), "recurrent_kernel": (H, k * H),
                "bias": (2, k * H) if module.kind == "GRU" else (k * H,)}
    for (what, shape), a in zip(expected.items(), arrays):
        if tuple(a.shape) != shape:
            raise OpError(f"{name}: the {what} for {where} has shape {tuple(a.shape)}; Keras' {module.kind} "
                          f"with {'input' if layer == 0 else 'previous layer output'} size {I} and "
                          f"{H} units has a {what} of shape {shape}; check input_size / hidden_size "
                          f"and that the weights are of a Keras {module.kind}")
    if module.kind == "GRU" and not module.bias and not from_layer:
        # the only case where the arrays cannot tell reset_after=False (another function) from True
        warnings.warn(f"{name}: a bias-less Keras GRU's arrays have the same shapes with reset_after=True and "
                      f"False, which compute different functions; they are loaded as reset_after=True (Keras' "
                      f"default, PyTorch's GRU). Pass the Keras layer itself to have its options checked",
                      stacklevel=4)
    return arrays


def _assign(module, arrays, layer, reverse):
    H, k = module.hidden_size, GATES[module.kind]
    order = [1, 0, 2] if module.kind == "GRU" else list(range(k))       # Keras' z, r, h → r, z, n

    def blocks(a):  # reorder the gate blocks of the last axis
        return xp.concatenate([a[..., g * H:(g + 1) * H] for g in order], axis=-1)
    w_ih, w_hh, b_ih, b_hh = module._weights(layer, 1 if reverse else 0)
    updates = {w_ih: blocks(arrays[0]).T, w_hh: blocks(arrays[1]).T}
    if module.bias:
        bias = arrays[2]
        if module.kind == "GRU":
            updates[b_ih], updates[b_hh] = blocks(bias[0]), blocks(bias[1])
        else:  # Keras' one bias; PyTorch's b_hh is then zero
            updates[b_ih], updates[b_hh] = blocks(bias), xp.zeros_like(bias)
    for param, value in updates.items():
        param.data[...] = value.astype(param.dtype)
        param.mark_modified_()
