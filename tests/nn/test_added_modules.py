"""The added activations (CELU … Softmax2d) and normalisations (RMSNorm, InstanceNorm, LocalResponseNorm,
BatchNorm3d), functional forms and modules: PyTorch's values, gradients (float64), dtypes, parameter
names, reprs and errors; the gradients at kinks under every ``rg.conventions`` policy."""

import warnings

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F
from conftest import requires_torch, torch

pytestmark = [requires_torch, pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")]

RNG = np.random.default_rng(5)
# a grid that stays away from every kink and jump tested here (0, ±0.5, ±1.2, ±3, the thresholds)
X = np.linspace(-4.1, 4.3, 24).reshape(4, 6)


def _tt(a, requires_grad=False):
    return torch.tensor(np.asarray(a)).requires_grad_(requires_grad)


def compare(ours_fn, theirs_fn, *arrays, grad=(0,), rtol=1e-10, atol=1e-12):
    """Both functions on the same arrays: values, dtypes, shapes, and the gradients of Σ out·G (G a fixed
    random cotangent) with respect to the inputs numbered in ``grad``."""
    ours_in = [rg.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    theirs_in = [_tt(a, i in grad) for i, a in enumerate(arrays)]
    ours, theirs = ours_fn(*ours_in), theirs_fn(*theirs_in)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol)
    if grad:
        cot = np.random.default_rng(1).standard_normal(theirs.shape).astype(ours.data.dtype)
        (ours * rg.tensor(cot)).sum().backward()
        (theirs * _tt(cot)).sum().backward()
        for i in grad:
            np.testing.assert_allclose(ours_in[i].grad.data, theirs_in[i].grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of argument {i}")
    return ours, theirs


def raises_like_torch(ours_call, theirs_call, match=None):
    """Both calls fail; ours with an exception of torch's type (and ``match`` in its message)."""
    with pytest.raises(Exception) as theirs:
        theirs_call()
    with pytest.raises(type(theirs.value), match=match):
        ours_call()


# ------------------------------------------------------------ activations: values and gradients
ACTIVATIONS = [
    ("celu", {}), ("celu", {"alpha": 2.0}), ("celu", {"alpha": -1.5}), ("glu", {}), ("glu", {"dim": 0}),
    ("hardshrink", {}), ("hardshrink", {"lambd": 1.2}), ("softshrink", {}), ("softshrink", {"lambd": 0.0}),
    ("tanhshrink", {}), ("hardsigmoid", {}), ("hardswish", {}), ("threshold", {"threshold": 0.1, "value": 20.0}),
    ("threshold", {"threshold": -1.0, "value": -1.0}), ("rrelu", {}), ("rrelu", {"lower": 0.1, "upper": 0.6}),
    ("softmin", {"dim": 1}), ("softmin", {"dim": 0}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}-{kw}" for n, kw in ACTIVATIONS])
def test_functional_activations_match_torch(name, kw):
    # PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6 even in float64 (a relative
    # error of 3e-8); retrograd's slope is the float64 1/6
    rtol = 1e-7 if name == "hardsigmoid" else 1e-10
    compare(lambda x: getattr(F, name)(x, **kw), lambda x: getattr(torch.nn.functional, name)(x, **kw), X, rtol=rtol)


MODULES = [("CELU", (1.5,)), ("GLU", (0,)), ("Hardshrink", (0.7,)), ("Softshrink", (0.25,)), ("Tanhshrink", ()),
           ("Hardsigmoid", ()), ("Hardswish", ()), ("Threshold", (0.3, -2.0)), ("Softmin", (1,)),
           ("Softmax2d", ()), ("PReLU", ()), ("CELU", (2.0, True)), ("Threshold", (0.3, -2.0, True)),
           ("Hardsigmoid", (True,)), ("RReLU", (0.1, 0.3, True))]


@pytest.mark.parametrize("name,args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_activation_modules_match_torch_in_value_gradient_and_repr(name, args):
    ours, theirs = getattr(nn, name)(*args).double(), getattr(torch.nn, name)(*args).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = X.reshape(2, 3, 2, 2) if name == "Softmax2d" else X
    if name == "RReLU":
        ours.eval(), theirs.eval()
    if getattr(theirs, "inplace", False):  # torch overwrites its input: values only, on a copy
        compare(ours, lambda t: theirs(t.clone()), x, grad=())
    else:
        compare(ours, theirs, x, rtol=1e-7 if name == "Hardsigmoid" else 1e-10)  # see the functional test


def test_prelu_weight_gradient_per_channel_matches_torch():
    x = RNG.standard_normal((2, 3, 4))
    w = np.array([0.25, -0.3, 1.7])
    compare(F.prelu, torch.nn.functional.prelu, x, w, grad=(0, 1))
    compare(F.prelu, torch.nn.functional.prelu, x, w[:1], grad=(0, 1))  # one slope for every channel
    compare(F.prelu, torch.nn.functional.prelu, x[0, 0], w[:1], grad=(0, 1))  # 1-D input: one channel
    ours, theirs = nn.PReLU(3, 0.1).double(), torch.nn.PReLU(3, 0.1).double()
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == ["weight"]
    ours(rg.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12)


def test_activation_dtypes_follow_torch_and_integers_compute_in_the_default_float():
    x32 = X.astype(np.float32)
    for name, kw in [("celu", {}), ("hardswish", {}), ("softshrink", {}), ("glu", {}), ("hardshrink", {}),
                     ("threshold", {"threshold": 0.1, "value": 0.3})]:
        ours = getattr(F, name)(rg.tensor(x32), **kw)
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x32), **kw)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, atol=1e-7)
    ints = np.array([-2, 0, 1, 3])
    assert F.hardswish(rg.tensor(ints)).dtype == rg.get_default_dtype()  # README: activations on integer tensors
    thresholded = F.threshold(rg.tensor(ints), 0.5, 2.5)  # PyTorch keeps an integer dtype here
    np.testing.assert_array_equal(thresholded.data, torch.nn.functional.threshold(torch.tensor(ints), 0.5, 2.5))
    assert thresholded.dtype == np.int64


def test_nan_takes_the_identity_branch_as_in_torch():
    x = np.array([np.nan, -1.0, 2.0])
    for name in ("celu", "hardshrink", "softshrink", "threshold"):
        kw = {"threshold": 0.5, "value": 2.0} if name == "threshold" else {}
        compare(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(torch.nn.functional, name)(t, **kw), x)


# ------------------------------------------------------------ kinks and the conventions
# (function, kink point, expected gradient under min_norm / first / split); min_norm is PyTorch's value
KINKS = [
    (lambda x: F.softshrink(x, 0.5), 0.5, (0.0, 1.0, 0.5)),
    (lambda x: F.softshrink(x, 0.5), -0.5, (0.0, 1.0, 0.5)),
    (F.hardsigmoid, -3.0, (0.0, 1 / 6, 1 / 12)),
    (F.hardsigmoid, 3.0, (0.0, 1 / 6, 1 / 12)),
    (F.hardswish, -3.0, (0.0, -0.5, -0.25)),
    (F.hardswish, 3.0, (1.0, 1.5, 1.25)),
    (lambda x: F.threshold(x, 0.5, 0.5), 0.5, (0.0, 1.0, 0.5)),
    (lambda x: F.prelu(x, rg.tensor(np.array([0.25]))), 0.0, (0.25, 1.0, 0.625)),
    (lambda x: F.prelu(x, rg.tensor(np.array([-0.5]))), 0.0, (0.0, 1.0, 0.25)),
    (lambda x: F.hardshrink(x, 0.5), 0.5, (0.0, 0.0, 0.0)),  # a jump: PyTorch's 0 whatever the policy
    (lambda x: F.threshold(x, 0.5, 2.0), 0.5, (0.0, 0.0, 0.0)),
    (lambda x: F.celu(x, 2.0), 0.0, (1.0, 1.0, 1.0)),  # smooth there
    (lambda x: F.rrelu(x, 0.1, 0.3), 0.0, (0.2, 1.0, 0.6)),
]


@pytest.mark.parametrize("fn,at,expected", KINKS)
def test_gradient_at_kinks_follows_the_policy_and_min_norm_is_torchs(fn, at, expected):
    for policy, want in zip(("min_norm", "first", "split"), expected):
        with rg.conventions.policy(policy):
            x = rg.tensor(np.array([at]), requires_grad=True)
            fn(x).sum().backward()
        np.testing.assert_allclose(x.grad.data, [want], atol=1e-15, err_msg=policy)


@pytest.mark.parametrize("name,kw,at", [("softshrink", {}, 0.5), ("hardsigmoid", {}, -3.0), ("hardswish", {}, -3.0),
                                        ("hardswish", {}, 3.0), ("threshold", {"threshold": 1.0, "value": 1.0}, 1.0),
                                        ("rrelu", {}, 0.0)])
def test_default_policy_gives_torchs_gradient_at_the_kinks(name, kw, at):
    compare(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(torch.nn.functional, name)(t, **kw),
            np.array([at, at + 1.0]), rtol=1e-7)  # 1e-7: PyTorch's float32 1/6 in hardsigmoid's slope


# ------------------------------------------------------------ RReLU in training
def test_rrelu_training_draws_slopes_in_range_and_the_gradient_is_the_slope_used():
    x = rg.tensor(np.concatenate([-np.linspace(0.5, 2.0, 200), np.linspace(0.5, 2.0, 50)]), requires_grad=True)
    m = nn.RReLU(0.1, 0.3)
    y = m(x)
    y.sum().backward()
    slopes = y.data / x.data
    neg = x.data < 0
    assert np.all((slopes[neg] >= 0.1) & (slopes[neg] <= 0.3)) and np.all(slopes[~neg] == 1.0)
    assert np.unique(slopes[neg]).size > 100  # one draw per entry
    np.testing.assert_allclose(x.grad.data, slopes, rtol=1e-12)
    m.eval()
    np.testing.assert_array_equal(m(x).data, torch.nn.functional.rrelu(torch.tensor(x.data), 0.1, 0.3).numpy())


# ------------------------------------------------------------ activation errors
@pytest.mark.parametrize("call", [
    lambda f: f.celu(torch_or_rg(f, [1.0]), 0.0),
    lambda f: f.glu(torch_or_rg(f, np.ones((2, 3))), 1),
    lambda f: f.glu(torch_or_rg(f, 1.0)),
    lambda f: f.glu(torch_or_rg(f, np.ones((2, 4))), 2),
    lambda f: f.softshrink(torch_or_rg(f, [1.0]), -0.5),
    lambda f: f.prelu(torch_or_rg(f, np.ones((2, 3))), torch_or_rg(f, [0.1, 0.2])),
    lambda f: f.prelu(torch_or_rg(f, np.ones((2, 3))), torch_or_rg(f, np.ones((3, 1)))),
    lambda f: f.prelu(torch_or_rg(f, 1.0), torch_or_rg(f, [0.1, 0.2])),
    lambda f: f.prelu(torch_or_rg(f, [1.0]), torch_or_rg(f, np.array([0.1], np.float32))),
    lambda f: f.rrelu(torch_or_rg(f, [1.0]), 0.5, 0.1),
], ids=["celu-alpha0", "glu-odd", "glu-scalar", "glu-dim", "softshrink-neg", "prelu-count", "prelu-2d-weight",
        "prelu-0d-input", "prelu-dtypes", "rrelu-bounds"])
def test_activation_errors_are_torchs(call):
    raises_like_torch(lambda: call(F), lambda: call(torch.nn.functional))


def torch_or_rg(f, value):
    a = np.asarray(value, dtype=np.float64) if not isinstance(value, np.ndarray) else value
    return _tt(a) if f is torch.nn.functional else rg.tensor(a)


def test_softmax2d_and_threshold_refusals():
    raises_like_torch(lambda: nn.Softmax2d()(rg.tensor(np.ones((2, 3)))),
                      lambda: torch.nn.Softmax2d()(torch.ones(2, 3)), match="Softmax2d: expected input to be 3D or 4D")
    with pytest.raises(rg.OpError, match="threshold: bool input is not supported"):
        F.threshold(rg.tensor(np.array([True])), 0, 1)


# ------------------------------------------------------------ RMSNorm
@pytest.mark.parametrize("shape,normalized,eps", [((2, 3, 4), (4,), None), ((2, 3, 4), (3, 4), 1e-3),
                                                  ((5, 4), [4], 0.0)])
@pytest.mark.parametrize("with_weight", [True, False])
def test_rms_norm_matches_torch(shape, normalized, eps, with_weight):
    x, w = RNG.standard_normal(shape), RNG.standard_normal(tuple(normalized)) + 1.0
    if with_weight:
        compare(lambda a, b: F.rms_norm(a, normalized, b, eps), lambda a, b: torch.nn.functional.rms_norm(
            a, list(normalized), b, eps), x, w, grad=(0, 1))
    else:
        compare(lambda a: F.rms_norm(a, normalized, eps=eps), lambda a: torch.nn.functional.rms_norm(
            a, list(normalized), eps=eps), x)


def test_rms_norm_module_dtypes_and_names():
    for args, kw in [((4,), {}), (([3, 4],), {"eps": 1e-3, "elementwise_affine": False})]:
        ours, theirs = nn.RMSNorm(*args, **kw), torch.nn.RMSNorm(*args, **kw)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = RNG.standard_normal((2, 3, 4))
    ours, theirs = nn.RMSNorm(4), torch.nn.RMSNorm(4)  # float32 weights, a float64 input: float64, as torch
    assert ours(rg.tensor(x)).dtype == np.float64 == np.dtype(str(theirs(torch.tensor(x)).dtype)[6:])
    x32 = x.astype(np.float32)
    ours = F.rms_norm(rg.tensor(x32), (4,), rg.tensor(np.ones(4)))  # a float64 weight: the input's float32
    np.testing.assert_allclose(ours.data, torch.nn.functional.rms_norm(torch.tensor(x32), [4]).numpy(), rtol=1e-6)
    assert ours.dtype == np.float32


@pytest.mark.parametrize("call", [
    lambda f, t: f.rms_norm(t(np.ones((2, 3, 4))), [3]),
    lambda f, t: f.rms_norm(t(np.ones((2, 4))), [4], t(np.ones(3))),
    lambda f, t: f.rms_norm(t(np.ones((2, 4))), 4),
    lambda f, t: f.rms_norm(t(np.ones((2, 4))), [1, 2, 4]),
    lambda f, t: f.rms_norm(t(np.ones((2, 4))), []),
], ids=["shape", "weight", "int-shape", "too-long", "empty-shape"])
def test_rms_norm_errors_are_torchs(call):
    raises_like_torch(lambda: call(F, rg.tensor), lambda: call(torch.nn.functional, _tt))


# ------------------------------------------------------------ InstanceNorm
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 2, 3), (1, 2, 2, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_functional_instance_norm_matches_torch_with_running_statistics(shape, affine):
    x = RNG.standard_normal(shape) * 2 + 1
    w, b = RNG.standard_normal(shape[1]), RNG.standard_normal(shape[1])
    stats = [(np.zeros(shape[1]), np.ones(shape[1])) for _ in range(2)]
    ours_stats, theirs_stats = [rg.tensor(s) for s in stats[0]], [_tt(s) for s in stats[1]]

    def call(f, stats):
        return lambda a, wt, bs: f.instance_norm(a, *stats, wt if affine else None, bs if affine else None,
                                                 momentum=0.3)

    compare(call(F, ours_stats), call(torch.nn.functional, theirs_stats), x, w, b, grad=(0, 1, 2) if affine else (0,))
    for o, t in zip(ours_stats, theirs_stats):
        np.testing.assert_allclose(o.data, t.numpy(), rtol=1e-12)
    compare(lambda a: F.instance_norm(a, *ours_stats, use_input_stats=False),
            lambda a: torch.nn.functional.instance_norm(a, *theirs_stats, use_input_stats=False), x)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
def test_instance_norm_modules_train_and_eval_like_torch(dims, batched):
    shape = (2, 3) + (3,) * dims if batched else (3,) + (3,) * dims
    name = f"InstanceNorm{dims}d"
    ours = getattr(nn, name)(3, affine=True, track_running_stats=True, momentum=0.2).double()
    theirs = getattr(torch.nn, name)(3, affine=True, track_running_stats=True, momentum=0.2).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
    ours.weight.data[...] = [0.5, 1.0, 2.0]
    for step in range(2):
        compare(ours, theirs, RNG.standard_normal(shape) + step)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)
    ours.eval(), theirs.eval()
    compare(ours, theirs, RNG.standard_normal(shape))


