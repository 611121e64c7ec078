"""``rg.func.vmap`` against ``torch.func.vmap`` (float64, CPU): the same function, inputs,
``in_dims`` and ``out_dims`` give the same values and shapes — int, negative, None and
nested (tuple, dict) ``in_dims``; int, negative, tuple and None ``out_dims``; unmapped keyword
arguments; tuple and dict outputs; and the compositions people write: per-example gradients
``vmap(grad(f), in_dims=(None, 0, 0))``, ``vmap(jacrev(jacrev(f)))``, ``jacrev`` of a
``vmap`` (gradients flow through the map), a ``vmap`` of a ``vmap``. The errors are
torch's, message for message; randomness "error" refuses a random op, "same" draws the same
numbers for every example, "different" others.
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from conftest import requires_torch
from retrograd import func as F

try:
    import torch
    import torch.func as TF
except ImportError:
    torch = TF = None

pytestmark = pytest.mark.usefixtures("float64_default")
R = np.random.default_rng(0)
X, W, Y = R.standard_normal((5, 3)), R.standard_normal(3), R.standard_normal(5)
M = R.standard_normal((4, 5, 2))


def both(fn):
    """fn(lib, T) → (rg result, torch result): lib is rg or torch, T makes a tensor."""
    ours = fn(rg, F, lambda a: rg.tensor(np.asarray(a)))
    theirs = fn(torch, TF, lambda a: torch.tensor(np.asarray(a), dtype=torch.float64))
    return ours, theirs


def assert_same(ours, theirs):
    if isinstance(ours, dict):
        assert set(ours) == set(theirs)
        for k in ours:
            assert_same(ours[k], theirs[k])
        return
    if isinstance(ours, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


CASES = {
    "default": lambda L, f, T: f.vmap(lambda a: a.sin() * 2.0)(T(X)),
    "in_dims_1": lambda L, f, T: f.vmap(lambda a: a.exp().sum(), in_dims=1)(T(X)),
    "in_dims_negative": lambda L, f, T: f.vmap(lambda a, b: a * b, in_dims=(-1, 0))(T(M), T(np.ones((2, 4, 5)))),
    "unmapped_arg": lambda L, f, T: f.vmap(lambda a, w: (a * w).sum(), in_dims=(0, None))(T(X), T(W)),
    "nested_in_dims": lambda L, f, T: f.vmap(lambda p, s: p[0] * s + p[1], in_dims=((0, None), 0))(
        (T(X), T(W)), T(Y)),
    "dict_input": lambda L, f, T: f.vmap(lambda d: d["a"] - d["b"], in_dims=({"a": 0, "b": None},))(
        {"a": T(X), "b": T(W)}),
    "out_dims_1": lambda L, f, T: f.vmap(lambda a: a * 3.0, out_dims=1)(T(M)),
    "out_dims_negative": lambda L, f, T: f.vmap(lambda a: a * 3.0, out_dims=-1)(T(M)),
    "out_dims_tuple": lambda L, f, T: f.vmap(lambda a, b: (a * b, a.sum()), in_dims=(1, None), out_dims=(1, 0))(
        T(X), T(Y)),
    "out_dims_none": lambda L, f, T: f.vmap(lambda a, w: (a * w, w * 2.0), in_dims=(0, None), out_dims=(0, None))(
        T(X), T(W)),
    "dict_output": lambda L, f, T: f.vmap(lambda a: {"s": a.sum(), "p": a * a})(T(X)),
    "kwargs_unmapped": lambda L, f, T: f.vmap(lambda a, *, scale: a * scale)(T(X), scale=T(W)),
    "per_example_grads": lambda L, f, T: f.vmap(f.grad(lambda w, x, y: ((x * w).sum() - y) ** 2),
                                                in_dims=(None, 0, 0))(T(W), T(X), T(Y)),
    "vmap_of_hessian": lambda L, f, T: f.vmap(f.jacrev(f.jacrev(lambda v: (v ** 3).sum())))(T(X)),
    "jacrev_of_vmap": lambda L, f, T: f.jacrev(lambda w: f.vmap(lambda x: (x * w).tanh().sum())(T(X)))(T(W)),
    "vmap_of_vmap": lambda L, f, T: f.vmap(f.vmap(lambda a: a.cos() + 1.0))(T(M)),
    "vmap_of_jvp": lambda L, f, T: f.vmap(lambda x, t: f.jvp(lambda v: (v * v).sin(), (x,), (t,))[1])(
        T(X), T(np.ones((5, 3)))),
}


@requires_torch
@pytest.mark.parametrize("case", sorted(CASES))
def test_vmap_matches_torch_func(case):
    assert_same(*both(CASES[case]))


def test_gradients_flow_through_the_map():
    """d/dw Σᵢ f(xᵢ, w) through a vmap equals the gradient of the unmapped sum."""
    w = rg.tensor(W, requires_grad=True)
    rg.func.vmap(lambda x: (x * w).tanh().sum())(rg.tensor(X)).sum().backward()
    np.testing.assert_allclose(w.grad.data, ((1 - np.tanh(X * W) ** 2) * X).sum(0), rtol=1e-12)


ERRORS = {
    "sizes": (lambda L, f, T: f.vmap(lambda a, b: a + b)(T(X), T(np.ones((4, 3)))), ValueError),
    "non_tensor": (lambda L, f, T: f.vmap(lambda a: a)(1.0), ValueError),
    "in_dim_range": (lambda L, f, T: f.vmap(lambda a: a, in_dims=2)(T(X)), ValueError),
    "structure": (lambda L, f, T: f.vmap(lambda a, b: a, in_dims=(0,))(T(X), T(X)), ValueError),
    "out_dim_range": (lambda L, f, T: f.vmap(lambda a: a.sum(), out_dims=1)(T(X)), Exception),
    "non_tensor_output": (lambda L, f, T: f.vmap(lambda a: 1.0)(T(X)), ValueError),
    "no_inputs": (lambda L, f, T: f.vmap(lambda: T(X))(), ValueError),
    "batched_output_with_out_dim_none": (lambda L, f, T: f.vmap(lambda a: a * 2.0, out_dims=None)(T(X)), ValueError),
}


@requires_torch
@pytest.mark.parametrize("case", sorted(ERRORS))
def test_misuse_raises_as_torch_does(case):
    fn, kind = ERRORS[case]
    messages = []
    for lib, f, T in [(rg, F, lambda a: rg.tensor(np.asarray(a))),
                      (torch, TF, lambda a: torch.tensor(np.asarray(a), dtype=torch.float64))]:
        with pytest.raises(kind) as info:
            fn(lib, f, T)
        messages.append(str(info.value))
    if case in ("sizes", "non_tensor", "in_dim_range"):
        assert messages[0] == messages[1]


def test_arguments_are_checked_when_vmap_is_called():
    with pytest.raises(RuntimeError, match="randomness"):
        F.vmap(lambda a: a, randomness="sometimes")
    with pytest.raises(ValueError, match="chunk_size should be None or greater than 0"):
        F.vmap(lambda a: a, chunk_size=0)
    assert F.vmap(lambda a: a * 2.0, chunk_size=2)(rg.tensor(X)).shape == X.shape


def test_randomness():
    ones = rg.tensor(np.ones((6, 8)))
    drop = lambda a: rg.nn.functional.dropout(a, 0.5, True)  # noqa: E731
    with pytest.raises(RuntimeError, match="randomness error mode"):
        F.vmap(drop)(ones)
    rg.manual_seed(3)
    same = F.vmap(drop, randomness="same")(ones).data
    assert (same == same[0]).all() and 0 < (same[0] == 0).sum() < 8
    rg.manual_seed(3)
    different = F.vmap(drop, randomness="different")(ones).data
    assert not (different == different[0]).all()
    np.testing.assert_array_equal(different[0], same[0])  # the first example draws first, either way


def test_func_runs_once_per_example():
    """The README's difference from torch.func.vmap: a value read inside ``func`` decides per
    example (PyTorch raises on a batched tensor there), and a side effect happens B times."""
    calls = []

    def f(a):
        calls.append(1)
        return a * 2.0 if float(a.sum()) > 0 else -a

    out = F.vmap(f)(rg.tensor(X))
    want = np.where(X.sum(1, keepdims=True) > 0, X * 2.0, -X)
    np.testing.assert_array_equal(out.data, want)
    assert len(calls) == len(X)


@requires_torch
@pytest.mark.parametrize("out_dims, unmapped", [(((0, 1), 0), False), (((1, None), -1), True)])
def test_nested_out_dims_as_torch(out_dims, unmapped):
    def fn(lib, f, T):
        x, w = T(X), T(W)
        return f.vmap(lambda r: ((r * w, w * 3 if unmapped else r.sum() * w), r * 2), out_dims=out_dims)(x)
    ours, theirs = both(fn)
    assert_same(ours, theirs)


@requires_torch
def test_dict_out_dims_for_a_dict_output_as_torch():
    ours, theirs = both(lambda lib, f, T: f.vmap(lambda r: {"a": r * 2, "b": r.sum()}, out_dims={"a": 1, "b": 0})(T(X)))
    assert_same(ours, theirs)
    assert tuple(ours["a"].shape) == (3, 5)


@requires_torch
def test_a_tuple_out_dims_for_a_dict_output_is_refused_as_by_torch():
    for f, T in ((F, rg.tensor), (TF, torch.tensor)):
        with pytest.raises(ValueError, match="out_dims is not compatible with the structure of `outputs`"):
            f.vmap(lambda r: {"a": r * 2, "b": r * 3}, out_dims=(0, 0))(T(X))


@requires_torch
def test_a_non_tensor_output_with_out_dims_none_is_returned_as_torch():
    ours, theirs = both(lambda lib, f, T: f.vmap(lambda r: (r * 2, 3.0), out_dims=(0, None))(T(X)))
    assert ours[1] == theirs[1] == 3.0
    assert_same(ours[0], theirs[0])
    for f, T in ((F, rg.tensor), (TF, torch.tensor)):
        with pytest.raises(ValueError, match="must only return Tensors"):
            f.vmap(lambda r: (r * 2, 3.0))(T(X))


@requires_torch
def test_error_types_as_torch_out_dims_out_of_range_and_bool_in_dims():
    for f, T in ((F, rg.tensor), (TF, torch.tensor)):
        with pytest.raises(IndexError, match="Dimension out of range"):
            f.vmap(lambda r: r * 2, out_dims=3)(T(X))
        with pytest.raises(TypeError):
            f.vmap(lambda r: r * 2, in_dims=True)(T(X))
