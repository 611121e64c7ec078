"""PyTorch's other names for existing functions, its small tensor queries and conveniences, and a few
small compositions.

- Aliases — the same function under PyTorch's other name, so its values, gradients and dtypes are
  the original's: ``absolute`` (abs), ``arcsin``/``arccos``/``arctan``, ``arcsinh``/``arccosh``/
  ``arctanh``, ``arctan2``, ``multiply``, ``subtract``, ``divide``, ``negative``, ``greater`` …
  ``not_equal``, ``ger`` (outer), ``positive`` (the tensor itself).
- Complex conveniences on real tensors, as PyTorch answers them: ``conj``, ``conj_physical``,
  ``resolve_conj``, ``resolve_neg`` and ``real`` return the tensor itself (so gradients flow through
  them); ``imag`` of a real tensor is refused. Complex tensors (which never require grad here) get
  their conjugate and parts computed off the tape. ``adjoint`` and ``mH`` are the conjugate transpose
  of the last two dims, ``H`` of a matrix.
- Queries: ``is_complex``, ``is_floating_point``, ``is_signed``, ``is_nonzero``, ``is_same_size``,
  ``is_inference``, ``is_conj``, ``is_neg``, ``isneginf``, ``isposinf``, ``isreal``, and the Tensor's
  ``nbytes``, ``itemsize``, ``device``, ``get_device()``, ``cpu()``, ``cuda()``, ``new_empty_strided``.
- ``copysign`` (composed: x̄ = ȳ·sign where x ≠ 0, 0 at x = 0, as PyTorch), ``frexp`` (the mantissa
  on the tape, m̄ = ȳ·2⁻ᵉ; the exponent an int32 constant), the integer shifts
  ``bitwise_left_shift``/``bitwise_right_shift`` (and ``<<``, ``>>``), ``argwhere``,
  ``split_with_sizes``, ``narrow_copy``.
- The in-place forms of these (``absolute_``, ``multiply_``, ``copysign_``, ``acosh_`` … and ``<<=``),
  built with ``ops.inplace``'s helpers: off the tape only, as every in-place method of retrograd.
"""

from __future__ import annotations

import numbers
import warnings
from typing import NamedTuple

from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.op import OpError, off_tape
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from . import division as D
from . import elementwise as E
from . import elementwise_extra as EX
from . import inplace as IP
from . import kinks as K
from . import rearrange as RE
from . import rounding_and_math as M
from . import shape as S
from .matrix import outer


class AliasError(OpError, RuntimeError):
    """An argument PyTorch refuses with a ``RuntimeError``: also an ``OpError``."""


def _tensor(fn: str, x, position: int = 1, argument: str = "input") -> Tensor:
    """``x`` if it is a tensor; a Python number (or list …) is refused as PyTorch's ``TypeError``."""
    EX.require_tensor(fn, x, position, argument)
    return x if isinstance(x, Tensor) else _wrap(xp.asarray(x))


# ---------------------------------------------------------------- PyTorch's other names
arcsin, arccos, arctan, arctan2 = M.asin, M.acos, M.atan, M.atan2
arcsinh, arccosh, arctanh = M.asinh, M.acosh, M.atanh
multiply, subtract, divide = E.mul, E.sub, D.div
greater, greater_equal, less, less_equal, not_equal = EX.gt, EX.ge, EX.lt, EX.le, EX.ne
ger = outer


def absolute(input):  # noqa: A002 - torch's names
    """|x| (PyTorch's ``absolute``, its other name for ``abs``): the same values and gradient
    (ties at 0 follow ``rg.conventions``). Booleans are refused, as PyTorch has no kernel for them."""
    x = _tensor("absolute", input)
    if x.dtype.kind == "b":
        raise EX.DtypeNotSupported(f"absolute: not implemented for bool tensors (got {EX.describe(x)}), as PyTorch's "
                                   f"abs; convert first, e.g. x.long()")
    return K.abs(x)


