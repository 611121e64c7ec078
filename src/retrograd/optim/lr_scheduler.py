"""Learning-rate schedules with PyTorch's ``lr_scheduler`` semantics: call ``step()`` once per
epoch, after ``optimizer.step()``.

Each schedule is *chainable*, as PyTorch's: ``step()`` computes the next rate from each group's
current ``lr`` (``get_lr``: StepLR multiplies it by γ every ``step_size`` epochs), so two schedules
on one optimizer compose, and a rate set by hand is carried on. ``step(epoch)`` (deprecated in
PyTorch too) jumps to an epoch with the closed form where a schedule has one. The constructor
takes the first step (epoch 0), records ``initial_lr`` in every group and keeps it as
``base_lrs``; ``last_epoch`` resumes a schedule whose groups already hold ``initial_lr``.
"""

from __future__ import annotations

import math
import warnings
from bisect import bisect_right
from collections import Counter

from ..autograd.tensor import Tensor
from .optimizer import Optimizer


def _group_values(optimizer, key: str = "lr") -> list:
    """Every group's ``key``, a Tensor one cloned (the list keeps the values of now when the rate
    changes): PyTorch's ``_param_groups_val_list``, for ``get_last_lr``."""
    return [_detached(group[key]) for group in optimizer.param_groups]


def _detached(value):
    """A Tensor rate's copy (a Python number as it is)."""
    return value.clone() if isinstance(value, Tensor) else value


def _set_group_value(group: dict, key: str, value) -> None:
    """``group[key] = value``; a Tensor there (PyTorch takes a 1-element Tensor ``lr``) is filled in
    place instead, so whoever holds it sees the new rate (PyTorch's ``_update_param_group_val``)."""
    old = group[key]
    if isinstance(old, Tensor):
        old.data[...] = float(value)
        old.mark_modified_()
    else:
        group[key] = value


class LRScheduler:
    """Base class: a subclass gives ``get_lr()`` (the next rates, from the groups' current ones)
    and may give ``_get_closed_form_lr()`` (the rates at ``last_epoch`` from ``base_lrs``)."""

    def __init__(self, optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _detached(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                                   f"scheduler with last_epoch >= 0: load the optimizer's state first (or "
                                   f"start a fresh run with last_epoch=-1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list:  # pragma: no cover - abstract
        """The next learning rate of each group."""
        raise NotImplementedError

    def step(self, epoch: int | None = None):
        """Advance one epoch (or, deprecated, go to ``epoch``) and set the groups' rates."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            warnings.warn("The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
                          "where possible. Please use `scheduler.step()` to step the scheduler.", UserWarning,
                          stacklevel=2)
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer)

    def get_last_lr(self) -> list:
        """The learning rates this scheduler set last (one per group)."""
        return list(self._last_lr)

    def _current(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    # ------------------------------------------------------------ state
    _not_state = ("optimizer",)

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (PyTorch's content), as plain numbers and lists."""
        return {k: _plain(v) for k, v in self.__dict__.items() if k not in self._not_state}

    def load_state_dict(self, state: dict):
        """Resume from ``state_dict()``. Only this scheduler's own entries are taken: a name it
        does not have is refused (nothing read from a file becomes a new attribute)."""
        own = self.state_dict()
        state = {k: v for k, v in state.items() if k not in _TORCH_BOOKKEEPING}
        unknown = sorted(set(state) - set(own))
        if unknown:
            raise KeyError(f"{type(self).__name__}.load_state_dict: unexpected entries {unknown}; its entries are "
                           f"{sorted(own)}")
        for k, v in state.items():
            self.__dict__[k] = self._restored(k, v)

    def _restored(self, name, value):
        return list(value) if isinstance(value, tuple) else value


# entries of a PyTorch scheduler's state_dict that are its step() bookkeeping, not schedule state:
# accepted and dropped, so a state saved by PyTorch loads here
_TORCH_BOOKKEEPING = frozenset(("_get_lr_called_within_step", "_is_initial", "_step_count_warned"))


def _start_momentum(optimizer, tops, bottoms, use_beta1):
    """A cycling schedule's first momentum (OneCycleLR's, CyclicLR's): each group at its top value
    (``betas[0]`` for Adam-like optimizers), with both ends recorded in the group, as PyTorch's."""
    for top, bottom, group in zip(tops, bottoms, optimizer.param_groups):
        if use_beta1:
            group["betas"] = (top, *group["betas"][1:])
        else:
            group["momentum"] = top
        group["max_momentum"], group["base_momentum"] = top, bottom


def _plain(v):
    if isinstance(v, Counter):
        return sorted(v.elements())
    return list(v) if isinstance(v, tuple) else v


class _PerGroupLambdas(LRScheduler):
    """A schedule of one function of the epoch per group (``lr_lambda``: one for all, or a list);
    the functions are code, not state (``state_dict`` leaves them out)."""

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _per_group("lr_lambdas", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)


class LambdaLR(_PerGroupLambdas):
    """lr = base·λ(epoch), one λ for every group or one per group."""

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_PerGroupLambdas):
    """lr ← lr·λ(epoch) at every step after the constructor's."""

    def get_lr(self):
        if not self._is_initial:
            return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current())]
        return self._current()


