"""More of ``torch``'s top-level functions, each a thin composition of existing ops (so the tape
records those ops and the gradients come with them):

- one-sided clamps ``clamp_min``/``clamp_max``, ``rsub`` (other − α·input), ``angle`` of real
  tensors, ``fill``, ``igamma``/``igammac`` (``rg.special.gammainc``/``gammaincc``);
- shape helpers ``atleast_1d``/``2d``/``3d``, ``row_stack``, ``swapdims``, ``t``, ``detach``,
  ``unsafe_chunk``/``unsafe_split``/``unsafe_split_with_sizes`` (PyTorch's names of the safe ones);
- ``put`` (writes at flat indices, also ``Tensor.put``), ``cumulative_trapezoid``,
  ``constant_pad_nd``, ``conv_tbc`` (a time-batch-channel ``conv1d``);
- the deprecated linear algebra still in ``torch``: ``qr(A, some=True)``, ``frobenius_norm``,
  ``nuclear_norm`` (with PyTorch's deprecation warnings), and the functions PyTorch has removed
  (``matrix_rank``, ``lstsq``, ``solve``, ``eig``, ``symeig``), which raise its ``RuntimeError``
  naming the ``rg.linalg`` function to use.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd.backend import xp
from ..autograd.op import DimError, IndexRangeError, OpError
from ..autograd.tensor import Tensor, get_default_dtype
from . import elementwise as E
from . import inplace as IP
from . import kinks as K
from . import linalg_namespace as LA
from . import linalg_norms as LN
from .aliases import split_with_sizes
from .composite import split, vstack
from .conv import conv1d, conv3d, conv_transpose1d, conv_transpose3d  # noqa: F401 - re-exported
from .cumulative import cumsum
from .matrix_extra import index_put
from .products import _float_result
from .rearrange import clone, torch_pad
from .shape import _check_axis, broadcast_to, chunk, getitem, permute, reshape, swapaxes
from .special_namespace import gammainc, gammaincc


class TorchNamespaceError(OpError, RuntimeError):
    """A call PyTorch refuses with a ``RuntimeError`` (also an ``OpError``)."""


def _tensor(fn, value, argument="input"):
    """``value`` if it is a tensor; PyTorch's ``TypeError`` otherwise (no silent conversion)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{argument}' must be Tensor, not {type(value).__name__}")
    return value


def zero_gradient(x, values):
    """The tensor ``values`` (x's shape and dtype), on the tape with a zero gradient for ``x`` when x
    requires grad, as PyTorch's piecewise-constant functions (``angle``, ``fill``, ``poisson``) are:
    where(False, x, values)."""
    values = values if isinstance(values, Tensor) else Tensor(values)
    return E.where(Tensor(xp.zeros(x.shape, dtype=bool)), x, values) if x.requires_grad else values


# ---------------------------------------------------------------- elementwise
def clamp_min(input, min):  # noqa: A002 - torch's names
    """max(input, min) elementwise (``torch.clamp_min``): ``min`` a number or a tensor broadcast
    against input; the dtype is ``torch.clamp``'s (an integer input with a float bound is floating)."""
    _tensor("clamp_min", input)
    if min is None:
        raise TypeError("clamp_min(): argument 'min' must be a Tensor or a Number, not None")
    return K.clamp(input, min, None)


def clamp_max(input, max):  # noqa: A002 - torch's names
    """min(input, max) elementwise (``torch.clamp_max``); see ``clamp_min``."""
    _tensor("clamp_max", input)
    if max is None:
        raise TypeError("clamp_max(): argument 'max' must be a Tensor or a Number, not None")
    return K.clamp(input, None, max)


def rsub(input, other, alpha=1):  # noqa: A002
    """other − alpha·input (``torch.rsub``: ``sub`` with its operands swapped); ``input`` must be a
    tensor, ``other`` a tensor or a number; PyTorch's type promotion."""
    x = _tensor("rsub", input)
    bools = [x.dtype == xp.bool_, isinstance(other, bool) or getattr(other, "dtype", None) == xp.bool_]
    if all(bools):
        raise TorchNamespaceError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                                  "or `logical_xor()` operator instead.")
    if any(bools):
        raise TorchNamespaceError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                                  "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return E.sub(other, x, alpha=alpha)


