"""``F.fractional_max_pool2d``/``3d`` and ``nn.FractionalMaxPool2d``/``3d`` against PyTorch with the same
``_random_samples``: values, indices and gradients (float64, float32's windows), batched and unbatched,
output sizes and ratios; ties and NaNs; the random windows when no samples are given; the layers; the
errors. And ``F.pdist`` (``torch.pdist``), against PyTorch for every kind of p."""

from __future__ import annotations

import math

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from retrograd.nn import functional as F
from torch_compare import compare, same_error

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = TF = None


def _pool(m):
    return (F.fractional_max_pool2d, TF.fractional_max_pool2d) if m == 2 else \
        (F.fractional_max_pool3d, TF.fractional_max_pool3d)


CASES = [  # m, input shape, kernel, output_size, output_ratio
    (2, (2, 3, 9, 8), 2, (4, 5), None),
    (2, (3, 7, 7), (3, 2), 3, None),
    (2, (2, 2, 9, 9), 2, 8, None),           # the largest output: windows one apart
    (2, (1, 2, 9, 9), 9, 1, None),           # one window, the whole image
    (2, (2, 2, 10, 7), 2, None, (0.5, 0.6)),
    (2, (2, 2, 10, 7), (1, 3), None, 0.5),
    (3, (2, 2, 6, 7, 5), 2, (3, 4, 2), None),
    (3, (2, 5, 6, 7), (2, 3, 1), 3, None),
    (3, (1, 2, 8, 6, 7), 2, None, (0.5, 0.5, 0.75)),
]


@requires_torch
@pytest.mark.parametrize("m, shape, kernel, size, ratio", CASES)
def test_fractional_max_pool_matches_torch(m, shape, kernel, size, ratio):
    """The same samples: PyTorch's windows, maxima and indices exactly, and its gradient."""
    rng = np.random.default_rng(sum(shape))
    ours, theirs = _pool(m)
    n = shape[0] if len(shape) == m + 2 else 1
    samples = rng.random((n, shape[-m - 1], m))
    if ratio is not None and not isinstance(ratio, tuple):  # PyTorch's functional takes only sequences
        ratio = (ratio,) * m
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal(shape).astype(dtype)
        s = samples.astype(dtype)
        compare(lambda t: ours(t, kernel, size, ratio, True, _random_samples=rg.tensor(s)),
                lambda t: theirs(t, kernel, size, ratio, True, _random_samples=torch.tensor(s)), x,
                rtol=1e-10 if dtype == np.float64 else 1e-6)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_windows_are_torchs_for_many_samples_and_sizes(dtype):
    """The window starts ⌊(i + u)·α⌋ − ⌊u·α⌋ computed in the input's dtype, as PyTorch's: the indices
    equal for many sizes, kernels and samples (0 and the largest u below 1 among them)."""
    rng = np.random.default_rng(9)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(3, 30, 2))
        k = int(rng.integers(1, 4))
        out = (int(rng.integers(0, h - k + 2)), int(rng.integers(0, w - k + 2)))
        x = rng.standard_normal((2, 2, h, w)).astype(dtype)
        s = rng.random((2, 2, 2)).astype(dtype)
        s[0, 0] = [0.0, np.nextafter(dtype(1), dtype(0))]
        _, ours = F.fractional_max_pool2d(rg.tensor(x), k, out, return_indices=True, _random_samples=rg.tensor(s))
        _, theirs = TF.fractional_max_pool2d(torch.tensor(x), k, out, return_indices=True,
                                             _random_samples=torch.tensor(s))
        np.testing.assert_array_equal(ours.data, theirs.numpy())


@requires_torch
def test_tied_maxima_follow_the_conventions_and_first_is_torchs():
    """A window of equal values: PyTorch gives its first entry the whole gradient (``first``);
    the default policy shares it."""
    x = np.ones((1, 1, 5, 5))
    s = np.full((1, 1, 2), 0.3)
    with rg.conventions.policy("first"):
        compare(lambda t: F.fractional_max_pool2d(t, 2, 3, _random_samples=rg.tensor(s)),
                lambda t: TF.fractional_max_pool2d(t, 2, 3, _random_samples=torch.tensor(s)), x)
    r = rg.tensor(x, requires_grad=True)
    out = F.fractional_max_pool2d(r, 2, 1, _random_samples=rg.tensor(s))   # one 2×2 window
    out.backward(rg.tensor(np.ones(out.shape)))
    assert r.grad.data.sum() == 1 and np.count_nonzero(r.grad.data) == 4   # ¼ to each tied entry


