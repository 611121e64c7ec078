"""PolynomialLR, CyclicLR, SequentialLR and ChainedScheduler with PyTorch 2.13's
``lr_scheduler`` semantics (arguments, values, errors, ``state_dict``).

They build on ``lr_scheduler.LRScheduler`` (chainable schedules; the constructor takes the
first step) and are reachable as ``rg.optim.X`` and ``rg.optim.lr_scheduler.X``.
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _group_values, _per_group, _set_group_value, _start_momentum
from .optimizer import Optimizer


class PolynomialLR(LRScheduler):
    """lr = base·(1 − epoch/``total_iters``)^``power`` until ``total_iters``, then unchanged
    (0 with the defaults). Computed step by step from the current rate, as PyTorch's
    (lr ← lr·((1 − e/T) / (1 − (e − 1)/T))^power), so it composes with other schedules;
    ``step(epoch)`` uses the closed form."""

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        decay = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [lr * decay for lr in self._current()]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2017), stepped once per batch: the rate climbs linearly
    from ``base_lr`` to ``max_lr`` over ``step_size_up`` steps, comes back down over
    ``step_size_down`` (default: the same), and repeats. The amplitude is scaled by
    ``scale_fn`` of the cycle number (from 1) or of the step (``scale_mode="iterations"``):

    - ``mode="triangular"``: 1 (no scaling);
    - ``"triangular2"``: 1/2^(cycle − 1), halved every cycle;
    - ``"exp_range"``: ``gamma ** step``;
    - or any ``scale_fn`` (then ``mode`` is ignored; ``scale_mode`` says what it is given: the
      built-in modes set it themselves, "cycle" for the triangles, "iterations" for exp_range).

    With ``cycle_momentum`` (the default) the momentum, or Adam's β₁, moves the other way,
    from ``max_momentum`` down to ``base_momentum`` at the rate's peak; the optimizer must have
    a ``momentum`` or ``betas`` hyper-parameter (``ValueError`` otherwise). ``base_lr``,
    ``max_lr`` and the momenta may be lists (one per parameter group). The constructor sets the
    groups' rates to ``base_lr`` (and the momenta to ``max_momentum``), as PyTorch's.

    ``state_dict`` is PyTorch's: a ``scale_fn`` that is a function or lambda is code, not state
    (saved as None); one that is a callable object has its attributes saved and restored.
    """

    _not_state = ("optimizer", "_scale_fn_ref", "_scale_fn_custom")

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: int = 2000, step_size_down: int | None = None,
                 mode: str = "triangular", gamma: float = 1.0, scale_fn=None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                _set_group_value(group, "lr", lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"CyclicLR: mode is invalid and scale_fn is None (mode {mode!r}; use 'triangular', "
                             f"'triangular2' or 'exp_range', or give a scale_fn)")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                _start_momentum(optimizer, self.max_momentums, self.base_momentums, self.use_beta1)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs  # after the first step, as PyTorch (which took it from initial_lr)

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref, self.scale_mode = _triangular, "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref, self.scale_mode = _triangular2, "cycle"
        elif self.mode == "exp_range":
            self._scale_fn_ref, self.scale_mode = _ExpRange(self.gamma), "iterations"

    def scale_fn(self, x) -> float:
        """The amplitude's scale at ``x`` (the cycle number or the step, per ``scale_mode``)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return self._scale_fn_ref(x)

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # the position in the cycle, in [0, 1)
        scale_factor = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, bottom, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                momentum = top - (top - bottom) * scale_factor * scale
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs

    def state_dict(self) -> dict:
        """PyTorch's: every attribute but the optimizer and the scale function, plus
        ``_scale_fn_custom``: None, or a callable object's attributes."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (dict(fn.__dict__) if fn is not None and not isinstance(fn, types.FunctionType)
                                     and hasattr(fn, "__dict__") else None)
        return state

    def load_state_dict(self, state: dict):
        """Resume from ``state_dict()``; a callable ``scale_fn`` object gets its saved attributes back."""
        state = dict(state)
        fn = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()


