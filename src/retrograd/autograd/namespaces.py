"""The two namespaces a vjp computes with, so that one rule serves both passes.

A vjp calls array functions through its ``ns`` argument:

- ``ARRAY_NS`` in an ordinary (first-order) backward pass: plain arrays, the
  active backend's functions; built here from ``backend.xp`` and rebuilt when
  the backend changes;
- the tensor namespace under ``create_graph=True``: the same names as
  differentiable ``rg`` ops on Tensors, so the backward pass is itself
  recorded. It is built by ``retrograd.ops.namespace`` (the ops live above the
  core) and registered here with ``register_tensor_namespace``.

Both namespaces have exactly the names of ``NAMES`` (a test checks it).
"""

from __future__ import annotations

import types

from . import backend

NAMES = ("value", "sum", "sum_to", "broadcast_to", "reshape", "transpose", "swapaxes", "expand_dims",
         "matmul", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "softmax", "where", "maximum",
         "astype", "getitem", "index_add", "concatenate", "pad")

ARRAY_NS = types.SimpleNamespace()
"""First-order namespace: vjps see plain arrays."""

TENSOR_NS = types.SimpleNamespace()
"""Higher-order namespace: vjps see Tensors (filled by ``register_tensor_namespace``)."""


def _broadcast_to(x, shape):
    """A materialised, writeable broadcast (cheaper than ``broadcast_to`` + copy
    on small arrays, and a leaf's gradient must own its memory anyway)."""
    out = backend.xp.empty(shape, dtype=x.dtype)
    out[...] = x
    return out


@backend.on_backend_change
def _build_array_namespace():
    # Array methods, not the module's functions: on small arrays the latter's
    # Python wrappers cost more than the arithmetic.
    xp = backend.xp
    ARRAY_NS.__dict__.update(
        value=lambda x: x,
        sum=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
        sum_to=backend.sum_to,
        broadcast_to=_broadcast_to,
        reshape=lambda x, shape: x.reshape(shape),
        transpose=lambda x, axes=None: x.transpose(axes),
        swapaxes=lambda x, a, b: x.swapaxes(a, b),
        expand_dims=xp.expand_dims,
        matmul=xp.matmul,
        exp=xp.exp,
        log=xp.log,
        sqrt=xp.sqrt,
        sin=xp.sin,
        cos=xp.cos,
        tanh=xp.tanh,
        sigmoid=backend.sigmoid,
        softmax=backend.softmax,
        where=xp.where,
        maximum=xp.maximum,
        astype=lambda x, dtype: x.astype(dtype),
        getitem=lambda x, index: x[index],
        index_add=backend.index_add,
        concatenate=xp.concatenate,
        pad=lambda x, pad_width, value=0.0: xp.pad(x, pad_width, constant_values=value),
    )


_build_array_namespace()


def register_tensor_namespace(**functions) -> None:
    """Install the differentiable implementations of ``NAMES`` (called once by ``retrograd.ops``)."""
    missing = set(NAMES) - set(functions)
    extra = set(functions) - set(NAMES)
    if missing or extra:
        raise TypeError(f"register_tensor_namespace: missing {sorted(missing)}, unexpected {sorted(extra)}")
    TENSOR_NS.__dict__.update(functions)


def extend(name: str, array_fn, tensor_fn) -> None:
    """Add one function to both namespaces at once (an op family's own helper,
    e.g. ``im2col`` for convolution): ``array_fn`` on arrays, ``tensor_fn`` as
    differentiable ops."""
    ARRAY_NS.__dict__[name] = array_fn
    TENSOR_NS.__dict__[name] = tensor_fn
