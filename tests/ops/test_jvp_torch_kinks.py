"""Forward mode against PyTorch's forward AD (``torch.func.jvp``) where finite differences cannot
decide: at kinks, ties, −∞ and NaN, PyTorch's forward-AD formulas (derivatives.yaml ``result:``)
define the tangent, and where they differ from its own backward, retrograd's jvp follows them
(README, "Non-smooth conventions"). Kinks that ``rg.conventions`` governs are deliberate differences
(README, "Differences from PyTorch") and are not checked here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retrograd as rg

inf, nan = np.inf, np.nan


def both(f, *arrays, dtype=np.float64, seed=0):
    """(torch's (value, tangent), retrograd's) for ``f(lib, *xs)`` at ``arrays`` along random tangents."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    tangents = [rng.standard_normal(a.shape).astype(dtype) for a in arrays]
    ty, tt = torch.func.jvp(lambda *xs: f(torch, *xs), tuple(torch.tensor(a) for a in arrays),
                            tuple(torch.tensor(t) for t in tangents))
    ry, rt = rg.func.jvp(lambda *xs: f(rg, *xs), tuple(rg.tensor(a) for a in arrays),
                         tuple(rg.tensor(t) for t in tangents))
    return (ty.numpy(), tt.numpy()), (ry.numpy(), rt.numpy())


def assert_same(f, *arrays, dtype=np.float64):
    (ty, tt), (ry, rt) = both(f, *arrays, dtype=dtype)
    np.testing.assert_allclose(ry, ty, rtol=1e-6, equal_nan=True)
    assert rt.dtype == tt.dtype
    np.testing.assert_allclose(rt, tt, rtol=1e-6, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_tangent_is_zero_where_the_running_window_is_all_minus_inf(dim, dtype):
    # torch's logcumsumexp_jvp masks the empty windows to 0 (its backward, and the vjp, give NaN);
    # a slice of −∞ only is NaN in both of torch's modes
    x = [[-inf, -inf, 0., 1.], [1., -inf, 0., -inf], [-inf, -inf, -inf, -inf]]
    assert_same(lambda m, a: m.logcumsumexp(a, dim), x, dtype=dtype)


@pytest.mark.parametrize("op", ["maximum", "minimum", "fmax", "fmin"])
def test_extremum_tangent_at_nan_is_torch_forward_ads(op):
    # torch's maximum/minimum forward AD gives ẏ where either side is NaN (its backward gives both sides
    # the gradient, as the vjp does); fmax/fmin take the side a NaN loses to, in both modes
    x = [[nan, 1.5, 2.0, nan]]
    y = [[nan], [1.0], [0.0], [3.0]]
    assert_same(lambda m, a, b: getattr(m, op)(a, b), x, y)
    assert_same(lambda m, a, b: getattr(m, op)(a, b), x, y, dtype=np.float32)
    # one side a constant: its tangent is 0, so ż = 0 at NaN
    assert_same(lambda m, a: getattr(m, op)(a, m.tensor([0.5, nan, 0.5, 9.0], dtype=a.dtype)), x)
