"""rg.utils.checkpoint against torch.utils.checkpoint 2.13, both variants (use_reentrant True/False):
values and gradients (inputs and parameters, float64) equal torch's and the un-checkpointed ones;
several inputs and outputs, non-tensor arguments and keyword arguments, inputs that need no gradient,
dropout recomputed with the same mask, double backward, checkpoint_sequential; what the tape keeps;
the warnings and the refusals."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from op_specs import torch
from retrograd.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential
from torch_compare import paired_modules, same_error, same_grads

R = np.random.default_rng(11)
X = R.standard_normal((4, 3))
BOTH = pytest.mark.parametrize("reentrant", [False, True], ids=["non_reentrant", "reentrant"])


def _mlp():
    """The same small MLP on both sides (float64, torch's weights)."""
    return paired_modules(rg.nn.Sequential(rg.nn.Linear(3, 5), rg.nn.Tanh(), rg.nn.Linear(5, 2)),
                          torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)))


def _close(a, b, tol=1e-12):
    a = a.data if isinstance(a, rg.Tensor) else a
    b = b.detach().numpy() if torch is not None and isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---------------------------------------------------------------- a module, its parameters
@requires_torch
@BOTH
def test_module_gradients_equal_torch_and_uncheckpointed(reentrant):
    ours, theirs = _mlp()
    x, xt = rg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    y = checkpoint(ours, x, use_reentrant=reentrant)
    yt = torch.utils.checkpoint.checkpoint(theirs, xt, use_reentrant=reentrant)
    _close(y, yt)
    assert y.dtype == np.float64 and y.requires_grad
    (y ** 3).sum().backward()
    (yt ** 3).sum().backward()
    _close(x.grad, xt.grad)
    same_grads(ours, theirs, rtol=1e-12)
    checkpointed = [p.grad.data.copy() for p in ours.parameters()] + [x.grad.data.copy()]
    ours.zero_grad()
    x.grad = None
    (ours(x) ** 3).sum().backward()
    for got, want in zip(checkpointed, [p.grad.data for p in ours.parameters()] + [x.grad.data]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@requires_torch
def test_parameters_not_among_args_get_gradients_and_grad_works():
    """Non-reentrant: an input that needs no gradient, the parameters still get theirs, through
    backward() and through rg.autograd.grad (torch's non-reentrant allows both)."""
    ours, theirs = _mlp()
    y = checkpoint(ours, rg.tensor(X), use_reentrant=False)
    yt = torch.utils.checkpoint.checkpoint(theirs, torch.tensor(X), use_reentrant=False)
    assert y.requires_grad and yt.requires_grad
    gs = rg.autograd.grad((y ** 2).sum(), list(ours.parameters()))
    gts = torch.autograd.grad((yt ** 2).sum(), list(theirs.parameters()))
    for g, gt in zip(gs, gts):
        _close(g, gt)
    y = checkpoint(ours, rg.tensor(X), use_reentrant=False)
    (y ** 2).sum().backward()
    for p, g in zip(ours.parameters(), gs):
        _close(p.grad, g.data)


@requires_torch
def test_reentrant_with_no_input_requiring_grad_warns_and_gives_no_gradient():
    ours, theirs = _mlp()
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(ours, rg.tensor(X), use_reentrant=True)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        yt = torch.utils.checkpoint.checkpoint(theirs, torch.tensor(X), use_reentrant=True)
    assert not y.requires_grad and not yt.requires_grad


# ---------------------------------------------------------------- several inputs and outputs, non-tensors
def _fn(lib):
    def f(a, b, scale, c, *, shift=0.0):
        u = lib.tanh(a * b) * scale + shift
        v = (a + c) ** 2
        return u, 3, v.sum(-1), "tag", u * v
    return f


@requires_torch
@pytest.mark.parametrize("reentrant, kwargs", [(False, {"shift": 0.5}), (False, {}), (True, {})],
                         ids=["non_reentrant_kwargs", "non_reentrant", "reentrant"])
def test_several_inputs_outputs_and_non_tensors(reentrant, kwargs):
    a, b, c = R.standard_normal((3, 2, 3))
    rs = [rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True), rg.tensor(c)]  # c: no gradient
    ts = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True), torch.tensor(c)]
    out = checkpoint(_fn(rg), rs[0], rs[1], 2.0, rs[2], use_reentrant=reentrant, **kwargs)
    tout = torch.utils.checkpoint.checkpoint(_fn(torch), ts[0], ts[1], 2.0, ts[2], use_reentrant=reentrant, **kwargs)
    assert out[1] == 3 and out[3] == "tag" and type(out) is tuple
    w = [R.standard_normal(tuple(tout[k].shape)) for k in (0, 2, 4)]
    loss = sum(rg.sum(out[k] * rg.tensor(wk)) for k, wk in zip((0, 2, 4), w))
    tloss = sum((tout[k] * torch.tensor(wk)).sum() for k, wk in zip((0, 2, 4), w))
    for k in (0, 2, 4):
        _close(out[k], tout[k])
    loss.backward()
    tloss.backward()
    _close(rs[0].grad, ts[0].grad)
    _close(rs[1].grad, ts[1].grad)
    assert rs[2].grad is None and ts[2].grad is None


