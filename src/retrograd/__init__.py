"""retrograd: reverse-mode automatic differentiation you can see, check and control.

    import retrograd as rg
    x = rg.tensor([1.0, -2.0], requires_grad=True)
    y = (rg.tanh(x) ** 2).sum()
    y.backward()            # x.grad == 2·tanh(x)·(1 − tanh²(x))
    rg.explain(y2)          # print every step of a backward pass
    rg.gradcheck(f, [x])    # compare with finite differences (kink-aware)

Layers: core (``tensor``, ``backprop``, ``conventions``, ``random``) ← ``ops`` ←
``nn`` ← ``optim`` ← ``train``, ``checkpoint``, ``plot`` ← ``cli`` and ``demos``.
"""

from . import bptt, conventions, data, nn, optim, random, recurrent, train
from .checkpoint import CheckpointError, load, save
from .backend import set_backend
from .backprop import BackwardTrace, backward, explain, grad
from .gradcheck import GradcheckError, GradcheckReport, gradcheck, gradgradcheck
from .ops import *  # noqa: F401,F403 - the functional API
from .tensor import (AnomalyError, Op, OpError, Tensor, as_tensor, detect_anomaly, enable_grad, from_dlpack,
                     from_numpy, get_default_dtype, is_grad_enabled, no_grad, set_default_dtype, tensor)

from .random import manual_seed
from .recurrent import scan

__version__ = "0.1.0"

float32 = __import__("numpy").float32
float64 = __import__("numpy").float64
