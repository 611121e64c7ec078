"""Keras' own tests of its recurrent layers, ported: keras-team/keras
``keras/src/layers/rnn/{simple_rnn,lstm,gru,bidirectional,rnn}_test.py`` (the
cases that assert values: correctness, go_backwards, unroll, use_bias=False,
unit_forget_bias=False, reset_after, statefulness, initial state, return_state,
masking with and without zero_output_for_mask).

Each case builds retrograd's layer with the weights Keras' ``Constant(0.01)`` /
``Constant(0.02)`` / ``Constant(0.03)`` initializers give (``_constant_weights``:
the Keras layer's ``get_weights()``, loaded with ``load_keras_weights``) and
runs Keras' inputs, then checks two things:

* Keras' own literal (copied from its test, float32 numbers) at the tolerance
  of its ``assertAllClose`` (1e-6, or the 1e-5 its LSTM tests give);
* ``KERAS64``: the same Keras layers run by keras 3.15.1 (torch 2.13 backend,
  floatx float64, with Keras' demotion of float64 ops to float32 lifted:
  ``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"``;
  without it the numbers differ by up to 3e-8), at 1e-13.

Options retrograd spells differently: ``go_backwards=True`` is the layer on
the input (and mask) flipped in time; ``unroll=True`` is an execution
strategy of Keras (no option here: the same numbers); ``stateful=True`` is
``rg.recurrent.Stateful``; ``return_sequences=False`` is ``returns="last"``;
``Bidirectional`` is ``bidirectional=True`` with the merge modes written out.
GRU ``reset_after=False`` is not implemented: its weights are refused.
Keras' ``RNN(cell)`` cases with a custom one-state cell (x·K + h·R, weights
of ones, no bias) are ``nn.RNN(nonlinearity="relu", bias=False)``: every value
there is ≥ 0, where relu is the identity.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.recurrent import Stateful

pytestmark = pytest.mark.usefixtures("float64_default")

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
LAYER = {"SimpleRNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
MASK = [[True, True, False, True], [True, False, False, True]]  # simple_rnn_test, gru_test, bidirectional_test
LSTM_MASK = [[True, True, True, False], [True, True, False, False]]


def _arange(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


def _constant_weights(kind, I, H, kernel=0.01, recurrent=0.02, bias=0.03, use_bias=True, unit_forget_bias=True):
    """A Keras layer's ``get_weights()`` after Constant initializers (LSTM: Keras'
    ``unit_forget_bias=True`` sets the forget gate's bias block to 1)."""
    k = GATES[kind]
    weights = [np.full((I, k * H), kernel), np.full((H, k * H), recurrent)]
    if use_bias:
        b = np.full((2, k * H) if kind == "GRU" else (k * H,), bias)
        if kind == "LSTM" and unit_forget_bias:
            b[H:2 * H] = 1.0
        weights.append(b)
    return weights


def _layer(kind, I, H, *, use_bias=True, bidirectional=False, backward=None, unit_forget_bias=True, **kw):
    """retrograd's layer with Keras' constant weights; ``backward``: the (kernel, recurrent, bias)
    constants of a Bidirectional's backward layer when they differ from the forward one's."""
    layer = LAYER[kind](I, H, bias=use_bias, batch_first=True, bidirectional=bidirectional, **kw)
    arrays = _constant_weights(kind, I, H, use_bias=use_bias, unit_forget_bias=unit_forget_bias)
    if kind == "GRU" and not use_bias:  # the arrays alone cannot say reset_after (True, Keras' default, here)
        with pytest.warns(UserWarning, match="reset_after"):
            layer.load_keras_weights(arrays)
    else:
        layer.load_keras_weights(arrays)
    if bidirectional:
        layer.load_keras_weights(_constant_weights(kind, I, H, *(backward or ()), use_bias=use_bias,
                                                   unit_forget_bias=unit_forget_bias), reverse=True)
    return layer


def _np(t):
    return np.asarray(t.data)


def _check(got, keras_literal, key, atol=1e-6):
    """Keras' literal at its own test's tolerance, and Keras' float64 numbers at 1e-13."""
    got = _np(got) if not isinstance(got, np.ndarray) else got
    np.testing.assert_allclose(got, np.asarray(keras_literal), atol=atol, rtol=atol)
    if key is not None:
        np.testing.assert_allclose(got, np.asarray(KERAS64[key]), atol=1e-13, rtol=1e-13)


def _flip(x):  # Keras' go_backwards: the layer reads the sequence (and the mask) backwards
    return np.ascontiguousarray(np.asarray(x)[:, ::-1])


