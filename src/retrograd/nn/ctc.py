"""The connectionist temporal classification loss (Graves et al., 2006): ``F.ctc_loss`` and ``nn.CTCLoss``.

A CTC model emits, at each of T steps, log-probabilities over C classes, one of them the *blank*. A path
π (one class per step) spells the label sequence l when removing repeats, then blanks, leaves l: for
l = "ab", "a-b", "aab", "-ab" and "ab-" all do (T = 3, "-" the blank). The loss is −log p(l | x) with
p(l | x) = Σ_π Π_t y_t(π_t), summed over every path that spells l.

The sum is a dynamic programme over the *extended* label sequence l′ = (blank, l₁, blank, l₂, …, blank)
of length S′ = 2|l| + 1 (forward variables α, backward variables β, both in log space):

    α₀(0) = y₀(blank),  α₀(1) = y₀(l₁),
    α_t(s) = y_t(l′_s) · (α_{t−1}(s) + α_{t−1}(s−1) + [l′_s ≠ l′_{s−2}]·α_{t−1}(s−2)),
    p(l | x) = α_{T−1}(S′−1) + α_{T−1}(S′−2),

(a skip over a blank is allowed between different labels only: "aa" needs the blank between its a's),
and β the same recursion run backwards from the last step. Here they run vectorised over the batch and
over s (the loop is over t only), with PyTorch's kernel's arithmetic, term for term.

The op's vjp is PyTorch's: Graves et al.'s eq. (16), the gradient with respect to the *logits* u of a
softmax, y = softmax(u):

    ∂ℓ/∂u_t(c) = y_t(c) − (1 / (p·y_t(c))) Σ_{s: l′_s = c} α_t(s)·β_t(s),

handed back as the gradient of ``log_probs`` (0 at steps t ≥ the sample's input length). The exact
derivative with respect to log-probabilities lacks the y_t(c) term; the two agree once they flow back
through the log_softmax that made ``log_probs`` (its Jacobian removes any per-step constant, and the
y_t(c) summed over c is 1), which is how CTC is used — so rg's gradients equal PyTorch's everywhere,
and ``gradcheck`` passes on ``ctc_loss(log_softmax(u))``, not on free-standing log-probabilities.

Second derivatives (which PyTorch does not have) come from ``CTCGradient``, the gradient as an op of
its own: its Jacobian, diag(y) plus the Hessian of ℓ, is symmetric, so its vjp and its jvp are the same
Hessian-vector product, computed by pushing the direction through the α and β recursions (forward mode
of the dynamic programme).
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.op import IndexRangeError, OpError, UnaryOp
from ..autograd.tensor import Tensor
from .. import ops as _ops
from ..ops import reshape
from ..ops.shape import _data as _arr
from .functional_losses import _t
from .loss import _Loss

_NEG_INF = -float("inf")


class CTCError(OpError, RuntimeError):
    """Bad arguments to ``ctc_loss``: a ``RuntimeError`` as PyTorch raises, and an ``OpError``."""


class CTCDtypeError(OpError, NotImplementedError):
    """``ctc_loss`` of integer log-probabilities: PyTorch's ``NotImplementedError``, and an ``OpError``."""


# ---------------------------------------------------------------- the extended label sequences
class _Alignment:
    """What the recursions need of the targets, built once per call (constants of the tape):

    - ``ext`` (N, S′): the extended label sequence of each sample (blank, l₁, blank, …, blank), padded
      with blanks to S′ = 2·max|l| + 1;
    - ``valid`` (N, S′): s ≤ 2|lₙ|, the positions of sample n's own sequence;
    - ``skip`` (N, S′): the transition s − 2 → s is allowed (l′_s ≠ l′_{s−2});
    - ``input_lengths``, ``target_lengths`` (N,) and ``blank``."""

    __slots__ = ("ext", "valid", "skip", "input_lengths", "target_lengths", "blank")

    def __init__(self, labels, input_lengths, target_lengths, blank):
        n, smax = labels.shape
        self.ext = xp.full((n, 2 * smax + 1), blank, dtype=xp.int64)
        self.ext[:, 1::2] = labels
        positions = xp.arange(2 * smax + 1)
        self.valid = positions[None, :] <= 2 * target_lengths[:, None]
        self.skip = xp.zeros(self.ext.shape, dtype=bool)
        self.skip[:, 2:] = self.ext[:, 2:] != self.ext[:, :-2]
        self.input_lengths, self.target_lengths, self.blank = input_lengths, target_lengths, blank

    def emissions(self, lp):
        """y_t(l′_s) in log space, (T, N, S′), from (T, N, C) log-probabilities."""
        index = xp.broadcast_to(self.ext[None], (lp.shape[0],) + self.ext.shape)
        return xp.take_along_axis(lp, index, axis=2)

    def step_mask(self, steps):
        """(T, N, 1): t < the sample's input length (the steps that count)."""
        return (xp.arange(steps)[:, None] < self.input_lengths[None, :])[..., None]


