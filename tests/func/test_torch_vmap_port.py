"""PyTorch's own vmap tests (test/functorch/test_vmap.py, class TestVmapAPI and a sample of
TestVmapOperators) ported: each case runs the same function through ``torch.func.vmap`` and
``rg.func.vmap`` and compares the results' structure, shapes, dtypes and values, or the
exception's type and the fragment torch's test matches. Where retrograd differs on purpose
(a value read inside ``func``, a ``func`` returning a bool) the test asserts both behaviours,
and README's table of differences has the row.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict

import numpy as np
import pytest

import retrograd as rg
from retrograd import func as F
from retrograd.autograd.op import OpError

torch = pytest.importorskip("torch")
import torch.func as TF  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("float64_default", "torch_float64_default")]
LIBS = ((rg, F.vmap), (torch, TF.vmap))
R = np.random.default_rng(7)



def randn(*shape):
    return R.standard_normal(shape)


def rand(*shape):
    return R.random(shape)


def _to(L, a):
    """An ndarray as ``L``'s tensor (its dtype kept); anything else as it is, nested."""
    if isinstance(a, np.ndarray):
        return rg.tensor(a.copy()) if L is rg else torch.from_numpy(a.copy())  # (rg.tensor shares an ndarray)
    if isinstance(a, (tuple, list)):
        return type(a)(_to(L, v) for v in a)
    if isinstance(a, dict):
        return {k: _to(L, v) for k, v in a.items()}
    return a


def run(case, *arrays):
    """``case(L, vmap, *tensors)`` for retrograd and for torch: (ours, theirs)."""
    return tuple(case(L, vmap, *_to(L, list(arrays))) for L, vmap in LIBS)


def _dtype(t):
    return str(t.dtype).replace("torch.", "")


