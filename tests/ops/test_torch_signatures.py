"""PyTorch code runs unchanged: PyTorch's keywords and names get PyTorch's semantics.

NumPy's keywords (``axis``, ``keepdims``, ``ddof``, ``rg.split(x, k)``,
``rg.pad(x, pad_width)``) keep NumPy's meaning; PyTorch's (``dim``, ``keepdim``,
``unbiased``, ``correction``, ``dtype``, ``Tensor.split``, ``F.pad``…) are
compared here with torch itself in float64: values, gradients, dtypes and
return types. Each case runs the same lambda body on a retrograd module and on
torch where the names agree.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
import retrograd.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _torch_dtype(dtype):
    return torch.empty(0, dtype=dtype).numpy().dtype


def _flatten(out):
    """Tensors of a result (a tensor, a tuple, a named pair) in order."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return [out]


def compare(rg_fn, torch_fn, *shapes, seed=0, grad=True, atol=1e-10):
    """Run both on the same float64 inputs; assert equal values, dtypes, shapes,
    and equal gradients for a random upstream gradient on every float output."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    xr = [rg.tensor(a, requires_grad=grad) for a in arrays]
    xt = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out_r, out_t = rg_fn(*xr), torch_fn(*xt)
    assert type(out_r) is not tuple or type(out_t) is tuple or isinstance(out_t, tuple)
    flat_r, flat_t = _flatten(out_r), _flatten(out_t)
    assert len(flat_r) == len(flat_t)
    loss_r, loss_t = 0.0, 0.0
    grad_rtol = 1e-6 if any(r.dtype == np.float32 for r in flat_r) else 1e-7
    for r, t in zip(flat_r, flat_t):
        assert tuple(r.shape) == tuple(t.shape)
        assert r.dtype == _torch_dtype(t.dtype), (r.dtype, t.dtype)
        rtol = 1e-7 if r.dtype != np.float32 else 1e-6  # a dtype= cast computes in float32, like torch
        np.testing.assert_allclose(r.data, t.detach().numpy(), rtol=rtol, atol=atol if rtol == 1e-7 else 1e-7)
        if grad and t.requires_grad:
            g = rng.standard_normal(tuple(t.shape))
            loss_r = loss_r + (r * rg.tensor(g)).sum()
            loss_t = loss_t + (t * torch.tensor(g, dtype=t.dtype)).sum()
    if grad and not isinstance(loss_t, float):
        loss_r.backward()
        loss_t.backward()
        for a, b in zip(xr, xt):
            if b.grad is None:
                assert a.grad is None or not np.any(a.grad.data)
            else:
                np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=grad_rtol, atol=atol)
    return out_r, out_t


# ---------------------------------------------------------------- reductions with dim / keepdim
REDUCTIONS = {
    "sum_dim": (lambda m, x: m.sum(x, dim=1), (3, 4, 2)),
    "sum_dims_keepdim": (lambda m, x: m.sum(x, dim=(0, 2), keepdim=True), (3, 4, 2)),
    "sum_dim_empty_is_all": (lambda m, x: m.sum(x, dim=[]), (3, 4)),
    "sum_method_dim": (lambda m, x: x.sum(dim=-1, keepdim=True), (3, 4)),
    "sum_dtype": (lambda m, x: m.sum(x, dim=0, dtype=m.float32), (3, 4)),
    "mean_dim": (lambda m, x: m.mean(x, dim=(1,), keepdim=True), (3, 4, 2)),
    "mean_method_dim": (lambda m, x: x.mean(dim=0), (3, 4)),
    "mean_dim_empty_is_all": (lambda m, x: x.mean(dim=()), (3, 4)),
    "prod_dim": (lambda m, x: m.prod(x, dim=1, keepdim=True), (3, 4)),
    "logsumexp_dim": (lambda m, x: m.logsumexp(x, dim=(0, 2)), (3, 4, 2)),
    "logsumexp_method": (lambda m, x: x.logsumexp(dim=1, keepdim=True), (3, 4)),
    "var_dim_unbiased_default": (lambda m, x: m.var(x, dim=1), (3, 4)),
    "var_unbiased_false": (lambda m, x: m.var(x, dim=0, unbiased=False), (3, 4)),
    "var_correction": (lambda m, x: m.var(x, dim=(0, 1), correction=2, keepdim=True), (3, 4, 2)),
    "var_all_unbiased_keyword": (lambda m, x: x.var(unbiased=True), (3, 4)),
    "var_dim_none": (lambda m, x: x.var(dim=None), (3, 4)),
    "var_positional_bool_unbiased": (lambda m, x: x.var(False), (3, 4)),
    "var_positional_dim_unbiased": (lambda m, x: m.var(x, 1, True), (3, 4)),
    "std_positional_dim_unbiased_keepdim": (lambda m, x: x.std(0, False, True), (3, 4)),
    "std_dim": (lambda m, x: m.std(x, dim=1, keepdim=True), (3, 4)),
    "std_correction": (lambda m, x: x.std(dim=0, correction=0), (3, 4)),
    "std_unbiased_false_all": (lambda m, x: m.std(x, unbiased=False), (3, 4)),
    "softmax_dim": (lambda m, x: m.softmax(x, dim=0), (3, 4)),
    "softmax_positional": (lambda m, x: m.softmax(x, 1), (3, 4)),
    "softmax_method": (lambda m, x: x.softmax(dim=-1), (3, 4)),
    "log_softmax_dim": (lambda m, x: m.log_softmax(x, dim=1), (2, 3, 4)),
    "softmax_dtype": (lambda m, x: m.softmax(x, dim=0, dtype=m.float32), (3, 4)),
    "amax_dims": (lambda m, x: m.amax(x, dim=(0, 2)), (3, 4, 2)),
    "amax_default_all": (lambda m, x: m.amax(x), (3, 4)),
    "amin_keepdim": (lambda m, x: m.amin(x, 1, True), (3, 4)),
    "amax_method": (lambda m, x: x.amax(dim=-1), (3, 4)),
    "max_dim": (lambda m, x: m.max(x, dim=1), (3, 4)),
    "max_dim_keepdim": (lambda m, x: x.max(dim=0, keepdim=True), (3, 4)),
    "min_dim": (lambda m, x: m.min(x, dim=-1), (3, 4, 2)),
    "max_dim_0d": (lambda m, x: m.max(x, dim=0), ()),
    "max_all": (lambda m, x: m.max(x), (3, 4)),
    "max_positional_dim_keepdim_keyword": (lambda m, x: x.max(1, keepdim=True), (3, 4)),
    "min_positional_dim_keepdim_keyword": (lambda m, x: m.min(x, 0, keepdim=False), (3, 4)),
    "aminmax_dim": (lambda m, x: m.aminmax(x, dim=1), (3, 4)),
    "cumsum_dim": (lambda m, x: m.cumsum(x, dim=1), (3, 4)),
    "cumprod_dim": (lambda m, x: x.cumprod(dim=0), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_with_pytorch_keywords_match_pytorch(name):
    fn, shape = REDUCTIONS[name]
    compare(lambda x: fn(rg, x), lambda x: fn(torch, x), shape)


def test_max_with_dim_none_is_refused_like_pytorch():
    with pytest.raises(rg.OpError, match="max: dim must be one int"):
        rg.max(rg.ones(2, 3), dim=None)


def test_max_and_min_with_dim_return_a_named_values_indices_pair():
    x = rg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    result = rg.max(x, dim=1)
    values, indices = result
    assert isinstance(result, tuple) and result.values is values and result.indices is indices
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.data, [1, 0])  # the first of the tied 7s, like torch
    low = x.min(dim=0, keepdim=True)
    assert low.values.shape == (1, 3) and low.indices.tolist() == [[0, 1, 0]]
    assert type(rg.max(x)) is rg.Tensor  # no dim: values only, as before
    assert type(rg.max(x, axis=1)) is rg.Tensor  # NumPy's keyword: values only


def test_max_of_two_tensors_is_the_elementwise_maximum():
    compare(lambda a, b: rg.max(a, b), lambda a, b: torch.max(a, b), (3, 4), (4,))
    compare(lambda a, b: a.min(b), lambda a, b: a.min(b), (3, 4), (3, 4))


def test_max_with_dim_over_an_empty_other_axis_gives_empty_results():
    values, indices = rg.max(rg.zeros(0, 3), dim=1)
    assert values.shape == (0,) and indices.shape == (0,) and indices.dtype == np.int64
    with pytest.raises(rg.OpError, match="max: cannot reduce over a dimension of size 0"):
        rg.max(rg.zeros(0, 3), dim=0)


def test_mean_with_dtype_averages_an_integer_tensor():
    x = rg.tensor([1, 2, 4])
    out = rg.mean(x, dtype=rg.float64)
    assert out.dtype == np.float64 and out.item() == pytest.approx(7 / 3)
    with pytest.raises(rg.OpError, match="mean: expected a floating tensor"):
        rg.mean(x)


def test_integer_sums_accumulate_in_int64_like_pytorch():
    for dtype in (rg.int32, rg.bool):
        x = rg.tensor(np.ones((2, 3), dtype=dtype))
        assert rg.sum(x, dim=1).dtype == _torch_dtype(torch.ones(2, 3, dtype=torch.int32 if dtype is rg.int32
                                                                  else torch.bool).sum(dim=1).dtype)


@pytest.mark.parametrize("call", [
    lambda x: rg.sum(x, axis=0, dim=0),
    lambda x: rg.mean(x, axis=1, dim=1),
    lambda x: rg.var(x, axis=0, dim=0),
    lambda x: rg.max(x, axis=0, dim=0),
    lambda x: rg.softmax(x, axis=0, dim=0),
    lambda x: rg.concatenate([x, x], axis=0, dim=0),
    lambda x: rg.stack([x, x], axis=0, dim=0),
    lambda x: rg.squeeze(x, axis=0, dim=0),
    lambda x: rg.split(x, 1, axis=0, dim=0),
    lambda x: rg.sum(x, keepdims=True, keepdim=True, dim=0),
])
def test_numpy_and_pytorch_axis_keywords_together_are_refused(call):
    with pytest.raises(rg.OpError, match="both"):
        call(rg.ones(2, 3))


def test_options_pytorch_refuses_are_refused_with_the_op_named():
    x = rg.ones(2, 3)
    with pytest.raises(rg.OpError, match="prod: dim must be one int"):
        rg.prod(x, dim=(0, 1))
    with pytest.raises(rg.OpError, match="max: dim must be one int"):
        rg.max(x, dim=(0, 1))
    with pytest.raises(rg.OpError, match="logsumexp: dim=\\(\\) names no dimension"):
        rg.logsumexp(x, dim=())
    with pytest.raises(rg.OpError, match="var: pass only one of unbiased and correction"):
        rg.var(x, dim=0, unbiased=True, correction=1)
    with pytest.raises(rg.OpError, match="softmax: dim 2 is out of range"):
        rg.softmax(x, dim=2)


def test_numpy_keywords_keep_numpy_semantics():
    a = np.random.default_rng(1).standard_normal((3, 4))
    x = rg.tensor(a)
    np.testing.assert_allclose(rg.var(x, axis=1).data, a.var(axis=1))  # ddof 0 by default
    np.testing.assert_allclose(x.std(axis=0).data, a.std(axis=0))
    np.testing.assert_allclose(x.std(0).data, a.std(axis=0, ddof=1))  # positional: PyTorch's, unbiased
    np.testing.assert_allclose(x.var().data, a.var(ddof=1))  # no arguments: PyTorch's default
    assert rg.sum(x, axis=()).shape == (3, 4)  # NumPy's empty axis tuple reduces nothing
    parts = rg.split(x, 2, axis=1)  # NumPy: two equal parts
    assert isinstance(parts, list) and [p.shape for p in parts] == [(3, 2), (3, 2)]
    with pytest.raises(rg.OpError, match="squeeze: cannot squeeze axis 0 of size 3"):
        rg.squeeze(x, axis=0)


def test_reduction_fast_path_skips_keyword_normalisation(monkeypatch):
    """``x.sum()`` and ``rg.sum(x, 0)`` never reach the dim/keepdim folding."""
    from retrograd.ops import reductions

    def refuse(*args, **kwargs):
        raise AssertionError("keyword normalisation ran without PyTorch keywords")
    monkeypatch.setattr(reductions, "_torch_axis", refuse)
    x = rg.ones(2, 3)
    x.sum(), rg.sum(x, 0), x.mean(), rg.mean(x, 1, True), x.max(), rg.prod(x), x.var(), rg.logsumexp(x, 1)


# ---------------------------------------------------------------- shape ops
SHAPES = {
    "squeeze_dim_noop": (lambda m, x: m.squeeze(x, dim=0), (3, 1, 2)),
    "squeeze_dim_one": (lambda m, x: m.squeeze(x, dim=1), (3, 1, 2)),
    "squeeze_dims_tuple": (lambda m, x: m.squeeze(x, dim=(0, 1)), (1, 1, 2)),
    "squeeze_method_positional": (lambda m, x: x.squeeze(0), (3, 1)),
    "squeeze_all": (lambda m, x: x.squeeze(), (1, 3, 1)),
    "unsqueeze_dim": (lambda m, x: m.unsqueeze(x, dim=-1), (3, 2)),
    "unsqueeze_method": (lambda m, x: x.unsqueeze(0), (3,)),
    "flatten_start": (lambda m, x: m.flatten(x, 1), (2, 3, 4)),
    "flatten_range": (lambda m, x: x.flatten(start_dim=0, end_dim=1), (2, 3, 4)),
    "flatten_0d": (lambda m, x: m.flatten(x), ()),
    "cat_dim": (lambda m, x: m.cat([x, x * 2], dim=-1), (2, 3)),
    "stack_dim": (lambda m, x: m.stack([x, x * 2], dim=2), (2, 3)),
    "split_size": (lambda m, x: x.split(2), (5, 3)),
    "split_size_keyword": (lambda m, x: x.split(split_size=2, dim=1), (2, 5)),
    "split_size_dim": (lambda m, x: m.split(x, 2, dim=1), (2, 5)),
    "split_sections": (lambda m, x: x.split([1, 3, 1], dim=0), (5, 2)),
    "chunk": (lambda m, x: m.chunk(x, 3, dim=1), (2, 5)),
    "chunk_fewer": (lambda m, x: x.chunk(4), (6,)),
    "narrow": (lambda m, x: m.narrow(x, 1, 1, 2), (2, 4)),
    "narrow_negative_start": (lambda m, x: x.narrow(0, -2, 2), (5, 2)),
    "unbind": (lambda m, x: m.unbind(x, 1), (2, 3)),
    "movedim": (lambda m, x: m.movedim(x, 0, -1), (2, 3, 4)),
    "movedim_tuple": (lambda m, x: x.movedim((0, 1), (2, 0)), (2, 3, 4)),
    "view_minus_one": (lambda m, x: x.view(-1, 2), (3, 4)),
    "view_tuple": (lambda m, x: x.view((4, -1)), (3, 4)),
    "permute": (lambda m, x: x.permute(2, 0, 1), (2, 3, 4)),
    "transpose_pair": (lambda m, x: x.transpose(0, 2), (2, 3, 4)),
    "transpose_function_dims": (lambda m, x: m.transpose(x, -1, 0), (2, 3, 4)),
    "transpose_keywords": (lambda m, x: x.transpose(dim0=1, dim1=2), (2, 3, 4)),
    "permute_dims_keyword": (lambda m, x: m.permute(x, dims=(2, 0, 1)), (2, 3, 4)),
    "flip_dims_keyword": (lambda m, x: x.flip(dims=(0, 2)), (2, 3, 4)),
    "argmax_dim_keepdim": (lambda m, x: m.argmax(x, dim=1, keepdim=True), (3, 4)),
    "argmin_method": (lambda m, x: x.argmin(dim=0), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_ops_with_pytorch_signatures_match_pytorch(name):
    fn, shape = SHAPES[name]
    compare(lambda x: fn(rg, x), lambda x: fn(torch, x), shape)


def test_split_returns_tuples_like_pytorch_and_lists_like_numpy():
    x = rg.ones(5, 2)
    assert isinstance(x.split(2), tuple) and isinstance(rg.split(x, 2, dim=0), tuple)
    assert isinstance(rg.split(rg.ones(4, 2), 2, axis=0), list)
    assert [p.shape for p in rg.split(rg.ones(5, 2), 2)] == [(2, 2), (2, 2), (1, 2)]  # PyTorch: chunks of 2
    with pytest.raises(rg.OpError, match="split: split_sizes \\[1, 1\\] must be non-negative and add up to 5"):
        x.split([1, 1])


def test_index_select_matches_pytorch_and_refuses_what_it_refuses():
    index_r, index_t = rg.tensor([2, 0, 2]), torch.tensor([2, 0, 2])
    compare(lambda x: rg.index_select(x, 1, index_r), lambda x: torch.index_select(x, 1, index_t), (2, 3))
    compare(lambda x: x.index_select(0, rg.tensor(1)), lambda x: x.index_select(0, torch.tensor(1)), (3, 2))
    compare(lambda x: rg.index_select(x, 0, rg.tensor([0])), lambda x: torch.index_select(x, 0, torch.tensor([0])),
            ())
    with pytest.raises(rg.OpError, match="index_select: index -1 is out of range"):
        rg.index_select(rg.ones(3), 0, rg.tensor([-1]))
    with pytest.raises(rg.OpError, match="index_select: index must be a vector"):
        rg.index_select(rg.ones(3), 0, rg.tensor([[0]]))
    with pytest.raises(rg.OpError, match="index_select: index must hold integers"):
        rg.index_select(rg.ones(3), 0, rg.tensor([0.0]))


def test_shape_argument_errors_name_the_op():
    x = rg.ones(2, 3)
    with pytest.raises(rg.OpError, match="unsqueeze: dim 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(rg.OpError, match="flatten: start_dim \\(1\\) cannot come after end_dim \\(0\\)"):
        rg.flatten(x, 1, 0)
    with pytest.raises(rg.OpError, match="narrow: start \\(2\\) \\+ length \\(2\\) exceeds"):
        x.narrow(1, 2, 2)
    with pytest.raises(rg.OpError, match="chunk: chunks must be a positive int"):
        x.chunk(0)
    with pytest.raises(rg.OpError, match="stack: dim 3 is out of range"):
        rg.stack([x, x], dim=3)
    with pytest.raises(rg.OpError, match="size: dim 2 is out of range"):
        x.size(2)


def test_size_is_numpys_count_and_pytorchs_shape():
    x = rg.ones(2, 3)
    assert x.size == 6 and x.size + 1 == 7  # NumPy's attribute
    assert x.size() == (2, 3) and x.size(-1) == 3 and x.size(0) == 2  # PyTorch's method
    assert rg.tensor(1.0).size() == () and rg.tensor(1.0).size == 1
    assert (x / x.size).dtype == np.float32 and (x.size * x).dtype == np.float32  # a weak int, like a Python int


def test_like_and_new_methods_follow_pytorch():
    compare(lambda x: x.expand_as(rg.ones(2, 3, 4)), lambda x: x.expand_as(torch.ones(2, 3, 4)), (3, 1))
    compare(lambda x: x.reshape_as(rg.ones(6, 2)), lambda x: x.reshape_as(torch.ones(6, 2)), (3, 4))
    compare(lambda x: x.view_as(rg.ones(12)), lambda x: x.view_as(torch.ones(12)), (3, 4))
    compare(lambda x: x.type_as(rg.ones(1)), lambda x: x.type_as(torch.ones(1)), (3,))
    x, t = rg.tensor([1.0], dtype=rg.float64), torch.tensor([1.0], dtype=torch.float64)
    for made_r, made_t in [(x.new_zeros(2, 3), t.new_zeros(2, 3)), (x.new_ones((2,)), t.new_ones((2,))),
                           (x.new_full((2,), 3), t.new_full((2,), 3)),
                           (x.new_zeros(2, dtype=rg.int64), t.new_zeros(2, dtype=torch.int64)),
                           (x.new_tensor([1, 2]), t.new_tensor([1, 2]))]:
        assert made_r.shape == tuple(made_t.shape) and made_r.dtype == _torch_dtype(made_t.dtype)
        np.testing.assert_array_equal(made_r.data, made_t.numpy())


# ---------------------------------------------------------------- F.pad
PADS = [
    ("constant", (2, 5), (1, 2)), ("constant", (2, 3, 4), (1, 0, -1, 2)), ("constant", (3,), (2, -1)),
    ("reflect", (2, 5), (1, 3)), ("reflect", (1, 2, 5), (-1, 2)), ("reflect", (2, 3, 4), (1, 2, 2, 1)),
    ("reflect", (1, 2, 3, 3, 4), (1, 1, 2, 0, 1, 2)), ("reflect", (1, 1, 3, 1), (0, 0, -1, 2)),
    ("replicate", (2, 5), (3, 3)), ("replicate", (1, 2, 5), (2, -2)), ("replicate", (1, 2, 3, 4), (0, 3, -1, 2)),
    ("circular", (2, 5), (2, 5)), ("circular", (1, 2, 5), (-1, 2)), ("circular", (2, 3, 4), (3, 3, 2, 2)),
    ("circular", (1, 1, 2, 3, 2), (1, 1, 1, 1, 2, 2)),
]


@pytest.mark.parametrize("mode, shape, pad", PADS)
def test_functional_pad_matches_pytorch(mode, shape, pad):
    compare(lambda x: F.pad(x, pad, mode=mode), lambda x: TF.pad(x, pad, mode=mode), shape)


def test_functional_pad_constant_value_and_numpy_pad_width_stay_distinct():
    compare(lambda x: F.pad(x, (1, 2), value=0.5), lambda x: TF.pad(x, (1, 2), value=0.5), (2, 3))
    x = rg.ones(2, 3)
    assert rg.pad(x, ((1, 2), (0, 0))).shape == (5, 3)  # NumPy's pad_width: first axis first
    assert F.pad(x, (1, 2)).shape == (2, 6)  # PyTorch's pad: last dim first


@pytest.mark.parametrize("mode, shape, pad, message", [
    ("reflect", (2, 3), (3, 0), "reflect padding \\(3, 0\\) must be less than the size 3"),
    ("reflect", (5,), (1, 1), "mode='reflect' with 2 widths pads the last 1 dims of a 2-D"),
    ("circular", (2, 3), (4, 0), "would wrap around dim 1 of size 3"),
    ("replicate", (2, 3), (-2, -1), "needs at least one entry"),
    ("constant", (2, 3), (1,), "even length"),
    ("constant", (3,), (1, 1, 1, 1), "pad 2 dims, but the input of shape \\(3,\\) has only 1"),
    ("wrap", (2, 3), (1, 1), "mode must be one of"),
])
def test_functional_pad_refuses_what_pytorch_refuses(mode, shape, pad, message):
    with pytest.raises(Exception):
        TF.pad(torch.ones(shape), pad, mode=mode if mode != "wrap" else "wrap")
    with pytest.raises(rg.OpError, match=message):
        F.pad(rg.ones(*shape), pad, mode=mode)


def test_circular_pad_wider_than_the_cropped_dim_is_refused():
    """PyTorch checks the uncropped size and then copies from memory it never wrote; refused here."""
    with pytest.raises(rg.OpError, match="circular padding \\(3, 0\\) would wrap around dim 1 of size 2"):
        F.pad(rg.ones(4, 4), (3, -2), mode="circular")


# ---------------------------------------------------------------- nn.functional
FUNCTIONAL = {
    "normalize": (lambda f, x: f.normalize(x), (3, 4)),
    "normalize_p1_dim0": (lambda f, x: f.normalize(x, p=1.0, dim=0), (3, 4)),
    "normalize_dims": (lambda f, x: f.normalize(x, dim=(1, 2)), (2, 3, 4)),
    "softmax": (lambda f, x: f.softmax(x, 1), (3, 4)),
    "softmax_dim_keyword_dtype": (lambda f, x: f.softmax(x, dim=0, dtype=torch.float32 if f is TF else rg.float32),
                                  (3, 4)),
    "log_softmax": (lambda f, x: f.log_softmax(x, dim=-1), (2, 3, 4)),
    "softmin": (lambda f, x: f.softmin(x, dim=1), (3, 4)),
    "gelu_tanh": (lambda f, x: f.gelu(x, approximate="tanh"), (3, 4)),
    "gelu": (lambda f, x: f.gelu(x), (3, 4)),
    "silu": (lambda f, x: f.silu(x), (3, 4)),
    "dropout_eval": (lambda f, x: f.dropout(x, 0.3, training=False), (3, 4)),
    "dropout_p0": (lambda f, x: f.dropout(x, p=0.0), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_matches_pytorch(name):
    fn, shape = FUNCTIONAL[name]
    compare(lambda x: fn(F, x), lambda x: fn(TF, x), shape)


def test_normalize_divides_small_rows_by_eps_like_pytorch():
    a = np.array([[0.0, 0.0], [3.0, 4.0], [1e-14, 0.0]])
    compare(lambda x: F.normalize(x + rg.tensor(a)), lambda x: TF.normalize(x + torch.tensor(a)), (3, 2),
            atol=1e-6)


@pytest.mark.parametrize("shape, dim", [((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)])
def test_functional_softmax_without_dim_uses_pytorchs_implicit_dim_and_warns(shape, dim):
    x = np.random.default_rng(0).standard_normal(shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(rg.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.softmax(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out.data, expected)
    np.testing.assert_allclose(out.data.sum(axis=dim), 1.0)


def test_functional_one_hot_is_int64_like_pytorch():
    out = F.one_hot(rg.tensor([0, 2, 1]), num_classes=4)
    expected = TF.one_hot(torch.tensor([0, 2, 1]), num_classes=4)
    assert out.dtype == _torch_dtype(expected.dtype)
    np.testing.assert_array_equal(out.data, expected.numpy())


def test_dropout_trains_with_the_expected_scale():
    rg.manual_seed(0)
    x = rg.ones(2000)
    out = F.dropout(x, 0.25, training=True)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    assert 0.2 < 1 - kept.mean() < 0.3
    rg.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, 0.25, inplace=True).data, out.data)  # accepted, out of place
    np.testing.assert_array_equal(x.data, np.ones(2000, np.float32))


# ---------------------------------------------------------------- creation and dtype inference
@pytest.mark.parametrize("data", [[1, 2], 3, True, [True, False], [1, 2.5], [], 1.5, [[1], [2]], [1, True], 1 + 2j])
def test_tensor_infers_dtypes_like_pytorch(data):
    assert rg.tensor(data).dtype == _torch_dtype(torch.tensor(data).dtype)


@pytest.mark.parametrize("make", [
    lambda m: m.full((2,), 3), lambda m: m.full((2,), True), lambda m: m.full((2,), 1.5),
    lambda m: m.arange(5), lambda m: m.arange(0, 1, 0.25), lambda m: m.arange(1.0, 4),
    lambda m: m.zeros(2, 3, dtype=m.int64), lambda m: m.ones((2,), dtype=m.bool), lambda m: m.zeros(2, 3),
    lambda m: m.linspace(0, 1, 5), lambda m: m.eye(3),
])
def test_creation_dtypes_match_pytorch(make):
    made_r, made_t = make(rg), make(torch)
    assert made_r.dtype == _torch_dtype(made_t.dtype)
    np.testing.assert_allclose(made_r.data, made_t.numpy())


def test_manual_seed_makes_dropout_repeatable():
    rg.manual_seed(7)
    first = F.dropout(rg.ones(50), 0.5).data
    rg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(rg.ones(50), 0.5).data, first)


def test_tied_maxima_follow_rg_conventions():
    """amax shares tied gradients evenly (PyTorch's amax, and rg's default policy); max(dim=)
    follows the same declared policy, where PyTorch sends all of it to the returned index —
    the ``first`` policy gives PyTorch's max(dim=) gradient exactly."""
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])

    def grads(fn_rg, fn_torch, policy=None):
        x, t = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        if policy:
            with rg.conventions.policy(policy):
                out = fn_rg(x)
        else:
            out = fn_rg(x)
        out.sum().backward()
        fn_torch(t).sum().backward()
        return x.grad.data, t.grad.numpy()

    mine, theirs = grads(lambda x: rg.amax(x, dim=1), lambda t: torch.amax(t, dim=1))
    np.testing.assert_array_equal(mine, theirs)
    mine, theirs = grads(lambda x: rg.max(x, dim=1).values, lambda t: torch.max(t, dim=1).values, "first")
    np.testing.assert_array_equal(mine, theirs)
    mine, _ = grads(lambda x: rg.max(x, dim=1).values, lambda t: torch.max(t, dim=1).values)
    np.testing.assert_array_equal(mine, [[0, 0.5, 0.5], [0.5, 0.5, 0]])  # the default policy: shared


