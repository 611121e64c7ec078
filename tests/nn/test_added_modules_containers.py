"""The added containers (ParameterList, ParameterDict), Bilinear, the shuffles, the padding modules and the
channel / alpha dropouts: PyTorch's parameter names and container behaviour, values and gradients
(float64), reprs and errors; for the random layers, the mask's statistics and a gradient equal to the
scale used."""

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn
from retrograd.nn import functional as F
from conftest import requires_torch, torch

from test_added_modules import compare, raises_like_torch, _tt

pytestmark = requires_torch

RNG = np.random.default_rng(9)


# ------------------------------------------------------------ ParameterList / ParameterDict
class _Holder:
    """The same model in both libraries: a ParameterList and a ParameterDict inside a module."""

    @staticmethod
    def build(lib, arrays):
        t = rg.tensor if lib is nn else _tt
        m = lib.Module()
        m.lin = lib.Linear(2, 2)
        m.plist = lib.ParameterList([t(arrays[0]), lib.Parameter(t(arrays[1])), "not a tensor"])
        m.pdict = lib.ParameterDict({"right": t(arrays[2]), "left": t(arrays[0]), "n": 3})
        return m


def test_parameter_containers_register_torchs_names():
    arrays = [RNG.standard_normal((2, 3)), RNG.standard_normal(2), RNG.standard_normal(4)]
    ours, theirs = _Holder.build(nn, arrays), _Holder.build(torch.nn, arrays)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "lin.weight", "lin.bias", "plist.0", "plist.1", "pdict.left", "pdict.right"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert all(p.requires_grad for p in ours.parameters())
    assert ours.plist[2] == "not a tensor" and ours.pdict["n"] == 3 and len(ours.plist) == 3 == len(ours.pdict)
    assert ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()}) == ([], [])
    t = rg.tensor(np.ones(2))
    wrapped = nn.ParameterList([t])[0]
    assert isinstance(wrapped, nn.Parameter) and wrapped.data is t.data  # a Parameter on the same array
    assert repr(nn.ParameterList([rg.tensor(np.ones((2, 3)))])) == \
        "ParameterList(\n    (0): Parameter containing: [float64 of size 2x3]\n)"


def test_parameter_list_behaves_like_torchs():
    ours = nn.ParameterList([rg.tensor(np.ones(1)), rg.tensor(np.ones(2))])
    theirs = torch.nn.ParameterList([torch.ones(1), torch.ones(2)])
    for pl, t in ((ours, rg.tensor), (theirs, _tt)):
        pl[0] = t(np.zeros(3))  # replaced in place: the names keep their order
        pl.append(t(np.ones(4)))
        pl += [t(np.ones(5))]
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert [tuple(p.shape) for p in ours[1:3]] == [(2,), (4,)] and list(ours[1:3].state_dict()) == ["0", "1"]
    assert ours[-1].shape == (5,) and len(ours) == 4 and [p.shape for p in ours][0] == (3,)
    cases = [(lambda pl, t: pl.extend(t(np.ones(2))), "ParameterList.extend should be called with an iterable"),
             (lambda pl, t: pl[7], "index 7 is out of range"),
             (lambda pl, t: pl(), "ParameterList should not be called"),
             (lambda pl, t: pl.__setitem__(0, "text"), "cannot assign")]
    for call, match in cases:
        raises_like_torch(lambda: call(ours, rg.tensor), lambda: call(theirs, _tt), match=match)


def test_parameter_dict_behaves_like_torchs():
    def exercise(lib, t):
        pd = lib.ParameterDict({"b": t(np.ones(1)), "a": t(np.ones(2))})  # a plain dict: sorted keys
        steps = [list(pd.keys())]
        pd.update(OrderedDict([("z", t(np.ones(3))), ("c", t(np.ones(1)))]))  # an OrderedDict keeps its order
        pd.update([("y", t(np.ones(1)))])
        pd["a"] = t(np.zeros(5))
        steps.append(list(pd.state_dict()))
        steps.append([pd.popitem()[0], pd.pop("b").shape[0], pd.setdefault("q"), "q" in pd, pd.get("nope", 7)])
        steps.append(list((pd | {"m": t(np.ones(1)), "d": t(np.ones(1))}).keys()))
        steps.append(list(reversed(pd)))
        pd.clear()
        steps.append(len(pd))
        return steps

    assert exercise(nn, rg.tensor) == exercise(torch.nn, _tt)
    ours, theirs = nn.ParameterDict({"a": rg.tensor(np.ones(1))}), torch.nn.ParameterDict({"a": torch.ones(1)})
    cases = [(lambda pd, t: pd.__setitem__(1, t(np.ones(1))), TypeError),
             (lambda pd, t: pd.__setitem__("x.y", t(np.ones(1))), KeyError),
             (lambda pd, t: pd["missing"], AttributeError),
             (lambda pd, t: pd.update(3), TypeError),
             (lambda pd, t: pd.update([("k", 1, 2)]), ValueError),
             (lambda pd, t: pd.update([3]), TypeError),
             (lambda pd, t: pd(t(np.ones(1))), RuntimeError)]
    for call, kind in cases:
        with pytest.raises(kind):
            call(theirs, _tt)
        with pytest.raises(kind):
            call(ours, rg.tensor)
    with pytest.raises(KeyError):  # also a mapping's KeyError
        ours["missing"]


