"""PyTorch's tensor-manipulation functions, products and distances, and order statistics, against
torch 2.13 in float64:

- ``take_along_dim select tensor_split vsplit hsplit dsplit column_stack dstack ravel moveaxis rot90
  fliplr flipud repeat_interleave diag_embed diagflat block_diag cartesian_prod combinations
  broadcast_tensors`` (ops/manipulation.py);
- ``inner vdot tensordot trapezoid trapz vander renorm cov cdist pdist dist`` (ops/products.py);
- ``kthvalue mode msort nanmedian quantile nanquantile`` (ops/order_statistics.py).

Each case compares values, dtypes and shapes (every output of a tuple, indices included) and the
gradients of a random-weighted sum of the floating outputs with respect to every floating input
(backward on both sides); a few compare jvps with torch's; the refusals check that retrograd raises
torch's exception type for the inputs torch refuses. All are compositions (no Op of their own).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from torch_compare import compare, outputs as _outputs, same_error

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]

NAN, INF = math.nan, math.inf
R = np.random.default_rng(11)


def _r(*shape):
    return R.standard_normal(shape)


def _i(values):
    return np.asarray(values, dtype=np.int64)


def both(name, call, *arrays, **options):
    """A case calling ``call(module)`` as ``call(rg)`` and ``call(torch)`` (tensors come as arguments)."""
    return pytest.param(lambda *xs: call(rg, *xs), lambda *xs: call(torch, *xs), arrays, options, id=name)


X = _r(3, 4)
XN = X.copy()
XN[0, 1] = NAN
XN[2, :] = NAN
DISTINCT = np.arange(12.0).reshape(3, 4)[:, ::-1] * 0.37 + _r(3, 4) * 0.01  # no ties: indices are defined
Q = np.array([0.0, 0.1, 0.5, 0.77, 1.0])

CASES = [
    # picking and splitting
    both("take_along_dim", lambda m, x: m.take_along_dim(x, m.tensor(_i([[0, 3, -1]])), 1), X),
    both("take_along_dim_broadcast", lambda m, x: x.take_along_dim(m.tensor(_i([[0], [2], [1]])), dim=1), X[:1]),
    both("take_along_dim_flat", lambda m, x: m.take_along_dim(x, m.tensor(_i([0, 11, 5, 5]))), X),
    both("select", lambda m, x: m.select(x, 1, -2), X),
    both("select_method", lambda m, x: x.select(0, 2), X),
    both("tensor_split_sections", lambda m, x: m.tensor_split(x, 3, 1), X),
    both("tensor_split_indices", lambda m, x: x.tensor_split([1, -1, 9], dim=1), X),
    both("tensor_split_tensor", lambda m, x: m.tensor_split(x, m.tensor(_i([1, 2])), 0), X),
    both("tensor_split_keyword", lambda m, x: m.tensor_split(x, sections=2), X),
    both("vsplit", lambda m, x: m.vsplit(x, [1]), X),
    both("hsplit", lambda m, x: x.hsplit(2), X),
    both("hsplit_1d", lambda m, x: m.hsplit(x, 2), _r(4)),
    both("dsplit", lambda m, x: m.dsplit(x, [1, 3]), _r(2, 1, 4)),
    # joining and reshaping
    both("column_stack", lambda m, a, b, c: m.column_stack([a, b, c]), _r(3), _r(3, 2), _r(3, 1)),
    both("dstack", lambda m, a, b, c: m.dstack([a, b, c]), _r(2), _r(1, 2), _r(1, 2, 3)),
    both("ravel", lambda m, x: x.ravel(), X),
    both("moveaxis", lambda m, x: m.moveaxis(x, (0, 2), (2, 0)), _r(2, 3, 4)),
    both("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), X, _r(2), np.array(1.5)),
    both("broadcast_tensors", lambda m, a, b: m.broadcast_tensors(a, b), _r(3, 1), _r(4)),
    both("cartesian_prod", lambda m, a, b, c: m.cartesian_prod(a, b, c), _r(2), _r(3), _r(2)),
    both("cartesian_prod_one", lambda m, a: m.cartesian_prod(a), _r(3)),
    both("combinations", lambda m, a: m.combinations(a), _r(4)),
    both("combinations_with_replacement", lambda m, a: m.combinations(a, 3, with_replacement=True), _r(3)),
    # rotating, flipping, repeating, diagonals
    both("rot90", lambda m, x: m.rot90(x), X),
    both("rot90_twice", lambda m, x: x.rot90(2, [1, 0]), X),
    both("rot90_minus_three", lambda m, x: m.rot90(x, -3, (1, 2)), _r(2, 3, 4)),
    both("fliplr", lambda m, x: x.fliplr(), X),
    both("flipud", lambda m, x: m.flipud(x), X),
    both("repeat_interleave_int", lambda m, x: m.repeat_interleave(x, 2), X),
    both("repeat_interleave_tensor", lambda m, x: x.repeat_interleave(m.tensor(_i([1, 0, 3])), dim=0), X),
    both("repeat_interleave_output_size", lambda m, x: m.repeat_interleave(x, m.tensor(_i([2])), 1,
                                                                           output_size=8), X),
    both("diag_embed", lambda m, x: m.diag_embed(x), X),
    both("diag_embed_offset_dims", lambda m, x: x.diag_embed(-1, 0, 2), X),
    both("diagflat", lambda m, x: m.diagflat(x, 2), X),
    both("diagflat_0d", lambda m, x: x.diagflat(), np.array(2.0)),
    # products, integration
    both("inner", lambda m, a, b: m.inner(a, b), X, _r(2, 5, 4)),
    both("inner_0d", lambda m, a, b: a.inner(b), np.array(1.5), X),
    both("vdot", lambda m, a, b: m.vdot(a, b), _r(4), _r(4)),
    both("tensordot_int", lambda m, a, b: m.tensordot(a, b, 1), X, _r(4, 3)),
    both("tensordot_lists", lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [2, 0])), _r(2, 3, 4), _r(4, 5, 2)),
    both("tensordot_tensor_dims", lambda m, a, b: m.tensordot(a, b, dims=m.tensor(_i([[1], [0]]))), X.T, X),
    both("tensordot_outer", lambda m, a, b: m.tensordot(a, b, 0), _r(2), _r(3)),
    both("trapezoid", lambda m, y: m.trapezoid(y), X),
    both("trapezoid_dx_dim", lambda m, y: m.trapezoid(y, dx=0.3, dim=0), X),
    both("trapezoid_x", lambda m, y, x: m.trapezoid(y, x), X, np.cumsum(R.random(4))),
    both("trapezoid_x_2d", lambda m, y, x: m.trapezoid(y, x, dim=0), X, R.random((3, 4))),
    both("trapz_x", lambda m, y, x: m.trapz(y, x), X, np.cumsum(R.random(4))),
    both("trapz_dx", lambda m, y: m.trapz(y, dx=2.0), X),
    both("trapezoid_one_sample", lambda m, y: m.trapezoid(y), _r(2, 1)),
    both("renorm", lambda m, x: m.renorm(x, 2, 0, 1.5), X),
    both("renorm_p3_dim1", lambda m, x: x.renorm(3, 1, 1.0), X),
    both("renorm_inf", lambda m, x: m.renorm(x, INF, 1, 1.0), X),
    # covariance and distances
    both("cov", lambda m, x: m.cov(x), X),
    both("cov_method_correction0", lambda m, x: x.cov(correction=0), X),
    both("cov_1d", lambda m, x: m.cov(x), _r(5)),
    both("cov_one_variable", lambda m, x: m.cov(x), _r(1, 5)),
    both("cov_weights", lambda m, x, w: m.cov(x, fweights=m.tensor(_i([1, 2, 0, 3])), aweights=w), X, R.random(4)),
    both("cov_fweights_correction2", lambda m, x: m.cov(x, correction=2, fweights=m.tensor(_i([1, 2, 1, 3]))), X),
    both("cdist", lambda m, a, b: m.cdist(a, b), X, _r(5, 4)),
    both("cdist_p1_batched", lambda m, a, b: m.cdist(a, b, 1.0), X, _r(2, 5, 4)),
    both("cdist_p3", lambda m, a, b: m.cdist(a, b, p=3), X, _r(5, 4)),
    both("cdist_p_half", lambda m, a, b: m.cdist(a, b, p=0.5), X, _r(5, 4)),
    both("cdist_p0", lambda m, a, b: m.cdist(a, b, p=0), X, _r(5, 4)),
    both("cdist_inf", lambda m, a, b: m.cdist(a, b, INF), X, _r(5, 4)),
    both("cdist_zero_distance", lambda m, a: m.cdist(a, a), X),
    both("pdist", lambda m, x: m.pdist(x), X),
    both("pdist_p1_5", lambda m, x: m.pdist(x, 1.5), X),
    both("dist", lambda m, a, b: m.dist(a, b), X, _r(4)),
    both("dist_method_p1", lambda m, a, b: a.dist(b, 1), X, _r(4)),
    both("dist_p0", lambda m, a, b: m.dist(a, b, 0), X, _r(4), grad=False),  # torch's backward fails here
    both("dist_negative_p", lambda m, a, b: m.dist(a, b, -1.5), X, _r(4)),
    both("dist_inf", lambda m, a, b: m.dist(a, b, INF), X, _r(4)),
    both("dist_minus_inf", lambda m, a, b: m.dist(a, b, -INF), X, _r(4)),
    # order statistics
    both("kthvalue", lambda m, x: m.kthvalue(x, 2), DISTINCT),
    both("kthvalue_dim0_keepdim", lambda m, x: x.kthvalue(3, 0, True), DISTINCT),
    both("kthvalue_nan_is_largest", lambda m, x: m.kthvalue(x, 4), XN[:2]),
    both("kthvalue_0d", lambda m, x: m.kthvalue(x, 1), np.array(2.0)),
    both("mode", lambda m, x: m.mode(x), np.array([[1.0, 2, 2, 3, 3], [4, 4, 1, 1, 0]])),
    both("mode_dim0_keepdim", lambda m, x: x.mode(0, True), np.array([[1.0, 2], [1, 3], [2, 3]])),
    both("mode_all_distinct", lambda m, x: m.mode(x), DISTINCT),
    both("msort", lambda m, x: m.msort(x), X),
    both("nanmedian", lambda m, x: m.nanmedian(x), XN),
    both("nanmedian_ties_share", lambda m, x: m.nanmedian(x), np.array([1.0, NAN, 1.0, 3.0])),
    both("nanmedian_all_nan", lambda m, x: x.nanmedian(), np.array([NAN, NAN])),
    both("nanmedian_dim", lambda m, x: m.nanmedian(x, 1), np.where(np.isnan(XN), NAN, DISTINCT)[:2]),
    both("nanmedian_dim_all_nan_line", lambda m, x: m.nanmedian(x, 1, True), np.array([[NAN, NAN], [2.0, NAN]])),
    both("quantile_number", lambda m, x: m.quantile(x, 0.3), X),
    both("quantile_0d_q", lambda m, x: m.quantile(x, m.tensor(0.75, dtype=m.float64), dim=0), X),
    both("quantile_none_keepdim", lambda m, x: x.quantile(m.tensor(np.array([0.2, 0.6])), keepdim=True), X),
    both("quantile_nan_line", lambda m, x: m.quantile(x, m.tensor(Q), 1), XN),
    both("nanquantile_none", lambda m, x: m.nanquantile(x, 0.4), XN),
    both("nanquantile_all_nan", lambda m, x: x.nanquantile(m.tensor(np.array([0.3, 0.5]))), np.array([NAN] * 3)),
]
for _mode in ("linear", "lower", "higher", "midpoint", "nearest"):
    CASES += [
        both(f"quantile_{_mode}", lambda m, x, i=_mode: m.quantile(x, m.tensor(Q), 1, True, interpolation=i), X),
        both(f"nanquantile_{_mode}", lambda m, x, i=_mode: x.nanquantile(m.tensor(Q), dim=0, interpolation=i), XN),
    ]


@pytest.mark.parametrize("rg_fn, torch_fn, arrays, options", CASES)
def test_values_and_gradients_match_pytorch(rg_fn, torch_fn, arrays, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        compare(rg_fn, torch_fn, *arrays, **options)


def test_vander_values_dtypes_and_gradient():
    """vander's values match torch's; its gradient (exact at 0: a cumprod) is gradchecked, since torch
    2.13's own vander backward fails (an in-place write)."""
    for x in (np.array([1.0, 0.0, 2.5]), np.array([3, -1, 2]), np.array([True, False])):
        for n, increasing in ((None, False), (5, True), (1, False), (0, True)):
            got = rg.vander(rg.tensor(x), n, increasing)
            expected = torch.vander(torch.tensor(x), n, increasing)
            assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
            np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-12)
    report = rg.gradcheck(lambda v: rg.vander(v, 4), [np.array([1.5, 0.0, -2.0])])
    assert report.ok, str(report)


