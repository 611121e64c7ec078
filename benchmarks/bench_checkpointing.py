"""Memory-budgeted BPTT: peak memory and time of full-BPTT gradients under
retrograd's checkpointing schedules, against its own store-every-tape run.

    python benchmarks/bench_checkpointing.py                 # config a at T = 1000, 2 threads
    python benchmarks/bench_checkpointing.py --T 300 --repeats 2 --snapshots 8,32 --budgets 0.05

Config a of the LSTM benchmark (B32, I64, H256, O32, float32, an MSE loss per
step) at T steps, the fused ``nn.LSTM`` used as a sequence model (the engine
calls it once per unit of a schedule: one call of T steps when every tape is
stored, single steps under binomial checkpointing). For every mode:

* **peak**: the tracemalloc peak during ``rg.bptt.gradient`` above what was
  allocated before it (NumPy reports its buffers to tracemalloc): tapes,
  snapshots, gradients and temporaries, in a run of its own;
* **engine**: the peak the engine itself counts (snapshots + the tape being
  reversed, ``mode.last_plan.measured_peak``);
* **ms/step**: the least wall time of the gradient over ``--repeats`` rounds
  that run every mode in turn (tracemalloc off), divided by T;
* **recomputed**: steps run beyond one forward pass (``plan.recomputed``).

Ratios are to store-all in the same run. The gradients of every mode are
checked against store-all first (float32: relative 1e-4). The target
(issue 11) is ≥ 95 % less peak memory for ≤ 30 % more time per step.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--snapshots", default="10,32,100", help="binomial checkpointing over single steps with s snapshots")
    ap.add_argument("--budgets", default="0.03,0.01",
                    help="memory_budget rows, as fractions of store-all's traced peak (the budget bounds the tape "
                         "and the snapshots; the gradient accumulators, a few MiB here, come on top)")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import retrograd as rg
    from retrograd import bptt, nn

    B, I, H, O, T = 32, 64, 256, 32, args.T

    class Model(nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(I, H)
            self.out = nn.Linear(H, O)

        def forward(self, x, state):
            h, state = self.rnn(x, state)
            return self.out(h), state

    rg.manual_seed(0)
    model = Model()
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((T, B, I)).astype(np.float32)
    ys = rng.standard_normal((T, B, O)).astype(np.float32)

    def grad(mode):
        return bptt.gradient(model, xs, ys, rg.mse_loss, mode)

    def traced(mode):
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        g = grad(mode)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return peak, g

    full_peak, exact = traced(bptt.full())
    modes = [("store all", bptt.full()), (f"√T segments (checkpoint_every={round(T ** 0.5)})",
                                          bptt.full(checkpoint_every=round(T ** 0.5)))]
    for frac in (float(v) for v in args.budgets.split(",") if v):
        budget = int(frac * full_peak)
        modes.append((f"memory_budget={budget / 2**20:.1f} MiB ({frac:.0%} of store-all)",
                       bptt.full(memory_budget=budget)))
    for s in (int(v) for v in args.snapshots.split(",") if v):
        modes.append((f"binomial, {s} snapshots", bptt.full(snapshots=s)))

    peaks = {}
    for label, mode in modes:
        peak, g = (full_peak, exact) if mode is modes[0][1] else traced(mode)
        for k in exact:
            err = float(np.abs(g[k] - exact[k]).max() / max(np.abs(exact[k]).max(), 1e-30))
            assert err < 1e-4, f"{label}: gradient of {k} differs from store-all by {err:.2e}"
        peaks[label] = peak
    # rounds interleave the modes (a noisy shared machine slows them alike); the fastest round counts
    times = {label: [] for label, _ in modes}
    for _ in range(args.repeats):
        for label, mode in modes:
            t0 = time.perf_counter()
            grad(mode)
            times[label].append(time.perf_counter() - t0)
    rows = []
    for label, mode in modes:
        plan = mode.last_plan
        rows.append((label, peaks[label], plan.measured_peak, min(times[label]) / T, plan.recomputed, plan))

    print(f"\n## BPTT checkpointing: config a (B{B} I{I} H{H} O{O} float32), T = {T}\n")
    print(f"{platform.machine()}, {platform.python_version()}, numpy {np.__version__}, {args.threads} threads; "
          f"`python benchmarks/bench_checkpointing.py --T {T} --repeats {args.repeats} "
          f"--snapshots {args.snapshots} --budgets {args.budgets}`\n")
    print("| schedule | peak MiB | engine MiB | ms/step | recomputed steps | peak × store-all | memory saved "
          "| time × store-all |")
    print("|---|---|---|---|---|---|---|---|")
    _, p0, _, t0, _, _ = rows[0]
    for label, peak, engine, per_step, recomputed, _ in rows:
        eng = "-" if engine is None else f"{engine / 2**20:.1f}"
        print(f"| {label} | {peak / 2**20:.1f} | {eng} | {per_step * 1e3:.3f} | {recomputed} | {peak / p0:.3f} | "
              f"{1 - peak / p0:.1%} | {per_step / t0:.2f} |")
    print()
    for label, *_, plan in rows[1:]:
        print(f"{label}:\n{plan}\n")


if __name__ == "__main__":
    main()
