"""Reading a checkpoint and trusting nothing in it: a strict safetensors reader,
checksums, and a type check of every header field."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re

import numpy as np

from .. import random as rg_random
from .format import CheckpointError, DTYPES, FORMAT, MAX_DEPTH, MAX_HEADER_BYTES, MAX_NDIM, VERSION, _OPTIMIZER_TENSOR, _REQUIRED, _SECTIONS, _SHA256, _is_number, _is_scalar, _short


# ------------------------------------------------------------------ reading and checking the file
def read(path) -> tuple[dict, dict]:
    """(arrays, header) of a checkpoint, every byte and field checked; raises ``CheckpointError``.

    The header is checked against the file's size before any tensor is read
    (a file longer or shorter than its tensors is refused from its header,
    as safetensors does), and each tensor's bytes are read straight into its
    array: the peak memory is the tensors themselves, never a copy of the file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return _decode(f, os.fstat(f.fileno()).st_size)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path!r} does not exist") from None
    except CheckpointError as e:
        raise CheckpointError(f"checkpoint {path!r} {e}") from None
    except OSError as e:
        raise CheckpointError(f"checkpoint {path!r} cannot be read: {e}") from e


def _json(text, what: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the parser's stack
        raise CheckpointError(f"is corrupt: {what} is not valid JSON ({type(e).__name__}: {e})"[:300]) from None


def _read_exactly(f, buffer) -> None:
    """Fill ``buffer`` from ``f``; a short read means the file shrank since it was measured."""
    view, done = memoryview(buffer).cast("B"), 0
    while done < len(view):
        got = f.readinto(view[done:])
        if not got:
            raise CheckpointError(f"is truncated: it ended while being read ({done} of {len(view)} bytes of a "
                                  f"block); was it being written?")
        done += got


def _foreign_format(prefix: bytes) -> str | None:
    """What a file that is not safetensors probably is, from its first bytes (None: unknown)."""
    if prefix.startswith(b"PK\x03\x04"):
        return "a zip archive (PyTorch's torch.save format, a pickle inside)"
    if prefix[:1] == b"\x80" and 2 <= prefix[1] <= 5:
        return "a Python pickle (PyTorch's legacy torch.save format, or pickle.dump)"
    if prefix.startswith(b"\x89HDF"):
        return "an HDF5 file (Keras' .h5 format)"
    if prefix.startswith(b"\x93NUMPY"):
        return "a NumPy .npy file"
    return None


def _decode(f, file_size: int) -> tuple[dict, dict]:
    if file_size < 8:
        raise CheckpointError(f"is truncated ({file_size} bytes)")
    prefix = bytearray(8)
    _read_exactly(f, prefix)
    n = int.from_bytes(prefix, "little")
    if n < 2 or n > MAX_HEADER_BYTES or 8 + n > file_size:
        foreign = _foreign_format(bytes(prefix))
        if foreign:
            raise CheckpointError(f"is {foreign}, not a safetensors file: retrograd reads safetensors only "
                                  f"(it never unpickles). Convert it where it was made, e.g. with "
                                  f"safetensors.torch.save_file(model.state_dict(), 'model.safetensors')")
        raise CheckpointError(f"is truncated or not a safetensors file (header of {n} bytes, "
                              f"file of {file_size} bytes)")
    text = bytearray(n)
    _read_exactly(f, text)
    raw = _json(text, "the safetensors header")
    del text
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
    spans = _layout(raw, header["tensors"], file_size - 8 - n, file_size)
    return _read_tensors(f, 8 + n, spans, header["tensors"]), header


def _layout(entries: dict, table: dict, data_size: int, file_size: int) -> list:
    """The (begin, end, name) of each tensor in the data, after checking each
    safetensors entry against the header's table (dtype, shape) and that the
    entries tile the ``data_size`` bytes after the header exactly: from the
    header alone, before any tensor is read."""
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
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise CheckpointError(f"is truncated or corrupt: tensor {name!r} has data offsets {_short(offsets)} "
                                  f"in {data_size} bytes of data")
        size = math.prod(declared["shape"]) * DTYPES[declared["dtype"]].itemsize
        if offsets[1] - offsets[0] != size:
            raise CheckpointError(f"is corrupt: tensor {name!r} ({declared['dtype']} {declared['shape']}) needs "
                                  f"{size} bytes, its offsets span {offsets[1] - offsets[0]}")
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin != position:
            raise CheckpointError(f"is corrupt: tensor {name!r} starts at byte {begin} of the data, not {position}")
        position = end
    if position != data_size:
        raise CheckpointError(f"is truncated or corrupt: its header describes {position} bytes of tensor data, "
                              f"the file holds {data_size} after the header ({file_size} bytes in all)")
    return spans


def _read_tensors(f, start: int, spans: list, table: dict) -> dict:
    """Each tensor read into its own new array (no intermediate copy of the
    bytes), then checked against its checksum."""
    f.seek(start)
    arrays = {}
    for begin, end, name in spans:  # in file order, so the reads are sequential
        declared = table[name]
        dtype = DTYPES[declared["dtype"]]
        flat = np.empty((end - begin) // dtype.itemsize, dtype=np.uint8 if dtype.kind == "b" else dtype)
        _read_exactly(f, flat)
        if hashlib.sha256(flat).hexdigest() != declared["sha256"]:
            raise CheckpointError(f"is corrupt: tensor {name!r} does not match its checksum")
        if dtype.kind == "b":
            if np.any(flat > 1):
                raise CheckpointError(f"is corrupt: boolean tensor {name!r} holds bytes other than 0 and 1")
            flat = flat.view(dtype)
        elif not dtype.isnative:  # a big-endian host: swap in place, no copy
            flat = flat.byteswap(inplace=True).view(dtype.newbyteorder("="))
        arrays[name] = flat.reshape(declared["shape"])
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


