"""The differentiable namespace a vjp uses under ``create_graph=True``: the
same names as the core's array namespace (``autograd.namespaces.NAMES``), as
``rg`` ops on Tensors, so a backward pass can itself be differentiated."""

from __future__ import annotations

from ..autograd import namespaces
from ..autograd.backend import sum_to, xp
from ..autograd.tensor import Tensor
from . import composite as C
from . import elementwise as E
from . import kinks as K
from . import linalg as L
from . import reductions as R
from . import softmaxes as SM
from . import shape as S


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
        exp=E.exp,
        log=E.log,
        sqrt=E.sqrt,
        sin=E.sin,
        cos=E.cos,
        tanh=E.tanh,
        sigmoid=E.sigmoid,
        softmax=SM.softmax,
        where=lambda c, a, b: E.where(xp.asarray(c, dtype=bool), a, b),
        maximum=K.maximum,
        astype=E.cast,
        getitem=S.getitem,
        index_add=S.index_add,
        concatenate=S.concatenate,
        pad=lambda x, pad_width, value=0.0: S.pad(x, pad_width, value),
    )
