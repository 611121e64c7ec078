"""``rg.autograd.Function`` against ``torch.autograd.Function``, in float64.

The classic Functions of PyTorch's "Extending autograd" notes are written once, for a library
``lib`` (torch or retrograd: the same code runs on both), and compared: values, gradients (every
pattern of which inputs require grad, with ``needs_input_grad`` as each backward saw it), double
backward through ``grad(..., create_graph=True)``, forward mode (``jvp``). Then the context's
rules (materialised gradients, non-differentiable outputs, saved tensors released by backward,
``mark_dirty``), ``@once_differentiable``, keyword arguments, hooks and ``retain_graph``,
``rg.gradcheck``, and the errors: same exception type and gist as PyTorch's.
"""

from __future__ import annotations

import itertools
import types
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd.autograd.replay import NotReplayable, Program

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

pytestmark = pytest.mark.usefixtures("float64_default")
RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((2, 4))
B = RNG.standard_normal(2)


def _functions(lib):
    """The Functions of this file, written for ``lib`` (torch or rg). ``log`` collects what
    each backward saw (``needs_input_grad``, the gradients it received) for comparison."""
    Function, once_differentiable = lib.autograd.Function, lib.autograd.function.once_differentiable
    log = []

    class Exp(Function):
        """Saves its output: y = eˣ, x̄ = ȳ·y (differentiable again through y)."""
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class OnceExp(Exp):
        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Linear(Function):
        """PyTorch's LinearFunction: y = x·Wᵀ + b, each gradient computed only when needed."""
        @staticmethod
        def forward(ctx, x, weight, bias=None):
            ctx.save_for_backward(x, weight, bias)
            out = x.mm(weight.t())
            return out if bias is None else out + bias.unsqueeze(0).expand_as(out)

        @staticmethod
        def backward(ctx, g):
            x, weight, bias = ctx.saved_tensors
            log.append(tuple(ctx.needs_input_grad))
            gx = gw = gb = None
            if ctx.needs_input_grad[0]:
                gx = g.mm(weight)
            if ctx.needs_input_grad[1]:
                gw = g.t().mm(x)
            if bias is not None and ctx.needs_input_grad[2]:
                gb = g.sum(0)
            return gx, gw, gb

    class ClampIndex(Function):
        """clamp(x, lo, hi), with the mask of the values inside (float, marked non-differentiable)
        and the argmax (an integer: non-differentiable anyway)."""
        @staticmethod
        def forward(ctx, x, lo, hi):
            inside = (x >= lo) & (x <= hi)
            mask = inside.double()
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(inside)
            return x.clamp(lo, hi), mask, x.clamp(lo, hi).argmax()

        @staticmethod
        def backward(ctx, g, g_mask, g_index):
            (inside,) = ctx.saved_tensors
            log.append((g_mask.dtype == g.dtype, float(g_mask.abs().sum()), str(g_index.dtype)[-5:],
                        int(g_index.abs().sum())))
            return lib.where(inside, g, 0.0), None, None

    class SinCos(Function):
        """Two outputs from one saved input: (sin x, cos x)."""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            log.append((gs is None, gc is None))
            return gs * x.cos() - gc * x.sin()

    class LazySinCos(SinCos):
        """The same, with gradients not materialised: None for an output that received none."""
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            log.append((gs is None, gc is None))
            g = x * 0
            if gs is not None:
                g = g + gs * x.cos()
            if gc is not None:
                g = g - gc * x.sin()
            return g

    class Scale(Function):
        """A non-tensor argument (kept on ctx) and a non-tensor output: (k·x, "scaled")."""
        @staticmethod
        def forward(ctx, x, k, power=1):
            ctx.k = k * power
            return x * ctx.k, "scaled"

        @staticmethod
        def backward(ctx, g, g_label):
            log.append(g_label)
            return g * ctx.k, None, None

    class MulAdd(Function):
        """The ``setup_context`` form, with a jvp: z = a·b + c."""
        @staticmethod
        def forward(a, b, c=0.0):
            return a * b + c

        @staticmethod
        def setup_context(ctx, inputs, output):
            a, b, c = inputs
            ctx.save_for_backward(a, b)
            ctx.save_for_forward(a, b)

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a, None

        @staticmethod
        def jvp(ctx, ta, tb, tc):
            a, b = ctx.saved_tensors
            log.append(tc)
            return ta * b + a * tb

    return types.SimpleNamespace(log=log, **{c.__name__: c for c in (Exp, OnceExp, Linear, ClampIndex, SinCos,
                                                                    LazySinCos, Scale, MulAdd)})


