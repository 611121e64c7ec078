"""``torch.autograd.gradcheck`` and ``gradgradcheck`` in PyTorch's form.

``rg.gradcheck`` returns a report (a table of every input element, kinks marked). Code written for
PyTorch calls ``torch.autograd.gradcheck(func, inputs, eps=…, check_forward_ad=True, …)`` and expects
``True`` on a pass and a ``GradcheckError`` (a ``RuntimeError``) on a failure: ``rg.autograd.gradcheck``
is that function, with PyTorch's keywords. Its comparisons are ``gradcheck.py``'s, kink-aware (at a
kink, a derivative between the one-sided slopes passes where PyTorch's central difference fails):

- backward (``check_backward_ad``): for each differentiable output, the vjp of one random cotangent
  against central differences of every checked input element (``rg.gradcheck``'s check);
- forward (``check_forward_ad``): for each checked input element eᵢ, the tangent ``J·eᵢ`` of every
  output from ``forward_ad`` against the central difference (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε;
- ``nondet_tol``: the backward run twice gives the same gradients within it ("not reentrant");
- a backward from zero cotangents gives zero gradients ("backward not multiplied by grad_output";
  PyTorch's ``check_undefined_grad`` feeds its backward undefined gradients, which retrograd's
  engine passes as these zeros);
- ``check_grad_dtypes``: each gradient has its input's dtype.

``gradgradcheck`` checks the gradient map (inputs, cotangents) ↦ ∂⟨cotangents, func⟩/∂inputs with
``gradcheck``, as PyTorch's does.
"""

from __future__ import annotations

import numpy as np

from . import engine, forward_ad
from .gradcheck import GradcheckError, _host, _prepare, perturbed
from .gradcheck import gradcheck as report_gradcheck
from .mode import no_grad
from .tensor import Tensor, _wrap


