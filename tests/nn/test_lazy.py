"""Lazy modules (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*), the
uninitialized tensors and LazyModuleMixin against torch 2.13: the state before the first forward, the
shapes inferred, the class they become, values and gradients once initialised (float64, weights copied
across), the eager layer's initialisation (the same draws as rg's own layer with the same seed),
optimizers built before the first forward, state_dict / load_state_dict / rg.save, and the errors."""

import copy

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn.lazy import UninitializedError, is_lazy
from conftest import requires_torch, torch
from torch_compare import same_error, same_grads

RNG = np.random.default_rng(11)


def _run_both(ours, theirs, x, **kwargs):
    """Both modules on ``x`` (float64, requires grad): the outputs, then the gradients of Σ out·G with
    respect to the input and the parameters."""
    xo, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo, **kwargs), theirs(xt, **kwargs)
    assert tuple(yo.shape) == tuple(yt.shape) and str(yo.dtype) == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    cot = RNG.standard_normal(tuple(yt.shape))
    (yo * rg.tensor(cot)).sum().backward()
    (yt * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    same_grads(ours, theirs)


def _copy_into_torch(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})


# ---------------------------------------------------------------- LazyLinear
@requires_torch
def test_lazy_linear_before_and_after_the_first_forward_is_torchs():
    ours, theirs = nn.LazyLinear(3, dtype=rg.float64), torch.nn.LazyLinear(3, dtype=torch.float64)
    assert repr(ours) == repr(theirs) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert isinstance(ours.weight, nn.UninitializedParameter) and is_lazy(ours.bias)
    assert repr(ours.weight) == repr(theirs.weight) == "<UninitializedParameter>"
    assert ours.has_uninitialized_params() and ours.weight.requires_grad
    sd = ours.state_dict()
    assert list(sd) == list(theirs.state_dict()) and isinstance(sd["weight"], nn.UninitializedParameter)
    x = RNG.standard_normal((2, 4))
    ours(rg.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours) is nn.Linear and type(theirs) is torch.nn.Linear
    assert repr(ours) == repr(theirs) == "Linear(in_features=4, out_features=3, bias=True)"
    assert type(ours.weight) is nn.Parameter and not ours._forward_pre_hooks
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.weight.dtype == rg.float64
    _copy_into_torch(ours, theirs)
    _run_both(ours, theirs, RNG.standard_normal((5, 4)))


def test_lazy_layers_draw_what_the_eager_layers_draw():
    """The same initialisers in the same order: with the same seed the lazy layer, once fed, holds the
    eager layer's values (the zero-size construction draws nothing)."""
    x2, x4 = np.ones((2, 4), np.float32), np.ones((1, 2, 5, 5), np.float32)
    cases = [(lambda: nn.LazyLinear(3), lambda: nn.Linear(4, 3), x2),
             (lambda: nn.LazyLinear(3, bias=False), lambda: nn.Linear(4, 3, bias=False), x2),
             (lambda: nn.LazyConv2d(4, 3), lambda: nn.Conv2d(2, 4, 3), x4),
             (lambda: nn.LazyConvTranspose2d(4, 3, groups=2), lambda: nn.ConvTranspose2d(2, 4, 3, groups=2), x4)]
    for make_lazy, make_eager, x in cases:
        rg.manual_seed(7)
        lazy = make_lazy()
        lazy(rg.tensor(x))
        rg.manual_seed(7)
        eager = make_eager()
        assert type(lazy) is type(eager)
        for (name, a), (_, b) in zip(lazy.state_dict().items(), eager.state_dict().items()):
            np.testing.assert_array_equal(a, b, err_msg=name)


@requires_torch
def test_lazy_linear_dtype_follows_module_to_before_the_first_forward():
    ours, theirs = nn.LazyLinear(3).double(), torch.nn.LazyLinear(3).double()
    assert ours.weight.dtype == rg.float64 and theirs.weight.dtype == torch.float64
    ours(rg.tensor(np.ones((2, 4))))
    theirs(torch.ones(2, 4, dtype=torch.float64))
    assert ours.weight.dtype == rg.float64 and ours.bias.dtype == rg.float64


