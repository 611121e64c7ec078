"""More of PyTorch's elementwise functions, with its dtypes, errors and derivatives:

- primitives (forward, vjp and jvp side by side): ``hypot``, ``logaddexp2``, ``fmax``/``fmin`` (a NaN
  loses to a number; ties follow ``rg.conventions`` as ``maximum`` does), ``nextafter`` (x̄ = z̄ where
  x ≠ y, ȳ = 0: PyTorch's rule);
- compositions of existing ops (their gradients come with them): ``ldexp``, ``float_power`` (computed
  in float64), ``deg2rad``/``rad2deg``, ``nan_to_num`` (x̄ = z̄ where x is finite, else 0), ``lerp``,
  ``addcmul``, ``addcdiv``, ``sgn``;
- values off the tape: ``heaviside`` (its backward raises, as PyTorch's), ``gcd``/``lcm`` (integers),
  ``signbit`` and the comparison functions ``eq ne lt le gt ge``.

Dtypes follow PyTorch's promotion (``result_type``), not NumPy's: an int64 tensor with a float32
tensor gives float32, and a 0-d tensor or a Python number does not raise a tensor's dtype within its
category (float16 · 2.5 stays float16). The float functions give integer operands the default float
dtype. Where PyTorch has no kernel for a dtype it raises ``NotImplementedError`` (here
``DtypeNotSupported``); where it refuses a Python number for an argument it raises ``TypeError``.
"""

from __future__ import annotations

import math
import numbers
import operator

from ..autograd.backend import xp
from ..autograd.function import Function
from ..autograd.mode import _mode
from ..autograd.op import BinaryOp, OpError, off_tape
from ..autograd.tensor import Tensor, _wrap, get_default_dtype
from .elementwise import Div, _plus, cast, mul, pow as _pow, sigmoid_of, sub, true_divide, where
from .kinks import _Extremum
from .rounding_and_math import floating, sign


class PointwiseError(OpError, RuntimeError):
    """A bad argument that PyTorch answers with a ``RuntimeError`` (mismatched dtypes, a bad ``p``)."""


class DtypeNotSupported(OpError, NotImplementedError):
    """A dtype the function has no kernel for, as PyTorch's ``NotImplementedError``."""


