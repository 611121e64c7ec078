"""The gamma family and the distributions built on it: ``Gamma``, ``Dirichlet`` and ``Beta``.

Sampling a gamma variate has no closed-form map from parameter-free noise, so ``rsample`` uses the
*implicit* reparameterisation gradient (Figurnov, Mohamed & Mnih 2018, as PyTorch does): hold the
cdf of the sample fixed, F(x; α) = u, and differentiate,

    dx/dα = −(∂F/∂α)(x; α) / p(x; α),

with F the regularised lower incomplete gamma function P(α, x) and p the Gamma(α, 1) density. The
sample enters the graph as ``x₀ + (α − stop(α))·dx/dα``: its value is the draw x₀, its gradient with
respect to α the implicit one (the ``stop`` is ``detach``). ∂P/∂α has no closed form; it is computed
by a central difference of SciPy's ``gammainc`` in α (relative error about 1e-9; PyTorch uses a
rational approximation of the same quantity).

A Dirichlet sample is a vector of independent Gamma(αᵢ, 1) draws divided by their sum, and its
gradient follows from the gammas' through the division; ``Beta(a, b)`` is the first coordinate of
``Dirichlet([a, b])``.
"""

from __future__ import annotations

import numpy as np

from .. import ops as _ops
from ..autograd.backend import to_numpy
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor, tensor
from ..ops import special as _special
from ..ops.special import special_call
from . import constraints
from .continuous import _batch_shape_of, _expand_params
from .distribution import Distribution, ExponentialFamily
from .utils import _as_tensor, _draws, _is_number, _rng, broadcast_all

__all__ = ["Gamma", "Dirichlet", "Beta"]


def _gamma_cdf_alpha_grad(alpha, x):
    """dx/dα = −∂P(α, x)/∂α / p(x; α) for standard gamma draws x (NumPy, float64); 0 where the
    quotient is not finite (a draw of 0 from a tiny α), as PyTorch returns."""
    h = 1e-5 * alpha
    with np.errstate(all="ignore"):
        upper = special_call("Gamma.rsample", "gammainc", alpha, x) > 0.5
        # differentiate whichever of P and Q = 1 − P is below ½ (the other loses digits near 1)
        p_plus = np.where(upper, -special_call("Gamma.rsample", "gammaincc", alpha + h, x),
                          special_call("Gamma.rsample", "gammainc", alpha + h, x))
        p_minus = np.where(upper, -special_call("Gamma.rsample", "gammaincc", alpha - h, x),
                           special_call("Gamma.rsample", "gammainc", alpha - h, x))
        d_cdf = (p_plus - p_minus) / (2 * h)
        log_pdf = (alpha - 1) * np.log(x) - x - special_call("Gamma.rsample", "gammaln", alpha)
        grad = -d_cdf / np.exp(log_pdf)
    return np.where(np.isfinite(grad), grad, 0.0)


def _lift(x, low=None, high=None):
    """``x`` with its values clamped into [low, high] by adding a constant: the gradient is untouched
    (PyTorch clamps the sample's data in place, off the autograd record)."""
    values = to_numpy(x.data)
    clamped = np.clip(values, low, high)
    if np.array_equal(clamped, values):
        return x
    return x + _draws(clamped - values, x.dtype)


def _standard_gamma(concentration: Tensor) -> Tensor:
    """Gamma(α, 1) draws, one per entry of ``concentration`` (α), differentiable in α by the implicit
    reparameterisation gradient (see the module's docstring)."""
    alpha = to_numpy(concentration.data).astype(np.float64)
    x0 = _rng().standard_gamma(alpha)
    sample = _draws(x0, concentration.dtype)
    if not (concentration.requires_grad and is_grad_enabled()):
        return sample
    slope = _draws(_gamma_cdf_alpha_grad(alpha, x0), concentration.dtype)
    return sample + (concentration - concentration.detach()) * slope


