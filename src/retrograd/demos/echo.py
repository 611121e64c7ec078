"""Seed page 004: the echo RNN of the "How to build an RNN in TensorFlow" tutorial.

A random binary input is echoed ``echo_step`` = 3 steps later. The data is one
long series of 50,000 bits cut into ``batch_size`` = 5 rows; each training
batch is the next ``truncated_backprop_length`` = 15 steps of every row, and
the state of row i carries over to row i of the next batch (its value, not
its gradient). That is ``rg.bptt.chunk(15)`` on a carried state; the network
is an RNN with 4 tanh units, a softmax readout, mean cross-entropy over the
15 steps, and Adagrad with learning rate 0.3 — all as on the page.
"""

from __future__ import annotations

import os

import numpy as np

import retrograd as rg
from retrograd import bptt, nn, optim
from retrograd.train import progress_bar, say

DESCRIPTION = "seed 004's echo RNN: truncated BPTT (chunk 15) on a carried state, learns to echo 3 steps back"


class EchoRNN(nn.Module):
    sequence_model = True  # rg.bptt runs the fused RNN over each 15-step chunk at once

    def __init__(self, state_size=4):
        super().__init__()
        self.rnn = nn.RNN(1, state_size)
        self.readout = nn.Linear(state_size, 2)

    def forward(self, x, state):
        h, state = self.rnn(x, state)
        return self.readout(h), state


def generate_data(rng, total=50_000, echo_step=3, batch_size=5):
    x = rng.choice(2, total, p=[0.5, 0.5])
    y = np.roll(x, echo_step)
    y[:echo_step] = 0
    return x.reshape(batch_size, -1), y.reshape(batch_size, -1)


def run(out_dir: str = ".", seed: int = 0, epochs: int = 5, total: int = 50_000, truncated_backprop_length: int = 15,
        state_size: int = 4, batch_size: int = 5, echo_step: int = 3, verbose: bool = True, plot: bool = True,
        progress=None) -> dict:
    """Run the demo (see the module docstring); returns its results as a dict (the tests check them)."""
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    k = truncated_backprop_length
    model = EchoRNN(state_size)
    opt = optim.Adagrad(model.parameters(), lr=0.3)
    loss_fn = lambda logits, y: rg.cross_entropy(logits, y) * (1.0 / k)  # noqa: E731 - mean over the 15 steps
    num_batches = total // batch_size // k
    losses = []
    bar = _bar(epochs * num_batches, progress)
    for epoch in range(epochs):
        x, y = generate_data(rng, total, echo_step, batch_size)
        state = None  # the tutorial resets the state with every new series
        for b in range(num_batches):
            xs = x[:, b * k:(b + 1) * k].T[:, :, None].astype(np.float32)   # (15, 5, 1), time-major
            ys = y[:, b * k:(b + 1) * k].T
            state, step_losses = bptt.train(model, xs, ys, loss_fn, opt, bptt.chunk(k), state=state)
            losses.append(float(step_losses.sum()))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if verbose:
            say(bar, f"epoch {epoch + 1}/{epochs}  mean loss of the last 100 batches {np.mean(losses[-100:]):.4f}")
    if bar is not None:
        bar.close()
    # evaluate on a fresh series: predictions after the first echo_step steps
    x, y = generate_data(rng, total // 10, echo_step, batch_size)
    with rg.no_grad():
        logits, _ = model(rg.tensor(x.T[:, :, None].astype(np.float32)), None)
    pred = logits.data.argmax(-1).T
    accuracy = float((pred[:, echo_step:] == y[:, echo_step:]).mean())
    if verbose:
        print(f"accuracy of the echo on a new series: {accuracy:.2%}")
    path = _plot(os.path.join(out_dir, "echo.png"), losses, x[:, :k], y[:, :k], pred[:, :k]) if plot else None
    if path and verbose:
        print(f"loss and prediction bars written to {path}")
    return {"losses": losses, "accuracy": accuracy, "plot": path}


def _bar(total, progress):
    return progress_bar(total, "echo", progress)


def _plot(path, losses, x, y, pred):
    """The tutorial's figure: the loss, and for each row input (blue), target
    echo (red) and prediction (green) as bars."""
    from ..plot import _prepare, _pyplot

    plt = _pyplot()
    if plt is None:
        return None
    _prepare(path)
    fig = plt.figure(figsize=(11, 5.5))
    ax = fig.add_subplot(2, 3, 1)
    ax.plot(losses, lw=0.6)
    ax.set_title("loss per batch")
    ax.set_xlabel("batch")
    for row in range(min(5, len(x))):
        ax = fig.add_subplot(2, 3, row + 2)
        steps = np.arange(x.shape[1])
        ax.bar(steps, x[row], width=1, color="tab:blue", label="input")
        ax.bar(steps, y[row] * 0.5, width=1, color="tab:red", label="echo (target)")
        ax.bar(steps, pred[row] * 0.3, width=1, color="tab:green", label="prediction")
        ax.set_ylim(0, 1.1)
        ax.set_title(f"row {row}")
        if row == 0:
            ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
