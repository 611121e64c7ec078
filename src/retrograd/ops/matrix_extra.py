"""More of PyTorch's matrix functions, composed from existing ops (no vjp of their own: the tape
records ``matmul``, ``linalg.solve``, ``where`` …, so gradients, jvps and second derivatives come with
them):

- the fused products ``addmv`` (β·input + α·M v), ``addr`` (β·input + α·v₁v₂ᵀ), ``addbmm``
  (β·input + α·Σᵦ AᵦBᵦ), ``baddbmm`` (β·inputᵦ + α·AᵦBᵦ) and ``chain_matmul``, with PyTorch's shape,
  dtype and β = 0 rules (input ignored: a NaN in it does not spread, its gradient is 0);
- ``cholesky_solve`` and ``cholesky_inverse`` from a Cholesky factor, via ``rg.linalg``;
- ``corrcoef`` (``cov`` normalised, clipped to [−1, 1] as PyTorch's) and ``histogram`` (off the tape);
- the view-scatters ``diagonal_scatter``, ``select_scatter``, ``slice_scatter``, and ``index_put``
  and ``index_reduce``, which write through ``ops.scatter``'s machinery: ``where`` between the
  written entries and ``input`` (x̄ = ȳ where nothing was written, the source gets ȳ at the positions
  it was written to), or ``scatter_reduce``.
"""

from __future__ import annotations

import numbers
import warnings
from typing import NamedTuple

from ..autograd.backend import xp
from ..autograd.op import DimError, IndexRangeError, OpError, off_tape
from ..autograd.tensor import Tensor, _wrap
from . import elementwise as E
from . import elementwise_extra as EX
from . import inplace as IP
from . import linalg_decompositions as D
from . import linalg_namespace as LA
from . import scatter as SC
from .counting import _binary_search
from .creation import linspace
from .linalg import matmul
from .matrix import diagonal, outer
from .products import cov
from .rearrange import _as_tensor, clone, tril, triu
from .reductions import sum as _sum
from .shape import _check_axis, _data, broadcast_to, index_add as _place_at, reshape, swapaxes


class MatrixError(OpError, RuntimeError):
    """Arguments PyTorch refuses with a ``RuntimeError`` (shapes, dtypes, β and α): also an ``OpError``."""


class MatrixNotImplemented(OpError, NotImplementedError):
    """A dtype PyTorch has no kernel for (booleans in ``addmv``, integers in ``cholesky_solve`` …)."""


# ---------------------------------------------------------------- β·input + α·product
def _tensor(fn, x, position, argument):
    EX.require_tensor(fn, x, position, argument)
    return _as_tensor(x)


def _coefficients(fn, dtype, beta, alpha):
    """β and α, checked as PyTorch checks them: numbers; integers (not floats) for integer and
    boolean tensors (PyTorch's documented rule — retrograd refuses a float where some of PyTorch's
    kernels would truncate it)."""
    for name, v in (("beta", beta), ("alpha", alpha)):
        if not isinstance(v, numbers.Number):
            raise TypeError(f"{fn}(): argument '{name}' must be Number, not {type(v).__name__}")
        if isinstance(v, complex) and dtype.kind != "c":
            raise MatrixError(f"{fn}: {name}={v!r} is complex but the tensors are {dtype} (value cannot be converted "
                              f"to type {dtype} without overflow)")
        if dtype.kind in "biu" and not isinstance(v, numbers.Integral):
            raise MatrixError(f"For integral input tensors, argument {name} must not be a floating point number "
                              f"({fn}: {name}={v!r} with {dtype} tensors)")


def _expandable(fn, c, shape):
    """Refuse ``input`` unless it broadcasts to the product's ``shape`` (PyTorch's ``expand`` rule: no
    more dims, and each dim 1 or equal)."""
    have = tuple(c.shape)
    if len(have) > len(shape):
        raise MatrixError(f"{fn}: expand({list(have)}, size={list(shape)}): the number of sizes provided "
                          f"({len(shape)}) must be greater or equal to the number of dimensions in the tensor "
                          f"({len(have)})")
    for i, (h, s) in enumerate(zip(reversed(have), reversed(shape))):
        if h not in (1, s):
            raise MatrixError(f"{fn}: The expanded size of the tensor ({s}) must match the existing size ({h}) at "
                              f"non-singleton dimension {len(shape) - 1 - i}.  Target sizes: {list(shape)}.  "
                              f"Tensor sizes: {list(have)}")


