"""The core: ``Tensor``, the ``Op`` node that records one step of the tape, and
the grad-mode switches.

A ``Tensor`` holds an array (``.data``) and, if it was produced by a recorded
op, a pointer to that op (``._node``). An ``Op`` instance *is* the tape entry:
it remembers its inputs (Tensors or constants), which of them need a gradient,
and — only if its vector-Jacobian product needs it — its output. Leaves are
Tensors with ``requires_grad=True`` and no node; their gradients accumulate in
``.grad``.

Subclasses of ``Op`` put the forward and the vjp side by side::

    class Tanh(Op):
        "y = tanh(x);  x̄ = ȳ·(1 − y²)"
        save_ans = True
        def forward(self, x):            return xp.tanh(x)
        def vjp(self, ns, g, y, x):      return (g * (1 - y * y),)

``vjp`` receives the array namespace ``ns`` and arrays in a first-order
backward pass, and ``rg`` ops and Tensors under ``create_graph=True``, so the
same rule builds a differentiable graph for second derivatives.

This module imports only NumPy (through ``backend``).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import traceback

from . import backend
from .backend import xp

_float_dtypes = (xp.float16, xp.float32, xp.float64)


class _Mode(threading.local):
    grad_enabled = True
    anomaly = False


_mode = _Mode()
_next_seq = itertools.count().__next__  # creation order of recorded ops: a topological order


def is_grad_enabled() -> bool:
    """Whether ops are being recorded on the tape in this thread."""
    return _mode.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        self.prev = _mode.grad_enabled
        _mode.grad_enabled = self.enabled

    def __exit__(self, *exc):
        _mode.grad_enabled = self.prev


def no_grad():
    """Context manager / decorator: run without recording ops (inference, updates)."""
    return _GradMode(False)


def enable_grad():
    """Context manager / decorator: record ops even inside ``no_grad``."""
    return _GradMode(True)


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first op whose forward or backward produces NaN or Inf.

    The error names the op, its input shapes and dtypes, and — for the backward
    pass — the line of user code that created the op. Slows every op a little
    (a finiteness check and a stack walk), so use it to debug.
    """

    def __enter__(self):
        self.prev = _mode.anomaly
        _mode.anomaly = True
        return self

    def __exit__(self, *exc):
        _mode.anomaly = self.prev


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared inside ``detect_anomaly()``."""


def _user_site() -> str:
    """The innermost stack frame outside retrograd: where the user called us."""
    pkg = __name__.rsplit(".", 1)[0]
    for frame, lineno in traceback.walk_stack(sys._getframe(1)):
        mod = frame.f_globals.get("__name__", "")
        if mod != pkg and not mod.startswith(pkg + "."):
            return f'File "{frame.f_code.co_filename}", line {lineno}, in {frame.f_code.co_name}'
    return "<unknown>"


def _describe(args) -> str:
    parts = []
    for a in args:
        d = a.data if isinstance(a, Tensor) else a
        if hasattr(d, "shape") and hasattr(d, "dtype"):
            parts.append(f"{d.dtype}{list(d.shape)}")
        else:
            parts.append(type(d).__name__)
    return ", ".join(parts)


class OpError(ValueError):
    """An op was given inputs it cannot work with (shapes, dtypes, arguments)."""


class Op:
    """One recorded step of the tape: forward, vjp, and what the vjp needs.

    Class attributes a subclass may set:

    ``name``        short label used in traces and errors;
    ``save_ans``    keep the forward output for the vjp (tanh, exp, sigmoid …);
    ``broadcasts``  the op broadcasts its inputs, so the engine sums each input
                    gradient back to the input's shape (broadcasting is handled
                    once, in the engine, not in every rule).
    """

    __slots__ = ("inputs", "xs", "needs", "ans", "hooks", "retained", "site", "seq", "__weakref__")
    name = "op"
    save_ans = False
    broadcasts = False
    multi = False  # several outputs (see MultiOp)

    def forward(self, *xs):
        raise NotImplementedError

    def vjp(self, ns, g, ans, *xs):
        raise NotImplementedError(f"{self.name}: no vector-Jacobian product is defined")

    def extra_repr(self) -> str:
        return ""

    def saved_arrays(self):
        """Arrays kept for the vjp besides inputs and outputs (for memory reports)."""
        return ()

    def __repr__(self):
        extra = self.extra_repr()
        return f"<{self.name}{' ' + extra if extra else ''}>"

    def __call__(self, *args) -> "Tensor":
        """Run the forward pass on ``args`` and record this op on the tape."""
        xs, out, record = self._apply(args)
        t = _wrap(out, self if record else None)
        return t

    def _apply(self, args):
        """Forward on the arrays of ``args``; record the op if any input needs a
        gradient. Returns (arrays, output, recorded). Shared by every op with a
        variable number of inputs and by MultiOp; UnaryOp and BinaryOp unroll
        the same steps because they are most of every graph."""
        xs = tuple([a.data if isinstance(a, Tensor) else a for a in args])
        try:
            out = self.forward(*xs)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail(args, e) from e
        if self.multi:
            out = tuple(o if type(o) is backend.ndarray else xp.asarray(o) for o in out)
        elif type(out) is not backend.ndarray:
            out = xp.asarray(out)
        mode = _mode
        if mode.anomaly:
            for o in (out if self.multi else (out,)):
                self._check_forward(o, args)
        record = False
        if mode.grad_enabled:
            needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            if True in needs:
                record = True
                self.inputs, self.xs, self.needs = args, xs, needs
                self.ans = out if self.save_ans else None
                self.hooks = self.retained = None
                self.site = _user_site() if mode.anomaly else None
                self.seq = _next_seq()
        return xs, out, record

    def _params(self) -> str:
        extra = self.extra_repr()
        return f"({extra})" if extra else ""

    def _fail(self, args, e):
        return OpError(f"{self.name}{self._params()}: cannot apply to ({_describe(args)}): {e}")

    def _check_forward(self, out, args):
        if out.dtype.kind in "fc" and not xp.isfinite(out).all():
            raise AnomalyError(
                f"detect_anomaly: forward of {self.name}{self._params()} on ({_describe(args)}) "
                f"produced {'NaN' if xp.isnan(out).any() else 'Inf'}; called at {_user_site()}"
            )


# Unary, binary and ternary ops are most of every graph: their ``__call__`` is
# the general one (``Op._apply``) unrolled — no *args, no loops — which halves
# the per-op overhead.
class UnaryOp(Op):
    """An op of one tensor argument (elementwise functions, reductions, shape ops)."""

    __slots__ = ()

    def __call__(self, x) -> "Tensor":
        if isinstance(x, Tensor):
            xd, req = x.data, x.requires_grad
        else:
            xd, req = x, False
        try:
            out = self.forward(xd)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail((x,), e) from e
        if type(out) is not backend.ndarray:
            out = xp.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x,))
        if req and mode.grad_enabled:
            self.inputs, self.xs, self.needs = (x,), (xd,), _NEED1
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = None
            self.site = _user_site() if mode.anomaly else None
            self.seq = _next_seq()
            t._node, t.requires_grad = self, True
        else:
            t._node, t.requires_grad = None, False
        return t


_NEED1 = (True,)
_NEEDS2 = {(True, True): (True, True), (True, False): (True, False), (False, True): (False, True)}


class BinaryOp(Op):
    """An op of two arguments, each a tensor or a constant (arithmetic, maximum …)."""

    __slots__ = ()

    def __call__(self, x, y) -> "Tensor":
        if isinstance(x, Tensor):
            xd, rx = x.data, x.requires_grad
        else:
            xd, rx = x, False
        if isinstance(y, Tensor):
            yd, ry = y.data, y.requires_grad
        else:
            yd, ry = y, False
        try:
            out = self.forward(xd, yd)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail((x, y), e) from e
        if type(out) is not backend.ndarray:
            out = xp.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x, y))
        if (rx or ry) and mode.grad_enabled:
            self.inputs, self.xs, self.needs = (x, y), (xd, yd), _NEEDS2[rx, ry]
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = None
            self.site = _user_site() if mode.anomaly else None
            self.seq = _next_seq()
            t._node, t.requires_grad = self, True
        else:
            t._node, t.requires_grad = None, False
        return t


class TernaryOp(Op):
    """An op of three arguments (``linear``: x, W, b — the most common op of an
    MLP), unrolled like UnaryOp and BinaryOp; b may be None."""

    __slots__ = ()

    def __call__(self, x, y, z=None) -> "Tensor":
        xd, rx = (x.data, x.requires_grad) if isinstance(x, Tensor) else (x, False)
        yd, ry = (y.data, y.requires_grad) if isinstance(y, Tensor) else (y, False)
        zd, rz = (z.data, z.requires_grad) if isinstance(z, Tensor) else (z, False)
        try:
            out = self.forward(xd, yd, zd)
        except OpError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise self._fail((x, y, z), e) from e
        if type(out) is not backend.ndarray:
            out = xp.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._hooks = out, None, None
        mode = _mode
        if mode.anomaly:
            self._check_forward(out, (x, y, z))
        if (rx or ry or rz) and mode.grad_enabled:
            self.inputs, self.xs, self.needs = (x, y, z), (xd, yd, zd), (rx, ry, rz)
            self.ans = out if self.save_ans else None
            self.hooks = self.retained = None
            self.site = _user_site() if mode.anomaly else None
            self.seq = _next_seq()
            t._node, t.requires_grad = self, True
        else:
            t._node, t.requires_grad = None, False
        return t


class MultiOp(Op):
    """An op with several outputs (a recurrent layer returns its outputs and its
    final state). ``forward`` returns a tuple of arrays; ``vjp`` receives the
    list of output gradients, with zeros for outputs that received none, and
    the tuple of outputs as ``ans`` when ``save_ans``."""

    __slots__ = ("out_meta",)
    multi = True

    def __call__(self, *args) -> tuple:
        xs, outs, record = self._apply(args)
        if record:
            self.out_meta = tuple((o.shape, o.dtype) for o in outs)
        result = []
        for i, o in enumerate(outs):
            t = _wrap(o, self if record else None)
            t._oi = i
            result.append(t)
        return tuple(result)


def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, backend.ndarray):
        return data
    arr = xp.asarray(data)
    if arr.dtype == xp.float64:  # Python floats and lists: the default float dtype
        arr = arr.astype(_default_dtype)
    return arr


_default_dtype = xp.float32


def set_default_dtype(dtype) -> None:
    """Set the dtype of floating tensors made from Python numbers (float32)."""
    global _default_dtype
    _default_dtype = xp.dtype(dtype).type


def get_default_dtype():
    """The dtype of floating tensors made from Python numbers."""
    return _default_dtype


class Tensor:
    """An array with an optional place on the tape.

    ``data``           the array (NumPy), shared, never copied by retrograd;
    ``grad``           accumulated gradient (a Tensor) for leaves and tensors
                       that called ``retain_grad()``;
    ``requires_grad``  whether ops on it are recorded.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_hooks", "_oi", "__weakref__")
    __array_ufunc__ = None  # make ``ndarray * Tensor`` defer to Tensor.__rmul__
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        self.data = _as_array(data, dtype)
        self.grad = None
        self._node = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

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
        return f"tensor({body}{extra})"

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __index__(self):
        return int(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__

    def __dlpack__(self, *args, **kwargs):
        """DLPack export: zero-copy exchange with PyTorch, JAX, CuPy (``torch.from_dlpack(t)``)."""
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def numpy(self):
        """The underlying array (no copy)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.data.size} elements, not 1")
        return self.data.item()

    def tolist(self):
        """The values as nested Python lists."""
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the tape."""
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._node, t._hooks, t.requires_grad = self.data, None, None, None, False
        return t

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Mark a leaf as needing gradients (in place)."""
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use .detach() instead")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad_: only floating tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        node = self._node
        if node is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad: tensor does not require grad")
            return self
        if node.multi:
            raise RuntimeError(f"retain_grad: not supported on an output of the multi-output op {node.name}; "
                               f"use rg.grad(..., inputs=[this tensor]) instead")
        import weakref

        node.retained = weakref.ref(self)
        return self

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed.

        ``fn`` gets the gradient as a Tensor and may return a replacement.
        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        node = self._node
        if node is not None and node.multi:
            raise RuntimeError(f"register_hook: not supported on an output of the multi-output op {node.name}")
        if node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if node.hooks is None:
                node.hooks = []
            hooks = node.hooks
        hooks.append(fn)
        return _HookHandle(hooks, fn)

    def zero_grad_(self, set_to_none: bool = True):
        """Forget the accumulated gradient (or, with ``set_to_none=False``, zero it in place)."""
        if set_to_none or self.grad is None:
            self.grad = None
        else:
            self.grad.data[...] = 0

    def backward(self, grad=None, retain_graph: bool | None = None, create_graph: bool = False,
                 trace: bool = False):
        """Backpropagate from this tensor, accumulating into leaves' ``.grad``.

        ``grad`` is the upstream gradient (defaults to 1 for a scalar).
        The tape is freed afterwards unless ``retain_graph=True``.
        ``create_graph=True`` records the backward pass itself, so the
        gradients can be differentiated again. ``trace=True`` prints every step
        of the backward pass as it runs (see ``rg.explain``).
        """
        return backprop.backward([self], None if grad is None else [grad], retain_graph=retain_graph,
                                 create_graph=create_graph, trace=trace)


class _HookHandle:
    __slots__ = ("hooks", "fn")

    def __init__(self, hooks, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        """Unregister the hook."""
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


def _wrap(data, node=None) -> Tensor:
    """A Tensor around ``data`` (no checks); on the tape at ``node`` if given."""
    t = Tensor.__new__(Tensor)
    t.data, t.grad, t._hooks = data, None, None
    t._node = node
    t.requires_grad = node is not None
    return t


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """Make a tensor. Python floats become float32 (``set_default_dtype``);
    NumPy arrays keep their dtype unless ``dtype`` is given; the array is not
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


from . import backprop  # noqa: E402 - the engine imports Tensor from here
