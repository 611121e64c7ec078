"""The multivariate normal distribution N(μ, Σ), parameterised by the covariance Σ, the precision
Σ⁻¹ or a lower-triangular factor L with Σ = L Lᵀ (``scale_tril``).

Everything is computed from L, the Cholesky factor: a sample is μ + L ε (ε ~ N(0, I)), the
Mahalanobis term (x − μ)ᵀ Σ⁻¹ (x − μ) is ‖L⁻¹(x − μ)‖² (one triangular solve) and
½ log det Σ = Σᵢ log Lᵢᵢ. Gradients reach whichever parameter was given through
``rg.linalg.cholesky`` and ``solve_triangular``.
"""

from __future__ import annotations

import math

from .. import ops as _ops
from ..ops import linalg_namespace as _linalg
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat, bvec):
    """Matrix–vector products over broadcast batch dimensions."""
    return _ops.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL, bx):
    """‖L⁻¹x‖² for lower-triangular L (..., n, n) and vectors x (..., n), batch dimensions broadcast."""
    solved = _linalg.solve_triangular(bL, bx.unsqueeze(-1), upper=False)
    return solved.pow(2).sum((-2, -1))


def _precision_to_scale_tril(P):
    """The lower Cholesky factor of P⁻¹ without inverting P: with J the reversal permutation,
    chol(J P J) = Lf gives P = (J Lf J)(J Lf J)ᵀ, an upper-times-lower factorisation, whose
    inverse factor is a triangular solve against the identity."""
    Lf = _linalg.cholesky(_ops.flip(P, (-2, -1)))
    L_inv = _ops.transpose(_ops.flip(Lf, (-2, -1)), -2, -1)
    Id = _ops.eye(P.shape[-1], dtype=P.dtype)
    return _linalg.solve_triangular(L_inv, Id, upper=False)


def _batch_shape(matrix, loc, name):
    try:
        return tuple(_ops.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
    except (ValueError, RuntimeError) as e:
        raise RuntimeError(f"MultivariateNormal: the batch shapes of {name} {tuple(matrix.shape)} and loc "
                           f"{tuple(loc.shape)} do not broadcast") from e


class MultivariateNormal(Distribution):
    """The multivariate normal distribution:
    log p(x) = −½ (x − μ)ᵀ Σ⁻¹ (x − μ) − ½ log det Σ − (n/2) log 2π.

    Args:

    - ``loc``: the mean μ, shape (..., n).
    - ``covariance_matrix``: Σ, positive definite, shape (..., n, n).
    - ``precision_matrix``: Σ⁻¹ instead.
    - ``scale_tril``: L, lower triangular with a positive diagonal, Σ = L Lᵀ, instead.

    Exactly one of the three matrices is given; its batch dimensions broadcast with loc's.
    """

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = {"scale_tril": scale_tril, "covariance_matrix": covariance_matrix,
                 "precision_matrix": precision_matrix}
        name, matrix = next((k, v) for k, v in given.items() if v is not None)
        if matrix.ndim < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{what} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = _batch_shape(matrix, loc, name)
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, tuple(self.loc.shape[-1:]), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        cov_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        """L, the lower Cholesky factor of Σ (Σ = L Lᵀ), expanded to the batch shape."""
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        """Σ = L Lᵀ, expanded to the batch shape."""
        L = self._unbroadcasted_scale_tril
        return _ops.matmul(L, L.mT).expand(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        """Σ⁻¹, from the Cholesky factor L, expanded to the batch shape."""
        return _ops.cholesky_inverse(self._unbroadcasted_scale_tril).expand(
            self._batch_shape + self._event_shape + self._event_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """diag Σ = the row sums of L²."""
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        """μ + L ε, ε ~ N(0, I)."""
        eps = _standard_normal(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self):
        """(n/2)(1 + log 2π) + ½ log det Σ."""
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)
