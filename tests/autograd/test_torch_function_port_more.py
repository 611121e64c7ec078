"""More of PyTorch's own tests of custom ``autograd.Function``s (``test/test_autograd.py``, class
``TestAutograd``) — the ones ``test_torch_function_port.py`` did not reach: ``needs_input_grad``,
``mark_dirty`` on the tape (the graph rebased onto the Function), a Function's ``jvp`` in a dual
level (``save_for_forward``, dirty inputs, non-Tensor arguments), ``backward(inputs=...)``, grad
mode in a reentrant backward and the refusals of an incomplete Function.

Each case runs the same code through torch (2.13, the live oracle) and retrograd, and compares
values, gradients, dtypes, ``requires_grad``, identity where torch asserts it, and exception types.
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from torch_compare import same_result as same

try:
    import torch
except ImportError:  # every test here is marked and skipped one by one (conftest)
    torch = None

pytestmark = [pytest.mark.usefixtures("float64_default", "torch_float64_default"), requires_torch]
RNG = np.random.default_rng(11)
A22, B22, A55, B55 = (RNG.standard_normal(s) for s in ((2, 2), (2, 2), (5, 5), (5, 5)))


def fwad(lib):
    """The forward-AD module of ``lib``."""
    return torch.autograd.forward_ad if lib is torch else rg.autograd.forward_ad


def T(lib, a, requires_grad=False):
    """A float64 tensor of ``a`` in ``lib``."""
    return lib.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def run_both(case):
    """Run ``case(lib)`` for torch and retrograd, compare, and return retrograd's result."""
    theirs, ours = case(torch), case(rg)
    same(ours, theirs)
    return ours


# ---------------------------------------------------------------- needs_input_grad
def test_needs_input_grad():
    """``ctx.needs_input_grad``: one flag per argument of forward (False for a non-Tensor), the
    same in forward and backward, and read from requires_grad whatever the grad mode."""
    def case(lib):
        seen = []

        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                seen.append(("forward", ctx.needs_input_grad))
                return x * y * k

            @staticmethod
            def backward(ctx, g):
                seen.append(("backward", ctx.needs_input_grad))
                _, y_needed, _ = ctx.needs_input_grad
                return g * 3, (g * 3 if y_needed else None), None

        x, y = T(lib, A22, True), T(lib, B22)
        out = F.apply(x, y, 3)
        out.sum().backward()
        with lib.no_grad():
            off = F.apply(x, y, 3)
        both = F.apply(x, T(lib, B22, True), 3)
        return {"seen": [(w, tuple(n)) for w, n in seen], "x.grad": x.grad, "off": off, "grad_fn": off.grad_fn,
                "both": both.grad_fn.needs_input_grad}

    ours = run_both(case)
    assert ours["seen"][0] == ("forward", (True, False, False))


# ---------------------------------------------------------------- mark_dirty on the tape
def test_return_leaf_inplace():
    """A dirty input that needs no gradient, with another that does: it comes back as itself,
    now on the tape at the Function (PyTorch's rebase), and the gradient flows to ``y``."""
    def case(lib):
        class Inplace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.mark_dirty(a)
                return a.add_(b), b + 2

            @staticmethod
            def backward(ctx, grad_a, grad_b):
                return grad_a, grad_a + grad_b

        x, y = T(lib, A55), T(lib, B55, True)
        q, p = Inplace.apply(x, y)
        assert q is x
        assert q.grad_fn is p.grad_fn is not None
        q.sum().backward()
        return {"q": q, "p": p, "y.grad": y.grad}

    run_both(case)


def _dirty_double(lib):
    class DoubleInplace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors  # the output: on the tape again under create_graph
            return g * 2 + 0 * x
    return DoubleInplace