def _triangular(x: float) -> float:
    return 1.0


def _triangular2(x: float) -> float:
    return 1 / (2.0 ** (x - 1))


class _ExpRange:
    """``gamma ** x`` (an object rather than a closure, so it prints what it is)."""

    def __init__(self, gamma: float):
        self.gamma = gamma

    def __call__(self, x: float) -> float:
        return self.gamma ** x


def _check_members(kind: str, optimizer, schedulers):
    """PyTorch's checks of the schedules a SequentialLR or ChainedScheduler drives."""
    if len(schedulers) < 1:
        raise ValueError(f"{kind} expects at least one scheduler{' to be chained' if kind == 'ChainedScheduler' else ''}"
                         f", but got no scheduler.")
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{kind} at index {i} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires additional "
                             f"kwargs to be specified when calling `step`, but got one at index {i} in the given "
                             f"schedulers sequence.")
        if optimizer is not scheduler.optimizer:
            raise ValueError(f"{kind} expects all schedulers to belong to the same optimizer, but got scheduler "
                             f"{type(scheduler).__name__} at index {i} has {scheduler.optimizer}, which is different "
                             f"from {type(optimizer).__name__}.")


class _Composite(LRScheduler):
    """A schedule made of other schedules: their states are saved inside its own, as PyTorch's
    (``state_dict()["_schedulers"]``: one state per schedule, in order)."""

    _not_state = ("optimizer", "_schedulers")

    def state_dict(self) -> dict:
        """Every attribute but the optimizer, and ``_schedulers``: each schedule's ``state_dict()``."""
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state: dict):
        """Resume this schedule and each of its schedules from ``state_dict()``."""
        state = dict(state)
        inner = state.pop("_schedulers")
        if len(inner) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: {len(inner)} saved schedules for "
                             f"{len(self._schedulers)}")
        super().load_state_dict(state)
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)


class SequentialLR(_Composite):
    """One schedule after another: ``schedulers[i]`` drives the rate from epoch
    ``milestones[i − 1]`` on (the first from epoch 0). At a milestone the next schedule restarts
    at its epoch 0 from the groups' current rates, as PyTorch's. The constructor resets the rates
    to ``initial_lr`` and undoes the first step the schedules took when they were made, then
    takes the first schedule's."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        _check_members("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"Sequential Schedulers expects number of schedulers provided to be one more than the "
                             f"number of milestone points, but got number of schedulers {len(schedulers)} and the "
                             f"number of milestones to be equal to {len(milestones)}")
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            _set_group_value(group, "lr", group["initial_lr"])
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        _initial_step(first)
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched=None):
        """Take back the first step of each schedule (and of the schedules inside them)."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        """One epoch: step the schedule in charge (restarting it at its milestone)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            _restart(scheduler)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Several schedules stepped together: ``step()`` steps each in order, so their changes
    compose (each chainable schedule multiplies the rate the previous one left)."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) >= 1:
            optimizer = optimizer or schedulers[0].optimizer
        _check_members("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(self._schedulers[-1].optimizer)

    def step(self):
        """Step every schedule, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer)


def _initial_step(scheduler):
    """A schedule's first step again (PyTorch's ``_initial_step``): count from 0, in initial mode."""
    scheduler._step_count = 0
    scheduler._is_initial = True
    try:
        scheduler.step()
    finally:
        scheduler._is_initial = False


def _restart(scheduler):
    """Put a schedule at its epoch 0 without counting a step (PyTorch's ``_update_lr(0)``):
    the closed form where it has one, else ``get_lr()`` at epoch 0."""
    scheduler.last_epoch = 0
    closed = getattr(scheduler, "_get_closed_form_lr", None)
    values = closed() if closed is not None else scheduler.get_lr()
    for group, lr in zip(scheduler.optimizer.param_groups, values):
        _set_group_value(group, "lr", lr)
    scheduler._last_lr = _group_values(scheduler.optimizer)


__all__ = ["PolynomialLR", "CyclicLR", "SequentialLR", "ChainedScheduler"]
