"""More of PyTorch's ``nn.utils``: the old-style (forward pre-hook) weight_norm and spectral_norm,
conv/linear–batch-norm fusion, the gradient norm helpers ``get_total_norm`` and
``clip_grads_with_norm_``, ``skip_init``, and ``parameters_to_vector`` / ``vector_to_parameters``.
All reached as ``rg.nn.utils.<name>``, like ``torch.nn.utils.<name>``.

The old-style reparametrizations keep PyTorch's parameter names (``weight_g`` / ``weight_v``;
``weight_orig`` with the buffers ``weight_u`` / ``weight_v``) and recompute ``module.weight``, a
plain attribute, in a forward pre-hook; ``nn.utils.parametrizations`` has the newer forms.
"""

from __future__ import annotations

import copy
import inspect
import math
import warnings

from .. import ops
from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor, get_default_dtype
from ..ops.linalg_namespace import vector_norm
from .conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .module import Module, Parameter
from .parametrizations import _normalize, norm_except_dim

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm", "fuse_conv_bn_eval",
           "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights", "get_total_norm",
           "clip_grads_with_norm_", "skip_init", "parameters_to_vector", "vector_to_parameters"]


def _pre_hooks(module):
    """(key, hook) of the module's forward pre-hooks, in order."""
    return [(k, hook) for k, (hook, _) in (module._forward_pre_hooks or {}).items()]


def _drop_pre_hook(module, key):
    hooks = dict(module._forward_pre_hooks or {})
    del hooks[key]
    object.__setattr__(module, "_forward_pre_hooks", hooks)


# ---------------------------------------------------------------- old-style weight norm
class WeightNorm:
    """The forward pre-hook of the old-style ``weight_norm``: before each forward,
    ``module.<name> = g · v / ‖v‖`` from the parameters ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name: str, dim: int | None):
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module):
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, 2, self.dim))

    @staticmethod
    def apply(module, name: str, dim: int | None) -> "WeightNorm":
        warnings.warn("`nn.utils.weight_norm` is deprecated in favor of `nn.utils.parametrizations.weight_norm`.",
                      FutureWarning, stacklevel=3)
        for _, hook in _pre_hooks(module):
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]  # ``module.<name>`` becomes a computed tensor, no longer a parameter
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, fn.dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        delattr(module, self.name + "_g")
        delattr(module, self.name + "_v")
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """The old-style weight normalisation (deprecated in PyTorch too: a FutureWarning): the
    parameter ``<name>`` is replaced by ``<name>_g`` (norms over every dim but ``dim``; None: one
    for the whole tensor) and ``<name>_v`` (its direction), and ``module.<name> = g·v/‖v‖`` is
    recomputed before each forward. Prefer ``nn.utils.parametrizations.weight_norm``."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo the old-style ``weight_norm``: ``<name>`` is a plain parameter again, holding g·v/‖v‖."""
    for key, hook in _pre_hooks(module):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            _drop_pre_hook(module, key)
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


# ---------------------------------------------------------------- old-style spectral norm
class SpectralNorm:
    """The forward pre-hook of the old-style ``spectral_norm``: before each forward,
    ``module.<name> = <name>_orig / σ``, σ = uᵀ W v from the buffers ``<name>_u``, ``<name>_v``,
    which a training-mode forward first refines by power iteration (v first, then u, in place)."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.n_power_iterations, self.eps = name, dim, n_power_iterations, eps

    def reshape_weight_to_matrix(self, weight):
        """The weight as a matrix: ``dim`` first, the rest flattened."""
        if self.dim != 0:
            weight = ops.movedim(weight, self.dim, 0)
        return ops.reshape(weight, (weight.shape[0], -1))

    def compute_weight(self, module, do_power_iteration: bool):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            W = weight_mat.data
            for _ in range(self.n_power_iterations):
                xp.copyto(v.data, _normalize(W.T @ u.data, self.eps))
                xp.copyto(u.data, _normalize(W @ v.data, self.eps))
            u.mark_modified_()
            v.mark_modified_()
            # copies: the next forward updates the buffers in place, and this graph must not see it
            u, v = Tensor(u.data.copy()), Tensor(v.data.copy())
        sigma = ops.dot(u, ops.mv(weight_mat, v))
        return weight / sigma

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name: str, n_power_iterations: int, dim: int, eps: float) -> "SpectralNorm":
        for _, hook in _pre_hooks(module):
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            draw, dtype = rg_random.generator(), weight.data.dtype
            u = Tensor(_normalize(xp.asarray(draw.standard_normal(h), dtype=dtype), eps))
            v = Tensor(_normalize(xp.asarray(draw.standard_normal(w), dtype=dtype), eps))
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())  # a plain attribute until the first forward (PyTorch's weight.data)
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """The old-style spectral normalisation: the parameter ``<name>`` becomes ``<name>_orig``, the
    buffers ``<name>_u`` / ``<name>_v`` hold the power iteration's vectors (random at first, from
    ``rg.random``), and ``module.<name> = <name>_orig / σ`` is recomputed before each forward, σ
    refined by ``n_power_iterations`` steps in training mode. ``dim``: the output dim, 0 (1 for the
    transposed convolutions). Prefer ``nn.utils.parametrizations.spectral_norm``."""
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo the old-style ``spectral_norm``: ``<name>`` is a plain parameter again, holding W/σ
    (σ from the current u, v, without a further iteration)."""
    for key, hook in _pre_hooks(module):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            _drop_pre_hook(module, key)
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")


