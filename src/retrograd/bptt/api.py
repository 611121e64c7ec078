"""``rg.bptt.gradient``, ``train`` and ``train_stateful``: what a caller asks of
one pass of a truncation mode (``rg.bptt.modes``) over a sequence.

Each builds a ``Runner`` (``rg.bptt.runner``), which feeds the model the steps
(``rg.bptt.feeding``: layouts, masks, resets, the ``ModelLayoutError``
checks), runs the mode's jobs and hands over each update's gradient when its
jobs are done:

    gradient:        Σ over updates of ∂(Σ ℓₜ of the update's jobs)/∂W, W fixed
    train:           for each update u:  W.grad ← ∇_u;  optimizer.step()
    train_stateful:  for each batch b:   h ← train(batch b from h).state, detached

``train`` makes the truncated BPTT of Williams & Peng (1990) an online
algorithm: an update happens as soon as its jobs are done, while the forward
pass goes on. When older steps are still on the tape (``williams_peng``), the
parameters are copied before the update, so that tape keeps the weights those
steps actually used. ``train_stateful`` is Keras' ``stateful=True``: the state
crosses the batch boundary by value, not by gradient, and the rows where a
new sequence starts are reset to zeros.

The runner returns the plan it followed (fitted to the measured sizes, with
the measured peak of a checkpointed run); ``train`` and ``train_stateful``
return it as ``.plan``, and ``record_plan`` keeps it on ``mode.last_plan``,
the attribute the documentation promises, the one place the mode is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autograd.backend import to_numpy, xp
from ..autograd.tensor import _wrap
from .feeding import batch_layout
from .modes import Full, Mode
from .online import OnlineMode, OnlineRun
from .planner import Plan
from .runner import Runner


def _floats(values) -> list:
    """Python floats of a list of 0-d (device) arrays, read back to the host in one copy."""
    if not values:
        return []
    return [float(v) for v in to_numpy(xp.stack([xp.asarray(v) for v in values]))]


def _called(mode):
    """``mode`` itself, or a TypeError naming the fix when it is a mode's constructor not called
    (``rg.bptt.rtrl`` for ``rg.bptt.rtrl()``)."""
    if mode is not None and callable(mode) and not isinstance(mode, (Mode, OnlineMode)):
        name = getattr(mode, "__name__", repr(mode))
        raise TypeError(f"rg.bptt: mode must be a mode object, got the function {name}; call it: rg.bptt.{name}()")
    return mode


def record_plan(mode: Mode, plan: Plan) -> None:
    """Keep the plan a run of ``mode`` followed on ``mode.last_plan`` (a mode that
    takes no attributes is left alone)."""
    try:
        mode.last_plan = plan
    except AttributeError:  # a mode that does not take attributes
        pass


def gradient_with_plan(model, xs, ys, loss_fn, mode: Mode = None, state=None, batch_first: bool = False, *,
                       mask=None, reset=None) -> tuple[dict, Plan]:
    """``gradient``'s result and the plan the run followed."""
    mode = mode or Full()
    runner = Runner(model, xs, ys, loss_fn, mode, state, batch_first=batch_first, check_model=True,
                    mask=mask, reset=reset)
    total = {}

    def collect(update, grads, retained, steps):
        for k, v in grads.items():
            total[k] = v if k not in total else total[k] + v

    _, plan = runner.run(collect)
    record_plan(mode, plan)
    return ({name: total.get(name, xp.zeros(p.shape, dtype=p.dtype)) for name, p in
             zip(runner.names, runner.params)}, plan)


def gradient(model, xs, ys, loss_fn, mode: Mode = None, state=None, batch_first: bool = False, *, mask=None,
             reset=None, per_step: bool = False) -> dict:
    """The gradient a truncation ``mode`` computes over the sequence, with the
    parameters held fixed (for modes that update several times: the sum of
    every update's gradient), as ``{parameter name: ndarray}``.

    ``model(x_t, state) → (output_t, state)``; ``loss_fn(output_t, y_t)`` a
    scalar; ``xs``, ``ys`` indexable by step (arrays of shape (T, …) or lists;
    ``ys=None``: no targets, ``loss_fn(output_t, None)``), or arrays/Tensors
    of shape (B, T, …) with ``batch_first=True``. ``mask``
    (T, B) boolean, True on real steps ((B, T) with ``batch_first``): padded
    steps keep a row's state and add no loss; ``reset`` (B,) boolean: rows
    whose state starts from zeros (``rg.bptt.feeding``). Raises
    ``ModelLayoutError`` when the model would misread the steps (``rg.bptt.feeding``).
    The plan followed is kept on ``mode.last_plan``.

    Online modes (``rtrl()``, ``uoro()``, ``kf_rtrl()``, ``snap(n)``, ``rflo(d)``,
    ``rg.bptt.online``) give the sum of their per-step estimates. ``per_step=True``
    returns ``{name: (T, *shape)}``: what each step's loss contributes under the mode
    — for ``full()`` and ``rtrl()`` the exact dLₜ/dθ; for a truncation, ℓₜ's gradient
    through the steps it reaches (``mode.reach``); for an online mode, its estimate.
    """
    if isinstance(_called(mode), OnlineMode):
        return _online_gradient(model, xs, ys, loss_fn, mode, state, batch_first, mask, reset, per_step)
    if per_step:
        return _per_step_gradient(model, xs, ys, loss_fn, mode or Full(), state, batch_first, mask, reset)
    grads, _ = gradient_with_plan(model, xs, ys, loss_fn, mode, state, batch_first, mask=mask, reset=reset)
    return grads


