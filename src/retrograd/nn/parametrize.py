"""PyTorch's ``nn.utils.parametrize``: a parameter computed from other tensors on every access.

``register_parametrization(module, "weight", P)`` moves the module's ``weight`` into
``module.parametrizations.weight.original`` and makes ``module.weight`` a property that returns
``P(original)``, so the forward reads the parametrized value and the backward differentiates
through ``P`` down to ``original`` (what the optimizer updates)::

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

    layer = rg.nn.Linear(3, 3)
    rg.nn.utils.parametrize.register_parametrization(layer, "weight", Symmetric())
    layer.weight                     # symmetric, recomputed from the original at each access
    layer.state_dict().keys()        # bias, parametrizations.weight.original

How: the module's class is replaced by a subclass made for it, ``Parametrized<Class>``, which
holds one ``property`` per parametrized name (an instance cannot hold a property of its own).
The getter calls the ``ParametrizationList`` (the original tensor, then each parametrization in
registration order); the setter runs their ``right_inverse`` methods in reverse and stores the
result in the original, so ``module.weight = W`` still works. ``remove_parametrizations`` undoes
it all, leaving the current value (or the original) as a plain parameter again.

Names, state_dict keys, checks and messages are PyTorch 2.13's. Differences: no pickling guard
(retrograd serialises state dicts, never modules) and no scripting or tracing checks.
"""

from __future__ import annotations

import collections.abc
from contextlib import contextmanager

from ..autograd.backend import xp
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from .module import Module, ModuleDict, ModuleList, Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations", "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached():
    """Inside the block, each parametrized tensor is computed once, at its first access, and that
    value is returned for every later access (a weight read at every step of a recurrent loop, a
    shared weight). The values are dropped when the outermost ``cached()`` block exits."""
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _maybe_set(dest: Tensor, src: Tensor) -> None:
    """``dest`` takes ``src``'s value and keeps its identity (an optimizer holding ``dest`` keeps
    working), as PyTorch's ``dest.set_(src)``: copied in place when shape and dtype agree (a
    graph that saved the old values then refuses its backward, as after ``set_``), else rebound."""
    value = src.data if isinstance(src, Tensor) else xp.asarray(src)
    if value is dest.data:
        return
    if value.shape == dest.data.shape and value.dtype == dest.data.dtype:
        xp.copyto(dest.data, value)
        dest.mark_modified_()
    else:
        dest.data = value


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in registration order, and the tensor(s) they start
    from: ``original`` (a parameter or buffer), or ``original0``, ``original1``, … when the first
    parametrization's ``right_inverse`` returns several tensors (``weight_norm``: g and v).
    ``module.parametrizations[name]`` is one; ``register_parametrization`` makes it."""

    def __init__(self, modules, original, unsafe: bool = False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = tuple(original.shape), original.dtype
        # Y = right_inverse(X), through the parametrizations in reverse; without one, the identity
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, collections.abc.Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            # the original keeps its identity, so an optimizer built before registering still updates it
            with no_grad():
                _maybe_set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, originali in enumerate(new):
                if not isinstance(originali, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, "
                                     f"tuple...). Got element {i} of the sequence with type "
                                     f"{type(originali).__name__}.")
                # new tensors: the user adds them to the optimizer (PyTorch documents it so)
                if isinstance(original, Parameter):
                    originali = Parameter(originali, original.requires_grad)
                originali.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", originali)
        if not self.unsafe:
            # Z = forward(right_inverse(X)) must look like X
            Z = self()
            if not isinstance(Z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(Z).__name__}.")
            if Z.dtype != original_dtype:
                raise ValueError("Registering a parametrization may not change the dtype of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized dtype: {original_dtype}\n"
                                 f"parametrized dtype: {Z.dtype}")
            if tuple(Z.shape) != original_shape:
                raise ValueError("Registering a parametrization may not change the shape of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized shape: {original_shape}\n"
                                 f"parametrized shape: {tuple(Z.shape)}")

    def right_inverse(self, value) -> None:
        """Store ``value`` as the parametrized tensor: the parametrizations' ``right_inverse`` in
        reverse order, the result copied into ``original`` (or ``original0``, ``original1``, …).
        What ``module.weight = value`` runs."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                else:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} while "
                                     f"`original` has dtype {self.original.dtype}")
                _maybe_set(self.original, value)
            else:
                if not isinstance(value, collections.abc.Sequence):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors. Got "
                                     f"{type(value).__name__}.")
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                     f"Got a sequence of length {len(value)}.")
                for i, tensor in enumerate(value):
                    original_i = getattr(self, f"original{i}")
                    if not isinstance(tensor, Tensor):
                        raise ValueError(f"'right_inverse' must return a sequence of tensors or reference-type "
                                         f"opaques. Got element {i} of type {type(tensor).__name__}.")
                    if original_i.dtype != tensor.dtype:
                        raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype {tensor.dtype} while "
                                         f"`original{i}` has dtype {original_i.dtype}")
                    _maybe_set(original_i, tensor)

    def forward(self):
        """The parametrized tensor: the first parametrization on the original(s), each next one on
        the previous result."""
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


