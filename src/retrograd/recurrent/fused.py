"""Whole-sequence recurrent ops with a hand-written per-gate BPTT.

One op runs a layer over all steps of a batch of sequences: the input
projection of every step is one GEMM, each step adds one (b×H)·(H×kH) GEMM,
and the activations are saved in preallocated buffers. Its vjp is
backpropagation through time written out gate by gate (how BPTT works for an
LSTM, per gate), then the weight
gradients as one GEMM each over all steps:

LSTM, per step t (backwards), with δh the gradient arriving at hₜ and φ the
cell activation (tanh, or relu for Keras' ``activation='relu'``):
    δo = δh ⊙ φ(cₜ) ⊙ o(1 − o)
    δc = δc₊ + δh ⊙ o ⊙ φ′(cₜ)
    δi = δc ⊙ g ⊙ i(1 − i)       δg = δc ⊙ i ⊙ φ′(a_g)
    δf = δc ⊙ cₜ₋₁ ⊙ f(1 − f)    δc₊ ← δc ⊙ f
    δhₜ₋₁ = [δi δf δg δo] W_hh
    W̄_ih = Σₜ δaₜᵀ xₜ,  W̄_hh = Σₜ δaₜᵀ hₜ₋₁,  b̄ = Σₜ δaₜ,  x̄ₜ = δaₜ W_ih

**The packed layout.** Every op works on a batch in PyTorch's packed layout
(``Steps``): the rows of x are the real steps only, time-major, and step t
holds the first ``b_t`` rows of the batch (b₀ ≥ b₁ ≥ …: the sequences sorted
by decreasing length). A plain (T, B) batch is the case b_t = B, whose packed
rows are simply x.reshape(T·B, I). A row that has ended keeps its state, so
h_n is each sequence's state at its own last step, and padded steps cost no
compute at all. Masks (any pattern of real and padded steps) and the reverse
direction of a bidirectional layer are brought to this layout by the layers
(``layers.py``) with one gather, so one kernel serves them all.

**Recurrent dropout** (Gal & Ghahramani 2016, Keras' ``recurrent_dropout``):
``recurrent_mask`` is one (B, H) mask per sequence, already scaled by 1/(1 − p),
applied to hₜ₋₁ where it enters the recurrent GEMM: a = … + W_hh (hₜ₋₁ ⊙ m),
so δhₜ₋₁ = (δa W_hh) ⊙ m and W̄_hh = Σₜ δaₜᵀ (hₜ₋₁ ⊙ m).

**Gates on request** (``gates=True``): the op also returns every step's gate
*activations* — LSTM [i f g o] = [σ(a_i) σ(a_f) φ(a_g) σ(a_o)] as one (N, 4H)
output and its cell states cₜ (N, H); GRU [r z n] = [σ(a_r) σ(a_z) φ(a_n)] (N, 3H);
never the pre-activations. They are differentiable outputs like the others (a
gradient arriving at them flows back through the gates), and they are the op's
``adjoint_outputs``: the op uses these very values inside, so a tensor copied
from them that a backward pass wants the gradient of (``engine.expose``:
``retain_grad``, ``grad(inputs=…)``) gets, per step, row and unit, what the
gate tensor of a composed cell loop gets. The vjp then reports the gradients
through the recurrence (``engine.report_adjoint``), from the deltas it computes
anyway (δh, δc of every step, the NumPy loop recording them):
    LSTM  ∂L/∂i = δc⊙g   ∂L/∂f = δc⊙cₜ₋₁   ∂L/∂g = δc⊙i   ∂L/∂o = δh⊙φ(cₜ)   ∂L/∂cₜ = δc
    GRU   ∂L/∂r = δa_n⊙(W_hn hₜ₋₁ + b_hn)   ∂L/∂z = δh⊙(hₜ₋₁ − n)   ∂L/∂n = δh⊙(1 − z)
(δc, δh the gradients arriving at cₜ, hₜ from later steps and the outputs; δa_n
the candidate's pre-activation delta). When no pass wants them, none of this runs.

Each op is tested equal, in value and gradient, to the composed cells and to
PyTorch's layers. What a vjp needs is declared with ``Op.save`` and released
by the engine right after the vjp ran. With ``create_graph=True`` the engine
asks for ``vjp_differentiable`` instead: the forward is recorded again from the
cells' equations (``cells.lstm_update`` …) and differentiated on the tape, so
second derivatives (Hessian-vector products) flow through a fused layer.

**Forward mode** (``jvp``, beside each vjp): the forward loop linearised over
the same packed rows, from the same saved gates and states — ḣₜ =
∂hₜ/∂hₜ₋₁·ḣₜ₋₁ + ∂hₜ/∂(xₜ, θ)·(ẋₜ, θ̇), rows that have ended carrying their
tangent as they carry their state — with the tangents' leading direction axes
flattened into the GEMMs' rows (RTRL pushes many directions at once). Under a
differentiable walk the tangents are pushed through the cells' equations
recorded again (``_SequenceOp.jvp_recorded``), as for ``create_graph``.

The backward loop emits ``STEP_EVENT`` to the observers of ``autograd.hooks``
with each step's deltas (rows active at that step): ``rg.bptt.trace`` listens
with ``hooks.observe(STEP_EVENT, fn)``.
"""

from __future__ import annotations

from .. import ops
from ..autograd import backend, hooks
from ..autograd.backend import xp
from ..autograd.engine import adjoints_wanted, report_adjoint
from ..autograd.namespaces import ARRAY_NS
from ..autograd.op import ALL, OpError
from . import cells, compiled, cuda_kernels
from .buffers import Prefixes, pool
from .sequence_op import _SequenceOp, _recorded_steps


def _sigmoid_(a):
    """In place: σ(a) = 1 / (1 + e⁻ᵃ) as four SIMD ufunc passes — faster than
    ``scipy.special.expit``'s scalar loop on gate blocks, and as exact
    (e⁻ᵃ overflows to inf for very negative a, giving σ = 0: the callers run
    under ``errstate(over="ignore")``)."""
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    a += 1
    return xp.reciprocal(a, out=a)


