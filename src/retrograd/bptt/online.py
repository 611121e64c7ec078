"""Online credit assignment: real-time recurrent learning and its approximations.

BPTT waits for the end of a sequence (or of a truncation window) and runs
backwards. The online algorithms carry forward, with the state, the
**influence** of every parameter on it, Mₜ = dsₜ/dθ, and can give the gradient
of every step's loss at that step (Williams & Zipser 1989)::

    Mₜ = Jₜ Mₜ₋₁ + Iₜ            Jₜ = ∂sₜ/∂sₜ₋₁,  Iₜ = ∂sₜ/∂θ (the step alone)
    dLₜ/dθ = ∂Lₜ/∂θ + ∂Lₜ/∂sₜ₋₁ · Mₜ₋₁

That recursion *is* forward-mode differentiation through time: Mₜ is the
tangent of sₜ when sₜ₋₁ carries the tangent Mₜ₋₁ and θ its own basis. So
``rtrl()`` records each step of the user's model and pushes Mₜ₋₁ through it
with the ops' jvps (``autograd.forward``), every parameter direction at once
(a leading axis of P directions; a parameter read by a linear layer gets its
immediate influence written in place, ``forward.Basis``).

The approximations keep less than the n×P influence per row:

==============  ==============================================================  =========================
mode            influence kept (per row)                                        source
==============  ==============================================================  =========================
``rtrl()``      Mₜ exact                                                        Williams & Zipser 1989
``snap(n)``     Mₜ on the entries a parameter can reach within n steps          Menick et al. 2021
                (structural pattern), zero elsewhere
``rflo(d)``     Mₜ = d·Mₜ₋₁ + Iₜ  (Jₜ replaced by d·I: a leaky cell's 1 − α)     Murray 2019
``uoro()``      Mₜ ≈ ũₜ θ̃ₜᵀ, rank one, unbiased (random signs ν)               Tallec & Ollivier 2018
``kf_rtrl()``   Mₜ ≈ uₜ ⊗ Aₜ (Kronecker factors of the one weight matrix        Mujika et al. 2018
                over [s; x; 1]), unbiased (random signs c₁, c₂)
==============  ==============================================================  =========================

Every estimate of step t's gradient is assembled the same way: with
cₜ = ∂Lₜ/∂sₜ and M̃ the kept influence,

    ĝₜ = (∂Lₜ/∂θ − cₜ Iₜ) + cₜ M̃ₜ + (∂Lₜ/∂sₜ₋₁ − cₜ Jₜ) M̃ₜ₋₁

the exact gradient of what does not pass through the new state, plus the
influence's share. With the exact Mₜ this is dLₜ/dθ; for a model whose output
reads the new state (Marschall et al.'s network) it is cₜ M̃ₜ plus the
readout's gradient, as in the papers. Parameters that do not reach the state
(a readout) get their exact gradient.
"""

from __future__ import annotations

import math

from ..autograd import engine
from ..random import new_generator
from ..autograd.backend import xp
from ..autograd.forward import Basis, push_tangents, seed_key
from ..autograd.graph import leaves as graph_leaves, walk as graph_walk
from ..autograd.mode import enable_grad, next_seq
from ..autograd.tensor import Tensor, _wrap
from ..recurrent.state import rebuild_state, state_parts
from .feeding import Feed

EPSILON = 1e-7  # UORO's and KF-RTRL's guard: a zero Jacobian gives a finite normaliser, not ∞ or NaN


class OnlineMode:
    """An online credit-assignment mode (``rtrl``, ``uoro``, ``kf_rtrl``, ``snap``, ``rflo``):
    an influence carried forward with the state, and an estimate of each step's
    gradient at that step. ``rg.bptt.gradient`` sums the estimates (parameters held
    fixed); ``rg.bptt.train`` updates after every step (or every ``update_every``)."""

    name = "online"
    exact = False
    stochastic = False
    last_plan = None

    def __repr__(self):
        return f"{self.name}()"

    def learner(self, names, params, recurrent):
        """A fresh per-run state of the algorithm."""
        raise NotImplementedError


