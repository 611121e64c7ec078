"""PyTorch's division family and the elementwise functions added beside it, against torch 2.13:

- ``//`` / ``floor_divide``, ``%`` / ``remainder``, ``fmod``, ``div(rounding_mode=None | "trunc" | "floor")``
  and their reflected operators: values and result dtypes for every pairing of integer, boolean and
  floating tensors and Python numbers (at 0, −0, ±inf and NaN too), the integer division by zero that
  PyTorch refuses (``ZeroDivisionError``), the operands it has no kernel for, and the gradients
  (remainder: ȳ = −z̄·⌊x/y⌋, fmod: ȳ = −z̄·trunc(x/y), the rounding modes: zero, ``floor_divide``: refused);
- ``reciprocal``, ``expm1``, ``exp2``, ``trunc``/``fix``, ``frac`` and the Tensor methods
  ``.reciprocal() .expm1() .exp2() .trunc() .fix() .frac() .neg() .erf()``;
- ``add``/``sub`` with ``alpha=``, ``clip``/``clamp`` with PyTorch's ``min=``/``max=`` and NumPy's
  ``a_min=``/``a_max=``;
- ``nonzero`` (and ``where(cond)`` alone), ``masked_select`` and ``tile``;
- the same ops on the device stand-in (tests/array_shim.py), where a zero divisor is found when the
  values are read.

Smooth values and gradients on random shapes are the op table's rows (tests/op_specs.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from retrograd.autograd import backend
from retrograd.ops import device_checks
from retrograd.ops.division import IntegerDivisionByZero

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]  # torch's forward AD

INF, NAN = math.inf, math.nan
# (not a quotient that overflows, 1e300 / 1e-300: PyTorch's vectorised fmod gives NaN there, its scalar
# loop and C's fmod the exact remainder)
EDGE_X = [7.0, -7.0, 7.0, -7.0, 5.5, -5.5, 0.0, -0.0, 3.0, INF, -INF, NAN, 2.0, -2.0, 1e30, 0.3]
EDGE_Y = [2.0, 2.0, -2.0, -2.0, 0.0, 0.0, 0.0, 3.0, 1.5, 2.0, 3.0, 1.0, INF, INF, 7.0, 0.1]


def _both(name, rounding=None):
    """(retrograd function, torch function) of two operands for one of the division family."""
    if name == "div":
        return (lambda a, b: rg.div(a, b, rounding_mode=rounding)), \
               (lambda a, b: torch.div(a, b, rounding_mode=rounding))
    return getattr(rg, name), getattr(torch, name)


DIVISIONS = [("floor_divide", None), ("remainder", None), ("fmod", None), ("div", "trunc"), ("div", "floor"),
             ("div", None)]
IDS = [f"{n}-{r}" if r else n for n, r in DIVISIONS]
OPERATORS = {"//": (lambda a, b: a // b), "%": (lambda a, b: a % b)}


def _as_torch(v):
    return torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v


def _as_rg(v):
    return rg.tensor(np.array(v)) if isinstance(v, np.ndarray) else v


def _assert_same(r, t, what=""):
    """Same dtype, same values (NaN where torch has NaN, the sign of ±inf, exact for integers)."""
    expected = t.numpy()
    assert r.dtype == expected.dtype, f"{what}: dtype {r.dtype}, PyTorch {expected.dtype}"
    if expected.dtype.kind == "f":
        rtol = 1e-3 if expected.dtype == np.float16 else 1e-6 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(r.data, expected, rtol=rtol, atol=0, err_msg=what)
    else:
        np.testing.assert_array_equal(r.data, expected, err_msg=what)


# ---------------------------------------------------------------- values and dtypes
INTS = np.array([7, -7, 7, -7, 0, 9, -9, 1, -1, 6])
INT_DIVISORS = np.array([2, 2, -2, -2, 3, -4, 4, 5, -5, 3])
OPERAND_PAIRS = {
    "int64/int64": (INTS, INT_DIVISORS),
    "int32/int64": (INTS.astype(np.int32), INT_DIVISORS),
    "int32/int32": (INTS.astype(np.int32), INT_DIVISORS.astype(np.int32)),
    "uint8/uint8": (np.abs(INTS).astype(np.uint8), np.abs(INT_DIVISORS).astype(np.uint8)),
    "bool/int64": (INTS > 0, INT_DIVISORS),
    "int64/bool": (INTS, np.ones(INTS.shape, dtype=bool)),
    "int64/float64": (INTS, INT_DIVISORS * 0.75),
    "float64/float64 edges": (np.array(EDGE_X), np.array(EDGE_Y)),
    "float32/float32 edges": (np.array(EDGE_X[:-2], np.float32), np.array(EDGE_Y[:-2], np.float32)),
    "float16/float16": (np.array([7.0, -7.0, 5.5, -0.0, 100.0, 3.25], np.float16),
                        np.array([2.0, -3.0, 0.5, 2.0, 7.0, -1.5], np.float16)),
    "broadcast (3, 1)/(4,)": (np.array([[7.0], [-7.5], [0.25]]), np.array([2.0, -2.0, 0.5, -0.75])),
    # Python numbers: never promote a tensor's float dtype; an int tensor with a float number is float32
    "float32/python int": (np.array([7.5, -7.5, 2.0], np.float32), 2),
    "float32/python float": (np.array([7.5, -7.5, 2.0], np.float32), 2.5),
    "int64/python int": (INTS, 3),
    "int64/python negative int": (INTS, -3),
    "int64/python float": (INTS, 2.5),
    "int32/python int": (INTS.astype(np.int32), 4),
    "bool/python int": (INTS > 0, 2),
    "float16/python float": (np.array([7.0, -7.0, 5.5], np.float16), 2.5),
}


@pytest.mark.parametrize("pair", sorted(OPERAND_PAIRS))
@pytest.mark.parametrize("name,rounding", DIVISIONS, ids=IDS)
def test_values_and_dtypes_match_pytorch(name, rounding, pair):
    a, b = OPERAND_PAIRS[pair]
    ours, theirs = _both(name, rounding)
    if name == "fmod" and not isinstance(a, np.ndarray):
        pytest.skip("torch.fmod takes no Python number as its first operand")
    _assert_same(ours(_as_rg(a), _as_rg(b)), theirs(_as_torch(a), _as_torch(b)), f"{name} {pair}")


@pytest.mark.parametrize("pair", sorted(OPERAND_PAIRS))
@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_operators_and_reflected_operators_match_pytorch(op, pair):
    a, b = OPERAND_PAIRS[pair]
    fn = OPERATORS[op]
    _assert_same(fn(_as_rg(a), _as_rg(b)), fn(_as_torch(a), _as_torch(b)), f"{op} {pair}")
    if not isinstance(b, np.ndarray):  # the number on the left: __rfloordiv__, __rmod__
        a = a[a != 0] if a.dtype.kind in "iub" else a
        _assert_same(fn(b, rg.tensor(a)), fn(b, torch.from_numpy(a)), f"reflected {op} {pair}")


def test_two_tensors_of_different_dtypes_promote_by_numpys_rules():
    """README "promotion between two tensors": float32 with int64 tensors gives float64 (PyTorch: float32);
    the values are PyTorch's."""
    a, b = np.array([7.5, -7.5, 2.0], np.float32), np.array([2, -2, 4])
    for name, rounding in DIVISIONS:
        ours, theirs = _both(name, rounding)
        r, t = ours(rg.tensor(a), rg.tensor(b)), theirs(torch.from_numpy(a), torch.from_numpy(b))
        assert r.dtype == np.result_type(a, b)
        np.testing.assert_allclose(r.data, t.numpy(), rtol=1e-6)


