"""What the transforms check before and after running ``f``, with torch.func's errors.

Each refusal names the transform as torch.func does (``grad_and_value(f)(*args)``,
``vjp(f, *primals)``, ``jvp(f, primals, tangents)``; ``jacrev``/``jacfwd`` name the
``vjp``/``jvp`` they are built on, as torch's do) and carries torch.func's wording, so a
message matched against torch's matches here too, followed by what to do.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor, _wrap
from .pytree import TransformError, TransformTypeError, describe, tree_flatten, tree_unflatten

# the name torch.func gives each transform in its messages
GRAD, VJP, JVP = "grad_and_value(f)(*args)", "vjp(f, *primals)", "jvp(f, primals, tangents)"


def flatten(tree):
    """The leaves of ``tree`` and a function that rebuilds the tree from new leaves."""
    leaves, spec = tree_flatten(tree)
    return leaves, lambda new: tree_unflatten(new, spec)


def detached(tree):
    """``tree`` with every Tensor replaced by a plain (off-the-tape) Tensor of its data."""
    leaves, rebuild = flatten(tree)
    return rebuild([_wrap(t.data) if isinstance(t, Tensor) else t for t in leaves])


FORWARD = ("jvp", "jacfwd", "linearize")  # the forward-mode transforms (torch words their refusals otherwise)


def checked_inputs(leaves, name, what, *, real: bool = False):
    """The differentiated inputs, refused (as torch.func refuses them) unless floating Tensors;
    ``real``: complex ones refused too (``jacrev``/``jacfwd``, as torch's)."""
    for i, t in enumerate(leaves):
        if not isinstance(t, Tensor):
            raise TransformError(f"{name}: the {what}s a transform differentiates must be Tensors, got "
                                 f"{type(t).__name__} (wrap it with rg.tensor). Thing passed to transform API "
                                 f"must be Tensor, got {type(t)}")
        if real and t.data.dtype.kind == "c":
            raise TransformError(f"{name}: Expected all inputs to be real but received complex tensor at flattened "
                                 f"input idx: {i}; differentiate the real and imaginary parts as real tensors")
        if t.data.dtype.kind not in "fc":
            # torch's words differ by mode: forward mode checks the dual's primal, reverse mode requires_grad_
            kind = "primal" if what == "argument" else what
            torchs = (f"Expected {kind} to be floating point or complex, but got: {t.data.dtype}" if name in FORWARD
                      else "only Tensors of floating point dtype can require gradients")
            raise TransformError(f"{name}: only Tensors of floating point dtype can be differentiated ({torchs}): "
                                 f"{what} {i} is {t.data.dtype}; convert it (x.double(), x.float())")
    return leaves


def output_leaves(out, who, *, float_only: bool = False, real: str | None = None):
    """The leaves and spec of what ``f`` returned: refused when empty or not all Tensors
    (torch.func's rule); ``float_only``: a bool or integer output refused too (reverse mode:
    it has no cotangent); ``real``: a complex one too (the Jacobians': ``real`` is the transform's
    name, which starts torch's message). ``who`` names the transform (torch's words for it)."""
    leaves, spec = tree_flatten(out)
    if not leaves or (len(leaves) == 1 and leaves[0] is None):
        raise TransformError(f"{who}: Expected f to be a function that has non-empty output (got output = "
                             f"{leaves}); return at least one Tensor")
    for t in leaves:
        if not isinstance(t, Tensor):
            raise TransformError(f"{who}: expected f(*primals) to return only tensors, got unsupported type "
                                 f"{type(t).__name__} ({type(t)}); return Tensors in tuples, lists or dicts")
    for i, t in enumerate(leaves):
        if float_only and t.data.dtype.kind not in "fc":
            raise TransformError(f"{who}: All outputs of f must be floating-point or complex Tensors, got Tensor "
                                 f"with dtype {t.data.dtype}; convert it (y.double(), y.float()) or leave it out")
        if real and t.data.dtype.kind == "c":
            raise TransformError(f"{real}: Expected all outputs to be real but received complex tensor at flattened "
                                 f"input idx: {i} (output {i} of f is {t.data.dtype}); return the real and "
                                 f"imaginary parts as real tensors")
    return leaves, spec


def argnums(argnums, nargs, name):
    """(whether one argument, the argument indices) from torch.func's ``argnums``: an int or a
    tuple of distinct ints, each in [−nargs, nargs)."""
    single = isinstance(argnums, int)  # True counts as 1, as in torch
    if not single and not isinstance(argnums, tuple):
        raise TransformTypeError(f"{name}: argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    nums = (argnums,) if single else argnums
    if not nums:
        raise TransformError(f"{name}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise TransformTypeError(f"{name}: argnums must be int or Tuple[int, ...], got an entry {a!r} "
                                     f"({type(a).__name__}): argnum must be int, got: {type(a)}")
        if not -nargs <= a < nargs:
            raise TransformError(f"{name}: argnums {argnums!r} out of range for {nargs} positional argument(s): "
                                 f"Got argnum={a}, but only {nargs} positional inputs")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise TransformError(f"{name}: argnums elements must be unique, got {argnums!r}")
    return single, nums


def split_aux(out, has_aux, name, who):
    """``(output, aux)`` from what ``f`` returned (``(out, None)`` without ``has_aux``): with
    ``has_aux`` it must be a 2-tuple whose aux holds only Tensors (in tuples, lists, dicts)."""
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TransformError(f"{who}: output of function f should be a tuple: (output, aux) if has_aux is True "
                             f"({name}(f, has_aux=True): f must return a tuple (output, aux))")
    for t in tree_flatten(out[1])[0]:
        if not isinstance(t, Tensor):
            raise TransformError(f"{name}(f, has_aux=True): Expected tensors, got unsupported type {type(t)}: aux "
                                 f"must be Tensors (in tuples, lists or dicts), got unsupported type "
                                 f"{type(t).__name__}")
    return out


def scalar_output(out):
    """``grad``'s output: a Tensor with no dimensions (torch.func's rule: not even shape (1,))."""
    if not isinstance(out, Tensor):
        raise TransformError(f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got "
                             f"{type(out).__name__} ({GRAD}: Expected f(*args) to return a Tensor, got {type(out)})")
    if out.ndim != 0:
        raise TransformError(f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got a tensor of shape "
                             f"{list(out.shape)} ({GRAD}: Expected f(*args) to return a scalar Tensor, got tensor "
                             f"with {out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?)")


def cotangent_structure(ct_spec, out_spec):
    """``vjp_fn``'s cotangents must have the structure of ``f``'s output."""
    if ct_spec != out_spec:
        raise TransformError(f"vjp_fn: the cotangents must have the structure of func's output {describe(out_spec)}, "
                             f"got {describe(ct_spec)}. Expected pytree structure of cotangents to be the same as "
                             f"pytree structure of outputs to the function. cotangents: {describe(ct_spec)}, primal "
                             f"output: {describe(out_spec)}")


__all__ = ["GRAD", "VJP", "JVP", "flatten", "detached", "checked_inputs", "output_leaves", "argnums", "split_aux",
           "scalar_output", "cotangent_structure"]
