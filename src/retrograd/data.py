"""Batching: ``DataLoader`` for (x, y) arrays, and stateful batches.

Both shard their data across the processes of a data-parallel run
(``distributed=True``): ``rg.distributed.init()`` registers the MPI
world here with ``set_process_group`` (this layer sits below
``rg.distributed``, so it is told rather than importing it), and without one
every call sees a world of one process.
"""

from __future__ import annotations

import os

import numpy as np

from . import random as rg_random
from .autograd import backend
from .autograd.tensor import Tensor, _wrap
from .datasets import ConcatDataset, Dataset, StackDataset, Subset, TensorDataset, random_split  # noqa: F401


class LocalGroup:
    """The world of a plain process: rank 0 of 1. ``rg.distributed``'s MPI
    group has the same methods (``rank``, ``size``, ``allreduce``,
    ``broadcast``, ``barrier``); code below ``rg.distributed`` (``fit``, the
    loaders) talks to whichever ``process_group()`` returns."""

    rank, size = 0, 1

    def allreduce(self, array, op: str = "sum"):
        """Reduce a NumPy array over the world in place ("sum", "max" or "min"); returns it."""
        return array

    def broadcast(self, array, root: int = 0):
        """Overwrite ``array`` with ``root``'s copy in place; returns it."""
        return array

    def barrier(self):
        """Wait for every process."""


_LOCAL = LocalGroup()
_group = None

# Variables an MPI launcher sets in the processes it starts: MPICH / Intel MPI (hydra), Open MPI, PMIx.
LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


def launched_size() -> int:
    """The world size an MPI launcher (``mpiexec -n N``) announced in the
    environment, or 1 when this process was not started by one."""
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def set_process_group(group) -> None:
    """Register the world of a data-parallel run (``rg.distributed.init`` does;
    None goes back to a single process)."""
    global _group
    _group = group


def process_group(required: bool = False):
    """The registered process group, or a ``LocalGroup`` of one process.
    ``required``: a caller that shards data must not silently see a world of
    one when ``mpiexec`` started several processes: that raises instead."""
    if _group is not None:
        return _group
    if required and launched_size() > 1:
        raise RuntimeError(f"distributed=True: this process is one of {launched_size()} started by an MPI launcher, "
                           f"but the MPI world is not set up; call rg.distributed.init() first")
    return _LOCAL


def fork_rng_per_rank(group=None) -> None:
    """Give each rank of ``group`` (default: the registered one) its own
    ``rg.random`` stream, derived from rank 0's current state and the rank:
    dropout then draws different masks on different ranks, reproducibly.
    Shuffling by ``DataLoader(distributed=True)`` keeps its own shared seed,
    and initialisation happened before (or is broadcast), so both still agree.
    A world of one keeps its generator unchanged."""
    group = group or process_group()
    if group.size == 1:
        return
    base = np.array([rg_random.generator().integers(2 ** 62)], dtype=np.int64)
    group.broadcast(base, root=0)
    own = np.random.default_rng([int(base[0]), group.rank]).bit_generator.state
    rg_random.set_rng_state({"bit_generator": own["bit_generator"], "state": own})


def _world(distributed, where: str) -> tuple[int, int]:
    """(rank, world size) from a ``distributed=`` argument: False (one process),
    True (the registered world) or an explicit ``(rank, world_size)`` pair."""
    if distributed is False or distributed is None:
        return 0, 1
    if distributed is True:
        group = process_group(required=True)
        return group.rank, group.size
    try:
        rank, size = (int(v) for v in distributed)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: distributed must be True, False or a (rank, world_size) pair, "
                        f"got {distributed!r}") from None
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"{where}: distributed=({rank}, {size}) is not a rank of a world of that size")
    return rank, size


def _read_items(dataset, where: str) -> list:
    """``dataset[i]`` for i in 0 … len − 1, as PyTorch's sampler indexes a
    map-style dataset. Its own errors propagate (with a note naming the
    index); an IndexError below ``len()`` is not the end of the data (the
    sequence protocol's convention, which would serve a short dataset
    silently) but an error."""
    n = len(dataset)
    items = []
    for i in range(n):
        try:
            items.append(dataset[i])
        except IndexError as e:
            raise IndexError(f"{where}: len() is {n} but [{i}] raised IndexError({e}); a map-style dataset must "
                             f"serve every index below its len() (make __len__ return {i} if that is its size)") from e
        except Exception as e:
            e.add_note(f"({where}: raised while reading item [{i}] of {n})")
            raise
    return items


