"""The primitive ops of ``rg.linalg``: a table of matrix derivatives, each op's forward, vjp and jvp
side by side.

The forwards call LAPACK through ``backend.xp.linalg`` (NumPy's ``numpy.linalg``): no factorisation
is written by hand here. The derivative rules are those of the literature:

- Giles 2008, "An extended collection of matrix derivative results for forward and reverse mode
  algorithmic differentiation" (inverse, solve, determinant, eigenvalues);
- Murray 2016, "Differentiation of the Cholesky decomposition" (arXiv:1602.07527);
- Seeger, Hetzel, Dai, Meissner & Lawrence 2017, "Auto-differentiating linear algebra"
  (arXiv:1710.08717) and Walter & Lehmann 2018, "On evaluating higher-order derivatives of the QR
  decomposition" (QR);
- Townsend 2016, "Differentiating the singular value decomposition", and Ionescu, Vantzos &
  Sminchisescu 2015, "Matrix backpropagation for deep networks with structured layers" (SVD, eigh);
- Golub & Pereyra 1973, "The differentiation of pseudo-inverses ..." (pinv);
- Higham 2005, "The scaling and squaring method for the matrix exponential revisited", and
  Najfeld & Havel 1995 / Mathias 1996 for its Fréchet derivative as a block-triangular exponential.

Conventions, shared by every rule:

- Leading dims are batch dims. The rules use only batched products, solves and masks aligned at the
  right, so a tangent with extra leading direction axes goes through them unchanged.
- Every vjp is written with the namespace ``ns`` (arrays, or ``rg`` ops under ``create_graph``),
  solves and inverses included (``ns.linalg_solve``, ``ns.linalg_inv`` …, registered below), so
  second derivatives come from the same rules.
- ``cholesky`` and ``eigh`` read one triangle of a symmetric matrix. Their derivatives are taken on
  symmetric matrices, as PyTorch's: the vjp returns a symmetric gradient and the jvp uses the
  tangent's symmetric part sym(Ȧ) = (Ȧ + Ȧᵀ)/2, so that the jvp is the exact transpose of the vjp.
  (A finite difference along a non-symmetric direction sees only the triangle read; check such
  functions on sym(A), as PyTorch's own tests do.)
- ``eigh``'s and ``svd``'s vectors are defined up to sign (a gauge): a loss must not depend on it
  (abs(U), U Uᵀ, U S Vᵀ do not). Their derivatives divide by gaps between eigenvalues (λⱼ − λᵢ) or
  squared singular values (σⱼ² − σᵢ²): not finite where the spectrum repeats (PyTorch documents the
  same), unless only the values are differentiated (``eigvalsh``, ``svdvals``).
"""

from __future__ import annotations

from ..autograd import backend as _backend
from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.namespaces import ARRAY_NS, TENSOR_NS
from ..autograd.op import BinaryOp, MultiOp, OpError, UnaryOp
from ..autograd.tensor import _wrap
from .reductions import ProdOthers

_LapackError = _backend.host.linalg.LinAlgError  # what NumPy (and CuPy) raise on a failed factorisation


class LinAlgError(OpError, RuntimeError):
    """A matrix the computation cannot use: singular (``inv``, ``solve``) or not positive-definite
    (``cholesky``). PyTorch's ``torch.linalg.LinAlgError``, a ``RuntimeError``; here also an
    ``OpError``."""


class LinAlgInputError(OpError, RuntimeError):
    """An ``rg.linalg`` function given the wrong shapes, dtypes or arguments: a ``RuntimeError``, as
    PyTorch raises, and an ``OpError``."""


# ---------------------------------------------------------------- input checks, with PyTorch's messages
_TORCH_DTYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char", "int16": "Short",
                      "int32": "Int", "int64": "Long", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                      "complex128": "ComplexDouble"}


def dtype_name(dtype) -> str:
    """PyTorch's name of a dtype (``Double`` for float64), as its error messages print it."""
    name = xp.dtype(dtype).name
    return _TORCH_DTYPE_NAMES.get(name, name)


def floating(fn, x, name="A"):
    """``x`` (a Tensor) if it is float32 or float64; PyTorch's refusal of other dtypes otherwise
    (complex, which PyTorch accepts, is refused too: retrograd's linalg is real)."""
    dt = x.dtype
    if dt.kind == "c":
        raise LinAlgInputError(f"{fn}: complex {name} ({dtype_name(dt)}) is not supported: retrograd's linear algebra "
                               f"is real; split it into real and imaginary parts")
    if dt.kind != "f":
        raise LinAlgInputError(f"{fn}: Expected a floating point or complex tensor as input. Got {dtype_name(dt)} "
                               f"({name} of shape {tuple(x.shape)}); convert it first, e.g. {name}.double()")
    if dt.itemsize < 4:
        raise LinAlgInputError(f"{fn}: Low precision dtypes not supported. Got {dtype_name(dt)}; convert {name} to "
                               f"float32 or float64 first, e.g. {name}.float()")
    return x


