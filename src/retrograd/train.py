"""``rg.train.fit``: the training loop, with progress bars, validation,
metrics, callbacks (early stopping, checkpoints) and a history to plot.

One epoch is::

    for x, y in train_data:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)     # forward
        loss.backward()                 # backpropagate the error
        optimizer.step()                # update

Under MPI (``mpiexec -n N``, ``rg.distributed.init()``) the same loop runs on
every rank: the progress bar, the printed lines and checkpoint files come
from rank 0 only, the logged loss and metrics are those of all ranks' batches
together (so every rank's callbacks decide alike), and ``rg.random`` is
forked per rank (dropout differs between ranks; initialisation and
distributed shuffling agree).

On a device backend (CuPy) a training step never waits for the host: the
loss and metrics are summed on the device and read when the epoch is logged
(the progress bar reads them every ``PROGRESS_EVERY`` steps), and a
non-finite loss, like the ops' deferred value checks
(``retrograd.ops.device_checks``), is raised then.
"""

from __future__ import annotations

import math
import sys

from .autograd import backend
from .autograd.backend import xp

from . import checkpoint
from . import data as _data
from .autograd.tensor import Tensor
from .autograd.mode import no_grad
from .ops import device_checks

PROGRESS_EVERY = 20
"""On a device backend, the progress bar's running loss is read (a device→host
synchronisation) every this many steps, and at the end of the epoch."""


def _unwrap(model):
    """The model a checkpoint holds: a data-parallel wrapper's inner module
    (its ``_checkpoint_module``), so checkpoints move between data-parallel
    and single-process runs."""
    return getattr(model, "_checkpoint_module", model)


def _is_main() -> bool:
    return _data.process_group().rank == 0


def _global_sums(values: list) -> list:
    """``values`` summed over the ranks of a data-parallel run (one small
    allreduce; a single process returns them unchanged)."""
    group = _data.process_group()
    return values if group.size == 1 else group.sum_floats(values)


class History:
    """Per-epoch values: ``history.history["loss"]``, ``["val_loss"]``, metrics."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epochs: list[int] = []

    def append(self, epoch: int, logs: dict):
        """Record one epoch's values."""
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def plot(self, path, title: str = "training"):
        """Save the curves as a PNG (matplotlib); returns the path."""
        from .plot import plot_history

        return plot_history(self, path, title)

    def __repr__(self):
        last = {k: round(v[-1], 5) for k, v in self.history.items() if v}
        return f"History({len(self.epochs)} epochs, last={last})"


def accuracy(output, target) -> float:
    """Fraction of rows whose argmax (or, for one output, output > 0) matches the target."""
    return float(_accuracy(output, target))


def _accuracy(output, target):
    """``accuracy`` as a 0-d array of the backend (no device→host read)."""
    out = output.data if isinstance(output, Tensor) else xp.asarray(output)
    y = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if out.ndim > 1 and out.shape[1] > 1:
        pred = out.argmax(axis=1)
        if y.shape == out.shape:
            y = y.argmax(axis=1)
    else:
        pred = (out > 0).astype(y.dtype).reshape(y.shape)
    return xp.mean(pred == y)


METRICS = {"accuracy": accuracy}
_ON_DEVICE = {accuracy: _accuracy}  # metrics' device twins: summed without a read per batch
_LOSS = None  # the loss's key among the running sums: no metric's name


class _Sums:
    """Running sums of per-batch values times the batch's rows (the loss and
    metrics). On the host they are Python floats, added as each batch comes;
    ``deferred`` (a device backend) keeps them as float64 device arrays, read
    only by ``read()``, in one device→host copy."""

    def __init__(self, names, deferred: bool):
        self.deferred = deferred
        self.values = {name: 0.0 for name in names}

    def metric(self, fn):
        return _ON_DEVICE.get(fn, fn) if self.deferred else fn

    def add(self, name, value, n):
        if not self.deferred:
            self.values[name] += value * n
            return
        value = value.data if isinstance(value, Tensor) else value
        self.values[name] = self.values[name] + xp.asarray(value).astype(xp.float64) * n

    def read(self) -> dict:
        if not self.deferred:
            return dict(self.values)
        host = backend.to_numpy(xp.stack([xp.asarray(v, dtype=xp.float64) for v in self.values.values()]))
        return dict(zip(self.values, host.tolist()))


