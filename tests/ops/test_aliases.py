"""PyTorch's other names, tensor queries and small compositions (ops/aliases.py), its remaining matrix
functions and scatters (ops/matrix_extra.py), and the inverse hyperbolic functions, against torch 2.13:

- values, dtypes and the gradients of a random-weighted sum of the outputs (float64, backward on both
  sides: ``torch_compare.compare``) of the aliases, ``addmv``/``addr``/``addbmm``/``baddbmm`` (β = 0
  ignoring a NaN input), ``chain_matmul``, ``cholesky_solve``/``cholesky_inverse`` (PyTorch's dense
  gradient of the factor), ``corrcoef``, the view-scatters, ``index_put``, ``index_reduce``,
  ``split_with_sizes``, ``narrow_copy``, ``frexp``, ``copysign``;
- integer, boolean and float32 dtypes where PyTorch takes them (shifts, histogram, copysign …);
- the queries and conveniences (``is_signed``, ``isneginf``, ``device``, ``nbytes``, ``mH`` …), the in-place
  forms, and the errors (exception type and gist, ``same_error``).

asinh/acosh/atanh are primitives with rows in tests/op_specs.py (gradchecked, jvp-checked there).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from torch_compare import compare, same_error

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:.*chain_matmul is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta:UserWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]  # torch.func

NAN = math.nan
R = np.random.default_rng(11)


def _r(*shape):
    return R.standard_normal(shape)


def _i(values):
    return np.asarray(values, dtype=np.int64)


def _lower_factor(n, batch=()):
    """A Cholesky factor: lower triangular, a positive diagonal away from 0."""
    a = np.tril(R.standard_normal(batch + (n, n)))
    idx = np.arange(n)
    a[..., idx, idx] = 1.0 + np.abs(a[..., idx, idx])
    return a


X, Y = _r(3, 4), _r(3, 4)
M, V, W = _r(3, 4), _r(4), _r(3)
B1, B2 = _r(2, 3, 4), _r(2, 4, 5)
L3, LB = _lower_factor(3), _lower_factor(3, (2,))
ZEROS = np.array([0.0, -0.0, 1.5, -2.0, 0.0, 3.0])
SIGNS = np.array([-1.0, 1.0, -0.0, 0.0, NAN, -2.0])

CASES = [
    # PyTorch's other names: the functions and the methods
    ("absolute", rg.absolute, torch.absolute, (X,)),
    ("absolute_method", lambda x: x.absolute(), lambda x: x.absolute(), (X,)),
    ("arcsin", rg.arcsin, torch.arcsin, (0.9 * np.tanh(X),)),
    ("arccos", rg.arccos, torch.arccos, (0.9 * np.tanh(X),)),
    ("arctan", rg.arctan, torch.arctan, (X,)),
    ("arcsinh", rg.arcsinh, torch.arcsinh, (X,)),
    ("arccosh", rg.arccosh, torch.arccosh, (1.2 + np.abs(X),)),
    ("arctanh", rg.arctanh, torch.arctanh, (0.9 * np.tanh(X),)),
    ("asinh_method", lambda x: x.asinh(), lambda x: x.asinh(), (X,)),
    ("acosh_method", lambda x: x.arccosh(), lambda x: x.arccosh(), (1.2 + np.abs(X),)),
    ("atanh_method", lambda x: x.arctanh(), lambda x: x.arctanh(), (0.5 * np.tanh(X),)),
    ("arctan2", rg.arctan2, torch.arctan2, (X, Y)),
    ("arctan2_method", lambda x, y: x.arctan2(y), lambda x, y: x.arctan2(y), (X, Y[0])),
    ("multiply", rg.multiply, torch.multiply, (X, Y)),
    ("multiply_method", lambda x: x.multiply(2.5), lambda x: x.multiply(2.5), (X,)),
    ("subtract_alpha", lambda x, y: rg.subtract(x, y, alpha=3), lambda x, y: torch.subtract(x, y, alpha=3), (X, Y)),
    ("divide", rg.divide, torch.divide, (X, Y)),
    ("divide_floor", lambda x, y: x.divide(y, rounding_mode="floor"),
     lambda x, y: x.divide(y, rounding_mode="floor"), (X, Y)),
    ("negative", rg.negative, torch.negative, (X,)),
    ("positive", lambda x: rg.positive(x) * 2, lambda x: torch.positive(x) * 2, (X,)),
    ("ger", rg.ger, torch.ger, (W, V)),
    ("ger_method", lambda a, b: a.ger(b), lambda a, b: a.ger(b), (W, V)),
    # real tensors: themselves (the gradient flows through)
    ("conj", lambda x: rg.conj(x) * 1.5, lambda x: torch.conj(x) * 1.5, (X,)),
    ("conj_physical", rg.conj_physical, torch.conj_physical, (X,)),
    ("resolve_conj_neg", lambda x: rg.resolve_neg(rg.resolve_conj(x)) * 2,
     lambda x: torch.resolve_neg(torch.resolve_conj(x)) * 2, (X,)),
    ("real", lambda x: rg.real(x) * 2, lambda x: torch.real(x) * 2, (X,)),
    ("real_property", lambda x: x.real * 2, lambda x: x.real * 2, (X,)),
    ("adjoint", rg.adjoint, torch.adjoint, (B1,)),
    ("mH", lambda x: x.mH, lambda x: x.mH, (B1,)),
    ("H", lambda x: x.H, lambda x: x.H, (X,)),
    # β·input + α·product
    ("addmv", lambda c, a, v: rg.addmv(c, a, v, beta=0.5, alpha=-2.0),
     lambda c, a, v: torch.addmv(c, a, v, beta=0.5, alpha=-2.0), (W, M, V)),
    ("addmv_broadcast_method", lambda c, a, v: c.addmv(a, v), lambda c, a, v: c.addmv(a, v), (np.array([0.7]), M, V)),
    ("addmv_beta0_nan", lambda c, a, v: rg.addmv(c, a, v, beta=0), lambda c, a, v: torch.addmv(c, a, v, beta=0),
     (np.full(3, NAN), M, V)),
    ("addr", lambda c, u, v: rg.addr(c, u, v, beta=2, alpha=0.5), lambda c, u, v: torch.addr(c, u, v, beta=2,
                                                                                              alpha=0.5), (M, W, V)),
    ("addr_broadcast_0d", rg.addr, torch.addr, (np.array(1.5), W, V)),
    ("addr_beta0_nan", lambda c, u, v: c.addr(u, v, beta=0), lambda c, u, v: c.addr(u, v, beta=0),
     (np.full((3, 4), NAN), W, V)),
    ("addbmm", lambda c, a, b: rg.addbmm(c, a, b, beta=-1, alpha=2), lambda c, a, b: torch.addbmm(c, a, b, beta=-1,
                                                                                                   alpha=2),
     (_r(3, 5), B1, B2)),
    ("addbmm_broadcast_method", lambda c, a, b: c.addbmm(a, b), lambda c, a, b: c.addbmm(a, b), (_r(5), B1, B2)),
    ("addbmm_beta0_nan", lambda c, a, b: rg.addbmm(c, a, b, beta=0), lambda c, a, b: torch.addbmm(c, a, b, beta=0),
     (np.full((3, 5), NAN), B1, B2)),
    ("baddbmm", lambda c, a, b: rg.baddbmm(c, a, b, beta=0.25, alpha=3), lambda c, a, b: torch.baddbmm(
        c, a, b, beta=0.25, alpha=3), (_r(2, 3, 5), B1, B2)),
    ("baddbmm_broadcast_method", lambda c, a, b: c.baddbmm(a, b), lambda c, a, b: c.baddbmm(a, b),
     (_r(1, 3, 1), B1, B2)),
    ("baddbmm_beta0_nan", lambda c, a, b: rg.baddbmm(c, a, b, beta=0), lambda c, a, b: torch.baddbmm(c, a, b, beta=0),
     (np.full((2, 3, 5), NAN), B1, B2)),
    ("chain_matmul", rg.chain_matmul, torch.chain_matmul, (M, _r(4, 2), _r(2, 5))),
    ("chain_matmul_one", rg.chain_matmul, torch.chain_matmul, (M,)),
    # from a Cholesky factor: the factor's gradient is PyTorch's dense one, above the diagonal too
    ("cholesky_solve", rg.cholesky_solve, torch.cholesky_solve, (_r(3, 2), L3)),
    ("cholesky_solve_upper", lambda b, u: rg.cholesky_solve(b, u, upper=True),
     lambda b, u: torch.cholesky_solve(b, u, upper=True), (_r(3, 2), L3.T.copy())),
    ("cholesky_solve_batch_broadcast_method", lambda b, f: b.cholesky_solve(f), lambda b, f: b.cholesky_solve(f),
     (_r(3, 1), LB)),
    ("cholesky_inverse", rg.cholesky_inverse, torch.cholesky_inverse, (L3,)),
    ("cholesky_inverse_upper_batch", lambda u: u.cholesky_inverse(upper=True),
     lambda u: u.cholesky_inverse(upper=True), (np.swapaxes(LB, -1, -2).copy(),)),
    # corrcoef
    ("corrcoef", rg.corrcoef, torch.corrcoef, (_r(3, 6),)),
    ("corrcoef_1d_method", lambda x: x.corrcoef(), lambda x: x.corrcoef(), (_r(5),)),
    ("corrcoef_constant_row", rg.corrcoef, torch.corrcoef, (np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]]),)),
    # the view-scatters
    ("diagonal_scatter", rg.diagonal_scatter, torch.diagonal_scatter, (X, _r(3))),
    ("diagonal_scatter_offset_method", lambda x, s: x.diagonal_scatter(s, -1), lambda x, s: x.diagonal_scatter(s, -1),
     (X, _r(2))),
    ("diagonal_scatter_dims", lambda x, s: rg.diagonal_scatter(x, s, 1, 0, 2),
     lambda x, s: torch.diagonal_scatter(x, s, 1, 0, 2), (_r(2, 3, 4), _r(3, 2))),
    ("select_scatter", lambda x, s: rg.select_scatter(x, s, 1, -1), lambda x, s: torch.select_scatter(x, s, 1, -1),
     (X, _r(3))),
    ("select_scatter_method", lambda x, s: x.select_scatter(s, 0, 2), lambda x, s: x.select_scatter(s, 0, 2),
     (X, _r(4))),
    ("slice_scatter", lambda x, s: rg.slice_scatter(x, s, 1, 0, 4, 2),
     lambda x, s: torch.slice_scatter(x, s, 1, 0, 4, 2), (X, _r(3, 2))),
    ("slice_scatter_method", lambda x, s: x.slice_scatter(s, start=-2), lambda x, s: x.slice_scatter(s, start=-2),
     (X, _r(2, 4))),
    # index_put: accumulate with repeats, broadcast values, masks, negative indices
    ("index_put_accumulate", lambda x, v: rg.index_put(x, (rg.tensor(_i([0, 2, 0])), rg.tensor(_i([1, 3, 1]))), v,
                                                       accumulate=True),
     lambda x, v: torch.index_put(x, (torch.tensor(_i([0, 2, 0])), torch.tensor(_i([1, 3, 1]))), v,
                                  accumulate=True), (X, _r(3))),
    ("index_put", lambda x, v: x.index_put((rg.tensor(_i([0, -1])), rg.tensor(_i([1, 3]))), v),
     lambda x, v: x.index_put((torch.tensor(_i([0, -1])), torch.tensor(_i([1, 3]))), v), (X, _r(2))),
    ("index_put_rows_broadcast", lambda x, v: rg.index_put(x, [rg.tensor(_i([2, 0]))], v),
     lambda x, v: torch.index_put(x, [torch.tensor(_i([2, 0]))], v), (X, _r(4))),
    ("index_put_mask_0d_value", lambda x, v: rg.index_put(x, (rg.tensor(X > 0),), v),
     lambda x, v: torch.index_put(x, (torch.tensor(X > 0),), v), (X, np.array(2.5))),
    ("index_put_broadcast_indices", lambda x, v: rg.index_put(x, (rg.tensor(_i([[0], [2]])), rg.tensor(_i([1, 3]))),
                                                              v, accumulate=True),
     lambda x, v: torch.index_put(x, (torch.tensor(_i([[0], [2]])), torch.tensor(_i([1, 3]))), v, accumulate=True),
     (X, _r(2, 1))),
    # split_with_sizes, narrow_copy, frexp, copysign
    ("split_with_sizes", lambda x: rg.split_with_sizes(x, [1, 3], dim=1),
     lambda x: torch.split_with_sizes(x, [1, 3], dim=1), (X,)),
    ("split_with_sizes_method", lambda x: x.split_with_sizes((0, 2, 1)), lambda x: x.split_with_sizes((0, 2, 1)),
     (X,)),
    ("narrow_copy", lambda x: rg.narrow_copy(x, 1, -3, 2), lambda x: torch.narrow_copy(x, 1, -3, 2), (X,)),
    ("narrow_copy_method", lambda x: x.narrow_copy(0, 1, 2), lambda x: x.narrow_copy(0, 1, 2), (X,)),
    ("frexp", rg.frexp, torch.frexp, (np.array([0.0, -0.0, 1.0, -3.5, 8.0, 3e300, 0.1]),)),
    ("frexp_method", lambda x: x.frexp(), lambda x: x.frexp(), (X,)),
    ("copysign", rg.copysign, torch.copysign, (ZEROS, SIGNS)),
    ("copysign_scalar_method", lambda x: x.copysign(-1), lambda x: x.copysign(-1), (ZEROS,)),
    ("copysign_broadcast", rg.copysign, torch.copysign, (_r(2, 1), _r(3))),
]
for _reduce in ("prod", "mean", "amax", "amin"):
    for _include in (True, False):
        CASES.append((f"index_reduce_{_reduce}_{_include}",
                      lambda x, s, r=_reduce, inc=_include: rg.index_reduce(x, 0, rg.tensor(_i([0, 2, 0])), s, r,
                                                                            include_self=inc),
                      lambda x, s, r=_reduce, inc=_include: torch.index_reduce(x, 0, torch.tensor(_i([0, 2, 0])), s, r,
                                                                               include_self=inc),
                      (X, _r(3, 4))))
CASES.append(("index_reduce_dim1_method", lambda x, s: x.index_reduce(1, rg.tensor(_i([3, 1, 3])), s, "amax"),
              lambda x, s: x.index_reduce(1, torch.tensor(_i([3, 1, 3])), s, "amax"), (X, _r(3, 3))))
CASES.append(("index_reduce_ties", lambda x, s: rg.index_reduce(x, 0, rg.tensor(_i([0, 1])), s, "amax"),
              lambda x, s: torch.index_reduce(x, 0, torch.tensor(_i([0, 1])), s, "amax"),
              (np.array([[1.0, 5.0], [3.0, 3.0]]), np.array([[5.0, 1.0], [2.0, 3.0]]))))
CASES.append(("index_reduce_prod_zeros", lambda x, s: rg.index_reduce(x, 0, rg.tensor(_i([0, 0])), s, "prod"),
              lambda x, s: torch.index_reduce(x, 0, torch.tensor(_i([0, 0])), s, "prod"),
              (np.array([[1.0, 0.0], [3.0, 3.0]]), np.array([[0.0, 1.0], [2.0, 3.0]]))))


@pytest.mark.parametrize("name, rg_fn, torch_fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_pytorch(name, rg_fn, torch_fn, arrays):
    compare(rg_fn, torch_fn, *arrays)


@requires_torch
def test_frexp_of_a_subnormal_is_torchs():
    """Values only: the mantissa's derivative there is 2¹⁰²⁹, past float64's range, so a weighted
    gradient overflows or not depending on the order of the products."""
    compare(rg.frexp, torch.frexp, np.array([1e-310, -4e-320, 2.2250738585072014e-308]), grad=False)


# ---------------------------------------------------------------- dtypes
DTYPE_CASES = [
    ("acosh_int", lambda t: t.acosh(), [1, 2, 3]),
    ("asinh_bool", lambda t: t.asinh(), [True, False]),
    ("atanh_float32", lambda t: t.atanh(), np.array([0.5, 1.0, -1.0, 2.0], np.float32)),
    ("absolute_int", lambda t: t.absolute(), [-1, 2, -3]),
    ("divide_int_floor", lambda t: t.divide(2, rounding_mode="floor"), [-3, 2, 5]),
    ("multiply_int_float", lambda t: t.multiply(2.5), [1, 2]),
    ("subtract_int_alpha", lambda t: t.subtract(2, alpha=3), [1, 2]),
    ("greater", lambda t: t.greater(1), [0, 1, 2]),
    ("less_equal", lambda t: t.less_equal(1.5), [0.0, 1.5, 2.0]),
    ("not_equal", lambda t: t.not_equal(1), [0, 1, 2]),
    ("copysign_int", lambda t: t.copysign(-1), [1, -2, 0]),
    ("copysign_bool", lambda t: t.copysign(-1.5), [True, False]),
    ("frexp_float32", lambda t: t.frexp(), np.array([0.0, 1.0, -3.5, 1e-40, np.inf, np.nan], np.float32)),
    ("frexp_float16", lambda t: t.frexp(), np.array([3.0, 0.1, -60000.0], np.float16)),
    ("isneginf", lambda t: t.isneginf(), [-np.inf, np.inf, np.nan, 1.0]),
    ("isposinf_int", lambda t: t.isposinf(), [1, 2]),
    ("isreal", lambda t: t.isreal(), [1.0, 2.0]),
    ("argwhere", lambda t: t.argwhere(), [[0, 1], [2, 0]]),
    ("argwhere_nan", lambda t: t.argwhere(), [np.nan, 0.0]),
    ("argwhere_0d", lambda t: t.argwhere(), np.float64(3.0)),
    ("argwhere_0d_zero", lambda t: t.argwhere(), np.float64(0.0)),
    ("corrcoef_int", lambda t: t.corrcoef(), [[1, 2, 3], [3, 1, 2]]),
    ("conj_int", lambda t: t.conj(), [1, 2]),
    ("real_bool", lambda t: t.real, [True]),
    ("shift_left", lambda t: t << 2, [1, -8, 3, 5]),
    ("shift_right", lambda t: t >> 1, [1, -8, 3, 5]),
    ("shift_left_63_64", lambda t: t.bitwise_left_shift(np.array([0, 1, 63, 64])), [1, -8, 3, 5]),
    ("shift_right_out_of_range", lambda t: t.bitwise_right_shift(np.array([0, -1, 64, 70])), [1, -8, 3, 5]),
    ("shift_left_negative", lambda t: t.bitwise_left_shift(-1), [1, 2]),
    ("shift_uint8", lambda t: t.bitwise_left_shift(1), np.array([200, 100], np.uint8)),
    ("shift_uint8_right_out_of_range", lambda t: t.bitwise_right_shift(9), np.array([200, 100], np.uint8)),
    ("shift_int8_right", lambda t: t >> 10, np.array([-100, 100], np.int8)),
    ("shift_int8_by_int32", lambda t: t << np.array([3], np.int32), np.array([1], np.int8)),
    ("shift_bool_int", lambda t: t.bitwise_left_shift(1), [True, False]),
    ("shift_reflected", lambda t: 1 << t, [1, 2, 3]),
    ("shift_reflected_right", lambda t: 16 >> t, [1, 2]),
    ("addr_bool", lambda t: t.addr(np.array([True, False]), np.array([True, True]), beta=False), [[True, False],
                                                                                                 [False, True]]),
    ("addr_promotes", lambda t: t.addr(np.array([1.0, 2.0], np.float32), np.array([1, 2])), [[0, 0], [0, 0]]),
    ("addmv_int", lambda t: t.addmv(np.ones((2, 3), np.int64), np.arange(3), beta=2, alpha=3), [1, 2]),
    ("index_reduce_int_mean", lambda t: t.index_reduce(0, np.array([0, 0]), np.array([-4, 0]), "mean"), [-1, 2, 3]),
    ("index_put_int_accumulate", lambda t: t.index_put((np.array([0, 0]),), np.array([1, 2]), accumulate=True),
     [0, 0, 0]),
    ("index_put_bool_accumulate", lambda t: t.index_put((np.array([0, 0]),), np.array([True, True]),
                                                        accumulate=True), [False, False]),
    ("select_scatter_cast", lambda t: t.select_scatter(np.array(2.7), 0, 0), [0, 0, 0]),
    ("diagonal_scatter_cast", lambda t: t.diagonal_scatter(np.ones(2, np.int64)), np.zeros((2, 3), np.float32)),
]


def _torch_argument(a):
    """NumPy arrays (also inside a tuple) as torch tensors: the DTYPE_CASES pass arrays to both sides."""
    if isinstance(a, np.ndarray):
        return torch.tensor(a)
    return tuple(_torch_argument(v) for v in a) if isinstance(a, tuple) else a


class _Torchify:
    """A torch tensor whose methods take NumPy arrays (as the retrograd side does), for DTYPE_CASES."""

    def __init__(self, t):
        self.t = t

    def __getattr__(self, name):
        attr = getattr(self.t, name)
        if not callable(attr):
            return attr
        return lambda *args, **kwargs: attr(*map(_torch_argument, args),
                                            **{k: _torch_argument(v) for k, v in kwargs.items()})

    def __lshift__(self, other): return self.t << _torch_argument(other)
    def __rshift__(self, other): return self.t >> _torch_argument(other)
    def __rlshift__(self, other): return other << self.t
    def __rrshift__(self, other): return other >> self.t


def _results(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("name, fn, data", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_dtypes_and_values_match_pytorch(name, fn, data):
    got = _results(fn(rg.tensor(np.asarray(data))))
    expected = _results(fn(_Torchify(torch.tensor(np.asarray(data)))))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        e = e.numpy()
        assert g.dtype == e.dtype and tuple(g.shape) == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        np.testing.assert_array_equal(g.data, e)


# ---------------------------------------------------------------- histogram
HISTOGRAMS = [
    ("default_100_bins", dict(), np.array([1.0, 2, 1, 4, 2.5, 3], np.float32)),
    ("bins", dict(bins=4), np.array([1.0, 2, 1, 4, 2.5, 3], np.float32)),
    ("range", dict(bins=4, range=(0.0, 3.0)), np.array([1.0, 2, 1, 4, 2.5, 3, -1], np.float32)),
    ("weight_density", dict(bins=4, weight=np.arange(6.0), density=True), np.array([1.0, 2, 1, 4, 2.5, 3])),
    ("edges", dict(bins=np.array([0.0, 1.5, 2.5, 5.0])), np.array([1.0, 2, 1, 4, 2.5, 3, 5, 6])),
    ("edges_density", dict(bins=np.array([0.0, 1.5, 2.5, 5.0], np.float32), density=True),
     np.array([1.0, 2, 1, 4, 2.5, 3], np.float32)),
    ("one_value", dict(bins=4), np.array([2.0, 2.0])),
    ("equal_range", dict(bins=4, range=(1.0, 1.0)), np.array([1.0, 2.0])),
    ("empty", dict(bins=3), np.zeros(0, np.float32)),
    ("two_dims_weight", dict(bins=3, weight=np.ones((2, 3), np.float32)), np.arange(6.0, dtype=np.float32)
     .reshape(2, 3)),
    ("0d", dict(bins=3), np.array(2.0)),
    ("float32_edges_like_linspace", dict(bins=7, range=(0.1, 0.7)), R.random(200).astype(np.float32)),
    ("random_float64", dict(bins=13), R.standard_normal(300)),
]


@pytest.mark.parametrize("name, kwargs, data", HISTOGRAMS, ids=[h[0] for h in HISTOGRAMS])
def test_histogram_matches_pytorch(name, kwargs, data):
    rk = {k: rg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    hist, edges = rg.histogram(rg.tensor(data), **rk)
    expected = torch.histogram(torch.tensor(data), **tk)
    for g, e in ((hist, expected.hist), (edges, expected.bin_edges)):
        assert g.dtype == e.numpy().dtype and tuple(g.shape) == tuple(e.shape)
    np.testing.assert_array_equal(hist.data, expected.hist.numpy())
    # PyTorch's linspace runs fused multiply-adds in SIMD blocks (CPU-dependent): an edge may differ by 1 ulp
    e = expected.bin_edges.numpy()
    np.testing.assert_allclose(edges.data, e, rtol=0, atol=2 * np.spacing(np.abs(e).max()) if e.size else 0)
    assert rg.tensor(data).histogram(**rk).hist.data.tolist() == hist.data.tolist()


# ---------------------------------------------------------------- queries and conveniences
@pytest.mark.parametrize("data", [np.zeros(2, np.float32), np.zeros((2, 3)), np.zeros(2, np.int8), np.zeros(2, np.uint8),
                                  np.zeros(2, bool), np.zeros(2, np.complex64), np.zeros(0, np.int16)],
                         ids=lambda a: str(a.dtype))
def test_queries_match_pytorch(data):
    r, t = rg.tensor(data), torch.tensor(data)
    for name in ("is_complex", "is_floating_point", "is_signed", "is_inference", "is_conj", "is_neg"):
        assert getattr(r, name)() == getattr(t, name)(), name
    for name in ("is_complex", "is_floating_point", "is_inference", "is_conj", "is_neg"):
        assert getattr(rg, name)(r) == getattr(torch, name)(t), name
    assert (r.nbytes, r.itemsize, r.get_device(), str(r.device), r.device.type) == \
           (t.nbytes, t.itemsize, t.get_device(), str(t.device), t.device.type)
    assert r.cpu() is r and rg.resolve_conj(r) is r and rg.resolve_neg(r) is r
    assert r.is_same_size(rg.zeros(*data.shape)) and not rg.is_same_size(r, rg.zeros(7))
    np.testing.assert_array_equal(rg.isreal(r).data, torch.isreal(t).numpy())


def test_is_nonzero_matches_pytorch():
    for data in ([0.0], [NAN], [[3]], [False], 0.0):
        assert rg.is_nonzero(rg.tensor(data)) == torch.is_nonzero(torch.tensor(data))
    assert rg.tensor([2.5]).is_nonzero()


def test_complex_tensors_get_conjugates_and_parts_off_the_tape():
    z = np.array([[1 + 2j, -3j], [0.5 + 0j, 2 - 1j]], np.complex64)
    r, t = rg.tensor(z), torch.tensor(z)
    for got, expected in ((rg.conj(r), torch.conj(t).resolve_conj()), (r.conj_physical(), t.conj_physical()),
                          (rg.real(r), torch.real(t)), (r.imag, t.imag), (r.adjoint(), t.adjoint().resolve_conj()),
                          (r.mH, t.mH.resolve_conj()), (r.H, t.H.resolve_conj()), (rg.isreal(r), torch.isreal(t)),
                          (rg.corrcoef(r), torch.corrcoef(t))):
        assert got.dtype == expected.numpy().dtype
        np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-6)
    assert rg.is_complex(r) and r.is_signed()


def test_zero_dim_conjugate_transposes_warn_and_return_the_tensor_as_pytorch():
    x = rg.tensor(2.0)
    for get in (lambda t: t.mH, lambda t: t.H, lambda t: t.adjoint()):
        with pytest.warns(UserWarning, match="deprecated on 0-D tensors"):
            assert get(x) is x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert get(torch.tensor(2.0)).item() == 2.0


def test_new_empty_strided_gives_zeros_of_the_size_and_dtype():
    x = rg.ones(2, dtype=rg.float64)
    y = x.new_empty_strided((2, 3), (3, 1), requires_grad=True)
    assert y.shape == (2, 3) and y.dtype == np.float64 and y.requires_grad and not y.data.any()
    assert x.new_empty_strided((2,), (1,), dtype=rg.int64).dtype == np.int64
    same_error(lambda: x.new_empty_strided((2, 3), (1,)),
               lambda: torch.ones(2).new_empty_strided((2, 3), (1,)), "dimensionality of sizes")


def test_cuda_is_refused_naming_set_backend():
    with pytest.raises(RuntimeError, match=r"rg\.set_backend"):
        rg.ones(2).cuda()
    assert rg.get_device(rg.ones(2)) == -1


def test_positive_returns_the_input_itself_and_the_aliases_are_the_functions():
    x = rg.tensor([1.0, -2.0])
    assert rg.positive(x) is x and x.positive() is x and rg.conj(x) is x and rg.real(x) is x
    assert (rg.arcsinh, rg.arctan2, rg.multiply, rg.divide, rg.greater) == (rg.asinh, rg.atan2, rg.mul, rg.div,
                                                                           rg.gt)


def test_cholesky_inverse_of_a_singular_factor_is_refused_as_pytorch():
    with pytest.raises(RuntimeError, match="singular"):
        torch.cholesky_inverse(torch.zeros(3, 3))
    with pytest.raises(rg.linalg.LinAlgError, match="singular"):
        rg.cholesky_inverse(rg.zeros(3, 3))


def test_chain_matmul_warns_as_pytorch():
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        rg.chain_matmul(rg.ones(2, 2), rg.ones(2, 2))


# ---------------------------------------------------------------- in-place forms
def test_in_place_forms_write_into_the_tensor_off_the_tape():
    x = rg.tensor([0.5, -2.0, 0.0])
    assert x.absolute_() is x and x.data.tolist() == [0.5, 2.0, 0.0]
    x.multiply_(2).subtract_(1, alpha=2).copysign_(rg.tensor([-1.0, 1.0, -1.0]))
    expected = torch.tensor([0.5, -2.0, 0.0]).absolute_().multiply_(2).subtract_(1, alpha=2)
    np.testing.assert_array_equal(x.data, expected.copysign_(torch.tensor([-1.0, 1.0, -1.0])).numpy())
    y = rg.tensor([0.3, 0.9])
    y.arctanh_()
    np.testing.assert_allclose(y.data, np.arctanh(np.array([0.3, 0.9], np.float32)), rtol=1e-6)
    n = rg.tensor([1, 2, 3])
    alias = n
    n <<= 2
    assert n is alias and n.data.tolist() == [4, 8, 12]
    n >>= 1
    assert n.data.tolist() == [2, 4, 6]
    z = rg.zeros(3, 2)
    assert z.index_put_((rg.tensor([0, 0]),), rg.ones(2), accumulate=True) is z
    assert z.data.tolist() == [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]
    z.index_reduce_(0, rg.tensor([2]), rg.full((1, 2), 5.0), "amax")
    assert z.data[2].tolist() == [5.0, 5.0]


def test_in_place_forms_refuse_the_tape_and_integer_results():
    leaf = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.absolute_()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.index_put_((rg.tensor([0]),), rg.tensor([1.0]))
    same_error(lambda: rg.tensor([1, 2]).acosh_(), lambda: torch.tensor([1, 2]).acosh_(), "can't be cast")


# ---------------------------------------------------------------- errors
T3 = np.zeros((3, 4))
ERRORS = [
    ("absolute_bool", lambda m: m.absolute(m.tensor([True])), "abs|absolute"),
    ("absolute_number", lambda m: m.absolute(2), "must be Tensor"),
    ("negative_bool", lambda m: m.negative(m.tensor([True])), "Negation"),
    ("positive_bool", lambda m: m.positive(m.tensor([True])), r"\+"),
    ("imag_real", lambda m: m.imag(m.ones(2)), "non-complex"),
    ("adjoint_1d", lambda m: m.adjoint(m.ones(2)), "matrices"),
    ("mH_1d", lambda m: m.ones(2).mH, "matrices"),
    ("H_3d", lambda m: m.ones(2, 2, 2).H, "2-D"),
    ("isneginf_complex", lambda m: m.isneginf(m.tensor([1j])), "complex"),
    ("is_nonzero_two", lambda m: m.is_nonzero(m.ones(2)), "more than one value"),
    ("is_nonzero_empty", lambda m: m.is_nonzero(m.ones(0)), "no values"),
    ("is_same_size_number", lambda m: m.is_same_size(m.ones(2), 2), "must be Tensor"),
    ("addmv_2d_input", lambda m: m.addmv(m.ones(1, 3), m.ones(3, 4), m.ones(4)), "vector \\+ matrix @ vector"),
    ("addmv_size", lambda m: m.addmv(m.ones(2), m.ones(3, 4), m.ones(4)), "size mismatch"),
    ("addmv_dtype", lambda m: m.addmv(m.ones(3, dtype=m.float64), m.ones(3, 4), m.ones(4, dtype=m.float64)),
     "same dtype"),
    ("addmv_bool", lambda m: m.addmv(m.ones(1, dtype=m.bool), m.ones(1, 1, dtype=m.bool), m.ones(1, dtype=m.bool)),
     "Bool"),
    ("addr_2d_vector", lambda m: m.addr(m.ones(3, 4), m.ones(3, 1), m.ones(4)), "1-D argument vec1"),
    ("addr_expand", lambda m: m.addr(m.ones(3), m.ones(3), m.ones(4)), "expanded size"),
    ("addr_int_float_beta", lambda m: m.addr(m.zeros(3, 4, dtype=m.int64), m.zeros(3, dtype=m.int64),
                                             m.zeros(4, dtype=m.int64), beta=0.5), "beta must not be a floating"),
    ("addr_number_input", lambda m: m.addr(1.0, m.ones(3), m.ones(4)), "must be Tensor"),
    ("addbmm_batches", lambda m: m.addbmm(m.ones(3, 5), m.ones(2, 3, 4), m.ones(3, 4, 5)), "same number of batches"),
    ("addbmm_inner", lambda m: m.addbmm(m.ones(3, 5), m.ones(2, 3, 4), m.ones(2, 3, 5)), "Incompatible matrix sizes"),
    ("addbmm_input_3d", lambda m: m.addbmm(m.ones(1, 3, 5), m.ones(2, 3, 4), m.ones(2, 4, 5)), "number of sizes"),
    ("addbmm_dtype", lambda m: m.addbmm(m.ones(3, 5), m.ones(2, 3, 4, dtype=m.float64),
                                        m.ones(2, 4, 5, dtype=m.float64)), "same dtype"),
    ("baddbmm_shapes", lambda m: m.baddbmm(m.ones(2, 3, 5), m.ones(2, 3, 4), m.ones(3, 4, 5)),
     "first two dimensions of batch2"),
    ("baddbmm_expand", lambda m: m.baddbmm(m.ones(3, 3, 5), m.ones(2, 3, 4), m.ones(2, 4, 5)), "expanded size"),
    ("baddbmm_dtype", lambda m: m.baddbmm(m.ones(2, 3, 5), m.ones(2, 3, 4, dtype=m.float64),
                                          m.ones(2, 4, 5, dtype=m.float64)), "dtypes must be the same"),
    ("chain_matmul_none", lambda m: m.chain_matmul(), "one or more matrices"),
    ("chain_matmul_1d", lambda m: m.chain_matmul(m.ones(2, 2), m.ones(2)), "dimension is 1"),
    ("cholesky_solve_1d", lambda m: m.cholesky_solve(m.ones(3), m.eye(3)), "at least 2 dimensions"),
    ("cholesky_solve_sizes", lambda m: m.cholesky_solve(m.ones(4, 2), m.eye(3)), "Incompatible matrix sizes"),
    ("cholesky_solve_square", lambda m: m.cholesky_solve(m.ones(3, 2), m.ones(3, 2)), "square matrices"),
    ("cholesky_solve_dtype", lambda m: m.cholesky_solve(m.ones(3, 2), m.eye(3, dtype=m.float64)), "same dtype"),
    ("cholesky_solve_int", lambda m: m.cholesky_solve(m.ones(3, 2, dtype=m.int64), m.eye(3, dtype=m.int64)),
     "Long|int64"),
    ("cholesky_inverse_1d", lambda m: m.cholesky_inverse(m.ones(3)), "at least 2 dimensions"),
    ("corrcoef_3d", lambda m: m.corrcoef(m.ones(2, 2, 2)), "two or fewer dimensions"),
    ("corrcoef_bool", lambda m: m.corrcoef(m.ones(2, 3, dtype=m.bool)), "bool"),
    ("histogram_int", lambda m: m.histogram(m.ones(3, dtype=m.int64)), "histogramdd"),
    ("histogram_bins_0", lambda m: m.histogram(m.ones(3), 0), "bins must be > 0"),
    ("histogram_nan_range", lambda m: m.histogram(m.tensor([2.0, NAN]), 4), "not finite"),
    ("histogram_reversed_range", lambda m: m.histogram(m.ones(3), 4, range=(3.0, 1.0)), "min should not exceed max"),
    ("histogram_weight_dtype", lambda m: m.histogram(m.ones(3), 3, weight=m.ones(3, dtype=m.float64)),
     "same dtype"),
    ("histogram_weight_shape", lambda m: m.histogram(m.ones(3), 3, weight=m.ones(2)), "same shape"),
    ("histogram_edges_dtype", lambda m: m.histogram(m.ones(3), m.tensor([0.0, 1.0], dtype=m.float64)), "same dtype"),
    ("histogram_edges_2d", lambda m: m.histogram(m.ones(3), m.ones(1, 3)), "one dimension"),
    ("histogram_float_bins", lambda m: m.histogram(m.ones(3), 3.0), "bins"),
    ("diagonal_scatter_size", lambda m: m.diagonal_scatter(m.zeros(3, 4), m.ones(2)), "size equal to the slice"),
    ("diagonal_scatter_same_dims", lambda m: m.diagonal_scatter(m.zeros(3, 4), m.ones(3), 0, 1, 1), "identical"),
    ("diagonal_scatter_1d", lambda m: m.diagonal_scatter(m.zeros(3), m.ones(3)), "out of range|Dimension"),
    ("select_scatter_index", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(3), 1, 4), "out of range"),
    ("select_scatter_0d", lambda m: m.select_scatter(m.tensor(1.0), m.tensor(2.0), 0, 0), "0-dim"),
    ("select_scatter_broadcast", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(1), 0, 0), "size equal"),
    ("slice_scatter_step", lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(3, 4), step=0), "step must be positive"),
    ("slice_scatter_size", lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(2, 4), start=2), "size equal"),
    ("slice_scatter_0d", lambda m: m.slice_scatter(m.tensor(1.0), m.tensor(2.0)), "0-dim"),
    ("index_put_number", lambda m: m.index_put(m.zeros(3), (m.tensor([0]),), 5.0), "must be Tensor"),
    ("index_put_not_tuple", lambda m: m.index_put(m.zeros(3), m.tensor([0]), m.ones(1)), "tuple of Tensors"),
    ("index_put_none", lambda m: m.index_put(m.zeros(3, 4), (None, m.tensor([0])), m.ones(1)), "NoneType"),
    ("index_put_float_index", lambda m: m.index_put(m.zeros(3), (m.tensor([0.0]),), m.ones(1)), "long, int"),
    ("index_put_out_of_range", lambda m: m.index_put(m.zeros(3), (m.tensor([3]),), m.ones(1)), "out of bounds"),
    ("index_put_too_many", lambda m: m.index_put(m.zeros(3), (m.tensor([0]), m.tensor([0])), m.ones(1)),
     "too many indices"),
    ("index_put_dtype", lambda m: m.index_put(m.zeros(3), (m.tensor([0]),), m.ones(1, dtype=m.float64)),
     "dtypes match"),
    ("index_put_values_shape", lambda m: m.index_put(m.zeros(3), (m.tensor([0, 1, 2]),), m.ones(2)),
     "shape mismatch"),
    ("index_reduce_sum", lambda m: m.index_reduce(m.zeros(3), 0, m.tensor([0]), m.ones(1), "sum"),
     "prod, mean, amax or amin"),
    ("index_reduce_dtype", lambda m: m.index_reduce(m.zeros(3), 0, m.tensor([0]), m.ones(1, dtype=m.float64), "prod"),
     "same scalar type"),
    ("index_reduce_bool", lambda m: m.index_reduce(m.zeros(3, dtype=m.bool), 0, m.tensor([0]),
                                                   m.zeros(1, dtype=m.bool), "amax"), "Bool"),
    ("index_reduce_2d_index", lambda m: m.index_reduce(m.zeros(3), 0, m.tensor([[0]]), m.ones(1), "prod"), "vector"),
    ("index_reduce_negative", lambda m: m.index_reduce(m.zeros(3), 0, m.tensor([-1]), m.ones(1), "prod"),
     "out of range"),
    ("index_reduce_count", lambda m: m.index_reduce(m.zeros(3, 2), 0, m.tensor([0, 1]), m.ones(1, 2), "prod"),
     "Number of indices"),
    ("index_reduce_source_shape", lambda m: m.index_reduce(m.zeros(3, 2), 0, m.tensor([0]), m.ones(1, 3), "prod"),
     "source tensor shape"),
    ("split_with_sizes_sum", lambda m: m.split_with_sizes(m.zeros(3, 4), [1, 1]), "sum exactly"),
    ("split_with_sizes_negative", lambda m: m.split_with_sizes(m.zeros(3, 4), [4, -1]), "non-negative"),
    ("split_with_sizes_int", lambda m: m.split_with_sizes(m.zeros(3, 4), 1), "tuple of ints"),
    ("split_with_sizes_0d", lambda m: m.split_with_sizes(m.tensor(1.0), [1]), "1-dimensional"),
    ("narrow_copy_length", lambda m: m.narrow_copy(m.zeros(3, 4), 1, 3, 2), "exceeds dimension size"),
    ("narrow_copy_start", lambda m: m.narrow_copy(m.zeros(3, 4), 1, 5, 0), "start out of range"),
    ("narrow_copy_0d", lambda m: m.narrow_copy(m.tensor(1.0), 0, 0, 1), "0-dim"),
    ("frexp_int", lambda m: m.frexp(m.tensor([3])), "floating-point"),
    ("copysign_number_first", lambda m: m.copysign(2.0, m.tensor([-1.0])), "must be Tensor|invalid combination"),
    ("copysign_complex", lambda m: m.copysign(m.tensor([1j]), m.tensor([-1.0])), "complex|Complex"),
    ("shift_float", lambda m: m.bitwise_left_shift(m.tensor([1.5]), 1), "not implemented"),
    ("shift_bool_bool", lambda m: m.bitwise_left_shift(m.tensor([True]), m.tensor([True])), "not implemented"),
    ("shift_operator_float", lambda m: m.tensor([1.5]) << 1, "not implemented"),
]


@pytest.mark.parametrize("name, call, match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_pytorch(name, call, match):
    same_error(lambda: call(rg), lambda: call(torch), match)


# ---------------------------------------------------------------- register_post_accumulate_grad_hook
def test_post_accumulate_grad_hooks_run_once_per_pass_after_the_accumulation_as_pytorch():
    seen = {}
    for lib in (rg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        calls = seen[lib.__name__] = []
        handle = x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
        x.register_hook(lambda g: g * 10)  # a gradient hook runs first: the post hook sees its result in .grad
        ((x * x).sum() + (x * 3).sum()).backward()  # two paths into x: one call with their sum
        (x * 2).sum().backward(inputs=[x])
        lib.autograd.grad((x * 2).sum(), x)  # accumulates nothing: no call
        handle.remove()
        (x * 2).sum().backward()
        assert x.grad.tolist() == [90.0, 110.0]
    assert seen["retrograd"] == seen["torch"] == [[50.0, 70.0], [70.0, 90.0]]


def test_a_post_accumulate_grad_hook_can_step_the_parameter_as_pytorch():
    def step(t):
        with rg.no_grad():
            t -= 0.5 * t.grad
        t.grad = None
    w = rg.tensor([1.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(step)
    (w * 2).sum().backward()
    assert w.data.tolist() == [0.0] and w.grad is None


def test_post_accumulate_grad_hooks_are_refused_where_pytorch_refuses_them():
    x = rg.tensor([1.0], requires_grad=True)
    same_error(lambda: (x * 2).register_post_accumulate_grad_hook(lambda t: None),
               lambda: (torch.ones(1, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None),
               "non-leaf")
    same_error(lambda: rg.ones(1).register_post_accumulate_grad_hook(lambda t: None),
               lambda: torch.ones(1).register_post_accumulate_grad_hook(lambda t: None), "require")
    x.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="return None"):  # torch: "expected Variable, but hook returned 'int'"
        (x * 2).sum().backward()


# ---------------------------------------------------------------- second derivatives and forward mode come with the compositions
SECOND_ORDER = [
    ("copysign", lambda x: rg.copysign(x, rg.tensor(SIGNS[:4])) ** 2, (np.array([0.5, -1.5, 2.0, -0.3]),)),
    ("frexp", lambda x: rg.frexp(x).mantissa ** 3, (np.array([0.7, -3.0, 9.5]),)),
    ("cholesky_solve", lambda b, f: rg.cholesky_solve(b, rg.tril(f)), (_r(3, 2), L3)),
    ("cholesky_inverse", lambda f: rg.cholesky_inverse(rg.tril(f)), (L3,)),
    ("corrcoef", rg.corrcoef, (_r(2, 5),)),
    ("addr", lambda c, u, v: rg.addr(c, u, v, beta=0.5) ** 2, (M, W, V)),
    ("baddbmm", lambda c, a, b: rg.baddbmm(c, a, b, alpha=2) ** 2, (_r(2, 3, 5), B1, B2)),
    ("index_put", lambda x, v: rg.index_put(x, (rg.tensor(_i([0, 2, 0])),), v, accumulate=True) ** 2,
     (X, _r(3, 4))),
    ("index_reduce", lambda x, s: rg.index_reduce(x, 0, rg.tensor(_i([0, 2, 0])), s, "prod"), (X, _r(3, 4))),
    ("slice_scatter", lambda x, s: rg.slice_scatter(x, s, 1, 1, 3) ** 2, (X, _r(3, 2))),
]


@pytest.mark.parametrize("name, fn, arrays", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives_pass_gradgradcheck(name, fn, arrays):
    report = rg.gradgradcheck(fn, [a.copy() for a in arrays])
    assert report.ok, str(report)


def test_cholesky_solve_jvp_matches_torch_func():
    b, f, tb, tf = _r(3, 2), L3, _r(3, 2), np.tril(_r(3, 3))
    _, got = rg.func.jvp(rg.cholesky_solve, (rg.tensor(b), rg.tensor(f)), (rg.tensor(tb), rg.tensor(tf)))
    _, expected = torch.func.jvp(torch.cholesky_solve, (torch.tensor(b), torch.tensor(f)),
                                 (torch.tensor(tb), torch.tensor(tf)))
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_mT_of_a_0d_tensor_is_the_identity_with_a_warning_as_torchs():
    t = rg.tensor(2.5)
    with pytest.warns(UserWarning, match="deprecated on 0-D tensors"):
        assert t.mT is t
    with pytest.raises(rg.autograd.OpError, match="mT"):
        rg.tensor([1.0, 2.0]).mT


@requires_torch
def test_reflect_padding_as_wide_as_the_input_is_a_runtime_error_as_torchs():
    same_error(lambda: rg.nn.functional.pad(rg.ones(1, 1, 3), (3, 3), mode="reflect"),
               lambda: torch.nn.functional.pad(torch.ones(1, 1, 3), (3, 3), mode="reflect"))