def _host_array(items, where: str):
    """One host array from a list of items (each a row)."""
    items = [item.data if isinstance(item, Tensor) else item for item in items]
    try:
        return np.asarray(items)
    except ValueError as e:
        raise ValueError(f"{where}: its items do not stack into one array ({e}); give every item the same shape") from e


def _is_dataset(obj) -> bool:
    """A map-style dataset: ``len()`` and ``[i]``, not an array NumPy converts
    itself (a list, a tuple, anything with ``__array__`` or a buffer, such as
    a pandas Series whose ``[i]`` is by label, not by position)."""
    if isinstance(obj, (list, tuple, str, bytes, np.ndarray, Tensor, backend.ndarray)) or hasattr(obj, "__array__"):
        return False
    try:
        memoryview(obj)
        return False
    except TypeError:
        pass
    return hasattr(obj, "__len__") and hasattr(obj, "__getitem__")


def _columns(arrays) -> tuple:
    """The loader's columns from ``arrays``: a tuple (or list) of columns, or a map-style dataset of samples."""
    if _is_dataset(arrays):
        samples = _read_items(arrays, f"DataLoader: dataset {type(arrays).__name__}")
        width = {len(s) if isinstance(s, (tuple, list)) else None for s in samples}
        if len(width) > 1:
            raise ValueError(f"DataLoader: the samples of dataset {type(arrays).__name__} have different numbers "
                             f"of fields {sorted(width, key=str)}; return the same tuple (x, y, …) for every index")
        fields = width.pop() if width else None
        if fields is None:   # one item per sample: one column
            return (_host_array(samples, "DataLoader: dataset"),)
        return tuple(_host_array([s[j] for s in samples], f"DataLoader: field {j} of the dataset's samples")
                     for j in range(fields))
    # Tensors and backend (device) arrays stay where they are; anything else is host
    # data, kept on the host and moved to the backend one batch at a time
    return tuple(a.data if isinstance(a, Tensor) else a if isinstance(a, backend.ndarray)
                 else _host_array(_read_items(a, f"DataLoader: column {j} ({type(a).__name__})"),
                                  f"DataLoader: column {j}") if _is_dataset(a) else np.asarray(a)
                 for j, a in enumerate(arrays))