def assert_same(ours, theirs):
    """The same tree (container types included), shapes, dtypes and values."""
    if isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            assert_same(ours[k], theirs[k])
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif isinstance(theirs, torch.Tensor):
        assert isinstance(ours, rg.Tensor)
        assert tuple(ours.shape) == tuple(theirs.shape) and _dtype(ours) == _dtype(theirs)
        np.testing.assert_allclose(np.asarray(ours.data), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    else:
        assert ours == theirs


def check(case, *arrays):
    assert_same(*run(case, *arrays))


def raises_as_torch(case, *arrays, phrase=None):
    """torch raises (with ``phrase``, a regex, when given); ours raises torch's type, with it."""
    with pytest.raises(Exception) as theirs:
        case(torch, TF.vmap, *_to(torch, list(arrays)))
    if phrase is not None:
        assert re.search(phrase, str(theirs.value)), str(theirs.value)
    with pytest.raises(type(theirs.value), match=phrase):
        case(rg, F.vmap, *_to(rg, list(arrays)))


# ================================================================ TestVmapAPI
def test_non_tensor_output_raises():
    raises_as_torch(lambda L, vmap, x: vmap(lambda x: 3.14)(x), np.ones(3), phrase="got type <class 'float'>")
    raises_as_torch(lambda L, vmap, x: vmap(lambda x: (x, 3))(x), np.ones(3), phrase="got type <class 'int'>")


def test_different_map_dim_size_raises():
    msg = "Expected all tensors to have the same size in the mapped dimension"
    x, y = randn(2), randn(3)
    raises_as_torch(lambda L, vmap, x, y: vmap(L.mul)(x, y), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(lambda z: z[0] + z[1], in_dims=((0, 0),))((x, y)), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(lambda z: z["x"] + z["y"], in_dims=({"x": 0, "y": 0},))(
        {"x": x, "y": y}), x, y, phrase=msg)


def test_func_with_no_inputs_and_no_tensors():
    raises_as_torch(lambda L, vmap: vmap(lambda: L.randn(3))(), phrase="got no inputs")
    raises_as_torch(lambda L, vmap: vmap(lambda x: L.randn(3))(), phrase="got no inputs")
    raises_as_torch(lambda L, vmap: vmap(lambda x: L.randn(3), (None,))(1), phrase="at least one Tensor")


def test_constant_single_and_multiple_inputs_and_outputs():
    x, y = randn(2, 3), randn(2, 3)
    check(lambda L, vmap, x: vmap(lambda x: L.tensor(3.14))(x), np.ones(3))
    check(lambda L, vmap, x: vmap(lambda x: x * x)(x), x)
    check(lambda L, vmap, x, y: vmap(L.mul)(x, y), x, y)
    check(lambda L, vmap, x: vmap(lambda x: (x * x, x * x * x))(x), randn(3))
    for fn in (lambda x: (x, x), lambda x: [x, x], lambda x: [x]):
        check(lambda L, vmap, x: vmap(fn)(x), randn(3))


def test_nested_vmaps():
    x, y = randn(2, 3, 5), randn(2, 3, 5)
    check(lambda L, vmap, x, y: vmap(vmap(L.mul))(x, y), x, y)
    check(lambda L, vmap, x, y: vmap(vmap(vmap(L.mul)))(x, y), x, y)
    check(lambda L, vmap, x: vmap(vmap(L.diag_embed))(x), randn(3, 3, 5))
    x, y, z = randn(2, 3), randn(5, 3), randn(7, 3)
    check(lambda L, vmap, x, y: vmap(lambda x: vmap(lambda y: x * y)(y))(x), x, y)
    check(lambda L, vmap, x, y, z: vmap(lambda x: vmap(lambda y: vmap(lambda z: x * y * z)(z))(y))(x), x, y, z)
    check(lambda L, vmap, x, y: vmap(lambda x: vmap(lambda y: x)(y))(x), randn(3), randn(5))  # noop inner vmap


def test_nonzero_and_multiple_out_dims():
    t4, o4 = randn(2, 3, 5, 7), randn(2, 3, 5, 7)
    check(lambda L, vmap, t: vmap(lambda x: x, out_dims=1)(t), randn(2, 3))
    check(lambda L, vmap, t: vmap(lambda x: x, out_dims=2)(t), t4)
    check(lambda L, vmap, t: vmap(lambda x: x, out_dims=-1)(t), t4)
    check(lambda L, vmap, t, o: vmap(lambda x, y: (x, y), out_dims=2)(t, o), t4, o4)
    check(lambda L, vmap, t: vmap(lambda x: x, out_dims=2)(t), randn(*([2] + [1] * 63)))  # 64 dims, as torch's test
    x, y = randn(2, 3, 5), randn(2, 3, 5)
    check(lambda L, vmap, x, y: vmap(lambda x, y: (x, x * y, x * y * y), out_dims=1)(x, y), x, y)
    check(lambda L, vmap, x: vmap(lambda x: (x, x), out_dims=(0, 1))(x), x)
    check(lambda L, vmap, x, y: vmap(lambda x, y: (x, x, x, x * y), out_dims=(-1, 0, 1, 2))(x, y), x, y)


def test_nested_out_dims():
    y = randn(2, 3, 5, 7)
    check(lambda L, vmap, y: vmap(lambda y: vmap(lambda x: x, out_dims=1)(y))(y), y)
    check(lambda L, vmap, y: vmap(lambda y: vmap(lambda x: x, out_dims=1)(y), out_dims=1)(y), y)
    check(lambda L, vmap, y: vmap(lambda y: vmap(lambda x: x, out_dims=-1)(y), out_dims=-1)(y), y)
    check(lambda L, vmap, x, y: vmap(lambda y: vmap(lambda x: x * y, out_dims=1)(x), out_dims=-1)(y),
          randn(2, 3), randn(5, 3))


def test_out_dims_edge_cases_and_none():
    t = randn(2, 3)
    check(lambda L, vmap, t: vmap(lambda x: x, out_dims=(1,))(t), t)
    check(lambda L, vmap, t: vmap(lambda x: (x, "hello world"), out_dims=(0, None))(t), t)
    raises_as_torch(lambda L, vmap, t: vmap(lambda x: x, out_dims=None)(t), t,
                    phrase="can not return a BatchedTensor when out_dim is None")
    check(lambda L, vmap, t: vmap(lambda x: L.arange(3))(t), t)  # an unbatched output is expanded
    check(lambda L, vmap, t: vmap(lambda x: L.arange(3), out_dims=None)(t), t)


def test_out_dims_none_after_an_in_place_op():
    """``x.add_(1)`` on each example writes through to the input, as torch's batched tensor does."""
    def case(L, vmap, t):
        def foo(x):
            x.add_(1)
            return None, "hello world"
        return vmap(foo, out_dims=(None, None))(t), t

    def case2(L, vmap, t):
        def foo(x):
            x.add_(1)
            return "hello world"
        return vmap(foo, out_dims=None)(t), t
    check(case, randn(2, 3))
    check(case2, randn(2, 3))


def test_pytree_returns():
    x = randn(2, 3)
    check(lambda L, vmap, x: vmap(lambda x: (x.sin(), (x.sin(), x.sin()), [x.sin(), (x.sin(), x.sin())]))(x), x)
    check(lambda L, vmap, x: vmap(lambda t: OrderedDict([("sin", t.sin()), ("cos", t.cos())]))(x), x)
    f = lambda x: (x.sin(), (x.sin(), x.sin()))  # noqa: E731
    for out_dims in ((0, (0, 1)), 1, (0, 1)):
        check(lambda L, vmap, x: vmap(f, out_dims=out_dims)(x), x)


def test_out_dims_errors():
    t, x = randn(2, 3), randn(2, 3, 5)
    msg = "must be an int, None or a python collection of ints"
    for bad in ("lol", ("lol",)):
        raises_as_torch(lambda L, vmap, t: vmap(lambda x: x, out_dims=bad)(t), t, phrase=msg)
    for fn, out_dims in ((lambda x: x, (0, 0)), (lambda x: (x, x, x), (0, 0, 0, 0)), (lambda x: (x, x), (0,)),
                         (lambda x: (x, x, x), (0, 0))):
        raises_as_torch(lambda L, vmap, x: vmap(fn, out_dims=out_dims)(x), x, phrase="not compatible")
    for d in (3, -4):
        raises_as_torch(lambda L, vmap, x: vmap(lambda x: x, out_dims=d)(x), x, phrase="Dimension out of range")


def test_in_and_out_dims_are_checked_when_the_function_is_called_as_torch():
    """torch checks ``in_dims`` and ``out_dims`` when the mapped function is called, not before."""
    for vmap in (F.vmap, TF.vmap):
        assert callable(vmap(lambda x: x, in_dims=[0]))
        assert callable(vmap(lambda x: x, out_dims="lol"))


def test_non_zero_none_and_negative_in_dims():
    t = randn(2, 3, 5)
    check(lambda L, vmap, t: vmap(lambda x: x, (1,))(t), t)
    x, y = randn(2, 3), randn(3, 2)
    check(lambda L, vmap, x, y: vmap(L.mul, (0, 1))(x, y), x, y)
    check(lambda L, vmap, x, y: vmap(L.mul, (1, 0))(x, y), x, y)
    x, y = randn(2, 3), randn(2, 3)
    check(lambda L, vmap, x, y: vmap(L.mul, (0, None))(x, y), x, y)
    check(lambda L, vmap, x: vmap(L.mul, (0, None))(x, 2), x)
    check(lambda L, vmap, x, y: vmap(L.mul, (-1, -1))(x, y), x, y)
    x, y = rand(5, 2, 3), rand(3, 5, 2)
    check(lambda L, vmap, x, y: vmap(vmap(vmap(L.mul), (1, 0)), (1, 2))(x, y), x, y)


def test_non_default_in_dims_out_dims():
    x = randn(2, 3, 5)
    for in_dims, out_dims in ((1, 1), (2, 1)):
        check(lambda L, vmap, x: vmap(lambda x: x, in_dims=in_dims, out_dims=out_dims)(x), x)
        check(lambda L, vmap, x: vmap(lambda x: x * 2, in_dims=in_dims, out_dims=out_dims)(x), x)
    check(lambda L, vmap, x: vmap(vmap(lambda x: x * 2, 1, 1), 1, 1)(x), x)


def test_item_and_data_dependent_control_flow_work_per_example():
    """torch raises on ``.item()`` and on ``if x:`` inside vmap; retrograd calls ``func`` per
    example, where both are values (README, "Differences from PyTorch": func.vmap)."""
    x = randn(3)
    with pytest.raises(RuntimeError, match=r"item\(\) on a Tensor"):
        TF.vmap(lambda x: x.item())(torch.from_numpy(x))
    with pytest.raises(RuntimeError, match="data-dependent control flow"):
        TF.vmap(lambda x: x if x else 0)(torch.from_numpy(x))
    out = F.vmap(lambda x: x * 0 + x.item())(rg.tensor(x))
    np.testing.assert_array_equal(out.data, x)
    out = F.vmap(lambda x: x if x > 0 else x * 0)(rg.tensor(x))
    np.testing.assert_array_equal(out.data, np.maximum(x, 0))


def test_a_non_tensor_return_from_an_op_is_refused():
    """torch: no batching rule for ``torch.equal`` (RuntimeError); retrograd: ``func`` returned a
    bool, refused as any non-Tensor output is (ValueError) — README's table of differences."""
    t = randn(2, 3)
    with pytest.raises(RuntimeError, match="Batching rule not implemented"):
        TF.vmap(torch.equal)(torch.from_numpy(t), torch.from_numpy(t))
    with pytest.raises(ValueError, match="must only return Tensors, got type <class 'bool'>"):
        F.vmap(rg.equal)(rg.tensor(t), rg.tensor(t))


def test_accepts_nested_inputs():
    x, y = randn(2, 3), randn(2, 3)
    pair = lambda z: z[0] + z[1]  # noqa: E731
    for in_dims in (0, (0,), ((0, 0),)):
        check(lambda L, vmap, x, y: vmap(pair, in_dims=in_dims)((x, y)), x, y)
    for in_dims in (0, (0,), ([0, 0],)):
        check(lambda L, vmap, x, y: vmap(pair, in_dims=in_dims)([x, y]), x, y)
    keyed = lambda z: z["x"] + z["y"]  # noqa: E731
    for in_dims in (0, (0,), ({"x": 0, "y": 0},)):
        check(lambda L, vmap, x, y: vmap(keyed, in_dims=in_dims)({"x": x, "y": y}), x, y)
    deep = lambda z: z["x"][0] + z["x"][1][0] + z["y"][0] + z["y"][1]  # noqa: E731
    check(lambda L, vmap, x, y: vmap(deep)({"x": [x, (x,)], "y": [y, y]}), x, y)


def test_in_dims_errors():
    x, y = randn(3), randn(3)
    msg = r"expected `in_dims` to be int or a \(potentially nested\) tuple"
    for bad in ([0, 0], {0}, "lol"):
        raises_as_torch(lambda L, vmap, x, y: vmap(L.mul, bad)(x, y), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(lambda z: z[0] + z[1], in_dims=[0, 0])([x, y]), x, y, phrase=msg)
    msg = r"in_dims is not compatible with the structure of `inputs`"
    raises_as_torch(lambda L, vmap, x, y: vmap(L.mul, (0,))(x, y), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(L.mul, (0, 0, 0))(x, y), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(lambda z: z[0] + z[1], in_dims=([0],))([x, y]), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(lambda z: z[0] + z[1], in_dims=((0, 0),))([x, y]), x, y, phrase=msg)
    raises_as_torch(lambda L, vmap, x, y: vmap(L.mul, ("lol", 0))(x, y), x, y,
                    phrase="in_dim must be either an integer dimension or None")


def test_integer_in_dim_for_a_non_tensor_and_in_dim_out_of_range():
    x = randn(2, 3)
    msg = "Got in_dim=0 for an input but the input is of type"
    raises_as_torch(lambda L, vmap, x: vmap(L.sum)(x, 0), x, phrase=msg)
    raises_as_torch(lambda L, vmap, x: vmap(L.sum, (0, 0))(x, 0), x, phrase=msg)
    raises_as_torch(lambda L, vmap, x: vmap(lambda z: z[0] + z[1], in_dims=([0, 0],))([x, 1]), x, phrase=msg)
    check(lambda L, vmap, x: vmap(L.sum, (0, None))(x, 0), x)
    msg = r"Got in_dim=-?\w for some input, but that input is a Tensor of dimensionality \w"
    sq = lambda x: x * x  # noqa: E731
    raises_as_torch(lambda L, vmap, s: vmap(sq)(s), np.array(0.5), phrase=msg)
    raises_as_torch(lambda L, vmap, s: vmap(sq, in_dims=(0,))(s), np.array(0.5), phrase=msg)
    raises_as_torch(lambda L, vmap, x: vmap(sq, in_dims=(-3,))(x), x, phrase=msg)
    raises_as_torch(lambda L, vmap, x: vmap(sq, in_dims=(2,))(x), x, phrase=msg)
    raises_as_torch(lambda L, vmap, x: vmap(lambda z: z[0] + z[1], in_dims=([3, 0],))([x, x]), x, phrase=msg)
    check(lambda L, vmap, x: vmap(sq, in_dims=(1,))(x), x)


def test_fallback_ops_and_multiple_returns():
    """torch's "fallback" cases (ops without a batching rule): copysign with moved in_dims, nested,
    and var_mean returning a tuple."""
    x, y = randn(7, 11, 5), randn(5, 7, 11)
    check(lambda L, vmap, x, y: vmap(L.copysign, (2, 0))(x, y), x, y)
    check(lambda L, vmap, x, y: vmap(vmap(L.copysign), (2, 0))(x, y), x, y)
    check(lambda L, vmap, t: vmap(L.var_mean)(t), randn(2, 10))
    check(lambda L, vmap, t: vmap(vmap(L.var_mean))(t), randn(2, 3, 10))


def test_zero_size_batch_runs_as_torch():
    """A mapped dimension of size 0 gives empty results of torch's shapes and dtypes."""
    check(lambda L, vmap, x, y: vmap(L.mul, (0, None))(x, y), randn(0, 11), randn(11))
    check(lambda L, vmap, x: vmap(lambda t: (t.sum(), t * 2), out_dims=(0, 1))(x), randn(0, 3, 4))
    check(lambda L, vmap, x: vmap(vmap(L.sin))(x), randn(3, 0, 2))
    check(lambda L, vmap, x: vmap(lambda t: t.long() + 1)(x), randn(0, 2))


def test_functools_partial_nn_module_and_unbatched_inner_ops():
    x, y = randn(3), randn(2, 3)
    check(lambda L, vmap, x, y: vmap(functools.partial(L.mul, x))(y), x, y)
    w = randn(3, 3)

    def linear(L, vmap, w, t):
        model = L.nn.Linear(3, 3, bias=False).double()
        if L is rg:
            model.weight.data = w.data
        else:
            model.weight.data.copy_(w)
        return vmap(model)(t)
    check(linear, w, randn(2, 3))

    def f(L):
        return lambda x, y: x + L.dot(y, L.ones(2))
    check(lambda L, vmap, x, y: vmap(vmap(f(L), in_dims=(0, None)), in_dims=(None, 0))(x, y), randn(7, 5), randn(3, 2))


def test_batched_gradient_basic():
    """``autograd.grad`` inside vmap: the rows of the Jacobian of x * y."""
    y = randn(3)

    def case(L, vmap, y, v):
        x = (rg.tensor(np.ones(3), requires_grad=True) if L is rg else torch.ones(3, requires_grad=True))
        return vmap(lambda v: L.autograd.grad([x * y], [x], grad_outputs=[v])[0])(v)
    check(case, y, np.eye(3))


def test_kwargs_are_passed_unbatched():
    x = randn(2, 5)
    check(lambda L, vmap, x: vmap(lambda x, scale=4.0: x * scale)(x), x)
    check(lambda L, vmap, x: vmap(lambda x, scale=4.0: x * scale)(x, scale=x), x)  # scale unbatched: (2, 2, 5)


# ---------------------------------------------------------------- chunk_size and randomness
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 100])
def test_chunk_size_gives_the_unchunked_results(chunk_size):
    x, y = randn(7, 3), randn(3, 7)
    f = lambda a, b: (a * b.sum(), {"s": (a + b).sum()})  # noqa: E731
    check(lambda L, vmap, x, y: vmap(f, in_dims=(0, 1), out_dims=(1, 0), chunk_size=chunk_size)(x, y), x, y)


