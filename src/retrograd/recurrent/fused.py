"""Whole-sequence recurrent ops with a hand-written per-gate BPTT.

One op runs a layer over all T steps: the input projection of every step is
one GEMM, each step adds one (B×H)·(H×kH) GEMM, and the activations are saved
in preallocated buffers. Its vjp is backpropagation through time written out
gate by gate (the seed page 002 question "how does BPTT work for an LSTM, per
gate?"), then the weight gradients as one GEMM each over all steps:

LSTM, per step t (backwards), with δh the gradient arriving at hₜ:
    δo = δh ⊙ tanh cₜ ⊙ o(1 − o)
    δc = δc₊ + δh ⊙ o ⊙ (1 − tanh² cₜ)
    δi = δc ⊙ g ⊙ i(1 − i)       δg = δc ⊙ i ⊙ (1 − g²)
    δf = δc ⊙ cₜ₋₁ ⊙ f(1 − f)    δc₊ ← δc ⊙ f
    δhₜ₋₁ = [δi δf δg δo] W_hh
    W̄_ih = Σₜ δaₜᵀ xₜ,  W̄_hh = Σₜ δaₜᵀ hₜ₋₁,  b̄ = Σₜ δaₜ,  x̄ₜ = δaₜ W_ih

Each op returns (outputs h₁…h_T, final h, final c) and is tested equal, in
value and gradient, to the composed cells and to PyTorch's layers.

What a vjp needs (the gate buffer, the states, tanh cₜ) is declared with
``Op.save`` and released by the engine right after the vjp ran. With
``create_graph=True`` the engine asks for ``vjp_differentiable`` instead: the
forward is recorded again from the cells' equations (``cells.lstm_update`` …)
and differentiated on the tape, so second derivatives (Hessian-vector
products) flow through a fused layer.

The backward loop emits ``STEP_EVENT`` to the observers of ``autograd.hooks``
with each step's deltas: ``rg.bptt.trace`` listens with
``hooks.observe(STEP_EVENT, fn)``.
"""

from __future__ import annotations

from .. import ops
from ..autograd import backend, conventions, hooks
from ..autograd.backend import xp
from ..autograd.engine import grad
from ..autograd.mode import enable_grad
from ..autograd.op import MultiOp, OpError, UnaryOp
from . import cells


def _sigmoid_(a):
    """In place: σ(a) = 1 / (1 + e⁻ᵃ) (``backend.sigmoid``; the errstate around
    the loops covers the NumPy-only fallback)."""
    return backend.sigmoid(a, out=a)


# hooks event: fn(op, t, δh, δc or None, δa), per step of a fused op's backward loop,
# where δa holds the step's stacked gate pre-activation deltas (B, k·H).
STEP_EVENT = "recurrent.step"


def _check(name, x, h0, w_ih, w_hh, k):
    if x.ndim != 3:
        raise OpError(f"{name}: input must be (T, B, input_size), got shape {x.shape}")
    rows, hidden = w_hh.shape
    if rows != k * hidden or w_ih.shape != (rows, x.shape[2]):
        raise OpError(f"{name}: weights of shapes {w_ih.shape}, {w_hh.shape} do not fit input {x.shape} "
                      f"(expected ({k}*H, {x.shape[2]}) and ({k}*H, H))")
    if h0.shape != (x.shape[1], hidden):
        raise OpError(f"{name}: initial state of shape {h0.shape}, expected {(x.shape[1], hidden)}")


def _check_dtypes(name, w_ih, **arrays):
    """Refuse an input, state or weight whose dtype differs from ``w_ih``'s, as
    PyTorch's recurrent layers do (NumPy would run a float32 layer on a float64
    input in float64, and hand float64 gradients to float32 weights)."""
    for what, a in arrays.items():
        if a is not None and a.dtype != w_ih.dtype:
            model = f", or the model: model.to({a.dtype})" if a.dtype.kind == "f" else ""  # weights stay floats
            raise OpError(f"{name}: {what} dtype ({a.dtype}) does not match weight dtype ({w_ih.dtype}); "
                          f"convert the {what}: {what}.to({w_ih.dtype}){model}")


