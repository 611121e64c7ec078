"""Feeding a sequence to a recurrent model, one step or one segment at a time.

The runner (``rg.bptt.runner``) cuts the sequence into segments; this module
turns a segment [a, b) into model calls and per-step losses, and checks that
the model reads the steps the way they are meant:

    for t in a … b−1:                                  # a per-step model
        outₜ, hₜ = model(where(maskₜ, xₜ, 0), hₜ₋₁)
        hₜ ← where(maskₜ, hₜ, hₜ₋₁)                    # padded rows keep their state
    out_{a:b}, h_b = model(x_{a:b}, h_a[, mask=m_{a:b}])   # a sequence model
    ℓₜ = loss_fn(outₜ[real rows], yₜ[real rows])

**Data layout** (``batch_first``): ``xs`` and ``ys`` are time-major, (T, B, …),
by default; with ``batch_first=True`` they are (B, T, …) and the engine reads
axis 1 as time (it works on a transposed view; per-step losses, segments and
the state are the same as for the time-major call on transposed data).

**How the model consumes time**, checked so that nothing is silently misread:

* a *per-step* model (the default) is called as ``model(x_t, state)`` with
  ``x_t = xs[t]``, one step of the batch, (B, …);
* a *sequence model* (the class sets ``sequence_model = True``, as the fused
  ``nn.RNN``/``LSTM``/``GRU`` do) is called once per segment on
  ``xs[a:b]``, (k, B, …), or (B, k, …) when the model is batch-first (its own
  ``batch_first = True``, or, when it sets none, its fused layers' ``batch_first=True``),
  and returns every step's output along that time axis.

``gradient``, ``train`` and ``trace`` raise ``ModelLayoutError`` naming the fix when

1. the model contains a fused layer (a submodule with ``sequence_model = True``)
   but does not say how it consumes time itself: set ``sequence_model = True``
   on the wrapper (it then gets whole segments), or ``sequence_model = False``
   if it really feeds the layer one step at a time;
2. a sequence model that does not set ``batch_first`` itself contains fused
   layers that disagree on it (set ``True``: the engine feeds (B, k, …);
   ``False``: (k, B, …), the wrapper transposes for the others). When they
   agree, the model reads its segments as they do: a wrapper of an
   ``nn.LSTM(batch_first=True)`` gets (B, k, …), as in PyTorch code;
3. on a per-step model's first step with a batched input (``x_t.ndim ≥ 2``,
   B = ``x_t.shape[0]``): the output's leading dimension is not B, or a state
   part with two or more dimensions has no dimension equal to B (an unbatched
   sequence layer returns (num_layers, H));
4. a sequence model's output does not have the segment's length along its time axis.

Per-step cell models (``nn.RNNCell`` … with (B, H) states) and unbatched
per-step inputs (``x_t.ndim ≤ 1``) pass these checks unchanged. The checks
themselves are in ``rg.bptt.layout``.

**Padding and new sequences** (``mask``, ``reset``): ``mask`` is a boolean
(T, B) array ((B, T) with ``batch_first=True``), True on a row's real steps.
As in Keras, a padded step leaves the row's state unchanged:

* a per-step model runs on the whole batch, with zeros in place of the
  padded rows' inputs (whatever padding holds, NaN included, never reaches
  the gradient), and the engine keeps, row by row,
  ``state_t = where(mask[t], new state, state_{t−1})`` (rows on axis 0 of a
  (B, H) state part, axis −2 of (num_layers, B, H); an initial ``None`` state
  counts as zeros);
* a sequence model gets the segment's mask as ``model(x_seg, state,
  mask=m_seg)``, (k, B) or (B, k) like its input, and carries the rows itself
  (``ModelLayoutError`` if its ``forward`` takes no ``mask``). A segment whose
  steps are all real is called without ``mask=``.

Step t's loss is ``loss_fn(output_t[real rows], y_t[real rows])`` (rows
taken along axis 0 of the step's output and target, differentiably), so a
mean-reduction ``loss_fn`` averages over that step's real rows; a step with
no real row has no loss (``losses[t]`` is 0) and contributes nothing, and
``train`` makes no optimizer step for an update none of whose steps has a
loss. Every truncation mode and checkpointing see these losses and states
as they see unmasked ones. A mask that is True everywhere changes nothing:
the run is bitwise the run without one. ``reset`` (B,) sets the rows where
it is True to zeros before step 0 (a new sequence starts there: stateful
training, ``train_stateful``, whose batches say their own layout:
``batch_layout``).
"""