def _online_gradient(model, xs, ys, loss_fn, mode, state, batch_first, mask, reset, per_step):
    run = OnlineRun(model, xs, ys, loss_fn, mode, state, batch_first, mask, reset)
    per = {name: xp.zeros((run.T,) + tuple(p.shape), dtype=p.dtype) for name, p in zip(run.names, run.params)}
    for t, estimate in run.steps():
        for name, g in zip(run.names, estimate):
            per[name][t] = g
    return per if per_step else {name: v.sum(0) for name, v in per.items()}


def _per_step_gradient(model, xs, ys, loss_fn, mode, state, batch_first, mask, reset):
    """{name: (T, *shape)}: for each step t, the gradient of ℓₜ through the steps the mode lets it reach
    (the state entering the first of them a constant), from one forward pass that keeps the states."""
    from ..autograd import engine
    from ..autograd.mode import no_grad
    from ..recurrent.state import detach_state
    from .feeding import Feed
    feed = Feed(model, xs, ys, loss_fn, state, batch_first=batch_first, check_model=True, mask=mask, reset=reset)
    params = list(model.parameters())
    names = [n for n, _ in model.named_parameters()]
    T = feed.T
    per = {name: xp.zeros((T,) + tuple(p.shape), dtype=p.dtype) for name, p in zip(names, params)}
    states, s = [], feed.initial_state
    with no_grad():
        for t in range(T):
            states.append(s)
            _, s = feed.forward(t, t + 1, s)
    reach = mode.reach(T)
    for t in range(T):
        steps = [k for k in range(t + 1) if reach[t][k]]
        if not steps:
            continue
        first = steps[0]
        outputs, _ = feed.forward(first, t + 1, detach_state(states[first]))
        loss = feed.losses(t, t + 1, outputs[-1:])[0]
        if loss is None or not loss.requires_grad:
            continue
        gs = engine.grad(loss, params, allow_unused=True)
        for name, g in zip(names, gs):
            if g is not None:
                per[name][t] = g.data
    return per


@dataclass
class TrainResult:
    """What ``train`` returns: the final (detached) state, each step's loss,
    the summed loss of each update, and the plan the run followed. Unpacks as
    ``state, losses``."""
    state: object
    losses: xp.ndarray
    update_losses: list
    plan: Plan | None = None

    def __iter__(self):
        return iter((self.state, self.losses))


def train(model, xs, ys, loss_fn, optimizer, mode: Mode = None, state=None, batch_first: bool = False, *,
          mask=None, reset=None, update_every: int = 1, _learner=None) -> TrainResult:
    """Run ``mode`` over one sequence with its parameter updates.

    Each update sets the parameters' ``.grad`` to that update's gradient and
    calls ``optimizer.step()``. Returns ``TrainResult(state, losses, update_losses, plan)``
    (``losses[t]`` is step t's loss, also with ``batch_first=True``, where
    ``xs``/``ys`` are (B, T, …)). ``mask`` / ``reset``: padded steps and rows
    starting anew, as in ``gradient``; an update none of whose steps has a
    real row makes no optimizer step. Raises ``ModelLayoutError`` when the
    model would misread the steps (``rg.bptt.feeding``). The plan followed is
    also kept on ``mode.last_plan``.

    With an online mode (``rtrl()`` …) the optimizer steps after every step's
    estimate (``update_every=k``: after every k steps, with their summed estimates);
    the influence carries on across the updates, as in the papers' online SGD.
    """
    mode = _called(mode) or Full()
    if isinstance(mode, OnlineMode):
        return _online_train(model, xs, ys, loss_fn, optimizer, mode, state, batch_first, mask, reset,
                             update_every, _learner)
    runner = Runner(model, xs, ys, loss_fn, mode, state, batch_first=batch_first, check_model=True, mask=mask,
                    reset=reset)
    params = dict(zip(runner.names, runner.params))
    update_losses = []

    def apply(update, grads, retained, steps):
        update_losses.append(runner.step_losses[sorted(set(steps))].sum())  # on the device: read once, at the end
        if not any(runner.counted[t] for t in steps):  # every step of the update was padding: nothing to learn
            if getattr(optimizer, "collective", False):
                # a data-parallel optimizer (rg.distributed.DistributedOptimizer) reduces with the other
                # ranks in step(): this rank takes part without a gradient, or the others would wait forever
                for p in params.values():
                    p.grad = None
                optimizer.step()
            return
        for name, p in params.items():
            if retained:  # copy on write: the kept tape of older steps keeps the weights they used
                p.data = p.data.copy()
            g = grads.get(name)
            p.grad = None if g is None else _wrap(xp.asarray(g, dtype=p.dtype))
        optimizer.step()
        for p in params.values():
            p.grad = None

    final, plan = runner.run(apply)
    record_plan(mode, plan)
    return TrainResult(final, runner.step_losses.copy(), _floats(update_losses), plan)


