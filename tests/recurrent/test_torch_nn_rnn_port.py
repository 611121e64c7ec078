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


# ---- dropout between layers ------------------------------------------------------------------


@pytest.mark.parametrize("p", [0, 0.276, 0.731, 1])
@pytest.mark.parametrize("train", [True, False])
def test_rnn_dropout_between_layers(p, train):
    """test_RNN_dropout: all-ones weights, relu, no bias; layer 1 sees 10·(mask/(1−p)) per unit."""
    outs = {}
    for lib, mod in (("rg", nn), ("torch", torch.nn)):
        rnn = mod.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu")
        rnn.train(train)
        for name in ("weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"):
            getattr(rnn, name).data[...] = 1  # numpy array and torch tensor alike
        if lib == "rg":
            output, hy = rnn(rg.tensor(np.ones((1, 1, 10))), rg.tensor(np.zeros((2, 1, 1000))))
            output, hy = output.data, hy.data
        else:
            output, hy = rnn(torch.ones(1, 1, 10), torch.zeros(2, 1, 1000))
            output, hy = output.detach().numpy(), hy.detach().numpy()
        assert output.min() == output.max()
        value = output[0, 0, 0]
        if p == 0 or not train:
            assert value == 10000
        elif p == 1:
            assert value == 0
        else:
            assert 8000 < value < 12000
            denorm_mod = (value * (1 - p)) % 10  # a whole number of kept units, each worth 10/(1−p)
            assert min(denorm_mod, 10 - denorm_mod) < 1e-2
        assert hy[0].min() == hy[0].max() and hy[1].min() == hy[1].max()
        assert hy[0, 0, 0] == 10 and hy[1, 0, 0] == value
        outs[lib] = output
    if p in (0, 1) or not train:  # deterministic: the two agree exactly
        np.testing.assert_array_equal(outs["rg"], outs["torch"])


@pytest.mark.parametrize("p", [0, 0.1234])
@pytest.mark.parametrize("train", [True, False])
def test_rnn_dropout_state_survives_a_state_dict_round_trip(p, train):
    """test_RNN_dropout_state, with a state_dict copy instead of torch.save (no pickle): calls differ only
    with dropout in training; a reloaded copy (flatten_parameters, a no-op) computes the same."""
    rng = np.random.default_rng(7)
    ours, theirs = _pair("RNN", 100, 100, 2, bias=False, dropout=p, nonlinearity="relu")
    ours.train(train)
    theirs.train(train)
    x, h = rng.random((1, 1, 100)), rng.random((2, 1, 100))
    out1, hy1 = ours(rg.tensor(x), rg.tensor(h))
    out2, hy2 = ours(rg.tensor(x), rg.tensor(h))
    ours2 = nn.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity="relu")
    ours2.load_state_dict(ours.state_dict())
    ours2.train(train)
    assert ours2.flatten_parameters() is None
    out3, hy3 = ours2(rg.tensor(x), rg.tensor(h))
    if p == 0 or not train:
        _same(out1, theirs(torch.tensor(x), torch.tensor(h))[0])
        for a, b in ((out1, out2), (out1, out3), (hy1, hy2), (hy1, hy3)):
            np.testing.assert_array_equal(a.data, b.data)
    else:
        for a, b in ((out1, out2), (out1, out3), (hy1, hy2), (hy1, hy3)):
            assert not np.array_equal(a.data, b.data)


