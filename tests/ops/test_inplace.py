"""PyTorch's in-place Tensor methods and ``t[idx] = v`` (``ops/inplace.py``), checked against torch 2.13.

Every method off the tape: the values torch's gives (and exactly retrograd's out-of-place op's),
``self`` returned, the dtype kept, a NumPy view of the array seeing the write, and torch's
refusals (a broadcast that would grow self, a result type that cannot be cast to self's). On the
tape: a leaf that requires grad gets torch's error, everything else is refused naming the
out-of-place form; under ``no_grad`` it all works, and the write stamps the array, so a backward
through an op recorded before it that kept the array raises. Random fills: shape, dtype, range,
and draws reproducible from a seeded generator.
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd.ops.inplace import LEAF_IN_PLACE

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

DTYPES = ["float64", "float32", "int64", "bool"]
REFUSED = (RuntimeError, ValueError, TypeError, NotImplementedError)
CAST = "can't be cast to the desired output type"


def _values(dtype, positive=False, shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        return rng.integers(1 if positive else -4, 5, shape)
    return rng.uniform(0.1 if positive else -2.0, 2.0, shape).astype(dtype)


ROW = np.array([0.5, -1.25, 2.0])          # float64, broadcast along the rows of a (2, 3) tensor
INT_ROW = np.array([2, -3, 1])
BOOL_ROW = np.array([True, False, True])
FULL32 = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)


def _ours(a):
    return rg.tensor(a.copy()) if isinstance(a, np.ndarray) else a


def _theirs(a):
    return torch.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a


def _tols(dtype):
    return {"float32": dict(rtol=2e-6, atol=1e-6), "float64": dict(rtol=1e-13, atol=1e-14)}.get(dtype, {})


def _check(x_np, method, args=(), kwargs=None, oop=None, tols=None):
    """Call ``method`` in place on a retrograd and a torch tensor of ``x_np`` and compare everything:
    torch's error or values; ours returns self, keeps the dtype, writes into the array (a NumPy view
    sees it) and equals the out-of-place ``oop`` exactly."""
    kwargs = kwargs or {}
    t = torch.from_numpy(x_np.copy())
    try:
        expected, torch_error = getattr(t, method)(*map(_theirs, args), **kwargs).numpy(), None
    except REFUSED as e:
        expected, torch_error = None, e
    x = rg.tensor(x_np.copy())
    view, before = x.data[...], x.data.copy()
    if torch_error is not None:
        with pytest.raises(REFUSED) as info:
            getattr(x, method)(*map(_ours, args), **kwargs)
        np.testing.assert_array_equal(x.data, before)  # refused before anything was written
        if CAST in str(torch_error):
            assert CAST in str(info.value)
        return
    out = getattr(x, method)(*map(_ours, args), **kwargs)
    assert out is x and x.dtype == x_np.dtype and x.shape == x_np.shape
    if x_np.dtype.kind == "f":
        np.testing.assert_allclose(x.data, expected, **(tols or _tols(str(x_np.dtype))))
    else:
        np.testing.assert_array_equal(x.data, expected)
    assert np.shares_memory(view, x.data)
    np.testing.assert_array_equal(view, x.data)
    if oop is not None:
        np.testing.assert_array_equal(x.data, oop(rg.tensor(x_np.copy())).data.astype(x_np.dtype))


# ------------------------------------------------------------------ arithmetic and math
UNARY = ["neg_", "abs_", "exp_", "log_", "sqrt_", "rsqrt_", "sigmoid_", "tanh_", "relu_", "sin_", "cos_", "log1p_",
         "expm1_", "reciprocal_", "square_", "sign_", "floor_", "ceil_", "trunc_", "frac_", "round_"]
POSITIVE = {"log_", "sqrt_", "rsqrt_", "log1p_", "reciprocal_"}


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", UNARY)
def test_unary_as_torch(method, dtype):
    _check(_values(dtype, positive=method in POSITIVE), method, oop=lambda x: getattr(x, method[:-1])())


BINARY = [
    ("add_", 2, {}), ("add_", 0.5, {}), ("add_", True, {}), ("add_", ROW, {}), ("add_", INT_ROW, {"alpha": 2}),
    ("add_", BOOL_ROW, {}), ("add_", ROW, {"alpha": 0.5}), ("sub_", 3, {}), ("sub_", ROW, {"alpha": 2}),
    ("sub_", INT_ROW, {}), ("mul_", 3, {}), ("mul_", -0.5, {}), ("mul_", ROW, {}),
    ("mul_", BOOL_ROW, {}), ("mul_", FULL32, {}), ("div_", 2, {}), ("div_", ROW, {}),
    ("div_", 2, {"rounding_mode": "floor"}), ("div_", INT_ROW, {"rounding_mode": "trunc"}), ("pow_", 2, {}),
    ("pow_", 0.5, {}), ("pow_", np.array([1.0, 2.0, 3.0]), {}), ("fmod_", 2, {}), ("fmod_", 1.5, {}),
    ("fmod_", INT_ROW, {}), ("remainder_", 3, {}), ("remainder_", -1.5, {}), ("remainder_", INT_ROW, {}),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method, other, kwargs", BINARY, ids=lambda v: getattr(v, "shape", v))
def test_binary_as_torch(method, other, kwargs, dtype):
    oop = (lambda x: getattr(x, method[:-1])(_ours(other), **kwargs))
    _check(_values(dtype, positive=method == "pow_"), method, (other,), kwargs, oop)


CLAMPS = [("clamp_", (-0.5, 0.5)), ("clamp_", (None, 1)), ("clamp_", (1, None)), ("clamp_", (0, 2)),
          ("clamp_", (ROW, None)), ("clamp_", (-ROW, np.abs(ROW))), ("clip_", (-1, 1)), ("clamp_min_", (0,)),
          ("clamp_min_", (0.25,)), ("clamp_max_", (1,)), ("clamp_max_", (ROW,)), ("clamp_", ())]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method, bounds", CLAMPS, ids=str)
def test_clamps_as_torch(method, bounds, dtype):
    base = "clamp" if method == "clamp_" else method[:-1]
    _check(_values(dtype), method, bounds, oop=lambda x: getattr(x, base)(*map(_ours, bounds)))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decimals", [1, -1, 2])
def test_round_with_decimals_as_torch(decimals, dtype):
    x_np = _values(dtype) * (10 if dtype.startswith("float") else 1)
    _check(x_np, "round_", (), {"decimals": decimals}, lambda x: x.round(decimals=decimals))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight", [0.25, 0.75, -0.5, "tensor"])
def test_lerp_as_torch(weight, dtype):
    end = _values(dtype, seed=1)
    w = np.array([0.1, 0.5, 0.9], dtype=dtype) if weight == "tensor" else weight
    # torch's kernel may use a fused multiply-add: agreement to rounding, not to the bit
    _check(_values(dtype), "lerp_", (end, w), tols=dict(rtol=1e-6 if dtype == "float32" else 1e-14, atol=1e-7))


ADDC = [("addcmul_", ROW, FULL32, 1), ("addcmul_", INT_ROW, INT_ROW, 2), ("addcmul_", ROW, ROW, -1.5),
        ("addcdiv_", ROW, np.array([2.0, -4.0, 0.5]), 1), ("addcdiv_", INT_ROW, INT_ROW, 2),
        ("addcdiv_", FULL32, ROW, 0.5)]


@requires_torch
@pytest.mark.parametrize("method, t1, t2, value, dtype", [
    (*case, dtype) for case in ADDC for dtype in DTYPES
    if not (dtype == "int64" and isinstance(case[-1], float))], ids=str)  # that one: the test below
def test_addcmul_addcdiv_as_torch(method, t1, t2, value, dtype):
    _check(_values(dtype), method, (t1, t2), {"value": value})


def test_integer_addcmul_with_a_float_value_is_refused():
    x = rg.tensor(np.array([1, 2, 3]))
    with pytest.raises(RuntimeError, match=CAST):  # torch silently uses value=0 here
        x.addcmul_(x, x, value=0.5)
    np.testing.assert_array_equal(x.data, [1, 2, 3])


@requires_torch
def test_lerp_refuses_another_dtype_as_torch():
    for end in (torch.ones(3, dtype=torch.float64), rg.ones(3, dtype=np.float64)):
        with pytest.raises(RuntimeError, match="expected dtype float"):
            (torch.zeros(3) if isinstance(end, torch.Tensor) else rg.zeros(3, dtype=np.float32)).lerp_(end, 0.5)


# ------------------------------------------------------------------ fills and copies
MASK = np.array([[True, False, True], [False, False, True]])


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask, value", [(MASK, 0), (MASK, 1.5), (MASK, True), (BOOL_ROW, -2), (MASK, "0-d")],
                         ids=str)
def test_masked_fill_as_torch(mask, value, dtype):
    if value == "0-d":
        t, x = torch.tensor(2.5), rg.tensor(2.5)
        ours = rg.tensor(_values(dtype)).masked_fill_(rg.tensor(mask), x)
        np.testing.assert_array_equal(ours.data, torch.from_numpy(_values(dtype)).masked_fill_(
            torch.from_numpy(mask), t).numpy())
        return
    _check(_values(dtype), "masked_fill_", (mask, value))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [0, 2, 1.5, -1.7, True])
def test_fill_and_zero_as_torch(value, dtype):
    _check(_values(dtype), "fill_", (value,))
    _check(_values(dtype), "zero_")
    ours, theirs = rg.tensor(_values(dtype)).fill_(rg.tensor(value)), torch.from_numpy(_values(dtype))
    np.testing.assert_array_equal(ours.data, theirs.fill_(torch.tensor(value)).numpy())


@requires_torch
@pytest.mark.parametrize("dtype, value, phrase", [
    ("int64", float("nan"), "without overflow"), ("int8", 300, "without overflow"),
    ("int8", 127.9, "without overflow"), ("float32", 1e40, "without overflow"), ("float32", 1j, "without overflow"),
    ("float32", np.ones(2), "0-dimension"), ("float32", "a", None)])
def test_fill_refuses_what_torch_refuses(dtype, value, phrase):
    with pytest.raises(REFUSED, match=phrase):
        torch.zeros(3, dtype=getattr(torch, dtype)).fill_(torch.from_numpy(value) if hasattr(value, "shape")
                                                            else value)
    x = rg.zeros(3, dtype=dtype)
    with pytest.raises(REFUSED, match=phrase and phrase.replace("dimension", "dimensional")):
        x.fill_(value)
    if np.ndim(value) == 0:
        with pytest.raises(REFUSED, match=phrase):
            x[0] = value
    np.testing.assert_array_equal(x.data, 0)


@pytest.mark.parametrize("dtype, value, expected", [("uint8", -1, 255), ("bool", 0.5, True), ("int64", True, 1),
                                                    ("float32", 1 + 0j, 1.0), ("float16", 70000, np.inf)])
def test_fill_converts_as_torch(dtype, value, expected):  # the values torch 2.13 gives (checked by hand)
    np.testing.assert_array_equal(rg.zeros(2, dtype=dtype).fill_(value).data, expected)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("src", [ROW * 1.7, INT_ROW, BOOL_ROW, FULL32, np.array(5.0), np.zeros((2, 1))], ids=str)
def test_copy_as_torch(src, dtype):
    _check(_values(dtype), "copy_", (src,))


@requires_torch
@pytest.mark.parametrize("method, args", [
    ("add_", (np.ones((3, 2, 3)),)), ("mul_", (np.ones((1, 2, 3)),)), ("copy_", (np.ones((4, 2, 3)),)),
    ("masked_fill_", (np.ones((2, 2, 3), bool), 1.0)), ("lerp_", (np.ones((3, 2, 3)), 0.5)),
    ("clamp_", (np.zeros((5, 2, 3)),)), ("addcmul_", (np.ones((2, 2, 3)), np.ones(3))),
    ("bernoulli_", (np.full((2, 2, 3), 0.5),)), ("copy_", (np.ones(2),)), ("add_", (np.ones(2),))], ids=str)
def test_a_broadcast_may_not_grow_self(method, args):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.zeros(2, 3, dtype=torch.float64), method)(*map(_theirs, args))
    x = rg.zeros(2, 3, dtype=np.float64)
    with pytest.raises(RuntimeError) as ours:
        getattr(x, method)(*map(_ours, args))
    for phrase in ("doesn't match the broadcast shape", "must match the size"):
        if phrase in str(theirs.value) and method != "bernoulli_":
            assert phrase in str(ours.value) and str(theirs.value).split(" (")[0] in str(ours.value)
    np.testing.assert_array_equal(x.data, 0)


@requires_torch
@pytest.mark.parametrize("x, method, args", [
    (np.array([1, 2]), "add_", (0.5,)), (np.array([1, 2]), "exp_", ()), (np.array([1, 2]), "div_", (2,)),
    (np.array([1, 2]), "mul_", (np.array([0.5, 2.0]),)), (np.array([True, False]), "add_", (1,)),
    (np.array([True, False]), "mul_", (2,)), (np.array([1.0, 2.0], np.float32), "add_", (1j,)),
    (np.array([1, 2], np.int16), "sqrt_", ())], ids=str)
def test_a_result_that_cannot_be_cast_to_self_is_refused_with_torchs_text(x, method, args):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.from_numpy(x.copy()), method)(*map(_theirs, args))
    ours = rg.tensor(x.copy())
    with pytest.raises(RuntimeError, match=CAST) as info:
        getattr(ours, method)(*map(_ours, args))
    assert str(info.value).startswith(str(theirs.value))  # then the advice
    np.testing.assert_array_equal(ours.data, x)


def test_a_broadcast_may_not_grow_self_the_documented_text():
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast shape \[3, 2\]"):
        rg.ones(2).add_(rg.ones(3, 2))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, value, wrap", [((3, 3), 2, False), ((2, 5), 1.5, False), ((7, 3), -1, False),
                                                ((7, 3), 3, True), ((7, 2), True, True), ((3, 3, 3), 4, False),
                                                ((3,), 1, False), ((2, 3, 3), 1, False)], ids=str)
def test_fill_diagonal_as_torch(shape, value, wrap, dtype):
    _check(_values(dtype, shape=shape), "fill_diagonal_", (value,), {"wrap": wrap})


# ------------------------------------------------------------------ item assignment
INDICES = [0, (1, 2), slice(0, 1), (slice(None), 1), MASK, BOOL_ROW, np.array([1, 0]), Ellipsis, (None, 0),
           [1, 1], (0, np.array([0, 2])), (Ellipsis, -1)]


def _index(index, tensor):
    """The index with its arrays as tensors (``tensor``: rg.tensor or torch.from_numpy)."""
    if isinstance(index, tuple):
        return tuple(_index(i, tensor) for i in index)
    if isinstance(index, np.ndarray):
        return (tensor(index) if index.shape != (3,) or index.dtype != bool
                else (slice(None), tensor(index)))  # a row mask selects columns
    return index


def _setitem_values(index):
    """Values for ``x[index] = value`` on a (2, 3) tensor: numbers, a 0-d tensor, and the rows and
    columns that broadcast to the indexed shape."""
    target = np.empty((2, 3))[_index(index, np.asarray)].shape
    values = [7, -1.5, True, "0-d"]
    if target and target[-1] == 3:
        values.append(ROW)
    if len(target) >= 2:
        values.append(np.array([[1.25]] * target[-2]))
    return values


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index, value", [(i, v) for i in INDICES for v in _setitem_values(i)], ids=str)
def test_setitem_as_torch(index, value, dtype):
    x_np = _values(dtype)
    t, x = torch.from_numpy(x_np.copy()), rg.tensor(x_np.copy())
    view = x.data[...]
    theirs, ours = (torch.tensor(2.5), rg.tensor(2.5)) if isinstance(value, str) else (_theirs(value), _ours(value))
    try:
        t[_index(index, torch.from_numpy)] = theirs
    except RuntimeError as e:  # index_put_ wants the value in x's dtype (a 0-d mask fill or a basic index casts)
        assert "Index put requires the source and destination dtypes match" in str(e)
        with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
            x[_index(index, rg.tensor)] = ours
        np.testing.assert_array_equal(x.data, x_np)
        return
    x[_index(index, rg.tensor)] = ours
    assert x.dtype == x_np.dtype
    np.testing.assert_array_equal(x.data, t.numpy())
    np.testing.assert_array_equal(view, t.numpy())


@requires_torch
@pytest.mark.parametrize("index, value", [(slice(0, 2), np.ones(3)), (np.array([0, 1]), np.ones(3)),
                                          (0, np.ones((2, 3))), (MASK, np.ones(2))], ids=str)
def test_setitem_refuses_a_value_that_does_not_broadcast(index, value):
    t = torch.zeros(3) if index is not MASK and not isinstance(index, int) else torch.zeros(2, 3)
    with pytest.raises(RuntimeError):
        t[_index(index, torch.from_numpy)] = torch.from_numpy(value)
    x = rg.zeros(*t.shape)
    with pytest.raises(RuntimeError, match="shape mismatch: value tensor of shape"):
        x[_index(index, rg.tensor)] = rg.tensor(value)
    np.testing.assert_array_equal(x.data, 0)


def test_setitem_drops_leading_ones_and_refuses_lists_as_torch():
    x = rg.zeros(2, 3)
    x[0] = rg.ones(1, 1, 3)  # torch takes it too
    np.testing.assert_array_equal(x.data, [[1, 1, 1], [0, 0, 0]])
    with pytest.raises(TypeError, match="can't assign a list"):
        x[0] = [1.0, 2.0, 3.0]
    x[1, :] += 2  # x[1] = x[1] + 2, through __getitem__ and __setitem__
    np.testing.assert_array_equal(x.data, [[1, 1, 1], [2, 2, 2]])


# ------------------------------------------------------------------ random fills
RANDOM = [("uniform_", (), lambda a: ((a >= 0) & (a <= 1)).all()),  # float16 may round up to 1
          ("uniform_", (-3.0, -2.0), lambda a: ((a >= -3) & (a <= -2)).all()),
          ("normal_", (5.0, 0.5), lambda a: abs(a.mean() - 5) < 0.2 and abs(a.std() - 0.5) < 0.1),
          ("bernoulli_", (0.3,), lambda a: set(np.unique(a)) <= {0, 1} and abs(a.mean() - 0.3) < 0.1),
          ("bernoulli_", (np.array([0.0, 1.0, 0.0]),), lambda a: (a == [0, 1, 0]).all()),
          ("exponential_", (4.0,), lambda a: (a >= 0).all() and abs(a.mean() - 0.25) < 0.05)]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "bool"])
@pytest.mark.parametrize("method, args, plausible", RANDOM, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(RANDOM)])
def test_random_fills_shape_dtype_range_and_seed(method, args, plausible, dtype):
    x = rg.zeros(100, 3, dtype=dtype)
    if method != "bernoulli_" and dtype in ("int64", "bool"):
        with pytest.raises(RuntimeError, match="not implemented for"):  # torch refuses them too
            getattr(x, method)(*args)
        return
    view = x.data[...]
    out = getattr(x, method)(*map(_ours, args), generator=rg.random.new_generator(7))
    assert out is x and x.shape == (100, 3) and x.dtype == dtype
    assert plausible(x.data.astype(np.float64)) and np.shares_memory(view, x.data)
    again = getattr(rg.zeros(100, 3, dtype=dtype), method)(*map(_ours, args), generator=rg.random.new_generator(7))
    np.testing.assert_array_equal(again.data, x.data)


@pytest.mark.parametrize("method, make", [("uniform_", rg.rand), ("normal_", rg.randn)])
def test_random_fills_draw_from_the_default_generator(method, make):
    rg.manual_seed(3)
    x = getattr(rg.zeros(4, 5), method)()
    rg.manual_seed(3)
    np.testing.assert_array_equal(x.data, make(4, 5).data)  # the same stream as rg.rand / rg.randn


@requires_torch
@pytest.mark.parametrize("method, args, phrase", [
    ("uniform_", (2.0, 1.0), "expects to return a \\[from, to\\) range"), ("normal_", (0.0, -1.0), "std >= 0.0"),
    ("bernoulli_", (1.5,), "expects p to be in \\[0, 1\\]"), ("bernoulli_", (-0.1,), "expects p to be in"),
    ("exponential_", (0.0,), "expects lambda > 0.0"), ("exponential_", (-1.0,), "expects lambda > 0.0")])
def test_random_fills_refuse_what_torch_refuses(method, args, phrase):
    with pytest.raises(RuntimeError, match=phrase):
        getattr(torch.zeros(3), method)(*args)
    with pytest.raises(RuntimeError, match=phrase):
        getattr(rg.zeros(3), method)(*args)


def test_uniform_takes_torchs_from_keyword():
    x = rg.zeros(50).uniform_(**{"from": 2.0, "to": 3.0})
    assert ((x.data >= 2) & (x.data <= 3)).all()


# ------------------------------------------------------------------ shape and tape
@requires_torch
@pytest.mark.parametrize("method, args, shape", [
    ("t_", (), (2, 3)), ("t_", (), (3,)), ("t_", (), (2, 3, 4)), ("transpose_", (0, 2), (2, 3, 4)),
    ("transpose_", (-1, 0), (2, 3)), ("transpose_", (0, 5), (2, 3)), ("unsqueeze_", (0,), (2, 3)),
    ("unsqueeze_", (-1,), (2, 3)), ("unsqueeze_", (3,), (2, 3)), ("squeeze_", (), (1, 2, 1)),
    ("squeeze_", (0,), (2, 1, 3)), ("squeeze_", (1,), (2, 1, 3)), ("squeeze_", ((0, 2),), (1, 2, 1)),
    ("squeeze_", (5,), (2, 1))], ids=str)
def test_shape_methods_as_torch(method, args, shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    t, x = torch.from_numpy(a.copy()), rg.tensor(a.copy())
    try:
        expected = getattr(t, method)(*args)
    except (RuntimeError, IndexError) as e:
        with pytest.raises(type(e)):
            getattr(x, method)(*args)
        assert x.shape == shape
        return
    original = x.data
    assert getattr(x, method)(*args) is x and x.shape == tuple(expected.shape)
    np.testing.assert_array_equal(x.data, expected.numpy())
    x.add_(1)  # a write through the new view reaches the original array, as in torch
    np.testing.assert_array_equal(original, a + 1)


def test_detach_cuts_the_tensor_from_the_tape_without_changing_values():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    y = w * 3
    z = y * y
    assert y.detach_() is y and y.is_leaf and not y.requires_grad
    z.sum().backward()  # the op recorded before the detach keeps its edge to y's producer
    np.testing.assert_allclose(w.grad.data, 18 * w.data)


def _leaf():
    return rg.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)


CALLS = {  # every method, as it would be called on a (2, 3) float tensor
    **{m: (lambda m: lambda x: getattr(x, m)())(m) for m in UNARY},
    **{m: (lambda m: lambda x: getattr(x, m)(2.0))(m) for m in ("add_", "sub_", "mul_", "div_", "pow_", "fmod_",
                                                               "remainder_", "clamp_min_", "clamp_max_", "fill_")},
    "clamp_": lambda x: x.clamp_(0, 1), "clip_": lambda x: x.clip_(0, 1),
    "lerp_": lambda x: x.lerp_(rg.ones(3, dtype=x.dtype), 0.5),
    "addcmul_": lambda x: x.addcmul_(rg.ones(3), rg.ones(3)), "addcdiv_": lambda x: x.addcdiv_(rg.ones(3), rg.ones(3)),
    "masked_fill_": lambda x: x.masked_fill_(rg.tensor(MASK), 0.0), "zero_": lambda x: x.zero_(),
    "copy_": lambda x: x.copy_(rg.ones(3)), "fill_diagonal_": lambda x: x.fill_diagonal_(1.0),
    "uniform_": lambda x: x.uniform_(), "normal_": lambda x: x.normal_(), "bernoulli_": lambda x: x.bernoulli_(),
    "exponential_": lambda x: x.exponential_(), "t_": lambda x: x.t_(), "transpose_": lambda x: x.transpose_(0, 1),
    "unsqueeze_": lambda x: x.unsqueeze_(0), "squeeze_": lambda x: x.squeeze_(),
    "__setitem__": lambda x: x.__setitem__(0, 1.0),
}


@requires_torch
@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_leaf_that_requires_grad_gets_torchs_error(method):
    t = torch.tensor(_leaf().data.copy(), requires_grad=True)
    theirs = {"lerp_": lambda: t.lerp_(torch.ones(3, dtype=t.dtype), 0.5),
              "masked_fill_": lambda: t.masked_fill_(torch.from_numpy(MASK), 0.0),
              "copy_": lambda: t.copy_(torch.ones(3)), "addcmul_": lambda: t.addcmul_(torch.ones(3), torch.ones(3)),
              "addcdiv_": lambda: t.addcdiv_(torch.ones(3), torch.ones(3))}.get(method, lambda: CALLS[method](t))
    with pytest.raises(RuntimeError) as expected:
        theirs()
    w = _leaf()
    with pytest.raises(RuntimeError) as ours:
        CALLS[method](w)
    assert str(ours.value) == str(expected.value) and LEAF_IN_PLACE in str(ours.value)
    np.testing.assert_array_equal(w.data, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize("method", sorted(CALLS))
def test_on_the_tape_it_is_refused_naming_the_out_of_place_form(method):
    y = _leaf() * 1.0
    with pytest.raises(RuntimeError, match=rf"{method}: .*out-of-place form, x = |{method}: .*write x = "):
        CALLS[method](y)
    np.testing.assert_array_equal(y.data, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize("method, call", [
    ("add_", lambda x, w: x.add_(w[0])), ("mul_", lambda x, w: x.mul_(w)), ("copy_", lambda x, w: x.copy_(w)),
    ("lerp_", lambda x, w: x.lerp_(w, 0.5)), ("clamp_", lambda x, w: x.clamp_(w, None)),
    ("addcmul_", lambda x, w: x.addcmul_(w, w)), ("fill_", lambda x, w: x.fill_(w[0, 0])),
    ("masked_fill_", lambda x, w: x.masked_fill_(rg.tensor(MASK), w[0, 0])),
    ("__setitem__", lambda x, w: x.__setitem__(0, w[0]))])
def test_an_argument_that_requires_grad_is_refused_on_the_tape(method, call):
    x = rg.ones(2, 3, dtype=np.float64)
    with pytest.raises(RuntimeError, match=rf"{method}: an argument requires grad"):
        call(x, _leaf())
    with rg.no_grad():  # off the tape the value is read and written, as in torch
        call(x, _leaf())
    assert not x.requires_grad and x.data.any()


@pytest.mark.parametrize("method", sorted(set(CALLS) - {"t_", "transpose_", "unsqueeze_", "squeeze_"}))
def test_off_the_tape_every_method_writes_and_a_graph_that_kept_the_array_refuses_its_backward(method):
    w = _leaf()
    kept = (w * w).sum()  # mul keeps w's array for its gradient
    free = (w + 1.0).sum()  # add keeps nothing
    with rg.no_grad():
        out = CALLS[method](w)
    assert out is w or out is None and method == "__setitem__"
    assert w.requires_grad and w.is_leaf
    free.backward()  # nothing it needs was overwritten
    with pytest.raises(RuntimeError, match="modified in place"):
        kept.backward()


def test_a_write_into_a_tensor_that_needs_no_grad_is_allowed_in_grad_mode_and_stamped():
    w, x = _leaf(), rg.tensor(np.arange(6.0).reshape(2, 3))
    y = (w * x[0]).sum()  # mul keeps a view of x's array
    x[x > 2] = 0.0  # grad mode is on, but nothing written requires grad
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_non_leaf_cannot_change_shape_even_off_the_tape():
    y = _leaf() * 2.0
    with rg.no_grad(), pytest.raises(RuntimeError, match="t_: this tensor was made by a recorded op"):
        y.t_()
    w = _leaf()
    with rg.no_grad():
        assert w.t_() is w and w.shape == (3, 2) and w.requires_grad  # a leaf may, as in torch


def test_sgd_written_with_in_place_methods_as_torch():
    w = _leaf()
    t = torch.tensor(w.data.copy(), requires_grad=True)
    for _ in range(3):
        for p in (w, t):
            (p * p).sum().backward()
            with (rg.no_grad() if p is w else torch.no_grad()):
                p.add_(p.grad, alpha=-0.1)
            p.grad.zero_()
    np.testing.assert_allclose(w.data, t.detach().numpy())


def test_a_read_only_array_is_refused():
    x = rg.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only"):
        x.add_(1)


def test_an_in_place_write_inside_a_traced_call_is_not_replayable():
    from retrograd.autograd.replay import NotReplayable, Program
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    buffer = rg.zeros(2)

    def fn():
        buffer.add_(1.0)  # a side effect a replay would not repeat
        return [(x * buffer).sum()]
    with pytest.raises(NotReplayable, match="add_, an in-place write"):
        Program.trace(fn, [x])


AUGMENTED = [("+=", lambda x, y: x.__iadd__(y), "add"), ("-=", lambda x, y: x.__isub__(y), "sub"),
             ("*=", lambda x, y: x.__imul__(y), "mul"), ("/=", lambda x, y: x.__itruediv__(y), "div"),
             ("//=", lambda x, y: x.__ifloordiv__(y), "floor_divide"), ("%=", lambda x, y: x.__imod__(y), "remainder"),
             ("**=", lambda x, y: x.__ipow__(y), "pow")]


@requires_torch
@pytest.mark.parametrize("symbol, apply, name", AUGMENTED)
def test_augmented_assignment_off_the_tape_is_in_place_as_torchs(symbol, apply, name):
    base = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])
    other = np.array([2.0, 0.5, -3.0])
    x, t = rg.tensor(base.copy()), torch.tensor(base.copy())
    alias, t_alias = x, t
    x = apply(x, rg.tensor(other))
    t = apply(t, torch.tensor(other))
    assert x is alias and t is t_alias
    np.testing.assert_allclose(alias.data, t_alias.numpy(), rtol=1e-12, equal_nan=True)


@requires_torch
def test_augmented_assignment_keeps_torchs_refusals():
    i, ti = rg.tensor(np.array([1, 2])), torch.tensor([1, 2])
    with pytest.raises(RuntimeError) as theirs:
        ti += 0.5
    with pytest.raises(RuntimeError) as ours:
        i += 0.5
    assert str(theirs.value) in str(ours.value)
    x, tx = rg.zeros(3), torch.zeros(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        tx += torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x += rg.ones(2, 3)


def test_augmented_assignment_on_the_tape():
    """A leaf that requires grad: PyTorch's error (not a silent new tensor); under no_grad the
    optimizer-style update is in place; a non-leaf on the tape gets a new tensor x = x + y
    (PyTorch rebases the graph; the values and the gradient are the same)."""
    w = rg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w -= 1.0
    params = [w]
    with rg.no_grad():
        for p in params:
            p -= 0.5
    np.testing.assert_array_equal(w.data, [0.5, 1.5])
    loss = (w * w).sum()
    before = loss
    loss += w.sum()  # ``loss += penalty``: the common on-tape form keeps working
    assert loss is not before
    loss.backward()
    np.testing.assert_allclose(w.grad.data, 2 * w.data + 1)