RG = _functions(rg)
TORCH = _functions(torch) if torch is not None else None


def _both():
    return ((rg, RG, lambda a, rq=False: rg.tensor(np.array(a, dtype=np.float64), requires_grad=rq)),
            (torch, TORCH, lambda a, rq=False: torch.tensor(np.array(a, dtype=np.float64), requires_grad=rq)))


def _np(t):
    return t.detach().numpy() if torch is not None and isinstance(t, torch.Tensor) else np.asarray(t.data)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)


# ---------------------------------------------------------------- the classic Functions against torch
@requires_torch
def test_exp_values_gradients_and_double_backward_match_torch():
    results = []
    for lib, F, T in _both():
        x = T(X, True)
        y = F.Exp.apply(x)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)  # 2·e²ˣ, through the saved output
        (gg,) = lib.autograd.grad(g.sum(), x)                          # 4·e²ˣ
        results.append((y, g, gg))
        assert (type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name) == "ExpBackward"
    for a, b in zip(*results):
        close(a, b)
    close(results[0][2], 4 * np.exp(2 * X))


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("needs", [p for p in itertools.product([True, False], repeat=3) if any(p[:2])])
def test_linear_gradients_and_needs_input_grad_match_torch(needs, bias):
    outs = []
    for lib, F, T in _both():
        F.log.clear()
        x, w, b = T(X, needs[0]), T(W, needs[1]), (T(B, needs[2]) if bias else None)
        y = F.Linear.apply(x, w, b)
        y.backward(T(np.arange(6.0).reshape(3, 2)))
        outs.append([y] + [t.grad for t in (x, w, b) if t is not None and t.requires_grad] + [F.log[:]])
    (*rg_tensors, rg_log), (*torch_tensors, torch_log) = outs
    assert rg_log == torch_log and len(rg_log) == 1
    for a, b in zip(rg_tensors, torch_tensors):
        close(a, b)


@requires_torch
def test_linear_double_backward_matches_torch():
    results = []
    for lib, F, T in _both():
        x, w, b = T(X, True), T(W, True), T(B, True)
        y = F.Linear.apply(x, w, b)
        gx, gw = lib.autograd.grad((y ** 2).sum(), (x, w), create_graph=True)
        results.append((gx, gw) + lib.autograd.grad((gx ** 2).sum() + gw.sum(), (x, w, b)))
    for a, b in zip(*results):
        close(a, b)


@requires_torch
def test_clamp_with_non_differentiable_outputs_matches_torch():
    outs = []
    for lib, F, T in _both():
        F.log.clear()
        x = T(X, True)
        y, mask, index = F.ClampIndex.apply(x, -0.5, 0.7)
        assert y.requires_grad and not mask.requires_grad and not index.requires_grad
        assert mask.grad_fn is None and index.grad_fn is None
        (y * y).sum().backward()
        outs.append((y, mask, index, x.grad, F.log[:]))
    rg_out, torch_out = outs
    for a, b in zip(rg_out[:4], torch_out[:4]):
        close(a, b)
    # a zero gradient of each output's own dtype: float zeros for the mask, integer zeros for the index
    assert rg_out[4] == torch_out[4] == [(True, 0.0, "int64", 0)]


