"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention against
PyTorch 2.13 in float64: values, attention weights and the gradients of every input, float mask and
parameter (PyTorch's weights copied in through state_dict keys, which must be PyTorch's), for a table
of configurations; fully masked rows (zeros on the scaled_dot_product_attention path, NaN with
need_weights=True, as PyTorch); and the refusals (exception type and gist)."""

import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F
from conftest import requires_torch, torch

pytestmark = requires_torch

RNG = np.random.default_rng(7)
L, S, N, E, H = 3, 4, 2, 8, 2


def randn(*shape):
    return RNG.standard_normal(shape)


def _pair(a, requires_grad):
    """The same array as a retrograd and a torch tensor (bool arrays never require grad)."""
    grad = requires_grad and a.dtype.kind == "f"
    return rg.tensor(a, requires_grad=grad), torch.tensor(a).requires_grad_(grad)


def _close(ours, theirs, what, tol=1e-10):
    theirs = theirs.detach().numpy()
    assert tuple(ours.shape) == theirs.shape, what
    assert ours.dtype == theirs.dtype, what
    np.testing.assert_allclose(ours.data if hasattr(ours, "data") else ours, theirs, rtol=tol, atol=tol,
                               err_msg=what)


# ---------------------------------------------------------------- scaled_dot_product_attention
def _sdpa_case(qs, ks, vs, mask=None, **kw):
    return qs, ks, vs, mask, kw


BOOL_LS = RNG.random((L, S)) < 0.6
BOOL_LS[:, 0] = True  # every query sees a key
EMPTY_ROW = BOOL_LS.copy()
EMPTY_ROW[1] = False  # query 1 sees nothing: zeros, as PyTorch

SDPA_CASES = {
    "3-D": _sdpa_case((N, L, E), (N, S, E), (N, S, 5)),
    "2-D": _sdpa_case((L, E), (S, E), (S, 5)),
    "4-D heads": _sdpa_case((N, H, L, E), (N, H, S, E), (N, H, S, 5)),
    "broadcast batch": _sdpa_case((N, H, L, E), (H, S, E), (1, S, 5)),
    "bool mask (L,S)": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), BOOL_LS),
    "bool mask per batch": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), RNG.random((N, 1, S)) < 0.7),
    "float mask": _sdpa_case((N, H, L, E), (N, H, S, E), (N, H, S, 5), randn(H, L, S)),
    "float mask, -inf": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), np.where(BOOL_LS, randn(L, S), -np.inf)),
    "float32 mask": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), randn(L, S).astype(np.float32)),
    "fully masked row, bool": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), EMPTY_ROW),
    "fully masked row, float": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), np.where(EMPTY_ROW, 0.0, -np.inf)),
    "causal L<S": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), is_causal=True),
    "causal L>S": _sdpa_case((N, 5, E), (N, 2, E), (N, 2, 3), is_causal=True),
    "scale": _sdpa_case((N, L, E), (N, S, E), (N, S, 5), scale=0.3),
    "gqa": _sdpa_case((1, 4, L, E), (1, 2, S, E), (1, 2, S, 5), enable_gqa=True),
    "gqa, value heads differ": _sdpa_case((1, 4, L, E), (1, 2, S, E), (1, 4, S, 5), enable_gqa=True),
    "empty S": _sdpa_case((N, L, E), (N, 0, E), (N, 0, 5)),
}


@pytest.mark.parametrize("name", SDPA_CASES)
def test_sdpa_values_and_gradients(name):
    qs, ks, vs, mask, kw = SDPA_CASES[name]
    arrays = [randn(*qs), randn(*ks), randn(*vs)] + ([] if mask is None else [mask])
    pairs = [_pair(a, True) for a in arrays]
    ours_in, theirs_in = [p[0] for p in pairs], [p[1] for p in pairs]
    ours = F.scaled_dot_product_attention(*ours_in, **kw)
    theirs = torch.nn.functional.scaled_dot_product_attention(*theirs_in, **kw)
    _close(ours, theirs, f"{name}: output")
    w = RNG.standard_normal(ours.shape)
    (ours * rg.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        if t.requires_grad:
            _close(o.grad, t.grad, f"{name}: gradient of input {i}")


def test_sdpa_fully_masked_query_gets_zeros_and_no_nan_gradient():
    q, k, v = (rg.tensor(randn(*s), requires_grad=True) for s in ((L, E), (S, E), (S, 5)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=EMPTY_ROW)
    assert np.array_equal(out.data[1], np.zeros(5))
    out.sum().backward()
    assert np.array_equal(q.grad.data[1], np.zeros(E)) and np.isfinite(k.grad.data).all()


def test_sdpa_float32_keeps_float32():
    arrays = [randn(N, L, E).astype(np.float32), randn(N, S, E).astype(np.float32), randn(N, S, 5).astype(np.float32)]
    ours = F.scaled_dot_product_attention(*(rg.tensor(a) for a in arrays), attn_mask=BOOL_LS)
    theirs = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in arrays),
                                                              attn_mask=torch.tensor(BOOL_LS))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_dropout_drops_weights_and_rescales_the_rest():
    # value = identity: the output is the attention weights themselves
    q, k = randn(N, L, E), randn(N, S, E)
    eye = np.broadcast_to(np.eye(S), (N, S, S)).copy()
    plain = F.scaled_dot_product_attention(rg.tensor(q), rg.tensor(k), rg.tensor(eye)).data
    rg.manual_seed(0)
    dropped = F.scaled_dot_product_attention(rg.tensor(q), rg.tensor(k), rg.tensor(eye), dropout_p=0.5).data
    kept = dropped != 0
    assert kept.any() and not kept.all()
    np.testing.assert_allclose(dropped[kept], plain[kept] / 0.5, rtol=1e-12)
    everything = F.scaled_dot_product_attention(rg.tensor(q), rg.tensor(k), rg.tensor(eye), dropout_p=1.0)
    assert np.array_equal(everything.data, np.zeros_like(plain))  # PyTorch's p = 1 too


SDPA_ERRORS = {
    "1-D inputs": (lambda T: ((T(randn(E)), T(randn(E)), T(randn(E))), {}), "at least 2"),
    "dtypes differ": (lambda T: ((T(randn(L, E).astype(np.float32)), T(randn(S, E)), T(randn(S, E))), {}),
                      "same dtype"),
    "integer inputs": (lambda T: ((T(np.ones((L, E), np.int64)),) * 3, {}), None),
    "key E differs": (lambda T: ((T(randn(N, L, E)), T(randn(N, S, 3)), T(randn(N, S, 5))), {}), None),
    "value S differs": (lambda T: ((T(randn(N, L, E)), T(randn(N, S, E)), T(randn(N, 2, 5))), {}), None),
    "batch dims": (lambda T: ((T(randn(2, L, E)), T(randn(3, S, E)), T(randn(3, S, E))), {}), None),
    "causal and mask": (lambda T: ((T(randn(L, E)), T(randn(S, E)), T(randn(S, E))),
                                   {"attn_mask": T(BOOL_LS), "is_causal": True}), "Explicit attn_mask"),
    "integer mask": (lambda T: ((T(randn(L, E)), T(randn(S, E)), T(randn(S, E))),
                                {"attn_mask": T(np.ones((L, S), np.int64))}), "attn_mask dtype"),
    "float16 mask": (lambda T: ((T(randn(L, E)), T(randn(S, E)), T(randn(S, E))),
                                {"attn_mask": T(np.zeros((L, S), np.float16))}), "attn_mask dtype"),
    "mask shape": (lambda T: ((T(randn(N, L, E)), T(randn(N, S, E)), T(randn(N, S, E))),
                              {"attn_mask": T(np.ones((L, S + 1), bool))}), None),
    "mask larger than scores": (lambda T: ((T(randn(N, L, E)), T(randn(N, S, E)), T(randn(N, S, E))),
                                           {"attn_mask": T(np.ones((1, N, L, S), bool))}), None),
    "gqa heads": (lambda T: ((T(randn(1, 4, L, E)), T(randn(1, 3, S, E)), T(randn(1, 3, S, E))),
                             {"enable_gqa": True}), "Number of heads"),
    "dropout above 1": (lambda T: ((T(randn(L, E)), T(randn(S, E)), T(randn(S, E))), {"dropout_p": 2.0}),
                        "between 0 and 1"),
}


@pytest.mark.parametrize("name", SDPA_ERRORS)
def test_sdpa_refuses_what_pytorch_refuses(name):
    build, gist = SDPA_ERRORS[name]
    args, kw = build(torch.tensor)
    with pytest.raises(Exception) as theirs:
        torch.nn.functional.scaled_dot_product_attention(*args, **kw)
    args, kw = build(rg.tensor)
    with pytest.raises(type(theirs.value)) as ours:
        F.scaled_dot_product_attention(*args, **kw)
    assert "scaled_dot_product_attention" in str(ours.value)
    if gist:
        assert gist in str(theirs.value) and gist in str(ours.value)


# ---------------------------------------------------------------- MultiheadAttention
def copy_weights(theirs, ours):
    """PyTorch's parameters into ours, through state_dict keys that must be the same."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    for name, p in ours.named_parameters():
        assert p.shape == tuple(state[name].shape)