@pytest.mark.parametrize("bad", [0, -1])
def test_chunk_size_must_be_positive(bad):
    for vmap in (F.vmap, TF.vmap):
        with pytest.raises(ValueError, match=re.escape(f"chunk_size should be None or greater than 0. (got {bad})")):
            vmap(lambda x: x, chunk_size=bad)


RANDOM_OPS = {
    "rand": lambda L, x: x + L.rand(3),
    "randn": lambda L, x: x + L.randn(3),
    "rand_like": lambda L, x: L.rand_like(x),
    "randn_like": lambda L, x: L.randn_like(x),
    "normal_": lambda L, x: L.empty(3).normal_() + x,
    "bernoulli": lambda L, x: L.bernoulli(x * 0 + 0.5),
    "dropout": lambda L, x: L.nn.functional.dropout(x * 0 + 1, 0.5, True),
    "randint": lambda L, x: L.randint(0, 100, (3,)) + x,
}


# torch's batching rules refuse these two; per-example calls give the asked-for randomness
# (README, "Differences from PyTorch": func.vmap randomness)
TORCH_REFUSES = {("normal_", "different"): "Cannot ask for different inplace randomness on an unbatched tensor",
                 ("bernoulli", "same"): "same randomness with a batched tensor input"}


def _rows_all_equal(rows):
    return all(np.array_equal(rows[0], r) for r in rows[1:])