# ---------------------------------------------------------------- one recorded step
class _Step:
    """One step of the model recorded from fresh state leaves: what every mode reads —
    the state parts before (the leaves) and after, the step's loss (None: no real row)
    and the sequence number before it was recorded (where its graph begins)."""

    def __init__(self, prev, new, loss, start):
        self.prev, self.new, self.loss, self.start = prev, new, loss, start

    def push(self, seeds: dict, lead: tuple) -> list:
        """The tangents of the new state parts given ``seeds`` (a zero array where none reaches)."""
        out = push_tangents(self.new, seeds, start_seq=self.start, lead=lead)
        return [xp.zeros(lead + tuple(n.shape), dtype=n.data.dtype) if t is None else t
                for t, n in zip(out, self.new)]


def _grads(outputs, inputs, cotangents=None):
    """∂(Σ outputs·cotangents)/∂inputs, zeros for inputs not reached (the graph is kept)."""
    live = [(o, c) for o, c in zip(outputs, cotangents or [None] * len(outputs)) if o is not None and o.requires_grad]
    if not live:
        return [xp.zeros(i.shape, dtype=i.data.dtype) for i in inputs]
    gs = engine.grad([o for o, _ in live], inputs, None if cotangents is None else [c for _, c in live],
                     retain_graph=True, allow_unused=True)
    return [xp.zeros(i.shape, dtype=i.data.dtype) if g is None else g.data for g, i in zip(gs, inputs)]


class _Layout:
    """The recurrent parameters laid out along one axis of P directions."""

    def __init__(self, params, recurrent):
        self.params = params
        self.recurrent = recurrent  # indices into params
        self.offsets, off = [], 0
        for i in recurrent:
            self.offsets.append(off)
            off += params[i].data.size
        self.P = off

    def basis_seeds(self) -> dict:
        return {seed_key(self.params[i]): Basis(o, self.P, self.params[i].shape, self.params[i].data.dtype)
                for i, o in zip(self.recurrent, self.offsets)}

    def split(self, flat) -> dict:
        """A (P,) vector as {param index: array of its shape}."""
        return {i: flat[o:o + self.params[i].data.size].reshape(self.params[i].shape)
                for i, o in zip(self.recurrent, self.offsets)}


def _contract(cs, tangents):
    """Σ over state parts of ⟨c, M⟩ over the state axes: (P,) from c (part shape) and M (P, *part)."""
    total = None
    for c, m in zip(cs, tangents):
        v = m.reshape(m.shape[0], -1) @ c.reshape(-1)
        total = v if total is None else total + v
    return total


class _Learner:
    """The per-run state of an online mode (its influence); ``step`` gives one step's estimate."""

    needs_split = True  # needs cₜ, cₜIₜ and cₜJₜ (the approximations; exact RTRL does not)
    uses_prev_share = True  # adds (∂Lₜ/∂sₜ₋₁ − cₜJₜ)·M̃ₜ₋₁ (RFLO, as Murray's, does not)

    def __init__(self, mode, params, recurrent):
        self.mode = mode
        self.layout = _Layout(params, recurrent)
        self.params = params

    def reset_rows(self, rows) -> None:
        """Rows where a new sequence starts: their influence starts at zero."""

    def influence_share(self, step: _Step, c, g_prev, with_share: bool) -> dict:
        """Move the influence from step t − 1 to t; with ``with_share``, its part of the
        estimate as {param index: array} (the module docstring's formula)."""
        raise NotImplementedError

    def step(self, step: _Step) -> list:
        """Every parameter's estimate for this step's loss (arrays, params' shapes)."""
        params = self.params
        inputs = list(params) + list(step.prev)
        if step.loss is None:  # no real row at this step: no loss, the influence still moves
            self.advance(step)
            return [xp.zeros(p.shape, dtype=p.data.dtype) for p in params]
        if self.needs_split:
            g = _grads([step.loss], list(step.new) + inputs)
            c, g = g[:len(step.new)], g[len(step.new):]
            split = _grads(step.new, inputs, [_wrap(ci) for ci in c])
            direct = [gi - si for gi, si in zip(g, split)]
        else:
            c, direct = None, _grads([step.loss], inputs)
        g_theta, g_prev = direct[:len(params)], direct[len(params):]
        share = self.influence_share(step, c, g_prev if self.uses_prev_share else None, with_share=True)
        out = list(g_theta)
        for i, v in share.items():
            out[i] = out[i] + v
        return out

    def advance(self, step: _Step) -> None:
        """Move the influence one step without a loss."""
        self.influence_share(step, None, None, with_share=False)


