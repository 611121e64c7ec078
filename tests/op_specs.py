"""The op spec table: one row per differentiable op, read by tests/ops/test_op_table.py.

Each ``OpSpec`` row says how to call the op (``fn``, on Tensors), what its
values must be (``ref``, the same computation in plain NumPy), how many
floating inputs it takes and from which domain (``log`` wants x > 0, ``relu``
wants x away from its kink at 0: the kinks and ties have their own tests in
autograd/test_conventions.py and ops/test_ops_gradcheck.py), which shapes to draw (a
hypothesis strategy of one shape per input, broadcasting where the op
broadcasts), which extra arguments to draw for those shapes (``params``: axes,
indices, labels …), up to which derivative order it is checked, the
tolerances, and optionally the PyTorch function that must agree with it. The
same rows drive the first-order gradchecks, the second-order gradchecks, the
PyTorch oracle and the freed-tape check; a row that adds a new op covers it in
all four at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import retrograd as rg
from retrograd.ops.linalg_decompositions import matrices as _linalg_matrices

try:
    import torch
except ImportError:  # rows keep their torch functions; the oracle tests are skipped one by one
    torch = None


# ---------------------------------------------------------------- input domains
def positive(a):
    """Values in [0.3, 2.3): the domain of log, sqrt, x ** 1.5."""
    return 0.3 + np.abs(a) % 2.0


def away_from_zero(a):
    """|a| in [0.2, 2]: off the kinks of relu, abs, elu, … (and off 0 for division)."""
    return np.sign(a + 1e-12) * (0.2 + np.abs(a) % 1.8)


def probability(a):
    """Values in (0.05, 0.95): binary_cross_entropy's inputs and targets."""
    return 0.05 + 0.9 / (1.0 + np.exp(-a))


def off_clamp_bounds(a):
    """Keep x at least 0.05 away from clamp(-0.5, 0.7)'s bounds."""
    return np.where(np.abs(a + 0.5) < 0.05, a + 0.2, np.where(np.abs(a - 0.7) < 0.05, a + 0.2, a))


def distinct(a):
    """Add 1e-3·(flat index): no two values tie (max, min, maximum, max_pool off their kinks)."""
    return a + np.arange(a.size).reshape(a.shape) * 1e-3


# ---------------------------------------------------------------- shapes
SIDE = 4  # the largest side drawn: big enough for broadcasting patterns, small enough to stay fast

ANY = array_shapes(min_dims=0, max_dims=3, max_side=SIDE).map(lambda s: (s,))
NONSCALAR = array_shapes(min_dims=1, max_dims=3, max_side=SIDE).map(lambda s: (s,))
BROADCAST2 = mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=SIDE).map(lambda b: b.input_shapes)
SAME2 = array_shapes(min_dims=0, max_dims=3, max_side=SIDE).map(lambda s: (s, s))
SAME3 = array_shapes(min_dims=1, max_dims=3, max_side=3).map(lambda s: (s, s, s))
LOGITS = st.tuples(st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(1, 3), max_size=1)) \
    .map(lambda t: ((t[0], t[1], *t[2]),))


@st.composite
def _matmul_shapes(draw):
    """Batched matrices with broadcast batch axes, and the 1-D vector cases."""
    m, k, n = (draw(st.integers(1, SIDE)) for _ in range(3))
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    a = draw(st.sampled_from([(k,), batch[0] + (m, k)]))
    b = draw(st.sampled_from([(k,), batch[1] + (k, n)]))
    return a, b


@st.composite
def _linear_shapes(draw, bias):
    lead = draw(array_shapes(min_dims=0, max_dims=2, max_side=3))
    i, o = draw(st.integers(1, SIDE)), draw(st.integers(1, SIDE))
    return (lead + (i,), (o, i)) + (((o,),) if bias else ())


