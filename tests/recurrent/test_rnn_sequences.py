"""Sequence layers on variable-length batches: packed input, bidirectional
layers and Keras-style step masks.

* ``rg.nn.RNN/LSTM/GRU`` on a ``PackedSequence`` and/or ``bidirectional=True``
  against PyTorch in float64: the output (a ``PackedSequence`` with the same
  bookkeeping), h_n (and c_n) in the caller's order, and the gradients of the
  padded input, h0 (c0) and every parameter.
* ``layer(x, hx, mask=m)`` (no PyTorch counterpart) against a brute-force
  reference built from the composed cells: at a masked step the state is
  carried unchanged and the output is zero; the reverse direction visits each
  row's real steps backwards in time.
"""

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch, torch  # torch is None without PyTorch: those tests are then skipped
from retrograd import nn

R = rg.nn.utils.rnn
KINDS = ["RNN_tanh", "RNN_relu", "LSTM", "GRU"]
I, H = 3, 4
TOL = dict(rtol=1e-10, atol=1e-12)


def _name_kwargs(kind):
    name = kind.split("_")[0]
    return name, ({"nonlinearity": kind.split("_")[1]} if name == "RNN" else {})


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def _weighted(tensors, weights, lib):
    """Σ ⟨tᵢ, wᵢ⟩: a loss that reaches every entry of every output with a fixed random weight."""
    wrap = rg.tensor if lib is rg else torch.from_numpy
    return sum((t * wrap(w)).sum() for t, w in zip(tensors, weights))


def _np(t):
    return t.detach().numpy() if torch is not None and isinstance(t, torch.Tensor) else np.asarray(t.data)


# --------------------------------------------------------------------------- PyTorch comparisons

def _torch_pair(kind, num_layers, bidirectional, batch_first, seed=0):
    """A PyTorch layer in float64 and ours with its weights."""
    name, kwargs = _name_kwargs(kind)
    torch.manual_seed(seed)
    tl = getattr(torch.nn, name)(I, H, num_layers=num_layers, batch_first=batch_first,
                                 bidirectional=bidirectional, dtype=torch.float64, **kwargs)
    rl = getattr(nn, name)(I, H, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional,
                           **kwargs).double()
    rl.load_state_dict(tl.state_dict())
    return name, tl, rl


def _initial_state(name, rng, num_layers, bidirectional, B):
    """h0 (and c0) of shape (num_layers·D, B, H), as (ours, PyTorch's) leaves requiring grad."""
    D = 2 if bidirectional else 1
    arrays = [rng.standard_normal((num_layers * D, B, H)) for _ in range(2 if name == "LSTM" else 1)]
    ours = [rg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    pack = (lambda p: tuple(p)) if name == "LSTM" else (lambda p: p[0])
    return ours, theirs, pack(ours), pack(theirs)


def _compare_gradients(rl, tl, ours, theirs):
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.grad is not None, f"leaf {k} got no gradient"
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **TOL, err_msg=f"leaf {k}")
    tp = dict(tl.named_parameters())
    assert {n for n, _ in rl.named_parameters()} == set(tp)  # the order: its own test below
    for n, p in rl.named_parameters():
        assert p.grad is not None, f"{n} got no gradient"
        np.testing.assert_allclose(p.grad.data, tp[n].grad.numpy(), **TOL, err_msg=n)


def _same_indices(ours, theirs):
    if theirs is None:
        assert ours is None
    else:
        np.testing.assert_array_equal(np.asarray(ours.data), theirs.numpy())


# Eight configurations in which every pair of the five switches takes all four value
# combinations (an L8 orthogonal array): (num_layers, bidirectional, enforce_sorted, batch_first, given h0).
PACKED_CONFIGS = [(1 + a, bool(b), bool(c), bool(a ^ b), bool(a ^ c))
                  for a in (0, 1) for b in (0, 1) for c in (0, 1)]
SORTED_LENGTHS = [5, 3, 3, 1]    # decreasing, with a tie and a length-1 sequence
UNSORTED_LENGTHS = [2, 5, 1, 4]  # no ties: the sorting permutation is unique


