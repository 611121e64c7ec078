"""PyTorch's hook tests of test/test_autograd.py (TestAutograd: test_hooks, test_hook_none,
test_hooks_cpp, test_hook_with_no_name, test_tensor_hooks_inplace*, test_retain_grad*,
test_retains_grad_*, test_post_accumulate_grad_hook_*, test_grad_nonleaf_register_hook,
test_grad_nonleaf_many_outputs), each run through torch 2.13 and retrograd side by side: the
gradients, how often and in which order hooks run, what a hook's return replaces, and the errors.

Node hooks (``grad_fn.register_prehook`` / ``register_hook``) are compared with torch's;
``autograd.graph.register_multi_grad_hook`` is not provided (README, "Differences from PyTorch"):
its tests assert the refusal."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

pytestmark = pytest.mark.usefixtures("float64_default", "torch_float64_default")

LIBS = ("torch", "rg")


def _lib(name):
    return torch if name == "torch" else rg


def _np(t):
    return None if t is None else np.array(t.detach().numpy())


def _double_mul(name):
    """PyTorch's DoubleMul: a custom Function of two outputs, (x * 2, x * 3)."""
    Function = torch.autograd.Function if name == "torch" else rg.autograd.Function

    class DoubleMul(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    return DoubleMul.apply


def _mul2_inplace(name, t):
    """``t.mul_(2)``: torch rebases the graph; retrograd refuses on the tape (README, "in-place
    methods ... on the tape") and the test goes on with the documented rewrite, ``t = t.mul(2)``."""
    if name == "torch":
        return t.mul_(2)
    with pytest.raises(RuntimeError, match="never writes in place on the tape"):
        t.mul_(2)
    return t.mul(2)


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hooks(name):
    """Counts as hooks are added and removed; a returned tensor replaces the gradient."""
    L = _lib(name)
    x = L.ones(5, 5, requires_grad=True)
    y = L.ones(5, 5) * 4
    y.requires_grad_(True)
    counter = [0]

    def bw_hook(inc, grad):
        assert isinstance(grad, L.Tensor)
        counter[0] += inc

    z = x ** 2 + x * 2 + x * y + y
    x.register_hook(lambda *args: bw_hook(0, *args))
    test = z.register_hook(lambda *args: bw_hook(1, *args))
    z.backward(L.ones(5, 5), retain_graph=True)
    assert counter[0] == 1
    test2 = z.register_hook(lambda *args: bw_hook(2, *args))
    z.backward(L.ones(5, 5), retain_graph=True)
    assert counter[0] == 4
    test2.remove()
    z.backward(L.ones(5, 5), retain_graph=True)
    assert counter[0] == 5

    test.remove()
    z.register_hook(lambda grad: grad.mul(2))
    with L.no_grad():
        y.grad.zero_()
    z.backward(L.ones(5, 5), retain_graph=True)
    np.testing.assert_allclose(_np(y.grad), _np((x + 1) * 2))
    y.register_hook(lambda grad: grad.mul(2))
    with L.no_grad():
        y.grad.zero_()
    z.backward(L.ones(5, 5))
    np.testing.assert_allclose(_np(y.grad), _np((x + 1) * 4))


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hooks_on_a_library_module(name):
    """test_hooks_cpp: a hook on BatchNorm1d's (eval) output doubles the gradient."""
    L = _lib(name)
    bn = L.nn.BatchNorm1d(5, affine=False)
    bn.eval()
    counter = [0]

    def bw_hook(grad):
        counter[0] += 1
        return grad * 2

    x = L.ones(5, 5, requires_grad=True)
    z = bn(x)
    z.register_hook(bw_hook)
    z.sum().backward()
    assert counter[0] == 1
    np.testing.assert_allclose(_np(x.grad), np.full((5, 5), 2.0), atol=1e-5, rtol=0)


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hook_with_no_name(name):
    """A callable object without ``__name__`` works as a hook."""
    L = _lib(name)

    class MyHookClass:
        def __call__(self, grad):
            return grad.clone() * 3

    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    y.register_hook(MyHookClass())
    y.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), [3.0, 3.0])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hook_with_no_name_returning_a_wrong_shape_is_refused(name):
    L = _lib(name)

    class MyHookClass:
        def __call__(self, grad):
            return L.ones(3)

    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    y.register_hook(MyHookClass())
    with pytest.raises(RuntimeError, match="hook"):
        y.sum().backward()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hook_order_and_chaining(name):
    """Hooks of one tensor run in registration order, each on what the previous returned; None
    keeps the gradient."""
    L = _lib(name)
    log = []
    a = L.tensor(1.0, requires_grad=True)
    b = a.clone()
    b.register_hook(lambda g: log.append(("h1", float(g))) or g * 3)
    b.register_hook(lambda g: log.append(("h2", float(g))))
    b.register_hook(lambda g: log.append(("h3", float(g))) or g + 1)
    a.register_hook(lambda g: log.append(("a", float(g))) or g * 10)
    (b * 2).backward()
    assert log == [("h1", 2.0), ("h2", 6.0), ("h3", 6.0), ("a", 7.0)]
    assert float(a.grad) == 70.0


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_a_hook_removed_during_backward(name):
    """A hook that removes a later hook of the same tensor during backward: the removed one still
    runs in that pass (the pass took the hooks as they were when it reached the tensor), not in the
    next; removing twice is harmless."""
    L = _lib(name)
    counter = [0]
    a = L.rand(3, 3, requires_grad=True)
    b = a * 2

    def first(g):
        handle2.remove()
        handle3.remove()

    def second(g):
        counter[0] += 1

    b.register_hook(first)
    handle2 = b.register_hook(second)
    handle3 = b.register_hook(second)
    handle3.remove()
    b.sum().backward()
    np.testing.assert_allclose(_np(a.grad), np.full((3, 3), 2.0))
    assert counter[0] == 1
    b = a * 2
    b.register_hook(second)
    b.sum().backward()
    assert counter[0] == 2


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hook_none(name):
    """The outputs of a custom Function whose backward returns None for an input: both hooks see a
    gradient (both outputs are used)."""
    L = _lib(name)
    Function = torch.autograd.Function if name == "torch" else rg.autograd.Function

    class NoneGradientFunction(Function):
        @staticmethod
        def forward(ctx, x, y):
            assert ctx.needs_input_grad[0] and not ctx.needs_input_grad[1]
            return x * 1, y * 1

        @staticmethod
        def backward(ctx, grad_x, grad_y):
            return grad_x, None

    calls = []

    def hook(grad):
        calls.append(grad is not None)

    x = L.tensor(np.arange(25.0).reshape(5, 5), requires_grad=True)
    y = L.tensor(np.ones((5, 5)))
    rx, ry = NoneGradientFunction.apply(x, y)
    rx.register_hook(hook)
    ry.register_hook(hook)
    (rx + ry).sum().backward()
    assert calls == [True, True]
    np.testing.assert_array_equal(_np(x.grad), np.ones((5, 5)))


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_grad_nonleaf_register_hook(name):
    """A hook on one output of ``unbind`` sees 1 when that output is the root. When a sibling is the
    root, torch calls it with None (unbind is one node of five outputs); retrograd records each
    output as its own op, so the hook is not called at all (README, "Differences from PyTorch")."""
    L = _lib(name)
    x = L.tensor([0.5, 1.0, 1.5, 2.0, 2.5], requires_grad=True)
    x_list = x.unbind()
    results = []
    x_list[0].register_hook(lambda g: results.append(None if g is None else float(g)))
    x_list[0].backward()
    expected = np.array([1.0, 0, 0, 0, 0])
    np.testing.assert_array_equal(_np(x.grad), expected)
    for i in range(1, 5):
        x_list[i].backward()
        expected[i] = 1.0
        np.testing.assert_array_equal(_np(x.grad), expected)
    assert results == ([1.0, None, None, None, None] if name == "torch" else [1.0])
    assert not x_list[0].retains_grad


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_grad_nonleaf_many_outputs(name):
    """``grad`` with respect to non-leaf inputs does not run a leaf's hook nor fill its ``.grad``."""
    L = _lib(name)
    x = L.rand(4, 2, requires_grad=True)
    a, b = x.chunk(2)
    called = []
    x.register_hook(lambda *g: called.append(True))
    go = L.tensor(np.arange(4.0).reshape(2, 2))
    grad_a, grad_b = L.autograd.grad(a + 2 * b, [a, b], grad_outputs=go, create_graph=True)
    np.testing.assert_array_equal(_np(grad_a), _np(go))
    np.testing.assert_array_equal(_np(grad_b), _np(go) * 2)
    assert not called and x.grad is None


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_tensor_hooks_inplace(name):
    """A hook registered before an in-place op sees the gradient of the old version; one after it,
    of the new version (test_tensor_hooks_inplace)."""
    L = _lib(name)
    seen = {"fn1": [], "fn2": [], "fn3": []}

    def make(key):
        def hook(grad):
            seen[key].append(_np(grad).tolist())
            return grad * 2
        return hook

    a = L.tensor([1.0], requires_grad=True)
    b = a.clone()
    b.register_hook(make("fn1"))
    b = _mul2_inplace(name, b)
    b.register_hook(make("fn2"))
    b.sum().backward()
    assert seen["fn1"] == [[4.0]] and seen["fn2"] == [[1.0]]  # x2 from mul, x2 from fn2
    np.testing.assert_array_equal(_np(a.grad), [8.0])

    a = L.tensor([1.0], requires_grad=True)
    b = a.clone()
    b.register_hook(make("fn3"))
    b = _mul2_inplace(name, b)
    b = _mul2_inplace(name, b)  # in place several times is fine
    b.sum().backward()
    assert seen["fn3"] == [[4.0]]
    np.testing.assert_array_equal(_np(a.grad), [8.0])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("fn", ("double_mul", "var_mean"))
