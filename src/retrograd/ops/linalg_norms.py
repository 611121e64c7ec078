"""``rg.linalg``'s norms and condition number, composed from existing ops (no derivative rules of
their own): ``vector_norm``, ``matrix_norm``, ``norm`` and ``cond``, with ``torch.linalg``'s
signatures, dtypes and errors.

A vector p-norm is ``rg.norm``'s op (‖x‖ₚ = (Σ|x|ᵖ)^(1/p), p < 0 included: 0 where an entry is
0, with a zero gradient, as PyTorch's); the matrix norms are reductions of abs(A) (1, ∞: the largest
column or row sum) or of the singular values (2, nuc), so their gradients are those of ``amax``,
``sum`` and ``svdvals``: at a tie (two equal column sums, a repeated largest singular value) they
follow ``rg.conventions``, and a matrix 2-norm's gradient is u₁v₁ᵀ.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.backend import xp
from ..autograd.op import DimError, off_tape
from ..autograd.tensor import _wrap
from . import linalg_decompositions as D
from .composite import unsqueeze
from .einsum import VectorNorm, norm as _norm
from .elementwise import cast, where
from .extrema import amax, amin
from .kinks import abs as _abs
from .rearrange import _as_tensor
from .reductions import sum as _sum
from .shape import getitem, movedim

_MATRIX_ORDERS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def _with_dtype(fn, x, dtype):
    """x cast to ``dtype`` first (PyTorch's ``dtype=``), which must not narrow it."""
    if dtype is None:
        return x
    dt = xp.dtype(dtype)
    if dt.kind != "f" or dt.itemsize < x.dtype.itemsize:
        raise D.LinAlgInputError(f"{fn}: the dtype of the input ({D.dtype_name(x.dtype)}) should be convertible "
                                 f"without narrowing to the specified dtype ({D.dtype_name(dt)})")
    return x if dt == x.dtype else cast(x, dt)


def _dims(fn, dim, ndim):
    """``dim`` (None, an int or a sequence) as distinct non-negative ints; None, () or [] mean every dim."""
    if dim is None or (isinstance(dim, (tuple, list)) and not len(dim)):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    n = max(ndim, 1)
    for d in dims:
        if not isinstance(d, int) or isinstance(d, bool):
            raise D.LinAlgInputError(f"{fn}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -n <= d < n:
            raise DimError(f"{fn}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        d = d % n if ndim else 0
        if d in out:
            raise D.LinAlgInputError(f"{fn}: dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(out) if ndim else ()


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - torch's names
    """‖x‖ₚ over ``dim`` (``torch.linalg.vector_norm``): every entry when ``dim`` is None (x
    flattened), else the given dims, the rest batch dims.

    ``ord``: 2 (√Σx²), 1, ``inf`` (max |x|), ``-inf`` (min |x|), 0 (the count of nonzeros, a zero
    gradient), any other p: (Σ|x|ᵖ)^(1/p), negative p too (0 if an entry is 0). ``dtype``: compute in
    that (wider) floating dtype. x̄ = ȳ·sign(x)|x|ᵖ⁻¹/‖x‖ₚᵖ⁻¹ (x/‖x‖ for p = 2), 0 where ‖x‖ₚ = 0."""
    fn = "linalg.vector_norm"
    x = _with_dtype(fn, D.floating(fn, _as_tensor(x), "x"), dtype)
    if isinstance(ord, str) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    p = float(ord)
    axes = _dims(fn, dim, x.ndim)
    if p in (math.inf, -math.inf) and any(x.shape[a] == 0 for a in axes):
        raise D.LinAlgInputError(f"{fn} cannot compute the {ord} norm on an empty tensor because the operation does "
                                 f"not have an identity")
    if p < 0 and p != -math.inf:  # rg.norm refuses these; the op itself gives 0 for a zero entry
        with xp.errstate(divide="ignore"):
            return VectorNorm(p, axes, bool(keepdim))(x)
    return _norm(x, int(p) if p.is_integer() else p, axes, bool(keepdim))


def _matrix_dims(fn, dim, ndim):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise D.LinAlgInputError(f"{fn}: dim must be a 2-tuple. Got {dim if not isinstance(dim, list) else tuple(dim)}")
    d0, d1 = (_dims(fn, (d,), ndim)[0] for d in dim)
    if d0 == d1:
        raise D.LinAlgInputError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _singular_values(a, d0, d1):
    """σ(A) of the matrices over dims (d0, d1), the other dims (in order) first."""
    return D.SVD(False)(movedim(a, (d0, d1), (-2, -1)))[1]


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """A matrix norm of the matrices over ``dim`` (``torch.linalg.matrix_norm``):

    ``'fro'`` √Σaᵢⱼ², ``'nuc'`` Σσᵢ, 2 / −2 the largest / smallest singular value, 1 / −1 the
    largest / smallest column sum of abs(A), ``inf`` / ``-inf`` the largest / smallest row sum. The
    other dims are batch dims; ``keepdim`` keeps the two as size 1; ``dtype`` computes in that
    (wider) floating dtype."""
    fn = "linalg.matrix_norm"
    a = _as_tensor(A)
    D.matrices(fn, a, square=False)
    a = _with_dtype(fn, a, dtype)
    d0, d1 = _matrix_dims(fn, dim, a.ndim)
    valid = ord in ("fro", "nuc") if isinstance(ord, str) else isinstance(ord, numbers.Real) and ord in _MATRIX_ORDERS
    if not valid:
        raise D.LinAlgInputError(f"{fn}: Order {ord} not supported.")
    keep = bool(keepdim)
    if ord == "fro":
        return vector_norm(a, 2, (d0, d1), keep)
    if isinstance(ord, str) or abs(ord) == 2:
        s = _singular_values(a, d0, d1)
        out = _sum(s, -1) if ord == "nuc" else amax(s, -1) if ord == 2 else amin(s, -1)
        for d in sorted((d0, d1)) if keep else ():
            out = unsqueeze(out, d)
        return out
    inner, outer = (d0, d1) if abs(ord) == 1 else (d1, d0)  # 1: columns summed over rows; inf: rows over columns
    sums = _sum(_abs(a), dim=inner, keepdim=True)
    out = amax(sums, outer, True) if ord > 0 else amin(sums, outer, True)
    return out if keep else getitem(out, tuple(0 if i in (d0, d1) else slice(None) for i in range(a.ndim)))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """A vector or matrix norm (``torch.linalg.norm``): a vector norm over an int ``dim`` (or a
    1-tuple), a matrix norm over a 2-tuple; with ``dim`` None, the 2-norm of every entry when ``ord``
    is None, else ``A`` must be 1-D (vector norm) or 2-D (matrix norm). ``ord`` as in
    ``vector_norm`` / ``matrix_norm`` (None: 2 for vectors, ``'fro'`` for matrices)."""
    a = _as_tensor(A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1 and not isinstance(ord, str):
            return vector_norm(a, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) in (1, 2):
            return matrix_norm(a, "fro" if ord is None else ord, dims if len(dims) == 2 else dims[0], keepdim,
                               dtype=dtype)
        raise D.LinAlgInputError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if ord is None:
        return vector_norm(a, 2, None, keepdim, dtype=dtype)
    if a.ndim not in (1, 2):
        raise D.LinAlgInputError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                                 f"{a.ndim}D.")
    if a.ndim == 1 and not isinstance(ord, str):
        return vector_norm(a, ord, None, keepdim, dtype=dtype)
    return matrix_norm(a, ord, (-2, -1), keepdim, dtype=dtype)


def cond(A, p=None):
    """κₚ(A) = ‖A‖ₚ‖A⁻¹‖ₚ (``torch.linalg.cond``): for p None or 2, σ₁/σₙ (−2: σₙ/σ₁), from the
    singular values, for any (m, n) matrices; for ``'fro'``, ``'nuc'``, ±1, ±inf, from the inverse of
    square matrices, and ``inf`` for a singular one (its gradient 0)."""
    fn = "linalg.cond"
    a = D.matrices(fn, _as_tensor(A), square=False)
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        s = D.SVD(False)(a)[1]
        first, last = getitem(s, (Ellipsis, 0)), getitem(s, (Ellipsis, -1))
        with xp.errstate(divide="ignore", invalid="ignore"):
            return last / first if p == -2 else first / last
    if isinstance(p, str) and p not in ("fro", "nuc") or not isinstance(p, str) and p not in (1, -1, math.inf,
                                                                                              -math.inf):
        raise D.LinAlgInputError(f"linalg.cond got an invalid norm type: {p}")
    D.matrices(f"linalg.cond(ord={p})", a)
    singular = _singular(a).data
    if singular.any():  # their inverses replaced by the identity's, their results by inf
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        a = where(xp.broadcast_to(singular[..., None, None], a.shape), eye, a)
    kappa = matrix_norm(a, p) * matrix_norm(D.Inv()(a), p)
    return where(singular, xp.asarray(math.inf, dtype=a.dtype), kappa) if singular.any() else kappa


@off_tape
def _singular(a):
    """Which matrices LAPACK cannot invert (a boolean Tensor over the batch, computed off the tape)."""
    return _wrap(D.singular_mask(a.data))


__all__ = ["cond", "matrix_norm", "norm", "vector_norm"]
