"""Compiled step loops for small recurrent layers (optional: ``pip install "retrograd[speed]"``).

A tiny layer (config c of the benchmarks: B = 1, T = 200, I = 8, H = 32) does
almost no arithmetic per step; the NumPy loops of ``fused.py`` spend their time
dispatching a dozen ufunc calls and one GEMM per step. Here the whole
recurrence (the part of ``LSTMLayer.forward`` after the input projection, and
of ``LSTMLayer.vjp`` after the slopes are precomputed; the same for the GRU
and the Elman RNN) is one numba-compiled loop over steps, rows and units.
The GEMMs over all steps (input projection, weight gradients) stay in BLAS,
in ``fused.py``.

The kernels mirror the NumPy loops operation by operation, on the same packed
layout (``packing.Steps``: step t owns rows ``offsets[t] : offsets[t] + sizes[t]``,
its rows' previous states are the first ``sizes[t]`` rows of step t − 1, or
h₀, c₀ at t = 0), so in float64 they agree with them to rounding (the tests
ask for 1e-10 relative). They are compiled with ``fastmath=False``: no
reassociation, no fused multiply-add contraction, NaN and inf as in NumPy.
The small matrix products are written as loops in *axpy* order (add scaled
contiguous weight rows to the output row), which LLVM vectorises without
reassociating sums; they are as fast as BLAS gemv called from the kernel at
H = 32 (``_vecmat``), and need neither SciPy's BLAS nor its threads.
They run single-threaded (never ``parallel=True``): numba's thread pool
beside OpenBLAS's oversubscribes the cores (measured: benchmarks/README.md,
"Measured design decisions").

Use from ``fused.py``: when ``worth_it(B, H, kind, dtype)`` (False without numba,
and for a dtype other than float32 / float64), the backend is NumPy
(``type(G) is numpy.ndarray``; the kernels refuse anything else) and no
``STEP_EVENT`` observer listens (the compiled loop cannot emit per-step
hooks), replace each step loop by one call on the arrays the loop
would have used::

    compiled.lstm_forward_steps(steps, G, h0, c0, w_hh, Y, C, TC, act, M, g_pre)
    compiled.lstm_backward_steps(steps, G, C, TC, c0, w_hh, g_y, dA, c_slope, dh, dc, M, g_cells, extra)
    compiled.gru_forward_steps(steps, Z, h0, w_hh, b_hh, GHn, Y, act, M, n_pre)
    compiled.gru_backward_steps(steps, Z, GHn, Y, h0, w_hh, g_y, dGX, dGH, dh, M, extra)
    compiled.rnn_forward_steps(steps, A, h0, w_hh, Y, act, M)
    compiled.rnn_backward_steps(steps, w_hh, g_y, dA, dh, M)

Every entry point works in place on the arrays it is given (the ones the NumPy
loop would write) and returns None. Importing this module never imports numba;
the first call compiles the kernels (cached on disk: ``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np

_KEY = "compiled.int64"   # Steps._cache key: (sizes, offsets) as int64 arrays
_kernels = None           # name -> compiled kernel, built on first use
_available = None

# Where the compiled loops stop paying (``worth_it``): the largest B·H per kind,
# and the largest H. Measured with ``python benchmarks/bench_tiny_rnn.py --sweep``
# The compiled loop's time over the NumPy loop's grows with B·H; each threshold sits
# one doubling below the measured crossover of its kind, and past MAX_UNITS the
# weights leave the caches and BLAS wins even for one row (the sweep and its
# numbers: ``benchmarks/bench_tiny_rnn.py --sweep``, benchmarks/README.md).
MAX_ROWS_TIMES_UNITS = {"LSTM": 512, "GRU": 1024, "RNN": 256}
MAX_UNITS = 128


_enabled = True


class use:
    """Turn the compiled path on or off (``with compiled.use(False): …``, or
    ``compiled.use(False)`` for the rest of the process): the NumPy loops then
    run every layer, e.g. to compare the two, or to observe every step."""

    def __init__(self, enabled: bool):
        global _enabled
        self.before, _enabled = _enabled, bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.before


def available() -> bool:
    """True when numba can be imported (the ``speed`` extra is installed)."""
    global _available
    if _available is None:
        try:
            import numba  # noqa: F401
            _available = True
        except ImportError:
            _available = False
    return _available


# The dtypes the kernels are compiled for; others (float16, …) run the NumPy loops.
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def supports(dtype) -> bool:
    """Whether the compiled loops run layers of ``dtype`` (float32 and float64:
    numba has no half-precision arithmetic on the CPU)."""
    try:
        return np.dtype(dtype) in DTYPES
    except TypeError:
        return False


def worth_it(batch: int, hidden: int, kind: str = "LSTM", dtype=None) -> bool:
    """Whether the compiled loop should beat the NumPy loop for ``batch`` rows
    of ``hidden`` units of a ``kind`` ("LSTM", "GRU", "RNN") layer (and numba
    is installed); with ``dtype``, also whether the kernels support it.

    Per step the NumPy loop pays a fixed dispatch overhead (a dozen ufunc
    calls and one GEMM) plus SIMD work that is nearly free at these sizes;
    the compiled loop has no overhead but evaluates each transcendental as a
    scalar libm ``exp`` (no SVML), 5–7 per unit and row per step for the LSTM
    forward. So it wins while B·H is small: ``MAX_ROWS_TIMES_UNITS`` holds
    the measured crossovers."""
    limit = MAX_ROWS_TIMES_UNITS.get(kind)
    if limit is None:
        raise ValueError(f"worth_it: kind must be one of {sorted(MAX_ROWS_TIMES_UNITS)}, got {kind!r}")
    return (_enabled and batch * hidden <= limit and hidden <= MAX_UNITS
            and (dtype is None or supports(dtype)) and available())


# --------------------------------------------------------------------------- kernels
# Plain Python functions at module level, compiled by ``_build`` on first use
# (``numba.njit(cache=True)`` caches module-level functions by file and name).
# Empty (0-row) arrays stand for an absent optional input, so each kernel has
# one signature per dtype.

def _sigmoid(a):
    # σ(a) = 1 / (1 + e⁻ᵃ): exact to a few ulps for every a (e⁻ᵃ = inf gives 0,
    # and there are no overflow warnings to silence here). Written without a
    # branch on the sign: gate signs are random, and the two-sided form's
    # mispredicted branch costs more than the exp (benchmarks/README.md).
    return 1.0 / (1.0 + math.exp(-a))


def _tanh(a):
    # tanh through one exp: (1 − e)/(1 + e), e = e^(−2|a|), with the sign put back;
    # below |a| = 0.01, where 1 − e cancels, its Taylor series to a⁷ (next term
    # 62a⁹/2835: relative 2e-18). Max relative error ≈ 1e-14 at |a| = 0.01, and
    # NaN, ±inf as math.tanh. libm's tanh cost 16–24 ns per call here (tanhf the
    # slower), this 5: the LSTM forward calls it 2H times per row and step.
    x = abs(a)
    e = math.exp(-2.0 * x)
    t = (1.0 - e) / (1.0 + e)
    x2 = x * x
    s = x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0))))
    return math.copysign(s if x < 0.01 else t, a)


def _phi(a, relu):
    # tanh, or relu with NaN passed through as np.maximum(a, 0) does
    if relu:
        return 0.0 if a < 0 else a
    return _tanh(a)


def _vecmat(v, W, out):
    """out = v @ W for a row v (n,) and W (n, m) C-contiguous: four scaled rows
    of W added per pass over ``out`` (axpy order, which LLVM vectorises without
    reassociating anything). For v (32,) @ W (32, 128) this ran in 186 ns
    float32 / 261 ns float64 on the build machine, as fast as BLAS gemv called
    from the kernel (178 / 354 ns), where one row per pass took 380 / 430 ns."""
    n, m = W.shape
    for k in range(m):
        out[k] = 0.0
    h = 0
    while h + 4 <= n:
        s0, s1, s2, s3 = v[h], v[h + 1], v[h + 2], v[h + 3]
        for k in range(m):
            out[k] += (s0 * W[h, k] + s1 * W[h + 1, k]) + (s2 * W[h + 2, k] + s3 * W[h + 3, k])
        h += 4
    while h < n:
        s = v[h]
        for k in range(m):
            out[k] += s * W[h, k]
        h += 1


def _lstm_forward(G, h0, c0, w_hhT, sizes, offsets, Y, C, TC, relu, M, g_pre):
    H = w_hhT.shape[0]
    masked, keep_pre = M.shape[0] > 0, g_pre.shape[0] > 0
    hm = np.empty(H, dtype=G.dtype)
    tmp = np.empty(4 * H, dtype=G.dtype)
    for t in range(sizes.shape[0]):
        a0, b = offsets[t], sizes[t]
        p0 = offsets[t - 1] if t > 0 else -1
        for j in range(b):
            r = a0 + j
            hp = h0[j] if p0 < 0 else Y[p0 + j]
            cp = c0[j] if p0 < 0 else C[p0 + j]
            for h in range(H):
                hm[h] = hp[h] * M[j, h] if masked else hp[h]
            _vecmat(hm, w_hhT, tmp)
            a = G[r]
            for k in range(4 * H):
                a[k] += tmp[k]
            # the gates in simple passes of independent calls, which the core
            # overlaps (faster than one fused pass per unit), then the cell
            for k in range(2 * H):
                a[k] = _sigmoid(a[k])
            for k in range(3 * H, 4 * H):
                a[k] = _sigmoid(a[k])
            for k in range(2 * H, 3 * H):
                if keep_pre:
                    g_pre[r, k - 2 * H] = a[k]
                a[k] = _phi(a[k], relu)
            for k in range(H):
                c = a[H + k] * cp[k]                # cₜ = f ⊙ cₜ₋₁ + i ⊙ g
                c += a[k] * a[2 * H + k]
                C[r, k] = c
            for k in range(H):
                TC[r, k] = _phi(C[r, k], relu)      # from the stored (rounded) cₜ, as NumPy does
            for k in range(H):
                Y[r, k] = a[3 * H + k] * TC[r, k]   # hₜ = o ⊙ φ(cₜ)


def _lstm_backward(G, C, TC, c0, w_hh, sizes, offsets, g_y, dA, c_slope, dh, dc, M, g_cells, extra):
    H = w_hh.shape[1]
    masked, cells_, extra_ = M.shape[0] > 0, g_cells.shape[0] > 0, extra.shape[0] > 0
    for t in range(sizes.shape[0] - 1, -1, -1):
        a0, b = offsets[t], sizes[t]
        p0 = offsets[t - 1] if t > 0 else -1
        for j in range(b):
            r = a0 + j
            cp = c0[j] if p0 < 0 else C[p0 + j]
            a, da, dhb, dcb = G[r], dA[r], dh[j], dc[j]
            for k in range(H):
                dhb[k] += g_y[r, k]
            for k in range(H):
                d = da[3 * H + k] * dhb[k]          # δo = δh ⊙ φ(cₜ) ⊙ o(1 − o)
                da[3 * H + k] = d * TC[r, k]
                tb = dhb[k] * a[3 * H + k]          # δc += δh ⊙ o ⊙ φ′(cₜ)
                tb *= c_slope[r, k]
                dcb[k] += tb
                if cells_:
                    dcb[k] += g_cells[r, k]
                dck = dcb[k]
                da[k] = (da[k] * dck) * a[2 * H + k]            # δi = δc ⊙ g ⊙ i(1 − i)
                da[H + k] = (da[H + k] * dck) * cp[k]           # δf = δc ⊙ cₜ₋₁ ⊙ f(1 − f)
                da[2 * H + k] = (da[2 * H + k] * dck) * a[k]    # δg = δc ⊙ i ⊙ φ′(a_g)
                if extra_:
                    for q in range(4):
                        da[q * H + k] += extra[r, q * H + k]
                dcb[k] = dck * a[H + k]             # δcₜ₋₁ = δc ⊙ f
            _vecmat(da, w_hh, dhb)                  # δhₜ₋₁ = δa W_hh (⊙ m)
            if masked:
                for k in range(H):
                    dhb[k] *= M[j, k]


def _gru_forward(Z, h0, w_hhT, b_hh, sizes, offsets, GHn, Y, relu, M, n_pre):
    H = w_hhT.shape[0]
    masked, bias, keep_pre = M.shape[0] > 0, b_hh.shape[0] > 0, n_pre.shape[0] > 0
    hm = np.empty(H, dtype=Z.dtype)
    gh = np.empty(3 * H, dtype=Z.dtype)
    for t in range(sizes.shape[0]):
        a0, b = offsets[t], sizes[t]
        p0 = offsets[t - 1] if t > 0 else -1
        for j in range(b):
            r = a0 + j
            hp = h0[j] if p0 < 0 else Y[p0 + j]
            for h in range(H):
                hm[h] = hp[h] * M[j, h] if masked else hp[h]
            _vecmat(hm, w_hhT, gh)
            if bias:
                for k in range(3 * H):
                    gh[k] += b_hh[k]
            a = Z[r]
            for k in range(2 * H):
                a[k] = _sigmoid(a[k] + gh[k])
            for k in range(H):
                GHn[r, k] = gh[2 * H + k]
                n = a[2 * H + k] + a[k] * gh[2 * H + k]     # n = φ(W_in x + b_in + r ⊙ (W_hn h + b_hn))
                if keep_pre:
                    n_pre[r, k] = n
                a[2 * H + k] = n
            for k in range(2 * H, 3 * H):
                a[k] = _phi(a[k], relu)
            for k in range(H):
                n = a[2 * H + k]
                Y[r, k] = (hp[k] - n) * a[H + k] + n       # h′ = n + z ⊙ (h − n)


def _gru_backward(Z, GHn, Y, h0, w_hh, sizes, offsets, g_y, dGX, dGH, dh, M, extra):
    H = w_hh.shape[1]
    masked, extra_ = M.shape[0] > 0, extra.shape[0] > 0
    back = np.empty(H, dtype=Z.dtype)
    for t in range(sizes.shape[0] - 1, -1, -1):
        a0, b = offsets[t], sizes[t]
        p0 = offsets[t - 1] if t > 0 else -1
        for j in range(b):
            r = a0 + j
            hp = h0[j] if p0 < 0 else Y[p0 + j]
            a, dx, dg, dhb = Z[r], dGX[r], dGH[r], dh[j]
            for k in range(H):
                dhb[k] += g_y[r, k]
            for k in range(H):
                z, n = a[H + k], a[2 * H + k]
                dx[H + k] *= (hp[k] - n) * dhb[k]            # δz = δh ⊙ (h − n) ⊙ z(1 − z)
                dx[2 * H + k] *= dhb[k] - dhb[k] * z         # δn = δh ⊙ (1 − z) ⊙ φ′(a_n)
                if extra_:
                    dx[H + k] += extra[r, H + k]
                    dx[2 * H + k] += extra[r, 2 * H + k]
                d = dx[k] * dx[2 * H + k]                    # δr = δn ⊙ (W_hn h + b_hn) ⊙ r(1 − r)
                d *= GHn[r, k]
                if extra_:
                    d += extra[r, k]
                dx[k] = d
                dg[k], dg[H + k] = dx[k], dx[H + k]
                dg[2 * H + k] = dx[2 * H + k] * a[k]
                dhb[k] *= z
            _vecmat(dg, w_hh, back)                  # δhₜ₋₁ = δh ⊙ z + [δr δz δn ⊙ r] W_hh (⊙ m)
            for k in range(H):
                dhb[k] += back[k] * M[j, k] if masked else back[k]


def _rnn_forward(A, h0, w_hhT, sizes, offsets, Y, relu, M):
    H = w_hhT.shape[0]
    masked = M.shape[0] > 0
    hm = np.empty(H, dtype=A.dtype)
    tmp = np.empty(H, dtype=A.dtype)
    for t in range(sizes.shape[0]):
        a0, b = offsets[t], sizes[t]
        p0 = offsets[t - 1] if t > 0 else -1
        for j in range(b):
            r = a0 + j
            hp = h0[j] if p0 < 0 else Y[p0 + j]
            for h in range(H):
                hm[h] = hp[h] * M[j, h] if masked else hp[h]
            _vecmat(hm, w_hhT, tmp)
            for k in range(H):
                A[r, k] += tmp[k]
                Y[r, k] = _phi(A[r, k], relu)


def _rnn_backward(w_hh, sizes, offsets, g_y, dA, dh, M):
    H = w_hh.shape[1]
    masked = M.shape[0] > 0
    for t in range(sizes.shape[0] - 1, -1, -1):
        a0, b = offsets[t], sizes[t]
        for j in range(b):
            r = a0 + j
            da, dhb = dA[r], dh[j]
            for k in range(H):
                da[k] *= dhb[k] + g_y[r, k]                  # δaₜ = δh ⊙ φ′(aₜ)
            _vecmat(da, w_hh, dhb)                           # δhₜ₋₁ = δaₜ W_hh (⊙ m)
            if masked:
                for k in range(H):
                    dhb[k] *= M[j, k]


_HELPERS = ("_sigmoid", "_tanh", "_phi", "_vecmat")
_KERNELS = ("_lstm_forward", "_lstm_backward", "_gru_forward", "_gru_backward", "_rnn_forward", "_rnn_backward")


def _build():
    """Compile every kernel (lazily: numba is imported here, on first use).

    The helpers are compiled first and rebound in this module's globals, so the
    kernels (which call them as globals) see compiled functions."""
    global _kernels
    if _kernels is None:
        if not available():
            raise RuntimeError("retrograd.recurrent.compiled needs numba: pip install 'retrograd[speed]'")
        import numba
        g = globals()
        for name in _HELPERS:
            g[name] = numba.njit(cache=True, fastmath=False)(g[name])
        _kernels = {name: numba.njit(cache=True, fastmath=False, nogil=True)(g[name]) for name in _KERNELS}
    return _kernels


# --------------------------------------------------------------------------- entry points

def _table(steps):
    """steps.sizes / steps.offsets as int64 arrays, made once per Steps."""
    got = steps._cache.get(_KEY)
    if got is None:
        got = steps._cache[_KEY] = (np.asarray(steps.sizes, dtype=np.int64),
                                    np.asarray(steps.offsets, dtype=np.int64))
    return got


def _empty(dtype):
    return np.empty((0, 0), dtype=dtype)


def _read(a, dtype, who, what):
    """An input the kernel only reads: C-contiguous, of the layer's dtype (a copy if needed;
    read-only arrays too: numba would compile every kernel again for their type)."""
    if a is None:
        return _empty(dtype)
    if type(a) is not np.ndarray:
        raise TypeError(f"{who}: the compiled loop runs on NumPy arrays, got {type(a).__name__} for {what}")
    if a.dtype != dtype:
        raise TypeError(f"{who}: {what} dtype ({a.dtype}) does not match the layer's ({dtype})")
    return a if a.flags.c_contiguous and a.flags.writeable else np.array(a, order="C")


def _written(a, dtype, who, what):
    """An array the kernel writes in place: must already be C-contiguous of the layer's dtype."""
    if a is None:
        return _empty(dtype)
    if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable:
        raise TypeError(f"{who}: {what} must be a writeable C-contiguous NumPy {dtype} array, got "
                        f"{type(a).__name__} {getattr(a, 'dtype', '?')} (contiguous: "
                        f"{getattr(getattr(a, 'flags', None), 'c_contiguous', '?')})")
    return a


