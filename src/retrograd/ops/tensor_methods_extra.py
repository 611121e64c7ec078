"""PyTorch Tensor methods and properties that ordinary model and test code uses, beyond the op
families: ``where``, ``sum_to_size``, ``unfold`` (sliding windows), ``swapdims``, the legacy ``new`` and
``type``, ``cfloat``/``cdouble``, and the introspection of a host tensor (``is_cpu``, ``layout``,
``stride()``, ``data_ptr()``, ``dim_order()`` …); ``angle``, ``igamma`` and ``igammac`` are installed from
``torch_namespace_extra`` and ``rg.special``.

Each is a composition of existing ops, so gradients come from theirs. ``METHODS`` also gathers the
in-place forms of ``tensor_methods_inplace`` and the fills of ``tensor_methods_fills``: ``ops.methods``
installs this one table.

Introspection answers for retrograd's arrays: ``stride()``, ``storage_offset()`` and ``data_ptr()`` read
the array's (NumPy's) layout, in elements as PyTorch counts them — a NumPy view can have a negative
stride (``flip`` makes one; PyTorch's ``flip`` copies). ``layout`` is the string ``"strided"`` (the only
layout retrograd has); sparse, quantized, meta, nested and MKL-DNN tensors do not exist here, so their
``is_*`` are False. ``name`` is None (no named tensors). ``output_nr`` is the tensor's index among its
op's outputs as retrograd records them: an op with several outputs (``rg.max(x, dim)``'s values and
indices, a recurrent layer) numbers them; ``unbind`` and ``split`` record one op per piece, so their
pieces say 0 where PyTorch's say their position.
"""

from __future__ import annotations

import numbers
import operator

from ..autograd.backend import xp
from ..autograd.op import DimError, OpError
from ..autograd.tensor import Tensor
from . import elementwise as E
from . import inplace as IP
from . import reductions as R
from . import shape as S
from . import special as SP
from . import torch_namespace_extra as TNE
from . import tensor_methods_fills as FILLS
from . import tensor_methods_inplace as INPLACE
from .creation import _shape


class MethodError(OpError, RuntimeError):
    """A Tensor method refused its arguments (``sum_to_size`` to a size the tensor does not expand from,
    an ``unfold`` window longer than the dim …): a ``RuntimeError`` as PyTorch raises, and an ``OpError``."""


def _int(fn, what, position, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fn}(): argument '{what}' (position {position}) must be int, not {type(value).__name__}")
    return int(value)


def _dim(fn, dim, ndim):
    """``dim`` in [−n, n) with n = max(ndim, 1) (a 0-d tensor takes 0 and −1), as a non-negative int."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise DimError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim}) ({fn})")
    return dim % n


# ------------------------------------------------------------------ values
def where(self, condition, other):
    """``x.where(condition, other)``: ``rg.where(condition, x, other)`` — x where the boolean ``condition``
    is True, else ``other`` (a tensor or a number); all three broadcast. Gradients as ``rg.where``'s."""
    cond = condition.data if isinstance(condition, Tensor) else xp.asarray(condition)
    if cond.dtype != bool:
        raise MethodError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                          f"{_torch_name(cond.dtype)}; compare first (e.g. x > 0) or call .bool()")
    return E.where(condition, self, other)


def sum_to_size(self, *size, **keywords):
    """``x.sum_to_size(*size)`` (or one tuple): x summed down to ``size``, which must expand to x's shape
    (as ``size`` broadcasts against it): the leading dims x has beyond ``size`` are summed away, and
    so are the dims where ``size`` has 1 and x does not, kept with length 1. The same shape gives x
    itself. The adjoint of ``expand``: x̄ = ȳ expanded back. Integer and boolean sums are int64, as
    ``sum``'s."""
    if keywords:
        if set(keywords) != {"size"} or size:
            raise TypeError(f"sum_to_size() got unexpected keyword arguments {sorted(keywords)} (give the size once)")
        size = (keywords["size"],)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    elif len(size) > 1 and not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in size):
        raise TypeError(f"sum_to_size() takes 1 positional argument but {len(size)} were given (ints, or one "
                        f"tuple of them)")
    size = tuple(_int("sum_to_size", "size", 1, n) for n in size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != n and s != 1 for s, n in zip(size, shape[lead:])):
        raise MethodError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}. (sum_to_size: each "
                          f"dim of the size must be the tensor's or 1, aligned from the right)")
    if size == shape:
        return self
    axes = tuple(range(lead)) + tuple(lead + k for k, (s, n) in enumerate(zip(size, shape[lead:])) if s == 1 != n)
    return S.reshape(R.sum(self, axis=axes), size)