def matrices(fn, x, name="A", square=True, dtype=True):
    """``x`` if it is a (batch of) floating matrices (square ones with ``square``), refused with
    PyTorch's message otherwise; ``dtype=False`` skips the dtype check."""
    if x.ndim < 2:
        raise LinAlgInputError(f"{fn}: The input tensor {name} must have at least 2 dimensions (got shape "
                               f"{tuple(x.shape)}); a vector v is the matrix v.unsqueeze(-1)")
    if dtype:
        floating(fn, x, name)
    if square and x.shape[-1] != x.shape[-2]:
        raise LinAlgInputError(f"{fn}: {name} must be batches of square matrices, but they are {x.shape[-2]} by "
                               f"{x.shape[-1]} matrices")
    return x


def same_dtype(fn, a, b, names=("A", "B")):
    if a.dtype != b.dtype:
        raise LinAlgInputError(f"{fn}: Expected {names[0]} and {names[1]} to have the same dtype, but found "
                               f"{names[0]} of type {dtype_name(a.dtype)} and {names[1]} of type "
                               f"{dtype_name(b.dtype)} instead; convert one, e.g. {names[1]}.to({names[0]}.dtype)")


def batch_shape(fn, *shapes):
    """The broadcast of batch shapes, refused (naming them) when they do not broadcast."""
    try:
        return tuple(xp.broadcast_shapes(*shapes))
    except ValueError:
        raise LinAlgInputError(f"{fn}: the batch dimensions {' and '.join(str(tuple(s)) for s in shapes)} do not "
                               f"broadcast") from None


# ---------------------------------------------------------------- helpers: masks and products on arrays or Tensors
def _nan_where_nonfinite(a, result):
    """``result`` with NaN on every matrix of the batch whose input ``a`` holds a NaN or an infinity:
    a factorisation spreads a non-finite entry through the whole matrix, as PyTorch's LAPACK results
    do (NumPy's may leave some entries finite)."""
    bad = ~xp.isfinite(a).all(axis=(-2, -1))
    return xp.where(bad[..., None, None], xp.asarray(xp.nan, dtype=result.dtype), result) if bad.any() else result


def _mT(ns, a):
    return ns.swapaxes(a, -1, -2)


def _eye_mask(n):
    return xp.eye(n, dtype=bool)


def _diag(ns, x):
    """The diagonals of square matrices: (…, n, n) → (…, n)."""
    return ns.sum(ns.where(_eye_mask(x.shape[-1]), x, 0.0), axis=-1)


def _diag_embed(ns, d):
    """(…, n) → (…, n, n) with d on the diagonal, 0 elsewhere."""
    return ns.where(_eye_mask(d.shape[-1]), ns.expand_dims(d, -1), 0.0)


def _tril(ns, x, k=0):
    return ns.where(xp.tri(x.shape[-2], x.shape[-1], k, dtype=bool), x, 0.0)


def _triu(ns, x, k=0):
    return ns.where(~xp.tri(x.shape[-2], x.shape[-1], k - 1, dtype=bool), x, 0.0)


def _sym(ns, x):
    """sym(X) = (X + Xᵀ)/2: the part of a tangent a symmetric-input function sees."""
    return (x + _mT(ns, x)) * 0.5


def _halved_diagonal(ns, x, strict):
    """``strict`` (a mask of the strict triangle kept) plus the diagonal halved: Murray's Φ (lower)
    and QR's inverse of X ↦ X + Xᵀ on upper-triangular matrices."""
    n = x.shape[-1]
    return ns.where(strict, x, ns.where(_eye_mask(n), x * 0.5, 0.0))


def _unsqueeze2(ns, x):
    """A batch of numbers as a batch of 1×1 matrices (to scale matrices)."""
    return ns.expand_dims(ns.expand_dims(x, -1), -1)


def _pad_last(ns, x, extra, axis):
    """x with ``extra`` zeros appended along ``axis`` (−1 or −2)."""
    if not extra:
        return x
    widths = [(0, 0)] * len(x.shape)
    widths[axis] = (0, extra)
    return ns.pad(x, widths)


def _narrow(ns, x, axis, size):
    """The first ``size`` entries along ``axis`` (−1 or −2)."""
    if x is None or x.shape[axis] == size:
        return x
    index = (Ellipsis, slice(0, size)) if axis == -1 else (Ellipsis, slice(0, size), slice(None))
    return ns.getitem(x, index)


def _gaps(ns, values, square=False):
    """Eᵢⱼ = vⱼ − vᵢ (vⱼ² − vᵢ² with ``square``), 1 on the diagonal: the denominators of the
    eigenvector and singular-vector rules (a repeated value gives inf or NaN: no derivative)."""
    v = values * values if square else values
    return ns.where(_eye_mask(values.shape[-1]), 1.0, ns.expand_dims(v, -2) - ns.expand_dims(v, -1))


def _attached(ans, node):
    """A multi-output op's outputs as Tensors on the tape at ``node`` (for a differentiable vjp)."""
    out = []
    for i, a in enumerate(ans):
        t = _wrap(a, node)
        t._oi = i
        out.append(t)
    return tuple(out)


