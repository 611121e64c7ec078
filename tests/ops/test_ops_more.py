"""The ops PyTorch users reach for (more activations, rounding and math,
cumulative ops, sort/topk, rearranging, einsum, norms): values, gradients and
dtypes equal PyTorch's in float64 on random shapes; first and second derivatives
gradchecked; kinks follow ``rg.conventions``; bad arguments raise ``OpError``
naming the op; the method forms behave like PyTorch's."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import retrograd as rg
from conftest import requires_torch

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped one by one (conftest); gradchecks still run
    torch = None


def TF(path):
    """``torch.<path>`` looked up when called, so the tables import without PyTorch."""
    def call(*args, **kwargs):
        fn = torch
        for part in path.split("."):
            fn = getattr(fn, part)
        return fn(*args, **kwargs)
    return call

SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
SHAPES = array_shapes(min_dims=0, max_dims=3, max_side=4)
NONSCALAR = array_shapes(min_dims=1, max_dims=3, max_side=4)


def _np_dtype(torch_dtype):
    return torch.empty((), dtype=torch_dtype).numpy().dtype


def assert_matches_torch(rg_fn, torch_fn, *arrays, seed=0, check_dtype=True):
    """Values, dtype and the gradient of ⟨v, f(x)⟩ for every float input equal torch's (float64)."""
    xs = [rg.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    out, t_out = rg_fn(*xs), torch_fn(*ts)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    if check_dtype:
        assert out.dtype == _np_dtype(t_out.dtype)
    if not t_out.requires_grad:
        return
    v = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        (out * rg.tensor(v)).sum().backward()
    t_out.backward(torch.tensor(v))
    for x, t in zip(xs, ts):
        if not t.requires_grad:
            continue
        expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad.data
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def check_derivatives(fn, *arrays, second=True):
    """First (and second) derivatives against finite differences, float64."""
    xs = [rg.tensor(a.copy(), requires_grad=True) for a in arrays]
    assert rg.gradcheck(fn, xs).ok
    if second:
        assert rg.gradgradcheck(fn, xs).ok


def _values(seed, shape, domain=None):
    a = np.random.default_rng(seed).standard_normal(shape)
    return a if domain is None else domain(a)


def positive(a): return 0.3 + np.abs(a) % 2.0
def inside_unit(a): return 0.9 * np.tanh(a)
def off_integers(a): return np.floor(3 * a) + 0.1 + 0.8 * (np.abs(a) % 1.0)  # jumps are ≥ 0.1 away


# name: (rg function, torch function, domain)
UNARY = {
    "silu": (rg.silu, TF("nn.functional.silu"), None),
    "mish": (rg.mish, TF("nn.functional.mish"), lambda a: 3 * a),
    "hardtanh": (rg.hardtanh, TF("nn.functional.hardtanh"), lambda a: 2 * a),
    "relu6": (rg.relu6, TF("nn.functional.relu6"), lambda a: 5 * a),
    "selu": (rg.selu, TF("selu"), None),
    "logsigmoid": (rg.logsigmoid, TF("nn.functional.logsigmoid"), lambda a: 10 * a),
    "softsign": (rg.softsign, TF("nn.functional.softsign"), None),
    "floor": (rg.floor, TF("floor"), off_integers),
    "ceil": (rg.ceil, TF("ceil"), off_integers),
    "round": (rg.round, TF("round"), off_integers),
    "sign": (rg.sign, TF("sign"), None),
    "rsqrt": (rg.rsqrt, TF("rsqrt"), positive),
    "log2": (rg.log2, TF("log2"), positive),
    "log10": (rg.log10, TF("log10"), positive),
    "tan": (rg.tan, TF("tan"), lambda a: 1.2 * np.tanh(a)),
    "asin": (rg.asin, TF("asin"), inside_unit),
    "acos": (rg.acos, TF("acos"), inside_unit),
    "atan": (rg.atan, TF("atan"), lambda a: 3 * a),
    "sinh": (rg.sinh, TF("sinh"), None),
    "cosh": (rg.cosh, TF("cosh"), None),
}


@pytest.mark.parametrize("name", UNARY)
@SETTINGS
@given(shape=SHAPES, seed=st.integers(0, 2**16))
def test_unary_gradchecks(name, shape, seed):
    fn, _, domain = UNARY[name]
    check_derivatives(fn, _values(seed, shape, domain))


@requires_torch
@pytest.mark.parametrize("name", UNARY)
@SETTINGS
@given(shape=SHAPES, seed=st.integers(0, 2**16))
def test_unary_matches_torch(name, shape, seed):
    fn, torch_fn, domain = UNARY[name]
    assert_matches_torch(fn, torch_fn, _values(seed, shape, domain), seed=seed)


BINARY = {
    "atan2": (rg.atan2, TF("atan2")),
    "logaddexp": (rg.logaddexp, TF("logaddexp")),
}


@pytest.mark.parametrize("name", BINARY)
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=st.integers(0, 2**16))
def test_binary_matches_torch_and_gradchecks(name, shapes, seed):
    fn, torch_fn = BINARY[name]
    a, b = (_values(seed + i, s) for i, s in enumerate(shapes.input_shapes))
    check_derivatives(fn, a, 3 * b)
    if torch is not None:  # the comparison; the gradcheck above runs without PyTorch too
        assert_matches_torch(fn, torch_fn, a, 3 * b, seed=seed)


