"""The tiny recurrent layer (config c: B 1, T 200, I 8, H 32, float32): the
fused NumPy loops, the compiled loops (``retrograd.recurrent.compiled``,
numba) and PyTorch's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``, side by side.

One training step's gradient work, full BPTT: forward over all steps, the loss
Σ y², and the gradient of every parameter (and of x and h₀ where the
implementation computes them). Implementations, interleaved round by round
so that all see the same machine state:

* ``rg layer``: ``rg.nn.LSTM`` … as a user calls it (whatever path
  ``fused.py`` takes: the NumPy loop, or the compiled one once wired in);
* ``fused op``: the fused op (``fused.LSTMLayer`` …) and ``rg.grad`` — the
  NumPy step loops plus one op's autograd bookkeeping;
* ``compiled``: the same arithmetic driven by hand on arrays: the input
  projection GEMM, the compiled forward loop, the slopes, the compiled BPTT
  loop, the weight-gradient GEMMs (no autograd bookkeeping);
* ``torch``: PyTorch's fused layer, ``torch.set_num_threads(2)``.

    python benchmarks/bench_tiny_rnn.py                      # LSTM, GRU, RNN at config c
    python benchmarks/bench_tiny_rnn.py --kinds LSTM --rounds 31
    python benchmarks/bench_tiny_rnn.py --sweep              # fused op vs compiled over B × H

``--sweep`` prints the ratio compiled / fused op over a grid of batch and
hidden sizes (T 50, I = H): where it crosses 1 is what
``compiled.worth_it`` encodes. Ratios are of times in one run (the median
and the best round); absolute times vary between machines.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

import retrograd as rg  # noqa: E402
from retrograd.recurrent import compiled, fused  # noqa: E402
from retrograd.recurrent.packing import Steps  # noqa: E402

K = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _weights(kind, I, H, rng, dtype):
    k, s = K[kind], 1 / np.sqrt(H)
    return [rng.uniform(-s, s, shp).astype(dtype) for shp in [(k * H, I), (k * H, H), (k * H,), (k * H,)]]


def compiled_step(kind, steps, x, h0, c0, ws):
    """Forward + full BPTT of Σ y² with the compiled loops; returns the gradients."""
    w_ih, w_hh, b_ih, b_hh = ws
    N, H, dt = x.shape[0], w_hh.shape[1], x.dtype
    if kind == "LSTM":
        G = x @ w_ih.T
        G += b_ih
        G += b_hh
        Y, C, TC = (np.empty((N, H), dtype=dt) for _ in range(3))
        compiled.lstm_forward_steps(steps, G, h0, c0, w_hh, Y, C, TC)
        g_y = 2 * Y
        dA = np.subtract(1, G)
        dA *= G
        g = G[:, 2 * H:3 * H]
        dA[:, 2 * H:3 * H] = 1 - g * g
        c_slope = 1 - TC * TC
        dh, dc = np.zeros_like(h0), np.zeros_like(c0)
        compiled.lstm_backward_steps(steps, G, C, TC, c0, w_hh, g_y, dA, c_slope, dh, dc)
    elif kind == "GRU":
        G = x @ w_ih.T
        G += b_ih
        GHn, Y = np.empty((N, H), dtype=dt), np.empty((N, H), dtype=dt)
        compiled.gru_forward_steps(steps, G, h0, w_hh, b_hh, GHn, Y)
        g_y = 2 * Y
        dA = np.subtract(1, G)
        dA *= G
        n = G[:, 2 * H:]
        dA[:, 2 * H:] = 1 - n * n
        dGH, dh = np.empty_like(G), np.zeros_like(h0)
        compiled.gru_backward_steps(steps, G, GHn, Y, h0, w_hh, g_y, dA, dGH, dh)
    else:
        G = x @ w_ih.T
        G += b_ih
        G += b_hh
        Y = np.empty((N, H), dtype=dt)
        compiled.rnn_forward_steps(steps, G, h0, w_hh, Y)
        g_y = 2 * Y
        dA = 1 - Y * Y
        dh = np.zeros_like(h0)
        compiled.rnn_backward_steps(steps, w_hh, g_y, dA, dh)
    B = steps.batch
    dR = dA if kind != "GRU" else dGH
    gw_hh = dR[:B].T @ h0 + dR[B:].T @ Y[:N - B]          # dense batch: hₜ₋₁ rows are Y shifted by one step
    return dA @ w_ih, dh, dA.T @ x, gw_hh, dA.sum(axis=0), dR.sum(axis=0)


def _runners(kind, B, T, I, H, with_torch=True, with_layer=True, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.float32
    steps = Steps.full(T, B)
    x = rng.standard_normal((T * B, I)).astype(dtype)
    h0 = np.zeros((B, H), dtype)
    c0 = np.zeros((B, H), dtype)
    ws = _weights(kind, I, H, rng, dtype)
    wt = [rg.tensor(w, requires_grad=True) for w in ws]
    xt = rg.tensor(x)

    def fused_op():
        state = [rg.tensor(h0)] + ([rg.tensor(c0)] if kind == "LSTM" else [])
        op = getattr(fused, f"{kind}Layer")(steps, "tanh")
        y = op(xt, *state, *wt)[0]
        return rg.grad((y * y).sum(), wt)

    runners = {"fused op": fused_op}
    if compiled.available():
        runners["compiled"] = lambda: compiled_step(kind, steps, x, h0, c0, ws)
    if with_layer:
        layer = getattr(rg.nn, kind)(I, H)
        x3 = rg.tensor(x.reshape(T, B, I))

        def layer_step():
            for p in layer.parameters():
                p.grad = None
            y = layer(x3)[0]
            (y * y).sum().backward()
        runners["rg layer"] = layer_step
    if with_torch:
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            torch.set_num_threads(2)
            tl = getattr(torch.nn, kind)(I, H)
            xt3 = torch.from_numpy(x.reshape(T, B, I).copy())

            def torch_step():
                tl.zero_grad(set_to_none=True)
                y = tl(xt3)[0]
                (y * y).sum().backward()
            runners["torch"] = torch_step
    return runners


def measure(runners, rounds, inner, stat=np.median):
    """Seconds per call of each runner, interleaved round by round: ``stat`` over
    the rounds (the median, or the minimum, which a machine shared with other jobs
    disturbs least), or with ``stat=list`` every round's time."""
    for fn in runners.values():          # warm up (and compile)
        for _ in range(3):
            fn()
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            # let the previous runner's idle pool threads (OpenBLAS', PyTorch's) stop spinning:
            # on 2 cores they otherwise steal the next runner's CPUs (PyTorch's LSTM ran 10x slower)
            time.sleep(0.02)
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - t0) / inner)
    return {name: (v if stat is list else float(stat(v))) for name, v in times.items()}


