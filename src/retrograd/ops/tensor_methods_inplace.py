"""More of PyTorch's in-place Tensor methods: the ``_`` forms of ops retrograd already has out of place
(``scatter_``, ``index_add_``, ``tril_``, ``cumsum_``, ``eq_``, ``logical_and_``, ``erf_``, ``addmm_``,
``swapaxes_`` …), built exactly as ``ops/inplace.py`` builds ``add_``:

1. refused on the tape (grad mode on and ``self``, or a tensor argument whose value flows into the
   result, requiring grad): a leaf that requires grad gets PyTorch's error, anything else an error
   naming the out-of-place form (``x = x.scatter(dim, index, src)``);
2. the result computed with the out-of-place op, so its values are exactly ``x.scatter(...)``'s, and
   checked to fit ``self`` (the same shape; a dtype PyTorch would cast to self's);
3. written into ``self.data`` and the array stamped (``mark_modified_``); ``self`` returned.

The comparisons (``eq_`` …), the logical and bitwise methods and ``gcd_``/``lcm_`` have no gradient:
their arguments may require grad (only ``self`` is written), as in PyTorch. ``swapaxes_`` and
``swapdims_`` write nothing: like ``transpose_`` they make ``self.data`` a view of another shape.
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from . import cumulative as CU
from . import elementwise as E
from . import elementwise_extra as EX
from . import inplace as IP
from . import logical as LG
from . import matrix as MX
from . import matrix_extra as MXE
from . import products as PR
from . import rearrange as RE
from . import rounding_and_math as M
from . import scatter as SC
from . import special as SP


C_TYPES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int", "int64": "long int",
           "bool": "bool", "float16": "c10::Half", "float32": "float", "float64": "double", "uint16": "unsigned short",
           "uint32": "unsigned int", "uint64": "unsigned long"}
"""The C++ names PyTorch's dtype errors print ("input tensor dtype long int …")."""


def _require_tensor(name, other):
    """PyTorch's in-place ``hypot_``, ``ldexp_``, ``gcd_`` … take a tensor ``other``, not a number."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")


def _write(self, name, hint, compute, others=()):
    """Guard, compute, store: ``IP._in_place`` without its broadcast check of the arguments, for ops
    whose tensor arguments are not elementwise operands of self (a scatter's source, a matrix factor)."""
    IP._guard(self, name, hint, others)
    return IP._store(self, name, compute())


def _bad_in_place_shape(self, name, result):
    """The matrix products refuse a result of another shape with PyTorch's "Bad in-place call" text
    (``self`` never broadcasts to the product's shape)."""
    if tuple(result.shape) != tuple(self.shape):
        raise IP.InPlaceError(f"Bad in-place call: input tensor size {list(self.shape)} and output tensor size "
                              f"{list(result.shape)} should match ({name} writes into the tensor; write the "
                              f"out-of-place form for the other shape)")


# ------------------------------------------------------------------ unary math (self's dtype must hold it)
_UNARY = {"erf_": E.erf, "erfc_": SP.erfc, "erfinv_": SP.erfinv, "lgamma_": SP.lgamma, "digamma_": SP.digamma,
          "i0_": SP.i0, "sinc_": SP.sinc, "log2_": M.log2, "log10_": M.log10, "exp2_": E.exp2, "fix_": M.fix,
          "sgn_": EX.sgn, "deg2rad_": EX.deg2rad, "rad2deg_": EX.rad2deg}


def logit_(self, eps=None):
    """``x.logit_(eps=None)``: ``x.logit(eps)`` written into ``x`` in place, off the tape only."""
    return IP._in_place(self, "logit_", "x = x.logit(eps)", lambda: SP.logit(self, eps))


def polygamma_(self, n):
    """``x.polygamma_(n)``: ψ⁽ⁿ⁾(x) (``x.polygamma(n)``) written into ``x`` in place, off the tape only."""
    return IP._in_place(self, "polygamma_", "x = x.polygamma(n)", lambda: SP.polygamma(n, self))


def mvlgamma_(self, p):
    """``x.mvlgamma_(p)``: ``x.mvlgamma(p)`` written into ``x`` in place, off the tape only."""
    return IP._in_place(self, "mvlgamma_", "x = x.mvlgamma(p)", lambda: SP.mvlgamma(self, p))


def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    """``x.nan_to_num_(nan=0.0, posinf=None, neginf=None)``: ``x.nan_to_num(...)`` written into ``x`` in
    place, off the tape only (an integer or boolean tensor stays as it is)."""
    return IP._in_place(self, "nan_to_num_", "x = x.nan_to_num(nan, posinf, neginf)",
                        lambda: EX.nan_to_num(self, nan, posinf, neginf))


def renorm_(self, p, dim, maxnorm):
    """``x.renorm_(p, dim, maxnorm)``: ``x.renorm(p, dim, maxnorm)`` written into ``x`` in place, off the
    tape only (floating tensors: PyTorch refuses integer ones)."""
    if self.dtype.kind not in "fc":
        raise IP.InPlaceError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                              f"{IP._torch_name(self.dtype)} (renorm_; convert the tensor first, e.g. x = x.float())")
    return IP._in_place(self, "renorm_", "x = x.renorm(p, dim, maxnorm)", lambda: PR.renorm(self, p, dim, maxnorm))


