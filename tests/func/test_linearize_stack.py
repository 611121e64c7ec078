"""``rg.func.linearize`` and ``rg.func.stack_module_state`` against torch.func's: the
linearized function's tangents equal ``torch.func.linearize``'s (and ``rg.func.jvp``'s) for
several tangents of one recording, its refusals are torch's, composition with an outer
``grad``; stacked module state has torch's shapes, leaf/grad flags and errors, and an
ensemble run through ``vmap`` + ``functional_call`` equals the models one by one."""

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
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = TF = None

RTOL, ATOL = 1e-10, 1e-12

FUNCTIONS = {  # name: (retrograd f, torch f, primal shapes)
    "sin": (lambda x: x.sin(), lambda x: x.sin(), [(4,)]),
    "product": (lambda x, y: x * y + x.exp(), lambda x, y: x * y + x.exp(), [(3,), (3,)]),
    "matmul-tanh": (lambda a, b: (a @ b).tanh(), lambda a, b: (a @ b).tanh(), [(2, 3), (3, 4)]),
    "tree-out": (lambda x: (x.sum(), {"sq": x * x}), lambda x: (x.sum(), {"sq": x * x}), [(2, 2)]),
    "broadcast": (lambda x, y: (x[:, None] - y).pow(2).mean(0), lambda x, y: (x[:, None] - y).pow(2).mean(0),
                  [(3,), (5,)]),
}


def _np(t):
    return t.detach().numpy() if torch is not None and isinstance(t, torch.Tensor) else np.asarray(t.data)


def _same(ours, theirs):
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
    else:
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=RTOL, atol=ATOL)


@requires_torch
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_linearize_matches_torch_for_several_tangents(name):
    f_rg, f_torch, shapes = FUNCTIONS[name]
    rng = np.random.default_rng(0)
    primals = [rng.standard_normal(s) for s in shapes]
    out, jvp_fn = F.linearize(f_rg, *(rg.tensor(p) for p in primals))
    t_out, t_jvp_fn = TF.linearize(f_torch, *(torch.tensor(p) for p in primals))
    _same(out, t_out)
    for _ in range(3):  # one recording, many tangents
        tangents = [rng.standard_normal(s) for s in shapes]
        ours = jvp_fn(*(rg.tensor(t) for t in tangents))
        _same(ours, t_jvp_fn(*(torch.tensor(t) for t in tangents)))
        _, direct = F.jvp(f_rg, tuple(rg.tensor(p) for p in primals), tuple(rg.tensor(t) for t in tangents))
        _same(ours, direct)


def test_linearize_runs_func_once():
    calls = []

    def f(x):
        calls.append(1)
        return x.exp()

    x = rg.tensor(np.arange(3.0))
    _, jvp_fn = F.linearize(f, x)
    for k in range(3):
        np.testing.assert_allclose(jvp_fn(rg.ones(3, dtype=np.float64) * k).data, k * np.exp(np.arange(3.0)))
    assert len(calls) == 1


def test_linearize_outputs_off_the_tape_unless_something_outside_requires_grad():
    x = rg.tensor(np.array([0.5, -1.0]))
    out, jvp_fn = F.linearize(lambda x: x.exp(), x)
    assert not out.requires_grad and not jvp_fn(rg.ones(2, dtype=np.float64)).requires_grad
    w = rg.tensor(np.array([2.0, 3.0]), requires_grad=True)
    out, jvp_fn = F.linearize(lambda x: x * w, x)
    t = jvp_fn(rg.ones(2, dtype=np.float64))
    assert out.requires_grad and t.requires_grad
    t.sum().backward()  # d/dw Σ (1·w) = 1
    np.testing.assert_allclose(w.grad.data, [1.0, 1.0])


def test_linearize_under_grad_is_a_hessian_vector_product():
    x0 = np.array([0.3, -0.7, 1.1])
    v = np.array([1.0, 2.0, -1.0])

    def f(x):
        return (x.sin() * x).sum()

    _, hvp = F.linearize(F.grad(f), rg.tensor(x0))
    x = torch.tensor(x0) if torch is not None else None
    if x is None:
        pytest.skip("torch not installed")
    h = torch.autograd.functional.hessian(lambda x: (x.sin() * x).sum(), x)
    np.testing.assert_allclose(hvp(rg.tensor(v)).data, (h @ torch.tensor(v)).numpy(), rtol=RTOL, atol=ATOL)