def _combine(c, product, beta, alpha, shape):
    """β·c + α·product, c broadcast to ``shape``; with β = 0, c is ignored (no NaN from 0·NaN) and gets a
    zero gradient, as in PyTorch. Booleans: (β ∧ c) ∨ (α ∧ product)."""
    if c.dtype.kind == "b":
        out = (bool(beta) & xp.broadcast_to(c.data, shape)) | (bool(alpha) & product.data.astype(bool))
        return _wrap(out)
    if alpha != 1:
        product = E.mul(product, alpha)
    if beta == 0:
        return E.add(product, E.where(xp.zeros(shape, dtype=bool), c, xp.zeros((), dtype=c.dtype)))
    return E.add(c if beta == 1 else E.mul(c, beta), product)


def _no_bool(fn, kernel, *xs):
    for x in xs:
        if x.dtype.kind == "b":
            raise MatrixNotImplemented(f'{fn}: "{kernel}" not implemented for \'Bool\' (got {EX.describe(x)}), as in '
                                       f"PyTorch; convert first, e.g. x.long()")


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002 - torch's names
    """β·input + α·(mat @ vec) (``torch.addmv``): ``mat`` (n, m), ``vec`` (m,), ``input`` broadcastable to
    (n,), all of one dtype. β = 0 ignores ``input`` (a NaN in it does not spread; zero gradient).
    Gradients are those of the composition: īnput = β·ȳ (summed over broadcast), M̄ = α·ȳ vᵀ, v̄ = α·Mᵀȳ."""
    c, a, v = (_tensor("addmv", t, i + 1, n) for i, (t, n) in enumerate(((input, "input"), (mat, "mat"),
                                                                        (vec, "vec"))))
    if c.ndim > 1 or a.ndim != 2 or v.ndim != 1:
        raise MatrixError(f"addmv: vector + matrix @ vector expected, got {c.ndim}, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0] or (c.ndim and c.shape[0] not in (1, a.shape[0])):
        raise MatrixError(f"addmv: size mismatch, got input ({c.shape[0] if c.ndim else ''}), mat "
                          f"({a.shape[0]}x{a.shape[1]}), vec ({v.shape[0]})")
    if not (c.dtype == a.dtype == v.dtype):
        raise MatrixError(f"addmv input tensors must have the same dtype, but got {D.dtype_name(c.dtype)}, "
                          f"{D.dtype_name(a.dtype)}, and {D.dtype_name(v.dtype)}")
    _no_bool("addmv", "addmv_impl_cpu", c)
    _coefficients("addmv", c.dtype, beta, alpha)
    return _combine(c, matmul(a, v), beta, alpha, (a.shape[0],))


def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002
    """β·input + α·(vec1 ⊗ vec2) (``torch.addr``): the outer product of two vectors added to ``input``,
    which broadcasts to (n, m). Mixed dtypes promote as PyTorch's; for booleans it is
    (β ∧ input) ∨ (α ∧ vec1 ⊗ vec2). β = 0 ignores ``input``."""
    c = _tensor("addr", input, 1, "input")
    u, v = _tensor("addr", vec1, 2, "vec1"), _tensor("addr", vec2, 3, "vec2")
    for name, x in (("vec1", u), ("vec2", v)):
        if x.ndim != 1:
            raise MatrixError(f"addr: Expected 1-D argument {name}, but got {x.ndim}-D")
    shape = (u.shape[0], v.shape[0])
    _expandable("addr", c, shape)
    dtype = EX.result_type(c, u, v)
    c, u, v = (EX._to(x, dtype) if x.dtype.kind in "fc" and dtype.kind in "fc" or x.dtype == dtype
               else _wrap(x.data.astype(dtype)) for x in (c, u, v))
    _coefficients("addr", dtype, beta, alpha)
    return _combine(c, outer(u, v), beta, alpha, shape)


def _batches(fn, b1, b2):
    for name, x in (("batch1", b1), ("batch2", b2)):
        if x.ndim != 3:
            raise MatrixError(f"{fn}: {name} must be a 3D tensor (got shape {tuple(x.shape)})")


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """β·input + α·Σᵢ batch1ᵢ @ batch2ᵢ (``torch.addbmm``): (b, n, m) and (b, m, p) batches reduced to one
    (n, p) matrix, ``input`` broadcastable to it; one dtype throughout. β = 0 ignores ``input``."""
    c = _tensor("addbmm", input, 1, "input")
    b1, b2 = _tensor("addbmm", batch1, 2, "batch1"), _tensor("addbmm", batch2, 3, "batch2")
    _batches("addbmm", b1, b2)
    if b1.shape[0] != b2.shape[0]:
        raise MatrixError(f"addbmm: batch1 and batch2 must have same number of batches, got {b1.shape[0]} and "
                          f"{b2.shape[0]}")
    if b1.shape[2] != b2.shape[1]:
        raise MatrixError(f"addbmm: Incompatible matrix sizes for bmm ({b1.shape[1]}x{b1.shape[2]} and "
                          f"{b2.shape[1]}x{b2.shape[2]})")
    shape = (b1.shape[1], b2.shape[2])
    _expandable("addbmm", c, shape)
    for x, y in ((c, b2), (b1, b2)):
        if x.dtype != y.dtype:
            raise MatrixError(f"addbmm: self and mat2 must have the same dtype, but got {D.dtype_name(x.dtype)} and "
                              f"{D.dtype_name(y.dtype)}")
    _no_bool("addbmm", "addmm_impl_cpu_", c)
    _coefficients("addbmm", c.dtype, beta, alpha)
    return _combine(c, _sum(matmul(b1, b2), axis=0), beta, alpha, shape)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """β·inputᵢ + α·batch1ᵢ @ batch2ᵢ for each i (``torch.baddbmm``): (b, n, m) and (b, m, p) batches,
    ``input`` broadcastable to (b, n, p); one dtype throughout. β = 0 ignores ``input``."""
    c = _tensor("baddbmm", input, 1, "input")
    b1, b2 = _tensor("baddbmm", batch1, 2, "batch1"), _tensor("baddbmm", batch2, 3, "batch2")
    _batches("baddbmm", b1, b2)
    if b2.shape[:2] != (b1.shape[0], b1.shape[2]):
        raise MatrixError(f"baddbmm: Expected size for first two dimensions of batch2 tensor to be: "
                          f"[{b1.shape[0]}, {b1.shape[2]}] but got: [{b2.shape[0]}, {b2.shape[1]}].")
    shape = (b1.shape[0], b1.shape[1], b2.shape[2])
    _expandable("baddbmm", c, shape)
    if not (c.dtype == b1.dtype == b2.dtype):
        raise MatrixError(f"baddbmm: Input dtypes must be the same, got: input {c.dtype}, batch1: {b1.dtype}, "
                          f"batch2: {b2.dtype}")
    _no_bool("baddbmm", "baddbmm", c)
    _coefficients("baddbmm", c.dtype, beta, alpha)
    return _combine(c, matmul(b1, b2), beta, alpha, shape)


def chain_matmul(*matrices):
    """The product of two-dimensional matrices, in the cheapest order (``torch.chain_matmul``, which
    PyTorch deprecates for ``torch.linalg.multi_dot``: it warns so here too). One matrix gives a copy."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
                  "parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise MatrixError("chain_matmul(): Expected one or more matrices")
    ms = [_as_tensor(m) for m in matrices]
    for m in ms:
        if m.ndim != 2:
            raise MatrixError(f"chain_matmul: Tensor dimension is {m.ndim}, expected 2 instead.")
    return clone(ms[0]) if len(ms) == 1 else LA.multi_dot(ms)


# ---------------------------------------------------------------- from a Cholesky factor
def _factor(fn, L, upper):
    """The lower factor L of A = L Lᴴ from the triangle ``upper`` names (the other triangle's values are
    not read, as LAPACK's potrs/potri do not read them). The gradient reaches the whole input as if it
    were that triangle — PyTorch's formula, dense, above the diagonal too."""
    if L.ndim < 2:
        raise MatrixError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if L.shape[-1] != L.shape[-2]:
        raise MatrixError(f"{fn}: A must be batches of square matrices, but they are {L.shape[-2]} by {L.shape[-1]} "
                          f"matrices")
    if L.dtype.kind != "f":
        raise MatrixNotImplemented(f"{fn}: not implemented for {D.dtype_name(L.dtype)} tensors (floating only, as "
                                   f"PyTorch's cholesky kernels); convert first, e.g. L.double()")
    other = tril(L, -1) if upper else triu(L, 1)
    t = E.sub(L, other.detach()) if other.data.any() else L
    return swapaxes(t, -1, -2) if upper else t


def cholesky_solve(input, input2, upper=False):  # noqa: A002
    """X with A X = B, given B (``input``, (…, n, k)) and the Cholesky factor of A (``input2``: L with
    A = L Lᵀ, or U with A = UᵀU when ``upper``) — ``torch.cholesky_solve``; batch dims broadcast.
    Computed as two solves, L Y = B then Lᵀ X = Y, so B̄ = A⁻¹X̄ and L̄ = −(G + Gᵀ)L with G = A⁻¹X̄ Xᵀ
    (PyTorch's dense formula)."""
    b, L = _tensor("cholesky_solve", input, 1, "input"), _tensor("cholesky_solve", input2, 2, "input2")
    if b.ndim < 2:
        raise MatrixError(f"cholesky_solve: b should have at least 2 dimensions, but has {b.ndim} dimensions instead")
    if L.ndim < 2:
        raise MatrixError(f"cholesky_solve: u should have at least 2 dimensions, but has {L.ndim} dimensions instead")
    if b.dtype != L.dtype:
        raise MatrixError(f"cholesky_solve: Expected b and A to have the same dtype, but found b of type "
                          f"{D.dtype_name(b.dtype)} and A of type {D.dtype_name(L.dtype)} instead.")
    lower = _factor("cholesky_solve", L, upper)
    if b.shape[-2] != L.shape[-1]:
        raise MatrixError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {L.shape[-1]} by "
                          f"{L.shape[-1]} but each b matrix is {b.shape[-2]} by {b.shape[-1]}")
    D.batch_shape("cholesky_solve", tuple(b.shape[:-2]), tuple(L.shape[:-2]))
    return LA.solve(swapaxes(lower, -1, -2), LA.solve(lower, b))


def cholesky_inverse(input, upper=False):  # noqa: A002
    """A⁻¹ = (L Lᵀ)⁻¹ = L⁻ᵀL⁻¹ from the Cholesky factor L of A (``torch.cholesky_inverse``; U with A = UᵀU
    when ``upper``); batches too. A zero on the diagonal raises ``LinAlgError``. The gradient is that of
    the composition, PyTorch's dense one: L̄ = −(S + Sᵀ)L with S = A⁻¹ Ȳ A⁻¹."""
    lower = _factor("cholesky_inverse", _tensor("cholesky_inverse", input, 1, "input"), upper)
    inverse = LA.inv(lower)
    return matmul(swapaxes(inverse, -1, -2), inverse)


# ---------------------------------------------------------------- corrcoef, histogram
def corrcoef(input):  # noqa: A002
    """Pearson's correlation coefficients of the variables in the rows of ``input`` (observations in the
    columns): Rᵢⱼ = Cᵢⱼ / √(Cᵢᵢ Cⱼⱼ) with C = ``cov(input)``, clipped to [−1, 1] (PyTorch's
    ``corrcoef``: an entry clipped gets no gradient, one at exactly ±1 keeps it). A 1-D input gives
    C/C (1, or NaN for a constant variable). Integers give the default float dtype."""
    x = _tensor("corrcoef", input, 1, "input")
    if x.ndim > 2:
        raise MatrixError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                          f"{x.ndim} dimensions")
    if x.dtype.kind == "c":
        return _complex_corrcoef(x.data)
    c = cov(x)
    if c.ndim == 0:
        return E.true_divide(c, c)
    s = E.sqrt(diagonal(c))
    r = E.true_divide(E.true_divide(c, reshape(s, (-1, 1))), reshape(s, (1, -1)))
    return E.where(r.data > 1, xp.ones((), r.dtype), E.where(r.data < -1, -xp.ones((), r.dtype), r))