# ---------------------------------------------------------------- batch-norm fusion
def _array(t):
    return t.data if isinstance(t, Tensor) else xp.asarray(t)


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps: float, bn_w, bn_b, transpose: bool = False):
    """A convolution's weight and bias with an evaluation-mode batch norm folded in:
    s = γ/√(running_var + ε), W' = W·s (per output channel: dim 0, or 1 with ``transpose``),
    b' = (b − running_mean)·s + β. Returns two new Parameters, in the conv's dtypes."""
    w = _array(conv_w)
    rm, rv = _array(bn_rm), _array(bn_rv)
    b = xp.zeros_like(rm) if conv_b is None else _array(conv_b)
    gamma = xp.ones_like(rm) if bn_w is None else _array(bn_w)
    beta = xp.zeros_like(rm) if bn_b is None else _array(bn_b)
    bias_dtype = w.dtype if conv_b is None else b.dtype
    rsqrt = 1 / xp.sqrt(rv + bn_eps)
    shape = (1, -1) if transpose else (-1, 1)
    fused_w = (w * (gamma * rsqrt).reshape(shape + (1,) * (w.ndim - 2))).astype(w.dtype)
    fused_b = ((b - rm) * rsqrt * gamma + beta).astype(bias_dtype)
    b_grad = conv_b.requires_grad if isinstance(conv_b, Tensor) else False
    return (Parameter(fused_w, getattr(conv_w, "requires_grad", True)), Parameter(fused_b, b_grad))


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A copy of ``conv`` that computes ``bn(conv(x))`` in one convolution (both in eval mode;
    AssertionError otherwise, as PyTorch). ``transpose``: ``conv`` is a transposed convolution."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps: float, bn_w, bn_b):
    """A linear layer's weight and bias with an evaluation-mode batch norm folded in:
    s = γ/√(running_var + ε), W' = W·s per output row, b' = (b − running_mean)·s + β."""
    w = _array(linear_w)
    rm, rv = _array(bn_rm), _array(bn_rv)
    b = xp.zeros_like(rm) if linear_b is None else _array(linear_b)
    bias_dtype = w.dtype if linear_b is None else b.dtype
    scale = _array(bn_w) / xp.sqrt(rv + bn_eps)
    fused_w = w * scale[..., None].astype(w.dtype)
    fused_b = ((b - rm) * scale + _array(bn_b)).astype(bias_dtype)
    b_grad = linear_b.requires_grad if isinstance(linear_b, Tensor) else False
    return Parameter(fused_w, getattr(linear_w, "requires_grad", True)), Parameter(fused_b, b_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` that computes ``bn(linear(x))`` (both in eval mode; bn over
    ``linear.out_features`` features, or 1)."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused = copy.deepcopy(linear)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


# ---------------------------------------------------------------- gradient norms
def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (as if concatenated into one vector):
    a 0-d tensor in their dtype, off the tape (PyTorch's ``nn.utils.get_total_norm``; pass the
    gradients: ``[p.grad for p in params if p.grad is not None]``). ``foreach`` is accepted and
    changes nothing here. Non-finite with ``error_if_nonfinite``: RuntimeError."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(xp.asarray(0.0, dtype=get_default_dtype()))
    with no_grad():
        norms = [vector_norm(t.detach() if isinstance(t, Tensor) else Tensor(t), norm_type).data for t in tensors]
        total = vector_norm(Tensor(xp.stack(norms)), norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.data)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           f"cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           f"anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale the gradients of ``parameters`` in place by min(1, max_norm/(total_norm + 1e−6)),
    ``total_norm`` computed beforehand (``get_total_norm``): PyTorch's
    ``nn.utils.clip_grads_with_norm_``, the second half of ``clip_grad_norm_``."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    total = _array(total_norm)
    total = total if total.dtype.kind == "f" else total.astype(get_default_dtype())
    coef = xp.minimum(xp.asarray(max_norm, dtype=total.dtype) / (total + xp.asarray(1e-6, dtype=total.dtype)), 1.0)
    for g in grads:
        g.data *= coef.astype(g.data.dtype)


# ---------------------------------------------------------------- construction, flat vectors
def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` whose parameters are to be overwritten anyway
    (PyTorch's ``nn.utils.skip_init``; the class must take a ``device`` argument). PyTorch leaves
    the memory uninitialised; here the parameters hold the constructor's initialisation (any
    values are "uninitialised" ones: overwrite them, e.g. with ``load_state_dict``)."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)


def parameters_to_vector(parameters) -> Tensor:
    """Every parameter flattened and concatenated into one vector (a Tensor on the tape:
    gradients flow back to the parameters), as PyTorch's."""
    return ops.cat([ops.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Slice ``vec`` into the parameters, in order: each parameter's ``data`` becomes its slice,
    reshaped (a view of ``vec``'s array, as PyTorch's ``param.data = …``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__module__}.{type(vec).__name__}")
    array, pointer = vec.data, 0
    for p in parameters:
        n = p.size
        if pointer + n > array.size:
            raise RuntimeError(f"vector_to_parameters: the vector has {array.size} elements, fewer than the "
                               f"parameters need ({pointer + n} and more)")
        p.data = array.reshape(-1)[pointer:pointer + n].reshape(p.shape)
        pointer += n
