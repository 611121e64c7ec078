"""The Tensor methods of ``ops/tensor_methods_extra.py`` and its two in-place companions, and
``nn/tensor_methods.py``, checked against torch 2.13.

In-place forms (``tensor_methods_inplace``): off the tape, torch's values and refusals, and exactly
the out-of-place op's values (``test_inplace``'s ``_check``); on the tape, a leaf that requires grad
gets torch's error and anything else is refused naming the out-of-place form; the write stamps the
array. Out-of-place methods: values, dtypes and gradients (``torch_compare.compare``) and torch's
errors. Random fills: shapes, dtypes, ranges and moments (not values: another generator). The
introspection of a host tensor: torch's answers for the same shapes and views.
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd.ops.inplace import LEAF_IN_PLACE
from test_inplace import BOOL_ROW, CAST, DTYPES, INT_ROW, REFUSED, ROW, _check, _ours, _theirs, _values
from torch_compare import compare, same_error

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

F32 = dict(rtol=2e-5, atol=1e-6)  # float32 special functions: the libraries' own roundings differ


def _unit(dtype, shape=(2, 3), seed=0):
    """Values inside (0, 1) for floats (logit, erfinv), small integers and booleans otherwise."""
    if dtype.startswith("float"):
        return np.random.default_rng(seed).uniform(0.05, 0.95, shape).astype(dtype)
    return _values(dtype, shape=shape, seed=seed)


# ------------------------------------------------------------------ unary math in place
UNARY = {"erf_": False, "erfc_": False, "erfinv_": "unit", "lgamma_": True, "digamma_": True, "i0_": False,
         "sinc_": False, "log2_": True, "log10_": True, "exp2_": False, "fix_": False, "sgn_": False,
         "deg2rad_": False, "rad2deg_": False, "logit_": "unit"}


@requires_torch
@pytest.mark.filterwarnings("ignore:divide by zero")  # log2/log10 of False: -inf, refused when stored
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", sorted(UNARY))
def test_unary_in_place_as_torch(method, dtype):
    x = _unit(dtype) if UNARY[method] == "unit" else _values(dtype, positive=UNARY[method])
    _check(x, method, oop=lambda t: getattr(t, method[:-1])(), tols=F32 if dtype == "float32" else None)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method, args, kwargs", [
    ("logit_", (0.1,), {}), ("logit_", (), {"eps": 0.2}), ("polygamma_", (1,), {}), ("polygamma_", (2,), {}),
    ("polygamma_", (-1,), {}), ("mvlgamma_", (2,), {}), ("mvlgamma_", (), {"p": 1}), ("mvlgamma_", (0,), {}),
    ("renorm_", (2, 0, 1.0), {}), ("renorm_", (1, 1, 0.5), {}), ("renorm_", (), {"p": 3, "dim": -1, "maxnorm": 2}),
    ("tril_", (), {}), ("tril_", (1,), {}), ("triu_", (-1,), {}), ("triu_", (), {"diagonal": 1}),
    ("cumsum_", (1,), {}), ("cumsum_", (0,), {}), ("cumprod_", (1,), {}), ("cumsum_", (), {"dim": -1}),
    ("cumsum_", (0,), {"dtype": torch and torch.float64}), ("cumprod_", (0,), {"dtype": torch and torch.int64})],
    ids=str)
def test_in_place_math_with_arguments_as_torch(method, args, kwargs, dtype):
    x = _values(dtype, positive=True) * (3 if method == "mvlgamma_" and dtype.startswith("float") else 1)
    if method == "logit_":
        x = _unit(dtype)
    ours = {k: (rg.float64 if v is torch.float64 else np.int64) if k == "dtype" else v for k, v in kwargs.items()}
    t = torch.from_numpy(x.copy())
    try:
        expected = getattr(t, method)(*args, **kwargs).numpy()
    except REFUSED as e:
        with pytest.raises(type(e)):
            getattr(rg.tensor(x.copy()), method)(*args, **ours)
        return
    out = rg.tensor(x.copy())
    assert getattr(out, method)(*args, **ours) is out and out.dtype == x.dtype
    np.testing.assert_allclose(out.data, expected, **(F32 if dtype == "float32" else dict(rtol=1e-8)))  # polygamma


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8"])
def test_cumulative_in_place_wraps_in_self_dtype_as_torch(dtype):
    x = np.array([100, 100, 100], dtype=dtype)
    _check(x, "cumsum_", (0,))
    _check(x, "cumprod_", (0,))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"posinf": 2.0, "neginf": -3.0}], ids=str)
def test_nan_to_num_in_place_as_torch(kwargs, dtype):
    x = _values(dtype)
    if dtype.startswith("float"):
        x[0, :] = [np.nan, np.inf, -np.inf]
    _check(x, "nan_to_num_", (), kwargs, oop=lambda t: t.nan_to_num(**kwargs))


def test_tril_of_a_vector_and_renorm_of_integers_are_refused_as_torch():
    with pytest.raises(RuntimeError, match="at least 2|2-D|two"):
        rg.zeros(3).tril_()
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. Got Long"):
        rg.tensor(np.array([[1, 2]])).renorm_(2, 0, 1.0)
    with pytest.raises(RuntimeError, match="Bad in-place call: input tensor dtype long int and output tensor dtype "
                                           "double should match"):
        rg.tensor(np.array([1, 2])).cumsum_(0, dtype=rg.float64)
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        rg.tensor(np.array([True, False])).cumsum_(0)


# ------------------------------------------------------------------ binary math in place
F_ROW, F_ROW32 = np.array([0.5, 2.0, 3.0]), np.array([0.5, 2.0, 3.0], dtype=np.float32)
BINARY = [("xlogy_", F_ROW), ("xlogy_", 2.0), ("xlogy_", INT_ROW), ("true_divide_", INT_ROW), ("true_divide_", 2),
          ("true_divide_", F_ROW32), ("float_power_", 2), ("float_power_", F_ROW), ("float_power_", F_ROW32),
          ("heaviside_", F_ROW), ("heaviside_", F_ROW32), ("heaviside_", INT_ROW), ("hypot_", F_ROW),
          ("hypot_", F_ROW32), ("hypot_", 2.0), ("ldexp_", INT_ROW), ("ldexp_", 2), ("nextafter_", F_ROW),
          ("nextafter_", F_ROW32), ("nextafter_", 2.0), ("igamma_", F_ROW), ("igamma_", F_ROW32), ("igamma_", 2.0),
          ("igammac_", F_ROW32), ("igammac_", F_ROW), ("gcd_", INT_ROW), ("lcm_", INT_ROW), ("gcd_", 2),
          ("lcm_", F_ROW)]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method, other", BINARY, ids=lambda v: getattr(v, "dtype", v))
def test_binary_in_place_as_torch(method, other, dtype):
    x = _values(dtype, positive=method.startswith(("xlogy", "igamma")))
    t = torch.from_numpy(x.copy())
    try:
        expected = getattr(t, method)(_theirs(other)).numpy()
    except REFUSED as e:
        ours = rg.tensor(x.copy())
        with pytest.raises(type(e)) as info:
            getattr(ours, method)(_ours(other))
        assert (CAST in str(info.value)) == (CAST in str(e))
        np.testing.assert_array_equal(ours.data, x)
        return
    _check(x, method, (other,), oop=lambda r: getattr(r, method[:-1])(_ours(other)),
           tols=F32 if dtype == "float32" else None)
    assert expected.dtype == x.dtype


# ------------------------------------------------------------------ no gradient: comparisons, logic, bits
NO_GRADIENT = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "not_equal_", "less_", "less_equal_", "greater_",
               "greater_equal_", "logical_and_", "logical_or_", "logical_xor_", "bitwise_and_", "bitwise_or_",
               "bitwise_xor_"]


ALIASES = {"not_equal_", "less_", "less_equal_", "greater_", "greater_equal_"}


@requires_torch
@pytest.mark.parametrize("method, other", [
    (m, o) for m in NO_GRADIENT for o in ([1, 0.5, True, ROW, INT_ROW, BOOL_ROW] if m not in ALIASES else [0.5, ROW])],
    ids=lambda v: getattr(v, "dtype", v))
def test_comparisons_and_logic_in_place_as_torch(method, other):
    for dtype in DTYPES:  # one test per call, the dtypes inside: a few hundred cases stay quick
        _check(_values(dtype), method, (other,))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["logical_not_", "bitwise_not_"])
def test_not_in_place_as_torch(method, dtype):
    _check(_values(dtype), method, oop=lambda r: getattr(r, method[:-1])())


def test_a_comparison_in_place_may_read_a_tensor_that_requires_grad():
    w = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = rg.tensor([1.0, 0.0, 3.0])
    assert x.eq_(w) is x and not x.requires_grad  # torch allows it too: no gradient flows through ==
    np.testing.assert_array_equal(x.data, [1, 0, 1])


# ------------------------------------------------------------------ scatter and index families
IDX = np.array([[1, 0, 1]])
SCATTERS = [
    ("scatter_", (0, IDX, np.ones((1, 3))), {}), ("scatter_", (0, IDX, 7.5), {}), ("scatter_", (1, IDX, 2), {}),
    ("scatter_", (0, IDX), {"value": -1.0}), ("scatter_", (0, IDX, np.ones((2, 4))), {"reduce": "add"}),
    ("scatter_", (0, IDX, 2.0), {"reduce": "multiply"}), ("scatter_add_", (0, IDX, np.ones((1, 3))), {}),
    ("scatter_add_", (1, IDX, np.full((2, 4), 2.0)), {}),
    ("scatter_reduce_", (0, IDX, np.full((1, 3), 5.0), "amax"), {"include_self": False}),
    ("scatter_reduce_", (0, IDX, np.full((1, 3), 5.0), "sum"), {}),
    ("scatter_reduce_", (0, IDX, np.full((1, 3), 3.0), "mean"), {}),
    ("index_add_", (1, np.array([0, 0]), np.ones((2, 2))), {"alpha": 2}),
    ("index_add_", (0, np.array([1]), np.ones((1, 3))), {}),
    ("index_copy_", (1, np.array([2, 0]), np.ones((2, 2))), {}),
    ("index_fill_", (1, np.array([2, 0]), -1), {}), ("index_fill_", (1, np.array([1]), 1.5), {}),
    ("index_fill_", (0, np.array([-1]), True), {}), ("masked_scatter_", (BOOL_ROW, np.arange(10.0)), {}),
    ("masked_scatter_", (np.array([[True], [False]]), np.arange(10.0)), {}),
    ("masked_scatter_", (np.ones((2, 2, 3), bool), np.arange(12.0)), {})]


def _like(args, dtype):
    """The scatter arguments with their float arrays in the tensor's dtype (torch refuses others)."""
    return tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)


