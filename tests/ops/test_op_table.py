"""Every row of the op spec table (tests/op_specs.py), checked four ways:

(a) values equal the NumPy reference and first derivatives pass ``rg.gradcheck``
    in float64, on random shapes and broadcasts (hypothesis);
(b) second derivatives pass ``rg.gradgradcheck`` for every row of order 2;
(c) values and gradients equal PyTorch's (float64) where the row names its
    PyTorch equivalent;
(d) after ``backward()`` no node of the graph holds an array any more.

``test_every_op_is_covered`` fails when an ``Op`` subclass of the library is in
no row's graph and not in ``COVERED_ELSEWHERE``.
"""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import retrograd as rg
from op_classes import retrograd_op_classes
from retrograd.autograd import graph
from conftest import requires_torch
from op_specs import SPECS, torch
from retrograd import nn
from retrograd.autograd import backend

# Small example counts keep the table fast; each row still sees new shapes on every run.
FIRST = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
SECOND = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))

by_name = pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)


def draw_case(data, spec):
    """(float64 input arrays, extra keyword arguments) for one example of ``spec``."""
    shapes = data.draw(spec.shapes, label="shapes")
    assert len(shapes) == spec.arity, f"{spec.name}: the shape strategy gives {len(shapes)} shapes, arity {spec.arity}"
    params = data.draw(spec.params(shapes), label="params")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    return spec.inputs(shapes, seed), params


def tensors(arrays, requires_grad=False):
    return [rg.tensor(a, requires_grad=requires_grad) for a in arrays]


# ---------------------------------------------------------------- (a) values and first order
@by_name
@FIRST
@given(data=st.data())
def test_values_match_the_numpy_reference(spec, data):
    arrays, params = draw_case(data, spec)
    out = spec.fn(*tensors(arrays), **params)
    expected = np.asarray(spec.ref(*arrays, **params))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@by_name
@FIRST
@given(data=st.data())
def test_first_order_gradcheck(spec, data):
    arrays, params = draw_case(data, spec)
    report = rg.gradcheck(lambda *xs: spec.fn(*xs, **params), arrays, eps=spec.eps, atol=spec.atol, rtol=spec.rtol)
    assert report.ok, str(report)
    assert not report.kinks, "an input landed on a kink: the row's domain should keep it off"


# ---------------------------------------------------------------- (b) second order
# Known defects, each a strict xfail: the mark must go when the defect is fixed.
KNOWN_SECOND_ORDER_DEFECTS = {}


def second_order_rows():
    for spec in SPECS:
        if spec.order >= 2:
            defect = KNOWN_SECOND_ORDER_DEFECTS.get(spec.name)
            yield pytest.param(spec, id=spec.name,
                               marks=[pytest.mark.xfail(strict=True, reason=defect)] if defect else [])


@pytest.mark.parametrize("spec", list(second_order_rows()))
@SECOND
@given(data=st.data())
def test_second_order_gradgradcheck(spec, data):
    arrays, params = draw_case(data, spec)
    def squared(*xs):  # the square gives linear ops (shape, indexing, sum) a Hessian, so their
        out = spec.fn(*xs, **params)  # differentiable vjps are checked too, not only found to give 0
        return out * out

    report = rg.gradgradcheck(squared, arrays, eps=spec.eps, atol=spec.atol, rtol=spec.rtol)
    assert report.ok, str(report)


