"""PyTorch's own tests of RNN/LSTM/GRU and their cells (``test/test_nn.py``: test_RNN_cell,
test_LSTM_cell, test_RNN_cell_no_broadcasting, test_rnn_args_check, test_RNN_dropout, …) ported
case by case: each runs the same calls through torch 2.13 (the live oracle, weights copied with
``load_state_dict``) and retrograd, and compares values, states, gradients, dtypes, shapes and
the exception type (and message fragment where torch's is stable). Float64 throughout.

Dropout masks cannot match torch's RNG: those cases compare p=0, p=1, eval, and statistics."""

import copy
import itertools

import numpy as np
import pytest

import retrograd as rg
from conftest import torch
from retrograd import nn

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("float64_default", "torch_float64_default")]

R = rg.nn.utils.rnn
KINDS = ["RNN", "GRU", "LSTM"]


def _pair(kind, *args, **kwargs):
    """The same layer (or cell) in torch and retrograd, retrograd loaded with torch's weights."""
    theirs = getattr(torch.nn, kind)(*args, **kwargs).double()
    ours = getattr(nn, kind)(*args, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _flat(x):
    return list(x) if isinstance(x, tuple) else [x]


def _same(ours, theirs, rtol=1e-10, atol=1e-12):
    """Same shape, dtype and values (``ours`` a Tensor, ``theirs`` a torch tensor)."""
    theirs = theirs.detach().numpy()
    assert tuple(ours.shape) == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours.data, theirs, rtol=rtol, atol=atol)


def _both_raise(call_ours, call_theirs, error, match=None):
    """torch raises ``error`` (matching ``match``); retrograd raises an instance of the same type."""
    with pytest.raises(error, match=match):
        call_theirs()
    with pytest.raises(error, match=match):
        call_ours()


def _state(kind, arr, lib):
    make = rg.tensor if lib is rg else torch.tensor
    return (make(arr), make(arr + 1)) if kind in ("LSTM", "LSTMCell") else make(arr)


# ---- cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_six_steps_and_backward_as_torch(kind, bias):
    """test_RNN_cell / test_LSTM_cell: six steps of a cell, then backward of the state's sum."""
    rng = np.random.default_rng(0)
    ours, theirs = _pair(kind, 10, 20, bias=bias)
    x, h = rng.standard_normal((3, 10)), rng.standard_normal((3, 20))
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sr, st = _state(kind, h, rg), _state(kind, h, torch)
    for _ in range(6):
        sr, st = ours(xr, sr), theirs(xt, st)
    for a, b in zip(_flat(sr), _flat(st)):
        _same(a, b)
    sum(f.sum() for f in _flat(sr)).backward()
    sum(f.sum() for f in _flat(st)).backward()
    _same(xr.grad, xt.grad)
    tp = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(tp)
    for n, p in ours.named_parameters():
        _same(p.grad, tp[n].grad)