from __future__ import annotations

from ..autograd.backend import xp
from ..autograd.tensor import Tensor, _wrap
from ..ops import take
from ..ops.shape import swapaxes
from .layout import (ModelLayoutError, batch_size, blank_rows, carry_rows, check_segment, check_step,
                     check_structure, check_takes_mask, model_batch_first, reset_mask, reset_state, step_mask,
                     time_major)


def _step_input(xs, t):
    x = xs[t]
    return x if isinstance(x, Tensor) else _wrap(xp.asarray(x))


def _step_target(ys, t):
    """Step t's target as a tensor (None stays None: a loss without one; ``ys=None``: none at any step)."""
    if ys is None:
        return None
    y = ys[t]
    return y if isinstance(y, Tensor) or y is None else _wrap(xp.asarray(y))


def check_state(state) -> None:
    """The state as the engine carries it: None, a Tensor, or a tuple/list of Tensors (None parts
    allowed: a cell makes its own). A NumPy array would fail deep inside, far from the cause."""
    if state is None:
        return
    parts = (state,) if isinstance(state, Tensor) else state if isinstance(state, (tuple, list)) else None
    if parts is None or any(p is not None and not isinstance(p, Tensor) for p in parts):
        bad = state if parts is None else next(p for p in parts if p is not None and not isinstance(p, Tensor))
        raise TypeError(f"rg.bptt: state must be a Tensor or a tuple/list of Tensors, got {type(bad).__name__}; "
                        f"wrap it, e.g. state=rg.tensor(h0)")


def output_and_state(model, result):
    """A per-step model's ``(output_t, state)``, or ``ModelLayoutError`` naming the fix when it
    returned something else (a cell's bare new state)."""
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result
    got = f"a {type(result).__name__}" + (f" of {len(result)} items" if isinstance(result, (tuple, list)) else "")
    raise ModelLayoutError(f"rg.bptt: a per-step model returns (output_t, state); {type(model).__name__} returned "
                           f"{got}. Return both, e.g. `h = self.cell(x, h); return self.out(h), h`")


def check_loss(loss) -> None:
    """An online step's loss must be one number: its gradient is the step's estimate (a truncation
    mode takes any loss the tape can start from, ``rg.scan``'s outputs)."""
    shape = getattr(loss, "shape", ())
    if any(d != 1 for d in shape):
        raise ValueError(f"rg.bptt: loss_fn must return a scalar for each step, got shape {tuple(shape)}; "
                         f"reduce it (reduction='mean' or 'sum', or .mean())")


def _seg_input(xs, a, b):
    if isinstance(xs, Tensor):
        return xs[a:b]
    if isinstance(xs, xp.ndarray):
        return _wrap(xs[a:b])
    return _wrap(xp.stack([xp.asarray(x.data if isinstance(x, Tensor) else x) for x in xs[a:b]]))


