"""Lazy modules: layers whose input size is read from their first input (PyTorch's ``nn.LazyLinear``,
``nn.LazyConv1d/2d/3d``, ``nn.LazyConvTranspose1d/2d/3d``, ``nn.LazyBatchNorm1d/2d/3d``,
``nn.LazyInstanceNorm1d/2d/3d``), the tensors they hold until then (``nn.UninitializedParameter``,
``nn.UninitializedBuffer``), and ``nn.Buffer``.

How it works, as in PyTorch:

- until the first forward, the size-dependent parameters and buffers are *uninitialized*: they know
  their dtype (``module.double()`` changes it) but not their shape; reading the shape, or using one in
  an op, raises. ``state_dict()`` shows them as themselves;
- the module carries a forward pre-hook. On the first call it infers the size from the input
  (``initialize_parameters``), *materializes* each tensor in place (the same object, now a plain
  ``Parameter``, so an optimizer built before the first forward keeps working), initialises them as the
  eager layer does (its own ``reset_parameters``: with the same seed a ``LazyLinear(3)`` fed 4 features
  draws exactly ``Linear(4, 3)``'s weights), removes the hook and becomes that eager class
  (``cls_to_become``: a ``LazyLinear`` is then a ``Linear``);
- ``load_state_dict`` of initialized values materializes them with the checkpoint's shapes (the module
  stays lazy until its first forward, which then only reads the size); an uninitialized value loads into
  an uninitialized entry (it stays so) but not into an initialized one (RuntimeError: "Can't access the
  shape of an uninitialized parameter or buffer").
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor, _as_array, get_default_dtype
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .layers import Linear
from .module import Parameter, check_device
from .normalization import BatchNorm1d, BatchNorm2d
from .normalization_extra import BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
          "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
          "`forward` to initialize the parameters before accessing their attributes.")


class UninitializedError(RuntimeError, ValueError):
    """An uninitialized parameter or buffer was used: its shape read (PyTorch raises ``RuntimeError``) or
    its values (PyTorch: ``ValueError``), hence both. Run a forward pass with a dummy batch first."""


class _UninitializedData:
    """The ``data`` of an uninitialized tensor: a dtype and no values. ``astype`` (``Module.to``) gives
    another dtype; reading the shape or the values raises ``UninitializedError`` — so an op, ``rg.save``
    or an optimizer's state that meets one fails loudly instead of computing with an empty array."""

    __slots__ = ("dtype", "kind")
    _uninitialized = True

    def __init__(self, dtype, kind: str):
        self.dtype, self.kind = xp.dtype(dtype), kind

    def astype(self, dtype, copy: bool = True):
        return _UninitializedData(dtype, self.kind)

    def copy(self):
        return _UninitializedData(self.dtype, self.kind)

    @property
    def shape(self):
        raise UninitializedError(_SHAPE)

    ndim = size = shape

    def __array__(self, dtype=None, copy=None):
        raise UninitializedError(
            f"Attempted to use an uninitialized parameter or buffer ({self!r}). This error happens when you are "
            f"using a `LazyModule` or explicitly manipulating `nn.{self.kind}` objects (in an op, rg.save, an "
            f"optimizer's state …). When using LazyModules call `forward` with a dummy batch to initialize the "
            f"parameters first")

    def __repr__(self):
        return f"<{self.kind}>"


# ---------------------------------------------------------------- Buffer and the uninitialized tensors
class Buffer(Tensor):
    """A tensor that assigning to a module attribute registers as a buffer (PyTorch's ``nn.Buffer``):
    ``self.mask = nn.Buffer(t)`` is ``self.register_buffer("mask", t)``; ``persistent=False`` keeps it out
    of ``state_dict()``. It shares ``data``'s array (and keeps its ``requires_grad``); no data is an
    empty (0,) tensor of the default dtype."""

    __slots__ = ("persistent",)
    _is_buffer = True  # the mark Module.__setattr__ looks for (PyTorch's attribute name)

    def __init__(self, data=None, *, persistent: bool = True):
        if data is None:
            array, requires_grad = xp.zeros(0, dtype=get_default_dtype()), False
        elif isinstance(data, Tensor):
            array, requires_grad = data.data, data.requires_grad
        else:
            array, requires_grad = _as_array(data), False
        super().__init__(array, requires_grad=requires_grad)
        self.persistent = bool(persistent)