def _online_train(model, xs, ys, loss_fn, optimizer, mode, state, batch_first, mask, reset, update_every, learner):
    if not isinstance(update_every, int) or update_every < 1:
        raise ValueError(f"rg.bptt.train: update_every must be a positive integer, got {update_every!r}")
    run = OnlineRun(model, xs, ys, loss_fn, mode, state, batch_first, mask, reset, learner=learner)
    if learner is not None and reset is not None:
        learner.reset_rows(xp.asarray(reset, dtype=bool))
    update_losses, tensors, losses, counted = [], run.params, run.step_losses, run.feed.counted
    pending, first, last = None, 0, run.T - 1  # the update's estimates summed so far, and its first step
    for t, estimate in run.steps():
        if pending is not None:
            estimate = [a + e for a, e in zip(pending, estimate)]
        if t - first + 1 < update_every and t < last:
            pending = estimate
            continue
        update_losses.append(losses[t] if t == first else losses[first:t + 1].sum())
        if counted[t] if t == first else any(counted[first:t + 1]):
            for p, g in zip(tensors, estimate):  # the learner's estimate has p's shape: the setter's check skipped
                dtype = p.data.dtype  # (``is`` first: NumPy's dtypes are mostly the same objects)
                p._grad = _wrap(g if g.dtype is dtype or g.dtype == dtype else xp.asarray(g, dtype=dtype))
            optimizer.step()
            for p in tensors:
                p._grad = None
        pending, first = None, t + 1
    result = TrainResult(run.final_state, run.step_losses.copy(), _floats(update_losses), None)
    result.learner = run.learner  # the influence, for the next batch of train_stateful
    return result


@dataclass
class StatefulResult:
    """What ``train_stateful`` returns: the state carried out of the last
    batch (detached), each batch's per-step losses (0 at a step with no real
    row), the summed loss of every update, and the plan the last batch's run
    followed. Unpacks as ``state, losses``."""
    state: object
    losses: list
    update_losses: list
    plan: Plan | None = None

    def __iter__(self):
        return iter((self.state, self.losses))


def train_stateful(model, batches, loss_fn, optimizer, mode: Mode = None, state=None,
                   batch_first: bool | None = None) -> StatefulResult:
    """Stateful truncated BPTT over consecutive batches (Keras' ``stateful=True``),
    e.g. those of ``rg.data.stateful_batches``.

    Each batch has ``x``, ``y`` ((k, B, …), or (B, k, …) when batch-first),
    ``reset`` (B,) True where a row starts a new sequence, and ``valid``
    (k, B) / (B, k) False on padding. For each batch this runs
    ``train(model, x, y, loss_fn, optimizer, mode, state, mask=valid,
    reset=reset)`` (``mode`` default ``full()``: one update per batch) with
    the state carried from the previous batch, detached (its value crosses the
    batch boundary, its gradient does not). A sequence that ends mid-batch
    leaves the carried state of its row at its last real step (padded steps
    keep it), and the next sequence in that row starts from the zero state
    (``reset``). The layout is the batch's ``time_major`` flag when it has
    one, else ``batch_first``. Returns ``StatefulResult(state, losses,
    update_losses, plan)``.
    """
    _called(mode)
    losses, update_losses, plan, learner = [], [], None, None
    for batch in batches:
        bf = batch_layout(batch, batch_first)
        extra = {"_learner": learner} if isinstance(mode, OnlineMode) else {}
        res = train(model, batch.x, batch.y, loss_fn, optimizer, mode, state=state, batch_first=bf,
                    mask=batch.valid, reset=batch.reset, **extra)
        learner = getattr(res, "learner", None)  # an online mode's influence goes on with the state
        state = res.state  # detached by the run: the next batch continues from its value
        losses.append(res.losses)
        update_losses.extend(res.update_losses)
        plan = res.plan
    return StatefulResult(state, losses, update_losses, plan)


__all__ = ["gradient", "train", "TrainResult", "train_stateful", "StatefulResult", "record_plan",
           "gradient_with_plan"]
