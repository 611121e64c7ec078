"""The MPI world: ``init``, ``rank``, ``world_size``, ``is_main``, ``barrier``.

Bytes between processes travel only through MPI (``mpi4py`` on an MPI
runtime, e.g. ``pip install mpi4py mpich``), with buffer-based calls on NumPy
arrays (``Allreduce``, ``Bcast``, ``Allgather``: no pickled Python objects on
the training path). A process that no MPI launcher started — a plain
``python script.py`` — is a world of one and never loads MPI at all, so every
data-parallel script also runs as one ordinary process.
"""

from __future__ import annotations

import os

import numpy as np

from .. import data as _data
from ..data import LocalGroup

_group = None  # the MPIGroup (or LocalGroup) once init() has run

_OPS = ("sum", "max", "min")


class MPIGroup:
    """``MPI.COMM_WORLD`` behind the small interface the lower layers use
    (``rg.data.LocalGroup``'s): ``rank``, ``size``, in-place ``allreduce`` and
    ``broadcast`` of NumPy arrays, ``barrier``; ``comm`` is the mpi4py
    communicator for anything else."""

    def __init__(self, MPI, comm):
        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}

    def allreduce(self, array, op: str = "sum"):
        """Reduce a contiguous NumPy array over the world in place (``MPI_Allreduce``
        with ``MPI_IN_PLACE``); every rank gets the same bits. Returns it."""
        if op not in self._ops:
            raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
        _check_buffer("allreduce", array)
        self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return array

    def sum_floats(self, values) -> list:
        """Python numbers summed over the world (one small float64 allreduce):
        what ``fit`` logs, so every rank's callbacks decide alike."""
        return [float(v) for v in self.allreduce(np.array(values, dtype=np.float64), "sum")]

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
        """(size, *array.shape): every rank's ``array`` (``MPI_Allgather``)."""
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
    _group = group if group is not None else _LocalWorld()
    _data.set_process_group(_group)
    return _group


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
