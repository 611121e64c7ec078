"""``rg.func``'s transforms against ``torch.func`` where the arguments are trees or misuse:
arguments that are dicts and tuples of Tensors (every transform takes them, as torch.func's),
cotangents matched to outputs by structure (a dict by its keys in order, never by position),
``None`` cotangents, ``jvp(strict=True)``, ``jacfwd``'s one recording for several argnums and
its ``randomness``, and what torch.func refuses (integer primals, non-tensor aux): refused
here too, with a ``RuntimeError`` as torch's."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import func as F

try:
    import torch
    import torch.func as TF
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = TF = None

X, Y, V, W = (np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.2, -0.7]), np.array([1.0, 2.0, -1.0]),
              np.array([-0.4, 0.9, 0.1]))


def both(*arrays):
    """The arrays as (retrograd tensors, torch tensors), float64."""
    return [rg.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def close(ours, theirs):
    """Equal trees: the same containers (dict keys in order), the same values to 1e-12."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, rg.Tensor), type(ours)
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-14)
        assert tuple(ours.shape) == tuple(theirs.shape)
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            close(ours[k], theirs[k])
    else:
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            close(a, b)


@requires_torch
def test_dict_cotangents_are_matched_by_key_order_and_refused_otherwise_as_by_torch():
    (x, v, y), (tx, tv, ty) = both(X, V, Y)
    _, fn = F.vjp(lambda x: {"s": rg.sin(x), "e": rg.exp(x)}, x)
    _, tfn = TF.vjp(lambda x: {"s": x.sin(), "e": x.exp()}, tx)
    close(fn({"s": v, "e": y}), tfn({"s": tv, "e": ty}))
    for ours, theirs in (({"e": y, "s": v}, {"e": ty, "s": tv}), ({"zz": v, "e": y}, {"zz": tv, "e": ty}),
                         ((v, y), (tv, ty))):
        with pytest.raises(RuntimeError, match="structure"):
            tfn(theirs)
        with pytest.raises(RuntimeError, match=r"vjp_fn: the cotangents must have the structure of func's output "
                                               r"\{'s': \*, 'e': \*\}"):
            fn(ours)


@requires_torch
def test_a_list_for_a_tuple_output_is_another_structure_as_in_torch():
    (x, v), (tx, tv) = both(X, V)
    _, fn = F.vjp(lambda x: (rg.sin(x), rg.cos(x)), x)
    _, tfn = TF.vjp(lambda x: (x.sin(), x.cos()), tx)
    with pytest.raises(RuntimeError, match="structure"):
        tfn([tv, tv])
    with pytest.raises(RuntimeError, match=r"output \(\*, \*\), got \[\*, \*\]"):
        fn([v, v])


@requires_torch
def test_a_none_cotangent_counts_as_zero_or_as_one_for_a_one_element_output_as_in_torch():
    (x, v), (tx, tv) = both(X, V)
    _, fn = F.vjp(lambda x: (rg.sin(x), x.sum()), x)
    _, tfn = TF.vjp(lambda x: (x.sin(), x.sum()), tx)
    close(fn((v, None)), tfn((tv, None)))
    with pytest.raises(RuntimeError, match="scalar outputs"):  # None for the (3,) output: no implicit gradient
        tfn((None, torch.tensor(2.0, dtype=torch.float64)))
    with pytest.raises(RuntimeError, match=r"cotangent 0 is None for an output of shape \[3\]"):
        fn((None, rg.tensor(np.array(2.0))))
    _, fn1 = F.vjp(lambda x: rg.sin(x), x)
    _, tfn1 = TF.vjp(lambda x: x.sin(), tx)
    with pytest.raises(RuntimeError):
        tfn1(None)
    with pytest.raises(RuntimeError, match="only for a one-element output"):
        fn1(None)
    with pytest.raises(TypeError, match="Tensors or None"):
        tfn1(2.0)
    with pytest.raises(TypeError, match="Tensors or None, got float"):
        fn1(2.0)


@requires_torch
def test_every_transform_takes_dicts_and_tuples_of_tensors_as_torch_func():
    (x, y, v, w), (tx, ty, tv, tw) = both(X, Y, V, W)

    def f(p):
        return p["a"] * rg.sin(p["b"])

    def tf(p):
        return p["a"] * p["b"].sin()

    close(F.jacrev(f)({"a": x, "b": y}), TF.jacrev(tf)({"a": tx, "b": ty}))
    close(F.jacfwd(f)({"a": x, "b": y}), TF.jacfwd(tf)({"a": tx, "b": ty}))
    close(F.jvp(f, ({"a": x, "b": y},), ({"a": v, "b": w},)), TF.jvp(tf, ({"a": tx, "b": ty},), ({"a": tv, "b": tw},)))
    out, fn = F.vjp(lambda p: p[0] * p[1], (x, y))
    tout, tfn = TF.vjp(lambda p: p[0] * p[1], (tx, ty))
    close(out, tout)
    close(fn(v), tfn(tv))
    both_args = (lambda p, q: rg.exp(p["a"]) * q[0], lambda p, q: p["a"].exp() * q[0])
    close(F.jacrev(both_args[0], argnums=(0, 1))({"a": x}, (y,)), TF.jacrev(both_args[1], argnums=(0, 1))({"a": tx}, (ty,)))
    close(F.jacfwd(both_args[0], argnums=(0, 1))({"a": x}, (y,)), TF.jacfwd(both_args[1], argnums=(0, 1))({"a": tx}, (ty,)))
    mismatched = ({"a": x, "b": y},), ({"b": v, "a": w},)
    with pytest.raises(RuntimeError, match=r"same structure: primals \(\{'a': \*, 'b': \*\},\), tangents "
                                           r"\(\{'b': \*, 'a': \*\},\)"):
        F.jvp(f, *mismatched)


