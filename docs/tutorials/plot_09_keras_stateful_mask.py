"""
Keras' stateful LSTM with ``mask_zero``: a character model on padded lines
==========================================================================

Seed page 002 cuts long sequences into chunks of k = 25 steps for truncated BPTT in Keras, and asks
how ``stateful=True`` carries the LSTM's state from one batch to the next. Its model:

.. code-block:: python

   model.add(Embedding(len(char_to_num), 200, mask_zero=True, batch_input_shape=(batch_size, k)))
   model.add(Dropout(0.5))
   model.add(LSTM(512, activation='relu', return_sequences=True, stateful=True))
   model.add(Dropout(0.5))
   model.add(TimeDistributed(Dense(len(char_to_num), activation='softmax')))

``retrograd.demos.keras_charlm.KerasCharLM`` is that model line by line:
``rg.nn.Embedding(n, d, padding_idx=0)`` is ``mask_zero=True`` and ``embed.padding_mask(ids)`` the
mask Keras propagates to the LSTM; ``TimeDistributed(Dense)`` is a ``Linear`` on the last axis.
``stateful=True`` is ``rg.bptt.train_stateful`` over ``rg.data.stateful_batches``: row i of batch
b + 1 continues row i of batch b, the state crosses the batch boundary as a value (truncated BPTT),
a row whose line ends mid-chunk keeps its state at the line's last character, and ``reset`` marks
the rows where a new line starts from zeros. ``retrograd demo keras-charlm`` trains it at size on
standard-library source; here it is tiny (embedding 8, 16 units, no dropout) on six lines of text.
Keras is not installed here; PyTorch, with the masking written by hand, is the cross-check.
"""

import matplotlib.pyplot as plt
import numpy as np

import retrograd as rg
from retrograd import bptt
from retrograd.demos.keras_charlm import ClippedAdam, KerasCharLM

rg.manual_seed(0)
lines = ["the cat sat on the mat\n", "a cat\n", "the mat sat\n", "on a mat the cat sat\n",
         "the cat\n", "a mat on a cat\n"]
chars = sorted(set("".join(lines)))
index = {c: i + 1 for i, c in enumerate(chars)}          # id 0 is padding (mask_zero)
sequences = [np.array([index[c] for c in line], dtype=np.int64) for line in lines]
B, k = 2, 8                                              # 2 rows (lanes), chunks of 8 characters
model = KerasCharLM(len(chars) + 1, embed=8, hidden=16, dropout=0.0)
print(model)

# %%
# The batches and the mask
# ------------------------
# ``stateful_batches(sequences, B, k, time_major=False)`` gives Keras' (B, k) layout. Each batch has
# ``x`` (the ids), ``y`` (the next character), ``reset`` (True where a row starts a line) and
# ``valid`` (False on padding, and at a line's last character, which has no next character);
# ``embed.padding_mask(x)`` is the mask the LSTM sees (False on padding only):

batches = list(rg.data.stateful_batches(sequences, B, k, time_major=False))
decode = lambda ids: "".join("·" if i == 0 else chars[i - 1] for i in ids).replace("\n", "⏎")  # noqa: E731
for n, batch in enumerate(batches[:4]):
    mask = model.embed.padding_mask(batch.x)
    for row in range(B):
        print(f"batch {n} row {row}: {decode(batch.x[row])!r:12} reset={str(batch.reset[row]):5} "
              f"mask={mask[row].astype(int)}  valid={batch.valid[row].astype(int)}")

# %%
# The carried state
# -----------------
# One update per batch with Keras' Adam and gradient clipping (``ClippedAdam``: ``global_clipnorm``,
# as the demo adds: a relu LSTM's state is unbounded). ``train_stateful`` returns the state carried
# out of the batch, detached. Where a line ends mid-chunk, that row's carried state is the state at
# the line's last character: running the line alone gives the same vector. The loss has a spike
# (figure, left): the seed's ``activation='relu'`` leaves the cell state unbounded, one large step
# makes the recurrence blow up, and the clipped Adam steps pull it back (the full-size demo shows
# the same).

opt = ClippedAdam(model.parameters(), max_norm=1.0, lr=0.02)
losses = []
state = None
for epoch in range(6):
    for n, batch in enumerate(batches):
        result = bptt.train_stateful(model, [batch], rg.cross_entropy, opt, state=state)
        state = result.state
        counts = batch.valid.sum(axis=0)
        losses.append(float((result.losses[0] * counts).sum() / max(counts.sum(), 1)))

print(f"loss per character: first epoch {np.mean(losses[:len(batches)]):.3f}, "
      f"last epoch {np.mean(losses[-len(batches):]):.3f} (uniform {np.log(len(chars)):.3f})")

