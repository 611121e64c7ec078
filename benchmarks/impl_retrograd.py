"""retrograd implementations for the shared benchmark harness (``../shared/bench``).

Same interface as the harness's NumPy/PyTorch/JAX classes: ``__init__(cfg,
params, data, lr)``, ``step() -> float`` (one training step, returns the
pre-update loss) and ``loss_and_grads() -> (float, {name: ndarray})``.
"""

from __future__ import annotations

import retrograd as rg
from retrograd import nn, optim


class _NnOptimStep:
    """``step`` and ``loss_and_grads`` for a model trained with ``self.opt``;
    subclasses define ``_loss()`` and ``grad_map`` ({harness name: parameter})."""

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
        grads = {k: p.grad.data.copy() for k, p in self.grad_map.items()}
        self.opt.zero_grad()
        return float(loss.data), grads


class RetrogradMLP(_NnOptimStep):
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
        self.grad_map = {}
        for li, lin in enumerate(self.linears):
            self.grad_map[f"W{li}"], self.grad_map[f"b{li}"] = lin.weight, lin.bias
        self.x = rg.tensor(data["x"])
        self.y = rg.tensor(data["y"])

    def _loss(self):
        z = self.model(self.x)
        if self.cfg["loss"] == "sigmoid_mse":
            return rg.mse_loss(rg.sigmoid(z), self.y)
        return rg.cross_entropy(z, self.y)


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


class RetrogradLSTM(_NnOptimStep):
    """``nn.LSTM`` (one fused op over the sequence, hand-written per-gate BPTT),
    a linear readout on every step, a fused loss and ``optim.SGD`` — the
    counterpart of the harness's ``torch_nn`` and ``torch_cell``."""

    name = "retrograd nn.LSTM"

    def __init__(self, cfg, params, data, lr):
        self.cfg = cfg
        I, H, O = cfg["I"], cfg["H"], cfg["O"]
        self.vocab = bool(cfg.get("V"))
        self.rnn = nn.LSTM(I, H)
        self.lin = nn.Linear(H, O)
        self.rnn.load_state_dict({"weight_ih_l0": params["W_ih"], "weight_hh_l0": params["W_hh"],
                                  "bias_ih_l0": params["b_ih"], "bias_hh_l0": params["b_hh"]})
        self.lin.load_state_dict({"weight": params["W_out"], "bias": params["b_out"]})
        modules = [self.rnn, self.lin]
        if self.vocab:
            self.emb = nn.Embedding(cfg["V"], I)
            self.emb.load_state_dict({"weight": params["emb"]})
            modules.append(self.emb)
        self.grad_map = {"W_ih": self.rnn.weight_ih_l0, "W_hh": self.rnn.weight_hh_l0, "b_ih": self.rnn.bias_ih_l0,
                    "b_hh": self.rnn.bias_hh_l0, "W_out": self.lin.weight, "b_out": self.lin.bias}
        if self.vocab:
            self.grad_map["emb"] = self.emb.weight
        self.opt = optim.SGD([p for m in modules for p in m.parameters()], lr=lr)
        self.x = data["x"] if self.vocab else rg.tensor(data["x"])
        self.y = data["y"] if self.vocab else rg.tensor(data["y"])

    def _loss(self):
        x = self.emb(self.x) if self.vocab else self.x
        out, _ = self.rnn(x)
        y = self.lin(out)
        if self.cfg["loss"] == "mse":
            return rg.mse_loss(y, self.y)
        return rg.cross_entropy(y.reshape(-1, y.shape[-1]), self.y.reshape(-1))
