"""Channel-wise and self-normalising dropout: Dropout1d/2d/3d, AlphaDropout and FeatureAlphaDropout, with
``F.dropout1d``/``2d``/``3d``, ``F.alpha_dropout`` and ``F.feature_alpha_dropout``.

Each draws a keep mask (probability 1 − p) from ``rg.random``'s generator — per element, or per
channel (one draw for each (n, c), broadcast over the positions) — as a constant of the tape, and
returns x·s (+ b), so the gradient is exactly the scale s used:

- channel dropout: s = keep/(1 − p) (a dropped channel is all zeros);
- alpha dropout (for SELU networks): a dropped entry becomes SELU's negative saturation α′ = −λα, then
  the whole is rescaled to keep zero mean and unit variance: y = a·(x·keep + α′·(1 − keep)) + b with
  a = ((1 − p)(1 + p·α′²))^(−½), b = −a·α′·p (PyTorch's constants), so s = a·keep.

In evaluation (``training=False``), or with p = 0 or an empty input, the input is returned as it is;
with p = 1 in training the output is all zeros (gradient 0), as PyTorch's."""

from __future__ import annotations

import math
import warnings

from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.op import off_tape
from ..autograd.tensor import Tensor
from .activation_extra import LayerInputError
from .functional_losses import _t
from .module import Module

_ALPHA = 1.7580993408473766  # λα of SELU: −α′, the magnitude of its negative saturation (PyTorch's constant)


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


@off_tape
def _keep(x, p, shape):
    """A keep mask (1 with probability 1 − p, else 0) of ``shape`` in x's dtype: a constant of the tape,
    drawn anew by a replay."""
    keep = xp.asarray(rg_random.generator().random(shape) >= p)
    return Tensor(keep.astype(x.dtype))


def _dropped(x, p, training, who, feature: bool, alpha: bool):
    """Dropout of ``x``: per (n, c) channel when ``feature``, with alpha dropout's scale and shift when
    ``alpha``, else inverted dropout's 1/(1 − p)."""
    if not _active(x, p, training):
        return x
    if x.dtype.kind != "f":
        raise LayerInputError(f"{who}: dropout of a {x.dtype} input would give a float result, which does not fit "
                              f"(PyTorch refuses it too); convert it first, e.g. x.float()")
    if feature and x.ndim < 2:
        raise LayerInputError(f"{who}: Feature dropout requires at least 2 dimensions in the input, got shape "
                              f"{tuple(x.shape)}")
    if p == 1:
        return x * 0.0
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2) if feature else tuple(x.shape)
    keep = _keep(x, p, shape)
    if not alpha:
        return x * (keep * (1.0 / (1.0 - p)))
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    return x * (keep * a) + ((keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p)


def _unbatched(x, batched: bool, fn):
    """``fn`` of ``x`` with a batch dim added when ``x`` has none (PyTorch's unbatched channel dropout)."""
    return fn(x) if batched else fn(x[None])[0]


def _active(x, p, training) -> bool:
    """Whether dropout changes anything (not in evaluation, nor with p = 0 or an empty input)."""
    return training and p != 0 and x.size != 0


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.dropout1d``: zero whole channels of a (C, L) or (N, C, L) input, each with probability
    p, and scale the rest by 1/(1 − p). ``inplace`` is accepted and computed out of place."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (2, 3):
        raise LayerInputError(f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input (shape "
                              f"{tuple(x.shape)}). Note that dropout1d exists to provide channel-wise dropout on "
                              f"inputs with 1 spatial dimension, a channel dimension, and an optional batch "
                              f"dimension (i.e. 2D or 3D inputs).")
    if not _active(x, p, training):
        return x
    return _unbatched(x, x.ndim == 3, lambda b: _dropped(b, p, training, "dropout1d", True, False))


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.dropout2d``: zero whole channels (axis 1) of an (N, C, H, W) input. Like PyTorch, a 3-D
    input is read as (N, C, L) — 1-D channel dropout — with its warning, and other ranks are dropped per
    (axis 0, axis 1) pair with a deprecation warning."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result in "
                      f"an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      f"inputs).", UserWarning, stacklevel=2)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", UserWarning, stacklevel=2)
    return _dropped(x, p, training, "dropout2d", True, False)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.dropout3d``: zero whole channels of a (C, D, H, W) or (N, C, D, H, W) input. Other ranks
    get PyTorch's deprecation warning and are read as unbatched (a batch dim of 1 added)."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated and will result in "
                      f"an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
                      f"inputs).", UserWarning, stacklevel=2)
    if not _active(x, p, training):
        return x
    return _unbatched(x, x.ndim == 5, lambda b: _dropped(b, p, training, "dropout3d", True, False))


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.alpha_dropout`` (off unless ``training=True``, PyTorch's default): each entry is set to
    SELU's negative saturation with probability p, then y is rescaled and shifted so that an input of
    zero mean and unit variance keeps them (see the module docstring)."""
    _check_p(p)
    return _dropped(_t(input), p, training, "alpha_dropout", False, True)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):  # noqa: A002
    """PyTorch's ``F.feature_alpha_dropout``: ``alpha_dropout`` of whole channels (one draw per (n, c)) of an
    input of at least 2 dims."""
    _check_p(p)
    return _dropped(_t(input), p, training, "feature_alpha_dropout", True, True)


class _DropoutNd(Module):
    fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace  # inplace: PyTorch's argument, computed out of place here

    def forward(self, x):
        return type(self).fn(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability p in training (``F.dropout1d``)."""
    fn = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs with probability p in training (``F.dropout2d``)."""
    fn = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs in training (``F.dropout3d``)."""
    fn = staticmethod(dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks (``F.alpha_dropout``), in training mode only."""
    fn = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (``F.feature_alpha_dropout``), in training mode only."""
    fn = staticmethod(feature_alpha_dropout)

