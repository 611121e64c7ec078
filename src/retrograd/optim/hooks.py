"""Optimizer hooks, as PyTorch's: code run around every ``step`` (per optimizer, or for every
optimizer through ``register_optimizer_step_pre_hook`` / ``_post_hook``) and around
``state_dict`` / ``load_state_dict``.

How ``step`` reaches its hooks: the first optimizer of a class built wraps that class's ``step``
(``patch_step``) in a function that runs the pre-hooks — each ``hook(optimizer, args, kwargs)``,
where ``args`` starts with the optimizer itself, may return ``(new_args, new_kwargs)`` — then the
step, then the post-hooks. A subclass's own ``step`` is wrapped too, so an LBFGS step runs them.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from itertools import chain

_global_pre_hooks: "OrderedDict[int, object]" = OrderedDict()
_global_post_hooks: "OrderedDict[int, object]" = OrderedDict()


class RemovableHandle:
    """What a ``register_*_hook`` returns: ``remove()`` takes the hook off (also on leaving a
    ``with`` block), as PyTorch's ``torch.utils.hooks.RemovableHandle``."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks_dict = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        """Take the hook off (nothing happens the second time)."""
        self.hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add(hooks: dict, hook, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before the ``step`` of every optimizer (before the
    optimizer's own pre-hooks); a returned ``(args, kwargs)`` pair replaces the step's arguments."""
    return _add(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after the ``step`` of every optimizer (after the
    optimizer's own post-hooks)."""
    return _add(_global_post_hooks, hook)


def patch_step(cls) -> None:
    """Wrap ``cls.step`` (once) so that it runs the step hooks around the step."""
    step = cls.step
    if getattr(step, "hooked", False):
        return

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        own = self.__dict__
        if not (_global_pre_hooks or _global_post_hooks or own.get("_has_step_hooks")):
            return step(*args, **kwargs)  # no hook anywhere: the step alone (an online run steps every time step)
        # the registries read directly (an optimizer with only post-hooks has no pre-hook dict to make)
        pre, post = own.get("_optimizer_step_pre_hooks"), own.get("_optimizer_step_post_hooks")
        if _global_pre_hooks or pre:
            for pre_hook in chain(_global_pre_hooks.values(), pre.values() if pre else ()):
                result = pre_hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result}.")
        out = step(*args, **kwargs)
        for post_hook in chain(post.values() if post else (), _global_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper.hooked = True
    cls.step = wrapper


class OptimizerHooks:
    """The ``register_*_hook`` methods of ``Optimizer`` (a base class of it). Each registry is an
    ordered dict made on first use; the handle's ``remove()`` takes the hook out of it."""

    def _hooks(self, name: str) -> OrderedDict:
        hooks = self.__dict__.get(name)
        if hooks is None:
            hooks = self.__dict__[name] = OrderedDict()
        return hooks

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before every ``step``; a returned ``(args, kwargs)``
        pair replaces the step's arguments (``args[0]`` is the optimizer)."""
        self._has_step_hooks = True
        return _add(self._hooks("_optimizer_step_pre_hooks"), hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after every ``step`` (its result is ignored)."""
        self._has_step_hooks = True
        return _add(self._hooks("_optimizer_step_post_hooks"), hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` at the start of ``state_dict()`` (first of all with ``prepend``)."""
        return _add(self._hooks("_optimizer_state_dict_pre_hooks"), hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` at the end of ``state_dict()``; a result other than
        None is returned instead of the state dict."""
        return _add(self._hooks("_optimizer_state_dict_post_hooks"), hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` at the start of ``load_state_dict`` with a shallow copy
        of the state dict passed; a result other than None is loaded instead."""
        return _add(self._hooks("_optimizer_load_state_dict_pre_hooks"), hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` at the end of ``load_state_dict``."""
        return _add(self._hooks("_optimizer_load_state_dict_post_hooks"), hook, prepend)

    def _call_hooks(self, name: str, state_dict=None):
        """Run the hooks of registry ``name``: with a state dict, ``hook(optimizer, state_dict)``,
        a result other than None replacing it for the next hook and the caller; else ``hook(optimizer)``."""
        hooks = self.__dict__.get(name)
        for hook in list(hooks.values()) if hooks else ():
            if state_dict is None:
                hook(self)
            else:
                result = hook(self, state_dict)
                if result is not None:
                    state_dict = result
        return state_dict
