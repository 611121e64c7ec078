"""``rg.linalg``'s LU family: ``lu_factor``, ``lu_factor_ex``, ``lu``, ``lu_solve`` and the top-level
``rg.lu_unpack``, with PyTorch's semantics (1-based int32 pivots, ``info`` codes, named results).

One primitive op, ``LUFactor``: A (…, m, n) ↦ the packed factors LU (…, m, n) of A = P L U, L unit
lower (m × k), U upper (k × n), k = min(m, n), from LAPACK's getrf (partial pivoting, through SciPy,
imported when first needed). Its rules are PyTorch's ``linalg_lu_backward`` and ``linalg_lu_jvp``;
for a square A, with G the cotangent of the packed LU and L̄ = tril(G, −1), Ū = triu(G) the parts of
it that reach L and U:

    Ā = P L⁻ᵀ [tril(Lᵀ L̄, −1) + triu(Ū Uᵀ)] U⁻ᵀ;     with K̇ = L⁻¹ Pᵀ Ȧ U⁻¹:  L̇ = L tril(K̇, −1),  U̇ = triu(K̇) U

(the derivative of A = P L U at a fixed P: the permutation is piecewise constant). A wide A
(m < n, U = [U₁ | U₂]) or a tall one (m > n, L = [L₁; L₂]) carries its extra block through: see
``LUFactor``. The rules divide by U's diagonal: a backward pass through the LU of an exactly
singular matrix raises ``LinAlgError`` (PyTorch's gives inf and NaN).

Everything else is composed, so gradients come from the parts: ``lu`` and ``lu_unpack`` take L
and U out of LU with ``tril``/``triu``; ``lu_solve`` is two triangular solves (``linalg.solve`` on
the triangles, as ``solve_triangular``) and a product with the constant P, so its gradient with
respect to LU and B is the solves' (PyTorch's ``linalg_lu_solve_LU`` is the same derivative).

Where a factorisation met an exactly zero pivot (``info`` > 0), or a matrix holds a NaN (``lu_solve``
and ``solve_ex``: or an infinity), ``lu_solve`` (and ``solve_ex``/``inv_ex``, in ``linalg_extra``) give
LAPACK's values there (inf and NaN, as PyTorch) as constants: those matrices get a zero gradient.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import NamedTuple

from ..autograd.backend import host, to_numpy, xp
from ..autograd.op import OpError, UnaryOp
from ..autograd.tensor import Tensor, _wrap
from . import linalg_decompositions as D
from .elementwise import where
from .linalg import matmul
from .linalg_decompositions import LinAlgError, LinAlgInputError, _mT, _narrow, _pad_last, _tril, _triu
from .rearrange import _as_tensor, tril, triu
from .shape import reshape, swapaxes


class LinAlgNotImplemented(OpError, NotImplementedError):
    """A dtype PyTorch has no LAPACK kernel for (integers, booleans, float16): ``NotImplementedError``,
    as PyTorch raises; also an ``OpError``."""


# ---------------------------------------------------------------- LAPACK on the host, matrix by matrix
def lapack(fn: str, name: str, a):
    """SciPy's LAPACK routine ``name`` (getrf, getrs, sytrf …) for the dtype of ``a``, imported when
    first needed, with a clear error when SciPy is missing (retrograd's core needs NumPy only)."""
    try:
        from scipy.linalg import lapack as _lapack
    except ImportError as e:
        raise ImportError(f"{fn} needs SciPy for LAPACK's {name}: pip install scipy, or pip install "
                          f"'retrograd[speed]'") from e
    return _lapack.get_lapack_funcs((name,), (a,))[0]


def _first_zero_pivot(u_diagonal):
    """PyTorch's ``info``: 1 + the index of the first exactly zero diagonal entry of U, or 0 (a NaN is
    not zero: LAPACK's getrf in PyTorch reports none there)."""
    zero = u_diagonal == 0
    first = zero.argmax(axis=-1) + 1 if zero.shape[-1] else host.zeros(zero.shape[:-1], dtype=host.int64)
    return host.where(zero.any(axis=-1), first, 0).astype(host.int32)


def _getf2(a):
    """LAPACK's unblocked LU (getf2) of one host matrix holding a NaN, with the reference BLAS's idamax
    (the first largest |aᵢⱼ|; a NaN wins only where it comes first), as PyTorch's LAPACK does: the NaN
    spreads through the factors instead of being passed over (SciPy's OpenBLAS skips it). Returns
    (LU, 0-based pivots, 0) as SciPy's getrf."""
    lu = host.array(a, copy=True)
    k = min(lu.shape)
    rows = host.arange(k, dtype=host.int32)
    for j in range(k):
        column = host.abs(lu[j:, j])
        p = j if host.isnan(column[0]) else j + int(host.argmax(host.where(host.isnan(column), -host.inf, column)))
        rows[j] = p
        lu[[j, p]] = lu[[p, j]]
        if lu[j, j] != 0:  # (a NaN pivot divides too)
            lu[j + 1:, j] /= lu[j, j]
        lu[j + 1:, j + 1:] -= host.outer(lu[j + 1:, j], lu[j, j + 1:])
    return lu, rows, 0


def lu_arrays(fn: str, a):
    """(LU, pivots, info) of each matrix of ``a`` (…, m, n): LAPACK's getrf on the host. LU packs L's
    strict lower part (its unit diagonal implied) over U; pivots (…, k) are 1-based int32 row
    interchanges (row i was swapped with row pivots[i] − 1, in order); info (…) int32."""
    a = to_numpy(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    lu = host.array(a, copy=True)
    pivots = host.empty(a.shape[:-2] + (k,), dtype=host.int32)
    pivots[...] = host.arange(1, k + 1, dtype=host.int32)
    if lu.size:
        getrf = lapack(fn, "getrf", lu)
        flat_lu, flat_pivots = lu.reshape((-1, m, n)), pivots.reshape((-1, k))
        for i, matrix in enumerate(flat_lu):
            factors, rows, _ = _getf2(matrix) if host.isnan(matrix).any() else getrf(matrix)
            flat_lu[i], flat_pivots[i] = factors, rows + 1  # SciPy's are 0-based, PyTorch's 1-based
    info = _first_zero_pivot(host.diagonal(lu[..., :k, :k], axis1=-2, axis2=-1))
    return xp.asarray(lu), xp.asarray(pivots), xp.asarray(info)


def lu_solve_arrays(fn: str, lu, pivots, b, trans=0):
    """A⁻¹B (``trans=1``: A⁻ᵀB) from the packed factors of A: LAPACK's getrs on the host, batch
    dims broadcast. No check: an exactly singular U gives inf and NaN, as PyTorch's."""
    lu, pivots, b = to_numpy(lu), to_numpy(pivots), to_numpy(b)
    batch = host.broadcast_shapes(lu.shape[:-2], b.shape[:-2])
    n, k = lu.shape[-1], b.shape[-1]
    out = host.empty(batch + (n, k), dtype=lu.dtype)
    if out.size:
        getrs = lapack(fn, "getrs", lu)
        lus = host.broadcast_to(lu, batch + (n, n)).reshape((-1, n, n))
        rows = host.broadcast_to(pivots, batch + (n,)).reshape((-1, n))
        bs = host.broadcast_to(b, batch + (n, k)).reshape((-1, n, k))
        flat = out.reshape((-1, n, k))
        for i in range(len(flat)):
            flat[i] = getrs(lus[i], rows[i] - 1, bs[i], trans=trans)[0]
    return xp.asarray(out)


def nan_where_nan(values, source):
    """LAPACK's ``values``, NaN throughout each matrix whose ``source`` (…, n, n) holds a NaN: PyTorch's
    LAPACK carries a NaN pivot through the whole solve, SciPy's may stop at it and give infinities."""
    nan = xp.isnan(xp.asarray(source)).any(axis=(-2, -1))[..., None, None]
    return xp.where(nan, xp.asarray(xp.nan, dtype=values.dtype), values)


def permutation_matrix(pivots, m, dtype):
    """P (…, m, m) from getrf's 1-based pivots (…, k), A = P L U: the interchanges composed into a
    permutation ``perm`` (row j of L U is row perm[j] of A), then P[perm[j], j] = 1 (as
    ``torch.lu_unpack``)."""
    pivots = to_numpy(pivots)
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    count = math.prod(batch)  # (a reshape to -1 is ambiguous for empty matrices)
    perm = host.array(host.broadcast_to(host.arange(m), batch + (m,))).reshape((count, m))
    swaps = pivots.reshape((count, k)).astype(host.int64) - 1
    rows = host.arange(len(perm))
    for i in range(k):
        j = swaps[:, i]
        perm[rows, i], perm[rows, j] = perm[rows, j], perm[rows, i].copy()
    p = perm.reshape(batch + (1, m)) == host.arange(m)[:, None]
    return xp.asarray(p.astype(dtype))


# ---------------------------------------------------------------- the primitive: A ↦ packed LU
def _unit_lower(ns, lu, k):
    """L = tril(LU[…, :k], −1) + I (m × k): unit lower triangular."""
    m = lu.shape[-2]
    return _tril(ns, _narrow(ns, lu, -1, k), -1) + xp.eye(m, k, dtype=ns.value(lu).dtype)


def _times_inverse_transpose(ns, x, u):
    """X U⁻ᵀ = (U⁻¹ Xᵀ)ᵀ."""
    return _mT(ns, ns.linalg_solve(u, _mT(ns, x)))


def _tail(ns, x, axis, start):
    """The entries from ``start`` on along ``axis`` (−1 or −2)."""
    index = (Ellipsis, slice(start, None)) if axis == -1 else (Ellipsis, slice(start, None), slice(None))
    return ns.getitem(x, index)


@contextmanager
def _nonsingular_u(what):
    """LAPACK's refusal of an exactly singular U in a rule's solves, as ``LinAlgError`` naming the op."""
    try:
        yield
    except D._LapackError:
        raise LinAlgError(f"{what} of linalg.lu_factor: U has an exact zero on its diagonal (A, or the leading "
                          f"min(m, n) columns or rows of it, is singular), and the derivative of the LU factorisation "
                          f"divides by it (PyTorch's gives inf and NaN)") from None


class LUFactor(UnaryOp):
    """LU = lu_factor(A): A (…, m, n) = P L U with partial pivoting (LAPACK's getrf), packed as
    tril(L, −1) + U; the pivots, info and P are kept in ``saved`` (P for the rules, the others for
    ``lu_factor``'s result). With G the cotangent of LU, L̄ = tril(G[:, :k], −1), Ū = triu(G[:k]) (PyTorch's
    ``linalg_lu_backward``; L₁, U₁ the leading k × k blocks):

        m = n:  Ā = P L⁻ᵀ [tril(LᵀL̄, −1) + triu(ŪUᵀ)] U⁻ᵀ
        m < n:  Ā = P L⁻ᵀ [X U₁⁻ᵀ + Ū₁ | Ū₂],  X = tril(LᵀL̄ − ŪUᵀ, −1)
        m > n:  Ā = P [L₁⁻ᵀ Y + L̄₁ ; L̄₂] U⁻ᵀ,  Y = triu(ŪUᵀ − LᵀL̄)

    and with K̇ = L₁⁻¹ (PᵀȦ)₁ U₁⁻¹ (``linalg_lu_jvp``): L̇₁ = L₁ tril(K̇, −1), U̇₁ = triu(K̇) U₁, plus
    U̇₂ = L₁⁻¹(PᵀȦ)₂ − tril(K̇, −1) U₂ (wide) or L̇₂ = (PᵀȦ)₂ U₁⁻¹ − L₂ triu(K̇) (tall); the packed
    tangent is L̇ + U̇. Solves and products only, so differentiable again."""
    name = "linalg_lu_factor"
    __slots__ = ()
    save_inputs, save_ans = (), True

    def forward(self, a):
        lu, pivots, info = lu_arrays("linalg.lu_factor", a)
        self.save(P=permutation_matrix(pivots, a.shape[-2], a.dtype), pivots=pivots, info=info)
        return lu

    def vjp(self, ns, g, lu, a):
        with _nonsingular_u("backward"):
            return self._vjp(ns, g, lu)

    def jvp(self, ns, ts, lu, a):
        with _nonsingular_u("forward-mode derivative"):
            return self._jvp(ns, ts, lu)

    def _vjp(self, ns, g, lu):
        m, n = lu.shape[-2:]
        k = min(m, n)
        l, u = _unit_lower(ns, lu, k), _triu(ns, _narrow(ns, lu, -2, k))
        gl, gu = _tril(ns, _narrow(ns, g, -1, k), -1), _triu(ns, _narrow(ns, g, -2, k))
        lt_gl, gu_ut = ns.matmul(_mT(ns, l), gl), ns.matmul(gu, _mT(ns, u))
        if m == n:
            ga = _times_inverse_transpose(ns, _tril(ns, lt_gl, -1) + _triu(ns, gu_ut), u)
            ga = ns.linalg_solve(_mT(ns, l), ga)
        elif m < n:
            x = _times_inverse_transpose(ns, _tril(ns, lt_gl - gu_ut, -1), _narrow(ns, u, -1, k))
            ga = ns.linalg_solve(_mT(ns, l), ns.concatenate([x + _narrow(ns, gu, -1, k), _tail(ns, gu, -1, k)], -1))
        else:
            y = ns.linalg_solve(_mT(ns, _narrow(ns, l, -2, k)), _triu(ns, gu_ut - lt_gl))
            ga = _times_inverse_transpose(ns, ns.concatenate([y + _narrow(ns, gl, -2, k), _tail(ns, gl, -2, k)], -2), u)
        return (ns.matmul(self.saved["P"], ga),)

    def _jvp(self, ns, ts, lu):
        m, n = lu.shape[-2:]
        k = min(m, n)
        l, u = _unit_lower(ns, lu, k), _triu(ns, _narrow(ns, lu, -2, k))
        l1, u1 = _narrow(ns, l, -2, k), _narrow(ns, u, -1, k)
        pt_da = ns.matmul(xp.swapaxes(self.saved["P"], -1, -2), ts[0])
        dk = _times_inverse_transpose(ns, ns.linalg_solve(l1, _narrow(ns, _narrow(ns, pt_da, -2, k), -1, k)),
                                      _mT(ns, u1))  # L₁⁻¹ (PᵀȦ)₁ U₁⁻¹
        dl1, du1 = ns.matmul(l1, _tril(ns, dk, -1)), ns.matmul(_triu(ns, dk), u1)
        if m == n:
            return dl1 + du1
        if m < n:
            du2 = ns.linalg_solve(l1, _tail(ns, pt_da, -1, k)) - ns.matmul(_tril(ns, dk, -1), _tail(ns, u, -1, k))
            return _pad_last(ns, dl1, n - k, -1) + ns.concatenate([du1, du2], -1)
        dl2 = _times_inverse_transpose(ns, _tail(ns, pt_da, -2, k), _mT(ns, u1)) - ns.matmul(_tail(ns, l, -2, k),
                                                                                              _triu(ns, dk))
        return ns.concatenate([dl1, dl2], -2) + _pad_last(ns, du1, m - k, -2)


# ---------------------------------------------------------------- results
class LUFactorResult(NamedTuple):
    """``lu_factor``'s result: the packed factors and the 1-based int32 pivots."""
    LU: Tensor
    pivots: Tensor


class LUFactorExResult(NamedTuple):
    """``lu_factor_ex``'s result: ``lu_factor``'s, and ``info`` (int32, per matrix): 0, or i > 0
    when U[i−1, i−1] is exactly zero (the factorisation is complete, U singular)."""
    LU: Tensor
    pivots: Tensor
    info: Tensor


class LUResult(NamedTuple):
    """``linalg.lu``'s result: A = P L U."""
    P: Tensor
    L: Tensor
    U: Tensor


class LUUnpackResult(NamedTuple):
    """``lu_unpack``'s result: A = P L U (empty tensors for the parts not asked for)."""
    P: Tensor
    L: Tensor
    U: Tensor


# ---------------------------------------------------------------- checks with PyTorch's messages
def _at_least_2d(fn, x, what="tensor"):
    if x.ndim < 2:
        raise LinAlgInputError(f"{fn}: Expected {what} with 2 or more dimensions. Got size: {list(x.shape)} instead; "
                               f"a vector v is the matrix v.unsqueeze(-1)")


def lapack_dtype(kernel, x, fn, name="A", integers=True):
    """``x`` if LAPACK can take it (float32, float64); PyTorch's ``NotImplementedError`` for float16
    and (``integers``) integers and booleans, naming its kernel; else ``linalg.floating``'s refusal
    (``RuntimeError``; complex too: retrograd's linear algebra is real)."""
    kind = x.dtype.kind
    if (kind == "f" and x.dtype.itemsize < 4) or (integers and kind in "iub"):
        raise LinAlgNotImplemented(f"\"{kernel}\" not implemented for '{D.dtype_name(x.dtype)}' ({fn}: {name} of "
                                   f"shape {tuple(x.shape)}); convert it first, e.g. {name}.double()")
    return D.floating(fn, x, name)


def _pivoting(pivot):
    if not pivot:
        raise LinAlgInputError("linalg.lu_factor: LU without pivoting is not implemented on the CPU (retrograd "
                               "factorises with LAPACK's getrf); use pivot=True")


def failed_at(info):
    """'(Batch element i): ' for the first failing matrix of a batch (an ``info`` of ndim > 0), as
    PyTorch prefixes its messages; '' for a single matrix. ``info`` is a host array."""
    if info.ndim == 0:
        return "", int(info)
    i = int(host.argmax(info.reshape(-1) > 0))
    return f"(Batch element {i}): ", int(info.reshape(-1)[i])


def _zero_pivot_error(fn, info):
    where_, i = failed_at(to_numpy(info))
    return LinAlgError(f"{fn}: {where_}U[{i},{i}] is zero and using it on lu_solve would result in a division by "
                       f"zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) "
                       f"or linalg.lu_factor_ex(A, pivot)")


def _factorise(fn, dim_fn, A, pivot):
    """The LUFactor op on A, after PyTorch's checks (dims, dtype, pivot): (LU, pivots, info)."""
    a = _as_tensor(A)
    _at_least_2d(dim_fn, a)
    lapack_dtype("lu_cpu", a, fn)
    _pivoting(pivot)
    op = LUFactor()
    lu = op(a)
    return lu, _wrap(op.saved["pivots"]), _wrap(op.saved["info"])


# ---------------------------------------------------------------- the functions
def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info) of A (…, m, n) = P L U (``torch.linalg.lu_factor_ex``): LAPACK's getrf with
    partial pivoting; LU packs L's strict lower part (unit diagonal implied) over U; pivots (…, k)
    are 1-based int32 row interchanges; info (int32) is i > 0 where U[i−1, i−1] is exactly 0 (raised
    as ``LinAlgError`` only with ``check_errors``). Differentiable in LU (``LUFactor``).
    ``pivot=False`` is refused (as PyTorch on the CPU)."""
    lu, pivots, info = _factorise("torch.linalg.lu_factor_ex", "torch.lu_factor", A, pivot)
    if check_errors and bool((info.data > 0).any()):
        raise _zero_pivot_error("torch.linalg.lu_factor_ex", info.data)
    return LUFactorExResult(lu, pivots, info)


def lu_factor(A, *, pivot=True):
    """(LU, pivots) of A = P L U (``torch.linalg.lu_factor``), for ``lu_solve`` and ``lu_unpack``;
    an exactly singular U raises ``LinAlgError`` (``lu_factor_ex`` reports it in ``info`` instead).
    LU's cotangent reaches A by PyTorch's ``linalg_lu_backward`` (``LUFactor``)."""
    lu, pivots, info = _factorise("torch.linalg.lu_factor", "torch.lu_factor", A, pivot)
    if bool((info.data > 0).any()):
        raise _zero_pivot_error("torch.linalg.lu_factor", info.data)
    return LUFactorResult(lu, pivots)


def _unpacked(lu):
    """(L, U) of packed factors: L = tril(LU[…, :k], −1) with ones on its diagonal, U = triu(LU[…, :k, :]),
    any dtype; their gradients reach LU's two triangles."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    l_part = lu if k == n else lu[..., :, :k]
    u_part = lu if k == m else lu[..., :k, :]
    l = where(xp.eye(m, k, dtype=bool), xp.ones((), dtype=lu.dtype), tril(l_part, -1))
    return l, triu(u_part)


def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U (``torch.linalg.lu``): P (…, m, m) a permutation (A's dtype, no
    gradient), L (…, m, k) unit lower triangular, U (…, k, n) upper triangular, k = min(m, n). A
    singular A is factorised too. Its gradient is PyTorch's (``LUFactor`` behind ``lu_unpack``)."""
    lu_, pivots, _ = _factorise("linalg.lu", "linalg.lu", A, pivot)
    l, u = _unpacked(lu_)
    return LUResult(_wrap(permutation_matrix(pivots.data, lu_.shape[-2], lu_.dtype)), l, u)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803 - torch's names
    """(P, L, U) from ``lu_factor``'s result (``torch.lu_unpack``): L = tril(LU, −1) + I (…, m, k),
    U = triu(LU) (…, k, n), P (…, m, m) from the pivots; any dtype of LU. ``unpack_data=False`` /
    ``unpack_pivots=False`` give empty tensors for L, U / P. L̄ and Ū reach LU's triangles."""
    fn = "torch.lu_unpack"
    lu_ = _as_tensor(LU_data)
    _at_least_2d(fn, lu_)
    m, n = lu_.shape[-2:]
    empty = _wrap(xp.zeros((0,), dtype=lu_.dtype))
    p = empty
    if unpack_pivots:
        pivots = _as_tensor(LU_pivots)
        if pivots.dtype != xp.int32:
            raise LinAlgInputError(f"{fn}: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype (got "
                                   f"{D.dtype_name(pivots.dtype)}).\nNote: this function is intended to be used with "
                                   f"the output produced by torch.linalg.lu_factor")
        if bool(((pivots.data < 1) | (pivots.data > m)).any()):
            raise LinAlgInputError(f"pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive (1 and "
                                   f"{m}). Did you properly pass the result of lu_factor?")
        expected = tuple(lu_.shape[:-2]) + (min(m, n),)
        if tuple(pivots.shape) != expected:  # PyTorch reads past the pivots it was given
            raise LinAlgInputError(f"{fn}: LU_pivots of shape {tuple(pivots.shape)} do not fit LU of shape "
                                   f"{tuple(lu_.shape)}: expected {expected} (LU's batch dims and min(m, n) pivots)")
        p = _wrap(permutation_matrix(pivots.data, m, lu_.dtype))
    if not unpack_data:  # empty, on the tape when LU is (as PyTorch's)
        nothing = reshape(lu_, (-1,))[:0]
        return LUUnpackResult(p, nothing, nothing)
    l, u = _unpacked(lu_)
    return LUUnpackResult(p, l, u)


def _solver_shapes(fn, a, b, left):
    """PyTorch's ``checkInputsSolver``: B has ≥ 2 dims and fits A for AX = B (XA = B)."""
    if b.ndim < 2:
        raise LinAlgInputError(f"{fn}: The input tensor B must have at least 2 dimensions (got shape "
                               f"{tuple(b.shape)}); a vector b is the matrix b.unsqueeze(-1)")
    n = a.shape[-1]
    if b.shape[-2 if left else -1] != n:
        shape = "x".join(str(s) for s in a.shape[-2:]), "x".join(str(s) for s in b.shape[-2:])
        raise LinAlgInputError(f"{fn}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'}"
                               f" ({shape[0]} and {shape[1]})")


def singular_or_nonfinite(lu):
    """Which packed factorisations (a host bool array over the batch) a triangular solve cannot use:
    a zero on U's diagonal, or a NaN or infinity anywhere."""
    d = to_numpy(lu)
    return (host.diagonal(d, axis1=-2, axis2=-1) == 0).any(axis=-1) | ~host.isfinite(d).all(axis=(-2, -1))


def lapack_where(bad, values, solved):
    """``solved`` (on the tape), with LAPACK's ``values`` (constants: inf, NaN) in the matrices ``bad``
    marks (a host mask over the leading batch dims, broadcast)."""
    mask = xp.asarray(bad)[..., None, None]
    return where(xp.broadcast_to(mask, solved.shape), xp.asarray(values, dtype=solved.dtype), solved)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):  # noqa: N803 - torch's names
    """X with A X = B (``left=False``: X A = B; ``adjoint``: Aᵀ instead of A) from A's ``lu_factor``
    (``torch.linalg.lu_solve``), batch dims broadcast. With A = P L U, A X = B is X = U⁻¹ L⁻¹ Pᵀ B,
    two triangular solves (``linalg.solve`` on the triangles of LU) and a product with the constant
    P: LU's gradient is theirs on its two triangles, B̄ = lu_solve(LU, pivots, X̄, adjoint=not adjoint).
    Where U has a zero pivot the values are LAPACK's (inf, NaN; a zero gradient there)."""
    fn = "linalg.lu_solve"
    lu_, piv, b = _as_tensor(LU), _as_tensor(pivots), _as_tensor(B)
    lapack_dtype("linalg.lu_solve_cpu", lu_, "torch.linalg.lu_solve", "LU", integers=False)
    D.same_dtype(fn, lu_, b, ("LU", "B"))
    if piv.dtype != xp.int32:
        raise LinAlgInputError(f"{fn}: pivots should be a Tensor of scalar type torch.int32 (got "
                               f"{D.dtype_name(piv.dtype)}): pass lu_factor's pivots")
    D.matrices("torch.linalg.lu_solve", lu_, dtype=False)
    _solver_shapes(fn, lu_, b, left)
    n = lu_.shape[-1]
    if piv.ndim == 0 or piv.shape[-1] != n:
        raise LinAlgInputError(f"{fn}: Number of pivots per batch should be same as the dimension of the matrix "
                               f"({n}; got pivots of shape {tuple(piv.shape)})")
    if tuple(piv.shape) != tuple(lu_.shape[:-1]):
        raise LinAlgInputError(f"{fn}: Expected LU.shape[:-1] and pivots.shape to be the same, but got pivots with "
                               f"shape {list(piv.shape)} instead")
    D.batch_shape(fn, lu_.shape[:-2], b.shape[:-2])
    if bool((piv.data < 1).any()):
        raise LinAlgInputError("Pivots given to lu_solve must all be greater or equal to 1. Did you properly pass "
                               "the result of lu_factor?")
    if bool((piv.data > n).any()):
        raise LinAlgInputError("Pivots given to lu_solve must all be smaller or equal to LU.size(-2). Did you "
                               "properly pass the result of lu_factor?")
    # X A = B is Aᵀ Xᵀ = Bᵀ: the left solve with the other transposition, transposed back.
    transposed = not left
    rhs = swapaxes(b, -1, -2) if transposed else b
    trans = adjoint != transposed  # solve with Aᵀ
    bad = singular_or_nonfinite(lu_.data)
    factors = where(xp.asarray(bad)[..., None, None], xp.eye(n, dtype=lu_.dtype), lu_) if bad.any() else lu_
    l, u = _unpacked(factors)
    p = permutation_matrix(piv.data, n, lu_.dtype)
    if trans:  # Aᵀ = Uᵀ Lᵀ Pᵀ: X = P L⁻ᵀ U⁻ᵀ B
        x = matmul(p, D.Solve()(swapaxes(l, -1, -2), D.Solve()(swapaxes(u, -1, -2), rhs)))
    else:  # X = U⁻¹ L⁻¹ Pᵀ B
        x = D.Solve()(u, D.Solve()(l, matmul(xp.swapaxes(p, -1, -2), rhs)))
    if bad.any():
        values = nan_where_nan(lu_solve_arrays(fn, lu_.data, piv.data, rhs.data, int(trans)), lu_.data)
        x = lapack_where(bad, values, x)
    return swapaxes(x, -1, -2) if transposed else x


__all__ = ["LUFactor", "LUFactorExResult", "LUFactorResult", "LUResult", "LUUnpackResult", "LinAlgNotImplemented",
           "lu", "lu_factor", "lu_factor_ex", "lu_solve", "lu_unpack"]
