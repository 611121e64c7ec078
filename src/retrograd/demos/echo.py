"""Seed page 004: the echo RNN of the "How to build an RNN in TensorFlow" tutorial.

A random binary input is echoed ``echo_step`` = 3 steps later. The data is one
long series of 50,000 bits cut into ``batch_size`` = 5 rows; each training
batch is the next ``truncated_backprop_length`` = 15 steps of every row, and
the state of row i carries over to row i of the next batch (its value, not
its gradient). That is ``rg.bptt.chunk(15)`` on a carried state; the network
is an RNN with 4 tanh units, a softmax readout, mean cross-entropy over the
15 steps, and Adagrad with learning rate 0.3 — all as on the page.

Besides ``echo.png`` (the loss on a log scale, and input / target / prediction
bars per row, the first ``echo_step`` steps, which have no echo and which the
accuracy leaves out, shaded) it writes ``echo.html``: the gradient explorer
(``rg.explore``) of the trained network over three chunks of a new series,
full BPTT against the tutorial's ``chunk(15)``, where the connectivity panel
shows the 3-step echo the truncation must keep inside a chunk, and
``echo_before_training.html``, the same before training, where the gradient
reaches far back and the truncations differ visibly from full BPTT (on the
trained network they agree to about four digits: the explorer's "difference
from full()" view shows where).
"""

from __future__ import annotations

import copy
import os

import numpy as np

import retrograd as rg
from retrograd import bptt, nn, optim
from retrograd import explore as rg_explore
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
    """Run the demo (see ``retrograd.demos.echo``'s module docstring);
    returns its results as a dict (the tests check them)."""
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    k = truncated_backprop_length
    model = EchoRNN(state_size)
    opt = optim.Adagrad(model.parameters(), lr=0.3)
    loss_fn = lambda logits, y: rg.cross_entropy(logits, y) * (1.0 / k)  # noqa: E731 - mean over the 15 steps
    num_batches = total // batch_size // k
    # the untrained network, kept for its explorer page: where truncation changes the gradient most
    untrained = copy.deepcopy(model) if plot else None
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
    path = _plot(os.path.join(out_dir, "echo.png"), losses, x[:, :k], y[:, :k], pred[:, :k], echo_step) if plot \
        else None
    if path:
        print(f"loss and prediction bars written to {path}")
    html = _explore(os.path.join(out_dir, "echo.html"), model, x, y, k, loss_fn, echo_step, "trained") \
        if plot else None
    before = _explore(os.path.join(out_dir, "echo_before_training.html"), untrained, x, y, k, loss_fn, echo_step,
                      "untrained") if plot else None
    if html:
        print(f"interactive gradient explorer written to {html} (and, before training, {before}: "
              f"there chunk({k}) and window({k}) differ visibly from full BPTT)")
    ok = accuracy >= 0.99  # the claim: the network learns the echo
    if not ok:
        print(f"echo: accuracy {accuracy:.2%} is below the 99 % this demo claims")
    return {"losses": losses, "accuracy": accuracy, "plot": path, "html": html, "html_before_training": before,
            "ok": ok, "files": [f for f in (path, html, before) if f]}


def _explore(path, model, x, y, k, loss_fn, echo_step, which):
    """The gradient explorer of the (``which``: trained or untrained) network on the first three
    chunks of a series. Its loss is every step's, the first ``echo_step`` included (their target is
    0: no echo yet), which the accuracy leaves out; the title says so."""
    steps = min(3 * k, x.shape[1])
    xs = x[:, :steps].T[:, :, None].astype(np.float64)
    ys = y[:, :steps].T
    return rg_explore.explore(copy.deepcopy(model).double(), xs, ys, loss_fn,
                              [bptt.full(), bptt.chunk(k), bptt.window(k)], path,
                              title=f"echo RNN ({which}): full BPTT against the tutorial's chunk({k}), {steps} "
                                    f"steps; the loss includes steps 0–{echo_step - 1}, which have no echo "
                                    f"(target 0) and which the demo's accuracy does not score").path


def _bar(total, progress):
    return progress_bar(total, "echo", progress)


def _plot(path, losses, x, y, pred, echo_step=3):
    """The tutorial's figure: the loss (log scale), and for each row input
    (blue), target echo (red) and prediction (green) as bars over the steps;
    the first ``echo_step`` steps, which have no echo to predict and which the
    accuracy leaves out, are shaded."""
    from matplotlib.ticker import MaxNLocator

    from ..plot import _prepare, _pyplot

    plt = _pyplot()
    if plt is None:
        return None
    _prepare(path)
    fig = plt.figure(figsize=(11, 6))
    ax = fig.add_subplot(2, 3, 1)
    ax.semilogy(np.arange(1, len(losses) + 1), losses, lw=0.6)
    ax.set_title("loss per batch (log scale)")
    ax.set_xlabel("batch")
    ax.set_ylabel("summed cross-entropy")
    ax.grid(alpha=0.3, which="both")
    for row in range(min(5, len(x))):
        ax = fig.add_subplot(2, 3, row + 2)
        steps = np.arange(x.shape[1])
        ax.axvspan(-0.5, echo_step - 0.5, color="0.88", label=f"first {echo_step} steps: no echo, not scored")
        ax.bar(steps, x[row], width=1, color="tab:blue", label="input bit (height 1)")
        ax.bar(steps, y[row] * 0.5, width=1, color="tab:red", label="echo target (height 0.5)")
        ax.bar(steps, pred[row] * 0.3, width=1, color="tab:green", label="prediction (height 0.3)")
        ax.set_ylim(0, 1.1)
        ax.set_xlim(-0.5, x.shape[1] - 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yticks([0, 0.3, 0.5, 1])
        ax.set_xlabel("time step")
        ax.set_ylabel("bit = 1 where a bar is")
        ax.set_title(f"row {row}")
        if row == 0:
            handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