def _rows(*values, units):  # Keras' constant weights give every unit the same value
    return [[v] * units for v in values]


# ------------------------------------------------------------------ simple_rnn_test.py
@pytest.mark.parametrize("unroll", [False, True])
def test_simple_rnn_correctness(unroll):
    """``SimpleRNNTest.test_correctness`` (``unroll`` changes nothing here: it is Keras' execution strategy)."""
    x = _arange(2, 3, 4)
    layer = _layer("SimpleRNN", 4, 4, returns="last")
    _check(layer(rg.tensor(x)), _rows(0.405432, 0.73605347, units=4), "simple_rnn/correctness/default")
    _check(layer(rg.tensor(_flip(x))), _rows(0.11144729, 0.5528889, units=4), "simple_rnn/correctness/go_backwards")


def test_simple_rnn_statefulness():
    x = rg.tensor(_arange(2, 3, 4))
    layer = Stateful(_layer("SimpleRNN", 4, 4, returns="last"))
    for _ in range(2):  # layer.reset_state() between the rounds
        layer(x)
        _check(layer(x), _rows(0.40559256, 0.7361247, units=4), "simple_rnn/statefulness")
        layer.reset()


def test_simple_rnn_pass_initial_state():
    x, h0 = _arange(2, 4, 3), rg.tensor(_arange(2, 4)[None])
    layer = _layer("SimpleRNN", 3, 4, returns="last")
    _check(layer(rg.tensor(x), h0), _rows(0.33621645, 0.6262637, units=4), "simple_rnn/initial_state/default")
    _check(layer(rg.tensor(_flip(x)), h0), _rows(0.07344437, 0.43043602, units=4),
           "simple_rnn/initial_state/go_backwards")


def test_simple_rnn_masking():
    x, mask = rg.tensor(_arange(2, 4, 3)), np.array(MASK)
    _check(_layer("SimpleRNN", 3, 4, returns="last")(x, mask=mask), _rows(0.32951632, 0.61799484, units=4),
           "simple_rnn/masking/last")  # unroll=True
    out = _layer("SimpleRNN", 3, 2, returns="output", zero_output_for_mask=False)(x, mask=mask)  # Keras' default
    _check(out[0], _rows(0.0599281, 0.15122814, 0.15122814, 0.32394567, units=2), None)
    _check(out[1], _rows(0.3969304, 0.3969304, 0.3969304, 0.608085, units=2), None)
    _check(out, KERAS64["simple_rnn/masking/sequences"], "simple_rnn/masking/sequences")
    out = _layer("SimpleRNN", 3, 2, returns="output")(x, mask=mask)  # zero_output_for_mask=True
    _check(out[0], _rows(0.0599281, 0.15122814, 0.0, 0.32394567, units=2), None)
    _check(out[1], _rows(0.3969304, 0.0, 0.0, 0.608085, units=2), None)
    _check(out, KERAS64["simple_rnn/masking/sequences_zero"], "simple_rnn/masking/sequences_zero")
    _check(_layer("SimpleRNN", 3, 4, returns="last")(rg.tensor(_flip(x.data)), mask=_flip(mask)),
           _rows(0.07376196, 0.43645123, units=4), "simple_rnn/masking/go_backwards")


# ------------------------------------------------------------------ lstm_test.py
LSTM_CORRECTNESS = {
    "default": [0.6288687, 0.86899155, 0.9460773],
    "go_backwards": [0.35622165, 0.74789524, 0.8872726],
    "unroll": [0.6288687, 0.86899155, 0.9460773],
    "unit_forget_bias_false": [0.57019705, 0.8661914, 0.9459622],
    "no_bias": [0.54986924, 0.86226785, 0.9443936],
}


@pytest.mark.parametrize("case", LSTM_CORRECTNESS)
def test_lstm_correctness(case):
    """``LSTMTest.test_correctness`` (its ``implementation`` 1 / 2 compute the same function)."""
    x = _arange(3, 6, 4)
    layer = _layer("LSTM", 4, 3, returns="last", use_bias=case != "no_bias",
                   unit_forget_bias=case != "unit_forget_bias_false")
    out = layer(rg.tensor(_flip(x) if case == "go_backwards" else x))
    _check(out, _rows(*LSTM_CORRECTNESS[case], units=3), f"lstm/correctness/{'default' if case == 'unroll' else case}",
           atol=1e-5)