@requires_torch
@pytest.mark.filterwarnings("ignore:The reduce argument")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method, args, kwargs", SCATTERS, ids=str)
def test_scatter_and_index_in_place_as_torch(method, args, kwargs, dtype):
    if dtype == "bool" and "mean" in [a for a in args if isinstance(a, str)]:
        return  # torch has no boolean 'mean': tests/ops/test_scatter_index.py checks the refusal
    _check(_values(dtype), method, _like(args, dtype), kwargs,
           oop=lambda r: getattr(r, method[:-1])(*map(_ours, _like(args, dtype)), **kwargs))


@requires_torch
@pytest.mark.parametrize("method, args", [("scatter_", (0, IDX, np.ones((1, 3), np.float32))),
                                          ("scatter_add_", (0, IDX, np.ones((1, 3), np.float32))),
                                          ("index_add_", (0, np.array([1]), np.ones((1, 3), np.float32))),
                                          ("index_copy_", (0, np.array([1]), np.ones((1, 3), np.float32))),
                                          ("masked_scatter_", (BOOL_ROW, np.ones(3, np.float32))),
                                          ("masked_scatter_", (np.ones((2, 2, 3), bool), np.ones(12)))], ids=str)
def test_scatter_in_place_refuses_what_torch_refuses(method, args):
    x = np.zeros((2, 3))
    with pytest.raises(RuntimeError):
        getattr(torch.from_numpy(x.copy()), method)(*map(_theirs, args))
    ours = rg.tensor(x.copy())
    with pytest.raises(RuntimeError):
        getattr(ours, method)(*map(_ours, args))
    np.testing.assert_array_equal(ours.data, 0)