@requires_torch
@pytest.mark.parametrize("bad", ["shape", "dtype", "structure", "nested"])
def test_linearize_refusals_are_torchs(bad):
    x = np.arange(3.0)
    _, jvp_fn = F.linearize(lambda x: x.sin(), rg.tensor(x))
    _, t_jvp_fn = TF.linearize(lambda x: x.sin(), torch.tensor(x))
    args = {"shape": ((np.ones(4),), "shape"), "dtype": ((np.ones(3, np.float32),), "dtype"),
            "structure": ((np.ones(3), np.ones(3)), "structure"), "nested": (((np.ones(3),),), "structure")}
    given, phrase = args[bad]

    def wrap(lib, v):
        return tuple(wrap(lib, e) for e in v) if isinstance(v, tuple) else lib.tensor(v)

    with pytest.raises(RuntimeError):
        t_jvp_fn(*wrap(torch, given))
    with pytest.raises(RuntimeError, match=phrase):
        jvp_fn(*wrap(rg, given))


def test_linearize_refuses_integer_primals_and_non_tensor_outputs():
    with pytest.raises(ValueError, match="floating point"):
        F.linearize(lambda x: x * 2, rg.tensor(np.arange(3)))
    with pytest.raises(RuntimeError, match="only tensors"):
        F.linearize(lambda x: 3.0, rg.tensor(np.arange(3.0)))
    with pytest.raises(RuntimeError, match="at least one Tensor"):
        F.linearize(lambda: rg.ones(2))


# ---------------------------------------------------------------- stack_module_state
def _pair(make):
    rg.manual_seed(0)
    return make(), make()


@requires_torch
@pytest.mark.parametrize("kind", ["linear", "batchnorm"])
def test_stack_module_state_shapes_and_flags_match_torch(kind):
    makers = {"linear": (lambda: nn.Linear(2, 3), lambda: torch.nn.Linear(2, 3)),
              "batchnorm": (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3))}
    ours_models = _pair(makers[kind][0])
    theirs_models = (makers[kind][1](), makers[kind][1]())
    params, buffers = F.stack_module_state(ours_models)
    t_params, t_buffers = TF.stack_module_state(theirs_models)
    for mine, theirs in ((params, t_params), (buffers, t_buffers)):
        assert list(mine) == list(theirs)
        for k in theirs:
            assert tuple(mine[k].shape) == tuple(theirs[k].shape)
            assert mine[k].requires_grad == theirs[k].requires_grad
            assert mine[k].is_leaf == theirs[k].is_leaf
    for k, p in params.items():  # entry i is model i's
        for i, m in enumerate(ours_models):
            np.testing.assert_array_equal(p.data[i], dict(m.named_parameters())[k].data)


def test_stack_module_state_copies_and_keeps_frozen_parameters_frozen():
    a, b = _pair(lambda: nn.Linear(2, 3))
    params, _ = F.stack_module_state([a, b])
    params["weight"].data[0] += 1.0
    assert not np.array_equal(params["weight"].data[0], a.weight.data)
    a.weight.requires_grad_(False)
    b.weight.requires_grad_(False)
    params, _ = F.stack_module_state([a, b])
    assert not params["weight"].requires_grad and params["bias"].requires_grad


@requires_torch
@pytest.mark.parametrize("case", ["empty", "classes", "modes", "requires_grad"])
def test_stack_module_state_errors_are_torchs(case):
    def build(lib_nn):
        a, b = lib_nn.Linear(2, 3), lib_nn.Linear(2, 3)
        if case == "empty":
            return []
        if case == "classes":
            return [a, lib_nn.Tanh()]
        if case == "modes":
            b.eval()
        if case == "requires_grad":
            b.weight.requires_grad_(False)
        return [a, b]

    with pytest.raises(RuntimeError) as theirs:
        TF.stack_module_state(build(torch.nn))
    with pytest.raises(RuntimeError) as ours:
        F.stack_module_state(build(nn))
    assert str(ours.value) == str(theirs.value)


def test_an_ensemble_through_vmap_equals_each_model():
    models = [nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double() for _ in range(3)]
    params, buffers = F.stack_module_state(models)
    x = rg.tensor(np.random.default_rng(1).standard_normal((5, 3)))
    base = models[0]

    def one(p, b, x):
        return F.functional_call(base, (p, b), (x,))

    ys = F.vmap(one, in_dims=(0, 0, None))(params, buffers, x)
    for i, m in enumerate(models):
        np.testing.assert_allclose(ys.data[i], m(x).data, rtol=RTOL, atol=ATOL)


@requires_torch
def test_replace_all_batch_norm_modules_as_torch():
    """Running statistics dropped and track_running_stats off in every batch norm, the root included;
    the state_dict keys and the eval-mode output (the batch's own statistics) equal torch's."""
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.BatchNorm1d(4))).double()
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                             torch.nn.Sequential(torch.nn.BatchNorm1d(4))).double()
    assert F.replace_all_batch_norm_modules_(m) is m
    TF.replace_all_batch_norm_modules_(tm)
    for bn in (m[1], m[2][0]):
        assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
        assert bn.track_running_stats is False
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    m.eval(), tm.eval()
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(m(rg.tensor(x)).data, tm(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    single = nn.BatchNorm1d(2)
    F.replace_all_batch_norm_modules_(single)
    assert single.running_mean is None
