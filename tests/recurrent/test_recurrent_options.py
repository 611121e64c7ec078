"""The fused layers' options beyond PyTorch's, each against the composed cells
in float64: the activation choice, recurrent dropout, gates on request,
``returns=``, masks through ``gradcheck``/``gradgradcheck``, and the packed op
on its own (``Steps``)."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.recurrent import cells, fused
from retrograd.recurrent.packing import MaskPlan, Steps

KINDS = ["RNN", "LSTM", "GRU"]
T, B, I, H = 5, 3, 2, 3


def _weights(rng, kind):
    k = cells.GATES[kind]
    return [rng.standard_normal(s) * 0.6 for s in [(k * H, I), (k * H, H), (k * H,), (k * H,)]]


def _composed(kind, x, h0, c0, ws, activation="tanh", mask=None):
    """The layer as a loop of the cells' equations: (outputs (T, B, H), h_T, c_T, gates per step)."""
    h, c, outs, gates = h0, c0, [], []
    for t in range(x.shape[0]):
        if kind == "LSTM":
            (h, c), pre = cells.lstm_update(x[t], h, c, *ws, activation=activation, recurrent_mask=mask)
            phi = cells.ACTIVATION_FUNCTIONS[activation]
            gates.append([rg.sigmoid(pre[0]), rg.sigmoid(pre[1]), phi(pre[2]), rg.sigmoid(pre[3]), c])
        elif kind == "GRU":
            h, pre = cells.gru_update(x[t], h, *ws, activation=activation, recurrent_mask=mask)
            phi = cells.ACTIVATION_FUNCTIONS[activation]
            gates.append([rg.sigmoid(pre[0]), rg.sigmoid(pre[1]), phi(pre[2])])
        else:
            h, _ = cells.rnn_update(x[t], h, *ws, activation, recurrent_mask=mask)
        outs.append(h)
    return rg.stack(outs), h, c, gates


def _fused(kind, x, h0, c0, ws, activation="tanh", mask=None, gates=False):
    steps = Steps.full(x.shape[0], x.shape[1])
    rows = rg.reshape(x, (-1, x.shape[2]))
    if kind == "LSTM":
        return fused.LSTMLayer(steps, activation, mask, gates)(rows, h0, c0, *ws)
    op = fused.GRULayer(steps, activation, mask, gates) if kind == "GRU" else fused.RNNLayer(steps, activation, mask)
    return op(rows, h0, *ws)


def _leaves(rng, kind):
    x = rg.tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    h0 = rg.tensor(rng.standard_normal((B, H)) * 0.5, requires_grad=True)
    c0 = rg.tensor(rng.standard_normal((B, H)) * 0.5, requires_grad=True)
    ws = [rg.tensor(w, requires_grad=True) for w in _weights(rng, kind)]
    return x, h0, c0, ws


def _grads(loss, leaves):
    return [np.zeros(t.shape) if g is None else g.data for t, g in zip(leaves, rg.grad(loss, leaves, allow_unused=True))]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("dropout", [False, True])