def make_mha(**kw):
    theirs = torch.nn.MultiheadAttention(E, H, **kw).double()
    ours = nn.MultiheadAttention(E, H, dtype=np.float64, **kw)
    copy_weights(theirs, ours)
    with torch.no_grad():  # non-zero biases, so that their gradients and effects are seen
        for p in theirs.parameters():
            if p.ndim == 1:
                p.copy_(torch.tensor(RNG.standard_normal(p.shape)))
    copy_weights(theirs, ours)
    return theirs, ours


def _mask(kind, batched=True, tgt_len=L):
    """A mask of ``kind`` in MultiheadAttention's convention (True = masked out), every query
    keeping at least one key."""
    shape = {"attn2": (tgt_len, S), "attn3": (N * H if batched else H, tgt_len, S), "kpm": (N, S) if batched else (S,)}
    kind_, dtype = kind.split("-")
    blocked = RNG.random(shape[kind_]) < 0.4
    blocked[..., 0] = False
    return blocked if dtype == "bool" else np.where(blocked, -np.inf, RNG.standard_normal(blocked.shape))


MHA_CASES = {
    # name: (constructor kwargs, attention kind, forward kwargs building masks, batched)
    "self": ({}, "self", {}, True),
    "cross": ({}, "cross", {}, True),
    "key is value": ({}, "kv", {}, True),
    "batch_first self": ({"batch_first": True}, "self", {}, True),
    "batch_first cross": ({"batch_first": True}, "cross", {}, True),
    "unbatched": ({}, "cross", {}, False),
    "unbatched, batch_first, per-head weights": ({"batch_first": True}, "cross", {"average_attn_weights": False},
                                                 False),
    "unbatched, 3-D mask, kpm": ({}, "cross", {"attn_mask": "attn3-bool", "key_padding_mask": "kpm-bool"}, False),
    "bool attn_mask 2-D": ({}, "self", {"attn_mask": "attn2-bool"}, True),
    "float attn_mask 3-D": ({}, "cross", {"attn_mask": "attn3-float"}, True),
    "bool key_padding_mask": ({}, "cross", {"key_padding_mask": "kpm-bool"}, True),
    "float key_padding_mask": ({}, "cross", {"key_padding_mask": "kpm-float"}, True),
    "both masks": ({}, "cross", {"attn_mask": "attn2-bool", "key_padding_mask": "kpm-bool"}, True),
    "both float masks": ({}, "cross", {"attn_mask": "attn3-float", "key_padding_mask": "kpm-float"}, True),
    "per-head weights": ({}, "cross", {"average_attn_weights": False, "attn_mask": "attn2-bool"}, True),
    "no weights": ({}, "cross", {"need_weights": False, "attn_mask": "attn2-float", "key_padding_mask": "kpm-bool"},
                   True),
    "no weights, batch_first": ({"batch_first": True}, "self", {"need_weights": False, "attn_mask": "attn3-bool"},
                                True),
    "kdim/vdim": ({"kdim": 5, "vdim": 3}, "cross", {"key_padding_mask": "kpm-bool"}, True),
    "kdim/vdim, no weights": ({"kdim": 5, "vdim": 3}, "cross", {"need_weights": False}, True),
    "add_bias_kv": ({"add_bias_kv": True}, "cross", {"attn_mask": "attn2-bool", "key_padding_mask": "kpm-bool"},
                    True),
    "add_zero_attn": ({"add_zero_attn": True}, "cross", {"attn_mask": "attn3-float", "key_padding_mask": "kpm-bool"},
                      True),
    "bias_kv and zero_attn, no weights": ({"add_bias_kv": True, "add_zero_attn": True}, "self",
                                          {"need_weights": False, "key_padding_mask": "kpm-float"}, True),
    "no bias": ({"bias": False}, "cross", {"attn_mask": "attn2-bool"}, True),
    "no bias, kdim": ({"bias": False, "kdim": 5}, "cross", {}, True),
    "dropout in eval": ({"dropout": 0.5}, "cross", {"attn_mask": "attn2-bool"}, True),
}