@st.composite
def _image_shapes(draw, weights, bias=False):
    """(N, C, H, W) images, with (O, C, k, k) weights and (O,) bias for conv2d."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(3, 6)), draw(st.integers(3, 6))
    shapes = ((n, c, h, w),)
    if weights:
        o, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        shapes += ((o, c, k, k),) + (((o,),) if bias else ())
    return shapes


MATMUL = _matmul_shapes()
LINEAR, LINEAR_NO_BIAS = _linear_shapes(True), _linear_shapes(False)
CONV, CONV_NO_BIAS, IMAGES = _image_shapes(True, True), _image_shapes(True), _image_shapes(False)


# ---------------------------------------------------------------- extra arguments, drawn for the shapes
def no_params(shapes):
    return st.just({})


def _axes(ndim):
    """None, one axis (negative too) or a tuple of distinct axes."""
    if ndim == 0:
        return st.just(None)
    return st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                     st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple))


def reduce_params(shapes):
    return st.fixed_dictionaries({"axis": _axes(len(shapes[0])), "keepdims": st.booleans()})


def var_params(shapes, at_least=1):
    """Axes, keepdims and ddof (0, or PyTorch's unbiased 1), reducing more than ddof elements
    and at least ``at_least`` (std needs two: √ has no derivative at a zero variance)."""
    shape = shapes[0]

    def counted(p):
        axes = range(len(shape)) if p["axis"] is None else np.atleast_1d(p["axis"])
        n = math.prod(shape[a] for a in axes)
        return n > p["ddof"] and n >= at_least
    return st.fixed_dictionaries({"axis": _axes(len(shape)), "keepdims": st.booleans(),
                                  "ddof": st.sampled_from([0, 1])}).filter(counted)


def std_params(shapes):
    return var_params(shapes, at_least=2)


def one_axis(shapes):
    ndim = len(shapes[0])
    return st.fixed_dictionaries({"axis": st.integers(-ndim, ndim - 1) if ndim else st.just(-1)})


def _seeded(make):
    """A strategy of arrays made by ``make(rng)`` from a drawn seed (shrinks to seed 0)."""
    return st.integers(0, 2**16).map(lambda s: make(np.random.default_rng(s)))


def where_params(shapes):
    shape = np.broadcast_shapes(*shapes)
    return st.fixed_dictionaries({"cond": _seeded(lambda r: np.asarray(r.random(shape) < 0.5))})


def pad_params(shapes):
    ndim = len(shapes[0])
    widths = st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * ndim)
    return st.fixed_dictionaries({"pad_width": widths, "value": st.sampled_from([0.0, 0.5])})


def crop_pad_params(shapes):
    """Widths from −2 to 2 (negative: crop, as PyTorch's F.pad), cropping at most each axis' size."""
    def fits(p):
        return all(max(-lo, 0) + max(-hi, 0) <= n for (lo, hi), n in zip(p["pad_width"], shapes[0]))
    ndim = len(shapes[0])
    widths = st.tuples(*[st.tuples(st.integers(-2, 2), st.integers(-2, 2))] * ndim)
    return st.fixed_dictionaries({"pad_width": widths, "value": st.sampled_from([0.0, 0.5])}).filter(fits)


def _crop_pad(x, pad_width, value):
    """NumPy reference of a pad with negative widths: crop, then pad."""
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pad_width, x.shape))
    return np.pad(x[crop], [(max(lo, 0), max(hi, 0)) for lo, hi in pad_width], constant_values=value)


def int_index(shapes):
    """Integer indices into axis 0, with repeats (their gradients accumulate)."""
    n = shapes[0][0]
    return st.fixed_dictionaries({"index": _seeded(lambda r: (r.integers(0, n, r.integers(1, 6)),))})


def int_index_2d_and_slice(shapes):
    n = shapes[0][0]
    return st.fixed_dictionaries({"index": _seeded(lambda r: (r.integers(0, n, (2, 2)), slice(1, 3)))})


def bool_mask(shapes):
    return st.fixed_dictionaries({"index": _seeded(lambda r: (r.random(shapes[0][:1]) < 0.6,))})


def slices(shapes):
    """Basic slicing: a start, stop and step (negative too) per axis."""
    per_axis = [st.builds(slice, st.sampled_from([None, 0, 1, -1]), st.sampled_from([None, -1, 3]),
                          st.sampled_from([None, 1, 2, -1, -2])) for _ in shapes[0]]
    return st.fixed_dictionaries({"index": st.tuples(*per_axis)})


def newaxis_ellipsis(shapes):
    return st.just({"index": (Ellipsis, None, 0)})


def take_params(shapes):
    """An axis (None: the flattened array) and four indices along it, repeats allowed."""
    shape = shapes[0]

    def for_axis(axis):
        n = math.prod(shape) if axis is None else shape[axis]
        return st.fixed_dictionaries({"axis": st.just(axis), "indices": _seeded(lambda r: r.integers(0, n, 4))})
    return st.sampled_from([None, *range(len(shape))]).flatmap(for_axis)


def gather_params(shapes):
    shape = shapes[0]

    def for_axis(axis):
        out = list(shape)
        out[axis] = 3  # gather may take more entries than the axis has
        return st.fixed_dictionaries({"axis": st.just(axis),
                                      "index": _seeded(lambda r: r.integers(0, shape[axis], out))})
    return st.integers(0, len(shape) - 1).flatmap(for_axis)


def index_add_params(shapes):
    """``index_add(shape, dtype, index, g)``: rows of g added into a target of m rows (repeats add up)."""
    n, rest = shapes[0][0], shapes[0][1:]
    return st.integers(1, 4).flatmap(lambda m: st.fixed_dictionaries({
        "shape": st.just((m,) + rest), "index": _seeded(lambda r: r.integers(0, m, n))}))


def split_params(shapes):
    ndim = len(shapes[0])
    return st.integers(0, ndim - 1).flatmap(lambda a: st.fixed_dictionaries({
        "axis": st.just(a), "at": st.integers(0, shapes[0][a]), "part": st.integers(0, 1)}))


def broadcast_params(shapes):
    """A target shape the input broadcasts to (one more axis in front, and size-1 axes grown)."""
    return st.integers(1, 3).map(lambda lead: {"shape": (lead,) + tuple(3 if s == 1 else s for s in shapes[0])})


def permute_params(shapes):
    return st.permutations(range(len(shapes[0]))).map(lambda p: {"axes": tuple(p)})


def reduction(shapes):
    return st.fixed_dictionaries({"reduction": st.sampled_from(["mean", "sum", "none"])})


def _labels(shape, classes, ignore):
    def make(r):
        y = r.integers(0, classes, (shape[0],) + shape[2:])
        if ignore and y.size > 1:
            y.reshape(-1)[0] = -100  # ignored: adds nothing, not counted in the mean
        return y
    return _seeded(make)


def class_indices(shapes):
    shape = shapes[0]
    return st.booleans().flatmap(lambda ignore: st.fixed_dictionaries({
        "target": _labels(shape, shape[1], ignore), "reduction": st.sampled_from(["mean", "sum", "none"])}))


def class_probabilities(shapes):
    def make(r):
        p = r.random(shapes[0]) + 0.1
        return p / p.sum(axis=1, keepdims=True)
    return st.fixed_dictionaries({"target": _seeded(make), "reduction": st.sampled_from(["mean", "sum", "none"])})


def conv_params(shapes):
    """stride, padding, dilation for which the kernel fits the (padded) image."""
    h, w = shapes[0][2:]
    k = shapes[1][2]

    def fits(p):
        return p["dilation"] * (k - 1) + 1 <= min(h, w) + 2 * p["padding"]
    return st.fixed_dictionaries({"stride": st.integers(1, 2), "padding": st.integers(0, 1),
                                  "dilation": st.integers(1, 2)}).filter(fits)


def pool_params(shapes):
    h, w = shapes[0][2:]
    return st.integers(1, min(3, h, w)).flatmap(lambda k: st.fixed_dictionaries({
        "kernel_size": st.just(k), "stride": st.integers(1, 3), "padding": st.integers(0, k // 2)}))


# ---------------------------------------------------------------- NumPy references
_erf = np.vectorize(math.erf, otypes=[float])


def _sigmoid(x): return 1.0 / (1.0 + np.exp(-x))
def _softplus(x, beta=1.0): return np.logaddexp(0.0, beta * x) / beta
def _gelu(x): return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
def _gelu_tanh(x): return 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_softmax(x, axis): return x - _logsumexp(x, axis=axis, keepdims=True)


def _reduce(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def _cross_entropy(z, target, reduction):
    logp = _log_softmax(z, 1)
    if target.dtype.kind == "f":
        return _reduce(-(target * logp).sum(axis=1), reduction)
    keep = target != -100
    picked = np.take_along_axis(logp, np.expand_dims(np.where(keep, target, 0), 1), axis=1).squeeze(1)
    loss = -picked * keep
    return loss.sum() / max(keep.sum(), 1) if reduction == "mean" else _reduce(loss, reduction)


def _bce(p, y, reduction):
    return _reduce(-(y * np.log(p) + (1 - y) * np.log1p(-p)), reduction)


def _bce_logits(z, y, reduction):
    return _reduce(np.logaddexp(0.0, z) - z * y, reduction)


def _windows(x, k, stride, padding, dilation, fill):
    """(N, C, Ho, Wo, k, k) windows of the padded image."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    span = dilation * (k - 1) + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (span, span), axis=(2, 3))
    return win[:, :, ::stride, ::stride, ::dilation, ::dilation]


def _conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    out = np.einsum("nchwij,ocij->nohw", _windows(x, w.shape[2], stride, padding, dilation, 0.0), w)
    return out if b is None else out + b[:, None, None]


def _pool(reducer, fill):
    return lambda x, kernel_size, stride, padding: reducer(
        _windows(x, kernel_size, stride, padding, 1, fill), axis=(4, 5))


def _index_add(g, shape, index):
    out = np.zeros(shape)
    np.add.at(out, index, g)
    return out


def _split(x, axis, at, part):
    return np.split(x, [at], axis=axis)[part] * 3.0


# ---------------------------------------------------------------- PyTorch equivalents (called only with torch)
def _dims(x, axis):
    """torch's ``dim`` for a NumPy ``axis`` (None: every axis)."""
    if axis is None:
        return tuple(range(x.ndim))
    return axis if isinstance(axis, tuple) else (axis,)


def _torch_reduce(name):
    return lambda x, axis, keepdims: getattr(torch, name)(x, dim=_dims(x, axis), keepdim=keepdims)


def _torch_prod(x, axis, keepdims):
    """torch.prod over ``axis``: torch.prod takes one dim, so several axes are moved last and
    flattened into one, reduced by one torch.prod (whose gradient at 0, NaN and ±inf is the
    single product's, not a chain of products'). Every axis without keepdims is torch.prod(x)
    (a 0-d input too: int64 for integers and bools); an axis out of range goes to torch as it
    is, so torch refuses it."""
    if axis is None and not keepdims:
        return torch.prod(x)
    dims = _dims(x, axis) or (0,)  # a 0-d input's only dim, as torch names it
    nd = max(x.ndim, 1)
    for a in dims:
        if not -nd <= a < nd:
            return torch.prod(x, dim=a, keepdim=keepdims)  # torch raises "Dimension out of range"
    if len(dims) == 1:
        return torch.prod(x, dim=dims[0], keepdim=keepdims)
    dims = sorted(a % nd for a in dims)
    kept = [a for a in range(x.ndim) if a not in dims]
    flat = x.permute(*kept, *dims).reshape(*(x.shape[a] for a in kept), math.prod(x.shape[a] for a in dims))
    y = torch.prod(flat, dim=-1)
    return y.reshape([1 if a in dims else x.shape[a] for a in range(x.ndim)]) if keepdims else y


def _torch_target(t):
    return torch.from_numpy(t)


def _F():
    return torch.nn.functional


def T(name):
    """``torch.<name>``, looked up when called (the table imports without PyTorch)."""
    return lambda *args, **kwargs: getattr(torch, name)(*args, **kwargs)


# ---------------------------------------------------------------- the table
@dataclass(frozen=True)
class OpSpec:
    """One op: how to call it, its reference values, domain, shapes, order and tolerances."""
    name: str
    fn: Callable                    # fn(*tensors, **params) -> Tensor
    ref: Callable                   # ref(*arrays, **params) -> array: the values fn must give
    arity: int = 1                  # how many floating inputs (each gradchecked)
    shapes: st.SearchStrategy = ANY  # one shape per input
    domain: tuple = ()              # a transform per input (None: standard normal values)
    params: Callable = no_params    # shapes -> strategy of extra keyword arguments
    order: int = 2                  # highest derivative order checked (2: gradgradcheck too)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    torch: Callable | None = None   # torch_fn(*torch_tensors, **params), the PyTorch equivalent

    def inputs(self, shapes, seed):
        """float64 inputs of ``shapes``, made distinct and moved into the row's domain."""
        rng = np.random.default_rng(seed)
        arrays = []
        for i, shape in enumerate(shapes):
            a = distinct(rng.standard_normal(shape))
            transform = self.domain[i] if i < len(self.domain) else None
            arrays.append(np.array(transform(a) if transform else a, dtype=np.float64))  # 0-d too: an ndarray
        return arrays


def _cross_entropy_torch_axis(z, target, *args, **kwargs):
    """``rg.cross_entropy`` with PyTorch's class axis said explicitly: a (N, C, C)
    draw with (N, C) targets is the sequence-logits ambiguity, refused unless
    ``class_axis`` is given (tests/ops/test_cross_entropy_sequences.py)."""
    return rg.cross_entropy(z, target, *args, class_axis=1 if len(z.shape) > 1 else 0, **kwargs)


S = OpSpec
SPECS = [
    # arithmetic (broadcasting)
    S("add", lambda x, y: x + y, np.add, 2, BROADCAST2, torch=T("add")),
    S("sub", lambda x, y: x - y, np.subtract, 2, BROADCAST2, torch=T("sub")),
    S("mul", lambda x, y: x * y, np.multiply, 2, BROADCAST2, torch=T("mul")),
    S("div", lambda x, y: x / y, np.divide, 2, BROADCAST2, (None, away_from_zero), torch=T("div")),
    S("pow", rg.pow, np.power, 2, BROADCAST2, (positive, None), torch=T("pow")),
    S("rsub", lambda x: 1.5 - x, lambda x: 1.5 - x, torch=lambda x: 1.5 - x),
    S("rdiv", lambda x: 1.5 / x, lambda x: 1.5 / x, domain=(away_from_zero,), torch=lambda x: 1.5 / x),
    S("rpow", lambda x: 1.5 ** x, lambda x: 1.5 ** x, torch=lambda x: 1.5 ** x),
    S("neg", lambda x: -x, np.negative, torch=T("neg")),
    S("pow_scalar", lambda x: x ** 3, lambda x: x ** 3, torch=lambda x: x ** 3),
    S("pow_fraction", lambda x: x ** 1.5, lambda x: x ** 1.5, domain=(positive,), torch=lambda x: x ** 1.5),
    S("square", rg.square, np.square, torch=T("square")),
    # elementwise functions
    S("exp", rg.exp, np.exp, torch=T("exp")),
    S("log", rg.log, np.log, domain=(positive,), torch=T("log")),
    S("log1p", rg.log1p, np.log1p, domain=(positive,), torch=T("log1p")),
    S("sqrt", rg.sqrt, np.sqrt, domain=(positive,), torch=T("sqrt")),
    S("sin", rg.sin, np.sin, torch=T("sin")),
    S("cos", rg.cos, np.cos, torch=T("cos")),
    S("tanh", rg.tanh, np.tanh, torch=T("tanh")),
    S("sigmoid", rg.sigmoid, _sigmoid, torch=T("sigmoid")),
    S("erf", rg.erf, _erf, torch=T("erf")),
    S("softplus", rg.softplus, _softplus, torch=lambda x: _F().softplus(x)),
    S("softplus_beta", lambda x: rg.softplus(x, beta=2.0), lambda x: _softplus(x, 2.0),
      torch=lambda x: _F().softplus(x, beta=2.0)),
    S("gelu", rg.gelu, _gelu, torch=lambda x: _F().gelu(x)),
    S("gelu_tanh", lambda x: rg.gelu(x, approximate="tanh"), _gelu_tanh,
      torch=lambda x: _F().gelu(x, approximate="tanh")),
    # kinks: values kept off them here (autograd/test_conventions.py checks the gradient at them)
    S("abs", rg.abs, np.abs, domain=(away_from_zero,), torch=T("abs")),
    S("relu", rg.relu, lambda x: np.maximum(x, 0), domain=(away_from_zero,), torch=T("relu")),
    S("leaky_relu", lambda x: rg.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
      domain=(away_from_zero,), torch=lambda x: _F().leaky_relu(x, 0.1)),
    S("elu", lambda x: rg.elu(x, 1.3), lambda x: np.where(x > 0, x, 1.3 * np.expm1(x)),
      domain=(away_from_zero,), torch=lambda x: _F().elu(x, 1.3)),
    S("clamp", lambda x: rg.clamp(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), domain=(off_clamp_bounds,),
      torch=lambda x: torch.clamp(x, -0.5, 0.7)),
    S("clamp_array_bounds", lambda x: rg.clamp(x, max=np.linspace(-0.3, 0.9, x.shape[-1]) if x.ndim else 0.5),
      lambda x: np.minimum(x, np.linspace(-0.3, 0.9, x.shape[-1]) if x.ndim else 0.5), domain=(off_clamp_bounds,)),
    S("maximum", rg.maximum, np.maximum, 2, BROADCAST2, torch=T("maximum")),
    S("minimum", rg.minimum, np.minimum, 2, BROADCAST2, torch=T("minimum")),
    S("where", lambda x, y, cond: rg.where(cond, x, y), lambda x, y, cond: np.where(cond, x, y), 2, BROADCAST2,
      params=where_params, torch=lambda x, y, cond: torch.where(torch.from_numpy(cond), x, y)),
    S("cast_float32", lambda x: rg.cast(x, np.float32), lambda x: x.astype(np.float32), eps=1e-2, atol=1e-4,
      torch=lambda x: x.float()),
    # reductions, over drawn axes
    S("sum", rg.sum, np.sum, shapes=ANY, params=reduce_params, torch=_torch_reduce("sum")),
    S("mean", rg.mean, np.mean, shapes=ANY, params=reduce_params, torch=_torch_reduce("mean")),
    S("max", rg.max, np.max, shapes=ANY, params=reduce_params, torch=_torch_reduce("amax")),
    S("min", rg.min, np.min, shapes=ANY, params=reduce_params, torch=_torch_reduce("amin")),
    S("prod", rg.prod, np.prod, shapes=ANY, params=reduce_params, torch=_torch_prod),
    S("logsumexp", rg.logsumexp, _logsumexp, shapes=ANY, params=reduce_params, torch=_torch_reduce("logsumexp")),
    S("var", rg.var, np.var, shapes=ANY, params=var_params,
      torch=lambda x, axis, keepdims, ddof: torch.var(x, dim=_dims(x, axis), keepdim=keepdims, correction=ddof)),
    S("std", rg.std, np.std, shapes=NONSCALAR.filter(lambda s: math.prod(s[0]) > 1), params=std_params,
      torch=lambda x, axis, keepdims, ddof: torch.std(x, dim=_dims(x, axis), keepdim=keepdims, correction=ddof)),
    S("var_primitive", rg.ops.reductions.var, np.var, shapes=ANY, params=var_params,
      torch=lambda x, axis, keepdims, ddof: torch.var(x, dim=_dims(x, axis), keepdim=keepdims, correction=ddof)),
    S("std_primitive", rg.ops.reductions.std, np.std, shapes=NONSCALAR.filter(lambda s: math.prod(s[0]) > 1),
      params=std_params,
      torch=lambda x, axis, keepdims, ddof: torch.std(x, dim=_dims(x, axis), keepdim=keepdims, correction=ddof)),
    # 0-d inputs included: PyTorch accepts dim 0/-1 on them (softmax of one element is 1)
    S("softmax", rg.softmax, lambda x, axis: np.exp(_log_softmax(x, axis)), shapes=ANY, params=one_axis,
      torch=lambda x, axis: torch.softmax(x, dim=axis)),
    S("log_softmax", rg.log_softmax, _log_softmax, shapes=ANY, params=one_axis,
      torch=lambda x, axis: torch.log_softmax(x, dim=axis)),
    # linear algebra
    S("matmul", rg.matmul, np.matmul, 2, MATMUL, torch=T("matmul")),
    S("linear", rg.linear, lambda x, w, b: x @ w.T + b, 3, LINEAR, torch=lambda x, w, b: _F().linear(x, w, b)),
    S("linear_no_bias", rg.linear, lambda x, w: x @ w.T, 2, LINEAR_NO_BIAS, torch=lambda x, w: _F().linear(x, w)),
    # shape and indexing
    S("reshape", lambda x: rg.reshape(x, (-1,)), lambda x: x.reshape(-1), torch=lambda x: x.reshape(-1)),
    S("flatten", rg.flatten, lambda x: x.reshape(-1) if x.ndim else x.reshape(1),
      torch=lambda x: torch.flatten(x)),
    S("unsqueeze_squeeze", lambda x: rg.squeeze(rg.unsqueeze(x, 0), 0) * 2.0, lambda x: x * 2.0),
    S("transpose", lambda x: x.T, lambda x: x.T),
    S("permute", lambda x, axes: rg.transpose(x, axes), lambda x, axes: np.transpose(x, axes), shapes=NONSCALAR,
      params=permute_params, torch=lambda x, axes: x.permute(*axes)),
    S("broadcast_to", rg.broadcast_to, np.broadcast_to, params=broadcast_params,
      torch=lambda x, shape: torch.broadcast_to(x, shape)),
    S("getitem_slices", lambda x, index: x[index], lambda x, index: x[index], shapes=NONSCALAR, params=slices),
    S("getitem_int_array", lambda x, index: x[index], lambda x, index: x[index], shapes=NONSCALAR,
      params=int_index, torch=lambda x, index: x[torch.from_numpy(index[0])]),
    S("getitem_int_matrix_and_slice", lambda x, index: x[index], lambda x, index: x[index],
      shapes=array_shapes(min_dims=2, max_dims=3, max_side=SIDE).map(lambda s: (s,)), params=int_index_2d_and_slice),
    S("getitem_bool_mask", lambda x, index: x[index], lambda x, index: x[index], shapes=NONSCALAR, params=bool_mask),
    S("getitem_newaxis_ellipsis", lambda x, index: x[index], lambda x, index: x[index], shapes=NONSCALAR,
      params=newaxis_ellipsis),
    S("take", lambda x, axis, indices: rg.take(x, indices, axis=axis),
      lambda x, axis, indices: np.take(x, indices, axis=axis), shapes=NONSCALAR, params=take_params),
    S("gather", lambda x, axis, index: rg.gather(x, axis, index),
      lambda x, axis, index: np.take_along_axis(x, index, axis=axis), shapes=NONSCALAR, params=gather_params,
      torch=lambda x, axis, index: torch.gather(x, axis, torch.from_numpy(index))),
    S("index_add", lambda g, shape, index: rg.index_add(shape, g.dtype, index, g), _index_add, shapes=NONSCALAR,
      params=index_add_params),
    S("pad", lambda x, pad_width, value: rg.pad(x, pad_width, value=value),
      lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value), shapes=NONSCALAR, params=pad_params,
      torch=lambda x, pad_width, value: _F().pad(x, tuple(w for p in reversed(pad_width) for w in p), value=value)),
    S("pad_crop", lambda x, pad_width, value: rg.pad(x, pad_width, value=value), _crop_pad, shapes=NONSCALAR,
      params=crop_pad_params,
      torch=lambda x, pad_width, value: _F().pad(x, tuple(w for p in reversed(pad_width) for w in p), value=value)),
    S("concatenate", lambda *xs, axis: rg.concatenate(xs, axis=axis), lambda *xs, axis: np.concatenate(xs, axis),
      3, SAME3, params=one_axis, torch=lambda *xs, axis: torch.cat(xs, dim=axis)),
    S("stack", lambda *xs, axis: rg.stack(xs, axis=axis), lambda *xs, axis: np.stack(xs, axis), 3, SAME3,
      params=lambda shapes: st.integers(-len(shapes[0]) - 1, len(shapes[0])).map(lambda a: {"axis": a}),
      torch=lambda *xs, axis: torch.stack(xs, dim=axis)),
    S("split", lambda x, axis, at, part: rg.split(x, [at], axis=axis)[part] * 3.0, _split, shapes=NONSCALAR,
      params=split_params),
    # losses
    S("mse_loss", rg.mse_loss, lambda a, y, reduction: _reduce((a - y) ** 2, reduction), 2, SAME2,
      params=reduction, torch=lambda a, y, reduction: _F().mse_loss(a, y, reduction=reduction)),
    S("binary_cross_entropy", rg.binary_cross_entropy, _bce, 2, SAME2, (probability, probability), reduction,
      torch=lambda p, y, reduction: _F().binary_cross_entropy(p, y, reduction=reduction)),
    S("binary_cross_entropy_with_logits", rg.binary_cross_entropy_with_logits, _bce_logits, 2, SAME2,
      (None, probability), reduction,
      torch=lambda z, y, reduction: _F().binary_cross_entropy_with_logits(z, y, reduction=reduction)),
    S("cross_entropy_indices", _cross_entropy_torch_axis, _cross_entropy, shapes=LOGITS, params=class_indices,
      torch=lambda z, target, reduction: _F().cross_entropy(z, _torch_target(target), reduction=reduction)),
    S("cross_entropy_probabilities", rg.cross_entropy, _cross_entropy, shapes=LOGITS, params=class_probabilities,
      torch=lambda z, target, reduction: _F().cross_entropy(z, _torch_target(target), reduction=reduction)),
    S("nll_loss", lambda z, target, reduction: rg.nll_loss(rg.log_softmax(z, 1), target, reduction=reduction),
      _cross_entropy, shapes=LOGITS.filter(lambda s: len(s[0]) == 2), params=class_indices,
      torch=lambda z, target, reduction: _F().nll_loss(torch.log_softmax(z, 1), _torch_target(target),
                                                       reduction=reduction)),
    # convolution and pooling
    S("conv2d", rg.conv2d, _conv2d, 3, CONV, params=conv_params,
      torch=lambda x, w, b, stride, padding, dilation: _F().conv2d(x, w, b, stride, padding, dilation)),
    S("conv2d_no_bias", rg.conv2d, _conv2d, 2, CONV_NO_BIAS, params=conv_params,
      torch=lambda x, w, stride, padding, dilation: _F().conv2d(x, w, None, stride, padding, dilation)),
    S("max_pool2d", rg.max_pool2d, _pool(np.max, -np.inf), shapes=IMAGES, params=pool_params,
      torch=lambda x, kernel_size, stride, padding: _F().max_pool2d(x, kernel_size, stride, padding)),
    S("avg_pool2d", rg.avg_pool2d, _pool(np.mean, 0.0), shapes=IMAGES, params=pool_params,
      torch=lambda x, kernel_size, stride, padding: _F().avg_pool2d(x, kernel_size, stride, padding)),
]
SPEC = {s.name: s for s in SPECS}
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- activations, math, cumulative, ordering, rearranging
# More activations, rounding and math, cumulative ops, sort/topk, rearranging, einsum and norms: the ops
# PyTorch users reach for. Their kinks, ties, zeros, dtypes and errors are tested in tests/ops/test_ops_more.py.
def _off_bounds(*bounds, scale=1.0):
    """Values scaled by ``scale`` and kept 0.05 away from each bound (clamp-like kinks)."""
    def move(a):
        a = a * scale
        for b in bounds:
            a = np.where(np.abs(a - b) < 0.05, a + 0.2, a)
        return a
    return move


def _off_jumps(a):
    """Values in [n + 0.1, n + 0.4]: away from floor's and ceil's integers and round's half-integers."""
    return np.floor(3 * a) + 0.1 + 0.3 * (np.abs(a) % 1.0)


def _inside(limit):
    """Values in (−limit, limit): tan inside (−π/2, π/2), asin and acos off ±1."""
    return lambda a: limit * np.tanh(a)


def _selu(x):
    alpha, scale = rg.ops.activations.SELU_ALPHA, rg.ops.activations.SELU_SCALE
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def axis_and_direction(shapes):
    ndim = len(shapes[0])
    return st.fixed_dictionaries({"axis": st.integers(-ndim, ndim - 1), "descending": st.booleans()})


def topk_params(shapes):
    shape = shapes[0]
    return st.integers(0, len(shape) - 1).flatmap(lambda a: st.fixed_dictionaries({
        "axis": st.just(a), "k": st.integers(0, shape[a]), "largest": st.booleans()}))


def _torch_norm(p):
    return lambda x, axis, keepdims: torch.norm(x, p, _dims(x, axis), keepdims)


def _np_norm(p):
    def ref(x, axis, keepdims):
        a = np.abs(x)
        if p == math.inf:
            return a.max(axis=axis, keepdims=keepdims)
        return (a ** p).sum(axis=axis, keepdims=keepdims) ** (1.0 / p)
    return ref


def _sorted(x, axis, descending):
    s = np.sort(x, axis=axis)
    return np.flip(s, axis) if descending else s


def _topk(x, axis, k, largest):
    return np.take(_sorted(x, axis, largest), np.arange(k), axis=axis)


def flip_dims(shapes):
    ndim = len(shapes[0])
    return st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(lambda d: {"dims": d})


def roll_params(shapes):
    ndim = len(shapes[0])
    return st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
        lambda d: st.fixed_dictionaries({"dims": st.just(tuple(d)),
                                         "shifts": st.tuples(*[st.integers(-5, 5)] * len(d))}))