# ---------------------------------------------------------------- failures, as PyTorch reports them
def _factorised(fn, call, a, failure, probe=None):
    """``call(a)``; NumPy's LinAlgError becomes ``LinAlgError`` with PyTorch's message, naming the
    first failing matrix of a batch (found again with ``probe``, one matrix at a time)."""
    try:
        return call(a)
    except _LapackError:
        pass
    probe = probe or call
    where = ""
    if a.ndim > 2:
        for i, m in enumerate(a.reshape((-1,) + a.shape[-2:])):
            try:
                probe(m)
            except _LapackError:
                where, a = f"(Batch element {i}): ", m
                break
    raise LinAlgError(f"{fn}: {where}{failure(a)}")


def singular_mask(a):
    """Which matrices of a batch (an array) LAPACK cannot invert: a zero pivot."""
    flat = a.reshape((-1,) + a.shape[-2:])
    mask = xp.zeros(len(flat), dtype=bool)
    for i, m in enumerate(flat):
        try:
            xp.linalg.inv(m)
        except _LapackError:
            mask[i] = True
    return mask.reshape(a.shape[:-2])


def _singular(a):
    return ("The inversion could not be completed because the input matrix is singular (a zero pivot in its "
            "LU factorisation); linalg.pinv gives a least-squares inverse of a singular matrix.")


def _singular_solve(a):
    return ("The solver failed because the input matrix is singular; linalg.lstsq solves a singular system in "
            "the least-squares sense.")


def _not_positive_definite(a):
    """PyTorch's message, with the order of the first leading minor that is not positive-definite."""
    order = next((k for k in range(1, a.shape[-1] + 1) if not _cholesky_ok(a[:k, :k])), a.shape[-1])
    return (f"The factorization could not be completed because the input is not positive-definite (the leading "
            f"minor of order {order} is not positive-definite).")


def _cholesky_ok(m):
    try:
        xp.linalg.cholesky(m)
        return True
    except _LapackError:
        return False


# ---------------------------------------------------------------- inverse and solve (Giles 2008, §2.2.3 and §2.3.1)
class Inv(UnaryOp):
    """Y = A⁻¹;  Ā = −Yᵀ Ȳ Yᵀ;  Ẏ = −Y Ȧ Y  (Giles 2008, §2.2.3)

    Both rules are products with Y alone (the output is kept, not A), so they are differentiable
    to any order without factorising again."""
    name = "linalg_inv"
    __slots__ = ()
    save_inputs, save_ans = (), True

    def forward(self, a):
        return _factorised("linalg.inv", xp.linalg.inv, a, _singular)

    def vjp(self, ns, g, y, a):
        yt = _mT(ns, y)
        return (-ns.matmul(ns.matmul(yt, g), yt),)

    def jvp(self, ns, ts, y, a):
        return -ns.matmul(ns.matmul(y, ts[0]), y)


def _lifted(ns, t, shape, batch_ndim):
    """A tangent of an input of ``shape`` (its leading direction axes first) with size-1 batch axes
    inserted, so that it lines up with an output of ``batch_ndim`` batch axes."""
    lead = tuple(t.shape[:len(t.shape) - len(shape)])
    missing = batch_ndim - (len(shape) - 2)
    return ns.reshape(t, lead + (1,) * missing + tuple(shape)) if missing else t


class Solve(BinaryOp):
    """X = A⁻¹B  (A (…, n, n), B (…, n, k), batch dims broadcast);
    B̄ = A⁻ᵀ X̄,  Ā = −B̄ Xᵀ;  Ẋ = A⁻¹(Ḃ − Ȧ X)  (Giles 2008, §2.3.1)"""
    name, broadcasts = "linalg_solve", True
    aligns_tangents = False  # the batch axes are all but the last two: the rule lines them up
    __slots__ = ()
    save_inputs, save_ans = (0,), True

    def forward(self, a, b):
        x = _factorised("linalg.solve", lambda m: xp.linalg.solve(m, b), a, _singular_solve, xp.linalg.inv)
        return _nan_where_nonfinite(a, x)

    def vjp(self, ns, g, x, a, b):
        gb = ns.linalg_solve(_mT(ns, a), g)
        if ns is ARRAY_NS:
            gb = _nan_where_nonfinite(a, gb)
        ga = -ns.matmul(gb, _mT(ns, x)) if self.needs[0] else None
        return ga, (gb if self.needs[1] else None)

    def jvp(self, ns, ts, x, a, b):
        ta, tb = ts
        batch = len(x.shape) - 2
        r = None if tb is None else _lifted(ns, tb, b.shape, batch)
        if ta is not None:
            term = ns.matmul(_lifted(ns, ta, a.shape, batch), x)
            r = -term if r is None else r - term
        return ns.linalg_solve(a, r)


