"""PyTorch's in-place Tensor methods (``add_``, ``zero_``, ``uniform_``, ``t[mask] = 0`` …), off the tape.

The tape never sees an in-place write: an op recorded earlier may have kept the very array
being overwritten. So each method here

1. refuses to run on the tape — grad mode on and ``self`` or a tensor argument requiring
   grad. PyTorch would rebase the graph (the write becomes a node, and ``self`` now points
   at it); retrograd's graph edges are tensors and their arrays, so a rebase would change
   ops recorded before it. A leaf that requires grad gets PyTorch's own error, anything else
   an error naming the out-of-place form to write instead (``x = x.add(y)``);
2. computes the result with the out-of-place op (the values are exactly ``x.add(y)``'s), and
   checks it fits ``self``, as PyTorch does: the same shape (a broadcast may not grow self)
   and a dtype PyTorch would cast to self's (no float result into an integer tensor, nothing
   but a bool into a bool tensor);
3. writes it into ``self.data`` (``self.data[...] = result``: NumPy views of the array see it)
   and stamps the array (``mark_modified_``), so a later backward through an op that kept the
   old values raises instead of differentiating with the new ones. It returns ``self``.

Off the tape — under ``rg.no_grad()``, or when nothing involved requires grad — every method
works, which is how PyTorch code uses them: ``with torch.no_grad(): w.add_(-lr * w.grad)``,
``w.grad.zero_()``, ``x[mask] = 0``, ``nn.init``-style fills. The shape methods (``t_``,
``transpose_``, ``unsqueeze_``, ``squeeze_``) write nothing: they make ``self.data`` a view of
another shape. ``detach_`` changes only ``self``'s place on the tape.
"""

from __future__ import annotations

import math
import numbers

from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.mode import _mode, is_grad_enabled
from ..autograd.op import DimError, OpError
from ..autograd.tensor import Tensor, _stamp
from . import division as D
from . import elementwise as E
from . import kinks as K
from . import rearrange as RE
from . import rounding_and_math as M
from .shape import _index


class InPlaceError(OpError, RuntimeError):
    """An in-place method refused: on the tape, a result that does not fit ``self``, a fill value
    out of range. A ``RuntimeError`` as PyTorch raises, and an ``OpError``."""


LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation."  # PyTorch's text

# PyTorch's names for dtypes, as its cast errors print them ("result type Float can't be cast …")
_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                "uint8": "Byte", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "Bool"}
_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int8": "int8_t", "int16": "int16_t",
            "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t", "bool": "bool"}


# ------------------------------------------------------------------ the three steps
def _guard(self, name, hint, others=(), shape_only=False):
    """Step 1: refuse a write on the tape (see the module docstring). ``others``: the tensor
    arguments whose value flows into the result; ``hint``: the out-of-place form to write."""
    if _mode.trace is not None:  # a replay repeats the ops, not this write: the trace must refuse
        _mode.trace.read(self, f"{name}, an in-place write")
    on_tape = self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others)
    if on_tape and is_grad_enabled():
        if self._requires_grad and self._node is None:
            # PyTorch writes these two through a view of the leaf, and says so
            raise InPlaceError(("a view of " if name in ("__setitem__", "fill_diagonal_") else "") + LEAF_IN_PLACE)
        who = "this tensor is on the tape" if self._requires_grad else "an argument requires grad"
        raise InPlaceError(f"{name}: {who}, and retrograd never writes in place on the tape (PyTorch rebases the "
                           f"graph; retrograd's graph edges are tensors, so a rebase would change ops already "
                           f"recorded). Write the out-of-place form, {hint}, or call it under rg.no_grad() if no "
                           f"gradient should flow through the write")
    if shape_only and self._node is not None:
        raise InPlaceError(f"{name}: this tensor was made by a recorded op, whose gradient has its old shape; write "
                           f"{hint} instead")
    if not shape_only and not getattr(getattr(self.data, "flags", None), "writeable", True):
        raise InPlaceError(f"{name}: the tensor's array is read-only (an expand or broadcast_to view, or read-only "
                           f"memory): more than one element may share one memory location; clone() it first")


