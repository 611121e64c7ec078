"""The array module, chosen at call time.

Every op does its array work through ``backend.xp``, never through ``numpy``
directly, so another array library that mirrors NumPy's API (CuPy) drops in:
``set_backend("cupy")``. ``xp`` is one namespace object that every module
holds; switching the backend refills it in place, so nothing is bound to
NumPy at import time (an attribute lookup on it costs what a module lookup
costs). ``ndarray`` is read as ``backend.ndarray`` at call time for the same
reason.

The helpers here are the few array functions the engine and several op
families share: ``sum_to`` (the adjoint of broadcasting), ``index_add`` (the
adjoint of indexing), stable ``sigmoid``/``softmax``, ``erf``.
"""

from __future__ import annotations

import numpy


class ArrayModule:
    """The active array module's namespace (``numpy``, ``cupy`` or any module
    with NumPy's API). Its attributes are the module's, copied in by
    ``set_backend``; ``name`` says which it is."""

    def __init__(self, module, name: str):
        self._use(module, name)

    def _use(self, module, name):
        d = self.__dict__
        d.clear()
        d.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
        if not hasattr(module, "errstate"):
            # CuPy has no errstate (its kernels never warn on 0/0 or overflow); the ops
            # use ``xp.errstate`` to silence NumPy's warnings, so NumPy's own context
            # stands in: it only touches NumPy's error state, a no-op for device math
            d["errstate"] = numpy.errstate
        d["name"], d["module"] = name, module

    def __getattr__(self, attr):  # lazily provided attributes of the module (rare)
        return getattr(self.__dict__["module"], attr)

    def __repr__(self):
        return f"<array module {self.name}>"


xp = ArrayModule(numpy, "numpy")
"""The active array module: every op calls ``xp.exp``, ``xp.matmul`` … through it."""

ndarray = numpy.ndarray
"""The active array type (read as ``backend.ndarray`` at call time)."""

_special = None  # scipy.special for NumPy arrays; None on other backends or without SciPy
_listeners = []  # called after every switch (namespaces that cache array functions)


def _load_special():
    global _special
    try:  # SciPy's special functions are single ufuncs: stable and several times faster
        from scipy import special
    except ImportError:  # pragma: no cover - NumPy-only installs use the compositions below
        special = None
    _special = special


def set_backend(name_or_module) -> None:
    """Select the array module: ``"numpy"`` (default), ``"cupy"`` (needs a GPU
    and CuPy installed) or any module object with NumPy's API (tests use a
    NumPy-backed stand-in that, like CuPy, refuses silent conversion to NumPy).

    Switch before creating tensors: arrays made under one backend are not
    converted. Models, optimizers and checkpoints work with ``backend.xp``
    arrays throughout, and ``to_numpy`` copies to the host where a file or a
    plot needs NumPy.
    """
    global ndarray, _special
    if isinstance(name_or_module, str):
        if name_or_module == "numpy":
            module, name = numpy, "numpy"
        elif name_or_module == "cupy":  # pragma: no cover - no GPU in CI
            import cupy as module

            name = "cupy"
        else:
            raise ValueError(f"set_backend: unknown backend {name_or_module!r}; expected 'numpy', 'cupy' "
                             f"or an array module object")
    else:
        module, name = name_or_module, getattr(name_or_module, "__name__", repr(name_or_module))
    xp._use(module, name)
    ndarray = module.ndarray
    if module is numpy:
        _load_special()
    else:
        _special = None
    for fn in _listeners:
        fn()


def get_backend() -> str:
    """The name of the active array module."""
    return xp.name


def on_backend_change(fn):
    """Call ``fn()`` after every ``set_backend`` (for caches of array functions)."""
    _listeners.append(fn)
    return fn


def to_numpy(x):
    """A NumPy copy of an array of the active backend (no copy for NumPy arrays):
    the one explicit way data leaves the backend (files, plots, printing)."""
    if isinstance(x, numpy.ndarray):
        return x
    get = getattr(x, "get", None)  # CuPy's (and the test stand-in's) device-to-host copy
    if get is not None:
        return get()
    return numpy.asarray(x)


host = numpy
"""The host array module (NumPy), whatever the backend. Bookkeeping that decides
shapes — sequence lengths, ``PackedSequence.batch_sizes``, the plan of a step
mask — lives on the host, as PyTorch keeps ``lengths`` and ``batch_sizes`` on
the CPU: planning a batch from host values never waits for the device."""


def host_int64(values):
    """``values`` (a list, a host array or a device array) as a host int64 array: no
    copy for host int64 data; a device array is copied to the host (one read, which
    waits for the device)."""
    return to_numpy(values).astype(numpy.int64, copy=False)


_load_special()


def sigmoid(x, out=None):
    """σ(x) = 1 / (1 + e⁻ˣ), stable for any x and without overflow warnings
    (``scipy.special.expit`` when SciPy is installed, else exp(x − log(1 + eˣ)))."""
    if _special is not None and (type(x) is numpy.ndarray or isinstance(x, numpy.generic)):
        # NumPy scalars too: arithmetic on 0-d arrays gives them, and σ(±∞) must stay 1 and 0
        return _special.expit(x, out=out)
    e = xp.exp(-xp.abs(x))  # ≤ 1: never overflows; σ(x) = 1/(1 + e) for x ≥ 0, e/(1 + e) below
    y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
    if out is None:
        return y
    out[...] = y
    return out


def softmax(x, axis=-1):
    """eˣ / Σ eˣ along ``axis``, shifted by the max so nothing overflows."""
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


_device_erf = {}  # module name -> its erf ufunc (cupyx.scipy.special.erf), or None if it has none


def _erf_on_device():
    """CuPy's erf kernel (``cupyx.scipy.special.erf``), imported on first use; None elsewhere."""
    name = xp.name
    if name not in _device_erf:
        fn = None
        if name == "cupy":  # pragma: no cover - no GPU in CI
            try:
                from cupyx.scipy.special import erf as fn
            except ImportError:
                fn = None
        _device_erf[name] = fn
    return _device_erf[name]


def erf(x):
    """The error function: ``scipy.special.erf`` on NumPy arrays, ``cupyx.scipy.special.erf``
    on CuPy's (on the device, no host round trip), else the C library's on a host copy,
    element by element."""
    if _special is not None and type(x) is numpy.ndarray:
        return _special.erf(x)
    device = _erf_on_device()
    if device is not None:  # pragma: no cover - no GPU in CI
        return device(x)
    import math

    host = to_numpy(x)
    values = numpy.vectorize(math.erf, otypes=[host.dtype])(host) if host.size else host.copy()
    return xp.asarray(values, dtype=x.dtype)


def sum_to(x, shape: tuple):
    """Sum ``x`` down to ``shape``: the adjoint of broadcasting ``shape`` to ``x.shape``.

    Leading axes that broadcasting added are summed away; axes where ``shape``
    has size 1 and ``x`` does not are summed with ``keepdims``.
    """
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    out = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        out = out.reshape(shape)
    return out


def is_basic_index(index) -> bool:
    """Whether ``index`` holds only ints, slices, None and Ellipsis (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def index_add(shape, dtype, index, g):
    """zeros(shape) with ``g`` added at ``index``; repeated indices accumulate
    (the adjoint of ``x[index]``)."""
    out = xp.zeros(shape, dtype=dtype)
    if is_basic_index(index):
        out[index] = g
    else:
        xp.add.at(out, index, g)
    return out
