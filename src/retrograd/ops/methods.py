"""The Tensor's operators and methods, installed in this one place.

``Tensor`` (in the core) knows nothing of the ops; ``install()`` — called once
by ``retrograd.ops`` — gives it ``+ − * / ** @``, comparisons, indexing and the
method forms of the functions (``t.sum()``, ``t.reshape(...)``, ``t.T`` …).
"""

from __future__ import annotations

import operator
import warnings

from ..autograd.tensor import Tensor, _wrap
from ..autograd.backend import xp
from ..autograd.op import DimError, OpError, off_tape
from . import composite as C
from . import cumulative as CU
from . import einsum as EI
from . import division as D
from . import elementwise as E
from . import logical as LG
from . import kinks as K
from . import linalg as L
from . import linalg_namespace as LA
from . import matrix as MX
from . import statistics as ST
from . import ordering as O
from . import rearrange as RE
from . import extrema as X
from . import inplace as IP
from . import reductions as R
from . import softmaxes as SM
from . import rounding_and_math as M
from . import shape as S
from . import special as SP
from . import elementwise_extra as EX
from . import scatter as SC, manipulation as MA, products as PR, order_statistics as OS, counting as CO
from . import sampling as SA
from .creation import _shape
from . import aliases as AL, matrix_extra as MXE
from . import torch_inplace_extra as TIE, torch_namespace_extra as TNE
from . import tensor_methods_extra as TMX  # more Tensor methods, their in-place forms and fills


def _rsub(x, y): return E.Sub()(y, x)
def _rdiv(x, y): return E.Div()(y, x)
def _rpow(x, y): return E.Pow()(y, x)
def _rmatmul(x, y): return L.MatMul()(y, x)
def _rfloordiv(x, y): return D.floor_divide(y, x)
def _rmod(x, y): return D.remainder(y, x)


def _compare(fn):
    """A comparison on the arrays: a boolean tensor, not on the tape (a replay computes it again).
    Against None, a string or a Python container it is Python's (``t == None`` is False, ``t < [1]``
    a TypeError), as PyTorch's."""
    def compare(self, other):
        return _wrap(xp.asarray(fn(self.data, S._data(other))))
    compare.__name__ = f"__{fn.__name__}__"
    traced = off_tape(compare)

    def operator_method(self, other):
        if other is None or isinstance(other, (str, bytes, list, tuple, dict, set)):
            return NotImplemented
        return traced(self, other)
    operator_method.__name__ = compare.__name__
    return operator_method


def _transpose_method(self, *axes, dim0=None, dim1=None):
    """``t.transpose()`` reverses the axes; ``t.transpose(d0, d1)`` (or
    ``dim0=, dim1=``) swaps two (PyTorch); use ``permute`` for a full permutation."""
    if dim0 is not None or dim1 is not None:
        given = list(axes) + [d for d in (dim0, dim1) if d is not None]
        if len(given) != 2:
            raise OpError(f"transpose: expected two dims to swap, got {given}")
        return S.transpose(self, given[0], given[1])  # a swap: the order does not matter
    if not axes:
        return S.transpose(self)
    if len(axes) == 2 and all(isinstance(a, int) for a in axes):
        return S.swapaxes(self, *axes)
    return S.permute(self, *axes)


def _matrix_transpose(self):
    if self.ndim == 0:  # PyTorch: deprecated, the identity (with a warning)
        warnings.warn("Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.",
                      UserWarning, stacklevel=2)
        return self
    if self.ndim < 2:
        raise OpError(f"mT: needs a matrix or a batch of matrices, got a {self.ndim}-d tensor (PyTorch refuses it "
                      f"too); use .T or reshape it to (n, 1)")
    return S.swapaxes(self, -1, -2)


def _reshape_method(self, *shape):
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
    return S.reshape(self, _shape(shape))


@off_tape
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
    """``t.flip(0, 1)``, ``t.flip((0, 1))`` or ``t.flip(dims=(0, 1))``."""
    def method(self, *dims, **keywords):
        if keywords:
            if dims or set(keywords) != {"dims"}:
                raise OpError(f"{fn.__name__}: expected the dims once, positionally or as dims=")
            return fn(self, keywords["dims"])
        return fn(self, dims[0] if len(dims) == 1 else dims)
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


