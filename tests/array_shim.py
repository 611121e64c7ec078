"""A NumPy-backed stand-in for a device array library (CuPy), for testing the backend switch.

``ShimArray`` wraps a NumPy array the way a ``cupy.ndarray`` wraps device
memory, and like CuPy it **refuses silent conversion to NumPy**: ``np.asarray``,
``np.exp`` or ``numpy_array + shim_array`` raise ``TypeError``. The data leaves
only through ``.get()`` (CuPy's device-to-host copy) or ``.item()``/``float()``.
The module object ``shim`` mirrors NumPy's namespace: its functions unwrap
their arguments, call NumPy and wrap array results, and, like CuPy's, they
refuse NumPy arrays as operands (only ``asarray``/``array`` take host data).

It also refuses what CuPy refuses where NumPy is lenient (each found on a real
GPU run that the stand-in had let through):

- a host array assigned into a device array (``d[...] = numpy_array``: CuPy's
  "non-scalar numpy.ndarray cannot be used for fill"), lists too;
- host arrays, 0-d included, and Python lists as operands of ufuncs and
  arithmetic (CuPy's "Unsupported type");
- a list where CuPy calls a method of its argument (``argsort([...])``);
- ``as_strided(..., writeable=...)`` (CuPy's takes only x, shape, strides);
- ``errstate``: CuPy has none, so neither has the stand-in.

And like CuPy, indexing a single element gives a 0-d *view* (NumPy gives a
scalar copy), so code that keeps ``a[i]`` and then writes ``a[i] = …`` sees
the value move, as it would on the GPU.

So a library that runs its test suite with ``backend.set_backend(shim)`` and
passes does all array work through ``backend.xp`` and crosses to the host only
explicitly: that is what a CuPy backend needs.
"""

from __future__ import annotations

import operator
import types

import numpy as np

_HOST_OK = {"asarray", "array", "asanyarray", "ascontiguousarray"}  # CuPy takes host data here
# CuPy implements these as a method call on the first argument (``a.argsort(...)``): a list fails
_METHOD_OF_FIRST = {"argsort", "sort", "argpartition", "partition", "argmax", "argmin", "nonzero",
                    "flatnonzero", "ravel", "transpose"}


class HostConversionError(TypeError):
    """An implicit conversion between the device stand-in and NumPy."""


def _refuse(what):
    raise HostConversionError(f"array_shim: implicit conversion to a NumPy array is not allowed ({what}); "
                              f"use backend.to_numpy(x) / x.get()")


def _unwrap(x, strict):
    if isinstance(x, ShimArray):
        return x._a
    if strict and isinstance(x, np.ndarray):  # 0-d too: CuPy takes NumPy scalars, not 0-d arrays
        raise HostConversionError("array_shim: a NumPy array was passed where a device array is needed; "
                                  "convert it with xp.asarray")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i, strict) for i in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, strict) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        return ShimArray(x)
    if isinstance(x, np.generic):  # like CuPy, reductions give 0-d device arrays
        return ShimArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, list):
        return [_wrap(i) for i in x]
    return x


def _index(i):
    """Indices may be device arrays, host arrays or Python objects (CuPy converts host indices)."""
    return _unwrap(i, strict=False)


class ShimArray:
    """A device-array stand-in around a NumPy array (``_a``)."""

    __slots__ = ("_a", "__weakref__")
    __array_ufunc__ = None  # numpy ufuncs on a ShimArray raise instead of converting
    __array_priority__ = 2000

    def __init__(self, a):
        self._a = a

    # conversions: explicit only
    def __array__(self, dtype=None, copy=None):
        _refuse("__array__")

    def __array_function__(self, func, types_, args, kwargs):
        _refuse(f"numpy.{func.__name__}")

    def get(self):
        """A NumPy copy (CuPy's device-to-host transfer)."""
        return self._a.copy()

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return operator.index(self._a)

    def __bool__(self):
        return bool(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __repr__(self):
        return f"shim.{self._a!r}"

    def __dlpack__(self, *args, **kwargs):
        _refuse("__dlpack__")

    # attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ShimArray(self._a.T))
    mT = property(lambda self: ShimArray(self._a.mT))
    base = property(lambda self: None if self._a.base is None else ShimArray(self._a.base))
    real = property(lambda self: ShimArray(self._a.real))
    imag = property(lambda self: ShimArray(self._a.imag))

    def __getattr__(self, name):  # methods: sum, reshape, astype, copy, ...
        if name.startswith("__"):  # no __array_interface__ / __array_struct__: those would convert silently
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args, True), **_unwrap(kwargs, True)))
        return method

    def __getitem__(self, index):
        index = _index(index)
        out = self._a[index]
        if isinstance(out, np.generic) and _all_ints(index):
            # CuPy: a[i, j] is a 0-d view into a, not a copy of the value
            return ShimArray(self._a[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)])
        return _wrap(out)

    def __setitem__(self, index, value):
        if isinstance(value, (np.ndarray, list, tuple)):
            raise HostConversionError(f"array_shim: cannot assign a host {type(value).__name__} into a device array "
                                      f"(CuPy: non-scalar numpy.ndarray cannot be used for fill); convert it with "
                                      f"xp.asarray")
        self._a[_index(index)] = _unwrap(value, strict=False)


