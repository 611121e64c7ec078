"""Faults across ranks; run by tests/distributed/test_distributed_faults.py.

``mpiexec -n W python mpi_faults.py checks``: faults that every rank must
see alike. Each check provokes one (a non-finite loss on the last rank, a
dataset of another length, a rank that runs an extra batch or reduction),
expects the same error on every rank, naming the rank, and goes on: after a
fault detected this way the world is still usable, so one launch runs them
all. Prints ``OK <check>`` on rank 0 for each; the test runs it with a
timeout (a hang fails).

``mpiexec -n W python mpi_faults.py raise``: the last rank raises an uncaught
ValueError in batch 3 of ``fit``; the job must end (MPI_Abort) within seconds.

``mpiexec -n W python mpi_faults.py exit``: rank 0 makes one gradient
reduction more than the others, which leave the program; every rank must end
with an error naming the counts.
"""

import sys
import time

import numpy as np

import retrograd as rg
import retrograd.distributed as dist
from retrograd import nn, optim

rg.set_default_dtype(np.float64)
g = dist.init()
R, W = dist.rank(), dist.world_size()
LAST = W - 1
MODE = sys.argv[1]
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(48, 5)), rng.normal(size=(48, 3))


def ok(name):
    dist.barrier()
    if R == 0:
        print("OK", name, flush=True)


def net(seed=0):
    rg.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))


def expect(kind, fn, *needles):
    """``fn()`` must raise ``kind`` on this rank, with every needle in the message."""
    try:
        fn()
    except kind as e:
        msg = str(e)
        assert all(n in msg for n in needles), (R, msg, needles)
        return msg
    raise AssertionError(f"rank {R}: no {kind.__name__} (expected one naming {needles})")


def poisoned_loss(bad_batch, rank, value=np.nan):
    """mse_loss, but ``value`` on ``rank``'s batch ``bad_batch`` (counted from 1)."""
    seen = [0]

    def loss(out, y):
        seen[0] += 1
        base = rg.mse_loss(out, y)
        return base * value if R == rank and seen[0] == bad_batch else base
    return loss


if MODE == "raise":
    def loss(out, y, seen=[0]):
        seen[0] += 1
        if R == LAST and seen[0] == 3:
            raise ValueError(f"record {seen[0]} is missing")
        return rg.mse_loss(out, y)
    model = dist.DistributedDataParallel(net())
    loader = rg.data.DataLoader((X, Y), batch_size=4, distributed=True)
    rg.train.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), loader, epochs=2, verbose=False)
    print(f"rank {R} finished although rank {LAST} raised", flush=True)
    sys.exit(0)

if MODE == "exit":
    model = dist.DistributedDataParallel(net())
    for step in range(3 if R else 4):  # rank 0 reduces once more; the others leave the program
        model.zero_grad()
        rg.mse_loss(model(rg.tensor(X[:4])), rg.tensor(Y[:4])).backward()
    print(f"rank {R} finished", flush=True)
    sys.exit(0)

assert MODE == "checks", MODE

# --- a non-finite loss on the last rank only, in fit: every rank raises, naming it, and nobody waits.
#     DDP with one bucket (reduced after the backward pass), with small buckets (overlapped with it),
#     and a DistributedOptimizer
for name, bucket, wrap in (("ddp", 10 ** 9, "model"), ("ddp_overlap", 100, "model"), ("optimizer", None, "opt")):
    for value in (np.nan, np.inf):
        m = net()
        model = dist.DistributedDataParallel(m, bucket_bytes=bucket) if wrap == "model" else m
        opt = optim.SGD(model.parameters(), lr=0.1)
        if wrap == "opt":
            opt = dist.DistributedOptimizer(opt)
        loader = rg.data.DataLoader((X, Y), batch_size=4, distributed=True)
        t0 = time.perf_counter()
        expect(FloatingPointError, lambda: rg.train.fit(model, poisoned_loss(3, LAST, value), opt, loader,
                                                        epochs=2, verbose=False),
               f"became {value}", f"rank {LAST} of {W}", "epoch 1")
        assert time.perf_counter() - t0 < 30
    ok(f"nonfinite_loss_{name}")

# --- the world is still consistent after those: a normal fit agrees bitwise across the ranks
model = dist.DistributedDataParallel(net(), bucket_bytes=100)
hist = rg.train.fit(model, rg.mse_loss, optim.SGD(model.parameters(), lr=0.1),
                    rg.data.DataLoader((X, Y), batch_size=4, distributed=True), epochs=1, verbose=False)