class Feed:
    """One sequence as ``model`` reads it (``rg.bptt.feeding``'s module docstring): ``xs``/``ys``
    time-major, whether the model takes steps or segments, the (T, B) step
    ``mask`` (None: every step real) and ``initial_state`` (``state`` with the
    ``reset`` rows zeroed). ``check_model``: apply the layout checks (the first
    step's or segment's shapes are checked once, then it turns False).
    ``counted[t]`` is False for a step whose losses found no real row."""

    def __init__(self, model, xs, ys, loss_fn, state=None, batch_first: bool = False, check_model: bool = False,
                 mask=None, reset=None):
        xs, ys = time_major(xs, batch_first, "xs"), time_major(ys, batch_first, "ys")
        check_state(state)
        if check_model:
            check_structure(model)
        self.check_model = check_model  # the first step's shapes are checked once, then this turns False
        self.model, self.xs, self.ys, self.loss_fn = model, xs, ys, loss_fn
        self.T = len(xs)
        if ys is not None and len(ys) != self.T:  # ys=None: a loss of the output alone, loss_fn(out, None)
            raise ValueError(f"rg.bptt: {self.T} inputs but {len(ys)} targets")
        if self.T == 0:
            raise ValueError("rg.bptt: empty sequence")
        self.sequence_model = bool(getattr(model, "sequence_model", False))
        self.model_batch_first = self.sequence_model and model_batch_first(model)
        self.run_segment = model
        returns = getattr(model, "returns", "output_and_state") if self.sequence_model else "output_and_state"
        if returns == "last":
            raise ModelLayoutError(
                f"rg.bptt: {type(model).__name__}(returns='last') gives one output per sequence, and rg.bptt needs "
                f"every step's output for its loss; use returns='output' or the default 'output_and_state'")
        if returns != "output_and_state":  # the layer's outputs alone: its state comes with them this way
            self.run_segment = model.forward_with_state
        rows = batch_size(xs) if mask is not None or reset is not None else None
        if mask is not None and self.sequence_model:
            check_takes_mask(model)
        self.mask = step_mask(mask, self.T, rows, batch_first)  # (T, B), or None: every step real
        self.initial_state = reset_state(state, reset_mask(reset, rows))
        self.counted = [True] * self.T  # steps with a loss (False: no real row); host bookkeeping, never read back

    def forward(self, start, stop, state):
        """Run the model over steps [start, stop) from ``state``: (each step's output, the state after)."""
        outputs = []
        if self.sequence_model:
            seg_x = _seg_input(self.xs, start, stop)
            extra = {}
            if self.mask is not None and not self.mask[start:stop].all():
                m = self.mask[start:stop]
                extra["mask"] = xp.ascontiguousarray(m.T) if self.model_batch_first else m
            out, state = self.run_segment(swapaxes(seg_x, 0, 1) if self.model_batch_first else seg_x, state, **extra)
            if self.check_model:
                self.check_model = False
                check_segment(self.model, out, stop - start, self.model_batch_first)
            for i in range(stop - start):
                outputs.append(out[:, i] if self.model_batch_first else out[i])
        else:
            for t in range(start, stop):
                x = _step_input(self.xs, t)
                padded = self.mask is not None and not self.mask[t].all()
                if padded:  # the model sees zeros, not the padding (which may be NaN), on padded rows
                    x = blank_rows(x, self.mask[t])
                before = state
                out, state = output_and_state(self.model, self.model(x, state))
                if self.check_model:
                    self.check_model = False
                    check_step(self.model, x, out, state)
                if padded:  # padded rows keep their state
                    state = carry_rows(state, before, self.mask[t])
                outputs.append(out)
        return outputs, state

    def losses(self, start, stop, outputs):
        """The loss of each step in [start, stop) on its real rows, from the steps' ``outputs``;
        None for a step with no real row (which is then not ``counted``)."""
        losses = []
        for i, t in enumerate(range(start, stop)):
            y, out = _step_target(self.ys, t), outputs[i]
            if self.mask is not None and not self.mask[t].all():  # the loss sees the real rows only
                rows = xp.flatnonzero(self.mask[t])
                if rows.size == 0:
                    self.counted[t] = False
                    losses.append(None)
                    continue
                out, y = take(out, rows, axis=0), take(y, rows, axis=0)
            losses.append(self.loss_fn(out, y))
        return losses


def batch_layout(batch, batch_first):
    """Whether ``batch``'s x / y / valid are (B, k, …): its own ``time_major`` flag
    (``rg.data.stateful_batches`` sets it), else ``batch_first``, else read off
    ``valid`` against the (B,) ``reset`` when that is unambiguous."""
    own = getattr(batch, "time_major", None)
    if own is not None:
        if batch_first is not None and bool(batch_first) == bool(own):
            raise ValueError(f"rg.bptt.train_stateful: batch_first={batch_first} but the batch says "
                             f"time_major={own}; leave batch_first out (the batch knows its layout)")
        return not own
    if batch_first is not None:
        return bool(batch_first)
    valid, rows = xp.shape(_array(batch.valid)), len(_array(batch.reset))
    if len(valid) == 2 and valid[0] != valid[1] and rows in valid:
        return valid[0] == rows
    raise ValueError(f"rg.bptt.train_stateful: cannot tell whether the batch is time-major (valid {valid}, "
                     f"{rows} rows); pass batch_first=True for (B, k, …) batches or False for (k, B, …)")


def _array(a):
    return a.data if isinstance(a, Tensor) else xp.asarray(a)


__all__ = ["Feed", "batch_layout", "check_state", "output_and_state", "check_loss"]
