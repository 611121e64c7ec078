"""The differentiable functions of retrograd: a face, re-exports only.

One family per file, each public function right under its ``Op`` (forward and
vjp side by side, so a family reads like a table of derivatives):

- ``elementwise``  arithmetic, exp/log/expm1/exp2, reciprocal, sigmoid, erf, where, cast
- ``division``  div's rounding modes, floor_divide (//), remainder (%), fmod
- ``kinks``        relu, leaky_relu, elu, abs, clamp, maximum, minimum (ties follow ``rg.conventions``)
- ``reductions``   sum, mean, max/min, amax/amin, prod, logsumexp, softmax (NumPy's and PyTorch's keywords)
- ``linalg``       matmul, linear
- ``linalg_decompositions``  ``rg.linalg``'s primitive ops: det, log|det|, inv, solve, cholesky, qr, eigh, svd,
                   pinv, matrix_exp; ``linalg_norms`` its norms and cond; ``linalg_namespace`` is ``rg.linalg``
- ``shape``        reshape, transpose, broadcast, concatenate/stack, indexing, pad; PyTorch's split,
                   chunk, narrow, index_select, unbind, movedim
- ``losses``       fused losses whose gradient is the textbook delta (softmax cross-entropy in ``softmax_cross_entropy``)
- ``conv``         im2col convolution and pooling
- ``composite``    functions built from the primitives (gelu, var, std, split, gather, nll_loss …)
- ``activations``  silu, logsigmoid; mish, hardtanh, relu6, selu, softsign (compositions)
- ``rounding_and_math``  floor/ceil/round/trunc/frac/sign, rsqrt, log2/log10, tan, inverse trig, sinh/cosh,
                   atan2, logaddexp; isnan/isfinite/isinf, any/all
- ``cumulative``   cumsum, cumprod (exact gradient with zeros)
- ``matrix``       PyTorch's mm, bmm, mv, dot, outer, addmm, diag, diagonal, trace, kron, cross, diff,
                   meshgrid (compositions, PyTorch's shape rules)
- ``statistics``   nansum, nanmean, var_mean, std_mean, median, logcumsumexp, cummax, cummin
- ``ordering``     sort, argsort, topk, argmax/argmin with dim/keepdim
- ``rearrange``    flip, roll, repeat, tril/triu, masked_fill, one_hot, clone, F.pad's modes
- ``einsum``       einsum, norm
- ``creation``     zeros, ones, full, arange, eye
- ``methods``      installs the Tensor operators and methods (one place)
- ``inplace``      PyTorch's in-place methods (``add_``, ``zero_``, ``uniform_``, ``t[idx] = v`` …), off the tape
- ``namespace``    the differentiable namespace vjps use under ``create_graph``
- ``scatter``      PyTorch's scatter family: scatter, scatter_add, scatter_reduce, index_add/copy/fill,
                   masked_scatter (compositions of getitem's adjoint)
- ``manipulation`` take_along_dim, select, tensor_split, v/h/dsplit, column_stack, dstack, rot90, fliplr/ud,
                   repeat_interleave, diag_embed, diagflat, block_diag, cartesian_prod, combinations, broadcast_tensors
- ``products``     inner, vdot, tensordot, trapezoid, vander, renorm, cov, cdist, pdist, dist
- ``order_statistics``  kthvalue, mode, msort, nanmedian, quantile, nanquantile
- ``counting``     unique, bincount, histc, bucketize, searchsorted, isin, count_nonzero, tril/triu_indices,
                   unravel_index (off the tape)
- ``sampling``     normal, bernoulli, multinomial (rg's generator)
- ``special``      PyTorch's special functions: lgamma, digamma/polygamma, erfc/erfcx/erfinv, i0/i1 (+ scaled),
                   ndtri/log_ndtr, logit, sinc, entr, xlogy, zeta, gammainc; ``special_namespace`` is ``rg.special``
- ``elementwise_extra``  hypot, logaddexp2, fmax/fmin, nextafter, heaviside, ldexp, gcd/lcm, sgn, signbit,
                   deg2rad/rad2deg, nan_to_num, float_power, lerp, addcmul/addcdiv; eq … ge as functions
- ``aliases``      PyTorch's other names (absolute, arcsinh, multiply, greater …), tensor queries (is_complex,
                   isneginf, …), conj/real/adjoint on real tensors, copysign, frexp, bit shifts, argwhere,
                   split_with_sizes, narrow_copy, and the Tensor's device/nbytes/cpu()/mH
- ``matrix_extra`` addmv, addr, addbmm, baddbmm, chain_matmul, cholesky_solve/inverse, corrcoef, histogram,
                   diagonal/select/slice_scatter, index_put, index_reduce (compositions)
"""

