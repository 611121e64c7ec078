"""Sampling. Draws come from retrograd's generator, so their values cannot equal PyTorch's: each
family's samples are checked by shape, dtype, support and moments (20 000 draws with a fixed seed;
the sample mean within 5 standard errors of the true mean), reproducibility under rg.manual_seed,
and rsample's gradient (d/dμ of the mean of Normal(μ, σ) draws is 1, …). The gamma family's
implicit reparameterisation gradient is checked draw by draw against the derivative of the quantile
function."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

import retrograd as rg
import retrograd.distributions as D
from retrograd.distributions.gamma import _gamma_cdf_alpha_grad

N = 20_000


def _t(*values):
    return rg.tensor(np.array(values, dtype=np.float64))


FAMILIES = [  # (distribution, sample_shape); every batch has shape (2,) unless the family says otherwise
    (lambda: D.Normal(_t(0.5, -1.0), _t(1.0, 2.0)), (N,)),
    (lambda: D.Uniform(_t(-1.0, 2.0), _t(0.5, 5.0)), (N,)),
    (lambda: D.Exponential(_t(0.5, 3.0)), (N,)),
    (lambda: D.Laplace(_t(0.5, -1.0), _t(1.0, 0.3)), (N,)),
    (lambda: D.Gamma(_t(0.3, 4.0), _t(1.0, 2.0)), (N,)),
    (lambda: D.Beta(_t(0.5, 3.0), _t(2.0, 0.7)), (N,)),
    (lambda: D.Dirichlet(rg.tensor(np.array([[0.5, 1.0, 2.0], [3.0, 0.2, 1.0]]))), (N,)),
    (lambda: D.LogNormal(_t(0.0, -0.5), _t(0.5, 0.25)), (N,)),
    (lambda: D.Bernoulli(_t(0.2, 0.7)), (N,)),
    (lambda: D.Geometric(_t(0.3, 0.8)), (N,)),
    (lambda: D.Binomial(_t(5.0, 12.0), _t(0.3, 0.6)), (N,)),
    (lambda: D.Poisson(_t(0.5, 7.0)), (N,)),
    (lambda: D.Categorical(rg.tensor(np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]))), (N,)),
    (lambda: D.OneHotCategorical(rg.tensor(np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]))), (N,)),
    (lambda: D.MultivariateNormal(rg.tensor(np.array([[0.0, 1.0], [2.0, -1.0]])),
                                  scale_tril=rg.tensor(np.array([[1.0, 0.0], [0.5, 2.0]]))), (N,)),
    (lambda: D.Independent(D.Normal(rg.tensor(np.zeros((2, 3))), 2.0), 1), (N,)),
]
IDS = ["Normal", "Uniform", "Exponential", "Laplace", "Gamma", "Beta", "Dirichlet", "LogNormal", "Bernoulli",
       "Geometric", "Binomial", "Poisson", "Categorical", "OneHotCategorical", "MultivariateNormal", "Independent"]


@pytest.mark.parametrize("make, sample_shape", FAMILIES, ids=IDS)
def test_shape_dtype_support_and_moments(make, sample_shape):
    d = make()
    rg.manual_seed(0)
    s = d.sample(sample_shape)
    assert s.shape == tuple(sample_shape) + d.batch_shape + d.event_shape
    assert s.dtype == (np.int64 if isinstance(d, D.Categorical) else np.float64)
    assert bool(d.support.check(s).all())
    if isinstance(d, D.Categorical):  # the category frequencies are the probabilities
        freq = np.stack([(s.data == k).mean(0) for k in range(3)], -1)
        np.testing.assert_allclose(freq, d.probs.data, atol=5 * np.sqrt(0.25 / N))
        return
    mean, std = d.mean.data, d.stddev.data
    assert np.all(np.abs(s.data.mean(0) - mean) <= 5 * std / np.sqrt(N)), (s.data.mean(0), mean)
    assert np.all(np.abs(s.data.std(0) - std) <= 0.05 * std), (s.data.std(0), std)  # ≥ 3 standard errors


@pytest.mark.parametrize("make, sample_shape", FAMILIES, ids=IDS)
def test_manual_seed_reproduces_and_sample_has_no_gradient(make, sample_shape):
    d = make()
    rg.manual_seed(3)
    a = d.sample((4,))
    rg.manual_seed(3)
    b = d.sample((4,))
    np.testing.assert_array_equal(a.data, b.data)
    assert not a.requires_grad
    assert d.sample().shape == d.batch_shape + d.event_shape


def _grad_of_sample_mean(make, *params, n=N):
    """The gradients of the mean over n draws of ``make(*params).rsample((n,))`` (summed over the batch)."""
    leaves = [rg.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]
    rg.manual_seed(1)
    make(*leaves).rsample((n,)).mean(0).sum().backward()
    return [leaf.grad.data for leaf in leaves]


def test_normal_rsample_gradient():
    """x = μ + σε: d mean(x)/dμ = 1 exactly, d mean(x)/dσ = mean(ε) ≈ 0."""
    g_loc, g_scale = _grad_of_sample_mean(D.Normal, [0.5, -1.0], [1.0, 2.0])
    np.testing.assert_allclose(g_loc, 1.0, rtol=1e-12)
    assert np.all(np.abs(g_scale) < 5 / np.sqrt(N))


@pytest.mark.parametrize("make, params, expected", [
    # d E[x] / d parameter, the derivative of the closed-form mean
    (D.Uniform, ([0.0], [2.0]), [[0.5], [0.5]]),
    (D.Exponential, ([2.0],), [[-0.25]]),
    (D.Laplace, ([1.0], [2.0]), [[1.0], [0.0]]),
    (D.Gamma, ([0.4, 3.0], [2.0, 1.5]), [[0.5, 1 / 1.5], [-0.4 / 4, -3.0 / 1.5 ** 2]]),
    (D.Beta, ([0.7, 2.0], [1.5, 3.0]), [[1.5 / 2.2 ** 2, 3.0 / 25], [-0.7 / 2.2 ** 2, -2.0 / 25]]),
    (D.LogNormal, ([0.0], [0.5]), [[np.exp(0.125)], [0.5 * np.exp(0.125)]]),
], ids=["Uniform", "Exponential", "Laplace", "Gamma", "Beta", "LogNormal"])
def test_rsample_gradient_is_the_gradient_of_the_mean(make, params, expected):
    """The pathwise gradient of the sample mean estimates d E[x]/dθ (to within 5% or 0.02 here)."""
    grads = _grad_of_sample_mean(make, *params)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=0.05, atol=0.02)


def test_dirichlet_and_multivariate_normal_rsample_gradients():
    conc = rg.tensor(np.array([0.5, 1.0, 2.5]), requires_grad=True)
    rg.manual_seed(2)
    x = D.Dirichlet(conc).rsample((N,))
    x.mean(0)[0].backward()  # d E[x₀]/dα = (Σα·e₀ − α₀)/(Σα)²
    a = conc.data
    np.testing.assert_allclose(conc.grad.data, (np.eye(3)[0] * a.sum() - a[0]) / a.sum() ** 2, atol=0.02)
    np.testing.assert_allclose(x.data.sum(-1), 1.0, rtol=1e-12)
    loc = rg.tensor(np.zeros(2), requires_grad=True)
    cov = rg.tensor(np.array([[2.0, 0.5], [0.5, 1.0]]))
    D.MultivariateNormal(loc, covariance_matrix=cov).rsample((7,)).sum().backward()
    np.testing.assert_allclose(loc.grad.data, [7.0, 7.0], rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.05, 0.7, 3.0, 40.0])
def test_gamma_implicit_gradient_matches_the_quantile_derivative(alpha):
    """dx/dα at fixed u = P(α, x): the derivative of the inverse cdf P⁻¹(α, u), by a central difference."""
    rng = np.random.default_rng(0)
    x = rng.standard_gamma(alpha, 200)
    x = x[x > 1e-200]  # draws that underflow to 0 have gradient 0 (and no quantile to compare with)
    u = special.gammainc(alpha, x)
    keep = (u > 1e-12) & (u < 1 - 1e-12)
    h = 1e-6 * alpha
    fd = (special.gammaincinv(alpha + h, u[keep]) - special.gammaincinv(alpha - h, u[keep])) / (2 * h)
    np.testing.assert_allclose(_gamma_cdf_alpha_grad(np.full(keep.sum(), alpha), x[keep]), fd, rtol=1e-6)


def test_gamma_samples_stay_positive_for_tiny_concentrations():
    rg.manual_seed(0)
    s = D.Gamma(rg.tensor(np.full(1000, 0.01, dtype=np.float32), requires_grad=True), 1.0).rsample()
    assert s.dtype == np.float32 and bool((s > 0).all())
    s.sum().backward()  # finite gradients, 0 where the draw underflowed


def test_float32_samples():
    d = D.Normal(rg.tensor(np.zeros(3, dtype=np.float32)), 1.0)
    assert d.rsample((5,)).dtype == np.float32
    assert D.Bernoulli(rg.tensor([0.5])).sample((2,)).dtype == np.float32
    assert D.Poisson(2.0).sample((2,)).dtype == np.float32
    assert D.Categorical(rg.tensor([0.5, 0.5])).sample((2,)).dtype == np.int64