# hooks event: fn(op, t, δh, δc or None, δa), per step of a fused op's backward loop,
# where δa holds the step's stacked gate pre-activation deltas (b_t, k·H) of the rows active at step t.
STEP_EVENT = "recurrent.step"

def _relu(a, out):
    return xp.maximum(a, 0, out=out)


def _activation(name):
    """φ(a, out=…): tanh, or relu (Keras' ``activation='relu'``)."""
    return xp.tanh if name == "tanh" else _relu


def _slope(name, y, pre, tie):
    """φ′ at every step at once: 1 − y² for tanh (from the output y); for relu
    the step of the pre-activation, with the tie value at 0 from ``rg.conventions``
    (``pre`` is None when that tie is 0: then y > 0 says the same)."""
    if name == "tanh":
        s = xp.multiply(y, y)
        return xp.subtract(1, s, out=s)
    s = ((y if pre is None else pre) > 0).astype(y.dtype)
    if pre is not None:
        s += tie * (pre == 0)
    return s


def _compiled(kind, batch, hidden, dtype):
    """Whether the compiled step loops (``compiled.py``, numba: the optional speed
    extra) run this op instead of the NumPy loops: small layers (where per-step
    dispatch is the cost) on NumPy arrays of a dtype they are compiled for
    (float32, float64; a float16 layer runs the NumPy loops). They compute the
    same numbers (tested to 1e-10 in float64); only the loop around the GEMMs changes."""
    return compiled.worth_it(batch, hidden, kind, dtype) and backend.get_backend() == "numpy"


def _kernels(dtype):
    """The step kernels of ``cuda_kernels`` (one CuPy kernel per step's gate math) for this
    backend and dtype, or None: then the NumPy loops below run, unchanged."""
    return cuda_kernels.kernels_for(backend.get_backend(), dtype)


def _check(name, steps, x, h0, w_ih, w_hh, k):
    if x.ndim != 2 or x.shape[0] != steps.total:
        raise OpError(f"{name}: input must be the packed rows ({steps.total}, input_size) of {len(steps)} steps, "
                      f"got shape {x.shape}")
    rows, hidden = w_hh.shape
    if rows != k * hidden or w_ih.shape != (rows, x.shape[1]):
        raise OpError(f"{name}: weights of shapes {w_ih.shape}, {w_hh.shape} do not fit input {x.shape} "
                      f"(expected ({k}*H, {x.shape[1]}) and ({k}*H, H))")
    if h0.shape != (steps.batch, hidden):
        raise OpError(f"{name}: initial state of shape {h0.shape}, expected {(steps.batch, hidden)}")


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
    """W_ih xₜ + b_ih (+ b_hh) of every step at once: one GEMM over the packed
    rows, into a pooled buffer (``buffers.pool``)."""
    G = xp.matmul(x, w_ih.T, out=pool.take((x.shape[0], w_ih.shape[0]), x.dtype))
    if b_ih is not None:
        G += b_ih
    if extra_bias and b_hh is not None:
        G += b_hh
    return G


def _final(steps, Y, h0):
    """Each row's state after its own last step (rows with no step keep h₀)."""
    if steps.dense and len(steps):
        return Y[steps.total - steps.batch:]
    out = xp.array(h0)
    b0 = steps.first
    if b0:
        out[:b0] = Y[steps.final_positions()]
    return out


def _previous_states(steps, S, s0):
    """The state before every packed row's step: s₀ at step 0, else the row's state
    the step before (S, the states of every step, as the packed rows)."""
    out = xp.empty_like(S)
    b0 = steps.first
    out[:b0] = s0[:b0]
    if steps.total > b0:
        out[b0:] = S[steps.previous_positions()]
    return out


def _recurrent_weight_grad(steps, dA, Y, h0, mask):
    """W̄_hh = Σₜ δaₜᵀ (hₜ₋₁ ⊙ m): step 0 against h₀, the others against the
    outputs of the step before (gathered once when the batch is packed)."""
    b0 = steps.first
    h_first = h0[:b0] if mask is None else h0[:b0] * mask[:b0]
    g = dA[:b0].T @ h_first
    if steps.total > b0:
        prev = Y[steps.previous_positions()]
        if mask is not None:
            prev = prev * mask[steps.rows()[b0:]]
        g += dA[b0:].T @ prev
    return g


# ------------------------------------------------------------ forward mode (jvp)
# The tangent recurrence is the forward pass linearised, step by step over the same
# packed rows: ḣₜ = ∂hₜ/∂hₜ₋₁·ḣₜ₋₁ + ∂hₜ/∂(x, θ)·(ẋ, θ̇), rows past b_t carrying their
# tangent as the forward carries their state. Tangents carry K = prod(L) leading
# directions (flattened to one axis here), so RTRL's many columns run as one batch of GEMMs.
def _tangent_lead(ts, xs):
    """(L, K): the leading direction axes of the tangents and their number."""
    for t, x in zip(ts, xs):
        if t is not None:
            lead = tuple(t.shape[:t.ndim - x.ndim])
            k = 1
            for d in lead:
                k *= d
            return lead, k
    raise ValueError("jvp without a tangent")


def _flat(t, k, shape):
    """A tangent L + shape as (K, *shape) (None stays None)."""
    return None if t is None else t.reshape((k,) + tuple(shape))


def _stacked_matmul(t, w):
    """(K, n, a) @ (a, c) as one (K·n, a) GEMM (NumPy would run K small ones)."""
    k, n, a = t.shape
    return (t.reshape(k * n, a) @ w).reshape(k, n, w.shape[1])


def _weight_tangent_matmul(h, tw):
    """h Ẇᵀ for every direction: (n, a) and (K, c, a) → (K, n, c)."""
    return h @ tw.swapaxes(1, 2)


