"""``rg.nn.utils.parametrize`` and ``rg.nn.utils.parametrizations`` against PyTorch 2.13: the
parametrized class and its names, state_dict keys and values, forward values and gradients in
float64 (weights copied across with ``load_state_dict``), spectral norm's power iteration (u and v
copied from torch, then the same number of iterations), the orthogonal maps, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn
from torch_compare import paired_modules as _pair, same_grads as _same_grads, same_state as _same_state
from retrograd.nn.utils import parametrizations as PZ, parametrize as P

try:
    import torch
    import torch.nn.utils.parametrizations as TPZ
    import torch.nn.utils.parametrize as TP
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None

RNG = np.random.default_rng(7)


class Symmetric(nn.Module):
    """X ↦ triu(X) + triu(X, 1)ᵀ, with a right inverse: PyTorch's tutorial parametrization."""

    def forward(self, X):
        return rg.triu(X) + rg.triu(X, 1).mT

    def right_inverse(self, A):
        return rg.triu(A)


class TSymmetric(torch.nn.Module if torch is not None else object):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Scale(nn.Module):
    """Two times: no right inverse (assumed the identity at registration)."""

    def forward(self, X):
        return 2.0 * X


# ---------------------------------------------------------------- the mechanism
@requires_torch
def test_register_parametrization_names_values_gradients_and_assignment_like_torch():
    ours, theirs = _pair(nn.Linear(3, 3), torch.nn.Linear(3, 3))
    P.register_parametrization(ours, "weight", Symmetric())
    TP.register_parametrization(theirs, "weight", TSymmetric())
    assert type(ours).__name__ == type(theirs).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(ours) is nn.Linear and P.is_parametrized(ours, "weight")
    assert not P.is_parametrized(ours, "bias") and P.is_parametrized(ours)
    _same_state(ours, theirs)
    w = ours.weight
    np.testing.assert_array_equal(w.data, w.data.T)
    x = RNG.standard_normal((4, 3))
    y, ty = ours(rg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    _same_grads(ours, theirs)
    # assigning runs right_inverse into the same original Parameter (an optimizer keeps working)
    original = ours.parametrizations.weight.original
    a = RNG.standard_normal((3, 3))
    ours.weight = rg.tensor(a)
    with torch.no_grad():
        theirs.weight = torch.tensor(a)
    assert ours.parametrizations.weight.original is original
    _same_state(ours, theirs)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        ours.weight = nn.Parameter(np.zeros((3, 3)))


@requires_torch
@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_restores_the_class_and_a_parameter(leave):
    ours, theirs = _pair(nn.Linear(3, 3), torch.nn.Linear(3, 3))
    P.register_parametrization(ours, "weight", Symmetric())
    TP.register_parametrization(theirs, "weight", TSymmetric())
    original = ours.parametrizations.weight.original
    P.remove_parametrizations(ours, "weight", leave_parametrized=leave)
    TP.remove_parametrizations(theirs, "weight", leave_parametrized=leave)
    assert type(ours) is nn.Linear and "parametrizations" not in ours.__dict__
    assert ours.weight is original and isinstance(ours.weight, nn.Parameter)
    _same_state(ours, theirs)
    assert type(nn.Linear(2, 2)).__name__ == "Linear"  # the class itself never changed


def test_chained_parametrizations_apply_in_registration_order_and_cached_computes_once():
    layer = nn.Linear(2, 2).double()
    P.register_parametrization(layer, "weight", Symmetric())
    P.register_parametrization(layer, "weight", Scale())
    base = layer.parametrizations.weight.original.data
    expected = 2 * (np.triu(base) + np.triu(base, 1).T)
    np.testing.assert_allclose(layer.weight.data, expected)
    calls = []
    layer.parametrizations.weight.register_forward_hook(lambda *_: calls.append(1))
    with P.cached():
        first = layer.weight
        assert layer.weight is first
    assert len(calls) == 1
    assert layer.weight is not first and len(calls) == 2
    with pytest.raises(RuntimeError, match="Scale does not implement right_inverse"):
        layer.weight = rg.tensor(np.eye(2))


def test_a_buffer_can_be_parametrized_and_transferred():
    bn = nn.BatchNorm1d(3).double()
    P.register_parametrization(bn, "running_var", Scale())
    assert "parametrizations.running_var.original" in bn.state_dict()
    np.testing.assert_array_equal(bn.running_var.data, 2 * np.ones(3))
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    P.register_parametrization(a, "weight", Symmetric())
    P.transfer_parametrizations_and_params(a, b)
    assert b.parametrizations.weight.original is a.parametrizations.weight.original
    np.testing.assert_array_equal(b.weight.data, a.weight.data)


class Halve(nn.Module):
    def forward(self, X):
        return X[0]


class ToFloat32(nn.Module):
    def forward(self, X):
        return X.float()


ERRORS = [
    ("missing name", lambda m: P.register_parametrization(m, "foo", Scale()), ValueError,
     "does not have a parameter, a buffer, or a parametrized element with name 'foo'"),
    ("shape", lambda m: P.register_parametrization(m, "weight", Halve()), ValueError, "may not change the shape"),
    ("dtype", lambda m: P.register_parametrization(m, "weight", ToFloat32()), ValueError, "may not change the dtype"),
    ("remove", lambda m: P.remove_parametrizations(m, "weight"), ValueError, "does not have a parametrization on"),
    ("weight_norm leave", lambda m: P.remove_parametrizations(PZ.weight_norm(m), "weight", leave_parametrized=False),
     ValueError, "Cannot leave unparametrized"),
    ("orthogonal 1-d", lambda m: PZ.orthogonal(m, "bias"), ValueError, "Got a tensor of 1 dimensions"),
    ("orthogonal map", lambda m: PZ.orthogonal(m, orthogonal_map="qr"), ValueError, "orthogonal_map has to be one"),
    ("spectral iterations", lambda m: PZ.spectral_norm(m, n_power_iterations=0), ValueError,
     "n_power_iterations to be positive"),
    ("spectral dim", lambda m: PZ.spectral_norm(m, dim=2), IndexError, "Dimension out of range"),
    ("weight_norm dim", lambda m: PZ.weight_norm(m, dim=3), IndexError, "Dimension out of range"),
    ("spectral missing", lambda m: PZ.spectral_norm(m, "foo"), ValueError, "has no parameter or buffer"),
]


@pytest.mark.parametrize("what, call, error, match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_pytorchs(what, call, error, match):
    with pytest.raises(error, match=match):
        call(nn.Linear(3, 3).double())


@requires_torch
def test_the_same_calls_fail_in_torch():
    """Each refusal above is a refusal in torch too, of the same type."""
    class THalve(torch.nn.Module):
        def forward(self, X):
            return X[0]

    torch_calls = [
        (lambda m: TP.register_parametrization(m, "foo", torch.nn.Identity()), ValueError),
        (lambda m: TP.register_parametrization(m, "weight", THalve()), ValueError),
        (lambda m: TP.remove_parametrizations(m, "weight"), ValueError),
        (lambda m: TP.remove_parametrizations(TPZ.weight_norm(m), "weight", leave_parametrized=False), ValueError),
        (lambda m: TPZ.orthogonal(m, "bias"), ValueError),
        (lambda m: TPZ.orthogonal(m, orthogonal_map="qr"), ValueError),
        (lambda m: TPZ.spectral_norm(m, n_power_iterations=0), ValueError),
        (lambda m: TPZ.spectral_norm(m, dim=2), IndexError),
        (lambda m: TPZ.weight_norm(m, dim=3), IndexError),
        (lambda m: TPZ.spectral_norm(m, "foo"), ValueError),
    ]
    for call, error in torch_calls:
        with pytest.raises(error):
            call(torch.nn.Linear(3, 3).double())


# ---------------------------------------------------------------- weight_norm
@requires_torch
@pytest.mark.parametrize("layer, dim", [("Linear", 0), ("Linear", 1), ("Linear", None), ("Conv1d", -2),
                                        ("Conv1d", 2)])
def test_weight_norm_like_torch(layer, dim):
    args = (3, 4) if layer == "Linear" else (2, 3, 3)
    ours, theirs = _pair(getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args))
    PZ.weight_norm(ours, dim=dim)
    TPZ.weight_norm(theirs, dim=dim)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == ["bias", "parametrizations.weight.original0",
                                                      "parametrizations.weight.original1"]
    x = RNG.standard_normal((2, 3) if layer == "Linear" else (2, 2, 5))
    y, ty = ours(rg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    (y ** 3).sum().backward()
    (ty ** 3).sum().backward()
    _same_grads(ours, theirs)
    P.remove_parametrizations(ours, "weight")
    TP.remove_parametrizations(theirs, "weight")
    _same_state(ours, theirs)


@requires_torch
def test_weight_norm_in_float32_keeps_float32():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.load_state_dict(theirs.state_dict())
    PZ.weight_norm(ours)
    TPZ.weight_norm(theirs)
    assert ours.weight.dtype == np.float32
    _same_state(ours, theirs, rtol=1e-6)


# ---------------------------------------------------------------- spectral_norm
SPECTRAL = [("Linear", (3, 4), 1), ("Conv2d", (2, 3, 2), 2), ("ConvTranspose2d", (2, 3, 2), 1)]


@requires_torch
@pytest.mark.parametrize("layer, args, iterations", SPECTRAL, ids=[s[0] for s in SPECTRAL])
def test_spectral_norm_power_iteration_values_and_gradients_like_torch(layer, args, iterations):
    ours, theirs = _pair(getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args))
    PZ.spectral_norm(ours, n_power_iterations=iterations)
    TPZ.spectral_norm(theirs, n_power_iterations=iterations)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    u = ours.state_dict()["parametrizations.weight.0._u"]
    np.testing.assert_allclose(np.linalg.norm(u), 1.0)  # 15 iterations from a random start: a unit vector
    ours.load_state_dict(theirs.state_dict())  # the same u, v on both sides
    for mode in ("train", "train", "eval", "train"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        w, tw = ours.weight, theirs.weight
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10)
        (w ** 3).sum().backward()
        (tw ** 3).sum().backward()
        _same_state(ours, theirs, rtol=1e-10)  # u, v after the same iterations (none in eval mode)
        _same_grads(ours, theirs, rtol=1e-9)
        ours.zero_grad()
        theirs.zero_grad()


@requires_torch
def test_spectral_norm_of_a_vector_normalises_it_and_keeps_the_original_parameter():
    ours, theirs = _pair(nn.Linear(3, 4), torch.nn.Linear(3, 4))
    bias = ours.bias
    PZ.spectral_norm(ours, "bias")
    TPZ.spectral_norm(theirs, "bias")
    assert ours.parametrizations.bias.original is bias  # the optimizer's parameter is still the one updated
    assert list(ours.state_dict()) == list(theirs.state_dict())
    np.testing.assert_allclose(ours.bias.data, theirs.bias.detach().numpy(), rtol=1e-12)


@requires_torch
def test_spectral_norm_training_steps_match_torch():
    ours, theirs = _pair(nn.Linear(3, 3), torch.nn.Linear(3, 3))
    PZ.spectral_norm(ours)
    TPZ.spectral_norm(theirs)
    ours.load_state_dict(theirs.state_dict())
    opt, topt = rg.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    x = RNG.standard_normal((5, 3))
    for _ in range(3):
        for o in (opt, topt):
            o.zero_grad()
        (ours(rg.tensor(x)) ** 2).sum().backward()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        opt.step()
        topt.step()
    _same_state(ours, theirs, rtol=1e-9)


# ---------------------------------------------------------------- orthogonal
ORTHO = [(shape, kind, trivial) for shape in [(4, 4), (5, 3), (3, 5)]
         for kind in ("matrix_exp", "cayley", "householder") for trivial in (True, False)]


@requires_torch
@pytest.mark.parametrize("shape, kind, trivial", ORTHO, ids=[f"{s[0]}x{s[1]}-{k}-{t}" for s, k, t in ORTHO])
def test_orthogonal_values_and_gradients_like_torch(shape, kind, trivial):
    ours, theirs = _pair(nn.Linear(shape[1], shape[0]), torch.nn.Linear(shape[1], shape[0]))
    PZ.orthogonal(ours, orthogonal_map=kind, use_trivialization=trivial)
    TPZ.orthogonal(theirs, orthogonal_map=kind, use_trivialization=trivial)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    w = ours.weight.data
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    if not trivial or shape[0] == shape[1] or kind != "householder":
        # the first columns of a QR are the weight's own: only a completed base's extra columns are random
        np.testing.assert_allclose(w, theirs.weight.detach().numpy(), atol=1e-10)
    moved = {k: v + 0.1 * torch.tensor(RNG.standard_normal(tuple(v.shape))) if k.endswith("original") else v
             for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(moved)
    ours.load_state_dict(moved)
    wr, wt = ours.weight, theirs.weight
    np.testing.assert_allclose(wr.data, wt.detach().numpy(), atol=1e-10)
    (wr ** 3).sum().backward()
    (wt ** 3).sum().backward()
    _same_grads(ours, theirs, rtol=1e-8)


@requires_torch
def test_orthogonal_assignment_and_a_batch_of_matrices():
    q = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    layer = nn.Linear(4, 4).double()
    PZ.orthogonal(layer)
    layer.weight = rg.tensor(q)
    np.testing.assert_allclose(layer.weight.data, q, atol=1e-12)
    batch = RNG.standard_normal((2, 3, 3))
    holder, theirs = nn.Module(), torch.nn.Module()
    holder.w = nn.Parameter(batch.copy())
    theirs.w = torch.nn.Parameter(torch.tensor(batch))
    PZ.orthogonal(holder, "w", orthogonal_map="householder", use_trivialization=False)
    TPZ.orthogonal(theirs, "w", orthogonal_map="householder", use_trivialization=False)
    np.testing.assert_allclose(holder.w.data, theirs.w.detach().numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices of shape"):
        holder.w = rg.tensor(np.zeros((3, 3)))
    plain = nn.Module()
    plain.w = nn.Parameter(np.eye(3))
    PZ.orthogonal(plain, "w", orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="not possible to assign"):
        plain.w = rg.tensor(np.eye(3))
