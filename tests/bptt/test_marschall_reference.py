"""The plain-NumPy reference of Marschall, Cho & Savin (2020) in
benchmarks/online_numpy.py, checked against itself and against calculus:
BPTT against central differences, RTRL's summed per-step gradients against
BPTT, the exact special cases linking RFLO, SnAp-1 and RTRL, UORO's and
KF-RTRL's means against RTRL, and the Add task's loss floors."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).parents[2] / "benchmarks" / "online_numpy.py"
_spec = importlib.util.spec_from_file_location("online_numpy", _PATH)
on = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(on)

REC = ("W_rec", "W_in", "b_rec")


def make_problem(n_h=5, T=12, alpha=0.7, seed=0):
    net = on.LeakyRNN.init(2, n_h, 2, seed, alpha=alpha)
    net.b_rec = np.random.default_rng(seed + 100).normal(0.0, 0.3, n_h)   # nonzero biases
    X, Y = on.add_task(T, seed + 1)
    a0 = np.tanh(np.random.default_rng(seed + 2).normal(size=n_h))
    return net, X, Y, a0


def per_step_grads(net, algorithm, X, Y, a0):
    """Each step's gradient with the weights held fixed."""
    a, out = a0, []
    for x, y in zip(X, Y):
        a_next, h = net.step(a, x)
        out.append(algorithm.update(net, a, x, a_next, h, y))
        a = a_next
    return out


def summed(grads):
    return {k: sum(g[k] for g in grads) for k in on.PARAM_NAMES}


def rec_matrix(g):
    return np.concatenate([g["W_rec"], g["W_in"], g["b_rec"][:, None]], axis=1)


def test_bptt_matches_central_differences():
    net, X, Y, a0 = make_problem()
    g = on.full_bptt_gradient(net, X, Y, a0)
    eps = 1e-6
    for name, idx in [("W_rec", (1, 2)), ("W_rec", (3, 3)), ("W_in", (0, 1)), ("b_rec", (4,)),
                      ("W_out", (1, 0)), ("b_out", (0,))]:
        W = getattr(net, name)
        W[idx] += eps
        up = on.sequence_loss(net, X, Y, a0)
        W[idx] -= 2 * eps
        down = on.sequence_loss(net, X, Y, a0)
        W[idx] += eps
        assert abs((up - down) / (2 * eps) - g[name][idx]) < 1e-7, name


def test_jacobian_and_immediate_influence_by_differences():
    net, X, _, a0 = make_problem()
    x, eps = X[0], 1e-6
    a, h = net.step(a0, x)
    J = on.J_t(net, h)
    for k in range(net.n_h):
        d = np.zeros(net.n_h)
        d[k] = eps
        fd = (net.step(a0 + d, x)[0] - net.step(a0 - d, x)[0]) / (2 * eps)
        np.testing.assert_allclose(J[:, k], fd, atol=1e-8)
    I_t = on.immediate_influence(net, a0, x, h)                 # row-major over [W_rec W_in b_rec]
    K = net.n_h + net.n_in + 1
    for i, j in [(0, 0), (2, 4), (3, net.n_h), (1, K - 1)]:
        W = np.concatenate([net.W_rec, net.W_in, net.b_rec[:, None]], axis=1)
        Wp, Wm = W.copy(), W.copy()
        Wp[i, j] += eps
        Wm[i, j] -= eps
        step = lambda W: (1 - net.alpha) * a0 + net.alpha * np.tanh(W @ on.a_hat(a0, x))
        np.testing.assert_allclose(I_t[:, i * K + j], (step(Wp) - step(Wm)) / (2 * eps), atol=1e-8)


def test_rtrl_summed_per_step_gradients_equal_bptt():
    net, X, Y, a0 = make_problem(T=12)
    bptt = on.full_bptt_gradient(net, X, Y, a0)
    rtrl = summed(per_step_grads(net, on.RTRL(), X, Y, a0))
    for k in on.PARAM_NAMES:
        np.testing.assert_allclose(rtrl[k], bptt[k], rtol=0, atol=1e-10, err_msg=k)


def test_rtrl_influence_is_the_recursion_of_dense_jacobians():
    net, X, Y, a0 = make_problem(T=5)
    K = net.n_h + net.n_in + 1
    alg, a, M = on.RTRL(), a0, np.zeros((net.n_h, net.n_h * K))
    for x, y in zip(X, Y):
        a_next, h = net.step(a, x)
        alg.update(net, a, x, a_next, h, y)
        M = on.J_t(net, h) @ M + on.immediate_influence(net, a, x, h)
        a = a_next
    np.testing.assert_allclose(alg.influence, M, rtol=0, atol=1e-13)