@off_tape
def _complex_corrcoef(z):
    """corrcoef of complex rows (off the tape: complex tensors never require grad): C = (z − μ)(z − μ)ᴴ/(n − 1)
    normalised by √(Cᵢᵢ Cⱼⱼ), the real and imaginary parts clipped to [−1, 1] separately, as PyTorch."""
    rows = z.reshape(1, -1) if z.ndim < 2 else z
    centred = rows - rows.mean(axis=1, keepdims=True)
    with xp.errstate(invalid="ignore", divide="ignore"):
        c = centred @ centred.conj().T / (rows.shape[1] - 1)
        if z.ndim < 2:
            return _wrap((c / c).reshape(()).astype(z.dtype))
        s = xp.sqrt(c.diagonal().real)
        r = c / s[:, None] / s[None, :]
    return _wrap((xp.clip(r.real, -1, 1) + 1j * xp.clip(r.imag, -1, 1)).astype(z.dtype))


class HistogramResult(NamedTuple):
    """``(hist, bin_edges)`` of ``histogram`` (PyTorch's ``torch.return_types.histogram``)."""
    hist: Tensor
    bin_edges: Tensor


def _edges(x, bins, range):  # noqa: A002
    """The bin edges: ``bins`` + 1 edges spread as ``rg.linspace`` spreads them (in ``x``'s dtype, the
    first half counted up from the left edge, the rest down from the right one, so both ends are
    exact), over ``range`` or the data's [min, max] ([0, 1] when empty; widened by ½ each side when it
    is one value), as PyTorch's histogram chooses them."""
    if not isinstance(bins, int) or isinstance(bins, bool):
        raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}")
    if bins <= 0:
        raise MatrixError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if range is not None:
        lo, hi = (float(v) for v in range)
    elif x.size:
        lo, hi = float(x.min()), float(x.max())
    else:
        lo, hi = 0.0, 1.0
    if not (xp.isfinite(lo) and xp.isfinite(hi)):
        raise MatrixError(f"torch.histogramdd: dimension 0's range [{lo:g}, {hi:g}] is not finite")
    if lo > hi:
        raise MatrixError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max {hi:g} for "
                          f"dimension 0")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return linspace(lo, hi, bins + 1, dtype=x.dtype).data