def angle(input):  # noqa: A002
    """The argument of each entry (``torch.angle``): for a real tensor π where it is negative, 0
    elsewhere, NaN kept; a complex one gives atan2(imag, real). An integer or bool input gives the
    default float dtype. For real input the gradient is 0 (the function is piecewise constant)."""
    x = _tensor("angle", input)
    if x.dtype.kind == "c":
        return Tensor(xp.angle(x.data))  # off the tape: retrograd differentiates real functions only
    dtype = x.dtype if x.dtype.kind == "f" else xp.dtype(get_default_dtype())
    with xp.errstate(invalid="ignore"):
        values = xp.where(x.data < 0, xp.asarray(math.pi, dtype), xp.asarray(0, dtype)).astype(dtype)
    values = xp.where(xp.isnan(x.data), x.data, values).astype(dtype) if dtype == x.dtype else values
    return zero_gradient(x, values)


def fill(input, value):  # noqa: A002
    """A new tensor of input's shape and dtype filled with ``value`` (``torch.fill``): a number
    (converted as ``fill_`` converts it: a float truncates into an integer tensor) or a 0-dim
    tensor, which then receives the sum of the output's gradient. ``input`` gets no gradient."""
    x = _tensor("fill", input)
    if isinstance(value, Tensor):
        if value.ndim:
            raise TorchNamespaceError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                      f"{value.ndim} dimensions.")
        v = value if value.dtype == x.dtype else E.cast(value, x.dtype)
        return clone(broadcast_to(v, tuple(x.shape)))
    return zero_gradient(x, xp.full(x.shape, IP._scalar("fill_", value, x.dtype), dtype=x.dtype))


def igamma(input, other):  # noqa: A002
    """``torch.igamma``: the regularized lower incomplete gamma function, ``rg.special.gammainc``."""
    return gammainc(input, other)


def igammac(input, other):  # noqa: A002
    """``torch.igammac``: the regularized upper incomplete gamma function, ``rg.special.gammaincc``."""
    return gammaincc(input, other)


# ---------------------------------------------------------------- shapes
def _atleast(fn, ndim, tensors):
    """``atleast_{ndim}d``'s shared rule: one tensor gives a tensor, several (or one list or tuple of
    them) a tuple."""
    def grow(x):
        x = _tensor(fn, x)
        if x.ndim >= ndim:
            return x
        # NumPy's rule: a vector becomes a row (1, n) and then (1, n, 1); a matrix gains a last dim
        shape = (1,) * ndim if x.ndim == 0 else (1, x.shape[0], 1)[:ndim] if x.ndim == 1 else tuple(x.shape) + (1,)
        return reshape(x, shape)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(grow(x) for x in tensors[0])
    if len(tensors) == 1:
        return grow(tensors[0])
    return tuple(grow(x) for x in tensors)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-dim one becomes shape (1,)), as ``torch.atleast_1d``: one
    tensor in, one out; several (or a list/tuple) in, a tuple out."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: () → (1, 1), (n,) → (1, n) (``torch.atleast_2d``)."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: () → (1, 1, 1), (n,) → (1, n, 1), (m, n) → (m, n, 1)
    (``torch.atleast_3d``, NumPy's rule)."""
    return _atleast("atleast_3d", 3, tensors)


def row_stack(tensors):
    """``torch.row_stack``: PyTorch's alias of ``vstack``."""
    return vstack(tensors)


def swapdims(input, dim0, dim1):  # noqa: A002
    """``torch.swapdims``: PyTorch's alias of ``transpose``/``swapaxes``."""
    return swapaxes(_tensor("swapdims", input), dim0, dim1)


def t(input):  # noqa: A002
    """``torch.t``: a matrix transposed; a vector or a number as it is; more than 2 dims refused."""
    x = _tensor("t", input)
    if x.ndim > 2:
        raise TorchNamespaceError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D (use "
                                  f"transpose(d0, d1) or mT)")
    return x.t()


def detach(input):  # noqa: A002
    """``torch.detach``: ``input.detach()``, the same values off the tape."""
    return _tensor("detach", input).detach()


def unsafe_chunk(input, chunks, dim=0):  # noqa: A002
    """``torch.unsafe_chunk``: ``chunk`` (retrograd's pieces never alias a buffer that later changes)."""
    return chunk(_tensor("unsafe_chunk", input), chunks, dim)


def unsafe_split(input, split_size, dim=0):  # noqa: A002
    """``torch.unsafe_split``: ``split`` into pieces of ``split_size`` along ``dim``."""
    return tuple(split(_tensor("unsafe_split", input), split_size, dim))


def unsafe_split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    """``torch.unsafe_split_with_sizes``: ``split_with_sizes``."""
    return tuple(split_with_sizes(_tensor("unsafe_split_with_sizes", input), split_sizes, dim))


# ---------------------------------------------------------------- put, cumulative trapezoid, padding, conv_tbc
def put(input, index, source, accumulate=False):  # noqa: A002
    """``input`` with ``source``'s entries written at the flat (row-major) positions ``index``
    (``torch.put``; negative positions count from the end). ``accumulate`` adds instead of writing.
    ``index`` must be int64 with as many entries as ``source``, which has input's dtype. The
    gradient: input gets ȳ except where written (everywhere with ``accumulate``), source gets ȳ at
    its positions (``index_put`` on the flattened tensor)."""
    x, index, source = _tensor("put", input), _tensor("put", index, "index"), _tensor("put", source, "source")
    if index.dtype != xp.int64:
        raise TorchNamespaceError(f"put_(): Expected a long tensor for index, but got {IP._torch_name(index.dtype)}")
    if source.dtype != x.dtype:
        raise TorchNamespaceError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                                  f"{IP._torch_name(x.dtype)} and source.dtype = {IP._torch_name(source.dtype)}")
    if source.size != index.size:
        raise IndexRangeError(f"put_(): Expected source and index to have the same number of elements, but got "
                              f"source.numel() = {source.size}, index.numel() = {index.size}")
    n = x.size
    flat = index.data.reshape(-1)
    bad = flat[(flat < -n) | (flat >= n)]
    if bad.size:
        raise IndexRangeError(f"out of range: tried to access index {int(bad[0])} on a tensor of {n} elements.")
    out = index_put(reshape(x, (-1,)), (Tensor(flat % max(n, 1)),), reshape(source, (-1,)), accumulate)
    return reshape(out, tuple(x.shape))


