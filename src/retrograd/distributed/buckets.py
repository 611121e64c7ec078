"""Moving parameters and gradients: ``broadcast_parameters`` and bucketed
``allreduce_gradients``.

Gradients are packed into preallocated contiguous buckets of at most
``bucket_bytes`` (PyTorch DDP's 25 MiB, Horovod's tensor fusion), one dtype
per bucket, in the reverse order of the parameters (the last layers' gradients
are final first in a backward pass). Each bucket is reduced by one
buffer-based ``MPI_Iallreduce`` started as soon as it is packed (the next
bucket is packed while it travels), then every bucket is waited for and
unpacked. A parameter larger than the cap gets a bucket of its own.

Every rank reduces every bucket, in the same order, whatever gradients it
has: a parameter with no gradient on a rank contributes zeros (so no rank
waits for a reduction another rank skips), and its reduced gradient is set
wherever any rank had one (it stays None where no rank had). Each reduction
starts with the world's control exchange (``MPIGroup.sync``: every rank's
step and reduction count, so a rank that skipped or added a reduction, or
failed, is named on every rank), then the ranks compare which parameters
have a gradient. Before the first reduction they also compare a fingerprint
of the parameter list (``MPI_Allgather`` of a hash of the shapes and dtypes):
a rank whose model differs raises an error naming the rank and the first
differing parameter, on every rank, instead of hanging or adding mismatched
bytes.

A reduction is ``begin`` (the exchanges), then ``pack`` and ``start`` per
bucket (in bucket order on every rank: MPI matches collectives by order),
then ``finish`` (wait, average, unpack). ``reduce`` does all of it after the
backward pass; ``DistributedDataParallel`` starts each bucket during the
backward pass as soon as its gradients are final.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import numpy as np

from ..autograd import backend
from ..autograd.tensor import Tensor, _wrap
from ..nn.module import Module
from .world import REDUCE, DistributedMismatchError
from .world import group as _world_group

DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024


def _params(model_or_params, what: str) -> list:
    """The distinct Tensors of a module (its parameters) or of an iterable."""
    if isinstance(model_or_params, Module):
        items = list(model_or_params.named_parameters())
    elif isinstance(model_or_params, Tensor):
        items = [("0", model_or_params)]
    else:
        items = [(str(i), p) for i, p in enumerate(model_or_params)]
    seen, out = set(), []
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"rg.distributed.{what}: expected a Module or Tensors, got {type(p).__name__} "
                            f"at position {name}")
        if id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def _describe(named) -> list[str]:
    return [f"{name} {tuple(p.shape)} {np.dtype(p.dtype).name}" for name, p in named]


def check_same_everywhere(named, what: str, group, extra: str = "") -> None:
    """Raise ``DistributedMismatchError`` on every rank unless all ranks hold
    tensors of the same shapes and dtypes in the same order (one small
    ``Allgather``; the details are gathered only when something differs)."""
    if group.size == 1:
        return
    desc = _describe(named)
    digest = hashlib.blake2b(("\n".join(desc) + "|" + extra).encode(), digest_size=8).digest()
    mine = np.array([len(desc), int.from_bytes(digest, "little", signed=True)], dtype=np.int64)
    table = group.allgather(mine)
    if (table == table[0]).all():
        return
    # every rank saw the same table, so every rank gets here and joins this (error-path) gather
    everyone = group.comm.allgather((desc, extra))
    lines = []
    ref, ref_extra = everyone[0]
    for r, (d, e) in enumerate(everyone[1:], start=1):
        if e != ref_extra:
            lines.append(f"rank {r} has {e} where rank 0 has {ref_extra}")
        if len(d) != len(ref):
            lines.append(f"rank {r} has {len(d)} tensors where rank 0 has {len(ref)}")
        for i, (a, b) in enumerate(zip(ref, d)):
            if a != b:
                lines.append(f"rank {r}'s tensor {i} is '{b}' where rank 0's is '{a}'")
                break
    raise DistributedMismatchError(f"rg.distributed.{what}: the ranks' models differ (seen from rank "
                                   f"{group.rank}): " + "; ".join(lines) + ". Every rank must build the same "
                                   "model and pass the same parameters in the same order.")


def broadcast_parameters(model_or_params, root: int = 0) -> None:
    """Make every rank's parameters (and, for a Module, buffers) equal to rank
    ``root``'s: ``MPI_Bcast`` of each array in place. Called once before
    training (``DistributedDataParallel`` does it), so every rank starts from
    the same initialisation whatever its RNG did. Checks shapes and dtypes
    first (``DistributedMismatchError`` names the differing rank)."""
    group = _world_group()
    named = _params(model_or_params, "broadcast_parameters")
    if isinstance(model_or_params, Module):
        named += [(f"buffer {n}", b) for n, b in model_or_params.named_buffers()]
    if group.size == 1:
        return
    check_same_everywhere(named, "broadcast_parameters", group, extra=f"root {root}")
    for _, t in named:
        host = backend.to_numpy(t.data)
        in_place = host is t.data and host.flags.c_contiguous and host.flags.writeable
        buf = host if in_place else np.ascontiguousarray(host).copy()
        group.broadcast(buf, root=root)
        if buf is not t.data:
            t.data = backend.xp.asarray(buf).reshape(t.data.shape)
        t.mark_modified_()


class GradientReducer:
    """Preallocated buckets for one list of parameters; ``reduce()`` allreduces
    their ``.grad`` (see ``rg.distributed.buckets``'s docstring). ``bytes_per_step`` is what one
    reduction moves into the network per rank (ring allreduce: 2(p − 1)/p of
    the bucket bytes). ``comm_s`` adds up the seconds spent in the reduction's
    own steps (exchanges, packing, waiting, unpacking): what it costs the
    critical path (benchmarks read it)."""

    def __init__(self, params, bucket_bytes: int = DEFAULT_BUCKET_BYTES, group=None):
        if bucket_bytes < 1:
            raise ValueError(f"rg.distributed: bucket_bytes must be positive, got {bucket_bytes}")
        self.named = _params(params, "allreduce_gradients")
        self.params = [p for _, p in self.named]
        self.group = group or _world_group()
        self.bucket_bytes = int(bucket_bytes)
        self.calls = 0
        # buckets: (array, [(param index, offset, size)]); parameters in reverse order, one dtype per bucket
        self.buckets = []
        open_by_dtype = {}
        for i in reversed(range(len(self.params))):
            p = self.params[i]
            dtype, size = np.dtype(p.dtype), int(np.prod(p.shape, dtype=np.int64))
            entries = open_by_dtype.get(dtype)
            used = sum(e[2] for e in entries) * dtype.itemsize if entries else 0
            if entries is None or (entries and used + size * dtype.itemsize > self.bucket_bytes):
                entries = []
                open_by_dtype[dtype] = entries
                self.buckets.append((dtype, entries))
            entries.append((i, sum(e[2] for e in entries), size))
        self.buckets = [(np.zeros(sum(e[2] for e in entries), dtype=dtype), entries)
                        for dtype, entries in self.buckets]
        self.bucket_of = [0] * len(self.params)   # parameter index -> (bucket, offset, size)
        for b, (_, entries) in enumerate(self.buckets):
            for i, off, size in entries:
                self.bucket_of[i] = (b, off, size)
        self.nbytes = sum(b.nbytes for b, _ in self.buckets)
        self._flags = np.zeros(len(self.params), dtype=np.int64)
        self._checked = False
        self._requests, self._present = [], None
        self.comm_s = 0.0

    @property
    def bytes_per_step(self) -> float:
        """Bytes each rank sends per reduction with a ring allreduce: 2(p − 1)/p × gradient bytes."""
        p = self.group.size
        return 2 * (p - 1) / p * self.nbytes

    def begin(self, local_present) -> bool:
        """The exchanges that start a reduction: the control exchange (every
        rank at the same reduction, none failing), the parameter fingerprint
        (first time), and which parameters have a gradient on any rank
        (``local_present``: a bool per parameter, this rank's). Returns whether
        any rank has a gradient; when not, no bucket is reduced."""
        group = self.group
        group.sync(REDUCE)
        group.reductions += 1
        self.calls += 1
        if not self._checked:
            check_same_everywhere(self.named, "allreduce_gradients", group,
                                  extra=f"bucket_bytes {self.bucket_bytes}")
            self._checked = True
        self._flags[:] = local_present
        self._present = group.allgather(self._flags).any(axis=0)
        self._requests = []
        return bool(self._present.any())

    def pack(self, b: int, grads) -> None:
        """Copy bucket ``b``'s gradients (``grads[i]``: an array or None, zeros) into it."""
        buf, entries = self.buckets[b]
        for i, off, size in entries:
            g = grads[i]
            if g is None:
                buf[off:off + size] = 0
            else:
                if g.dtype != buf.dtype:
                    raise TypeError(f"rg.distributed.allreduce_gradients: the gradient of "
                                    f"'{self.named[i][0]}' is {g.dtype}, its parameter {buf.dtype}")
                buf[off:off + size] = backend.to_numpy(g).reshape(-1)

    def start(self, b: int) -> None:
        """Start bucket ``b``'s non-blocking sum over the ranks (buckets in order)."""
        if len(self._requests) != b:
            raise RuntimeError(f"internal error: bucket {b} started after {len(self._requests)} buckets")
        self._requests.append(self.group.iallreduce(self.buckets[b][0], "sum"))

    def finish(self, average: bool, override=None) -> dict:
        """Wait for every bucket, average (``average``), and write each reduced
        gradient to ``.grad`` wherever any rank had one; the indices in
        ``override`` get theirs in that dict instead. Returns ``override``."""
        for req in self._requests:
            if req is not None:
                req.Wait()
        self._requests = []
        override = {} if override is None else override
        params, present, size = self.params, self._present, self.group.size
        for buf, entries in self.buckets:
            if average:
                buf /= size
            for i, off, n in entries:
                if not present[i]:
                    continue
                value = backend.xp.asarray(buf[off:off + n].reshape(params[i].shape).copy())
                if i in override:
                    override[i] = value
                else:
                    params[i].grad = _wrap(value)
        return override

    def reduce(self, average: bool = True, override=None) -> bool:
        """Allreduce the gradients (mean over ranks with ``average``, else the
        sum) and write them back to ``.grad``. ``override``: {parameter index:
        array} used instead of that parameter's ``.grad`` (the DDP hook's
        gradient that is not stored yet); its reduced value is returned in the
        dict instead of being stored. Returns whether any rank had a gradient."""
        params = self.params
        override = override or {}
        grads = [override[i] if i in override else (None if p.grad is None else p.grad.data)
                 for i, p in enumerate(params)]
        if self.group.size == 1:
            return any(g is not None for g in grads)
        t0 = time.perf_counter()
        try:
            if not self.begin([g is not None for g in grads]):
                return False
            for b in range(len(self.buckets)):
                self.pack(b, grads)
                self.start(b)  # travels while the next bucket is packed
            self.finish(average, override)
            return True
        finally:
            self.comm_s += time.perf_counter() - t0


_reducers: OrderedDict = OrderedDict()


def reducer_for(params, bucket_bytes: int) -> GradientReducer:
    """A cached ``GradientReducer`` (its buckets are allocated once per parameter list)."""
    named = _params(params, "allreduce_gradients")
    key = (tuple(id(p) for _, p in named), tuple(n for n, _ in named), int(bucket_bytes), id(_world_group()))
    red = _reducers.get(key)
    if red is None:
        red = GradientReducer(params, bucket_bytes)
        _reducers[key] = red
        while len(_reducers) > 8:  # a reducer keeps its parameters alive: keep only the recent ones
            _reducers.popitem(last=False)
    else:
        _reducers.move_to_end(key)
    return red


def allreduce_gradients(model_or_params, average: bool = True, bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> bool:
    """Sum (``average``: mean) every parameter's ``.grad`` over the ranks, in place of
    each rank's own: after it every rank holds the same gradient, the one of
    the combined batch when each rank's loss is a mean over equally many rows.

    Buffer-based ``MPI_Iallreduce`` of preallocated buckets of at most
    ``bucket_bytes`` (``rg.distributed.buckets``'s docstring). A parameter without a gradient on a
    rank counts as zeros there. Returns whether any rank had a gradient. A
    world of one returns at once."""
    return reducer_for(model_or_params, bucket_bytes).reduce(average)
