"""``rg.linalg`` and PyTorch's top-level linear algebra against torch 2.13, in float64 on batches:

- values, result dtypes and shapes of every output, and the gradient of a random-weighted sum of
  the floating outputs, for every function (the factorisations through gauge-invariant outputs:
  squared singular/eigen-vectors, U Uᵀ, reconstructions);
- forward mode (``rg.func.jvp`` against ``torch.func.jvp``) and second derivatives (double
  backward against torch's) for the primitive ops;
- float32 results, singular inputs (det's gradient is the adjugate's transpose there), the
  derivatives PyTorch refuses (qr with mode 'r' or 'complete'), the Tensor methods, and the errors:
  both libraries refuse the same inputs, retrograd with a ``RuntimeError`` (``rg.linalg.LinAlgError``
  for a singular or indefinite matrix) naming the function.

The primitive ops also have rows in tests/op_specs.py (gradchecks to second order, jvp table).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import (separated_eigenvalues, separated_singular_values, symmetric_positive_definite, torch,
                      well_conditioned)

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]
L = rg.linalg
R = np.random.default_rng(0)
INF = math.inf


def _r(*shape):
    return R.standard_normal(shape)


def _inv(*shape):
    return well_conditioned(_r(*shape))


def _spd(*shape):
    return symmetric_positive_definite(_r(*shape))


def _sep(*shape):
    return separated_singular_values(_r(*shape))


def _sym_sep(*shape):
    return separated_eigenvalues(_r(*shape))


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def _tensors(arrays, lib):
    make = rg.tensor if lib == "rg" else torch.tensor
    return [make(a, requires_grad=a.dtype.kind == "f") for a in arrays]


def _compare(rg_fn, torch_fn, *arrays, rtol=1e-10, grad_rtol=1e-9, torch_grad=True):
    """Both functions on the same arrays: every output's values, dtype and shape, then the gradients
    of Σ w·out over the floating outputs that carry one (``torch_grad=False``: against finite
    differences, where PyTorch's backward fails)."""
    rs, ts = _tensors(arrays, "rg"), _tensors(arrays, "torch")
    r_out, t_out = _outputs(rg_fn(*rs)), _outputs(torch_fn(*ts))
    assert len(r_out) == len(t_out)
    for r, t in zip(r_out, t_out):
        expected = t.detach().numpy()
        assert r.dtype == expected.dtype and tuple(r.shape) == expected.shape, (r.dtype, r.shape, expected.shape)
        np.testing.assert_allclose(r.data, expected, rtol=rtol, atol=rtol)
    pairs = [(r, t) for r, t in zip(r_out, t_out) if t.requires_grad and t.numel()]
    assert all(r.requires_grad for r, _ in pairs)
    if not pairs:
        return
    if not torch_grad:
        report = rg.gradcheck(lambda *xs: rg.cat([rg.reshape(o, (-1,)) for o in _outputs(rg_fn(*xs))]), list(arrays))
        assert report.ok, str(report)
        return
    r_loss = t_loss = 0
    for r, t in pairs:
        w = R.standard_normal(tuple(t.shape))
        r_loss = r_loss + rg.sum(r * rg.tensor(w))
        t_loss = t_loss + (t * torch.tensor(w)).sum()
    r_loss.backward()
    t_loss.backward()
    for i, (a, b) in enumerate(zip(rs, ts)):
        if b.requires_grad:
            expected = np.zeros(b.shape) if b.grad is None else b.grad.numpy()
            got = np.zeros(b.shape) if a.grad is None else a.grad.data
            np.testing.assert_allclose(got, expected, rtol=grad_rtol, atol=grad_rtol, err_msg=f"gradient of input {i}")


def sym(x):
    return (x + x.mT) / 2


def squared(t):
    return t * t


def gram(u):
    return u @ u.mT


# (id, rg function, torch function, input arrays): both libraries' functions take the same arguments
CASES = [
    ("det", L.det, torch.linalg.det, [_inv(2, 3, 3)]),
    ("det_top_level", rg.det, torch.det, [_inv(3, 3)]),
    ("slogdet", L.slogdet, torch.linalg.slogdet, [_inv(2, 2, 3, 3)]),
    ("slogdet_top_level", rg.slogdet, torch.slogdet, [_inv(4, 4)]),
    ("logdet_signs", rg.logdet, torch.logdet, [_inv(6, 3, 3)]),
    ("inv", L.inv, torch.linalg.inv, [_inv(2, 3, 3)]),
    ("inverse", rg.inverse, torch.inverse, [_inv(4, 4)]),
    ("solve", L.solve, torch.linalg.solve, [_inv(2, 3, 3), _r(2, 3, 2)]),
    ("solve_broadcast", L.solve, torch.linalg.solve, [_inv(3, 3), _r(2, 1, 3, 2)]),
    ("solve_batch_broadcast", L.solve, torch.linalg.solve, [_inv(2, 1, 3, 3), _r(4, 3, 2)]),
    ("solve_vector", L.solve, torch.linalg.solve, [_inv(2, 3, 3), _r(3)]),
    ("solve_batch_of_vectors", L.solve, torch.linalg.solve, [_inv(2, 3, 3), _r(2, 3)]),
    ("solve_right", lambda a, b: L.solve(a, b, left=False), lambda a, b: torch.linalg.solve(a, b, left=False),
     [_inv(2, 3, 3), _r(2, 4, 3)]),
    ("solve_triangular_upper", lambda a, b: L.solve_triangular(a, b, upper=True),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=True), [_inv(2, 3, 3), _r(2, 3, 2)]),
    ("solve_triangular_lower_unit_right",
     lambda a, b: L.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
     [_r(2, 3, 3), _r(2, 4, 3)]),
    ("solve_triangular_upper_unit", lambda a, b: L.solve_triangular(a, b, upper=True, unitriangular=True),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=True, unitriangular=True), [_r(3, 3), _r(3, 2)]),
    ("cholesky", lambda a: L.cholesky(sym(a)), lambda a: torch.linalg.cholesky(sym(a)), [_spd(2, 3, 3)]),
    ("cholesky_upper", lambda a: L.cholesky(sym(a), upper=True),
     lambda a: torch.linalg.cholesky(sym(a), upper=True), [_spd(2, 3, 3)]),
    # one triangle read, the gradient symmetric: as PyTorch's, on a non-symmetric input too
    ("cholesky_reads_lower", L.cholesky, torch.linalg.cholesky, [_spd(3, 3) + np.triu(_r(3, 3), 1)]),
    ("cholesky_upper_reads_upper", lambda a: L.cholesky(a, upper=True),
     lambda a: torch.linalg.cholesky(a, upper=True), [_spd(3, 3) + np.tril(_r(3, 3), -1)]),
    ("qr_reduced_tall", L.qr, torch.linalg.qr, [_sep(2, 4, 3)]),
    ("qr_reduced_wide", L.qr, torch.linalg.qr, [_sep(2, 2, 4)]),
    ("qr_complete_wide", lambda a: L.qr(a, mode="complete"), lambda a: torch.linalg.qr(a, mode="complete"),
     [_sep(3, 5)]),
    ("qr_complete_square", lambda a: L.qr(a, mode="complete"), lambda a: torch.linalg.qr(a, mode="complete"),
     [_sep(2, 3, 3)]),
    ("qr_r", lambda a: L.qr(a, mode="r").R.detach(), lambda a: torch.linalg.qr(a, mode="r").R.detach(),
     [_sep(4, 3)]),
    ("eigh", lambda a: (lambda e: (e.eigenvalues, squared(e.eigenvectors)))(L.eigh(sym(a))),
     lambda a: (lambda e: (e.eigenvalues, squared(e.eigenvectors)))(torch.linalg.eigh(sym(a))), [_sym_sep(2, 3, 3)]),
    ("eigh_upper_nonsymmetric", lambda a: (lambda e: (e.eigenvalues, gram(e.eigenvectors[..., :2])))(L.eigh(a, "U")),
     lambda a: (lambda e: (e.eigenvalues, gram(e.eigenvectors[..., :2])))(torch.linalg.eigh(a, "U")),
     [_sym_sep(2, 3, 3) + np.tril(_r(3, 3), -1)]),
    ("eigvalsh", L.eigvalsh, torch.linalg.eigvalsh, [_sym_sep(2, 4, 4)]),
    ("eigvalsh_repeated", L.eigvalsh, torch.linalg.eigvalsh, [np.eye(3) * 2.0]),
    ("svd_tall", lambda a: (lambda s: (squared(s.U), s.S, squared(s.Vh)))(L.svd(a, full_matrices=False)),
     lambda a: (lambda s: (squared(s.U), s.S, squared(s.Vh)))(torch.linalg.svd(a, full_matrices=False)),
     [_sep(2, 4, 3)]),
    ("svd_wide", lambda a: (lambda s: (squared(s.U), s.S, squared(s.Vh)))(L.svd(a, full_matrices=False)),
     lambda a: (lambda s: (squared(s.U), s.S, squared(s.Vh)))(torch.linalg.svd(a, full_matrices=False)),
     [_sep(2, 3, 5)]),
    # full_matrices: the extra columns are not determined by A; U's first k columns and the projector are
    ("svd_full_tall", lambda a: (lambda s: (gram(s.U[..., :2]), s.S, gram(s.U)))(L.svd(a)),
     lambda a: (lambda s: (gram(s.U[..., :2]), s.S, gram(s.U)))(torch.linalg.svd(a)), [_sep(2, 4, 2)]),
    ("svd_full_wide", lambda a: (lambda s: (squared(s.Vh[..., :2, :]), s.S))(L.svd(a)),
     lambda a: (lambda s: (squared(s.Vh[..., :2, :]), s.S))(torch.linalg.svd(a)), [_sep(2, 5)]),
    ("svd_reconstruction", lambda a: (lambda s: s.U @ (s.S[..., None] * s.Vh))(L.svd(a, False)),
     lambda a: (lambda s: s.U @ (s.S[..., None] * s.Vh))(torch.linalg.svd(a, False)), [_sep(2, 3, 4)]),
    ("svdvals", L.svdvals, torch.linalg.svdvals, [_r(2, 3, 4)]),
    ("svdvals_repeated", L.svdvals, torch.linalg.svdvals, [np.eye(3)]),
    ("torch_svd", lambda a: (lambda s: (squared(s.U), s.S, squared(s.V)))(rg.svd(a)),
     lambda a: (lambda s: (squared(s.U), s.S, squared(s.V)))(torch.svd(a)), [_sep(2, 4, 3)]),
    ("torch_svd_no_uv", lambda a: rg.svd(a, compute_uv=False), lambda a: torch.svd(a, compute_uv=False),
     [_r(4, 3)]),
    ("torch_svd_some_false", lambda a: (lambda s: (gram(s.U), s.S, squared(s.V)))(rg.svd(a, some=False)),
     lambda a: (lambda s: (gram(s.U), s.S, squared(s.V)))(torch.svd(a, some=False)), [_sep(4, 3)]),
    ("pinv_tall", L.pinv, torch.linalg.pinv, [_sep(2, 4, 3)]),
    ("pinv_wide", L.pinv, torch.linalg.pinv, [_sep(3, 5)]),
    ("pinv_rank_deficient", L.pinv, torch.linalg.pinv, [_r(4, 2) @ _r(2, 3)]),
    ("pinv_hermitian", lambda a: L.pinv(a, hermitian=True), lambda a: torch.linalg.pinv(a, hermitian=True),
     [_sym_sep(2, 3, 3)]),
    ("pinv_atol", lambda a: L.pinv(a, atol=1.5), lambda a: torch.linalg.pinv(a, atol=1.5), [_sep(3, 3)]),
    ("pinverse", lambda a: rg.pinverse(a, 0.4), lambda a: torch.pinverse(a, 0.4), [_sep(3, 4)]),
    ("pinv_batched_tolerance", lambda a: L.pinv(a, rtol=rg.tensor(np.array([0.5, 0.01]))),
     lambda a: torch.linalg.pinv(a, rtol=torch.tensor([0.5, 0.01])), [_sep(2, 3, 3)]),
    ("matrix_exp", L.matrix_exp, torch.linalg.matrix_exp, [_r(2, 3, 3) * 0.5]),
    ("matrix_exp_large_norm", rg.matrix_exp, torch.matrix_exp, [_r(3, 3) * 4]),
    ("matrix_power_3", lambda a: L.matrix_power(a, 3), lambda a: torch.linalg.matrix_power(a, 3), [_r(2, 3, 3)]),
    ("matrix_power_0", lambda a: L.matrix_power(a, 0), lambda a: torch.linalg.matrix_power(a, 0), [_r(2, 3, 3)]),
    ("matrix_power_negative", lambda a: rg.matrix_power(a, -2), lambda a: torch.matrix_power(a, -2),
     [_inv(2, 3, 3)]),
    ("matrix_power_int", lambda a: L.matrix_power(a, 5), lambda a: torch.linalg.matrix_power(a, 5),
     [R.integers(-2, 3, (3, 3))]),
    ("multi_dot", lambda *m: L.multi_dot(m),
     lambda *m: torch.linalg.multi_dot(m), [_r(2, 5), _r(5, 1), _r(1, 4), _r(4, 3)]),
    ("multi_dot_vectors", lambda *m: L.multi_dot(list(m)), lambda *m: torch.linalg.multi_dot(list(m)),
     [_r(3), _r(3, 4), _r(4)]),
    ("cross", L.cross, torch.linalg.cross, [_r(2, 3), _r(1, 3)]),
    ("cross_dim", lambda a, b: L.cross(a, b, dim=0), lambda a, b: torch.linalg.cross(a, b, dim=0),
     [_r(3, 2), _r(3, 2)]),
    ("vecdot", L.vecdot, torch.linalg.vecdot, [_r(2, 4), _r(4)]),
    ("vecdot_dim", lambda a, b: L.vecdot(a, b, dim=0), lambda a, b: torch.linalg.vecdot(a, b, dim=0),
     [_r(3, 2), _r(3, 2)]),
    ("diagonal", lambda a: L.diagonal(a, offset=1), lambda a: torch.linalg.diagonal(a, offset=1), [_r(2, 3, 4)]),
    ("matmul", L.matmul, torch.linalg.matmul, [_r(2, 3), _r(3, 4)]),
    ("vander", L.vander, torch.linalg.vander, [np.array([[0.0, 1.5, -2.0], [0.5, 0.0, 3.0]])]),
    ("vander_N", lambda x: L.vander(x, N=5), lambda x: torch.linalg.vander(x, N=5), [_r(4)]),
    ("vander_int", L.vander, torch.linalg.vander, [np.array([1, 2, 3])]),
    ("tensorinv", lambda a: L.tensorinv(a, ind=1), lambda a: torch.linalg.tensorinv(a, ind=1),
     [_inv(6, 6).reshape(6, 2, 3)]),
    ("tensorsolve", L.tensorsolve, torch.linalg.tensorsolve, [_inv(6, 6).reshape(2, 3, 6), _r(2, 3)]),
    ("tensorsolve_dims", lambda a, b: L.tensorsolve(a, b, dims=(0,)),
     lambda a, b: torch.linalg.tensorsolve(a, b, dims=(0,)), [np.moveaxis(_inv(6, 6).reshape(2, 3, 6), -1, 0), _r(2, 3)]),
    ("lstsq_default", lambda a, b: L.lstsq(a, b), lambda a, b: torch.linalg.lstsq(a, b), [_sep(2, 5, 3), _r(2, 5, 2)]),
    ("lstsq_gelsd_vector", lambda a, b: L.lstsq(a, b, driver="gelsd"),
     lambda a, b: torch.linalg.lstsq(a, b, driver="gelsd"), [_sep(5, 3), _r(5)]),
    ("lstsq_gels", lambda a, b: L.lstsq(a, b, driver="gels"), lambda a, b: torch.linalg.lstsq(a, b, driver="gels"),
     [_sep(2, 5, 3), _r(2, 5, 2)]),
    ("lstsq_gelss_wide", lambda a, b: L.lstsq(a, b, driver="gelss"),
     lambda a, b: torch.linalg.lstsq(a, b, driver="gelss"), [_sep(3, 5), _r(3, 2)]),
    ("lstsq_rank_deficient", lambda a, b: L.lstsq(a, b, driver="gelsd").solution,
     lambda a, b: torch.linalg.lstsq(a, b, driver="gelsd").solution, [_r(5, 2) @ _r(2, 3), _r(5, 2)]),
    ("matrix_rank", L.matrix_rank, torch.linalg.matrix_rank, [np.stack([_r(4, 2) @ _r(2, 3), _r(4, 3)])]),
    ("matrix_rank_hermitian_tol", lambda a: L.matrix_rank(a, atol=1.5, hermitian=True),
     lambda a: torch.linalg.matrix_rank(a, atol=1.5, hermitian=True), [_sym_sep(2, 4, 4)]),
    ("cond_2", L.cond, torch.linalg.cond, [_r(2, 3, 4)]),
    ("cond_minus_2", lambda a: L.cond(a, -2), lambda a: torch.linalg.cond(a, -2), [_r(2, 4, 3)]),
]
for _p in ("fro", "nuc", 1, -1, INF, -INF):  # torch 2.13's backward fails here (an in-place inverse)
    CASES.append((f"cond_{_p}", lambda a, p=_p: L.cond(a, p), lambda a, p=_p: torch.linalg.cond(a, p),
                  [_inv(2, 3, 3)], {"torch_grad": False}))
