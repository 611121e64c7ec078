"""retrograd's recurrent layers against Keras, without Keras (CI has none).

The literals below were produced by keras 3.15.1 (torch 2.13 backend, floatx
float64, with Keras' demotion of float64 ops to float32 lifted:
``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"``)
from the same seeded weights, inputs, masks and initial states as ``_case``
(script: /tmp/kprobe/gen_refs.py of the session that wrote this file). Keras'
``SimpleRNN`` / ``LSTM`` / ``GRU(reset_after=True)`` were called with
``mask=`` and ``initial_state=``; ``return_sequences=False`` gave ``LAST``.
"""

import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.autograd.op import OpError

B, T, I, H = 2, 4, 2, 2
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
MASKS = {"RNN": [[1, 1, 1, 0], [0, 0, 0, 0]],      # post-padding; row 1 has no real step
         "LSTM": [[0, 0, 1, 1], [1, 0, 1, 0]],     # pre-padding; a gap
         "GRU": [[1, 0, 1, 1], [0, 1, 1, 0]]}      # gaps
ACTIVATION = {"RNN": "relu", "LSTM": "tanh", "GRU": "relu"}

# Keras' outputs at the real steps (row-major over the mask's True entries), final states, last output
OUT = {
    "RNN": [[0.17472797762173295, 0.0], [0.38937311401730834, 0.380804072897814], [0.22349259773725005, 0.0]],
    "LSTM": [[0.030232601548860347, -0.3162129110191337], [0.03182713388476429, -0.463279604366234],
             [-0.2219375196055747, -0.19835709929247877], [-0.2841020396504485, -0.27936065968825524]],
    "GRU": [[-0.5129076734170044, -0.2945633839630271], [-0.23314592014210353, 0.17961327240548858],
            [0.44728497009082124, 0.6514424426296508], [-0.047910159745321756, 0.41539880094867304],
            [-0.01501342649307754, 0.05184835591219239]],
}
STATES = {
    "RNN": [[[0.22349259773725005, 0.0], [-0.24836162209524854, 0.4204452380655215]]],  # row 1: h0
    "LSTM": [[[0.03182713388476429, -0.463279604366234], [-0.2841020396504485, -0.27936065968825524]],
             [[0.10373832438034843, -0.7755280230706707], [-0.5141910891197929, -1.2051131588603334]]],
    "GRU": [[[0.44728497009082124, 0.6514424426296508], [-0.01501342649307754, 0.05184835591219239]]],
}
LAST = {  # Keras' return_sequences=False: 0 for a row that never stepped, though its state is h0
    "RNN": [[0.22349259773725005, 0.0], [0.0, 0.0]],
    "LSTM": STATES["LSTM"][0],
    "GRU": STATES["GRU"][0],
}


def _keras_arrays(kind, seed=1):
    """Keras-layout arrays [kernel (I, kH), recurrent_kernel (H, kH), bias ((2, 3H) for the GRU)]."""
    r = np.random.default_rng(seed)
    k = GATES[kind]
    return [r.normal(0, 0.5, (I, k * H)), r.normal(0, 0.5, (H, k * H)),
            r.normal(0, 0.5, (2, k * H) if kind == "GRU" else (k * H,))]


def _layer(kind, **kw):
    act = {"nonlinearity" if kind == "RNN" else "activation": ACTIVATION[kind]}
    return getattr(nn, kind)(I, H, batch_first=True, **act, **kw).double()


def _case(kind):
    x = np.random.default_rng(0).normal(size=(B, T, I))
    h0 = np.random.default_rng(5).normal(size=(2, B, H))
    state = (rg.tensor(h0[0][None]), rg.tensor(h0[1][None])) if kind == "LSTM" else rg.tensor(h0[0][None])
    return rg.tensor(x), np.array(MASKS[kind], bool), state


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_masked_outputs_states_and_last_output_are_keras(kind):
    x, mask, h0 = _case(kind)
    layer = _layer(kind)
    layer.load_keras_weights(_keras_arrays(kind))
    out, state = layer(x, h0, mask=mask)
    out = np.asarray(out.data)
    np.testing.assert_allclose(out[mask], OUT[kind], rtol=0, atol=1e-12)
    assert not out[~mask].any()  # zero_output_for_mask=True (Keras' default repeats the last output)
    parts = state if kind == "LSTM" else (state,)
    for got, want in zip(parts, STATES[kind]):
        np.testing.assert_allclose(np.asarray(got.data)[0], want, rtol=0, atol=1e-12)
    last_layer = _layer(kind, returns="last")
    last_layer.load_keras_weights(_keras_arrays(kind))
    np.testing.assert_allclose(np.asarray(last_layer(x, h0, mask=mask).data), LAST[kind], rtol=0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_output_of_a_row_without_real_steps_is_zero(bidirectional):
    """Keras: a row that never steps has output 0 while its final state stays h0;
    no gradient reaches h0 through that output."""
    D = 2 if bidirectional else 1
    gru = nn.GRU(I, H, batch_first=True, bidirectional=bidirectional, returns="last").double()
    x = rg.tensor(np.random.default_rng(2).normal(size=(B, T, I)))
    h0 = rg.tensor(np.random.default_rng(3).normal(size=(D, B, H)), requires_grad=True)
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool)
    last = gru(x, h0, mask=mask)
    assert last.shape == (B, D * H) and not np.asarray(last.data)[1].any()
    assert np.asarray(last.data)[0].all()
    last.sum().backward()
    assert not np.asarray(h0.grad.data)[:, 1].any() and np.asarray(h0.grad.data)[:, 0].any()
    gru.returns = "output_and_state"
    _, h_n = gru(x, h0, mask=mask)
    np.testing.assert_array_equal(np.asarray(h_n.data)[:, 1], np.asarray(h0.data)[:, 1])
    # unbatched, every step masked
    gru.returns = "last"
    one = gru(x[0], h0[:, 0], mask=np.zeros(T, bool))
    assert one.shape == (D * H,) and not np.asarray(one.data).any()


