"""Numerically stable forms: no overflow, no NaN, full precision in the tails."""

import warnings

import numpy as np
import pytest

import retrograd as rg

BIG = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])


@pytest.fixture(autouse=True)
def _errors_on_float_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
            yield


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_large_arguments(dtype):
    x = rg.tensor(BIG.astype(dtype), requires_grad=True)
    y = rg.sigmoid(x)
    y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))
    assert y.data[-1] == 1.0 and y.data[3] == 0.5
    # relative precision in the lower tail: sigmoid(-50) = e^-50 (to 1e-22)
    np.testing.assert_allclose(y.data[1], np.exp(-50.0), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_softplus_large_arguments():
    x = rg.tensor(BIG, requires_grad=True)
    y = rg.softplus(x)
    y.sum().backward()
    np.testing.assert_allclose(y.data[-1], 1000.0)
    np.testing.assert_allclose(y.data[0], 0.0, atol=1e-300)
    np.testing.assert_allclose(x.grad.data[[0, -1]], [0.0, 1.0])


def test_logsumexp_and_log_softmax_do_not_overflow():
    x = rg.tensor(np.array([[1000.0, 1000.0, -1000.0], [-1e4, -1e4, -1e4]]), requires_grad=True)
    lse = rg.logsumexp(x, axis=1)
    np.testing.assert_allclose(lse.data, [1000.0 + np.log(2.0), -1e4 + np.log(3.0)])
    ls = rg.log_softmax(x, axis=1)
    np.testing.assert_allclose(ls.data[0, :2], [-np.log(2.0)] * 2)
    (lse.sum() + ls[:, 0].sum()).backward()
    assert np.all(np.isfinite(x.grad.data))


def test_softmax_rows_sum_to_one_for_large_logits():
    s = rg.softmax(rg.tensor(np.array([[1e4, 0.0, -1e4]])), axis=1)
    np.testing.assert_allclose(s.data.sum(), 1.0)
    np.testing.assert_allclose(s.data[0], [1.0, 0.0, 0.0])


def test_iteration_over_a_tensor():
    x = rg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and rows[2].tolist() == [4.0, 5.0]
    sum(r.sum() for r in rows).backward()
    assert x.grad.data.tolist() == [[1, 1], [1, 1], [1, 1]]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_recurrent_layers_saturate_without_overflow_warnings(kind):
    layer = getattr(rg.nn, kind)(3, 4).double()
    for p in layer.parameters():
        p.data *= 1000.0  # pre-activations in the thousands: exp overflows inside the sigmoid
    x = rg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)
    out, _ = layer(x)
    out.sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))
    assert np.all(np.abs(out.data) <= 1.0)


def test_numpy_only_fallbacks_for_sigmoid_and_erf(monkeypatch):
    """Without SciPy, sigmoid and erf fall back to NumPy compositions with the same values."""
    from retrograd.autograd import backend

    x = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 800.0])
    fast_sig, fast_erf = backend.sigmoid(x), backend.erf(x)
    monkeypatch.setattr(backend, "_special", None)
    np.testing.assert_allclose(backend.sigmoid(x), fast_sig, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(backend.erf(x), fast_erf, rtol=1e-14)
    buf = x.copy()
    backend.sigmoid(buf, out=buf)
    np.testing.assert_allclose(buf, fast_sig, rtol=1e-14, atol=1e-300)
    assert rg.gradcheck(rg.sigmoid, [np.array([-3.0, 0.5, 4.0])]).ok
    assert rg.gradcheck(rg.erf, [np.array([-1.5, 0.2, 2.0])]).ok