# ---------------------------------------------------------------- determinants (Giles 2008, §2.2.4)
def _cofactor(ns, a, d):
    """The cofactor matrix C of A (∂ det A / ∂A = C), given d = det A.

    C = d·A⁻ᵀ where A is invertible; where abs(d) < 100ε (singular or nearly), from the SVD
    A = U Σ Vᵀ: C = det(U) det(Vᵀ) · U diag(Πⱼ≠ᵢ σⱼ) Vᵀ (Higham, "What is the adjugate of a
    matrix?" 2020), exact at a singular matrix too: PyTorch's rule under ``create_graph``."""
    av, dv = ns.value(a), ns.value(d)
    if not av.size:
        return a
    if av.shape[-1] == 1:  # det of a 1×1 matrix is its entry: the cofactor is 1, whatever the entry (inf too)
        return xp.ones_like(av)
    singular = xp.abs(dv) < 100 * xp.finfo(av.dtype).eps
    if not singular.any():
        return _unsqueeze2(ns, d) * _mT(ns, ns.linalg_inv(a))
    if ns is TENSOR_NS or singular.all():
        return _svd_cofactor(ns, a)
    out = xp.empty_like(av)  # a batch with both kinds (first order): each formula where it applies
    ok = ~singular
    out[ok] = dv[ok][..., None, None] * xp.swapaxes(xp.linalg.inv(av[ok]), -1, -2)
    out[singular] = _svd_cofactor(ARRAY_NS, av[singular])
    return out


def _svd_cofactor(ns, a):
    u, s, vh = ns.linalg_svd(a)
    sign = xp.asarray(xp.linalg.det(ns.value(u)) * xp.linalg.det(ns.value(vh)))  # ±1: a constant
    axes = (len(s.shape) - 1,)
    others = ProdOthers(axes).forward(s) if ns is ARRAY_NS else ProdOthers(axes)(s)  # exact with zeros
    return ns.matmul(u * ns.expand_dims(others * sign[..., None], -2), vh)


class Det(UnaryOp):
    """d = det A;  Ā = d̄ · C,  ḋ = Σᵢⱼ Cᵢⱼ Ȧᵢⱼ, C the cofactor matrix (``_cofactor``): d·A⁻ᵀ for an
    invertible A (Giles 2008, §2.2.4), the adjugate's transpose from the SVD at a singular one —
    det is a polynomial, so its gradient there is finite: nonzero at rank n − 1, 0 below."""
    name = "linalg_det"
    __slots__ = ()
    save_inputs, save_ans = (0,), True

    def forward(self, a):
        return xp.linalg.det(a)

    def vjp(self, ns, g, d, a):
        return (_unsqueeze2(ns, g) * _cofactor(ns, a, d),)

    def jvp(self, ns, ts, d, a):
        return ns.sum(ns.sum(_cofactor(ns, a, d) * ts[0], axis=-1), axis=-1)


def _inverse_transpose(ns, a):
    """A⁻ᵀ; on arrays, at a singular A, C/det with C the cofactor matrix: inf or NaN entries
    (log abs(det) is −∞ there and has no derivative), as PyTorch's slogdet gives."""
    if ns is TENSOR_NS:
        return _mT(ns, ns.linalg_inv(a))
    try:
        return xp.swapaxes(xp.linalg.inv(a), -1, -2)
    except _LapackError:
        d = xp.linalg.det(a)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return _cofactor(ARRAY_NS, a, d) / xp.asarray(d)[..., None, None]


class LogAbsDet(UnaryOp):
    """l = log|det A| (slogdet's logabsdet);  Ā = l̄ · A⁻ᵀ;  l̇ = tr(A⁻¹ Ȧ) = Σᵢⱼ (A⁻ᵀ)ᵢⱼ Ȧᵢⱼ
    (Giles 2008, §2.2.4). The sign of det A is piecewise constant: no derivative."""
    name = "linalg_logabsdet"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, a):
        return xp.linalg.slogdet(a)[1]

    def vjp(self, ns, g, l, a):
        return (_unsqueeze2(ns, g) * _inverse_transpose(ns, a),)

    def jvp(self, ns, ts, l, a):
        return ns.sum(ns.sum(_inverse_transpose(ns, a) * ts[0], axis=-1), axis=-1)


# ---------------------------------------------------------------- Cholesky (Murray 2016)
def _phi(ns, x):
    """Φ(X): the lower triangle of X with its diagonal halved (Murray 2016)."""
    return _halved_diagonal(ns, x, xp.tri(x.shape[-1], x.shape[-1], -1, dtype=bool))


