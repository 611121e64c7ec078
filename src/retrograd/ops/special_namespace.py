"""``rg.special``: PyTorch's ``torch.special`` namespace, name for name.

The differentiable functions live with their derivatives in ``ops.special`` (and ``ops.elementwise``,
``ops.softmaxes``); this module only gives them PyTorch's names and signatures (``psi`` is
``digamma``, ``gammaln`` is ``lgamma``, ``expit`` is ``sigmoid``, ``softmax(input, dim)`` takes its
``dim`` as PyTorch's does). The Bessel and Airy functions PyTorch defines without a derivative
(``bessel_j0`` …, ``airy_ai``) are here too: their results do not require grad, as in PyTorch::

    import retrograd as rg
    x = rg.tensor([0.5, 1.5], requires_grad=True)
    rg.special.gammaln(x).sum().backward()      # x.grad == rg.special.digamma(x)
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.op import off_tape
from ..autograd.tensor import Tensor, _wrap
from . import elementwise as _E
from . import rounding_and_math as _M
from . import softmaxes as _SM
from .elementwise import _same_float
from .elementwise_extra import DtypeNotSupported, describe
from .special import (digamma, entr, erfc, erfcx, erfinv, float_input, gammainc, gammaincc, i0, i0e, i1, i1e, lgamma,
                      log_ndtr, logit, mvlgamma, ndtr, ndtri, polygamma, sinc, special_call, xlog1py, xlogy, zeta)

erf, log1p, expm1, exp2 = _E.erf, _E.log1p, _E.expm1, _E.exp2
gammaln, psi, multigammaln = lgamma, digamma, mvlgamma


def expit(input):  # noqa: A002 - torch's names
    """The logistic sigmoid 1/(1 + e⁻ˣ) (``torch.special.expit``, ``rg.sigmoid``): x̄ = ȳ·y·(1 − y)."""
    return _E.sigmoid(input)


def round(input, *, decimals=0):  # noqa: A001,A002
    """Round half to even, to ``decimals`` places (``torch.special.round``; zero gradient). Unlike
    ``rg.round``, integer and boolean tensors are refused, as PyTorch's special.round refuses them."""
    dtype = getattr(input, "dtype", xp.dtype(float))
    if dtype.kind in "biuc":
        raise DtypeNotSupported(f"special.round: not implemented for {describe(input)} (PyTorch's special.round "
                                f"refuses integers, booleans and complex numbers); rg.round returns integers "
                                f"unchanged")
    return _M.round(input, decimals)


def softmax(input, dim, *, dtype=None):  # noqa: A002
    """eˣ/Σ eˣ along ``dim`` (required, as in ``torch.special.softmax``); ``dtype`` casts first."""
    return _SM.softmax(input, dim=dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    """x − logsumexp(x) along ``dim`` (required, as in ``torch.special.log_softmax``)."""
    return _SM.log_softmax(input, dim=dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """log Σ eˣ over ``dim`` (required: an int or a tuple), as ``torch.special.logsumexp``."""
    return _SM.logsumexp(input, dim=dim, keepdim=keepdim)


# ------------------------------------------------------------ defined without a derivative, as PyTorch's
def _no_grad(name, scipy_name, about, *before):
    """A function of torch.special that PyTorch defines with no derivative: its value, off the tape
    (the result does not require grad). Integers give the default float dtype; float16 and complex
    tensors are refused, as PyTorch refuses them."""
    @off_tape
    def fn(input):  # noqa: A002
        x = float_input(f"special.{name}", input.data if isinstance(input, Tensor) else input, half=False)
        return _wrap(_same_float(xp.asarray(special_call(f"special.{name}", scipy_name, *before, x)), x))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{about} (``torch.special.{name}``; SciPy's ``{scipy_name}``). Not differentiable, as in "
                  f"PyTorch: the result does not require grad.")
    return fn


bessel_j0 = _no_grad("bessel_j0", "j0", "The Bessel function of the first kind of order 0, J₀(x)")
bessel_j1 = _no_grad("bessel_j1", "j1", "The Bessel function of the first kind of order 1, J₁(x)")
bessel_y0 = _no_grad("bessel_y0", "y0", "The Bessel function of the second kind of order 0, Y₀(x)")
bessel_y1 = _no_grad("bessel_y1", "y1", "The Bessel function of the second kind of order 1, Y₁(x)")
modified_bessel_i0 = _no_grad("modified_bessel_i0", "i0", "The modified Bessel function I₀(x) (rg.special.i0 is "
                              "the differentiable one)")
modified_bessel_i1 = _no_grad("modified_bessel_i1", "i1", "The modified Bessel function I₁(x) (rg.special.i1 is "
                              "the differentiable one)")
modified_bessel_k0 = _no_grad("modified_bessel_k0", "k0", "The modified Bessel function of the second kind K₀(x)")
modified_bessel_k1 = _no_grad("modified_bessel_k1", "k1", "The modified Bessel function of the second kind K₁(x)")
scaled_modified_bessel_k0 = _no_grad("scaled_modified_bessel_k0", "k0e", "The scaled eˣ·K₀(x)")
scaled_modified_bessel_k1 = _no_grad("scaled_modified_bessel_k1", "k1e", "The scaled eˣ·K₁(x)")
spherical_bessel_j0 = _no_grad("spherical_bessel_j0", "spherical_jn", "The spherical Bessel function j₀(x) = "
                               "sin(x)/x", 0)


def _airy_ai(x):
    return special_call("special.airy_ai", "airy", x)[0]


@off_tape
def airy_ai(input):  # noqa: A002
    """The Airy function Ai(x) (``torch.special.airy_ai``; SciPy's ``airy``). Not differentiable, as in
    PyTorch: the result does not require grad."""
    x = float_input("special.airy_ai", input.data if isinstance(input, Tensor) else input, half=False)
    return _wrap(_same_float(xp.asarray(_airy_ai(x)), x))


__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "digamma", "entr", "erf", "erfc", "erfcx",
           "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p",
           "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "sinc", "softmax", "spherical_bessel_j0",
           "xlog1py", "xlogy", "zeta"]
