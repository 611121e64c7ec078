"""``vmap``: torch.func's vectorizing map, with its signature, its checks and its results.

``vmap(f, in_dims, out_dims)(*args)`` gives what stacking ``f`` over the examples gives: the
mapped dimension of each batched input taken away, ``f`` applied, the results stacked at
``out_dims``. PyTorch runs ``f`` once on batched tensors (a batching rule per op); here ``f``
runs once per example on slices taken with ops, and the results are stacked with ops — the
same values, and the same derivatives (slices and stacks are on the tape), so ``vmap`` composes
with ``grad``, ``jacrev``, ``jacfwd`` and itself (per-example gradients: ``vmap(grad(loss),
in_dims=(None, 0, 0))``); the cost is B calls of ``f``, not one. ``chunk_size`` is accepted
(the calls are made one at a time anyway). A mapped dimension of size 0 calls ``f`` once on an
example of zeros, for the outputs' shapes and dtypes, and returns them emptied.
"""

from __future__ import annotations

import functools

from .. import ops
from .. import random as rg_random
from ..autograd.backend import xp
from ..autograd.tensor import Tensor
from .pytree import LEAF, tree_flatten, tree_unflatten

_RANDOMNESS = ("error", "different", "same")


class VmapIndexError(IndexError, ValueError):
    """An ``out_dims`` out of range: an ``IndexError`` as torch raises, and a ``ValueError``."""


