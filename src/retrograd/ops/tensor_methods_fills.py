"""PyTorch's in-place fills that have no out-of-place op: the random fills ``random_``, ``cauchy_``,
``log_normal_``, ``geometric_``; the Python-callable fills ``apply_``, ``map_``, ``map2_``; and
``resize_``/``resize_as_``.

The random fills follow ``ops/inplace.py``'s ``uniform_``: off the tape only, drawn on the host from
retrograd's generator (``rg.manual_seed``) or the ``generator=`` given (a NumPy ``Generator``), PyTorch's
argument checks and error texts, the array stamped as modified. The draws are not PyTorch's (another
generator): their distributions are.

``apply_``/``map_``/``map2_`` call a Python function once per entry (slow, as in PyTorch, which allows
them on CPU tensors only). PyTorch refuses them for any tensor that requires grad, in grad mode or not;
so does retrograd, with PyTorch's text.

``resize_`` gives ``self`` a new shape. Its first entries are the old ones in row-major order
(PyTorch's for a contiguous tensor; of a non-contiguous one, such as a transpose, PyTorch reads its
memory in storage order instead); entries beyond the old count are 0 (PyTorch's are uninitialised
memory). Shrinking a contiguous tensor, or keeping its count, makes ``self.data`` a view of the old
array; growing allocates a new one, which views of the old array no longer see (PyTorch grows the
shared storage in place). A tensor that requires grad is refused, as PyTorch refuses it.
"""

from __future__ import annotations

import itertools
import math
import numbers

from ..autograd.backend import xp
from ..autograd.mode import _mode
from ..autograd.tensor import Tensor
from ..autograd.op import OpError
from . import inplace as IP
from .tensor_methods_inplace import C_TYPES
from .creation import _shape


class FillNotImplemented(OpError, NotImplementedError):
    """A fill PyTorch has no kernel for on this dtype (``log_normal_`` of an integer tensor …): a
    ``NotImplementedError`` as PyTorch raises, and an ``OpError``."""


# ------------------------------------------------------------------ random fills
def _upper(dtype) -> int:
    """The largest value ``random_`` draws when no ``to`` is given: the dtype's max for integers, 1 for
    booleans, 2**digits (the mantissa's bits, every integer up to it exact) for floats, as PyTorch's."""
    dtype = xp.dtype(dtype)
    if dtype.kind == "b":
        return 1
    if dtype.kind in "iu":
        return int(xp.iinfo(dtype).max)
    return 2 ** int(xp.finfo(dtype).nmant + 1)


def _check_bound(dtype, what, value):
    """PyTorch refuses a bound of ``random_`` that an integer or boolean dtype cannot hold."""
    dtype = xp.dtype(dtype)
    if dtype.kind in "fc":
        return
    low, high = (0, 1) if dtype.kind == "b" else (int(xp.iinfo(dtype).min), int(xp.iinfo(dtype).max))
    if not low <= value <= high:
        raise IP.InPlaceError(f"{what} is out of bounds for {C_TYPES.get(str(dtype), str(dtype))} (random_ into a "
                              f"{dtype} tensor draws in [{low}, {high}])")


_ABSENT = object()


def _random_bounds(args, keywords):
    """(from, to) of ``random_``'s three signatures — (), (to) and (from, to), where ``to`` may be None —
    ``to`` being ``_ABSENT`` for the first. PyTorch's ``from`` is a Python keyword, so it comes by
    position or as ``**{"from": a}``."""
    if len(args) > 2:
        raise TypeError(f"random_() takes 2 positional arguments but {len(args)} were given")
    if set(keywords) - {"from", "to"}:
        raise TypeError(f"random_() got unexpected keyword arguments {sorted(set(keywords) - {'from', 'to'})}")
    if "from" in keywords and (args or "to" not in keywords) or len(args) == 2 and keywords:
        raise TypeError("random_(): expected (), (to) or (from, to), each bound once ('from' needs 'to', None for "
                        "the dtype's largest value)")
    if "from" in keywords:
        low, to = keywords["from"], keywords["to"]
    elif len(args) == 2:
        low, to = args
    elif args and "to" in keywords:
        low, to = args[0], keywords["to"]
    else:  # random_(to) or random_(): here to may not be None
        low, to = 0, args[0] if args else keywords.get("to", _ABSENT)
        if to is None:
            raise TypeError("random_(): argument 'to' must be int, not NoneType")
    for what, v in (("from", low), ("to", to)):
        if v is not _ABSENT and v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
            raise TypeError(f"random_(): argument '{what}' must be int, not {type(v).__name__}")
    return int(low), to