@requires_torch
def test_round_is_half_to_even_and_takes_decimals():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.2345, 125.0])
    assert rg.round(rg.tensor(x)).tolist() == torch.round(torch.tensor(x)).tolist()
    np.testing.assert_allclose(rg.round(rg.tensor(x), decimals=2).data,
                               torch.round(torch.tensor(x), decimals=2).numpy())
    np.testing.assert_allclose(rg.round(rg.tensor(x), decimals=-1).data,
                               torch.round(torch.tensor(x), decimals=-1).numpy())


def test_step_functions_have_zero_gradient_even_for_inf_upstream():
    x = rg.tensor([-1.0, 0.0, 2.5], requires_grad=True)
    for fn in (rg.floor, rg.ceil, rg.round, rg.sign):
        (g,) = rg.grad(fn(x), [x], grad_outputs=rg.tensor([math.inf, math.nan, 1.0]))
        assert g.tolist() == [0.0, 0.0, 0.0]


@requires_torch
def test_sign_of_nan_is_zero_like_torch():
    x = np.array([np.nan, -0.0, -3.0, 2.0])
    assert rg.sign(rg.tensor(x)).tolist() == torch.sign(torch.tensor(x)).tolist()
    assert rg.sign(rg.tensor([True, False])).dtype == np.bool_


@requires_torch
def test_floating_functions_promote_integers_to_the_default_dtype():
    ints = np.array([1, 4, 9])
    for name in ("rsqrt", "log2", "log10", "tan", "atan", "sinh", "cosh"):
        out = getattr(rg, name)(rg.tensor(ints))
        expected = getattr(torch, name)(torch.tensor(ints))
        assert out.dtype == _np_dtype(expected.dtype) == np.float32, name
    assert rg.floor(rg.tensor(ints)).dtype == np.int64  # integers stay integers, like torch
    assert rg.atan2(rg.tensor(ints), rg.tensor(ints)).dtype == np.float32


@requires_torch
def test_boolean_tests_and_any_all_match_torch():
    x = np.array([[1.0, np.nan, -np.inf], [0.0, 2.0, np.inf]])
    for name in ("isnan", "isfinite", "isinf"):
        out = getattr(rg, name)(rg.tensor(x))
        assert out.dtype == np.bool_ and not out.requires_grad
        assert out.tolist() == getattr(torch, name)(torch.tensor(x)).tolist()
    z = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    for name in ("any", "all"):
        for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": (0, 1)}):
            out = getattr(rg, name)(rg.tensor(z), **kwargs)
            expected = getattr(torch, name)(torch.tensor(z), **kwargs)
            assert out.dtype == np.bool_ and out.tolist() == expected.tolist(), (name, kwargs)
    assert rg.tensor(z).any().item() is True and rg.tensor(z).all().item() is False


