"""The MPI world: ``init``, ``rank``, ``world_size``, ``is_main``, ``barrier``.

Bytes between processes travel only through MPI (``mpi4py`` on an MPI
runtime, e.g. ``pip install mpi4py mpich``), with buffer-based calls on NumPy
arrays (``Allreduce``, ``Bcast``, ``Allgather``: no pickled Python objects on
the training path). A process that no MPI launcher started — a plain
``python script.py`` — is a world of one and never loads MPI at all, so every
data-parallel script also runs as one ordinary process.

Faults end every rank instead of leaving the others waiting in a collective:

* an uncaught exception on any rank is printed and aborts the whole job
  (``MPI_Abort``), as ``python -m mpi4py script.py`` does, without asking the
  user to run that way (``init`` installs the ``sys.excepthook``);
* every collective of the training loop (each gradient reduction, the sums
  ``fit`` logs, the end of the program) starts with a small fixed-size
  exchange (``MPIGroup.sync``) of what each rank is doing and how many
  reductions it has done. A rank whose loss became non-finite joins it as
  "failing", so every rank raises the same ``FloatingPointError`` naming it;
  ranks at different points (one runs an extra batch, another has exited)
  raise ``DistributedMismatchError`` naming the ranks and their counts.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import traceback

import numpy as np

from .. import data as _data
from ..data import LocalGroup

_group = None  # the MPIGroup (or LocalGroup) once init() has run

_OPS = ("sum", "max", "min")

# what a rank is doing when it joins ``MPIGroup.sync`` (the first slot of its row)
REDUCE, SUM, FAIL, EXIT, AGREE = 1, 2, 3, 4, 5
_DOING = {REDUCE: "gradient reduction", SUM: "summing the logged values (the end of an epoch or an evaluation)",
          FAIL: "failing", EXIT: "exiting (the end of the program)", AGREE: "comparing a length (a DataLoader)"}


class DistributedMismatchError(RuntimeError):
    """The ranks of a data-parallel run disagree (parameter shapes, dtypes,
    dataset lengths, or how many reductions each has done); raised on every rank."""


class MPIGroup:
    """``MPI.COMM_WORLD`` behind the small interface the lower layers use
    (``rg.data.LocalGroup``'s): ``rank``, ``size``, in-place ``allreduce`` and
    ``broadcast`` of NumPy arrays, ``barrier``; ``comm`` is the mpi4py
    communicator for anything else."""

    def __init__(self, MPI, comm):
        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self.reductions = 0  # gradient reductions done so far: every rank must do as many
        self._row = np.zeros(5, dtype=np.float64)

    def sync(self, doing: int, a: float = 0.0, b: float = 0.0):
        """The control exchange that starts each collective step: one
        ``MPI_Allgather`` of five float64 per rank, (what it is doing, its
        reduction count, two values). Returns the (size, 5) table. Raises on
        every rank, alike, when a rank is failing (``FloatingPointError`` naming
        it) or when the ranks are at different steps (``DistributedMismatchError``
        naming each rank's step and count). A failing rank gets the table back."""
        row = self._row
        row[:] = (doing, self.reductions, a, b, 0.0)
        table = self.allgather(row)
        if doing == FAIL:
            return table
        failed = np.flatnonzero(table[:, 0] == FAIL)
        if failed.size:
            r = int(failed[0])
            also = f" (and on rank{'s' if failed.size > 2 else ''} {', '.join(map(str, failed[1:]))})" \
                if failed.size > 1 else ""
            raise FloatingPointError(f"fit: the loss became {table[r, 3]} on rank {r} of {self.size}{also} at "
                                     f"epoch {int(table[r, 2])}; every rank stops here (seen from rank {self.rank}). "
                                     f"Try a smaller learning rate or rg.detect_anomaly()")
        if (table[:, 0] != doing).any() or (table[:, 1] != self.reductions).any():
            steps = "; ".join(f"rank {r}: " + (f"gradient reduction {int(c) + 1}" if d == REDUCE else
                                                f"{_DOING.get(int(d), f'step {int(d)}')}, after {int(c)} reductions")
                              for r, (d, c) in enumerate(table[:, :2]))
            raise DistributedMismatchError(
                f"rg.distributed: the ranks are at different steps ({steps}; seen from rank {self.rank}). Every rank "
                f"must run the same steps: as many batches (DataLoader(distributed=True) gives every rank as "
                f"many), one gradient reduction per step, and no rank may leave the loop early")
        return table

    def fail_together(self, loss: float, epoch: int) -> None:
        """This rank's loss is not finite: join the other ranks' next control
        exchange as failing, so that they raise the same error (naming this
        rank) instead of waiting for it; the caller then raises its own."""
        self.sync(FAIL, epoch, loss)

    def allreduce(self, array, op: str = "sum"):
        """Reduce a contiguous NumPy array over the world in place (``MPI_Allreduce``
        with ``MPI_IN_PLACE``); every rank gets the same bits. Returns it."""
        if op not in self._ops:
            raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
        _check_buffer("allreduce", array)
        self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return array

    def sum_floats(self, values) -> list:
        """Python numbers summed over the world (a control exchange, then one
        small float64 allreduce): what ``fit`` logs, so every rank's callbacks
        decide alike."""
        self.sync(SUM)
        return [float(v) for v in self.allreduce(np.array(values, dtype=np.float64), "sum")]

    def agree(self, what: str, value: int) -> None:
        """Raise ``DistributedMismatchError`` on every rank unless every rank
        passes the same ``value`` (``what`` names it in the message)."""
        table = self.sync(AGREE, value)
        if (table[:, 2] != table[0, 2]).any():
            values = ", ".join(f"rank {r}: {int(v)}" for r, v in enumerate(table[:, 2]))
            raise DistributedMismatchError(f"{what} differs between the ranks ({values})")

    def iallreduce(self, array, op: str = "sum"):
        """Start a non-blocking in-place reduction; returns the MPI request (``Wait`` it)."""
        _check_buffer("iallreduce", array)
        return self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op])

    def broadcast(self, array, root: int = 0):
        """Overwrite ``array`` with ``root``'s copy in place (``MPI_Bcast``); returns it."""
        _check_buffer("broadcast", array)
        self.comm.Bcast(array, root=root)
        return array

    def allgather(self, array):
        """``(size, *array.shape)``: every rank's ``array`` (``MPI_Allgather``)."""
        _check_buffer("allgather", array)
        out = np.empty((self.size,) + array.shape, dtype=array.dtype)
        self.comm.Allgather(array, out)
        return out

    def barrier(self):
        """Wait until every rank has called ``barrier``."""
        self.comm.Barrier()

    def __repr__(self):
        return f"MPIGroup(rank {self.rank} of {self.size})"