def _mha_inputs(kind, batched, batch_first, kw):
    shape = (lambda n, e: (N, n, e) if batch_first else (n, N, e)) if batched else (lambda n, e: (n, e))
    kdim, vdim = kw.get("kdim") or E, kw.get("vdim") or E
    q = randn(*shape(L if kind == "cross" else S, E))
    k, v = randn(*shape(S, kdim)), randn(*shape(S, vdim))
    return q, k, v


@pytest.mark.parametrize("name, training", [(name, training) for training in (False, True) for name in MHA_CASES
                                             if not (training and MHA_CASES[name][0].get("dropout"))])
def test_multihead_attention_matches_pytorch(name, training):
    """Eval and train mode (dropout 0, but for one eval case: dropout draws are not PyTorch's)."""
    ctor, kind, fwd, batched = MHA_CASES[name]
    theirs, ours = make_mha(**ctor)
    theirs.train(training), ours.train(training)
    q, k, v = _mha_inputs(kind, batched, ctor.get("batch_first", False), ctor)
    tgt_len = S if kind == "self" else L
    fwd = {key: _mask(val, batched, tgt_len) if isinstance(val, str) else val for key, val in fwd.items()}
    qo, qt = _pair(q, True)
    if kind == "self":
        ko = vo = qo
        kt = vt = qt
    elif kind == "kv":
        ko, kt = _pair(k, True)
        vo, vt = ko, kt
    else:
        (ko, kt), (vo, vt) = _pair(k, True), _pair(v, True)
    mo = {key: rg.tensor(val, requires_grad=val.dtype.kind == "f") if key != "need_weights" and
          isinstance(val, np.ndarray) else val for key, val in fwd.items()}
    mt = {key: torch.tensor(val).requires_grad_(val.dtype.kind == "f") if isinstance(val, np.ndarray) else val
          for key, val in fwd.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mismatched mask dtypes: PyTorch's deprecation warning, checked below
        out_o, w_o = ours(qo, ko, vo, **mo)
        out_t, w_t = theirs(qt, kt, vt, **mt)
    _close(out_o, out_t, f"{name}: output")
    assert (w_o is None) == (w_t is None)
    if w_o is not None:
        _close(w_o, w_t, f"{name}: attention weights")
    loss_w = [RNG.standard_normal(out_o.shape)] + ([] if w_o is None else [RNG.standard_normal(w_o.shape)])
    sum(((o * rg.tensor(w)).sum() for o, w in zip((out_o, w_o), loss_w)), rg.tensor(0.0)).backward()
    sum(((t * torch.tensor(w)).sum() for t, w in zip((out_t, w_t), loss_w)), torch.tensor(0.0)).backward()
    theirs_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        _close(p.grad, theirs_params[pname].grad, f"{name}: gradient of {pname}")
    for label, o, t in [("query", qo, qt), ("key", ko, kt), ("value", vo, vt)] + \
            [(key, mo[key], mt[key]) for key in mo if isinstance(mt[key], torch.Tensor) and mt[key].requires_grad]:
        _close(o.grad, t.grad, f"{name}: gradient of {label}")


@pytest.mark.parametrize("kw", [{}, {"kdim": 5, "vdim": 3}, {"add_bias_kv": True, "bias": False},
                                {"kdim": 5, "add_bias_kv": True, "add_zero_attn": True}])
def test_state_dict_keys_are_pytorchs(kw):
    theirs = torch.nn.MultiheadAttention(E, H, **kw)
    ours = nn.MultiheadAttention(E, H, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [tuple(v.shape) for v in
                                                                     theirs.state_dict().values()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    for attr in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "dropout", "batch_first", "add_zero_attn",
                 "_qkv_same_embed_dim"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_initialisation_follows_pytorchs_scheme():
    m = nn.MultiheadAttention(E, H, add_bias_kv=True)
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ of the packed (3E, E) weight
    assert np.abs(m.in_proj_weight.data).max() <= bound and np.abs(m.in_proj_weight.data).max() > bound / 2
    assert not m.in_proj_bias.data.any() and not m.out_proj.bias.data.any()
    assert m.bias_k.data.any() and m.bias_k.dtype == np.float32


@pytest.mark.parametrize("need_weights", [True, False])
def test_a_query_with_every_key_masked(need_weights):
    """PyTorch: NaN from the plain softmax of the need_weights path, zeros (then the output bias)
    from scaled_dot_product_attention's; retrograd gives the same on each path."""
    theirs, ours = make_mha()
    x = randn(S, N, E)
    kpm = np.zeros((N, S), bool)
    kpm[1] = True  # batch entry 1 has no key
    out_o, _ = ours(rg.tensor(x), rg.tensor(x), rg.tensor(x), key_padding_mask=kpm, need_weights=need_weights)
    out_t, _ = theirs(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)
    np.testing.assert_array_equal(np.isnan(out_o.data), np.isnan(out_t.detach().numpy()))
    assert np.isnan(out_o.data[:, 1]).all() == need_weights
    np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_is_causal_hint_uses_the_causal_mask_without_weights():
    """``is_causal=True`` with ``need_weights=False`` and no padding mask: PyTorch makes the causal
    mask itself (whatever attn_mask holds); with weights it reads attn_mask."""
    theirs, ours = make_mha()
    x = randn(S, N, E)
    not_causal = np.zeros((S, S), bool)
    for need_weights in (False, True):
        o, _ = ours(*(rg.tensor(x),) * 3, attn_mask=not_causal, is_causal=True, need_weights=need_weights)
        t, _ = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(not_causal), is_causal=True,
                      need_weights=need_weights)
        np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_float32_module_and_input():
    theirs = torch.nn.MultiheadAttention(E, H)
    ours = nn.MultiheadAttention(E, H)
    copy_weights(theirs, ours)
    x, mask = randn(L, N, E).astype(np.float32), _mask("attn2-bool")[:, :L]
    o, w = ours(*(rg.tensor(x),) * 3, attn_mask=mask)
    t, tw = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(mask))
    assert o.dtype == w.dtype == np.float32
    np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_float32_mask_on_the_scaled_dot_product_path():
    """PyTorch's scaled_dot_product_attention takes a float32 mask with float64 inputs (the path of
    need_weights=False); the need_weights path refuses it (see the refusals below)."""
    theirs, ours = make_mha()
    x, mask = randn(L, N, E), randn(L, L).astype(np.float32)
    o, _ = ours(*(rg.tensor(x),) * 3, attn_mask=mask, need_weights=False)
    t, _ = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(mask), need_weights=False)
    _close(o, t, "output")


