"""Convolution and pooling, built from two linear primitives.

``Im2Col`` copies every k×k window of a (padded) image into its own slot,
(N, C, H, W) → (N, C, kh, kw, Ho, Wo); ``Col2Im`` adds the slots back into an
image. They are each other's adjoint, so each one's vjp is the other, and
everything built on them differentiates to any order:

* ``conv2d``  = pad → im2col → one batched GEMM per group with the weights (BLAS) → + bias
* ``conv1d``  = ``conv2d`` on a height-1 image
* ``conv_transpose2d`` = the adjoint of ``conv2d`` in its input: GEMM with Wᵀ → col2im → crop
* ``max_pool2d`` = pad with the dtype's lowest value → im2col → ``max`` over the window axis,
  whose ties follow ``rg.conventions`` (what max-pool's gradient is when two entries tie); a NaN wins its window
* ``avg_pool2d`` = pad with 0 → im2col → ``mean`` over the window axis

Layouts, argument orders and the errors for bad arguments follow PyTorch's
``torch.nn.functional``: inputs (N, C, H, W) or unbatched (C, H, W); conv
weights (out_channels, in_channels / groups, kh, kw); transposed-conv weights
(in_channels, out_channels / groups, kh, kw).
"""

from __future__ import annotations

from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from . import device_checks, extrema, reductions
from .elementwise import cast
from .linalg import matmul
from .shape import getitem, pad, reshape, transpose


