"""``rg.func.functional_call``: a module called with some or all of its parameters and
buffers replaced, restored afterwards (also when the call fails), against
``torch.func.functional_call`` on the same module built in PyTorch with the same
weights; and transforms through it (``grad`` equals the module's own
``backward()`` gradients, ``jvp`` equals PyTorch's).
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import func as F
from retrograd import nn

try:
    import torch
    import torch.func as TF
except ImportError:  # the comparisons are skipped one by one (conftest), the rest runs
    torch = TF = None

RTOL, ATOL = 1e-10, 1e-12


# ---------------------------------------------------------------- modules in both libraries
def rg_mlp():
    rg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()


def torch_mlp():
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()


def rg_lstm():
    rg.manual_seed(0)
    return nn.LSTM(3, 4).double()


def torch_lstm():
    return torch.nn.LSTM(3, 4).double()


def mirrored(rg_module, torch_module, strict=True):
    """The PyTorch module with the retrograd module's parameters and buffers (the same names)."""
    state = {k: torch.from_numpy(np.array(v.data)) for k, v in
             list(rg_module.named_parameters()) + list(rg_module.named_buffers())}
    torch_module.load_state_dict(state, strict=strict)
    return torch_module


def random_like(module, names, seed=1):
    """{name: a random Tensor of that parameter's or buffer's shape and dtype} (positive for variances)."""
    rng = np.random.default_rng(seed)
    own = dict(list(module.named_parameters()) + list(module.named_buffers()))
    out = {}
    for n in names:
        a = rng.standard_normal(own[n].shape).astype(own[n].data.dtype)
        out[n] = rg.tensor(np.abs(a) + 0.5 if "var" in n else a)
    return out


def to_torch(d):
    return {k: torch.from_numpy(np.array(v.data)) for k, v in d.items()}


def snapshot(module, skip=()):
    """Every parameter and buffer but ``skip``: (the object, a copy of its values)."""
    return {n: (t, np.array(t.data)) for n, t in list(module.named_parameters()) + list(module.named_buffers())
            if n not in skip}


def assert_unchanged(module, before):
    after = dict(list(module.named_parameters()) + list(module.named_buffers()))
    assert set(before) <= set(after)
    for n, (t, values) in before.items():
        assert after[n] is t, f"{n}: another object after the call"
        np.testing.assert_array_equal(after[n].data, values, err_msg=n)
        owner = module
        for part in n.split(".")[:-1]:
            owner = owner._modules[part]
        assert getattr(owner, n.split(".")[-1]) is t, f"{n}: the attribute is another object after the call"


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(np.asarray(ours.data), theirs.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


X = np.random.default_rng(7).standard_normal((4, 3))


# ---------------------------------------------------------------- replacing parameters
@requires_torch
@pytest.mark.parametrize("names", [["weight", "bias"], ["weight"], ["bias"], []], ids=str)
def test_linear_with_some_or_all_parameters_replaced_matches_torch(names):
    rg.manual_seed(0)
    m = nn.Linear(3, 2).double()
    tm = mirrored(m, torch.nn.Linear(3, 2).double())
    before = snapshot(m)
    values = random_like(m, names)
    out = F.functional_call(m, values, (rg.tensor(X),))
    assert_close(out, TF.functional_call(tm, to_torch(values), (torch.from_numpy(X),)), "functional_call")
    assert_unchanged(m, before)
    # replaced by hand, the module computes the same
    expected = X @ values.get("weight", m.weight).data.T + values.get("bias", m.bias).data
    np.testing.assert_allclose(out.data, expected, rtol=RTOL)


@requires_torch
def test_sequential_with_dotted_names_matches_torch():
    m = rg_mlp()
    tm = mirrored(m, torch_mlp())
    before = snapshot(m)
    for names in (["0.weight", "2.bias"], [n for n, _ in m.named_parameters()]):
        values = random_like(m, names)
        out = F.functional_call(m, values, rg.tensor(X))  # a single argument need not be a tuple
        assert_close(out, TF.functional_call(tm, to_torch(values), torch.from_numpy(X)), f"replacing {names}")
    assert_unchanged(m, before)
    assert_close(m(rg.tensor(X)), tm(torch.from_numpy(X)), "the module itself afterwards")


def test_several_dicts_and_keyword_arguments():
    m = rg_mlp()
    p1, p2 = random_like(m, ["0.weight", "0.bias"]), random_like(m, ["2.weight"], seed=2)
    merged = F.functional_call(m, {**p1, **p2}, (rg.tensor(X),))
    split = F.functional_call(m, (p1, p2), (rg.tensor(X),))
    np.testing.assert_array_equal(merged.data, split.data)

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2).double()

        def forward(self, x, scale=1.0):
            return self.lin(x) * scale
    s = Scaled()
    w = random_like(s, ["lin.weight"])
    out = F.functional_call(s, w, (rg.tensor(X),), {"scale": 3.0})
    np.testing.assert_allclose(out.data, 3.0 * (X @ w["lin.weight"].data.T + s.lin.bias.data), rtol=RTOL)


