"""``functional_call``: call a module with some of its parameters and buffers replaced.

The bridge between modules and function transforms: ``grad`` and ``jacrev``
differentiate functions of tensors, a module holds its parameters inside, so
``functional_call(model, {"weight": w}, (x,))`` runs ``model(x)`` with ``w``
in place of ``model.weight`` — ``rg.func.grad(lambda p: loss(functional_call(
model, p, (x,))))(params)`` is a per-parameter gradient without ``.grad``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from ..autograd.tensor import Tensor
from ..nn.module import Module
from ..ops import stack


_MISSING = object()  # "no such attribute": what a name the module lacks is restored to (deleted)


def _submodule(module: Module, dotted: str):
    """(submodule, attribute name) for ``"layer.0.weight"``: only registered submodules are
    followed; a missing one raises ``AttributeError``, as in torch."""
    *path, leaf = dotted.split(".")
    m = module
    for part in path:
        sub = m._modules.get(part)
        if sub is None:
            raise AttributeError(f"functional_call: {dotted!r}: {type(m).__name__} has no submodule {part!r} "
                                 f"({type(m).__name__} has no attribute `{part}`)")
        m = sub
    return m, leaf


def _swap(m: Module, leaf: str, value):
    """``value`` put under ``leaf`` of ``m``; returns what was there (``_MISSING`` if nothing), as
    torch's ``swap_tensor``: a parameter or buffer is replaced in its registry; another attribute
    must be a Tensor or None and is set (a Parameter value registers, as any assignment does); a
    name the module lacks is set, and deleted again when ``value`` is ``_MISSING``."""
    for store in (m._parameters, m._buffers):
        if leaf in store:
            old = store[leaf]
            if value is _MISSING:
                del store[leaf]
                m.__dict__.pop(leaf, None)
            else:
                store[leaf] = value
                m.__dict__[leaf] = value
            return old
    old = m.__dict__.get(leaf, _MISSING) if leaf not in m._modules else m._modules[leaf]
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"functional_call: attribute `{leaf}`: {old!r} is not an instance of Tensor (only a "
                        f"parameter, a buffer or a Tensor attribute can be replaced)")
    if value is not _MISSING:
        setattr(m, leaf, value)
    elif leaf in m.__dict__:
        delattr(m, leaf)
    return old


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
def _replaced(module: Module, values: dict, written_back: dict):
    """``values`` in place in ``module`` while the block runs, restored after (also on error); then,
    as torch, each key of ``written_back`` gets what the module held there at the end (a forward
    that reassigns ``self.foo`` hands its new value back through the caller's dict)."""
    saved = []
    try:
        for name, value in values.items():
            if value is not None and not isinstance(value, Tensor):  # None stands in for it, as in torch
                raise TypeError(f"functional_call: {name!r} must be a Tensor, got {type(value).__name__}: {value!r} "
                                f"is not an instance of Tensor (give a Tensor or None)")
            m, leaf = _submodule(module, name)
            saved.append((name, m, leaf, _swap(m, leaf, value)))
        yield
    finally:
        final = {}
        for name, m, leaf, old in reversed(saved):
            final[name] = _swap(m, leaf, old)
        written_back.update({k: final[k] for k in written_back if k in final and final[k] is not _MISSING})


def functional_call(module: Module, parameter_and_buffer_dicts, args=(), kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with the parameters and buffers named in
    ``parameter_and_buffer_dicts`` (a dict of dotted names to Tensors, or a
    sequence of such dicts) in place of the module's own, restored afterwards
    (also on error), as ``torch.func.functional_call``; a value may be None (the module
    sees None there, as a bias left out). With ``strict=True``
    every parameter and buffer must be given and no other name; without it a
    Tensor attribute is replaced too, a name the module lacks is set for the call
    and removed after (one under a submodule it does not have raises
    ``AttributeError``, a non-Tensor attribute ``TypeError``). As torch's, the
    caller's dict (when one dict is given) holds afterwards what the module held at
    the end of the call (a forward that reassigns a buffer hands its value back). A weight shared by
    two submodules is one object, so replacing it under one name replaces it
    under both (``tie_weights``; two different values for it are refused).
    A replacement may have another shape than the module's own, as in torch:
    the ops that read it check it."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        caller_dict = dicts  # one dict: the caller's own, written back to after the call, as torch's
    elif isinstance(dicts, Sequence):
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("functional_call: Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        keys = [k for d in dicts for k in d]
        repeated = list(dict.fromkeys(k for k in keys if keys.count(k) > 1))
        if repeated:
            raise ValueError(f"functional_call: {repeated[0]!r} appears in more than one dict: {repeated} appeared in "
                             f"multiple dictionaries; behavior of functional call is ambiguous (give each name once)")
        caller_dict = {k: v for d in dicts for k, v in d.items()}
    else:
        raise ValueError(f"functional_call: Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    values = dict(caller_dict)
    # every name is walked only when needed: a module that holds itself (a cycle) works untied
    every = _every_name(module) if tie_weights or strict else []
    if tie_weights:
        by_object = {}
        for name, t in every:
            by_object.setdefault(id(t), []).append(name)
        for names in by_object.values():
            given = [n for n in names if n in values]
            if len({id(values[n]) for n in given}) > 1:
                raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, which are tied. "
                                 f"Consider using tie_weights=False (or give the tied names one value)")
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
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _replaced(module, values, caller_dict):
        return module(*args, **(kwargs or {}))


def stack_module_state(models):
    """``(params, buffers)``: the parameters and buffers of ``models`` (modules of one class, all
    in training or all in eval mode) stacked along a new leading dimension, one entry per model,
    as ``torch.func.stack_module_state`` — the state ``vmap(lambda p, b, x: functional_call(
    model, (p, b), (x,)))`` maps over to run an ensemble as one model. A stacked parameter is a
    new leaf (requiring grad when the models' parameters do: the same for every model); so is a
    stacked buffer, which requires grad only when the models' buffers do."""
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
    # a buffer that requires grad stacks to a leaf that does too, as torch's construct_stacked_leaf
    buffers = {k: stacked(k, [b[k] for b in all_buffers], True) for k in all_buffers[0]}
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