@requires_torch
@pytest.mark.parametrize("fn", ["SinCos", "LazySinCos"])
@pytest.mark.parametrize("used", ["both", "sin", "cos"])
def test_multiple_outputs_match_torch(fn, used):
    """Zeros for an output that got no gradient (None when the Function does not materialise
    them), and double backward through the two outputs."""
    outs = []
    for lib, F, T in _both():
        F.log.clear()
        x = T(X[0], True)
        s, c = getattr(F, fn).apply(x)
        loss = {"both": (s * c * x).sum(), "sin": (s ** 3).sum(), "cos": (c ** 3).sum()}[used]
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        outs.append((s, c, g, gg, F.log[:1]))
    for a, b in zip(outs[0][:4], outs[1][:4]):
        close(a, b)
    assert outs[0][4] == outs[1][4]


@requires_torch
def test_a_non_tensor_argument_and_output_match_torch():
    outs = []
    for lib, F, T in _both():
        F.log.clear()
        x = T(X, True)
        y, label = F.Scale.apply(x, 3.0, power=2)  # a keyword argument goes to its place in forward
        assert label == "scaled"
        (y * x).sum().backward()
        outs.append((y, x.grad, F.log[:]))
    close(outs[0][0], outs[1][0])
    close(outs[0][1], outs[1][1])
    assert outs[0][2] == outs[1][2] == [None]  # the gradient of a non-tensor output is None


@requires_torch
def test_setup_context_and_jvp_match_torch():
    a, b, ta, tb = X[0], X[1], X[2], np.ones(4)
    z_rg, t_rg = rg.func.jvp(lambda p, q: RG.MulAdd.apply(p, q), (rg.tensor(a), rg.tensor(b)),
                             (rg.tensor(ta), rg.tensor(tb)))
    z_torch, t_torch = torch.func.jvp(lambda p, q: TORCH.MulAdd.apply(p, q), (torch.tensor(a), torch.tensor(b)),
                                      (torch.tensor(ta), torch.tensor(tb)))
    close(z_rg, z_torch)
    close(t_rg, t_torch)
    close(t_rg, ta * b + a * tb)
    assert RG.log[-1] is None and TORCH.log[-1] is None  # a non-tensor argument's tangent: None
    # a tensor input without a tangent gets zeros; jacfwd (one direction at a time) equals jacrev
    jf = rg.func.jacfwd(lambda p: RG.MulAdd.apply(p, rg.tensor(b), 1.0))(rg.tensor(a))
    jr = rg.func.jacrev(lambda p: RG.MulAdd.apply(p, rg.tensor(b), 1.0))(rg.tensor(a))
    close(jf, np.diag(b))
    close(jr, np.diag(b))
    grads = []
    for lib, F, T in _both():
        p, q = T(a, True), T(b, True)
        F.MulAdd.apply(p, q, c=2.0).sum().backward()
        grads.append((p.grad, q.grad))
    close(grads[0][0], grads[1][0])
    close(grads[0][1], grads[1][1])


BAD_JVPS = {
    "too many": (lambda ctx, t: (t, t), r"jvp returned an invalid number of forward gradients \(expected 1 but got 2\)"),
    "wrong shape": (lambda ctx, t: t.sum(), r"Trying to set a forward gradient that has a different size than that of "
                                            r"the original Tensor.*Tensor is of size \[4\] while the given forward "
                                            r"gradient is of size \[\]"),
    "not a tensor": (lambda ctx, t: 2.0, r"expected Variable or None \(got float\) for grad output 0"),
}


@requires_torch
@pytest.mark.parametrize("case", sorted(BAD_JVPS))
def test_a_bad_jvp_raises_torchs_error(case):
    jvp, message = BAD_JVPS[case]
    for lib, F, T in _both():
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

        Twice.jvp = staticmethod(jvp)
        with pytest.raises(RuntimeError, match=message):
            if lib is rg:
                rg.func.jvp(Twice.apply, (T(X[0]),), (T(np.ones(4)),))
            else:
                import torch.autograd.forward_ad as fwAD
                with fwAD.dual_level():
                    Twice.apply(fwAD.make_dual(T(X[0]), T(np.ones(4))))


