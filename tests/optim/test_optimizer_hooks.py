"""Optimizer hooks against PyTorch's: step pre/post hooks (per optimizer and global) with what
they receive and the replacement of the step's arguments; state_dict and load_state_dict hooks
with their return handling and ``prepend``; handles that remove; the error for a bad result."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch

try:
    import torch
    from torch.optim import optimizer as torch_optimizer  # the global hooks (torch.optim drops the name)
except ImportError:  # the comparisons are skipped one by one (conftest)
    torch = torch_optimizer = None


def _opt(lib, cls="SGD"):
    p = lib.tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = getattr(lib.optim, cls)([p], lr=0.1)
    p.grad = lib.tensor(np.array([0.5, 1.0]))
    return p, opt


def _both(fn):
    """``fn(lib)`` for retrograd and torch; their results."""
    return fn(rg), fn(torch)


def _optimizer_module(lib):
    return rg.optim.optimizer if lib is rg else torch_optimizer


def _describe(opt, args, kwargs):
    return (args[0] is opt, len(args), dict(kwargs))


@requires_torch
@pytest.mark.parametrize("cls", ["SGD", "Adam"])
def test_step_hooks_order_arguments_and_removal(cls):
    def run(lib):
        p, opt = _opt(lib, cls)
        rec = []
        g_pre = _optimizer_module(lib).register_optimizer_step_pre_hook(lambda o, a, k: rec.append(("gpre",)))
        g_post = _optimizer_module(lib).register_optimizer_step_post_hook(lambda o, a, k: rec.append(("gpost",)))
        try:
            pre = opt.register_step_pre_hook(lambda o, a, k: rec.append(("pre",) + _describe(o, a, k)))
            opt.register_step_post_hook(lambda o, a, k: rec.append(("post",) + _describe(o, a, k)))
            opt.step()
            opt.step(closure=None)
            pre.remove()
            pre.remove()
            opt.step()
        finally:
            g_pre.remove()
            g_post.remove()
        opt.step()
        return rec, p.detach().numpy() if lib is torch else p.data
    (ours, p_ours), (theirs, p_theirs) = _both(run)
    assert ours == theirs
    np.testing.assert_allclose(p_ours, p_theirs, rtol=1e-12)


@requires_torch
def test_a_pre_hook_replaces_the_step_arguments():
    def run(lib):
        p, opt = _opt(lib)
        calls = []

        def closure():
            calls.append(1)
            return 7.0
        opt.register_step_pre_hook(lambda o, a, k: (a, {"closure": closure}))
        return opt.step(), calls
    assert _both(run)[0] == _both(run)[1] == (7.0, [1])


@requires_torch
def test_a_pre_hook_returning_something_else_raises():
    for lib in (rg, torch):
        p, opt = _opt(lib)
        opt.register_step_pre_hook(lambda o, a, k: 3)
        with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, new_kwargs\)"):
            opt.step()


@requires_torch
def test_state_dict_hooks_prepend_and_replacement():
    def run(lib):
        p, opt = _opt(lib, "Adam")
        opt.step()
        rec = []
        opt.register_state_dict_pre_hook(lambda o: rec.append("pre-a"))
        opt.register_state_dict_pre_hook(lambda o: rec.append("pre-b"), prepend=True)
        opt.register_state_dict_post_hook(lambda o, sd: rec.append(("post", sorted(sd))))
        handle = opt.register_state_dict_post_hook(lambda o, sd: {"replaced": True, **sd}, prepend=True)
        sd = opt.state_dict()
        handle.remove()
        rec.append(sorted(opt.state_dict()))
        return rec, sorted(sd)
    assert _both(run)[0] == _both(run)[1]


@requires_torch
def test_load_state_dict_hooks_see_a_copy_and_may_replace_it():
    def run(lib):
        p, opt = _opt(lib, "SGD")
        saved = opt.state_dict()
        rec = []

        def pre(o, sd):
            rec.append(("pre", sd is saved, sorted(sd)))
            sd["param_groups"] = [{**sd["param_groups"][0], "lr": 0.5}]
        opt.register_load_state_dict_pre_hook(pre)
        opt.register_load_state_dict_pre_hook(lambda o, sd: rec.append(("first", sd["param_groups"][0]["lr"])),
                                              prepend=True)
        opt.register_load_state_dict_post_hook(lambda o: rec.append(("post", o.param_groups[0]["lr"])))
        opt.load_state_dict(saved)
        return rec, saved["param_groups"][0]["lr"]
    assert _both(run)[0] == _both(run)[1]


def test_lbfgs_step_runs_the_hooks_once():
    p = rg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = rg.optim.LBFGS([p], max_iter=2)
    rec = []
    opt.register_step_pre_hook(lambda o, a, k: rec.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: rec.append("post"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    opt.step(closure)
    assert rec == ["pre", "post"]
