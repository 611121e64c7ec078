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


def _owner(module: Module, dotted: str):
    """(submodule, attribute name) for ``"layer.0.weight"``: only registered submodules,
    parameters and buffers are followed (a name is never used as an arbitrary attribute)."""
    *path, leaf = dotted.split(".")
    m = module
    for part in path:
        sub = m._modules.get(part)
        if sub is None:
            raise KeyError(f"functional_call: {dotted!r}: {type(m).__name__} has no submodule {part!r}")
        m = sub
    if leaf not in m._parameters and leaf not in m._buffers:
        raise KeyError(f"functional_call: {dotted!r}: {type(m).__name__} has no parameter or buffer {leaf!r} "
                       f"(its names: {sorted(list(m._parameters) + list(m._buffers))})")
    return m, leaf


def _every_name(module: Module) -> list:
    """(dotted name, tensor) of every parameter and buffer under every name it has: a weight
    shared by two submodules is listed twice (``named_parameters`` lists it once)."""
    result = []
    for prefix, m in module.named_modules():
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
            if not isinstance(value, Tensor):
                raise TypeError(f"functional_call: {name!r} must be a Tensor, got {type(value).__name__}")
            m, leaf = _owner(module, name)
            store = m._parameters if leaf in m._parameters else m._buffers
            old = store[leaf]
            if old is not None and tuple(old.shape) != tuple(value.shape):
                raise ValueError(f"functional_call: {name!r} has shape {list(old.shape)} in the module but "
                                 f"{list(value.shape)} was given")
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
    (also on error), as ``torch.func.functional_call``. With ``strict=True``
    every parameter and buffer must be given. A weight shared by two
    submodules is one object, so replacing it under one name replaces it under
    both (``tie_weights``)."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = [dicts]
    values = {}
    for d in dicts:
        for k, v in d.items():
            if k in values:
                raise ValueError(f"functional_call: {k!r} appears in more than one dict")
            values[k] = v
    every = _every_name(module)
    if tie_weights:
        by_object = {}
        for name, t in every:
            by_object.setdefault(id(t), []).append(name)
        for names in by_object.values():
            given = [n for n in names if n in values]
            if given:
                for n in names:
                    values.setdefault(n, values[given[0]])
    if strict:
        expected = {n for n, _ in every}
        missing, unexpected = sorted(expected - set(values)), sorted(set(values) - expected)
        if missing or unexpected:
            raise RuntimeError(f"functional_call(strict=True): missing {missing}, unexpected {unexpected}")
    if not isinstance(args, tuple):
        args = (args,)
    with _replaced(module, values):
        return module(*args, **(kwargs or {}))
