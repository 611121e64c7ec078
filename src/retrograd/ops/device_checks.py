"""Checks of array *values* that must not stop the device.

On NumPy, reading a value (is every index in range? are these probabilities?)
costs nothing, and the ops raise at the call. On a device backend (CuPy) each
such read waits for the device to finish everything queued before it: a check
per op would make every training step wait on the host. There a check is
computed on the device as a flag and only *recorded*; the flags are read
together when the host reads anyway — ``rg.train.fit`` when it logs, or
``raise_pending()`` — and the first failed check raises then, with the op's
message. That is PyTorch's behaviour on CUDA (a device-side assert surfaces at
the next synchronisation).

Guards that only skip a fix-up (``if mask.any(): y = where(mask, …, y)``) use
``may_hold``: on the host they skip the pass as before, on a device the
``where`` always runs (it leaves the other entries unchanged).
"""

from __future__ import annotations

from ..autograd import backend
from ..autograd.backend import xp

_pending: dict = {}  # key -> [failed flag (0-d bool), {name: first failing value (0-d)}, error type, template]


def on_host() -> bool:
    """Whether arrays live in host memory (NumPy), where reading a value is free."""
    return xp.name == "numpy"


def may_hold(mask) -> bool:
    """Whether a fix-up guarded by ``mask.any()`` must run: on the host, whether
    ``mask`` holds a True (a free read); on a device, always (no synchronisation).
    A Python bool (a comparison of constants) is itself."""
    if not hasattr(mask, "shape"):
        return bool(mask)
    return bool(mask.any()) if on_host() else True


def defer(failed, error_type, template: str, **values):
    """Record a device-side check: ``failed`` is a 0-d boolean array, ``values``
    0-d arrays named in ``template`` (a ``str.format`` message). Checks with the
    same message accumulate into one flag, keeping the first failing values, so
    the record stays bounded however many steps run before it is read."""
    key = (error_type, template)
    entry = _pending.get(key)
    if entry is None:
        _pending[key] = [failed, values, error_type, template]
        return
    before = entry[0]
    entry[1] = {k: xp.where(before, v, values[k]) for k, v in entry[1].items()}
    entry[0] = before | failed


def pending() -> int:
    """The number of recorded device-side checks not read yet."""
    return len(_pending)


def raise_pending():
    """Read the recorded device-side checks (one device→host read when there are
    any) and raise the first that failed; a no-op on the host, where the ops
    raise at the call."""
    if not _pending:
        return
    entries = list(_pending.values())
    _pending.clear()
    flags = backend.to_numpy(xp.stack([e[0] for e in entries]))
    for failed, entry in zip(flags, entries):
        if failed:
            _, values, error_type, template = entry
            host = {k: backend.to_numpy(v).item() for k, v in values.items()}
            raise error_type(template.format(**host) + " (found on the device: checked when the values were "
                                                       "read back, after the op ran)")


def refuse_out_of_range(indices, size: int, error_type, template: str):
    """Refuse integer ``indices`` outside [0, size): on the host at once (the
    first bad one is named: the minimum when negative, else the maximum), on a
    device through ``defer``. ``template`` names the value as ``{bad}``."""
    from .shape import out_of_range

    if on_host():
        bad = out_of_range(indices, size)
        if bad is not None:
            raise error_type(template.format(bad=bad))
        return
    if not indices.size:
        return
    lo, hi = indices.min(), indices.max()
    defer((lo < 0) | (hi >= size), error_type, template, bad=xp.where(lo < 0, lo, hi))


@backend.on_backend_change
def _forget():  # flags of another backend's arrays cannot be read with this one
    _pending.clear()
