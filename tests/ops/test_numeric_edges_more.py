"""Edges of the reductions, softmaxes, gelu, cumprod, roll, masked_fill and topk
on bad inputs, held to PyTorch: NaN/±inf, complex, integer, empty and 0-d tensors.

Each expected value is PyTorch 2.13's, read off by running it (written out here
so the tests run without torch).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg

NAN, INF = np.nan, np.inf


def _grad(fn, x, g=None):
    """(value, gradient of x) of ``fn`` at the float64 array ``x`` for the upstream ``g`` (ones by default)."""
    xt = rg.tensor(np.array(x, dtype=np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = fn(xt)
        y.backward(rg.tensor(np.ones(y.shape) if g is None else np.asarray(g, dtype=np.float64)))
    return y.data, xt.grad.data


# ---------------------------------------------------------------- max / min
@pytest.mark.parametrize("fn", [rg.max, rg.min, rg.amax, rg.amin, lambda x: rg.max(x, dim=0)])
def test_max_min_refuse_complex_naming_the_op(fn):
    with pytest.raises(rg.OpError, match=r"\b(max|min|amax|amin)\b.*complex"):
        fn(rg.tensor(np.array([1 + 1j, 2j])))


def test_max_dim_routes_the_gradient_to_the_first_nan_of_a_line():
    x = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, INF, 1.0]]
    values, grad = _grad(lambda t: rg.max(t, dim=1).values, x)
    np.testing.assert_array_equal(values, [NAN, INF])
    np.testing.assert_array_equal(grad, [[0, 1, 0, 0], [0, 0, 1, 0]])
    _, grad = _grad(lambda t: rg.min(t, dim=1).values, x)
    np.testing.assert_array_equal(grad, [[0, 1, 0, 0], [0, 0, 0, 1]])


def test_amax_of_a_nan_line_has_nan_gradient_over_the_line():
    _, grad = _grad(lambda t: rg.amax(t, 1), [[1.0, NAN, 3.0], [2.0, 5.0, 1.0]])
    np.testing.assert_array_equal(grad, [[NAN, NAN, NAN], [0, 1, 0]])


# ---------------------------------------------------------------- prod / cumprod at NaN, ±inf
def test_prod_gradient_at_nan_and_inf_is_y_over_x_without_zeros():
    x = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, INF, 1.0]]
    values, grad = _grad(lambda t: rg.prod(t, dim=1), x)
    np.testing.assert_array_equal(values, [NAN, INF])
    np.testing.assert_array_equal(grad, [[NAN] * 4, [INF, INF, NAN, INF]])
    _, grad = _grad(rg.prod, [[2.0, INF], [3.0, 1.5]])
    np.testing.assert_array_equal(grad, [[INF, NAN], [INF, INF]])


def test_prod_gradient_with_a_zero_keeps_the_exclusive_products():
    _, grad = _grad(lambda t: rg.prod(t, dim=1), [[0.0, 2.0, 3.0], [INF, 2.0, 1.0]])
    np.testing.assert_array_equal(grad, [[6.0, 0.0, 0.0], [2.0, INF, INF]])


def test_prod_of_a_0d_nan_passes_the_gradient():
    _, grad = _grad(rg.prod, NAN)
    assert grad == 1.0


def test_cumprod_gradient_at_nan_and_inf():
    x = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, INF, 1.0]]
    _, grad = _grad(lambda t: rg.cumprod(t, 1), x)
    np.testing.assert_array_equal(grad, [[NAN] * 4, [INF, INF, NAN, INF]])


def test_cumprod_along_a_size_one_axis_passes_the_gradient_at_nan():
    _, grad = _grad(lambda t: rg.cumprod(t, 1), [[NAN], [INF]], g=[[2.0], [3.0]])
    np.testing.assert_array_equal(grad, [[2.0], [3.0]])


def test_cumprod_nan_after_a_zero_does_not_reach_the_entries_before_it():
    # y after the zero is 0·NaN = NaN; PyTorch sums ȳ·y only up to the first zero, and the
    # first zero's term only up to the second zero
    _, grad = _grad(lambda t: rg.cumprod(t, 0), [2.0, 0.0, 3.0, 0.0, NAN])
    np.testing.assert_array_equal(grad, [1.0, 2.0 + 6.0, 0.0, 0.0, 0.0])


# ---------------------------------------------------------------- var / std
def test_var_and_std_of_complex_input_are_real():
    z = rg.tensor(np.array([1 + 1j, 2j, 3.0]))
    v, s = rg.var(z), rg.std(z)
    assert v.dtype == np.float64 and s.dtype == np.float64
    np.testing.assert_allclose(v.data, 10 / 3)
    np.testing.assert_allclose(s.data, np.sqrt(10 / 3))


@pytest.mark.parametrize("x", [np.array(2.0), np.array([1.5, 1.5, 1.5])], ids=["0d", "constant"])
def test_std_of_zero_spread_has_zero_gradient(x):
    value, grad = _grad(lambda t: rg.std(t, correction=0), x)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    xt = rg.tensor(x, requires_grad=True)
    (g,) = rg.grad(rg.std(xt, correction=0), [xt], create_graph=True)
    np.testing.assert_array_equal(g.data, np.zeros_like(x))


# ---------------------------------------------------------------- logsumexp / softmax / log_softmax
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("fn", [lambda x: rg.logsumexp(x, 0), lambda x: rg.logsumexp(x, dim=0)],
                         ids=["logsumexp", "logsumexp_dim"])
def test_logsumexp_of_integers_is_the_default_float_dtype(fn, dtype):
    x = np.array([1, 0, 1]).astype(dtype)
    y = fn(rg.tensor(x))
    assert y.dtype == rg.get_default_dtype()
    np.testing.assert_allclose(y.data, fn(rg.tensor(x.astype(np.float64))).data, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("fn, name", [(rg.softmax, "softmax"), (rg.log_softmax, "log_softmax")])
def test_softmax_of_integers_is_refused_naming_it_as_pytorch(fn, name, dtype):
    x = rg.tensor(np.array([1, 0, 1]).astype(dtype))
    with pytest.raises(rg.OpError, match=rf"^{name}: expected a floating tensor"):
        fn(x, 0)
    assert fn(x, 0, dtype=np.float32).dtype == np.float32  # PyTorch's dtype= casts first


def test_logsumexp_over_an_empty_axis_is_minus_inf():
    y = rg.logsumexp(rg.tensor(np.zeros((2, 0))), 1)
    np.testing.assert_array_equal(y.data, [-INF, -INF])
    assert rg.logsumexp(rg.tensor(np.zeros((0, 2))), 0).shape == (2,)


@pytest.mark.parametrize("fn", [rg.softmax, rg.log_softmax])
@pytest.mark.parametrize("shape, axis", [((2, 0), 1), ((0, 2), 1), ((0, 2), 0)])
def test_softmax_of_an_empty_tensor_is_empty(fn, shape, axis):
    x = rg.tensor(np.zeros(shape), requires_grad=True)
    y = fn(x, axis)
    assert y.shape == shape and y.dtype == np.float64
    y.backward(rg.tensor(np.zeros(shape)))
    assert x.grad.shape == shape


@pytest.mark.parametrize("fn, name", [(rg.softmax, "softmax"), (rg.log_softmax, "log_softmax")])
def test_softmax_refuses_complex_naming_it(fn, name):
    with pytest.raises(rg.OpError, match=rf"^{name}: complex"):
        fn(rg.tensor(np.array([1 + 1j, 2j])), 0)


# ---------------------------------------------------------------- gelu
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_refuses_complex_naming_gelu(approximate):
    with pytest.raises(rg.OpError, match=r"^gelu: complex"):
        rg.gelu(rg.tensor(np.array([1 + 1j])), approximate=approximate)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_gelu_of_integers_is_the_default_float_dtype(approximate, dtype):
    x = np.array([-2, 0, 3]).astype(dtype)
    y = rg.gelu(rg.tensor(x), approximate=approximate)
    assert y.dtype == rg.get_default_dtype()
    expected = rg.gelu(rg.tensor(x.astype(np.float64)), approximate=approximate).data
    np.testing.assert_allclose(y.data, expected, rtol=1e-6)


# ---------------------------------------------------------------- roll, masked_fill, topk
@pytest.mark.parametrize("dims", [0, -1, (0,)])
def test_roll_of_a_0d_tensor_along_a_dim_is_refused(dims):
    with pytest.raises(rg.OpError, match=r"^roll: dimension"):
        rg.roll(rg.tensor(1.0), 1, dims)
    assert rg.roll(rg.tensor(1.0), 1).data == 1.0  # no dims: the flattened tensor, as PyTorch


@pytest.mark.parametrize("x", [np.array([1, 2]), np.array([True, False])], ids=["int64", "bool"])
def test_masked_fill_of_a_non_float_tensor_with_a_differentiable_value_is_refused(x):
    value = rg.tensor(0.5, requires_grad=True)
    with pytest.raises(rg.OpError, match=r"^masked_fill: .*requires grad"):
        rg.masked_fill(rg.tensor(x), np.array([True, False]), value)
    out = rg.masked_fill(rg.tensor(x), np.array([True, False]), rg.tensor(0.5))  # a constant value is cast
    assert out.dtype == x.dtype


@pytest.mark.parametrize("value", [1 + 1j, rg.tensor(np.array(1 + 1j))], ids=["number", "tensor"])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_masked_fill_refuses_a_complex_value_into_a_real_tensor(value, dtype):
    with pytest.raises(rg.OpError, match=r"^masked_fill: complex value"):
        rg.masked_fill(rg.tensor(np.array([1, 2], dtype=dtype)), np.array([True, False]), value)


def test_masked_fill_takes_a_complex_value_with_no_imaginary_part_or_into_bool():
    out = rg.masked_fill(rg.tensor(np.array([1.0, 2.0])), np.array([True, False]), 3 + 0j)
    np.testing.assert_array_equal(out.data, [3.0, 2.0])
    out = rg.masked_fill(rg.tensor(np.array([False, False])), np.array([True, False]), 1 + 1j)
    np.testing.assert_array_equal(out.data, [True, False])


def test_topk_refuses_bool_input_naming_it():
    with pytest.raises(rg.OpError, match=r"^topk: boolean"):
        rg.topk(rg.tensor(np.array([True, False])), 1)