from __future__ import annotations

from . import lowering_rules, methods, namespace  # noqa: F401 (lowering_rules registers autograd.lowering's rules)
from .shape import cat as concat  # PyTorch's alias
from .composite import (clip, expand, expand_dims, flatten, gather, gelu, hstack, nll_loss, split, squeeze, take,
                        unflatten, unsqueeze, vstack)
from .conv import avg_pool2d, conv1d, conv2d, conv_transpose2d, max_pool2d
from .activations import hardtanh, logsigmoid, mish, relu6, selu, silu, softsign
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, ones, ones_like, rand, rand_like,
                       randint, randn, randn_like, randperm, zeros, zeros_like)
from .logical import (allclose, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, equal, is_tensor, isclose,
                      logical_and, logical_not, logical_or, logical_xor)
from .cumulative import cumprod, cumsum
from .einsum import einsum, norm
from .division import div, floor_divide, fmod, remainder
from .elementwise_extra import (addcdiv, addcmul, deg2rad, eq, float_power, fmax, fmin, gcd, ge, gt, heaviside, hypot,
                                lcm, ldexp, le, lerp, logaddexp2, lt, nan_to_num, ne, nextafter, rad2deg, sgn, signbit,
                                true_divide)
from .special import digamma, erfc, erfinv, i0, lgamma, logit, mvlgamma, polygamma, sinc, xlogy
from .elementwise import (add, cast, cos, erf, exp, exp2, expm1, log, log1p, mul, neg, nonzero, pow, reciprocal,
                          sigmoid, sin, softplus, sqrt, square, sub, tanh, where)
from .kinks import abs, clamp, elu, leaky_relu, maximum, minimum, relu
from .linalg import linear, matmul
from .linalg_namespace import (det, inv as inverse, logdet, matrix_exp, matrix_power, pinverse, slogdet,
                               torch_cholesky as cholesky, torch_svd as svd)
from .matrix import addmm, bmm, cross, diag, diagonal, diff, dot, kron, meshgrid, mm, mv, outer, trace
from .statistics import (CumExtremaResult, MedianResult, cummax, cummin, logcumsumexp, median, nanmean, nansum,
                         std_mean, var_mean)
from .softmax_cross_entropy import cross_entropy
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, mse_loss
from .ordering import SortResult, argmax, argmin, argsort, sort, topk
from .rearrange import clone, flip, masked_fill, masked_select, numel, one_hot, repeat, roll, tile, tril, triu
from .extrema import MaxResult, MinMaxResult, amax, amin, aminmax, max, min
from .reductions import mean, prod, std, sum, var
from .softmaxes import log_softmax, logsumexp, softmax
from .rounding_and_math import (acos, all, any, asin, atan, atan2, ceil, cosh, fix, floor, frac, isfinite, isinf, isnan,
                                log2, log10, logaddexp, round, rsqrt, sign, sinh, tan, trunc)
from .shape import (broadcast_to, cat, chunk, concatenate, getitem, index_select, movedim, narrow, pad,
                    permute, reshape, stack, swapaxes, transpose, unbind)
