"""Loading: build and check every piece against its target, then assign them all."""

from __future__ import annotations

import numbers
import os

from .. import random as rg_random
from ..autograd.tensor import Tensor
from .format import CheckpointError, CheckpointMismatchError, _OPTIMIZER_TENSOR, _finite, _is_number, _is_scalar, _short
from .reading import read


# ------------------------------------------------------------------ loading: build and check, then assign
def load(path, model=None, optimizer=None, scheduler=None, *, strict: bool = True, restore_rng: bool = True,
         callbacks=None) -> dict:
    """Restore what ``save`` wrote into ``model`` / ``optimizer`` /
    ``scheduler`` / ``callbacks`` (and the RNG state). Returns the saved
    ``meta`` dict.

    All or nothing: the file is checked (``CheckpointError`` for a damaged or
    crafted file), then every piece is built and checked against its target
    (``CheckpointMismatchError`` -- also a ``StateDictError`` -- naming the
    missing, unexpected or mis-shaped arrays of another model; ``CheckpointError``
    for an optimizer, scheduler or callbacks that do not match), and only then
    is anything assigned."""
    arrays, header = read(path)
    return restore(arrays, header, model, optimizer, scheduler, callbacks=callbacks, strict=strict,
                   restore_rng=restore_rng, source=repr(os.fspath(path)))


def restore(arrays: dict, header: dict, model=None, optimizer=None, scheduler=None, *, callbacks=None,
            strict: bool = True, restore_rng: bool = True, source: str = "checkpoint") -> dict:
    """``load`` for the ``(arrays, header)`` that ``read`` returned: build and
    check every piece first, then assign them all (undoing the ones already
    assigned if an assignment fails). Returns the saved ``meta``."""
    def fail(problem):
        raise CheckpointError(f"checkpoint {source} {problem}")

    model_state = None
    if model is not None:
        model_state = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
        _check_model(model, model_state, strict)
    opt_state = None
    if optimizer is not None:
        if "optimizer" not in header:
            fail("holds no optimizer state")
        opt_state = _optimizer_state(arrays, header["optimizer"], optimizer, fail)
    sched_state = None
    if scheduler is not None:
        if "scheduler" not in header:
            fail("holds no scheduler state")
        sched_state = header["scheduler"]
        _check_like(sched_state, scheduler.state_dict(), "scheduler", fail)
        if "last_epoch" in sched_state and type(sched_state["last_epoch"]) is not int:
            fail(f"has scheduler.last_epoch {_short(sched_state['last_epoch'])}, not an integer")
    cb_states = None
    callbacks = None if callbacks is None else list(callbacks)
    if callbacks and "callbacks" not in header:
        fail("holds no callback state (ModelCheckpoint of rg.train.fit writes it)")
    if callbacks is not None and "callbacks" in header:
        cb_states = _callback_states(arrays, header["callbacks"], callbacks, fail)
    rng = header.get("rng") if restore_rng else None

    undo = []
    try:
        if cb_states is not None:
            for cb, state in zip(callbacks, cb_states):
                if hasattr(cb, "load_state_dict"):
                    before = cb.state_dict()
                    cb.load_state_dict(state)
                    undo.append(lambda cb=cb, before=before: cb.load_state_dict(before))
        if sched_state is not None:
            before = scheduler.state_dict()
            scheduler.load_state_dict(sched_state)
            undo.append(lambda before=before: scheduler.load_state_dict(before))
        if opt_state is not None:
            groups, state = [dict(g) for g in optimizer.param_groups], optimizer.state
            optimizer.load_state_dict(opt_state)
            undo.append(lambda: _restore_optimizer(optimizer, groups, state))
        if rng is not None:
            before = rg_random.get_rng_state()
            rg_random.set_rng_state(rng)
            undo.append(lambda before=before: rg_random.set_rng_state(before))
        if model_state is not None:  # last: checked like Module.load_state_dict checks, it cannot fail
            model.load_state_dict(model_state, strict=strict)
    except Exception as e:
        for step in reversed(undo):
            step()
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"checkpoint {source} does not fit: {type(e).__name__}: {e}") from e
    return header["meta"]


def _restore_optimizer(optimizer, groups, state):
    for g, before in zip(optimizer.param_groups, groups):
        g.clear()
        g.update(before)
    optimizer.state = state


def _check_model(model, values: dict, strict: bool) -> None:
    """What ``Module.load_state_dict`` checks, before anything else changes."""
    _, _, problems = model.state_dict_problems(values, strict)
    if problems:
        raise CheckpointMismatchError(f"load_state_dict into {type(model).__name__}: " + "; ".join(problems))


