"""Faults across the ranks of a data-parallel run end every rank, loudly, never hang.

Each launch of ``tests/mpi_scripts/mpi_faults.py`` runs under ``mpiexec -n 2``
and ``-n 3`` (three ranks catch pairwise assumptions) with a timeout: a hang
fails the test instead of stalling the suite. The mpiexec process group is
killed on timeout, so no rank is left spinning.
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from test_distributed import _env, _mpiexec

SCRIPT = pathlib.Path(__file__).parents[1] / "mpi_scripts" / "mpi_faults.py"


def _launch(n, mode, timeout):
    """(returncode, stdout, stderr, seconds) of ``mpiexec -n n python mpi_faults.py mode``; fails on timeout."""
    exe = _mpiexec()
    if exe is None:
        pytest.skip("mpiexec not found: pip install mpi4py mpich (retrograd[mpi])")
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install mpi4py mpich (retrograd[mpi])")
    t0 = time.perf_counter()
    proc = subprocess.Popen([exe, "-n", str(n), sys.executable, str(SCRIPT), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and every rank it started
        out, err = proc.communicate()
        pytest.fail(f"mpiexec -n {n} {SCRIPT.name} {mode} hung (killed after {timeout} s):\n{out[-3000:]}\n"
                    f"{err[-3000:]}")
    return proc.returncode, out, err, time.perf_counter() - t0


CHECKS = ["nonfinite_loss_ddp", "nonfinite_loss_ddp_overlap", "nonfinite_loss_optimizer", "usable_after_faults",
          "dataloader_lengths_differ", "equal_batch_counts", "fit_batch_counts_differ", "extra_reduction_named",
          "overlap_starts_buckets_during_backward"]


@pytest.fixture(scope="module", params=[2, 3])
def checks_run(request):
    return request.param, _launch(request.param, "checks", timeout=120)


def test_faults_seen_alike_by_every_rank(checks_run):
    """A non-finite loss on one rank, a dataset of another length, a rank with an extra batch or
    reduction: every rank raises the same error naming the rank, and the run goes on usable."""
    n, (rc, out, err, _) = checks_run
    missing = [c for c in CHECKS if f"OK {c}" not in out.splitlines()]
    assert not missing and rc == 0 and "ALL DONE" in out, (f"-n {n}: checks {missing} did not pass (exit {rc}):\n"
                                                           f"{out[-3000:]}\n{err[-4000:]}")


@pytest.mark.parametrize("n", [2, 3])
def test_uncaught_exception_on_one_rank_ends_every_rank(n):
    rc, out, err, seconds = _launch(n, "raise", timeout=60)
    assert rc != 0 and "finished although" not in out, (rc, out[-2000:], err[-2000:])
    assert "ValueError: record 3 is missing" in err and f"rank {n - 1} of {n} stopped on the uncaught ValueError" \
        in err, err[-3000:]
    assert seconds < 30, f"the job took {seconds:.1f} s to end"


def test_rank_leaving_while_another_reduces_is_named():
    rc, out, err, _ = _launch(2, "exit", timeout=60)
    assert rc != 0, (out[-2000:], err[-2000:])
    # whichever rank reports first (the others are aborted with it) names both ranks' steps
    assert "the ranks are at different steps" in err and "rank 0: gradient reduction 4" in err \
        and "rank 1: exiting" in err, err[-3000:]
