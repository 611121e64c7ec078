"""One GPU kernel per recurrent step: the gate math of the fused ops on CuPy.

On the NumPy backend a step of ``fused.LSTMLayer`` is one GEMM and a dozen
ufunc passes over (b, H) blocks; on a GPU each pass is a kernel launch and a
trip through device memory. Here the elementwise part of one step (the gate
activations, c′ and h′ of the forward; the gate deltas and δcₜ₋₁ of the
backward) is one ``cupy.ElementwiseKernel``, and the GEMMs stay in cuBLAS (the
input projection of every step as one GEMM, as on the CPU). A step is then
two launches (GEMM + kernel) each way.

Selection: ``kernels_for(backend_name, dtype)`` gives the CuPy kernel set on
the ``"cupy"`` backend (float32/float64) and None on NumPy, where ``fused.py``
runs its NumPy loops unchanged (other array modules, such as the tests' device
stand-in, get the twins: the loops the GPU runs). The CuPy kernels are built on first use, so
nothing here imports CuPy on the CPU. ``use_twins()`` (for tests) makes the
NumPy *twins* run instead (on any backend): functions with the kernels' signatures that compute
each kernel's per-element expression, in the same order, with array ops.
The twins plugged into the same loops give the NumPy path's numbers (tested
to 1e-10 in float64), and the kernel sources are tested against the twins by
compiling them as C++ on the CPU (tests/recurrent/test_cuda_kernel_twins.py).

Every step function works in place on the block views the loop hands it
(rows ``a0:a1`` of the packed arrays; see ``packing.Steps``):

- ``lstm_forward(a, gh, cp, c, h, g_pre, act)``: ``a`` (b, 4H) the input
  projection of the step (biases included) becomes the gates i, f, g, o from
  the pre-activations ``a + gh`` (``gh`` the recurrent GEMM); writes cₜ, hₜ,
  and g's pre-activation into ``g_pre`` when given (the relu tie needs it).
- ``lstm_backward(dh, gy, gates, da, c, cp, dc, gc, extra, act, tie)``: ``da``
  (b, 4H) holds the local slopes (σ′ for i, f, o; φ′(a_g) for g) and becomes
  the deltas [δi δf δg δo]; ``dc`` is δc from step t + 1 in, δcₜ₋₁ out.
- ``gru_forward(a, gh, b_hh, hp, ghn, h, n_pre, act)``; ``gru_backward(dh, gy,
  gates, hp, ghn, dgx, dgh, extra)`` (``dh`` becomes δh ⊙ z, the part of
  δhₜ₋₁ that skips the GEMM); ``rnn_forward(a, gh, y, act)``;
  ``rnn_backward(dh, gy, da)``.
"""

from __future__ import annotations

import contextlib

from ..autograd.backend import xp

KERNEL_DTYPES = ("float32", "float64")
"""The dtypes the kernels are built for; other dtypes run the NumPy loops."""

_state = {"forced": None, "cupy": None}


def kernels_for(backend_name: str, dtype):
    """The step kernels to use for arrays of ``dtype`` (float32/float64) on
    ``backend_name``: the CuPy set on ``"cupy"``; None on ``"numpy"`` (``fused.py``
    then runs its own NumPy loops); the NumPy twins on any other array module (the
    device stand-in of the tests: it runs the loops the GPU runs). ``use_kernels`` /
    ``use_twins`` force a set on every backend (tests)."""
    if str(xp.dtype(dtype)) not in KERNEL_DTYPES:
        return None
    if _state["forced"] is not None:
        return _state["forced"]
    if backend_name == "cupy":
        if _state["cupy"] is None:  # built on the first GPU step: never imported on the CPU
            import cupy
            _state["cupy"] = cupy_kernels(cupy.ElementwiseKernel)
        return _state["cupy"]
    return None if backend_name == "numpy" else TWINS


@contextlib.contextmanager
def use_kernels(kernels):
    """Run ``kernels`` (a ``StepKernels``; None: the default choice) in ``fused.py``'s loops
    on every backend, for tests."""
    before = _state["forced"]
    _state["forced"] = kernels
    try:
        yield
    finally:
        _state["forced"] = before


def use_twins():
    """Run the NumPy twins of the step kernels in ``fused.py``'s loops (tests)."""
    return use_kernels(TWINS)


