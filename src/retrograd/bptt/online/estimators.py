"""The unbiased low-memory estimators: UORO's rank-one influence and KF-RTRL's Kronecker factors."""

from __future__ import annotations

import math

from ...autograd import backend
from ...autograd.backend import xp
from ...autograd.forward import seed_key
from ...autograd.graph import walk as graph_walk
from ...autograd.tensor import Tensor, _wrap
from ...random import new_generator
from .base import EPSILON, OnlineMode, SignStream, _joined, _Learner, _row_view, _rows, _scale_rows

class _Seeded(OnlineMode):
    """An unbiased estimator's mode: its random ``seed`` and ``init`` (where its factors start)."""

    def __init__(self, seed=None, init: str = "zeros", *, compile: bool = False):
        super().__init__(compile=compile)
        if init not in ("zeros", "normal"):
            raise ValueError(f"{self.name}(init=...): 'zeros' or 'normal', got {init!r}")
        if seed is not None:
            try:  # what new_generator will be given: checked here, where the mistake is made
                backend.host.random.default_rng(seed)
            except (TypeError, ValueError):
                raise TypeError(f"{self.name}(seed=...): None, a non-negative integer or a NumPy Generator, "
                                f"got {seed!r}") from None
        self.seed, self.init = seed, init

    def _args(self):
        return f"seed={self.seed!r}"


class UORO(_Seeded):
    """Unbiased online recurrent optimisation (Tallec & Ollivier 2018): per row the
    influence is kept as a rank-one ũ θ̃ᵀ; each step, with random signs ν,

        ũ ← ρ₀ Jₜ ũ + ρ₁ ν,    θ̃ ← θ̃ / ρ₀ + νᵀ Iₜ / ρ₁
        ρ₀ = √(‖θ̃‖ / (‖Jₜ ũ‖ + ε)) + ε,  ρ₁ = √(‖νᵀIₜ‖ / (‖ν‖ + ε)) + ε

    unbiased (E[ũθ̃ᵀ] = Mₜ) because E[ννᵀ] = I. Jₜ ũ is one forward-mode jvp and
    νᵀIₜ one vjp: O(n² + P) per step. ``init="normal"`` starts ũ, θ̃ from N(0, 1)
    (as Marschall et al.'s code), ``"zeros"`` from zero (the default: an influence
    that starts at zero, as RTRL's)."""
    name, stochastic = "uoro", True

    def learner(self, names, params, recurrent):
        return _RankOne(self, params, recurrent)


class _RankOne(_Learner):
    lowers = True

    def __init__(self, mode, params, recurrent):
        super().__init__(mode, params, recurrent)
        self.recurrent = [params[i] for i in recurrent]
        self.rng = new_generator(mode.seed)
        self.signs = None  # ν's draws (``SignStream``)
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

    def prepare(self, step):
        asked = super().prepare(step)
        # Jₜ ũ: the state's tangent with ũ on the old state (arrays); νᵀIₜ: the new state's vjp with ν
        asked.push_u = step.pusher(dict(zip(step.prev_keys, (leaf.data for leaf in step.prev))), ())
        asked.pull_nu = step.puller(self.recurrent)
        shapes = [tuple(n.shape) for n in step.new]
        if self.signs is None or self.signs.shapes != shapes:
            self.signs = SignStream(self.rng, shapes)  # ν, one array per state part
        asked.on_host = backend.get_backend() == "numpy"
        return asked

    def influence_share(self, step, c, g_prev, with_share):
        if self.u is None:
            self._start(step)
        asked = self.asked
        u_before, theta_before = self.u, self.theta
        B, P = self.theta.shape
        # Jₜ ũ: the new state's tangent when the old state carries ũ (θ fixed)
        if step.prev:
            Ju = asked.push_u(*self.u)
        else:
            Ju = [xp.zeros(n.shape, dtype=n.data.dtype) for n in step.new]
        nu = self.signs.next()
        if not asked.on_host:
            nu = [xp.asarray(v) for v in nu]
        # νᵀ Iₜ per row: one vjp of the new state per row, the cotangent ν on that row only
        recurrent = self.recurrent
        if B == 1:  # the one row: ν itself is the cotangent
            nuI = _flattened(asked.pull_nu(*nu)).reshape(1, P)
        else:
            nuI = xp.zeros((B, P))
            for b in range(B):
                cot = []
                for v in nu:
                    m = xp.zeros_like(v)
                    rv = _row_view(m)
                    rv[b] = _row_view(v)[b]
                    cot.append(_wrap(m))
                gs = step.grads(step.new, recurrent, cot)
                nuI[b] = _flattened(gs)
        if B == 1 and asked.on_host:  # one row on the host: ρ₀, ρ₁ as Python floats
            return self._advance_one_row(Ju, nu, nuI, c, g_prev, u_before, theta_before, with_share, bool(step.prev))
        Ju_rows = _joined(Ju)
        norm_nu = math.sqrt(sum(_row_view(v).shape[1] for v in nu))  # ‖ν‖ per row: √(units), every entry ±1
        rho0 = xp.sqrt(_row_norms(self.theta) / (_row_norms(Ju_rows) + EPSILON)) + EPSILON
        rho1 = xp.sqrt(_row_norms(nuI) / (norm_nu + EPSILON)) + EPSILON
        self.u = [_scale_rows(j, rho0) + _scale_rows(v, rho1) for j, v in zip(Ju, nu)]
        self.theta = self.theta / rho0[:, None] + nuI / rho1[:, None]
        if not with_share:
            return {}
        share = _rank_one_share(c, self.u, self.theta)
        if step.prev and g_prev is not None:
            share = share + _rank_one_share(g_prev, u_before, theta_before)
        return self.layout.split(share)

    def _advance_one_row(self, Ju, nu, nuI, c, g_prev, u_before, theta_before, with_share, with_prev) -> dict:
        """The same update for a batch of one row on the host, the normalisers ρ₀, ρ₁ and c·ũ
        as Python floats: a few vector dots instead of per-row reductions (on a device, the
        floats would wait for it)."""
        vdot, sqrt = xp.vdot, math.sqrt
        units = ju_squares = 0.0
        for j, v in zip(Ju, nu):
            units += v.size
            ju_squares += float(vdot(j, j))
        theta, nuI = self.theta[0], nuI[0]
        rho0 = sqrt(sqrt(float(theta @ theta)) / (sqrt(ju_squares) + EPSILON)) + EPSILON
        rho1 = sqrt(sqrt(float(nuI @ nuI)) / (sqrt(units) + EPSILON)) + EPSILON
        self.u = u = [j * rho0 + v * rho1 for j, v in zip(Ju, nu)]
        self.theta = (theta / rho0 + nuI / rho1)[None]
        if not with_share:
            return {}
        along = 0.0
        for ci, ui in zip(c, u):
            along += float(vdot(ci, ui))
        share = self.theta[0] * along
        if with_prev and g_prev is not None:
            along = 0.0
            for gi, ui in zip(g_prev, u_before):
                along += float(vdot(gi, ui))
            share += theta_before[0] * along
        return self.layout.split(share)