def test_dropout_in_training_drops_attention_weights():
    rg.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5, dtype=np.float64)
    x = rg.tensor(randn(L, N, E))
    m.eval()
    _, plain = m(x, x, x, average_attn_weights=False)
    m.train()
    _, dropped = m(x, x, x, average_attn_weights=False)
    kept = dropped.data != 0
    assert kept.any() and not kept.all()
    np.testing.assert_allclose(dropped.data[kept], plain.data[kept] * 2, rtol=1e-12)


def test_mismatched_mask_dtypes_warn_as_pytorch():
    theirs, ours = make_mha()
    x = randn(L, N, E)
    am, kpm = np.zeros((L, L), bool), np.zeros((N, L))
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(am), key_padding_mask=torch.tensor(kpm))
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        ours(*(rg.tensor(x),) * 3, attn_mask=am, key_padding_mask=kpm)


def _bool(shape):
    return np.zeros(shape, bool)


MHA_ERRORS = {
    # name: (constructor kwargs, inputs (q, k, v shapes), forward kwargs, gist shared with PyTorch's message)
    "1-D query": ({}, ((E,), (E,), (E,)), {}, "query should be unbatched 2D or batched 3D"),
    "4-D query": ({}, ((1, L, N, E),) * 3, {}, "query should be unbatched 2D or batched 3D"),
    "2-D key for batched query": ({}, ((L, N, E), (S, E), (S, E)), {}, "expected `key` and `value` to be 3-D"),
    "3-D key for unbatched query": ({}, ((L, E), (S, N, E), (S, N, E)), {}, "expected `key` and `value` to be 2-D"),
    "embedding size": ({}, ((L, N, 6),) * 3, {}, "was expecting embedding dimension of 8, but got 6"),
    "key features": ({}, ((L, N, E), (S, N, 6), (S, N, 6)), {}, None),
    "key and value shapes": ({}, ((L, N, E), (S, N, E), (S + 1, N, E)), {}, "does not match value shape"),
    "batch sizes": ({}, ((L, N, E), (S, N + 1, E), (S, N + 1, E)), {}, None),
    "1-D key_padding_mask, batched": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"key_padding_mask": _bool((S,))},
                                      "expected `key_padding_mask` to be `None` or 2-D"),
    "2-D key_padding_mask, unbatched": ({}, ((L, E), (S, E), (S, E)), {"key_padding_mask": _bool((1, S))},
                                        "expected `key_padding_mask` to be `None` or 1-D"),
    "key_padding_mask length": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"key_padding_mask": _bool((N, S - 1))},
                                "Expected key_padded_mask.shape[1] to be 4, but got 3"),
    "key_padding_mask batch": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"key_padding_mask": _bool((N + 1, S))},
                               "Expected key_padded_mask.shape[0] to be 2, but got 3"),
    "integer key_padding_mask": ({}, ((L, N, E), (S, N, E), (S, N, E)),
                                 {"key_padding_mask": np.zeros((N, S), np.int64)},
                                 "only bool and floating types of key_padding_mask are supported"),
    "integer attn_mask": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": np.zeros((L, S), np.int64)},
                          "only bool and floating types of attn_mask are supported"),
    "1-D attn_mask": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": _bool((S,))},
                      "expected `attn_mask` to be `None`, 2-D or 3-D"),
    "4-D attn_mask": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": _bool((1, N * H, L, S))},
                      "expected `attn_mask` to be `None`, 2-D or 3-D"),
    "2-D attn_mask shape": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": _bool((L, L))},
                            "The shape of the 2D attn_mask is"),
    "3-D attn_mask shape": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": _bool((N, L, S))},
                            "The shape of the 3D attn_mask is"),
    "3-D attn_mask shape, unbatched": ({}, ((L, E), (S, E), (S, E)), {"attn_mask": _bool((H, L, L))},
                                       "Expected `attn_mask` shape to be (2, 3, 4)"),
    "is_causal without a mask": ({}, ((L, N, E), (S, N, E), (S, N, E)), {"is_causal": True},
                                 "Need attn_mask if specifying the is_causal hint"),
    "float32 mask with weights": ({}, ((L, N, E), (S, N, E), (S, N, E)),
                                  {"attn_mask": np.zeros((L, S), np.float32)}, None),
    "key features, kdim": ({"kdim": 5, "vdim": 3}, ((L, N, E), (S, N, 6), (S, N, 3)), {},
                           "expecting key weights shape of (8, 6)"),
    "key and value lengths, kdim": ({"kdim": 5, "vdim": 3}, ((L, N, E), (S, N, 5), (S + 1, N, 3)), {},
                                    "do not match value's"),
}


