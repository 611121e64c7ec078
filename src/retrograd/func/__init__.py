"""``rg.func``: function transforms with torch.func's names and semantics.

Reverse mode (``vjp``, ``grad``, ``jacrev``) runs the engine's backward pass;
forward mode (``jvp``, ``jacfwd``) pushes tangents through the ops' jvps
(``autograd.forward``); they compose (``hessian = jacfwd(jacrev(f))``, a
``jvp`` of ``grad`` is a Hessian-vector product), and ``functional_call``
turns a module into a function of its parameters (``stack_module_state`` stacks
an ensemble's). ``linearize`` records a function once and applies its Jacobian to any tangent. ``vmap`` maps a function over a
dimension of its inputs (per-example gradients: ``vmap(grad(f), in_dims=(None, 0))``).
"""

from .functional_call import functional_call, replace_all_batch_norm_modules_, stack_module_state
from .linearize import linearize
from .transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from .vmap import vmap
from ..nn import utils_compat as _utils_compat

_utils_compat.register_functional_call(functional_call)  # rg.nn.utils.stateless.functional_call forwards here

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize",
           "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]