# ------------------------------------------------------------------ matrix products in place
PRODUCTS = [("addmm_", (2, 3), ((2, 4), (4, 3))), ("addmv_", (2,), ((2, 3), (3,))), ("addr_", (2, 3), ((2,), (3,))),
            ("addbmm_", (2, 3), ((5, 2, 4), (5, 4, 3))), ("baddbmm_", (5, 2, 3), ((5, 2, 4), (5, 4, 3))),
            ("addmm_", (3,), ((2, 4), (4, 3))), ("addmm_", (1, 3), ((2, 4), (4, 3)))]


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("kwargs", [{}, {"beta": 0.5, "alpha": 2}], ids=str)
@pytest.mark.parametrize("method, shape, factors", PRODUCTS, ids=str)
def test_matrix_products_in_place_as_torch(method, shape, factors, kwargs, dtype):
    rng = np.random.default_rng(3)
    a, b = (rng.integers(-3, 4, s).astype(dtype) for s in factors)
    kwargs = {k: int(v) for k, v in kwargs.items()} if dtype == "int64" else kwargs
    _check(_values(dtype, shape=shape), method, (a, b), kwargs,
           oop=lambda r: getattr(r, method[:-1])(rg.tensor(a), rg.tensor(b), **kwargs))


def test_a_product_of_another_shape_is_refused_with_torchs_text():
    with pytest.raises(RuntimeError, match=r"Bad in-place call: input tensor size \[3\] and output tensor size "
                                           r"\[2, 3\] should match"):
        rg.zeros(3).addmm_(rg.ones(2, 4), rg.ones(4, 3))


# ------------------------------------------------------------------ shape in place
@requires_torch
@pytest.mark.parametrize("method", ["swapaxes_", "swapdims_"])
@pytest.mark.parametrize("shape, dims", [((2, 3, 4), (0, 2)), ((2, 3), (-1, 0)), ((), (0, -1)), ((2, 3), (0, 2))],
                         ids=str)
def test_swap_in_place_as_torch(method, shape, dims):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    t, x = torch.from_numpy(a.copy()), rg.tensor(a.copy())
    try:
        expected = getattr(t, method)(*dims)
    except IndexError:
        with pytest.raises(IndexError):
            getattr(x, method)(*dims)
        return
    assert getattr(x, method)(*dims) is x
    np.testing.assert_array_equal(x.data, expected.numpy())


KEYWORDS = [  # torch's argument names (mk: the side's tensor constructor)
    lambda x, mk: x.swapaxes_(axis0=0, axis1=1), lambda x, mk: x.swapdims_(1, dim1=0),
    lambda x, mk: x.eq_(other=0.5), lambda x, mk: x.logical_and_(other=mk(F_ROW)),
    lambda x, mk: x.hypot_(other=mk(F_ROW)), lambda x, mk: x.heaviside_(values=mk(F_ROW)),
    lambda x, mk: x.float_power_(exponent=2), lambda x, mk: x.addmm_(mat1=mk(np.ones((2, 4))), mat2=mk(np.ones((4, 3)))),
    lambda x, mk: x.addr_(mk(np.ones(2)), vec2=mk(np.ones(3)), beta=2), lambda x, mk: x.addmm_(mk(np.ones((2, 4)))),
    lambda x, mk: x.scatter_(dim=0, index=mk(IDX), src=mk(np.ones((1, 3)))),
    lambda x, mk: x.index_add_(dim=0, index=mk(np.array([1])), source=mk(np.ones((1, 3))), alpha=2),
    lambda x, mk: x.index_fill_(dim=1, index=mk(np.array([0])), value=2.0),
    lambda x, mk: x.masked_scatter_(mask=mk(BOOL_ROW), source=mk(np.ones(6))),
    lambda x, mk: x.unfold(dimension=1, size=2, step=1), lambda x, mk: x.where(condition=mk(BOOL_ROW), other=0.0),
    lambda x, mk: x.sum_to_size(size=(1, 3)), lambda x, mk: x.renorm_(p=2, dim=0, maxnorm=1),
    lambda x, mk: x.polygamma_(n=1), lambda x, mk: x.cumsum_(dim=1), lambda x, mk: x.cumsum_(1, torch.float64),
    lambda x, mk: x.tril_(diagonal=-1), lambda x, mk: x.random_(0, to=1), lambda x, mk: x.geometric_(p=0.5).shape,
    lambda x, mk: x.cauchy_(median=1.0, sigma=2.0).shape, lambda x, mk: x.log_normal_(mean=0.5, std=1.0).shape,
    lambda x, mk: x.resize_as_(the_template=mk(np.ones(2))), lambda x, mk: x.stride(dim=0),
    lambda x, mk: x.bitwise_not_(1)]


