"""PyTorch's scatter family, counting functions and samplers, against torch 2.13:

- ``scatter`` (tensor src and value, PyTorch's deprecated ``reduce=``), ``scatter_add``,
  ``scatter_reduce`` (every reduction, with and without ``include_self``), ``index_add``,
  ``index_copy``, ``index_fill``, ``masked_scatter`` (ops/scatter.py): values, dtypes and the
  gradients of a random-weighted sum with respect to every floating input (float64), jvps against
  ``torch.func.jvp``, repeated indices, integer and boolean tensors, index dtypes and the errors;
- ``unique``, ``unique_consecutive``, ``bincount``, ``histc``, ``bucketize``, ``searchsorted``, ``isin``,
  ``count_nonzero``, ``tril_indices``, ``triu_indices``, ``unravel_index`` (ops/counting.py);
- ``normal``, ``bernoulli``, ``multinomial`` (ops/sampling.py): the distributions (retrograd draws
  from its own generator, so the numbers are not torch's), dtypes, the zero gradient, the errors.

The scatter family is composed of ``index_add`` (getitem's adjoint) and ``where``: no Op of its
own, so no row in tests/op_specs.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from torch_compare import compare, outputs as _outputs, same_error

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]  # torch.func

NAN = math.nan
R = np.random.default_rng(7)


def _r(*shape):
    return R.standard_normal(shape)


def _i(values):
    return np.asarray(values, dtype=np.int64)


# ---------------------------------------------------------------- values and gradients
X = _r(3, 4)
UNIQUE = _i([[0, 2, 1], [3, 1, 0], [2, 0, 1]])        # no position written twice (scatter's values are defined)
REPEATS = _i([[0, 2, 2], [3, 3, 3], [1, 1, 2]])        # positions written several times
DIM0 = _i([[2, 0, 0, 1], [0, 2, 0, 0]])                # along dim 0, repeats included
REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]

SCATTER_CASES = [
    ("scatter", lambda x, s: rg.scatter(x, 1, rg.tensor(UNIQUE), s),
     lambda x, s: torch.scatter(x, 1, torch.tensor(UNIQUE), s), (X, _r(3, 3))),
    ("scatter_dim0_method", lambda x, s: x.scatter(0, rg.tensor(_i([[2, 0, 1, 1]])), s),
     lambda x, s: x.scatter(0, torch.tensor(_i([[2, 0, 1, 1]])), s), (X, _r(1, 4))),
    ("scatter_value", lambda x: rg.scatter(x, 1, rg.tensor(REPEATS), 2.5),
     lambda x: torch.scatter(x, 1, torch.tensor(REPEATS), 2.5), (X,)),
    ("scatter_value_keyword", lambda x: x.scatter(1, rg.tensor(UNIQUE), value=-1.0),
     lambda x: x.scatter(1, torch.tensor(UNIQUE), value=-1.0), (X,)),
    ("scatter_add", lambda x, s: rg.scatter_add(x, 1, rg.tensor(REPEATS), s),
     lambda x, s: torch.scatter_add(x, 1, torch.tensor(REPEATS), s), (X, _r(3, 3))),
    ("scatter_add_dim0_method", lambda x, s: x.scatter_add(0, rg.tensor(DIM0), s),
     lambda x, s: x.scatter_add(0, torch.tensor(DIM0), s), (X, _r(2, 4))),
    ("scatter_add_3d", lambda x, s: rg.scatter_add(x, -1, rg.tensor(_i(R.integers(0, 3, (2, 2, 4)))), s),
     None, (_r(2, 3, 3), _r(2, 2, 4))),
    ("scatter_0d", lambda x, s: rg.scatter(x, 0, rg.tensor(np.int64(0)), s),
     lambda x, s: torch.scatter(x, 0, torch.tensor(0), s), (np.array(1.5), np.array(-2.0))),
    ("index_add", lambda x, s: rg.index_add(x, 1, rg.tensor(_i([0, 2, 2, 3, 0])), s, alpha=-1.5),
     lambda x, s: torch.index_add(x, 1, torch.tensor(_i([0, 2, 2, 3, 0])), s, alpha=-1.5), (X, _r(3, 5))),
    ("index_add_method_dim0", lambda x, s: x.index_add(0, rg.tensor(_i([2, 2])), s),
     lambda x, s: x.index_add(0, torch.tensor(_i([2, 2])), s), (X, _r(2, 4))),
    ("index_add_0d_index", lambda x, s: x.index_add(1, rg.tensor(np.int64(3)), s),
     lambda x, s: x.index_add(1, torch.tensor(3), s), (X, _r(3, 1))),
    ("index_copy", lambda x, s: rg.index_copy(x, 1, rg.tensor(_i([3, 0, 2])), s),
     lambda x, s: torch.index_copy(x, 1, torch.tensor(_i([3, 0, 2])), s), (X, _r(3, 3))),
    ("index_copy_method", lambda x, s: x.index_copy(0, rg.tensor(_i([1])), s),
     lambda x, s: x.index_copy(0, torch.tensor(_i([1])), s), (X, _r(1, 4))),
    ("index_fill_number", lambda x: rg.index_fill(x, 1, rg.tensor(_i([3, -4, 1])), 0.5),
     lambda x: torch.index_fill(x, 1, torch.tensor(_i([3, -4, 1])), 0.5), (X,)),
    # the value's gradient: ȳ summed over the filled entries (a repeated index fills once)
    ("index_fill_tensor_value", lambda x, v: x.index_fill(0, rg.tensor(_i([2, 0, 2])), v),
     lambda x, v: x.index_fill(0, torch.tensor(_i([2, 0, 2])), v), (X, np.array(1.25))),
    ("index_copy_scalar_source", lambda x, s: x.index_copy(0, rg.tensor(np.int64(2)), s),
     lambda x, s: x.index_copy(0, torch.tensor(2), s), (_r(4), np.array(0.5))),
    ("masked_scatter_0d", lambda x, s: x.masked_scatter(rg.tensor(True), s),
     lambda x, s: x.masked_scatter(torch.tensor(True), s), (np.array(1.0), _r(2))),
    ("masked_scatter", lambda x, s: rg.masked_scatter(x, rg.tensor(X > 0), s),
     lambda x, s: torch.masked_scatter(x, torch.tensor(X > 0), s), (X, _r(13))),
    ("masked_scatter_broadcast", lambda x, s: x.masked_scatter(rg.tensor(X > 0), s),
     lambda x, s: x.masked_scatter(torch.tensor(X > 0), s), (_r(4), _r(3, 5))),
]
for _reduce in REDUCTIONS:
    for _include in (True, False):
        SCATTER_CASES.append((
            f"scatter_reduce_{_reduce}_{'self' if _include else 'noself'}",
            lambda x, s, r=_reduce, inc=_include: rg.scatter_reduce(x, 1, rg.tensor(REPEATS), s, r, include_self=inc),
            lambda x, s, r=_reduce, inc=_include: torch.scatter_reduce(x, 1, torch.tensor(REPEATS), s, r,
                                                                       include_self=inc),
            (X, _r(3, 3))))
        SCATTER_CASES.append((
            f"scatter_reduce_{_reduce}_{'self' if _include else 'noself'}_dim0_method",
            lambda x, s, r=_reduce, inc=_include: x.scatter_reduce(0, rg.tensor(DIM0), s, reduce=r,
                                                                   include_self=inc),
            lambda x, s, r=_reduce, inc=_include: x.scatter_reduce(0, torch.tensor(DIM0), s, reduce=r,
                                                                   include_self=inc),
            (X, _r(2, 4))))


@pytest.mark.parametrize("name, rg_fn, torch_fn, arrays", SCATTER_CASES, ids=[c[0] for c in SCATTER_CASES])
def test_values_and_gradients_match_pytorch(name, rg_fn, torch_fn, arrays):
    if torch_fn is None:  # the same call on torch, built from the rg one's index
        index = _i(R.integers(0, 3, (2, 2, 4)))
        rg_fn = lambda x, s: rg.scatter_add(x, -1, rg.tensor(index), s)  # noqa: E731
        torch_fn = lambda x, s: torch.scatter_add(x, -1, torch.tensor(index), s)  # noqa: E731
    compare(rg_fn, torch_fn, *arrays)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_jvp_matches_torch_func(reduce):
    """Forward mode comes with the composition: the jvp of scatter_reduce equals torch's J·v (its
    double-backward jvp: torch.func.jvp gives 0 for 'prod' in 2.13)."""
    x, s, tx, ts = _r(3, 4), _r(3, 3), _r(3, 4), _r(3, 3)
    index = rg.tensor(REPEATS)
    _, got = rg.func.jvp(lambda a, b: rg.scatter_reduce(a, 1, index, b, reduce), (rg.tensor(x), rg.tensor(s)),
                         (rg.tensor(tx), rg.tensor(ts)))
    _, expected = torch.autograd.functional.jvp(
        lambda a, b: torch.scatter_reduce(a, 1, torch.tensor(REPEATS), b, reduce),
        (torch.tensor(x), torch.tensor(s)), (torch.tensor(tx), torch.tensor(ts)))
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_index_add_and_masked_scatter_jvps_match_torch_func():
    x, s, tx, ts = _r(3, 4), _r(3, 5), _r(3, 4), _r(3, 5)
    index = _i([0, 2, 2, 3, 0])
    _, got = rg.func.jvp(lambda a, b: rg.index_add(a, 1, rg.tensor(index), b, alpha=2.0),
                         (rg.tensor(x), rg.tensor(s)), (rg.tensor(tx), rg.tensor(ts)))
    _, expected = torch.func.jvp(lambda a, b: torch.index_add(a, 1, torch.tensor(index), b, alpha=2.0),
                                 (torch.tensor(x), torch.tensor(s)), (torch.tensor(tx), torch.tensor(ts)))
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-12)
    mask = X > 0
    _, got = rg.func.jvp(lambda a, b: rg.masked_scatter(a, rg.tensor(mask), b), (rg.tensor(x), rg.tensor(s)),
                         (rg.tensor(tx), rg.tensor(ts)))
    _, expected = torch.func.jvp(lambda a, b: torch.masked_scatter(a, torch.tensor(mask), b),
                                 (torch.tensor(x), torch.tensor(s)), (torch.tensor(tx), torch.tensor(ts)))
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_second_derivatives_pass_gradgradcheck():
    """The compositions are differentiable twice (prod and amax too)."""
    x, s = _r(3, 4), _r(3, 3) + 0.01 * np.arange(9).reshape(3, 3)
    index = rg.tensor(REPEATS)
    for reduce in ("prod", "amax", "mean"):
        report = rg.gradgradcheck(lambda a, b: rg.scatter_reduce(a, 1, index, b, reduce) ** 2, [x, s])
        assert report.ok, (reduce, str(report))
    report = rg.gradgradcheck(lambda a, b: rg.scatter(a, 1, rg.tensor(UNIQUE), b) ** 2, [x, s])
    assert report.ok, str(report)


# ---------------------------------------------------------------- repeated indices
def test_repeated_indices_accumulate_in_scatter_add_and_index_add():
    x = rg.zeros(4, dtype=rg.float64, requires_grad=True)
    src = rg.tensor([1.0, 2.0, 3.0, 4.0], dtype=rg.float64, requires_grad=True)
    out = rg.scatter_add(x, 0, rg.tensor([1, 1, 3, 1]), src)
    np.testing.assert_array_equal(out.data, [0.0, 7.0, 0.0, 3.0])
    out.backward(rg.tensor([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_array_equal(src.grad.data, [20.0, 20.0, 40.0, 20.0])  # gather(ȳ): each copy its slot's ȳ
    np.testing.assert_array_equal(x.grad.data, [10.0, 20.0, 30.0, 40.0])
    rows = rg.index_add(rg.zeros(3, 2, dtype=rg.float64), 0, rg.tensor([2, 2, 0]), rg.ones(3, 2, dtype=rg.float64))
    np.testing.assert_array_equal(rows.data, [[1, 1], [0, 0], [2, 2]])


def test_scatter_to_a_repeated_position_keeps_the_last_write_and_only_it_gets_a_gradient():
    """PyTorch documents the value as undefined (its CPU kernel writes in index order, as here) and
    passes ȳ to every write; retrograd's gradient is the derivative of the function it computes:
    only the write that stayed gets ȳ (a deliberate difference, README)."""
    src = rg.tensor([1.0, 2.0, 3.0], dtype=rg.float64, requires_grad=True)
    out = rg.scatter(rg.zeros(3, dtype=rg.float64), 0, rg.tensor([1, 1, 1]), src)
    assert out.data.tolist() == [0.0, 3.0, 0.0]
    assert out.data.tolist() == torch.zeros(3, dtype=torch.float64).scatter(
        0, torch.tensor([1, 1, 1]), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).tolist()
    out.backward(rg.tensor([5.0, 6.0, 7.0]))
    assert src.grad.data.tolist() == [0.0, 0.0, 6.0]
    copied = rg.index_copy(rg.zeros(4, dtype=rg.float64), 0, rg.tensor([2, 2]), src[:2])
    assert copied.data.tolist() == [0.0, 0.0, 2.0, 0.0]


# ---------------------------------------------------------------- ties of amax / amin follow rg.conventions
def test_amax_ties_share_the_gradient_by_rg_conventions_like_max():
    """scatter_reduce's amax/amin are ``amax``/``amin`` over each position's contributors, so their ties
    follow ``rg.conventions`` as ``max`` does: the default (min_norm) splits ȳ evenly among the tied
    entries — PyTorch's rule — 'first' gives it to the first (self before the scattered values),
    'all' to every one."""
    x, src, index = [2.0, 0.0], [2.0, 1.0, 2.0], [0, 0, 0]  # position 0: self 2, src 2, 1, 2 → three ties

    def grads(policy=None):
        a, s = rg.tensor(x, dtype=rg.float64, requires_grad=True), rg.tensor(src, dtype=rg.float64,
                                                                              requires_grad=True)
        if policy is None:
            rg.scatter_reduce(a, 0, rg.tensor(index), s, "amax").sum().backward()
        else:
            with rg.conventions.policy(policy):
                rg.scatter_reduce(a, 0, rg.tensor(index), s, "amax").sum().backward()
        return a.grad.data.tolist(), s.grad.data.tolist()

    ta = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ts = torch.tensor(src, dtype=torch.float64, requires_grad=True)
    torch.scatter_reduce(ta, 0, torch.tensor(index), ts, "amax").sum().backward()
    assert grads() == (ta.grad.tolist(), ts.grad.tolist()) == ([1 / 3, 1.0], [1 / 3, 0.0, 1 / 3])
    assert grads("first") == ([1.0, 1.0], [0.0, 0.0, 0.0])
    assert grads("all") == ([1.0, 1.0], [1.0, 0.0, 1.0])
    a, s = rg.tensor([2.0], requires_grad=True), rg.tensor([5.0, 5.0], requires_grad=True)
    rg.scatter_reduce(a, 0, rg.tensor([0, 0]), s, "amin", include_self=False).backward()
    assert s.grad.data.tolist() == [0.5, 0.5] and a.grad.data.tolist() == [0.0]


# ---------------------------------------------------------------- dtypes
INTEGER_CASES = [
    ("scatter_reduce_mean_int_floors", lambda m, t: m.scatter_reduce(t([1, 2, 3]), 0, t([0, 0, 1]), t([4, -9, 4]),
                                                                     "mean", include_self=False)),
    ("scatter_reduce_prod_int32", lambda m, t: m.scatter_reduce(t([1, 2], dtype=m.int32), 0, t([0, 0]),
                                                                t([3, 4], dtype=m.int32), "prod")),
    ("scatter_reduce_amax_int", lambda m, t: m.scatter_reduce(t([1, 9]), 0, t([1, 0, 1]), t([3, 4, 10]), "amax")),
    ("scatter_reduce_mean_uint8", lambda m, t: m.scatter_reduce(t([1, 2], dtype=m.uint8), 0, t([0, 0]),
                                                                t([3, 4], dtype=m.uint8), "mean")),
    ("scatter_reduce_sum_bool", lambda m, t: m.scatter_reduce(t([True, False]), 0, t([1, 1]), t([True, False]),
                                                              "sum")),
    ("scatter_reduce_amin_bool", lambda m, t: m.scatter_reduce(t([True, False]), 0, t([0, 0]), t([True, False]),
                                                               "amin")),
    ("scatter_value_truncates_into_int", lambda m, t: m.scatter(t([[0, 0, 0]]), 1, t([[2, 0]]), 5.7)),
    ("scatter_add_int", lambda m, t: m.scatter_add(t([5, 5]), 0, t([1, 1, 0]), t([1, 2, 3]))),
    ("index_add_int_alpha", lambda m, t: m.index_add(t([[0, 0], [0, 0]]), 1, t([0, 0]), t([[1, 1], [2, 2]]),
                                                     alpha=2)),
    ("index_fill_int", lambda m, t: m.index_fill(t([[1, 2], [3, 4]]), 0, t([1]), -7)),
    ("index_copy_bool", lambda m, t: m.index_copy(t([True, True]), 0, t([1]), t([False]))),
    ("masked_scatter_int", lambda m, t: m.masked_scatter(t([1, 2, 3]), t([True, False, True]), t([7, 8, 9]))),
    ("scatter_float32", lambda m, t: m.scatter(t([1.0, 2.0]), 0, t([1]), t([4.5]))),
    ("index_add_float32", lambda m, t: m.index_add(t([1.0, 2.0]), 0, t([1]), t([4.5]), alpha=0.5)),
]


@pytest.mark.parametrize("name, call", INTEGER_CASES, ids=[c[0] for c in INTEGER_CASES])
def test_integer_boolean_and_float32_tensors_keep_their_dtype_and_values(name, call):
    got, expected = call(rg, rg.tensor), call(torch, torch.tensor)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.data, expected.numpy())


def test_int32_indices_are_taken_where_pytorch_takes_them():
    """scatter, scatter_add, scatter_reduce and index_add take int32 indices as well as int64;
    index_copy and index_fill want int64 (as PyTorch)."""
    i32 = np.array([[1, 0]], dtype=np.int32)
    for fn in ("scatter", "scatter_add"):
        got = getattr(rg, fn)(rg.zeros(1, 3), 1, rg.tensor(i32), rg.ones(1, 2))
        expected = getattr(torch, fn)(torch.zeros(1, 3), 1, torch.tensor(i32), torch.ones(1, 2))
        np.testing.assert_array_equal(got.data, expected.numpy())
    got = rg.index_add(rg.zeros(3), 0, rg.tensor(np.array([2, 2], dtype=np.int32)), rg.ones(2))
    assert got.data.tolist() == [0.0, 0.0, 2.0]
    same_error(lambda: rg.index_copy(rg.zeros(3), 0, rg.tensor(np.array([1], dtype=np.int32)), rg.ones(1)),
               lambda: torch.index_copy(torch.zeros(3), 0, torch.tensor([1], dtype=torch.int32), torch.ones(1)),
               "index_copy")
    same_error(lambda: rg.index_fill(rg.zeros(3), 0, rg.tensor(np.array([1], dtype=np.int32)), 1.0),
               lambda: torch.index_fill(torch.zeros(3), 0, torch.tensor([1], dtype=torch.int32), 1.0),
               "index_fill")


# ---------------------------------------------------------------- errors
def _z(m, *shape, dtype=None):
    return m.zeros(*shape, dtype=dtype) if dtype is not None else m.zeros(*shape)


ERROR_CASES = [
    # out of range: RuntimeError for the scatter family, IndexError for the index_* family (both ours)
    ("scatter_index_too_big", lambda m, t: m.scatter(_z(m, 3), 0, t([3]), _z(m, 1)), "out of bounds"),
    ("scatter_negative_index", lambda m, t: m.scatter(_z(m, 3), 0, t([-1]), _z(m, 1)), "out of bounds"),
    ("scatter_add_index_too_big", lambda m, t: m.scatter_add(_z(m, 2, 3), 1, t([[0, 3]]), _z(m, 1, 2)),
     "out of bounds"),
    ("scatter_reduce_index_too_big", lambda m, t: m.scatter_reduce(_z(m, 3), 0, t([5]), _z(m, 1), "sum"),
     "out of bounds"),
    ("scatter_value_index_too_big", lambda m, t: m.scatter(_z(m, 3), 0, t([4]), 1.0), "out of bounds"),
    ("index_add_index_too_big", lambda m, t: m.index_add(_z(m, 3), 0, t([3]), _z(m, 1)), "out of range"),
    ("index_add_negative_index", lambda m, t: m.index_add(_z(m, 3), 0, t([-1]), _z(m, 1)), "out of range"),
    ("index_copy_index_too_big", lambda m, t: m.index_copy(_z(m, 3), 0, t([3]), _z(m, 1)), "out of bounds"),
    ("index_copy_negative_index", lambda m, t: m.index_copy(_z(m, 3), 0, t([-1]), _z(m, 1)), "out of bounds"),
    ("index_fill_index_too_small", lambda m, t: m.index_fill(_z(m, 2, 3), 1, t([0, -4]), 2.0), "out of bounds"),
    # index dtypes, shapes and dims
    ("scatter_float_index", lambda m, t: m.scatter(_z(m, 3), 0, t([1.0]), _z(m, 1)), "int32/int64"),
    ("scatter_int16_index", lambda m, t: m.scatter(_z(m, 3), 0, t([1], dtype=m.int16), _z(m, 1)), "int32/int64"),
    ("scatter_index_dims", lambda m, t: m.scatter(_z(m, 2, 3), 1, t([1]), _z(m, 1, 1)), "number of dimensions"),
    ("scatter_src_dims", lambda m, t: m.scatter(_z(m, 2, 3), 1, t([[1, 2]]), _z(m, 1, 1, 1)), "dimensions as src"),
    ("scatter_index_larger_than_src", lambda m, t: m.scatter(_z(m, 2, 3), 1, t([[1, 2]]), _z(m, 1, 1)),
     "no larger"),
    ("scatter_index_larger_than_self", lambda m, t: m.scatter(_z(m, 2, 3), 1, t([[1], [0], [0]]), _z(m, 3, 1)),
     "no larger"),
    ("scatter_dim_out_of_range", lambda m, t: m.scatter(_z(m, 2, 3), 2, t([[1]]), _z(m, 1, 1)), "out of range"),
    ("scatter_dtype_mismatch", lambda m, t: m.scatter(_z(m, 3), 0, t([1]), _z(m, 1, dtype=m.float64)),
     "dtype"),
    ("scatter_add_dtype_mismatch", lambda m, t: m.scatter_add(_z(m, 3), 0, t([1]), _z(m, 1, dtype=m.int64)),
     "dtype"),
    ("scatter_bad_reduce", lambda m, t: m.scatter(_z(m, 3), 0, t([1]), 1.0, reduce="sum"), "add or multiply"),
    ("scatter_reduce_bad_reduce", lambda m, t: m.scatter_reduce(_z(m, 3), 0, t([1]), _z(m, 1), "add"),
     "sum, prod, mean, amax or amin"),
    ("scatter_reduce_mean_bool", lambda m, t: m.scatter_reduce(t([True]), 0, t([0]), t([True]), "mean"), "bool"),
    ("index_add_matrix_index", lambda m, t: m.index_add(_z(m, 2, 3), 1, t([[0, 0]]), _z(m, 2, 2)), "vector"),
    ("index_add_float_index", lambda m, t: m.index_add(_z(m, 2, 3), 1, t([0.0]), _z(m, 2, 1)), "int32/int64"),
    ("index_add_count_mismatch", lambda m, t: m.index_add(_z(m, 2, 3), 1, t([0, 0]), _z(m, 2, 3)),
     "Number of indices"),
    ("index_add_dtype_mismatch", lambda m, t: m.index_add(_z(m, 2, 3), 1, t([0]), _z(m, 2, 1, dtype=m.float64)),
     "same scalar type"),
    ("index_add_0d_self_1d_source", lambda m, t: m.index_add(_z(m, ()), 0, t([0]), _z(m, 1)), "shape must match"),
    ("index_copy_source_dims", lambda m, t: m.index_copy(_z(m, 2, 3), 1, t(1), _z(m, 2)), "dimensionality"),
    ("index_copy_count_mismatch", lambda m, t: m.index_copy(_z(m, 2, 3), 1, t([0, 2]), _z(m, 2, 3)),
     "Number of indices"),
    ("index_copy_scalar_source_two_indices", lambda m, t: m.index_copy(_z(m, 3), 0, t([1, 2]), t(1.0)),
     "scalar"),
    ("index_copy_scalar_source_matrix", lambda m, t: m.index_copy(_z(m, 2, 3), 1, t(1), t(1.0)), "slice shape"),
    ("index_copy_matrix_index", lambda m, t: m.index_copy(_z(m, 2, 3), 1, t([[1]]), _z(m, 2, 1)), "vector"),
    ("index_fill_matrix_index", lambda m, t: m.index_fill(_z(m, 2, 3), 1, t([[0]]), 2.0), "vector/scalar"),
    ("index_fill_vector_value", lambda m, t: m.index_fill(_z(m, 2, 3), 1, t(1), t([3.0])), "0-dimensional"),
    ("index_fill_complex_value", lambda m, t: m.index_fill(_z(m, 2, 3), 1, t(1), 1 + 2j), "complex"),
    ("masked_scatter_int_mask", lambda m, t: m.masked_scatter(_z(m, 2), t([1, 0]), _z(m, 2)), "boolean"),
    ("masked_scatter_too_few", lambda m, t: m.masked_scatter(_z(m, 2), t([True, True]), _z(m, 1)),
     "Number of elements"),
    ("masked_scatter_dtype", lambda m, t: m.masked_scatter(_z(m, 2), t([True, False]), _z(m, 2, dtype=m.float64)),
     "same dtypes"),
    ("masked_scatter_broadcast", lambda m, t: m.masked_scatter(_z(m, 2), t([True, False, True]), _z(m, 3)),
     "broadcast"),
]


@pytest.mark.parametrize("name, call, match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_input_is_refused_as_pytorch_refuses_it(name, call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(lambda: call(rg, rg.tensor), lambda: call(torch, torch.tensor), match)


def test_scatter_reduce_argument_is_deprecated_with_pytorch_warning():
    with pytest.warns(UserWarning, match="deprecated"):
        out = rg.scatter(rg.ones(3), 0, rg.tensor([1, 1]), rg.tensor([2.0, 3.0]), reduce="multiply")
    assert out.data.tolist() == [1.0, 6.0, 1.0]
    assert rg.scatter(rg.ones(3), 0, rg.tensor([1, 1]), 2.0, reduce="add").data.tolist() == [1.0, 5.0, 1.0]
    assert rg.scatter(rg.ones(2, 2), 1, rg.tensor([[0]]), rg.zeros(1, 1)).data.tolist() == [[0, 1], [1, 1]]


def test_index_add_keeps_its_older_form_beside_pytorchs():
    """``rg.index_add(shape, dtype, index, g)`` (getitem's adjoint) still works: the first argument,
    a shape, tells the forms apart."""
    g = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = rg.index_add((4,), g.dtype, np.array([0, 0, 3]), g)
    assert out.data.tolist() == [3.0, 0.0, 0.0, 3.0]
    out.sum().backward()
    assert g.grad.data.tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------- counting
COUNTING_CASES = [
    ("unique", lambda m, t: m.unique(t([3, 1, 2, 1, 3, 3]), return_inverse=True, return_counts=True)),
    ("unique_method_2d", lambda m, t: t([[1, 2], [1, 2], [0, 5]]).unique(return_inverse=True)),
    ("unique_dim0", lambda m, t: m.unique(t([[1, 2], [1, 2], [0, 5]]), dim=0, return_inverse=True,
                                          return_counts=True)),
    ("unique_dim1", lambda m, t: m.unique(t([[1, 2, 1], [3, 4, 3]]), dim=1, return_inverse=True,
                                          return_counts=True)),
    ("unique_nans_distinct", lambda m, t: m.unique(t([NAN, 1.0, NAN]))),
    ("unique_0d", lambda m, t: m.unique(t(3), return_inverse=True, return_counts=True)),
    ("unique_empty", lambda m, t: m.unique(t([]), return_inverse=True, return_counts=True)),
    ("unique_consecutive", lambda m, t: m.unique_consecutive(t([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True,
                                                             return_counts=True)),
    ("unique_consecutive_dim0", lambda m, t: t([[1, 1], [1, 1], [2, 2], [1, 1]]).unique_consecutive(
        dim=0, return_inverse=True, return_counts=True)),
    ("unique_consecutive_nan", lambda m, t: m.unique_consecutive(t([NAN, NAN, 1.0]))),
    ("bincount", lambda m, t: m.bincount(t([1, 1, 3]))),
    ("bincount_minlength", lambda m, t: t([1, 1, 3]).bincount(minlength=6)),
    ("bincount_float_weights", lambda m, t: m.bincount(t([1, 1, 3]), t([0.5, 1.0, 2.0]))),
    ("bincount_int_weights_count_in_float64", lambda m, t: m.bincount(t([1, 1, 3]), t([1, 2, 3]))),
    ("bincount_empty", lambda m, t: m.bincount(t([], dtype=m.int64), minlength=3)),
    ("bincount_int32_input", lambda m, t: m.bincount(t([2, 0], dtype=m.int32))),
    ("histc", lambda m, t: m.histc(t([1.0, 2, 1]), bins=4, min=0, max=3)),
    ("histc_data_range", lambda m, t: t([1.0, 2, 1, 4]).histc(bins=3)),
    ("histc_one_value", lambda m, t: m.histc(t([2.0, 2]), bins=4)),
    ("histc_edges_outside_nan", lambda m, t: m.histc(t([0.0, 3, 3.0001, -1, NAN]), bins=3, min=0, max=3)),
    ("histc_float64", lambda m, t: m.histc(t([0.3, 0.6, 0.9, 0.1], dtype=m.float64), bins=3, min=0, max=0.9)),
    ("histc_empty", lambda m, t: m.histc(m.zeros(0), bins=2)),
    ("bucketize", lambda m, t: m.bucketize(t([[3, 6, 9], [3, 6, 9]]), t([1, 3, 5, 7, 9]))),
    ("bucketize_right_int32", lambda m, t: m.bucketize(t([3, 6, 9]), t([1, 3, 5, 7, 9]), right=True,
                                                       out_int32=True)),
    ("bucketize_number", lambda m, t: m.bucketize(3, t([1, 3, 5, 7, 9]))),
    ("bucketize_nan", lambda m, t: m.bucketize(t([NAN, 1.0]), t([0.0, 1, NAN]))),
    ("searchsorted", lambda m, t: m.searchsorted(t([1, 3, 5, 7, 9]), t([3, 6, 9]))),
    ("searchsorted_rows_side", lambda m, t: m.searchsorted(t([[1, 3, 5], [2, 4, 6]]), t([[3, 6], [3, 6]]),
                                                           side="right")),
    ("searchsorted_sorter", lambda m, t: m.searchsorted(t([5, 1, 3]), t([2, 4]), sorter=t([1, 2, 0]))),
    ("searchsorted_number", lambda m, t: m.searchsorted(t([1, 3, 5, 7, 9]), 6)),
    ("searchsorted_mixed_dtypes", lambda m, t: m.searchsorted(t([1, 2]), t([1.5, 2.0]), right=True)),
    ("isin", lambda m, t: m.isin(t([[1, 2], [3, 4]]), t([2, 3]))),
    ("isin_invert", lambda m, t: m.isin(t([1, 2]), t([2, 3]), invert=True)),
    ("isin_number", lambda m, t: m.isin(2, t([2, 3]))),
    ("isin_nan", lambda m, t: m.isin(t([NAN, 2]), t([NAN, 2]))),
    ("count_nonzero", lambda m, t: m.count_nonzero(t([[0, 1.0], [2, NAN]]))),
    ("count_nonzero_dims", lambda m, t: t([[0, 1.0], [2, NAN]]).count_nonzero(dim=(0,))),
    ("count_nonzero_0d", lambda m, t: m.count_nonzero(t(3.0), dim=0)),
    ("tril_indices", lambda m, t: m.tril_indices(3, 4, 1)),
    ("triu_indices", lambda m, t: m.triu_indices(3, 4, -1)),
    ("tril_indices_int32", lambda m, t: m.tril_indices(2, 2, dtype=m.int32)),
    ("triu_indices_empty", lambda m, t: m.triu_indices(3, 4, 10)),
    ("unravel_index", lambda m, t: m.unravel_index(t([4, 1, -1]), (2, 3))),
    ("unravel_index_2d", lambda m, t: m.unravel_index(t([[1, 5]]), (2, 3))),
]


@pytest.mark.parametrize("name, call", COUNTING_CASES, ids=[c[0] for c in COUNTING_CASES])
def test_counting_matches_pytorch(name, call):
    got, expected = _outputs(call(rg, rg.tensor)), _outputs(call(torch, torch.tensor))
    assert len(got) == len(expected)
    for r, t in zip(got, expected):
        assert str(r.dtype) == str(t.dtype).replace("torch.", "") and tuple(r.shape) == tuple(t.shape)
        np.testing.assert_array_equal(r.data, t.numpy())
        assert not r.requires_grad


def test_histc_and_searchsorted_agree_with_pytorch_on_random_data():
    """histc's bin (computed in the input's dtype, as PyTorch's kernel) and searchsorted's binary search
    (NaN in values and boundaries) on random data and exact bin edges."""
    rng = np.random.default_rng(3)
    for trial in range(40):
        dtype = np.float32 if trial % 2 else np.float64
        bins = int(rng.integers(1, 12))
        lo = float(np.round(rng.standard_normal(), 2))
        hi = lo + float(np.round(rng.random() * 3 + 0.01, 2))
        v = np.concatenate([rng.uniform(lo - 0.5, hi + 0.5, 20), np.linspace(lo, hi, bins + 1)]).astype(dtype)
        np.testing.assert_array_equal(rg.histc(rg.tensor(v), bins, lo, hi).data,
                                      torch.histc(torch.tensor(v), bins, lo, hi).numpy())
        b = np.sort(rng.integers(0, 10, rng.integers(1, 8))).astype(float)
        if trial % 3 == 0:
            b[-1] = NAN
        values = rng.integers(-1, 11, 4).astype(float)
        values[0] = NAN if trial % 4 == 0 else values[0]
        for right in (False, True):
            np.testing.assert_array_equal(rg.searchsorted(rg.tensor(b), rg.tensor(values), right=right).data,
                                          torch.searchsorted(torch.tensor(b), torch.tensor(values),
                                                             right=right).numpy())


def test_bincount_weights_get_the_gradient_of_a_scatter_add():
    """A weighted bincount is index_add of the weights: w̄ᵢ = ȳ[xᵢ] (PyTorch refuses this backward)."""
    w = rg.tensor([0.5, 1.0, 2.0], dtype=rg.float64, requires_grad=True)
    counts = rg.bincount(rg.tensor([1, 1, 3]), w)
    counts.backward(rg.tensor([10.0, 20.0, 30.0, 40.0]))
    assert w.grad.data.tolist() == [20.0, 20.0, 40.0]


COUNTING_ERRORS = [
    ("unique_dim_out_of_range", lambda m, t: m.unique(t([1, 2]), dim=1), "out of range"),
    ("bincount_negative", lambda m, t: m.bincount(t([1, -1])), "non-negative"),
    ("bincount_2d", lambda m, t: m.bincount(t([[1, 1]])), "1-d"),
    ("bincount_float", lambda m, t: m.bincount(t([1.0])), "float"),
    ("bincount_bool", lambda m, t: m.bincount(t([True])), "bool"),
    ("bincount_minlength", lambda m, t: m.bincount(t([1]), minlength=-1), "minlength"),
    ("bincount_weights_length", lambda m, t: m.bincount(t([1, 1, 3]), t([0.5, 1.0])), "same length"),
    ("histc_int", lambda m, t: m.histc(t([1, 2]), bins=3), "int64"),
    ("histc_bins_zero", lambda m, t: m.histc(t([1.0]), bins=0), "bins must be > 0"),
    ("histc_float_bins", lambda m, t: m.histc(t([1.0]), bins=2.5), "bins"),
    ("histc_max_below_min", lambda m, t: m.histc(t([1.0]), bins=3, min=3, max=1), "larger than min"),
    ("histc_infinite_range", lambda m, t: m.histc(t([1.0, math.inf]), bins=3), "not finite"),
    ("histc_nan_range", lambda m, t: m.histc(t([NAN, 1.0]), bins=3), "not finite"),
    ("bucketize_2d_boundaries", lambda m, t: m.bucketize(t([3]), t([[1, 3]])), "1 dimension"),
    ("searchsorted_bad_side", lambda m, t: m.searchsorted(t([1, 3]), t([2]), side="up"), "side"),
    ("searchsorted_side_conflict", lambda m, t: m.searchsorted(t([1, 3]), t([2]), side="left", right=True),
     "opposites"),
    ("searchsorted_rows_mismatch", lambda m, t: m.searchsorted(t([[1, 3], [2, 4]]), t([[3, 6]])), "must match"),
    ("searchsorted_0d_boundaries", lambda m, t: m.searchsorted(t(1), t([1])), "positive dimension"),
    ("searchsorted_sorter_dtype", lambda m, t: m.searchsorted(t([5, 1]), t([2]), sorter=t([1, 0], dtype=m.int32)),
     "long"),
    ("searchsorted_sorter_range", lambda m, t: m.searchsorted(t([5, 1]), t([2]), sorter=t([1, 2])), "out of range"),
    ("searchsorted_sorter_shape", lambda m, t: m.searchsorted(t([5, 1, 3]), t([2]), sorter=t([1, 2])), "size"),
    ("searchsorted_bool", lambda m, t: m.searchsorted(t([False, True]), t([True])), "bool"),
    ("isin_bool", lambda m, t: m.isin(t([True]), t([True])), "isin"),
    ("count_nonzero_repeated_dim", lambda m, t: m.count_nonzero(t([[1, 0]]), dim=(0, 0)), "multiple times"),
    ("count_nonzero_dim_out_of_range", lambda m, t: m.count_nonzero(t([[1, 0]]), dim=2), "out of range"),
    ("tril_indices_negative_row", lambda m, t: m.tril_indices(-1, 2), "non-negative"),
    ("tril_indices_float_dtype", lambda m, t: m.tril_indices(2, 2, dtype=m.float32), "float32"),
    ("unravel_index_float", lambda m, t: m.unravel_index(t(1.0), (2, 3)), "integer dtype"),
    ("unravel_index_negative_shape", lambda m, t: m.unravel_index(t([1]), (-1, 3)), "negative"),
]


@pytest.mark.parametrize("name, call, match", COUNTING_ERRORS, ids=[c[0] for c in COUNTING_ERRORS])
def test_counting_refuses_what_pytorch_refuses(name, call, match):
    same_error(lambda: call(rg, rg.tensor), lambda: call(torch, torch.tensor), match)


def test_unravel_index_refuses_indices_pytorch_would_wrap():
    """PyTorch documents indices in [−numel, numel) and wraps others around silently; retrograd
    refuses them (a deliberate difference: nothing wraps an index silently)."""
    with pytest.raises(IndexError, match="out of range"):
        rg.unravel_index(rg.tensor([6]), (2, 3))
    assert [c.item() for c in rg.unravel_index(rg.tensor(-6), (2, 3))] == [0, 0]


# ---------------------------------------------------------------- sampling
def test_multinomial_draws_follow_the_distribution():
    rg.manual_seed(0)
    p = rg.tensor([1.0, 2.0, 3.0, 0.0])
    draws = rg.multinomial(p, 6000, replacement=True)
    assert draws.dtype == np.int64 and tuple(draws.shape) == (6000,)
    np.testing.assert_allclose(np.bincount(draws.data, minlength=4) / 6000, [1 / 6, 1 / 3, 1 / 2, 0], atol=0.03)
    # without replacement: distinct categories, each next draw proportional to p among those left
    pairs = np.stack([p.multinomial(2).data for _ in range(1500)])
    assert (pairs[:, 0] != pairs[:, 1]).all()
    np.testing.assert_allclose(np.bincount(pairs[:, 0], minlength=4) / 1500, [1 / 6, 1 / 3, 1 / 2, 0], atol=0.04)
    second = [(1 / 3) * (1 / 6) / (2 / 3) + (1 / 2) * (1 / 6) / (1 / 2), 0, 0, 0]
    second[1] = (1 / 6) * (1 / 3) / (5 / 6) + (1 / 2) * (1 / 3) / (1 / 2)
    second[2] = 1 - second[0] - second[1]
    np.testing.assert_allclose(np.bincount(pairs[:, 1], minlength=4) / 1500, second, atol=0.04)
    rows = rg.multinomial(rg.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]), 3)
    assert tuple(rows.shape) == (2, 3) and rows.data[0, 0] == 1 and sorted(rows.data[1].tolist()) == [0, 1, 2]


def test_multinomial_is_reproducible_with_manual_seed_and_a_generator():
    rg.manual_seed(3)
    a = rg.multinomial(rg.ones(5), 3).data
    rg.manual_seed(3)
    assert rg.multinomial(rg.ones(5), 3).data.tolist() == a.tolist()
    gen = rg.random.new_generator(11)
    b = rg.multinomial(rg.ones(5), 3, generator=gen).data
    assert rg.multinomial(rg.ones(5), 3, generator=rg.random.new_generator(11)).data.tolist() == b.tolist()


def test_normal_and_bernoulli_draws_and_their_zero_gradient_as_pytorch():
    rg.manual_seed(1)
    z = rg.normal(rg.full((4000,), 1.5, dtype=rg.float64), 2.0)
    assert z.dtype == np.float64 and abs(z.data.mean() - 1.5) < 0.15 and abs(z.data.std() - 2.0) < 0.15
    assert tuple(rg.normal(0.0, 1.0, (2, 3)).shape) == (2, 3) and rg.normal(0.0, 1.0, (2,)).dtype == np.float32
    assert rg.normal(0.0, 1.0, (2,), dtype=rg.float64).dtype == np.float64
    assert tuple(rg.normal(rg.zeros(3), rg.ones(2, 1)).shape) == (2, 3)
    b = rg.bernoulli(rg.full((4000,), 0.3, dtype=rg.float64))
    assert b.dtype == np.float64 and set(np.unique(b.data)) <= {0.0, 1.0} and abs(b.data.mean() - 0.3) < 0.05
    assert rg.bernoulli(rg.zeros(3, dtype=rg.int64), 0.5).dtype == np.int64
    # requires grad when a parameter does, with gradient 0 (PyTorch's derivatives for normal and bernoulli)
    for make_rg, make_torch in [(lambda m, s: rg.normal(m, s), lambda m, s: torch.normal(m, s)),
                                (lambda m, s: rg.normal(m, 1.0), lambda m, s: torch.normal(m, 1.0)),
                                (lambda m, s: rg.normal(0.0, s), lambda m, s: torch.normal(0.0, s)),
                                (lambda m, s: rg.bernoulli(s), lambda m, s: torch.bernoulli(s))]:
        m, s = rg.zeros(3, requires_grad=True), rg.full((3,), 0.5, requires_grad=True)
        tm, ts = torch.zeros(3, requires_grad=True), torch.full((3,), 0.5, requires_grad=True)
        out, expected = make_rg(m, s), make_torch(tm, ts)
        assert out.requires_grad == expected.requires_grad and out.dtype == np.float32
        if expected.requires_grad:
            out.sum().backward()
            expected.sum().backward()
        for a, t in ((m, tm), (s, ts)):
            assert (a.grad is None) == (t.grad is None)
            if t.grad is not None:
                assert a.grad.data.tolist() == t.grad.tolist() == [0.0, 0.0, 0.0]


SAMPLING_ERRORS = [
    ("normal_negative_std", lambda m, t: m.normal(m.zeros(3), -1.0), "std >= 0.0"),
    ("normal_negative_std_tensor", lambda m, t: m.normal(m.zeros(3), -m.ones(3)), "std >= 0.0"),
    ("normal_int_mean", lambda m, t: m.normal(m.zeros(3, dtype=m.int64), 1.0), "int64"),
    ("normal_shapes", lambda m, t: m.normal(m.zeros(3), m.ones(4)), "broadcast|size"),
    ("normal_numbers_without_size", lambda m, t: m.normal(1.0, 2.0), "size"),
    ("bernoulli_out_of_range", lambda m, t: m.bernoulli(m.full((3,), 1.5)), "p_in >= 0"),
    ("bernoulli_int_probabilities", lambda m, t: m.bernoulli(m.ones(3, dtype=m.int64)), "int64"),
    ("multinomial_too_many", lambda m, t: m.multinomial(t([1.0, 2, 3]), 4), "without replacement"),
    ("multinomial_negative", lambda m, t: m.multinomial(t([1.0, -1, 0]), 1), "element < 0"),
    ("multinomial_inf", lambda m, t: m.multinomial(t([1.0, math.inf]), 1), "inf"),
    ("multinomial_zero_sum", lambda m, t: m.multinomial(t([0.0, 0.0]), 1), "sum of probabilities"),
    ("multinomial_int", lambda m, t: m.multinomial(t([1, 2]), 1), "floating-point"),
    ("multinomial_3d", lambda m, t: m.multinomial(m.ones(1, 1, 2), 1), "1 or 2 dim"),
    ("multinomial_zero_samples", lambda m, t: m.multinomial(m.ones(2), 0), "n_sample <= 0"),
]


@pytest.mark.parametrize("name, call, match", SAMPLING_ERRORS, ids=[c[0] for c in SAMPLING_ERRORS])
def test_sampling_refuses_what_pytorch_refuses(name, call, match):
    same_error(lambda: call(rg, rg.tensor), lambda: call(torch, torch.tensor), match)
