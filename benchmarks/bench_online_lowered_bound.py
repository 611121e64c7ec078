"""How fast a lowered online step could be: retrograd's compiled RTRL and UORO steps written out by
hand as straight NumPy code, beside the hand-written reference and retrograd itself, in one run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_online_lowered_bound.py [--steps 2000] [--sizes 32 64]

The "lowered" columns do exactly what ``rg.bptt.rtrl(compile=True)`` / ``uoro(compile=True)`` do
on Marschall et al.'s network, op by op in the replayed program's order, with no interpreter and
no per-op checks: the forward (cat, linear, tanh, linear, cross-entropy), one reverse sweep from
the loss that stops at the new state (cₜ and the readout's gradients), the forward-mode sweep of
the influence (RTRL: Jₜ·Mₜ₋₁ as one GEMM with φ′ folded into W, the immediate influence written
on the diagonal; UORO: Jₜũ, and νᵀIₜ by the reverse sweep), the estimate, plain SGD. The gap
between these columns and retrograd's is what retrograd's lowered step still spends around the
NumPy work: the online loop, the learner's calls, the optimizer object. Each column is timed as
``bench_online.py --comparison`` times its two: every step stamped, the median step of a run.
Absolute times vary between machines; compare the ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import pathlib
import time

import numpy as np

_here = pathlib.Path(__file__).parent
_spec = importlib.util.spec_from_file_location("bench_online", _here / "bench_online.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
ref = bench.ref


def _forward(W, b, Wo, bo, s, x, y):
    """The traced forward, then the reverse sweep from the loss to the new state."""
    v0 = np.concatenate((s, x), -1)
    v1 = v0 @ W.T
    v1 += b
    a = np.tanh(v1)
    z = a @ Wo.T
    z += bo
    shifted = z - z.max(1, keepdims=True)
    e = np.exp(shifted)
    se = e.sum(1, keepdims=True)
    loss = ((np.log(se) - shifted) * y).sum()
    g = (e / se) * y.sum(1, keepdims=True) - y  # ∂L/∂z (batch of one: the mean is the sum)
    return v0, a, loss, g @ Wo, g.T @ a, g.sum(0)


def rtrl_lowered(net, xs, ys, lr=0.0, stamps=None):
    n = net.n_h
    W, b = np.concatenate([net.W_rec, net.W_in], 1), net.b_rec.copy()
    Wo, bo = net.W_out.copy(), net.b_out.copy()
    P = W.size + b.size
    s, M = np.zeros((1, n)), None
    for x, y in zip(xs, ys):
        v0, a, _, c, gWo, gbo = _forward(W, b, Wo, bo, s, x[None], y[None])
        fac = (1 - a * a).reshape(-1)
        if M is None:
            M = np.zeros((P, 1, n), order="F")
        else:  # (W_s ⊙ φ′)·Mᵀ: one (n × n)·(n × P) GEMM, directions fastest in memory
            M = ((W[:, :n] * fac[:, None]) @ M.T.reshape(n, P)).T.reshape(P, 1, n)
        np.einsum("iji->ij", M[:W.size].reshape(n, W.shape[1], n))[...] += v0[0][None, :] * fac[:, None]
        np.einsum("ii->i", M[W.size:, 0, :])[...] += fac
        share = c.reshape(-1) @ M.T.reshape(n, P)
        W -= lr * share[:W.size].reshape(W.shape)
        b -= lr * share[W.size:]
        Wo -= lr * gWo
        bo -= lr * gbo
        s = a
        if stamps is not None:  # each step's end, as the comparison stamps the other two
            stamps.append(time.perf_counter())
    return W, b, Wo, bo


def uoro_lowered(net, xs, ys, lr=0.0, seed=0, eps=1e-7, stamps=None):
    n = net.n_h
    W, b = np.concatenate([net.W_rec, net.W_in], 1), net.b_rec.copy()
    Wo, bo = net.W_out.copy(), net.b_out.copy()
    rng, signs = np.random.default_rng(seed), np.array([-1.0, 1.0])
    s, u, theta = np.zeros((1, n)), np.zeros((1, n)), np.zeros(W.size + b.size)
    for x, y in zip(xs, ys):
        v0, a, _, c, gWo, gbo = _forward(W, b, Wo, bo, s, x[None], y[None])
        fac = (1 - a * a).reshape(-1)
        ju = (u @ W[:, :n].T) * fac  # Jₜũ
        nu = signs[rng.integers(0, 2, size=(1, n))]
        g = (nu * fac).reshape(-1)  # νᵀIₜ: the reverse sweep from the new state
        nu_i = np.concatenate([np.outer(g, v0[0]).reshape(-1), g])
        rho0 = math.sqrt(math.sqrt(float(theta @ theta)) / (math.sqrt(float(np.vdot(ju, ju))) + eps)) + eps
        rho1 = math.sqrt(math.sqrt(float(nu_i @ nu_i)) / (math.sqrt(n) + eps)) + eps
        u = ju * rho0 + nu * rho1
        theta = theta / rho0 + nu_i / rho1
        share = theta * float(np.vdot(c, u))
        W -= lr * share[:W.size].reshape(W.shape)
        b -= lr * share[W.size:]
        Wo -= lr * gWo
        bo -= lr * gbo
        s = a
        if stamps is not None:  # each step's end, as the comparison stamps the other two
            stamps.append(time.perf_counter())
    return W, b, Wo, bo


def check(steps=60, n=16, lr=0.03):
    """The lowered steps train to retrograd's parameters (float64, 1e-10): they compute the same step."""
    import retrograd as rg
    xs, ys = ref.add_task(steps, 0)
    for name, lowered in [("rtrl", rtrl_lowered), ("uoro", uoro_lowered)]:
        model = bench.Leaky(ref.LeakyRNN.init(2, n, 2, 0))  # (it may share arrays with its net: a net of its own)
        rg.bptt.train(model, xs[:, None], ys[:, None], rg.cross_entropy, rg.optim.SGD(model.parameters(), lr=lr),
                      bench.modes()[name], state=rg.zeros(1, n))
        for mine, theirs in zip(lowered(ref.LeakyRNN.init(2, n, 2, 0), xs, ys, lr=lr), (model.W, model.b, model.W_out, model.b_out)):
            np.testing.assert_allclose(mine, theirs.data, rtol=1e-10, atol=1e-12)
    print(f"check: the lowered RTRL and UORO steps train to retrograd's parameters ({steps} steps, lr {lr})")


