"""Convolution and pooling, built from two linear primitives.

``Im2Col`` copies every k×k window of a (padded) image into its own slot,
(N, C, H, W) → (N, C, kh, kw, Ho, Wo); ``Col2Im`` adds the slots back into an
image. They are each other's adjoint, so each one's vjp is the other, and
everything built on them differentiates to any order. Both take any number of
spatial axes — (N, C, L) → (N, C, k, Lo), (N, C, D, H, W) → (N, C, kd, kh, kw, Do, Ho, Wo) —
so the 1-d and 3-d ops below are the same code as the 2-d ones:

* ``conv2d``, ``conv3d``  = pad → im2col → one batched GEMM per group with the weights (BLAS) → + bias
* ``conv1d``  = ``conv2d`` on a height-1 image
* ``conv_transpose1d/2d/3d`` = the adjoint of the convolution in its input: GEMM with Wᵀ → col2im → crop
* ``max_pool2d`` (and ``max_pool`` for any number of axes) = pad with the dtype's lowest value →
  im2col → ``max`` over the window axis, whose ties follow ``rg.conventions`` (what max-pool's
  gradient is when two entries tie); a NaN wins its window; ``return_indices`` gives PyTorch's indices
* ``avg_pool2d`` (and ``avg_pool``) = pad with 0 → im2col → ``mean`` over the window axis

Layouts, argument orders and the errors for bad arguments follow PyTorch's
``torch.nn.functional``: inputs (N, C, H, W) or unbatched (C, H, W); conv
weights (out_channels, in_channels / groups, kh, kw); transposed-conv weights
(in_channels, out_channels / groups, kh, kw).
"""

from __future__ import annotations

import itertools

from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from ..autograd.tensor import _wrap
from . import device_checks, extrema, reductions
from .elementwise import cast
from .linalg import matmul
from .shape import getitem, pad, reshape, transpose


class ConvError(OpError, RuntimeError):
    """A convolution or pooling refused its arguments or input: an ``OpError`` (so a
    ``ValueError``) that is also the ``RuntimeError`` PyTorch raises for them."""