def negative(input):  # noqa: A002
    """−x (PyTorch's ``negative``, its other name for ``neg``): x̄ = −ȳ. A boolean tensor is refused,
    as PyTorch refuses it: invert a mask with ``~`` or ``logical_not``."""
    x = _tensor("negative", input)
    if x.dtype.kind == "b":
        raise AliasError("negative: Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                         "to invert a mask, use the `~` or `logical_not()` operator instead.")
    return E.neg(x)


def positive(input):  # noqa: A002
    """+x: the tensor itself (PyTorch's ``positive`` returns its input, not a copy); booleans refused."""
    x = _tensor("positive", input)
    if x.dtype.kind == "b":
        raise AliasError("positive: The `+` operator, on a bool tensor is not supported.")
    return x


# ---------------------------------------------------------------- complex conveniences, real tensors as PyTorch's
def _conjugated(x):
    """The complex conjugate of a complex tensor (off the tape: complex tensors never require grad)."""
    return _wrap(xp.conj(x.data))


conjugate = off_tape(_conjugated)


def conj(input):  # noqa: A002
    """The complex conjugate x̄ᵣ − i·xᵢ; a real (or integer, boolean) tensor is returned itself, as
    PyTorch does — its gradient flows through unchanged."""
    x = _tensor("conj", input)
    return conjugate(x) if x.dtype.kind == "c" else x


def conj_physical(input):  # noqa: A002
    """``conj``, materialised (PyTorch's ``conj_physical``; retrograd's ``conj`` is never lazy, so the
    two are one): a real tensor is returned itself."""
    x = _tensor("conj_physical", input)
    return conjugate(x) if x.dtype.kind == "c" else x


def resolve_conj(input):  # noqa: A002
    """The tensor itself: retrograd materialises every conjugate at once (``is_conj()`` is always False)."""
    return _tensor("resolve_conj", input)


def resolve_neg(input):  # noqa: A002
    """The tensor itself: retrograd has no lazy negation (``is_neg()`` is always False)."""
    return _tensor("resolve_neg", input)


@off_tape
def _complex_part(x, part):
    return _wrap(getattr(x.data, part))


def real(input):  # noqa: A002
    """The real part: of a complex tensor a view of its real parts (off the tape, like every complex
    computation here); a real tensor is returned itself, as PyTorch does."""
    x = _tensor("real", input)
    return _complex_part(x, "real") if x.dtype.kind == "c" else x


def imag(input):  # noqa: A002
    """The imaginary part of a complex tensor (a view, off the tape). Refused for real tensors, as
    PyTorch refuses it."""
    x = _tensor("imag", input)
    if x.dtype.kind != "c":
        raise AliasError(f"imag is not implemented for tensors with non-complex dtypes (got {EX.describe(x)}); a "
                         f"real tensor's imaginary part is zero: rg.zeros_like(x)")
    return _complex_part(x, "imag")


def _conjugate_transpose(x, fn):
    """The last two dims swapped, conjugated when complex; a 0-d tensor is itself (PyTorch warns)."""
    if x.ndim == 0:
        warnings.warn(f"{fn} is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=3)
        return conj(x)
    if x.ndim == 1:
        raise AliasError(f"tensor.{fn} is only supported on matrices or batches of matrices. Got 1-D tensor "
                         f"(shape {tuple(x.shape)}); for an (n, 1) column use x.unsqueeze(-1)")
    t = S.swapaxes(x, -1, -2)
    return conjugate(t) if t.dtype.kind == "c" else t


def adjoint(input):  # noqa: A002
    """The conjugate transpose of a matrix or a batch of them: the last two dims swapped, complex entries
    conjugated (PyTorch's ``adjoint``; for real tensors ``mT``). x̄ = ȳ with the dims swapped back."""
    return _conjugate_transpose(_tensor("adjoint", input), "adjoint()")


def _m_h(self):
    return _conjugate_transpose(self, "mH")


def _h(self):
    if self.ndim not in (0, 2):
        raise AliasError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor. For "
                         f"batches of matrices, consider using tensor.mH")
    return _conjugate_transpose(self, "H")


# ---------------------------------------------------------------- queries
def is_complex(input) -> bool:  # noqa: A002
    """Whether the tensor's dtype is complex."""
    return _tensor("is_complex", input).dtype.kind == "c"


def is_floating_point(input) -> bool:  # noqa: A002
    """Whether the tensor's dtype is a floating one (float16/32/64)."""
    return _tensor("is_floating_point", input).dtype.kind == "f"


def is_signed(input) -> bool:  # noqa: A002
    """Whether the dtype holds negative numbers: signed integers, floats and complex (not bool, uint8)."""
    return _tensor("is_signed", input).dtype.kind in "ifc"


def is_nonzero(input) -> bool:  # noqa: A002
    """Whether a one-element tensor's value is nonzero (NaN counts as nonzero, as in C); any other size
    is refused, as PyTorch refuses it."""
    x = _tensor("is_nonzero", input)
    if x.size != 1:
        raise AliasError(f"is_nonzero: Boolean value of Tensor with {'no values' if not x.size else 'more than one value'}"
                         f" is ambiguous (shape {tuple(x.shape)}); use .any() or .all()")
    return bool(x.data.reshape(()).item() != 0)


def is_same_size(input, other) -> bool:  # noqa: A002
    """Whether the two tensors have the same shape."""
    return tuple(_tensor("is_same_size", input).shape) == tuple(_tensor("is_same_size", other, 2, "other").shape)


def is_inference(input) -> bool:  # noqa: A002
    """False: retrograd has no inference tensors (``rg.inference_mode`` only stops the recording)."""
    _tensor("is_inference", input)
    return False


def is_conj(input) -> bool:  # noqa: A002
    """False: retrograd's conjugates are materialised at once, never lazy."""
    _tensor("is_conj", input)
    return False


def is_neg(input) -> bool:  # noqa: A002
    """False: retrograd has no lazy negation."""
    _tensor("is_neg", input)
    return False


def _infinity_test(fn, input, sign):  # noqa: A002
    x = _tensor(fn, input)
    if x.dtype.kind == "c":
        raise AliasError(f"{fn} does not support complex inputs (got {EX.describe(x)}); test x.real and x.imag")
    d = x.data
    if d.dtype.kind != "f":
        return _wrap(xp.zeros(d.shape, dtype=bool))
    return _wrap(d == sign * xp.inf)


@off_tape
def isneginf(input):  # noqa: A002
    """A boolean tensor: True where x is −∞ (never for integers; complex refused, as PyTorch)."""
    return _infinity_test("isneginf", input, -1)


@off_tape
def isposinf(input):  # noqa: A002
    """A boolean tensor: True where x is +∞ (never for integers; complex refused, as PyTorch)."""
    return _infinity_test("isposinf", input, 1)


@off_tape
def isreal(input):  # noqa: A002
    """A boolean tensor: True where the imaginary part is 0 — everywhere for a real tensor."""
    d = _tensor("isreal", input).data
    return _wrap(d.imag == 0 if d.dtype.kind == "c" else xp.ones(d.shape, dtype=bool))


# ---------------------------------------------------------------- the Tensor's place: the backend's memory
class Device(str):
    """``t.device``: ``"cpu"`` (NumPy) or ``"cuda:N"`` (CuPy) — a string, with PyTorch's ``type`` and
    ``index`` attributes. The backend decides it: ``rg.set_backend``."""

    def __new__(cls, type_: str, index=None):
        self = super().__new__(cls, type_ if index is None else f"{type_}:{index}")
        self.type, self.index = type_, index
        return self


def _device(self) -> Device:
    array_device = getattr(self.data, "device", None)
    index = getattr(array_device, "id", None)
    return Device("cpu") if index is None else Device("cuda", int(index))


def get_device(input) -> int:  # noqa: A002
    """The GPU index of the tensor's memory, −1 on the host (PyTorch's value for CPU tensors)."""
    index = _device(_tensor("get_device", input)).index
    return -1 if index is None else index


def _cpu(self, memory_format=None):
    """``t.cpu()``: the tensor itself. retrograd keeps every array on its backend (``rg.set_backend``);
    ``rg.to_numpy(t.data)`` copies one to the host."""
    return self


def _cuda(self, device=None, non_blocking=False, memory_format=None):
    """``t.cuda()``: refused on the host backend. retrograd places every array on its backend: call
    ``rg.set_backend("cupy")`` before creating tensors (on that backend ``t.cuda()`` is ``t``)."""
    if _device(self).type == "cuda":
        return self
    raise AliasError(f"cuda: retrograd keeps every array on its backend, here {backend.xp.name!r}; call "
                     f"rg.set_backend('cupy') before creating tensors to compute on a GPU (no per-tensor moves)")


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                       pin_memory=False):
    """A tensor of ``size`` (zeros: retrograd never hands out uninitialised memory), with this tensor's
    dtype unless ``dtype`` says. ``stride`` must have one entry per dim, as PyTorch checks; the array's
    layout is NumPy's own (C order)."""
    shape, strides = tuple(size), tuple(stride)
    if len(shape) != len(strides):
        raise AliasError(f"new_empty_strided: dimensionality of sizes ({len(shape)}) must match dimensionality of "
                         f"strides ({len(strides)})")
    if device is not None and str(device) != "cpu":
        raise AliasError(f"new_empty_strided: device={device!r}: retrograd places every array on its backend "
                         f"(rg.set_backend); leave device out")
    return Tensor(xp.zeros(shape, dtype=self.dtype if dtype is None else dtype), requires_grad=requires_grad)