@pytest.mark.parametrize("op", sorted(RANDOM_OPS))
def test_randomness_error_same_and_different(op):
    """"error": the random op raises torch's RuntimeError; "same": every example draws the same
    numbers; "different": the examples differ. The values are each generator's own; the
    shapes, dtypes and the same/different pattern are torch's."""
    fn = RANDOM_OPS[op]
    x = np.zeros((6, 3))
    raises_as_torch(lambda L, vmap, x: vmap(lambda t: fn(L, t))(x), x, phrase="randomness error mode")
    for randomness in ("same", "different"):
        for chunk_size in (None, 4):
            case = lambda L, vmap, x: vmap(lambda t: fn(L, t), randomness=randomness,  # noqa: E731
                                           chunk_size=chunk_size)(x)
            refusal = TORCH_REFUSES.get((op, randomness))
            if refusal:
                with pytest.raises(RuntimeError, match=refusal):
                    case(torch, TF.vmap, torch.from_numpy(x))
                ours = case(rg, F.vmap, rg.tensor(x))
                assert tuple(ours.shape) == (6, 3)
                assert _rows_all_equal(np.asarray(ours.data)) == (randomness == "same")
                continue
            ours, theirs = run(case, x)
            assert tuple(ours.shape) == tuple(theirs.shape) and _dtype(ours) == _dtype(theirs)
            assert _rows_all_equal(np.asarray(ours.data)) == (randomness == "same"), (op, randomness, chunk_size)
            assert _rows_all_equal(theirs.numpy()) == (randomness == "same"), (op, randomness, chunk_size)