def test_lstm_statefulness():
    x = rg.tensor(_arange(2, 3, 4))
    layer = Stateful(_layer("LSTM", 4, 4, returns="last"))
    for _ in range(2):
        layer(x)
        _check(layer(x), _rows(0.3124785, 0.6863672, units=4), "lstm/statefulness", atol=1e-5)
        layer.reset()


def test_lstm_pass_initial_state():
    x, s = _arange(2, 4, 3), rg.tensor(_arange(2, 2)[None])
    layer = _layer("LSTM", 3, 2, returns="last")
    _check(layer(rg.tensor(x), (s, s)), [[0.20574439, 0.3558822], [0.64930826, 0.66276]],
           "lstm/initial_state/default", atol=1e-5)
    _check(layer(rg.tensor(_flip(x)), (s, s)), [[0.13281618, 0.2790356], [0.5839337, 0.5992567]],
           "lstm/initial_state/go_backwards", atol=1e-5)


def test_lstm_masking():
    x, mask = rg.tensor(_arange(2, 4, 3)), np.array(LSTM_MASK)
    _check(_layer("LSTM", 3, 2, returns="last")(x, mask=mask), _rows(0.11755939, 0.28556206, units=2),
           "lstm/masking/last", atol=1e-5)  # unroll=True
    out = _layer("LSTM", 3, 2, returns="output", zero_output_for_mask=False)(x, mask=mask)
    _check(out[0], _rows(0.01588910, 0.05552048, 0.11755939, 0.11755939, units=2), None, atol=1e-5)
    _check(out[1], _rows(0.14185596, 0.28556206, 0.28556206, 0.28556206, units=2), None, atol=1e-5)
    _check(out, KERAS64["lstm/masking/sequences"], "lstm/masking/sequences", atol=1e-5)
    out = _layer("LSTM", 3, 2, returns="output")(x, mask=mask)
    _check(out[0], _rows(0.01588910, 0.05552048, 0.11755939, 0.0, units=2), None, atol=1e-5)
    _check(out[1], _rows(0.14185596, 0.28556206, 0.0, 0.0, units=2), None, atol=1e-5)
    backwards_mask = np.array([[False, True, True, True], [False, False, True, True]])
    _check(_layer("LSTM", 3, 2, returns="last")(rg.tensor(_flip(x.data)), mask=_flip(backwards_mask)),
           _rows(0.15341201, 0.3844719, units=2), "lstm/masking/go_backwards", atol=1e-5)


# ------------------------------------------------------------------ gru_test.py
GRU_CORRECTNESS = {
    "default": [0.5217289, 0.6371659, 0.39384964],
    "go_backwards": [0.24406259, 0.611516, 0.3928808],
    "unroll": [0.5217289, 0.6371659, 0.39384964],
    "no_bias": [0.49988455, 0.64701194, 0.4103359],
}


@pytest.mark.parametrize("case", GRU_CORRECTNESS)
def test_gru_correctness(case):
    """``GRUTest.test_correctness`` (and ``test_legacy_implementation_argument``: the default case)."""
    x = _arange(3, 6, 4)
    layer = _layer("GRU", 4, 3, returns="last", use_bias=case != "no_bias")
    out = layer(rg.tensor(_flip(x) if case == "go_backwards" else x))
    expected = np.array(_rows(*GRU_CORRECTNESS[case], units=3))
    if case in ("default", "unroll"):
        expected[2, 2] = 0.3938496  # Keras' literal has this one digit fewer
    _check(out, expected, f"gru/correctness/{'default' if case == 'unroll' else case}", atol=1e-5)


def test_gru_reset_after_false_is_refused():
    """``GRUTest.test_correctness``'s ``reset_after=False`` layer computes U(r⊙h), not PyTorch's
    r⊙(U h): not implemented (README, differences from Keras); its weights are refused, and the
    layer retrograd has gives another number than Keras' literal."""
    arrays = _constant_weights("GRU", 4, 3)
    reset_before = arrays[:2] + [arrays[2][0]]  # Keras' reset_after=False bias is one (3H,) row
    layer = _layer("GRU", 4, 3, returns="last")
    with pytest.raises(rg.OpError, match="reset_after=False"):
        layer.load_keras_weights(reset_before)
    keras_reset_before = _rows(0.51447755, 0.6426879, 0.40208298, units=3)
    np.testing.assert_allclose(KERAS64["gru/correctness/reset_after_false"], keras_reset_before, atol=1e-6)
    assert np.abs(_np(layer(rg.tensor(_arange(3, 6, 4)))) - keras_reset_before).max() > 1e-3


