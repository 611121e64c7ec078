"""Data-parallel training over many processes and machines on MPI.

    mpiexec -n 4 python train.py                   # one machine, 4 processes
    mpiexec -n 8 -hosts a,b python train.py        # two machines (MPICH's hydra)

    import retrograd as rg
    import retrograd.distributed as dist

    dist.init()                                    # a world of one without mpiexec
    model = dist.DistributedDataParallel(Net())    # rank 0's weights everywhere
    loader = rg.data.DataLoader((x, y), 32, shuffle=True, distributed=True)
    rg.train.fit(model, loss_fn, optimizer, loader, epochs=5)   # logs on rank 0 only

Bytes move only through ``mpi4py`` (buffer-based collectives on NumPy
arrays). ``world`` holds the process group, ``buckets`` the bucketed
gradient allreduce and the parameter broadcast, ``ddp`` the model and
optimizer wrappers.
"""

from .buckets import (DEFAULT_BUCKET_BYTES, DistributedMismatchError, GradientReducer,  # noqa: F401
                      allreduce_gradients, broadcast_parameters)
from .ddp import DistributedDataParallel, DistributedOptimizer  # noqa: F401
from .world import MPIGroup, barrier, group, init, is_initialized, is_main, rank, world_size  # noqa: F401


def fork_rng() -> None:
    """Give each rank its own stream of ``rg.random`` (dropout masks differ
    between ranks) derived from the shared one: call it after building the
    model (initialisation agrees) and after making distributed loaders (they
    keep their own shared seed). ``rg.train.fit`` does it by itself."""
    from ..data import fork_rng_per_rank

    fork_rng_per_rank(group())


__all__ = ["init", "rank", "world_size", "is_main", "barrier", "group", "is_initialized", "broadcast_parameters",
           "allreduce_gradients", "DistributedDataParallel", "DistributedOptimizer", "GradientReducer",
           "DistributedMismatchError", "DEFAULT_BUCKET_BYTES", "MPIGroup", "fork_rng"]
