"""More of ``torch``'s top-level creation, dtype and random functions (all off the tape: they make
new tensors, or answer questions about dtypes and the generator):

- ``logspace``, ``range`` (deprecated, end inclusive, always the default float dtype unless told),
  ``scalar_tensor``; the signal windows ``hann_window``, ``hamming_window``, ``blackman_window``,
  ``bartlett_window``, ``kaiser_window`` (computed in float64, rounded once to the dtype);
- dtype questions: ``result_type``, ``promote_types``, ``can_cast`` (PyTorch's promotion and
  casting rules, from ``ops.elementwise_extra`` and ``ops.inplace``), ``broadcast_shapes``,
  ``finfo``/``iinfo`` (PyTorch's attribute names over NumPy's);
- random draws from ``rg.random``'s generator: ``randint_like``, ``binomial``, ``poisson``, and
  ``seed``/``initial_seed``/``get_rng_state``/``set_rng_state``;
- ``histogramdd``; the anomaly-mode switches ``is_anomaly_enabled``/``set_anomaly_enabled``;
  the constants ``pi``, ``e``, ``inf``, ``nan``, ``newaxis``.
"""

from __future__ import annotations

import builtins
import math
import numbers
import secrets
import warnings
from typing import NamedTuple

import numpy as np

from .. import random as rg_random
from ..autograd.backend import to_numpy, xp
from ..autograd.mode import _mode
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from . import elementwise_extra as EX
from . import inplace as IP
from .counting import _binary_search
from .matrix_extra import MatrixError, MatrixNotImplemented, _edges, _histogram_weight
from .shape import _data
from .torch_namespace_extra import zero_gradient

pi, e, inf, nan = math.pi, math.e, math.inf, math.nan
newaxis = None


class CreationError(OpError, RuntimeError):
    """A call PyTorch refuses with a ``RuntimeError`` (also an ``OpError``)."""


def _number(fn, value, argument):
    """A Python number from a number or a one-element tensor."""
    if isinstance(value, Tensor) or hasattr(value, "shape"):
        data = _data(value)
        if data.size != 1:
            raise CreationError(f"{fn}(): argument '{argument}' must be a number or a one-element tensor, got shape "
                                f"{list(data.shape)}")
        return data.item()
    if not isinstance(value, numbers.Number):
        raise TypeError(f"{fn}(): argument '{argument}' must be a Number, not {type(value).__name__}")
    return value


# ---------------------------------------------------------------- ranges
def logspace(start, end, steps, base=10.0, *, dtype=None, requires_grad=False):
    """``steps`` values base^t with t evenly spaced from ``start`` to ``end`` inclusive
    (``torch.logspace``): the exponents spread as ``linspace`` spreads them (the first half up from
    ``start``, the rest down from ``end``), computed in float64 and rounded once to ``dtype``
    (default float dtype; an integer dtype truncates, as PyTorch's)."""
    start, end = _number("logspace", start, "start"), _number("logspace", end, "end")
    if not isinstance(steps, int) or isinstance(steps, bool):
        raise TypeError(f"logspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise CreationError("number of steps must be non-negative")
    dtype = xp.dtype(dtype or get_default_dtype())
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    exponents = np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i)) if steps > 1 else i + start
    values = np.power(float(base), exponents)
    return Tensor(xp.asarray(values.astype(dtype)), requires_grad=requires_grad)