def unfold(self, dimension, size, step):
    """``x.unfold(dimension, size, step)``: every window of ``size`` consecutive entries along
    ``dimension``, starting each ``step`` entries: that dim becomes the window count
    (len − size)//step + 1 and a new last dim of length ``size`` holds the windows' entries. A copy
    (PyTorch's is a view); x̄ sums the gradients of every window an entry falls in."""
    dimension = _int("unfold", "dimension", 1, dimension)
    size, step = _int("unfold", "size", 2, size), _int("unfold", "step", 3, step)
    d = _dim("unfold", dimension, self.ndim)
    length = self.shape[d] if self.ndim else 1
    if size < 0:
        raise MethodError(f"size is {size} but must be >= 0 (unfold)")
    if size > length:
        raise MethodError(f"maximum size for tensor at dimension {d} is {length} but size is {size} (unfold)")
    if step <= 0:
        raise MethodError(f"step is {step} but must be > 0 (unfold)")
    if not self.ndim:  # PyTorch: a 0-d tensor unfolds to its one entry (or none)
        return S.reshape(self, (1,)) if size else S.getitem(S.reshape(self, (1,)), slice(0, 0))
    count = (length - size) // step + 1
    at = (xp.arange(count)[:, None] * step + xp.arange(size)[None, :]).reshape(-1)
    windows = S.index_select(self, d, at)  # (…, count·size, …): repeated entries accumulate their gradients
    split = S.reshape(windows, tuple(self.shape[:d]) + (count, size) + tuple(self.shape[d + 1:]))
    return S.movedim(split, d + 1, -1)


def swapdims(self, dim0, dim1):
    """``x.swapdims(dim0, dim1)``: PyTorch's alias of ``transpose(dim0, dim1)``."""
    return S.swapaxes(self, dim0, dim1)


# ------------------------------------------------------------------ legacy constructors and casts
_LEGACY = {f"torch.{name}Tensor": dtype for dtype, name in IP._TORCH_NAMES.items()}  # "torch.FloatTensor": …
_torch_name = IP._torch_name


def new(self, *args, device=None):
    """PyTorch's legacy ``x.new(...)``: a new tensor of x's dtype, never on the tape.

    - ``x.new()``: an empty 1-d tensor;
    - ``x.new(2, 3)`` or ``x.new((2, 3))``: a tensor of that size, zeros (PyTorch's is uninitialised);
    - ``x.new([1, 2])``, ``x.new(array)``, ``x.new(tensor)``: a copy of the data cast to x's dtype (a
      tensor of another dtype is refused, as PyTorch refuses it).

    A tuple is a size, as ``torch.Size`` is in PyTorch: retrograd's ``x.size()`` and ``x.shape`` are
    plain tuples, and ``x.new(x.size())`` is the legacy idiom (PyTorch reads a plain tuple as data:
    write a list for data). ``device`` may only be the tensor's (``"cpu"`` on the host); ``dtype`` is
    refused, as PyTorch refuses it (use ``new_tensor``/``new_zeros``)."""
    if device is not None and str(device) != str(self.device):
        raise OpError(f"new(): device {device!r} is not the tensor's ({self.device}); retrograd keeps every array "
                      f"on its backend")
    dtype = self.dtype
    if not args:
        return Tensor(xp.zeros((0,), dtype=dtype))
    if len(args) == 1 and not isinstance(args[0], (numbers.Number, tuple)):
        data = args[0]
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        if isinstance(data, Tensor):
            if data.dtype != dtype:
                raise TypeError(f"new(): expected a tensor of dtype {dtype} (the tensor's), got {data.dtype}; "
                                f"convert it first, or use new_tensor(data)")
            return Tensor(data.data.copy())
        return Tensor(xp.asarray(data).astype(dtype))  # an array or a list crosses to the backend, cast
    if len(args) == 1 and isinstance(args[0], numbers.Number) and not isinstance(args[0], numbers.Integral):
        raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
    shape = _shape(args)
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in shape):
        raise TypeError(f"new(): argument 'size' must be a tuple of ints, got {list(shape)}")
    if any(n < 0 for n in shape):
        raise MethodError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    return Tensor(xp.zeros(shape, dtype=dtype))