class UninitializedTensorMixin:
    """What the uninitialized tensors share: a dtype, no shape (reading it raises), ``materialize``."""

    __slots__ = ()
    _uninitialized = True
    cls_to_become = None  #: :meta private:

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor ``shape`` (an int or a tuple) and become ``cls_to_become``, in place: the same
        object, so whoever holds it (a module, an optimizer) sees the change. The dtype is the tensor's
        own unless given; the values are zeros (PyTorch's are unspecified: an initialiser follows)."""
        check_device(f"{type(self).__name__}.materialize", device)
        dtype = self.data.dtype if dtype is None else xp.dtype(dtype)
        self.data = xp.zeros((shape,) if isinstance(shape, int) else tuple(shape), dtype=dtype)
        self.__class__ = self.cls_to_become

    def __array__(self, dtype=None, copy=None):
        return self.data.__array__(dtype)  # raises UninitializedError: there are no values yet

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def _uninitialized_data(self, requires_grad, device, dtype):
        check_device(type(self).__name__, device)
        dtype = xp.dtype(get_default_dtype() if dtype is None else dtype)
        Tensor.__init__(self, xp.zeros(0, dtype=dtype), requires_grad=requires_grad)
        self.data = _UninitializedData(dtype, type(self).__name__)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (PyTorch's ``nn.UninitializedParameter``): a lazy
    module's weight before its first forward. Only its dtype can change (``module.to``); ``materialize``
    makes it a ``Parameter`` of a given shape."""

    __slots__ = ()
    cls_to_become = Parameter  #: :meta private:

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        self._uninitialized_data(requires_grad, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Buffer):
    """A buffer whose shape is not known yet (PyTorch's ``nn.UninitializedBuffer``): a lazy BatchNorm's
    running statistics before its first forward. Assigned to a module attribute it is registered (with
    its ``persistent``); ``materialize`` makes it a ``Buffer`` (a Tensor) of a given shape."""

    __slots__ = ()
    cls_to_become = Buffer  #: :meta private:

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        self._uninitialized_data(requires_grad, device, dtype)
        self.persistent = bool(persistent)


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer`` (PyTorch's
    ``nn.parameter.is_lazy``)."""
    return isinstance(param, UninitializedTensorMixin)


# ---------------------------------------------------------------- the mixin
class LazyModuleMixin:
    """Makes a module lazy (PyTorch's ``nn.modules.lazy.LazyModuleMixin``): put it first among the bases
    and define ``initialize_parameters(*args, **kwargs)``, which reads the first forward's arguments and
    materializes the ``UninitializedParameter`` / ``UninitializedBuffer`` entries. After it ran (and every
    entry is initialized: RuntimeError otherwise) the module becomes ``cls_to_become``, when set."""

    # the class it becomes after the first forward (None: it stays). The ``#: :meta private:`` marks keep the
    # API pages from listing each such attribute as an "alias of" the eager class
    cls_to_become = None  #: :meta private:

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def initialize_parameters(self, *args, **kwargs):
        """Infer the sizes from the first forward's arguments and materialize the entries."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer of this module (not its children) is still uninitialized."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        """The forward pre-hook: initialize, then stop being lazy."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook
        if module.cls_to_become is not None:  # past Module.__setattr__, which would only set an attribute
            object.__setattr__(module, "__class__", module.cls_to_become)

    def _materialize(self, shapes: dict) -> None:
        """Materialize the named entries with these shapes, then initialise them (``reset_parameters``).
        Refuses a half-loaded module (some entries loaded by ``load_state_dict``, some not), whose
        initialiser would overwrite the loaded ones: PyTorch fails there too (AttributeError)."""
        lazy = [name for name in shapes if is_lazy(getattr(self, name))]
        if len(lazy) < len(shapes):
            loaded = sorted(set(shapes) - set(lazy))
            raise AttributeError(f"{type(self).__name__}: load_state_dict initialized {loaded} but not {lazy}; "
                                 f"load all of them (or none) before the first forward")
        with no_grad():
            for name in lazy:
                getattr(self, name).materialize(shapes[name])
            self.reset_parameters()


# ---------------------------------------------------------------- Linear
class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is the last size of its first input (PyTorch's
    ``nn.LazyLinear``); then it is a ``Linear``, initialised as one (U(±1/√in_features))."""

    cls_to_become = Linear  #: :meta private:

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, out_features, False, device, dtype)
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        """``Linear``'s initialisation, once the size is known."""
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):  # noqa: A002 - PyTorch's name
        """``in_features`` from ``input.shape[-1]``; materialize and initialise weight and bias."""
        shape = tuple(input.shape)
        if not shape:
            raise IndexError(f"LazyLinear({self.out_features}): cannot infer in_features from a 0-d input; give "
                             f"it at least one dimension (features last)")
        if self.has_uninitialized_params():
            self.in_features = shape[-1]
            shapes = {"weight": (self.out_features, shape[-1])}
            if self.bias is not None:
                shapes["bias"] = (self.out_features,)
            self._materialize(shapes)
        if self.in_features == 0:  # loaded by load_state_dict: the input must fit the loaded weight
            if shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {shape[-1]} is not equal to "
                                     f"in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = shape[-1]


# ---------------------------------------------------------------- convolutions
class _LazyConvMixin(LazyModuleMixin):
    """``in_channels`` from the first input: axis 1 of a batched input, axis 0 of an unbatched one."""

    def _lazy_init(self, out_channels, bias, dtype):
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        """The convolution's initialisation, once the size is known."""
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input) -> int:  # noqa: A002
        shape, n = tuple(input.shape), self.spatial + 1
        if len(shape) not in (n, n + 1):
            raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to {type(self).__name__}, "
                               f"but got input of size: {shape}")
        return shape[1] if len(shape) == n + 1 else shape[0]

    def initialize_parameters(self, input, *args, **kwargs):  # noqa: A002
        """``in_channels`` from the input; materialize and initialise weight and bias."""
        if self.has_uninitialized_params():
            in_channels = self._get_in_channels(input)
            if in_channels % self.groups != 0:
                raise ValueError(f"{type(self).__name__}: in_channels must be divisible by groups (the input has "
                                 f"{in_channels} channels, groups={self.groups})")
            self.in_channels, g = in_channels, self.groups
            lead = (in_channels, self.out_channels // g) if self.transposed else (self.out_channels, in_channels // g)
            shapes = {"weight": lead + self.kernel_size}
            if self.bias is not None:
                shapes["bias"] = (self.out_channels,)
            self._materialize(shapes)
        elif self.in_channels == 0:  # loaded by load_state_dict: the size is the loaded weight's
            w = self.weight.shape
            self.in_channels = w[0] if self.transposed else w[1] * self.groups


class _LazyConvNd(_LazyConvMixin):
    """The convolutions' arguments less ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                         device, dtype)
        self._lazy_init(out_channels, bias, dtype)


class _LazyConvTransposeNd(_LazyConvMixin):
    """The transposed convolutions' arguments (their order) less ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1,
                 bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups, False, dilation,
                         padding_mode, device, dtype)
        self._lazy_init(out_channels, bias, dtype)