@pytest.mark.parametrize("name", MHA_ERRORS)
def test_multihead_attention_refuses_what_pytorch_refuses(name):
    ctor, shapes, fwd, gist = MHA_ERRORS[name]
    theirs, ours = make_mha(**ctor)
    arrays = [randn(*s) for s in shapes]
    with pytest.raises(Exception) as t_err:
        theirs(*(torch.tensor(a) for a in arrays), **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                                        for k, v in fwd.items()})
    with pytest.raises(type(t_err.value)) as o_err:
        ours(*(rg.tensor(a) for a in arrays), **fwd)
    if gist:
        assert gist in str(t_err.value) and gist in str(o_err.value), (str(t_err.value), str(o_err.value))


def test_input_dtype_other_than_the_modules_is_refused():
    theirs, ours = make_mha()
    x = randn(L, N, E).astype(np.float32)
    with pytest.raises(RuntimeError, match="same dtype"):
        theirs(*(torch.tensor(x),) * 3)
    with pytest.raises(RuntimeError, match="same dtype"):
        ours(*(rg.tensor(x),) * 3)


@pytest.mark.parametrize("args, error", [((0, 2), ValueError), ((8, 0), ValueError), ((-1, 2), ValueError),
                                         ((8, 3), AssertionError)])
def test_constructor_refusals(args, error):
    with pytest.raises(error):
        torch.nn.MultiheadAttention(*args)
    with pytest.raises(error, match="embed_dim"):
        nn.MultiheadAttention(*args)


