"""PyTorch's special functions and the elementwise math added beside them, against torch 2.13:

- ``ops/special.py`` and ``rg.special``: lgamma, digamma, polygamma, mvlgamma, erfc, erfcx, erfinv,
  ndtr, ndtri, log_ndtr, i0, i0e, i1, i1e, logit (with its ``eps``), sinc, entr, xlogy, xlog1py,
  zeta and gammainc/gammaincc (differentiable in their second argument only), the Bessel and Airy
  functions PyTorch defines without a derivative, and the aliases (psi, gammaln, expit …);
- ``ops/elementwise_extra.py``: hypot, logaddexp2, fmax/fmin, nextafter, heaviside, ldexp, gcd/lcm,
  sgn, signbit, deg2rad/rad2deg, nan_to_num, float_power, lerp, addcmul, addcdiv, true_divide and the
  comparison functions eq … ge, with their Tensor methods.

Values and gradients (backward with the same weights on both sides) in float64 at ordinary and
special points (0, ±0, ±inf, NaN, poles, the clamp of logit's eps), second derivatives and forward
mode, result dtypes (float32, float16, integers and booleans, PyTorch's promotion) and the errors.
Random shapes, broadcasting and finite differences are the op table's rows (tests/op_specs.py).
"""

from __future__ import annotations

import inspect
import math
import sys

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),  # torch.func
              pytest.mark.filterwarnings("ignore:An output with one or more elements was resized:UserWarning")]

INF, NAN = math.inf, math.nan
S = rg.special
# ordinary and special points: the poles of Γ, ±0, a subnormal-sized x, ±inf and NaN
POINTS = np.array([-2.5, -0.7, -0.0, 0.0, 1e-300, 0.3, 1.0, 2.5, 7.0, 30.0, INF, -INF, NAN])
UNIT = np.array([-0.5, 0.0, 1e-5, 0.05, 0.1, 0.3, 0.5, 0.9, 0.95, 1.0, 1.5, NAN])  # logit's and ndtri's
PAIRS_X = np.array([0.0, 0.0, 1.0, 0.0, 2.0, -1.5, 3.0, 0.5, NAN, 2.0, -0.0, 4.0])
PAIRS_Y = np.array([0.0, 2.0, 0.0, NAN, -1.0, 2.5, 3.0, INF, 1.0, -INF, 0.0, 0.25])


def TS(name):
    return lambda *a, **k: getattr(torch.special, name)(*a, **k)


def T(name):
    return lambda *a, **k: getattr(torch, name)(*a, **k)


