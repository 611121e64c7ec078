"""``state_dict`` / ``load_state_dict`` hooks, run beside PyTorch's on the same model shape: the
order and arguments the hooks see, what they may change, and what ``strict`` decides after them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retrograd as rg


def _models():
    """The same two-level model in both libraries: Sequential(Linear, Sequential(Linear))."""
    ours = rg.nn.Sequential(rg.nn.Linear(2, 3), rg.nn.Sequential(rg.nn.Linear(3, 1)))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Linear(3, 1)))
    return ours, theirs


def _record(model, calls, lib):
    for name, m in model.named_modules():
        tag = name or "root"
        m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars, tag=tag: calls.append(("pre", tag, prefix)))
        m.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta, tag=tag: calls.append(("post", tag, prefix, len(sd))))


def test_save_hooks_run_in_torchs_order_with_its_prefixes():
    ours, theirs = _models()
    got, expected = [], []
    _record(ours, got, rg)
    _record(theirs, expected, torch)
    ours.state_dict(prefix="model.")
    theirs.state_dict(prefix="model.")
    assert got == expected


def test_a_save_post_hook_may_change_the_dict_and_must_return_none():
    for lib in (rg, torch):
        model = lib.nn.Linear(2, 2)
        handle = model.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.pop(prefix + "bias"))
        with pytest.raises(RuntimeError, match="must return None"):
            model.state_dict()
        handle.remove()
        def drop_bias(module, sd, prefix, meta):
            del sd[prefix + "bias"]
        model.register_state_dict_post_hook(drop_bias)
        assert list(model.state_dict()) == ["weight"]


def test_a_load_pre_hook_may_rename_keys_of_an_older_checkpoint():
    for lib in (rg, torch):
        model = lib.nn.Linear(2, 2)
        old = {"w": np.full((2, 2), 3.0, dtype=np.float32), "bias": np.zeros(2, dtype=np.float32)}
        if lib is torch:
            old = {k: torch.tensor(v) for k, v in old.items()}

        def rename(module, sd, prefix, meta, strict, missing, unexpected, errors):
            if prefix + "w" in sd:
                sd[prefix + "weight"] = sd.pop(prefix + "w")
        model.register_load_state_dict_pre_hook(rename)
        result = model.load_state_dict(old)
        assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
        assert "w" in old  # the caller's dict is left as it was
        np.testing.assert_array_equal(np.asarray(model.weight.detach() if lib is torch else model.weight.data), 3.0)


def test_a_load_pre_hooks_error_message_refuses_the_load():
    model = rg.nn.Linear(2, 2)
    before = model.weight.data.copy()
    model.register_load_state_dict_pre_hook(
        lambda m, sd, prefix, meta, strict, missing, unexpected, errors: errors.append("too old a checkpoint"))
    with pytest.raises(RuntimeError, match="too old a checkpoint"):
        model.load_state_dict({"weight": np.zeros((2, 2), np.float32), "bias": np.zeros(2, np.float32)})
    np.testing.assert_array_equal(model.weight.data, before)


@pytest.mark.parametrize("clear", [True, False])
def test_a_load_post_hook_clearing_missing_keys_lets_strict_pass_as_torch(clear):
    outcomes = []
    for lib in (rg, torch):
        model = lib.nn.Linear(2, 2)
        seen = []

        def hook(module, keys):
            seen.append((list(keys.missing_keys), list(keys.unexpected_keys)))
            if clear:
                keys.missing_keys.clear()
        model.register_load_state_dict_post_hook(hook)
        weight = np.full((2, 2), 2.0, dtype=np.float32)
        try:
            model.load_state_dict({"weight": torch.tensor(weight) if lib is torch else weight})
            outcome = "loaded"
        except RuntimeError:
            outcome = "refused"
        loaded = np.asarray(model.weight.detach() if lib is torch else model.weight.data)
        outcomes.append((outcome, seen, bool((loaded == 2.0).all())))
    assert outcomes[0] == outcomes[1]


def test_a_load_post_hook_returning_a_value_is_refused_as_torch():
    for lib in (rg, torch):
        model = lib.nn.Linear(2, 2)
        model.register_load_state_dict_post_hook(lambda m, keys: keys)
        with pytest.raises(AssertionError, match="not expected to return new values"):
            model.load_state_dict(model.state_dict())


def test_removed_hooks_do_not_run():
    model = rg.nn.Linear(2, 2)
    calls = []
    handles = [model.register_state_dict_pre_hook(lambda *a: calls.append("save")),
               model.register_load_state_dict_post_hook(lambda *a: calls.append("load"))]
    for h in handles:
        h.remove()
    model.load_state_dict(model.state_dict())
    assert calls == []


def test_weight_norm_loads_an_old_style_checkpoint_as_torch():
    """``parametrizations.weight_norm`` converts ``weight_g``/``weight_v`` keys with a load pre-hook."""
    old_ours = rg.nn.utils.weight_norm(rg.nn.Linear(3, 2))  # the old-style reparametrization: weight_g, weight_v
    old_theirs = {k: torch.tensor(np.asarray(v)) for k, v in old_ours.state_dict().items()}
    assert {"weight_g", "weight_v"} <= set(old_theirs)
    ours = rg.nn.utils.parametrizations.weight_norm(rg.nn.Linear(3, 2))
    theirs = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 2))
    ours.load_state_dict(old_ours.state_dict())
    theirs.load_state_dict(old_theirs)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.data, old_ours.weight.data, rtol=1e-6)