def test_randomness_value_must_be_one_of_three():
    for vmap in (F.vmap, TF.vmap):
        with pytest.raises(RuntimeError, match="Only allowed values for randomness are 'error', 'different', or "
                                               "'same'. Got sometimes"):
            vmap(lambda x: x, randomness="sometimes")


# ================================================================ TestVmapOperators (a sample)
def op_test(op, arrays, in_dims=0, out_dims=0):
    """torch's ``_vmap_test``: ``vmap(op, in_dims, out_dims)`` in both libraries gives the same
    results, and with the first input requiring grad the first output requires grad too."""
    check(lambda L, vmap, *xs: vmap(op(L), in_dims, out_dims)(*xs), *arrays)
    flags = []
    for L, vmap in LIBS:
        xs = _to(L, list(arrays))
        xs[0] = xs[0].detach().requires_grad_(True)
        out = vmap(op(L), in_dims, out_dims)(*xs)
        flags.append((out if not isinstance(out, tuple) else out[0]).requires_grad)
    assert flags[0] == flags[1] is True


def unary_test(op, getter):
    """torch's ``_test_unary``: single and doubly nested vmap, moved in_dims and out_dims."""
    B0, B1 = 7, 11
    op_test(op, [getter(B0, 3)])
    op_test(op, [getter(2, 5, B0, 3)], in_dims=2)
    op_test(op, [getter(2, 5, B0, 3)], in_dims=2, out_dims=2)
    nested = lambda in_dims=0: (lambda L: L.func.vmap(op(L), in_dims=in_dims) if L is torch  # noqa: E731
                                else F.vmap(op(L), in_dims=in_dims))
    op_test(nested(), [getter(B0, B1)])
    op_test(nested(), [getter(B1, 2, 5, B0, 3)], in_dims=2)
    op_test(nested(2), [getter(2, 5, B0, B1, 3)], in_dims=2, out_dims=2)


