"""What a graph composed from ops keeps alive, by ``tracemalloc``: no more than
what its derivatives read (the floor PyTorch's saved tensors reach too), plus
the tape's own small objects.

``benchmarks/bench_tape_memory.py`` measures the same against PyTorch; here the
floor is counted by hand, so the test needs no PyTorch.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

import retrograd as rg

T, B, I, H = 100, 16, 32, 128
ROW = B * H * 4  # one (B, H) float32 array


def _traced(forward):
    """(bytes still held after ``forward()`` that it allocated, its result). Only allocations with
    retrograd or this file on their stack count: a thread another test left running (a server, a
    loader) allocates meanwhile in the same process, and must not count."""
    gc.collect()
    tracemalloc.start(64)
    try:
        kept = forward()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    ours = snapshot.filter_traces([tracemalloc.Filter(True, "*retrograd*", all_frames=True),
                                   tracemalloc.Filter(True, __file__, all_frames=True)])
    return sum(stat.size for stat in ours.statistics("filename")), kept


def _weights(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rg.tensor((rng.standard_normal(s) * 0.1).astype(np.float32), requires_grad=True) for s in shapes]


def test_a_leaky_tanh_rnn_keeps_two_arrays_a_step():
    """h = ½h + ½·tanh(x W + h U + b): the backward reads h (for Ū = hᵀδ) and tanh's output, nothing else."""
    W, U, b = _weights((I, H), (H, H), (H,))
    x = rg.tensor(np.random.default_rng(1).standard_normal((T, B, I)).astype(np.float32))

    def forward():
        h = rg.tensor(np.zeros((B, H), np.float32))
        for t in range(T):
            h = 0.5 * h + 0.5 * rg.tanh(x[t] @ W + h @ U + b)
        return (h * h).mean()

    nbytes, loss = _traced(forward)
    floor = 2 * T * ROW
    assert nbytes <= 1.15 * floor, f"{nbytes / 2**20:.2f} MiB kept, floor {floor / 2**20:.2f} MiB"
    loss.backward()
    assert W.grad is not None and U.grad is not None


def test_an_lstm_cell_written_with_ops_keeps_seven_arrays_a_step():
    """i, f, g, o, c (for f̄), tanh c and h (for Ū): seven (B, H) arrays a step, as PyTorch."""
    W, U, b = _weights((I, 4 * H), (H, 4 * H), (4 * H,))
    x = rg.tensor(np.random.default_rng(1).standard_normal((T, B, I)).astype(np.float32))

    def forward():
        h = c = rg.tensor(np.zeros((B, H), np.float32))
        for t in range(T):
            i, f, g, o = (x[t] @ W + h @ U + b).chunk(4, dim=1)
            c = rg.sigmoid(f) * c + rg.sigmoid(i) * rg.tanh(g)
            h = rg.sigmoid(o) * rg.tanh(c)
        return (h * h).mean()

    nbytes, loss = _traced(forward)
    floor = 7 * T * ROW
    assert nbytes <= 1.15 * floor, f"{nbytes / 2**20:.2f} MiB kept, floor {floor / 2**20:.2f} MiB"