def test_tensor_hooks_inplace_multiple_outputs(name, fn):
    """Hooks on the outputs of a two-output op, one output then changed in place."""
    L = _lib(name)
    f = _double_mul(name) if fn == "double_mul" else (lambda t: L.var_mean(t, dim=0))
    counts = [0, 0, 0]
    grads = [None, None, None]

    def hook(i):
        def h(grad):
            counts[i] += 1
            grads[i] = _np(grad)
        return h

    b = L.rand(3, 3, requires_grad=True)
    out1, out2 = f(b)
    h1 = out1.register_hook(hook(0))
    h2 = out2.register_hook(hook(1))
    out1 = _mul2_inplace(name, out1)
    h3 = out1.register_hook(hook(2))
    (out1 + out2 * 3).sum().backward()
    assert counts == [1, 1, 1]
    ones = np.ones(out1.shape)
    np.testing.assert_array_equal(grads[0], ones * 2)
    np.testing.assert_array_equal(grads[1], ones * 3)
    np.testing.assert_array_equal(grads[2], ones)
    for h in (h1, h2, h3):
        h.remove()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_retain_grad(name):
    """Calling ``retain_grad`` twice is fine, the retained gradient accumulates, and on a leaf it
    is a no-op."""
    L = _lib(name)
    inp = L.tensor([[0.2, 0.5, 0.9]], requires_grad=True)
    h1 = inp * 3
    out = (h1 * h1).sum()
    h1.retain_grad()
    h1.retain_grad()
    out.backward(retain_graph=True)
    np.testing.assert_allclose(_np(h1.grad), _np(h1 * 2))
    out.backward(retain_graph=True)
    np.testing.assert_allclose(_np(h1.grad), _np(h1 * 4))
    with L.no_grad():
        inp.grad.zero_()
    inp.retain_grad()
    inp.retain_grad()
    out.backward()
    np.testing.assert_allclose(_np(inp.grad), _np(inp * 18))


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_retain_grad_inplace(name):
    """A retained tensor changed in place retains the gradient of its latest version in torch; in
    retrograd the rewrite ``a = a.mul(2)`` leaves the retained tensor the old version, which
    retains its own gradient."""
    L = _lib(name)
    for times in (1, 2):
        a = old = L.tensor([1.0], requires_grad=True).clone()
        a.retain_grad()
        for _ in range(times):
            a = _mul2_inplace(name, a)
        a.sum().backward()
        if name == "torch":
            assert a is old and a.retains_grad
            np.testing.assert_array_equal(_np(a.grad), [1.0])
        else:
            assert old.retains_grad and not a.retains_grad
            np.testing.assert_array_equal(_np(old.grad), [2.0 ** times])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_retain_grad_inplace_over_view(name):
    """Two views retained, one changed in place: both get the gradient of their latest version."""
    L = _lib(name)
    base = L.tensor([1.0], requires_grad=True).clone()
    view = base[:]
    view2 = base[:]
    view.retain_grad()
    view2.retain_grad()
    old = view
    view = _mul2_inplace(name, view)
    (view + view2).sum().backward()
    np.testing.assert_array_equal(_np(view2.grad), [1.0])
    if name == "torch":
        np.testing.assert_array_equal(_np(view.grad), [1.0])
    else:  # the retained view is the old version: d(2 * old + view2)/d old
        np.testing.assert_array_equal(_np(old.grad), [2.0])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("fn", ("double_mul", "var_mean"))