class DataLoader:
    """Iterate over mini-batches of equally long arrays.

    ``DataLoader((x, y), batch_size=32, shuffle=True)`` yields tuples of
    Tensors; each pass is one epoch. Shuffling draws from ``rg.random``'s
    generator (or ``generator``), so ``rg.manual_seed`` and checkpoints make
    the order reproducible.

    ``arrays`` may also be a map-style dataset (``len()`` and ``[i]``, as in
    PyTorch) whose samples are tuples ``(x, y, …)`` (or single items), or a
    column may be one: it is read once, here, at indices 0 … len − 1 and
    stacked. The dataset's own errors reach the caller, and an IndexError
    below ``len()`` is an error (not the end of the data).

    ``distributed=True`` (or an explicit ``(rank, world_size)``): each process
    of a data-parallel run reads its own disjoint part of every epoch, as
    PyTorch's ``DistributedSampler`` does. The epoch's order (a permutation of
    ``seed`` and the epoch number when shuffling, else 0, 1, …) is the same on
    every rank; it is padded by repeating its first items to a multiple of
    the world size (no padding when the length divides), and rank r reads
    items r, r + W, r + 2W, … of it. So every rank has the same number of
    batches, and batch b of all ranks together is exactly batch b of a
    single-process loader with ``batch_size × W`` over the same order.
    ``drop_last=True`` drops the tail of the order instead of padding (to
    ⌊n / W⌋ items per rank) and then each rank's last incomplete batch.
    The ranks compare the data's length when the loader is made: a rank
    with another length raises ``DistributedMismatchError`` (on every rank).
    ``seed`` (shared by every rank) defaults to one drawn from rank 0's
    ``rg.random`` generator and broadcast; the epoch advances by itself each
    pass, or is set with ``set_epoch(epoch)`` (``rg.train.fit`` does, so a
    resumed run reads the same order).
    """

    def __init__(self, arrays, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 generator=None, distributed=False, seed: int | None = None):
        arrays = _columns(arrays)
        n = {len(a) for a in arrays}
        if len(n) != 1:
            raise ValueError(f"DataLoader: arrays have different lengths {sorted(n)}")
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        self.arrays, self.n = arrays, n.pop()
        self.batch_size, self.shuffle, self.drop_last, self.generator = batch_size, shuffle, drop_last, generator
        self.rank, self.world_size = _world(distributed, "DataLoader")
        self.distributed = self.world_size > 1 or distributed is not False and distributed is not None
        if self.world_size > 1 and distributed is True:
            # the shards (and so the batch counts) are equal only over the same data on every rank
            process_group().agree(f"DataLoader(distributed=True): the dataset's length (this rank has {self.n} "
                                  f"rows). Every rank must pass the same data, which the loader shards; if each "
                                  f"rank already holds only its own part, pass distributed=False and give every "
                                  f"rank as many rows (or batches)", self.n)
        self.epoch, self._epoch_set = 0, False
        self.seed = seed
        if self.distributed and shuffle and seed is None:
            # one seed for every rank: rank 0 draws it, the others receive it
            drawn = np.array([(generator or rg_random.generator()).integers(2 ** 62)], dtype=np.int64)
            group = process_group() if self.world_size > 1 and distributed is True else _LOCAL
            self.seed = int(group.broadcast(drawn, root=0)[0])

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order for the next pass (distributed shuffling; PyTorch's
        ``DistributedSampler.set_epoch``). Without it each pass takes the next epoch."""
        self.epoch, self._epoch_set = int(epoch), True

    def _rows(self) -> int:
        """Items this process reads per epoch: as PyTorch's ``DistributedSampler``,
        the epoch is padded by wrapping around to a multiple of the world size,
        or with ``drop_last`` its tail is dropped (no item read twice)."""
        if not self.distributed:
            return self.n
        return self.n // self.world_size if self.drop_last else -(-self.n // self.world_size)

    def __len__(self):
        full, rest = divmod(self._rows(), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _order(self):
        """The indices this process reads this epoch, or None for 0, 1, … n − 1."""
        if not self.distributed:
            return (self.generator or rg_random.generator()).permutation(self.n) if self.shuffle else None
        epoch = self.epoch
        self.epoch, self._epoch_set = epoch + 1, False  # the next pass reads the next epoch unless set_epoch says
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n) if self.shuffle else np.arange(self.n)
        total = self._rows() * self.world_size
        if total > self.n:  # pad by wrapping around, as DistributedSampler does, so all ranks read as many
            order = np.concatenate([order, np.resize(order, total - self.n)])
        return order[self.rank:total:self.world_size]  # (drop_last: the tail past ``total`` is dropped)

    def __iter__(self):
        device_order = None
        order = self._order()
        if order is not None and any(not isinstance(a, np.ndarray) for a in self.arrays):
            device_order = backend.xp.asarray(order)  # index device arrays with a device index
        rows = self._rows()
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, rows)
            if order is None:
                parts = [a[lo:hi] for a in self.arrays]
            else:
                parts = [a[order[lo:hi]] if isinstance(a, np.ndarray) else a[device_order[lo:hi]]
                         for a in self.arrays]
            # host batches cross to the backend here (no copy under NumPy)
            yield tuple(_wrap(p if isinstance(p, backend.ndarray) else backend.xp.asarray(p)) for p in parts)


class StatefulBatch:
    """One batch of ``stateful_batches``: ``x`` and ``y`` of shape (k, B, …)
    (time-major) or (B, k, …), ``reset`` (B,) True where a row starts a new
    sequence in this batch, ``valid`` (k, B) (or (B, k)) False on padding;
    ``time_major`` says which layout (``rg.bptt.train_stateful`` reads it)."""

    __slots__ = ("x", "y", "reset", "valid", "sequence", "time_major")

    def __init__(self, x, y, reset, valid, sequence, time_major: bool = True):
        self.x, self.y, self.reset, self.valid, self.sequence = x, y, reset, valid, sequence
        self.time_major = time_major

    def __iter__(self):
        return iter((self.x, self.y, self.reset))


def stateful_batches(sequences, batch_size: int, k: int, targets=None, time_major: bool = True,
                     pad_value=0, distributed=False):
    """Arrange many long sequences for stateful truncated BPTT.

    Each of the ``batch_size`` rows is a lane that reads sequences one after
    another, ``k`` steps per batch, so row i of batch b + 1 continues row i of
    batch b, and ``reset`` marks the rows where a new sequence begins (reset
    the state there). Sequences are read in place (a 2-D array of shape
    (N, L) or a list of arrays): only the current batch is ever copied. A
    sequence whose length is not a multiple of k ends with a padded chunk
    (``valid`` False), and lanes with nothing left to read are padded until
    all lanes finish.

    ``targets`` (same lengths) gives ``y``; a step's target may have another
    shape and dtype than a step's input (``y`` is sized from ``targets``). By
    default ``y`` is the next item of each sequence (language modelling: the
    last step of a sequence has no next item and is marked not valid).

    For example 125,973 sequences of length 1000, k = 25, batch
    40 — is ``stateful_batches(seqs, 40, 25)``: 3,150 rounds of 40 batches.

    ``distributed=True`` (or an explicit ``(rank, world_size)``) shards the
    lanes: ``batch_size`` is the global number of lanes (a multiple of the
    world size W), every rank follows the same assignment of sequences to
    lanes and yields only its own block of ``batch_size / W`` consecutive rows
    (rank r: rows r·B/W … (r+1)·B/W − 1 of the single-process batch), so each
    rank carries the state of its own rows and every rank yields the same
    number of batches.
    """
    if batch_size < 1 or k < 1:
        raise ValueError(f"stateful_batches: batch_size and k must be positive, got {batch_size}, {k}")
    rank, world = _world(distributed, "stateful_batches")
    if batch_size % world:
        raise ValueError(f"stateful_batches: {batch_size} lanes cannot be shared evenly by {world} processes; "
                         f"make batch_size a multiple of the world size")
    local = batch_size // world
    first = rank * local          # this process's rows: first … first + local − 1
    n = len(sequences)
    if targets is not None and len(targets) != n:
        raise ValueError(f"stateful_batches: {n} sequences but {len(targets)} target sequences")
    lanes = [None] * batch_size        # (sequence index, position) per row
    next_seq = 0
    sample = np.asarray(sequences[0]) if n else np.zeros(1)
    item_shape, dtype = sample.shape[1:], sample.dtype
    # a step's target may have another shape than a step's input (class ids for one-hot inputs, …)
    target_sample = sample if targets is None or not n else np.asarray(targets[0])
    target_shape, target_dtype = target_sample.shape[1:], target_sample.dtype
    while True:
        reset = np.zeros(batch_size, dtype=bool)
        for i in range(batch_size):
            if lanes[i] is not None and lanes[i][1] >= len(sequences[lanes[i][0]]):
                lanes[i] = None
            if lanes[i] is None and next_seq < n:
                if targets is not None and len(targets[next_seq]) != len(sequences[next_seq]):
                    raise ValueError(f"stateful_batches: sequence {next_seq} has {len(sequences[next_seq])} steps "
                                     f"but its targets have {len(targets[next_seq])}")
                lanes[i] = (next_seq, 0)
                next_seq += 1
                reset[i] = True
        if all(lane is None for lane in lanes):
            return
        # every rank keeps the bookkeeping of all lanes (which sequence each reads next) and
        # copies only its own rows
        x = np.full((local, k) + item_shape, pad_value, dtype=dtype)
        y = np.full((local, k) + target_shape, pad_value, dtype=target_dtype)
        valid = np.zeros((local, k), dtype=bool)
        which = np.full(local, -1)
        for i, lane in enumerate(lanes):
            if lane is None:
                continue
            if not first <= i < first + local:
                lanes[i] = (lane[0], min(lane[1] + k, len(sequences[lane[0]])))
                continue
            row = i - first
            s, pos = lane
            seq = sequences[s]
            stop = min(pos + k, len(seq))
            x[row, :stop - pos] = seq[pos:stop]
            if targets is None:
                nxt = seq[pos + 1:stop + 1]
                y[row, :len(nxt)] = nxt
                valid[row, :len(nxt)] = True
            else:
                y[row, :stop - pos] = targets[s][pos:stop]
                valid[row, :stop - pos] = True
            which[row] = s
            lanes[i] = (s, stop)
        reset = reset[first:first + local]
        if time_major:
            x, y, valid = np.swapaxes(x, 0, 1), np.swapaxes(y, 0, 1), valid.T
        yield StatefulBatch(x, y, reset, valid, which, time_major)