@requires_torch
@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
@pytest.mark.parametrize("call", KEYWORDS, ids=range(len(KEYWORDS)))
def test_torchs_argument_names(call):
    a = _values("float64", positive=True)
    try:
        expected = call(torch.tensor(a), torch.from_numpy)
    except REFUSED as e:
        with pytest.raises(type(e)):
            call(rg.tensor(a.copy()), rg.tensor)
        return
    got = call(rg.tensor(a.copy()), rg.tensor)
    if isinstance(expected, torch.Tensor):
        np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-8)  # torch's polygamma: to ~1e-10
    else:
        assert got == expected


# ------------------------------------------------------------------ the tape
def _leaf():
    return rg.tensor(np.array([[0.25, 0.5, 0.75], [0.125, 0.625, 0.875]]), requires_grad=True)


CALLS = {  # every in-place method, as it would be called on a (2, 3) float64 tensor (mk: the side's tensor())
    **{m: (lambda m: lambda x, mk: getattr(x, m)())(m) for m in UNARY},
    **{m: (lambda m: lambda x, mk: getattr(x, m)(mk(F_ROW)))(m) for m in ("xlogy_", "true_divide_", "hypot_",
                                                                           "nextafter_", "igamma_", "igammac_",
                                                                           "heaviside_", "float_power_")},
    "ldexp_": lambda x, mk: x.ldexp_(mk(INT_ROW)), "polygamma_": lambda x, mk: x.polygamma_(1),
    "mvlgamma_": lambda x, mk: x.mvlgamma_(1), "nan_to_num_": lambda x, mk: x.nan_to_num_(),
    "renorm_": lambda x, mk: x.renorm_(2, 0, 1.0), "cumsum_": lambda x, mk: x.cumsum_(1),
    "cumprod_": lambda x, mk: x.cumprod_(1), "tril_": lambda x, mk: x.tril_(), "triu_": lambda x, mk: x.triu_(),
    **{m: (lambda m: lambda x, mk: getattr(x, m)(0.5))(m) for m in NO_GRADIENT if not m.startswith(("bitwise",
                                                                                                    "logical"))},
    **{m: (lambda m: lambda x, mk: getattr(x, m)(mk(F_ROW)))(m) for m in NO_GRADIENT if m.startswith("logical")},
    "logical_not_": lambda x, mk: x.logical_not_(),
    "scatter_": lambda x, mk: x.scatter_(0, mk(IDX), mk(np.ones((1, 3)))),
    "scatter_add_": lambda x, mk: x.scatter_add_(0, mk(IDX), mk(np.ones((1, 3)))),
    "scatter_reduce_": lambda x, mk: x.scatter_reduce_(0, mk(IDX), mk(np.ones((1, 3))), "sum"),
    "index_add_": lambda x, mk: x.index_add_(0, mk(np.array([1])), mk(np.ones((1, 3)))),
    "index_copy_": lambda x, mk: x.index_copy_(0, mk(np.array([1])), mk(np.ones((1, 3)))),
    "index_fill_": lambda x, mk: x.index_fill_(0, mk(np.array([1])), 2.0),
    "masked_scatter_": lambda x, mk: x.masked_scatter_(mk(BOOL_ROW), mk(np.ones(6))),
    "addmm_": lambda x, mk: x.addmm_(mk(np.ones((2, 4))), mk(np.ones((4, 3)))),
    "addr_": lambda x, mk: x.addr_(mk(np.ones(2)), mk(np.ones(3))),
    "addbmm_": lambda x, mk: x.addbmm_(mk(np.ones((2, 2, 4))), mk(np.ones((2, 4, 3)))),
    "swapaxes_": lambda x, mk: x.swapaxes_(0, 1), "swapdims_": lambda x, mk: x.swapdims_(0, 1),
    "random_": lambda x, mk: x.random_(), "cauchy_": lambda x, mk: x.cauchy_(),
    "log_normal_": lambda x, mk: x.log_normal_(), "geometric_": lambda x, mk: x.geometric_(0.5),
}


LOGICAL = {"logical_and_", "logical_or_", "logical_xor_", "logical_not_"}


@requires_torch
@pytest.mark.parametrize("method", sorted(set(CALLS) - LOGICAL))
def test_a_leaf_that_requires_grad_gets_torchs_error(method):
    t = torch.tensor(_leaf().data.copy(), requires_grad=True)
    with pytest.raises(RuntimeError) as expected:
        CALLS[method](t, torch.from_numpy)
    w = _leaf()
    with pytest.raises(RuntimeError) as ours:
        CALLS[method](w, rg.tensor)
    assert str(ours.value) == str(expected.value) and LEAF_IN_PLACE in str(ours.value)
    np.testing.assert_array_equal(w.data, _leaf().data)


@requires_torch
@pytest.mark.parametrize("method", sorted(LOGICAL))
def test_the_logical_methods_refuse_a_leaf_that_requires_grad_where_torch_writes_it(method):
    t = torch.tensor(_leaf().data.copy(), requires_grad=True)
    CALLS[method](t, torch.from_numpy)  # torch: no error (no gradient), the parameter silently overwritten
    w = _leaf()
    with pytest.raises(RuntimeError, match=LEAF_IN_PLACE):  # retrograd never writes a parameter on the tape
        CALLS[method](w, rg.tensor)
    np.testing.assert_array_equal(w.data, _leaf().data)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_on_the_tape_it_is_refused_naming_the_out_of_place_form(method):
    y = _leaf() * 1.0
    with pytest.raises(RuntimeError, match=rf"{method}: .*out-of-place form, x = |{method}: .*write x = "):
        CALLS[method](y, rg.tensor)
    np.testing.assert_array_equal(y.data, _leaf().data)