class _LocalWorld(LocalGroup):
    """A world of one with the extra methods ``MPIGroup`` has."""

    comm = None
    reductions = 0

    def sync(self, doing: int, a: float = 0.0, b: float = 0.0):
        return None

    def fail_together(self, loss: float, epoch: int) -> None:
        return None

    def agree(self, what: str, value: int) -> None:
        return None

    def iallreduce(self, array, op: str = "sum"):
        return None

    def allgather(self, array):
        return np.asarray(array)[None].copy()

    def __repr__(self):
        return "LocalGroup(a single process)"


def _check_buffer(what, array):
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise TypeError(f"rg.distributed.{what}: needs a C-contiguous NumPy array (MPI reads its buffer), "
                        f"got {type(array).__name__}")


def _want_mpi() -> bool:
    """Use MPI when a launcher started this process (or ``RETROGRAD_MPI=1`` asks for it)."""
    forced = os.environ.get("RETROGRAD_MPI", "").strip().lower()
    if forced in ("0", "no", "false", "off"):
        return False
    if forced in ("1", "yes", "true", "on"):
        return True
    return any(os.environ.get(name) for name in _data.LAUNCHER_SIZE_VARIABLES + ("PMI_RANK", "PMIX_RANK"))


def init():
    """Join the MPI world (idempotent; returns the process group).

    Started by ``mpiexec -n N`` (MPICH, Intel MPI, Open MPI or any PMIx
    launcher) this imports ``mpi4py`` and uses ``MPI.COMM_WORLD``; otherwise
    (or when ``mpi4py`` is not installed and no launcher asked for MPI) this
    process is a world of one: rank 0, size 1, every collective a no-op.
    ``RETROGRAD_MPI=1`` / ``0`` forces the choice. The group is registered with
    ``rg.data`` so ``DataLoader(distributed=True)``, ``stateful_batches`` and
    ``rg.train.fit`` see it.
    """
    global _group
    if _group is not None:
        return _group
    group = None
    if _want_mpi():
        try:
            from mpi4py import MPI
        except ImportError as e:
            if _data.launched_size() > 1:
                raise RuntimeError(f"rg.distributed.init: this process is one of {_data.launched_size()} started "
                                   f"by an MPI launcher, but mpi4py cannot be imported ({e}); "
                                   f"pip install mpi4py mpich (or retrograd[mpi])") from None
            MPI = None
        if MPI is not None:
            group = MPIGroup(MPI, MPI.COMM_WORLD)
            if group.size > 1:
                _abort_on_uncaught_exception(group)
                atexit.register(_check_at_exit, group)
    _group = group if group is not None else _LocalWorld()
    _data.set_process_group(_group)
    return _group


