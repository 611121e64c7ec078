"""``rg.linalg``'s LU family (``lu_factor``, ``lu_factor_ex``, ``lu``, ``lu_solve``, ``rg.lu_unpack``), the
``*_ex`` forms (``cholesky_ex``, ``inv_ex``, ``solve_ex``), LDLᵀ (``ldl_factor``, ``ldl_factor_ex``,
``ldl_solve``) and ``householder_product`` (``rg.orgqr``) against torch 2.13:

- values, dtypes and shapes of every output (int32 pivots and info too), and the gradients of a
  random-weighted sum of the floating outputs, in float64, on square, wide, tall and batched inputs;
- forward mode and second derivatives of the LU factorisation against torch.func.jvp and torch's
  double backward (its op also has rows in tests/op_specs.py: gradchecks to second order, the jvp table);
- the matrices a factorisation cannot use: info codes, LAPACK's values (inf, NaN, partial factors),
  ``check_errors``; float32; the derivatives PyTorch does not have (LDLᵀ); and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import symmetric_positive_definite, torch, well_conditioned
from torch_compare import compare, same_error

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]
L = rg.linalg
R = np.random.default_rng(7)
F32, I64, I32 = np.float32, np.int64, np.int32


def _r(*shape):
    return R.standard_normal(shape)


def _factored(a):
    """torch's lu_factor of ``a``: (LU, pivots) as arrays."""
    lu, piv = torch.linalg.lu_factor(torch.tensor(a))
    return lu.numpy(), piv.numpy()


def _sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


SINGULAR = np.array([[1., 2, 3], [2, 4, 6], [1, 1, 1]])
NOT_PD = np.array([[4., 2, 0], [2, 1, 0], [0, 0, 1]])
A3, A4 = well_conditioned(_r(3, 3)), well_conditioned(_r(2, 4, 4))
LU3, PIV3 = _factored(A3)
LU4, PIV4 = _factored(A4)
SYM = _sym(_r(4, 4))
SYM_2X2 = np.array([[1., 2, 3, 4], [2, -1, 0, 1], [3, 0, 2, 5], [4, 1, 5, 0]])  # Bunch–Kaufman takes a 2 × 2 pivot