def _cumulative(name, fn):
    base = name[:-1]

    def method(self, dim, *, dtype=None):
        def compute():
            if dtype is not None and xp.dtype(dtype) != self.dtype:
                have, want = (C_TYPES.get(str(d), str(d)) for d in (self.dtype, xp.dtype(dtype)))
                raise IP.InPlaceError(f"Bad in-place call: input tensor dtype {have} and output tensor dtype {want} "
                                      f"should match ({name}; write x = x.{base}(dim, dtype=...) for another dtype)")
            if self.dtype == bool:
                raise EX.DtypeNotSupported(f'"{base}_out_cpu" not implemented for \'Bool\' ({name} of a boolean '
                                           f'tensor counts into int64: write x = x.{base}(dim))')
            return fn(self, dim, dtype=self.dtype)  # the accumulation wraps in self's dtype, as PyTorch's
        return IP._in_place(self, name, f"x = x.{base}(dim)", compute)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``x.{name}(dim, *, dtype=None)``: ``x.{base}(dim)`` written into ``x`` in place, off the "
                      f"tape only, accumulated in x's dtype (an integer overflow wraps, as PyTorch's); ``dtype``, "
                      f"if given, must be x's.")
    return method


def _triangle(name, fn):
    base = name[:-1]

    def method(self, diagonal=0):
        def compute():
            if self.ndim < 2:
                raise IP.InPlaceError(f"{base}: input tensor must have at least 2 dimensions (got shape "
                                      f"{list(self.shape)})")
            return fn(self, diagonal)
        return IP._in_place(self, name, f"x = x.{base}(diagonal)", compute)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``x.{name}(diagonal=0)``: ``x.{base}(diagonal)`` written into ``x`` in place (the other "
                      f"triangle set to 0), off the tape only.")
    return method


# ------------------------------------------------------------------ binary math
def _float_power_(self, exponent):
    """``x.float_power_(exponent)``: x ** exponent computed in float64, written into ``x`` in place, off
    the tape only. x must be float64 (complex128 for a complex result), as PyTorch requires."""
    other = exponent

    def compute():
        wanted = xp.dtype(xp.complex128 if EX.result_type(self, other).kind == "c" else xp.float64)
        if self.dtype != wanted:
            raise IP.InPlaceError(f"the base given to float_power_ has dtype {IP._torch_name(self.dtype)} but the "
                                  f"operation's result requires dtype {IP._torch_name(wanted)} (write x = "
                                  f"x.float_power(exponent), a float64 tensor)")
        return EX.float_power(self, other)
    return IP._in_place(self, "float_power_", "x = x.float_power(exponent)", compute, (other,))


