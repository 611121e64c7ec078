"""The Tensor's operators and methods, installed in this one place.

``Tensor`` (in the core) knows nothing of the ops; ``install()`` — called once
by ``retrograd.ops`` — gives it ``+ − * / ** @``, comparisons, indexing and the
method forms of the functions (``t.sum()``, ``t.reshape(...)``, ``t.T`` …).
"""

from __future__ import annotations

import operator

from ..autograd.tensor import Tensor, _wrap
from ..autograd.backend import xp
from ..autograd.op import OpError
from . import composite as C
from . import cumulative as CU
from . import einsum as EI
from . import elementwise as E
from . import linalg as L
from . import ordering as O
from . import rearrange as RE
from . import reductions as R
from . import rounding_and_math as M
from . import shape as S
from .creation import _shape


def _rsub(x, y): return E.Sub()(y, x)
def _rdiv(x, y): return E.Div()(y, x)
def _rpow(x, y): return E.Pow()(y, x)
def _rmatmul(x, y): return L.MatMul()(y, x)


def _compare(fn):
    """A comparison on the arrays: a boolean tensor, not on the tape."""
    def compare(self, other):
        return _wrap(xp.asarray(fn(self.data, S._data(other))))
    compare.__name__ = f"__{fn.__name__}__"
    return compare


def _transpose_method(self, *axes):
    """``t.transpose()`` reverses the axes; ``t.transpose(d0, d1)`` swaps two
    (PyTorch); use ``permute`` for a full permutation."""
    if not axes:
        return S.transpose(self)
    if len(axes) == 2 and all(isinstance(a, int) for a in axes):
        return S.swapaxes(self, *axes)
    return S.permute(self, *axes)


def _reshape_method(self, *shape):
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
    return S.reshape(self, _shape(shape))


def _to(self, dtype):
    """``t.to(dtype)`` (or ``t.to(other)``: other's dtype), PyTorch's way: the
    same dtype gives ``t`` itself; float to float stays on the tape; a cast to
    an integer or boolean dtype leaves it (such tensors carry no gradient)."""
    if isinstance(dtype, Tensor):
        dtype = dtype.dtype
    try:
        dt = xp.dtype(dtype)
    except TypeError as e:
        raise OpError(f"to: expected a dtype or a tensor, got {dtype!r}") from e
    if dt == self.dtype:
        return self
    if dt.kind in "fc" and self.dtype.kind in "fc":
        return E.cast(self, dt)
    return _wrap(self.data.astype(dt))


def _caster(dtype, name):
    def cast(self):
        return _to(self, dtype)
    cast.__name__ = name
    cast.__doc__ = f"``t.to({dtype.__name__})``."
    return cast


def _dims_method(fn):
    """``t.flip(0, 1)`` or ``t.flip((0, 1))``."""
    def method(self, *dims):
        return fn(self, dims[0] if len(dims) == 1 else dims)
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


METHODS = {
    "__add__": E.add, "__radd__": E.add, "__sub__": E.sub, "__rsub__": _rsub,
    "__mul__": E.mul, "__rmul__": E.mul, "__truediv__": E.div, "__rtruediv__": _rdiv,
    "__neg__": E.neg, "__pow__": E.pow, "__rpow__": _rpow, "__matmul__": L.matmul,
    "__rmatmul__": _rmatmul, "__abs__": E.abs, "__getitem__": S.getitem,
    "__lt__": _compare(operator.lt), "__le__": _compare(operator.le), "__gt__": _compare(operator.gt),
    "__ge__": _compare(operator.ge), "__eq__": _compare(operator.eq), "__ne__": _compare(operator.ne),
    "exp": E.exp, "log": E.log, "log1p": E.log1p, "sqrt": E.sqrt, "sin": E.sin, "cos": E.cos,
    "tanh": E.tanh, "sigmoid": E.sigmoid, "relu": E.relu, "abs": E.abs, "square": E.square, "pow": E.pow,
    "clamp": E.clamp, "clip": C.clip, "maximum": E.maximum, "minimum": E.minimum,
    "sum": R.sum, "mean": R.mean, "var": R.var, "std": R.std, "max": R.max, "min": R.min, "prod": R.prod,
    "logsumexp": R.logsumexp, "softmax": R.softmax, "log_softmax": R.log_softmax,
    "matmul": L.matmul,
    "reshape": _reshape_method, "view": _reshape_method, "transpose": _transpose_method,
    "permute": S.permute, "swapaxes": S.swapaxes, "expand": C.expand, "broadcast_to": S.broadcast_to,
    "squeeze": C.squeeze, "unsqueeze": C.unsqueeze, "flatten": C.flatten, "take": C.take,
    "gather": lambda self, dim, index: C.gather(self, dim, index), "astype": E.cast,
    "to": _to, "float": _caster(xp.float32, "float"), "double": _caster(xp.float64, "double"),
    "long": _caster(xp.int64, "long"), "int": _caster(xp.int32, "int"), "bool": _caster(xp.bool_, "bool"),
    "clone": RE.clone, "numel": RE.numel, "dim": lambda self: self.ndim,
    "argmax": O.argmax, "argmin": O.argmin, "sort": O.sort, "argsort": O.argsort, "topk": O.topk,
    "cumsum": CU.cumsum, "cumprod": CU.cumprod, "flip": _dims_method(RE.flip), "roll": RE.roll,
    "repeat": RE.repeat, "tril": RE.tril, "triu": RE.triu, "masked_fill": RE.masked_fill, "norm": EI.norm,
    "any": M.any, "all": M.all, "isnan": M.isnan, "isfinite": M.isfinite, "isinf": M.isinf,
    "floor": M.floor, "ceil": M.ceil, "round": M.round, "sign": M.sign, "rsqrt": M.rsqrt, "log2": M.log2,
    "log10": M.log10, "tan": M.tan, "asin": M.asin, "acos": M.acos, "atan": M.atan, "arcsin": M.asin,
    "arccos": M.acos, "arctan": M.atan, "sinh": M.sinh, "cosh": M.cosh, "atan2": M.atan2,
    "logaddexp": M.logaddexp,
}


def install() -> None:
    """Put ``METHODS`` and the ``T``/``mT`` properties on ``Tensor``."""
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: S.transpose(self), doc="All axes reversed.")
    Tensor.mT = property(lambda self: S.swapaxes(self, -1, -2), doc="The last two axes swapped.")