def _as_tuple(inputs) -> tuple:
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _outputs(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _differentiable(result) -> list:
    """The positions of the floating-point Tensor outputs (the ones a derivative is checked for)."""
    return [o for o, out in enumerate(_outputs(result)) if isinstance(out, Tensor) and out.data.dtype.kind == "f"]


def _fail(message: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked=None, _second_order: bool = False) -> bool:
    """Check ``func``'s derivatives against central differences (float64), as
    ``torch.autograd.gradcheck``: the inputs that require grad are checked, every floating output
    of ``func`` (one Tensor or a tuple) is compared, and the result is ``True``, or a
    ``GradcheckError`` (``False`` with ``raise_exception=False``) naming the output and input that
    disagree, with ``rg.gradcheck``'s table.

    ``check_batched_grad``, ``check_batched_forward_grad``, ``fast_mode`` and ``masked`` are accepted
    and change nothing: retrograd's ``vmap`` calls ``func`` per example (no batching rule to check),
    every check here is already one random projection of the outputs, and there are no sparse
    tensors. At a kink the check passes a derivative between the one-sided slopes (README,
    differences)."""
    inputs = _as_tuple(inputs)
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    if not (check_backward_ad or check_forward_ad):
        raise ValueError("gradcheck: check_backward_ad and check_forward_ad are both False: there is nothing to "
                         "check; leave check_backward_ad=True (the default) or set check_forward_ad=True")
    positions = _differentiable(func(*inputs))
    order = 2 if _second_order else 1  # a gradient map runs a backward inside: evaluated with grad mode on
    for o in positions:
        if check_backward_ad:
            report = report_gradcheck(lambda *xs, o=o: _outputs(func(*xs))[o], inputs, eps, atol, rtol, _order=order)
            if not report.ok:
                i = report.failures[0].input
                return _fail(f"Jacobian mismatch for output {o} with respect to input {i},\n{report}", raise_exception)
        if check_forward_ad:
            message = _forward_mismatch(func, inputs, o, eps, atol, rtol)
            if message:
                return _fail(message, raise_exception)
    if check_backward_ad:
        message = (_reentrant(func, inputs, positions, nondet_tol)
                   or _multiplied_by_cotangent(func, inputs, positions)
                   or (_grad_dtypes(func, inputs, positions) if check_grad_dtypes else None))
        if message:
            return _fail(message, raise_exception)
    return True


def _forward_mismatch(func, inputs, o, eps, atol, rtol) -> str | None:
    """Output ``o``'s tangent J·eᵢ for each checked input element against central differences
    (between the one-sided slopes where they disagree: a kink); the first mismatch described."""
    xs, checked = _prepare(inputs)

    def evaluate(args):
        with no_grad():
            return _host(_outputs(func(*args))[o].data)

    base = evaluate(xs)
    for i, _, j, up, down in perturbed(xs, checked, lambda: evaluate(xs), eps):
        direction = np.zeros(xs[i].shape)
        direction.reshape(-1)[j] = 1.0
        with forward_ad.dual_level():
            args = [forward_ad.make_dual(a, Tensor(direction)) if m == i else a for m, a in enumerate(xs)]
            tangent = forward_ad.unpack_dual(_outputs(func(*args))[o]).tangent
        column = np.zeros(base.shape) if tangent is None else _host(tangent.data)
        left, right = (base - down) / eps, (up - base) / eps
        tol = atol + rtol * np.maximum(np.abs(left), np.abs(right))
        central = (up - down) / (2 * eps)
        if np.any(np.abs(right - left) > tol):  # a kink: between the one-sided slopes
            ok = np.all((np.minimum(left, right) - tol <= column) & (column <= np.maximum(left, right) + tol))
        else:
            ok = np.all(np.abs(column - central) <= atol + rtol * np.abs(central))
        if not ok:
            index = tuple(int(q) for q in np.unravel_index(j, xs[i].shape))
            return (f"Jacobian computed with forward mode mismatch for output {o} with respect to input {i} "
                    f"(element {index}),\nnumerical:{central}\nanalytical:{column}\n")
    return None


def _backward(func, xs, positions, cotangents):
    """The gradients of Σ ⟨cotangent, output⟩ for the inputs that require grad (None: not reached)."""
    outs = _outputs(func(*xs))
    wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
    live = [(outs[o], c) for o, c in zip(positions, cotangents) if outs[o].requires_grad]
    if not live:
        return wrt, [None] * len(wrt)
    grads = engine.grad([out for out, _ in live], wrt, grad_outputs=[c for _, c in live], allow_unused=True)
    return wrt, grads


def _random_cotangents(func, xs, positions, seed=0) -> list:
    rng = np.random.default_rng(seed)
    outs = _outputs(func(*xs))
    return [_wrap(np.asarray(rng.standard_normal(outs[o].shape), dtype=outs[o].data.dtype)) for o in positions]


def _reentrant(func, inputs, positions, nondet_tol) -> str | None:
    """The same backward twice: the same gradients within ``nondet_tol``."""
    xs, _ = _prepare(inputs)
    cotangents = _random_cotangents(func, xs, positions)
    _, first = _backward(func, xs, positions, cotangents)
    _, second = _backward(func, xs, positions, cotangents)
    for i, (a, b) in enumerate(zip(first, second)):
        if (a is None) != (b is None) or a is not None and np.max(np.abs(_host(a.data) - _host(b.data)), initial=0) > nondet_tol:
            return ("Backward is not reentrant, i.e., running backward with same input and grad_output multiple "
                    "times gives different values, although analytical gradient matches numerical gradient. "
                    f"The tolerance for nondeterminism was {nondet_tol}. (input {i})")
    return None


def _multiplied_by_cotangent(func, inputs, positions) -> str | None:
    """A backward from zero cotangents gives zero gradients."""
    xs, _ = _prepare(inputs)
    outs = _outputs(func(*xs))
    zeros = [_wrap(np.zeros(outs[o].shape, dtype=outs[o].data.dtype)) for o in positions]
    _, grads = _backward(func, xs, positions, zeros)
    for i, g in enumerate(grads):
        if g is not None and np.any(_host(g.data) != 0):
            return f"backward not multiplied by grad_output: zero output gradients gave a nonzero gradient for input {i}"
    return None


def _grad_dtypes(func, inputs, positions) -> str | None:
    """Each gradient in its input's dtype (on the inputs as given, not float64 copies)."""
    cotangents = _random_cotangents(func, inputs, positions)
    wrt, grads = _backward(func, inputs, positions, cotangents)
    for i, (x, g) in enumerate(zip(wrt, grads)):
        if g is not None and g.data.dtype != x.data.dtype:
            return f"Gradient has dtype mismatch: input {i} is {x.data.dtype}, its gradient {g.data.dtype}"
    return None


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives, as ``torch.autograd.gradgradcheck``: ``gradcheck`` of the gradient
    map (inputs, cotangents) ↦ ∂⟨cotangents, func(inputs)⟩/∂inputs (computed with
    ``create_graph=True``), the cotangents ``grad_outputs`` or random ones, checked too.
    ``check_fwd_over_rev`` (forward mode through a backward) is refused: forward-mode tangents do
    not run through a backward pass here; ``rg.func.jvp(rg.func.grad(f), …)`` computes it."""
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck(check_fwd_over_rev=True): retrograd's forward-mode tangents do not "
                                  "run through a backward pass; check H·v with rg.func.jvp(rg.func.grad(f), ...) "
                                  "against rg.func.hessian, or leave check_fwd_over_rev=False")
    if not check_rev_over_rev:
        raise ValueError("gradgradcheck: check_rev_over_rev=False leaves nothing to check (check_fwd_over_rev is "
                         "not supported); leave it True")
    inputs = _as_tuple(inputs)
    outs = _outputs(func(*inputs))
    positions = _differentiable(outs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor(np.asarray(rng.standard_normal(outs[o].shape), dtype=np.float64), requires_grad=True)
                        for o in positions]
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)

    def gradient_map(*args):
        xs, cotangents = args[:n], args[n:]
        ys = _outputs(func(*xs))
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        live = [(ys[o], c) for o, c in zip(positions, cotangents) if ys[o].requires_grad]
        grads = engine.grad([y for y, _ in live], wrt, grad_outputs=list(c for _, c in live), create_graph=True,
                            allow_unused=True) if live else []
        return tuple(g for g in grads if g is not None)

    return gradcheck(gradient_map, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, masked=masked, _second_order=True)
