"""A small CNN (Conv2d + MaxPool2d) on scikit-learn's 8×8 digits.

Max-pooling's gradient at tied maxima follows
``rg.conventions``; pass ``policy="first"`` (TensorFlow/Caffe) or ``"all"``
(Theano) to train with another convention.
"""

from __future__ import annotations

import os

import retrograd as rg
from retrograd import nn, optim

from . import _digits_data

DESCRIPTION = "Conv2d + MaxPool2d network on the 8×8 digits, ≥ 97 % test accuracy"


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 16 × 4 × 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32 × 2 × 2
        nn.Flatten(), nn.Linear(128, 10))


def run(out_dir: str = ".", seed: int = 0, epochs: int = 20, policy: str = "min_norm", verbose: bool = True,
        plot: bool = True, progress=None) -> dict:
    """Run the demo (see ``retrograd.demos.cnn``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says the test accuracy is ≥ 97 %, ``files`` lists the paths written."""
    rg.manual_seed(seed)
    (xtr, ytr), (xte, yte) = _digits_data.load(seed, images=True)
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    schedule = optim.CosineAnnealingLR(opt, T_max=epochs)  # a small final learning rate: a stable last epoch
    train = rg.data.DataLoader((xtr, ytr), batch_size=64, shuffle=True)
    test = rg.data.DataLoader((xte, yte), batch_size=512)
    with rg.conventions.policy(policy):
        history = rg.train.fit(model, rg.cross_entropy, opt, train, epochs=epochs, val_data=test,
                               metrics=["accuracy"], scheduler=schedule, progress=progress, verbose=verbose)
    acc = history["val_accuracy"][-1]
    if verbose:
        print(f"test accuracy {acc:.2%} on {len(xte)} held-out digits (max-pool ties: {policy})")
    path = history.plot(os.path.join(out_dir, "cnn_history.png"), "CNN on 8×8 digits") if plot else None
    if path and verbose:
        print(f"wrote {path}")
    ok = bool(acc >= 0.97)  # the claim of DESCRIPTION
    if verbose and not ok:
        print("did NOT reach the claimed ≥ 97 % test accuracy")
    return {"test_accuracy": acc, "history": history.history, "plot": path, "ok": ok, "files": [p for p in [path] if p]}
