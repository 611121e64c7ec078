"""benchmarks/gpu_check_speed.py (the prepared GPU check) runs end to end on the CPU:
``--stand-in --tiny`` drives every workload and check through tests/array_shim, without
PyTorch's CUDA columns, and prints every row of the target table."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_runs_on_the_stand_in_and_prints_every_row():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check_speed.py"), "--stand-in", "--tiny",
                        "--reps", "2", "--warmup", "1"], capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    table = r.stdout[r.stdout.index("| workload |"):]
    for row in ("LSTM full", "GRU full", "LSTM chunk", "GRU chunk", "LSTM packed", "GRU packed", "MLP", "CNN"):
        assert f"| {row} | " in table, row
    assert r.stdout.count(": PASS (max relative difference") == 3
    assert "every check ran" in r.stdout