def test_gru_statefulness():
    x = rg.tensor(_arange(2, 3, 4))
    layer = Stateful(_layer("GRU", 4, 4, returns="last"))
    for _ in range(2):
        layer(x)
        _check(layer(x), _rows(0.29542392, 0.5885018, units=4), "gru/statefulness")
        layer.reset()


@pytest.mark.parametrize("go_backwards", [False, True])
def test_gru_pass_initial_state_and_return_state(go_backwards):
    """``GRUTest.test_pass_initial_state`` and ``test_pass_return_state`` (return_state: the state is the output)."""
    x, h0 = _arange(2, 4, 3), rg.tensor(_arange(2, 2)[None])
    x = _flip(x) if go_backwards else x
    expected = [[0.13486053, 0.23261218], [0.78257304, 0.9691353]] if go_backwards else \
        [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]
    key = f"gru/initial_state/{'go_backwards' if go_backwards else 'default'}"
    layer = _layer("GRU", 3, 2, returns="last")
    _check(layer(rg.tensor(x), h0), expected, None)
    output, state = layer.forward_with_state(rg.tensor(x), h0)
    _check(output, expected, None)
    _check(output, KERAS64[key][0], None)
    _check(state[0], _np(output), None)
    _check(state[0], KERAS64[key][1], None)


def test_gru_masking():
    x, mask = rg.tensor(_arange(2, 4, 3)), np.array(MASK)
    _check(_layer("GRU", 3, 2, returns="last")(x, mask=mask), _rows(0.19393763, 0.30818558, units=2),
           "gru/masking/last")  # unroll=True
    out = _layer("GRU", 3, 2, returns="output", zero_output_for_mask=False)(x, mask=mask)
    _check(out[0], _rows(0.03606692, 0.09497581, 0.09497581, 0.19393763, units=2), None)
    _check(out[1], _rows(0.16051409, 0.16051409, 0.16051409, 0.30818558, units=2), None)
    _check(out, KERAS64["gru/masking/sequences"], "gru/masking/sequences")
    out = _layer("GRU", 3, 2, returns="output")(x, mask=mask)
    _check(out[0], _rows(0.03606692, 0.09497581, 0.0, 0.19393763, units=2), None)
    _check(out[1], _rows(0.16051409, 0.0, 0.0, 0.30818558, units=2), None)
    _check(_layer("GRU", 3, 2, returns="last")(rg.tensor(_flip(x.data)), mask=_flip(mask)),
           _rows(0.11669192, 0.28380975, units=2), "gru/masking/go_backwards")


def test_zero_output_for_mask_false_before_the_first_real_step_and_its_gradient():
    """Not in Keras' tests (generated with Keras as above): with zero_output_for_mask=False a step
    before a row's first real one outputs 0, not h0; a repeated output passes its gradient back to
    the step it repeats."""
    x = rg.tensor(_arange(2, 4, 3), requires_grad=True)
    h0 = rg.tensor(_arange(2, 2)[None])
    mask = np.array([[False, True, False, True], [False, False, True, False]])
    layer = _layer("GRU", 3, 2, returns="output", zero_output_for_mask=False)
    out = layer(x, h0, mask=mask)
    _check(out, KERAS64["gru/masking/sequences_pre_padded"], "gru/masking/sequences_pre_padded")
    zeroed = _layer("GRU", 3, 2, returns="output")
    x2 = rg.tensor(_arange(2, 4, 3), requires_grad=True)
    w = rg.tensor(np.random.default_rng(0).normal(size=(2, 4, 2)))
    (out * w).sum().backward()
    # the repeat is the real step's output counted again: the same as weighting that step by the sum
    w2 = np.asarray(w.data).copy()
    w2[0, 1] += w2[0, 2]
    w2[1, 2] += w2[1, 3]
    (zeroed(x2, h0, mask=mask) * rg.tensor(w2)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(x2.grad), atol=1e-14)
    with pytest.raises(ValueError, match="zero_output_for_mask=False with bidirectional=True"):
        nn.GRU(3, 2, bidirectional=True, zero_output_for_mask=False)


