"""``rg.func``'s transforms against ``torch.func`` (float64, CPU): the same functions,
the same arguments, the same results — values, and the structure of the results
(tuples per output and per argument, dicts, named tuples) and their shapes.

Covered: ``jvp``, ``vjp`` (its ``vjp_fn`` called twice), ``grad`` with an int or
a tuple ``argnums`` and ``has_aux``, ``grad_and_value``, ``jacfwd``/``jacrev``
with tuple argnums and tuple/dict outputs, ``hessian``, and the compositions
forward over reverse (a ``jvp`` of ``grad``: Hessian-vector products), reverse
over forward (a ``grad`` of ``jvp``), ``jacrev`` of ``jacrev`` and ``jacfwd`` of
``jacfwd``; the errors for misuse; and whether results are on the tape (they are
when the primals require grad, and not otherwise).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import func as F

try:
    import torch
    import torch.func as TF
    import torch.nn.functional as TNF
except ImportError:  # the comparisons are skipped one by one (conftest), the rest runs
    torch = TF = TNF = None

RTOL, ATOL = 1e-10, 1e-12
Pair = namedtuple("Pair", ["value", "total"])


# ---------------------------------------------------------------- the functions, in both libraries
TARGET = np.array([0, 2, 1, 2])


def mlp_rg(x, w1, b1, w2, b2):
    return rg.linear(rg.tanh(rg.linear(x, w1, b1)), w2, b2)


def mlp_torch(x, w1, b1, w2, b2):
    return TNF.linear(torch.tanh(TNF.linear(x, w1, b1)), w2, b2)


def mlp_loss_rg(*args):
    return (mlp_rg(*args) ** 2).mean()


def mlp_loss_torch(*args):
    return (mlp_torch(*args) ** 2).mean()


def softmax_ce_rg(x, w):
    return rg.cross_entropy(x @ w, TARGET)


def softmax_ce_torch(x, w):
    return TNF.cross_entropy(x @ w, torch.from_numpy(TARGET))


def softmax_rg(x, w):
    return rg.softmax(x @ w, axis=-1)


def softmax_torch(x, w):
    return torch.softmax(x @ w, dim=-1)


def product_rg(a, b, c):
    return (a * b).sum(-1) * rg.sin(c) + a.sum() * c * c


def product_torch(a, b, c):
    return (a * b).sum(-1) * torch.sin(c) + a.sum() * c * c


def product_scalar_rg(a, b, c):
    return (product_rg(a, b, c) * rg.exp(c)).sum()


def product_scalar_torch(a, b, c):
    return (product_torch(a, b, c) * torch.exp(c)).sum()


def tuple_rg(x, y):
    return x * y, (x ** 2).sum(), rg.exp(y)


def tuple_torch(x, y):
    return x * y, (x ** 2).sum(), torch.exp(y)


def dict_rg(x, y):
    return {"p": rg.tanh(x) * y, "s": (x * y).sum()}


def dict_torch(x, y):
    return {"p": torch.tanh(x) * y, "s": (x * y).sum()}


def named_rg(x, y):
    return Pair(rg.sin(x) * y, (x * x * y).sum())


def named_torch(x, y):
    return Pair(torch.sin(x) * y, (x * x * y).sum())


@dataclass(frozen=True)
class Case:
    name: str
    rg_fn: Callable
    torch_fn: Callable
    shapes: tuple

    def arrays(self, seed=0):
        return random_arrays(self.shapes, seed)


def random_arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


MLP_SHAPES = ((4, 3), (5, 3), (5,), (2, 5), (2,))
CASES = [
    Case("mlp", mlp_rg, mlp_torch, MLP_SHAPES),
    Case("softmax", softmax_rg, softmax_torch, ((4, 3), (3, 3))),
    Case("softmax_cross_entropy", softmax_ce_rg, softmax_ce_torch, ((4, 3), (3, 3))),
    Case("product", product_rg, product_torch, ((3, 4), (3, 4), (3,))),
    Case("tuple", tuple_rg, tuple_torch, ((3,), (3,))),
    Case("dict", dict_rg, dict_torch, ((2, 3), (2, 3))),
    Case("namedtuple", named_rg, named_torch, ((3,), (3,))),
]
SCALAR_CASES = [
    Case("mlp_loss", mlp_loss_rg, mlp_loss_torch, MLP_SHAPES),
    Case("softmax_cross_entropy", softmax_ce_rg, softmax_ce_torch, ((4, 3), (3, 3))),
    Case("product_scalar", product_scalar_rg, product_scalar_torch, ((3, 4), (3, 4), (3,))),
]
by_case = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
by_scalar_case = pytest.mark.parametrize("case", SCALAR_CASES, ids=lambda c: c.name)


# ---------------------------------------------------------------- helpers
def rg_tensors(arrays, requires_grad=False):
    return tuple(rg.tensor(a, requires_grad=requires_grad) for a in arrays)


def torch_tensors(arrays):
    return tuple(torch.from_numpy(np.array(a, dtype=np.float64)) for a in arrays)


def like(tree, rng, make):
    """A tree of the structure of ``tree`` (rg Tensors) with random leaves made by ``make``."""
    if isinstance(tree, rg.Tensor):
        return make(rng.standard_normal(tree.shape))
    if isinstance(tree, dict):
        return {k: like(v, rng, make) for k, v in tree.items()}
    parts = [like(t, rng, make) for t in tree]
    return type(tree)(*parts) if hasattr(tree, "_fields") else type(tree)(parts)


def to_torch_tree(tree):
    """The same tree with each rg Tensor as a torch tensor (for torch's cotangents)."""
    if isinstance(tree, rg.Tensor):
        return torch.from_numpy(np.array(tree.data, dtype=np.float64))
    if isinstance(tree, dict):
        return {k: to_torch_tree(v) for k, v in tree.items()}
    parts = [to_torch_tree(t) for t in tree]
    return type(tree)(*parts) if hasattr(tree, "_fields") else type(tree)(parts)


def assert_tree_close(ours, theirs, path="result"):
    """Same structure (container types, keys, lengths), shapes and values."""
    if torch is not None and isinstance(theirs, torch.Tensor):
        assert isinstance(ours, rg.Tensor), f"{path}: a {type(ours).__name__}, torch gives a tensor"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: shape {ours.shape}, torch {tuple(theirs.shape)}"
        np.testing.assert_allclose(np.asarray(ours.data, dtype=np.float64), theirs.detach().numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=path)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), f"{path}: {type(ours).__name__} " \
            f"{list(ours) if isinstance(ours, dict) else ''}, torch gives a dict {list(theirs)}"
        for k in theirs:
            assert_tree_close(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs), f"{path}: a {type(ours).__name__}, torch gives a {type(theirs).__name__}"
        assert len(ours) == len(theirs), f"{path}: {len(ours)} entries, torch {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_tree_close(a, b, f"{path}[{i}]")
    else:
        raise AssertionError(f"{path}: unexpected {type(theirs).__name__} from torch")