@off_tape

def _histogram_weight(weight, dtype):
    """A histogram's ``weight`` as an array of the input's ``dtype`` (refused otherwise, with PyTorch's
    text), or None."""
    if weight is None:
        return None
    w = xp.asarray(_data(weight))
    if w.dtype != dtype:
        raise MatrixError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should "
                          f"have the same dtype, but got input({dtype}), and weight({w.dtype})")
    return w

def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """A histogram of ``input``'s entries (``torch.histogram``): ``bins`` an int (that many equal bins over
    ``range`` or the data's [min, max]) or a 1-D tensor of increasing edges. Each bin counts the entries
    in [left, right), the last one [left, right]; entries outside, and NaNs, are not counted. ``weight``
    (input's shape and dtype) adds each entry's weight instead of 1; ``density`` divides by the total and
    by each bin's width. Returns (hist, bin_edges), both in ``input``'s dtype (float32/float64 only).
    Off the tape: counts have no gradient."""
    x = _tensor("histogram", input, 1, "input").data
    if x.dtype not in (xp.float32, xp.float64):
        raise MatrixNotImplemented(f'"histogramdd" not implemented for \'{D.dtype_name(x.dtype)}\' (histogram of '
                                   f"{x.dtype}{list(x.shape)}); convert first, e.g. x.float()")
    if isinstance(bins, Tensor) or hasattr(bins, "shape"):
        if range is not None:
            raise TypeError("histogram(): range= is taken with an int bins only (the edges tensor says the range)")
        edges = xp.asarray(_data(bins))
        if edges.dtype != x.dtype:
            raise MatrixError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                              f"input with dtype {x.dtype} and bins for dimension 0 with dtype {edges.dtype}")
        if edges.ndim != 1:
            raise MatrixError(f"torch.histogramdd: bins tensor should have one dimension, but got {edges.ndim} "
                              f"dimensions in the bins tensor for dimension 0")
        if edges.size < 2:
            raise MatrixError(f"torch.histogram(): bins must be > 0, but got {edges.size - 1} for dimension 0")
    else:
        edges = _edges(x, bins, range)
    flat = x.reshape(-1)
    w = _histogram_weight(weight, x.dtype)
    if w is not None:
        if w.size != flat.size:
            raise MatrixError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                              f"input tensor excluding its innermost dimension, but got input with shape "
                              f"[{flat.size}, 1] and weight with shape {list(w.shape)}")
        w = w.reshape(-1)
    n = edges.size - 1
    with xp.errstate(invalid="ignore"):
        inside = (flat >= edges[0]) & (flat <= edges[-1])
    # PyTorch's upper_bound (its own binary search: NaN edges land where PyTorch puts them), less one;
    # the right edge belongs to the last bin
    at = _binary_search(edges[None, :], flat[inside][None, :], right=True)[0] - 1
    at = xp.minimum(at, n - 1)
    hist = xp.zeros(n, dtype=x.dtype)
    xp.add.at(hist, at, xp.ones((), x.dtype) if w is None else w[inside])  # in input order, as PyTorch adds
    if density:
        with xp.errstate(invalid="ignore", divide="ignore"):
            hist = hist / hist.sum() / xp.diff(edges)
    return HistogramResult(_wrap(hist.astype(x.dtype, copy=False)), _wrap(edges.astype(x.dtype, copy=False)))


