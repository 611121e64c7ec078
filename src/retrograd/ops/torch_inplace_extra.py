"""``torch``'s top-level in-place functions (``torch.abs_(x)``, ``torch.clamp_(x, 0, 1)`` …).

``torch.f_(x, *args)`` is ``x.f_(*args)``: each function here calls the Tensor method (from
``ops.inplace``, ``ops.aliases``, ``ops.tensor_methods_inplace`` …; ``conj_physical_`` is defined
here), so every rule of ``ops.inplace`` holds: off the tape only, the result must keep x's shape
and dtype, x is returned.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from . import aliases as AL
from . import inplace as IP


# ---------------------------------------------------------------- the one method no other module defines
def conj_physical_(self):
    """``x.conj_physical_()``: ``x.conj_physical()`` (x itself for a real tensor) written into ``x`` in
    place, off the tape only."""
    return IP._in_place(self, "conj_physical_", "x = x.conj_physical()", lambda: AL.conj_physical(self))


METHODS = {"conj_physical_": conj_physical_}
"""The Tensor methods of this module (installed by ``ops.methods``)."""


# ---------------------------------------------------------------- torch.f_(x, ...) = x.f_(...)
def _top_level(name):
    def function(input, *args, **kwargs):  # noqa: A002 - torch's name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``torch.{name}(x, …)``: ``x.{name}(…)``, written into ``x`` in place (off the tape only, "
                        f"see ``rg.ops.inplace``); returns ``x``.")
    return function


NAMES = ("abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_",
         "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_",
         "conj_physical_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_",
         "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_", "ldexp_", "log10_", "log1p_",
         "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_",
         "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_",
         "xlogy_", "zero_")
"""The top-level in-place functions this module defines (one per name, each ``x.<name>(…)``)."""

globals().update({name: _top_level(name) for name in NAMES})
__all__ = list(NAMES)
