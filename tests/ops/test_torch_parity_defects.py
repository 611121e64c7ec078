"""Defects found by a port of PyTorch's test suite, each held to PyTorch's behaviour.

1. ``linspace(..., dtype=bool)`` computed ``[True, True, True]`` where PyTorch
   refuses a bool linspace (and ``arange``); integer dtypes truncate the ends
   first, as PyTorch does.
2. ``any`` / ``all`` refused NumPy's ``axis=`` / ``keepdims=``, which the README
   promises everywhere alongside PyTorch's ``dim=`` / ``keepdim=``.
3. ``cross_entropy`` / ``nll_loss`` took ``reduction`` third where PyTorch takes
   ``weight``: a weight passed positionally failed with "truth value is ambiguous".

The tests marked ``torch`` compare with PyTorch and are skipped, with the reason,
when it is not installed; the others hold the same facts without it.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import retrograd as rg
import retrograd.nn.functional as F

RNG = np.random.default_rng(20240607)


def _torch():
    return pytest.importorskip("torch")


# ================================================================ 1. linspace / arange dtypes
def test_linspace_refuses_bool_dtype_naming_op_dtype_and_fix():
    with pytest.raises(rg.OpError, match=r"^linspace: dtype bool is not supported.*numeric dtype"):
        rg.linspace(5, 10, 3, dtype=rg.bool)


@pytest.mark.parametrize("args", [(3,), (0, 2), (0, 1), (5, 0, -1)])
def test_arange_refuses_bool_dtype_naming_op(args):
    """NumPy computes a bool arange of length ≤ 2 and raises a TypeError beyond; PyTorch refuses both."""
    with pytest.raises(rg.OpError, match=r"^arange: dtype bool is not supported"):
        rg.arange(*args, dtype=rg.bool)


def test_linspace_integer_dtype_truncates_the_ends_first():
    """PyTorch converts start and end to the integer dtype before stepping."""
    out = rg.linspace(0.5, 10.7, 7, dtype=rg.int64)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 3, 5, 6, 8, 10]
    assert rg.linspace(-2.5, 2.5, 6, dtype=rg.int32).tolist() == [-2, -1, 0, 0, 1, 2]


@pytest.mark.parametrize("start,end,steps,dtype", [
    (0, 10**10, 5, np.int32), (0, 300, 3, np.uint8), (float("nan"), 1, 3, np.int64), (0, float("inf"), 3, np.int64),
    (-0.5, 3, 3, np.uint8), (0, 2**63, 3, np.int64),
])
def test_linspace_refuses_ends_that_overflow_an_integer_dtype(start, end, steps, dtype):
    with pytest.raises(rg.OpError, match=r"^linspace: .* cannot be converted to"):
        rg.linspace(start, end, steps, dtype=dtype)


LINSPACE_CASES = [
    (5, 10, 3), (5, 10, 4), (-5, 10, 4), (10, -5, 4), (0, 1, 5), (0, 10, 7), (0.5, 10.7, 7), (-3, 3, 7),
    (-2.5, 2.5, 6), (-0.7, 3.9, 5), (1, 1, 3), (3.7, 3.7, 1), (0, 255.5, 3), (-128.5, 0, 3), (-129, 0, 3),
    (300, 0, 1), (0, 300, 1), (-1, 0, 1), (-1, 5, 3), (-255, 5, 3), (-256, 5, 3), (float("nan"), 0, 1),
    (float("nan"), 0, 0), (True, False, 3), (0, 10**10, 5), (5, 10, 0), (5, 10, 1), (0, 10, 1), (5, 10, 2),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("start,end,steps", LINSPACE_CASES)
def test_linspace_dtypes_match_torch(start, end, steps, dtype):
    """Values and dtype, or a refusal where PyTorch refuses (bool from two steps on, overflowing ends)."""
    torch = _torch()
    try:
        expected = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    except (RuntimeError, NotImplementedError):
        with pytest.raises(rg.OpError, match=r"^linspace: "):
            rg.linspace(start, end, steps, dtype=np.dtype(dtype if dtype != "bool" else np.bool_))
        return
    out = rg.linspace(start, end, steps, dtype=np.dtype(dtype if dtype != "bool" else np.bool_))
    assert out.dtype == expected.dtype
    if expected.dtype.kind in "biu":
        assert out.tolist() == expected.tolist()
    else:
        np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=0)


@pytest.mark.torch
@pytest.mark.parametrize("args", [(3,), (0, 2), (0, 1), (0, 0)])
def test_arange_bool_is_refused_like_torch(args):
    torch = _torch()
    with pytest.raises((RuntimeError, NotImplementedError)):
        torch.arange(*args, dtype=torch.bool)
    with pytest.raises(rg.OpError, match=r"^arange: "):
        rg.arange(*args, dtype=rg.bool)


# ================================================================ 2. any / all in both dialects
A = np.array([[0, 1, 2], [0, 0, 3]])
B = np.array([[[0.0, 1.0], [2.0, 0.0]], [[0.0, 0.0], [0.0, 5.0]], [[1.0, 1.0], [1.0, 1.0]]])


@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("axis", [0, 1, -1, -2, (0, 1), (1, -1), (0, 2), (), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_any_all_accept_numpy_axis_and_keepdims(name, axis, keepdims):
    expected = getattr(np, name)(B, axis=axis, keepdims=keepdims)
    for out in (getattr(rg, name)(rg.tensor(B), axis=axis, keepdims=keepdims),
                getattr(rg.tensor(B), name)(axis=axis, keepdims=keepdims),
                getattr(rg, name)(rg.tensor(B), axis, keepdims)):
        assert out.dtype == np.bool_ and out.shape == expected.shape
        np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_accept_pytorch_dim_and_keepdim(name):
    ref = getattr(np, name)
    x = rg.tensor(A)
    np.testing.assert_array_equal(getattr(rg, name)(x, dim=1).data, ref(A, axis=1))
    np.testing.assert_array_equal(getattr(rg, name)(x, dim=-1, keepdim=True).data, ref(A, axis=-1, keepdims=True))
    np.testing.assert_array_equal(getattr(x, name)(dim=(0, 1), keepdim=True).data, ref(A, axis=(0, 1), keepdims=True))
    np.testing.assert_array_equal(getattr(x, name)(keepdim=True).data, ref(A, keepdims=True))
    np.testing.assert_array_equal(getattr(rg, name)(x, dim=()).data, A != 0)  # an empty dim reduces nothing


@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("call,message", [
    (lambda f, x: f(x, axis=2), "axis 2 is out of range for a tensor with 2 dimensions"),
    (lambda f, x: f(x, axis=-3), "axis -3 is out of range"),
    (lambda f, x: f(x, axis=(0, 2)), "axis 2 is out of range"),
    (lambda f, x: f(x, dim=2), "axis 2 is out of range"),
    (lambda f, x: f(x, dim=(0, 2)), "axis 2 is out of range"),
    (lambda f, x: f(x, dim=(0, -2)), r"names a dimension more than once"),
    (lambda f, x: f(x, axis=0, dim=0), r"got both axis=0 \(NumPy\) and dim=0 \(PyTorch\)"),
    (lambda f, x: f(x, keepdims=True, keepdim=True), "got both keepdims"),
])
def test_any_all_bad_axes_raise_naming_the_op(name, call, message):
    with pytest.raises(rg.OpError, match=rf"^{name}: .*{message}"):
        call(getattr(rg, name), rg.tensor(A))


def test_any_all_of_a_0d_tensor_take_axis_0_and_minus_1():
    for axis in (0, -1, None):
        assert rg.any(rg.tensor(3.0), axis=axis).item() is True
        assert rg.all(rg.tensor(0.0), axis=axis, keepdims=True).item() is False
    with pytest.raises(rg.OpError, match=r"^all: axis 1 is out of range for a 0-d tensor"):
        rg.all(rg.tensor(1.0), axis=1)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool", "uint8"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": -1, "keepdim": True}, {"dim": (0, 2)}, {"dim": ()},
                                    {"dim": None, "keepdim": True}, {"keepdim": True}, {"dim": [1]}])
def test_any_all_match_torch_values_and_dtypes(name, dtype, kwargs):
    """uint8 input gives uint8, as PyTorch documents; the rest bool."""
    torch = _torch()
    a = B.astype(dtype)
    expected = getattr(torch, name)(torch.from_numpy(a), **kwargs)
    for out in (getattr(rg, name)(rg.tensor(a), **kwargs), getattr(rg.tensor(a), name)(**kwargs)):
        assert out.dtype == expected.numpy().dtype and out.shape == tuple(expected.shape)
        np.testing.assert_array_equal(out.data, expected.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("dim", [3, -4, (0, 3), (0, 0), (1, -2)])
def test_any_all_refuse_what_torch_refuses(name, dim):
    torch = _torch()
    with pytest.raises((IndexError, RuntimeError)):
        getattr(torch, name)(torch.from_numpy(B), dim=dim)
    with pytest.raises(rg.OpError, match=rf"^{name}: "):
        getattr(rg, name)(rg.tensor(B), dim=dim)


# ================================================================ 3. loss signatures in PyTorch's order
CE_ORDER = ["input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"]
NLL_ORDER = CE_ORDER[:-1]


@pytest.mark.parametrize("fn,order", [(rg.cross_entropy, CE_ORDER), (F.cross_entropy, CE_ORDER),
                                      (rg.nll_loss, NLL_ORDER), (F.nll_loss, NLL_ORDER)])
def test_loss_positional_order_is_pytorchs(fn, order):
    params = inspect.signature(fn).parameters
    positional = [n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == order
    rest = [n for n, p in params.items() if p.kind is not p.POSITIONAL_OR_KEYWORD]
    assert rest == (["class_axis"] if fn in (rg.cross_entropy, F.cross_entropy) else [])
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in rest)


@pytest.mark.torch
def test_loss_signatures_name_torchs_parameters_in_torchs_order():
    torch = _torch()
    for name in ("cross_entropy", "nll_loss"):
        theirs = list(inspect.signature(getattr(torch.nn.functional, name)).parameters)
        ours = [n for n, p in inspect.signature(getattr(rg, name)).parameters.items() if p.kind is not p.KEYWORD_ONLY]
        assert ours == theirs


def _losses(torch, z, y, w):
    """(retrograd, torch) loss callables on logits, each call written the same positional way."""
    tf = torch.nn.functional
    return [
        ("cross_entropy", lambda a, *args, **kw: rg.cross_entropy(a, y, *args, **kw),
         lambda a, *args, **kw: tf.cross_entropy(a, torch.from_numpy(y), *args, **kw)),
        ("F.cross_entropy", lambda a, *args, **kw: F.cross_entropy(a, y, *args, **kw),
         lambda a, *args, **kw: tf.cross_entropy(a, torch.from_numpy(y), *args, **kw)),
        ("nll_loss", lambda a, *args, **kw: rg.nll_loss(rg.log_softmax(a, 1), y, *args, **kw),
         lambda a, *args, **kw: tf.nll_loss(torch.log_softmax(a, 1), torch.from_numpy(y), *args, **kw)),
        ("F.nll_loss", lambda a, *args, **kw: F.nll_loss(rg.log_softmax(a, 1), y, *args, **kw),
         lambda a, *args, **kw: tf.nll_loss(torch.log_softmax(a, 1), torch.from_numpy(y), *args, **kw)),
    ]


POSITIONAL_CALLS = [  # arguments after (input, target), weight marked "W"
    ("W",), ("W", None, 2), ("W", None, -100, None, "sum"), ("W", None, 1, None, "none"), (None, None, 3),
    ("W", None, -100, None, "mean", 0.1), (None, None, 2, None, "sum", 0.3),
]


@pytest.mark.torch
@pytest.mark.parametrize("args", POSITIONAL_CALLS, ids=lambda a: ",".join(map(str, a)))
def test_weight_passed_positionally_matches_torch_values_and_gradients(args):
    torch = _torch()
    z = RNG.standard_normal((6, 4))
    y = np.array([0, 3, 1, 2, 2, 1])
    w = RNG.random(4) + 0.2
    for name, ours, theirs in _losses(torch, z, y, w):
        if "nll" in name and len(args) > 5:
            continue  # nll_loss has no label_smoothing
        zr, zt = rg.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        yr = ours(zr, *[rg.tensor(w) if a == "W" else a for a in args])
        yt = theirs(zt, *[torch.from_numpy(w) if a == "W" else a for a in args])
        np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
        v = RNG.standard_normal(yr.shape)
        yr.backward(rg.tensor(np.asarray(v)))
        yt.backward(torch.from_numpy(np.asarray(v)))
        np.testing.assert_allclose(zr.grad.data, zt.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("legacy", [
    {"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True},
    {"size_average": False, "reduction": "none"}, {"reduce": False, "reduction": "sum"},
])
def test_legacy_size_average_and_reduce_map_and_warn_like_torch(legacy):
    torch = _torch()
    z = RNG.standard_normal((5, 3))
    y = np.array([0, 2, 1, 1, 0])
    w = RNG.random(3) + 0.5
    for name, ours, theirs in _losses(torch, z, y, w):
        with warnings.catch_warnings(record=True) as got_ours:
            warnings.simplefilter("always")
            yr = ours(rg.tensor(z), rg.tensor(w), **legacy)
        with warnings.catch_warnings(record=True) as got_theirs:
            warnings.simplefilter("always")
            yt = theirs(torch.from_numpy(z), torch.from_numpy(w), **legacy)
        np.testing.assert_allclose(yr.data, yt.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
        assert [str(m.message) for m in got_ours] == [str(m.message) for m in got_theirs]
        assert [m.filename for m in got_ours] == [__file__]  # points at the caller


def test_weight_positional_without_torch():
    """The third positional argument is the class weight: the same loss as weight=."""
    z = rg.tensor(RNG.standard_normal((4, 3)))
    y = np.array([0, 2, 1, 2])
    w = rg.tensor(np.array([0.2, 1.0, 3.0]))
    for fn, a in ((rg.cross_entropy, z), (rg.nll_loss, rg.log_softmax(z, 1))):
        assert fn(a, y, w).item() == fn(a, y, weight=w).item()
        assert fn(a, y, w, None, 2, None, "sum").item() == fn(a, y, weight=w, ignore_index=2, reduction="sum").item()
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        legacy = rg.cross_entropy(z, y, w, False)
    assert legacy.item() == rg.cross_entropy(z, y, w, reduction="sum").item()
    assert "please use reduction='sum' instead" in str(got[0].message)


@pytest.mark.parametrize("fn", [rg.cross_entropy, rg.nll_loss, F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_reduction_passed_third_is_refused_with_the_fix(fn, reduction):
    """The old positional form now lands on ``weight``: refused, naming the keyword to use."""
    z = rg.tensor(RNG.standard_normal((3, 4)))
    op = fn.__name__
    with pytest.raises(rg.OpError, match=rf"^{op}: weight must be a tensor of weights, got the string "
                                         rf"'{reduction}'; .*reduction='{reduction}'"):
        fn(z, np.array([0, 1, 2]), reduction)


def test_class_axis_stays_keyword_only():
    z = rg.tensor(RNG.standard_normal((2, 5, 3)))
    y = np.array([[0, 1, 2, 0, 1], [2, 2, 1, 0, 0]])
    with pytest.raises(TypeError):
        rg.cross_entropy(z, y, None, None, -100, None, "mean", 0.0, -1)
    assert rg.cross_entropy(z, y, class_axis=-1).shape == ()


@pytest.mark.torch
def test_loss_modules_with_weight_still_match_torch():
    torch = _torch()
    z = RNG.standard_normal((6, 4))
    y = np.array([0, 3, 1, 2, 2, 1])
    w = RNG.random(4) + 0.2
    for ours, theirs, prep in ((rg.nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, (lambda a: a, lambda a: a)),
                               (rg.nn.NLLLoss, torch.nn.NLLLoss, (lambda a: rg.log_softmax(a, 1),
                                                                  lambda a: torch.log_softmax(a, 1)))):
        for kwargs in ({}, {"ignore_index": 1, "reduction": "sum"}, {"reduction": "none"}):
            yr = ours(rg.tensor(w), **kwargs)(prep[0](rg.tensor(z)), y)
            yt = theirs(torch.from_numpy(w), **kwargs)(prep[1](torch.from_numpy(z)), torch.from_numpy(y))
            np.testing.assert_allclose(yr.data, yt.numpy(), rtol=1e-12, atol=1e-14)