@pytest.mark.parametrize("method", sorted(set(CALLS) - {"swapaxes_", "swapdims_"}))
def test_off_the_tape_every_method_writes_and_a_graph_that_kept_the_array_refuses_its_backward(method):
    w = _leaf()
    kept = (w * w).sum()  # mul keeps w's array for its gradient
    with rg.no_grad():
        assert CALLS[method](w, rg.tensor) is w
    assert w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="modified in place"):
        kept.backward()


@pytest.mark.parametrize("method, call", [
    ("scatter_", lambda x, w: x.scatter_(0, rg.tensor(IDX), w[:1])),
    ("index_add_", lambda x, w: x.index_add_(0, rg.tensor(np.array([1])), w[:1])),
    ("addmm_", lambda x, w: x.addmm_(w, rg.ones(3, 3, dtype=np.float64))), ("xlogy_", lambda x, w: x.xlogy_(w)),
    ("index_fill_", lambda x, w: x.index_fill_(0, rg.tensor(np.array([1])), w[0, 0]))])
def test_an_argument_that_requires_grad_is_refused_on_the_tape(method, call):
    x = rg.ones(2, 3, dtype=np.float64)
    with pytest.raises(RuntimeError, match=rf"{method}: an argument requires grad"):
        call(x, _leaf())
    with rg.no_grad():  # off the tape the value is read and written, as in torch
        call(x, _leaf())
    assert not x.requires_grad


# ------------------------------------------------------------------ out-of-place methods
@requires_torch
@pytest.mark.parametrize("cond, other", [(np.array([[True, False, True], [False, True, True]]), np.full(3, -1.0)),
                                         (BOOL_ROW, 0.5), (np.array([[True], [False]]), np.zeros((2, 3)))], ids=str)
def test_where_as_torch(cond, other):
    x = np.arange(6.0).reshape(2, 3)
    compare(lambda a, o: a.where(rg.tensor(cond), o), lambda a, o: a.where(torch.from_numpy(cond), o), x, other)


@requires_torch
def test_where_refuses_a_condition_that_is_not_boolean_as_torch():
    same_error(lambda: rg.ones(2).where(rg.tensor(np.array([1, 0])), 0.0),
               lambda: torch.ones(2).where(torch.tensor([1, 0]), 0.0), match="boolean")


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("shape, size", [((2, 3), (1, 3)), ((2, 3), ((2, 1),)), ((2, 3), ([3],)), ((2, 3), ((),)),
                                         ((2, 3), (2, 3)), ((2, 1, 3), (1, 1)), ((1, 3), (3,)), ((2, 0), (1, 0))],
                         ids=str)
def test_sum_to_size_as_torch(shape, size, dtype):
    a = _values(dtype, shape=shape) if dtype != "int32" else _values("int64", shape=shape).astype(np.int32)
    compare(lambda x: x.sum_to_size(*size), lambda x: x.sum_to_size(*size), a)
    x = rg.tensor(a)
    assert (x.sum_to_size(*size) is x) == (size == shape)  # the same size: x itself, as torch's


@requires_torch
@pytest.mark.parametrize("size", [(3, 3), (1, 2, 3), (-1, 3), (2, 0)], ids=str)
def test_sum_to_size_refuses_a_size_that_does_not_expand_as_torch(size):
    same_error(lambda: rg.ones(2, 3).sum_to_size(*size), lambda: torch.ones(2, 3).sum_to_size(*size),
               match="is not expandable to size")


@requires_torch
@pytest.mark.parametrize("shape, args", [((7,), (0, 3, 2)), ((3, 4), (1, 2, 1)), ((3, 4), (0, 3, 1)),
                                         ((2, 5, 2), (-2, 2, 3)), ((5,), (0, 2, 10)), ((3,), (0, 0, 1)),
                                         ((), (0, 1, 1)), ((), (-1, 0, 2)), ((0,), (0, 0, 1)), ((4,), (0, 4, 1))],
                         ids=str)
def test_unfold_values_and_gradients_as_torch(shape, args):
    a = np.random.default_rng(0).standard_normal(shape)
    compare(lambda x: x.unfold(*args), lambda x: x.unfold(*args), a)


@requires_torch
@pytest.mark.parametrize("args", [(0, 4, 1), (0, -1, 1), (0, 1, 0), (2, 1, 1), (0, 2.0, 1)], ids=str)
def test_unfold_refuses_what_torch_refuses(args):
    same_error(lambda: rg.zeros(3, 2).unfold(*args), lambda: torch.zeros(3, 2).unfold(*args))


@requires_torch
def test_unfold_keeps_the_dtype_as_torch():
    for dtype in ("int64", "bool"):
        x = _values(dtype, shape=(5,))
        np.testing.assert_array_equal(rg.tensor(x).unfold(0, 2, 1).data, torch.from_numpy(x).unfold(0, 2, 1).numpy())
        assert rg.tensor(x).unfold(0, 2, 1).dtype == x.dtype


@requires_torch
@pytest.mark.parametrize("shape, dims", [((2, 3, 4), (0, 2)), ((2, 3), (-1, 0)), ((), (0, -1))], ids=str)
def test_swapdims_as_torch(shape, dims):
    compare(lambda x: x.swapdims(*dims), lambda x: x.swapdims(*dims), np.ones(shape).cumsum().reshape(shape))


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
def test_angle_values_and_zero_gradient_as_torch(dtype):
    a = np.array([-1.5, 0.0, -0.0, 2.0, np.nan, -np.inf, np.inf]) if dtype.startswith("float") else \
        _values(dtype, shape=(6,))
    compare(lambda x: x.angle(), lambda x: x.angle(), a.astype(dtype))


