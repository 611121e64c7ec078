"""Data-parallel training on MPI gives what one process gives on the combined batch.

The MPI checks run in one ``mpiexec -n 2`` launch of
``tests/mpi_scripts/mpi_checks.py`` (each launch costs about a second), which
compares every data-parallel result with a single-process run over the
combined batch computed on every rank; each check below reads its own line of
that run's output. The rest runs in this process or in a plain subprocess.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import retrograd as rg

TESTS = pathlib.Path(__file__).parents[1]
SCRIPT = TESTS / "mpi_scripts" / "mpi_checks.py"
SRC = str(TESTS.parent / "src")


def _mpiexec():
    """The venv's mpiexec (``pip install mpich`` puts it next to python), else one on PATH."""
    for cand in (pathlib.Path(sys.executable).parent / "mpiexec", pathlib.Path(sys.prefix) / "bin" / "mpiexec"):
        if cand.exists():
            return str(cand)
    return shutil.which("mpiexec")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI_", "PMIX", "HYD", "MPI_"))}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def mpi_run(tmp_path_factory):
    exe = _mpiexec()
    if exe is None:
        pytest.skip("mpiexec not found: pip install mpi4py mpich (retrograd[mpi])")
    try:
        import mpi4py  # noqa: F401 - only: is it installed
    except ImportError:
        pytest.skip("mpi4py is not installed: pip install mpi4py mpich (retrograd[mpi])")
    try:
        cmd = [exe, "-n", "2", sys.executable, str(SCRIPT), str(tmp_path_factory.mktemp("mpi"))]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=_env())
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"mpiexec -n 2 {SCRIPT.name} did not finish in 180 s (a hang?):\n{e.stdout}\n{e.stderr}")
    return proc


CHECKS = ["init", "broadcast", "allreduce_matches_combined_batch", "bucket_sizes_identical", "bucket_layout",
          "ddp_fit_sgd", "ddp_fit_adam", "checkpoint_sgd", "checkpoint_adam", "sharding", "unused_parameter",
          "mismatch_error", "stateful_tbptt_sharded_lanes"]


@pytest.mark.parametrize("check", CHECKS)
def test_mpi_two_processes(mpi_run, check):
    lines = mpi_run.stdout.splitlines()
    assert f"OK {check}" in lines, (f"check {check!r} did not pass under mpiexec -n 2 "
                                    f"(exit {mpi_run.returncode}):\n{mpi_run.stdout[-3000:]}\n"
                                    f"{mpi_run.stderr[-3000:]}")


def test_mpi_run_finished_cleanly(mpi_run):
    assert mpi_run.returncode == 0 and "ALL DONE" in mpi_run.stdout, mpi_run.stderr[-3000:]


# ---------------------------------------------------------------- a world of one, without MPI
FALLBACK = r"""
import sys
sys.modules["mpi4py"] = None          # mpi4py cannot be imported
import numpy as np
import retrograd as rg
import retrograd.distributed as dist
g = dist.init()
assert dist.init() is g and dist.world_size() == 1 and dist.rank() == 0 and dist.is_main()
dist.barrier()
rg.set_default_dtype(np.float64)
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(12, 3)), rng.normal(size=(12, 2))
def run(wrap):
    rg.manual_seed(1)
    m = rg.nn.Linear(3, 2)
    model = dist.DistributedDataParallel(m) if wrap else m
    opt = rg.optim.Adam(model.parameters(), lr=0.1)
    opt = dist.DistributedOptimizer(opt) if wrap else opt
    for i in range(3):
        opt.zero_grad()
        rg.mse_loss(model(rg.tensor(X)), rg.tensor(Y)).backward()
        assert dist.allreduce_gradients(model) is True
        opt.step()
    return [p.data.copy() for p in m.parameters()]
assert all((a == b).all() for a, b in zip(run(True), run(False)))
loader = rg.data.DataLoader((X,), batch_size=5, distributed=True)
assert np.array_equal(np.concatenate([b[0].data for b in loader]), X)
print("FALLBACK OK", "mpi4py.MPI" in sys.modules)
"""


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_env(**env))


def test_world_of_one_without_mpi4py():
    for forced in ("", "1"):  # plain process; and one that asks for MPI when mpi4py is missing
        proc = _python(FALLBACK, RETROGRAD_MPI=forced)
        assert proc.returncode == 0 and "FALLBACK OK False" in proc.stdout, proc.stderr[-2000:]


def test_plain_process_never_loads_mpi():
    code = ("import sys, retrograd.distributed as d; d.init(); "
            "print(d.world_size(), 'mpi4py.MPI' in sys.modules)")
    proc = _python(code)
    assert proc.returncode == 0 and proc.stdout.split() == ["1", "False"], proc.stderr[-2000:]


def test_launched_without_mpi4py_is_a_clear_error():
    code = "import sys; sys.modules['mpi4py'] = None\nimport retrograd.distributed as d\nd.init()"
    proc = _python(code, PMI_SIZE="2", PMI_RANK="0")
    assert proc.returncode != 0 and "mpi4py" in proc.stderr and "one of 2" in proc.stderr, proc.stderr[-2000:]


