"""SnAp's influence kept on its sparsity pattern only: O(P·r²) per step for the influence, r the
most state units one parameter reaches within n steps (1 or 2 for SnAp-1 on the usual cells), and
n pushes of a step for its Jacobian (O(n³) for a dense cell) — instead of RTRL's O(n²P).

Menick et al. (2021) keep Mₜ[k, p] only where parameter p can reach state unit k within n
steps, the pattern S (``exact.structural_pattern``). On it the update needs

- Jₜ (n × n): the step's state Jacobian, one forward-mode push of the n unit directions
  (n ≪ P);
- Iₜ on S: the step's immediate influence, one push of K compressed directions — parameters
  whose pattern columns share no unit share a colour (Curtis, Powell & Reid 1974), so each
  column is read back from its colour's tangent (``forward.Colored``); K is about the number
  of parameters feeding one unit (n_h + n_in + 1 for a vanilla cell), not P;
- per column p, with R = S[:, p]:  M̃ₜ[R, p] = Jₜ[R, R] M̃ₜ₋₁[R, p] + Iₜ[R, p].

The values are those of the dense masked form (``exact._Masked``: the whole Mₜ, zeroed off S),
to rounding; a pattern that is not sparse (r > n/4: SnAp-n with n near the sequence's reach)
keeps that dense form.
"""

from __future__ import annotations

from ...autograd.backend import xp
from ...autograd.forward import Colored, seed_key
from .base import _Learner, unit_seeds


def pattern_columns(pattern) -> tuple:
    """(idx, r): per column p of the (P, n) boolean ``pattern``, the units it reaches, padded
    with n to the widest column's r; an (P, r) int array."""
    P, n = pattern.shape
    counts = pattern.sum(1)
    r = max(int(counts.max(initial=0)), 1)
    idx = xp.full((P, r), n, dtype=xp.int64)
    cols, units = xp.nonzero(pattern)
    starts = xp.concatenate([xp.zeros(1, dtype=counts.dtype), xp.cumsum(counts)[:-1]])
    order = xp.arange(len(cols)) - starts[cols]  # each unit's rank within its column
    idx[cols, order] = units
    return idx, r


def color_columns(idx, n: int) -> tuple:
    """A greedy colouring of the columns given by ``idx`` (``pattern_columns``: each column's
    units, padded with n): columns of one colour share no unit, each column taking the lowest
    colour none of its units has yet. Returns (colours (P,), number of colours)."""
    taken = [0] * (n + 1)  # per unit, the colours it has, as the bits of an int
    colors = []
    for units in idx.tolist():
        units = [u for u in units if u != n]
        used = 0
        for u in units:
            used |= taken[u]
        c = (~used & (used + 1)).bit_length() - 1  # the lowest colour not used
        for u in units:
            taken[u] |= 1 << c
        colors.append(c)
    return xp.asarray(colors, dtype=xp.int64), max(colors, default=0) + 1


class SparseInfluence(_Learner):
    """SnAp's influence as values on its pattern: ``vals`` (rows, P, r)."""

    needs_split = True

    def __init__(self, mode, params, recurrent, n):
        super().__init__(mode, params, recurrent)
        self.n, self.vals = n, None

    def on_pattern(self, masks, dense):
        """This learner on the structural pattern (per state part a (P, 1, units) mask,
        ``structural_pattern``), or ``dense`` (the masked whole influence) given it when the
        pattern is not sparse: a column reaching more than a quarter of the units."""
        pattern = xp.concatenate([m[:, 0, :] != 0 for m in masks], axis=1)  # (P, n)
        self.n_units = pattern.shape[1]
        self.idx, self.r = pattern_columns(pattern)
        if 4 * self.r > self.n_units:
            return dense.on_pattern(masks)
        colors, self.n_colors = color_columns(self.idx, self.n_units)
        self.seeds = {seed_key(self.params[i]): Colored(colors[o:o + self.params[i].data.size].reshape(
                          self.params[i].shape), self.n_colors, self.params[i].data.dtype)
                      for i, o in zip(self.layout.recurrent, self.layout.offsets)}
        self.colors = colors
        return self

    def reset_rows(self, rows):
        if self.vals is not None:
            self.vals[rows] = 0

    def _rows(self, parts):
        """State parts (rows, units) as one (rows, n + 1) array, the padding unit n zero."""
        rows = parts[0].shape[0]
        out = xp.zeros((rows, self.n_units + 1), dtype=parts[0].dtype)
        out[:, :self.n_units] = xp.concatenate(parts, axis=1)
        return out

    def _jacobian(self, step):
        """Jₜ per row, padded: (rows, n + 1, n + 1) with Jₜ[b, k, j] = ∂sₜ[b, k]/∂sₜ₋₁[b, j]."""
        seeds, n = unit_seeds(step.prev)
        jac = xp.concatenate(step.push(seeds, (n,)), axis=2)  # (n in, rows, n out)
        padded = xp.zeros((jac.shape[1], n + 1, n + 1), dtype=jac.dtype)
        padded[:, :n, :n] = xp.transpose(jac, (1, 2, 0))
        return padded

    def influence_share(self, step, c, g_prev, with_share):
        idx = self.idx
        compressed = xp.concatenate(step.push(self.seeds, (self.n_colors,)), axis=2)  # (K, rows, n)
        padded = xp.zeros(compressed.shape[:2] + (self.n_units + 1,), dtype=compressed.dtype)
        padded[:, :, :self.n_units] = compressed
        immediate = xp.transpose(padded[self.colors[:, None], :, idx], (2, 0, 1))  # (rows, P, r)
        before = self.vals
        if before is None or not step.prev:
            self.vals = immediate
        else:
            J = self._jacobian(step)
            blocks = J[:, idx[:, :, None], idx[:, None, :]]  # (rows, P, r, r): Jₜ[R, R] per column
            self.vals = xp.einsum("bprs,bps->bpr", blocks, before) + immediate
        if not with_share or not self.layout.P:
            return {}
        share = self._contract(c, self.vals)
        if before is not None and g_prev is not None and step.prev:
            share = share + self._contract(g_prev, before)
        return self.layout.split(share)

    def _contract(self, parts, vals):
        """Σ over rows and units of c · M̃ (P,), c given per state part."""
        return xp.einsum("bpr,bpr->p", self._rows(parts)[:, self.idx], vals)
