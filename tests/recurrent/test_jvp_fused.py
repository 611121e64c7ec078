"""Forward mode through the fused recurrent ops (``LSTMLayer``, ``GRULayer``,
``RNNLayer``: ``rg.nn.LSTM``/``GRU``/``RNN``) and through ``rg.scan``.

Each jvp is held (float64) to central finite differences and to the dot-product
test ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ against ``rg.func.vjp``, with tangents on the input,
the initial state and every weight at once (``functional_call``), on plain,
packed (variable lengths) and masked batches; ``jacfwd`` (a whole basis as
leading tangent axes) equals ``jacrev``; the differentiable walk (tangents on
the tape) gives second derivatives.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd import bptt
from retrograd import func as F
from retrograd.nn.rnn_utils import pack_padded_sequence

T, B, I, H = 4, 3, 2, 3


def _leaves(tree):
    if isinstance(tree, dict):
        return _leaves(list(tree.values()))
    if isinstance(tree, (tuple, list)):
        return [leaf for part in tree for leaf in _leaves(part)]
    return [tree]


def _randn(rng, shape, scale=1.0):
    return rg.Tensor(rng.standard_normal(shape) * scale)


def _check(f, args, rng, fd=True, seed=None, atol=1e-7):
    """jvp at random tangents on every argument: == finite differences (``fd``) and
    passes the dot test against ``vjp``. ``seed`` reseeds the generator before each call
    (recurrent dropout draws its mask per call)."""
    def call(*xs):
        if seed is not None:
            rg.manual_seed(seed)
        return f(*xs)
    vs = tuple(_randn(rng, a.shape) for a in args)
    out, tan = F.jvp(call, tuple(args), vs)
    outs, tans = _leaves(out), _leaves(tan)
    if fd:
        eps = 1e-6
        plus = _leaves(call(*[rg.Tensor(a.data + eps * v.data) for a, v in zip(args, vs)]))
        minus = _leaves(call(*[rg.Tensor(a.data - eps * v.data) for a, v in zip(args, vs)]))
        for p, m, t in zip(plus, minus, tans):
            np.testing.assert_allclose(t.data, (p.data - m.data) / (2 * eps), atol=1e-6, rtol=1e-6)
    us = [rng.standard_normal(o.shape) for o in outs]
    _, vjp_fn = F.vjp(call, *args)
    gs = vjp_fn(type(out)(_rebuild(out, [rg.Tensor(u) for u in us])) if isinstance(out, (tuple, list))
                else rg.Tensor(us[0]))
    lhs = sum(float((u * t.data).sum()) for u, t in zip(us, tans))
    rhs = sum(float((g.data * v.data).sum()) for g, v in zip(gs, vs))
    assert abs(lhs - rhs) <= atol * (1 + abs(lhs)), (lhs, rhs)
    return tan


def _rebuild(tree, leaves):
    it = iter(leaves)

    def go(t):
        if isinstance(t, dict):
            return {k: go(v) for k, v in t.items()}
        if isinstance(t, (tuple, list)):
            return type(t)(go(p) for p in t)
        return next(it)
    return go(tree)


def _layer(kind, **kw):
    rg.manual_seed(0)
    cls = {"LSTM": rg.nn.LSTM, "GRU": rg.nn.GRU, "RNN": rg.nn.RNN}[kind]
    return cls(I, H, **kw).double()


def _functional(layer, kind, x_fn, state_args=1, **call_kw):
    """f(x, h0[, c0], *weights) running ``layer`` with those weights (``functional_call``)."""
    names = [n for n, _ in layer.named_parameters()]

    def f(x, *rest):
        state, weights = rest[:state_args], rest[state_args:]
        hx = (state[0], state[1]) if kind == "LSTM" else state[0]
        out, final = F.functional_call(layer, dict(zip(names, weights)), (x_fn(x), hx), call_kw)
        return (out.data if hasattr(out, "batch_sizes") else out), final
    return f, [p.detach() for _, p in layer.named_parameters()]


def _state_args(rng, kind, D=1, L=1):
    n = 2 if kind == "LSTM" else 1
    return [_randn(rng, (L * D, B, H), 0.5) for _ in range(n)]


KINDS = ["LSTM", "GRU", "RNN"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch", ["plain", "packed", "masked"])
def test_jvp_through_layer(kind, batch):
    rng = np.random.default_rng(KINDS.index(kind))
    layer = (_layer(kind, num_layers=2 if batch == "masked" else 1, bidirectional=batch == "masked"))
    D, L = (2, 2) if batch == "masked" else (1, 1)
    x = _randn(rng, (T, B, I))
    kw = {}
    if batch == "packed":
        lengths = [2, 4, 1]  # unsorted: the layer sorts, packs, and unsorts the final state

        def x_fn(x):
            return pack_padded_sequence(x, lengths, enforce_sorted=False)
    else:
        x_fn = (lambda x: x)
        if batch == "masked":  # pre-padding, a gap, post-padding
            kw["mask"] = np.array([[False, True, True], [True, False, True], [True, True, True],
                                   [True, True, False]])
    state = _state_args(rng, kind, D, L)
    f, weights = _functional(layer, kind, x_fn, len(state), **kw)
    _check(f, [x, *state, *weights], rng)


@pytest.mark.parametrize("kind", KINDS)
def test_jvp_relu_ties_and_recurrent_dropout(kind):
    """relu at exact ties (x = 0, h₀ = 0, zero biases: every pre-activation of the first
    steps is 0) under the "split" policy passes the dot test: the jvp takes the vjp's slope; recurrent dropout's mask
    (drawn per call, so the generator is reseeded) enters ḣₜ₋₁ as it enters hₜ₋₁."""
    rng = np.random.default_rng(7)
    act = {"nonlinearity": "relu"} if kind == "RNN" else {"activation": "relu"}
    layer = (_layer(kind, recurrent_dropout=0.4, **act))
    layer.train()
    for name, p in layer.named_parameters():
        if name.startswith("bias"):
            p.data[...] = 0.0
    x = rg.Tensor(np.zeros((T, B, I)))
    x.data[2:] = rng.standard_normal((T - 2, B, I))
    state = [rg.Tensor(np.zeros((1, B, H))) for _ in range(2 if kind == "LSTM" else 1)]
    f, weights = _functional(layer, kind, lambda x: x, len(state))

    def split(*args):  # relu′(0) = ½: a tie the jvp must take as the vjp does
        with rg.conventions.policy("split"):
            return f(*args)
    _check(split, [x, *state, *weights], rng, fd=False, seed=3)  # no finite differences across a kink


@pytest.mark.parametrize("kind", KINDS)
def test_jacfwd_equals_jacrev(kind):
    """jacfwd pushes a whole basis as one leading tangent axis through the fused loop."""
    rng = np.random.default_rng(11)
    layer = (_layer(kind))
    w_hh = layer.weight_hh_l0.detach()
    names = [n for n, _ in layer.named_parameters()]
    others = {n: p.detach() for n, p in layer.named_parameters() if n != "weight_hh_l0"}
    x, mask = _randn(rng, (3, 2, I)), np.array([[True, True], [True, False], [False, True]])
    h0 = _randn(rng, (1, 2, H))
    hx = (h0, _randn(rng, (1, 2, H))) if kind == "LSTM" else h0

    def f(x, h, w):
        hx_ = (h, hx[1]) if kind == "LSTM" else h
        out, final = F.functional_call(layer, {**others, "weight_hh_l0": w}, (x, hx_), {"mask": mask})
        return out, final[0] if kind == "LSTM" else final
    assert set(names) == set(others) | {"weight_hh_l0"}
    fwd = F.jacfwd(f, argnums=(0, 1, 2))(x, h0, w_hh)
    rev = F.jacrev(f, argnums=(0, 1, 2))(x, h0, w_hh)
    for a, b in zip(_leaves(fwd), _leaves(rev)):
        np.testing.assert_allclose(a.data, b.data, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_gates_outputs_and_second_order(kind):
    """The gates outputs (return_gates) get tangents; the differentiable walk (a tangent
    on the tape) gives Jᵀu by a backward pass through the tangent, and forward over
    forward (jacfwd of jacfwd) equals reverse over reverse."""
    rng = np.random.default_rng(5)
    layer = (_layer(kind))
    x = _randn(rng, (3, 2, I))
    gates = kind != "RNN"

    def f(x):
        r = layer(x, return_gates=True) if gates else layer(x)
        return (r[0], r[2]) if gates else r[0]
    if gates:
        _check(f, [x], rng)
    g = (lambda x: f(x)[0]) if gates else f
    v = rg.Tensor(rng.standard_normal(x.shape), requires_grad=True)
    _, tan = F.jvp(g, (x,), (v,))
    u = rng.standard_normal(tan.shape)
    (tan * rg.Tensor(u)).sum().backward()
    _, vjp_fn = F.vjp(g, x)
    np.testing.assert_allclose(v.grad.data if hasattr(v.grad, "data") else v.grad,
                               vjp_fn(rg.Tensor(u))[0].data, atol=1e-12)

    def scalar(x):
        return (g(x) ** 2).sum()
    x_small = x[:2, :1]
    ff = F.jacfwd(F.jacfwd(scalar))(x_small)
    rr = F.jacrev(F.jacrev(scalar))(x_small)
    np.testing.assert_allclose(ff.data, rr.data, atol=1e-10)
    np.testing.assert_allclose(F.hessian(scalar)(x_small).data, rr.data, atol=1e-10)


# ---------------------------------------------------------------- rg.scan
SCAN_MODES = [bptt.full(), bptt.full(checkpoint_every=2), bptt.full(snapshots=2), bptt.full(memory_budget=10 ** 6),
              bptt.window(2), bptt.williams_peng(1, 3), bptt.chunk(2)]


def _scan_fn(mode, dropout=False):
    def f(xs, h0, W, U):
        xs2 = xs * 1.5 + 0.1          # the loop reads a tensor computed before it
        W2 = W * 2.0                  # and captures one

        def step(carry, x):
            h, s = carry
            h = rg.tanh(x @ W2 + h @ U)
            if dropout:
                h = rg.nn.functional.dropout(h, 0.3, True)
            return (h, s + h), h.sum(-1)
        (h, s), ys = rg.scan(step, (h0, h0 * 0.5), xs2, mode)
        return ys, h, s
    return f


def _scan_args(rng):
    return [_randn(rng, (5, 2, I)), _randn(rng, (2, H)), _randn(rng, (I, H), 0.6), _randn(rng, (H, H), 0.6)]


@pytest.mark.parametrize("mode", SCAN_MODES, ids=str)
def test_scan_jvp(mode):
    """The truncated modes' jvp is the transpose of their (truncated) vjp: the dot test;
    the exact ones (full, checkpointed or not) also match finite differences."""
    rng = np.random.default_rng(2)
    exact = isinstance(mode, bptt.Full)
    _check(_scan_fn(mode, dropout=exact), _scan_args(rng), rng, fd=exact, seed=4)


@pytest.mark.parametrize("mode", [bptt.full(snapshots=2), bptt.window(2)], ids=str)
def test_scan_jacfwd_and_differentiable_walk(mode):
    rng = np.random.default_rng(9)
    f = _scan_fn(mode)
    args = _scan_args(rng)
    fwd = F.jacfwd(f, argnums=(0, 1, 3))(*args)
    rev = F.jacrev(f, argnums=(0, 1, 3))(*args)
    for a, b in zip(_leaves(fwd), _leaves(rev)):
        np.testing.assert_allclose(a.data, b.data, atol=1e-12)
    # tangents on the tape: a backward pass through them gives Jᵀu
    vs = tuple(rg.Tensor(rng.standard_normal(a.shape), requires_grad=True) for a in args)
    out, tan = F.jvp(f, tuple(args), vs)
    us = [rng.standard_normal(o.shape) for o in out]
    sum((t * rg.Tensor(u)).sum() for t, u in zip(tan, us)).backward()
    _, vjp_fn = F.vjp(f, *args)
    for v, g in zip(vs, vjp_fn(tuple(rg.Tensor(u) for u in us))):
        np.testing.assert_allclose(v.grad.data if hasattr(v.grad, "data") else v.grad, g.data, atol=1e-12)


def test_scan_jvp_leaves_the_backward_pass_intact():
    """A forward-mode push through a recorded checkpointed scan reruns the steps apart:
    the op's own backward pass afterwards (and the generator's state) are unchanged."""
    from retrograd.autograd.forward import push_tangents, seed_key
    from retrograd.autograd.mode import next_seq
    rng = np.random.default_rng(1)
    args = _scan_args(rng)
    f = _scan_fn(bptt.full(checkpoint_every=2), dropout=True)
    ps = [rg.Tensor(a.data, requires_grad=True) for a in args]
    rg.manual_seed(4)
    start = next_seq()
    ys, h, s = f(*ps)
    state = rg.random.get_rng_state()
    v = rng.standard_normal(args[3].shape)
    (t_ys,) = push_tangents([ys], {seed_key(ps[3]): v}, start_seq=start)
    assert rg.random.get_rng_state() == state
    (ys * rg.Tensor(np.ones(ys.shape))).sum().backward()
    ref = [rg.Tensor(a.data, requires_grad=True) for a in args]
    rg.manual_seed(4)
    f(*ref)[0].sum().backward()
    for p, r in zip(ps, ref):
        np.testing.assert_allclose(p.grad.data if hasattr(p.grad, "data") else p.grad,
                                   r.grad.data if hasattr(r.grad, "data") else r.grad, atol=1e-12)
    assert abs(float(t_ys.sum()) - float((ps[3].grad.data if hasattr(ps[3].grad, "data") else ps[3].grad).ravel()
                                          @ v.ravel())) < 1e-10
