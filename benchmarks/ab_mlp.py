"""Interleaved A/B timing of the MLP step: NumPy by hand vs retrograd, on a noisy machine.

The harness (``bench_mlp.py``) times each implementation in its own phase, so
a neighbour's load during one phase skews the ratio. This script alternates
the implementations, ``--reps`` rounds of ``--steps`` steps each, and reports
the minimum per implementation and their ratios: the most repeatable number
on a shared 2-vCPU VM.

    python benchmarks/ab_mlp.py --config xor
    python benchmarks/ab_mlp.py --config mnist --reps 15
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench_mlp import BENCH, HERE


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="xor", choices=["xor", "mnist"])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--steps", type=int, default=None, help="steps per round (default: 2000 xor, 40 mnist)")
    args = ap.parse_args(argv)
    if not os.path.isdir(BENCH):
        raise SystemExit(f"shared benchmark harness not found at {BENCH} (set RETROGRAD_BENCH_DIR)")
    sys.path[:0] = [BENCH, HERE]
    from impl_numpy import NumpyMLP
    from impl_retrograd import RetrogradMLP, RetrogradMLPRaw
    from problems import mlp_config, mlp_data, mlp_params

    cfg = mlp_config(args.config)
    impls = {cls.__name__: cls(cfg, mlp_params(cfg), mlp_data(cfg), cfg["lr"])
             for cls in (NumpyMLP, RetrogradMLP, RetrogradMLPRaw)}
    steps = args.steps or (2000 if args.config == "xor" else 40)
    best = {k: float("inf") for k in impls}
    for _ in range(args.reps):
        for name, impl in impls.items():
            t = time.perf_counter()
            for _ in range(steps):
                impl.step()
            best[name] = min(best[name], (time.perf_counter() - t) / steps)
    base = best["NumpyMLP"]
    print(f"{args.config}: minimum over {args.reps} interleaved rounds of {steps} steps")
    for name, t in best.items():
        print(f"  {name:<18} {t * 1e6:9.1f} us   x numpy {t / base:5.2f}")


if __name__ == "__main__":
    main()