def _inject_new_class(module: Module) -> None:
    """Give ``module`` a class of its own, ``Parametrized<Class>``, to hold its properties. Its
    ``__setattr__`` sends ``module.weight = value`` on a parametrized name to the property's
    setter (the ``right_inverse``), and refuses a Parameter or a Module there, as PyTorch does."""
    cls = module.__class__

    def __setattr__(self, name, value):
        prop = param_cls.__dict__.get(name)
        if isinstance(prop, property):
            if isinstance(value, (Parameter, Module)):
                raise KeyError(f"attribute '{name}' already exists")
            prop.__set__(self, value)
        else:
            super(param_cls, self).__setattr__(name, value)

    param_cls = type(f"Parametrized{cls.__name__}", (cls,), {"__setattr__": __setattr__})
    object.__setattr__(module, "__class__", param_cls)  # Module.__setattr__ would store it as an attribute


def _inject_property(module: Module, tensor_name: str) -> None:
    """``module.<tensor_name>``: the ParametrizationList's value (from the cache inside ``cached()``);
    assigning runs its ``right_inverse``."""
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        tensor = _cache.get(key)
        if tensor is None:
            tensor = _cache[key] = parametrization()
        return tensor

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` (a parameter or buffer) the value of ``parametrization``
    applied to the stored original, recomputed at each access (PyTorch's
    ``nn.utils.parametrize.register_parametrization``).

    The original moves to ``module.parametrizations[tensor_name].original`` — the same Parameter
    object, holding ``parametrization.right_inverse(value)`` if the parametrization has a
    ``right_inverse`` (else the value itself). A ``right_inverse`` that returns several tensors
    makes ``original0``, ``original1``, … (new parameters: give them to the optimizer).
    Registering on an already parametrized name appends to its list (applied after the others).
    Unless ``unsafe``, the parametrization must keep the tensor's shape and dtype (ValueError)."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            Y = getattr(module, tensor_name)
            X = parametrization(Y)
            if not isinstance(X, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(X).__name__}.")
            if X.dtype != Y.dtype:
                raise ValueError("Registering a parametrization may not change the dtype of the tensor, unless the "
                                 f"`unsafe` flag is enabled.\nmodule.{tensor_name}.dtype: {Y.dtype}\n"
                                 f"parametrization(module.{tensor_name}).dtype: {X.dtype}")
            if tuple(X.shape) != tuple(Y.shape):
                raise ValueError("Registering a parametrization may not change the shape of the tensor, unless the "
                                 f"`unsafe` flag is enabled.\nmodule.{tensor_name}.shape: {tuple(Y.shape)}\n"
                                 f"parametrization(module.{tensor_name}).shape: {tuple(X.shape)}")
            if hasattr(parametrization, "right_inverse"):
                try:
                    Z = parametrization.right_inverse(X)
                except NotImplementedError:
                    pass
                else:
                    _check_right_inverse(Z, Y, tensor_name)
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe  # once unsafe, always unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)  # checks first
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    return module


def _check_right_inverse(Z, Y, tensor_name):
    if not isinstance(Z, Tensor):
        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(Z).__name__}")
    if Z.dtype != Y.dtype:
        raise ValueError("The tensor returned by parametrization.right_inverse must have the same dtype as "
                         f"module.{tensor_name}, unless the `unsafe` flag is enabled.\nmodule.{tensor_name}.dtype: "
                         f"{Y.dtype}\nreturned dtype: {Z.dtype}")
    if tuple(Z.shape) != tuple(Y.shape):
        raise ValueError("The tensor returned by parametrization.right_inverse must have the same shape as "
                         f"module.{tensor_name}, unless the `unsafe` flag is enabled.\nmodule.{tensor_name}.shape: "
                         f"{tuple(Y.shape)}\nreturned shape: {tuple(Z.shape)}")


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization on ``tensor_name`` (None: on any tensor)."""
    parametrizations = module.__dict__.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` on ``tensor_name``: it becomes a plain parameter (or
    buffer) again, holding the current parametrized value (``leave_parametrized=True``) or the
    original. A tensor parametrized from several originals (``weight_norm``) can only be left
    parametrized, as a new Parameter; a single original keeps its identity. The module gets its
    own class back once nothing is parametrized."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
                _maybe_set(original, t)
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized "
                             "in terms of a sequence of tensors.")
        t = getattr(module, tensor_name)
        original = Parameter(t) if t.requires_grad else t  # the user gives the new Parameter to the optimizer
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", module.__class__.__bases__[0])
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class as it was before any parametrization (``Linear`` for ``ParametrizedLinear``)."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module, tensor_name: str | None = None):
    """Register ``from_module``'s parametrizations (all, or those of ``tensor_name``) on
    ``to_module`` too, sharing the parametrization modules and the original tensors; a name
    ``to_module`` lacks is created first as a Parameter of the parametrized value."""
    if is_parametrized(from_module):
        names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
        for name in names:
            if not hasattr(to_module, name):
                setattr(to_module, name, Parameter(getattr(from_module, name)))
            for param_func in from_module.parametrizations[name]:
                register_parametrization(to_module, name, param_func)
            source, target = from_module.parametrizations[name], to_module.parametrizations[name]
            if source.is_tensor:
                target.original = source.original
            else:
                for i in range(source.ntensors):
                    setattr(target, f"original{i}", getattr(source, f"original{i}"))
    return to_module
