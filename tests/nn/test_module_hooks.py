"""Module backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``)
against PyTorch's: the same hooks on twin modules record what they receive (order, tuples, None
entries, values); returned tuples replace the gradients; handles remove; the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from torch_compare import paired_modules

try:
    import torch
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = None


def _plain(value):
    """A recorded gradient as NumPy (None stays None), whichever library made it."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value.data)


def _same_records(ours, theirs):
    assert len(ours) == len(theirs), (ours, theirs)
    for (tag_a, *a), (tag_b, *b) in zip(ours, theirs):
        assert tag_a == tag_b
        for x, y in zip(a, b):
            assert (x is None) == (y is None) and (x is None or len(x) == len(y))
            for u, v in zip(x or (), y or ()):
                assert (u is None) == (v is None), (tag_a, a, b)
                if u is not None:
                    np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def _recorder(records, tag, result=None):
    def full(module, grad_input, grad_output):
        records.append((tag, _plain(grad_input), _plain(grad_output)))
        return result(grad_input) if result else None

    def pre(module, grad_output):
        records.append((tag, _plain(grad_output)))
        return result(grad_output) if result else None
    return full, pre


def _twins():
    ours, theirs = paired_modules(rg.nn.Sequential(rg.nn.Linear(3, 4), rg.nn.Tanh(), rg.nn.Linear(4, 2)),
                                  torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)))
    return ours, theirs


X = np.random.default_rng(0).standard_normal((5, 3))


def _run(lib, model, x_grad=True):
    x = (rg.tensor(X, requires_grad=x_grad) if lib is rg else torch.tensor(X, requires_grad=x_grad))
    (model(x) ** 2).sum().backward()
    return x


@requires_torch
@pytest.mark.parametrize("scale", [None, 3.0])
@pytest.mark.parametrize("x_grad", [True, False])
def test_full_and_pre_hooks_see_torchs_gradients_in_torchs_order(scale, x_grad):
    """Hooks on the model and on its layers: each receives what torch's receives, in the same
    order; a hook returning scaled gradients changes the parameter gradients as in torch."""
    records, grads = {}, {}
    for lib, model in zip((rg, torch), _twins()):
        rec = records[lib] = []
        mult = (lambda g: tuple(None if t is None else t * scale for t in g)) if scale else None
        for name, layer in [("top", model), ("l0", model[0]), ("tanh", model[1]), ("l2", model[2])]:
            full, pre = _recorder(rec, name, mult if name == "tanh" else None)
            layer.register_full_backward_hook(full)
            layer.register_full_backward_pre_hook(_recorder(rec, name + "-pre", mult if name == "l2" else None)[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the no-input-grad warning (checked below)
            _run(lib, model, x_grad)
        grads[lib] = [_plain(p.grad) for p in model.parameters()]
    _same_records(records[rg], records[torch])
    for a, b in zip(grads[rg], grads[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


class _Two:
    """forward(x, y, k) -> (2x, 3y, k): a non-tensor argument and output, a tensor without grad."""

    @staticmethod
    def forward(self, x, y, k=1):
        return x * 2, y * 3, k


@requires_torch
@pytest.mark.parametrize("y_grad", [True, False])
def test_non_tensor_arguments_and_unused_outputs(y_grad):
    records = {}
    for lib in (rg, torch):
        module = type("Two", (lib.nn.Module,), {"forward": _Two.forward})()
        rec = records[lib] = []
        full, pre = _recorder(rec, "m")
        module.register_full_backward_hook(full)
        module.register_full_backward_pre_hook(pre)
        x = lib.tensor(np.ones(2), requires_grad=True)
        y = lib.tensor(np.full(2, 2.0), requires_grad=y_grad)
        a, b, k = module(x, y, 4)
        assert k == 4 and b.requires_grad == y_grad
        a.sum().backward()
    _same_records(records[rg], records[torch])


@requires_torch
def test_prepend_order_and_remove():
    records = {}
    for lib, model in zip((rg, torch), _twins()):
        rec = records[lib] = []
        layer = model[2]
        first = layer.register_full_backward_hook(lambda m, gi, go: rec.append(("a",)))
        layer.register_full_backward_hook(lambda m, gi, go: rec.append(("b",)), prepend=True)
        with layer.register_full_backward_pre_hook(lambda m, go: rec.append(("p",))):
            _run(lib, model)
        first.remove()
        first.remove()  # a second remove does nothing
        _run(lib, model)
    assert records[rg] == records[torch] == [("p",), ("b",), ("a",), ("b",)]


@requires_torch
def test_no_input_requiring_grad_fires_at_the_outputs_with_a_warning():
    records = {}
    for lib, model in zip((rg, torch), _twins()):
        rec = records[lib] = []
        model[0].register_full_backward_hook(_recorder(rec, "l0")[0])
        with pytest.warns(UserWarning, match="no inputs require gradients"):
            _run(lib, model, x_grad=False)
    _same_records(records[rg], records[torch])


@requires_torch
@pytest.mark.parametrize("kind", ["full", "pre"])
def test_a_hook_returning_the_wrong_number_of_gradients_raises(kind):
    messages = []
    for lib, model in zip((rg, torch), _twins()):
        if kind == "full":
            model[2].register_full_backward_hook(lambda m, gi, go: gi + gi)
        else:
            model[2].register_full_backward_pre_hook(lambda m, go: go + go)
        with pytest.raises(RuntimeError, match="invalid number of grad") as error:
            _run(lib, model)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@requires_torch
def test_hooks_registered_after_forward_are_not_called_for_it():
    """The hooks of the moment of the call run (torch captures them at forward)."""
    records = {}
    for lib, model in zip((rg, torch), _twins()):
        rec = records[lib] = []
        model[2].register_full_backward_hook(lambda m, gi, go: rec.append("early"))
        x = lib.tensor(X, requires_grad=True)
        out = model(x)
        model[2].register_full_backward_hook(lambda m, gi, go: rec.append("late"))
        out.sum().backward()
    assert records[rg] == records[torch] == ["early"]


@requires_torch
def test_non_tensor_output_warns():
    for lib in (rg, torch):
        module = type("Int", (lib.nn.Module,), {"forward": lambda self, x: 3})()
        module.register_full_backward_hook(lambda m, gi, go: None)
        with pytest.warns(UserWarning, match="module output should be a Tensor or a tuple of Tensors"):
            assert module(lib.tensor(np.ones(2), requires_grad=True)) == 3


@requires_torch
def test_half_cpu_share_memory_and_set_submodule_as_torch():
    for lib in (rg, torch):
        model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.Tanh()))
        assert model.cpu() is model and model.share_memory() is model
        assert model.half() is model and str(model[0].weight.dtype).endswith("float16")
        model.set_submodule("1.0", lib.nn.ReLU())
        model.set_submodule("1.extra", lib.nn.ReLU())
        assert type(model[1][0]).__name__ == "ReLU" and type(model[1].extra).__name__ == "ReLU"
        with pytest.raises(ValueError, match="without a target name"):
            model.set_submodule("", lib.nn.ReLU())
        with pytest.raises(ValueError, match="is not an nn.Module"):
            model.set_submodule("1.0", 3)
        with pytest.raises(AttributeError, match="has no attribute `other`"):
            model.set_submodule("1.other", lib.nn.ReLU(), strict=True)
        with pytest.raises(AttributeError, match="`training` is not an nn.Module"):
            model.set_submodule("training", lib.nn.ReLU())