def randp1(*shape):
    return rand(*shape) + 1


UNARY = {"abs": randn, "acos": rand, "asin": rand, "atan": rand, "ceil": randn, "cos": rand, "cosh": rand,
         "exp": randn, "expm1": randn, "floor": randn, "frac": randn, "log": randp1, "log10": randp1,
         "log1p": randp1, "log2": randp1, "neg": randn, "reciprocal": randp1, "relu": randn, "round": randn,
         "rsqrt": randp1, "sigmoid": randn, "sign": randn, "sin": rand, "sinh": rand, "sqrt": rand, "tan": rand,
         "tanh": rand, "trunc": randn}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_pointwise(name):
    unary_test(lambda L: getattr(L, name), UNARY[name])


ARITHMETIC = {"add": (lambda L: L.add, randn), "sub": (lambda L: L.sub, randn), "mul": (lambda L: L.mul, randn),
              "div": (lambda L: L.div, randp1), "pow": (lambda L: L.pow, randp1),
              "add_dunder": (lambda L: lambda x, y: x + y, randn), "div_dunder": (lambda L: lambda x, y: x / y, randp1),
              "pow_dunder": (lambda L: lambda x, y: x ** y, randp1)}


@pytest.mark.parametrize("name", sorted(ARITHMETIC))
def test_arithmetic(name):
    op, g = ARITHMETIC[name]
    B0, B1 = 7, 11
    op_test(op, [g(B0, 3), g(B0, 3)])
    op_test(op, [g(B0), g(B0, 2, 3)])
    op_test(op, [g(B0), g(2, B0, 3)], in_dims=(0, 1))
    op_test(op, [g(B0), g(2, B0, 3)], in_dims=(0, 1), out_dims=1)
    op_test(op, [g(B0), g(2, 3)], in_dims=(0, None))
    op_test(op, [g(2, 3), g(B0, 3)], in_dims=(0, None))
    op_test(lambda L: (TF if L is torch else F).vmap(op(L)), [g(B0, B1, 2, 3), g(B0, B1, 3)])
    op_test(lambda L: (TF if L is torch else F).vmap(op(L), in_dims=(None, 0)), [g(B0, 2, 3), g(B1, 3)],
            in_dims=(0, None))
    number = float(g())
    unary_test(lambda L: lambda t: op(L)(t, number), g)
    op_test(op, [g(B0), g(B0).astype(np.float32)])  # type promotion: two logical scalars
    # a float32 example with a float64 logical scalar: torch keeps float32 (a 0-d tensor does not
    # promote), retrograd promotes to float64 as NumPy does (README: "promotion between two tensors")
    x32, s64 = g(B0, 2).astype(np.float32), g(B0)
    ours, theirs = run(lambda L, vmap, x, s: vmap(op(L))(x, s), x32, s64)
    assert (_dtype(ours), _dtype(theirs)) == ("float64", "float32")
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, atol=1e-6)  # float32 rounding near 0


