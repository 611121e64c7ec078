"""Variable-length sequences (PyTorch's ``nn.utils.rnn``): padding, packing and back.

A batch of sequences of lengths L₀ … L_{B−1} is stored either *padded* — one
(T, B, *) tensor (``batch_first``: (B, T, *)) with T = max Lᵢ and filler after
each sequence's end — or *packed*: a :class:`PackedSequence` whose ``data`` holds
only the real steps, time-major, the sequences sorted by decreasing length, so
that step t holds ``batch_sizes[t]`` = #{i : Lᵢ > t} rows::

    data = concat_t  padded_sorted[t, :batch_sizes[t]]

Everything is built from differentiable ops (getitem, concatenate, stack), so
gradients flow from a packed or re-padded result back to the inputs; the
bookkeeping (``batch_sizes``, ``sorted_indices``, ``unsorted_indices``,
lengths) is int64 and carries no gradient.

As in PyTorch, the lengths and ``batch_sizes`` live on the host: they decide
the shapes of the packed batch, so reading them from the device would make
every packing (and every recurrent step over a packed batch) wait for the
device. ``lengths`` given as a list, a NumPy array or a Tensor of host data are
used as they are; a device array of lengths is copied to the host once (PyTorch
requires CPU lengths). ``batch_sizes`` is a Tensor of host (NumPy) data on any
backend, like PyTorch's CPU tensor; ``sorted_indices`` and ``unsorted_indices``
index the data and live on the backend's device.

Differences from PyTorch (all refusals of inputs PyTorch mishandles): a length
larger than the time axis raises (PyTorch reads past the tensor when
``enforce_sorted=False``), fractional lengths raise (PyTorch truncates them),
non-finite lengths and lengths past 2**63 - 1 raise naming the value as given,
and ``unpad_sequence`` refuses a length beyond the padded length (PyTorch
silently returns a shorter sequence)."""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

from ..autograd import backend
from ..autograd.backend import xp
from ..autograd.op import OpError
from ..autograd.tensor import Tensor, _wrap
from ..ops.shape import concatenate, getitem, stack, swapaxes


