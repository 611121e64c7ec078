"""Functions composed from the primitives: no vjp of their own, the tape
records the primitives they call (``gelu`` is ``0.5·x·(1 + erf(x/√2))``,
``nll_loss`` is a gather and a weighted sum).
"""

from __future__ import annotations

import builtins
import math

from ..autograd.backend import xp
from ..autograd.op import DimError, IndexRangeError, OpError
from ..autograd.tensor import get_default_dtype
from . import elementwise as E
from . import reductions as R
from .elementwise import cast, erf, tanh
from .kinks import clamp
from .losses import _legacy_reduction, _short, _string_weight
from . import device_checks
from .shape import concatenate, _data, broadcast_to, getitem, reshape, split_sizes


def gelu(x, approximate: str = "none"):
    """x·Φ(x) with Φ the standard normal CDF (PyTorch's default), or its tanh
    approximation with ``approximate="tanh"``. A composition of primitives.
    Integer and boolean tensors are computed in the default float dtype (README:
    activations on integer tensors); complex ones are refused, as PyTorch does."""
    kind = getattr(x, "dtype", xp.dtype(float)).kind
    if kind != "f":
        if kind == "c":
            raise OpError(f"gelu: complex input is not supported (got {x.dtype}{list(x.shape)}); PyTorch refuses "
                          f"it too: apply gelu to x.real")
        if kind in "biu":
            x = cast(x, get_default_dtype())
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise OpError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 - torch's names
    """NumPy's name for ``clamp``: y = min(max(x, lo), hi);  x̄ = ȳ inside the bounds, 0 outside (at a
    bound: ``rg.conventions``). The bounds by position, by NumPy's ``a_min=``/``a_max=`` or by
    PyTorch's ``min=``/``max=`` (each bound once)."""
    return clamp(x, _bound("clip", "min", min, "a_min", a_min), _bound("clip", "max", max, "a_max", a_max))


def _bound(op, name, value, numpy_name, numpy_value):
    """One bound given by either name (PyTorch's or NumPy's), refused when given by both."""
    if value is not None and numpy_value is not None:
        raise OpError(f"{op}: the {name} bound is given twice ({numpy_name}={numpy_value!r} and {name}={value!r})")
    return value if value is not None else numpy_value


def expand(x, *shape):
    """PyTorch's ``expand``: broadcast to ``shape``; -1 keeps a dimension."""
    shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
    lead = len(shape) - len(x.shape)
    if lead < 0:
        raise OpError(f"expand: the number of sizes given ({len(shape)}) must be at least the tensor's number of "
                      f"dimensions ({len(x.shape)}); tensor shape {tuple(x.shape)}")
    if any(s == -1 for s in shape[:lead]):
        raise OpError(f"expand: -1 is not allowed in a new leading dimension (sizes {tuple(shape)} for a tensor of "
                      f"shape {tuple(x.shape)}; PyTorch refuses it too): give the new dimensions' sizes")
    full = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return broadcast_to(x, full)


def expand_dims(x, axis):
    """x with a new axis of size 1 at ``axis`` (``unsqueeze``); ``axis`` in
    [−ndim − 1, ndim], as NumPy and PyTorch both require."""
    shape = list(x.shape)
    n = len(shape) + 1
    if not isinstance(axis, int) or isinstance(axis, bool) or not -n <= axis < n:
        raise DimError(f"unsqueeze: dim {axis!r} is out of range for a tensor of shape {tuple(x.shape)} "
                      f"(expected {-n} … {n - 1})")
    shape.insert(axis % n, 1)
    return reshape(x, shape)


def unsqueeze(x, dim):
    """PyTorch's name for ``expand_dims``: a new dim of size 1 at ``dim``."""
    return expand_dims(x, dim)


