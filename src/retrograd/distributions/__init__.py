"""Probability distributions with PyTorch's API (``torch.distributions``), built from retrograd's ops so
that ``log_prob``, ``entropy``, ``cdf``, the moments, ``kl_divergence`` and reparameterised samples
(``rsample``) are differentiable in the parameters::

    import retrograd as rg
    from retrograd.distributions import Normal, kl_divergence

    mu = rg.tensor(0.5, requires_grad=True)
    d = Normal(mu, 2.0)
    x = d.rsample((1000,))            # x = μ + σ·ε: the gradient flows to μ
    loss = -d.log_prob(x).mean() + kl_divergence(d, Normal(0.0, 1.0))
    loss.backward()

Samples are drawn from retrograd's generator (``rg.manual_seed``): the same distributions as
PyTorch's, not the same numbers.

Files: ``distribution`` (the base classes, validation), ``constraints`` (supports and argument
constraints), ``utils``; the families in ``continuous`` (Normal, Uniform, Exponential, Laplace),
``gamma`` (Gamma, Dirichlet, Beta: implicit reparameterisation), ``discrete`` (Bernoulli,
Geometric, Binomial, Poisson), ``categorical`` (Categorical, OneHotCategorical),
``multivariate_normal``; the wrappers ``independent`` and ``transformed_distribution`` (with
LogNormal) over ``transforms``; and ``kl`` (``kl_divergence``, ``register_kl``).
"""

from . import constraints, transforms  # noqa: F401
from .categorical import Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Geometric, Poisson
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .transformed_distribution import LogNormal, TransformedDistribution
from .transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform, IndependentTransform,
                         PowerTransform, ReshapeTransform, SigmoidTransform, SoftplusTransform, TanhTransform,
                         Transform, identity_transform)

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Dirichlet", "Distribution", "Exponential",
    "ExponentialFamily", "Gamma", "Geometric", "Independent", "Laplace", "LogNormal", "MultivariateNormal",
    "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson", "TransformedDistribution",
    "Uniform", "constraints", "kl_divergence", "register_kl", "transforms",
    "AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform", "IndependentTransform",
    "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftplusTransform", "TanhTransform", "Transform",
    "identity_transform",
]