from .scatter import (index_add, index_copy, index_fill, masked_scatter, scatter, scatter_add,  # index_add: both forms
                      scatter_reduce)
from .manipulation import (block_diag, broadcast_tensors, cartesian_prod, column_stack, combinations, diag_embed,
                           diagflat, dsplit, dstack, fliplr, flipud, hsplit, moveaxis, ravel, repeat_interleave, rot90,
                           select, take_along_dim, tensor_split, vsplit)
from .products import cdist, cov, dist, inner, pdist, renorm, tensordot, trapezoid, trapz, vander, vdot
from .order_statistics import (KthvalueResult, ModeResult, NanmedianResult, kthvalue, mode, msort, nanmedian,
                               nanquantile, quantile)
from .counting import (bincount, bucketize, count_nonzero, histc, isin, searchsorted, tril_indices, triu_indices,
                       unique, unique_consecutive, unravel_index)
from .sampling import bernoulli, multinomial, normal
from .rounding_and_math import acosh, asinh, atanh
from .aliases import (absolute, adjoint, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, argwhere,
                      bitwise_left_shift, bitwise_right_shift, conj, conj_physical, copysign, divide, frexp,
                      FrexpResult, ger, get_device, greater, greater_equal, imag, is_complex, is_conj,
                      is_floating_point, is_inference, is_neg, is_nonzero, is_same_size, is_signed, isneginf,
                      isposinf, isreal, less, less_equal, multiply, narrow_copy, negative, not_equal, positive, real,
                      resolve_conj, resolve_neg, split_with_sizes, subtract)