class Cholesky(UnaryOp):
    """L = chol(A): A = L Lᵀ with L lower triangular, read from A's lower triangle;
    Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹);  L̇ = L Φ(L⁻¹ sym(Ȧ) L⁻ᵀ), Φ the lower triangle with the diagonal
    halved (Murray 2016, eqs. 8 and 10; the symmetric convention of this module's docstring)."""
    name = "linalg_cholesky"
    __slots__ = ()
    save_inputs, save_ans = (), True

    def forward(self, a):
        l = _factorised("linalg.cholesky", xp.linalg.cholesky, a, _not_positive_definite)
        pivots = xp.diagonal(l, axis1=-2, axis2=-1)
        if xp.isnan(pivots).any():  # LAPACK's potrf stops at a NaN pivot (PyTorch raises); NumPy's gives NaN
            first = xp.argmax(xp.isnan(pivots).reshape(-1, pivots.shape[-1]).any(axis=-1)) if a.ndim > 2 else None
            where = "" if first is None else f"(Batch element {int(first)}): "
            order = int(xp.argmax(xp.isnan(pivots.reshape(-1, pivots.shape[-1])[0 if first is None else int(first)])))
            raise LinAlgError(f"linalg.cholesky: {where}The factorization could not be completed because the input is "
                              f"not positive-definite (the leading minor of order {order + 1} is not "
                              f"positive-definite).")
        return l

    def vjp(self, ns, g, l, a):
        lt = _mT(ns, l)
        y = ns.linalg_solve(lt, _phi(ns, ns.matmul(lt, g)))  # L⁻ᵀ Φ
        z = _mT(ns, ns.linalg_solve(lt, _mT(ns, y)))  # L⁻ᵀ Φ L⁻¹
        return (_sym(ns, z),)

    def jvp(self, ns, ts, l, a):
        m = ns.linalg_solve(l, _sym(ns, ts[0]))  # L⁻¹ S
        return ns.matmul(l, _phi(ns, ns.linalg_solve(l, _mT(ns, m))))  # L Φ(L⁻¹ S L⁻ᵀ), S symmetric


# ---------------------------------------------------------------- the multi-output factorisations
class _Factorisation(MultiOp):
    """QR, eigh and SVD: outputs that received no gradient reach the vjp as None (``svdvals`` and
    ``eigvalsh`` then take the short rule, with no division by gaps), and the vjp under
    ``create_graph`` is the same rule on Tensors."""
    __slots__ = ()
    materialize_grads = False

    def vjp_differentiable(self, gs):
        return self.vjp(TENSOR_NS, gs, _attached(self.ans, self), *self.input_tensors())


def _qr_not_differentiable(mode, q, r):
    m, n = (r.shape[-2], r.shape[-1]) if mode == "r" else (q.shape[-2], r.shape[-1])
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                           "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols "
                           "(the last m − n columns of Q are not determined by A); use mode='reduced'.")


class QR(_Factorisation):
    """(Q, R) = qr(A), A = Q R (Householder, LAPACK's geqrf: R's diagonal may be negative).

    m ≥ n, with M = R R̄ᵀ − Qᵀ Q̄ (Seeger et al. 2017; Walter & Lehmann 2018):
        Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ,  copyltu(M) = triu(M) + triu(M, 1)ᵀ;
        Ṙ = X R and Q̇ = Ȧ R⁻¹ − Q X, X = triu(S) with the diagonal halved, S = QᵀȦR⁻¹ + (QᵀȦR⁻¹)ᵀ.
    m < n (R = [R₁ | R₂], R₁ square):
        Ā = [Q tril(Mᵀ − M) R₁⁻ᵀ | 0] + Q R̄;
        Q̇ = Q K, K = Y − Yᵀ, Y = tril(Qᵀ Ȧ₁ R₁⁻¹, −1);  Ṙ = QᵀȦ − K R.
    ``mode='r'`` (no Q) and ``mode='complete'`` with m > n (Q's last columns undetermined) have no
    derivative: their rules raise, as PyTorch's."""
    name = "linalg_qr"
    __slots__ = ("mode",)
    save_inputs, save_ans = (), True

    def __init__(self, mode): self.mode = mode
    def extra_repr(self): return f"mode={self.mode!r}"

    def forward(self, a):
        if self.mode == "r":
            return xp.zeros((0,), dtype=a.dtype), xp.linalg.qr(a, mode="r")
        return tuple(xp.linalg.qr(a, mode=self.mode))

    def vjp(self, ns, gs, ans, a):
        gq, gr = gs
        q, r = ans
        _qr_not_differentiable(self.mode, q, r)
        m, n = q.shape[-2], r.shape[-1]
        if gr is not None:
            x = ns.matmul(gr, _mT(ns, r))
            if gq is not None:
                x = x - ns.matmul(_mT(ns, q), gq)
        else:
            x = -ns.matmul(_mT(ns, q), gq)
        if m >= n:
            y = _triu(ns, x)
            ga = ns.matmul(q, y + _mT(ns, _triu(ns, x, 1)))
            if gq is not None:
                ga = ga + gq
            return (_mT(ns, ns.linalg_solve(r, _mT(ns, ga))),)  # · R⁻ᵀ
        r1 = _narrow(ns, r, -1, m)
        ga = ns.matmul(q, _tril(ns, _mT(ns, x) - x))
        ga = _pad_last(ns, _mT(ns, ns.linalg_solve(r1, _mT(ns, ga))), n - m, -1)  # · R₁⁻ᵀ, then zero columns
        if gr is not None:
            ga = ga + ns.matmul(q, gr)
        return (ga,)

    def jvp(self, ns, ts, ans, a):
        t = ts[0]
        q, r = ans
        _qr_not_differentiable(self.mode, q, r)
        m, n = q.shape[-2], r.shape[-1]
        if m >= n:
            t_rinv = _mT(ns, ns.linalg_solve(_mT(ns, r), _mT(ns, t)))  # Ȧ R⁻¹
            s = ns.matmul(_mT(ns, q), t_rinv)
            x = _halved_diagonal(ns, s + _mT(ns, s), ~xp.tri(n, n, 0, dtype=bool))
            return t_rinv - ns.matmul(q, x), ns.matmul(x, r)
        qt_t = ns.matmul(_mT(ns, q), t)
        r1 = _narrow(ns, r, -1, m)
        y = _tril(ns, _mT(ns, ns.linalg_solve(_mT(ns, r1), _mT(ns, _narrow(ns, qt_t, -1, m)))), -1)  # Qᵀ Ȧ₁ R₁⁻¹
        k = y - _mT(ns, y)
        return ns.matmul(q, k), qt_t - ns.matmul(k, r)


