"""GRU and Elman RNN training steps side by side with PyTorch's ``nn.GRU`` /
``nn.RNN`` (and ``nn.LSTM`` for reference), on the four shapes of the LSTM
benchmark (``../shared/bench/problems.py``: a–d; d's vocabulary is read as
an input of width E = 64 here).

One step: the layer over the sequence, a linear readout on every step, MSE,
full BPTT and an SGD update, float32, from identical parameters. The first
loss is checked equal (1e-4 relative) before timing; the implementations run
interleaved, so a noisy neighbour hits both.

    python benchmarks/bench_recurrent_kinds.py                    # GRU, RNN; configs a–d; 2 threads
    python benchmarks/bench_recurrent_kinds.py --kinds GRU,LSTM --configs a,c --repeats 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time

THREADS = os.environ.get("THREADS", "2")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = THREADS

import numpy as np  # noqa: E402

import retrograd as rg  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
try:
    from problems import LSTM_CONFIGS  # noqa: E402
except ImportError:  # pragma: no cover - the harness lives beside the repository
    LSTM_CONFIGS = {"a": dict(B=32, T=100, I=64, H=256, O=32), "b": dict(B=64, T=50, I=128, H=512, O=32),
                    "c": dict(B=1, T=200, I=8, H=32, O=4), "d": dict(B=32, T=64, I=64, H=512, O=65)}
LR = 0.05


def _problem(kind, cfg, seed=0):
    rng = np.random.default_rng(seed)
    B, T, I, H, O = cfg["B"], cfg["T"], cfg["I"], cfg["H"], cfg["O"]
    k = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    s = 1 / np.sqrt(H)
    params = {"weight_ih_l0": rng.uniform(-s, s, (k * H, I)), "weight_hh_l0": rng.uniform(-s, s, (k * H, H)),
              "bias_ih_l0": rng.uniform(-s, s, k * H), "bias_hh_l0": rng.uniform(-s, s, k * H),
              "W_out": rng.uniform(-s, s, (O, H)), "b_out": rng.uniform(-s, s, O)}
    params = {n: v.astype(np.float32) for n, v in params.items()}
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    y = rng.standard_normal((T, B, O)).astype(np.float32)
    return params, x, y


class Retrograd:
    def __init__(self, kind, cfg, params, x, y):
        self.rnn = getattr(rg.nn, kind)(cfg["I"], cfg["H"])
        self.rnn.load_state_dict({n: v for n, v in params.items() if n.endswith("_l0")})
        self.lin = rg.nn.Linear(cfg["H"], cfg["O"])
        self.lin.load_state_dict({"weight": params["W_out"], "bias": params["b_out"]})
        self.opt = rg.optim.SGD(list(self.rnn.parameters()) + list(self.lin.parameters()), lr=LR)
        self.x, self.y = rg.tensor(x), rg.tensor(y)

    def step(self):
        self.opt.zero_grad()
        out, _ = self.rnn(self.x)
        loss = rg.mse_loss(self.lin(out), self.y)
        loss.backward()
        self.opt.step()
        return float(loss.data)


class Torch:
    def __init__(self, kind, cfg, params, x, y):
        import torch
        torch.set_num_threads(int(THREADS))
        self.torch = torch
        self.rnn = getattr(torch.nn, kind)(cfg["I"], cfg["H"])
        self.lin = torch.nn.Linear(cfg["H"], cfg["O"])
        with torch.no_grad():
            for n, p in self.rnn.named_parameters():
                p.copy_(torch.from_numpy(params[n]))
            self.lin.weight.copy_(torch.from_numpy(params["W_out"]))
            self.lin.bias.copy_(torch.from_numpy(params["b_out"]))
        self.opt = torch.optim.SGD(list(self.rnn.parameters()) + list(self.lin.parameters()), lr=LR)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        out, _ = self.rnn(self.x)
        loss = self.torch.nn.functional.mse_loss(self.lin(out), self.y)
        loss.backward()
        self.opt.step()
        return float(loss.detach())


def run(kind, name, repeats):
    cfg = LSTM_CONFIGS[name]
    params, x, y = _problem(kind, cfg)
    impls = {"retrograd": Retrograd(kind, cfg, params, x, y), "torch": Torch(kind, cfg, params, x, y)}
    first = {k: impl.step() for k, impl in impls.items()}
    if abs(first["retrograd"] - first["torch"]) > 1e-4 * abs(first["torch"]):
        raise SystemExit(f"{kind} {name}: first losses differ: {first}")
    times = {k: [] for k in impls}
    for _ in range(2):
        for impl in impls.values():
            impl.step()
    for _ in range(repeats):
        for k, impl in impls.items():
            t0 = time.perf_counter()
            impl.step()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="GRU,RNN")
    ap.add_argument("--configs", default="a,b,c,d")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args(argv)
    import torch
    print(f"{THREADS} threads, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"numpy {np.__version__}, torch {torch.__version__}\n")
    print("| layer | config | retrograd ms | torch ms | retrograd / torch |")
    print("|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        for name in args.configs.split(","):
            med = run(kind, name, args.repeats)
            print(f"| {kind} | {name}: {LSTM_CONFIGS[name].get('desc', '')} | {med['retrograd'] * 1e3:.2f} | "
                  f"{med['torch'] * 1e3:.2f} | {med['retrograd'] / med['torch']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