@requires_torch
@pytest.mark.parametrize("num_layers, bidirectional, enforce_sorted, batch_first, with_h0", PACKED_CONFIGS)
@pytest.mark.parametrize("kind", KINDS)
def test_packed_input_matches_torch(kind, num_layers, bidirectional, enforce_sorted, batch_first, with_h0):
    rng = np.random.default_rng(11)
    name, tl, rl = _torch_pair(kind, num_layers, bidirectional, batch_first, seed=1)
    lengths = SORTED_LENGTHS if enforce_sorted else UNSORTED_LENGTHS
    T, B, D = max(lengths), len(lengths), 2 if bidirectional else 1
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    xr, xt = rg.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    pr = R.pack_padded_sequence(xr, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    leaves_r, leaves_t = [xr], [xt]
    if with_h0:
        s_r, s_t, hx_r, hx_t = _initial_state(name, rng, num_layers, bidirectional, B)
        leaves_r += s_r
        leaves_t += s_t
        out_r, fin_r = rl(pr, hx_r)
        out_t, fin_t = tl(pt, hx_t)
    else:
        out_r, fin_r = rl(pr)
        out_t, fin_t = tl(pt)

    assert isinstance(out_r, R.PackedSequence)
    np.testing.assert_array_equal(np.asarray(out_r.batch_sizes.data), out_t.batch_sizes.numpy())
    _same_indices(out_r.sorted_indices, out_t.sorted_indices)
    _same_indices(out_r.unsorted_indices, out_t.unsorted_indices)
    assert tuple(out_r.data.shape) == tuple(out_t.data.shape) == (sum(lengths), D * H)
    np.testing.assert_allclose(out_r.data.data, _np(out_t.data), **TOL)
    fin_r, fin_t = _flat(fin_r), (list(fin_t) if name == "LSTM" else [fin_t])
    for a, b in zip(fin_r, fin_t):  # h_n (c_n) in the caller's batch order
        assert tuple(a.shape) == tuple(b.shape) == (num_layers * D, B, H)
        np.testing.assert_allclose(a.data, _np(b), **TOL)

    pad_r, len_r = R.pad_packed_sequence(out_r, batch_first=batch_first)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first)
    np.testing.assert_array_equal(np.asarray(len_r.data), len_t.numpy())
    np.testing.assert_allclose(pad_r.data, _np(pad_t), **TOL)
    weights = [rng.standard_normal(tuple(pad_t.shape))] + [rng.standard_normal(tuple(f.shape)) for f in fin_t]
    _weighted([pad_r] + fin_r, weights, rg).backward()
    _weighted([pad_t] + fin_t, weights, torch).backward()
    _compare_gradients(rl, tl, leaves_r, leaves_t)


@requires_torch
@pytest.mark.parametrize("num_layers, batch_first, with_h0", [(1, False, True), (2, True, False)])
@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_tensor_input_matches_torch(kind, num_layers, batch_first, with_h0):
    rng = np.random.default_rng(12)
    name, tl, rl = _torch_pair(kind, num_layers, True, batch_first, seed=2)
    T, B = 5, 3
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    xr, xt = rg.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    leaves_r, leaves_t = [xr], [xt]
    if with_h0:
        s_r, s_t, hx_r, hx_t = _initial_state(name, rng, num_layers, True, B)
        leaves_r += s_r
        leaves_t += s_t
        out_r, fin_r = rl(xr, hx_r)
        out_t, fin_t = tl(xt, hx_t)
    else:
        out_r, fin_r = rl(xr)
        out_t, fin_t = tl(xt)
    assert tuple(out_r.shape) == tuple(out_t.shape) == ((B, T, 2 * H) if batch_first else (T, B, 2 * H))
    np.testing.assert_allclose(out_r.data, _np(out_t), **TOL)
    fin_r, fin_t = _flat(fin_r), (list(fin_t) if name == "LSTM" else [fin_t])
    for a, b in zip(fin_r, fin_t):
        assert tuple(a.shape) == tuple(b.shape) == (2 * num_layers, B, H)
        np.testing.assert_allclose(a.data, _np(b), **TOL)
    weights = [rng.standard_normal(tuple(out_t.shape))] + [rng.standard_normal(tuple(f.shape)) for f in fin_t]
    _weighted([out_r] + fin_r, weights, rg).backward()
    _weighted([out_t] + fin_t, weights, torch).backward()
    _compare_gradients(rl, tl, leaves_r, leaves_t)


