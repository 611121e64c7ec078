"""Reductions: sum, mean, var/std, prod (max/min live in ``extrema``,
logsumexp and the softmaxes in ``softmax``).

The vjp of a reduction broadcasts the upstream gradient back over the reduced
axes; ``_expand`` re-inserts those axes when ``keepdims=False``.

Signatures speak both dialects. NumPy's keywords (``axis``, ``keepdims``,
``ddof``) keep NumPy's meaning; PyTorch's (``dim``, ``keepdim``, ``unbiased``,
``correction``, ``dtype``) get PyTorch's, exactly: ``dim=[]`` reduces every
axis, ``var(x, dim=0)`` is unbiased, ``max(x, dim=0)`` returns
``(values, indices)``. Positional arguments are NumPy's (they mean the same in
both, except where the report of differences says so). The keywords are read
only when given, so ``x.sum()`` pays nothing for them.

Edges follow PyTorch: ``axis=0`` or ``-1`` on a 0-d tensor reduces nothing
(PyTorch accepts dim 0/-1 on 0-d tensors); the mean of zero elements is NaN
(0/0), and so is a variance with no degrees of freedom left (``ddof ≥ n``:
Σd²/0 is inf, or NaN when Σd² = 0); the product of zero elements is 1, the
logsumexp of zero elements −inf, and the softmax of an empty tensor is empty.
The variance of a complex tensor is real (the mean of |d|²). max/min and the
softmaxes refuse complex input, the softmaxes integer input too (PyTorch
has no such kernels); logsumexp computes integers in the default float dtype.
"""

from __future__ import annotations

import math

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, UnaryOp, off_tape
from ..autograd.tensor import Tensor, _wrap
from . import device_checks
from .elementwise import cast
from .shape import _data


_NOT_GIVEN = object()  # marks a PyTorch keyword the caller did not pass


def _torch_axis(op, axis, keepdims, dim, keepdim, empty_means_all=True, int_only=False, ndim=None):
    """Fold PyTorch's ``dim``/``keepdim`` into NumPy's ``axis``/``keepdims``.

    Called only when one of them was given. ``dim=[]`` or ``()`` reduces every
    axis in PyTorch's sum/mean/var/std/amax/amin (NumPy's ``axis=()`` reduces
    none); ``empty_means_all=False`` refuses it (logsumexp) and
    ``empty_means_all=None`` keeps it, reducing nothing (PyTorch's any/all). Ops
    whose PyTorch form takes one int dim (prod, max, min) refuse a tuple, as
    PyTorch does."""
    if dim is not _NOT_GIVEN:
        if axis is not None:
            raise OpError(f"{op}: got both axis={axis!r} (NumPy) and dim={dim!r} (PyTorch); pass one of them")
        if dim is not None and not isinstance(dim, int):
            if int_only:
                raise OpError(f"{op}: dim must be one int in PyTorch's {op}, got {dim!r}; reduce one dim at a "
                              f"time, or use axis= (NumPy) for several")
            dim = tuple(dim)
            if not dim and empty_means_all is not None:
                if not empty_means_all:
                    raise OpError(f"{op}: dim=() names no dimension to reduce (PyTorch refuses it too)")
                dim = None
        if isinstance(dim, bool) or (type(dim) is tuple and any(isinstance(d, bool) for d in dim)):
            raise OpError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if type(dim) is tuple and ndim is not None:
            seen = [d % ndim if ndim and isinstance(d, int) else d for d in dim]
            in_range = all(isinstance(d, int) and -max(ndim, 1) <= d < max(ndim, 1) for d in dim)
            if in_range and len(set(seen)) != len(seen):  # an out-of-range dim is reported as such (_norm_axis)
                raise OpError(f"{op}: dim {dim!r} names a dimension more than once (PyTorch refuses it too)")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise OpError(f"{op}: got both keepdims (NumPy) and keepdim (PyTorch); pass one of them")
        keepdims = bool(keepdim)
    return axis, keepdims


