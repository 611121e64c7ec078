"""PyTorch's parameter containers, ``ParameterList`` and ``ParameterDict``, and the ``Bilinear`` layer
(with ``F.bilinear``).

The containers register each Parameter under its index (``"0"``, ``"1"`` …) or its key, as PyTorch's,
so ``parameters()``, ``named_parameters()`` and ``state_dict()`` list the same names (``"params.0"``,
``"gates.left"``) and a PyTorch state dict loads unchanged. A Tensor put in is made a Parameter (sharing
its array); anything else is kept as a plain attribute, as PyTorch does."""

from __future__ import annotations

import math
import operator
import textwrap
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from ..autograd.op import DimError
from ..autograd.tensor import Tensor
from ..ops import einsum
from ..ops.shape import _data
from . import init
from .activation_extra import LayerInputError
from .layers import _empty
from .module import Module, Parameter, check_device


def _as_entry(value):
    """A Tensor as a Parameter on the same array (PyTorch's containers convert them); other values as they are."""
    return Parameter(value) if isinstance(value, Tensor) and not isinstance(value, Parameter) else value


def _set_entry(module, name: str, value):
    """Register ``value`` under ``name``: a Parameter replacing a Parameter keeps its place in the order
    (as PyTorch's dict assignment does), anything else goes through ``Module.__setattr__``."""
    if isinstance(value, Parameter) and name in module._parameters:
        module._parameters[name] = value
        module.__dict__[name] = value
    else:
        setattr(module, name, value)


def _entry_repr(key, value) -> str:
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{value.dtype} of size {'x'.join(map(str, value.shape))}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


def _container_repr(module) -> str:
    """PyTorch's layout: one indented line per entry."""
    lines = module.extra_repr()
    return f"{type(module).__name__}(\n{textwrap.indent(lines, '  ')}\n)" if lines else f"{type(module).__name__}()"


class ParameterList(Module):
    """A list whose Parameters are registered under their indices (PyTorch's ``nn.ParameterList``):
    ``ParameterList([w0, w1])`` lists ``"0"`` and ``"1"`` in ``named_parameters()``. Indexing, slicing (a
    new ParameterList), assignment, ``append``, ``extend``, ``+=``, ``len`` and iteration work as on a
    list; Tensors are made Parameters, other objects are kept as they are."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _index(self, idx) -> str:
        idx = operator.index(idx)
        if not -len(self) <= idx < len(self):
            raise IndexError(f"index {idx} is out of range")
        return str(idx % len(self))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(self[i] for i in range(*idx.indices(len(self))))
        return getattr(self, self._index(idx))

    def __setitem__(self, idx, value):
        _set_entry(self, self._index(idx), _as_entry(value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, value):
        """Add ``value`` at the end (a Tensor becomes a Parameter)."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        """Add every value of the iterable ``values`` at the end."""
        if not isinstance(values, Iterable) or isinstance(values, Tensor):  # a tensor is never unpacked
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(i, p) for i, p in enumerate(self))

    __repr__ = _container_repr

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class _MissingKey(KeyError, AttributeError):
    """A key a ParameterDict does not hold: PyTorch raises ``AttributeError`` (it looks the key up as an
    attribute); this is also the ``KeyError`` a mapping raises."""

    def __str__(self):
        return self.args[0]


class ParameterDict(Module):
    """An ordered dict whose Parameters are registered under their keys (PyTorch's ``nn.ParameterDict``).
    Keys are strings (no ``"."``, not empty, as every parameter name); Tensors are made Parameters.
    Like PyTorch's, ``update`` with a plain ``dict`` adds its items in sorted key order (an
    ``OrderedDict``, a ParameterDict or a sequence of pairs keeps its order)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _check_key(key):
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not a string (type is "
                            f"'{type(key).__name__}')")
        return key

    def _held(self, key) -> str:
        if self._check_key(key) not in self._keys:
            raise _MissingKey(f"'ParameterDict' object has no attribute '{key}' (no such key)")
        return key

    def __getitem__(self, key: str):
        return getattr(self, self._held(key))

    def __setitem__(self, key: str, value):
        value = _as_entry(value)
        if isinstance(value, Parameter) and ("." in self._check_key(key) or not key):
            raise KeyError(f"ParameterDict: parameter name can't contain \".\" or be empty, got {key!r}")
        _set_entry(self, self._check_key(key), value)
        self._keys[key] = None

    def __delitem__(self, key: str):
        del self._keys[self._held(key)]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._keys

    def copy(self) -> "ParameterDict":
        """A new ParameterDict holding the same values (the Parameters themselves, not copies)."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key: str, default=None):
        """``self[key]``, first set to ``default`` if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        """Remove every entry."""
        for key in list(self._keys):
            del self[key]

    def pop(self, key: str):
        """Remove ``key`` and return its value."""
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        """Remove and return the last inserted ``(key, value)`` pair (KeyError when empty)."""
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def get(self, key: str, default=None):
        """``self[key]`` if present, else ``default``."""
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None) -> "ParameterDict":
        """A new ParameterDict with ``keys``, each set to ``default``."""
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        """The keys, in order."""
        return self._keys.keys()

    def items(self):
        """(key, value) pairs, in order."""
        return ((k, self[k]) for k in self._keys)

    def values(self):
        """The values, in order."""
        return (self[k] for k in self._keys)

    def update(self, parameters) -> None:
        """Add or replace entries from a mapping or an iterable of (key, value) pairs (a plain dict in sorted
        key order, as PyTorch)."""
        if not isinstance(parameters, Iterable):
            raise TypeError(f"ParametersDict.update should be called with an iterable of key/value pairs, but got "
                            f"{type(parameters).__name__}")
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = []
            for j, p in enumerate(parameters):
                if not isinstance(p, Iterable):
                    raise TypeError(f"ParameterDict update sequence element #{j} should be Iterable; is "
                                    f"{type(p).__name__}")
                p = tuple(p)
                if len(p) != 2:
                    raise ValueError(f"ParameterDict update sequence element #{j} has length {len(p)}; 2 is required")
                pairs.append(p)
        for key, value in pairs:
            self[key] = value

    def __or__(self, other) -> "ParameterDict":
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other) -> "ParameterDict":
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, v) for k, v in self.items())

    __repr__ = _container_repr

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")


