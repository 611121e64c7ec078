"""
BPTT in the echo RNN tutorial: chunk truncation on a carried state
==================================================================

Seed page 004 ("How to build an RNN in TensorFlow") trains a 4-unit tanh RNN to echo a random bit
stream 3 steps later. The series is cut into 5 rows; each batch is the next
``truncated_backprop_length = 15`` steps of every row, and the final state of a batch is fed, as a
value, into the next one. The page says the error is "backpropagated three times" per batch; what
it does is truncated BPTT in chunks: each loss reaches back only to the start of its own chunk.
In retrograd that is ``rg.bptt.chunk(15)`` with ``state=`` carried between calls
(``retrograd demo echo`` is the full-size run; this one is shortened to run in a couple of seconds).
TensorFlow is not installed here; PyTorch's ``h.detach()`` idiom, the same truncation, is the
cross-check.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg
from retrograd import bptt
from retrograd.demos.echo import EchoRNN, generate_data

rg.manual_seed(0)
rng = np.random.default_rng(0)
k, echo_step, batch_size = 15, 3, 5
model = EchoRNN(state_size=4)                          # nn.RNN(1, 4) (tanh) + a Linear(4, 2) readout
opt = rg.optim.Adagrad(model.parameters(), lr=0.3)
loss_fn = lambda logits, y: rg.cross_entropy(logits, y) * (1.0 / k)   # noqa: E731 - mean over 15 steps

losses = []
for epoch in range(3):
    x, y = generate_data(rng, total=15_000, echo_step=echo_step, batch_size=batch_size)
    state = None                                       # a new series: the tutorial resets the state
    for b in range(x.shape[1] // k):
        xs = x[:, b * k:(b + 1) * k].T[:, :, None].astype(np.float32)   # (15, 5, 1), time-major
        ys = y[:, b * k:(b + 1) * k].T
        state, step_losses = bptt.train(model, xs, ys, loss_fn, opt, bptt.chunk(k), state=state)
        losses.append(float(step_losses.sum()))

x, y = generate_data(rng, total=1_500, echo_step=echo_step, batch_size=batch_size)
with rg.no_grad():
    logits, _ = model(rg.tensor(x.T[:, :, None].astype(np.float32)), None)
pred = logits.data.argmax(-1).T
accuracy = (pred[:, echo_step:] == y[:, echo_step:]).mean()
print(f"accuracy of the echo on a new series (the first {echo_step} steps have no echo): {accuracy:.2%}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].semilogy(losses, lw=0.6)
axes[0].set(xlabel="batch", ylabel="mean cross-entropy", title="loss per batch")
steps = np.arange(k)
axes[1].bar(steps, x[0, :k], width=1, color="tab:blue", label="input")
axes[1].bar(steps, y[0, :k] * 0.5, width=1, color="tab:red", label="target (echo)")
axes[1].bar(steps, pred[0, :k] * 0.3, width=1, color="tab:green", label="prediction")
axes[1].set(xlabel="step", title="row 0, first 15 steps")
axes[1].legend(fontsize=7)
fig.tight_layout()

# %%
# What ``chunk(15)`` computes, against PyTorch
# --------------------------------------------
# The gradient of one batch, with the state carried in from the previous batch, is what PyTorch
# computes when the incoming state is detached (``h = h.detach()``) and the chunk's loss is
# backpropagated. ``loss_fn`` is applied step by step (cross-entropy's mean over the 5 rows, over 15),
# and the steps' losses are summed. The same weights in both (``load_state_dict`` takes PyTorch's state dict):

import torch  # noqa: E402

m64 = EchoRNN(4).double()
xs = x[:, :2 * k].T[:, :, None].astype(np.float64)     # two chunks
ys = y[:, :2 * k].T
g = bptt.gradient(m64, xs, ys, loss_fn, bptt.chunk(k))  # {name: array}, summed over both chunks

rnn, readout = torch.nn.RNN(1, 4).double(), torch.nn.Linear(4, 2).double()
rnn.load_state_dict({n[4:]: torch.tensor(v) for n, v in m64.state_dict().items() if n.startswith("rnn.")})
readout.load_state_dict({n[8:]: torch.tensor(v) for n, v in m64.state_dict().items() if n.startswith("readout.")})
h = None
for c in range(2):
    h = None if h is None else h.detach()             # the truncation: the state crosses as a value
    out, h = rnn(torch.tensor(xs[c * k:(c + 1) * k]), h)
    logits_t = readout(out)
    loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, 2), torch.tensor(ys[c * k:(c + 1) * k]).reshape(-1),
                                               reduction="sum") / (k * batch_size)
    loss_t.backward()
worst = max(np.max(np.abs(g["rnn." + n] - p.grad.numpy())) for n, p in rnn.named_parameters())
print(f"largest difference from PyTorch's detach idiom over the RNN's weights: {worst:.1e}")

# %%
# How much does the cut change the gradient? ``rg.bptt.bias_report`` compares a truncated gradient
# with full BPTT over the whole sequence, parameter by parameter:

print(bptt.bias_report(m64, xs, ys, loss_fn, bptt.chunk(k)))
