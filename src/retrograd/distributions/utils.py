"""Helpers the distributions share (``torch.distributions.utils``): broadcasting parameters
together, converting between probabilities and logits, lazily computed attributes, and drawing the
noise a sample is made of from retrograd's generator (``rg.manual_seed``)."""

from __future__ import annotations

import numbers
from functools import cached_property, update_wrapper

import numpy as np

from .. import ops as _ops
from .. import random as _random
from ..autograd.backend import xp
from ..autograd.mode import enable_grad
from ..autograd.tensor import Tensor, get_default_dtype

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # the Euler–Mascheroni constant γ


def _is_number(v) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, Tensor)


def broadcast_all(*values):
    """The values as tensors of one broadcast shape. Numbers become tensors of the first tensor
    argument's dtype (the default dtype when all are numbers); anything else is a ValueError."""
    if not all(isinstance(v, Tensor) or _is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number, retrograd.Tensor (got "
                         f"{', '.join(type(v).__name__ for v in values)})")
    if not all(isinstance(v, Tensor) for v in values):
        dtype = next((v.dtype for v in values if isinstance(v, Tensor)), get_default_dtype())
        values = [v if isinstance(v, Tensor) else Tensor(xp.asarray(v, dtype=dtype)) for v in values]
    return tuple(_ops.broadcast_tensors(*values))


def _size(sample_shape) -> tuple:
    """A sample shape (a tuple, list or ``torch.Size``-like of ints) as a tuple of ints."""
    shape = tuple(sample_shape)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"sample_shape must be a sequence of ints, got {sample_shape!r}")
    return tuple(int(s) for s in shape)


def _draws(values, dtype) -> Tensor:
    """Draws made on the host (a NumPy array) as a tensor of ``dtype``, off the tape."""
    return Tensor(xp.asarray(np.asarray(values), dtype=dtype))


def _rng() -> np.random.Generator:
    """retrograd's global generator (reseeded by ``rg.manual_seed``)."""
    return _random.generator()


def _standard_normal(shape, dtype) -> Tensor:
    """N(0, 1) noise of ``shape`` and ``dtype``."""
    return _draws(_rng().standard_normal(shape), dtype)


def _sum_rightmost(value, dim: int):
    """``value`` summed over its rightmost ``dim`` dimensions."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.ndim - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary: bool = False):
    """Probabilities from logits: sigmoid (binary) or softmax over the last dimension."""
    if is_binary:
        return _ops.sigmoid(logits)
    return _ops.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Probabilities clamped into [eps, 1 − eps] of their dtype (so their logs are finite)."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):
    """Logits from (clamped) probabilities: log p − log(1 − p) (binary) or log p."""
    ps = clamp_probs(probs)
    if is_binary:
        return _ops.log(ps) - _ops.log1p(-ps)
    return _ops.log(ps)


class lazy_property(cached_property):
    """An attribute computed on first access and then stored on the instance (so a distribution made
    from ``probs`` computes ``logits`` only when asked). Computed with gradients enabled, as PyTorch's,
    so a cached value stays differentiable even when first read under ``no_grad``.

    A ``functools.cached_property`` for ``inspect`` and Sphinx (so it is documented as a property, not
    as a method); the computing and storing are this class's own ``__get__``."""

    def __init__(self, wrapped):
        super().__init__(wrapped)
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def _tril_mask(n: int, diag: int):
    arange = np.arange(n)
    return arange < arange.reshape(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag: int = 0):
    """The lower triangle (diagonal offset ``diag``) of the last two dimensions, row by row, as a vector."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    rows, cols = np.nonzero(_tril_mask(n, diag))
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec, diag: int = 0):
    """The inverse of ``tril_matrix_to_vec``: a square matrix with ``vec`` in its lower triangle."""
    k = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * k + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(round(n) - n) > float(np.finfo(vec.dtype).eps):
        raise ValueError(f"The size of last dimension is {k} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mask = _tril_mask(n, diag)
    # scatter the vector into the masked places: index a padded vector with each place's slot
    slots = np.full(n * n, k, dtype=np.int64)
    slots[mask.reshape(-1)] = np.arange(k)
    padded = _ops.cat([vec, _ops.zeros(tuple(vec.shape[:-1]) + (1,), dtype=vec.dtype)], -1)
    return padded[..., slots].reshape(tuple(vec.shape[:-1]) + (n, n))


def _uniform(shape, dtype, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Uniform noise on [low, high) of ``shape``, in ``dtype`` (drawn in float64, then kept strictly
    below ``high`` after the rounding to ``dtype``)."""
    u = _rng().uniform(low, high, shape)
    below = np.nextafter(np.asarray(high, dtype=dtype), np.asarray(low, dtype=dtype))
    return _draws(np.minimum(u.astype(dtype), below), dtype)


def _as_tensor(value, dtype) -> Tensor:
    """``torch.as_tensor(value, dtype=dtype)``: a tensor of ``dtype`` (cast on the tape when needed)."""
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else value.to(dtype)
    return Tensor(xp.asarray(value, dtype=dtype))
