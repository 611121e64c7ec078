"""A Module's state: ``state_dict`` and ``load_state_dict`` (PyTorch's), and their four hooks.

``state_dict`` walks the modules as PyTorch's does — each module's pre-hooks, its own parameters
and persistent buffers under ``prefix + name``, its children under ``prefix + child + "."``, then
its post-hooks — so a hook sees the prefix its module is saved under. ``load_state_dict`` checks
everything before it changes anything (a mis-shaped entry, or with ``strict`` a missing or
unexpected key, raises ``StateDictError`` and leaves the model as it was); its pre-hooks run
first, on a copy of the state dict they may rewrite, and its post-hooks may clear the keys they
account for — then, as PyTorch, the model is loaded before ``strict`` decides.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from ..autograd.backend import xp
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor


class StateDictError(KeyError, RuntimeError):
    """``load_state_dict`` found missing, unexpected or mis-shaped entries (a ``RuntimeError``, as
    PyTorch raises, and a ``KeyError``)."""

    def __str__(self):
        return self.args[0]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as PyTorch's ``_IncompatibleKeys``: the model's keys the
    state dict lacked, and the state dict's keys the model has no entry for."""
    missing_keys: list
    unexpected_keys: list

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


def _uninitialized(x) -> bool:
    """Whether ``x`` is an ``nn.UninitializedParameter`` / ``UninitializedBuffer`` (or its data): a lazy
    module's entry whose shape its first forward decides (``nn.lazy``; a marker, as nn.lazy imports this)."""
    return getattr(x, "_uninitialized", False)


def _to_array(v):
    if isinstance(v, Tensor):
        return v.data
    if hasattr(v, "detach") and hasattr(v, "cpu"):  # a torch tensor
        return v.detach().cpu().numpy()
    return xp.asarray(v)


def _hooks(module, where) -> list:
    return [hook for hook, _ in (module.__dict__.get(where) or {}).values()]