def _store(self, name, result):
    """Steps 2 and 3: check that ``result`` fits self (PyTorch's shape and cast rules), write it
    into ``self.data`` in place, stamp the array; return self."""
    out = result.data if isinstance(result, Tensor) else xp.asarray(result)
    if tuple(out.shape) != tuple(self.data.shape):
        raise InPlaceError(f"output with shape {list(self.data.shape)} doesn't match the broadcast shape "
                           f"{list(out.shape)} ({name} writes into the tensor, which cannot grow; write the "
                           f"out-of-place form for the broadcast result)")
    if not _can_cast(out.dtype, self.data.dtype):
        raise InPlaceError(f"result type {_torch_name(out.dtype)} can't be cast to the desired output type "
                           f"{_torch_name(self.data.dtype)} ({name}; write the out-of-place form, or convert the "
                           f"tensor first, e.g. x = x.float())")
    if out is not self.data:
        self.data[...] = out
    self.mark_modified_()
    if _mode.dual is not None and isinstance(result, Tensor):  # forward AD: the tangent moves with the value
        _mode.dual.moved(result, self)
    return self


def _can_cast(source, target) -> bool:
    """PyTorch's ``canCast`` for an in-place result: never complex to real, floating to integer
    or boolean, or anything but a boolean to boolean; integers among themselves (they wrap)."""
    s, t = source.kind, target.kind
    return not ((s == "c" and t != "c") or (s == "f" and t in "iub") or (s != "b" and t == "b"))


def _torch_name(dtype) -> str:
    return _TORCH_NAMES.get(str(dtype), str(dtype))


def _broadcast_into(name, shape, other) -> None:
    """Refuse ``other`` unless it broadcasts to ``shape`` without growing it (PyTorch's texts)."""
    shape, other = tuple(shape), tuple(other)
    n = max(len(shape), len(other))
    a, b = (1,) * (n - len(shape)) + shape, (1,) * (n - len(other)) + other
    for i, (p, q) in enumerate(zip(a, b)):
        if p != q and p != 1 and q != 1:
            raise InPlaceError(f"The size of tensor a ({p}) must match the size of tensor b ({q}) at non-singleton "
                               f"dimension {i} ({name})")
    grown = tuple(q if p == 1 else p for p, q in zip(a, b))
    if grown != shape:
        raise InPlaceError(f"output with shape {list(shape)} doesn't match the broadcast shape {list(grown)} ({name} "
                           f"writes into the tensor, which cannot grow)")


def _scalar(name, value, dtype):
    """A fill value converted to ``dtype`` as PyTorch converts a Scalar: a float truncates into
    an integer dtype and anything is true or false in a bool one, but a value the dtype cannot
    hold (NaN or an out-of-range number in an integer dtype, a finite number beyond float32's
    range, a complex number with an imaginary part in a real dtype) is refused."""
    if isinstance(value, Tensor) or hasattr(value, "shape"):
        data = value.data if isinstance(value, Tensor) else value
        if data.ndim:
            raise InPlaceError(f"{name} only supports a 0-dimensional value tensor, but got a tensor with "
                               f"{data.ndim} dimension(s)")
        value = data.item()
    if not isinstance(value, numbers.Number):
        raise TypeError(f"{name}: expected a number or a 0-dimensional tensor as the value, got "
                        f"{type(value).__name__}")
    dt = xp.dtype(dtype)
    fits = True
    if isinstance(value, complex) and dt.kind != "c":
        fits, value = value.imag == 0, value.real
    if dt.kind in "iu" and not isinstance(value, bool):
        info = xp.iinfo(dt)
        lowest = info.min if dt.kind == "i" else -info.max  # a negative value wraps in unsigned, as PyTorch's
        fits = fits and math.isfinite(value) and lowest <= value <= info.max
        value = int(value) % (info.max + 1) if fits and dt.kind == "u" else int(value) if fits else value
    elif dt.kind == "f" and dt.itemsize >= 4:  # float16 overflows to inf, as PyTorch's
        fits = fits and not (math.isfinite(value) and abs(value) > float(xp.finfo(dt).max))
    if not fits:
        raise InPlaceError(f"value cannot be converted to type {_C_NAMES.get(str(dt), str(dt))} without overflow "
                           f"({name}: {value!r} into {dt})")
    return bool(value) if dt.kind == "b" else value if dt.kind in "iuc" else float(value)


def _in_place(self, name, hint, compute, others=()):
    """The common path: guard, check the arguments broadcast to self, compute the out-of-place
    result, store it."""
    _guard(self, name, hint, others)
    _fit_arguments(self, name, others)
    return _store(self, name, compute())


