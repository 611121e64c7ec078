"""The rest of ``torch.nn.utils``'s names: its submodules as namespaces and its deprecated aliases.

PyTorch's ``nn.utils`` is a package whose submodules (``clip_grad``, ``convert_parameters``,
``fusion``, ``init``, ``stateless``) hold the functions it also exports at the top. Here
``rg.nn.utils`` is one module and the functions live in ``utils.py`` and ``utils_extra.py``; the
submodules are namespaces over the same functions (``rg.nn.utils.fusion.fuse_conv_bn_eval is
rg.nn.utils.fuse_conv_bn_eval``), registered as modules, so ``from retrograd.nn.utils.fusion
import fuse_conv_bn_eval`` works as in PyTorch (as ``import os.path`` does for a module).

Two deprecated names warn as PyTorch 2.13 does, with a ``FutureWarning``, and forward:
``clip_grad_norm`` (to ``clip_grad_norm_``) and ``stateless.functional_call`` (to
``rg.func.functional_call``, which ``rg.func`` registers here: ``nn`` is a lower layer and may not
import ``func``).

Not here: ``memory_format`` and ``convert_conv2d_weight_memory_format`` /
``convert_conv3d_weight_memory_format``: retrograd's arrays have no memory formats (channels-last
and the like), so there is nothing to convert.
"""

from __future__ import annotations

import sys
import types
import warnings

from .utils import clip_grad_norm_, clip_grad_value_
from .utils_extra import (clip_grads_with_norm_, fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval,
                          fuse_linear_bn_weights, get_total_norm, parameters_to_vector, skip_init,
                          vector_to_parameters)


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None):
    """Deprecated alias of ``clip_grad_norm_`` (PyTorch's, which warns with a ``FutureWarning``):
    warns, then clips in place and returns the total norm. ``foreach`` is accepted and changes
    nothing (one loop either way)."""
    warnings.warn("`nn.utils.clip_grad_norm` is now deprecated in favor of `nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


# ---------------------------------------------------------------- stateless.functional_call
_functional_call = None  # rg.func.functional_call, registered by rg.func when it is imported


def register_functional_call(implementation) -> None:
    """Called by ``rg.func`` (a higher layer) with its ``functional_call``, which the deprecated
    ``stateless.functional_call`` forwards to."""
    global _functional_call
    _functional_call = implementation


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Deprecated (PyTorch 2.0): ``module(*args, **kwargs)`` with the named parameters and buffers
    replaced, exactly ``rg.func.functional_call`` after a ``FutureWarning``, as PyTorch's
    ``nn.utils.stateless.functional_call``. ``args`` None is no arguments, a non-tuple one
    argument."""
    warnings.warn("`nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in a "
                  "future version of PyTorch. Please use `func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    if _functional_call is None:  # pragma: no cover - ``import retrograd`` always imports rg.func
        raise RuntimeError("nn.utils.stateless.functional_call forwards to rg.func.functional_call: import "
                           "retrograd.func first")
    return _functional_call(module, parameters_and_buffers, () if args is None else args, kwargs,
                            tie_weights=tie_weights, strict=strict)


# ---------------------------------------------------------------- the submodules, as namespaces
def _namespace(name: str, doc: str, public: list, **members) -> types.ModuleType:
    """A module ``retrograd.nn.utils.<name>`` holding ``members`` (``__all__`` = ``public``, the
    names PyTorch's submodule exports), registered in ``sys.modules`` so it can be imported."""
    module = types.ModuleType(f"retrograd.nn.utils.{name}", doc)
    for key, value in members.items():
        setattr(module, key, value)
    module.__all__ = public
    sys.modules[module.__name__] = module
    return module


clip_grad = _namespace(
    "clip_grad", "Gradient clipping (PyTorch's ``torch.nn.utils.clip_grad``): the functions of ``rg.nn.utils``.",
    ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_"],
    clip_grad_norm=clip_grad_norm, clip_grad_norm_=clip_grad_norm_, clip_grad_value_=clip_grad_value_,
    get_total_norm=get_total_norm, clip_grads_with_norm_=clip_grads_with_norm_)
convert_parameters = _namespace(
    "convert_parameters", "Parameters to one flat vector and back (PyTorch's "
    "``torch.nn.utils.convert_parameters``).", ["parameters_to_vector", "vector_to_parameters"],
    parameters_to_vector=parameters_to_vector, vector_to_parameters=vector_to_parameters)
fusion = _namespace(
    "fusion", "Folding an eval-mode batch norm into the convolution or linear layer before it (PyTorch's "
    "``torch.nn.utils.fusion``).",
    ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"],
    fuse_conv_bn_eval=fuse_conv_bn_eval, fuse_conv_bn_weights=fuse_conv_bn_weights,
    fuse_linear_bn_eval=fuse_linear_bn_eval, fuse_linear_bn_weights=fuse_linear_bn_weights)
init = _namespace("init", "``skip_init`` (PyTorch's ``torch.nn.utils.init``).", ["skip_init"], skip_init=skip_init)
stateless = _namespace(
    "stateless", "The deprecated ``functional_call`` (PyTorch's ``torch.nn.utils.stateless``): use "
    "``rg.func.functional_call``.", ["functional_call"], functional_call=functional_call)

__all__ = ["clip_grad", "clip_grad_norm", "convert_parameters", "fusion", "init", "stateless",
           "register_functional_call"]