def _flattened(gs):
    """The recurrent parameters' gradients ``gs`` as one vector along the P directions."""
    if len(gs) == 1:
        return gs[0].reshape(-1)
    return xp.concatenate([g.reshape(-1) for g in gs]) if gs else xp.zeros(0)


def _rank_one_share(cs, us, theta):
    """Σ_rows (c·ũ) θ̃: the contraction of c with a per-row rank-one influence."""
    return xp.einsum("bk,bk->b", _joined(cs), _joined(us)) @ theta


def _row_norms(a):
    """‖a[b]‖ per row b of a (rows, k) array."""
    return xp.sqrt(xp.einsum("bk,bk->b", a, a))


class KFRTRL(_Seeded):
    """Kronecker-factored RTRL (Mujika, Meier & Steger 2018), for Mujika's form: the
    recurrent parameters are one weight matrix W (with its bias) of one linear map
    y = W v + b inside the step, v = [s; x] (any vector). Then Iₜ = Dₜ ⊗ [v; 1]
    with Dₜ = ∂sₜ/∂y, and per row the influence is kept as A ⊗ u::

        u ← c₁ρ₀ u + c₂ρ₁ [v; 1],   A ← (c₁/ρ₀) Jₜ A + (c₂/ρ₁) Dₜ
        ρ₀ = √(‖Jₜ A‖ / (‖u‖ + ε)) + ε,  ρ₁ = √(‖Dₜ‖ / (‖[v; 1]‖ + ε)) + ε

    with random signs c₁, c₂ (unbiased: E[c₁c₂] = 0). O(n³ + P) per step (n² + P
    for the vanilla cell whose Dₜ is diagonal). Other models get an error."""
    name, stochastic = "kf_rtrl", True

    def learner(self, names, params, recurrent):
        return _Kronecker(self, names, params, recurrent)


class _Kronecker(_Learner):
    def __init__(self, mode, names, params, recurrent):
        super().__init__(mode, params, recurrent)
        self.names = names
        self.rng = new_generator(mode.seed)
        self.signs = None  # c₁, c₂'s draws (``SignStream``)
        self.u = self.A = None  # (rows, K); per state part (n_y, *part)
        self.replayed_linear = None  # (program, (op, roles)) of a compiled run's traced step

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
        cached = self.replayed_linear
        if step.replayed and cached is not None and cached[0] is step.program:
            op, roles = cached[1]
        else:
            op, roles = self._linear_op(step)
            if step.replayed:  # a program's steps run its traced ops, every step: found once per program
                self.replayed_linear = (step.program, (op, roles))
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
        eye = xp.eye(n_y).reshape((n_y,) + (1,) * (v.ndim - 1) + (n_y,))
        eye = xp.broadcast_to(eye, (n_y,) + v.shape[:-1] + (n_y,))
        D = step.push({op: xp.ascontiguousarray(eye)}, (n_y,))
        if step.prev:
            JA = step.push({seed_key(leaf): a for leaf, a in zip(step.prev, self.A)}, (n_y,))
        else:
            JA = [xp.zeros_like(a) for a in self.A]
        if self.signs is None or self.signs.shapes != [(2, B)]:
            self.signs = SignStream(self.rng, [(2, B)])
        c1, c2 = xp.asarray(self.signs.next()[0])
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
