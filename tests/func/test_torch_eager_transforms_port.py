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


# ---------------------------------------------------------------- TestJac (jacrev and jacfwd)
def _reference(f):
    """torch's ``_test_against_reference``: the Jacobian of ``f(*inputs)`` taken as one tuple argument."""
    return lambda lib, fn, jac, *xs: jac(lambda inputs: f(*inputs))(tuple(xs))


JAC_CASES = {  # test name: (case(lib, fn, jac, *xs), inputs)
    "simple": (lambda lib, fn, jac, x: jac(lib.sin)(x), (V3,)),
    "simple_not_flat": (lambda lib, fn, jac, x: jac(lib.sin)(x), (M23,)),
    "take": (lambda lib, fn, jac, x: jac(lambda x: lib.take(x, lib.ones(3, dtype=lib.int64)))(x), (arr(5),)),
    "diff_numel": (lambda lib, fn, jac, x: jac(lambda x: x[0, 1:].unsqueeze(-1))(x), (arr(2, 4),)),
    "nested_jac_simple": (lambda lib, fn, jac, x: jac(jac(lambda x: x.sin().sum()))(x), (V3,)),
    "multiple_args": (lambda lib, fn, jac, x, y: jac(lib.multiply, argnums=1)(x, y), (V3, V3B)),
    "multiple_outputs_multiple_argnums": (
        lambda lib, fn, jac, x, y: jac(lambda x, y: (2 * x + 3 * y, 4 * x + 5 * y), argnums=(0, 1))(x, y), (V3, V3B)),
    "multiple_outputs_single_argnums": (lambda lib, fn, jac, x, y: (
        jac(lambda x, y: (2 * x + 3 * y, 4 * x + 5 * y), argnums=0)(x, y),
        jac(lambda x, y: (2 * x + 3 * y, 4 * x + 5 * y), argnums=(0,))(x, y)), (V3, V3B)),
    "multiple_outputs_pytree": (lambda lib, fn, jac, x, y: jac(
        lambda x, y: {"left": 2 * x + 3 * y, "right": 4 * x + 5 * y}, argnums=(0, 1))(x, y), (V3, V3B)),
    "multiple_inputs_pytree": (lambda lib, fn, jac, x: tuple(
        jac(lambda a, b, c: a[0] + a[1] * 2 + b * 3 + c * 4, argnums=n)((x, x), x, x)
        for n in ((0, 1, 2), (0,), 0)), (S,)),
    "dimensionality": (lambda lib, fn, jac, x, y: (jac(lambda x: x)(x), jac(lambda x: x)(y)), (S, arr(1))),
    "aux_tensor": (lambda lib, fn, jac, x: jac(lambda x: (x.clone(), x.clone().cos()), has_aux=True)(x), (V3,)),
    "aux_pytree": (lambda lib, fn, jac, x: jac(
        lambda x: (x.clone(), {"a": x.cos(), "b": [x.tan()]}), has_aux=True)(x), (V3,)),
    "list_output": (lambda lib, fn, jac, x: jac(lambda x: [x, x.sum()])(x), (M23,)),
    "dict_output": (lambda lib, fn, jac, x: jac(lambda x: {"x": x, "xsum": x.sum()})(x), (M23,)),
    "composite_output": (lambda lib, fn, jac, x: jac(lambda x: [(x.sum(), {"a": x, "out": [x, x.sum()]})])(x), (M23,)),
    "multiple_inputs_outputs_pytree": (lambda lib, fn, jac, x: tuple(
        jac(lambda a, b, c: (a[0] + a[1] * 2, {"foo": b * 3 + c * 4}), argnums=n)((x, x), x, x)
        for n in (0, (0,), (0, 1))), (S,)),
    "multiple_inputs_outputs_pytree_multidim": (lambda lib, fn, jac, x: jac(
        lambda d: {"c": d["a"].sin(), "d": d["b"].cos()})({"a": x, "b": x}), (V3,)),
    "unrelated_input": (lambda lib, fn, jac, x, y: jac(lambda x, y: x, argnums=(0, 1))(x, y), (M23, M23B)),
    "unrelated_output": (lambda lib, fn, jac, x, y: jac(lambda x: y)(x), (M23, M23B)),
    "argnums_tuple": (lambda lib, fn, jac, x, y: jac(lib.multiply, argnums=(0, 1))(x, y), (V3, V3B)),
    "argnums_effect_on_return": (lambda lib, fn, jac, x, y: (jac(lib.multiply, argnums=(0,))(x, y),
                                                             jac(lib.multiply, argnums=0)(x, y)), (V3, V3B)),
    "argnums_defaults_to_zero": (lambda lib, fn, jac, x, y: jac(lambda x, y: x * 2 + y * 3)(x, y), (V3, V3B)),
    "against_reference_simple": (_reference(lambda x: 3 * x ** 2), (arr(2, 3, 5),)),
    "against_reference_multi_input": (_reference(lambda x, y: (x.cos() * x) @ y.sin()), (M23, arr(3, 5))),
    "against_reference_multi_input_multi_output": (
        _reference(lambda x, y: ((x * x) @ y, x @ (x.sum(1) * y), y.sum())), (arr(5, 3), arr(3, 5))),
    "against_reference_unrelated_outputs": (_reference(lambda x, y: (x, y, x, y)), (arr(2), V3)),
    "against_reference_zero_dim_output": (_reference(lambda x, y: (x.sum(), y.sum(), x * y)), (V3, V3B)),
    "against_reference_zero_dim_input": (lambda lib, fn, jac, x: _reference(lambda x: lib.stack([x, x, x]))(
        lib, fn, jac, x), (S,)),
    "against_reference_mixed_zero_dim": (_reference(lambda x, y: (y.sum(), x * y)), (S, arr(1))),
    "against_reference_default_arg": (_reference(lambda x, y, z=3.0: x * y * z), (V3, V3B)),
    "jac_with_non_tensor_args": (lambda lib, fn, jac, t: jac(lambda t, k: t + k)(t, 3), (arr(3, 3),)),
    "hessian_simple": (lambda lib, fn, jac, x: fn.hessian(lambda x: x.sin())(x), (V3,)),
    "unrelated_hessian": (lambda lib, fn, jac, w, x: fn.jacrev(fn.jacrev(lambda x: w @ x))(x), (arr(5, 3), V3)),
}


