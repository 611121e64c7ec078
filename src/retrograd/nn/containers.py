"""PyTorch's module containers: ``Sequential``, ``ModuleList`` and ``ModuleDict``.

Children are registered under their index (``"0"``, ``"1"`` …) or key, so ``named_parameters()`` and
``state_dict()`` list PyTorch's names; the list methods renumber the children as PyTorch's do.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .module import Module, _module_call


def _abs_index(module, idx) -> str:
    """``idx`` (an int, negative from the end) as the child's name; IndexError out of range, as PyTorch."""
    idx, n = operator.index(idx), len(module._modules)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return str(idx + n if idx < 0 else idx)


def _renumber(module, mods) -> None:
    """Register ``mods`` as the children "0", "1" … (after a deletion or insertion)."""
    for name in list(module._modules):
        del module._modules[name]
        module.__dict__.pop(name, None)
    for i, m in enumerate(mods):
        module.add_module(str(i), m)


def _repeated_repr(module) -> str:
    """PyTorch's ``ModuleList`` layout: runs of equal children folded as ``(0-2): 3 x Linear(...)``."""
    reprs = [repr(m) for m in module._modules.values()]
    if not reprs:
        return f"{type(module).__name__}()"
    runs = []  # [start, end, repr]
    for i, r in enumerate(reprs):
        if runs and runs[-1][2] == r:
            runs[-1][1] = i
        else:
            runs.append([i, i, r])
    lines = [(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}").replace("\n", "\n  ")
             for a, b, r in runs]
    return f"{type(module).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class _Numbered(Module):
    """What ``Sequential`` and ``ModuleList`` share: children numbered "0", "1" … in order."""

    def append(self, module):
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), module)
        return self

    def pop(self, key):
        """Remove and return the child at ``key`` (an index or slice)."""
        v = self[key]
        del self[key]
        return v

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]


class Sequential(_Numbered):
    """Modules applied in order: ``Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1))`` (or an
    OrderedDict of named modules). Indexing, slicing, assignment, deletion, ``append``, ``insert``,
    ``extend``, ``pop``, ``+`` and ``*`` work as PyTorch's."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            modules = modules[0].items()
        else:
            modules = ((str(i), m) for i, m in enumerate(modules))
        for name, m in modules:
            self.add_module(name, m)

    def forward(self, x):
        for m in self._modules.values():
            # ``m.forward(x)`` is what ``m(x)`` runs unless a class defines its own __call__:
            # one Python call less per layer
            x = m.forward(x) if type(m).__call__ is _module_call and not (
                m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks) else m(x)
        return x

    def _key(self, idx) -> str:
        return list(self._modules)[int(_abs_index(self, idx))]

    def __getitem__(self, i):
        if isinstance(i, slice):  # the children keep their names (and so their state_dict keys), as torch's
            return type(self)(OrderedDict(list(self._modules.items())[i]))
        return self._modules[self._key(i)]

    def __setitem__(self, i, module):
        setattr(self, self._key(i), module)

    def __delitem__(self, i):
        keys = list(self._modules)[i] if isinstance(i, slice) else [self._key(i)]
        for k in keys:
            delattr(self, k)
        _renumber(self, list(self._modules.values()))  # PyTorch renumbers the rest "0", "1" …

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        return self.extend(list(other))

    def __mul__(self, other):
        """The children repeated ``other`` times (the same module objects, as PyTorch)."""
        if not isinstance(other, int) or isinstance(other, bool):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        return Sequential(*(list(self) * other))

    __rmul__ = __mul__

    def __imul__(self, other):
        combined = self * other
        _renumber(self, list(combined))
        return self

    def insert(self, index: int, module):
        """Put ``module`` before position ``index`` (negative from the end)."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        mods = list(self._modules.values())
        mods.insert(index, module)
        _renumber(self, mods)
        return self

    def extend(self, sequential):
        """Append every module of ``sequential``."""
        for m in list(sequential):
            self.append(m)
        return self


class ModuleList(_Numbered):
    """A list of modules whose parameters are registered (PyTorch's list methods: append, extend,
    insert, pop, indexing, slicing, assignment, deletion, ``+``, ``+=``)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def extend(self, modules):
        """Add every module of ``modules`` at the end."""
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got " + type(modules).__name__)
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index: int, module):
        """Put ``module`` before position ``index`` (as ``list.insert``)."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        _renumber(self, mods)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return type(self)(list(self._modules.values())[i])
        return self._modules[_abs_index(self, i)]

    def __setitem__(self, i: int, module):
        setattr(self, _abs_index(self, i), module)

    def __delitem__(self, i):
        if isinstance(i, slice):
            for k in range(len(self._modules))[i]:
                delattr(self, str(k))
        else:
            delattr(self, _abs_index(self, i))
        _renumber(self, list(self._modules.values()))

    def __add__(self, other):
        return type(self)(list(self) + list(other))

    def __iadd__(self, other):
        return self.extend(other)

    def __repr__(self):
        return _repeated_repr(self)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered (PyTorch's mapping methods)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str):
        return self._modules[key]

    def __setitem__(self, key: str, module):
        self.add_module(key, module)

    def __delitem__(self, key: str):
        del self._modules[key]
        self.__dict__.pop(key, None)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def items(self):
        """(key, module) pairs, in insertion order."""
        return self._modules.items()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) the modules of a mapping or of (name, module) pairs; TypeError/ValueError
        for anything else, as PyTorch."""
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value pairs, "
                            "but got " + type(modules).__name__)
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        else:
            pairs = []
            for j, m in enumerate(modules):
                if not isinstance(m, Iterable):
                    raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is "
                                    + type(m).__name__)
                if len(m) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{j} has length {len(m)}; 2 is required")
                pairs.append(tuple(m))
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str):
        """Remove and return the module under ``key``."""
        module = self[key]
        del self[key]
        return module

    def clear(self):
        """Remove every module."""
        for key in list(self._modules):
            del self[key]
