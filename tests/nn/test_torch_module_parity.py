"""Module behaviour where retrograd once differed from PyTorch, each case checked against torch:
the implicit softmax dim, Softplus's threshold, LayerNorm without bias, Sequential slices keeping
their children's names, a shared submodule visited once, register_buffer over an existing name,
BatchNorm's cumulative average (momentum=None), load_state_dict's result and a BatchNorm
checkpoint without its batch counter."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import nn

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None


@requires_torch
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 2, 2), (2, 3, 2, 2)])
@pytest.mark.parametrize("kind", ["Softmax", "LogSoftmax"])
def test_softmax_modules_without_dim_take_pytorchs_implicit_dim(shape, kind):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(nn, kind)()(rg.tensor(x))
        theirs = getattr(torch.nn, kind)()(torch.tensor(x))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


@requires_torch
def test_softplus_switches_to_the_identity_above_its_threshold():
    x = np.array([-3.0, 0.5, 9.9, 10.5, 20.5])
    for args in ((), (1.0, 20.0), (2.0, 5.0)):
        xr = rg.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        ours, theirs = nn.Softplus(*args)(xr), torch.nn.Softplus(*args)(xt)
        np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(xr.grad.data, xt.grad.numpy(), rtol=1e-14)


@requires_torch
def test_layer_norm_without_bias():
    x = np.random.default_rng(0).standard_normal((3, 4))
    ours, theirs = nn.LayerNorm(4, 1e-5, True, False).double(), torch.nn.LayerNorm(4, 1e-5, True, False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    np.testing.assert_allclose(ours(rg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]


@requires_torch
def test_a_sequential_slice_keeps_its_childrens_names():
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert list(ours[1:].state_dict()) == list(theirs[1:].state_dict()) == ["2.weight", "2.bias"]
    assert isinstance(ours[1:], nn.Sequential)
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    assert isinstance(ml[0:1], nn.ModuleList) and len(ml[0:1]) == 1


@requires_torch
def test_a_shared_submodule_is_listed_once_and_kept_under_each_name_in_the_state_dict():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = self.a

    class TShared(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(2, 2)
            self.b = self.a

    ours, theirs = Shared(), TShared()
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()] == ["", "a"]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()] == ["a"]
    assert ([n for n, _ in ours.named_modules(remove_duplicate=False)]
            == [n for n, _ in theirs.named_modules(remove_duplicate=False)])
    assert list(ours.state_dict()) == list(theirs.state_dict())
    calls = []
    ours.apply(lambda m: calls.append(type(m).__name__))
    assert calls == ["Linear", "Shared"]


@requires_torch
def test_register_buffer_refuses_an_existing_name():
    with pytest.raises(KeyError, match="already exists"):
        torch.nn.Linear(2, 2).register_buffer("weight", torch.zeros(2))
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        nn.Linear(2, 2).register_buffer("weight", np.zeros(2))
    with pytest.raises(KeyError, match="contain no"):
        nn.Linear(2, 2).register_buffer("a.b", np.zeros(2))


@requires_torch
def test_batch_norm_momentum_none_is_a_cumulative_average():
    rng = np.random.default_rng(0)
    ours, theirs = nn.BatchNorm1d(3, momentum=None).double(), torch.nn.BatchNorm1d(3, momentum=None).double()
    for _ in range(4):
        x = rng.standard_normal((5, 3)) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)
        ours(rg.tensor(x))
        theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-12)


@requires_torch
def test_load_state_dict_returns_the_incompatible_keys_and_takes_an_old_batch_norm_checkpoint():
    ours, theirs = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    old = {k: v for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    t_result = theirs.load_state_dict(old)
    result = ours.load_state_dict({k: v.numpy() for k, v in old.items()})
    assert result.missing_keys == t_result.missing_keys == []
    assert result.unexpected_keys == t_result.unexpected_keys == []
    relaxed = nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2)), "extra": np.zeros(1)}, strict=False)
    assert relaxed.missing_keys == ["bias"] and relaxed.unexpected_keys == ["extra"]
    missing, unexpected = relaxed  # still unpacks as a pair
    with pytest.raises(RuntimeError, match="missing keys"):
        nn.Linear(2, 2).load_state_dict({})


@requires_torch
def test_a_class_target_out_of_range_is_an_index_error_and_a_zero_hidden_size_a_value_error():
    z, y = np.zeros((2, 3)), np.array([0, 5])
    for ours, theirs in ((lambda: rg.cross_entropy(rg.tensor(z), rg.tensor(y)),
                          lambda: torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y))),
                         (lambda: nn.functional.nll_loss(rg.tensor(z), rg.tensor(y)),
                          lambda: torch.nn.functional.nll_loss(torch.tensor(z), torch.tensor(y)))):
        with pytest.raises(IndexError):
            theirs()
        with pytest.raises(IndexError, match="class index out of range: the target holds 5"):
            ours()
    for kind in ("RNN", "LSTM", "GRU"):
        with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
            getattr(torch.nn, kind)(3, 0)
        with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
            getattr(nn, kind)(3, 0)


@requires_torch
def test_module_containers_and_lookups_as_torch():
    def build(lib):
        ml = lib.ModuleList([lib.Linear(1, 2), lib.Linear(2, 3)])
        ml.insert(1, lib.Tanh())
        ml.extend([lib.Linear(3, 4)])
        ml[0] = lib.Linear(1, 5)
        del ml[1]
        ml = ml + lib.ModuleList([lib.ReLU()])
        md = lib.ModuleDict({"enc": lib.Linear(2, 2)})
        md["dec"] = lib.Linear(2, 1)
        md.update([("act", lib.ReLU())])
        popped = md.pop("act")
        outer = lib.Sequential(lib.Linear(2, 2), lib.Sequential(lib.Linear(2, 3)))
        return ml, md, popped, outer

    (ml, md, popped, outer), (tml, tmd, tpopped, touter) = build(nn), build(torch.nn)
    assert [type(m).__name__ for m in ml] == [type(m).__name__ for m in tml]
    assert list(ml.state_dict()) == list(tml.state_dict())
    assert list(md) == list(tmd) and "enc" in md and type(popped).__name__ == type(tpopped).__name__
    assert list(md.state_dict()) == list(tmd.state_dict())
    assert outer.get_submodule("1.0") is outer[1][0]
    assert outer.get_parameter("1.0.bias") is outer[1][0].bias
    assert tuple(outer.get_parameter("1.0.weight").shape) == tuple(touter.get_parameter("1.0.weight").shape)
    for lookup in (lambda m: m.get_submodule("2"), lambda m: m.get_parameter("0.nope")):
        with pytest.raises(AttributeError):
            lookup(touter)
        with pytest.raises(AttributeError):
            lookup(outer)
    for bad in (lambda lib: lib.ModuleList([3]), lambda lib: lib.Sequential(lambda x: x)):
        with pytest.raises(TypeError, match="is not a Module subclass"):
            bad(torch.nn)
        with pytest.raises(TypeError, match="is not a Module subclass"):
            bad(nn)


@requires_torch
def test_forward_hooks_and_pre_hooks_as_torch():
    def run(lib, tensor):
        model = lib.Sequential(lib.Linear(2, 3), lib.Tanh(), lib.Linear(3, 1))
        model.double()
        with_weights = {k: tensor(v) for k, v in _WEIGHTS.items()}
        model.load_state_dict(with_weights)
        seen = []
        h1 = model[1].register_forward_hook(lambda m, args, out: seen.append(float(out.detach().sum())))
        h2 = model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        h3 = model[2].register_forward_hook(lambda m, args, out: out + 1, prepend=True)
        first = model(tensor(_X))
        h2.remove()
        with h3:
            second = model(tensor(_X))
        h1.remove()
        third = model(tensor(_X))
        return [first, second, third], seen

    ours, ours_seen = run(nn, rg.tensor)
    theirs, their_seen = run(torch.nn, torch.tensor)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_seen, their_seen, rtol=1e-12)


_RNG = np.random.default_rng(5)
_WEIGHTS = {"0.weight": _RNG.standard_normal((3, 2)), "0.bias": _RNG.standard_normal(3),
            "2.weight": _RNG.standard_normal((1, 3)), "2.bias": _RNG.standard_normal(1)}
_X = _RNG.standard_normal((4, 2))


@requires_torch
def test_embedding_max_norm_from_pretrained_and_weight_as_torch():
    table = np.random.default_rng(2).standard_normal((6, 3)) * 2
    ids = np.array([[0, 2, 2], [5, 1, 0]])
    ours = nn.Embedding(6, 3, max_norm=1.5, _weight=table)
    theirs = torch.nn.Embedding(6, 3, max_norm=1.5, _weight=torch.tensor(table))
    out, tout = ours(rg.tensor(ids)), theirs(torch.tensor(ids))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)  # renormed in place
    frozen, tfrozen = nn.Embedding.from_pretrained(table), torch.nn.Embedding.from_pretrained(torch.tensor(table))
    assert frozen.weight.requires_grad is tfrozen.weight.requires_grad is False
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    np.testing.assert_array_equal(frozen(rg.tensor(ids)).data, tfrozen(torch.tensor(ids)).numpy())
    with pytest.raises(ValueError, match="sparse=True is not implemented"):
        nn.Embedding(6, 3, sparse=True)


@requires_torch
@pytest.mark.parametrize("make", [lambda lib, **k: lib.Linear(3, 2, True, **k), lambda lib, **k: lib.Conv2d(1, 2, 3, **k),
                                  lambda lib, **k: lib.BatchNorm1d(3, **k), lambda lib, **k: lib.LayerNorm(3, **k),
                                  lambda lib, **k: lib.LSTMCell(3, 2, **k), lambda lib, **k: lib.Embedding(4, 2, **k)])
def test_factory_arguments_device_then_dtype_as_torch(make):
    ours, theirs = make(nn, device="cpu", dtype=np.float64), make(torch.nn, device="cpu", dtype=torch.float64)
    assert [str(v.dtype) for v in ours.state_dict().values()] == \
        [str(v.dtype).replace("torch.", "") for v in theirs.state_dict().values()]
    with pytest.raises(ValueError, match="leave device out"):
        make(nn, device="cuda")


@requires_torch
def test_unflatten_as_torch():
    x = np.arange(24.0).reshape(2, 12)
    for dim, sizes in ((1, (3, 4)), (-1, (2, -1, 3)), (0, (1, 2))):
        ours, theirs = rg.tensor(x).unflatten(dim, sizes), torch.tensor(x).unflatten(dim, sizes)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert nn.Unflatten(1, (3, 4))(rg.tensor(x)).shape == tuple(torch.nn.Unflatten(1, (3, 4))(torch.tensor(x)).shape)
    for sizes in ((5, 2), (-1, -1)):
        with pytest.raises(RuntimeError):
            torch.tensor(x).unflatten(1, sizes)
        with pytest.raises(ValueError, match="unflatten"):
            rg.tensor(x).unflatten(1, sizes)