def range(start, end, step=1, *, dtype=None, requires_grad=False):  # noqa: A001 - torch's name
    """``torch.range`` (deprecated in PyTorch for ``arange``, and warns so): start, start + step, …
    up to and including ``end``, floor((end − start)/step) + 1 values, in the default float dtype
    whatever the arguments (``dtype`` says otherwise)."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    start, end, step = (_number("range", v, n) for v, n in ((start, "start"), (end, "end"), (step, "step")))
    if step == 0:
        raise CreationError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and start < end):
        raise CreationError("upper bound and lower bound inconsistent with step sign")
    dtype = xp.dtype(dtype or get_default_dtype())
    n = int(math.floor((end - start) / step)) + 1
    values = start + step * np.arange(n, dtype=np.float64)
    return Tensor(xp.asarray(values.astype(dtype)), requires_grad=requires_grad)


def scalar_tensor(s, *, dtype=None, requires_grad=False):
    """A 0-dim tensor holding ``s`` (``torch.scalar_tensor``): the default float dtype whatever the
    number (an int or a bool too), unless ``dtype`` says (a float then truncates into an integer)."""
    value = _number("scalar_tensor", s, "s")
    dtype = xp.dtype(dtype or get_default_dtype())
    return Tensor(xp.asarray(IP._scalar("scalar_tensor", value, dtype), dtype=dtype), requires_grad=requires_grad)


# ---------------------------------------------------------------- windows
def _window(name, window_length, periodic, dtype, requires_grad, formula):
    """A window of ``window_length`` points from ``formula(n, N)`` (n = 0 … N − 1 as float64): the
    symmetric window of N = window_length points, or with ``periodic`` the first window_length
    points of one of window_length + 1 (PyTorch's rule; a length of 1 gives [1])."""
    if not isinstance(window_length, int) or isinstance(window_length, bool):
        raise TypeError(f"{name}(): argument 'window_length' must be int, not {type(window_length).__name__}")
    if window_length < 0:
        raise CreationError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dtype = xp.dtype(dtype or get_default_dtype())
    if dtype.kind != "f":
        raise CreationError(f"{name} expects floating point dtypes, got: {dtype} (pass dtype=rg.float32 or "
                            f"rg.float64)")
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        N = window_length + 1 if periodic else window_length  # noqa: N806 - the formulas' name
        values = formula(np.arange(N, dtype=np.float64), N)[:window_length]
    return Tensor(xp.asarray(values.astype(dtype)), requires_grad=requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, requires_grad=False):
    """The generalised Hamming window α − β·cos(2πn/(N − 1)) (``torch.hamming_window``)."""
    return _window("hamming_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: alpha - beta * np.cos(2 * math.pi * n / (N - 1)))


def hann_window(window_length, periodic=True, *, dtype=None, requires_grad=False):
    """The Hann window ½ − ½·cos(2πn/(N − 1)) = sin²(πn/(N − 1)) (``torch.hann_window``)."""
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, requires_grad=requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, requires_grad=False):
    """The Blackman window 0.42 − ½·cos(2πn/(N − 1)) + 0.08·cos(4πn/(N − 1)) (``torch.blackman_window``)."""
    return _window("blackman_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 0.42 - 0.5 * np.cos(2 * math.pi * n / (N - 1)) + 0.08 * np.cos(4 * math.pi * n / (N - 1)))


def bartlett_window(window_length, periodic=True, *, dtype=None, requires_grad=False):
    """The triangular Bartlett window 1 − abs(2n/(N − 1) − 1) (``torch.bartlett_window``)."""
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, requires_grad=False):
    """The Kaiser window I₀(β·√(1 − (2n/(N − 1) − 1)²)) / I₀(β) (``torch.kaiser_window``)."""
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: np.i0(beta * np.sqrt(np.clip(1 - (2 * n / (N - 1) - 1) ** 2, 0, None))) / np.i0(beta))


# ---------------------------------------------------------------- dtypes
def _dtype(fn, value, argument):
    """``value`` as a NumPy dtype, if it names one (``rg.float32``, ``np.int64``, a dtype object)."""
    if isinstance(value, (str, numbers.Number)) or value is None:
        raise TypeError(f"{fn}(): argument '{argument}' must be a dtype (rg.float32, rg.int64 …), not {value!r}")
    try:
        return xp.dtype(value)
    except TypeError:
        raise TypeError(f"{fn}(): argument '{argument}' must be a dtype (rg.float32, rg.int64 …), not "
                        f"{type(value).__name__}") from None


def result_type(tensor, other):
    """The dtype PyTorch gives an elementwise operation of ``tensor`` and ``other`` (tensors or
    numbers): dimensioned tensors first, then 0-dim tensors, then Python numbers, a lower group
    counting only through a higher category (bool < integer < float < complex)."""
    for k, v in enumerate((tensor, other)):
        if not isinstance(v, (Tensor, numbers.Number)):
            raise TypeError(f"result_type(): argument {k + 1} must be a Tensor or a Number, not {type(v).__name__}")
    return EX.result_type(tensor, other)