def test_fused_op_equals_composed_cells(kind, activation, dropout):
    """Activation and recurrent dropout mask: values and every gradient equal the cells' loop."""
    rng = np.random.default_rng(3)
    x, h0, c0, ws = _leaves(rng, kind)
    mask = (rng.random((B, H)) >= 0.4) / 0.6 if dropout else None
    leaves = [x, h0] + ([c0] if kind == "LSTM" else []) + ws
    out = _fused(kind, x, h0, c0, ws, activation, mask)
    ref, h_ref, c_ref, _ = _composed(kind, x, h0, c0, ws, activation, mask)
    np.testing.assert_allclose(out[0].data.reshape(T, B, H), ref.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out[1].data, h_ref.data, rtol=1e-12, atol=1e-14)
    w = rg.tensor(rng.standard_normal((T * B, H)))
    v = rg.tensor(rng.standard_normal((B, H)))
    loss = (out[0] * w).sum() + (out[1] * v).sum() + ((out[2] * v * v).sum() if kind == "LSTM" else 0.0)
    loss_ref = (rg.reshape(ref, (-1, H)) * w).sum() + (h_ref * v).sum() + \
        ((c_ref * v * v).sum() if kind == "LSTM" else 0.0)
    for a, b in zip(_grads(loss, leaves), _grads(loss_ref, leaves)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gates_on_request_equal_the_cells_and_carry_gradient(kind):
    rng = np.random.default_rng(4)
    x, h0, c0, ws = _leaves(rng, kind)
    leaves = [x, h0] + ws
    out = _fused(kind, x, h0, c0, ws, gates=True)
    ref, _, _, gates = _composed(kind, x, h0, c0, ws)
    k = cells.GATES[kind]
    G = out[3].data.reshape(T, B, k * H) if kind == "LSTM" else out[2].data.reshape(T, B, k * H)
    for t in range(T):
        for j in range(k):
            np.testing.assert_allclose(G[t, :, j * H:(j + 1) * H], gates[t][j].data, rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(out[4].data.reshape(T, B, H), rg.stack([g[4] for g in gates]).data, rtol=1e-12)
    # a loss on the gates (and the cell states) and the outputs: the same gradient as through the cells
    wg = rng.standard_normal(G.shape).reshape(T * B, k * H)
    loss = (out[0] * out[0]).sum() + ((out[3] if kind == "LSTM" else out[2]) * rg.tensor(wg)).sum()
    ref_gates = rg.reshape(rg.stack([rg.concatenate(g[:k], axis=1) for g in gates]), (T * B, k * H))
    loss_ref = (ref * ref).sum() + (ref_gates * rg.tensor(wg)).sum()
    if kind == "LSTM":
        wc = rg.tensor(rng.standard_normal((T * B, H)))
        loss = loss + (out[4] * wc).sum()
        loss_ref = loss_ref + (rg.reshape(rg.stack([g[4] for g in gates]), (T * B, H)) * wc).sum()
    for a, b in zip(_grads(loss, leaves), _grads(loss_ref, leaves)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_layer_returns_gates_in_the_output_layout(kind):
    layer = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, batch_first=True).double()
    x = rg.tensor(np.random.default_rng(5).standard_normal((B, T, I)))
    m = np.ones((B, T), bool)
    m[1, 3:] = False
    out, state, gates = layer(x, mask=m, return_gates=True)
    names = {"LSTM": ["i", "f", "g", "o", "c"], "GRU": ["r", "z", "n"]}[kind]
    assert list(gates) == names
    for g in gates.values():
        assert g.shape == (4, B, T, H)
        assert np.all(g.data[:, 1, 3:] == 0)   # masked steps: zero, like the outputs
    # the top layer's forward-direction gate f/z at a real step is what a one-layer run on its input gives
    assert np.all((gates[names[1]].data[:, m] > 0) & (gates[names[1]].data[:, m] < 1))


def test_rnn_has_no_gates():
    with pytest.raises(rg.OpError, match="no gates"):
        nn.RNN(I, H)(rg.tensor(np.zeros((T, B, I), np.float32)), return_gates=True)


def test_recurrent_dropout_one_mask_per_sequence_and_off_in_eval():
    """The layer draws one (B, H) mask per sequence and direction from rg's
    generator; the same draw fed to the op gives the same result; eval is exact."""
    rng = np.random.default_rng(6)
    layer = nn.LSTM(I, H, recurrent_dropout=0.3).double()
    x = rg.tensor(rng.standard_normal((T, B, I)))
    rg.manual_seed(11)
    out, _ = layer(x)
    rg.manual_seed(11)
    mask = (rg.random.generator().random((B, H)) >= 0.3) / 0.7
    ws = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
    zeros = rg.tensor(np.zeros((B, H)))
    ref, _, _, _ = _composed("LSTM", x, zeros, zeros, ws, mask=mask)
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12)
    layer.eval()
    plain, _ = layer(x)
    ref_eval, _, _, _ = _composed("LSTM", x, zeros, zeros, ws)
    np.testing.assert_allclose(plain.data, ref_eval.data, rtol=1e-12)


def test_seed_002_keras_layer_ports():
    """Keras' LSTM(512, activation='relu', return_sequences=True): the candidate and the
    cell output use relu, equal to the cells with relu."""
    rng = np.random.default_rng(7)
    layer = nn.LSTM(I, H, activation="relu", returns="output").double()
    x = rg.tensor(rng.standard_normal((T, B, I)))
    out = layer(x)
    zeros = rg.tensor(np.zeros((B, H)))
    ws = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
    ref, _, _, _ = _composed("LSTM", x, zeros, zeros, ws, activation="relu")
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_returns_output_and_last_chain_in_sequential(bidirectional):
    rng = np.random.default_rng(8)
    D = 2 if bidirectional else 1
    x = rg.tensor(rng.standard_normal((B, T, I)))
    lengths = np.array([5, 2, 4])
    mask = np.arange(T)[None, :] < lengths[:, None]
    full = nn.GRU(I, H, batch_first=True, bidirectional=bidirectional).double()
    out, h_n = full(x, mask=mask)
    seq = nn.GRU(I, H, batch_first=True, bidirectional=bidirectional, returns="output").double()
    seq.load_state_dict(full.state_dict())
    np.testing.assert_allclose(seq(x, mask=mask).data, out.data)
    last = nn.GRU(I, H, batch_first=True, bidirectional=bidirectional, returns="last").double()
    last.load_state_dict(full.state_dict())
    got = last(x, mask=mask)
    assert got.shape == (B, D * H)
    # the forward half is each row's output at its last real step; the reverse half its output at step 0
    np.testing.assert_allclose(got.data[:, :H], out.data[np.arange(B), lengths - 1, :H])
    if bidirectional:
        np.testing.assert_allclose(got.data[:, H:], out.data[:, 0, H:])
    model = nn.Sequential(nn.GRU(I, H, batch_first=True, returns="output").double(), nn.Linear(H, 2).double())
    assert model(x).shape == (B, T, 2)


def test_constructor_errors_name_the_problem():
    with pytest.raises(ValueError, match="activation"):
        nn.LSTM(2, 3, activation="sigmoid")
    with pytest.raises(ValueError, match="returns"):
        nn.GRU(2, 3, returns="sequences")
    with pytest.raises(ValueError, match="recurrent_dropout"):
        nn.RNN(2, 3, recurrent_dropout=1.0)
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(2, 3, proj_size=2)
    with pytest.warns(UserWarning, match="dropout"):
        nn.LSTM(2, 3, dropout=0.5)


@pytest.mark.parametrize("kind", KINDS)
def test_masked_bidirectional_layer_gradcheck(kind):
    """Finite differences through the gathers of a mask with a gap and pre-padding, both directions."""
    rng = np.random.default_rng(9)
    layer = getattr(nn, kind)(2, 2, bidirectional=True).double()
    names = [n for n, _ in layer.named_parameters()]
    m = np.array([[0, 1, 1], [1, 1, 0], [1, 0, 1], [1, 1, 1]], bool)   # (T=4, B=3)

    def f(x_, h_, *ps):
        st = (h_, h_ * 0.5) if kind == "LSTM" else h_
        out, s = nn.utils.functional_call(layer, dict(zip(names, ps)), x_, st, mask=m)
        parts = s if isinstance(s, tuple) else (s,)
        return (out * out).sum() + sum((p ** 2).sum() for p in parts)

    args = [rng.standard_normal((4, 3, 2)), rng.standard_normal((2, 3, 2))] + [p.data for p in layer.parameters()]
    report = rg.gradcheck(f, args)
    assert report.ok, str(report)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_op_gradgradcheck(kind):
    """create_graph through packed rows (rows ending at different steps) and a recurrent mask."""
    rng = np.random.default_rng(10)
    steps = Steps([3, 2, 1], 3)
    mask = (rng.random((3, 2)) >= 0.3) / 0.7
    k = cells.GATES[kind]

    def f(x_, h_, c_, *ws):
        if kind == "LSTM":
            outs = fused.LSTMLayer(steps, "tanh", mask)(x_, h_, c_, *ws)
        else:
            outs = (fused.GRULayer if kind == "GRU" else fused.RNNLayer)(steps, "tanh", mask)(x_, h_, *ws)
        return rg.concatenate([rg.reshape(o, (-1,)) for o in outs])

    args = [rng.standard_normal((6, 2)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))] + \
        [rng.standard_normal(s) * 0.5 for s in [(k * 2, 2), (k * 2, 2), (k * 2,), (k * 2,)]]
    report = rg.gradgradcheck(f, args)
    assert report.ok, str(report)


