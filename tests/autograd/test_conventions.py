"""Kinks and ties under every policy: the declared table is what the ops do,
and relu, clamp(min=0) and maximum(x, 0) always agree (seed page 002)."""

import numpy as np
import pytest

import retrograd as rg
from retrograd import conventions

POLICIES = conventions.POLICIES
X = np.array([-1.0, 0.0, 2.0])


def grad_of(fn, x=X):
    t = rg.tensor(x.copy(), requires_grad=True)
    fn(t).sum().backward()
    return t.grad.data


EXPECTED_RELU_AT_0 = {"min_norm": 0.0, "first": 1.0, "split": 0.5, "all": 1.0}


@pytest.mark.parametrize("policy", POLICIES)
def test_relu_clamp_maximum_agree_at_zero(policy):
    with conventions.policy(policy):
        r = grad_of(rg.relu)
        c = grad_of(lambda t: rg.clamp(t, min=0))
        m = grad_of(lambda t: rg.maximum(t, 0.0))
        m_arr = grad_of(lambda t: rg.maximum(t, np.zeros(3)))
    np.testing.assert_array_equal(r, [0.0, EXPECTED_RELU_AT_0[policy], 1.0])
    np.testing.assert_array_equal(r, c)
    np.testing.assert_array_equal(r, m)
    np.testing.assert_array_equal(r, m_arr)


@pytest.mark.parametrize("policy", POLICIES)
def test_clamp_upper_bound_and_two_sided(policy):
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    with conventions.policy(policy):
        g = grad_of(lambda t: rg.clamp(t, -1.0, 1.0), x)
        gmin = grad_of(lambda t: rg.minimum(t, 1.0), x)
    tie = EXPECTED_RELU_AT_0[policy]
    np.testing.assert_array_equal(g, [0, tie, 1, tie, 0])
    np.testing.assert_array_equal(gmin, [1, 1, 1, tie, 0])


@pytest.mark.parametrize("policy,expected", [("min_norm", 0.1), ("first", 1.0), ("split", 0.55), ("all", 1.1)])
def test_leaky_relu_at_zero(policy, expected):
    with conventions.policy(policy):
        g = grad_of(lambda t: rg.leaky_relu(t, 0.1))
    np.testing.assert_allclose(g, [0.1, expected, 1.0])


@pytest.mark.parametrize("policy,expected", [("min_norm", 0.0), ("first", 1.0), ("split", 0.0), ("all", 0.0)])
def test_abs_at_zero(policy, expected):
    with conventions.policy(policy):
        g = grad_of(rg.abs)
    np.testing.assert_array_equal(g, [-1.0, expected, 1.0])


@pytest.mark.parametrize("policy,expected", [("min_norm", 1.0), ("first", 1.0), ("split", 1.25), ("all", 2.5)])
def test_elu_at_zero(policy, expected):
    with conventions.policy(policy):
        g = grad_of(lambda t: rg.elu(t, 1.5))
    np.testing.assert_allclose(g, [1.5 * np.exp(-1.0), expected, 1.0])


@pytest.mark.parametrize("policy,expected", [("min_norm", (0.5, 0.5)), ("first", (1.0, 0.0)),
                                             ("split", (0.5, 0.5)), ("all", (1.0, 1.0))])
def test_maximum_of_two_variables_tied(policy, expected):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    y = rg.tensor([1.0, 2.0], requires_grad=True)
    with conventions.policy(policy):
        rg.maximum(x, y).sum().backward()
    assert x.grad.data.tolist() == [expected[0], 1.0]
    assert y.grad.data.tolist() == [expected[1], 0.0]


@pytest.mark.parametrize("policy,expected", [
    ("min_norm", [1 / 3, 0, 1 / 3, 1 / 3]), ("split", [1 / 3, 0, 1 / 3, 1 / 3]),
    ("first", [1, 0, 0, 0]), ("all", [1, 0, 1, 1])])
def test_max_reduction_ties(policy, expected):
    x = np.array([5.0, 1.0, 5.0, 5.0])
    with conventions.policy(policy):
        g = grad_of(rg.max, x)
        gmin = grad_of(lambda t: rg.min(-t), x)
    np.testing.assert_allclose(g, expected)
    np.testing.assert_allclose(gmin, -np.array(expected))


@pytest.mark.parametrize("policy", POLICIES)
def test_max_reduction_ties_along_an_axis(policy):
    x = np.array([[2.0, 2.0, 1.0], [0.0, 3.0, 3.0]])
    with conventions.policy(policy):
        g = grad_of(lambda t: rg.max(t, axis=1), x)
    expected = {"first": [[1, 0, 0], [0, 1, 0]], "all": [[1, 1, 0], [0, 1, 1]]}.get(
        policy, [[0.5, 0.5, 0], [0, 0.5, 0.5]])
    np.testing.assert_allclose(g, expected)


def test_policy_is_read_when_the_op_is_recorded():
    x = rg.tensor([0.0], requires_grad=True)
    with conventions.policy("first"):
        y = rg.relu(x)
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_global_policy_and_bad_name():
    conventions.set_policy("split")
    assert conventions.get_policy() == "split"
    assert grad_of(rg.relu)[1] == 0.5
    with pytest.raises(ValueError, match="unknown policy"):
        conventions.set_policy("random")
    with pytest.raises(ValueError, match="unknown policy"):
        with conventions.policy("nope"):
            pass


def test_min_norm_is_the_minimum_norm_point():
    assert conventions.tied_gradient([(1.0,), (0.0,)], "min_norm") == (0.0,)
    assert conventions.tied_gradient([(2.0,), (1.0,)], "min_norm") == (1.0,)
    assert conventions.tied_gradient([(-2.0,), (-1.0,)], "min_norm") == (-1.0,)
    np.testing.assert_allclose(conventions.tied_gradient([(1, 0, 0), (0, 1, 0), (0, 0, 1)], "min_norm"),
                               [1 / 3] * 3, atol=1e-6)


def test_table_is_generated_from_the_rules():
    table = conventions.table()
    assert "| relu(x) at 0 | 0 | 1 | 0.5 | 1 |" in table
    assert "| maximum(x, y) at x == y: (dx, dy) | (0.5, 0.5) | (1, 0) | (0.5, 0.5) | (1, 1) |" in table


@pytest.mark.parametrize("policy", ["min_norm", "first", "split"])
def test_gradcheck_accepts_every_subgradient_policy_at_kinks(policy):
    x = np.array([0.0, 0.0, 1.0, -1.0])
    with conventions.policy(policy):
        for fn in (rg.relu, rg.abs, lambda t: rg.clamp(t, -1.0, 1.0), lambda t: rg.leaky_relu(t, 0.2)):
            report = rg.gradcheck(fn, [x])
            assert report.ok, str(report)
            assert report.kinks


def test_gradcheck_flags_all_policy_on_leaky_relu_as_outside_the_subdifferential():
    with conventions.policy("all"):
        report = rg.gradcheck(lambda t: rg.leaky_relu(t, 0.2), [np.array([0.0, 1.0])])
    assert not report.ok
    assert report.failures[0].kink and report.failures[0].index == (0,)