def leaves(tree):
    if isinstance(tree, rg.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in leaves(v)]
    return [t for v in tree for t in leaves(v)]


def assert_off_tape(tree, what):
    for t in leaves(tree):
        assert not t.requires_grad and t.grad_fn is None, f"{what}: a result is on the tape"


# ---------------------------------------------------------------- jvp and vjp
@requires_torch
@by_case
def test_jvp_matches_torch(case):
    arrays = case.arrays()
    tangents = case.arrays(seed=1)
    out, tangent = F.jvp(case.rg_fn, rg_tensors(arrays), rg_tensors(tangents))
    t_out, t_tangent = TF.jvp(case.torch_fn, torch_tensors(arrays), torch_tensors(tangents))
    assert_tree_close(out, t_out, "output")
    assert_tree_close(tangent, t_tangent, "tangent")
    assert_off_tape((out, tangent), "jvp")


@requires_torch
@by_case
def test_vjp_matches_torch_and_its_function_can_be_called_twice(case):
    arrays = case.arrays()
    out, vjp_fn = F.vjp(case.rg_fn, *rg_tensors(arrays))
    t_out, t_vjp_fn = TF.vjp(case.torch_fn, *torch_tensors(arrays))
    assert_tree_close(out, t_out, "output")
    rng = np.random.default_rng(2)
    first = like(out, rng, rg.tensor)
    second = like(out, rng, rg.tensor)
    g1, g2, g1_again = vjp_fn(first), vjp_fn(second), vjp_fn(first)
    assert isinstance(g1, tuple) and len(g1) == len(arrays)
    assert_tree_close(g1, t_vjp_fn(to_torch_tree(first)), "first vjp")
    assert_tree_close(g2, t_vjp_fn(to_torch_tree(second)), "second vjp")
    for a, b in zip(g1, g1_again):
        np.testing.assert_array_equal(a.data, b.data)
    assert_off_tape((out, g1, g2), "vjp")