@requires_torch
def test_a_name_in_two_dicts_is_refused_as_by_torch():
    m = rg_mlp()
    p = random_like(m, ["0.weight"])
    with pytest.raises(ValueError, match=r"'0.weight' appears in more than one dict"):
        F.functional_call(m, (p, p), (rg.tensor(X),))
    tm = torch_mlp()
    with pytest.raises(ValueError, match="multiple dictionaries"):
        TF.functional_call(tm, (to_torch(p), to_torch(p)), (torch.from_numpy(X),))


# ---------------------------------------------------------------- buffers: BatchNorm1d
@requires_torch
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm_with_replaced_parameters_and_buffers_matches_torch(training):
    rg.manual_seed(0)
    m = nn.BatchNorm1d(3).double()
    tm = mirrored(m, torch.nn.BatchNorm1d(3).double())
    m.train(training)
    tm.train(training)
    before = snapshot(m, skip=["num_batches_tracked"])  # not passed: the module's own counter counts
    t_before = {k: v.clone() for k, v in tm.state_dict().items() if k != "num_batches_tracked"}
    values = random_like(m, ["weight", "running_mean", "running_var"])
    t_values = to_torch(values)
    out = F.functional_call(m, values, (rg.tensor(X),))
    assert_close(out, TF.functional_call(tm, t_values, (torch.from_numpy(X),)), "batch norm")
    # in training the statistics update the buffers that were passed (in place, as in torch), not the module's
    for name in ("running_mean", "running_var"):
        assert_close(values[name], t_values[name], f"the passed {name} afterwards")
    assert_unchanged(m, before)
    for k, v in t_before.items():
        assert torch.equal(tm.state_dict()[k], v), k
    assert int(m.num_batches_tracked.data) == int(tm.num_batches_tracked) == int(training)


@requires_torch
def test_batchnorm_in_training_updates_its_own_buffers_when_none_is_passed():
    rg.manual_seed(0)
    m = nn.BatchNorm1d(3).double()
    tm = mirrored(m, torch.nn.BatchNorm1d(3).double())
    values = random_like(m, ["weight", "bias"])
    F.functional_call(m, values, (rg.tensor(X),))
    TF.functional_call(tm, to_torch(values), (torch.from_numpy(X),))
    assert_close(m.running_mean, tm.running_mean, "running_mean")
    assert_close(m.running_var, tm.running_var, "running_var")
    assert int(m.num_batches_tracked.data) == int(tm.num_batches_tracked) == 1


# ---------------------------------------------------------------- a recurrent layer
@requires_torch
def test_lstm_with_replaced_weights_matches_torch():
    m = rg_lstm()
    tm = mirrored(m, torch_lstm())
    before = snapshot(m)
    xs = np.random.default_rng(3).standard_normal((5, 2, 3))
    h0, c0 = np.random.default_rng(4).standard_normal((2, 1, 2, 4))
    values = random_like(m, [n for n, _ in m.named_parameters()])
    out, (h, c) = F.functional_call(m, values, (rg.tensor(xs), (rg.tensor(h0), rg.tensor(c0))))
    t_out, (t_h, t_c) = TF.functional_call(tm, to_torch(values), (torch.from_numpy(xs),
                                                                     (torch.from_numpy(h0), torch.from_numpy(c0))))
    for a, b, what in ((out, t_out, "output"), (h, t_h, "h"), (c, t_c, "c")):
        assert_close(a, b, what)
    assert_unchanged(m, before)


# ---------------------------------------------------------------- strict, errors, restoration
@requires_torch
def test_strict_names_the_missing_and_unexpected_keys_as_torch():
    m = rg_mlp()
    some = random_like(m, ["0.weight"])
    with pytest.raises(RuntimeError, match=r"strict=True.*missing \['0.bias', '2.bias', '2.weight'\]"):
        F.functional_call(m, some, (rg.tensor(X),), strict=True)
    every = random_like(m, [n for n, _ in m.named_parameters()])
    extra = {**every, "1.weight": rg.tensor(np.ones(1))}
    with pytest.raises((RuntimeError, KeyError), match=r"1.weight"):
        F.functional_call(m, extra, (rg.tensor(X),), strict=True)
    out = F.functional_call(m, every, (rg.tensor(X),), strict=True)  # every name given: fine
    assert out.shape == (4, 2)
    tm = torch_mlp()
    with pytest.raises(RuntimeError, match="Missing key"):
        TF.functional_call(tm, to_torch(some), (torch.from_numpy(X),), strict=True)


