"""PyTorch's matrix and vector functions, composed from the primitives (no vjp of their own):
``mm``, ``bmm``, ``mv``, ``dot``, ``outer``, ``addmm``, ``diag``, ``diagonal``, ``trace``, ``kron``,
``cross``, ``diff`` and ``meshgrid``.

Each checks PyTorch's shape and dtype rules first and refuses what PyTorch refuses (``mm`` takes
matrices only, ``bmm`` 3-D batches of equal size, ``dot`` vectors of one length and dtype), then calls
``matmul``, ``getitem``, ``where``, ``stack`` … so the tape records those and their derivatives
(and second derivatives) come with them. Where PyTorch promotes mixed dtypes (``outer``, ``kron``,
``diff``'s ``prepend``/``append``) the result dtype is PyTorch's: an integer operand beside a floating
one takes the floating dtype (NumPy would widen int64 · float32 to float64).
"""

from __future__ import annotations

import builtins
import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError
from ..autograd.tensor import _wrap
from .elementwise import cast, where
from .linalg import _same_dtype, matmul
from .shape import _check_axis, broadcast_to, concatenate, getitem, movedim, reshape, stack
from .rearrange import _as_tensor
from .reductions import sum as _sum


def _shape_text(x):
    return "x".join(str(s) for s in x.shape)


def _torch_dtype(*dtypes):
    """PyTorch's result dtype of tensors of ``dtypes``: the floating ones decide when there are any
    (int64 with float32 gives float32), else NumPy's promotion of the integers and booleans."""
    floating = [d for d in dtypes if d.kind in "fc"]
    return xp.result_type(*(floating or dtypes))


def _promoted(*xs):
    dt = _torch_dtype(*(x.dtype for x in xs))
    return [x if x.dtype == dt else cast(x, dt) if x.dtype.kind in "fc" else _wrap(x.data.astype(dt)) for x in xs]


def _no_bool(op, *xs):
    for x in xs:
        if x.dtype.kind == "b":
            raise OpError(f"{op}: not implemented for bool tensors (got {x.dtype}{list(x.shape)}; PyTorch refuses "
                          f"it too); convert first, e.g. x.long()")


def _dim(op, dim, ndim):
    """``dim`` as a non-negative int (a 0-d tensor takes 0 and −1, as PyTorch), refused otherwise."""
    return _check_axis(op, dim, builtins.max(ndim, 1))


def mm(input, mat2):  # noqa: A002 - torch's names
    """Matrix product of an (n, k) and a (k, m) matrix: Cᵢⱼ = Σₖ Aᵢₖ Bₖⱼ (``torch.mm``).

    Only 2-D operands of one dtype (no broadcasting, no vectors: ``matmul`` has those);
    Ā = C̄ Bᵀ, B̄ = Aᵀ C̄ (``matmul``'s rule)."""
    a, b = _as_tensor(input), _as_tensor(mat2)
    if a.ndim != 2:
        raise OpError(f"mm: self must be a matrix, got a {a.ndim}-d tensor of shape {tuple(a.shape)}")
    if b.ndim != 2:
        raise OpError(f"mm: mat2 must be a matrix, got a {b.ndim}-d tensor of shape {tuple(b.shape)}")
    _check_product("mm", a, b)
    return matmul(a, b)


def _check_product(op, a, b, names=("mat1", "mat2")):
    _no_bool(op, a, b)
    if a.shape[-1] != b.shape[-2]:
        raise OpError(f"{op}: {names[0]} and {names[1]} shapes cannot be multiplied "
                      f"({_shape_text(a)} and {_shape_text(b)})")
    _same_dtype(op, a, b, (f"{names[0]} and {names[1]}", ""))


def bmm(input, mat2):  # noqa: A002
    """Batched matrix product: Cᵦ = Aᵦ Bᵦ for (b, n, k) and (b, k, m) tensors (``torch.bmm``: both
    3-D, the same batch size, no broadcasting)."""
    a, b = _as_tensor(input), _as_tensor(mat2)
    for name, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            raise OpError(f"bmm: {name} must be a 3D tensor, got a {x.ndim}-d tensor of shape {tuple(x.shape)}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise OpError(f"bmm: expected size for first two dimensions of batch2 tensor to be: "
                      f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}] "
                      f"(batch1 {tuple(a.shape)}, batch2 {tuple(b.shape)})")
    _check_product("bmm", a, b, ("batch1", "batch2"))
    return matmul(a, b)


