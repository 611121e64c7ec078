"""The modes that keep the influence whole (n × P per row): exact RTRL, SnAp's masked RTRL and
RFLO's leaky influence, with SnAp's structural sparsity pattern."""

from __future__ import annotations

import math
import operator

from ...autograd.backend import xp
from ...autograd.forward import push_tangents
from ...autograd.mode import enable_grad, next_seq
from ...autograd.tensor import Tensor, _wrap
from ...func import functional_call
from ...random import new_generator
from ...recurrent.state import rebuild_state, state_parts
from .base import OnlineMode, _Learner, _contract, unit_seeds
from .sparse import SparseInfluence

class _DenseInfluence(_Learner):
    """Mₜ kept whole, as the tangent of each state part with P leading directions."""

    needs_split = False
    split_when_cheaper = True
    lowers = True
    through_jacobian = True  # Mₜ₋₁ is pushed through the step (RFLO replaces Jₜ by decay·I: Iₜ alone)

    def __init__(self, mode, params, recurrent):
        super().__init__(mode, params, recurrent)
        self.M = None  # per state part: (P, *part shape)

    def reset_rows(self, rows):
        if self.M is not None:
            for m in self.M:
                m[(slice(None),) * (m.ndim - 2) + (rows,)] = 0  # rows on axis −2 of the part, as the engine reads

    def prepare(self, step):
        asked = super().prepare(step)
        # Mₜ's question: the basis on θ (the same descriptions every step) and Mₜ₋₁ on the state
        seeds = self.layout.basis_seeds()
        asked.basis = tuple(seeds.values())
        if self.through_jacobian:
            seeds.update(zip(step.prev_keys, (leaf.data for leaf in step.prev)))  # arrays, as Mₜ₋₁'s parts
        asked.push = step.pusher(seeds, (self.layout.P,))
        return asked

    def propagate(self, step):
        """Mₜ from Mₜ₋₁: the state's tangent with Mₜ₋₁ on the state and the basis on θ
        (M₀ = 0: the first step's is the basis's alone, Iₜ)."""
        if self.M is None:
            return step.push(self.layout.basis_seeds(), (self.layout.P,))
        asked = self.asked
        return asked.push(*asked.basis, *self.M)

    def influence_share(self, step, c, g_prev, with_share):
        """Move Mₜ₋₁ to Mₜ; with ``with_share``, the influence's part of the estimate:
        cₜ·Mₜ + (its ``g_prev``)·Mₜ₋₁ (given cₜ), or for exact RTRL without it ∂Lₜ/∂sₜ₋₁·Mₜ₋₁."""
        before = self.M
        self.M = self.propagate(step)
        if not with_share or not self.layout.P:
            return {}
        if c is not None:
            share = _contract(c, self.M)
            if before is not None and g_prev is not None:
                share = share + _contract(g_prev, before)
        else:
            if before is None:
                return {}
            share = _contract(g_prev, before)
        return self.layout.split(share)


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

    def on_pattern(self, masks, dense=None):
        """This learner with SnAp's pattern set (per state part a (P, 1, units) mask)."""
        self.pattern = masks
        return self

    def propagate(self, step):
        """Mₜ kept on SnAp's pattern: RTRL's, the entries off the pattern zeroed."""
        return [m * p for m, p in zip(super().propagate(step), self.pattern)]


class SnAp(OnlineMode):
    """SnAp-n (Menick et al. 2021): RTRL with the influence kept only on the entries
    (state unit, parameter) that the parameter can reach within n steps — a
    structural pattern (found at random points, not the numerical zeros of one step).
    ``snap(1)`` keeps the immediate pattern; n at least the sequence length is RTRL.
    The influence is kept as values on the pattern (``online.sparse``: O(P·r²) per step,
    r the most units a parameter reaches), or whole and masked when the pattern is dense."""
    name = "snap"

    def __init__(self, n: int = 1, *, compile: bool = False):
        super().__init__(compile=compile)
        try:  # any integer (NumPy's too), not a bool or a float
            whole = None if isinstance(n, bool) else operator.index(n)
        except TypeError:
            whole = None
        if whole is None or whole < 1:
            raise ValueError(f"snap(n): n must be a positive integer, got {n!r}")
        self.n = whole

    def _args(self):
        return str(self.n)

    def learner(self, names, params, recurrent):
        return SparseInfluence(self, params, recurrent, self.n)  # or _Masked, when the pattern is not sparse