class Eigh(_Factorisation):
    """(λ, V) = eigh(A): A = V diag(λ) Vᵀ, λ ascending, V orthogonal, from one triangle of A (``uplo``);
    Ā = V (diag(λ̄) + F ∘ (VᵀV̄ − V̄ᵀV)/2) Vᵀ;  with P = Vᵀ sym(Ȧ) V:  λ̇ = diag(P),  V̇ = V (F ∘ P),
    Fᵢⱼ = 1/(λⱼ − λᵢ) off the diagonal, 0 on it (Giles 2008, §3.1; Ionescu et al. 2015, Prop. 2).
    With no V̄ (eigvalsh), Ā = V diag(λ̄) Vᵀ, finite for repeated eigenvalues too."""
    name = "linalg_eigh"
    __slots__ = ("uplo",)
    save_inputs, save_ans = (), True

    def __init__(self, uplo): self.uplo = uplo
    def extra_repr(self): return f"UPLO={self.uplo!r}"

    def forward(self, a):
        return tuple(xp.linalg.eigh(a, UPLO=self.uplo))

    def vjp(self, ns, gs, ans, a):
        gl, gv = gs
        lam, v = ans
        if gv is None:
            inner = _diag_embed(ns, gl)
        else:
            x = ns.matmul(_mT(ns, v), gv)
            with xp.errstate(divide="ignore", invalid="ignore"):
                inner = (x - _mT(ns, x)) * 0.5 / _gaps(ns, lam)  # 0 on the diagonal
            if gl is not None:
                inner = inner + _diag_embed(ns, gl)
        return (ns.matmul(ns.matmul(v, inner), _mT(ns, v)),)

    def jvp(self, ns, ts, ans, a):
        lam, v = ans
        p = ns.matmul(ns.matmul(_mT(ns, v), _sym(ns, ts[0])), v)
        with xp.errstate(divide="ignore", invalid="ignore"):
            f_p = ns.where(_eye_mask(lam.shape[-1]), 0.0, p / _gaps(ns, lam))
        return _diag(ns, p), ns.matmul(v, f_p)


