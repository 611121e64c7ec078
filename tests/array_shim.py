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

Every explicit crossing is counted, since on a GPU each one waits for the device
(a synchronisation): ``get``, ``item``, ``tolist``, ``float``/``int``/``bool``/
``operator.index``, ``repr``/``str``, ``tobytes``-like methods, the buffer
attributes (``data``, ``flat``, ``ctypes``) and the functions that return a
Python value computed from the data (``allclose``, ``array_equal``, …; CuPy's
return a device array). ``host_reads`` is the running total and
``count_host_reads()`` counts the reads inside a ``with`` block, each with the
line of the caller that made it::

    with count_host_reads() as reads:
        train_step()
    assert reads.n == 0, reads
"""

from __future__ import annotations

import contextlib
import operator
import sys
import types

import numpy as np

_HOST_OK = {"asarray", "array", "asanyarray", "ascontiguousarray"}  # CuPy takes host data here
# CuPy implements these as a method call on the first argument (``a.argsort(...)``): a list fails
_METHOD_OF_FIRST = {"argsort", "sort", "argpartition", "partition", "argmax", "argmin", "nonzero",
                    "flatnonzero", "ravel", "transpose"}


host_reads = 0
"""Device→host reads so far in this process (every explicit crossing; see the module docstring)."""
_counters = []  # the open count_host_reads() blocks


class HostReads:
    """The reads inside one ``count_host_reads()`` block: ``n`` and, per read, what and from where."""

    def __init__(self):
        self.n = 0
        self.sites = []  # "what @ file:line (function)" of each read

    def __repr__(self):
        shown = "\n  ".join(self.sites[:20]) + ("\n  ..." if len(self.sites) > 20 else "")
        return f"{self.n} device->host read(s)" + (f":\n  {shown}" if self.sites else "")


@contextlib.contextmanager
def shim_backend():
    """retrograd's backend set to the stand-in for the block (``with shim_backend() as xp``), NumPy
    again afterwards, also on failure."""
    from retrograd.autograd import backend

    backend.set_backend(shim)
    try:
        yield shim
    finally:
        backend.set_backend("numpy")


@contextlib.contextmanager
def count_host_reads():
    """Count the device→host reads made inside the block (nested blocks each count theirs)."""
    counter = HostReads()
    _counters.append(counter)
    try:
        yield counter
    finally:
        _counters.remove(counter)


def _caller():
    """The innermost frame outside this module: who made the read."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename == __file__:
        f = f.f_back
    if f is None:
        return "?"
    name = f.f_code.co_filename
    short = name.split("/src/", 1)[-1] if "/src/" in name else name.rsplit("/", 2)[-1]
    return f"{short}:{f.f_lineno} ({f.f_code.co_name})"


def _read(what):
    global host_reads
    host_reads += 1
    if _counters:
        site = f"{what} @ {_caller()}"
        for counter in _counters:
            counter.n += 1
            counter.sites.append(site)


# what hands the data itself to the host: buffer views and serialising methods, and the functions
# whose NumPy result is a Python value computed from the data
_HOST_VIEWS = {"data", "flat", "ctypes"}
_HOST_METHODS = {"tobytes", "tostring", "tofile", "dump", "dumps"}
_HOST_RESULTS = {"allclose", "array_equal", "array_equiv", "count_nonzero"}


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
        _read("get")
        return self._a.copy()

    def item(self):
        _read("item")
        return self._a.item()

    def tolist(self):
        _read("tolist")
        return self._a.tolist()

    def __float__(self):
        _read("float")
        return float(self._a)

    def __int__(self):
        _read("int")
        return int(self._a)

    def __index__(self):
        _read("index")
        return operator.index(self._a)

    def __bool__(self):
        _read("bool")
        return bool(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __repr__(self):
        _read("repr")
        return f"shim.{self._a!r}"

    def __dlpack__(self, *args, **kwargs):
        _refuse("__dlpack__")

    def __reduce__(self):  # pickling serialises the data on the host
        _read("pickle")
        return ShimArray, (self._a.copy(),)

    def __copy__(self):  # copies stay on the device: no read
        return ShimArray(self._a.copy())

    def __deepcopy__(self, memo):
        return ShimArray(self._a.copy())

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
            if name in _HOST_VIEWS:
                _read(name)
            return _wrap(attr)

        def method(*args, **kwargs):
            if name in _HOST_METHODS:
                _read(name)
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
        if self.__name__ in _HOST_RESULTS and isinstance(result, (bool, int, float)):
            _read(self.__name__)
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
