"""Every differentiable op, gradchecked in float64 on random shapes and
broadcasts (hypothesis), first and second order: the spec table."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import retrograd as rg

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))


def away_from_zero(a):
    """Keep values off kinks: |a| in [0.2, 2]."""
    return np.sign(a + 1e-12) * (0.2 + np.abs(a) % 1.8)


def positive(a):
    return 0.3 + np.abs(a) % 2.0


# name -> (function, number of inputs, domain transform)
UNARY = {
    "neg": (lambda x: -x, None),
    "exp": (rg.exp, None),
    "log": (rg.log, positive),
    "log1p": (rg.log1p, positive),
    "sqrt": (rg.sqrt, positive),
    "abs": (rg.abs, away_from_zero),
    "sin": (rg.sin, None),
    "cos": (rg.cos, None),
    "tanh": (rg.tanh, None),
    "sigmoid": (rg.sigmoid, None),
    "relu": (rg.relu, away_from_zero),
    "leaky_relu": (lambda x: rg.leaky_relu(x, 0.1), away_from_zero),
    "elu": (lambda x: rg.elu(x, 1.3), away_from_zero),
    "gelu": (rg.gelu, None),
    "gelu_tanh": (lambda x: rg.gelu(x, approximate="tanh"), None),
    "softplus": (rg.softplus, None),
    "softplus_beta": (lambda x: rg.softplus(x, beta=2.0), None),
    "erf": (rg.erf, None),
    "square": (rg.square, None),
    "pow_scalar": (lambda x: x ** 3, None),
    "pow_frac": (lambda x: x ** 1.5, positive),
    "clamp": (lambda x: rg.clamp(x, -0.5, 0.7), lambda a: np.where(np.abs(np.abs(a) - 0.6) < 0.05, a + 0.3, a)),
    "sum_all": (lambda x: x.sum(), None),
    "mean_all": (lambda x: x.mean(), None),
    "var_all": (lambda x: x.var(), None),
    "std_ddof1": (lambda x: rg.std(x.reshape(-1), ddof=1) if x.size > 1 else x.sum(), None),
    "max_all": (lambda x: x.max(), None),
    "min_all": (lambda x: x.min(), None),
    "prod_all": (lambda x: x.prod(), None),
    "logsumexp_all": (lambda x: rg.logsumexp(x), None),
    "softmax_last": (lambda x: rg.softmax(x, axis=-1), None),
    "log_softmax_last": (lambda x: rg.log_softmax(x, axis=-1), None),
    "transpose": (lambda x: x.T, None),
    "reshape_flat": (lambda x: x.reshape(-1), None),
    "unsqueeze_squeeze": (lambda x: rg.squeeze(rg.unsqueeze(x, 0), 0) * 2.0, None),
    "getitem_slice": (lambda x: x[::2] if x.ndim else x, None),
    "getitem_neg_step": (lambda x: x[..., ::-1] if x.ndim else x * 1.0, None),
    "pad": (lambda x: rg.pad(x, 1, value=0.5), None),
    "flatten": (lambda x: rg.flatten(x), None),
}

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: rg.pow(x, y),
    "maximum": rg.maximum,
    "minimum": rg.minimum,
    "where": lambda x, y: rg.where(x.data > 0, x, y),
}

BINARY_DOMAIN = {
    "div": (None, away_from_zero),
    "pow": (positive, None),
}


def unique_values(a):
    """Make ties impossible (max/min/maximum/minimum off their kinks)."""
    flat = a.reshape(-1)
    flat += np.arange(flat.size) * 1e-3
    return a


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_unary_ops_gradcheck(name, shape, seed):
    fn, domain = UNARY[name]
    x = np.random.default_rng(seed).standard_normal(shape)
    x = unique_values(x)
    if domain is not None:
        x = domain(x)
    report = rg.gradcheck(fn, [x])
    assert report.ok, str(report)
    assert not report.kinks


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       seed=st.integers(0, 2**16))
def test_binary_ops_gradcheck_with_broadcasting(name, shapes, seed):
    rng = np.random.default_rng(seed)
    x, y = (rng.standard_normal(s) for s in shapes.input_shapes)
    x, y = unique_values(x), unique_values(y) + 0.0005  # no ties between x and y
    dx, dy = BINARY_DOMAIN.get(name, (None, None))
    x = dx(x) if dx else x
    y = dy(y) if dy else y
    report = rg.gradcheck(BINARY[name], [x, y])
    assert report.ok, str(report)


AXIS_REDUCTIONS = {
    "sum": rg.sum, "mean": rg.mean, "var": rg.var, "max": rg.max, "min": rg.min, "prod": rg.prod,
    "logsumexp": rg.logsumexp,
}


@pytest.mark.parametrize("name", sorted(AXIS_REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), seed=st.integers(0, 2**16),
       data=st.data())
def test_reductions_over_axes(name, keepdims, shape, seed, data):
    axis = data.draw(st.one_of(st.integers(-len(shape), len(shape) - 1),
                               st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)))
    x = unique_values(np.random.default_rng(seed).standard_normal(shape))
    report = rg.gradcheck(lambda t: AXIS_REDUCTIONS[name](t, axis=axis, keepdims=keepdims), [x])
    assert report.ok, str(report)


@SETTINGS
@given(batch=mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_batched_matmul(batch, m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch.input_shapes[0] + (m, k))
    b = rng.standard_normal(batch.input_shapes[1] + (k, n))
    assert rg.gradcheck(rg.matmul, [a, b]).ok


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((5, 2, 3), (3,)),
                                   ((3,), (5, 3, 2))])
def test_matmul_vectors(sa, sb):
    rng = np.random.default_rng(0)
    report = rg.gradcheck(rg.matmul, [rng.standard_normal(sa), rng.standard_normal(sb)])
    assert report.ok, str(report)


@pytest.mark.parametrize("xshape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias):
    rng = np.random.default_rng(1)
    args = [rng.standard_normal(xshape), rng.standard_normal((5, 4))] + ([rng.standard_normal(5)] if bias else [])
    assert rg.gradcheck(rg.linear, args).ok


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


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family_other_axes(axis):
    x = np.random.default_rng(3).standard_normal((3, 4))
    for fn in (rg.softmax, rg.log_softmax):
        assert rg.gradcheck(lambda t: fn(t, axis=axis), [x]).ok


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_stack_split(axis):
    rng = np.random.default_rng(4)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    assert rg.gradcheck(lambda *t: rg.concatenate(t, axis=axis), [a, b, c]).ok
    assert rg.gradcheck(lambda *t: rg.stack(t, axis=axis), [a, b, c]).ok
    ax = axis % 2
    assert rg.gradcheck(lambda t: rg.split(t, [1], axis=ax)[1] * 3.0, [a]).ok


def test_split_parts_are_views_of_the_input():
    x = rg.tensor(np.arange(6.0), requires_grad=True)
    parts = rg.split(x, 3)
    assert [p.tolist() for p in parts] == [[0, 1], [2, 3], [4, 5]]
    (parts[0].sum() + 2 * parts[2].sum()).backward()
    assert x.grad.tolist() == [1, 1, 0, 0, 2, 2]


@pytest.mark.parametrize("index", [
    (slice(None), 1),
    (np.array([0, 2, 2, 1]),),          # repeated integer indices accumulate
    (np.array([[0, 1], [1, 1]]), slice(1, 3)),
    (Ellipsis, None, 0),
    (np.array([True, False, True]),),   # boolean mask
])
def test_getitem_indices(index):
    x = np.random.default_rng(5).standard_normal((3, 4))
    report = rg.gradcheck(lambda t: t[index], [x])
    assert report.ok, str(report)


def test_repeated_indices_accumulate_exactly():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_take_and_gather():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4))
    idx = np.array([[0, 3, 3], [1, 1, 0], [2, 0, 2]])
    assert rg.gradcheck(lambda t: rg.gather(t, 1, idx), [x]).ok
    assert rg.gradcheck(lambda t: rg.take(t, np.array([1, 1, 5]), axis=None), [x]).ok
    assert rg.gradcheck(lambda t: rg.take(t, np.array([2, 0, 2]), axis=1), [x]).ok
    out = rg.gather(rg.tensor(x), 1, idx)
    np.testing.assert_array_equal(out.data, np.take_along_axis(x, idx, axis=1))


def test_pad_per_axis_and_values():
    x = np.random.default_rng(7).standard_normal((2, 3))
    out = rg.pad(rg.tensor(x), ((1, 0), (2, 1)), value=-1.0)
    np.testing.assert_array_equal(out.data, np.pad(x, ((1, 0), (2, 1)), constant_values=-1.0))
    assert rg.gradcheck(lambda t: rg.pad(t, ((1, 0), (2, 1))), [x]).ok


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


# ---------------------------------------------------------------- second order
SECOND_ORDER = {
    "tanh": (rg.tanh, None), "sigmoid": (rg.sigmoid, None), "exp": (rg.exp, None),
    "log": (rg.log, positive), "sqrt": (rg.sqrt, positive), "sin": (rg.sin, None),
    "softplus": (rg.softplus, None), "gelu": (rg.gelu, None), "elu": (rg.elu, away_from_zero),
    "relu": (rg.relu, away_from_zero), "abs": (rg.abs, away_from_zero),
    "softmax": (rg.softmax, None), "log_softmax": (rg.log_softmax, None),
    "logsumexp": (lambda x: rg.logsumexp(x, axis=-1), None), "prod": (lambda x: rg.prod(x, axis=-1), None),
    "max": (lambda x: rg.max(x, axis=0), None), "var": (rg.var, None), "cube": (lambda x: x ** 3, None),
    "getitem": (lambda x: x[np.array([0, 0, 1])] ** 2, None), "pad": (lambda x: rg.pad(x, 1) ** 2, None),
    "concat": (lambda x: rg.concatenate([x, x * x], axis=0) ** 2, None),
    "stack": (lambda x: rg.stack([x, x * x]).sum(axis=0) ** 2, None),
    "pow": (lambda x: rg.pow(x, x), positive), "div": (lambda x: 1.0 / x, positive),
    "clamp": (lambda x: rg.clamp(x * x, max=1.5) * x, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order(name):
    fn, domain = SECOND_ORDER[name]
    x = unique_values(np.random.default_rng(9).standard_normal((3, 3)))
    if domain is not None:
        x = domain(x)
    report = rg.gradgradcheck(fn, [x])
    assert report.ok, str(report)


def test_second_order_matmul_and_linear():
    rng = np.random.default_rng(10)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(4)
    assert rg.gradgradcheck(lambda x, y: rg.tanh(x @ y), [a, b]).ok
    assert rg.gradgradcheck(lambda x, w, bb: rg.tanh(rg.linear(x, w.T, bb[:2])), [a, b, c]).ok
    assert rg.gradgradcheck(lambda x, y: rg.tanh(x @ y), [c, b]).ok


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
    assert rg.gradcheck(lambda p, q: rg.mse_loss(p, q, reduction=reduction), [a, y]).ok
    assert rg.gradgradcheck(lambda p, q: rg.mse_loss(p, q, reduction=reduction), [a, y]).ok


def test_mse_loss_refuses_to_broadcast():
    with pytest.raises(rg.OpError, match=r"mse_loss: input shape \(4, 1\) and target shape \(4,\) differ"):
        rg.mse_loss(rg.tensor(np.zeros((4, 1))), rg.tensor(np.zeros(4)))


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


@SETTINGS
@given(n=st.integers(1, 2), c=st.integers(1, 2), o=st.integers(1, 3), h=st.integers(3, 6), w=st.integers(3, 6),
       k=st.integers(1, 3), stride=st.integers(1, 2), padding=st.integers(0, 1), dilation=st.integers(1, 2),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_random_geometry(n, c, o, h, w, k, stride, padding, dilation, bias, seed):
    if dilation * (k - 1) + 1 > min(h, w) + 2 * padding:
        return  # the kernel does not fit
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k))] + \
        ([rng.standard_normal(o)] if bias else [])
    report = rg.gradcheck(lambda *t: rg.conv2d(t[0], t[1], t[2] if bias else None, stride, padding, dilation), args)
    assert report.ok, str(report)


@SETTINGS
@given(h=st.integers(2, 6), w=st.integers(2, 6), k=st.integers(1, 3), stride=st.integers(1, 3),
       seed=st.integers(0, 2**16), pool=st.sampled_from(["max", "avg"]))
def test_pooling_random_geometry(h, w, k, stride, seed, pool):
    if k > min(h, w):
        return
    x = unique_values(np.random.default_rng(seed).standard_normal((2, 2, h, w)))
    fn = rg.max_pool2d if pool == "max" else rg.avg_pool2d
    report = rg.gradcheck(lambda t: fn(t, k, stride, k // 2), [x])
    assert report.ok, str(report)


def test_im2col_and_col2im_are_adjoint():
    """⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩: each is the other's vjp."""
    from retrograd.ops.conv import col2im_array, im2col_array

    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = im2col_array(x, (3, 2), (2, 1), (1, 2))
    y = rng.standard_normal(cols.shape)
    np.testing.assert_allclose((cols * y).sum(), (x * col2im_array(y, x.shape, (3, 2), (2, 1), (1, 2))).sum(),
                               rtol=1e-12)
