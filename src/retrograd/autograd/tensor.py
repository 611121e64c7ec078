"""``Tensor``: an array with an optional place on the tape, and the constructors.

A ``Tensor`` holds an array (``.data``) and, if it was produced by a recorded
op, a pointer to that op (``._node``). Leaves are Tensors with
``requires_grad=True`` and no node; their gradients accumulate in ``.grad``.
Operators and most methods (``+``, ``@``, ``.sum()`` …) are installed by
``retrograd.ops.methods``; ``.backward()`` by the engine. This module imports
only the backend.
"""

from __future__ import annotations

import warnings
import weakref

from . import backend
from .backend import xp
from .mode import _mode, mutations

def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, backend.ndarray):
        return data
    arr = xp.asarray(data)  # a host (NumPy) array crosses to the backend keeping its dtype
    if not hasattr(data, "dtype"):
        if arr.dtype == xp.float64:  # Python floats and lists: the default dtype (PyTorch's inference)
            arr = arr.astype(_default_dtype)
        elif arr.dtype == xp.complex128 and _default_dtype is not xp.float64:  # its complex partner
            arr = arr.astype(xp.complex64)
    return arr


_default_dtype = xp.float32


def set_default_dtype(dtype) -> None:
    """Set the dtype of floating tensors made from Python numbers (float32); a floating dtype only,
    as PyTorch's (an integer default would truncate every float made afterwards)."""
    global _default_dtype
    kind = xp.dtype(dtype)
    if kind.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got "
                        f"{kind}")
    _default_dtype = kind.type


def get_default_dtype():
    """The dtype of floating tensors made from Python numbers."""
    return _default_dtype