@off_tape
def _with_dtype(op, x, dtype):
    """PyTorch's ``dtype=`` of a reduction: the input is cast to it first (on
    the tape when both dtypes are floating)."""
    if dtype is None:
        return x
    dt = xp.dtype(dtype)
    current = getattr(x, "dtype", None)
    if current == dt:
        return x
    if isinstance(x, Tensor) and x.requires_grad:
        if dt.kind != "f":
            raise OpError(f"{op}: dtype={dt} is not floating, but the input requires grad; pass a floating dtype")
        return cast(x, dt)
    return _wrap(xp.asarray(_data(x)).astype(dt))


def _norm_axis(axis, ndim, op):
    """Normalise ``axis`` (None, int or tuple) to a sorted tuple of non-negative ints.

    A 0-d tensor has no axes, but accepts ``0`` and ``-1`` like PyTorch (a
    0-d tensor behaves as if it had one axis of size 1): they reduce nothing,
    so they normalise to ``()``."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if ndim == 0:
        for a in axes:
            if a not in (0, -1):
                raise DimError(f"{op}: axis {a} is out of range for a 0-d tensor (only 0 and -1 are accepted)")
        return ()
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise DimError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def _count(shape, axes) -> int:
    """How many elements a reduction over ``axes`` combines into each output."""
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _inverse(n):
    """1/n as the factor of a mean; NaN for n = 0, as PyTorch's mean of nothing (0/0)."""
    return 1.0 / n if n else math.nan


def _require_float(op, x):
    """PyTorch's mean/var/std refuse integer and boolean tensors (they cannot
    infer a floating output dtype); so do we, rather than pick one."""
    if x.dtype.kind not in "fc":
        raise OpError(f"{op}: expected a floating tensor, got {x.dtype}; convert it first "
                      f"(x.float() or x.to(rg.get_default_dtype()))")


def _shifted(axes, t, x):
    """Reduced ``axes`` of input ``x`` (normalised) as axes of its tangent ``t``, which
    may carry leading direction axes."""
    nl = t.ndim - x.ndim
    return tuple(a + nl for a in axes)


def _expand(ns, g, axes, keepdims):
    """Re-insert the reduced ``axes`` into ``g`` so it broadcasts against the input."""
    if keepdims or not axes:
        return g
    shape = list(g.shape)
    for a in axes:
        shape.insert(a, 1)
    return ns.reshape(g, tuple(shape))


class _Reduction(UnaryOp):
    __slots__ = ("axis", "keepdims")

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def extra_repr(self): return f"axis={self.axis}, keepdims={self.keepdims}"

    def _axes(self, x):
        return _norm_axis(self.axis, x.ndim, self.name)


class Sum(_Reduction):
    """y = Σₐ x;  x̄ = broadcast ȳ over the summed axes"""
    name = "sum"
    __slots__ = ()
    save_inputs = ()

    def forward(self, x): return x.sum(axis=_norm_axis(self.axis, x.ndim, "sum"), keepdims=self.keepdims)

    def vjp(self, ns, g, y, x):
        return (ns.broadcast_to(_expand(ns, g, self._axes(x), self.keepdims), x.shape),)

    def jvp(self, ns, ts, y, x):  # ẏ = Σₐ ẋ
        return ns.sum(ts[0], axis=_shifted(self._axes(x), ts[0], x), keepdims=self.keepdims)


def sum(x, axis=None, keepdims=False, *, dim=_NOT_GIVEN, keepdim=None, dtype=None):  # noqa: A001
    """Σ x over ``axis`` (all axes when None). PyTorch's ``dim``/``keepdim``
    (``dim=()`` sums everything) and ``dtype`` (cast first) are accepted."""
    if dim is not _NOT_GIVEN or keepdim is not None:
        axis, keepdims = _torch_axis("sum", axis, keepdims, dim, keepdim, ndim=len(x.shape))
    if dtype is not None:
        x = _with_dtype("sum", x, dtype)
    return _integer_total(Sum(axis, keepdims)(x), dtype)


