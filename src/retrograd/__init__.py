"""retrograd: reverse-mode automatic differentiation you can see, check and control.

    import retrograd as rg
    x = rg.tensor([1.0, -2.0], requires_grad=True)
    y = (rg.tanh(x) ** 2).sum()
    rg.explain(y)           # print every step of the backward pass, in order
    y.backward()            # x.grad == 2·tanh(x)·(1 − tanh²(x))
    rg.gradcheck(lambda t: rg.tanh(t) ** 2, [x])   # finite differences, kink-aware

Layers, each importing only those before it: ``autograd`` (the core: tensor,
op, engine, gradcheck, conventions, backend) and ``random`` ← ``ops`` ← ``nn`` ←
``recurrent`` ← ``bptt`` ← ``optim``, ``data`` ← ``train``, ``checkpoint`` ←
``cli`` and ``demos`` (``plot`` imports nothing of retrograd). ``tests/test_layering.py``
checks it; README.md's "Layout" section gives the reasons.
"""

import numpy as _np

# The public API, re-exported:
from . import autograd, bptt, data, distributed, func, nn, optim, random, recurrent, train  # noqa: F401
from . import explore  # noqa: F401  (after bptt: it hands bptt its HTML writer)
from .autograd import conventions, graph  # noqa: F401
from .autograd import (AnomalyError, BackwardTrace, GradcheckError, GradcheckReport, Op, OpError,  # noqa: F401
                       Tensor, as_tensor, backward, detect_anomaly, enable_grad, explain, from_dlpack, from_numpy,
                       get_backend, get_default_dtype, grad, inference_mode,
                       is_grad_enabled, is_inference_mode_enabled, no_grad, set_backend, set_default_dtype, set_grad_enabled, tensor, to_numpy)
# rg.gradcheck reports every element (kinks marked); rg.autograd.gradcheck is PyTorch's form (True or an error)
from .autograd.gradcheck import gradcheck, gradgradcheck  # noqa: F401,E402
from .checkpoint import CheckpointError, load, save  # noqa: F401
from .ops import *  # noqa: F401,F403 - the functional API
from .ops import special_namespace as special  # noqa: F401 - torch.special's names: rg.special.digamma …
from .ops import linalg_namespace as linalg  # noqa: F401 - torch.linalg's names: rg.linalg.solve …
from .nn.torch_functional_namespace import *  # noqa: F401,F403 - torch.dropout, torch.layer_norm … (ATen's forms)
from .random import manual_seed  # noqa: F401
from .bptt import scan  # noqa: F401
from . import distributions  # noqa: F401 - torch.distributions' names: rg.distributions.Normal …
from . import utils  # noqa: F401 - torch.utils' names: rg.utils.checkpoint.checkpoint, rg.utils.data.DataLoader …

__version__ = "0.1.0"

float32 = _np.float32
float64 = _np.float64
int32 = _np.int32
int64 = _np.int64
bool = _np.bool_  # noqa: A001 - PyTorch's name for the boolean dtype
float16 = half = _np.float16
int8, int16, uint8 = _np.int8, _np.int16, _np.uint8
short, long, double = _np.int16, _np.int64, _np.float64
complex64 = cfloat = _np.complex64
complex128 = cdouble = _np.complex128
