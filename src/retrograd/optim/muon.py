"""Muon (Jordan et al. 2024) with PyTorch 2.13's update rule, hyper-parameters, defaults, errors
and ``state_dict`` layout (``torch.optim.Muon``).

Muon is momentum SGD for weight matrices whose step is the momentum *orthogonalised*: the matrix
B = U·S·Vᵀ is replaced by (approximately) U·Vᵀ, so every direction of the update gets the same
size whatever the gradient's singular values. U·Vᵀ is approached by a few Newton–Schulz
iterations X ← aX + (bA + cA²)X with A = XXᵀ, an odd polynomial in X that pushes every singular
value of X (first scaled to at most 1) towards 1, cheaper than an SVD.

PyTorch runs these iterations in bfloat16 (8 significant bits) whatever the parameter's dtype,
and so does this file: each bfloat16 result of PyTorch (the conversion, the norm, the division,
each matrix product and each ``addmm``) is computed in float32 and rounded to bfloat16 precision
(``to_bfloat16``), as PyTorch's CPU kernels do, with the products' terms added in the order those
kernels add them (``_bf16_matmul``: a bfloat16 rounding after a nearly cancelling sum depends on
it). So the parameters agree with PyTorch's (on an x86 CPU) to the last bits, in float64 (which
receives the bfloat16 update) and in float32. For large matrices (a side over 512, or past 2²⁵
multiply-adds per product) the products are the BLAS's, in another order: agreement to bfloat16's
rounding there, about 1% of the update.
"""

from __future__ import annotations

import math

from ..autograd.backend import xp
from .adafactor import check_learning_rate, refuse_complex
from .optimizer import Optimizer

# Keller Jordan's coefficients (a, b, c) and defaults, PyTorch's
DEFAULT_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
DEFAULT_NS_STEPS = 5
EPS = 1e-7
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def to_bfloat16(a):
    """``a`` rounded to bfloat16 precision (the upper 16 bits of a float32: 8 significant bits,
    round half to even), as a float32 array: PyTorch's ``.bfloat16()`` values. A float64 array is
    first rounded to float32, as PyTorch converts. NaN stays NaN; a value past bfloat16's largest
    rounds to infinity."""
    a = xp.asarray(a, dtype=xp.float32)
    bits = a.view(xp.uint32)
    rounded = (bits + xp.uint32(0x7FFF) + ((bits >> 16) & xp.uint32(1))) & xp.uint32(0xFFFF0000)
    return xp.where(xp.isnan(a), a, rounded.view(xp.float32))


# PyTorch's CPU kernels for a bfloat16 product: m·n·k up to 16³ takes ATen's own loops, above goes to oneDNN,
# which adds up to 512 terms in one running sum (longer sums it splits by heuristics of its own). Replaying the
# order costs k NumPy passes over an m×n array: past _EXACT_MAX_K terms or _EXACT_MAX_WORK multiply-adds this
# file takes the BLAS's float32 product instead
_ONEDNN_MIN_WORK = 16 * 16 * 16
_EXACT_MAX_K = 512
_EXACT_MAX_WORK = 1 << 25


