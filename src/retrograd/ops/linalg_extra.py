"""More of ``torch.linalg``, composed from the primitive ops (no rules of their own):

- ``cholesky_ex``, ``inv_ex``, ``solve_ex``: ``cholesky``, ``inv``, ``solve`` that report a matrix
  they cannot use in ``info`` (int32, per matrix, LAPACK's code) instead of raising, unless
  ``check_errors``. Where info > 0 the values are LAPACK's (potrf's partial factor; getrs's inf and
  NaN from a singular U), as PyTorch's, and are constants: those matrices get a zero gradient (the
  others the gradient of ``cholesky``, ``inv``, ``solve``).
- ``ldl_factor``, ``ldl_factor_ex``, ``ldl_solve``: the Bunch–Kaufman factorisation A = L D Lᵀ of a
  symmetric matrix (LAPACK's sytrf/sytrs, read from A's lower triangle, D with 1 × 1 and 2 × 2
  blocks, the pivots LAPACK's: 1-based, negative for a 2 × 2 block). Not differentiable, as in
  PyTorch: with inputs that require grad the result is on the tape and a backward pass through it
  raises ``RuntimeError``.
- ``householder_product`` (``torch.orgqr``): Q = H₁ H₂ … H_k of Householder reflectors
  Hᵢ = I − τᵢ vᵢ vᵢᵀ, applied to the first n columns of I one reflector at a time, so Ā and τ̄ come
  from the products.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.backend import host, to_numpy, xp
from ..autograd.function import Function
from ..autograd.mode import _mode
from ..autograd.op import DimError
from ..autograd.tensor import Tensor, _wrap
from . import linalg_decompositions as D
from . import linalg_namespace as LA
from .composite import squeeze, unsqueeze
from .elementwise import sub, where
from .linalg import matmul
from .linalg_decompositions import LinAlgError, LinAlgInputError
from .linalg_lu import failed_at, lapack, lapack_dtype, lapack_where, lu_arrays, lu_solve_arrays, nan_where_nan
from .rearrange import _as_tensor, tril
from .shape import swapaxes


class CholeskyExResult(NamedTuple):
    """``cholesky_ex``'s result: the factor and ``info`` (0, or the order of the first leading minor
    that is not positive-definite)."""
    L: Tensor
    info: Tensor


class InvExResult(NamedTuple):
    """``inv_ex``'s result: the inverse and ``info`` (0, or i > 0 when U[i−1, i−1] is exactly zero)."""
    inverse: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    """``solve_ex``'s result: the solution and ``info`` (0, or i > 0 when U[i−1, i−1] is exactly zero)."""
    result: Tensor
    info: Tensor


class LDLFactorResult(NamedTuple):
    """``ldl_factor``'s result: L and D packed in one lower triangle, and LAPACK's pivots."""
    LD: Tensor
    pivots: Tensor


class LDLFactorExResult(NamedTuple):
    """``ldl_factor_ex``'s result: ``ldl_factor``'s, and ``info`` (i > 0: D[i−1, i−1] is exactly 0)."""
    LD: Tensor
    pivots: Tensor
    info: Tensor


def _replaced(a, bad):
    """``a`` with the matrices ``bad`` marks (a host mask over the batch) replaced by I: what the
    differentiable path factorises, while LAPACK's values stand in for those matrices."""
    return where(xp.asarray(bad)[..., None, None], xp.eye(a.shape[-1], dtype=a.dtype), a)


# ---------------------------------------------------------------- Cholesky with info
def _potf2(a):
    """LAPACK's unblocked Cholesky (potf2, lower) of one host matrix: (L, info). It stops at the first
    pivot ajj = aⱼⱼ − Σ lⱼₖ² that is not positive (NaN too), stores ajj there and leaves the columns
    after it as A's lower triangle: PyTorch's partial factor."""
    n = a.shape[-1]
    l = host.tril(a)
    for j in range(n):
        ajj = a[j, j] - l[j, :j] @ l[j, :j]
        if not ajj > 0:
            l[j, j] = ajj
            return l, j + 1
        l[j, j] = ajj = host.sqrt(ajj)
        l[j + 1:, j] = (a[j + 1:, j] - l[j + 1:, :j] @ l[j, :j]) / ajj
    return l, 0