# ---------------------------------------------------------------- exact: RTRL, and SnAp's masked RTRL
class _DenseInfluence(_Learner):
    """Mₜ kept whole, as the tangent of each state part with P leading directions."""

    needs_split = False

    def __init__(self, mode, params, recurrent):
        super().__init__(mode, params, recurrent)
        self.M = None  # per state part: (P, *part shape)

    def reset_rows(self, rows):
        if self.M is not None:
            for m in self.M:
                m[(slice(None),) * (m.ndim - 2) + (rows,)] = 0  # rows on axis −2 of the part, as the engine reads

    def propagate(self, step):
        """Mₜ from Mₜ₋₁: the state's tangent with Mₜ₋₁ on the state and the basis on θ."""
        seeds = self.layout.basis_seeds()
        if self.M is not None:
            for leaf, m in zip(step.prev, self.M):
                seeds[seed_key(leaf)] = m
        return step.push(seeds, (self.layout.P,))

    def influence_share(self, step, c, g_prev, with_share):
        """Move Mₜ₋₁ to Mₜ; with ``with_share``, the influence's part of the estimate:
        cₜ·Mₜ + (its ``g_prev``)·Mₜ₋₁, or for exact RTRL ∂Lₜ/∂sₜ₋₁·Mₜ₋₁."""
        before = self.M
        self.M = self.shape_influence(self.propagate(step))
        if not with_share or not self.layout.P:
            return {}
        if self.needs_split:
            share = _contract(c, self.M)
            if before is not None and g_prev is not None:
                share = share + _contract(g_prev, before)
        else:
            if before is None:
                return {}
            share = _contract(g_prev, before)
        return self.layout.split(share)

    def shape_influence(self, M):
        return M


class RTRL(OnlineMode):
    """Real-time recurrent learning (Williams & Zipser 1989): the exact influence
    Mₜ = Jₜ Mₜ₋₁ + Iₜ carried forward; each step's gradient is exact. Cost per
    step O(n²P) time, O(nP) memory per row (n state units, P recurrent parameters)."""
    name, exact = "rtrl", True

    def learner(self, names, params, recurrent):
        return _DenseInfluence(self, params, recurrent)


class _Masked(_DenseInfluence):
    needs_split = True

    def __init__(self, mode, params, recurrent, n):
        super().__init__(mode, params, recurrent)
        self.n, self.pattern = n, None  # set by the run (``structural_pattern``) before the first step

    def shape_influence(self, M):
        return [m * p for m, p in zip(M, self.pattern)]


class SnAp(OnlineMode):
    """SnAp-n (Menick et al. 2021): RTRL with the influence kept only on the entries
    (state unit, parameter) that the parameter can reach within n steps — a
    structural pattern (found at random points, not the numerical zeros of one step).
    ``snap(1)`` keeps the immediate pattern; n at least the sequence length is RTRL."""
    name = "snap"

    def __init__(self, n: int = 1):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"snap(n): n must be a positive integer, got {n!r}")
        self.n = n

    def __repr__(self):
        return f"snap({self.n})"

    def learner(self, names, params, recurrent):
        return _Masked(self, params, recurrent, self.n)


class RFLO(OnlineMode):
    """Random-feedback local online learning's influence (Murray 2019): Jₜ replaced by
    ``decay``·I, so Mₜ = decay·Mₜ₋₁ + Iₜ — exact for a leaky cell's own leak (decay
    = 1 − α) when the recurrent weights are ignored. ``rflo(0)`` keeps only the
    immediate influence Iₜ, and its estimate is ∂Lₜ/∂θ with sₜ₋₁ held constant.
    Cost O(nP) per step."""
    name = "rflo"

    def __init__(self, decay: float):
        decay = float(decay)
        if not math.isfinite(decay):
            raise ValueError(f"rflo(decay): decay must be finite, got {decay!r}")
        self.decay = decay

    def __repr__(self):
        return f"rflo({self.decay:g})"

    def learner(self, names, params, recurrent):
        return _Leaky(self, params, recurrent)