class RFLO(OnlineMode):
    """Random-feedback local online learning's influence (Murray 2019): Jₜ replaced by
    ``decay``·I, so Mₜ = decay·Mₜ₋₁ + Iₜ — exact for a leaky cell's own leak (decay
    = 1 − α) when the recurrent weights are ignored. ``rflo(0)`` keeps only the
    immediate influence Iₜ, and its estimate is ∂Lₜ/∂θ with sₜ₋₁ held constant.
    Cost O(nP) per step."""
    name = "rflo"

    def __init__(self, decay: float, *, compile: bool = False):
        super().__init__(compile=compile)
        try:
            decay = float(decay)
        except (TypeError, ValueError):
            raise TypeError(f"rflo(decay): decay must be a number (a leaky cell's 1 − α), got {decay!r}") from None
        if not math.isfinite(decay):
            raise ValueError(f"rflo(decay): decay must be finite, got {decay!r}")
        self.decay = decay

    def _args(self):
        return f"{self.decay:g}"

    def learner(self, names, params, recurrent):
        return _Leaky(self, params, recurrent)


class _Leaky(_DenseInfluence):
    needs_split = True
    uses_prev_share = False  # Murray's estimate is cₜ·M̃ₜ: rflo(0) is the immediate gradient ∂Lₜ/∂θ
    through_jacobian = False

    def propagate(self, step):
        asked = self.asked
        immediate = asked.push(*asked.basis)
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
    rng = new_generator(0)
    feed, params = run.feed, run.params
    i_pat = j_pat = None
    for k in range(probes):
        x0 = _as_tensor_step(feed, k * (feed.T - 1) // max(1, probes - 1))  # steps spread over the sequence
        values = {name: _leaf(xp.asarray(rng.standard_normal(p.shape), dtype=p.data.dtype))
                  for name, p in zip(run.names, params)}
        swapped = [values[name] for name in run.names]
        if x0.data.dtype.kind in "fc":  # a float input perturbed (an int one, token ids, as it is)
            x = _wrap(x0.data + xp.asarray(rng.standard_normal(x0.shape), dtype=x0.data.dtype))
        else:
            x = x0
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
        imm = push_tangents(new, layout.basis_seeds(swapped), start_seq=start, lead=(layout.P,))
        units = [p.shape[-1] for p in new]
        i_now = xp.concatenate([xp.zeros((layout.P, u), bool) if t is None else (t != 0).any(1)
                                for t, u in zip(imm, units)], axis=1)  # (P, n)
        i_pat = i_now if i_pat is None else i_pat | i_now
        if prev:
            seeds, n_in = unit_seeds(prev)
            jac = push_tangents(new, seeds, start_seq=start, lead=(n_in,))
            j_now = xp.concatenate([xp.zeros((n_in, u), bool) if t is None else (t != 0).any(1)
                                    for t, u in zip(jac, units)], axis=1).T  # (n_out, n_in)
            j_pat = j_now if j_pat is None else j_pat | j_now
    if x0.data.dtype.kind not in "fc":
        i_pat = _unseen_columns(i_pat, layout)
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


def _unseen_columns(i_pat, layout):
    """An integer input (token ids) cannot be perturbed: the columns of an embedding's rows whose
    tokens no probe read reach nothing there, though the token reaches its units when it comes
    (later in the sequence, or in a later batch of ``train_stateful``). Such a column takes the
    units its parameter's other columns reach (a superset: SnAp keeps more, never less)."""
    for o, i in zip(layout.offsets, layout.recurrent):
        cols = i_pat[o:o + layout.params[i].data.size]
        unseen = ~cols.any(1)
        if unseen.any():
            cols[unseen] = cols.any(0)
    return i_pat


def _leaf(a):
    t = _wrap(a)
    t.requires_grad = True
    return t


def _as_tensor_step(feed, t):
    x = feed.xs[t]
    return x if isinstance(x, Tensor) else _wrap(xp.asarray(x))