def type_(self, dtype=None, non_blocking=False, **kwargs):
    """PyTorch's ``x.type()``: with no dtype, the legacy type name, e.g. ``"torch.FloatTensor"`` for
    float32 and ``"torch.LongTensor"`` for int64 (PyTorch's strings, which code compares against).
    ``x.type(dtype)`` — a NumPy dtype, ``rg.float64``, or such a name (``"torch.DoubleTensor"``) — is
    ``x.to(dtype)``: x itself when it already has that dtype, on the tape between floating dtypes."""
    if kwargs:
        if set(kwargs) != {"dtype"} or dtype is not None:
            raise TypeError(f"type() got unexpected keyword arguments {sorted(kwargs)}")
        dtype = kwargs["dtype"]
    if dtype is None:
        return f"torch.{_torch_name(self.dtype)}Tensor"
    if isinstance(dtype, str):
        if dtype.startswith("torch.cuda."):
            raise MethodError(f"type({dtype!r}): retrograd keeps every array on its backend; call "
                              f"rg.set_backend('cupy') before creating tensors to compute on a GPU")
        if dtype not in _LEGACY:
            raise ValueError(f"invalid type: {dtype!r} (a legacy name such as 'torch.DoubleTensor', or a dtype)")
        dtype = xp.dtype(_LEGACY[dtype])
    elif isinstance(dtype, (bool, numbers.Number)):
        raise TypeError("dtype must be a type, str, or dtype object")
    return self.to(dtype)


type_.__name__ = type_.__qualname__ = "type"


def cfloat(self):
    """``x.cfloat()``: ``x.to(complex64)``."""
    return self.to(xp.complex64)


def cdouble(self):
    """``x.cdouble()``: ``x.to(complex128)``."""
    return self.to(xp.complex128)


# ------------------------------------------------------------------ introspection of a host tensor
class Layout(str):
    """``x.layout``: how a tensor's entries sit in memory. retrograd has one layout, ``"strided"``
    (PyTorch's ``torch.strided``); the object is that string."""

    def __repr__(self):
        return f"retrograd.{str.__str__(self)}"


strided = Layout("strided")


def _device_index(self):
    return getattr(getattr(self.data, "device", None), "id", None)


def _pointer(array) -> int:
    """The address of an array's first entry (NumPy's, or CuPy's device pointer)."""
    interface = getattr(array, "__array_interface__", None)
    if interface is not None:
        return int(interface["data"][0])
    return int(array.data.ptr)