@requires_torch
@pytest.mark.parametrize("method", ["igamma", "igammac"])
def test_igamma_values_and_gradient_in_x_as_torch(method):
    a, x = np.array([0.5, 1.0, 3.0]), np.array([0.25, 2.0, 1.5])
    compare(lambda a_, x_: getattr(a_, method)(x_), lambda a_, x_: getattr(a_, method)(x_), a, x, grad=False)
    compare(lambda x_: getattr(rg.tensor(a), method)(x_), lambda x_: getattr(torch.from_numpy(a), method)(x_), x)
    same_error(lambda: getattr(rg.tensor(a), method)(2.0), lambda: getattr(torch.from_numpy(a), method)(2.0))


@requires_torch
@pytest.mark.parametrize("lambd", [0.5, 1.5, -1.0])
def test_hardshrink_as_torch(lambd):
    compare(lambda x: x.hardshrink(lambd), lambda x: x.hardshrink(lambd), np.array([1.5, -2.0, 0.4, -0.5, 3.0]))


@requires_torch
@pytest.mark.parametrize("weight", [np.array([0.25]), np.array([0.25, -0.5, 2.0]), np.array(0.3)], ids=str)
def test_prelu_as_torch(weight):
    x = np.random.default_rng(1).standard_normal((2, 3, 2))
    compare(lambda a, w: a.prelu(w), lambda a, w: a.prelu(w), x, weight)


# ------------------------------------------------------------------ legacy new and type
@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("args", [(), ([1.5, 2.0],), ([[1, 2], [3, 4]],), (np.array([1.5, 2.5]),), ([],),
                                  ([True, False],), (0,)], ids=str)
def test_new_with_data_as_torch(args, dtype):
    x, t = rg.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, dtype))
    ours, theirs = x.new(*args), t.new(*args)
    assert ours.dtype == x.dtype and not ours.requires_grad
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@requires_torch
def test_new_with_sizes_is_zeros_of_that_size():
    x = rg.ones(2, 3, requires_grad=True)
    for args, shape in (((2, 3), (2, 3)), ((x.shape,), (2, 3)), ((x.size(),), (2, 3)), ((4,), (4,))):
        y = x.new(*args)
        assert y.shape == shape and y.dtype == x.dtype and not y.requires_grad and not y.data.any()
    same = rg.tensor([1.0, 2.0])
    copy = same.new(same)
    assert copy is not same and not np.shares_memory(copy.data, same.data)
    np.testing.assert_array_equal(copy.data, same.data)
    for bad in ((2.5,), ("ab",), (-1,), (rg.tensor(np.array([1, 2])),)):
        same_error(lambda: rg.zeros(2).new(*bad), lambda: torch.zeros(2).new(*map(
            lambda v: torch.tensor(v.data) if isinstance(v, rg.Tensor) else v, bad)))
    with pytest.raises(TypeError):
        rg.zeros(2).new(2, dtype=np.float64)


@requires_torch
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
                                   "complex64", "complex128"])
def test_type_names_as_torch(dtype):
    assert rg.zeros(1, dtype=dtype).type() == torch.zeros(1, dtype=getattr(torch, dtype)).type()


@requires_torch
def test_type_converts_as_torch():
    x = rg.tensor(np.array([1.5, -2.0]), requires_grad=True)
    assert x.type("torch.FloatTensor") is not x and x.type(np.float64) is x and x.type(dtype=rg.float64) is x
    for target, expected in (("torch.IntTensor", np.int32), ("torch.HalfTensor", np.float16), (np.float32, np.float32)):
        assert x.type(target).dtype == expected
    y = x.type(np.float32)
    assert y.requires_grad  # float to float stays on the tape, as torch's
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    assert not x.type("torch.LongTensor").requires_grad
    for bad in ("torch.FooTensor", "float64", 3):
        same_error(lambda: rg.zeros(1).type(bad), lambda: torch.zeros(1).type(bad))


@requires_torch
def test_cfloat_and_cdouble_as_torch():
    a = np.array([1.5, -2.0])
    for method in ("cfloat", "cdouble"):
        ours, theirs = getattr(rg.tensor(a), method)(), getattr(torch.from_numpy(a), method)()
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())


# ------------------------------------------------------------------ random fills
def _moments(method, args, a):
    if method == "random_":
        low, high = (0, args[0]) if len(args) == 1 else args
        return set(np.unique(a)) == set(range(low, high))
    if method == "cauchy_":
        return abs(np.median(a) - args[0]) < 0.3 * args[1]
    if method == "log_normal_":
        return (a > 0).all() and abs(np.log(a).mean() - args[0]) < 0.1 and abs(np.log(a).std() - args[1]) < 0.1
    p = args[0]  # geometric: trials up to the first success
    return a.min() >= 1 and (a == np.round(a)).all() and abs(a.mean() - 1 / p) < 0.15 / p


RANDOM = [("random_", (10,)), ("random_", (-3, 4)), ("cauchy_", (2.0, 0.5)), ("log_normal_", (1.0, 0.5)),
          ("geometric_", (0.25,))]


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8", "bool"])
@pytest.mark.parametrize("method, args", RANDOM, ids=str)
def test_random_fills_shape_dtype_range_and_moments(method, args, dtype):
    try:
        getattr(torch.zeros(4, dtype=getattr(torch, dtype)), method)(*args)
    except REFUSED as e:
        with pytest.raises(type(e)):
            getattr(rg.zeros(4, dtype=dtype), method)(*args)
        return
    x = rg.zeros(2000, dtype=dtype)
    view = x.data[...]
    assert getattr(x, method)(*args, generator=rg.random.new_generator(5)) is x
    assert x.dtype == dtype and x.shape == (2000,) and np.shares_memory(view, x.data)
    assert _moments(method, args, x.data.astype(np.float64))
    again = getattr(rg.zeros(2000, dtype=dtype), method)(*args, generator=rg.random.new_generator(5))
    np.testing.assert_array_equal(again.data, x.data)