def promote_types(type1, type2):
    """The smallest dtype both dtypes convert to without losing category (``torch.promote_types``):
    int64 with float16 is float16, uint8 with int8 is int16."""
    return EX._promote(_dtype("promote_types", type1, "type1"), _dtype("promote_types", type2, "type2"))


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow ``from_`` into ``to`` (``torch.can_cast``): never complex
    to real, floating to integral, or anything but bool to bool."""
    return IP._can_cast(_dtype("can_cast", from_, "from_"), _dtype("can_cast", to, "to"))


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to (``torch.broadcast_shapes``): each an int or a
    sequence of ints; the same error as PyTorch for shapes that do not broadcast."""
    sizes = []
    for s in shapes:
        if isinstance(s, Tensor) and s.ndim <= 1:
            s = s.data.tolist()
        if isinstance(s, numbers.Integral) and not isinstance(s, bool):
            s = (int(s),)
        if not isinstance(s, (tuple, list)) or not all(isinstance(v, numbers.Integral) for v in s):
            raise CreationError(f"Input shapes should be of type ints, a tuple of ints, or a list of ints, got {s}")
        if any(v < 0 for v in s):
            raise ValueError("Attempting to broadcast a dimension with negative length!")
        sizes.append(tuple(int(v) for v in s))
    result = [1] * max((len(s) for s in sizes), default=0)
    for k, s in enumerate(sizes):
        for i in builtins.range(-1, -len(s) - 1, -1):
            if s[i] == 1 or s[i] == result[i]:
                continue
            if result[i] != 1:
                raise CreationError(f"Attempting to broadcast a dimension of length {s[i]} at {i}! Mismatching "
                                    f"argument at index {k} had {s}; but expected shape should be broadcastable to "
                                    f"{result}")
            result[i] = s[i]
    return tuple(result)



class finfo:  # noqa: N801 - torch's name
    """Machine limits of a floating dtype, with PyTorch's attribute names (``torch.finfo``): ``bits``,
    ``eps`` (1.0's gap to the next value), ``max``, ``min``, ``tiny`` = ``smallest_normal``,
    ``resolution`` (10^−decimal digits) and ``dtype`` (its name). No argument: the default float
    dtype; a complex dtype gives its real part's limits."""

    def __init__(self, type=None):  # noqa: A002 - torch's name
        dt = xp.dtype(get_default_dtype()) if type is None else _dtype("finfo", type, "type")
        if dt.kind not in "fc":
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'torch.finfo' (got {dt})")
        info = np.finfo(dt)
        self.bits, self.dtype = int(info.bits), str(info.dtype)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # exactly 10^−digits (NumPy's is rounded to the dtype)

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - torch's name
    """Limits of an integer dtype, with PyTorch's attribute names (``torch.iinfo``): ``bits``, ``max``,
    ``min``, ``dtype`` (its name). bool is refused, as PyTorch refuses it."""

    def __init__(self, type):  # noqa: A002 - torch's name
        dt = _dtype("iinfo", type, "type")
        if dt.kind == "b":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if dt.kind not in "iu":
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo' "
                            f"(got {dt})")
        info = np.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), str(dt)

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


# ---------------------------------------------------------------- random
def _generator(generator):
    """``generator`` (a NumPy Generator) or rg's global one."""
    return IP._generator(generator)


def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False, generator=None):  # noqa: A002
    """Integers uniform on [low, high) in input's shape (``torch.randint_like(input, high)`` or
    ``(input, low, high)``), in input's dtype unless ``dtype`` says, from rg's generator."""
    if high is None:
        low, high = 0, low
    for v, n in ((low, "low"), (high, "high")):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"randint_like(): argument '{n}' must be int, not {type(v).__name__}")
    if not isinstance(input, Tensor):
        raise TypeError(f"randint_like(): argument 'input' must be Tensor, not {type(input).__name__}")
    dt = xp.dtype(dtype or input.dtype)
    if low >= high:
        raise CreationError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dt.kind in "iub":
        lo, hi = (0, 1) if dt.kind == "b" else (np.iinfo(dt).min, np.iinfo(dt).max)
        c_name = IP._C_NAMES.get(str(dt), str(dt)).replace("uint8_t", "unsigned char")
        if not lo <= low <= hi:
            raise CreationError(f"from is out of bounds for {c_name}")
        if not lo <= high - 1 <= hi:
            raise CreationError(f"to - 1 is out of bounds for {c_name}")
    values = _generator(generator).integers(int(low), int(high), size=tuple(input.shape))
    return Tensor(xp.asarray(values.astype(dt)), requires_grad=requires_grad)


