"""The discrete families (Bernoulli, Geometric, Binomial, Poisson, Categorical, OneHotCategorical),
given by probs and by logits, against torch.distributions 2.13 in float64: log_prob, entropy and
the moments, values to 1e-10 and gradients; the lazily derived probs/logits; enumerate_support;
the edge probabilities 0 and 1; shapes and expand."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
import retrograd.distributions as D
from conftest import requires_torch
from dist_compare import build, same
from op_specs import torch

pytestmark = requires_torch

R = np.random.default_rng(5)
P = R.uniform(0.05, 0.95, 3)
LOGITS = R.standard_normal(3) * 2
BITS = R.integers(0, 2, (2, 3)).astype(np.float64)
COUNTS = R.integers(0, 6, (2, 3)).astype(np.float64)
WEIGHTS = R.uniform(0.1, 2.0, (3, 4))       # unnormalised category weights: batch (3,), 4 categories
CAT_LOGITS = R.standard_normal((3, 4))
INDICES = R.integers(0, 4, (2, 3))
ONE_HOT = np.eye(4)[INDICES]

MOMENTS = ("entropy", "mean", "variance", "stddev")

CASES = [  # (family, parameters, a value for log_prob, methods, fixed arguments)
    ("Bernoulli", {"probs": P}, BITS, MOMENTS, None),
    ("Bernoulli", {"logits": LOGITS}, BITS, MOMENTS + ("probs",), None),
    ("Geometric", {"probs": P}, COUNTS, MOMENTS + ("logits",), None),
    ("Geometric", {"logits": LOGITS}, COUNTS, MOMENTS + ("probs",), None),
    ("Binomial", {"probs": P}, COUNTS, MOMENTS + ("logits",), {"total_count": 7.0}),
    ("Binomial", {"logits": LOGITS}, COUNTS, MOMENTS, {"total_count": 7.0}),
    ("Poisson", {"rate": P * 4}, COUNTS, ("mean", "variance", "stddev"), None),
    ("Categorical", {"probs": WEIGHTS}, INDICES, ("entropy", "probs", "logits"), None),
    ("Categorical", {"logits": CAT_LOGITS}, INDICES, ("entropy", "probs", "logits"), None),
    ("OneHotCategorical", {"probs": WEIGHTS}, ONE_HOT, ("entropy", "mean", "variance", "probs"), None),
    ("OneHotCategorical", {"logits": CAT_LOGITS}, ONE_HOT, ("entropy", "mean", "variance", "logits"), None),
]
IDS = [f"{c[0]}-{next(iter(c[1]))}" for c in CASES]


@pytest.mark.parametrize("name, params, value, methods, fixed", CASES, ids=IDS)
def test_log_prob_values_and_gradients(name, params, value, methods, fixed):
    same(name, params, "log_prob", value, fixed=fixed)


@pytest.mark.parametrize("name, params, value, methods, fixed", CASES, ids=IDS)
def test_moments_entropy_and_derived_parameters(name, params, value, methods, fixed):
    for method in methods:
        same(name, params, method, fixed=fixed)


@pytest.mark.parametrize("name, params, value, methods, fixed", CASES, ids=IDS)
def test_mode(name, params, value, methods, fixed):
    """Piecewise constant (or an argmax): values and dtype only."""
    same(name, params, "mode", fixed=fixed, grad=False)


@pytest.mark.parametrize("name, params, value, methods, fixed", CASES, ids=IDS)
def test_shapes_expand_and_enumerate_support(name, params, value, methods, fixed):
    ours = build(D, name, {k: rg.tensor(v) for k, v in params.items()}, fixed)
    theirs = build(torch.distributions, name, {k: torch.tensor(v) for k, v in params.items()}, fixed)
    assert ours.batch_shape == tuple(theirs.batch_shape) and ours.event_shape == tuple(theirs.event_shape)
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    assert ours.has_rsample == theirs.has_rsample
    big, big_t = ours.expand((2,) + ours.batch_shape), theirs.expand((2,) + tuple(theirs.batch_shape))
    assert big.batch_shape == tuple(big_t.batch_shape)
    np.testing.assert_allclose(big.log_prob(rg.tensor(value)).data, big_t.log_prob(torch.tensor(value)).numpy(),
                               rtol=1e-10)
    if theirs.has_enumerate_support:
        for expand in (True, False):
            got, want = ours.enumerate_support(expand), theirs.enumerate_support(expand)
            assert got.dtype == want.numpy().dtype and got.shape == tuple(want.shape)
            np.testing.assert_array_equal(got.data, want.numpy())


def test_edge_probabilities():
    """p = 0 and p = 1: finite log-probabilities from the clamped logits, as PyTorch's; Geometric(1)
    puts all its mass on 0; Bernoulli's mode is NaN at ½."""
    edges = np.array([0.0, 0.5, 1.0])
    same("Bernoulli", {"probs": edges}, "log_prob", np.array([0.0, 1.0, 1.0]), grad=False)
    same("Bernoulli", {"probs": edges}, "entropy", grad=False)
    same("Bernoulli", {"probs": edges}, "mode", grad=False)
    same("Geometric", {"probs": np.array([1.0, 0.5])}, "log_prob", np.array([0.0, 2.0]))
    same("Categorical", {"probs": np.array([0.0, 0.3, 0.7])}, "entropy")
    same("Binomial", {"probs": edges}, "log_prob", np.array([0.0, 2.0, 4.0]), fixed={"total_count": 4.0},
         grad=False)


def test_binomial_total_count_broadcasts_and_must_be_homogeneous_for_entropy():
    same("Binomial", {"probs": P}, "log_prob", COUNTS, fixed={"total_count": np.array([5.0, 6.0, 7.0])})
    d = D.Binomial(rg.tensor([5.0, 6.0]), probs=rg.tensor([0.3, 0.4]))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        d.entropy()
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        d.enumerate_support()


def test_categorical_value_broadcasts_against_the_batch():
    """A value of shape (5, 1) scores every batch element (PyTorch's broadcast in log_prob)."""
    same("Categorical", {"logits": CAT_LOGITS}, "log_prob", R.integers(0, 4, (5, 1)))


def test_poisson_has_no_rsample_nor_entropy():
    d = D.Poisson(rg.tensor([1.0, 2.0]))
    with pytest.raises(NotImplementedError):
        d.rsample()
    with pytest.raises(NotImplementedError):
        torch.distributions.Poisson(torch.tensor([1.0, 2.0])).entropy()
    with pytest.raises(NotImplementedError):
        d.entropy()


def test_one_hot_straight_through_rsample_carries_the_probs_gradient():
    probs = rg.tensor(WEIGHTS[0] / WEIGHTS[0].sum(), requires_grad=True)
    rg.manual_seed(0)
    s = D.OneHotCategoricalStraightThrough(probs=probs).rsample((6,))
    assert s.shape == (6, 4) and set(np.unique(s.data)) <= {0.0, 1.0}
    (s * rg.tensor(np.arange(4.0))).sum().backward()
    # ∂/∂p of Σ (onehot + p − stop(p))·w is 6·w, through the normalisation p/Σp (Σp = 1 here)
    w = np.arange(4.0)
    np.testing.assert_allclose(probs.grad.data, 6 * (w - (w * probs.data).sum()), rtol=1e-12)
