"""The demos run and do what their seed page asks."""

import subprocess
import sys

import numpy as np

from retrograd import demos


def test_xor_demo_learns_and_prints_what_the_seed_prints(tmp_path, capsys):
    result = demos.run("xor", out_dir=str(tmp_path))
    out = capsys.readouterr().out
    for label in ("m1", "b1", "m2", "b2", "y_out", "loss"):
        assert f"\n{label}\n" in out
    assert "loss.backward()" in out and "matmul" in out  # the explained backward pass
    assert result["learned"]
    assert result["loss"] < 0.05
    assert result["losses"][-1] < result["losses"][0] / 10
    np.testing.assert_array_equal(result["y_out"].round().ravel(), [0, 0, 1, 1])
    assert (tmp_path / "xor_loss.png").stat().st_size > 1000


def test_cli_lists_and_runs_demos(tmp_path):
    listing = subprocess.run([sys.executable, "-m", "retrograd.cli", "demo", "--list"],
                             capture_output=True, text=True, check=True)
    assert "xor" in listing.stdout
    run = subprocess.run([sys.executable, "-m", "retrograd.cli", "demo", "xor", "--out", str(tmp_path)],
                         capture_output=True, text=True, check=True)
    assert "learned XOR" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "retrograd.cli", "demo", "nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown demo" in bad.stderr
