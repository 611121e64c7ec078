"""Transform levels against torch.func: a tensor from a finished transform (an escaped one, or
the graph a ``vjp_fn`` holds) is a constant to later transforms, while what it was computed from
below (a user's leaf that requires grad, a transform still running outside) still counts.

The cases of PyTorch's test/functorch/test_eager_transforms.py (test_nesting_simple,
test_escaped_wrappers_are_marked_as_dead/_are_ignored, test_grad_of_vjp_composition,
test_vjp_of_grad_composition, test_grad_of_vjp_of_grad_composition, test_views), written with
rg.func and run beside torch.func on the same numbers: values and ``requires_grad`` must match."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func as TF

import retrograd as rg
from retrograd import func as F
from retrograd.func.pytree import tree_flatten

X, V, S, C = [0.5, -1.0, 2.0], [0.3, 0.2, -0.7], 0.7, -1.3


def pair(value, requires_grad=False):
    """The same float64 numbers as (retrograd tensor, torch tensor)."""
    a = np.asarray(value, dtype=np.float64)
    return rg.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def same(ours, theirs):
    """Equal trees of tensors: the values, and which of them are on a tape (``requires_grad``)."""
    o_leaves, t_leaves = tree_flatten(ours)[0], [t for t in torch.utils._pytree.tree_leaves(theirs)]
    assert len(o_leaves) == len(t_leaves)
    for o, t in zip(o_leaves, t_leaves):
        np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=1e-12, atol=1e-12)
        assert o.requires_grad == t.requires_grad, (o, t)


LIBS = (("rg", F, rg), ("torch", TF, torch))


def both(case, *values, requires_grad=False):
    """``case(lib_func, lib, *tensors)`` for retrograd and torch, on the same numbers."""
    ins = [pair(v, requires_grad) for v in values]
    results = [case(fn, lib, *[p[k] for p in ins]) for k, (_, fn, lib) in enumerate(LIBS)]
    same(*results)
    return results


# ---------------------------------------------------------------- grad of grad
@pytest.mark.parametrize("requires_grad", [False, True])
def test_nesting_simple_and_deep(requires_grad):
    both(lambda f, lib, s: f.grad(f.grad(lib.sin))(s), S, requires_grad=requires_grad)  # −sin
    both(lambda f, lib, s: f.grad(f.grad(f.grad(f.grad(lib.sin))))(s), S, requires_grad=requires_grad)  # sin
    both(lambda f, lib, s, c: f.grad(f.grad(f.grad(lambda a: lib.exp(a * c) * a)))(s), S, C,
         requires_grad=requires_grad)


def test_grad_inside_grad_of_another_argument_keeps_the_outer_level():
    # the inner grad's result depends on the outer primal (live): it stays on the outer tape
    both(lambda f, lib, s, c: f.grad(lambda a: f.grad(lambda b: lib.sin(a * b))(c))(s), S, C)


# ---------------------------------------------------------------- escaped tensors
def _escaping(lib_f, lib, s):
    """grad(foo)(s) where foo leaks its intermediate sin(s)."""
    escaped = []

    def foo(a):
        y = lib.sin(a)
        escaped.append(y)
        return y
    lib_f.grad(foo)(s)
    return escaped[0]


def test_escaped_wrappers_are_ignored_by_later_transforms():
    """torch's test_escaped_wrappers_are_ignored: an escaped intermediate holds its value and is a
    constant to every later transform, whether it is captured, a primal, a tangent or a cotangent."""
    def case(f, lib, s, x, v):
        y = _escaping(f, lib, s)
        return [y.detach(), f.grad(lambda a: (a * y).sum())(x), f.grad(lambda a: (a * a).sum() * y)(y),
                f.vjp(lambda a: a * y, x)[0], f.vjp(lambda a: a * a, y)[1](y), f.jvp(lambda a: a * y, (x,), (v,)),
                f.jvp(lambda a: a * a, (y,), (y,)), f.jacrev(lambda a: a * y)(x), f.jacfwd(lambda a: a * y)(x),
                f.hessian(lambda a: (a * a * y).sum())(x)]
    both(case, S, X, V)


def test_escaped_vjp_fn_is_dead_outside_its_transform():
    """torch's test_escaped_wrappers_are_marked_as_dead, for what rg can observe: a vjp_fn made at a
    grad's primal and leaked out of it records nothing when called after that grad returned —
    unless its graph reaches a user's leaf that requires grad (regular autograd never dies)."""
    def case(f, lib, x, v):
        fns = []

        def g(a):
            out, fn = f.vjp(lib.sin, a)
            fns.append(fn)
            return out.sum()
        f.grad(g)(x)
        (late,) = fns[0](v)
        if not x.requires_grad:
            return late
        return late, (rg.autograd.grad if lib is rg else torch.autograd.grad)(late.sum(), [x])  # −v·sin x
    both(case, X, V)
    both(case, X, V, requires_grad=True)