def _bf16_matmul(a, b, kind: str):
    """The float32 sum of products ``a @ b`` (two float32 arrays of bfloat16 values), added in the
    order PyTorch's CPU kernel adds them, so that the bfloat16 rounding that follows agrees with
    PyTorch's also where the sum nearly cancels. A product of two bfloat16 numbers is exact in
    float32 (8 + 8 significant bits), so only the order of the additions matters:

    * oneDNN (m·n·k > 16³): one running sum, each pair of terms added odd one first (its
      ``vdpbf16ps`` instruction);
    * ATen's loops: one running sum in order for ``XXᵀ`` (``kind="gram"``), four interleaved
      running sums, added at the end, for ``addmm``'s products (``kind="addmm"``).

    Past ``_EXACT_MAX_K`` terms or ``_EXACT_MAX_WORK`` multiply-adds, the BLAS's float32 product
    (another order: where a sum nearly cancels, its bfloat16 rounding may then differ from
    PyTorch's by one unit, a difference the iteration amplifies to about 1% of the update)."""
    m, k = a.shape
    n = b.shape[1]
    if k > _EXACT_MAX_K or m * n * k > _EXACT_MAX_WORK:
        return a @ b
    def term(i):  # the outer product of column i of a and row i of b: exact
        return a[:, i:i + 1] * b[i:i + 1, :]

    total = xp.zeros((m, n), dtype=xp.float32)
    if m * n * k > _ONEDNN_MIN_WORK:
        for i in range(0, k, 2):
            if i + 1 < k:
                total += term(i + 1)
            total += term(i)
    elif kind == "gram":
        for i in range(k):
            total += term(i)
    else:
        sums = [xp.zeros((m, n), dtype=xp.float32) for _ in range(4)]
        for i in range(k):
            sums[i % 4 if i < k - k % 4 else 0] += term(i)
        total = ((sums[0] + sums[1]) + sums[2]) + sums[3]
    return total


def _bf16_addmm(c, a, b, beta, alpha=1.0):
    """PyTorch's bfloat16 ``addmm(c, a, b, beta=beta, alpha=alpha)`` on the CPU: β·c + (α·(a @ b))
    in float32 with one rounding for the sum (a fused multiply-add), then rounded to bfloat16.
    (The fused multiply-add is computed in float64, where β·c is exact.)"""
    scaled = xp.float32(alpha) * _bf16_matmul(a, b, "addmm")
    fused = xp.float64(xp.float32(beta)) * c.astype(xp.float64) + scaled.astype(xp.float64)
    return to_bfloat16(fused.astype(xp.float32))


