"""Recurrent cells and fused sequence layers: fused = composed cells =
finite differences = PyTorch."""

import gc
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from retrograd.autograd import graph
from conftest import torch  # None without PyTorch: the tests marked ``torch`` are then skipped, one by one
from retrograd import nn
from retrograd.recurrent import buffers

KINDS = ["RNN", "LSTM", "GRU"]


def _unroll_cells(layer, x, state):
    """The same layer computed by its composed cells, step by step."""
    kind = type(layer).__name__
    h = x
    finals = []
    for l in range(layer.num_layers):
        cell = getattr(nn, kind + "Cell")(h.shape[2], layer.hidden_size, **(
            {"nonlinearity": layer.nonlinearity} if kind == "RNN" else {})).double()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            cell._parameters[name] = cell.__dict__[name] = getattr(layer, f"{name}_l{l}")
        s = (state[0][l], state[1][l]) if kind == "LSTM" else state[l]
        outs = []
        for t in range(h.shape[0]):
            s = cell(h[t], s)
            outs.append(s[0] if kind == "LSTM" else s)
        h = rg.stack(outs)
        finals.append(s)
    if kind == "LSTM":
        return h, (rg.stack([f[0] for f in finals]), rg.stack([f[1] for f in finals]))
    return h, rg.stack(finals)


def _state(kind, rng, L, B, H):
    mk = lambda: rg.tensor(rng.standard_normal((L, B, H)), requires_grad=True)  # noqa: E731
    return (mk(), mk()) if kind == "LSTM" else mk()


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("kind", KINDS + ["RNN_relu"])
def test_fused_layer_equals_composed_cells_in_value_and_gradient(kind):
    rng = np.random.default_rng(0)
    T, B, I, H, L = 6, 3, 4, 5, 2
    name = kind.split("_")[0]
    kwargs = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
    layer = getattr(nn, name)(I, H, num_layers=L, **kwargs).double()
    x = rg.tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    state = _state(name, rng, L, B, H)
    out_f, st_f = layer(x, state)
    out_c, st_c = _unroll_cells(layer, x, state)
    np.testing.assert_allclose(out_f.data, out_c.data, rtol=1e-12, atol=1e-14)
    wo = rng.standard_normal(out_f.shape)
    ws = [rng.standard_normal(s.shape) for s in _flat(st_f)]

    def objective(out, st):
        return (out * rg.tensor(wo)).sum() + sum((s * rg.tensor(w)).sum() for s, w in zip(_flat(st), ws))

    wrt = [x] + _flat(state) + list(layer.parameters())
    g_f = rg.grad(objective(out_f, st_f), wrt)
    g_c = rg.grad(objective(out_c, st_c), wrt)
    for a, b in zip(g_f, g_c):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_fused_layer_gradcheck(kind):
    rng = np.random.default_rng(1)
    layer = getattr(nn, kind)(3, 4).double()
    x = rng.standard_normal((4, 2, 3))
    h0 = rng.standard_normal((1, 2, 4))
    params = list(layer.parameters())
    names = [n for n, _ in layer.named_parameters()]

    def f(x_, h_, *ps):
        st = (h_, h_ * 0.5) if kind == "LSTM" else h_
        out, s = nn.utils.functional_call(layer, dict(zip(names, ps)), x_, st)
        return out.sum() + (_flat(s)[0] ** 2).sum()

    report = rg.gradcheck(f, [x, h0] + [p.data for p in params])
    assert report.ok, str(report)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck_and_second_order(kind):
    rng = np.random.default_rng(2)
    cell = getattr(nn, kind)(3, 2).double()
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    names = [n for n, _ in cell.named_parameters()]

    def f(x_, h_, *ps):
        st = (h_, h_ * 2) if kind == "LSTMCell" else h_
        out = nn.utils.functional_call(cell, dict(zip(names, ps)), x_, st)
        return _flat(out)[0]

    args = [x, h] + [p.data for p in cell.parameters()]
    assert rg.gradcheck(f, args).ok
    assert rg.gradgradcheck(f, args).ok


