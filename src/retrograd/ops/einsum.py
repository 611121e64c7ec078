"""``einsum`` and ``norm``.

einsum: the equation is first made explicit — ``...`` becomes letters
(right-aligned across operands), an implicit output gets PyTorch's and NumPy's
order (the ellipsis, then the letters used once, alphabetically), and an axis
of size 1 that broadcasts against a larger one gets a letter of its own, so it
is summed rather than matched. Then the vjp of operand k is again an einsum:
the upstream gradient contracted with every other operand onto k's letters.
Letters only k has are broadcast back (reshape + broadcast_to) and a letter k
repeats (a diagonal, ``"ii->i"``) is put back on the diagonal by contracting
with identity matrices. Under ``create_graph`` that einsum is the op itself, so
second derivatives come for free.

norm: PyTorch's vector norms over ``dim`` (all axes by default). The 2-norm's
gradient x/‖x‖ is 0 where ‖x‖ = 0 — the minimum-norm element of the
subdifferential (the unit ball), the same under every ``rg.conventions``
policy (a ball has no "first" branch, and its mean is 0 too), and PyTorch's.
The 1-norm is ``sum(abs(x))`` and the ∞-norm ``max(abs(x))``, so their ties
follow ``rg.conventions`` exactly as ``abs`` and ``max`` do.
"""

from __future__ import annotations

import math
import string

from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.op import ALL, Op, OpError, UnaryOp
from ..autograd.tensor import Tensor
from . import extrema
from . import reductions as R
from .kinks import abs as _abs
from .rounding_and_math import sign

_LETTERS = string.ascii_letters


