"""Making tensors: ``zeros``, ``ones``, ``full``, ``arange``, ``linspace``, ``eye`` …
(floating ones get the default dtype, ``rg.set_default_dtype``)."""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.op import OpError
from .. import random as rg_random
from ..autograd.tensor import Tensor, get_default_dtype


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros (default float dtype)."""
    return Tensor(xp.zeros(_shape(shape), dtype=dtype or _float()), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones (default float dtype)."""
    return Tensor(xp.ones(_shape(shape), dtype=dtype or _float()), requires_grad=requires_grad)


def _value_dtype(value):
    """PyTorch's dtype for a fill value: bool, int64 for ints, the default float dtype for floats."""
    if isinstance(value, bool) or getattr(value, "dtype", None) == xp.bool_:
        return xp.bool_
    if isinstance(value, int) or getattr(getattr(value, "dtype", None), "kind", "f") in ("i", "u"):
        return xp.int64
    if isinstance(value, complex):
        return xp.complex64 if _float() is xp.float32 else xp.complex128
    return _float()


def full(shape, value, dtype=None, requires_grad=False):
    """A tensor filled with ``value``; without ``dtype`` it is PyTorch's: bool
    for a bool, int64 for an int, the default float dtype for a float."""
    value = value.item() if isinstance(value, Tensor) else value
    dtype = xp.dtype(dtype or _value_dtype(value))
    if dtype.kind in "iu" and isinstance(value, float) and not (value == value and abs(value) != float("inf")):
        raise OpError(f"full: value cannot be converted to type {dtype} without overflow (got {value}; PyTorch "
                      f"refuses it too)")
    return Tensor(xp.full(_shape((shape,)), value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    """Zeros of x's shape and dtype."""
    return Tensor(xp.zeros(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    """Ones of x's shape and dtype."""
    return Tensor(xp.ones(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    """A tensor of ``shape`` (PyTorch's ``empty``): zeros here, never uninitialised memory."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(x, dtype=None, requires_grad=False):
    """``empty`` of x's shape and dtype (zeros)."""
    return zeros_like(x, dtype=dtype, requires_grad=requires_grad)


def full_like(x, value, dtype=None, requires_grad=False):
    """``value`` everywhere, in x's shape and (unless ``dtype`` says) dtype."""
    return full(tuple(x.shape), value, dtype=dtype or x.dtype, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform on [0, 1), drawn from rg's generator (``rg.manual_seed``), default float dtype."""
    values = rg_random.generator().random(_shape(shape))
    return Tensor(xp.asarray(values, dtype=dtype or _float()), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal draws from rg's generator (``rg.manual_seed``), default float dtype."""
    values = rg_random.generator().standard_normal(_shape(shape))
    return Tensor(xp.asarray(values, dtype=dtype or _float()), requires_grad=requires_grad)


def rand_like(x, dtype=None, requires_grad=False):
    """``rand`` of x's shape and dtype."""
    return rand(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, dtype=None, requires_grad=False):
    """``randn`` of x's shape and dtype."""
    return randn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randint(*args, size=None, dtype=None):
    """Integers uniform on [low, high): PyTorch's ``randint(high, size)`` or ``randint(low, high, size)``
    (int64 unless ``dtype`` says), from rg's generator."""
    if size is None and args and not isinstance(args[-1], int):
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise OpError(f"randint: expected randint(high, size) or randint(low, high, size), got {args!r} and "
                      f"size={size!r}")
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise OpError(f"randint: high ({high}) must be greater than low ({low}) (PyTorch refuses it too)")
    values = rg_random.generator().integers(low, high, size=tuple(size))
    return Tensor(xp.asarray(values, dtype=dtype or xp.int64))


def randperm(n: int, dtype=None):
    """A random permutation of 0 … n − 1 (int64 unless ``dtype`` says), from rg's generator."""
    return Tensor(xp.asarray(rg_random.generator().permutation(n), dtype=dtype or xp.int64))


def arange(*args, dtype=None, requires_grad=False):
    """``arange(end)``, ``arange(start, end)`` or ``arange(start, end, step)``:
    int64 when every argument is an int, else the default float dtype (PyTorch's
    rule; NumPy would give float64)."""
    if dtype is None:
        integral = all(isinstance(a, int) or getattr(getattr(a, "dtype", None), "kind", "f") in ("i", "u", "b")
                       for a in args)
        dtype = xp.int64 if integral else _float()
    if xp.dtype(dtype).kind == "b":
        raise OpError("arange: dtype bool is not supported (PyTorch refuses it too); make the range in an integer "
                      "dtype and convert it, e.g. arange(n) != 0, or use a numeric dtype")
    bounds = [a.item() if isinstance(a, Tensor) else a for a in args]
    start, end, step = (0, bounds[0], 1) if len(bounds) == 1 else (bounds[0], bounds[1], 1) if len(bounds) == 2 \
        else tuple(bounds)
    if step == 0:
        raise OpError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise OpError(f"arange: upper bound and larger bound inconsistent with step sign (start={start}, "
                      f"end={end}, step={step}; PyTorch refuses it too)")
    target = xp.dtype(dtype)
    if target.kind in "fc":  # computed in float64 and rounded once, as PyTorch's (a float32 range drifts)
        values = xp.arange(start, end, step, dtype=xp.float64).astype(target)
    else:
        if isinstance(step, float) and int(step) == 0:
            raise OpError(f"arange: step {step} truncates to 0 in {target}: step must be nonzero")
        values = xp.arange(start, end, step, dtype=target)
    return Tensor(values, requires_grad=requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive
    (default float dtype). Like PyTorch, the first half counts up from
    ``start`` and the second half down from ``end``, so both ends are exact.

    An integer ``dtype`` is PyTorch's too: ``start`` and ``end`` are truncated
    to it first (refused when out of its range), the steps are computed in
    float64 and truncated towards zero. ``dtype=bool`` is refused (for two or
    more steps, as PyTorch refuses it)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise OpError(f"linspace: steps must be a non-negative int, got {steps!r}")
    dtype = xp.dtype(dtype or _float())
    if dtype.kind == "b" and steps > 1:
        raise OpError(f"linspace: dtype bool is not supported (got steps={steps}; PyTorch refuses it too); "
                      f"make the values in a numeric dtype and compare them, e.g. linspace(start, end, steps) != 0")
    if dtype.kind in "iu" and steps:
        start = _integral_bound(start, dtype)
        end = _integral_bound(end, dtype) if steps > 1 else end
    work = dtype if dtype.kind in "fc" else xp.dtype(xp.float64)
    i = xp.arange(steps, dtype=work)
    step = (xp.asarray(end, dtype=work) - xp.asarray(start, dtype=work)) / max(steps - 1, 1)
    values = xp.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i)).astype(work)
    if steps == 1:
        values = xp.full((1,), start, dtype=work)
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def _integral_bound(value, dtype):
    """A linspace end as PyTorch converts it to an integer dtype: truncated towards
    zero, refused out of range (a negative int down to −max wraps for unsigned
    dtypes, as in PyTorch; a negative float is refused)."""
    value = value.item() if isinstance(value, Tensor) else value
    info = xp.iinfo(dtype)
    integral = isinstance(value, int) or getattr(getattr(value, "dtype", None), "kind", "f") in "iub"
    lowest = info.min if dtype.kind == "i" else -info.max if integral else 0
    if not lowest <= value <= info.max:  # NaN fails this too
        raise OpError(f"linspace: {value!r} cannot be converted to {dtype} without overflow (it holds "
                      f"[{info.min}, {info.max}]); pass a wider dtype")
    return int(value) % (info.max + 1) if dtype.kind == "u" else int(value)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The identity matrix (n × m)."""
    return Tensor(xp.eye(n, m, dtype=dtype or _float()), requires_grad=requires_grad)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)


def _float():
    return get_default_dtype()
