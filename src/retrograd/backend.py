"""The array-module handle.

Every op in retrograd does its array work through ``backend.xp`` (NumPy today),
never through ``numpy`` directly, so that a CuPy backend can be dropped in later
without rewriting the ops: CuPy mirrors NumPy's API.

``sum_to`` lives here because it is the one helper every broadcasting rule
needs: the gradient of a broadcast is a sum over the broadcast axes.
"""

from __future__ import annotations

import numpy

xp = numpy
"""The active array module (``numpy``; ``cupy`` once a GPU backend exists)."""

ndarray = numpy.ndarray


def set_backend(name: str) -> None:
    """Select the array module by name (``"numpy"``; ``"cupy"`` if installed).

    Only NumPy is supported and tested today; the switch exists so that the
    ops never hard-code the module.
    """
    global xp, ndarray
    if name == "numpy":
        xp, ndarray = numpy, numpy.ndarray
    elif name == "cupy":  # pragma: no cover - no GPU in CI
        import cupy

        xp, ndarray = cupy, cupy.ndarray
    else:
        raise ValueError(f"set_backend: unknown backend {name!r}; expected 'numpy' or 'cupy'")


try:  # SciPy's special functions are single ufuncs: stable and several times faster
    from scipy import special as _special
except ImportError:  # pragma: no cover - NumPy-only installs use the compositions below
    _special = None


def sigmoid(x, out=None):
    """σ(x) = 1 / (1 + e⁻ˣ), stable for any x and without overflow warnings
    (``scipy.special.expit`` when SciPy is installed, else exp(x − log(1 + eˣ)))."""
    if _special is not None:
        return _special.expit(x, out=out)
    y = numpy.exp(x - numpy.logaddexp(0, x))
    if out is None:
        return y
    out[...] = y
    return out


def erf(x):
    """The error function (``scipy.special.erf``, else the C library's, element by element)."""
    if _special is not None:
        return _special.erf(x)
    import math

    return numpy.asarray(numpy.vectorize(math.erf, otypes=[x.dtype])(x), dtype=x.dtype)


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
