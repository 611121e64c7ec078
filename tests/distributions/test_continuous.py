"""The continuous univariate families (Normal, Uniform, Exponential, Laplace, Gamma, Beta, LogNormal)
against torch.distributions 2.13 in float64: log_prob, cdf, icdf, entropy, mean, mode, variance and
stddev, values to 1e-10 and their gradients with respect to every parameter and the value, with
parameters of different shapes broadcast together; the batch/event shapes, float32 results and
``expand``."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
import retrograd.distributions as D
from conftest import requires_torch
from dist_compare import build, same
from op_specs import torch

pytestmark = requires_torch

R = np.random.default_rng(11)


def _pos(*shape, low=0.5, high=3.0):
    return R.uniform(low, high, shape)


LOC, SCALE = R.standard_normal((3, 1)), _pos(4)          # broadcast to a (3, 4) batch
X = R.standard_normal((2, 3, 4))                          # two samples' worth of values
Q = R.uniform(0.05, 0.95, (3, 4))                          # probabilities for icdf
LOW = R.standard_normal(3)
HIGH = LOW + _pos(3)
INSIDE = LOW + R.uniform(0.1, 0.9, (2, 3)) * (HIGH - LOW)
RATE = _pos(3)
POSITIVE = _pos(2, 3, low=0.1, high=4.0)
CONC, CONC_RATE = _pos(3, 1, low=0.6, high=4.0), _pos(4)
GAMMA_X = _pos(2, 3, 4, low=0.1, high=5.0)
A, B = _pos(3, 1, low=0.6, high=4.0), _pos(4, low=0.6, high=4.0)
UNIT = R.uniform(0.05, 0.95, (2, 3, 4))

MOMENTS = ("entropy", "mean", "mode", "variance", "stddev")

# (family, parameters, value for log_prob/cdf, probabilities for icdf or None, methods without argument)
CASES = [
    ("Normal", {"loc": LOC, "scale": SCALE}, X, Q, MOMENTS),
    ("Uniform", {"low": LOW, "high": HIGH}, INSIDE, Q[:, :3].T, ("entropy", "mean", "variance", "stddev")),
    ("Exponential", {"rate": RATE}, POSITIVE, Q[:, :3], MOMENTS),
    ("Laplace", {"loc": LOC, "scale": SCALE}, X, Q, MOMENTS),
    ("Gamma", {"concentration": CONC, "rate": CONC_RATE}, GAMMA_X, None, MOMENTS),
    ("Beta", {"concentration1": A, "concentration0": B}, UNIT, None, ("entropy", "mean", "variance", "stddev")),
    ("LogNormal", {"loc": LOC, "scale": SCALE}, np.exp(X), Q, MOMENTS),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, params, value, q, moments", CASES, ids=IDS)
def test_log_prob_values_and_gradients(name, params, value, q, moments):
    same(name, params, "log_prob", value)


@pytest.mark.parametrize("name, params, value, q, moments", CASES, ids=IDS)
def test_moments_and_entropy(name, params, value, q, moments):
    for method in moments:
        if (name, method) in TRIGAMMA:
            same(name, params, method, grad=False)
            same(name, params, method, rtol=TRIGAMMA_RTOL)
        else:
            same(name, params, method)


# Gradients through ψ(α) need the trigamma function ψ′, which PyTorch's CPU kernel computes to about 1e-9
# (retrograd's, SciPy's, agrees with mpmath to 1e-15): those gradients get a looser tolerance (the values
# are still held to 1e-10).
TRIGAMMA = {("Gamma", "entropy"), ("Beta", "entropy")}
TRIGAMMA_RTOL = 1e-5


@pytest.mark.parametrize("name, params, value, q, moments", [c for c in CASES if c[3] is not None],
                         ids=[c[0] for c in CASES if c[3] is not None])
def test_cdf_and_icdf(name, params, value, q, moments):
    same(name, params, "cdf", value)
    same(name, params, "icdf", q)


def test_gamma_cdf_is_differentiable_in_rate_and_value_only():
    """P(α, βx): torch has no derivative in α either, so α is held fixed here."""
    same("Gamma", {"rate": CONC_RATE}, "cdf", GAMMA_X, fixed={"concentration": CONC})
    d = D.Gamma(rg.tensor(CONC, requires_grad=True), rg.tensor(CONC_RATE))
    with pytest.raises(NotImplementedError):
        d.cdf(rg.tensor(GAMMA_X)).sum().backward()


def test_modes_at_the_edges():
    """Uniform's mode is NaN; Beta's mode at concentrations below 1 is the corner (PyTorch's rule);
    Gamma's mode clamps at 0 when α < 1."""
    same("Uniform", {"low": LOW, "high": HIGH}, "mode", grad=False)
    same("Beta", {"concentration1": np.array([0.5, 2.0, 3.0, 0.5]), "concentration0": np.array([0.5, 3.0, 0.7, 4.0])},
         "mode", grad=False)
    same("Gamma", {"concentration": np.array([0.5, 2.0]), "rate": np.array([1.0, 2.0])}, "mode")


@pytest.mark.parametrize("name, params, value, q, moments", CASES, ids=IDS)
def test_shapes_and_expand(name, params, value, q, moments):
    ours = build(D, name, {k: rg.tensor(v) for k, v in params.items()})
    theirs = build(torch.distributions, name, {k: torch.tensor(v) for k, v in params.items()})
    assert ours.batch_shape == tuple(theirs.batch_shape) and ours.event_shape == tuple(theirs.event_shape)
    big = ours.expand((5,) + ours.batch_shape)
    big_t = theirs.expand((5,) + tuple(theirs.batch_shape))
    assert big.batch_shape == tuple(big_t.batch_shape)
    assert type(big) is type(ours) and big._validate_args == ours._validate_args
    np.testing.assert_allclose(big.log_prob(rg.tensor(value[0])).data,
                               big_t.log_prob(torch.tensor(value[0])).numpy(), rtol=1e-10)
    assert ours.has_rsample == theirs.has_rsample


@pytest.mark.parametrize("name, args", [("Normal", (0.0, 1.0)), ("Exponential", (2.0,)), ("Gamma", (2.0, 3.0)),
                                        ("Beta", (2.0, 3.0)), ("Laplace", (1.0, 2.0)), ("Uniform", (-1.0, 2.0)),
                                        ("LogNormal", (0.0, 1.0))])
def test_number_parameters_give_float32_scalars(name, args):
    """Python numbers become default-dtype (float32) tensors; the batch shape is ()."""
    ours, theirs = getattr(D, name)(*args), getattr(torch.distributions, name)(*args)
    assert ours.batch_shape == () == tuple(theirs.batch_shape)
    value = 0.25
    got, want = ours.log_prob(rg.tensor(value)), theirs.log_prob(torch.tensor(value))
    assert got.dtype == np.float32 and got.shape == ()
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-5)  # float32 lgamma kernels differ in the last bits
    np.testing.assert_allclose(ours.entropy().data, theirs.entropy().numpy(), rtol=1e-5)
    assert ours.sample().dtype == np.float32 and ours.sample((2, 3)).shape == (2, 3)


def test_float32_tensor_parameters_keep_float32():
    loc, scale = R.standard_normal(3).astype(np.float32), _pos(3).astype(np.float32)
    d = D.Normal(rg.tensor(loc), rg.tensor(scale))
    t = torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale))
    x = R.standard_normal(3).astype(np.float32)
    for got, want in ((d.log_prob(rg.tensor(x)), t.log_prob(torch.tensor(x))), (d.entropy(), t.entropy()),
                      (d.cdf(rg.tensor(x)), t.cdf(torch.tensor(x)))):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.data, want.numpy(), rtol=2e-6)
    assert d.rsample((4,)).dtype == np.float32


def test_number_and_tensor_parameters_mix():
    """A number beside a tensor takes the tensor's dtype (float64 here) and broadcasts."""
    d = D.Normal(rg.tensor(LOC), 2.0)
    assert d.scale.dtype == np.float64 and d.batch_shape == (3, 1)
    same("Normal", {"loc": LOC}, "log_prob", X[:, :, :1], fixed={"scale": 2.0})
