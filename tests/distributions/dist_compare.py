"""One retrograd distribution against torch's of the same name, built from the same float64 arrays:
a method's or property's values, dtype and shape, and the gradients of a random-weighted sum of it
with respect to every parameter and argument (``torch_compare.compare`` does the comparing)."""

from __future__ import annotations

import numpy as np

import retrograd as rg
import retrograd.distributions as D
from op_specs import torch
from torch_compare import compare


def _read(d, method, args):
    attr = getattr(d, method)
    return attr(*args) if callable(attr) else attr


def _const(module, value):
    """A fixed argument: an array becomes a tensor that does not require grad, anything else passes."""
    if not isinstance(value, np.ndarray):
        return value
    return rg.tensor(value) if module is D else torch.tensor(value)


def build(module, name, params, fixed=None):
    """``module.<name>(**params, **fixed)`` (params already tensors; fixed arrays made constants)."""
    kwargs = {k: _const(module, v) for k, v in (fixed or {}).items()}
    return getattr(module, name)(**params, **kwargs)


def same(name, params, method, *args, fixed=None, grad=True, rtol=1e-10):
    """``<name>(**params, **fixed).<method>(*args)`` (or the property ``method``) equal in retrograd and
    torch, values and gradients (w.r.t. params and the floating args) when ``grad``."""
    keys = list(params)

    def run(module, *tensors):
        d = build(module, name, dict(zip(keys, tensors[:len(keys)])), fixed)
        return _read(d, method, tensors[len(keys):])

    compare(lambda *ts: run(D, *ts), lambda *ts: run(torch.distributions, *ts),
            *[params[k] for k in keys], *args, grad=grad, rtol=rtol)


def pair(name_p, params_p, name_q, params_q, grad=True, rtol=1e-10):
    """``kl_divergence(p, q)`` equal in retrograd and torch, values and gradients w.r.t. both
    distributions' parameters."""
    kp, kq = list(params_p), list(params_q)

    def run(module, *ts):
        p = build(module, name_p, dict(zip(kp, ts[:len(kp)])))
        q = build(module, name_q, dict(zip(kq, ts[len(kp):])))
        return module.kl_divergence(p, q)

    compare(lambda *ts: run(D, *ts), lambda *ts: run(torch.distributions, *ts),
            *[params_p[k] for k in kp], *[params_q[k] for k in kq], grad=grad, rtol=rtol)
