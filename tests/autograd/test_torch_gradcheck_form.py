"""``rg.autograd.gradcheck`` / ``gradgradcheck`` in ``torch.autograd``'s form, the same calls run
through torch 2.13: True on a pass, ``GradcheckError`` (a RuntimeError) on a failure, False with
``raise_exception=False``, PyTorch's keywords (``check_forward_ad``, ``nondet_tol``, …), several
outputs, non-tensor inputs; ``rg.gradcheck`` keeps its report."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from retrograd.ops import elementwise as E

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("float64_default")
R = np.random.default_rng(0)


def _both(make_fn, arrays, requires=None, **kwargs):
    """The check's result (True/False) or its exception type, for torch and for retrograd."""
    results = []
    for lib, check in ((torch, torch.autograd.gradcheck), (rg, rg.autograd.gradcheck)):
        tensors = tuple(lib.tensor(a.copy(), requires_grad=True if requires is None else requires[i])
                        if isinstance(a, np.ndarray) else a for i, a in enumerate(arrays))
        try:
            results.append(check(make_fn(lib), tensors, **kwargs))
        except Exception as error:  # noqa: BLE001 - compared by type
            results.append(type(error))
    return results


PASSING = {
    "sin": (lambda L: L.sin, [R.standard_normal(4)]),
    "matmul of two inputs": (lambda L: L.matmul, [R.standard_normal((2, 3)), R.standard_normal((3, 2))]),
    "two outputs": (lambda L: lambda x: (L.sin(x), L.cos(x) * x), [R.standard_normal(3)]),
    "a non-tensor input": (lambda L: lambda x, k: x * k, [R.standard_normal(3), 2.5]),
    "an integer output beside": (lambda L: lambda x: (x.exp(), L.argmax(x)), [R.standard_normal(3)]),
    "tanh of a product": (lambda L: lambda x, y: L.tanh(x * y).sum(0), [R.standard_normal((2, 3)), R.standard_normal((2, 3))]),
}


@pytest.mark.parametrize("case", list(PASSING), ids=list(PASSING))
@pytest.mark.parametrize("forward", [False, True])
def test_a_correct_function_passes_in_both(case, forward):
    make_fn, arrays = PASSING[case]
    assert _both(make_fn, arrays, check_forward_ad=forward) == [True, True]
    assert _both(make_fn, arrays, check_forward_ad=forward, check_grad_dtypes=True, nondet_tol=1e-12) == [True, True]