_CLOSURES = {  # how the function reads h, a tensor computed before it and not passed to it
    "kept": lambda lib, a, h: lib.sin(a) * h,         # an op that keeps h's value
    "elementwise": lambda lib, a, h: lib.tanh(h) * a,  # an op that keeps nothing of it
    "add": lambda lib, a, h: (a + h) ** 2,             # nor this one (the gradient has h's shape)
    "indexed": lambda lib, a, h: lib.exp(h[0]) * a,
}


@requires_torch
@pytest.mark.parametrize("use", list(_CLOSURES))
def test_closure_over_an_intermediate_and_double_backward(use):
    """Non-reentrant: the function reads a computed tensor it is not given (h) and also returns its
    input unchanged (returned as it is, as torch does): first and second derivatives equal torch's."""
    grads = []
    for lib, ck, x in [(rg, checkpoint, rg.tensor(X, requires_grad=True)),
                       (torch, torch.utils.checkpoint.checkpoint, torch.tensor(X, requires_grad=True))]:
        h, z = lib.sin(x) * 1.5, x * 2
        y, same = ck(lambda a: (_CLOSURES[use](lib, a, h), a), z, use_reentrant=False)
        assert same is z
        gx, = lib.autograd.grad((y ** 2).sum() + (same ** 3).sum(), x, create_graph=True)
        grads.append((gx, lib.autograd.grad((gx ** 2).sum(), x)[0]))
    (g1, g2), (t1, t2) = grads
    _close(g1, t1, tol=1e-10)
    _close(g2, t2, tol=1e-10)


def test_float32_stays_float32():
    x = rg.tensor(X.astype(np.float32), requires_grad=True)
    lin = rg.nn.Linear(3, 2)
    y = checkpoint(lambda a: rg.tanh(lin(a)), x, use_reentrant=False)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and lin.weight.grad.dtype == np.float32


# ---------------------------------------------------------------- random state, double backward, nesting
@BOTH
def test_dropout_recomputes_the_same_mask(reentrant):
    drop = rg.nn.Dropout(0.5)
    x = rg.tensor(R.standard_normal(400), requires_grad=True)
    rg.manual_seed(5)
    y = checkpoint(lambda a: drop(a) * a, x, use_reentrant=reentrant)
    after_forward = rg.random.get_rng_state()
    y.sum().backward()
    assert rg.random.get_rng_state() == after_forward  # the recomputation leaves the stream where it was
    checkpointed = x.grad.data.copy()
    x.grad = None
    rg.manual_seed(5)
    (drop(x) * x).sum().backward()
    np.testing.assert_array_equal(checkpointed, x.grad.data)
    x.grad = None
    rg.manual_seed(5)
    checkpoint(lambda a: drop(a) * a, x, use_reentrant=reentrant, preserve_rng_state=False).sum().backward()
    assert not np.array_equal(checkpointed, x.grad.data)  # another mask: the gradient is not the forward's


