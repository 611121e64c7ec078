"""Run by tests/distributed/test_distributed.py as ``mpiexec -n 2 python mpi_checks.py``.

Every rank also computes the single-process reference itself (all the data
is on every rank), so each check compares the data-parallel result with an
independent run over the combined batch. Prints ``OK <check>`` on rank 0 for
each check that passed; any failure raises (and mpiexec exits non-zero).
"""

import os
import sys

import numpy as np

import retrograd as rg
import retrograd.distributed as dist
from retrograd import bptt, nn, optim

rg.set_default_dtype(np.float64)
g = dist.init()
assert dist.init() is g, "init() is idempotent"
R, W = dist.rank(), dist.world_size()
assert W == 2 and R in (0, 1) and dist.is_main() == (R == 0)
dist.barrier()


def ok(name):
    dist.barrier()
    if R == 0:
        print("OK", name, flush=True)


def gathered(arrays):
    """(W, n) table of every rank's flattened arrays (checks bitwise agreement)."""
    flat = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    return g.allgather(flat)


def net(seed):
    rg.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))


rng = np.random.default_rng(42)
X, Y = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))
ok("init")

# --- broadcast_parameters: ranks built from different seeds end with rank 0's weights
m = net(100 + R)
dist.broadcast_parameters(m)
ref = net(100)
t = gathered([p.data for p in m.parameters()])
assert (t[0] == t[1]).all() and all((p.data == q.data).all() for p, q in zip(m.parameters(), ref.parameters()))
ok("broadcast")

# --- allreduce_gradients: the average of the halves' gradients is the combined batch's gradient
half = slice(R * 8, R * 8 + 8)
results = []
for bucket in (1, 200, 10 ** 9):  # a bucket per parameter … everything in one
    m.zero_grad()
    rg.mse_loss(m(rg.tensor(X[half])), rg.tensor(Y[half])).backward()
    dist.allreduce_gradients(m, bucket_bytes=bucket)
    results.append([p.grad.data.copy() for p in m.parameters()])
ref.zero_grad()
rg.mse_loss(ref(rg.tensor(X)), rg.tensor(Y)).backward()
for a, b in zip(results[0], [p.grad.data for p in ref.parameters()]):
    assert np.abs(a - b).max() < 1e-12, np.abs(a - b).max()
t = gathered(results[0])
assert (t[0] == t[1]).all()
ok("allreduce_matches_combined_batch")
assert all((a == b).all() for r in results[1:] for a, b in zip(results[0], r))
ok("bucket_sizes_identical")
red = dist.GradientReducer(list(m.parameters()), bucket_bytes=1)
assert len(red.buckets) == 4 and dist.GradientReducer(list(m.parameters())).buckets.__len__() == 1
ok("bucket_layout")

# --- DDP + distributed DataLoader + fit, SGD with momentum and Adam, against one process with the big batch
for name, make in (("sgd", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)),
                   ("adam", lambda ps: optim.Adam(ps, lr=0.01))):
    model = dist.DistributedDataParallel(net(7 + R), bucket_bytes=100)  # rank 0's init everywhere
    loader = rg.data.DataLoader((X, Y), batch_size=4, shuffle=True, distributed=True, seed=3)
    assert len(loader) == 2
    ckpt = os.path.join(sys.argv[1], f"{name}_{{epoch}}.safetensors") if len(sys.argv) > 1 else None
    callbacks = [rg.train.ModelCheckpoint(ckpt)] if ckpt else []
    opt = make(model.parameters())
    hist = rg.train.fit(model, rg.mse_loss, opt, loader, epochs=3, verbose=False, callbacks=callbacks)
    single = net(7)
    big = rg.data.DataLoader((X, Y), batch_size=8, shuffle=True, distributed=(0, 1), seed=3)
    href = rg.train.fit(single, rg.mse_loss, make(single.parameters()), big, epochs=3, verbose=False)
    t = gathered([p.data for p in model.parameters()])
    assert (t[0] == t[1]).all(), f"{name}: ranks differ"
    for p, q in zip(model.module.parameters(), single.parameters()):
        assert np.abs(p.data - q.data).max() < 1e-12, (name, np.abs(p.data - q.data).max())
    assert np.allclose(hist["loss"], href["loss"], rtol=0, atol=1e-12), (hist["loss"], href["loss"])
    ok(f"ddp_fit_{name}")
    if ckpt:  # rank 0 wrote it; it loads into the plain model (and optimizer) of a single process
        written = sorted(f for f in os.listdir(sys.argv[1]) if f.startswith(name))
        assert written == [f"{name}_{e}.safetensors" for e in (1, 2, 3)], written
        fresh = net(99)
        rg.load(ckpt.format(epoch=3), fresh, make(fresh.parameters()))
        assert all((p.data == q.data).all() for p, q in zip(fresh.parameters(), model.module.parameters()))
        ok(f"checkpoint_{name}")

