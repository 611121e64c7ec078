"""Safe checkpoints: ``rg.save`` / ``rg.load``.

Arrays go into a safetensors file (no pickle: loading a checkpoint never runs
code); everything else — the user's metadata (epoch …), the optimizer's
hyper-parameters and counters, the RNG state — is JSON in the file's header.

The write is atomic: the bytes go to a temporary file in the same folder,
which is flushed, fsync'ed and renamed over the target (then the folder is
fsync'ed). A crash or a kill at any moment leaves either the previous
checkpoint or the new one, never a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from . import random as rg_random
from .autograd import backend

FORMAT = "retrograd-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, or not for this model."""


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError as e:  # pragma: no cover - installed with the checkpoint extra
        raise ImportError("rg.save/rg.load need safetensors: pip install 'retrograd[checkpoint]'") from e
    return st


def _split_state(optimizer):
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
                arrays[f"optimizer.state.{i}.{k}"] = backend.to_numpy(v)
            else:
                scalars.setdefault(str(i), {})[k] = v
    return arrays, {"class": type(optimizer).__name__, "param_groups": sd["param_groups"], "scalars": scalars}


def _join_state(arrays, saved) -> dict:
    """The inverse of ``_split_state``: a ``state_dict`` for ``load_state_dict``."""
    state = {}
    for k, v in arrays.items():
        if k.startswith("optimizer.state."):
            i, name = k[len("optimizer.state."):].split(".", 1)
            state.setdefault(int(i), {})[name] = v
    for i, s in saved["scalars"].items():
        state.setdefault(int(i), {}).update(s)
    return {"state": state, "param_groups": saved["param_groups"]}


def save(path, model, optimizer=None, scheduler=None, *, rng: bool = True, **meta) -> str:
    """Save ``model`` (and optionally ``optimizer``, ``scheduler``, the RNG state
    and any JSON-able ``meta`` such as ``epoch=3``) to ``path`` atomically.
    Returns the path."""
    st = _safetensors()
    tensors = {f"model.{k}": np.ascontiguousarray(v) for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "version": VERSION, "model_class": type(model).__name__,
              "model_keys": list(model.state_dict()), "meta": meta}
    if optimizer is not None:
        arrays, header["optimizer"] = _split_state(optimizer)
        tensors.update({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    if scheduler is not None:
        header["scheduler"] = scheduler.state_dict()
    if rng:
        header["rng"] = rg_random.get_rng_state()
    try:
        text = json.dumps(header)
    except TypeError as e:
        raise TypeError(f"rg.save: metadata must be JSON-serialisable: {e}") from e
    payload = st.save(tensors, metadata={"retrograd": text})
    _atomic_write(os.fspath(path), payload)
    return os.fspath(path)


def _atomic_write(path: str, payload: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
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


def read(path) -> tuple[dict, dict]:
    """(arrays, header) of a checkpoint, validated; raises ``CheckpointError``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CheckpointError(f"checkpoint {path!r} is truncated ({len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise CheckpointError(f"checkpoint {path!r} is truncated or not a safetensors file "
                              f"(header of {n} bytes, file of {len(data)} bytes)")
    try:
        raw_header = json.loads(data[8:8 + n])
        arrays = _safetensors().load(data)
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint {path!r} is corrupt: {e}") from e
    try:
        header = json.loads(raw_header.get("__metadata__", {}).get("retrograd", "null"))
    except (AttributeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path!r} has unreadable metadata: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is a safetensors file but not a retrograd checkpoint")
    return arrays, header


def load(path, model=None, optimizer=None, scheduler=None, *, strict: bool = True, restore_rng: bool = True) -> dict:
    """Restore what ``save`` wrote into ``model`` / ``optimizer`` / ``scheduler``
    (and the RNG state). Returns the saved ``meta`` dict.

    Everything is validated before anything is modified: a checkpoint of
    another model (missing, unexpected or mis-shaped arrays) raises
    ``StateDictError`` naming them, a damaged file ``CheckpointError``.
    """
    arrays, header = read(path)
    model_state = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
    opt_state = None
    if optimizer is not None:
        saved = header.get("optimizer")
        if saved is None:
            raise CheckpointError(f"checkpoint {os.fspath(path)!r} holds no optimizer state")
        if saved["class"] != type(optimizer).__name__:
            raise CheckpointError(f"checkpoint holds {saved['class']} state, not {type(optimizer).__name__}")
        opt_state = _join_state(arrays, saved)
    if model is not None:
        model.load_state_dict(model_state, strict=strict)
    if opt_state is not None:
        optimizer.load_state_dict(opt_state)
    if scheduler is not None and "scheduler" in header:
        scheduler.load_state_dict(header["scheduler"])
    if restore_rng and "rng" in header:
        rg_random.set_rng_state(header["rng"])
    return header.get("meta", {})
