"""retrograd on the GPU beside PyTorch CUDA: every row of the "On the GPU" target table, in one run.

    PYTHONPATH=src python benchmarks/gpu_check_speed.py              # a GPU, CuPy and PyTorch (CUDA)
    PYTHONPATH=src python benchmarks/gpu_check_speed.py --stand-in   # no GPU: tests/array_shim, no torch column
    ... --tiny                                                       # small sizes (the CI test runs this)

float32 throughout. Rows (median ms of a training step after warm-up, the device synchronised around
each step): LSTM and GRU, B 64, T 100, I 128, H 512 + Linear(H, 32), MSE, SGD, gradient clipping: full
BPTT, ``rg.bptt.chunk(25)`` (PyTorch: the detach idiom, four updates of 25 steps; no clipping on either
side) and a packed batch (lengths drawn in [T/4, T]); MLP 784-512-512-10, batch 256, Adam,
cross-entropy; the CNN of ``retrograd demo cnn`` at batch 256, Adam. For each: retrograd / PyTorch time
(target ≤ 2.0, the MLP ≤ 1.5), peak device memory of a step (retrograd: the most bytes in use in CuPy's
pool, from an allocator that records it; PyTorch: ``torch.cuda.max_memory_allocated``; target ≤ 1.2×),
and the device→host synchronisations inside one step (CuPy: the first one found by
``cupyx.allow_synchronize(False)``, where this CuPy has it; PyTorch: ``torch.cuda.set_sync_debug_mode``
warnings; stand-in: every explicit read counted by tests/array_shim; target 0).

First (section "same numbers"), the GPU-only code paths against NumPy in float64: the fused recurrent
ops through the per-step kernels (``recurrent/cuda_kernels.py``), the fused optimizer updates
(``optim/foreach.py``) and the one-kernel softmax cross-entropy (``ops/cuda_softmax_ce.py``); on the
stand-in their NumPy twins. PyTorch runs with TF32 off (CuPy's float32 GEMMs are full float32) unless
``--tf32`` (then ``CUPY_TF32=1`` too). Each workload is guarded (an error is a row, the run goes on) and
the run stops starting new workloads after ``--budget`` seconds. Exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import platform
import signal
import statistics
import sys
import time
import traceback
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "src"))

T0 = time.perf_counter()
FAILED = []


def say(*a):
    print(f"[{time.perf_counter() - T0:6.1f}s]", *a, flush=True)


class Timeout(Exception):
    pass


def guarded(what, fn, limit):
    def alarm(signum, frame):
        raise Timeout(f"over {limit} s")
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(limit)
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - every failure is a row
        print(traceback.format_exc(limit=-8), flush=True)
        FAILED.append(what)
        say(f"{what}: ERROR {type(exc).__name__}: {str(exc)[:300]}")
        return None
    finally:
        signal.alarm(0)


# ---------------------------------------------------------------- the device
class Device:
    def __init__(self, stand_in):
        import retrograd as rg
        self.rg, self.stand_in = rg, stand_in
        if stand_in:
            sys.path.insert(0, str(ROOT / "tests"))
            import array_shim
            self.shim, self.module, self.name = array_shim, array_shim.shim, "tests/array_shim (NumPy stand-in)"
            self.sync = lambda: None
            return
        import cupy
        self.module = cupy
        props = cupy.cuda.runtime.getDeviceProperties(0)
        self.name = (f"{props['name'].decode()}; cupy {cupy.__version__}, CUDA runtime "
                     f"{cupy.cuda.runtime.runtimeGetVersion()}")
        self.sync = lambda: cupy.cuda.Device().synchronize()

    def use(self):
        self.rg.autograd.backend.set_backend(self.module if self.stand_in else "cupy")

    def peak_bytes(self, step):
        """Peak bytes in use during one step (CuPy's pool through a recording allocator)."""
        if self.stand_in:
            import tracemalloc
            tracemalloc.start()
            step()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return peak, "host tracemalloc"
        cupy = self.module
        pool, peak = cupy.get_default_memory_pool(), [0]
        self.sync()
        peak[0] = pool.used_bytes()

        def alloc(size):
            mem = pool.malloc(size)
            peak[0] = max(peak[0], pool.used_bytes())
            return mem
        cupy.cuda.set_allocator(alloc)
        try:
            step()
            self.sync()
        finally:
            cupy.cuda.set_allocator(pool.malloc)
        return peak[0], "pool"

    def syncs(self, step):
        """Device→host synchronisations inside one step: a count, or where the first one is."""
        if self.stand_in:
            counter = getattr(self.shim, "count_host_reads", None)
            if counter is None:
                return "not counted (this array_shim has no count_host_reads)"
            with counter() as reads:
                step()
            return str(reads.n) + ("" if not reads.n else f" (first: {reads.sites[0]})")
        import cupyx
        forbid = getattr(cupyx, "allow_synchronize", None)
        if forbid is None:
            return "not checked (this CuPy has no cupyx.allow_synchronize; run --stand-in for the count)"
        try:
            with forbid(False):
                step()
        except Exception as exc:  # noqa: BLE001 - cupyx.DeviceSynchronized
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/retrograd/" in f.filename]
            where = f"{frames[-1].filename.split('/src/')[-1]}:{frames[-1].lineno}" if frames else "?"
            return f">= 1 (first at {where}: {type(exc).__name__})"
        return "0"


def time_steps(step, sync, warmup, reps):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ---------------------------------------------------------------- the workloads
class Sizes:
    def __init__(self, tiny):
        self.B, self.T, self.I, self.H, self.O, self.k = (4, 8, 6, 8, 3, 2) if tiny else (64, 100, 128, 512, 32, 25)
        self.mlp = (32, 16, 16, 10) if tiny else (784, 512, 512, 10)
        self.mlp_batch, self.cnn_batch = (8, 8) if tiny else (256, 256)


def data(s, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.sort(rng.integers(max(1, s.T // 4), s.T + 1, size=s.B))[::-1].copy()
    lengths[0] = s.T
    return dict(x=rng.standard_normal((s.T, s.B, s.I)).astype(np.float32),
                y=rng.standard_normal((s.T, s.B, s.O)).astype(np.float32),
                lengths=lengths, y_packed=rng.standard_normal((int(lengths.sum()), s.O)).astype(np.float32),
                mx=rng.standard_normal((s.mlp_batch, s.mlp[0])).astype(np.float32),
                my=rng.integers(0, s.mlp[-1], s.mlp_batch).astype(np.int64),
                cx=rng.standard_normal((s.cnn_batch, 1, 8, 8)).astype(np.float32),
                cy=rng.integers(0, 10, s.cnn_batch).astype(np.int64))


def rg_workload(name, s, d):
    """A retrograd training step (the backend already chosen)."""
    import retrograd as rg
    from retrograd import nn, optim
    from retrograd.nn.utils import rnn as rnn_utils
    clip = nn.utils.clip_grad_norm_
    rg.manual_seed(0)
    if name in ("MLP", "CNN"):
        if name == "MLP":
            i, h1, h2, o = s.mlp
            model = nn.Sequential(nn.Linear(i, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, o))
            x, y = rg.tensor(d["mx"]), rg.tensor(d["my"])
        else:
            from retrograd.demos.cnn import make_model
            model = make_model()
            x, y = rg.tensor(d["cx"]), rg.tensor(d["cy"])
        model = model.float()
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad()
            rg.cross_entropy(model(x), y).backward()
            clip(model.parameters(), 5.0)
            opt.step()
        return step
    kind, mode = name.split()

    class Seq(nn.Module):
        sequence_model = True

        def __init__(self):
            super().__init__()
            self.rnn, self.out = getattr(nn, kind)(s.I, s.H), nn.Linear(s.H, s.O)

        def forward(self, x, state=None):
            h, state = self.rnn(x, state)
            return self.out(h), state
    model = Seq().float()
    opt = optim.SGD(model.parameters(), lr=0.05)
    x, y = rg.tensor(d["x"]), rg.tensor(d["y"])
    if mode == "chunk":
        xs, ys = x.data, y.data

        def step():
            rg.bptt.train(model, xs, ys, rg.mse_loss, opt, rg.bptt.chunk(s.k))
        return step
    if mode == "packed":
        yp = rg.tensor(d["y_packed"])

        def forward():
            out, _ = model.rnn(rnn_utils.pack_padded_sequence(x, d["lengths"]))
            return rg.mse_loss(model.out(out.data), yp)
    else:
        def forward():
            return rg.mse_loss(model(x)[0], y)

    def step():
        opt.zero_grad()
        forward().backward()
        clip(model.parameters(), 5.0)
        opt.step()
    return step


def torch_workload(torch, name, s, d):
    """The same step in PyTorch on CUDA."""
    tn, dev = torch.nn, "cuda"
    torch.manual_seed(0)
    clip = tn.utils.clip_grad_norm_
    t = lambda a: torch.from_numpy(a).to(dev)  # noqa: E731
    if name in ("MLP", "CNN"):
        if name == "MLP":
            i, h1, h2, o = s.mlp
            model = tn.Sequential(tn.Linear(i, h1), tn.ReLU(), tn.Linear(h1, h2), tn.ReLU(), tn.Linear(h2, o))
            x, y = t(d["mx"]), t(d["my"])
        else:
            model = tn.Sequential(tn.Conv2d(1, 16, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                                  tn.Conv2d(16, 32, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                                  tn.Flatten(), tn.Linear(128, 10))
            x, y = t(d["cx"]), t(d["cy"])
        model = model.to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            tn.functional.cross_entropy(model(x), y).backward()
            clip(model.parameters(), 5.0)
            opt.step()
        return step
    kind, mode = name.split()
    rnn, lin = getattr(tn, kind)(s.I, s.H).to(dev), tn.Linear(s.H, s.O).to(dev)
    params = list(rnn.parameters()) + list(lin.parameters())
    opt = torch.optim.SGD(params, lr=0.05)
    x, y = t(d["x"]), t(d["y"])
    if mode == "chunk":
        def step():  # the detach idiom: the state's value carried, its gradient cut
            state = None
            for c in range(0, s.T, s.k):
                opt.zero_grad(set_to_none=True)
                out, state = rnn(x[c:c + s.k], state)
                (tn.functional.mse_loss(lin(out), y[c:c + s.k]) * s.k).backward()
                opt.step()
                state = tuple(v.detach() for v in state) if isinstance(state, tuple) else state.detach()
        return step
    if mode == "packed":
        yp, lengths = t(d["y_packed"]), torch.from_numpy(d["lengths"])

        def forward():
            out, _ = rnn(tn.utils.rnn.pack_padded_sequence(x, lengths))
            return tn.functional.mse_loss(lin(out.data), yp)
    else:
        def forward():
            return tn.functional.mse_loss(lin(rnn(x)[0]), y)

    def step():
        opt.zero_grad(set_to_none=True)
        forward().backward()
        clip(params, 5.0)
        opt.step()
    return step


WORKLOADS = [("LSTM full", 2.0), ("GRU full", 2.0), ("LSTM chunk", 2.0), ("GRU chunk", 2.0),
             ("LSTM packed", 2.0), ("GRU packed", 2.0), ("MLP", 1.5), ("CNN", 2.0)]


def torch_syncs(torch, step):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
            torch.cuda.synchronize()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return str(sum("synchroniz" in str(w.message).lower() for w in caught))


# ---------------------------------------------------------------- section: the GPU code paths give NumPy's numbers
def same_numbers(dev):
    """Fused recurrent ops (per-step kernels), fused optimizers and the softmax-CE kernel, float64, vs NumPy."""
    import retrograd as rg
    from retrograd import optim
    from retrograd.autograd import backend
    from retrograd.ops import cuda_softmax_ce as ce
    from retrograd.recurrent import cuda_kernels, fused
    from retrograd.recurrent.packing import Steps
    rng = np.random.default_rng(1)
    steps, H, I, B = Steps([4, 4, 3, 1, 1], 5), 6, 3, 5
    cases = []
    for kind, k in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
        for act in ("tanh", "relu"):
            arrays = [rng.standard_normal((steps.total, I)), rng.standard_normal((B, H)) * .5] + \
                ([rng.standard_normal((B, H)) * .5] if kind == "LSTM" else []) + \
                [rng.standard_normal(sh) * .4 for sh in [(k * H, I), (k * H, H), (k * H,), (k * H,)]]
            mask = (rng.random((B, H)) > .3) / .7
            cases.append((kind, act, arrays, mask))

    def run(kind, act, arrays, mask, to):
        leaves = [rg.tensor(to(a), requires_grad=True) for a in arrays]
        op = {"LSTM": fused.LSTMLayer, "GRU": fused.GRULayer, "RNN": fused.RNNLayer}[kind](steps, act, to(mask))
        outs = op(*leaves)
        loss = sum((o * o).sum() for o in outs)
        return [backend.to_numpy(v.data) for v in list(outs) + list(rg.grad(loss, leaves))]

    def optim_run(cls, kw, to, flag):
        ps = [rg.tensor(to(np.random.default_rng(i).standard_normal(sh)), requires_grad=True)
              for i, sh in enumerate([(3, 4), (5,), (2, 2, 2)])]
        opt = cls(ps, **kw, foreach=flag)
        for t in range(3):
            for i, p in enumerate(ps):
                p.grad = rg.tensor(to(np.random.default_rng(10 * t + i).standard_normal(p.shape)))
            opt.step()
        return [backend.to_numpy(p.data) for p in ps]

    host = lambda a: a  # noqa: E731
    refs = [run(*c, host) for c in cases]
    opt_cases = [(optim.Adam, dict(lr=.01, weight_decay=.1, amsgrad=True)), (optim.AdamW, dict(lr=.01)),
                 (optim.SGD, dict(lr=.05, momentum=.9, nesterov=True)), (optim.SGD, dict(lr=.1))]
    opt_refs = [optim_run(c, kw, host, False) for c, kw in opt_cases]
    z = rng.standard_normal((9, 7)) * 3
    y = rng.integers(0, 7, 9)
    y[2] = -100
    ce_ref = ce.twin_rows(z, y)
    dev.use()
    try:
        to = lambda a: backend.xp.asarray(a)  # noqa: E731
        twins = cuda_kernels.use_twins() if dev.stand_in else contextlib.nullcontext()
        worst = 0.0
        with twins:
            for c, r in zip(cases, refs):
                for g, w in zip(run(*c, to), r):
                    worst = max(worst, float(np.max(np.abs(g - w) / (1e-12 + np.abs(w)))))
        report("same numbers: fused recurrent ops (per-step kernels) vs NumPy", worst, 1e-10)
        worst = max(float(np.max(np.abs(g - w) / (1e-12 + np.abs(w))))
                    for (c, kw), r in zip(opt_cases, opt_refs) for g, w in zip(optim_run(c, kw, to, True), r))
        report("same numbers: fused Adam/AdamW/SGD (one launch per group) vs per-parameter NumPy", worst, 1e-12)
        got = [backend.to_numpy(a) for a in ce.rows(to(z), to(y))]
        worst = max(float(np.max(np.abs(g - w) / (1e-12 + np.abs(w)))) for g, w in zip(got, ce_ref))
        report("same numbers: softmax cross-entropy kernel vs its NumPy twin", worst, 1e-12)
    finally:
        backend.set_backend("numpy")


def report(what, worst, tol):
    ok = worst <= tol
    if not ok:
        FAILED.append(what)
    say(f"{what}: {'PASS' if ok else 'FAIL'} (max relative difference {worst:.1e}, tolerance {tol:.0e})")


# ---------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stand-in", action="store_true", help="no GPU: tests/array_shim instead of CuPy, no torch")
    ap.add_argument("--tiny", action="store_true", help="small sizes (a quick run that proves the script works)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--budget", type=float, default=270, help="seconds after which no new workload starts")
    ap.add_argument("--only", default="", help="comma-separated workload names (default: all)")
    ap.add_argument("--tf32", action="store_true", help="TF32 on for both (CUPY_TF32=1, PyTorch's defaults)")
    args = ap.parse_args(argv)
    if args.tf32:
        os.environ["CUPY_TF32"] = "1"
    s = Sizes(args.tiny)
    print(f"python {platform.python_version()}, numpy {np.__version__}; B{s.B} T{s.T} I{s.I} H{s.H} O{s.O}, "
          f"chunk({s.k}); MLP {'-'.join(map(str, s.mlp))} batch {s.mlp_batch}; CNN batch {s.cnn_batch}; float32")
    try:
        dev = Device(args.stand_in)
    except Exception as exc:  # noqa: BLE001
        print(f"no device backend ({type(exc).__name__}: {exc}); run with --stand-in to check the script on the CPU")
        return 2
    print(f"device: {dev.name}", flush=True)
    torch = None
    if not args.stand_in:
        try:
            import torch
            if not torch.cuda.is_available():
                print("torch: no CUDA device: the PyTorch columns are empty")
                torch = None
            else:
                torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = args.tf32
                print(f"torch {torch.__version__}, cuda {torch.version.cuda}, cudnn {torch.backends.cudnn.version()}, "
                      f"TF32 {'on' if args.tf32 else 'off'}")
        except ImportError:
            print("torch: not installed: the PyTorch columns are empty")
    guarded("same numbers", lambda: same_numbers(dev), 120)

    d, rows = data(s), []
    only = set(filter(None, args.only.split(",")))
    for name, target in WORKLOADS:
        if only and name not in only:
            continue
        if time.perf_counter() - T0 > args.budget:
            rows.append((name, target, None, None, None, None, "skipped: over --budget", ""))
            continue

        def measure(name=name, target=target):
            dev.use()
            try:
                step = rg_workload(name, s, d)
                ms = time_steps(step, dev.sync, args.warmup, args.reps) * 1e3
                mem, how = dev.peak_bytes(step)
                syncs = dev.syncs(step)
            finally:
                dev.rg.autograd.backend.set_backend("numpy")
            tms = tmem = tsyncs = None
            if torch is not None:
                tstep = torch_workload(torch, name, s, d)
                tms = time_steps(tstep, torch.cuda.synchronize, args.warmup, args.reps) * 1e3
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                tstep()
                torch.cuda.synchronize()
                tmem = torch.cuda.max_memory_allocated()
                tsyncs = torch_syncs(torch, tstep)
            rows.append((name, target, ms, tms, mem, tmem, syncs, tsyncs))
            say(f"{name}: retrograd {ms:.2f} ms" + (f", torch {tms:.2f} ms ({ms / tms:.2f}x)" if tms else "") +
                f"; peak {mem / 2**20:.1f} MiB ({how})" + (f" vs {tmem / 2**20:.1f} MiB" if tmem else "") +
                f"; syncs {syncs}" + (f" (torch {tsyncs})" if tsyncs is not None else ""))
        guarded(name, measure, 150)

    print(f"\n### {dev.name}; float32; median of {args.reps} steps after {args.warmup} warm-up\n")
    print("| workload | retrograd ms | PyTorch CUDA ms | ratio (target) | retrograd peak MiB | PyTorch peak MiB "
          "| memory ratio (target 1.2) | device→host syncs per step: retrograd / PyTorch (target 0) |")
    print("|---|---|---|---|---|---|---|---|")
    f = lambda v, fmt: "-" if v is None else fmt.format(v)  # noqa: E731
    for name, target, ms, tms, mem, tmem, syncs, tsyncs in rows:
        ratio = f"{ms / tms:.2f} (≤ {target})" if ms and tms else f"- (≤ {target})"
        mratio = f"{mem / tmem:.2f}" if mem and tmem else "-"
        print(f"| {name} | {f(ms, '{:.2f}')} | {f(tms, '{:.2f}')} | {ratio} | {f(mem and mem / 2**20, '{:.1f}')} | "
              f"{f(tmem and tmem / 2**20, '{:.1f}')} | {mratio} | {syncs} / {tsyncs if tsyncs is not None else '-'} |")
    print(f"\nfailed: {', '.join(FAILED)}" if FAILED else "\nevery check ran")
    print(f"total {time.perf_counter() - T0:.0f} s")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
