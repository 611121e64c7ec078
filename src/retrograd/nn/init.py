"""Weight initialisers (in place, from ``rg.random``'s generator), with
PyTorch's names and formulas."""

from __future__ import annotations

import math

from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.mode import no_grad


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
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


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with U(a, b) draws (in place)."""
    return _fill(tensor, rg_random.generator().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with N(mean, std²) draws (in place)."""
    return _fill(tensor, rg_random.generator().normal(mean, std, size=tensor.shape))


def constant_(tensor, value: float):
    """Fill with ``value`` (in place)."""
    return _fill(tensor, value)


def zeros_(tensor):
    """Fill with zeros (in place)."""
    return _fill(tensor, 0.0)


def ones_(tensor):
    """Fill with ones (in place)."""
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0):
    """U(−a, a) with a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain: float = 1.0):
    """N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def orthogonal_(tensor, gain: float = 1.0):
    """A (semi-)orthogonal matrix (Saxe et al. 2014), PyTorch's ``orthogonal_``:
    the tensor seen as (rows, rest), Q of the QR decomposition of a standard
    normal draw, its columns' signs fixed by R's diagonal (so Q is uniformly
    distributed), times ``gain``. Keras' default for recurrent kernels."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = xp.asarray(rg_random.generator().standard_normal((rows, cols)))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """U(−b, b) with b = gain·√(3 / fan) (He et al. 2015)."""
    fan = fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """N(0, σ²) with σ = gain/√fan (He et al. 2015)."""
    fan = fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def pytorch_default_(weight, bias=None):
    """PyTorch's default for Linear and Conv: kaiming_uniform_(a=√5) on the
    weight, i.e. U(±1/√fan_in), and U(±1/√fan_in) on the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = fan_in_and_fan_out(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
