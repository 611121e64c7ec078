"""Gradient checking against central differences, kink-aware.

``gradcheck(fn, inputs)`` projects the output onto a fixed random direction v
(φ(x) = ⟨v, fn(x)⟩, so every Jacobian entry matters) and compares, for every
input element, the analytic ∂φ/∂xᵢ from the backward pass with

    central  C = (φ(x + εeᵢ) − φ(x − εeᵢ)) / 2ε,
    one-sided L = (φ(x) − φ(x − εeᵢ)) / ε  and  R = (φ(x + εeᵢ) − φ(x)) / ε.

Where, for some output element, L and R disagree by more than the tolerance,
the function has a kink within ε of x (relu at 0, a tied max) and has no
derivative there (the idea of Chainer's ``detect_nondifferentiable``). Such an
element is *not* failed blindly: it passes if every analytic Jacobian entry
∂fₖ/∂xᵢ lies between that output's one-sided slopes (a valid one-sided /
subgradient value along the coordinate), and is reported as a kink. The check
is entrywise so that several kinks meeting at one input (overlapping max-pool
windows with ties) are each judged on their own. Everything runs in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import backend, engine
from .mode import no_grad
from .tensor import Tensor, _wrap


@dataclass
class ElementCheck:
    """One input element: where it is, and the analytic and numeric values."""
    input: int
    index: tuple
    analytic: float
    numeric: float
    left: float
    right: float
    kink: bool
    ok: bool

    @property
    def error(self) -> float:
        """|analytic − numeric|, or at a kink the distance outside [left, right]."""
        if self.kink:  # distance outside the [L, R] interval
            lo, hi = sorted((self.left, self.right))
            return max(lo - self.analytic, self.analytic - hi, 0.0)
        return abs(self.analytic - self.numeric)


@dataclass
class GradcheckReport:
    """Result of ``gradcheck``: truthy when every element passed.

    ``failures`` and ``kinks`` list the elements concerned; ``worst(k)`` the k
    largest errors; ``str(report)`` prints them as a table.
    """
    ok: bool
    elements: list = field(repr=False)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    order: int = 1

    def __bool__(self):
        return self.ok

    @property
    def failures(self):
        """Elements that failed."""
        return [e for e in self.elements if not e.ok]

    @property
    def kinks(self):
        """Elements where the function is not differentiable (one-sided slopes differ)."""
        return [e for e in self.elements if e.kink]

    def worst(self, k: int = 5):
        """The k elements with the largest error."""
        return sorted(self.elements, key=lambda e: -e.error)[:k]

    def __str__(self):
        what = "gradgradcheck" if self.order == 2 else "gradcheck"
        head = (f"{what}: {'PASS' if self.ok else 'FAIL'} — {len(self.elements)} elements checked, "
                f"{len(self.failures)} failed, {len(self.kinks)} at kinks "
                f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})")
        rows = self.failures[:10] + [e for e in self.kinks if e.ok][:5]
        if not rows:
            rows = self.worst(5)
        lines = [head, f"{'input':>5}  {'index':<14}{'analytic':>14}{'numeric':>14}{'left':>12}"
                       f"{'right':>12}  status"]
        for e in rows:
            status = ("ok" if e.ok else "FAIL") + (" (kink: analytic within [left, right])" if e.kink and e.ok
                                                   else " (kink: analytic outside [left, right])" if e.kink
                                                   else "")
            lines.append(f"{e.input:>5}  {str(e.index):<14}{e.analytic:>14.6g}{e.numeric:>14.6g}"
                         f"{e.left:>12.5g}{e.right:>12.5g}  {status}")
        return "\n".join(lines)


def _host(array) -> np.ndarray:
    """A float64 NumPy copy of a backend array: finite differences are compared on the host."""
    return np.array(backend.to_numpy(array), dtype=np.float64)


class GradcheckError(AssertionError, RuntimeError):
    """Raised by ``gradcheck(..., raise_exception=True)``; its message is the report. A
    ``RuntimeError`` as PyTorch's ``GradcheckError``, and an ``AssertionError``."""


