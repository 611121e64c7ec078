"""Grad mode and anomaly mode: thread-local switches read by every op call.

``no_grad()`` stops recording (inference, optimizer updates); ``enable_grad()``
turns it back on inside; ``detect_anomaly()`` checks every forward and backward
result for NaN/Inf and remembers where the user created each op.

This module imports nothing of retrograd.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import sys
import threading
import traceback
import warnings

class _Mode(threading.local):
    grad_enabled = True
    inference = False  # inside ``inference_mode()`` (``is_inference_mode_enabled``)
    anomaly = False
    trace = None  # while ``autograd.replay`` traces a function: what it sees (every op call, host reads)
    dual = None  # inside ``forward_ad.dual_level``: the level, which computes each op's output tangent
    backward_depth = 0  # backward passes running (the engine's): anomaly mode checks their ops as backwards


_mode = _Mode()
next_seq = itertools.count().__next__  # creation order of recorded ops: a topological order


class _Mutations:
    """When arrays were modified in place (an optimizer step, ``load_state_dict``), on the
    same clock as op creation: an op recorded before that may have lost a value it kept.

    ``last`` is the latest stamp (the engine checks an op only when it is older);
    ``stamps`` maps ``id(array)`` to the stamp of its last modification. An id can be
    reused only after its array is freed, and a freed array cannot be kept by an op, so a
    stale entry never accuses a live array: the op that kept it was recorded after the
    stamp was taken (both arrays existed at once otherwise, with different ids)."""

    last = -1
    stamps: dict = {}
    MAX_STAMPS = 1 << 16

    def stamp(self, arrays) -> None:
        """Record that each of ``arrays`` was just modified in place, with one new stamp."""
        stamp = self.last = next_seq()
        stamps = self.stamps
        for a in arrays:
            stamps[id(a)] = stamp
        if len(stamps) > self.MAX_STAMPS:  # bounded: forget the first-seen half (for a long-lived
            # array, only a backward through a graph older than its next update would miss it)
            for key in list(stamps)[: self.MAX_STAMPS // 2]:
                del stamps[key]


mutations = _Mutations()


def is_grad_enabled() -> bool:
    """Whether ops are being recorded on the tape in this thread."""
    return _mode.grad_enabled


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside ``inference_mode()`` (PyTorch's function of the same name)."""
    return _mode.inference


class _GradMode(contextlib.ContextDecorator):
    """Recording on (True), off (False) or as it is (None) inside a ``with`` block or a decorated
    function — a generator function too: each of its resumptions runs in the mode, as PyTorch's.
    ``inference``: inference mode on or off there as well (None: as it is)."""

    def __init__(self, enabled, inference=None):
        self.enabled, self.inference = enabled, inference

    def __enter__(self):
        self.prev, self.prev_inference = _mode.grad_enabled, _mode.inference
        if self.enabled is not None:
            _mode.grad_enabled = self.enabled
        if self.inference is not None:
            _mode.inference = self.inference

    def __exit__(self, *exc):
        _mode.grad_enabled, _mode.inference = self.prev, self.prev_inference

    def __call__(self, func):
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)
        enabled, inference = self.enabled, self.inference

        @functools.wraps(func)
        def generator(*args, **kwargs):
            gen = func(*args, **kwargs)
            with _GradMode(enabled, inference):
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as error:  # noqa: BLE001 - handed on to the generator, as torch's
                    with _GradMode(enabled, inference):
                        response = gen.throw(error)
                else:
                    try:
                        with _GradMode(enabled, inference):
                            response = gen.send(request)
                    except StopIteration as stop:
                        return stop.value
        return generator


def _mode_or_decorated(enabled, func):
    """``no_grad()`` and ``@no_grad`` both: a mode, or ``func`` decorated with it."""
    mode = _GradMode(enabled)
    return mode if func is None else mode(func)


def no_grad(func=None):
    """Context manager / decorator (with or without parentheses): run without recording ops."""
    return _mode_or_decorated(False, func)


def enable_grad(func=None):
    """Context manager / decorator (with or without parentheses): record ops even inside ``no_grad``."""
    return _mode_or_decorated(True, func)


def inference_mode(mode: bool = True):
    """PyTorch's ``inference_mode``: no recording (``no_grad``) when ``mode``, and
    ``is_inference_mode_enabled()`` true; ``inference_mode(False)`` leaves inference mode and
    records again (even inside ``no_grad``, as PyTorch's). Tensors made inside are ordinary
    tensors (README, differences)."""
    if callable(mode):  # used as a bare decorator
        return _GradMode(False, True)(mode)
    return _GradMode(not mode, bool(mode))


class set_grad_enabled:
    """Recording on or off: at once as a call (``set_grad_enabled(False)``), for a ``with``
    block, restored after it, or as a decorator (``@set_grad_enabled(False)``: the mode before
    the call is restored at once, and the function runs in the mode), as PyTorch's."""

    def __init__(self, mode: bool):
        self.prev = _mode.grad_enabled
        self.mode = bool(mode)
        _mode.grad_enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _mode.grad_enabled = self.prev

    def __call__(self, func):
        _mode.grad_enabled = self.prev  # a decorator: making it changed nothing
        return _GradMode(self.mode)(func)


_ANOMALY_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                    "be enabled for debugging.")


def _check_nan_only(check_nan, where):
    if not check_nan:
        raise ValueError(f"{where}(check_nan=False): retrograd's anomaly mode always checks for NaN and Inf")


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first op whose forward or backward produces NaN or Inf.

    The error names the op, its input shapes and dtypes, and — for the backward
    pass — the line of user code that created the op. Slows every op a little
    (a finiteness check and a stack walk), so use it to debug; entering it warns
    so, as PyTorch's does. Ops run by a backward pass (a custom ``Function``'s
    backward, a ``create_graph`` pass) are checked as the backward's results
    (PyTorch's "returned nan values"), not as forwards.
    """

    def __init__(self, check_nan: bool = True):
        _check_nan_only(check_nan, "detect_anomaly")

    def __enter__(self):
        warnings.warn(_ANOMALY_WARNING, UserWarning, stacklevel=2)
        self.prev = _mode.anomaly
        _mode.anomaly = True
        return self

    def __exit__(self, *exc):
        _mode.anomaly = self.prev


class set_detect_anomaly:
    """Anomaly detection on or off: at once as a call, or for a ``with`` block, restored after
    it (``torch.autograd.set_detect_anomaly``)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        _check_nan_only(check_nan, "set_detect_anomaly")
        self.prev = _mode.anomaly
        _mode.anomaly = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _mode.anomaly = self.prev


class AnomalyError(FloatingPointError, RuntimeError):
    """A NaN or Inf appeared inside ``detect_anomaly()``: a ``FloatingPointError``, and the
    ``RuntimeError`` PyTorch raises."""


def user_site() -> str:
    """The innermost stack frame outside retrograd: where the user called us."""
    pkg = __name__.split(".", 1)[0]
    for frame, lineno in traceback.walk_stack(sys._getframe(1)):
        mod = frame.f_globals.get("__name__", "")
        if mod != pkg and not mod.startswith(pkg + "."):
            return f'File "{frame.f_code.co_filename}", line {lineno}, in {frame.f_code.co_name}'
    return "<unknown>"

