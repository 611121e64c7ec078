"""``rg.linalg``: PyTorch's ``torch.linalg`` on retrograd tensors, differentiable in reverse and
forward mode (and to higher orders).

Each function checks ``torch.linalg``'s rules first (shapes, dtypes, arguments: PyTorch's errors,
``RuntimeError``s, and ``LinAlgError`` for a singular or indefinite matrix) and then calls the
primitive ops of ``linalg_decompositions`` (``det``, ``slogdet``, ``inv``, ``solve``, ``cholesky``,
``qr``, ``eigh``, ``svd``, ``pinv``, ``matrix_exp``: forward, vjp and jvp side by side) or composes
existing ops (``solve_triangular`` is ``solve`` on ``triu``/``tril``; ``lstsq`` is ``pinv(A) @ B``,
as PyTorch differentiates it; ``matrix_power`` repeated squaring; the norms in ``linalg_norms``),
so the gradient of a composition comes from its parts.

Leading dims are batch dims. Results are named tuples where PyTorch returns them
(``slogdet(A).logabsdet``, ``qr(A).Q``, ``eigh(A).eigenvectors``, ``svd(A).Vh``,
``lstsq(A, B).solution``). The matrices are real (float32 or float64): complex inputs are refused.

Also here: PyTorch's top-level forms (``torch.det``, ``logdet``, ``slogdet``, ``inverse``,
``pinverse``, ``matrix_power``, ``matrix_exp``, the old ``torch.svd`` and the deprecated
``torch.cholesky``), re-exported as ``rg.det`` … by ``retrograd.ops``.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from ..autograd.backend import xp
from ..autograd.op import DimError, off_tape
from ..autograd.tensor import Tensor, _wrap
from . import linalg_decompositions as D
from .composite import squeeze, unsqueeze
from .cumulative import cumprod
from .elementwise import where
from .linalg import matmul
from .linalg_decompositions import LinAlgError, LinAlgInputError
from .linalg_norms import cond, matrix_norm, norm, vector_norm
from .matrix import cross as _cross, diagonal as _diagonal
from .rearrange import _as_tensor, tril, triu
from .reductions import sum as _sum
from .shape import broadcast_to, concatenate, movedim, reshape, swapaxes


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: det A = sign · exp(logabsdet)."""
    sign: Tensor
    logabsdet: Tensor


class QRResult(NamedTuple):
    """``qr``'s result: A = Q R."""
    Q: Tensor
    R: Tensor


class EighResult(NamedTuple):
    """``eigh``'s result: A = V diag(λ) Vᵀ, λ ascending."""
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    """``linalg.svd``'s result: A = U diag(S) Vh."""
    U: Tensor
    S: Tensor
    Vh: Tensor


class TorchSVDResult(NamedTuple):
    """The old ``torch.svd``'s result: A = U diag(S) Vᵀ, V not transposed."""
    U: Tensor
    S: Tensor
    V: Tensor


class LstsqResult(NamedTuple):
    """``lstsq``'s result: the solution, the squared residuals per column (empty unless the driver
    computes them, m > n and A has full rank), the rank and the singular values (empty unless the
    driver computes them)."""
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


def _mT(x):
    return swapaxes(x, -1, -2)


# ---------------------------------------------------------------- determinants and inverses
def det(A):
    """det A of square matrices (``torch.linalg.det``);  Ā = d̄ · cofactor(A): d̄·det(A)·A⁻ᵀ when A
    is invertible, the adjugate's transpose (from the SVD) at a singular A — finite, as det is a
    polynomial (``linalg_decompositions.Det``)."""
    return D.Det()(D.matrices("linalg.det", _as_tensor(A)))


@off_tape
def _det_sign(a):
    return _wrap(xp.asarray(xp.linalg.slogdet(a.data)[0]))


def slogdet(A):
    """(sign, log|det A|) (``torch.linalg.slogdet``): a determinant that would overflow or underflow
    as a number, kept as its sign (−1, 0 or 1; a zero gradient) and its log-magnitude (−∞ for a singular
    matrix);  Ā = logabsdet̄ · A⁻ᵀ."""
    a = D.matrices("linalg.slogdet", _as_tensor(A))
    logabsdet = D.LogAbsDet()(a)
    sign = _det_sign(a)
    if logabsdet.requires_grad:  # on the tape with a zero gradient, as PyTorch's sign
        sign = where(xp.zeros(sign.shape, dtype=bool), logabsdet, sign)
    return SlogdetResult(sign, logabsdet)