class SequenceLengthError(OpError, RuntimeError):
    """Lengths that do not describe the padded batch (PyTorch raises ``RuntimeError``;
    this is also an ``OpError``, hence a ``ValueError``)."""


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A packed batch (PyTorch's ``PackedSequence``, a named tuple).

    ``data`` (ΣLᵢ, *): the real steps, time-major, sequences in decreasing length order;
    ``batch_sizes`` (T,) int64: how many sequences are still running at each step, a
    Tensor of host data on every backend (PyTorch's CPU tensor; given on the device,
    it is copied to the host once, here);
    ``sorted_indices`` (B,) int64 or None: the caller's batch index of each sorted
    position (None when the input was already sorted, ``enforce_sorted=True``);
    ``unsorted_indices``: its inverse permutation (computed from ``sorted_indices``
    when not given, as PyTorch does)."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        def as_int64(values):
            return None if values is None else _index_array(_raw(values))
        sorted_indices = as_int64(sorted_indices)
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = xp.argsort(sorted_indices.data)
        sizes = _wrap(backend.host_int64(_raw(batch_sizes)))  # the layers plan their steps from it: host data
        return super().__new__(cls, data, sizes, sorted_indices, as_int64(unsorted_indices))

    def to(self, *args, **kwargs) -> "PackedSequence":
        """PyTorch's ``PackedSequence.to``: ``data`` cast to a dtype (the indices stay int64);
        a device is only ``"cpu"``/None (arrays follow ``rg.set_backend``). Returns ``self``
        when nothing changes, as PyTorch does."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"PackedSequence.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, str) or a is None:
                device = a
            else:
                dtype = a
        if device not in (None, "cpu"):
            raise ValueError(f"PackedSequence.to: device={device!r}: retrograd places arrays with rg.set_backend, "
                             f"not per tensor; pass a dtype or 'cpu'")
        if dtype is None or xp.dtype(dtype) == self.data.dtype:
            return self
        return type(self)(self.data.to(dtype), self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> "PackedSequence":
        """``self``: arrays live where ``rg.set_backend`` puts them (PyTorch's ``cpu()``)."""
        return self

    @property
    def is_cuda(self) -> bool:
        """False, as for a PyTorch CPU ``PackedSequence`` (the backend is process-wide)."""
        return False

    def is_pinned(self) -> bool:
        """False: retrograd has no pinned host memory."""
        return False

    # PyTorch's dtype shortcuts: each casts ``data`` only
    def double(self):
        """``data`` as float64."""
        return self.to(xp.float64)

    def float(self):
        """``data`` as float32."""
        return self.to(xp.float32)

    def half(self):
        """``data`` as float16."""
        return self.to(xp.float16)

    def long(self):
        """``data`` as int64."""
        return self.to(xp.int64)

    def int(self):
        """``data`` as int32."""
        return self.to(xp.int32)

    def short(self):
        """``data`` as int16."""
        return self.to(xp.int16)

    def char(self):
        """``data`` as int8."""
        return self.to(xp.int8)

    def byte(self):
        """``data`` as uint8."""
        return self.to(xp.uint8)


def _raw(values):
    return values.data if isinstance(values, Tensor) else values


def _as_tensor(x, who):
    if isinstance(x, Tensor):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return Tensor(x)
    raise OpError(f"{who}: expected a Tensor or an array, got {type(x).__name__}")


def _index_array(values):
    return Tensor(xp.asarray(values, dtype=xp.int64))


def _given(lengths) -> list:
    """The lengths as the caller gave them, for messages (a float stays a float, a uint64 stays exact)."""
    values = backend.to_numpy(_raw(lengths)).tolist()  # only on the way to an error: a read is fine
    return values if len(values) <= 12 else values[:12] + ["…"]


def _lengths(lengths, who) -> list[int]:
    """``lengths`` (a list, an array or a Tensor) as Python ints, checked on the host
    (a device array is read once). The values are checked before the conversion,
    which would turn ±inf, NaN and uint64 values past 2**63 - 1 into other
    numbers: those, and fractional values, are refused."""
    arr = backend.to_numpy(_raw(lengths))
    if arr.ndim != 1:
        raise SequenceLengthError(f"{who}: 'lengths' must be one-dimensional (one length per sequence), got shape "
                                  f"{tuple(arr.shape)}")
    values = arr.tolist()  # exact: floats stay floats, uint64 values stay unbounded ints
    checks = []
    if arr.dtype.kind == "f":
        checks = [(lambda v: not math.isfinite(v), "must be finite"),
                  (lambda v: v != math.floor(v), "must be whole numbers (PyTorch would truncate them)"),
                  (lambda v: abs(v) >= 2.0 ** 63, "must fit an int64")]
    elif arr.dtype.kind == "u":
        checks = [(lambda v: v > 2 ** 63 - 1, "must fit an int64")]
    elif arr.size and arr.dtype.kind != "i":
        raise SequenceLengthError(f"{who}: 'lengths' must be integers, got dtype {arr.dtype}")
    for bad, problem in checks:
        for i, v in enumerate(values):
            if bad(v):
                raise SequenceLengthError(f"{who}: 'lengths' {problem}, but lengths[{i}] = {v!r} "
                                          f"(lengths={_given(lengths)}); pass one positive integer per sequence")
    return [int(v) for v in values]


def _total_length(total_length, who):
    """``total_length`` as an int (None stays None); like PyTorch, a float is a ``TypeError``."""
    if total_length is None:
        return None
    value = total_length.data if isinstance(total_length, Tensor) else total_length
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{who}: total_length must be an integer (the number of steps to pad to) or None, got "
                        f"{total_length!r} of type {type(total_length).__name__}") from None


def _padded_batch(padded, lengths, batch_first, who):
    """A padded batch as (tensor, lengths as ints, batch axis): time and batch are
    axes 0 and 1 in one order or the other."""
    x = _as_tensor(padded, who)
    if x.ndim < 2:
        raise OpError(f"{who}: input must have a time and a batch axis, got shape {tuple(x.shape)}")
    return x, _lengths(lengths, who), (0 if batch_first else 1)


def _sequence_list(sequences, who):
    if not isinstance(sequences, Tensor) and not hasattr(sequences, "__iter__"):
        raise OpError(f"{who}: Expected iterable for input sequences, but got arg of type: {type(sequences)}; "
                      f"pass a list (or tuple) of (L, *) tensors")
    if isinstance(sequences, Tensor):
        sequences = [getitem(sequences, i) for i in range(sequences.shape[0])]
    seqs = [_as_tensor(s, who) for s in sequences]
    if not seqs:
        raise SequenceLengthError(f"{who}: received an empty list of sequences")
    for s in seqs:
        if s.ndim == 0:
            raise OpError(f"{who}: each sequence needs a time axis (shape (L, *)), got a 0-d tensor; reshape "
                          f"scalars to (1,)")
    trailing = {tuple(s.shape[1:]) for s in seqs}
    if len(trailing) > 1:
        raise OpError(f"{who}: all sequences must have the same trailing shape after the time axis, got "
                      f"{[tuple(s.shape) for s in seqs]}")
    return seqs


def _filler(like, steps, padding_value):
    """A constant (steps, *like.shape[1:]) block in ``like``'s dtype, without gradient."""
    return Tensor(xp.full((steps,) + tuple(like.shape[1:]), padding_value, dtype=like.dtype))


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (Lᵢ, *) into one (T, B, *) tensor (``batch_first``: (B, T, *)),
    T = max Lᵢ, filling the missing steps with ``padding_value`` after each sequence
    (``padding_side="left"``: before it). A Tensor is read as a list along its first axis."""
    who = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise SequenceLengthError(f"{who}: Expected padding_side to be one of left or right, but got "
                                  f"{padding_side}.")
    seqs = _sequence_list(sequences, who)
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing:
            fill = _filler(s, missing, padding_value)
            s = concatenate([s, fill] if padding_side == "right" else [fill, s], axis=0)
        padded.append(s)
    return stack(padded, axis=0 if batch_first else 1)


def pack_padded_sequence(input, lengths, batch_first: bool = False,  # noqa: A002 - PyTorch's names
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (``batch_first``: (B, T, *)) whose sequence i has
    ``lengths[i]`` real steps. With ``enforce_sorted`` the lengths must be decreasing
    (then ``sorted_indices`` is None); otherwise the batch is sorted here, stably, and
    ``sorted_indices``/``unsorted_indices`` record the permutation."""
    who = "pack_padded_sequence"
    empty = _as_tensor(input, who)
    if empty.size == 0:  # PyTorch's first check: before the lengths are read
        raise SequenceLengthError(f"{who}: Cannot pack empty tensors (input of shape {tuple(empty.shape)})")
    x, lens, batch_axis = _padded_batch(input, lengths, batch_first, who)
    batch, steps = x.shape[batch_axis], x.shape[1 - batch_axis]
    if len(lens) != batch:
        raise SequenceLengthError(f"{who}: Expected `len(lengths)` to be equal to batch_size, but got "
                                  f"{len(lens)} (batch_size={batch})")
    if min(lens) <= 0:
        i = lens.index(min(lens))
        raise SequenceLengthError(f"{who}: Length of all samples has to be greater than 0, but found an element "
                                  f"in 'lengths' that is <= 0: lengths[{i}] = {_given(lengths)[i]!r} "
                                  f"(lengths={_given(lengths)})")
    if max(lens) > steps:
        raise SequenceLengthError(f"{who}: a length of {max(lens)} exceeds the {steps} steps of the input of "
                                  f"shape {tuple(x.shape)} (batch_first={batch_first}); lengths must be <= T "
                                  f"(lengths={_given(lengths)})")
    if enforce_sorted:
        if any(b > a for a, b in zip(lens, lens[1:])):
            raise SequenceLengthError(
                f"{who}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True "
                f"(got {lens}). You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                f"pack_sequence to sidestep this requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = sorted(range(batch), key=lambda i: -lens[i])  # stable: equal lengths keep their order
        lens = [lens[i] for i in order]
        x = getitem(x, (slice(None),) * batch_axis + (xp.asarray(order, dtype=xp.int64),))
    if batch_first:
        x = swapaxes(x, 0, 1)
    # batch_sizes[t] = #{i : lengths[i] > t}, for t < the longest length (lens is non-increasing)
    batch_sizes, running = [], batch
    for t in range(lens[0]):
        while lens[running - 1] <= t:
            running -= 1
        batch_sizes.append(running)
    data = concatenate([getitem(x, (t, slice(0, n))) for t, n in enumerate(batch_sizes)], axis=0)
    if order is None:
        return PackedSequence(data, batch_sizes, None, None)
    unsorted = [0] * batch
    for position, i in enumerate(order):
        unsorted[i] = position
    return PackedSequence(data, batch_sizes, order, unsorted)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded (T, B, *) batch (``batch_first``: (B, T, *))
    in the caller's original order, T = ``total_length`` or the longest length, and the
    lengths (int64)."""
    who = "pad_packed_sequence"
    data = _as_tensor(sequence.data, who)
    host_sizes = backend.host_int64(_raw(sequence.batch_sizes))  # host data: no read
    sizes = host_sizes.tolist()
    longest = len(sizes)
    total_length = _total_length(total_length, who)
    if total_length is not None:
        if total_length < longest:
            raise OpError(f"{who}: Expected total_length to be at least the length of the longest sequence in "
                          f"input, but got total_length={total_length} and max sequence length being {longest}")
    else:
        total_length = longest
    batch = sizes[0]
    steps, offset = [], 0
    for n in sizes:
        rows = getitem(data, slice(offset, offset + n))
        offset += n
        if n < batch:
            rows = concatenate([rows, _filler(rows, batch - n, padding_value)], axis=0)
        steps.append(rows)
    padded = stack(steps, axis=0)
    if total_length > longest:
        block = Tensor(xp.full((total_length - longest,) + tuple(padded.shape[1:]), padding_value,
                               dtype=padded.dtype))
        padded = concatenate([padded, block], axis=0)
    # sorted sequence b runs while batch_sizes[t] > b, so its length is #{t : batch_sizes[t] > b}
    host = backend.host
    lengths = xp.asarray(host.sum(host_sizes[None, :] > host.arange(batch)[:, None], axis=1).astype(host.int64))
    if batch_first:
        padded = swapaxes(padded, 0, 1)
    if sequence.unsorted_indices is not None:
        unsorted = xp.asarray(sequence.unsorted_indices.data if isinstance(sequence.unsorted_indices, Tensor)
                              else sequence.unsorted_indices).astype(xp.int64)
        padded = getitem(padded, (slice(None),) * (0 if batch_first else 1) + (unsorted,))
        lengths = lengths[unsorted]
    return padded, Tensor(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (Lᵢ, *) sequences: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    seqs = _sequence_list(sequences, "pack_sequence")
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list[Tensor]:
    """Split a padded (T, B, *) batch (``batch_first``: (B, T, *)) into B sequences
    of shapes (lengths[i], *): the inverse of ``pad_sequence``."""
    who = "unpad_sequence"
    x, lens, batch_axis = _padded_batch(padded_sequences, lengths, batch_first, who)
    batch, steps = x.shape[batch_axis], x.shape[1 - batch_axis]
    if len(lens) != batch:
        raise SequenceLengthError(f"{who}: got {len(lens)} lengths for a batch of {batch} (input shape "
                                  f"{tuple(x.shape)}, batch_first={batch_first})")
    if lens and (min(lens) < 0 or max(lens) > steps):
        raise SequenceLengthError(f"{who}: lengths {lens} must lie in [0, {steps}] for an input of shape "
                                  f"{tuple(x.shape)} (batch_first={batch_first})")
    if batch_first:
        return [getitem(x, (i, slice(0, n))) for i, n in enumerate(lens)]
    return [getitem(x, (slice(0, n), i)) for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of (Lᵢ, *) sequences in a ``PackedSequence``, in the caller's order:
    the inverse of ``pack_sequence``."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def mask_from_lengths(lengths, total_length: int | None = None, batch_first: bool = False):
    """The boolean mask of a post-padded batch: True at step t of row i where
    t < lengths[i]; shaped (T, B) ((B, T) with ``batch_first``), T =
    ``total_length`` or the longest length. The ``mask=`` of the recurrent
    layers and of ``rg.bptt``."""
    lens = _lengths(lengths, "mask_from_lengths")
    total_length = _total_length(total_length, "mask_from_lengths")
    steps = max(lens) if total_length is None and lens else (total_length or 0)
    if lens and (min(lens) < 0 or max(lens) > steps):
        raise SequenceLengthError(f"mask_from_lengths: lengths {lens} must lie in [0, {steps}] "
                                  f"(total_length={total_length})")
    mask = xp.arange(steps)[:, None] < xp.asarray(lens, dtype=xp.int64)[None, :]
    return mask.T if batch_first else mask


def invert_permutation(permutation):
    """The inverse of ``permutation``, a 1-D int64 Tensor of indices (PyTorch's): ``out`` with
    ``out[permutation[i]] = i`` (so ``sorted_indices`` ↔ ``unsorted_indices`` of a
    ``PackedSequence``); None gives None. Refused as PyTorch refuses it: an index out of range
    or a dtype other than int64 (``RuntimeError``), more than one dimension (``IndexError``). An
    array that is not a permutation leaves some entries unset: PyTorch's are uninitialised memory,
    here 0 (and of repeated indices the last wins)."""
    if permutation is None:
        return None
    if not isinstance(permutation, Tensor):
        raise TypeError(f"invert_permutation(): argument 'permutation' must be Tensor, not "
                        f"{type(permutation).__name__}")
    p = permutation.data
    if p.ndim > 1:
        raise IndexError(f"invert_permutation: expected a 1-D permutation, got shape {tuple(p.shape)}")
    if p.dtype != xp.int64:
        raise RuntimeError(f"invert_permutation: expected an int64 permutation, got {p.dtype} (convert it with "
                           f".long())")
    flat = p.reshape(-1)
    outside = (flat < 0) | (flat >= flat.size)
    if bool(outside.any()):
        raise RuntimeError(f"invert_permutation: index {int(flat[outside][0])} is out of bounds for dimension 0 "
                           f"with size {flat.size}")
    out = xp.zeros_like(flat)
    out[flat] = xp.arange(flat.size, dtype=xp.int64)
    return Tensor(out.reshape(p.shape))


__all__ = ["PackedSequence", "mask_from_lengths", "SequenceLengthError", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]
