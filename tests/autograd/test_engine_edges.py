"""Edges of the engine that must raise instead of giving a plausible wrong number."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn


def test_a_hook_that_changes_the_gradient_shape_is_refused():
    x = rg.tensor(np.ones(2), requires_grad=True)
    x.register_hook(lambda g: rg.tensor(np.ones(5)))
    with pytest.raises(RuntimeError, match=r"changed the size of the gradient.*\(2,\).*\(5,\)"):
        (x * 3).sum().backward()


def test_a_hook_on_a_non_leaf_that_changes_the_shape_is_refused():
    x = rg.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.sum(0))
    with pytest.raises(RuntimeError, match="changed the size"):
        y.sum().backward()


def test_a_hook_returning_the_same_shape_still_replaces_the_gradient():
    x = rg.tensor(np.ones(3), requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [20.0, 20.0, 20.0])


def test_backward_after_an_optimizer_step_modified_a_saved_weight_raises():
    """loss.backward(retain_graph=True); opt.step(); loss.backward() used to silently differentiate
    with the updated weights. The weight is kept because x needs a gradient (x̄ = ȳ W)."""
    rg.manual_seed(0)
    model = nn.Linear(3, 2).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    loss = (model(x) ** 2).sum()
    opt = rg.optim.SGD(model.parameters(), lr=0.1)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"backward of linear: input 1 .* modified in place"):
        loss.backward()


def test_a_weight_the_backward_does_not_read_may_change_in_place():
    """As in PyTorch: with a constant input, W̄ = ȳᵀx and b̄ = Σȳ never read W, so a linear
    layer does not keep it, and a second backward after the step is the same gradient."""
    rg.manual_seed(0)
    model = nn.Linear(3, 2).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    loss = (model(x) ** 2).sum()
    loss.backward(retain_graph=True)
    first = model.weight.grad.data.copy()
    rg.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(model.weight.grad.data, first)


def test_load_state_dict_counts_as_an_in_place_modification():
    lin = nn.Linear(2, 2).double()
    x = rg.tensor(np.ones((1, 2)), requires_grad=True)
    loss = (lin(x) * lin(x)).sum()
    lin.load_state_dict({k: v * 2 for k, v in lin.state_dict().items()})
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_a_fresh_forward_after_the_step_is_fine():
    lin = nn.Linear(2, 2).double()
    opt = rg.optim.SGD(lin.parameters(), lr=0.1)
    x = rg.tensor(np.ones((1, 2)))
    for _ in range(3):
        opt.zero_grad()
        loss = (lin(x) ** 2).sum()
        loss.backward()
        opt.step()
    assert lin.weight.grad is not None


def test_an_op_that_does_not_save_the_modified_array_is_not_flagged():
    """Only arrays an op still holds count: a replaced array (copy-on-write) is fine."""
    w = rg.tensor(np.ones(3), requires_grad=True)
    loss = (w * 2).sum()
    w.data = w.data * 5  # a new array: the op still holds the old one, untouched
    w.mark_modified_()
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 2.0, 2.0])


def test_complex_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="complex tensors cannot require gradients"):
        rg.tensor(np.array([1 + 2j]), requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        rg.tensor(np.array([1, 2]), requires_grad=True)


def test_python_scalars_from_one_element_tensors_of_any_shape():
    t = rg.tensor(np.array([[2.5]]))
    assert float(t) == 2.5 and int(t) == 2 and bool(t)
    assert [10, 20, 30][rg.tensor(np.array([1]))] == 20
    with pytest.raises(ValueError, match="one-element"):
        float(rg.tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(rg.tensor(np.ones(2)))
    with pytest.raises(TypeError, match="integer tensors"):
        [1, 2][rg.tensor(np.array([1.0]))]


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_concatenating_empty_tensors_differentiates(shape):
    """Two empty inputs can have their (empty) concatenation's shape: the tape still keeps their shapes
    (only an elementwise op's vjp reads neither input), so the backward can slice the gradient."""
    x = rg.tensor(np.zeros(shape), requires_grad=True)
    y = rg.cat([x * 1.0, x * 2.0], dim=-1)
    y.sum().backward()
    assert x.grad.shape == shape
