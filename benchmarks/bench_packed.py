"""The packed and masked paths of the fused layers against the unpadded step
on the same real tokens (issue target: ≤ 1.15×), with PyTorch's packed LSTM
beside them.

A batch of B sequences with lengths drawn from [T/4, T] is run three ways,
forward + backward (the gradient of every parameter), interleaved so that all
see the same machine state:

* ``unpadded``: a plain (T', B) batch with T' · B equal to the real tokens
  (the cost floor: no padding at all);
* ``packed``: ``pack_padded_sequence`` of the padded batch into the layer;
* ``masked``: the padded (T, B) batch with ``mask=`` (Keras' masking).

    python benchmarks/bench_packed.py                 # LSTM and GRU, 2 threads
    python benchmarks/bench_packed.py --kinds LSTM --repeats 30

Ratios are of median times in one run; absolute times vary between machines.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

import retrograd as rg  # noqa: E402
from retrograd.nn.utils import rnn  # noqa: E402

CONFIGS = {"small": (32, 64, 32, 64), "medium": (32, 100, 64, 256)}  # B, T, I, H


def _runners(kind, B, T, I, H, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.sort(rng.integers(T // 4, T + 1, size=B))[::-1].copy()
    tokens = int(lengths.sum())
    T_flat = max(1, round(tokens / B))
    layer = getattr(rg.nn, kind)(I, H)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    x_flat = rng.standard_normal((T_flat, B, I)).astype(np.float32)
    mask = np.arange(T)[:, None] < lengths[None, :]

    def step(fn):
        def run():
            for p in layer.parameters():
                p.grad = None
            out = fn()
            (out * out).sum().backward()
        return run

    runners = {
        "unpadded": step(lambda: layer(rg.tensor(x_flat))[0]),
        "packed": step(lambda: layer(rnn.pack_padded_sequence(rg.tensor(x), lengths))[0].data),
        "masked": step(lambda: layer(rg.tensor(x), mask=mask)[0]),
    }
    try:
        import torch
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        tl = getattr(torch.nn, kind)(I, H)
        xt = torch.tensor(x)

        def torch_packed():
            tl.zero_grad()
            out = tl(torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths)))[0].data
            (out * out).sum().backward()

        def torch_unpadded():
            tl.zero_grad()
            out = tl(torch.tensor(x_flat))[0]
            (out * out).sum().backward()
        runners["torch packed"], runners["torch unpadded"] = torch_packed, torch_unpadded
    except ImportError:
        pass
    return runners, tokens, T_flat


def measure(runners, repeats):
    times = {k: [] for k in runners}
    for fn in runners.values():
        fn()  # warm up
    for _ in range(repeats):
        for k, fn in runners.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="LSTM,GRU")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, threads "
          f"{os.environ['OMP_NUM_THREADS']}\n")
    print("| layer | config (B, T, I, H) | real tokens | unpadded ms | packed × unpadded | masked × unpadded "
          "| torch packed × torch unpadded |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        for name in args.configs.split(","):
            B, T, I, H = CONFIGS[name]
            runners, tokens, T_flat = _runners(kind, B, T, I, H)
            med = measure(runners, args.repeats)
            base = med["unpadded"]
            torch_ratio = (f"{med['torch packed'] / med['torch unpadded']:.2f}" if "torch packed" in med else "-")
            print(f"| {kind} | {name} {(B, T, I, H)} | {tokens} (= {T_flat}×{B}) | {base * 1e3:.1f} | "
                  f"{med['packed'] / base:.2f} | {med['masked'] / base:.2f} | {torch_ratio} |")


if __name__ == "__main__":
    main()
