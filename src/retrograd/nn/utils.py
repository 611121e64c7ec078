"""Gradient clipping and parameter-vector helpers (PyTorch's ``nn.utils``)."""

from __future__ import annotations

import math

from ..autograd.backend import xp

from ..autograd.tensor import Tensor
from ..ops import device_checks


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> float:
    """Scale all gradients together so their joint norm is at most ``max_norm``
    (in place). Returns the norm before clipping (in float64): a Python float
    on NumPy; on a device backend a 0-d device array, as PyTorch returns a
    tensor, so that clipping never waits for the device (``float()`` reads it).
    ``error_if_nonfinite`` reads the norm (a synchronisation on a device). ``norm_type`` may be
    the string ``"inf"``; ``foreach`` is accepted and ignored (one code path), as PyTorch's."""
    norm_type = float(norm_type)  # PyTorch takes "inf" too
    grads = _grads(parameters)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = xp.max(xp.stack([xp.max(xp.abs(g.data)).astype(xp.float64) for g in grads]))
    else:
        total = xp.sum(xp.stack([xp.sum(xp.abs(g.data.astype(xp.float64)) ** norm_type) for g in grads])) \
            ** (1.0 / norm_type)
    host = device_checks.on_host()
    if host:
        total = float(total)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite "
                           f"({float(total)}), so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = max_norm / (total + 1e-6)
    if host:
        if coef < 1:
            for g in grads:
                g.data *= coef
        return total
    coef = xp.where(coef < 1, coef, 1.0)  # a NaN norm leaves the gradients as they are, as on the host
    for g in grads:
        g.data *= coef.astype(g.data.dtype)  # the gradient's dtype, as the host's Python number
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to [−clip_value, clip_value] (in place); ``foreach`` is ignored."""
    for g in _grads(parameters):
        xp.clip(g.data, -clip_value, clip_value, out=g.data)


def functional_call(module, params: dict, *args, **kwargs):
    """Call ``module`` with some parameters replaced by the given tensors (by
    dotted name), like ``torch.func.functional_call``: gradients then flow to
    those tensors. The module's own parameters are restored afterwards."""
    owners = {}
    for name in params:
        prefix, _, leaf = name.rpartition(".")
        owner = module
        for part in prefix.split(".") if prefix else ():
            owner = owner._modules[part]
        if leaf not in owner._parameters:
            raise KeyError(f"functional_call: {type(module).__name__} has no parameter '{name}'")
        owners[name] = (owner, leaf, owner._parameters[leaf])
    try:
        for name, (owner, leaf, _) in owners.items():
            owner._parameters[leaf] = owner.__dict__[leaf] = params[name]
        return module(*args, **kwargs)
    finally:
        for owner, leaf, original in owners.values():
            owner._parameters[leaf] = owner.__dict__[leaf] = original


def gradcheck_module(module, loss_fn, x, y, **kwargs):
    """Gradient-check every parameter of ``module`` on one batch, in float64.

    Runs on a float64 copy (the module itself is untouched); ``kwargs`` go to
    ``rg.gradcheck``. Returns the report.
    """
    import copy

    from ..autograd.gradcheck import gradcheck

    twin = copy.deepcopy(module).double().eval()
    names = [n for n, _ in twin.named_parameters()]
    xs = x.data if isinstance(x, Tensor) else x
    x64 = Tensor(xs.astype(xp.float64) if xs.dtype.kind == "f" else xs)

    def loss_of(*params):
        return loss_fn(functional_call(twin, dict(zip(names, params)), x64), y)

    return gradcheck(loss_of, [Tensor(p.data, requires_grad=True) for p in twin.parameters()], **kwargs)


# PyTorch's ``nn.utils.rnn`` (padding and packing variable-length sequences), reached as
# ``rg.nn.utils.rnn`` like ``torch.nn.utils.rnn``; it lives in a file of its own.
from . import rnn_utils as rnn  # noqa: E402

# the rest of PyTorch's ``nn.utils``: the old-style weight/spectral norm hooks, batch-norm fusion, the gradient
# norm helpers, skip_init, the flat-vector helpers (utils_extra.py), and the ``parametrize`` /
# ``parametrizations`` modules (``rg.nn.utils.parametrizations.weight_norm``, as ``torch.nn.utils``)
from . import parametrizations, parametrize  # noqa: E402,F401
from .utils_extra import (clip_grads_with_norm_, fuse_conv_bn_eval, fuse_conv_bn_weights,  # noqa: E402,F401
                          fuse_linear_bn_eval, fuse_linear_bn_weights, get_total_norm, parameters_to_vector,
                          remove_spectral_norm, remove_weight_norm, skip_init, spectral_norm, vector_to_parameters,
                          weight_norm)
# PyTorch's submodules as namespaces (``rg.nn.utils.fusion``, ``clip_grad``, ``stateless`` …) and the
# deprecated ``clip_grad_norm`` (utils_compat.py)
from .utils_compat import clip_grad, clip_grad_norm, convert_parameters, fusion, init, stateless  # noqa: E402,F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "functional_call", "gradcheck_module", "rnn", "parametrize",
           "parametrizations", "clip_grads_with_norm_", "fuse_conv_bn_eval", "fuse_conv_bn_weights",
           "fuse_linear_bn_eval", "fuse_linear_bn_weights", "get_total_norm", "parameters_to_vector",
           "remove_spectral_norm", "remove_weight_norm", "skip_init", "spectral_norm", "vector_to_parameters",
           "weight_norm", "clip_grad", "clip_grad_norm", "convert_parameters", "fusion", "init", "stateless"]