class StateDictMethods:
    """``Module``'s state methods (a base class of it)."""

    # ------------------------------------------------------------ hooks
    def register_state_dict_pre_hook(self, hook):
        """Call ``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module's entries."""
        return self._add_hook("_state_dict_pre_hooks", hook, False, None)

    def register_state_dict_post_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after this module and its children
        are saved; it may change ``state_dict`` in place and must return None."""
        return self._add_hook("_state_dict_hooks", hook, False, None)

    def register_load_state_dict_pre_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before ``load_state_dict`` reads this module's entries: it may rewrite the state
        dict (a copy of the caller's), and a message it appends to ``error_msgs`` refuses the load."""
        return self._add_hook("_load_state_dict_pre_hooks", hook, False, None)

    def register_load_state_dict_post_hook(self, hook):
        """Call ``hook(module, incompatible_keys)`` after ``load_state_dict``; it may remove the keys it
        accounts for from ``incompatible_keys.missing_keys`` / ``unexpected_keys`` (in place), so that
        ``strict`` does not refuse them, and must return None."""
        return self._add_hook("_load_state_dict_post_hooks", hook, False, None)

    # ------------------------------------------------------------ saving
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name, as arrays (no copies; with ``keep_vars``
        the Parameters and buffer Tensors themselves); a lazy module's uninitialized ones as
        themselves (``nn.UninitializedParameter``), as PyTorch. ``prefix`` starts every key, as
        given (PyTorch's: ``prefix="model."``); ``destination`` (a dict) receives the entries and is
        returned. Positional ``(destination, prefix, keep_vars)`` are taken, with PyTorch's
        FutureWarning."""
        if args:
            import warnings

            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
                          " for details.", FutureWarning, stacklevel=2)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][len(args):])[:3]
        out = OrderedDict() if destination is None else destination
        self._save_state(out, prefix, keep_vars)
        return out

    def _own_entries(self):
        """(name, tensor) of this module's parameters and persistent buffers (not its children's)."""
        return [(n, t) for n, t in self._parameters.items() if t is not None] + \
            [(n, b) for n, b in self._buffers.items() if b is not None and n not in self._non_persistent]

    def _save_state(self, out, prefix, keep_vars):
        for hook in _hooks(self, "_state_dict_pre_hooks"):
            hook(self, prefix, keep_vars)
        for name, t in self._own_entries():
            out[prefix + name] = t if keep_vars or _uninitialized(t) else t.data
        for name, child in self._modules.items():  # a shared submodule under each of its names
            if child is not None:
                child._save_state(out, prefix + name + ".", keep_vars)
        for hook in _hooks(self, "_state_dict_hooks"):
            if hook(self, out, prefix, {}) is not None:
                raise RuntimeError("state_dict post-hook must return None")

    def _state_tensors(self):
        """Every entry of ``state_dict`` as its Parameter or buffer Tensor (no hooks run)."""
        return OrderedDict((f"{p}.{n}" if p else n, t) for p, m in self.named_modules(remove_duplicate=False)
                           for n, t in m._own_entries())

    # ------------------------------------------------------------ loading
    def state_dict_problems(self, values: dict, strict: bool = True):
        """What ``load_state_dict(values, strict)`` would refuse, without changing
        anything: ``(missing, unexpected, problems)``, problems as sentences."""
        own = self._state_tensors()
        # a BatchNorm checkpoint from before num_batches_tracked loads without it, as in PyTorch (the count stays)
        counters = {f"{prefix}.num_batches_tracked" if prefix else "num_batches_tracked"
                    for prefix, m in self.named_modules(remove_duplicate=False)
                    if "num_batches_tracked" in m._buffers and getattr(m, "running_mean", None) is not None}
        missing = [k for k in own if k not in values and k not in counters]
        unexpected = [k for k in values if k not in own]
        # an uninitialized entry of the model takes any shape; an uninitialized value in ``values`` for an
        # initialized entry raises at ``.shape`` (PyTorch's "Can't access the shape of an uninitialized …")
        mismatched = [f"{k}: checkpoint {tuple(values[k].shape)} vs model {tuple(own[k].shape)}"
                      for k in own if k in values and not _uninitialized(own[k])
                      and tuple(values[k].shape) != tuple(own[k].shape)]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if mismatched:
            problems.append(f"shape mismatches: {mismatched}")
        return missing, unexpected, problems

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy arrays (or Tensors, or PyTorch tensors) into this module's
        parameters and buffers, in place and in their dtypes.

        With ``strict=True`` (default) any missing or unexpected key, and with
        any setting a shape mismatch, raises ``StateDictError`` listing them
        all; nothing is modified then (unless a load post-hook is registered:
        then, as PyTorch, the entries that fit are loaded, the hooks may clear
        the keys they account for, and ``strict`` decides after them). Returns
        ``IncompatibleKeys(missing_keys, unexpected_keys)`` (a named tuple: it
        unpacks as ``missing, unexpected``). With ``assign`` the model takes the
        state dict's arrays themselves (Parameters keep their ``requires_grad``)
        instead of copying into its own, as PyTorch's ``assign=True``.
        """
        from collections.abc import Mapping

        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        modules = list(self.named_modules(remove_duplicate=False))
        if any(m.__dict__.get("_load_state_dict_pre_hooks") for _, m in modules):
            state_dict = OrderedDict(state_dict)  # the hooks may rewrite it: the caller's stays as it was
            errors = []
            for prefix, m in modules:
                for hook in _hooks(m, "_load_state_dict_pre_hooks"):
                    hook(m, state_dict, prefix + "." if prefix else "", {}, strict, [], [], errors)
            if errors:
                raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                                     + "\n\t".join(errors))
        post_hooks = [(m, hook) for _, m in modules for hook in _hooks(m, "_load_state_dict_post_hooks")]
        values = {k: _to_array(v) for k, v in state_dict.items()}
        missing, unexpected, problems = self.state_dict_problems(values, strict and not post_hooks)
        if problems:
            raise StateDictError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        self._load_entries(values, assign)
        keys = IncompatibleKeys(missing, unexpected)
        if post_hooks:
            for m, hook in post_hooks:
                if hook(m, keys) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys need to be "
                                         "modified, it should be done inplace.")
            if strict and (keys.missing_keys or keys.unexpected_keys):
                raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                                     f"missing keys: {keys.missing_keys}; unexpected keys: {keys.unexpected_keys}")
        return keys

    def _load_entries(self, values, assign):
        own = self._state_tensors()
        with no_grad():
            for k, t in own.items():
                if k in values:
                    v = values[k]
                    if _uninitialized(t):  # a lazy module's entry takes the checkpoint's shape (nn.lazy)
                        if _uninitialized(v):
                            continue  # uninitialized into uninitialized: it stays so, as in PyTorch
                        t.materialize(v.shape)
                    if assign:
                        self._assign_entry(k, t, v)
                        continue
                    if t.data.dtype.kind == "f" or v.dtype == t.data.dtype:
                        xp.copyto(t.data, v, casting="unsafe")
                        t.mark_modified_()
                    else:
                        t.data = v.astype(t.data.dtype)

    def _assign_entry(self, key, old, array):
        """``load_state_dict(assign=True)``: the entry at ``key`` becomes a new Parameter/Tensor on ``array``."""
        from .module import Parameter

        path, _, name = key.rpartition(".")
        owner = self.get_submodule(path)
        if name in owner._parameters:
            new = Parameter(array, requires_grad=old.requires_grad)
            owner._parameters[name] = new
        else:
            new = Tensor(array)
            owner._buffers[name] = new
        owner.__dict__[name] = new