@pytest.mark.parametrize("kind,kwargs", [("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {}),
                                         ("GRUCell", {}), ("LSTMCell", {})])
def test_cell_forward_zero_hidden_size(kind, kwargs):
    """test_RNN_cell_forward_zero_hidden_size: a 0-wide cell gives (3, 0)."""
    x, h = np.random.default_rng(1).standard_normal((3, 10)), np.zeros((3, 0))
    ours, theirs = _pair(kind, 10, 0, **kwargs)
    for a, b in zip(_flat(ours(rg.tensor(x), _state(kind, h, rg))), _flat(theirs(torch.tensor(x),
                                                                                   _state(kind, h, torch)))):
        _same(a, b)
        assert a.shape == (3, 0)


def _bad_cell_calls():
    """test_RNN_cell_no_broadcasting's cases: (name, input shape, state shapes, torch's message)."""
    good = (3, 20)
    cases = []
    for bad, msg in [((1, 20), r"Input batch size 3 doesn't match hidden0 batch size 1"),
                     ((3, 1), r"hidden0 has inconsistent hidden_size: got 1, expected 20")]:
        cases += [(k, (3, 10), [bad], msg) for k in ("RNNCell", "GRUCell")]
        cases += [("LSTMCell", (3, 10), [bad, good], msg), ("LSTMCell", (3, 10), [good, bad], msg.replace("hidden0", "hidden1"))]
    msg = r"input has inconsistent input_size: got 1 expected 10"
    cases += [(k, (3, 1), [good] * (2 if k == "LSTMCell" else 1), msg) for k in ("RNNCell", "GRUCell", "LSTMCell")]
    cases.append(("LSTMCell", (3, 11), [good, good], r"input has inconsistent input_size: got 11 expected 10"))
    cases.append(("LSTMCell", (3, 10), [(3, 21), good], r"hidden0 has inconsistent hidden_size: got 21"))
    cases.append(("LSTMCell", (3, 10), [good, (3, 21)], r"hidden1 has inconsistent hidden_size: got 21"))
    return cases


@pytest.mark.parametrize("kind,x_shape,state_shapes,match", _bad_cell_calls())
def test_cell_shapes_do_not_broadcast(kind, x_shape, state_shapes, match):
    """test_RNN_cell_no_broadcasting, test_LSTM_cell_forward_input_size / _hidden_size:
    a RuntimeError with torch's message, nothing broadcast."""
    rng = np.random.default_rng(2)
    x, states = rng.standard_normal(x_shape), [rng.standard_normal(s) for s in state_shapes]
    ours, theirs = _pair(kind, 10, 20)

    def call(cell, make):
        s = tuple(make(a) for a in states)
        return cell(make(x), s if kind == "LSTMCell" else s[0])
    _both_raise(lambda: call(ours, rg.tensor), lambda: call(theirs, torch.tensor), RuntimeError, match)


def test_cell_input_of_three_axes_is_a_value_error():
    """RNNCellBase: 'Expected input to be 1D or 2D' (ValueError), and a 1-D input with a 2-D state refused."""
    ours, theirs = _pair("GRUCell", 3, 4)
    _both_raise(lambda: ours(rg.tensor(np.zeros((2, 2, 3)))), lambda: theirs(torch.zeros(2, 2, 3)), ValueError,
                r"Expected input to be 1D or 2D, got 3D instead")
    _both_raise(lambda: ours(rg.tensor(np.zeros(3)), rg.tensor(np.zeros((1, 4)))),
                lambda: theirs(torch.zeros(3), torch.zeros(1, 4)), RuntimeError)
    _same(ours(rg.tensor(np.ones(3))), theirs(torch.ones(3)))


# ---- layers: arguments, states, sizes --------------------------------------------------------


def _bad_layer_calls():
    """test_rnn_args_check: each wrong size of input or hidden (bad_size 7) for each mode."""
    correct_x, correct_h, cases = (6, 4, 3), (2, 4, 5), []
    for mode in KINDS:
        for what, dim in [("input", 1), ("hidden", 1), ("input", 2), ("hidden", 2), ("hidden", 0)]:
            x, h = list(correct_x), list(correct_h)
            (x if what == "input" else h)[dim] = 7
            if mode == "LSTM" and tuple(h) != correct_h:
                cases += [(mode, tuple(x), (tuple(h), correct_h)), (mode, tuple(x), (correct_h, tuple(h)))]
            else:
                cases.append((mode, tuple(x), (tuple(h),) * (2 if mode == "LSTM" else 1)))
    return cases


@pytest.mark.parametrize("mode,x_shape,h_shapes", _bad_layer_calls())
def test_rnn_args_check(mode, x_shape, h_shapes):
    rng = np.random.default_rng(3)
    x, hs = rng.standard_normal(x_shape), [rng.standard_normal(s) for s in h_shapes]
    ours, theirs = _pair(mode, 3, 5, 2)

    def call(layer, make):
        s = tuple(make(a) for a in hs)
        return layer(make(x), s if mode == "LSTM" else s[0])
    match = r"input.size\(-1\) must be equal to input_size" if x_shape[2] != 3 else r"Expected hidden(\[\d\])? size"
    _both_raise(lambda: call(ours, rg.tensor), lambda: call(theirs, torch.tensor), RuntimeError, match)


@pytest.mark.parametrize("mode", KINDS)
def test_forward_exceptions_with_batch_first(mode):
    """test_cudnn_forward_exception (its CPU half): a wrong hidden and a wrong input size."""
    ours, theirs = _pair(mode, 10, 20, batch_first=True)
    h = np.zeros((1, 2, 19))
    x_right, x_wrong = np.random.default_rng(4).standard_normal((2, 3, 10)), np.zeros((2, 3, 3))
    _both_raise(lambda: ours(rg.tensor(x_right), _state(mode, h, rg)),
                lambda: theirs(torch.tensor(x_right), _state(mode, h, torch)), RuntimeError, r"Expected hidden.*size.*got")
    _both_raise(lambda: ours(rg.tensor(x_wrong)), lambda: theirs(torch.tensor(x_wrong)), RuntimeError,
                r"input.size\(-1\) must be equal to input_size")
    _both_raise(lambda: ours(rg.tensor(np.zeros((2, 2, 2, 10)))), lambda: theirs(torch.zeros(2, 2, 2, 10)),
                ValueError, r"Expected input to be 2D or 3D, got 4D")


@pytest.mark.parametrize("mode", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_length_zero_is_refused(mode, bidirectional):
    """test_error_RNN_seq_len_zero."""
    ours, theirs = _pair(mode, 5, 6, bidirectional=bidirectional)
    _both_raise(lambda: ours(rg.tensor(np.ones((0, 10, 5)))), lambda: theirs(torch.ones(0, 10, 5)), RuntimeError,
                r"Expected sequence length to be larger than 0 in RNN")


@pytest.mark.parametrize("mode", KINDS)
def test_batch_of_zero_sequences_runs_and_backpropagates(mode):
    """test_RNN_input_size_zero: input (5, 0, 3) gives output (5, 0, 4); backward runs."""
    ours, theirs = _pair(mode, input_size=3, hidden_size=4)
    xr, xt = rg.tensor(np.zeros((5, 0, 3)), requires_grad=True), torch.zeros(5, 0, 3, requires_grad=True)
    out_r, out_t = ours(xr)[0], theirs(xt)[0]
    _same(out_r, out_t)
    out_r.sum().backward()
    out_t.sum().backward()
    _same(xr.grad, xt.grad)


@pytest.mark.parametrize("mode", KINDS)
def test_initial_hidden_state_of_zeros_is_the_default(mode):
    """test_rnn_initial_hidden_state."""
    ours, theirs = _pair(mode, 30, 20, 2)
    x = np.random.default_rng(5).standard_normal((10, 32, 30))
    h = np.zeros((2, 32, 20))
    given = (rg.tensor(h), rg.tensor(h)) if mode == "LSTM" else rg.tensor(h)
    out1, hid1 = ours(rg.tensor(x), given)
    out2, hid2 = ours(rg.tensor(x))
    out_t, hid_t = theirs(torch.tensor(x))
    for a in (out1, out2):
        _same(a, out_t)
    for a, b, c in zip(_flat(hid1), _flat(hid2), _flat(hid_t)):
        _same(a, c)
        _same(b, c)


@pytest.mark.parametrize("mode", ["RNN", "GRU"])
def test_proj_size_is_refused_for_rnn_and_gru_as_torch(mode):
    """test_projections_errors_on_gru_and_rnn; LSTM(proj_size=) itself is refused (README differences)."""
    _both_raise(lambda: getattr(nn, mode)(30, 20, 2, proj_size=10), lambda: getattr(torch.nn, mode)(30, 20, 2, proj_size=10),
                ValueError, r"proj_size argument is only supported for LSTM, not RNN or GRU")
    torch.nn.LSTM(30, 20, 2, proj_size=10)  # torch builds it; retrograd refuses, documented
    with pytest.raises(ValueError, match=r"LSTM: proj_size=10 is not supported"):
        nn.LSTM(30, 20, 2, proj_size=10)


def test_rnn_nonlinearity_as_keyword_and_as_positional_argument():
    """test_RNN_nonlinearity and test_RNN_nonlinearity_passed_as_arg."""
    for args, kwargs in [((1, 10), {}), ((1, 10), {"nonlinearity": "relu"}), ((2, 3, 1, "relu"), {})]:
        ours, theirs = _pair("RNN", *args, **kwargs)
        assert ours.nonlinearity == theirs.nonlinearity
        assert ours.mode == theirs.mode
    _both_raise(lambda: nn.RNN(1, 10, nonlinearity="garbage"), lambda: torch.nn.RNN(1, 10, nonlinearity="garbage"),
                ValueError, r"Unknown nonlinearity 'garbage'")
    with pytest.raises(RuntimeError, match="Unknown nonlinearity"):  # torch: at the first call
        torch.nn.RNNCell(1, 10, nonlinearity="garbage")(torch.zeros(2, 1))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):  # retrograd: when built (README differences)
        nn.RNNCell(1, 10, nonlinearity="garbage")


def test_device_cpu_only():
    """test_rnn_check_device, CPU only: device='cpu' builds the same layer; another device is refused
    (README differences: the backend is process-wide)."""
    for mode in KINDS:
        ours, theirs = _pair(mode, 3, 5, 2, device="cpu")
        x = np.random.default_rng(6).standard_normal((6, 4, 3))
        _same(ours(rg.tensor(x))[0], theirs(torch.tensor(x))[0])
        with pytest.raises(ValueError, match="rg.set_backend"):
            getattr(nn, mode)(3, 5, 2, device="cuda:0")