def test_instance_norm_defaults_names_and_input_checks_are_torchs():
    for kw in ({}, {"affine": True}, {"affine": True, "bias": False}, {"track_running_stats": True}):
        ours, theirs = nn.InstanceNorm2d(3, **kw), torch.nn.InstanceNorm2d(3, **kw)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = RNG.standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        out = nn.InstanceNorm1d(5)(rg.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(out.data, torch.nn.InstanceNorm1d(5)(torch.tensor(x)).numpy(), rtol=1e-10)
    cases = [
        (lambda m, t: m.InstanceNorm1d(5, affine=True)(t(x)), "expected input's size at dim=1 to match num_features"),
        (lambda m, t: m.InstanceNorm1d(3)(t(np.ones((2, 3, 4, 5)))), "expected 2D or 3D input"),
        (lambda m, t: m.InstanceNorm2d(3)(t(np.ones((2, 3)))), "expected 3D or 4D input"),
        (lambda m, t: m.InstanceNorm1d(3)(t(np.ones((2, 3, 1)))), "Expected more than 1 spatial element"),
        (lambda m, t: m.functional.instance_norm(t(x), use_input_stats=False), "running_mean and running_var"),
        (lambda m, t: m.functional.instance_norm(t(x), t(np.zeros(2)), t(np.ones(2))), "running_mean should contain"),
        (lambda m, t: m.functional.instance_norm(t(x), weight=t(np.ones(2))), "weight should contain"),
    ]
    for call, match in cases:
        raises_like_torch(lambda: call(nn, rg.tensor), lambda: call(torch.nn, _tt), match=match)
    mixed = nn.InstanceNorm1d(3, affine=True)  # float32 parameters, a float64 input: refused, as PyTorch
    raises_like_torch(lambda: mixed(rg.tensor(x)), lambda: torch.nn.InstanceNorm1d(3, affine=True)(torch.tensor(x)))


# ------------------------------------------------------------ LocalResponseNorm, BatchNorm3d
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 5, 2, 3), (1, 4, 2, 2, 2)])
@pytest.mark.parametrize("size,kw", [(1, {}), (2, {}), (3, {"alpha": 0.5, "beta": 0.6, "k": 2.0}),
                                     (7, {"alpha": 1.0})])
