"""Numbers at the edges, held to PyTorch: empty reductions, degrees of
freedom used up, 0-d tensors given an axis, pow at 0 and at negative bases,
negative pad widths, and dtypes (scalars do not promote, integers meet float
functions in the default float dtype, float16 stays float16, mixed float
dtypes are refused where PyTorch refuses them).

Values and gradients are compared with torch in float64; NaN must match NaN
and ±inf must match ±inf exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import torch
from retrograd.ops import reductions as R

pytestmark = pytest.mark.torch


def _same(ours, theirs):
    """Equal values (NaN where NaN, ±inf where ±inf) and equal shapes."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours.data if isinstance(ours, rg.Tensor) else ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, equal_nan=True)


def _value_and_gradients(ours_fn, torch_fn, *arrays):
    """Run both functions on float64 copies of ``arrays``; compare the values and
    the gradients of the sum of the outputs with respect to every input."""
    xs = [rg.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    ts = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    ours = ours_fn(*xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "degrees of freedom is <= 0"
        theirs = torch_fn(*ts)
        theirs.sum().backward()
    _same(ours, theirs)
    grads = rg.grad(rg.sum(ours), xs, allow_unused=True)
    for g, t in zip(grads, ts):
        _same(g if g is not None else np.zeros(t.shape), t.grad if t.grad is not None else torch.zeros(t.shape))


def _dims(axis):
    return {} if axis is None else {"dim": axis}


# ---------------------------------------------------------------- reductions over nothing
@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), None), ((0, 3), 0), ((0, 3), 1), ((2, 0), 1)])
def test_mean_of_an_empty_axis_is_nan_like_torch(shape, axis):
    _value_and_gradients(lambda x: rg.mean(x, axis), lambda x: x.mean(**_dims(axis)), np.zeros(shape))


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("shape, axis, ddof", [((0,), None, 0), ((0, 3), 0, 0), ((0, 3), None, 1), ((2, 0), 1, 1)])
def test_var_and_std_of_an_empty_axis_are_nan_like_torch(op, shape, axis, ddof):
    _value_and_gradients(lambda x: getattr(R, op)(x, axis, ddof=ddof),
                         lambda x: getattr(torch, op)(x, correction=ddof, **_dims(axis)), np.zeros(shape))


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("axis", [None, 0, (0,)])
@pytest.mark.parametrize("ddof", [3, 4])
@pytest.mark.parametrize("values", [[1.0, 2.0, 2.0], [5.0, 5.0, 5.0]])
def test_var_with_ddof_at_least_n_is_inf_or_nan_like_torch(op, axis, ddof, values):
    """Not a negative variance: Σd²/max(0, n − ddof), i.e. inf (NaN for 0/0), with
    PyTorch's gradients (which differ between axis=None and given axes)."""
    _value_and_gradients(lambda x: getattr(R, op)(x, axis, ddof=ddof),
                         lambda x: getattr(torch, op)(x, correction=ddof, **_dims(axis)), values)


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_of_a_0d_tensor_with_ddof_1_is_nan_like_torch(op):
    _value_and_gradients(lambda x: getattr(R, op)(x, ddof=1), lambda x: getattr(torch, op)(x), 2.0)


@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_mean_var_std_refuse_integer_tensors_like_torch(op):
    with pytest.raises(RuntimeError):
        getattr(torch, op)(torch.arange(3))
    with pytest.raises(rg.OpError, match=f"{op}: expected a floating tensor, got int64"):
        getattr(R, op)(rg.tensor(np.arange(3)))


@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), None), ((0, 3), 0), ((0, 3), 1)])
def test_prod_of_an_empty_tensor_is_one_and_differentiates(shape, axis):
    _value_and_gradients(lambda x: rg.prod(x, axis),
                         lambda x: x.prod() if axis is None else x.prod(dim=axis), np.zeros(shape))


# ---------------------------------------------------------------- 0-d tensors given an axis
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "logsumexp", "max", "squeeze", "softmax", "log_softmax"])
def test_axis_0_and_minus_1_on_a_0d_tensor_like_torch(op, axis):
    ours = {"sum": rg.sum, "mean": rg.mean, "prod": rg.prod, "logsumexp": rg.logsumexp,
            "max": lambda x, a: rg.max(x, axis=a),
            "squeeze": rg.squeeze, "softmax": rg.softmax, "log_softmax": rg.log_softmax}[op]
    theirs = {"max": lambda x, dim: torch.amax(x, dim=dim)}.get(op, lambda x, dim: getattr(torch, op)(x, dim))
    _value_and_gradients(lambda x: ours(x, axis), lambda x: theirs(x, axis), 1.5)