def mv(input, vec):  # noqa: A002
    """Matrix-vector product yᵢ = Σⱼ Aᵢⱼ vⱼ of an (n, m) matrix and an (m,) vector (``torch.mv``)."""
    a, v = _as_tensor(input), _as_tensor(vec)
    if a.ndim != 2 or v.ndim != 1:
        raise OpError(f"mv: expected a matrix and a vector, got a {a.ndim}-d tensor {tuple(a.shape)} and a "
                      f"{v.ndim}-d tensor {tuple(v.shape)}")
    _no_bool("mv", a, v)
    if a.shape[1] != v.shape[0]:
        raise OpError(f"mv: size mismatch, mat ({_shape_text(a)}), vec ({v.shape[0]})")
    _same_dtype("mv", a, v, ("mat and vec", ""))
    return matmul(a, v)


def dot(input, tensor):  # noqa: A002
    """Inner product Σᵢ aᵢ bᵢ of two 1-D tensors of the same length and dtype (``torch.dot``: no
    broadcasting, no matrices); ā = ȳ·b, b̄ = ȳ·a."""
    a, b = _as_tensor(input), _as_tensor(tensor)
    if a.ndim != 1 or b.ndim != 1:
        raise OpError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors "
                      f"(shapes {tuple(a.shape)} and {tuple(b.shape)})")
    if a.shape[0] != b.shape[0]:
        raise OpError(f"dot: inconsistent tensor size, expected tensors of the same number of elements, "
                      f"got {a.shape[0]} and {b.shape[0]}")
    _no_bool("dot", a, b)
    _same_dtype("dot", a, b, ("both vectors", ""))
    return matmul(a, b)


def outer(input, vec2):  # noqa: A002
    """Outer product Mᵢⱼ = aᵢ bⱼ of two 1-D tensors (``torch.outer``, alias ``ger``); mixed dtypes
    promote as PyTorch's (an integer vector beside a floating one takes its dtype)."""
    a, b = _as_tensor(input), _as_tensor(vec2)
    for name, x in (("self", a), ("vec2", b)):
        if x.ndim != 1:
            raise OpError(f"outer: expected 1-D argument {name}, but got {x.ndim}-D (shape {tuple(x.shape)})")
    a, b = _promoted(a, b)
    return reshape(a, (a.shape[0], 1)) * reshape(b, (1, b.shape[0]))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """β·input + α·(mat1 @ mat2) (``torch.addmm``): ``mat1`` (n, k) and ``mat2`` (k, m) matrices,
    ``input`` broadcastable to (n, m), all of one dtype. With β = 0 ``input`` is ignored (NaN in it
    does not propagate) and gets a zero gradient, as in PyTorch.

    For integer tensors β and α must be integers (PyTorch's documented rule; it truncates a float
    silently, retrograd refuses it)."""
    c, a, b = _as_tensor(input), _as_tensor(mat1), _as_tensor(mat2)
    for name, x in (("mat1", a), ("mat2", b)):
        if x.ndim != 2:
            raise OpError(f"addmm: {name} must be a matrix, got a {x.ndim}-d tensor of shape {tuple(x.shape)}")
    _check_product("addmm", a, b)
    _same_dtype("addmm", c, b, ("self and mat2", ""))
    out_shape = (a.shape[0], b.shape[1])
    if c.ndim > 2 or any(s not in (1, o) for s, o in zip(reversed(c.shape), reversed(out_shape))):
        raise OpError(f"addmm: input of shape {tuple(c.shape)} does not broadcast to the product's shape "
                      f"{out_shape}")
    for name, v in (("beta", beta), ("alpha", alpha)):
        if not isinstance(v, numbers.Number) or isinstance(v, bool):
            raise OpError(f"addmm: {name} must be a number, got {v!r}")
        if c.dtype.kind in "iu" and not isinstance(v, numbers.Integral):
            raise OpError(f"addmm: {name}={v!r} must be an integer for {c.dtype} tensors (PyTorch's rule; it "
                          f"would truncate it)")
    product = matmul(a, b)
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # ignored: a zero gradient, no NaN from 0·NaN
        return product + where(xp.zeros(out_shape, dtype=bool), c, xp.zeros((), dtype=c.dtype))
    return (c if beta == 1 else c * beta) + product


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):  # noqa: A002
    """The diagonal {x[…, i, i + offset]} of the 2-D slices over ``dim1``, ``dim2`` (``torch.diagonal``):
    those dims removed and the diagonal appended as the last dim; empty when ``offset`` is beyond
    the slice. x̄ is ȳ scattered back onto that diagonal, 0 elsewhere."""
    x = _as_tensor(input)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise OpError(f"diagonal: offset must be an int, got {offset!r}")
    d1, d2 = _dim("diagonal", dim1, x.ndim), _dim("diagonal", dim2, x.ndim)
    if x.ndim < 2:
        raise DimError(f"diagonal: needs a tensor of at least 2 dimensions, got shape {tuple(x.shape)} "
                       f"(dims {dim1} and {dim2})")
    if d1 == d2:
        raise OpError(f"diagonal: dimensions cannot be identical {dim1}, {dim2}")
    moved = movedim(x, (d1, d2), (-2, -1))
    n1, n2 = moved.shape[-2], moved.shape[-1]
    length = builtins.max(0, builtins.min(n1 - builtins.max(-offset, 0), n2 - builtins.max(offset, 0)))
    steps = xp.arange(length, dtype=xp.int64)
    return getitem(moved, (Ellipsis, steps + builtins.max(-offset, 0), steps + builtins.max(offset, 0)))