def test_remainder_takes_the_divisors_sign_and_fmod_the_dividends():
    x, y = rg.tensor([7, -7, 7, -7]), rg.tensor([3, 3, -3, -3])
    assert (x % y).data.tolist() == [1, 2, -2, -1] == [7 % 3, -7 % 3, 7 % -3, -7 % -3]  # Python's
    assert rg.fmod(x, y).data.tolist() == [1, -1, 1, -1] == [math.fmod(a, b) for a, b in [(7, 3), (-7, 3), (7, -3),
                                                                                            (-7, -3)]]
    assert (x // y).data.tolist() == [2, -3, -3, 2] == [7 // 3, -7 // 3, 7 // -3, -7 // -3]
    assert rg.div(x, y, rounding_mode="trunc").data.tolist() == [2, -2, -2, 2]
    assert x.div(y).dtype == rg.float32 and x.div(y, rounding_mode="floor").dtype == rg.int64


def test_float_remainder_keeps_pytorchs_signed_zero():
    r = rg.remainder(rg.tensor([-0.0, -6.0, 6.0]), rg.tensor([3.0, 3.0, -3.0]))
    t = torch.remainder(torch.tensor([-0.0, -6.0, 6.0]), torch.tensor([3.0, 3.0, -3.0]))
    assert np.array_equal(np.signbit(r.data), np.signbit(t.numpy()))


def test_the_tensor_methods_are_the_functions():
    x, y = rg.tensor([7.5, -7.5, 2.0]), rg.tensor([2.0, 2.0, -0.75])
    for name in ["floor_divide", "remainder", "fmod"]:
        np.testing.assert_array_equal(getattr(x, name)(y).data, getattr(rg, name)(x, y).data)
    for mode in [None, "trunc", "floor"]:
        np.testing.assert_array_equal(x.div(y, rounding_mode=mode).data, rg.div(x, y, rounding_mode=mode).data)
    np.testing.assert_array_equal(x.add(y, alpha=2).data, (x + 2 * y).data)
    np.testing.assert_array_equal(x.sub(y).data, (x - y).data)
    np.testing.assert_array_equal(x.mul(y).data, (x * y).data)


# ---------------------------------------------------------------- errors
ZERO_DIVISORS = {
    "int64 tensor with a 0": (INTS, np.array([1, 2, 0, 3, 1, 1, 1, 1, 1, 1])),
    "int32 tensor with a 0": (INTS.astype(np.int32), np.zeros(10, np.int32)),
    "uint8 by uint8 0": (np.array([1, 2], np.uint8), np.array([1, 0], np.uint8)),
    "python int 0": (INTS, 0),
    "bool False divisor": (INTS, np.array([True, False] * 5)),
    "broadcast 0-d 0": (INTS, np.array(0)),
}


@pytest.mark.parametrize("case", sorted(ZERO_DIVISORS))
@pytest.mark.parametrize("name,rounding", DIVISIONS[:5], ids=IDS[:5])
def test_integer_division_by_zero_raises_as_in_pytorch(name, rounding, case):
    a, b = ZERO_DIVISORS[case]
    ours, theirs = _both(name, rounding)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        theirs(_as_torch(a), _as_torch(b))
    with pytest.raises(ZeroDivisionError, match=rf"^{name}: integer division by zero") as info:
        ours(_as_rg(a), _as_rg(b))
    assert isinstance(info.value, (rg.OpError, IntegerDivisionByZero))


def test_integer_division_by_zero_through_the_operators():
    x = rg.tensor([1, 2, 3])
    for fn in [lambda: x // 0, lambda: x % 0, lambda: 6 // rg.tensor([1, 0]), lambda: 6 % rg.tensor([0, 1])]:
        with pytest.raises(ZeroDivisionError, match="(floor_divide|remainder): integer division by zero"):
            fn()


def test_a_float_anywhere_divides_by_zero_as_ieee():
    """Only integer results refuse a zero divisor: a float operand gives inf/NaN, as PyTorch."""
    for name, rounding in DIVISIONS:
        ours, theirs = _both(name, rounding)
        _assert_same(ours(rg.tensor(INTS), 0.0), theirs(torch.from_numpy(INTS), 0.0), f"{name} int / 0.0")
        _assert_same(ours(rg.tensor(INTS * 1.0), rg.tensor(np.zeros(10, np.int64))),
                     theirs(torch.from_numpy(INTS * 1.0), torch.zeros(10, dtype=torch.int64)), f"{name} float / 0")


REFUSED = {
    "bool/bool": (np.array([True, False]), np.array([True, True])),
    "bool/python bool": (np.array([True, False]), True),
    "complex/complex": (np.array([1 + 1j]), np.array([2 + 0j])),
    "float/complex": (np.array([1.0]), np.array([2 + 1j])),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("name,rounding", DIVISIONS[:5], ids=IDS[:5])
def test_operands_pytorch_has_no_kernel_for_are_refused_naming_the_op(name, rounding, case):
    a, b = REFUSED[case]
    ours, theirs = _both(name, rounding)
    with pytest.raises((RuntimeError, NotImplementedError)):
        theirs(_as_torch(a), _as_torch(b))
    with pytest.raises(rg.OpError, match=rf"^{name}: not implemented for (complex|boolean) tensors"):
        ours(_as_rg(a), _as_rg(b))


def test_shape_mismatch_names_the_op():
    for fn, name in [(rg.floor_divide, "floor_divide"), (rg.remainder, "remainder"), (rg.fmod, "fmod"),
                     (lambda a, b: rg.div(a, b, rounding_mode="trunc"), "div")]:
        with pytest.raises(rg.OpError, match=rf"^{name}\b.*float32\[2\].*float32\[3\]"):
            fn(rg.ones(2), rg.ones(3))


def test_an_unknown_rounding_mode_is_refused_as_in_pytorch():
    with pytest.raises(RuntimeError, match="rounding_mode"):
        torch.div(torch.ones(2), 2, rounding_mode="round")
    with pytest.raises(rg.OpError, match="div: expected rounding_mode to be one of None, 'trunc', or 'floor'"):
        rg.div(rg.ones(2), 2, rounding_mode="round")


# ---------------------------------------------------------------- gradients
def _grads(fn, tfn, a, b, g):
    xr, yr = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    zr, zt = fn(xr, yr), tfn(xt, yt)
    _assert_same(zr, zt.detach(), "values")
    zr.backward(rg.tensor(g))
    zt.backward(torch.tensor(g))
    return (xr.grad.data, yr.grad.data), (xt.grad.numpy(), yt.grad.numpy())


@pytest.mark.parametrize("name,rounding", [("remainder", None), ("fmod", None), ("div", "trunc"), ("div", "floor"),
                                           ("div", None)], ids=["remainder", "fmod", "div-trunc", "div-floor", "div"])
def test_gradients_match_pytorch_at_the_edges(name, rounding):
    """0 and ∞ divisors, ±0, ±∞ and NaN dividends, and an upstream gradient holding inf and NaN."""
    a, b = np.array(EDGE_X), np.array(EDGE_Y)
    g = np.linspace(-1.5, 2.0, a.size)
    g[-1], g[-2] = INF, NAN
    ours, theirs = _both(name, rounding)
    (gx, gy), (tx, ty) = _grads(ours, theirs, a, b, g)
    np.testing.assert_array_equal(gx, tx)  # NaN where torch has NaN, ±inf and ±0 too
    np.testing.assert_array_equal(gy, ty)


def test_remainder_and_fmod_gradients_are_minus_the_rounded_quotient():
    x, y = rg.tensor([7.0, -7.0, 7.5], requires_grad=True), rg.tensor([2.0, 2.0, -2.0], requires_grad=True)
    rg.remainder(x, y).sum().backward()
    assert x.grad.data.tolist() == [1.0, 1.0, 1.0] and y.grad.data.tolist() == [-3.0, 4.0, 4.0]  # −⌊x/y⌋
    x.grad = y.grad = None
    rg.fmod(x, y).sum().backward()
    assert x.grad.data.tolist() == [1.0, 1.0, 1.0] and y.grad.data.tolist() == [-3.0, 3.0, 3.0]  # −trunc(x/y)


def test_rounding_division_gradients_broadcast_to_each_operand():
    x = rg.tensor(np.array([[7.0], [-7.5]]), requires_grad=True)
    y = rg.tensor(np.array([2.0, -0.75, 3.0]), requires_grad=True)
    rg.div(x, y, rounding_mode="floor").sum().backward()
    assert x.grad.shape == (2, 1) and y.grad.shape == (3,)
    assert not x.grad.data.any() and not y.grad.data.any()


def test_floor_divide_has_no_derivative_as_in_pytorch():
    xt = torch.tensor([7.0, -7.0], requires_grad=True)
    assert (xt // 2).requires_grad  # recorded: the forward works
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (xt // 2).sum().backward()
    x = rg.tensor([7.0, -7.0], requires_grad=True)
    for z in [x // 2, rg.floor_divide(x, 2), 7.0 // x, x.floor_divide(rg.tensor([2.0, 3.0]))]:
        assert z.requires_grad and z.data.tolist() == z.data.tolist()
        with pytest.raises(rg.OpError, match="floor_divide: the derivative is not implemented.*rounding_mode='floor'"):
            z.sum().backward()
    with pytest.raises(rg.OpError, match="floor_divide: the derivative is not implemented"):
        rg.func.jvp(lambda t: t // 2, (rg.tensor([7.0]),), (rg.tensor([1.0]),))
    z = x // 2  # a quotient read as an index leaves the tape and is fine
    assert z.long().data.tolist() == [3, -4] and not z.detach().requires_grad


def test_a_python_number_modulo_a_tensor_has_its_gradient():
    """PyTorch's ``2.5 % t`` (remainder.Scalar_Tensor) has no derivative and raises in backward;
    retrograd gives the same rule as tensor % tensor: ȳ = −z̄·⌊x/y⌋ (a deliberate superset)."""
    x = rg.tensor(np.array([2.0, -1.0, 0.7, -0.3]), requires_grad=True)
    (2.5 % x).backward(rg.ones(4, dtype=rg.float64))
    np.testing.assert_array_equal(x.grad.data, -np.floor_divide(2.5, x.data))
    assert rg.gradcheck(lambda t: 2.5 % t, [x.data]).ok
    assert rg.gradcheck(lambda t: rg.fmod(t, 0.7), [x.data]).ok


def test_forward_mode_equals_pytorchs():
    import torch.autograd.forward_ad as fwad
    a, b = np.array([7.0, -7.0, 5.5, 3.0]), np.array([2.0, -2.0, 1.5, 0.0])
    ta, tb = np.array([0.3, -1.0, 2.0, 0.5]), np.array([1.0, 0.5, -2.0, 1.0])
    for name, rounding in [("remainder", None), ("fmod", None), ("div", "trunc"), ("div", "floor")]:
        ours, theirs = _both(name, rounding)
        _, ż = rg.func.jvp(ours, (rg.tensor(a), rg.tensor(b)), (rg.tensor(ta), rg.tensor(tb)))
        with fwad.dual_level():
            out = theirs(fwad.make_dual(torch.tensor(a), torch.tensor(ta)), fwad.make_dual(torch.tensor(b),
                                                                                          torch.tensor(tb)))
            expected = fwad.unpack_dual(out).tangent.numpy()
        np.testing.assert_array_equal(ż.data, expected, err_msg=name)


# ---------------------------------------------------------------- reciprocal, expm1, exp2, trunc, frac
UNARY = ["reciprocal", "expm1", "exp2", "trunc", "fix", "frac"]
UNARY_INPUTS = {
    "float64 edges": np.array([0.0, -0.0, 2.5, -2.5, 1e-10, -37.0, 800.0, INF, -INF, NAN]),
    "float32": np.array([0.5, -1.25, 3.0, 0.0], np.float32),
    "float16": np.array([0.5, -1.25, 3.0, 7.75], np.float16),
    "int64": np.array([0, 2, -3, 5]),
    "int32": np.array([0, 2, -3, 5], np.int32),
    "uint8": np.array([0, 2, 3, 255], np.uint8),
    "bool": np.array([True, False]),
    "complex128": np.array([1 + 1j, -0.5 + 2j]),
}


@pytest.mark.parametrize("inputs", sorted(UNARY_INPUTS))
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_dtypes_and_refusals_match_pytorch(name, inputs):
    a = UNARY_INPUTS[inputs]
    try:
        expected = getattr(torch, name)(torch.from_numpy(a))
    except (RuntimeError, NotImplementedError):
        with pytest.raises(rg.OpError, match=rf"^({name}|trunc)\b"):
            getattr(rg, name)(rg.tensor(a))
        return
    fn_result, method_result = getattr(rg, name)(rg.tensor(a)), getattr(rg.tensor(a), name)()
    if expected.is_complex():
        assert fn_result.dtype == expected.numpy().dtype
        np.testing.assert_allclose(fn_result.data, expected.numpy(), rtol=1e-12)
    else:
        _assert_same(fn_result, expected, f"{name} {inputs}")
    np.testing.assert_array_equal(method_result.data, fn_result.data)


@pytest.mark.parametrize("name", UNARY + ["neg", "erf"])
def test_unary_gradients_match_pytorch_at_the_edges(name):
    a = UNARY_INPUTS["float64 edges"]
    g = np.linspace(-1.0, 2.0, a.size)
    x, xt = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = getattr(x, name)(), getattr(xt, name)()
    _assert_same(y, yt.detach(), name)
    y.backward(rg.tensor(g))
    yt.backward(torch.tensor(g))
    # atol: expm1(−37) is −1 + 8.5e-17; NumPy rounds it to the nearest double, PyTorch's kernel to −1
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(np.isnan(x.grad.data), np.isnan(xt.grad.numpy()))


def test_trunc_and_fix_give_zero_gradient_even_for_an_infinite_upstream_gradient():
    for fn in (rg.trunc, rg.fix):
        x = rg.tensor([1.5, -2.5], requires_grad=True)
        fn(x).backward(rg.tensor([INF, NAN]))
        assert x.grad.data.tolist() == [0.0, 0.0]


def test_python_numbers_take_the_default_float_dtype():
    assert rg.reciprocal(4).dtype == rg.float32 and rg.reciprocal(4).item() == 0.25
    assert rg.exp2(3).item() == 8.0 and rg.expm1(0.0).dtype == rg.float32
    assert rg.frac(2.75).item() == 0.75 and rg.trunc(-2.75).item() == -2.0


# ---------------------------------------------------------------- add/sub alpha, clip/clamp keywords
def test_add_and_sub_alpha_match_pytorch():
    a, b = np.array([1.5, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
    for ours, theirs in [(rg.add, torch.add), (rg.sub, torch.sub)]:
        for alpha in [2, -0.5, 1, 0]:
            x, y = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
            xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
            z, zt = ours(x, y, alpha=alpha), theirs(xt, yt, alpha=alpha)
            _assert_same(z, zt.detach())
            z.backward(rg.tensor(np.array([1.0, 2.0, -3.0])))
            zt.backward(torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64))
            np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
            np.testing.assert_array_equal(y.grad.data, yt.grad.numpy())
        _assert_same(ours(rg.tensor([1, 2]), rg.tensor([3, 4]), alpha=3),
                     theirs(torch.tensor([1, 2]), torch.tensor([3, 4]), alpha=3), "integers")
        _assert_same(ours(rg.tensor([1.5, 2.0]), 2, alpha=3), theirs(torch.tensor([1.5, 2.0]), 2, alpha=3),
                     "a Python number keeps float32")
        _assert_same(ours(rg.tensor([1, 2]), rg.tensor([3.0, 4.0], dtype=rg.float64), alpha=0.5),
                     theirs(torch.tensor([1, 2]), torch.tensor([3.0, 4.0], dtype=torch.float64), alpha=0.5),
                     "int with float")
        _assert_same(ours(rg.tensor([1, 2]), 1.5, alpha=2), theirs(torch.tensor([1, 2]), 1.5, alpha=2),
                     "int tensor with a float number: the default float dtype")


def test_alpha_refusals_match_pytorch():
    for ours, theirs, name in [(rg.add, torch.add, "add"), (rg.sub, torch.sub, "sub")]:
        with pytest.raises(RuntimeError, match="alpha"):
            theirs(torch.tensor([1, 2]), torch.tensor([3, 4]), alpha=0.5)
        with pytest.raises(rg.OpError, match=rf"^{name}: for integer operands alpha must not be a float"):
            ours(rg.tensor([1, 2]), rg.tensor([3, 4]), alpha=0.5)
        with pytest.raises(RuntimeError, match="[Bb]oolean alpha"):
            theirs(torch.tensor([1.0]), torch.tensor([3.0]), alpha=True)
        with pytest.raises(rg.OpError, match=rf"^{name}: a boolean alpha"):
            ours(rg.tensor([1.0]), rg.tensor([3.0]), alpha=True)
        with pytest.raises(rg.OpError, match=rf"^{name}: alpha must be a real Python number"):
            ours(rg.tensor([1.0]), rg.tensor([3.0]), alpha="2")
    _assert_same(rg.add(rg.tensor([True, False]), rg.tensor([False, False]), alpha=True),
                 torch.add(torch.tensor([True, False]), torch.tensor([False, False]), alpha=True), "bool alpha")


def test_clip_and_clamp_take_both_keyword_dialects():
    a = np.array([-2.0, -0.25, 0.5, 3.0])
    expected = torch.clip(torch.from_numpy(a), min=-0.5, max=1.0).numpy()
    for result in [rg.clip(rg.tensor(a), min=-0.5, max=1.0), rg.clip(rg.tensor(a), a_min=-0.5, a_max=1.0),
                   rg.clip(rg.tensor(a), -0.5, 1.0), rg.clip(rg.tensor(a), a_min=-0.5, max=1.0),
                   rg.clamp(rg.tensor(a), min=-0.5, max=1.0), rg.tensor(a).clip(min=-0.5, max=1.0),
                   rg.tensor(a).clamp(min=-0.5, max=1.0), rg.tensor(a).clip(a_min=-0.5, a_max=1.0)]:
        np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_array_equal(rg.clip(rg.tensor(a), min=0).data, torch.clip(torch.from_numpy(a), min=0).numpy())
    np.testing.assert_array_equal(rg.clip(rg.tensor(a), max=0).data, torch.clip(torch.from_numpy(a), max=0).numpy())
    with pytest.raises(rg.OpError, match="clip: the min bound is given twice"):
        rg.clip(rg.tensor(a), -1.0, min=-0.5)
    with pytest.raises(rg.OpError, match="clamp: at least one of min and max"):
        rg.clip(rg.tensor(a))


# ---------------------------------------------------------------- on the device stand-in
def test_the_division_family_on_the_device_stand_in():
    from array_shim import ShimArray, shim_backend
    a, b = np.array([7.0, -7.0, 5.5, -0.3]), np.array([2.0, 2.0, -1.5, 0.7])
    fns = [lambda x, y: x // y, lambda x, y: x % y, rg.fmod, lambda x, y: rg.div(x, y, rounding_mode="trunc"),
           lambda x, y: rg.reciprocal(y) + rg.expm1(x / 8) + rg.exp2(x / 4) + rg.frac(x) + rg.trunc(x)]
    expected = [fn(rg.tensor(a), rg.tensor(b)).data for fn in fns]
    with shim_backend():
        for fn, want in zip(fns, expected):
            got = fn(rg.tensor(a), rg.tensor(b))
            assert isinstance(got.data, ShimArray)
            np.testing.assert_array_equal(rg.to_numpy(got.data), want)
        report = rg.gradcheck(lambda x, y: rg.remainder(x, y) + rg.fmod(x, y) * rg.reciprocal(y), [a, b])
        assert report.ok, str(report)
        # an integer zero divisor is found when the values are read (no synchronisation per op)
        z = rg.tensor(np.array([1, 2])) // rg.tensor(np.array([1, 0]))
        assert device_checks.pending() == 1 and isinstance(z.data, ShimArray)
        with pytest.raises(ZeroDivisionError, match="floor_divide: integer division by zero"):
            device_checks.raise_pending()
    assert backend.xp.name == "numpy"


# ---------------------------------------------------------------- nonzero, where(cond), masked_select, tile
NONZERO_INPUTS = {
    "float 2-d": np.array([[1.0, 0.0, 2.0], [0.0, -3.0, NAN]]),
    "bool 3-d": np.random.default_rng(0).random((2, 3, 2)) < 0.5,
    "int 1-d": np.array([0, 4, 0, -1]),
    "all zero": np.zeros((2, 2)),
    "0-d nonzero": np.array(5.0),
    "0-d zero": np.array(0),
    "empty": np.zeros((0, 3)),
}


@pytest.mark.parametrize("case", sorted(NONZERO_INPUTS))
def test_nonzero_and_one_argument_where_match_pytorch(case):
    a = NONZERO_INPUTS[case]
    _assert_same(rg.nonzero(rg.tensor(a)), torch.nonzero(torch.from_numpy(a)))
    _assert_same(rg.tensor(a).nonzero(), torch.from_numpy(a).nonzero())
    ours, theirs = rg.nonzero(rg.tensor(a), as_tuple=True), torch.nonzero(torch.from_numpy(a), as_tuple=True)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for r, t in zip(ours, theirs):
        _assert_same(r, t)
    if a.dtype == bool:
        for r, t in zip(rg.where(rg.tensor(a)), torch.where(torch.from_numpy(a))):
            _assert_same(r, t)


def test_nonzero_is_off_the_tape_and_indexes():
    x = rg.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    idx = rg.nonzero(x, as_tuple=True)
    assert not idx[0].requires_grad and idx[0].dtype == rg.int64
    x[idx].sum().backward()
    assert x.grad.data.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(rg.OpError, match="where: give both x and y"):
        rg.where(x.data > 0, x)


def test_masked_select_broadcasts_and_scatters_its_gradient_as_pytorch():
    a = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    for mask in [np.array([True, False, True]), np.array([[True], [False]]), np.array([[True, False, True]] * 2)]:
        x, xt = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = rg.masked_select(x, mask), torch.masked_select(xt, torch.from_numpy(mask))
        _assert_same(y, yt.detach())
        g = np.arange(1.0, y.shape[0] + 1)
        y.backward(rg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
    # the mask broadcasting the tensor: each copy's gradient adds up
    x, xt = rg.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    mask = np.array([[True, True], [False, True]])
    rg.masked_select(x, mask).sum().backward()
    torch.masked_select(xt, torch.from_numpy(mask)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
    _assert_same(rg.tensor(a).masked_select(rg.tensor(a > 0)), torch.from_numpy(a).masked_select(torch.from_numpy(a > 0)))
    with pytest.raises(RuntimeError):
        torch.masked_select(torch.from_numpy(a), torch.from_numpy(a > 0).long())
    with pytest.raises(rg.OpError, match="masked_select: only boolean masks"):
        rg.masked_select(rg.tensor(a), (a > 0).astype(np.int64))
    with pytest.raises(rg.OpError, match=r"masked_select: the mask bool\[4\] does not broadcast"):
        rg.masked_select(rg.tensor(a), np.ones(4, dtype=bool))


@pytest.mark.parametrize("dims", [(2,), (1, 3), (2, 1, 2), (0,), ()])
def test_tile_matches_pytorch(dims):
    a = np.arange(6.0).reshape(2, 3)
    x, xt = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = rg.tile(x, dims), torch.tile(xt, dims)
    _assert_same(y, yt.detach())
    _assert_same(x.tile(*dims) if dims else x.tile(dims), xt.detach().tile(dims))
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(rg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
    with pytest.raises(rg.OpError, match="tile: dims must be ints"):
        rg.tile(x, (2.0,))
