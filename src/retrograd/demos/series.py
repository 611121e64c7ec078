"""Seed page 000: where is the backpropagation-through-time code? An RNN that
learns the series 1, 0, 1, 0, …

TensorFlow differentiates an unrolled loop or a ``tf.while_loop`` by recording
every step and running their gradients in reverse. Here the loop is
``rg.scan``: each step ``h = tanh(W_ih x + W_hh h + b)``, ``ŷ = readout(h)`` is
recorded on the tape, and ``rg.explain`` prints the backward pass walking the
steps from the last to the first — backpropagation through time, visible.
"""

from __future__ import annotations

import os

import numpy as np

import retrograd as rg
from retrograd import nn, optim

DESCRIPTION = "seed 000: an RNN learns the series 1, 0, 1, 0 … through rg.scan; the BPTT steps printed"


def run(out_dir: str = ".", seed: int = 0, epochs: int = 200, length: int = 15, verbose: bool = True,
        plot: bool = True) -> dict:
    """Run the demo (see ``retrograd.demos.series``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says every next value is predicted, ``files`` lists the paths written."""
    rg.manual_seed(seed)
    series = np.array([1.0, 0.0] * length)[:length]
    xs = series[:-1].reshape(-1, 1, 1).astype(np.float32)   # input: the current value
    ys = series[1:].reshape(-1, 1, 1).astype(np.float32)    # target: the next one
    cell, readout = nn.RNNCell(1, 4), nn.Linear(4, 1)
    params = list(cell.parameters()) + list(readout.parameters())
    opt = optim.Adam(params, lr=0.05)

    def step(h, x):
        h = cell(x, h)
        return h, rg.sigmoid(readout(h))

    losses = []
    for epoch in range(epochs):
        _, preds = rg.scan(step, None, xs)
        loss = rg.mse_loss(preds, rg.tensor(ys))
        if epoch == 0 and verbose:
            print("the backward pass through the scanned loop, last step first (the BPTT code):")
            trace = rg.explain(loss)
            print(f"... {len(trace)} vector-Jacobian products for {len(xs)} steps\n")
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with rg.no_grad():
        _, preds = rg.scan(step, None, xs)
    predicted = preds.data.ravel().round().astype(int)
    learned = bool(np.array_equal(predicted, series[1:].astype(int)))
    if verbose:
        print(f"series     {series.astype(int).tolist()}")
        print(f"predicted    {predicted.tolist()}  ({'learned' if learned else 'NOT learned'}, "
              f"final mse {losses[-1]:.2e})")
    path = None
    if plot:
        from ..plot import save_curves

        path = save_curves(os.path.join(out_dir, "series_loss.png"), {"mse": losses},
                           "RNN learning 1, 0, 1, 0, …", xlabel="epoch", logy=True)
        if path and verbose:
            print(f"wrote {path}")
    return {"losses": losses, "learned": learned, "predicted": predicted, "plot": path, "ok": learned,
            "files": [p for p in [path] if p]}