def test_mask_plan_gathers_real_steps_to_the_front():
    m = np.array([[0, 1], [1, 1], [0, 0], [1, 0]], bool)   # row 0: steps 1, 3; row 1: steps 0, 1
    plan = MaskPlan(m)
    assert plan.steps.sizes == [2, 2]
    flat = np.arange(8)
    # packed rows: step 0 of (row 0, row 1), step 1 of (row 0, row 1), in the stable order of counts
    assert plan.source.tolist() == [flat[1 * 2 + 0], flat[0 * 2 + 1], flat[3 * 2 + 0], flat[1 * 2 + 1]]
    assert [plan.scatter[i] for i in range(8)] == [4, 1, 0, 3, 4, 4, 2, 4]


def test_mask_helpers_feed_the_layers():
    """``Embedding.padding_mask`` (Keras' mask_zero) and ``mask_from_lengths`` give the
    mask whose masked run equals packing the same lengths."""
    from retrograd.nn.utils import rnn
    rng = np.random.default_rng(12)
    ids = np.array([[3, 1, 4, 0, 0], [2, 2, 0, 0, 0], [1, 5, 9, 2, 6]])        # (B, T), 0 = padding
    emb = nn.Embedding(10, I, padding_idx=0).double()
    mask = emb.padding_mask(ids)
    lengths = [3, 2, 5]
    assert np.array_equal(mask, rnn.mask_from_lengths(lengths, batch_first=True))
    assert np.array_equal(rnn.mask_from_lengths(lengths, total_length=6).T[:, :5], mask)
    lstm = nn.LSTM(I, H, batch_first=True).double()
    x = emb(ids)
    out, (h_n, _) = lstm(x, mask=mask)
    packed_out, (h_p, _) = lstm(rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    padded, _ = rnn.pad_packed_sequence(packed_out, batch_first=True)
    np.testing.assert_allclose(out.data, padded.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h_n.data, h_p.data, rtol=1e-12)
    with pytest.raises(rg.OpError, match="padding_idx"):
        nn.Embedding(4, 2).padding_mask(ids)
    with pytest.raises(rg.OpError, match="mask"):
        lstm(x, mask=mask.astype(int))
    with pytest.raises(rg.OpError, match=r"\(3, 5\)"):
        lstm(x, mask=mask.T)
    del rng


@pytest.mark.torch
def test_pytorch_attributes_and_calls_run_unchanged():
    """``flatten_parameters()``, ``all_weights``, ``mode`` and ``proj_size`` as PyTorch has them."""
    import torch
    for kind, kwargs in [("LSTM", {"num_layers": 2, "bidirectional": True}), ("GRU", {"bias": False}),
                         ("RNN", {"nonlinearity": "relu"}), ("RNN", {})]:
        ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
        ours.flatten_parameters()
        assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
        assert (ours.mode, ours.proj_size) == (theirs.mode, theirs.proj_size)


def _keras_reference(kind, x, mask, kernel, recurrent, bias, activation="tanh"):
    """Keras' own equations (kernel (I, k·H), one bias; GRU reset_after=True: gates z, r, h), with
    Keras' masking: a masked step keeps the state (outputs compared only at real steps)."""
    T, B, _ = x.shape
    H = recurrent.shape[0]
    phi = np.tanh if activation == "tanh" else (lambda a: np.maximum(a, 0))
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h, c, outs = np.zeros((B, H)), np.zeros((B, H)), []
    for t in range(T):
        if kind == "LSTM":
            a = x[t] @ kernel + h @ recurrent + bias
            i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), phi(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
            c2 = f * c + i * g
            h2 = o * phi(c2)
        elif kind == "GRU":
            xa, ha = x[t] @ kernel + bias[0], h @ recurrent + bias[1]
            z, r = sig(xa[:, :H] + ha[:, :H]), sig(xa[:, H:2 * H] + ha[:, H:2 * H])
            hh = phi(xa[:, 2 * H:] + r * ha[:, 2 * H:])
            h2, c2 = z * h + (1 - z) * hh, c
        else:
            h2, c2 = phi(x[t] @ kernel + h @ recurrent + bias), c
        m = mask[t][:, None]
        h, c = np.where(m, h2, h), np.where(m, c2, c)
        outs.append(h2)
    return np.stack(outs), h


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_keras_weights_and_masking_port_to_the_fused_layers(kind):
    """A Keras layer's get_weights() loaded with load_keras_weights, run with Keras' mask
    (Embedding(mask_zero=True)-style post-padding and a gap), gives Keras' outputs at real steps
    and Keras' final state."""
    rng = np.random.default_rng(13)
    k = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    kernel, recurrent = rng.standard_normal((I, k * H)) * 0.5, rng.standard_normal((H, k * H)) * 0.5
    bias = rng.standard_normal((2, k * H) if kind == "GRU" else (k * H,)) * 0.5
    x = rng.standard_normal((T, B, I))
    mask = np.ones((T, B), bool)
    mask[3:, 0], mask[2, 1] = False, False
    layer = getattr(nn, kind)(I, H).double()
    layer.load_keras_weights([kernel, recurrent, bias])
    out, state = layer(rg.tensor(x), mask=mask)
    ref_out, ref_h = _keras_reference(kind, x, mask, kernel, recurrent, bias)
    np.testing.assert_allclose(out.data[mask], ref_out[mask], rtol=1e-12, atol=1e-14)
    h_n = state[0] if kind == "LSTM" else state
    np.testing.assert_allclose(h_n.data[0], ref_h, rtol=1e-12)
    assert np.all(out.data[~mask] == 0)
    if kind == "GRU":
        with pytest.raises(rg.OpError, match="reset_after"):
            layer.load_keras_weights([kernel, recurrent, bias[0]])