# ---------------------------------------------------------------- writing into a copy: the view-scatters
def _written(x, src, positions, fn):
    """``x`` with ``src`` written at ``positions`` (an array of flat positions in x, src's shape, which
    must be exactly that shape: PyTorch does not broadcast here); src is cast to x's dtype, as
    PyTorch's copy does (on the tape between floating dtypes)."""
    if tuple(src.shape) != tuple(positions.shape):
        raise MatrixError(f"{fn}: expected src to have a size equal to the slice of self. src size = "
                          f"{list(src.shape)}, slice size = {list(positions.shape)}")
    if src.dtype != x.dtype:
        src = E.cast(src, x.dtype) if src.dtype.kind in "fc" and x.dtype.kind in "fc" else _wrap(
            src.data.astype(x.dtype))
    if not positions.size:
        return clone(x)
    return SC._place(x, positions.reshape(-1), reshape(src, (-1,)))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):  # noqa: A002
    """``input`` with its diagonal (``diagonal(input, offset, dim1, dim2)``'s entries) replaced by ``src``,
    which has that diagonal's shape (``torch.diagonal_scatter``). x̄ = ȳ off the diagonal, s̄ = ȳ's
    diagonal."""
    x, s = _tensor("diagonal_scatter", input, 1, "input"), _tensor("diagonal_scatter", src, 2, "src")
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise TypeError(f"diagonal_scatter(): argument 'offset' must be int, not {type(offset).__name__}")
    d1, d2 = (_check_axis("diagonal_scatter", d, x.ndim) for d in (dim1, dim2))
    if d1 == d2:
        raise MatrixError(f"diagonal_scatter: diagonal dimensions cannot be identical {dim1}, {dim2}")
    positions = xp.diagonal(SC._positions_map(tuple(x.shape)), offset, d1, d2)
    return _written(x, s, positions, "diagonal_scatter")