def logdet(A):
    """log det A (``torch.logdet``): NaN where det A < 0, −∞ where it is 0; Ā = A⁻ᵀ·ḡ where
    det A > 0, 0 where it is NaN."""
    sign, logabsdet = slogdet(A)
    return where(sign == -1, xp.asarray(xp.nan, dtype=logabsdet.dtype), logabsdet)


def inv(A):
    """Y = A⁻¹ of square matrices (``torch.linalg.inv``); a singular one raises ``LinAlgError``.
    Ā = −Yᵀ Ȳ Yᵀ."""
    return D.Inv()(D.matrices("linalg.inv", _as_tensor(A)))


def _is_vector_rhs(a, b):
    """PyTorch's rule: B is a (batch of) vector(s) if it is 1-D, or has one dim less than A and
    A's shape without its last dim."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))


def _shape_text(shape):
    return "x".join(str(s) for s in shape)


def solve(A, B, *, left=True):
    """X with A X = B (``torch.linalg.solve``; X A = B with ``left=False``), A square (…, n, n),
    B (…, n, k) or a (batch of) vector(s) (…, n), batch dims broadcast. A singular A raises
    ``LinAlgError``. B̄ = A⁻ᵀX̄, Ā = −B̄Xᵀ."""
    fn = "linalg.solve"
    a = D.matrices(fn, _as_tensor(A))
    b = D.floating(fn, _as_tensor(B), "B")
    D.same_dtype(fn, a, b)
    n = a.shape[-1]
    vector = b.ndim >= 1 and _is_vector_rhs(a, b)
    equation = "AX = B" if left else "XA = B"
    if b.ndim == 0 or (vector and (not left or b.shape[-1] != n)) or (
            not vector and b.shape[-2 if left else -1] != n):
        shown = (b.shape[-1], 1) if vector else tuple(b.shape[-2:]) if b.ndim else ()
        raise LinAlgInputError(f"{fn}: Incompatible shapes of A and B for the equation {equation} "
                               f"({_shape_text(a.shape[-2:])} and {_shape_text(shown)})")
    if vector:
        D.batch_shape(fn, a.shape[:-2], b.shape[:-1])
        return squeeze(D.Solve()(a, unsqueeze(b, -1)), -1)
    D.batch_shape(fn, a.shape[:-2], b.shape[:-2])
    if left:
        return D.Solve()(a, b)
    return _mT(D.Solve()(_mT(a), _mT(b)))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (X A = B with ``left=False``) for a triangular A (``torch.linalg.solve_triangular``):
    only the triangle ``upper`` names is read, and with ``unitriangular`` its diagonal is taken as 1s.
    B is (…, n, k) ((…, k, n) with ``left=False``). It is ``solve`` on ``triu(A)`` / ``tril(A)``, so
    Ā is the solve gradient restricted to that triangle."""
    fn = "linalg.solve_triangular"
    a = D.matrices(fn, _as_tensor(A))
    b = D.matrices(fn, _as_tensor(B), "B", square=False)
    D.same_dtype(fn, a, b)
    n = a.shape[-1]
    if b.shape[-2 if left else -1] != n:
        raise LinAlgInputError(f"{fn}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'}"
                               f" ({_shape_text(a.shape[-2:])} and {_shape_text(b.shape[-2:])})")
    D.batch_shape(fn, a.shape[:-2], b.shape[:-2])
    skip = 1 if unitriangular else 0
    t = triu(a, skip) if upper else tril(a, -skip)
    if unitriangular:
        t = t + xp.eye(n, dtype=a.dtype)
    if left:
        return D.Solve()(t, b)
    return _mT(D.Solve()(_mT(t), _mT(b)))


