"""Distributions over vectors and the wrappers — Dirichlet, MultivariateNormal (by covariance,
precision or scale_tril), Independent and TransformedDistribution with the common transforms —
against torch.distributions 2.13 in float64: values to 1e-10 and gradients, broadcasting of batch
dimensions, shapes and supports."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
import retrograd.distributions as D
from conftest import requires_torch
from dist_compare import same
from op_specs import torch
from torch_compare import compare

pytestmark = requires_torch

R = np.random.default_rng(3)
CONC = R.uniform(0.6, 4.0, (2, 4))
SIMPLEX = R.dirichlet(np.ones(4), (3, 2))


def _spd(*batch, n=3):
    a = R.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


COV = _spd(2)
TRIL = np.linalg.cholesky(_spd())
PREC = _spd()
LOC = R.standard_normal((2, 3))
X = R.standard_normal((4, 2, 3))


@pytest.mark.parametrize("method", ["log_prob", "entropy", "mean", "variance", "mode"])
def test_dirichlet(method):
    args = (SIMPLEX,) if method == "log_prob" else ()
    if method == "entropy":  # trigamma in the gradient: PyTorch's kernel is good to ~1e-9 (see test_continuous)
        same("Dirichlet", {"concentration": CONC}, method, grad=False)
        same("Dirichlet", {"concentration": CONC}, method, rtol=1e-5)
    else:
        same("Dirichlet", {"concentration": CONC}, method, *args, grad=method != "mode")


def test_dirichlet_mode_below_one_is_a_corner():
    same("Dirichlet", {"concentration": np.array([[0.5, 0.7, 0.2], [2.0, 3.0, 1.0]])}, "mode", grad=False)


MVN_CASES = [  # the matrix parameter and its shape against loc (2, 3): shared, batched, broadcast
    ("scale_tril", TRIL),
    ("covariance_matrix", COV),
    ("precision_matrix", PREC),
]


@pytest.mark.parametrize("kind, matrix", MVN_CASES, ids=[c[0] for c in MVN_CASES])
@pytest.mark.parametrize("method", ["log_prob", "entropy", "mean", "variance", "covariance_matrix",
                                    "precision_matrix", "scale_tril"])
def test_multivariate_normal(kind, matrix, method):
    args = (X,) if method == "log_prob" else ()
    same("MultivariateNormal", {"loc": LOC, kind: matrix}, method, *args, rtol=1e-9)


def test_multivariate_normal_batch_broadcasting():
    """loc (3,) against a batch of covariances (2, 3, 3): batch (2,), values scored in a (4, 2) batch."""
    same("MultivariateNormal", {"loc": LOC[0], "covariance_matrix": COV}, "log_prob", X, rtol=1e-9)
    d = D.MultivariateNormal(rg.tensor(LOC[0]), covariance_matrix=rg.tensor(COV))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    assert d.expand((5, 2)).batch_shape == (5, 2) and d.expand((5, 2)).sample((7,)).shape == (7, 5, 2, 3)


def _independent(module, loc, scale):
    return module.Independent(module.Normal(loc, scale), 1)


@pytest.mark.parametrize("method", ["log_prob", "entropy", "mean", "variance"])
def test_independent_sums_over_the_reinterpreted_dimensions(method):
    loc, scale, x = R.standard_normal((3, 4)), R.uniform(0.5, 2, (3, 4)), R.standard_normal((2, 3, 4))

    def run(module, *ts):
        d = _independent(module, *ts[:2])
        attr = getattr(d, method)
        return attr(*ts[2:]) if callable(attr) else attr

    compare(lambda *ts: run(D, *ts), lambda *ts: run(torch.distributions, *ts),
            loc, scale, *((x,) if method == "log_prob" else ()))


def test_independent_shapes_support_and_errors():
    d = _independent(D, rg.tensor(np.zeros((3, 4))), 1.0)
    t = _independent(torch.distributions, torch.zeros(3, 4), 1.0)
    assert d.batch_shape == (3,) and d.event_shape == (4,) and repr(d.support) == repr(t.support)
    assert d.has_rsample and not d.has_enumerate_support
    assert d.expand((2, 3)).batch_shape == (2, 3) and d.expand((2, 3)).rsample().shape == (2, 3, 4)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        D.Independent(D.Normal(rg.zeros(3), 1.0), 2)
    with pytest.raises(ValueError):
        torch.distributions.Independent(torch.distributions.Normal(torch.zeros(3), 1.0), 2)


def _chain(module, kind, *params):
    """A Normal base through a named chain of transforms (params: loc, scale, then the affine's)."""
    T = module.transforms if module is D else torch.distributions.transforms
    base = module.Normal(params[0], params[1])
    chains = {
        "affine_exp": lambda: [T.AffineTransform(params[2], params[3]), T.ExpTransform()],
        "sigmoid": lambda: [T.SigmoidTransform()],
        "tanh": lambda: [T.TanhTransform()],
        "negate_exp": lambda: [T.AffineTransform(0.0, -1.0), T.ExpTransform(), T.AffineTransform(params[2], params[3])],
    }
    return module.TransformedDistribution(base, chains[kind]())


CHAIN_VALUES = {"affine_exp": np.exp(R.standard_normal((2, 3))), "sigmoid": R.uniform(0.05, 0.95, (2, 3)),
                "tanh": R.uniform(-0.9, 0.9, (2, 3))}


@pytest.mark.parametrize("kind", ["affine_exp", "sigmoid", "tanh"])
@pytest.mark.parametrize("method", ["log_prob", "cdf", "icdf"])
def test_transformed_distribution(kind, method):
    loc, scale = R.standard_normal(3), R.uniform(0.5, 2.0, 3)
    extra = (R.standard_normal(3), R.uniform(0.5, 2.0, 3)) if kind == "affine_exp" else ()
    value = R.uniform(0.05, 0.95, (2, 3)) if method == "icdf" else CHAIN_VALUES[kind]
    n = 2 + len(extra)
    compare(lambda *ts: getattr(_chain(D, kind, *ts[:n]), method)(ts[n]),
            lambda *ts: getattr(_chain(torch.distributions, kind, *ts[:n]), method)(ts[n]),
            loc, scale, *extra, value)


def test_decreasing_chain_flips_the_cdf():
    """x ↦ a + b·e^(−x), a chain with sign −1: cdf and icdf use 1 − F, as PyTorch's."""
    loc, scale, a, b = R.standard_normal(3), R.uniform(0.5, 2.0, 3), R.standard_normal(3), R.uniform(0.5, 2, 3)
    for method, value in (("cdf", R.uniform(0.1, 3.0, (2, 3)) * b + a), ("icdf", R.uniform(0.1, 0.9, (2, 3)))):
        compare(lambda *ts: getattr(_chain(D, "negate_exp", *ts[:4]), method)(ts[4]),
                lambda *ts: getattr(_chain(torch.distributions, "negate_exp", *ts[:4]), method)(ts[4]),
                loc, scale, a, b, value)


def test_transforms_log_abs_det_jacobian_and_inverses():
    x = R.standard_normal((2, 3))
    T, TT = D.transforms, torch.distributions.transforms
    for ours, theirs in ((T.ExpTransform(), TT.ExpTransform()), (T.SigmoidTransform(), TT.SigmoidTransform()),
                         (T.TanhTransform(), TT.TanhTransform()), (T.SoftplusTransform(), TT.SoftplusTransform()),
                         (T.AffineTransform(1.5, -2.0), TT.AffineTransform(1.5, -2.0)),
                         (T.AffineTransform(1.5, 2.0, event_dim=1), TT.AffineTransform(1.5, 2.0, event_dim=1))):
        compare(lambda t: ours.log_abs_det_jacobian(t, ours(t)), lambda t: theirs.log_abs_det_jacobian(t, theirs(t)),
                x)
        compare(lambda t: ours.inv(ours(t)), lambda t: theirs.inv(theirs(t)), x)
        assert ours.sign == theirs.sign and ours.bijective == theirs.bijective
        assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform().inv.inv == T.ExpTransform()
    assert T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, -1.0)]).sign == -1


def test_transformed_shapes_expand_and_sample():
    d = _chain(D, "affine_exp", rg.zeros(3), 1.0, rg.tensor(np.ones(3)), 2.0)
    assert d.batch_shape == (3,) and d.event_shape == () and d.has_rsample
    assert repr(d.support) == "GreaterThan(lower_bound=0.0)"
    rg.manual_seed(1)
    s = d.rsample((5,))
    assert s.shape == (5, 3) and bool((s > 0).all())
    assert d.expand((4, 3)).sample().shape == (4, 3)
    with pytest.raises(ValueError, match="Transform"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [D.ExpTransform(), "exp"])
