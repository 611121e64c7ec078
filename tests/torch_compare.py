"""One retrograd function against its PyTorch twin on the same arrays: values, dtypes, shapes, and
the gradients of a random-weighted sum of the outputs; and the same refusal. Shared by the op tests
that compare composed functions with torch directly (the op spec table covers the primitives)."""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from op_specs import torch



def outputs(out) -> list:
    """A function's result as a list of outputs."""
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _to_rg(a, grad):
    return rg.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a


def _to_torch(a, grad):
    return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a


def compare(rg_fn, torch_fn, *arrays, grad=True, rtol=1e-10):
    """Both functions on the same arrays (floating ones require grad): every output's values, dtype and
    shape equal; then the gradients of Σ w·out (the same random w on both sides) equal."""
    rs, ts = [_to_rg(a, grad) for a in arrays], [_to_torch(a, grad) for a in arrays]
    r_out, t_out = outputs(rg_fn(*rs)), outputs(torch_fn(*ts))
    assert len(r_out) == len(t_out)
    for r, t in zip(r_out, t_out):
        expected = t.detach().numpy()
        assert r.dtype == expected.dtype and tuple(r.shape) == expected.shape, (r.dtype, r.shape, expected.dtype,
                                                                               expected.shape)
        np.testing.assert_allclose(r.data, expected, rtol=rtol, atol=1e-12)
    floats = [(r, t) for r, t in zip(r_out, t_out) if t.requires_grad]
    if not floats:
        return
    r_loss = t_loss = 0
    weights = np.random.default_rng(1234)  # the same weights for a call whatever ran before it
    for r, t in floats:
        w = weights.standard_normal(tuple(t.shape))
        r_loss = r_loss + rg.sum(r * rg.tensor(w))
        t_loss = t_loss + (t * torch.tensor(w)).sum()
    r_loss.backward()
    t_loss.backward()
    for k, (a, b) in enumerate(zip(rs, ts)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            expected = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
            got = np.zeros(a.shape) if a.grad is None else a.grad.data
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12, err_msg=f"gradient of input {k}")


def same_error(rg_call, torch_call, match=None):
    """torch refuses the call, and retrograd refuses it with an exception of torch's type (the message
    matching ``match``)."""
    with pytest.raises(Exception) as torch_error:
        torch_call()
    with pytest.raises(type(torch_error.value), match=match):
        rg_call()


# ---------------------------------------------------------------- modules
def paired_modules(rg_module, torch_module):
    """The same module on both sides, float64, torch's weights copied into retrograd's."""
    ours, theirs = rg_module.double(), torch_module.double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


# ---------------------------------------------------------------- optimizers
def our_optimizer(name, p0, kwargs):
    """``rg.optim.<name>`` over fresh leaves with copies of the arrays ``p0``: (params, optimizer)."""
    ps = [rg.tensor(p.copy(), requires_grad=True) for p in p0]
    return ps, getattr(rg.optim, name)(ps, **kwargs)


def torch_optimizer(name, p0, kwargs):
    """``torch.optim.<name>`` over the same arrays: (params, optimizer)."""
    ps = [torch.tensor(p.copy(), requires_grad=True) for p in p0]
    return ps, getattr(torch.optim, name)(ps, **kwargs)


def same_state(ours, theirs, rtol=1e-12):
    """The two modules' state_dicts: the same keys in the same order, the same values."""
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=rtol, atol=1e-13, err_msg=key)


def same_grads(ours, theirs, rtol=1e-10):
    """The parameters' names in the same order and their gradients equal (None where torch's is None)."""
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        if tp.grad is None:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=rtol, atol=1e-12, err_msg=name)


def as_array(t):
    """A tensor of either library (or a number, or None) as a NumPy array (None stays None)."""
    if t is None:
        return None
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, rg.Tensor):
        return np.asarray(t.data)
    return np.asarray(t)


def dtype_name(t):
    """``float64``, ``bool``, … for a tensor of either library."""
    return str(t.dtype).replace("torch.", "")


def same_result(ours, theirs, tol=1e-10):
    """Assert two results (tensors, arrays, numbers, None, or tuples/lists/dicts of them) are equal,
    tensors in value, shape, dtype and ``requires_grad``."""
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for k in theirs:
            same_result(ours[k], theirs[k], tol)
    elif isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same_result(o, t, tol)
    elif theirs is None:
        assert ours is None
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    elif torch is not None and isinstance(theirs, torch.Tensor):
        assert isinstance(ours, rg.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert dtype_name(ours) == dtype_name(theirs)
        assert bool(ours.requires_grad) == bool(theirs.requires_grad)
        np.testing.assert_allclose(as_array(ours), as_array(theirs), rtol=tol, atol=tol)
    else:
        assert ours == theirs
