"""PyTorch's division family: ``div`` with its rounding modes, ``floor_divide`` (``//``),
``remainder`` (``%``, the divisor's sign) and ``fmod`` (the dividend's sign), with PyTorch's
integer rules (integers stay integers; a zero integer divisor raises) and gradients
(x̄ = z̄, ȳ = −z̄·q for the remainders; zero for the rounded quotients)."""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.op import BinaryOp, OpError
from . import device_checks
from .elementwise import Div, _describe_value, _plus, _value_kind


def div(x, y, *, rounding_mode=None):
    """x / y, elementwise (broadcasting), PyTorch's ``torch.div``.

    - ``rounding_mode=None``: true division, z = x / y;  x̄ = z̄ / y,  ȳ = −z̄·x / y²
      (integers give the default float dtype);
    - ``"trunc"``: z = trunc(x / y) (C's integer division, toward zero);
    - ``"floor"``: z = ⌊x / y⌋ (Python's ``//``, toward −∞);
      both keep integer dtypes, and their gradient is zero: x̄ = 0, ȳ = 0 (as PyTorch).
      An integer division by zero raises ``ZeroDivisionError`` (PyTorch raises too);
      floating operands give ±inf or NaN."""
    if rounding_mode is None:
        return Div()(x, y)
    if rounding_mode not in ("trunc", "floor"):
        raise OpError(f"div: expected rounding_mode to be one of None, 'trunc', or 'floor', got {rounding_mode!r}")
    return DivRounded(rounding_mode)(x, y)


class IntegerDivisionByZero(OpError, ZeroDivisionError):
    """An integer division by zero (``//``, ``%``, ``fmod``, ``div(rounding_mode=...)``): PyTorch
    raises ``ZeroDivisionError`` there too (NumPy would answer 0 with a warning)."""


def _refuse_for_division(name, x, y):
    """Refuse the operands PyTorch has no kernel for: complex ones, and two booleans."""
    kx, ky = _value_kind(x), _value_kind(y)
    if "c" in (kx, ky):
        raise OpError(f"{name}: not implemented for complex tensors (got {_describe_value(x)} and "
                      f"{_describe_value(y)}), as in PyTorch")
    if kx == ky == "b":
        raise OpError(f"{name}: not implemented for boolean tensors (got {_describe_value(x)} and "
                      f"{_describe_value(y)}), as in PyTorch; convert them first, e.g. x.long()")


def _refuse_integer_zero(name, z, y):
    """An integer result with a zero divisor: refused, naming the op (at once on the host; on a
    device recorded and raised when the values are read, as ``device_checks`` does)."""
    if z.dtype.kind not in "iu":
        return
    message = (f"{name}: integer division by zero (the divisor {_describe_value(y)} holds a 0), as PyTorch "
               f"refuses it (ZeroDivisionError); divide floating tensors to get inf/NaN there")
    zero = xp.asarray(y) == 0
    if device_checks.on_host() or not hasattr(y, "shape"):
        if bool(zero.any()):
            raise IntegerDivisionByZero(message)
    else:
        device_checks.defer(zero.any(), IntegerDivisionByZero, message.replace("{", "{{").replace("}", "}}"))


def _quotient(x, y, mode):
    """⌊x / y⌋ (``mode="floor"``) or trunc(x / y) (``"trunc"``) as PyTorch computes them: for floats
    x / y where y = 0 (±inf or NaN), ⌊·⌋ from fmod so the result is exact; for integers Python's
    ``//`` or C's ``/`` (callers refuse a zero divisor)."""
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if mode == "floor":
            return xp.floor_divide(x, y)
        m = xp.fmod(x, y)
        if m.dtype.kind in "iu":
            safe = xp.where(y == 0, xp.ones_like(y), y) if hasattr(y, "shape") else (y or 1)  # refused later
            return xp.floor_divide(x - m, safe)  # x − fmod(x, y) is a multiple of y: exact
        return xp.trunc(x / y)


