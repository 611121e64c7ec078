"""PyTorch's matrix functions and statistics added to retrograd, against torch 2.13 in float64:

- ``mm bmm mv dot outer addmm diag diagonal trace kron cross diff meshgrid`` (ops/matrix.py);
- ``nansum nanmean var_mean std_mean median logcumsumexp cummax cummin`` (ops/statistics.py).

Each case compares values, result dtypes and shapes (every output of a tuple, indices included) and
the gradient of a random-weighted sum of the floating outputs with respect to every floating input;
the refusals check that retrograd and torch both refuse the same bad inputs, retrograd with an
``OpError`` naming the function. ``logcumsumexp`` (an ``Op`` of its own) also has a row in
tests/op_specs.py (gradchecks to second order, jvp against vjp).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from retrograd.autograd.op import OpError

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]

NAN, INF = math.nan, math.inf
R = np.random.default_rng(0)


def _r(*shape):
    return R.standard_normal(shape)


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def _compare(rg_fn, torch_fn, *arrays, grad=True):
    """Call both on the same arrays (floating ones require grad), compare every output's values,
    dtype and shape, then the gradients of Σ w·out over the floating outputs."""
    rs = [rg.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    r_out, t_out = _outputs(rg_fn(*rs)), _outputs(torch_fn(*ts))
    assert len(r_out) == len(t_out)
    for r, t in zip(r_out, t_out):
        expected = t.detach().numpy()
        assert r.dtype == expected.dtype, (r.dtype, expected.dtype)
        assert tuple(r.shape) == expected.shape, (tuple(r.shape), expected.shape)
        np.testing.assert_allclose(r.data, expected, rtol=1e-12, atol=1e-12)
    floats = [(r, t) for r, t in zip(r_out, t_out) if t.dtype.is_floating_point and t.requires_grad]
    if not grad or not floats:
        return
    r_loss = t_loss = 0
    for r, t in floats:
        w = R.standard_normal(tuple(t.shape))
        r_loss = r_loss + rg.sum(r * rg.tensor(w))
        t_loss = t_loss + (t * torch.tensor(w)).sum()
    r_loss.backward()
    t_loss.backward()
    for r, t in zip(rs, ts):
        if t.requires_grad:
            expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            got = r.grad.data if r.grad is not None else np.zeros(r.shape)
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


F = np.float64
CASES = {
    "mm": (rg.mm, torch.mm, [_r(2, 3), _r(3, 4)]),
    "mm-int": (rg.mm, torch.mm, [np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)]),
    "mm-method": (lambda a, b: a.mm(b), lambda a, b: a.mm(b), [_r(1, 3), _r(3, 1)]),
    "bmm": (rg.bmm, torch.bmm, [_r(2, 3, 4), _r(2, 4, 5)]),
    "mv": (rg.mv, torch.mv, [_r(3, 4), _r(4)]),
    "dot": (rg.dot, torch.dot, [_r(5), _r(5)]),
    "dot-int32": (rg.dot, torch.dot, [np.arange(4, dtype=np.int32), np.arange(4, dtype=np.int32)]),
    "dot-method": (lambda a, b: a.dot(b), lambda a, b: a.dot(b), [_r(3), _r(3)]),
    "outer": (rg.outer, torch.outer, [_r(3), _r(4)]),
    "outer-int-float32": (rg.outer, torch.outer, [np.arange(3), np.ones(2, np.float32)]),
    "outer-method": (lambda a, b: a.outer(b), lambda a, b: a.outer(b), [_r(2), _r(3)]),
    "addmm": (rg.addmm, torch.addmm, [_r(2, 4), _r(2, 3), _r(3, 4)]),
    "addmm-broadcast": (rg.addmm, torch.addmm, [_r(4), _r(2, 3), _r(3, 4)]),
    "addmm-column": (rg.addmm, torch.addmm, [_r(2, 1), _r(2, 3), _r(3, 4)]),
    "addmm-scaled": (lambda c, a, b: rg.addmm(c, a, b, beta=0.5, alpha=-2.0),
                     lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=-2.0), [_r(2, 4), _r(2, 3), _r(3, 4)]),
    "addmm-beta0-nan": (lambda c, a, b: rg.addmm(c, a, b, beta=0), lambda c, a, b: torch.addmm(c, a, b, beta=0),
                        [np.full((2, 4), NAN), _r(2, 3), _r(3, 4)]),
    "addmm-method": (lambda c, a, b: c.addmm(a, b, alpha=3), lambda c, a, b: c.addmm(a, b, alpha=3),
                     [_r(), _r(2, 3), _r(3, 4)]),
    "addmm-int": (lambda c, a, b: rg.addmm(c, a, b, beta=2, alpha=3), lambda c, a, b: torch.addmm(c, a, b, beta=2, alpha=3),
                  [np.arange(4), np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)]),
    "diag-vector": (rg.diag, torch.diag, [_r(3)]),
    "diag-vector-up": (lambda v: rg.diag(v, 2), lambda v: torch.diag(v, 2), [_r(3)]),
    "diag-vector-down": (lambda v: rg.diag(v, -1), lambda v: torch.diag(v, -1), [_r(3)]),
    "diag-vector-inf": (rg.diag, torch.diag, [np.array([INF, -INF, NAN])]),
    "diag-vector-bool": (rg.diag, torch.diag, [np.array([True, False])]),
    "diag-empty": (rg.diag, torch.diag, [np.zeros(0)]),
    "diag-matrix": (rg.diag, torch.diag, [_r(3, 4)]),
    "diag-matrix-offsets": (lambda x: (rg.diag(x, 1), rg.diag(x, -2), rg.diag(x, 7)),
                            lambda x: (torch.diag(x, 1), torch.diag(x, -2), torch.diag(x, 7)), [_r(3, 4)]),
    "diag-method": (lambda x: x.diag(-1), lambda x: x.diag(-1), [_r(4)]),
    "diagonal": (rg.diagonal, torch.diagonal, [_r(3, 4)]),
    "diagonal-dims": (lambda x: rg.diagonal(x, 1, 0, 2), lambda x: torch.diagonal(x, 1, 0, 2), [_r(2, 3, 4)]),
    "diagonal-negative": (lambda x: rg.diagonal(x, -1, -1, 1), lambda x: torch.diagonal(x, -1, -1, 1),
                          [_r(2, 3, 4)]),
    "diagonal-beyond": (lambda x: rg.diagonal(x, 9), lambda x: torch.diagonal(x, 9), [_r(2, 3, 4)]),
    "diagonal-method": (lambda x: x.diagonal(offset=1, dim1=1, dim2=0), lambda x: x.diagonal(offset=1, dim1=1, dim2=0),
                        [_r(3, 3)]),
    "trace": (rg.trace, torch.trace, [_r(3, 4)]),
    "trace-int32": (rg.trace, torch.trace, [np.arange(6, dtype=np.int32).reshape(2, 3)]),
    "trace-method": (lambda x: x.trace(), lambda x: x.trace(), [_r(4, 2)]),
    "kron": (rg.kron, torch.kron, [_r(2, 3), _r(4, 2)]),
    "kron-ndim": (rg.kron, torch.kron, [_r(2, 3), _r(2, 1, 2)]),
    "kron-scalar": (rg.kron, torch.kron, [_r(), _r(3)]),
    "kron-int-float": (rg.kron, torch.kron, [np.arange(2), np.ones(3, np.float32)]),
    "kron-method": (lambda a, b: a.kron(b), lambda a, b: a.kron(b), [_r(2), _r(2)]),
    "cross": (lambda a, b: rg.cross(a, b, dim=-1), lambda a, b: torch.cross(a, b, dim=-1), [_r(4, 3), _r(4, 3)]),
    "cross-dim0": (lambda a, b: rg.cross(a, b, 0), lambda a, b: torch.cross(a, b, 0), [_r(3, 2), _r(3, 2)]),
    "cross-broadcast": (lambda a, b: rg.cross(a, b, dim=1), lambda a, b: torch.cross(a, b, dim=1),
                        [_r(2, 3, 1), _r(1, 3, 4)]),
    "cross-default": (rg.cross, torch.cross, [_r(2, 3), _r(1, 3)]),
    "cross-vector": (rg.cross, torch.cross, [_r(3), _r(3)]),
    "cross-linalg": (rg.cross, torch.linalg.cross, [_r(5, 3), _r(5, 3)]),
    "cross-method": (lambda a, b: a.cross(b, dim=-1), lambda a, b: a.cross(b, dim=-1), [_r(3), _r(3)]),
    "diff": (rg.diff, torch.diff, [_r(6)]),
    "diff-n": (lambda x: rg.diff(x, 3, 0), lambda x: torch.diff(x, 3, 0), [_r(5, 2)]),
    "diff-n-too-large": (lambda x: rg.diff(x, 7), lambda x: torch.diff(x, 7), [_r(2, 4)]),
    "diff-n0": (lambda x: rg.diff(x, 0), lambda x: torch.diff(x, 0), [_r(4)]),
    "diff-ends": (lambda x, p, a: rg.diff(x, 2, 0, p, a), lambda x, p, a: torch.diff(x, 2, 0, p, a),
                  [_r(3, 2), _r(1, 2), _r(2, 2)]),
    "diff-append-int": (lambda x, a: rg.diff(x, append=a), lambda x, a: torch.diff(x, append=a),
                        [np.arange(3, dtype=np.int32), np.arange(2)]),
    "diff-bool": (rg.diff, torch.diff, [np.array([True, False, False, True])]),
    "diff-method": (lambda x: x.diff(dim=0), lambda x: x.diff(dim=0), [_r(3, 3)]),
    "meshgrid-ij": (lambda a, b: rg.meshgrid(a, b, indexing="ij"), lambda a, b: torch.meshgrid(a, b, indexing="ij"),
                    [_r(2), _r(3)]),
    "meshgrid-xy": (lambda a, b, c: rg.meshgrid(a, b, c, indexing="xy"),
                    lambda a, b, c: torch.meshgrid(a, b, c, indexing="xy"), [_r(2), _r(3), _r(4)]),
    "meshgrid-default-list": (lambda a, b: rg.meshgrid([a, b]), lambda a, b: torch.meshgrid([a, b]), [_r(), _r(3)]),
    "meshgrid-one-xy": (lambda a: rg.meshgrid(a, indexing="xy"), lambda a: torch.meshgrid(a, indexing="xy"), [_r(3)]),
    # statistics
    "nansum": (rg.nansum, torch.nansum, [np.array([[1.0, NAN, 3.0], [NAN, NAN, NAN]])]),
    "nansum-dim": (lambda x: rg.nansum(x, 1, keepdim=True), lambda x: torch.nansum(x, 1, keepdim=True),
                   [np.array([[1.0, NAN, 3.0], [NAN, 2.0, NAN]])]),
    "nansum-dims": (lambda x: rg.nansum(x, (0, 2)), lambda x: torch.nansum(x, (0, 2)), [_r(2, 3, 4)]),
    "nansum-empty-dims": (lambda x: rg.nansum(x, []), lambda x: torch.nansum(x, []), [_r(2, 3)]),
    "nansum-int32": (rg.nansum, torch.nansum, [np.arange(5, dtype=np.int32)]),
    "nansum-bool": (rg.nansum, torch.nansum, [np.array([True, True, False])]),
    "nansum-method": (lambda x: x.nansum(0), lambda x: x.nansum(0), [np.array([[1.0, NAN], [2.0, 5.0]])]),
    "nanmean": (rg.nanmean, torch.nanmean, [np.array([[1.0, NAN, 3.0], [NAN, 2.0, NAN]])]),
    "nanmean-dim": (lambda x: rg.nanmean(x, -1), lambda x: torch.nanmean(x, -1),
                    [np.array([[1.0, NAN, 3.0], [0.5, 2.0, NAN]])]),
    "nanmean-keepdim": (lambda x: rg.nanmean(x, (0,), True), lambda x: torch.nanmean(x, (0,), True), [_r(3, 2)]),
    "nanmean-method": (lambda x: x.nanmean(), lambda x: x.nanmean(), [np.array([NAN, 1.0, 4.0])]),
    "var_mean": (rg.var_mean, torch.var_mean, [_r(3, 4)]),
    "var_mean-dim": (lambda x: rg.var_mean(x, 1, keepdim=True), lambda x: torch.var_mean(x, 1, keepdim=True),
                     [_r(3, 4)]),
    "var_mean-correction": (lambda x: rg.var_mean(x, (0, 2), correction=0), lambda x: torch.var_mean(x, (0, 2), correction=0),
                            [_r(2, 3, 4)]),
    "var_mean-unbiased": (lambda x: rg.var_mean(x, 0, False), lambda x: torch.var_mean(x, 0, False), [_r(3, 4)]),
    "var_mean-bool-unbiased": (lambda x: rg.var_mean(x, False), lambda x: torch.var_mean(x, False), [_r(3, 4)]),
    "std_mean": (rg.std_mean, torch.std_mean, [_r(3, 4)]),
    "std_mean-dim": (lambda x: rg.std_mean(x, dim=0, correction=2, keepdim=True),
                     lambda x: torch.std_mean(x, dim=0, correction=2, keepdim=True), [_r(4, 2)]),
    "median": (rg.median, torch.median, [_r(7)]),
    "median-even": (rg.median, torch.median, [_r(2, 3)]),
    "median-ties": (rg.median, torch.median, [np.array([1.0, 2.0, 2.0, 3.0, 2.0])]),
    "median-nan": (rg.median, torch.median, [np.array([1.0, NAN, 0.0, NAN])]),
    "median-empty": (rg.median, torch.median, [np.zeros((0, 2))]),
    "median-int": (rg.median, torch.median, [np.array([5, 1, 4, 2])]),
    "median-dim": (lambda x: rg.median(x, 1), lambda x: torch.median(x, 1), [_r(3, 4)]),
    "median-dim-keepdim": (lambda x: rg.median(x, 0, keepdim=True), lambda x: torch.median(x, 0, keepdim=True),
                           [_r(5, 2, 3)]),
    "median-dim-ties": (lambda x: rg.median(x, -1), lambda x: torch.median(x, -1),
                        [np.array([[1.0, 1, 1, 2, 2], [2, 1, 1, 2, 1]])]),
    "median-dim-nan": (lambda x: rg.median(x, 1), lambda x: torch.median(x, 1),
                       [np.array([[3.0, NAN, 2, NAN], [1, 2, 3, 4]])]),
    "median-dim-0d": (lambda x: rg.median(x, 0), lambda x: torch.median(x, 0), [_r()]),
    "median-dim-empty-line": (lambda x: rg.median(x, 1), lambda x: torch.median(x, 1), [np.zeros((0, 3))]),
    "median-method": (lambda x: x.median(dim=0), lambda x: x.median(dim=0), [_r(3, 2)]),
    "logcumsumexp": (lambda x: rg.logcumsumexp(x, 1), lambda x: torch.logcumsumexp(x, 1), [_r(3, 5)]),
    "logcumsumexp-far": (lambda x: rg.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0),
                         [np.array([-1000.0, 0.0, 1.0, -2000.0, 700.0])]),
    "logcumsumexp-neginf": (lambda x: rg.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0),
                            [np.array([-INF, -INF, 1.0, 2.0])]),
    "logcumsumexp-0d": (lambda x: rg.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [_r()]),
    "logcumsumexp-empty": (lambda x: rg.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [np.zeros(0)]),
    "logcumsumexp-method": (lambda x: x.logcumsumexp(-2), lambda x: x.logcumsumexp(-2), [_r(4, 2)]),
    "cummax": (lambda x: rg.cummax(x, 1), lambda x: torch.cummax(x, 1), [_r(3, 6)]),
    "cummax-ties-nan": (lambda x: rg.cummax(x, 0), lambda x: torch.cummax(x, 0),
                        [np.array([1.0, 3, 3, 2, NAN, 5, NAN, 1])]),
    "cummax-signed-zero": (lambda x: rg.cummax(x, 0), lambda x: torch.cummax(x, 0), [np.array([-0.0, 0.0, -0.0])]),
    "cummax-int": (lambda x: rg.cummax(x, 0), lambda x: torch.cummax(x, 0), [np.array([1, 3, 3, 2], np.int32)]),
    "cummax-bool": (lambda x: rg.cummax(x, 0), lambda x: torch.cummax(x, 0), [np.array([False, True, False])]),
    "cummax-0d": (lambda x: rg.cummax(x, 0), lambda x: torch.cummax(x, 0), [_r()]),
    "cummax-empty": (lambda x: rg.cummax(x, 0), lambda x: torch.cummax(x, 0), [np.zeros((0, 2))]),
    "cummin": (lambda x: rg.cummin(x, 0), lambda x: torch.cummin(x, 0), [_r(5, 3)]),
    "cummin-ties-nan": (lambda x: rg.cummin(x, -1), lambda x: torch.cummin(x, -1),
                        [np.array([[1.0, 0, 0, 2, NAN, -5, NAN], [2, 2, 1, 1, 0, 0, 3]])]),
    "cummax-method": (lambda x: x.cummax(0), lambda x: x.cummax(0), [_r(4)]),
    "cummin-method": (lambda x: x.cummin(dim=1), lambda x: x.cummin(dim=1), [_r(2, 4)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_dtypes_shapes_and_gradients_match_torch(case):
    rg_fn, torch_fn, arrays = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(rg_fn, torch_fn, *arrays)


def test_result_types_are_named_like_torch():
    x = rg.tensor(_r(3, 4))
    for result in (rg.median(x, 1), rg.cummax(x, 1), rg.cummin(x, 0)):
        values, indices = result
        assert result.values is values and result.indices is indices
    assert isinstance(rg.var_mean(x), tuple) and isinstance(rg.std_mean(x), tuple)


def test_median_gradient_follows_the_tie_convention():
    """Without dim, tied medians share ȳ by ``rg.conventions`` (min_norm: evenly, PyTorch's); "first"
    gives it all to the first."""
    x = rg.tensor([1.0, 2.0, 2.0, 3.0, 2.0], requires_grad=True)
    with rg.conventions.policy("first"):
        rg.median(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0, 0, 0])


def test_meshgrid_without_indexing_warns_as_torch():
    a = rg.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="indexing"):
        rg.meshgrid(a, a)


def test_logcumsumexp_second_derivative_matches_torch():
    x0 = _r(2, 4)
    x = rg.tensor(x0, requires_grad=True)
    t = torch.tensor(x0, requires_grad=True)
    w = _r(2, 4)
    (gx,) = rg.grad(rg.sum(rg.logcumsumexp(x, 1) * rg.tensor(w)), [x], create_graph=True)
    (gt,) = torch.autograd.grad((torch.logcumsumexp(t, 1) * torch.tensor(w)).sum(), [t], create_graph=True)
    v = _r(2, 4)
    (hx,) = rg.grad(rg.sum(gx * rg.tensor(v)), [x])
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [t])
    np.testing.assert_allclose(hx.data, ht.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- refusals
I64, F32, BOOL = np.int64, np.float32, np.bool_
REFUSED = {
    "mm-vector": ("mm", lambda f: f.mm(_r(3), _r(3, 2))),
    "mm-vector-right": ("mm", lambda f: f.mm(_r(2, 3), _r(3))),
    "mm-batched": ("mm", lambda f: f.mm(_r(2, 2, 3), _r(3, 2))),
    "mm-shapes": ("mm", lambda f: f.mm(_r(2, 3), _r(4, 2))),
    "mm-dtypes": ("mm", lambda f: f.mm(_r(2, 3), _r(3, 2).astype(F32))),
    "mm-bool": ("mm", lambda f: f.mm(np.ones((2, 2), BOOL), np.ones((2, 2), BOOL))),
    "bmm-2d": ("bmm", lambda f: f.bmm(_r(2, 3), _r(3, 4))),
    "bmm-batch": ("bmm", lambda f: f.bmm(_r(2, 2, 3), _r(3, 3, 4))),
    "bmm-inner": ("bmm", lambda f: f.bmm(_r(2, 2, 3), _r(2, 4, 4))),
    "bmm-dtypes": ("bmm", lambda f: f.bmm(_r(2, 2, 3), _r(2, 3, 4).astype(F32))),
    "mv-size": ("mv", lambda f: f.mv(_r(2, 3), _r(4))),
    "mv-matrix": ("mv", lambda f: f.mv(_r(2, 3), _r(3, 1))),
    "mv-vector": ("mv", lambda f: f.mv(_r(3), _r(3))),
    "mv-dtypes": ("mv", lambda f: f.mv(_r(2, 3), _r(3).astype(F32))),
    "dot-length": ("dot", lambda f: f.dot(_r(3), _r(4))),
    "dot-2d": ("dot", lambda f: f.dot(_r(3, 1), _r(3, 1))),
    "dot-0d": ("dot", lambda f: f.dot(_r(), _r())),
    "dot-dtypes": ("dot", lambda f: f.dot(_r(3), _r(3).astype(F32))),
    "dot-bool": ("dot", lambda f: f.dot(np.ones(2, BOOL), np.ones(2, BOOL))),
    "outer-2d": ("outer", lambda f: f.outer(_r(3, 1), _r(2))),
    "outer-0d": ("outer", lambda f: f.outer(_r(), _r(2))),
    "addmm-input-shape": ("addmm", lambda f: f.addmm(_r(3, 3), _r(2, 3), _r(3, 3))),
    "addmm-input-ndim": ("addmm", lambda f: f.addmm(_r(2, 2, 3), _r(2, 3), _r(3, 3))),
    "addmm-dtypes": ("addmm", lambda f: f.addmm(_r(2, 3), _r(2, 3).astype(F32), _r(3, 3).astype(F32))),
    "addmm-mat-shapes": ("addmm", lambda f: f.addmm(_r(2, 3), _r(2, 4), _r(3, 3))),
    "addmm-vector": ("addmm", lambda f: f.addmm(_r(3), _r(3), _r(3, 3))),
    "diag-0d": ("diag", lambda f: f.diag(_r())),
    "diag-3d": ("diag", lambda f: f.diag(_r(2, 2, 2))),
    "diagonal-same-dims": ("diagonal", lambda f: f.diagonal(_r(2, 3), 0, 0, 0)),
    "diagonal-1d": ("diagonal", lambda f: f.diagonal(_r(3))),
    "diagonal-dim-range": ("diagonal", lambda f: f.diagonal(_r(2, 3), 0, 0, 2)),
    "trace-1d": ("trace", lambda f: f.trace(_r(3))),
    "trace-3d": ("trace", lambda f: f.trace(_r(2, 2, 2))),
    "trace-bool": ("trace", lambda f: f.trace(np.ones((2, 2), BOOL))),
    "cross-length": ("cross", lambda f: f.cross(_r(2, 3), _r(2, 3), dim=0)),
    "cross-ndim": ("cross", lambda f: f.cross(_r(2, 3), _r(3))),
    "cross-dtypes": ("cross", lambda f: f.cross(_r(3), _r(3).astype(F32))),
    "cross-int-float": ("cross", lambda f: f.cross(np.ones(3, I64), _r(3))),
    "cross-no-size-3": ("cross", lambda f: f.cross(_r(2, 4), _r(2, 4))),
    "cross-broadcast": ("cross", lambda f: f.cross(_r(2, 3), _r(4, 3), dim=1)),
    "diff-negative-n": ("diff", lambda f: f.diff(_r(4), -1)),
    "diff-0d": ("diff", lambda f: f.diff(_r())),
    "diff-prepend-ndim": ("diff", lambda f: f.diff(_r(2, 3), 1, 0, _r(3))),
    "diff-prepend-shape": ("diff", lambda f: f.diff(_r(2, 3), 1, 0, _r(1, 2))),
    "diff-dim": ("diff", lambda f: f.diff(_r(2, 3), 1, 2)),
    "meshgrid-2d": ("meshgrid", lambda f: f.meshgrid(_r(2, 2), indexing="ij")),
    "meshgrid-dtypes": ("meshgrid", lambda f: f.meshgrid(_r(2), _r(3).astype(F32), indexing="ij")),
    "meshgrid-empty": ("meshgrid", lambda f: f.meshgrid(indexing="ij")),
    "meshgrid-indexing": ("meshgrid", lambda f: f.meshgrid(_r(2), indexing="ji")),
    "nanmean-int": ("nanmean", lambda f: f.nanmean(np.arange(3))),
    "nansum-complex": ("nansum", lambda f: f.nansum(np.ones(2, np.complex128))),
    "var_mean-int": ("var_mean", lambda f: f.var_mean(np.arange(3))),
    "std_mean-int": ("std_mean", lambda f: f.std_mean(np.arange(3))),
    "median-bool": ("median", lambda f: f.median(np.ones(2, BOOL))),
    "median-complex": ("median", lambda f: f.median(np.ones(2, np.complex128))),
    "median-empty-dim": ("median", lambda f: f.median(np.zeros((0, 3)), 0)),
    "median-dim-range": ("median", lambda f: f.median(_r(2, 3), 2)),
    "logcumsumexp-int": ("logcumsumexp", lambda f: f.logcumsumexp(np.arange(3), 0)),
    "logcumsumexp-dim": ("logcumsumexp", lambda f: f.logcumsumexp(_r(3), 1)),
    "cummax-dim": ("cummax", lambda f: f.cummax(_r(3), 1)),
    "cummin-complex": ("cummin", lambda f: f.cummin(np.ones(2, np.complex128), 0)),
}


class _Torch:
    """``torch`` with numpy arguments turned into tensors."""

    def __getattr__(self, name):
        fn = getattr(torch, name)

        def call(*args, **kwargs):
            return fn(*(torch.from_numpy(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in args), **kwargs)
        return call


class _Rg:
    def __getattr__(self, name):
        fn = getattr(rg, name)

        def call(*args, **kwargs):
            return fn(*(rg.tensor(a) if isinstance(a, np.ndarray) else a for a in args), **kwargs)
        return call


@pytest.mark.parametrize("case", list(REFUSED))
def test_both_refuse(case):
    name, call = REFUSED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((RuntimeError, IndexError, NotImplementedError, ValueError, TypeError)):
            call(_Torch())
        with pytest.raises(OpError) as error:
            call(_Rg())
    assert name in str(error.value), str(error.value)


def test_cross_without_dim_refuses_where_torch_cross_and_linalg_cross_disagree():
    """torch 2.13's torch.cross without dim takes the first dim of size 3 (deprecated), torch.linalg.cross
    the last: retrograd's dim=None is the last and refuses a shape where the two differ."""
    a, b = _r(3, 3), _r(3, 3)
    with pytest.raises(OpError, match="pass dim"):
        rg.cross(rg.tensor(a), rg.tensor(b))
    np.testing.assert_allclose(rg.cross(rg.tensor(a), rg.tensor(b), dim=-1).data,
                               torch.linalg.cross(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


def test_addmm_refuses_a_fractional_scale_for_integers():
    """PyTorch documents integer beta/alpha for integer tensors (it truncates 0.5 silently)."""
    m = rg.tensor(np.ones((2, 2), np.int64))
    with pytest.raises(OpError, match="beta"):
        rg.addmm(m, m, m, beta=0.5)