def test_batch_first_unbatched_and_default_state():
    rng = np.random.default_rng(3)
    lstm = nn.LSTM(4, 5, batch_first=True).double()
    x = rng.standard_normal((2, 6, 4))  # (B, T, I)
    out, (h, c) = lstm(rg.tensor(x))
    assert out.shape == (2, 6, 5) and h.shape == (1, 2, 5) and c.shape == (1, 2, 5)
    lstm.batch_first = False
    out_tm, _ = lstm(rg.tensor(x.transpose(1, 0, 2)))
    np.testing.assert_allclose(out.data.transpose(1, 0, 2), out_tm.data)
    out_u, (hu, cu) = lstm(rg.tensor(x[0].copy()[:, None, :].squeeze(1)))
    assert out_u.shape == (6, 5) and hu.shape == (1, 5)
    np.testing.assert_allclose(out_u.data, out_tm.data[:, 0])
    with pytest.raises(rg.OpError, match=r"initial state has shape \(1, 3, 5\), expected \(1, 2, 5\)"):
        lstm(rg.tensor(x.transpose(1, 0, 2)), (rg.zeros(1, 3, 5), rg.zeros(1, 3, 5)))
    with pytest.raises(rg.OpError, match="expected input"):
        lstm(rg.tensor(np.zeros((3, 2, 7))))


def test_parameter_names_and_shapes_follow_pytorch():
    gru = nn.GRU(3, 4, num_layers=2)
    shapes = {n: p.shape for n, p in gru.named_parameters()}
    assert shapes == {"weight_ih_l0": (12, 3), "weight_hh_l0": (12, 4), "bias_ih_l0": (12,), "bias_hh_l0": (12,),
                      "weight_ih_l1": (12, 4), "weight_hh_l1": (12, 4), "bias_ih_l1": (12,), "bias_hh_l1": (12,)}
    assert "(4*hidden_size, input_size)" in nn.LSTMCell.__doc__
    assert "(3*hidden_size, input_size)" in nn.GRUCell.__doc__


def fused_op(out):
    """The fused layer's op behind a layer's output (reached through the reshape of its packed rows)."""
    node = out.grad_fn
    while node.name not in ("lstm_layer", "gru_layer", "rnn_layer"):
        node = graph.input_nodes(node)[0]
    return node


def test_buffer_pool_reuses_released_buffers_and_stays_bounded():
    """A second training step of a fused layer takes its gate and delta buffers
    from the pool (no fresh allocation), never one that escaped as an output,
    and the pool never holds more than its limit."""
    buffers.pool.clear()
    lstm = nn.LSTM(3, 4).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    out, _ = lstm(x)
    (out * out).sum().backward()
    pooled = {id(a) for arrays in buffers.pool._free.values() for a in arrays}
    assert pooled and id(out.data) not in pooled and id(out.data.base) not in pooled
    out2, _ = lstm(x)
    assert id(fused_op(out2).saved["G"]) in pooled          # reused, same numbers as a fresh buffer
    np.testing.assert_allclose(out2.data, out.data)
    out4, st, gates = nn.LSTM(3, 4).double()(x, return_gates=True)  # gates are outputs: kept out
    (out4.sum() + gates["f"].sum()).backward()
    kept = gates["f"].data.base if gates["f"].data.base is not None else gates["f"].data
    assert all(a is not kept and a.base is not kept for arrays in buffers.pool._free.values() for a in arrays)
    small = buffers.BufferPool(max_bytes=1000)
    small.give(np.zeros(100), np.zeros(100), np.zeros(50))
    assert small.bytes <= 1000
    assert small.take((50,), np.float64).shape == (50,)


