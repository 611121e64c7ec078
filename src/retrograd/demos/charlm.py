"""A stateful character-level LSTM language model trained with truncated BPTT.

The text is Python source every machine has: modules of the standard
library. It is cut into ``batch_size`` lanes read side by side
(``rg.data.stateful_batches``), so row i of each batch continues row i of the
previous one; the LSTM state is carried across batches by value and the
gradient is cut every ``k`` steps (``rg.bptt.chunk(k)``), with the state reset
where a lane starts a new sequence — Keras' ``stateful=True``, done
explicitly. Samples are printed as it learns.

Data-parallel: ``mpiexec -n 2 retrograd demo charlm --distributed`` (or
``run(distributed=True)``) shares the ``batch_size`` lanes among the
processes (``stateful_batches(..., distributed=True)``), each carrying the
LSTM state of its own rows, and averages the gradients in the optimizer's
step (``rg.distributed.DistributedOptimizer``); every process takes the same
update as one process over all lanes would, and rank 0 prints and plots.
"""

from __future__ import annotations

import inspect
import os

import numpy as np

import retrograd as rg
from retrograd import bptt, nn, optim
from retrograd.train import progress_bar, say

DESCRIPTION = "stateful LSTM character model, chunk TBPTT on standard-library source, prints samples as it learns"

MODULES = ("textwrap", "string", "fnmatch", "glob", "shlex", "csv", "heapq", "bisect", "queue", "calendar",
           "argparse")


def load_text(max_chars: int) -> str:
    import importlib

    parts = []
    for name in MODULES:
        try:
            parts.append(inspect.getsource(importlib.import_module(name)))
        except (OSError, TypeError):  # pragma: no cover - a Python built without sources
            continue
    text = "\n".join(parts)
    if not text:
        raise SystemExit("charlm: no standard-library source files found on this machine")
    return text[:max_chars]


class CharLM(nn.Module):
    sequence_model = True

    def __init__(self, vocab: int, embed: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden)
        self.readout = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        h, state = self.lstm(self.embed(x), state)
        return self.readout(h), state


def sample(model, chars, index, start: str, n: int, rng, temperature: float = 0.8) -> str:
    state, out = None, []
    x = np.array([[index.get(c, 0)] for c in start])
    with rg.no_grad():
        logits, state = model(rg.tensor(x), state)
        last = logits.data[-1, 0]
        for _ in range(n):
            p = np.exp((last - last.max()) / temperature)
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(chars[c])
            logits, state = model(rg.tensor(np.array([[c]])), state)
            last = logits.data[-1, 0]
    return start + "".join(out)


def run(out_dir: str = ".", seed: int = 0, updates: int = 600, batch_size: int = 32, k: int = 32,
        hidden: int = 128, max_chars: int = 200_000, sample_every: int = 200, verbose: bool = True,
        plot: bool = True, progress=None, distributed: bool = False) -> dict:
    """Run the demo (see ``retrograd.demos.charlm``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says the final loss is below the unigram entropy, ``files`` lists the paths written."""
    group = None
    if distributed:
        from .. import distributed as dist

        group = dist.init()
        if batch_size % group.size:
            raise SystemExit(f"charlm: {batch_size} lanes cannot be shared by {group.size} processes; "
                             f"pick a batch size that is a multiple of it")
        main = group.rank == 0
        verbose, plot, progress = verbose and main, plot and main, progress if main else False
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    text = load_text(max_chars)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = np.array([index[c] for c in text], dtype=np.int64)
    lanes = np.array_split(data, batch_size)  # each lane is one long sequence read in order
    model = CharLM(len(chars), hidden=hidden)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    if group is not None:
        dist.broadcast_parameters(model)  # the same seed gave the same weights; this makes sure
        opt = dist.DistributedOptimizer(opt)
    if verbose:
        print(f"{len(text):,} characters of standard-library source, vocabulary {len(chars)}, "
              f"{batch_size} lanes, chunks of {k} steps"
              + (f", {group.size} processes with {batch_size // group.size} lanes each" if group else ""))
    losses, state, n = [], None, 0
    bar = progress_bar(updates, "charlm", progress)
    while n < updates:
        for batch in rg.data.stateful_batches(lanes, batch_size, k, distributed=bool(distributed)):
            if state is not None and batch.reset.any():
                state = bptt.reset_rows(state, batch.reset)
            y = np.where(batch.valid, batch.y, -100)  # padding is ignored by the loss
            # chunk(k) on one batch of k steps: one update, state carried by value
            state, step_losses = bptt.train(model, batch.x, y, rg.cross_entropy, opt, bptt.chunk(k), state=state)
            n += 1
            counts = batch.valid.sum(axis=1)  # each step's loss is a mean over its valid targets
            # a step with no valid target has a NaN loss (a mean over nothing): it counts 0 times
            total, count = float(np.where(counts > 0, step_losses, 0.0) @ counts), float(counts.sum())
            if group is not None:  # the loss over every process's lanes
                total, count = group.allreduce(np.array([total, count]), "sum")
            if count:
                losses.append(float(total / count))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            if verbose and (n % sample_every == 0 or n == updates):
                text_out = sample(model, chars, index, "def ", 120, rng)
                say(bar, f"\nupdate {n}: loss {np.mean(losses[-20:]):.3f} nats/char\n{text_out}\n")
            if n >= updates:
                break
    if bar is not None:
        bar.close()
    unigram = -float(np.sum((c := np.bincount(data) / len(data))[c > 0] * np.log(c[c > 0])))
    final = float(np.mean(losses[-20:]))
    if verbose:
        print(f"final loss {final:.3f} nats/char (unigram entropy {unigram:.3f}, uniform {np.log(len(chars)):.3f})")
    path = None
    if plot:
        from ..plot import save_curves

        path = save_curves(os.path.join(out_dir, "charlm_loss.png"), {"loss": losses, "unigram entropy":
                           [unigram] * len(losses)}, "stateful char LSTM, chunk TBPTT", xlabel="update",
                           ylabel="nats per character")
        if path and verbose:
            print(f"wrote {path}")
    ok = final < unigram  # the claim: it learns more than character frequencies
    if verbose and not ok:
        print("did NOT learn: the final loss is not below the unigram entropy")
    return {"losses": losses, "final_loss": final, "unigram_entropy": unigram, "plot": path, "ok": ok,
            "files": [p for p in [path] if p], "sample": sample(model, chars, index, "import ", 60, rng)}