def _fit_arguments(self, name, others):
    """Refuse (with PyTorch's text, before computing anything) a tensor or array argument that
    does not broadcast to self's shape."""
    for o in others:
        if hasattr(o, "shape"):
            _broadcast_into(name, self.data.shape, tuple(o.shape))


# ------------------------------------------------------------------ arithmetic and math
def _unary(name, fn):
    base = name[:-1]

    def method(self):
        return _in_place(self, name, f"x = x.{base}()", lambda: fn(self))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``x.{name}()``: ``x.{base}()`` written into ``x`` in place, off the tape only (under "
                      f"``rg.no_grad()`` or when nothing requires grad); returns ``x``. The result must keep x's "
                      f"dtype (PyTorch's rule: an integer tensor refuses a floating result).")
    return method


def _binary(name, fn, keyword=None):
    base = name[:-1]

    def method(self, other, **kwargs):
        if set(kwargs) - {keyword}:
            raise TypeError(f"{name}() got unexpected keyword arguments {sorted(set(kwargs) - {keyword})}")
        return _in_place(self, name, f"x = x.{base}(other)", lambda: fn(self, other, **kwargs), (other,))
    method.__name__ = method.__qualname__ = name
    signature = f"other, *, {keyword}=…" if keyword else "other"
    method.__doc__ = (f"``x.{name}({signature})``: ``x.{base}({signature})`` written into ``x`` in place, off the "
                      f"tape only; returns ``x``. ``other`` may broadcast to x's shape but not grow it, and the "
                      f"result must keep x's dtype (PyTorch's rules).")
    return method


def round_(self, decimals=0):
    """``x.round_(decimals=0)``: ``x.round(decimals)`` written into ``x`` in place, off the tape only."""
    return _in_place(self, "round_", "x = x.round(decimals)", lambda: M.round(self, decimals=decimals))


def _clamp(self, name, low, high):
    base = name[:-1]
    return _in_place(self, name, f"x = x.{base}(...)", lambda: K.clamp(self, low, high), (low, high))


def clamp_(self, min=None, max=None):  # noqa: A002 - torch's names
    """``x.clamp_(min, max)``: ``x.clamp(min, max)`` written into ``x`` in place, off the tape only;
    tensor bounds may broadcast to x's shape but not grow it."""
    return _clamp(self, "clamp_", min, max)


def clip_(self, min=None, max=None):  # noqa: A002 - torch's names
    """``x.clip_(min, max)``: PyTorch's alias of ``clamp_``."""
    return _clamp(self, "clip_", min, max)


def clamp_min_(self, min):  # noqa: A002 - torch's name
    """``x.clamp_min_(min)``: ``x.clamp(min=min)`` written into ``x`` in place, off the tape only."""
    return _clamp(self, "clamp_min_", min, None)


def clamp_max_(self, max):  # noqa: A002 - torch's name
    """``x.clamp_max_(max)``: ``x.clamp(max=max)`` written into ``x`` in place, off the tape only."""
    return _clamp(self, "clamp_max_", None, max)


def lerp_(self, end, weight):
    """``x.lerp_(end, weight)``: x + weight·(end − x) written into ``x`` in place, off the tape only.
    Computed as PyTorch's kernel does for accuracy near both ends: x + w·(end − x) where ``abs(w) < 0.5``,
    end − (end − x)·(1 − w) elsewhere. ``end`` and a tensor ``weight`` must have x's dtype, and x
    must be floating (PyTorch's rules)."""
    _guard(self, "lerp_", "x = x + weight * (end - x)", (end, weight))
    if self.data.dtype.kind not in "fc":
        raise InPlaceError(f"lerp_: not implemented for {self.dtype} tensors (PyTorch refuses it too); convert "
                           f"the tensor first, e.g. x = x.float()")
    for what, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype != self.dtype:
            raise InPlaceError(f"lerp_: expected dtype {self.dtype} for `{what}` but got dtype {t.dtype}")
    _fit_arguments(self, "lerp_", (end, weight))
    diff = E.sub(end, self)
    if isinstance(weight, numbers.Number):  # one branch for every entry
        return _store(self, "lerp_", self + weight * diff if abs(weight) < 0.5 else E.sub(end, diff * (1 - weight)))
    w = weight if isinstance(weight, Tensor) else Tensor(xp.asarray(weight))
    return _store(self, "lerp_", E.where(K.abs(w) < 0.5, self + w * diff, E.sub(end, diff * (1 - w))))


