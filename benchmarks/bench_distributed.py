"""Data-parallel training on MPI: charlm-sized LSTM, 1 vs 2 processes.

    python benchmarks/bench_distributed.py                 # launches mpiexec -n 1 and -n 2 itself
    python benchmarks/bench_distributed.py --updates 30 --lanes 32 --hidden 128
    python benchmarks/bench_distributed.py --modes ddp-after,ddp-overlap --bucket-kb 64

The model is the charlm demo's (Embedding(vocab, 32) → LSTM(32, hidden) →
Linear(hidden, vocab), vocabulary 96), trained with stateful chunk TBPTT
(``rg.bptt.train``, k = 32 steps per update) on ``lanes`` lanes in all: one
process reads them all, two processes read half each (the same global
batch, so the same updates: strong scaling). Each update's time is split
into compute (forward + backward + optimizer) and communication (the
bucketed gradient allreduce, ``GradientReducer.reduce``, timed inside the
run). The second table is the gradient volume each update moves per rank
for the models in ``benchmarks/`` under a ring allreduce, 2(p − 1)/p × the
gradient bytes, and what that costs on a 10 and 100 Gbit/s network, so the
scaling on a cluster can be predicted: time per update ≈ compute / p +
bytes / bandwidth (+ latency × buckets).

Modes (``--modes``, each run with 1 and 2 processes):

* ``bptt``: ``rg.bptt.train`` with a ``DistributedOptimizer`` (the reduction
  runs in ``step()``, after the whole backward pass);
* ``ddp-after``: a PyTorch-style loop (``loss.backward()``, ``opt.step()``)
  over ``DistributedDataParallel`` with one bucket: the reduction starts
  when the backward pass has ended (what every reduction did before);
* ``ddp-overlap``: the same loop with ``--bucket-kb`` buckets: each bucket's
  allreduce starts during the backward pass as soon as its gradients are
  final, and only what is still travelling at the end is waited for.

"comm" is the time the reduction adds to the update's critical path (its
exchanges, packing, waiting and unpacking; ``GradientReducer.comm_s``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))


def worker(args):
    import retrograd as rg
    import retrograd.distributed as dist
    from retrograd import bptt, nn, optim
    from retrograd.distributed.buckets import GradientReducer

    group = dist.init()
    comm_time = [0.0]
    reduce = GradientReducer.reduce

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return reduce(self, *a, **k)
        finally:
            comm_time[0] += time.perf_counter() - t0

    class CharLM(nn.Module):
        sequence_model = True

        def __init__(self, vocab, hidden):
            super().__init__()
            self.embed, self.lstm, self.readout = nn.Embedding(vocab, 32), nn.LSTM(32, hidden), nn.Linear(hidden, vocab)

        def forward(self, x, state):
            h, state = self.lstm(self.embed(x), state)
            return self.readout(h), state

    vocab, k = 96, 32
    rg.manual_seed(0)
    model = CharLM(vocab, args.hidden)
    rng = np.random.default_rng(0)
    lanes = [rng.integers(0, vocab, size=k * (args.updates + args.warmup) + 1) for _ in range(args.lanes)]
    batches = rg.data.stateful_batches(lanes, args.lanes, k, distributed=True)
    if args.mode == "bptt":
        GradientReducer.reduce = timed
        opt = dist.DistributedOptimizer(optim.Adam(model.parameters(), lr=3e-3))

        def update(batch, state):
            state, _ = bptt.train(model, batch.x, batch.y, rg.cross_entropy, opt, bptt.chunk(k), state=state)
            return state

        def comm_s():
            return comm_time[0]
    else:
        bucket = 25 * 1024 * 1024 if args.mode == "ddp-after" else args.bucket_kb * 1024
        ddp = dist.DistributedDataParallel(model, bucket_bytes=bucket)
        opt = optim.Adam(ddp.parameters(), lr=3e-3)

        def update(batch, state):
            opt.zero_grad()
            out, state = ddp(rg.tensor(batch.x), state)
            loss = rg.cross_entropy(out.reshape(-1, vocab), rg.tensor(batch.y.reshape(-1)))
            loss.backward()
            opt.step()
            return tuple(s.detach() for s in state)

        def comm_s():
            return ddp.reducer.comm_s
    state = None
    for i, batch in enumerate(batches):
        if i == args.warmup:
            base = comm_s()
            group.barrier()
            start = time.perf_counter()
        if i >= args.warmup + args.updates:
            break
        state = update(batch, state)
    group.barrier()
    total = (time.perf_counter() - start) / args.updates
    comm = np.array([(comm_s() - base) / args.updates])
    group.allreduce(comm, "max")
    nbytes = sum(p.data.nbytes for p in model.parameters())
    buckets = len(ddp.reducer.buckets) if args.mode != "bptt" else 1
    if group.rank == 0:
        print(json.dumps({"procs": group.size, "update_s": total, "comm_s": float(comm[0]), "grad_bytes": nbytes,
                          "buckets": buckets}))


def volume_table():
    """Gradient bytes per update of the benchmarks' models (float32 parameters)."""
    import retrograd as rg
    from retrograd import nn

    rg.manual_seed(0)

    def count(m):
        return sum(p.data.size for p in m.parameters()) * 4

    models = {
        "charlm (Embedding 96×32, LSTM 32→128, Linear 128→96)":
            count(nn.Embedding(96, 32)) + count(nn.LSTM(32, 128)) + count(nn.Linear(128, 96)),
        "charlm hidden 512": count(nn.Embedding(96, 32)) + count(nn.LSTM(32, 512)) + count(nn.Linear(512, 96)),
        "bench_mlp-sized MLP 784→256→256→10": count(nn.Linear(784, 256)) + count(nn.Linear(256, 256))
        + count(nn.Linear(256, 10)),
        "LSTM 2 layers 512, vocab 10k (word LM)": count(nn.Embedding(10000, 512)) + count(nn.LSTM(512, 512, 2))
        + count(nn.Linear(512, 10000)),
    }
    print("\n### communication per update (ring allreduce: each rank sends and receives 2(p−1)/p × "
          "gradient bytes)\n")
    print("| model | gradient MB | p=2 MB/rank | p=8 MB/rank | p=64 MB/rank | p=8 @10 Gbit/s ms "
          "| p=8 @100 Gbit/s ms |")
    print("|---|---|---|---|---|---|---|")
    for name, b in models.items():
        per = {p: 2 * (p - 1) / p * b for p in (2, 8, 64)}
        print(f"| {name} | {b / 1e6:.2f} | {per[2] / 1e6:.2f} | {per[8] / 1e6:.2f} | {per[64] / 1e6:.2f} | "
              f"{per[8] * 8 / 10e9 * 1e3:.2f} | {per[8] * 8 / 100e9 * 1e3:.3f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--lanes", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--procs", default="1,2")
    parser.add_argument("--modes", default="bptt,ddp-after,ddp-overlap")
    parser.add_argument("--bucket-kb", type=int, default=64, help="bucket size of ddp-overlap (KiB)")
    parser.add_argument("--mode", default="bptt", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    exe = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    exe = exe if os.path.exists(exe) else shutil.which("mpiexec")
    if exe is None:
        raise SystemExit("mpiexec not found: pip install mpi4py mpich")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    print(f"### charlm-sized LSTM, {args.lanes} lanes in all, k = 32, hidden {args.hidden}, float32, "
          f"1 BLAS thread per process, {os.cpu_count()} cores\n")
    print("| mode | processes | lanes/process | buckets | ms/update | compute ms | comm ms | comm share | speed-up "
          "1→p | gradient KB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        rows = []
        for p in (int(v) for v in args.procs.split(",")):
            cmd = [exe, "-n", str(p), sys.executable, os.path.abspath(__file__), "--worker", "--mode", mode,
                   "--updates", str(args.updates), "--warmup", str(args.warmup), "--lanes", str(args.lanes),
                   "--hidden", str(args.hidden), "--bucket-kb", str(args.bucket_kb)]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
        base = rows[0]["update_s"]
        for r in rows:
            t, c = r["update_s"], r["comm_s"]
            print(f"| {mode} | {r['procs']} | {args.lanes // r['procs']} | {r['buckets']} | {t * 1e3:.1f} | "
                  f"{(t - c) * 1e3:.1f} | {c * 1e3:.2f} | {c / t:.1%} | {base / t:.2f}x | "
                  f"{r['grad_bytes'] / 1024:.0f} |", flush=True)
    volume_table()


if __name__ == "__main__":
    main()