_float_power_.__name__ = _float_power_.__qualname__ = "float_power_"


def _tensor_binary(name, fn):
    """An in-place binary method whose ``other`` must be a tensor (PyTorch's ``hypot_``, ``ldexp_`` …)."""
    inner = IP._binary(name, fn)

    def method(self, other):
        _require_tensor(name, other)
        return inner(self, other)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = inner.__doc__.replace("``other`` may", "``other`` (a tensor) may")
    return method


def _heaviside_(self, values):
    _require_tensor("heaviside_", values)  # PyTorch names it 'values'; the same check
    return IP._in_place(self, "heaviside_", "x = x.heaviside(values)", lambda: EX.heaviside(self, values), (values,))


_heaviside_.__name__ = _heaviside_.__qualname__ = "heaviside_"
_heaviside_.__doc__ = ("``x.heaviside_(values)``: ``x.heaviside(values)`` (0 below 0, ``values`` at 0, 1 above) "
                       "written into ``x`` in place, off the tape only.")

_BINARY = {"xlogy_": IP._binary("xlogy_", SP.xlogy), "true_divide_": IP._binary("true_divide_", E.true_divide),
           "float_power_": _float_power_, "heaviside_": _heaviside_,
           **{name: _tensor_binary(name, fn) for name, fn in (
               ("hypot_", EX.hypot), ("ldexp_", EX.ldexp), ("nextafter_", EX.nextafter),
               ("igamma_", SP.gammainc), ("igammac_", SP.gammaincc))}}


# ------------------------------------------------------------------ no gradient: comparisons, logic, bits
def _no_gradient(name, fn, hint, tensor_only=False, arity=1, promoted=False):
    """An in-place form of an op without a gradient: only ``self`` must be off the tape (its arguments
    are read, never differentiated). ``promoted``: the op computes in the promoted dtype of its
    operands, which must cast to self's — checked first, as PyTorch checks it (``bitwise_and_`` of an
    integer tensor and 0.5 is a cast error, not the kernel's dtype refusal)."""

    def method(self, *args, **kwargs):
        if set(kwargs) - {"other"} or arity == 0 and kwargs:
            raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kwargs)}")
        args += tuple(kwargs.values())
        if len(args) != arity:
            raise TypeError(f"{name}() takes {arity} argument{'s' * (arity != 1)} ({len(args)} given)")
        if tensor_only:
            _require_tensor(name, args[0])
        IP._guard(self, name, hint)
        IP._fit_arguments(self, name, args)
        if promoted and not IP._can_cast(EX.result_type(self, *args), self.dtype):
            raise IP.InPlaceError(f"result type {IP._torch_name(EX.result_type(self, *args))} can't be cast to the "
                                  f"desired output type {IP._torch_name(self.dtype)} ({name}; write x = "
                                  f"{hint[4:]} for the promoted result)")
        return IP._store(self, name, fn(self, *args))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``x.{name}({'other' if arity else ''})``: ``{hint[4:]}`` written into ``x`` in place, off "
                      f"the tape only; the result is cast to x's dtype (a float tensor holds 1.0/0.0, a boolean "
                      f"one True/False), as PyTorch's. No gradient: the arguments may require grad.")
    return method


_COMPARISONS = {"eq_": EX.eq, "ne_": EX.ne, "lt_": EX.lt, "le_": EX.le, "gt_": EX.gt, "ge_": EX.ge,
                "not_equal_": EX.ne, "less_": EX.lt, "less_equal_": EX.le, "greater_": EX.gt,
                "greater_equal_": EX.ge}