def _ntuple(v, n, name):
    """``v`` as a tuple of ``n`` ints (an int is repeated), else an OpError naming ``name``."""
    if isinstance(v, bool):
        raise OpError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
    if isinstance(v, int) or (hasattr(v, "__index__") and not hasattr(v, "__len__")):
        return (int(v),) * n
    try:
        out = tuple(int(i) for i in v)
    except (TypeError, ValueError):
        raise OpError(f"{name} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(out) != n:
        raise OpError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
    return out


def _pair(v, name):
    return _ntuple(v, 2, name)


def out_size(size, kernel, stride, dilation):
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def _count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def im2col_array(x, kernel, stride, dilation):
    """Windows of x (N, C, H, W) as a contiguous (N, C, kh, kw, Ho, Wo) copy."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, sh, dh), out_size(w, kw, sw, dw)
    if ho <= 0 or wo <= 0:
        raise OpError(f"im2col: kernel {kernel} with dilation {dilation} does not fit an input of "
                      f"spatial size {(h, w)}")
    s = x.strides
    # a view whose windows overlap, copied at once (so never written through); no
    # ``writeable=False``: CuPy's as_strided takes only (x, shape, strides)
    view = xp.lib.stride_tricks.as_strided(
        x, (n, c, kh, kw, ho, wo), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw))
    return xp.ascontiguousarray(view)


def col2im_array(cols, image_shape, kernel, stride, dilation):
    """Add the window slots (N, C, kh, kw, Ho, Wo) back into an image: the adjoint of im2col."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = cols.shape[4], cols.shape[5]
    out = xp.zeros(image_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw] += cols[:, :, i, j]
    return out


class Im2Col(UnaryOp):
    """cols = windows(x);  x̄ = col2im(cols̄),  cȯls = windows(ẋ)  (a linear map: its vjp is its adjoint)"""
    name = "im2col"
    __slots__ = ("kernel", "stride", "dilation")
    save_inputs = ()

    def __init__(self, kernel, stride, dilation): self.kernel, self.stride, self.dilation = kernel, stride, dilation
    def extra_repr(self): return f"kernel={self.kernel}, stride={self.stride}, dilation={self.dilation}"
    def forward(self, x): return im2col_array(x, self.kernel, self.stride, self.dilation)

    def vjp(self, ns, g, cols, x):
        return (ns.col2im(g, x.shape, self.kernel, self.stride, self.dilation),)

    def jvp(self, ns, ts, cols, x):
        # linear: the tangent's windows, with its leading axes folded into the batch axis
        t = ts[0]
        batch = tuple(t.shape[:t.ndim - 3])  # lead + (N,)
        c = ns.im2col(ns.reshape(t, (_count(batch),) + tuple(t.shape[-3:])), self.kernel, self.stride,
                      self.dilation)
        return ns.reshape(c, batch + tuple(c.shape[1:]))


class Col2Im(UnaryOp):
    """x = Σ windows back into an image;  cols̄ = im2col(x̄),  ẋ = Σ windows of cȯls"""
    name = "col2im"
    __slots__ = ("shape", "kernel", "stride", "dilation")
    save_inputs = ()

    def __init__(self, shape, kernel, stride, dilation):
        self.shape, self.kernel, self.stride, self.dilation = tuple(shape), kernel, stride, dilation

    def extra_repr(self): return f"shape={self.shape}, kernel={self.kernel}"
    def forward(self, cols): return col2im_array(cols, self.shape, self.kernel, self.stride, self.dilation)
    def vjp(self, ns, g, x, cols): return (ns.im2col(g, self.kernel, self.stride, self.dilation),)

    def jvp(self, ns, ts, x, cols):
        # linear: the tangent's windows added back, with its leading axes folded into the batch axis
        t = ts[0]
        lead, n = tuple(t.shape[:t.ndim - 6]), _count(t.shape[:t.ndim - 5])
        image = ns.col2im(ns.reshape(t, (n,) + tuple(t.shape[-5:])), (n,) + self.shape[1:], self.kernel,
                          self.stride, self.dilation)
        return ns.reshape(image, lead + self.shape)


namespaces.extend("im2col", im2col_array,
                  lambda x, kernel, stride, dilation: Im2Col(kernel, stride, dilation)(x))
namespaces.extend("col2im", col2im_array,
                  lambda cols, shape, kernel, stride, dilation: Col2Im(shape, kernel, stride, dilation)(cols))


# ---------------------------------------------------------------- argument checks (PyTorch's rules)
def _describe(t):
    return f"{tuple(t.shape)} ({t.dtype})"


def _positive(values, what, op):
    if any(v <= 0 for v in values):
        raise OpError(f"{op}: {what} must be positive, got {values}")
    return values


def _nonnegative(values, what, op):
    if any(v < 0 for v in values):
        raise OpError(f"{op}: negative {what} is not supported, got {values}")
    return values


def _groups(groups, op):
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise OpError(f"{op}: groups must be a positive integer, got {groups!r}")
    return groups


def _padding(padding, kernel, stride, dilation, op):
    """((top, bottom), (left, right)) for an int, a pair, ``"valid"`` or ``"same"``.

    ``"same"`` (stride 1 only, like PyTorch) pads d·(k − 1) in total per axis,
    half on each side and the odd one at the end (bottom/right), as PyTorch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise OpError(f"{op}: invalid padding string {padding!r} (use 'valid', 'same' or ints)")
        if any(s != 1 for s in stride):
            raise OpError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = _nonnegative(_pair(padding, f"{op}: padding"), "padding", op)
    return ((ph, ph), (pw, pw))


def _float_operands(op, x, weight, bias):
    for t in (x, weight) + ((bias,) if bias is not None else ()):
        if t.dtype.kind != "f":
            raise OpError(f"{op}: expected floating-point input, weight and bias, got a tensor of "
                          f"{_describe(t)}; convert it with .float() or .double()")
    dtypes = {x.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1:
        raise OpError(f"{op}: input {_describe(x)}, weight {_describe(weight)}"
                      + (f" and bias {_describe(bias)}" if bias is not None else "")
                      + " must have the same dtype; convert one of them")


def _batched(x, spatial, op):
    """(x as a batch, whether to drop the batch axis again): (C, *S) inputs are unbatched."""
    if len(x.shape) == spatial + 1:
        return reshape(x, (1,) + tuple(x.shape)), True
    if len(x.shape) != spatial + 2:
        dims = "(N, C, L) or (C, L)" if spatial == 1 else "(N, C, H, W) or (C, H, W)"
        raise OpError(f"{op}: expected input of shape {dims}, got {_describe(x)}")
    return x, False


def _nonempty(x, weight, op):
    """PyTorch's rules for empty tensors: a zero batch (and, for conv2d, zero channels) gives an
    empty output, but an empty image or kernel axis is refused."""
    if 0 in tuple(x.shape[2:]):
        raise OpError(f"{op}: only zero batch or zero channel inputs are supported, got input {_describe(x)}")
    if weight is not None and 0 in tuple(weight.shape[2:]):
        raise OpError(f"{op}: kernel size should be greater than zero, got weight {_describe(weight)}")
    if weight is not None and weight.shape[0] == 0:
        raise OpError(f"{op}: expected weight to be at least 1 at dimension 0, got weight {_describe(weight)}")


def _check_bias(bias, channels, weight, op):
    if bias is not None and tuple(bias.shape) != (channels,):
        raise OpError(f"{op}: given weight of shape {tuple(weight.shape)}, expected bias of shape ({channels},), "
                      f"got {_describe(bias)}")


# ---------------------------------------------------------------- convolution
def _conv(x, weight, bias, stride, padding, dilation, groups, op):
    """The batched 2-D convolution behind conv2d and conv1d (arguments already pairs)."""
    groups = _groups(groups, op)
    _float_operands(op, x, weight, bias)
    if len(weight.shape) != 4:
        raise OpError(f"{op}: expected a weight of 4 dims (out_channels, in_channels/groups, kh, kw), "
                      f"got {_describe(weight)}")
    _nonempty(x, weight, op)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if o % groups:
        raise OpError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at dim 0, "
                      f"got weight of shape {tuple(weight.shape)}")
    if cg * groups != c:
        raise OpError(f"{op}: given groups={groups} and weight of shape {tuple(weight.shape)}, expected input "
                      f"of shape {tuple(x.shape)} to have {cg * groups} channels, got {c}")
    _check_bias(bias, o, weight, op)
    kernel = (kh, kw)
    (top, bottom), (left, right) = _padding(padding, kernel, stride, dilation, op)
    hp, wp = h + top + bottom, w + left + right
    if out_size(hp, kh, stride[0], dilation[0]) <= 0 or out_size(wp, kw, stride[1], dilation[1]) <= 0:
        raise OpError(f"{op}: kernel {kernel} with dilation {dilation} is larger than the padded input "
                      f"({hp}, {wp}) of input shape {tuple(x.shape)}")
    if top or bottom or left or right:
        x = pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    cols = Im2Col(kernel, stride, dilation)(x)                    # (N, C, kh, kw, Ho, Wo)
    ho, wo = cols.shape[4], cols.shape[5]
    k = cg * kh * kw
    if groups == 1:
        out = matmul(reshape(weight, (o, k)), reshape(cols, (n, k, ho * wo)))      # (O, CKK) @ (N, CKK, HoWo)
    else:  # one GEMM per group: (G, O/G, CKK/G) @ (N, G, CKK/G, HoWo)
        out = matmul(reshape(weight, (groups, o // groups, k)), reshape(cols, (n, groups, k, ho * wo)))
    out = reshape(out, (n, o, ho, wo))
    if bias is not None:
        out = out + reshape(bias, (1, -1, 1, 1))
    return out


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, PyTorch's layout: x (N, C, H, W) or (C, H, W), weight (O, C/groups, kh, kw).

        out[n, o, i, j] = b[o] + Σ_{c ∈ group(o), p, q} w[o, c, p, q] · x[n, c, s·i + d·p, s·j + d·q]

    ``padding`` is an int, a pair, ``"valid"`` or ``"same"`` (stride 1);
    ``groups`` splits the channels into independent convolutions.
    """
    x, unbatched = _batched(x, 2, "conv2d")
    stride = _positive(_pair(stride, "conv2d: stride"), "stride", "conv2d")
    dilation = _positive(_pair(dilation, "conv2d: dilation"), "dilation", "conv2d")
    out = _conv(x, weight, bias, stride, padding, dilation, groups, "conv2d")
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, PyTorch's layout: x (N, C, L) or (C, L), weight (O, C/groups, k);
    computed as ``conv2d`` on a height-1 image."""
    x, unbatched = _batched(x, 1, "conv1d")
    if len(weight.shape) != 3:
        raise OpError(f"conv1d: expected a weight of 3 dims (out_channels, in_channels/groups, k), "
                      f"got {_describe(weight)}")
    (s,) = _positive(_ntuple(stride, 1, "conv1d: stride"), "stride", "conv1d")
    (d,) = _positive(_ntuple(dilation, 1, "conv1d: dilation"), "dilation", "conv1d")
    if not isinstance(padding, str):
        (p,) = _nonnegative(_ntuple(padding, 1, "conv1d: padding"), "padding", "conv1d")
        padding = (0, p)
    n, c, length = x.shape
    o, cg, k = weight.shape
    out = _conv(reshape(x, (n, c, 1, length)), reshape(weight, (o, cg, 1, k)), bias, (1, s), padding, (1, d),
                groups, "conv1d")
    out = reshape(out, (n, o, out.shape[3]))
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution (the adjoint of ``conv2d`` in its input), PyTorch's layout and
    argument order: x (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out/groups, kh, kw).

    Output size per axis: (H − 1)·s − 2p + d·(k − 1) + output_padding + 1. Each input pixel
    scatters w[c, :, :, :]·x[n, c, i, j] into the output at (s·i, s·j); ``padding`` crops the
    result, ``output_padding`` (< stride or < dilation) adds rows/columns at the bottom/right.
    """
    op = "conv_transpose2d"
    x, unbatched = _batched(x, 2, op)
    groups = _groups(groups, op)
    stride = _positive(_pair(stride, f"{op}: stride"), "stride", op)
    dilation = _positive(_pair(dilation, f"{op}: dilation"), "dilation", op)
    if isinstance(padding, str):
        raise OpError(f"{op}: padding must be an int or a pair of ints, got {padding!r}")
    ph, pw = _nonnegative(_pair(padding, f"{op}: padding"), "padding", op)
    oph, opw = _nonnegative(_pair(output_padding, f"{op}: output_padding"), "output_padding", op)
    for o_p, s, d in ((oph, stride[0], dilation[0]), (opw, stride[1], dilation[1])):
        if o_p >= s and o_p >= d:
            raise OpError(f"{op}: output padding must be smaller than either stride or dilation, got "
                          f"output_padding {(oph, opw)}, stride {stride}, dilation {dilation}")
    if bias is not None and bias.dtype != x.dtype and x.dtype == weight.dtype and x.dtype.kind == "f" \
            and bias.dtype.kind in "biuf":
        bias = cast(bias, x.dtype)  # PyTorch adds a bias of another real dtype in the output's (conv2d refuses)
    _float_operands(op, x, weight, bias)
    if len(weight.shape) != 4:
        raise OpError(f"{op}: expected a weight of 4 dims (in_channels, out_channels/groups, kh, kw), "
                      f"got {_describe(weight)}")
    _nonempty(x, weight, op)
    n, c, h, w = x.shape
    cin, og, kh, kw = weight.shape
    if cin != c:
        raise OpError(f"{op}: weight of shape {tuple(weight.shape)} expects {cin} input channels, got input "
                      f"of shape {tuple(x.shape)}")
    if c % groups:
        raise OpError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at dim 0, "
                      f"got weight of shape {tuple(weight.shape)}")
    cout = og * groups
    _check_bias(bias, cout, weight, op)
    full_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1    # before cropping and output padding
    full_w = (w - 1) * stride[1] + dilation[1] * (kw - 1) + 1
    out_h, out_w = full_h - 2 * ph + oph, full_w - 2 * pw + opw
    if out_h <= 0 or out_w <= 0:
        raise OpError(f"{op}: input of shape {tuple(x.shape)} gives an output of spatial size {(out_h, out_w)} "
                      f"(padding {(ph, pw)} is too large)")
    k = og * kh * kw
    cg = c // groups
    # Wᵀ x per group: (G, O/G·kh·kw, C/G) @ (N, G, C/G, HW) → the window slots of the output
    wt = transpose(reshape(weight, (groups, cg, k)), (0, 2, 1))
    cols = matmul(wt, reshape(x, (n, groups, cg, h * w)))
    cols = reshape(cols, (n, cout, kh, kw, h, w))
    out = Col2Im((n, cout, full_h, full_w), (kh, kw), stride, dilation)(cols)
    extra_h, extra_w = max(0, oph - ph), max(0, opw - pw)        # output padding beyond the cropped rows
    if extra_h or extra_w:
        out = pad(out, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)))
    if ph or pw or oph or opw:
        out = getitem(out, (slice(None), slice(None), slice(ph, ph + out_h), slice(pw, pw + out_w)))
    if bias is not None:
        out = out + reshape(bias, (1, -1, 1, 1))
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