# ------------------------------------------------------------ activations at their kinks
@requires_torch
def test_activation_kinks_follow_conventions():
    """hardtanh/relu6 are clamp: at a bound the tie of slopes (1, 0) — 0 under
    the default min_norm, as PyTorch; selu at 0 is scale·(the tie of 1, α):
    min_norm gives scale where PyTorch gives scale·α (documented difference)."""
    at_bounds = np.array([-1.0, 1.0])
    assert_matches_torch(rg.hardtanh, TF("nn.functional.hardtanh"), at_bounds)
    assert_matches_torch(rg.relu6, TF("nn.functional.relu6"), np.array([0.0, 6.0]))
    x = rg.tensor([-1.0, 1.0], requires_grad=True)
    with rg.conventions.policy("first"):
        y = rg.hardtanh(x)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    x = rg.tensor([0.0], requires_grad=True)
    rg.selu(x).sum().backward()
    assert x.grad.item() == pytest.approx(rg.ops.activations.SELU_SCALE)
    t = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    torch.selu(t).sum().backward()
    assert t.grad.item() == pytest.approx(rg.ops.activations.SELU_SCALE * rg.ops.activations.SELU_ALPHA)


@requires_torch
def test_silu_and_logsigmoid_are_stable_for_large_inputs():
    x = np.array([-800.0, -50.0, 0.0, 50.0, 800.0])
    assert_matches_torch(rg.logsigmoid, TF("nn.functional.logsigmoid"), x)
    assert_matches_torch(rg.silu, TF("nn.functional.silu"), x)


