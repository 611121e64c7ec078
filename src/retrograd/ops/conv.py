"""Convolution and pooling, built from two linear primitives.

``Im2Col`` copies every k×k window of a (padded) image into its own slot,
(N, C, H, W) → (N, C, kh, kw, Ho, Wo); ``Col2Im`` adds the slots back into an
image. They are each other's adjoint, so each one's vjp is the other, and
everything built on them differentiates to any order:

* ``conv2d``  = pad → im2col → one batched GEMM with the weights (BLAS) → + bias
* ``max_pool2d`` = pad with −∞ → im2col → ``max`` over the window axis, whose
  ties follow ``rg.conventions`` (the seed page 002 question)
* ``avg_pool2d`` = pad with 0 → im2col → ``mean`` over the window axis
"""

from __future__ import annotations

from ..autograd import namespaces
from ..autograd.backend import xp
from ..autograd.op import OpError, UnaryOp
from . import reductions
from .linalg import matmul
from .shape import pad, reshape


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise OpError(f"{name} must be an int or a pair, got {v}")
    return v


def out_size(size, kernel, stride, dilation):
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def im2col_array(x, kernel, stride, dilation):
    """Windows of x (N, C, H, W) as a contiguous (N, C, kh, kw, Ho, Wo) copy."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, sh, dh), out_size(w, kw, sw, dw)
    if ho <= 0 or wo <= 0:
        raise OpError(f"im2col: kernel {kernel} with dilation {dilation} does not fit an input of "
                      f"spatial size {(h, w)}")
    s = x.strides
    view = xp.lib.stride_tricks.as_strided(
        x, (n, c, kh, kw, ho, wo), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw), writeable=False)
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
    """cols = windows(x);  x̄ = col2im(cols̄)  (a linear map: its vjp is its adjoint)"""
    name = "im2col"
    __slots__ = ("kernel", "stride", "dilation")

    def __init__(self, kernel, stride, dilation): self.kernel, self.stride, self.dilation = kernel, stride, dilation
    def extra_repr(self): return f"kernel={self.kernel}, stride={self.stride}, dilation={self.dilation}"
    def forward(self, x): return im2col_array(x, self.kernel, self.stride, self.dilation)

    def vjp(self, ns, g, cols, x):
        return (ns.col2im(g, x.shape, self.kernel, self.stride, self.dilation),)


class Col2Im(UnaryOp):
    """x = Σ windows back into an image;  cols̄ = im2col(x̄)"""
    name = "col2im"
    __slots__ = ("shape", "kernel", "stride", "dilation")

    def __init__(self, shape, kernel, stride, dilation):
        self.shape, self.kernel, self.stride, self.dilation = tuple(shape), kernel, stride, dilation

    def extra_repr(self): return f"shape={self.shape}, kernel={self.kernel}"
    def forward(self, cols): return col2im_array(cols, self.shape, self.kernel, self.stride, self.dilation)
    def vjp(self, ns, g, x, cols): return (ns.im2col(g, self.kernel, self.stride, self.dilation),)


namespaces.extend("im2col", im2col_array,
                  lambda x, kernel, stride, dilation: Im2Col(kernel, stride, dilation)(x))
namespaces.extend("col2im", col2im_array,
                  lambda cols, shape, kernel, stride, dilation: Col2Im(shape, kernel, stride, dilation)(cols))


def _padding(padding, kernel, dilation, name):
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(t % 2 for t in total):
            raise OpError(f"{name}: padding='same' needs an odd effective kernel size, got kernel {kernel}")
        return tuple(t // 2 for t in total)
    return _pair(padding, f"{name}: padding")


def _check_image(x, name):
    if len(x.shape) != 4:
        raise OpError(f"{name}: expected input of shape (N, C, H, W), got shape {tuple(x.shape)} ({x.dtype})")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation, PyTorch's layout: x (N, C, H, W), weight (O, C, kh, kw).

    ``padding`` is an int, a pair, ``"valid"`` or ``"same"`` (stride 1).
    """
    _check_image(x, "conv2d")
    if len(weight.shape) != 4 or weight.shape[1] != x.shape[1]:
        raise OpError(f"conv2d: weight of shape {tuple(weight.shape)} does not fit input of shape "
                      f"{tuple(x.shape)} (expected (out_channels, {x.shape[1]}, kh, kw))")
    kernel = tuple(weight.shape[2:])
    stride, dilation = _pair(stride, "conv2d: stride"), _pair(dilation, "conv2d: dilation")
    ph, pw = _padding(padding, kernel, dilation, "conv2d")
    if ph or pw:
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = Im2Col(kernel, stride, dilation)(x)                    # (N, C, kh, kw, Ho, Wo)
    n, c, kh, kw, ho, wo = cols.shape
    out = matmul(reshape(weight, (weight.shape[0], c * kh * kw)),  # (O, CKK) @ (N, CKK, HoWo)
                 reshape(cols, (n, c * kh * kw, ho * wo)))
    out = reshape(out, (n, weight.shape[0], ho, wo))
    if bias is not None:
        out = out + reshape(bias, (1, -1, 1, 1))
    return out


def _pool_windows(x, kernel_size, stride, padding, dilation, fill, name):
    _check_image(x, name)
    kernel = _pair(kernel_size, f"{name}: kernel_size")
    stride = kernel if stride is None else _pair(stride, f"{name}: stride")
    dilation = _pair(dilation, f"{name}: dilation")
    ph, pw = _pair(padding, f"{name}: padding")
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise OpError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    if ph or pw:
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), value=fill)
    cols = Im2Col(kernel, stride, dilation)(x)
    n, c, kh, kw, ho, wo = cols.shape
    return reshape(cols, (n, c, kh * kw, ho, wo))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """Max over each window (stride defaults to the kernel size). Tied maxima
    share the gradient as ``rg.conventions`` says (first / split / all / min_norm)."""
    return reductions.max(_pool_windows(x, kernel_size, stride, padding, dilation, -xp.inf, "max_pool2d"), axis=2)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each window (zero padding counted, PyTorch's default)."""
    return reductions.mean(_pool_windows(x, kernel_size, stride, padding, 1, 0.0, "avg_pool2d"), axis=2)