@requires_torch
def test_chained_lazy_layers_in_a_sequential():
    ours = nn.Sequential(nn.LazyLinear(5, dtype=rg.float64), nn.Tanh(), nn.LazyLinear(2, dtype=rg.float64))
    theirs = torch.nn.Sequential(torch.nn.LazyLinear(5, dtype=torch.float64), torch.nn.Tanh(),
                                 torch.nn.LazyLinear(2, dtype=torch.float64))
    x = RNG.standard_normal((3, 4))
    ours(rg.tensor(x))
    theirs(torch.tensor(x))
    assert [type(m).__name__ for m in ours] == ["Linear", "Tanh", "Linear"]
    assert ours[2].weight.shape == tuple(theirs[2].weight.shape) == (2, 5)
    _copy_into_torch(ours, theirs)
    _run_both(ours, theirs, x)


# ---------------------------------------------------------------- convolutions
CONVS = [  # (name, constructor args, input shape, forward kwargs)
    ("LazyConv1d", (4, 2), (2, 3, 7), {}),
    ("LazyConv1d", (4, 3), (3, 6), {}),  # unbatched
    ("LazyConv2d", (4, 3, 1, 1, 1, 2, False), (1, 6, 5, 4), {}),  # groups=2, no bias
    ("LazyConv2d", (2, 2), (1, 3, 4, 4), {}),
    ("LazyConv3d", (2, 2), (1, 2, 3, 4, 3), {}),
    ("LazyConvTranspose1d", (4, 2, 2), (2, 3, 5), {"output_size": (11,)}),
    ("LazyConvTranspose2d", (4, 3, 1, 0, 0, 2), (1, 6, 4, 3), {}),  # groups=2
    ("LazyConvTranspose3d", (2, 2), (2, 3, 3, 2), {}),  # unbatched
]