# ---------------------------------------------------------------- (c) PyTorch as the oracle
@requires_torch
@pytest.mark.parametrize("spec", [s for s in SPECS if s.torch is not None], ids=lambda s: s.name)
@FEW
@given(data=st.data())
def test_values_and_gradients_match_pytorch(spec, data):
    arrays, params = draw_case(data, spec)
    xr = tensors(arrays, requires_grad=True)
    xt = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    yr, yt = spec.fn(*xr, **params), spec.torch(*xt, **params)
    np.testing.assert_allclose(yr.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(0).standard_normal(yr.shape)
    yr.backward(rg.tensor(v.astype(yr.dtype)))
    yt.backward(torch.from_numpy(v).to(yt.dtype))
    for i, (a, b) in enumerate(zip(xr, xt)):
        ga = np.zeros(a.shape) if a.grad is None else a.grad.data
        gb = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        np.testing.assert_allclose(ga, gb, rtol=1e-9, atol=1e-12, err_msg=f"gradient of input {i}")


# ---------------------------------------------------------------- (d) the tape is freed
def graph_nodes(*outputs) -> list:
    """Every op node the outputs depend on (each once)."""
    return list(graph.walk([t for t in outputs if isinstance(t, rg.Tensor) and t.grad_fn is not None]))


def _is_array(value) -> bool:
    if isinstance(value, (np.ndarray, backend.ndarray)):
        return True
    if isinstance(value, (tuple, list)):
        return any(_is_array(v) for v in value)
    if isinstance(value, dict):
        return any(_is_array(v) for v in value.values())
    return False


def arrays_still_held(node) -> list[str]:
    """Names of the node's saved arrays and of its slots (over the whole MRO) that still hold an array."""
    held = [f"saved_arrays()[{i}]" for i, _ in enumerate(node.saved_arrays())]
    for cls in type(node).__mro__:
        slots = getattr(cls, "__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot != "__weakref__" and _is_array(getattr(node, slot, None)):
                held.append(f"{cls.__name__}.{slot}")
    return held


def assert_freed(nodes):
    held = {f"{type(n).__name__} ({n.name})": arrays_still_held(n) for n in nodes}
    held = {k: v for k, v in held.items() if v}
    assert not held, f"after backward() these nodes still hold arrays: {held}"


@by_name
@FEW
@given(data=st.data())
def test_backward_frees_every_array_the_tape_held(spec, data):
    arrays, params = draw_case(data, spec)
    out = spec.fn(*tensors(arrays, requires_grad=True), **params)  # `out` stays referenced
    nodes = graph_nodes(out)
    assert nodes, "the row records no op"
    out.backward(rg.tensor(np.ones(out.shape, dtype=out.dtype)))
    assert_freed(nodes)


# ---------------------------------------------------------------- ops outside the table
def _fused_layer(kind):
    def build():
        layer = getattr(nn, kind)(3, 4).double()
        out, state = layer(rg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True))
        return out, *(state if isinstance(state, tuple) else (state,))
    return build


def _fused_layer_gradient():
    """The input gradient of an LSTM under create_graph: recorded from the cells'
    equations on sealed boundaries of the layer's inputs."""
    x = rg.tensor(np.random.default_rng(2).standard_normal((4, 2, 3)), requires_grad=True)
    out, _ = nn.LSTM(3, 4).double()(x)
    (gx,) = rg.grad((out * out).sum(), [x], create_graph=True)
    return (gx,)


def _scheduled_scan():
    w = rg.tensor(np.array([[0.5, -0.2], [0.1, 0.8]]), requires_grad=True)
    xs = rg.tensor(np.random.default_rng(1).standard_normal((6, 2)), requires_grad=True)
    carry, ys = rg.scan(lambda h, x: (rg.tanh(h @ w + x), h * 2.0), rg.tensor(np.zeros(2)), xs, rg.bptt.window(3))
    return ys, carry


def _primal_graph():
    x = rg.tensor(np.array([0.3, -0.2]), requires_grad=True)
    y, vjp_fn = rg.func.vjp(lambda a: rg.tanh(a) * 2.0, x)
    return (y,)


def _custom_function():
    """One call of a user's ``rg.autograd.Function``: the op ``BackwardCFunction`` on the tape."""
    class Square(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            return 2.0 * g * ctx.saved_tensors[0]

    return (Square.apply(rg.tensor(np.array([0.3, -0.2]), requires_grad=True) * 1.0),)


def _dual_view():
    """make_dual's view of a tensor on the tape (forward AD), differentiated through after the level."""
    from retrograd.autograd import forward_ad

    x = rg.tensor(np.array([0.5, -1.5]), requires_grad=True)
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(x, rg.tensor(np.array([1.0, 2.0])))
    return (dual * dual,)


# Ops with tests of their own (the fused recurrent layers against their cells,
# finite differences and PyTorch; scan against the BPTT engine): the tests that
# cover each, and a small graph for the freed-tape check.
FUSED_LAYER_TESTS = ["recurrent/test_recurrent.py::test_fused_layer_gradcheck",
                     "recurrent/test_recurrent.py::test_fused_layer_equals_composed_cells_in_value_and_gradient",
                     "recurrent/test_recurrent.py::test_layers_match_torch",
                     "recurrent/test_recurrent_higher_order.py::test_fused_layer_gradgradcheck"]
COVERED_ELSEWHERE = {
    "RNNLayer": (FUSED_LAYER_TESTS, _fused_layer("RNN")),
    "LSTMLayer": (FUSED_LAYER_TESTS, _fused_layer("LSTM")),
    "GRULayer": (FUSED_LAYER_TESTS, _fused_layer("GRU")),
    "_Boundary": (["recurrent/test_recurrent_higher_order.py::test_fused_layer_gradgradcheck",
                   "recurrent/test_recurrent_higher_order.py::test_create_graph_leaves_the_graph_before_the_layer_alone"],
                  _fused_layer_gradient),
    "_Primal": (["autograd/test_forward_walk.py::test_a_primal_on_a_tape_is_marked_and_differentiated_through"],
                lambda: _primal_graph()),
    "ScheduledScan": (["bptt/test_bptt.py::test_scan_supports_every_mode",
                       "bptt/test_bptt.py::test_scheduled_scan_inputs_and_final_carry_gradients"], _scheduled_scan),
    "BackwardCFunction": (["autograd/test_custom_function.py::test_exp_values_gradients_and_double_backward_"
                           "match_torch", "autograd/test_custom_function.py::test_gradcheck"], _custom_function),
    "_DualView": (["autograd/test_forward_ad.py::test_backward_through_a_dual_reaches_the_primal",
                   "autograd/test_forward_ad.py::test_tangents_equal_torch"], lambda: _dual_view()),
}


# Ops that are never recorded on a tape (no gradient flows through them), with the tests that check them.
NEVER_ON_THE_TAPE = {
    "OffTape": ["autograd/test_replay.py::test_values_computed_off_the_tape_are_computed_again"],
}


@pytest.mark.parametrize("name", sorted(NEVER_ON_THE_TAPE))
def test_ops_never_on_the_tape_name_real_tests(name):
    tests_dir = pathlib.Path(__file__).parents[1]
    for test_id in NEVER_ON_THE_TAPE[name]:
        file, function = test_id.split("::")
        tree = ast.parse((tests_dir / file).read_text())
        assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, f"{test_id} is not a test"


@pytest.mark.parametrize("name", sorted(COVERED_ELSEWHERE))
def test_ops_covered_elsewhere_name_real_tests_and_free_their_tape(name):
    tests_dir = pathlib.Path(__file__).parents[1]
    for test_id in COVERED_ELSEWHERE[name][0]:
        file, function = test_id.split("::")
        tree = ast.parse((tests_dir / file).read_text())
        assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, f"{test_id} is not a test"
    outputs = COVERED_ELSEWHERE[name][1]()
    nodes = graph_nodes(*outputs)
    assert name in {type(n).__name__ for n in nodes}, f"the graph built for {name} does not record it"
    sum(o.sum() for o in outputs).backward()
    assert_freed(nodes)


# ---------------------------------------------------------------- completeness
def library_ops() -> set[type]:
    """Concrete Op subclasses of retrograd (those without subclasses: bases like
    ``UnaryOp`` or ``_Reduction`` are covered through their subclasses). Every
    library module is imported first, so the set does not depend on test order."""
    # demos define teaching ops on purpose (output_delta's deliberately mismatched deltas),
    # checked by their own tests; the library's ops are everything else under retrograd.
    return {cls for cls in retrograd_op_classes(("retrograd.demos", "retrograd.cli")) if not cls.__subclasses__()}


@settings(max_examples=1, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_op_is_covered(data):
    """Each op is recorded by some row (forward, or the double-backward graph of an
    order-2 row) or listed in COVERED_ELSEWHERE."""
    covered = set()
    for spec in SPECS:
        arrays, params = draw_case(data, spec)
        xs = tensors(arrays, requires_grad=True)
        out = spec.fn(*xs, **params)
        covered |= {type(n) for n in graph_nodes(out)}
        if spec.order >= 2:
            v = rg.tensor(np.random.default_rng(0).standard_normal(out.shape))
            grads = rg.grad(out, xs, grad_outputs=v, create_graph=True, allow_unused=True)
            covered |= {type(n) for n in graph_nodes(*[g for g in grads if g is not None])}
    missing = sorted(c.__qualname__ for c in library_ops() - covered
                     if c.__name__ not in COVERED_ELSEWHERE and c.__name__ not in NEVER_ON_THE_TAPE)
    assert not missing, f"ops in no row of tests/op_specs.py and not in COVERED_ELSEWHERE: {missing}"
