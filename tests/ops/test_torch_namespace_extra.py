"""torch's other top-level functions (ops/torch_namespace_extra.py, ops/torch_inplace_extra.py,
ops/torch_creation_extra.py) against torch 2.13:

- the thin wrappers (``clamp_min``, ``rsub``, ``angle``, ``fill``, ``put``, ``cumulative_trapezoid``,
  ``constant_pad_nd``, ``conv_tbc``, ``qr``, ``frobenius_norm`` …): values, dtypes and the gradients of
  a random-weighted sum of the outputs in float64 (``torch_compare.compare``), and the errors;
- every top-level in-place form ``rg.<name>_(x, …)``: the same values written into x, x returned, and
  PyTorch's refusal on a leaf that requires grad;
- creation (``logspace``, ``range``, ``scalar_tensor``, the windows), dtype questions (``result_type``,
  ``promote_types``, ``can_cast``, ``broadcast_shapes``, ``finfo``/``iinfo``), ``histogramdd``;
- the random functions by their distributions, shapes and dtypes, the generator's state functions
  and the anomaly switches.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from torch_compare import compare, outputs, same_error

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:.*(deprecated|torch.qr):UserWarning")]

R = np.random.default_rng(7)
NAN = math.nan


def _r(*shape):
    return R.standard_normal(shape)


X, Y = _r(3, 4), _r(3, 4)
POS = R.uniform(0.5, 3.0, (3, 4))
SIGNS = np.array([-1.0, 0.0, 2.0, NAN, -0.0, -3.5])


def _torch_dtype(np_dtype):
    return torch.from_numpy(np.zeros(0, dtype=np_dtype)).dtype


def _np_dtype(torch_dtype):
    return torch.empty(0, dtype=torch_dtype).numpy().dtype


# ---------------------------------------------------------------- the wrappers: values and gradients
CASES = {
    "clamp_min_number": (lambda m, x: m.clamp_min(x, 0.1), [X]),
    "clamp_min_tensor": (lambda m, x, y: m.clamp_min(x, y), [X, Y]),
    "clamp_max_number": (lambda m, x: m.clamp_max(x, -0.2), [X]),
    "clamp_max_tensor_broadcast": (lambda m, x, y: m.clamp_max(x, y), [X, _r(4)]),
    "clamp_min_int_float_bound": (lambda m, x: m.clamp_min(x, 1.5), [np.array([1, 2, 3])]),
    "rsub_number": (lambda m, x: m.rsub(x, 5), [X]),
    "rsub_tensor_alpha": (lambda m, x, y: m.rsub(x, y, alpha=2), [X, Y]),
    "rsub_int_float": (lambda m, x: m.rsub(x, 5.5), [np.array([1, 2])]),
    "angle_real": (lambda m, x: m.angle(x), [SIGNS]),
    "angle_int": (lambda m, x: m.angle(x), [np.array([-2, 0, 3])]),
    "angle_complex": (lambda m, z: m.angle(z), [np.array([1 + 1j, -2 + 0j, -1j, 0j])]),
    "fill_number": (lambda m, x: m.fill(x, 2.5), [X]),
    "fill_tensor_value": (lambda m, x, v: m.fill(x, v), [X, np.array(-1.5)]),
    "fill_int_truncates": (lambda m, x: m.fill(x, 2.7), [np.array([1, 2])]),
    "igamma": (lambda m, x: m.igamma(m.tensor(POS), x), [POS[::-1].copy()]),  # no derivative in a
    "igammac": (lambda m, x: m.igammac(m.tensor(POS), x), [POS[::-1].copy()]),
    "atleast_1d_scalar": (lambda m, x: m.atleast_1d(x), [np.array(2.0)]),
    "atleast_2d_vector": (lambda m, x: m.atleast_2d(x), [_r(3)]),
    "atleast_3d_vector": (lambda m, x: m.atleast_3d(x), [_r(3)]),
    "atleast_3d_matrix": (lambda m, x: m.atleast_3d(x), [X]),
    "atleast_3d_scalar": (lambda m, x: m.atleast_3d(x), [np.array(1.0)]),
    "atleast_2d_several": (lambda m, x, y: m.atleast_2d(x, y), [np.array(1.0), X]),
    "atleast_1d_list": (lambda m, x, y: m.atleast_1d([x, y]), [np.array(1.0), _r(2)]),
    "row_stack": (lambda m, x, y: m.row_stack([x, y]), [_r(4), X]),
    "swapdims": (lambda m, x: m.swapdims(x, 0, 2), [_r(2, 3, 4)]),
    "t_matrix": (lambda m, x: m.t(x), [X]),
    "t_vector": (lambda m, x: m.t(x), [_r(3)]),
    "detach": (lambda m, x: m.detach(x) * 2, [X]),
    "unsafe_chunk": (lambda m, x: m.unsafe_chunk(x, 2, 1), [_r(3, 5)]),
    "unsafe_split": (lambda m, x: m.unsafe_split(x, 2), [_r(5, 2)]),
    "unsafe_split_with_sizes": (lambda m, x: m.unsafe_split_with_sizes(x, [1, 3], 1), [X]),
    "put": (lambda m, x, s, i: m.put(x, i, s), [X, _r(3), np.array([0, -1, 5])]),
    "put_accumulate_repeats": (lambda m, x, s, i: m.put(x, i, s, accumulate=True),
                               [X, _r(2, 2), np.array([[1, 1], [11, -12]])]),
    "put_method": (lambda m, x, s, i: x.put(i, s), [X, _r(2), np.array([2, 7])]),
    "cumulative_trapezoid": (lambda m, y: m.cumulative_trapezoid(y), [X]),
    "cumulative_trapezoid_dx_dim": (lambda m, y: m.cumulative_trapezoid(y, dx=0.5, dim=0), [X]),
    "cumulative_trapezoid_x_1d": (lambda m, y, x: m.cumulative_trapezoid(y, x), [X, np.cumsum(POS[0])]),
    "cumulative_trapezoid_x_nd": (lambda m, y, x: m.cumulative_trapezoid(y, x, dim=0), [X, _r(3, 4)]),
    "cumulative_trapezoid_x_broadcast": (lambda m, y, x: m.cumulative_trapezoid(y, x), [_r(2, 3, 4), _r(3, 4)]),
    "cumulative_trapezoid_int": (lambda m, y: m.cumulative_trapezoid(y), [np.array([1, 2, 4])]),
    "cumulative_trapezoid_one_sample": (lambda m, y: m.cumulative_trapezoid(y), [_r(1)]),
    "constant_pad_nd": (lambda m, x: m.constant_pad_nd(x, (1, 2)), [X]),
    "constant_pad_nd_value_2d": (lambda m, x: m.constant_pad_nd(x, (1, 0, 0, 2), 7.5), [X]),
    "constant_pad_nd_crop": (lambda m, x: m.constant_pad_nd(x, (-1, 1, 1, -2)), [X]),
    "constant_pad_nd_int": (lambda m, x: m.constant_pad_nd(x, [1, 1], 2.5), [np.array([[1, 2]])]),
    "conv_tbc": (lambda m, x, w, b: m.conv_tbc(x, w, b), [_r(5, 2, 3), _r(2, 3, 4), _r(4)]),
    "conv_tbc_pad": (lambda m, x, w, b: m.conv_tbc(x, w, b, 2), [_r(4, 2, 3), _r(3, 3, 2), _r(2)]),
    "conv_tbc_negative_pad": (lambda m, x, w, b: m.conv_tbc(x, w, b, -1), [_r(6, 1, 2), _r(2, 2, 3), _r(3)]),
    "qr_reduced": (lambda m, a: m.qr(a), [_r(4, 3)]),
    "qr_complete_wide": (lambda m, a: m.qr(a, some=False), [_r(2, 3)]),
    "qr_batched": (lambda m, a: m.qr(a, True), [_r(2, 3, 3)]),
    "frobenius_norm": (lambda m, x: m.frobenius_norm(x, (0, 1)), [X]),
    "frobenius_norm_dim_keepdim": (lambda m, x: m.frobenius_norm(x, [1], True), [_r(2, 3, 4)]),
    "frobenius_norm_int_dim": (lambda m, x: m.frobenius_norm(x, -1), [X]),
    "frobenius_norm_empty_dims": (lambda m, x: m.frobenius_norm(x, []), [X]),
    "nuclear_norm": (lambda m, x: m.nuclear_norm(x), [X]),
    "nuclear_norm_keepdim": (lambda m, x: m.nuclear_norm(x, True), [X]),
    "nuclear_norm_dim": (lambda m, x: m.nuclear_norm(x, (0, 2)), [_r(3, 2, 4)]),
    "conv3d": (lambda m, x, w: m.conv3d(x, w, padding=1), [_r(1, 2, 3, 3, 3), _r(2, 2, 2, 2, 2)]),
    "conv_transpose1d": (lambda m, x, w: m.conv_transpose1d(x, w, stride=2), [_r(1, 2, 4), _r(2, 3, 3)]),
    "conv_transpose3d": (lambda m, x, w: m.conv_transpose3d(x, w), [_r(1, 2, 2, 2, 2), _r(2, 1, 2, 2, 2)]),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    fn, arrays = CASES[name]
    compare(lambda *a: fn(rg, *a), lambda *a: fn(torch, *a), *arrays)


def test_angle_gradient_is_zero_and_on_the_tape():
    x = rg.tensor([-1.0, 2.0], requires_grad=True)
    y = rg.angle(x)
    assert y.requires_grad and torch.angle(torch.tensor([-1.0, 2.0], requires_grad=True)).requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_deprecated_linalg_warns():
    for call in (lambda m: m.qr(m.ones(2, 2)), lambda m: m.frobenius_norm(m.ones(2, 2), 1),
                 lambda m: m.nuclear_norm(m.ones(2, 2))):
        with pytest.warns(UserWarning, match="deprecated"):
            call(rg)


ERRORS = {
    "clamp_min_none": (lambda m: m.clamp_min(m.ones(2), None), None),
    "rsub_number_first": (lambda m: m.rsub(5, m.ones(2)), None),
    "rsub_bools": (lambda m: m.rsub(m.tensor([True]), m.tensor([True])), "two bool tensors"),
    "rsub_bool_number": (lambda m: m.rsub(m.tensor([1]), True), "with a bool tensor"),
    "fill_1d_value": (lambda m: m.fill(m.ones(2), m.ones(1)), "0-dimension value tensor"),
    "t_3d": (lambda m: m.t(m.ones(2, 2, 2)), None),
    "put_float_index": (lambda m: m.put(m.ones(3), m.tensor([0.0]), m.ones(1)), "long tensor for index"),
    "put_int32_index": (lambda m: m.put(m.ones(3), m.tensor([0], dtype=m.int32), m.ones(1)), "long tensor"),
    "put_dtypes": (lambda m: m.put(m.ones(3), m.tensor([0]), m.ones(1, dtype=m.float64)), "same dtype"),
    "put_counts": (lambda m: m.put(m.ones(3), m.tensor([0, 1]), m.ones(1)), "same number of elements"),
    "put_out_of_range": (lambda m: m.put(m.ones(3), m.tensor([3]), m.ones(1)), "out of range"),
    "put_negative_out_of_range": (lambda m: m.put(m.ones(3), m.tensor([-4]), m.ones(1)), "out of range"),
    "cumtrapz_0d": (lambda m: m.cumulative_trapezoid(m.tensor(1.0)), "0-dim"),
    "cumtrapz_x_length": (lambda m: m.cumulative_trapezoid(m.ones(2, 3), m.tensor([0.0, 1.0])), "one `x` value"),
    "cumtrapz_x_and_dx": (lambda m: m.cumulative_trapezoid(m.ones(3), m.ones(3), dx=1), None),
    "cumtrapz_x_shape": (lambda m: m.cumulative_trapezoid(m.ones(2, 3), m.ones(3, 3)), "must match"),
    "cumtrapz_x_shape_3d": (lambda m: m.cumulative_trapezoid(m.ones(2, 3), m.ones(4, 2, 3)), "dimension 2"),
    "pad_odd": (lambda m: m.constant_pad_nd(m.ones(2, 3), (1,)), "even"),
    "pad_too_long": (lambda m: m.constant_pad_nd(m.ones(2, 3), (1,) * 6), "twice the number of dimensions"),
    "pad_negative_size": (lambda m: m.constant_pad_nd(m.ones(2, 3), (-2, -2)), None),
    "conv_tbc_input_dims": (lambda m: m.conv_tbc(m.ones(5, 2), m.ones(2, 3, 4), m.ones(4)), "3 dims"),
    "conv_tbc_weight_dims": (lambda m: m.conv_tbc(m.ones(5, 2, 3), m.ones(2, 3), m.ones(4)), "3 dims"),
    "conv_tbc_bias_dims": (lambda m: m.conv_tbc(m.ones(5, 2, 3), m.ones(2, 3, 4), m.ones(4, 1)), "1-D"),
    "conv_tbc_channels": (lambda m: m.conv_tbc(m.ones(5, 2, 3), m.ones(2, 4, 4), m.ones(4)), "input channels"),
    "conv_tbc_bias": (lambda m: m.conv_tbc(m.ones(5, 2, 3), m.ones(2, 3, 4), m.ones(3)), "Bias size"),
    "conv_tbc_long_kernel": (lambda m: m.conv_tbc(m.ones(5, 2, 3), m.ones(7, 3, 4), m.ones(4)), "negative"),
    "frobenius_three_dims": (lambda m: m.frobenius_norm(m.ones(2, 2, 2), (0, 1, 2)), "at most 2"),
    "frobenius_repeated_dim": (lambda m: m.frobenius_norm(m.ones(2, 2), (0, 0)), "multiple times"),
    "frobenius_dim_range": (lambda m: m.frobenius_norm(m.ones(2, 2), 5), "out of range"),
    "frobenius_int": (lambda m: m.frobenius_norm(m.tensor([1, 2]), 0), "floating point"),
    "frobenius_no_dim": (lambda m: m.frobenius_norm(m.ones(2, 2)), None),
    "nuclear_vector": (lambda m: m.nuclear_norm(m.ones(3)), "at least 2 dimensions"),
    "nuclear_one_dim": (lambda m: m.nuclear_norm(m.ones(2, 3), (0,)), "2-tuple"),
    "matrix_rank_removed": (lambda m: m.matrix_rank(m.eye(2)), "removed"),
    "lstsq_removed": (lambda m: m.lstsq(m.eye(2), m.eye(2)), "removed"),
    "solve_removed": (lambda m: m.solve(m.eye(2), m.eye(2)), "removed"),
    "eig_removed": (lambda m: m.eig(m.eye(2)), "removed"),
    "symeig_removed": (lambda m: m.symeig(m.eye(2)), "removed"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    call, match = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(lambda: call(rg), lambda: call(torch), match=match)


# ---------------------------------------------------------------- top-level in-place forms
UNIT = R.uniform(0.1, 0.9, (2, 3))
INPLACE = {  # name: (x, extra arguments (arrays become tensors), keywords)
    **{n: (UNIT, (), {}) for n in ("abs_", "acos_", "arccos_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
                                   "asinh_", "atan_", "atanh_", "ceil_", "conj_physical_", "cos_", "cosh_", "deg2rad_",
                                   "erf_", "erfc_", "exp2_", "exp_", "expm1_", "floor_", "frac_", "i0_", "log10_",
                                   "log1p_", "log2_", "log_", "logit_", "neg_", "negative_", "rad2deg_",
                                   "reciprocal_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_",
                                   "square_", "tan_", "tanh_", "trunc_", "zero_", "detach_")},
    "acosh_": (1 + UNIT, (), {}), "arccosh_": (1 + UNIT, (), {}), "fix_": (4 * X[:2, :3], (), {}),
    "relu_": (X, (), {}), "clamp_": (X, (-0.5, 0.5), {}), "clip_": (X, (), {"max": 0.1}),
    "clamp_min_": (X, (0.0,), {}), "clamp_max_": (X, (Y,), {}), "fill_": (X, (2.5,), {}),
    "round_decimals": (3 * X, (), {"decimals": 1}), "logit_eps": (np.array([0.0, 0.5, 1.0]), (1e-3,), {}),
    "nan_to_num_": (np.array([NAN, math.inf, -math.inf, 1.0]), (), {"posinf": 9.0}),
    "xlogy_": (np.array([0.0, 1.0, 2.0]), (np.array([0.0, 2.0, 3.0]),), {}),
    "ldexp_": (X[0], (np.array([1, -2, 0, 3]),), {}),
    "gcd_": (np.array([12, -18, 0]), (np.array([8, 12, 5]),), {}),
    "lcm_": (np.array([4, -6, 0]), (np.array([6, 4, 5]),), {}),
    "index_put_": (X, ((np.array([0, 2]),), np.array(7.0)), {}),
    "addmv_": (_r(3), (_r(3, 4), _r(4)), {"beta": 0.5, "alpha": 2}),
}


def _args(m, args):
    def convert(a):
        if isinstance(a, tuple):
            return tuple(convert(v) for v in a)
        return m.tensor(a) if isinstance(a, np.ndarray) else a
    return convert(args)


@pytest.mark.parametrize("case", INPLACE)
def test_top_level_in_place(case):
    name = case.split("_decimals")[0].split("_eps")[0]
    name = name if name.endswith("_") else name + "_"
    x, args, kwargs = INPLACE[case]
    ours, theirs = rg.tensor(x.copy()), torch.tensor(x.copy())
    out_r = getattr(rg, name)(ours, *_args(rg, args), **kwargs)
    out_t = getattr(torch, name)(theirs, *_args(torch, args), **kwargs)
    assert out_r is ours and out_t is theirs
    assert ours.dtype == _np_dtype(theirs.dtype)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-15)


def test_every_top_level_in_place_is_covered():
    from retrograd.ops.torch_inplace_extra import NAMES
    covered = {c.split("_decimals")[0].split("_eps")[0] for c in INPLACE}
    assert set(NAMES) <= {n if n.endswith("_") else n + "_" for n in covered}
    assert all(callable(getattr(rg, n)) and hasattr(torch, n) for n in NAMES)


def test_in_place_refusals_match_torch():
    same_error(lambda: rg.abs_(rg.ones(2, requires_grad=True)), lambda: torch.abs_(torch.ones(2, requires_grad=True)),
               match="leaf Variable")
    same_error(lambda: rg.erf_(rg.tensor([1, 2])), lambda: torch.erf_(torch.tensor([1, 2])), match="can't be cast")
    same_error(lambda: rg.abs_([1.0]), lambda: torch.abs_([1.0]))
    with rg.no_grad():  # off the tape a leaf that requires grad may be written, as in PyTorch
        w = rg.tensor([-1.0, 2.0], requires_grad=True)
        assert rg.exp2_(w) is w
    np.testing.assert_allclose(w.data, [0.5, 4.0])


# ---------------------------------------------------------------- creation
def _same_tensor(ours, theirs, rtol=1e-12):
    assert ours.dtype == _np_dtype(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=1e-15 if rtol < 1e-7 else 1e-7)
    assert ours.requires_grad == theirs.requires_grad


CREATION = {
    "logspace": lambda m: m.logspace(0, 2, 5, dtype=m.float64),
    "logspace_base2_default_dtype": lambda m: m.logspace(-1, 3, 7, base=2),
    "logspace_int_dtype": lambda m: m.logspace(0, 1, 4, dtype=m.int64),
    "logspace_descending": lambda m: m.logspace(2, -2, 6, dtype=m.float64),
    "logspace_empty": lambda m: m.logspace(0, 2, 0),
    "logspace_one": lambda m: m.logspace(3, 9, 1, dtype=m.float64),
    "logspace_tensor_bounds": lambda m: m.logspace(m.tensor(0), m.tensor(1.0), 3, dtype=m.float64),
    "range": lambda m: m.range(1, 4),
    "range_float_step": lambda m: m.range(0, 1, 0.3, dtype=m.float64),
    "range_down": lambda m: m.range(4, 1, -1, dtype=m.float64),
    "range_int_dtype": lambda m: m.range(1, 7, 2, dtype=m.int64),
    "range_one_point": lambda m: m.range(2.5, 2.5),
    "range_requires_grad": lambda m: m.range(0.0, 2.0, requires_grad=True),
    "scalar_tensor_int": lambda m: m.scalar_tensor(3),
    "scalar_tensor_bool": lambda m: m.scalar_tensor(True),
    "scalar_tensor_dtype": lambda m: m.scalar_tensor(2.5, dtype=m.int64),
    "scalar_tensor_of_tensor": lambda m: m.scalar_tensor(m.tensor(2)),
    "scalar_tensor_grad": lambda m: m.scalar_tensor(1.5, dtype=m.float64, requires_grad=True),
    **{f"{w}_{n}_{p}": (lambda m, w=w, n=n, p=p: getattr(m, w)(n, p, dtype=m.float64))
       for w in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window")
       for n in (0, 1, 2, 7) for p in (True, False)},
    "hann_default_dtype": lambda m: m.hann_window(6),
    "hamming_alpha_beta": lambda m: m.hamming_window(6, False, 0.6, 0.3, dtype=m.float64),
    "kaiser_beta": lambda m: m.kaiser_window(6, True, 5.0, dtype=m.float64),
    "window_requires_grad": lambda m: m.bartlett_window(4, dtype=m.float64, requires_grad=True),
}


@pytest.mark.parametrize("name", CREATION)
def test_creation_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # range's deprecation: tested below
        ours, theirs = CREATION[name](rg), CREATION[name](torch)
    _same_tensor(ours, theirs, rtol=1e-6 if theirs.dtype == torch.float32 else 1e-12)


def test_range_warns_as_torch():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        rg.range(0, 1)


CREATION_ERRORS = {
    "logspace_negative_steps": (lambda m: m.logspace(0, 1, -1), "non-negative"),
    "range_zero_step": (lambda m: m.range(1, 4, 0), "nonzero"),
    "range_wrong_sign": (lambda m: m.range(4, 1), "inconsistent with step sign"),
    "window_negative": (lambda m: m.hann_window(-1), "non-negative window_length"),
    "window_int_dtype": (lambda m: m.blackman_window(5, dtype=m.int64), "floating point"),
    "result_type_one_argument": (lambda m: m.result_type(m.ones(2)), None),
    "broadcast_mismatch": (lambda m: m.broadcast_shapes((2, 3), (4,)), "broadcast a dimension of length 4"),
    "broadcast_negative": (lambda m: m.broadcast_shapes((2, -1)), "negative length"),
    "broadcast_float": (lambda m: m.broadcast_shapes(2.0), "ints"),
    "finfo_int": (lambda m: m.finfo(m.int32), "floating point"),
    "iinfo_float": (lambda m: m.iinfo(m.float32), "integer"),
    "iinfo_bool": (lambda m: m.iinfo(m.bool), "not supported"),
    "randint_like_empty_range": (lambda m: m.randint_like(m.zeros(2), 5, 5), "less than"),
    "randint_like_uint8_high": (lambda m: m.randint_like(m.zeros(2, dtype=m.uint8), 300), "out of bounds"),
    "randint_like_uint8_low": (lambda m: m.randint_like(m.zeros(2, dtype=m.uint8), -1, 3), "out of bounds"),
    "randint_like_bool": (lambda m: m.randint_like(m.zeros(2, dtype=m.bool), 5), "out of bounds"),
    "randint_like_float_high": (lambda m: m.randint_like(m.zeros(2), 2.5), None),
    "binomial_int_count": (lambda m: m.binomial(m.tensor([3, 4]), m.tensor([0.5, 0.5])), "floating-point"),
    "binomial_dtypes": (lambda m: m.binomial(m.ones(2), m.ones(2, dtype=m.float64)), "expected Float"),
    "poisson_int": (lambda m: m.poisson(m.tensor([1, 2])), "not implemented for 'Long'"),
    "poisson_negative": (lambda m: m.poisson(m.tensor([-1.0])), "non-negative"),
    "poisson_nan": (lambda m: m.poisson(m.tensor([NAN])), "non-negative"),
    "histogramdd_1d": (lambda m: m.histogramdd(m.ones(3), bins=2), "at least 2 dimensions"),
    "histogramdd_bins_count": (lambda m: m.histogramdd(m.ones(3, 2), bins=[2]), "size of bins"),
    "histogramdd_zero_bins": (lambda m: m.histogramdd(m.ones(3, 2), bins=[2, 0]), "dimension 1"),
    "histogramdd_int": (lambda m: m.histogramdd(m.ones(3, 2, dtype=m.int64), bins=2), "Long"),
    "histogramdd_range_length": (lambda m: m.histogramdd(m.ones(3, 2), bins=2, range=[0.0, 1.0]), "4 elements"),
    "histogramdd_range_order": (lambda m: m.histogramdd(m.ones(3, 2), 2, range=[0.0, 1.0, 2.0, 1.0]), "dimension 1"),
}


@pytest.mark.parametrize("name", CREATION_ERRORS)
def test_creation_errors_match_torch(name):
    call, match = CREATION_ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(lambda: call(rg), lambda: call(torch), match=match)


# ---------------------------------------------------------------- dtype questions
DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64,
          np.complex64, np.complex128]


def test_promote_types_and_can_cast_match_torch():
    for a in DTYPES:
        for b in DTYPES:
            ta, tb = _torch_dtype(a), _torch_dtype(b)
            assert rg.promote_types(a, b) == _np_dtype(torch.promote_types(ta, tb)), (a, b)
            assert rg.can_cast(a, b) == torch.can_cast(ta, tb), (a, b)


RESULT_TYPES = [(np.array([1, 2]), 1.0), (1, 2.0), (np.array([1, 2]), np.array(1.0)), (np.array(1), True),
                (np.array([1.0], np.float32), np.array(2.0)), (np.array([True]), 3), (2.5, np.array([1], np.int8)),
                (np.array([1], np.uint8), np.array([1], np.int8)), (np.array([1.0], np.float32), 1 + 2j)]


@pytest.mark.parametrize("pair", RESULT_TYPES, ids=str)
def test_result_type_matches_torch(pair):
    ours = [rg.tensor(v) if isinstance(v, np.ndarray) else v for v in pair]
    theirs = [torch.from_numpy(v) if isinstance(v, np.ndarray) else v for v in pair]
    assert rg.result_type(*ours) == _np_dtype(torch.result_type(*theirs))


@pytest.mark.parametrize("shapes", [((2, 1), (3,), 1), (), ((0, 1), (5,)), ([3, 1, 2],), ((1,), (1, 1, 4)), (5, 1)],
                         ids=str)
def test_broadcast_shapes_matches_torch(shapes):
    assert rg.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))


def test_finfo_and_iinfo_match_torch():
    for dt in (None, np.float16, np.float32, np.float64, np.complex128):
        ours, theirs = rg.finfo(dt) if dt else rg.finfo(), torch.finfo(_torch_dtype(dt)) if dt else torch.finfo()
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(ours, attr) == getattr(theirs, attr), (dt, attr)
        assert repr(ours) == repr(theirs)
    for dt in (np.uint8, np.int8, np.int16, np.int32, np.int64):
        ours, theirs = rg.iinfo(dt), torch.iinfo(_torch_dtype(dt))
        assert (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min, theirs.dtype)
        assert repr(ours) == repr(theirs)
    assert rg.finfo(rg.float32) == rg.finfo(np.dtype("float32")) and rg.iinfo(rg.int8) != rg.iinfo(rg.int16)


def test_constants():
    assert (rg.pi, rg.e, rg.inf, rg.newaxis) == (torch.pi, torch.e, torch.inf, torch.newaxis)
    assert math.isnan(rg.nan)


# ---------------------------------------------------------------- histogramdd
HISTOGRAMS = {
    "int_bins_weights": (lambda m, x, w: m.histogramdd(x, bins=[3, 2], weight=w), [_r(20, 2), R.uniform(0, 1, 20)]),
    "one_int_bins": (lambda m, x: m.histogramdd(x, 4), [_r(4, 5, 3)]),
    "range_density": (lambda m, x: m.histogramdd(x, bins=[2, 3], range=[-1.0, 1.0, 0.0, 2.0], density=True),
                      [_r(30, 2)]),
    "edges": (lambda m, x, e0, e1: m.histogramdd(x, bins=[e0, e1]),
              [_r(10, 2), np.array([-2.0, 0.0, 0.5, 2.0]), np.array([-1.0, 1.0])]),
    "one_value": (lambda m, x: m.histogramdd(x, bins=2), [np.ones((3, 2))]),
    "float32": (lambda m, x: m.histogramdd(x, bins=[3, 3]), [_r(12, 2).astype(np.float32)]),
}


@pytest.mark.parametrize("name", HISTOGRAMS)
def test_histogramdd_matches_torch(name):
    fn, arrays = HISTOGRAMS[name]
    ours = fn(rg, *(rg.tensor(a) for a in arrays))
    theirs = fn(torch, *(torch.from_numpy(a) for a in arrays))
    _same_tensor(ours.hist, theirs.hist)
    assert len(ours.bin_edges) == len(theirs.bin_edges)
    for a, b in zip(ours.bin_edges, theirs.bin_edges):
        _same_tensor(a, b)


# ---------------------------------------------------------------- random functions
def test_randint_like_shapes_dtypes_and_range():
    rg.manual_seed(3)
    x = rg.zeros(50, 40, dtype=rg.int32)
    a = rg.randint_like(x, 3, 7)
    assert a.dtype == np.int32 and a.shape == (50, 40) and set(np.unique(a.data)) == {3, 4, 5, 6}
    b = rg.randint_like(rg.zeros(4), 5)
    assert b.dtype == np.float32 and b.data.min() >= 0 and b.data.max() < 5
    c = rg.randint_like(rg.zeros(3), high=4, dtype=rg.int64, requires_grad=False)
    d = rg.randint_like(rg.zeros(2, dtype=rg.float64), 5, requires_grad=True)
    assert c.dtype == np.int64 and d.requires_grad and d.dtype == np.float64
    assert torch.randint_like(torch.zeros(3), high=4, dtype=torch.int64).dtype == torch.int64


def test_binomial_and_poisson_distributions():
    rg.manual_seed(4)
    count = rg.full((20000,), 10.0, dtype=rg.float64)
    draws = rg.binomial(count, rg.full((20000,), 0.3, dtype=rg.float64))
    assert draws.dtype == np.float64 and abs(draws.data.mean() - 3.0) < 0.06 and abs(draws.data.var() - 2.1) < 0.1
    edge = rg.binomial(rg.tensor([-10.0, 5.0, 4.0]), rg.tensor([0.5, 1.2, 0.0]))  # PyTorch's edges: 0, all, none
    np.testing.assert_array_equal(edge.data, torch.binomial(torch.tensor([-10.0, 5.0, 4.0]),
                                                            torch.tensor([0.5, 1.2, 0.0])).numpy())
    assert rg.binomial(rg.ones(2, 3), rg.full((3,), 0.5)).shape == (2, 3)
    rates = rg.tensor(np.repeat([0.0, 0.5, 4.0], 20000).astype(np.float32), requires_grad=True)
    p = rg.poisson(rates)
    assert p.dtype == np.float32 and p.requires_grad
    means = p.data.reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(means, [0.0, 0.5, 4.0], atol=0.05)
    p.sum().backward()  # the draws are piecewise constant in the rates: PyTorch's gradient is 0
    assert not np.any(rates.grad.data)


def test_generator_state_functions():
    rg.manual_seed(123)
    assert rg.initial_seed() == 123
    state = rg.get_rng_state()
    first = rg.rand(4).data
    rg.set_rng_state(state)
    np.testing.assert_array_equal(rg.rand(4).data, first)
    s = rg.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and rg.initial_seed() == s
    with pytest.raises(ValueError):
        rg.set_rng_state({"bit_generator": "MT19937"})


def test_anomaly_switches():
    assert rg.is_anomaly_enabled() is torch.is_anomaly_enabled() is False
    assert rg.is_anomaly_check_nan_enabled() is torch.is_anomaly_check_nan_enabled() is True
    with rg.detect_anomaly():
        assert rg.is_anomaly_enabled()
    rg.set_anomaly_enabled(True)
    try:
        assert rg.is_anomaly_enabled()
    finally:
        rg.set_anomaly_enabled(False)
    assert not rg.is_anomaly_enabled()
    with pytest.raises(RuntimeError, match="check_nan"):
        rg.set_anomaly_enabled(True, check_nan=False)


def test_outputs_helper_shapes():  # one multi-output wrapper through compare's helper: a tuple of tensors
    assert len(outputs(rg.unsafe_chunk(rg.ones(4), 2))) == 2


def test_put_in_place_as_torch():
    ours, theirs = rg.tensor(X.copy()), torch.tensor(X.copy())
    for t, m in ((ours, rg), (theirs, torch)):
        assert t.put_(m.tensor([0, -1, 0]), m.tensor([1.0, 2.0, 3.0], dtype=m.float64), accumulate=True) is t
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    same_error(lambda: rg.ones(3, requires_grad=True).put_(rg.tensor([0]), rg.ones(1)),
               lambda: torch.ones(3, requires_grad=True).put_(torch.tensor([0]), torch.ones(1)), match="leaf Variable")
