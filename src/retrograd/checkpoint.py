"""Safe checkpoints: ``rg.save`` / ``rg.load``.

Arrays go into a safetensors file (no pickle: loading a checkpoint never runs
code); everything else -- the user's metadata (epoch …), the optimizer's
hyper-parameters and counters, the scheduler, the RNG state, the callbacks'
state -- is JSON in the file's header, under ``__metadata__["retrograd"]``,
beside ``__metadata__["retrograd_sha256"]``, the SHA-256 of that JSON text.
The JSON lists every tensor with its dtype, shape and the SHA-256 of its bytes.

Loading trusts nothing in the file. It checks the safetensors layout (dtypes
from a fixed list, shapes, offsets that tile the data exactly), the header
checksum, each tensor's dtype, shape and checksum, and the type of every
field; anything wrong raises ``CheckpointError``. Nothing read from a file is
ever executed or used as an attribute name. Then every piece (model,
optimizer, scheduler, RNG, callbacks) is built and checked against its target
before the first one is assigned, so a failed load leaves them all as they
were.

The write is atomic: the bytes go to a temporary file in the same folder,
which is flushed, fsync'ed and renamed over the target (then the folder is
fsync'ed). A crash or a kill at any moment leaves either the previous
checkpoint or the new one; the temporary a killed writer left behind
(``.NAME.retrograd-PID-XXXXXXXX.tmp``, its writer gone) is removed by the next
save of the same checkpoint. The file's mode is what ``torch.save`` gives:
from the umask for a new file, the replaced file's for an existing one.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import secrets
import time

import numpy as np

from . import random as rg_random
from .autograd import backend
from .nn.module import StateDictError

FORMAT = "retrograd-checkpoint"
VERSION = 2
"""Version 2 added the checksums; version 1 files (which have none) are refused."""

MAX_HEADER_BYTES = 100 * 2 ** 20  # safetensors' own limit on its JSON header
MAX_DEPTH = 32  # nesting of JSON values (the user's metadata) in the header
MAX_NDIM = 64

# safetensors dtype codes that NumPy holds, as little-endian NumPy dtypes
DTYPES = {"BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"), "U16": np.dtype("<u2"),
          "I16": np.dtype("<i2"), "F16": np.dtype("<f2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
          "F32": np.dtype("<f4"), "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8")}
_CODES = {dtype: code for code, dtype in DTYPES.items()}

_SECTIONS = {"format", "version", "model_class", "meta", "tensors", "optimizer", "scheduler", "rng", "callbacks"}
_REQUIRED = {"format", "version", "model_class", "meta", "tensors"}
_OPTIMIZER_TENSOR = re.compile(r"optimizer\.state\.(0|[1-9][0-9]{0,8})\.(.+)", re.DOTALL)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, or not for this model."""


class CheckpointMismatchError(CheckpointError, StateDictError):
    """The checkpoint's model arrays do not fit the model (missing, unexpected
    or mis-shaped entries). Both a ``CheckpointError`` and the
    ``StateDictError`` that ``Module.load_state_dict`` raises."""


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError as e:  # pragma: no cover - installed with the checkpoint extra
        raise ImportError("rg.save/rg.load need safetensors: pip install 'retrograd[checkpoint]'") from e
    return st


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value) -> bool:
    """A finite number that fits a float (JSON integers have no bound)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (bool, str)) or _is_number(value)


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
        header["scheduler"] = scheduler.state_dict()
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
            else:
                scalars.setdefault(str(i), {})[k] = v
    return arrays, {"class": type(optimizer).__name__, "param_groups": sd["param_groups"], "scalars": scalars}


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


# ------------------------------------------------------------------ reading and checking the file
def read(path) -> tuple[dict, dict]:
    """(arrays, header) of a checkpoint, every byte and field checked; raises ``CheckpointError``."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path!r} does not exist") from None
    except OSError as e:
        raise CheckpointError(f"checkpoint {path!r} cannot be read: {e}") from e
    try:
        return _decode(data)
    except CheckpointError as e:
        raise CheckpointError(f"checkpoint {path!r} {e}") from None


