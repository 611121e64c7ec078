"""retrograd implementations for the shared benchmark harness (``../shared/bench``).

Same interface as the harness's NumPy/PyTorch/JAX classes: ``__init__(cfg,
params, data, lr)``, ``step() -> float`` (one training step, returns the
pre-update loss) and ``loss_and_grads() -> (float, {name: ndarray})``.
"""

from __future__ import annotations

import numpy as np

import retrograd as rg
from retrograd import nn, optim


class RetrogradMLP:
    """The MLP as a PyTorch user writes it: ``nn.Sequential`` of ``nn.Linear``,
    a fused loss, ``loss.backward()`` and ``optim.SGD`` (the counterpart of the
    harness's ``torch`` = nn + optim)."""

    name = "retrograd (nn + optim)"

    def __init__(self, cfg, params, data, lr):
        self.cfg = cfg
        sizes = cfg["sizes"]
        layers = []
        self.linears = []
        for li, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = nn.Linear(a, b)
            lin.load_state_dict({"weight": params[f"W{li}"], "bias": params[f"b{li}"]})
            self.linears.append(lin)
            layers.append(lin)
            if li < len(sizes) - 2:
                layers.append(nn.ReLU() if cfg["act"] == "relu" else nn.Sigmoid())
        self.model = nn.Sequential(*layers)
        self.opt = optim.SGD(self.model.parameters(), lr=lr)
        self.x = rg.tensor(data["x"])
        self.y = rg.tensor(data["y"])

    def _loss(self):
        z = self.model(self.x)
        if self.cfg["loss"] == "sigmoid_mse":
            return rg.mse_loss(rg.sigmoid(z), self.y)
        return rg.cross_entropy(z, self.y)

    def step(self):
        self.opt.zero_grad()
        loss = self._loss()
        loss.backward()
        self.opt.step()
        return float(loss.data)

    def loss_and_grads(self):
        self.opt.zero_grad()
        loss = self._loss()
        loss.backward()
        grads = {}
        for li, lin in enumerate(self.linears):
            grads[f"W{li}"] = lin.weight.grad.data.copy()
            grads[f"b{li}"] = lin.bias.grad.data.copy()
        self.opt.zero_grad()
        return float(loss.data), grads


class RetrogradMLPRaw:
    """Plain tensors, functional ops and a hand-written SGD update: the least
    machinery (the counterpart of the harness's ``torch_raw``)."""

    name = "retrograd (raw tensors)"

    def __init__(self, cfg, params, data, lr):
        self.cfg, self.lr = cfg, lr
        self.keys = list(params)
        self.p = [rg.tensor(params[k].copy(), requires_grad=True) for k in self.keys]
        self.x = rg.tensor(data["x"])
        self.y = rg.tensor(data["y"])
        self.layers = len(cfg["sizes"]) - 1
        self.act = rg.relu if cfg["act"] == "relu" else rg.sigmoid

    def _loss(self):
        a, p = self.x, self.p
        for li in range(self.layers):
            a = rg.linear(a, p[2 * li], p[2 * li + 1])
            if li < self.layers - 1:
                a = self.act(a)
        if self.cfg["loss"] == "sigmoid_mse":
            return rg.mse_loss(rg.sigmoid(a), self.y)
        return rg.cross_entropy(a, self.y)

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