def _input_projection(x, w_ih, b_ih, b_hh, extra_bias=True):
    T, B, I = x.shape
    G = (x.reshape(T * B, I) @ w_ih.T).reshape(T, B, w_ih.shape[0])
    if b_ih is not None:
        G += b_ih
    if extra_bias and b_hh is not None:
        G += b_hh
    return G


def _weight_grads(needs, dA, x, hs_prev, w_ih):
    """x̄, W̄_ih and W̄_hh of the LSTM from its stacked pre-activation deltas dA (T, B, 4H)."""
    T, B, I = x.shape
    dA2 = dA.reshape(T * B, dA.shape[-1])
    gx = (dA2 @ w_ih).reshape(T, B, I) if needs[0] else None
    gw_ih = dA2.T @ x.reshape(T * B, I) if needs[3] else None
    gw_hh = dA2.T @ hs_prev.reshape(T * B, hs_prev.shape[-1]) if needs[4] else None
    return gx, gw_ih, gw_hh


class _Boundary(UnaryOp):
    """y = x, a stop for one nested gradient pass.

    ``vjp_differentiable`` records the forward again on these stand-ins of the
    fused op's inputs and asks ``grad`` for the gradients at them. While that
    pass runs the boundary is *sealed*: its vjp sends nothing upstream, so
    the nested pass ends at the op's inputs instead of walking (and
    re-differentiating) the whole graph before them. Afterwards it is an
    identity, so later passes (the second derivative) flow through it."""
    name = "recompute_boundary"
    __slots__ = ("sealed",)

    def __init__(self):
        self.sealed = True

    def forward(self, x):
        return x

    def vjp(self, ns, g, ans, x):
        return (None,) if self.sealed else (g,)


class _SequenceOp(MultiOp):
    """A fused layer: a hand-written first-order vjp, and for ``create_graph``
    a vjp recorded from the cells' equations."""
    __slots__ = ()

    def recompute(self, *inputs) -> tuple:
        """The op's outputs recorded as composed ``rg`` ops (the cells' equations, step by step)."""
        raise NotImplementedError

    def vjp_differentiable(self, gs):
        """x̄ = (∂outputs/∂x)ᵀ·gs as ``rg`` ops on ``self.inputs``: the forward is
        recorded again gate by gate on sealed boundaries of the inputs, and
        ``grad(..., create_graph=True)`` differentiates that record."""
        needs = self.needs
        boundaries, args = [], []
        with enable_grad():
            for a, need in zip(self.inputs, needs):
                if need:
                    boundaries.append(_Boundary())
                    a = boundaries[-1](a)
                args.append(a)
            outputs = self.recompute(*args)
            try:
                found = iter(grad(list(outputs), [a for a, need in zip(args, needs) if need], list(gs),
                                  create_graph=True, allow_unused=True))
            finally:
                for b in boundaries:
                    b.sealed = False
        return tuple(next(found) if need else None for need in needs)