from .matrix_extra import (HistogramResult, addbmm, addmv, addr, baddbmm, chain_matmul, cholesky_inverse,
                           cholesky_solve, corrcoef, diagonal_scatter, histogram, index_put, index_reduce,
                           select_scatter, slice_scatter)

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh",
    "sigmoid", "erf", "relu", "leaky_relu", "elu", "gelu", "softplus", "abs", "square", "maximum",
    "minimum", "clamp", "clip", "where", "cast", "matmul", "linear", "sum", "mean", "var", "std",
    "max", "min", "prod", "logsumexp", "softmax", "log_softmax", "argmax", "argmin", "reshape",
    "transpose", "permute", "swapaxes", "broadcast_to", "expand", "expand_dims", "unsqueeze",
    "squeeze", "flatten", "unflatten", "concatenate", "cat", "stack", "split", "getitem", "take", "gather", "pad",
    "index_add", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "nll_loss", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "zeros", "ones", "full", "zeros_like", "ones_like",
    "arange", "eye", "linspace", "empty", "empty_like", "full_like", "rand", "randn", "rand_like", "randn_like",
    "randint", "randperm", "hstack", "vstack", "concat", "isclose", "allclose", "equal", "is_tensor",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not",
    # activations
    "silu", "mish", "hardtanh", "relu6", "selu", "logsigmoid", "softsign",
    # rounding and more math
    "floor", "ceil", "round", "sign", "rsqrt", "log2", "log10", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "atan2", "logaddexp", "isnan", "isfinite", "isinf", "any", "all", "trunc", "fix", "frac",
    # PyTorch's division family and more elementwise math
    "floor_divide", "remainder", "fmod", "reciprocal", "expm1", "exp2", "nonzero", "masked_select", "tile",
    # cumulative, ordering, rearranging
    "cumsum", "cumprod", "sort", "argsort", "topk", "SortResult", "flip", "roll", "repeat", "tril", "triu",
    "masked_fill", "one_hot", "clone", "numel", "einsum", "norm",
    # PyTorch's forms: max/min with dim, the slicing family
    "amax", "amin", "aminmax", "MaxResult", "MinMaxResult", "chunk", "narrow", "index_select", "unbind",
    "movedim",
    # PyTorch's matrix functions and statistics
    "mm", "bmm", "mv", "dot", "outer", "addmm", "diag", "diagonal", "trace", "kron", "cross", "diff", "meshgrid",
    "nansum", "nanmean", "var_mean", "std_mean", "median", "MedianResult", "logcumsumexp", "cummax", "cummin",
    "CumExtremaResult",
    # PyTorch's special functions and more elementwise math (rg.special has the rest)
    "lgamma", "digamma", "polygamma", "mvlgamma", "erfc", "erfinv", "xlogy", "logit", "sinc", "i0", "hypot",
    "logaddexp2", "float_power", "fmax", "fmin", "heaviside", "nextafter", "ldexp", "gcd", "lcm", "sgn", "signbit",
    "deg2rad", "rad2deg", "nan_to_num", "lerp", "addcmul", "addcdiv", "true_divide", "eq", "ne", "lt", "le", "gt",
    "ge",
    # PyTorch's top-level linear algebra (rg.linalg has the rest)
    "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "matrix_exp", "svd", "cholesky",
    # PyTorch's scatter family, tensor manipulation, products, order statistics, counting, sampling
    "scatter", "scatter_add", "scatter_reduce", "index_copy", "index_fill", "masked_scatter", "take_along_dim",
    "select", "tensor_split", "vsplit", "hsplit", "dsplit", "column_stack", "dstack", "ravel", "moveaxis", "rot90",
    "fliplr", "flipud", "repeat_interleave", "diag_embed", "diagflat", "block_diag", "cartesian_prod",
    "combinations", "broadcast_tensors", "inner", "vdot", "tensordot", "trapezoid", "trapz", "vander", "renorm",
    "cov", "cdist", "pdist", "dist", "kthvalue", "mode", "msort", "nanmedian", "quantile", "nanquantile",
    "KthvalueResult", "ModeResult", "NanmedianResult", "unique", "unique_consecutive", "bincount", "histc",
    "bucketize", "searchsorted", "isin", "count_nonzero", "tril_indices", "triu_indices", "unravel_index",
    "multinomial", "normal", "bernoulli",
    # PyTorch's other names, tensor queries and small compositions; more matrix functions and scatters
    "acosh", "asinh", "atanh", "absolute", "adjoint", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "argwhere", "bitwise_left_shift", "bitwise_right_shift", "conj", "conj_physical", "copysign",
    "divide", "frexp", "FrexpResult", "ger", "get_device", "greater", "greater_equal", "imag", "is_complex",
    "is_conj", "is_floating_point", "is_inference", "is_neg", "is_nonzero", "is_same_size", "is_signed", "isneginf",
    "isposinf", "isreal", "less", "less_equal", "multiply", "narrow_copy", "negative", "not_equal", "positive",
    "real", "resolve_conj", "resolve_neg", "split_with_sizes", "subtract", "HistogramResult", "addbmm", "addmv",
    "addr", "baddbmm", "chain_matmul", "cholesky_inverse", "cholesky_solve", "corrcoef", "diagonal_scatter",
    "histogram", "index_put", "index_reduce", "select_scatter", "slice_scatter",
]

# torch.lu_unpack and torch.orgqr, beside rg.linalg's LU family and householder_product
from .linalg_extra import orgqr  # noqa: E402
from .linalg_lu import LUUnpackResult, lu_unpack  # noqa: E402
__all__ += ["LUUnpackResult", "lu_unpack", "orgqr"]

# torch's other top-level functions: thin wrappers, creation/dtype/random helpers, the in-place forms
from . import torch_creation_extra, torch_inplace_extra, torch_namespace_extra  # noqa: E402
from .torch_creation_extra import *  # noqa: E402,F401,F403
from .torch_inplace_extra import *  # noqa: E402,F401,F403
from .torch_namespace_extra import *  # noqa: E402,F401,F403
__all__ += [*torch_namespace_extra.__all__, *torch_creation_extra.__all__, *torch_inplace_extra.__all__]

methods.install()
namespace.register()
