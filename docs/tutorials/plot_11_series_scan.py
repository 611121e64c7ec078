"""
Where is the BPTT code? An RNN learns 1, 0, 1, 0, … through ``rg.scan``
=======================================================================

Seed page 000 asks where TensorFlow keeps its backpropagation-through-time code, and the answer
given there is that there is none: the recurrent loop (unrolled, or a ``tf.while_loop``) is
recorded like any other computation, and automatic differentiation runs the recorded steps'
gradients in reverse, the last step first. The same page trains a small RNN on the series
1, 0, 1, 0, … .

In retrograd the loop is ``rg.scan(step, init, xs)``: every step
``h = tanh(W_ih x + W_hh h + b)``, ``ŷ = sigmoid(readout(h))`` goes on the tape, and ``rg.explain``
prints the backward pass as it will run — BPTT, visible. ``retrograd demo series`` is the same
run; this one is kept small. TensorFlow is not installed here; PyTorch, whose autograd records a
Python loop the same way, is the cross-check.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg

rg.manual_seed(0)
length = 15
series = np.array([1.0, 0.0] * length)[:length]
xs = series[:-1].reshape(-1, 1, 1).astype(np.float32)   # (T, B = 1, 1): the current value …
ys = series[1:].reshape(-1, 1, 1).astype(np.float32)    # … and the next one, the target
cell, readout = rg.nn.RNNCell(1, 4), rg.nn.Linear(4, 1)
params = list(cell.parameters()) + list(readout.parameters())


def step(h, x):                      # carry, y = step(carry, x_t)
    h = cell(x, h)
    return h, rg.sigmoid(readout(h))


# %%
# The backward pass of the scanned loop
# -------------------------------------
# One forward pass over the 14 steps, and its backward pass printed before it runs (``limit``
# shows its first and last rows): the steps are visited from the last to the first.

_, preds = rg.scan(step, None, xs)
loss = rg.mse_loss(preds, rg.tensor(ys))
trace = rg.explain(loss, limit=12)
print(f"{len(trace)} vector-Jacobian products for {len(xs)} steps")

# %%
# The same gradient from PyTorch
# ------------------------------
# The same weights in a ``torch.nn.RNNCell`` and a ``torch.nn.Linear``, a plain Python loop, and
# ``loss.backward()``:

import torch  # noqa: E402

loss.backward()
t_cell, t_readout = torch.nn.RNNCell(1, 4), torch.nn.Linear(4, 1)
t_cell.load_state_dict({k: torch.tensor(v) for k, v in cell.state_dict().items()})
t_readout.load_state_dict({k: torch.tensor(v) for k, v in readout.state_dict().items()})
h, outs = None, []
for x_t in torch.tensor(xs):
    h = t_cell(x_t, h)
    outs.append(torch.sigmoid(t_readout(h)))
t_loss = torch.nn.functional.mse_loss(torch.stack(outs), torch.tensor(ys))
t_loss.backward()
worst = max(float(np.max(np.abs(p.grad.data - q.grad.numpy())))
            for p, q in zip(params, list(t_cell.parameters()) + list(t_readout.parameters())))
print(f"loss {loss.item():.6f} (PyTorch {t_loss.item():.6f}); largest gradient difference {worst:.1e} (float32)")

# %%
# Training
# --------
# Adam on the same loop; after training, every next value of the series is predicted.

opt = rg.optim.Adam(params, lr=0.05)
losses = []
for epoch in range(150):
    _, preds = rg.scan(step, None, xs)
    loss = rg.mse_loss(preds, rg.tensor(ys))
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
with rg.no_grad():
    _, preds = rg.scan(step, None, xs)
predicted = preds.data.ravel()
print("series   ", series.astype(int).tolist())
print("predicted   ", predicted.round().astype(int).tolist())

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].semilogy(losses)
axes[0].set(xlabel="epoch", ylabel="mean squared error", title="loss")
axes[1].step(np.arange(length), series, where="mid", color="tab:blue", label="series")
axes[1].plot(np.arange(1, length), predicted, "o", color="tab:red", label="prediction of the next value")
axes[1].set(xlabel="step", ylim=(-0.2, 1.3), title="after training")
axes[1].legend(fontsize=7, loc="upper right")
fig.tight_layout()

# %%
# See also: :func:`retrograd.scan`, :func:`retrograd.explain`, and the guide's :doc:`/guide/tape` page.