def put_(self, index, source, accumulate=False):
    """``x.put_(index, source, accumulate=False)``: ``put`` written into ``x`` in place, off the tape only."""
    IP._guard(self, "put_", "x = x.put(index, source)", (source,))
    return IP._store(self, "put_", put(self, index, source, accumulate))


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal rule along ``dim`` (``torch.cumulative_trapezoid``): entry k is
    Σ_{i≤k} (x_{i+1} − x_i)(y_i + y_{i+1})/2, one fewer than y's samples; without ``x`` a constant
    spacing ``dx`` (default 1). Integer input gives the default float dtype. A ``cumsum`` of the
    trapezoids, so the gradient is exact."""
    y = _tensor("cumulative_trapezoid", y, "y")
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid(): give the sample points x or the spacing dx, not both")
    if not y.ndim:
        raise IndexRangeError("slice() cannot be applied to a 0-dim tensor.")
    d = _check_axis("cumulative_trapezoid", dim, y.ndim)
    if y.dtype.kind == "b" or getattr(x, "dtype", None) == xp.bool_:
        raise TorchNamespaceError("cumulative_trapezoid: received a bool input, but bool is not supported")
    dtype = _float_result(y, x)
    y = y if y.dtype == dtype else E.cast(y, dtype)
    lead = (slice(None),) * d
    heights = E.add(getitem(y, lead + (slice(1, None),)), getitem(y, lead + (slice(None, -1),)))
    if x is None:
        step = 1 if dx is None else dx
        if isinstance(step, (bool, complex)) or not isinstance(step, numbers.Real):
            raise TorchNamespaceError(f"cumulative_trapezoid: Currently, we only support dx as a real number, got "
                                      f"{step!r}")
        return cumsum(E.mul(heights, float(step) / 2), d)
    x = _tensor("cumulative_trapezoid", x, "x")
    x = x if x.dtype == dtype else E.cast(x, dtype)
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise TorchNamespaceError("cumulative_trapezoid: There must be one `x` value for each sample point")
        x = reshape(x, tuple(x.shape[0] if k == d else 1 for k in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = reshape(x, (1,) * (y.ndim - x.ndim) + tuple(x.shape))
    # x's differences are taken along y's dim d, even when x has more dims (PyTorch's rule)
    spacing = E.sub(getitem(x, lead + (slice(1, None),)), getitem(x, lead + (slice(None, -1),)))
    _broadcastable(tuple(heights.shape), tuple(spacing.shape))
    return cumsum(E.true_divide(E.mul(spacing, heights), 2.0), d)


def _broadcastable(a, b):
    """Refuse shapes ``a`` and ``b`` that do not broadcast, with PyTorch's text."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    for k, (p, q) in enumerate(zip(a, b)):
        if p != q and p != 1 and q != 1:
            raise TorchNamespaceError(f"The size of tensor a ({p}) must match the size of tensor b ({q}) at "
                                      f"non-singleton dimension {k}")


