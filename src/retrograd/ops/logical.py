"""Logical and bitwise operations, PyTorch's: ``logical_and/or/xor/not`` (any dtype, nonzero is
True, a bool result) and ``bitwise_and/or/xor/not`` with the operators ``& | ^ ~`` (booleans and
integers; floats are refused, as PyTorch refuses them). None is differentiable: their values are
computed off the tape (a replay computes them again)."""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.op import OpError, off_tape
from ..autograd.tensor import Tensor, _wrap
from .elementwise import _value_kind
from .shape import _data as _value


@off_tape
def logical_not(x):
    """not x, elementwise: True where x is zero (a bool tensor)."""
    return _wrap(xp.logical_not(_value(x)))


@off_tape
def logical_and(x, y):
    """x and y, elementwise (nonzero is True; broadcasting; a bool tensor)."""
    return _wrap(xp.logical_and(_value(x), _value(y)))


@off_tape
def logical_or(x, y):
    """x or y, elementwise (nonzero is True; broadcasting; a bool tensor)."""
    return _wrap(xp.logical_or(_value(x), _value(y)))


@off_tape
def logical_xor(x, y):
    """x xor y, elementwise (nonzero is True; broadcasting; a bool tensor)."""
    return _wrap(xp.logical_xor(_value(x), _value(y)))


def _integral(name, *values):
    for v in values:
        if _value_kind(v) not in "biu":
            raise OpError(f"{name}: not implemented for {getattr(v, 'dtype', type(v).__name__)} operands (booleans "
                          f"and integers only, as in PyTorch); for a mask, compare first (x > 0) or use logical_*")


@off_tape
def bitwise_not(x):
    """~x: logical not of booleans, the bits flipped of integers (``~``)."""
    v = _value(x)
    _integral("bitwise_not", v)
    return _wrap(xp.invert(v))


def _bitwise(name, fn):
    def op(x, y):
        a = _value(x)
        b = y if isinstance(y, (bool, int)) and not isinstance(y, Tensor) else _value(y)
        _integral(name, a, b)
        return _wrap(xp.asarray(fn(a, b)))
    op.__name__ = name
    op.__doc__ = f"``{name}``, elementwise (booleans and integers; broadcasting)."
    return off_tape(op)


bitwise_and = _bitwise("bitwise_and", xp.bitwise_and)
bitwise_or = _bitwise("bitwise_or", xp.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", xp.bitwise_xor)

@off_tape
def isclose(x, y, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """abs(x − y) ≤ atol + rtol·abs(y), elementwise (a bool tensor; PyTorch's ``isclose``)."""
    return _wrap(xp.isclose(_value(x), _value(y), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x, y, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every entry is ``isclose`` (a Python bool)."""
    return bool(xp.allclose(_value(x), _value(y), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(x, y) -> bool:
    """Whether x and y have the same shape and the same values (a Python bool; NaN ≠ NaN)."""
    a, b = _value(x), _value(y)
    return a.shape == b.shape and bool(xp.array_equal(a, b))


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a retrograd Tensor."""
    return isinstance(obj, Tensor)


__all__ = ["isclose", "allclose", "equal", "is_tensor", "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or",
           "bitwise_xor"]