class DivRounded(BinaryOp):
    """z = ⌊x / y⌋ or trunc(x / y);  x̄ = 0,  ȳ = 0 (piecewise constant: PyTorch's zero gradient,
    also at the jumps). ``floor_divide`` records it with ``differentiable=False``: PyTorch has no
    derivative for ``floor_divide`` (nor ``//``) and its backward raises, and so does this one."""
    broadcasts = True
    __slots__ = ("mode", "name", "differentiable")
    save_inputs = ()

    def __init__(self, mode, name="div", differentiable=True):
        self.mode, self.name, self.differentiable = mode, name, differentiable

    def extra_repr(self): return f"rounding_mode={self.mode!r}" if self.name == "div" else ""

    def forward(self, x, y):
        _refuse_for_division(self.name, x, y)
        z = _quotient(x, y, self.mode)
        _refuse_integer_zero(self.name, z, y)
        return z

    def _not_differentiable(self):
        return OpError(f"{self.name}: the derivative is not implemented (PyTorch refuses it too); for a zero "
                       f"gradient use rg.div(a, b, rounding_mode='floor'), or detach the operands")

    def vjp(self, ns, g, z, x, y):
        if not self.differentiable:
            raise self._not_differentiable()
        zero = ns.where(xp.zeros(g.shape, dtype=bool), g, 0.0)  # where, not g·0: inf/NaN in ȳ still give 0
        n = self.needs
        return (zero if n[0] else None), (zero if n[1] else None)

    def jvp(self, ns, ts, z, x, y):
        if not self.differentiable:
            raise self._not_differentiable()
        t = ts[0] if ts[0] is not None else ts[1]
        return ns.where(xp.zeros(t.shape, dtype=bool), t, 0.0)


def floor_divide(x, y):
    """⌊x / y⌋, elementwise (broadcasting): Python's ``//`` (rounds toward −∞), PyTorch's
    ``torch.floor_divide``. Integer operands give integers (a zero divisor raises
    ``ZeroDivisionError``, as PyTorch), a float anywhere gives a float (x / 0 is ±inf or NaN).
    Not differentiable, as in PyTorch: a backward pass through it raises (use
    ``div(x, y, rounding_mode="floor")``, the same values with a zero gradient)."""
    return DivRounded("floor", "floor_divide", differentiable=False)(x, y)


class _Modulo(BinaryOp):
    """z = x − y·q(x / y), q the quotient rounded as ``rounding`` says;  x̄ = z̄,  ȳ = −z̄·q(x / y)
    (PyTorch's rule, also where y = 0: ȳ = −z̄·(x / 0), ±inf or NaN)."""
    broadcasts = True
    __slots__ = ()
    save_inputs = {0: (1,), 1: (1,)}
    rounding = None  # "floor" (remainder) or "trunc" (fmod)

    def vjp(self, ns, g, z, x, y):
        n = self.needs
        gy = -g * _quotient(ns.value(x), ns.value(y), self.rounding) if n[1] else None
        return (g if n[0] else None), gy

    def jvp(self, ns, ts, z, x, y):
        tx, ty = ts
        return _plus(tx, None if ty is None else -ty * _quotient(ns.value(x), ns.value(y), self.rounding))


class Remainder(_Modulo):
    """z = x − y·⌊x / y⌋ (the sign of the divisor, Python's ``%``);  x̄ = z̄,  ȳ = −z̄·⌊x / y⌋"""
    name, rounding = "remainder", "floor"
    __slots__ = ()

    def forward(self, x, y):
        _refuse_for_division(self.name, x, y)
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            m = xp.fmod(x, y)
            # PyTorch's fix-up: where fmod's sign differs from the divisor's, add the divisor
            # (a where, not m + 0: a −0 remainder stays −0, as PyTorch's)
            z = xp.where((m != 0) & ((xp.asarray(y) < 0) != (m < 0)), m + y, m)
        z = xp.asarray(z, dtype=m.dtype)
        _refuse_integer_zero(self.name, z, y)
        return z


def remainder(x, y):
    """x mod y with the sign of the divisor y (Python's ``%``, PyTorch's ``torch.remainder``,
    NumPy's ``mod``): z = x − y·⌊x / y⌋;  x̄ = z̄,  ȳ = −z̄·⌊x / y⌋. Integers stay integers (a
    zero divisor raises ``ZeroDivisionError``, as PyTorch); floats give NaN for y = 0."""
    return Remainder()(x, y)


class Fmod(_Modulo):
    """z = x − y·trunc(x / y) (the sign of the dividend, C's ``fmod``);  x̄ = z̄,  ȳ = −z̄·trunc(x / y)"""
    name, rounding = "fmod", "trunc"
    __slots__ = ()

    def forward(self, x, y):
        _refuse_for_division(self.name, x, y)
        with xp.errstate(divide="ignore", invalid="ignore"):
            z = xp.fmod(x, y)
        _refuse_integer_zero(self.name, z, y)
        return z


def fmod(x, y):
    """x mod y with the sign of the dividend x (C's ``fmod``, PyTorch's ``torch.fmod``):
    z = x − y·trunc(x / y);  x̄ = z̄,  ȳ = −z̄·trunc(x / y). Integers stay integers (a zero
    divisor raises ``ZeroDivisionError``, as PyTorch); floats give NaN for y = 0."""
    return Fmod()(x, y)


__all__ = ["div", "floor_divide", "remainder", "fmod", "IntegerDivisionByZero"]
