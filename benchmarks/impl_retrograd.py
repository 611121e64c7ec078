"""retrograd implementations for the shared benchmark harness (``../shared/bench``).

Same interface as the harness's NumPy/PyTorch/JAX classes: ``__init__(cfg,
params, data, lr)``, ``step() -> float`` (one training step, returns the
pre-update loss) and ``loss_and_grads() -> (float, {name: ndarray})``.
"""

from __future__ import annotations

import numpy as np

import retrograd as rg


class RetrogradMLP:
    """The MLP step written as a user would: tensors, ``loss.backward()`` and a
    plain SGD update on the leaves."""

    name = "retrograd"

    def __init__(self, cfg, params, data, lr):
        self.cfg, self.lr = cfg, lr
        self.keys = list(params)
        self.p = [rg.tensor(params[k].copy(), requires_grad=True) for k in self.keys]
        self.x = rg.tensor(data["x"])
        self.y = rg.tensor(data["y"])
        self.layers = len(cfg["sizes"]) - 1
        self.act = rg.relu if cfg["act"] == "relu" else rg.sigmoid

    def _loss(self):
        a = self.x
        p = self.p
        for li in range(self.layers):
            a = rg.linear(a, p[2 * li], p[2 * li + 1])
            if li < self.layers - 1:
                a = self.act(a)
        if self.cfg["loss"] == "sigmoid_mse":
            return rg.mse_loss(rg.sigmoid(a), self.y)
        return -rg.mean(rg.log_softmax(a, axis=1)[np.arange(a.shape[0]), self.y.data])

    def step(self):
        loss = self._loss()
        loss.backward()
        lr = self.lr
        for p in self.p:
            p.data -= lr * p.grad.data
            p.grad = None
        return float(loss.data)

    def loss_and_grads(self):
        loss = self._loss()
        loss.backward()
        grads = {k: p.grad.data.copy() for k, p in zip(self.keys, self.p)}
        for p in self.p:
            p.grad = None
        return float(loss.data), grads