def constant_pad_nd(input, pad, value=0):  # noqa: A002
    """``torch.constant_pad_nd``: ``F.pad``'s constant mode. ``pad`` holds (before, after) pairs from
    the last dim backwards; a negative width crops. ``value`` is converted to input's dtype."""
    x = _tensor("constant_pad_nd", input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise TorchNamespaceError(f"Length of pad must be even but instead it equals {len(pad)}")
    if len(pad) > 2 * x.ndim:
        raise TorchNamespaceError(f"Length of pad should be no more than twice the number of dimensions of the "
                                  f"input. Pad length is {len(pad)} while the input has {x.ndim} dimensions.")
    for k in range(len(pad) // 2):
        size = x.shape[x.ndim - 1 - k] + pad[2 * k] + pad[2 * k + 1]
        if size < 0:
            raise TorchNamespaceError(f"constant_pad_nd: the padded dim {x.ndim - 1 - k} would have negative size "
                                      f"{size} (input shape {list(x.shape)}, pad {list(pad)})")
    return torch_pad(x, pad, "constant", value)


def conv_tbc(input, weight, bias, pad=0):  # noqa: A002
    """A 1-D convolution of a (time, batch, in_channels) input (``torch.conv_tbc``) with a
    (kernel_width, in_channels, out_channels) weight and an (out_channels,) bias, zero-padded by
    ``pad`` at both ends of time: ``conv1d`` on the permuted tensors, permuted back to
    (time', batch, out_channels)."""
    x, w, b = _tensor("conv_tbc", input), _tensor("conv_tbc", weight, "weight"), _tensor("conv_tbc", bias, "bias")
    if x.ndim != 3:
        raise TorchNamespaceError("Input must have 3 dims: time, batch, in_channel")
    if w.ndim != 3:
        raise TorchNamespaceError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if b.ndim != 1:
        raise TorchNamespaceError("Bias must be 1-D")
    if x.shape[2] != w.shape[1]:
        raise TorchNamespaceError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if b.shape[0] != w.shape[2]:
        raise TorchNamespaceError("Bias size must equal dim 2 in the weight tensor (output channels).")
    steps = x.shape[0] + 2 * pad - w.shape[0] + 1
    if steps < 0:
        raise TorchNamespaceError(f"Trying to create tensor with negative dimension {steps}: "
                                  f"[{steps}, {x.shape[1]}, {w.shape[2]}]")
    if pad < 0:  # a negative pad crops time at both ends, as PyTorch's
        x, pad = getitem(x, (slice(-pad, x.shape[0] + pad),)), 0
    out = conv1d(permute(x, (1, 2, 0)), permute(w, (2, 1, 0)), b, padding=pad)
    return permute(out, (2, 0, 1))


# ---------------------------------------------------------------- deprecated and removed linear algebra
def qr(input, some=True):  # noqa: A002
    """``torch.qr`` (deprecated in PyTorch for ``torch.linalg.qr``): (Q, R) with ``some=True`` the
    reduced factorisation, ``some=False`` the complete one. Warns as PyTorch does."""
    warnings.warn("torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
                  "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\n"
                  "Q, R = torch.qr(A, some)\nshould be replaced with\n"
                  "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')", UserWarning, stacklevel=2)
    return LA.qr(_tensor("qr", input), "reduced" if some else "complete")


def _dim_list(fn, dim, ndim):
    """``dim`` (an int or a list) as a tuple of distinct dims in range, PyTorch's errors otherwise."""
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise DimError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        if d % n in out:
            raise TorchNamespaceError(f"dim {d % n} appears multiple times in the list of dims")
        out.append(d % n)
    return tuple(out)


def frobenius_norm(input, dim, keepdim=False):  # noqa: A002
    """√(Σ x²) over ``dim`` (at most 2 dims; ``[]`` means all), ``torch.frobenius_norm`` (deprecated:
    PyTorch warns to use ``linalg.vector_norm(A, 2, dim, keepdim)``, which this is)."""
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed "
                  "in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead",
                  UserWarning, stacklevel=2)
    x = _tensor("frobenius_norm", input)
    dims = _dim_list("frobenius_norm", dim, x.ndim)
    if len(dims) > 2:
        raise TorchNamespaceError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead.")
    if x.dtype.kind not in "fc":
        raise TorchNamespaceError(f"norm(): input dtype should be either floating point or complex. Got "
                                  f"{IP._torch_name(x.dtype)} instead.")
    return LN.vector_norm(x, 2, dims or None, keepdim)


def nuclear_norm(input, dim=None, keepdim=False):  # noqa: A002
    """The sum of singular values (``torch.nuclear_norm``, deprecated for ``linalg.matrix_norm(A,
    'nuc', dim, keepdim)``): ``nuclear_norm(A, keepdim=False)`` over the last two dims, or
    ``nuclear_norm(A, dim, keepdim=False)`` over the two dims of ``dim``."""
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in "
                  "a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead",
                  UserWarning, stacklevel=2)
    if isinstance(dim, bool):  # the (input, keepdim) overload
        dim, keepdim = None, dim
    x = _tensor("nuclear_norm", input)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) != 2:
            raise TorchNamespaceError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                                      f"{' '.join(str(d) for d in dims)}")
    if x.ndim < 2:
        raise TorchNamespaceError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    return LN.matrix_norm(x, "nuc", (-2, -1) if dim is None else dims, keepdim)


