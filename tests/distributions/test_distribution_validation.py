"""Argument and sample validation (on by default, as PyTorch's) and the constraints module, against
torch.distributions 2.13: the same refusals with the same exception types (ValueError for a
parameter outside its constraint or a value outside the support, …), nothing checked with
validate_args=False, and every constraint's check, event_dim, is_discrete and repr."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
import retrograd.distributions as D
from conftest import requires_torch
from op_specs import torch
from torch_compare import same_error

pytestmark = [requires_torch,
              pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # log(−1) of unvalidated arguments
              pytest.mark.filterwarnings("ignore:.*does not define `arg_constraints`:UserWarning")]

NAN = math.nan


def _both(fn):
    """fn(module, tensor) built twice: with retrograd's module and tensor, and with torch's."""
    return (lambda: fn(D, lambda *a, **k: rg.tensor(*a, **k)),
            lambda: fn(torch.distributions, lambda *a, **k: torch.tensor(*a, **k)))


INVALID_ARGUMENTS = {  # (match, construction)
    "normal_scale": ("Expected parameter scale", lambda M, T: M.Normal(T([0.0, 1.0]), T([1.0, -1.0]))),
    "normal_nan_loc": ("Expected parameter loc", lambda M, T: M.Normal(T([NAN]), T([1.0]))),
    "uniform_order": ("Expected parameter low", lambda M, T: M.Uniform(1.0, 0.0)),
    "exponential": ("Expected parameter rate", lambda M, T: M.Exponential(T([0.0]))),
    "laplace": ("Expected parameter scale", lambda M, T: M.Laplace(0.0, -2.0)),
    "gamma": ("Expected parameter concentration", lambda M, T: M.Gamma(T([-1.0]), 1.0)),
    "beta": ("Expected parameter concentration", lambda M, T: M.Beta(1.0, -1.0)),
    "dirichlet": ("Expected parameter concentration", lambda M, T: M.Dirichlet(T([1.0, 0.0]))),
    "dirichlet_0d": ("one-dimensional", lambda M, T: M.Dirichlet(T(1.0))),
    "bernoulli_probs": ("Expected parameter probs", lambda M, T: M.Bernoulli(T([1.5]))),
    "bernoulli_neither": ("Either `probs` or `logits`", lambda M, T: M.Bernoulli()),
    "bernoulli_both": ("Either `probs` or `logits`", lambda M, T: M.Bernoulli(0.5, 0.0)),
    "geometric_zero": ("to be positive", lambda M, T: M.Geometric(T([0.0, 0.5]))),
    "binomial_count": ("Expected parameter total_count", lambda M, T: M.Binomial(2.5, T(0.3))),
    "binomial_negative": ("Expected parameter total_count", lambda M, T: M.Binomial(-1, T(0.3))),
    "poisson": ("Expected parameter rate", lambda M, T: M.Poisson(T([-0.5]))),
    "categorical_simplex": ("Expected parameter probs", lambda M, T: M.Categorical(T([-0.1, 1.1]))),
    "categorical_0d": ("one-dimensional", lambda M, T: M.Categorical(T(1.0))),
    "categorical_neither": ("Either `probs` or `logits`", lambda M, T: M.Categorical()),
    "one_hot_logits_nan": ("Expected parameter logits", lambda M, T: M.OneHotCategorical(logits=T([0.0, NAN]))),
    "mvn_not_pd": ("Expected parameter covariance_matrix",
                   lambda M, T: M.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 2.0], [2.0, 1.0]]))),
    "mvn_not_symmetric": ("Expected parameter precision_matrix",
                          lambda M, T: M.MultivariateNormal(T([0.0, 0.0]),
                                                            precision_matrix=T([[1.0, 0.5], [0.0, 1.0]]))),
    "mvn_not_tril": ("Expected parameter scale_tril",
                     lambda M, T: M.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 2.0], [0.0, 1.0]]))),
    "mvn_two_matrices": ("Exactly one of", lambda M, T: M.MultivariateNormal(T([0.0]), T([[1.0]]), T([[1.0]]))),
    "mvn_loc_0d": ("loc must be at least one-dimensional", lambda M, T: M.MultivariateNormal(T(0.0), T([[1.0]]))),
    "mvn_matrix_1d": ("at least two-dimensional", lambda M, T: M.MultivariateNormal(T([0.0]), T([1.0]))),
    "independent_too_many": ("reinterpreted_batch_ndims",
                             lambda M, T: M.Independent(M.Normal(T([0.0]), 1.0), 2)),
    "lognormal": ("Expected parameter scale", lambda M, T: M.LogNormal(0.0, 0.0)),
    "not_a_number": ("Input arguments must all be instances of Number", lambda M, T: M.Normal([0.0], 1.0)),
}


@pytest.mark.parametrize("case", list(INVALID_ARGUMENTS))
def test_invalid_arguments_are_refused_like_torch(case):
    match, build = INVALID_ARGUMENTS[case]
    ours, theirs = _both(build)
    same_error(ours, theirs, match=match)


# (OneHotCategorical builds its Categorical with the default validation, and a covariance that is not
# positive definite has no Cholesky factor: PyTorch refuses those two even without validation.)
@pytest.mark.parametrize("case", [c for c in INVALID_ARGUMENTS if INVALID_ARGUMENTS[c][0].startswith("Expected param")
                                  and c not in ("geometric_zero", "one_hot_logits_nan", "mvn_not_pd")])
def test_validate_args_false_checks_nothing(case):
    build = INVALID_ARGUMENTS[case][1]

    def lenient(M, T):
        return build(_NoValidation(M), T)

    lenient(D, rg.tensor)
    lenient(torch.distributions, torch.tensor)


class _NoValidation:
    """A module whose distribution classes are called with validate_args=False."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        cls = getattr(self.module, name)
        return lambda *a, **k: cls(*a, validate_args=False, **k)