# --- the two ranks' shards of an epoch are disjoint and cover it
loader = rg.data.DataLoader((np.arange(10.0),), batch_size=3, shuffle=True, distributed=True, seed=5)
mine = np.concatenate([b[0].data for b in loader])
t = g.allgather(mine)
assert len(loader) == 2 and sorted(np.concatenate(t)) == list(range(10)) and len(set(t[0]) & set(t[1])) == 0
ok("sharding")

# --- a parameter used on one rank only: zeros on the other, no deadlock, averaged gradient set on both
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 3), nn.Linear(5, 3)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


rg.manual_seed(0)
heads = dist.DistributedDataParallel(TwoHeads())
rg.mse_loss(heads(rg.tensor(X[half]), use_b=(R == 0)), rg.tensor(Y[half])).backward()
local = TwoHeads()
local.load_state_dict(heads.module.state_dict())
rg.mse_loss(local(rg.tensor(X[:8]), use_b=True), rg.tensor(Y[:8])).backward()
assert np.abs(heads.module.b.weight.grad.data - local.b.weight.grad.data / 2).max() < 1e-12
t = gathered([p.grad.data for p in heads.parameters()])
assert (t[0] == t[1]).all()
ok("unused_parameter")

# --- a rank whose model differs fails with a message naming it, on every rank
odd = nn.Linear(5, 3 + R)
odd.weight.grad = rg.zeros(*odd.weight.shape)
try:
    dist.allreduce_gradients(odd)
except dist.DistributedMismatchError as e:
    msg = str(e)
    assert "rank 1" in msg and "(4, 5)" in msg and "(3, 5)" in msg, msg
else:
    raise AssertionError("no error for different parameter shapes")
ok("mismatch_error")


# --- stateful TBPTT, lanes sharded over the ranks, against one process over all lanes
class LM(nn.Module):
    sequence_model = True

    def __init__(self):
        super().__init__()
        self.embed, self.lstm, self.out = nn.Embedding(6, 4), nn.LSTM(4, 5), nn.Linear(5, 6)

    def forward(self, x, state, mask=None):
        h, state = self.lstm(self.embed(x), state) if mask is None else self.lstm(self.embed(x), state, mask=mask)
        return self.out(h), state


def stateful(seqs, lanes, distributed, reduction, average, opt_name):
    rg.manual_seed(11)
    model = LM()
    params = list(model.parameters())
    opt = optim.Adam(params, lr=0.01) if opt_name == "adam" else optim.SGD(params, lr=0.1, momentum=0.5)
    if distributed:
        opt = dist.DistributedOptimizer(opt, average=average, bucket_bytes=256)
    batches = list(rg.data.stateful_batches(seqs, lanes, 4, distributed=distributed))
    loss = lambda o, y: rg.cross_entropy(o, y, reduction=reduction)  # noqa: E731
    res = bptt.train_stateful(model, batches, loss, opt, bptt.chunk(2))
    return model, res, len(batches)


even = [rng.integers(0, 6, size=12) for _ in range(4)]                # 4 lanes, no padding: mean loss
ragged = [rng.integers(0, 6, size=n) for n in (14, 9, 3, 2, 5)]    # padding; rank 1 idles at the end: sum
for seqs, reduction, average, opt_name in ((even, "mean", True, "adam"), (ragged, "sum", False, "sgd"),
                                           (ragged, "sum", False, "adam")):
    m_d, res_d, nb_d = stateful(seqs, 4, True, reduction, average, opt_name)
    m_1, res_1, nb_1 = stateful(seqs, 4, False, reduction, False, opt_name)
    assert nb_d == nb_1
    t = gathered([p.data for p in m_d.parameters()])
    assert (t[0] == t[1]).all()
    for p, q in zip(m_d.parameters(), m_1.parameters()):
        assert np.abs(p.data - q.data).max() < 1e-12, np.abs(p.data - q.data).max()
ok("stateful_tbptt_sharded_lanes")

if R == 0:
    print("ALL DONE", flush=True)
sys.exit(0)