def _check_like(saved, current, where: str, fail) -> None:
    """``saved`` (from JSON) has the type of ``current`` (the target's own
    value): a bool for a bool, a finite number for a number (or a 1-element
    Tensor: a Tensor learning rate is saved as its number), a string for a
    string, a list as long for a list or tuple, the same keys for a dict."""
    if isinstance(current, Tensor) and current.numel() == 1:
        current = current.item()
    if isinstance(current, dict):
        if not isinstance(saved, dict) or set(saved) != set(current):
            fail(f"has {where} {_short(saved)}; expected the keys {sorted(current)}")
        for k in current:
            _check_like(saved[k], current[k], f"{where}.{k}", fail)
        return
    if isinstance(current, (list, tuple)):
        if not isinstance(saved, list) or len(saved) != len(current):
            fail(f"has {where} {_short(saved)}; expected a list of {len(current)}")
        for k, (s, c) in enumerate(zip(saved, current)):
            _check_like(s, c, f"{where}[{k}]", fail)
        return
    if isinstance(current, bool):
        ok = isinstance(saved, bool)
    elif isinstance(current, numbers.Real):
        ok = _is_number(saved) and (_finite(saved) or not _finite(current))
    elif isinstance(current, str):
        ok = isinstance(saved, str)
    elif current is None:
        ok = _is_scalar(saved) and not (_is_number(saved) and not _finite(saved))
    else:
        fail(f"has {where}, but this {type(current).__name__} value cannot be restored from a file")
    if not ok:
        kind = "a finite number" if isinstance(current, numbers.Real) and not isinstance(current, bool) else (
            "a boolean" if isinstance(current, bool) else "a string" if isinstance(current, str) else "a scalar")
        fail(f"has {where} = {_short(saved)} ({type(saved).__name__}); expected {kind}")


def _optimizer_state(arrays: dict, saved: dict, optimizer, fail) -> dict:
    """The ``state_dict`` for ``optimizer.load_state_dict``, every part checked
    against this optimizer (and put through its own ``restore_hyper`` /
    ``restore_state``, which change nothing)."""
    name = type(optimizer).__name__
    if saved["class"] != name:
        fail(f"holds {saved['class']} state, not {name}")
    groups = saved["param_groups"]
    sizes, own_sizes = [len(g["params"]) for g in groups], [len(g["params"]) for g in optimizer.param_groups]
    if sizes != own_sizes:
        fail(f"holds {name} state for parameter groups of {sizes} parameters; this optimizer has {own_sizes}")
    check = getattr(optimizer, "_check", None)
    for k, (g, own) in enumerate(zip(groups, optimizer.param_groups)):
        hyper = {key: v for key, v in g.items() if key != "params"}
        unknown = sorted(set(hyper) - set(own))
        if unknown:
            fail(f"has param_groups[{k}] with hyper-parameters {unknown} that {name} does not have")
        # a hyper-parameter the file lacks (saved before the optimizer had it) keeps its current value
        _check_like(hyper, {key: own[key] for key in hyper}, f"param_groups[{k}]", fail)
        try:
            candidate = {**own, **{key: optimizer.restore_hyper(key, v) for key, v in hyper.items()}}
            if check is not None:
                check(candidate)
        except (ValueError, TypeError) as e:
            fail(f"has param_groups[{k}] that {name} refuses: {e}")
    params = optimizer.params()
    state: dict = {}
    for key, v in arrays.items():
        found = _OPTIMIZER_TENSOR.fullmatch(key)
        if found is not None:
            state.setdefault(int(found.group(1)), {})[found.group(2)] = v
    for i, s in saved["scalars"].items():
        state.setdefault(int(i), {}).update(s)
    for i, s in state.items():
        if i >= len(params):
            fail(f"holds {name} state for parameter {i}; there are {len(params)} parameters")
        p = params[i]
        for key, v in s.items():
            if key in getattr(optimizer, "counters", ()) and not hasattr(v, "shape") and not (
                    type(v) is int and v >= 0):
                fail(f"has {name} state {i}.{key} = {_short(v)}; expected a non-negative integer count")
            # an optimizer with state not shaped like its parameter (Adafactor's row_var, col_var) gives the shape
            shape = optimizer.state_shape(p, key) if hasattr(optimizer, "state_shape") else tuple(p.shape)
            if hasattr(v, "shape") and v.ndim and tuple(v.shape) != shape:
                fail(f"has {name} state {i}.{key} of shape {tuple(v.shape)} for a parameter of shape "
                     f"{tuple(p.shape)}" + (f" (it needs {shape})" if shape != tuple(p.shape) else ""))
            if _is_number(v) and not _finite(v):
                fail(f"has {name} state {i}.{key} = {v}")
            try:
                optimizer.restore_state(p, key, v, i)
            except (ValueError, TypeError) as e:
                fail(f"has {name} state {i}.{key} that {name} refuses: {e}")
    return {"state": state, "param_groups": groups}


def _callback_states(arrays: dict, entries: list, callbacks: list, fail) -> list:
    """Each callback's saved ``state_dict``, matched to ``callbacks`` by position and class."""
    saved, own = [e["class"] for e in entries], [type(cb).__name__ for cb in callbacks]
    if saved != own:
        fail(f"holds the state of callbacks {saved}; these are {own} (give the same callbacks in the same order)")
    states = []
    for cb, e in zip(callbacks, entries):
        state = dict(e["state"])
        for field, names in e["arrays"].items():
            state[field] = {key: arrays[n] for key, n in names.items()}
        if state and not hasattr(cb, "load_state_dict"):
            fail(f"holds state for {type(cb).__name__}, which has no load_state_dict")
        states.append(state)
    return states
