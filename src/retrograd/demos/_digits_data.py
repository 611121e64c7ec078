"""scikit-learn's bundled 8×8 handwritten digits (no download), split 80/20."""

from __future__ import annotations

import numpy as np


def load(seed: int = 0, images: bool = False):
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise SystemExit("this demo needs scikit-learn's bundled digits: pip install 'retrograd[demos]'") from e
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    x = x[:, None] if images else x.reshape(len(x), -1)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    tr, te = order[:cut], order[cut:]
    return (x[tr], y[tr]), (x[te], y[te])