class _Leaky(_DenseInfluence):
    needs_split = True
    uses_prev_share = False  # Murray's estimate is cₜ·M̃ₜ: rflo(0) is the immediate gradient ∂Lₜ/∂θ

    def propagate(self, step):
        immediate = step.push(self.layout.basis_seeds(), (self.layout.P,))
        if self.M is None:
            return immediate
        d = self.mode.decay
        return [d * m + i for m, i in zip(self.M, immediate)]


def structural_pattern(run, layout, n: int, probes: int = 3) -> list:
    """SnAp-n's pattern: which state units each recurrent parameter can reach within n
    steps, per state part as a (P, 1, units) mask. Found from the immediate influence
    I and the Jacobian J at ``probes`` random points (random parameters, state and
    input perturbation), so a zero of one step (an input of 0, a saturated unit) is not
    taken for structure: S₁ = [I ≠ 0], Sₖ = S₁ ∨ [J ≠ 0]·Sₖ₋₁."""
    from ..func import functional_call
    rng = new_generator(0)
    feed, params = run.feed, run.params
    x0 = _as_tensor_step(feed, 0)
    i_pat = j_pat = None
    for _ in range(probes):
        values = {name: _leaf(xp.asarray(rng.standard_normal(p.shape), dtype=p.data.dtype))
                  for name, p in zip(run.names, params)}
        swapped = [values[name] for name in run.names]
        x = x0 if x0.data.dtype.kind not in "fc" else _wrap(x0.data + xp.asarray(rng.standard_normal(x0.shape), dtype=x0.data.dtype))
        like = run.state_like
        prev = [_leaf(xp.asarray(rng.standard_normal(p.shape), dtype=p.data.dtype)) for p in like]
        state = rebuild_state(run.state_template, tuple(prev)) if prev else None
        start = next_seq()
        with enable_grad():
            _, new_state = functional_call(run.model, values, (x, state))
        new = list(state_parts(new_state))
        for part in new:
            if part.ndim != 2:
                raise ValueError(f"snap(n): state parts must be (rows, units); got {tuple(part.shape)}")
        seeds = {seed_key(swapped[i]): Basis(o, layout.P, swapped[i].shape, swapped[i].data.dtype)
                 for i, o in zip(layout.recurrent, layout.offsets)}
        imm = push_tangents(new, seeds, start_seq=start, lead=(layout.P,))
        units = [p.shape[-1] for p in new]
        i_now = xp.concatenate([xp.zeros((layout.P, u), bool) if t is None else (t != 0).any(1)
                                for t, u in zip(imm, units)], axis=1)  # (P, n)
        i_pat = i_now if i_pat is None else i_pat | i_now
        if prev:
            n_in = sum(p.shape[-1] for p in prev)
            seeds, off = {}, 0
            for leaf in prev:
                k = leaf.shape[-1]
                eye = xp.zeros((n_in,) + tuple(leaf.shape), dtype=leaf.data.dtype)
                eye[off + xp.arange(k), :, xp.arange(k)] = 1
                seeds[seed_key(leaf)] = eye
                off += k
            jac = push_tangents(new, seeds, start_seq=start, lead=(n_in,))
            j_now = xp.concatenate([xp.zeros((n_in, u), bool) if t is None else (t != 0).any(1)
                                    for t, u in zip(jac, units)], axis=1).T  # (n_out, n_in)
            j_pat = j_now if j_pat is None else j_pat | j_now
    reach = i_pat.T  # (n, P)
    for _ in range(n - 1):
        if j_pat is None:
            break
        reach = reach | ((j_pat.astype(xp.int64) @ reach.astype(xp.int64)) > 0)
    masks, off = [], 0
    for u in units:
        masks.append(reach[off:off + u].T[:, None, :].astype(xp.float64))
        off += u
    return masks