# ---------------------------------------------------------------- factorisations
def cholesky(A, *, upper=False):
    """L with A = L Lᵀ, lower triangular, of symmetric positive-definite matrices
    (``torch.linalg.cholesky``; ``upper=True``: U = Lᵀ with A = UᵀU, from A's upper triangle); only
    that triangle of A is read. Not positive-definite: ``LinAlgError``. Its gradient is symmetric
    (Murray 2016)."""
    a = D.matrices("linalg.cholesky", _as_tensor(A))
    if upper:
        return _mT(D.Cholesky()(_mT(a)))
    return D.Cholesky()(a)


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, Q orthonormal columns and R upper triangular (``torch.linalg.qr``):
    ``'reduced'`` Q (m, k), R (k, n), k = min(m, n); ``'complete'`` Q (m, m), R (m, n); ``'r'`` R only
    (Q empty). Differentiable for ``'reduced'``, and ``'complete'`` with m ≤ n."""
    if mode not in ("reduced", "complete", "r"):
        raise LinAlgInputError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                               f"'r', or 'complete'")
    q, r = D.QR(mode)(D.matrices("linalg.qr", _as_tensor(A), square=False))
    return QRResult(q, r)


def _uplo(uplo):
    if uplo not in ("L", "U"):
        raise LinAlgInputError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")
    return uplo


def eigh(A, UPLO="L"):  # noqa: N803 - torch's name
    """(eigenvalues ascending, orthonormal eigenvectors) of symmetric matrices (``torch.linalg.eigh``),
    reading the lower (``UPLO='L'``) or upper triangle. The eigenvectors' signs are arbitrary: a loss
    must not depend on them; their gradient is not finite for repeated eigenvalues."""
    a = D.matrices("linalg.eigh", _as_tensor(A))
    values, vectors = D.Eigh(_uplo(UPLO))(a)
    return EighResult(values, vectors)


def eigvalsh(A, UPLO="L"):  # noqa: N803
    """The eigenvalues of symmetric matrices, ascending (``torch.linalg.eigvalsh``);
    Ā = V diag(λ̄) Vᵀ, finite for repeated eigenvalues too."""
    return D.Eigh(_uplo(UPLO))(D.matrices("linalg.eigvalsh", _as_tensor(A)))[0]


def _no_driver(fn, driver):
    if driver is not None:
        raise LinAlgInputError(f"torch.{fn}: keyword argument `driver=` is only supported on CUDA inputs with "
                               f"cuSOLVER backend.")


def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending (``torch.linalg.svd``): with ``full_matrices``
    U (m, m) and Vh (n, n), else (m, k) and (k, n). The singular vectors' signs are arbitrary (use
    gauge-invariant losses); the gradient is not finite for repeated singular values, and ignores the
    columns that ``full_matrices`` adds."""
    _no_driver("linalg.svd", driver)
    u, s, vh = D.SVD(bool(full_matrices))(D.matrices("linalg.svd", _as_tensor(A), square=False))
    return SVDResult(u, s, vh)


def svdvals(A, *, driver=None):
    """The singular values, descending (``torch.linalg.svdvals``); Ā = U diag(S̄) Vᵀ."""
    _no_driver("linalg.svdvals", driver)
    return D.SVD(False)(D.matrices("linalg.svdvals", _as_tensor(A), square=False))[1]


# ---------------------------------------------------------------- pseudo-inverse, rank, least squares
def _tolerance(value):
    return value.data if isinstance(value, Tensor) else value


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """The Moore–Penrose pseudo-inverse A⁺ (``torch.linalg.pinv``), from the SVD (``hermitian``: from
    eigh of the lower triangle): singular values ≤ max(atol, rtol·σ₁) count as 0; rtol defaults to
    max(m, n)·ε, or 0 when atol > 0 is given (``rcond``, the old positional form, is rtol). Its
    gradient is Golub & Pereyra's, exact where the rank does not change."""
    if rcond is not None:
        if rtol is not None:
            raise LinAlgInputError("linalg.pinv: give rtol or rcond (its old name), not both")
        rtol = rcond
    a = D.matrices("linalg.pinv", _as_tensor(A), square=False)
    return D.Pinv(_tolerance(atol), _tolerance(rtol), bool(hermitian))(a)