def test_strict_counts_buffers_too():
    rg.manual_seed(0)
    m = nn.BatchNorm1d(3).double()
    params = random_like(m, ["weight", "bias"])
    with pytest.raises(RuntimeError, match=r"missing \['num_batches_tracked', 'running_mean', 'running_var'\]"):
        F.functional_call(m, params, (rg.tensor(X),), strict=True)


def test_unknown_names_wrong_shapes_and_non_tensors_as_torch():
    """Without strict, a name the module has no parameter or buffer for is ignored (torch sets it
    and removes it, unread); a submodule it lacks raises AttributeError; a replacement of another
    shape stands in and the op that reads it refuses it; a non-tensor is refused by name."""
    m = rg_mlp()
    before = snapshot(m)
    x = rg.tensor(X)
    own = m(x).data
    np.testing.assert_array_equal(F.functional_call(m, {"0.wieght": rg.tensor(np.ones((5, 3)))}, (x,)).data, own)
    with pytest.raises(AttributeError, match=r"'5.weight'.*no submodule '5'"):
        F.functional_call(m, {"5.weight": rg.tensor(np.ones((5, 3)))}, (x,))
    with pytest.raises(ValueError, match=r"linear: input of shape \(4, 3\) and weight of shape \(3, 5\) do not fit"):
        F.functional_call(m, {"0.weight": rg.tensor(np.ones((3, 5)))}, (x,))
    with pytest.raises(TypeError, match=r"'0.bias' must be a Tensor, got ndarray"):
        F.functional_call(m, {"0.bias": np.ones(5)}, (x,))
    with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts"):
        F.functional_call(m, 3, (x,))
    assert_unchanged(m, before)


@requires_torch
def test_the_same_misuse_in_torch():
    m = torch_mlp()
    x = torch.tensor(X)
    own = m(x)
    assert torch.equal(TF.functional_call(m, {"0.wieght": torch.ones(5, 3)}, (x,)), own)
    with pytest.raises(AttributeError):
        TF.functional_call(m, {"5.weight": torch.ones(5, 3)}, (x,))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        TF.functional_call(m, {"0.weight": torch.ones(3, 5, dtype=torch.float64)}, (x,))
    with pytest.raises(ValueError, match="dict, or a list/tuple of dicts"):
        TF.functional_call(m, 3, (x,))


def test_the_module_is_restored_when_a_replacement_or_the_call_fails():
    m = rg_mlp()
    before = snapshot(m)
    good = random_like(m, ["0.weight", "0.bias"])
    # the third replacement fails after two were made
    with pytest.raises(ValueError):
        F.functional_call(m, {**good, "2.weight": rg.tensor(np.ones((1, 1)))}, (rg.tensor(X),))
    assert_unchanged(m, before)
    # the forward itself fails (an input of the wrong width)
    with pytest.raises(Exception):
        F.functional_call(m, good, (rg.tensor(np.ones((4, 7))),))
    assert_unchanged(m, before)

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2).double()

        def forward(self, x):
            self.lin(x)
            raise KeyboardInterrupt  # not an Exception: restored all the same
    b = Boom()
    b_before = snapshot(b)
    with pytest.raises(KeyboardInterrupt):
        F.functional_call(b, random_like(b, ["lin.weight"]), (rg.tensor(X),))
    assert_unchanged(b, b_before)


def test_nested_calls_restore_in_order():
    m = rg_mlp()
    before = snapshot(m)
    outer = random_like(m, ["0.weight"])
    inner = random_like(m, ["0.weight"], seed=5)

    class Wrapper(nn.Module):
        def __init__(self, inner_module):
            super().__init__()
            self.m = inner_module

        def forward(self, x):
            seen_outer = self.m[0].weight
            y = F.functional_call(self.m, inner, (x,))
            assert self.m[0].weight is seen_outer  # back to the outer replacement
            return y
    w = Wrapper(m)
    y = F.functional_call(w, {"m.0.weight": outer["0.weight"]}, (rg.tensor(X),))
    np.testing.assert_array_equal(y.data, F.functional_call(m, inner, (rg.tensor(X),)).data)
    assert_unchanged(m, before)