@requires_torch
def test_double_backward_equals_torch():
    ours, theirs = _mlp()
    x, xt = rg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    y = checkpoint(lambda a: ours(rg.sin(a) * a), x, use_reentrant=False)
    yt = torch.utils.checkpoint.checkpoint(lambda a: theirs(a.sin() * a), xt, use_reentrant=False)
    gx, = rg.autograd.grad((y ** 3).sum(), x, create_graph=True)
    gxt, = torch.autograd.grad((yt ** 3).sum(), xt, create_graph=True)
    _close(gx, gxt)
    second = rg.autograd.grad((gx ** 2).sum(), [x] + list(ours.parameters()))
    tsecond = torch.autograd.grad((gxt ** 2).sum(), [xt] + list(theirs.parameters()))
    for g, gt in zip(second, tsecond):
        _close(g, gt, tol=1e-10)


def test_nested_checkpoints_equal_plain_to_second_order():
    lin1, lin2 = rg.nn.Linear(3, 4).double(), rg.nn.Linear(4, 2).double()

    def inner(a):
        return rg.tanh(lin1(a))

    def outer(a, nested):
        return lin2(checkpoint(inner, a, use_reentrant=False) if nested else inner(a)) * a.sum()

    results = []
    for nested in (True, False):
        x = rg.tensor(X, requires_grad=True)
        y = checkpoint(outer, x, True, use_reentrant=False) if nested else outer(x, False)
        gx, = rg.autograd.grad((y ** 2).sum(), x, create_graph=True)
        results.append([gx.data] + [g.data for g in rg.autograd.grad((gx ** 2).sum(), [x, lin1.weight, lin2.weight])])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- what the tape keeps, when it recomputes
