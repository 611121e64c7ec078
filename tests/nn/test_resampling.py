"""``interpolate`` / ``Upsample`` and ``fold`` / ``unfold`` against PyTorch: values and input
gradients in float64 over a grid of sizes, scale factors and modes (float32 values too, whose
source indices PyTorch computes in float32), the layers, and the errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from retrograd.autograd.op import OpError
from retrograd.nn import functional as F

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def _compare(ours, theirs, x, gradient=True, tol=1e-10):
    """Values (and the input's gradient) equal PyTorch's; the dtype is the input's."""
    r, t = rg.tensor(x, requires_grad=gradient), torch.tensor(x, requires_grad=gradient)
    out, expected = ours(r), theirs(t)
    assert out.shape == tuple(expected.shape) and out.dtype == x.dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    if gradient:
        g = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
        out.backward(rg.tensor(g))
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(r.grad.data, t.grad.numpy(), rtol=tol, atol=tol)


# ---------------------------------------------------------------- interpolate against PyTorch
MODES = [("nearest", 1), ("nearest-exact", 1), ("linear", 1), ("nearest", 2), ("nearest-exact", 2),
         ("bilinear", 2), ("bicubic", 2), ("area", 2), ("nearest", 3), ("trilinear", 3), ("area", 1)]
SCALES = [0.5, 0.7, 1.7, 2, 2.5, 3]  # none gives an output of the input's size or twice it but 2


def _aligned(mode):
    return [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]


@requires_torch
@pytest.mark.parametrize("mode, dim", MODES)
def test_interpolate_to_a_size_matches_torch(mode, dim):
    outs = range(1, 9) if dim == 1 else ([1, 2, 5, 7] if dim == 2 else [1, 3])
    for n, align in itertools.product([1, 3, 4] if dim < 3 else [2, 3], _aligned(mode)):
        x = _rand(*((2, 2) + (n,) * dim))
        for o in outs:
            size = o if dim != 2 else (o, 3)
            _compare(lambda t: F.interpolate(t, size=size, mode=mode, align_corners=align),
                     lambda t: torch.nn.functional.interpolate(t, size=size, mode=mode, align_corners=align), x)


@requires_torch
@pytest.mark.parametrize("mode, dim", MODES)
def test_interpolate_by_a_scale_factor_matches_torch(mode, dim):
    for n, scale, align, recompute in itertools.product([3, 5] if dim < 3 else [2, 3], SCALES, _aligned(mode),
                                                        [None, True]):
        x = _rand(*((1, 2) + (n,) * dim))
        kwargs = dict(scale_factor=scale, mode=mode, align_corners=align, recompute_scale_factor=recompute)
        if int(n * scale) >= 1:
            _compare(lambda t: F.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs), x)


@requires_torch
@pytest.mark.parametrize("mode, dim", [("nearest", 1), ("nearest-exact", 2), ("bilinear", 2), ("bicubic", 2),
                                       ("trilinear", 3)])
def test_float32_interpolation_rounds_like_torch(mode, dim):
    """PyTorch computes the source indices and weights in float32 for float32 input."""
    for n, scale in itertools.product([3, 7], [0.45, 1 / 3, 1.45, 2.6]):
        x = _rand(*((1, 1) + (n,) * dim)).astype(np.float32)
        kwargs = dict(scale_factor=scale, mode=mode)
        _compare(lambda t: F.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs), x,
                 tol=1e-5)


@requires_torch
def test_nearest_interpolation_of_uint8_images_like_torch():
    x = np.random.default_rng(0).integers(0, 256, (1, 2, 5, 4)).astype(np.uint8)
    for mode, scale in itertools.product(["nearest", "nearest-exact"], [0.7, 1.5, 3.3]):
        _compare(lambda t: F.interpolate(t, scale_factor=scale, mode=mode),
                 lambda t: torch.nn.functional.interpolate(t, scale_factor=scale, mode=mode), x, gradient=False)


