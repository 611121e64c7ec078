"""``functional_call``: call a module with some of its parameters and buffers replaced.

The bridge between modules and function transforms: ``grad`` and ``jacrev``
differentiate functions of tensors, a module holds its parameters inside, so
``functional_call(model, {"weight": w}, (x,))`` runs ``model(x)`` with ``w``
in place of ``model.weight`` — ``rg.func.grad(lambda p: loss(functional_call(
model, p, (x,))))(params)`` is a per-parameter gradient without ``.grad``.
"""

from __future__ import annotations

import contextlib

from ..autograd.tensor import Tensor
from ..nn.module import Module
from ..ops import stack


def _owner(module: Module, dotted: str):
    """(submodule, attribute name) for ``"layer.0.weight"``, or None when the submodule has no
    parameter or buffer of that name: only registered submodules, parameters and buffers are
    followed (a name is never used as an arbitrary attribute). A missing submodule raises
    ``AttributeError``, as in torch."""
    *path, leaf = dotted.split(".")
    m = module
    for part in path:
        sub = m._modules.get(part)
        if sub is None:
            raise AttributeError(f"functional_call: {dotted!r}: {type(m).__name__} has no submodule {part!r} "
                                 f"({type(m).__name__} has no attribute `{part}`)")
        m = sub
    if leaf not in m._parameters and leaf not in m._buffers:
        return None
    return m, leaf


def _every_name(module: Module) -> list:
    """(dotted name, tensor) of every parameter and buffer under every name it has: a weight
    shared by two submodules is listed twice (``named_parameters`` lists it once)."""
    result = []
    for prefix, m in module.named_modules(remove_duplicate=False):
        for store in (m._parameters, m._buffers):
            for name, t in store.items():
                if t is not None:
                    result.append((f"{prefix}.{name}" if prefix else name, t))
    return result


@contextlib.contextmanager
def _replaced(module: Module, values: dict):
    saved = []
    try:
        for name, value in values.items():
            if value is not None and not isinstance(value, Tensor):  # None stands in for it, as in torch
                raise TypeError(f"functional_call: {name!r} must be a Tensor, got {type(value).__name__}: it is not "
                                f"an instance of Tensor (None is allowed too)")
            owner = _owner(module, name)
            if owner is None:  # no such parameter or buffer: nothing reads it (torch sets it, unread, and removes it)
                continue
            m, leaf = owner
            store = m._parameters if leaf in m._parameters else m._buffers
            old = store[leaf]  # any shape may stand in, as in torch: the ops that read it check it
            saved.append((m, store, leaf, old))
            store[leaf] = value
            m.__dict__[leaf] = value
        yield
    finally:
        for m, store, leaf, old in reversed(saved):
            store[leaf] = old
            m.__dict__[leaf] = old


def functional_call(module: Module, parameter_and_buffer_dicts, args=(), kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with the parameters and buffers named in
    ``parameter_and_buffer_dicts`` (a dict of dotted names to Tensors, or a
    sequence of such dicts) in place of the module's own, restored afterwards
    (also on error), as ``torch.func.functional_call``; a value may be None (the module
    sees None there, as a bias left out). With ``strict=True``
    every parameter and buffer must be given and no other name; without it a
    name the module has no parameter or buffer for is ignored (one under a
    submodule it does not have raises ``AttributeError``). A weight shared by
    two submodules is one object, so replacing it under one name replaces it
    under both (``tie_weights``; two different values for it are refused).
    A replacement may have another shape than the module's own, as in torch:
    the ops that read it check it."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = [dicts]
    if not isinstance(dicts, (list, tuple)) or not all(isinstance(d, dict) for d in dicts):
        raise ValueError(f"functional_call: expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts).__name__}")
    values = {}
    for d in dicts:
        for k, v in d.items():
            if k in values:
                raise ValueError(f"functional_call: {k!r} appears in more than one dict; the call would be "
                                 f"ambiguous ({[k]} appeared in multiple dictionaries; behavior of functional call "
                                 f"is ambiguous)")
            values[k] = v
    every = _every_name(module)
    if tie_weights:
        by_object = {}
        for name, t in every:
            by_object.setdefault(id(t), []).append(name)
        for names in by_object.values():
            given = [n for n in names if n in values]
            if len({id(values[n]) for n in given}) > 1:
                raise ValueError(f"functional_call got multiple values for keys {given}, which are tied (one "
                                 f"weight under several names). Consider using tie_weights=False")
            if given:
                for n in names:
                    values.setdefault(n, values[given[0]])
    if strict:
        expected = {n for n, _ in every}
        missing, unexpected = sorted(expected - set(values)), sorted(set(values) - expected)
        if missing or unexpected:
            errors = ([f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] if unexpected else []) + \
                     ([f"Missing key(s): {', '.join(map(repr, missing))}."] if missing else [])
            raise RuntimeError(f"functional_call(strict=True): missing {missing}, unexpected {unexpected}; give every "
                               f"parameter and buffer and no other name. Error(s) in reparametrizing for "
                               f"{type(module).__name__}:\n\t" + "\n\t".join(errors))
    if not isinstance(args, tuple):
        args = (args,)
    with _replaced(module, values):
        return module(*args, **(kwargs or {}))


def stack_module_state(models):
    """``(params, buffers)``: the parameters and buffers of ``models`` (modules of one class, all
    in training or all in eval mode) stacked along a new leading dimension, one entry per model,
    as ``torch.func.stack_module_state`` — the state ``vmap(lambda p, b, x: functional_call(
    model, (p, b), (x,)))`` maps over to run an ensemble as one model. A stacked parameter is a
    new leaf (requiring grad when the models' parameters do: the same for every model); the
    buffers are stacked off the tape."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if any(m.training != models[0].training for m in models):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]

    def stacked(name, tensors, leaf):
        if len({t.requires_grad for t in tensors}) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        result = stack([Tensor(t.data) for t in tensors])
        if leaf and tensors[0].requires_grad:
            result.requires_grad_(True)
        return result

    params = {k: stacked(k, [p[k] for p in all_params], True) for k in all_params[0]}
    buffers = {k: stacked(k, [b[k] for b in all_buffers], False) for k in all_buffers[0]}
    return params, buffers


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """Every batch-norm module in ``root`` (itself included) made to normalise with the batch's
    own statistics, in place: ``running_mean``, ``running_var`` and ``num_batches_tracked``
    become None and ``track_running_stats`` False (torch.func's: a ``vmap`` over a model then
    has no shared running buffer to update per example). Returns ``root``."""
    from ..nn.normalization import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = module.running_var = module.num_batches_tracked = None
            module.track_running_stats = False
    return root