def repeat_sizes(shapes):
    ndim = len(shapes[0])
    return st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim + 1).map(lambda s: {"sizes": tuple(s)})


def _repeat(x, sizes):
    return np.tile(x.reshape((1,) * (len(sizes) - x.ndim) + x.shape), sizes)


def diagonal(shapes):
    return st.fixed_dictionaries({"diagonal": st.integers(-2, 2)})


def fill_mask(shapes):
    return st.fixed_dictionaries({"mask": _seeded(lambda r: r.random(shapes[0]) < 0.5)})


@st.composite
def _batched_matrices(draw):
    """``...ij,...jk`` operands with broadcast batch axes (size 1 against larger)."""
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    return batch[0] + (m, k), batch[1] + (k, n)


@st.composite
def _square_and_vector(draw):
    return (draw(st.integers(1, 4)),) * 2, (draw(st.integers(1, 4)),)


@st.composite
def _three_way(draw):
    i, j, k = (draw(st.integers(1, 3)) for _ in range(3))
    return (i, j, k), (i, k)


MATRICES = array_shapes(min_dims=2, max_dims=3, max_side=SIDE).map(lambda s: (s,))

SPECS_MATH_AND_TENSOR_OPS = [
    # activations
    S("silu", rg.silu, lambda x: x * _sigmoid(x), torch=lambda x: _F().silu(x)),
    S("logsigmoid", rg.logsigmoid, lambda x: -np.logaddexp(0.0, -x), torch=lambda x: _F().logsigmoid(x)),
    S("mish", rg.mish, lambda x: x * np.tanh(np.logaddexp(0.0, x)), torch=lambda x: _F().mish(x)),
    S("hardtanh", rg.hardtanh, lambda x: np.clip(x, -1.0, 1.0), domain=(_off_bounds(-1.0, 1.0, scale=1.5),),
      torch=lambda x: _F().hardtanh(x)),
    S("relu6", rg.relu6, lambda x: np.clip(x, 0.0, 6.0), domain=(_off_bounds(0.0, 6.0, scale=4.0),),
      torch=lambda x: _F().relu6(x)),
    S("selu", rg.selu, _selu, domain=(away_from_zero,), torch=T("selu")),
    S("softsign", rg.softsign, lambda x: x / (1 + np.abs(x)), domain=(away_from_zero,),
      torch=lambda x: _F().softsign(x)),
    # rounding (zero gradient; values kept off the jumps) and more math
    S("floor", rg.floor, np.floor, domain=(_off_jumps,), torch=T("floor")),
    S("ceil", rg.ceil, np.ceil, domain=(_off_jumps,), torch=T("ceil")),
    S("round", rg.round, np.round, domain=(_off_jumps,), torch=T("round")),
    S("sign", rg.sign, np.sign, domain=(away_from_zero,), torch=T("sign")),
    S("rsqrt", rg.rsqrt, lambda x: 1 / np.sqrt(x), domain=(positive,), torch=T("rsqrt")),
    S("log2", rg.log2, np.log2, domain=(positive,), torch=T("log2")),
    S("log10", rg.log10, np.log10, domain=(positive,), torch=T("log10")),
    S("tan", rg.tan, np.tan, domain=(_inside(1.2),), torch=T("tan")),
    S("asin", rg.asin, np.arcsin, domain=(_inside(0.9),), torch=T("asin")),
    S("acos", rg.acos, np.arccos, domain=(_inside(0.9),), torch=T("acos")),
    S("atan", rg.atan, np.arctan, torch=T("atan")),
    S("sinh", rg.sinh, np.sinh, torch=T("sinh")),
    S("cosh", rg.cosh, np.cosh, torch=T("cosh")),
    S("atan2", rg.atan2, np.arctan2, 2, BROADCAST2, (None, away_from_zero), torch=T("atan2")),
    S("logaddexp", rg.logaddexp, np.logaddexp, 2, BROADCAST2, torch=T("logaddexp")),
    # cumulative
    S("cumsum", lambda x, axis: rg.cumsum(x, axis), lambda x, axis: np.cumsum(x, axis), shapes=NONSCALAR,
      params=one_axis, torch=lambda x, axis: torch.cumsum(x, axis)),
    S("cumprod", lambda x, axis: rg.cumprod(x, axis), lambda x, axis: np.cumprod(x, axis), shapes=NONSCALAR,
      params=one_axis, torch=lambda x, axis: torch.cumprod(x, axis)),
    S("logcumsumexp", lambda x, axis: rg.logcumsumexp(x, axis), lambda x, axis: np.logaddexp.accumulate(x, axis),
      shapes=NONSCALAR, params=one_axis, torch=lambda x, axis: torch.logcumsumexp(x, axis)),
    # ordering: the values' gradient scattered back to where they came from
    S("sort", lambda x, axis, descending: rg.sort(x, axis, descending).values, _sorted, shapes=NONSCALAR,
      params=axis_and_direction, torch=lambda x, axis, descending: torch.sort(x, axis, descending).values),
    S("topk", lambda x, axis, k, largest: rg.topk(x, k, axis, largest).values, _topk, shapes=NONSCALAR,
      params=topk_params, torch=lambda x, axis, k, largest: torch.topk(x, k, axis, largest).values),
    # rearranging
    S("clone", rg.clone, np.copy, torch=lambda x: x.clone()),
    S("flip", rg.flip, lambda x, dims: np.flip(x, dims), shapes=NONSCALAR, params=flip_dims,
      torch=lambda x, dims: torch.flip(x, dims)),
    S("roll", lambda x, shifts, dims: rg.roll(x, shifts, dims), lambda x, shifts, dims: np.roll(x, shifts, dims),
      shapes=NONSCALAR, params=roll_params, torch=lambda x, shifts, dims: torch.roll(x, shifts, dims)),
    S("repeat", lambda x, sizes: x.repeat(*sizes), _repeat, shapes=NONSCALAR, params=repeat_sizes,
      torch=lambda x, sizes: x.repeat(*sizes)),
    S("tril", rg.tril, lambda x, diagonal: np.tril(x, diagonal), shapes=MATRICES, params=diagonal,
      torch=lambda x, diagonal: torch.tril(x, diagonal)),
    S("triu", rg.triu, lambda x, diagonal: np.triu(x, diagonal), shapes=MATRICES, params=diagonal,
      torch=lambda x, diagonal: torch.triu(x, diagonal)),
    S("masked_fill", lambda x, v, mask: rg.masked_fill(x, mask, v), lambda x, v, mask: np.where(mask, v, x), 2,
      NONSCALAR.map(lambda s: (s[0], ())), params=fill_mask,
      torch=lambda x, v, mask: x.masked_fill(torch.from_numpy(mask), v)),
    # einsum: broadcast batch axes, a diagonal with an outer product, a contraction over two letters
    S("einsum_batched_matmul", lambda a, b: rg.einsum("...ij,...jk->...ik", a, b), np.matmul, 2,
      _batched_matrices(), torch=lambda a, b: torch.einsum("...ij,...jk->...ik", a, b)),
    S("einsum_diagonal_outer", lambda a, b: rg.einsum("ii,j->ij", a, b), lambda a, b: np.einsum("ii,j->ij", a, b),
      2, _square_and_vector(), torch=lambda a, b: torch.einsum("ii,j->ij", a, b)),
    S("einsum_contract", lambda a, b: rg.einsum("ijk,ik->j", a, b), lambda a, b: np.einsum("ijk,ik->j", a, b),
      2, _three_way(), torch=lambda a, b: torch.einsum("ijk,ik->j", a, b)),
    # norms over drawn axes (the ∞-norm's inputs are distinct: no ties)
    S("norm_2", lambda x, axis, keepdims: rg.norm(x, 2, axis, keepdims), _np_norm(2), shapes=NONSCALAR,
      params=reduce_params, torch=_torch_norm(2)),
    S("norm_3", lambda x, axis, keepdims: rg.norm(x, 3, axis, keepdims), _np_norm(3), shapes=NONSCALAR,
      params=reduce_params, domain=(away_from_zero,), torch=_torch_norm(3)),
    S("norm_1", lambda x, axis, keepdims: rg.norm(x, 1, axis, keepdims), _np_norm(1), shapes=NONSCALAR,
      params=reduce_params, domain=(away_from_zero,), torch=_torch_norm(1)),
    S("norm_inf", lambda x, axis, keepdims: rg.norm(x, math.inf, axis, keepdims), _np_norm(math.inf),
      shapes=NONSCALAR, params=reduce_params, domain=(away_from_zero,), torch=_torch_norm(math.inf)),
]
SPECS += SPECS_MATH_AND_TENSOR_OPS
SPEC.update({s.name: s for s in SPECS_MATH_AND_TENSOR_OPS})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- losses: options
# weight, label_smoothing, pos_weight, ignore_index of any value, unbatched (C,) inputs and
# probability targets as a differentiable input. Their refusals are tested in tests/ops/test_losses_edges.py.
LOGITS_OR_UNBATCHED = st.one_of(LOGITS, st.integers(1, 4).map(lambda c: ((c,),)))