class StepLR(LRScheduler):
    """lr ← lr·γ every ``step_size`` epochs (closed form: base·γ^⌊epoch / step_size⌋)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr ← lr·γ at each milestone epoch (γ^k at a milestone listed k times)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch) for base in self.base_lrs]

    def _restored(self, name, value):
        return Counter(value) if name == "milestones" else super()._restored(name, value)


class ConstantLR(LRScheduler):
    """lr = base·factor until ``total_iters``, then base."""

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = base·f, f going linearly from ``start_factor`` to ``end_factor`` over ``total_iters``."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [lr * ratio for lr in self._current()]

    def _get_closed_form_lr(self):
        return [base * (self.start_factor + (self.end_factor - self.start_factor)
                        * min(self.total_iters, self.last_epoch) / self.total_iters) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr ← lr·γ every epoch (closed form: base·γ^epoch)."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base − η_min)·(1 + cos(π·epoch / T_max))/2 (SGDR without restarts), computed
    recursively from the current rate, as PyTorch's (so it composes with other schedules)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):  # noqa: N803
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base - self.eta_min) * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                    for base in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [lr + (base - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base, lr in zip(self.base_lrs, self._current())]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max)) * (lr - self.eta_min) + self.eta_min
                for lr in self._current()]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter 2017): lr = η_min + (base − η_min)·(1 + cos(π·T_cur / T_i))/2,
    restarting when T_cur reaches T_i, each period T_mult times the last (T_0 first). ``step(epoch)``
    may take a fractional epoch (a step per batch), as PyTorch's."""

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0, self.T_i, self.T_mult, self.eta_min, self.T_cur = T_0, T_0, T_mult, eta_min, last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        """One epoch (or go to ``epoch``, fractional allowed), restarting the cosine when a period ends."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult ** n
        else:
            self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped once per batch: the rate climbs from
    max_lr/div_factor to ``max_lr`` over ``pct_start`` of ``total_steps``, then anneals to
    initial/final_div_factor (``three_phase``: back to the initial rate first), by cosine or
    linearly; with ``cycle_momentum`` the momentum (or Adam's β₁) moves the other way between
    ``max_momentum`` and ``base_momentum``. PyTorch's arguments and phases."""

    def __init__(self, optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                            "max_momentum"),
                           (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self.anneal_strategy = anneal_strategy
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            tops = _per_group("max_momentum", optimizer, max_momentum)
            bottoms = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                _start_momentum(optimizer, tops, bottoms, self.use_beta1)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m_from], group[m_to], pct)
                        if self.use_beta1:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start = end
        return lrs


def _per_group(name, optimizer, value) -> list:
    """``value`` for every parameter group, or a list with one per group (checked)."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"Expected {len(optimizer.param_groups)} {name}, but got {len(value)}: {name} must have "
                             f"the same length as optimizer.param_groups")
        return list(value)
    return [value] * len(optimizer.param_groups)


class ReduceLROnPlateau:
    """lr ← max(lr·factor, min_lr) once a metric has not improved for ``patience`` epochs
    (``step(metric)``), then ``cooldown`` epochs without counting; "improved" is relative
    (``threshold_mode="rel"``: below best·(1 − threshold) in ``mode="min"``) or absolute. A change
    smaller than ``eps`` is skipped. PyTorch's arguments and rules."""

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0, eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.optimizer, self.factor = optimizer, factor
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(optimizer.param_groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer)
        self._reset()

    def _reset(self):
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0

    def step(self, metrics, epoch: int | None = None):
        """One epoch's metric: count it as an improvement or not, and reduce the rates when due."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _group_values(self.optimizer)

    def _reduce_lr(self):
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"The number of param groups in the optimizer ({len(self.optimizer.param_groups)}) "
                                   f"differs from when ReduceLROnPlateau was initialized ({len(self.min_lrs)}); "
                                   f"set min_lrs to match")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                _set_group_value(group, "lr", new)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a, best) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict):
        unknown = sorted(set(state) - set(self.state_dict()))
        if unknown:
            raise KeyError(f"ReduceLROnPlateau.load_state_dict: unexpected entries {unknown}")
        self.__dict__.update(state)


__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "ReduceLROnPlateau",
           "PolynomialLR", "CyclicLR", "SequentialLR", "ChainedScheduler"]

# PyTorch's namespace (rg.optim.lr_scheduler.CyclicLR): schedules that build on LRScheduler above,
# so imported last (schedulers_extra imports this module's names, all defined by now).
from .schedulers_extra import ChainedScheduler, CyclicLR, PolynomialLR, SequentialLR  # noqa: E402