def _json(text, what: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the parser's stack
        raise CheckpointError(f"is corrupt: {what} is not valid JSON ({type(e).__name__}: {e})"[:300]) from None


def _decode(data: bytes) -> tuple[dict, dict]:
    if len(data) < 8:
        raise CheckpointError(f"is truncated ({len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n < 2 or n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise CheckpointError(f"is truncated or not a safetensors file (header of {n} bytes, "
                              f"file of {len(data)} bytes)")
    raw = _json(data[8:8 + n], "the safetensors header")
    if not isinstance(raw, dict):
        raise CheckpointError("is corrupt: the safetensors header is not a JSON object")
    metadata = raw.pop("__metadata__", None)
    if not isinstance(metadata, dict) or "retrograd" not in metadata:
        raise CheckpointError("is a safetensors file but not a retrograd checkpoint")
    text, digest = metadata.get("retrograd"), metadata.get("retrograd_sha256")
    if set(metadata) != {"retrograd", "retrograd_sha256"} or not isinstance(text, str) or not isinstance(digest, str):
        raise CheckpointError(f"has no header checksum or other metadata ({sorted(map(str, metadata))}): it was "
                              f"written by checkpoint format version 1 (before checksums) or it is damaged")
    if hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != digest:  # JSON may hold lone surrogates
        raise CheckpointError("is corrupt: the header does not match its checksum")
    header = _json(text, "the retrograd header")
    _check_header(header)
    return _read_tensors(raw, header["tensors"], memoryview(data)[8 + n:]), header


def _read_tensors(entries: dict, table: dict, buffer: memoryview) -> dict:
    """The arrays, after checking each safetensors entry against the header's
    table (dtype, shape, checksum) and that the entries tile the data exactly."""
    if set(entries) != set(table):
        extra, missing = sorted(set(entries) - set(table)), sorted(set(table) - set(entries))
        raise CheckpointError(f"is corrupt: tensors not in the header {extra[:5]}, tensors missing {missing[:5]}")
    spans = []
    for name, entry in entries.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"is corrupt: tensor {name!r} has entry {_short(entry)}")
        declared = table[name]
        if entry["dtype"] != declared["dtype"] or entry["shape"] != declared["shape"]:
            raise CheckpointError(f"is corrupt: tensor {name!r} is stored as {_short(entry['dtype'])} "
                                  f"{_short(entry['shape'])}, the header says {declared['dtype']} {declared['shape']}")
        offsets = entry["data_offsets"]
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= len(buffer)):
            raise CheckpointError(f"is truncated or corrupt: tensor {name!r} has data offsets {_short(offsets)} "
                                  f"in {len(buffer)} bytes of data")
        size = math.prod(declared["shape"]) * DTYPES[declared["dtype"]].itemsize
        if offsets[1] - offsets[0] != size:
            raise CheckpointError(f"is corrupt: tensor {name!r} ({declared['dtype']} {declared['shape']}) needs "
                                  f"{size} bytes, its offsets span {offsets[1] - offsets[0]}")
        spans.append((offsets[0], offsets[1], name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise CheckpointError(f"is corrupt: tensor {name!r} starts at byte {begin} of the data, not {position}")
        position = end
    if position != len(buffer):
        raise CheckpointError(f"is truncated or corrupt: its tensors hold {position} bytes of data, "
                              f"the file {len(buffer)}")
    arrays = {}
    for begin, end, name in spans:
        declared = table[name]
        raw = buffer[begin:end]
        if hashlib.sha256(raw).hexdigest() != declared["sha256"]:
            raise CheckpointError(f"is corrupt: tensor {name!r} does not match its checksum")
        dtype = DTYPES[declared["dtype"]]
        flat = np.frombuffer(raw, dtype=np.uint8 if dtype.kind == "b" else dtype)
        if dtype.kind == "b" and np.any(flat > 1):
            raise CheckpointError(f"is corrupt: boolean tensor {name!r} holds bytes other than 0 and 1")
        arrays[name] = flat.astype(dtype.newbyteorder("="), copy=True).reshape(declared["shape"])
    return arrays


def _fail(where: str, problem: str):
    raise CheckpointError(f"is corrupt: {where} {problem}")


def _check_depth(value, where: str) -> None:
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(where, f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)


def _check_header(h) -> None:
    """The structure and type of every field of the retrograd header."""
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        raise CheckpointError("is a safetensors file but not a retrograd checkpoint")
    if type(h.get("version")) is not int or h["version"] != VERSION:
        raise CheckpointError(f"has format version {_short(h.get('version'))}; this retrograd reads version "
                              f"{VERSION}")
    if not _REQUIRED <= set(h) <= _SECTIONS:
        _fail("the header", f"has sections {sorted(h)}; expected {sorted(_REQUIRED)} and some of "
                            f"{sorted(_SECTIONS - _REQUIRED)}")
    if not isinstance(h["model_class"], str):
        _fail("model_class", f"is {_short(h['model_class'])}, not a string")
    if not isinstance(h["meta"], dict):
        _fail("meta", f"is {_short(h['meta'])}, not an object")
    _check_depth(h["meta"], "meta")
    tensors = h["tensors"]
    if not isinstance(tensors, dict):
        _fail("tensors", "is not an object")
    for name, t in tensors.items():
        if (not isinstance(t, dict) or set(t) != {"dtype", "shape", "sha256"}
                or not isinstance(t["dtype"], str) or t["dtype"] not in DTYPES
                or not isinstance(t["shape"], list) or len(t["shape"]) > MAX_NDIM
                or not all(type(d) is int and d >= 0 for d in t["shape"])
                or not isinstance(t["sha256"], str) or not _SHA256.fullmatch(t["sha256"])):
            _fail(f"tensor {name!r}", f"is described as {_short(t)}; expected a dtype of {list(DTYPES)}, "
                                      f"a shape of non-negative integers and a SHA-256")
    owned = {name for name in tensors if name.startswith("model.")}
    if "optimizer" in h:
        _check_optimizer_section(h["optimizer"])
        owned |= {name for name in tensors if _OPTIMIZER_TENSOR.fullmatch(name)}
    if "scheduler" in h:
        s = h["scheduler"]
        if not isinstance(s, dict) or not all(
                _is_scalar(v) or isinstance(v, list) and all(map(_is_scalar, v)) for v in s.values()):
            _fail("scheduler", f"is {_short(s)}; expected an object of numbers and lists of numbers")
    if "rng" in h:
        try:
            rg_random.generator_from_state(h["rng"])
        except ValueError as e:
            _fail("rng", f"is not a valid RNG state: {e}")
    if "callbacks" in h:
        owned |= _check_callbacks_section(h["callbacks"], tensors)
    if set(tensors) != owned:
        _fail("tensors", f"{sorted(set(tensors) - owned)[:5]} belong to no part of the checkpoint")


def _check_optimizer_section(o) -> None:
    if not isinstance(o, dict) or set(o) != {"class", "param_groups", "scalars"}:
        _fail("optimizer", f"is {_short(o)}; expected an object with class, param_groups and scalars")
    if not isinstance(o["class"], str):
        _fail("optimizer.class", f"is {_short(o['class'])}, not a string")
    groups = o["param_groups"]
    if not isinstance(groups, list):
        _fail("optimizer.param_groups", "is not a list")
    for k, g in enumerate(groups):
        where = f"optimizer.param_groups[{k}]"
        if not isinstance(g, dict) or not isinstance(g.get("params"), list) or not all(
                type(i) is int and i >= 0 for i in g["params"]):
            _fail(where, "is not an object with a list of parameter numbers 'params'")
        for key, v in g.items():
            if key != "params" and not (_is_scalar(v) or isinstance(v, list) and all(map(_is_scalar, v))):
                _fail(f"{where}.{key}", f"is {_short(v)}; expected a number, string, boolean or list of them")
    numbering = [i for g in groups for i in g["params"]]
    if numbering != list(range(len(numbering))):
        _fail("optimizer.param_groups", f"number their parameters {_short(numbering)}, not 0, 1, 2, ... in order")
    scalars = o["scalars"]
    if not isinstance(scalars, dict):
        _fail("optimizer.scalars", "is not an object")
    for i, s in scalars.items():
        if not re.fullmatch(r"0|[1-9][0-9]{0,8}", i) or not isinstance(s, dict) or not all(
                _is_number(v) for v in s.values()):
            _fail(f"optimizer.scalars[{i!r}]", f"is {_short(s)}; expected numbers by parameter number")


def _check_callbacks_section(entries, tensors: dict) -> set:
    """Checks the callbacks' entries; returns the tensor names they own."""
    if not isinstance(entries, list):
        _fail("callbacks", "is not a list")
    owned = set()
    for j, e in enumerate(entries):
        where = f"callbacks[{j}]"
        if not isinstance(e, dict) or set(e) != {"class", "state", "arrays"} or not isinstance(e["class"], str):
            _fail(where, f"is {_short(e)}; expected an object with class, state and arrays")
        if not isinstance(e["state"], dict) or not all(map(_is_scalar, e["state"].values())):
            _fail(f"{where}.state", f"is {_short(e['state'])}; expected an object of numbers, strings, booleans")
        refs = e["arrays"]
        if not isinstance(refs, dict) or set(refs) & set(e["state"]):
            _fail(f"{where}.arrays", "is not an object of fields apart from the state's")
        for field, names in refs.items():
            if not isinstance(names, dict):
                _fail(f"{where}.arrays.{field}", "is not an object of tensor names")
            for n in names.values():
                if not isinstance(n, str) or not n.startswith("callbacks.") or n not in tensors or n in owned:
                    _fail(f"{where}.arrays.{field}", f"names {_short(n)}: not a callbacks tensor of the file, "
                                                     f"or one named twice")
                owned.add(n)
    return owned


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
    own = model.state_dict()
    missing = [k for k in own if k not in values]
    unexpected = [k for k in values if k not in own]
    mismatched = [f"{k}: checkpoint {tuple(values[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in own if k in values and tuple(values[k].shape) != tuple(own[k].shape)]
    problems = []
    if strict and missing:
        problems.append(f"missing keys: {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys: {unexpected}")
    if mismatched:
        problems.append(f"shape mismatches: {mismatched}")
    if problems:
        raise CheckpointMismatchError(f"load_state_dict into {type(model).__name__}: " + "; ".join(problems))


def _check_like(saved, current, where: str, fail) -> None:
    """``saved`` (from JSON) has the type of ``current`` (the target's own
    value): a bool for a bool, a finite number for a number, a string for a
    string, a list as long for a list or tuple, the same keys for a dict."""
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
            if hasattr(v, "shape") and v.ndim and tuple(v.shape) != tuple(p.shape):
                fail(f"has {name} state {i}.{key} of shape {tuple(v.shape)} for a parameter of shape "
                     f"{tuple(p.shape)}")
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
