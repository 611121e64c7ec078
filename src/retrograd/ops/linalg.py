"""Linear algebra: matmul (batched, with NumPy's vector rules) and the fused
affine map ``linear`` (x·Wᵀ + b, PyTorch's weight layout).

Like PyTorch, both refuse operands of different dtypes (NumPy would silently
compute a float32 model on a float64 input in float64, gradients included).
"""

from __future__ import annotations

import math

from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.forward import PARAMETER_SEEDS, Basis, Colored, Pieces
from ..autograd.op import BinaryOp, OpError, TernaryOp


def _rows(a):
    """(rows, last) of ``a`` flattened over its leading axes: explicit sizes, so a 0-size
    last axis reshapes too (``reshape(-1, 0)`` is ambiguous)."""
    return (math.prod(a.shape[:-1]), a.shape[-1])


def _mT(ns, a):
    return ns.swapaxes(a, -1, -2)


def _times_transpose(ns, rows, w):
    """``rows @ wᵀ`` for a tangent flattened to (directions·rows, in). A tangent kept with its
    leading directions fastest in memory (Fortran order, as RTRL's influence is kept) is
    multiplied as (w · rowsᵀ)ᵀ: the same product as one (out × in)·(in × L) GEMM on
    contiguous memory — the orientation of a hand-written RTRL's Jₜ·Mₜ₋₁, about 10 % faster
    than (L × in)·(in × out) at RTRL's sizes — whose result keeps that order."""
    if type(rows) is backend.ndarray and rows.ndim == 2 and rows.flags.f_contiguous and not rows.flags.c_contiguous:
        return ns.swapaxes(ns.matmul(w, ns.swapaxes(rows, 0, 1)), 0, 1)
    return ns.matmul(rows, _mT(ns, w))


def _same_dtype(op, a, b, what=("operands", "")) -> None:
    """Refuse ``a`` and ``b`` of different dtypes, naming both (PyTorch: "expected
    m1 and m2 to have the same dtype")."""
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if da is not db and da != db:
        raise OpError(f"{op}: expected {what[0]} of the same dtype, got {da}{list(getattr(a, 'shape', ()))} and "
                      f"{db}{list(getattr(b, 'shape', ()))}{what[1]}; convert one first, e.g. x.to(w.dtype)")


class MatMul(BinaryOp):
    """C = A @ B;  Ā = C̄ @ Bᵀ,  B̄ = Aᵀ @ C̄

    1-D operands follow NumPy: a vector on the left is a row, on the right a
    column. Batch dimensions broadcast, and the engine sums the gradient back
    over them.
    """
    name, broadcasts = "matmul", True
    __slots__ = ()
    save_inputs = {0: (1,), 1: (0,)}

    def forward(self, a, b):
        try:
            same = a.dtype is b.dtype
        except AttributeError:  # a list constant: an array with NumPy's dtype, which must match too
            a, b, same = xp.asarray(a), xp.asarray(b), False
        if not same:
            _same_dtype(self.name, a, b)
        return xp.matmul(a, b)

    def vjp(self, ns, g, c, a, b):
        n = self.needs
        if a.ndim == 1 and b.ndim == 1:  # inner product: g is a scalar
            return (g * b if n[0] else None), (g * a if n[1] else None)
        if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
            ga = ns.matmul(b, ns.expand_dims(g, -1))[..., 0] if n[0] else None
            gb = ns.expand_dims(a, -1) * ns.expand_dims(g, -2) if n[1] else None
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
            ga = ns.expand_dims(g, -1) * b if n[0] else None
            gb = ns.matmul(ns.expand_dims(g, -2), a)[..., 0, :] if n[1] else None
            return ga, gb
        ga = ns.matmul(g, _mT(ns, b)) if n[0] else None
        gb = ns.matmul(_mT(ns, a), g) if n[1] else None
        return ga, gb

    # the walk does not line tangents up elementwise: matmul's batch axes are all but the last two
    aligns_tangents = False

    def jvp(self, ns, ts, c, a, b):
        """Ċ = Ȧ @ B + A @ Ḃ, 1-D operands promoted to a row / a column and the
        tangents' leading axes put in front of the batch axes."""
        ta, tb = ts
        a_shape, b_shape = tuple(a.shape), tuple(b.shape)
        a2 = a_shape if len(a_shape) > 1 else (1,) + a_shape
        b2 = b_shape if len(b_shape) > 1 else b_shape + (1,)
        nd = max(len(a2), len(b2))

        def lift(t, own, shape2):  # lead + own -> lead + 1…1 + shape2
            lead = tuple(t.shape[:len(t.shape) - len(own)])
            return ns.reshape(t, lead + (1,) * (nd - len(shape2)) + shape2), lead
        r = None
        if ta is not None:
            t, lead = lift(ta, a_shape, a2)
            r = ns.matmul(t, b if len(b_shape) > 1 else ns.reshape(b, b2))
        if tb is not None:
            t, lead = lift(tb, b_shape, b2)
            term = ns.matmul(a if len(a_shape) > 1 else ns.reshape(a, a2), t)
            r = term if r is None else r + term
        out = _matmul_shape(a_shape, b_shape)
        return ns.reshape(r, lead + out)


