"""The gradient at each gate of a fused LSTM / GRU (issue 21): the tensors of
``return_gates=True`` take ``retain_grad()`` and ``rg.grad(loss, [gates["i"]])``
and get what the gate tensors of a composed cell loop get (PyTorch, float64,
per step, row and unit; padded steps zero), through the recurrence of the fused
op (``engine.expose``, the op's ``adjoint_outputs``).

The gates dict holds *activations* (LSTM i, f, g, o = σ, σ, φ, σ of the
pre-activations, and the cell states c; GRU r, z, n), so the gradients are
∂L/∂(activation) and ∂L/∂cₜ.
"""

import numpy as np
import pytest

import retrograd as rg
from conftest import torch  # None without PyTorch: the tests marked ``torch`` are then skipped
from retrograd.autograd import engine, hooks
from retrograd.recurrent.sequence_op import expose_gates

NAMES = {"LSTM": ("i", "f", "g", "o", "c"), "GRU": ("r", "z", "n")}
CONFIGS = [(1, False), (2, True), (2, False), (1, True)]


def _layer(kind, layers=1, bidirectional=False, seed=0, **kw):
    rg.manual_seed(seed)
    return getattr(rg.nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional, **kw).double()


def _call(layer, x, **kw):
    """``layer(x, return_gates=True)``, the gates declared to the engine (the layer does it
    itself too: ``expose_gates`` is idempotent)."""
    *rest, gates = layer(x, return_gates=True, **kw)
    return (*rest, expose_gates(gates))


def _retained_gate_grads(layer, x, W):
    """The gates of ``layer(x)``, each retaining its grad, after backward of Σ out·W."""
    out, _, gates = _call(layer, rg.Tensor(x))
    for t in gates.values():
        t.retain_grad()
    (out * rg.Tensor(W)).sum().backward()
    return gates


def _torch_loop(layer, x, mask, loss_fn, act="tanh", recurrent_mask=None):
    """The layer as a composed cell loop in PyTorch with the same weights: each step's gate
    tensors retain their grad. ``mask`` (T, B): masked steps carry the state, output 0.
    ``loss_fn(out, h_n, c_n, gates)`` with the stacked gates (L·D, T, B, H), zero at masked
    steps; ``recurrent_mask`` (B, H) multiplies hₜ₋₁ in the recurrent product.
    Returns {name: ∂L/∂gate (L·D, T, B, H)}, zero at masked steps."""
    kind = type(layer).__name__
    L, D, H = layer.num_layers, layer.num_directions, layer.hidden_size
    T, B, _ = x.shape
    phi = torch.tanh if act == "tanh" else torch.relu
    P = {k: torch.tensor(np.asarray(v.data), requires_grad=True) for k, v in layer.named_parameters()}
    steps = {n: [[None] * T for _ in range(L * D)] for n in NAMES[kind]}
    inp, finals_h, finals_c = torch.tensor(x), [], []
    for l in range(L):
        outs = []
        for d in range(D):
            sfx = f"_l{l}" + ("_reverse" if d else "")
            wi, wh, bi, bh = (P[n + sfx] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            h = torch.zeros(B, H, dtype=torch.float64)
            c = torch.zeros(B, H, dtype=torch.float64)
            ys = [None] * T
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                m = torch.tensor(mask[t])[:, None]
                hr = h if recurrent_mask is None else h * torch.tensor(recurrent_mask)
                if kind == "LSTM":
                    a = inp[t] @ wi.T + bi + hr @ wh.T + bh
                    i, f = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H])
                    g, o = phi(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])
                    cn = f * c + i * g
                    hn = o * phi(cn)
                    parts = (i, f, g, o, cn)
                    c = torch.where(m, cn, c)
                else:
                    gi, gh = inp[t] @ wi.T + bi, hr @ wh.T + bh
                    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
                    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
                    n = phi(gi[:, 2 * H:] + r * gh[:, 2 * H:])
                    hn = (1 - z) * n + z * h
                    parts = (r, z, n)
                for name, v in zip(NAMES[kind], parts):
                    v.retain_grad()
                    steps[name][l * D + d][t] = v
                h = torch.where(m, hn, h)
                ys[t] = torch.where(m, hn, torch.zeros_like(hn))
            outs.append(torch.stack(ys))
            finals_h.append(h)
            finals_c.append(c)
        inp = torch.cat(outs, -1) if D == 2 else outs[0]
    keep = torch.tensor(mask)[None, :, :, None]
    stacked = {n: torch.where(keep, torch.stack([torch.stack(row) for row in per]), 0.0)
               for n, per in steps.items()}
    loss_fn(inp, torch.stack(finals_h), torch.stack(finals_c), stacked).backward()
    return {n: np.where(np.asarray(mask)[None, :, :, None],
                        np.stack([np.stack([v.grad.numpy() for v in row]) for row in per]), 0.0)
            for n, per in steps.items()}