# ---------------------------------------------------------------- tied weights
class TiedRg(nn.Module):
    def __init__(self):
        super().__init__()
        rg.manual_seed(0)
        self.enc = nn.Linear(3, 3, bias=False).double()
        self.dec = nn.Linear(3, 3, bias=False).double()
        self.dec.weight = self.enc.weight

    def forward(self, x):
        return self.dec(rg.tanh(self.enc(x)))


def tied_torch(rg_module):
    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.Linear(3, 3, bias=False).double()
            self.dec = torch.nn.Linear(3, 3, bias=False).double()
            self.dec.weight = self.enc.weight

        def forward(self, x):
            return self.dec(torch.tanh(self.enc(x)))
    return mirrored(rg_module, Tied(), strict=False)  # torch lists the shared weight under both names


@requires_torch
@pytest.mark.parametrize("name", ["enc.weight", "dec.weight"])
def test_a_tied_weight_replaced_under_one_name_is_replaced_everywhere_as_in_torch(name):
    m = TiedRg()
    tm = tied_torch(m)
    before = snapshot(m)
    w = random_like(m, ["enc.weight"])["enc.weight"]
    out = F.functional_call(m, {name: w}, (rg.tensor(X),))
    assert_unchanged(m, before)
    assert m.dec.weight is m.enc.weight
    assert_close(out, TF.functional_call(tm, {name: torch.from_numpy(w.data)}, (torch.from_numpy(X),)), name)
    expected = np.tanh(X @ w.data.T) @ w.data.T
    np.testing.assert_allclose(out.data, expected, rtol=RTOL)


def test_a_tied_weight_given_under_both_names_is_replaced_everywhere():
    m = TiedRg()
    before = snapshot(m)
    w = random_like(m, ["enc.weight"])["enc.weight"]
    out = F.functional_call(m, {"enc.weight": w, "dec.weight": w}, (rg.tensor(X),))
    np.testing.assert_allclose(out.data, np.tanh(X @ w.data.T) @ w.data.T, rtol=RTOL)
    assert_unchanged(m, before)
    assert m.dec.weight is m.enc.weight


@requires_torch
def test_untied_replacement_matches_torch():
    m = TiedRg()
    tm = tied_torch(m)
    w = random_like(m, ["enc.weight"])["enc.weight"]
    out = F.functional_call(m, {"enc.weight": w}, (rg.tensor(X),), tie_weights=False)
    theirs = TF.functional_call(tm, {"enc.weight": torch.from_numpy(w.data)}, (torch.from_numpy(X),),
                                tie_weights=False)
    assert_close(out, theirs, "tie_weights=False")
    np.testing.assert_allclose(out.data, np.tanh(X @ w.data.T) @ m.enc.weight.data.T, rtol=RTOL)


# ---------------------------------------------------------------- transforms through functional_call
def _loss_rg(m, names, x, target):
    def loss(*ws):
        return rg.cross_entropy(F.functional_call(m, dict(zip(names, ws)), (x,)), target)
    return loss


@requires_torch
def test_grad_through_functional_call_equals_backward_and_torch():
    m = rg_mlp()
    tm = mirrored(m, torch_mlp())
    names = [n for n, _ in m.named_parameters()]
    target = np.array([0, 1, 1, 0])
    x = rg.tensor(X)
    params = tuple(p.detach() for _, p in m.named_parameters())
    grads = F.grad(_loss_rg(m, names, x, target), argnums=tuple(range(len(names))))(*params)
    assert all(p.grad is None for p in m.parameters()), "grad accumulates nothing into the module's .grad"

    rg.cross_entropy(m(x), target).backward()
    for n, g, (_, p) in zip(names, grads, m.named_parameters()):
        np.testing.assert_allclose(g.data, p.grad.data, rtol=RTOL, atol=ATOL, err_msg=n)
        assert not g.requires_grad

    t_params = {n: torch.from_numpy(np.array(p.data)) for n, p in zip(names, params)}
    t_grads = TF.grad(lambda p: torch.nn.functional.cross_entropy(
        TF.functional_call(tm, p, (torch.from_numpy(X),)), torch.from_numpy(target)))(t_params)
    for n, g in zip(names, grads):
        assert_close(g, t_grads[n], n)