# ------------------------------------------------------------ Bilinear
@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
@pytest.mark.parametrize("with_bias", [True, False])
def test_bilinear_matches_torch(lead, with_bias):
    x1, x2 = RNG.standard_normal(lead + (2,)), RNG.standard_normal(lead + (3,))
    w, b = RNG.standard_normal((4, 2, 3)), RNG.standard_normal(4)
    if with_bias:
        compare(F.bilinear, torch.nn.functional.bilinear, x1, x2, w, b, grad=(0, 1, 2, 3))
    else:
        compare(F.bilinear, torch.nn.functional.bilinear, x1, x2, w, grad=(0, 1, 2))


def test_bilinear_module_names_init_and_errors():
    for bias in (True, False):
        ours, theirs = nn.Bilinear(2, 3, 4, bias=bias).double(), torch.nn.Bilinear(2, 3, 4, bias=bias).double()
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert ours.weight.shape == (4, 2, 3) and np.abs(ours.weight.data).max() <= 1 / np.sqrt(2)
        ours.load_state_dict(theirs.state_dict())
        compare(ours, theirs, RNG.standard_normal((5, 2)), RNG.standard_normal((5, 3)), grad=(0, 1))
    x1, x2, w = np.ones((5, 2)), np.ones((5, 3)), np.ones((4, 2, 3))
    for args, match in [((x1, np.ones((4, 3)), w), "batch dimensions do not match at dim 0"),
                        ((np.ones((5, 3)), x2, w), "input1 size does not match weight size"),
                        ((x1, np.ones((5, 4)), w), "input2 size does not match weight size"),
                        ((x1, x2, w, np.ones(3)), "bias size does not match"),
                        ((np.ones((1, 5, 2)), x2, w), "input dimensions do not match"),
                        ((x1, x2.astype(np.float32), w), "same dtype"),
                        ((np.ones(()), np.ones(()), np.ones((4, 1, 1))), None)]:
        raises_like_torch(lambda: F.bilinear(*map(rg.tensor, args)),
                          lambda: torch.nn.functional.bilinear(*map(_tt, args)), match=match)


# ------------------------------------------------------------ shuffles
@pytest.mark.parametrize("name,shape,factor", [
    ("pixel_shuffle", (2, 8, 2, 3), 2), ("pixel_shuffle", (18, 1, 2), 3), ("pixel_shuffle", (1, 2, 4, 2, 2), 2),
    ("pixel_unshuffle", (2, 2, 4, 6), 2), ("pixel_unshuffle", (1, 3, 3), 3), ("pixel_unshuffle", (1, 1, 2, 2, 4), 2),
    ("channel_shuffle", (2, 6, 3), 2), ("channel_shuffle", (1, 6, 2, 2), 3), ("channel_shuffle", (2, 4, 1, 1, 2), 4),
])
def test_shuffles_match_torch(name, shape, factor):
    compare(lambda x: getattr(F, name)(x, factor), lambda x: getattr(torch.nn.functional, name)(x, factor),
            RNG.standard_normal(shape))
    module = {"pixel_shuffle": "PixelShuffle", "pixel_unshuffle": "PixelUnshuffle",
              "channel_shuffle": "ChannelShuffle"}[name]
    ours, theirs = getattr(nn, module)(factor), getattr(torch.nn, module)(factor)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, RNG.standard_normal(shape))
    ints = np.arange(np.prod(shape)).reshape(shape)  # integers keep their dtype
    np.testing.assert_array_equal(getattr(F, name)(rg.tensor(ints), factor).data,
                                  getattr(torch.nn.functional, name)(torch.tensor(ints), factor).numpy())


@pytest.mark.parametrize("name,shape,factor", [
    ("pixel_shuffle", (8, 3), 2), ("pixel_shuffle", (2, 6, 3, 3), 2), ("pixel_shuffle", (2, 8, 3, 3), 0),
    ("pixel_shuffle", (2, 8, 3, 3), 2.0), ("pixel_unshuffle", (2, 2, 3, 6), 2), ("pixel_unshuffle", (2, 2, 4, 5), 2),
    ("pixel_unshuffle", (4, 6), 2), ("pixel_unshuffle", (2, 2, 4, 6), -1), ("channel_shuffle", (2, 6), 2),
    ("channel_shuffle", (2, 5, 3), 2), ("channel_shuffle", (2, 6, 3), 0),
])
def test_shuffle_errors_are_torchs(name, shape, factor):
    raises_like_torch(lambda: getattr(F, name)(rg.tensor(np.ones(shape)), factor),
                      lambda: getattr(torch.nn.functional, name)(torch.ones(shape), factor))


# ------------------------------------------------------------ padding modules
PADS = [(kind, dims, padding) for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
        for dims, padding in ((1, 2), (1, (1, 0)), (2, 1), (2, (1, 0, 2, 1)), (3, 1), (3, (0, 1, 1, 0, 1, 1)))]