def _prepare(inputs):
    """float64 copies of the inputs; which ones are checked."""
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = (inputs,)
    tensors, checked = [], []
    explicit = any(isinstance(x, Tensor) and x.requires_grad for x in inputs)
    for x in inputs:
        data = backend.to_numpy(x.data) if isinstance(x, Tensor) else np.asarray(backend.to_numpy(x))
        is_float = data.dtype.kind == "f"
        want = is_float and ((isinstance(x, Tensor) and x.requires_grad) or not explicit)
        arr = np.array(data, dtype=np.float64) if is_float else np.array(data)
        tensors.append(Tensor(arr, requires_grad=want))
        checked.append(want)
    return tensors, checked


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = False, _order: int = 1) -> GradcheckReport:
    """Compare ``fn``'s analytic gradients with finite differences in float64.

    ``inputs``: Tensors or arrays (a single one is fine). If any Tensor has
    ``requires_grad=True`` only those are checked, otherwise every floating
    input is. ``fn(*tensors)`` returns a Tensor of any shape. Returns a
    ``GradcheckReport``; with ``raise_exception=True`` a failure raises
    ``GradcheckError`` carrying the report's table.
    """
    xs, checked = _prepare(inputs)
    rng = np.random.default_rng(seed)
    out = fn(*xs)
    v = rng.standard_normal(out.shape) if out.shape else np.ones(())

    def evaluate():
        if _order == 2:  # the function itself runs a backward pass: keep recording
            return _host(fn(*xs).data)
        with no_grad():
            return _host(fn(*xs).data)

    wrt = [x for x, c in zip(xs, checked) if c]
    if not wrt:
        raise ValueError("gradcheck: no floating input to check")
    if not out.requires_grad:
        analytic = [np.zeros(x.shape) for x in wrt]
    else:
        grads = engine.grad(out, wrt, grad_outputs=_wrap(backend.xp.asarray(v, dtype=out.dtype)), retain_graph=True,
                              allow_unused=True)
        analytic = [np.zeros(x.shape) if g is None else _host(g.data)
                    for g, x in zip(grads, wrt)]
    jacobian = _LazyJacobian(out, wrt)
    elements = []
    base = evaluate()
    for i, k, j, up, down in perturbed(xs, checked, evaluate, eps):
        # per output element: one-sided slopes along this input coordinate
        left_k, right_k = (base - down) / eps, (up - base) / eps
        tol_k = atol + rtol * np.maximum(np.abs(left_k), np.abs(right_k))
        kink = bool(np.any(np.abs(right_k - left_k) > tol_k))
        left, right = float(np.sum(v * left_k)), float(np.sum(v * right_k))
        central = (left + right) / 2
        a = float(analytic[k].reshape(-1)[j])
        if kink:
            # Not differentiable here: each Jacobian entry must lie between its
            # one-sided values (entrywise, so kinks that meet at one input,
            # like overlapping max-pool windows, are judged each on its own).
            column = jacobian.column(k, j)
            lo, hi = np.minimum(left_k, right_k) - tol_k, np.maximum(left_k, right_k) + tol_k
            ok = bool(np.all((lo <= column) & (column <= hi)))
        else:
            ok = abs(a - central) <= atol + rtol * abs(central)
        elements.append(ElementCheck(i, tuple(int(q) for q in np.unravel_index(j, xs[i].shape)),
                                     a, central, left, right, kink, ok))
    report = GradcheckReport(all(e.ok for e in elements), elements, eps, atol, rtol, _order)
    if raise_exception and not report.ok:
        raise GradcheckError(str(report))
    return report


class _LazyJacobian:
    """The analytic Jacobian of ``out`` with respect to ``wrt``, one backward
    pass per output element, computed only if a kink needs it."""

    def __init__(self, out, wrt):
        self.out, self.wrt, self.rows = out, wrt, None

    def column(self, k, j) -> np.ndarray:
        if self.rows is None:
            if not self.out.requires_grad:
                self.rows = [np.zeros((self.out.size, x.size)) for x in self.wrt]
            else:
                rows = [np.zeros((self.out.size, x.size)) for x in self.wrt]
                for r in range(self.out.size):
                    e = np.zeros(self.out.size, dtype=self.out.dtype)
                    e[r] = 1
                    gs = engine.grad(self.out, self.wrt, grad_outputs=_wrap(backend.xp.asarray(e.reshape(self.out.shape))),
                                       retain_graph=True, allow_unused=True)
                    for m, g in enumerate(gs):
                        if g is not None:
                            rows[m][r] = _host(g.data).reshape(-1)
                self.rows = rows
        return self.rows[k][:, j].reshape(self.out.shape)


def perturbed(xs, checked, evaluate, eps):
    """For every element j of every checked input xs[i] (k counting the checked inputs):
    (i, k, j, up, down), ``evaluate()`` with that element moved by +eps and by −eps, put back after."""
    k = -1
    for i, x in enumerate(xs):
        if not checked[i]:
            continue
        k += 1
        flat = x.data.reshape(-1)
        for j in range(flat.size):
            # a Python float, not flat[j]: on CuPy that is a 0-d *view*, which the writes
            # below would move along (and the "restored" value and both differences with it)
            orig = flat[j].item()
            flat[j] = orig + eps
            up = evaluate()
            flat[j] = orig - eps
            down = evaluate()
            flat[j] = orig
            yield i, k, j, up, down


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0, raise_exception: bool = False) -> GradcheckReport:
    """Check second derivatives: gradcheck the function
    x ↦ ⟨u, ∇ₓ⟨v, fn(x)⟩⟩ whose gradient is the Hessian-vector product H·u,
    computed with ``grad(..., create_graph=True)``."""
    xs, checked = _prepare(inputs)
    rng = np.random.default_rng(seed + 1)
    out = fn(*xs)
    v = Tensor(rng.standard_normal(out.shape) if out.shape else np.ones(()))
    us = [Tensor(rng.standard_normal(x.shape)) for x, c in zip(xs, checked) if c]

    def first_order_projection(*args):
        wrt = [a for a, c in zip(args, checked) if c]
        y = fn(*args)
        gs = engine.grad(y, wrt, grad_outputs=v, create_graph=True, allow_unused=True)
        total = None
        for g, u in zip(gs, us):
            if g is None:
                continue
            term = (g * u).sum()
            total = term if total is None else total + term
        return total if total is not None else Tensor(np.zeros(()))

    return gradcheck(first_order_projection, xs, eps, atol, rtol, seed, raise_exception, _order=2)