@requires_torch
def test_vjp_with_aux_matches_torch():
    arrays = random_arrays(((3,), (3,)))

    def f_rg(x, y):
        return rg.tanh(x * y), {"sum": (x + y).sum()}

    def f_torch(x, y):
        return torch.tanh(x * y), {"sum": (x + y).sum()}
    out, vjp_fn, aux = F.vjp(f_rg, *rg_tensors(arrays), has_aux=True)
    t_out, t_vjp_fn, t_aux = TF.vjp(f_torch, *torch_tensors(arrays), has_aux=True)
    assert_tree_close(out, t_out, "output")
    assert_tree_close(aux, t_aux, "aux")
    u = np.arange(3.0)
    assert_tree_close(vjp_fn(rg.tensor(u)), t_vjp_fn(torch.from_numpy(u)), "vjp")


# ---------------------------------------------------------------- grad and grad_and_value
@requires_torch
@by_scalar_case
@pytest.mark.parametrize("argnums", [0, -1, (0,), (0, 1), (1, 0)], ids=str)
def test_grad_matches_torch(case, argnums):
    arrays = case.arrays()
    ours = F.grad(case.rg_fn, argnums=argnums)(*rg_tensors(arrays))
    theirs = TF.grad(case.torch_fn, argnums=argnums)(*torch_tensors(arrays))
    assert_tree_close(ours, theirs, f"grad(argnums={argnums})")
    assert_off_tape(ours, "grad")


def _with_aux_rg(x, w):
    z = x @ w
    return rg.cross_entropy(z, TARGET), {"logits": z, "norm": (w * w).sum()}


def _with_aux_torch(x, w):
    z = x @ w
    return TNF.cross_entropy(z, torch.from_numpy(TARGET)), {"logits": z, "norm": (w * w).sum()}


@requires_torch
@pytest.mark.parametrize("argnums", [1, (0, 1)], ids=str)
def test_grad_with_aux_matches_torch(argnums):
    arrays = random_arrays(((4, 3), (3, 3)))
    g, aux = F.grad(_with_aux_rg, argnums=argnums, has_aux=True)(*rg_tensors(arrays))
    t_g, t_aux = TF.grad(_with_aux_torch, argnums=argnums, has_aux=True)(*torch_tensors(arrays))
    assert_tree_close(g, t_g, "grad")
    assert_tree_close(aux, t_aux, "aux")
    assert_off_tape((g, aux), "grad(has_aux=True)")


@requires_torch
@by_scalar_case
def test_grad_and_value_matches_torch(case):
    arrays = case.arrays()
    g, value = F.grad_and_value(case.rg_fn, argnums=(0, 1))(*rg_tensors(arrays))
    t_g, t_value = TF.grad_and_value(case.torch_fn, argnums=(0, 1))(*torch_tensors(arrays))
    assert_tree_close(g, t_g, "grad")
    assert_tree_close(value, t_value, "value")
    assert value.shape == () and not value.requires_grad


