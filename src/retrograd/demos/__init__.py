"""Runnable demos, one per question of the seed pages: ``retrograd demo NAME``.

Each demo module has ``DESCRIPTION`` and ``run(out_dir, seed, **options)``
returning a dict of results (tests check them).
"""

from __future__ import annotations

import importlib

DEMOS = {
    "echo": "seed 004's echo RNN: truncated BPTT (chunk 15) on a carried state, learns to echo 3 steps back",
    "series": "seed 000: an RNN learns the series 1, 0, 1, 0 … through rg.scan; the BPTT steps printed",
    "charlm": "stateful LSTM character model, chunk TBPTT on standard-library source, prints samples as it learns",
    "bptt-modes": "one sequence, every truncation mode's gradient against full BPTT, bias report, gradient heatmap",
    "xor": "2-3-1 sigmoid network learning XOR with plain gradient descent (seed page 001)",
    "output-delta": "why the output delta a − y passes gradient checking and (a − y)·f′(z) does not (seed page 002)",
    "sine": "tanh network learning sin(x) on [−π, π] to a stated error (seed page 002)",
    "digits": "MLP on scikit-learn's 8×8 digits, gradient-checked before training (seed page 002)",
    "cnn": "Conv2d + MaxPool2d network on the 8×8 digits, ≥ 97 % test accuracy (seed page 002)",
    "cartpole": "REINFORCE policy-gradient agent on gymnasium's CartPole, softmax policy (seed page 002)",
}


def run(name: str, **kwargs):
    """Run the demo ``name`` (see ``DEMOS``) and return its results dict."""
    if name not in DEMOS:
        raise SystemExit(f"unknown demo {name!r}; available: {', '.join(sorted(DEMOS))}")
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    return module.run(**kwargs)