# ------------------------------------------------------------ cumulative
@requires_torch
@SETTINGS
@given(shape=NONSCALAR, seed=st.integers(0, 2**16), data=st.data())
def test_cumsum_cumprod_match_torch(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = _values(seed, shape)
    for rg_fn, torch_fn in ((rg.cumsum, torch.cumsum), (rg.cumprod, torch.cumprod)):
        assert_matches_torch(lambda x: rg_fn(x, dim), lambda t: torch_fn(t, dim), a, seed=seed)
        check_derivatives(lambda x: rg_fn(x, dim), a)


@requires_torch
@SETTINGS
@given(shape=NONSCALAR, seed=st.integers(0, 2**16), data=st.data())
def test_cumprod_gradient_is_exact_with_zeros(shape, seed, data):
    """First and second derivatives equal torch's where the input has zeros
    (one, several, at the start or end of a line)."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    a[rng.random(shape) < 0.3] = 0.0
    a.reshape(-1)[0] = 0.0
    assert_matches_torch(lambda x: rg.cumprod(x, dim), lambda t: torch.cumprod(t, dim), a, seed=seed)
    v, u = rng.standard_normal(shape), rng.standard_normal(shape)
    x = rg.tensor(a, requires_grad=True)
    (g,) = rg.grad(rg.cumprod(x, dim), [x], grad_outputs=rg.tensor(v), create_graph=True)
    (gg,) = rg.grad((g * rg.tensor(u)).sum(), [x], allow_unused=True)
    gg = rg.zeros(*shape) if gg is None else gg
    t = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.cumprod(t, dim), [t], torch.tensor(v), create_graph=True)
    tgg = torch.autograd.grad((tg * torch.tensor(u)).sum(), [t])[0] if tg.requires_grad else torch.zeros(shape)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=1e-9, atol=1e-12)


@requires_torch
def test_cumulative_dtypes_like_torch():
    for dtype in (np.int32, np.int64, np.bool_):
        a = np.array([[1, 0, 1], [1, 1, 0]], dtype=dtype)
        for name in ("cumsum", "cumprod"):
            out = getattr(rg, name)(rg.tensor(a), 1)
            expected = getattr(torch, name)(torch.tensor(a), 1)
            assert out.dtype == _np_dtype(expected.dtype), (name, dtype)
            assert out.tolist() == expected.tolist()
    assert rg.cumsum(rg.tensor([1, 2]), 0, dtype=rg.float64).dtype == np.float64


# ------------------------------------------------------------ ordering
def _distinct(seed, shape):
    a = np.random.default_rng(seed).permutation(math.prod(shape)).reshape(shape)
    return a * 0.37 - 1.0


@requires_torch
@SETTINGS
@given(shape=NONSCALAR, seed=st.integers(0, 2**16), data=st.data())
def test_sort_argsort_topk_match_torch(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    descending = data.draw(st.booleans())
    a = _distinct(seed, shape)
    assert_matches_torch(lambda x: rg.sort(x, dim, descending)[0],
                         lambda t: torch.sort(t, dim, descending)[0], a, seed=seed)
    assert_matches_torch(lambda x: rg.sort(x, dim, descending).indices,
                         lambda t: torch.sort(t, dim, descending).indices, a)
    assert_matches_torch(lambda x: rg.argsort(x, dim, descending),
                         lambda t: torch.argsort(t, dim=dim, descending=descending), a)
    k = data.draw(st.integers(0, shape[dim]))
    largest = data.draw(st.booleans())
    for part in (0, 1):
        assert_matches_torch(lambda x: rg.topk(x, k, dim, largest)[part],
                             lambda t: torch.topk(t, k, dim, largest)[part], a, seed=seed)
    check_derivatives(lambda x: rg.sort(x, dim, descending).values, a)
    check_derivatives(lambda x: rg.topk(x, k, dim, largest).values, a)


@requires_torch
def test_stable_sort_keeps_ties_in_order_and_nan_sorts_largest():
    a = np.array([[1.0, 3.0, 1.0, np.nan, 3.0, 0.0, 1.0]])
    for descending in (False, True):
        got = rg.sort(rg.tensor(a), descending=descending)
        expected = torch.sort(torch.tensor(a), descending=descending, stable=True)
        assert got.indices.tolist() == expected.indices.tolist()
        np.testing.assert_array_equal(got.values.data, expected.values.numpy())
        assert got.indices.dtype == np.int64
    x = rg.tensor(a, requires_grad=True)
    rg.sort(x, descending=True).values.backward(rg.tensor(np.arange(7.0)[None]))
    t = torch.tensor(a, requires_grad=True)
    torch.sort(t, descending=True, stable=True).values.backward(torch.arange(7.0, dtype=torch.float64)[None])
    assert x.grad.tolist() == t.grad.tolist()


@requires_torch
def test_argmax_argmin_keepdim_like_torch():
    a = np.array([[1.0, 5.0, 5.0], [np.nan, 0.0, 2.0]])
    for name in ("argmax", "argmin"):
        for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": -1, "keepdim": True}):
            out = getattr(rg, name)(rg.tensor(a), **kwargs)
            expected = getattr(torch, name)(torch.tensor(a), **kwargs)
            assert out.dtype == np.int64 and out.tolist() == expected.tolist(), (name, kwargs)
    assert rg.argmax(rg.tensor(a), axis=1).tolist() == [1, 0]  # NumPy's keyword still works


# ------------------------------------------------------------ rearranging
@requires_torch
@SETTINGS
@given(shape=NONSCALAR, seed=st.integers(0, 2**16), data=st.data())
def test_flip_roll_repeat_match_torch(shape, seed, data):
    nd = len(shape)
    a = _values(seed, shape)
    dims = data.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    shifts = data.draw(st.lists(st.integers(-5, 5), min_size=len(dims), max_size=len(dims)))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=nd, max_size=nd + 2))
    cases = [
        (lambda x: rg.flip(x, dims), lambda t: torch.flip(t, dims)),
        (lambda x: rg.roll(x, shifts, dims), lambda t: torch.roll(t, shifts, dims)),
        (lambda x: rg.roll(x, shifts[0]), lambda t: torch.roll(t, shifts[0])),
        (lambda x: rg.repeat(x, *sizes), lambda t: t.repeat(*sizes)),
    ]
    for rg_fn, torch_fn in cases:
        assert_matches_torch(rg_fn, torch_fn, a, seed=seed)
        check_derivatives(rg_fn, a)


@requires_torch
@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=4, max_side=4), seed=st.integers(0, 2**16),
       diagonal=st.integers(-3, 3))
def test_tril_triu_match_torch(shape, seed, diagonal):
    a = _values(seed, shape)
    for name in ("tril", "triu"):
        assert_matches_torch(lambda x: getattr(rg, name)(x, diagonal),
                             lambda t: getattr(torch, name)(t, diagonal), a, seed=seed)
        check_derivatives(lambda x: getattr(rg, name)(x, diagonal), a)
    ints = np.arange(math.prod(shape)).reshape(shape)
    assert rg.tril(rg.tensor(ints)).dtype == np.int64


@requires_torch
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=st.integers(0, 2**16))
def test_masked_fill_matches_torch(shapes, seed):
    shape, mask_shape = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a, mask = rng.standard_normal(shape), rng.random(mask_shape) < 0.5
    assert_matches_torch(lambda x: rg.masked_fill(x, rg.tensor(mask), -2.5),
                         lambda t: t.masked_fill(torch.tensor(mask), -2.5), a, seed=seed)
    # a 0-dimensional value that requires grad gets the gradient of the filled entries
    assert_matches_torch(lambda x, v: rg.masked_fill(x, rg.tensor(mask), v),
                         lambda t, v: t.masked_fill(torch.tensor(mask), v), a, np.array(0.7), seed=seed)
    check_derivatives(lambda x, v: rg.masked_fill(x, mask, v), a, np.array(0.7))


@requires_torch
def test_one_hot_matches_torch():
    labels = np.array([[0, 3], [2, 2]])
    for num_classes in (-1, 5):
        out = rg.one_hot(rg.tensor(labels), num_classes)
        expected = TF("nn.functional.one_hot")(torch.tensor(labels), num_classes)
        assert out.dtype == np.int64 and out.tolist() == expected.tolist()
    assert rg.one_hot(rg.tensor(np.zeros(0, dtype=np.int64)), 3).shape == (0, 3)


def test_clone_is_a_differentiable_copy():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert not np.shares_memory(y.data, x.data) and y.grad_fn.name == "clone"
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    check_derivatives(lambda t: rg.clone(t) ** 3, np.array([0.5, -1.5]))


# ------------------------------------------------------------ einsum and norm
EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,j->ij", [(3,), (2,)]),
    ("i,i->", [(4,), (4,)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),  # broadcast batch axes, size 1 against 3
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("i j , j -> i", [(2, 3), (3,)]),
    ("ba,ab->", [(3, 2), (2, 3)]),
]


@requires_torch
@pytest.mark.parametrize("equation,shapes", EQUATIONS)
def test_einsum_matches_torch(equation, shapes):
    arrays = [_values(i, s) for i, s in enumerate(shapes)]
    assert_matches_torch(lambda *xs: rg.einsum(equation, *xs), lambda *ts: torch.einsum(equation, *ts), *arrays)
    check_derivatives(lambda *xs: rg.einsum(equation, *xs), *arrays)


def test_einsum_takes_a_list_and_constants():
    a, b = _values(0, (2, 3)), _values(1, (3,))
    x = rg.tensor(a, requires_grad=True)
    y = rg.einsum("ij,j->i", [x, b])
    np.testing.assert_allclose(y.data, a @ b)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.broadcast_to(b, (2, 3)))


NORMS = [2, "fro", 1, math.inf, -math.inf, 3, 0.5, 1.5, 0]


@requires_torch
@pytest.mark.parametrize("p", NORMS)
@SETTINGS
@given(shape=NONSCALAR, seed=st.integers(0, 2**16), data=st.data())
def test_norm_matches_torch(p, shape, seed, data):
    nd = len(shape)
    dim = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                              st.lists(st.integers(0, nd - 1), min_size=1, max_size=2, unique=True).map(tuple)))
    if p == "fro" and isinstance(dim, tuple) and len(dim) != 2:
        dim = None
    keepdim = data.draw(st.booleans())
    a = _distinct(seed, shape) + 0.05  # no ties (inf-norm), no zeros (the p < 1 and p = 1 kinks)
    assert_matches_torch(lambda x: rg.norm(x, p, dim, keepdim), lambda t: torch.norm(t, p, dim, keepdim), a,
                         seed=seed)
    check_derivatives(lambda x: rg.norm(x, p, dim, keepdim), a, second=p not in (math.inf, -math.inf))


@requires_torch
def test_norm_gradient_at_zero_is_zero_like_torch():
    """The subdifferential of ‖x‖₂ at 0 is the unit ball; its minimum-norm element is 0 (PyTorch's value)."""
    for p in (2, "fro", 3, 1.5, 1, math.inf):
        z = np.zeros((2, 3))
        assert_matches_torch(lambda x: rg.norm(x, p), lambda t: torch.norm(t, p), z)
        assert_matches_torch(lambda x: rg.norm(x, p, dim=1), lambda t: torch.norm(t, p, dim=1), z)
    x = rg.tensor(np.zeros(3), requires_grad=True)
    (g,) = rg.grad(rg.norm(x), [x], create_graph=True)
    assert g.tolist() == [0.0, 0.0, 0.0] and np.isfinite(rg.grad(g.sum(), [x], allow_unused=True)[0].data).all()


@requires_torch
def test_inf_norm_ties_share_like_max():
    a = np.array([3.0, -3.0, 1.0])
    assert_matches_torch(lambda x: rg.norm(x, math.inf), lambda t: torch.norm(t, math.inf), a)
    x = rg.tensor(a, requires_grad=True)
    with rg.conventions.policy("first"):
        y = rg.norm(x, math.inf)
    y.backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]


# ------------------------------------------------------------ creation and dtypes
@requires_torch
def test_linspace_matches_torch():
    for start, end, steps in ((0.0, 1.0, 5), (-3.3, 7.1, 37), (2.0, 2.0, 1), (1.0, -1.0, 4), (0.0, 1.0, 0)):
        out = rg.linspace(start, end, steps, dtype=rg.float64)
        expected = torch.linspace(start, end, steps, dtype=torch.float64).numpy()
        np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-15)
        assert out.data[0:1].tolist() == expected[0:1].tolist() and out.data[-1:].tolist() == expected[-1:].tolist()
    assert rg.linspace(0, 1, 3).dtype == rg.get_default_dtype()


