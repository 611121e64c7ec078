"""Cumulative sums and products along one axis (PyTorch's ``cumsum``/``cumprod``).

The vjp of a cumulative sum is a cumulative sum in the other direction:
x̄ₖ = Σ_{i≥k} ȳᵢ. The vjp of a cumulative product is

    x̄ₖ = Σ_{i≥k} ȳᵢ · Π_{j≤i, j≠k} xⱼ,

which equals (reverse-cumsum of ȳ·y)ₖ / xₖ only where no zero precedes or
sits at k. With zeros it is computed exactly, like PyTorch: before a line's
first zero by the division formula, at the first zero from the cumulative
product with that zero left out, after it 0. Under ``create_graph`` with zeros
present the rule is built from differentiable pieces in O(n²) (one cumulative
product per position, again as PyTorch does), so second derivatives are exact.
"""

from __future__ import annotations

from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, UnaryOp
from ..autograd.tensor import Tensor


def _check_dim(dim, ndim, name):
    if not isinstance(dim, int):
        raise OpError(f"{name}: dim must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimError(f"{name}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % ndim if ndim else 0


def _accumulator_dtype(dtype, requested):
    """PyTorch's: integers and booleans accumulate in int64 unless a dtype is asked for."""
    if requested is not None:
        return xp.dtype(requested)
    return xp.dtype(xp.int64) if dtype.kind in "biu" else dtype


def _reverse_cumsum_array(g, axis):
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


class CumSum(UnaryOp):
    """yᵢ = Σ_{j≤i} xⱼ along ``axis``;  x̄ₖ = Σ_{i≥k} ȳᵢ (a reversed cumulative sum)"""
    name = "cumsum"
    __slots__ = ("axis", "dtype", "reverse")
    save_inputs = ()

    def __init__(self, axis, dtype=None, reverse=False):
        self.axis, self.dtype, self.reverse = axis, dtype, reverse

    def extra_repr(self): return f"dim={self.axis}" + (", reverse" if self.reverse else "")

    def forward(self, x):
        if x.ndim == 0:
            return x.astype(_accumulator_dtype(x.dtype, self.dtype), copy=True)
        dtype = _accumulator_dtype(x.dtype, self.dtype)
        if self.reverse:
            return xp.flip(xp.cumsum(xp.flip(x, self.axis), axis=self.axis, dtype=dtype), self.axis)
        return xp.cumsum(x, axis=self.axis, dtype=dtype)

    def vjp(self, ns, g, y, x):
        if g.ndim == 0:
            return (g,)
        return (ns.cumsum(g, self.axis, not self.reverse),)

    def jvp(self, ns, ts, y, x):
        """ẏ = cumsum(ẋ) along the axis (in the same direction)"""
        t = _in_output_dtype(ns, ts[0], x, self.dtype)
        if t is None or not x.ndim:
            return t
        return ns.cumsum(t, self.axis % x.ndim + t.ndim - x.ndim, self.reverse)


def cumsum(x, dim: int, dtype=None):
    """Running sums along ``dim``: yᵢ = x₀ + … + xᵢ. Integer and boolean inputs
    give int64 (PyTorch), unless ``dtype`` says otherwise."""
    if not isinstance(x, Tensor):
        x = xp.asarray(x)
    return CumSum(_check_dim(dim, x.ndim, "cumsum"), dtype)(x)


def _in_output_dtype(ns, t, x, requested):
    """Tangent ``t`` in the op's output dtype (``dtype=`` may widen it), or None for an integer output."""
    dtype = _accumulator_dtype(x.dtype, requested)
    if dtype.kind not in "fc":
        return None
    return t if t.dtype == dtype else ns.astype(t, dtype)


namespaces.extend("cumsum", lambda g, axis, reverse=False: _reverse_cumsum_array(g, axis) if reverse
                  else xp.cumsum(g, axis=axis),
                  lambda g, axis, reverse=False: CumSum(axis, None, reverse)(g))


class CumProd(UnaryOp):
    """yᵢ = Π_{j≤i} xⱼ along ``axis``;  x̄ₖ = Σ_{i≥k} ȳᵢ·Π_{j≤i, j≠k} xⱼ (exact with zeros)"""
    name, save_ans = "cumprod", True
    __slots__ = ("axis", "dtype")
    save_inputs = (0,)

    def __init__(self, axis, dtype=None): self.axis, self.dtype = axis, dtype
    def extra_repr(self): return f"dim={self.axis}"

    def forward(self, x):
        dtype = _accumulator_dtype(x.dtype, self.dtype)
        if x.ndim == 0:
            return x.astype(dtype, copy=True)
        return xp.cumprod(x, axis=self.axis, dtype=dtype)

    def vjp(self, ns, g, y, x):
        if g.ndim == 0 or g.size <= 1 or g.shape[self.axis] == 1:
            # y = x along the axis: ȳ passes through (PyTorch's too, also at NaN/±inf); under
            # create_graph it stays on x's tape (with derivative 0) so a second grad finds x
            return (g if not isinstance(x, Tensor) else ns.where(xp.ones(x.shape, dtype=bool), g, x),)
        xv = ns.value(x)
        zero = xv == 0
        if isinstance(x, Tensor):  # create_graph: build the rule from differentiable ops
            if not zero.any():
                return (ns.cumsum(g * y, self.axis, True) / x,)
            return (_cumprod_vjp_quadratic(ns, g, x, self.axis),)
        return (_cumprod_vjp_array(g, y, xv, zero, self.axis),)

    def jvp(self, ns, ts, y, x):
        """ẏᵢ = Σ_{k≤i} ẋₖ·Π_{j≤i, j≠k} xⱼ: y·cumsum(ẋ/x) without zeros; with zeros, the vjp's
        pieces (so the two are each other's transpose): before a line's first zero the same,
        from it to the second zero ẋ_z times the running product with that zero left out, 0 after."""
        t = _in_output_dtype(ns, ts[0], x, self.dtype)
        if t is None or not x.ndim or x.size <= 1 or x.shape[self.axis] == 1:
            return t  # y = x along the axis
        axis = self.axis
        along = axis + t.ndim - x.ndim
        xv = ns.value(x)
        zero = xv == 0
        with xp.errstate(invalid="ignore", divide="ignore"):
            if not zero.any():
                return y * ns.cumsum(t / x, along)
            if isinstance(x, Tensor):  # differentiable walk: exact polynomial pieces, O(n²)
                return _cumprod_jvp_quadratic(ns, t, x, axis, along)
            zeros_so_far = xp.cumsum(zero, axis=axis)
            before = zeros_so_far == 0
            at_first = zero & (zeros_so_far == 1)
            up_to_second = zeros_so_far == 1
            head = y * xp.cumsum(xp.where(before, t / xp.where(before, x, 1), 0), axis=along)
            tz = xp.sum(xp.where(at_first, t, 0), axis=along, keepdims=True)
            without = xp.cumprod(xp.where(at_first, 1, x), axis=axis)
            out = xp.where(before, head, xp.where(up_to_second, tz * without, 0))
        return out.astype(t.dtype, copy=False)


def _cumprod_vjp_array(g, y, x, zero, axis):
    """The exact first-order rule on arrays, O(n) per line.

    Each term is summed only over the positions it can reach, as PyTorch
    does, so a NaN/±inf beyond a zero (whose y there is 0·inf = NaN) does not
    leak into the gradient of the entries before it."""
    if not zero.any():
        return _reverse_cumsum_array(g * y, axis) / x  # at ±inf: inf/inf = NaN, as PyTorch
    zeros_so_far = xp.cumsum(zero, axis=axis)
    before = zeros_so_far == 0
    at_first = zero & (zeros_so_far == 1)
    up_to_second = zeros_so_far == 1
    with xp.errstate(invalid="ignore", divide="ignore"):
        # before the first zero x ≠ 0: divide out xₖ, summing ȳ·y only where y ≠ 0 can hold
        total = _reverse_cumsum_array(xp.where(before, g * y, 0), axis)
        out = xp.where(before, total / xp.where(before, x, 1), 0)
        # at the first zero: the running product with that factor replaced by 1, up to the second zero
        without = xp.cumprod(xp.where(at_first, 1, x), axis=axis)
        at_value = xp.sum(xp.where(up_to_second, g * without, 0), axis=axis, keepdims=True)
    return xp.where(at_first, at_value, out).astype(g.dtype, copy=False)


def _cumprod_vjp_quadratic(ns, g, x, axis):
    """x̄ₖ = Σ_{i≥k} ȳᵢ·cumprod(x with xₖ := 1)ᵢ, one cumulative product per k,
    from differentiable ops (used under create_graph when x has zeros)."""
    n = x.shape[axis]
    shape = (n,) + (1,) * (x.ndim - axis - 1)
    position = xp.arange(n).reshape(shape)
    columns = []
    for k in range(n):
        left_out = xp.broadcast_to(position == k, x.shape)
        partial = CumProd(axis)(ns.where(left_out, 1.0, x))
        tail = xp.broadcast_to(position >= k, x.shape)
        columns.append(ns.sum(ns.where(tail, g * partial, 0.0), axis=axis, keepdims=True))
    return ns.concatenate(columns, axis)


def _cumprod_jvp_quadratic(ns, t, x, axis, along):
    """ẏ = Σₖ ẋₖ·cumprod(x with xₖ := 1) from position k on, from differentiable ops (the
    transpose of ``_cumprod_vjp_quadratic``)."""
    n = x.shape[axis]
    position = xp.arange(n).reshape((n,) + (1,) * (x.ndim - axis - 1))
    total = None
    for k in range(n):
        partial = CumProd(axis)(ns.where(xp.broadcast_to(position == k, x.shape), 1.0, x))
        tk = ns.getitem(t, (slice(None),) * along + (slice(k, k + 1),))
        term = ns.where(xp.broadcast_to(position >= k, x.shape), tk * partial, 0.0)
        total = term if total is None else total + term
    return total


def cumprod(x, dim: int, dtype=None):
    """Running products along ``dim``: yᵢ = x₀·…·xᵢ. The gradient is exact
    where x has zeros (PyTorch's too). Integer and boolean inputs give int64."""
    if not isinstance(x, Tensor):
        x = xp.asarray(x)
    return CumProd(_check_dim(dim, x.ndim, "cumprod"), dtype)(x)