_LOGICAL = {"logical_and_": LG.logical_and, "logical_or_": LG.logical_or, "logical_xor_": LG.logical_xor}
_BITWISE = {"bitwise_and_": LG.bitwise_and, "bitwise_or_": LG.bitwise_or, "bitwise_xor_": LG.bitwise_xor}

_NO_GRADIENT = {
    **{name: _no_gradient(name, fn, f"x = x.{fn.__name__}(other)") for name, fn in _COMPARISONS.items()},
    **{name: _no_gradient(name, fn, f"x = x.{fn.__name__}(other)", tensor_only=True) for name, fn in _LOGICAL.items()},
    **{name: _no_gradient(name, fn, f"x = x.{fn.__name__}(other)", promoted=True) for name, fn in _BITWISE.items()},
    "logical_not_": _no_gradient("logical_not_", LG.logical_not, "x = x.logical_not()", arity=0),
    "bitwise_not_": _no_gradient("bitwise_not_", LG.bitwise_not, "x = x.bitwise_not()", arity=0),
    "gcd_": _no_gradient("gcd_", EX.gcd, "x = x.gcd(other)", tensor_only=True, promoted=True),
    "lcm_": _no_gradient("lcm_", EX.lcm, "x = x.lcm(other)", tensor_only=True, promoted=True),
}


# ------------------------------------------------------------------ scatter and index families
_NO_VALUE = SC._NO_VALUE


def scatter_(self, dim, index, src=_NO_VALUE, *, value=_NO_VALUE, reduce=None):
    """``x.scatter_(dim, index, src, *, reduce=None)`` (``src`` a tensor, or a number: ``value``):
    ``x.scatter(...)`` written into ``x`` in place, off the tape only; returns x."""
    source = value if src is _NO_VALUE else src
    return _write(self, "scatter_", "x = x.scatter(dim, index, src)",
                  lambda: SC.scatter(self, dim, index, src, value=value, reduce=reduce), (source,))


def scatter_add_(self, dim, index, src):
    """``x.scatter_add_(dim, index, src)``: ``x.scatter_add(...)`` written into ``x`` in place, off the tape only."""
    return _write(self, "scatter_add_", "x = x.scatter_add(dim, index, src)",
                  lambda: SC.scatter_add(self, dim, index, src), (src,))


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    """``x.scatter_reduce_(dim, index, src, reduce, *, include_self=True)``: ``x.scatter_reduce(...)`` written
    into ``x`` in place, off the tape only."""
    return _write(self, "scatter_reduce_", "x = x.scatter_reduce(dim, index, src, reduce)",
                  lambda: SC.scatter_reduce(self, dim, index, src, reduce, include_self=include_self), (src,))


def index_add_(self, dim, index, source, *, alpha=1):
    """``x.index_add_(dim, index, source, *, alpha=1)``: ``x.index_add(...)`` written into ``x`` in place, off
    the tape only."""
    return _write(self, "index_add_", "x = x.index_add(dim, index, source)",
                  lambda: SC.index_add(self, dim, index, source, alpha=alpha), (source,))


def index_copy_(self, dim, index, source):
    """``x.index_copy_(dim, index, source)``: ``x.index_copy(...)`` written into ``x`` in place, off the tape only."""
    return _write(self, "index_copy_", "x = x.index_copy(dim, index, source)",
                  lambda: SC.index_copy(self, dim, index, source), (source,))


def index_fill_(self, dim, index, value):
    """``x.index_fill_(dim, index, value)``: ``x.index_fill(...)`` written into ``x`` in place, off the tape
    only (a float value truncates into an integer tensor, as PyTorch's fill)."""
    return _write(self, "index_fill_", "x = x.index_fill(dim, index, value)",
                  lambda: SC.index_fill(self, dim, index, IP._scalar("index_fill_", value, self.dtype)
                                        if not isinstance(value, Tensor) else value), (value,))