@pytest.mark.parametrize("op", ["sum", "prod", "logsumexp", "squeeze"])
def test_other_axes_on_a_0d_tensor_are_refused_naming_the_op(op):
    with pytest.raises(IndexError):
        getattr(torch, op)(torch.tensor(1.5), 1)
    with pytest.raises(rg.OpError, match=f"{op}: axis 1 is out of range for a 0-d tensor"):
        getattr(rg, op)(rg.tensor(1.5), 1)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_0d_tensor_has_first_and_second_derivatives(op):
    x = rg.tensor(np.float64(0.7), requires_grad=True)
    (g,) = rg.grad(getattr(rg, op)(x), [x], create_graph=True)
    (gg,) = rg.grad(g, [x])
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    (gt,) = torch.autograd.grad(getattr(torch, op)(xt, -1), xt, create_graph=True)
    (ggt,) = torch.autograd.grad(gt, xt)
    _same(g, gt)
    _same(gg, ggt)
    assert rg.gradgradcheck(lambda a: getattr(rg, op)(a) * a, [x])


# ---------------------------------------------------------------- pow at its edges
@pytest.mark.parametrize("exponent", [0, 0.0, "tensor"])
def test_x_to_the_power_0_has_gradient_0_at_0(exponent):
    x0 = [0.0, 1.0, -2.0]
    if exponent == "tensor":
        _value_and_gradients(lambda x, y: x ** y, lambda x, y: x ** y, x0, [0.0, 0.0, 0.0])
    else:
        _value_and_gradients(lambda x: x ** exponent, lambda x: x ** exponent, x0)


def test_pow_gradients_at_zero_and_negative_bases_like_torch():
    """d/dy xʸ = xʸ·log x: NaN for x < 0 (even where xʸ is finite, e.g. (−2)²),
    0 for x = 0 and y ≥ 0, −inf for x = 0 and y < 0."""
    with np.errstate(all="ignore"):
        _value_and_gradients(lambda x, y: x ** y, lambda x, y: x ** y,
                             [-2.0, 0.0, 2.0, -2.0, 0.0, 0.0, -3.0], [0.5, 0.5, 0.5, 2.0, 0.0, -1.0, 3.0])


def test_pow_second_derivative_at_x_equal_0_with_exponent_0_is_finite():
    x = rg.tensor(np.array([0.0, 1.5]), requires_grad=True)
    y = rg.tensor(np.array([0.0, 2.0]), requires_grad=True)
    gx, gy = rg.grad(rg.sum(x ** y), [x, y], create_graph=True)
    second = rg.grad(rg.sum(gx) + rg.sum(gy), [x, y])
    assert all(np.isfinite(s.data).all() for s in second)


# ---------------------------------------------------------------- pad with negative widths
@pytest.mark.parametrize("widths", [((-1, 2),), ((-3, 0),), ((-3, 1),), ((2, -2),)])
def test_negative_pad_widths_crop_like_torch(widths):
    flat = tuple(w for pair in reversed(widths) for w in pair)
    _value_and_gradients(lambda x: rg.pad(x, widths, 0.5) * rg.tensor(np.arange(1.0, 1.0 + 3 + sum(widths[0]))),
                         lambda x: torch.nn.functional.pad(x, flat, value=0.5)
                         * torch.arange(1.0, 1.0 + 3 + sum(widths[0]), dtype=torch.float64), [1.0, 2.0, 3.0])


def test_pad_cropping_more_than_the_axis_is_refused():
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.ones(3), (-2, -2))
    with pytest.raises(rg.OpError, match=r"pad: widths \(-2, -2\) crop 4 entries from axis 0 of size 3"):
        rg.pad(rg.tensor(np.ones(3)), (-2, -2))


# ---------------------------------------------------------------- dtypes
def _torch_dtype(t):
    return str(t.dtype).replace("torch.", "")


_BINARY = {"add": lambda a, b: a + b, "rsub": lambda a, b: b - a, "mul": lambda a, b: a * b,
           "div": lambda a, b: a / b, "rdiv": lambda a, b: b / a, "pow": lambda a, b: a ** b,
           "rpow": lambda a, b: b ** a}


