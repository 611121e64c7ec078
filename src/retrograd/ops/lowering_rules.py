"""Lowering rules (``autograd.lowering``) of the ops an online step is made of: each op's
forward, vjp and jvp written as the NumPy expressions its own rules compute, in the same
order (so the numbers are the same), for the shapes and dtypes the trace saw — without the
checks and the cases those shapes rule out. A rule returns None for a case it does not
cover (the program then runs on the interpreter). ``tests/autograd/test_lowering.py`` checks
every rule against the op's own forward, vjp and jvp.

Covered: ``linear`` (2-D input; its jvp takes a concatenation's pieces, a basis-seeded weight
and bias — RTRL's immediate influence — and a folded elementwise scale), ``concatenate``,
``tanh``, ``sigmoid``, ``add``/``sub``/``mul`` (no broadcasting of a tensor operand), and
``cross_entropy`` with probability targets ("mean" or "sum", no weight, no smoothing).
"""

from __future__ import annotations

import math

from ..autograd import backend
from ..autograd.lowering import Deferred, Sym, Unsupported, register, written
from . import elementwise as E
from .linalg import Linear
from .shape import Concatenate
from .softmax_cross_entropy import CrossEntropy, _log_softmax_array

np = backend.host  # lowering writes host NumPy code (``autograd.lowering``: host arrays only)


def _slot(meta) -> bool:
    return meta[0] == "slot"


def _float(meta) -> bool:
    return _slot(meta) and meta[2].kind == "f"


def _scalar(em, value, dtype) -> str:
    """A name bound to the scalar ``value`` as a 0-d array of the dtype NumPy computes ``value`` with
    an array of ``dtype`` in (a Python float meets a float32 array as float32): the same numbers as
    the literal, and each operation on a small array about 0.3 µs faster than with a Python scalar."""
    return em.const(np.asarray(value, dtype=np.result_type(dtype, value)), "k")


class _Rule:
    """One instruction's rule. ``forward`` writes the output (and returns the names of values
    it keeps for the sweeps); ``vjp`` writes input ``pos``'s cotangent and returns its name (``mask``:
    the sweep's ``needs``, which a rule that computes only the asked input ignores); ``jvp`` returns
    the output's tangent (a ``lowering.Sym``) or None."""

    one_row = False  # an elementwise scale whose factor is one row (it may fold into a linear map before it)
    # the op's own rules read only their arguments (nothing its forward kept): a tangent this rule does not
    # take may go to the op's own jvp instead. Not so for cross_entropy, whose rules read what its forward saved
    stateless = True

    def __init__(self, op, metas):
        self.op, self.metas = op, metas

    def arg(self, em, xs, pos):
        """Input ``pos``'s name: the slot's value, or the constant the trace kept (a scalar as ``_scalar``'s)."""
        if xs[pos] is not None:
            return xs[pos]
        value = self.metas[pos][1]
        dtypes = [m[2] for m in self.metas if _slot(m)]
        return _scalar(em, value, dtypes[0]) if dtypes and np.ndim(value) == 0 else em.const(value)

    def new_array(self, em, stem, expression) -> Sym:
        name = em.fresh(stem)
        em(f"{name} = {expression}")
        return Sym("array", name, owned=True)


def _reduce(em, ufunc: str) -> str:
    """``np.<ufunc>.reduce`` as a constant: what ``ndarray.sum``/``max`` call, without their Python wrapper
    (the same numbers)."""
    return em.const(getattr(np, ufunc).reduce, ufunc + "_reduce")


def _array(t):
    """A tangent as an array Sym, or Unsupported (pieces and bases are read by ``linear`` only)."""
    if t is not None and t.kind != "array":
        raise Unsupported(f"a {t.kind} tangent reaching an op that reads arrays")
    return t


# ------------------------------------------------------------------ elementwise scales
class _Scale(_Rule):
    """y = f(x) elementwise with ẏ = ẋ·factor(y): tanh, sigmoid."""

    def __init__(self, op, metas, out_shape):
        super().__init__(op, metas)
        self.one_row = math.prod(out_shape[:-1]) == 1 if out_shape else False

    def factor(self, em, xs, y) -> str:
        """The factor as one row (the scale a linear map before it folds into W)."""
        name = em.fresh("fac")
        em(f"{name} = ({self.factor_expression(em, y)}).reshape(-1)")
        return name

    def jvp(self, em, ts, xs, y, lead, scale):
        t = _array(ts[0])
        if t.owned:  # a tangent this sweep made and nothing else reads: scaled in place
            em(f"{t.name} *= {self.factor_expression(em, y)}")
            return t
        return self.new_array(em, "t", f"{t.name} * ({self.factor_expression(em, y)})")

    def one(self, em) -> str:
        return _scalar(em, 1, self.metas[0][2])