# ------------------------------------------------------------ the loops around the step kernels
class StepKernels:
    """A set of the six step functions and the step loops that drive them (the
    loops of ``fused.py`` with the elementwise part of a step as one call)."""

    def __init__(self, name, lstm_forward, lstm_backward, gru_forward, gru_backward, rnn_forward, rnn_backward):
        self.name = name
        self.lstm_forward, self.lstm_backward = lstm_forward, lstm_backward
        self.gru_forward, self.gru_backward = gru_forward, gru_backward
        self.rnn_forward, self.rnn_backward = rnn_forward, rnn_backward

    def __repr__(self):
        return f"<recurrent step kernels: {self.name}>"

    def lstm_forward_steps(self, steps, G, h0, c0, w_hhT, Y, C, act, M, g_pre):
        B, H = steps.batch, C.shape[1]
        gh, hm = xp.empty((B, 4 * H), dtype=G.dtype), xp.empty((B, H), dtype=G.dtype)
        with xp.errstate(over="ignore"):  # the twins' σ: e⁻ᵃ overflows to inf for very negative a, σ = 0
            for a0, a1, b, p0 in steps.blocks:
                hp, cp = (h0[:b], c0[:b]) if p0 < 0 else (Y[p0:p0 + b], C[p0:p0 + b])
                if M is not None:
                    hp = xp.multiply(hp, M[:b], out=hm[:b])
                xp.matmul(hp, w_hhT, out=gh[:b])
                self.lstm_forward(G[a0:a1], gh[:b], cp, C[a0:a1], Y[a0:a1],
                                  None if g_pre is None else g_pre[a0:a1], act)

    def lstm_backward_steps(self, steps, G, C, c0, w_hh, g_y, dA, dh, dc, M, g_cells, extra, act, tie):
        for t in range(len(steps) - 1, -1, -1):
            a0, a1, b, p0 = steps.blocks[t]
            cp = c0[:b] if p0 < 0 else C[p0:p0 + b]
            self.lstm_backward(dh[:b], g_y[a0:a1], G[a0:a1], dA[a0:a1], C[a0:a1], cp, dc[:b],
                               None if g_cells is None else g_cells[a0:a1],
                               None if extra is None else extra[a0:a1], act, tie)
            xp.matmul(dA[a0:a1], w_hh, out=dh[:b])           # δhₜ₋₁ = [δi δf δg δo] W_hh (⊙ m)
            if M is not None:
                dh[:b] *= M[:b]

    def gru_forward_steps(self, steps, Z, h0, w_hhT, b_hh, GHn, Y, act, M, n_pre):
        B, H = steps.batch, Y.shape[1]
        gh, hm = xp.empty((B, 3 * H), dtype=Z.dtype), xp.empty((B, H), dtype=Z.dtype)
        with xp.errstate(over="ignore"):
            for a0, a1, b, p0 in steps.blocks:
                hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
                hr = hp if M is None else xp.multiply(hp, M[:b], out=hm[:b])
                xp.matmul(hr, w_hhT, out=gh[:b])
                self.gru_forward(Z[a0:a1], gh[:b], b_hh, hp, GHn[a0:a1], Y[a0:a1],
                                 None if n_pre is None else n_pre[a0:a1], act)

    def gru_backward_steps(self, steps, Z, GHn, Y, h0, w_hh, g_y, dGX, dGH, dh, M, extra):
        back = xp.empty_like(dh)
        for t in range(len(steps) - 1, -1, -1):
            a0, a1, b, p0 = steps.blocks[t]
            hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
            self.gru_backward(dh[:b], g_y[a0:a1], Z[a0:a1], hp, GHn[a0:a1], dGX[a0:a1], dGH[a0:a1],
                              None if extra is None else extra[a0:a1])
            bb = back[:b]
            xp.matmul(dGH[a0:a1], w_hh, out=bb)              # δhₜ₋₁ = δh⊙z + [δr δz δn⊙r] W_hh (⊙ m)
            if M is not None:
                bb *= M[:b]
            dh[:b] += bb

    def rnn_forward_steps(self, steps, A, h0, w_hhT, Y, act, M):
        B, H = steps.batch, Y.shape[1]
        gh, hm = xp.empty((B, H), dtype=A.dtype), xp.empty((B, H), dtype=A.dtype)
        for a0, a1, b, p0 in steps.blocks:
            hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
            if M is not None:
                hp = xp.multiply(hp, M[:b], out=hm[:b])
            xp.matmul(hp, w_hhT, out=gh[:b])
            self.rnn_forward(A[a0:a1], gh[:b], Y[a0:a1], act)

    def rnn_backward_steps(self, steps, w_hh, g_y, dA, dh, M):
        for t in range(len(steps) - 1, -1, -1):
            a0, a1, b, _ = steps.blocks[t]
            self.rnn_backward(dh[:b], g_y[a0:a1], dA[a0:a1])
            xp.matmul(dA[a0:a1], w_hh, out=dh[:b])           # δhₜ₋₁ = δaₜ W_hh (⊙ m)
            if M is not None:
                dh[:b] *= M[:b]