# ---------------------------------------------------------------- copysign, frexp
def copysign(input, other):  # noqa: A002
    """|x| with the sign (bit) of y, elementwise (``torch.copysign``; broadcasting; −0.0 and a NaN's sign
    bit count). Always floating: integers and booleans give the default float dtype.

    x̄ = ȳ·z/x (±1) where x ≠ 0 and 0 at x = 0, ȳ = 0 (PyTorch's gradient): composed as
    ``where(x == 0, z, x·s)`` with s = ±1 a constant (at x = ±∞ or NaN the gradient is that ±1; PyTorch's
    z/x is NaN there)."""
    x = _tensor("copysign", input)
    dtype = EX.result_type(x, other)
    EX.refuse_complex("copysign", dtype, x, other)
    if dtype.kind != "f":
        dtype = xp.dtype(get_default_dtype())
    EX.check_broadcast("copysign", x, other)
    xv = EX._to(x, dtype)
    a, b = EX.as_operand(x.data, dtype), EX.as_operand(S._data(other), dtype)
    z = xp.copysign(a, b)
    flipped = xp.signbit(a) != xp.signbit(z)
    s = xp.where(flipped, xp.asarray(-1, dtype), xp.asarray(1, dtype))
    return E.where(a == 0, z, E.mul(xv, s))