class _Tanh(_Scale):
    def forward(self, em, xs, y):
        em(f"{y} = {em.const(np.tanh, 'tanh')}({xs[0]})")

    def vjp(self, em, g, pos, xs, y, mask=None):
        name = em.fresh("g")
        em(f"{name} = {g} * ({self.factor_expression(em, y)})")
        return name

    def factor_expression(self, em, y):
        return f"{self.one(em)} - {y} * {y}"


class _Sigmoid(_Scale):
    def forward(self, em, xs, y):
        em(f"{y} = {em.const(backend.sigmoid, 'sigmoid')}({xs[0]})")

    def vjp(self, em, g, pos, xs, y, mask=None):
        name = em.fresh("g")
        em(f"{name} = {self.one(em)} - {y}")
        em(f"{name} *= {y}")
        em(f"{name} *= {g}")
        return name

    def factor_expression(self, em, y):
        return f"{y} * ({self.one(em)} - {y})"


def _one_float_input(cls):
    def factory(op, metas, cls=cls):
        if len(metas) != 1 or not _float(metas[0]) or metas[0][2].itemsize < 4:
            return None
        return cls(op, metas, metas[0][1])
    return factory


register(E.Tanh)(_one_float_input(_Tanh))
register(E.Sigmoid)(_one_float_input(_Sigmoid))


# ------------------------------------------------------------------ add, sub, mul
class _Binary(_Rule):
    """z = x ∘ y for a tensor operand of the output's shape (a constant may be a scalar)."""

    symbol = "+"

    def forward(self, em, xs, y):
        em(f"{y} = {self.arg(em, xs, 0)} {self.symbol} {self.arg(em, xs, 1)}")


class _Add(_Binary):
    takes_deferred = True  # a linear map's tangent plus a multiple of one of its pieces: one matrix

    def vjp(self, em, g, pos, xs, y, mask=None):
        return g

    def jvp(self, em, ts, xs, y, lead, scale):
        a, b = ts
        if a is None or b is None:  # the moving tangent passes through as it is (deferred or not)
            return a if b is None else b
        for t, other in ((a, b), (b, a)):
            if isinstance(t, _LinearTangent) and isinstance(other, _Multiple):
                folded = t.plus(other)
                if folded is not None:
                    return folded
        a, b = _array(written(em, a)), _array(written(em, b))
        if a is None or b is None:  # the moving tangent passes through as it is
            return a if b is None else b
        return self.new_array(em, "t", f"{a.name} + {b.name}")


class _Sub(_Binary):
    symbol = "-"

    def vjp(self, em, g, pos, xs, y, mask=None):
        if pos == 0:
            return g
        name = em.fresh("g")
        em(f"{name} = -{g}")
        return name

    def jvp(self, em, ts, xs, y, lead, scale):
        a, b = _array(ts[0]), _array(ts[1])
        if b is None:
            return a
        if a is None:
            return self.new_array(em, "t", f"-{b.name}")
        return self.new_array(em, "t", f"{a.name} - {b.name}")


class _Mul(_Binary):
    symbol = "*"

    def vjp(self, em, g, pos, xs, y, mask=None):
        name = em.fresh("g")
        em(f"{name} = {g} * {self.arg(em, xs, 1 - pos)}")
        return name

    takes_deferred = True  # a scalar constant times a deferred tangent (or a seed's): a factor of it

    def jvp(self, em, ts, xs, y, lead, scale):
        moving = [pos for pos in (0, 1) if ts[pos] is not None]
        if len(moving) == 1 and xs[1 - moving[0]] is None:  # ẋ·k, k a scalar the trace kept (``_binary``)
            t, k = ts[moving[0]], self.arg(em, xs, 1 - moving[0])
            if isinstance(t, Deferred):
                return t.times(k)
            if lead and t.kind == "array" and not t.owned:  # a seed's, with directions: folded where it is added
                return _Multiple(t.name, k)
        a, b = _array(written(em, ts[0])), _array(written(em, ts[1]))
        terms = []
        if a is not None:
            other = self.arg(em, xs, 1)
            if b is None and a.owned:  # ẋ·y with y held, in a tangent of its own: in place
                em(f"{a.name} *= {other}")
                return a
            terms.append(f"{a.name} * {other}")
        if b is not None:
            terms.append(f"{self.arg(em, xs, 0)} * {b.name}")
        return self.new_array(em, "t", " + ".join(terms))