class _Size(int):
    """``t.size``: the element count (NumPy's ``size``, an int) that can also be
    called as PyTorch's ``t.size()`` (the shape) or ``t.size(dim)`` (one dim's length).

    Beside a tensor in arithmetic it acts as the plain Python int it equals
    (weak: ``x / x.size`` keeps float32): like a NumPy scalar it has
    ``shape == ()`` and ``item()``, which the ops use to unwrap scalars."""

    shape = ()

    def __new__(cls, dims):
        count = 1
        for n in dims:
            count *= n
        self = super().__new__(cls, count)
        self.dims = tuple(dims)
        return self

    def item(self) -> int:
        """The count as a plain int."""
        return int(self)

    def __call__(self, dim=None):
        if dim is None:
            return self.dims
        nd = len(self.dims)
        if not nd:
            raise OpError(f"size: dim {dim!r} given, but a 0-d tensor has no dimensions (PyTorch refuses it too)")
        if not isinstance(dim, int) or isinstance(dim, bool) or not -nd <= dim < nd:
            raise DimError(f"size: dim {dim!r} is out of range for a tensor of shape {self.dims}")
        return self.dims[dim]


def _squeeze_method(self, *dims, axis=None, dim=None):
    """``t.squeeze()``, PyTorch's ``t.squeeze(d)`` / ``t.squeeze(d0, d1)`` (a dim
    whose size is not 1 stays), or NumPy's ``t.squeeze(axis=a)`` (it must be 1)."""
    if dims:
        if dim is not None:
            raise OpError("squeeze: dim given both positionally and as a keyword")
        dim = dims[0] if len(dims) == 1 else dims
    return C.squeeze(self, dim, axis=axis)


def _split_method(self, split_size_or_sections=None, dim=0, *, split_size=None):
    """PyTorch's ``t.split``: chunks of ``split_size`` (or of the listed sizes) along ``dim``."""
    if (split_size_or_sections is None) == (split_size is None):
        raise OpError("split: give split_size_or_sections (or split_size), once")
    return S.split_sizes(self, split_size if split_size is not None else split_size_or_sections, dim)


def _new(fill, name):
    def make(self, *size, dtype=None, requires_grad=False):
        shape = _shape(size)
        dt = self.dtype if dtype is None else dtype
        return Tensor(xp.full(shape, fill, dtype=dt), requires_grad=requires_grad)
    make.__name__ = name
    make.__doc__ = f"A tensor of {fill}s of ``size`` (PyTorch's ``{name}``), with this tensor's dtype unless " \
                   f"``dtype`` says" + (" (zeros: retrograd never hands out uninitialised memory)."
                                       if name == "new_empty" else ".")
    return make