# (name, retrograd function, torch function, arrays, compare gradients)
CASES = [
    ("lu_factor", lambda m, x: m.linalg.lu_factor(x), [_r(3, 3)], True),
    ("lu_factor_batch", lambda m, x: m.linalg.lu_factor(x), [_r(2, 3, 4, 4)], True),
    ("lu_factor_wide", lambda m, x: m.linalg.lu_factor(x), [_r(2, 3, 5)], True),
    ("lu_factor_tall", lambda m, x: m.linalg.lu_factor(x), [_r(2, 5, 3)], True),
    ("lu_factor_ex", lambda m, x: m.linalg.lu_factor_ex(x), [_r(2, 4, 4)], True),
    ("lu", lambda m, x: m.linalg.lu(x), [_r(2, 4, 4)], True),
    ("lu_wide", lambda m, x: m.linalg.lu(x), [_r(3, 5)], True),
    ("lu_tall", lambda m, x: m.linalg.lu(x), [_r(2, 5, 2)], True),
    ("lu_empty_batch", lambda m, x: m.linalg.lu(x), [_r(0, 3, 3)], True),
    ("lu_singular", lambda m, x: m.linalg.lu(x), [SINGULAR], False),
    ("lu_unpack", lambda m, lu, p: m.lu_unpack(lu, p), [LU4, PIV4], True),
    ("lu_unpack_wide", lambda m, lu, p: m.lu_unpack(lu, p), list(_factored(_r(2, 3, 5))), True),
    ("lu_unpack_tall", lambda m, lu, p: m.lu_unpack(lu, p), list(_factored(_r(5, 3))), True),
    ("lu_unpack_no_data", lambda m, lu, p: m.lu_unpack(lu, p, unpack_data=False), [LU3, PIV3], False),  # torch's
    # backward fails there (triu of its empty L)
    ("lu_unpack_no_pivots", lambda m, lu, p: m.lu_unpack(lu, p, unpack_pivots=False), [LU3, PIV3], True),
    ("lu_solve", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b), [LU3, PIV3, _r(3, 2)], True),
    ("lu_solve_adjoint", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b, adjoint=True), [LU3, PIV3, _r(3, 2)], True),
    ("lu_solve_right", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b, left=False), [LU4, PIV4, _r(2, 4)], True),
    ("lu_solve_right_adjoint", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b, left=False, adjoint=True),
     [LU4, PIV4, _r(3, 4)], True),
    ("lu_solve_broadcast_b", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b), [LU3, PIV3, _r(2, 3, 3, 2)], True),
    ("lu_solve_broadcast_lu", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b), [LU4, PIV4, _r(4, 1)], True),
    ("lu_solve_singular", lambda m, lu, p, b: m.linalg.lu_solve(lu, p, b),
     [*(x.numpy() for x in torch.linalg.lu_factor_ex(torch.tensor(SINGULAR))[:2]), _r(3, 2)], False),
    ("cholesky_ex", lambda m, x: m.linalg.cholesky_ex(x), [symmetric_positive_definite(_r(2, 3, 3))], True),
    ("cholesky_ex_upper", lambda m, x: m.linalg.cholesky_ex(x, upper=True), [symmetric_positive_definite(_r(3, 3))],
     True),
    ("cholesky_ex_not_pd", lambda m, x: m.linalg.cholesky_ex(x), [np.stack([np.eye(3), NOT_PD, -np.eye(3)])], False),
    ("cholesky_ex_not_pd_upper", lambda m, x: m.linalg.cholesky_ex(x, upper=True), [NOT_PD], False),
    ("cholesky_ex_nan", lambda m, x: m.linalg.cholesky_ex(x), [np.array([[np.nan, 0], [0, 1.]])], False),
    ("inv_ex", lambda m, x: m.linalg.inv_ex(x), [A4], True),
    ("inv_ex_singular", lambda m, x: m.linalg.inv_ex(x), [np.stack([A3, SINGULAR, np.zeros((3, 3))])], False),
    ("solve_ex", lambda m, a, b: m.linalg.solve_ex(a, b), [A4, _r(3, 2, 4, 2)[:, :1]], True),
    ("solve_ex_vector", lambda m, a, b: m.linalg.solve_ex(a, b), [A3, _r(3)], True),
    ("solve_ex_right", lambda m, a, b: m.linalg.solve_ex(a, b, left=False), [A4, _r(2, 3, 4)], True),
    ("solve_ex_singular", lambda m, a, b: m.linalg.solve_ex(a, b), [np.stack([A3, SINGULAR]), _r(3, 2)], False),
    ("solve_ex_singular_vector", lambda m, a, b: m.linalg.solve_ex(a, b), [np.stack([SINGULAR, A3]), _r(2, 3)],
     False),
    ("ldl_factor", lambda m, x: m.linalg.ldl_factor(x), [np.stack([SYM, SYM_2X2])], False),
    ("ldl_factor_ex", lambda m, x: m.linalg.ldl_factor_ex(x, hermitian=True), [SYM_2X2], False),
    ("ldl_factor_ex_singular", lambda m, x: m.linalg.ldl_factor_ex(x), [np.zeros((3, 3))], False),
    ("ldl_solve", lambda m, x, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(x), b), [SYM_2X2, _r(2, 4, 3)], False),
    ("householder_product", lambda m, a, t: m.linalg.householder_product(a, t), [_r(5, 3), _r(2)], True),
    ("householder_product_full", lambda m, a, t: m.linalg.householder_product(a, t), [_r(2, 4, 4), _r(2, 4)], True),
    ("householder_product_no_reflector", lambda m, a, t: m.linalg.householder_product(a, t), [_r(3, 2), _r(0)],
     True),
    ("orgqr", lambda m, a, t: m.orgqr(a, t), [_r(4, 3), _r(3)], True),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(case):
    _, f, arrays, grad = case
    compare(lambda *xs: f(rg, *xs), lambda *xs: f(torch, *xs), *arrays, grad=grad)