def masked_scatter_(self, mask, source):
    """``x.masked_scatter_(mask, source)``: ``x.masked_scatter(mask, source)`` written into ``x`` in place, off
    the tape only; the mask may broadcast to x's shape but not grow it."""
    IP._guard(self, "masked_scatter_", "x = x.masked_scatter(mask, source)", (source,))
    IP._fit_arguments(self, "masked_scatter_", (mask,))
    return IP._store(self, "masked_scatter_", SC.masked_scatter(self, mask, source))


# ------------------------------------------------------------------ matrix products
def _product(name, fn, arguments):
    base = name[:-1]
    names = arguments.split(", ")

    def method(self, *args, beta=1, alpha=1, **named):
        if len(args) > 2 or set(named) != set(names[len(args):]):
            raise TypeError(f"{name}() takes the two tensors {arguments} (and keywords beta, alpha); got "
                            f"{len(args)} positional and {sorted(named)}")
        a, b = args + tuple(named[n] for n in names[len(args):])

        def compute():
            result = fn(self, a, b, beta=beta, alpha=alpha)
            _bad_in_place_shape(self, name, result)
            return result
        return _write(self, name, f"x = x.{base}({arguments}, beta=beta, alpha=alpha)", compute, (a, b))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``x.{name}({arguments}, *, beta=1, alpha=1)``: β·x + α·(the product), ``x.{base}(...)``, "
                      f"written into ``x`` in place, off the tape only; the product must have x's shape.")
    return method


_PRODUCTS = {"addmm_": _product("addmm_", MX.addmm, "mat1, mat2"), "addmv_": _product("addmv_", MXE.addmv, "mat, vec"),
             "addr_": _product("addr_", MXE.addr, "vec1, vec2"),
             "addbmm_": _product("addbmm_", MXE.addbmm, "batch1, batch2"),
             "baddbmm_": _product("baddbmm_", MXE.baddbmm, "batch1, batch2")}


# ------------------------------------------------------------------ shape
def _swap(name, first, second):
    def method(self, *dims, **named):
        if len(dims) > 2 or set(named) != set((first, second)[len(dims):]):
            raise TypeError(f"{name}() takes 2 dims ({first}, {second}), got {len(dims)} and {sorted(named)}")
        dim0, dim1 = dims + tuple(named[n] for n in (first, second)[len(dims):])
        IP._guard(self, name, f"x = x.{name[:-1]}(dim0, dim1)", shape_only=True)
        n = max(self.ndim, 1)
        d0, d1 = IP._dim(name, dim0, n), IP._dim(name, dim1, n)
        if self.ndim:
            self.data = xp.swapaxes(self.data, d0, d1)
        return self
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``x.{name}(dim0, dim1)``: PyTorch's alias of ``transpose_``: two dims swapped in place "
                      f"(``x.data`` becomes the swapped view), off the tape only.")
    return method


METHODS = {
    **{name: IP._unary(name, fn) for name, fn in _UNARY.items()},
    "logit_": logit_, "polygamma_": polygamma_, "mvlgamma_": mvlgamma_, "nan_to_num_": nan_to_num_,
    "renorm_": renorm_, "cumsum_": _cumulative("cumsum_", CU.cumsum), "cumprod_": _cumulative("cumprod_", CU.cumprod),
    "tril_": _triangle("tril_", RE.tril), "triu_": _triangle("triu_", RE.triu),
    **_BINARY, **_NO_GRADIENT, **_PRODUCTS,
    "scatter_": scatter_, "scatter_add_": scatter_add_, "scatter_reduce_": scatter_reduce_, "index_add_": index_add_,
    "index_copy_": index_copy_, "index_fill_": index_fill_, "masked_scatter_": masked_scatter_,
    "swapaxes_": _swap("swapaxes_", "axis0", "axis1"), "swapdims_": _swap("swapdims_", "dim0", "dim1"),
}
"""The in-place Tensor methods of this module (installed by ``ops.methods`` through ``tensor_methods_extra``)."""