def test_jvps_match_torch():
    """Forward mode comes with the compositions: rg.func.jvp equals J·v of torch's Jacobian."""
    a, b, ta, tb = _r(3, 4), _r(5, 4), _r(3, 4), _r(5, 4)
    for rg_fn, torch_fn in [
            (lambda p, q: rg.cdist(p, q), lambda p, q: torch.cdist(p, q)),
            (lambda p, q: rg.tensordot(p, q, ([1], [1])), lambda p, q: torch.tensordot(p, q, ([1], [1]))),
            (lambda p, q: rg.quantile(p, 0.3, dim=1) * rg.cov(q).sum(),
             lambda p, q: torch.quantile(p, 0.3, dim=1) * torch.cov(q).sum())]:
        _, got = rg.func.jvp(rg_fn, (rg.tensor(a), rg.tensor(b)), (rg.tensor(ta), rg.tensor(tb)))
        # torch's J·v from its reverse-mode Jacobian (cdist has neither forward AD nor double backward)
        ja, jb = torch.autograd.functional.jacobian(torch_fn, (torch.tensor(a), torch.tensor(b)))
        expected = (ja.reshape(*got.shape, -1) @ torch.tensor(ta).reshape(-1)
                    + jb.reshape(*got.shape, -1) @ torch.tensor(tb).reshape(-1))
        np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_second_derivatives_pass_gradgradcheck():
    for fn, arrays in [(lambda x: rg.renorm(x, 2, 0, 1.0), [_r(3, 2) * 2]),
                       (lambda x: rg.cov(x), [_r(2, 4)]),
                       (lambda a, b: rg.cdist(a, b, 3.0), [_r(2, 3), _r(2, 3)]),
                       (lambda x: rg.quantile(x, 0.4, dim=1), [_r(2, 5)])]:
        report = rg.gradgradcheck(lambda *xs: fn(*xs) ** 2, arrays)
        assert report.ok, str(report)