def _leaf(a):
    t = _wrap(a)
    t.requires_grad = True
    return t


def _as_tensor_step(feed, t):
    x = feed.xs[t]
    return x if isinstance(x, Tensor) else _wrap(xp.asarray(x))


# ---------------------------------------------------------------- low rank: UORO
class UORO(OnlineMode):
    """Unbiased online recurrent optimisation (Tallec & Ollivier 2018): per row the
    influence is kept as a rank-one ũ θ̃ᵀ; each step, with random signs ν,

        ũ ← ρ₀ Jₜ ũ + ρ₁ ν,    θ̃ ← θ̃ / ρ₀ + νᵀ Iₜ / ρ₁
        ρ₀ = √(‖θ̃‖ / (‖Jₜ ũ‖ + ε)) + ε,  ρ₁ = √(‖νᵀIₜ‖ / (‖ν‖ + ε)) + ε

    unbiased (E[ũθ̃ᵀ] = Mₜ) because E[ννᵀ] = I. Jₜ ũ is one forward-mode jvp and
    νᵀIₜ one vjp: O(n² + P) per step. ``init="normal"`` starts ũ, θ̃ from N(0, 1)
    (as Marschall et al.'s code), ``"zeros"`` from zero (the default: an influence
    that starts at zero, as RTRL's)."""
    name, stochastic = "uoro", True

    def __init__(self, seed=None, init: str = "zeros"):
        if init not in ("zeros", "normal"):
            raise ValueError(f"uoro(init=...): 'zeros' or 'normal', got {init!r}")
        self.seed, self.init = seed, init

    def __repr__(self):
        return f"uoro(seed={self.seed!r})"

    def learner(self, names, params, recurrent):
        return _RankOne(self, params, recurrent)


def _rows(part) -> int:
    return part.shape[-2] if part.ndim >= 2 else 1


def _row_view(a, lead=0):
    """An array of a state part's shape (after ``lead`` axes) as (rows, units): rows on axis −2."""
    if a.ndim - lead == 1:
        return a.reshape(a.shape[:lead] + (1, -1))
    return xp.moveaxis(a, -2, lead).reshape(a.shape[:lead] + (a.shape[-2], -1))


class _RankOne(_Learner):
    def __init__(self, mode, params, recurrent):
        super().__init__(mode, params, recurrent)
        self.rng = new_generator(mode.seed)
        self.u = self.theta = None  # per part (part shape); (rows, P)

    def reset_rows(self, rows):
        if self.u is not None:
            for u in self.u:
                u[(Ellipsis, rows, slice(None)) if u.ndim >= 2 else (Ellipsis,)] = 0
            self.theta[rows] = 0

    def _start(self, step):
        B = _rows(step.new[0])
        if self.mode.init == "normal":
            self.u = [xp.asarray(self.rng.standard_normal(n.shape)) for n in step.new]
            self.theta = xp.asarray(self.rng.standard_normal((B, self.layout.P)))
        else:
            self.u = [xp.zeros(n.shape, dtype=n.data.dtype) for n in step.new]
            self.theta = xp.zeros((B, self.layout.P))

    def influence_share(self, step, c, g_prev, with_share):
        if self.u is None:
            self._start(step)
        u_before, theta_before = self.u, self.theta
        B, P = self.theta.shape
        # Jₜ ũ: the new state's tangent when the old state carries ũ (θ fixed)
        if step.prev:
            Ju = step.push({seed_key(leaf): u for leaf, u in zip(step.prev, self.u)}, ())
        else:
            Ju = [xp.zeros(n.shape, dtype=n.data.dtype) for n in step.new]
        nu = [xp.asarray(self.rng.choice([-1.0, 1.0], size=n.shape)) for n in step.new]
        # νᵀ Iₜ per row: one vjp of the new state per row, the cotangent ν on that row only
        nuI = xp.zeros((B, P))
        for b in range(B):
            cot = []
            for v in nu:
                m = xp.zeros_like(v)
                rv = _row_view(m)
                rv[b] = _row_view(v)[b]
                cot.append(_wrap(m))
            gs = _grads(step.new, [self.params[i] for i in self.layout.recurrent], cot)
            nuI[b] = xp.concatenate([g.reshape(-1) for g in gs]) if gs else xp.zeros(0)
        Ju_rows = xp.concatenate([_row_view(j) for j in Ju], axis=1)
        nu_rows = xp.concatenate([_row_view(v) for v in nu], axis=1)
        norm_theta = xp.sqrt((self.theta ** 2).sum(1))
        rho0 = xp.sqrt(norm_theta / (xp.sqrt((Ju_rows ** 2).sum(1)) + EPSILON)) + EPSILON
        rho1 = xp.sqrt(xp.sqrt((nuI ** 2).sum(1)) / (xp.sqrt((nu_rows ** 2).sum(1)) + EPSILON)) + EPSILON
        self.u = [_scale_rows(j, rho0) + _scale_rows(v, rho1) for j, v in zip(Ju, nu)]
        self.theta = self.theta / rho0[:, None] + nuI / rho1[:, None]
        if not with_share:
            return {}
        share = _rank_one_share(c, self.u, self.theta)
        if step.prev and g_prev is not None:
            share = share + _rank_one_share(g_prev, u_before, theta_before)
        return self.layout.split(share)