def _close(actual, expected, rtol, what, atol=1e-300):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def compare(rf, tf, *arrays, rtol=1e-10, grad_rtol=1e-9, grad=True, atol=1e-300):
    """Values, result dtype and (float inputs) gradients of ``rf`` and ``tf`` on the same arrays."""
    needs = [grad and a.dtype.kind == "f" for a in arrays]
    xr = [rg.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    xt = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    yr, yt = rf(*xr), tf(*xt)
    assert str(yr.dtype) == str(yt.dtype).replace("torch.", ""), (yr.dtype, yt.dtype)
    _close(yr.data, yt.detach().numpy(), rtol, "values", atol)
    if not any(needs):
        return yr
    v = np.random.default_rng(3).standard_normal(yr.shape)
    yr.backward(rg.tensor(v))
    yt.backward(torch.tensor(v))
    for i, (a, b) in enumerate(zip(xr, xt)):
        if needs[i]:
            assert (a.grad is None) == (b.grad is None), f"gradient of input {i}: {a.grad} and {b.grad}"
            if a.grad is not None:
                _close(a.grad.data, b.grad.numpy(force=True), grad_rtol, f"gradient of input {i}", atol)
    return yr


# ---------------------------------------------------------------- values and gradients at special points
UNARY = {
    "lgamma": (rg.lgamma, T("lgamma"), POINTS, {}),
    "digamma": (rg.digamma, T("digamma"), POINTS, {}),  # its gradient: PyTorch's trigamma is good to ~1e-10
    "psi": (S.psi, TS("psi"), POINTS, {}),
    "gammaln": (S.gammaln, TS("gammaln"), POINTS, {}),
    "polygamma1": (lambda x: rg.polygamma(1, x), lambda x: torch.polygamma(1, x), POINTS, {"rtol": 5e-10}),
    "polygamma2": (lambda x: rg.polygamma(2, x), lambda x: torch.polygamma(2, x), POINTS, {}),
    "polygamma3": (lambda x: S.polygamma(3, x), lambda x: torch.special.polygamma(3, x), POINTS, {}),
    "mvlgamma1": (lambda x: rg.mvlgamma(x, 1), lambda x: torch.mvlgamma(x, 1), POINTS, {}),
    "multigammaln3": (lambda x: S.multigammaln(x, 3), lambda x: torch.special.multigammaln(x, 3),
                      np.array([1.2, 2.5, 7.0, 0.5, 1.0, 1.5]), {}),
    "erfc": (rg.erfc, T("erfc"), POINTS, {}),
    "erfcx": (S.erfcx, TS("erfcx"), np.append(POINTS, [-30.0, 1e10]), {}),
    "erfinv": (rg.erfinv, T("erfinv"), 2 * UNIT - 1, {}),
    "ndtri": (S.ndtri, TS("ndtri"), UNIT, {}),
    "log_ndtr": (S.log_ndtr, TS("log_ndtr"), np.append(POINTS, [-40.0, 40.0]), {}),
    "i0": (rg.i0, T("i0"), POINTS, {}),
    "i0e": (S.i0e, TS("i0e"), POINTS, {}),
    "i1": (S.i1, TS("i1"), POINTS, {}),  # ½ where |x| ≤ eps (NaN too), as PyTorch's
    "i1e": (S.i1e, TS("i1e"), POINTS, {}),
    "entr": (S.entr, TS("entr"), POINTS, {}),
    "logit": (rg.logit, T("logit"), UNIT, {}),
    "logit_eps": (lambda x: rg.logit(x, 0.1), lambda x: torch.logit(x, 0.1), UNIT, {}),
    "logit_eps_0": (lambda x: rg.logit(x, 0), lambda x: torch.logit(x, 0), UNIT, {}),
    "logit_eps_negative": (lambda x: S.logit(x, -0.1), lambda x: torch.special.logit(x, -0.1), UNIT, {}),
    "logit_eps_above_half": (lambda x: x.logit(0.7), lambda x: x.logit(0.7), UNIT, {}),
    "sinc": (rg.sinc, T("sinc"), np.append(POINTS, [1e-200, -1e-160]), {}),
    "expit": (S.expit, TS("expit"), POINTS, {}),
    "deg2rad": (rg.deg2rad, T("deg2rad"), POINTS, {}),
    "rad2deg": (rg.rad2deg, T("rad2deg"), POINTS, {}),
    "nan_to_num": (rg.nan_to_num, T("nan_to_num"), POINTS, {}),
    "nan_to_num_given": (lambda x: x.nan_to_num(1.0, posinf=2.0, neginf=-3.0),
                         lambda x: x.nan_to_num(1.0, posinf=2.0, neginf=-3.0), POINTS, {}),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_match_torch(name):
    rf, tf, points, tol = UNARY[name]
    compare(rf, tf, points, **tol)


def test_ndtr_keeps_the_lower_tail_and_matches_torch_elsewhere():
    """½·erfc(−x/√2): PyTorch's (1 + erf(x/√2))/2 is exact above x ≈ −5 and 0 below −8.3 (a deliberate
    difference); the gradient is φ(x) everywhere, as PyTorch's."""
    x = rg.tensor(np.array([-30.0, -12.0, -4.0, -1.0, 0.0, 0.5, 3.0, 9.0, INF, -INF]), requires_grad=True)
    y = S.ndtr(x)
    phi = np.exp(-0.5 * x.data ** 2) / math.sqrt(2 * math.pi)
    y.backward(rg.ones_like(y))
    np.testing.assert_allclose(x.grad.data, phi, rtol=1e-12)
    np.testing.assert_allclose(y.data[:2], [4.906713927148187e-198, 1.776482112077679e-33], rtol=1e-12)  # (mpmath)
    if torch is not None:
        np.testing.assert_allclose(y.data[2:], torch.special.ndtr(torch.tensor(x.data[2:])).numpy(), rtol=1e-12)


BINARY = {
    "xlogy": (rg.xlogy, T("xlogy")),
    "xlog1py": (S.xlog1py, TS("xlog1py")),
    "hypot": (rg.hypot, T("hypot")),
    "logaddexp2": (rg.logaddexp2, T("logaddexp2")),
    "nextafter": (rg.nextafter, T("nextafter")),
    "ldexp": (rg.ldexp, T("ldexp")),
    "float_power": (lambda x, y: rg.float_power(x.abs(), y), lambda x, y: torch.float_power(x.abs(), y)),
    "true_divide": (rg.true_divide, T("true_divide")),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_gradients_match_torch(name):
    rf, tf = BINARY[name]
    compare(rf, tf, PAIRS_X, PAIRS_Y)
    # broadcasting (finite: where a summed ȳ meets ±inf, ldexp's sum-then-scale order and PyTorch's differ)
    compare(rf, tf, np.array([[1.0], [2.0], [-1.5], [3.0], [0.5]]), np.array([[2.5, 3.0, 1.0, 0.25, 0.7, 4.0, 1.5]]))


@requires_torch
def test_differentiable_in_the_second_argument_only():
    q = np.array([0.5, 1.5, 4.0, 10.0, 0.3])
    compare(lambda t: S.zeta(3.0, t), lambda t: torch.special.zeta(3.0, t), q)
    compare(lambda t: S.zeta(rg.tensor(np.array([2.0, 3.5, 1.5, 5.0, 2.0])), t),
            lambda t: torch.special.zeta(torch.tensor([2.0, 3.5, 1.5, 5.0, 2.0], dtype=torch.float64), t), q)
    a = np.array([0.5, 1.5, 4.0, 2.0, 1.0])
    x = np.array([0.5, 1.5, 4.0, 0.0, 30.0])
    for name in ("gammainc", "gammaincc"):
        compare(lambda t: getattr(S, name)(rg.tensor(a), t), lambda t: getattr(torch.special, name)(torch.tensor(a), t),
                x)
    compare(S.zeta, TS("zeta"), np.array([1.5, 2.0, 3.0, 1.0]), np.array([INF, -0.5, 0.0, 2.0]), grad=False)


def test_the_first_argument_of_zeta_and_gammainc_refuses_a_backward_pass():
    x = rg.tensor(np.array([2.0, 3.0]), requires_grad=True)
    with pytest.raises(NotImplementedError, match="zeta: the derivative with respect to x"):
        S.zeta(x, 1.5).sum().backward()
    with pytest.raises(NotImplementedError, match="zeta"):
        rg.func.jvp(lambda t: S.zeta(t, 1.5), (x.detach(),), (rg.ones_like(x),))
    with pytest.raises(NotImplementedError, match="gammainc: the derivative with respect to a"):
        S.gammainc(x, rg.tensor(np.array([1.0, 2.0]))).sum().backward()


# ---------------------------------------------------------------- the special points, written out
def _grad(fn, values, **kw):
    x = rg.tensor(np.array(values, dtype=np.float64), requires_grad=True)
    fn(x, **kw).sum().backward()
    return x.grad.data


def test_gradients_at_the_special_points():
    """PyTorch's values (checked against it above), written out: each is a rule a reader can find."""
    x = rg.tensor(np.array([0.0, 0.0, 0.0, 1.0, 2.0]), requires_grad=True)
    y = rg.tensor(np.array([0.0, 2.0, -1.0, 0.0, -1.0]), requires_grad=True)
    rg.xlogy(x, y).sum().backward()
    # x̄ = log y, but 0 where x = 0 and y ≤ 0;  ȳ = x / y
    np.testing.assert_array_equal(x.grad.data, [0.0, math.log(2.0), 0.0, -INF, NAN])
    np.testing.assert_array_equal(y.grad.data, [NAN, 0.0, -0.0, INF, -2.0])
    # logit: 1/(x(1 − x)) inside [eps, 1 − eps] (bounds included), 0 outside; NaN outside [0, 1] without eps
    np.testing.assert_allclose(_grad(rg.logit, [0.05, 0.1, 0.5, 0.9, 0.95], eps=0.1),
                               [0.0, 1 / 0.09, 4.0, 1 / 0.09, 0.0], rtol=1e-12)
    np.testing.assert_array_equal(_grad(rg.logit, [-0.5, 0.0, 1.0, 1.5]), [NAN, INF, INF, NAN])
    assert list(_grad(rg.sinc, [0.0, -0.0, 1e-200])) == [0.0, 0.0, 0.0]
    assert list(_grad(S.i1, [0.0, 1e-20, NAN])) == [0.5, 0.5, 0.5] == list(_grad(S.i1e, [0.0, -0.0, NAN]))
    assert list(_grad(S.entr, [0.0, -1.0])[:1]) == [INF] and math.isnan(_grad(S.entr, [-1.0])[0])
    np.testing.assert_array_equal(_grad(rg.lgamma, [0.0, -1.0]), [-INF, NAN])
    np.testing.assert_array_equal(_grad(rg.erfinv, [-1.0, 1.0, 1.5]), [INF, INF, NAN])
    np.testing.assert_array_equal(_grad(rg.nan_to_num, [1.0, NAN, INF, -INF]), [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(_grad(rg.sgn, [-2.0, 0.0, 3.0]), [0.0, 0.0, 0.0])
    a, b = (rg.tensor(np.array([0.0, 3.0]), requires_grad=True) for _ in range(2))
    rg.hypot(a, b).sum().backward()  # NaN at the origin
    assert math.isnan(a.grad.data[0]) and a.grad.data[1] == pytest.approx(math.sqrt(0.5))


@pytest.mark.parametrize("policy", rg.conventions.POLICIES)
@pytest.mark.parametrize("pair", [("fmax", "maximum"), ("fmin", "minimum")])
def test_fmax_fmin_ties_follow_the_conventions_as_maximum_does(policy, pair):
    """Where x = y (no NaN) fmax is maximum: the same tie gradient under every policy, with both sides
    differentiated or one (PyTorch gives fmax's ties all to input: the policy "first")."""
    for both in (True, False):
        grads = []
        for name in pair:
            x = rg.tensor(np.array([1.0, 2.0, -3.0]), requires_grad=True)
            y = rg.tensor(np.array([1.0, 1.0, -3.0]), requires_grad=both)
            with rg.conventions.policy(policy):
                out = getattr(rg, name)(x, y)
            out.sum().backward()
            grads.append((x.grad.data, None if y.grad is None else y.grad.data))
        np.testing.assert_array_equal(grads[0][0], grads[1][0])
        if both:
            np.testing.assert_array_equal(grads[0][1], grads[1][1])


@requires_torch
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_nan_rules_and_the_first_policy_match_torch(name):
    """A NaN loses to a number (of two NaNs, input gets the gradient); with the "first" policy the
    ties go to input, PyTorch's choice, so everything matches."""
    with rg.conventions.policy("first"):
        compare(getattr(rg, name), getattr(torch, name), PAIRS_X, PAIRS_Y)
        compare(getattr(rg, name), getattr(torch, name), np.array([NAN, NAN, 1.0]), np.array([NAN, 1.0, NAN]))
    x = rg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = rg.tensor(np.array([1.0, 3.0]), requires_grad=True)
    getattr(rg, name)(x, y).sum().backward()  # min_norm (the default): the tie shared, ½ each
    assert x.grad.data[0] == y.grad.data[0] == 0.5


@requires_torch
def test_lerp_addcmul_addcdiv_match_torch():
    a, b = np.array([0.0, 1.0, 2.0, -1.0, 3.0]), np.array([2.0, -3.0, 0.5, 4.0, 1.0])
    w = np.array([0.3, 0.7, -0.2, 1.4, 0.5])
    # PyTorch's kernel fuses w·(end − input) + input (an FMA): the same to the last bit or two
    compare(rg.lerp, torch.lerp, a, b, w, atol=1e-15)
    compare(lambda x, y: x.lerp(y, 0.7), lambda x, y: x.lerp(y, 0.7), a, b, atol=1e-15)
    compare(lambda x, y: rg.lerp(x, y, 0.2), lambda x, y: torch.lerp(x, y, 0.2), a, b, atol=1e-15)
    compare(rg.lerp, torch.lerp, a.reshape(5, 1), b[:3], w.reshape(5, 1, 1), atol=1e-15)  # broadcasting: (5, 5, 3)
    compare(lambda x, y: rg.lerp(x, y, rg.tensor(0.25, requires_grad=True)),  # a 0-d weight of another dtype
            lambda x, y: torch.lerp(x, y, torch.tensor(0.25, requires_grad=True)), a.astype(np.float32),
            b.astype(np.float32), rtol=1e-6, atol=1e-6)
    for value in (1, 0.5, -2):
        compare(lambda x, y, z: rg.addcmul(x, y, z, value=value),
                lambda x, y, z: torch.addcmul(x, y, z, value=value), a, b, w)
        compare(lambda x, y, z: x.addcdiv(y, z, value=value), lambda x, y, z: x.addcdiv(y, z, value=value), a, b, w)
    for value in (0.5, -1.5, 2.7, True):  # an integer result truncates a float value, as PyTorch converts it
        compare(lambda x, y, z: rg.addcmul(x, y, z, value=value), lambda x, y, z: torch.addcmul(x, y, z, value=value),
                np.array([1, 2]), np.array([3, -4]), np.array([2, 5]))
    # (PyTorch's own backward fails on this mix of dtypes: values only)
    compare(lambda x, y, z: rg.addcdiv(x, y, z, value=0.5), lambda x, y, z: torch.addcdiv(x, y, z, value=0.5),
            np.array([1, 2]), np.array([3.0, -4.0], np.float32), np.array([2, 5]), grad=False)


@requires_torch
def test_off_the_tape_functions_match_torch():
    ints_a, ints_b = np.array([-4, 0, 6, 0, 7, 12]), np.array([6, 5, -4, 0, 3, 18])
    for name in ("gcd", "lcm"):
        compare(getattr(rg, name), getattr(torch, name), ints_a, ints_b)
        compare(getattr(rg, name), getattr(torch, name), ints_a.astype(np.uint8), ints_b.astype(np.int8).reshape(6, 1))
    compare(rg.signbit, torch.signbit, np.array([-0.0, 0.0, NAN, -NAN, -1.0, INF]), grad=False)
    compare(rg.signbit, torch.signbit, np.array([-3, 0, 2]))
    for x in (np.array([-1.0, 0.0, 2.0, NAN]), np.array([-2, 0, 3]), np.array([True, False])):
        compare(rg.sgn, torch.sgn, x, grad=False)
    compare(rg.sgn, torch.sgn, np.array([3 + 4j, 0j, -2j]), grad=False)
    values = np.array([0.5, 7.0, 0.5, 0.5])
    compare(rg.heaviside, torch.heaviside, np.array([-1.0, 0.0, 2.0, NAN]), values, grad=False)
    compare(rg.heaviside, torch.heaviside, np.array([-1, 0, 2]), np.array([7]), grad=False)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        compare(getattr(rg, name), getattr(torch, name), PAIRS_X, PAIRS_Y, grad=False)
        compare(lambda x: getattr(rg, name)(x, 2.0), lambda x: getattr(torch, name)(x, 2.0), PAIRS_X, grad=False)
    names = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
             "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
             "spherical_bessel_j0", "airy_ai"]
    x = np.array([-3.0, -0.5, 0.0, 0.5, 1.0, 2.5, 20.0, INF, NAN])
    for name in names:  # PyTorch's Bessel and Airy kernels are good to ~1e-9 relative near their zeros
        y = compare(getattr(S, name), getattr(torch.special, name), x, rtol=2e-8, grad=False)
        assert not y.requires_grad and not getattr(S, name)(rg.tensor(x, requires_grad=True)).requires_grad


def test_heaviside_refuses_a_backward_pass():
    x = rg.tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    y = rg.heaviside(x, rg.tensor(np.array([0.5])))
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        (y * x).sum().backward()
    with rg.no_grad():
        assert not rg.heaviside(x, rg.tensor(np.array([0.5]))).requires_grad


# ---------------------------------------------------------------- second order and forward mode
SECOND = {
    "lgamma": (rg.lgamma, T("lgamma"), 1), "digamma": (rg.digamma, T("digamma"), 1),
    "polygamma2": (lambda x: rg.polygamma(2, x), lambda x: torch.polygamma(2, x), 1),
    "erfc": (rg.erfc, T("erfc"), 1), "erfcx": (S.erfcx, TS("erfcx"), 1), "erfinv": (rg.erfinv, T("erfinv"), 1),
    "ndtri": (S.ndtri, TS("ndtri"), 1), "log_ndtr": (S.log_ndtr, TS("log_ndtr"), 1), "i0": (rg.i0, T("i0"), 1),
    "i0e": (S.i0e, TS("i0e"), 1), "i1": (S.i1, TS("i1"), 1), "i1e": (S.i1e, TS("i1e"), 1),
    "entr": (S.entr, TS("entr"), 1), "sinc": (rg.sinc, T("sinc"), 1),
    "logit_eps": (lambda x: rg.logit(x, 0.2), lambda x: torch.logit(x, 0.2), 1),
    "mvlgamma": (lambda x: rg.mvlgamma(x + 2, 2), lambda x: torch.mvlgamma(x + 2, 2), 1),
    "xlogy": (rg.xlogy, T("xlogy"), 2), "xlog1py": (S.xlog1py, TS("xlog1py"), 2), "hypot": (rg.hypot, T("hypot"), 2),
    "logaddexp2": (rg.logaddexp2, T("logaddexp2"), 2), "fmax": (rg.fmax, T("fmax"), 2),
    "nextafter": (rg.nextafter, T("nextafter"), 2), "ldexp": (rg.ldexp, T("ldexp"), 2),
    "float_power": (rg.float_power, T("float_power"), 2), "lerp": (rg.lerp, T("lerp"), 3),
    "addcdiv": (rg.addcdiv, T("addcdiv"), 3),
    "zeta": (lambda q: S.zeta(2.5, q), lambda q: torch.special.zeta(2.5, q), 1),
    "gammaincc": (lambda x: S.gammaincc(rg.tensor(np.full(4, 1.7)), x),
                  lambda x: torch.special.gammaincc(torch.full((4,), 1.7, dtype=torch.float64), x), 1),
}
SMOOTH = [np.array([0.15, 0.3, 0.7, 0.55]), np.array([1.3, 0.2, 2.5, 0.6]), np.array([0.4, -0.3, 0.8, 0.9])]


@requires_torch
@pytest.mark.parametrize("name", sorted(set(SECOND) - {"fmax", "nextafter"}))  # (those two are piecewise linear)
def test_second_derivatives_match_torch(name):
    rf, tf, arity = SECOND[name]
    arrays = SMOOTH[:arity]
    rng = np.random.default_rng(1)
    v, u = rng.standard_normal(4), [rng.standard_normal(4) for _ in arrays]
    xr = [rg.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    gr = rg.grad((rf(*xr) * rg.tensor(v)).sum(), xr, create_graph=True)
    gt = torch.autograd.grad((tf(*xt) * torch.tensor(v)).sum(), xt, create_graph=True)
    hr = rg.grad(sum((g * rg.tensor(w)).sum() for g, w in zip(gr, u)), xr, allow_unused=True)
    ht = torch.autograd.grad(sum((g * torch.tensor(w)).sum() for g, w in zip(gt, u)), xt, allow_unused=True)
    for a, b in zip(hr, ht):
        _close(np.zeros(4) if a is None else a.data, np.zeros(4) if b is None else b.numpy(), 1e-9, name)


FORWARD = ["lgamma", "digamma", "polygamma2", "erfc", "erfcx", "erfinv", "ndtri", "log_ndtr", "i0", "i0e", "i1",
           "i1e", "entr", "sinc", "logit_eps", "mvlgamma", "xlogy", "xlog1py", "hypot", "logaddexp2", "fmax",
           "nextafter", "ldexp", "float_power", "lerp", "addcdiv"]


@requires_torch
@pytest.mark.parametrize("name", FORWARD)
def test_forward_mode_matches_torch(name):
    rf, tf, arity = SECOND[name]
    tangents = [np.array([0.3, -1.2, 0.5, 2.0]), np.array([1.0, 0.5, -0.7, 0.1]), np.array([-0.4, 0.2, 0.3, 1.1])]
    _, jr = rg.func.jvp(rf, tuple(rg.tensor(a) for a in SMOOTH[:arity]), tuple(rg.tensor(t) for t in tangents[:arity]))
    _, jt = torch.func.jvp(tf, tuple(torch.tensor(a) for a in SMOOTH[:arity]),
                           tuple(torch.tensor(t) for t in tangents[:arity]))
    _close(jr.data, jt.numpy(), 1e-9, name)


# ---------------------------------------------------------------- dtypes
DTYPE_INPUTS = {"int64": np.array([1, 2, 3]), "bool": np.array([True, False, True]),
                "uint8": np.array([1, 2, 3], np.uint8),
                "float16": np.array([0.5, 0.25, 0.75], np.float16), "float32": np.array([0.5, 0.25, 0.75], np.float32)}
UNARY_DTYPES = {"lgamma": rg.lgamma, "digamma": rg.digamma, "erfc": rg.erfc, "erfinv": rg.erfinv, "logit": rg.logit,
                "sinc": rg.sinc, "i0": rg.i0, "deg2rad": rg.deg2rad, "sgn": rg.sgn, "signbit": rg.signbit,
                "nan_to_num": rg.nan_to_num, "special.ndtr": S.ndtr, "special.entr": S.entr,
                "special.i1e": S.i1e, "special.log_ndtr": S.log_ndtr, "special.bessel_j0": S.bessel_j0}


def _torch_fn(name):
    parts = name.split(".")
    return getattr(torch.special, parts[1]) if len(parts) == 2 else getattr(torch, name)


def _outcome(fn, *args):
    """The result's dtype, or the kind of error (NotImplementedError is a RuntimeError, as in Python)."""
    try:
        return str(fn(*args).dtype).replace("torch.", "")
    except (TypeError, NotImplementedError, RuntimeError) as e:
        return next(c.__name__ for c in (TypeError, NotImplementedError, RuntimeError) if isinstance(e, c))


@requires_torch
@pytest.mark.parametrize("name", sorted(UNARY_DTYPES))
def test_unary_result_dtypes_match_torch(name):
    for a in DTYPE_INPUTS.values():
        assert _outcome(UNARY_DTYPES[name], rg.tensor(a)) == _outcome(_torch_fn(name), torch.tensor(a)), a.dtype


OPERANDS = {"int64[3]": np.array([2, 3, 4]), "float64[3]": np.array([1.5, 2.5, 3.5]),
            "float32[3]": np.array([1.5, 2.5, 3.5], np.float32), "float64[]": np.array(1.5), "int64[]": np.array(2),
            "float16[3]": np.array([1.5, 2.5, 0.5], np.float16), "int8[3]": np.array([1, 2, 3], np.int8),
            "bool[3]": np.array([True, False, True]), "2.5": 2.5, "2": 2}
BINARY_DTYPES = ["xlogy", "hypot", "logaddexp2", "float_power", "fmax", "heaviside", "nextafter", "ldexp", "gcd",
                 "special.xlog1py", "special.zeta", "special.gammainc"]


@requires_torch
@pytest.mark.parametrize("name", BINARY_DTYPES)
def test_binary_result_dtypes_and_refusals_match_torch(name):
    """PyTorch's promotion (int64 with float32 is float32; a 0-d tensor or a number does not raise a
    tensor's dtype within its category), its missing kernels and its refusal of Python numbers."""
    rf = getattr(S, name.split(".")[1]) if name.startswith("special.") else getattr(rg, name)
    tf = _torch_fn(name)
    as_rg = lambda v: rg.tensor(v) if isinstance(v, np.ndarray) else v  # noqa: E731
    as_torch = lambda v: torch.tensor(v) if isinstance(v, np.ndarray) else v  # noqa: E731
    for a in ("int64[3]", "float32[3]", "float16[3]", "bool[3]", "float64[]"):
        for b in OPERANDS:
            x, y = OPERANDS[a], OPERANDS[b]
            assert _outcome(rf, as_rg(x), as_rg(y)) == _outcome(tf, as_torch(x), as_torch(y)), (a, b)
            assert _outcome(rf, as_rg(y), as_rg(x)) == _outcome(tf, as_torch(y), as_torch(x)), (b, a)


@requires_torch
def test_float32_values_match_torch():
    x32 = np.array([0.1, 0.45, 0.8, 3.5], np.float32)
    for rf, tf in [(rg.lgamma, torch.lgamma), (rg.digamma, torch.digamma), (rg.erfinv, torch.erfinv),
                   (S.i1e, torch.special.i1e), (rg.logit, torch.logit), (rg.sinc, torch.sinc),
                   (S.log_ndtr, torch.special.log_ndtr), (S.ndtr, torch.special.ndtr)]:
        compare(rf, tf, x32, rtol=2e-6, grad_rtol=2e-5)
    compare(rg.xlogy, torch.xlogy, x32, x32[::-1].copy(), rtol=2e-6, grad_rtol=2e-5)
    compare(rg.hypot, torch.hypot, x32, x32[::-1].copy(), rtol=2e-6, grad_rtol=2e-5)
    compare(rg.float_power, torch.float_power, x32, x32[::-1].copy(), grad_rtol=1e-6)  # float64 result
    compare(rg.lgamma, torch.lgamma, x32.astype(np.float16), rtol=2e-3, grad_rtol=2e-3)


# ---------------------------------------------------------------- errors, signatures, methods
ERRORS = [
    ("polygamma float n", lambda m, t: m.polygamma(1.0, t(np.array([1.0]))), TypeError),
    ("polygamma negative n", lambda m, t: m.polygamma(-1, t(np.array([1.0]))), RuntimeError),
    ("mvlgamma p = 0", lambda m, t: m.mvlgamma(t(np.array([1.0])), 0), RuntimeError),
    ("mvlgamma bool", lambda m, t: m.mvlgamma(t(np.array([True])), 1), RuntimeError),
    ("hypot number", lambda m, t: m.hypot(t(np.array([1.0])), 2.0), TypeError),
    ("hypot integers", lambda m, t: m.hypot(t(np.array([1])), t(np.array([2]))), NotImplementedError),
    ("fmax complex", lambda m, t: m.fmax(t(np.array([1j])), t(np.array([1j]))), RuntimeError),
    ("heaviside dtypes", lambda m, t: m.heaviside(t(np.array([1.0])), t(np.array([1.0], np.float32))), RuntimeError),
    ("gcd floats", lambda m, t: m.gcd(t(np.array([1.0])), t(np.array([2.0]))), NotImplementedError),
    ("lerp number end", lambda m, t: m.lerp(t(np.array([1.0])), 2.0, 0.5), TypeError),
    ("lerp end dtype", lambda m, t: m.lerp(t(np.array([1.0])), t(np.array([1.0], np.float32)), 0.5), RuntimeError),
    ("lerp weight dtype", lambda m, t: m.lerp(t(np.array([1.0])), t(np.array([2.0])), t(np.array([0.5], np.float32))),
     RuntimeError),
    ("lerp integers", lambda m, t: m.lerp(t(np.array([1])), t(np.array([2])), 0.5), NotImplementedError),
    ("addcdiv integers", lambda m, t: m.addcdiv(t(np.array([1.0])), t(np.array([3])), t(np.array([2]))), RuntimeError),
    ("addcmul booleans", lambda m, t: m.addcmul(*[t(np.array([True]))] * 3), NotImplementedError),
    ("addcmul positional value", lambda m, t: m.addcmul(*[t(np.array([1.0]))] * 3, 2), TypeError),
    ("eq number first", lambda m, t: m.eq(2, t(np.array([2]))), TypeError),
    ("lt list", lambda m, t: m.lt(t(np.array([2])), [2]), TypeError),
    ("lt complex", lambda m, t: m.lt(t(np.array([1j])), 1), NotImplementedError),
    ("xlogy numbers", lambda m, t: m.xlogy(2.0, 3.0), TypeError),
    ("float_power numbers", lambda m, t: m.float_power(2, 3), TypeError),
    ("lgamma complex", lambda m, t: m.lgamma(t(np.array([1j]))), NotImplementedError),
    ("signbit complex", lambda m, t: m.signbit(t(np.array([1j]))), NotImplementedError),
    ("deg2rad complex", lambda m, t: m.deg2rad(t(np.array([1j]))), RuntimeError),
    ("logit eps string", lambda m, t: m.logit(t(np.array([0.5])), "a"), TypeError),
    ("nan_to_num nan string", lambda m, t: m.nan_to_num(t(np.array([0.5])), nan="a"), TypeError),
    ("erfcx float16", lambda m, t: m.special.erfcx(t(np.array([1.0], np.float16))), NotImplementedError),
    ("zeta float16", lambda m, t: m.special.zeta(t(np.array([2.0], np.float16)), 1.0), NotImplementedError),
    ("gammainc number", lambda m, t: m.special.gammainc(1.0, t(np.array([1.0]))), TypeError),
    ("gammainc integers", lambda m, t: m.special.gammainc(t(np.array([1])), t(np.array([1]))), NotImplementedError),
    ("special.round integers", lambda m, t: m.special.round(t(np.array([1]))), NotImplementedError),
    ("special.softmax without dim", lambda m, t: m.special.softmax(t(np.array([1.0]))), TypeError),
    ("bessel_j0 float16", lambda m, t: m.special.bessel_j0(t(np.array([1.0], np.float16))), NotImplementedError),
]


@pytest.mark.parametrize("call, error", [pytest.param(c, e, id=n) for n, c, e in ERRORS])
def test_errors(call, error):
    """The exception PyTorch raises (a retrograd error subclasses it), with a message naming the function."""
    with pytest.raises(error) as caught:
        call(rg, rg.tensor)
    assert len(str(caught.value)) > 20
    if torch is not None:
        with pytest.raises(error):
            call(torch, torch.tensor)


@requires_torch
def test_rg_special_has_torch_special_names_and_signatures():
    for name in S.__all__:
        ours, theirs = getattr(S, name), getattr(torch.special, name)
        assert ours.__doc__, name
        required = [p.name for p in inspect.signature(ours).parameters.values() if p.default is p.empty
                    and p.kind is p.POSITIONAL_OR_KEYWORD]
        assert len(required) == (2 if name in {"polygamma", "multigammaln", "xlogy", "xlog1py", "zeta", "gammainc",
                                               "gammaincc", "softmax", "log_softmax", "logsumexp"} else 1), name
        assert theirs is not None
    x = np.array([[0.2, 1.3], [2.0, -0.4]])
    compare(lambda t: S.softmax(t, 0), lambda t: torch.special.softmax(t, 0), x)
    compare(lambda t: S.log_softmax(t, 1, dtype=rg.float32),
            lambda t: torch.special.log_softmax(t, 1, dtype=torch.float32), x)
    compare(lambda t: S.logsumexp(t, 1, True), lambda t: torch.special.logsumexp(t, 1, True), x)
    compare(lambda t: S.round(t, decimals=1), lambda t: torch.special.round(t, decimals=1), x)
    for name in ("erf", "log1p", "expm1", "exp2"):
        compare(getattr(S, name), getattr(torch.special, name), np.abs(x))


@requires_torch
def test_tensor_methods_match_torch():
    x, y = np.array([0.2, 0.6, 1.7]), np.array([1.5, 0.3, 2.0])
    calls = [lambda t, u: t.lgamma(), lambda t, u: t.digamma(), lambda t, u: t.polygamma(2),
             lambda t, u: t.mvlgamma(2), lambda t, u: t.erfc(), lambda t, u: (t / 2).erfinv(),
             lambda t, u: (t / 2).logit(0.2), lambda t, u: t.sinc(),
             lambda t, u: t.i0(), lambda t, u: t.xlogy(u), lambda t, u: t.hypot(u), lambda t, u: t.logaddexp2(u),
             lambda t, u: t.float_power(u), lambda t, u: t.fmax(u), lambda t, u: t.fmin(u), lambda t, u: t.nextafter(u),
             lambda t, u: t.ldexp(u), lambda t, u: t.sgn(), lambda t, u: t.deg2rad(), lambda t, u: t.rad2deg(),
             lambda t, u: t.nan_to_num(), lambda t, u: t.lerp(u, 0.3), lambda t, u: t.addcmul(u, t, value=2),
             lambda t, u: t.addcdiv(u, t, value=2), lambda t, u: t.true_divide(u)]
    for call in calls:
        compare(call, call, x, y)
    compare(lambda t: t.signbit(), lambda t: t.signbit(), x - 1, grad=False)
    compare(lambda t, u: t.heaviside(u), lambda t, u: t.heaviside(u), x - 0.6, y, grad=False)
    compare(lambda t, u: t.gcd(u), lambda t, u: t.gcd(u), np.array([4, 9]), np.array([6, 12]))
    compare(lambda t, u: t.lcm(u), lambda t, u: t.lcm(u), np.array([4, 9]), np.array([6, 12]))


def test_a_missing_scipy_is_named_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ImportError, match=r"lgamma needs SciPy.*pip install scipy"):
        rg.lgamma(rg.tensor(np.array([1.5])))
    assert rg.hypot(rg.tensor(np.array([3.0])), rg.tensor(np.array([4.0]))).item() == 5.0  # NumPy's: no SciPy