def _split(a, k):
    """The k gate blocks (b, H) of a (b, k·H) block (views)."""
    H = a.shape[-1] // k
    return tuple(a[..., j * H:(j + 1) * H] for j in range(k))


# ------------------------------------------------------------ the kernel sources
# Each operation is CuPy ElementwiseKernel code: one thread per (row, unit) of a step,
# array parameters bound by reference (inputs const), T the arrays' dtype. CuPy reserves
# ``i``, ``n`` and names starting with ``_``: no parameter is called so. The twins
# below compute the same expressions in the same order.
def _phi(act, v):
    """φ(v) as a C expression of a variable: tanh, or relu with NaN passed through (as NumPy's maximum)."""
    return f"tanh({v})" if act == "tanh" else f"(({v}) > T(0) || ({v}) != ({v}) ? ({v}) : T(0))"


def _sigmoid(v):
    return f"T(1) / (exp(-({v})) + T(1))"


def lstm_forward_source(act, save_pre):
    """(in_params, out_params, operation) of the LSTM forward step."""
    ins = "T hi, T hf, T hg, T ho, T cp"
    outs = "T ai, T af, T ag, T ao, T c, T h" + (", T pre" if save_pre else "")
    op = f"""
    T pi = ai + hi; T pf = af + hf; T pg = ag + hg; T po = ao + ho;
    {"pre = pg;" if save_pre else ""}
    T gg = {_phi(act, "pg")};
    ai = {_sigmoid("pi")}; af = {_sigmoid("pf")}; ao = {_sigmoid("po")};
    ag = gg;
    T cc = af * cp + ai * gg;
    c = cc;
    T tc = {_phi(act, "cc")};
    h = ao * tc;
    """
    return ins, outs, op


def lstm_backward_source(act, tie, has_gc, has_extra):
    """The LSTM backward step: the gate deltas in place of their slopes, δcₜ₋₁ in place of δc."""
    ins = "T dh, T gy, T si, T sf, T sg, T so, T c, T cp" + (", T gc" if has_gc else "") + \
        (", T ei, T ef, T eg, T eo" if has_extra else "") + (", T tie" if tie else "")
    outs = "T di, T df, T dg, T d_o, T dc"
    slope = "T(1) - tc * tc" if act == "tanh" else "T(c > T(0))" + (" + tie * T(c == T(0))" if tie else "")
    op = f"""
    T d = dh + gy;
    T tc = {_phi(act, "c")};
    d_o = d_o * d * tc;
    T cs = {slope};
    T tb = d * so * cs;
    T dcv = dc + tb;
    {"dcv = dcv + gc;" if has_gc else ""}
    di = di * dcv * sg;
    df = df * dcv * cp;
    dg = dg * dcv * si;
    {"di = di + ei; df = df + ef; dg = dg + eg; d_o = d_o + eo;" if has_extra else ""}
    dc = dcv * sf;
    """
    return ins, outs, op


