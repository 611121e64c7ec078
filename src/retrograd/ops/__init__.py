"""The differentiable functions of ``retrograd`` and the Tensor operators.

Primitives (one ``Op`` each, with a hand-written vjp) live in the family
modules ``elementwise``, ``reductions``, ``linalg`` and ``shape``; this module
wraps them as functions with NumPy-style signatures, adds the compositions
(mean, var, std, gelu, squeeze, split, take, gather, …) and installs the
operators and methods on ``Tensor``.
"""

from __future__ import annotations

import builtins
import math
import numbers

from .. import backend, backprop
from ..backend import sum_to, xp
from ..tensor import OpError, Tensor, _wrap
from . import elementwise as E
from . import linalg as L
from . import losses as LS
from . import reductions as R
from . import shape as S
from . import conv as C  # noqa: E402 - conv's helpers import the functions above lazily

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh",
    "sigmoid", "erf", "relu", "leaky_relu", "elu", "gelu", "softplus", "abs", "square", "maximum",
    "minimum", "clamp", "clip", "where", "cast", "matmul", "linear", "sum", "mean", "var", "std",
    "max", "min", "prod", "logsumexp", "softmax", "log_softmax", "argmax", "argmin", "reshape",
    "transpose", "permute", "swapaxes", "broadcast_to", "expand", "expand_dims", "unsqueeze",
    "squeeze", "flatten", "concatenate", "cat", "stack", "split", "getitem", "take", "gather", "pad",
    "index_add", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "nll_loss", "conv2d", "max_pool2d", "avg_pool2d", "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "eye",
]

# ------------------------------------------------------------ elementwise


def add(x, y):
    """x + y (broadcasting)."""
    return E.Add()(x, y)
def sub(x, y):
    """x − y (broadcasting)."""
    return E.Sub()(x, y)
def mul(x, y):
    """x · y, elementwise (broadcasting)."""
    return E.Mul()(x, y)
def div(x, y):
    """x / y, elementwise (broadcasting)."""
    return E.Div()(x, y)
def neg(x):
    """−x."""
    return E.Neg()(x)
def exp(x):
    """eˣ."""
    return E.Exp()(x)
def log(x):
    """Natural logarithm."""
    return E.Log()(x)
def log1p(x):
    """log(1 + x), accurate for small x."""
    return E.Log1p()(x)
def sqrt(x):
    """√x."""
    return E.Sqrt()(x)
def sin(x):
    """sin x."""
    return E.Sin()(x)
def cos(x):
    """cos x."""
    return E.Cos()(x)
def tanh(x):
    """tanh x; its vjp uses the output: ȳ·(1 − y²)."""
    return E.Tanh()(x)
def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), stable for large |x|."""
    return E.Sigmoid()(x)
def erf(x):
    """The error function."""
    return E.Erf()(x)
def relu(x):
    """max(x, 0); the gradient at 0 follows ``rg.conventions``."""
    return E.Relu()(x)
def abs(x):
    """|x|; the gradient at 0 follows ``rg.conventions``."""
    return E.Abs()(x)  # noqa: A001 - mirrors numpy.abs
def square(x):
    """x²."""
    return E.PowScalar(2)(x)


def pow(x, p):  # noqa: A001 - mirrors numpy/torch
    """xᵖ. A constant exponent records the cheaper one-input rule."""
    if isinstance(p, numbers.Number):
        return E.PowScalar(p)(x)
    return E.Pow()(x, p)


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, ``negative_slope``·x otherwise."""
    return E.LeakyRelu(negative_slope)(x)


def elu(x, alpha: float = 1.0):
    """x for x > 0, α(eˣ − 1) otherwise."""
    return E.Elu(alpha)(x)


def softplus(x, beta: float = 1.0):
    """log(1 + e^(βx))/β, computed stably."""
    return E.Softplus(beta)(x)


def gelu(x, approximate: str = "none"):
    """x·Φ(x) with Φ the standard normal CDF (PyTorch's default), or its tanh
    approximation with ``approximate="tanh"``. A composition of primitives."""
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise OpError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def maximum(x, y):
    """Elementwise max; the gradient at ties follows ``rg.conventions``."""
    return E.Maximum()(x, y)


def minimum(x, y):
    """Elementwise min; the gradient at ties follows ``rg.conventions``."""
    return E.Minimum()(x, y)


def clamp(x, min=None, max=None):  # noqa: A002 - torch's names
    """Limit x to [min, max]; the gradient at a bound follows ``rg.conventions``."""
    return E.Clamp(min, max)(x)


def clip(x, a_min=None, a_max=None):
    """NumPy's name for ``clamp``."""
    return clamp(x, a_min, a_max)