def _scale_rows(a, per_row):
    """a (part shape, rows on axis −2) with each row scaled."""
    if a.ndim == 1:
        return a * per_row[0]
    shape = [1] * a.ndim
    shape[-2] = -1
    return a * per_row.reshape(shape)


def _rank_one_share(cs, us, theta):
    """Σ_rows (c·ũ) θ̃: the contraction of c with a per-row rank-one influence."""
    cu = sum((_row_view(c) * _row_view(u)).sum(1) for c, u in zip(cs, us))
    return cu @ theta


# ---------------------------------------------------------------- Kronecker factors: KF-RTRL
class KFRTRL(OnlineMode):
    """Kronecker-factored RTRL (Mujika, Meier & Steger 2018), for Mujika's form: the
    recurrent parameters are one weight matrix W (with its bias) of one linear map
    y = W v + b inside the step, v = [s; x] (any vector). Then Iₜ = Dₜ ⊗ [v; 1]
    with Dₜ = ∂sₜ/∂y, and per row the influence is kept as A ⊗ u::

        u ← c₁ρ₀ u + c₂ρ₁ [v; 1],   A ← (c₁/ρ₀) Jₜ A + (c₂/ρ₁) Dₜ
        ρ₀ = √(‖Jₜ A‖ / (‖u‖ + ε)) + ε,  ρ₁ = √(‖Dₜ‖ / (‖[v; 1]‖ + ε)) + ε

    with random signs c₁, c₂ (unbiased: E[c₁c₂] = 0). O(n³ + P) per step (n² + P
    for the vanilla cell whose Dₜ is diagonal). Other models get an error."""
    name, stochastic = "kf_rtrl", True

    def __init__(self, seed=None, init: str = "zeros"):
        if init not in ("zeros", "normal"):
            raise ValueError(f"kf_rtrl(init=...): 'zeros' or 'normal', got {init!r}")
        self.seed, self.init = seed, init

    def __repr__(self):
        return f"kf_rtrl(seed={self.seed!r})"

    def learner(self, names, params, recurrent):
        return _Kronecker(self, names, params, recurrent)