def lowered_step_times(lowered, n_h, steps):
    """Each step's time in one run of a lowered-by-hand loop (s), stamped at the end of each step."""
    net = ref.LeakyRNN.init(2, n_h, 2, 0)
    xs, ys = ref.add_task(steps, 0)
    stamps = []
    start = time.perf_counter()
    lowered(net, xs, ys, stamps=stamps)
    return np.diff([start] + stamps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import retrograd as rg
    rg.set_default_dtype(np.float64)
    check()
    print(f"µs per step, batch 1: the median step of {args.steps}-step runs (after the first {bench.FIRST}), "
          f"best of {args.repeats} interleaved runs of each, as bench_online.py --comparison; ratios to the "
          f"hand-written NumPy reference")
    for name, lowered, algorithm in [("rtrl", rtrl_lowered, ref.RTRL),
                                     ("uoro", uoro_lowered, lambda: ref.UORO(np.random.default_rng(0)))]:
        for n in args.sizes:
            theirs = bound = ours = math.inf
            for _ in range(args.repeats):  # interleaved: a slow spell of the machine falls on all three
                theirs = min(theirs, np.median(bench.numpy_step_times(algorithm, n, args.steps)[bench.FIRST:]))
                bound = min(bound, np.median(lowered_step_times(lowered, n, args.steps)[bench.FIRST:]))
                ours = min(ours, np.median(bench.retrograd_step_times(bench.modes()[name], n, args.steps)[bench.FIRST:]))
            print(f"{name} n_h={n:<3}  numpy {theirs * 1e6:6.0f}   lowered by hand {bound * 1e6:6.0f} "
                  f"({bound / theirs:.2f})   retrograd compiled {ours * 1e6:6.0f} ({ours / theirs:.2f})")


if __name__ == "__main__":
    main()