# ---------------------------------------------------------------- the recursions (NumPy, over t)
def _right(x, k, fill):
    """x[..., s − k] at s (``fill`` for s < k)."""
    out = xp.full_like(x, fill)
    if k < x.shape[-1]:
        out[..., k:] = x[..., :-k]
    return out


def _left(x, k, fill):
    """x[..., s + k] at s (``fill`` for s ≥ S′ − k)."""
    out = xp.full_like(x, fill)
    if k < x.shape[-1]:
        out[..., :-k] = x[..., k:]
    return out


def _lse3(a, b, c):
    """log(eᵃ + eᵇ + eᶜ) as PyTorch's kernel computes it: shifted by the largest, or by 0 when all are −∞."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m == _NEG_INF, m.dtype.type(0), m)
    return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _weights(total, *terms):
    """e^{term − total} for each term of a log-sum-exp (0 where the total is −∞): its partial derivatives."""
    finite = xp.isfinite(total)
    return [xp.where(finite & xp.isfinite(v), xp.exp(v - xp.where(finite, total, 0)), 0).astype(total.dtype)
            for v in terms]


def _log_alpha(e, al):
    """Forward variables log α (T, N, S′) from the emissions e (T, N, S′) (−∞ off each sample's sequence)."""
    a = xp.full(e.shape, _NEG_INF, dtype=e.dtype)
    positions = xp.arange(e.shape[2])
    a[0] = xp.where(al.valid & (positions < 2), e[0], _NEG_INF)
    predecessors = _predecessors(al)
    for t in range(1, e.shape[0]):
        a[t] = xp.where(al.valid, _lse3(*predecessors(a[t - 1])) + e[t], _NEG_INF)
    return a


def _predecessors(al):
    """The three terms α_{t−1}(s), α_{t−1}(s − 1), α_{t−1}(s − 2) (the last where the skip is allowed)."""
    return lambda p: (p, _right(p, 1, _NEG_INF), xp.where(al.skip, _right(p, 2, _NEG_INF), _NEG_INF))


def _successors(al):
    """The three terms β_{t+1}(s), β_{t+1}(s + 1), β_{t+1}(s + 2) (the last where the skip is allowed)."""
    skip_next = _left(al.skip, 2, False)
    return lambda q: (q, _left(q, 1, _NEG_INF), xp.where(skip_next, _left(q, 2, _NEG_INF), _NEG_INF))


def _final(x, al):
    """x at the last step (t = input length − 1) of the two end positions, s = 2|l| and 2|l| − 1."""
    n = xp.arange(x.shape[1])
    last = xp.maximum(al.input_lengths - 1, 0)
    tl2 = 2 * al.target_lengths
    return x[last, n, tl2], x[last, n, xp.maximum(tl2 - 1, 0)]


def _nll(a, al):
    """−log p(l | x) = −log(α_{T−1}(S′−1) + α_{T−1}(S′−2)) per sample; 0 (−0.0, as PyTorch) for an empty
    input and an empty target, ∞ for an empty input and a non-empty target."""
    l1, l2 = _final(a, al)
    l2 = xp.where(al.target_lengths > 0, l2, _NEG_INF)
    m = xp.maximum(l1, l2)
    m = xp.where(m == _NEG_INF, m.dtype.type(0), m)
    nll = -(xp.log(xp.exp(l1 - m) + xp.exp(l2 - m)) + m)
    empty = xp.where(al.target_lengths == 0, -0.0, float("inf")).astype(a.dtype)
    return xp.where(al.input_lengths == 0, empty, nll)


def _log_beta(e, al):
    """Backward variables log β (T, N, S′): started at each sample's last step t = input length − 1 from its
    two end positions, −∞ after it and off the sequence."""
    steps, n, width = e.shape
    b = xp.full(e.shape, _NEG_INF, dtype=e.dtype)
    il = al.input_lengths[:, None]
    tl2 = 2 * al.target_lengths[:, None]
    positions = xp.arange(width)[None, :]
    ends = (positions == tl2) | ((positions == tl2 - 1) & (tl2 > 0))
    successors = _successors(al)
    after = xp.full((n, width), _NEG_INF, dtype=e.dtype)
    for t in range(steps - 1, -1, -1):
        recursion = _lse3(*successors(after)) + e[t]
        bt = xp.where(t == il - 1, xp.where(ends, e[t], _NEG_INF), xp.where(t < il - 1, recursion, _NEG_INF))
        b[t] = after = xp.where(al.valid, bt, _NEG_INF)
    return b


def _collect(x, al, classes):
    """log Σ_{s: l′_s = c} e^{x_t(s)} (T, N, C): x summed into the class each position spells, s descending
    (PyTorch's order); −∞ for a class the sequence does not hold."""
    steps, n, width = x.shape
    out = xp.full((steps, n, classes), _NEG_INF, dtype=x.dtype)
    rows = xp.arange(n)
    for s in range(width - 1, -1, -1):
        cls = al.ext[:, s]
        out[:, rows, cls] = xp.logaddexp(out[:, rows, cls], x[:, :, s])
    return out


def _kept(al, nll, zero_infinity, steps):
    """(T, N, 1): where the gradient is not zero — the sample's own steps, and not a sample whose loss
    ``zero_infinity`` turned from ∞ to 0."""
    keep = al.step_mask(steps)
    if zero_infinity:
        keep = keep & ~xp.isposinf(nll)[None, :, None]
    return keep


class _Pass:
    """One forward-backward pass over a batch: the emissions, log α, log β, the per-class sums of αβ
    (``res``) and the loss, everything the gradient and its Hessian-vector products read."""

    __slots__ = ("al", "lp", "a", "b", "res", "nll")

    def __init__(self, lp, al, a=None, nll=None, b=None, res=None):
        """From the log-probabilities ``lp``; what an op kept (log α and the loss from the forward, or
        everything) is not computed again."""
        self.al, self.lp = al, lp
        e = al.emissions(lp)
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.a = _log_alpha(e, al) if a is None else a
            self.nll = _nll(self.a, al) if nll is None else nll
            self.b = _log_beta(e, al) if b is None else b
            self.res = _collect(self.a + self.b, al, lp.shape[2]) if res is None else res

    def gradient(self, zero_infinity):
        """PyTorch's gradient (Graves et al.'s eq. 16): G = e^{lp} − e^{res + nll − lp} at the sample's steps."""
        lp = self.lp
        with xp.errstate(invalid="ignore", over="ignore"):
            g = xp.exp(lp) - xp.exp(self.res + self.nll[None, :, None] - lp)
        return xp.where(_kept(self.al, self.nll, zero_infinity, lp.shape[0]), g, 0).astype(lp.dtype)

    def hvp(self, u, zero_infinity):
        """Ġ, the derivative of ``gradient`` along u (T, N, C): with α̇, β̇ the tangents of log α, log β (the
        recursions differentiated: each term's weight is its share of the log-sum-exp),

        Ġ = e^{lp}·u − e^{res + nll − lp}·(rėṡ + nll̇ − u),
        rėṡ = Σ_{s: l′_s = c} e^{α + β − res}·(α̇ + β̇),   nll̇ = −Σ_{the two end positions} e^{α + nll}·α̇."""
        al, a, b, lp = self.al, self.a, self.b, self.lp
        steps, n, width = a.shape
        ue = al.emissions(u)
        positions = xp.arange(width)
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ad = xp.zeros_like(a)
            ad[0] = xp.where(al.valid & (positions < 2) & xp.isfinite(a[0]), ue[0], 0)
            predecessors, successors = _predecessors(al), _successors(al)
            for t in range(1, steps):
                terms = predecessors(a[t - 1])
                w = _weights(_lse3(*terms), *terms)
                pushed = ue[t] + w[0] * ad[t - 1] + w[1] * _right(ad[t - 1], 1, 0) + w[2] * _right(ad[t - 1], 2, 0)
                ad[t] = xp.where(xp.isfinite(a[t]), pushed, 0)
            bd = xp.zeros_like(b)
            after, after_d = xp.full((n, width), _NEG_INF, dtype=b.dtype), xp.zeros((n, width), dtype=b.dtype)
            il = al.input_lengths[:, None]
            for t in range(steps - 1, -1, -1):
                terms = successors(after)
                w = _weights(_lse3(*terms), *terms)
                pushed = ue[t] + w[0] * after_d + w[1] * _left(after_d, 1, 0) + w[2] * _left(after_d, 2, 0)
                pushed = xp.where(t == il - 1, ue[t], xp.where(t < il - 1, pushed, 0))
                bd[t] = after_d = xp.where(xp.isfinite(b[t]), pushed, 0)
                after = b[t]
            (l1, l2), (d1, d2) = _final(a, al), _final(ad, al)
            l2 = xp.where(al.target_lengths > 0, l2, _NEG_INF)
            w1, w2 = _weights(-self.nll, l1, l2)
            nll_dot = xp.where(al.input_lengths == 0, 0, -(w1 * d1 + w2 * d2))
            x, xd = a + b, ad + bd
            res_dot = xp.zeros_like(self.res)
            rows = xp.arange(n)
            for s in range(width):
                cls = al.ext[:, s]
                (ws,) = _weights(self.res[:, rows, cls], x[:, :, s])
                res_dot[:, rows, cls] += ws * xd[:, :, s]
            scale = xp.exp(self.res + self.nll[None, :, None] - lp)
            hd = xp.exp(lp) * u - xp.where(scale == 0, 0, scale * (res_dot + nll_dot[None, :, None] - u))
        return xp.where(_kept(al, self.nll, zero_infinity, steps), hd, 0).astype(lp.dtype)


# ---------------------------------------------------------------- the ops
class CTCNegLogLikelihood(UnaryOp):
    """ℓₙ = −log p(lₙ | x) per sample from (T, N, C) log-probabilities (0 where ``zero_infinity`` meets ∞);
    lp̄ = ℓ̄ₙ·(e^{lp} − e^{res + nll − lp}), PyTorch's gradient (the module's docstring), 0 at t ≥ Tₙ"""
    name = "ctc_loss"
    __slots__ = ("alignment", "zero_infinity")
    save_inputs = (0,)

    def __init__(self, alignment, zero_infinity=False):
        self.alignment, self.zero_infinity = alignment, bool(zero_infinity)

    def extra_repr(self):
        return f"blank={self.alignment.blank}, zero_infinity={self.zero_infinity}"

    def forward(self, lp):
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            a = _log_alpha(self.alignment.emissions(lp), self.alignment)
            nll = _nll(a, self.alignment)
        self.save(log_alpha=a, nll=nll)
        if self.zero_infinity:
            return xp.where(xp.isposinf(nll), nll.dtype.type(0), nll)
        return nll

    def _gradient(self, lp):
        """G (T, N, C) for ℓ̄ = 1: an array, or under create_graph the differentiable ``CTCGradient`` op."""
        if isinstance(lp, Tensor):
            return CTCGradient(self.alignment, self.zero_infinity)(lp)
        return _Pass(lp, self.alignment, self.saved["log_alpha"], self.saved["nll"]).gradient(self.zero_infinity)

    def vjp(self, ns, g, loss, lp):
        return (self._gradient(lp) * ns.reshape(g, (1, -1, 1)),)

    def jvp(self, ns, ts, loss, lp):
        """ℓ̇ₙ = Σ_{t,c} G·lṗ (the vjp's partials, leading direction axes kept)"""
        return ns.sum(ts[0] * self._gradient(lp), axis=(-3, -1))


class CTCGradient(UnaryOp):
    """G = ∂ℓ/∂lp as PyTorch gives it (``CTCNegLogLikelihood``'s vjp at ℓ̄ = 1), an op so that second
    derivatives exist; its Jacobian diag(e^{lp}) + ∇²ℓ is symmetric, so ū = Ġ(ḡ) and u̇ = Ġ(lṗ) are the same
    Hessian-vector product (``_Pass.hvp``). Third derivatives are not implemented."""
    name = "ctc_loss_backward"
    __slots__ = ("alignment", "zero_infinity")
    save_inputs = (0,)
    jvp_lead = False

    def __init__(self, alignment, zero_infinity=False):
        self.alignment, self.zero_infinity = alignment, zero_infinity

    def extra_repr(self):
        return f"blank={self.alignment.blank}, zero_infinity={self.zero_infinity}"

    def forward(self, lp):
        run = _Pass(lp, self.alignment)
        self.save(log_alpha=run.a, log_beta=run.b, res=run.res, nll=run.nll)
        return run.gradient(self.zero_infinity)

    def _hvp(self, lp, direction):
        if isinstance(lp, Tensor) or isinstance(direction, Tensor):
            raise CTCError("ctc_loss: third derivatives are not implemented (the second derivative is "
                           "CTCGradient's Hessian-vector product; PyTorch has no second derivative at all)")
        k = self.saved
        run = _Pass(lp, self.alignment, k["log_alpha"], k["nll"], k["log_beta"], k["res"])
        return run.hvp(direction, self.zero_infinity)

    def vjp(self, ns, g, grad, lp):
        return (self._hvp(lp, g),)

    def jvp(self, ns, ts, grad, lp):
        return self._hvp(lp, ts[0])


# ---------------------------------------------------------------- arguments
def _lengths(name, value, batch):
    """A lengths argument as an int64 vector: a tensor/array of integers (any shape, flattened, as PyTorch),
    or a tuple/list of ints."""
    if isinstance(value, (Tensor, xp.ndarray)):
        d = _arr(value)
        if d.dtype.kind not in "iu":
            raise CTCError(f"ctc_loss: {name} must be integral, got {d.dtype}{list(d.shape)} (PyTorch refuses it "
                           f"too); pass int64 lengths")
        out = d.reshape(-1).astype(xp.int64)
    else:
        out = xp.asarray([int(v) for v in value], dtype=xp.int64)
    if out.shape[0] != batch:
        raise CTCError(f"ctc_loss: {name} must be of size batch_size ({batch}), got {out.shape[0]} lengths")
    return out


def _check_length_kinds(input_lengths, target_lengths):
    """Both tensors or both sequences of ints (PyTorch's two signatures; a bare int matches neither)."""
    def kind(v):
        if isinstance(v, (Tensor, xp.ndarray)):
            return "tensor"
        if isinstance(v, (tuple, list)) and all(isinstance(x, int) or (hasattr(x, "dtype") and
                                                                       getattr(x.dtype, "kind", "") in "iu")
                                                for x in v if not isinstance(x, bool)):
            return "ints"
        return None
    kinds = kind(input_lengths), kind(target_lengths)
    if None in kinds or kinds[0] != kinds[1]:
        raise TypeError(f"ctc_loss(): input_lengths and target_lengths must both be integer tensors or both "
                        f"tuples/lists of ints, got {type(input_lengths).__name__} and "
                        f"{type(target_lengths).__name__} (PyTorch refuses this combination too)")


def _labels(targets, tl, batch, classes):
    """The (N, max|l|) labels of each sample (padded with 0), from padded (N, S) or concatenated targets."""
    d = _arr(targets)
    if d.dtype.kind == "c":
        raise CTCError(f"ctc_loss: targets must be class indices, got complex {d.dtype}{list(d.shape)}")
    d = d.astype(xp.int64)  # PyTorch converts any real targets to int64 (floats truncated)
    if d.ndim not in (1, 2):
        raise CTCError(f"ctc_loss: Expected 1 to 2 dimensions, but got {d.ndim}-dimensional targets of shape "
                       f"{tuple(d.shape)}: give padded (N, S) or concatenated (sum(target_lengths),) targets")
    for n, length in enumerate(tl.tolist()):
        if length < 0:
            raise CTCError(f"ctc_loss: Expected target_lengths to have value at least 0, but got value {length} "
                           f"(sample {n})")
    smax = int(tl.max()) if batch else 0
    labels = xp.zeros((batch, smax), dtype=xp.int64)
    if d.ndim == 1:
        total = int(tl.sum())
        if d.shape[0] != total:
            raise CTCError(f"ctc_loss: Expected tensor to have size {total} at dimension 0, but got size "
                           f"{d.shape[0]} for concatenated targets: their length must be sum(target_lengths)")
        offsets = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(tl)])
        for n in range(batch):
            labels[n, :tl[n]] = d[offsets[n]:offsets[n + 1]]
    else:
        if d.shape[0] != batch or d.shape[1] < smax:
            raise CTCError(f"ctc_loss: padded targets of shape {tuple(d.shape)} must be (N, S) with N = {batch} "
                           f"and S ≥ max(target_lengths) = {smax} (PyTorch: Expected tensor to have size ...)")
        labels[:] = d[:, :smax]
        labels[xp.arange(smax)[None, :] >= tl[:, None]] = 0
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        n, s = (int(i) for i in xp.argwhere(bad)[0])
        raise IndexRangeError(f"ctc_loss: target {int(labels[n, s])} (sample {n}, position {s}) is out of range "
                              f"for log_probs of {classes} classes: targets are class indices in [0, {classes}) "
                              f"(PyTorch does not check, and reads out of bounds)")
    return labels


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False):
    """PyTorch's ``F.ctc_loss``: −log p(l | x) summed over the alignments of each target (the module's
    docstring), from ``log_probs`` (T, N, C) (or unbatched (T, C)), normally a log_softmax output.

    ``targets``: padded (N, S) with S ≥ max(target_lengths), or the targets concatenated, of length
    sum(target_lengths); class indices other than ``blank``. ``input_lengths`` and ``target_lengths``: both
    integer tensors or both tuples of ints, one per sample (Tₙ ≤ T). An impossible target (too long for its
    input) has loss ∞, and a NaN gradient, unless ``zero_infinity`` makes both 0. ``reduction``: 'none'
    (per sample), 'sum', or 'mean': each loss divided by its target length (at least 1), then averaged.
    The gradient is PyTorch's (Graves et al.'s eq. 16), exact through a log_softmax (see the module)."""
    if not (isinstance(reduction, str) and reduction in ("none", "mean", "sum")):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _check_length_kinds(input_lengths, target_lengths)
    lp = _t(log_probs)
    d = _arr(lp)
    if d.dtype.kind != "f":
        raise CTCDtypeError(f"ctc_loss: log_probs must be floating-point, got {d.dtype}{list(d.shape)}; pass "
                            f"log_softmax outputs in float32 or float64")
    if d.ndim not in (2, 3):
        raise CTCError(f"ctc_loss: log_probs must be (T, N, C), or (T, C) unbatched, got shape {tuple(d.shape)}")
    batched = d.ndim == 3
    x = lp if batched else reshape(lp, (d.shape[0], 1, d.shape[1]))
    steps, batch, classes = x.shape
    if d.size == 0:
        raise CTCError(f"ctc_loss: log_probs tensor must not be empty, got shape {tuple(d.shape)}")
    if not 0 <= blank < classes:
        raise CTCError(f"ctc_loss: blank must be in label range [0, {classes}), got {blank}")
    il = _lengths("input_lengths", input_lengths, batch)
    tl = _lengths("target_lengths", target_lengths, batch)
    labels = _labels(targets, tl, batch, classes)
    for n, length in enumerate(il.tolist()):
        if not 0 <= length <= steps:
            raise CTCError(f"ctc_loss: Expected input_lengths to have value at {'least 0' if length < 0 else 'most'}"
                           f"{'' if length < 0 else ' ' + str(steps)}, but got value {length} (sample {n})")
    loss = CTCNegLogLikelihood(_Alignment(labels, il, tl, blank), zero_infinity)(x)
    if reduction == "mean":
        return _ops.mean(loss / xp.maximum(tl, 1).astype(d.dtype))
    if reduction == "sum":
        return _ops.sum(loss)
    return loss if batched else reshape(loss, ())


class CTCLoss(_Loss):
    """The connectionist temporal classification loss (``F.ctc_loss``): ``forward(log_probs, targets,
    input_lengths, target_lengths)``."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)