def test_readout_gradients_are_shared_and_exact():
    net, X, Y, a0 = make_problem(T=6)
    ref = per_step_grads(net, on.RTRL(), X, Y, a0)
    rng = np.random.default_rng(0)
    for alg in (on.SnAp1(), on.RFLO(net.alpha), on.UORO(rng), on.KFRTRL(rng)):
        got = per_step_grads(net, alg, X, Y, a0)
        for g, r in zip(got, ref):
            assert all(np.isfinite(v).all() for v in g.values())
            np.testing.assert_array_equal(g["W_out"], r["W_out"])
            np.testing.assert_array_equal(g["b_out"], r["b_out"])


def test_rflo_snap1_rtrl_coincide_where_their_jacobians_do():
    """W_rec = 0: J_t = (1 - α) I, so RFLO(α), SnAp-1 and RTRL are the same
    recursion. diag(W_rec) = 0: diag(J_t) = 1 - α, so RFLO(α) equals SnAp-1."""
    net, X, Y, a0 = make_problem(T=10)
    net.W_rec[:] = 0.0
    ref = per_step_grads(net, on.RTRL(), X, Y, a0)
    for alg in (on.RFLO(net.alpha), on.SnAp1()):
        for g, r in zip(per_step_grads(net, alg, X, Y, a0), ref):
            for k in REC:
                np.testing.assert_allclose(g[k], r[k], rtol=0, atol=1e-12)
    net, X, Y, a0 = make_problem(T=10)
    np.fill_diagonal(net.W_rec, 0.0)
    snap = per_step_grads(net, on.SnAp1(), X, Y, a0)
    rflo = per_step_grads(net, on.RFLO(net.alpha), X, Y, a0)
    for g, r in zip(rflo, snap):
        for k in REC:
            np.testing.assert_allclose(g[k], r[k], rtol=0, atol=1e-12)
    exact = summed(per_step_grads(net, on.RTRL(), X, Y, a0))
    assert not np.allclose(summed(snap)["W_rec"], exact["W_rec"])   # SnAp-1 ≠ RTRL in general


def test_rflo_feedback_is_w_out_by_default():
    net, X, Y, a0 = make_problem(T=6)
    default = per_step_grads(net, on.RFLO(0.5), X, Y, a0)
    explicit = per_step_grads(net, on.RFLO(0.5, feedback=net.W_out.copy()), X, Y, a0)
    fb = np.random.default_rng(9).normal(size=net.W_out.shape)
    random_fb = per_step_grads(net, on.RFLO(0.5, feedback=fb), X, Y, a0)
    for g, e, r in zip(default, explicit, random_fb):
        for k in REC:
            np.testing.assert_array_equal(g[k], e[k])
    assert not np.allclose(random_fb[-1]["W_rec"], default[-1]["W_rec"])


def mean_and_se(make_alg, net, X, Y, a0, n_seeds=2000):
    runs = np.array([rec_matrix(summed(per_step_grads(net, make_alg(s), X, Y, a0)))
                     for s in range(n_seeds)])
    return runs.mean(axis=0), runs.std(axis=0, ddof=1) / np.sqrt(n_seeds)


@pytest.mark.parametrize("name", ["UORO", "KFRTRL"])
def test_stochastic_algorithms_are_unbiased(name):
    """Mean over 2000 seeds of Σ_t (per-step recurrent gradient), T = 4, α = 0.7,
    against RTRL: |mean - RTRL| ≤ 5 SE on all 28 entries. Under a normal
    approximation a correct estimator fails an entry with probability 5.7e-7,
    the whole test < 2e-5 (union bound); the seeds are fixed, so it is
    deterministic. The SE is kept below a tenth of RTRL's largest entry, so
    the check has power (the α-less UORO below is 8 SE off at 1000 seeds)."""
    cls = getattr(on, name)
    net, X, Y, a0 = make_problem(n_h=4, T=4, seed=0)
    rtrl = rec_matrix(summed(per_step_grads(net, on.RTRL(), X, Y, a0)))
    mean, se = mean_and_se(lambda s: cls(np.random.default_rng(s)), net, X, Y, a0)
    assert se.max() < 0.1 * np.abs(rtrl).max()
    assert np.all(np.abs(mean - rtrl) <= 5 * se), np.abs(mean - rtrl) / se


