"""The autodiff core: tensors, the tape, the backward engine and its checks.

Imports only NumPy (through ``backend``); everything else in retrograd sits
on top of it. Reading order:

- ``backend``      the array module, chosen at call time; ``sum_to`` and friends
- ``mode``         grad mode and anomaly mode (thread-local switches)
- ``tensor``       ``Tensor``, constructors, dtype rules
- ``op``           ``Op``: forward, vjp, what it keeps (declared), recording, releasing
- ``graph``        the public walk over a recorded graph: producers, leaves, saved bytes, labels
- ``namespaces``   the array / tensor namespaces a vjp computes with
- ``hooks``        thread-local observers of ops (``trace``, ``explain``)
- ``engine``       backward / grad: the heap by creation order, in named steps
- ``explain``      the printed view of a backward pass
- ``conventions``  what the gradient is at kinks and ties
- ``gradcheck``    kink-aware finite-difference checks, as a report (``rg.gradcheck``)
- ``gradcheck_torch``  the same checks in ``torch.autograd.gradcheck``'s form (``rg.autograd.gradcheck``)
- ``functional``   torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp on the core
- ``forward_ad``   torch.autograd.forward_ad: dual tensors, each op's tangent computed as it runs
- ``function``     ``Function``: a custom op written as PyTorch writes one (forward/backward with a ctx)
"""

from . import backend, conventions, forward_ad, functional, graph, hooks  # noqa: F401
from .backend import get_backend, set_backend, to_numpy  # noqa: F401
from .engine import backward, grad  # noqa: F401
from .explain import BackwardTrace, explain  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .gradcheck import GradcheckError, GradcheckReport  # noqa: F401
from .gradcheck_torch import gradcheck, gradgradcheck  # noqa: F401
from .mode import (AnomalyError, detect_anomaly, enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                   is_inference_mode_enabled, no_grad, set_detect_anomaly, set_grad_enabled)
from .op import ALL, ArrayMeta, BinaryOp, MultiOp, Op, OpError, TernaryOp, UnaryOp  # noqa: F401
from .tensor import (Tensor, as_tensor, from_dlpack, from_numpy, get_default_dtype,  # noqa: F401
                     set_default_dtype, tensor)