t = g.allgather(np.concatenate([p.data.ravel() for p in model.parameters()]))
assert (t == t[0]).all() and np.isfinite(hist["loss"]).all()
ok("usable_after_faults")

# --- a dataset of another length on one rank: refused when the loaders are made, on every rank
rows = 40 if R == 0 else 56
expect(dist.DistributedMismatchError, lambda: rg.data.DataLoader((np.zeros(rows),), 8, distributed=True),
       "rank 0: 40", f"rank {LAST}: 56", "distributed=False")
ok("dataloader_lengths_differ")

# --- equal batch counts by construction, whatever the length (padding, or drop_last dropping the tail)
for n in (40, 41, 47):
    for drop_last in (False, True):
        loader = rg.data.DataLoader((np.arange(n, dtype=np.float64),), 4, shuffle=True, drop_last=drop_last,
                                    distributed=True, seed=1)
        mine = [b[0].data for b in loader]
        counts = g.allgather(np.array([len(mine), sum(len(b) for b in mine)], dtype=np.int64))
        assert (counts == counts[0]).all(), counts
        every = np.concatenate(g.allgather(np.concatenate(mine)))
        if drop_last:  # the tail is dropped: no item twice, ⌊n / W⌋ per rank in whole batches
            assert len(set(every)) == len(every) == W * (n // W // 4 * 4), (n, W, len(every))
        else:  # padded by wrapping around: every item, ⌈n / W⌉ per rank
            assert set(every) == set(range(n)) and len(every) == W * -(-n // W)
ok("equal_batch_counts")

# --- fit over data that gives the ranks different numbers of batches (the user's own iterable)
def batches(k):
    return [(rg.tensor(X[4 * i:4 * i + 4]), rg.tensor(Y[4 * i:4 * i + 4])) for i in range(k)]


for bucket in (10 ** 9, 100):
    model = dist.DistributedDataParallel(net(), bucket_bytes=bucket)
    mine = batches(4 if R == LAST else 3)  # the last rank has one batch more
    reductions = g.reductions
    msg = expect(dist.DistributedMismatchError,
                 lambda: rg.train.fit(model, rg.mse_loss, optim.SGD(model.parameters(), lr=0.1), mine, epochs=1,
                                      verbose=False),
                 f"rank {LAST}: gradient reduction {reductions + 4}", f"rank 0: summing the logged values")
ok("fit_batch_counts_differ")

# --- a user's own loop where rank 0 reduces once more than the others, then everybody sums a value
m = net()
fourth = f"rank 0: gradient reduction {g.reductions + 4}"
for step in range(3 if R else 4):
    m.zero_grad()
    rg.mse_loss(m(rg.tensor(X[:4])), rg.tensor(Y[:4])).backward()
    if step < 3:
        dist.allreduce_gradients(m)
    else:  # rank 0 only: one more
        expect(dist.DistributedMismatchError, lambda: dist.allreduce_gradients(m), fourth,
               "rank 1: summing")
if R:
    expect(dist.DistributedMismatchError, lambda: g.sum_floats([1.0]), fourth,
           "rank 1: summing")
assert g.sum_floats([1.0]) == [float(W)]
ok("extra_reduction_named")

# --- the overlap: with several buckets, buckets start during the backward pass, before the hooks run
from retrograd.distributed import ddp as ddp_module  # noqa: E402

started_early = []
finish = ddp_module._OverlapPass.finish


def spy(self):
    started_early.append(self.next_bucket)
    return finish(self)


ddp_module._OverlapPass.finish = spy
model = dist.DistributedDataParallel(net(), bucket_bytes=64)
assert len(model.reducer.buckets) == 4
model.zero_grad()
rg.mse_loss(model(rg.tensor(X[R::W])), rg.tensor(Y[R::W])).backward()
ddp_module._OverlapPass.finish = finish
assert started_early and started_early[0] >= 1, started_early  # at least the last layer's bucket travelled early
ref = net()
ref.zero_grad()
rg.mse_loss(ref(rg.tensor(X)), rg.tensor(Y)).backward()
# every rank's rows together are X (interleaved): the average of the ranks' mean gradients is the full one
# when the ranks hold as many rows (48 divides by 2 and 3)
for p, q in zip(model.module.parameters(), ref.parameters()):
    assert np.abs(p.grad.data - q.grad.data).max() < 1e-12
ok("overlap_starts_buckets_during_backward")

if R == 0:
    print("ALL DONE", flush=True)