def _relu(activation, who):
    if activation not in ("tanh", "relu"):
        raise ValueError(f"{who}: activation must be 'tanh' or 'relu', got {activation!r}")
    return activation == "relu"


def lstm_forward_steps(steps, G, h0, c0, w_hh, Y, C, TC, activation="tanh", mask=None, g_pre=None) -> None:
    """The LSTM recurrence over the packed rows, in place.

    ``G`` (N, 4H) holds W_ih x + b_ih + b_hh on entry and the gates i, f, g, o
    (after σ / φ) on return; ``Y``, ``C``, ``TC`` (N, H) receive hₜ, cₜ, φ(cₜ).
    ``mask`` (B, H): recurrent dropout, multiplies hₜ₋₁ before W_hh. ``g_pre``
    (N, H), if given, receives the g gate's pre-activation (for relu's tie)."""
    who, dt = "lstm_forward_steps", G.dtype
    sizes, offsets = _table(steps)
    _build()["_lstm_forward"](
        _written(G, dt, who, "G"), _read(h0, dt, who, "h0"), _read(c0, dt, who, "c0"),
        np.ascontiguousarray(_read(w_hh, dt, who, "w_hh").T), sizes, offsets,
        _written(Y, dt, who, "Y"), _written(C, dt, who, "C"), _written(TC, dt, who, "TC"),
        _relu(activation, who), _read(mask, dt, who, "mask"), _written(g_pre, dt, who, "g_pre"))