class Callback:
    """Hooks called by ``fit``. Set ``loop.stop = True`` to end training.

    A callback that keeps state across epochs (a best value, a patience
    counter) returns it from ``state_dict()`` and takes it back in
    ``load_state_dict()``: ``ModelCheckpoint`` saves it with the model and
    ``fit(resume_from=...)`` restores it, so a resumed run decides exactly as
    the uninterrupted one. State values are JSON scalars (None, bool, int,
    float, str) or a dict of arrays."""

    def on_train_begin(self, loop):
        """Called once before the first epoch (``loop.initial_epoch`` > 0 when resuming)."""
        pass

    def on_epoch_end(self, loop, epoch: int, logs: dict):
        """Called after each epoch with its logs (loss, val_loss, metrics)."""
        pass

    def on_epoch_complete(self, loop, epoch: int, logs: dict):
        """Called after every callback's ``on_epoch_end`` for the epoch, when
        the state of the run (callbacks included) is final: checkpoints are
        written here."""
        pass

    def on_train_end(self, loop):
        """Called once after the last epoch."""
        pass

    def state_dict(self) -> dict:
        """The state that must survive a resume (none by default)."""
        return {}

    def load_state_dict(self, state: dict):
        """Restore ``state_dict()``; checks everything before changing anything."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state; got {sorted(state)}")


def _number_or_none(owner: str, name: str, value):
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise ValueError(f"{owner}.load_state_dict: '{name}' must be a number or None, not {value!r}")
    return value


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs; optionally restore the best weights at the end."""

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0, mode: str = "min",
                 restore_best: bool = False):
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.restore_best = restore_best
        self._reset()

    def _reset(self):
        self.best, self.wait, self.best_state, self.stopped_epoch = None, 0, None, None

    def on_train_begin(self, loop):
        if getattr(loop, "initial_epoch", 0) == 0:  # a resumed run continues the state it was given
            self._reset()

    def _better(self, value):
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, loop, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not logged; available: {sorted(logs)}")
        value = logs[self.monitor]
        if self._better(value):
            self.best, self.wait = value, 0
            if self.restore_best:
                self.best_state = {k: v.copy() for k, v in loop.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                loop.stop = True
                self.stopped_epoch = epoch

    def on_train_end(self, loop):
        if self.restore_best and self.best_state is not None:
            loop.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        """``best``, ``wait``, ``stopped_epoch`` and (with ``restore_best``) the best weights."""
        return {"best": None if self.best is None else float(self.best), "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self.best_state}

    def load_state_dict(self, state: dict):
        name = "EarlyStopping"
        if not isinstance(state, dict) or set(state) != {"best", "wait", "stopped_epoch", "best_state"}:
            raise ValueError(f"{name}.load_state_dict: expected the keys best, wait, stopped_epoch, best_state")
        best = _number_or_none(name, "best", state["best"])
        wait, stopped = state["wait"], state["stopped_epoch"]
        if type(wait) is not int or wait < 0:
            raise ValueError(f"{name}.load_state_dict: 'wait' must be a non-negative integer, not {wait!r}")
        if stopped is not None and type(stopped) is not int:
            raise ValueError(f"{name}.load_state_dict: 'stopped_epoch' must be an integer or None, not {stopped!r}")
        best_state = state["best_state"]
        if best_state is not None and (not isinstance(best_state, dict) or not all(
                hasattr(v, "shape") and hasattr(v, "dtype") for v in best_state.values())):
            raise ValueError(f"{name}.load_state_dict: 'best_state' must be a dict of arrays or None")
        self.best, self.wait, self.stopped_epoch = best, wait, stopped
        self.best_state = None if best_state is None else {k: xp.asarray(v).copy() for k, v in best_state.items()}


class ModelCheckpoint(Callback):
    """Save model, optimizer, scheduler, RNG state, the callbacks' state and
    ``epoch`` after each epoch (or only when ``monitor`` improves), atomically.
    ``path`` may contain ``{epoch}``. Resume with ``fit(resume_from=path)``."""

    def __init__(self, path: str, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "min"):
        self.path, self.monitor, self.save_best_only, self.mode = path, monitor, save_best_only, mode
        self.best = None

    def on_epoch_complete(self, loop, epoch, logs):
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise KeyError(f"ModelCheckpoint: '{self.monitor}' is not logged; available: {sorted(logs)}")
            if self.best is not None and (value >= self.best if self.mode == "min" else value <= self.best):
                return
            self.best = float(value)
        if not _is_main():  # one writer in a data-parallel run: every rank holds the same state
            return
        checkpoint.save(self.path.format(epoch=epoch), _unwrap(loop.model), loop.optimizer, loop.scheduler,
                        callbacks=loop.callbacks, epoch=epoch, logs={k: float(v) for k, v in logs.items()})

    def state_dict(self) -> dict:
        """The best ``monitor`` value saved so far (``save_best_only``)."""
        return {"best": self.best}

    def load_state_dict(self, state: dict):
        if not isinstance(state, dict) or set(state) != {"best"}:
            raise ValueError("ModelCheckpoint.load_state_dict: expected the key best")
        self.best = _number_or_none("ModelCheckpoint", "best", state["best"])


class _Loop:
    """What callbacks can see and change."""

    def __init__(self, model, optimizer, scheduler, callbacks=(), initial_epoch: int = 0):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.callbacks, self.initial_epoch = list(callbacks), initial_epoch
        self.stop = False


def progress_bar(total, desc, enabled):
    """A tqdm bar, or None when ``enabled`` is False, when stderr is not a
    terminal (``enabled`` None) or when tqdm is not installed."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)


def say(bar, message: str):
    """Print ``message`` without breaking an active progress bar."""
    if bar is not None:
        bar.write(message)
    else:
        print(message, flush=True)


def _no_rows(where: str, name: str, data, epoch=None) -> ValueError:
    """The error for data that yielded no rows: averages over nothing would log
    a made-up 0.0 loss that callbacks (early stopping, checkpoints) act on.
    Counted over all ranks, so every rank of a data-parallel run agrees."""
    size = f" (len() {len(data)} batches)" if hasattr(data, "__len__") else ""
    when = f" in epoch {epoch}" if epoch is not None else ""
    return ValueError(f"{where}: {name} yielded no rows{when}{size}; give it at least one non-empty batch "
                      f"(check the data's length, and batch_size with drop_last=True)")


def _evaluate(model, loss_fn, data, metrics, where: str = "fit", name: str = "val_data"):
    model.eval()
    count, sums = 0, _Sums([_LOSS, *metrics], _deferred())
    with no_grad():
        for x, y in data:
            out = model(x)
            n = len(x)
            loss = loss_fn(out, y).data
            sums.add(_LOSS, loss if sums.deferred else float(loss), n)
            for name, fn in metrics.items():
                sums.add(name, sums.metric(fn)(out, y), n)
            count += n
    device_checks.raise_pending()
    total, *values = sums.read().values()
    sums = dict(zip(metrics, values))
    total, count, *rest = _global_sums([total, count, *sums.values()])
    if count == 0:
        raise _no_rows(where, name, data)
    sums = dict(zip(sums, rest))
    logs = {"val_loss": total / max(count, 1)}
    logs.update({f"val_{k}": v / max(count, 1) for k, v in sums.items()})
    return logs


def _deferred() -> bool:
    """Whether per-batch values stay on the device until logged: on a device backend,
    in a single process (a data-parallel run reads each loss, so that every rank
    stops at the same step)."""
    return not device_checks.on_host() and _data.process_group().size == 1


def _non_finite(value, epoch):
    group = _data.process_group()
    where = f" on rank {group.rank} of {group.size}" if group.size > 1 else ""
    if group.size > 1:  # the other ranks raise too (naming this one) instead of waiting for it
        group.fail_together(value, epoch)
    return FloatingPointError(f"fit: the loss became {value}{where} at epoch {epoch} "
                              f"(try a smaller learning rate or rg.detect_anomaly())")


def fit(model, loss_fn, optimizer, train_data, epochs: int = 1, val_data=None, callbacks=(), metrics=(),
        scheduler=None, clip_grad_norm: float | None = None, initial_epoch: int = 0, progress: bool | None = None,
        verbose: bool = True, resume_from=None) -> History:
    """Train ``model`` and return its ``History``.

    ``train_data`` / ``val_data``: re-iterable collections of ``(x, y)``
    batches (a ``rg.data.DataLoader``); an epoch (or validation) that yields
    no rows is refused with a ValueError, as Keras does. ``metrics``: names
    from ``METRICS`` or ``{name: fn(output, target)}``. The progress bar (tqdm) shows the
    running loss; it is off when stderr is not a terminal, or with
    ``progress=False``.

    ``resume_from``: a checkpoint written by ``ModelCheckpoint``; model,
    optimizer, scheduler, RNG and the callbacks' state are restored from it
    (all or nothing) and training goes on after its ``epoch``, exactly as the
    uninterrupted run would have. ``initial_epoch`` is the lower-level way:
    the epoch to continue after, with the state restored by ``rg.load``
    (pass it ``callbacks=`` too; callbacks keep their state when
    ``initial_epoch`` > 0).

    Data-parallel (module docstring): pass a
    ``rg.distributed.DistributedDataParallel`` model (or an optimizer made
    by ``rg.distributed.DistributedOptimizer``) and a
    ``DataLoader(distributed=True)``; every rank must run as many batches.
    ``set_epoch(epoch)`` is called on ``train_data`` when it has one.
    """
    from .nn.utils import clip_grad_norm_

    metrics = {m: METRICS[m] for m in metrics} if not isinstance(metrics, dict) else dict(metrics)
    callbacks = list(callbacks)
    if resume_from is not None:
        if initial_epoch:
            raise ValueError("fit: give resume_from or initial_epoch, not both (the checkpoint knows its epoch)")
        arrays, header = checkpoint.read(resume_from)
        initial_epoch = header["meta"].get("epoch")
        if type(initial_epoch) is not int or initial_epoch < 0:
            raise checkpoint.CheckpointError(f"fit: checkpoint {str(resume_from)!r} has epoch "
                                             f"{initial_epoch!r}; resume_from needs one written by ModelCheckpoint")
        checkpoint.restore(arrays, header, _unwrap(model), optimizer, scheduler, callbacks=callbacks,
                           source=repr(str(resume_from)))
    main = _is_main()
    _data.fork_rng_per_rank()  # a world of one keeps its generator
    history = History()
    loop = _Loop(model, optimizer, scheduler, callbacks, initial_epoch)
    for cb in callbacks:
        cb.on_train_begin(loop)
    for epoch in range(initial_epoch + 1, epochs + 1):
        model.train()
        count, steps, sums = 0, 0, _Sums([_LOSS, *metrics], _deferred())
        n_batches = len(train_data) if hasattr(train_data, "__len__") else None
        if hasattr(train_data, "set_epoch"):  # the epoch's order (distributed shuffling) follows the epoch
            train_data.set_epoch(epoch)
        bar = progress_bar(n_batches, f"epoch {epoch}/{epochs}", progress if main else False)
        for x, y in train_data:
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            if sums.deferred:  # summed on the device; a non-finite loss shows in the sum when it is read
                value = loss.data
            else:
                value = float(loss.data)
                if not math.isfinite(value):
                    raise _non_finite(value, epoch)
            loss.backward()
            if clip_grad_norm is not None:
                clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            n = len(x)
            sums.add(_LOSS, value, n)
            count += n
            steps += 1
            for name, fn in metrics.items():
                sums.add(name, sums.metric(fn)(out, y), n)
            if bar is not None:
                bar.update(1)
                if not sums.deferred or steps % PROGRESS_EVERY == 0 or steps == n_batches:
                    bar.set_postfix(**{"loss" if name is _LOSS else name: f"{v / count:.4f}"
                                       for name, v in sums.read().items()})
        if bar is not None:
            bar.close()
        device_checks.raise_pending()
        total, *values = sums.read().values()
        if sums.deferred and not math.isfinite(total):
            raise _non_finite(total if count == 0 else total / count, epoch)
        sums = dict(zip(metrics, values))
        total, count, *rest = _global_sums([total, count, *sums.values()])
        if count == 0:
            raise _no_rows("fit", "train_data", train_data, epoch)
        sums = dict(zip(sums, rest))
        logs = {"loss": total / max(count, 1)}
        logs.update({k: v / max(count, 1) for k, v in sums.items()})
        if val_data is not None:
            logs.update(_evaluate(model, loss_fn, val_data, metrics))
        if scheduler is not None:
            scheduler.step()
        history.append(epoch, logs)
        if verbose and main:
            print(f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()), flush=True)
        for cb in callbacks:
            cb.on_epoch_end(loop, epoch, logs)
        for cb in callbacks:
            if hasattr(cb, "on_epoch_complete"):
                cb.on_epoch_complete(loop, epoch, logs)
        if loop.stop:
            break
    for cb in callbacks:
        cb.on_train_end(loop)
    model.eval()
    return history


def evaluate(model, loss_fn, data, metrics=()) -> dict:
    """Loss and metrics of ``model`` on ``data`` (no gradients), keys without ``val_``."""
    metrics = {m: METRICS[m] for m in metrics} if not isinstance(metrics, dict) else dict(metrics)
    logs = _evaluate(model, loss_fn, data, metrics, "evaluate", "data")
    return {k[len("val_"):]: v for k, v in logs.items()}


__all__ = ["fit", "evaluate", "History", "Callback", "EarlyStopping", "ModelCheckpoint", "accuracy"]