@pytest.mark.parametrize("dtype, low, high", [("float32", 0, 2 ** 24), ("float16", 0, 2048), ("uint8", 0, 255),
                                              ("int8", 0, 127), ("bool", 0, 1), ("int64", 0, 2 ** 63 - 1)])
def test_random_without_bounds_reaches_the_dtypes_largest_as_torch(dtype, low, high):
    x = rg.zeros(4000, dtype=dtype).random_(generator=rg.random.new_generator(0)).data.astype(np.float64)
    assert x.min() >= low and x.max() <= high and x.max() > high * 0.9 and (x == np.round(x)).all()
    bounded = rg.zeros(3000, dtype=dtype).random_(1 if dtype == "bool" else 5, None).data.astype(np.float64)
    assert bounded.min() >= (1 if dtype == "bool" else 5) and bounded.max() <= high


@requires_torch
@pytest.mark.parametrize("dtype, args, kwargs", [
    ("float32", (5, 3), {}), ("float32", (3, 3), {}), ("float32", (0,), {}), ("float32", (-3,), {}),
    ("float32", (2.5,), {}), ("uint8", (-1, 3), {}), ("int8", (0, 1000), {}), ("bool", (3,), {}),
    ("float32", (1, 2, 3), {}), ("float32", (True,), {}), ("float32", (), {"to": None}),
    ("float32", (2 ** 24, None), {}), ("uint32", (), {}), ("int64", (), {"from": 2}),
    ("int64", (), {"from": 2, "to": 6}), ("int64", (), {"to": 6}), ("int8", (100, None), {}),
    ("int8", (120,), {"to": None}), ("int8", (127, None), {}), ("float16", (2047, None), {})], ids=str)
def test_random_bounds_as_torch(dtype, args, kwargs):
    t = torch.zeros(500, dtype=getattr(torch, dtype))
    try:
        expected = t.random_(*args, **kwargs).numpy()
    except (*REFUSED, OverflowError) as e:
        with pytest.raises(type(e) if not isinstance(e, OverflowError) else REFUSED):
            rg.zeros(500, dtype=dtype).random_(*args, **kwargs)
        return
    got = rg.zeros(500, dtype=dtype).random_(*args, **kwargs).data
    assert got.min() >= expected.min() - 1 and got.dtype == expected.dtype
    if expected.max() < 1000:
        assert set(np.unique(got)) == set(np.unique(expected))


@requires_torch
@pytest.mark.parametrize("method, args, dtype", [("cauchy_", (0, 0), "float32"), ("cauchy_", (0, -1), "float32"),
                                                 ("cauchy_", (), "int64"), ("log_normal_", (0, 0), "float32"),
                                                 ("log_normal_", (), "int64"), ("geometric_", (0,), "float32"),
                                                 ("geometric_", (1,), "float32"), ("geometric_", (0.5,), "bool"),
                                                 ("geometric_", (), "float32")], ids=str)
def test_random_fills_refuse_what_torch_refuses(method, args, dtype):
    with pytest.raises(REFUSED) as theirs:
        getattr(torch.zeros(3, dtype=getattr(torch, dtype)), method)(*args)
    x = rg.zeros(3, dtype=dtype)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(x, method)(*args)
    if not isinstance(theirs.value, TypeError):
        assert str(theirs.value).split(",")[0].split(" but")[0] in str(ours.value)
    np.testing.assert_array_equal(x.data, 0)


# ------------------------------------------------------------------ apply_, map_, map2_
@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8", "bool"])
@pytest.mark.parametrize("fn", [lambda v: v * 2, lambda v: v * 2.7, lambda v: not v, lambda v: 300,
                                lambda v: float(type(v) is {"b": bool, "i": int}.get(np.dtype(type(v)).kind, float)),
                                lambda v: "a", lambda v: None], ids=range(7))
def test_apply_as_torch(fn, dtype):
    a = _values(dtype)
    try:
        expected = torch.from_numpy(a.copy()).apply_(fn).numpy()
    except REFUSED as e:
        with pytest.raises(type(e)):
            rg.tensor(a.copy()).apply_(fn)
        return
    x = rg.tensor(a.copy())
    assert x.apply_(fn) is x
    np.testing.assert_array_equal(x.data, expected)


@requires_torch
@pytest.mark.parametrize("other", [np.ones(3), np.ones((2, 3)), np.ones((2, 2, 3)), np.ones(3, np.float32),
                                   np.ones(3, np.int64), 2.0], ids=str)
def test_map_and_map2_as_torch(other):
    a = _values("float64")
    for method, args in (("map_", (other, lambda p, q: p * 10 + q)), ("map2_", (other, other,
                                                                             lambda p, q, r: p - q * r))):
        try:
            expected = getattr(torch.from_numpy(a.copy()), method)(*map(_theirs, args)).numpy()
        except REFUSED as e:
            with pytest.raises(type(e)):
                getattr(rg.tensor(a.copy()), method)(*map(_ours, args))
            continue
        x = rg.tensor(a.copy())
        assert getattr(x, method)(*map(_ours, args)) is x
        np.testing.assert_array_equal(x.data, expected)