class VmapTypeError(TypeError, ValueError):
    """An ``in_dims`` of the wrong type: a ``TypeError`` as torch raises, and a ``ValueError``."""


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size: int | None = None):
    """``func`` mapped over a dimension of its inputs (torch.func.vmap).

    ``in_dims``: an int (every positional argument mapped over that dimension), or a structure
    like the arguments (a tuple with one entry per argument, nested as they are) of ints and
    None (not mapped). ``out_dims``: where the mapped dimension goes in each output (an int,
    or a tuple with one per output; None: an output that does not depend on the mapped inputs,
    returned once — one that differs between examples raises, as PyTorch's batched output
    does). Keyword arguments are passed to every call unmapped.
    ``randomness``: ``"error"`` (a random op inside ``func`` raises), ``"different"`` (each
    example draws its own) or ``"same"`` (every example draws the same numbers).
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                           f"Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        # checked when called, in torch's order: a vmap built with bad dims raises only when used
        _check_out_dims(out_dims, func)
        if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
            raise VmapTypeError(f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>): expected `in_dims` to be "
                                f"int or a (potentially nested) tuple matching the structure of inputs, got: "
                                f"{type(in_dims)}.")
        if not args:
            raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add inputs, or "
                             f"you are trying to vmap over a function with no inputs. The latter is unsupported.")
        flat_args, rebuild_args = _flatten_args(args)
        flat_dims = _broadcast_dims(in_dims, args, func)
        size = _batch_size(flat_args, flat_dims, func)
        if size == 0:  # no example: func runs once on zeros to give the outputs' shapes, then emptied
            example = [a if d is None else _zero_example(a, d) for a, d in zip(flat_args, flat_dims)]
            with _randomness(randomness):
                out = func(*rebuild_args(example), **kwargs)
            return _stack_outputs([out], out_dims, func, empty=True)
        outputs = []
        state = rg_random.get_rng_state() if randomness == "same" else None
        for b in range(size):
            if state is not None:
                rg_random.set_rng_state(state)  # every example draws the same numbers
            example = [a if d is None else ops.getitem(a, (slice(None),) * d + (b,)) for a, d in zip(flat_args, flat_dims)]
            with _randomness(randomness):
                out = func(*rebuild_args(example), **kwargs)
            outputs.append(out)
        return _stack_outputs(outputs, out_dims, func)
    return mapped


def _name(func) -> str:
    return getattr(func, "__name__", repr(func))


def _check_out_dims(out_dims, func):
    """``out_dims``: an int or None, or tuples/lists/dicts of them (nested as the outputs are)."""
    if isinstance(out_dims, (tuple, list, dict)):
        for d in (out_dims.values() if isinstance(out_dims, dict) else out_dims):
            _check_out_dims(d, func)
    elif not (out_dims is None or isinstance(out_dims, int)):  # a bool is an int, as in torch
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims!r}): `out_dims` must be an int, None or "
                         f"a python collection of ints representing where in the outputs the vmapped "
                         f"dimension should appear.")


# ---------------------------------------------------------------- inputs
def _flatten_args(args):
    """The leaves of the argument tree (tensors and other values) and its rebuild."""
    leaves, rebuild = [], []

    def walk(tree):
        if isinstance(tree, (tuple, list)):
            kind, parts = type(tree), [walk(t) for t in tree]
            return lambda vals: kind(p(vals) for p in parts)
        if isinstance(tree, dict):
            keys, parts = list(tree), [walk(tree[k]) for k in tree]
            return lambda vals: {k: p(vals) for k, p in zip(keys, parts)}
        i = len(leaves)
        leaves.append(tree)
        return lambda vals: vals[i]
    rebuild = walk(tuple(args))
    return leaves, rebuild


def _broadcast_dims(in_dims, args, func):
    """One in_dim per leaf of ``args``: an int in_dims for all, a tuple matched to the tree."""
    out = []

    def mismatch(dims, tree):
        return ValueError(f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>): in_dims is not compatible "
                          f"with the structure of `inputs`. in_dims has structure {_structure(dims)} but inputs "
                          f"has structure {_structure(tree)}.")

    def walk(dims, tree):
        if isinstance(tree, (tuple, list, dict)):
            values = list(tree.values()) if isinstance(tree, dict) else list(tree)
            if isinstance(dims, (tuple, list, dict)):  # one in_dim per entry, matched as the tree is
                # a list of dims for a tuple input (or the reverse) is another structure, as torch's pytrees
                if _kind(tree) != _kind(dims) or len(dims) != len(values) or \
                        isinstance(tree, dict) and set(dims) != set(tree):
                    raise mismatch(dims, tree)
                sub = [dims[k] for k in tree] if isinstance(tree, dict) else list(dims)
                for d, v in zip(sub, values):
                    walk(d, v)
                return
            for v in values:  # one in_dim for the whole subtree
                walk(dims, v)
            return
        if isinstance(dims, (tuple, list, dict)):
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>): in_dims is not compatible "
                             f"with the structure of `inputs`.")
        if dims is not None and not (isinstance(dims, int) and not isinstance(dims, bool)):
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={dims} for an "
                             f"input but in_dim must be either an integer dimension or None.")
        if dims is not None and not isinstance(tree, Tensor):
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={dims} for an "
                             f"input but the input is of type {type(tree)}. We cannot vmap over non-Tensor "
                             f"arguments, please use None as the respective in_dim")
        if dims is not None and not -tree.ndim <= dims < tree.ndim:  # (a 0-d tensor has no dimension to map)
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={dims} for some "
                             f"input, but that input is a Tensor of dimensionality {tree.ndim} so expected in_dim "
                             f"to satisfy -{tree.ndim} <= in_dim < {tree.ndim}.")
        out.append(None if dims is None else dims % tree.ndim)

    walk(in_dims, tuple(args))
    return out


def _kind(tree):
    return dict if isinstance(tree, dict) else list if isinstance(tree, list) else tuple


def _zero_example(a, d):
    """Zeros of the shape and dtype one slice of ``a`` along ``d`` has (``a``'s size there is 0): a
    float one is ``a``'s sum over that dimension, so it is on the tape when ``a`` is."""
    if xp.issubdtype(a.dtype, xp.floating) or xp.issubdtype(a.dtype, xp.complexfloating):
        return ops.sum(a, axis=d)
    shape = tuple(a.shape[:d]) + tuple(a.shape[d + 1:])
    return Tensor(xp.zeros(shape, dtype=a.dtype))


def _structure(tree) -> str:
    if isinstance(tree, (tuple, list)):
        return f"{type(tree).__name__}({', '.join(_structure(t) for t in tree)})"
    if isinstance(tree, dict):
        return "dict(" + ", ".join(f"{k}: {_structure(v)}" for k, v in tree.items()) + ")"
    return "*"


def _batch_size(leaves, dims, func) -> int:
    sizes = [a.shape[d] for a, d in zip(leaves, dims) if d is not None]
    if not sizes:
        raise ValueError(f"vmap: Expected at least one Tensor to vmap over (vmap({_name(func)}): every in_dim is "
                         f"None or every input a non-Tensor; give a Tensor input an int in_dim)")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0]