class SVD(_Factorisation):
    """(U, S, Vᵀ) = svd(A): A = U diag(S) Vᵀ, S descending (k = min(m, n) values);
    with Eⱼₖ = Sₖ² − Sⱼ² (1 on the diagonal) and skew(X) = X − Xᵀ (Townsend 2016; PyTorch's form):
        Ā = U [(skew(UᵀŪ)/E) S + S (skew(VᵀV̄)/E) + diag(S̄)] Vᵀ
            + (I − UUᵀ) Ū S⁻¹ Vᵀ  (m > n)  + U S⁻¹ V̄ᵀ (I − VVᵀ)  (m < n);
        with P = Uᵀ Ȧ V and X = P − diag(P):  Ṡ = diag(P),
        U̇ = U (sym₂(X S)/E) [+ (I − UUᵀ) Ȧ V S⁻¹ for m > n],
        V̇ᵀ = (sym₂(−S X)/E) Vᵀ [+ S⁻¹ Uᵀ Ȧ (I − VVᵀ) for m < n],  sym₂(X) = X + Xᵀ.
    With ``full_matrices`` the columns of U (rows of Vᵀ) beyond k are not determined by A: their
    cotangents are ignored and their tangents are 0 (PyTorch's). With only S̄ (svdvals),
    Ā = U diag(S̄) Vᵀ, finite for repeated singular values too."""
    name = "linalg_svd"
    __slots__ = ("full_matrices",)
    save_inputs, save_ans = (), True

    def __init__(self, full_matrices): self.full_matrices = full_matrices
    def extra_repr(self): return f"full_matrices={self.full_matrices}"

    def forward(self, a):
        return tuple(xp.linalg.svd(a, full_matrices=self.full_matrices))

    def _reduced(self, ns, u, vh, k):
        return _narrow(ns, u, -1, k), _narrow(ns, vh, -2, k)

    def vjp(self, ns, gs, ans, a):
        gu, gsv, gvh = gs
        u, s, vh = ans
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        u, vh = self._reduced(ns, u, vh, k)
        gu, gvh = self._reduced(ns, gu, gvh, k)
        if gu is None and gvh is None:
            return (ns.matmul(u * ns.expand_dims(gsv, -2), vh),)
        e = _gaps(ns, s, square=True)
        row, col = ns.expand_dims(s, -2), ns.expand_dims(s, -1)  # S on the right, S on the left
        with xp.errstate(divide="ignore", invalid="ignore"):
            if gu is not None:
                x = ns.matmul(_mT(ns, u), gu)
                uu = x - _mT(ns, x)
            if gvh is not None:
                y = ns.matmul(vh, _mT(ns, gvh))
                vv = y - _mT(ns, y)
            if gu is not None and gvh is not None:
                inner = (uu * row + col * vv) / e
            elif gu is not None:
                inner = uu / e * row
            else:
                inner = col * (vv / e)
        if gsv is not None:
            inner = inner + _diag_embed(ns, gsv)
        if m > n and gu is not None:
            gu_sinv = gu / row
            ga = ns.matmul(u, inner) + gu_sinv - ns.matmul(u, ns.matmul(_mT(ns, u), gu_sinv))
            return (ns.matmul(ga, vh),)
        if m < n and gvh is not None:
            sinv_gvh = gvh / col
            ga = ns.matmul(inner, vh) + sinv_gvh - ns.matmul(ns.matmul(sinv_gvh, _mT(ns, vh)), vh)
            return (ns.matmul(u, ga),)
        return (ns.matmul(ns.matmul(u, inner), vh),)

    def jvp(self, ns, ts, ans, a):
        t = ts[0]
        u, s, vh = ans
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        u, vh = self._reduced(ns, u, vh, k)
        v = _mT(ns, vh)
        p = ns.matmul(ns.matmul(_mT(ns, u), t), v)
        ds = _diag(ns, p)
        x = ns.where(_eye_mask(k), 0.0, p)
        e = _gaps(ns, s, square=True)
        row, col = ns.expand_dims(s, -2), ns.expand_dims(s, -1)
        with xp.errstate(divide="ignore", invalid="ignore"):
            xs = x * row
            du = ns.matmul(u, (xs + _mT(ns, xs)) / e)
            sx = x * col
            dvh = ns.matmul(-(sx + _mT(ns, sx)) / e, vh)
        if m > n:
            t_v_sinv = ns.matmul(t, v / row)
            du = du + t_v_sinv - ns.matmul(u, ns.matmul(_mT(ns, u), t_v_sinv))
        if m < n:
            sinv_ut_t = ns.matmul(_mT(ns, u) / col, t)
            dvh = dvh + sinv_ut_t - ns.matmul(ns.matmul(sinv_ut_t, v), vh)
        if self.full_matrices:
            du, dvh = _pad_last(ns, du, m - k, -1), _pad_last(ns, dvh, n - k, -2)
        return du, ds, dvh


# ---------------------------------------------------------------- pseudo-inverse (Golub & Pereyra 1973)
def pinv_tolerance(s_max, shape, dtype, atol, rtol):
    """PyTorch's cut-off max(atol, rtol·σ₁) for each matrix (σ₁ its largest singular value, or
    abs(eigenvalue)), shaped (…, 1): rtol defaults to max(m, n)·ε, or to 0 when atol > 0 is given;
    atol and rtol may be arrays over the batch."""
    eps = xp.finfo(dtype).eps
    zero = xp.zeros((), dtype=dtype)
    atol_a = zero if atol is None else xp.asarray(atol, dtype=dtype)
    if rtol is None:
        default = max(shape[-2:], default=0) * eps
        rtol_a = xp.where(atol_a > 0, zero, default) if atol is not None else xp.asarray(default, dtype=dtype)
    else:
        rtol_a = xp.asarray(rtol, dtype=dtype)
    return xp.maximum(atol_a[..., None], rtol_a[..., None] * s_max)