for _p in ("fro", "nuc", 2, -2, 1, -1, INF, -INF):
    CASES.append((f"matrix_norm_{_p}", lambda a, p=_p: L.matrix_norm(a, p),
                  lambda a, p=_p: torch.linalg.matrix_norm(a, p), [_sep(2, 3, 4) + 0.1 * _r(2, 3, 4)]))
    CASES.append((f"matrix_norm_{_p}_dims_keepdim", lambda a, p=_p: L.matrix_norm(a, p, dim=(2, 0), keepdim=True),
                  lambda a, p=_p: torch.linalg.matrix_norm(a, p, dim=(2, 0), keepdim=True), [_r(3, 2, 4)]))
for _p in (2, 1, 0, 3, 0.5, -1, -2.5, INF, -INF):
    CASES.append((f"vector_norm_{_p}", lambda a, p=_p: L.vector_norm(a, p),
                  lambda a, p=_p: torch.linalg.vector_norm(a, p), [_r(2, 3, 4)]))
    CASES.append((f"vector_norm_{_p}_dims", lambda a, p=_p: L.vector_norm(a, p, dim=(0, -1), keepdim=True),
                  lambda a, p=_p: torch.linalg.vector_norm(a, p, dim=(0, -1), keepdim=True), [_r(2, 3, 4)]))