def _ntuple(v, n, name):
    """``v`` as a tuple of ``n`` ints (an int, or a tuple of one, is repeated, as PyTorch's
    ops do), else an error naming ``name``."""
    if isinstance(v, bool):
        raise ConvError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
    if isinstance(v, int) or (hasattr(v, "__index__") and not hasattr(v, "__len__")):
        return (int(v),) * n
    try:
        out = tuple(int(i) for i in v)
    except (TypeError, ValueError):
        raise ConvError(f"{name} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(out) == 1:
        out *= n
    if len(out) != n:
        raise ConvError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
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
    """Windows of x (N, C, H, W) as a contiguous (N, C, kh, kw, Ho, Wo) copy; for m spatial
    axes, (N, C, *S) → (N, C, *kernel, *S_out)."""
    size = tuple(x.shape[2:])
    outs = tuple(out_size(*a) for a in zip(size, kernel, stride, dilation))
    if any(o <= 0 for o in outs):
        raise ConvError(f"im2col: kernel {kernel} with dilation {dilation} does not fit an input of "
                        f"spatial size {size}")
    s = x.strides
    # a view whose windows overlap, copied at once (so never written through); no
    # ``writeable=False``: CuPy's as_strided takes only (x, shape, strides)
    view = xp.lib.stride_tricks.as_strided(
        x, tuple(x.shape[:2]) + tuple(kernel) + outs,
        tuple(s[:2]) + tuple(a * d for a, d in zip(s[2:], dilation)) + tuple(a * st for a, st in zip(s[2:], stride)))
    return xp.ascontiguousarray(view)


def col2im_array(cols, image_shape, kernel, stride, dilation):
    """Add the window slots (N, C, kh, kw, Ho, Wo) back into an image: the adjoint of im2col
    (any number of spatial axes, as there)."""
    outs = cols.shape[2 + len(kernel):]
    out = xp.zeros(image_shape, dtype=cols.dtype)
    both = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in kernel)):  # one kernel entry at a time
        window = tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, d, s, o in zip(offset, dilation, stride, outs))
        out[both + window] += cols[both + offset]
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
        image = 1 + len(self.kernel)  # (C, *S)
        batch = tuple(t.shape[:t.ndim - image])  # lead + (N,)
        c = ns.im2col(ns.reshape(t, (_count(batch),) + tuple(t.shape[-image:])), self.kernel, self.stride,
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
        slots = 1 + 2 * len(self.kernel)  # (C, *kernel, *S_out)
        lead, n = tuple(t.shape[:t.ndim - slots - 1]), _count(t.shape[:t.ndim - slots])
        image = ns.col2im(ns.reshape(t, (n,) + tuple(t.shape[-slots:])), (n,) + self.shape[1:], self.kernel,
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
        raise ConvError(f"{op}: {what} must be positive, got {values}")
    return values


def _nonnegative(values, what, op):
    if any(v < 0 for v in values):
        raise ConvError(f"{op}: negative {what} is not supported, got {values}")
    return values


def _groups(groups, op):
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ConvError(f"{op}: groups must be a positive integer, got {groups!r}")
    return groups


def _padding(padding, kernel, stride, dilation, op):
    """((top, bottom), (left, right)) for an int, a pair, ``"valid"`` or ``"same"`` (one
    (before, after) pair per spatial axis: as many as the kernel has).

    ``"same"`` (stride 1 only, like PyTorch) pads d·(k − 1) in total per axis,
    half on each side and the odd one at the end (bottom/right), as PyTorch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * len(kernel)
        if padding != "same":
            raise ConvError(f"{op}: invalid padding string {padding!r} (use 'valid', 'same' or ints)")
        if any(s != 1 for s in stride):
            raise ConvError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in _nonnegative(_ntuple(padding, len(kernel), f"{op}: padding"), "padding", op))


def _float_operands(op, x, weight, bias):
    for t in (x, weight) + ((bias,) if bias is not None else ()):
        if t.dtype.kind != "f":
            raise ConvError(f"{op}: expected floating-point input, weight and bias, got a tensor of "
                            f"{_describe(t)}; convert it with .float() or .double()")
    dtypes = {x.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1:
        raise ConvError(f"{op}: input {_describe(x)}, weight {_describe(weight)}"
                        + (f" and bias {_describe(bias)}" if bias is not None else "")
                        + " must have the same dtype; convert one of them")


_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}          # the spatial axes' names, by their number
_KERNEL_AXES = {1: "k", 2: "kh, kw", 3: "kd, kh, kw"}


def _batched(x, spatial, op):
    """(x as a batch, whether to drop the batch axis again): (C, *S) inputs are unbatched."""
    if len(x.shape) == spatial + 1:
        return reshape(x, (1,) + tuple(x.shape)), True
    if len(x.shape) != spatial + 2:
        dims = f"(N, C, {_AXES[spatial]}) or (C, {_AXES[spatial]})"
        raise ConvError(f"{op}: expected input of shape {dims}, got {_describe(x)}")
    return x, False


def _nonempty(x, weight, op):
    """PyTorch's rules for empty tensors: a zero batch (and, for conv2d, zero channels) gives an
    empty output, but an empty image or kernel axis is refused."""
    if 0 in tuple(x.shape[2:]):
        raise ConvError(f"{op}: only zero batch or zero channel inputs are supported, got input {_describe(x)}")
    if weight is not None and 0 in tuple(weight.shape[2:]):
        raise ConvError(f"{op}: kernel size should be greater than zero, got weight {_describe(weight)}")
    if weight is not None and weight.shape[0] == 0:
        raise ConvError(f"{op}: expected weight to be at least 1 at dimension 0, got weight {_describe(weight)}")


def _check_bias(bias, channels, weight, op):
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ConvError(f"{op}: given weight of shape {tuple(weight.shape)}, expected bias of shape ({channels},), "
                        f"got {_describe(bias)}")


# ---------------------------------------------------------------- convolution
def _conv(x, weight, bias, stride, padding, dilation, groups, op):
    """The batched convolution behind conv1d/2d/3d (stride and dilation already tuples, one
    entry per spatial axis)."""
    m = len(stride)
    groups = _groups(groups, op)
    _float_operands(op, x, weight, bias)
    if len(weight.shape) != m + 2:
        raise ConvError(f"{op}: expected a weight of {m + 2} dims (out_channels, in_channels/groups, "
                        f"{_KERNEL_AXES[m]}), got {_describe(weight)}")
    _nonempty(x, weight, op)
    n, c, size = x.shape[0], x.shape[1], tuple(x.shape[2:])
    o, cg, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    if o % groups:
        raise ConvError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at dim 0, "
                        f"got weight of shape {tuple(weight.shape)}")
    if cg * groups != c:
        raise ConvError(f"{op}: given groups={groups} and weight of shape {tuple(weight.shape)}, expected input "
                        f"of shape {tuple(x.shape)} to have {cg * groups} channels, got {c}")
    _check_bias(bias, o, weight, op)
    pads = _padding(padding, kernel, stride, dilation, op)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(size, pads))
    if any(out_size(*a) <= 0 for a in zip(padded, kernel, stride, dilation)):
        raise ConvError(f"{op}: kernel {kernel} with dilation {dilation} is larger than the padded input "
                        f"{padded} of input shape {tuple(x.shape)}")
    if any(lo or hi for lo, hi in pads):
        x = pad(x, ((0, 0), (0, 0)) + pads)
    cols = Im2Col(kernel, stride, dilation)(x)                    # (N, C, *kernel, *S_out)
    outs = tuple(cols.shape[2 + m:])
    k, positions = cg * _count(kernel), _count(outs)
    if groups == 1:
        out = matmul(reshape(weight, (o, k)), reshape(cols, (n, k, positions)))      # (O, CKK) @ (N, CKK, HoWo)
    else:  # one GEMM per group: (G, O/G, CKK/G) @ (N, G, CKK/G, HoWo)
        out = matmul(reshape(weight, (groups, o // groups, k)), reshape(cols, (n, groups, k, positions)))
    out = reshape(out, (n, o) + outs)
    if bias is not None:
        out = out + reshape(bias, (1, -1) + (1,) * m)
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


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation, PyTorch's layout: x (N, C, D, H, W) or (C, D, H, W), weight
    (O, C/groups, kd, kh, kw); ``conv2d``'s sum over one more axis, with the same arguments."""
    x, unbatched = _batched(x, 3, "conv3d")
    stride = _positive(_ntuple(stride, 3, "conv3d: stride"), "stride", "conv3d")
    dilation = _positive(_ntuple(dilation, 3, "conv3d: dilation"), "dilation", "conv3d")
    out = _conv(x, weight, bias, stride, padding, dilation, groups, "conv3d")
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, PyTorch's layout: x (N, C, L) or (C, L), weight (O, C/groups, k);
    computed as ``conv2d`` on a height-1 image."""
    x, unbatched = _batched(x, 1, "conv1d")
    if len(weight.shape) != 3:
        raise ConvError(f"conv1d: expected a weight of 3 dims (out_channels, in_channels/groups, k), "
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
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 2, "conv_transpose2d")


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 1-D convolution (the adjoint of ``conv1d`` in its input): x (N, C_in, L) or
    (C_in, L), weight (C_in, C_out/groups, k); output length (L − 1)·s − 2p + d·(k − 1) +
    output_padding + 1. ``conv_transpose2d``'s arguments, on one axis."""
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 1, "conv_transpose1d")


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 3-D convolution (the adjoint of ``conv3d`` in its input): x (N, C_in, D, H, W)
    or (C_in, D, H, W), weight (C_in, C_out/groups, kd, kh, kw). ``conv_transpose2d``'s arguments,
    on three axes."""
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 3, "conv_transpose3d")


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, m, op):
    """The transposed convolution over ``m`` spatial axes (see ``conv_transpose2d``)."""
    x, unbatched = _batched(x, m, op)
    groups = _groups(groups, op)
    stride = _positive(_ntuple(stride, m, f"{op}: stride"), "stride", op)
    dilation = _positive(_ntuple(dilation, m, f"{op}: dilation"), "dilation", op)
    if isinstance(padding, str):
        raise ConvError(f"{op}: padding must be an int or a {'pair' if m == 2 else 'tuple'} of ints, got {padding!r}")
    pads = _nonnegative(_ntuple(padding, m, f"{op}: padding"), "padding", op)
    extras = _nonnegative(_ntuple(output_padding, m, f"{op}: output_padding"), "output_padding", op)
    if any(o_p >= s and o_p >= d for o_p, s, d in zip(extras, stride, dilation)):
        raise ConvError(f"{op}: output padding must be smaller than either stride or dilation, got "
                        f"output_padding {extras}, stride {stride}, dilation {dilation}")
    if bias is not None and bias.dtype != x.dtype and x.dtype == weight.dtype and x.dtype.kind == "f" \
            and bias.dtype.kind in "biuf":
        bias = cast(bias, x.dtype)  # PyTorch adds a bias of another real dtype in the output's (conv2d refuses)
    _float_operands(op, x, weight, bias)
    if len(weight.shape) != m + 2:
        raise ConvError(f"{op}: expected a weight of {m + 2} dims (in_channels, out_channels/groups, "
                        f"{_KERNEL_AXES[m]}), got {_describe(weight)}")
    _nonempty(x, weight, op)
    n, c, size = x.shape[0], x.shape[1], tuple(x.shape[2:])
    cin, og, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    if cin != c:
        raise ConvError(f"{op}: weight of shape {tuple(weight.shape)} expects {cin} input channels, got input "
                        f"of shape {tuple(x.shape)}")
    if c % groups:
        raise ConvError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at dim 0, "
                        f"got weight of shape {tuple(weight.shape)}")
    cout = og * groups
    _check_bias(bias, cout, weight, op)
    # per axis, before cropping and output padding: (S − 1)·s + d·(k − 1) + 1
    full = tuple((i - 1) * st + d * (k - 1) + 1 for i, st, d, k in zip(size, stride, dilation, kernel))
    outs = tuple(f - 2 * p + e for f, p, e in zip(full, pads, extras))
    if any(o <= 0 for o in outs):
        raise ConvError(f"{op}: input of shape {tuple(x.shape)} gives an output of spatial size {outs} "
                        f"(padding {pads} is too large)")
    k = og * _count(kernel)
    cg = c // groups
    # Wᵀ x per group: (G, O/G·kh·kw, C/G) @ (N, G, C/G, HW) → the window slots of the output
    wt = transpose(reshape(weight, (groups, cg, k)), (0, 2, 1))
    cols = matmul(wt, reshape(x, (n, groups, cg, _count(size))))
    cols = reshape(cols, (n, cout) + kernel + size)
    out = Col2Im((n, cout) + full, kernel, stride, dilation)(cols)
    beyond = tuple(max(0, e - p) for e, p in zip(extras, pads))  # output padding beyond the cropped rows
    if any(beyond):
        out = pad(out, ((0, 0), (0, 0)) + tuple((0, b) for b in beyond))
    if any(pads) or any(extras):
        out = getitem(out, (slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(pads, outs)))
    if bias is not None:
        out = out + reshape(bias, (1, -1) + (1,) * m)
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


# ---------------------------------------------------------------- pooling
def _pool_windows(x, geometry, fill):
    """(N, C, K, *S_out) — (N, C, k, Ho, Wo) for an image —: every window of x, K = its entries
    in row-major order, x padded with ``fill`` (and, with ``ceil_mode``, with as much more on the
    bottom and right as the last partial windows need)."""
    kernel, stride, dilation, pads, extra = geometry
    if any(pads) or any(extra):
        x = pad(x, ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(pads, extra)), value=fill)
    cols = Im2Col(kernel, stride, dilation)(x)
    return reshape(cols, tuple(cols.shape[:2]) + (_count(kernel),) + tuple(cols.shape[2 + len(kernel):]))


def _pool_geometry(shape, kernel_size, stride, padding, dilation, name, ceil_mode):
    """(kernel, stride, dilation, padding, extra) for an input of ``shape`` (N, C, *S): the checked
    tuples, one entry per spatial axis, and the bottom/right padding a ``ceil_mode`` pooling adds so
    its last windows exist (PyTorch's output size: ⌈(H + 2p − d(k − 1) − 1)/s⌉ + 1, less one when
    that last window would start beyond the input and its left padding). A ``stride`` of None (or
    an empty tuple, as PyTorch's ops take it) is the kernel size."""
    m = len(shape) - 2
    if 0 in tuple(shape[1:]):  # PyTorch: "optional 0 dim batch size", every other axis non-empty
        raise ConvError(f"{name}: expected (N, C, {_AXES[m]}) or (C, {_AXES[m]}) input with non-zero sizes "
                        f"but the batch (only the batch may be empty), got {tuple(shape)}")
    kernel = _positive(_ntuple(kernel_size, m, f"{name}: kernel_size"), "kernel_size", name)
    if stride is None or (isinstance(stride, (tuple, list)) and not stride):
        stride = kernel
    else:
        stride = _positive(_ntuple(stride, m, f"{name}: stride"), "stride", name)
    dilation = _positive(_ntuple(dilation, m, f"{name}: dilation"), "dilation", name)
    pads = _nonnegative(_ntuple(padding, m, f"{name}: padding"), "padding", name)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ConvError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    padded = tuple(s + 2 * p for s, p in zip(shape[2:], pads))
    if any(out_size(*a) <= 0 for a in zip(padded, kernel, stride, dilation)):
        raise ConvError(f"{name}: kernel {kernel} with dilation {dilation} is larger than the padded input "
                        f"{padded} of input shape {tuple(shape)}")
    extra = [0] * m
    if ceil_mode:
        for a in range(m):
            size, span = padded[a], dilation[a] * (kernel[a] - 1) + 1
            count = -(-(size - span) // stride[a]) + 1
            if (count - 1) * stride[a] >= shape[2 + a] + pads[a]:
                count -= 1
            extra[a] = max(0, (count - 1) * stride[a] + span - size)
    return kernel, stride, dilation, pads, tuple(extra)


def _window_positions(shape, geometry):
    """(1, 1, K, *S_out) int64: where each window entry reads the input of ``shape`` — its flat
    index over the spatial axes (PyTorch's max-pooling index), −1 on the padding. A constant of
    the geometry, off the tape."""
    kernel, stride, dilation, pads, extra = geometry
    image = xp.arange(_count(shape[2:]), dtype=xp.int64).reshape((1, 1) + tuple(shape[2:]))
    image = xp.pad(image, ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(pads, extra)), constant_values=-1)
    cols = im2col_array(image, kernel, stride, dilation)
    return cols.reshape((1, 1, _count(kernel)) + cols.shape[2 + len(kernel):])


def window_argmax(windows, positions):
    """PyTorch's max-pooling indices for (N, C, K, *S_out) ``windows`` whose entries read the input
    at ``positions`` (−1: padding): per window, the index of its first maximum in row-major order;
    of its last NaN when it holds NaNs (PyTorch's scan keeps the last NaN it meets); of its first
    input entry when the padding's fill ties the maximum (every input entry −∞, or the integer
    dtype's lowest: PyTorch's scan starts there and never moves)."""
    pick = xp.argmax(windows, axis=2)
    if windows.dtype.kind == "f":
        nan = xp.isnan(windows)
        if device_checks.may_hold(nan):
            last = windows.shape[2] - 1 - xp.argmax(nan[:, :, ::-1], axis=2)
            pick = xp.where(nan.any(axis=2), last, pick)
    everywhere = xp.broadcast_to(positions, windows.shape)
    index = xp.take_along_axis(everywhere, xp.expand_dims(pick, 2), axis=2)[:, :, 0]
    first = xp.take_along_axis(everywhere, xp.expand_dims(xp.argmax(everywhere >= 0, axis=2), 2), axis=2)[:, :, 0]
    return xp.where(index < 0, first, index)


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
    min_norm). Integer images pool to integers (padding never wins: it is the dtype's lowest value).
    ``return_indices``: also PyTorch's int64 indices of the maxima, flat over (H, W) per channel
    (``max_unpool2d``'s input)."""
    return max_pool(x, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices, "max_pool2d")


def max_pool(x, spatial, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
             name="max_pool"):
    """Max-pooling over the last ``spatial`` axes of x (N, C, *S) or (C, *S): ``max_pool2d`` for
    any number of axes (errors name ``name``). Returns the pooled tensor, or (it, indices)."""
    x, unbatched = _batched(x, spatial, name)
    kind = x.dtype.kind
    if kind not in "fiu":
        raise ConvError(f"{name}: not implemented for input {_describe(x)} (PyTorch neither); "
                        f"use an integer or floating-point tensor")
    fill = -xp.inf if kind == "f" else xp.iinfo(x.dtype).min
    geometry = _pool_geometry(tuple(x.shape), kernel_size, stride, padding, dilation, name, ceil_mode)
    windows = _pool_windows(x, geometry, fill)
    padded = any(geometry[3]) or any(geometry[4])
    positions = _window_positions(tuple(x.shape), geometry) if padded or return_indices else None
    # which window entries are the image's: keeps the −∞ padding out of the ties
    out = WindowMax(positions >= 0 if kind == "f" and padded else None)(windows)
    return pooled_result(out, windows, positions, unbatched, return_indices)


def pooled_result(out, windows, positions, unbatched, return_indices):
    """A max pooling's result: ``out`` (without its batch axis for an unbatched input) and, with
    ``return_indices``, PyTorch's int64 indices of the maxima (``window_argmax``) shaped alike."""
    if not return_indices:
        return reshape(out, tuple(out.shape[1:])) if unbatched else out
    indices = _wrap(window_argmax(windows.data, positions))
    if unbatched:
        return reshape(out, tuple(out.shape[1:])), reshape(indices, tuple(indices.shape[1:]))
    return out, indices


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None):
    """Mean over each window; x (N, C, H, W) or (C, H, W). As PyTorch's: the divisor counts the
    zero padding (``count_include_pad``, the default) or only the input's entries, never the extra
    of ``ceil_mode``'s partial windows; ``divisor_override`` replaces it. Floating-point input only
    (PyTorch truncates integer means; convert with .float() first)."""
    return avg_pool(x, 2, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, "avg_pool2d")


def avg_pool(x, spatial, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None, name="avg_pool"):
    """Average pooling over the last ``spatial`` axes of x (N, C, *S) or (C, *S): ``avg_pool2d``
    for any number of axes (errors name ``name``)."""
    x, unbatched = _batched(x, spatial, name)
    if x.dtype.kind != "f":
        raise ConvError(f"{name}: expected floating-point input, got {_describe(x)} (PyTorch would "
                        f"truncate the means to integers); convert it with .float() or .double()")
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise ConvError(f"{name}: divisor_override must be a non-zero int, got {divisor_override!r}")
    geometry = _pool_geometry(tuple(x.shape), kernel_size, stride, padding, 1, name, ceil_mode)
    windows = _pool_windows(x, geometry, 0.0)
    if divisor_override is None and not ceil_mode and count_include_pad:  # every window is whole: a plain mean
        out = reductions.mean(windows, axis=2)
    else:
        out = reductions.sum(windows, axis=2) * _window_divisor(tuple(x.shape), geometry, tuple(windows.shape[3:]),
                                                               count_include_pad, divisor_override, x.dtype)
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


def _window_divisor(shape, geometry, out, count_include_pad, divisor_override, dtype):
    """1 / (each window's divisor), an (Ho, Wo) constant of the geometry, as PyTorch counts it: the
    window's entries inside the padded input (its start oh·s − p, its end clipped at H + p), or
    only inside the input without ``count_include_pad``; never the extra of ``ceil_mode``."""
    if divisor_override is not None:
        return xp.full(out, 1.0 / divisor_override, dtype=dtype)
    kernel, steps, _, pads, _ = geometry
    total = None
    for n, k, st, p, o in zip(shape[2:], kernel, steps, pads, out):
        starts = xp.arange(o) * st - p
        ends = xp.minimum(starts + k, n + p)
        count = ends - starts if count_include_pad else xp.minimum(ends, n) - xp.maximum(starts, 0)
        total = count if total is None else xp.multiply.outer(total, count)  # one axis more each time
    return (1.0 / total).astype(dtype)