def test_a_grad_through_an_escaped_vjp_fn_differentiates_its_cotangent_only():
    """grad of an escaped vjp_fn w.r.t. its cotangent: cos(x), a plain tensor. (torch 2.13 stops here
    on an internal assert, "escaped?"; the reference is the same grad through a vjp_fn made outside.)"""
    (x, tx), (v, tv) = pair(X), pair(V)
    fns = []

    def g(a):
        out, fn = F.vjp(rg.sin, a)
        fns.append(fn)
        return out.sum()
    F.grad(g)(x)
    _, t_fn = TF.vjp(torch.sin, tx)
    same(F.grad(lambda c: fns[0](c)[0].sum())(v), TF.grad(lambda c: t_fn(c)[0].sum())(tv))


# ---------------------------------------------------------------- vjp and grad composed
@pytest.mark.parametrize("requires_grad", [False, True])
def test_grad_of_vjp_composition(requires_grad):
    def foo(f, lib, x, y):
        _, vjp_fn = f.vjp(lib.sin, x)
        return f.grad(lambda y: vjp_fn(y)[0])(y)  # cos(x)
    both(foo, S, C, requires_grad=requires_grad)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_vjp_of_grad_composition(requires_grad):
    def foo(f, lib, x, y):
        out, vjp_fn = f.vjp(f.grad(lib.sin), x)
        return out, vjp_fn(y)[0]  # cos(x), −y·sin(x)
    both(foo, S, C, requires_grad=requires_grad)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_grad_of_vjp_of_grad_composition(requires_grad):
    def foo(f, lib, x, y):
        df, vjp_fn = f.vjp(f.grad(lambda x: -lib.cos(x)), x)
        return df, f.grad(lambda y: vjp_fn(y)[0])(y)  # sin(x), cos(x)
    both(foo, S, C, requires_grad=requires_grad)


def test_views():
    def case(f, lib, x, y):
        def silly_sin(a):
            return lib.sin(a.reshape(()))
        result = f.grad(silly_sin)(x) + lib.cos(y)
        grads = (rg.autograd.grad if lib is rg else torch.autograd.grad)(result, [x, y])
        return [result, *grads]  # cos x + cos y, −sin x, −sin y
    both(case, S, C, requires_grad=True)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_a_finished_vjp_fn_composed_with_every_transform(requires_grad):
    """A vjp_fn from a finished vjp, inside each transform: differentiated through with respect to the
    new input (its cotangent, here through v·v), its own graph a constant."""
    def case(f, lib, x, v):
        _, fn = f.vjp(lambda a: lib.sin(a) * a, x)
        g = lambda c: fn(c * c)[0]  # noqa: E731 — 2·c·(cos(x)·x + sin(x)) per entry, c² inside
        out2, fn2 = f.vjp(fn, v)  # the vjp of a vjp_fn, and that one's vjp_fn
        return [fn(v), out2, fn2((v,)), f.grad(lambda c: g(c).sum())(v), f.vjp(g, v)[1](v), f.jvp(g, (v,), (v,)),
                f.jacrev(g)(v), f.jacfwd(g)(v), f.hessian(lambda c: g(c).sum())(v), f.linearize(g, v)[1](v)]
    both(case, X, V, requires_grad=requires_grad)


def test_a_finished_vjp_fn_reaching_a_users_weight_stays_on_its_tape():
    w, tw = pair(1.5, requires_grad=True)

    def case(f, lib, x, v):
        weight = w if lib is rg else tw
        _, fn = f.vjp(lambda a: lib.sin(a) * weight, x)
        return [fn(v), f.grad(lambda c: fn(c)[0].sum())(v), f.vjp(fn, v)[1]((v,))]
    both(case, X, V)


def test_vjp_fn_called_inside_the_transform_it_was_made_in():
    """A vjp made at a running grad's primal and called there: the grad differentiates through
    its vjp_fn (−c·sin x), whose result is on that grad's tape until it returns."""
    def case(f, lib, x, c):
        def g(a):
            _, fn = f.vjp(lib.sin, a)
            return (fn(c * lib.ones_like(a))[0]).sum()
        return f.grad(g)(x)
    both(case, X, C)
    both(case, X, C, requires_grad=True)


def test_vjp_fn_under_no_grad_and_made_under_no_grad():
    def case(f, lib, x, v):
        _, fn = f.vjp(lib.sin, x)
        with lib.no_grad():
            inside = fn(v)
            _, late = f.vjp(lib.sin, x)
        return [inside, late(v)]
    both(case, X, V)
    both(case, X, V, requires_grad=True)
