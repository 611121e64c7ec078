"""Distributions over K categories: ``Categorical`` (samples are indices 0 … K − 1, int64) and
``OneHotCategorical`` (samples are one-hot vectors of length K), each given by ``probs`` (any
non-negative weights, normalised along the last dimension) or by ``logits`` (unnormalised log
probabilities, normalised by subtracting their logsumexp); ``OneHotCategoricalStraightThrough``
adds the straight-through gradient estimator as its ``rsample``."""

from __future__ import annotations

import math

import numpy as np

from .. import ops as _ops
from ..autograd.mode import no_grad
from . import constraints
from .distribution import Distribution
from .utils import _draws, _size, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough"]


class Categorical(Distribution):
    """A categorical distribution over {0, …, K − 1}: P(k) = probs[..., k].

    Args:

    - ``probs``: non-negative weights with the categories along the last dimension (normalised here).
    - ``logits``: unnormalised log probabilities instead of probs.

    The leading dimensions of either are the batch shape.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = tuple(self._param.shape[:-1])
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = tuple(batch_shape)
        param_shape = batch_shape + (self._num_events,)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(param_shape))
                new._param = getattr(new, name)
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        """Normalised log probabilities, log pₖ (computed from ``probs`` when those were given)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """Probabilities pₖ = softmax(logits)ₖ (computed from ``logits`` when those were given)."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> tuple:
        return tuple(self._param.shape)

    @property
    def mean(self):
        """NaN: the categories are labels, not numbers."""
        return _ops.full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        """NaN, as the mean."""
        return _ops.full(self._extended_shape(), math.nan, dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        """int64 indices of shape ``sample_shape + batch_shape`` (inverse cdf of uniform draws)."""
        sample_shape = _size(sample_shape)
        with no_grad():
            probs_2d = self.probs.detach().reshape(-1, self._num_events)
        n = int(np.prod(sample_shape, dtype=np.int64))
        if n == 0:
            return _draws(np.zeros(self._extended_shape(sample_shape), dtype=np.int64), np.int64)
        samples_2d = _ops.multinomial(probs_2d, n, True).T
        return samples_2d.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        """logits[..., value] (the normalised logits), broadcasting value against the batch."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = _ops.broadcast_tensors(value, self.logits)
        value = value[..., :1]
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        """−Σ p log p (logits clamped to the dtype's lowest so that 0·(−∞) counts as 0)."""
        logits = _ops.clamp(self.logits, min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = _draws(np.arange(self._num_events), np.int64).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class OneHotCategorical(Distribution):
    """A categorical distribution whose samples are one-hot vectors of length K (event shape (K,)).

    Args:

    - ``probs``: non-negative weights with the categories along the last dimension (normalised here).
    - ``logits``: unnormalised log probabilities instead of probs.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        batch_shape = tuple(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def _param(self):
        return self._categorical._param

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        probs = self._categorical.probs
        return _ops.one_hot(probs.argmax(-1), num_classes=probs.shape[-1]).type_as(probs)

    @property
    def variance(self):
        return self._categorical.probs * (1 - self._categorical.probs)

    @property
    def param_shape(self) -> tuple:
        return self._categorical.param_shape

    def sample(self, sample_shape=()):
        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return _ops.one_hot(indices, self._categorical._num_events).type_as(probs)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self.event_shape[0]
        values = _ops.eye(n, dtype=self._param.dtype).reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + self.batch_shape + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """``OneHotCategorical`` whose ``rsample`` is the straight-through estimator: the one-hot sample's
    value with the gradient of ``probs`` (sample + probs − stop(probs))."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
