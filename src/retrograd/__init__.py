"""retrograd: reverse-mode automatic differentiation you can see, check and control.

    import retrograd as rg
    x = rg.tensor([1.0, -2.0], requires_grad=True)
    y = (rg.tanh(x) ** 2).sum()
    rg.explain(y)           # print every step of the backward pass, in order
    y.backward()            # x.grad == 2·tanh(x)·(1 − tanh²(x))
    rg.gradcheck(lambda t: rg.tanh(t) ** 2, [x])   # finite differences, kink-aware

Layers, each importing only those before it: core (``tensor``, ``backprop``,
``conventions``, ``random``, ``backend``) ← ``ops`` ← ``gradcheck``, ``nn`` ←
``recurrent``, ``bptt`` ← ``optim`` ← ``train``, ``checkpoint``, ``data`` ←
``cli`` and ``demos`` (``plot`` imports nothing of retrograd). ``tests/test_layering.py``
checks it.
"""

import numpy as _np

# The public API, re-exported:
from . import bptt, conventions, data, nn, optim, random, recurrent, train  # noqa: F401
from .backend import set_backend  # noqa: F401
from .backprop import BackwardTrace, backward, explain, grad  # noqa: F401
from .checkpoint import CheckpointError, load, save  # noqa: F401
from .gradcheck import GradcheckError, GradcheckReport, gradcheck, gradgradcheck  # noqa: F401
from .ops import *  # noqa: F401,F403 - the functional API
from .random import manual_seed  # noqa: F401
from .recurrent import scan  # noqa: F401
from .tensor import (AnomalyError, Op, OpError, Tensor, as_tensor, detect_anomaly, enable_grad,  # noqa: F401
                     from_dlpack, from_numpy, get_default_dtype, is_grad_enabled, no_grad, set_default_dtype, tensor)

__version__ = "0.1.0"

float32 = _np.float32
float64 = _np.float64