class _Kronecker(_Learner):
    def __init__(self, mode, names, params, recurrent):
        super().__init__(mode, params, recurrent)
        self.names = names
        self.rng = new_generator(mode.seed)
        self.u = self.A = None  # (rows, K); per state part (n_y, *part)

    def reset_rows(self, rows):
        if self.u is not None:
            self.u[rows] = 0
            for a in self.A:
                a[(slice(None),) * (a.ndim - 2) + (rows,)] = 0

    def _linear_op(self, step):
        """The one op that reads the recurrent parameters (Mujika's form), and their roles."""
        keys = {id(self.params[i]): i for i in self.layout.recurrent}
        users = set()
        for n in graph_walk([t for t in step.new if t.requires_grad]):
            for e in n.edges or ():
                if isinstance(e, Tensor) and id(e) in keys:
                    users.add(n)
        ok = len(users) == 1
        if ok:
            op = next(iter(users))
            roles = {}
            for pos, e in enumerate(op.edges):
                if isinstance(e, Tensor) and id(e) in keys:
                    roles[pos] = keys[id(e)]
            ok = op.name == "linear" and 1 in roles and set(roles) <= {1, 2} and len(roles) == len(keys)
        if not ok:
            names = [self.names[i] for i in self.layout.recurrent]
            raise ValueError(
                f"kf_rtrl: needs Mujika's form — the parameters that reach the state ({names}) must be the weight "
                f"(and bias) of one linear map y = W·[s; x] + b inside the step (e.g. rg.linear(rg.cat([s, x], -1), "
                f"W, b)); here they are read by {len(users)} op(s): {sorted(n.name for n in users)}. Use rtrl(), "
                f"uoro() or snap(n) for other models.")
        return op, roles

    def influence_share(self, step, c, g_prev, with_share):
        op, roles = self._linear_op(step)
        v = op.xs[0]
        v = xp.asarray(v) if not hasattr(v, "ndim") else v
        w_index, b_index = roles[1], roles.get(2)
        n_y = self.params[w_index].shape[0]
        ones = xp.ones(v.shape[:-1] + (1,), dtype=v.dtype)
        a_hat = xp.concatenate([v, ones], -1) if b_index is not None else v
        a_hat = a_hat.reshape(-1, a_hat.shape[-1])  # (rows, K)
        B = a_hat.shape[0]
        if self.u is None:
            K = a_hat.shape[1]
            if self.mode.init == "normal":
                self.u = xp.asarray(self.rng.standard_normal((B, K)))
                self.A = [xp.asarray(self.rng.standard_normal((n_y,) + tuple(n.shape))) for n in step.new]
            else:
                self.u = xp.zeros((B, K))
                self.A = [xp.zeros((n_y,) + tuple(n.shape)) for n in step.new]
        u_before, A_before = self.u, self.A
        # Dₜ = ∂sₜ/∂y: the identity pushed from the linear map's output
        eye = xp.broadcast_to(xp.eye(n_y).reshape((n_y,) + (1,) * (v.ndim - 1) + (n_y,)), (n_y,) + v.shape[:-1] + (n_y,))
        D = push_tangents(step.new, {op: xp.ascontiguousarray(eye)}, start_seq=op.seq, lead=(n_y,))
        D = [xp.zeros((n_y,) + tuple(n.shape)) if d is None else d for d, n in zip(D, step.new)]
        if step.prev:
            JA = step.push({seed_key(leaf): a for leaf, a in zip(step.prev, self.A)}, (n_y,))
        else:
            JA = [xp.zeros_like(a) for a in self.A]
        c1, c2 = xp.asarray(self.rng.choice([-1.0, 1.0], size=(2, B)))
        JA_rows = xp.concatenate([_row_view(a, 1) for a in JA], axis=2)  # (n_y, rows, n)
        D_rows = xp.concatenate([_row_view(d, 1) for d in D], axis=2)
        rho0 = xp.sqrt(xp.sqrt((JA_rows ** 2).sum((0, 2))) / (xp.sqrt((self.u ** 2).sum(1)) + EPSILON)) + EPSILON
        rho1 = xp.sqrt(xp.sqrt((D_rows ** 2).sum((0, 2))) / (xp.sqrt((a_hat ** 2).sum(1)) + EPSILON)) + EPSILON
        self.u = (c1 * rho0)[:, None] * self.u + (c2 * rho1)[:, None] * a_hat
        self.A = [_scale_rows(ja, c1 / rho0) + _scale_rows(d, c2 / rho1) for ja, d in zip(JA, D)]
        if not with_share:
            return {}
        share = self._share(c, self.A, self.u, w_index, b_index)
        if step.prev and g_prev is not None:
            before = self._share(g_prev, A_before, u_before, w_index, b_index)
            share = {k: share[k] + before[k] for k in share}
        return share

    def _share(self, cs, A, u, w_index, b_index):
        """Σ_rows (c·A) ⊗ u, as the weight's and the bias's gradient."""
        cA = sum((_row_view(a, 1) * _row_view(c)[None]).sum(2) for a, c in zip(A, cs)).T  # (rows, n_y)
        full = cA.T @ u  # (n_y, K)
        n_in = self.params[w_index].shape[1]
        share = {w_index: full[:, :n_in]}
        if b_index is not None:
            share[b_index] = full[:, n_in]
        return share


