"""Seed page 002's Keras model, ported line by line, trained on variable-length
text lines with padding, chunked TBPTT and a stateful carry.

The Keras character model (a stateful LSTM over padded lines)::

    model.add(Embedding(len(char_to_num), 200, mask_zero=True, batch_input_shape=(batch_size, k)))
    model.add(Dropout(0.5))
    model.add(LSTM(512, activation='relu', return_sequences=True, stateful=True))
    model.add(Dropout(0.5))
    model.add(TimeDistributed(Dense(len(char_to_num), activation='softmax')))
    model.compile(loss='sparse_categorical_crossentropy', optimizer='adam')

in retrograd (``KerasCharLM``)::

    Embedding(vocab, 200, padding_idx=0)       # mask_zero=True: id 0 is padding …
    mask = embed.padding_mask(ids)             # … and the mask Keras propagates
    Dropout(0.5)
    LSTM(200, 512, activation="relu", batch_first=True)  # return_sequences: all outputs; mask=mask
    Dropout(0.5)
    Linear(512, vocab)                         # TimeDistributed(Dense): Linear acts on the last axis;
                                               # softmax + sparse CE = cross_entropy on the logits

``stateful=True`` is ``rg.bptt.train_stateful`` over ``rg.data.stateful_batches``:
each of the ``batch_size`` rows reads lines one after another, k characters per
batch; the state is carried from batch to batch by value (the gradient is cut at
the batch boundary: truncated BPTT with k = chunk length), a row whose line ends
mid-chunk keeps its state at the line's last character (masked padding), and
the row's next line starts from the zero state (``reset``). The padded steps'
losses are left out by the engine.

One addition to the seed: the gradient is clipped (Keras' ``global_clipnorm``).
A relu LSTM's cell state is unbounded, and its recurrence explodes within
the first dozen updates (losses of 1e12 here); clipped Adam steps recover.
Sizes are scaled down by default (embed 48, hidden 128, 1200 updates: about
two minutes here) so that it learns visibly — the loss ends 0.8 nats per
character below the unigram entropy and the samples hold words — despite
the relu's explosions; ``embed=200, hidden=512`` is the seed's model.
"""

from __future__ import annotations

import os

import numpy as np

import retrograd as rg
from retrograd import bptt, nn, optim
from retrograd.train import progress_bar, say

from .charlm import load_text

DESCRIPTION = ("seed 002's Keras model (Embedding mask_zero, Dropout, LSTM relu stateful, TimeDistributed softmax) "
               "on padded text lines, chunked TBPTT with stateful carry")


class KerasCharLM(nn.Module):
    """The seed's Keras Sequential model (``retrograd.demos.keras_charlm``'s module docstring). It reads (B, k)
    ids, Keras' batch-major layout, and derives its mask from the padding ids
    as Keras' ``mask_zero`` does."""
    sequence_model = True
    batch_first = True

    def __init__(self, vocab: int, embed: int = 200, hidden: int = 512, dropout: float = 0.5):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, padding_idx=0)
        self.drop_in = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, activation="relu")
        self.drop_out = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, vocab)
        self.keras_initialisation()

    def keras_initialisation(self, recurrent_gain: float = 1.0, forget_bias: float = 1.0):
        """Keras' defaults, so the port starts where the seed's model starts: the
        embedding U(±0.05); kernels Glorot-uniform, the recurrent kernel
        orthogonal; biases zero except the forget gate's 1 (``unit_forget_bias``;
        Keras has one bias, here it is ``bias_ih``)."""
        init = nn.init
        init.uniform_(self.embed.weight, -0.05, 0.05)
        with rg.no_grad():
            self.embed.weight.data[0] = 0
        init.xavier_uniform_(self.lstm.weight_ih_l0)
        init.orthogonal_(self.lstm.weight_hh_l0, gain=recurrent_gain)
        H = self.lstm.hidden_size
        init.zeros_(self.lstm.bias_hh_l0)
        init.zeros_(self.lstm.bias_ih_l0)
        with rg.no_grad():
            self.lstm.bias_ih_l0.data[H:2 * H] = forget_bias
        init.xavier_uniform_(self.dense.weight)
        init.zeros_(self.dense.bias)

    def forward(self, ids, state=None, mask=None):
        # Keras propagates the Embedding's mask; the engine's mask (which targets
        # count) may also mark the last real character of a line, whose input is real
        mask = self.embed.padding_mask(ids)
        h, state = self.lstm(self.drop_in(self.embed(ids)), state, mask=mask)
        return self.dense(self.drop_out(h)), state


class ClippedAdam(optim.Adam):
    """Keras' ``Adam(global_clipnorm=…)``: the gradient rescaled to a total norm of
    at most ``max_norm`` before each step. The one addition to the seed's model:
    a relu LSTM's state is unbounded, and without it a few large updates make the
    recurrence explode (losses of 1e12 within the first dozen updates here)."""

    def __init__(self, params, max_norm: float = 1.0, **kwargs):
        params = list(params)
        super().__init__(params, **kwargs)
        self.clipped, self.max_norm = params, max_norm

    def step(self):
        nn.utils.clip_grad_norm_([p for p in self.clipped if p.grad is not None], self.max_norm)
        super().step()