def select_scatter(input, src, dim, index):  # noqa: A002
    """``input`` with the slice ``input.select(dim, index)`` replaced by ``src`` (that slice's shape;
    ``torch.select_scatter``; a negative index counts from the end). x̄ = ȳ outside the slice, s̄ = the
    slice of ȳ."""
    x, s = _tensor("select_scatter", input, 1, "input"), _tensor("select_scatter", src, 2, "src")
    if not x.ndim:
        raise DimError("select_scatter: select() cannot be applied to a 0-dim tensor.")
    d = _check_axis("select_scatter", dim, x.ndim)
    n = x.shape[d]
    if not isinstance(index, int) or isinstance(index, bool):
        index = int(index)
    if not -n <= index < n:
        raise IndexRangeError(f"select_scatter: select(): index {index} out of range for tensor of size "
                              f"{list(x.shape)} at dimension {d}")
    positions = xp.take(SC._positions_map(tuple(x.shape)), index % n, axis=d)
    return _written(x, s, positions, "select_scatter")


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):  # noqa: A002
    """``input`` with the slice ``start:end:step`` of ``dim`` replaced by ``src`` (that slice's shape;
    ``torch.slice_scatter``; start and end as Python's slicing takes them, step positive). x̄ = ȳ outside
    the slice, s̄ = the slice of ȳ."""
    x, s = _tensor("slice_scatter", input, 1, "input"), _tensor("slice_scatter", src, 2, "src")
    if not x.ndim:
        raise DimError("slice_scatter: slice() cannot be applied to a 0-dim tensor.")
    d = _check_axis("slice_scatter", dim, x.ndim)
    if not isinstance(step, int) or step <= 0:
        raise MatrixError(f"slice_scatter: slice step must be positive (got {step!r})")
    positions = SC._positions_map(tuple(x.shape))[(slice(None),) * d + (slice(start, end, step),)]
    return _written(x, s, positions, "slice_scatter")