def test_functional_form_with_static_keys_matches_pytorch():
    theirs, ours = make_mha()
    q, static_k, static_v = randn(L, N, E), randn(N * H, S, E // H), randn(N * H, S, E // H)
    kw = dict(training=False, need_weights=True)
    pt = [theirs.in_proj_weight, theirs.in_proj_bias, None, None, False, 0.0, theirs.out_proj.weight,
          theirs.out_proj.bias]
    po = [ours.in_proj_weight, ours.in_proj_bias, None, None, False, 0.0, ours.out_proj.weight, ours.out_proj.bias]
    t, tw = torch.nn.functional.multi_head_attention_forward(
        *(torch.tensor(q),) * 3, E, H, *pt, static_k=torch.tensor(static_k), static_v=torch.tensor(static_v), **kw)
    o, ow = F.multi_head_attention_forward(*(rg.tensor(q),) * 3, E, H, *po, static_k=static_k, static_v=static_v,
                                           **kw)
    _close(o, t, "output")
    _close(ow, tw, "weights")


def test_a_replay_recomputes_the_masks_from_new_values():
    """The boolean masks become additive ones off the tape, and the fully-masked-row fix-up is built
    from comparisons: a traced call (``autograd.replay``, what ``rg.bptt``'s compile runs) replayed
    with a new mask, one of whose rows is empty, gives what an eager call gives."""
    from retrograd.autograd.replay import Program

    mha = nn.MultiheadAttention(E, H, dtype=np.float64)
    params = list(mha.parameters())
    x, kpm = rg.tensor(randn(S, N, E), requires_grad=True), rg.tensor(np.zeros((N, S), bool))
    for need_weights in (False, True):
        program, (out,) = Program.trace(lambda: [mha(x, x, x, key_padding_mask=kpm, need_weights=need_weights)[0]],
                                        [x, kpm] + params)
        new_x, new_kpm = randn(S, N, E), RNG.random((N, S)) < 0.4
        new_kpm[0] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the NaN row of need_weights=True
            replayed = program.run([new_x, new_kpm] + [p.data for p in params])[0]
        eager = mha(*(rg.tensor(new_x),) * 3, key_padding_mask=new_kpm, need_weights=need_weights)[0].data
        np.testing.assert_array_equal(np.isnan(replayed), np.isnan(eager))
        assert np.isnan(eager[:, 0]).all() == need_weights
        np.testing.assert_allclose(replayed, eager, rtol=1e-12, atol=1e-12)