@off_tape
def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None):
    """The numerical rank (int64, ``torch.linalg.matrix_rank``): how many singular values (abs(eigenvalues)
    with ``hermitian``) exceed max(atol, rtol·σ₁), with ``pinv``'s defaults; ``tol`` (the old
    positional form) is atol with rtol = 0. No gradient."""
    if tol is not None:
        if atol is not None or rtol is not None:
            raise LinAlgInputError("linalg.matrix_rank: give tol or atol/rtol, not both")
        atol, rtol = tol, 0.0
    a = D.matrices("linalg.matrix_rank", _as_tensor(A), square=False).data
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(a))
        s_max = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=a.dtype)
    else:
        s = xp.linalg.svd(a, compute_uv=False)
        s_max = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=a.dtype)
    tol_ = D.pinv_tolerance(s_max, a.shape, a.dtype, _tolerance(atol), _tolerance(rtol))
    return _wrap(xp.asarray((s > tol_).sum(axis=-1), dtype=xp.int64))


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution X = argmin ‖AX − B‖ (minimum-norm where A is rank-deficient;
    ``torch.linalg.lstsq``), computed and differentiated as ``pinv(A, rtol=rcond) @ B`` (PyTorch's
    gradient). B is (…, m, k), or (…, m) when it has one dim less than A. ``rcond`` (default
    max(m, n)·ε) sets the effective rank. As PyTorch's drivers (default ``'gelsy'``): ``residuals``
    (‖AX − B‖² per column, differentiable) for ``'gels'``, ``'gelsd'``, ``'gelss'`` when m > n and A
    has full rank, else empty; ``rank`` (int64) except for ``'gels'``; ``singular_values`` for
    ``'gelsd'`` and ``'gelss'``."""
    fn = "torch.linalg.lstsq"
    a, b = _as_tensor(A), _as_tensor(B)
    if a.ndim < 2:
        raise LinAlgInputError(f"{fn}: input must have at least 2 dimensions.")
    if b.ndim < 1:
        raise LinAlgInputError(f"{fn}: other must have at least 1 dimension.")
    D.floating(fn, a, "input")
    if a.dtype != b.dtype:
        raise LinAlgInputError(f"{fn}: Expected input and other to have the same dtype, but got input's dtype "
                               f"{D.dtype_name(a.dtype)} and other's dtype {D.dtype_name(b.dtype)}")
    if not (a.ndim >= b.ndim and a.ndim - b.ndim <= 1):
        raise LinAlgInputError(f"{fn}: input.dim() must be greater or equal to other.dim() and (input.dim() - "
                               f"other.dim()) <= 1")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise LinAlgInputError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = a.ndim - 1 == b.ndim
    bm = unsqueeze(b, -1) if vector else b
    m, n = a.shape[-2:]
    if bm.shape[-2] != m:
        raise LinAlgInputError(f"{fn}: input.size(-2) should match other.size(-2)")
    D.batch_shape(fn, a.shape[:-2], bm.shape[:-2])
    eps = xp.finfo(a.dtype).eps
    rtol = max(m, n) * eps if rcond is None or rcond < 0 else rcond
    x = matmul(D.Pinv(None, rtol)(a), bm)
    s = _singular_values(a)
    rank = _rank(s, rtol)
    empty = _wrap(xp.zeros((0,), dtype=a.dtype))
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank.data == n).all()):
        r = matmul(a, x) - bm
        residuals = _sum(r * r, -2)
    return LstsqResult(squeeze(x, -1) if vector else x, residuals,
                       _wrap(xp.zeros((0,), dtype=xp.int64)) if driver == "gels" else rank,
                       s if driver in ("gelsd", "gelss") else empty)


@off_tape
def _singular_values(a):
    return _wrap(xp.linalg.svd(a.data, compute_uv=False))


@off_tape
def _rank(s, rtol):
    """How many of the singular values ``s`` (descending) exceed rtol·σ₁."""
    v = s.data
    s_max = v[..., :1] if v.shape[-1] else xp.zeros(v.shape[:-1] + (1,), dtype=v.dtype)
    return _wrap(xp.asarray((v > rtol * s_max).sum(axis=-1), dtype=xp.int64))


# ---------------------------------------------------------------- matrix functions and products
def matrix_power(A, n):
    """Aⁿ for an integer n (``torch.linalg.matrix_power``): A⁰ = I (a zero gradient), n > 0 by repeated
    squaring, n < 0 as (A⁻¹)^abs(n) (floating A only). Integer matrices are accepted for n ≥ 0."""
    fn = "linalg.matrix_power"
    a = D.matrices(fn, _as_tensor(A), dtype=False)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    if n == 0:  # I, on the tape with a zero gradient (as PyTorch's, which requires grad)
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
        return where(xp.zeros(a.shape, dtype=bool), a, eye)
    if n < 0:
        a = inv(a)
    result, k = None, abs(n)
    while k:
        if k & 1:
            result = a if result is None else matmul(result, a)
        k >>= 1
        if k:
            a = matmul(a, a)
    return result


def matrix_exp(A):
    """exp(A) = Σₖ Aᵏ/k! of square matrices (``torch.linalg.matrix_exp``): Padé scaling and squaring
    (Higham 2005); its derivatives are block-triangular exponentials (exact, any order)."""
    return D.MatrixExp()(D.matrices("linalg.matrix_exp", _as_tensor(A)))


def _chain_order(dims):
    """The cheapest parenthesisation of a matrix chain of ``dims`` (matrix i is dims[i] × dims[i+1]):
    split[i][j], the last product of chain i..j (the textbook dynamic programme)."""
    count = len(dims) - 1
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors):
    """The product of a chain of matrices (``torch.linalg.multi_dot``), multiplied in the cheapest
    order; the first may be a row vector (1-D) and the last a column vector (1-D), whose dims are then
    dropped from the result."""
    ts = [_as_tensor(t) for t in tensors]
    if len(ts) < 2:
        raise LinAlgInputError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        where_ = "the first tensor" if i == 0 else "the last tensor" if i == len(ts) - 1 else f"tensor {i}"
        allowed = (1, 2) if i in (0, len(ts) - 1) else (2,)
        if t.ndim not in allowed:
            raise LinAlgInputError(f"multi_dot(): {where_} must be {' or '.join(f'{k}D' for k in allowed)} but got "
                                   f"{t.ndim}D")
        if t.dtype != ts[0].dtype:
            raise LinAlgInputError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                                   f"{D.dtype_name(ts[0].dtype).lower()} and tensor {i} "
                                   f"{D.dtype_name(t.dtype).lower()}")
    mats = list(ts)
    if ts[0].ndim == 1:
        mats[0] = reshape(ts[0], (1, ts[0].shape[0]))
    if ts[-1].ndim == 1:
        mats[-1] = reshape(ts[-1], (ts[-1].shape[0], 1))
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise LinAlgInputError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i].shape)} and "
                                   f"{list(ts[i + 1].shape)} cannot be multiplied")
    split = _chain_order([mats[0].shape[0]] + [m.shape[1] for m in mats])

    def product(i, j):
        return mats[i] if i == j else matmul(product(i, split[i][j]), product(split[i][j] + 1, j))
    out = product(0, len(mats) - 1)
    shape = (() if ts[0].ndim == 1 else (out.shape[0],)) + (() if ts[-1].ndim == 1 else (out.shape[1],))
    return out if len(shape) == 2 else reshape(out, shape)


def cross(input, other, *, dim=-1):  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (``torch.linalg.cross``): the inputs have the same
    number of dims, size 3 along ``dim``, and broadcast against each other."""
    a, b = _as_tensor(input), _as_tensor(other)
    if a.ndim != b.ndim:
        raise LinAlgInputError(f"linalg.cross: inputs must have the same number of dimensions (got shapes "
                               f"{tuple(a.shape)} and {tuple(b.shape)}).")
    if not isinstance(dim, int) or not -max(a.ndim, 1) <= dim < max(a.ndim, 1):
        raise DimError(f"linalg.cross: Dimension out of range (expected to be in range of [{-a.ndim}, "
                       f"{a.ndim - 1}], but got {dim})")
    if a.shape[dim] != 3 or b.shape[dim] != 3:
        raise LinAlgInputError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[dim]} and "
                               f"{b.shape[dim]}")
    D.batch_shape("linalg.cross", a.shape, b.shape)
    return _cross(a, b, dim)