@requires_torch
@pytest.mark.parametrize("call", [lambda x, o: x.apply_(lambda v: v), lambda x, o: x.map_(o, lambda p, q: p),
                                  lambda x, o: o.map_(x, lambda p, q: p)], ids=["apply_", "map_", "map_ other"])
def test_callable_fills_refuse_tensors_that_require_grad_even_off_the_tape(call):
    t, x = torch.ones(3, requires_grad=True), rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as theirs:
        call(t, torch.ones(3))
    for grad_mode in (rg.enable_grad, rg.no_grad):
        with grad_mode(), pytest.raises(RuntimeError) as ours:
            call(x, rg.ones(3))
        assert str(ours.value) == str(theirs.value)


# ------------------------------------------------------------------ resize_
@requires_torch
@pytest.mark.parametrize("sizes", [(4,), (3, 2), ((3, 2),), (0,), ((),), (2, 2, 2)], ids=str)
def test_resize_as_torch(sizes):
    a = np.arange(6.0).reshape(2, 3)
    t, x = torch.tensor(a), rg.tensor(a.copy())  # torch.from_numpy's storage cannot grow
    expected = t.resize_(*sizes)
    assert x.resize_(*sizes) is x and x.shape == tuple(expected.shape)
    n = min(6, x.data.size)
    np.testing.assert_array_equal(x.data.reshape(-1)[:n], expected.numpy().reshape(-1)[:n])  # torch's rest: garbage
    assert not x.data.reshape(-1)[n:].any()


@requires_torch
def test_resize_shares_memory_when_not_growing_and_refuses_what_torch_refuses():
    x = rg.tensor(np.arange(6.0))
    original = x.data
    x.resize_(2, 2)
    assert np.shares_memory(original, x.data)
    assert x.resize_as_(rg.zeros(3, dtype=np.int64)) is x and x.shape == (3,) and x.dtype == np.float64
    for call in (lambda m: m.ones(2, requires_grad=True).resize_(3), lambda m: (m.ones(2, requires_grad=True) * 2)
                 .resize_(2), lambda m: m.ones(2).resize_(-1), lambda m: m.ones(2).resize_as_(2)):
        same_error(lambda: call(rg), lambda: call(torch))
    with rg.no_grad(), pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        rg.ones(2, requires_grad=True).resize_(3)


# ------------------------------------------------------------------ introspection
PROPERTIES = ["is_cpu", "is_cuda", "is_sparse", "is_quantized", "is_meta", "is_nested", "is_mkldnn", "name",
              "output_nr"]


@requires_torch
def test_properties_as_torch_on_the_host():
    x, t = rg.zeros(2, 3, requires_grad=True), torch.zeros(2, 3, requires_grad=True)
    for p in PROPERTIES:
        assert getattr(x, p) == getattr(t, p), p
        with pytest.raises(AttributeError):
            setattr(x, p, 1)
    assert x.layout == "strided" and str(t.layout) == "torch.strided"
    assert not x.is_pinned() and not x.is_shared() and x.share_memory_() is x
    pieces = rg.linalg.svd(x * 1.0, full_matrices=False)  # an op with several outputs numbers them
    theirs = torch.linalg.svd(t * 1.0, full_matrices=False)
    assert [p.output_nr for p in pieces] == [p.output_nr for p in theirs] == [0, 1, 2]
    assert [p.output_nr for p in rg.max(x, 0)] == [p.output_nr for p in torch.max(t, 0)]


@requires_torch
@pytest.mark.parametrize("view", [lambda a: a, lambda a: a.transpose(0, 2), lambda a: a[:, ::2], lambda a: a[1, 1:],
                                  lambda a: a[..., 1], lambda a: a.permute(1, 2, 0), lambda a: a[0:1],
                                  lambda a: a.reshape(4, 6), lambda a: a.unsqueeze(1)], ids=range(9))
def test_strides_offsets_and_dim_order_as_torch(view):
    a = np.arange(24.0).reshape(2, 3, 4)
    x, t = view(rg.tensor(a)), view(torch.from_numpy(a))
    assert x.stride() == t.stride() and x.storage_offset() == t.storage_offset()
    assert all(x.stride(d) == t.stride(d) for d in range(-x.ndim, x.ndim))
    assert x.data_ptr() - rg.tensor(a).data_ptr() == 0 or x.data_ptr() > 0
    for check in (False, True):
        try:
            expected = t.dim_order(ambiguity_check=check)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="does not have unique dim order"):
                x.dim_order(ambiguity_check=check)
            continue
        assert x.dim_order(ambiguity_check=check) == expected


@requires_torch
def test_data_ptr_and_stride_edges_as_torch():
    base = rg.tensor(np.arange(6.0))
    assert base[2:].data_ptr() - base.data_ptr() == 2 * 8 and rg.zeros(0).data_ptr() == 0
    assert rg.ones(3, 1).expand(3, 4).stride() == torch.ones(3, 1).expand(3, 4).stride()
    assert rg.ones(3, 1).expand(3, 4).dim_order() == torch.ones(3, 1).expand(3, 4).dim_order()
    for call in (lambda m: m.zeros(2, 3).stride(2), lambda m: m.tensor(1.0).stride(0),
                 lambda m: m.zeros(2).stride(1.5), lambda m: m.zeros(3, 1).dim_order(ambiguity_check=True),
                 lambda m: m.zeros(2).dim_order(ambiguity_check=3)):
        same_error(lambda: call(rg), lambda: call(torch))
    assert rg.tensor(1.0).stride() == () and rg.tensor(1.0).dim_order() == ()
    channels_last = np.ascontiguousarray(np.ones((2, 3, 4, 5)).transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert rg.tensor(channels_last).dim_order() == (0, 2, 3, 1)