@requires_torch
@pytest.mark.parametrize("name,args,shape,kwargs", CONVS)
def test_lazy_convolutions_infer_in_channels_as_torch(name, args, shape, kwargs):
    ours, theirs = getattr(nn, name)(*args, dtype=rg.float64), getattr(torch.nn, name)(*args, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert is_lazy(ours.weight) and ours.in_channels == 0
    x = RNG.standard_normal(shape)
    ours(rg.tensor(x), **kwargs)
    theirs(torch.tensor(x), **kwargs)
    eager = name.replace("Lazy", "")
    assert type(ours) is getattr(nn, eager) and type(theirs) is getattr(torch.nn, eager)
    assert ours.in_channels == theirs.in_channels and ours.weight.shape == tuple(theirs.weight.shape)
    _copy_into_torch(ours, theirs)
    _run_both(ours, theirs, x, **kwargs)


# ---------------------------------------------------------------- normalisations
NORMS = [("LazyBatchNorm1d", (4, 3)), ("LazyBatchNorm1d", (4, 3, 2)), ("LazyBatchNorm2d", (3, 2, 2, 3)),
         ("LazyBatchNorm3d", (2, 2, 2, 2, 2)), ("LazyInstanceNorm1d", (2, 3, 4)), ("LazyInstanceNorm2d", (2, 2, 3, 3)),
         ("LazyInstanceNorm3d", (1, 2, 2, 3, 2))]


@requires_torch
@pytest.mark.parametrize("name,shape", NORMS)
@pytest.mark.parametrize("affine,track", [(True, True), (False, True), (True, False)])
def test_lazy_normalisations_infer_num_features_as_torch(name, shape, affine, track):
    ours = getattr(nn, name)(affine=affine, track_running_stats=track, dtype=rg.float64)
    theirs = getattr(torch.nn, name)(affine=affine, track_running_stats=track, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.has_uninitialized_params() and ours.num_features == 0
    if track:
        assert isinstance(ours.running_mean, nn.UninitializedBuffer) and not ours.running_mean.requires_grad
        assert repr(ours.state_dict()["running_var"]) == "<UninitializedBuffer>"
    x = RNG.standard_normal(shape)
    _run_both(ours, theirs, x)  # the first forward: initialised as the eager layer (ones, zeros), then used
    eager = name.replace("Lazy", "")
    assert type(ours) is getattr(nn, eager) and ours.num_features == theirs.num_features == shape[1]
    for key, value in theirs.state_dict().items():  # the running statistics after one training step
        np.testing.assert_allclose(np.asarray(ours.state_dict()[key]), value.numpy(), rtol=1e-12, err_msg=key)


@requires_torch
def test_lazy_batchnorm_without_bias_and_instancenorm_without_anything():
    ours, theirs = nn.LazyBatchNorm1d(bias=False, dtype=rg.float64), torch.nn.LazyBatchNorm1d(bias=False,
                                                                                              dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _run_both(ours, theirs, RNG.standard_normal((4, 3)))
    assert ours.bias is None and ours.weight.shape == (3,)
    # nothing to infer: num_features stays 0 and the layer warns that the input does not match it, as torch's
    ours = nn.LazyInstanceNorm1d(affine=False, track_running_stats=False)
    assert not ours.has_uninitialized_params() and list(ours.state_dict()) == []
    with pytest.warns(UserWarning, match="does not match num_features"):
        ours(rg.tensor(np.ones((2, 3, 4), np.float32)))
    assert type(ours) is nn.InstanceNorm1d and ours.num_features == 0


# ---------------------------------------------------------------- optimizers built before the first forward
OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Rprop", "Adadelta", "ASGD", "LBFGS"]


@requires_torch
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_an_optimizer_built_before_the_first_forward_updates_the_materialized_parameters(name):
    model = nn.LazyLinear(2, dtype=rg.float64)
    opt = getattr(rg.optim, name)(model.parameters(), lr=0.1)
    x = rg.tensor(RNG.standard_normal((3, 4)))

    def closure():
        opt.zero_grad()
        loss = (model(x) ** 2).sum()
        loss.backward()
        return loss
    closure()
    assert opt.param_groups[0]["params"][0] is model.weight and type(model.weight) is nn.Parameter
    before = model.weight.data.copy()
    opt.step(closure) if name == "LBFGS" else opt.step()
    assert not np.array_equal(before, model.weight.data)


def test_adagrad_refuses_uninitialized_parameters_as_torch():
    """Adagrad makes its state when built, from the parameters' shapes: torch 2.13 raises ValueError
    ("Attempted to use an uninitialized parameter in … is_complex", torch's own test_optimizer_pass). Not
    asked of torch here: its first optimizer costs 2.4 s (it imports dynamo)."""
    with pytest.raises(ValueError, match="uninitialized parameter"):
        rg.optim.Adagrad(nn.LazyLinear(2).parameters())


# ---------------------------------------------------------------- state dicts
@requires_torch
def test_loading_an_initialized_state_materializes_and_the_forward_only_reads_the_size():
    eager, lazy, tlazy = nn.Linear(4, 3), nn.LazyLinear(3), torch.nn.LazyLinear(3)
    result = lazy.load_state_dict(eager.state_dict())
    tlazy.load_state_dict({k: torch.tensor(v) for k, v in eager.state_dict().items()})
    assert result == ([], []) and not lazy.has_uninitialized_params() and not tlazy.has_uninitialized_params()
    assert type(lazy) is nn.LazyLinear and repr(lazy) == repr(tlazy)  # torch 2.13: lazy (in_features 0) till fed
    np.testing.assert_array_equal(lazy.weight.data, eager.weight.data)
    x = rg.tensor(RNG.standard_normal((2, 4)).astype(np.float32))
    np.testing.assert_array_equal(lazy(x).data, eager(x).data)
    assert type(lazy) is nn.Linear and lazy.in_features == 4
    # an input that does not fit the loaded weight: torch's AssertionError
    lazy, tlazy = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    lazy.load_state_dict(nn.Linear(4, 3).state_dict())
    tlazy.load_state_dict(torch.nn.Linear(4, 3).state_dict())
    same_error(lambda: lazy(rg.tensor(np.ones((2, 5), np.float32))), lambda: tlazy(torch.ones(2, 5)),
               match="in_features inferred from input: 5")


@requires_torch
def test_uninitialized_states_load_into_uninitialized_modules_only():
    lazy = nn.LazyLinear(3)
    assert nn.LazyLinear(3).load_state_dict(lazy.state_dict()) == ([], [])  # stays uninitialized
    same_error(lambda: nn.Linear(4, 3).load_state_dict(nn.LazyLinear(3).state_dict()),
               lambda: torch.nn.Linear(4, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict()),
               match="shape of an uninitialized")
    bn, tbn = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    same_error(lambda: bn.load_state_dict(nn.LazyBatchNorm2d().state_dict()),
               lambda: tbn.load_state_dict(torch.nn.LazyBatchNorm2d().state_dict()), match="shape of an uninit")


@pytest.mark.parametrize("eager,lazy,x_shape,size", [
    (lambda: nn.Conv2d(3, 4, 3, padding=1), lambda: nn.LazyConv2d(4, 3, padding=1), (1, 3, 5, 5), "in_channels"),
    (lambda: nn.ConvTranspose1d(3, 4, 2, groups=1), lambda: nn.LazyConvTranspose1d(4, 2), (1, 3, 5), "in_channels"),
    (lambda: nn.Conv1d(4, 2, 2, groups=2), lambda: nn.LazyConv1d(2, 2, groups=2), (1, 4, 5), "in_channels"),
    (lambda: nn.BatchNorm2d(3).eval(), lambda: nn.LazyBatchNorm2d().eval(), (2, 3, 2, 2), "num_features"),
    (lambda: nn.InstanceNorm1d(3, affine=True), lambda: nn.LazyInstanceNorm1d(track_running_stats=False),
     (2, 3, 4), "num_features"),
])
def test_a_loaded_lazy_layer_runs_as_the_eager_one(eager, lazy, x_shape, size):
    """Deliberately past torch 2.13, whose loaded lazy convolutions and normalisations keep in_channels /
    num_features 0 after their first forward (and whose loaded LazyInstanceNorm then refuses every
    input): the size is read from the loaded weights, as newer torch does."""
    rg.manual_seed(3)
    a, b = eager(), lazy()
    a.weight.data[...] = RNG.standard_normal(a.weight.shape)
    b.load_state_dict(a.state_dict())
    x = rg.tensor(RNG.standard_normal(x_shape).astype(np.float32))
    np.testing.assert_allclose(b(x).data, a(x).data, rtol=1e-6)
    assert type(b) is type(a) and getattr(b, size) == getattr(a, size)


@requires_torch
def test_a_half_loaded_lazy_layer_refuses_its_first_forward():
    """Some entries loaded, others not: the initialiser would overwrite the loaded ones; torch fails with
    AttributeError there too."""
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    w = RNG.standard_normal((3, 4)).astype(np.float32)
    assert ours.load_state_dict({"weight": w}, strict=False).missing_keys == ["bias"]
    theirs.load_state_dict({"weight": torch.tensor(w)}, strict=False)
    same_error(lambda: ours(rg.tensor(np.ones((2, 4), np.float32))), lambda: theirs(torch.ones(2, 4)))


def test_lazy_models_load_inside_containers_and_from_checkpoints(tmp_path):
    eager = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3))
    lazy = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyBatchNorm1d())
    missing, unexpected, problems = lazy.state_dict_problems(eager.state_dict())
    assert (missing, unexpected, problems) == ([], [], [])
    with pytest.raises(UninitializedError, match="uninitialized parameter"):
        rg.save(tmp_path / "lazy.rgc", lazy)  # there is nothing to save yet
    path = rg.save(tmp_path / "eager.rgc", eager)
    rg.load(path, lazy)
    x = rg.tensor(RNG.standard_normal((5, 4)).astype(np.float32))
    np.testing.assert_array_equal(lazy(x).data, eager(x).data)
    assert [type(m) for m in lazy] == [nn.Linear, nn.ReLU, nn.BatchNorm1d]