_diagonal = diagonal  # diag's argument shadows the name


def diag(input, diagonal: int = 0):  # noqa: A002
    """``torch.diag``: a 1-D v of length n gives the square matrix of side n + abs(k) with v on the
    k-th diagonal (Mᵢ,ᵢ₊ₖ = vᵢ, 0 elsewhere; v̄ᵢ = M̄ᵢ,ᵢ₊ₖ); a 2-D x gives its k-th diagonal
    (``diagonal(x, k)``). Anything else is refused."""
    x = _as_tensor(input)
    if not isinstance(diagonal, int) or isinstance(diagonal, bool):
        raise OpError(f"diag: diagonal must be an int, got {diagonal!r}")
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    if x.ndim != 1:
        raise OpError(f"diag: supports 1D or 2D tensors, got {x.ndim}D (shape {tuple(x.shape)})")
    k = diagonal
    n = x.shape[0]
    m = n + abs(k)
    padded = concatenate([x, _wrap(xp.zeros((abs(k),), dtype=x.dtype))]) if k else x
    i = xp.arange(m).reshape(m, 1)
    j = xp.arange(m).reshape(1, m)
    values = reshape(padded, (m, 1)) if k >= 0 else reshape(padded, (1, m))
    return where(j - i == k, values, xp.zeros((), dtype=x.dtype))


def trace(input):  # noqa: A002
    """Σᵢ xᵢᵢ of a 2-D tensor (square or not; ``torch.trace``); integers sum in int64, as PyTorch.
    x̄ = ȳ on the diagonal, 0 elsewhere."""
    x = _as_tensor(input)
    if x.ndim != 2:
        raise OpError(f"trace: expected a matrix, but got a tensor with dim {x.ndim} (shape {tuple(x.shape)})")
    _no_bool("trace", x)
    return _sum(diagonal(x))


def kron(input, other):  # noqa: A002
    """Kronecker product (``torch.kron``): for a of shape (a₀, …) and b of shape (b₀, …) (the shorter
    shape padded with leading 1s), out[i₀b₀ + j₀, …] = a[i₀, …]·b[j₀, …], of shape (a₀b₀, …).
    A reshape of the broadcast product a[:, None, …]·b[None, :, …]; mixed dtypes promote as PyTorch's."""
    a, b = _promoted(_as_tensor(input), _as_tensor(other))
    nd = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    a = reshape(a, tuple(s for n in sa for s in (n, 1)))
    b = reshape(b, tuple(s for n in sb for s in (1, n)))
    return reshape(a * b, tuple(p * q for p, q in zip(sa, sb)))