def _versions():
    import platform

    import numba
    parts = [f"numpy {np.__version__}", f"numba {numba.__version__}" if compiled.available() else "no numba"]
    try:
        import torch
        parts.append(f"torch {torch.__version__}")
    except ImportError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} CPUs, " + ", ".join(parts)


def config_c(kinds, rounds, inner):
    B, T, I, H = 1, 200, 8, 32
    print(f"config c: B {B}, T {T}, I {I}, H {H}, float32, full BPTT (forward + backward); {_versions()}")
    print(f"{rounds} interleaved rounds × {inner} calls; the median, and the best round (least disturbed "
          f"by other jobs: PyTorch's two threads suffer most from a shared machine)\n")
    print("| layer | stat | fused op ms | compiled ms | rg layer ms | torch ms | compiled / fused op "
          "| compiled / torch | rg layer / torch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        runs = measure(_runners(kind, B, T, I, H), rounds, inner, stat=list)
        for stat in (np.median, np.min):
            t = {n: float(stat(v)) for n, v in runs.items()}

            def ms(n):
                return f"{t[n] * 1e3:.3f}" if n in t else "-"

            def ratio(a, b):
                return f"{t[a] / t[b]:.2f}" if a in t and b in t else "-"
            print(f"| {kind} | {'median' if stat is np.median else 'best'} | {ms('fused op')} | {ms('compiled')} | "
                  f"{ms('rg layer')} | {ms('torch')} | {ratio('compiled', 'fused op')} | "
                  f"{ratio('compiled', 'torch')} | {ratio('rg layer', 'torch')} |", flush=True)


def sweep(kinds, rounds, batches=(1, 2, 4, 8, 16, 32, 64), hidden=(16, 32, 64, 128, 256), T=50):
    print(f"compiled / fused op (forward + BPTT, float32, T {T}, I = H, median of {rounds} paired rounds); "
          f"< 1: compiled faster; {_versions()}\n")
    for kind in kinds:
        print(f"{kind}: rows B, columns H")
        print("| B \\ H | " + " | ".join(map(str, hidden)) + " |")
        print("|---" * (len(hidden) + 1) + "|")
        for B in batches:
            cells = []
            for H in hidden:
                r = _runners(kind, B, T, H, H, with_torch=False, with_layer=False)
                t0 = time.perf_counter()
                r["fused op"]()
                inner = max(1, int(0.004 / (time.perf_counter() - t0)))   # ≈ 4 ms blocks
                runs = measure(r, rounds, inner, stat=list)
                # the median of each round's paired ratio: both sides of a pair ran
                # back to back, so a slow spell of the shared machine hits both
                pairs = np.array(runs["compiled"]) / np.array(runs["fused op"])
                cells.append(f"{np.median(pairs):.2f}")
            print(f"| {B} | " + " | ".join(cells) + " |", flush=True)
        print()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kinds", default="LSTM,GRU,RNN")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--inner", type=int, default=20)
    p.add_argument("--sweep", action="store_true", help="compiled / fused op over a grid of B and H")
    a = p.parse_args(argv)
    kinds = [k.strip().upper() for k in a.kinds.split(",")]
    if a.sweep:
        if not compiled.available():
            raise SystemExit("--sweep needs numba: pip install 'retrograd[speed]'")
        sweep(kinds, a.rounds)
    else:
        config_c(kinds, a.rounds, a.inner)


if __name__ == "__main__":
    main()