def squeeze(x, dim=None, *, axis=None):
    """x without the size-1 axes, or only those among ``dim``.

    PyTorch's ``dim`` (positional or keyword; an int or a tuple) leaves an axis
    whose size is not 1 as it is, as ``torch.squeeze`` does; NumPy's ``axis=``
    must name size-1 axes (anything else is an error)."""
    shape = x.shape
    if dim is not None:
        if axis is not None:
            raise OpError(f"squeeze: got both axis={axis!r} (NumPy) and dim={dim!r} (PyTorch); pass one of them")
        if not isinstance(dim, int) and len(R._norm_axis(dim, len(shape), "squeeze")) != len(tuple(dim)):
            raise OpError(f"squeeze: dim {dim!r} names a dimension more than once (PyTorch refuses it too)")
        axes = tuple(a for a in R._norm_axis(dim, len(shape), "squeeze") if shape[a] == 1)
    elif axis is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        axes = R._norm_axis(axis, len(shape), "squeeze")
        for a in axes:
            if shape[a] != 1:
                raise OpError(f"squeeze: cannot squeeze axis {a} of size {shape[a]} (shape {shape}); "
                              f"dim= (PyTorch) leaves such an axis as it is")
    return reshape(x, tuple(s for i, s in enumerate(shape) if i not in axes))


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """x with the axes ``start_dim … end_dim`` merged into one (PyTorch's
    ``flatten``; a 0-d tensor becomes shape (1,))."""
    shape = x.shape
    nd = builtins.max(len(shape), 1)
    for d in (start_dim, end_dim):
        if not isinstance(d, int) or isinstance(d, bool) or not -nd <= d < nd:
            raise DimError(f"flatten: dim {d!r} is out of range for a tensor of shape {tuple(shape)} "
                          f"(expected {-nd} … {nd - 1})")
    if not shape:
        return reshape(x, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    if s > e:
        raise OpError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(x, dim: int, sizes):
    """x with axis ``dim`` split into ``sizes`` (PyTorch's ``unflatten``; one entry may be −1,
    inferred): the inverse of ``flatten`` over those axes."""
    shape = tuple(x.shape)
    nd = builtins.max(len(shape), 1)
    if not isinstance(dim, int) or isinstance(dim, bool) or not -nd <= dim < nd:
        raise DimError(f"unflatten: dim {dim!r} is out of range for a tensor of shape {shape} "
                       f"(expected {-nd} … {nd - 1})")
    sizes = tuple(sizes)
    if not sizes:
        raise OpError("unflatten: sizes must be non-empty")
    if not shape:
        raise OpError("unflatten: cannot unflatten a 0-d tensor")
    d, n = dim % len(shape), shape[dim % len(shape)]
    if sum(1 for k in sizes if k == -1) > 1:
        raise OpError(f"unflatten: only one dimension can be inferred (-1), got sizes {sizes}")
    known = math.prod(k for k in sizes if k != -1)
    if -1 in sizes:
        if known == 0 or n % known:
            raise OpError(f"unflatten: sizes {sizes} do not fit dim {dim} of size {n} (shape {shape})")
        sizes = tuple(n // known if k == -1 else k for k in sizes)
    elif known != n:
        raise OpError(f"unflatten: provided sizes {sizes} don't multiply up to the size of dim {dim} ({n}) in "
                      f"the input tensor of shape {shape}")
    return reshape(x, shape[:d] + sizes + shape[d + 1:])


def split(x, split_size_or_sections, dim=None, *, axis=None):
    """Two dialects, told apart by the keyword.

    PyTorch's (positional, or ``dim=``; the default): an int is the size of
    each chunk (the last may be smaller), a list gives each chunk's size; a
    tuple comes back. NumPy's (``axis=``): an int gives that many equal parts, a
    list gives the split points; a list of parts comes back. Each part is a
    slice of x (its own getitem on the tape)."""
    indices_or_sections = split_size_or_sections
    if axis is None:
        return split_sizes(x, indices_or_sections, 0 if dim is None else dim)
    if dim is not None:
        raise OpError(f"split: got both axis={axis!r} (NumPy) and dim={dim!r} (PyTorch); pass one of them")
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise OpError(f"split: axis {axis} of size {n} cannot be split into {k} equal parts")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * (axis % len(x.shape))
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def take(x, indices, axis=None):
    """NumPy's ``take``: ``x[..., indices, ...]`` along ``axis`` (flattened if None)."""
    idx = _data(indices)
    if axis is None:
        return getitem(reshape(x, (-1,)), idx)
    return getitem(x, (slice(None),) * (axis % len(x.shape)) + (idx,))


def gather(x, axis, index):
    """PyTorch's ``gather`` (NumPy's ``take_along_axis``):
    out[i][j] = x[i][index[i][j]] for ``axis=1``.

    Like PyTorch, ``index`` holds integers in [0, size of ``axis``) (a negative
    index is refused, not counted from the end), has as many dimensions as ``x``
    (0-d counts as 1-d) and is no larger than ``x`` along the other axes."""
    idx = _data(index)
    shape = tuple(x.shape)
    if idx.dtype not in (xp.int64, xp.int32):
        raise OpError(f"gather: index must be int64 or int32 (as in PyTorch), got {idx.dtype}{list(idx.shape)}")
    nd = builtins.max(len(shape), 1)
    if builtins.max(idx.ndim, 1) != nd:
        raise OpError(f"gather: index must have {len(shape)} dimensions like the input of shape {shape}, "
                      f"got shape {idx.shape}")
    if not -nd <= axis < nd:
        raise DimError(f"gather: axis {axis} is out of range for an input of shape {shape} (expected "
                      f"{-nd} … {nd - 1})")
    axis %= nd
    x_shape, idx_shape = shape or (1,), idx.shape or (1,)
    for d in range(nd):
        if d != axis and idx_shape[d] > x_shape[d]:
            raise OpError(f"gather: index of shape {idx.shape} is larger than the input of shape {shape} along "
                          f"axis {d} (only axis {axis}, the gathered one, may be larger)")
    device_checks.refuse_out_of_range(idx, x_shape[axis], OpError, f"gather: index {{bad}} is out of range "
                                      f"[0, {x_shape[axis]}) for axis {axis} of the input of shape {shape} "
                                      f"(negative indices are refused, as in PyTorch)")
    source = x if shape else reshape(x, (1,))
    grids = xp.ogrid[tuple(slice(0, s) for s in idx_shape)]
    full = tuple(idx.reshape(idx_shape) if i == axis else grids[i] for i in range(nd))
    out = getitem(source, full)
    return out if idx.ndim else reshape(out, ())


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,  # noqa: A002
             reduce=None, reduction: str = "mean"):  # noqa: A002 - PyTorch's signature, in its order
    """Negative log-likelihood of log-probabilities, PyTorch's ``F.nll_loss``:
    ℓᵢ = −w_{yᵢ}·input[i, yᵢ], composed of a gather and a sum.

    ``input``: log-probabilities (N, C, d1, ...) or unbatched (C,); ``target``:
    integer class indices (N, d1, ...) or () in [0, C) — entries equal to
    ``ignore_index`` add nothing and are not counted. ``weight`` (C,): a
    rescaling per class (a constant); "mean" divides by the summed weights of
    the counted targets (their number without weights), NaN when none counts.
    The arguments are PyTorch's, in its order (``weight`` third);
    ``size_average``/``reduce`` are its deprecated form of ``reduction``
    (mapped as PyTorch maps them, with its warning).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if isinstance(weight, str):
        raise OpError(_string_weight("nll_loss", "weight", weight))
    if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
        raise OpError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {_short(reduction)}")
    x = _data(input)
    y = _data(target)
    if x.dtype.kind != "f":
        raise OpError(f"nll_loss: input must be floating-point log-probabilities, got {x.dtype}{list(x.shape)}")
    if x.ndim == 0 or x.shape[0 if x.ndim == 1 else 1] == 0:
        raise OpError(f"nll_loss: input must be (N, C, d1, ...) or unbatched (C,) with C ≥ 1, got shape {x.shape}")
    class_axis = 0 if x.ndim == 1 else 1
    classes = x.shape[class_axis]
    expected = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
    if x.ndim == 1 and y.shape == (1,):  # PyTorch takes a (1,) target for an unbatched input too
        y = y.reshape(())
    if y.dtype not in (xp.int64, xp.uint8) or y.shape != expected:
        raise OpError(f"nll_loss: input of shape {x.shape} needs integer class indices of shape {expected}, got "
                      f"{y.dtype}{list(y.shape)} (int64 or uint8, as in PyTorch)")
    w = _class_weight(weight, classes, x.dtype)
    keep = y != ignore_index
    safe = xp.where(keep, y, 0).astype(xp.int64, copy=False)  # uint8 targets index as int64 (gather takes int64)
    device_checks.refuse_out_of_range(safe, classes, IndexRangeError, f"nll_loss: class index out of range: the target "
                                      f"holds {{bad}}, valid classes are [0, {classes}) (entries equal to "
                                      f"ignore_index={ignore_index} are skipped; negative indices are refused, "
                                      f"as in PyTorch)")
    if not device_checks.on_host():  # on a device, an entry with a bad index counts for nothing until it is raised
        keep = keep & (safe >= 0) & (safe < classes)
        safe = xp.where(keep, y, 0).astype(xp.int64, copy=False)
    picked = reshape(gather(input, class_axis, xp.expand_dims(safe, class_axis)), y.shape)
    counted = keep.astype(x.dtype) if w is None else w[safe] * keep
    # where, not a product: a NaN log-probability in an ignored entry must not leak (−NaN·0 is NaN)
    losses = E.where(keep, -picked * counted, 0.0) if device_checks.may_hold(~keep) else -picked * counted
    if reduction == "none":
        return losses
    if reduction == "sum":
        return R.sum(losses)
    if not device_checks.on_host():  # the count stays on the device: 1/count, or 0 and a NaN added when it is 0
        counted_sum = counted.sum().astype(xp.float64)
        nothing = counted_sum == 0
        inverse = xp.where(nothing, 0.0, 1.0 / xp.where(nothing, 1.0, counted_sum)).astype(x.dtype)
        return R.sum(losses) * inverse + xp.where(nothing, xp.nan, 0.0).astype(x.dtype)
    denominator = float(counted.sum())
    if denominator == 0:  # nothing counted: NaN like PyTorch, with a zero gradient (no entry moves it)
        return R.sum(losses) * 0.0 + xp.asarray(xp.nan, dtype=x.dtype)
    return R.sum(losses) * (1.0 / denominator)


def _class_weight(weight, classes, dtype):
    """nll_loss's ``weight`` as a (C,) array of the input's dtype, refused otherwise (as PyTorch does)."""
    if weight is None:
        return None
    if getattr(weight, "requires_grad", False):
        raise OpError("nll_loss: weight requires a gradient, but the loss is not differentiable with respect to "
                      "weight (PyTorch refuses it too); pass weight.detach()")
    w = _data(weight) if hasattr(weight, "dtype") else xp.asarray(weight, dtype=dtype)
    if w.dtype.kind != "f" or w.shape != (classes,):
        raise OpError(f"nll_loss: weight must be floating-point with one value per class, shape ({classes},), got "
                      f"{w.dtype}{list(w.shape)}")
    if w.dtype != dtype:
        raise OpError(f"nll_loss: weight dtype {w.dtype} differs from the input's {dtype} (PyTorch refuses it "
                      f"too); cast the weight to {dtype}")
    return w


def hstack(tensors):
    """Tensors joined along the columns: dim 1, or dim 0 for 1-D ones (PyTorch's ``hstack``)."""
    tensors = list(tensors)
    if not tensors:
        raise OpError("hstack: expects a non-empty sequence of tensors")
    return concatenate(tensors, dim=0 if len(tensors[0].shape) == 1 else 1)


def vstack(tensors):
    """Tensors joined along the rows: dim 0, 1-D ones first made rows (PyTorch's ``vstack``)."""
    tensors = list(tensors)
    if not tensors:
        raise OpError("vstack: expects a non-empty sequence of tensors")
    return concatenate([reshape(t, (1, -1)) if len(t.shape) == 1 else t for t in tensors], dim=0)

