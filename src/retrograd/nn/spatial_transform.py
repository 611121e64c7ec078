"""Spatial transformers with PyTorch's names: ``affine_grid`` (a sampling grid from a batch of affine
matrices) and ``grid_sample`` (the input read at the grid's points, bilinearly, at the nearest pixel or
bicubically).

Both are composed from existing ops, so their gradients (and jvps) are the compositions':

* ``affine_grid`` is one matrix product, grid = base · θᵀ, with ``base`` the constant (x, y[, z], 1)
  coordinates of the output's pixels in [−1, 1]; θ̄ = ḡridᵀ · base, as PyTorch's.
* ``grid_sample`` maps each grid coordinate g ∈ [−1, 1] to a position in pixels of its axis,

      x = (g + 1)/2 · (size − 1)            (align_corners=True: −1 and 1 are the corner pixels' centres)
      x = ((g + 1) · size − 1)/2            (False: they are the outer edges of the corner pixels)

  folds it back into the input (``padding_mode`` border: clipped to [0, size − 1]; reflection: mirrored
  at the edges, then clipped; zeros: left as it is), and reads the input at integer taps around it,

      y[n, c, p] = Σ_k w_k(x) · input[n, c, tap_k(x)]      (a tap outside the input reads 0)

  with one tap of weight 1 for ``nearest``, the 2 (or 2×2, 2×2×2) neighbours and their linear weights
  for ``bilinear``, and the 4×4 neighbours with cubic-convolution weights (A = −0.75) for ``bicubic``.
  The taps are constants of the coordinates (``floor``/``round`` have zero gradient), the weights are
  differentiable functions of them, so x̄ (the input's gradient) adds w_k·ȳ back at each tap and the
  grid's gradient is Σ_k (∂w_k/∂g)·input[tap_k]·ȳ, PyTorch's formulas. ``nearest``'s weights are
  constant: the grid's gradient is zero (PyTorch's too).

  The folding's derivative is PyTorch's: 1 strictly inside (0, size − 1) and 0 on and beyond the
  borders ("borders are out of bounds", PyTorch's note), ±1 through a reflection.

The reads are one gather of pixel rows: the input as an (N·H·W + 1, C) table whose last row is zero,
indexed by an (N, K, P) array of rows (K taps for each of the P output points).
"""

from __future__ import annotations

import functools
import math
import warnings

from .. import ops as _ops
from ..autograd.backend import xp
from ..autograd.op import OpError, off_tape
from ..autograd.tensor import Tensor, _wrap
from ..ops.linalg import matmul
from ..ops.shape import getitem, pad, reshape, stack, transpose
from .functional_losses import _t

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING_MODES = ("zeros", "border", "reflection")
_CUBIC_A = -0.75  # the cubic convolution constant (PyTorch's, as in its bicubic upsampling)


class GridSampleError(OpError, RuntimeError):
    """``grid_sample``/``affine_grid`` refused their input: an ``OpError`` (a ``ValueError``) that is
    also the ``RuntimeError`` PyTorch raises."""


class GridSampleNotImplemented(OpError, NotImplementedError):
    """A dtype or a number of dimensions these functions do not compute (PyTorch raises
    ``NotImplementedError`` too)."""


def _align_corners(align_corners, who):
    """PyTorch's default, False, with its warning when the argument is left out (None)."""
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", UserWarning, stacklevel=3)
        return False
    if not isinstance(align_corners, (bool, xp.bool_)):
        raise TypeError(f"{who}(): argument 'align_corners' must be bool, not {type(align_corners).__name__}")
    return bool(align_corners)


# ---------------------------------------------------------------- affine_grid
def _linspace_from_neg_one(n, align_corners, dtype):
    """PyTorch's ``linspace_from_neg_one``: n points from −1 to 1 (scaled by (n − 1)/n without
    ``align_corners``, so they are the pixels' centres), 0 for a single point."""
    if n <= 1:
        return xp.zeros(n, dtype=dtype)
    points = _ops.linspace(-1, 1, n, dtype=dtype).data
    return points if align_corners else points * (n - 1) / n