# ---------------------------------------------------------------- the run
def _leaves_of(state):
    """Fresh leaves with the state's values: where this step's graph begins."""
    parts = state_parts(state)
    leaves = []
    for p in parts:
        t = _wrap(p.data)
        t.requires_grad = True
        leaves.append(t)
    return leaves, (rebuild_state(state, tuple(leaves)) if parts else None)


def recurrent_indices(step_new, params) -> list:
    """Which parameters reach the new state (the ones the influence covers)."""
    reached = {id(t) for t in graph_leaves([t for t in step_new if t.requires_grad])}
    return [i for i, p in enumerate(params) if id(p) in reached]


class OnlineRun:
    """One online pass over a sequence: per step, record the model from the state's
    values, estimate the step's gradient with ``mode``, move the influence on."""

    def __init__(self, model, xs, ys, loss_fn, mode: OnlineMode, state=None, batch_first=False, mask=None,
                 reset=None, learner=None):
        self.feed = Feed(model, xs, ys, loss_fn, state, batch_first=batch_first, check_model=True, mask=mask,
                         reset=reset)
        if self.feed.sequence_model:
            raise ValueError(f"rg.bptt.{mode!r}: online modes run a per-step model model(x_t, state) -> "
                             f"(output_t, state); {type(model).__name__} takes whole segments (a sequence "
                             f"model). Use its cell (e.g. rg.nn.LSTMCell) in a per-step module.")
        self.model, self.mode, self.T = model, mode, self.feed.T
        self.params = list(model.parameters())
        self.names = [n for n, _ in model.named_parameters()]
        self.learner = learner
        self.step_losses = xp.zeros(self.T)
        self.reset = reset

    def steps(self):
        """Yield (t, per-parameter estimate list) for every step, the state moving on."""
        state = self.feed.initial_state
        for t in range(self.T):
            prev, state_in = _leaves_of(state)
            with enable_grad():
                start = next_seq()
                outputs, new_state = self.feed.forward(t, t + 1, state_in)
                loss = self.feed.losses(t, t + 1, outputs)[0]
            new = list(state_parts(new_state))
            step = _Step(prev, new, loss, start)
            if self.learner is None:
                self.learner = self.mode.learner(self.names, self.params, recurrent_indices(new, self.params))
                if isinstance(self.learner, _Masked):
                    self.state_like, self.state_template = new, new_state
                    self.learner.pattern = structural_pattern(self, self.learner.layout, self.learner.n)
            if loss is not None:
                self.step_losses[t] = float(loss.data)
            estimate = self.learner.step(step)
            yield t, estimate
            state = rebuild_state(new_state, tuple(_wrap(p.data) for p in new)) if new else None
        self.final_state = state


def rtrl() -> RTRL:
    """Exact real-time recurrent learning (``RTRL``)."""
    return RTRL()


def uoro(seed=None, init: str = "zeros") -> UORO:
    """Unbiased online recurrent optimisation (``UORO``)."""
    return UORO(seed, init)


def kf_rtrl(seed=None, init: str = "zeros") -> KFRTRL:
    """Kronecker-factored RTRL (``KFRTRL``)."""
    return KFRTRL(seed, init)


def snap(n: int = 1) -> SnAp:
    """SnAp-n: RTRL on the n-step sparsity pattern (``SnAp``)."""
    return SnAp(n)


def rflo(decay: float) -> RFLO:
    """RFLO's influence: Jₜ replaced by decay·I (``RFLO``)."""
    return RFLO(decay)


__all__ = ["OnlineMode", "OnlineRun", "RTRL", "UORO", "KFRTRL", "SnAp", "RFLO", "rtrl", "uoro", "kf_rtrl", "snap",
           "rflo", "EPSILON"]