def test_forward_mode_without_a_jvp_raises_torchs_error():
    x = rg.tensor(X[0])
    with pytest.raises(NotImplementedError, match="must implement the jvp function"):
        rg.func.jvp(RG.Exp.apply, (x,), (rg.tensor(np.ones(4)),))


def test_hessian_through_a_function_with_a_jvp():
    """Forward over reverse: the jvp walks the recorded backward of the Function."""
    a, b = rg.tensor(X[0]), rg.tensor(X[1])
    h = rg.func.hessian(lambda p: (RG.MulAdd.apply(p, p) * b).sum())(a)  # Σ b·p²: H = 2·diag(b)
    close(h, 2 * np.diag(X[1]))


@requires_torch
@pytest.mark.parametrize("fn", ["Exp", "Linear", "SinCos", "Scale", "MulAdd"])
def test_gradcheck(fn):
    call = {"Exp": lambda x: RG.Exp.apply(x),
            "Linear": lambda x, w, b: RG.Linear.apply(x, w, b),
            "SinCos": lambda x: sum(RG.SinCos.apply(x)),
            "Scale": lambda x: RG.Scale.apply(x, -1.5)[0],
            "MulAdd": lambda x, y: RG.MulAdd.apply(x, y, 0.5)}[fn]
    inputs = {"Linear": [X[:2], W, B], "MulAdd": [X[0], X[1]]}.get(fn, [X[:2]])
    tensors = [rg.tensor(a, requires_grad=True) for a in inputs]
    assert rg.gradcheck(call, tensors).ok
    if fn in ("Exp", "Linear"):
        assert rg.gradgradcheck(call, tensors).ok


# ---------------------------------------------------------------- the context and the tape
def test_forward_runs_without_recording():
    seen = []

    class Probe(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            h = x * 2.0
            seen.append((rg.is_grad_enabled(), h.requires_grad, h.grad_fn))
            return h

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    x = rg.tensor(X, requires_grad=True)
    y = Probe.apply(x)
    assert seen == [(False, False, None)]
    assert y.grad_fn.name == "ProbeBackward" and y.grad_fn.needs_input_grad == (True,)
    with rg.no_grad():
        z = Probe.apply(x)
    assert z.grad_fn is None and not z.requires_grad


@requires_torch
def test_saved_tensors_are_released_by_backward_and_kept_by_retain_graph():
    for lib, F, T in _both():
        x = T(X, True)
        y = F.Exp.apply(x)
        y.sum().backward(retain_graph=True)
        y.sum().backward()  # retained: accumulates
        close(x.grad, 2 * np.exp(X))
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.grad_fn.saved_tensors


@requires_torch
def test_a_function_that_saved_nothing_can_be_backpropagated_twice():
    for lib, F, T in _both():
        x = T(X, True)
        y, _ = F.Scale.apply(x, 2.0)
        y.sum().backward()
        y.sum().backward()
        close(x.grad, np.full(X.shape, 4.0))


@requires_torch
def test_hooks_and_retain_grad_on_outputs_and_inputs():
    grads = []
    for lib, F, T in _both():
        x = T(X, True)
        x.register_hook(lambda g: g + 1.0)
        y = F.Exp.apply(x)
        y.retain_grad()
        y.register_hook(lambda g: g * 3.0)
        (y * 2.0).sum().backward()
        grads.append((x.grad, y.grad))
    close(grads[0][0], grads[1][0])
    close(grads[0][1], grads[1][1])


@requires_torch
def test_once_differentiable_refuses_a_second_derivative_as_torch():
    for lib, F, T in _both():
        x = T(X, True)
        y = F.OnceExp.apply(x)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)  # the gradient requires grad …
        close(g, 2 * np.exp(2 * X))
        with pytest.raises(RuntimeError, match="differentiate twice a function that was marked with "
                                               "@once_differentiable"):
            g.sum().backward()                                          # … but cannot be differentiated
        x = T(X, True)
        (g,) = lib.autograd.grad(F.OnceExp.apply(x).sum(), x, create_graph=True)
        assert not g.requires_grad  # nothing on the tape needed it (the incoming gradient is a constant)