def stride(self, dim=None):
    """``x.stride()``: the step in entries between neighbours along each dim (a tuple); ``x.stride(d)``
    one dim's. Read from the array, so a NumPy view can step backwards (a negative stride, from
    ``flip``) or not at all (0, from ``expand``)."""
    steps = tuple(int(s) // self.data.itemsize for s in self.data.strides)
    if dim is None:
        return steps
    dim = _int("stride", "dim", 1, dim)
    if not self.ndim:
        raise DimError(f"Dimension specified as {dim} but tensor has no dimensions")
    n = self.ndim
    if not -n <= dim < n:
        raise DimError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return steps[dim]


def _root(array):
    """The array that owns the memory a view looks at."""
    while isinstance(getattr(array, "base", None), type(array)):
        array = array.base
    return array


def storage_offset(self) -> int:
    """``x.storage_offset()``: how many entries into its memory block (the array that owns it) x's
    first entry sits — 0 for a tensor that owns its array, k for a slice starting k entries in."""
    if not self.data.size:
        return 0
    return (_pointer(self.data) - _pointer(_root(self.data))) // self.data.itemsize


def data_ptr(self) -> int:
    """``x.data_ptr()``: the address of x's first entry (0 for an empty tensor, as PyTorch's)."""
    return _pointer(self.data) if self.data.size else 0


def is_pinned(self) -> bool:
    """``x.is_pinned()``: False — retrograd has no page-locked host memory."""
    return False


def is_shared(self) -> bool:
    """``x.is_shared()``: False — retrograd's arrays live in one process's memory (see ``share_memory_``)."""
    return False


def share_memory_(self):
    """``x.share_memory_()``: x, unchanged. PyTorch moves a CPU tensor's storage into shared memory for
    ``torch.multiprocessing``; retrograd has no such sharing (``rg.distributed`` sends arrays), so
    nothing moves and ``is_shared()`` stays False."""
    return self


def _channels_last(self) -> bool:
    """Whether a 4-d tensor's strides are those of a dense channels-last (N, H, W, C) layout, size-1
    dims skipped (PyTorch's test, which ``dim_order`` consults)."""
    if self.ndim != 4:
        return False
    expected, steps = 1, stride(self)
    for d in (1, 3, 2, 0):
        if self.shape[d] == 1:
            continue
        if steps[d] != expected:
            return False
        expected *= self.shape[d]
    return True


def _should_swap(steps, shape, a, b):
    """PyTorch's comparison of two dims for the physical order: by stride (0 strides do not order),
    ties by length."""
    def ge(p, q):
        return q == 0 or p != 0 and (p >= q or p % q == 0)
    sa, sb = steps[a], steps[b]
    if sa == 0 or sb == 0:
        return 0
    if sa == sb:
        return 0 if ge(shape[b], shape[a]) else 1
    if ge(sb, sa):
        return -1
    return 1 if ge(sa, sb) else 0


def dim_order(self, *, ambiguity_check=False):
    """``x.dim_order()``: the dims from the outermost in memory to the innermost — (0, 1, …, n−1) for a
    contiguous tensor, (n−1, …, 0) for a transposed one — PyTorch's order (a stable sort by stride).
    ``ambiguity_check=True`` (or a list of memory formats, checked with ``is_contiguous``) refuses a
    tensor whose order is not unique: a dim of length 1, or two dims with the same stride."""
    if not isinstance(ambiguity_check, (bool, list)):
        raise TypeError("ambiguity_check must be bool or list of memory formats")
    steps, shape, n = stride(self), tuple(self.shape), self.ndim
    formats = ambiguity_check if isinstance(ambiguity_check, list) else []
    check = ambiguity_check if isinstance(ambiguity_check, bool) else True
    several = any(map(operator.eq, steps, steps[1:])) or 1 in shape
    if check and several and sum(bool(self.is_contiguous(memory_format=f)) for f in formats) != 1:
        raise MethodError("The tensor does not have unique dim order, or cannot map to exact one of the given "
                          "memory formats.")
    if n < 2:
        return tuple(range(n))
    contiguous, last = bool(self.data.flags.c_contiguous), _channels_last(self)
    if contiguous and not last:
        return tuple(range(n))
    if last and not contiguous:
        return (0, *range(2, n), 1)
    perm = list(reversed(range(n)))
    for i in range(1, n):  # PyTorch's insertion sort, back to front, with ambiguous comparisons
        d1 = i
        for d0 in reversed(range(i)):
            c = _should_swap(steps, shape, perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    if ambiguity_check and any(_should_swap(steps, shape, perm[i], perm[i + 1]) != -1 for i in range(n - 1)):
        raise MethodError("The tensor does not have unique dim order.")
    return tuple(reversed(perm))


def _output_nr(self) -> int:
    node = self._node
    return int(self._oi) if node is not None and node.multi else 0


def _flag(value, doc):
    return property(lambda self: value, doc=doc)


_PROPERTIES = {
    "is_cpu": property(lambda self: _device_index(self) is None, doc="Whether the array is on the host (NumPy)."),
    "is_cuda": property(lambda self: _device_index(self) is not None,
                        doc="Whether the array is on a GPU (CuPy: ``rg.set_backend('cupy')``)."),
    "is_sparse": _flag(False, "False: retrograd's tensors are dense."),
    "is_quantized": _flag(False, "False: retrograd has no quantized tensors."),
    "is_meta": _flag(False, "False: every retrograd tensor holds its data."),
    "is_nested": _flag(False, "False: retrograd has no nested (ragged) tensors."),
    "is_mkldnn": _flag(False, "False: retrograd has no MKL-DNN layout."),
    "layout": _flag(strided, Layout.__doc__),
    "name": _flag(None, "None: retrograd has no named tensors."),
    "output_nr": property(_output_nr, doc="The tensor's index among the outputs of the op that made it (0 for a "
                                          "leaf or a single-output op)."),
}

METHODS = {
    "where": where, "sum_to_size": sum_to_size, "unfold": unfold, "swapdims": swapdims, "angle": TNE.angle,
    "igamma": SP.gammainc, "igammac": SP.gammaincc, "new": new, "type": type_, "cfloat": cfloat, "cdouble": cdouble,
    "stride": stride, "storage_offset": storage_offset, "data_ptr": data_ptr, "is_pinned": is_pinned,
    "is_shared": is_shared, "share_memory_": share_memory_, "dim_order": dim_order,
    **_PROPERTIES, **INPLACE.METHODS, **FILLS.METHODS,
}
"""The Tensor methods and properties of this module and of its two in-place companions (installed by
``ops.methods``)."""

__all__ = ["Layout", "MethodError", "strided"]