def test_householder_product_of_geqrf_is_qr_q():
    a = _r(5, 3)
    q, tau = torch.geqrf(torch.tensor(a))
    np.testing.assert_allclose(L.householder_product(q.numpy(), tau.numpy()).data, np.linalg.qr(a)[0], atol=1e-12)


def test_forward_mode_matches_torch():
    for shape in [(2, 3, 3), (3, 5), (5, 3)]:
        a, v = _r(*shape), _r(*shape)
        out_r, tan_r = rg.func.jvp(lambda x: L.lu(x)[1:], (rg.tensor(a),), (rg.tensor(v),))
        out_t, tan_t = torch.func.jvp(lambda x: torch.linalg.lu(x)[1:], (torch.tensor(a),), (torch.tensor(v),))
        for r, t in zip(tan_r, tan_t):
            np.testing.assert_allclose(r.data, t.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 3), (3, 5), (5, 3)])
def test_second_derivatives_match_torch(shape):
    a, w = _r(*shape), _r(*shape)
    ar, at = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (gr,) = rg.grad(rg.sum(L.lu_factor(ar).LU ** 2 * rg.tensor(w)), [ar], create_graph=True)
    (gt,) = torch.autograd.grad((torch.linalg.lu_factor(at).LU ** 2 * torch.tensor(w)).sum(), at, create_graph=True)
    np.testing.assert_allclose(gr.data, gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    rg.sum(gr * gr).backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(ar.grad.data, at.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_float32_in_float32_out():
    a, b = well_conditioned(_r(3, 3)).astype(np.float32), _r(3, 2).astype(np.float32)
    lu, piv = L.lu_factor(a)
    assert (lu.dtype, piv.dtype) == (np.float32, np.int32)
    np.testing.assert_allclose(lu.data, torch.linalg.lu_factor(torch.tensor(a)).LU.numpy(), rtol=1e-5, atol=1e-6)
    assert L.lu_solve(lu, piv, b).dtype == np.float32
    assert [t.dtype for t in L.inv_ex(a)] == [np.float32, np.int32]
    assert L.cholesky_ex(symmetric_positive_definite(a).astype(F32)).L.dtype == np.float32
    assert L.householder_product(a, a[0, :2]).dtype == np.float32
    assert L.ldl_factor(a + a.T).LD.dtype == np.float32


def test_named_tuples_have_pytorch_fields():
    a = A3
    pairs = [(L.lu_factor(a), torch.linalg.lu_factor(torch.tensor(a))),
             (L.lu_factor_ex(a), torch.linalg.lu_factor_ex(torch.tensor(a))),
             (L.lu(a), torch.linalg.lu(torch.tensor(a))),
             (rg.lu_unpack(LU3, PIV3), torch.lu_unpack(torch.tensor(LU3), torch.tensor(PIV3))),
             (L.cholesky_ex(np.eye(2)), torch.linalg.cholesky_ex(torch.eye(2))),
             (L.inv_ex(a), torch.linalg.inv_ex(torch.tensor(a))),
             (L.solve_ex(a, a), torch.linalg.solve_ex(torch.tensor(a), torch.tensor(a))),
             (L.ldl_factor(SYM), torch.linalg.ldl_factor(torch.tensor(SYM))),
             (L.ldl_factor_ex(SYM), torch.linalg.ldl_factor_ex(torch.tensor(SYM)))]
    for ours, theirs in pairs:
        for field in ours._fields:
            np.testing.assert_allclose(getattr(ours, field).data, getattr(theirs, field).numpy(), atol=1e-12)


def test_check_errors_raise_linalg_error_with_pytorch_message():
    batch = np.stack([np.eye(3), SINGULAR])
    cases = [(lambda m, x: m.linalg.lu_factor(x), SINGULAR, r"U\[3,3\] is zero"),
             (lambda m, x: m.linalg.lu_factor_ex(x, check_errors=True), batch, r"\(Batch element 1\): U\[3,3\]"),
             (lambda m, x: m.linalg.inv_ex(x, check_errors=True), batch,
              r"\(Batch element 1\): The diagonal element 3"),
             (lambda m, x: m.linalg.solve_ex(x, x, check_errors=True), SINGULAR, "input matrix is singular"),
             (lambda m, x: m.linalg.cholesky_ex(x, check_errors=True), NOT_PD, "minor of order 2 is not positive")]
    for f, a, match in cases:  # rg.linalg.LinAlgError, as torch.linalg.LinAlgError, is a RuntimeError
        with pytest.raises(RuntimeError, match=match):  # lu_factor's: a plain RuntimeError
            f(torch, torch.tensor(a))
        with pytest.raises(rg.linalg.LinAlgError, match=match):
            f(rg, rg.tensor(a))
        assert issubclass(rg.linalg.LinAlgError, RuntimeError)
    with pytest.raises(rg.linalg.LinAlgError, match=r"D\[1,1\] is exactly zero"):  # PyTorch: an internal assert
        L.ldl_factor(np.zeros((3, 3)))


def test_ldl_has_no_derivative_as_in_pytorch():
    for name, f in [("linalg_ldl_factor_ex", lambda m, x: m.linalg.ldl_factor(x).LD),
                    ("linalg_ldl_solve", lambda m, x: m.linalg.ldl_solve(*m.linalg.ldl_factor(x.detach()), x))]:
        x_r, x_t = rg.tensor(SYM, requires_grad=True), torch.tensor(SYM, requires_grad=True)
        y_r, y_t = f(rg, x_r), f(torch, x_t)
        assert y_r.requires_grad and y_t.requires_grad
        same_error(lambda: y_r.sum().backward(), lambda: y_t.sum().backward(), f"derivative for aten::{name} is not")


def test_backward_through_lu_of_a_singular_matrix_raises():
    """PyTorch's gives inf and NaN (U⁻¹ of a singular U); retrograd's solve refuses it."""
    a = rg.tensor(SINGULAR, requires_grad=True)
    with pytest.raises(rg.linalg.LinAlgError):
        L.lu(a).U.sum().backward()


def test_on_a_device_backend_equal_numpy():
    """The LAPACK calls run on the host; everything else stays on the backend (the CuPy stand-in)."""
    from array_shim import shim_backend
    b_array = _r(4, 2)

    def run():
        a, b = rg.tensor(A4, requires_grad=True), rg.tensor(b_array, requires_grad=True)
        lu, piv = L.lu_factor(a)
        loss = (L.lu_solve(lu, piv, b) ** 2).sum() + L.lu(a[..., :3]).L.sum() + L.inv_ex(a).inverse.sum()
        loss = loss + L.householder_product(a, a[..., 0, :2]).sum() + L.cholesky_ex(a @ a.mT).L.sum()
        loss.backward()
        singular = rg.tensor(SINGULAR)
        values = [L.solve_ex(singular, b[:3]).result, L.cholesky_ex(-singular).L, L.ldl_factor(singular).LD]
        return [rg.to_numpy(t.data) for t in (loss, a.grad, b.grad, piv, *values)]

    expected = run()
    with shim_backend():
        got = run()
    for x, y in zip(got, expected):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def _t(a, dtype=None):
    return torch.tensor(np.asarray(a), dtype=dtype)


ERRORS = [
    ("lu_factor_1d", lambda m, x: m.linalg.lu_factor(x), [_r(3)], "2 or more dimensions"),
    ("lu_1d", lambda m, x: m.linalg.lu(x), [_r(3)], "2 or more dimensions"),
    ("lu_factor_int", lambda m, x: m.linalg.lu_factor(x), [np.ones((3, 3), I64)], "not implemented for 'Long'"),
    ("lu_factor_half", lambda m, x: m.linalg.lu_factor(x), [np.ones((3, 3), np.float16)], "for 'Half'"),
    ("lu_factor_no_pivot", lambda m, x: m.linalg.lu_factor(x, pivot=False), [_r(3, 3)], "without pivoting"),
    ("lu_no_pivot", lambda m, x: m.linalg.lu(x, pivot=False), [_r(3, 3)], "without pivoting"),
    ("lu_unpack_1d", lambda m, x, p: m.lu_unpack(x, p), [_r(3), PIV3], "2 or more dimensions"),
    ("lu_unpack_int64_pivots", lambda m, x, p: m.lu_unpack(x, p), [LU3, PIV3.astype(I64)], "torch.int32"),
    ("lu_unpack_pivot_range", lambda m, x, p: m.lu_unpack(x, p), [LU3, np.array([4, 2, 3], I32)], "between 1 and"),
    ("lu_unpack_pivot_zero", lambda m, x, p: m.lu_unpack(x, p), [LU3, np.array([0, 2, 3], I32)], "between 1 and"),
    ("lu_solve_int", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [np.eye(3, dtype=I64), PIV3, np.ones((3, 1), I64)],
     "floating point"),
    ("lu_solve_half", lambda m, x, p, b: m.linalg.lu_solve(x, p, b),
     [np.eye(3, dtype=np.float16), PIV3, np.ones((3, 1), np.float16)], "for 'Half'"),
    ("lu_solve_dtypes", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, PIV3, _r(3, 2).astype(F32)], "same dtype"),
    ("lu_solve_int64_pivots", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, PIV3.astype(I64), _r(3, 2)],
     "int32"),
    ("lu_solve_1d_lu", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [_r(3), PIV3, _r(3, 2)], "at least 2 dim"),
    ("lu_solve_not_square", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [_r(3, 4), PIV3, _r(3, 2)], "square"),
    ("lu_solve_vector_b", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, PIV3, _r(3)], "B must have at least"),
    ("lu_solve_shapes", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, PIV3, _r(2, 2)], "AX = B"),
    ("lu_solve_shapes_right", lambda m, x, p, b: m.linalg.lu_solve(x, p, b, left=False), [LU3, PIV3, _r(3, 2)],
     "XA = B"),
    ("lu_solve_pivot_count", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, PIV3[:2], _r(3, 2)], "Number of"),
    ("lu_solve_pivot_batch", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU4, PIV4[0], _r(4, 2)],
     r"LU.shape\[:-1\]"),
    ("lu_solve_batches", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU4, PIV4, _r(3, 4, 2)], None),
    ("lu_solve_pivot_low", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, np.array([0, 2, 3], I32), _r(3, 1)],
     "greater or equal to 1"),
    ("lu_solve_pivot_high", lambda m, x, p, b: m.linalg.lu_solve(x, p, b), [LU3, np.array([4, 2, 3], I32), _r(3, 1)],
     "smaller or equal"),
    ("cholesky_ex_int", lambda m, x: m.linalg.cholesky_ex(x), [np.eye(3, dtype=I64)], "floating point"),
    ("cholesky_ex_half", lambda m, x: m.linalg.cholesky_ex(x), [np.eye(3, dtype=np.float16)], "for 'Half'"),
    ("cholesky_ex_not_square", lambda m, x: m.linalg.cholesky_ex(x), [_r(2, 3)], "square"),
    ("inv_ex_int", lambda m, x: m.linalg.inv_ex(x), [np.eye(3, dtype=I64)], "floating point"),
    ("inv_ex_1d", lambda m, x: m.linalg.inv_ex(x), [_r(3)], "at least 2 dim"),
    ("solve_ex_shapes", lambda m, a, b: m.linalg.solve_ex(a, b), [A3, _r(2, 2)], "AX = B"),
    ("solve_ex_dtypes", lambda m, a, b: m.linalg.solve_ex(a, b), [A3, _r(3, 2).astype(F32)], "same dtype"),
    ("solve_ex_int", lambda m, a, b: m.linalg.solve_ex(a, b), [np.ones(3, I64), np.ones((3, 1), I64)], "floating"),
    ("inv_ex_int_not_square", lambda m, x: m.linalg.inv_ex(x), [np.ones((2, 3), I64)], "square"),
    ("solve_ex_half", lambda m, a, b: m.linalg.solve_ex(a, b), [np.eye(2, dtype=np.float16)] * 2, "for 'Half'"),
    ("ldl_factor_1d", lambda m, x: m.linalg.ldl_factor(x), [_r(3)], "at least 2 dim"),
    ("ldl_factor_not_square", lambda m, x: m.linalg.ldl_factor(x), [_r(2, 3)], "square"),
    ("ldl_factor_int", lambda m, x: m.linalg.ldl_factor(x), [np.eye(3, dtype=I64)], "floating point"),
    ("ldl_factor_half", lambda m, x: m.linalg.ldl_factor(x), [np.eye(3, dtype=np.float16)], "for 'Half'"),
    ("ldl_solve_vector", lambda m, x, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(x), b), [SYM, _r(4)], None),
    ("ldl_solve_shapes", lambda m, x, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(x), b), [SYM, _r(3, 2)],
     "Incompatible matrix sizes"),
    ("ldl_solve_dtypes", lambda m, x, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(x), b), [SYM, _r(4, 2).astype(F32)],
     "same dtype"),
    ("ldl_solve_float_pivots", lambda m, x, p, b: m.linalg.ldl_solve(x, p, b), [SYM, np.ones(4), _r(4, 2)],
     "integers"),
    ("ldl_solve_pivot_shape", lambda m, x, p, b: m.linalg.ldl_solve(x, p, b), [SYM, np.ones(3, I32), _r(4, 2)],
     r"LD.shape\[:-1\]"),
    ("ldl_solve_pivot_range", lambda m, x, p, b: m.linalg.ldl_solve(x, p, b), [SYM, np.full(4, 5, I32), _r(4, 2)],
     "Pivots given to ldl_solve"),
    ("householder_1d", lambda m, a, t: m.linalg.householder_product(a, t), [_r(3), _r(2)], "at least 2 dim"),
    ("householder_wide", lambda m, a, t: m.linalg.householder_product(a, t), [_r(2, 3), _r(2)], r"shape\[-2\]"),
    ("householder_tau_long", lambda m, a, t: m.linalg.householder_product(a, t), [_r(4, 2), _r(3)],
     r"tau.shape\[-1\]"),
    ("householder_tau_ndim", lambda m, a, t: m.linalg.householder_product(a, t), [_r(2, 4, 3), _r(2)],
     "one dimension less"),
    ("householder_tau_batch", lambda m, a, t: m.linalg.householder_product(a, t), [_r(2, 4, 3), _r(3, 2)],
     "batch dimensions of tau"),
    ("householder_dtypes", lambda m, a, t: m.linalg.householder_product(a, t), [_r(4, 3), _r(2).astype(F32)],
     "does not match"),
    ("householder_int", lambda m, a, t: m.linalg.householder_product(a, t), [np.ones((3, 2), I64), np.ones(2, I64)],
     "orgqr_cpu"),
    ("householder_tau_0d", lambda m, a, t: m.linalg.householder_product(a, t), [_r(3, 2), np.array(1.)], None),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, f, arrays, match = case
    same_error(lambda: f(rg, *[rg.tensor(a) for a in arrays]), lambda: f(torch, *[_t(a) for a in arrays]), match)