class FrexpResult(NamedTuple):
    """``(mantissa, exponent)`` of ``frexp`` (PyTorch's ``torch.return_types.frexp``)."""
    mantissa: Tensor
    exponent: Tensor


def frexp(input) -> FrexpResult:  # noqa: A002
    """x = mantissa · 2^exponent with abs(mantissa) in [0.5, 1) (0 for 0; ±inf and NaN keep themselves with
    exponent 0): ``torch.frexp``. The exponent is int32, the mantissa x's floating dtype and on the
    tape: it is x·2⁻ᵉ with e a constant, so m̄ = ȳ·2⁻ᵉ (PyTorch's gradient). Floating tensors only."""
    x = _tensor("frexp", input)
    if x.dtype.kind != "f":
        raise AliasError(f"torch.frexp() only supports floating-point dtypes (got {EX.describe(x)}); convert first, "
                         f"e.g. x.float()")
    _, e = xp.frexp(x.data)
    e = e.astype(xp.int32, copy=False)
    # 2⁻ᵉ as two factors, each finite in x's dtype (2¹⁰⁷⁴ is not): every product is exact
    k = -e.astype(xp.int64)
    half = k // 2
    mantissa = E.mul(E.mul(x, xp.ldexp(xp.ones((), x.dtype), half).astype(x.dtype)),
                     xp.ldexp(xp.ones((), x.dtype), k - half).astype(x.dtype))
    return FrexpResult(mantissa, _wrap(e))


# ---------------------------------------------------------------- the integer shifts
def _shift(fn, input, other, left):  # noqa: A002
    a, b = S._data(input), S._data(other)
    dtype = EX.result_type(input, other)
    if dtype.kind not in "iu":
        raise EX.DtypeNotSupported(f"{fn}: not implemented for {EX.describe(input)} and {EX.describe(other)} "
                                   f"(integers only, as PyTorch; a bool may meet an integer), convert first, e.g. "
                                   f"x.long()")
    a, b = EX.as_operand(a, dtype), EX.as_operand(b, dtype)
    bits = dtype.itemsize * 8
    # PyTorch's rule for shifts outside [0, bits): left gives 0, right fills with the sign bit
    outside = (b < 0) | (b >= bits)
    amount = xp.where(outside, 0 if left else bits - 1, b).astype(dtype, copy=False)
    with xp.errstate(over="ignore"):
        out = xp.left_shift(a, amount) if left else xp.right_shift(a, amount)
    if left or dtype.kind == "u":
        out = xp.where(outside, xp.zeros((), dtype), out)
    return _wrap(xp.asarray(out, dtype=dtype))


