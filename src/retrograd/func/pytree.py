"""Trees of tensors (torch's pytrees): what the transforms take and return, and their errors.

A tree is a Tensor (or any other leaf, ``None`` included, as in ``torch.utils._pytree``), or a
tuple, list, named tuple or dict of trees. ``tree_flatten`` gives its leaves in order and its
*spec* (the nesting without the leaves); two trees have the same structure when their specs
are equal — the same container types, the same lengths, the same dict keys in the same
order. torch.func matches cotangents to outputs and tangents to primals by structure, never
by position alone: a dict of cotangents with its keys in another order is refused.
"""

from __future__ import annotations

LEAF = "*"  # the spec of a leaf


class TransformError(RuntimeError, ValueError):
    """A transform refused its arguments. torch.func raises ``RuntimeError`` for these; it is
    also a ``ValueError`` (a wrong value was passed)."""


class TransformTypeError(RuntimeError, TypeError):
    """A transform got an argument of the wrong type: a ``RuntimeError`` as torch.func raises
    it, and a ``TypeError``."""


def tree_flatten(tree) -> tuple:
    """(the leaves of ``tree`` in order, its spec)."""
    leaves = []
    return leaves, _spec(tree, leaves)


def _spec(tree, leaves):
    if isinstance(tree, (tuple, list)):
        return type(tree), None, tuple(_spec(t, leaves) for t in tree)
    if isinstance(tree, dict):
        keys = tuple(tree)
        return type(tree), keys, tuple(_spec(tree[k], leaves) for k in keys)
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves, spec):
    """The tree of ``spec`` with ``leaves`` in order (the inverse of ``tree_flatten``)."""
    it = iter(leaves)
    return _build(it, spec)


def _build(it, spec):
    if spec == LEAF:
        return next(it)
    kind, keys, children = spec
    values = [_build(it, c) for c in children]
    if keys is not None:
        return kind(zip(keys, values))
    return kind(*values) if hasattr(kind, "_fields") else kind(values)  # a named tuple takes its fields


def describe(spec) -> str:
    """A spec as torch prints one: ``(*, *)``, ``[*, *]``, ``{'s': *, 'e': *}``."""
    if spec == LEAF:
        return LEAF
    kind, keys, children = spec
    inner = [describe(c) for c in children]
    if keys is not None:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, inner)) + "}"
    if hasattr(kind, "_fields"):
        return f"{kind.__name__}(" + ", ".join(f"{f}={v}" for f, v in zip(kind._fields, inner)) + ")"
    if issubclass(kind, list):
        return "[" + ", ".join(inner) + "]"
    return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"


__all__ = ["TransformError", "TransformTypeError", "tree_flatten", "tree_unflatten", "describe"]