def where(cond, x, y):
    """x where ``cond`` else y (``cond`` is a constant boolean mask)."""
    c = cond.data if isinstance(cond, Tensor) else xp.asarray(cond)
    if c.dtype != bool:
        raise OpError(f"where: condition must be boolean, got {c.dtype}")
    return E.Where(c)(x, y)


def cast(x, dtype):
    """x converted to ``dtype`` (differentiable between float types)."""
    return E.Cast(dtype)(x)


# ------------------------------------------------------------ linear algebra
def matmul(a, b):
    """Matrix product with NumPy's rules (batched, 1-D vectors)."""
    return L.MatMul()(a, b)


def linear(x, weight, bias=None):
    """x·Wᵀ + b with PyTorch's layout (W: [out_features, in_features])."""
    return L.Linear()(x, weight, bias)


# ------------------------------------------------------------ reductions
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Σ x over ``axis`` (all axes when None)."""
    return R.Sum(axis, keepdims)(x)


def _count(x, axis):
    shape = x.shape
    axes = R._norm_axis(axis, len(shape), "mean")
    return math.prod(shape[a] for a in axes)


def mean(x, axis=None, keepdims=False):
    """Σx / n over ``axis``."""
    return R.Mean(axis, keepdims)(x)


def var(x, axis=None, keepdims=False, ddof: int = 0):
    """Mean squared deviation over ``axis`` (NumPy's ``ddof``; ``ddof=1`` for
    PyTorch's unbiased default)."""
    n = _count(x, axis)
    d = x - mean(x, axis, keepdims=True)
    return R.Sum(axis, keepdims)(d * d) * (1.0 / (n - ddof))


def std(x, axis=None, keepdims=False, ddof: int = 0):
    """√var(x) over ``axis``."""
    return sqrt(var(x, axis, keepdims, ddof))


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Max over ``axis``; tied maxima share the gradient per ``rg.conventions``."""
    return R.Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Min over ``axis``; tied minima share the gradient per ``rg.conventions``."""
    return R.Min(axis, keepdims)(x)


def prod(x, axis=None, keepdims=False):
    """Π x over ``axis`` (its gradient is exact with zeros)."""
    return R.Prod(axis, keepdims)(x)


def logsumexp(x, axis=None, keepdims=False):
    """log Σ eˣ, stable for large x."""
    return R.LogSumExp(axis, keepdims)(x)


def softmax(x, axis=-1):
    """eˣ / Σ eˣ along ``axis`` (shifted by the max: no overflow)."""
    return R.Softmax(axis)(x)


def log_softmax(x, axis=-1):
    """x − logsumexp(x) along ``axis``, stable."""
    return R.LogSoftmax(axis)(x)


def argmax(x, axis=None):
    """Index of the max (not differentiable)."""
    return _wrap(xp.asarray(xp.argmax(_data(x), axis=axis)))


def argmin(x, axis=None):
    """Index of the min (not differentiable)."""
    return _wrap(xp.asarray(xp.argmin(_data(x), axis=axis)))


# ------------------------------------------------------------ shapes
def _data(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def reshape(x, shape):
    """x with a new shape (same elements, C order)."""
    return S.Reshape(tuple(shape) if not isinstance(shape, int) else (shape,))(x)


def transpose(x, axes=None):
    """Permute axes (NumPy semantics: reverse them when ``axes`` is None)."""
    return S.Transpose(None if axes is None else tuple(axes))(x)


def permute(x, *dims):
    """PyTorch's ``permute``: the axes in the given order."""
    return S.Transpose(tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims)(x)


def swapaxes(x, a, b):
    """x with axes ``a`` and ``b`` exchanged."""
    n = len(x.shape)
    axes = list(range(n))
    axes[a % n], axes[b % n] = axes[b % n], axes[a % n]
    return S.Transpose(tuple(axes))(x)


def broadcast_to(x, shape):
    """x broadcast to ``shape``; the gradient sums back over the broadcast axes."""
    return S.BroadcastTo(shape)(x)


def expand(x, *shape):
    """PyTorch's ``expand``: broadcast to ``shape``; -1 keeps a dimension."""
    shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
    lead = len(shape) - len(x.shape)
    full = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return broadcast_to(x, full)


def expand_dims(x, axis):
    """x with a new axis of size 1 at ``axis`` (``unsqueeze``)."""
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1) if axis < 0 else axis, 1)
    return reshape(x, shape)


unsqueeze = expand_dims