def vecdot(x, y, *, dim=-1):
    """Σᵢ xᵢ yᵢ along ``dim`` (``torch.linalg.vecdot``), x and y of one dtype, broadcast against
    each other."""
    a, b = _as_tensor(x), _as_tensor(y)
    if a.dtype != b.dtype:
        raise LinAlgInputError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                               f"{D.dtype_name(a.dtype)} and y of type {D.dtype_name(b.dtype)} instead")
    shape = D.batch_shape("linalg.vecdot", a.shape, b.shape)
    if not isinstance(dim, int) or not -max(len(shape), 1) <= dim < max(len(shape), 1):
        raise DimError(f"linalg.vecdot: Dimension out of range (expected to be in range of [{-len(shape)}, "
                       f"{len(shape) - 1}], but got {dim})")
    return _sum(a * b, dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of the matrices over ``dim1``, ``dim2`` (``torch.linalg.diagonal``: ``diagonal``
    with the last two dims by default), appended as the last dim."""
    return _diagonal(A, offset, dim1, dim2)


def vander(x, *, N=None):  # noqa: N803 - torch's name
    """Vandermonde matrices (``torch.linalg.vander``): x (…, n) gives (…, n, N) with columns x⁰, x¹, …,
    x^(N−1) (N defaults to n, and must exceed 1). A cumulative product, so its gradient is exact at 0."""
    x = _as_tensor(x)
    n = N if N is not None else (x.shape[-1] if x.ndim else 1)
    if not isinstance(n, int) or n <= 1:
        raise LinAlgInputError(f"N must be greater than 1 (got N={n} for x of shape {tuple(x.shape)}).")
    powers = cumprod(broadcast_to(unsqueeze(x, -1), tuple(x.shape) + (n - 1,)), -1)
    return concatenate([xp.ones(tuple(x.shape) + (1,), dtype=powers.dtype), powers], -1)


def tensorinv(A, ind=2):
    """The inverse of A for ``tensordot`` (``torch.linalg.tensorinv``): A's first ``ind`` dims against
    the rest, whose sizes' products must agree; the result has shape A.shape[ind:] + A.shape[:ind]."""
    a = _as_tensor(A)
    if not isinstance(ind, int) or isinstance(ind, bool) or ind <= 0:
        raise LinAlgInputError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(a.shape[:ind]), math.prod(a.shape[ind:])
    if rows != cols:
        raise LinAlgInputError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                               f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return reshape(inv(reshape(a, (rows, cols))), tuple(a.shape[ind:]) + tuple(a.shape[:ind]))


def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B (``torch.linalg.tensorsolve``): A's first B.ndim dims
    against the rest (``dims`` moved to the end first), whose sizes' products must agree; X has shape
    A.shape[B.ndim:]."""
    a, b = _as_tensor(A), _as_tensor(B)
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        a = movedim(a, dims, tuple(range(-len(dims), 0)))
    rows, cols = math.prod(a.shape[:b.ndim]), math.prod(a.shape[b.ndim:])
    if rows != cols:
        raise LinAlgInputError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                               f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    x = solve(reshape(a, (rows, cols)), reshape(b, (math.prod(b.shape),)))
    return reshape(x, tuple(a.shape[b.ndim:]))


# ---------------------------------------------------------------- PyTorch's top-level forms
def pinverse(input, rcond=1e-15):  # noqa: A002
    """``torch.pinverse``: ``linalg.pinv`` with rtol = ``rcond``."""
    return pinv(input, rtol=rcond)


def torch_svd(input, some=True, compute_uv=True):  # noqa: A002
    """The old ``torch.svd``: (U, S, V) with A = U diag(S) Vᵀ, V not transposed; ``some=False`` gives
    the full U (m, m) and V (n, n); ``compute_uv=False`` gives zero-filled U (m, m) and V (n, n)."""
    a = D.matrices("svd", _as_tensor(input), square=False)
    if not compute_uv:
        m, n = a.shape[-2:]
        batch = tuple(a.shape[:-2])
        s = D.SVD(False)(a)[1]
        return TorchSVDResult(_wrap(xp.zeros(batch + (m, m), dtype=a.dtype)), s,
                              _wrap(xp.zeros(batch + (n, n), dtype=a.dtype)))
    u, s, vh = D.SVD(not some)(a)
    return TorchSVDResult(u, s, _mT(vh))


def torch_cholesky(input, upper=False):  # noqa: A002
    """The deprecated ``torch.cholesky`` (with PyTorch's warning): L with A = L Lᵀ, or ``upper=True``
    U with A = Uᵀ U (``linalg.cholesky(A).mT``)."""
    warnings.warn("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a future "
                  "PyTorch release; use rg.linalg.cholesky(A) (and rg.linalg.cholesky(A).mT for upper=True)",
                  UserWarning, stacklevel=2)
    return cholesky(input, upper=upper)


__all__ = ["EighResult", "LinAlgError", "LstsqResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky",
           "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "lstsq", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]

# The LU family, the *_ex forms, LDLᵀ and householder_product: their own files, which call the functions above.
from .linalg_lu import (LUFactorExResult, LUFactorResult, LUResult, lu, lu_factor, lu_factor_ex,  # noqa: E402
                        lu_solve)
from .linalg_extra import (CholeskyExResult, InvExResult, LDLFactorExResult, LDLFactorResult,  # noqa: E402
                           SolveExResult, cholesky_ex, householder_product, inv_ex, ldl_factor, ldl_factor_ex,
                           ldl_solve, solve_ex)

__all__ += ["CholeskyExResult", "InvExResult", "LDLFactorExResult", "LDLFactorResult", "LUFactorExResult",
            "LUFactorResult", "LUResult", "SolveExResult", "cholesky_ex", "householder_product", "inv_ex",
            "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "solve_ex"]
