"""PyTorch's sampling functions: ``normal``, ``bernoulli``, ``multinomial``, drawn from retrograd's
generator (``rg.manual_seed``) or the NumPy ``Generator`` passed as ``generator=`` — the same
distributions as PyTorch's, not its stream of numbers.

A draw is not differentiated through: as in PyTorch, ``normal(mean, std)`` and ``bernoulli(p)``
give a result that requires grad when its parameters do, and their gradient is 0 (a
reparameterised sample is ``mean + std * randn_like(std)``, written out). ``multinomial`` returns
int64 indices, off the tape.
"""

from __future__ import annotations

import numbers

from ..autograd.backend import xp
from ..autograd.op import OpError, off_tape
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from . import elementwise as E
from .inplace import _generator
from .rearrange import _as_tensor
from .shape import broadcast_to


class SamplingError(OpError, RuntimeError):
    """Arguments PyTorch refuses with a ``RuntimeError``: also an ``OpError``."""


class SamplingNotImplemented(OpError, NotImplementedError):
    """A dtype PyTorch has no sampling kernel for (an integer mean or probability tensor)."""


def _draws(values, shape, parents):
    """``values`` as the sample; when a parameter requires grad, on the tape with gradient 0 to each
    (PyTorch's: the sample does not depend differentiably on its parameters)."""
    out = _wrap(xp.asarray(values))
    live = [p for p in parents if isinstance(p, Tensor) and p.requires_grad]
    if not live:
        return out
    nothing = xp.zeros(shape, dtype=bool)
    for p in live:  # where(False, p, sample): the sample's value, ∂/∂p = 0
        out = E.where(nothing, broadcast_to(p, shape) if tuple(p.shape) != shape else p, out)
    return out


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, out=None, **keywords):
    """Samples of N(mean, std²) (``torch.normal``), in PyTorch's four forms: a tensor of means and of
    standard deviations (broadcast together), a tensor of means and one std, one mean and a tensor of
    stds, or two numbers and a ``size`` (``dtype`` the default float unless given). ``std`` ≥ 0; the
    tensors floating. The gradient to a mean or std that requires grad is 0, as PyTorch's."""
    if out is not None:
        raise SamplingError("normal: out= is not supported (retrograd writes no outputs in place)")
    if keywords and set(keywords) - {"layout", "device", "pin_memory", "requires_grad"}:
        raise TypeError(f"normal() got unexpected keyword arguments {sorted(keywords)}")
    rng = _generator(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal(): with a number mean and std, give the size of the sample (size=(n, …))")
        _check_std(std)
        shape = (size,) if isinstance(size, int) else tuple(size)
        sample = rng.standard_normal(shape) * std + mean
        return Tensor(xp.asarray(sample, dtype=dtype or get_default_dtype()),
                      requires_grad=bool(keywords.get("requires_grad", False)))
    if size is not None:
        raise TypeError("normal(): size is taken only with a number mean and std")
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    for t in tensors:
        if t.dtype.kind != "f":
            raise SamplingNotImplemented(f"normal: not implemented for {t.dtype} tensors (normal_kernel_cpu); "
                                         f"convert with .float()")
    if std_t:
        if std.data.size and not bool((std.data >= 0).all()):
            raise SamplingError("normal: normal expects all elements of std >= 0.0")
    else:
        _check_std(std)
    out_dtype = xp.result_type(*(t.dtype for t in tensors))
    try:
        shape = xp.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    except ValueError as e:
        raise SamplingError(f"normal: the shapes of mean {tuple(getattr(mean, 'shape', ()))} and std "
                            f"{tuple(getattr(std, 'shape', ()))} do not broadcast") from e
    m = mean.data if mean_t else mean
    s = std.data if std_t else std
    sample = (xp.asarray(rng.standard_normal(shape)) * s + m).astype(out_dtype)
    return _draws(sample, shape, (mean, std))


def _check_std(std):
    if isinstance(std, bool) or not isinstance(std, numbers.Real):
        raise TypeError(f"normal(): std must be a number or a tensor, got {type(std).__name__}")
    if not std >= 0:
        raise SamplingError(f"normal: normal expects std >= 0.0, but found std {std}")


def bernoulli(input, p=None, *, generator=None, out=None):  # noqa: A002 - torch's name
    """Samples of 0 and 1 (``torch.bernoulli``): entry i is 1 with probability ``input[i]`` (a floating
    tensor in [0, 1]), in ``input``'s dtype; with a number ``p``, every entry is 1 with probability p
    and ``input`` gives only the shape and dtype. The gradient to the probabilities is 0, as PyTorch's."""
    if out is not None:
        raise SamplingError("bernoulli: out= is not supported (retrograd writes no outputs in place)")
    x = _as_tensor(input)
    rng = _generator(generator)
    shape = tuple(x.shape)
    if p is None:
        if x.dtype.kind != "f":
            raise SamplingNotImplemented(f"bernoulli: not implemented for {x.dtype} tensors (the probabilities "
                                         f"must be floating); convert with .float()")
        probs = x.data
        if probs.size and not bool(((probs >= 0) & (probs <= 1)).all()):
            raise SamplingError("bernoulli: Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        return _draws((xp.asarray(rng.random(shape)) < probs).astype(x.dtype), shape, (x,))
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise SamplingError(f"bernoulli: bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _wrap((xp.asarray(rng.random(shape)) < p).astype(x.dtype))


@off_tape
def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Category indices drawn from the (unnormalised) probabilities in the rows of ``input``
    (``torch.multinomial``): ``num_samples`` per row, int64, of shape (num_samples,) for a 1-D input
    or (rows, num_samples). With ``replacement`` each draw is independent (inverse CDF of a uniform);
    without, the categories come out in the order of PyTorch's exponential race (the largest
    pᵢ / Eᵢ, Eᵢ ~ Exp(1), first: each next draw proportional to p among those left)."""
    x = _as_tensor(input)
    if x.ndim not in (1, 2):
        raise SamplingError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {list(x.shape)}")
    if x.dtype.kind != "f":
        raise SamplingError(f"multinomial: multinomial only supports floating-point dtypes for input, got: "
                            f"{x.dtype}")
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
        raise SamplingError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples!r})")
    rows = x.data.reshape(-1, x.shape[-1]).astype(xp.float64)
    n = rows.shape[1]
    if not replacement and num_samples > n:
        raise SamplingError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                            f"({num_samples} > {n})")
    if rows.size and not bool((xp.isfinite(rows) & (rows >= 0)).all()):
        raise SamplingError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    totals = rows.sum(axis=1, keepdims=True)
    if not bool((totals > 0).all()):
        raise SamplingError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _generator(generator)
    if replacement:
        cdf = xp.cumsum(rows / totals, axis=1)
        u = xp.asarray(rng.random((rows.shape[0], num_samples)))
        # the first category whose cdf exceeds u, all rows in one search (row r shifted up by 2r)
        shift = 2.0 * xp.arange(rows.shape[0])[:, None]
        flat = xp.searchsorted((cdf + shift).reshape(-1), (u + shift).reshape(-1), side="right")
        picks = xp.minimum(flat.reshape(u.shape) - n * xp.arange(rows.shape[0])[:, None], n - 1)
    else:
        keys = rows / xp.asarray(rng.standard_exponential(rows.shape))
        picks = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(xp.int64)
    return _wrap(picks.reshape(num_samples) if x.ndim == 1 else picks)