def test_sharding_without_init_under_a_launcher_is_a_clear_error():
    code = "import retrograd as rg\nrg.data.DataLoader(([1.0, 2.0],), 1, distributed=True)"
    proc = _python(code, PMI_SIZE="2", PMI_RANK="1")
    assert proc.returncode != 0 and "rg.distributed.init()" in proc.stderr, proc.stderr[-2000:]


# ---------------------------------------------------------------- sharding, checked by brute force
@pytest.mark.parametrize("n,world,batch", [(10, 2, 3), (10, 4, 1), (7, 3, 2), (12, 3, 4), (1, 2, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_shards_are_disjoint_equal_and_cover(n, world, batch, shuffle):
    x = np.arange(n, dtype=np.float64)
    per_rank = []
    for r in range(world):
        loader = rg.data.DataLoader((x,), batch_size=batch, shuffle=shuffle, distributed=(r, world), seed=9)
        loader.set_epoch(4)
        per_rank.append(np.concatenate([b[0].data for b in loader]))
        assert len(loader) == -(-len(per_rank[-1]) // batch)
    assert len({len(p) for p in per_rank}) == 1, "every rank reads as many items (no deadlock)"
    assert len(per_rank[0]) == -(-n // world)
    everything = np.concatenate(per_rank)
    assert set(everything) == set(x)
    if n % world == 0:
        assert sorted(everything) == list(x), "no item is read twice when the world divides the data"
    # together the ranks' batch b is the single-process batch b of batch × world items over the same order
    single = rg.data.DataLoader((x,), batch_size=batch * world, shuffle=shuffle, distributed=(0, 1), seed=9)
    single.set_epoch(4)
    if n % world == 0:
        for b, big in enumerate(single):
            mine = np.concatenate([p[b * batch:(b + 1) * batch] for p in per_rank])
            assert sorted(mine) == sorted(big[0].data)


def test_dataloader_epochs_and_defaults():
    x = np.arange(20.0)
    loader = rg.data.DataLoader((x,), batch_size=20, shuffle=True, distributed=(0, 1), seed=1)
    first, second = next(iter(loader))[0].data, next(iter(loader))[0].data
    assert not np.array_equal(first, second), "each pass reads the next epoch"
    loader.set_epoch(0)
    assert np.array_equal(next(iter(loader))[0].data, first), "set_epoch replays an epoch"
    # the default (not distributed) loader still draws its order from rg.random
    rg.manual_seed(5)
    plain = next(iter(rg.data.DataLoader((x,), batch_size=20, shuffle=True)))[0].data
    assert np.array_equal(plain, x[np.random.default_rng(5).permutation(20)])
    with pytest.raises(ValueError, match="not a rank"):
        rg.data.DataLoader((x,), distributed=(2, 2))


@pytest.mark.parametrize("world", [1, 2, 4])
def test_stateful_batches_shards_are_the_rows_of_the_full_batches(world):
    rng = np.random.default_rng(3)
    seqs = [rng.integers(0, 9, size=n) for n in (14, 9, 3, 2, 5, 11, 1, 6)]
    full = list(rg.data.stateful_batches(seqs, 4, 3))
    local = 4 // world
    for r in range(world):
        mine = list(rg.data.stateful_batches(seqs, 4, 3, distributed=(r, world)))
        assert len(mine) == len(full)
        rows = slice(r * local, (r + 1) * local)
        for a, f in zip(mine, full):
            for field in ("x", "y", "valid"):
                assert np.array_equal(getattr(a, field), getattr(f, field)[:, rows])
            assert np.array_equal(a.reset, f.reset[rows]) and np.array_equal(a.sequence, f.sequence[rows])
    with pytest.raises(ValueError, match="multiple of the world size"):
        next(rg.data.stateful_batches(seqs, 3, 3, distributed=(0, 2)))


@pytest.mark.parametrize("n,world,batch", [(10, 3, 2), (7, 2, 3), (5, 4, 1), (12, 3, 4)])
def test_dataloader_drop_last_drops_the_tail_as_distributed_sampler(n, world, batch):
    """PyTorch's DistributedSampler(drop_last=True): the tail is dropped to ⌊n / W⌋ items per rank (no item
    read twice), then each rank drops its last incomplete batch: every rank has as many batches."""
    x = np.arange(n, dtype=np.float64)
    per_rank, counts = [], set()
    for r in range(world):
        loader = rg.data.DataLoader((x,), batch_size=batch, shuffle=True, drop_last=True, distributed=(r, world),
                                    seed=3)
        batches = [b[0].data for b in loader]
        counts.add(len(batches))
        assert len(loader) == len(batches) == n // world // batch
        per_rank.append(np.concatenate(batches) if batches else np.zeros(0))
    everything = np.concatenate(per_rank)
    assert len(counts) == 1 and len(set(everything)) == len(everything) == world * (n // world // batch) * batch