@requires_torch
def test_bidirectional_parameter_names_and_shapes_follow_torch():
    for kind in ["RNN_tanh", "LSTM", "GRU"]:
        name, tl, rl = _torch_pair(kind, 2, True, False)
        assert [(n, tuple(p.shape)) for n, p in rl.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in tl.named_parameters()], kind
        assert "weight_ih_l1_reverse" in dict(rl.named_parameters())


@requires_torch
@pytest.mark.parametrize("padding_idx", [1, -1])
def test_embedding_padding_row_gets_no_gradient_like_torch(padding_idx):
    rng = np.random.default_rng(13)
    te = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=torch.float64)
    re = nn.Embedding(6, 3, padding_idx=padding_idx).double()
    re.load_state_dict(te.state_dict())
    pad = padding_idx % 6
    idx = np.array([[0, pad, 2], [pad, 5, 2], [3, pad, pad]])
    w = rng.standard_normal((3, 3, 3))
    out_r, out_t = re(idx), te(torch.from_numpy(idx))
    np.testing.assert_allclose(out_r.data, _np(out_t), **TOL)
    (out_r * rg.tensor(w)).sum().backward()
    (out_t * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(re.weight.grad.data, te.weight.grad.numpy(), **TOL)
    assert np.all(re.weight.grad.data[pad] == 0)


# --------------------------------------------------------------------------- masks (Keras semantics)

def _cell_for(layer, kind, input_size, suffix):
    """A composed cell sharing the layer's parameters of one layer and direction (so gradients
    taken through the cell land on the layer's parameters)."""
    name, kwargs = _name_kwargs(kind)
    cell = getattr(nn, name + "Cell")(input_size, layer.hidden_size, **kwargs).double()
    for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        cell._parameters[n] = cell.__dict__[n] = getattr(layer, n + suffix)
    return cell


def _masked_reference(layer, kind, x, mask, state):
    """The masked layer unrolled by hand: x (T, B, I) time-major, mask (T, B) bool ndarray,
    state a list of (L·D, B, H) tensors (h or h, c) or None. At each step t a row whose mask is
    False keeps its state (``where``) and outputs zero; the reverse direction runs t = T−1 … 0."""
    name = kind.split("_")[0]
    T, B = mask.shape
    L, D = layer.num_layers, (2 if layer.bidirectional else 1)
    if state is None:
        state = [rg.tensor(np.zeros((L * D, B, H))) for _ in range(2 if name == "LSTM" else 1)]
    zeros = rg.tensor(np.zeros((B, H)))
    inp, finals = x, [[] for _ in state]
    for l in range(L):
        outs_by_dir = []
        for d in range(D):
            cell = _cell_for(layer, kind, inp.shape[2], f"_l{l}" + ("_reverse" if d else ""))
            s = [p[l * D + d] for p in state]
            outs = [None] * T
            for t in (range(T) if d == 0 else reversed(range(T))):
                m = rg.tensor(mask[t][:, None])
                new = _flat(cell(inp[t], tuple(s) if name == "LSTM" else s[0]))
                s = [rg.where(m, n_, o_) for n_, o_ in zip(new, s)]
                outs[t] = rg.where(m, s[0], zeros)
            outs_by_dir.append(rg.stack(outs))
            for store, f in zip(finals, s):
                store.append(f)
        inp = outs_by_dir[0] if D == 1 else rg.concatenate(outs_by_dir, axis=-1)
    return inp, [rg.stack(f) for f in finals]


def _mask(pattern, T=6, B=4):
    """(T, B) boolean masks: post-padding, pre-padding, or gaps with an all-False row."""
    t = np.arange(T)[:, None]
    if pattern == "post":
        return t < np.array([6, 4, 2, 1])[None, :]
    if pattern == "pre":
        return t >= T - np.array([6, 3, 5, 1])[None, :]
    rows = np.array([[1, 0, 1, 1, 0, 1],   # gaps in the middle
                     [0, 0, 0, 0, 0, 0],   # no real step: h_n = h0
                     [1, 1, 0, 0, 1, 1],
                     [0, 1, 1, 0, 1, 0]], dtype=bool)
    return rows.T.copy()


MASK_KINDS = ["RNN_tanh", "LSTM", "GRU"]  # relu differs from tanh only inside the cell, covered above

# (mask pattern, num_layers, bidirectional, batch_first, given h0, mask as Tensor)
MASK_CASES = [
    ("post", 1, False, False, True, True),
    ("pre", 2, False, True, False, False),
    ("gaps", 1, True, False, True, False),
    ("gaps", 2, True, True, True, True),
    ("post", 2, True, False, False, False),
]


@pytest.mark.parametrize("pattern, num_layers, bidirectional, batch_first, with_h0, as_tensor", MASK_CASES)
@pytest.mark.parametrize("kind", MASK_KINDS)
def test_mask_matches_cell_reference(kind, pattern, num_layers, bidirectional, batch_first, with_h0, as_tensor):
    rng = np.random.default_rng(21)
    name, kwargs = _name_kwargs(kind)
    rg.manual_seed(3)
    layer = getattr(nn, name)(I, H, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional,
                              **kwargs).double()
    mask_tm = _mask(pattern)  # (T, B)
    T, B = mask_tm.shape
    D = 2 if bidirectional else 1
    x_tm = rng.standard_normal((T, B, I))
    x_arr = x_tm.transpose(1, 0, 2).copy() if batch_first else x_tm
    m_arr = mask_tm.T.copy() if batch_first else mask_tm
    x = rg.tensor(x_arr, requires_grad=True)
    state = ([rg.tensor(rng.standard_normal((num_layers * D, B, H)), requires_grad=True)
              for _ in range(2 if name == "LSTM" else 1)] if with_h0 else None)
    hx = None if state is None else (tuple(state) if name == "LSTM" else state[0])
    out, fin = layer(x, hx, mask=rg.tensor(m_arr) if as_tensor else m_arr)
    fin = _flat(fin)
    x_ref = rg.swapaxes(x, 0, 1) if batch_first else x
    ref_out, ref_fin = _masked_reference(layer, kind, x_ref, mask_tm, state)
    if batch_first:
        ref_out = rg.swapaxes(ref_out, 0, 1)

    assert tuple(out.shape) == tuple(ref_out.shape) == tuple(x_arr.shape[:2]) + (D * H,)
    np.testing.assert_allclose(out.data, ref_out.data, **TOL)
    assert np.all(out.data[~m_arr] == 0), "output at a masked step must be exactly zero"
    assert len(fin) == len(ref_fin)
    for a, b in zip(fin, ref_fin):
        assert tuple(a.shape) == (num_layers * D, B, H)
        np.testing.assert_allclose(a.data, b.data, **TOL)
    silent = ~mask_tm.any(axis=0)  # rows without a real step keep h0 (zeros when none is given)
    for k, a in enumerate(fin):
        h0 = state[k].data if state is not None else np.zeros((num_layers * D, B, H))
        np.testing.assert_array_equal(a.data[:, silent], h0[:, silent])

    weights = [rng.standard_normal(out.shape)] + [rng.standard_normal(f.shape) for f in fin]
    wrt = [x] + (state or []) + list(layer.parameters())
    g = rg.grad(_weighted([out] + fin, weights, rg), wrt)
    g_ref = rg.grad(_weighted([ref_out] + ref_fin, weights, rg), wrt)
    labels = ["x"] + [f"state{k}" for k in range(len(state or []))] + [n for n, _ in layer.named_parameters()]
    for label, a, b in zip(labels, g, g_ref):
        np.testing.assert_allclose(a.data, b.data, **TOL, err_msg=label)


@requires_torch
@pytest.mark.parametrize("kind", KINDS)
def test_post_padding_mask_equals_torch_packed(kind):
    """A post-padding mask is packing by another name: the masked layer's output equals
    PyTorch's re-padded packed output (zeros after each end) and h_n (c_n) its final state,
    in value and in the gradients of x, h0 and the parameters."""
    rng = np.random.default_rng(24)
    name, tl, rl = _torch_pair(kind, 2, True, True, seed=4)
    lengths = [2, 5, 1, 4]
    B, T = len(lengths), max(lengths)
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]  # (B, T): batch_first
    x = rng.standard_normal((B, T, I))
    xr, xt = rg.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    s_r, s_t, hx_r, hx_t = _initial_state(name, rng, 2, True, B)
    out_r, fin_r = rl(xr, hx_r, mask=mask)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
    out_t, fin_t = tl(packed, hx_t)
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True)
    np.testing.assert_allclose(out_r.data, _np(out_t), **TOL)
    fin_r, fin_t = _flat(fin_r), (list(fin_t) if name == "LSTM" else [fin_t])
    for a, b in zip(fin_r, fin_t):
        np.testing.assert_allclose(a.data, _np(b), **TOL)
    weights = [rng.standard_normal(tuple(out_t.shape))] + [rng.standard_normal(tuple(f.shape)) for f in fin_t]
    _weighted([out_r] + fin_r, weights, rg).backward()
    _weighted([out_t] + fin_t, weights, torch).backward()
    _compare_gradients(rl, tl, [xr] + s_r, [xt] + s_t)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_all_true_mask_equals_no_mask(kind):
    rng = np.random.default_rng(22)
    name, kwargs = _name_kwargs(kind)
    layer = getattr(nn, name)(I, H, num_layers=2, bidirectional=True, **kwargs).double()
    x = rg.tensor(rng.standard_normal((5, 3, I)))
    out_m, fin_m = layer(x, mask=np.ones((5, 3), dtype=bool))
    out_n, fin_n = layer(x)
    np.testing.assert_allclose(out_m.data, out_n.data, **TOL)
    for a, b in zip(_flat(fin_m), _flat(fin_n)):
        np.testing.assert_allclose(a.data, b.data, **TOL)


