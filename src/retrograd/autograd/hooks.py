"""Thread-local observers of the forward pass (like Chainer's ``FunctionHook``).

Code that wants to see values as they are computed — ``rg.bptt.trace``
collecting per-gate deltas, a profiler — registers an observer for the
duration of a ``with`` block instead of appending to a module-global list:

    with hooks.observe("lstm_step", on_step):
        model(xs)

An emitter (a fused recurrent op, a cell) calls ``hooks.emit("lstm_step", ...)``;
with no observer registered that is one dictionary lookup. Observers are per
thread, so two threads tracing different models do not see each other's steps.
"""

from __future__ import annotations

import contextlib
import threading


class _Registry(threading.local):
    def __init__(self):
        self.observers = {}  # event name -> list of callables


_registry = _Registry()


def active(event: str) -> bool:
    """Whether any observer listens for ``event`` in this thread."""
    return bool(_registry.observers.get(event))


def emit(event: str, *args, **kwargs) -> None:
    """Call every observer of ``event`` in this thread with ``args``."""
    for fn in _registry.observers.get(event, ()):
        fn(*args, **kwargs)


@contextlib.contextmanager
def observe(event: str, fn):
    """Register ``fn`` as an observer of ``event`` for the ``with`` block."""
    add_observer(event, fn)
    try:
        yield fn
    finally:
        remove_observer(event, fn)


def add_observer(event: str, fn) -> None:
    """Register ``fn`` for ``event`` until ``remove_observer`` (for a window that is not one
    block: data-parallel training observes from a forward pass to the end of its backward)."""
    _registry.observers.setdefault(event, []).append(fn)


def remove_observer(event: str, fn) -> None:
    """Stop ``fn`` observing ``event`` (nothing happens if it does not)."""
    observers = _registry.observers.get(event)
    if observers and fn in observers:
        observers.remove(fn)


def observers(event: str) -> list:
    """The live list of observers of ``event`` in this thread (empty: nobody listens).
    The engine reads it once per backward pass and calls each after every op."""
    return _registry.observers.get(event) or _EMPTY


_EMPTY: list = []