def _input_tangent(k, x, w_ih, tx, tw, biases, dtype):
    """Ȧ = ẋ W_ihᵀ + x Ẇ_ihᵀ + Σ ḃ of every packed row at once: (K, N, k·H)."""
    out = xp.zeros((k, x.shape[0], w_ih.shape[0]), dtype=dtype)
    if tx is not None:
        out += _stacked_matmul(tx, w_ih.T)
    if tw is not None:
        out += _weight_tangent_matmul(x, tw)
    for tb in biases:
        if tb is not None:
            out += tb[:, None, :]
    return out


def _recurrent_tangent(hp, dhp, m, w_hh, tw_hh, tb=None):
    """The recurrent GEMM linearised: (ḣₜ₋₁ ⊙ m) W_hhᵀ + (hₜ₋₁ ⊙ m) Ẇ_hhᵀ (+ ḃ_hh): (K, b, k·H)."""
    if m is not None:
        hp, dhp = hp * m, dhp * m
    r = _stacked_matmul(dhp, w_hh.T)
    if tw_hh is not None:
        r += _weight_tangent_matmul(hp, tw_hh)
    if tb is not None:
        r += tb[:, None, :]
    return r


def _state_tangent(t, k, shape, dtype):
    """The running state tangent (K, B, H): ḣ₀ (or ċ₀), zero when it has none."""
    return xp.zeros((k,) + tuple(shape), dtype=dtype) if t is None else t.reshape((k,) + tuple(shape)).astype(
        dtype, copy=True)