# ---------------------------------------------------------------- index_put, index_reduce
def _index_arrays(fn, indices, ndim):
    """``indices`` (a tuple or list of integer or boolean tensors) as backend arrays, refused as
    PyTorch refuses them."""
    if isinstance(indices, Tensor) or not isinstance(indices, (tuple, list)):
        raise TypeError(f"{fn}(): argument 'indices' (position 2) must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    arrays, used = [], 0
    for k, i in enumerate(indices):
        if not isinstance(i, Tensor) and not hasattr(i, "dtype"):
            raise TypeError(f"{fn}(): expected Tensor as element {k} in argument 1, but got {type(i).__name__}")
        a = xp.asarray(_data(i))
        if a.dtype.kind == "b":
            used += max(a.ndim, 1)
        elif a.dtype.name in ("int64", "int32"):
            used += 1
        else:
            raise IndexRangeError(f"{fn}: tensors used as indices must be long, int or bool tensors (got {a.dtype} "
                                  f"as index {k})")
        arrays.append(a)
    if used > ndim:
        raise IndexRangeError(f"{fn}: too many indices for tensor of dimension {ndim} (got {used})")
    return tuple(arrays)


def index_put(input, indices, values, accumulate=False):  # noqa: A002
    """``input`` with ``values`` put at ``input[indices]`` (``torch.index_put``, the out-of-place
    ``x[indices] = values``): ``indices`` a tuple of integer tensors (broadcast together; negative
    entries count from the end) or boolean masks; ``values`` broadcast to the indexed shape, of
    ``input``'s dtype. ``accumulate=True`` adds instead, repeated positions adding every value.

    Gradients: with ``accumulate``, x̄ = ȳ and v̄ = ȳ[indices] (summed back over broadcast); without,
    x̄ = ȳ where nothing was written and v̄ = ȳ at the written positions — a position written twice keeps
    the last write (PyTorch: undefined), and only that write gets a gradient."""
    x = _tensor("index_put", input, 1, "input")
    EX.require_tensor("index_put", values, 3, "values")
    v = _as_tensor(values)
    index = _index_arrays("index_put", indices, x.ndim)
    if v.dtype != x.dtype:
        raise MatrixError(f"Index put requires the source and destination dtypes match, got "
                          f"{D.dtype_name(x.dtype)} for the destination and {D.dtype_name(v.dtype)} for the source.")
    shape = tuple(x.shape)
    try:
        positions = SC._positions_map(shape)[index]
    except IndexError as e:
        raise IndexRangeError(f"index_put: {e} (tensor of shape {list(shape)})".replace("axis", "dimension")) from e
    try:
        fits = xp.broadcast_shapes(tuple(v.shape), positions.shape) == positions.shape
    except ValueError:
        fits = False
    if not fits:
        raise MatrixError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to indexing "
                          f"result of shape {list(positions.shape)}")
    if not positions.size:
        return clone(x)
    flat = reshape(v if tuple(v.shape) == positions.shape else broadcast_to(v, positions.shape), (-1,))
    positions = positions.reshape(-1)
    if not accumulate:
        return SC._place(x, positions, flat)
    n = SC._count(shape)
    if x.dtype.kind == "b":  # True + True is True: a logical or, as PyTorch's accumulate
        out = x.data.reshape(-1).copy()
        xp.logical_or.at(out, positions, flat.data)
        return _wrap(out.reshape(shape))
    return E.add(x, reshape(_place_at((n,), x.dtype, positions, flat), shape))


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def index_reduce(input, dim, index, source, reduce, *, include_self=True):  # noqa: A002
    """``input`` with the slices of ``source`` along ``dim`` reduced into the positions ``index`` names
    (``torch.index_reduce``): for dim 0, out[index[i]] = reduce(out[index[i]], source[i]) over every i,
    with 'prod', 'mean', 'amax' or 'amin', ``input``'s own value included when ``include_self``. It is
    ``scatter_reduce`` with ``index`` spread over ``source``'s shape, so its gradients are
    ``scatter_reduce``'s (the product's exact with zeros; ties of amax/amin share ȳ by
    ``rg.conventions``). Integer 'mean' rounds down, as PyTorch's. ``index``: an int64/int32 vector in
    [0, size); ``source``: ``input``'s shape with dim ``dim`` of size len(index)."""
    if reduce not in _INDEX_REDUCTIONS:
        raise MatrixError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    x, s = _tensor("index_reduce", input, 1, "input"), _tensor("index_reduce", source, 4, "source")
    d = SC._dim("index_reduce", dim, x.ndim)
    idx = SC._vector_index("index_reduce", index, ("int64", "int32"), SC.ScatterIndexError)
    if x.dtype != s.dtype:
        raise MatrixError(f"index_reduce_(): self ({D.dtype_name(x.dtype)}) and source ({D.dtype_name(s.dtype)}) "
                          f"must have the same scalar type")
    if x.dtype.kind == "b":
        raise MatrixNotImplemented("index_reduce: \"index_func_\" not implemented for 'Bool', as in PyTorch; convert "
                                   "first, e.g. x.long()")
    SC._source_along("index_reduce", x, d, idx, s, MatrixError)
    n = x.shape[d] if x.ndim else 1
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise SC.ScatterIndexError(f"index_reduce: index out of range in self (dim {d} has size {n}; negative "
                                   f"indices are refused, as in PyTorch)")
    if not x.ndim:
        out = index_reduce(reshape(x, (1,)), 0, idx, reshape(s, (1,)), reduce, include_self=include_self)
        return reshape(out, ())
    spread = xp.broadcast_to(idx.reshape((-1,) + (1,) * (s.ndim - d - 1)), tuple(s.shape))
    return SC.scatter_reduce(x, d, xp.ascontiguousarray(spread), s, reduce, include_self=include_self)