def _cholesky_info(a):
    """(info, partial factors) of host matrices ``a`` (lower triangles read), the factors computed
    only for the matrices that fail."""
    info = host.zeros(a.shape[:-2], dtype=host.int32)
    partial = host.zeros_like(a)
    try:  # the usual case: every matrix positive-definite, one batched call
        if not host.isnan(host.diagonal(host.linalg.cholesky(a), axis1=-2, axis2=-1)).any():
            return info, partial
    except host.linalg.LinAlgError:
        pass
    flat_info, flat_partial = info.reshape(-1), partial.reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(a.reshape((-1,) + a.shape[-2:])):
        try:
            if not host.isnan(host.linalg.cholesky(m).diagonal()).any():
                continue
        except host.linalg.LinAlgError:
            pass
        flat_partial[i], code = _potf2(m)
        flat_info[i] = code or m.shape[-1]  # NumPy refused it: never report success
    return info, partial


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info) (``torch.linalg.cholesky_ex``): ``cholesky(A, upper=upper)`` and info = 0, or, for a
    matrix that is not positive-definite, info = the order of the first leading minor that is not
    (``LinAlgError`` only with ``check_errors``) and LAPACK's partial factor (a zero gradient)."""
    a = _as_tensor(A)
    D.matrices("linalg.cholesky", a, dtype=False)
    lapack_dtype("cholesky_cpu", a, "linalg.cholesky", integers=False)
    read = xp.swapaxes(a.data, -1, -2) if upper else a.data  # upper: Aᵀ's lower triangle is A's upper one
    info, partial = _cholesky_info(to_numpy(read))
    if check_errors and (info > 0).any():
        where_, order = failed_at(info)
        raise LinAlgError(f"linalg.cholesky_ex: {where_}The factorization could not be completed because the input "
                          f"is not positive-definite (the leading minor of order {order} is not positive-definite).")
    bad = info > 0
    if not bad.any():
        return CholeskyExResult(LA.cholesky(a, upper=upper), _wrap(xp.asarray(info)))
    factor = LA.cholesky(_replaced(a, bad), upper=upper)
    values = host.swapaxes(partial, -1, -2) if upper else partial
    return CholeskyExResult(lapack_where(bad, values, factor), _wrap(xp.asarray(info)))


# ---------------------------------------------------------------- inverse and solve with info
def _singular_values_error(fn, info, message):
    where_, i = failed_at(to_numpy(info))
    return LinAlgError(f"{fn}: {where_}{message.format(i=i)}")


def inv_ex(A, *, check_errors=False):
    """(A⁻¹, info) (``torch.linalg.inv_ex``): ``inv(A)`` and info = 0, or, for a singular A, info = i
    > 0 (U[i−1, i−1] of its LU is exactly 0; ``LinAlgError`` only with ``check_errors``) and
    LAPACK's values (inf, NaN; a zero gradient)."""
    a = D.floating("linalg.inv", D.matrices("linalg.inv", _as_tensor(A), dtype=False))  # (PyTorch's order)
    lu, pivots, info = lu_arrays("linalg.inv_ex", a.data)
    if check_errors and bool((info > 0).any()):
        raise _singular_values_error("linalg.inv_ex", info, "The diagonal element {i} is zero, the inversion could "
                                     "not be completed because the input matrix is singular.")
    bad = to_numpy((info > 0) | xp.isnan(a.data).any(axis=(-2, -1)))  # (inv takes infinities as LAPACK does)
    if not bad.any():
        return InvExResult(LA.inv(a), _wrap(info))
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    values = nan_where_nan(lu_solve_arrays("linalg.inv_ex", lu, pivots, eye), a.data)
    return InvExResult(lapack_where(bad, values, LA.inv(_replaced(a, bad))), _wrap(info))