def _removed(name, hint):
    def removed(*args, **kwargs):
        raise TorchNamespaceError(f"This function was deprecated since version 1.9 and is now removed. {hint}")
    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = (f"``torch.{name}``: removed from PyTorch (1.9); raises its ``RuntimeError``, which names the "
                       f"replacement: {hint}")
    return removed


matrix_rank = _removed("matrix_rank", "Please use the `torch.linalg.matrix_rank` function instead (rg.linalg."
                                      "matrix_rank). The parameter 'symmetric' was renamed in "
                                      "`torch.linalg.matrix_rank()` to 'hermitian'.")
lstsq = _removed("lstsq", "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq` (rg.linalg.lstsq), which "
                          "has reversed arguments and does not return the QR decomposition.")
solve = _removed("solve", "`torch.solve` is deprecated in favor of `torch.linalg.solve` (rg.linalg.solve), which "
                          "has its arguments reversed and does not return the LU factorization: "
                          "X = torch.solve(B, A).solution should be replaced with X = torch.linalg.solve(A, B)")
eig = _removed("eig", "`torch.linalg.eig` returns complex tensors; for symmetric matrices use rg.linalg.eigh or "
                      "rg.linalg.eigvalsh.")
symeig = _removed("symeig", "L, _ = torch.symeig(A, upper=upper) should be replaced with L = torch.linalg.eigvalsh(A, "
                            "UPLO='U' if upper else 'L'), and L, V = torch.symeig(A, eigenvectors=True) with "
                            "L, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L') (rg.linalg.eigvalsh, "
                            "rg.linalg.eigh).")

METHODS = {"put": put, "put_": put_}
"""The Tensor methods of this module (installed by ``ops.methods``)."""

__all__ = ["clamp_min", "clamp_max", "rsub", "angle", "fill", "igamma", "igammac", "atleast_1d", "atleast_2d",
           "atleast_3d", "row_stack", "swapdims", "t", "detach", "unsafe_chunk", "unsafe_split",
           "unsafe_split_with_sizes", "put", "cumulative_trapezoid", "constant_pad_nd", "conv_tbc", "qr",
           "frobenius_norm", "nuclear_norm", "matrix_rank", "lstsq", "solve", "eig", "symeig", "conv3d",
           "conv_transpose1d", "conv_transpose3d"]