DTYPE_CASES = [
    ("column_stack_promotes_like_torch", lambda m, t: m.column_stack([t([1, 2]), t([1.5, 2.5])])),
    ("dstack_int", lambda m, t: m.dstack([t([1, 2]), t([3, 4])])),
    ("block_diag_promotes", lambda m, t: m.block_diag(t([[1, 2]]), t([2.5]))),
    ("block_diag_empty", lambda m, t: m.block_diag()),
    ("cartesian_prod_int", lambda m, t: m.cartesian_prod(t([1, 2]), t([3, 4, 5]))),
    ("combinations_r0", lambda m, t: m.combinations(t([1, 2]), 0)),
    ("combinations_r_too_big", lambda m, t: m.combinations(t([1, 2]), 3)),
    ("repeat_interleave_repeats_only", lambda m, t: m.repeat_interleave(t([2, 0, 1]))),
    ("repeat_interleave_int32_repeats", lambda m, t: m.repeat_interleave(t([5, 6, 7]), t([1, 2, 1], dtype=m.int32))),
    ("repeat_interleave_0d", lambda m, t: m.repeat_interleave(t(5.0), 3)),
    ("trapezoid_int_gives_default_float", lambda m, t: m.trapezoid(t([1, 2, 3]), dx=2)),
    ("trapezoid_int_x", lambda m, t: m.trapezoid(t([1, 2, 3]), t([1, 2, 4]))),
    ("trapezoid_float32_y_float64_x", lambda m, t: m.trapezoid(t([1.0, 2.0]), t([0.0, 0.5], dtype=m.float64))),
    ("trapezoid_no_samples", lambda m, t: m.trapezoid(m.zeros(2, 0))),
    ("inner_int", lambda m, t: m.inner(t([1, 2, 3]), t([4, 5, 6]))),
    ("tensordot_float32", lambda m, t: m.tensordot(t([[1.0, 2.0]]), t([[3.0], [4.0]]), 1)),
    ("cov_int_gives_default_float", lambda m, t: m.cov(t([[1, 2, 4], [1, 1, 1]]))),
    ("cov_float32_aweights_float64", lambda m, t: m.cov(t([[1.0, 2, 4]]), aweights=t([1.0, 2, 1], dtype=m.float64))),
    ("cov_single_observation", lambda m, t: m.cov(m.ones(2, 1))),
    ("dist_promotes", lambda m, t: m.dist(t([1.0, 2.0]), t([0.5, 0.0], dtype=m.float64))),
    ("kthvalue_int", lambda m, t: m.kthvalue(t([3, 1, 2]), 2)),
    ("mode_bool", lambda m, t: m.mode(t([True, False, True]))),
    ("mode_nan_counts_once", lambda m, t: m.mode(t([1.0, 2, 2, NAN, NAN, NAN]))),
    ("mode_empty_other_dim", lambda m, t: m.mode(m.zeros(2, 0), 0)),
    ("nanmedian_int", lambda m, t: m.nanmedian(t([3, 1, 2, 4]))),
    ("nanmedian_empty", lambda m, t: m.nanmedian(m.zeros(0))),
    ("quantile_float32", lambda m, t: m.quantile(t([1.0, 2, 4, 7, 8]), t([0.3, 0.625]))),
    ("quantile_inf_lerp_is_nan", lambda m, t: m.quantile(t([1.0, INF]), 0.5)),
    ("quantile_nearest_half_to_even", lambda m, t: m.quantile(t([1.0, 2, 3, 4]), t([0.5, 1 / 6]),
                                                              interpolation="nearest")),
]