@pytest.mark.parametrize("op", sorted(_BINARY))
@pytest.mark.parametrize("scalar", [np.float64(2.0), np.int64(2), np.float32(2.0), 2.0, 2], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_a_python_or_numpy_scalar_does_not_promote_a_float_tensor(op, scalar, dtype):
    ours = _BINARY[op](rg.tensor(np.array([1.0, 3.0], dtype=dtype)), scalar)
    theirs = _BINARY[op](torch.tensor([1.0, 3.0], dtype=getattr(torch, dtype)), scalar)
    assert str(ours.dtype) == _torch_dtype(theirs) == dtype


@pytest.mark.parametrize("dtype, bound", [("float32", np.float64(0.5)), ("float16", np.float64(0.5)),
                                          ("int64", 0.5), ("int64", np.float64(0.5)), ("int64", 1)])
def test_clamp_bounds_promote_like_torch(dtype, bound):
    ours = rg.clamp(rg.tensor(np.array([0, 3], dtype=dtype)), bound)
    theirs = torch.clamp(torch.tensor([0, 3], dtype=getattr(torch, dtype)), bound)
    assert str(ours.dtype) == _torch_dtype(theirs)
    np.testing.assert_allclose(ours.data, theirs.numpy())


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("op", sorted(_BINARY))
@pytest.mark.parametrize("scalar", [2.5, np.float64(2.5)], ids=repr)
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_an_integer_tensor_with_a_float_scalar_gives_the_default_float_dtype(default, op, scalar, dtype):
    if dtype == "bool" and op == "rsub":
        pytest.skip("PyTorch refuses subtraction with a bool tensor; retrograd computes it (a documented difference)")
    old, old_torch = rg.get_default_dtype(), torch.get_default_dtype()
    rg.set_default_dtype(default)
    torch.set_default_dtype(getattr(torch, default))
    try:
        ours = _BINARY[op](rg.tensor(np.array([1, 3], dtype=dtype)), scalar)
        theirs = _BINARY[op](torch.tensor([1, 3], dtype=getattr(torch, dtype)), scalar)
    finally:
        rg.set_default_dtype(old)
        torch.set_default_dtype(old_torch)
    assert str(ours.dtype) == _torch_dtype(theirs) == default
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("op", ["add", "mul", "pow"])
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_an_integer_tensor_with_an_integer_scalar_stays_integer(op, dtype):
    ours = _BINARY[op](rg.tensor(np.array([1, 3], dtype=dtype)), np.int64(2))
    theirs = _BINARY[op](torch.tensor([1, 3], dtype=getattr(torch, dtype)), 2)
    assert str(ours.dtype) == _torch_dtype(theirs) == dtype


_FLOAT_FUNCTIONS = {"exp": (rg.exp, torch.exp), "log": (rg.log, torch.log), "log1p": (rg.log1p, torch.log1p),
                    "sqrt": (rg.sqrt, torch.sqrt), "sin": (rg.sin, torch.sin), "cos": (rg.cos, torch.cos),
                    "tanh": (rg.tanh, torch.tanh), "sigmoid": (rg.sigmoid, torch.sigmoid),
                    "erf": (rg.erf, torch.erf), "true_divide": (lambda x: x / x, lambda x: x / x),
                    "float_power": (lambda x: x ** 0.5, lambda x: x ** 0.5)} if torch is not None else {}


@pytest.mark.parametrize("name", sorted(_FLOAT_FUNCTIONS))
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "bool"])
def test_float_functions_of_integer_tensors_give_the_default_float_dtype(name, dtype):
    ours_fn, torch_fn = _FLOAT_FUNCTIONS[name]
    values = [1, 0] if dtype == "bool" else [1, 4]
    with np.errstate(all="ignore"):
        ours = ours_fn(rg.tensor(np.array(values, dtype=dtype)))
    theirs = torch_fn(torch.tensor(values, dtype=getattr(torch, dtype)))
    assert str(ours.dtype) == _torch_dtype(theirs) == "float32"
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ["sigmoid", "erf", "gelu", "tanh", "exp"])
def test_float16_stays_float16(name):
    ours_fn = getattr(rg, name)
    torch_fn = torch.nn.functional.gelu if name == "gelu" else getattr(torch, name)
    values = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float16)
    ours = ours_fn(rg.tensor(values))
    theirs = torch_fn(torch.from_numpy(values))
    assert ours.dtype == np.float16 and theirs.dtype == torch.float16
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.numpy().astype(np.float64), rtol=2e-3, atol=1e-3)