def solve_ex(A, B, *, left=True, check_errors=False):
    """(X, info) (``torch.linalg.solve_ex``): ``solve(A, B, left=left)`` and info = 0 per matrix of A
    (A's batch shape), or, for a singular A, info = i > 0 (U[i−1, i−1] of its LU is exactly 0;
    ``LinAlgError`` only with ``check_errors``) and LAPACK's values (inf, NaN; a zero gradient)."""
    a, b = _as_tensor(A), _as_tensor(B)
    lapack_dtype("lu_cpu", a, "linalg.solve", integers=False)  # (PyTorch's order)
    D.matrices("linalg.solve", a, dtype=False)
    lu, pivots, info = lu_arrays("linalg.solve_ex", a.data)
    bad = to_numpy((info > 0) | ~xp.isfinite(a.data).all(axis=(-2, -1)))
    x = LA.solve(_replaced(a, bad) if bad.any() else a, b, left=left)  # PyTorch's checks of B, then X
    if check_errors and bool((info > 0).any()):
        raise _singular_values_error("torch.linalg.solve_ex", info, "The solver failed because the input matrix is "
                                     "singular.")
    if bad.any():
        vector = b.ndim >= 1 and LA._is_vector_rhs(a, b)
        bm = unsqueeze(b, -1).data if vector else b.data
        if left:
            values = lu_solve_arrays("linalg.solve_ex", lu, pivots, bm)
        else:  # X A = B: Aᵀ Xᵀ = Bᵀ
            values = xp.swapaxes(lu_solve_arrays("linalg.solve_ex", lu, pivots, xp.swapaxes(bm, -1, -2), 1), -1, -2)
        values = nan_where_nan(values, a.data)
        x = squeeze(lapack_where(bad, values, unsqueeze(x, -1)), -1) if vector else lapack_where(bad, values, x)
    return SolveExResult(x, _wrap(info))


# ---------------------------------------------------------------- LDLᵀ (forward only, as PyTorch)
class _NoDerivative(Function):
    """Puts values PyTorch has no derivative for on the tape of inputs that require grad, so that a
    backward pass through them raises as PyTorch's does (instead of silently passing no gradient)."""

    @staticmethod
    def forward(ctx, values, aten_name, *inputs):
        """The values, computed before (under no_grad, as every Function's forward)."""
        ctx.aten_name = aten_name
        return _wrap(values)

    @staticmethod
    def backward(ctx, grad):
        """Refuse, as PyTorch."""
        raise RuntimeError(f"derivative for aten::{ctx.aten_name} is not implemented (PyTorch has none either); "
                           f"detach its inputs, or differentiate through linalg.solve or linalg.lu instead")

    @staticmethod
    def jvp(ctx, *tangents):
        """Refuse, as PyTorch."""
        raise NotImplementedError(f"derivative for aten::{ctx.aten_name} is not implemented: no forward-mode rule "
                                  f"(PyTorch has none either)")


def _not_differentiable(values, aten_name, *inputs):
    """``values`` as a Tensor: on the tape (a backward through it raises) when an input requires grad."""
    if _mode.grad_enabled and any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        return _NoDerivative.apply(values, aten_name, *inputs)
    return _wrap(values)


def _ldl_arrays(fn, a):
    """(LD, pivots, info) of host matrices: LAPACK's sytrf on the lower triangle, the other zeroed."""
    n = a.shape[-1]
    ld = host.zeros_like(a)
    pivots = host.empty(a.shape[:-2] + (n,), dtype=host.int32)
    pivots[...] = host.arange(1, n + 1, dtype=host.int32)
    info = host.zeros(a.shape[:-2], dtype=host.int32)
    if a.size:
        sytrf = lapack(fn, "sytrf", a)
        flat_ld, flat_pivots, flat_info = ld.reshape((-1, n, n)), pivots.reshape((-1, n)), info.reshape(-1)
        for i, m in enumerate(a.reshape((-1, n, n))):
            factors, flat_pivots[i], flat_info[i] = sytrf(m, lower=1)
            flat_ld[i] = host.tril(factors)
    return ld, pivots, info