class LSTMLayer(_SequenceOp):
    """(x, h₀, c₀, W_ih, W_hh, b_ih, b_hh) → (outputs, h_n, c_n[, gates, cell states])
    over the packed rows of a batch of sequences (``steps``)."""
    name = "lstm_layer"
    __slots__ = ()
    save_inputs = ALL  # the loops read x, h₀ (c₀), both weights; the biases only for their shape
    gate_outputs_saved = frozenset({"G", "C"})
    gate_outputs = (3, 4)  # the gate activations [i f g o], the cell states

    def vjp_scratch_nbytes(self) -> int:
        """The deltas of every gate (as large as G) and φ(cₜ) with its slope (twice C)."""
        return self.saved["G"].nbytes + 2 * self.saved["C"].nbytes if self.saved else 0

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        steps, act = self.steps, self.activation
        _check(self.name, steps, x, h0, w_ih, w_hh, 4)
        _check_dtypes(self.name, w_ih, input=x, h0=h0, c0=c0, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
        self._check_mask(h0)
        H, B, M = w_hh.shape[1], steps.batch, self.recurrent_mask
        G = _input_projection(x, w_ih, b_ih, b_hh)       # (N, 4H); becomes the gates i, f, g, o
        # stored per step: the gates, h and c (6H: the floor); φ(cₜ) is recomputed in the vjp
        Y, C = xp.empty((steps.total, H), dtype=G.dtype), pool.take((steps.total, H), G.dtype)
        g_pre = xp.empty((steps.total, H), dtype=G.dtype) if self.tie else None
        w_hhT = xp.ascontiguousarray(w_hh.T)  # a row-major copy: the per-step GEMM runs faster on it
        phi = _activation(act)
        kern = _kernels(w_hh.dtype)
        if kern is not None:
            kern.lstm_forward_steps(steps, G, h0, c0, w_hhT, Y, C, act, M, g_pre)
        elif _compiled("LSTM", B, H, w_hh.dtype):
            compiled.lstm_forward_steps(steps, G, h0, c0, w_hh, Y, C, xp.empty_like(C), act, M, g_pre)
        else:
            scratch = Prefixes(xp.empty((B, 4 * H), dtype=G.dtype),
                                *(xp.empty((B, H), dtype=G.dtype) for _ in range(4)),
                                M if M is not None else xp.empty((B, 0)))
            with xp.errstate(over="ignore"):
                for a0, a1, b, p0 in steps.blocks:
                    tmp, g_act, ig, hm, tc, m = scratch[b]
                    # the state before the step: a prefix of step t − 1's rows (sorted by length), or of h₀, c₀
                    hp, cp = (h0[:b], c0[:b]) if p0 < 0 else (Y[p0:p0 + b], C[p0:p0 + b])
                    if M is not None:
                        hp = xp.multiply(hp, m, out=hm)
                    a = G[a0:a1]
                    xp.matmul(hp, w_hhT, out=tmp)
                    a += tmp
                    a_g = a[:, 2 * H:3 * H]
                    if g_pre is not None:
                        g_pre[a0:a1] = a_g
                    phi(a_g, out=g_act)
                    _sigmoid_(a)                             # all four blocks at once (contiguous) …
                    a_g[...] = g_act                         # … then g gets its φ back
                    i, f, o = a[:, :H], a[:, H:2 * H], a[:, 3 * H:]
                    c = C[a0:a1]
                    xp.multiply(f, cp, out=c)                # cₜ = f ⊙ cₜ₋₁ + i ⊙ g
                    xp.multiply(i, a_g, out=ig)
                    c += ig
                    phi(c, out=tc)
                    xp.multiply(o, tc, out=Y[a0:a1])         # hₜ = o ⊙ φ(cₜ)
        self.save(G=G, Y=Y, C=C, **({} if g_pre is None else {"g_pre": g_pre}))
        c_n = _final(steps, C, c0)
        c_n = c_n.copy() if c_n.base is C else c_n       # a view would keep all of C alive
        return (Y, _final(steps, Y, h0), c_n) + ((G, C) if self.gates else ())

    def recompute(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        act = self.activation

        def step(xb, state, m):
            return cells.lstm_update(xb, *state, w_ih, w_hh, b_ih, b_hh, activation=act, recurrent_mask=m)
        (Y, C), (h, c), pre = _recorded_steps(self.steps, x, (h0, c0), self.recurrent_mask, step)
        if not self.gates:
            return Y, h, c
        phi = cells.ACTIVATION_FUNCTIONS[act]
        G = ops.concatenate([ops.concatenate([ops.sigmoid(i), ops.sigmoid(f), phi(g), ops.sigmoid(o)], axis=1)
                             for i, f, g, o in pre], axis=0)
        return Y, h, c, G, C

    def vjp(self, ns, grads, ans, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        g_y, g_h, g_c = grads[:3]
        g_gates, g_cells = grads[3:5] if self.gates else (None, None)
        steps, act, M = self.steps, self.activation, self.recurrent_mask
        saved = self.saved
        G, Y, C = saved["G"], saved["Y"], saved["C"]
        H = w_hh.shape[1]
        # The local derivatives of every step at once, in the delta buffer itself:
        # σ′ = s(1 − s) for i, f, o and φ′(a_g) for g; then each step multiplies in place.
        dA = xp.subtract(1, G, out=pool.take(G.shape, G.dtype))
        dA *= G
        dA[:, 2 * H:3 * H] = _slope(act, G[:, 2 * H:3 * H], saved.get("g_pre"), self.tie)
        extra = dA * g_gates if g_gates is not None and g_gates.any() else None  # gates used downstream
        dh = xp.array(g_h, dtype=G.dtype)
        dc = xp.array(g_c, dtype=G.dtype)
        phi, tie = _activation(act), self.tie
        listen = hooks.active(STEP_EVENT)
        wanted = adjoints_wanted(self) if self.gates else ()
        if wanted:  # every step's δh and δc (before the external gradient of cₜ), for the gates' adjoints
            DH, DC = xp.empty_like(C), xp.empty_like(C)
        loop = listen or wanted
        kern = None if loop else _kernels(w_hh.dtype)
        if kern is not None:
            kern.lstm_backward_steps(steps, G, C, c0, w_hh, g_y, dA, dh, dc, M, g_cells, extra, act, tie)
        elif _compiled("LSTM", dh.shape[0], H, w_hh.dtype) and not loop:
            tc = phi(C, out=xp.empty_like(C))
            c_slope = _slope(act, tc, C if tie else None, tie)
            compiled.lstm_backward_steps(steps, G, C, tc, c0, w_hh, g_y, dA, c_slope, dh, dc, M, g_cells, extra)
        else:
            scratch = Prefixes(dh, dc, *(xp.empty_like(dh) for _ in range(3)),
                                M if M is not None else xp.empty((dh.shape[0], 0)))
            blocks = steps.blocks
            for t in range(len(steps) - 1, -1, -1):
                a0, a1, b, p0 = blocks[t]
                dhb, dcb, tb, tc, cs, m = scratch[b]
                dhb += g_y[a0:a1]
                a, da, c = G[a0:a1], dA[a0:a1], C[a0:a1]
                i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                d_i, d_f, d_g, d_o = da[:, :H], da[:, H:2 * H], da[:, 2 * H:3 * H], da[:, 3 * H:]
                phi(c, out=tc)                               # φ(cₜ) again (not stored: 1/7 of the memory)
                d_o *= dhb                                   # δo = δh ⊙ φ(cₜ) ⊙ o(1 − o)
                d_o *= tc
                if act == "tanh":                            # φ′(cₜ) = 1 − tanh² cₜ
                    xp.multiply(tc, tc, out=cs)
                    xp.subtract(1, cs, out=cs)
                else:                                        # the relu step, its tie at 0 from rg.conventions
                    cs[...] = c > 0
                    if tie:
                        cs += tie * (c == 0)
                xp.multiply(dhb, o, out=tb)                  # δc += δh ⊙ o ⊙ φ′(cₜ)
                tb *= cs
                dcb += tb
                if wanted:
                    DH[a0:a1], DC[a0:a1] = dhb, dcb
                if g_cells is not None:
                    dcb += g_cells[a0:a1]
                cp = c0[:b] if p0 < 0 else C[p0:p0 + b]
                da.reshape(b, 4, H)[:, :3] *= dcb[:, None, :]  # δi, δf, δg all carry δc …
                d_i *= g                                     # δi = δc ⊙ g ⊙ i(1 − i)
                d_f *= cp                                    # δf = δc ⊙ cₜ₋₁ ⊙ f(1 − f)
                d_g *= i                                     # δg = δc ⊙ i ⊙ φ′(a_g)
                if extra is not None:
                    da += extra[a0:a1]
                if listen:
                    hooks.emit(STEP_EVENT, self, t, dhb, dcb, da)
                dcb *= f                                     # δcₜ₋₁ = δc ⊙ f
                xp.matmul(da, w_hh, out=dhb)                 # δhₜ₋₁ = [δi δf δg δo] W_hh (⊙ m)
                if M is not None:
                    dhb *= m
        if wanted:
            self._report_gates(wanted, DH, DC, g_cells, c0)
        n = self.needs
        gx = dA @ w_ih if n[0] else None
        gw_ih = dA.T @ x if n[3] else None
        gw_hh = _recurrent_weight_grad(steps, dA, Y, h0, M) if n[4] else None
        gb = dA.sum(axis=0) if (b_ih is not None and (n[5] or n[6])) else None
        if not listen:  # no observer holds views of the deltas
            pool.give(dA)
        return (gx, dh if n[1] else None, dc if n[2] else None, gw_ih, gw_hh,
                gb if n[5] else None, gb if n[6] else None)

    def _report_gates(self, wanted, DH, DC, g_cells, c0):
        """The adjoints of the gate activations and cell states through the recurrence
        (see the module docstring), from every step's δh and δc."""
        G, C = self.saved["G"], self.saved["C"]
        H = C.shape[1]
        if 3 in wanted:
            dc = DC if g_cells is None else DC + g_cells     # δc: all that reaches cₜ
            D = xp.empty_like(G)
            xp.multiply(dc, G[:, 2 * H:3 * H], out=D[:, :H])  # ∂L/∂i = δc ⊙ g
            xp.multiply(dc, _previous_states(self.steps, C, c0), out=D[:, H:2 * H])  # ∂L/∂f = δc ⊙ cₜ₋₁
            xp.multiply(dc, G[:, :H], out=D[:, 2 * H:3 * H])  # ∂L/∂g = δc ⊙ i
            o = D[:, 3 * H:]
            _activation(self.activation)(C, out=o)           # ∂L/∂o = δh ⊙ φ(cₜ)
            o *= DH
            report_adjoint(self, 3, D)
        if 4 in wanted:
            report_adjoint(self, 4, DC)                      # ∂L/∂cₜ through hₜ and cₜ₊₁

    def jvp(self, ns, ts, ans, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        """Forward mode, per step t over the same rows (rows past b_t carry ḣ, ċ):
            ȧ = ẋ W_ihᵀ + x Ẇ_ihᵀ + ḃ_ih + ḃ_hh + (ḣₜ₋₁⊙m) W_hhᵀ + (hₜ₋₁⊙m) Ẇ_hhᵀ
            i̇, ḟ, ȯ = ȧ ⊙ s(1 − s);  ġ = ȧ_g ⊙ φ′(a_g)
            ċ = ḟ⊙cₜ₋₁ + f⊙ċₜ₋₁ + i̇⊙g + i⊙ġ;   ḣ = ȯ⊙φ(cₜ) + o⊙φ′(cₜ)⊙ċ
        (the slopes and their relu ties as the vjp takes them)."""
        if ns is not ARRAY_NS:
            return self.jvp_recorded(ts, (x, h0, c0, w_ih, w_hh, b_ih, b_hh))
        steps, act, M, tie = self.steps, self.activation, self.recurrent_mask, self.tie
        saved = self.saved
        G, C = saved["G"], saved["C"]
        Y = saved["Y"]
        H, dtype = w_hh.shape[1], G.dtype
        lead, k = _tangent_lead(ts, (x, h0, c0, w_ih, w_hh, b_ih, b_hh))
        tx, th0, tc0, tw_ih, tw_hh, tb_ih, tb_hh = (_flat(t, k, getattr(v, "shape", ())) for t, v in
                                                     zip(ts, (x, h0, c0, w_ih, w_hh, b_ih, b_hh)))
        dA = _input_tangent(k, x, w_ih, tx, tw_ih, (tb_ih, tb_hh), dtype)  # (K, N, 4H), becomes the gates' tangents
        # every step's local slopes at once: s(1 − s) for i, f, o, φ′(a_g) for g
        slope = xp.subtract(1, G)
        slope *= G
        slope[:, 2 * H:3 * H] = _slope(act, G[:, 2 * H:3 * H], saved.get("g_pre"), tie)
        phi = _activation(act)
        tc = phi(C, out=xp.empty_like(C))
        c_slope = _slope(act, tc, C if tie else None, tie)
        dh = _state_tangent(th0, k, h0.shape, dtype)
        dc = _state_tangent(tc0, k, c0.shape, dtype)
        dY, dC = xp.empty((k, steps.total, H), dtype=dtype), xp.empty((k, steps.total, H), dtype=dtype)
        for a0, a1, b, p0 in steps.blocks:
            hp, cp = (h0[:b], c0[:b]) if p0 < 0 else (Y[p0:p0 + b], C[p0:p0 + b])
            da = dA[:, a0:a1]
            da += _recurrent_tangent(hp, dh[:, :b], None if M is None else M[:b], w_hh, tw_hh)
            da *= slope[a0:a1]                               # [i̇ ḟ ġ ȯ]
            a = G[a0:a1]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            d_i, d_f, d_g, d_o = da[..., :H], da[..., H:2 * H], da[..., 2 * H:3 * H], da[..., 3 * H:]
            dcn = dC[:, a0:a1]
            xp.multiply(d_f, cp, out=dcn)                    # ċ = ḟ⊙cₜ₋₁ + f⊙ċₜ₋₁ + i̇⊙g + i⊙ġ
            dcn += f * dc[:, :b]
            dcn += d_i * g
            dcn += i * d_g
            dhn = dY[:, a0:a1]
            xp.multiply(d_o, tc[a0:a1], out=dhn)             # ḣ = ȯ⊙φ(cₜ) + o⊙φ′(cₜ)⊙ċ
            dhn += (o * c_slope[a0:a1]) * dcn
            dh[:, :b], dc[:, :b] = dhn, dcn
        outs = (dY, dh, dc) + ((dA, dC) if self.gates else ())
        shapes = ((steps.total, H), h0.shape, c0.shape, G.shape, C.shape)
        return tuple(o.reshape(lead + tuple(s)) for o, s in zip(outs, shapes))


class GRULayer(_SequenceOp):
    """(x, h₀, W_ih, W_hh, b_ih, b_hh) → (outputs, h_n[, gates]) over packed rows.

    Backwards per step, δh arriving at hₜ = (1 − z)⊙n + z⊙hₜ₋₁:
        δz = δh⊙(hₜ₋₁ − n)⊙z(1 − z)      δn = δh⊙(1 − z)⊙φ′(a_n)
        δr = δn⊙(W_hn hₜ₋₁ + b_hn)⊙r(1 − r)
        δhₜ₋₁ = δh⊙z + [δr δz δn⊙r] W_hh
    """
    name = "gru_layer"
    __slots__ = ()
    save_inputs = ALL  # the loops read x, h₀ (c₀), both weights; the biases only for their shape

    def vjp_scratch_nbytes(self) -> int:
        """The input-side and recurrent-side deltas of every gate (twice Z)."""
        return 2 * self.saved["Z"].nbytes if self.saved else 0
    gate_outputs_saved = frozenset({"Z"})
    gate_outputs = (2,)  # the gate activations [r z n]

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, act = self.steps, self.activation
        _check(self.name, steps, x, h0, w_ih, w_hh, 3)
        _check_dtypes(self.name, w_ih, input=x, h0=h0, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
        self._check_mask(h0)
        H, B, M = w_hh.shape[1], steps.batch, self.recurrent_mask
        Z = _input_projection(x, w_ih, b_ih, None, extra_bias=False)  # becomes the gates r, z, n
        GHn = pool.take((steps.total, H), Z.dtype)
        Y = xp.empty((steps.total, H), dtype=Z.dtype)
        n_pre = xp.empty((steps.total, H), dtype=Z.dtype) if self.tie else None
        w_hhT = xp.ascontiguousarray(w_hh.T)  # a row-major copy: the per-step GEMM runs faster on it
        gh, hm = xp.empty((B, 3 * H), dtype=Z.dtype), xp.empty((B, H), dtype=Z.dtype)
        kern = _kernels(w_hh.dtype)
        if kern is not None:
            kern.gru_forward_steps(steps, Z, h0, w_hhT, b_hh, GHn, Y, act, M, n_pre)
        elif _compiled("GRU", B, H, w_hh.dtype):
            compiled.gru_forward_steps(steps, Z, h0, w_hh, b_hh, GHn, Y, act, M, n_pre)
        else:
            with xp.errstate(over="ignore"):
                for a0, a1, b, p0 in steps.blocks:
                    hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
                    hr = hp if M is None else xp.multiply(hp, M[:b], out=hm[:b])
                    ghb = gh[:b]
                    xp.matmul(hr, w_hhT, out=ghb)
                    if b_hh is not None:
                        ghb += b_hh
                    a = Z[a0:a1]
                    a[:, :2 * H] += ghb[:, :2 * H]
                    _sigmoid_(a[:, :2 * H])
                    r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
                    GHn[a0:a1] = ghb[:, 2 * H:]
                    xp.multiply(r, GHn[a0:a1], out=hm[:b])
                    n += hm[:b]
                    if n_pre is not None:
                        n_pre[a0:a1] = n
                    _activation(act)(n, out=n)
                    h = Y[a0:a1]
                    xp.subtract(hp, n, out=h)                # h′ = n + z⊙(h − n)
                    h *= z
                    h += n
        self.save(Z=Z, GHn=GHn, Y=Y, **({} if n_pre is None else {"n_pre": n_pre}))
        return (Y, _final(steps, Y, h0)) + ((Z,) if self.gates else ())

    def recompute(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        act = self.activation

        def step(xb, state, m):
            h, pre = cells.gru_update(xb, state[0], w_ih, w_hh, b_ih, b_hh, activation=act, recurrent_mask=m)
            return (h,), pre
        (Y,), (h,), pre = _recorded_steps(self.steps, x, (h0,), self.recurrent_mask, step)
        if not self.gates:
            return Y, h
        phi = cells.ACTIVATION_FUNCTIONS[act]
        return Y, h, ops.concatenate([ops.concatenate([ops.sigmoid(r), ops.sigmoid(z), phi(n)], axis=1)
                                      for r, z, n in pre], axis=0)

    def vjp(self, ns, grads, ans, x, h0, w_ih, w_hh, b_ih, b_hh):
        g_y, g_h = grads[:2]
        g_gates = grads[2] if self.gates else None
        steps, act, M = self.steps, self.activation, self.recurrent_mask
        saved = self.saved
        Z, GHn, Y = saved["Z"], saved["GHn"], saved["Y"]
        H = w_hh.shape[1]
        # Local derivatives of every step at once, in the delta buffer itself:
        # r(1 − r), z(1 − z) and φ′(a_n); then each step multiplies in place.
        dGX = xp.subtract(1, Z, out=pool.take(Z.shape, Z.dtype))
        dGX *= Z
        dGX[:, 2 * H:] = _slope(act, Z[:, 2 * H:], saved.get("n_pre"), self.tie)
        extra = dGX * g_gates if g_gates is not None and g_gates.any() else None
        dGH = pool.take(Z.shape, Z.dtype)
        dh = xp.array(g_h, dtype=Z.dtype)
        tmp, back = xp.empty_like(dh), xp.empty_like(dh)
        listen = hooks.active(STEP_EVENT)
        wanted = adjoints_wanted(self) if self.gates else ()
        if wanted:  # every step's δh, for the gates' adjoints
            DH = xp.empty_like(Y)
        loop = listen or wanted
        kern = None if loop else _kernels(w_hh.dtype)
        if kern is not None:
            kern.gru_backward_steps(steps, Z, GHn, Y, h0, w_hh, g_y, dGX, dGH, dh, M, extra)
        elif _compiled("GRU", dh.shape[0], H, w_hh.dtype) and not loop:
            compiled.gru_backward_steps(steps, Z, GHn, Y, h0, w_hh, g_y, dGX, dGH, dh, M, extra)
        else:
            for t in range(len(steps) - 1, -1, -1):
                a0, a1, b, p0 = steps.blocks[t]
                dhb, tb = dh[:b], tmp[:b]
                dhb += g_y[a0:a1]
                if wanted:
                    DH[a0:a1] = dhb
                a = Z[a0:a1]
                r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
                hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
                dx_, dh_ = dGX[a0:a1], dGH[a0:a1]
                d_r, d_z, d_n = dx_[:, :H], dx_[:, H:2 * H], dx_[:, 2 * H:]
                xp.subtract(hp, n, out=tb)                   # δz = δh⊙(h − n)⊙z(1 − z)
                tb *= dhb
                d_z *= tb
                xp.multiply(dhb, z, out=tb)                  # δn = δh⊙(1 − z)⊙φ′(a_n)
                xp.subtract(dhb, tb, out=tb)
                d_n *= tb
                if extra is not None:
                    dx_[:, H:] += extra[a0:a1, H:]
                d_r *= d_n                                   # δr = δn⊙(W_hn h + b_hn)⊙r(1 − r)
                d_r *= GHn[a0:a1]
                if extra is not None:
                    d_r += extra[a0:a1, :H]
                dh_[:, :2 * H] = dx_[:, :2 * H]
                xp.multiply(d_n, r, out=dh_[:, 2 * H:])
                if listen:
                    hooks.emit(STEP_EVENT, self, t, dhb, None, dx_)
                dhb *= z                                     # δhₜ₋₁ = δh⊙z + [δr δz δn⊙r] W_hh (⊙ m)
                bb = back[:b]
                xp.matmul(dh_, w_hh, out=bb)
                if M is not None:
                    bb *= M[:b]
                dhb += bb
        if wanted:
            D = xp.empty_like(Z)
            r, z, n = Z[:, :H], Z[:, H:2 * H], Z[:, 2 * H:]
            xp.multiply(dGX[:, 2 * H:], GHn, out=D[:, :H])   # ∂L/∂r = δa_n ⊙ (W_hn hₜ₋₁ + b_hn)
            xp.subtract(_previous_states(steps, Y, h0), n, out=D[:, H:2 * H])
            D[:, H:2 * H] *= DH                              # ∂L/∂z = δh ⊙ (hₜ₋₁ − n)
            xp.subtract(1, z, out=D[:, 2 * H:])
            D[:, 2 * H:] *= DH                               # ∂L/∂n = δh ⊙ (1 − z)
            report_adjoint(self, 2, D)
        n_ = self.needs
        gx = dGX @ w_ih if n_[0] else None
        gw_ih = dGX.T @ x if n_[2] else None
        gw_hh = _recurrent_weight_grad(steps, dGH, Y, h0, M) if n_[3] else None
        gb_ih = dGX.sum(axis=0) if n_[4] else None
        gb_hh = dGH.sum(axis=0) if n_[5] else None
        if not listen:  # no observer holds views of the deltas
            pool.give(dGX, dGH)
        return gx, (dh if n_[1] else None), gw_ih, gw_hh, gb_ih, gb_hh

    def jvp(self, ns, ts, ans, x, h0, w_ih, w_hh, b_ih, b_hh):
        """Forward mode, per step t (rows past b_t carry ḣ), with ġh = (ḣₜ₋₁⊙m) W_hhᵀ +
        (hₜ₋₁⊙m) Ẇ_hhᵀ + ḃ_hh and ġx = ẋ W_ihᵀ + x Ẇ_ihᵀ + ḃ_ih:
            ṙ = (ġx_r + ġh_r)⊙r(1 − r)      ż = (ġx_z + ġh_z)⊙z(1 − z)
            ṅ = (ġx_n + ṙ⊙(W_hn hₜ₋₁ + b_hn) + r⊙ġh_n)⊙φ′(a_n)
            ḣ = (1 − z)⊙ṅ + ż⊙(hₜ₋₁ − n) + z⊙ḣₜ₋₁"""
        if ns is not ARRAY_NS:
            return self.jvp_recorded(ts, (x, h0, w_ih, w_hh, b_ih, b_hh))
        steps, act, M = self.steps, self.activation, self.recurrent_mask
        saved = self.saved
        Z, GHn, Y = saved["Z"], saved["GHn"], saved["Y"]
        H, dtype = w_hh.shape[1], Z.dtype
        lead, k = _tangent_lead(ts, (x, h0, w_ih, w_hh, b_ih, b_hh))
        tx, th0, tw_ih, tw_hh, tb_ih, tb_hh = (_flat(t, k, getattr(v, "shape", ())) for t, v in
                                               zip(ts, (x, h0, w_ih, w_hh, b_ih, b_hh)))
        dZ = _input_tangent(k, x, w_ih, tx, tw_ih, (tb_ih,), dtype)  # (K, N, 3H), becomes [ṙ ż ṅ]
        slope = xp.subtract(1, Z)                            # r(1 − r), z(1 − z), φ′(a_n) of every step
        slope *= Z
        slope[:, 2 * H:] = _slope(act, Z[:, 2 * H:], saved.get("n_pre"), self.tie)
        dh = _state_tangent(th0, k, h0.shape, dtype)
        dY = xp.empty((k, steps.total, H), dtype=dtype)
        for a0, a1, b, p0 in steps.blocks:
            hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
            dhp = dh[:, :b]
            dgh = _recurrent_tangent(hp, dhp, None if M is None else M[:b], w_hh, tw_hh, tb_hh)
            a, d, s = Z[a0:a1], dZ[:, a0:a1], slope[a0:a1]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            d[..., :2 * H] += dgh[..., :2 * H]
            d[..., :2 * H] *= s[:, :2 * H]                   # ṙ, ż
            d_r, d_z, d_n = d[..., :H], d[..., H:2 * H], d[..., 2 * H:]
            d_n += d_r * GHn[a0:a1]                          # ȧ_n = ġx_n + ṙ⊙(W_hn h + b_hn) + r⊙ġh_n
            d_n += r * dgh[..., 2 * H:]
            d_n *= s[:, 2 * H:]                              # ṅ
            dhn = dY[:, a0:a1]
            xp.multiply(1 - z, d_n, out=dhn)                 # ḣ = (1 − z)⊙ṅ + ż⊙(hₜ₋₁ − n) + z⊙ḣₜ₋₁
            dhn += d_z * (hp - n)
            dhn += z * dhp
            dh[:, :b] = dhn
        outs = (dY, dh) + ((dZ,) if self.gates else ())
        shapes = ((steps.total, H), h0.shape, Z.shape)
        return tuple(o.reshape(lead + tuple(s)) for o, s in zip(outs, shapes))


class RNNLayer(_SequenceOp):
    """(x, h₀, W_ih, W_hh, b_ih, b_hh) → (outputs, h_n) over packed rows, with
    hₜ = φ(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh), φ tanh or relu; δaₜ = δh ⊙ φ′
    (1 − hₜ² for tanh; the relu step, its tie at 0 from ``rg.conventions``),
    δhₜ₋₁ = δaₜ W_hh."""
    name = "rnn_layer"
    __slots__ = ()
    save_inputs = ALL  # the loops read x, h₀ (c₀), both weights; the biases only for their shape

    def vjp_scratch_nbytes(self) -> int:
        """The pre-activation deltas of every step (as large as Y)."""
        return self.saved["Y"].nbytes if self.saved else 0

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, act = self.steps, self.activation
        _check(self.name, steps, x, h0, w_ih, w_hh, 1)
        _check_dtypes(self.name, w_ih, input=x, h0=h0, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
        self._check_mask(h0)
        H, B, M = w_hh.shape[1], steps.batch, self.recurrent_mask
        A = _input_projection(x, w_ih, b_ih, b_hh)
        Y = xp.empty((steps.total, H), dtype=A.dtype)
        w_hhT = xp.ascontiguousarray(w_hh.T)  # a row-major copy: the per-step GEMM runs faster on it
        tmp, hm = xp.empty((B, H), dtype=A.dtype), xp.empty((B, H), dtype=A.dtype)
        phi = _activation(act)
        kern = _kernels(w_hh.dtype)
        if kern is not None:
            kern.rnn_forward_steps(steps, A, h0, w_hhT, Y, act, M)
        elif _compiled("RNN", B, H, w_hh.dtype):
            compiled.rnn_forward_steps(steps, A, h0, w_hh, Y, act, M)
        else:
            for a0, a1, b, p0 in steps.blocks:
                hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
                if M is not None:
                    hp = xp.multiply(hp, M[:b], out=hm[:b])
                xp.matmul(hp, w_hhT, out=tmp[:b])
                A[a0:a1] += tmp[:b]
                phi(A[a0:a1], out=Y[a0:a1])
        # the relu slope needs the pre-activations; tanh's, 1 − h², only the outputs
        self.save(Y=Y, **({"A": A} if act == "relu" else {}))
        if act != "relu":
            pool.give(A)
        return Y, _final(steps, Y, h0)

    def recompute(self, x, h0, w_ih, w_hh, b_ih, b_hh):
        act = self.activation

        def step(xb, state, m):
            h, pre = cells.rnn_update(xb, state[0], w_ih, w_hh, b_ih, b_hh, act, recurrent_mask=m)
            return (h,), pre
        (Y,), (h,), _ = _recorded_steps(self.steps, x, (h0,), self.recurrent_mask, step)
        return Y, h

    def vjp(self, ns, grads, ans, x, h0, w_ih, w_hh, b_ih, b_hh):
        g_y, g_h = grads
        steps, M = self.steps, self.recurrent_mask
        Y, A = self.saved["Y"], self.saved.get("A")
        # the activation's slope at every step at once, then in place per step
        dA = _slope(self.activation, Y, A, self.tie)
        dh = xp.array(g_h, dtype=Y.dtype)
        listen = hooks.active(STEP_EVENT)
        kern = None if listen else _kernels(w_hh.dtype)
        if kern is not None:
            kern.rnn_backward_steps(steps, w_hh, g_y, dA, dh, M)
        elif _compiled("RNN", dh.shape[0], w_hh.shape[1], w_hh.dtype) and not listen:
            compiled.rnn_backward_steps(steps, w_hh, g_y, dA, dh, M)
        else:
            for t in range(len(steps) - 1, -1, -1):
                a0, a1, b, _ = steps.blocks[t]
                dhb = dh[:b]
                dhb += g_y[a0:a1]
                da = dA[a0:a1]
                da *= dhb                                    # δaₜ = δh ⊙ φ′(aₜ)
                if listen:
                    hooks.emit(STEP_EVENT, self, t, dhb, None, da)
                xp.matmul(da, w_hh, out=dhb)                 # δhₜ₋₁ = δaₜ W_hh (⊙ m)
                if M is not None:
                    dhb *= M[:b]
        n = self.needs
        gx = dA @ w_ih if n[0] else None
        gw_ih = dA.T @ x if n[2] else None
        gw_hh = _recurrent_weight_grad(steps, dA, Y, h0, M) if n[3] else None
        gb = dA.sum(axis=0) if (n[4] or n[5]) else None
        return gx, (dh if n[1] else None), gw_ih, gw_hh, (gb if n[4] else None), (gb if n[5] else None)

    def jvp(self, ns, ts, ans, x, h0, w_ih, w_hh, b_ih, b_hh):
        """Forward mode, per step (rows past b_t carry ḣ):
        ḣₜ = φ′(aₜ) ⊙ (ẋ W_ihᵀ + x Ẇ_ihᵀ + ḃ_ih + ḃ_hh + (ḣₜ₋₁⊙m) W_hhᵀ + (hₜ₋₁⊙m) Ẇ_hhᵀ)."""
        if ns is not ARRAY_NS:
            return self.jvp_recorded(ts, (x, h0, w_ih, w_hh, b_ih, b_hh))
        steps, M = self.steps, self.recurrent_mask
        Y, A = self.saved["Y"], self.saved.get("A")
        H, dtype = w_hh.shape[1], Y.dtype
        lead, k = _tangent_lead(ts, (x, h0, w_ih, w_hh, b_ih, b_hh))
        tx, th0, tw_ih, tw_hh, tb_ih, tb_hh = (_flat(t, k, getattr(v, "shape", ())) for t, v in
                                               zip(ts, (x, h0, w_ih, w_hh, b_ih, b_hh)))
        dY = _input_tangent(k, x, w_ih, tx, tw_ih, (tb_ih, tb_hh), dtype)  # ȧ, then ḣ in place
        slope = _slope(self.activation, Y, A, self.tie)
        dh = _state_tangent(th0, k, h0.shape, dtype)
        for a0, a1, b, p0 in steps.blocks:
            hp = h0[:b] if p0 < 0 else Y[p0:p0 + b]
            da = dY[:, a0:a1]
            da += _recurrent_tangent(hp, dh[:, :b], None if M is None else M[:b], w_hh, tw_hh)
            da *= slope[a0:a1]
            dh[:, :b] = da
        return dY.reshape(lead + (steps.total, H)), dh.reshape(lead + tuple(h0.shape))
