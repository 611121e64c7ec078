"""Weight initialisers (in place, from ``rg.random``'s generator), with
PyTorch's names and formulas."""

from __future__ import annotations

import math
import warnings

from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.mode import no_grad


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, (int, float))):
            raise ValueError(f"negative_slope {param} not a valid number")
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight in PyTorch's layout ``[out, in, *kernel]``."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor, values):
    if not isinstance(values, (int, float)):
        # draws come from the host RNG: they cross to the backend explicitly (CuPy refuses a
        # NumPy array assigned into a device array), cast there to the tensor's dtype
        values = xp.asarray(values, dtype=tensor.data.dtype)
    with no_grad():
        tensor.data[...] = values
    tensor.mark_modified_()
    return tensor


def _draws(generator):
    """``generator`` (a NumPy Generator, PyTorch's ``generator=``) or ``rg.random``'s."""
    return rg_random.generator() if generator is None else generator


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b) draws (in place)."""
    return _fill(tensor, _draws(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std²) draws (in place)."""
    return _fill(tensor, _draws(generator).normal(mean, std, size=tensor.shape))


def constant_(tensor, val: float):
    """Fill with ``val`` (in place)."""
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill with zeros (in place)."""
    return _fill(tensor, 0.0)


def ones_(tensor):
    """Fill with ones (in place)."""
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """U(−a, a) with a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """A (semi-)orthogonal matrix (Saxe et al. 2014), PyTorch's ``orthogonal_``:
    the tensor seen as (rows, rest), Q of the QR decomposition of a standard
    normal draw, its columns' signs fixed by R's diagonal (so Q is uniformly
    distributed), times ``gain``. Keras' default for recurrent kernels."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = xp.asarray(_draws(generator).standard_normal((rows, cols)))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def _correct_fan(tensor, mode: str) -> int:
    """fan_in or fan_out, as ``mode`` says (ValueError for another mode, as PyTorch)."""
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    return fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]


def _empty_warning(tensor) -> bool:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None):
    """U(−b, b) with b = gain·√(3 / fan) (He et al. 2015)."""
    if _empty_warning(tensor):
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _correct_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None):
    """N(0, σ²) with σ = gain/√fan (He et al. 2015)."""
    if _empty_warning(tensor):
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_correct_fan(tensor, mode)), generator)


def pytorch_default_(weight, bias=None):
    """PyTorch's default for Linear and Conv: kaiming_uniform_(a=√5) on the
    weight, i.e. U(±1/√fan_in), and U(±1/√fan_in) on the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = fan_in_and_fan_out(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)


# ---------------------------------------------------------------- more of PyTorch's initialisers
_calculate_fan_in_and_fan_out = fan_in_and_fan_out  # PyTorch's (private, widely used) name
_calculate_correct_fan = _correct_fan


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None):
    """Fill with draws of N(mean, std²) truncated to [a, b] (in place): rejection sampling as PyTorch's,
    normal draws redrawn until inside when [a, b] holds more than 30 % of the mass, else uniform
    proposals on [a, b] accepted with probability exp(−((x − mean)/std)²/2) over its peak. A warning
    when ``mean`` lies more than 2 std outside [a, b]."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values may "
                      "be incorrect.", stacklevel=2)
    if not a <= b:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a <= b, got a={a}, b={b}")
    draw, shape = _draws(generator), tuple(tensor.shape)

    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    def normal(n):
        return xp.asarray(draw.normal(mean, std, size=n))

    def uniform(n):
        return xp.asarray(draw.uniform(a, b, size=n))

    def log_u(n):
        return xp.log(xp.asarray(draw.random(n)))

    if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
        out = normal(shape)
        bad = (out < a) | (out > b)
        while bool(bad.any()):
            out[bad] = normal(int(bad.sum()))
            bad = (out < a) | (out > b)
    else:
        peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
        out = uniform(shape)
        pending = log_u(shape) > -0.5 * ((out - mean) / std) ** 2 - peak
        while bool(pending.any()):
            n = int(pending.sum())
            out[pending] = uniform(n)
            pending[pending] = log_u(n) > -0.5 * ((out[pending] - mean) / std) ** 2 - peak
    return _fill(tensor, out)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal, in place): the layer starts as the
    identity map."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, xp.eye(*tensor.shape, dtype=tensor.data.dtype))


def dirac_(tensor, groups: int = 1):
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta (in place): output channel i of
    each group copies input channel i at the kernel's centre, so the convolution starts as the
    identity on as many channels as both sides have."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    values = xp.zeros(sizes, dtype=tensor.data.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min(per_group, sizes[1])):
            values[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """Fill a 2-D tensor with N(0, std²) draws, then zero ⌈sparsity·rows⌉ random rows of each column
    (in place; Martens 2010)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    draw = _draws(generator)
    values = draw.normal(0.0, std, size=(rows, cols))
    zeros = math.ceil(sparsity * rows)
    for c in range(cols):
        values[draw.permutation(rows)[:zeros], c] = 0.0
    return _fill(tensor, values)


def _deprecated(new):
    """PyTorch's old name of ``new`` (without the trailing underscore): warns, then calls it."""
    old = new.__name__[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.", FutureWarning,
                      stacklevel=2)
        return new(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old
    deprecated_init.__doc__ = f"Deprecated: calls ``{new.__name__}`` after a FutureWarning (PyTorch's old name)."
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