INVALID_VALUES = {
    "not_a_tensor": ("must be a Tensor", lambda M, T: M.Normal(0.0, 1.0).log_prob(0.5)),
    "nan": ("Expected value argument", lambda M, T: M.Normal(0.0, 1.0).log_prob(T(NAN))),
    "negative": ("Expected value argument", lambda M, T: M.Exponential(1.0).log_prob(T(-1.0))),
    "cdf_negative": ("Expected value argument", lambda M, T: M.Exponential(1.0).cdf(T(-1.0))),
    "outside_uniform": ("Expected value argument", lambda M, T: M.Uniform(0.0, 1.0).log_prob(T(1.5))),
    "not_boolean": ("Expected value argument", lambda M, T: M.Bernoulli(0.3).log_prob(T(0.5))),
    "not_integer": ("Expected value argument", lambda M, T: M.Poisson(2.0).log_prob(T(1.5))),
    "above_total_count": ("Expected value argument", lambda M, T: M.Binomial(3, T(0.5)).log_prob(T(4.0))),
    "category_out_of_range": ("Expected value argument",
                              lambda M, T: M.Categorical(T([0.5, 0.5])).log_prob(T(2))),
    "not_one_hot": ("Expected value argument",
                    lambda M, T: M.OneHotCategorical(T([0.2, 0.8])).log_prob(T([1.0, 1.0]))),
    "not_simplex": ("Expected value argument", lambda M, T: M.Dirichlet(T([1.0, 2.0])).log_prob(T([0.5, 0.6]))),
    "event_shape": ("right-most size of value must match event_shape",
                    lambda M, T: M.Dirichlet(T([1.0, 1.0, 1.0])).log_prob(T([0.5, 0.5]))),
    "batch_broadcast": ("not broadcastable with batch_shape",
                        lambda M, T: M.Normal(T([0.0, 1.0]), 1.0).log_prob(T([0.0, 0.0, 0.0]))),
    "gamma_negative": ("Expected value argument", lambda M, T: M.Gamma(2.0, 1.0).log_prob(-1.0)),
    "independent_nan": ("Expected value argument",
                        lambda M, T: M.Independent(M.Normal(T([0.0, 0.0]), 1.0), 1).log_prob(T([0.0, NAN]))),
    "lognormal_negative": ("Expected value argument", lambda M, T: M.LogNormal(0.0, 1.0).log_prob(T(-1.0))),
}


@pytest.mark.parametrize("case", list(INVALID_VALUES))
def test_values_outside_the_support_are_refused_like_torch(case):
    match, build = INVALID_VALUES[case]
    ours, theirs = _both(build)
    same_error(ours, theirs, match=match)


def test_mismatched_parameter_shapes_are_a_runtime_error():
    same_error(lambda: D.Normal(rg.zeros(2), rg.ones(3)),
               lambda: torch.distributions.Normal(torch.zeros(2), torch.ones(3)))


def test_set_default_validate_args():
    try:
        D.Distribution.set_default_validate_args(False)
        d = D.Normal(0.0, -1.0)  # accepted
        assert not d._validate_args
        d.log_prob(rg.tensor(NAN))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_expand_keeps_the_validation_setting():
    assert D.Normal(0.0, 1.0, validate_args=False).expand((3,))._validate_args is False
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Normal(0.0, 1.0).expand((3,)).log_prob(rg.tensor([0.0, NAN, 1.0]))


