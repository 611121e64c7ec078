"""nn.Buffer (a buffer by assignment), nn.RNNBase / nn.RNNCellBase (the recurrent layers' and cells'
bases), nn.CrossMapLRN2d and nn.NLLLoss2d, against torch 2.13: registration, state_dict keys, values,
gradients (float64), warnings and errors."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn.legacy_extra import cross_map_window
from conftest import requires_torch, torch
from torch_compare import compare, same_error

RNG = np.random.default_rng(21)


# ---------------------------------------------------------------- nn.Buffer
def _with_buffers(lib, t):
    """The same sequence of assignments on a torch and on a retrograd module."""
    m = lib.nn.Module()
    m.a = lib.nn.Buffer(t(np.ones(2)))
    m.b = lib.nn.Buffer(t(np.zeros(3)), persistent=False)
    m.c = t(np.arange(2.0))  # a plain tensor: an attribute, not a buffer
    m.register_buffer("d", t(np.ones(1)), persistent=False)
    m.d = lib.nn.Buffer(t(np.full(1, 2.0)))  # a Buffer sets the persistence anew
    m.b = t(np.ones(3))  # a plain tensor into a buffer keeps its persistence
    return m


@requires_torch
def test_buffer_registers_on_assignment_as_torch():
    ours, theirs = _with_buffers(rg, rg.tensor), _with_buffers(torch, torch.tensor)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a", "d"]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()] == ["a", "b", "d"]
    assert isinstance(ours.a, nn.Buffer) and ours.a.persistent and "c" not in ours._buffers
    np.testing.assert_array_equal(ours.state_dict()["d"], [2.0])
    assert ours.double().a.dtype == rg.float64


@requires_torch
def test_buffer_shares_the_data_and_keeps_requires_grad():
    t = rg.tensor(np.ones(3), requires_grad=True)
    b, tb = nn.Buffer(t), torch.nn.Buffer(torch.ones(3, requires_grad=True))
    assert b.requires_grad == tb.requires_grad is True and b.data is t.data
    empty, tempty = nn.Buffer(), torch.nn.Buffer()
    assert empty.shape == tuple(tempty.shape) == (0,) and empty.dtype == rg.get_default_dtype()


@requires_torch
def test_buffer_refused_where_torch_refuses_it():
    def assign(lib, t, where):
        m = lib.nn.Linear(2, 2) if where == "param" else lib.nn.Module()
        if where == "attr":
            m.x = 3
        setattr(m, "weight" if where == "param" else "x", lib.nn.Buffer(t(np.ones(2))))
    same_error(lambda: assign(rg, rg.tensor, "param"), lambda: assign(torch, torch.tensor, "param"))
    same_error(lambda: assign(rg, rg.tensor, "attr"), lambda: assign(torch, torch.tensor, "attr"),
               match="already exists")


# ---------------------------------------------------------------- RNNBase / RNNCellBase
@requires_torch
def test_recurrent_base_classes_are_the_layers_bases():
    for lib in (nn, torch.nn):
        assert all(issubclass(getattr(lib, c), lib.RNNBase) for c in ("RNN", "LSTM", "GRU"))
        assert all(issubclass(getattr(lib, c), lib.RNNCellBase) for c in ("RNNCell", "LSTMCell", "GRUCell"))
        assert not issubclass(lib.LSTMCell, lib.RNNBase) and issubclass(lib.RNNBase, lib.Module)
    assert isinstance(nn.LSTM(2, 3), nn.RNNBase) and "RNNBase" in nn.__all__ and "RNNCellBase" in nn.__all__


# ---------------------------------------------------------------- CrossMapLRN2d
def _torch_cross_map(x, size, alpha, beta, k):
    """torch's CrossMapLRN2d forward, step for step as its Function (running sums over the channels) but
    out of place, so that torch's autograd gives the true derivative of torch's values."""
    sq, channels, pre_pad = x * x, x.shape[1], int((size - 1) / 2 + 1)
    scale = [sum(sq[:, c] for c in range(min(pre_pad, channels)))]
    for c in range(1, channels):
        s = scale[-1]
        if c < channels - pre_pad + 1:
            s = s + sq[:, c + pre_pad - 1]
        if c > pre_pad:
            s = s - sq[:, c - pre_pad]
        scale.append(s)
    return torch.stack(scale, 1).mul(alpha / size).add(k).pow(-beta) * x


@requires_torch
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [1, 3, 7])
def test_cross_map_lrn2d_values_are_torchs_and_gradients_their_derivative(size, channels):
    x = RNG.standard_normal((2, channels, 2, 3))
    ours = nn.CrossMapLRN2d(size, alpha=0.7, beta=0.75, k=1.5)
    with torch.no_grad():
        expected = torch.nn.CrossMapLRN2d(size, alpha=0.7, beta=0.75, k=1.5)(torch.tensor(x))
        np.testing.assert_allclose(_torch_cross_map(torch.tensor(x), size, 0.7, 0.75, 1.5), expected, rtol=1e-12)
    compare(ours, lambda t: _torch_cross_map(t, size, 0.7, 0.75, 1.5), x)
    np.testing.assert_allclose(ours(rg.tensor(x)).data, expected.numpy(), rtol=1e-12)


@requires_torch
def test_cross_map_lrn2d_window_float32_repr_and_errors():
    # channel 0 is never dropped from the running sum (torch's own values): not local_response_norm's window
    np.testing.assert_array_equal(cross_map_window(5, 3), [[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0],
                                                           [1, 0, 1, 1, 1], [1, 0, 0, 1, 1]])
    x = RNG.standard_normal((1, 4, 2, 2)).astype(np.float32)
    y = nn.CrossMapLRN2d(3)(rg.tensor(x))
    with torch.no_grad():
        expected = torch.nn.CrossMapLRN2d(3)(torch.tensor(x))
    assert y.dtype == rg.float32 and repr(nn.CrossMapLRN2d(3)) == repr(torch.nn.CrossMapLRN2d(3))
    np.testing.assert_allclose(y.data, expected.numpy(), rtol=1e-6)
    same_error(lambda: nn.CrossMapLRN2d(3)(rg.tensor(np.ones((3, 2, 2)))),
               lambda: torch.nn.CrossMapLRN2d(3)(torch.ones(3, 2, 2)), match="Expected input to be 4D, got 3D")
    same_error(lambda: nn.CrossMapLRN2d(3)(rg.tensor(np.ones((1, 3, 2, 2), np.int64))),
               lambda: torch.nn.CrossMapLRN2d(3)(torch.ones(1, 3, 2, 2, dtype=torch.int64)))


# ---------------------------------------------------------------- NLLLoss2d
@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss2d_is_nll_loss_with_a_future_warning(reduction):
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        ours = nn.NLLLoss2d(weight=rg.tensor(np.array([1.0, 2.0, 0.5])), ignore_index=1, reduction=reduction)
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        theirs = torch.nn.NLLLoss2d(weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), ignore_index=1,
                                    reduction=reduction)
    assert isinstance(ours, nn.NLLLoss) and isinstance(theirs, torch.nn.NLLLoss) and repr(ours).startswith("NLLLoss2d(")
    x, target = RNG.standard_normal((2, 3, 2, 2)), RNG.integers(0, 3, (2, 2, 2))
    compare(lambda t: ours(t, rg.tensor(target)), lambda t: theirs(t, torch.tensor(target)), x)