class _Counting(rg.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return rg.tanh(x) * 2.0


@BOTH
def test_checkpoint_sequential_recomputes_all_segments_but_the_last(reentrant):
    mods = [_Counting() for _ in range(6)]
    x = rg.tensor(X, requires_grad=True)
    y = checkpoint_sequential(mods, 3, x, use_reentrant=reentrant)
    assert [m.calls for m in mods] == [1] * 6
    y.sum().backward()
    assert [m.calls for m in mods] == [2, 2, 2, 2, 1, 1]


@requires_torch
@BOTH
def test_checkpoint_sequential_equals_torch(reentrant):
    mods = [(rg.nn.Linear(3, 4), torch.nn.Linear(3, 4)), (rg.nn.ReLU(), torch.nn.ReLU()),
            (rg.nn.Linear(4, 4), torch.nn.Linear(4, 4)), (rg.nn.Tanh(), torch.nn.Tanh()),
            (rg.nn.Linear(4, 2), torch.nn.Linear(4, 2))]
    ours, theirs = paired_modules(rg.nn.Sequential(*[m for m, _ in mods]),
                                  torch.nn.Sequential(*[m for _, m in mods]))
    x, xt = rg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    y = checkpoint_sequential(ours, 2, x, use_reentrant=reentrant, preserve_rng_state=False)
    yt = torch.utils.checkpoint.checkpoint_sequential(theirs, 2, xt, use_reentrant=reentrant,
                                                      preserve_rng_state=False)
    _close(y, yt)
    (y ** 2).sum().backward()
    (yt ** 2).sum().backward()
    _close(x.grad, xt.grad)
    same_grads(ours, theirs, rtol=1e-12)


def test_the_tape_keeps_only_the_inputs():
    """Non-reentrant: below the output, the tape keeps the function's input and nothing computed
    inside; the recorded piece is freed."""
    lin = rg.nn.Linear(3, 8).double()
    x = rg.tensor(X, requires_grad=True)
    z = x * 1.0

    def f(a):
        return rg.sigmoid(rg.tanh(lin(a)) ** 2)

    y = checkpoint(f, z, use_reentrant=False)
    kept = rg.graph.saved_arrays(y, exclude_leaves=True)
    assert sum(a.nbytes for a in kept) == z.data.nbytes
    assert rg.graph.saved_nbytes(f(z), exclude_leaves=True) > 4 * z.data.nbytes
    assert [n.name for n in rg.graph.walk(y)] == ["CheckpointBackward", "mul"]


def test_under_no_grad_it_just_runs():
    x = rg.tensor(X, requires_grad=True)
    with rg.no_grad():
        for reentrant in (False, True):
            y = checkpoint(lambda a: a * 2, x, use_reentrant=reentrant)
            assert not y.requires_grad
            np.testing.assert_array_equal(y.data, X * 2)


def test_context_fn_contexts_are_entered_forward_then_recompute():
    seen = []

    @contextlib.contextmanager
    def mark(name):
        seen.append(name)
        yield

    x = rg.tensor(X, requires_grad=True)
    y = checkpoint(rg.sin, x, use_reentrant=False, context_fn=lambda: (mark("forward"), mark("recompute")))
    assert seen == ["forward"]
    y.sum().backward()
    assert seen == ["forward", "recompute"]


# ---------------------------------------------------------------- warnings and refusals
@requires_torch
def test_use_reentrant_not_passed_warns_as_torch():
    x, xt = rg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for ours, theirs in [(lambda: checkpoint(rg.sin, x), lambda: torch.utils.checkpoint.checkpoint(torch.sin, xt)),
                         (lambda: checkpoint_sequential([rg.sin], 1, x),
                          lambda: torch.utils.checkpoint.checkpoint_sequential([torch.sin], 1, xt))]:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            y = ours()
        with warnings.catch_warnings(record=True) as want:
            warnings.simplefilter("always")
            theirs()
        assert [w.category for w in got] == [w.category for w in want] == [UserWarning]
        assert "the use_reentrant parameter should be passed explicitly" in str(got[0].message)
        assert got[0].filename == __file__  # points at the caller
    assert y.requires_grad  # the default is the reentrant variant


@requires_torch
@pytest.mark.parametrize("case", ["reentrant_kwargs", "reentrant_context_fn", "reentrant_debug",
                                  "bad_determinism_check", "debug_with_context_fn", "sequential_kwargs"])
def test_refusals_as_torch(case):
    x, xt = rg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)

    def call(lib, ck, seq, a):
        f = (lambda t, s=1.0: t * s)
        if case == "reentrant_kwargs":
            return ck(f, a, use_reentrant=True, s=2.0)
        if case == "reentrant_context_fn":
            return ck(f, a, use_reentrant=True, context_fn=lambda: (contextlib.nullcontext(),) * 2)
        if case == "reentrant_debug":
            return ck(f, a, use_reentrant=True, debug=True)
        if case == "bad_determinism_check":
            return ck(f, a, use_reentrant=False, determinism_check="always")
        if case == "debug_with_context_fn":
            return ck(f, a, use_reentrant=False, debug=True, context_fn=lambda: (contextlib.nullcontext(),) * 2)
        return seq([f], 1, a, use_reentrant=False, foo=1)

    match = {"reentrant_kwargs": "Unexpected keyword arguments: s", "sequential_kwargs": "Unexpected keyword",
             "bad_determinism_check": "determinism_check should be one of", "debug_with_context_fn": "debug=True",
             }.get(case, "only supported when use_reentrant=False")
    same_error(lambda: call(rg, checkpoint, checkpoint_sequential, x),
               lambda: call(torch, torch.utils.checkpoint.checkpoint, torch.utils.checkpoint.checkpoint_sequential,
                            xt), match=match)


@requires_torch
@pytest.mark.parametrize("how", ["grad", "backward_inputs"])
def test_reentrant_refuses_grad_and_backward_inputs(how):
    def run(lib, ck, a):
        y = ck(lambda t: t * t, a, use_reentrant=True)
        if how == "grad":
            return lib.autograd.grad(y.sum(), a)
        return y.sum().backward(inputs=[a])

    same_error(lambda: run(rg, checkpoint, rg.tensor(X, requires_grad=True)),
               lambda: run(torch, torch.utils.checkpoint.checkpoint, torch.tensor(X, requires_grad=True)),
               match="use_reentrant=True, torch.utils.checkpoint is incompatible with .grad()")