def _new_full(self, size, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``, with this tensor's dtype unless ``dtype`` says."""
    return Tensor(xp.full(_shape((size,)), fill_value, dtype=self.dtype if dtype is None else dtype),
                  requires_grad=requires_grad)


def _new_tensor(self, data, dtype=None, requires_grad=False):
    """A new tensor of ``data`` (copied, off the tape), with this tensor's dtype unless ``dtype`` says."""
    data = data.data if isinstance(data, Tensor) else data
    return Tensor(xp.array(data, dtype=self.dtype if dtype is None else dtype), requires_grad=requires_grad)


METHODS = {
    "__add__": E.add, "__radd__": E.add, "__sub__": E.sub, "__rsub__": _rsub,
    "__mul__": E.mul, "__rmul__": E.mul, "__truediv__": E.true_divide, "__rtruediv__": _rdiv,
    "__floordiv__": D.floor_divide, "__rfloordiv__": _rfloordiv, "__mod__": D.remainder, "__rmod__": _rmod,
    "__neg__": E.neg, "__pow__": E.pow, "__rpow__": _rpow, "__matmul__": L.matmul,
    "__rmatmul__": _rmatmul, "__abs__": K.abs, "__getitem__": S.getitem,
    "__lt__": _compare(operator.lt), "__le__": _compare(operator.le), "__gt__": _compare(operator.gt),
    "__ge__": _compare(operator.ge), "__eq__": _compare(operator.eq), "__ne__": _compare(operator.ne),
    "exp": E.exp, "log": E.log, "log1p": E.log1p, "sqrt": E.sqrt, "sin": E.sin, "cos": E.cos,
    "tanh": E.tanh, "sigmoid": E.sigmoid, "relu": K.relu, "abs": K.abs, "square": E.square, "pow": E.pow,
    "clamp": K.clamp, "clip": C.clip, "maximum": K.maximum, "minimum": K.minimum,
    "sum": R.sum, "mean": R.mean, "var": R.var, "std": R.std, "max": X.max, "min": X.min, "prod": R.prod,
    "logsumexp": SM.logsumexp, "softmax": SM.softmax, "log_softmax": SM.log_softmax,
    "amax": X.amax, "amin": X.amin, "aminmax": X.aminmax,
    "split": _split_method, "chunk": S.chunk, "narrow": S.narrow, "index_select": S.index_select,
    "unbind": S.unbind, "movedim": S.movedim, "moveaxis": S.movedim,
    "expand_as": lambda self, other: C.expand(self, tuple(other.shape)),
    "reshape_as": lambda self, other: S.reshape(self, tuple(other.shape)),
    "view_as": lambda self, other: S.reshape(self, tuple(other.shape)),
    "type_as": lambda self, other: _to(self, other.dtype),
    "new_zeros": _new(0, "new_zeros"), "new_ones": _new(1, "new_ones"), "new_empty": _new(0, "new_empty"), "new_full": _new_full,
    "new_tensor": _new_tensor,
    "matmul": L.matmul,
    "reshape": _reshape_method, "view": _reshape_method, "transpose": _transpose_method,
    "permute": S.permute, "swapaxes": S.swapaxes, "expand": C.expand, "broadcast_to": S.broadcast_to,
    "squeeze": _squeeze_method, "unsqueeze": C.unsqueeze, "flatten": C.flatten, "unflatten": C.unflatten, "take": C.take,
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
    "add": E.add, "sub": E.sub, "mul": E.mul, "div": D.div, "floor_divide": D.floor_divide,
    "remainder": D.remainder, "fmod": D.fmod, "neg": E.neg, "reciprocal": E.reciprocal, "expm1": E.expm1,
    "exp2": E.exp2, "erf": E.erf, "trunc": M.trunc, "fix": M.fix, "frac": M.frac,
    "nonzero": E.nonzero, "masked_select": RE.masked_select, "tile": RE.tile,
    "mm": MX.mm, "bmm": MX.bmm, "mv": MX.mv, "dot": MX.dot, "outer": MX.outer, "addmm": MX.addmm,
    "diag": MX.diag, "diagonal": MX.diagonal, "trace": MX.trace, "kron": MX.kron, "cross": MX.cross,
    "diff": MX.diff, "nansum": ST.nansum, "nanmean": ST.nanmean, "median": ST.median,
    "logcumsumexp": ST.logcumsumexp, "cummax": ST.cummax, "cummin": ST.cummin,
    "det": LA.det, "logdet": LA.logdet, "slogdet": LA.slogdet, "inverse": LA.inv, "pinverse": LA.pinverse,
    "matrix_power": LA.matrix_power, "matrix_exp": LA.matrix_exp, "svd": LA.torch_svd, "cholesky": LA.torch_cholesky,
    # logical and bitwise (off the tape), comparisons as methods, and PyTorch's small conveniences
    "__and__": LG.bitwise_and, "__rand__": lambda self, other: LG.bitwise_and(other, self),
    "__or__": LG.bitwise_or, "__ror__": lambda self, other: LG.bitwise_or(other, self),
    "__xor__": LG.bitwise_xor, "__rxor__": lambda self, other: LG.bitwise_xor(other, self),
    "__invert__": LG.bitwise_not, "bitwise_not": LG.bitwise_not, "bitwise_and": LG.bitwise_and,
    "bitwise_or": LG.bitwise_or, "bitwise_xor": LG.bitwise_xor, "logical_not": LG.logical_not,
    "logical_and": LG.logical_and, "logical_or": LG.logical_or, "logical_xor": LG.logical_xor,
    "isclose": LG.isclose, "allclose": LG.allclose, "equal": LG.equal,
    "eq": _compare(operator.eq), "ne": _compare(operator.ne), "lt": _compare(operator.lt),
    "le": _compare(operator.le), "gt": _compare(operator.gt), "ge": _compare(operator.ge),
    "clamp_min": lambda self, min: K.clamp(self, min=min), "clamp_max": lambda self, max: K.clamp(self, max=max),
    "t": lambda self: _t_method(self), "contiguous": lambda self, memory_format=None: self,
    "is_contiguous": lambda self, memory_format=None: bool(self.data.flags.c_contiguous),
    "is_floating_point": lambda self: self.data.dtype.kind == "f", "nelement": RE.numel,
    "ndimension": lambda self: self.ndim, "element_size": lambda self: self.data.itemsize,
    "half": _caster(xp.float16, "half"), "short": _caster(xp.int16, "short"), "byte": _caster(xp.uint8, "byte"),
    "char": _caster(xp.int8, "char"),
    "__contains__": lambda self, item: _contains(self, item), "__format__": lambda self, spec: _format(self, spec),
    # special functions and more elementwise math (PyTorch's method forms)
    "lgamma": SP.lgamma, "digamma": SP.digamma, "polygamma": lambda self, n: SP.polygamma(n, self),
    "mvlgamma": SP.mvlgamma, "erfc": SP.erfc, "erfinv": SP.erfinv, "xlogy": SP.xlogy, "logit": SP.logit,
    "sinc": SP.sinc, "i0": SP.i0, "hypot": EX.hypot, "logaddexp2": EX.logaddexp2, "float_power": EX.float_power,
    "fmax": EX.fmax, "fmin": EX.fmin, "heaviside": EX.heaviside, "nextafter": EX.nextafter, "ldexp": EX.ldexp,
    "gcd": EX.gcd, "lcm": EX.lcm, "sgn": EX.sgn, "signbit": EX.signbit, "deg2rad": EX.deg2rad,
    "rad2deg": EX.rad2deg, "nan_to_num": EX.nan_to_num, "lerp": EX.lerp, "addcmul": EX.addcmul,
    "addcdiv": EX.addcdiv, "true_divide": E.true_divide,
    # the scatter family, tensor manipulation, products, order statistics, counting and sampling
    "scatter": SC.scatter, "scatter_add": SC.scatter_add, "scatter_reduce": SC.scatter_reduce,
    "index_add": SC.index_add, "index_copy": SC.index_copy, "index_fill": SC.index_fill,
    "masked_scatter": SC.masked_scatter, "take_along_dim": MA.take_along_dim, "select": MA.select,
    "tensor_split": MA.tensor_split, "vsplit": MA.vsplit, "hsplit": MA.hsplit, "dsplit": MA.dsplit,
    "ravel": MA.ravel, "rot90": MA.rot90, "fliplr": MA.fliplr, "flipud": MA.flipud,
    "repeat_interleave": MA.repeat_interleave, "diag_embed": MA.diag_embed, "diagflat": MA.diagflat,
    "inner": PR.inner, "vdot": PR.vdot, "renorm": PR.renorm, "cov": PR.cov, "dist": PR.dist,
    "kthvalue": OS.kthvalue, "mode": OS.mode, "msort": OS.msort, "nanmedian": OS.nanmedian,
    "quantile": OS.quantile, "nanquantile": OS.nanquantile, "unique": CO.unique,
    "unique_consecutive": CO.unique_consecutive, "bincount": CO.bincount, "histc": CO.histc,
    "count_nonzero": CO.count_nonzero, "multinomial": SA.multinomial, "bernoulli": SA.bernoulli,
    # PyTorch's other names, tensor queries, conveniences and more matrix functions (their in-place forms too)
    **AL.METHODS, **MXE.METHODS, **TNE.METHODS, **TIE.METHODS, **TMX.METHODS,
}


def _t_method(self):
    """``t()``: a matrix transposed; a vector or a number as it is (PyTorch's ≤ 2-D rule)."""
    if self.ndim > 2:
        raise OpError(f"t: expects a tensor with <= 2 dimensions, but it has {self.ndim}; use transpose(d0, d1) or "
                      f"mT")
    return S.transpose(self) if self.ndim == 2 else self


def _contains(self, item):
    """``item in t``: whether some entry equals ``item`` (a number, or a tensor broadcast against t)."""
    if isinstance(item, (Tensor, int, float, bool)) or hasattr(item, "dtype"):
        return bool(xp.asarray(S._data(item) == self.data).any())
    raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(item)}")


def _format(self, spec):
    """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as PyTorch's; others as their repr."""
    if self.ndim == 0:
        return format(self.item(), spec)
    return object.__format__(self, spec)


def install() -> None:
    """Put ``METHODS``, the in-place methods (``inplace.METHODS``) and the ``T``/``mT`` properties on ``Tensor``."""
    for name, fn in (*METHODS.items(), *IP.METHODS.items()):
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: S.transpose(self), doc="All axes reversed.")
    Tensor.mT = property(_matrix_transpose, doc="The last two axes swapped (a matrix or a batch of them).")
    Tensor.size = property(lambda self: _Size(self.data.shape), doc=_Size.__doc__)