def test_reductions_with_dim():
    B0 = 5
    for name in ("sum", "mean", "amax", "logsumexp", "std", "var", "prod"):
        for dim in (0, -1, (0, 1)):
            if name in ("logsumexp", "prod") and isinstance(dim, tuple):
                continue
            op_test(lambda L: lambda t: getattr(L, name)(t, dim), [randn(B0, 3, 4)])
            op_test(lambda L: lambda t: getattr(L, name)(t, dim, keepdim=True), [randn(3, B0, 4)], in_dims=1)
    op_test(lambda L: lambda t: t.sum(), [randn(B0, 3, 4)])
    op_test(lambda L: lambda t: t.max(dim=1)[0], [randn(B0, 3, 4)])


def test_matmul_family():
    B0, B1 = 5, 3
    vm = lambda L: TF.vmap if L is torch else F.vmap  # noqa: E731
    op_test(lambda L: L.mm, [randn(B0, 2, 5), randn(5, 2)], in_dims=(0, None))
    op_test(lambda L: L.mm, [randn(2, 5), randn(B0, 5, 2)], in_dims=(None, 0))
    op_test(lambda L: vm(L)(L.mm), [randn(B1, B0, 2, 5), randn(B0, B1, 5, 2)], in_dims=(1, 0))
    op_test(lambda L: L.mv, [randn(B0, 2, 5), randn(B0, 5)])
    op_test(lambda L: L.mv, [randn(2, 5), randn(B0, 5)], in_dims=(None, 0))
    op_test(lambda L: L.dot, [randn(B0, 5), randn(5)], in_dims=(0, None))
    op_test(lambda L: L.bmm, [randn(B0, 3, 2, 5), randn(B0, 3, 5, 4)])
    op_test(lambda L: L.bmm, [randn(3, 2, 5), randn(B0, 3, 5, 4)], in_dims=(None, 0))
    for a, b in (((B0, 5), (5,)), ((B0, 2, 5), (5,)), ((B0, 5), (5, 3)), ((B0, 4, 2, 5), (5, 3)), ((B0, 5), (2, 5, 3))):
        op_test(lambda L: L.matmul, [randn(*a), randn(*b)], in_dims=(0, None))
    op_test(lambda L: L.matmul, [randn(2, 5), randn(5, B0)], in_dims=(None, 1))
    op_test(lambda L: vm(L)(L.matmul, in_dims=(None, 0)), [randn(B0, 2, 2, 2), randn(B0, 7, 2)])  # functorch#417
    # a shape error inside the map: torch's RuntimeError; retrograd's op error (OpError, a
    # RuntimeError and a ValueError) naming the op
    for name, a, b in (("mm", (B0, 2), (B0, 2)), ("mv", (B0, 2, 3), (B0, 2)), ("dot", (B0, 2, 3), (B0, 3))):
        with pytest.raises(RuntimeError):
            TF.vmap(getattr(torch, name))(torch.from_numpy(randn(*a)), torch.from_numpy(randn(*b)))
        with pytest.raises(RuntimeError, match=name) as refused:
            F.vmap(getattr(rg, name))(rg.tensor(randn(*a)), rg.tensor(randn(*b)))
        assert isinstance(refused.value, OpError)