@requires_torch
def test_reentrant_output_without_gradient_is_refused_in_backward():
    def run(lib, ck, tensor):
        a, b = tensor(X), tensor(X, requires_grad=True)
        ck(lambda s, t: s, a, b, use_reentrant=True).sum().backward()

    same_error(lambda: run(rg, checkpoint, rg.tensor), lambda: run(torch, torch.utils.checkpoint.checkpoint,
                                                                   torch.tensor),
               match="none of output has requires_grad=True")


@requires_torch
@BOTH
def test_second_backward_needs_retain_graph(reentrant):
    def run(ck, x, g):
        y = ck(lambda t: t.sin() * t, x, use_reentrant=reentrant)
        y.backward(g, retain_graph=True)
        y.backward(g)
        return lambda: y.backward(g)

    g = R.standard_normal(X.shape)
    x, xt = rg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    again, tagain = run(checkpoint, x, rg.tensor(g)), run(torch.utils.checkpoint.checkpoint, xt, torch.tensor(g))
    _close(x.grad, xt.grad)
    same_error(again, tagain, match="backward through the graph a second time")


@requires_torch
@BOTH
def test_argument_modified_in_place_before_backward_is_refused(reentrant):
    def run(lib, ck, tensor):
        z = tensor(X, requires_grad=True) * 1.0
        y = ck(lambda t: t.sin().sum(), z, use_reentrant=reentrant)
        with lib.no_grad():
            z.mul_(2.0)
        y.backward()

    same_error(lambda: run(rg, checkpoint, rg.tensor),
               lambda: run(torch, torch.utils.checkpoint.checkpoint, torch.tensor), match="modified by an inplace")


def test_parameter_modified_in_place_before_backward_is_refused():
    """Non-reentrant keeps the parameters it read as inputs of its op, so updating one before the
    backward pass is refused (torch recomputes with the new values without a word)."""
    lin = rg.nn.Linear(3, 2).double()
    y = checkpoint(lambda t: lin(t).sum(), rg.tensor(X, requires_grad=True), use_reentrant=False)
    with rg.no_grad():
        lin.weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        y.backward()


@pytest.mark.parametrize("debug", [False, True])
def test_recomputation_of_another_shape_is_a_checkpoint_error(debug):
    calls = []

    def f(a):
        calls.append(1)
        return rg.sin(a if len(calls) == 1 else a[:2])

    y = checkpoint(f, rg.tensor(X, requires_grad=True), use_reentrant=False, debug=debug)
    with pytest.raises(CheckpointError, match="different metadata") as info:
        y.sum().backward()
    assert isinstance(info.value, RuntimeError)
    assert ("ops recorded in the recomputation (latest first): ['sin', 'getitem']" in str(info.value)) == debug


def test_recomputation_reading_another_tensor_is_a_checkpoint_error():
    weights = [rg.tensor(X, requires_grad=True)]
    y = checkpoint(lambda a: a * weights[0], rg.tensor(X, requires_grad=True), use_reentrant=False)
    weights[0] = rg.tensor(X, requires_grad=True)
    with pytest.raises(CheckpointError, match="did not read"):
        y.sum().backward()


@requires_torch
def test_a_forward_context_that_swallows_the_error_is_refused():
    class Swallow:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return True

    def run(ck, x):
        return ck(lambda a: 1 / 0, x, use_reentrant=False, context_fn=lambda: (Swallow(), contextlib.nullcontext()))

    same_error(lambda: run(checkpoint, rg.tensor(X, requires_grad=True)),
               lambda: run(torch.utils.checkpoint.checkpoint, torch.tensor(X, requires_grad=True)),
               match="suppressed an exception")


@pytest.mark.parametrize("segments, error", [(0, ZeroDivisionError), (7, ValueError)])
def test_checkpoint_sequential_segment_counts(segments, error):
    with pytest.raises(error, match="checkpoint_sequential"):
        checkpoint_sequential([rg.sin] * 6, segments, rg.tensor(X, requires_grad=True), use_reentrant=False)


def test_forward_mode_through_a_checkpoint_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="forward-mode AD .* not supported"):
        rg.func.jvp(lambda a: checkpoint(rg.sin, a, use_reentrant=False), (rg.tensor(X),), (rg.tensor(X),))