def _binary(cls):
    def factory(op, metas, cls=cls):
        if len(metas) != 2 or not any(_slot(m) for m in metas):
            return None
        shapes = [m[1] for m in metas if _slot(m)]
        dtypes = {m[2] for m in metas if _slot(m)}
        if len(set(shapes)) != 1 or len(dtypes) != 1 or next(iter(dtypes)).kind != "f":
            return None  # a broadcast tensor operand, or mixed dtypes: the op's own rules
        for m in metas:
            if not _slot(m) and not (isinstance(m[1], (float, int)) or np.ndim(m[1]) == 0):
                return None
        return cls(op, metas)
    return factory


register(E.Add)(_binary(_Add))
register(E.Sub)(_binary(_Sub))
register(E.Mul)(_binary(_Mul))


# ------------------------------------------------------------------ concatenate
class _Concatenate(_Rule):
    def __init__(self, op, metas):
        super().__init__(op, metas)
        self.ndim = len(metas[0][1])
        self.axis = op.axis % self.ndim
        self.sizes = [m[1][self.axis] for m in metas]

    def forward(self, em, xs, y):
        em(f"{y} = {em.const(np.concatenate, 'concatenate')}(({', '.join(xs)},), axis={self.axis})")

    def vjp(self, em, g, pos, xs, y, mask=None):
        start = sum(self.sizes[:pos])
        index = ":, " * self.axis + f"{start}:{start + self.sizes[pos]}"
        name = em.fresh("g")
        em(f"{name} = {g}[{index}]")
        return name

    def jvp(self, em, ts, xs, y, lead, scale):
        ts = [_array(t) for t in ts]
        if self.axis == self.ndim - 1 and any(t is None for t in ts):  # kept as pieces: linear reads them
            return Sym("pieces", parts=ts, sizes=self.sizes)
        parts = []
        for t, m in zip(ts, self.metas):
            parts.append(t.name if t is not None else f"{em.const(np.zeros, 'zeros')}({tuple(lead) + m[1]!r}, "
                         f"dtype={em.const(m[2], 'dtype')})")
        return self.new_array(em, "t", f"{em.const(np.concatenate, 'concatenate')}(({', '.join(parts)},), "
                                       f"axis={self.axis + len(lead)})")


@register(Concatenate)
def _concatenate(op, metas):
    if not metas or not all(_float(m) for m in metas) or len({m[2] for m in metas}) != 1 or not metas[0][1]:
        return None
    return _Concatenate(op, metas)