# ------------------------------------------------------------------ bidirectional_test.py
def test_bidirectional_correctness():
    x = rg.tensor(_arange(2, 3, 4))
    bi = _layer("SimpleRNN", 4, 2, bidirectional=True, returns="last")
    out = bi(x)
    _check(out, [[0.39687276, 0.39687276, 0.10004295, 0.10004295], [0.7237238, 0.7237238, 0.53391594, 0.53391594]],
           "bidirectional/correctness/concat")
    _check((out[:, :2] + out[:, 2:]) / 2, _rows(0.24845785, 0.6288199, units=2), "bidirectional/correctness/ave")
    _check(out[:, :2], _rows(0.39687276, 0.7237238, units=2), None)   # merge_mode=None
    _check(out[:, 2:], _rows(0.10004295, 0.53391594, units=2), None)
    _check(out[:, :2], KERAS64["bidirectional/correctness/none"][0], None)
    _check(out[:, 2:], KERAS64["bidirectional/correctness/none"][1], None)
    # a backward layer of its own (kernel 0.03, recurrent 0.02, bias 0.01), merge_mode="mul"
    bi = _layer("SimpleRNN", 4, 2, bidirectional=True, returns="last", backward=(0.03, 0.02, 0.01))
    out = bi(x)
    _check(out[:, :2] * out[:, 2:], _rows(0.08374989, 0.6740834, units=2), "bidirectional/correctness/mul")
    # GRU, return_sequences=True, merge_mode="sum"
    out = _layer("GRU", 4, 2, bidirectional=True, returns="output")(x)
    _check(out[..., :2] + out[..., 2:],
           [_rows(0.20937867, 0.34462988, 0.40290534, units=2), _rows(0.59829646, 0.6734641, 0.6479671, units=2)],
           "bidirectional/correctness/gru_sum")


def test_bidirectional_statefulness():
    x = rg.tensor(_arange(2, 4, 3))
    layer = Stateful(_layer("LSTM", 3, 2, bidirectional=True, returns="last"))
    for _ in range(2):
        layer(x)
        _check(layer(x), [[0.26234663, 0.26234663, 0.16959146, 0.16959146],
                          [0.6137073, 0.6137073, 0.5381646, 0.5381646]], "bidirectional/statefulness")
        layer.reset()


def test_bidirectional_pass_initial_state():
    """Keras' four states [h_forward, c_forward, h_backward, c_backward] are retrograd's (h0, c0),
    each stacked [forward, reverse]."""
    x = rg.tensor(_arange(2, 4, 3))
    s = [_arange(2, 2) * i for i in (1, 2, 3, 4)]
    h0, c0 = rg.tensor(np.stack([s[0], s[2]])), rg.tensor(np.stack([s[1], s[3]]))
    _check(_layer("LSTM", 3, 2, bidirectional=True, returns="last")(x, (h0, c0)),
           [[0.20794602, 0.4577124, 0.14046375, 0.48191673], [0.6682636, 0.6711909, 0.60943645, 0.60950446]],
           "bidirectional/initial_state")


def test_bidirectional_masking():
    x, mask = rg.tensor(_arange(2, 4, 3)), np.array(MASK)
    _check(_layer("GRU", 3, 2, bidirectional=True, returns="last")(x, mask=mask),
           [[0.19393763, 0.19393763, 0.11669192, 0.11669192], [0.30818558, 0.30818558, 0.28380975, 0.28380975]],
           "bidirectional/masking")


def test_bidirectional_return_state():
    """``output, h1, c1, h2, c2 = Bidirectional(LSTM(2, return_state=True))(x)``."""
    layer = _layer("LSTM", 3, 2, bidirectional=True, returns="last")
    output, (h_n, c_n) = layer.forward_with_state(rg.tensor(_arange(2, 4, 3)))
    ref = KERAS64["bidirectional/return_state"]
    _check(output, [[0.1990008, 0.1990008, 0.12659755, 0.12659755], [0.52335435, 0.52335435, 0.44717982, 0.44717982]],
           None)
    _check(output, ref[0], None)
    for got, literal, want in [(h_n[0], _rows(0.1990008, 0.52335435, units=2), ref[1]),
                               (c_n[0], _rows(0.35567185, 1.0492687, units=2), ref[2]),
                               (h_n[1], _rows(0.12659755, 0.44717982, units=2), ref[3]),
                               (c_n[1], _rows(0.2501858, 0.941473, units=2), ref[4])]:
        _check(got, literal, None)
        _check(got, want, None)


# ------------------------------------------------------------------ rnn_test.py (OneStateRNNCell)
def _one_state(I, H, **kw):
    """Keras' ``OneStateRNNCell``: h′ = x·K + h·R, K and R ones, no bias (relu is the identity on ≥ 0)."""
    layer = nn.RNN(I, H, nonlinearity="relu", bias=False, batch_first=True, **kw)
    layer.load_keras_weights([np.ones((I, H)), np.ones((H, H))])
    return layer


