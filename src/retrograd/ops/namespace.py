"""The differentiable namespace a vjp uses under ``create_graph=True``: the
same names as the core's array namespace (``autograd.namespaces.NAMES``), as
``rg`` ops on Tensors, so a backward pass can itself be differentiated."""

from __future__ import annotations

import math

from ..autograd import namespaces
from ..autograd.backend import sigmoid as backend_sigmoid, sum_to, xp
from ..autograd.tensor import Tensor
from . import composite as C
from . import elementwise as E
from . import kinks as K
from . import linalg as L
from . import reductions as R
from . import softmaxes as SM
from . import shape as S


def _weak(tensor_fn, number_fn, array_fn):
    """``tensor_fn`` on Tensors, ``number_fn`` on a Python number: a constant in a rule stays a
    full-precision Python scalar (a Tensor made of it would take the default dtype, float32);
    where ``math`` raises (log 0, exp 1000) the array function's IEEE value (−inf, inf)."""
    def apply(x):
        if type(x) not in (int, float):
            return tensor_fn(x)
        try:
            return number_fn(x)
        except (ValueError, OverflowError):
            with xp.errstate(all="ignore"):
                return float(array_fn(xp.float64(x)))
    return apply


def register() -> None:
    """Build the tensor namespace and hand it to the engine (called once by ``retrograd.ops``)."""
    namespaces.register_tensor_namespace(
        value=lambda x: x.data if isinstance(x, Tensor) else x,
        sum=R.sum,
        sum_to=sum_to,
        broadcast_to=S.broadcast_to,
        reshape=S.reshape,
        transpose=S.transpose,
        swapaxes=S.swapaxes,
        expand_dims=C.expand_dims,
        matmul=L.matmul,
        exp=_weak(E.exp, math.exp, xp.exp),
        log=_weak(E.log, math.log, xp.log),
        sqrt=_weak(E.sqrt, math.sqrt, xp.sqrt),
        sin=_weak(E.sin, math.sin, xp.sin),
        cos=_weak(E.cos, math.cos, xp.cos),
        tanh=_weak(E.tanh, math.tanh, xp.tanh),
        sigmoid=_weak(E.sigmoid, lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)),
                      backend_sigmoid),
        softmax=SM.softmax,
        where=lambda c, a, b: E.where(xp.asarray(c, dtype=bool), a, b),
        maximum=K.maximum,
        astype=E.cast,
        getitem=S.getitem,
        index_add=S.index_add,
        concatenate=S.concatenate,
        pad=lambda x, pad_width, value=0.0: S.pad(x, pad_width, value),
    )