def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """(LD, pivots, info) of a symmetric A = P L D Lᵀ Pᵀ (``torch.linalg.ldl_factor_ex``): LAPACK's
    sytrf (Bunch–Kaufman pivoting) on A's lower triangle; LD holds the unit lower L below its
    diagonal and D (1 × 1 and 2 × 2 blocks) on it and the subdiagonal; pivots are LAPACK's (1-based
    int32, negative pairs for a 2 × 2 block); info = i > 0 when D[i−1, i−1] is exactly 0.
    ``hermitian`` is the same for real matrices. No derivative (PyTorch has none)."""
    return _ldl("torch.linalg.ldl_factor_ex", A, check_errors)


def ldl_factor(A, *, hermitian=False):
    """(LD, pivots) of a symmetric A (``torch.linalg.ldl_factor``): ``ldl_factor_ex``'s, raising
    ``LinAlgError`` where D has an exact zero on its diagonal. No derivative (PyTorch has none)."""
    ld, pivots, _ = _ldl("torch.linalg.ldl_factor", A, True)
    return LDLFactorResult(ld, pivots)


def _ldl(fn, A, check_errors):
    a = _as_tensor(A)
    D.matrices("torch.linalg.ldl_factor_ex", a, dtype=False)
    lapack_dtype("ldl_factor_kernel_cpu", a, "torch.linalg.ldl_factor_ex", integers=False)
    ld, pivots, info = _ldl_arrays(fn, to_numpy(a.data))
    if check_errors and (info > 0).any():  # PyTorch fails here with an internal assert ("Unknown error code")
        where_, i = failed_at(info)
        raise LinAlgError(f"{fn}: {where_}D[{i},{i}] is exactly zero: the factorization was completed, but D is "
                          f"singular and ldl_solve would divide by zero. Use ldl_factor_ex to get info instead.")
    return LDLFactorExResult(_not_differentiable(xp.asarray(ld), "linalg_ldl_factor_ex", a), _wrap(xp.asarray(pivots)),
                             _wrap(xp.asarray(info)))


