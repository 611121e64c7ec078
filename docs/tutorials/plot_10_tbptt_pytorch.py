"""
PyTorch's TBPTT: the ``h = h.detach()`` loop, ``chunk(k)`` and ``williams_peng(k1, k2)``
=========================================================================================

PyTorch's usual truncated BPTT is a loop that detaches the hidden state every k steps and calls
``loss.backward()`` on the chunk's losses: each loss reaches back to the start of its own chunk.
pytorch/pytorch#2512 asks for the general form, BPTT(k2; k1) of Williams & Peng (1990): every k1
steps, backpropagate the losses of the last k1 steps through the last k2 steps (k2 ≥ k1), so that
even the first loss of a chunk sees k2 − k1 steps of history. PyTorch has no built-in for it; the
simplest correct loop re-runs the last k2 steps at every update.

``rg.bptt`` has both as modes of one engine, ``chunk(k)`` and ``williams_peng(k1, k2)``, and runs
every step's forward pass once. Below, each gives the gradient of PyTorch's loop on the same
weights.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import retrograd as rg
from retrograd import bptt

rg.set_default_dtype(rg.float64)
rg.manual_seed(0)
rng = np.random.default_rng(0)
T, B, H = 24, 2, 8
k, k1, k2 = 6, 3, 6
xs = rng.standard_normal((T, B, 1))
ys = np.roll(xs, 4, axis=0)                    # the target: the input 4 steps ago


class Elman(rg.nn.Module):                     # a per-step model: output_t, state = model(x_t, state)
    def __init__(self, hidden=H):
        super().__init__()
        self.cell, self.readout = rg.nn.RNNCell(1, hidden), rg.nn.Linear(hidden, 1)

    def forward(self, x_t, h):
        h = self.cell(x_t, h)
        return self.readout(h), h


model = Elman()
loss_fn = lambda out, y: 0.5 * ((out - y) ** 2).sum()   # noqa: E731

# the same weights in PyTorch (state dict values are NumPy arrays)
cell, lin = torch.nn.RNNCell(1, H).double(), torch.nn.Linear(H, 1).double()
sd = model.state_dict()
cell.load_state_dict({n[5:]: torch.tensor(v) for n, v in sd.items() if n.startswith("cell.")})
lin.load_state_dict({n[8:]: torch.tensor(v) for n, v in sd.items() if n.startswith("readout.")})
tx, ty = torch.tensor(xs), torch.tensor(ys)


def torch_grads():
    """The gradients PyTorch accumulated, under retrograd's parameter names; then zeroed."""
    g = {"cell." + n: p.grad.numpy().copy() for n, p in cell.named_parameters()}
    g.update({"readout." + n: p.grad.numpy().copy() for n, p in lin.named_parameters()})
    cell.zero_grad()
    lin.zero_grad()
    return g


def worst(g, ref):
    return max(float(np.max(np.abs(g[n] - ref[n]))) for n in ref)


# %%
# The detach loop is ``chunk(k)``
# -------------------------------
# The parameters are held fixed (the gradients of the updates are summed, no optimizer step), so
# that the two gradients can be compared exactly:

h = torch.zeros(B, H, dtype=torch.float64)
for start in range(0, T, k):
    h = h.detach()                             # the truncation: the state crosses as a value
    loss = 0
    for t in range(start, start + k):
        h = cell(tx[t], h)
        loss = loss + 0.5 * ((lin(h) - ty[t]) ** 2).sum()
    loss.backward()
g_torch_chunk = torch_grads()
g_chunk = bptt.gradient(model, xs, ys, loss_fn, bptt.chunk(k))
print(f"chunk({k}) against PyTorch's detach loop: largest difference {worst(g_chunk, g_torch_chunk):.1e}")

# %%
# BPTT(k2; k1): the loop pytorch/pytorch#2512 asks for
# ----------------------------------------------------
# Every k1 = 3 steps, the losses of the last 3 steps go back through the last k2 = 6 steps; the
# state 6 steps back is a constant. Written directly in PyTorch: the states are computed once
# without a graph, and each update re-runs its last k2 steps from the detached state before them.

with torch.no_grad():                          # the states' values, h_0 … h_T
    states = [torch.zeros(B, H, dtype=torch.float64)]
    for t in range(T):
        states.append(cell(tx[t], states[-1]))
steps_run = T
for end in range(k1, T + 1, k1):
    first = max(0, end - k2)
    h = states[first]                          # a constant: the gradient stops here
    loss = 0
    for t in range(first, end):
        h = cell(tx[t], h)
        steps_run += 1
        if t >= end - k1:                      # only the last k1 steps' losses
            loss = loss + 0.5 * ((lin(h) - ty[t]) ** 2).sum()
    loss.backward()
g_torch_wp = torch_grads()
g_wp = bptt.gradient(model, xs, ys, loss_fn, bptt.williams_peng(k1, k2))
print(f"williams_peng({k1}, {k2}) against the PyTorch loop: largest difference {worst(g_wp, g_torch_wp):.1e}")
print(f"cell steps run for T = {T}: PyTorch's loop {steps_run} ({T} without a graph, then each update's last "
      f"{k2} again); rg.bptt runs each step once:")
print(bptt.williams_peng(k1, k2).plan(T))

# %%
# ``williams_peng(k, k)`` is ``chunk(k)``, and k2 > k1 gives the first losses of each chunk the
# history that ``chunk`` cuts off: the gradient is closer to full BPTT. ``bias_report`` compares
# each with ``full()``, parameter by parameter:

same = worst(bptt.gradient(model, xs, ys, loss_fn, bptt.williams_peng(k, k)), g_chunk)
print(f"williams_peng({k}, {k}) against chunk({k}): {same:.1e}\n")
for mode in (bptt.chunk(k1), bptt.williams_peng(k1, k2), bptt.chunk(k2)):
    print(bptt.bias_report(model, xs, ys, loss_fn, mode), "\n")

# %%
# Which loss reaches which step, drawn from each mode's own schedule (T = 12):


def reach(mode, n=12):
    rows = [line.split()[1] for line in mode.picture(n).splitlines()][::-1]   # ℓ1 first
    return np.array([[c == "x" for c in row] for row in rows])


modes = {f"chunk({k1})": bptt.chunk(k1), f"williams_peng({k1}, {k2})": bptt.williams_peng(k1, k2),
         f"chunk({k2})": bptt.chunk(k2), "full()": bptt.full()}
fig, axes = plt.subplots(1, 4, figsize=(10, 3.2))
for ax, (name, mode) in zip(axes, modes.items()):
    ax.imshow(reach(mode), cmap="Blues", vmin=0, vmax=1.3)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("step s")
    ax.set_xticks([0, 5, 11], [1, 6, 12])
    ax.set_yticks([0, 5, 11], [1, 6, 12])
axes[0].set_ylabel("loss ℓₜ")
fig.suptitle("the steps each loss's gradient reaches", fontsize=10)
fig.tight_layout()
rg.set_default_dtype(rg.float32)

# %%
# See also: :func:`retrograd.bptt.chunk`, :func:`retrograd.bptt.williams_peng`,
# :func:`retrograd.bptt.bias_report`, and the guide's :doc:`/guide/bptt` page.
