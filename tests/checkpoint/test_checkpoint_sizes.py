"""A checkpoint whose size disagrees with its header is refused from the
header and the file size alone (as safetensors does), and a good one is read
without a second copy of its tensors: peak allocations measured with tracemalloc."""

import os
import tracemalloc

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn

MiB = 2 ** 20


def _peak(fn):
    """(fn's result or exception, the peak of Python and NumPy allocations while it ran)."""
    tracemalloc.start()
    try:
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - returned to the test, which checks it
            result = e
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A checkpoint holding 16 MiB of float32 weights, and its size."""
    rg.manual_seed(0)
    model = nn.Linear(1024, 4096)
    path = tmp_path_factory.mktemp("big") / "big.safetensors"
    rg.save(path, model, rng=False)
    return path, os.path.getsize(path), model


def test_a_checkpoint_padded_with_512_mib_is_refused_from_its_header(tmp_path):
    rg.manual_seed(0)
    path = tmp_path / "padded.safetensors"
    rg.save(path, nn.Linear(3, 2))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size + 512 * MiB)  # sparse: no disk, reads back as zeros
    error, peak = _peak(lambda: rg.load(path, nn.Linear(3, 2)))
    assert isinstance(error, rg.CheckpointError), error
    assert "truncated or corrupt" in str(error) and f"({size + 512 * MiB} bytes in all)" in str(error), error
    assert peak < 1 * MiB, f"refusing the padded file allocated {peak / MiB:.1f} MiB"


def test_a_checkpoint_shorter_than_its_tensors_is_refused_before_reading_them(tmp_path, big):
    path, size, _ = big
    short = tmp_path / "short.safetensors"
    with open(path, "rb") as src, open(short, "wb") as dst:
        dst.write(src.read(size - 8))  # the last two floats missing
    error, peak = _peak(lambda: rg.checkpoint.read(short))
    assert isinstance(error, rg.CheckpointError) and "truncated" in str(error), error
    assert peak < 1 * MiB, f"refusing the short file allocated {peak / MiB:.1f} MiB"


def test_the_tensors_are_read_without_a_second_copy(big):
    path, size, model = big
    (arrays, _), peak = _peak(lambda: rg.checkpoint.read(path))
    data = sum(a.nbytes for a in arrays.values())
    assert data >= 16 * MiB
    assert peak < data + 2 * MiB, f"reading {data / MiB:.1f} MiB of tensors peaked at {peak / MiB:.1f} MiB"
    np.testing.assert_array_equal(arrays["model.weight"], model.weight.data)
    assert arrays["model.weight"].flags.writeable and arrays["model.weight"].flags.c_contiguous