def lstm_backward_steps(steps, G, C, TC, c0, w_hh, g_y, dA, c_slope, dh, dc,
                        mask=None, g_cells=None, extra=None) -> None:
    """BPTT through the LSTM recurrence, in place.

    ``dA`` (N, 4H) holds the local slopes on entry (i(1 − i), f(1 − f),
    φ′(a_g), o(1 − o)) and the gate pre-activation deltas δa on return;
    ``c_slope`` (N, H) is φ′(cₜ). ``dh``, ``dc`` (B, H) hold the gradients
    arriving at h_n, c_n on entry and those at h₀, c₀ on return (rows with no
    step untouched). ``g_cells`` (N, H): gradient at the cell states (gates=True);
    ``extra`` (N, 4H): the slopes times the gradient at the gates, added to δa."""
    who, dt = "lstm_backward_steps", G.dtype
    sizes, offsets = _table(steps)
    _build()["_lstm_backward"](
        _read(G, dt, who, "G"), _read(C, dt, who, "C"), _read(TC, dt, who, "TC"), _read(c0, dt, who, "c0"),
        _read(w_hh, dt, who, "w_hh"), sizes, offsets, _read(g_y, dt, who, "g_y"),
        _written(dA, dt, who, "dA"), _read(c_slope, dt, who, "c_slope"),
        _written(dh, dt, who, "dh"), _written(dc, dt, who, "dc"),
        _read(mask, dt, who, "mask"), _read(g_cells, dt, who, "g_cells"), _read(extra, dt, who, "extra"))


