"""
The error at each LSTM gate
===========================

Seed page 002 asks how backpropagation reaches each gate of an LSTM: "do you use the first error
of each gate (the hypothesis minus the output)? or adjust it by some computation?" The error of a
gate is ∂L/∂(gate activation), the δ that the chain rule brings to it from the cell state and the
output: for c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t and h_t = o_t ⊙ tanh(c_t),

* δo_t = δh_t ⊙ tanh(c_t)
* δc_t = δh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) + δc_{t+1} ⊙ f_{t+1}
* δi_t = δc_t ⊙ g_t,  δg_t = δc_t ⊙ i_t,  δf_t = δc_t ⊙ c_{t−1}

``nn.LSTM(..., return_gates=True)`` returns every step's gate activations as tensors on the tape;
``retain_grad()`` on them (or ``rg.grad``) gives these δ for each gate, step, row and unit, from
the fused layer itself. PyTorch's fused ``nn.LSTM`` does not expose its gates; the same cell
composed from ops in PyTorch, with ``retain_grad()`` on each gate, is the cross-check.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg

rg.manual_seed(0)
rng = np.random.default_rng(0)
T, B, I, H = 12, 2, 3, 4
lstm = rg.nn.LSTM(I, H).double()                       # time-major (T, B, I), PyTorch's layout
x = rg.tensor(rng.standard_normal((T, B, I)))
target = rng.standard_normal((T, B, H))

out, (h_n, c_n), gates = lstm(x, return_gates=True)
for g in gates.values():
    g.retain_grad()
loss = 0.5 * ((out - rg.tensor(target)) ** 2).sum()
loss.backward()
print({name: g.grad.shape for name, g in gates.items()})   # (layers · directions, T, B, H); "c": the cell state

# %%
# The same weights in a PyTorch cell written gate by gate (PyTorch orders the gate blocks i, f, g, o):

import torch  # noqa: E402

sd = {k: torch.tensor(v, requires_grad=True) for k, v in lstm.state_dict().items()}
W_ih, W_hh, b = sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"]
h = c = torch.zeros(B, H, dtype=torch.float64)
tg = {k: [] for k in "ifgo"}
outs = []
for t in range(T):
    z = torch.tensor(x.data[t]) @ W_ih.T + h @ W_hh.T + b
    zi, zf, zg, zo = z.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
    for name, v in zip("ifgo", (i, f, g, o)):
        v.retain_grad()
        tg[name].append(v)
    c = f * c + i * g
    h = o * torch.tanh(c)
    outs.append(h)
(0.5 * ((torch.stack(outs) - torch.tensor(target)) ** 2).sum()).backward()
for name in "ifgo":
    theirs = torch.stack([v.grad for v in tg[name]]).numpy()
    print(f"δ{name}: largest difference from PyTorch's composed cell "
          f"{np.max(np.abs(gates[name].grad.data[0] - theirs)):.1e}")

# %%
# The δ of each gate over time for row 0 (each column a unit). The forget gate's δ is
# δc_t ⊙ c_{t−1}: zero at the first step, where c₀ = 0.

fig, axes = plt.subplots(1, 4, figsize=(10, 2.8), sharey=True)
for ax, name in zip(axes, "ifgo"):
    d = gates[name].grad.data[0, :, 0, :]
    lim = np.abs(d).max()
    im = ax.imshow(d, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"δ{name}  (gate {name})")
    ax.set_xlabel("unit")
    fig.colorbar(im, ax=ax, fraction=0.05)
axes[0].set_ylabel("step t")
fig.tight_layout()

# %%
# ``rg.grad`` gives the same arrays without ``retain_grad`` (on a fresh forward pass):

out, _, gates = lstm(x, return_gates=True)
loss = 0.5 * ((out - rg.tensor(target)) ** 2).sum()
d_i, d_f = rg.grad(loss, [gates["i"], gates["f"]])
print(f"rg.grad against retain_grad, gate i: {np.max(np.abs(d_i.data[0] - torch.stack([v.grad for v in tg['i']]).numpy())):.1e}")