@requires_torch
def test_grad_and_value_with_aux_matches_torch():
    arrays = random_arrays(((4, 3), (3, 3)))
    g, (value, aux) = F.grad_and_value(_with_aux_rg, argnums=0, has_aux=True)(*rg_tensors(arrays))
    t_g, (t_value, t_aux) = TF.grad_and_value(_with_aux_torch, argnums=0, has_aux=True)(*torch_tensors(arrays))
    assert_tree_close((g, value, aux), (t_g, t_value, t_aux), "grad_and_value(has_aux=True)")


def test_grad_of_an_unused_argument_is_zero():
    x, y = rg_tensors([np.ones(3), np.ones(2)])
    gx, gy = F.grad(lambda x, y: (x * x).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx.data, 2 * np.ones(3))
    np.testing.assert_array_equal(gy.data, np.zeros(2))
    assert gy.shape == (2,)


def test_grad_passes_keyword_arguments_through():
    x = rg.tensor(np.arange(3.0))
    g = F.grad(lambda x, scale=1.0: (x * x * scale).sum())(x, scale=3.0)
    np.testing.assert_allclose(g.data, 6 * np.arange(3.0))


# ---------------------------------------------------------------- Jacobians
TUPLE_OUT = Case("tuple", tuple_rg, tuple_torch, ((3,), (3,)))
DICT_OUT = Case("dict", dict_rg, dict_torch, ((2, 3), (2, 3)))
MATRIX_OUT = Case("softmax", softmax_rg, softmax_torch, ((4, 3), (3, 3)))
NAMED_OUT = Case("namedtuple", named_rg, named_torch, ((3,), (3,)))


@requires_torch
@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("case", [TUPLE_OUT, DICT_OUT, MATRIX_OUT, NAMED_OUT], ids=lambda c: c.name)
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0)], ids=str)
def test_jacobians_match_torch_in_structure_shape_and_value(transform, case, argnums):
    arrays = case.arrays()
    ours = getattr(F, transform)(case.rg_fn, argnums=argnums)(*rg_tensors(arrays))
    theirs = getattr(TF, transform)(case.torch_fn, argnums=argnums)(*torch_tensors(arrays))
    assert_tree_close(ours, theirs, f"{transform}(argnums={argnums})")
    assert_off_tape(ours, transform)


@requires_torch
@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
def test_jacobians_with_aux_match_torch(transform):
    arrays = random_arrays(((4, 3), (3, 3)))
    jac, aux = getattr(F, transform)(_with_aux_rg, argnums=(0, 1), has_aux=True)(*rg_tensors(arrays))
    t_jac, t_aux = getattr(TF, transform)(_with_aux_torch, argnums=(0, 1), has_aux=True)(*torch_tensors(arrays))
    assert_tree_close(jac, t_jac, "jacobian")
    assert_tree_close(aux, t_aux, "aux")