@pytest.mark.parametrize("name, call", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_dtypes_and_edge_values_match_pytorch(name, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got, expected = _outputs(call(rg, rg.tensor)), _outputs(call(torch, torch.tensor))
    assert len(got) == len(expected)
    for r, t in zip(got, expected):
        assert str(r.dtype) == str(t.dtype).replace("torch.", "") and tuple(r.shape) == tuple(t.shape)
        np.testing.assert_allclose(r.data, t.numpy(), rtol=1e-6, equal_nan=True)


def test_result_types_are_named_tuples_like_pytorchs():
    x = rg.tensor(DISTINCT)
    for fn, fields in ((rg.kthvalue(x, 1), ("values", "indices")), (rg.mode(x), ("values", "indices")),
                       (rg.nanmedian(x, 0), ("values", "indices"))):
        assert fn._fields == fields and fn.indices.dtype == np.int64
    assert type(rg.kthvalue(x, 1)).__name__ == "KthvalueResult"


def test_cov_warns_when_the_degrees_of_freedom_run_out():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        out = rg.cov(rg.tensor(X), correction=5)
    with pytest.warns(UserWarning):
        expected = torch.cov(torch.tensor(X), correction=5)
    np.testing.assert_array_equal(out.data, expected.numpy())


def test_take_along_dim_refuses_indices_pytorch_would_wrap():
    """PyTorch 2.13 wraps any index of take_along_dim with a dim around (4 reads entry 0 of a dim of 4);
    retrograd takes [−size, size), as NumPy's take_along_axis, and refuses the rest (deliberate)."""
    with pytest.raises(IndexError, match="take_along_dim"):
        rg.take_along_dim(rg.tensor(X), rg.tensor(_i([[4]])), 1)
    got = rg.take_along_dim(rg.tensor(X), rg.tensor(_i([[-4]])), 1)
    np.testing.assert_array_equal(got.data, X[:, :1])


ERROR_CASES = [
    ("take_along_dim_int32", lambda m, t: m.take_along_dim(m.zeros(2, 2), t([[0]], dtype=m.int32), 1), "int64"),
    ("take_along_dim_ndim", lambda m, t: m.take_along_dim(m.zeros(2, 2), t([0]), 1), "number of dimensions"),
    ("take_along_dim_broadcast", lambda m, t: m.take_along_dim(m.zeros(3, 4), t([[0], [1]]), 1), "broadcast"),
    ("take_along_dim_flat_out_of_range", lambda m, t: m.take_along_dim(m.zeros(3, 4), t([12])), "out of bounds"),
    ("take_along_dim_0d_with_dim", lambda m, t: m.take_along_dim(t(3.0), t(0), 0), "no dimensions"),
    ("select_out_of_range", lambda m, t: m.select(m.zeros(3, 4), 1, 4), "out of range"),
    ("select_0d", lambda m, t: m.select(m.zeros(()), 0, 0), "0-dim"),
    ("select_dim", lambda m, t: m.select(m.zeros(3, 4), 2, 0), "out of range"),
    ("tensor_split_zero_sections", lambda m, t: m.tensor_split(m.zeros(7), 0), "larger than 0"),
    ("tensor_split_0d", lambda m, t: m.tensor_split(m.zeros(()), 2), "1-dimensional"),
    ("tensor_split_int32_tensor", lambda m, t: m.tensor_split(m.zeros(7), t([2], dtype=m.int32)), "long"),
    ("tensor_split_2d_tensor", lambda m, t: m.tensor_split(m.zeros(7), t([[2]])), "one-dimensional"),
    ("vsplit_1d", lambda m, t: m.vsplit(m.zeros(4), 2), "at least 2"),
    ("vsplit_not_divisible", lambda m, t: m.vsplit(m.zeros(3, 4), 2), "divisible"),
    ("hsplit_0d", lambda m, t: m.hsplit(m.zeros(()), 2), "at least 1"),
    ("dsplit_2d", lambda m, t: m.dsplit(m.zeros(2, 2), 2), "at least 3"),
    ("column_stack_empty", lambda m, t: m.column_stack([]), "non-empty"),
    ("column_stack_dims", lambda m, t: m.column_stack([m.zeros(2, 2, 2), m.zeros(2, 1)]), "same number"),
    ("rot90_one_dim", lambda m, t: m.rot90(m.zeros(3)), "total dims"),
    ("rot90_same_dims", lambda m, t: m.rot90(m.zeros(2, 2), 1, [0, -2]), "different"),
    ("rot90_three_dims", lambda m, t: m.rot90(m.zeros(2, 2), 1, [0, 1, 1]), "rotation dims == 2"),
    ("rot90_dim_out_of_range", lambda m, t: m.rot90(m.zeros(2, 2), 1, [0, 2]), "out of range"),
    ("fliplr_1d", lambda m, t: m.fliplr(m.zeros(3)), ">= 2-d"),
    ("flipud_0d", lambda m, t: m.flipud(m.zeros(())), ">= 1-d"),
    ("repeat_interleave_negative", lambda m, t: m.repeat_interleave(m.zeros(3), t([2, -1, 1])), "negative"),
    ("repeat_interleave_negative_int", lambda m, t: m.repeat_interleave(m.zeros(3), -1), "non-negative"),
    ("repeat_interleave_length", lambda m, t: m.repeat_interleave(m.zeros(3), t([2, 1])), "same size"),
    ("repeat_interleave_2d_repeats", lambda m, t: m.repeat_interleave(m.zeros(3), t([[1, 2, 1]])), "0-dim or 1-dim"),
    ("repeat_interleave_output_size", lambda m, t: m.repeat_interleave(m.zeros(3), 2, output_size=5), "output_size"),
    ("repeat_interleave_output_size_tensor", lambda m, t: m.repeat_interleave(m.zeros(3), t([1, 2, 1]),
                                                                              output_size=5), "size"),
    ("repeat_interleave_0d_repeats_only", lambda m, t: m.repeat_interleave(t(2)), "1D"),
    ("diag_embed_same_dims", lambda m, t: m.diag_embed(m.zeros(2), 0, 0, -2), "identical"),
    ("diag_embed_dim_out_of_range", lambda m, t: m.diag_embed(m.zeros(2), 0, 0, 2), "out of range"),
    ("block_diag_3d", lambda m, t: m.block_diag(m.zeros(1, 1, 1)), "2 or fewer"),
    ("cartesian_prod_2d", lambda m, t: m.cartesian_prod(t([[1, 2]]), t([3, 4])), "1D"),
    ("cartesian_prod_dtypes", lambda m, t: m.cartesian_prod(t([1, 2]), t([3.0, 4.0])), "same dtype"),
    ("cartesian_prod_none", lambda m, t: m.cartesian_prod(), "non-empty"),
    ("combinations_negative_r", lambda m, t: m.combinations(t([1, 2]), -1), "non-negative"),
    ("combinations_2d", lambda m, t: m.combinations(t([[1, 2]])), "1D"),
    ("broadcast_tensors_mismatch", lambda m, t: m.broadcast_tensors(m.zeros(2, 3), m.zeros(4)), "broadcast"),
    ("inner_last_dims", lambda m, t: m.inner(m.zeros(2, 3), m.zeros(3, 2)), "last dimension"),
    ("inner_dtypes", lambda m, t: m.inner(t([1, 2]), t([1.0, 2.0])), "same dtype"),
    ("vdot_2d", lambda m, t: m.vdot(m.zeros(2, 2), m.zeros(2, 2)), "1D"),
    ("vdot_lengths", lambda m, t: m.vdot(m.zeros(2), m.zeros(3)), "inconsistent"),
    ("vdot_dtypes", lambda m, t: m.vdot(t([1, 2]), t([1.0, 2.0])), "same dtype"),
    ("tensordot_negative_dims", lambda m, t: m.tensordot(m.zeros(2, 3), m.zeros(3, 2), -1), "dims >= 0"),
    ("tensordot_too_many_dims", lambda m, t: m.tensordot(m.zeros(2, 3), m.zeros(3, 5), 3), "dims < ndim"),
    ("tensordot_sizes", lambda m, t: m.tensordot(m.zeros(2, 4), m.zeros(3, 2), ([1], [0])), "need to match"),
    ("tensordot_list_lengths", lambda m, t: m.tensordot(m.zeros(2, 3), m.zeros(3, 2), ([1, 0], [0])),
     "same length"),
    ("tensordot_int_pair", lambda m, t: m.tensordot(m.zeros(2, 3), m.zeros(3, 2), (1, 0)), "int"),
    ("tensordot_dtypes", lambda m, t: m.tensordot(m.zeros(2), m.zeros(2, dtype=m.float64), 1), "same dtype"),
    ("trapezoid_x_length", lambda m, t: m.trapezoid(m.zeros(4), t([0.0, 1, 3])), "one `x` value"),
    ("trapezoid_x_and_dx", lambda m, t: m.trapezoid(m.zeros(4), t([0.0, 1, 3, 4]), dx=1.0), ""),
    ("trapezoid_0d", lambda m, t: m.trapezoid(t(1.0)), "no dimensions"),
    ("vander_2d", lambda m, t: m.vander(m.zeros(2, 2)), "one-dimensional"),
    ("vander_negative_n", lambda m, t: m.vander(t([1.0, 2.0]), N=-1), "non-negative"),
    ("renorm_p0", lambda m, t: m.renorm(m.zeros(2, 2), 0, 1, 5), "non-positive"),
    ("renorm_negative_maxnorm", lambda m, t: m.renorm(m.zeros(2, 2), 2, 1, -1), "maxnorm"),
    ("renorm_1d", lambda m, t: m.renorm(m.zeros(4), 2, 0, 1), "at least 2"),
    ("renorm_int", lambda m, t: m.renorm(t([[1, 2]]), 2, 0, 1), ""),
    ("cov_3d", lambda m, t: m.cov(m.zeros(1, 1, 1)), "two or fewer"),
    ("cov_bool", lambda m, t: m.cov(t([[True, False]])), "bool"),
    ("cov_float_fweights", lambda m, t: m.cov(m.zeros(2, 3), fweights=t([1.0, 2, 1])), "integral"),
    ("cov_negative_fweights", lambda m, t: m.cov(m.zeros(2, 3), fweights=t([1, -2, 1])), "negative"),
    ("cov_int_aweights", lambda m, t: m.cov(m.zeros(2, 3), aweights=t([1, 2, 2])), "floating point"),
    ("cov_aweights_length", lambda m, t: m.cov(m.zeros(2, 3), aweights=t([1.0, 0.5])), "numel"),
    ("cov_2d_aweights", lambda m, t: m.cov(m.zeros(2, 3), aweights=t([[1.0, 0.5, 2]])), "one or fewer"),
    ("cov_float_correction", lambda m, t: m.cov(m.zeros(2, 3), correction=0.5), "correction"),
    ("cdist_1d", lambda m, t: m.cdist(m.zeros(3), m.zeros(3)), "2D"),
    ("cdist_columns", lambda m, t: m.cdist(m.zeros(2, 3), m.zeros(2, 2)), "columns"),
    ("cdist_int", lambda m, t: m.cdist(t([[1, 2]]), t([[1, 2]])), "floating"),
    ("cdist_dtypes", lambda m, t: m.cdist(m.zeros(2, 3), m.zeros(2, 3, dtype=m.float64)), ""),
    ("cdist_negative_p", lambda m, t: m.cdist(m.zeros(2, 3), m.zeros(2, 3), p=-1), "non-negative"),
    ("cdist_compute_mode", lambda m, t: m.cdist(m.zeros(2, 3), m.zeros(2, 3), compute_mode="fast"),
     "compute_mode"),
    ("pdist_1d", lambda m, t: m.pdist(m.zeros(3)), "2D"),
    ("pdist_int", lambda m, t: m.pdist(t([[1, 2]])), "floating"),
    ("pdist_negative_p", lambda m, t: m.pdist(m.zeros(2, 3), -1), "non-negative"),
    ("dist_int", lambda m, t: m.dist(t([1, 2]), t([1, 2])), "floating"),
    ("dist_broadcast", lambda m, t: m.dist(m.zeros(3), m.zeros(2)), "broadcast"),
    ("kthvalue_k_zero", lambda m, t: m.kthvalue(m.zeros(2, 3), 0), "out of range"),
    ("kthvalue_k_too_big", lambda m, t: m.kthvalue(m.zeros(2, 3), 4), "out of range"),
    ("kthvalue_bool", lambda m, t: m.kthvalue(t([True, False]), 1), "bool"),
    ("mode_empty", lambda m, t: m.mode(m.zeros(0)), "non-zero size"),
    ("nanmedian_keepdim_without_dim", lambda m, t: m.nanmedian(m.zeros(2), keepdim=True), "dim"),
    ("quantile_q_too_big", lambda m, t: m.quantile(m.zeros(3), 1.5), "range"),
    ("quantile_q_nan", lambda m, t: m.quantile(m.zeros(3), NAN), "range"),
    ("quantile_q_tensor_range", lambda m, t: m.quantile(m.zeros(3), t([0.5, 1.5])), "range"),
    ("quantile_q_2d", lambda m, t: m.quantile(m.zeros(3), t([[0.5]])), "1D"),
    ("quantile_q_dtype", lambda m, t: m.quantile(m.zeros(3), t([0.5], dtype=m.float64)), "same dtype"),
    ("quantile_int_input", lambda m, t: m.quantile(t([1, 2]), 0.5), "float or double"),
    ("quantile_interpolation", lambda m, t: m.quantile(m.zeros(3), 0.5, interpolation="cubic"), "interpolation"),
    ("quantile_empty", lambda m, t: m.quantile(m.zeros(0), 0.5), "non-empty"),
    ("nanquantile_dim_out_of_range", lambda m, t: m.nanquantile(m.zeros(2, 2), 0.5, dim=2), "out of range"),
]


@pytest.mark.parametrize("name, call, match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_input_is_refused_as_pytorch_refuses_it(name, call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(lambda: call(rg, rg.tensor), lambda: call(torch, torch.tensor), match or None)