def test_rnn_forward_pass_single_state():
    x = rg.tensor(np.ones((1, 2, 3)))
    _check(_one_state(3, 2, returns="last")(x), [[9.0, 9.0]], None)
    _check(_one_state(3, 2, returns="output")(x), [[[3.0, 3.0], [9.0, 9.0]]], None)
    output, state = _one_state(3, 2, returns="last").forward_with_state(x)  # return_state=True
    _check(output, [[9.0, 9.0]], None)
    _check(state[0], [[9.0, 9.0]], None)
    output, state = _one_state(3, 2)(x)                                      # return_sequences too
    _check(output, [[[3.0, 3.0], [9.0, 9.0]]], None)
    _check(state[0], [[9.0, 9.0]], None)


def test_rnn_passing_initial_state_single_state():
    x, h0 = rg.tensor(np.ones((2, 3, 2))), rg.tensor(np.ones((1, 2, 2)))
    _check(_one_state(2, 2, returns="last")(x, h0), [[22.0, 22.0], [22.0, 22.0]], None)
    output, state = _one_state(2, 2, returns="last").forward_with_state(x, h0)
    _check(output, [[22.0, 22.0], [22.0, 22.0]], None)
    _check(state[0], [[22.0, 22.0], [22.0, 22.0]], None)


def test_rnn_statefulness_single_state():
    x = rg.tensor(np.ones((1, 2, 3)))
    layer = Stateful(_one_state(3, 2, returns="last"))
    layer(x)
    _check(layer(x), [[45.0, 45.0]], None)
    _check(layer.state[0], [[45.0, 45.0]], None)  # return_state=True


def test_rnn_go_backwards():
    x = _arange(2, 3, 4)
    _check(_one_state(4, 2, returns="last")(rg.tensor(_flip(x))), [[202.0, 202.0], [538.0, 538.0]], None)
    layer = Stateful(_one_state(4, 2, returns="last"))  # stateful=True, return_state=True (forwards)
    layer(rg.tensor(x))
    _check(layer(rg.tensor(x)), [[954.0, 954.0], [3978.0, 3978.0]], None)
    _check(layer.state[0], [[954.0, 954.0], [3978.0, 3978.0]], None)


def test_options_retrograd_lacks_are_refused():
    """Keras' ``unroll=`` and ``go_backwards=`` are no options of retrograd's layers (see the module
    docstring: the same numbers come from the layer as it is, and from the input flipped in time)."""
    for option in ("unroll", "go_backwards", "stateful"):
        with pytest.raises(TypeError, match=option):
            nn.GRU(3, 2, **{option: True})