def test_fused_ops_report_saved_memory():
    """Beyond its inputs an LSTM keeps exactly the floor per step: the four gates,
    h and c (6H floats per row; φ(cₜ) is recomputed in the vjp)."""
    T, B, I, H = 10, 4, 8, 16
    lstm = nn.LSTM(I, H)
    out, _ = lstm(rg.tensor(np.zeros((T, B, I), np.float32)))
    op = fused_op(out)
    inputs = sum(a.nbytes for a in op.xs if isinstance(a, np.ndarray))
    assert op.saved_nbytes() - inputs == 6 * H * T * B * 4


def test_lstm_output_keeps_only_its_own_memory_after_backward():
    """The gate buffer, cs and tanh cₜ (≈ 2.5 MB here) are declared with
    ``Op.save`` and freed right after the vjp, though the output (and so the
    op, its grad_fn) is still referenced."""
    T, B, I, H = 100, 16, 8, 64
    lstm = nn.LSTM(I, H)
    x = rg.tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    w = rg.tensor(np.ones((T, B, H), np.float32))
    gc.collect()
    tracemalloc.start()
    try:
        out, (h_n, c_n) = lstm(x)
        op = fused_op(out)
        gate_bytes = T * B * 4 * H * 4
        assert op.saved_nbytes() >= gate_bytes
        (out * w).sum().backward()
        for p in lstm.parameters():
            p.grad = None
        buffers.pool.clear()  # the released buffers wait there for the next step (test_buffer_pool_*)
        gc.collect()
        # NumPy's array buffers alone (its tracemalloc domain): the Python objects other tests leave to
        # be made or grown in this window (caches, dicts) are not what the op keeps
        arrays = tracemalloc.take_snapshot().filter_traces([tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)])
        held = sum(trace.size for trace in arrays.traces)
    finally:
        tracemalloc.stop()
    own = out.data.base.nbytes if out.data.base is not None else out.data.nbytes  # hₜ for t = 1…T
    assert held <= own + h_n.data.nbytes + c_n.data.nbytes + 64 * 1024, (held, own)
    assert op.saved_arrays() == []


@pytest.mark.parametrize("kind", KINDS + ["RNN_relu"])
def test_fused_saved_arrays_are_declared_and_released(kind):
    name = kind.split("_")[0]
    kwargs = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
    layer = getattr(nn, name)(3, 4, **kwargs).double()
    out, _ = layer(rg.tensor(np.random.default_rng(8).standard_normal((5, 2, 3))))
    op = fused_op(out)
    buffers = {"LSTM": {"G", "Y", "C"}, "GRU": {"Z", "GHn", "Y"}, "RNN": {"Y"}, "RNN_relu": {"A", "Y"}}
    assert set(op.saved) == buffers[kind]
    assert op.saved_nbytes() >= sum(a.nbytes for a in op.saved.values())
    out.sum().backward()
    assert op.saved is None and op.saved_arrays() == []


