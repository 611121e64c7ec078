"""Discrete distributions on the integers: ``Bernoulli``, ``Geometric``, ``Binomial`` (each given by
``probs`` or by ``logits``, never both) and ``Poisson``.

Their samples are integers, so none has ``rsample``: ``sample`` draws from retrograd's generator and
returns floats of the parameter's dtype, as PyTorch's. ``log_prob``, ``entropy`` and the moments are
differentiable in the parameters. A distribution given ``probs`` computes ``logits`` only when asked
(and the other way round): both are ``lazy_property``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops as _ops
from ..autograd.backend import to_numpy
from . import constraints
from .continuous import _batch_shape_of, _expand_params
from .distribution import Distribution, ExponentialFamily
from .utils import _draws, _rng, broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli", "Geometric", "Binomial", "Poisson"]


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _values(t, shape):
    """A tensor's values broadcast to ``shape``, as a NumPy array (for drawing)."""
    return np.broadcast_to(to_numpy(t.data), shape)


def _expand_probs_or_logits(self, cls, batch_shape, _instance, extra=()):
    """``expand`` for a family given by probs or logits (whichever were made so far) and ``extra``."""
    new = _expand_params(self, cls, extra, batch_shape, _instance)
    for name in ("probs", "logits"):
        if name in self.__dict__:
            setattr(new, name, getattr(self, name).expand(tuple(batch_shape)))
            new._param = getattr(new, name)
    return new


def _enumerate(self, count: int, dtype):
    """0, 1, …, count − 1 along a new dimension 0, with singleton batch dimensions."""
    return _draws(np.arange(count), dtype).reshape((-1,) + (1,) * len(self._batch_shape))


class _BinaryEvent:
    """The probability p of a binary event given as ``probs`` or as ``logits`` (Bernoulli, Binomial,
    Geometric): each computed from the other on first use."""

    @lazy_property
    def logits(self):
        """log(p/(1 − p)) (computed from ``probs`` when those were given)."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """p = σ(logits) (computed from ``logits`` when those were given)."""
        return logits_to_probs(self.logits, is_binary=True)


class _BinaryParameter(_BinaryEvent):
    """A binary event's distribution with torch's ``param_shape``: the shape of the parameter given."""

    @property
    def param_shape(self) -> tuple:
        return tuple(self._param.shape)


class Bernoulli(_BinaryParameter, ExponentialFamily):
    """The Bernoulli distribution: 1 with probability p, 0 with probability 1 − p.

    Args:

    - ``probs``: p ∈ [0, 1].
    - ``logits``: log(p/(1 − p)) instead of probs.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        given = probs if probs is not None else logits
        super().__init__(_batch_shape_of(given, first=self._param), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_probs_or_logits(self, Bernoulli, batch_shape, _instance)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        """1 where p > ½, 0 where p < ½, NaN at p = ½ (two modes)."""
        mode = (self.probs >= 0.5).type_as(self.probs)
        return _ops.where(self.probs == 0.5, math.nan, mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return _draws(_rng().random(shape) < _values(self.probs, shape), self.probs.dtype)

    def log_prob(self, value):
        """x log p + (1 − x) log(1 − p), computed from the logits (−BCE-with-logits)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_ops.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return _ops.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        values = _enumerate(self, 2, self._param.dtype)
        return values.expand((-1,) + self._batch_shape) if expand else values

    @property
    def _natural_params(self):
        return (_ops.logit(self.probs),)

    def _log_normalizer(self, x):
        return _ops.log1p(_ops.exp(x))


class Geometric(_BinaryEvent, Distribution):
    """The number of failures before the first success in Bernoulli(p) trials:
    P(k) = (1 − p)^k p, k = 0, 1, ….

    Args:

    - ``probs``: p ∈ (0, 1].
    - ``logits``: log(p/(1 − p)) instead of probs.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        given = probs if probs is not None else logits
        super().__init__(_batch_shape_of(given, first=self.probs if probs is not None else self.logits),
                         validate_args=validate_args)
        if self._validate_args and probs is not None:
            valid = self.probs > 0  # p = 0 is in the unit interval but has no first success
            if not bool(valid.all()):
                raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                                 f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but found "
                                 f"invalid values:\n{self.probs.detach()[~valid]}")

    def expand(self, batch_shape, _instance=None):
        return _expand_probs_or_logits(self, Geometric, batch_shape, _instance)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return _ops.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        """⌊log u / log(1 − p)⌋, u ~ U[tiny, 1) (the inverse cdf)."""
        shape = self._extended_shape(sample_shape)
        tiny = float(np.finfo(self.probs.dtype).tiny)
        u = _rng().uniform(tiny, 1, shape)
        with np.errstate(divide="ignore"):
            k = np.floor(np.log(u) / np.log1p(-_values(self.probs, shape).astype(np.float64)))
        return _draws(k, self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # P(0) = 1 at p = 1: 0·log(0) is taken as 0
        probs = _ops.where((probs == 1) & (value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return _ops.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


def _clamp_by_zero(x):
    """max(x, 0) with gradient ½ at 0 (PyTorch's, so the Binomial's gradient at logits 0 matches)."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(_BinaryParameter, Distribution):
    """The number of successes in ``total_count`` Bernoulli(p) trials:
    P(k) = C(n, k) p^k (1 − p)^(n−k).

    Args:

    - ``total_count``: n, a non-negative integer (number or tensor; broadcast with probs/logits).
    - ``probs``: p ∈ [0, 1].
    - ``logits``: log(p/(1 − p)) instead of probs.
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(tuple(self._param.shape), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_probs_or_logits(self, Binomial, batch_shape, _instance, extra=("total_count",))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        n = _values(self.total_count, shape).astype(np.int64)
        p = np.clip(_values(self.probs, shape).astype(np.float64), 0, 1)
        return _draws(_rng().binomial(n, p), self.probs.dtype)

    def log_prob(self, value):
        """k·logit − log k! − log (n − k)! − (n·log(1 + e^logit) − log n!), stable for large abs(logit)."""
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_factorial_n = _ops.lgamma(n + 1)
        log_factorial_k = _ops.lgamma(value + 1)
        log_factorial_nmk = _ops.lgamma(n - value + 1)
        normalize_term = n * _clamp_by_zero(logits) + n * _ops.log1p(_ops.exp(-_ops.abs(logits))) - log_factorial_n
        return value * logits - log_factorial_k - log_factorial_nmk - normalize_term

    def _homogeneous_count(self, what: str) -> int:
        counts = to_numpy(self.total_count.data)
        total = int(counts.max())
        if not counts.min() == total:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return total

    def entropy(self):
        """−Σₖ P(k) log P(k) over k = 0 … n (one n for the whole batch)."""
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(_ops.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand=True):
        total = self._homogeneous_count("enumerate_support")
        values = _enumerate(self, 1 + total, self._param.dtype)
        return values.expand((-1,) + self._batch_shape) if expand else values


class Poisson(ExponentialFamily):
    """The Poisson distribution of rate λ: P(k) = λ^k e^(−λ) / k!.

    Args:

    - ``rate``: λ ≥ 0.
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(_batch_shape_of(rate, first=self.rate), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_params(self, Poisson, ("rate",), batch_shape, _instance)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return _draws(_rng().poisson(_values(self.rate, shape).astype(np.float64)), self.rate.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

    @property
    def _natural_params(self):
        return (_ops.log(self.rate),)

    def _log_normalizer(self, x):
        return _ops.exp(x)

