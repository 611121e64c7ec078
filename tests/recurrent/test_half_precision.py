"""Recurrent layers in float16 (``layer.to(float16)``), as PyTorch runs a
half-precision LSTM on the CPU: the compiled step loops (float32 / float64
only) must not be chosen for them; the NumPy loops compute the same values
as a float32 run, to half precision."""

import numpy as np
import pytest

import retrograd as rg
from retrograd.recurrent import compiled


def _run(cls, dtype, seed=0, **kw):
    rg.manual_seed(seed)
    layer = cls(4, 8, **kw)
    layer.to(dtype)
    x = rg.tensor(np.random.default_rng(1).uniform(-1, 1, (6, 2, 4)).astype(dtype), requires_grad=True)
    out = layer(x)
    y = out[0] if isinstance(out, tuple) else out
    (y * y).sum().backward()
    grads = [x.grad] + [p.grad for p in layer.parameters()]
    return y.data, [g.data for g in grads]


@pytest.mark.parametrize("cls", [rg.nn.LSTM, rg.nn.GRU, rg.nn.RNN])
@pytest.mark.parametrize("use_compiled", [True, False])
def test_half_precision_layer_matches_float32(cls, use_compiled):
    with compiled.use(use_compiled):
        y16, g16 = _run(cls, np.float16)
        y32, g32 = _run(cls, np.float32)
    assert y16.dtype == np.float16 and all(g.dtype == np.float16 for g in g16)
    np.testing.assert_allclose(y16.astype(np.float32), y32, rtol=0, atol=5e-3)
    for a, b in zip(g16, g32):
        scale = float(np.abs(b).max()) or 1.0
        np.testing.assert_allclose(a.astype(np.float32), b, rtol=0, atol=1e-2 * scale)


def test_half_precision_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    rg.manual_seed(0)
    ours = rg.nn.LSTM(4, 8).to(np.float16)
    ref = torch.nn.LSTM(4, 8).half()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            p.copy_(torch.from_numpy(np.array(ours.state_dict()[name])))
    x = np.random.default_rng(2).uniform(-1, 1, (6, 2, 4)).astype(np.float16)
    with compiled.use(True):   # the layer must choose the NumPy loops by itself
        y, _ = ours(rg.tensor(x))
    with torch.no_grad():
        expected, _ = ref(torch.from_numpy(x))
    np.testing.assert_allclose(y.data.astype(np.float32), expected.float().numpy(), rtol=0, atol=5e-3)


def test_compiled_loops_only_for_the_dtypes_they_support():
    assert compiled.supports(np.float32) and compiled.supports(np.float64)
    assert not compiled.supports(np.float16) and not compiled.supports(np.complex64)
    with compiled.use(True):
        assert compiled.worth_it(1, 8, "LSTM", np.float32) == compiled.available()
        assert not compiled.worth_it(1, 8, "LSTM", np.float16)