CASES += [
    ("vector_norm_with_zeros", lambda a: L.vector_norm(a, -1.5, dim=1),
     lambda a: torch.linalg.vector_norm(a, -1.5, dim=1), [np.array([[0.0, 1.0, -2.0], [3.0, -1.0, 0.5]])]),
    ("vector_norm_dtype", lambda a: L.vector_norm(a.float(), dtype=rg.float64),
     lambda a: torch.linalg.vector_norm(a.float(), dtype=torch.float64), [_r(5)], {"grad_rtol": 1e-6}),
    ("vector_norm_empty_dims", lambda a: L.vector_norm(a, dim=()), lambda a: torch.linalg.vector_norm(a, dim=()),
     [_r(2, 3)]),
    ("norm_default", L.norm, torch.linalg.norm, [_r(2, 3, 4)]),
    ("norm_vector_dim", lambda a: L.norm(a, 3, dim=1), lambda a: torch.linalg.norm(a, 3, dim=1), [_r(2, 3, 4)]),
    ("norm_matrix_dims", lambda a: L.norm(a, "nuc", dim=(0, 2)), lambda a: torch.linalg.norm(a, "nuc", dim=(0, 2)),
     [_r(2, 3, 4)]),
    ("norm_matrix_ord", lambda a: L.norm(a, -INF), lambda a: torch.linalg.norm(a, -INF), [_r(3, 4)]),
    ("norm_vector_ord", lambda a: L.norm(a, 1, keepdim=True), lambda a: torch.linalg.norm(a, 1, keepdim=True),
     [_r(4)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(case):
    _, rg_fn, torch_fn, arrays, *options = case
    _compare(rg_fn, torch_fn, *arrays, **(options[0] if options else {}))


# ---------------------------------------------------------------- forward mode and second derivatives
# (id, function of one matrix for both libraries, input): the primitive ops, symmetric inputs symmetrised
HIGHER = [
    ("det", lambda lib, a: lib.linalg.det(a), _inv(2, 3, 3)),
    ("logabsdet", lambda lib, a: lib.linalg.slogdet(a)[1], _inv(2, 3, 3)),
    ("inv", lambda lib, a: lib.linalg.inv(a), _inv(2, 3, 3)),
    ("solve", lambda lib, a: lib.linalg.solve(a, a.sum(-1, keepdim=True) * a[..., :1, :].mT), _inv(2, 3, 3)),
    ("cholesky", lambda lib, a: lib.linalg.cholesky(sym(a)), _spd(2, 3, 3)),
    ("qr", lambda lib, a: lib.linalg.qr(a)[0] + lib.linalg.qr(a)[1].sum(-1, keepdim=True).mT, _sep(2, 3, 3)),
    ("qr_wide", lambda lib, a: lib.linalg.qr(a)[1].sum(-2, keepdim=True) * lib.linalg.qr(a)[0].sum(), _sep(2, 4)),
    ("eigh", lambda lib, a: squared(lib.linalg.eigh(sym(a))[1]) * lib.linalg.eigh(sym(a))[0][..., None, :],
     _sym_sep(2, 3, 3)),
    ("svd", lambda lib, a: squared(lib.linalg.svd(a, full_matrices=False)[0]) * lib.linalg.svdvals(a)[..., None, :],
     _sep(2, 4, 3)),
    ("svd_wide_vh", lambda lib, a: squared(lib.linalg.svd(a, full_matrices=False)[2]), _sep(2, 4)),
    ("pinv", lambda lib, a: lib.linalg.pinv(a), _sep(2, 3, 4)),
    ("matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a), _r(2, 3, 3) * 0.5),
]


@pytest.mark.parametrize("case", HIGHER, ids=[c[0] for c in HIGHER])
def test_forward_mode_matches_torch(case):
    _, f, a = case
    v = _r(*a.shape)
    out_r, tangent_r = rg.func.jvp(lambda x: f(rg, x), (rg.tensor(a),), (rg.tensor(v),))
    out_t, tangent_t = torch.func.jvp(lambda x: f(torch, x), (torch.tensor(a),), (torch.tensor(v),))
    np.testing.assert_allclose(out_r.data, out_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tangent_r.data, tangent_t.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("case", HIGHER, ids=[c[0] for c in HIGHER])
def test_second_derivatives_match_torch(case):
    """∂/∂A ⟨V, ∂/∂A ⟨W, f(A)⟩⟩: double backward on both sides."""
    _, f, a = case
    ar, at = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yr, yt = f(rg, ar), f(torch, at)
    w, v = _r(*yt.shape), _r(*a.shape)
    (gr,) = rg.grad(rg.sum(yr * rg.tensor(w)), [ar], create_graph=True)
    (gt,) = torch.autograd.grad((yt * torch.tensor(w)).sum(), at, create_graph=True)
    np.testing.assert_allclose(gr.data, gt.detach().numpy(), rtol=1e-9, atol=1e-10)
    (hr,) = rg.grad(rg.sum(gr * rg.tensor(v)), [ar])
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), at)
    np.testing.assert_allclose(hr.data, ht.numpy(), rtol=1e-8, atol=1e-9)


# ---------------------------------------------------------------- singular inputs and refused derivatives
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2
RANK_ONE = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0])


@pytest.mark.parametrize("a", [SINGULAR, RANK_ONE, np.stack([SINGULAR, _inv(3, 3)])], ids=["rank2", "rank1", "mixed"])
def test_det_of_a_singular_matrix_is_zero_with_the_adjugate_as_gradient(a):
    """det is a polynomial: at rank n − 1 its gradient is the (nonzero) cofactor matrix, below it 0 —
    what PyTorch computes under create_graph (its first-order path gives 0 where LU has a zero pivot)."""
    ar, at = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    d = L.det(ar)
    np.testing.assert_allclose(d.data, torch.linalg.det(at).detach().numpy(), atol=1e-12)
    d.sum().backward()
    (expected,) = torch.autograd.grad(torch.linalg.det(at).sum(), at, create_graph=True)
    np.testing.assert_allclose(ar.grad.data, expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    if a is SINGULAR:
        cofactor = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
        np.testing.assert_allclose(ar.grad.data, cofactor, atol=1e-12)


def test_slogdet_of_a_singular_matrix():
    sign, logabsdet = L.slogdet(rg.tensor(SINGULAR))
    assert sign.item() == 0 and logabsdet.item() == -INF
    assert rg.logdet(rg.tensor(SINGULAR)).item() == -INF


def test_logdet_of_a_negative_determinant_is_nan_with_a_zero_gradient():
    a = np.diag([-1.0, 2.0, 3.0])
    ar, at = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yr, yt = rg.logdet(ar), torch.logdet(at)
    assert math.isnan(yr.item()) and math.isnan(yt.item())
    yr.backward()
    yt.backward()
    np.testing.assert_array_equal(ar.grad.data, at.grad.numpy())


@pytest.mark.parametrize("mode, shape", [("r", (4, 3)), ("complete", (4, 3))])
def test_qr_derivatives_pytorch_refuses_are_refused(mode, shape):
    a = rg.tensor(_sep(*shape), requires_grad=True)
    out = L.qr(a, mode=mode).R
    with pytest.raises(RuntimeError, match="mode='r'" if mode == "r" else "not differentiable"):
        out.sum().backward()
    with pytest.raises(RuntimeError):
        rg.func.jvp(lambda x: L.qr(x, mode=mode).R, (rg.tensor(_sep(*shape)),), (rg.tensor(_r(*shape)),))


def test_eigenvector_gradient_is_not_finite_for_repeated_eigenvalues_eigenvalues_is():
    a = rg.tensor(np.eye(3), requires_grad=True)
    L.eigh(a).eigenvectors.abs().sum().backward()
    assert not np.isfinite(a.grad.data).all()
    b = rg.tensor(np.eye(3), requires_grad=True)
    L.eigh(b).eigenvalues.sum().backward()
    np.testing.assert_allclose(b.grad.data, np.eye(3), atol=1e-12)


# ---------------------------------------------------------------- float32, named tuples, methods, aliases
@pytest.mark.parametrize("name", ["det", "inv", "cholesky", "eigvalsh", "svdvals", "pinv", "matrix_exp", "qr"])
def test_float32_in_float32_out(name):
    a = (_spd(2, 3, 3) if name in ("cholesky", "eigvalsh") else _inv(2, 3, 3))
    x = rg.tensor(a.astype(np.float32), requires_grad=True)
    out = _outputs(getattr(L, name)(x))
    expected = _outputs(getattr(torch.linalg, name)(torch.tensor(a.astype(np.float32))))
    for o, e in zip(out, expected):
        assert o.dtype == np.float32
        np.testing.assert_allclose(o.data, e.numpy(), rtol=2e-5, atol=2e-5)
    rg.sum(out[-1]).backward()
    assert x.grad.dtype == np.float32 and np.isfinite(x.grad.data).all()


def test_named_tuples_have_pytorch_fields():
    a = rg.tensor(_spd(3, 3))
    assert L.slogdet(a)._fields == ("sign", "logabsdet")
    assert L.qr(a)._fields == ("Q", "R")
    assert L.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert L.svd(a)._fields == ("U", "S", "Vh")
    assert rg.svd(a)._fields == ("U", "S", "V")
    assert L.lstsq(a, a)._fields == ("solution", "residuals", "rank", "singular_values")
    assert L.matrix_rank(a).dtype == np.int64


def test_tensor_methods_and_top_level_forms():
    a = _spd(2, 3, 3)
    x, t = rg.tensor(a), torch.tensor(a)
    pairs = [(x.det(), t.det()), (x.logdet(), t.logdet()), (x.slogdet()[1], t.slogdet()[1]),
             (x.inverse(), t.inverse()), (x.pinverse(), t.pinverse()), (x.matrix_power(2), t.matrix_power(2)),
             (x.matrix_exp(), t.matrix_exp()), (x.svd()[1], t.svd()[1])]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.warns(UserWarning, match="deprecated"):
        upper = x.cholesky(upper=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(upper.data, torch.cholesky(t, upper=True).numpy(), rtol=1e-12)
        np.testing.assert_allclose(rg.cholesky(x).data, torch.cholesky(t).numpy(), rtol=1e-12)
    assert L.LinAlgError is rg.linalg.LinAlgError and issubclass(L.LinAlgError, RuntimeError)


# ---------------------------------------------------------------- errors: refused where PyTorch refuses
def _f(*shape, dtype=np.float64):
    return np.ones(shape, dtype=dtype)


ERRORS = [
    # (id, call on either library's linalg, arrays, retrograd's error class, a fragment of its message)
    ("inv_not_square", lambda m, a: m.linalg.inv(a), [_f(2, 3)], RuntimeError, "square"),
    ("inv_vector", lambda m, a: m.linalg.inv(a), [_f(3)], RuntimeError, "at least 2 dimensions"),
    ("inv_integer", lambda m, a: m.linalg.inv(a), [_f(3, 3, dtype=np.int64)], RuntimeError, "Got Long"),
    ("inv_half", lambda m, a: m.linalg.inv(a), [_f(3, 3, dtype=np.float16)], RuntimeError, "Low precision"),
    ("inv_singular", lambda m, a: m.linalg.inv(a), [_f(3, 3)], L.LinAlgError, "singular"),
    ("inv_singular_batch", lambda m, a: m.linalg.inv(a), [np.stack([np.eye(3), _f(3, 3)])], L.LinAlgError,
     "Batch element 1"),
    ("solve_singular", lambda m, a, b: m.linalg.solve(a, b), [_f(3, 3), _f(3)], L.LinAlgError, "singular"),
    ("solve_dtypes", lambda m, a, b: m.linalg.solve(a, b), [np.eye(3), _f(3, dtype=np.float32)], RuntimeError,
     "same dtype"),
    ("solve_shapes", lambda m, a, b: m.linalg.solve(a, b), [np.eye(3), _f(4, 2)], RuntimeError, "Incompatible"),
    ("solve_batch", lambda m, a, b: m.linalg.solve(a, b), [_f(4, 3, 3), _f(5, 3, 2)], RuntimeError, None),
    ("solve_right_vector", lambda m, a, b: m.linalg.solve(a, b, left=False), [np.eye(3), _f(3)], RuntimeError,
     "XA = B"),
    ("solve_triangular_vector", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), [np.eye(3), _f(3)],
     RuntimeError, "at least 2 dimensions"),
    ("solve_triangular_shapes", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True, left=False),
     [np.eye(3), _f(3, 2)], RuntimeError, "Incompatible"),
    ("cholesky_indefinite", lambda m, a: m.linalg.cholesky(a), [np.stack([np.eye(2), -np.eye(2)])], L.LinAlgError,
     "leading minor of order 1"),
    ("cholesky_not_square", lambda m, a: m.linalg.cholesky(a), [_f(2, 3)], RuntimeError, "square"),
    ("det_integer", lambda m, a: m.linalg.det(a), [_f(3, 3, dtype=np.int64)], RuntimeError, "floating point"),
    ("eigh_uplo", lambda m, a: m.linalg.eigh(a, UPLO="X"), [np.eye(3)], RuntimeError, "UPLO"),
    ("eigh_not_square", lambda m, a: m.linalg.eigh(a), [_f(2, 3)], RuntimeError, "square"),
    ("svd_vector", lambda m, a: m.linalg.svd(a), [_f(3)], RuntimeError, "at least 2 dimensions"),
    ("svd_driver", lambda m, a: m.linalg.svd(a, driver="gesvd"), [_f(3, 3)], RuntimeError, "driver"),
    ("qr_mode", lambda m, a: m.linalg.qr(a, mode="full"), [_f(3, 3)], RuntimeError, "unrecognized mode"),
    ("pinv_vector", lambda m, a: m.linalg.pinv(a), [_f(3)], RuntimeError, "2 dimensions"),
    ("matrix_power_not_square", lambda m, a: m.linalg.matrix_power(a, 2), [_f(2, 3)], RuntimeError, "square"),
    ("matrix_power_float_exponent", lambda m, a: m.linalg.matrix_power(a, 2.0), [np.eye(3)], TypeError, "int"),
    ("matrix_power_singular_inverse", lambda m, a: m.linalg.matrix_power(a, -1), [_f(3, 3)], L.LinAlgError,
     "singular"),
    ("matrix_power_integer_inverse", lambda m, a: m.linalg.matrix_power(a, -1), [_f(3, 3, dtype=np.int64)],
     RuntimeError, "floating point"),
    ("matrix_exp_integer", lambda m, a: m.linalg.matrix_exp(a), [_f(3, 3, dtype=np.int64)], RuntimeError,
     "floating point"),
    ("matrix_norm_order", lambda m, a: m.linalg.matrix_norm(a, 3), [_f(3, 3)], RuntimeError, "Order 3"),
    ("matrix_norm_dims", lambda m, a: m.linalg.matrix_norm(a, dim=(0, 0)), [_f(3, 3)], RuntimeError, "different"),
    ("matrix_norm_one_dim", lambda m, a: m.linalg.matrix_norm(a, dim=(0,)), [_f(3, 3)], RuntimeError, "2-tuple"),
    ("matrix_norm_vector", lambda m, a: m.linalg.matrix_norm(a), [_f(3)], RuntimeError, "at least 2"),
    ("vector_norm_string_ord", lambda m, a: m.linalg.vector_norm(a, "fro"), [_f(3)], TypeError, "Number"),
    ("vector_norm_integer", lambda m, a: m.linalg.vector_norm(a), [_f(3, dtype=np.int64)], RuntimeError, "Long"),
    ("vector_norm_narrowing", lambda m, a: m.linalg.vector_norm(a, dtype=m.float32), [_f(3)], RuntimeError,
     "narrowing"),
    ("vector_norm_repeated_dim", lambda m, a: m.linalg.vector_norm(a, dim=(0, 0)), [_f(2, 3)], RuntimeError,
     "multiple times"),
    ("vector_norm_dim_range", lambda m, a: m.linalg.vector_norm(a, dim=2), [_f(2, 3)], IndexError, "range"),
    ("vector_norm_inf_empty", lambda m, a: m.linalg.vector_norm(a, INF), [_f(0)], RuntimeError, "identity"),
    ("norm_three_dims", lambda m, a: m.linalg.norm(a, dim=(0, 1, 2)), [_f(2, 2, 2)], RuntimeError,
     "length 1 or 2"),
    ("norm_ord_3d", lambda m, a: m.linalg.norm(a, 2), [_f(2, 2, 2)], RuntimeError, "1D or 2D"),
    ("cond_order", lambda m, a: m.linalg.cond(a, 3), [np.eye(3)], RuntimeError, "invalid norm type"),
    ("cond_not_square", lambda m, a: m.linalg.cond(a, 1), [_f(3, 4)], RuntimeError, "square"),
    ("multi_dot_one", lambda m, a: m.linalg.multi_dot([a]), [_f(3, 3)], RuntimeError, "at least 2"),
    ("multi_dot_3d", lambda m, a, b: m.linalg.multi_dot([a, b]), [_f(2, 3), _f(2, 3, 2)], RuntimeError,
     "must be 1D or 2D"),
    ("multi_dot_shapes", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), [_f(3), _f(3, 2), _f(3)], RuntimeError,
     "cannot be multiplied"),
    ("multi_dot_dtypes", lambda m, a, b: m.linalg.multi_dot([a, b]), [_f(2, 3), _f(3, 2, dtype=np.float32)],
     RuntimeError, "same dtype"),
    ("cross_ndim", lambda m, a, b: m.linalg.cross(a, b), [_f(3), _f(2, 3)], RuntimeError, "same number"),
    ("cross_length", lambda m, a, b: m.linalg.cross(a, b), [_f(2, 3), _f(2, 2)], RuntimeError, "length 3"),
    ("vecdot_dtypes", lambda m, a, b: m.linalg.vecdot(a, b), [_f(3), _f(3, dtype=np.float32)], RuntimeError,
     "same dtype"),
    ("vecdot_shapes", lambda m, a, b: m.linalg.vecdot(a, b), [_f(3), _f(4)], RuntimeError, None),
    ("lstsq_dtypes", lambda m, a, b: m.linalg.lstsq(a, b), [_f(4, 3), _f(4, 2, dtype=np.float32)], RuntimeError,
     "same dtype"),
    ("lstsq_rows", lambda m, a, b: m.linalg.lstsq(a, b), [_f(3, 5), _f(4, 2)], RuntimeError, "should match other.size"),
    ("lstsq_dims", lambda m, a, b: m.linalg.lstsq(a, b), [_f(4, 3), _f(2, 4, 2)], RuntimeError, "input.dim()"),
    ("lstsq_driver", lambda m, a, b: m.linalg.lstsq(a, b, driver="foo"), [_f(4, 3), _f(4, 2)], RuntimeError,
     "driver"),
    ("vander_N", lambda m, a: m.linalg.vander(a, N=1), [_f(3)], RuntimeError, "greater than 1"),
    ("tensorinv_ind", lambda m, a: m.linalg.tensorinv(a, ind=0), [_f(2, 2)], RuntimeError, "strictly positive"),
    ("tensorinv_sizes", lambda m, a: m.linalg.tensorinv(a), [_f(4, 5, 2, 3)], RuntimeError, "requirement"),
    ("tensorsolve_sizes", lambda m, a, b: m.linalg.tensorsolve(a, b), [_f(2, 3, 5), _f(2, 3)], RuntimeError,
     "requirement"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, call, arrays, kind, fragment = case
    with pytest.raises(kind, match=fragment) as ours:
        call(rg, *[rg.tensor(a) for a in arrays])
    assert isinstance(ours.value, RuntimeError) or kind is not RuntimeError
    theirs = torch.linalg.LinAlgError if kind is L.LinAlgError else kind
    with pytest.raises(theirs):
        call(torch, *[torch.tensor(a) for a in arrays])


def test_cond_of_a_singular_matrix_is_inf_with_a_zero_gradient():
    a = np.stack([np.ones((3, 3)), _inv(3, 3)])
    ar = rg.tensor(a, requires_grad=True)
    yr = L.cond(ar, 1)
    np.testing.assert_allclose(yr.data, torch.linalg.cond(torch.tensor(a), 1).numpy(), rtol=1e-10)
    assert yr.data[0] == INF
    yr[1].backward()
    b = rg.tensor(a[1], requires_grad=True)
    L.cond(b, 1).backward()
    np.testing.assert_array_equal(ar.grad.data[0], 0.0)
    np.testing.assert_allclose(ar.grad.data[1], b.grad.data, rtol=1e-12)
