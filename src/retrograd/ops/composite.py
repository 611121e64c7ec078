"""Functions composed from the primitives: no vjp of their own, the tape
records the primitives they call (``gelu`` is ``0.5·x·(1 + erf(x/√2))``, ``var``
is a mean of squared deviations, ``nll_loss`` is a gather and a mean).
"""

from __future__ import annotations

import builtins
import math

from ..autograd.backend import xp
from ..autograd.op import OpError
from . import reductions as R
from .elementwise import clamp, erf, sqrt, tanh
from .reductions import mean
from .shape import _data, broadcast_to, getitem, reshape


def gelu(x, approximate: str = "none"):
    """x·Φ(x) with Φ the standard normal CDF (PyTorch's default), or its tanh
    approximation with ``approximate="tanh"``. A composition of primitives."""
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise OpError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def clip(x, a_min=None, a_max=None):
    """NumPy's name for ``clamp``."""
    return clamp(x, a_min, a_max)


def _count(x, axis):
    shape = x.shape
    axes = R._norm_axis(axis, len(shape), "mean")
    return math.prod(shape[a] for a in axes)


def var(x, axis=None, keepdims=False, ddof: int = 0):
    """Mean squared deviation over ``axis`` (NumPy's ``ddof``; ``ddof=1`` for
    PyTorch's unbiased default)."""
    n = _count(x, axis)
    d = x - mean(x, axis, keepdims=True)
    return R.Sum(axis, keepdims)(d * d) * (1.0 / (n - ddof))


def std(x, axis=None, keepdims=False, ddof: int = 0):
    """√var(x) over ``axis``."""
    return sqrt(var(x, axis, keepdims, ddof))


def expand(x, *shape):
    """PyTorch's ``expand``: broadcast to ``shape``; -1 keeps a dimension."""
    shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
    lead = len(shape) - len(x.shape)
    full = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return broadcast_to(x, full)


def expand_dims(x, axis):
    """x with a new axis of size 1 at ``axis`` (``unsqueeze``)."""
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1) if axis < 0 else axis, 1)
    return reshape(x, shape)


unsqueeze = expand_dims


def squeeze(x, axis=None):
    """x without the size-1 axes (or only ``axis``, which must have size 1)."""
    shape = x.shape
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axes = R._norm_axis(axis, len(shape), "squeeze")
        for a in axes:
            if shape[a] != 1:
                raise OpError(f"squeeze: cannot squeeze axis {a} of size {shape[a]} (shape {shape})")
        new = tuple(s for i, s in enumerate(shape) if i not in axes)
    return reshape(x, new)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """x with the axes ``start_dim … end_dim`` merged into one."""
    shape = x.shape
    if not shape:
        return reshape(x, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def split(x, indices_or_sections, axis=0):
    """NumPy's ``split``: an int gives that many equal parts, a list gives the
    split points. Each part is a slice of x (its own getitem on the tape)."""
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise OpError(f"split: axis {axis} of size {n} cannot be split into {k} equal parts")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * (axis % len(x.shape))
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def take(x, indices, axis=None):
    """NumPy's ``take``: ``x[..., indices, ...]`` along ``axis`` (flattened if None)."""
    idx = _data(indices)
    if axis is None:
        return getitem(reshape(x, (-1,)), idx)
    return getitem(x, (slice(None),) * (axis % len(x.shape)) + (idx,))


def gather(x, axis, index):
    """PyTorch's ``gather`` (NumPy's ``take_along_axis``):
    out[i][j] = x[i][index[i][j]] for ``axis=1``."""
    idx = _data(index)
    nd = len(x.shape)
    if idx.ndim != nd:
        raise OpError(f"gather: index must have {nd} dimensions like the input, got shape {idx.shape}")
    axis %= nd
    grids = xp.ogrid[tuple(slice(0, s) for s in idx.shape)]
    full = tuple(idx if i == axis else grids[i] for i in range(nd))
    return getitem(x, full)


def nll_loss(input, target, reduction: str = "mean", ignore_index: int = -100):  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,)."""
    y = _data(target)
    keep = y != ignore_index
    picked = gather(input, 1, xp.expand_dims(xp.where(keep, y, 0), 1))
    losses = -reshape(picked, y.shape) * keep.astype(input.dtype)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return R.sum(losses)
    if reduction != "mean":
        raise OpError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return R.sum(losses) * (1.0 / builtins.max(int(keep.sum()), 1))