# ---------------------------------------------------------------- randomness
class _randomness:
    """Inside the calls: with "error", a draw from rg's generator raises, as torch.func's does."""

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.before = rg_random._draw_guard
        if self.mode == "error":
            rg_random._draw_guard = _refuse_draw

    def __exit__(self, *exc):
        rg_random._draw_guard = self.before


def _refuse_draw():
    raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                       "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                       "of vmap")


# ---------------------------------------------------------------- outputs
def _stack_outputs(outputs, out_dims, func, empty=False):
    """The examples' outputs stacked leaf by leaf at their ``out_dims`` (broadcast over the output
    tree as torch's: an int or None for a whole subtree, a container matching the tree). With
    ``empty`` the one output is of a stand-in example: each mapped leaf has size 0 at its out_dim."""
    flat = [tree_flatten(out) for out in outputs]
    spec = flat[0][1]
    dims = _dims_per_leaf(out_dims, spec)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims!r})(<inputs>): out_dims is not "
                         f"compatible with the structure of `outputs`. out_dims has structure "
                         f"{_structure(out_dims)} but outputs has structure {_structure(outputs[0])}.")
    stacked = []
    for k, d in enumerate(dims):
        parts = [leaves[k] for leaves, _ in flat]
        if not isinstance(parts[0], Tensor):
            if d is not None:
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                                 f"{type(parts[0])}. Did you mean to set out_dims= to None for output?")
            stacked.append(parts[0])  # a non-tensor with out_dim None is returned as it is, as torch does
            continue
        if d is None:  # an output that must not depend on the mapped inputs: the same for every example
            if any(p.shape != parts[0].shape or not bool(xp.array_equal(p.data, parts[0].data)) for p in parts[1:]):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a BatchedTensor when "
                                 f"out_dim is None (output {k} differs between examples)")
            stacked.append(parts[0])
            continue
        ndim = parts[0].ndim + 1
        if not -ndim <= d < ndim:
            raise VmapIndexError(f"vmap({_name(func)}, ..., out_dims={out_dims!r}): Dimension out of range (expected to be "
                             f"in range of [{-ndim}, {ndim - 1}], but got {d})")
        shapes = {tuple(p.shape) for p in parts}
        if len(shapes) > 1:  # a shape that depends on the values (a boolean mask, nonzero): torch's RuntimeError
            raise RuntimeError(f"vmap({_name(func)}, ...): output {k} of `{_name(func)}` has shapes "
                               f"{sorted(shapes)} in different examples; vmap does not support batching operators "
                               f"that can output dynamic shape: pad or mask to one shape per example")
        result = ops.stack(parts, axis=d % ndim)
        stacked.append(ops.getitem(result, (slice(None),) * (d % ndim) + (slice(0, 0),)) if empty else result)
    return tree_unflatten(stacked, spec)


def _dims_per_leaf(out_dims, spec):
    """One out_dim per output leaf, or None when ``out_dims`` does not fit the output's structure
    (torch's ``_broadcast_to_and_flatten``; one Tensor output also takes a 1-tuple)."""
    if spec == LEAF and isinstance(out_dims, tuple) and len(out_dims) == 1:
        out_dims = out_dims[0]
    if out_dims is None or isinstance(out_dims, int):
        return [out_dims] * _leaves_in(spec)
    if spec == LEAF:
        return None
    kind, keys, children = spec
    if isinstance(out_dims, dict) != (keys is not None) or not isinstance(out_dims, dict) and type(out_dims) is not kind:
        return None
    if keys is not None:
        if tuple(out_dims) != keys:
            return None
        subs = [out_dims[k] for k in keys]
    elif len(out_dims) != len(children):
        return None
    else:
        subs = list(out_dims)
    dims = []
    for d, child in zip(subs, children):
        sub = _dims_per_leaf(d, child)
        if sub is None:
            return None
        dims += sub
    return dims


def _leaves_in(spec) -> int:
    return 1 if spec == LEAF else sum(_leaves_in(c) for c in spec[2])