def test_gate_and_step_observers_are_per_thread_and_scoped():
    """Two threads observing at once each see only their own model's steps,
    and the registry is empty after the ``with`` block, even on an exception."""
    from retrograd.autograd import hooks
    from retrograd.recurrent import buffers, cells, fused

    barrier = threading.Barrier(2)
    seen = {}

    def observe(kind):
        steps, gates = [], []
        rng = np.random.default_rng(9)
        layer, cell = getattr(nn, kind)(3, 4).double(), getattr(nn, kind + "Cell")(3, 4).double()
        with hooks.observe(fused.STEP_EVENT, lambda op, t, *deltas: steps.append(op.name)), \
                hooks.observe(cells.GATES_EVENT, lambda c, pre: gates.append(type(c).__name__)):
            barrier.wait()  # both threads are observing from here on
            for _ in range(20):
                out, _ = layer(rg.tensor(rng.standard_normal((6, 2, 3))))
                out.sum().backward()
                cell(rg.tensor(rng.standard_normal((2, 3))))
            barrier.wait()
        seen[kind] = (set(steps), set(gates), len(steps))

    threads = [threading.Thread(target=observe, args=(k,)) for k in ("LSTM", "GRU")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert seen["LSTM"] == ({"lstm_layer"}, {"LSTMCell"}, 20 * 6)
    assert seen["GRU"] == ({"gru_layer"}, {"GRUCell"}, 20 * 6)
    with pytest.raises(KeyError):
        with hooks.observe(fused.STEP_EVENT, print):
            assert hooks.active(fused.STEP_EVENT)
            raise KeyError("inside the block")
    assert not hooks.active(fused.STEP_EVENT) and not hooks.active(cells.GATES_EVENT)


@pytest.mark.parametrize("kind", KINDS + ["RNN_relu"])
@pytest.mark.parametrize("layers", [1, 2])
def test_step_is_one_time_step_of_a_batch(kind, layers):
    """step(x_t (B, I), state) = forward on a sequence of length 1, in value
    and gradient; step(x_t (I,), state (L, H)) is the unbatched form."""
    rng = np.random.default_rng(10)
    name = kind.split("_")[0]
    kwargs = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
    B, I, H = 3, 4, 5
    layer = getattr(nn, name)(I, H, num_layers=layers, batch_first=True, **kwargs).double()
    x_t = rg.tensor(rng.standard_normal((B, I)), requires_grad=True)
    state = _state(name, rng, layers, B, H)
    out_s, st_s = layer.step(x_t, state)
    assert out_s.shape == (B, H) and all(s.shape == (layers, B, H) for s in _flat(st_s))
    out_f, st_f = layer(rg.unsqueeze(x_t, 1), state)  # batch_first: (B, 1, I)
    np.testing.assert_allclose(out_s.data, out_f.data[:, 0], rtol=1e-13)
    for a, b in zip(_flat(st_s), _flat(st_f)):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-13)
    wo = rg.tensor(rng.standard_normal((B, H)))
    ws = [rg.tensor(rng.standard_normal(s.shape)) for s in _flat(st_s)]

    def objective(out, st):
        return (out * wo).sum() + sum((s * w).sum() for s, w in zip(_flat(st), ws))

    wrt = [x_t] + _flat(state) + list(layer.parameters())
    g_s = rg.grad(objective(out_s, st_s), wrt)
    g_f = rg.grad(objective(rg.squeeze(out_f, 1), st_f), wrt)
    for a, b in zip(g_s, g_f):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)
    # unbatched: x_t (I,), state (num_layers, H)
    one = [s[:, 0] for s in _flat(state)]
    out_u, st_u = layer.step(x_t[0], tuple(one) if name == "LSTM" else one[0])
    assert out_u.shape == (H,) and all(s.shape == (layers, H) for s in _flat(st_u))
    np.testing.assert_allclose(out_u.data, out_s.data[0], rtol=1e-13)
    with pytest.raises(rg.OpError, match="step: expected x_t"):
        layer.step(rg.tensor(rng.standard_normal((1, B, I))), state)