def test_dtype_names():
    assert rg.int32 == np.int32 and rg.int64 == np.int64 and rg.bool == np.bool_
    assert rg.tensor([1.5, 2.5]).to(rg.int64).dtype == np.int64


# ------------------------------------------------------------ method forms
@requires_torch
def test_method_forms_match_torch():
    a = _distinct(3, (3, 4))
    mask = a > 0
    cases = {
        "cumsum": (lambda x: x.cumsum(1), lambda t: t.cumsum(1)),
        "cumprod": (lambda x: x.cumprod(0), lambda t: t.cumprod(0)),
        "flip": (lambda x: x.flip(0, 1), lambda t: t.flip(0, 1)),
        "flip_tuple": (lambda x: x.flip((1,)), lambda t: t.flip((1,))),
        "roll": (lambda x: x.roll(2, 1), lambda t: t.roll(2, 1)),
        "repeat": (lambda x: x.repeat(2, 1, 2), lambda t: t.repeat(2, 1, 2)),
        "tril": (lambda x: x.tril(1), lambda t: t.tril(1)),
        "triu": (lambda x: x.triu(), lambda t: t.triu()),
        "masked_fill": (lambda x: x.masked_fill(rg.tensor(mask), 0.5),
                        lambda t: t.masked_fill(torch.tensor(mask), 0.5)),
        "clone": (lambda x: x.clone(), lambda t: t.clone()),
        "sort": (lambda x: x.sort(descending=True)[0], lambda t: t.sort(descending=True)[0]),
        "topk": (lambda x: x.topk(2).values, lambda t: t.topk(2).values),
        "argsort": (lambda x: x.argsort(0), lambda t: t.argsort(0)),
        "argmax": (lambda x: x.argmax(1, keepdim=True), lambda t: t.argmax(1, keepdim=True)),
        "argmin": (lambda x: x.argmin(), lambda t: t.argmin()),
        "norm": (lambda x: x.norm(), lambda t: t.norm()),
        "norm_dim": (lambda x: x.norm(1, 0, True), lambda t: t.norm(1, 0, True)),
        "any": (lambda x: x.any(), lambda t: t.any()),
        "all": (lambda x: x.all(1), lambda t: t.all(1)),
        "isnan": (lambda x: x.isnan(), lambda t: t.isnan()),
        "long": (lambda x: x.long(), lambda t: t.long()),
        "int": (lambda x: x.int(), lambda t: t.int()),
        "bool": (lambda x: x.bool(), lambda t: t.bool()),
        "float": (lambda x: x.float(), lambda t: t.float()),
        "double": (lambda x: x.float().double(), lambda t: t.float().double()),
        "to": (lambda x: x.to(rg.float32), lambda t: t.to(torch.float32)),
        "floor": (lambda x: x.floor(), lambda t: t.floor()),
        "round": (lambda x: x.round(), lambda t: t.round()),
        "sign": (lambda x: x.sign(), lambda t: t.sign()),
        "tan": (lambda x: x.tan(), lambda t: t.tan()),
        "atan2": (lambda x: x.atan2(x * 2 + 1), lambda t: t.atan2(t * 2 + 1)),
        "logaddexp": (lambda x: x.logaddexp(x * 2), lambda t: t.logaddexp(t * 2)),
    }
    for name, (rg_fn, torch_fn) in cases.items():
        if name in ("float", "to"):  # float32 results: compare at float32 precision
            x, t = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
            np.testing.assert_allclose(rg_fn(x).data, torch_fn(t).detach().numpy(), rtol=1e-7)
            assert rg_fn(x).dtype == np.float32 and rg_fn(x).requires_grad
            continue
        assert_matches_torch(rg_fn, torch_fn, a)
    x = rg.tensor(a, requires_grad=True)
    assert x.numel() == 12 and x.dim() == 2
    assert x.to(rg.float64) is x  # same dtype: the tensor itself, like torch
    assert not x.long().requires_grad  # integer casts leave the tape, like torch
    assert x.to(rg.tensor([1], dtype=rg.int32)).dtype == np.int32