class Mean(_Reduction):
    """y = Σₐ x / n;  x̄ = broadcast ȳ / n over the averaged axes"""
    name = "mean"
    __slots__ = ()
    save_inputs = ()

    def forward(self, x):
        if x.dtype.kind not in "fc":
            _require_float("mean", x)
        axes = _norm_axis(self.axis, x.ndim, "mean")
        # ndarray.mean's wrapper is slow; n = 0 gives NaN (0·NaN) like PyTorch
        return x.sum(axis=axes, keepdims=self.keepdims) * _inverse(_count(x.shape, axes))

    def vjp(self, ns, g, y, x):
        axes = self._axes(x)
        return (ns.broadcast_to(_expand(ns, g, axes, self.keepdims) * _inverse(_count(x.shape, axes)), x.shape),)

    def jvp(self, ns, ts, y, x):  # ẏ = Σₐ ẋ / n
        axes = self._axes(x)
        return ns.sum(ts[0], axis=_shifted(axes, ts[0], x), keepdims=self.keepdims) * _inverse(_count(x.shape, axes))


def mean(x, axis=None, keepdims=False, *, dim=_NOT_GIVEN, keepdim=None, dtype=None):
    """Σx / n over ``axis``; NaN where n = 0 (PyTorch's mean of an empty axis).
    PyTorch's ``dim``/``keepdim`` and ``dtype`` (an integer tensor is averaged
    in that floating dtype) are accepted."""
    if dim is not _NOT_GIVEN or keepdim is not None:
        axis, keepdims = _torch_axis("mean", axis, keepdims, dim, keepdim, ndim=len(x.shape))
    if dtype is not None:
        if xp.dtype(dtype).kind not in "fc":
            raise OpError(f"mean: dtype must be floating or complex, got {xp.dtype(dtype)} (PyTorch refuses it too)")
        x = _with_dtype("mean", x, dtype)
    return Mean(axis, keepdims)(x)


class Var(_Reduction):
    """y = Σₐ d² / max(0, n − ddof) with d = x − mean x;  x̄ = ȳ·2d / (n − ddof)

    PyTorch's definition, degenerate cases included: with no degrees of
    freedom left (n ≤ ddof) the value is Σd²/0, i.e. inf (NaN where Σd² = 0
    or n = 0). The gradient there is PyTorch's too: over all axes
    (``axis=None``) it is ȳ·(NaN where x equals the mean, inf elsewhere);
    over given axes it is the formula ȳ·2d/(n − ddof), whose factor is inf
    for n = ddof and finite (negative) for n < ddof.
    """
    name = "var"
    __slots__ = ("ddof",)
    save_inputs = (0,)

    def __init__(self, axis=None, keepdims=False, ddof=0):
        super().__init__(axis, keepdims)
        self.ddof = ddof

    def extra_repr(self): return f"axis={self.axis}, keepdims={self.keepdims}, ddof={self.ddof}"

    def forward(self, x):
        if x.dtype.kind not in "fc":
            _require_float("var", x)
        axes = _norm_axis(self.axis, x.ndim, "var")
        n = _count(x.shape, axes)
        d = x - x.sum(axis=axes, keepdims=True) * _inverse(n)
        if d.dtype.kind == "c":  # PyTorch: the real mean of |d|², in the matching real dtype
            d = xp.abs(d)
        squares = (d * d).sum(axis=axes, keepdims=self.keepdims)
        dof = n - self.ddof
        if dof > 0:
            return squares * (1.0 / dof)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return squares / xp.zeros((), dtype=squares.dtype)  # Σd²/0: inf, or NaN for 0/0

    def vjp(self, ns, g, y, x):
        axes = self._axes(ns.value(x))
        n = _count(x.shape, axes)
        g = _expand(ns, g, axes, self.keepdims)
        d = x - ns.sum(x, axis=axes, keepdims=True) * _inverse(n)
        dof = n - self.ddof
        if dof <= 0 and (self.axis is None or not axes):
            # PyTorch's all-axes rule: ∞·2d with the sign dropped, NaN where d = 0
            factor = xp.where(ns.value(d) == 0, math.nan, math.inf).astype(ns.value(x).dtype)
            with xp.errstate(invalid="ignore"):  # ȳ = 0 (a std of inf) times inf: NaN, as PyTorch
                return (g * factor,)
        with xp.errstate(invalid="ignore"):
            return (g * d * (2.0 / dof if dof else math.inf),)

    def jvp(self, ns, ts, y, x):
        """ẏ = Σₐ 2d·ẋ / (n − ddof)  (Σd = 0, so ẋ's own mean drops out); Re(d̄·ẋ) for complex x.
        The degenerate cases use the vjp's factor, so the two stay each other's transpose."""
        t = ts[0]
        xv = ns.value(x)
        axes = self._axes(xv)
        n = _count(x.shape, axes)
        d = x - ns.sum(x, axis=axes, keepdims=True) * _inverse(n)
        dof = n - self.ddof
        with xp.errstate(invalid="ignore"):
            if dof <= 0 and (self.axis is None or not axes):
                factor = xp.where(ns.value(d) == 0, math.nan, math.inf).astype(xv.dtype)
            else:
                factor = d * (2.0 / dof if dof else math.inf)
            if xv.dtype.kind == "c":  # a real output: Re(conj(factor)·ẋ) (arrays only: no conj on Tensors)
                terms = (xp.conj(ns.value(factor)) * ns.value(t)).real
            else:
                terms = t * factor
            return ns.sum(terms, axis=_shifted(axes, t, x), keepdims=self.keepdims)


