"""Writing a checkpoint: split the pieces into tensors and JSON, encode, write atomically."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time

import numpy as np

from .. import random as rg_random
from ..autograd import backend
from ..autograd.tensor import Tensor
from .format import CheckpointError, FORMAT, VERSION, _CODES, _safetensors
from .reading import _check_header


# ------------------------------------------------------------------ saving
def save(path, model, optimizer=None, scheduler=None, *, rng: bool = True, callbacks=None, **meta) -> str:
    """Save ``model`` (and optionally ``optimizer``, ``scheduler``, the RNG
    state, the state of ``callbacks`` -- ``rg.train.fit``'s, for an exact
    resume -- and any JSON-able ``meta`` such as ``epoch=3``) to ``path``
    atomically. Returns the path.

    What ``load`` would refuse, ``save`` refuses (``CheckpointError``, or
    ``TypeError`` for metadata that is not JSON), so a saved file always loads."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "version": VERSION, "model_class": type(model).__name__, "meta": meta}
    if optimizer is not None:
        arrays, header["optimizer"] = _split_optimizer(optimizer)
        tensors.update(arrays)
    if scheduler is not None:
        header["scheduler"] = _numbers(scheduler.state_dict())
    if rng:
        header["rng"] = rg_random.get_rng_state()
    if callbacks is not None:
        arrays, header["callbacks"] = _split_callbacks(callbacks)
        tensors.update(arrays)
    _atomic_write(os.fspath(path), _encode(tensors, header))
    return os.fspath(path)


def _split_optimizer(optimizer):
    """``optimizer.state_dict()`` -> (its arrays for the tensor file, the JSON-able rest).

    Nothing here knows any optimizer: every array of the per-parameter state
    goes to the tensor file, every other value (counters, hyper-parameters) to
    the JSON header, and the optimizer's own ``load_state_dict`` turns what
    JSON changed (a tuple saved as a list) back into its types."""
    sd = optimizer.state_dict()
    arrays, scalars = {}, {}
    for i, s in sd["state"].items():
        for k, v in s.items():
            if hasattr(v, "shape") and hasattr(v, "dtype"):
                arrays[f"optimizer.state.{i}.{k}"] = v
            elif isinstance(v, (list, tuple, dict)) or v is None:
                raise TypeError(f"rg.save: {type(optimizer).__name__}'s state entry {k!r} is a "
                                f"{type(v).__name__}, which the checkpoint format does not hold (it keeps arrays "
                                f"and numbers per parameter); save the model alone and start the optimizer anew "
                                f"(L-BFGS rebuilds its curvature history within history_size steps)")
            else:
                scalars.setdefault(str(i), {})[k] = v
    return arrays, {"class": type(optimizer).__name__, "param_groups": _numbers(sd["param_groups"]),
                    "scalars": scalars}


def _numbers(value):
    """``value`` with each 1-element Tensor in it (a Tensor learning rate, a scheduler's rates) as its
    Python number, for the JSON header; loading gives a Tensor back where the target holds one."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_numbers(v) for v in value)
    return value


def _split_callbacks(callbacks):
    """Each callback's ``state_dict()``: JSON scalars stay in the header, a
    dict of arrays (``EarlyStopping``'s best weights) goes to the tensor file."""
    arrays, entries = {}, []
    for j, cb in enumerate(callbacks):
        state = cb.state_dict() if hasattr(cb, "state_dict") else {}
        scalars, refs = {}, {}
        for field, value in state.items():
            if isinstance(value, dict):
                refs[field] = {}
                for key, a in value.items():
                    refs[field][key] = name = f"callbacks.{j}.{field}.{key}"
                    arrays[name] = a
            else:
                scalars[field] = value
        entries.append({"class": type(cb).__name__, "state": scalars, "arrays": refs})
    return arrays, entries


def _host_array(name: str, value) -> np.ndarray:
    """A C-contiguous little-endian NumPy array (0-d kept 0-d), or TypeError."""
    a = backend.to_numpy(value)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"rg.save: {name} is a {type(value).__name__}, not an array")
    little_endian = a.dtype.newbyteorder("<")
    if little_endian not in _CODES:
        raise TypeError(f"rg.save: {name} has dtype {a.dtype}, which a checkpoint cannot hold "
                        f"(it holds {', '.join(str(d) for d in _CODES)}); cast it first")
    return np.require(a, dtype=little_endian, requirements="C")  # unlike ascontiguousarray, keeps 0-d arrays 0-d


def _encode(tensors: dict, header: dict) -> bytes:
    """The safetensors bytes of ``tensors`` with ``header`` (plus its table of
    tensors and the checksums) as metadata, checked as ``load`` will check it."""
    arrays = {name: _host_array(name, v) for name, v in tensors.items()}
    header = dict(header, tensors={name: {"dtype": _CODES[a.dtype], "shape": list(a.shape),
                                          "sha256": hashlib.sha256(a).hexdigest()}
                                   for name, a in arrays.items()})
    try:
        text = json.dumps(header)
    except (TypeError, ValueError) as e:
        raise TypeError(f"rg.save: metadata must be JSON-serialisable: {e}") from e
    try:
        _check_header(json.loads(text))
    except CheckpointError as e:
        raise CheckpointError(f"rg.save: refusing to write a checkpoint that could not be loaded: {e}") from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    return _safetensors().save(arrays, metadata={"retrograd": text, "retrograd_sha256": digest})


def _temporary_pattern(base: str) -> re.Pattern:
    return re.compile(re.escape(f".{base}.retrograd-") + r"([0-9]+)-[0-9a-f]{8}\.tmp")


def _writer_alive(pid: int, mtime: float) -> bool:
    """Whether the process that named a temporary may still be writing it."""
    if pid == os.getpid():
        return True  # another thread of this process
    if os.name != "posix":  # no safe liveness probe (os.kill(pid, 0) terminates on Windows)
        return time.time() - mtime < 3600
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (another user's)
    return True


def _remove_stale_temporaries(folder: str, base: str) -> None:
    """Delete the temporaries of this checkpoint that a killed save left:
    only names of our pattern, only if their writer is gone."""
    pattern = _temporary_pattern(base)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None:
            continue
        try:
            if not _writer_alive(int(found.group(1)), entry.stat(follow_symlinks=False).st_mtime):
                os.unlink(entry.path)
        except OSError:
            pass  # gone already, or not ours to delete


def _atomic_write(path: str, payload: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(folder, base)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{base}.retrograd-{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
            break
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
    try:
        if hasattr(os, "fchmod"):
            try:  # overwriting keeps the file's mode, as torch.save's open(path, "wb") does
                os.fchmod(fd, os.stat(path).st_mode & 0o7777)
            except FileNotFoundError:
                pass
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems cannot fsync a folder
        pass