def zeropower_via_newtonschulz(grad, ns_coefficients=DEFAULT_NS_COEFFICIENTS, ns_steps: int = DEFAULT_NS_STEPS,
                               eps: float = EPS):
    """Orthogonalise the 2-D array ``grad`` approximately, as PyTorch's Muon does (in bfloat16):

        X = G / max(‖G‖_F, ε)   (transposed first when G has more rows than columns)
        repeat ns_steps times:  A = XXᵀ;  B = bA + cA²;  X ← aX + BX

    Returns a float32 array of bfloat16 values, G's shape. With the default (a, b, c) the
    singular values end near 1 (roughly in [0.7, 1.2]), not exactly at 1: the coefficients buy
    speed of convergence near 0 at that price."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError(f"Input tensor gradient must be a 2D matrix (got shape {tuple(grad.shape)})")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    x = to_bfloat16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:  # iterate on the wide orientation: XXᵀ is then the smaller Gram matrix
        x = x.T
    with xp.errstate(over="ignore", invalid="ignore"):  # coefficients that diverge give inf/NaN, silently as torch
        norm = to_bfloat16(xp.sqrt(xp.sum(x * x)))  # the Frobenius norm bounds the spectral norm: σ ≤ 1 after
        x = to_bfloat16(x / to_bfloat16(xp.maximum(norm, xp.float32(eps))))
        for _ in range(ns_steps):
            gram = to_bfloat16(_bf16_matmul(x, x.T, "gram"))
            gram_update = _bf16_addmm(gram, gram, gram, beta=b, alpha=c)
            x = _bf16_addmm(x, gram_update, x, beta=a)
    return x.T if tall else x


def _fused_lerp(start, end, weight: float):
    """PyTorch's CPU ``lerp`` as its vectorised kernel computes it, with one rounding (a fused
    multiply-add): start + w·(end − start) for abs(w) < ½, else end + (w − 1)·(end − start), w in
    the arrays' dtype. The fused multiply-add is computed in float64: exact for float32 arrays.
    (Muon needs the last bit: its momentum is rounded to bfloat16 next, and a float32 value one
    bit off can round to a neighbouring bfloat16, which the iteration then amplifies.)"""
    w = start.dtype.type(weight)
    coeff, base = (w, start) if abs(w) < 0.5 else (w - 1, end)
    return (xp.float64(coeff) * (end - start).astype(xp.float64) + base).astype(start.dtype)


def adjust_lr(lr: float, adjust_lr_fn, shape) -> float:
    """The learning rate for a (A, B) matrix: ``lr·√max(1, A/B)`` ("original", Keller Jordan's,
    also for None) or ``0.2·lr·√max(A, B)`` ("match_rms_adamw", Moonshot's: the update then has
    AdamW's RMS, so AdamW's lr and weight decay carry over)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon: momentum, orthogonalised by Newton–Schulz, for 2-D parameters.

    With g the gradient, μ = ``momentum``, λ = ``weight_decay``:

        B ← μB + (1 − μ)g   (PyTorch's ``lerp``);   B̃ = (1 − μ)g + μB if ``nesterov`` else B
        O = NS_k^(a,b,c)(B̃; ε)                      (``zeropower_via_newtonschulz``, in bfloat16)
        θ ← θ(1 − lr·λ);  θ ← θ − adjust_lr(lr, θ's shape)·O

    Only 2-D parameters: any other is refused at construction (``ValueError``, as PyTorch);
    give biases, norms and embeddings to another optimizer such as AdamW. A parameter group
    added later is not checked (as PyTorch): its step refuses a gradient that is not 2-D.
    ``ns_steps`` ≥ 100 and ``ns_coefficients`` not three numbers are refused at the first step,
    as PyTorch. State per parameter: ``momentum_buffer`` (no step count)."""

    defaults = dict(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=DEFAULT_NS_COEFFICIENTS,
                    eps=EPS, ns_steps=DEFAULT_NS_STEPS, adjust_lr_fn=None)
    rules: dict = {}  # PyTorch's own checks and wording, in ``_check``
    counters = ()

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients=DEFAULT_NS_COEFFICIENTS, eps: float = EPS,
                 ns_steps: int = DEFAULT_NS_STEPS, adjust_lr_fn: str | None = None):
        super().__init__(params, lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                         ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{tuple(p.shape)} (optimize it with another optimizer, such as AdamW)")

    def _check(self, group):
        """PyTorch's checks, in its order: lr ≥ 0, momentum ≥ 0, weight_decay ≥ 0, adjust_lr_fn one
        of None, "original", "match_rms_adamw". (No upper bound on momentum, and Nesterov without
        momentum is allowed, as in PyTorch.)"""
        name = type(self).__name__
        check_learning_rate(name, group["lr"])
        for key, what in (("momentum", "momentum"), ("weight_decay", "weight decay")):
            v = group[key]
            if isinstance(v, (bool, str, bytes)) or not hasattr(v, "__float__"):
                raise TypeError(f"{name}: {what} must be a number, got {v!r}")
            if not 0.0 <= float(v):
                raise ValueError(f"{name}: {what} should be >= 0 but is: {v}")
        fn = group["adjust_lr_fn"]
        if fn not in ADJUST_LR_FNS:
            raise ValueError(f"{name}: Adjust learning rate function {fn} is not supported (use None, 'original' "
                             f"or 'match_rms_adamw')")

    def _step_group(self, group, states):
        refuse_complex(type(self).__name__, group)
        super()._step_group(group, states)

    def update(self, p, g, state, group):
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(g)
        if g.ndim != 2:
            raise ValueError(f"Muon: Param gradient must be a 2D matrix (got shape {tuple(g.shape)}); Muon "
                             f"optimizes weight matrices only")
        lr, mu = float(group["lr"]), group["momentum"]
        buf = state["momentum_buffer"]
        buf[...] = _fused_lerp(buf, g, 1 - mu)
        update = _fused_lerp(g, buf, mu) if group["nesterov"] else buf
        update = zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        p.data *= 1 - lr * group["weight_decay"]
        # θ − lr'·O with one rounding, as PyTorch's add_(O, alpha=−lr'): exact for float32 through float64
        step = xp.float64(p.dtype.type(-adjust_lr(lr, group["adjust_lr_fn"], p.shape)))
        p.data[...] = (step * update.astype(xp.float64) + p.data).astype(p.dtype)


__all__ = ["Muon"]