# batch 2, row 0: its line ends mid-chunk ("the mat sat⏎"), followed by padding
batch, n, row = batches[2], 2, 0
state_in = None
for b in batches[:n]:                                    # the carry into batch 2, with the trained weights
    with rg.no_grad():
        _, state_in = model(rg.tensor(b.x), state_in)
with rg.no_grad():
    _, state_out = model(rg.tensor(batch.x), state_in)
    line_len = int((batch.x[row] != 0).sum())
    h_in, c_in = (rg.tensor(s.data[:, row:row + 1]) for s in state_in)
    _, (h_alone, _) = model(rg.tensor(batch.x[row:row + 1, :line_len]), (h_in, c_in))   # no padding
print(f"batch {n} row {row}: {decode(batch.x[row])!r}; carried state vs the line run alone up to its last "
      f"character: {np.max(np.abs(state_out[0].data[0, row] - h_alone.data[0, 0])):.1e}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].semilogy(losses, lw=0.8)
axes[0].axhline(np.log(len(chars)), color="gray", ls="--", lw=0.8, label="uniform")
axes[0].set(xlabel="update (one per batch)", ylabel="nats per character", title="loss")
axes[0].legend(fontsize=7)
grid = np.concatenate([b.x != 0 for b in batches], axis=1).astype(float)
for j, b in enumerate(batches):
    for r in range(B):
        if b.reset[r]:
            grid[r, j * k] = 2.0                             # a new line starts: the state is reset
axes[1].imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=2.2, interpolation="nearest")
for j in range(1, len(batches)):
    axes[1].axvline(j * k - 0.5, color="k", lw=0.6)
axes[1].set(xlabel="step (batches of k = 8, one epoch)", yticks=range(B), ylabel="row",
            title="real characters (blue), resets (dark), padding (white)")
axes[1].title.set_fontsize(8)
fig.tight_layout()

# %%
# One batch's gradient, against PyTorch
# -------------------------------------
# PyTorch has no relu LSTM and no ``mask_zero``: the cell is written out (gate blocks i, f, g, o;
# c′ = f⊙c + i⊙relu(a_g), h′ = o⊙relu(c′)), a padded step keeps the row's state
# (``torch.where``), each step's cross-entropy is the mean over its valid rows, and the state
# carried in from the previous batch is detached. retrograd: ``rg.bptt.gradient`` with the batch's
# ``mask`` and ``reset``, on the same weights and the same carried state.

import torch  # noqa: E402

m64 = KerasCharLM(len(chars) + 1, embed=8, hidden=16, dropout=0.0).double()
m64.load_state_dict(model.state_dict())
with rg.no_grad():
    _, carry = m64(rg.tensor(batches[0].x))              # the state carried out of batch 0
batch = batches[1]
g = bptt.gradient(m64, batch.x, batch.y, rg.cross_entropy, state=carry, batch_first=True,
                  mask=batch.valid, reset=batch.reset)

p = {n: torch.tensor(v, requires_grad=True) for n, v in m64.state_dict().items()}
h, c = (torch.tensor(s.data[0]) for s in carry)          # detached: a value, no gradient
keep = torch.tensor(~batch.reset)[:, None].double()
h, c = h * keep, c * keep                                # reset rows start from zeros
ids, y, valid = torch.tensor(batch.x), torch.tensor(batch.y), torch.tensor(batch.valid)
loss = 0
for t in range(k):
    z = p["embed.weight"][ids[:, t]] @ p["lstm.weight_ih_l0"].T + p["lstm.bias_ih_l0"] \
        + h @ p["lstm.weight_hh_l0"].T + p["lstm.bias_hh_l0"]
    zi, zf, zg, zo = z.chunk(4, dim=1)
    c_new = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.relu(zg)
    h_new = torch.sigmoid(zo) * torch.relu(c_new)
    m = (ids[:, t] != 0)[:, None]                        # Keras' mask: padded steps keep the state
    h, c = torch.where(m, h_new, h), torch.where(m, c_new, c)
    logits = h @ p["dense.weight"].T + p["dense.bias"]
    if valid[:, t].any():
        loss = loss + torch.nn.functional.cross_entropy(logits[valid[:, t]], y[valid[:, t], t])
loss.backward()
worst = max(float(np.max(np.abs(g[n] - p[n].grad.numpy()))) for n in g)
print(f"largest difference from PyTorch over every parameter: {worst:.1e}")

# %%
# See also: :func:`retrograd.bptt.train_stateful`, :func:`retrograd.data.stateful_batches`,
# :meth:`retrograd.nn.Embedding.padding_mask`, and the guide's :doc:`/guide/sequences` page.