def gru_forward_source(act, has_bias, save_pre):
    ins = "T gr, T gz, T gn, T hp" + (", T br, T bz, T bn" if has_bias else "")
    outs = "T xr, T xz, T xn, T ghn, T h" + (", T pre" if save_pre else "")
    add = (lambda g, bias: f"{g} + {bias}") if has_bias else (lambda g, bias: g)
    op = f"""
    T g1 = {add("gr", "br")}; T g2 = {add("gz", "bz")}; T g3 = {add("gn", "bn")};
    T pr = xr + g1; T pz = xz + g2;
    T rr = {_sigmoid("pr")}; T zz = {_sigmoid("pz")};
    xr = rr; xz = zz;
    ghn = g3;
    T an = xn + rr * g3;
    {"pre = an;" if save_pre else ""}
    T nn = {_phi(act, "an")};
    xn = nn;
    h = (hp - nn) * zz + nn;
    """
    return ins, outs, op


def gru_backward_source(has_extra):
    ins = "T gy, T sr, T sz, T sn, T hp, T ghn" + (", T er, T ez, T en" if has_extra else "")
    outs = "T dh, T dr, T dz, T dn, T hr, T hz, T hn"
    op = f"""
    T d = dh + gy;
    T dzv = dz * ((hp - sn) * d);
    T dnv = dn * (d - d * sz);
    {"dzv = dzv + ez; dnv = dnv + en;" if has_extra else ""}
    T drv = dr * dnv * ghn;
    {"drv = drv + er;" if has_extra else ""}
    dr = drv; dz = dzv; dn = dnv;
    hr = drv; hz = dzv; hn = dnv * sr;
    dh = d * sz;
    """
    return ins, outs, op


def rnn_forward_source(act):
    return "T gh", "T a, T y", f"T v = a + gh; a = v; y = {_phi(act, 'v')};"


def rnn_backward_source():
    return "T dh, T gy", "T da", "da = da * (dh + gy);"


def all_sources():
    """Every kernel variant: {name: (in_params, out_params, operation)}."""
    out = {}
    for act in ("tanh", "relu"):
        for pre in (False, True):
            out[f"rg_lstm_fwd_{act}_{int(pre)}"] = lstm_forward_source(act, pre)
            for bias in (False, True):
                out[f"rg_gru_fwd_{act}_{int(bias)}{int(pre)}"] = gru_forward_source(act, bias, pre)
        for tie in (False, True):
            for gc in (False, True):
                for ex in (False, True):
                    out[f"rg_lstm_bwd_{act}_{int(tie)}{int(gc)}{int(ex)}"] = lstm_backward_source(act, tie, gc, ex)
        out[f"rg_rnn_fwd_{act}"] = rnn_forward_source(act)
    for ex in (False, True):
        out[f"rg_gru_bwd_{int(ex)}"] = gru_backward_source(ex)
    out["rg_rnn_bwd"] = rnn_backward_source()
    return out


def cupy_kernels(elementwise_kernel):
    """The step kernels built with ``elementwise_kernel(in_params, out_params,
    operation, name)`` (``cupy.ElementwiseKernel``; the tests pass a C++ build
    of the same sources). Each kernel is made on its first call."""
    sources, made = all_sources(), {}

    def kernel(name):
        k = made.get(name)
        if k is None:
            k = made[name] = elementwise_kernel(*sources[name], name)
        return k

    def lstm_forward(a, gh, cp, c, h, g_pre, act):
        pre = () if g_pre is None else (g_pre,)
        kernel(f"rg_lstm_fwd_{act}_{int(g_pre is not None)}")(*_split(gh, 4), cp, *_split(a, 4), c, h, *pre)

    def lstm_backward(dh, gy, gates, da, c, cp, dc, gc, extra, act, tie):
        ins = [dh, gy, *_split(gates, 4), c, cp]
        if gc is not None:
            ins.append(gc)
        if extra is not None:
            ins += _split(extra, 4)
        if tie:
            ins.append(tie)
        name = f"rg_lstm_bwd_{act}_{int(bool(tie))}{int(gc is not None)}{int(extra is not None)}"
        kernel(name)(*ins, *_split(da, 4), dc)

    def gru_forward(a, gh, b_hh, hp, ghn, h, n_pre, act):
        bias = () if b_hh is None else _split(b_hh, 3)
        pre = () if n_pre is None else (n_pre,)
        name = f"rg_gru_fwd_{act}_{int(b_hh is not None)}{int(n_pre is not None)}"
        kernel(name)(*_split(gh, 3), hp, *bias, *_split(a, 3), ghn, h, *pre)

    def gru_backward(dh, gy, gates, hp, ghn, dgx, dgh, extra):
        ex = () if extra is None else _split(extra, 3)
        kernel(f"rg_gru_bwd_{int(extra is not None)}")(gy, *_split(gates, 3), hp, ghn, *ex, dh, *_split(dgx, 3),
                                                        *_split(dgh, 3))

    def rnn_forward(a, gh, y, act):
        kernel(f"rg_rnn_fwd_{act}")(gh, a, y)

    def rnn_backward(dh, gy, da):
        kernel("rg_rnn_bwd")(dh, gy, da)

    return StepKernels("cupy", lstm_forward, lstm_backward, gru_forward, gru_backward, rnn_forward, rnn_backward)