def _wrong_backward(L):
    """sin with the derivative cos doubled in its backward."""
    base = torch.autograd.Function if L is torch else rg.autograd.Function

    class WrongSin(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return L.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * L.cos(x)

    return WrongSin.apply


def test_a_wrong_backward_raises_a_runtime_error_in_both_or_returns_false():
    arrays = [R.standard_normal(3)]
    theirs, ours = _both(_wrong_backward, arrays)
    assert issubclass(theirs, RuntimeError) and issubclass(ours, RuntimeError)
    assert issubclass(ours, rg.GradcheckError)
    assert _both(_wrong_backward, arrays, raise_exception=False) == [False, False]
    with pytest.raises(rg.GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        rg.autograd.gradcheck(_wrong_backward(rg), rg.tensor(arrays[0], requires_grad=True))
    # only the forward mode checked: a Function without a jvp is refused by both (its jvp is used, as torch's)
    assert _both(_wrong_backward, arrays, check_forward_ad=True, check_backward_ad=False) == [NotImplementedError] * 2


def test_a_wrong_forward_derivative_is_caught_by_check_forward_ad(monkeypatch):
    """sin's tangent rule patched to 2·cos: the backward check passes, the forward one fails
    (torch's own forward derivatives cannot be patched: retrograd alone)."""
    x = rg.tensor(R.standard_normal(3), requires_grad=True)
    monkeypatch.setattr(E.Sin, "jvp", lambda self, ns, ts, y, x: 2 * ts[0] * ns.cos(x))
    assert rg.autograd.gradcheck(rg.sin, x) is True
    with pytest.raises(rg.GradcheckError, match="forward mode mismatch for output 0 with respect to input 0"):
        rg.autograd.gradcheck(rg.sin, x, check_forward_ad=True)
    assert rg.autograd.gradcheck(rg.sin, x, check_forward_ad=True, raise_exception=False) is False


def _noisy_backward(L):
    """x² whose backward adds noise of 1e-9 (times the cotangent): right within the tolerances, not reentrant."""
    base = torch.autograd.Function if L is torch else rg.autograd.Function
    noise = np.random.default_rng(1)

    class Noisy(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (2 * x + L.tensor(noise.standard_normal(tuple(x.shape)) * 1e-9))

    return Noisy.apply


def test_a_backward_not_multiplied_by_its_cotangent_fails_in_both():
    def make(L):
        base = torch.autograd.Function if L is torch else rg.autograd.Function

        class Offset(base):
            @staticmethod
            def forward(ctx, x):
                return x * 1.0

            @staticmethod
            def backward(ctx, g):
                return g + 0.0 * g.sum() + 1e-3  # right derivative (1) plus a constant

        return Offset.apply

    theirs, ours = _both(make, [R.standard_normal(3)], atol=1e-2)
    assert issubclass(theirs, RuntimeError) and issubclass(ours, rg.GradcheckError)
    with pytest.raises(rg.GradcheckError, match="backward not multiplied by grad_output"):
        rg.autograd.gradcheck(make(rg), rg.tensor(R.standard_normal(3), requires_grad=True), atol=1e-2)


def test_a_nondeterministic_backward_needs_nondet_tol_in_both():
    arrays = [R.standard_normal(3)]
    theirs, ours = _both(_noisy_backward, arrays)
    assert issubclass(theirs, RuntimeError) and issubclass(ours, rg.GradcheckError)
    with pytest.raises(rg.GradcheckError, match="not reentrant"):
        rg.autograd.gradcheck(_noisy_backward(rg), rg.tensor(arrays[0], requires_grad=True))
    assert _both(_noisy_backward, arrays, nondet_tol=1e-6) == [True, True]


def test_no_input_that_requires_grad_is_a_value_error_in_both():
    assert _both(lambda L: L.sin, [R.standard_normal(3)], requires=[False]) == [ValueError, ValueError]


def test_at_a_kink_retrograd_passes_a_one_sided_derivative_where_torch_fails():
    """relu at 0: the central difference is ½, the derivative 0 (README, differences)."""
    arrays = [np.array([0.0, 1.0, -1.0])]
    theirs, ours = _both(lambda L: L.relu, arrays, raise_exception=False)
    assert theirs is False and ours is True


def test_the_report_form_is_kept_at_the_top_level():
    report = rg.gradcheck(rg.relu, [np.array([0.0, 1.0, -1.0])])
    assert isinstance(report, rg.GradcheckReport) and report.ok and len(report.kinks) == 1


GRADGRAD = {
    "tanh times x": (lambda L: lambda x: L.tanh(x) * x, [R.standard_normal(3)]),
    "matmul then sin": (lambda L: lambda a, b: L.sin(L.matmul(a, b)), [R.standard_normal((2, 2)), R.standard_normal((2, 3))]),
    "two outputs": (lambda L: lambda x: (x.exp(), (x * x).sum()), [R.standard_normal(3)]),
}


@pytest.mark.parametrize("case", list(GRADGRAD), ids=list(GRADGRAD))
def test_gradgradcheck_passes_in_both(case):
    make_fn, arrays = GRADGRAD[case]
    results = []
    for lib, check in ((torch, torch.autograd.gradgradcheck), (rg, rg.autograd.gradgradcheck)):
        results.append(check(make_fn(lib), tuple(lib.tensor(a.copy(), requires_grad=True) for a in arrays)))
    assert results == [True, True]


def test_gradgradcheck_with_given_grad_outputs_and_a_first_order_only_backward():
    """A backward written with values only (no graph through it): its second derivative is wrong in both."""
    x = R.standard_normal(3)
    v = R.standard_normal(3)
    results = []
    for lib in (torch, rg):
        base = torch.autograd.Function if lib is torch else rg.autograd.Function

        class Detached(base):
            @staticmethod
            def forward(ctx, t):
                ctx.save_for_backward(t)
                return t * t * t

            @staticmethod
            def backward(ctx, g):
                (t,) = ctx.saved_tensors
                return g * (3 * t * t).detach()

        check = torch.autograd.gradgradcheck if lib is torch else rg.autograd.gradgradcheck
        given = (lib.tensor(v.copy(), requires_grad=True),)
        results.append(check(Detached.apply, (lib.tensor(x.copy(), requires_grad=True),), given,
                             raise_exception=False))
        results.append(check(lambda t: t * t * t, (lib.tensor(x.copy(), requires_grad=True),), given))
    assert results == [False, True, False, True]


def test_forward_over_reverse_is_refused_with_the_way_to_do_it():
    with pytest.raises(NotImplementedError, match="rg.func.jvp"):
        rg.autograd.gradgradcheck(rg.sin, (rg.tensor(R.standard_normal(2), requires_grad=True),), check_fwd_over_rev=True)