# ------------------------------------------------------------------ linear
class _Linear(_Rule):
    """y = x Wᵀ + b for a 2-D x: the op's forward and vjp; its jvp as ``Linear.jvp`` /
    ``jvp_basis`` compute it (pieces of a concatenated input times their columns of W, a
    basis-seeded W or b written on the diagonal, a folded scale in W)."""

    def __init__(self, op, metas):
        super().__init__(op, metas)
        (_, self.x_shape, self.dtype), (_, (self.n_out, self.n_in), _) = metas[0], metas[1]
        self.has_bias = _slot(metas[2])

    # ``np.dot`` of 2-D operands is matmul's BLAS call, bit for bit, at about 0.6 µs a call instead of
    # 1.0: on an online step's small products that overhead is most of their cost
    def forward(self, em, xs, y):
        em(f"{y} = {em.const(np.dot, 'dot')}({xs[0]}, {xs[1]}.T)")
        if self.has_bias:  # one row: b as that row, the same shapes (a broadcast costs NumPy 0.5 µs more)
            em(f"{y} += {xs[2]}.reshape(1, -1)" if self.x_shape[0] == 1 else f"{y} += {xs[2]}")

    def vjp(self, em, g, pos, xs, y, mask=None):
        name, dot = em.fresh("g"), em.const(np.dot, "dot")
        if pos == 0:
            em(f"{name} = {dot}({g}, {xs[1]})")
        elif pos == 1:
            em(f"{name} = {dot}({g}.T, {xs[0]})")
        else:
            em(f"{name} = {_reduce(em, 'add')}({g}, axis=0)")
        return name

    def jvp(self, em, ts, xs, y, lead, scale):
        tx, tw, tb = ts
        for t in (tw, tb):
            if t is not None and t.kind != "basis":
                raise Unsupported("linear: a weight or bias tangent other than its own basis")
        if tx is not None and tx.kind == "basis":
            raise Unsupported("linear: a basis-seeded input")
        if (tw or tb) is not None and tuple(lead) != ((tw or tb).seed[1],):
            raise Unsupported("linear: a basis seed with other leading axes")
        parts = []  # (the input tangent's piece, its first and last column + 1)
        if tx is not None and tx.kind == "array":
            parts.append((tx, 0, self.n_in))
        elif tx is not None:  # pieces of a concatenation: only the moving ones meet their columns of W
            start = 0
            for part, size in zip(tx.parts, tx.sizes):
                if part is not None:
                    parts.append((part, start, start + size))
                start += size
        if not parts and tw is None and tb is None:
            return None  # nothing moves this output
        tangent = _LinearTangent(self, xs, parts, tw, tb, tuple(lead), scale)
        # one direction (no basis: a basis brings its directions) is written now: scaling W would cost
        # more than scaling the tangent
        return tangent if lead else tangent.materialize(em)

    @staticmethod
    def _diagonal(em, r, offset, size, block) -> str:
        """A writeable view of the diagonal o = k of the tangent ``r``'s ``size`` directions from
        ``offset``, seen as ``block`` (n_out, …, n_out): d[…, k] = block[k, …, k], the diagonal axis last."""
        name = em.fresh("diag")
        em(f"{name} = {r}[{offset}:{offset + size}].reshape({block!r}).diagonal(0, 0, {len(block) - 1})")
        em(f"{name}.flags.writeable = True  # a view of the tangent this sweep made (``diagonal``'s is read-only)")
        return name