def _explicit(equation: str, shapes) -> tuple[list[str], str]:
    """Each operand's letters (one per axis) and the output's, ellipses expanded
    and broadcasting size-1 axes given their own letters."""
    if not isinstance(equation, str):
        raise OpError(f"einsum: the equation must be a string, got {equation!r}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise OpError(f"einsum: {equation!r} has {len(terms)} operand(s) but {len(shapes)} were given")
    used = set(c for c in eq if c in _LETTERS)
    if any(c not in _LETTERS + ".," for c in lhs) or any(c not in _LETTERS + "." for c in rhs):
        raise OpError(f"einsum: {equation!r}: subscripts must be letters (and one '...' per term)")
    spare = iter([c for c in _LETTERS if c not in used])

    def take():
        try:
            return next(spare)
        except StopIteration:
            raise OpError(f"einsum: {equation!r} needs more than {len(_LETTERS)} distinct letters") from None

    # ellipsis lengths, then one shared letter per ellipsis axis (right-aligned)
    lengths = []
    for term, shape in zip(terms, shapes):
        if term.count("...") > 1 or term.replace("...", "").count(".") or rhs.count("...") > 1:
            raise OpError(f"einsum: {equation!r}: at most one well-formed '...' per term")
        named = len(term.replace("...", ""))
        if ("..." in term and named > len(shape)) or ("..." not in term and named != len(shape)):
            raise OpError(f"einsum: {equation!r}: subscripts {term!r} do not match an operand of "
                          f"{len(shape)} dimension(s)")
        lengths.append(len(shape) - named if "..." in term else 0)
    ellipsis = [take() for _ in range(max(lengths, default=0))]
    expanded = []
    for term, n in zip(terms, lengths):
        before, dots, after = term.partition("...")
        expanded.append(list(before) + (ellipsis[len(ellipsis) - n:] if dots else []) + list(after))
    # sizes: a letter's size is its largest; size-1 axes against it broadcast
    sizes = {}
    for letters, shape in zip(expanded, shapes):
        for c, n in zip(letters, shape):
            if c in sizes and n not in (1, sizes[c]) and sizes[c] != 1:
                raise OpError(f"einsum: {equation!r}: subscript {c!r} has sizes {sizes[c]} and {n}")
            sizes[c] = n if c not in sizes or sizes[c] == 1 else sizes[c]
    for letters, shape in zip(expanded, shapes):
        seen = {}
        for i, (c, n) in enumerate(zip(letters, shape)):
            if c in seen and seen[c] != n:
                raise OpError(f"einsum: {equation!r}: subscript {c!r} repeated with sizes {seen[c]} and {n}")
            seen[c] = n
            if n == 1 and sizes[c] != 1 and letters.count(c) == 1:
                letters[i] = take()  # broadcast: summed over its single entry
    if arrow:
        if "..." in rhs and not any("..." in t for t in terms):
            raise OpError(f"einsum: {equation!r}: '...' in the output but in no operand")
        before, dots, after = rhs.partition("...")
        out = list(before) + (ellipsis if dots else []) + list(after)
        if len(set(out)) != len(out):
            raise OpError(f"einsum: {equation!r}: an output subscript appears more than once")
        known = set(c for t in expanded for c in t)
        missing = [c for c in out if c not in known]
        if missing:
            raise OpError(f"einsum: {equation!r}: output subscript {missing[0]!r} appears in no operand")
    else:
        counts = {}
        for t in terms:
            for c in t.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out = ellipsis + sorted(c for c, k in counts.items() if k == 1)
    return ["".join(t) for t in expanded], "".join(out)


class Einsum(Op):
    """y = einsum(eq, x₁ … xₙ);  x̄ₖ = einsum(ȳ and every other operand → xₖ's subscripts)
    (broadcast over subscripts only xₖ has, placed on the diagonal for repeated ones)"""
    name = "einsum"
    __slots__ = ("terms", "out")
    save_inputs = ALL

    def __init__(self, terms, out): self.terms, self.out = terms, out
    def extra_repr(self): return f"{','.join(self.terms)}->{self.out}"
    def forward(self, *xs):
        # optimize: contract pairwise through BLAS (tensordot) instead of one nested loop
        return xp.einsum(f"{','.join(self.terms)}->{self.out}", *xs, optimize=len(xs) > 1)

    def vjp(self, ns, g, y, *xs):
        grads = []
        for k, (x, need) in enumerate(zip(xs, self.needs)):
            grads.append(self._operand_gradient(ns, g, xs, k) if need else None)
        return tuple(grads)

    def jvp(self, ns, ts, y, *xs):
        """ẏ = Σₖ einsum(eq with xₖ replaced by ẋₖ). Leading tangent axes are flattened into
        one and given a letter of their own on ẋₖ and on the output (the stored subscripts
        are explicit: any ``...`` was expanded to letters when the op was made)."""
        k0, some = next((k, t) for k, t in enumerate(ts) if t is not None)
        lead = tuple(some.shape[:some.ndim - xs[k0].ndim])
        extra = ""
        if lead:
            used = set("".join(self.terms) + self.out)
            extra = next((c for c in _LETTERS if c not in used), None)
            if extra is None:
                raise OpError(f"einsum: forward mode with leading tangent axes needs one subscript letter "
                              f"beyond the {len(used)} that {self.extra_repr()!r} uses")
            count = math.prod(lead)
        total = None
        for k, t in enumerate(ts):
            if t is None:
                continue
            if lead:
                t = ns.reshape(t, (count,) + tuple(xs[k].shape))
            terms = [extra + term if j == k else term for j, term in enumerate(self.terms)]
            operands = [t if j == k else x for j, x in enumerate(xs)]
            r = ns.einsum(f"{','.join(terms)}->{extra}{self.out}", *operands)
            total = r if total is None else total + r
        return ns.reshape(total, lead + tuple(total.shape[1:])) if lead else total

    def _operand_gradient(self, ns, g, xs, k):
        target, shape = self.terms[k], xs[k].shape
        others = [self.out] + [t for j, t in enumerate(self.terms) if j != k]
        available = set("".join(others))
        unique = list(dict.fromkeys(target))
        kept = "".join(c for c in unique if c in available)
        operands = [g] + [x for j, x in enumerate(xs) if j != k]
        r = ns.einsum(f"{','.join(others)}->{kept}", *operands)
        size = {c: n for c, n in zip(target, shape)}
        if len(kept) < len(unique):  # letters only this operand has: broadcast back
            r = ns.reshape(r, tuple(size[c] if c in available else 1 for c in unique))
            r = ns.broadcast_to(r, tuple(size[c] for c in unique))
        if len(unique) < len(target):  # repeated letters: back onto the diagonal
            spare = iter(c for c in _LETTERS if c not in set("".join(self.terms) + self.out))
            letters, pairs, seen = [], [], set()
            for c in target:
                if c in seen:
                    fresh = next(spare)
                    letters.append(fresh)
                    pairs.append((c + fresh, size[c]))
                else:
                    letters.append(c)
                    seen.add(c)
            subscripts = ",".join(["".join(unique)] + [s for s, _ in pairs]) + "->" + "".join(letters)
            # broadcast r along the repeated letters, then keep the diagonal with a mask (not a
            # product with the identity: 0·∞ would put NaNs off the diagonal)
            spread = ns.einsum(subscripts, r, *[xp.ones((n, n), dtype=g.dtype) for _, n in pairs])
            diagonal = xp.einsum(subscripts, xp.ones(r.shape), *[xp.eye(n) for _, n in pairs]) != 0
            r = ns.where(diagonal, spread, 0.0)
        return r


def einsum(equation: str, *operands):
    """Einstein summation, PyTorch's and NumPy's notation: ``einsum("ij,jk->ik", a, b)``
    (operands may also be given as one list). Repeated subscripts take
    diagonals, ``...`` broadcasts, an implicit output sums the repeated letters."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise OpError("einsum: needs at least one operand")
    dtypes = {str(o.dtype) for o in operands if hasattr(o, "dtype")}
    if len(dtypes) > 1:  # PyTorch: "expected scalar type …"; NumPy would promote silently
        described = ", ".join(f"{o.dtype}{list(o.shape)}" if hasattr(o, "dtype") else type(o).__name__
                              for o in operands)
        raise OpError(f"einsum: operands of different dtypes ({described}); convert them to one dtype first, "
                      f"e.g. b.to(a.dtype)")
    shapes = [tuple(o.shape) if hasattr(o, "shape") else xp.asarray(o).shape for o in operands]
    terms, out = _explicit(equation, shapes)
    return Einsum(terms, out)(*operands)


namespaces.extend("einsum", lambda eq, *ops: xp.einsum(eq, *ops, optimize=len(ops) > 1),
                  lambda eq, *ops: Einsum(*_split(eq))(*ops))


def _split(eq):
    lhs, _, rhs = eq.partition("->")
    return lhs.split(","), rhs


class VectorNorm(UnaryOp):
    """y = (Σₐ |x|ᵖ)^(1/p);  x̄ = ȳ·sign(x)·|x|ᵖ⁻¹ / yᵖ⁻¹  (p = 2: ȳ·x / y), and 0 where y = 0"""
    name, save_ans = "norm", True
    __slots__ = ("p", "axis", "keepdims")
    save_inputs = (0,)

    def __init__(self, p, axis, keepdims): self.p, self.axis, self.keepdims = p, axis, keepdims
    def extra_repr(self): return f"p={self.p}, dim={self.axis}, keepdim={self.keepdims}"

    def forward(self, x):
        wide = x.astype(xp.float32) if x.dtype == xp.float16 else x  # PyTorch accumulates half in float32
        if self.p == 2:
            y = xp.sqrt((wide * wide).sum(axis=self.axis, keepdims=self.keepdims))
        else:
            y = ((xp.abs(wide) ** self.p).sum(axis=self.axis, keepdims=self.keepdims)) ** (1.0 / self.p)
        return y.astype(x.dtype, copy=False)

    def vjp(self, ns, g, y, x):
        p, xv = self.p, ns.value(x)
        g = R._expand(ns, g, self.axis, self.keepdims)
        y = R._expand(ns, y, self.axis, self.keepdims)
        y_zero = ns.value(y) == 0
        safe_y = ns.where(y_zero, 1.0, y)  # a safe denominator: no 0/0 in the second derivative either
        if p == 2:
            return (x * ns.where(y_zero, 0.0, g / safe_y),)
        x_zero = xv == 0
        s = xp.sign(xv)
        magnitude = ns.where(x_zero, 1.0, x * s)  # |x|, with 1 where x = 0 (masked below)
        scaled = ns.where(x_zero, 0.0, s * magnitude ** (p - 1))
        return (scaled * ns.where(y_zero, 0.0, g / safe_y ** (p - 1)),)

    def jvp(self, ns, ts, y, x):
        """ẏ = Σₐ sign(x)·|x|ᵖ⁻¹·ẋ / yᵖ⁻¹  (p = 2: Σ x·ẋ / y), and 0 where y = 0"""
        t, p, xv = ts[0], self.p, ns.value(x)
        axes = tuple(a + t.ndim - xv.ndim for a in R._norm_axis(self.axis, xv.ndim, "norm"))
        y_zero = ns.value(y) == 0
        safe_y = ns.where(y_zero, 1.0, y)
        if p == 2:
            return ns.where(y_zero, 0.0, ns.sum(x * t, axis=axes, keepdims=self.keepdims) / safe_y)
        x_zero = xv == 0
        s = xp.sign(xv)
        magnitude = ns.where(x_zero, 1.0, x * s)
        scaled = ns.where(x_zero, 0.0, s * magnitude ** (p - 1))
        return ns.where(y_zero, 0.0, ns.sum(scaled * t, axis=axes, keepdims=self.keepdims) / safe_y ** (p - 1))


def _nan_masked_vjp(self, ns, g, y, x):
    """The max vjp (ties by ``rg.conventions``) with 0 where a NaN made every entry miss:
    PyTorch's ∞-norm gives a NaN input's whole reduction a zero gradient (a plain max gives NaN)."""
    xv = ns.value(x)
    axes = self._axes(xv)
    with xp.errstate(invalid="ignore", divide="ignore"):
        mask = extrema.tie_mask(xv, R._expand(xp, ns.value(y), axes, self.keepdims), axes, self.share)
    mask = xp.where(xp.isnan(mask), 0, mask)
    return (R._expand(ns, g, axes, self.keepdims) * mask,)


def _nan_masked_jvp(self, ns, ts, y, x):
    """ẏ = Σₐ w·ẋ with ``_nan_masked_vjp``'s weights w."""
    xv = ns.value(x)
    axes = self._axes(xv)
    with xp.errstate(invalid="ignore", divide="ignore"):
        mask = extrema.tie_mask(xv, R._expand(xp, ns.value(y), axes, self.keepdims), axes, self.share)
    mask = xp.where(xp.isnan(mask), 0, mask)
    t = ts[0]
    return ns.sum(t * mask, axis=tuple(a + t.ndim - xv.ndim for a in axes), keepdims=self.keepdims)


class MaxNorm(extrema.Max):
    """y = maxₐ of its input (|x| for the ∞-norm, −|x| for the −∞-norm);  x̄ at the maximum,
    0 for a NaN reduction"""
    name = "norm"
    __slots__ = ()
    save_inputs = (0,)
    vjp = _nan_masked_vjp
    jvp = _nan_masked_jvp


def norm(x, p="fro", dim=None, keepdim: bool = False):
    """PyTorch's ``norm``: the vector p-norm of ``x`` over ``dim`` (all axes when
    None). ``p``: ``"fro"`` or 2 (the default, √Σx²), 1 (Σ|x|), ``inf``
    (max |x|), ``-inf`` (min |x|), 0 (the count of nonzeros, zero gradient) or
    any p > 0. Floating tensors only."""
    if not isinstance(x, Tensor):
        x = Tensor(xp.asarray(x))
    if x.dtype.kind != "f":
        raise OpError(f"norm: input dtype should be floating point, got {x.dtype}")
    axes = R._norm_axis(dim, x.ndim, "norm")
    if p == "fro":
        p = 2
    if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p):
        raise OpError(f"norm: p must be 'fro' or a number (1, 2, inf, -inf, 0 or p > 0), got {p!r}")
    if p == math.inf:
        return MaxNorm(axes, keepdim)(_abs(x))
    if p == -math.inf:  # min |x| = −max(−|x|): the same ties and NaN rule
        return -MaxNorm(axes, keepdim)(-_abs(x))
    if p == 1:
        return R.sum(_abs(x), axes, keepdim)
    if p == 0:
        return R.sum(sign(_abs(x)), axes, keepdim)
    if p < 0:
        raise OpError(f"norm: negative p ({p}) is not supported")
    return VectorNorm(p, axes, keepdim)(x)