def addcmul_(self, tensor1, tensor2, *, value=1):
    """``x.addcmul_(t1, t2, value=1)``: x + value·t1·t2 written into ``x`` in place, off the tape only.
    (An integer x refuses a float ``value``: the result is floating.)"""
    return _in_place(self, "addcmul_", "x = x + value * t1 * t2",
                     lambda: self + E.mul(E.mul(value, tensor1), tensor2), (tensor1, tensor2))


def addcdiv_(self, tensor1, tensor2, *, value=1):
    """``x.addcdiv_(t1, t2, value=1)``: x + value·t1 / t2 written into ``x`` in place, off the tape only.
    (Always a true division: an integer x is refused, and so are integer t1 and t2, as PyTorch refuses them.)"""
    def compute():
        if all(getattr(t, "dtype", xp.dtype(type(t))).kind in "iub" for t in (tensor1, tensor2)):
            raise InPlaceError("Integer division with addcdiv is no longer supported (addcdiv_ divides t1 / t2 "
                               "truly): write x + value * (t1 / t2).trunc() for the historic integer result, or "
                               "convert t1 or t2 to a floating dtype")
        return self + E.true_divide(E.mul(value, tensor1), tensor2)
    return _in_place(self, "addcdiv_", "x = x + value * t1 / t2", compute, (tensor1, tensor2))


# ------------------------------------------------------------------ fills and copies
def masked_fill_(self, mask, value):
    """``x.masked_fill_(mask, value)``: ``value`` written where the boolean ``mask`` (broadcast to x's
    shape, not growing it) is True, in place, off the tape only. ``value`` is a number or a
    0-dimensional tensor, converted to x's dtype as PyTorch converts it (``fill_``)."""
    _guard(self, "masked_fill_", "x = x.masked_fill(mask, value) or x = rg.where(mask, value, x)", (value,))
    _fit_arguments(self, "masked_fill_", (mask,))
    value = _scalar("masked_fill_", value, self.dtype)
    return _store(self, "masked_fill_", RE.masked_fill(self, mask, value))


def zero_(self):
    """``x.zero_()``: every entry set to 0 in place (``w.grad.zero_()``), off the tape only."""
    _guard(self, "zero_", "x = rg.zeros_like(x)")
    self.data[...] = 0
    return self.mark_modified_()


def fill_(self, value):
    """``x.fill_(value)``: every entry set to ``value`` (a number or a 0-dimensional tensor,
    converted to x's dtype as PyTorch converts it) in place, off the tape only."""
    _guard(self, "fill_", "x = rg.full_like(x, value)", (value,))
    self.data[...] = _scalar("fill_", value, self.dtype)
    return self.mark_modified_()


def copy_(self, src, non_blocking=False):
    """``x.copy_(src)``: the values of ``src`` (a tensor or an array, broadcast to x's shape without
    growing it) written into ``x`` in place, converted to x's dtype whatever theirs (PyTorch's
    ``copy_`` casts: a float truncates into an integer tensor), off the tape only."""
    if not (isinstance(src, Tensor) or hasattr(src, "dtype") and hasattr(src, "shape")):
        raise TypeError(f"copy_(): argument 'src' must be a Tensor (or an array), not {type(src).__name__}")
    _guard(self, "copy_", "x = src.expand_as(x).to(x.dtype)", (src,))
    data = src.data if isinstance(src, Tensor) else xp.asarray(src)  # a host array crosses to the backend
    _broadcast_into("copy_", self.data.shape, data.shape)
    self.data[...] = data
    if _mode.dual is None:
        return self.mark_modified_()
    _stamp(self)
    _mode.dual.written(self, Ellipsis, src)  # forward AD: src's tangent (or zeros) copied with the value
    return self


def fill_diagonal_(self, fill_value, wrap=False):
    """``x.fill_diagonal_(value, wrap=False)``: the main diagonal (entries whose indices are all equal)
    set to ``value`` in place, off the tape only. A matrix may be tall: without ``wrap`` the
    diagonal stops at its last column, with ``wrap`` it starts again one row below (NumPy's
    ``fill_diagonal``, as PyTorch's); more than 2 dims must all have one length."""
    _guard(self, "fill_diagonal_", "x = rg.where(mask, value, x) with mask = rg.eye(n, m) != 0", (fill_value,))
    if self.ndim < 2:
        raise InPlaceError(f"fill_diagonal_: dimensions must larger than 1 (got a {self.ndim}-d tensor)")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise InPlaceError(f"fill_diagonal_: all dimensions of input must be of equal length (got {list(self.shape)})")
    xp.fill_diagonal(self.data, _scalar("fill_diagonal_", fill_value, self.dtype), wrap=wrap)
    return self.mark_modified_()