def test_uoro_without_alpha_in_the_immediate_term_estimates_rtrl_over_alpha():
    """Their UORO.py's M_immediate omits α: its mean is RTRL / α (recurrent part)."""
    net, X, Y, a0 = make_problem(n_h=4, T=4, seed=0)
    rtrl = rec_matrix(summed(per_step_grads(net, on.RTRL(), X, Y, a0)))
    make = lambda s: on.UORO(np.random.default_rng(s), alpha_in_immediate=False)
    mean, se = mean_and_se(make, net, X, Y, a0, n_seeds=1000)
    assert np.all(np.abs(mean - rtrl / net.alpha) <= 5 * se)
    assert np.abs(mean - rtrl).max() > 5 * se.max()


@pytest.mark.parametrize("make_rng", [np.random.default_rng, np.random.RandomState])
def test_uoro_draw_order_and_forward_difference_variant(make_rng):
    """A_0, B_0 then ν at the first step, from a Generator or a legacy RandomState
    (their code's global np.random stream)."""
    net, X, Y, a0 = make_problem(n_h=4, T=3)
    n, K = 4, 4 + 2 + 1
    rng = make_rng(5)
    A0, B0, nu = rng.normal(0, 1, n), rng.normal(0, 1, (n, K)), rng.choice([-1, 1], n)
    alg = on.UORO(make_rng(5))
    per_step_grads(net, alg, X[:1], Y[:1], a0)
    _, h1 = net.step(a0, X[0])
    dphi = 1 - np.tanh(h1) ** 2
    I_proj = (nu * net.alpha * dphi)[:, None] * on.a_hat(a0, X[0])
    JA = on.J_t(net, h1) @ A0
    p0, p1 = np.sqrt(np.linalg.norm(B0) / np.linalg.norm(JA)), np.sqrt(np.linalg.norm(I_proj) / 2.0)
    np.testing.assert_allclose(alg.A, p0 * JA + p1 * nu, rtol=1e-13)
    np.testing.assert_allclose(alg.B, B0 / p0 + I_proj / p1, rtol=1e-13)
    exact = per_step_grads(net, on.UORO(np.random.default_rng(7)), X, Y, a0)
    fd = per_step_grads(net, on.UORO(np.random.default_rng(7), epsilon=1e-7), X, Y, a0)
    for g, r in zip(fd, exact):
        np.testing.assert_allclose(g["W_rec"], r["W_rec"], rtol=1e-4, atol=1e-6)


def test_reset_redraws_and_clears():
    net, X, Y, a0 = make_problem(T=3)
    for alg in (on.RTRL(), on.SnAp1(), on.RFLO(0.5), on.KFRTRL(np.random.default_rng(1))):
        first = per_step_grads(net, alg, X, Y, a0)
        alg.reset()
        again = per_step_grads(net, alg, X, Y, a0)
        same = np.allclose(first[-1]["W_rec"], again[-1]["W_rec"])
        assert same == (not isinstance(alg, on.KFRTRL))   # KF-RTRL draws new A_0, B_0


def test_add_task_format_and_floors():
    floors = on.add_task_floors()
    assert abs(floors["no_memory"] - 0.662) < 1e-3
    assert abs(floors["t1_only"] - 0.519) < 1e-3
    assert abs(floors["both"] - 0.454) < 1e-3
    X, Y = on.add_task(20000, 3)
    x = X[:, 0]
    assert set(np.unique(x)) == {0.0, 1.0} and np.all(X.sum(axis=1) == 1)
    np.testing.assert_array_equal(Y[:, 0], 0.5 + 0.5 * np.roll(x, 5) - 0.25 * np.roll(x, 9))
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    ce = lambda p: -(Y[:, 0] * np.log(p) + Y[:, 1] * np.log(1 - p))
    assert abs(ce(np.full_like(x, 0.625)).mean() - floors["no_memory"]) < 0.01
    assert abs(ce(0.375 + 0.5 * np.roll(x, 5)).mean() - floors["t1_only"]) < 0.01
    assert abs(ce(np.clip(Y[:, 0], 1e-12, 1 - 1e-12)).mean() - floors["both"]) < 0.01
    Xs, Ys = on.add_task(20000, 3, deterministic=False)     # same x (drawn first), one-hot labels
    np.testing.assert_array_equal(Xs, X)
    assert set(np.unique(Ys[:, 0])) == {0.0, 1.0} and abs(Ys[:, 0].mean() - 0.625) < 0.02


def test_online_rtrl_learns_the_add_task():
    X, Y = on.add_task(4000, 0)
    net = on.LeakyRNN.init(2, 16, 2, 0)
    losses = on.train_online(net, on.RTRL(), X, Y, lr=0.03)
    assert np.isfinite(losses).all()
    assert losses[2000:].mean() < 0.55 < on.add_task_floors()["no_memory"]
