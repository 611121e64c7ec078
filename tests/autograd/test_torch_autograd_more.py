"""Cases of PyTorch's test/test_autograd.py (TestAutograd) where retrograd differed, each run in
torch and retrograd side by side: ``.grad`` accumulated in place outside ``create_graph``
(test_accumulate_grad), hooks and ``retain_grad`` on the outputs of a multi-output custom
Function (test_hook_none), the non-leaf ``.grad`` warning, ``@set_grad_enabled(False)``,
``set_detect_anomaly`` and anomaly mode's error for a backward that returns NaN
(test_anomaly_detect_nan), a post-accumulate hook that returns a value."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

LIBS = ("torch", "rg")


def _lib(name):
    return torch if name == "torch" else rg


def _np(t):
    return np.array(t.detach().numpy())


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_accumulate_grad_in_place_outside_create_graph(name):
    L = _lib(name)
    for create_graph, expect in ((False, 2.0), (True, 1.0)):
        x = L.ones(5, 5, requires_grad=True)
        y = x + 2
        y.backward(L.ones(5, 5), retain_graph=True)
        first = x.grad
        y.backward(L.ones(5, 5), create_graph=create_graph)
        np.testing.assert_array_equal(_np(first), np.full((5, 5), expect))  # the same Tensor, added to
        assert (x.grad is first) is not create_graph
    p = L.tensor([1.5, 1.5], requires_grad=True)
    p.grad = L.tensor([2.0, 2.0])
    ref = p.grad
    (p * 2).sum().backward()
    assert p.grad is ref
    np.testing.assert_array_equal(_np(ref), [4.0, 4.0])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_a_gradient_a_hook_kept_is_not_added_to_later(name):
    L = _lib(name)
    x = L.tensor([1.0, 2.0], requires_grad=True)
    kept = []
    y = x * 1
    y.register_hook(lambda g: kept.append(g))
    (y + 0).sum().backward(retain_graph=True)
    (y + 0).sum().backward()
    np.testing.assert_array_equal(_np(kept[0]), [1.0, 1.0])
    np.testing.assert_array_equal(_np(x.grad), [2.0, 2.0])


def _two_outputs(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):
            log.append(("backward", _np(a), _np(b)))
            return a * 2 + b * 3
    return F


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hooks_and_retain_grad_on_outputs_of_a_multi_output_function(name):
    L, log = _lib(name), []
    x = L.tensor([1.0, 2.0], requires_grad=True)
    a, b = _two_outputs(L, log).apply(x)
    a.register_hook(lambda g: log.append(("a", _np(g))) or g * 10)
    b.register_hook(lambda g: log.append(("b", g)))  # b gets nothing: its hooks see None
    a.retain_grad()
    b.retain_grad()
    assert a.retains_grad and b.retains_grad
    (a * 5).sum().backward()
    assert [e[0] for e in log] == ["a", "b", "backward"]
    np.testing.assert_array_equal(log[0][1], [5.0, 5.0])
    assert log[1][1] is None
    np.testing.assert_array_equal(log[2][1], [50.0, 50.0])  # the hook's replacement reaches backward
    np.testing.assert_array_equal(log[2][2], [0.0, 0.0])    # and the missing one is materialised after
    np.testing.assert_array_equal(_np(a.grad), [50.0, 50.0])
    assert b.grad is None
    np.testing.assert_array_equal(_np(x.grad), [100.0, 100.0])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_hook_none(name):
    L, seen = _lib(name), []

    class NoneGradientFunction(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x, y

        @staticmethod
        def backward(ctx, grad_x, grad_y):
            return grad_x, None

    x, y = L.ones(5, 5, requires_grad=True), L.ones(5, 5)
    rx, ry = NoneGradientFunction.apply(x, y)
    rx.register_hook(lambda g: seen.append(g is None))
    ry.register_hook(lambda g: seen.append(g is None))
    (rx + ry).sum().backward()
    assert seen == [False, False]


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_reading_grad_of_a_non_leaf_warns(name):
    L = _lib(name)
    x = L.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward(retain_graph=True)
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert y.grad is None
    y.retain_grad()
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is not None and x.grad is not None


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_set_grad_enabled_as_a_decorator(name):
    L = _lib(name)

    @L.set_grad_enabled(False)
    def inside():
        return L.is_grad_enabled()

    assert L.is_grad_enabled()  # making the decorator changed nothing
    assert inside() is False
    assert L.is_grad_enabled()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_anomaly_switches_and_warning(name):
    L = _lib(name)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with L.autograd.detect_anomaly():
            assert L.is_anomaly_enabled()
    assert not L.is_anomaly_enabled()
    with L.autograd.set_detect_anomaly(True):
        assert L.is_anomaly_enabled()
    assert not L.is_anomaly_enabled()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
@pytest.mark.parametrize("fail_0th", [True, False])
def test_anomaly_detect_nan(name, fail_0th):
    L = _lib(name)

    class MyFunc(L.autograd.Function):
        @staticmethod
        def forward(ctx, inp1, inp2, fail_0th):
            ctx.fail_0th = fail_0th
            return inp1.sum(0, keepdim=True)

        @staticmethod
        def backward(ctx, gO):
            gI = gO.expand(2, 2) * L.tensor([[float("nan")], [1.0]])  # a NaN made inside the backward
            return (gI, None, None) if ctx.fail_0th else (None, gI, None)

    inp = L.ones(2, 2, requires_grad=True)
    out = MyFunc.apply(inp, inp, fail_0th)
    out.backward(L.ones(1, 2))  # outside anomaly mode: NaN flows into .grad
    assert np.isnan(_np(inp.grad)).any()
    inp = L.ones(2, 2, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with L.autograd.detect_anomaly():
            out = MyFunc.apply(inp, inp, fail_0th)
            with pytest.raises(RuntimeError, match=f"MyFuncBackward.* returned nan values in its {0 if fail_0th else 1}th"):
                out.backward(L.ones(1, 2))


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_post_accumulate_grad_hook_returns_not_none(name):
    L = _lib(name)
    x = L.tensor([1.0, 2.0], requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: t.grad)
    with pytest.raises(RuntimeError, match="hooks should return None"):
        (x * 3).sum().backward()
    y = L.tensor([1.0, 2.0], requires_grad=True)
    y.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="expected Variable, but hook returned 'int'"):
        (y * 3).sum().backward()


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_grad_and_backward_inputs_fill_a_retained_grad(name):
    L = _lib(name)
    x = L.ones(2, requires_grad=True)
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    L.autograd.grad(z, x, retain_graph=True)  # the retain_grad hook runs in autograd.grad too
    np.testing.assert_array_equal(_np(y.grad), [4.0, 4.0])
    y.grad = None
    z.backward(inputs=[y], retain_graph=True)  # y is an input and retained: added once
    np.testing.assert_array_equal(_np(y.grad), [4.0, 4.0])
    assert x.grad is None
    z.backward(inputs=[x])
    np.testing.assert_array_equal(_np(y.grad), [8.0, 8.0])
    np.testing.assert_array_equal(_np(x.grad), [8.0, 8.0])


@requires_torch
@pytest.mark.parametrize("name", LIBS)
def test_next_functions(name):
    L = _lib(name)
    x, w = L.ones(2, requires_grad=True), L.ones(2)
    y = (x * 2) * w + x
    (mul, i), (acc, j) = y.grad_fn.next_functions
    assert (i, j) == (0, 0) and type(acc).__name__ == "AccumulateGrad" and acc.variable is x
    (inner, _), (none, k) = mul.next_functions
    assert none is None and k == 0
    assert inner.next_functions[0][0].variable is x