def setitem(self, index, value):
    """``x[index] = value``: PyTorch's (and NumPy's) item assignment, in place, off the tape only.
    ``index`` is anything ``x[index]`` takes (ints, slices, ``None``, ``...``, integer or boolean
    tensors and arrays); ``value`` a number (converted as ``fill_`` converts it), or a tensor or
    array broadcast to the indexed shape (converted as ``copy_`` converts it). On the tape write
    ``x = rg.where(mask, value, x)`` (or ``masked_fill``) instead."""
    _guard(self, "__setitem__", "x = rg.where(mask, value, x) or x = x.masked_fill(mask, value)", (value,))
    index = _index(index)
    source = value  # a Tensor's tangent goes where its value goes
    if isinstance(value, (list, tuple)):
        raise TypeError(f"can't assign a {type(value).__name__} to a Tensor: make it a tensor first")
    if isinstance(value, Tensor) or hasattr(value, "shape") and getattr(value, "ndim", 0):
        value = value.data if isinstance(value, Tensor) else xp.asarray(value)
        target = self.data[index].shape  # a view for basic indexing; advanced indexing copies (the shape is all)
        shape = tuple(value.shape)
        while len(shape) > len(target) and shape[0] == 1:  # leading ones are dropped, as PyTorch and NumPy do
            shape = shape[1:]
        try:
            _broadcast_into("__setitem__", target, shape)
        except InPlaceError:
            raise InPlaceError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(target)}") from None
        value = value.reshape(shape)
        if value.dtype != self.data.dtype and _index_put(index, value.size):
            raise InPlaceError(f"Index put requires the source and destination dtypes match, got "
                               f"{_torch_name(self.data.dtype)} for the destination and {_torch_name(value.dtype)} "
                               f"for the source (convert the value with .to(x.dtype), as in PyTorch)")
    else:
        value = _scalar("__setitem__", value, self.dtype)
    self.data[index] = value
    if _mode.dual is None:
        self.mark_modified_()
        return
    _stamp(self)
    _mode.dual.written(self, index, source)  # forward AD: the written part's tangent only


def _index_put(index, value_size) -> bool:
    """Whether PyTorch writes ``x[index] = value`` with ``index_put_``, which wants value in x's
    dtype: an index holding an integer index array, or a boolean mask with a value of more than
    one element (a one-element value under masks is ``masked_fill``, which casts; basic indexing
    is ``copy_``, which casts)."""
    entries = index if type(index) is tuple else (index,)
    arrays = [i for i in entries if hasattr(i, "dtype") and (i.dtype.kind == "b" or i.ndim)]
    return any(a.dtype.kind != "b" for a in arrays) or bool(arrays) and value_size != 1


# ------------------------------------------------------------------ random fills
def _generator(generator):
    """The generator to draw from: ``generator`` (a NumPy ``Generator``, e.g.
    ``rg.random.new_generator(seed)``) or retrograd's default one (``rg.manual_seed``)."""
    if generator is None:
        return rg_random.generator()
    if not hasattr(generator, "random"):
        raise TypeError(f"generator: expected a NumPy Generator (rg.random.new_generator(seed)), got "
                        f"{type(generator).__name__}")
    return generator


def _draw(self, values):
    """Write the draws (made on the host, by a NumPy generator) into self, cast to its dtype."""
    self.data[...] = xp.asarray(values, dtype=self.data.dtype)  # the draws cross to the backend explicitly
    return self.mark_modified_()