def _base_grid(spatial, align_corners, dtype):
    """(S, m + 1) constant: for each output pixel in row-major order its (x, y[, z], 1), x along the
    last axis."""
    m = len(spatial)
    axes = [_linspace_from_neg_one(n, align_corners, dtype) for n in spatial]
    columns = [xp.broadcast_to(axes[a].reshape([-1 if b == a else 1 for b in range(m)]), spatial).reshape(-1)
               for a in reversed(range(m))]
    count = math.prod(spatial)
    return xp.stack(columns + [xp.ones(count, dtype=dtype)], axis=1)


def affine_grid(theta, size, align_corners=None):
    """PyTorch's ``F.affine_grid``: the sampling grid of a batch of affine maps, (N, H, W, 2) for
    θ (N, 2, 3) and ``size`` (N, C, H, W), (N, D, H, W, 3) for θ (N, 3, 4) and (N, C, D, H, W).

    grid[n, i, j] = θ[n] · (x_j, y_i, 1), with x, y the output pixels' positions in [−1, 1]: the
    corner pixels' centres at ±1 with ``align_corners``, else the pixels' centres of a [−1, 1] image
    (x_j = (2j + 1)/W − 1). Left out, ``align_corners`` is False with PyTorch's warning. The gradient
    of θ is the matrix product's, θ̄[n] = Σ ḡrid[n, i, j] (x_j, y_i, 1)ᵀ."""
    align_corners = _align_corners(align_corners, "affine_grid")
    theta = _t(theta)
    if theta.dtype.kind != "f":
        raise OpError(f"affine_grid: Expected theta to have floating point type, but got {theta.dtype}")
    try:
        size = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"affine_grid: size must be a sequence of ints (N, C, H, W) or (N, C, D, H, W), got "
                        f"{size!r}") from None
    m = len(size) - 2
    if m not in (2, 3):
        raise GridSampleNotImplemented(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                       f"transforms, respectively. Got size {size}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (m, m + 1):
        raise OpError(f"affine_grid: Expected a batch of {m}D affine matrices of shape Nx{m}x{m + 1} for size "
                      f"{size}. Got {tuple(theta.shape)}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", UserWarning, stacklevel=2)
    elif min(size) <= 0:
        raise OpError(f"affine_grid: Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:  # PyTorch's batched product refuses it
        raise GridSampleError(f"affine_grid: theta holds {theta.shape[0]} matrices but size asks for a batch of "
                              f"{size[0]} (Expected size for first two dimensions of batch2 tensor to be: "
                              f"[{size[0]}, {m + 1}] but got: [{theta.shape[0]}, {m + 1}])")
    base = _wrap(_base_grid(spatial, align_corners, theta.dtype))      # (S, m + 1)
    grid = matmul(base, transpose(theta, (0, 2, 1)))                   # (N, S, m)
    return reshape(grid, (size[0],) + spatial + (m,))


# ---------------------------------------------------------------- grid coordinates → pixel positions
def _lib(x):
    """The ops for ``x``: retrograd's for a tensor (on the tape), NumPy's for an array (constant taps)."""
    return _ops if isinstance(x, Tensor) else xp


def _unnormalize(coord, size, align_corners, generic):
    """The grid coordinate in pixels of an axis of ``size``, in the input's dtype, rounded as PyTorch
    rounds it: its generic 3-D kernel computes ((g + 1)·size − 1)/2, its vectorised 2-D CPU kernel
    (g + 1)·(size/2) − ½ as one fused multiply-add. The rounding decides which pixels a point on a
    pixel's edge reads (``affine_grid``'s points are such points), so it is PyTorch's exactly."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1) if generic else (coord + 1) * ((size - 1) / 2)
    if generic:
        return ((coord + 1) * size - 1) / 2
    shifted = coord + 1
    return shifted * (size / 2) - 0.5 + _fused_rounding(shifted, size=size)


@off_tape
def _fused_rounding(a, size):
    """fma(a, size/2, −½) − (a·(size/2) − ½): what rounding once instead of twice changes (0 or an
    ulp), a constant of ``a``'s values. float32 (and half) compute the product exactly in float64;
    float64 adds the product's exact error (Dekker's two-product) and the sum's (two-sum)."""
    v, b = a.data, size / 2
    with xp.errstate(invalid="ignore", over="ignore"):  # non-finite coordinates: no correction
        plain = v * b - 0.5
        if v.dtype != xp.float64:
            fused = (v.astype(xp.float64) * b - 0.5).astype(v.dtype)
        else:
            split = v * 134217729.0                      # 2^27 + 1: v = high + low, each of 26 bits
            high = split - (split - v)
            low = v - high
            product = v * b
            error = ((high * b - product) + low * b)     # v·b − product, exactly (b has few bits)
            total = product - 0.5
            back = total - product
            sum_error = (product - (total - back)) + (-0.5 - back)
            fused = total + (sum_error + error)
        delta = fused - plain
    return _wrap(xp.where(xp.isfinite(delta), delta, 0).astype(v.dtype))


def _clip(x, size):
    """PyTorch's ``clip_coordinates``: x clipped to [0, size − 1], NaN to 0; derivative 1 strictly
    inside and 0 on the borders (PyTorch: "borders are considered out of bounds")."""
    hi = xp.asarray(size - 1, dtype=x.dtype)
    inside = (x > 0) & (x < hi)
    return _lib(x).where(inside, x, _lib(x).where(x > 0, hi, xp.zeros_like(hi)))


def _reflect(x, twice_low, twice_high, generic):
    """PyTorch's ``reflect_coordinates``: x mirrored at low and high (given doubled, so half-pixel
    bounds are ints) until it lies between them; derivative ±1, by the number of mirrorings. Its
    generic kernel counts the mirrorings as ⌊d/span⌋ and takes fmod(d, span); its vectorised 2-D
    kernel counts pairs of them, trunc(d/2span), then mirrors once more past the middle — the same
    but where d/span rounds to a whole number, so each dimension uses its kernel's."""
    if twice_low == twice_high:  # a single pixel with align_corners: every coordinate is 0
        return x * 0
    lib = _lib(x)
    low, twice_span = twice_low / 2, twice_high - twice_low
    distance = lib.abs(x - low)
    if generic:
        span = twice_span / 2
        extra = lib.fmod(distance, span)
        even = lib.fmod(lib.floor(distance / span), 2) == 0
        return lib.where(even, extra + low, span - extra + low)
    extra = distance - lib.trunc(distance / twice_span) * twice_span
    mirrored = twice_span - extra
    return lib.where(extra > mirrored, mirrored, extra) + low


def _fold(x, size, padding_mode, align_corners, generic):
    """The pixel position x brought into the input as ``padding_mode`` says (``zeros``: unchanged)."""
    if padding_mode == "border":
        return _clip(x, size)
    if padding_mode == "reflection":
        bounds = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        return _clip(_reflect(x, *bounds, generic), size)
    return x


def _cubic_coefficients(t):
    """The four cubic-convolution weights of the taps at −1, 0, 1, 2 from ⌊x⌋, t = x − ⌊x⌋ ∈ [0, 1)
    (Keys' kernel with A = −0.75, PyTorch's ``get_cubic_coefficients``)."""
    a = _CUBIC_A

    def near(s):  # |s| ≤ 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s):  # 1 < |s| < 2
        return ((s * a - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


# ---------------------------------------------------------------- the taps of each axis
def _axis_taps(coord, size, mode, padding_mode, align_corners, generic):
    """(start, offsets, weights) of one axis: the taps read start + offset (start a zero-gradient
    tensor of whole numbers, (N, P)), with weights (N, len(offsets), P) or None (nearest)."""
    if mode == "bicubic":  # the taps are folded one by one (in ``_source_rows``), not the coordinate
        x = _unnormalize(coord, size, align_corners, generic)
        start = _ops.floor(x)
        return start, (-1, 0, 1, 2), stack(_cubic_coefficients(x - start), axis=1)
    x = _fold(_unnormalize(coord, size, align_corners, generic), size, padding_mode, align_corners, generic)
    if mode == "nearest":
        return _ops.round(x), (0,), None                # half to even, as PyTorch's nearbyint
    start = _ops.floor(x)
    east = x - start                                   # the weight of the upper neighbour
    west = (start + 1) - x if generic else 1 - east    # (each kernel's own expression)
    return start, (0, 1), stack([west, east], axis=1)


@off_tape
def _source_rows(*starts, sizes, offsets, fold_taps):
    """(N, K, P) int64: for each output point and each of its K taps (the product of the axes' taps,
    the first axis outermost) the row of the (N·S + 1, C) pixel table it reads — row n·S + its flat
    position, or the last row (a zero) for a tap outside the input. ``fold_taps`` folds the tap
    positions first (``bicubic`` with border or reflection padding). Computed off the tape from the
    starts' values (a replay computes it again)."""
    n, p = starts[0].shape
    m = len(starts)
    rows, inside = 0, True
    for a, (start, size, offs) in enumerate(zip(starts, sizes, offsets)):
        taps = start.data[:, None, :] + xp.asarray(offs, dtype=start.dtype)[None, :, None]
        if fold_taps is not None:
            taps = xp.trunc(fold_taps(taps, size))
        taps = taps.reshape((n,) + (1,) * a + (len(offs),) + (1,) * (m - 1 - a) + (p,))
        ok = (taps >= 0) & (taps < size)               # False for NaN too
        rows = rows * size + xp.where(ok, taps, 0).astype(xp.int64)
        inside = inside & ok
    count = math.prod(sizes)
    rows = rows + (xp.arange(n, dtype=xp.int64) * count).reshape((n,) + (1,) * (m + 1))
    taps_per_point = math.prod(len(offs) for offs in offsets)
    return _wrap(xp.where(inside, rows, n * count).reshape(n, taps_per_point, p))


def _combined_weights(weights, n, p):
    """(N, K, P): the products of the axes' weights over every combination of taps, the first axis
    outermost (w = w_x · w_y [· w_z], multiplied in PyTorch's order)."""
    m = len(weights)
    total = None
    for a in reversed(range(m)):
        w = weights[a]
        w = reshape(w, (n,) + (1,) * a + (w.shape[1],) + (1,) * (m - 1 - a) + (p,))
        total = w if total is None else total * w
    return reshape(total, (n, math.prod(w.shape[1] for w in weights), p))


# ---------------------------------------------------------------- grid_sample
def _check_sampler(x, g, mode):
    """PyTorch's checks of ``grid_sampler``, in its order."""
    if x.dtype.kind != "f":
        raise GridSampleNotImplemented(f"grid_sample: not implemented for input of dtype {x.dtype} (PyTorch "
                                       f"neither); convert it with .float() or .double()")
    if g.dtype != x.dtype:
        raise GridSampleError(f"grid_sample: expected input and grid to have the same dtype, got input {x.dtype} "
                              f"and grid {g.dtype} (PyTorch: expected scalar type ...); convert one of them")
    xs, gs = list(x.shape), list(g.shape)
    if x.ndim < 1 or g.ndim < 1 or xs[0] != gs[0]:
        raise GridSampleError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                              f"sizes {xs} and grid with sizes {gs}")
    if gs[-1] != x.ndim - 2:
        raise GridSampleError(f"grid_sampler(): expected grid to have size {x.ndim - 2} in last dimension, but got "
                              f"grid with sizes {gs}")
    for d in range(2, x.ndim):
        if xs[d] == 0:
            raise GridSampleError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input "
                                  f"has sizes {xs} with dimension {d} being empty")
    if x.ndim not in (4, 5) or g.ndim != x.ndim:
        raise GridSampleError(f"grid_sampler(): expected {x.ndim if x.ndim in (4, 5) else 4}D input and grid with "
                              f"same number of dimensions, but got input with sizes {xs} and grid with sizes {gs}")
    if mode == "bicubic" and x.ndim == 5:
        raise GridSampleError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros", align_corners=None):  # noqa: A002
    """PyTorch's ``F.grid_sample``: ``input`` (N, C, H, W) read at the points of ``grid`` (N, Ho, Wo, 2),
    giving (N, C, Ho, Wo); or (N, C, D, H, W) at (N, Do, Ho, Wo, 3), giving (N, C, Do, Ho, Wo).

    grid[n, i, j] = (x, y) in [−1, 1] names a point of input[n]: x along the width (−1 the left edge,
    1 the right), y along the height. ``align_corners``: ±1 are the corner pixels' centres (True) or
    their outer edges (False, the default, with PyTorch's warning when left out).

    ``mode``: ``bilinear`` (trilinear for 5-D input), ``nearest`` (ties to even) or ``bicubic`` (4-D
    only; cubic convolution, A = −0.75). ``padding_mode``, for points outside the input: ``zeros``
    (the pixels outside read 0), ``border`` (the point is clipped into the input), ``reflection``
    (mirrored at the edges until inside). Floating-point input and grid of the same dtype.

    Gradients for both: the input's adds each output's ȳ, weighted, back at the pixels it read; the
    grid's is the derivative of the weights (zero for ``nearest``; 0 where a border or reflection
    clipped the point, PyTorch's convention)."""
    if mode not in _MODES:
        raise OpError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                      f"got: '{mode}'")
    if padding_mode not in _PADDING_MODES:
        raise OpError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                      f"'reflection', but got: '{padding_mode}'")
    align_corners = _align_corners(align_corners, "grid_sample")
    x, g = _t(input), _t(grid)
    _check_sampler(x, g, mode)
    m = x.ndim - 2
    n, c = x.shape[0], x.shape[1]
    sizes, outs = tuple(x.shape[2:]), tuple(g.shape[1:-1])
    p = math.prod(outs)
    generic = m == 3  # PyTorch's 3-D kernel is its generic one; its 2-D CPU kernel is vectorised
    # axis a (D, H, W order) reads the grid's coordinate m − 1 − a (the grid lists x first)
    coords = [reshape(getitem(g, (Ellipsis, m - 1 - a)), (n, p)) for a in range(m)]
    taps = [_axis_taps(coord, size, mode, padding_mode, align_corners, generic) for coord, size in zip(coords, sizes)]
    starts, offsets, weights = zip(*taps)
    fold_taps = None
    if mode == "bicubic" and padding_mode != "zeros":  # bicubic folds each tap, not the coordinate
        fold_taps = functools.partial(_fold, padding_mode=padding_mode, align_corners=align_corners,
                                      generic=False)
    rows = _source_rows(*starts, sizes=sizes, offsets=offsets, fold_taps=fold_taps)
    if mode == "nearest":
        # weight 1 (the value read as it is), on the tape with a zero gradient for the grid, as PyTorch's
        never = xp.zeros((n, 1, p), dtype=bool)
        weight = _ops.where(never, reshape(coords[-1], (n, 1, p)), xp.ones((), dtype=x.dtype))
    else:
        weight = _combined_weights(weights, n, p)                          # (N, K, P)
    table = reshape(transpose(x, (0,) + tuple(range(2, m + 2)) + (1,)), (n * math.prod(sizes), c))
    table = pad(table, ((0, 1), (0, 0)))                                 # + a zero row for the taps outside
    values = getitem(table, rows.data)                                   # (N, K, P, C)
    out = _ops.sum(values * reshape(weight, tuple(weight.shape) + (1,)), axis=1)   # (N, P, C)
    return reshape(transpose(out, (0, 2, 1)), (n, c) + outs)