@pytest.mark.parametrize("train", [True, False])
def test_changing_dropout_between_calls(train):
    """test_RNN_change_dropout: ``rnn.dropout = p`` takes effect at the next call."""
    rng = np.random.default_rng(8)
    ours, theirs = _pair("RNN", 100, 100, 2, dropout=0, nonlinearity="relu")
    ours.train(train)
    x = rg.tensor(rng.random((3, 2, 100)))
    reference = theirs.eval()(torch.tensor(x.data))[0]
    prev = None
    for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
        ours.dropout = p
        out1, hy1 = ours(x)
        out2, hy2 = ours(x)
        if p in (0, 1) or not train:
            np.testing.assert_array_equal(out1.data, out2.data)
            np.testing.assert_array_equal(hy1.data, hy2.data)
        else:
            assert not np.array_equal(out1.data, out2.data) and not np.array_equal(hy1.data, hy2.data)
        if p == 0 or not train:
            _same(out1, reference)
        if prev is not None:
            assert np.array_equal(out1.data, prev) == (not train)
        prev = out1.data


# ---- values and gradients against torch's CPU kernels -----------------------------------------


def _forward_backward(layer, lib, x, h, grad_out, grad_h, lengths=None, batch_first=False):
    """_test_RNN_cpu_vs_cudnn's forward_backward: packed or padded input, backward of
    [output, h_n (, c_n)] with given gradients; returns output, states and every gradient."""
    make = rg.tensor if lib is rg else torch.tensor
    utils = R if lib is rg else torch.nn.utils.rnn
    lstm = type(layer).__name__ == "LSTM"
    xin = make(x, requires_grad=True)
    states = [make(h, requires_grad=True)] + ([make(h + 1, requires_grad=True)] if lstm else [])
    inp = xin if lengths is None else utils.pack_padded_sequence(xin, lengths, batch_first=batch_first)
    out, hy = layer(inp, tuple(states) if lstm else states[0])
    out = out if lengths is None else out.data
    finals = _flat(hy)
    grads = [make(grad_out)] + [make(grad_h + i) for i in range(len(finals))]
    loss = sum((a * g).sum() for a, g in zip([out] + finals, grads))
    loss.backward()
    return ([out] + finals + [xin.grad] + [s.grad for s in states]
            + [p.grad for _, p in layer.named_parameters()])


@pytest.mark.parametrize("mode", KINDS)
@pytest.mark.parametrize("bias,bidirectional,batch_first,variable_len",
                         list(itertools.product([True, False], repeat=4)))
