"""Truncated BPTT training, retrograd vs PyTorch, side by side in one run.

One long character sequence (vocabulary 65) is cut into chunks of k steps;
each chunk is one SGD update and the LSTM state is carried to the next chunk
by value (the gradient is cut): ``rg.bptt.train(..., rg.bptt.chunk(k))`` with
a carried state against PyTorch's ``h = h.detach()`` loop over ``nn.LSTM``
(oneDNN) and over an ``nn.LSTMCell`` Python loop. Both start from the same
weights; the first updates' losses are compared before timing.

    python benchmarks/bench_tbptt.py                 # E64 H512 B32, k = 32, 8 chunks, 2 threads
    python benchmarks/bench_tbptt.py --hidden 128 --chunks 16 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--vocab", type=int, default=65)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np

    import retrograd as rg

    V, E, H, B, k, C = args.vocab, args.embed, args.hidden, args.batch, args.k, args.chunks
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, V, size=(C * k + 1, B))
    rg.manual_seed(0)

    class CharLM(rg.nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.embed = rg.nn.Embedding(V, E)
            self.lstm = rg.nn.LSTM(E, H)
            self.readout = rg.nn.Linear(H, V)

        def forward(self, x, state):
            h, state = self.lstm(self.embed(x), state)
            return self.readout(h), state

    model = CharLM()
    weights = {k_: v.copy() for k_, v in model.state_dict().items()}
    lr = 0.1

    def retrograd_epoch():
        opt = rg.optim.SGD(model.parameters(), lr=lr)
        state, losses = None, []
        for c in range(C):
            xs, ys = tokens[c * k:(c + 1) * k], tokens[c * k + 1:(c + 1) * k + 1]
            state, step_losses = rg.bptt.train(model, xs, ys, rg.cross_entropy, opt, rg.bptt.chunk(k), state=state)
            losses.append(float(step_losses.mean()))
        return losses

    results = {}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)
        tn = torch.nn

        class TorchLM(tn.Module):
            def __init__(self, cell):
                super().__init__()
                self.embed = tn.Embedding(V, E)
                self.cell = cell
                self.lstm = tn.LSTMCell(E, H) if cell else tn.LSTM(E, H)
                self.readout = tn.Linear(H, V)

            def forward(self, x, state):
                e = self.embed(x)
                if self.cell:
                    h, c = (None, None) if state is None else state
                    outs = []
                    for t in range(e.shape[0]):
                        h, c = self.lstm(e[t], None if h is None else (h, c))
                        outs.append(h)
                    return self.readout(torch.stack(outs)), (h, c)
                out, state = self.lstm(e, state)
                return self.readout(out), state

        def torch_epoch(tmodel):
            opt = torch.optim.SGD(tmodel.parameters(), lr=lr)
            state, losses = None, []
            for c in range(C):
                xs = torch.from_numpy(tokens[c * k:(c + 1) * k])
                ys = torch.from_numpy(tokens[c * k + 1:(c + 1) * k + 1])
                logits, state = tmodel(xs, state)
                # the same loss as rg.bptt: Σ over steps of the per-step mean cross-entropy
                loss = tn.functional.cross_entropy(logits.reshape(-1, V), ys.reshape(-1)) * k
                opt.zero_grad()
                loss.backward()
                opt.step()
                state = tuple(s.detach() for s in state)   # the detach idiom: value kept, gradient cut
                losses.append(loss.item() / k)
            return losses

        torch_models = {}
        for name, cell in (("torch nn.LSTM + detach", False), ("torch LSTMCell loop + detach", True)):
            m = TorchLM(cell)
            sd = {"embed.weight": weights["embed.weight"], "readout.weight": weights["readout.weight"],
                  "readout.bias": weights["readout.bias"]}
            for n_ in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                sd[f"lstm.{n_}" + ("" if cell else "_l0")] = weights[f"lstm.{n_}_l0"]
            m.load_state_dict({k_: torch.from_numpy(v) for k_, v in sd.items()})
            torch_models[name] = m
    # correctness: the first epoch's losses agree (same weights, same data)
    ref = retrograd_epoch()
    model.load_state_dict(weights)
    print(f"# E{E} H{H} B{B}, {C} chunks of k={k} steps, vocabulary {V}, {args.threads} thread(s)")
    if torch is not None:
        for name, m in torch_models.items():
            other = torch_epoch(m)
            err = max(abs(a - b) / abs(b) for a, b in zip(ref, other))
            print(f"# first-epoch losses, retrograd vs {name}: max relative difference {err:.1e}")
    timings = {"retrograd bptt.chunk": lambda: retrograd_epoch()}
    if torch is not None:
        for name, m in torch_models.items():
            timings[name] = (lambda mm: lambda: torch_epoch(mm))(m)
    for name, fn in timings.items():
        fn()  # warm-up
        runs = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn()
            runs.append((time.perf_counter() - t) / C)
        results[name] = statistics.median(runs)
    base = results["retrograd bptt.chunk"]
    print("\n| implementation | ms per chunk update | retrograd / this |")
    print("|---|---|---|")
    for name, t in results.items():
        print(f"| {name} | {t * 1e3:.1f} | {base / t:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