class Gamma(ExponentialFamily):
    """The gamma distribution of shape α (``concentration``) and rate β:
    p(x) = β^α x^(α−1) e^(−βx) / Γ(α) on x ≥ 0.

    Args:

    - ``concentration``: α > 0.
    - ``rate``: β > 0 (1/scale).
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(_batch_shape_of(concentration, rate, first=self.concentration), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_params(self, Gamma, ("concentration", "rate"), batch_shape, _instance)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        """Gamma(α, 1)/β, differentiable in α (implicitly) and β; at least the dtype's tiny."""
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return _lift(value, low=float(np.finfo(value.dtype).tiny))

    def log_prob(self, value):
        value = _as_tensor(value, self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        return (_ops.xlogy(self.concentration, self.rate) + _ops.xlogy(self.concentration - 1, value)
                - self.rate * value - _ops.lgamma(self.concentration))

    def cdf(self, value):
        """P(α, βx), the regularised lower incomplete gamma function (not differentiable in α)."""
        if self._validate_args:
            self._validate_sample(value)
        return _special.gammainc(self.concentration, self.rate * value)

    def entropy(self):
        """α − log β + log Γ(α) + (1 − α)ψ(α)."""
        return (self.concentration - _ops.log(self.rate) + _ops.lgamma(self.concentration)
                + (1.0 - self.concentration) * _ops.digamma(self.concentration))

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return _ops.lgamma(x + 1) + (x + 1) * _ops.log(-y.reciprocal())


class Dirichlet(ExponentialFamily):
    """The Dirichlet distribution on the simplex: p(x) = Γ(Σαᵢ)/ΠΓ(αᵢ) · Π xᵢ^(αᵢ−1).

    Args:

    - ``concentration``: α, at least one-dimensional, all entries > 0; the last dimension is the event.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = tuple(concentration.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = tuple(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=()):
        """Gᵢ / ΣGⱼ with Gᵢ ~ Gamma(αᵢ, 1), kept inside [tiny, 1 − eps] as PyTorch's."""
        shape = self._extended_shape(sample_shape)
        gammas = _standard_gamma(self.concentration.expand(shape))
        x = gammas / gammas.sum(-1, keepdim=True)
        info = np.finfo(x.dtype)
        return _lift(x, low=float(info.tiny), high=1 - float(info.eps))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (_ops.xlogy(self.concentration - 1.0, value).sum(-1) + _ops.lgamma(self.concentration.sum(-1))
                - _ops.lgamma(self.concentration).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        """(αᵢ − 1)₊ / Σ(αⱼ − 1)₊; where every α < 1, the one-hot vector of the first coordinate."""
        cm1 = (self.concentration - 1).clamp(min=0.0)
        with np.errstate(invalid="ignore"):  # 0/0 where every α ≤ 1: replaced below (or NaN, as PyTorch's)
            mode = cm1 / cm1.sum(-1, keepdim=True)
        mask = (self.concentration < 1).all(-1).unsqueeze(-1)
        corner = _ops.one_hot(mode.argmax(-1), cm1.shape[-1]).type_as(mode)
        return _ops.where(mask, corner, mode)

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        k = self.concentration.shape[-1]
        a0 = self.concentration.sum(-1)
        return (_ops.lgamma(self.concentration).sum(-1) - _ops.lgamma(a0) - (k - a0) * _ops.digamma(a0)
                - ((self.concentration - 1.0) * _ops.digamma(self.concentration)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - _ops.lgamma(x.sum(-1))


class Beta(ExponentialFamily):
    """The beta distribution on [0, 1]: p(x) = x^(a−1)(1 − x)^(b−1) / B(a, b) — the first coordinate
    of ``Dirichlet([a, b])``, which it is built on.

    Args:

    - ``concentration1``: a > 0 (the exponent of x).
    - ``concentration0``: b > 0 (the exponent of 1 − x).
    """

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        if _is_number(concentration1) and _is_number(concentration0):
            both = tensor([float(concentration1), float(concentration0)])
        else:
            concentration1, concentration0 = broadcast_all(concentration1, concentration0)
            both = _ops.stack([concentration1, concentration0], -1)
        self._dirichlet = Dirichlet(both, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = tuple(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = _ops.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):
        return self._dirichlet.entropy()

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return _ops.lgamma(x) + _ops.lgamma(y) - _ops.lgamma(x + y)