@off_tape
def bitwise_left_shift(input, other):  # noqa: A002
    """x << y, elementwise (``torch.bitwise_left_shift``, the ``<<`` operator; broadcasting): integers
    (a bool beside an integer), PyTorch's promotion; bits shifted past the width are lost, a shift by a
    negative amount or by the width or more gives 0. Off the tape (integers)."""
    if not isinstance(input, Tensor):
        EX.require_tensor("bitwise_left_shift", other, 2, "other")
    return _shift("bitwise_left_shift", input, other, True)


@off_tape
def bitwise_right_shift(input, other):  # noqa: A002
    """x >> y, elementwise (``torch.bitwise_right_shift``, ``>>``): an arithmetic shift (the sign bit
    fills signed integers); a shift by a negative amount or by the width or more gives the sign fill
    (0 or −1; 0 for unsigned), as PyTorch. Off the tape (integers)."""
    if not isinstance(input, Tensor):
        EX.require_tensor("bitwise_right_shift", other, 2, "other")
    return _shift("bitwise_right_shift", input, other, False)


def _operator(shift, reflected=False):
    def method(self, other):
        if not isinstance(other, (Tensor, numbers.Number)) and not hasattr(other, "dtype"):
            return NotImplemented  # Python's TypeError, as for any operand a shift cannot take
        return shift(other, self) if reflected else shift(self, other)
    return method


# ---------------------------------------------------------------- argwhere, split_with_sizes, narrow_copy
@off_tape
def argwhere(input):  # noqa: A002
    """The indices of the nonzero entries, one row each: an int64 (count, ndim) tensor (NaN counts as
    nonzero; a 0-d tensor gives (1, 0) or (0, 0)) — ``torch.argwhere``, ``nonzero``'s layout."""
    d = _tensor("argwhere", input).data
    return _wrap(xp.argwhere(d).astype(xp.int64, copy=False))  # (count, ndim), also for 0-d


def split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    """The pieces of ``input`` along ``dim`` with the given sizes, which must be non-negative and add up
    to the dim's size (``torch.split_with_sizes``; ``split`` with a list). Each piece's gradient lands in
    its slice."""
    x = _tensor("split_with_sizes", input)
    if isinstance(split_sizes, (numbers.Integral, Tensor)) or not hasattr(split_sizes, "__iter__"):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, not "
                        f"{type(split_sizes).__name__}")
    sizes = [int(s) for s in split_sizes]
    if not x.ndim:
        raise AliasError("split_with_sizes: split expects at least a 1-dimensional tensor")
    axis = S._check_axis("split_with_sizes", dim, x.ndim)
    if any(s < 0 for s in sizes):
        raise AliasError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                         f"split_sizes={sizes}")
    if sum(sizes) != x.shape[axis]:
        raise AliasError(f"split_with_sizes expects split_sizes to sum exactly to {x.shape[axis]} (input tensor's size "
                         f"at dimension {dim}), but got split_sizes={sizes}")
    return S.split_sizes(x, sizes, axis)


def narrow_copy(input, dim, start, length):  # noqa: A002
    """``length`` entries of ``dim`` from ``start`` (negative counts from the end), as a new tensor
    (``torch.narrow_copy``: ``narrow`` without the view). x̄ is ȳ in that slice, 0 elsewhere."""
    x = _tensor("narrow_copy", input)
    if not x.ndim:
        raise AliasError("narrow_copy: narrow() cannot be applied to a 0-dim tensor.")
    axis = S._check_axis("narrow_copy", dim, x.ndim)
    n = x.shape[axis]
    begin = int(start.item()) if isinstance(start, Tensor) else int(start)
    if not -n <= begin <= n:
        raise IndexError(f"narrow_copy: start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{begin})")
    if begin < 0:
        begin += n
    if length < 0 or begin + length > n:
        raise AliasError(f"start ({begin}) + length ({length}) exceeds dimension size ({n}).")
    return RE.clone(S.narrow(x, axis, begin, length))


