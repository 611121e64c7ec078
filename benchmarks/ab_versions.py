"""Before/after: two versions of retrograd on the same workloads, interleaved.

Each round runs one short worker process per version (alternating, so a noisy
neighbour hits both), which times the MLP steps (retrograd nn+optim and
functional, normalised by the hand-written NumPy step in the same process) and
the fused-LSTM training step; the report gives, per workload, the minimum over
rounds and the ratio after / before (below 1 is faster).

    git worktree add /tmp/rg_before <old revision>
    python benchmarks/ab_versions.py --before /tmp/rg_before/src --rounds 5

Both versions run the *current* ``benchmarks/impl_retrograd.py`` (public API only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench_mlp import BENCH, HERE

WORKLOADS = {  # name: (kind, config, steps per timing)
    "xor nn+optim": ("mlp", "xor", 2000),
    "xor functional": ("mlp_raw", "xor", 2000),
    "mnist nn+optim": ("mlp", "mnist", 30),
    "lstm a": ("lstm", "a", 3),
    "lstm c (tiny)": ("lstm", "c", 10),
}

WORKER = r"""
import json, sys, time
sys.path[:0] = [{bench!r}, {here!r}]
from problems import mlp_config, mlp_data, mlp_params, lstm_config, lstm_data, lstm_params
from impl_numpy import NumpyMLP
from impl_retrograd import RetrogradMLP, RetrogradMLPRaw, RetrogradLSTM
kinds = {{"mlp": RetrogradMLP, "mlp_raw": RetrogradMLPRaw, "lstm": RetrogradLSTM}}
out = {{}}
for name, (kind, cfg_name, steps) in {workloads!r}.items():
    if kind == "lstm":
        cfg = lstm_config(cfg_name); impl = RetrogradLSTM(cfg, lstm_params(cfg), lstm_data(cfg), cfg.get("lr", 0.1))
        base = None
    else:
        cfg = mlp_config(cfg_name); args = (cfg, mlp_params(cfg), mlp_data(cfg), cfg["lr"])
        impl, base = kinds[kind](*args), NumpyMLP(*args)
    best = {{}}
    for label, obj in (("impl", impl), ("base", base)):
        if obj is None:
            continue
        obj.step()
        t = time.perf_counter()
        for _ in range(steps):
            obj.step()
        best[label] = (time.perf_counter() - t) / steps
    out[name] = best
print(json.dumps(out))
"""


def _run(src, threads):
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    code = WORKER.format(bench=BENCH, here=HERE, workloads=WORKLOADS)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the src/ folder of the old version")
    ap.add_argument("--after", default=os.path.join(HERE, "..", "src"), help="the src/ folder of the new version")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    best = {v: {} for v in ("before", "after")}
    for _ in range(args.rounds):
        for version in ("before", "after"):
            for name, t in _run(getattr(args, version), args.threads).items():
                slot = best[version].setdefault(name, {})
                for label, value in t.items():
                    slot[label] = min(slot.get(label, float("inf")), value)
    print(f"minimum over {args.rounds} interleaved rounds, {args.threads} threads; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print("| workload | before | after | after / before | before x numpy | after x numpy |")
    print("|---|---|---|---|---|---|")
    for name in WORKLOADS:
        b, a = best["before"][name], best["after"][name]
        rel = lambda t: f"{t['impl'] / t['base']:.2f}" if "base" in t else "-"  # noqa: E731
        print(f"| {name} | {b['impl'] * 1e3:.3f} ms | {a['impl'] * 1e3:.3f} ms | {a['impl'] / b['impl']:.2f} | "
              f"{rel(b)} | {rel(a)} |")


if __name__ == "__main__":
    main()
