"""Every row of the op spec table (tests/op_specs.py), in forward mode, checked four ways:

(a) ``rg.func.jvp`` agrees with central finite differences along a random
    direction (float64, the row's eps and tolerances, as its gradcheck);
(b) the jvp is the transpose of the vjp: ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ for random u, v,
    to rounding (~1e-10 of the terms summed), the dot-product test;
(c) leading direction axes: a batch of tangents (``lead`` = (3,) and (2, 1))
    pushed at once through ``autograd.forward.push_tangents`` equals the
    directions pushed one by one, and, by linearity, the sum of the pushes
    seeded through one input at a time (with only that input requiring grad,
    so the rules also see the other inputs as constants);
(d) the differentiable walk (tangents that require grad) gives the array
    walk's values, its tangent is on the tape and linear in the tangents (its
    gradient with respect to them is the vjp), and, for rows of order 2, its
    gradient with respect to the primals matches finite differences of the jvp
    (reverse over forward).

A row whose op has no jvp yet fails here with its NotImplementedError.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retrograd as rg
from op_specs import SPECS
from retrograd import func as F
from retrograd.autograd.forward import push_tangents, seed_key
from retrograd.autograd.mode import next_seq

# Small example counts: the file runs in well under a minute on two workers.
FD = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
DOT = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
LEAD = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
NESTED = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))

by_name = pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
LEADS = [(3,), (2, 1)]


def draw_case(data, spec):
    """(float64 inputs, extra keyword arguments, a generator for directions) for one example of ``spec``."""
    shapes = data.draw(spec.shapes, label="shapes")
    assert len(shapes) == spec.arity, f"{spec.name}: the shape strategy gives {len(shapes)} shapes, arity {spec.arity}"
    params = data.draw(spec.params(shapes), label="params")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    return spec.inputs(shapes, seed), params, np.random.default_rng(seed + 1)


def tensors(arrays, requires_grad=False):
    return [rg.tensor(a, requires_grad=requires_grad) for a in arrays]


def function(spec, params):
    return lambda *xs: spec.fn(*xs, **params)


def rounding(out_dtype) -> float:
    """Relative agreement expected of two exact formulas for the same derivative, evaluated differently."""
    return 1e-10 if np.dtype(out_dtype) == np.float64 else 1e-5


def assert_same(actual, expected, rtol, what=""):
    """Equal to rounding, relative to the largest entry (entries near 0 come from cancellation)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    scale = max(np.abs(expected).max(initial=0.0), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def data_of(t, shape):
    """A tangent or gradient as an array (None: zero)."""
    if t is None:
        return np.zeros(shape)
    return np.asarray(t.data if isinstance(t, rg.Tensor) else t, dtype=np.float64)


# ---------------------------------------------------------------- (a) finite differences
@by_name
@FD
@given(data=st.data())
def test_jvp_matches_central_differences(spec, data):
    arrays, params, rng = draw_case(data, spec)
    f = function(spec, params)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    out, tangent = F.jvp(f, tuple(tensors(arrays)), tuple(tensors(vs)))
    assert not out.requires_grad and not tangent.requires_grad, "primals and tangents off the tape: results too"
    assert tangent.shape == out.shape, f"tangent shape {tangent.shape}, output shape {out.shape}"
    assert tangent.dtype == out.dtype, f"tangent dtype {tangent.dtype}, output dtype {out.dtype}"
    np.testing.assert_array_equal(out.data, f(*tensors(arrays)).data)
    eps = spec.eps
    plus = f(*tensors([a + eps * v for a, v in zip(arrays, vs)])).data.astype(np.float64)
    minus = f(*tensors([a - eps * v for a, v in zip(arrays, vs)])).data.astype(np.float64)
    central = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(tangent.data, central, rtol=spec.rtol, atol=spec.atol,
                               err_msg=f"{spec.name}: jvp vs central differences (eps={eps:g})")


# ---------------------------------------------------------------- (b) the dot-product test
@by_name
@DOT
@given(data=st.data())
def test_jvp_is_the_transpose_of_the_vjp(spec, data):
    arrays, params, rng = draw_case(data, spec)
    f = function(spec, params)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    out, tangent = F.jvp(f, tuple(tensors(arrays)), tuple(tensors(vs)))
    _, vjp_fn = F.vjp(f, *tensors(arrays))
    u = rng.standard_normal(out.shape).astype(out.dtype)
    grads = vjp_fn(rg.tensor(u))
    assert len(grads) == len(arrays)
    u_jv = u.astype(np.float64) * data_of(tangent, out.shape)
    jtu_v = [data_of(g, v.shape) * v for g, v in zip(grads, vs)]
    lhs, rhs = u_jv.sum(), sum(t.sum() for t in jtu_v)
    scale = np.abs(u_jv).sum() + sum(np.abs(t).sum() for t in jtu_v)
    # a zero Jacobian (normalize over an axis of one) leaves rounding noise, relative to |u|·|v|
    floor = (1e-13 if out.dtype == np.float64 else 1e-6) * np.linalg.norm(u) * np.sqrt(sum((v * v).sum() for v in vs))
    assert abs(lhs - rhs) <= rounding(out.dtype) * scale + floor, (
        f"{spec.name}: <u, J v> = {lhs!r} but <J^T u, v> = {rhs!r} (difference {abs(lhs - rhs):.3g}, "
        f"terms summing to {scale:.3g})")


# ---------------------------------------------------------------- (c) leading direction axes
def record(f, arrays, grad_mask):
    """Record ``f`` on leaves of ``arrays`` (those in ``grad_mask`` requiring grad): (leaves, output, start)."""
    start = next_seq()
    xs = [rg.tensor(a, requires_grad=m) for a, m in zip(arrays, grad_mask)]
    with rg.enable_grad():
        out = f(*xs)
    return xs, out, start


def push(xs, out, start, seeds, lead):
    """The tangent of ``out`` (an array of shape lead + out.shape) for ``seeds`` {input index: tangent}."""
    (t,) = push_tangents([out], {seed_key(xs[i]): v for i, v in seeds.items()}, start_seq=start, lead=lead)
    if t is None:
        return np.zeros(tuple(lead) + tuple(out.shape))
    assert not isinstance(t, rg.Tensor), "the array walk gave a Tensor"
    t = np.asarray(t)  # a 0-d result may come back as a NumPy scalar
    assert t.shape == tuple(lead) + tuple(out.shape), (
        f"lead {lead}: tangent shape {t.shape}, expected {tuple(lead) + tuple(out.shape)}")
    return t


@by_name
@LEAD
@given(data=st.data())
def test_leading_axes_push_every_direction_at_once(spec, data):
    arrays, params, rng = draw_case(data, spec)
    f = function(spec, params)
    n = len(arrays)
    xs, out, start = record(f, arrays, [True] * n)
    tol = rounding(out.dtype)
    for lead in LEADS:
        batch = [rng.standard_normal(tuple(lead) + a.shape) for a in arrays]
        together = push(xs, out, start, dict(enumerate(batch)), lead)
        for k in np.ndindex(*lead):
            one = push(xs, out, start, {i: np.asarray(v[k]) for i, v in enumerate(batch)}, ())
            assert_same(together[k], one, tol, f"{spec.name}: lead {lead}, direction {k} vs pushed alone")
        if n > 1:  # linearity over the inputs, each input the only one on the tape
            parts = []
            for i in range(n):
                xs_i, out_i, start_i = record(f, arrays, [j == i for j in range(n)])
                parts.append(push(xs_i, out_i, start_i, {i: batch[i]}, lead))
            assert_same(sum(parts), together, tol, f"{spec.name}: lead {lead}, Σ of one-input pushes vs all")


# ---------------------------------------------------------------- (d) the differentiable walk
@by_name
@NESTED
@given(data=st.data())
def test_differentiable_walk_equals_the_array_walk(spec, data):
    arrays, params, rng = draw_case(data, spec)
    f = function(spec, params)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    out, plain = F.jvp(f, tuple(tensors(arrays)), tuple(tensors(vs)))
    tol = rounding(out.dtype)

    v_leaves = tensors(vs, requires_grad=True)
    out_d, nested = F.jvp(f, tuple(tensors(arrays)), tuple(v_leaves))
    assert isinstance(nested, rg.Tensor) and nested.requires_grad, "tangents on the tape: the tangent out too"
    assert nested.shape == out.shape and nested.dtype == out.dtype
    assert_same(nested.data, plain.data, tol, f"{spec.name}: differentiable vs array walk")
    np.testing.assert_array_equal(out_d.data, out.data)

    # the tangent is linear in the tangents: its gradient with respect to them is the vjp
    u = rng.standard_normal(out.shape).astype(out.dtype)
    gv = rg.grad((nested * rg.tensor(u)).sum(), v_leaves, allow_unused=True)
    _, vjp_fn = F.vjp(f, *tensors(arrays))
    for i, (g, h) in enumerate(zip(gv, vjp_fn(rg.tensor(u)))):
        assert_same(data_of(g, vs[i].shape), data_of(h, vs[i].shape), tol,
                    f"{spec.name}: d<u, J v>/dv_{i} vs the vjp")

    if spec.order < 2:
        return
    # reverse over forward: d<u, J(x) v>/dx against finite differences of the jvp along w
    x_leaves = tensors(arrays, requires_grad=True)
    _, nested = F.jvp(f, tuple(x_leaves), tuple(tensors(vs, requires_grad=True)))
    gx = rg.grad((nested * rg.tensor(u)).sum(), x_leaves, allow_unused=True)
    ws = [rng.standard_normal(a.shape) for a in arrays]
    analytic = sum((data_of(g, w.shape) * w).sum() for g, w in zip(gx, ws))

    def projected(sign):
        moved = [a + sign * spec.eps * w for a, w in zip(arrays, ws)]
        return (u * data_of(F.jvp(f, tuple(tensors(moved)), tuple(tensors(vs)))[1], out.shape)).sum()
    central = (projected(1) - projected(-1)) / (2 * spec.eps)
    assert abs(analytic - central) <= spec.atol + spec.rtol * abs(central), (
        f"{spec.name}: reverse over forward {analytic!r}, central differences of the jvp {central!r}")