# ---------------------------------------------------------------- bilinear
def bilinear(input1, input2, weight, bias=None):
    """PyTorch's ``F.bilinear``: y_o = Σ_ij x1_i · W_oij · x2_j + b_o over the last dims of ``input1``
    (…, in1) and ``input2`` (…, in2), whose leading dims must be equal; ``weight`` is (out, in1, in2),
    ``bias`` (out,). One ``einsum``, so every gradient is the contraction's."""
    x1, x2, w = (_data(t) for t in (input1, input2, weight))
    if x1.ndim == 0 or x2.ndim == 0:
        raise DimError(f"bilinear: inputs must have at least one dim (features last), got shapes {x1.shape} and "
                       f"{x2.shape}")
    if x1.ndim != x2.ndim:
        raise LayerInputError(f"bilinear(): input dimensions do not match: got {x1.ndim} and {x2.ndim} (shapes "
                              f"{x1.shape} and {x2.shape})")
    for dim, (a, b) in enumerate(zip(x1.shape[:-1], x2.shape[:-1])):
        if a != b:
            raise LayerInputError(f"bilinear(): input batch dimensions do not match at dim {dim}: got {a} and {b}")
    if w.ndim != 3:
        raise LayerInputError(f"bilinear(): weight must be 3-D (out_features, in1_features, in2_features), got "
                              f"shape {w.shape}")
    for name, x, k in (("input1", x1, 1), ("input2", x2, 2)):
        if x.shape[-1] != w.shape[k]:
            raise LayerInputError(f"bilinear(): {name} size does not match weight size: got {x.shape[-1]} but "
                                  f"expected {w.shape[k]} (weight shape {w.shape})")
    named = [("input1", x1), ("input2", x2), ("weight", w)] + ([("bias", _data(bias))] if bias is not None else [])
    if len({d.dtype for _, d in named}) > 1:
        raise LayerInputError("bilinear(): All tensors must have the same dtype, got "
                              + ", ".join(f"{n}: {d.dtype}" for n, d in named))
    if bias is not None and _data(bias).shape != (w.shape[0],):
        raise LayerInputError(f"bilinear(): bias size does not match weight size: got {_data(bias).shape} but "
                              f"expected ({w.shape[0]},)")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias


class Bilinear(Module):
    """y = x1ᵀ W x2 + b per output feature (PyTorch's ``nn.Bilinear``): ``weight`` (out_features,
    in1_features, in2_features) and ``bias`` (out_features,), both initialised U(±1/√in1_features)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        check_device("Bilinear", device)
        for name, n in (("in1_features", in1_features), ("in2_features", in2_features),
                        ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"Bilinear: {name} must be a non-negative integer, got {n!r}")
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _empty(out_features, in1_features, in2_features, dtype=dtype)
        if bias:
            self.bias = _empty(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """U(±1/√in1_features) draws for the weight and the bias (PyTorch's)."""
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        return bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")