# ------------------------------------------------------------ the NumPy twins
def _phi_array(act, v):
    return xp.tanh(v) if act == "tanh" else xp.maximum(v, 0)


def _sigmoid_array(v):
    return 1 / (xp.exp(-v) + 1)


def twin_lstm_forward(a, gh, cp, c, h, g_pre, act):
    ai, af, ag, ao = _split(a, 4)
    hi, hf, hg, ho = _split(gh, 4)
    pi, pf, pg, po = ai + hi, af + hf, ag + hg, ao + ho
    if g_pre is not None:
        g_pre[...] = pg
    gg = _phi_array(act, pg)
    ai[...], af[...], ao[...] = _sigmoid_array(pi), _sigmoid_array(pf), _sigmoid_array(po)
    ag[...] = gg
    cc = af * cp + ai * gg
    c[...] = cc
    h[...] = ao * _phi_array(act, cc)


def twin_lstm_backward(dh, gy, gates, da, c, cp, dc, gc, extra, act, tie):
    i, f, g, o = _split(gates, 4)
    di, df, dg, d_o = _split(da, 4)
    d = dh + gy
    tc = _phi_array(act, c)
    d_o[...] = d_o * d * tc
    if act == "tanh":
        cs = 1 - tc * tc
    else:
        cs = (c > 0).astype(c.dtype)
        if tie:
            cs = cs + tie * (c == 0).astype(c.dtype)
    tb = d * o * cs
    dcv = dc + tb
    if gc is not None:
        dcv = dcv + gc
    di[...] = di * dcv * g
    df[...] = df * dcv * cp
    dg[...] = dg * dcv * i
    if extra is not None:
        da += extra
    dc[...] = dcv * f


def twin_gru_forward(a, gh, b_hh, hp, ghn, h, n_pre, act):
    r, z, n = _split(a, 3)
    g1, g2, g3 = _split(gh if b_hh is None else gh + b_hh, 3)
    rr, zz = _sigmoid_array(r + g1), _sigmoid_array(z + g2)
    r[...], z[...] = rr, zz
    ghn[...] = g3
    an = n + rr * g3
    if n_pre is not None:
        n_pre[...] = an
    nn = _phi_array(act, an)
    n[...] = nn
    h[...] = (hp - nn) * zz + nn


def twin_gru_backward(dh, gy, gates, hp, ghn, dgx, dgh, extra):
    r, z, n = _split(gates, 3)
    dr, dz, dn = _split(dgx, 3)
    hr, hz, hn = _split(dgh, 3)
    d = dh + gy
    dzv = dz * ((hp - n) * d)
    dnv = dn * (d - d * z)
    if extra is not None:
        er, ez, en = _split(extra, 3)
        dzv, dnv = dzv + ez, dnv + en
    drv = dr * dnv * ghn
    if extra is not None:
        drv = drv + er
    dr[...], dz[...], dn[...] = drv, dzv, dnv
    hr[...], hz[...], hn[...] = drv, dzv, dnv * r
    dh[...] = d * z


def twin_rnn_forward(a, gh, y, act):
    a += gh
    y[...] = _phi_array(act, a)


def twin_rnn_backward(dh, gy, da):
    da *= dh + gy


TWINS = StepKernels("numpy twins", twin_lstm_forward, twin_lstm_backward, twin_gru_forward, twin_gru_backward,
                    twin_rnn_forward, twin_rnn_backward)
"""The NumPy twins of the step kernels (any backend with NumPy's API)."""

__all__ = ["KERNEL_DTYPES", "StepKernels", "TWINS", "all_sources", "cupy_kernels", "kernels_for", "use_kernels",
           "use_twins"]