def cross(input, other, dim=None):  # noqa: A002
    """Cross product of 3-vectors along ``dim`` (``torch.cross`` / ``torch.linalg.cross``):
    c = (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀). The operands have the same number of dims and
    dtype and broadcast against each other.

    ``dim=None`` means the last dim (``torch.linalg.cross``'s default, which ``torch.cross`` announces
    it will adopt). torch 2.13's ``torch.cross`` without ``dim`` still takes the first dim of size 3
    (with a deprecation warning); where that is another dim, retrograd refuses the call rather than
    silently answer differently: pass ``dim``."""
    a, b = _as_tensor(input), _as_tensor(other)
    if a.ndim != b.ndim:
        raise OpError(f"cross: inputs must have the same number of dimensions, got shapes {tuple(a.shape)} "
                      f"and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        raise OpError(f"cross: expected both inputs of the same dtype, got {a.dtype} and {b.dtype}")
    _no_bool("cross", a, b)
    try:
        shape = xp.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError as e:
        raise OpError(f"cross: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from e
    if dim is None:
        if not a.ndim:
            raise OpError("cross: needs tensors of at least one dimension, got 0-d tensors")
        legacy = next((i for i, s in enumerate(a.shape) if s == 3), None)
        if legacy is not None and legacy != a.ndim - 1:
            raise OpError(f"cross: dim not given for shape {tuple(a.shape)}: torch.cross would take dim {legacy} "
                          f"(its first dim of size 3, deprecated) and torch.linalg.cross dim -1; pass dim")
        dim = -1
    d = _dim("cross", dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise OpError(f"cross: inputs dimension {dim} must have length 3, got {a.shape[d]} and {b.shape[d]}")
    a, b = broadcast_to(a, shape), broadcast_to(b, shape)

    def part(x, i):
        return getitem(x, (slice(None),) * d + (i,))
    a0, a1, a2 = (part(a, i) for i in range(3))
    b0, b1, b2 = (part(b, i) for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):  # noqa: A002
    """n-th forward difference along ``dim`` (``torch.diff``): yᵢ = xᵢ₊₁ − xᵢ, applied ``n`` times,
    after ``prepend`` and ``append`` (tensors with x's number of dims, matching it off ``dim``) are
    concatenated on either side. Booleans give xᵢ₊₁ ≠ xᵢ (PyTorch's logical xor); ``n`` beyond the
    length gives an empty dim; ``n = 0`` returns x."""
    x = _as_tensor(input)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise OpError(f"diff: order must be a non-negative int, got {n!r}")
    if x.ndim == 0:
        raise OpError("diff: expects input to be at least one-dimensional (got a 0-d tensor)")
    d = _dim("diff", dim, x.ndim)
    parts = []
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            continue
        extra = _as_tensor(extra)
        if extra.ndim != x.ndim:
            raise OpError(f"diff: expects {name} to have the same number of dimensions as input, got shape "
                          f"{tuple(extra.shape)} for input {tuple(x.shape)}")
        if any(s != t for i, (s, t) in enumerate(zip(extra.shape, x.shape)) if i != d):
            raise OpError(f"diff: {name} of shape {tuple(extra.shape)} must match input {tuple(x.shape)} except "
                          f"along dim {dim}")
        parts.append((name, extra))
    if parts:
        pieces = _promoted(x, *(e for _, e in parts))
        names = [p for p, _ in parts]
        before = [pieces[1 + names.index("prepend")]] if "prepend" in names else []
        after = [pieces[1 + names.index("append")]] if "append" in names else []
        x = concatenate(before + [pieces[0]] + after, d)
    lead = (slice(None),) * d
    for _ in range(builtins.min(n, builtins.max(x.shape[d], 1))):
        if x.dtype.kind == "b":
            data = x.data
            x = _wrap(data[lead + (slice(1, None),)] != data[lead + (slice(None, -1),)])
        else:
            x = getitem(x, lead + (slice(1, None),)) - getitem(x, lead + (slice(None, -1),))
    return x


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-D or 1-D tensors (``torch.meshgrid``): output k is tensor k broadcast
    along its own axis, every output of shape (n₀, n₁, …). ``indexing="xy"`` swaps the first two
    axes of the outputs (Cartesian, NumPy's default); without ``indexing`` it is ``"ij"`` with
    PyTorch's warning. The inputs share one dtype; their gradients sum the grids' back (broadcast)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise OpError("meshgrid: expects a non-empty list of tensors")
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the indexing argument "
                      "(PyTorch's warning); using indexing='ij'", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise OpError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [_as_tensor(t) for t in tensors]
    for t in ts:
        if t.ndim > 1:
            raise OpError(f"meshgrid: expected 0D or 1D tensors, got a {t.ndim}-d tensor of shape {tuple(t.shape)}")
    if len({t.dtype for t in ts}) > 1:
        raise OpError(f"meshgrid: expects all tensors to have the same dtype, got {[str(t.dtype) for t in ts]}")
    sizes = [t.size for t in ts]
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) > 1:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[order[p]] for p in range(len(ts)))
    out = []
    for k, t in enumerate(ts):
        position = order.index(k)
        view = tuple(sizes[k] if p == position else 1 for p in range(len(ts)))
        out.append(broadcast_to(reshape(t, view), shape))
    return tuple(out)