# ---------------------------------------------------------------- the tensors, the mixin
@requires_torch
def test_uninitialized_tensors_as_torchs():
    p, b = nn.UninitializedParameter(), nn.UninitializedBuffer()
    tp = torch.nn.UninitializedParameter()
    assert (p.requires_grad, b.requires_grad, b.persistent) == (True, False, True)
    assert not nn.UninitializedParameter(requires_grad=False).requires_grad
    assert p.dtype == rg.get_default_dtype() and repr(b) == "<UninitializedBuffer>"
    same_error(lambda: p.shape, lambda: tp.shape, match="shape of an uninitialized parameter")
    same_error(lambda: p + p, lambda: tp + tp, match="uninitialized parameter")
    same_error(lambda: rg.empty_like(p), lambda: torch.empty_like(tp), match="uninitialized parameter")
    with pytest.raises(ValueError, match="uninitialized parameter"):
        np.asarray(p)  # the values, not just the shape
    p.materialize(3)
    b.materialize((2, 3), dtype=rg.float64)
    assert type(p) is nn.Parameter and p.shape == (3,) and p.requires_grad
    assert type(b) is nn.Buffer and b.shape == (2, 3) and b.dtype == rg.float64 and not b.requires_grad


class _Lazy(nn.LazyModuleMixin, nn.Module):
    pass


