"""Four continuous families on the real line, each a location–scale family with a closed-form
reparameterised sample: ``Normal``, ``Uniform``, ``Exponential`` and ``Laplace``.

Each ``rsample`` is a differentiable function of the parameters and of parameter-free noise
(x = μ + σ·ε with ε ~ N(0, 1); x = low + u·(high − low) with u ~ U[0, 1); …), so the gradient of
anything computed from the sample flows back to the parameters through retrograd's ordinary ops.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops as _ops
from ..autograd.mode import no_grad
from . import constraints
from .distribution import Distribution, ExponentialFamily
from .utils import _draws, _is_number, _rng, _standard_normal, _uniform, broadcast_all

__all__ = ["Normal", "Uniform", "Exponential", "Laplace"]


def _batch_shape_of(*args, first):
    """() when every argument was a number, else the broadcast parameter's shape."""
    return () if all(_is_number(a) for a in args) else tuple(first.shape)


def _expand_params(self, cls, names, batch_shape, _instance):
    """The ``expand`` of a family whose parameters all have the batch shape."""
    new = self._get_checked_instance(cls, _instance)
    batch_shape = tuple(batch_shape)
    for name in names:
        setattr(new, name, getattr(self, name).expand(batch_shape))
    Distribution.__init__(new, batch_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


class _LocationScale:
    """A location–scale family (Normal, Laplace): ``loc`` and ``scale`` broadcast together, the batch
    shape theirs; the mean and the mode are the location."""

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(_batch_shape_of(loc, scale, first=self.loc), validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class Normal(_LocationScale, ExponentialFamily):
    """The normal (Gaussian) distribution N(loc, scale²):
    log p(x) = −(x − μ)²/(2σ²) − log σ − ½ log 2π.

    Args:

    - ``loc``: the mean μ (a number or tensor).
    - ``scale``: the standard deviation σ > 0 (broadcast with loc).
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _mean_carrier_measure = 0

    def expand(self, batch_shape, _instance=None):
        return _expand_params(self, Normal, ("loc", "scale"), batch_shape, _instance)

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """μ + σ·ε, ε ~ N(0, 1): ∂x/∂μ = 1, ∂x/∂σ = ε."""
        eps = _standard_normal(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        """½(1 + erf((x − μ)/(σ√2)))."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + _ops.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        """μ + σ√2·erfinv(2p − 1)."""
        return self.loc + self.scale * _ops.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        """½ + ½ log 2π + log σ."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + _ops.log(self.scale)

    @property
    def _natural_params(self):
        return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

    def _log_normalizer(self, x, y):
        return -0.25 * x.pow(2) / y + 0.5 * _ops.log(-math.pi / y)


class Uniform(Distribution):
    """The uniform distribution on the half-open interval [low, high): density 1/(high − low).

    Args:

    - ``low``: the lower bound (inclusive).
    - ``high``: the upper bound (exclusive), > low.
    """

    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(_batch_shape_of(low, high, first=self.low), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_params(self, Uniform, ("low", "high"), batch_shape, _instance)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        """NaN: every point of the interval is a mode."""
        return math.nan * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        """low + u·(high − low), u ~ U[0, 1)."""
        u = _uniform(self._extended_shape(sample_shape), self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        """−log(high − low) inside [low, high), −∞ outside."""
        if self._validate_args:
            self._validate_sample(value)
        lb = (self.low <= value).type_as(self.low)
        ub = (self.high > value).type_as(self.low)
        return _ops.log(lb * ub) - _ops.log(self.high - self.low)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return _ops.log(self.high - self.low)


class Exponential(ExponentialFamily):
    """The exponential distribution of rate λ: p(x) = λ e^(−λx) on x ≥ 0.

    Args:

    - ``rate``: λ > 0.
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(_batch_shape_of(rate, first=self.rate), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_params(self, Exponential, ("rate",), batch_shape, _instance)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return _ops.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        """E/λ, E ~ Exp(1)."""
        shape = self._extended_shape(sample_shape)
        e = _draws(_rng().standard_exponential(shape), self.rate.dtype)
        return e / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - _ops.exp(-self.rate * value)

    def icdf(self, value):
        return -_ops.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - _ops.log(self.rate)

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -_ops.log(-x)


class Laplace(_LocationScale, Distribution):
    """The Laplace (double exponential) distribution: p(x) = exp(−|x − μ|/b) / (2b).

    Args:

    - ``loc``: the location μ.
    - ``scale``: the scale b > 0.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def expand(self, batch_shape, _instance=None):
        return _expand_params(self, Laplace, ("loc", "scale"), batch_shape, _instance)

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=()):
        """μ − b·sign(u)·log(1 − abs(u)), u ~ U[eps − 1, 1) (the inverse cdf; abs(u) < 1 keeps it finite)."""
        eps = float(np.finfo(self.loc.dtype).eps)
        u = _uniform(self._extended_shape(sample_shape), self.loc.dtype, eps - 1, 1)
        return self.loc - self.scale * u.sign() * _ops.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -_ops.log(2 * self.scale) - _ops.abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * _ops.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * _ops.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + _ops.log(2 * self.scale)