@pytest.mark.parametrize("jacapi", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("name", JAC_CASES)
def test_jacobian_cases_match_torch(name, jacapi):
    case, inputs = JAC_CASES[name]
    both(lambda lib, fn, *xs: case(lib, fn, getattr(fn, jacapi), *xs), *inputs)


@pytest.mark.parametrize("argnums", [-1, (-1, 0), (0, -1)], ids=str)
def test_negative_argnums_count_from_the_end(argnums):
    """A negative argnum names an argument from the end, as torch's ``_slice_argnums``. torch
    2.13's jacfwd differentiates nothing then (a zero Jacobian: its argument substitution compares
    the argument's index with the negative number); retrograd's jacfwd gives the Jacobian, equal to
    jacrev's and to the positive index's (README, "Differences from PyTorch")."""
    positive = tuple(a % 2 for a in argnums) if isinstance(argnums, tuple) else argnums % 2
    x, y = V3, V3B
    expected = TF.jacrev(torch.multiply, argnums=argnums)(torch.tensor(x), torch.tensor(y))
    torch.testing.assert_close(TF.jacfwd(torch.multiply, argnums=positive)(torch.tensor(x), torch.tensor(y)), expected)
    for jac in (F.jacrev, F.jacfwd):
        same(jac(rg.multiply, argnums=argnums)(rg.tensor(x), rg.tensor(y)), expected)
    broken = TF.jacfwd(torch.multiply, argnums=argnums)(torch.tensor(x), torch.tensor(y))
    # torch's wrong zeros, kept here so that a torch that fixes it flags the README row for removal
    k = argnums.index(-1) if isinstance(argnums, tuple) else None
    assert not (broken[k] if k is not None else broken).any()


@pytest.mark.parametrize("jacapi", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("output", [None, ()], ids=repr)
def test_jacobian_of_an_empty_output_is_refused(jacapi, output):
    same_error(lambda lib, fn, x: getattr(fn, jacapi)(lambda _: output)(x), M23,
               phrase=r"(vjp|jvp).+: Expected f to be a function that has non-empty output")


@pytest.mark.parametrize("jacapi", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("output", [1, True, 12.2, "abc"], ids=repr)
def test_jacobian_of_a_non_tensor_output_is_refused(jacapi, output):
    same_error(lambda lib, fn, x: getattr(fn, jacapi)(lambda _: output)(x), M23,
               phrase=r"(vjp|jvp).+: expected f\(\*primals\) to return only tensors")


@pytest.mark.parametrize("jacapi", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("out", [lambda t: [t, t], lambda t: (t, t + 2, t + 3)], ids=["list", "3-tuple"])
def test_jacobian_aux_that_is_not_a_pair_is_refused(jacapi, out):
    same_error(lambda lib, fn, x: getattr(fn, jacapi)(out, has_aux=True)(x), V3,
               phrase="output of function f should be a tuple")


def test_jacobian_of_a_two_argument_empty_output_is_refused():
    for jacapi in ("jacrev", "jacfwd"):
        same_error(lambda lib, fn, x, y: getattr(fn, jacapi)(lambda x, y: ())(x, y), V3, V3B, phrase="xpected")


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 3, 4, 7, 10, 1000])
def test_chunk_jacrev(chunk_size):
    def case(lib, fn, x, y):
        return fn.jacrev(lambda x, y: ((x.sin(), x + y), (x + 2, x.sum())), argnums=(0, 1), chunk_size=chunk_size)(x, y)
    both(case, arr(10, 2), arr(1, 2))


@pytest.mark.parametrize("chunk_size", [0, -2])
def test_chunk_jacrev_refuses_a_size_below_one(chunk_size):
    same_error(lambda lib, fn, x: fn.jacrev(lib.sin, argnums=(0,), chunk_size=chunk_size)(x), V3,
               phrase="jacrev: `chunk_size` should be greater than 0.")
    with pytest.raises(ValueError):  # torch's test asserts ValueError
        F.jacrev(rg.sin, chunk_size=chunk_size)(rg.tensor(V3))


def test_chunk_jacrev_composition():
    """jacrev of a chunked jacrev, mapped over a batch."""
    def case(lib, fn, x):
        def f(x):
            return (x.sin(), x), (x + 2, x.sum())
        return fn.vmap(fn.jacrev(fn.jacrev(f, chunk_size=3), chunk_size=3))(x)
    both(case, arr(10, 2))


@pytest.mark.parametrize("jacapi", ["jacrev", "jacfwd"])
def test_complex_inputs_and_outputs_are_refused(jacapi):
    same_error(lambda lib, fn, x: getattr(fn, jacapi)(lambda x: x.conj())(x), np.array([1.0 + 2.0j]),
               phrase=f"{jacapi}: Expected all inputs")
    same_error(lambda lib, fn, x: getattr(fn, jacapi)(lambda x: x * 0.5j)(x), np.array([1.0]),
               phrase=f"{jacapi}: Expected all outputs")


# ---------------------------------------------------------------- TestHessian
def _hessian_reference(f):
    return lambda lib, fn, *xs: fn.hessian(lambda inputs: f(*inputs))(tuple(xs))


HESSIAN_CASES = {
    "simple": (_hessian_reference(lambda x: (3 * x ** 2).sum()), (arr(2, 3, 5),)),
    "multi_input": (_hessian_reference(lambda x, y, z: ((x.relu() * x) @ y.sin() @ z).sum()),
                    (M23, arr(3, 5), arr(5, 5))),
    "unrelated_to_one_input": (_hessian_reference(lambda x, y: (x ** 2).sum()), (arr(2), V3)),
    "unrelated_to_all_inputs": (lambda lib, fn, x, y: _hessian_reference(lambda x, y: lib.ones([]))(lib, fn, x, y),
                                (arr(2), V3)),
    "several_argnums": (lambda lib, fn, x, y: fn.hessian(lambda x, y: (x.sin() * y).sum() * y.sum(), argnums=(0, 1))(
        x, y), (V3, V3B)),
    "scalar": (lambda lib, fn, x: fn.hessian(lambda x: x.sin() * x.exp())(x), (S,)),
}


@pytest.mark.parametrize("name", HESSIAN_CASES)
def test_hessian_cases_match_torch(name):
    case, inputs = HESSIAN_CASES[name]
    both(case, *inputs)


# ---------------------------------------------------------------- TestJvp
JVP_CASES = {
    "simple": (lambda lib, fn, x, t: fn.jvp(lib.sin, (x,), (t,)), (M23, M23B)),
    "multiple_inputs": (lambda lib, fn, x, y, tx, ty: fn.jvp(lambda x, y: x * y, (x, y), (tx, ty)),
                        (M23, M23B, arr(2, 3), arr(2, 3))),
    "pytree_inputs": (lambda lib, fn, one: fn.jvp(lambda x, y, z: x[0] + 2 * x[1] + 3 * y + 4 * z,
                                                  ((one, one), one, one), ((one, one), one, one)), (np.array(1.0),)),
    "unrelated_input": (lambda lib, fn, x, y, tx, ty: fn.jvp(lambda x, y: x, (x, y), (tx, ty)),
                        (M23, M23B, arr(2, 3), arr(2, 3))),
    "unrelated_output": (lambda lib, fn, y, x, tx: fn.jvp(lambda x: y, (x,), (tx,)), (M23, M23B, arr(2, 3))),
    "multiple_outputs": (lambda lib, fn, x, t: fn.jvp(lambda x: (lib.sin(x), lib.cos(x)), (x,), (t,)), (M23, M23B)),
    "multiple_inputs_outputs": (lambda lib, fn, x, y, tx, ty: fn.jvp(
        lambda x, y: (2 * x + 3 * y, 4 * x + 5 * y), (x, y), (tx, ty)), (M23, M23B, arr(2, 3), arr(2, 3))),
    "jvp_new_tensor": (lambda lib, fn, x: fn.jvp(lambda x: x + x.new_tensor(0.5), (x,), (lib.zeros_like(x),)),
                       (arr(10, 10),)),
    "list_output": (lambda lib, fn, x, t: fn.jvp(lambda x: [x, x.sum()], (x,), (t,)), (M23, M23B)),
    "dict_output": (lambda lib, fn, x, t: fn.jvp(lambda x: {"x": x, "xsum": x.sum()}, (x,), (t,)), (M23, M23B)),
    "composite_output": (lambda lib, fn, x, t: fn.jvp(lambda x: [(x.sum(), {"a": x, "out": [x, x.sum()]})], (x,), (t,)),
                         (M23, M23B)),
    "aux_tensor": (lambda lib, fn, x, t: fn.jvp(lambda z: (z.sin(), z.cos()), (x,), (t,), has_aux=True), (V3, V3B)),
    "aux_pytree": (lambda lib, fn, x, t: fn.jvp(lambda z: (z.sin(), {"a": z.cos(), "b": [z.tan()]}), (x,), (t,),
                                                has_aux=True), (V3, V3B)),
    "dict_primals": (lambda lib, fn, x, t: fn.jvp(lambda d: d["a"] * d["b"], ({"a": x, "b": x},), ({"a": t, "b": t},)),
                     (V3, V3B)),
    "scalar": (lambda lib, fn, x, t: fn.jvp(lambda x: x.exp() * x, (x,), (t,)), (S, arr())),
    "strict_dependent_output": (lambda lib, fn, x, t: fn.jvp(lambda x: x.sin(), (x,), (t,), strict=True), (V3, V3B)),
}


@pytest.mark.parametrize("name", JVP_CASES)
def test_jvp_cases_match_torch(name):
    case, inputs = JVP_CASES[name]
    both(case, *inputs)


def test_jvp_strict_mode_refuses_an_output_independent_of_the_inputs():
    same_error(lambda lib, fn, y, x, t: fn.jvp(lambda x: (x, y), (x,), (t,), strict=True), M23, M23B, arr(2, 3),
               phrase="strict")


def test_jvp_refuses_an_integer_tangent_in_torchs_words():
    same_error(lambda lib, fn, x, t: fn.jvp(lib.sin, (x,), (t,)), V3, np.array([1, 2, 3]),
               phrase="Expected tangent to be floating point or complex, but got: .*int64")


JVP_REFUSALS = {  # test_pytree_inputs_error_cases, test_primals_tangents_length_mismatch, ...
    "primals_not_a_tuple": (lambda lib, fn, one: fn.jvp(lambda x: x, one, one), "Expected primals to be a tuple"),
    "nested_structure": (lambda lib, fn, one: fn.jvp(lambda x: x, ((one, one), one), (one, one)),
                         "same python structure"),
    "int_primal": (lambda lib, fn, one: fn.jvp(lambda x: x, ((one, one), 1), ((one, one), one)), "only contain Tensors"),
    "int_primal_and_tangent": (lambda lib, fn, one: fn.jvp(lambda x: x, ((one, one), 1), ((1, one), one)),
                               "only contain Tensors"),
    "empty_nested": (lambda lib, fn, one: fn.jvp(lambda x: x, ((),), ((),)), "at least one Tensor"),
    "more_tangents": (lambda lib, fn, one: fn.jvp(lib.sin, (one,), (one, one)), "same python structure"),
    "more_tangents_2": (lambda lib, fn, one: fn.jvp(lib.sin, (one, one), (one, one, one)), "same python structure"),
    "empty": (lambda lib, fn, one: fn.jvp(lib.sin, (), ()), "at least one Tensor"),
    "tensor_primals": (lambda lib, fn, one: fn.jvp(lib.sin, one, (one,)), "be a tuple"),
    "tensor_tangents": (lambda lib, fn, one: fn.jvp(lib.sin, (one,), one), "same python structure"),
    "list_tangents": (lambda lib, fn, one: fn.jvp(lib.sin, (one,), [one]), "same python structure"),
    "float_primal": (lambda lib, fn, one: fn.jvp(lib.sin, (1.0,), (one,)), "only contain Tensors"),
    "float_tangent": (lambda lib, fn, one: fn.jvp(lib.sin, (one,), (1.0,)), "only contain Tensors"),
    "none_output": (lambda lib, fn, one: fn.jvp(lambda _: None, (one,), (one,)),
                    r"jvp\(f, primals, tangents\): Expected f to be a function that has non-empty output"),
    "empty_output": (lambda lib, fn, one: fn.jvp(lambda _: (), (one,), (one,)),
                     r"jvp\(f, primals, tangents\): Expected f to be a function that has non-empty output"),
    **{f"{type(o).__name__}_output": ((lambda o: lambda lib, fn, one: fn.jvp(lambda _: o, (one,), (one,)))(o),
                                      r"jvp\(f, primals, tangents\): expected f\(\*primals\) to return only tensors")
       for o in (1, True, 12.2, "abc")},
    "aux_list": (lambda lib, fn, one: fn.jvp(lambda t: [t, t], (one,), (one,), has_aux=True),
                 r"jvp\(f, primals, tangents\): output of function f should be a tuple"),
    "aux_3_tuple": (lambda lib, fn, one: fn.jvp(lambda t: (t, t + 2, t + 3), (one,), (one,), has_aux=True),
                    r"jvp\(f, primals, tangents\): output of function f should be a tuple"),
}


@pytest.mark.parametrize("name", JVP_REFUSALS)
def test_jvp_refusals_match_torch(name):
    case, phrase = JVP_REFUSALS[name]
    same_error(case, np.array(1.0), phrase=phrase)


def test_jvp_inside_a_custom_function():
    """test_jvp_inside_autograd_function: jvp in a Function's forward and backward."""
    def case(lib, fn, x):
        class MySin(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                _, neg_sin_x = fn.jvp(lib.cos, (x,), (lib.ones_like(x),))
                ctx.save_for_backward(x)
                return -neg_sin_x

            @staticmethod
            def backward(ctx, gx):
                (x,) = ctx.saved_tensors
                return gx * fn.jvp(lib.sin, (x,), (lib.ones_like(x),))[1]
        y = MySin.apply(x)
        return y.detach(), lib.autograd.grad(y, x)[0]
    both(case, S, requires_grad=True)


# ---------------------------------------------------------------- TestLinearize
def _linearized(f):
    """(linearize's output, its jvp_fn at the tangents, jvp's output and tangent) for ``f``."""
    def case(lib, fn, p, t):
        out, jvp_fn = fn.linearize(f, p)
        return out, jvp_fn(t), fn.jvp(f, (p,), (t,))
    return case


LINEARIZE_CASES = {
    "basic": (_linearized(lambda x: x.cos()), (arr(3, 1, dtype=np.float32), arr(3, 1, dtype=np.float32))),
    "return": (_linearized(lambda x: (x.cos(), x.sum())), (arr(3, 1, dtype=np.float32), arr(3, 1, dtype=np.float32))),
    "composition_grad": (lambda lib, fn, p, t: _linearized(
        lambda x: fn.grad(lambda x: lib.ones(3, dtype=x.dtype) @ x)(x))(lib, fn, p, t),
        (arr(3, dtype=np.float32), arr(3, dtype=np.float32))),
    "composition_vmap": (lambda lib, fn, p, ts: fn.vmap(fn.linearize(lambda x: (x.cos(), x.sum()), p)[1])(ts),
                         (arr(3, 1, dtype=np.float32), arr(3, 3, 1, dtype=np.float32))),
}


@pytest.mark.parametrize("name", LINEARIZE_CASES)
def test_linearize_cases_match_torch_in_float32(name):
    case, inputs = LINEARIZE_CASES[name]
    both(case, *inputs, rtol=1e-6, atol=1e-6)


def test_linearize_nested_input_nested_output():
    def case(lib, fn, x, y, z, tx, ty, tz):
        def f(arg):
            x, (y, z) = arg["x"], arg["yz"]
            return {"a": x.sum(), "b": {"c": y + z, "d": (x * z, y.exp())}}
        p, t = {"x": x, "yz": (y, z)}, {"x": tx, "yz": (ty, tz)}
        out, jvp_fn = fn.linearize(f, p)
        return out, jvp_fn(t), fn.jvp(f, (p,), (t,))
    both(case, *[arr(3, 1) for _ in range(6)])


# ---------------------------------------------------------------- nested transforms (TestComposability and beyond)
def _f2(lib):
    return lambda x, y: (x.sin() * y.exp()).sum() + (x * x * y).sum()


NESTED_CASES = {
    "jacrev_of_jacfwd": lambda lib, fn, x, y: fn.jacrev(fn.jacfwd(lambda x: x.sin() * x.sum()))(x),
    "jacfwd_of_jacrev": lambda lib, fn, x, y: fn.jacfwd(fn.jacrev(lambda x: x.sin() * x.sum()))(x),
    "jacrev_of_jacfwd_two_args": lambda lib, fn, x, y: fn.jacrev(fn.jacfwd(_f2(lib), argnums=1), argnums=(0, 1))(x, y),
    "jvp_of_grad": lambda lib, fn, x, y: fn.jvp(fn.grad(lambda x: (x.sin() * x).sum()), (x,), (y,)),
    "jvp_of_grad_two_args": lambda lib, fn, x, y: fn.jvp(lambda x: fn.grad(_f2(lib), argnums=1)(x, y), (x,), (y,)),
    "grad_of_jvp": lambda lib, fn, x, y: fn.grad(lambda x: fn.jvp(lambda x: x.sin() * x, (x,), (y,))[1].sum())(x),
    "vjp_of_jvp": lambda lib, fn, x, y: (lambda o, f: (o, f(y)))(*fn.vjp(lambda x: fn.jvp(lib.tanh, (x,), (y,))[1], x)),
    "hessian_of_several_args": lambda lib, fn, x, y: fn.hessian(_f2(lib), argnums=(0, 1))(x, y),
    "hessian_of_the_second_arg": lambda lib, fn, x, y: fn.hessian(_f2(lib), argnums=1)(x, y),
    "grad_of_grad_of_grad": lambda lib, fn, x, y: fn.grad(fn.grad(fn.grad(lambda s: s.sin() * s.exp())))(x[0]),
    "jacrev_of_grad": lambda lib, fn, x, y: fn.jacrev(fn.grad(lambda x: (x ** 3).sum()))(x),
    "jacfwd_of_vjp": lambda lib, fn, x, y: fn.jacfwd(lambda x: fn.vjp(lambda x: x.sin() * x, x)[1](y)[0])(x),
    "hessian_of_a_dict": lambda lib, fn, x, y: fn.hessian(lambda d: (d["a"].sin() * d["b"]).sum())({"a": x, "b": y}),
    "grad_and_value_of_grad_and_value": lambda lib, fn, x, y: fn.grad_and_value(
        lambda s: fn.grad_and_value(lambda s: s.sin() * s)(s)[0])(x[0]),
}


@pytest.mark.parametrize("name", NESTED_CASES)
def test_nested_transforms_match_torch(name):
    both(NESTED_CASES[name], V3, V3B)


# ---------------------------------------------------------------- dtypes, scalars, shapes
TRANSFORMS = {  # name: case(lib, fn, x) with x of any shape
    "grad": lambda lib, fn, x: fn.grad(lambda x: (x.sin() * x).sum())(x),
    "grad_and_value": lambda lib, fn, x: fn.grad_and_value(lambda x: (x.sin() * x).sum())(x),
    "vjp": lambda lib, fn, x: _called(fn.vjp(lambda x: x.sin() * x, x), lib.ones_like(x)),
    "jvp": lambda lib, fn, x: fn.jvp(lambda x: x.sin() * x, (x,), (lib.ones_like(x),)),
    "jacrev": lambda lib, fn, x: fn.jacrev(lambda x: x.sin() * x)(x),
    "jacfwd": lambda lib, fn, x: fn.jacfwd(lambda x: x.sin() * x)(x),
    "hessian": lambda lib, fn, x: fn.hessian(lambda x: (x.sin() * x).sum())(x),
    "linearize": lambda lib, fn, x: (lambda o, f: (o, f(lib.ones_like(x))))(*fn.linearize(lambda x: x.sin() * x, x)),
}


@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 3), (2, 1, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_transform_keeps_the_dtype_and_gives_torchs_shapes(name, dtype, shape):
    """float32 stays float32 (values to float32 rounding); a 0-d input gives 0-d results, a
    Jacobian of an output O with respect to an input A has the shape O + A."""
    tol = 1e-5 if dtype == np.float32 else 1e-10
    both(TRANSFORMS[name], arr(*shape, dtype=dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("jacapi", ["jacrev", "jacfwd"])
def test_jacobian_shapes_for_multi_dim_inputs_and_outputs(jacapi):
    """Output (2, 1, 4) against inputs (3, 2) and (4,): blocks (2, 1, 4, 3, 2) and (2, 1, 4, 4)."""
    def case(lib, fn, a, b):
        return getattr(fn, jacapi)(lambda a, b: (a.sum(0)[:, None, None] * b).sin(), argnums=(0, 1))(a, b)
    ours, _ = both(case, arr(3, 2), arr(4))
    assert [tuple(j.shape) for j in ours] == [(2, 1, 4, 3, 2), (2, 1, 4, 4)]


@pytest.mark.parametrize("name", ["grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"])
@pytest.mark.parametrize("kind", ["int64", "bool"])
def test_integer_and_bool_inputs_are_refused_by_every_transform(name, kind):
    """Only floating Tensors are differentiated, refused in each mode's words: reverse mode's
    RuntimeError from requires_grad_, forward mode's ValueError about the dual's primal."""
    x = np.array([1, 2, 3]) if kind == "int64" else np.array([True, False])
    forward = name in ("jvp", "jacfwd", "hessian", "linearize")
    same_error(TRANSFORMS[name], x, phrase=f"Expected primal to be floating point or complex, but got: .*{kind}"
               if forward else "only Tensors of floating point dtype can require gradients")


@pytest.mark.parametrize("name", ["jacrev", "jacfwd", "hessian"])
def test_complex_inputs_are_refused_by_the_jacobians(name):
    same_error(TRANSFORMS[name], np.array([1.0 + 1.0j, 2.0]), phrase="Expected all inputs to be real")


@pytest.mark.parametrize("name", ["grad", "grad_and_value"])
@pytest.mark.parametrize("shape", [(1,), (2, 3)], ids=str)
def test_grad_refuses_an_output_that_is_not_0d(name, shape):
    same_error(lambda lib, fn, x: getattr(fn, name)(lambda x: x * 2)(x), arr(*shape),
               phrase="Expected f\\(\\*args\\) to return a scalar Tensor")


@pytest.mark.parametrize("name", ["grad", "grad_and_value", "jacrev", "jacfwd", "hessian"])
def test_an_argument_outside_argnums_that_is_an_integer_tensor_is_passed_as_is(name):
    """Only the argnums are checked: an integer tensor beside them is a constant."""
    def case(lib, fn, x, k):
        f = (lambda x, k: (x * k).sum()) if name in ("grad", "grad_and_value", "hessian") else (lambda x, k: x * k)
        return getattr(fn, name)(f)(x, k)
    both(case, V3, np.array([1, 2, 3]))


# ---------------------------------------------------------------- has_aux and the tape
def _aux_cases(lib, fn, x):
    f = lambda x: (x.sin(), {"c": x.cos()})  # noqa: E731
    fs = lambda x: (x.sin().sum(), {"c": x.cos()})  # noqa: E731
    return {
        "grad": lambda: fn.grad(fs, has_aux=True)(x),
        "grad_and_value": lambda: fn.grad_and_value(fs, has_aux=True)(x),
        "vjp": lambda: (lambda o, g, a: (o, a, g(lib.ones_like(x))))(*fn.vjp(f, x, has_aux=True)),
        "jvp": lambda: fn.jvp(f, (x,), (lib.ones_like(x),), has_aux=True),
        "jacrev": lambda: fn.jacrev(f, has_aux=True)(x),
        "jacrev_chunked": lambda: fn.jacrev(f, has_aux=True, chunk_size=2)(x),
        "jacfwd": lambda: fn.jacfwd(f, has_aux=True)(x),
    }


def _flags(tree):
    if isinstance(tree, (tuple, list)):
        return [_flags(t) for t in tree]
    if isinstance(tree, dict):
        return {k: _flags(v) for k, v in tree.items()}
    return tree.requires_grad


@pytest.mark.parametrize("no_grad", [False, True], ids=["grad_mode", "no_grad"])
@pytest.mark.parametrize("requires_grad", [False, True], ids=["plain", "requires_grad"])
@pytest.mark.parametrize("name", list(_aux_cases(torch, TF, None)))
def test_has_aux_results_and_their_requires_grad_match_torch(name, requires_grad, no_grad):
    """Output, derivative and aux pytrees, and which of them stay on the tape (an input that
    requires grad, outside no_grad), as torch's."""
    results = []
    for _, lib, fn in LIBS:
        x = lib.tensor(V3, requires_grad=requires_grad)
        if no_grad:
            with lib.no_grad():
                results.append(_aux_cases(lib, fn, x)[name]())
        else:
            results.append(_aux_cases(lib, fn, x)[name]())
    same(*results)
    assert _flags(results[0]) == _flags(results[1])
