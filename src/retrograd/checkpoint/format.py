"""The checkpoint format: its constants, dtype table, errors and small value checks."""

from __future__ import annotations

import math
import re

import numpy as np

from ..nn.module import StateDictError


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