@requires_torch
def test_a_window_with_nans_picks_its_last_nan_as_torch():
    x = np.arange(36.0).reshape(1, 1, 6, 6)
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan
    s = np.full((1, 1, 2), 0.5)
    compare(lambda t: F.fractional_max_pool2d(t, 3, 2, return_indices=True, _random_samples=rg.tensor(s)),
            lambda t: TF.fractional_max_pool2d(t, 3, 2, return_indices=True, _random_samples=torch.tensor(s)), x)


def test_without_samples_the_windows_are_drawn_from_rg_random():
    """Fresh windows from ``rg.random`` (``rg.manual_seed`` repeats them); each output is the max of
    a k×k window of the input, at its index, the windows' starts increasing along each axis."""
    x = rg.tensor(np.random.default_rng(10).standard_normal((2, 3, 11, 10)))
    rg.manual_seed(3)
    out, idx = F.fractional_max_pool2d_with_indices(x, 2, output_ratio=(0.5, 0.5))
    rg.manual_seed(3)
    np.testing.assert_array_equal(F.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5)).data, out.data)
    assert out.shape == (2, 3, 5, 5) and idx.dtype == np.int64
    flat = x.data.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.data.reshape(2, 3, -1), 2).reshape(out.shape),
                                  out.data)
    rows, cols = idx.data // 10, idx.data % 10    # an output row's windows share their rows, a column's columns
    assert np.all(rows.max(axis=3) - rows.min(axis=3) < 2) and np.all(cols.max(axis=2) - cols.min(axis=2) < 2)


def test_forward_and_reverse_derivatives_agree():
    """⟨J·t, w⟩ = ⟨t, Jᵀ·w⟩ through the gathered windows and their max, and finite differences agree."""
    rng = np.random.default_rng(15)
    x, t = rng.standard_normal((2, 2, 5, 6, 4)), rng.standard_normal((2, 2, 5, 6, 4))
    s = rg.tensor(rng.random((2, 2, 3)))

    def fn(a):
        return F.fractional_max_pool3d(a, 2, (3, 2, 2), _random_samples=s)

    _, tangent = rg.func.jvp(fn, (rg.tensor(x),), (rg.tensor(t),))
    _, pullback = rg.func.vjp(fn, rg.tensor(x))
    w = rng.standard_normal(tangent.shape)
    np.testing.assert_allclose(np.sum(tangent.data * w), np.sum(pullback(rg.tensor(w))[0].data * t), rtol=1e-10)
    assert rg.autograd.gradcheck(fn, [rg.tensor(x, requires_grad=True)])


@requires_torch
@pytest.mark.parametrize("m", [2, 3])
def test_layers_match_torch_and_keep_samples_as_a_buffer(m):
    rng = np.random.default_rng(11)
    shape = (2, 3) + (7,) * m
    x = rng.standard_normal(shape)
    s = rng.random((2, 3, m))
    ours_cls, theirs_cls = (nn.FractionalMaxPool2d, torch.nn.FractionalMaxPool2d) if m == 2 else \
        (nn.FractionalMaxPool3d, torch.nn.FractionalMaxPool3d)
    ours = ours_cls(2, output_ratio=0.5, return_indices=True, _random_samples=rg.tensor(s))
    theirs = theirs_cls(2, output_ratio=0.5, return_indices=True, _random_samples=torch.tensor(s))
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    assert ours.kernel_size == theirs.kernel_size and ours.output_ratio == theirs.output_ratio
    compare(ours, theirs, x)
    plain = ours_cls((2,) * m, output_size=3)
    assert plain.state_dict() == {} and plain(rg.tensor(x)).shape == (2, 3) + (3,) * m


@requires_torch
@pytest.mark.parametrize("build", [
    lambda nn_: nn_.FractionalMaxPool2d(2), lambda nn_: nn_.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5),
    lambda nn_: nn_.FractionalMaxPool2d(2, output_ratio=1.5), lambda nn_: nn_.FractionalMaxPool3d(0, output_size=3),
    lambda nn_: nn_.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 0.0))])
def test_layer_arguments_are_refused_as_torch(build):
    same_error(lambda: build(nn), lambda: build(torch.nn))


