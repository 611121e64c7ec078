"""What an op saves for its vjp, and when it is freed.

Every array a vjp needs beyond the op's inputs and (``save_ans``) output is
declared with ``Op.save``: ``saved_nbytes`` and ``rg.explain`` count it, and
the engine frees it right after the op's vjp ran unless ``retain_graph=True``.
These tests hold the loss (and so the whole tape) alive and check that no node
still holds an array after ``backward()``.
"""

import numpy as np
import pytest

import retrograd as rg
from retrograd.autograd import graph


def _slot_arrays(node) -> list:
    """ndarrays reachable from the slots of ``node`` (directly, or one level
    inside a tuple, list or dict): what the node keeps alive."""
    found = []
    for cls in type(node).__mro__:
        slots = getattr(cls, "__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            value = getattr(node, name, None)
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (tuple, list)) \
                else (value,)
            found += [(name, v) for v in items if isinstance(v, np.ndarray)]
    return found


def _tape(tensor) -> list:
    """Every op on the tape behind ``tensor`` (collected before backward
    frees the links between them)."""
    return list(graph.walk(tensor))


def _assert_released(nodes):
    for node in nodes:
        assert node.saved_arrays() == [], node
        assert _slot_arrays(node) == [], (node, [name for name, _ in _slot_arrays(node)])


def _logits_and_targets(n=4, c=8, seed=0):
    rng = np.random.default_rng(seed)
    z = rg.tensor(rng.standard_normal((n, c)).astype(np.float32), requires_grad=True)
    y = rng.integers(0, c, n)
    return z, y


def test_cross_entropy_counts_its_saved_softmax(capsys):
    z, y = _logits_and_targets(n=4, c=8)
    loss = rg.cross_entropy(z, y)
    node = loss._node
    probs_nbytes = z.data.size * z.data.itemsize  # softmax(z): N·C float32
    assert node.saved_nbytes() == z.data.nbytes + y.nbytes + probs_nbytes
    assert any(a.shape == z.shape and a is not z.data for a in node.saved_arrays())
    trace = rg.explain(loss)
    capsys.readouterr()
    (row,) = trace.rows
    assert row[1] == "cross_entropy" and row[-1] == f"{z.data.nbytes + y.nbytes + probs_nbytes} B"


def test_cross_entropy_frees_everything_after_backward():
    z, y = _logits_and_targets(n=512, c=100)
    loss = rg.cross_entropy(z, y)
    node = loss._node
    assert node.saved_nbytes() >= 2 * z.data.nbytes  # the logits and their softmax
    loss.backward()
    assert loss._node is node  # the loss (and the node) are still alive ...
    _assert_released([node])  # ... but hold no array


def test_cross_entropy_with_ignore_index_frees_its_mask():
    z, y = _logits_and_targets(n=6, c=5)
    y[[1, 4]] = -100
    loss = rg.cross_entropy(z, y)
    node = loss._node
    assert any(a.dtype == bool for a in node.saved_arrays())  # the mask of counted rows
    loss.backward()
    _assert_released([node])


def test_retain_graph_keeps_the_saved_arrays_and_a_second_backward_agrees():
    z, y = _logits_and_targets(n=16, c=10)
    loss = rg.cross_entropy(z, y)
    node = loss._node
    before = node.saved_nbytes()
    loss.backward(retain_graph=True)
    first = z.grad.data.copy()
    assert node.saved_nbytes() == before
    z.grad = None
    loss.backward()
    np.testing.assert_array_equal(z.grad.data, first)
    _assert_released([node])


def _conv_pool_loss(seed=0):
    rng = np.random.default_rng(seed)
    x = rg.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
    w = rg.tensor(rng.standard_normal((4, 3, 3, 3)) * 0.3, requires_grad=True)
    b = rg.tensor(rng.standard_normal(4), requires_grad=True)
    h = rg.max_pool2d(rg.relu(rg.conv2d(x, w, b, padding=1)), 2)       # (2, 4, 4, 4)
    logits = rg.reshape(rg.mean(h, axis=(2, 3)), (2, 4))
    return rg.cross_entropy(logits, np.array([1, 3])), (x, w, b)


def test_conv_and_max_pool_graph_frees_every_node():
    loss, leaves = _conv_pool_loss()
    nodes = _tape(loss)
    assert {n.name for n in nodes} >= {"im2col", "matmul", "max", "pad", "cross_entropy"}
    loss.backward()
    assert all(p.grad is not None for p in leaves)
    _assert_released(nodes)


def test_conv_and_max_pool_graph_with_retain_graph_backpropagates_twice():
    loss, leaves = _conv_pool_loss()
    nodes = _tape(loss)
    held = [n.saved_nbytes() for n in nodes]
    loss.backward(retain_graph=True)
    first = [p.grad.data.copy() for p in leaves]
    assert [n.saved_nbytes() for n in nodes] == held
    for p in leaves:
        p.grad = None
    loss.backward()
    for p, g in zip(leaves, first):
        np.testing.assert_array_equal(p.grad.data, g)
    _assert_released(nodes)


@pytest.mark.parametrize("index", [np.array([0, 2, 2, 5]), (np.array([0, 1, 1]), np.array([3, 0, 3]))],
                         ids=["array", "tuple_of_arrays"])
def test_getitem_with_integer_arrays_counts_and_frees_its_index(index):
    x = rg.tensor(np.arange(24.0).reshape(6, 4), requires_grad=True)
    out = rg.getitem(x, index)
    node = out._node
    index_nbytes = sum(i.nbytes for i in (index if isinstance(index, tuple) else (index,)))
    assert node.saved_nbytes() == index_nbytes  # x̄ = index_add(ȳ): x's shape, not its values
    loss = rg.sum(out * out)
    loss.backward(retain_graph=True)
    first = x.grad.data.copy()
    assert node.saved_nbytes() == index_nbytes
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, first)
    _assert_released([node, loss._node])
    assert "released" in repr(node)


def test_getitem_with_a_basic_index_saves_nothing():
    x = rg.tensor(np.zeros((5, 3)), requires_grad=True)
    node = rg.getitem(x, (slice(1, 4), 2))._node
    assert node.saved_nbytes() == 0 and node.saved_arrays() == []
    assert node.index == (slice(1, 4), 2)


def test_index_add_where_and_clamp_free_their_arrays():
    x = rg.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    index = np.array([0, 2, 2])
    added = rg.index_add((4,), x.dtype, index, rg.getitem(x, slice(0, 3)))
    cond = np.array([True, False, True, True, False, False])
    chosen = rg.where(cond, x, 0.0)
    bound = np.full(6, 0.5)
    clamped = rg.clamp(x, -bound, bound)
    loss = rg.sum(added) + rg.sum(chosen) + rg.sum(clamped)
    nodes = _tape(loss)
    by_name = {n.name: n for n in nodes}
    assert by_name["index_add"].saved_nbytes() >= index.nbytes
    assert by_name["where"].saved_nbytes() == cond.nbytes  # the mask; neither branch's values
    assert by_name["clamp"].saved_nbytes() == x.data.nbytes + 2 * bound.nbytes
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [2, 1, 3, 2, 0, 0])
    _assert_released(nodes)
