"""Every op of retrograd declares what its vjp reads (``save_inputs``, ``save_ans``),
next to the vjp itself, and keeps nothing more.

A subclass that writes its own ``vjp`` must say, in its own class body or one
between it and the class that wrote the vjp, which inputs the rule reads: an
op that forgot would inherit ``ALL`` from ``Op`` (correct but not lean) or a
base's narrower declaration (lean but wrong).
"""

from __future__ import annotations

import numpy as np
import pytest

import retrograd as rg
from op_classes import retrograd_op_classes
from retrograd.autograd import graph
from retrograd.autograd.op import ALL, ArrayMeta, Op


def _all_op_classes():
    return retrograd_op_classes()


OPS = _all_op_classes()


def _declares_next_to_its_vjp(cls) -> bool:
    mro = cls.__mro__
    writer = next(i for i, c in enumerate(mro) if "vjp" in c.__dict__)
    return any("save_inputs" in c.__dict__ for c in mro[: writer + 1] if c is not Op)


@pytest.mark.parametrize("cls", [c for c in OPS if "vjp" in c.__dict__ or c.vjp is not Op.vjp],
                         ids=lambda c: f"{c.__module__.split('.')[-1]}.{c.__name__}")
def test_every_op_declares_what_its_vjp_reads(cls):
    assert _declares_next_to_its_vjp(cls), (
        f"{cls.__qualname__} ({cls.__module__}) writes or inherits a vjp without declaring save_inputs beside it")
    spec = cls.save_inputs
    assert spec == ALL or isinstance(spec, (tuple, dict)), f"{cls.__qualname__}.save_inputs = {spec!r}"


def test_user_ops_keep_every_input_by_default():
    class Twice(rg.autograd.UnaryOp):
        name = "twice"

        def forward(self, x):
            return 2 * x

        def vjp(self, ns, g, y, x):
            return (2 * g,)

    x = rg.tensor(np.ones(3), requires_grad=True)
    y = Twice()(x * 1.0)
    assert y.grad_fn.save_inputs == ALL and y.grad_fn.kept_inputs()[0] is not None


def test_a_tanh_keeps_its_output_not_its_input():
    """PyTorch's tanh saves ``result``; so does retrograd's, and nothing of x."""
    x = rg.tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    pre = x * 2.0
    y = rg.tanh(pre)
    node = y.grad_fn
    assert [a is y.data for a in node.saved_arrays()] == [True]
    assert node.xs == (None,)  # elementwise: the gradient has x's shape and dtype


def test_shape_only_ops_keep_shapes():
    x = rg.tensor(np.ones((2, 3, 4)), requires_grad=True)
    h = x * 1.0
    for y in (h.reshape(6, 4), h.sum(axis=1), h.transpose(2, 0, 1), h[0]):
        (kept,) = y.grad_fn.xs
        assert type(kept) is ArrayMeta and kept.shape == (2, 3, 4), y.grad_fn
        assert y.grad_fn.saved_nbytes() == 0


def test_an_intermediate_the_user_dropped_is_freed():
    """Edges point at producers: ``a = x * 2; b = rg.tanh(a); del a`` frees a's array
    (tanh keeps its output only), and the gradient is unchanged."""
    import gc
    import weakref

    x = rg.tensor(np.ones((100, 100)), requires_grad=True)
    a = x * 2.0
    probe = weakref.ref(a.data) if hasattr(a.data, "__weakref__") else None
    b = rg.tanh(a)
    del a
    gc.collect()
    if probe is not None:
        assert probe() is None
    b.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * (1 - np.tanh(2.0) ** 2))


def test_multiplication_keeps_only_the_operand_the_other_gradient_needs():
    """z = x·y with y constant: x̄ = z̄·y reads y; x is not kept (PyTorch keeps ``other`` only)."""
    x = rg.tensor(np.ones(5), requires_grad=True)
    h = x * 1.0
    y = rg.tensor(np.full(5, 3.0))
    z = h * y
    assert [a is y.data for a in z.grad_fn.kept_inputs()] == [True]
    assert graph.inputs(z.grad_fn)[1] is None


def test_a_saved_array_modified_in_place_is_refused_naming_the_op():
    x = rg.tensor(np.ones(3), requires_grad=True)
    w = rg.tensor(np.full(3, 2.0), requires_grad=True)
    loss = (x * w).sum()
    w.data *= 3
    w.mark_modified_()
    with pytest.raises(RuntimeError, match=r"backward of mul: input 1 .* modified in place"):
        loss.backward()