@requires_torch
def test_jvp_strict_refuses_an_output_independent_of_the_primals_as_torch():
    (x, v, y), (tx, tv, ty) = both(X, V, Y)
    for ours, theirs in ((lambda x: y * 2, lambda x: ty * 2), (lambda x: (x * 2, y * 2), lambda x: (x * 2, ty * 2))):
        with pytest.raises(RuntimeError, match="independent of the inputs"):
            TF.jvp(theirs, (tx,), (tv,), strict=True)
        with pytest.raises(RuntimeError, match=r"strict=True\): the output of f is independent of the inputs"):
            F.jvp(ours, (x,), (v,), strict=True)
        close(F.jvp(ours, (x,), (v,)), TF.jvp(theirs, (tx,), (tv,)))  # without strict: zeros


def test_jacfwd_records_func_once_for_several_argnums():
    x, y = rg.tensor(X), rg.tensor(Y)
    calls = []

    def f(a, b):
        calls.append(1)
        return rg.sin(a) * b
    ja, jb = F.jacfwd(f, argnums=(0, 1))(x, y)
    assert len(calls) == 1
    np.testing.assert_allclose(ja.data, np.diag(np.cos(X) * Y), rtol=1e-14)
    np.testing.assert_allclose(jb.data, np.diag(np.sin(X)), rtol=1e-14)


@requires_torch
def test_jacfwd_refuses_a_random_op_unless_told_as_torch():
    (x,), (tx,) = both(X)
    with pytest.raises(RuntimeError, match="randomness"):
        TF.jacfwd(lambda x: torch.nn.functional.dropout(x, 0.5, training=True))(tx)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        F.jacfwd(lambda x: rg.nn.functional.dropout(x, 0.5, training=True))(x)


def test_jacfwd_randomness_same_draws_once_and_different_per_direction():
    rg.manual_seed(0)
    x, y = rg.tensor(np.ones(8)), rg.tensor(np.full(8, 2.0))

    def f(a, b):
        return rg.nn.functional.dropout(a * b, 0.5, training=True)
    ja, jb = F.jacfwd(f, argnums=(0, 1), randomness="same")(x, y)
    kept_a, kept_b = np.diag(ja.data) != 0, np.diag(jb.data) != 0
    np.testing.assert_array_equal(kept_a, kept_b)  # one draw for both blocks
    assert 0 < kept_a.sum() < 8
    rg.manual_seed(0)
    (jd,) = F.jacfwd(f, argnums=(0,), randomness="different")(x, y)
    assert np.count_nonzero(jd.data - np.diag(np.diag(jd.data))) == 0  # each direction its own mask, still diagonal
    assert set(np.round(np.diag(jd.data), 12)) <= {0.0, 4.0}


@requires_torch
def test_integer_primals_and_non_tensor_aux_are_refused_as_by_torch():
    xi, txi = rg.tensor(np.array([1, 2])), torch.tensor([1, 2])
    for ours, theirs in ((lambda: F.grad(lambda x: x.sum())(xi), lambda: TF.grad(lambda x: x.sum())(txi)),
                         (lambda: F.jacrev(lambda x: x)(xi), lambda: TF.jacrev(lambda x: x)(txi)),
                         (lambda: F.vjp(lambda x: x, xi), lambda: TF.vjp(lambda x: x, txi))):
        with pytest.raises(RuntimeError, match="floating point"):
            theirs()
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can be differentiated"):
            ours()
    (x,), (tx,) = both(X)
    with pytest.raises(RuntimeError, match="Expected tensors"):
        TF.vjp(lambda x: (x.sin(), 3), tx, has_aux=True)
    with pytest.raises(RuntimeError, match="aux must be Tensors .* got unsupported type int"):
        F.vjp(lambda x: (rg.sin(x), 3), x, has_aux=True)
    with pytest.raises(RuntimeError, match="return only tensors"):
        TF.jacrev(lambda x: 3.0)(tx)
    with pytest.raises(RuntimeError, match="return only tensors, got unsupported type float"):
        F.jacrev(lambda x: 3.0)(x)


@requires_torch
def test_a_bool_argnums_counts_as_an_int_as_in_torch():
    (x, y), (tx, ty) = both(X, Y)
    close(F.grad(lambda a, b: (a * rg.sin(b)).sum(), argnums=True)(x, y),
          TF.grad(lambda a, b: (a * b.sin()).sum(), argnums=True)(tx, ty))
