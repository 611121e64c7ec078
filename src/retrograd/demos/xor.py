"""Seed page 001: the TensorFlow XOR network, with the backward step made visible.

The page's network: x (4×2) → sigmoid(x·m1 + b1) (3 units) → sigmoid(h·m2 + b2),
loss = Σ (y − y_out)², plain gradient descent with learning rate 1.0 for 500
steps, weights drawn uniformly from [0.1, 0.9]. The asker could not find
"step 4, backpropagating the error": TensorFlow's ``minimize`` hides it. Here
it is ``loss.backward()``, and ``rg.explain`` prints each of its steps.
"""

from __future__ import annotations

import os

import numpy as np

import retrograd as rg

DESCRIPTION = "2-3-1 sigmoid network learning XOR with plain gradient descent, the backward step written out"

X = [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
Y = [[0.0], [0.0], [1.0], [1.0]]


def run(out_dir: str = ".", seed: int = 3, steps: int = 500, lr: float = 1.0, verbose: bool = True,
        plot: bool = True) -> dict:
    """Run the demo (see ``retrograd.demos.xor``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says it learned XOR, ``files`` lists the paths written."""
    rng = np.random.default_rng(seed)
    uniform = lambda *shape: rg.tensor(rng.uniform(0.1, 0.9, size=shape), dtype=np.float32,
                                       requires_grad=True)
    x0, y0 = rg.tensor(X), rg.tensor(Y)
    m1, b1, m2, b2 = uniform(2, 3), uniform(3), uniform(3, 1), uniform(1)
    params = [m1, b1, m2, b2]

    def forward():
        h1 = rg.sigmoid(x0 @ m1 + b1)                    # step 2: feed forward
        y_out = rg.sigmoid(h1 @ m2 + b2)
        loss = rg.sum(rg.square(y0 - y_out))            # step 3: output error
        return y_out, loss

    losses = []
    for step in range(steps):
        y_out, loss = forward()
        if step == 0 and verbose:
            print("Step 4, the error backpropagation TensorFlow's minimize() hides, "
                  "is loss.backward(). Its steps, in the order they run:")
            rg.explain(loss)
            print()
        loss.backward()                                  # step 4: backpropagate the error
        with rg.no_grad():                               # step 5: gradient descent
            for p in params:
                p.data -= lr * p.grad.data
                p.grad = None
        losses.append(loss.item())

    y_out, loss = forward()
    results = {"m1": m1.numpy(), "b1": b1.numpy(), "m2": m2.numpy(), "b2": b2.numpy(),
               "y_out": y_out.numpy(), "loss": loss.item()}
    if verbose:
        for label, value in results.items():
            print(f"\n{label}\n{value}")
    predicted = (results["y_out"] > 0.5).astype(np.float32)
    learned = bool(np.array_equal(predicted, np.asarray(Y, dtype=np.float32)))
    if verbose:
        print(f"\npredictions {predicted.ravel().astype(int).tolist()} vs targets "
              f"{np.asarray(Y).ravel().astype(int).tolist()}: "
              f"{'learned XOR' if learned else 'did NOT learn XOR'}")
    plot_path = None
    if plot:
        from ..plot import save_curves

        plot_path = save_curves(os.path.join(out_dir, "xor_loss.png"), {"loss": losses},
                                "XOR, 2-3-1 sigmoid, gradient descent lr=1.0", logy=True)
        if plot_path and verbose:
            print(f"wrote {plot_path}")
    # the claim: the four predictions round to XOR's truth table
    results.update(losses=losses, learned=learned, plot=plot_path, ok=learned, files=[p for p in [plot_path] if p])
    return results