def _all_ints(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in items)


def _binary(op, reflected=False, inplace=False):
    def method(self, other):
        o = _unwrap(other, strict=True)
        if inplace:
            op(self._a, o)
            return self
        return _wrap(op(o, self._a) if reflected else op(self._a, o))
    return method


for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow), ("matmul", operator.matmul), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor)]:
    setattr(ShimArray, f"__{_name}__", _binary(_op))
    setattr(ShimArray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(ShimArray, f"__i{_name}__", _binary(getattr(operator, f"i{_name}"), inplace=True))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ShimArray, f"__{_name}__", _binary(getattr(operator, _name)))
ShimArray.__neg__ = lambda self: ShimArray(-self._a)
ShimArray.__pos__ = lambda self: ShimArray(+self._a)
ShimArray.__abs__ = lambda self: ShimArray(abs(self._a))
ShimArray.__invert__ = lambda self: ShimArray(~self._a)
ShimArray.__hash__ = None


class _Function:
    """A NumPy function or ufunc as a device function: device arrays in, device arrays out."""

    def __init__(self, fn, name):
        self._fn, self._strict = fn, name not in _HOST_OK
        self._no_lists = isinstance(fn, np.ufunc)  # ufunc operands: device arrays or scalars only
        self._method_of_first = name in _METHOD_OF_FIRST
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        if self._no_lists and any(isinstance(a, (list, tuple)) for a in args):
            raise TypeError(f"array_shim: {self.__name__}: Unsupported type list/tuple (CuPy's ufuncs take "
                            f"device arrays and scalars only)")
        if self._method_of_first and args and not isinstance(args[0], ShimArray):
            raise TypeError(f"array_shim: {self.__name__}: the first argument must be a device array, got "
                            f"{type(args[0]).__name__} (CuPy calls its .{self.__name__}() method)")
        out = kwargs.get("out")
        kwargs = _unwrap(kwargs, self._strict)
        result = self._fn(*_unwrap(args, self._strict), **kwargs)
        return out if isinstance(out, ShimArray) else _wrap(result)

    def __getattr__(self, name):  # ufunc methods: add.at, maximum.reduce, ...
        attr = getattr(self._fn, name)
        return _Function(attr, name) if callable(attr) else attr


class _Grid:
    """``ogrid`` / ``mgrid``: index tricks whose results are device arrays."""

    def __init__(self, grid):
        self._grid = grid

    def __getitem__(self, key):
        return _wrap(self._grid[key])


def _build():
    mod = types.ModuleType("array_shim")
    mod.__doc__ = __doc__
    for name in dir(np):
        if name.startswith("_"):
            continue
        value = getattr(np, name)
        if isinstance(value, type) or not callable(value):
            setattr(mod, name, value)  # dtypes, constants (pi, inf, newaxis), exception classes
        else:
            setattr(mod, name, _Function(value, name))
    mod.ndarray = ShimArray
    mod.linalg = types.SimpleNamespace(**{n: _Function(getattr(np.linalg, n), n) for n in dir(np.linalg)
                                          if not n.startswith("_") and callable(getattr(np.linalg, n))})
    mod.ogrid, mod.mgrid = _Grid(np.ogrid), _Grid(np.mgrid)
    tricks = np.lib.stride_tricks

    def as_strided(x, shape=None, strides=None):  # CuPy's signature: no subok=, no writeable=
        return _Function(tricks.as_strided, "as_strided")(x, shape, strides)
    mod.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
        as_strided=as_strided,
        sliding_window_view=_Function(tricks.sliding_window_view, "sliding_window_view")))
    mod.random = None  # random numbers come from retrograd.random (host) and cross explicitly
    del mod.errstate  # CuPy has none (its kernels never warn): code must not rely on xp.errstate
    mod.dtype = np.dtype
    mod.finfo, mod.iinfo = np.finfo, np.iinfo
    mod.__name__ = "array_shim"
    return mod


shim = _build()