def test_the_mixin_with_registered_uninitialized_entries():
    """Ports of torch's test_lazy_module_parameter / _buffer."""
    module = _Lazy()
    module.register_parameter("test_param", nn.UninitializedParameter())
    module.test_buffer = nn.UninitializedBuffer()
    assert module.has_uninitialized_params() and list(module.state_dict()) == ["test_param", "test_buffer"]
    state = module.state_dict()
    other = _Lazy()
    other.register_parameter("test_param", nn.Parameter(np.ones((5, 5))))
    other.test_buffer = nn.Buffer(np.ones((5, 5)))
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        other.load_state_dict(state)
    module.load_state_dict(other.state_dict())
    np.testing.assert_array_equal(module.test_param.data, np.ones((5, 5)))
    np.testing.assert_array_equal(module.test_buffer.data, np.ones((5, 5)))
    assert not module.has_uninitialized_params() and type(module.test_param) is nn.Parameter
    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented for _Lazy"):
        module(rg.tensor(np.ones(2)))


def test_the_mixin_keeps_other_hooks_and_refuses_a_partial_initialisation():
    class Identity(nn.LazyModuleMixin, nn.Module):
        def initialize_parameters(self, x):
            return None

        def forward(self, x):
            return x

    module = Identity()
    module.register_forward_pre_hook(lambda m, args: args[0] + 1)
    module.register_forward_hook(lambda m, args, out: out * 2)
    np.testing.assert_array_equal(module(rg.tensor(np.zeros(2))).data, [2.0, 2.0])
    assert type(module) is Identity and not hasattr(module, "_initialize_hook")

    class Half(nn.LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.UninitializedParameter(), nn.UninitializedParameter()

        def initialize_parameters(self, x):
            self.a.materialize(x.shape)

    with pytest.raises(RuntimeError, match="module Half has not been fully initialized"):
        Half()(rg.tensor(np.ones(2)))


def test_a_deep_copy_before_the_first_forward_is_lazy_on_its_own():
    lazy = nn.LazyLinear(3)
    twin = copy.deepcopy(lazy)
    twin(rg.tensor(np.ones((2, 4), np.float32)))
    assert type(twin) is nn.Linear and type(lazy) is nn.LazyLinear and lazy.has_uninitialized_params()


# ---------------------------------------------------------------- errors at the first forward
@requires_torch
@pytest.mark.parametrize("make,shape,match", [
    ("LazyLinear(3)", (), "in_features"),
    ("LazyLinear(3)", "kw", None),
    ("LazyConv2d(4, 3)", (3, 5), r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"),
    ("LazyConv2d(4, 3, groups=2)", (1, 3, 5, 5), "in_channels must be divisible by groups"),
    ("LazyBatchNorm1d()", (4,), None),
    ("LazyBatchNorm2d()", (2, 3, 4), "expected 4D input|expected input with 4 dims"),
    ("LazyInstanceNorm1d()", (3, 4), "expected input's size at dim=0 to match num_features"),
])
def test_first_forward_errors_are_torchs(make, shape, match):
    ours, theirs = eval(f"nn.{make}"), eval(f"torch.nn.{make}")  # noqa: S307 - a fixed table
    if shape == "kw":  # initialize_parameters takes `input`, as torch's
        same_error(lambda: ours(x=rg.tensor(np.ones((2, 4), np.float32))), lambda: theirs(x=torch.ones(2, 4)))
        return
    same_error(lambda: ours(rg.tensor(np.ones(shape, np.float32))), lambda: theirs(torch.ones(shape)), match=match)