def ldl_solve(LD, pivots, B, *, hermitian=False):  # noqa: N803 - torch's names
    """X with A X = B from ``ldl_factor``'s result (``torch.linalg.ldl_solve``): LAPACK's sytrs, batch
    dims broadcast; the pivots may be any integer dtype. No derivative (PyTorch has none)."""
    fn = "torch.linalg.ldl_solve"
    ld, piv, b = _as_tensor(LD), _as_tensor(pivots), _as_tensor(B)
    D.matrices(fn, ld, dtype=False)
    lapack_dtype("ldl_solve_kernel_cpu", ld, fn, "LD", integers=False)
    if b.ndim < 2:
        raise DimError(f"{fn}: Dimension out of range: B must have at least 2 dimensions (got shape "
                       f"{tuple(b.shape)}); a vector b is the matrix b.unsqueeze(-1)")
    if b.dtype != ld.dtype:
        raise LinAlgInputError(f"Expected b and A to have the same dtype, but found b of type {D.dtype_name(b.dtype)} "
                               f"and A of type {D.dtype_name(ld.dtype)} instead.")
    n = ld.shape[-1]
    if b.shape[-2] != n:
        raise LinAlgInputError(f"Incompatible matrix sizes for {fn}: each A matrix is {n} by {n} but each b matrix is "
                               f"{b.shape[-2]} by {b.shape[-1]}")
    if tuple(piv.shape) != tuple(ld.shape[:-1]):
        raise LinAlgInputError(f"{fn}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                               f"shape {list(piv.shape)} instead")
    if piv.dtype.kind not in "iu":
        raise LinAlgInputError(f"{fn}: Expected pivots to be integers. Got {D.dtype_name(piv.dtype)}")
    batch = D.batch_shape(fn, ld.shape[:-2], b.shape[:-2])
    p = to_numpy(piv.data)
    if ((p == 0) | (abs(p) > n)).any():
        raise LinAlgInputError("Pivots given to ldl_solve must all satisfy 1 <= |pivot| <= LD.size(-2). Did you "
                               "properly pass the result of ldl_factor?")
    k = b.shape[-1]
    out = host.empty(batch + (n, k), dtype=ld.dtype)
    if out.size:
        sytrs = lapack(fn, "sytrs", to_numpy(ld.data))
        lds = host.broadcast_to(to_numpy(ld.data), batch + (n, n)).reshape((-1, n, n))
        ps = host.broadcast_to(p.astype(host.int32), batch + (n,)).reshape((-1, n))
        bs = host.broadcast_to(to_numpy(b.data), batch + (n, k)).reshape((-1, n, k))
        flat = out.reshape((-1, n, k))
        for i in range(len(flat)):
            flat[i] = sytrs(lds[i], ps[i], bs[i], lower=1)[0]
    return _not_differentiable(xp.asarray(out), "linalg_ldl_solve", ld, b)


# ---------------------------------------------------------------- Householder products
def householder_product(A, tau):
    """Q = H₁ H₂ … H_k, the first n columns (``torch.linalg.householder_product``, LAPACK's orgqr):
    A (…, m, n), m ≥ n, holds the reflectors' vectors below its diagonal (vᵢ = (0, …, 0, 1, A[i+1:, i]))
    and τ (…, k), k ≤ n, their scales: Hᵢ = I − τᵢ vᵢ vᵢᵀ. Composed (Q ← Q − τᵢ vᵢ (vᵢᵀ Q), from the
    last reflector to the first), so Ā (nonzero only below A's diagonal) and τ̄ come from the products."""
    fn = "torch.linalg.householder_product"
    a, t = _as_tensor(A), _as_tensor(tau)
    if a.ndim < 2:
        raise LinAlgInputError(f"{fn}: input must have at least 2 dimensions (got shape {tuple(a.shape)}).")
    if t.ndim < 1:
        raise DimError(f"{fn}: Dimension specified as -1 but tau has no dimensions (a 0-d tensor): tau holds one "
                       f"scale per reflector, shape (…, k)")
    m, n = a.shape[-2:]
    k = t.shape[-1]
    if m < n:
        raise LinAlgInputError(f"{fn}: input.shape[-2] must be greater than or equal to input.shape[-1] (got "
                               f"{m} < {n})")
    if n < k:
        raise LinAlgInputError(f"{fn}: input.shape[-1] must be greater than or equal to tau.shape[-1] (got {n} < {k})")
    if t.ndim != a.ndim - 1:
        raise LinAlgInputError(f"{fn}: Expected tau to have one dimension less than input, but got tau.ndim equal "
                               f"to {t.ndim} and input.ndim is equal to {a.ndim}")
    if tuple(t.shape[:-1]) != tuple(a.shape[:-2]):
        raise LinAlgInputError(f"{fn}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                               f"{list(t.shape[:-1])}")
    if t.dtype != a.dtype:
        raise LinAlgInputError(f"{fn}: tau dtype {D.dtype_name(t.dtype)} does not match input dtype "
                               f"{D.dtype_name(a.dtype)}")
    lapack_dtype("orgqr_cpu", a, fn, "input")
    q = xp.broadcast_to(xp.eye(m, n, dtype=a.dtype), a.shape)
    if not k:  # on the tape with a zero gradient when A requires grad, as PyTorch's Q
        return where(xp.zeros(a.shape, dtype=bool), a, q)
    v = where(xp.eye(m, k, dtype=bool), xp.ones((), dtype=a.dtype), tril(a[..., :, :k], -1))
    for i in reversed(range(k)):
        vi = v[..., :, i:i + 1]
        q = sub(q, unsqueeze(t[..., i:i + 1], -1) * matmul(vi, matmul(swapaxes(vi, -1, -2), q)))  # (q: first an array)
    return q


def orgqr(input, tau):  # noqa: A002 - torch's name
    """``torch.orgqr``: ``linalg.householder_product(input, tau)``."""
    return householder_product(input, tau)


__all__ = ["CholeskyExResult", "InvExResult", "LDLFactorExResult", "LDLFactorResult", "SolveExResult",
           "cholesky_ex", "householder_product", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "orgqr",
           "solve_ex"]