def gru_forward_steps(steps, Z, h0, w_hh, b_hh, GHn, Y, activation="tanh", mask=None, n_pre=None) -> None:
    """The GRU recurrence over the packed rows, in place.

    ``Z`` (N, 3H) holds W_ih x + b_ih on entry and the gates r, z, n on
    return; ``GHn`` (N, H) receives W_hn (hₜ₋₁ ⊙ m) + b_hn, ``Y`` (N, H) hₜ.
    ``b_hh`` may be None; ``n_pre`` (N, H), if given, receives n's pre-activation."""
    who, dt = "gru_forward_steps", Z.dtype
    sizes, offsets = _table(steps)
    b = np.empty(0, dtype=dt) if b_hh is None else _read(b_hh, dt, who, "b_hh")
    _build()["_gru_forward"](
        _written(Z, dt, who, "Z"), _read(h0, dt, who, "h0"),
        np.ascontiguousarray(_read(w_hh, dt, who, "w_hh").T), b, sizes, offsets,
        _written(GHn, dt, who, "GHn"), _written(Y, dt, who, "Y"),
        _relu(activation, who), _read(mask, dt, who, "mask"), _written(n_pre, dt, who, "n_pre"))


def gru_backward_steps(steps, Z, GHn, Y, h0, w_hh, g_y, dGX, dGH, dh, mask=None, extra=None) -> None:
    """BPTT through the GRU recurrence, in place.

    ``dGX`` (N, 3H) holds r(1 − r), z(1 − z), φ′(a_n) on entry and the deltas
    of the input-side pre-activations on return; ``dGH`` (N, 3H) receives those
    of the recurrent side ([δr δz δn ⊙ r]); ``dh`` (B, H) as for the LSTM."""
    who, dt = "gru_backward_steps", Z.dtype
    sizes, offsets = _table(steps)
    _build()["_gru_backward"](
        _read(Z, dt, who, "Z"), _read(GHn, dt, who, "GHn"), _read(Y, dt, who, "Y"), _read(h0, dt, who, "h0"),
        _read(w_hh, dt, who, "w_hh"), sizes, offsets, _read(g_y, dt, who, "g_y"),
        _written(dGX, dt, who, "dGX"), _written(dGH, dt, who, "dGH"), _written(dh, dt, who, "dh"),
        _read(mask, dt, who, "mask"), _read(extra, dt, who, "extra"))