def random_(self, *bounds, generator=None, **keywords):
    """``x.random_()``, ``x.random_(to)``, ``x.random_(from, to)``: every entry an integer drawn uniformly
    from [from, to − 1], in place, off the tape only; any dtype but the wide unsigned ones (floats hold
    the integers). Without ``to`` (or with ``to=None``) the draws reach the dtype's largest value (see
    ``_upper``: 2**24 for float32, as PyTorch's). PyTorch's ``from`` is a Python keyword: pass it by
    position or as ``**{"from": a}``."""
    low, to = _random_bounds(bounds, keywords)
    IP._guard(self, "random_", "x = rg.randint(low, high, x.shape).to(x.dtype)")
    if str(self.dtype) in ("uint16", "uint32", "uint64"):
        raise FillNotImplemented(f"\"random_kernel_cpu\" not implemented for '{IP._torch_name(self.dtype)}'")
    if to is _ABSENT:
        high = _upper(self.dtype)
    elif to is None:
        high = _upper(self.dtype)
        if low > high or low == high and self.dtype.kind == "f":  # PyTorch's test, strict for floats
            raise IP.InPlaceError(f"random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' "
                                  f"casted to dtype, but got from={low} > to_inc={high}")
    else:
        high = int(to) - 1
        if low > high:
            raise IP.InPlaceError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={int(to)}")
        _check_bound(self.dtype, "to - 1", high)
    _check_bound(self.dtype, "from", low)
    draws = IP._generator(generator).integers(low, high, size=self.shape, endpoint=True, dtype=xp.int64)
    return IP._draw(self, draws)


def _continuous_only(self, name, distribution):
    if self.data.dtype.kind != "f":
        raise IP.InPlaceError(f"{distribution} distribution is a continuous probability distribution. dtype must be "
                              f"a floating point but you specified {C_TYPES.get(str(self.dtype), str(self.dtype))} "
                              f"({name})")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """``x.cauchy_(median=0, sigma=1)``: every entry drawn from the Cauchy distribution
    f(x) = 1/(πσ(1 + ((x − median)/σ)²)), in place, off the tape only (floating tensors)."""
    IP._guard(self, "cauchy_", "x = median + sigma * rg.tan(math.pi * (rg.rand_like(x) - 0.5))")
    _continuous_only(self, "cauchy_", "Cauchy")
    if not sigma > 0:
        raise IP.InPlaceError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return IP._draw(self, median + sigma * IP._generator(generator).standard_cauchy(self.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """``x.log_normal_(mean=1, std=2)``: every entry exp(N(mean, std²)) (its log is normal with that mean
    and std), in place, off the tape only (floating tensors)."""
    IP._guard(self, "log_normal_", "x = rg.exp(rg.randn_like(x) * std + mean)")
    if self.data.dtype.kind != "f":
        raise FillNotImplemented(f'"log_normal_cpu" not implemented for \'{IP._torch_name(self.dtype)}\' (a '
                                 f'continuous distribution needs a floating tensor)')
    if not std > 0:
        raise IP.InPlaceError(f"log_normal_ expects std > 0.0, but found std={std}")
    return IP._draw(self, IP._generator(generator).lognormal(mean, std, self.shape))


def geometric_(self, p, *, generator=None):
    """``x.geometric_(p)``: every entry the number of Bernoulli(p) trials up to and including the first
    success (1, 2, 3 …; mean 1/p), in place, off the tape only; integer or floating tensors."""
    IP._guard(self, "geometric_", "x = rg.ceil(rg.log1p(-rg.rand_like(x)) / math.log1p(-p))")
    if self.dtype == bool:
        raise FillNotImplemented("\"geometric_cpu\" not implemented for 'Bool'")
    if not 0 < p < 1:
        raise IP.InPlaceError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return IP._draw(self, IP._generator(generator).geometric(p, self.shape))


# ------------------------------------------------------------------ Python-callable fills
def _no_grad_anywhere(name, *tensors):
    """PyTorch refuses ``apply_``/``map_`` for any tensor that requires grad, in grad mode or not."""
    if _mode.trace is not None:
        _mode.trace.read(tensors[0], f"{name}, an in-place write")
    if any(t._requires_grad for t in tensors):
        raise IP.InPlaceError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
                              f"instead.")
    if not getattr(tensors[0].data.flags, "writeable", True):
        raise IP.InPlaceError(f"{name}: the tensor's array is read-only (an expand or broadcast_to view); clone() it "
                              f"first")


def _python_value(dtype):
    """The Python type an entry is handed to the callable as (PyTorch's: bool, int or float)."""
    return {"b": bool, "i": int, "u": int}.get(xp.dtype(dtype).kind, float)


def _host(self, name):
    if getattr(getattr(self.data, "device", None), "id", None) is not None:
        raise IP.InPlaceError(f"{name}_ is only implemented on CPU tensors")


def _call_each(self, name, fn, others):
    """Write ``fn(x_i, *others_i)`` into each entry of self, in row-major order."""
    if not callable(fn):
        raise TypeError(f"'{type(fn).__name__}' object is not callable")
    _host(self, name[:-1])
    convert = _python_value(self.dtype)
    spread = [xp.broadcast_to(o.data, self.shape) for o in others]
    out = self.data.copy()
    for idx in itertools.product(*map(range, self.shape)):
        value = fn(convert(self.data[idx]), *(convert(o[idx]) for o in spread))
        if not isinstance(value, numbers.Real):  # bool is one
            raise TypeError(f"must be real number, not {type(value).__name__}")
        out[idx] = IP._scalar(name, value, self.dtype)
    self.data[...] = out
    return self.mark_modified_()


def apply_(self, callable):  # noqa: A002 - torch's name
    """``x.apply_(fn)``: every entry v replaced by ``fn(v)`` (v handed over as a Python float, int or
    bool; the result converted to x's dtype as ``fill_`` converts it), in place; returns x. Never for
    a tensor that requires grad (PyTorch's rule): ``x.detach().apply_(fn)``."""
    _no_grad_anywhere("apply_", self)
    return _call_each(self, "apply_", callable, ())


def _operands(name, self, tensors, names):
    for t, what in zip(tensors, names):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{what}' (position {names.index(what) + 1}) must be Tensor, not "
                            f"{type(t).__name__}")
        if t.dtype != self.dtype:
            raise TypeError(f"{name}: expected {_legacy(self.dtype)} for '{what}' (got {_legacy(t.dtype)})")
        IP._broadcast_into(name, self.shape, t.shape)