ACTIVATIONS = {
    "relu": lambda f, x: f.relu(x), "relu6": lambda f, x: f.relu6(x * 4), "elu": lambda f, x: f.elu(x, 0.5),
    "selu": lambda f, x: f.selu(x), "leaky_relu": lambda f, x: f.leaky_relu(x, 0.2),
    "hardtanh": lambda f, x: f.hardtanh(x, -0.5, 0.7), "mish": lambda f, x: f.mish(x),
    "softplus_threshold": lambda f, x: f.softplus(x * 30, beta=1.5, threshold=10),
    "softplus": lambda f, x: f.softplus(x * 30),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_functional_activations_take_pytorchs_arguments(name):
    compare(lambda x: ACTIVATIONS[name](F, x), lambda x: ACTIVATIONS[name](TF, x), (4, 5))


@pytest.mark.parametrize("name", ["relu", "relu6", "elu", "selu", "leaky_relu", "hardtanh", "silu", "mish"])
def test_functional_inplace_is_accepted_and_computed_out_of_place(name):
    """PyTorch overwrites the input; here the result is the same, in a new tensor (README's differences)."""
    x = np.linspace(-3, 8, 12)
    theirs = getattr(TF, name)(torch.tensor(x), inplace=True)
    rx = rg.tensor(x.copy())
    ours = getattr(F, name)(rx, inplace=True)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(rx.data, x)


def test_edges_follow_pytorch():
    assert [p.shape for p in rg.zeros(0).split(2)] == [tuple(p.shape) for p in torch.zeros(0).split(2)]
    with pytest.raises(rg.OpError, match="sum: dim \\(0, -2\\) names a dimension more than once"):
        rg.sum(rg.ones(2, 3), dim=(0, -2))
    with pytest.raises(rg.OpError, match="squeeze: dim \\(0, 0\\) names a dimension more than once"):
        rg.ones(1, 2).squeeze((0, 0))
    with pytest.raises(rg.OpError, match="size: dim 0 given, but a 0-d tensor has no dimensions"):
        rg.tensor(1.0).size(0)