KERAS64 = {
    'simple_rnn/correctness/default':
        [[0.4054320575841443, 0.4054320575841443, 0.4054320575841443, 0.4054320575841443],
         [0.7360534217087088, 0.7360534217087088, 0.7360534217087088, 0.7360534217087088]],
    'simple_rnn/correctness/go_backwards':
        [[0.11144730641899354, 0.11144730641899354, 0.11144730641899354, 0.11144730641899354],
         [0.5528888179428773, 0.5528888179428773, 0.5528888179428773, 0.5528888179428773]],
    'simple_rnn/statefulness':
        [[0.4055925827295085, 0.4055925827295085, 0.4055925827295085, 0.4055925827295085],
         [0.7361246374242566, 0.7361246374242566, 0.7361246374242566, 0.7361246374242566]],
    'simple_rnn/initial_state/default':
        [[0.3362164725798653, 0.3362164725798653, 0.3362164725798653, 0.3362164725798653],
         [0.6262637506012054, 0.6262637506012054, 0.6262637506012054, 0.6262637506012054]],
    'simple_rnn/initial_state/go_backwards':
        [[0.07344439021209585, 0.07344439021209585, 0.07344439021209585, 0.07344439021209585],
         [0.43043604120105317, 0.43043604120105317, 0.43043604120105317, 0.43043604120105317]],
    'simple_rnn/masking/last':
        [[0.3295163276504662, 0.3295163276504662, 0.3295163276504662, 0.3295163276504662],
         [0.6179948637957328, 0.6179948637957328, 0.6179948637957328, 0.6179948637957328]],
    'simple_rnn/masking/sequences':
        [[[0.059928103529143496, 0.059928103529143496], [0.15122818055754936, 0.15122818055754936],
          [0.15122818055754936, 0.15122818055754936], [0.32394566828541077, 0.32394566828541077]],
         [[0.3969304320050776, 0.3969304320050776], [0.3969304320050776, 0.3969304320050776],
          [0.3969304320050776, 0.3969304320050776], [0.6080850331078017, 0.6080850331078017]]],
    'simple_rnn/masking/sequences_zero':
        [[[0.059928103529143496, 0.059928103529143496], [0.15122818055754936, 0.15122818055754936], [0.0, 0.0],
          [0.32394566828541077, 0.32394566828541077]],
         [[0.3969304320050776, 0.3969304320050776], [0.0, 0.0], [0.0, 0.0],
          [0.6080850331078017, 0.6080850331078017]]],
    'simple_rnn/masking/go_backwards':
        [[0.07376197225816358, 0.07376197225816358, 0.07376197225816358, 0.07376197225816358],
         [0.436451258698899, 0.436451258698899, 0.436451258698899, 0.436451258698899]],
    'lstm/correctness/default':
        [[0.6288686710336336, 0.6288686710336336, 0.6288686710336336],
         [0.8689914482110748, 0.8689914482110748, 0.8689914482110748],
         [0.9460772839198447, 0.9460772839198447, 0.9460772839198447]],
    'lstm/correctness/go_backwards':
        [[0.35622156617381695, 0.35622156617381695, 0.35622156617381695],
         [0.7478952595949753, 0.7478952595949753, 0.7478952595949753],
         [0.887272580195629, 0.887272580195629, 0.887272580195629]],
    'lstm/correctness/unit_forget_bias_false':
        [[0.5701970264041607, 0.5701970264041607, 0.5701970264041607],
         [0.8661914649856934, 0.8661914649856934, 0.8661914649856934],
         [0.9459621662400367, 0.9459621662400367, 0.9459621662400367]],
    'lstm/correctness/no_bias':
        [[0.5498691994154602, 0.5498691994154602, 0.5498691994154602],
         [0.8622679087487307, 0.8622679087487307, 0.8622679087487307],
         [0.9443935207418774, 0.9443935207418774, 0.9443935207418774]],
    'lstm/statefulness':
        [[0.3124785616208239, 0.3124785616208239, 0.3124785616208239, 0.3124785616208239],
         [0.6863671321105562, 0.6863671321105562, 0.6863671321105562, 0.6863671321105562]],
    'lstm/initial_state/default':
        [[0.20574440639987787, 0.3558822459966836], [0.6493083163444769, 0.6627600169943563]],
    'lstm/initial_state/go_backwards':
        [[0.1328161815019255, 0.27903558611282564], [0.583933775343166, 0.599256730436525]],
    'lstm/masking/last':
        [[0.11755940014151471, 0.11755940014151471], [0.2855620903364526, 0.2855620903364526]],
    'lstm/masking/sequences':
        [[[0.01588910908678286, 0.01588910908678286], [0.05552049232920763, 0.05552049232920763],
          [0.11755940014151471, 0.11755940014151471], [0.11755940014151471, 0.11755940014151471]],
         [[0.14185599926756112, 0.14185599926756112], [0.2855620903364526, 0.2855620903364526],
          [0.2855620903364526, 0.2855620903364526], [0.2855620903364526, 0.2855620903364526]]],
    'lstm/masking/go_backwards':
        [[0.15341203567411676, 0.15341203567411676], [0.384471902311743, 0.384471902311743]],
    'gru/correctness/default':
        [[0.521728861490325, 0.521728861490325, 0.521728861490325],
         [0.637165945264728, 0.637165945264728, 0.637165945264728],
         [0.3938496384607766, 0.3938496384607766, 0.3938496384607766]],
    'gru/correctness/go_backwards':
        [[0.24406258897600058, 0.24406258897600058, 0.24406258897600058],
         [0.6115160040792174, 0.6115160040792174, 0.6115160040792174],
         [0.3928808353237062, 0.3928808353237062, 0.3928808353237062]],
    'gru/correctness/reset_after_false':
        [[0.5144775621174653, 0.5144775621174653, 0.5144775621174653],
         [0.6426879027653147, 0.6426879027653147, 0.6426879027653147],
         [0.4020828817638912, 0.4020828817638912, 0.4020828817638912]],
    'gru/correctness/no_bias':
        [[0.4998845595445349, 0.4998845595445349, 0.4998845595445349],
         [0.6470119626455728, 0.6470119626455728, 0.6470119626455728],
         [0.41033585861765104, 0.41033585861765104, 0.41033585861765104]],
    'gru/statefulness':
        [[0.29542394074111566, 0.29542394074111566, 0.29542394074111566, 0.29542394074111566],
         [0.5885017558812912, 0.5885017558812912, 0.5885017558812912, 0.5885017558812912]],
    'gru/initial_state/default':
        [[[0.23774097885184448, 0.33508455981501417], [0.8365991040927646, 1.022770810788969]],
         [[0.23774097885184448, 0.33508455981501417], [0.8365991040927646, 1.022770810788969]]],
    'gru/initial_state/go_backwards':
        [[[0.1348605512072058, 0.23261221885788771], [0.7825730549728804, 0.9691352214602631]],
         [[0.1348605512072058, 0.23261221885788771], [0.7825730549728804, 0.9691352214602631]]],
    'gru/masking/last':
        [[0.19393762783836777, 0.19393762783836777], [0.3081855697363178, 0.3081855697363178]],
    'gru/masking/sequences':
        [[[0.036066922374676944, 0.036066922374676944], [0.09497582172266456, 0.09497582172266456],
          [0.09497582172266456, 0.09497582172266456], [0.19393762783836777, 0.19393762783836777]],
         [[0.16051407037785223, 0.16051407037785223], [0.16051407037785223, 0.16051407037785223],
          [0.16051407037785223, 0.16051407037785223], [0.3081855697363178, 0.3081855697363178]]],
    'gru/masking/go_backwards':
        [[0.11669192966115816, 0.11669192966115816], [0.28380977291411347, 0.28380977291411347]],
    'bidirectional/correctness/concat':
        [[0.3968728283103403, 0.3968728283103403, 0.10004297478899667, 0.10004297478899667],
         [0.7237238207511515, 0.7237238207511515, 0.5339159896339716, 0.5339159896339716]],
    'bidirectional/correctness/ave':
        [[0.2484579015496685, 0.2484579015496685], [0.6288199051925616, 0.6288199051925616]],
    'bidirectional/correctness/none':
        [[[0.3968728283103403, 0.3968728283103403], [0.7237238207511515, 0.7237238207511515]],
         [[0.10004297478899667, 0.10004297478899667], [0.5339159896339716, 0.5339159896339716]]],
    'bidirectional/correctness/mul':
        [[0.08374991109961005, 0.08374991109961005], [0.6740834776388984, 0.6740834776388984]],
    'bidirectional/correctness/gru_sum':
        [[[0.20937867225637208, 0.20937867225637208], [0.3446298613885562, 0.3446298613885562],
          [0.40290534371886866, 0.40290534371886866]],
         [[0.598296459637734, 0.598296459637734], [0.6734641247418547, 0.6734641247418547],
          [0.6479670716812954, 0.6479670716812954]]],
    'bidirectional/statefulness':
        [[0.2623466229482325, 0.2623466229482325, 0.16959148284170178, 0.16959148284170178],
         [0.6137073257443685, 0.6137073257443685, 0.5381646125031507, 0.5381646125031507]],
    'bidirectional/initial_state':
        [[0.20794602304115556, 0.4577124051079919, 0.14046379261046874, 0.4819167665150467],
         [0.6682636261979288, 0.671190968471872, 0.609436562829651, 0.6095044331820662]],
    'bidirectional/masking':
        [[0.19393762783836777, 0.19393762783836777, 0.11669192966115816, 0.11669192966115816],
         [0.3081855697363178, 0.3081855697363178, 0.28380977291411347, 0.28380977291411347]],
    'bidirectional/return_state':
        [[[0.19900079602212423, 0.19900079602212423, 0.126597591718852, 0.126597591718852],
          [0.5233543780708936, 0.5233543780708936, 0.44717986014618394, 0.44717986014618394]],
         [[0.19900079602212423, 0.19900079602212423], [0.5233543780708936, 0.5233543780708936]],
         [[0.3556718701531582, 0.3556718701531582], [1.0492688404666257, 1.0492688404666257]],
         [[0.126597591718852, 0.126597591718852], [0.44717986014618394, 0.44717986014618394]],
         [[0.2501858232862606, 0.2501858232862606], [0.941473072921488, 0.941473072921488]]],
    'gru/masking/sequences_pre_padded':
        [[[0.0, 0.0], [0.0790721233614873, 0.6289061206739652], [0.0790721233614873, 0.6289061206739652],
          [0.18615540850872117, 0.5119120886992188]],
         [[0.0, 0.0], [0.0, 0.0], [1.5435951542466517, 2.2184004268289654],
          [1.5435951542466517, 2.2184004268289654]]],
}