def rnn_forward_steps(steps, A, h0, w_hh, Y, activation="tanh", mask=None) -> None:
    """The Elman recurrence in place: ``A`` (N, H) holds W_ih x + biases on
    entry and the pre-activations on return, ``Y`` receives hₜ = φ(aₜ)."""
    who, dt = "rnn_forward_steps", A.dtype
    sizes, offsets = _table(steps)
    _build()["_rnn_forward"](
        _written(A, dt, who, "A"), _read(h0, dt, who, "h0"),
        np.ascontiguousarray(_read(w_hh, dt, who, "w_hh").T), sizes, offsets,
        _written(Y, dt, who, "Y"), _relu(activation, who), _read(mask, dt, who, "mask"))


def rnn_backward_steps(steps, w_hh, g_y, dA, dh, mask=None) -> None:
    """BPTT through the Elman recurrence in place: ``dA`` (N, H) holds φ′(aₜ)
    on entry and δaₜ on return; ``dh`` (B, H) as for the LSTM."""
    who, dt = "rnn_backward_steps", dA.dtype
    sizes, offsets = _table(steps)
    _build()["_rnn_backward"](
        _read(w_hh, dt, who, "w_hh"), sizes, offsets, _read(g_y, dt, who, "g_y"),
        _written(dA, dt, who, "dA"), _written(dh, dt, who, "dh"), _read(mask, dt, who, "mask"))


__all__ = ["available", "worth_it", "lstm_forward_steps", "lstm_backward_steps", "gru_forward_steps",
           "gru_backward_steps", "rnn_forward_steps", "rnn_backward_steps"]