class _LinearTangent(Deferred):
    """A linear map's tangent with leading directions, kept symbolic until read: k·s ⊙ (Σ ẋᵢ Wᵢᵀ +
    the basis directions on the diagonal) + Σ cᵢ·ẋᵢ, with ẋᵢ the moving pieces of the input, Wᵢ
    their columns of W, s a one-row scale folded in (φ′ of the tanh after it), k scalar factors
    and cᵢ the multiples of a piece added to it (a leaky cell's (1 − α)·aₜ₋₁). Written, every
    term is one GEMM per piece with the matrix k·s ⊙ Wᵢ + cᵢ·I — the Jacobian a hand-written RTRL
    forms — then the basis diagonal: no pass over the n × P tangent for the scale, the leak or
    their sum."""

    __slots__ = ("rule", "xs", "pieces", "tw", "tb", "lead", "scale", "factors", "identity")

    def __init__(self, rule, xs, pieces, tw, tb, lead, scale, factors=(), identity=None):
        super().__init__("deferred")
        self.rule, self.xs, self.pieces, self.tw, self.tb, self.lead = rule, xs, pieces, tw, tb, lead
        self.scale, self.factors, self.identity = scale, tuple(factors), dict(identity or {})

    def times(self, k: str) -> "_LinearTangent":
        """This tangent times the scalar ``k`` (a name): k joins the factors and scales each cᵢ."""
        identity = {i: f"{c} * {k}" for i, c in self.identity.items()}
        return _LinearTangent(self.rule, self.xs, self.pieces, self.tw, self.tb, self.lead, self.scale,
                              self.factors + (k,), identity)

    def plus(self, multiple: "_Multiple"):
        """This tangent plus c·ẋᵢ for a piece ẋᵢ of its input that is the whole of a square block
        (its units the output's): cᵢ joins the matrix's diagonal. None where it cannot fold."""
        rule = self.rule
        for i, (piece, start, stop) in enumerate(self.pieces):
            if piece.name == multiple.name and stop - start == rule.n_out:
                identity = dict(self.identity)
                identity[i] = multiple.factor if i not in identity else f"{identity[i]} + {multiple.factor}"
                return _LinearTangent(rule, self.xs, self.pieces, self.tw, self.tb, self.lead, self.scale,
                                      self.factors, identity)
        return None

    def materialize(self, em):
        rule, lead, w = self.rule, self.lead, self.xs[1]
        out_shape = lead + rule.x_shape[:-1] + (rule.n_out,)
        s = self.scale  # the per-unit scale k·s (a row), a scalar k, or None
        if self.factors:
            k = " * ".join(self.factors)
            if s is None:
                s = f"({k})"
            else:
                scaled = em.fresh("s")
                em(f"{scaled} = {s} * ({k})")
                s = scaled
        vector = self.scale is not None  # a row; the factors alone are a scalar
        r = None
        for i, (piece, start, stop) in enumerate(self.pieces):
            rows = (math.prod(lead + rule.x_shape[:-1]), stop - start)
            cols = w if (start, stop) == (0, rule.n_in) else f"{w}[:, {start}:{stop}]"
            if s is not None or i in self.identity:
                matrix = em.fresh("wx")
                if s is None:  # only a multiple of the piece: W's columns copied (C-ordered) for the diagonal
                    em(f"{matrix} = {cols}.copy()")
                else:  # W's columns scaled by output unit: the row s[:, None], or the scalar
                    em(f"{matrix} = {cols} * {s}{'[:, None]' if vector else ''}")
                if i in self.identity:  # cᵢ·ẋᵢ as cᵢ·I in the matrix (fresh and C-ordered: its diagonal by stride)
                    em(f"{matrix}.reshape(-1)[::{stop - start + 1}] += {self.identity[i]}")
                cols = matrix
            term = em.fresh("t")
            if lead:  # directions in front: the product in the orientation the tangent's memory order
                # favours, as ``_times_transpose`` chooses it (written out: (cols·rowsᵀ)ᵀ or rows·colsᵀ)
                flat = em.fresh("rows")
                em(f"{flat} = {piece.name}.reshape({rows!r})")
                em(f"{term} = (({cols} @ {flat}.T).T if {flat}.flags.f_contiguous and not {flat}.flags.c_contiguous "
                   f"else {flat} @ {cols}.T).reshape({out_shape!r})")
            else:  # ``_times_transpose``'s other case, written out: rows @ colsᵀ
                em(f"{term} = ({piece.name}.reshape({rows!r}) @ {cols}.T).reshape({out_shape!r})")
            if r is None:
                r = term
            else:
                em(f"{r} = {r} + {term}")
        tw, tb = self.tw, self.tb
        if tw is None and tb is None:
            return Sym("array", r, owned=True)  # (a piece moves: ``_Linear.jvp`` makes no tangent of nothing)
        batch = rule.x_shape[:-1]
        if r is None:
            r = em.fresh("t")
            em(f"{r} = {em.const(np.zeros, 'zeros')}({out_shape!r}, dtype={em.const(rule.dtype, 'dtype')}, "
               f"order='F')")
        # the basis directions of W (of b) meet this output on the diagonal o = k of their block
        # (n_out, n_in, *batch, n_out) ((n_out, *batch, n_out)) of the tangent: there ∂yₖ/∂Wₖⱼ = xⱼ and
        # ∂yₖ/∂bₖ = 1, times the scale
        n_out, n_in, nb = rule.n_out, rule.n_in, len(batch)
        scaled = "" if s is None else f" * {s}"
        if tw is not None:  # d[j, b…, k] += x[b…, j]·s[k]
            diagonal = rule._diagonal(em, r, tw.seed[0], n_out * n_in, (n_out, n_in) + batch + (n_out,))
            em(f"{diagonal} += {self.xs[0]}.transpose({(nb,) + tuple(range(nb))!r})[..., None]{scaled}")
        if tb is not None:  # d[b…, k] += s[k] (1 without a scale)
            if tuple(tb.seed[2]) != (n_out,):
                raise Unsupported("linear: a broadcast bias")
            diagonal = rule._diagonal(em, r, tb.seed[0], n_out, (n_out,) + batch + (n_out,))
            em(f"{diagonal} += {'1' if s is None else s}")
        return Sym("array", r, owned=True)


class _Multiple(Deferred):
    """c·ẋ for a tangent ẋ this sweep did not make (a seed): kept symbolic, so that a linear map's
    tangent it is added to takes it as c·I in its matrix (a leaky cell's (1 − α)·aₜ₋₁)."""

    __slots__ = ("factor",)

    def __init__(self, name, factor):
        super().__init__("deferred", name)
        self.factor = factor

    def times(self, k):
        return _Multiple(self.name, f"{self.factor} * {k}")

    def materialize(self, em):
        out = em.fresh("t")
        em(f"{out} = {self.name} * ({self.factor})")
        return Sym("array", out, owned=True)


