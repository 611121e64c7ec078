"""``F.affine_grid`` and ``F.grid_sample`` against PyTorch: values, the input's and the grid's gradients
(float64, and float32's dtype and rounding) for every mode, padding mode and ``align_corners``, 4-D and
5-D; grids that hit pixel centres and edges exactly (where PyTorch's rounding decides which pixels are
read); the warnings and the errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd.nn import functional as F
from torch_compare import compare, same_error

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = TF = None

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]


def _edge_grid(batch, sizes, extra=(-1.5, 1.5, 3.0, -3.0, 0.0)):
    """A grid over the pixel centres, edges and half-pixels of an input of ``sizes`` (H, W) — the
    points where the rounding of the pixel position decides which pixels are read — and a few beyond."""
    values = np.concatenate([np.linspace(-1, 1, 2 * sizes[-1] + 1), np.linspace(-1, 1, 2 * sizes[-2] + 1), extra])
    gx, gy = np.meshgrid(values, values)
    return np.repeat(np.stack([gx, gy], -1)[None], batch, axis=0)


def _identity_grid(size, align_corners):
    m = len(size) - 2
    theta = torch.eye(m, m + 1, dtype=torch.float64).repeat(size[0], 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warning for unit sizes with align_corners
        return TF.affine_grid(theta, size, align_corners=align_corners).numpy()


def _sample(mode, padding, align):
    return (lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding, align_corners=align),
            lambda x, g: TF.grid_sample(x, g, mode=mode, padding_mode=padding, align_corners=align))


# ---------------------------------------------------------------- grid_sample against PyTorch
@requires_torch
@pytest.mark.parametrize("mode, padding, align", list(itertools.product(MODES, PADDINGS, [False, True])))
def test_grid_sample_4d_matches_torch(mode, padding, align):
    rng = np.random.default_rng(0)
    ours, theirs = _sample(mode, padding, align)
    for shape in [(2, 3, 4, 5), (1, 2, 1, 3)]:
        x = rng.standard_normal(shape)
        for grid in (rng.uniform(-2.5, 2.5, (shape[0], 3, 4, 2)), _edge_grid(shape[0], shape[2:]),
                     _identity_grid(shape, align)):
            compare(ours, theirs, x, grid)


@requires_torch
@pytest.mark.parametrize("mode, padding, align", list(itertools.product(MODES[:2], PADDINGS, [False, True])))
def test_grid_sample_5d_matches_torch(mode, padding, align):
    rng = np.random.default_rng(1)
    ours, theirs = _sample(mode, padding, align)
    for shape in [(2, 2, 3, 4, 5), (1, 1, 1, 2, 3)]:
        x = rng.standard_normal(shape)
        compare(ours, theirs, x, rng.uniform(-2.5, 2.5, (shape[0], 2, 3, 2, 3)))
        compare(ours, theirs, x, _identity_grid(shape, align))


@requires_torch
@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_float32_rounds_like_torch(mode):
    """float32 input and grid: a float32 result, within float32's rounding of PyTorch's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 5, 6)).astype(np.float32)
    g = rng.uniform(-1.2, 1.2, (2, 4, 3, 2)).astype(np.float32)
    for padding, align in itertools.product(PADDINGS, [False, True]):
        rx, rgrid = rg.tensor(x, requires_grad=True), rg.tensor(g, requires_grad=True)
        tx, tgrid = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
        out = F.grid_sample(rx, rgrid, mode=mode, padding_mode=padding, align_corners=align)
        expected = TF.grid_sample(tx, tgrid, mode=mode, padding_mode=padding, align_corners=align)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-5)
        w = rng.standard_normal(out.shape).astype(np.float32)
        rg.sum(out * rg.tensor(w)).backward()
        (expected * torch.tensor(w)).sum().backward()
        assert rx.grad.dtype == rgrid.grad.dtype == np.float32
        np.testing.assert_allclose(rx.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(rgrid.grad.data, tgrid.grad.numpy(), rtol=1e-4, atol=1e-4)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_points_on_pixel_edges_read_the_pixels_torch_reads(dtype):
    """PyTorch's 2-D kernel computes (g + 1)·W/2 − ½ with one rounding (a fused multiply-add): on a
    pixel's edge that decides the nearest pixel and the side of the bilinear kink whose slope is the
    grid's gradient. Every such point (and its neighbours an ulp away) as PyTorch reads it."""
    for width in range(1, 24):
        x = np.arange(width, dtype=dtype)[None, None, None, :]
        k = np.arange(-1, width + 1)
        points = np.concatenate([(2 * k + 2) / width - 1, (2 * k + 1) / width - 1, np.linspace(-1, 1, 3 * width + 1),
                                 np.linspace(-1, 1, width) * (width - 1) / width]).astype(dtype)
        points = np.concatenate([points, np.nextafter(points, dtype(2)), np.nextafter(points, dtype(-2))])
        g = np.stack([points, np.zeros_like(points)], -1)[None, None]
        for padding in PADDINGS:
            near = F.grid_sample(rg.tensor(x), rg.tensor(g), mode="nearest", padding_mode=padding, align_corners=False)
            np.testing.assert_array_equal(near.data, TF.grid_sample(torch.tensor(x), torch.tensor(g), mode="nearest",
                                                                    padding_mode=padding, align_corners=False).numpy())
            rgrid, tgrid = rg.tensor(g, requires_grad=True), torch.tensor(g, requires_grad=True)
            rg.sum(F.grid_sample(rg.tensor(x), rgrid, padding_mode=padding, align_corners=False)).backward()
            TF.grid_sample(torch.tensor(x), tgrid, padding_mode=padding, align_corners=False).sum().backward()
            np.testing.assert_allclose(rgrid.grad.data, tgrid.grad.numpy(), rtol=1e-6, atol=1e-6)


@requires_torch
def test_nearest_gives_the_grid_a_zero_gradient():
    x = rg.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    grid = rg.tensor(np.random.default_rng(3).uniform(-1, 1, (1, 2, 2, 2)), requires_grad=True)
    rg.sum(F.grid_sample(x, grid, mode="nearest", align_corners=False)).backward()
    assert grid.grad is not None and not np.any(grid.grad.data)
    assert x.grad.data.sum() == 4


@requires_torch
@pytest.mark.parametrize("x_shape, g_shape", [((0, 2, 3, 4), (0, 2, 2, 2)), ((2, 0, 3, 4), (2, 2, 2, 2)),
                                              ((2, 3, 3, 4), (2, 0, 2, 2)), ((1, 2, 2, 3, 4), (1, 2, 0, 1, 3))])
def test_empty_batch_channels_or_grid_give_torchs_empty_shapes(x_shape, g_shape):
    x, g = np.zeros(x_shape), np.zeros(g_shape)
    compare(*_sample("bilinear", "zeros", False), x, g)


def test_grid_sample_is_differentiable_forward_and_reverse():
    """The forward-mode (jvp) and reverse-mode (vjp) derivatives agree: ⟨J·t, w⟩ = ⟨t, Jᵀ·w⟩, and
    the reverse one agrees with finite differences."""
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal((1, 2, 3, 4)), rng.uniform(-1.1, 1.1, (1, 2, 3, 2))
    tx, tg, w = rng.standard_normal(x.shape), rng.standard_normal(g.shape), rng.standard_normal((1, 2, 2, 3))
    for mode, padding in itertools.product(["bilinear", "bicubic"], ["zeros", "reflection"]):
        def fn(a, b):
            return F.grid_sample(a, b, mode=mode, padding_mode=padding, align_corners=True)

        _, tangent = rg.func.jvp(fn, (rg.tensor(x), rg.tensor(g)), (rg.tensor(tx), rg.tensor(tg)))
        _, pullback = rg.func.vjp(fn, rg.tensor(x), rg.tensor(g))
        gx, gg = pullback(rg.tensor(w))
        np.testing.assert_allclose(np.sum(tangent.data * w), np.sum(gx.data * tx) + np.sum(gg.data * tg), rtol=1e-10)
        assert rg.autograd.gradcheck(fn, [rg.tensor(x, requires_grad=True), rg.tensor(g, requires_grad=True)])


# ---------------------------------------------------------------- affine_grid against PyTorch
@requires_torch
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 3, 1), (2, 2, 3, 4, 5), (1, 1, 1, 2, 1)])
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_matches_torch(size, align):
    m = len(size) - 2
    theta = np.random.default_rng(5).standard_normal((size[0], m, m + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit sizes with align_corners: PyTorch's warning, tested below
        compare(lambda t: F.affine_grid(t, size, align_corners=align),
                lambda t: TF.affine_grid(t, size, align_corners=align), theta)
        out = F.affine_grid(rg.tensor(theta.astype(np.float32)), list(size), align_corners=align)
        expected = TF.affine_grid(torch.tensor(theta, dtype=torch.float32), size, align_corners=align)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6, atol=1e-6)


@requires_torch
def test_spatial_transformer_gradient_reaches_theta_as_in_torch():
    """affine_grid → grid_sample, the gradient of θ (a rotation and a shift) as PyTorch's."""
    rng = np.random.default_rng(6)
    a = 0.3
    theta = np.array([[[np.cos(a), -np.sin(a), 0.1], [np.sin(a), np.cos(a), -0.2]]] * 2)
    x = rng.standard_normal((2, 3, 6, 5))
    for mode, padding in itertools.product(MODES, PADDINGS):
        compare(lambda t, img: F.grid_sample(img, F.affine_grid(t, (2, 3, 4, 4), align_corners=False), mode=mode,
                                             padding_mode=padding, align_corners=False),
                lambda t, img: TF.grid_sample(img, TF.affine_grid(t, (2, 3, 4, 4), align_corners=False), mode=mode,
                                              padding_mode=padding, align_corners=False), theta, x)


# ---------------------------------------------------------------- warnings and errors
def test_align_corners_left_out_warns_as_torch_and_means_false():
    theta = rg.tensor(np.eye(2, 3)[None])
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        grid = F.affine_grid(theta, (1, 1, 2, 3))
    np.testing.assert_array_equal(grid.data, F.affine_grid(theta, (1, 1, 2, 3), align_corners=False).data)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(rg.tensor(np.ones((1, 1, 2, 3))), grid)
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(theta, (1, 1, 1, 3), align_corners=True)


_X = np.random.default_rng(7).standard_normal((2, 3, 4, 5))
_G = np.random.default_rng(8).uniform(-1, 1, (2, 3, 3, 2))
SAMPLER_ERRORS = {  # input, grid, keyword arguments
    "mode": (_X, _G, dict(mode="area")),
    "padding_mode": (_X, _G, dict(padding_mode="circular")),
    "dtypes": (_X, _G.astype(np.float32), {}),
    "int_input": (_X.astype(np.int32), _G.astype(np.int32), {}),
    "batch": (_X[:1], _G, {}),
    "grid_last_dim": (_X, _G[..., :1], {}),
    "empty_spatial": (_X[:, :, :0], _G, {}),
    "3d_input": (_X[0], _G[0], {}),
    "grid_dims": (_X[:, :, None], _G[:, None], {}),
    "bicubic_5d": (_X[:, :, None], np.zeros((2, 1, 3, 3, 3)), dict(mode="bicubic")),
    "align_corners_int": (_X, _G, dict(align_corners=1)),
}


@requires_torch
@pytest.mark.parametrize("case", list(SAMPLER_ERRORS))
def test_grid_sample_errors_match_torch(case):
    x, g, kwargs = SAMPLER_ERRORS[case]
    kwargs = {"align_corners": False, **kwargs}
    same_error(lambda: F.grid_sample(rg.tensor(x), rg.tensor(g), **kwargs),
               lambda: TF.grid_sample(torch.tensor(x), torch.tensor(g), **kwargs))


@requires_torch
@pytest.mark.parametrize("theta_shape, size, dtype", [
    ((2, 2, 3), (2, 3, 4, 5), "int32"), ((2, 3), (2, 3, 4, 5), "float64"), ((2, 2, 3), (2, 3, 4, 5, 6), "float64"),
    ((2, 2, 3), (2, 3, 4), "float64"), ((2, 2, 3), (2, 0, 4, 5), "float64"), ((2, 2, 3), (2, 3, 1, 0), "float64"),
    ((1, 2, 3), (2, 3, 4, 5), "float64")])
def test_affine_grid_errors_match_torch(theta_shape, size, dtype):
    theta = np.zeros(theta_shape, dtype=dtype)
    same_error(lambda: F.affine_grid(rg.tensor(theta), size, align_corners=False),
               lambda: TF.affine_grid(torch.tensor(theta), size, align_corners=False))
