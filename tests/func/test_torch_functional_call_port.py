"""PyTorch's own functional_call tests (test/test_stateless.py, TestStatelessFunctionalAPI, and
functorch's stack_module_state tests) ported: the same module built in both libraries, the same
replacements, compared for the outputs, the module left unchanged, the caller's dict written
back, and the exception type with the message torch's test matches.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import retrograd as rg
from retrograd import func as F

torch = pytest.importorskip("torch")
import torch.func as TF  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("float64_default", "torch_float64_default")]
LIBS = ((rg, F), (torch, TF))



def T(L, a):
    return rg.tensor(np.array(a, dtype=np.float64)) if L is rg else torch.tensor(a, dtype=torch.float64)


def _np(t):
    return np.asarray(t.data) if isinstance(t, rg.Tensor) else t.detach().numpy()


def mock_module(L, tied=False):
    """torch's MockModule (``l1 = Linear(1, 1)``, a buffer of ones, a float attribute ``foo``) or
    MockTiedModule (``tied_bias`` the same Parameter as ``l1.bias``, ``tied_buffer`` the buffer)."""
    class Mock(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = L.nn.Linear(1, 1)
            self.register_buffer("buffer", T(L, [1.0]))
            if tied:
                self.tied_bias = self.l1.bias
                self.register_buffer("tied_buffer", self.buffer)
            else:
                self.foo = 0.0

        def forward(self, x):
            out = self.l1(x) + self.buffer
            return out + self.tied_bias + self.tied_buffer if tied else out

    m = Mock().double()
    if L is rg:
        m.l1.weight.data[...] = 0.25  # the same starting weights in both
        m.l1.bias.data[...] = -0.5
    else:
        with torch.no_grad():
            m.l1.weight.fill_(0.25)
            m.l1.bias.fill_(-0.5)
    return m


def state(m):
    """(name, object, value) of every parameter and buffer: to show a call left them as they were."""
    return [(n, t, _np(t).copy()) for n, t in list(m.named_parameters()) + list(m.named_buffers())]


def assert_unchanged(m, before):
    after = state(m)
    assert [n for n, _, _ in after] == [n for n, _, _ in before]
    for (_, t1, v1), (_, t2, _) in zip(before, after):
        assert t1 is t2
        np.testing.assert_array_equal(_np(t2), v1)


def both(case):
    """``case(L, fc, m)`` with a fresh MockModule of each library: (ours, theirs), each module
    checked unchanged after the call."""
    results = []
    for L, fn in LIBS:
        m = mock_module(L)
        before = state(m)
        results.append(case(L, fn.functional_call, m))
        assert_unchanged(m, before)
    return results


def same_values(ours, theirs):
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-12, atol=1e-14)


def refused_as_torch(case, phrase, tied=False):
    """torch raises with ``phrase`` (escaped literally); ours raises its type with the phrase, with
    ``Tensor`` for ``torch.Tensor``; both modules are left unchanged."""
    with pytest.raises(Exception) as theirs:
        m = mock_module(torch, tied)
        before = state(m)
        try:
            case(torch, TF.functional_call, m)
        finally:
            assert_unchanged(m, before)
    assert re.search(phrase, str(theirs.value)), str(theirs.value)
    m = mock_module(rg, tied)
    before = state(m)
    with pytest.raises(type(theirs.value), match=phrase.replace("torch\\.Tensor", "Tensor")):
        case(rg, F.functional_call, m)
    assert_unchanged(m, before)


X = [[0.7]]


# ---------------------------------------------------------------- test_stateless.py
def test_functional_call_identity_parameters():
    ours, theirs = both(lambda L, fc, m: fc(m, {"l1.weight": T(L, [[1.0]]), "l1.bias": T(L, [0.0]),
                                                "buffer": T(L, [0.0])}, T(L, X)))
    same_values(ours, theirs)
    np.testing.assert_allclose(_np(ours), X)


def test_functional_call_with_gradient():
    for L, fn in LIBS:
        m = mock_module(L)
        w, b, buf = T(L, [[1.0]]).requires_grad_(), T(L, [0.0]).requires_grad_(), T(L, [0.0])
        fn.functional_call(m, {"l1.weight": w, "l1.bias": b, "buffer": buf}, T(L, X)).sum().backward()
        np.testing.assert_allclose(_np(w.grad), X)
        np.testing.assert_allclose(_np(b.grad), [1.0])
        assert buf.grad is None and m.l1.weight.grad is None and m.l1.bias.grad is None and m.buffer.grad is None


def test_a_non_leaf_replacement_passes_its_gradient_back():
    """A replaced parameter computed from another tensor: the gradient reaches that tensor."""
    grads = []
    for L, fn in LIBS:
        m = mock_module(L)
        base = T(L, [[1.5]]).requires_grad_()
        out = fn.functional_call(m, {"l1.weight": base * base}, T(L, X))
        (out * out).sum().backward()
        grads.append(_np(base.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_functional_batch_norm_updates_the_given_buffer_not_the_modules():
    for L, fn in LIBS:
        m = L.nn.BatchNorm1d(10).double()
        m.train()
        x = T(L, np.full((20, 10), 128.0))
        rm = T(L, np.zeros(10))
        fn.functional_call(m, {"running_mean": rm}, x)
        np.testing.assert_allclose(_np(m.running_mean), np.zeros(10))
        np.testing.assert_allclose(_np(rm), np.full(10, 12.8))
        fn.functional_call(m, {}, x)
        np.testing.assert_allclose(_np(m.running_mean), np.full(10, 12.8))


def test_circular_references_untied():
    def case(L, fc, m):
        m.l1.m = m  # the module holds itself: names through the cycle resolve
        return fc(m, {"l1.m.l1.weight": T(L, [[1.0]]), "l1.bias": T(L, [0.0]), "l1.m.buffer": T(L, [0.0])},
                  T(L, X), tie_weights=False)
    ours, theirs = both(case)
    same_values(ours, theirs)
    np.testing.assert_allclose(_np(ours), X)


def test_reparametrize_some_weights_and_an_unknown_name():
    for extra in ({}, {"extra": 1}):
        ours, theirs = both(lambda L, fc, m: fc(m, {"l1.weight": T(L, [[2.0]]),
                                                    **{k: T(L, [1.0]) for k in extra}}, T(L, X)))
        same_values(ours, theirs)


STRICT = {
    "missing": ({"l1.weight": [[2.0]]}, re.escape("Missing key(s): 'buffer', 'l1.bias'.")),
    "unexpected": ({"l1.weight": [[2.0]], "l1.bias": [5.0], "buffer": [3.0], "extra": [1.0]},
                   re.escape("Unexpected key(s): 'extra'.")),
    "both": ({"l1.weight": [[2.0]], "extra": [1.0]},
             re.escape("Unexpected key(s): 'extra'.") + r"\s+" + re.escape("Missing key(s): 'buffer', 'l1.bias'.")),
}


@pytest.mark.parametrize("case", sorted(STRICT))
def test_strict(case):
    given, phrase = STRICT[case]
    refused_as_torch(lambda L, fc, m: fc(m, {k: T(L, v) for k, v in given.items()}, T(L, X), strict=True), phrase)


def test_strict_with_every_key():
    ours, theirs = both(lambda L, fc, m: fc(m, {"l1.weight": T(L, [[2.0]]), "l1.bias": T(L, [5.0]),
                                                "buffer": T(L, [3.0])}, T(L, X), strict=True))
    same_values(ours, theirs)


def test_reparametrize_special_values():
    class NonTensor:
        def __repr__(self):
            return f"<{self.__class__.__name__}>"

    ours, theirs = both(lambda L, fc, m: fc(m, {"l1.weight": T(L, [[2.0]]), "l1.bias": None,
                                                "buffer": T(L, [3.0])}, T(L, X)))
    same_values(ours, theirs)
    refused_as_torch(lambda L, fc, m: fc(m, {"l1.weight": NonTensor()}, T(L, X)),
                     re.escape("<NonTensor> is not an instance of torch.Tensor"))
    refused_as_torch(lambda L, fc, m: fc(m, {"l1.weight": T(L, [[2.0]]), "foo": T(L, [1.0])}, T(L, X)),
                     re.escape("attribute `foo`: 0.0 is not an instance of torch.Tensor"))
    refused_as_torch(lambda L, fc, m: fc(m, {"l1.weight": T(L, [[2.0]]), "l2.bias": T(L, [5.0])}, T(L, X)),
                     re.escape("Mock has no attribute `l2`"))


def tied_call(values, **kw):
    return lambda L, fc, m: fc(m, {k: v if not isinstance(v, list) else T(L, v) for k, v in values.items()},
                               T(L, X), **kw)


def run_tied(case):
    results = []
    for L, fn in LIBS:
        m = mock_module(L, tied=True)
        before = state(m)
        results.append(case(L, fn.functional_call, m))
        assert_unchanged(m, before)
    same_values(*results)
    return results[0]


def test_tie_weights():
    full = {"l1.weight": [[2.0]], "l1.bias": [5.0], "buffer": [3.0]}
    want = 0.7 * 2 + 5 + 5 + 3 + 3
    np.testing.assert_allclose(_np(run_tied(tied_call(full, tie_weights=True))), [[want]])
    np.testing.assert_allclose(_np(run_tied(tied_call({**full, "extra": [1.0]}, tie_weights=True))), [[want]])
    some = run_tied(tied_call({"l1.weight": [[2.0]], "buffer": [3.0]}, tie_weights=True))
    np.testing.assert_allclose(_np(some), [[0.7 * 2 - 0.5 - 0.5 + 3 + 3]])
    np.testing.assert_allclose(_np(run_tied(tied_call(full, tie_weights=True, strict=True))), [[want]])


def test_tied_weights_errors_and_untied_values():
    def same_object(L, fc, m):
        bias, buffer = T(L, [0.0]), T(L, [0.0])
        return fc(m, {"l1.weight": T(L, [[1.0]]), "l1.bias": bias, "buffer": buffer, "tied_bias": bias,
                      "tied_buffer": buffer}, T(L, X))
    run_tied(same_object)  # one value under both tied names: no error
    base = {"l1.weight": [[1.0]], "l1.bias": [0.0], "buffer": [0.0]}
    for extra, keys in (("tied_bias", "['l1.bias', 'tied_bias']"), ("tied_buffer", "['buffer', 'tied_buffer']")):
        refused_as_torch(tied_call({**base, extra: [5.0]}, tie_weights=True),
                         re.escape(f"functional_call got multiple values for keys {keys}"), tied=True)
        run_tied(tied_call({**base, extra: [5.0]}, tie_weights=False))  # untied: each name its own value


TIED_STRICT = [
    ({"l1.weight": [[2.0]], "l1.bias": [5.0], "buffer": [3.0]}, False,
     re.escape("Missing key(s): 'tied_bias', 'tied_buffer'.")),
    ({"l1.weight": [[2.0]], "buffer": [3.0]}, True, re.escape("Missing key(s): 'l1.bias', 'tied_bias'.")),
    ({"l1.weight": [[2.0]], "l1.bias": [5.0], "buffer": [3.0], "extra": [1.0]}, True,
     re.escape("Unexpected key(s): 'extra'.")),
    ({"l1.weight": [[2.0]], "l1.bias": [5.0], "buffer": [3.0], "extra": [1.0]}, False,
     re.escape("Unexpected key(s): 'extra'.") + r"\s+" + re.escape("Missing key(s): 'tied_bias', 'tied_buffer'.")),
    ({"l1.weight": [[2.0]], "buffer": [3.0], "extra": [1.0]}, True,
     re.escape("Unexpected key(s): 'extra'.") + r"\s+" + re.escape("Missing key(s): 'l1.bias', 'tied_bias'.")),
]


@pytest.mark.parametrize("values,tie,phrase", TIED_STRICT)
def test_tie_weights_strict(values, tie, phrase):
    refused_as_torch(tied_call(values, tie_weights=tie, strict=True), phrase, tied=True)


def _foo_module(L, forward):
    class Foo(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("foo", T(L, [0.0]))

    Foo.forward = forward
    return Foo()


def test_setattr_in_forward_is_written_back_to_the_callers_dict():
    def forward(self, x):
        self.foo = self.foo + 1
        return x + self.foo
    for L, fn in LIBS:
        foo = T(L, [2.0])
        a = {"foo": foo}
        mod = _foo_module(L, forward)
        fn.functional_call(mod, a, T(L, [0.5]))
        np.testing.assert_array_equal(_np(mod.foo), [0.0])
        np.testing.assert_array_equal(_np(a["foo"]), [3.0])
        np.testing.assert_array_equal(_np(foo), [2.0])
        assert a["foo"] is not foo


def test_in_place_operator_changes_the_given_tensor():
    def forward(self, x):
        self.foo.add_(1)
        return x + self.foo
    for L, fn in LIBS:
        foo = T(L, [2.0])
        a = {"foo": foo}
        mod = _foo_module(L, forward)
        fn.functional_call(mod, a, T(L, [0.5]))
        np.testing.assert_array_equal(_np(mod.foo), [0.0])
        np.testing.assert_array_equal(_np(foo), [3.0])
        assert a["foo"] is foo


def test_setattr_strict_a_name_the_module_lacks():
    """A name the module has no attribute for is set for the call and removed after (without
    strict); strict refuses it; with no value the forward's read fails as Python's does."""
    for L, fn in LIBS:
        class Bar(L.nn.Module):
            def forward(self, x):
                return x + self.extra
        mod = Bar()
        out = fn.functional_call(mod, {"extra": T(L, 0.0)}, T(L, 1.0))
        np.testing.assert_array_equal(_np(out), 1.0)
        assert not hasattr(mod, "extra")
        with pytest.raises(RuntimeError, match=re.escape("Unexpected key(s): 'extra'.")):
            fn.functional_call(mod, {"extra": T(L, 0.0)}, T(L, 1.0), strict=True)
        assert not hasattr(mod, "extra")
        for strict in (False, True):
            with pytest.raises(AttributeError, match="object has no attribute 'extra'"):
                fn.functional_call(mod, {}, T(L, 1.0), strict=strict)
            assert not hasattr(mod, "extra")


def test_functional_call_with_kwargs_and_a_tensor_attribute():
    outs = []
    for L, fn in LIBS:
        class Foo(L.nn.Module):
            def __init__(self, x):
                super().__init__()
                self.x = x  # a plain Tensor attribute: replaced too

            def forward(self, inp, *, other_inp):
                return inp * self.x + other_inp

        a = {"x": T(L, np.zeros((2, 3)))}
        mod = Foo(T(L, np.ones((2, 3))))
        inp, other = T(L, np.full((2, 3), 2.0)), T(L, np.full((2, 3), 3.0))
        with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'other_inp'"):
            fn.functional_call(mod, a, inp)
        res = fn.functional_call(mod, a, inp, {"other_inp": other})
        np.testing.assert_array_equal(_np(res), _np(other))
        for r in (fn.functional_call(mod, a, (), {"inp": inp, "other_inp": other}),
                  fn.functional_call(mod, a, kwargs={"inp": inp, "other_inp": other})):
            np.testing.assert_array_equal(_np(r), _np(res))
        np.testing.assert_array_equal(_np(mod.x), np.ones((2, 3)))
        outs.append(res)
    same_values(*outs)


def test_tuple_of_dicts():
    for L, fn in LIBS:
        mod = mock_module(L)
        x = T(L, X)
        params = {k: T(L, np.ones(v.shape)) for k, v in mod.named_parameters()}
        buffers = {k: T(L, np.zeros(v.shape)) for k, v in mod.named_buffers()}
        np.testing.assert_allclose(_np(fn.functional_call(mod, (params, buffers), x)), np.array(X) + 1)
        np.testing.assert_allclose(_np(fn.functional_call(mod, (), x)), _np(mod(x)))
        three = ({"l1.weight": T(L, [[1.0]])}, {"l1.bias": T(L, [1.0])}, {"buffer": T(L, [0.0])})
        np.testing.assert_allclose(_np(fn.functional_call(mod, three, x)), np.array(X) + 1)


def test_multiple_dicts_errors():
    phrase = re.escape("['l1.weight'] appeared in multiple dictionaries")
    refused_as_torch(lambda L, fc, m: fc(m, ({"l1.weight": T(L, [[0.0]]), "l1.bias": T(L, [0.0])},
                                             {"l1.weight": T(L, [[1.0]])}), T(L, X)), phrase)
    refused_as_torch(lambda L, fc, m: fc(m, ({"l1.weight": T(L, [[0.0]])}, 3), T(L, X)),
                     "Expected all elements of parameter_and_buffer_dicts to be dictionaries")
    refused_as_torch(lambda L, fc, m: fc(m, 3, T(L, X)), "Expected parameter_and_buffer_dicts to be a dict")


def test_member_reference():
    """Inside the call ``parameters()`` and ``buffers()`` yield the given tensors themselves; a
    Parameter under an unknown name joins them, a plain tensor does not, None is skipped."""
    for L, fn in LIBS:
        class Module(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.l1 = L.nn.Linear(1, 1)
                self.register_buffer("buffer", T(L, [1.0]))

            def forward(self, x):
                return self.l1(x) + self.buffer, tuple(self.parameters()), tuple(self.buffers())

        module = Module().double()
        weight, bias, buffer = T(L, [[2.0]]), T(L, [5.0]), T(L, [3.0])
        extra_p = L.nn.Parameter(T(L, [1.0]))
        cases = [({"l1.weight": weight, "l1.bias": bias, "buffer": buffer}, (weight, bias), (buffer,)),
                 ({"l1.weight": weight}, (weight, module.l1.bias), (module.buffer,)),
                 ({"l1.weight": weight, "l1.bias": bias, "buffer": buffer, "l1.extra": T(L, [1.0])},
                  (weight, bias), (buffer,)),
                 ({"l1.weight": weight, "l1.bias": bias, "buffer": buffer, "l1.extra": extra_p},
                  (weight, bias, extra_p), (buffer,)),
                 ({"l1.weight": weight, "l1.bias": None}, (weight,), (module.buffer,))]
        for given, params, buffers in cases:
            _, got_params, got_buffers = fn.functional_call(module, given, T(L, X))
            assert len(got_params) == len(params) and all(a is b for a, b in zip(got_params, params))
            assert len(got_buffers) == len(buffers) and all(a is b for a, b in zip(got_buffers, buffers))
        assert not hasattr(module.l1, "extra") and len(tuple(module.parameters())) == 2


def test_the_module_is_restored_when_the_call_raises():
    for L, fn in LIBS:
        m = mock_module(L)
        before = state(m)
        with pytest.raises(Exception):
            fn.functional_call(m, {"l1.weight": T(L, [[1.0]]), "buffer": T(L, [0.0])}, T(L, np.ones((4, 5))))
        assert_unchanged(m, before)


# ---------------------------------------------------------------- functorch: stack_module_state
def _models(L, n=3, cls=None):
    L.manual_seed(0)
    return [(cls or (lambda: L.nn.Sequential(L.nn.Linear(3, 4), L.nn.BatchNorm1d(4))))().double() for _ in range(n)]


def test_stack_module_state_shapes_flags_and_an_ensemble_through_vmap():
    got = []
    for L, fn in LIBS:
        models = _models(L)
        params, buffers = fn.stack_module_state(models)
        got.append((params, buffers, models))
    (p_rg, b_rg, m_rg), (p_t, b_t, m_t) = got
    assert list(p_rg) == list(p_t) and list(b_rg) == list(b_t)
    for ours, theirs in ((p_rg, p_t), (b_rg, b_t)):
        for k in theirs:
            assert tuple(ours[k].shape) == tuple(theirs[k].shape) and _np(ours[k]).dtype == _np(theirs[k]).dtype
            assert (ours[k].requires_grad, ours[k].grad_fn is None) == (theirs[k].requires_grad, theirs[k].grad_fn is None)
    # the ensemble: one functional_call per model, mapped over the stacked state
    x = np.random.default_rng(0).standard_normal((5, 3))
    for (params, buffers, models), (L, fn) in zip(got, LIBS):
        for m in models:
            m.eval()
        base = models[0]
        out = fn.vmap(lambda p, b, x: fn.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
            params, buffers, T(L, x))
        want = np.stack([_np(m(T(L, x))) for m in models])
        np.testing.assert_allclose(_np(out), want, rtol=1e-12)
        assert tuple(out.shape) == (3, 5, 4)


def test_stack_module_state_errors():
    for L, fn in LIBS:
        with pytest.raises(RuntimeError, match="stack_module_state:.* Expected at least one model"):
            fn.stack_module_state([])
        models = [L.nn.Linear(2, 2) for _ in range(3)]
        models[1].eval()
        with pytest.raises(RuntimeError, match="stack_module_state:.* same training/eval mode."):
            fn.stack_module_state(models)
        with pytest.raises(RuntimeError, match="stack_module_state:.* models to be of the same class"):
            fn.stack_module_state([L.nn.Linear(2, 2), L.nn.Tanh()])
        models = [L.nn.Linear(2, 2) for _ in range(3)]
        models[0].weight.requires_grad_(False)
        with pytest.raises(RuntimeError, match="Expected weight from each model to have the same .requires_grad"):
            fn.stack_module_state(models)


def test_stack_module_state_of_frozen_parameters_and_grad_requiring_buffers():
    """Parameters that need no grad stack to a plain tensor; a buffer that requires grad stacks
    to a new leaf that does, as torch's ``construct_stacked_leaf`` does for both."""
    flags = []
    for L, fn in LIBS:
        models = [L.nn.Linear(2, 2) for _ in range(2)]
        for m in models:
            m.weight.requires_grad_(False)
            m.register_buffer("scale", T(L, [1.0]).requires_grad_())
        params, buffers = fn.stack_module_state(models)
        flags.append((params["weight"].requires_grad, params["bias"].requires_grad, buffers["scale"].requires_grad,
                      buffers["scale"].grad_fn is None, tuple(buffers["scale"].shape)))
    assert flags[0] == flags[1]


def test_replace_all_batch_norm_modules_():
    for L, fn in LIBS:
        m = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.BatchNorm1d(4), L.nn.Sequential(L.nn.BatchNorm1d(4)))
        assert fn.replace_all_batch_norm_modules_(m) is m
        for bn in (m[1], m[2][0]):
            assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
            assert bn.track_running_stats is False