def test_cpu_vs_cudnn_cases_against_torch_cpu(mode, bias, bidirectional, batch_first, variable_len):
    """_test_RNN_cpu_vs_cudnn (no dropout), with torch's CPU kernels as the reference: bias on and off,
    both directions, batch_first, packed lengths [7, 5, 5, 2, 1, 1]; a non-contiguous input view."""
    rng = np.random.default_rng(9)
    I, H, L, T, B = 10, 6, 2, 7, 6
    D = 2 if bidirectional else 1
    ours, theirs = _pair(mode, I, H, L, bias=bias, bidirectional=bidirectional, batch_first=batch_first)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    x = np.stack([np.zeros_like(x), x], -1)[..., 1]  # make_noncontig
    lengths = [7, 5, 5, 2, 1, 1] if variable_len else None
    rows = sum(lengths) if variable_len else None
    grad_out = rng.standard_normal((rows, H * D) if variable_len else x.shape[:2] + (H * D,))
    h, grad_h = rng.standard_normal((L * D, B, H)), rng.standard_normal((L * D, B, H))
    got = _forward_backward(ours, rg, x, h, grad_out, grad_h, lengths, batch_first)
    want = _forward_backward(theirs, torch, x, h, grad_out, grad_h, lengths, batch_first)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        _same(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_cpu_vs_cudnn_nonlinearity_cases(nonlinearity):
    """_test_RNN_cpu_vs_cudnn's loop over the RNN nonlinearities (bias False, as the loop leaves it)."""
    rng = np.random.default_rng(10)
    ours, theirs = _pair("RNN", 10, 6, 2, bias=False, nonlinearity=nonlinearity)
    x, h = rng.standard_normal((7, 6, 10)), rng.standard_normal((2, 6, 6))
    g_out, g_h = rng.standard_normal((7, 6, 6)), rng.standard_normal((2, 6, 6))
    for a, b in zip(_forward_backward(ours, rg, x, h, g_out, g_h), _forward_backward(theirs, torch, x, h, g_out, g_h)):
        _same(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", ["GRU", "LSTM"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_fused_equals_torch_and_the_composed_cells(mode, bias):
    """test_rnn_fused: the fused layer's outputs and gradients equal torch's, and equal the same
    layer unrolled through its cells (retrograd's composed path)."""
    rng = np.random.default_rng(11)
    ours, theirs = _pair(mode, 10, 6, 2, bias=bias)
    x, h = rng.standard_normal((7, 6, 10)), rng.standard_normal((2, 6, 6))
    g_out, g_h = rng.standard_normal((7, 6, 6)), rng.standard_normal((2, 6, 6))
    fused = _forward_backward(ours, rg, x, h, g_out, g_h)
    for a, b in zip(fused, _forward_backward(theirs, torch, x, h, g_out, g_h)):
        _same(a, b, rtol=1e-9, atol=1e-11)
    # the composed path: the cells step by step with the layer's weights
    xr = rg.tensor(x)
    state = (rg.tensor(h), rg.tensor(h + 1)) if mode == "LSTM" else rg.tensor(h)
    inp, finals = xr, []
    for layer in range(2):
        cell = getattr(nn, mode + "Cell")(inp.shape[2], 6, bias=bias)
        cell.load_state_dict({k: getattr(ours, f"{k}_l{layer}") for k, _ in cell.named_parameters()})
        s = tuple(part[layer] for part in state) if mode == "LSTM" else state[layer]
        steps = []
        for t in range(7):
            s = cell(inp[t], s)
            steps.append(_flat(s)[0])
        inp = rg.stack(steps)
        finals.append(s)
    np.testing.assert_allclose(inp.data, fused[0].data, rtol=1e-12, atol=1e-14)
    h_n = rg.stack([_flat(f)[0] for f in finals])
    np.testing.assert_allclose(h_n.data, fused[1].data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_rnn_retain_variables(mode):
    """test_rnn_retain_variables: backward five times through one retained graph gives the same gradients."""
    ours, theirs = _pair(mode, 10, 20, num_layers=2)
    x = np.random.default_rng(12).standard_normal((5, 6, 10))
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_r, out_t = ours(xr)[0], theirs(xt)[0]
    out_r.sum().backward(retain_graph=True)
    out_t.sum().backward(retain_graph=True)
    first = [xr.grad.data.copy()] + [p.grad.data.copy() for p in ours.parameters()]
    _same(xr.grad, xt.grad)
    for _ in range(4):
        ours.zero_grad()
        xr.grad = None
        out_r.sum().backward(retain_graph=True)
        for a, b in zip(first, [xr.grad] + [p.grad for p in ours.parameters()]):
            np.testing.assert_array_equal(a, b.data)


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5]), (False, [5]), (True, [10, 10, 6, 2, 2, 1, 1]),
                                                     (False, [2, 1, 3, 2, 10, 5, 3])])