def _classes(shape):
    return shape[0] if len(shape) == 1 else shape[1]


def _row_distribution(a):
    """Each row (along the class axis) a probability distribution: probability targets."""
    return np.exp(_log_softmax(a, 0 if a.ndim == 1 else 1))


def _class_index_options(smoothing):
    def params(shapes):
        shape = shapes[0]
        c = _classes(shape)
        batch = () if len(shape) == 1 else (shape[0],) + shape[2:]

        def targets(ignore_index):
            def make(r):
                y = np.array(r.integers(0, c, batch))
                flat = y.reshape(-1)  # a view, 0-d included
                if y.size > 1:
                    flat[0] = ignore_index  # ignored (any value, a class included): adds nothing
                if (y == ignore_index).all():
                    flat[-1] = (ignore_index + 1) % c  # one entry still counts (the mean stays finite)
                return y
            return _seeded(make)
        options = {"weight": st.one_of(st.none(), _seeded(lambda r: 0.2 + r.random(c))),
                   "reduction": st.sampled_from(["mean", "sum", "none"])}
        if smoothing:
            options["label_smoothing"] = st.sampled_from([0.0, 0.1, 0.6])
        return st.sampled_from([-100, -1] + ([0, c - 1] if c > 1 else [])).flatmap(lambda k: st.fixed_dictionaries(
            {"target": targets(k), "ignore_index": st.just(k), **options}))
    return params


