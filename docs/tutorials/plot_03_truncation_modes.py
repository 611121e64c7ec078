"""
Truncated BPTT, three ways: Theano's ``truncate_gradient``, PyTorch's detach idiom, "look back 10 steps"
========================================================================================================

Three of the seed questions truncate backpropagation through time, and each means something
different by it:

* Theano's ``scan(..., truncate_gradient=k)`` (seed 000): only the last k steps are differentiated,
  so only the last k losses get a gradient: ``rg.bptt.tail(k)``.
* PyTorch's TBPTT idiom, ``h = h.detach()`` every k steps (and TensorFlow's
  ``truncated_backprop_length``, Keras' ``stateful=True``): each loss reaches back to the start of
  its chunk: ``rg.bptt.chunk(k)``.
* The hand-written NumPy RNN of seed 003 that looks back at most k steps from every loss:
  ``rg.bptt.window(k)``.

``rg.bptt`` runs each on the same model, and ``bias_report`` says how far each is from the full
gradient. Theano is not installed here (nor maintained); PyTorch is, and stands in for it below.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg
from retrograd import bptt

rg.set_default_dtype(rg.float64)


class Elman(rg.nn.Module):                     # a per-step model: output_t, state = model(x_t, state)
    def __init__(self, hidden=8):
        super().__init__()
        self.cell, self.readout = rg.nn.RNNCell(1, hidden), rg.nn.Linear(hidden, 1)

    def forward(self, x_t, h):
        h = self.cell(x_t, h)
        return self.readout(h), h


rg.manual_seed(0)
rng = np.random.default_rng(0)
T, B, k = 40, 2, 10
xs = rng.standard_normal((T, B, 1))
ys = np.roll(xs, 3, axis=0)                    # the target: the input 3 steps ago
model = Elman()
loss_fn = lambda out, y: 0.5 * ((out - y) ** 2).sum()   # noqa: E731

# %%
# Which losses reach which steps (drawn from each mode's own schedule, T = 8 for the picture):

for mode in (bptt.full(), bptt.tail(3), bptt.chunk(4), bptt.window(3)):
    print(mode.picture(8), "\n")

# %%
# How far is each from the full gradient on this model? The readout's gradient does not go through
# time: it is exact under ``chunk``, ``window`` and ``williams_peng``; ``tail`` leaves the first 30
# losses out altogether, so even the readout's gradient is off.

modes = {"tail(10)": bptt.tail(k), "chunk(10)": bptt.chunk(k), "window(10)": bptt.window(k),
         "williams_peng(5, 10)": bptt.williams_peng(5, k)}
reports = {name: bptt.bias_report(model, xs, ys, loss_fn, mode) for name, mode in modes.items()}
for rep in reports.values():
    print(rep, "\n")
names = [n for n, _ in model.named_parameters()]
fig, ax = plt.subplots(figsize=(7, 3))
for i, (name, rep) in enumerate(reports.items()):
    rel = [rep.as_dict()[n]["rel_error"] for n in names]
    ax.bar(np.arange(len(names)) + 0.2 * i - 0.3, rel, width=0.2, label=name)
ax.set_xticks(range(len(names)), names, rotation=20, fontsize=7)
ax.set_yscale("log")
ax.set_ylabel("relative error against full()")
ax.legend(fontsize=7)
ax.set_title("truncated gradients against full BPTT, T = 40")
fig.tight_layout()

# %%
# The NumPy RNN that looks back 10 steps (seed 003)
# -------------------------------------------------
# The same network by hand: for every step t, the error δ starts at the loss ℓₜ and is carried back
# at most k steps, δₛ₋₁ = W_hhᵀ δₛ ⊙ (1 − hₛ₋₁²). That is ``window(k)``:

W_ih, W_hh = model.cell.weight_ih.data, model.cell.weight_hh.data
b = model.cell.bias_ih.data + model.cell.bias_hh.data
V, c = model.readout.weight.data, model.readout.bias.data
hs = [np.zeros((B, W_hh.shape[0]))]
for t in range(T):
    hs.append(np.tanh(xs[t] @ W_ih.T + hs[-1] @ W_hh.T + b))
gW_hh = np.zeros_like(W_hh)
for t in range(T):
    delta = ((hs[t + 1] @ V.T + c) - ys[t]) @ V * (1 - hs[t + 1] ** 2)     # ∂ℓₜ/∂(pre-activation at t)
    for s in range(t, max(-1, t - k), -1):                                 # look back at most k steps
        gW_hh += delta.T @ hs[s]
        delta = delta @ W_hh * (1 - hs[s] ** 2)
g_window = bptt.gradient(model, xs, ys, loss_fn, bptt.window(k))
print(f"window(10) against the hand-written loop: {np.max(np.abs(g_window['cell.weight_hh'] - gW_hh)):.1e}")

# %%
# Theano's ``truncate_gradient``, computed with PyTorch
# -----------------------------------------------------
# ``scan(truncate_gradient=k)`` differentiates the last k steps only: the losses before them get no
# gradient at all (this is not a per-loss truncation). In PyTorch: run the first T − k steps
# without a graph, then the last k steps with their losses:

import torch  # noqa: E402

cell, lin = torch.nn.RNNCell(1, 8).double(), torch.nn.Linear(8, 1).double()
sd = model.state_dict()
cell.load_state_dict({n[5:]: torch.tensor(v) for n, v in sd.items() if n.startswith("cell.")})
lin.load_state_dict({n[8:]: torch.tensor(v) for n, v in sd.items() if n.startswith("readout.")})
h = torch.zeros(B, 8, dtype=torch.float64)
with torch.no_grad():
    for t in range(T - k):
        h = cell(torch.tensor(xs[t]), h)
loss = 0
for t in range(T - k, T):
    h = cell(torch.tensor(xs[t]), h)
    loss = loss + 0.5 * ((lin(h) - torch.tensor(ys[t])) ** 2).sum()
loss.backward()
g_tail = bptt.gradient(model, xs, ys, loss_fn, bptt.tail(k))
print(f"tail(10) against PyTorch: {np.max(np.abs(g_tail['cell.weight_hh'] - cell.weight_hh.grad.numpy())):.1e}")

# %%
# And the detach idiom (``chunk``), in PyTorch:

cell.zero_grad()
h = torch.zeros(B, 8, dtype=torch.float64)
for start in range(0, T, k):
    h = h.detach()
    loss = 0
    for t in range(start, start + k):
        h = cell(torch.tensor(xs[t]), h)
        loss = loss + 0.5 * ((lin(h) - torch.tensor(ys[t])) ** 2).sum()
    loss.backward()
g_chunk = bptt.gradient(model, xs, ys, loss_fn, bptt.chunk(k))
print(f"chunk(10) against PyTorch's detach idiom: "
      f"{np.max(np.abs(g_chunk['cell.weight_hh'] - cell.weight_hh.grad.numpy())):.1e}")
rg.set_default_dtype(rg.float32)