# ---------------------------------------------------------------- pooling
def _pool_windows(x, kernel_size, stride, padding, dilation, fill, name, ceil_mode=False):
    """(N, C, k, Ho, Wo): every window of x padded with ``fill`` (and, with ``ceil_mode``, with as
    much more on the bottom and right as the last partial windows need)."""
    if 0 in tuple(x.shape[1:]):  # PyTorch: "optional 0 dim batch size", every other axis non-empty
        raise OpError(f"{name}: expected (N, C, H, W) or (C, H, W) input with non-zero C, H and W "
                      f"(only the batch may be empty), got {_describe(x)}")
    kernel, stride, dilation, (ph, pw), (eh, ew) = _pool_geometry(x.shape, kernel_size, stride, padding, dilation,
                                                                  name, ceil_mode)
    if ph or pw or eh or ew:
        x = pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), value=fill)
    cols = Im2Col(kernel, stride, dilation)(x)
    n, c, kh, kw, ho, wo = cols.shape
    return reshape(cols, (n, c, kh * kw, ho, wo))


def _pool_geometry(shape, kernel_size, stride, padding, dilation, name, ceil_mode):
    """(kernel, stride, dilation, padding, extra): the checked pairs, and the bottom/right padding a
    ``ceil_mode`` pooling adds so its last windows exist (PyTorch's output size: ⌈(H + 2p − d(k − 1)
    − 1)/s⌉ + 1, less one when that last window would start beyond the input and its left padding)."""
    kernel = _positive(_pair(kernel_size, f"{name}: kernel_size"), "kernel_size", name)
    stride = kernel if stride is None else _positive(_pair(stride, f"{name}: stride"), "stride", name)
    dilation = _positive(_pair(dilation, f"{name}: dilation"), "dilation", name)
    pads = _nonnegative(_pair(padding, f"{name}: padding"), "padding", name)
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise OpError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    h, w = shape[2] + 2 * pads[0], shape[3] + 2 * pads[1]
    if out_size(h, kernel[0], stride[0], dilation[0]) <= 0 or out_size(w, kernel[1], stride[1], dilation[1]) <= 0:
        raise OpError(f"{name}: kernel {kernel} with dilation {dilation} is larger than the padded input "
                      f"({h}, {w}) of input shape {tuple(shape)}")
    extra = [0, 0]
    if ceil_mode:
        for a in range(2):
            size, span = shape[2 + a] + 2 * pads[a], dilation[a] * (kernel[a] - 1) + 1
            count = -(-(size - span) // stride[a]) + 1
            if (count - 1) * stride[a] >= shape[2 + a] + pads[a]:
                count -= 1
            extra[a] = max(0, (count - 1) * stride[a] + span - size)
    return kernel, stride, dilation, pads, tuple(extra)


class WindowMax(extrema.Max):
    """y = max over the window axis 2 of (N, C, k, Ho, Wo) windows;  x̄ = ȳ at the maximum
    (ties: ``rg.conventions``), and in a window holding NaNs, ȳ to its last NaN in row-major order —
    PyTorch's max-pooling picks that NaN's index (a max reduction would give the whole window NaN).
    ``valid`` (windows of the padding mask, when padded) keeps the −∞ padding out of the ties: a
    real −∞ maximum gets the whole ȳ, as in PyTorch, whose padding is never a candidate."""
    name = "max"  # a max over the window axis (traces and tests know max-pooling's tape by it)
    __slots__ = ()
    save_inputs = (0,)

    def __init__(self, valid=None):
        super().__init__(2, False)
        self.save(valid=valid)

    def vjp(self, ns, g, y, x):
        return (ns.expand_dims(g, 2) * self._mask(ns, y, x),)

    def jvp(self, ns, ts, y, x):
        """ẏ = Σ_window mask·ẋ, the vjp's mask (ties and NaNs as there)"""
        t = ts[0]
        return ns.sum(t * self._mask(ns, y, x), axis=2 + t.ndim - x.ndim)

    def _mask(self, ns, y, x):
        """The share of each window entry in its window's maximum: the policy's at ties, 1 at a
        window's last NaN."""
        xv = ns.value(x)
        valid = self.saved["valid"]
        candidates = xv if valid is None else xp.where(valid, xv, xp.nan)  # NaN never equals the max
        with xp.errstate(invalid="ignore", divide="ignore"):  # 0/0 in "split" for NaN windows, replaced
            mask = extrema.tie_mask(candidates, xp.expand_dims(ns.value(y), 2), (2,), self.share)
        if xv.dtype.kind == "f":
            nan = xp.isnan(xv)
            # PyTorch's scan keeps the last NaN it meets (row by row through the window)
            if device_checks.may_hold(nan):
                last_nan = nan & (xp.cumsum(nan, axis=2) == nan.sum(axis=2, keepdims=True))
                mask = xp.where(nan.any(axis=2, keepdims=True), last_nan, mask).astype(xv.dtype)
        return mask


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over each window (stride defaults to the kernel size); x (N, C, H, W) or (C, H, W).
    ``ceil_mode``: the output size rounded up (partial windows at the bottom and right), as
    PyTorch's. Tied maxima share the gradient as ``rg.conventions`` says (first / split / all /
    min_norm). Integer images pool to integers (padding never wins: it is the dtype's lowest value)."""
    if return_indices:
        raise OpError("max_pool2d: return_indices=True is not implemented (no max_unpool2d here); "
                      "leave it False")
    x, unbatched = _batched(x, 2, "max_pool2d")
    kind = x.dtype.kind
    if kind not in "fiu":
        raise OpError(f"max_pool2d: not implemented for input {_describe(x)} (PyTorch neither); "
                      f"use an integer or floating-point tensor")
    fill = -xp.inf if kind == "f" else xp.iinfo(x.dtype).min
    windows = _pool_windows(x, kernel_size, stride, padding, dilation, fill, "max_pool2d", ceil_mode)
    valid = None
    if kind == "f" and (padding not in (0, (0, 0)) or ceil_mode):  # which window entries are the image's
        ones = xp.ones(tuple(x.shape), dtype=x.dtype)
        valid = _pool_windows(ones, kernel_size, stride, padding, dilation, 0.0, "max_pool2d", ceil_mode).data > 0
    out = WindowMax(valid)(windows)
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None):
    """Mean over each window; x (N, C, H, W) or (C, H, W). As PyTorch's: the divisor counts the
    zero padding (``count_include_pad``, the default) or only the input's entries, never the extra
    of ``ceil_mode``'s partial windows; ``divisor_override`` replaces it. Floating-point input only
    (PyTorch truncates integer means; convert with .float() first)."""
    x, unbatched = _batched(x, 2, "avg_pool2d")
    if x.dtype.kind != "f":
        raise OpError(f"avg_pool2d: expected floating-point input, got {_describe(x)} (PyTorch would "
                      f"truncate the means to integers); convert it with .float() or .double()")
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise OpError(f"avg_pool2d: divisor_override must be a non-zero int, got {divisor_override!r}")
    windows = _pool_windows(x, kernel_size, stride, padding, 1, 0.0, "avg_pool2d", ceil_mode)
    if divisor_override is None and not ceil_mode and count_include_pad:  # every window is whole: a plain mean
        out = reductions.mean(windows, axis=2)
    else:
        out = reductions.sum(windows, axis=2) * _window_divisor(tuple(x.shape), kernel_size, stride, padding,
                                                               tuple(windows.shape[-2:]), count_include_pad,
                                                               divisor_override, x.dtype)
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def _window_divisor(shape, kernel_size, stride, padding, out, count_include_pad, divisor_override, dtype):
    """1 / (each window's divisor), an (Ho, Wo) constant of the geometry, as PyTorch counts it: the
    window's entries inside the padded input (its start oh·s − p, its end clipped at H + p), or
    only inside the input without ``count_include_pad``; never the extra of ``ceil_mode``."""
    if divisor_override is not None:
        return xp.full(out, 1.0 / divisor_override, dtype=dtype)
    kernel = _pair(kernel_size, "avg_pool2d: kernel_size")
    steps = kernel if stride is None else _pair(stride, "avg_pool2d: stride")
    pads = _pair(padding, "avg_pool2d: padding")
    counts = []
    for n, k, st, p, o in zip(shape[2:], kernel, steps, pads, out):
        starts = xp.arange(o) * st - p
        ends = xp.minimum(starts + k, n + p)
        counts.append(ends - starts if count_include_pad else xp.minimum(ends, n) - xp.maximum(starts, 0))
    return (1.0 / xp.multiply.outer(counts[0], counts[1])).astype(dtype)