@register(Linear)
def _linear(op, metas):
    if len(metas) != 3 or not (_float(metas[0]) and _float(metas[1])):
        return None
    x, w, b = metas
    if len(x[1]) != 2 or len(w[1]) != 2 or x[2] != w[2] or x[1][-1] != w[1][1]:
        return None
    if _slot(b) and (b[1] != (w[1][0],) or b[2] != w[2]) or not _slot(b) and b[1] is not None:
        return None
    return _Linear(op, metas)


# ------------------------------------------------------------------ cross-entropy, probability targets
class _CrossEntropy(_Rule):
    """ℓ = Σᵢ Σ_c −yᵢc log softmax(zᵢ)_c (÷ N for "mean"), z and y (N, C) of one dtype:
    the op's forward, its vjp for z and y, its jvp for z."""

    stateless = False

    def __init__(self, op, metas):
        super().__init__(op, metas)
        self.rows = metas[0][1][0]
        self.mean = op.reduction == "mean"
        # a row's max and sums, kept for a broadcast against the row: of one row, a scalar (the same
        # numbers; a (1, 1) array's broadcast costs NumPy 0.3–0.5 µs a call more)
        self.over_row = "axis=None" if self.rows == 1 else "axis=1, keepdims=True"

    def forward(self, em, xs, y):
        z, t = xs
        shifted, e, se, loss = (em.fresh(n) for n in ("shifted", "e", "se", "loss"))
        probs = em.fresh("probs")
        add, maximum = _reduce(em, "add"), _reduce(em, "maximum")
        em(f"{shifted} = {z} - {maximum}({z}, {self.over_row})")
        em(f"{e} = {em.const(np.exp, 'exp')}({shifted})")
        em(f"{se} = {add}({e}, {self.over_row})")
        em(f"{loss} = {add}(({em.const(np.log, 'log')}({se}) - {shifted}) * {t}, axis=1)")
        em(f"{probs} = {e}")
        em(f"{probs} /= {se}")
        if self.rows == 1:  # the sum (or mean) of one row's loss is that loss: no reduction
            em(f"{y} = {loss}.reshape(())")
        else:
            asarray = em.const(np.asarray, "asarray")
            total = f"{add}({loss}, axis=None)"
            em(f"{y} = {asarray}({total} / {self.rows})" if self.mean else f"{y} = {asarray}({total})")
        self.probs = probs
        return [probs]

    def _inverse_rows(self, em) -> str:
        """The mean's factor 1/N (0 for no rows)."""
        return _scalar(em, 1.0 / self.rows if self.rows else 0.0, self.metas[0][2])

    def _scale(self, em, g):
        return f"{g} * {self._inverse_rows(em)}" if self.mean and self.rows != 1 else g

    def vjp(self, em, g, pos, xs, y, mask=None):
        z, t = xs
        name = em.fresh("g")
        if pos == 0:
            em(f"{name} = {self.probs} * {_reduce(em, 'add')}({t}, {self.over_row}) - {t}")
            if not getattr(g, "unit", False):
                em(f"{name} *= {self._scale(em, g)}")
            elif self.mean and self.rows != 1:  # ∂L/∂L = 1: the mean's factor alone
                em(f"{name} *= {self._inverse_rows(em)}")
        else:
            em(f"{name} = -{em.const(_log_softmax_array, 'log_softmax')}({z})")
            em(f"{name} = {name} * {self._scale(em, g)}")
        return name

    def jvp(self, em, ts, xs, y, lead, scale):
        tz, ty = _array(ts[0]), _array(ts[1])
        if ty is not None:
            raise Unsupported("cross_entropy: a tangent on the target")
        z, t = xs
        d, term = em.fresh("d"), em.fresh("t")
        add = _reduce(em, "add")
        em(f"{d} = {self.probs} * {add}({t}, {self.over_row}) - {t}")
        nlead = len(lead)
        em(f"{term} = {add}({tz.name} * {d}, axis={nlead + 1})")
        em(f"{term} = {add}({term}, axis={tuple(range(nlead, nlead + 1))!r})")
        if self.mean:
            em(f"{term} = {term} * {self._inverse_rows(em)}")
        return Sym("array", term, owned=True)


@register(CrossEntropy)
def _cross_entropy(op, metas):
    z, t = metas
    if not (_float(z) and _float(t)) or z[1] != t[1] or z[2] != t[2] or len(z[1]) != 2 or not z[1][0]:
        return None
    if op.saved.get("weight") is not None or op.label_smoothing or op.reduction not in ("mean", "sum"):
        return None
    return _CrossEntropy(op, metas)