@requires_torch
def test_kept_sizes_are_copied_like_torch():
    """PyTorch copies an axis whose size a scale factor keeps (linear modes, and 2-d nearest), though
    the factor is not 1; its 1-d nearest samples at the factor. Those values are PyTorch's; the
    gradient is the derivative of them (PyTorch's nearest backward assumes out/in = 1 there)."""
    x = np.array([[[1.0, 2.0]]])
    for mode, expected in (("linear", [1.0, 2.0]), ("nearest", [1.0, 1.0])):
        theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.3, mode=mode)
        np.testing.assert_array_equal(theirs.numpy()[0, 0], expected)
        _compare(lambda t: F.interpolate(t, scale_factor=1.3, mode=mode),
                 lambda t: torch.nn.functional.interpolate(t, scale_factor=1.3, mode=mode), x, gradient=mode != "nearest")
    x2 = _rand(1, 1, 2, 3)
    _compare(lambda t: F.interpolate(t, scale_factor=(1.3, 1.5)), lambda t: torch.nn.functional.interpolate(
        t, scale_factor=(1.3, 1.5)), x2)
    xr = rg.tensor(x, requires_grad=True)
    F.interpolate(xr, scale_factor=1.3).sum().backward()
    np.testing.assert_array_equal(xr.grad.data, [[[2.0, 0.0]]])  # both outputs read x[0]


def test_interpolation_gradients_pass_gradcheck():
    x = _rand(1, 1, 3, 4)
    for mode in ("bilinear", "bicubic", "nearest"):
        assert rg.gradcheck(lambda t: F.interpolate(t, size=(5, 3), mode=mode), [x]).ok


# ---------------------------------------------------------------- the layers and the deprecated forms
@requires_torch
@pytest.mark.parametrize("layer, kwargs", [
    ("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(3, 7), mode="bilinear")),
    ("Upsample", dict(scale_factor=(1.5, 0.5), mode="bicubic", align_corners=True)),
    ("UpsamplingNearest2d", dict(scale_factor=2)), ("UpsamplingBilinear2d", dict(size=(4, 5))),
])
def test_upsampling_layers_match_torch(layer, kwargs):
    ours, theirs = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    assert repr(ours) == repr(theirs)
    _compare(ours, theirs, _rand(2, 3, 4, 6))


@requires_torch
def test_deprecated_upsample_functions_warn_and_interpolate():
    x = _rand(1, 2, 3, 3)
    for name in ("upsample", "upsample_nearest", "upsample_bilinear"):
        with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
            out = getattr(F, name)(rg.tensor(x), scale_factor=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(torch.nn.functional, name)(torch.tensor(x), scale_factor=2)
        np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- unfold / fold
BLOCKS = [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2)),
          dict(kernel_size=3, stride=2, padding=1)]


@requires_torch
@pytest.mark.parametrize("kwargs", BLOCKS)
def test_unfold_and_fold_match_torch(kwargs):
    x = _rand(2, 3, 6, 5)
    cols = torch.nn.functional.unfold(torch.tensor(x), **kwargs).numpy()
    _compare(lambda t: F.unfold(t, **kwargs), lambda t: torch.nn.functional.unfold(t, **kwargs), x)
    _compare(lambda t: nn.Unfold(**kwargs)(t[0]), lambda t: torch.nn.Unfold(**kwargs)(t[0]), x)
    _compare(lambda t: F.fold(t, (6, 5), **kwargs), lambda t: torch.nn.functional.fold(t, (6, 5), **kwargs), cols)
    _compare(lambda t: nn.Fold((6, 5), **kwargs)(t[0]), lambda t: torch.nn.Fold((6, 5), **kwargs)(t[0]), cols)
    assert repr(nn.Fold((6, 5), **kwargs)) == repr(torch.nn.Fold((6, 5), **kwargs))