@requires_torch
def test_float32_inputs_and_a_gradient_of_another_dtype_are_cast():
    for lib, F, T in _both():
        class Rough(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return (g * 2).double() if g.dtype == (torch.float32 if lib is torch else np.float32) else g.float()

        x = T(X).float().requires_grad_()
        y = Rough.apply(x)
        assert str(y.dtype).endswith("float32")
        y.sum().backward()
        assert str(x.grad.dtype).endswith("float32")
        close(x.grad, np.full(X.shape, 2.0), 1e-6)
        x64 = T(X, True)
        Rough.apply(x64).sum().backward()
        assert str(x64.grad.dtype).endswith("float64")


@requires_torch
def test_mark_dirty():
    def dirty(lib):
        class AddOne(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.data += 1
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g
        return AddOne

    for lib, F, T in _both():
        leaf = T(X, True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            dirty(lib).apply(leaf)
        # off the tape: the same tensor comes back, modified, and an op that kept it refuses its backward
        w, z = T(W[0], True), T(X[0])
        kept = w * z
        out = dirty(lib).apply(z)
        assert out is z
        close(z, X[0] + 1)
        with pytest.raises(RuntimeError, match="modified (in place|by an inplace operation)"):
            kept.sum().backward()
    # on the tape and not a leaf: the graph is rebased onto the Function, as PyTorch's
    # (tests/autograd/test_torch_function_port_more.py compares it with torch)
    x = rg.tensor(X, requires_grad=True) * 1.0
    assert dirty(rg).apply(x) is x and x.grad_fn.name == "AddOneBackward"


@requires_torch
def test_boxed_gradients_and_saved_tensors_cleared_on_access_as_torch():
    for lib, F, T in _both():
        class Boxed(lib.autograd.Function):
            boxed_grads_call = True
            clear_saved_tensors_on_access = True

            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, grads):
                assert type(grads) is list and len(grads) == 2
                (x,) = ctx.saved_tensors
                with pytest.raises(RuntimeError, match="saved_tensors can only be accessed once"):
                    ctx.saved_tensors
                return grads[0] * 2 + grads[1] * 3 * x

        x = T(X, True)
        a, b = Boxed.apply(x)
        (a + b).sum().backward()
        close(x.grad, 2 + 3 * X)


@requires_torch
def test_an_input_returned_as_an_output_is_a_new_tensor():
    for lib, F, T in _both():
        class Pass(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x, x

            @staticmethod
            def backward(ctx, g1, g2):
                return g1 + 2 * g2

        x = T(X, True)
        h = x * 1.0
        a, b = Pass.apply(h)
        assert a is not h and b is not h and a is not b and a.requires_grad
        assert lib is torch or a.grad_fn.saved_tensors[0] is h  # a saved input stays the input
        (a.sum() + b.sum()).backward()
        close(x.grad, np.full(X.shape, 3.0))
        c = T(X)
        assert Pass.apply(c)[0] is not c


def test_a_saved_output_comes_back_on_the_tape_and_inputs_as_themselves():
    x = rg.tensor(X, requires_grad=True)
    y = RG.Exp.apply(x)
    (saved,) = y.grad_fn.saved_tensors
    assert saved.grad_fn is y.grad_fn and saved.data is y.data
    y = RG.Linear.apply(x, rg.tensor(W))
    assert y.grad_fn.saved_tensors[0] is x and y.grad_fn.saved_tensors[2] is None
    assert y.grad_fn.saved_nbytes() == X.nbytes + W.nbytes


def test_a_custom_function_is_refused_by_a_replay():
    x = rg.tensor(X, requires_grad=True)
    with pytest.raises(NotReplayable, match="Exp.apply: a custom autograd.Function inside a traced call"):
        Program.trace(lambda: [RG.Exp.apply(x)], [x])


# ---------------------------------------------------------------- errors, as torch raises them
def _bad(lib, backward, forward=None):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return forward(x) if forward else x * k

    Bad.backward = staticmethod(backward)
    return Bad


BAD_BACKWARDS = {
    "too few": (lambda ctx, g: g, RuntimeError, r"returned an incorrect number of gradients \(expected 2, got 1\)"),
    "too many": (lambda ctx, g: (g, None, g), RuntimeError,
                 r"returned an incorrect number of gradients \(expected 2, got 3\)"),
    "not a tensor": (lambda ctx, g: (2.0, None), RuntimeError, r"expected Variable or None \(got float\)"),
    "for a non-tensor": (lambda ctx, g: (g, g), RuntimeError,
                         r"returned a gradient different than None at position 2, but the corresponding forward "
                         r"input was not a Variable"),
    "wrong shape": (lambda ctx, g: (g.sum(), None), RuntimeError,
                    r"BadBackward returned an invalid gradient at index 0 - got \[\] but expected shape compatible "
                    r"with \[3, 4\]"),
}


@requires_torch
@pytest.mark.parametrize("case", sorted(BAD_BACKWARDS))
def test_a_bad_backward_raises_torchs_error(case):
    backward, kind, message = BAD_BACKWARDS[case]
    for lib, F, T in _both():
        with pytest.raises(kind, match=message):
            _bad(lib, backward).apply(T(X, True), 2.0).sum().backward()


@requires_torch
def test_a_gradient_of_a_broadcast_shape_is_summed_back_and_extra_nones_are_allowed():
    grads = []
    for lib, F, T in _both():
        x = T(X, True)
        _bad(lib, lambda ctx, g: (g.expand(2, 3, 4), None, None, None)).apply(x, 1.0).sum().backward()
        grads.append(x.grad)
    close(grads[0], grads[1])
    close(grads[0], np.full(X.shape, 2.0))


@requires_torch
def test_class_misuse_raises_torchs_errors():
    for lib, F, T in _both():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            instance = F.Exp()
        assert [w.category for w in caught] == [DeprecationWarning] and "should not be instantiated" in \
            str(caught[0].message)
        with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method"):
            instance(T(X))

        class Both(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g

            @staticmethod
            def vjp(ctx, g):
                return g

        with pytest.raises(RuntimeError, match="Implementing both 'backward' and 'vjp'"):
            Both.apply(T(X, True)).sum().backward()

        class NoBackward(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 1

        with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 1 is of type "
                                            "int"):
            NoBackward.apply(T(X, True))
        NoBackward.forward = staticmethod(lambda ctx, x: x * 1)
        with pytest.raises(NotImplementedError, match="must implement either the backward or vjp method"):
            NoBackward.apply(T(X, True)).sum().backward()


@requires_torch
@pytest.mark.parametrize("kwargs, message", [
    ({"power": 2, "extra": 1}, r"forward\(\) got an unexpected keyword argument 'extra'"),
    ({"power": 2}, r"forward\(\) missing required argument: 'k' \(position 1\)"),
])
def test_keyword_arguments_are_placed_as_torch_places_them(kwargs, message):
    for lib, F, T in _both():
        with pytest.raises(TypeError, match=message):
            F.Scale.apply(T(X, True), **kwargs)
        with pytest.raises(TypeError, match=r"got multiple values for argument 'k'"):
            F.Scale.apply(T(X, True), 2.0, k=3.0)
