"""``load_keras_weights`` refuses arrays of the wrong shape as Keras'
``set_weights`` does (naming the layer, the array, the shape expected and
given) instead of dropping columns, changes nothing when it refuses, and
refuses ``reverse=True`` on a unidirectional layer and layers it lacks."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn

I, H = 3, 5
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _keras(kind, k=None, I_=I):
    k = GATES[kind] if k is None else k
    rng = np.random.default_rng(0)
    bias = rng.standard_normal((2, k * H) if kind == "GRU" else (k * H,))
    return [rng.standard_normal((I_, k * H)), rng.standard_normal((H, k * H)), bias]


def _values(layer):
    return {n: p.data.copy() for n, p in layer.named_parameters()}


@pytest.mark.parametrize("kind", GATES)
@pytest.mark.parametrize("which", ["kernel", "recurrent_kernel", "bias"])
def test_a_kernel_with_an_extra_gate_block_is_refused_and_changes_nothing(kind, which):
    layer = getattr(nn, kind)(I, H)
    before = _values(layer)
    good, wide = _keras(kind), _keras(kind, GATES[kind] + 1)  # LSTM (I, 5H), GRU (I, 4H), RNN (I, 2H)
    weights = [wide[i] if name == which else good[i] for i, name in enumerate(["kernel", "recurrent_kernel", "bias"])]
    expected = {"kernel": (I, GATES[kind] * H), "recurrent_kernel": (H, GATES[kind] * H),
                "bias": (2, GATES[kind] * H) if kind == "GRU" else (GATES[kind] * H,)}[which]
    given = weights[["kernel", "recurrent_kernel", "bias"].index(which)].shape
    with pytest.raises(rg.OpError) as e:
        layer.load_keras_weights(weights)
    message = str(e.value)
    assert f"{kind}.load_keras_weights" in message and which in message and "layer 0" in message
    assert str(expected) in message and str(given) in message
    for n, v in _values(layer).items():
        np.testing.assert_array_equal(v, before[n], err_msg=n)


@pytest.mark.parametrize("kind", GATES)
def test_a_kernel_for_another_input_size_is_refused(kind):
    k = GATES[kind]
    with pytest.raises(rg.OpError, match=rf"kernel.*shape \(4, {k * H}\).*input size {I}.*shape \({I}, {k * H}\)"):
        getattr(nn, kind)(I, H).load_keras_weights(_keras(kind, I_=4))


def test_the_second_layer_expects_the_first_layers_output_as_input():
    lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    lstm.load_keras_weights(_keras("LSTM", I_=2 * H), layer=1, reverse=True)
    with pytest.raises(rg.OpError, match=rf"layer 1.*\({2 * H}, {4 * H}\)"):
        lstm.load_keras_weights(_keras("LSTM"), layer=1)


def test_reverse_on_a_unidirectional_layer_is_a_clear_error():
    with pytest.raises(rg.OpError, match="reverse=True.*bidirectional"):
        nn.GRU(I, H).load_keras_weights(_keras("GRU"), reverse=True)


@pytest.mark.parametrize("layer", [2, -1, 1.0])
def test_a_layer_it_does_not_have_is_refused(layer):
    with pytest.raises(rg.OpError, match="layer"):
        nn.LSTM(I, H, num_layers=2).load_keras_weights(_keras("LSTM"), layer=layer)