def binomial(count, prob, generator=None):
    """Binomial draws: the number of successes in ``count`` trials of success probability ``prob``
    (``torch.binomial``; floating tensors of one dtype, broadcast together). A negative count gives
    0; probabilities are clipped to [0, 1]. The result has no gradient (PyTorch's derivative is not
    implemented either)."""
    for v, n in ((count, "count"), (prob, "prob")):
        if not isinstance(v, Tensor):
            raise TypeError(f"binomial(): argument '{n}' must be Tensor, not {type(v).__name__}")
    if count.dtype.kind != "f":
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{IP._torch_name(count.dtype)}")
    if prob.dtype != count.dtype:
        raise CreationError(f"Found dtype {IP._torch_name(prob.dtype)} but expected {IP._torch_name(count.dtype)}")
    n = np.clip(np.trunc(to_numpy(count.data).astype(np.float64)), 0, None)  # drawn on the host
    p = np.clip(to_numpy(prob.data).astype(np.float64), 0.0, 1.0)
    n, p = np.broadcast_arrays(n, p)
    draws = _generator(generator).binomial(n.astype(np.int64), p)
    return Tensor(xp.asarray(draws.astype(count.dtype)))


def poisson(input, generator=None):  # noqa: A002
    """Poisson draws of rates ``input`` (``torch.poisson``; a floating tensor, each rate ≥ 0), in
    input's dtype. The draws are piecewise constant in the rates: their gradient is 0 (PyTorch's)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dtype.kind != "f":
        raise MatrixNotImplemented(f"\"poisson_cpu\" not implemented for '{IP._torch_name(input.dtype)}'")
    rates = to_numpy(input.data).astype(np.float64)  # drawn on the host
    if not (rates >= 0).all():  # a NaN fails this too, as in PyTorch
        raise CreationError("invalid Poisson rate, expected rate to be non-negative")
    return zero_gradient(input, xp.asarray(_generator(generator).poisson(rates).astype(input.dtype)))


def seed():
    """Reseed rg's generator with a fresh non-deterministic 64-bit seed and return it (``torch.seed``)."""
    s = secrets.randbits(63)
    rg_random.manual_seed(s)
    return s


def initial_seed():
    """The seed rg's generator was last seeded with (``torch.initial_seed``): 0 at import, the argument
    of the last ``manual_seed``/``seed``. After ``set_rng_state`` it is the seed of the generator the
    state was restored into, not meaningful (PyTorch keeps the old one)."""
    entropy = rg_random._generator.bit_generator.seed_seq.entropy  # read only: not a draw
    return int(entropy) % 2 ** 64


def get_rng_state():
    """A snapshot of rg's generator (``torch.get_rng_state``): ``rg.random.get_rng_state()``'s
    JSON-able dict, not PyTorch's ByteTensor."""
    return rg_random.get_rng_state()


def set_rng_state(new_state):
    """Restore a snapshot taken by ``get_rng_state`` (``torch.set_rng_state``), checked first."""
    rg_random.set_rng_state(new_state)


# ---------------------------------------------------------------- modes
def is_anomaly_enabled():
    """Whether anomaly detection (``rg.detect_anomaly``) is on in this thread (``torch.is_anomaly_enabled``)."""
    return bool(_mode.anomaly)


def is_anomaly_check_nan_enabled():
    """Whether anomaly detection checks for NaN: always, in retrograd (``torch.is_anomaly_check_nan_enabled``)."""
    return True


def set_anomaly_enabled(enabled, check_nan=True):
    """Turn anomaly detection on or off in this thread (``torch.set_anomaly_enabled``); retrograd's
    always checks for NaN and Inf, so ``check_nan=False`` is refused."""
    if not check_nan:
        raise CreationError("set_anomaly_enabled: retrograd's anomaly mode always checks for NaN and Inf; "
                            "check_nan=False is not supported")
    _mode.anomaly = bool(enabled)