def matmul(a, b):
    """Matrix product with NumPy's rules (batched, 1-D vectors)."""
    return MatMul()(a, b)


class Linear(TernaryOp):
    """y = x Wᵀ + b  (W: [out, in]);  x̄ = ȳ W,  W̄ = ȳᵀ x,  b̄ = Σ ȳ

    One op instead of transpose + matmul + add: fewer tape entries on the
    hottest path of every MLP. Leading dimensions of x are batch dimensions.
    """
    name = "linear"
    __slots__ = ()
    save_inputs = {0: (1,), 1: (0,)}
    takes_pieces = True  # its jvp reads a concatenated input's tangent part by part
    takes_scale = True  # its jvp folds a following one-row elementwise scale into W (``scale=``)

    def forward(self, x, w, b=None):
        if x.dtype is not w.dtype:
            _same_dtype(self.name, x, w, ("input and weight", ""))
        if b is not None and b.dtype is not w.dtype:
            _same_dtype(self.name, b, w, ("bias and weight", ""))
        if x.ndim > 2:  # one GEMM over all leading dimensions, not one per batch entry
            y = (x.reshape(_rows(x)) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        else:
            y = xp.matmul(x, w.T)
        if b is not None:
            y += b
        return y

    def vjp(self, ns, g, y, x, w, b=None):
        n = self.needs
        gx = None
        if n[0]:
            gx = ns.reshape(ns.reshape(g, _rows(g)) @ w, x.shape) if g.ndim > 2 else g @ w
        gw = gb = None
        if n[2]:
            gb = g.sum(0) if g.ndim == 2 else g.sum(axis=tuple(range(g.ndim - 1))) if g.ndim > 2 else g
            if gb.shape != b.shape:  # a bias that broadcasts (PyTorch accepts any): summed back to its shape
                gb = ns.sum_to(g, b.shape)
        if n[1]:
            if x.ndim == 2:
                gw = g.T @ x
            elif x.ndim == 1:
                gw = ns.reshape(g, (-1, 1)) @ ns.reshape(x, (1, -1))
            else:
                gw = _mT(ns, ns.reshape(g, _rows(g))) @ ns.reshape(x, _rows(x))
        return gx, gw, gb

    def jvp(self, ns, ts, y, x, w, b=None, *, scale=None):
        """ẏ = ẋ Wᵀ + x Ẇᵀ + ḃ (the tangents' leading axes in front of x's batch axes).

        ``scale`` (out,), on arrays: the tangent of scale ⊙ y instead — a one-row elementwise
        op after this one folded in (a replay's RTRL step): ẋ (W ⊙ scale)ᵀ scales the n×n
        weight once instead of the P×n tangent after the GEMM, as a hand-written RTRL
        multiplies φ′ into its Jacobian."""
        tx, tw, tb = ts
        tw, tb = (t.dense() if type(t) is Pieces else t for t in (tw, tb))
        x_shape, w_shape = tuple(x.shape), tuple(w.shape)
        out = x_shape[:-1] + (w_shape[0],)
        r, lead = None, None
        w_x = w if scale is None else w * scale[:, None]
        if type(tx) is Pieces and tx.axis == tx.ndim - 1:  # ẋ = [ẋ₁, 0, …]: Σ ẋₖ W[:, kth columns]ᵀ
            lead = tuple(tx.shape[:tx.ndim - len(x_shape)])
            start = 0
            for part, size in zip(tx.parts, tx.sizes):
                if part is not None:
                    term = ns.reshape(_times_transpose(ns, ns.reshape(part, _rows(part)), w_x[:, start:start + size]),
                                      lead + out)
                    r = term if r is None else r + term
                start += size
        elif tx is not None:  # one GEMM over every leading and batch row (a stacked matmul is one per row)
            if type(tx) is Pieces:
                tx = tx.dense()
            lead = tuple(tx.shape[:len(tx.shape) - len(x_shape)])
            r = ns.reshape(_times_transpose(ns, ns.reshape(tx, _rows(tx)), w_x), lead + out)
        if tw is not None:  # Σᵢ x[…, i] Ẇ[l, o, i]: one GEMM (L·out, in) @ (in, rows), then axes moved
            lead = tuple(tw.shape[:len(tw.shape) - 2])
            n_lead, rows = math.prod(lead), math.prod(x_shape[:-1])
            prod = ns.matmul(ns.reshape(tw, (n_lead * w_shape[0], w_shape[1])), _mT(ns, ns.reshape(x, (rows, w_shape[1]))))
            term = ns.reshape(ns.swapaxes(ns.reshape(prod, (n_lead, w_shape[0], rows)), -1, -2), lead + out)
            if scale is not None:
                term = term * scale
            r = term if r is None else r + term
        if tb is not None:
            b_shape = tuple(b.shape)
            lead = tuple(tb.shape[:len(tb.shape) - len(b_shape)])
            term = ns.reshape(tb, lead + (1,) * (len(out) - len(b_shape)) + b_shape)
            if scale is not None:
                term = term * scale
            r = term if r is None else r + term
        if tuple(r.shape) != lead + out:
            r = ns.broadcast_to(r, lead + out)
        return r

    def jvp_basis(self, ns, ts, y, x, w, b=None, *, scale=None):
        """The jvp when the weight or the bias is seeded with its own basis (``forward.Basis``,
        RTRL's immediate influence): direction (o, i) of W moves output unit o by x_i,
        direction o of b moves unit o by 1 — written into place, not multiplied out
        (times ``scale``'s entry o, as ``jvp``'s ``scale``)."""
        tx, tw, tb = ts
        seeded = [type(t) in PARAMETER_SEEDS for t in ts]
        x_shape, w_shape = tuple(x.shape), tuple(w.shape)
        batch, (n_out, n_in) = x_shape[:-1], w_shape
        kinds = {type(tw), type(tb)}
        if seeded[0] or Colored in kinds and Basis in kinds or seeded[2] and tuple(tb.shape) != (n_out,):
            # the input seeded, the two kinds mixed, or a broadcast bias: no structure to use, dense
            return self.jvp(ns, tuple(t.dense() if s else t for s, t in zip(seeded, ts)), y, x, w, b, scale=scale)
        rest = tuple(None if s else t for s, t in zip(seeded, ts))
        seed = next(t for t in ts if type(t) in PARAMETER_SEEDS)
        if any(t is not None for t in rest):
            r = self.jvp(ns, rest, y, x, w, b, scale=scale)
            if not r.flags.writeable:  # a broadcast bias tangent: a view, copied before writing into it
                r = r.copy()
        else:
            # directions fastest in memory: the influence's GEMM then takes the faster orientation
            # (``_times_transpose``), and so does every later step's, whose result keeps the order
            r = xp.zeros((seed.total,) + batch + (n_out,), dtype=seed.dtype, order="F")
        if Colored in kinds:
            return _add_colored(r if r.flags.c_contiguous else r.copy(), tw, tb, x, n_out, scale)
        if seeded[1]:  # r[(o, i), …, o] += x[…, i]: the diagonal over the first and last axes, in place
            block = r[tw.offset:tw.offset + tw.size].reshape((n_out, n_in) + batch + (n_out,))
            moved = x.transpose((x.ndim - 1,) + tuple(range(x.ndim - 1)))  # x's last axis first (moveaxis, cheaper)
            if scale is not None:
                moved = moved * scale.reshape((n_out,) + (1,) * x.ndim)
            _diagonal_first_last(block)[...] += moved
        if seeded[2]:
            block = r[tb.offset:tb.offset + n_out].reshape((n_out,) + batch + (n_out,))
            _diagonal_first_last(block)[...] += 1 if scale is None else scale.reshape((n_out,) + (1,) * len(batch))
        return r


def _add_colored(r, tw, tb, x, n_out, scale):
    """r (colours, *batch, out) plus the colour-compressed immediate tangent: W's entry (o, i)
    of colour c moves output o by x_i in direction c, b's entry o by 1 — each (colour, o) at
    most once, as a colouring makes them (``forward.Colored``)."""
    rows = r.reshape(r.shape[0], -1, n_out)  # (colours, batch rows, out): a view of the fresh r
    xr = x.reshape(-1, x.shape[-1])
    if type(tw) is Colored:
        if tw.entries is None:
            tw.entries = (tw.colors.reshape(-1),) + tuple(xp.divmod(xp.arange(n_out * tw.shape[1]), tw.shape[1]))
        colors, o, i = tw.entries
        values = xr[:, i].T  # (entries, batch rows)
        if scale is not None:
            values *= scale[o][:, None]
        rows[colors, :, o] += values
    if type(tb) is Colored:
        if tb.entries is None:
            tb.entries = (tb.colors.reshape(-1), xp.arange(n_out))
        colors, o = tb.entries
        rows[colors, :, o] += (1.0 if scale is None else scale[:, None])
    return r


def _diagonal_first_last(a):
    """A writeable view of a[k, …, k] (shape a.shape[1:-1] after k): the entries where the first
    and the last index agree (``diagonal`` gives a read-only view; einsum's is writeable, for
    any strides; a strided view elsewhere)."""
    if type(a) is backend.host.ndarray and a.flags.writeable:
        return backend.host.einsum("i...i->i...", a)
    strides = (a.strides[0] + a.strides[-1],) + a.strides[1:-1]
    return xp.lib.stride_tricks.as_strided(a, shape=(a.shape[0],) + a.shape[1:-1], strides=strides)


def _matmul_shape(a: tuple, b: tuple) -> tuple:
    """The shape of a @ b under NumPy's matmul rules (1-D operands promoted, then dropped)."""
    a2 = a if len(a) > 1 else (1,) + a
    b2 = b if len(b) > 1 else b + (1,)
    batch = xp.broadcast_shapes(a2[:-2], b2[:-2])
    return tuple(batch) + ((a2[-2],) if len(a) > 1 else ()) + ((b2[-1],) if len(b) > 1 else ())


def _shape(a) -> tuple:
    return tuple(a.shape) if hasattr(a, "shape") else xp.asarray(a).shape


def linear(x, weight, bias=None):
    """x·Wᵀ + b with PyTorch's layout (W: [out_features, in_features]).

    As ``torch.nn.functional.linear``: ``bias`` may be any shape that broadcasts to the output
    x.shape[:-1] + (out_features,) (its gradient is summed back to its shape); a 1-D weight
    (in_features,) gives x·w without bias. Anything else is refused, naming the shapes."""
    try:  # the common case first, with no checks beyond the op's own: every Linear layer's call
        ws, xs = weight.shape, x.shape
        if len(ws) == 2 and xs and xs[-1] == ws[1] and (bias is None or bias.shape == (ws[0],)):
            return Linear()(x, weight, bias)
    except AttributeError:  # arrays given as lists or numbers: the checks below convert and name them
        pass
    xs, ws = _shape(x), _shape(weight)
    if len(ws) not in (1, 2) or len(xs) == 0 or xs[-1] != ws[-1]:
        raise OpError(f"linear: input of shape {xs} and weight of shape {ws} do not fit: the weight must be "
                      f"(out_features, {xs[-1] if xs else 'in_features'})")
    if len(ws) == 1:
        if bias is not None:
            raise OpError(f"linear: a 1-D weight of shape {ws} takes no bias (got bias of shape {_shape(bias)}); "
                          f"reshape the weight to (1, {ws[0]})")
        return matmul(x, weight)
    if bias is not None:
        out_shape, bs = xs[:-1] + (ws[0],), _shape(bias)
        if len(bs) > len(out_shape) or any(b not in (1, o) for b, o in zip(bs[::-1], out_shape[::-1])):
            raise OpError(f"linear: bias of shape {bs} does not broadcast to the output shape {out_shape} "
                          f"(input {xs}, weight {ws}); the bias should be ({ws[0]},)")
    return Linear()(x, weight, bias)