@pytest.mark.parametrize("kind,dims,padding", PADS)
@pytest.mark.parametrize("batched", [True, False])
def test_padding_modules_match_torch(kind, dims, padding, batched):
    args = (padding, 1.5) if kind == "Constant" else (padding,)
    name = f"{kind}Pad{dims}d"
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs) and ours.padding == theirs.padding
    shape = (2,) * batched + (2,) + (3,) * dims
    compare(ours, theirs, RNG.standard_normal(shape))


def test_padding_module_refusals_are_torchs():
    for name, shape in (("CircularPad1d", (1, 2, 3, 4)), ("CircularPad2d", (3, 4)), ("CircularPad3d", (2, 2, 2))):
        raises_like_torch(lambda: getattr(nn, name)(1)(rg.tensor(np.ones(shape))),
                          lambda: getattr(torch.nn, name)(1)(torch.ones(shape)), match="expected")
    assert nn.ZeroPad2d(1).value == torch.nn.ZeroPad2d(1).value == 0.0


# ------------------------------------------------------------ channel and alpha dropout
@pytest.mark.parametrize("name,shape,lead", [("dropout1d", (40, 30, 3), 2), ("dropout1d", (600, 2), 1),
                                             ("dropout2d", (40, 30, 2, 2), 2), ("dropout3d", (40, 30, 1, 2, 2), 2),
                                             ("dropout3d", (600, 2, 1, 2), 1)])
def test_channel_dropout_drops_whole_channels_and_the_gradient_is_the_mask(name, shape, lead):
    x = rg.tensor(np.ones(shape), requires_grad=True)
    y = getattr(F, name)(x, 0.3)
    assert y.shape == shape
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # x = 1: the output is the scale used
    per_channel = y.data.reshape(shape[:lead] + (-1,))
    assert np.all(per_channel == per_channel[..., :1])  # each channel all dropped or all kept
    assert set(np.unique(y.data)) <= {0.0, 1 / 0.7}
    assert abs((per_channel[..., 0] == 0).mean() - 0.3) < 0.06
    assert getattr(F, name)(x, 0.3, training=False) is x  # evaluation: the input itself
    np.testing.assert_array_equal(getattr(F, name)(x, 1.0).data, 0.0)


def test_channel_dropout_modules_warnings_and_errors_are_torchs():
    for name in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        assert repr(getattr(nn, name)(0.2, True)) == repr(getattr(torch.nn, name)(0.2, True))
        raises_like_torch(lambda: getattr(nn, name)(1.5), lambda: getattr(torch.nn, name)(1.5),
                          match="dropout probability has to be between 0 and 1, but got 1.5")
        m = getattr(nn, name)(0.5).eval()
        x = rg.tensor(np.ones({"Dropout1d": (2, 3, 4), "Dropout3d": (2, 3, 4, 4, 4)}.get(name, (2, 3, 4, 4))))
        assert m(x) is x  # evaluation: the input itself
    raises_like_torch(lambda: F.dropout1d(rg.tensor(np.ones(4))), lambda: torch.nn.functional.dropout1d(
        torch.ones(4)), match="dropout1d: Expected 2D or 3D input, but received a 1D input")
    raises_like_torch(lambda: F.feature_alpha_dropout(rg.tensor(np.ones(4)), 0.5, True),
                      lambda: torch.nn.functional.feature_alpha_dropout(torch.ones(4), 0.5, True),
                      match="Feature dropout requires at least 2 dimensions")
    raises_like_torch(lambda: F.dropout2d(rg.tensor(np.ones((1, 3, 2, 2), dtype=np.int64))),
                      lambda: torch.nn.functional.dropout2d(torch.ones(1, 3, 2, 2, dtype=torch.long)))
    for call in (lambda f, t: f.dropout2d(t(np.ones((2, 3, 4)))), lambda f, t: f.dropout3d(t(np.ones((2, 3, 4))))):
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            call(torch.nn.functional, _tt)
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            call(F, rg.tensor)
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs] != []


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_zero_mean_unit_variance_and_the_gradient_is_the_scale(feature):
    p, alpha = 0.2, 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * p + 1) * (1 - p))
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    x = rg.tensor(np.ones((300, 40, 2)), requires_grad=True)
    y = fn(x, p, training=True)
    y.sum().backward()
    kept = x.grad.data != 0
    np.testing.assert_allclose(x.grad.data[kept], a)  # the scale a·keep
    np.testing.assert_allclose(y.data[kept], a + alpha * a * p)  # a·1 + b for a kept entry
    np.testing.assert_allclose(y.data[~kept], alpha * a * (p - 1))  # SELU's saturation, rescaled
    if feature:
        assert np.all(kept == kept[..., :1])  # one draw per (n, c)
    assert abs((~kept).mean() - p) < 0.02
    z = fn(rg.tensor(RNG.standard_normal((200, 50, 2))), p, training=True).data  # N(0, 1) in, N(0, 1) out
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
    ones = rg.tensor(np.ones((2, 3)))
    assert fn(ones, p) is ones  # training=False by default, as PyTorch's
    np.testing.assert_array_equal(fn(ones, 1.0, training=True).data, 0.0)