# ------------------------------------------------------------ errors
ERRORS = [
    ("flip", lambda: rg.flip(rg.ones(2, 3), (0, 0))),
    ("flip", lambda: rg.flip(rg.ones(2, 3), 2)),
    ("roll", lambda: rg.roll(rg.ones(2, 3), (1, 2), 0)),
    ("roll", lambda: rg.roll(rg.ones(2, 3), (1, 2))),
    ("repeat", lambda: rg.ones(2, 3).repeat(2)),
    ("repeat", lambda: rg.ones(2, 3).repeat(-1, 2)),
    ("tril", lambda: rg.tril(rg.ones(3))),
    ("triu", lambda: rg.triu(rg.ones(3, 3), 0.5)),
    ("masked_fill", lambda: rg.masked_fill(rg.ones(3), rg.tensor([1, 0, 1]), 1.0)),
    ("masked_fill", lambda: rg.masked_fill(rg.ones(3), rg.tensor([True, False, True]), rg.ones(3))),
    ("masked_fill", lambda: rg.masked_fill(rg.ones(3), rg.tensor([True, False]), 1.0)),
    ("one_hot", lambda: rg.one_hot(rg.tensor([-1, 0]), 3)),
    ("one_hot", lambda: rg.one_hot(rg.tensor([3]), 3)),
    ("one_hot", lambda: rg.one_hot(rg.tensor(np.zeros(0, dtype=np.int64)))),
    ("one_hot", lambda: rg.one_hot(rg.tensor([0.0, 1.0]), 3)),
    ("topk", lambda: rg.topk(rg.ones(2, 3), 4)),
    ("topk", lambda: rg.topk(rg.ones(2, 3), -1)),
    ("sort", lambda: rg.sort(rg.ones(2, 3), 2)),
    ("argsort", lambda: rg.argsort(rg.ones(2, 3), -3)),
    ("argmax", lambda: rg.argmax(rg.ones(2, 3), 2)),
    ("argmax", lambda: rg.argmax(rg.ones(0))),
    ("cumsum", lambda: rg.cumsum(rg.ones(2, 3), 2)),
    ("cumprod", lambda: rg.cumprod(rg.ones(2, 3), None)),
    ("einsum", lambda: rg.einsum("ij,jk->ik", rg.ones(2, 3))),
    ("einsum", lambda: rg.einsum("ij,jk->ik", rg.ones(2, 3), rg.ones(4, 2))),
    ("einsum", lambda: rg.einsum("ij->iz", rg.ones(2, 3))),
    ("einsum", lambda: rg.einsum("ijk->i", rg.ones(2, 3))),
    ("einsum", lambda: rg.einsum("ij->ii", rg.ones(2, 2))),
    ("norm", lambda: rg.norm(rg.tensor([1, 2]))),
    ("norm", lambda: rg.norm(rg.ones(3), "nuc")),
    ("norm", lambda: rg.norm(rg.ones(3), dim=1)),
    ("hardtanh", lambda: rg.hardtanh(rg.ones(3), 2.0, 1.0)),
    ("linspace", lambda: rg.linspace(0, 1, -1)),
    ("round", lambda: rg.round(rg.tensor([1, 2]), decimals=1)),
    ("round", lambda: rg.round(rg.tensor([True]))),
    ("floor", lambda: rg.floor(rg.tensor([True]))),
    ("ceil", lambda: rg.ceil(rg.tensor([True]))),
    ("any", lambda: rg.any(rg.ones(2), dim=3)),
    ("rsqrt", lambda: rg.rsqrt(rg.tensor(np.array(["a"])))),
    ("to", lambda: rg.ones(2).to("gpu")),
]


@pytest.mark.parametrize("name,call", ERRORS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ERRORS)])
def test_bad_arguments_raise_op_error_naming_the_op(name, call):
    with pytest.raises(rg.OpError, match=rf"^{name}\b"):
        call()