def _var_arguments(op, x, axis, keepdims, ddof, dim, keepdim, unbiased, correction):
    """NumPy's (axis, keepdims, ddof) from either dialect. Any PyTorch keyword
    (or a bool where NumPy's axis goes: PyTorch's ``x.var(False)``) selects
    PyTorch's default of one degree of freedom removed (unbiased)."""
    numpy_style = axis is not None or keepdims or ddof is not None
    if numpy_style and dim is _NOT_GIVEN and keepdim is None and unbiased is None and correction is None:
        return axis, keepdims, 0 if ddof is None else ddof
    if isinstance(dim, bool):  # torch.var(x, unbiased)
        if unbiased is not None:
            raise OpError(f"{op}: unbiased given twice (positionally as {dim} and as a keyword)")
        dim, unbiased = _NOT_GIVEN, dim
    if dim is not _NOT_GIVEN or keepdim is not None:
        axis, keepdims = _torch_axis(op, axis, keepdims, dim, keepdim, ndim=len(x.shape))
    given = [name for name, v in (("ddof", ddof), ("unbiased", unbiased), ("correction", correction))
             if v is not None]
    if len(given) > 1:
        raise OpError(f"{op}: pass only one of {' and '.join(given)} (each sets the degrees of freedom removed)")
    if ddof is not None:
        return axis, keepdims, ddof
    if correction is not None:
        return axis, keepdims, correction
    return axis, keepdims, 1 if unbiased is None or unbiased else 0


def var(x, dim=_NOT_GIVEN, unbiased=None, keepdim=None, *, axis=None, keepdims=False, ddof=None,
        correction=None):
    """Mean squared deviation Σd²/(n − ddof).

    PyTorch's form (positional ``(dim, unbiased, keepdim)`` or those keywords,
    and ``correction``; also no arguments at all) removes one degree of freedom
    by default (unbiased, n − 1), as ``torch.var``; NumPy's form (``axis=``,
    ``keepdims=``, ``ddof=``) defaults to ddof 0, as ``numpy.var``. ``ddof ≥ n``
    gives inf (NaN when all deviations are 0), as PyTorch."""
    axis, keepdims, ddof = _var_arguments("var", x, axis, keepdims, ddof, dim, keepdim, unbiased, correction)
    return Var(axis, keepdims, ddof)(x)