def probability_target_options(shapes):
    c = _classes(shapes[0])
    return st.fixed_dictionaries({"weight": st.one_of(st.none(), _seeded(lambda r: 0.2 + r.random(c))),
                                  "label_smoothing": st.sampled_from([0.0, 0.1, 0.6]),
                                  "reduction": st.sampled_from(["mean", "sum", "none"])})


def _cross_entropy_full(z, target, reduction, ignore_index=-100, weight=None, label_smoothing=0.0):
    """PyTorch's cross-entropy written out: −Σ_c T·log softmax(z), T the (smoothed, weighted) target."""
    unbatched = z.ndim == 1
    if unbatched:
        z, target = z[None], target[None]
    c, eps = z.shape[1], label_smoothing
    w = np.ones(c) if weight is None else weight
    w_c = w.reshape((1, c) + (1,) * (z.ndim - 2))
    logp = _log_softmax(z, 1)
    if target.dtype.kind == "f":
        loss = -((target * (1 - eps) + eps / c) * w_c * logp).sum(axis=1)
        denominator = loss.size
    else:
        keep = target != ignore_index
        yi = np.expand_dims(np.where(keep, target, 0), 1)
        onehot = np.zeros_like(z)
        np.put_along_axis(onehot, yi, 1.0, axis=1)
        loss = -(((1 - eps) * onehot + eps / c) * w_c * np.expand_dims(keep, 1) * logp).sum(axis=1)
        denominator = (np.take_along_axis(w_c * np.ones_like(z), yi, axis=1).squeeze(1) * keep).sum()
    if unbatched:
        loss = loss[0]
    return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / denominator}[reduction]


def _torch_array(a):
    return None if a is None else torch.from_numpy(a) if isinstance(a, np.ndarray) else a


def _torch_cross_entropy(z, target, reduction, ignore_index=-100, weight=None, label_smoothing=0.0):
    return _F().cross_entropy(z, _torch_array(target), weight=_torch_array(weight), ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=label_smoothing)


def _weight_shapes(shape, r):
    """A shape that broadcasts to ``shape`` without growing it: some axes 1, some leading axes dropped."""
    kept = tuple(s if r.random() < 0.5 else 1 for s in shape)
    return kept[r.integers(0, len(shape) + 1):]


def binary_weight_options(with_pos_weight):
    def params(shapes):
        shape = shapes[0]
        weight = st.one_of(st.none(), _seeded(lambda r: np.asarray(0.2 + r.random(_weight_shapes(shape, r)))))
        options = {"weight": weight, "reduction": st.sampled_from(["mean", "sum", "none"])}
        if with_pos_weight:
            options["pos_weight"] = st.one_of(st.none(), _seeded(
                lambda r: np.asarray(0.2 + 2 * r.random(_weight_shapes(shape, r)))))
        return st.fixed_dictionaries(options)
    return params


def _bce_full(p, y, reduction, weight=None):
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return _reduce(loss if weight is None else loss * weight, reduction)


def _bce_logits_full(z, y, reduction, weight=None, pos_weight=None):
    q = 1.0 if pos_weight is None else pos_weight
    loss = (1 - y) * z + (1 + (q - 1) * y) * np.logaddexp(0.0, -z)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _nll_options(z, target, reduction, ignore_index, weight):
    return rg.nll_loss(rg.log_softmax(z, 0 if z.ndim == 1 else 1), target, weight, ignore_index=ignore_index,
                       reduction=reduction)


SPECS_LOSS_OPTIONS = [
    S("cross_entropy_options", _cross_entropy_torch_axis, _cross_entropy_full, shapes=LOGITS_OR_UNBATCHED,
      params=_class_index_options(smoothing=True), torch=_torch_cross_entropy),
    S("cross_entropy_probability_targets_differentiable", rg.cross_entropy, _cross_entropy_full, 2,
      LOGITS_OR_UNBATCHED.map(lambda s: (s[0], s[0])), (None, _row_distribution), probability_target_options,
      torch=_torch_cross_entropy),
    S("nll_loss_options", _nll_options, _cross_entropy_full, shapes=LOGITS_OR_UNBATCHED,
      params=_class_index_options(smoothing=False),
      torch=lambda z, target, reduction, ignore_index, weight: _F().nll_loss(
          torch.log_softmax(z, 0 if z.ndim == 1 else 1), _torch_array(target), weight=_torch_array(weight),
          ignore_index=ignore_index, reduction=reduction)),
    S("binary_cross_entropy_weighted", rg.binary_cross_entropy, _bce_full, 2, SAME2, (probability, probability),
      binary_weight_options(False), torch=lambda p, y, reduction, weight: _F().binary_cross_entropy(
          p, y, weight=_torch_array(weight), reduction=reduction)),
    S("binary_cross_entropy_with_logits_weighted", rg.binary_cross_entropy_with_logits, _bce_logits_full, 2, SAME2,
      (None, probability), binary_weight_options(True),
      torch=lambda z, y, reduction, weight, pos_weight: _F().binary_cross_entropy_with_logits(
          z, y, weight=_torch_array(weight), pos_weight=_torch_array(pos_weight), reduction=reduction)),
]
SPECS += SPECS_LOSS_OPTIONS
SPEC.update({s.name: s for s in SPECS_LOSS_OPTIONS})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- convolution: groups, conv1d, conv_transpose2d
# Grouped conv2d, conv1d and conv_transpose2d against NumPy references written from their
# definitions (windows per group; the transposed conv as an explicit scatter) and PyTorch.
@st.composite
def _grouped_shapes(draw, spatial, transposed=False):
    """(x, weight, bias) shapes with 1 or 2 groups: conv weight (g·o, c, k…), transposed (g·c, o, k…);
    the bias (g·o,) lets the params strategy read the groups back."""
    g, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    n, k = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    sizes = tuple(draw(st.integers(3, 5)) for _ in range(spatial))
    weight = (g * c, o) if transposed else (g * o, c)
    return (n, g * c) + sizes, weight + (k,) * spatial, (g * o,)


GROUPED_CONV2D, CONV1D, CONV_TRANSPOSE2D = _grouped_shapes(2), _grouped_shapes(1), _grouped_shapes(2, True)