def _floating_only(self, name):
    if self.data.dtype.kind != "f":
        raise InPlaceError(f"{name}: not implemented for {self.dtype} tensors (a continuous distribution needs a "
                           f"floating dtype, as in PyTorch)")


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **keywords):
    """``x.uniform_(from=0, to=1)``: every entry drawn from U[from, to), in place, off the tape only
    (the draws of ``rg.rand``: ``from + (to − from)·u``). PyTorch's ``from`` is a Python keyword:
    pass it by position, as ``from_=``, or as ``**{"from": a}``."""
    from_ = keywords.pop("from", from_)
    if keywords:
        raise TypeError(f"uniform_() got unexpected keyword arguments {sorted(keywords)}")
    _guard(self, "uniform_", "x = rg.rand_like(x) * (to - from) + from")
    _floating_only(self, "uniform_")
    if from_ > to:
        raise InPlaceError(f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}")
    u = _generator(generator).random(self.shape)
    return _draw(self, from_ + (to - from_) * u)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """``x.normal_(mean=0, std=1)``: every entry drawn from N(mean, std²), in place, off the tape only
    (the draws of ``rg.randn``, scaled and shifted)."""
    _guard(self, "normal_", "x = rg.randn_like(x) * std + mean")
    _floating_only(self, "normal_")
    if not isinstance(mean, numbers.Real) or not isinstance(std, numbers.Real):
        raise TypeError("normal_(): mean and std must be numbers (as PyTorch's)")
    if std < 0:
        raise InPlaceError(f"normal expects std >= 0.0, but found std {std}")
    return _draw(self, _generator(generator).standard_normal(self.shape) * std + mean)


def bernoulli_(self, p=0.5, *, generator=None):
    """``x.bernoulli_(p=0.5)``: every entry 1 with probability ``p`` (a number, or a tensor of
    probabilities broadcast to x's shape), else 0, in place, off the tape only; any dtype."""
    _guard(self, "bernoulli_", "x = (rg.rand_like(x) < p).to(x.dtype)")
    probs = p.data if isinstance(p, Tensor) else xp.asarray(p)
    _broadcast_into("bernoulli_", self.data.shape, probs.shape)
    if not bool(((probs >= 0) & (probs <= 1)).all()):
        raise InPlaceError(f"bernoulli_ expects p to be in [0, 1], but got p={p if probs.ndim == 0 else 'a tensor'}")
    u = xp.asarray(_generator(generator).random(self.shape))
    return _draw(self, u < probs)


def exponential_(self, lambd=1.0, *, generator=None):
    """``x.exponential_(lambd=1)``: every entry drawn from the exponential distribution of rate
    ``lambd`` (mean 1/lambd), in place, off the tape only."""
    _guard(self, "exponential_", "x = -rg.log1p(-rg.rand_like(x)) / lambd")
    _floating_only(self, "exponential_")
    if not lambd > 0:
        raise InPlaceError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _draw(self, _generator(generator).standard_exponential(self.shape) / lambd)


# ------------------------------------------------------------------ shape and tape
def _dim(name, d, n):
    """``d`` in range(-n, n), as an index; PyTorch's error otherwise."""
    if not isinstance(d, int) or not -n <= d < n:
        raise DimError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d}) ({name})")
    return d % n


def _reshape_view(self, view) -> None:
    """``self.data`` becomes ``view(self.data)`` (a shape method); in a forward-AD dual level the
    tangent takes the same view."""
    self.data = view(self.data)
    dual = _mode.dual
    if dual is not None:
        tangent = dual.tangent(self)
        if tangent is not None:
            dual.set(self, view(tangent))


def t_(self):
    """``x.t_()``: a matrix transposed in place (``x.data`` becomes the transposed view; no value is
    written); a vector or a number stays. Off the tape only."""
    _guard(self, "t_", "x = x.t()", shape_only=True)
    if self.ndim > 2:
        raise InPlaceError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    if self.ndim == 2:
        _reshape_view(self, lambda a: a.T)
    return self


def transpose_(self, dim0, dim1):
    """``x.transpose_(d0, d1)``: two dims swapped in place (``x.data`` becomes the swapped view). Off
    the tape only."""
    _guard(self, "transpose_", "x = x.transpose(d0, d1)", shape_only=True)
    n = max(self.ndim, 1)
    if self.ndim:
        d0, d1 = _dim("transpose_", dim0, n), _dim("transpose_", dim1, n)
        _reshape_view(self, lambda a: xp.swapaxes(a, d0, d1))
    return self


def unsqueeze_(self, dim):
    """``x.unsqueeze_(d)``: a dim of size 1 inserted at ``d`` in place (a view). Off the tape only."""
    _guard(self, "unsqueeze_", "x = x.unsqueeze(d)", shape_only=True)
    d = _dim("unsqueeze_", dim, self.ndim + 1)
    _reshape_view(self, lambda a: xp.expand_dims(a, d))
    return self