def std(x, dim=_NOT_GIVEN, unbiased=None, keepdim=None, *, axis=None, keepdims=False, ddof=None,
        correction=None):
    """√var(x) over ``axis`` (its gradient is ȳ/(2·std) times var's); the
    arguments are var's, in either dialect."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind not in "fc":
        _require_float("std", x)
    axis, keepdims, ddof = _var_arguments("std", x, axis, keepdims, ddof, dim, keepdim, unbiased, correction)
    return StdOfVar()(Var(axis, keepdims, ddof)(x))


class StdOfVar(UnaryOp):
    """y = √v for v a variance;  v̄ = ȳ/(2y), and 0 where y = 0 (PyTorch's std_backward:
    a constant input, whose std is 0, gets a zero gradient rather than ȳ·∞·0 = NaN)"""
    name, save_ans = "std", True
    __slots__ = ()
    save_inputs = ()
    elementwise = True

    def forward(self, v): return xp.sqrt(v)

    def vjp(self, ns, g, y, v):
        zero = ns.value(y) == 0
        if not device_checks.may_hold(zero):
            return (g / (2 * y),)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (ns.where(zero, 0.0, g / (2 * y)),)

    def jvp(self, ns, ts, y, v): return self.vjp(ns, ts[0], y, v)[0]  # elementwise: v̇/(2y), 0 where y = 0


class Prod(_Reduction):
    """y = Πₐ x;  x̄ᵢ = ȳ·Π_{j≠i} xⱼ  (exclusive products: exact with zeros)

    Where y is not finite (a NaN or ±inf factor, or overflow) and x has no zero
    anywhere, the gradient is PyTorch's ȳ·y/xᵢ instead: NaN for every factor of
    a NaN product, inf/inf = NaN at an infinite factor. Those are the same
    numbers as the exclusive products wherever both are defined."""
    name, save_ans = "prod", True
    __slots__ = ()
    save_inputs = (0,)

    def forward(self, x): return xp.prod(x, axis=_norm_axis(self.axis, x.ndim, "prod"), keepdims=self.keepdims)

    def vjp(self, ns, g, y, x):
        xv = ns.value(x)
        axes = self._axes(xv)
        g = _expand(ns, g, axes, self.keepdims)
        if xv.ndim and not xp.isfinite(ns.value(y)).all() and not (xv == 0).any():
            with xp.errstate(invalid="ignore", divide="ignore"):
                return (g * (_expand(ns, y, axes, self.keepdims) / x),)
        others = ProdOthers(axes)(x) if not isinstance(x, xp.ndarray) else ProdOthers(axes).forward(x)
        return (g * others,)

    def jvp(self, ns, ts, y, x):
        """ẏ = Σₐ ẋᵢ·Π_{j≠i} xⱼ (the vjp's factor: y/xᵢ where y is not finite and x has no zero)"""
        t, xv = ts[0], ns.value(x)
        axes = self._axes(xv)
        with xp.errstate(invalid="ignore", divide="ignore"):
            if xv.ndim and not xp.isfinite(ns.value(y)).all() and not (xv == 0).any():
                factor = _expand(ns, y, axes, self.keepdims) / x
            else:
                factor = ProdOthers(axes)(x) if not isinstance(x, xp.ndarray) else ProdOthers(axes).forward(x)
            return ns.sum(t * factor, axis=_shifted(axes, t, x), keepdims=self.keepdims)


def prod(x, axis=None, keepdims=False, *, dim=_NOT_GIVEN, keepdim=None, dtype=None):
    """Π x over ``axis`` (its gradient is exact with zeros). PyTorch's ``dim``
    (one int, as PyTorch takes), ``keepdim`` and ``dtype`` are accepted."""
    if dim is not _NOT_GIVEN or keepdim is not None:
        axis, keepdims = _torch_axis("prod", axis, keepdims, dim, keepdim, int_only=True)
    if dtype is not None:
        x = _with_dtype("prod", x, dtype)
    return _integer_total(Prod(axis, keepdims)(x), dtype)


def _integer_total(out, dtype):
    """A sum or product of integers or booleans in PyTorch's dtype: the ``dtype`` asked for, else
    int64 (NumPy gives uint64 for unsigned input, and int64 for an int32 ``dtype=``)."""
    kind = out.dtype.kind
    if kind not in "iub":
        return out
    want = xp.dtype(dtype) if dtype is not None else xp.dtype(xp.int64)
    return out if out.dtype == want else cast(out, want)


class ProdOthers(UnaryOp):
    """y_i = Π_{j≠i} x_j over ``axes`` (the derivative of prod).

    Its own vjp: x̄_k = Σ_{i≠k} ȳ_i·Π_{j∉{i,k}} x_j, computed by brute force
    over pairs; used only for second derivatives of prod.
    """
    name = "prod_others"
    __slots__ = ("axes",)
    save_inputs = (0,)

    def __init__(self, axes): self.axes = axes

    def forward(self, x):
        axes = self.axes
        moved = xp.moveaxis(x, axes, tuple(range(-len(axes), 0)))
        flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (_count(x.shape, axes),))
        if flat.shape[-1] == 0:  # a product of nothing: no entries to differentiate
            return xp.zeros_like(x)
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        out = (left * right).reshape(moved.shape)
        return xp.moveaxis(out, tuple(range(-len(axes), 0)), axes)

    def vjp(self, ns, g, y, x):
        axes = self.axes
        n = 1
        for a in axes:
            n *= x.shape[a]
        moved = ns.value(x)
        # Σ_{i≠k} g_i Π_{j∉{i,k}} x_j : zero x_k and x_i in turn (small n only).
        xm = xp.moveaxis(moved, axes, tuple(range(-len(axes), 0)))
        flat = xm.reshape(xm.shape[: xm.ndim - len(axes)] + (n,))
        gm = xp.moveaxis(ns.value(g), axes, tuple(range(-len(axes), 0))).reshape(flat.shape)
        res = xp.zeros_like(flat)
        for k in range(n):
            for i in range(n):
                if i != k:
                    keep = [j for j in range(n) if j not in (i, k)]
                    res[..., k] += gm[..., i] * xp.prod(flat[..., keep], axis=-1)
        out = xp.moveaxis(res.reshape(xm.shape), tuple(range(-len(axes), 0)), axes)
        return (out,)

    def jvp(self, ns, ts, y, x):
        """ẏᵢ = Σ_{k≠i} ẋₖ·Π_{j∉{i,k}} xⱼ: the matrix of those products (symmetric, so the vjp's
        too) applied to ẋ along the flattened ``axes``. The matrix is a constant, as in the vjp."""
        t, xv, axes = ts[0], ns.value(x), tuple(self.axes)
        nl = t.ndim - xv.ndim
        n = _count(xv.shape, axes)
        if not n:
            return t
        rest = tuple(a for a in range(xv.ndim) if a not in axes)
        order = rest + axes  # the product axes last, flattened into one
        moved = xp.transpose(xv, order)
        batch = moved.shape[:len(rest)]
        flat = moved.reshape(batch + (n,))
        rows = []
        for i in range(n):  # row i: Π_{j≠k} of x with xᵢ := 1, then 0 at k = i
            xi = flat.copy()
            xi[..., i] = 1
            row = ProdOthers((xi.ndim - 1,)).forward(xi)
            row[..., i] = 0
            rows.append(row)
        pairs = xp.stack(rows, axis=-2)  # batch + (n, n)
        lead = tuple(t.shape[:nl])
        tm = ns.reshape(ns.transpose(t, tuple(range(nl)) + tuple(nl + a for a in order)), lead + batch + (n, 1))
        out = ns.reshape(ns.matmul(pairs, tm), lead + moved.shape)
        back = sorted(range(len(order)), key=order.__getitem__)
        return ns.transpose(out, tuple(range(nl)) + tuple(nl + a for a in back))
