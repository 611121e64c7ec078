"""An MLP on scikit-learn's 8×8 handwritten digits: backpropagation that passes
gradient checking, then trains on digits.

Before training, the network's backpropagation is gradient-checked on a
small batch in float64 — the check to run before any training — then it is
trained with Adam and its test accuracy reported.
"""

from __future__ import annotations

import os

import retrograd as rg
from retrograd import nn, optim

from . import _digits_data

DESCRIPTION = "MLP on scikit-learn's 8×8 digits, gradient-checked before training"


def run(out_dir: str = ".", seed: int = 0, epochs: int = 30, verbose: bool = True, plot: bool = True,
        progress=None) -> dict:
    """Run the demo (see ``retrograd.demos.digits``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says the gradient check passed and the test accuracy is ≥ 95 %, ``files`` lists the paths written."""
    rg.manual_seed(seed)
    (xtr, ytr), (xte, yte) = _digits_data.load(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    report = nn.utils.gradcheck_module(model, rg.cross_entropy, xtr[:4], ytr[:4])
    if verbose:
        print(f"gradient check on 4 digits (float64, {len(report.elements)} weights): "
              f"{'PASS' if report.ok else 'FAIL'}; {len(report.kinks)} weights sit at a ReLU kink")
    opt = optim.Adam(model.parameters(), lr=2e-3)
    schedule = optim.CosineAnnealingLR(opt, T_max=epochs)
    train = rg.data.DataLoader((xtr, ytr), batch_size=64, shuffle=True)
    test = rg.data.DataLoader((xte, yte), batch_size=512)
    history = rg.train.fit(model, rg.cross_entropy, opt, train, epochs=epochs, val_data=test,
                           metrics=["accuracy"], scheduler=schedule, progress=progress, verbose=verbose)
    acc = history["val_accuracy"][-1]
    if verbose:
        print(f"test accuracy {acc:.2%} on {len(xte)} held-out digits")
    path = history.plot(os.path.join(out_dir, "digits_history.png"), "MLP on 8×8 digits") if plot else None
    if path and verbose:
        print(f"wrote {path}")
    ok = bool(report.ok and acc >= 0.95)  # the claim: backprop gradient-checks, then ≥ 95 % on held-out digits
    if verbose and not ok:
        print("did NOT reach the claim: gradient check PASS and ≥ 95 % test accuracy")
    return {"test_accuracy": acc, "gradcheck": report.ok, "history": history.history, "plot": path, "ok": ok,
            "files": [p for p in [path] if p]}
