"""The base classes every distribution derives from: ``Distribution`` (shapes, argument and sample
validation, ``sample`` as a gradient-free ``rsample``) and ``ExponentialFamily`` (an entropy from the
log-normaliser, by autograd).

Shapes. A distribution holds a batch of independent distributions of one family: ``batch_shape`` is
the shape of that batch and ``event_shape`` the shape of one draw (``()`` for a number, ``(k,)`` for a
vector). ``sample(sample_shape)`` returns ``sample_shape + batch_shape + event_shape``; ``log_prob(x)``
returns one number per event, ``x.shape[:x.ndim - len(event_shape)]``.

Validation. With ``validate_args`` on (the default, as PyTorch's; ``python -O`` turns it off, and
``Distribution.set_default_validate_args(False)`` does too) the constructor checks every parameter
against ``arg_constraints`` and ``log_prob``/``cdf`` check that the value lies in the ``support``: a
``ValueError`` names the parameter, its shape and the constraint.
"""

from __future__ import annotations

import warnings

from .. import ops as _ops
from ..autograd import grad as _grad
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from . import constraints
from .utils import _size, lazy_property

__all__ = ["Distribution", "ExponentialFamily"]


def _describe(value) -> str:
    """How ``repr`` shows a parameter: its value when it has one element, else its shape."""
    if value.numel() != 1:
        return f"shape {tuple(value.shape)}"
    return str(value.item()) if value.ndim == 0 else repr(value)


class Distribution:
    """The abstract base of probability distributions.

    Args:

    - ``batch_shape``: the shape over which parameters are batched.
    - ``event_shape``: the shape of a single sample (without batching).
    - ``validate_args``: check the arguments (and the values given to ``log_prob``/``cdf``); None
      keeps the class default (on unless Python runs with ``-O``).
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for every distribution made afterwards without an
        explicit ``validate_args``."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = _size(batch_shape)
        self._event_shape = _size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                              "`arg_constraints = {}` or initialize the distribution with `validate_args=False` "
                              "to turn off validation.", stacklevel=2)
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue  # a constraint that depends on other arguments cannot be checked
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # an argument not given (logits when probs were) is not checked
                value = getattr(self, param)
                if not constraints._all_true(constraint.check(value)):
                    raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                     f"{constraint!r}, but found invalid values:\n{value}")
        super().__init__()

    def expand(self, batch_shape, _instance=None):
        """A new distribution of the same family with its batch dimensions expanded (broadcast, no
        copy) to ``batch_shape``; arguments are not checked again."""
        raise NotImplementedError

    @property
    def batch_shape(self) -> tuple:
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict:
        """The constraint each tensor argument must satisfy, by name."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint the samples satisfy."""
        raise NotImplementedError

    @property
    def mean(self):
        """The mean of the distribution."""
        raise NotImplementedError

    @property
    def mode(self):
        """The mode of the distribution."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        """The variance of the distribution."""
        raise NotImplementedError

    @property
    def stddev(self):
        """The standard deviation: √variance."""
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """A sample of shape ``sample_shape + batch_shape + event_shape``, with no gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """A reparameterised sample: a differentiable function of the parameters and of noise that
        does not depend on them, so gradients of the sample flow back to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int):
        """``sample((n,))`` (deprecated in PyTorch)."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.", FutureWarning, stacklevel=2)
        return self.sample((n,))

    def log_prob(self, value):
        """The log of the density (or mass) at ``value``: one number per event."""
        raise NotImplementedError

    def cdf(self, value):
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value):
        """The inverse of the cumulative distribution function at ``value``."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True):
        """Every value of a discrete distribution's support, along dimension 0: shape
        ``(cardinality,) + batch_shape + event_shape`` (batch dimensions of size 1 when not ``expand``)."""
        raise NotImplementedError

    def entropy(self):
        """The entropy, one number per batch element."""
        raise NotImplementedError

    def perplexity(self):
        """exp(entropy)."""
        return _ops.exp(self.entropy())

    def _extended_shape(self, sample_shape=()) -> tuple:
        """``sample_shape + batch_shape + event_shape``: the shape of a sample."""
        return _size(sample_shape) + self._batch_shape + self._event_shape

    def _validate_sample(self, value) -> None:
        """Check a value given to ``log_prob``/``cdf``: a tensor, its rightmost dimensions the event
        shape, broadcastable with the batch shape, and inside the support (ValueError otherwise)."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        shape = tuple(value.shape)
        start = len(shape) - len(self._event_shape)
        if shape[start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {shape} vs {self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {shape} vs {expected}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample validation. Please "
                          "initialize the distribution with `validate_args=False` to turn off validation.",
                          stacklevel=2)
            return
        if not constraints._all_true(support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {shape}) to be within the "
                             f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n"
                             f"{value}")

    def _get_checked_instance(self, cls, _instance=None):
        """An empty instance of this distribution's class for ``expand`` to fill."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        return self.__class__.__name__ + "(" + ", ".join(f"{p}: {_describe(self.__dict__[p])}" for p in names) + ")"


class ExponentialFamily(Distribution):
    """Distributions with density p(x; θ) = exp(⟨t(x), θ⟩ − F(θ) + k(x)): natural parameters θ,
    log-normaliser F, carrier measure k. Their entropy is F(θ) − ⟨θ, ∇F(θ)⟩ − E[k(x)], and the
    KL divergence between two members of one family the Bregman divergence of F: both computed
    here by differentiating F with retrograd's autograd (subclasses give closed forms where known)."""

    @property
    def _natural_params(self) -> tuple:
        """The natural parameters θ, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """F(θ)."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        """E[k(x)]."""
        raise NotImplementedError

    def entropy(self):
        """F(θ) − ⟨θ, ∇F(θ)⟩ − E[k(x)], ∇F by autograd (with a graph, so it stays differentiable)."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = _grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for p, g in zip(nparams, gradients):
            result = result - (p * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