def test_local_response_norm_matches_torch(shape, size, kw):
    x = RNG.standard_normal(shape)
    compare(lambda a: F.local_response_norm(a, size, **kw), lambda a: torch.nn.functional.local_response_norm(
        a, size, **kw), x)
    ours, theirs = nn.LocalResponseNorm(size, **kw), torch.nn.LocalResponseNorm(size, **kw)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, x)


def test_local_response_norm_refusals_and_empty_input():
    raises_like_torch(lambda: F.local_response_norm(rg.tensor(np.ones((2, 3))), 2),
                      lambda: torch.nn.functional.local_response_norm(torch.ones(2, 3), 2), match="3D or higher")
    raises_like_torch(lambda: F.local_response_norm(rg.tensor(np.ones((2, 3, 4))), 0),
                      lambda: torch.nn.functional.local_response_norm(torch.ones(2, 3, 4), 0))
    empty = rg.tensor(np.ones((0, 3, 4)))
    assert F.local_response_norm(empty, 2).shape == (0, 3, 4)


def test_batch_norm_3d_matches_torch():
    ours, theirs = nn.BatchNorm3d(3, momentum=0.3).double(), torch.nn.BatchNorm3d(3, momentum=0.3).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(2):
        compare(ours, theirs, RNG.standard_normal((2, 3, 2, 2, 3)))
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)
    ours.eval(), theirs.eval()
    compare(ours, theirs, RNG.standard_normal((2, 3, 2, 2, 3)))
    raises_like_torch(lambda: ours(rg.tensor(np.ones((2, 3, 4, 5)))), lambda: theirs(torch.ones(2, 3, 4, 5)))


