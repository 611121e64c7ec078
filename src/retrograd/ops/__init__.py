"""The differentiable functions of retrograd: a face, re-exports only.

One family per file, each public function right under its ``Op`` (forward and
vjp side by side, so a family reads like a table of derivatives):

- ``elementwise``  arithmetic, exp/log/expm1/exp2, reciprocal, sigmoid, erf, where, cast
- ``division``  div's rounding modes, floor_divide (//), remainder (%), fmod
- ``kinks``        relu, leaky_relu, elu, abs, clamp, maximum, minimum (ties follow ``rg.conventions``)
- ``reductions``   sum, mean, max/min, amax/amin, prod, logsumexp, softmax (NumPy's and PyTorch's keywords)
- ``linalg``       matmul, linear
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
"""

from __future__ import annotations

from . import methods, namespace
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
from .elementwise import (add, cast, cos, erf, exp, exp2, expm1, log, log1p, mul, neg, nonzero, pow, reciprocal,
                          sigmoid, sin, softplus, sqrt, square, sub, tanh, where)
from .kinks import abs, clamp, elu, leaky_relu, maximum, minimum, relu
from .linalg import linear, matmul
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
from .shape import (broadcast_to, cat, chunk, concatenate, getitem, index_add, index_select, movedim, narrow, pad,
                    permute, reshape, stack, swapaxes, transpose, unbind)

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
]

methods.install()
namespace.register()