def test_views_and_shapes():
    B0 = 4
    x = randn(B0, 2, 3, 5)
    for op in (lambda L: lambda t: t.transpose(0, 1), lambda L: lambda t: t.transpose(-1, 0),
               lambda L: lambda t: t.permute(2, 0, 1), lambda L: lambda t: t.reshape(6, 5),
               lambda L: lambda t: t.reshape(-1), lambda L: lambda t: t.view(3, 2, 5), lambda L: lambda t: t.flatten(1),
               lambda L: lambda t: t.movedim(0, 2), lambda L: lambda t: t.unsqueeze(1), lambda L: lambda t: t[0].t(),
               lambda L: lambda t: t.select(1, 2), lambda L: lambda t: t.narrow(2, 1, 3),
               lambda L: lambda t: t.expand(4, 2, 3, 5), lambda L: lambda t: t.diagonal(0, 1, 2)):
        op_test(op, [x])
        op_test(op, [np.moveaxis(x, 0, 2)], in_dims=2, out_dims=1)
    op_test(lambda L: lambda t: t.squeeze(), [randn(B0, 1, 3, 1)])


def test_indexing():
    B0 = 4
    x = randn(B0, 5, 6)
    idx = np.array([4, 0, 2])
    for op in (lambda L: lambda t: t[1], lambda L: lambda t: t[:, ::2], lambda L: lambda t: t[..., -1],
               lambda L: lambda t: t[1:3, None, 2], lambda L: lambda t: t[_to(L, idx)],
               lambda L: lambda t: t[:, _to(L, idx)]):
        op_test(op, [x])
    # a shape that depends on the values: torch refuses to batch it, and so do we when the
    # examples' shapes differ (when they agree, the per-example calls stack them)
    for dynamic in (lambda L, vmap, t: vmap(lambda t: t[t > 0])(t), lambda L, vmap, t: vmap(L.nonzero)(t)):
        raises_as_torch(dynamic, np.where(x > 0, x, 0.0), phrase="dynamic shape")
    out = F.vmap(lambda t: t[t > 0])(rg.tensor(np.ones((B0, 3))))
    assert tuple(out.shape) == (B0, 3)
    op_test(lambda L: lambda t, i: t[i], [randn(B0, 5), np.array([3, 1, 0, 4])])  # a mapped 0-d index
    op_test(lambda L: lambda t, i: L.index_select(t, 0, i), [randn(B0, 5, 2), np.array([[1, 0]] * B0)])
    op_test(lambda L: lambda t, i: L.gather(t, 0, i), [randn(B0, 5), np.array([[1, 0, 4]] * B0)])


def test_cat_stack_and_softmax():
    B0 = 3
    for dim in (0, -1):
        cat = lambda L: lambda x, y: L.cat([x, y], dim=dim)  # noqa: E731
        op_test(cat, [randn(B0, 2, 3), randn(B0, 2, 3)])
        op_test(cat, [randn(B0, 2, 3), randn(2, 3)], in_dims=(0, None))
        op_test(cat, [randn(2, 3), randn(2, B0, 3)], in_dims=(None, 1))
        stack = lambda L: lambda x, y: L.stack([x, y], dim=dim)  # noqa: E731
        op_test(stack, [randn(B0, 2, 3), randn(2, 3, B0)], in_dims=(0, -1))
        for name in ("softmax", "log_softmax"):
            op_test(lambda L: lambda t: getattr(L.nn.functional, name)(t, dim=dim), [randn(B0, 4, 5)])
            op_test(lambda L: lambda t: getattr(L, name)(t, dim), [randn(4, B0, 5)], in_dims=1, out_dims=2)