def test_jacfwd_equals_jacrev_on_the_mlp():
    arrays = random_arrays(MLP_SHAPES)
    argnums = (0, 1, 2, 3, 4)
    fwd = F.jacfwd(mlp_rg, argnums=argnums)(*rg_tensors(arrays))
    rev = F.jacrev(mlp_rg, argnums=argnums)(*rg_tensors(arrays))
    for a, b, shape in zip(fwd, rev, MLP_SHAPES):
        assert a.shape == b.shape == (4, 2) + shape
        np.testing.assert_allclose(a.data, b.data, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- second order
@requires_torch
@by_scalar_case
def test_hessian_matches_torch(case):
    arrays = case.arrays()
    ours = F.hessian(case.rg_fn)(*rg_tensors(arrays))
    theirs = TF.hessian(case.torch_fn)(*torch_tensors(arrays))
    assert_tree_close(ours, theirs, "hessian")
    assert ours.shape == 2 * tuple(arrays[0].shape)
    assert_off_tape(ours, "hessian")


@requires_torch
def test_hessian_with_tuple_argnums_matches_torch():
    case = SCALAR_CASES[2]
    arrays = case.arrays()
    ours = F.hessian(case.rg_fn, argnums=(0, 2))(*rg_tensors(arrays))
    theirs = TF.hessian(case.torch_fn, argnums=(0, 2))(*torch_tensors(arrays))
    assert_tree_close(ours, theirs, "hessian(argnums=(0, 2))")


@requires_torch
@by_scalar_case
def test_forward_over_reverse_hessian_vector_product_matches_torch(case):
    arrays = case.arrays()
    v = case.arrays(seed=3)[0]
    rest = arrays[1:]

    def g_rg(x):
        return F.grad(case.rg_fn)(x, *rg_tensors(rest))

    def g_torch(x):
        return TF.grad(case.torch_fn)(x, *torch_tensors(rest))
    grad_x, hvp = F.jvp(g_rg, rg_tensors(arrays[:1]), rg_tensors([v]))
    t_grad_x, t_hvp = TF.jvp(g_torch, torch_tensors(arrays[:1]), torch_tensors([v]))
    assert_tree_close((grad_x, hvp), (t_grad_x, t_hvp), "jvp(grad(f))")
    assert_off_tape((grad_x, hvp), "jvp(grad(f))")
    # and it is the Hessian applied to v
    h = F.hessian(case.rg_fn)(*rg_tensors(arrays)).data
    n = v.size
    np.testing.assert_allclose(hvp.data.reshape(-1), h.reshape(n, n) @ v.reshape(-1), rtol=1e-9, atol=1e-12)


@requires_torch
@by_case
def test_reverse_over_forward_matches_torch(case):
    """grad of x ↦ Σ u·(J(x)·v) — the transposed second derivative, through the jvp rules' differentiable walk."""
    arrays = case.arrays()
    vs = case.arrays(seed=4)
    out = case.rg_fn(*rg_tensors(arrays))
    rng = np.random.default_rng(5)
    us = [u.data for u in leaves(like(out, rng, rg.tensor))]

    def scalar_rg(*xs):
        return sum((t * rg.tensor(u)).sum() for t, u in zip(leaves(F.jvp(case.rg_fn, xs, rg_tensors(vs))[1]), us))

    def scalar_torch(*xs):
        _, tangent = TF.jvp(case.torch_fn, xs, torch_tensors(vs))
        flat = torch.utils._pytree.tree_leaves(tangent)
        return sum((t * torch.from_numpy(u)).sum() for t, u in zip(flat, us))
    argnums = tuple(range(len(arrays)))
    ours = F.grad(scalar_rg, argnums=argnums)(*rg_tensors(arrays))
    theirs = TF.grad(scalar_torch, argnums=argnums)(*torch_tensors(arrays))
    assert_tree_close(ours, theirs, "grad(jvp(f))")


# A Tensor that requires grad reaching f other than through its primals — closed over, an argument
# outside argnums, or an outer transform's primal passed as such an argument — keeps the result on
# the tape, as in torch.func: nested transforms over different arguments give the mixed partials.
NESTINGS = [("jacrev", "jacrev"), ("jacfwd", "jacfwd"), ("jacrev", "jacfwd"), ("jacfwd", "jacrev")]


@requires_torch
@pytest.mark.parametrize("outer,inner", NESTINGS)
def test_nested_jacobians_match_torch(outer, inner):
    arrays = MATRIX_OUT.arrays()
    argnums = (0, 1)
    ours = getattr(F, outer)(getattr(F, inner)(softmax_rg, argnums=argnums), argnums=argnums)(*rg_tensors(arrays))
    theirs = getattr(TF, outer)(getattr(TF, inner)(softmax_torch, argnums=argnums), argnums=argnums)(
        *torch_tensors(arrays))
    assert_tree_close(ours, theirs, f"{outer}({inner}(f))")
    assert ours[0][1].shape == (4, 3, 4, 3, 3, 3) and ours[1][0].shape == (4, 3, 3, 3, 4, 3)
    assert_off_tape(ours, f"{outer}({inner}(f))")


@requires_torch
@pytest.mark.parametrize("outer,inner", NESTINGS)
def test_nested_transforms_over_different_arguments_give_the_mixed_partials(outer, inner):
    """∂/∂x of the Jacobian with respect to w: jacfwd(jacrev(f, argnums=1), argnums=0) (torch: the mixed block)."""
    xa, wa = np.array([0.3, -0.8]), np.array([1.1, 0.4])
    ours = getattr(F, outer)(getattr(F, inner)(lambda x, w: rg.sin(x * w), argnums=1), argnums=0)(
        rg.tensor(xa), rg.tensor(wa))
    theirs = getattr(TF, outer)(getattr(TF, inner)(lambda x, w: torch.sin(x * w), argnums=1), argnums=0)(
        torch.from_numpy(xa), torch.from_numpy(wa))
    assert_tree_close(ours, theirs, f"{outer}({inner}(f, argnums=1), argnums=0)")


def test_third_order_by_nesting():
    """d³/dx³ sin(x) = −cos(x), through three transforms."""
    x = rg.tensor(np.array(0.7))
    d3 = F.grad(F.grad(F.grad(rg.sin)))(x)
    np.testing.assert_allclose(d3.data, -np.cos(0.7), rtol=1e-12)
    d3 = F.jacfwd(F.jacfwd(F.jacrev(rg.sin)))(x)
    np.testing.assert_allclose(d3.data, -np.cos(0.7), rtol=1e-12)


# ---------------------------------------------------------------- errors
def _raises(fn, kind, match):
    with pytest.raises(kind, match=match) as info:
        fn()
    return info.value


@requires_torch
def test_a_tangent_of_the_wrong_shape_is_refused_as_by_torch():
    x, v = rg.tensor(np.ones(3)), rg.tensor(np.ones(4))
    _raises(lambda: F.jvp(rg.tanh, (x,), (v,)), RuntimeError,
            r"jvp: tangent 0 has shape \[4\] but its primal has shape \[3\]")
    _raises(lambda: TF.jvp(torch.tanh, (torch.ones(3),), (torch.ones(4),)), RuntimeError, "size")


@requires_torch
def test_primals_that_are_not_a_tuple_are_refused_as_by_torch():
    x = rg.tensor(np.ones(3))
    for primals in (x, [x]):
        _raises(lambda: F.jvp(rg.tanh, primals, (x,)), RuntimeError, r"jvp: primals and tangents must be tuples")
        _raises(lambda: F.jvp(rg.tanh, (x,), primals), RuntimeError, r"jvp: primals and tangents must be tuples")
    tx = torch.ones(3)
    for primals in (tx, [tx]):
        _raises(lambda: TF.jvp(torch.tanh, primals, (tx,)), RuntimeError, "tuple")


@requires_torch
def test_as_many_tangents_as_primals():
    x = rg.tensor(np.ones(3))
    _raises(lambda: F.jvp(rg.tanh, (x,), (x, x)), RuntimeError,
            r"jvp: primals and tangents must have the same structure: primals \(\*,\), tangents \(\*, \*\)")
    _raises(lambda: TF.jvp(torch.tanh, (torch.ones(3),), (torch.ones(3),) * 2), RuntimeError, "same python structure")


@requires_torch
def test_grad_of_a_non_scalar_is_refused_as_by_torch():
    x = rg.tensor(np.ones(3))
    _raises(lambda: F.grad(rg.tanh)(x), RuntimeError,
            r"grad\(f\)\(\*args\): expected f\(\*args\) to return a scalar Tensor, got a tensor of shape \[3\]")
    _raises(lambda: F.grad(lambda x: (x.sum(), x))(x), RuntimeError, r"scalar Tensor, got tuple")
    _raises(lambda: TF.grad(torch.tanh)(torch.ones(3)), RuntimeError, "scalar Tensor")


@requires_torch
def test_has_aux_without_an_aux_is_refused_as_by_torch():
    x = rg.tensor(np.ones(3))
    _raises(lambda: F.grad(lambda x: x.sum(), has_aux=True)(x), RuntimeError, r"has_aux=True.*tuple \(output, aux\)")
    _raises(lambda: F.vjp(lambda x: x * 2, x, has_aux=True), RuntimeError, r"tuple \(output, aux\)")
    _raises(lambda: TF.grad(lambda x: x.sum(), has_aux=True)(torch.ones(3)), RuntimeError, r"\(output, aux\)")


@requires_torch
def test_bad_argnums_are_refused_as_by_torch():
    x = rg.tensor(np.ones(3))
    _raises(lambda: F.grad(lambda x: x.sum(), argnums=3)(x), RuntimeError, r"argnums 3 out of range for 1")
    _raises(lambda: F.jacrev(lambda x: x, argnums=(0, 1))(x), RuntimeError, r"argnums \(0, 1\) out of range")
    _raises(lambda: F.jacfwd(lambda x: x, argnums=())(x), RuntimeError, r"argnums must be non-empty")
    _raises(lambda: F.grad(lambda x, y: x.sum(), argnums=(0, 0))(x, x), RuntimeError, r"argnums elements must be unique")
    _raises(lambda: F.grad(lambda x, y: x.sum(), argnums=[0, 1])(x, x), RuntimeError, r"int or Tuple\[int, \.\.\.\]")
    _raises(lambda: F.grad(lambda x, y: x.sum(), argnums=((0, 1),))(x, x), RuntimeError, r"int or Tuple\[int")
    _raises(lambda: TF.grad(lambda x, y: x.sum(), argnums=(0, 0))(torch.ones(3), torch.ones(3)), RuntimeError, "unique")
    _raises(lambda: TF.grad(lambda x, y: x.sum(), argnums=[0, 1])(torch.ones(3), torch.ones(3)), RuntimeError,
            r"int or Tuple\[int, \.\.\.\]")
    _raises(lambda: TF.grad(lambda x: x.sum(), argnums=3)(torch.ones(3)), RuntimeError, "argnum")
    _raises(lambda: TF.grad(lambda x: x.sum(), argnums=())(torch.ones(3)), RuntimeError, "non-empty")


@requires_torch
def test_a_cotangent_of_the_wrong_shape_or_structure_is_refused_as_by_torch():
    x = rg.tensor(np.ones(3))
    _, vjp_fn = F.vjp(rg.tanh, x)
    _raises(lambda: vjp_fn(rg.tensor(np.ones(4))), RuntimeError,
            r"vjp_fn: a cotangent has shape \[4\] but its output has shape \[3\]")
    _raises(lambda: vjp_fn((rg.tensor(np.ones(3)), rg.tensor(np.ones(3)))), RuntimeError,
            r"vjp_fn: the cotangents must have the structure of func's output \*, got \(\*, \*\)")
    _, t_vjp_fn = TF.vjp(torch.tanh, torch.ones(3))
    _raises(lambda: t_vjp_fn(torch.ones(4)), RuntimeError, "shape")


def test_non_tensor_primals_and_outputs_are_refused_naming_them():
    x = rg.tensor(np.ones(3))
    _raises(lambda: F.jvp(rg.tanh, ("a",), (x,)), RuntimeError, r"jvp: the primals a transform differentiates must "
            r"be Tensors, got str")
    _raises(lambda: F.jvp(lambda x: "a", (x,), (x,)), RuntimeError, r"return only tensors, got unsupported type str")
    _raises(lambda: F.grad(lambda x: x.sum())(np.ones(3)), ValueError, r"must be Tensors, got ndarray")


# ---------------------------------------------------------------- on the tape, or not
def test_results_are_off_the_tape_when_the_primals_do_not_require_grad():
    x, v = rg_tensors([np.linspace(-1, 1, 3), np.ones(3)])

    def f(x):
        return rg.tanh(x) * x

    def scalar(x):
        return f(x).sum()
    out, tangent = F.jvp(f, (x,), (v,))
    value, vjp_fn = F.vjp(f, x)
    (g,) = vjp_fn(v)
    results = [out, tangent, value, g, *F.grad_and_value(scalar)(x), F.jacfwd(f)(x), F.jacrev(f)(x),
               F.hessian(scalar)(x)]
    assert_off_tape(results, "transform of primals that do not require grad")
    assert x.grad is None


@requires_torch
def test_results_are_on_the_tape_when_the_primals_require_grad():
    """An outer backward differentiates through the transform: the gradient of Σ v·∇f is H·v."""
    xa, va = np.linspace(-1, 1, 3), np.array([0.5, -1.0, 2.0])

    def f(x):
        return (rg.tanh(x) * x * x).sum()

    def f_torch(x):
        return (torch.tanh(x) * x * x).sum()
    h = TF.hessian(f_torch)(torch.from_numpy(xa)).numpy()

    x = rg.tensor(xa, requires_grad=True)
    g = F.grad(f)(x)
    assert g.requires_grad and x.grad is None, "grad records its gradient, and accumulates nothing into x.grad"
    (g * rg.tensor(va)).sum().backward()
    np.testing.assert_allclose(x.grad.data, h @ va, rtol=1e-10)

    x = rg.tensor(xa, requires_grad=True)
    out, tangent = F.jvp(lambda x: F.grad(f)(x), (x,), (rg.tensor(va),))
    assert out.requires_grad and tangent.requires_grad
    np.testing.assert_allclose(tangent.data, h @ va, rtol=1e-10)

    x = rg.tensor(xa, requires_grad=True)
    jac = F.jacrev(F.grad(f))(x)
    assert jac.requires_grad
    np.testing.assert_allclose(jac.data, h, rtol=1e-10)
    (gx,) = rg.grad(jac.sum(), [x])
    t_x = torch.from_numpy(xa.copy()).requires_grad_()
    TF.jacrev(TF.grad(f_torch))(t_x).sum().backward()
    np.testing.assert_allclose(gx.data, t_x.grad.numpy(), rtol=1e-10)

    x = rg.tensor(xa, requires_grad=True)
    value, vjp_fn = F.vjp(lambda x: rg.tanh(x) * x, x)
    (gv,) = vjp_fn(rg.tensor(va))
    assert value.requires_grad and gv.requires_grad

    x = rg.tensor(xa, requires_grad=True)
    assert F.jacfwd(lambda x: rg.tanh(x) * x)(x).requires_grad
    assert F.hessian(f)(x).requires_grad


def test_a_tangent_that_requires_grad_puts_the_output_tangent_on_the_tape():
    x = rg.tensor(np.linspace(-1, 1, 3))
    v = rg.tensor(np.ones(3), requires_grad=True)
    out, tangent = F.jvp(rg.tanh, (x,), (v,))
    assert tangent.requires_grad
    (gv,) = rg.grad(tangent.sum(), [v])
    np.testing.assert_allclose(gv.data, 1 - np.tanh(x.data) ** 2, rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("transform", ["grad", "jacrev", "jacfwd", "jvp", "vjp"])
@pytest.mark.parametrize("where", ["closure", "argument"])
def test_a_tensor_outside_the_primals_that_requires_grad_stays_connected(transform, where):
    xa, wa = np.linspace(-1, 1, 3), np.array([0.5, -1.0, 2.0])

    def results(lib, x, w):
        F_, tanh = (F, rg.tanh) if lib == "rg" else (TF, torch.tanh)

        def f(x, *w_arg):
            ww = w_arg[0] if w_arg else w
            return tanh(x * ww) * x
        args = (x, w) if where == "argument" else (x,)
        if transform == "grad":
            return F_.grad(lambda *a: f(*a).sum())(*args)
        if transform in ("jacrev", "jacfwd"):
            return getattr(F_, transform)(f)(*args)
        if transform == "jvp":
            ones = rg.tensor(np.ones(3)) if lib == "rg" else torch.ones(3, dtype=torch.float64)
            return F_.jvp(lambda x: f(x, *args[1:]), (x,), (ones,))[1]
        out, fn = F_.vjp(lambda x: f(x, *args[1:]), x)
        return fn(out)[0]
    t_w = torch.from_numpy(wa.copy()).requires_grad_()
    results("torch", torch.from_numpy(xa), t_w).sum().backward()
    w = rg.tensor(wa, requires_grad=True)
    r = results("rg", rg.tensor(xa), w)
    assert r.requires_grad, f"{transform}: the result is cut off from w"
    (gw,) = rg.grad(r.sum(), [w])
    np.testing.assert_allclose(gw.data, t_w.grad.numpy(), rtol=1e-10)
