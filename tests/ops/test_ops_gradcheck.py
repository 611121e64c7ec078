"""Op behaviour the spec table (tests/op_specs.py, run by tests/ops/test_op_table.py)
does not express: fused ops equal their compositions, views and accumulation,
dtypes, method forms, shape errors, adjointness of the convolution's helpers.
Kinks and ties have their own tests in tests/autograd/test_conventions.py."""

import numpy as np
import pytest

import retrograd as rg


def test_linear_equals_composed_path():
    rng = np.random.default_rng(2)
    x, w, b = (rg.tensor(rng.standard_normal(s), requires_grad=True) for s in [(6, 4), (3, 4), (3,)])
    fused = rg.linear(x, w, b)
    composed = x @ w.T + b
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    v = rng.standard_normal(fused.shape)
    g1 = rg.grad(fused, [x, w, b], grad_outputs=v)
    g2 = rg.grad(composed, [x, w, b], grad_outputs=v)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(a.data, c.data, rtol=1e-10)


def test_split_parts_are_views_of_the_input():
    x = rg.tensor(np.arange(6.0), requires_grad=True)
    parts = rg.split(x, 3, axis=0)  # NumPy's form: three equal parts
    assert [p.tolist() for p in parts] == [[0, 1], [2, 3], [4, 5]]
    (parts[0].sum() + 2 * parts[2].sum()).backward()
    assert x.grad.tolist() == [1, 1, 0, 0, 2, 2]


def test_repeated_indices_accumulate_exactly():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_broadcast_and_expand():
    x = np.random.default_rng(8).standard_normal((3, 1))
    assert rg.gradcheck(lambda t: rg.broadcast_to(t, (2, 3, 4)), [x]).ok
    assert rg.gradcheck(lambda t: t.expand(2, -1, 5), [x]).ok
    assert rg.gradcheck(lambda t: rg.permute(rg.broadcast_to(t, (3, 4)), 1, 0), [x]).ok


def test_cast_gradient_comes_back_in_the_input_dtype():
    x = rg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = rg.cast(x, np.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_transpose_method_follows_pytorch():
    x = rg.tensor(np.zeros((2, 3, 4)))
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.transpose().shape == (4, 3, 2)
    assert x.permute(1, 2, 0).shape == (3, 4, 2)
    assert rg.transpose(x, (1, 0, 2)).shape == (3, 2, 4)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_fused_equals_composed(reduction):
    rng = np.random.default_rng(11)
    a, y = (rg.tensor(rng.standard_normal((5, 3)), requires_grad=True) for _ in range(2))
    fused = rg.mse_loss(a, y, reduction=reduction)
    sq = (a - y) ** 2
    composed = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    v = rng.standard_normal(fused.shape)
    for g1, g2 in zip(rg.grad(fused, [a, y], grad_outputs=v), rg.grad(composed, [a, y], grad_outputs=v)):
        np.testing.assert_allclose(g1.data, g2.data, rtol=1e-10)


def test_mse_loss_warns_and_broadcasts_like_pytorch():
    """PyTorch broadcasts mismatched shapes with a UserWarning (a common bug: (N, 1) against (N,))."""
    with pytest.warns(UserWarning, match="mse_loss"):
        loss = rg.mse_loss(rg.tensor(np.zeros((4, 1))), rg.tensor(np.arange(4.0)))
    assert loss.item() == pytest.approx(np.mean(np.arange(4.0) ** 2))


@pytest.mark.parametrize("axis", [None, 0, (0, 2)])
def test_mean_primitive_equals_sum_over_n(axis):
    x = rg.tensor(np.random.default_rng(12).standard_normal((2, 3, 4)), requires_grad=True)
    m = rg.mean(x, axis=axis)
    n = x.size // max(m.size, 1) if axis is not None else x.size
    s = rg.sum(x, axis=axis) * (1.0 / n)
    np.testing.assert_allclose(m.data, s.data, rtol=1e-12)
    v = np.random.default_rng(13).standard_normal(m.shape)
    np.testing.assert_allclose(rg.grad(m, x, grad_outputs=v)[0].data, rg.grad(s, x, grad_outputs=v)[0].data,
                               rtol=1e-10)


def test_im2col_and_col2im_are_adjoint():
    """⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩: each is the other's vjp."""
    from retrograd.ops.conv import col2im_array, im2col_array

    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = im2col_array(x, (3, 2), (2, 1), (1, 2))
    y = rng.standard_normal(cols.shape)
    np.testing.assert_allclose((cols * y).sum(), (x * col2im_array(y, x.shape, (3, 2), (2, 1), (1, 2))).sum(),
                               rtol=1e-12)