# ---------------------------------------------------------------- in-place forms (off the tape only)
def index_put_(self, indices, values, accumulate=False):
    """``x.index_put_(indices, values, accumulate=False)``: ``index_put`` written into ``x`` in place (what
    ``x[indices] = values`` does), off the tape only, as every in-place method (``ops.inplace``); returns x."""
    IP._guard(self, "index_put_", "x = x.index_put(indices, values)", (values,))
    return IP._store(self, "index_put_", index_put(self, indices, values, accumulate))


def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    """``x.index_reduce_(dim, index, source, reduce, include_self=True)``: ``index_reduce`` written into
    ``x`` in place, off the tape only; returns x."""
    IP._guard(self, "index_reduce_", "x = x.index_reduce(dim, index, source, reduce)", (source,))
    return IP._store(self, "index_reduce_", index_reduce(self, dim, index, source, reduce, include_self=include_self))


METHODS = {
    "addmv": addmv, "addr": addr, "addbmm": addbmm, "baddbmm": baddbmm, "cholesky_solve": cholesky_solve,
    "cholesky_inverse": cholesky_inverse, "corrcoef": corrcoef, "histogram": histogram,
    "diagonal_scatter": diagonal_scatter, "select_scatter": select_scatter, "slice_scatter": slice_scatter,
    "index_put": index_put, "index_reduce": index_reduce, "index_put_": index_put_, "index_reduce_": index_reduce_,
}
"""The Tensor methods of this module (installed by ``ops.methods``)."""

__all__ = ["addmv", "addr", "addbmm", "baddbmm", "chain_matmul", "cholesky_solve", "cholesky_inverse", "corrcoef",
           "histogram", "HistogramResult", "diagonal_scatter", "select_scatter", "slice_scatter", "index_put",
           "index_reduce"]
