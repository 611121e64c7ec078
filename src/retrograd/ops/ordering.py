"""Ordering: ``sort``, ``argsort``, ``topk``, and ``argmax``/``argmin`` with
PyTorch's ``dim``/``keepdim``.

The order itself is not differentiable (indices are int64 tensors off the
tape); the sorted values are ``gather(x, dim, indices)``, so their gradient is
ȳ scattered back to the positions the values came from (``index_add``), and
second derivatives come with it.

Orders are always stable (PyTorch's ``stable=False`` promises nothing about
ties, so the stable order is one it allows): equal values keep their original
order, ascending and descending. NaN sorts as the largest value, as in PyTorch.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, off_tape
from ..autograd.tensor import Tensor, _wrap
from .composite import gather
from .shape import _data


class SortResult(NamedTuple):
    """``(values, indices)`` of ``sort`` and ``topk``, like PyTorch's return types."""
    values: Tensor
    indices: Tensor


def _axis(dim, ndim, name):
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise OpError(f"{name}: dim must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimError(f"{name}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % ndim if ndim else 0


def _order(d, axis, descending):
    """Stable argsort along ``axis`` (int64); descending keeps ties in their
    original order and puts NaN first, like PyTorch."""
    if not descending:
        return xp.argsort(d, axis=axis, kind="stable").astype(xp.int64, copy=False)
    n = d.shape[axis]
    backwards = xp.argsort(xp.flip(d, axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(backwards, axis)).astype(xp.int64, copy=False)


def _tensor(x, name):
    if not isinstance(x, Tensor):
        x = Tensor(xp.asarray(x))
    if x.dtype.kind not in "biuf":
        raise OpError(f"{name}: cannot order a tensor of dtype {x.dtype}")
    return x


@off_tape
def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    """Indices (int64) that sort ``x`` along ``dim``. Not differentiable."""
    x = _tensor(x, "argsort")
    axis = _axis(dim, x.ndim, "argsort")
    if x.ndim == 0:
        return _wrap(xp.zeros((), dtype=xp.int64))
    return _wrap(_order(x.data, axis, descending))


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """``(values, indices)``: ``x`` sorted along ``dim`` and where each value
    came from. The values' gradient goes back to those positions."""
    x = _tensor(x, "sort")
    axis = _axis(dim, x.ndim, "sort")
    if x.ndim == 0:
        return SortResult(x * 1 if x.dtype.kind == "f" else _wrap(x.data.copy()),
                          _wrap(xp.zeros((), dtype=xp.int64)))
    indices = _order(x.data, axis, descending)
    return SortResult(gather(x, axis, indices), _wrap(indices))


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> SortResult:  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest)
    entries along ``dim``, in order (also with ``sorted=False``, which PyTorch
    leaves unspecified). Gradients go back to the chosen positions."""
    x = _tensor(x, "topk")
    if x.dtype.kind == "b":
        raise OpError(f"topk: boolean input is not supported (got bool{list(x.shape)}); PyTorch refuses it "
                      f"too on CPU: convert it first (x.int())")
    axis = _axis(dim, x.ndim, "topk")
    n = x.shape[axis] if x.ndim else 1
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= n:
        raise OpError(f"topk: k={k!r} is out of range for a dimension of size {n}")
    if x.ndim == 0:
        return sort(x)
    indices = _order(x.data, axis, largest)
    indices = indices[(slice(None),) * axis + (slice(0, k),)]
    return SortResult(gather(x, axis, indices), _wrap(indices))


def _arg_extremum(x, dim, keepdim, axis, name, pick):
    if axis is not None:  # NumPy's keyword, kept for existing callers
        if dim is not None:
            raise OpError(f"{name}: give dim or axis, not both")
        dim = axis
    d = _data(x)
    if dim is not None:
        dim = _axis(dim, d.ndim, name)
    if d.size == 0:
        if dim is None or d.ndim == 0 or d.shape[dim] == 0:  # nothing to pick from along the reduced dim
            raise OpError(f"{name}: cannot take the {name} of an empty tensor"
                          + ("" if dim is None else f" along dim {dim} of size 0"))
        shape = tuple(1 if a == dim else n for a, n in enumerate(d.shape)) if keepdim else \
            tuple(n for a, n in enumerate(d.shape) if a != dim)
        return _wrap(xp.zeros(shape, dtype=xp.int64))  # an empty result (another dim is 0), as PyTorch's
    out = pick(d, axis=dim, keepdims=keepdim)
    return _wrap(xp.asarray(out).astype(xp.int64, copy=False))


@off_tape
def argmax(x, dim=None, keepdim: bool = False, *, axis=None):
    """Index (int64) of the largest value: over the flattened tensor (``dim=None``)
    or along ``dim``, keeping it as size 1 with ``keepdim``. The first of ties;
    NaN counts as the largest, like PyTorch. Not differentiable."""
    return _arg_extremum(x, dim, keepdim, axis, "argmax", xp.argmax)


@off_tape
def argmin(x, dim=None, keepdim: bool = False, *, axis=None):
    """Index (int64) of the smallest value (see ``argmax``). Not differentiable."""
    return _arg_extremum(x, dim, keepdim, axis, "argmin", xp.argmin)