class LazyConv1d(_LazyConvNd, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is read from its first input (PyTorch's ``nn.LazyConv1d``)."""
    cls_to_become = Conv1d  #: :meta private:


class LazyConv2d(_LazyConvNd, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is read from its first input (PyTorch's ``nn.LazyConv2d``)."""
    cls_to_become = Conv2d  #: :meta private:


class LazyConv3d(_LazyConvNd, Conv3d):
    """A ``Conv3d`` whose ``in_channels`` is read from its first input (PyTorch's ``nn.LazyConv3d``)."""
    cls_to_become = Conv3d  #: :meta private:


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """A ``ConvTranspose1d`` whose ``in_channels`` is read from its first input (``nn.LazyConvTranspose1d``)."""
    cls_to_become = ConvTranspose1d  #: :meta private:


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` is read from its first input (``nn.LazyConvTranspose2d``)."""
    cls_to_become = ConvTranspose2d  #: :meta private:


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """A ``ConvTranspose3d`` whose ``in_channels`` is read from its first input (``nn.LazyConvTranspose3d``)."""
    cls_to_become = ConvTranspose3d  #: :meta private:


# ---------------------------------------------------------------- normalisation
class _LazyNormBase(LazyModuleMixin):
    """The normalisations' arguments less ``num_features`` — PyTorch's lazy defaults, affine and running
    statistics on (for InstanceNorm too) — and ``num_features`` from axis 1 of the first input (PyTorch's
    rule, also for an unbatched InstanceNorm input, which then fails the eager layer's check as there)."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(dtype=dtype)
            else:
                self.register_parameter("bias", None)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)

    def reset_parameters(self):
        """The eager layer's initial state: running mean 0, variance 1, count 0, weight 1, bias 0."""
        if self.has_uninitialized_params() or self.num_features == 0:
            return
        with no_grad():
            for name, value in (("running_mean", 0), ("running_var", 1), ("num_batches_tracked", 0),
                                ("weight", 1), ("bias", 0)):
                t = getattr(self, name, None)
                if t is not None:
                    t.data[...] = value

    def initialize_parameters(self, input):  # noqa: A002
        """``num_features`` from ``input.shape[1]``; materialize and initialise the entries."""
        if self.has_uninitialized_params():
            shape = tuple(input.shape)
            if len(shape) < 2:
                raise IndexError(f"{type(self).__name__}: cannot infer num_features from an input of shape {shape}; "
                                 f"the features are axis 1 of an (N, C, …) input")
            self.num_features = shape[1]
            self._materialize({n: (shape[1],) for n in ("weight", "bias", "running_mean", "running_var")
                               if getattr(self, n, None) is not None})
        elif self.num_features == 0:  # loaded by load_state_dict: the size is the loaded entries'
            loaded = [t for t in (getattr(self, "weight", None), getattr(self, "running_mean", None)) if t is not None]
            if loaded:
                self.num_features = loaded[0].shape[0]


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """A ``BatchNorm1d`` whose ``num_features`` is read from its first input (PyTorch's ``nn.LazyBatchNorm1d``)."""
    cls_to_become = BatchNorm1d  #: :meta private:


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """A ``BatchNorm2d`` whose ``num_features`` is read from its first input (PyTorch's ``nn.LazyBatchNorm2d``)."""
    cls_to_become = BatchNorm2d  #: :meta private:


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """A ``BatchNorm3d`` whose ``num_features`` is read from its first input (PyTorch's ``nn.LazyBatchNorm3d``)."""
    cls_to_become = BatchNorm3d  #: :meta private:


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """An ``InstanceNorm1d`` whose ``num_features`` is axis 1 of its first input (``nn.LazyInstanceNorm1d``)."""
    cls_to_become = InstanceNorm1d  #: :meta private:


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """An ``InstanceNorm2d`` whose ``num_features`` is axis 1 of its first input (``nn.LazyInstanceNorm2d``)."""
    cls_to_become = InstanceNorm2d  #: :meta private:


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """An ``InstanceNorm3d`` whose ``num_features`` is axis 1 of its first input (``nn.LazyInstanceNorm3d``)."""
    cls_to_become = InstanceNorm3d  #: :meta private:
