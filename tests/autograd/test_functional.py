"""``rg.autograd.functional`` against ``torch.autograd.functional`` (float64, CPU).

Every case runs the same function, written once for both libraries, through both, and
compares the results: values (to 1e-10), shapes, dtypes, the structure (a single Tensor or a
tuple; a tuple of tuples for ``jacobian`` of tuple outputs × tuple inputs and for ``hessian``
of tuple inputs), whether results are on the tape (``create_graph``), and that the caller's
inputs are left as they were. Covered: all six functions on a table of functions
(elementwise, reductions, matmul, several inputs, several outputs, non-scalar outputs, a
constant output, an unused input, 0-d inputs), ``jacobian`` and ``hessian`` with both
``vectorize`` settings and both strategies, second derivatives through ``create_graph=True``,
``v=None``, ``strict`` (errors and zeros) and the errors for misuse (type and key phrase).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import retrograd as rg
from conftest import requires_torch

try:
    import torch
    import torch.autograd.functional as TAF
except ImportError:  # the comparisons are skipped one by one (conftest), the rest runs
    torch = TAF = None

AF = rg.autograd.functional
RTOL = ATOL = 1e-10
pytestmark = pytest.mark.filterwarnings("ignore")  # torch's vectorize=True is "experimental" and says so


# ---------------------------------------------------------------- one function, two libraries
def lib(M):
    """The functional module of library ``M`` (``rg`` or ``torch``)."""
    return AF if M is rg else TAF


def tensor(M, a, requires_grad=False):
    return M.tensor(np.array(a), requires_grad=requires_grad)


def ones(M, shape):
    return M.ones(shape, dtype=M.float64)


# (id, function of the library M, input shapes); each returns a Tensor or a tuple of them
CASES = [
    ("elementwise", lambda M: lambda a: M.tanh(a) * M.exp(a), [(3,)]),
    ("row_sums", lambda M: lambda a: (M.sin(a) * a).sum(dim=1), [(2, 3)]),
    ("scalar_reduction", lambda M: lambda a: (M.sin(a) ** 3).mean(), [(2, 3)]),
    ("matmul", lambda M: lambda a, b: M.tanh(a @ b), [(2, 3), (3, 4)]),
    ("multi_output", lambda M: lambda a, b: (a @ b, (M.cos(a) * a).sum(), M.exp(b)), [(2, 3), (3, 2)]),
    ("constant_output", lambda M: lambda a: (a * a, ones(M, (2,))), [(3,)]),
    ("unused_input", lambda M: lambda a, b: M.sin(a) * 2.0, [(3,), (2,)]),
    ("scalars_0d", lambda M: lambda a, b: a * M.sin(b) + a ** 3, [(), ()]),
    ("scalar_and_vector", lambda M: lambda s, a: M.exp(s * a), [(), (3,)]),
    ("one_tensor_in_a_tuple", lambda M: lambda a: (a ** 2,), [(2, 2)]),
]

# scalar functions, for hessian, hvp and vhp
SCALAR_CASES = [
    ("cubic", lambda M: lambda a: (M.sin(a) ** 3).sum(), [(2, 3)]),
    ("matmul", lambda M: lambda a, b: M.tanh(a @ b).sum(), [(2, 3), (3, 4)]),
    ("product_of_sums", lambda M: lambda a, b: (M.tanh(a) @ b).sum() * (a * a).sum(), [(3,), (3, 2)]),
    ("scalars_0d", lambda M: lambda a, b: a * M.sin(b) + a ** 3, [(), ()]),
    ("linear", lambda M: lambda a: (a * 3.0).sum(), [(4,)]),
    ("unused_input", lambda M: lambda a, b: (M.exp(a) * a).sum(), [(3,), (2, 2)]),
    ("constant", lambda M: lambda a: ones(M, ()), [(3,)]),
    ("mean_of_exp", lambda M: lambda a: M.exp(a).mean(), [(5,)]),
]


def arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * 0.8 for s in shapes]


def inputs(M, shapes, seed=0, tuple_always=False, requires_grad=False):
    """The inputs as the caller gives them: one Tensor for one input (a tuple with ``tuple_always``)."""
    ts = tuple(tensor(M, a, requires_grad) for a in arrays(shapes, seed))
    return ts if len(ts) > 1 or tuple_always else ts[0]


def assert_same(r, t, *, grad_flag=True):
    """The same structure, shapes, dtypes and values (and, with ``grad_flag``, whether on the tape)."""
    if isinstance(t, tuple):
        assert isinstance(r, tuple) and len(r) == len(t), (type(r), r)
        for a, b in zip(r, t):
            assert_same(a, b, grad_flag=grad_flag)
        return
    assert isinstance(r, rg.Tensor), type(r)
    assert tuple(r.shape) == tuple(t.shape)
    assert str(r.dtype) == str(t.dtype).replace("torch.", "")
    if grad_flag:
        assert r.requires_grad == t.requires_grad
    np.testing.assert_allclose(r.data, t.detach().numpy(), rtol=RTOL, atol=ATOL)


def tuples(t):
    """torch's forward-mode jacobian/hessian nests lists where its documentation (and its reverse mode)
    nests tuples; retrograd returns tuples (README, "Differences from PyTorch")."""
    return tuple(tuples(e) for e in t) if isinstance(t, (list, tuple)) else t


def flat(x):
    return list(x) if isinstance(x, tuple) else [x]


def unchanged(xs, before):
    for x, b in zip(flat(xs), before):
        np.testing.assert_array_equal(x.data, b)
        assert x.grad is None


def cotangent(M, out, seed=1):
    """A random v of the structure and shapes of ``out``."""
    rng = np.random.default_rng(seed)
    vs = tuple(tensor(M, rng.standard_normal(tuple(o.shape))) for o in flat(out))
    return vs if isinstance(out, tuple) else vs[0]


def run_both(call):
    """``call(M)`` in both libraries."""
    return call(rg), call(torch)


# ---------------------------------------------------------------- values and structures
@requires_torch
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_vjp(name, fn, shapes, create_graph):
    def call(M):
        xs = inputs(M, shapes)
        v = cotangent(M, fn(M)(*flat(xs)))
        return xs, lib(M).vjp(fn(M), xs, v, create_graph=create_graph)
    (xs, r), (_, t) = run_both(call)
    assert_same(r, t)
    unchanged(xs, arrays(shapes))


@requires_torch
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_jvp(name, fn, shapes, create_graph):
    def call(M):
        xs = inputs(M, shapes)
        return xs, lib(M).jvp(fn(M), xs, cotangent(M, xs, seed=2), create_graph=create_graph)
    (xs, r), (_, t) = run_both(call)
    assert_same(r, t)
    unchanged(xs, arrays(shapes))


JACOBIAN_MODES = [(False, "reverse-mode"), (True, "reverse-mode"), (True, "forward-mode")]


@requires_torch
@pytest.mark.parametrize("vectorize,strategy", JACOBIAN_MODES)
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_jacobian(name, fn, shapes, vectorize, strategy):
    def call(M):
        xs = inputs(M, shapes)
        return xs, lib(M).jacobian(fn(M), xs, vectorize=vectorize, strategy=strategy)
    (xs, r), (_, t) = run_both(call)
    assert_same(r, tuples(t))
    unchanged(xs, arrays(shapes))


@requires_torch
@pytest.mark.parametrize("vectorize,strategy", JACOBIAN_MODES)
@pytest.mark.parametrize("name,fn,shapes", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_hessian(name, fn, shapes, vectorize, strategy):
    def call(M):
        xs = inputs(M, shapes)
        return xs, lib(M).hessian(fn(M), xs, vectorize=vectorize, outer_jacobian_strategy=strategy)
    (xs, r), (_, t) = run_both(call)
    # torch's forward-mode Hessian is on a graph even for inputs that need no gradient (README)
    assert_same(r, tuples(t), grad_flag=strategy == "reverse-mode")
    assert not any(h.requires_grad for h in flat(r) for h in flat(h))
    unchanged(xs, arrays(shapes))


@requires_torch
@pytest.mark.parametrize("fn_name", ["hvp", "vhp"])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,fn,shapes", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_hvp_vhp(name, fn, shapes, create_graph, fn_name):
    def call(M):
        xs = inputs(M, shapes)
        return xs, getattr(lib(M), fn_name)(fn(M), xs, cotangent(M, xs, seed=3), create_graph=create_graph)
    (xs, r), (_, t) = run_both(call)
    assert_same(r, t)
    unchanged(xs, arrays(shapes))


@requires_torch
def test_hvp_equals_vhp_and_the_hessian_times_v():
    """H is symmetric: forward over reverse (hvp) and reverse over reverse (vhp) agree, and both equal H·v."""
    f = SCALAR_CASES[2][1](rg)
    xs = inputs(rg, SCALAR_CASES[2][2])
    v = cotangent(rg, xs, seed=4)
    _, hv = AF.hvp(f, xs, v)
    _, vh = AF.vhp(f, xs, v)
    H = AF.hessian(f, xs)
    for i in range(2):
        direct = sum(np.tensordot(H[i][j].data, v[j].data, axes=v[j].ndim) for j in range(2))
        np.testing.assert_allclose(hv[i].data, direct, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(vh[i].data, direct, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- create_graph: derivatives of derivatives
def _second(M, name, create_graph_input):
    """Σ r² of each function's result with create_graph=True, differentiated with respect to the
    inputs (and to v): torch's autograd.grad and rg.grad on the same values."""
    f = lambda a, b: (M.sin(a) ** 3).sum() * M.exp(b).sum()  # noqa: E731
    x = tensor(M, arrays([(3,)])[0], create_graph_input)
    y = tensor(M, arrays([(2,)], seed=5)[0], create_graph_input)
    v = tuple(tensor(M, a, True) for a in arrays([(3,), (2,)], seed=6))
    F = lib(M)
    if name == "vjp":
        out = F.vjp(lambda a, b: M.sin(a) * b.sum(), (x, y), v[0], create_graph=True)[1]
    elif name == "jvp":
        out = F.jvp(lambda a, b: M.sin(a) * b.sum(), (x, y), v, create_graph=True)[1]
    elif name == "jacobian":
        out = F.jacobian(lambda a, b: M.sin(a) * b.sum(), (x, y), create_graph=True)
    elif name == "hessian":
        out = F.hessian(f, (x, y), create_graph=True)
    else:
        out = getattr(F, name)(f, (x, y), v, create_graph=True)[1]
    parts = [t for o in flat(out) for t in flat(o)]
    assert all(p.requires_grad for p in parts)
    loss = sum((p * p).sum() for p in parts)
    wrt = [x, y, *v] if create_graph_input else list(v)
    if name in ("jacobian", "hessian"):
        wrt = [x, y] if create_graph_input else None
    if wrt is None:
        return [p.detach() for p in parts], []
    grad = rg.grad if M is rg else torch.autograd.grad
    return [p.detach() for p in parts], list(grad(loss, wrt, allow_unused=True))


@requires_torch
@pytest.mark.parametrize("create_graph_input", [True, False], ids=["inputs_on_a_tape", "plain_inputs"])
@pytest.mark.parametrize("name", ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"])
def test_create_graph_results_differentiate_again(name, create_graph_input):
    (r_out, r_grads), (t_out, t_grads) = run_both(lambda M: _second(M, name, create_graph_input))
    assert_same(tuple(r_out), tuple(t_out))
    assert len(r_grads) == len(t_grads)
    for a, b in zip(r_grads, t_grads):
        if b is None:  # torch: this one does not reach (allow_unused)
            assert a is None or not np.any(a.data)
        else:
            np.testing.assert_allclose(a.data, b.numpy(), rtol=RTOL, atol=ATOL)


@requires_torch
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_forward_and_reverse_jacobians_of_inputs_on_a_tape_differentiate_again(strategy):
    """torch keeps a forward-mode Jacobian on the graph of an input that requires grad: so does retrograd."""
    def call(M):
        x = tensor(M, arrays([(3,)])[0], True)
        kw = dict(vectorize=True, strategy=strategy) if strategy == "forward-mode" else dict(create_graph=True)
        J = lib(M).jacobian(lambda a: M.sin(a) ** 3 * a.sum(), x, **kw)
        H = lib(M).hessian(lambda a: (M.sin(a) ** 3).sum(), x, vectorize=True, outer_jacobian_strategy=strategy,
                           **({} if strategy == "forward-mode" else dict(create_graph=True)))
        grad = rg.grad if M is rg else torch.autograd.grad
        return [J.detach(), H.detach(), *grad((J * J).sum() + (H * H).sum(), [x])]
    r, t = run_both(call)
    for a, b in zip(r, t):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=RTOL, atol=ATOL)


@requires_torch
def test_results_are_detached_without_create_graph_even_for_inputs_on_a_tape():
    def call(M):
        x = tensor(M, arrays([(3,)])[0], True)
        F = lib(M)
        f = lambda a: (M.sin(a) ** 2).sum()  # noqa: E731
        return (F.vjp(f, x), F.jvp(f, x, ones(M, (3,))), F.jacobian(f, x), F.hessian(f, x), F.hvp(f, x, ones(M, (3,))),
                F.vhp(f, x, ones(M, (3,))))
    r, t = run_both(call)
    assert_same(r, t)
    assert not any(p.requires_grad for res in r for p in flat(res) for p in flat(p))


@requires_torch
def test_one_tensor_given_twice_is_two_inputs_and_both_paths_reach_it():
    """torch calls func with a view of each input: the same tensor twice is two inputs, each
    with its own gradient, and both differentiate back to the one tensor."""
    def call(M):
        x = tensor(M, [0.1, 0.2, 0.3], True)
        _, g = lib(M).vjp(lambda a, b: (a * b * b).sum(), (x, x), create_graph=True)
        grad = rg.grad if M is rg else torch.autograd.grad
        return (g[0].detach(), g[1].detach(), grad(g[0].sum() + 2 * g[1].sum(), [x])[0])
    r, t = run_both(call)
    assert_same(r, t)


@requires_torch
def test_under_no_grad_and_the_callers_graph_is_kept():
    """The functions record func's graph under no_grad too (create_graph results are on the tape),
    and a tensor of the caller's graph that func reads stays differentiable afterwards."""
    def call(M):
        F = lib(M)
        x = tensor(M, [0.1, 0.2, 0.3], True)
        ctx = rg.no_grad() if M is rg else torch.no_grad()
        with ctx:
            hv = F.hvp(lambda a: (a ** 3).sum(), x, V3(M))[1]
            J = F.jacobian(lambda a: a ** 2, x, create_graph=True)
        assert J.requires_grad
        w = (x * 2.0) * 3.0  # the caller's graph, read by func below
        results = [hv, J.detach()]
        for name in ("vjp", "jvp", "hvp", "vhp"):
            f = (lambda a: (a * a * w).sum()) if name in ("hvp", "vhp") else (lambda a: a * w)
            results.append(getattr(F, name)(f, X3(M), V3(M))[1])
        results += [F.jacobian(lambda a: a * w, X3(M)), F.hessian(lambda a: (a * a * w).sum(), X3(M))]
        w.sum().backward()
        return (*results, x.grad)
    r, t = run_both(call)
    assert_same(r, t)


# ---------------------------------------------------------------- v = None
@requires_torch
@pytest.mark.parametrize("fn_name", ["vjp", "jvp", "hvp", "vhp"])
def test_v_may_be_left_out_for_one_element(fn_name):
    def call(M):
        x = tensor(M, [0.7])
        f = (lambda a: (M.sin(a) ** 3).sum()) if fn_name != "jvp" else (lambda a: M.exp(a) * 2.0)
        return getattr(lib(M), fn_name)(f, x)
    r, t = run_both(call)
    assert_same(r, t)


# ---------------------------------------------------------------- errors and strict mode
def _w(M):
    """A tensor outside the function, on a tape: an output may depend on it and on no input."""
    return tensor(M, [0.5, -1.5, 2.0], True)


V3 = lambda M: ones(M, (3,))  # noqa: E731
X3 = lambda M: tensor(M, [0.1, 0.2, 0.3])  # noqa: E731

# (id, call(M, F), exception type, key phrase)
ERRORS = [
    # inputs, outputs and v of the wrong kind
    ("inputs_a_list", lambda M, F: F.vjp(lambda a: a * 2.0, [X3(M)], V3(M)), TypeError,
     "must be either a Tensor or a tuple of Tensors"),
    ("inputs_an_array", lambda M, F: F.jacobian(lambda a: a, np.ones(3)), TypeError, "a tuple of Tensors"),
    ("input_in_a_tuple_not_a_tensor", lambda M, F: F.hessian(lambda a, b: (a * b).sum(), (X3(M), 2.0)),
     TypeError, "value at index 1"),
    ("output_a_list", lambda M, F: F.jvp(lambda a: [a * 2.0], X3(M), V3(M)), TypeError,
     "outputs of the user-provided function"),
    ("v_not_a_tensor", lambda M, F: F.vhp(lambda a: (a * a).sum(), X3(M), [1.0, 1.0, 1.0]), TypeError,
     "The v given to vhp"),
    ("v_none_vjp", lambda M, F: F.vjp(lambda a: a * 2.0, X3(M)), RuntimeError, "v can only be None"),
    ("v_none_jvp", lambda M, F: F.jvp(lambda a: (a * 2.0).sum(), X3(M)), RuntimeError, "v can only be None"),
    ("v_none_hvp", lambda M, F: F.hvp(lambda a: (a * a).sum(), X3(M)), RuntimeError, "v can only be None"),
    ("v_none_vhp", lambda M, F: F.vhp(lambda a: (a * a).sum(), X3(M)), RuntimeError, "v can only be None"),
    ("v_shape", lambda M, F: F.jvp(lambda a: a * 2.0, X3(M), ones(M, (4,))), RuntimeError, "v has invalid size"),
    ("v_shape_in_a_tuple", lambda M, F: F.hvp(lambda a, b: (a * b).sum(), (X3(M), X3(M)), (V3(M), ones(M, (2,)))),
     RuntimeError, "Entry 1 in v has invalid size"),
    ("v_tuple_length", lambda M, F: F.vjp(lambda a: (a, a * 2.0), X3(M), V3(M)), RuntimeError,
     "v is a tuple of invalid length"),
    ("v_two_for_one", lambda M, F: F.jvp(lambda a: a * 2.0, X3(M), (V3(M), V3(M))), RuntimeError,
     "should contain a single Tensor"),
    # integer inputs
    ("integer_input_vjp", lambda M, F: F.vjp(lambda a: a * 2.0, M.arange(3), V3(M)), RuntimeError,
     "floating point dtype can require gradients"),
    ("integer_input_jacobian", lambda M, F: F.jacobian(lambda a: a * 2.0, M.arange(3)), RuntimeError,
     "floating point dtype can require gradients"),
    ("integer_input_forward_mode", lambda M, F: F.jacobian(lambda a: a * 2.0, M.arange(3), vectorize=True,
                                                           strategy="forward-mode"), ValueError, "floating point"),
    # hessian, hvp, vhp need one scalar
    ("hessian_of_a_vector", lambda M, F: F.hessian(lambda a: a * a, X3(M)), RuntimeError,
     "should contain a single element"),
    ("hvp_of_a_tuple", lambda M, F: F.hvp(lambda a: ((a * a).sum(),), X3(M), V3(M)), RuntimeError,
     "should return a single Tensor"),
    ("vhp_of_a_vector", lambda M, F: F.vhp(lambda a: a * a, X3(M), V3(M)), RuntimeError,
     "should contain a single element"),
    # strategies
    ("jacobian_strategy", lambda M, F: F.jacobian(lambda a: a, X3(M), strategy="sideways"), AssertionError,
     "Expected strategy to be either"),
    ("hessian_strategy", lambda M, F: F.hessian(lambda a: a.sum(), X3(M), outer_jacobian_strategy="up"),
     AssertionError, "Expected strategy to be either"),
    ("forward_mode_create_graph", lambda M, F: F.jacobian(lambda a: a, X3(M), create_graph=True, vectorize=True,
                                                          strategy="forward-mode"), NotImplementedError,
     "`create_graph=True` and `strategy=\"forward-mode\"` are not supported together"),
    ("forward_mode_not_vectorized", lambda M, F: F.jacobian(lambda a: a, X3(M), strategy="forward-mode"),
     NotImplementedError, "only implemented for `vectorize=True`"),
    ("forward_mode_strict", lambda M, F: F.jacobian(lambda a: a, X3(M), strict=True, vectorize=True,
                                                    strategy="forward-mode"), RuntimeError,
     "`strict=True` and `strategy=\"forward-mode\"` are not supported together"),
    ("hessian_forward_mode_not_vectorized", lambda M, F: F.hessian(lambda a: (a * a).sum(), X3(M),
                                                                   outer_jacobian_strategy="forward-mode"),
     NotImplementedError, "only implemented for `vectorize=True`"),
    ("vectorize_strict", lambda M, F: F.jacobian(lambda a: a * a, X3(M), strict=True, vectorize=True),
     RuntimeError, "`strict=True` and `vectorized=True` are not supported together"),
    # strict: outputs independent of inputs
    ("strict_constant_output_vjp", lambda M, F: F.vjp(lambda a: (a * 2.0, ones(M, (2,))), X3(M),
                                                      (V3(M), ones(M, (2,))), strict=True), RuntimeError,
     "Output 1 of the user-provided function does not require gradients"),
    ("strict_constant_output_jvp", lambda M, F: F.jvp(lambda a: ones(M, (2,)), X3(M), V3(M), strict=True),
     RuntimeError, "Output 0 of the user-provided function does not require gradients"),
    ("strict_constant_output_jacobian", lambda M, F: F.jacobian(lambda a: ones(M, (2,)), X3(M), strict=True),
     RuntimeError, "does not require gradients"),
    ("strict_constant_hessian", lambda M, F: F.hessian(lambda a: ones(M, ()), X3(M), strict=True), RuntimeError,
     "does not require gradients"),
    ("strict_unused_input_vjp", lambda M, F: F.vjp(lambda a, b: a * 2.0, (X3(M), X3(M)), V3(M), strict=True),
     RuntimeError, "independent of input 1"),
    ("strict_unused_input_jvp", lambda M, F: F.jvp(lambda a, b: a * 2.0, (X3(M), X3(M)), (V3(M), V3(M)),
                                                   strict=True), RuntimeError, "independent of input 1"),
    ("strict_unused_input_jacobian", lambda M, F: F.jacobian(lambda a, b: a * 2.0, (X3(M), X3(M)), strict=True),
     RuntimeError, "Output 0 of the user-provided function is independent of input 1"),
    ("strict_jvp_output_off_the_inputs", lambda M, F: F.jvp(lambda a: (a * 2.0, _w(M) * 3.0), X3(M), V3(M),
                                                            strict=True), RuntimeError,
     "independent of entry 1 in the grad_outputs"),
    # strict: the Hessian
    ("strict_linear_hessian", lambda M, F: F.hessian(lambda a: (a * 3.0).sum(), X3(M), strict=True), RuntimeError,
     "found that the jacobian of the user-provided function with respect to input 0 is independent"),
    ("strict_linear_hvp", lambda M, F: F.hvp(lambda a: (a * 3.0).sum(), X3(M), V3(M), strict=True), RuntimeError,
     "found that the jacobian"),
    ("strict_linear_vhp", lambda M, F: F.vhp(lambda a: (a * 3.0).sum(), X3(M), V3(M), strict=True), RuntimeError,
     "found that the jacobian"),
    ("strict_unused_input_hessian", lambda M, F: F.hessian(lambda a, b: (a * a).sum(), (X3(M), X3(M)),
                                                           strict=True), RuntimeError, "with respect to input 1"),
    ("strict_hvp_gradient_off_the_inputs", lambda M, F: F.hvp(lambda a: (a * _w(M)).sum(), X3(M), V3(M),
                                                              strict=True), RuntimeError,
     "independent of entry 0 in the grad_jacobian"),
    ("strict_vhp_gradient_off_the_inputs", lambda M, F: F.vhp(lambda a: (a * _w(M)).sum(), X3(M), V3(M),
                                                              strict=True), RuntimeError,
     "The jacobian of the user-provided function is independent of input 0"),
    # strict with create_graph: a derivative that is a constant
    ("strict_create_graph_vjp", lambda M, F: F.vjp(lambda a: a * 2.0, X3(M), V3(M), create_graph=True, strict=True),
     RuntimeError, "independent of input 0. This is not allowed in strict mode when create_graph=True"),
    ("strict_create_graph_jvp", lambda M, F: F.jvp(lambda a: a * 2.0, X3(M), V3(M), create_graph=True, strict=True),
     RuntimeError, "The jacobian of the user-provided function is independent of input 0. This is not allowed in "
                   "strict mode when create_graph=True"),
    ("strict_create_graph_jacobian", lambda M, F: F.jacobian(lambda a: a * 2.0, X3(M), create_graph=True,
                                                             strict=True), RuntimeError, "when create_graph=True"),
    ("strict_create_graph_hvp", lambda M, F: F.hvp(lambda a: (a * a).sum(), X3(M), V3(M), create_graph=True,
                                                   strict=True), RuntimeError,
     "The hessian of the user-provided function is independent of input 0. This is not allowed in strict mode "
     "when create_graph=True"),
    ("strict_create_graph_vhp", lambda M, F: F.vhp(lambda a: (a * a).sum(), X3(M), V3(M), create_graph=True,
                                                   strict=True), RuntimeError, "hessian of the user-provided"),
]


@requires_torch
@pytest.mark.parametrize("name,call,exc,phrase", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(name, call, exc, phrase):
    with pytest.raises(exc, match=None) as t:
        call(torch, TAF)
    assert phrase in str(t.value).replace("torch.", ""), f"the phrase is torch's: {t.value}"
    with pytest.raises(exc) as r:
        call(rg, AF)
    assert phrase in str(r.value), str(r.value)


# the same calls with strict=False: zeros where strict refuses, as torch's
NOT_STRICT = [e for e in ERRORS if e[0].startswith("strict_") and "create_graph" not in e[0]]


@requires_torch
@pytest.mark.parametrize("name,call,exc,phrase", NOT_STRICT, ids=[e[0] for e in NOT_STRICT])
def test_strict_false_gives_zeros_where_strict_refuses(name, call, exc, phrase):
    def relaxed(M, F):
        class NotStrict:  # F with strict=True turned off
            def __getattr__(self, n):
                return lambda *a, **k: getattr(F, n)(*a, **{**k, "strict": False})
        return call(M, NotStrict())
    assert_same(relaxed(rg, AF), relaxed(torch, TAF))


@requires_torch
def test_strict_with_create_graph_accepts_a_derivative_on_the_tape():
    def call(M):
        F = lib(M)
        f = lambda a: (M.sin(a) ** 3).sum()  # noqa: E731
        return (F.vjp(f, X3(M), create_graph=True, strict=True)[1], F.jvp(lambda a: a ** 3, X3(M), V3(M),
                create_graph=True, strict=True)[1], F.jacobian(f, X3(M), create_graph=True, strict=True),
                F.hessian(f, X3(M), create_graph=True, strict=True), F.hvp(f, X3(M), V3(M), True, True)[1],
                F.vhp(f, X3(M), V3(M), True, True)[1])
    r, t = run_both(call)
    assert_same(r, t)


# ---------------------------------------------------------------- properties (no torch needed)
shapes_st = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)
values = st.floats(-2, 2, allow_nan=False)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=st.data(), s1=shapes_st, s2=shapes_st)
def test_products_are_the_jacobian_applied(data, s1, s2):
    """vᵀJ and J·u read off the Jacobian (both strategies), ⟨v, Ju⟩ = ⟨vᵀJ, u⟩, for random
    shapes (0-d included): f(a, b) = (tanh(a)·Σb, Σ sin(a)·Σ b²)."""
    a, b, u1, u2 = (data.draw(hnp.arrays(np.float64, s, elements=values)) for s in (s1, s2, s1, s2))
    f = lambda x, y: (rg.tanh(x) * y.sum(), rg.sin(x).sum() * (y * y).sum())  # noqa: E731
    xs = (rg.tensor(a), rg.tensor(b))
    u = (rg.tensor(u1), rg.tensor(u2))
    out = f(*xs)
    rng = np.random.default_rng(0)
    v = tuple(rg.tensor(rng.standard_normal(o.shape)) for o in out)
    _, vJ = AF.vjp(f, xs, v)
    _, Ju = AF.jvp(f, xs, u)
    for J in (AF.jacobian(f, xs), AF.jacobian(f, xs, vectorize=True, strategy="forward-mode")):
        for i in range(2):
            want = sum(np.tensordot(J[i][j].data, u[j].data, axes=u[j].ndim) for j in range(2))
            np.testing.assert_allclose(Ju[i].data, want, rtol=RTOL, atol=ATOL)
        for j in range(2):
            want = sum(np.tensordot(v[i].data, J[i][j].data, axes=v[i].ndim) for i in range(2))
            np.testing.assert_allclose(vJ[j].data, want, rtol=RTOL, atol=ATOL)
    lhs = sum(float((vi.data * ji.data).sum()) for vi, ji in zip(v, Ju))
    rhs = sum(float((gi.data * ui.data).sum()) for gi, ui in zip(vJ, u))
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs))


def test_rg_autograd_functional_is_the_module():
    assert rg.autograd.functional.__all__ == ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]
    for n in rg.autograd.functional.__all__:
        assert getattr(rg.autograd.functional, n).__doc__
