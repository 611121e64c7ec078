"""PyTorch's own functorch tests (test/functorch/test_eager_transforms.py: TestGradTransform,
TestJac, TestHessian, TestJvp, TestLinearize, TestComposability, the vjp tests) ported to run
each function through ``torch.func`` and ``rg.func`` side by side: torch 2.13 is the live
oracle. Every case compares values, dtypes, shapes and the pytree structure of the results
(tuple, list, dict and key order), or, for a refusal, the exception type (ours must be an
instance of torch's) and the phrase torch's own test matches.

Cases already ported elsewhere are not repeated (argnums refusals: test_torch_func_parity.py;
nesting and escaped wrappers: test_transform_levels.py; linearize's jvp_fn refusals:
test_linearize_stack.py). In-place writes inside a transform (``test_inplace*``,
``test_advanced_indexing``'s ``value[mask] = 0``) are a documented difference (README,
"Differences from PyTorch": in-place methods on the tape); they are asserted as refusals here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.func as TF
import torch.nn.functional as TNF

import retrograd as rg
import retrograd.nn.functional as RNF
from retrograd import func as F

pytestmark = pytest.mark.usefixtures("float64_default")

RNG = np.random.RandomState(0)
LIBS = (("rg", rg, F), ("torch", torch, TF))


def arr(*shape, dtype=np.float64):
    """Fixed random numbers of ``shape`` (the same for both libraries)."""
    return RNG.standard_normal(shape).astype(dtype)


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "") if isinstance(t, torch.Tensor) else np.dtype(t.dtype).name


def same(ours, theirs, path="out", rtol=1e-10, atol=1e-12):
    """Equal trees: the same container types, lengths and dict keys in order; at the leaves the
    same shapes, dtypes and values (tensors), or equal Python values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, rg.Tensor), f"{path}: {type(ours).__name__}, torch has a Tensor"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: shape {tuple(ours.shape)} vs {tuple(theirs.shape)}"
        assert _dtype_name(ours) == _dtype_name(theirs), f"{path}: dtype {_dtype_name(ours)} vs {_dtype_name(theirs)}"
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol, err_msg=path)
    elif isinstance(theirs, (tuple, list, dict)):
        assert type(ours) is type(theirs), f"{path}: {type(ours).__name__} vs {type(theirs).__name__}"
        assert len(ours) == len(theirs), f"{path}: length {len(ours)} vs {len(theirs)}"
        if isinstance(theirs, dict):
            assert list(ours) == list(theirs), f"{path}: keys {list(ours)} vs {list(theirs)}"
            for k in theirs:
                same(ours[k], theirs[k], f"{path}[{k!r}]", rtol, atol)
        else:
            for i, (o, t) in enumerate(zip(ours, theirs)):
                same(o, t, f"{path}[{i}]", rtol, atol)
    else:
        assert ours == theirs, f"{path}: {ours!r} vs {theirs!r}"


def both(case, *arrays, requires_grad=False, **kw):
    """``case(lib, func, *tensors)`` for retrograd and torch on the same numbers; the results
    compared by ``same``. Returns (ours, theirs)."""
    results = []
    for _, lib, fn in LIBS:
        xs = [lib.tensor(a, requires_grad=requires_grad) if isinstance(a, np.ndarray) else a for a in arrays]
        results.append(case(lib, fn, *xs))
    same(*results, **kw)
    return results