def test_retains_grad_inplace_multiple_outputs(name, fn):
    """Both outputs of a two-output op retained, one changed in place: the retained gradients are
    those ``grad`` gives for the outputs' latest versions."""
    L = _lib(name)
    f = _double_mul(name) if fn == "double_mul" else (lambda t: L.var_mean(t, dim=0))
    b = L.tensor(np.linspace(0.1, 0.9, 9).reshape(3, 3), requires_grad=True)
    var, mean = f(b)
    var.retain_grad()
    mean.retain_grad()
    retained = var
    var = _mul2_inplace(name, var)
    (var + mean).sum().backward()
    gvar, gmean = _np(retained.grad), _np(mean.grad)
    a = b.detach().requires_grad_(True)
    var, mean = f(a)
    retained = var
    var = var.mul_(2) if name == "torch" else var.mul(2)
    # torch: the gradient of var's latest version; retrograd: of the version that was retained
    expected = L.autograd.grad((var + mean).sum(), inputs=(retained, mean))
    np.testing.assert_allclose(gvar, _np(expected[0]))
    np.testing.assert_allclose(gmean, _np(expected[1]))


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_retains_grad_can_always_observe_tensor_prehook(name):
    """``retain_grad`` keeps what the hooks registered before it returned, whatever came after."""
    L = _lib(name)
    a = L.tensor(1.0, requires_grad=True)
    b = a.clone()
    b.register_hook(lambda g: g * 2)
    b.retain_grad()
    b.register_hook(lambda g: g * 2)
    b.clone().backward()
    assert float(b.grad) == 4.0
    a = L.tensor(1.0, requires_grad=True)
    b = a.clone()
    b.retain_grad()
    b.register_hook(lambda g: g * 2)
    b.clone().backward()
    assert float(b.grad) == 2.0


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_on_non_leaf(name):
    L = _lib(name)
    non_leaf = 2.0 * L.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        non_leaf.register_post_accumulate_grad_hook(lambda t: None)


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_multiple_hooks(name):
    """Both hooks run, in order, after ``.grad`` is in; they may write the leaf in place (the
    backward pass does not record)."""
    L = _lib(name)
    tensor = L.tensor([0.3, 0.6, 0.9], requires_grad=True)
    ref = _np(tensor)
    tensor.register_post_accumulate_grad_hook(lambda t: t.sub_(t.grad))
    tensor.register_post_accumulate_grad_hook(lambda t: t.mul_(4.0))
    tensor.sum().backward()
    np.testing.assert_allclose(_np(tensor), 4.0 * (ref - 1.0))


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_multiple_tensors(name):
    L = _lib(name)

    def hook(t):
        t.sub_(t.grad)

    t1, t2 = L.tensor([0.1, 0.2, 0.3], requires_grad=True), L.tensor(np.linspace(0, 1, 5), requires_grad=True)
    r1, r2 = _np(t1), _np(t2)
    t1.register_post_accumulate_grad_hook(hook)
    t2.register_post_accumulate_grad_hook(hook)
    t1.sum().backward()
    t2.sum().backward()
    np.testing.assert_allclose(_np(t1), r1 - 1.0)
    np.testing.assert_allclose(_np(t2), r2 - 1.0)


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_e2e(name):
    """An Adam step per parameter from its post-accumulate hook equals the usual step after
    backward; removing the handles stops the updates."""
    L = _lib(name)
    L.manual_seed(0)
    model, model_copy = L.nn.Linear(3, 2), L.nn.Linear(3, 2)
    model_copy.load_state_dict(model.state_dict())
    inp = L.tensor(np.linspace(0.1, 0.6, 6).reshape(2, 3))
    optims = {p: L.optim.Adam([p]) for p in model.parameters()}

    def step(param):
        optims[param].step()
        optims[param].zero_grad()

    handles = [p.register_post_accumulate_grad_hook(step) for p in model.parameters()]
    optim_copy = L.optim.Adam(model_copy.parameters())

    def train():
        for _ in range(5):
            model(inp).sum().backward()
            model_copy(inp).sum().backward()
            optim_copy.step()
            optim_copy.zero_grad()

    train()
    frozen = [_np(p) for p in model.parameters()]
    for p_ref, p in zip(model_copy.parameters(), model.parameters()):
        np.testing.assert_allclose(_np(p), _np(p_ref))
    for h in handles:
        h.remove()
    train()
    for before, p_ref, p in zip(frozen, model_copy.parameters(), model.parameters()):
        np.testing.assert_array_equal(_np(p), before)
        assert not np.allclose(_np(p_ref), before)


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_gets_cleaned_up(name):
    """The hook (and what it closes over) lives as long as the tensor, no longer."""
    import gc
    import weakref

    L = _lib(name)

    def make():
        thing = L.rand(3)

        def hook(t):
            t.sub_(t.grad)
            t.add_(thing)

        tensor = L.rand(3, requires_grad=True)
        tensor.register_post_accumulate_grad_hook(hook)
        tensor.sum().backward()
        return tensor, weakref.ref(thing)

    tensor, ref = make()
    gc.collect()
    assert ref() is not None
    del tensor
    gc.collect()
    assert ref() is None


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_tensor_hooks_run_before_post_accumulate_hooks(name):
    """test_post_accumulate_grad_hook_ordering without the AccumulateGrad node's hooks: the tensor
    hook's result is accumulated, then the post-accumulate hook sees and changes ``.grad``."""
    L = _lib(name)
    tensor = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tensor.register_hook(lambda g: g.sub(2.0))

    def post(t):
        t.grad.add_(0.5)

    tensor.register_post_accumulate_grad_hook(post)
    tensor.sum().backward()
    np.testing.assert_array_equal(_np(tensor.grad), [-0.5, -0.5, -0.5])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_not_run_by_grad(name):
    """``autograd.grad`` accumulates nothing, so it runs no post-accumulate hook."""
    L = _lib(name)
    x = L.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    (g,) = L.autograd.grad((x * 3).sum(), x)
    np.testing.assert_array_equal(_np(g), [3.0, 3.0])
    assert calls == [] and x.grad is None
    (x * 3).sum().backward()
    assert calls == [1]


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_may_return_its_argument(name):
    """A hook that returns the tensor it was given (``t.sub_(...)`` does) counts as returning None;
    any other tensor is refused, a non-tensor is a TypeError."""
    L = _lib(name)
    t = L.tensor([0.5, 1.5], requires_grad=True)
    t.register_post_accumulate_grad_hook(lambda t: t)
    t.sum().backward()
    np.testing.assert_array_equal(_np(t.grad), [1.0, 1.0])
    t = L.tensor([0.5, 1.5], requires_grad=True)
    t.register_post_accumulate_grad_hook(lambda t: t.detach())
    with pytest.raises(RuntimeError, match="hooks should return None"):
        t.sum().backward()
    t = L.tensor([0.5, 1.5], requires_grad=True)
    t.register_post_accumulate_grad_hook(lambda t: 1)
    with pytest.raises(TypeError, match="expected Variable"):
        t.sum().backward()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hook_edge_case_when_called_with_grad(name):
    """Tensor hooks that ``grad`` and ``backward(inputs=...)`` run: those on the way to the inputs
    asked for, a leaf's included (the Node hooks of the original are a README difference)."""
    L = _lib(name)
    a = L.tensor(1.0, requires_grad=True)
    b = a * 2
    c = b * 2
    count = [0]

    def tensor_hook(g):
        count[0] += 1

    a.register_hook(tensor_hook)
    b.register_hook(tensor_hook)
    for run, expect in ((lambda: L.autograd.grad(c, inputs=(b,), retain_graph=True), 1),
                        (lambda: L.autograd.grad(c, inputs=(a, b), retain_graph=True), 2),
                        (lambda: c.backward(retain_graph=True), 2),
                        (lambda: c.backward(inputs=(a, b), retain_graph=True), 2)):
        count[0] = 0
        run()
        assert count[0] == expect


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_tensor_hook_order_with_grad_and_inputs(name):
    """test_prehook_ordering's tensor hooks: a leaf's hooks run in ``grad``; ``backward(inputs=(b,))``
    stops at b, and b's retained ``.grad`` has its hook's change."""
    L = _lib(name)
    log = []

    def hook(g):
        log.append(1)
        return g * 3

    a = L.tensor(1.0, requires_grad=True)
    b = a.clone()
    b.register_hook(hook)
    a.register_hook(hook)
    a.register_hook(hook)
    b.sum().backward(retain_graph=True)
    assert log == [1, 1, 1] and float(a.grad) == 27.0
    log.clear()
    (g,) = L.autograd.grad(b.sum(), inputs=(a,), retain_graph=True)
    assert log == [1, 1, 1] and float(g) == 27.0
    log.clear()
    b.sum().backward(inputs=(b,))
    assert log == [1] and float(b.grad) == 3.0 and float(a.grad) == 27.0


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hooks_off_the_inputs_do_not_run(name):
    """test_accumulate_grad_posthooks_should_not_execute's tensor part: with ``inputs=[b]`` a hook
    on another leaf (one that raises) is not called."""
    L = _lib(name)

    def boom(g):
        raise RuntimeError("must not run")

    a = L.tensor(1.0, requires_grad=True)
    a.register_hook(boom)
    b = L.tensor(1.0, requires_grad=True)
    c = a.clone()
    c.register_hook(boom)
    (a + b + c).sum().backward(inputs=[b])
    assert float(b.grad) == 1.0 and a.grad is None


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_a_hook_raising_propagates_its_error(name):
    L = _lib(name)

    def boom(g):
        raise ValueError("from the hook")

    x = L.tensor([1.0], requires_grad=True)
    y = x * 2
    y.register_hook(boom)
    with pytest.raises(ValueError, match="from the hook"):
        y.sum().backward()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_register_hook_needs_requires_grad(name):
    L = _lib(name)
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        L.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError):
        L.ones(2).retain_grad()