def test_repr_and_sample_n():
    assert repr(D.Normal(0.0, 1.0)) == repr(torch.distributions.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(D.Bernoulli(logits=rg.tensor(0.5))) == "Bernoulli(logits: 0.5)"
    assert repr(D.Normal(rg.zeros(2), 1.0)) == "Normal(loc: shape (2,), scale: shape (2,))"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert D.Normal(0.0, 1.0).sample_n(3).shape == (3,)
    assert any(issubclass(w.category, FutureWarning) for w in caught)


def test_unimplemented_methods_raise():
    d = D.Poisson(1.0)
    for call in (lambda: d.cdf(rg.tensor(1.0)), lambda: d.icdf(rg.tensor(0.5)), lambda: d.enumerate_support(),
                 lambda: d.rsample()):
        with pytest.raises(NotImplementedError):
            call()
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        D.Distribution().mode


# ---------------------------------------------------------------- constraints
VALUES = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, NAN], [3.0, 1.0, 0.0, 0.25, 0.75, -0.5]])
MATRICES = np.array([[[2.0, 0.0], [1.0, 3.0]], [[1.0, 2.0], [2.0, 1.0]], [[2.0, 1.0], [1.0, 2.0]],
                     [[1.0, 0.0], [0.0, -1.0]], [[0.6, 0.0], [0.8, 0.6]]])
VECTORS = np.array([[0.2, 0.8], [0.5, 0.6], [1.0, 0.0], [-0.5, 1.5], [1.0, 1.0], [2.0, 0.0]])

CONSTRAINTS = [  # (name, args, values it is checked on)
    ("real", None, VALUES), ("positive", None, VALUES), ("nonnegative", None, VALUES),
    ("unit_interval", None, VALUES), ("boolean", None, VALUES), ("nonnegative_integer", None, VALUES),
    ("positive_integer", None, VALUES), ("greater_than", (0.5,), VALUES), ("greater_than_eq", (0.5,), VALUES),
    ("less_than", (1.0,), VALUES), ("interval", (0.0, 1.0), VALUES), ("half_open_interval", (0.0, 1.0), VALUES),
    ("integer_interval", (0, 2), VALUES), ("real_vector", None, VALUES), ("simplex", None, VECTORS),
    ("one_hot", None, VECTORS), ("multinomial", (2,), VECTORS), ("lower_triangular", None, MATRICES),
    ("lower_cholesky", None, MATRICES), ("corr_cholesky", None, MATRICES), ("square", None, MATRICES),
    ("symmetric", None, MATRICES), ("positive_semidefinite", None, MATRICES[1:]),
    ("positive_definite", None, MATRICES[1:]), ("independent_positive", None, VALUES),
]


def _constraint(module, name, args):
    if name == "independent_positive":
        return module.independent(module.positive, 1)
    c = getattr(module, name)
    return c(*args) if args is not None else c


@pytest.mark.parametrize("name, args, values", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_constraint_check_matches_torch(name, args, values):
    ours = _constraint(D.constraints, name, args)
    theirs = _constraint(torch.distributions.constraints, name, args)
    got, want = ours.check(rg.tensor(values)), theirs.check(torch.tensor(values))
    assert got.dtype == np.bool_ and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.data, want.numpy())
    assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
    if name != "multinomial":  # torch's _Multinomial has no repr of its bound
        assert repr(ours) == repr(theirs)


def test_dependent_constraints():
    c = D.constraints
    assert c.is_dependent(c.dependent) and c.is_dependent(D.Uniform.support) and not c.is_dependent(c.real)
    assert D.Uniform.support.event_dim == 0 and D.Categorical.support.is_discrete
    with pytest.raises(ValueError, match="dependent"):
        c.dependent.check(rg.tensor(1.0))
    with pytest.raises(NotImplementedError):
        c.dependent.event_dim
    assert repr(D.Uniform(0.0, 2.0).support) == repr(torch.distributions.Uniform(0.0, 2.0).support).replace(
        "tensor(0.)", "tensor(0., dtype=float32)").replace("tensor(2.)", "tensor(2., dtype=float32)")
    support = D.Binomial(rg.tensor([3.0, 5.0]), rg.tensor([0.5, 0.5])).support
    np.testing.assert_array_equal(support.check(rg.tensor([4.0, 5.0])).data, [False, True])


def test_supports_and_arg_constraints_match_torch():
    pairs = [(D.Normal(0.0, 1.0), torch.distributions.Normal(0.0, 1.0)),
             (D.Gamma(1.0, 1.0), torch.distributions.Gamma(1.0, 1.0)),
             (D.Beta(1.0, 1.0), torch.distributions.Beta(1.0, 1.0)),
             (D.Dirichlet(rg.ones(3)), torch.distributions.Dirichlet(torch.ones(3))),
             (D.Bernoulli(0.5), torch.distributions.Bernoulli(0.5)),
             (D.Poisson(1.0), torch.distributions.Poisson(1.0)),
             (D.OneHotCategorical(rg.ones(3)), torch.distributions.OneHotCategorical(torch.ones(3))),
             (D.MultivariateNormal(rg.zeros(2), rg.eye(2)), torch.distributions.MultivariateNormal(torch.zeros(2),
                                                                                                  torch.eye(2))),
             (D.LogNormal(0.0, 1.0), torch.distributions.LogNormal(0.0, 1.0))]
    for ours, theirs in pairs:
        assert repr(ours.support) == repr(theirs.support)
        assert {k: repr(v) for k, v in ours.arg_constraints.items()} == \
               {k: repr(v) for k, v in theirs.arg_constraints.items()}