def same_error(case, *arrays, phrase=None):
    """``case`` raises under torch and under retrograd: ours an instance of torch's exception
    type, both messages containing ``phrase`` (a regex, as torch's test asserts it)."""
    errors = []
    for _, lib, fn in LIBS:
        xs = [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
        with pytest.raises(Exception) as info:
            case(lib, fn, *xs)
        errors.append(info.value)
    ours, theirs = errors
    assert isinstance(ours, type(theirs)), f"ours {type(ours).__name__}: {ours}; torch {type(theirs).__name__}"
    if phrase is not None:
        for e in errors:
            assert re.search(phrase, str(e)), (phrase, str(e))


S, V3, V3B, M23, M23B = arr(), arr(3), arr(3), arr(2, 3), arr(2, 3)


# ---------------------------------------------------------------- TestGradTransform
GRAD_CASES = {  # test name: (case(lib, fn, *xs), inputs)
    "primitive": (lambda lib, fn, x: fn.grad(lib.sin)(x), (S,)),
    "composite_simple": (lambda lib, fn, x: fn.grad(lambda x: lib.flatten(x).sum())(x), (arr(2, 3, 4),)),
    "fn_with_kwargs": (lambda lib, fn, x, y: (fn.grad(lambda x, y: (x * y).sum())(x, y=y),
                                              fn.grad(lambda x, y: (x * y).sum())(x, y)), (V3, V3B)),
    "composite_complicated": (lambda lib, fn, x, y: fn.grad(lambda x, y: (x @ y).sum())(x, y), (V3, arr(3, 5))),
    "tensor_ctor_inside_grad": (lambda lib, fn, x: fn.grad(lambda x: x * lib.tensor(2.0))(x), (S,)),
    "zero_grad": (lambda lib, fn, a, b: fn.grad(lambda d: (d["a"] ** 2.0).sum())({"a": a + 3, "b": b}),
                  (arr(10), arr(10))),
    "unrelated_grad": (lambda lib, fn, x, y: fn.grad(lambda x: y)(x), (np.array(1.0), np.array(2.0))),
    "grad_grad": (lambda lib, fn, x: fn.grad(fn.grad(lib.sin))(x), (S,)),
    "grad_vjp": (lambda lib, fn, x: fn.grad(lambda x: fn.vjp(lib.sin, x)[1](x)[0].sum())(x), (V3,)),
    "vjp_grad": (lambda lib, fn, x, v: (lambda y, f: (y, f(v)))(*fn.vjp(fn.grad(lib.sin), x)), (S, arr())),
    "vmap_grad": (lambda lib, fn, x: fn.vmap(fn.grad(lib.sin))(x), (V3,)),
    "grad_vmap": (lambda lib, fn, x: fn.grad(lambda x: fn.vmap(lib.sin)(x).sum())(x), (V3,)),
    "vjp_vmap": (lambda lib, fn, x, v: (lambda y, f: (y, f(v)))(*fn.vjp(fn.vmap(lib.sin), x)), (V3, V3B)),
    "vjp_vjp": (lambda lib, fn, x: (lambda f: fn.vjp(lambda x: f(x)[0], x)[0])(fn.vjp(lib.sin, x)[1]), (V3,)),
}


@pytest.mark.parametrize("name", GRAD_CASES)
def test_grad_cases_match_torch(name):
    case, inputs = GRAD_CASES[name]
    both(case, *inputs)


def test_composite_two_ops_with_integer_targets_passed_through():
    """``grad(cross_entropy)(y, targets)``: an integer argument outside argnums is passed as is."""
    y, targets = arr(2, 5), np.array([1, 4])
    ours = F.grad(RNF.cross_entropy)(rg.tensor(y), rg.tensor(targets))
    theirs = TF.grad(TNF.cross_entropy)(torch.tensor(y), torch.tensor(targets))
    same(ours, theirs)


@pytest.mark.parametrize("attr", ["shape", "dtype", "numel", "dim"])
def test_attributes_inside_grad_are_the_inputs(attr):
    seen = {}

    def case(lib, fn, x):
        def foo(x):
            v = getattr(x, attr)
            seen[lib.__name__] = _dtype_name(x) if attr == "dtype" else tuple(v) if attr == "shape" else v()
            return x.sum()
        return fn.grad(foo)(x)
    both(case, arr(2, 3, 5))
    assert seen["retrograd"] == seen["torch"]


ARGNUMS = [0, 1, (0,), (0, 1), (1, 0), -2, -1, (-2,), (-2, -1)]


@pytest.mark.parametrize("argnums", ARGNUMS, ids=str)
def test_argnums_out_of_order_and_negative(argnums):
    """test_argnums, test_out_of_order_argnums, test_negative_argnums: the gradients of mul in
    argnums' order, a bare int giving a Tensor and a tuple a tuple."""
    both(lambda lib, fn, x, y: fn.grad(lib.mul, argnums=argnums)(x, y), arr(), arr())


@pytest.mark.parametrize("argnums", [0, (0,), (0, 1)], ids=str)
def test_grad_pytree_inputs(argnums):
    """One tensor used as several leaves of tuple and dict arguments: one gradient per leaf."""
    def case(lib, fn, x):
        return fn.grad(lambda a, b: 1 * a[0] + 2 * a[1] + 3 * b["foo"], argnums=argnums)((x, x), {"foo": x})
    both(case, S)


@pytest.mark.parametrize("transform", ["grad", "grad_and_value"])
def test_grad_aux_tensor_and_pytree(transform):
    both(lambda lib, fn, x: getattr(fn, transform)(lambda t: (t.sin().sum(), t.cos()), has_aux=True)(x), V3)
    both(lambda lib, fn, x: getattr(fn, transform)(
        lambda t: (t.sin().sum(), {"a": t.cos(), "b": [t.tan()]}), has_aux=True)(x), V3)


@pytest.mark.parametrize("transform", ["grad", "grad_and_value"])
@pytest.mark.parametrize("out", [lambda t: [t.sum(), t], lambda t: (t.sum(), t + 2, t + 3)], ids=["list", "3-tuple"])
def test_grad_aux_that_is_not_a_pair_is_refused(transform, out):
    same_error(lambda lib, fn, x: getattr(fn, transform)(out, has_aux=True)(x), V3,
               phrase=r"grad_and_value\(f\)\(\*args\): output of function f should be a tuple")


@pytest.mark.parametrize("transform", ["grad", "vjp", "jvp", "jacrev", "jacfwd"])
@pytest.mark.parametrize("aux", [1, 1.0, "abc"], ids=repr)
@pytest.mark.parametrize("nested", [False, True])
def test_aux_that_is_not_tensors_is_refused_by_every_transform(transform, aux, nested):
    """test_*_aux_pytree's refusals: 1, 1.0 and "abc" as aux, bare or in a list beside a tensor."""
    def f(x):
        return (x.sum() if transform == "grad" else x), ([x, aux] if nested else aux)

    def case(lib, fn, x):
        if transform == "vjp":
            return fn.vjp(f, x, has_aux=True)
        if transform == "jvp":
            return fn.jvp(f, (x,), (x,), has_aux=True)
        return getattr(fn, transform)(f, has_aux=True)(x)
    same_error(case, V3, phrase="Expected tensors, got unsupported type")


def test_inplace_inside_grad_is_refused_naming_the_out_of_place_form():
    """test_inplace, test_advanced_indexing (``value[value > 0] = 0``): torch rebases the graph;
    retrograd refuses a write on the tape (README's differences), naming what to write instead."""
    x = arr(5)
    theirs = TF.grad(lambda v: v.clone().sin_().sum())(torch.tensor(x))
    np.testing.assert_allclose(theirs.numpy(), np.cos(x))
    with pytest.raises(RuntimeError, match=r"sin_: .*x = x\.sin\(\)"):
        F.grad(lambda v: v.clone().sin_().sum())(rg.tensor(x))

    def f2(v):
        v = v.clone()
        v[v > 0] = 0
        return v.sum()
    with pytest.raises(RuntimeError, match=r"__setitem__: .*rg\.where"):
        F.grad(f2)(rg.tensor(x))
    # the out-of-place form gives torch's gradient
    same(F.grad(lambda v: rg.where(v > 0, 0.0, v).sum())(rg.tensor(x)), TF.grad(f2)(torch.tensor(x)))


# ---------------------------------------------------------------- vjp (TestGradTransform's vjp tests)
def _called(out_and_fn, *cotangents):
    """(output, vjp_fn(each cotangent)...) from vjp's (output, vjp_fn)."""
    out, vjp_fn = out_and_fn
    return (out,) + tuple(vjp_fn(c) for c in cotangents)


VJP_CASES = {
    "vjp": (lambda lib, fn, x, v: _called(fn.vjp(lib.sin, x), v), (S, arr())),
    "two_outputs": (lambda lib, fn, x: (lambda r, f: f(r))(*fn.vjp(lambda x: (x, x), x)), (np.array(1.0),)),
    "unrelated_vjp": (lambda lib, fn, x, y, v: _called(fn.vjp(lambda x: y, x), v),
                      (np.array(1.0), np.array(2.0), np.array(1.0))),
    "unrelated_multiple": (lambda lib, fn, w, x, y, v: _called(fn.vjp(lambda w, x: (y, y, x), w, x), (v, v, v)),
                           (np.array(3.0), np.array(4.0), np.array(2.0), np.array(1.0))),
    "pytree_input": (lambda lib, fn, x, v: _called(fn.vjp(lambda x: x[0] * x[1][0], (x, (x, x))), v), (S, arr())),
    "pytree_output": (lambda lib, fn, x, a, b, c: _called(fn.vjp(lambda x: (x, (x, x)), x), (a, (b, c))),
                      (S, arr(), arr(), arr())),
    "list_output": (lambda lib, fn, x, t: _called(fn.vjp(lambda x: [x, x.sum()], x), [t, t.sum()]), (M23, M23B)),
    "dict_output": (lambda lib, fn, x, t: _called(fn.vjp(lambda x: {"x": x, "xsum": x.sum()}, x),
                                                  {"x": t, "xsum": t.sum()}), (M23, M23B)),
    "composite_output": (lambda lib, fn, x, t: _called(fn.vjp(lambda x: [(x.sum(), {"a": x, "out": [x, x.sum()]})], x),
                                                       [(t.sum(), {"a": t, "out": [t, t.sum()]})]), (M23, M23B)),
    "aux_tensor": (lambda lib, fn, x, v: (lambda o, f, a: (o, a, f(v)))(
        *fn.vjp(lambda t: (t.sin(), t.cos()), x, has_aux=True)), (V3, V3B)),
    "aux_pytree": (lambda lib, fn, x, v: (lambda o, f, a: (o, a, f(v)))(
        *fn.vjp(lambda t: (t.sin(), {"a": t.cos(), "b": [t.tan()]}), x, has_aux=True)), (V3, V3B)),
    "scalar_output_of_a_matrix": (lambda lib, fn, x, v: _called(fn.vjp(lambda x: (x * x).sum(), x), v), (M23, arr())),
}


@pytest.mark.parametrize("name", VJP_CASES)
def test_vjp_cases_match_torch(name):
    case, inputs = VJP_CASES[name]
    both(case, *inputs)


@pytest.mark.parametrize("output", [None, ()], ids=repr)
def test_vjp_empty_output_is_refused(output):
    same_error(lambda lib, fn, x: fn.vjp(lambda _: output, x), M23,
               phrase=r"vjp\(f, \*primals\): Expected f to be a function that has non-empty output")


@pytest.mark.parametrize("output", [1, True, 12.2, "abc"], ids=repr)
def test_vjp_non_tensor_output_is_refused(output):
    same_error(lambda lib, fn, x: fn.vjp(lambda _: output, x), M23,
               phrase=r"vjp\(f, \*primals\): expected f\(\*primals\) to return only tensors")


def test_vjp_pytree_error():
    def case(lib, fn, x, a, b, c):
        return fn.vjp(lambda x: (x, (x, x)), x)[1](((a, (b, c)),))
    same_error(case, S, arr(), arr(), arr(), phrase="Expected pytree structure")


@pytest.mark.parametrize("out", [lambda t: [t, t], lambda t: (t, t + 2, t + 3)], ids=["list", "3-tuple"])
def test_vjp_aux_that_is_not_a_pair_is_refused(out):
    same_error(lambda lib, fn, x: fn.vjp(out, x, has_aux=True), V3,
               phrase=r"vjp\(f, \*primals\): output of function f should be a tuple")


# ---------------------------------------------------------------- grad modes (test_no_grad_*, test_inference_mode_*)
def _with_flags(tree):
    """The tensors of ``tree`` with their ``requires_grad`` beside them, for ``same``."""
    leaves = tree if isinstance(tree, (tuple, list)) else (tree,)
    return tuple((t, t.requires_grad) for t in leaves)


def _autograd(lib, y, x):
    return lib.autograd.grad(y, x)[0]


def _shifted(lib):
    def f(x):
        with lib.no_grad():
            shift = x ** 2
        return x ** 2 - shift
    return f


MODE_CASES = {
    "composed_with_autograd": lambda lib, fn, x: _with_flags(_autograd(lib, fn.grad(lib.sin)(x), x)),
    "no_grad_outside": lambda lib, fn, x: _with_flags(_no_grad(lib, lambda: fn.grad(lib.sin)(x))),
    # grad(grad(f))(x) = 2 compared by value only: torch's pow double backward keeps x in its graph
    # (x**0), so it requires grad; retrograd's does not (the ops' derivative graphs, not the transforms)
    "no_grad_inside": lambda lib, fn, x: (_with_flags((fn.grad(_shifted(lib))(x),
                                                       _autograd(lib, fn.grad(_shifted(lib))(x), x))),
                                          fn.grad(fn.grad(_shifted(lib)))(x).detach()),
    "no_grad_mixed": lambda lib, fn, x: _with_flags(_no_grad(lib, lambda: fn.grad(_shifted(lib))(x))),
    "no_grad_outside_vjp": lambda lib, fn, x: _with_flags(_no_grad(lib, lambda: (lambda o, f: (o,) + f(
        lib.tensor(1.0, dtype=lib.float64)))(*fn.vjp(lambda t: t ** 2, x)))),
    "inference_mode_outside_grad": lambda lib, fn, x: _with_flags(_inference(
        lib, lambda: fn.grad(lambda x: (x ** 2).sum())(x))),
    "inference_mode_outside_jvp": lambda lib, fn, x: _with_flags(_inference(
        lib, lambda: fn.jvp(lambda x: (x ** 2).sum(), (x,), (lib.ones_like(x),)))),
    "inference_mode_outside_jacrev": lambda lib, fn, x: _with_flags(_inference(
        lib, lambda: fn.jacrev(lambda x: x ** 2)(x))),
    "inference_mode_jacrev_grad": lambda lib, fn, x: _with_flags(_inference(
        lib, lambda: fn.jacrev(fn.grad(lambda x: (x ** 3).sum()))(x))),
    "inference_mode_outside_vmap_grad": lambda lib, fn, x: _with_flags(_inference(
        lib, lambda: fn.vmap(fn.grad(lambda x: (x ** 2).sum()))(lib.stack([x, 2 * x])))),
}


def _no_grad(lib, thunk):
    with lib.no_grad():
        return thunk()


def _inference(lib, thunk):
    with lib.inference_mode():
        return thunk()


@pytest.mark.parametrize("name", MODE_CASES)
def test_grad_mode_cases_match_torch(name):
    """Values and ``requires_grad`` of each result, as torch's."""
    x = np.array(1.5) if "inference" not in name else V3
    both(MODE_CASES[name], x, requires_grad="inference" not in name)