# ------------------------------------------------------------ replays
@pytest.mark.parametrize("name", ["celu", "hardshrink", "softshrink", "threshold", "prelu", "hardswish", "glu",
                                  "rms_norm", "instance_norm", "local_response_norm"])
def test_a_replay_recomputes_the_masks_from_new_values(name):
    """Every mask is a comparison of tensors, so a traced call (``autograd.replay``, what ``rg.bptt``'s
    compile runs) replayed on new values, with a 0 and a NaN among them, gives what an eager call gives."""
    from retrograd.autograd.replay import Program

    w = rg.tensor(np.array([0.25, 1.5, -0.3]), requires_grad=True)
    fn = {"threshold": lambda t: F.threshold(t, 0.1, 2.0), "prelu": lambda t: F.prelu(t, w),
          "glu": lambda t: F.glu(t, 2), "rms_norm": lambda t: F.rms_norm(t, (4,)),
          "local_response_norm": lambda t: F.local_response_norm(t, 2)}.get(name, getattr(F, name))
    x = rg.tensor(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    program, _ = Program.trace(lambda: [fn(x)], [x, w])
    new = RNG.standard_normal((2, 3, 4))
    new[0, 0, :2] = [0.0, np.nan]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        replayed = program.run([new, w.data])[0]
        np.testing.assert_allclose(replayed, fn(rg.tensor(new)).data, rtol=1e-12)
