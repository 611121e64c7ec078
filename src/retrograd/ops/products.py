"""PyTorch's tensor products, distances, covariance and integration, composed from the primitives:
``inner``, ``vdot``, ``tensordot``, ``trapezoid``/``trapz``, ``vander``, ``renorm``, ``cov``, ``cdist``,
``pdist``, ``dist``.

Each is its formula written with ``matmul``, ``norm``, ``sum``, ``cumprod``, ``where`` …, after
PyTorch's shape and dtype checks, so the gradients are those of the formula: ``tensordot`` is a
permute, a reshape and one ``matmul``; the distances are ``norm``s of differences (the gradient at
a zero distance is 0, as PyTorch's; ties of the ∞-norm share ȳ by ``rg.conventions``); ``renorm``
differentiates through the rescaling factor, as PyTorch's ``renorm_backward`` does.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from . import elementwise as E
from .aliases import conj
from .cumulative import cumprod
from .einsum import norm
from .kinks import abs as _abs
from .linalg import matmul
from .matrix import _promoted, dot
from .rearrange import _as_tensor, flip
from .reductions import sum as _sum
from .shape import _check_axis, _data, broadcast_to, concatenate, getitem, permute, reshape, swapaxes


class ProductError(OpError, RuntimeError):
    """Arguments PyTorch refuses with a ``RuntimeError``: also an ``OpError``."""


def _same_dtype(op, a, b, message="both inputs should have same dtype"):
    if a.dtype != b.dtype:
        raise ProductError(f"{op}: {message}, got {a.dtype} and {b.dtype}; convert one first, e.g. b.to(a.dtype)")


def _floating(op, x, what="input"):
    if x.dtype.kind not in "fc":
        raise ProductError(f"{op}: only supports floating-point dtypes, {what} got {x.dtype}; convert it first "
                           f"(x.double())")


# ---------------------------------------------------------------- products
def tensordot(a, b, dims=2, out=None):
    """Σ over paired dims of ``a`` and ``b`` (``torch.tensordot``): ``dims`` an int k pairs a's last k
    dims with b's first k; a pair of lists ([a's dims], [b's dims]) (or a (2, k) integer tensor) pairs
    them explicitly. The result has a's free dims then b's. A permute, a reshape and one ``matmul``."""
    if out is not None:
        raise ProductError("tensordot: out= is not supported (retrograd has no in-place outputs on the tape)")
    a, b = _as_tensor(a), _as_tensor(b)
    _same_dtype("tensordot", a, b)
    if isinstance(dims, Tensor) or hasattr(dims, "dtype"):
        d = xp.asarray(_data(dims))
        dims = int(d) if d.ndim == 0 else (d[0].tolist(), d[1].tolist())
    if isinstance(dims, numbers.Integral) and not isinstance(dims, bool):
        k = int(dims)
        if k < 0:
            raise ProductError(f"tensordot: tensordot expects dims >= 0, but got dims={k}")
        if k > a.ndim or k > b.ndim:
            raise ProductError(f"tensordot: tensordot expects dims < ndim_a or ndim_b, but got dims={k}")
        dims_a, dims_b = list(range(a.ndim - k, a.ndim)), list(range(k))
    else:
        try:
            dims_a, dims_b = (list(dims[0]), list(dims[1]))
        except TypeError as e:
            raise TypeError(f"tensordot: dims must be an int or a pair of lists of ints (PyTorch refuses a pair of "
                            f"ints), got {dims!r}") from e
        if len(dims_a) != len(dims_b):
            raise ProductError(f"tensordot: both dimension lists should have same length, got {dims_a} and "
                               f"{dims_b}")
        dims_a = [_check_axis("tensordot", d, a.ndim) for d in dims_a]
        dims_b = [_check_axis("tensordot", d, b.ndim) for d in dims_b]
    for i, j in zip(dims_a, dims_b):
        if a.shape[i] != b.shape[j]:
            raise ProductError(f"tensordot: contracted dimensions need to match, but first has size {a.shape[i]} "
                               f"in dim {i} and second has size {b.shape[j]} in dim {j}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    inner = math.prod(a.shape[d] for d in dims_a)
    left = reshape(permute(a, free_a + dims_a), (math.prod(a.shape[d] for d in free_a), inner))
    right = reshape(permute(b, dims_b + free_b), (inner, math.prod(b.shape[d] for d in free_b)))
    return reshape(matmul(left, right), tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def inner(input, other):  # noqa: A002 - torch's names
    """Σₖ input[…, k]·other[…, k] over the last dims (``torch.inner``): the result has input's other
    dims then other's; a 0-d operand multiplies. Both of one dtype."""
    a, b = _as_tensor(input), _as_tensor(other)
    _same_dtype("inner", a, b)
    if not a.ndim or not b.ndim:
        return E.mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ProductError(f"inner: inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(a.shape)} and {list(b.shape)}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def vdot(input, other):  # noqa: A002
    """Σᵢ conj(aᵢ)·bᵢ of two 1-D tensors of one length and dtype (``torch.vdot``; for real tensors,
    ``dot``)."""
    a, b = _as_tensor(input), _as_tensor(other)
    if a.ndim != 1 or b.ndim != 1:
        raise ProductError(f"vdot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise ProductError(f"vdot: dot : expected both vectors to have same dtype, but found {a.dtype} and "
                           f"{b.dtype}")
    if a.shape[0] != b.shape[0]:
        raise ProductError(f"vdot: inconsistent tensor size, expected tensors of the same number of elements, but "
                           f"got {a.shape[0]} and {b.shape[0]} elements respectively")
    if a.dtype.kind == "c":
        if a.requires_grad:
            raise ProductError("vdot: the gradient of a complex input's conjugate is not supported by retrograd; "
                               "detach it or use real tensors")
        a = _wrap(xp.conj(a.data))
    return dot(a, b)


# ---------------------------------------------------------------- integration and Vandermonde
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along ``dim`` (``torch.trapezoid``): Σᵢ (xᵢ₊₁ − xᵢ)(yᵢ + yᵢ₊₁)/2 with sample
    points ``x`` (1-D along ``dim``, or broadcast against y's differences), else with a constant
    spacing ``dx`` (default 1): dx·(Σ y − (y₀ + yₙ₋₁)/2). Integer input gives the default float dtype;
    no samples give 0, one sample 0."""
    y = _as_tensor(y)
    if x is not None and dx is not None:
        raise TypeError("trapezoid: give the sample points x or the spacing dx, not both")
    if not y.ndim:
        raise DimError(f"trapezoid: Dimension specified as {dim} but tensor has no dimensions")
    d = _check_axis("trapezoid", dim, y.ndim)
    if y.dtype.kind == "b" or getattr(x, "dtype", None) == xp.bool_:
        raise ProductError("trapezoid: received a bool input, but bool is not supported")
    if x is not None and not isinstance(x, Tensor):
        raise TypeError(f"trapezoid: x must be a tensor of sample points (give a constant spacing as dx=), got "
                        f"{type(x).__name__}")
    dtype = _float_result(y, x)
    y = y if y.dtype == dtype else E.cast(y, dtype)
    lead = (slice(None),) * d
    if y.shape[d] == 0:
        return _wrap(xp.zeros(tuple(s for k, s in enumerate(y.shape) if k != d), dtype=dtype))
    if x is None:
        step = 1 if dx is None else dx
        if isinstance(step, (bool, complex)) or not isinstance(step, numbers.Real):
            raise ProductError(f"trapezoid: Currently, we only support dx as a real number, got {step!r}")
        ends = E.add(getitem(y, lead + (0,)), getitem(y, lead + (-1,)))
        return E.mul(E.sub(_sum(y, axis=d), E.mul(ends, 0.5)), float(step))
    x = x if x.dtype == dtype else E.cast(x, dtype)
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise ProductError("trapezoid: There must be one `x` value for each sample point")
        x = reshape(x, tuple(x.shape[0] if k == d else 1 for k in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = reshape(x, (1,) * (y.ndim - x.ndim) + tuple(x.shape))
    xd = x.ndim - y.ndim + d
    spacing = E.sub(getitem(x, (slice(None),) * xd + (slice(1, None),)),
                    getitem(x, (slice(None),) * xd + (slice(None, -1),)))
    heights = E.add(getitem(y, lead + (slice(1, None),)), getitem(y, lead + (slice(None, -1),)))
    return E.true_divide(_sum(E.mul(spacing, heights), axis=d), 2.0)


def _float_result(y, x):
    """PyTorch's dtype of a trapezoid: the floating dtype among y and x (the wider), else the default."""
    dtypes = [t.dtype for t in (y, x) if isinstance(t, Tensor) and t.dtype.kind in "fc"]
    return xp.result_type(*dtypes) if dtypes else xp.dtype(get_default_dtype())


def trapz(y, x=None, *, dx=None, dim=-1):
    """``torch.trapz``: the older name of ``trapezoid`` (the spacing by keyword, ``dx=``)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def vander(x, N=None, increasing=False):  # noqa: N803 - torch's name
    """The Vandermonde matrix of a 1-D ``x`` (``torch.vander``): column j is x^(N−1−j) (``increasing``:
    x^j), N columns (default len(x)). Integer and boolean input gives int64. The powers are a
    ``cumprod`` of x, so the gradient is exact at zeros too."""
    x = _as_tensor(x)
    if x.ndim != 1:
        raise ProductError(f"vander: x must be a one-dimensional tensor, got shape {list(x.shape)}.")
    n = x.shape[0]
    N = n if N is None else N  # noqa: N806
    if not isinstance(N, int) or isinstance(N, bool):
        raise ProductError(f"vander: N must be an int, got {N!r}")
    if N < 0:
        raise ProductError("vander: N must be non-negative.")
    if x.dtype.kind in "biu":
        x = _wrap(x.data.astype(xp.int64))
    ones = _wrap(xp.ones((n, min(N, 1)), dtype=x.dtype))
    if N <= 1:
        out = ones
    else:
        powers = cumprod(broadcast_to(reshape(x, (n, 1)), (n, N - 1)), 1)
        out = concatenate([ones, powers], dim=1)
    return out if increasing else flip(out, 1)


# ---------------------------------------------------------------- rescaling and covariance
def renorm(input, p, dim, maxnorm):  # noqa: A002
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` rescaled to that norm
    (``torch.renorm``): y = x·maxnorm/(‖x‖ₚ + 1e-7) where ‖x‖ₚ > maxnorm, else x, the norm over every
    other dim. The gradient flows through the factor too (PyTorch's ``renorm_backward``)."""
    x = _as_tensor(input)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p > 0:
        raise ProductError(f"renorm: non-positive-norm not supported (p = {p!r})")
    if isinstance(maxnorm, bool) or not isinstance(maxnorm, numbers.Real) or maxnorm < 0:
        raise ProductError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm!r}")
    if x.ndim < 2:
        raise ProductError(f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions")
    _floating("renorm", x)
    d = _check_axis("renorm", dim, x.ndim)
    size = norm(x, float(p), dim=tuple(k for k in range(x.ndim) if k != d), keepdim=True)
    over = size.data > maxnorm
    factor = E.where(over, E.true_divide(maxnorm, E.add(size, 1e-7)), xp.ones((), dtype=x.dtype))
    return E.mul(x, factor)


def cov(input, *, correction=1, fweights=None, aweights=None):  # noqa: A002
    """The covariance matrix of the variables in the rows of ``input`` (observations in the columns;
    ``torch.cov``): with weights w = fweights·aweights (each optional), the mean μ = Σ w·x / Σ w and
    C = (x − μ)(w·(x − μ))ᴴ / (Σ w − correction·Σ(w·aweights)/Σ w) (without aweights: Σ w − correction),
    ᴴ the conjugate transpose (the plain transpose for a real input; the weights stay real for a complex one).
    A 1-D input is one variable (a 0-d result). A non-positive divisor warns and divides by 0, as
    PyTorch does. Integer input gives the default float dtype."""
    x = _as_tensor(input)
    if x.ndim > 2:
        raise ProductError(f"cov: expected input to have two or fewer dimensions but got an input with {x.ndim} "
                           f"dimensions")
    if x.dtype.kind == "b":
        raise ProductError("cov: bool dtype is not supported for input")
    if not isinstance(correction, int) or isinstance(correction, bool):
        raise TypeError(f"cov(): argument 'correction' must be int, not {type(correction).__name__}")
    if x.dtype.kind == "c" and x.requires_grad:
        raise ProductError("cov: the gradient of a complex covariance is not supported by retrograd")
    rows = reshape(x, (1, -1)) if x.ndim < 2 else x
    n = rows.shape[1]
    fw = aw = None
    if fweights is not None:
        fw = _as_tensor(fweights)
        _check_weights("fweights", fw, n, "iu", "integral")
    if aweights is not None:
        aw = _as_tensor(aweights)
        _check_weights("aweights", aw, n, "f", "floating point")
    # PyTorch's dtype: the input's (or the default float for integers), widened by aweights
    dtype = rows.dtype if rows.dtype.kind in "fc" else xp.dtype(get_default_dtype())
    if aw is not None:
        dtype = xp.result_type(dtype, aw.dtype)
    rows = rows if rows.dtype == dtype else E.cast(rows, dtype)
    real = xp.dtype(xp.finfo(dtype).dtype)  # the weights stay real for a complex input (float64 for complex128)
    weights = [E.cast(v, real) if v.dtype != real else v for v in (fw, aw) if v is not None]
    w = None if not weights else weights[0] if len(weights) == 1 else E.mul(weights[0], weights[1])
    if w is None:
        total = float(n)
        mean = E.true_divide(_sum(rows, axis=1), total)
        divisor = total - correction
    else:
        total = _sum(w)
        if float(total.data) == 0:
            raise ProductError("cov: weights sum to zero, can't be normalized")
        mean = E.true_divide(_sum(E.mul(rows, w), axis=1), total)
        if aw is not None and correction != 0:
            divisor = E.sub(total, E.true_divide(E.mul(_sum(E.mul(w, weights[-1])), correction), total))
        else:
            divisor = E.sub(total, float(correction))
    if float(_data(divisor)) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        divisor = 0.0
    centred = E.sub(rows, reshape(mean, (-1, 1)))
    weighted = centred if w is None else E.mul(centred, w)
    c = matmul(centred, swapaxes(conj(weighted), 0, 1))  # the conjugate transpose, as PyTorch (a no-op if real)
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = E.true_divide(c, divisor)
    return reshape(out, ()) if tuple(out.shape) == (1, 1) else out  # PyTorch squeezes


def _check_weights(name, w, n, kinds, kind_name):
    if w.ndim > 1:
        raise ProductError(f"cov: expected {name} to have one or fewer dimensions but got {name} with {w.ndim} "
                           f"dimensions")
    if w.dtype.kind not in kinds:
        raise ProductError(f"cov: expected {name} to have {kind_name} dtype but got {name} with {w.dtype} dtype")
    if w.size != n:
        raise ProductError(f"cov: expected {name} to have the same numel as there are observations in the input "
                           f"but got {w.size} != {n}")
    if n and float(w.data.min()) < 0:
        raise ProductError(f"cov: {name} cannot be negative")


# ---------------------------------------------------------------- distances
COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _p_norm(op, diff, p, dim):
    """‖diff‖ₚ along ``dim``: ``norm`` for p ≥ 0 and ±∞, (Σ abs(d)ᵖ)^(1/p) for a negative finite p."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or math.isnan(p):
        raise ProductError(f"{op}: p must be a number, got {p!r}")
    if p < 0 and p != -math.inf:
        # a zero difference makes the sum infinite and the norm 0, with gradient 0 (PyTorch's)
        magnitude = _abs(diff)
        zero = magnitude.data == 0
        safe = E.where(zero, xp.ones((), dtype=diff.dtype), magnitude)
        value = E.pow(_sum(E.pow(safe, float(p)), axis=dim), 1.0 / p)
        return E.where(zero.any(axis=dim), xp.zeros((), dtype=diff.dtype), value)
    return norm(diff, float(p), dim=dim)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distances between the rows of ``x1`` (…, P, M) and ``x2`` (…, R, M), batch dims
    broadcast (``torch.cdist``): out[…, i, j] = ‖x1[…, i, :] − x2[…, j, :]‖ₚ, p ≥ 0. Computed from the
    differences whatever ``compute_mode`` says (PyTorch's matrix-product shortcut for p = 2 loses
    precision near 0); the gradient at a zero distance is 0, as PyTorch's."""
    a, b = _as_tensor(x1), _as_tensor(x2)
    if compute_mode not in COMPUTE_MODES:
        raise ValueError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    if a.ndim < 2 or b.ndim < 2:
        bad, which = (a, "X1") if a.ndim < 2 else (b, "X2")
        raise ProductError(f"cdist: cdist only supports at least 2D tensors, {which} got: {bad.ndim}D")
    _floating("cdist", a, "X1")
    _floating("cdist", b, "X2")
    if a.shape[-1] != b.shape[-1]:
        raise ProductError(f"cdist: X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: "
                           f"{b.shape[-1]}")
    _same_dtype("cdist", a, b, "expected both inputs to have the same dtype (PyTorch: expected scalar type)")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or p < 0:
        raise ProductError(f"cdist: cdist only supports non-negative p values, got {p!r}")
    try:
        batch = xp.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError as e:
        raise ProductError(f"cdist: batch dims of X1 {tuple(a.shape)} and X2 {tuple(b.shape)} do not "
                           f"broadcast") from e
    a = broadcast_to(a, batch + tuple(a.shape[-2:])) if tuple(a.shape[:-2]) != batch else a
    b = broadcast_to(b, batch + tuple(b.shape[-2:])) if tuple(b.shape[:-2]) != batch else b
    P, R, M = a.shape[-2], b.shape[-2], a.shape[-1]  # noqa: N806
    diff = E.sub(reshape(a, batch + (P, 1, M)), reshape(b, batch + (1, R, M)))
    return _p_norm("cdist", diff, p, -1)


def pdist(input, p=2.0):  # noqa: A002
    """The p-norm distances between every pair of rows i < j of an (N, M) ``input``, as a flat
    N(N − 1)/2 vector in row-major order of the pairs (``torch.pdist``: the upper triangle of
    ``cdist(x, x)``)."""
    x = _as_tensor(input)
    if x.ndim != 2:
        raise ProductError(f"pdist: pdist only supports 2D tensors, got: {x.ndim}D")
    _floating("pdist", x)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or p < 0:
        raise ProductError(f"pdist: pdist only supports non-negative p values, got {p!r}")
    i, j = xp.triu_indices(x.shape[0], 1)
    return _p_norm("pdist", E.sub(getitem(x, i), getitem(x, j)), p, -1)


def dist(input, other, p=2):  # noqa: A002
    """‖input − other‖ₚ over every entry, the two broadcast (``torch.dist``): any real p (0 counts the
    differing entries, ±∞ the largest / smallest difference, a negative p (Σ abs(d)ᵖ)^(1/p))."""
    a, b = _promoted(_as_tensor(input), _as_tensor(other))
    if a.dtype.kind not in "fc":
        raise ProductError(f"dist: norm(): input dtype should be either floating point or complex. Got {a.dtype} "
                           f"instead.")
    try:
        xp.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError as e:
        raise ProductError(f"dist: the shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from e
    diff = E.sub(a, b)
    return _p_norm("dist", reshape(diff, (-1,)), p, 0)