def squeeze_(self, dim=None):
    """``x.squeeze_(d=None)``: dims of size 1 removed in place (all, or those of ``d``, an int or a
    tuple; a named dim whose size is not 1 stays, as PyTorch's). A view. Off the tape only."""
    _guard(self, "squeeze_", "x = x.squeeze(d)", shape_only=True)
    n = max(self.ndim, 1)
    dims = range(self.ndim) if dim is None else [_dim("squeeze_", d, n) for d in
                                                   (dim if isinstance(dim, (tuple, list)) else (dim,))]
    axes = tuple(d for d in dims if self.ndim and self.shape[d] == 1)
    _reshape_view(self, lambda a: xp.squeeze(a, axis=axes))
    return self


def detach_(self):
    """``x.detach_()``: ``x`` itself cut from the tape (a leaf that needs no gradient), in place.
    No value changes, so it is allowed on the tape too, as in PyTorch. Ops recorded earlier keep
    their edges: an intermediate's point at its producer, not at ``x``, so its earlier graph is
    unchanged; a leaf is its own edge, so a graph recorded before the detach still accumulates
    into its ``.grad`` (PyTorch's no longer does)."""
    self._node, self._requires_grad = None, False
    if _mode.dual is not None:  # as ``detach()``: no tangent either
        _mode.dual.set(self, None)
    return self


_UNARY = {"neg_": E.neg, "abs_": K.abs, "exp_": E.exp, "log_": E.log, "sqrt_": E.sqrt, "rsqrt_": M.rsqrt,
          "sigmoid_": E.sigmoid, "tanh_": E.tanh, "relu_": K.relu, "sin_": E.sin, "cos_": E.cos,
          "log1p_": E.log1p, "expm1_": E.expm1, "reciprocal_": E.reciprocal, "square_": E.square, "sign_": M.sign,
          "floor_": M.floor, "ceil_": M.ceil, "trunc_": M.trunc, "frac_": M.frac}

def _augmented(name, in_place, out_of_place):
    """``x ∘= y`` as PyTorch's where it can be: off the tape, in place (``x.add_(y)``: aliases of x,
    a parameter in a list, see the write); on the tape, ``x = x ∘ y``, a new tensor (PyTorch would
    rebase the graph, which retrograd never does — aliases keep the old value). A leaf that
    requires grad is refused with PyTorch's error rather than silently replaced by a new tensor."""

    def method(self, other):
        if is_grad_enabled() and (self._requires_grad or isinstance(other, Tensor) and other._requires_grad):
            if self._requires_grad and self._node is None:
                raise InPlaceError(LEAF_IN_PLACE)
            return out_of_place(self, other)
        return in_place(self, other)
    method.__name__ = method.__qualname__ = name
    return method


_AUGMENTED = {"__iadd__": ("add_", E.add), "__isub__": ("sub_", E.sub), "__imul__": ("mul_", E.mul),
              "__itruediv__": ("div_", D.div), "__ifloordiv__": ("floor_divide_", D.floor_divide),
              "__imod__": ("remainder_", D.remainder), "__ipow__": ("pow_", E.pow)}

METHODS = {
    **{name: _unary(name, fn) for name, fn in _UNARY.items()},
    "floor_divide_": _binary("floor_divide_", D.floor_divide),
    "add_": _binary("add_", E.add, "alpha"), "sub_": _binary("sub_", E.sub, "alpha"), "mul_": _binary("mul_", E.mul),
    "div_": _binary("div_", D.div, "rounding_mode"), "pow_": _binary("pow_", E.pow),
    "fmod_": _binary("fmod_", D.fmod), "remainder_": _binary("remainder_", D.remainder),
    "round_": round_, "clamp_": clamp_, "clip_": clip_, "clamp_min_": clamp_min_, "clamp_max_": clamp_max_,
    "lerp_": lerp_, "addcmul_": addcmul_, "addcdiv_": addcdiv_, "masked_fill_": masked_fill_, "zero_": zero_,
    "fill_": fill_, "copy_": copy_, "fill_diagonal_": fill_diagonal_, "__setitem__": setitem,
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "exponential_": exponential_,
    "t_": t_, "transpose_": transpose_, "unsqueeze_": unsqueeze_, "squeeze_": squeeze_, "detach_": detach_,
}
METHODS.update({name: _augmented(name, METHODS[method], fn) for name, (method, fn) in _AUGMENTED.items()})