@pytest.mark.torch
@pytest.mark.parametrize("kind", KINDS + ["RNN_relu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layers_match_torch(kind, batch_first):
    rng = np.random.default_rng(4)
    name = kind.split("_")[0]
    kwargs = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
    tl = getattr(torch.nn, name)(4, 5, num_layers=2, batch_first=batch_first, **kwargs).double()
    rl = getattr(nn, name)(4, 5, num_layers=2, batch_first=batch_first, **kwargs).double()
    rl.load_state_dict(tl.state_dict())
    x = rng.standard_normal((3, 7, 4))
    h0 = rng.standard_normal((2, 7 if not batch_first else 3, 5))
    if not batch_first:
        h0 = rng.standard_normal((2, 7, 5))
    else:
        h0 = rng.standard_normal((2, 3, 5))
    xr, xt = rg.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    hr, ht = rg.tensor(h0, requires_grad=True), torch.from_numpy(h0).requires_grad_()
    sr = (hr, hr * 0.5) if name == "LSTM" else hr
    st = (ht, ht * 0.5) if name == "LSTM" else ht
    out_r, fin_r = rl(xr, sr)
    out_t, fin_t = tl(xt, st)
    np.testing.assert_allclose(out_r.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-13)
    w = rng.standard_normal(out_r.shape)
    loss_r = (out_r * rg.tensor(w)).sum() + sum((f ** 2).sum() for f in _flat(fin_r))
    loss_t = (out_t * torch.from_numpy(w)).sum() + sum((f ** 2).sum() for f in (fin_t if name == "LSTM" else [fin_t]))
    loss_r.backward()
    loss_t.backward()
    np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hr.grad.data, ht.grad.numpy(), rtol=1e-9, atol=1e-12)
    tp = dict(tl.named_parameters())
    for n, p in rl.named_parameters():
        np.testing.assert_allclose(p.grad.data, tp[n].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=n)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    rng = np.random.default_rng(5)
    tc = getattr(torch.nn, kind)(3, 4).double()
    rc = getattr(nn, kind)(3, 4).double()
    rc.load_state_dict(tc.state_dict())
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    sr = (rg.tensor(h), rg.tensor(h * 2)) if kind == "LSTMCell" else rg.tensor(h)
    st = (torch.from_numpy(h), torch.from_numpy(h * 2)) if kind == "LSTMCell" else torch.from_numpy(h)
    out_r, out_t = rc(rg.tensor(x), sr), tc(torch.from_numpy(x), st)
    for a, b in zip(_flat(out_r), out_t if kind == "LSTMCell" else [out_t]):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(KINDS), T=st.integers(1, 5), B=st.integers(1, 3), I=st.integers(1, 4),
       H=st.integers(1, 4), layers=st.integers(1, 2), seed=st.integers(0, 1000))
def test_fused_equals_cells_on_random_shapes(kind, T, B, I, H, layers, seed):
    rng = np.random.default_rng(seed)
    layer = getattr(nn, kind)(I, H, num_layers=layers).double()
    x = rg.tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    state = _state(kind, rng, layers, B, H)
    out_f, st_f = layer(x, state)
    out_c, st_c = _unroll_cells(layer, x, state)
    np.testing.assert_allclose(out_f.data, out_c.data, rtol=1e-12, atol=1e-14)
    w = rng.standard_normal(out_f.shape)
    wrt = [x] + _flat(state) + list(layer.parameters())
    for a, b in zip(rg.grad((out_f * rg.tensor(w)).sum(), wrt), rg.grad((out_c * rg.tensor(w)).sum(), wrt)):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-13)


def test_dropout_between_layers_only_in_training():
    rg.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = rg.tensor(np.random.default_rng(7).standard_normal((5, 2, 3)))
    train_a, _ = lstm(x)
    train_b, _ = lstm(x)
    assert not np.allclose(train_a.data, train_b.data)  # a new mask each call
    lstm.eval()
    eval_a, _ = lstm(x)
    lstm.dropout = 0.0
    lstm.train()
    no_dropout, _ = lstm(x)
    np.testing.assert_allclose(eval_a.data, no_dropout.data)


def test_reset_rows_on_an_lstm_state_tuple():
    from retrograd import bptt

    h = rg.tensor(np.ones((1, 3, 2)))
    c = rg.tensor(np.full((1, 3, 2), 2.0))
    h2, c2 = bptt.reset_rows((h, c), np.array([False, True, False]))
    assert h2.data[0, :, 0].tolist() == [1.0, 0.0, 1.0] and c2.data[0, :, 0].tolist() == [2.0, 0.0, 2.0]
    with pytest.raises(rg.OpError, match="row mask of shape"):
        bptt.reset_rows((h, c), np.array([True, False]))
