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