class LSTMLayer(_SequenceOp):
    """(x, h₀, c₀, W_ih, W_hh, b_ih, b_hh) → (h₁…h_T, h_T, c_T) over a whole sequence."""
    name = "lstm_layer"
    __slots__ = ()

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        _check(self.name, x, h0, w_ih, w_hh, 4)
        _check_dtypes(self.name, w_ih, input=x, h0=h0, c0=c0, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        G = _input_projection(x, w_ih, b_ih, b_hh)
        hs = xp.empty((T + 1, B, H), dtype=G.dtype)
        cs = xp.empty((T + 1, B, H), dtype=G.dtype)
        tc = xp.empty((T, B, H), dtype=G.dtype)
        hs[0], cs[0] = h0, c0
        w_hhT = w_hh.T
        tmp = xp.empty((B, 4 * H), dtype=G.dtype)
        g_act, ig = xp.empty((B, H), dtype=G.dtype), xp.empty((B, H), dtype=G.dtype)
        with xp.errstate(over="ignore"):
            self._steps(G, hs, cs, tc, w_hhT, tmp, g_act, ig)
        self.save(G=G, hs=hs, cs=cs, tc=tc)
        return hs[1:], hs[T], cs[T].copy()  # c_T copied: a view would keep all of cs alive

    @staticmethod
    def _steps(G, hs, cs, tc, w_hhT, tmp, g_act, ig):
        """The forward recurrence, step by step, into preallocated buffers."""
        H = hs.shape[2]
        for t in range(G.shape[0]):
            a = G[t]
            xp.matmul(hs[t], w_hhT, out=tmp)
            a += tmp
            xp.tanh(a[:, 2 * H:3 * H], out=g_act)
            _sigmoid_(a)                        # all four blocks at once (contiguous) …
            a[:, 2 * H:3 * H] = g_act           # … then g gets its tanh back
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)        # cₜ = f ⊙ cₜ₋₁ + i ⊙ g
            xp.multiply(i, g, out=ig)
            c += ig
            xp.tanh(c, out=tc[t])
            xp.multiply(o, tc[t], out=hs[t + 1])  # hₜ = o ⊙ tanh cₜ

    def recompute(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        h, c, outs = h0, c0, []
        for t in range(x.shape[0]):
            (h, c), _ = cells.lstm_update(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
            outs.append(h)
        return ops.stack(outs), h, c

    def vjp(self, ns, grads, ans, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        g_hs, g_h, g_c = grads
        saved = self.saved
        G, hs, cs, tc = saved["G"], saved["hs"], saved["cs"], saved["tc"]
        T, B, H = tc.shape
        # The local derivatives of every step at once, in the delta buffer itself:
        # σ′ = s(1 − s) for i, f, o and 1 − g² for g; then each step multiplies in place.
        dA = xp.subtract(1, G)
        dA *= G
        gg = G[:, :, 2 * H:3 * H]
        xp.multiply(gg, gg, out=dA[:, :, 2 * H:3 * H])
        xp.subtract(1, dA[:, :, 2 * H:3 * H], out=dA[:, :, 2 * H:3 * H])
        tanh_slope = xp.multiply(tc, tc)
        xp.subtract(1, tanh_slope, out=tanh_slope)     # 1 − tanh² cₜ
        dh = xp.array(g_h, dtype=G.dtype)
        dc = xp.array(g_c, dtype=G.dtype)
        tmp = xp.empty_like(dh)
        listen = hooks.active(STEP_EVENT)
        for t in range(T - 1, -1, -1):
            dh += g_hs[t]
            a, da = G[t], dA[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            d_i, d_f, d_g, d_o = da[:, :H], da[:, H:2 * H], da[:, 2 * H:3 * H], da[:, 3 * H:]
            d_o *= dh                                     # δo = δh ⊙ tanh cₜ ⊙ o(1 − o)
            d_o *= tc[t]
            xp.multiply(dh, o, out=tmp)                   # δc += δh ⊙ o ⊙ (1 − tanh² cₜ)
            tmp *= tanh_slope[t]
            dc += tmp
            da.reshape(B, 4, H)[:, :3] *= dc[:, None, :]  # δi, δf, δg all carry δc …
            d_i *= g                                      # δi = δc ⊙ g ⊙ i(1 − i)
            d_f *= cs[t]                                  # δf = δc ⊙ cₜ₋₁ ⊙ f(1 − f)
            d_g *= i                                      # δg = δc ⊙ i ⊙ (1 − g²)
            if listen:
                hooks.emit(STEP_EVENT, self, t, dh, dc, da)
            dc *= f                                       # δcₜ₋₁ = δc ⊙ f
            dh = da @ w_hh                                # δhₜ₋₁ = [δi δf δg δo] W_hh
        n = self.needs
        gx, gw_ih, gw_hh = _weight_grads(n, dA, x, hs[:-1], w_ih)
        gb = dA.sum(axis=(0, 1)) if (b_ih is not None and (n[5] or n[6])) else None
        return (gx, dh if n[1] else None, dc if n[2] else None, gw_ih, gw_hh,
                gb if n[5] else None, gb if n[6] else None)


class GRULayer(_SequenceOp):
    """(x, h₀, W_ih, W_hh, b_ih, b_hh) → (h₁…h_T, h_T) over a whole sequence.

    Backwards per step, δh arriving at hₜ = (1 − z)⊙n + z⊙hₜ₋₁:
        δz = δh⊙(hₜ₋₁ − n)⊙z(1 − z)      δn = δh⊙(1 − z)⊙(1 − n²)
        δr = δn⊙(W_hn hₜ₋₁ + b_hn)⊙r(1 − r)
        δhₜ₋₁ = δh⊙z + [δr δz δn⊙r] W_hh
    """
    name = "gru_layer"
    __slots__ = ()

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        _check(self.name, x, h0, w_ih, w_hh, 3)
        _check_dtypes(self.name, w_ih, input=x, h0=h0, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        Z = _input_projection(x, w_ih, b_ih, None, extra_bias=False)  # becomes the gates r, z, n
        GHn = xp.empty((T, B, H), dtype=Z.dtype)
        hs = xp.empty((T + 1, B, H), dtype=Z.dtype)
        hs[0] = h0
        w_hhT = w_hh.T
        with xp.errstate(over="ignore"):
            self._steps(x.shape[0], H, Z, GHn, hs, w_hhT, b_hh)
        self.save(Z=Z, GHn=GHn, hs=hs)
        return hs[1:], hs[T]

    @staticmethod
    def _steps(T, H, Z, GHn, hs, w_hhT, b_hh):
        """The forward recurrence, step by step, into preallocated buffers."""
        for t in range(T):
            gh = hs[t] @ w_hhT
            if b_hh is not None:
                gh += b_hh
            a = Z[t]
            a[:, :2 * H] += gh[:, :2 * H]
            _sigmoid_(a[:, :2 * H])
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            GHn[t] = gh[:, 2 * H:]
            n += r * GHn[t]
            xp.tanh(n, out=n)
            h = hs[t + 1]
            xp.subtract(hs[t], n, out=h)   # h′ = n + z⊙(h − n)
            h *= z
            h += n

    def recompute(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        h, outs = h0, []
        for t in range(x.shape[0]):
            h, _ = cells.gru_update(x[t], h, w_ih, w_hh, b_ih, b_hh)
            outs.append(h)
        return ops.stack(outs), h

    def vjp(self, ns, grads, ans, x, h0, w_ih, w_hh, b_ih, b_hh):
        g_hs, g_h = grads
        saved = self.saved
        Z, GHn, hs = saved["Z"], saved["GHn"], saved["hs"]
        T, B, H = GHn.shape
        # Local derivatives of every step at once, in the delta buffer itself:
        # r(1 − r), z(1 − z) and 1 − n²; then each step multiplies in place.
        dGX = xp.subtract(1, Z)
        dGX *= Z
        nn_ = Z[:, :, 2 * H:]
        xp.multiply(nn_, nn_, out=dGX[:, :, 2 * H:])
        xp.subtract(1, dGX[:, :, 2 * H:], out=dGX[:, :, 2 * H:])
        dGH = xp.empty_like(Z)
        dh = xp.array(g_h, dtype=Z.dtype)
        tmp = xp.empty_like(dh)
        listen = hooks.active(STEP_EVENT)
        for t in range(T - 1, -1, -1):
            dh += g_hs[t]
            a = Z[t]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dx_, dh_ = dGX[t], dGH[t]
            d_r, d_z, d_n = dx_[:, :H], dx_[:, H:2 * H], dx_[:, 2 * H:]
            xp.subtract(hs[t], n, out=tmp)                # δz = δh⊙(h − n)⊙z(1 − z)
            tmp *= dh
            d_z *= tmp
            xp.multiply(dh, z, out=tmp)                   # δn = δh⊙(1 − z)⊙(1 − n²)
            xp.subtract(dh, tmp, out=tmp)
            d_n *= tmp
            d_r *= d_n                                    # δr = δn⊙(W_hn h + b_hn)⊙r(1 − r)
            d_r *= GHn[t]
            dh_[:, :2 * H] = dx_[:, :2 * H]
            xp.multiply(d_n, r, out=dh_[:, 2 * H:])
            if listen:
                hooks.emit(STEP_EVENT, self, t, dh, None, dx_)
            dh *= z                                       # δhₜ₋₁ = δh⊙z + [δr δz δn⊙r] W_hh
            dh += dh_ @ w_hh
        n_ = self.needs
        T_, B_, I = x.shape
        gx = (dGX.reshape(T * B, dGX.shape[-1]) @ w_ih).reshape(T, B, I) if n_[0] else None
        gw_ih = dGX.reshape(T * B, dGX.shape[-1]).T @ x.reshape(T * B, I) if n_[2] else None
        gw_hh = dGH.reshape(T * B, dGH.shape[-1]).T @ hs[:-1].reshape(T * B, H) if n_[3] else None
        gb_ih = dGX.sum(axis=(0, 1)) if n_[4] else None
        gb_hh = dGH.sum(axis=(0, 1)) if n_[5] else None
        return gx, (dh if n_[1] else None), gw_ih, gw_hh, gb_ih, gb_hh


class RNNLayer(_SequenceOp):
    """(x, h₀, W_ih, W_hh, b_ih, b_hh) → (h₁…h_T, h_T) with hₜ = tanh or relu of
    (W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh); δaₜ = δh ⊙ (1 − hₜ²) (tanh) or the
    relu mask (its tie at 0 from ``rg.conventions``), δhₜ₋₁ = δaₜ W_hh."""
    name = "rnn_layer"
    __slots__ = ("nonlinearity", "tie")

    def __init__(self, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity
        self.tie = conventions.kink_slope((1.0, 0.0)) if nonlinearity == "relu" else 0.0

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        _check(self.name, x, h0, w_ih, w_hh, 1)
        _check_dtypes(self.name, w_ih, input=x, h0=h0, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        A = _input_projection(x, w_ih, b_ih, b_hh)
        hs = xp.empty((T + 1, B, H), dtype=A.dtype)
        hs[0] = h0
        w_hhT = w_hh.T
        relu = self.nonlinearity == "relu"
        for t in range(T):
            A[t] += hs[t] @ w_hhT
            if relu:
                xp.maximum(A[t], 0, out=hs[t + 1])
            else:
                xp.tanh(A[t], out=hs[t + 1])
        if relu:  # the relu slope needs the pre-activations; tanh's, 1 − h², only the states
            self.save(A=A, hs=hs)
        else:
            self.save(hs=hs)
        return hs[1:], hs[T]

    def recompute(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        h, outs = h0, []
        for t in range(x.shape[0]):
            h, _ = cells.rnn_update(x[t], h, w_ih, w_hh, b_ih, b_hh, self.nonlinearity)
            outs.append(h)
        return ops.stack(outs), h

    def vjp(self, ns, grads, ans, x, h0, w_ih, w_hh, b_ih, b_hh):
        g_hs, g_h = grads
        hs, A = self.saved["hs"], self.saved.get("A")
        T, B, H = g_hs.shape
        # The activation's slope at every step at once (1 − h² or the relu mask), then in place per step.
        if self.nonlinearity == "relu":
            dA = (A > 0).astype(hs.dtype)
            if self.tie:
                dA += self.tie * (A == 0)
        else:
            dA = xp.multiply(hs[1:], hs[1:])
            xp.subtract(1, dA, out=dA)
        dh = xp.array(g_h, dtype=hs.dtype)
        listen = hooks.active(STEP_EVENT)
        for t in range(T - 1, -1, -1):
            dh += g_hs[t]
            dA[t] *= dh                                   # δaₜ = δh ⊙ f′(aₜ)
            if listen:
                hooks.emit(STEP_EVENT, self, t, dh, None, dA[t])
            dh = dA[t] @ w_hh                             # δhₜ₋₁ = δaₜ W_hh
        n = self.needs
        T_, B_, I = x.shape
        dA2 = dA.reshape(T * B, H)
        gx = (dA2 @ w_ih).reshape(T, B, I) if n[0] else None
        gw_ih = dA2.T @ x.reshape(T * B, I) if n[2] else None
        gw_hh = dA2.T @ hs[:-1].reshape(T * B, H) if n[3] else None
        gb = dA.sum(axis=(0, 1)) if (n[4] or n[5]) else None
        return gx, (dh if n[1] else None), gw_ih, gw_hh, (gb if n[4] else None), (gb if n[5] else None)