def test_softplus_refuses_integer_tensors_like_torch():
    with pytest.raises(NotImplementedError):
        torch.nn.functional.softplus(torch.arange(3))
    with pytest.raises(rg.OpError, match="softplus: expected a floating tensor, got int64"):
        rg.softplus(rg.tensor(np.arange(3)))


def test_elementwise_ops_still_promote_float32_with_float64_like_torch():
    ours = rg.tensor(np.ones(2, np.float32)) + rg.tensor(np.ones(2, np.float64))
    theirs = torch.ones(2) + torch.ones(2, dtype=torch.float64)
    assert str(ours.dtype) == _torch_dtype(theirs) == "float64"


@pytest.mark.parametrize("case", ["matmul", "linear", "linear_bias", "matmul_int_float"])
def test_matmul_and_linear_refuse_operands_of_different_dtypes(case):
    f32, f64 = np.ones((2, 2), np.float32), np.ones((2, 2), np.float64)
    a, b = {"matmul": (f32, f64), "linear": (f32, f64), "linear_bias": (f32, f32),
            "matmul_int_float": (np.ones((2, 2), np.int64), f32)}[case]
    with pytest.raises(RuntimeError, match="same dtype"):
        if case.startswith("linear"):
            bias = torch.ones(2, dtype=torch.float64) if case == "linear_bias" else None
            torch.nn.functional.linear(torch.from_numpy(a), torch.from_numpy(b), bias)
        else:
            torch.from_numpy(a) @ torch.from_numpy(b)
    op = "linear" if case.startswith("linear") else "matmul"
    with pytest.raises(rg.OpError, match=rf"{op}: expected .* of the same dtype, got \w+\[2(, 2)?\] and \w+\[2, 2\]"):
        if case.startswith("linear"):
            bias = rg.tensor(np.ones(2, np.float64)) if case == "linear_bias" else None
            rg.linear(rg.tensor(a), rg.tensor(b, requires_grad=True), bias)
        else:
            rg.tensor(a) @ rg.tensor(b)


def test_linear_layer_given_a_float64_input_is_refused():
    layer = rg.nn.Linear(2, 3)
    with pytest.raises(rg.OpError, match="linear: expected input and weight of the same dtype, got float64"):
        layer(rg.tensor(np.ones((4, 2), np.float64)))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_recurrent_layers_refuse_an_input_of_another_dtype(kind):
    with pytest.raises(ValueError, match="input dtype .* does not match weight dtype"):
        getattr(torch.nn, kind)(3, 4)(torch.ones(2, 1, 3, dtype=torch.float64))
    layer = getattr(rg.nn, kind)(3, 4)
    with pytest.raises(rg.OpError, match=r"_layer: input dtype \(float64\) does not match weight dtype \(float32\)"):
        layer(rg.tensor(np.ones((2, 1, 3), np.float64)))
    with pytest.raises(rg.OpError, match=r"h0 dtype \(float64\) does not match weight dtype \(float32\)"):
        h0 = rg.tensor(np.zeros((1, 1, 4), np.float64))
        layer(rg.tensor(np.ones((2, 1, 3), np.float32)), (h0, rg.tensor(np.zeros((1, 1, 4), np.float32)))
              if kind == "LSTM" else h0)
    assert layer(rg.tensor(np.ones((2, 1, 3), np.float32)))[0].dtype == np.float32


def test_degenerate_values_are_what_math_says():
    """The NaN/inf above are PyTorch's and IEEE's: spelled out once."""
    assert math.isnan(float(rg.mean(rg.tensor(np.zeros(0))).data))
    assert float(R.var(rg.tensor([1.0, 2.0]), ddof=2).data) == math.inf
    assert math.isnan(float(R.var(rg.tensor([1.0, 1.0]), ddof=2).data))
    assert float(rg.prod(rg.tensor(np.zeros(0))).data) == 1.0


def test_norm_of_float16_accumulates_in_float32_like_torch():
    """A float16 norm summed in float16 loses the low bits of large sums; PyTorch accumulates in float32."""
    x = (np.random.default_rng(3).standard_normal((3, 200)) * 30).astype(np.float16)
    ours = rg.norm(rg.tensor(x), dim=1)
    assert ours.dtype == np.float16
    np.testing.assert_array_equal(ours.data, torch.linalg.vector_norm(torch.tensor(x), dim=1).numpy())
