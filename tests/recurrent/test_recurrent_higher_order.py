"""Second derivatives through the fused recurrent layers.

Under ``create_graph=True`` a fused op records its backward from the cells'
equations (``vjp_differentiable``), so Hessian-vector products flow through
``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``: checked against finite differences
(``gradgradcheck``, float64), against the same layer unrolled as composed
cells, and against PyTorch where it is installed.
"""

import numpy as np
import pytest

import retrograd as rg
from conftest import torch  # None without PyTorch: the test marked ``torch`` is then skipped
from retrograd import nn
from retrograd.recurrent import cells

KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]


def _layer(kind, I, H, layers):
    name = kind.split("_")[0]
    kwargs = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
    return getattr(nn, name)(I, H, num_layers=layers, **kwargs).double(), name


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def _unrolled(layer, name, x, state):
    """The layer as composed cells, step by step (outputs, flat final state)."""
    parts = _flat(state)
    finals = [[] for _ in parts]
    h = x
    for l in range(layer.num_layers):
        w = [getattr(layer, f"{n}_l{l}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        s = [p[l] for p in parts]
        outs = []
        for t in range(h.shape[0]):
            if name == "LSTM":
                s, _ = cells.lstm_update(h[t], s[0], s[1], *w)
                s = list(s)
            elif name == "GRU":
                s = [cells.gru_update(h[t], s[0], *w)[0]]
            else:
                s = [cells.rnn_update(h[t], s[0], *w, nonlinearity=layer.nonlinearity)[0]]
            outs.append(s[0])
        h = rg.stack(outs)
        for store, final in zip(finals, s):
            store.append(final)
    return h, [rg.stack(f) for f in finals]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_fused_layer_gradgradcheck(kind, layers):
    rng = np.random.default_rng(20 + layers)
    T, B, I, H = 3, 2, 2, 2
    layer, name = _layer(kind, I, H, layers)
    names = [n for n, _ in layer.named_parameters()]
    n_state = 2 if name == "LSTM" else 1
    state = [rng.standard_normal((layers, B, H)) for _ in range(n_state)]

    def f(x_, *rest):
        st, ps = rest[:n_state], rest[n_state:]
        out, fin = nn.utils.functional_call(layer, dict(zip(names, ps)), x_,
                                            tuple(st) if name == "LSTM" else st[0])
        return rg.concatenate([rg.reshape(t, (-1,)) for t in [out] + _flat(fin)])

    args = [rng.standard_normal((T, B, I))] + state + [p.data for p in layer.parameters()]
    report = rg.gradgradcheck(f, args)
    assert report.ok, str(report)


def _hvp(loss_of, wrt, vs):
    """(∇²L)·v by double backward: ∇ₚ⟨∇ₚL, v⟩."""
    gs = rg.grad(loss_of(), wrt, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gs, vs))
    return rg.grad(dot, wrt, allow_unused=True)


@pytest.mark.parametrize("kind", KINDS)
def test_hessian_vector_product_equals_composed_cells(kind):
    rng = np.random.default_rng(30)
    T, B, I, H, L = 4, 3, 3, 4, 2
    layer, name = _layer(kind, I, H, L)
    x = rg.tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    state = tuple(rg.tensor(rng.standard_normal((L, B, H)), requires_grad=True)
                  for _ in range(2 if name == "LSTM" else 1))
    wo = rg.tensor(rng.standard_normal((T, B, H)))
    wrt = [x, *state, *layer.parameters()]
    vs = [rg.tensor(rng.standard_normal(t.shape)) for t in wrt]

    def fused_loss():
        out, fin = layer(x, state if name == "LSTM" else state[0])
        return (rg.tanh(out) * wo).sum() + sum((s ** 2).sum() for s in _flat(fin))

    def composed_loss():
        out, fin = _unrolled(layer, name, x, state if name == "LSTM" else state[0])
        return (rg.tanh(out) * wo).sum() + sum((s ** 2).sum() for s in fin)

    for a, b in zip(_hvp(fused_loss, wrt, vs), _hvp(composed_loss, wrt, vs)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)


def test_create_graph_leaves_the_graph_before_the_layer_alone():
    """The nested pass that differentiates the recomputed layer stops at the
    layer's inputs: a hook upstream of it runs once per pass, as it would
    without the fused op."""
    rng = np.random.default_rng(31)
    layer = nn.LSTM(3, 4, num_layers=2).double()
    x0 = rg.tensor(rng.standard_normal((5, 2, 3)), requires_grad=True)
    calls = []
    x = x0 * 2.0
    x.register_hook(lambda g: calls.append(g.shape))
    out, _ = layer(x)
    gs = rg.grad((out ** 2).sum(), [x0] + list(layer.parameters()), create_graph=True)
    assert calls == [(5, 2, 3)]
    # and the gradient is still a differentiable function of the parameters
    second = rg.grad(sum((g ** 2).sum() for g in gs), list(layer.parameters()))
    assert all(s is not None and np.isfinite(s.data).all() for s in second)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_hessian_vector_product_matches_torch(kind):
    rng = np.random.default_rng(32)
    T, B, I, H, L = 4, 2, 3, 3, 2
    tl = getattr(torch.nn, kind)(I, H, num_layers=L).double()
    rl = getattr(nn, kind)(I, H, num_layers=L).double()
    rl.load_state_dict(tl.state_dict())
    x = rng.standard_normal((T, B, I))
    w = rng.standard_normal((T, B, H))
    vs = {n: rng.standard_normal(p.shape) for n, p in rl.named_parameters()}

    out, _ = rl(rg.tensor(x))
    ps = list(rl.parameters())
    gs = rg.grad((rg.tanh(out) * rg.tensor(w)).sum(), ps, create_graph=True)
    hv = rg.grad(sum((g * rg.tensor(vs[n])).sum() for g, (n, _) in zip(gs, rl.named_parameters())), ps)

    tout, _ = tl(torch.from_numpy(x))
    tps = list(tl.parameters())
    tgs = torch.autograd.grad((torch.tanh(tout) * torch.from_numpy(w)).sum(), tps, create_graph=True)
    thv = torch.autograd.grad(sum((g * torch.from_numpy(vs[n])).sum()
                                  for g, (n, _) in zip(tgs, tl.named_parameters())), tps)
    for (n, _), a, b in zip(rl.named_parameters(), hv, thv):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-8, atol=1e-11, err_msg=n)