def grouped_conv_params(shapes):
    """stride, padding, dilation and the groups the shapes were drawn with, the kernel fitting."""
    x, w = shapes[0], shapes[1]
    smallest, k = min(x[2:]), w[2]

    def fits(p):
        return p["dilation"] * (k - 1) + 1 <= smallest + 2 * p["padding"]
    return st.fixed_dictionaries({"stride": st.integers(1, 2), "padding": st.integers(0, 1),
                                  "dilation": st.integers(1, 2), "groups": st.just(x[1] // w[1])}).filter(fits)


def transpose_params(shapes):
    """stride, padding, output_padding (< stride or < dilation), dilation, groups, with a non-empty output."""
    x, w, b = shapes
    k = w[2]

    def valid(p):
        small = p["output_padding"] < p["stride"] or p["output_padding"] < p["dilation"]
        return small and (min(x[2:]) - 1) * p["stride"] - 2 * p["padding"] + p["dilation"] * (k - 1) + 1 > 0
    return st.fixed_dictionaries({"stride": st.integers(1, 2), "padding": st.integers(0, 1),
                                  "output_padding": st.integers(0, 1), "dilation": st.integers(1, 2),
                                  "groups": st.just(b[0] // w[1])}).filter(valid)


def _grouped_conv2d(x, w, b, stride, padding, dilation, groups):
    parts = zip(np.split(x, groups, axis=1), np.split(w, groups, axis=0))
    out = np.concatenate([_conv2d(xg, wg, None, stride, padding, dilation) for xg, wg in parts], axis=1)
    return out + b[:, None, None]


def _conv1d(x, w, b, stride, padding, dilation, groups):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    span = dilation * (w.shape[2] - 1) + 1
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=2)[:, :, ::stride, ::dilation]  # (N, C, L, k)
    parts = zip(np.split(win, groups, axis=1), np.split(w, groups, axis=0))
    return np.concatenate([np.einsum("ncli,oci->nol", xg, wg) for xg, wg in parts], axis=1) + b[:, None]


def _conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """Each input pixel (i, j) adds x·w's kernel at (s·i, s·j), spaced by the dilation; then crop."""
    n, c, h, wd = x.shape
    og, k = w.shape[1], w.shape[2]
    cg, span = c // groups, dilation * (k - 1) + 1
    full = np.zeros((n, og * groups, (h - 1) * stride + span + output_padding,
                     (wd - 1) * stride + span + output_padding))
    for g in range(groups):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        for i in range(h):
            for j in range(wd):
                full[:, g * og:(g + 1) * og, i * stride:i * stride + span:dilation,
                     j * stride:j * stride + span:dilation] += np.einsum("nc,cokl->nokl", xs[:, :, i, j], ws)
    p = padding
    return full[:, :, p:full.shape[2] - p, p:full.shape[3] - p] + b[:, None, None]


SPECS_CONV_FAMILY = [
    S("conv2d_groups", lambda x, w, b, **p: rg.nn.functional.conv2d(x, w, b, **p), _grouped_conv2d, 3,
      GROUPED_CONV2D, params=grouped_conv_params,
      torch=lambda x, w, b, stride, padding, dilation, groups: _F().conv2d(x, w, b, stride, padding, dilation,
                                                                           groups)),
    S("conv1d", lambda x, w, b, **p: rg.nn.functional.conv1d(x, w, b, **p), _conv1d, 3, CONV1D,
      params=grouped_conv_params,
      torch=lambda x, w, b, stride, padding, dilation, groups: _F().conv1d(x, w, b, stride, padding, dilation,
                                                                           groups)),
    S("conv_transpose2d", lambda x, w, b, **p: rg.nn.functional.conv_transpose2d(x, w, b, **p), _conv_transpose2d,
      3, CONV_TRANSPOSE2D, params=transpose_params,
      torch=lambda x, w, b, stride, padding, output_padding, dilation, groups: _F().conv_transpose2d(
          x, w, b, stride, padding, output_padding, groups, dilation)),
]
SPECS += SPECS_CONV_FAMILY
SPEC.update({s.name: s for s in SPECS_CONV_FAMILY})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- padding, indexing, reductions and extrema
# In PyTorch's signatures: F.pad's modes, index_select, and reductions taking dim=/keepdim=/correction=.
# (C, …) or (N, C, …) inputs with 1 to 3 padded trailing dims, as PyTorch's non-constant modes take
PAD_MODE_INPUTS = st.tuples(st.sampled_from([(2,), (1, 2)]), st.lists(st.integers(2, 4), min_size=1, max_size=3)) \
    .map(lambda t: (t[0] + tuple(t[1]),))


def _pad_for(shapes, mode):
    """PyTorch pad tuples (last dim first) for the trailing dims of ``shapes[0]``: widths below each
    size for reflect, at most the size for circular, up to 3 for replicate (what PyTorch accepts)."""
    shape = shapes[0]
    k = min(len(shape) - 1, 3)
    limit = {"reflect": lambda n: n - 1, "replicate": lambda n: 3, "circular": lambda n: n}[mode]
    widths = [st.integers(0, limit(n)) for n in reversed(shape[len(shape) - k:]) for _ in range(2)]
    return st.fixed_dictionaries({"pad": st.tuples(*widths)})


def _pad_mode_row(mode, numpy_mode):
    def numpy_pad(x, pad):
        k = len(pad) // 2
        widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]
        return np.pad(x, widths, mode=numpy_mode)
    return S(f"pad_{mode}", lambda x, pad: rg.nn.functional.pad(x, pad, mode=mode), numpy_pad,
             shapes=PAD_MODE_INPUTS, params=lambda shapes: _pad_for(shapes, mode),
             torch=lambda x, pad: _F().pad(x, pad, mode=mode))


def index_select_params(shapes):
    """A dim and a 1-D index along it, repeats allowed (their gradients accumulate)."""
    shape = shapes[0]
    return st.integers(0, len(shape) - 1).flatmap(lambda d: st.fixed_dictionaries(
        {"dim": st.just(d), "index": _seeded(lambda r: r.integers(0, shape[d], r.integers(0, 5)))}))


def torch_dim_params(shapes):
    """PyTorch's dim: one int (negative too) or a tuple, and keepdim."""
    ndim = len(shapes[0])
    dims = st.integers(-ndim, ndim - 1) if ndim else st.just(0)
    if ndim:
        dims = st.one_of(dims, st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple))
    return st.fixed_dictionaries({"dim": dims, "keepdim": st.booleans()})


def torch_var_params(shapes):
    """dim, keepdim and correction 0 or 1 (PyTorch's unbiased default), leaving degrees of freedom."""
    shape = shapes[0]

    def counted(p):
        dims = (p["dim"],) if isinstance(p["dim"], int) else p["dim"]
        return math.prod(shape[d] for d in dims) > p["correction"] + 1
    return torch_dim_params(shapes).flatmap(lambda p: st.fixed_dictionaries(
        {"dim": st.just(p["dim"]), "keepdim": st.just(p["keepdim"]), "correction": st.sampled_from([0, 1])})) \
        .filter(counted)


def _np_axis(dim):
    return dim if isinstance(dim, int) else tuple(dim)


def _np_normalize(x, dim):
    return x / np.maximum(np.sqrt((x * x).sum(axis=dim, keepdims=True)), 1e-12)


SPECS_TORCH_SIGNATURES = [
    _pad_mode_row("reflect", "reflect"),
    _pad_mode_row("replicate", "edge"),
    _pad_mode_row("circular", "wrap"),
    S("index_select", lambda x, dim, index: rg.index_select(x, dim, rg.tensor(index)),
      lambda x, dim, index: np.take(x, index, axis=dim), shapes=NONSCALAR, params=index_select_params,
      torch=lambda x, dim, index: torch.index_select(x, dim, torch.from_numpy(index))),
    S("sum_dim", lambda x, dim, keepdim: rg.sum(x, dim=dim, keepdim=keepdim),
      lambda x, dim, keepdim: np.sum(x, axis=_np_axis(dim), keepdims=keepdim), shapes=NONSCALAR,
      params=torch_dim_params, torch=lambda x, dim, keepdim: torch.sum(x, dim=dim, keepdim=keepdim)),
    S("mean_dim", lambda x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
      lambda x, dim, keepdim: np.mean(x, axis=_np_axis(dim), keepdims=keepdim), shapes=NONSCALAR,
      params=torch_dim_params, torch=lambda x, dim, keepdim: torch.mean(x, dim=dim, keepdim=keepdim)),
    S("var_correction", lambda x, dim, keepdim, correction: rg.var(x, dim=dim, keepdim=keepdim, correction=correction),
      lambda x, dim, keepdim, correction: np.var(x, axis=_np_axis(dim), keepdims=keepdim, ddof=correction),
      shapes=NONSCALAR, params=torch_var_params,
      torch=lambda x, dim, keepdim, correction: torch.var(x, dim=dim, keepdim=keepdim, correction=correction)),
    S("amax", lambda x, dim, keepdim: rg.amax(x, dim, keepdim), lambda x, dim, keepdim: np.amax(
        x, axis=_np_axis(dim), keepdims=keepdim), shapes=NONSCALAR, domain=(distinct,), params=torch_dim_params,
      torch=lambda x, dim, keepdim: torch.amax(x, dim, keepdim)),
    S("logsumexp_dim", lambda x, dim, keepdim: rg.logsumexp(x, dim=dim, keepdim=keepdim),
      lambda x, dim, keepdim: np.log(np.sum(np.exp(x), axis=_np_axis(dim), keepdims=keepdim)), shapes=NONSCALAR,
      params=torch_dim_params, torch=lambda x, dim, keepdim: torch.logsumexp(x, dim=dim, keepdim=keepdim)),
    S("max_dim_values", lambda x, axis: rg.max(x, dim=axis).values, lambda x, axis: np.max(x, axis=axis),
      shapes=NONSCALAR, params=one_axis, torch=lambda x, axis: torch.max(x, dim=axis).values),
    S("normalize", lambda x, axis: rg.nn.functional.normalize(x, dim=axis), lambda x, axis: _np_normalize(x, axis),
      shapes=NONSCALAR, params=one_axis, torch=lambda x, axis: _F().normalize(x, dim=axis)),
]
SPECS += SPECS_TORCH_SIGNATURES
SPEC.update({s.name: s for s in SPECS_TORCH_SIGNATURES})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- division with rounding, remainders, more math
# PyTorch's //, %, fmod, div(rounding_mode=...), reciprocal, expm1, exp2, trunc, frac, add/sub's alpha and
# clip's min=/max=. Their integer dtypes, division by zero, Python scalars and errors are tested in
# tests/ops/test_added_torch_ops.py (floor_divide, whose backward PyTorch refuses, is tested there only).
def _off_quotient_jumps(a):
    """Divisors with |y| in [0.2, 2] (off 0, as ``away_from_zero``): the x/y of random x are then off
    the integers where ⌊x/y⌋, trunc(x/y), remainder and fmod jump, but for a negligible chance."""
    return away_from_zero(a)


SPECS_DIVISION_AND_MORE = [
    S("remainder", rg.remainder, np.remainder, 2, BROADCAST2, (None, _off_quotient_jumps), torch=T("remainder")),
    S("remainder_operator", lambda x, y: x % y, np.remainder, 2, BROADCAST2, (None, _off_quotient_jumps),
      torch=lambda x, y: x % y),
    # PyTorch has no derivative for a Python number % a tensor (its backward raises): no torch here
    S("remainder_reflected", lambda x: 1.5 % x, lambda x: np.remainder(1.5, x), domain=(_off_quotient_jumps,)),
    S("fmod", rg.fmod, np.fmod, 2, BROADCAST2, (None, _off_quotient_jumps), torch=T("fmod")),
    S("div_floor", lambda x, y: rg.div(x, y, rounding_mode="floor"), np.floor_divide, 2, BROADCAST2,
      (None, _off_quotient_jumps), torch=lambda x, y: torch.div(x, y, rounding_mode="floor")),
    S("div_trunc", lambda x, y: x.div(y, rounding_mode="trunc"), lambda x, y: np.trunc(x / y), 2, BROADCAST2,
      (None, _off_quotient_jumps), torch=lambda x, y: torch.div(x, y, rounding_mode="trunc")),
    S("reciprocal", rg.reciprocal, np.reciprocal, domain=(away_from_zero,), torch=T("reciprocal")),
    S("expm1", rg.expm1, np.expm1, torch=T("expm1")),
    S("exp2", rg.exp2, np.exp2, torch=T("exp2")),
    S("trunc", rg.trunc, np.trunc, domain=(_off_jumps,), torch=T("trunc")),
    S("frac", lambda x: x.frac(), lambda x: x - np.trunc(x), domain=(_off_jumps,), torch=T("frac")),
    S("add_alpha", lambda x, y: rg.add(x, y, alpha=2.5), lambda x, y: x + 2.5 * y, 2, BROADCAST2,
      torch=lambda x, y: torch.add(x, y, alpha=2.5)),
    S("sub_alpha", lambda x, y: x.sub(y, alpha=-0.5), lambda x, y: x + 0.5 * y, 2, BROADCAST2,
      torch=lambda x, y: torch.sub(x, y, alpha=-0.5)),
    S("clamp_via_clip_keywords", lambda x: rg.clip(x, min=-0.5, max=0.7), lambda x: np.clip(x, -0.5, 0.7),
      domain=(off_clamp_bounds,), torch=lambda x: torch.clip(x, min=-0.5, max=0.7)),
]
def tile_dims(shapes):
    """Tile counts, fewer than the axes too (PyTorch puts 1s in front), or more (new leading axes)."""
    ndim = len(shapes[0])
    return st.lists(st.integers(0, 3), min_size=1, max_size=ndim + 1).map(lambda d: {"dims": tuple(d)})


def _tile(x, dims):
    return np.tile(x, dims)


SPECS_DIVISION_AND_MORE += [
    S("tile", lambda x, dims: rg.tile(x, dims), _tile, shapes=NONSCALAR, params=tile_dims,
      torch=lambda x, dims: torch.tile(x, dims)),
    S("masked_select", lambda x, mask: rg.masked_select(x, mask), lambda x, mask: x[mask], shapes=NONSCALAR,
      params=fill_mask, torch=lambda x, mask: torch.masked_select(x, torch.from_numpy(mask))),
]
SPECS += SPECS_DIVISION_AND_MORE
SPEC.update({s.name: s for s in SPECS_DIVISION_AND_MORE})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- special functions and more elementwise math
# PyTorch's special functions (ops/special.py, rg.special) and the elementwise math beside them
# (ops/elementwise_extra.py), on domains off their poles, kinks and clamps. Their special points (xlogy at
# x = 0, logit's eps, sinc and i1 at 0, fmax/fmin ties and NaNs), dtypes and errors are tested against
# PyTorch in tests/ops/test_special.py. References from SciPy, imported when a row is drawn.
def _scipy(name):
    def ref(*args):
        from scipy import special
        return getattr(special, name)(*args)
    return ref


def _TS(name):
    """``torch.special.<name>``, looked up when called."""
    return lambda *args, **kwargs: getattr(torch.special, name)(*args, **kwargs)


def _full_like(x, value):
    """PyTorch's ``full_like`` for a retrograd tensor: ``value`` in x's shape and dtype (gammainc's constant a)."""
    return rg.tensor(np.full(x.shape, value).astype(x.dtype))


def _first_policy(fn):
    """``fn`` under the "first" convention: PyTorch gives fmax's and fmin's ties all to input."""
    def call(*args):
        with rg.conventions.policy("first"):
            return fn(*args)
    return call


_GAMMA_A = 1.7
SPECS_SPECIAL = [
    S("lgamma", rg.lgamma, _scipy("gammaln"), domain=(positive,), torch=T("lgamma")),
    # (no torch: digamma's gradient is PyTorch's trigamma, good to ~4e-10 relative below x = 1 only; retrograd
    # keeps SciPy's. tests/ops/test_special.py compares both with PyTorch at that tolerance)
    S("digamma", rg.digamma, _scipy("psi"), domain=(positive,)),
    S("polygamma2", lambda x: rg.polygamma(2, x), lambda x: _scipy("polygamma")(2, x), domain=(positive,),
      torch=lambda x: torch.polygamma(2, x)),
    S("mvlgamma", lambda x: rg.mvlgamma(x, 3), lambda x: sum(_scipy("gammaln")(x - j / 2) for j in range(3))
      + 1.5 * math.log(math.pi), domain=(lambda a: 1.5 + positive(a),), torch=lambda x: torch.mvlgamma(x, 3)),
    S("erfc", rg.erfc, _scipy("erfc"), torch=T("erfc")),
    # x in (−1, 2): erfcx grows like 2e^(x²) for negative x, and a projection summing terms of 10⁶ leaves the
    # second-order finite differences of the small ones no digits (the analytic second derivative agrees with
    # PyTorch's everywhere: test_special.py)
    S("erfcx", rg.special.erfcx, _scipy("erfcx"), domain=(lambda a: 1.5 * np.tanh(a) + 0.5,), torch=_TS("erfcx")),
    S("erfinv", rg.erfinv, _scipy("erfinv"), domain=(_inside(0.9),), torch=T("erfinv")),
    S("ndtr", rg.special.ndtr, _scipy("ndtr"), torch=_TS("ndtr")),
    S("ndtri", rg.special.ndtri, _scipy("ndtri"), domain=(probability,), torch=_TS("ndtri")),
    S("log_ndtr", rg.special.log_ndtr, _scipy("log_ndtr"), torch=_TS("log_ndtr")),
    S("i0", rg.i0, _scipy("i0"), torch=T("i0")),
    S("i0e", rg.special.i0e, _scipy("i0e"), domain=(away_from_zero,), torch=_TS("i0e")),
    S("i1", rg.special.i1, _scipy("i1"), torch=_TS("i1")),
    S("i1e", rg.special.i1e, _scipy("i1e"), domain=(away_from_zero,), torch=_TS("i1e")),
    S("logit", rg.logit, _scipy("logit"), domain=(probability,), torch=T("logit")),
    S("logit_eps", lambda x: rg.logit(x, 0.2), lambda x: _scipy("logit")(np.clip(x, 0.2, 0.8)),
      domain=(_off_bounds(0.2, 0.8),), torch=lambda x: torch.logit(x, 0.2)),
    S("sinc", rg.sinc, np.sinc, torch=T("sinc")),
    S("entr", rg.special.entr, _scipy("entr"), domain=(positive,), torch=_TS("entr")),
    S("xlogy", rg.xlogy, _scipy("xlogy"), 2, BROADCAST2, (None, positive), torch=T("xlogy")),
    S("xlog1py", rg.special.xlog1py, _scipy("xlog1py"), 2, BROADCAST2, (None, positive), torch=_TS("xlog1py")),
    S("zeta_q", lambda q: rg.special.zeta(3.0, q), lambda q: _scipy("zeta")(3.0, q), domain=(positive,),
      torch=lambda q: torch.special.zeta(3.0, q)),
    S("gammainc_x", lambda x: rg.special.gammainc(_full_like(x, _GAMMA_A), x),
      lambda x: _scipy("gammainc")(_GAMMA_A, x), domain=(positive,),
      torch=lambda x: torch.special.gammainc(torch.full_like(x, _GAMMA_A), x)),
    S("gammaincc_x", lambda x: rg.special.gammaincc(_full_like(x, _GAMMA_A), x),
      lambda x: _scipy("gammaincc")(_GAMMA_A, x), domain=(positive,),
      torch=lambda x: torch.special.gammaincc(torch.full_like(x, _GAMMA_A), x)),
    S("hypot", rg.hypot, np.hypot, 2, BROADCAST2, (away_from_zero, None), torch=T("hypot")),
    S("logaddexp2", rg.logaddexp2, np.logaddexp2, 2, BROADCAST2, torch=T("logaddexp2")),
    S("fmax", _first_policy(rg.fmax), np.fmax, 2, BROADCAST2, torch=T("fmax")),
    S("fmin", _first_policy(rg.fmin), np.fmin, 2, BROADCAST2, torch=T("fmin")),
    S("nextafter", rg.nextafter, np.nextafter, 2, BROADCAST2, torch=T("nextafter")),
    S("ldexp", rg.ldexp, lambda x, y: x * 2.0 ** y, 2, BROADCAST2, torch=T("ldexp")),
    S("float_power", rg.float_power, np.power, 2, BROADCAST2, (positive, None), torch=T("float_power")),
    S("lerp", rg.lerp, lambda a, b, w: a + w * (b - a), 3, SAME3, torch=T("lerp")),
    S("addcdiv", lambda a, b, c: rg.addcdiv(a, b, c, value=-0.5), lambda a, b, c: a - 0.5 * b / c, 3, SAME3,
      (None, None, away_from_zero), torch=lambda a, b, c: torch.addcdiv(a, b, c, value=-0.5)),
]
SPECS += SPECS_SPECIAL
SPEC.update({s.name: s for s in SPECS_SPECIAL})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- linear algebra: rg.linalg's primitive ops
# Batches of small matrices moved into each op's domain: invertible and well conditioned (inv, solve,
# det), symmetric positive-definite (cholesky), full rank with well-separated singular values or
# eigenvalues (qr, pinv, svd, eigh: their vectors' derivatives divide by the gaps). Functions of a
# symmetric matrix see sym(x) = (x + xᵀ)/2, and eigen- and singular vectors enter squared (invariant
# under their arbitrary signs), as PyTorch's own tests do. Errors, singular inputs, float32 and the
# composed functions (norms, lstsq, matrix_power …) are tested in tests/ops/test_linalg.py.
def well_conditioned(a):
    """I + (0.9/n)·tanh(a) (strictly diagonally dominant: invertible, κ small), its first row negated
    where a₀₀ < 0 (determinants of both signs)."""
    n = a.shape[-1]
    m = np.eye(n) + (0.9 / n) * np.tanh(a)
    m[..., 0, :] *= np.sign(a[..., 0, 0] + 1e-12)[..., None]
    return m


def symmetric_positive_definite(a):
    """B Bᵀ + I with B = tanh(a)/2: eigenvalues in [1, 1 + n/4]."""
    b = 0.5 * np.tanh(a)
    return b @ np.swapaxes(b, -1, -2) + np.eye(a.shape[-1])


def separated_eigenvalues(a):
    """sym(a)'s eigenvectors with eigenvalues −n/2 + 1, −n/2 + 2, … (gaps of 1)."""
    _, v = np.linalg.eigh(_np_sym(a))
    n = a.shape[-1]
    return (v * (np.arange(n) + 1.0 - n / 2)[..., None, :]) @ np.swapaxes(v, -1, -2)


def separated_singular_values(a):
    """a's singular vectors with singular values k, k − 1, …, 1 (gaps of 1, full rank)."""
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    k = min(a.shape[-2:])
    return (u * np.arange(k, 0, -1.0)) @ vh


def _np_sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


def _sym(x):
    return (x + x.mT) * 0.5


def _checked_sym(x):
    """``_sym`` after eigh's own shape check of its input (square matrices): a bad input is refused by linalg.eigh,
    not by the symmetrising ops in front of it."""
    return _sym(_linalg_matrices("linalg.eigh", x, dtype=False))


def _torch_checked_sym(x):
    """PyTorch's side of ``_checked_sym``: torch.linalg.eigh refuses what is not square first."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        torch.linalg.eigh(x)
    return _sym(x)


@st.composite
def _square_matrices(draw):
    n = draw(st.integers(1, 3))
    return (draw(array_shapes(min_dims=0, max_dims=1, max_side=2)) + (n, n),)


@st.composite
def _solve_shapes(draw):
    n, k = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2)).input_shapes
    return batch[0] + (n, n), batch[1] + (n, k)


@st.composite
def _rectangular(draw, tall):
    """(…, m, n) with m ≥ n (``tall``) or m < n."""
    small, extra = draw(st.integers(1, 3)), draw(st.integers(0 if tall else 1, 2))
    m, n = (small + extra, small) if tall else (small, small + extra)
    return (draw(array_shapes(min_dims=0, max_dims=1, max_side=2)) + (m, n),)


SQUARE, SOLVE = _square_matrices(), _solve_shapes()
TALL, WIDE = _rectangular(True), _rectangular(False)
ANY_MATRIX = st.one_of(TALL, WIDE)


def _np_solve(a, b):
    """np.linalg.solve with PyTorch's rule for B: a batch of vectors when it is A's shape without its last dim."""
    if b.ndim == a.ndim - 1 and b.shape == a.shape[:-1]:
        return np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.solve(a, b)


def _np_qr(x):
    q, r = np.linalg.qr(x)
    return np.concatenate([q.reshape(q.shape[:-2] + (-1,)), r.reshape(r.shape[:-2] + (-1,))], -1)


def _flat_matrices(m):
    """(…, a, b) as (…, a·b), with the size written out: a reshape to -1 is ambiguous in an empty batch."""
    return m.reshape(tuple(m.shape[:-2]) + (m.shape[-2] * m.shape[-1],))


def _qr(cat, linalg):
    def joined(x):
        q, r = linalg.qr(x)
        return cat([_flat_matrices(q), _flat_matrices(r)], -1)
    return joined


def _eigh(cat, linalg, sym):
    def joined(x):
        values, vectors = linalg.eigh(sym(x))
        return cat([values, _flat_matrices(vectors * vectors)], -1)
    return joined


def _svd(cat, linalg):
    def joined(x):
        u, s, vh = linalg.svd(x, full_matrices=False)
        return cat([_flat_matrices(u * u), s, _flat_matrices(vh * vh)], -1)
    return joined


def _np_expm(x):
    """exp(x) by its eigen-decomposition-free definition: the Taylor series in float64, scaled and squared."""
    s = max(0, int(np.ceil(np.log2(max(np.abs(x).sum(axis=-2).max(), 1e-300)))) + 1)
    y = x / 2.0 ** s
    term, total = np.broadcast_to(np.eye(x.shape[-1]), x.shape).copy(), np.broadcast_to(np.eye(x.shape[-1]), x.shape)
    for k in range(1, 30):
        term = term @ y / k
        total = total + term
    for _ in range(s):
        total = total @ total
    return total


class _TorchLinalg:
    """``torch.linalg`` looked up when called (the table imports without PyTorch)."""
    def __getattr__(self, name):
        return getattr(torch.linalg, name)


_TL = _TorchLinalg()


def _torch_cat(xs, dim):
    return torch.cat(xs, dim)


SPECS_LINALG = [
    S("linalg_inv", rg.linalg.inv, np.linalg.inv, shapes=SQUARE, domain=(well_conditioned,),
      torch=lambda x: torch.linalg.inv(x)),
    S("linalg_solve", rg.linalg.solve, _np_solve, 2, SOLVE, (well_conditioned, None),
      torch=lambda a, b: torch.linalg.solve(a, b)),
    S("linalg_det", rg.linalg.det, np.linalg.det, shapes=SQUARE, domain=(well_conditioned,),
      torch=lambda x: torch.linalg.det(x)),
    S("linalg_slogdet", lambda x: rg.linalg.slogdet(x).logabsdet, lambda x: np.linalg.slogdet(x)[1], shapes=SQUARE,
      domain=(well_conditioned,), torch=lambda x: torch.linalg.slogdet(x).logabsdet),
    S("linalg_cholesky", lambda x: rg.linalg.cholesky(_sym(x)), lambda x: np.linalg.cholesky(_np_sym(x)),
      shapes=SQUARE, domain=(symmetric_positive_definite,), torch=lambda x: torch.linalg.cholesky(_sym(x))),
    S("linalg_qr", _qr(rg.cat, rg.linalg), _np_qr, shapes=TALL, domain=(separated_singular_values,),
      torch=_qr(_torch_cat, _TL)),
    S("linalg_qr_wide", _qr(rg.cat, rg.linalg), _np_qr, shapes=WIDE, domain=(separated_singular_values,),
      torch=_qr(_torch_cat, _TL)),
    S("linalg_eigh", _eigh(rg.cat, rg.linalg, _checked_sym), _eigh(np.concatenate, np.linalg, _np_sym), shapes=SQUARE,
      domain=(separated_eigenvalues,), torch=_eigh(_torch_cat, _TL, _torch_checked_sym)),
    S("linalg_svd", _svd(rg.cat, rg.linalg), _svd(np.concatenate, np.linalg), shapes=ANY_MATRIX,
      domain=(separated_singular_values,), torch=_svd(_torch_cat, _TL)),
    S("linalg_pinv", rg.linalg.pinv, np.linalg.pinv, shapes=ANY_MATRIX, domain=(separated_singular_values,),
      torch=lambda x: torch.linalg.pinv(x)),
    S("linalg_matrix_exp", rg.linalg.matrix_exp, _np_expm, shapes=SQUARE, domain=(lambda a: 0.6 * a,),
      torch=lambda x: torch.linalg.matrix_exp(x)),
]
SPECS += SPECS_LINALG
SPEC.update({s.name: s for s in SPECS_LINALG})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- the LU factorisation: rg.linalg.lu_factor's op
# Square, wide and tall; the rest of the LU family (lu, lu_unpack, lu_solve) is composed and tested against
# PyTorch in tests/ops/test_linalg_lu.py.
def pivoted(a):
    """Leading k × k block 2I + 0.3·tanh(a), the rest 0.3·tanh(a), its first k rows reversed: partial pivoting
    swaps them back with a wide margin, so the pivots do not change under a finite-difference step."""
    k = min(a.shape[-2:])
    x = 0.3 * np.tanh(a)
    x[..., :k, :k] += 2 * np.eye(k)
    return np.ascontiguousarray(x[..., list(range(k))[::-1] + list(range(k, a.shape[-2])), :])  # gradcheck writes it


def _np_lu_factor(x):
    """LAPACK's packed LU (getrf), matrix by matrix."""
    from scipy.linalg import lapack
    out = np.empty_like(x)
    for index in np.ndindex(x.shape[:-2]):
        out[index] = lapack.dgetrf(x[index])[0]
    return out


SPECS_LINALG_LU = [
    S("linalg_lu_factor", lambda x: rg.linalg.lu_factor(x).LU, _np_lu_factor, shapes=SQUARE, domain=(pivoted,),
      torch=lambda x: torch.linalg.lu_factor(x).LU),
    S("linalg_lu_factor_rectangular", lambda x: rg.linalg.lu_factor(x).LU, _np_lu_factor, shapes=ANY_MATRIX,
      domain=(pivoted,), torch=lambda x: torch.linalg.lu_factor(x).LU),
]
SPECS += SPECS_LINALG_LU
SPEC.update({s.name: s for s in SPECS_LINALG_LU})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- CTC loss: rg.nn.functional.ctc_loss's primitive op
# Behind a log_softmax, as CTC is used and as PyTorch's own CTC gradchecks call it: the op's vjp is PyTorch's
# (Graves et al.'s eq. 16, the gradient with respect to a softmax's logits), which matches finite differences
# only through the log_softmax (src/retrograd/nn/ctc.py says why). The reference enumerates every path (C^T of
# them), so T and C stay tiny; targets always fit their inputs (impossible ones, zero_infinity, the errors and
# float32 are tested against PyTorch in tests/nn/test_losses_extra.py).
@st.composite
def _ctc_shapes(draw):
    return ((draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(2, 3))),)


def _ctc_case(shape, r):
    """Lengths, a blank and label sequences that fit their inputs (repeats need a blank between them)."""
    steps, n, classes = shape
    blank = int(r.integers(0, classes))
    labels = [c for c in range(classes) if c != blank]
    il = r.integers(0, steps + 1, n)
    il[0] = steps
    seqs = []
    for k in range(n):
        seq = [int(c) for c in r.choice(labels, size=int(r.integers(0, il[k] + 1)))]
        while len(seq) + sum(a == b for a, b in zip(seq, seq[1:])) > il[k]:
            seq.pop()
        seqs.append(seq)
    tl = np.array([len(s) for s in seqs], dtype=np.int64)
    padded = r.integers(0, classes, (n, max(int(tl.max()), 1)))  # entries past a target's length are ignored
    for k, s in enumerate(seqs):
        padded[k, :len(s)] = s
    return {"blank": blank, "input_lengths": il.astype(np.int64), "target_lengths": tl, "padded": padded,
            "concatenated": np.array([c for s in seqs for c in s], dtype=np.int64)}


def ctc_params(shapes):
    return st.tuples(_seeded(lambda r: _ctc_case(shapes[0], r)), st.booleans(),
                     st.sampled_from(["mean", "sum", "none"])).map(lambda p: {
                         "targets": p[0]["concatenated" if p[1] else "padded"], "input_lengths": p[0]["input_lengths"],
                         "target_lengths": p[0]["target_lengths"], "blank": p[0]["blank"], "reduction": p[2]})


def _np_ctc(x, targets, input_lengths, target_lengths, blank, reduction):
    """−log Σ over every path that collapses (repeats merged, then blanks dropped) to the target."""
    import itertools
    lp = _log_softmax(x, 2)
    offsets = np.concatenate([[0], np.cumsum(target_lengths)])
    losses = []
    for n in range(lp.shape[1]):
        tl = int(target_lengths[n])
        label = tuple(targets[offsets[n]:offsets[n + 1]] if targets.ndim == 1 else targets[n, :tl])
        logs = []
        for path in itertools.product(range(lp.shape[2]), repeat=int(input_lengths[n])):
            merged = [c for t, c in enumerate(path) if t == 0 or c != path[t - 1]]
            if tuple(c for c in merged if c != blank) == label:
                logs.append(sum(lp[t, n, c] for t, c in enumerate(path)))
        losses.append(-_logsumexp(np.array(logs)) if logs else np.inf)
    loss = np.array(losses)
    return {"none": loss, "sum": loss.sum(), "mean": (loss / np.maximum(target_lengths, 1)).mean()}[reduction]


def _rg_ctc(x, targets, input_lengths, target_lengths, blank, reduction):
    return rg.nn.functional.ctc_loss(rg.log_softmax(x, 2), targets, input_lengths, target_lengths, blank=blank,
                                     reduction=reduction)


def _torch_ctc(x, targets, input_lengths, target_lengths, blank, reduction):
    return _F().ctc_loss(torch.log_softmax(x, 2), torch.from_numpy(targets), torch.from_numpy(input_lengths),
                         torch.from_numpy(target_lengths), blank=blank, reduction=reduction)


SPECS_CTC = [
    S("ctc_loss", _rg_ctc, _np_ctc, shapes=_ctc_shapes(), params=ctc_params, torch=_torch_ctc),
]
SPECS += SPECS_CTC
SPEC.update({s.name: s for s in SPECS_CTC})
assert len(SPEC) == len(SPECS), "two rows share a name"


# ---------------------------------------------------------------- the inverse hyperbolic functions
def _above_one(a):
    """Values in [1.2, ∞): acosh away from its branch point at 1, where the derivative is infinite."""
    return 1.2 + np.abs(a)


SPECS_INVERSE_HYPERBOLIC = [
    S("asinh", rg.asinh, np.arcsinh, torch=T("asinh")),
    S("acosh", rg.acosh, np.arccosh, domain=(_above_one,), torch=T("acosh")),
    S("atanh", rg.atanh, np.arctanh, domain=(_inside(0.9),), torch=T("atanh")),
]
SPECS += SPECS_INVERSE_HYPERBOLIC
SPEC.update({s.name: s for s in SPECS_INVERSE_HYPERBOLIC})
assert len(SPEC) == len(SPECS), "two rows share a name"