# ---------------------------------------------------------------- histogramdd
class HistogramddResult(NamedTuple):
    """``(hist, bin_edges)`` of ``histogramdd`` (PyTorch's ``torch.return_types.histogramdd``)."""
    hist: Tensor
    bin_edges: tuple


def histogramdd(input, bins, *, range=None, weight=None, density=False):  # noqa: A002
    """A D-dimensional histogram of the points in ``input`` (``torch.histogramdd``): the last dim is
    D, the others are flattened into points. ``bins`` an int (that many equal bins per dim), D ints,
    or D 1-D tensors of increasing edges; ``range`` a flat [min₀, max₀, min₁, max₁, …]. Each
    coordinate is binned as ``histogram`` bins it (the last bin closed); a point outside any bin is
    not counted. ``weight`` (one per point) adds its weight instead of 1; ``density`` divides by the
    total and each bin's volume. Off the tape."""
    if not isinstance(input, Tensor):
        raise TypeError(f"histogramdd(): argument 'input' must be Tensor, not {type(input).__name__}")
    x = input.data
    if x.dtype not in (xp.float32, xp.float64):
        raise MatrixNotImplemented(f"\"histogramdd\" not implemented for '{IP._torch_name(x.dtype)}'")
    if x.ndim < 2:
        raise MatrixError("torch.histogramdd: input tensor should have at least 2 dimensions")
    D = x.shape[-1]  # noqa: N806
    points = x.reshape(-1, D)
    if isinstance(bins, numbers.Integral):
        bins = [int(bins)] * D
    bins = list(bins)
    if len(bins) != D:
        raise MatrixError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None and len(range) != 2 * D:
        raise MatrixError(f"torch.histogramdd: for a {D}-dimensional histogram range should have {2 * D} elements, "
                          f"but got {len(range)}")
    edges = []
    for d, b in enumerate(bins):
        if isinstance(b, Tensor):
            if b.dtype != x.dtype:
                raise MatrixError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but "
                                  f"got input with dtype {x.dtype} and bins for dimension {d} with dtype {b.dtype}")
            edges.append(b.data)
            continue
        try:
            edges.append(_edges(points[:, d], b, None if range is None else range[2 * d:2 * d + 2]))
        except MatrixError as error:  # _edges speaks of dimension 0: name this one
            raise MatrixError(str(error).replace("dimension 0", f"dimension {d}")) from None
    w = _histogram_weight(weight, x.dtype)
    if w is not None:
        if tuple(w.shape) != tuple(x.shape[:-1]):
            raise MatrixError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                              f"input tensor excluding its innermost dimension, but got input with shape "
                              f"{list(x.shape)} and weight with shape {list(w.shape)}")
        w = w.reshape(-1)
    inside = xp.ones(points.shape[0], dtype=bool)
    where = []
    with xp.errstate(invalid="ignore"):
        for d, edge in enumerate(edges):
            column = points[:, d]
            inside &= (column >= edge[0]) & (column <= edge[-1])
            at = _binary_search(edge[None, :], column[None, :], right=True)[0] - 1
            where.append(xp.clip(at, 0, edge.size - 2))
    hist = xp.zeros(tuple(edge.size - 1 for edge in edges), dtype=x.dtype)
    xp.add.at(hist, tuple(a[inside] for a in where), xp.ones((), x.dtype) if w is None else w[inside])
    if density:
        volume = xp.ones((), dtype=x.dtype)
        for d, edge in enumerate(edges):
            volume = volume * xp.diff(edge).reshape((-1,) + (1,) * (D - 1 - d))
        with xp.errstate(invalid="ignore", divide="ignore"):
            hist = hist / hist.sum() / volume
    return HistogramddResult(_wrap(hist.astype(x.dtype, copy=False)),
                             tuple(_wrap(edge.astype(x.dtype, copy=False)) for edge in edges))


__all__ = ["pi", "e", "inf", "nan", "newaxis", "logspace", "range", "scalar_tensor", "hamming_window", "hann_window",
           "blackman_window", "bartlett_window", "kaiser_window", "result_type", "promote_types", "can_cast",
           "broadcast_shapes", "finfo", "iinfo", "randint_like", "binomial", "poisson", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled", "histogramdd", "HistogramddResult"]