@pytest.mark.parametrize("default_hiddens", [True, False])
def test_variable_sequence(enforce_sorted, lengths, default_hiddens):
    """test_variable_sequence (proj_size 0; LSTM(proj_size=) is refused): a packed bidirectional
    2-layer LSTM equals each sequence run alone; gradients the same; and both equal torch's."""
    rng = np.random.default_rng(13)
    T, B, I, H = max(lengths), len(lengths), 3, 4
    ours, theirs = _pair("LSTM", I, H, bidirectional=True, num_layers=2)
    alone = copy.deepcopy(ours)
    x = rng.standard_normal((T, B, I))
    h0 = None if default_hiddens else (rng.standard_normal((4, B, H)), rng.standard_normal((4, B, H)))
    x_leaf = rg.tensor(x, requires_grad=True)
    seq_outs, seq_h = [], []
    for i, n in enumerate(lengths):
        hid = None if h0 is None else tuple(rg.tensor(s[:, i:i + 1]) for s in h0)
        out, state = alone(x_leaf[:n, i:i + 1], hid)
        seq_outs.append(rg.concatenate([out, rg.zeros(T - n, 1, 2 * H)], axis=0) if n < T else out)
        seq_h.append(state)
    seq_out = rg.concatenate(seq_outs, axis=1)
    seq_hidden = tuple(rg.concatenate(list(parts), axis=1) for parts in zip(*seq_h))
    packed = R.pack_padded_sequence(x_leaf, lengths, enforce_sorted=enforce_sorted)
    packed_out, packed_hidden = ours(packed, None if h0 is None else tuple(rg.tensor(s) for s in h0))
    unpacked, unpacked_len = R.pad_packed_sequence(packed_out)
    for a, b in zip(packed_hidden, seq_hidden):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(unpacked.data, seq_out.data, rtol=1e-12, atol=1e-14)
    assert unpacked_len.data.tolist() == lengths
    seq_out.sum().backward()
    grad_x = x_leaf.grad.data.copy()
    x_leaf.grad = None
    unpacked.sum().backward()
    np.testing.assert_allclose(x_leaf.grad.data, grad_x, rtol=1e-12, atol=1e-14)
    for p1, p2 in zip(ours.parameters(), alone.parameters()):
        np.testing.assert_allclose(p1.grad.data, p2.grad.data, rtol=1e-10, atol=1e-13)
    # and torch's packed run
    xt = torch.tensor(x, requires_grad=True)
    out_t, hid_t = theirs(torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted),
                          None if h0 is None else tuple(torch.tensor(s) for s in h0))
    unpacked_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t)
    _same(unpacked, unpacked_t)
    for a, b in zip(packed_hidden, hid_t):
        _same(a, b)
    unpacked_t.sum().backward()
    _same(x_leaf.grad, xt.grad)


def test_rnn_weight_norm():
    """test_rnn_weight_norm (proj_size 0): weight_norm on an LSTM weight replaces the Parameter by
    _g/_v parameters and computes torch's values; remove_weight_norm puts the Parameter back."""
    name = "weight_ih_l0"
    ours, theirs = _pair("LSTM", 32, 32)
    rg.nn.utils.weight_norm(ours, name=name)
    torch.nn.utils.weight_norm(theirs, name=name)
    names = [n for n, _ in ours.named_parameters()]
    assert sorted(names) == sorted(n for n, _ in theirs.named_parameters())
    assert name not in names and name + "_g" in names and name + "_v" in names
    x = np.random.default_rng(14).standard_normal((4, 2, 32))
    _same(ours(rg.tensor(x))[0], theirs(torch.tensor(x))[0])
    rg.nn.utils.remove_weight_norm(ours, name=name)
    torch.nn.utils.remove_weight_norm(theirs, name=name)
    params = dict(ours.named_parameters())
    assert params.get(name) is not None and name + "_g" not in params and name + "_v" not in params
    assert list(params) == [n for n, _ in theirs.named_parameters()]
    _same(ours(rg.tensor(x))[0], theirs(torch.tensor(x))[0])


def test_flatten_parameters_is_a_no_op():
    """flatten_parameters returns None and changes nothing, as on torch's CPU layers."""
    for mode in KINDS:
        ours, theirs = _pair(mode, 3, 4, 2, bidirectional=True)
        before = {n: p.data.copy() for n, p in ours.named_parameters()}
        assert ours.flatten_parameters() is None and theirs.flatten_parameters() is None
        x = np.random.default_rng(15).standard_normal((5, 2, 3))
        _same(ours(rg.tensor(x))[0], theirs(torch.tensor(x))[0])
        for n, p in ours.named_parameters():
            np.testing.assert_array_equal(p.data, before[n])