def _weights(rng, T, B, D, H=4):
    return rng.standard_normal((T, B, D * H)), rng.standard_normal((2, B, H)), rng.standard_normal((2, B, H))


def _mask(T, B):
    """Post-padding, pre-padding and a gap in one batch (row 0 whole)."""
    m = np.ones((T, B), bool)
    m[4:, 1] = False             # post-padding
    m[:2, 2] = False             # pre-padding
    m[2, 3] = False              # a gap
    return m


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional", CONFIGS)
@pytest.mark.parametrize("masked", [False, True])
def test_retain_grad_equals_the_composed_loop(kind, layers, bidirectional, masked):
    rng = np.random.default_rng(1)
    T, B, D = 6, 4, 2 if bidirectional else 1
    layer = _layer(kind, layers, bidirectional)
    x = rng.standard_normal((T, B, 3))
    mask = _mask(T, B) if masked else np.ones((T, B), bool)
    W, V, U = _weights(rng, T, B, D)
    LD = layers * D

    out, state, gates = _call(layer, rg.Tensor(x), mask=rg.Tensor(mask) if masked else None)
    for t in gates.values():
        t.retain_grad()
    h_n, c_n = state if kind == "LSTM" else (state, None)
    loss = (out * rg.Tensor(W)).sum() + (h_n[:2] * rg.Tensor(V[:min(2, LD)])).sum()
    if c_n is not None:
        loss = loss + (c_n[-1:] * rg.Tensor(U[:1])).sum()
    loss.backward()

    def torch_loss(o, hn, cn, _):
        val = (o * torch.tensor(W)).sum() + (hn[:2] * torch.tensor(V[:min(2, LD)])).sum()
        return val + (cn[-1:] * torch.tensor(U[:1])).sum() if kind == "LSTM" else val
    ref = _torch_loop(layer, x, mask, torch_loss)
    assert set(gates) == set(NAMES[kind])
    for name in NAMES[kind]:
        assert gates[name].grad is not None, name
        np.testing.assert_allclose(gates[name].grad.data, ref[name], rtol=0, atol=1e-10, err_msg=name)
    if masked:
        assert not gates[NAMES[kind][0]].grad.data[:, ~mask].any()  # padded steps: zero


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_packed_input(kind, layers, bidirectional):
    """A PackedSequence (unsorted lengths): the gates are packed rows (L·D, N, H)."""
    rng = np.random.default_rng(2)
    T, B, D = 5, 4, 2 if bidirectional else 1
    lengths = [3, 5, 1, 4]
    layer = _layer(kind, layers, bidirectional)
    x = rng.standard_normal((T, B, 3))
    mask = np.arange(T)[:, None] < np.array(lengths)[None, :]
    x[~mask] = 0
    packed = rg.nn.utils.rnn.pack_padded_sequence(rg.Tensor(x), lengths, enforce_sorted=False)
    N = sum(lengths)
    Wp = rng.standard_normal((N, D * 4))
    out, state, gates = _call(layer, packed)
    for t in gates.values():
        t.retain_grad()
    h_n = state[0] if kind == "LSTM" else state
    (out.data * rg.Tensor(Wp)).sum().backward() if layers == 1 else \
        ((out.data * rg.Tensor(Wp)).sum() + h_n.sum()).backward()

    pack = torch.nn.utils.rnn.pack_padded_sequence

    def torch_loss(o, hn, cn, _):
        val = (pack(o, lengths, enforce_sorted=False).data * torch.tensor(Wp)).sum()
        return val if layers == 1 else val + hn.sum()
    ref = _torch_loop(layer, x, mask, torch_loss)
    for name in NAMES[kind]:
        want = np.stack([pack(torch.tensor(r), lengths, enforce_sorted=False).data.numpy() for r in ref[name]])
        assert gates[name].shape == (layers * D, N, 4)
        np.testing.assert_allclose(gates[name].grad.data, want, rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gates_also_used_in_the_loss(kind):
    """A gate tensor on the path too: its gradient is the path's plus the recurrence's,
    as in the composed loop (and the weights' gradients see both)."""
    rng = np.random.default_rng(3)
    T, B = 5, 3
    layer = _layer(kind, 2, True)
    x = rng.standard_normal((T, B, 3))
    mask = np.ones((T, B), bool)
    mask[3:, 1] = False
    W = rng.standard_normal((T, B, 8))
    U = rng.standard_normal((4, T, B, 4))
    first = NAMES[kind][0]
    out, _, gates = _call(layer, rg.Tensor(x), mask=rg.Tensor(mask))
    gates[first].retain_grad()
    gates["c" if kind == "LSTM" else "n"].retain_grad()
    ((out * rg.Tensor(W)).sum() + (gates[first] ** 2 * rg.Tensor(U)).sum()).backward()
    ref = _torch_loop(layer, x, mask,
                      lambda o, hn, cn, g: (o * torch.tensor(W)).sum() + (g[first] ** 2 * torch.tensor(U)).sum())
    for name in (first, "c" if kind == "LSTM" else "n"):
        np.testing.assert_allclose(gates[name].grad.data, ref[name], rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_grad_of_the_gates(kind):
    """``rg.grad(loss, [gates[...]])`` gives what retain_grad gives, and writes no .grad."""
    rng = np.random.default_rng(4)
    layer = _layer(kind, 2, True)
    x = rng.standard_normal((5, 2, 3))
    W = rng.standard_normal((5, 2, 8))

    gates = _retained_gate_grads(layer, x, W)
    retained = {k: t.grad.data for k, t in gates.items()}

    out, _, gates = _call(layer, rg.Tensor(x))
    names = list(gates)
    got = rg.grad((out * rg.Tensor(W)).sum(), [gates[k] for k in names] + [layer.weight_hh_l0])
    for k, g in zip(names, got):
        np.testing.assert_array_equal(g.data, retained[k])
        assert gates[k].grad is None


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_weight_gradients_unchanged(kind):
    """Asking for the gates' gradients changes no other gradient (the NumPy loop runs
    instead of a compiled one; the same sums, to rounding)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3, 3))
    W = rng.standard_normal((6, 3, 4))
    grads = []
    for retain in (False, True):
        layer = _layer(kind)
        xt = rg.Tensor(x, requires_grad=True)
        out, _, gates = _call(layer, xt)
        if retain:
            gates[NAMES[kind][1]].retain_grad()
        (out * rg.Tensor(W)).sum().backward()
        grads.append([xt.grad.data] + [p.grad.data for p in layer.parameters()])
        assert (gates[NAMES[kind][1]].grad is not None) == retain
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_nothing_runs_when_nobody_asks():
    """Exposed gates that no pass wants: the pass reports nothing (no tap, no recording)."""
    layer = _layer("LSTM", 2, True)
    x = rg.Tensor(np.random.default_rng(6).standard_normal((4, 2, 3)))
    out, _, gates = _call(layer, x)
    seen = []
    with hooks.observe(engine.BACKWARD_STEP, lambda op, g, sent: seen.append(engine._reporting.bp)):
        out.sum().backward()
    assert seen and all(r is None for r in seen)
    assert all(t.grad is None for t in gates.values())


def test_unrelated_pass_and_accumulation():
    """A retained gate gets nothing from a pass over another graph; two passes over its own
    graph (retain_graph) accumulate, as any retained gradient."""
    layer = _layer("LSTM")
    rng = np.random.default_rng(7)
    x = rg.Tensor(rng.standard_normal((4, 2, 3)))
    out, _, gates = _call(layer, x)
    gates["f"].retain_grad()
    other, _ = _layer("GRU", seed=1)(x)
    other.sum().backward()
    assert gates["f"].grad is None
    loss = (out ** 2).sum()
    loss.backward(retain_graph=True)
    once = gates["f"].grad.data.copy()
    assert np.abs(once).max() > 0
    loss.backward()
    np.testing.assert_allclose(gates["f"].grad.data, 2 * once, rtol=1e-14)


def test_layouts_batch_first_and_unbatched():
    layer = _layer("GRU", batch_first=True)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 5, 3))  # (B, T, I)
    out, _, gates = _call(layer, rg.Tensor(x))
    gates["z"].retain_grad()
    (out ** 2).sum().backward()
    assert gates["z"].grad.shape == (1, 2, 5, 4)
    out1, _, gates1 = _call(layer, rg.Tensor(x[1]))  # unbatched (T, I)
    gates1["z"].retain_grad()
    (out1 ** 2).sum().backward()
    np.testing.assert_allclose(gates1["z"].grad.data[0], gates["z"].grad.data[0, 1], rtol=0, atol=1e-12)


def test_float32_layer():
    layer = _layer("LSTM").float()
    x = rg.Tensor(np.random.default_rng(9).standard_normal((5, 2, 3)).astype(np.float32))
    out, _, gates = _call(layer, x)
    gates["i"].retain_grad()
    (out ** 2).sum().backward()
    assert gates["i"].grad.dtype == np.float32 and np.isfinite(gates["i"].grad.data).all()


def test_create_graph_refuses():
    layer = _layer("LSTM")
    x = rg.Tensor(np.random.default_rng(10).standard_normal((3, 2, 3)))
    out, _, gates = _call(layer, x)
    gates["i"].retain_grad()
    with pytest.raises(RuntimeError, match="create_graph"):
        (out ** 2).sum().backward(create_graph=True)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_relu_activation(kind):
    rng = np.random.default_rng(11)
    layer = _layer(kind, activation="relu")
    x = rng.standard_normal((5, 3, 3))
    W = rng.standard_normal((5, 3, 4))
    gates = _retained_gate_grads(layer, x, W)
    ref = _torch_loop(layer, x, np.ones((5, 3), bool), lambda o, *_: (o * torch.tensor(W)).sum(), act="relu")
    for name in NAMES[kind]:
        np.testing.assert_allclose(gates[name].grad.data, ref[name], rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_dropout(kind):
    """Keras' recurrent dropout (a (B, H) mask on hₜ₋₁ in the recurrent product), fixed here."""
    rng = np.random.default_rng(13)
    layer = _layer(kind, recurrent_dropout=0.3)
    keep = (rng.random((3, 4)) > 0.3) / 0.7
    layer._recurrent_mask = lambda batch, dtype: keep.astype(dtype)
    x = rng.standard_normal((5, 3, 3))
    W = rng.standard_normal((5, 3, 4))
    gates = _retained_gate_grads(layer, x, W)
    ref = _torch_loop(layer, x, np.ones((5, 3), bool), lambda o, *_: (o * torch.tensor(W)).sum(),
                      recurrent_mask=keep)
    for name in NAMES[kind]:
        np.testing.assert_allclose(gates[name].grad.data, ref[name], rtol=0, atol=1e-10, err_msg=name)


def test_the_layer_exposes_its_gates():
    """The issue's call, with no help: the layer declares its gates itself
    (``layers.py`` calls ``sequence_op.expose_gates`` on the dict it returns)."""
    lstm = _layer("LSTM")
    x = rg.Tensor(np.random.default_rng(12).standard_normal((5, 2, 3)))
    out, state, gates = lstm(x, return_gates=True)
    gates["i"].retain_grad()
    (out ** 2).sum().backward()
    assert gates["i"].grad is not None and gates["i"].grad.shape == (1, 5, 2, 4)
    assert np.abs(gates["i"].grad.data).max() > 0