@requires_torch
def test_grad_through_an_lstm_equals_backward():
    m = rg_lstm()
    names = [n for n, _ in m.named_parameters()]
    xs = rg.tensor(np.random.default_rng(3).standard_normal((5, 2, 3)))

    def loss(*ws):
        out, _ = F.functional_call(m, dict(zip(names, ws)), (xs,))
        return (out * out).sum()
    params = tuple(p.detach() for p in m.parameters())
    grads = F.grad(loss, argnums=tuple(range(len(names))))(*params)
    out, _ = m(xs)
    (out * out).sum().backward()
    for n, g, p in zip(names, grads, m.parameters()):
        np.testing.assert_allclose(g.data, p.grad.data, rtol=1e-9, atol=1e-12, err_msg=n)


@requires_torch
@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_jvp_through_functional_call_matches_torch(kind):
    m, tm = (rg_mlp(), torch_mlp()) if kind == "mlp" else (rg_lstm(), torch_lstm())
    tm = mirrored(m, tm)
    names = [n for n, _ in m.named_parameters()]
    x = X if kind == "mlp" else np.random.default_rng(3).standard_normal((5, 2, 3))
    params = tuple(p.detach() for p in m.parameters())
    tangents = tuple(random_like(m, names, seed=9).values())

    def first(out):
        return out if kind == "mlp" else out[0]

    def f(*ws):
        return first(F.functional_call(m, dict(zip(names, ws)), (rg.tensor(x),)))
    out, tangent = F.jvp(f, params, tangents)
    t_out, t_tangent = TF.jvp(lambda p: first(TF.functional_call(tm, p, (torch.from_numpy(x),))),
                              ({n: torch.from_numpy(np.array(p.data)) for n, p in zip(names, params)},),
                              (to_torch(dict(zip(names, tangents))),))
    assert_close(out, t_out, "output")
    np.testing.assert_allclose(tangent.data, t_tangent.numpy(), rtol=1e-9, atol=1e-12, err_msg="tangent")


@requires_torch
def test_grad_of_a_dict_of_parameters_as_torch():
    """As functional_call's docstring shows: the gradient of a dict of parameters is a dict."""
    m = rg_mlp()
    tm = mirrored(m, torch_mlp())
    target = np.array([0, 1, 1, 0])
    params = {n: p.detach() for n, p in m.named_parameters()}
    grads = F.grad(lambda p: rg.cross_entropy(F.functional_call(m, p, (rg.tensor(X),)), target))(params)
    t_grads = TF.grad(lambda p: torch.nn.functional.cross_entropy(
        TF.functional_call(tm, p, (torch.from_numpy(X),)), torch.from_numpy(target)))(to_torch(params))
    assert isinstance(grads, dict) and list(grads) == list(t_grads)
    for n in t_grads:
        assert_close(grads[n], t_grads[n], n)
        assert not grads[n].requires_grad
    # a dict beside a Tensor, with argnums as a tuple
    x = rg.tensor(X)
    g_params, g_x = F.grad(lambda p, x: rg.cross_entropy(F.functional_call(m, p, (x,)), target),
                           argnums=(0, 1))(params, x)
    t_g_params, t_g_x = TF.grad(lambda p, x: torch.nn.functional.cross_entropy(
        TF.functional_call(tm, p, (x,)), torch.from_numpy(target)), argnums=(0, 1))(to_torch(params),
                                                                                   torch.from_numpy(X))
    assert_close(g_x, t_g_x, "input gradient")
    for n in t_g_params:
        assert_close(g_params[n], t_g_params[n], n)


@requires_torch
def test_two_values_for_a_tied_weight_are_refused_as_by_torch():
    m = TiedRg()
    tm = tied_torch(m)
    before = snapshot(m)
    w1, w2 = (rg.tensor(np.eye(3) * k) for k in (1.0, 2.0))
    # torch names the tied keys sorted
    with pytest.raises(ValueError, match=r"multiple values for keys \['dec.weight', 'enc.weight'\], which are tied"):
        F.functional_call(m, {"enc.weight": w1, "dec.weight": w2}, (rg.tensor(X),))
    with pytest.raises(ValueError, match="which are tied"):
        TF.functional_call(tm, {"enc.weight": torch.eye(3, dtype=torch.float64),
                                "dec.weight": 2 * torch.eye(3, dtype=torch.float64)}, (torch.from_numpy(X),))
    assert_unchanged(m, before)
    untied = F.functional_call(m, {"enc.weight": w1, "dec.weight": w2}, (rg.tensor(X),), tie_weights=False)
    np.testing.assert_allclose(untied.data, np.tanh(X) @ (2 * np.eye(3)), rtol=RTOL)
