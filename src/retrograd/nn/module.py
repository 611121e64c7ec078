"""``Module`` and ``Parameter``: PyTorch's model-building API on retrograd tensors.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, so
``parameters()``, ``named_parameters()``, ``state_dict()`` and ``train()``
find it; names are dotted paths (``"0.weight"``, ``"encoder.bias"``), as in
PyTorch, so a PyTorch ``state_dict`` converted to arrays loads unchanged.
"""

from __future__ import annotations


from collections import OrderedDict


from ..autograd.backend import xp
from ..autograd.tensor import Tensor, _as_array
from ..autograd.mode import no_grad
from .module_hooks import BackwardHook
from .module_state import IncompatibleKeys, StateDictError, StateDictMethods  # noqa: F401 (re-exported)


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(data, dtype=dtype, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def check_device(layer: str, device) -> None:
    """PyTorch's ``device=`` factory argument: arrays live on the backend here (``rg.set_backend``),
    so only None or "cpu" is taken."""
    if device is not None and str(device) != "cpu":
        raise ValueError(f"{layer}: device={device!r}: retrograd places every array on its backend "
                         f"(rg.set_backend); leave device out")


class Module(StateDictMethods):
    """Base class of every layer and model.

    Subclasses define ``forward``; calling the module calls it. Parameters,
    buffers and submodules assigned as attributes are registered in order.
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, (Parameter, Module)):
            target = params if isinstance(value, Parameter) else modules
            for store in (params, buffers, modules):
                if store is not target:  # a replacement keeps its place in the order, as PyTorch
                    store.pop(name, None)
            target[name] = value
        elif isinstance(value, Tensor) and getattr(value, "_is_buffer", False) and name not in params \
                and name not in modules:  # an nn.Buffer: assigning one registers it, as PyTorch (≥ 2.5)
            self.register_buffer(name, value, value.persistent)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor) and not hasattr(value, "__array__"):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            value = value if value is None or isinstance(value, Tensor) else Tensor(_as_array(value))
            buffers[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind = "parameter" if name in params else "child module"
                raise TypeError(f"cannot assign '{type(value).__name__}' as {kind} '{name}' "
                                f"({'Parameter' if name in params else 'Module'} or None expected)")
            (params if name in params else modules)[name] = None
        # The registries above are what parameters() and state_dict() walk; the
        # instance dict holds the same object, so ``self.weight`` is a plain (fast)
        # attribute lookup on the forward path.
        d[name] = value

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        object.__delattr__(self, name)

    def _check_new_name(self, name, what: str, store: str) -> None:
        """PyTorch's checks of a registered name: a string (TypeError), non-empty, without ".", and
        not an existing attribute other than one of the same kind (KeyError)."""
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{what} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{what} name can\'t contain ".", got: {name} (a dotted path must contain no "."; '
                           f'register on the submodule)')
        # a plain attribute set to None first (``self.bias = None``, then registered) is taken over
        if hasattr(self, name) and name not in getattr(self, store) and self.__dict__.get(name, 0) is not None:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None):
        """Register ``param`` under ``name`` (None declares an absent parameter, like a Linear without
        bias); TypeError for a value that is not a Parameter, KeyError for a bad or taken name."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_new_name(name, "parameter", "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(Parameter or None required)")
        if param is None:
            self._parameters[name] = None
            self.__dict__[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, value, persistent: bool = True):
        """A non-trainable tensor that is part of the state (BatchNorm's running stats). The name
        must be new to the module (not a parameter's or a submodule's), without dots, and the value
        a Tensor or None, as PyTorch's."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_new_name(name, "buffer", "_buffers")
        # an array is taken too (made a Tensor): layers here register NumPy arrays
        if value is not None and not isinstance(value, Tensor) and not hasattr(value, "__array__"):
            raise TypeError(f"cannot assign '{type(value).__name__}' object to buffer '{name}' "
                            f"(Tensor or None required)")
        value = value if value is None or isinstance(value, Tensor) else Tensor(_as_array(value))
        self._buffers[name] = value
        self.__dict__[name] = value
        if persistent:  # registering a name again sets its persistence anew, as PyTorch
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: "Module | None"):
        """Register a submodule under ``name`` (a Module or None; the name a new string without dots)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name(name, "module", "_modules")
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` ("" is this module); AttributeError if absent
        or not a Module, as PyTorch."""
        m = self
        for part in target.split(".") if target else ():
            if not hasattr(m, part):
                raise AttributeError(f"{type(m).__name__} has no attribute `{part}`")
            m = getattr(m, part)
            if not isinstance(m, Module):
                raise AttributeError(f"`{part}` is not an nn.Module")
        return m

    def get_parameter(self, target: str):
        """The parameter at the dotted path ``target``; AttributeError if absent or not a Parameter."""
        path, _, name = target.rpartition(".")
        owner = self.get_submodule(path)
        if not hasattr(owner, name):
            raise AttributeError(f"{type(owner).__name__} has no attribute `{name}`")
        param = getattr(owner, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str):
        """The buffer at the dotted path ``target``; AttributeError if absent or not a buffer."""
        path, _, name = target.rpartition(".")
        owner = self.get_submodule(path)
        if not hasattr(owner, name):
            raise AttributeError(f"{type(owner).__name__} has no attribute `{name}`")
        if name not in owner._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(owner, name)

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    _forward_pre_hooks = None  # {id: (hook, with_kwargs)}, made by the first registration
    _forward_hooks = None
    _backward_pre_hooks = None  # {id: (hook, None)}: register_full_backward_pre_hook (nn.module_hooks)
    _backward_hooks = None

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        """``forward`` between the hooks, as PyTorch runs them: a pre-hook may replace the input
        (its result, a tuple or one value; with kwargs, an (args, kwargs) pair), a forward hook the
        output (any result but None). Forward hooks registered with ``always_call`` run even when a
        pre-hook or ``forward`` raises (their own errors then only warn), and the error propagates."""
        called, out = set(), None
        try:
            for hook, with_kwargs in list((self._forward_pre_hooks or {}).values()):
                if with_kwargs:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        if not (isinstance(result, tuple) and len(result) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple of "
                                               f"(new_args, new_kwargs), but got {result}.")
                        args, kwargs = result
                else:
                    result = hook(self, args)
                    if result is not None:
                        args = result if isinstance(result, tuple) else (result,)
            bw_hook = None
            if self._backward_hooks or self._backward_pre_hooks:  # the hooks of this moment, as PyTorch
                bw_hook = BackwardHook(self, [h for h, _ in (self._backward_hooks or {}).values()],
                                       [h for h, _ in (self._backward_pre_hooks or {}).values()])
                args = bw_hook.setup_input_hook(args)
            out = self.forward(*args, **kwargs)
            for hid, (hook, with_kwargs) in list((self._forward_hooks or {}).items()):
                called.add(hid)
                result = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
                if result is not None:
                    out = result
        except Exception:
            always = self.__dict__.get("_forward_hooks_always_called") or ()
            for hid, (hook, with_kwargs) in list((self._forward_hooks or {}).items()):
                if hid in always and hid not in called:
                    try:
                        result = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
                        out = out if result is None else result
                    except Exception as e:  # the first error is the one to see
                        import warnings

                        warnings.warn("module forward hook with ``always_call=True`` raised an exception that "
                                      f"was silenced as another error was raised in forward: {e}")
            raise
        return out if bw_hook is None else bw_hook.setup_output_hook(out)

    def register_full_backward_hook(self, hook, prepend: bool = False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's positional
        tensor inputs have been computed (tuples; None for a non-tensor argument or output); a tuple
        it returns replaces ``grad_input``. Returns a handle whose ``remove()`` takes it off."""
        return self._add_hook("_backward_hooks", hook, prepend, None)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False):
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs have been
        computed, before the module is differentiated; a tuple it returns replaces ``grad_output``.
        Returns a handle whose ``remove()`` takes it off."""
        return self._add_hook("_backward_pre_hooks", hook, prepend, None)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False):
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with ``with_kwargs``) before
        every forward; returns a handle whose ``remove()`` takes it off."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False):
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) after every forward; a result other than None replaces the output. With
        ``always_call`` it also runs when the forward raises. Returns a handle whose ``remove()``
        takes it off."""
        handle = self._add_hook("_forward_hooks", hook, prepend, with_kwargs)
        if always_call:
            object.__setattr__(self, "_forward_hooks_always_called",
                               {*(self.__dict__.get("_forward_hooks_always_called") or ()), handle.id})
        return handle

    def _add_hook(self, where, hook, prepend, with_kwargs):
        hooks = dict(self.__dict__.get(where) or {})
        handle = RemovableHandle(self, where)
        entry = {handle.id: (hook, with_kwargs)}
        object.__setattr__(self, where, {**entry, **hooks} if prepend else {**hooks, **entry})
        return handle

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for this module and every submodule, depth first; a module
        reached under several names is listed once (at its first), unless ``remove_duplicate``
        is False — PyTorch's signature."""
        if remove_duplicate:
            memo = set() if memo is None else memo
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        """This module and every submodule."""
        return (m for _, m in self.named_modules())

    def named_children(self):
        """(name, module) for the direct submodules, each module once (at its first name)."""
        seen = set()
        for n, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield n, m

    def children(self):
        """The direct submodules."""
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(dotted name, Parameter) for every parameter, each once (unless ``remove_duplicate`` is
        False: then under every name it has), in registration order."""
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, p in m._parameters.items():
                if p is not None and (not remove_duplicate or id(p) not in seen):
                    seen.add(id(p))
                    yield (f"{mprefix}.{name}" if mprefix else name), p

    def parameters(self, recurse: bool = True):
        """Every parameter (what an optimizer takes)."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(dotted name, Tensor) for every buffer (BatchNorm's running statistics …), each once
        unless ``remove_duplicate`` is False."""
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None and (not remove_duplicate or id(b) not in seen):
                    seen.add(id(b))
                    yield (f"{mprefix}.{name}" if mprefix else name), b

    def buffers(self, recurse: bool = True):
        """Every buffer."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and in every submodule (dropout on, batch statistics)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True):
        """Clear every parameter's gradient (to None, or to zeros)."""
        for p in self.parameters():
            p.zero_grad_(set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule, then on this one (for custom initialisation)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, dtype) -> "Module":
        """Cast every floating parameter and buffer to ``dtype`` (in place)."""
        dtype = xp.dtype(dtype)
        if dtype.kind not in "fc":  # casting weights to integers is never meant, as PyTorch
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired dtype={dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dtype:
                t.data = t.data.astype(dtype)
                t.grad = None
        return self

    def double(self) -> "Module":
        """Cast parameters and buffers to float64 (for gradient checks)."""
        return self.to(xp.float64)

    def float(self) -> "Module":
        """Cast parameters and buffers to float32."""
        return self.to(xp.float32)

    def half(self) -> "Module":
        """Cast floating parameters and buffers to float16 (NumPy has no bfloat16: no ``bfloat16()``)."""
        return self.to(xp.float16)

    def cpu(self) -> "Module":
        """This module (arrays live on the backend, ``rg.set_backend``)."""
        return self

    def share_memory(self) -> "Module":
        """This module: NumPy arrays are not shared between processes, nothing is moved."""
        return self

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (its parent must exist); with ``strict`` only
        over an existing attribute. ValueError for an empty target or a non-Module, AttributeError
        for a missing path or a non-Module there, as PyTorch."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    def summary(self, x=None, *, input_shape=None, dtype=None, print_fn=print) -> None:
        """Print a table of the layers, their output shapes and parameter counts (Keras' ``summary``).

        Output shapes need an example input: ``x`` (a Tensor, array, or a tuple
        of them for a ``forward`` of several arguments), or ``input_shape``, the
        full shape *including* the batch axis (``(1, 1, 28, 28)``; ``(T, B, I)``
        for a time-major RNN), filled with zeros of ``dtype`` (the default float
        dtype; give an integer dtype for an ``Embedding``). The model runs once
        under ``no_grad`` and in eval mode (BatchNorm's running statistics and
        dropout are left as they were), and each submodule's output is recorded:
        a row per layer, indented by depth, in the order the layers were first
        called (a layer called several times, as a cell in a loop, shows its
        last output and the number of calls). Without an input the output
        column is empty. A container's parameter count is that of its whole
        subtree; the totals count each parameter once (shared weights too).
        ``print_fn`` receives the table as one string. With ``input_shape``, a
        model holding an ``Embedding`` gets int64 zeros (token ids) unless ``dtype``
        says otherwise, and a ``forward(x, state)`` that requires a state gets
        ``None`` for it (the layers' zero state), as for an input ``x`` alone.
        """
        if x is None and input_shape is not None:
            from ..autograd.tensor import get_default_dtype

            if dtype is None:  # a model that starts from token ids reads integers (zeros are valid ids)
                dtype = xp.int64 if any(type(m).__name__ == "Embedding" for m in self.modules()) \
                    else get_default_dtype()
            x = Tensor(xp.zeros(tuple(input_shape), dtype=dtype))
        if x is not None and not isinstance(x, tuple):
            x = (x,) + (None,) * _required_after_first(self)  # a recurrent model's state: None, its zeros
        print_fn(_summary_table(self, x))

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        """PyTorch's layout: the ``extra_repr`` lines, then ``(name): child`` lines, indented."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _summary_shape(out) -> str:
    """``(2, 10)`` for a tensor; nested for tuples (an LSTM's ``out, (h, c)``); a PackedSequence by its data."""
    if isinstance(out, Tensor) or hasattr(out, "shape"):
        return str(tuple(int(n) for n in out.shape))
    if isinstance(out, (tuple, list)):
        if hasattr(out, "data") and hasattr(out, "batch_sizes"):  # PackedSequence
            return f"packed {tuple(out.data.shape)}"
        return "(" + ", ".join(_summary_shape(o) for o in out) + ")"
    return "-" if out is None else type(out).__name__


def _required_after_first(model) -> int:
    """How many positional arguments ``model.forward`` requires after its input (a per-step
    recurrent model's state: ``forward(x, state)``)."""
    import inspect

    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return 0
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return max(0, sum(p.default is p.empty for p in positional) - 1)


def _summary_table(model: Module, x) -> str:
    """The text of ``Module.summary``: run ``model`` on ``x`` (if given) with each submodule's
    ``forward`` wrapped to record its output, then restore the forwards and training flags."""
    named = list(model.named_modules())
    seen = {}       # id(module) -> [name, calls, shape], in first-call order
    wrapped, training = [], [(m, m.training) for _, m in named]

    def recorder(name, module, forward):
        def run(*args, **kwargs):
            entry = seen.setdefault(id(module), [name, 0, "-"])
            out = forward(*args, **kwargs)
            entry[1] += 1
            shape = _summary_shape(out)
            entry[2] = shape[1:-1] if isinstance(out, tuple) and shape.startswith("(") else shape
            return out
        return run

    if x is not None:
        for name, m in named:
            # an instance attribute shadows the class's forward, whoever calls it (Sequential calls m.forward)
            m.__dict__["forward"] = recorder(name, m, m.forward)
            wrapped.append(m)
        try:
            model.eval()
            with no_grad():
                model(*x) if isinstance(x, tuple) else model(x if isinstance(x, Tensor) else Tensor(_as_array(x)))
        finally:
            for m in wrapped:
                del m.__dict__["forward"]
            for m, flag in training:
                object.__setattr__(m, "training", flag)
    order = {key: i for i, key in enumerate(seen)}
    rows = sorted(named, key=lambda nm: order.get(id(nm[1]), len(order)))  # called first, then never called
    if len(named) > 1:
        rows = [(n, m) for n, m in rows if m is not model]  # a container's layers; a single layer is its own row
    header = ("Layer (type)", "Output shape", "Param #")
    table = []
    for name, m in rows:
        depth = name.count(".") if name else 0
        label = "  " * depth + f"{name.rsplit('.', 1)[-1] or type(m).__name__} ({type(m).__name__})"
        _, calls, shape = seen.get(id(m), (name, 0, "-" if x is not None else ""))
        if x is not None and calls == 0:
            shape = "(not called)"
        elif calls > 1:
            shape += f" ×{calls} calls"
        count = sum(p.size for p in {id(p): p for p in m.parameters()}.values())
        table.append((label, shape, f"{count:,}"))
    widths = [max(len(r[i]) for r in [header] + table) for i in range(3)]
    line = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}".rstrip()
    params = {id(p): p for p in model.parameters()}.values()
    total = sum(p.size for p in params)
    trainable = sum(p.size for p in params if p.requires_grad)
    rule = "=" * len(line(header))
    out = [f'Model: "{type(model).__name__}"', rule, line(header), rule] + [line(r) for r in table] + [rule]
    out += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}"]
    if x is None:
        out.append("(output shapes: call summary(x) or summary(input_shape=(batch, …)) with an example input)")
    return "\n".join(out)


_module_call = Module.__call__


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``remove()`` takes the hook off (also as a ``with``
    block's exit), as PyTorch's handle."""

    _next_id = 0

    def __init__(self, module, where):
        self.module, self.where = module, where
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        hooks = dict(self.module.__dict__.get(self.where) or {})
        hooks.pop(self.id, None)
        object.__setattr__(self.module, self.where, hooks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


# the containers live in nn.containers; imported here for the existing ``from .module import Sequential``
from .containers import ModuleDict, ModuleList, Sequential  # noqa: E402