def _abort_on_uncaught_exception(group) -> None:
    """What ``python -m mpi4py`` guarantees: an exception that nothing caught
    is printed, then ``MPI_Abort`` ends every rank (mpiexec kills them), with
    mpi4py's status (1; 130 for Ctrl-C). Otherwise the other ranks would wait
    forever in their next collective for this one."""
    previous = sys.excepthook

    def retrograd_mpi_excepthook(kind, value, tb):
        try:
            if previous is sys.__excepthook__:  # the traceback and the verdict in one write: mpiexec forwards
                text = "".join(traceback.format_exception(kind, value, tb))  # a rank's output in chunks
            else:
                previous(kind, value, tb)
                text = ""
            sys.stdout.flush()
            sys.stderr.write(f"{text}rg.distributed: rank {group.rank} of {group.size} stopped on the uncaught "
                             f"{kind.__name__} above; aborting every rank (MPI_Abort)\n")
            sys.stderr.flush()
        finally:
            _abort(group, 130 if issubclass(kind, KeyboardInterrupt) else 1)

    sys.excepthook = retrograd_mpi_excepthook


def _check_at_exit(group) -> None:
    """At the end of the program every rank must be ending too: a rank that
    leaves while another still reduces gradients (it ran fewer batches, or
    ``sys.exit`` in the loop) is named, and the job aborts instead of hanging."""
    try:
        if group.MPI.Is_finalized():
            return
        group.sync(EXIT)
    except (DistributedMismatchError, FloatingPointError) as e:
        print(f"rg.distributed: rank {group.rank} at exit: {e}", file=sys.stderr, flush=True)
        _abort(group, 1)


def _abort(group, status: int) -> None:
    """``MPI_Abort`` (mpiexec ends every rank), then leave at once: MPICH's
    abort may return before this process is killed, and nothing of it (the
    exit check above, other atexit handlers) may run on. What this rank wrote
    is flushed first, with a moment for mpiexec to forward it: the abort tears
    down its pipes, and the message saying why would be lost."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.2)
        group.MPI.COMM_WORLD.Abort(status)
    finally:
        os._exit(status)


def group():
    """The process group (``init()`` first if it has not run)."""
    return _group if _group is not None else init()


def is_initialized() -> bool:
    """Whether ``init()`` has run in this process."""
    return _group is not None


def rank() -> int:
    """This process's rank, 0 … world_size() − 1."""
    return group().rank


def world_size() -> int:
    """How many processes train together."""
    return group().size


def is_main() -> bool:
    """Whether this is rank 0, the one that prints, logs and writes checkpoints."""
    return group().rank == 0


def barrier() -> None:
    """Wait until every rank gets here."""
    group().barrier()
