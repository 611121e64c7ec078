"""The tape, the backward engine, grad(), hooks and grad modes."""

import gc
import weakref

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd import graph

from conftest import t64


def test_tensor_dtypes():
    assert rg.tensor([1.0, 2.0]).dtype == np.float32
    assert rg.tensor(1.5).dtype == np.float32
    assert rg.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert rg.tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert rg.tensor([1, 2]).dtype.kind == "i"
    a = np.zeros(3, np.float32)
    assert rg.from_numpy(a).data is a
    assert rg.tensor(a).data is a  # no copy when the dtype already matches


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="floating"):
        rg.tensor([1, 2], requires_grad=True)


def test_scalar_backward_and_leaf_accumulation():
    x = t64([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2, 4, 6])
    (3 * x).sum().backward()  # accumulates
    np.testing.assert_allclose(x.grad.data, [5, 7, 9])
    assert x.is_leaf and x.grad.is_leaf


def test_grad_arrays_are_owned_and_not_shared():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    assert a.grad.data.flags.writeable and b.grad.data.flags.writeable
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.data, [1, 1])


def test_backward_needs_grad_for_non_scalar():
    x = t64([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_allclose(x.grad.data, [2, -2])


def test_second_backward_through_freed_graph_raises():
    x = t64([1.0, 2.0])
    y = rg.tanh(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_two_backwards():
    x = t64([1.0, 2.0])
    y = rg.exp(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp([1.0, 2.0]))


def test_backward_frees_saved_arrays():
    x = t64(np.ones(1000))
    y = rg.tanh(x)
    node = y.grad_fn
    z = y.sum()
    z.backward()
    assert node.ans is None and graph.is_released(node) and graph.inputs(node) == ()


def test_diamond_graph_and_reuse():
    x = t64([0.5, -1.0])
    a = x * x
    b = rg.sin(x)
    y = (a * b + a + x).sum()
    y.backward()
    xv = x.data
    expected = 2 * xv * np.sin(xv) + xv ** 2 * np.cos(xv) + 2 * xv + 1
    np.testing.assert_allclose(x.grad.data, expected)


def test_no_grad_and_enable_grad():
    x = t64([1.0])
    with rg.no_grad():
        y = x * 2
        assert not y.requires_grad and y.grad_fn is None
        with rg.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @rg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad


def test_detach_cuts_the_tape():
    x = t64([2.0])
    y = (x * x).detach() * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [4.0])


def test_retain_grad_and_hooks():
    x = t64([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.data.copy()))
    x.register_hook(lambda g: g * 10)  # leaf hook replaces the gradient
    (h * h).sum().backward(retain_graph=True)
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    np.testing.assert_allclose(seen[0], 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 10 * 3 * 2 * h.data)
    handle.remove()
    x.grad = None
    (h * 1.0).sum().backward()
    assert len(seen) == 1


def test_grad_function_returns_and_does_not_accumulate():
    x, w = t64([1.0, 2.0]), t64([3.0, -1.0])
    y = (x * w).sum()
    gx, gw = rg.grad(y, [x, w])
    np.testing.assert_allclose(gx.data, w.data)
    np.testing.assert_allclose(gw.data, x.data)
    assert x.grad is None and w.grad is None


def test_grad_wrt_non_leaf_and_unused():
    x = t64([1.0, 2.0])
    h = x * 2
    y = (h * h).sum()
    (gh,) = rg.grad(y, h, retain_graph=True)
    np.testing.assert_allclose(gh.data, 2 * h.data)
    z = t64([5.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        rg.grad(y, [x, z], retain_graph=True)
    gx, gz = rg.grad(y, [x, z], allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.data, 8 * x.data)


def test_hessian_vector_product():
    """f(x) = Σ x³ + x₀x₁;  H = diag(6x) + offdiag 1."""
    x = t64([1.0, 2.0])
    y = (x ** 3).sum() + x[0] * x[1]
    (g,) = rg.grad(y, x, create_graph=True)
    v = np.array([1.0, -1.0])
    (hv,) = rg.grad((g * v).sum(), x)
    H = np.array([[6.0, 1.0], [1.0, 12.0]])
    np.testing.assert_allclose(hv.data, H @ v)


def test_create_graph_backward_then_backward_again():
    x = t64([0.3, -0.7])
    y = rg.tanh(x).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.sum().backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, -2 * t * (1 - t ** 2))


def test_long_chain_is_iterative_and_memory_is_released():
    """A million-op chain backprops without recursion, and every tape entry is
    freed afterwards (weak references to a sample of them die)."""
    n = 1_000_000
    x = rg.tensor(np.array(1.0), requires_grad=True)
    y = x
    probes = []
    for i in range(n):
        y = y * 1.0
        if i % 100_000 == 0:
            probes.append(weakref.ref(y.grad_fn))
    y.backward()
    assert x.grad.item() == 1.0
    # released by backward itself, as the pass moves down the chain
    assert all(p() is None or graph.is_released(p()) for p in probes)
    del y
    gc.collect()
    assert all(p() is None for p in probes)


def test_deep_graph_dropped_without_backward_does_not_crash():
    x = rg.tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y + 1.0
    del y
    gc.collect()


def test_hooks_are_called_in_engine_order_and_trace_prints(capsys):
    x = t64(np.ones((2, 3)))
    w = t64(np.ones((3, 4)))
    loss = rg.tanh(x @ w).mean()
    trace = rg.explain(loss)
    out = capsys.readouterr().out
    assert [row[1] for row in trace.rows] == ["mean", "tanh", "matmul"]
    assert "matmul" in out and "|grad in|" in out
    assert x.grad is None  # explain does not write gradients
    loss.backward(trace=True)  # the graph was kept
    assert "tanh" in capsys.readouterr().out
    assert x.grad is not None


def test_mixed_dtypes_cast_gradients_back():
    a = rg.tensor(np.ones(2, np.float32), requires_grad=True)
    b = rg.tensor(np.ones(2, np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_numpy_operands_on_either_side():
    x = t64([1.0, 2.0])
    y = np.array([2.0, 3.0]) * x + np.float64(1.0) - x / np.array([1.0, 2.0])
    assert isinstance(y, rg.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2 - 1, 3 - 0.5])


def test_repr_item_and_numpy():
    x = rg.tensor([1.5], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=mul" in repr(x * 2)
    assert (x * 2).item() == 3.0
    assert np.asarray(x * 2).tolist() == [3.0]


def test_leaf_hook_runs_once_on_the_summed_gradient():
    """Like PyTorch: a leaf used twice gets one hook call with the total gradient."""
    x = t64([1.0, 2.0])
    calls = []

    def clip(g):
        calls.append(g.data.copy())
        return rg.tensor(np.minimum(g.data, 3.0))

    x.register_hook(clip)
    (x * 2.0 + x * 2.0).sum().backward()  # total 4 per element, clipped to 3
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [4.0, 4.0])
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_zero_grad_to_none_or_in_place():
    x = t64([1.0, 2.0])
    (x * 3).sum().backward()
    g = x.grad
    x.zero_grad_(set_to_none=False)
    assert x.grad is g and x.grad.data.tolist() == [0.0, 0.0]
    x.zero_grad_()
    assert x.grad is None


def test_explain_abbreviates_long_passes_but_keeps_every_row(capsys):
    x = t64([1.0])
    y = x
    for _ in range(200):
        y = y * 1.01
    trace = rg.explain(y.sum(), limit=10)
    out = capsys.readouterr().out
    assert len(trace) == 201 and "more steps" in out and "the tape held" in out
    assert len(out.strip().splitlines()) == 1 + 10 + 1 + 1


def test_grad_of_an_input_given_twice_is_given_twice():
    """torch.autograd.grad([L], [k, w, k]) gives k's gradient at both places (an online step whose
    state part passes through unchanged asks for it as the new state and as the old one)."""
    k = rg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = rg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    h = k * w
    gk, gw, gk2 = rg.grad([(h * h).sum()], [k, w, k], retain_graph=True)
    np.testing.assert_array_equal(gk.data, 2 * k.data * w.data ** 2)
    np.testing.assert_array_equal(gk2.data, gk.data)
    np.testing.assert_array_equal(gw.data, 2 * w.data * k.data ** 2)
    g1, g2 = rg.grad([h], [h, h], [rg.tensor(np.ones(2))])  # an intermediate given twice, too
    np.testing.assert_array_equal(g1.data, np.ones(2))
    np.testing.assert_array_equal(g2.data, np.ones(2))