def _legacy(dtype) -> str:
    return f"torch.{IP._torch_name(dtype)}Tensor"


def map_(self, other, callable):  # noqa: A002 - torch's name
    """``x.map_(t, fn)``: every entry replaced by ``fn(x_i, t_i)`` (``t`` of x's dtype, broadcast to x's
    shape without growing it), in place; returns x. Never for tensors that require grad (PyTorch's rule)."""
    _operands("map_", self, (other,), ("other",))
    _no_grad_anywhere("map_", self, other)
    return _call_each(self, "map_", callable, (other,))


def map2_(self, x, y, callable):  # noqa: A002 - torch's name
    """``t.map2_(x, y, fn)``: every entry replaced by ``fn(t_i, x_i, y_i)`` (``x`` and ``y`` of t's dtype,
    broadcast to its shape), in place; returns t. Never for tensors that require grad."""
    _operands("map2_", self, (x, y), ("x", "y"))
    _no_grad_anywhere("map2_", self, x, y)
    return _call_each(self, "map2_", callable, (x, y))


# ------------------------------------------------------------------ resize
def _resize(self, name, shape):
    if _mode.trace is not None:
        _mode.trace.read(self, f"{name}, an in-place resize")
    if self._requires_grad:
        raise IP.InPlaceError("cannot resize variables that require grad")
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in shape):
        raise TypeError(f"{name}(): argument 'size' must be a tuple of ints, got {list(shape)}")
    if any(n < 0 for n in shape):
        raise IP.InPlaceError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)} ({name})")
    count, old = math.prod(shape), self.data.size
    flat = self.data.reshape(-1)  # a view for a contiguous array: shrinking keeps sharing its memory
    if count <= old:
        self.data = flat[:count].reshape(shape)
    else:
        grown = xp.zeros(count, dtype=self.data.dtype)
        grown[:old] = flat
        self.data = grown.reshape(shape)
    return self


def resize_(self, *sizes, memory_format=None):
    """``x.resize_(*sizes)`` (or one tuple): x given that shape in place; its first entries are the old
    ones in row-major order, any new ones 0 (see the module docstring). Refused for a tensor that
    requires grad, as PyTorch refuses it."""
    return _resize(self, "resize_", _shape(sizes))


def resize_as_(self, the_template, memory_format=None):
    """``x.resize_as_(other)``: ``x.resize_(other.shape)``."""
    if not isinstance(the_template, Tensor):
        raise TypeError(f"resize_as_(): argument 'the_template' (position 1) must be Tensor, not "
                        f"{type(the_template).__name__}")
    return _resize(self, "resize_as_", tuple(the_template.shape))


METHODS = {"random_": random_, "cauchy_": cauchy_, "log_normal_": log_normal_, "geometric_": geometric_,
           "apply_": apply_, "map_": map_, "map2_": map2_, "resize_": resize_, "resize_as_": resize_as_}
"""The Tensor methods of this module (installed by ``ops.methods`` through ``tensor_methods_extra``)."""