def squeeze(x, axis=None):
    """x without the size-1 axes (or only ``axis``, which must have size 1)."""
    shape = x.shape
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axes = R._norm_axis(axis, len(shape), "squeeze")
        for a in axes:
            if shape[a] != 1:
                raise OpError(f"squeeze: cannot squeeze axis {a} of size {shape[a]} (shape {shape})")
        new = tuple(s for i, s in enumerate(shape) if i not in axes)
    return reshape(x, new)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """x with the axes ``start_dim … end_dim`` merged into one."""
    shape = x.shape
    if not shape:
        return reshape(x, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def concatenate(xs, axis=0):
    """Tensors joined along an existing ``axis`` (``cat``)."""
    xs = list(xs)
    if not xs:
        raise OpError("concatenate: need at least one tensor")
    return S.Concatenate(axis)(*xs)


cat = concatenate


def stack(xs, axis=0):
    """Tensors of one shape joined along a new ``axis``."""
    xs = list(xs)
    if not xs:
        raise OpError("stack: need at least one tensor")
    return S.Stack(axis)(*xs)


def split(x, indices_or_sections, axis=0):
    """NumPy's ``split``: an int gives that many equal parts, a list gives the
    split points. Each part is a slice of x (its own getitem on the tape)."""
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise OpError(f"split: axis {axis} of size {n} cannot be split into {k} equal parts")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * (axis % len(x.shape))
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def _index(index):
    """Convert Tensors inside an index to arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return xp.asarray(index)
    return index


def getitem(x, index):
    """x[index] with slices, integers, integer arrays or boolean masks;
    gradients of repeated integer indices accumulate."""
    return S.GetItem(_index(index))(x)


def take(x, indices, axis=None):
    """NumPy's ``take``: ``x[..., indices, ...]`` along ``axis`` (flattened if None)."""
    idx = _data(indices)
    if axis is None:
        return getitem(reshape(x, (-1,)), idx)
    return getitem(x, (slice(None),) * (axis % len(x.shape)) + (idx,))


def gather(x, axis, index):
    """PyTorch's ``gather`` (NumPy's ``take_along_axis``):
    out[i][j] = x[i][index[i][j]] for ``axis=1``."""
    idx = _data(index)
    nd = len(x.shape)
    if idx.ndim != nd:
        raise OpError(f"gather: index must have {nd} dimensions like the input, got shape {idx.shape}")
    axis %= nd
    grids = xp.ogrid[tuple(slice(0, s) for s in idx.shape)]
    full = tuple(idx if i == axis else grids[i] for i in range(nd))
    return getitem(x, full)


def pad(x, pad_width, value: float = 0.0):
    """Constant padding with NumPy's ``pad_width`` (an int, a pair, or a pair per axis)."""
    nd = len(x.shape)
    w = xp.broadcast_to(xp.asarray(pad_width, dtype=int), (nd, 2))
    return S.Pad(tuple((int(a), int(b)) for a, b in w), value)(x)


def index_add(shape, dtype, index, g):
    """zeros(shape) with g added at ``index`` (repeats accumulate): getitem's adjoint."""
    return S.IndexAdd(tuple(shape), dtype, index)(g)


# ------------------------------------------------------------ losses
def mse_loss(input, target, reduction: str = "mean"):  # noqa: A002 - torch's names
    """Mean (or summed) squared error, one op: its gradient is 2(a − y)/n."""
    return LS.MSELoss(reduction)(input, target)


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean"):  # noqa: A002
    """Sigmoid + binary cross-entropy in one stable op: its gradient is σ(z) − y (÷ n)."""
    return LS.BCEWithLogits(reduction)(input, target)


def binary_cross_entropy(input, target, reduction: str = "mean"):  # noqa: A002
    """Binary cross-entropy of probabilities (logs clamped at −100, like PyTorch)."""
    return LS.BinaryCrossEntropy(reduction)(input, target)


def cross_entropy(input, target, reduction: str = "mean", ignore_index: int = -100):  # noqa: A002
    """Softmax cross-entropy from logits (N, C, ...) with class indices or
    probabilities; one op whose gradient is softmax(z) − onehot(y) (÷ n)."""
    return LS.CrossEntropy(reduction, ignore_index)(input, _data(target) if isinstance(target, Tensor)
                                                    and not target.requires_grad else target)


def nll_loss(input, target, reduction: str = "mean", ignore_index: int = -100):  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,)."""
    y = _data(target)
    keep = y != ignore_index
    picked = gather(input, 1, xp.expand_dims(xp.where(keep, y, 0), 1))
    losses = -reshape(picked, y.shape) * keep.astype(input.dtype)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return sum(losses)
    if reduction != "mean":
        raise OpError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return sum(losses) * (1.0 / builtins.max(int(keep.sum()), 1))


# ------------------------------------------------------------ convolution and pooling
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation), PyTorch's layout and arguments."""
    return C.conv2d(x, weight, bias, stride, padding, dilation)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """Max-pooling; tied maxima follow ``rg.conventions``."""
    return C.max_pool2d(x, kernel_size, stride, padding, dilation)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each window (zero padding counted, like PyTorch)."""
    return C.avg_pool2d(x, kernel_size, stride, padding)


# ------------------------------------------------------------ creation
def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros (default float dtype)."""
    return Tensor(xp.zeros(_shape(shape), dtype=dtype or _float()), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones (default float dtype)."""
    return Tensor(xp.ones(_shape(shape), dtype=dtype or _float()), requires_grad=requires_grad)


def full(shape, value, dtype=None, requires_grad=False):
    """A tensor filled with ``value``."""
    return Tensor(xp.full(_shape((shape,)), value, dtype=dtype or _float()), requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    """Zeros of x's shape and dtype."""
    return Tensor(xp.zeros(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    """Ones of x's shape and dtype."""
    return Tensor(xp.ones(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def arange(*args, dtype=None):
    """NumPy's ``arange`` as a tensor."""
    return Tensor(xp.arange(*args, dtype=dtype))


def eye(n, m=None, dtype=None):
    """The identity matrix (n × m)."""
    return Tensor(xp.eye(n, m, dtype=dtype or _float()))


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)


def _float():
    from ..tensor import get_default_dtype

    return get_default_dtype()


# ------------------------------------------------------------ namespaces and methods
backprop.ARRAY_NS.sigmoid = backend.sigmoid
backprop.ARRAY_NS.softmax = lambda x, axis=-1: R.Softmax(axis).forward(x)

backprop.TENSOR_NS.__dict__.update(
    value=lambda x: x.data if isinstance(x, Tensor) else x,
    sum=sum,
    sum_to=sum_to,
    broadcast_to=broadcast_to,
    reshape=reshape,
    transpose=transpose,
    swapaxes=swapaxes,
    expand_dims=expand_dims,
    matmul=matmul,
    exp=exp,
    log=log,
    sqrt=sqrt,
    sin=sin,
    cos=cos,
    tanh=tanh,
    sigmoid=sigmoid,
    softmax=softmax,
    where=lambda c, a, b: where(xp.asarray(c, dtype=bool), a, b),
    maximum=maximum,
    astype=cast,
    getitem=getitem,
    index_add=index_add,
    concatenate=concatenate,
    pad=lambda x, pad_width, value=0.0: pad(x, pad_width, value),
)


def _rsub(x, y): return E.Sub()(y, x)
def _rdiv(x, y): return E.Div()(y, x)
def _rpow(x, y): return E.Pow()(y, x)
def _rmatmul(x, y): return L.MatMul()(y, x)


def _cmp(fn):
    def compare(self, other):
        return _wrap(xp.asarray(fn(self.data, _data(other))))
    compare.__name__ = fn.__name__
    return compare


def _transpose_method(self, *axes):
    """``t.transpose()`` reverses the axes; ``t.transpose(d0, d1)`` swaps two
    (PyTorch); use ``permute`` for a full permutation."""
    if not axes:
        return transpose(self)
    if len(axes) == 2 and all(isinstance(a, int) for a in axes):
        return swapaxes(self, *axes)
    return permute(self, *axes)


def _reshape_method(self, *shape):
    return reshape(self, _shape(shape))


_methods = {
    "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": _rsub,
    "__mul__": mul, "__rmul__": mul, "__truediv__": div, "__rtruediv__": _rdiv,
    "__neg__": neg, "__pow__": pow, "__rpow__": _rpow, "__matmul__": matmul,
    "__rmatmul__": _rmatmul, "__abs__": abs, "__getitem__": getitem,
    "__lt__": _cmp(xp.less), "__le__": _cmp(xp.less_equal), "__gt__": _cmp(xp.greater),
    "__ge__": _cmp(xp.greater_equal), "__eq__": _cmp(xp.equal), "__ne__": _cmp(xp.not_equal),
    "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "sin": sin, "cos": cos, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu, "abs": abs, "square": square, "pow": pow,
    "clamp": clamp, "clip": clip, "maximum": maximum, "minimum": minimum,
    "sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min, "prod": prod,
    "logsumexp": logsumexp, "softmax": softmax, "log_softmax": log_softmax,
    "argmax": argmax, "argmin": argmin, "matmul": matmul,
    "reshape": _reshape_method, "view": _reshape_method, "transpose": _transpose_method,
    "permute": permute, "swapaxes": swapaxes, "expand": expand, "broadcast_to": broadcast_to,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten, "take": take,
    "gather": lambda self, dim, index: gather(self, dim, index), "astype": cast,
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)
Tensor.T = property(lambda self: transpose(self), doc="All axes reversed.")
Tensor.mT = property(lambda self: swapaxes(self, -1, -2), doc="The last two axes swapped.")
Tensor.float = lambda self: cast(self, xp.float32)
Tensor.double = lambda self: cast(self, xp.float64)