def test_fold_is_the_adjoint_of_unfold():
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩: fold sums the overlapping blocks back."""
    x, kwargs = _rand(1, 2, 5, 4), dict(kernel_size=(3, 2), padding=1, stride=(2, 1))
    cols = F.unfold(rg.tensor(x), **kwargs)
    c = _rand(*cols.shape)
    np.testing.assert_allclose((cols.data * c).sum(), (x * F.fold(rg.tensor(c), (5, 4), **kwargs).data).sum(),
                               rtol=1e-12)


# ---------------------------------------------------------------- errors, as PyTorch's
X = (2, 3, 4, 4)
BAD = [  # function, input shape, keyword arguments, our message (the exception type is PyTorch's)
    ("interpolate", X, dict(size=2, scale_factor=2), "only one of size or scale_factor"),
    ("interpolate", X, {}, "either size or scale_factor"),
    ("interpolate", X, dict(size=(2,)), "same number of spatial dimensions"),
    ("interpolate", X, dict(scale_factor=(2, 2, 2)), "same number of spatial dimensions"),
    ("interpolate", X, dict(size=(3.0, 2)), "expected size to be one of int"),
    ("interpolate", X, dict(scale_factor=2, align_corners=True), "align_corners option"),
    ("interpolate", X, dict(size=3, recompute_scale_factor=True), "recompute_scale_factor is not meaningful"),
    ("interpolate", X, dict(scale_factor=0.1), "sizes should be greater than 0"),
    ("interpolate", X, dict(scale_factor=2, mode="nearest", antialias=True), "Anti-alias"),
    ("interpolate", X, dict(scale_factor=2, mode="linear"), "needs 3D input"),
    ("interpolate", (2, 3, 4), dict(scale_factor=2, mode="bilinear"), "needs 4D input"),
    ("interpolate", X, dict(scale_factor=2, mode="foo"), "Only 3D, 4D and 5D"),
    ("interpolate", (4, 4), dict(scale_factor=2), "Only 3D, 4D and 5D"),
    ("interpolate", (2, 0, 4, 4), dict(scale_factor=2), "Non-empty 4D data tensor"),
    ("unfold", X, dict(kernel_size=5), "must be at least one"),
    ("unfold", X, dict(kernel_size=0), "kernel size should be greater than zero"),
    ("unfold", X, dict(kernel_size=2, stride=0), "stride should be greater than zero"),
    ("unfold", X, dict(kernel_size=2, padding=-1), "padding should be non-negative"),
    ("unfold", X, dict(kernel_size=(2, 3, 4)), "expected kernel_size equals to 2"),
    ("unfold", (2, 3, 4, 4, 4), dict(kernel_size=2), "Expected 3D or 4D"),
    ("fold", (2, 10, 9), dict(output_size=(4, 4), kernel_size=2), "divisible by the product of kernel_size"),
    ("fold", (2, 12, 8), dict(output_size=(4, 4), kernel_size=2), "calculated number of sliding blocks 3 \\* 3"),
    ("fold", (9,), dict(output_size=(4, 4), kernel_size=2), "Expected 2D or 3D"),
    ("fold", (2, 12, 9), dict(output_size=(4,), kernel_size=2), "expected output_size equals to 2"),
]


@requires_torch
@pytest.mark.parametrize("name, shape, kwargs, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_are_refused_like_torch(name, shape, kwargs, message):
    x = _rand(*shape)
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn.functional, name)(torch.tensor(x), **kwargs)
    with pytest.raises(type(theirs.value), match=message):
        getattr(F, name)(rg.tensor(x), **kwargs)


@requires_torch
def test_what_torch_does_not_implement_is_refused():
    x = np.arange(32, dtype=np.int64).reshape(1, 2, 4, 4)
    for fn in (lambda f, t: f.interpolate(t, scale_factor=2), lambda f, t: f.unfold(t, 2),
               lambda f, t: f.interpolate(t.astype(np.uint8) if isinstance(t, np.ndarray) else t, scale_factor=2,
                                          mode="area")):
        with pytest.raises(NotImplementedError):
            fn(torch.nn.functional, torch.tensor(x))
        with pytest.raises(NotImplementedError):
            fn(F, rg.tensor(x))
    with pytest.raises(OpError, match="antialias=True is not implemented"):
        F.interpolate(rg.tensor(_rand(*X)), scale_factor=2, mode="bilinear", antialias=True)