def load_lines(max_chars: int, max_len: int = 80) -> list[str]:
    """Non-empty lines of standard-library source, each at most ``max_len`` characters."""
    lines = [line.rstrip()[:max_len] for line in load_text(max_chars).splitlines()]
    return [line + "\n" for line in lines if line.strip()]


def sample(model, chars, start: str, n: int, rng, temperature: float = 0.7) -> str:
    """Continue ``start`` one character at a time, the state carried (ids are 1 + the character's index)."""
    index = {c: i + 1 for i, c in enumerate(chars)}
    out, state = [], None
    was_training = model.training
    model.eval()
    with rg.no_grad():
        logits, state = model(rg.tensor(np.array([[index.get(c, 1) for c in start]])), state)
        for _ in range(n):
            z = logits.data[0, -1, 1:]                      # id 0 is padding: never sampled
            p = np.exp((z - z.max()) / temperature)
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(chars[c])
            if chars[c] == "\n":
                break
            logits, state = model(rg.tensor(np.array([[c + 1]])), state)
    model.train(was_training)
    return start + "".join(out)


def run(out_dir: str = ".", seed: int = 0, updates: int = 1200, batch_size: int = 32, k: int = 25,
        embed: int = 48, hidden: int = 128, lr: float = 2e-3, max_chars: int = 120_000, sample_every: int = 300,
        verbose: bool = True, plot: bool = True, progress=None) -> dict:
    """Run the demo (see ``retrograd.demos.keras_charlm``'s module docstring);
    returns its results as a dict (the tests check them):
    ``ok`` says the final loss is at least half a nat per character below the unigram entropy
    (it learns more than character frequencies), ``files`` lists the paths written."""
    rg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lines = load_lines(max_chars)
    chars = sorted(set("".join(lines)))
    index = {c: i + 1 for i, c in enumerate(chars)}          # 0 is the padding id (mask_zero)
    sequences = [np.array([index[c] for c in line], dtype=np.int64) for line in lines]
    model = KerasCharLM(len(chars) + 1, embed, hidden)
    opt = ClippedAdam(model.parameters(), max_norm=1.0, lr=lr)
    if verbose:
        lengths = [len(s) for s in sequences]
        print(f"{len(sequences):,} lines of standard-library source (lengths {min(lengths)}–{max(lengths)}, "
              f"mean {np.mean(lengths):.0f}), vocabulary {len(chars)} + padding; {batch_size} rows, chunks of "
              f"{k} steps; Embedding({len(chars) + 1}, {embed}, mask) → Dropout → LSTM({hidden}, relu, stateful) "
              f"→ Dropout → Dense softmax")
    losses, n = [], 0
    bar = progress_bar(updates, "keras-charlm", progress)
    state = None

    def batches():
        while True:  # epochs over the lines, batch-major as Keras reads them
            yield from rg.data.stateful_batches(sequences, batch_size, k, time_major=False)

    for batch in batches():
        result = bptt.train_stateful(model, [batch], rg.cross_entropy, opt, state=state)
        state = result.state
        counts = batch.valid.sum(axis=0)                    # real targets of each step
        step_losses = result.losses[0]
        if counts.sum():
            losses.append(float((step_losses * counts).sum() / counts.sum()))
        n += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if verbose and (n % sample_every == 0 or n == updates):
            say(bar, f"\nupdate {n}: loss {np.mean(losses[-20:]):.3f} nats/char; sample: "
                     f"{sample(model, chars, 'def ', 60, rng)!r}")
        if n >= updates:
            break
    if bar is not None:
        bar.close()
    data = np.concatenate(sequences)
    freq = np.bincount(data)[1:] / len(data)
    unigram = -float(np.sum(freq[freq > 0] * np.log(freq[freq > 0])))
    first, final = float(np.median(losses[:10])), float(np.median(losses[-20:]))
    spikes = int(np.sum(np.asarray(losses) > 2 * np.log(len(chars))))
    if verbose:
        print(f"loss per character (median): first 10 updates {first:.3f}, last 20 {final:.3f} nats "
              f"(unigram entropy {unigram:.3f}, uniform {np.log(len(chars)):.3f})")
        if spikes:
            print(f"{spikes} updates had a loss above twice the uniform one: the relu LSTM's state is unbounded "
                  f"(c grows by about f + i·o·‖W_hg‖ per step), and its recurrence explodes until the clipped "
                  f"Adam steps pull it back — the seed's activation='relu' is why")
    path = None
    if plot:
        from ..plot import save_curves

        path = save_curves(os.path.join(out_dir, "keras_charlm_loss.png"),
                           {"loss per character": losses, "unigram entropy": [unigram] * len(losses)},
                           "seed 002's Keras model: stateful, masked, chunked TBPTT", xlabel="update",
                           ylabel="nats per character (log scale)", logy=True)
        if path and verbose:
            print(f"wrote {path}")
    ok = final < unigram - 0.5  # the claim: well below what character frequencies alone give
    if verbose:
        print(f"sample after {n} updates: {sample(model, chars, 'def ', 120, rng)!r}")
        print(f"claim: the loss ends at least 0.5 nats below the unigram entropy ({final:.3f} < {unigram - 0.5:.3f}): "
              + ("yes" if ok else "NO"))
    return {"losses": losses, "spikes": spikes, "first_loss": first, "final_loss": final, "unigram_entropy": unigram,
            "plot": path, "ok": ok, "files": [p for p in [path] if p], "sample": sample(model, chars, "import ", 40, rng)}