def test_mask_with_packed_input_is_refused():
    layer = nn.LSTM(I, H).double()
    x = rg.tensor(np.random.default_rng(23).standard_normal((4, 2, I)))
    packed = R.pack_padded_sequence(x, [4, 2])
    with pytest.raises(rg.OpError, match="mask"):
        layer(packed, mask=np.ones((4, 2), dtype=bool))


@pytest.mark.parametrize("batch_first", [False, True])
def test_mask_of_wrong_shape_is_refused_with_the_shapes(batch_first):
    layer = nn.GRU(I, H, batch_first=batch_first).double()
    T, B = 6, 4
    x = rg.tensor(np.zeros((B, T, I) if batch_first else (T, B, I)))
    wrong = np.ones((T, B) if batch_first else (B, T), dtype=bool)  # the other layout
    with pytest.raises(rg.OpError) as info:
        layer(x, mask=wrong)
    assert "mask" in str(info.value) and str(wrong.shape) in str(info.value), str(info.value)
    with pytest.raises(rg.OpError) as info:
        layer(x, mask=np.ones((T, B, 1), dtype=bool))
    assert "mask" in str(info.value) and str((T, B, 1)) in str(info.value), str(info.value)


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_mask_of_non_bool_dtype_is_refused(dtype):
    layer = nn.LSTM(I, H).double()
    x = rg.tensor(np.zeros((6, 4, I)))
    with pytest.raises(rg.OpError) as info:
        layer(x, mask=np.ones((6, 4), dtype=dtype))
    assert "mask" in str(info.value) and "bool" in str(info.value), str(info.value)
    with pytest.raises(rg.OpError):
        layer(x, mask=rg.tensor(np.ones((6, 4), dtype=dtype)))