# ------------------------------------------------------------ PyTorch's type promotion
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _promote(a, b):
    """PyTorch's ``promote_types``: the higher category wins (int64 with float16 is float16), NumPy's
    promotion within a category (uint8 with int8 is int16), a complex takes a float's precision."""
    if a is None or b is None:
        return a if b is None else b
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or {ca, cb} == {2, 3}:
        return xp.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher, lower):
    """PyTorch's ``combine_categories``: a lower-priority group (0-d tensors, then Python numbers)
    changes the result only by raising its category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    ch, cl = _CATEGORY[higher.kind], _CATEGORY[lower.kind]
    if ch == 3:
        return higher
    if cl == 3:
        return xp.promote_types(higher, xp.complex64) if ch == 2 else lower
    if ch == 2:
        return higher
    if ch == 0 or cl == 2:
        return _promote(higher, lower)
    return higher


def result_type(*operands):
    """The dtype PyTorch gives an elementwise function of ``operands`` (tensors, arrays, numbers).

    Three groups, in priority order: tensors with dimensions, 0-d tensors, Python numbers (a float
    counts as the default float dtype, an int as int64). Each group is promoted on its own; a
    lower group changes the result only by being of a higher category (bool < integer < float <
    complex): float32[3] with float64[] is float32, int64[3] with float64[] is float64."""
    dims = zero = wrapped = None
    for v in operands:
        v = v.data if isinstance(v, Tensor) else v
        dtype = getattr(v, "dtype", None)
        if dtype is not None and hasattr(v, "shape"):
            if v.shape:
                dims = _promote(dims, dtype)
            else:
                zero = _promote(zero, dtype)
        elif v is not None:
            dtype = (xp.dtype(bool) if isinstance(v, bool) else xp.dtype(xp.int64) if isinstance(v, numbers.Integral)
                     else xp.dtype(get_default_dtype()) if isinstance(v, numbers.Real)
                     else xp.promote_types(get_default_dtype(), xp.complex64))
            wrapped = _promote(wrapped, dtype)
    return _combine(dims, _combine(zero, wrapped))


def describe(v) -> str:
    """``float32[2, 3]`` for a tensor or array, ``float 2.5`` for a number: for error messages."""
    d = v.data if isinstance(v, Tensor) else v
    if hasattr(d, "dtype") and hasattr(d, "shape"):
        return f"{d.dtype}{list(d.shape)}"
    return f"{type(v).__name__} {v!r}"


def require_tensor(fn: str, value, position: int, argument: str):
    """Refuse a Python number (or None, a list …) where PyTorch accepts only a tensor, as its
    ``TypeError``; a tensor or an array (a constant tensor) passes."""
    if not isinstance(value, Tensor) and not (hasattr(value, "dtype") and hasattr(value, "shape")):
        raise TypeError(f"{fn}(): argument '{argument}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__} (wrap it first: rg.tensor(value))")


def refuse_complex(fn: str, dtype, *operands, error=None):
    """Refuse a complex result dtype, naming the function and the operands."""
    if dtype.kind == "c":
        raise (error or DtypeNotSupported)(
            f"{fn}: not implemented for complex tensors (got {', '.join(describe(v) for v in operands)}), as in "
            f"PyTorch; apply it to the real and imaginary parts separately")


def as_operand(v, dtype):
    """``v`` in ``dtype`` for a forward: an array converted (a no-op when it has it), a Python number as
    a 0-d array of ``dtype`` (so NumPy's own promotion cannot widen the result)."""
    if hasattr(v, "dtype") and hasattr(v, "shape"):
        return v if v.dtype == dtype else v.astype(dtype)
    return xp.asarray(v, dtype=dtype)


def float_operands(fn: str, x, y, *, integers: bool = True, half: bool = True):
    """(x, y) as arrays of the dtype PyTorch computes ``fn(x, y)`` in: the promoted dtype, integers and
    booleans raised to the default float dtype (``integers=False``: refused, as PyTorch's hypot,
    logaddexp2 and nextafter refuse them); complex refused, and float16 too where ``half=False``."""
    dtype = result_type(x, y)
    refuse_complex(fn, dtype, x, y)
    if dtype.kind in "biu":
        if not integers:
            raise DtypeNotSupported(f"{fn}: not implemented for integer or boolean operands (got {describe(x)} and "
                                    f"{describe(y)}), as in PyTorch; convert them first, e.g. x.float()")
        dtype = xp.dtype(get_default_dtype())
    if dtype == xp.float16 and not half:
        raise DtypeNotSupported(f"{fn}: not implemented for float16 (got {describe(x)} and {describe(y)}), as in "
                                f"PyTorch; compute in float32: x.float()")
    return as_operand(x, dtype), as_operand(y, dtype)


def _to(t, dtype):
    """Tensor ``t`` in ``dtype``: itself when it has it, else a cast (on the tape between float dtypes)."""
    if not isinstance(t, Tensor):
        return as_operand(t, dtype)
    return t if t.dtype == dtype else cast(t, dtype)


def check_broadcast(fn: str, *operands):
    """Refuse operands whose shapes do not broadcast, naming ``fn`` (a composed function would
    otherwise fail inside one of its steps, under that step's name)."""
    shapes = [tuple(v.shape) for v in operands if hasattr(v, "shape")]
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        raise PointwiseError(f"{fn}: the shapes {', '.join(str(list(s)) for s in shapes)} do not broadcast "
                             f"together (PyTorch refuses them too)") from None


# ------------------------------------------------------------ primitives
class Hypot(BinaryOp):
    """z = √(x² + y²) (no overflow);  x̄ = z̄·x / z,  ȳ = z̄·y / z  (NaN at the origin, as PyTorch's)"""
    name, broadcasts, save_ans = "hypot", True, True
    __slots__ = ()
    save_inputs = {0: (0,), 1: (1,)}

    def forward(self, x, y):
        return xp.hypot(*float_operands("hypot", x, y, integers=False))

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (g * x / z if n[0] else None), (g * y / z if n[1] else None)

    def jvp(self, ns, ts, z, x, y):
        """ż = (ẋ·x + ẏ·y) / z"""
        tx, ty = ts
        with xp.errstate(divide="ignore", invalid="ignore"):
            return _plus(None if tx is None else tx * x / z, None if ty is None else ty * y / z)


def hypot(input, other):  # noqa: A002 - torch's names
    """√(input² + other²), elementwise (broadcasting), without overflow or underflow (PyTorch's
    ``torch.hypot``): z = √(x² + y²);  x̄ = z̄·x/z,  ȳ = z̄·y/z (NaN at the origin, as PyTorch).
    Both arguments are tensors (PyTorch refuses a Python number); integer operands alone are refused."""
    require_tensor("hypot", input, 1, "input")
    require_tensor("hypot", other, 2, "other")
    return Hypot()(input, other)


class LogAddExp2(BinaryOp):
    """z = log₂(2ˣ + 2ʸ) (no overflow);  x̄ = z̄·σ((x − y)·ln 2),  ȳ = z̄·σ((y − x)·ln 2)"""
    name, broadcasts = "logaddexp2", True
    __slots__ = ()
    save_inputs = (0, 1)

    def forward(self, x, y):
        with xp.errstate(invalid="ignore"):  # (∞, ∞): ∞, without NumPy's warning
            return xp.logaddexp2(*float_operands("logaddexp2", x, y, integers=False))

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        with xp.errstate(invalid="ignore"):  # −∞ − (−∞): NaN, as PyTorch's 1 / (1 + 2^(y − x))
            gx = g * sigmoid_of(ns, (x - y) * math.log(2.0)) if n[0] else None
            gy = g * sigmoid_of(ns, (y - x) * math.log(2.0)) if n[1] else None
        return gx, gy

    def jvp(self, ns, ts, z, x, y):
        """ż = ẋ·σ((x − y)·ln 2) + ẏ·σ((y − x)·ln 2)"""
        tx, ty = ts
        with xp.errstate(invalid="ignore"):
            return _plus(None if tx is None else tx * sigmoid_of(ns, (x - y) * math.log(2.0)),
                         None if ty is None else ty * sigmoid_of(ns, (y - x) * math.log(2.0)))


def logaddexp2(input, other):  # noqa: A002
    """log₂(2ˣ + 2ʸ), elementwise (broadcasting), stable for large |x|, |y| (PyTorch's
    ``torch.logaddexp2``): x̄ = z̄·2ˣ/(2ˣ + 2ʸ),  ȳ = z̄·2ʸ/(2ˣ + 2ʸ). Both arguments are tensors."""
    require_tensor("logaddexp2", input, 1, "input")
    require_tensor("logaddexp2", other, 2, "other")
    return LogAddExp2()(input, other)


class _NanIgnoringExtremum(_Extremum):
    """z = fmax(x, y) / fmin(x, y): as ``maximum``/``minimum``, but a NaN loses to a number.

    x̄ = z̄·[x wins] + z̄·wₓ·[x = y], ȳ likewise, where x wins where it is better or y is NaN (of two
    NaNs, x: PyTorch's rule), and the tie weights (wₓ, w_y) come from ``rg.conventions``, as for
    ``maximum``."""
    __slots__ = ()
    save_inputs = (0, 1)
    nan_gives_y = False  # a NaN loses: the vjp's weights are PyTorch's forward AD's there too

    def forward(self, x, y):
        dtype = result_type(x, y)
        refuse_complex(self.name, dtype, x, y, error=PointwiseError)
        return self.kernel(as_operand(x, dtype), as_operand(y, dtype))

    def vjp(self, ns, g, z, x, y):
        xv, yv = ns.value(x), ns.value(y)
        x_nan, y_nan = xp.isnan(xv), xp.isnan(yv)
        tie = xv == yv
        n = self.needs
        gx = gy = None
        if n[0]:
            gx = g * ((self.better(xv, yv) | y_nan) + self.w[0] * tie).astype(xv.dtype)
        if n[1]:
            gy = g * ((self.better(yv, xv) | (x_nan & ~y_nan)) + self.w[1] * tie).astype(yv.dtype)
        return gx, gy

    jvp = _Extremum.jvp  # ż = ẋ·dₓ + ẏ·d_y with this vjp's weights (written for maximum, read here)


class FMax(_NanIgnoringExtremum):
    __doc__ = _NanIgnoringExtremum.__doc__
    name = "fmax"
    __slots__ = ()
    better = staticmethod(operator.gt)
    kernel = staticmethod(lambda x, y: xp.fmax(x, y))


class FMin(_NanIgnoringExtremum):
    __doc__ = _NanIgnoringExtremum.__doc__
    name = "fmin"
    __slots__ = ()
    better = staticmethod(operator.lt)
    kernel = staticmethod(lambda x, y: xp.fmin(x, y))


def fmax(input, other):  # noqa: A002
    """The elementwise maximum, ignoring NaN: where one side is NaN the other is taken (NaN only
    where both are), PyTorch's ``torch.fmax``. Integers stay integers. The gradient goes to the side
    taken; at ties it follows ``rg.conventions`` as ``maximum``'s does (PyTorch gives fmax's ties
    all to ``input``)."""
    require_tensor("fmax", input, 1, "input")
    require_tensor("fmax", other, 2, "other")
    return FMax()(input, other)


def fmin(input, other):  # noqa: A002
    """The elementwise minimum, ignoring NaN (PyTorch's ``torch.fmin``); the gradient as ``fmax``'s."""
    require_tensor("fmin", input, 1, "input")
    require_tensor("fmin", other, 2, "other")
    return FMin()(input, other)


class NextAfter(BinaryOp):
    """z = the next float after x towards y;  x̄ = z̄·[x ≠ y],  ȳ = 0  (PyTorch's rule: z moves with x,
    but where x = y, z = y)"""
    name, broadcasts = "nextafter", True
    __slots__ = ()
    save_inputs = {0: (0,), 1: (0,)}  # x̄ reads both (for its mask); ȳ reads neither

    def forward(self, x, y):
        return xp.nextafter(*float_operands("nextafter", x, y, integers=False))

    def _moves(self, ns, x, y):
        return ns.value(x) != ns.value(y)

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        gx = ns.where(self._moves(ns, x, y), g, 0.0) if n[0] else None
        gy = ns.where(xp.zeros(ns.value(g).shape, dtype=bool), g, 0.0) if n[1] else None  # 0, even for ȳ = inf
        return gx, gy

    def jvp(self, ns, ts, z, x, y):
        tx, ty = ts
        if tx is not None:
            return ns.where(self._moves(ns, x, y), tx, 0.0)
        return ns.where(xp.zeros(ty.shape, dtype=bool), ty, 0.0)


def nextafter(input, other):  # noqa: A002
    """The next representable floating-point value after ``input`` towards ``other`` (PyTorch's
    ``torch.nextafter``): x̄ = z̄ where x ≠ y (0 where they are equal: z = y there), ȳ = 0 (PyTorch's
    gradient). Floating tensors only."""
    require_tensor("nextafter", input, 1, "input")
    require_tensor("nextafter", other, 2, "other")
    return NextAfter()(input, other)


# ------------------------------------------------------------ heaviside: values, and a backward that refuses
def _heaviside_values(x, values):
    """PyTorch's step: ``values`` where x = 0, 1 where x > 0, 0 elsewhere (NaN too)."""
    return xp.where(x == 0, values, x > 0).astype(x.dtype)


class _HeavisideBackward(Function):
    """Puts heaviside's output on the tape of inputs that require grad, so that a backward pass
    through it raises as PyTorch's does (instead of silently passing no gradient)."""

    @staticmethod
    def forward(ctx, input, values):  # noqa: A002
        """The step's values (under no_grad, as every Function's forward)."""
        return _wrap(_heaviside_values(input.data, values.data))

    @staticmethod
    def backward(ctx, grad):
        """Refuse, as PyTorch: heaviside has no derivative."""
        raise RuntimeError("derivative for aten::heaviside is not implemented: heaviside(x, values) is a step "
                           "(PyTorch has no gradient for it either); detach its inputs, or use a smooth "
                           "stand-in such as rg.sigmoid(k * x)")

    @staticmethod
    def jvp(ctx, *tangents):
        """Refuse, as PyTorch."""
        raise NotImplementedError("heaviside: forward-mode AD is not supported (PyTorch has no derivative for it)")


@off_tape
def _heaviside_off_tape(input, values):  # noqa: A002
    return _wrap(_heaviside_values(input.data, values.data))


def heaviside(input, values):  # noqa: A002
    """The Heaviside step (PyTorch's ``torch.heaviside``): 0 where x < 0 (and where x is NaN), 1
    where x > 0, ``values`` (broadcast) where x = 0. Both are tensors of one dtype. Not differentiable:
    with inputs that require grad the result is on the tape, and a backward pass through it raises
    ``RuntimeError``, as PyTorch's."""
    require_tensor("heaviside", input, 1, "input")
    require_tensor("heaviside", values, 2, "values")
    input, values = (v if isinstance(v, Tensor) else _wrap(v) for v in (input, values))
    if input.dtype.kind == "c" or values.dtype.kind == "c":
        raise PointwiseError(f"heaviside: not implemented for complex tensors (got {describe(input)} and "
                             f"{describe(values)}), as in PyTorch")
    if input.dtype != values.dtype:
        raise PointwiseError(f"heaviside: not implemented for tensors with different dtypes (got {describe(input)} "
                             f"and {describe(values)}), as in PyTorch; convert values first: values.to(x.dtype)")
    if _mode.grad_enabled and (input.requires_grad or values.requires_grad):
        return _HeavisideBackward.apply(input, values)
    return _heaviside_off_tape(input, values)


# ------------------------------------------------------------ integers and signs, off the tape
def _integer_pair(fn, input, other):
    require_tensor(fn, input, 1, "input")
    require_tensor(fn, other, 2, "other")
    x, y = (v.data if isinstance(v, Tensor) else v for v in (input, other))
    dtype = result_type(x, y)
    if dtype.kind not in "iu":
        raise DtypeNotSupported(f"{fn}: defined for integer tensors only (got {describe(x)} and {describe(y)}), "
                                f"as in PyTorch")
    return x.astype(dtype, copy=False), y.astype(dtype, copy=False)


@off_tape
def gcd(input, other):  # noqa: A002
    """The greatest common divisor of integer tensors, elementwise (broadcasting), ≥ 0; gcd(0, 0) = 0
    (PyTorch's ``torch.gcd``). Integers carry no gradient."""
    return _wrap(xp.gcd(*_integer_pair("gcd", input, other)))


@off_tape
def lcm(input, other):  # noqa: A002
    """The least common multiple of integer tensors, elementwise (broadcasting), ≥ 0; 0 where either
    is 0 (PyTorch's ``torch.lcm``)."""
    return _wrap(xp.lcm(*_integer_pair("lcm", input, other)))


@off_tape
def signbit(input):  # noqa: A002
    """A boolean tensor: True where the sign bit is set (−0.0 and negative NaNs too; PyTorch's
    ``torch.signbit``). Complex tensors are refused, as in PyTorch."""
    d = input.data if isinstance(input, Tensor) else xp.asarray(input)
    if d.dtype.kind == "c":
        raise DtypeNotSupported(f"signbit: not implemented for complex tensors (got {describe(d)}), as in PyTorch")
    return _wrap(xp.signbit(d.astype(xp.int8) if d.dtype == bool else d))


@off_tape
def _complex_sgn(d):
    with xp.errstate(invalid="ignore", divide="ignore"):
        return _wrap(xp.where(d == 0, 0, d / xp.abs(d)).astype(d.dtype))


def sgn(input):  # noqa: A002
    """PyTorch's ``torch.sgn``: x/|x| (0 at 0) for complex tensors (values only: complex tensors do not
    require gradients in retrograd), ``sign`` for real ones — its gradient is zero, as PyTorch's."""
    d = input.data if isinstance(input, Tensor) else xp.asarray(input)
    if d.dtype.kind == "c":
        return _complex_sgn(d)
    return sign(input)


# ------------------------------------------------------------ compositions
def ldexp(input, other):  # noqa: A002
    """input · 2^other, elementwise (broadcasting), PyTorch's ``torch.ldexp`` (integer operands give
    the default float dtype): x̄ = z̄·2ʸ,  ȳ = z̄·z·ln 2. Both arguments are tensors."""
    require_tensor("ldexp", input, 1, "input")
    require_tensor("ldexp", other, 2, "other")
    check_broadcast("ldexp", input, other)
    if other.dtype == bool and getattr(input, "dtype", None) is not None and input.dtype.kind in "fc":
        raise DtypeNotSupported(f"ldexp: not implemented for a boolean exponent (got {describe(other)}), as in "
                                f"PyTorch; convert it first: other.long()")
    dtype = result_type(input, other)
    if dtype.kind in "biu":
        dtype = xp.dtype(get_default_dtype())
    return mul(_to(input, dtype), _pow(2.0, _to(other, dtype)))


def float_power(input, exponent):  # noqa: A002
    """input ** exponent computed in float64 (complex128 for complex operands), whatever the inputs'
    dtypes: PyTorch's ``torch.float_power``. Either side may be a Python number, not both; the
    gradients are pow's (cast back to each input's dtype)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor) and \
            not any(hasattr(v, "shape") for v in (input, exponent)):
        raise TypeError(f"float_power(): expected a tensor for input or exponent, got {describe(input)} and "
                        f"{describe(exponent)}")
    check_broadcast("float_power", input, exponent)
    dtype = xp.dtype(xp.complex128 if result_type(input, exponent).kind == "c" else xp.float64)
    base = _to(input, dtype) if hasattr(input, "shape") else input
    if isinstance(exponent, numbers.Number):
        return _pow(base, exponent)
    return _pow(base, _to(exponent, dtype))


def deg2rad(input):  # noqa: A002
    """Degrees to radians: x · π/180 (integers give the default float dtype; PyTorch's ``torch.deg2rad``)."""
    _refuse_complex_angle("deg2rad", input)
    return mul(floating(input, "deg2rad"), math.pi / 180.0)


def rad2deg(input):  # noqa: A002
    """Radians to degrees: x · 180/π (PyTorch's ``torch.rad2deg``)."""
    _refuse_complex_angle("rad2deg", input)
    return mul(floating(input, "rad2deg"), 180.0 / math.pi)


def _refuse_complex_angle(fn, x):
    if getattr(x, "dtype", xp.dtype(float)).kind == "c":
        raise PointwiseError(f"{fn}: not supported for complex tensors (got {describe(x)}), as in PyTorch")


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """``input`` with NaN replaced by ``nan``, +∞ by ``posinf`` and −∞ by ``neginf`` (by default the
    largest and lowest finite values of the dtype), PyTorch's ``torch.nan_to_num``. Integer and
    boolean tensors come back unchanged (a copy). x̄ = z̄ where x is finite, 0 where it was replaced."""
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and (isinstance(v, (bool, complex)) or not isinstance(v, numbers.Real)):
            raise TypeError(f"nan_to_num(): argument '{name}' must be a float or None, not {type(v).__name__}")
    d = input.data if isinstance(input, Tensor) else xp.asarray(input)
    if d.dtype.kind not in "fc":
        return _wrap(d.copy())
    finite = xp.isfinite(d)
    if d.dtype.kind == "c":  # complex tensors carry no gradient: NumPy's replacement, part by part
        return _wrap(xp.nan_to_num(d, nan=nan or 0.0, posinf=posinf, neginf=neginf))
    info = xp.finfo(d.dtype)
    with xp.errstate(over="ignore"):  # a replacement beyond the dtype's range becomes ±inf, as PyTorch's cast
        fill = xp.where(xp.isnan(d), 0.0 if nan is None else nan,
                        xp.where(d > 0, info.max if posinf is None else posinf,
                                 info.min if neginf is None else neginf)).astype(d.dtype)
    return where(finite, input if isinstance(input, Tensor) else _wrap(d), fill)


def lerp(input, end, weight):  # noqa: A002
    """Linear interpolation, PyTorch's ``torch.lerp``: input + weight·(end − input) (broadcasting),
    computed as PyTorch does for accuracy near both ends (end − (end − input)·(1 − weight) where the
    weight is ½ or more in absolute value). input̄ = z̄·(1 − w),  end̄ = z̄·w,  w̄ = z̄·(end − input).

    ``input`` and ``end`` are floating tensors of one dtype; ``weight`` a number or a tensor of that
    dtype too (a 0-d tensor of another dtype is cast), as PyTorch requires."""
    require_tensor("lerp", input, 1, "input")
    require_tensor("lerp", end, 2, "end")
    dtype = input.dtype
    if end.dtype != dtype:
        raise PointwiseError(f"lerp: expected dtype {dtype} for `end` but got dtype {end.dtype} "
                             f"({describe(input)}, end {describe(end)})")
    number = isinstance(weight, numbers.Number) and not hasattr(weight, "shape")
    if not number:
        require_tensor("lerp", weight, 3, "weight")
        if weight.dtype != dtype and weight.ndim:
            raise PointwiseError(f"lerp: expected dtype {dtype} for `weight` but got dtype {weight.dtype} "
                                 f"({describe(input)}, weight {describe(weight)})")
    if dtype.kind not in "fc":
        raise DtypeNotSupported(f"lerp: not implemented for {describe(input)} (PyTorch has no integer lerp); "
                                f"convert first, e.g. x.float()")
    check_broadcast("lerp", input, end, weight)
    diff = sub(end, input)
    if number:
        if isinstance(weight, complex) and dtype.kind != "c":
            raise PointwiseError(f"lerp: a complex weight {weight!r} cannot be converted to {dtype}")
        return input + weight * diff if abs(weight) < 0.5 else sub(end, diff * (1 - weight))
    weight = _to(weight, dtype)  # a 0-d weight of another dtype: cast (its gradient is cast back)
    # input + w·diff where abs(w) < ½, end + (w − 1)·diff elsewhere: the branch picks the base and the
    # coefficient, so both branches share one product (an untaken branch's inf·0 cannot leak a NaN
    # into the gradients, as where(c, a, b) of two products would)
    small = xp.abs(weight.data if isinstance(weight, Tensor) else weight) < 0.5
    return where(small, input, end) + where(small, weight, weight - 1) * diff


def _scale(fn, value, dtype):
    """addcmul/addcdiv's ``value`` as PyTorch applies it: a number (or a 0-d tensor's number); for an
    integer result truncated to an integer, as PyTorch converts it; a complex one refused for a real
    result."""
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, numbers.Number):
        raise TypeError(f"{fn}: value must be a number, got {type(value).__name__}")
    if isinstance(value, complex) and dtype.kind != "c":
        raise PointwiseError(f"{fn}: value {value!r} cannot be converted to {dtype} (a real result)")
    return int(value) if dtype.kind in "iu" else value


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """input + value·tensor1·tensor2, elementwise (broadcasting), PyTorch's ``torch.addcmul`` (the
    dtype of the three tensors promoted as PyTorch's; for an integer result a float ``value`` is
    truncated, as PyTorch converts it)."""
    check_broadcast("addcmul", input, tensor1, tensor2)
    dtype = result_type(input, tensor1, tensor2)
    if dtype == bool:
        raise DtypeNotSupported(f"addcmul: not implemented for boolean tensors (got {describe(input)}, "
                                f"{describe(tensor1)}, {describe(tensor2)}), as in PyTorch")
    value = _scale("addcmul", value, dtype)
    t1 = _to(tensor1, dtype)
    product = mul(t1 if value == 1 else mul(value, t1), _to(tensor2, dtype))
    return _to(input, dtype) + product


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """input + value·tensor1/tensor2, elementwise (broadcasting), PyTorch's ``torch.addcdiv``: a true
    division, so integer ``tensor1`` and ``tensor2`` together are refused (PyTorch's rule)."""
    if all(result_type(t).kind in "biu" for t in (tensor1, tensor2)):
        raise PointwiseError(f"addcdiv: integer division with addcdiv is no longer supported (got {describe(tensor1)} "
                             f"/ {describe(tensor2)}); as in PyTorch, write (input + value * rg.trunc(tensor1 / "
                             f"tensor2)).to(input.dtype) for the historic integer result, or use floating tensors")
    check_broadcast("addcdiv", input, tensor1, tensor2)
    dtype = result_type(input, tensor1, tensor2)
    value = _scale("addcdiv", value, dtype)
    t1 = _to(tensor1, dtype)
    quotient = Div()(t1 if value == 1 else mul(value, t1), _to(tensor2, dtype))
    return _to(input, dtype) + quotient


# ------------------------------------------------------------ the comparison functions
def _comparison(fn, ordering):
    def compare(input, other):  # noqa: A002
        if not isinstance(input, Tensor):
            require_tensor(fn, input, 1, "input")
            input = _wrap(xp.asarray(input))
        if other is None or isinstance(other, (str, bytes, list, tuple, dict, set)):
            raise TypeError(f"{fn}(): argument 'other' (position 2) must be Tensor or Number, not "
                            f"{type(other).__name__}")
        if ordering and (input.dtype.kind == "c" or getattr(other, "dtype", xp.dtype(type(other))).kind == "c"):
            raise DtypeNotSupported(f"{fn}: complex numbers have no order (got {describe(input)} and "
                                    f"{describe(other)}), as in PyTorch; compare x.real or x.abs()")
        return getattr(input, fn)(other)  # the Tensor method: off the tape, a boolean tensor
    compare.__name__ = compare.__qualname__ = fn
    symbol = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[fn]
    compare.__doc__ = (f"``input {symbol} other``, elementwise (broadcasting): a boolean tensor, off the tape "
                       f"(PyTorch's ``torch.{fn}``; ``other`` a tensor or a number).")
    return compare


eq, ne = _comparison("eq", False), _comparison("ne", False)
lt, le, gt, ge = (_comparison(n, True) for n in ("lt", "le", "gt", "ge"))


__all__ = ["PointwiseError", "DtypeNotSupported", "result_type", "hypot", "logaddexp2", "fmax", "fmin", "nextafter",
           "heaviside", "gcd", "lcm", "signbit", "sgn", "ldexp", "float_power", "deg2rad", "rad2deg", "nan_to_num",
           "lerp", "addcmul", "addcdiv", "true_divide", "eq", "ne", "lt", "le", "gt", "ge"]