def _node_hook_log(L):
    """Tensor hook, grad_fn prehook and grad_fn hook on one op, each changing the gradient; the
    order they run in, what each sees, and the leaf's gradient."""
    log = []
    x = L.tensor([1.0, 2.0], requires_grad=True)
    w = L.tensor([3.0, 4.0])
    y = x * w
    y.register_hook(lambda g: log.append(("tensor", _np(g).tolist())) or g * 2)
    y.grad_fn.register_prehook(lambda go: log.append(("pre", [_np(t).tolist() for t in go])) or (go[0] * 10,))
    y.grad_fn.register_hook(lambda gi, go: log.append(("post", [None if t is None else _np(t).tolist() for t in gi],
                                                       [_np(t).tolist() for t in go])))
    y.sum().backward()
    log.append(("x.grad", _np(x.grad).tolist()))
    return log


@requires_torch
def test_node_hooks_run_in_torchs_order_and_see_torchs_values():
    """test_grad_fn_prehooks / test_prehook_ordering: tensor hooks, then the grad_fn's prehooks, then
    its vjp, then its hooks (grad_inputs of the inputs' shapes, None for one that needs none)."""
    assert _node_hook_log(rg) == _node_hook_log(torch)


@requires_torch
@pytest.mark.parametrize("name", ["torch", "rg"])
def test_a_node_hook_replaces_the_gradients_and_is_removable(name):
    L = _lib(name)
    a = L.tensor([1.0, 2.0], requires_grad=True)
    b = (a * 2).exp()
    handle = b.grad_fn.register_hook(lambda gi, go: (gi[0] * 0 + 7,))
    b.sum().backward()
    np.testing.assert_array_equal(_np(a.grad), [14.0, 14.0])  # 7 through the ·2 before it
    handle.remove()
    a.grad = None
    b = (a * 2).exp()
    b.sum().backward()
    np.testing.assert_allclose(_np(a.grad), 2 * np.exp(2 * np.array([1.0, 2.0])))


@requires_torch
def test_a_node_hook_returning_the_wrong_count_raises_torchs_error():
    for L in (torch, rg):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = a.exp()
        b.grad_fn.register_hook(lambda gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="incorrect number of values"):
            b.sum().backward()


@requires_torch
def test_multi_grad_hooks_are_not_provided():
    """test_multi_grad_all_hooks / test_multi_grad_any_hooks: not provided (README)."""
    assert callable(torch.autograd.graph.register_multi_grad_hook)
    with pytest.raises(AttributeError, match="register_multi_grad_hook"):
        rg.autograd.graph.register_multi_grad_hook  # noqa: B018 (the refusal is the point)