class Tensor:
    """An array with an optional place on the tape.

    - ``data``: the array (NumPy), shared, never copied by retrograd;
    - ``grad``: accumulated gradient (a Tensor) for leaves and tensors
      that called ``retain_grad()``;
    - ``requires_grad``: whether ops on it are recorded.
    """

    __slots__ = ("data", "_grad", "_requires_grad", "_node", "_hooks", "_oi", "__weakref__")
    __array_ufunc__ = None  # make ``ndarray * Tensor`` defer to Tensor.__rmul__
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        self.data = _as_array(data, dtype)
        self._grad = None
        self._node = None
        self._hooks = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_()

    # ------------------------------------------------------------ gradient state
    @property
    def requires_grad(self) -> bool:
        """Whether ops on this tensor are recorded (set it on a leaf only, as in PyTorch)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(bool(value))

    @property
    def grad(self):
        """The accumulated gradient (a Tensor of this tensor's shape and dtype), or None.

        Reading it on a computed tensor that did not call ``retain_grad()`` warns, as PyTorch
        does: backward never fills it, so None there is usually a mistake."""
        g = self._grad
        if g is None and self._node is not None and not self.retains_grad:
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during backward(): call .retain_grad() on it before the "
                          "backward, or use rg.grad(out, [tensor]) to get its gradient.", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size {list(value.shape)} to a tensor of "
                                   f"size {list(self.data.shape)}: the gradient and the tensor must be the same size")
            if value.data.dtype != self.data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype {value.data.dtype} to a tensor of "
                                   f"dtype {self.data.dtype}: cast it first")
        self._grad = value

    # ------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple:
        """The array's shape."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return self.data.ndim

    @property
    def dtype(self):
        """The array's dtype."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._node is None

    @property
    def grad_fn(self):
        """The ``Op`` that produced this tensor, or None for leaves."""
        return self._node

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        if not self.data.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __repr__(self):
        body = repr(self.data)[len("array(") : -1] if isinstance(self.data, backend.ndarray) else repr(self.data)
        extra = ""
        if self._node is not None:
            extra = f", grad_fn={self._node.name}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if _mode.dual is not None:  # a dual tensor shows its tangent, as PyTorch's
            tangent = _mode.dual.tangent(self)
            if tangent is not None:
                extra += f", tangent={_wrap(tangent)!r}"
        return f"tensor({body}{extra})"

    def _one_element(self, what):
        if _mode.trace is not None:
            _mode.trace.read(self, what)
        if self.data.size != 1:
            raise ScalarError(f"{what}: only a one-element tensor can be converted to a Python scalar, "
                              f"this one has shape {tuple(self.shape)}")
        return self.data.item()

    def __bool__(self):
        if _mode.trace is not None:
            _mode.trace.read(self, "__bool__")
        if self.data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self.data.size} elements is ambiguous; "
                               f"use .any() or .all()")
        return bool(self.data.item())

    def __float__(self):
        return float(self._one_element("float"))

    def __int__(self):
        return int(self._one_element("int"))

    def __index__(self):
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.dtype}")
        return int(self._one_element("index"))

    def __array__(self, dtype=None, copy=None):
        if _mode.trace is not None:
            _mode.trace.read(self, "__array__")
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__

    def __dlpack__(self, *args, **kwargs):
        """DLPack export: zero-copy exchange with PyTorch, JAX, CuPy (``torch.from_dlpack(t)``)."""
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def numpy(self):
        """The underlying array (no copy)."""
        if _mode.trace is not None:
            _mode.trace.read(self, "numpy")
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if _mode.trace is not None:
            _mode.trace.read(self, "item")
        if self.data.size != 1:
            raise ScalarError(f"item: a Tensor with {self.data.size} elements (shape {self.shape}) cannot be "
                              f"converted to a Python scalar")
        return self.data.item()

    def tolist(self):
        """The values as nested Python lists."""
        if _mode.trace is not None:
            _mode.trace.read(self, "tolist")
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the tape."""
        t = Tensor.__new__(Tensor)
        t.data, t._grad, t._node, t._hooks, t._requires_grad = self.data, None, None, None, False
        return t

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Mark a leaf as needing gradients, or not (in place). On a computed tensor only
        ``requires_grad_(True)``, which it already is, is accepted (PyTorch's rule)."""
        if self._node is not None:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables (requires_grad_(False) "
                               "on a computed tensor): use .detach() for a tensor that needs no gradient")
        if requires_grad and self.data.dtype.kind == "c":
            raise RequiresGradError(f"requires_grad_: complex tensors cannot require gradients in retrograd (got "
                                    f"{self.dtype}); differentiate the real and imaginary parts as separate real "
                                    f"tensors")
        if requires_grad and self.data.dtype.kind != "f":
            raise RequiresGradError(f"requires_grad_: only Tensors of floating point dtype can require gradients, "
                                    f"got {self.dtype}")
        self._requires_grad = requires_grad
        return self

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this computed tensor (PyTorch's attribute)."""
        node = self._node
        r = None if node is None else getattr(node, "retained", None)
        if r is not None and node.multi:
            r = r.get(self._oi)
        return r is not None and r() is self

    def mark_modified_(self) -> "Tensor":
        """Record that ``self.data`` was just changed in place (optimizers, ``load_state_dict`` and
        ``nn.init`` call this). A backward pass through an op recorded earlier that saved this very
        array then raises instead of silently differentiating with the new values (PyTorch's
        "modified by an inplace operation"). On a view, the array it views is stamped too: an op
        that kept that array (or another view of it) refuses as well."""
        _stamp(self)
        if _mode.dual is not None:  # forward AD: a value written in carries no tangent (a fill, a copy)
            _mode.dual.overwritten(self)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        node = self._node
        if node is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad: tensor does not require grad")
            return self
        if node.multi:  # one entry per output that asked
            if node.retained is None:
                node.retained = {}
            node.retained[self._oi] = weakref.ref(self)
        else:
            node.retained = weakref.ref(self)
        return self

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed.

        ``fn`` gets the gradient as a Tensor and may return a replacement.
        On an output of a multi-output op (a custom ``Function``'s), a pass that sends that
        output nothing calls ``fn(None)``, as PyTorch does.
        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        node = self._node
        if node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        elif node.multi:  # one list per output; an output that receives no gradient gives its hooks None
            if node.hooks is None:
                node.hooks = {}
            hooks = node.hooks.setdefault(self._oi, [])
        else:
            if node.hooks is None:
                node.hooks = []
            hooks = node.hooks
        hooks.append(fn)
        return _HookHandle(hooks, fn)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a backward pass accumulated this leaf's ``.grad`` (once per pass,
        with the pass's whole gradient in; PyTorch's, e.g. to step an optimizer per parameter as soon as
        its gradient is ready). Not called by ``rg.grad``, which accumulates nothing. The hook returns
        None. Returns a handle whose ``remove()`` unregisters it."""
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        entry = PostAccumulateHook(hook)
        self._hooks.append(entry)  # beside the gradient hooks: the engine runs it after accumulating
        return _HookHandle(self._hooks, entry)

    def zero_grad_(self, set_to_none: bool = True):
        """Forget the accumulated gradient (or, with ``set_to_none=False``, zero it in place)."""
        if set_to_none or self._grad is None:
            self._grad = None
        else:
            self._grad.data[...] = 0


def _stamp(t: Tensor) -> None:
    """``mark_modified_``'s stamp alone (an in-place write that sets the forward-AD tangent itself,
    as ``x[i] = v`` does for the part it writes)."""
    array, owner = t.data, t.data
    while isinstance(getattr(owner, "base", None), type(array)):
        owner = owner.base
    mutations.stamp((array,) if owner is array else (array, owner))


class ScalarError(RuntimeError, ValueError):
    """A tensor of more than one element asked for its one value (``item``, ``float``, ``int``): a
    ``RuntimeError`` as PyTorch raises, and a ``ValueError``."""


class RequiresGradError(RuntimeError, TypeError):
    """A tensor of a dtype that cannot carry gradients was asked to: a ``RuntimeError`` as PyTorch
    raises, and a ``TypeError``."""


class _HookHandle:
    __slots__ = ("hooks", "fn")

    def __init__(self, hooks, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        """Unregister the hook."""
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


class PostAccumulateHook:
    """A ``register_post_accumulate_grad_hook`` entry in a leaf's hook list: the engine skips it when
    it runs the gradient hooks and calls it, with the leaf, once the gradient is accumulated."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _wrap(data, node=None) -> Tensor:
    """A Tensor around ``data`` (no checks); on the tape at ``node`` if given."""
    t = Tensor.__new__(Tensor)
    t.data, t._grad, t._hooks = data, None, None
    t._node = node
    t._requires_grad = node is not None
    return t


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """Make a tensor, inferring the dtype as PyTorch does: Python ints give
    int64, bools bool, floats the default dtype (float32, ``set_default_dtype``),
    complex numbers its complex partner (complex64); NumPy arrays keep their dtype unless ``dtype`` is given; the array is not
    copied when it already has the requested dtype."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array) -> Tensor:
    """A tensor sharing ``array``'s memory (no copy, dtype kept)."""
    return _wrap(xp.asarray(array))


def from_dlpack(x) -> Tensor:
    """A tensor sharing the memory of any DLPack producer (a PyTorch or JAX
    array on the CPU, a NumPy array …)."""
    return _wrap(xp.from_dlpack(x))


def as_tensor(x) -> Tensor:
    """``x`` if it is a Tensor, else a new Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def mark_modified(tensors) -> None:
    """``mark_modified_`` for many tensors at once, with one stamp (an optimizer step)."""
    mutations.stamp([t.data for t in tensors])