def _fake_keras(class_name, weights, **config):
    """A stand-in for a Keras layer: what load_keras_weights reads of one (get_weights, get_config)."""
    cls = type(class_name, (), {"get_weights": lambda self: list(weights), "get_config": lambda self: dict(config)})
    return cls()


@pytest.mark.parametrize("kind, config, fragment", [
    ("GRU", {"activation": "relu", "reset_after": False}, "reset_after=False"),
    ("LSTM", {"activation": "tanh"}, "activation='tanh'"),          # the layer is relu
    ("LSTM", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}, "recurrent_activation"),
    ("GRU", {"activation": "relu", "go_backwards": True}, "go_backwards"),
    ("RNN", {"activation": "tanh"}, "nonlinearity"),
])
def test_a_keras_layer_with_other_options_is_refused(kind, config, fragment):
    layer = nn.LSTM(I, H, activation="relu").double() if kind == "LSTM" else _layer(kind)
    keras_name = {"RNN": "SimpleRNN"}.get(kind, kind)
    before = [np.asarray(p.data).copy() for p in layer.parameters()]
    with pytest.raises(OpError, match=fragment):
        layer.load_keras_weights(_fake_keras(keras_name, _keras_arrays(kind), **config))
    assert all(np.array_equal(b, np.asarray(p.data)) for b, p in zip(before, layer.parameters()))


def test_a_bias_less_reset_after_false_gru_layer_is_refused_and_its_arrays_warn():
    """Without bias, reset_after=False has arrays of the same shapes (another function)."""
    gru = nn.GRU(I, H, bias=False).double()
    arrays = _keras_arrays("GRU")[:2]
    with pytest.raises(OpError, match="reset_after=False"):
        gru.load_keras_weights(_fake_keras("GRU", arrays, reset_after=False, use_bias=False))
    with pytest.warns(UserWarning, match="reset_after"):
        gru.load_keras_weights(arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gru.load_keras_weights(_fake_keras("GRU", arrays, reset_after=True, use_bias=False))
    np.testing.assert_array_equal(np.asarray(gru.weight_hh_l0.data)[:H], arrays[1][:, H:2 * H].T)  # r block


def test_a_keras_layer_loads_as_its_arrays_and_a_bidirectional_loads_both_halves():
    fwd, bwd = _keras_arrays("GRU", 1), _keras_arrays("GRU", 2)
    by_arrays = nn.GRU(I, H, bidirectional=True, activation="relu").double()
    by_arrays.load_keras_weights(fwd)
    by_arrays.load_keras_weights(bwd, reverse=True)
    bi = _fake_keras("Bidirectional", [])
    bi.forward_layer = _fake_keras("GRU", fwd, activation="relu")
    bi.backward_layer = _fake_keras("GRU", bwd, activation="relu", go_backwards=True)
    bi.merge_mode = "concat"
    by_layer = nn.GRU(I, H, bidirectional=True, activation="relu").double()
    by_layer.load_keras_weights(bi)
    for a, b in zip(by_arrays.parameters(), by_layer.parameters()):
        np.testing.assert_array_equal(np.asarray(a.data), np.asarray(b.data))
    bi.merge_mode = "sum"
    with pytest.raises(OpError, match="merge_mode='sum'"):
        by_layer.load_keras_weights(bi)


@pytest.mark.parametrize("returns", ["output", "last"])
def test_stateful_carries_the_state_of_a_layer_that_returns_outputs_only(returns):
    """Keras' stateful=True with return_sequences True / False: ``Stateful`` of an
    ``nn.LSTM(returns=…)`` carries the state (it once unpacked the output's rows
    as (output, state)); a masked-out chunk row keeps its state and outputs 0."""
    from retrograd.recurrent import Stateful
    lstm = nn.LSTM(I, H, batch_first=True, returns=returns).double()
    whole = nn.LSTM(I, H, batch_first=True).double()
    whole.load_state_dict(lstm.state_dict())
    x = np.random.default_rng(6).normal(size=(B, 2 * T, I))
    mask = np.ones((B, 2 * T), bool)
    mask[0, T:] = False  # row 0: the second chunk is all padding
    carried = Stateful(lstm)
    outs = [carried(rg.tensor(x[:, :T]), mask=mask[:, :T]), carried(rg.tensor(x[:, T:]), mask=mask[:, T:])]
    out, (h_n, c_n) = whole(rg.tensor(x), mask=mask)
    np.testing.assert_allclose(np.asarray(carried.state[0].data), np.asarray(h_n.data), atol=1e-12)
    np.testing.assert_allclose(np.asarray(carried.state[1].data), np.asarray(c_n.data), atol=1e-12)
    if returns == "output":
        got = np.concatenate([np.asarray(o.data) for o in outs], axis=1)
        np.testing.assert_allclose(got, np.asarray(out.data), atol=1e-12)
    else:
        assert outs[1].shape == (B, H) and not np.asarray(outs[1].data)[0].any()
        np.testing.assert_allclose(np.asarray(outs[1].data)[1], np.asarray(h_n.data)[0, 1], atol=1e-12)


def test_stateful_refuses_a_model_returning_a_bare_tensor():
    from retrograd.recurrent import Stateful

    class OutputsOnly(nn.Module):
        def forward(self, x, state):
            return x * 2

    with pytest.raises(OpError, match=r"must return \(output, state\)"):
        Stateful(OutputsOnly(), input_batch_axis=0)(rg.tensor(np.ones((2, 3))))