def test_mark_dirty_rebases_a_non_leaf():
    """``x = z.clone()`` marked dirty: the Function's output is ``x`` itself, its history is now the
    Function's, and the gradient reaches ``z`` through the clone (twice, and again for a double
    backward). A leaf that requires grad is refused by both, with torch's error."""
    def case(lib):
        z = T(lib, A22, True)
        x = z.clone()
        y = _dirty_double(lib).apply(x)
        assert y is x and y.grad_fn is not None
        (y * y).sum().backward(create_graph=True)
        first = z.grad.clone()
        z.grad.sum().backward()
        return {"y": y, "z.grad": first, "name": "DoubleInplaceBackward"}

    run_both(case)
    for lib in (torch, rg):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            _dirty_double(lib).apply(T(lib, A22, True))


def test_mark_dirty_rebase_keeps_earlier_ops_honest():
    """An op that saved the dirty tensor before the call refuses its backward in both."""
    for lib in (torch, rg):
        z = T(lib, A22, True)
        x = z * 1.0
        kept = x * x  # saves x
        _dirty_double(lib).apply(x)
        with pytest.raises(RuntimeError, match="modified (in place|by an inplace operation)"):
            kept.sum().backward()


def test_mark_dirty_of_a_view_on_the_tape_is_refused():
    """A view of another tensor on the tape marked dirty: PyTorch rebases its base too (a
    CopySlices); retrograd keeps no view graph, so it refuses (README, "Differences from PyTorch")."""
    z = T(torch, A55, True)
    y = _dirty_double(torch).apply(z.clone()[:2])
    assert y.grad_fn is not None
    with pytest.raises(RuntimeError, match="view of another tensor"):
        _dirty_double(rg).apply(T(rg, A55, True).clone()[:2])


# ---------------------------------------------------------------- a Function's jvp in a dual level
def test_custom_function_save_for_forward():
    """``save_for_forward`` read by ``jvp`` (``ctx.saved_tensors`` there), a non-Tensor argument
    with a None tangent, and a backward through the same call."""
    def case(lib):
        class Func(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, z):
                ctx.save_for_backward(x, y)
                ctx.save_for_forward(x, y)
                ctx.z = z
                return z * x * y

            @staticmethod
            def jvp(ctx, x_t, y_t, nothing):
                assert nothing is None
                x_p, y_p = ctx.saved_tensors
                return ctx.z * (y_p * x_t + x_p * y_t)

            @staticmethod
            def vjp(ctx, grad_out):
                x, y = ctx.saved_tensors
                return ctx.z * grad_out * y, ctx.z * grad_out * x, None

        a, b = T(lib, 1.0, True), T(lib, 2.0, True)
        with fwad(lib).dual_level():
            out = Func.apply(fwad(lib).make_dual(a, T(lib, 1.0)), b, 4)
            tangent = fwad(lib).unpack_dual(out).tangent
            out.backward()
        # detached: torch's tangent is on the tape, retrograd's an array (README, forward AD tangents)
        return {"out": out.detach(), "tangent": tangent.detach(), "a.grad": a.grad, "b.grad": b.grad}

    run_both(case)


@pytest.mark.parametrize("jvp_err", [False])
def test_custom_function_mark_dirty_not_differentiable(jvp_err):
    """A dirty input in a dual level: the output is the input and its tangent the input's tangent,
    which the jvp must modify in place (torch and retrograd both refuse a new tangent)."""
    def case(lib):
        class InplaceMul(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                result = x.mul_(2)
                ctx.mark_dirty(result)
                return result

            @staticmethod
            def backward(ctx, grad_output):
                return grad_output * 2

            @staticmethod
            def jvp(ctx, x_t):
                return x_t if jvp_err else x_t.mul_(2)

        x = T(lib, A22)
        with fwad(lib).dual_level():
            x_tangent = T(lib, np.ones((2, 2)))
            x_dual = fwad(lib).make_dual(x, x_tangent)
            if jvp_err:
                with pytest.raises(RuntimeError, match="modify the corresponding gradient inplace"):
                    InplaceMul.apply(x_dual)
                return None
            out = InplaceMul.apply(x_dual)
            out_tangent = fwad(lib).unpack_dual(out).tangent
            assert out is x_dual and out_tangent is x_tangent
            return {"out": out.detach(), "tangent": out_tangent}

    run_both(case)