# ---------------------------------------------------------------- in-place forms (off the tape only)
_IN_PLACE_UNARY = {"absolute_": absolute, "negative_": negative, "asin_": M.asin, "acos_": M.acos,
                   "atan_": M.atan, "arcsin_": M.asin, "arccos_": M.acos, "arctan_": M.atan, "asinh_": M.asinh,
                   "acosh_": M.acosh, "atanh_": M.atanh, "arcsinh_": M.asinh, "arccosh_": M.acosh,
                   "arctanh_": M.atanh, "tan_": M.tan, "sinh_": M.sinh, "cosh_": M.cosh}
_IN_PLACE_BINARY = {"multiply_": (E.mul, None), "subtract_": (E.sub, "alpha"), "divide_": (D.div, "rounding_mode"),
                    "atan2_": (M.atan2, None), "arctan2_": (M.atan2, None), "copysign_": (copysign, None),
                    "bitwise_left_shift_": (bitwise_left_shift, None),
                    "bitwise_right_shift_": (bitwise_right_shift, None)}
IN_PLACE = {**{name: IP._unary(name, fn) for name, fn in _IN_PLACE_UNARY.items()},
            **{name: IP._binary(name, fn, keyword) for name, (fn, keyword) in _IN_PLACE_BINARY.items()}}
IN_PLACE["__ilshift__"] = IP._augmented("__ilshift__", IN_PLACE["bitwise_left_shift_"], bitwise_left_shift)
IN_PLACE["__irshift__"] = IP._augmented("__irshift__", IN_PLACE["bitwise_right_shift_"], bitwise_right_shift)


METHODS = {
    "absolute": absolute, "negative": negative, "positive": positive, "multiply": multiply, "subtract": subtract,
    "divide": divide, "arctan2": arctan2, "arcsinh": arcsinh, "arccosh": arccosh, "arctanh": arctanh,
    "asinh": M.asinh, "acosh": M.acosh, "atanh": M.atanh, "greater": greater, "greater_equal": greater_equal,
    "less": less, "less_equal": less_equal, "not_equal": not_equal, "ger": ger, "adjoint": adjoint,
    "conj": conj, "conj_physical": conj_physical, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg,
    "is_complex": is_complex, "is_signed": is_signed, "is_nonzero": is_nonzero, "is_same_size": is_same_size,
    "is_inference": is_inference, "is_conj": is_conj, "is_neg": is_neg, "isneginf": isneginf,
    "isposinf": isposinf, "isreal": isreal, "get_device": get_device, "cpu": _cpu, "cuda": _cuda,
    "new_empty_strided": _new_empty_strided, "copysign": copysign, "frexp": frexp,
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
    "__lshift__": _operator(bitwise_left_shift), "__rshift__": _operator(bitwise_right_shift),
    "__rlshift__": _operator(bitwise_left_shift, True), "__rrshift__": _operator(bitwise_right_shift, True),
    "argwhere": argwhere, "split_with_sizes": split_with_sizes, "narrow_copy": narrow_copy,
    "real": property(real, doc="The real part (the tensor itself when real)."),
    "imag": property(imag, doc="The imaginary part of a complex tensor (refused for real ones, as PyTorch)."),
    "mH": property(_m_h, doc="The conjugate transpose of the last two dims (``mT`` for real tensors)."),
    "H": property(_h, doc="The conjugate transpose of a matrix (``T`` of a real 2-D tensor)."),
    "nbytes": property(lambda self: int(self.data.nbytes), doc="The bytes the elements take."),
    "itemsize": property(lambda self: int(self.data.itemsize), doc="The bytes one element takes."),
    "device": property(_device, doc=Device.__doc__),
    **IN_PLACE,
}
"""The Tensor methods and properties of this module (installed by ``ops.methods``)."""

__all__ = ["absolute", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "multiply",
           "subtract", "divide", "negative", "positive", "greater", "greater_equal", "less", "less_equal",
           "not_equal", "ger", "conj", "conj_physical", "resolve_conj", "resolve_neg", "real", "imag", "adjoint",
           "is_complex", "is_floating_point", "is_signed", "is_nonzero", "is_same_size", "is_inference", "is_conj",
           "is_neg", "isneginf", "isposinf", "isreal", "get_device", "copysign", "frexp", "FrexpResult",
           "bitwise_left_shift", "bitwise_right_shift", "argwhere", "split_with_sizes", "narrow_copy"]