_X = np.random.default_rng(12).standard_normal((2, 1, 9, 9))
_S = np.random.default_rng(13).random((2, 1, 2))
POOL_ERRORS = {  # input, positional arguments after the input, samples
    "no_size": (_X, (2,), _S),
    "ratio_too_long": (_X, (2, None, (0.5, 0.5, 0.5)), _S),
    "pool_too_large": (_X, (2, 9), _S),
    "pool_width": (_X, ((2, 3), (3, 8)), _S),
    "kernel_length": (_X, ((2, 3, 4), 3), _S),
    "size_length": (_X, (2, (3, 3, 3)), _S),
    "kernel_float": (_X, (2.0, 3), _S),
    "negative_size": (_X, (2, -1), _S),
    "dims": (_X[0, 0], (2, 3), _S),
    "dims_5d": (_X[:, :, None], (2, 3), _S),
    "empty": (_X[:, :, :0], (2, 3), _S),
    "samples_dtype": (_X, (2, 3), _S.astype(np.float32)),
    "samples_dims": (_X, (2, 3), _S[0]),
    "samples_batch": (_X, (2, 3), _S[:1]),
    "samples_channels": (_X, (2, 3), np.concatenate([_S, _S], 1)),
    "samples_last": (_X, (2, 3), np.concatenate([_S, _S], 2)),
}


@requires_torch
@pytest.mark.parametrize("case", list(POOL_ERRORS))
def test_fractional_max_pool_errors_match_torch(case):
    x, args, s = POOL_ERRORS[case]
    same_error(lambda: F.fractional_max_pool2d(rg.tensor(x), *args, _random_samples=rg.tensor(s)),
               lambda: TF.fractional_max_pool2d(torch.tensor(x), *args, _random_samples=torch.tensor(s)))


@requires_torch
@pytest.mark.parametrize("shape, args", [((1, 1, 9, 9), (2, 3)), ((1, 1, 1, 9, 9, 9), (2, 3)), ((1, 1, 9, 9, 9), (2, 8)),
                                          ((1, 1, 9, 9, 9), ((2, 2, 3), (3, 3, 8))), ((1, 1, 0, 9, 9), (2, 3))])
def test_fractional_max_pool3d_errors_match_torch(shape, args):
    x = np.zeros(shape)
    s = np.full((1, 1, 3), 0.5)
    same_error(lambda: F.fractional_max_pool3d(rg.tensor(x), *args, _random_samples=rg.tensor(s)),
               lambda: TF.fractional_max_pool3d(torch.tensor(x), *args, _random_samples=torch.tensor(s)))


def test_deliberate_refusals_and_extensions():
    """kernel_size 0 is refused (PyTorch's functional reads no entry and returns −∞); a single number
    as ``output_ratio`` is taken (PyTorch's documentation allows it; its functional fails on ``len``)."""
    x = rg.tensor(np.zeros((1, 1, 9, 9)))
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.fractional_max_pool2d(x, 0, 3)
    assert F.fractional_max_pool2d(x, 2, output_ratio=0.5).shape == (1, 1, 4, 4)
    with pytest.raises(NotImplementedError):
        F.fractional_max_pool2d(rg.tensor(np.zeros((1, 1, 9, 9), dtype=np.int64)), 2, 3)


# ---------------------------------------------------------------- pdist
@requires_torch
@pytest.mark.parametrize("p", [0, 0.5, 1, 1.5, 2, 3, math.inf])
def test_pdist_matches_torch(p):
    """Equal rows (distance 0) and zero differences included; the ∞-norm's tied differences each get
    the whole gradient in PyTorch: ``rg.conventions``' ``all``."""
    x = np.array([[0.0, 1.0, -3.0], [0.0, 4.0, 0.0], [1.0, 1.0, -3.0], [0.0, 1.0, -3.0], [0.5, -2.0, 2.0]])
    with rg.conventions.policy("all"):
        compare(lambda t: F.pdist(t, p), lambda t: TF.pdist(t, p), x)
    compare(lambda t: F.pdist(t, p), lambda t: TF.pdist(t, p), np.random.default_rng(14).standard_normal((4, 6)))


@requires_torch
@pytest.mark.parametrize("shape", [(1, 3), (0, 3), (3, 0)])
def test_pdist_of_fewer_than_two_rows_or_no_columns(shape):
    # (PyTorch's backward of a 0-row pdist crashes the process: values only there)
    compare(lambda t: F.pdist(t), lambda t: TF.pdist(t), np.zeros(shape), grad=shape[0] > 0)


@requires_torch
@pytest.mark.parametrize("x, p", [(np.zeros(3), 2), (np.zeros((3, 2), dtype=np.int64), 2), (np.zeros((3, 2)), -1),
                                  (np.zeros((3, 2, 2)), 2)])
def test_pdist_errors_match_torch(x, p):
    same_error(lambda: F.pdist(rg.tensor(x), p), lambda: TF.pdist(torch.tensor(x), p))


def test_pdist_float32_stays_float32():
    out = F.pdist(rg.tensor(np.ones((3, 2), dtype=np.float32)))
    assert out.dtype == np.float32 and out.shape == (3,)