class Pinv(UnaryOp):
    """P = A⁺ (Moore–Penrose), from the SVD (or, ``hermitian``, from eigh of A's lower triangle),
    singular values at or below max(atol, rtol·σ₁) taken as 0;
    Ā = −Pᵀ P̄ Pᵀ + (I − AP) P̄ᵀ P Pᵀ + Pᵀ P P̄ᵀ (I − PA);
    Ṗ = −P Ȧ P + P Pᵀ Ȧᵀ (I − AP) + (I − PA) Ȧᵀ Pᵀ P
    (Golub & Pereyra 1973, Thm. 4.3): exact where the rank is locally constant. Products of P and A
    only, so differentiable to any order."""
    name = "linalg_pinv"
    __slots__ = ("atol", "rtol", "hermitian")
    save_inputs, save_ans = (0,), True

    def __init__(self, atol=None, rtol=None, hermitian=False):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def extra_repr(self): return f"hermitian={self.hermitian}"

    def forward(self, a):
        m, n = a.shape[-2:]
        if not min(m, n):
            return xp.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
        if self.hermitian:
            w, v = xp.linalg.eigh(a)
            s = xp.abs(w)
            tol = pinv_tolerance(s.max(axis=-1, keepdims=True), a.shape, a.dtype, self.atol, self.rtol)
            with xp.errstate(divide="ignore"):
                inv = xp.where(s > tol, 1 / w, 0).astype(a.dtype)
            return xp.matmul(v * inv[..., None, :], xp.swapaxes(v, -1, -2))
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        tol = pinv_tolerance(s[..., :1], a.shape, a.dtype, self.atol, self.rtol)
        with xp.errstate(divide="ignore"):
            inv = xp.where(s > tol, 1 / s, 0).astype(a.dtype)
        return _nan_where_nonfinite(a, xp.matmul(xp.swapaxes(vh, -1, -2) * inv[..., None, :], xp.swapaxes(u, -1, -2)))

    def vjp(self, ns, g, p, a):
        pt, gt = _mT(ns, p), _mT(ns, g)
        first = -ns.matmul(ns.matmul(pt, g), pt)
        second = ns.matmul(gt, ns.matmul(p, pt))
        second = second - ns.matmul(ns.matmul(a, p), second)
        third = ns.matmul(ns.matmul(pt, p), gt)
        third = third - ns.matmul(third, ns.matmul(p, a))
        return (first + second + third,)

    def jvp(self, ns, ts, p, a):
        t = ts[0]
        tt, pt = _mT(ns, t), _mT(ns, p)
        first = -ns.matmul(ns.matmul(p, t), p)
        second = ns.matmul(ns.matmul(p, pt), tt)
        second = second - ns.matmul(second, ns.matmul(a, p))
        third = ns.matmul(tt, ns.matmul(pt, p))
        third = third - ns.matmul(ns.matmul(p, a), third)
        return first + second + third


# ---------------------------------------------------------------- matrix exponential (Higham 2005)
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152  # ‖A‖₁ up to which the [13/13] Padé approximant is exact to double precision


def matrix_exp_array(a):
    """exp(A) of a batch of square arrays by scaling and squaring with the [13/13] Padé approximant
    (Higham 2005, Algorithm 2.3): A/2ˢ with ‖A/2ˢ‖₁ ≤ θ₁₃, r = (V − U)⁻¹(V + U), squared s times
    (s per matrix). Computed in float64 (a float32 input is cast back)."""
    dtype = a.dtype
    a = a.astype(xp.float64)
    if not a.size:
        return a.astype(dtype)
    norm = xp.abs(a).sum(axis=-2).max(axis=-1)
    with xp.errstate(divide="ignore", invalid="ignore"):
        s = xp.ceil(xp.log2(norm / _THETA13))
    s = xp.where(xp.isfinite(s) & (s > 0), s, 0).astype(xp.int64)
    a = a / xp.exp2(s.astype(xp.float64))[..., None, None]
    b = _PADE13
    eye = xp.eye(a.shape[-1])
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    for k in range(int(s.max())):
        r = xp.where((k < s)[..., None, None], r @ r, r)
    return r.astype(dtype)


def _frechet_exp(ns, a, t):
    """L(A, T): the derivative of exp at A along T, the upper-right block of exp([[A, T], [0, A]])."""
    if tuple(a.shape) != tuple(t.shape):  # a tangent with leading direction axes
        a = ns.broadcast_to(a, tuple(t.shape))
    n = t.shape[-1]
    zeros = xp.zeros(tuple(t.shape), dtype=ns.value(t).dtype)
    block = ns.concatenate([ns.concatenate([a, t], -1), ns.concatenate([zeros, a], -1)], -2)
    return ns.getitem(ns.matrix_exp(block), (Ellipsis, slice(0, n), slice(n, 2 * n)))


class MatrixExp(UnaryOp):
    """E = exp(A) = Σₖ Aᵏ/k!;  Ā = L(Aᵀ, Ē),  Ė = L(A, Ȧ), L(A, T) the upper-right block of
    exp([[A, T], [0, A]]) (Najfeld & Havel 1995; Mathias 1996; Higham 2008, §10.6): the rules are
    matrix exponentials themselves, so differentiable to any order."""
    name = "linalg_matrix_exp"
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, a):
        return matrix_exp_array(a)

    def vjp(self, ns, g, e, a):
        return (_frechet_exp(ns, _mT(ns, a), g),)

    def jvp(self, ns, ts, e, a):
        return _frechet_exp(ns, a, ts[0])


# The vjps above call these through ``ns``: arrays in a backward pass, the ops themselves (so on the
# tape) under ``create_graph``.
namespaces.extend("linalg_solve", lambda a, b: xp.linalg.solve(a, b), lambda a, b: Solve()(a, b))
namespaces.extend("linalg_inv", lambda a: xp.linalg.inv(a), lambda a: Inv()(a))
namespaces.extend("linalg_svd", lambda a: tuple(xp.linalg.svd(a, full_matrices=False)), lambda a: SVD(False)(a))
namespaces.extend("matrix_exp", matrix_exp_array, lambda a: MatrixExp()(a))

__all__ = ["Cholesky", "Det", "Eigh", "Inv", "LinAlgError", "LinAlgInputError", "LogAbsDet", "MatrixExp", "Pinv",
           "QR", "SVD", "Solve", "batch_shape", "dtype_name", "floating", "matrices", "matrix_exp_array",
           "pinv_tolerance", "same_dtype", "singular_mask"]

