"""What the recorded graph keeps alive: retrograd's tape against PyTorch's
saved tensors, float32, on graphs composed from elementary ops.

    python benchmarks/bench_tape_memory.py
    python benchmarks/bench_tape_memory.py --workloads rnn,lstm --json /tmp/tape.json
    python benchmarks/bench_tape_memory.py --src /tmp/rg_before/src     # another version of retrograd

Workloads (same weights and inputs in both libraries; recurrences written step
by step with ops, no fused recurrent layer):

* ``rnn``   leaky tanh RNN, T 200, B 16, input 32, H 128, α = 0.5:
            h = (1 − α)·h + α·tanh(x_t W_x + h W_h + b);
* ``lstm``  LSTM cell, T 100, B 16, input 32, H 128: gates = x_t W + h U + b,
            i, f, g, o = gates.chunk(4, dim=1) (sigmoid, sigmoid, tanh, sigmoid),
            c = f·c + i·g, h = o·tanh(c);
* ``gru``   GRU cell with PyTorch's equations, T 100, same sizes: gx = x_t W + b_i,
            gh = h U + b_h, each chunked into (r, z, n) parts, r = σ(gx_r + gh_r),
            z = σ(gx_z + gh_z), n = tanh(gx_n + r·gh_n), h = (1 − z)·n + z·h;
* ``mlp``   784-512-512-10, batch 256, ReLU, ``x @ W + b`` per layer, cross-entropy
            on class indices;
* ``ln_mlp`` the same MLP with a layer norm written out after each hidden linear,
            literally as mu = x.mean(-1, keepdim), var = ((x − mu)²).mean(-1, keepdim),
            y = (x − mu)/sqrt(var + 1e-5)·gamma + beta (so x − mu is computed twice).

The recurrences are time-major (x: (T, B, I), x_t = x[t]); their loss is the
mean of the squared readout of the final state, (h_T w_out)², w_out: (H, 1).

The method (the project's agreed definition):

* **retrograd**: ``tracemalloc``'s traced current just after the forward pass
  (up to the scalar loss) minus just before it; parameters and inputs exist
  before, the loss and the final output are still referenced at the "after"
  point, every other intermediate is dropped as plain Python drops it (loop
  variables overwritten, the forward function's locals gone). NumPy reports its
  buffers to tracemalloc, so this is every array and every Python object
  (tensors, tape nodes) the graph holds. One untraced forward + backward runs
  first, so one-off caches (lazy imports, first-call tables) are not counted;
  ``--no-warmup`` counts them.
* **PyTorch**: the unique storages that ``torch.autograd.graph.saved_tensors_hooks``
  sees during the same forward pass (pack records
  ``t.untyped_storage().data_ptr() -> nbytes()``, deduplicated by data_ptr),
  leaving out storages of the parameters and inputs made before, plus the
  storages of the final output and of the loss (once each, deduplicated with the
  saved ones). Python objects of the graph (grad_fn nodes) are not counted.

After measuring, both run backward and the gradients of every parameter are
compared (float32: max |Δ| / max |g_torch| per parameter ≤ ``--rtol``, 1e-4);
the largest such difference is printed in the ``max rel diff`` column, and the
script exits 1 if any workload disagrees. ``--breakdown`` lists PyTorch's
saved storages by size and retrograd's bytes split into NumPy buffers and
Python objects (tape nodes, tensors).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tracemalloc

MiB = 1 << 20

# name: (label, sizes)
WORKLOADS = {
    "rnn": ("leaky tanh RNN  T200 B16 I32 H128", dict(T=200, B=16, I=32, H=128, alpha=0.5)),
    "lstm": ("LSTM cell (ops) T100 B16 I32 H128", dict(T=100, B=16, I=32, H=128)),
    "gru": ("GRU cell (ops)  T100 B16 I32 H128", dict(T=100, B=16, I=32, H=128)),
    "mlp": ("MLP 784-512-512-10 B256 ReLU CE", dict(B=256, sizes=(784, 512, 512, 10))),
    "ln_mlp": ("MLP + layer norm (ops) B256", dict(B=256, sizes=(784, 512, 512, 10), eps=1e-5)),
}


# ------------------------------------------------------------------ the workloads
# Each takes a namespace `F` of the few functions whose names differ between the
# libraries, the parameters (a dict of leaf tensors) and the inputs, and returns
# (final output, loss). The same source runs on both libraries.

def fwd_rnn(F, p, x, cfg):
    a = cfg["alpha"]
    h = p["h0"]
    for t in range(cfg["T"]):
        h = (1 - a) * h + a * F.tanh(x[t] @ p["W_x"] + h @ p["W_h"] + p["b"])
    out = h @ p["w_out"]
    return out, (out ** 2).mean()


def fwd_lstm(F, p, x, cfg):
    h, c = p["h0"], p["c0"]
    for t in range(cfg["T"]):
        gates = x[t] @ p["W"] + h @ p["U"] + p["b"]
        i, f, g, o = gates.chunk(4, dim=1)
        i, f, g, o = F.sigmoid(i), F.sigmoid(f), F.tanh(g), F.sigmoid(o)
        c = f * c + i * g
        h = o * F.tanh(c)
    out = h @ p["w_out"]
    return out, (out ** 2).mean()


def fwd_gru(F, p, x, cfg):
    h = p["h0"]
    for t in range(cfg["T"]):
        gx = x[t] @ p["W"] + p["b_i"]
        gh = h @ p["U"] + p["b_h"]
        xr, xz, xn = gx.chunk(3, dim=1)
        hr, hz, hn = gh.chunk(3, dim=1)
        r = F.sigmoid(xr + hr)
        z = F.sigmoid(xz + hz)
        n = F.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
    out = h @ p["w_out"]
    return out, (out ** 2).mean()


def fwd_mlp(F, p, x, cfg):
    x, y = x
    n = len(cfg["sizes"]) - 1
    for k in range(n):
        x = x @ p[f"W{k}"] + p[f"b{k}"]
        if k < n - 1:
            x = F.relu(x)
    return x, F.cross_entropy(x, y)


def fwd_ln_mlp(F, p, x, cfg):
    x, y = x
    n = len(cfg["sizes"]) - 1
    for k in range(n):
        x = x @ p[f"W{k}"] + p[f"b{k}"]
        if k < n - 1:
            mu = x.mean(-1, keepdim=True)
            var = ((x - mu) ** 2).mean(-1, keepdim=True)
            x = (x - mu) / F.sqrt(var + cfg["eps"]) * p[f"gamma{k}"] + p[f"beta{k}"]
            x = F.relu(x)
    return x, F.cross_entropy(x, y)


FORWARD = {"rnn": fwd_rnn, "lstm": fwd_lstm, "gru": fwd_gru, "mlp": fwd_mlp, "ln_mlp": fwd_ln_mlp}


def make_data(name, cfg, seed=0):
    """float32 NumPy parameters (dict) and inputs, PyTorch's default-ish init scale."""
    import numpy as np
    rng = np.random.default_rng(seed)

    def u(shape, fan_in):
        k = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-k, k, shape).astype(np.float32)

    if name in ("rnn", "lstm", "gru"):
        T, B, I, H = cfg["T"], cfg["B"], cfg["I"], cfg["H"]
        G = {"rnn": 1, "lstm": 4, "gru": 3}[name] * H
        x = rng.standard_normal((T, B, I)).astype(np.float32)
        p = {"h0": np.zeros((B, H), np.float32)}  # the initial state: no gradient, made before
        if name == "rnn":
            p.update(W_x=u((I, H), H), W_h=u((H, H), H), b=u((H,), H))
        elif name == "lstm":
            p.update(c0=np.zeros((B, H), np.float32), W=u((I, G), H), U=u((H, G), H), b=u((G,), H))
        else:
            p.update(W=u((I, G), H), U=u((H, G), H), b_i=u((G,), H), b_h=u((G,), H))
        p["w_out"] = u((H, 1), H)
        return p, x
    sizes, B = cfg["sizes"], cfg["B"]
    p = {}
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        p[f"W{k}"], p[f"b{k}"] = u((i, o), i), u((o,), i)
        if name == "ln_mlp" and k < len(sizes) - 2:
            p[f"gamma{k}"] = (1 + 0.1 * rng.standard_normal(o)).astype(np.float32)
            p[f"beta{k}"] = (0.1 * rng.standard_normal(o)).astype(np.float32)
    x = rng.standard_normal((B, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], B).astype(np.int64)
    return p, (x, y)


NO_GRAD = ("h0", "c0")  # initial states: plain inputs


# ------------------------------------------------------------------ measuring

def measure_retrograd(name, cfg, p_np, x_np, warmup=True, breakdown=None):
    import retrograd as rg

    F = rg  # rg.tanh, rg.sigmoid, rg.relu, rg.sqrt, rg.cross_entropy
    p = {k: rg.tensor(v, requires_grad=k not in NO_GRAD) for k, v in p_np.items()}
    x = tuple(rg.tensor(a) for a in x_np) if isinstance(x_np, tuple) else rg.tensor(x_np)
    fwd = FORWARD[name]

    if warmup:
        _, loss = fwd(F, p, x, cfg)
        loss.backward()
        del loss
        for v in p.values():
            v.grad = None
    gc.collect()

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out, loss = fwd(F, p, x, cfg)
        after = tracemalloc.get_traced_memory()[0]
        if breakdown is not None:  # NumPy's buffers are traced in a domain of their own
            import numpy as np
            dom = np.lib.tracemalloc_domain
            snap = tracemalloc.take_snapshot()
            breakdown["numpy"] = sum(tr.size for tr in snap.traces if tr.domain == dom)
            breakdown["python"] = sum(tr.size for tr in snap.traces if tr.domain != dom)
    finally:
        tracemalloc.stop()
    loss.backward()
    grads = {k: v.grad.numpy().copy() for k, v in p.items() if k not in NO_GRAD}
    return after - before, float(loss.item()), grads


class _TorchF:
    def __init__(self, torch):
        self.tanh, self.sigmoid, self.relu, self.sqrt = torch.tanh, torch.sigmoid, torch.relu, torch.sqrt
        self.cross_entropy = torch.nn.functional.cross_entropy


def measure_torch(name, cfg, p_np, x_np, breakdown=None):
    import torch

    F = _TorchF(torch)
    p = {k: torch.from_numpy(v.copy()).requires_grad_(k not in NO_GRAD) for k, v in p_np.items()}
    x = tuple(torch.from_numpy(a.copy()) for a in x_np) if isinstance(x_np, tuple) else torch.from_numpy(x_np.copy())
    before = {t.untyped_storage().data_ptr() for t in list(p.values()) + list(x if isinstance(x, tuple) else [x])}

    saved = {}  # data_ptr -> nbytes

    def pack(t):
        s = t.untyped_storage()
        ptr = s.data_ptr()
        if ptr not in before and ptr not in saved:
            saved[ptr] = s.nbytes()
            if breakdown is not None:
                key = (tuple(t.shape), s.nbytes())
                breakdown[key] = breakdown.get(key, 0) + 1
        return t

    def unpack(t):
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        out, loss = FORWARD[name](F, p, x, cfg)
    counted = dict(saved)
    for t in (out, loss):
        s = t.untyped_storage()
        if s.data_ptr() not in before:
            counted.setdefault(s.data_ptr(), s.nbytes())
    nbytes = sum(counted.values())
    loss.backward()
    grads = {k: v.grad.numpy().copy() for k, v in p.items() if k not in NO_GRAD}
    return nbytes, float(loss.item()), grads


def rel_diff(ga, gb):
    import numpy as np
    worst = 0.0
    for k in gb:
        scale = float(np.max(np.abs(gb[k]))) or 1.0
        worst = max(worst, float(np.max(np.abs(ga[k] - gb[k]))) / scale)
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, of {', '.join(WORKLOADS)}")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rtol", type=float, default=1e-4, help="gradient agreement: max |Δ| / max |g_torch| per parameter")
    ap.add_argument("--no-warmup", action="store_true", help="measure retrograd's first forward pass (one-off caches counted)")
    ap.add_argument("--breakdown", action="store_true", help="list PyTorch's saved storages by (shape, nbytes)")
    ap.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    ap.add_argument("--src", metavar="DIR", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"),
                    help="the retrograd source tree to import (default: this checkout's src), e.g. an older version's")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch

    sys.path.insert(0, os.path.abspath(args.src))
    import retrograd as rg

    torch.set_num_threads(args.threads)
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for n in names:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")

    print(f"# tape memory, float32: retrograd {rg.__version__} from {os.path.dirname(os.path.dirname(rg.__file__))} (tracemalloc over the forward pass), "
          f"torch {torch.__version__} (unique saved storages + output + loss); numpy {np.__version__}, "
          f"python {platform.python_version()}, warmup {'off' if args.no_warmup else 'on'}")
    head = f"{'workload':<36} | {'retrograd MiB':>13} | {'PyTorch MiB':>11} | {'ratio':>6} | {'max rel diff':>12}"
    print(head)
    print("-" * len(head))
    rows, ok = [], True
    for n in names:
        label, cfg = WORKLOADS[n]
        p_np, x_np = make_data(n, cfg)
        rbd = {} if args.breakdown else None
        rg_bytes, rg_loss, rg_grads = measure_retrograd(n, cfg, p_np, x_np, warmup=not args.no_warmup, breakdown=rbd)
        bd = {} if args.breakdown else None
        th_bytes, th_loss, th_grads = measure_torch(n, cfg, p_np, x_np, breakdown=bd)
        diff = rel_diff(rg_grads, th_grads)
        agree = diff <= args.rtol and abs(rg_loss - th_loss) <= args.rtol * max(abs(th_loss), 1e-30)
        ok &= agree
        ratio = rg_bytes / th_bytes if th_bytes else float("inf")
        print(f"{label:<36} | {rg_bytes / MiB:>13.2f} | {th_bytes / MiB:>11.2f} | {ratio:>6.2f} | "
              f"{diff:>12.1e}{'' if agree else '  MISMATCH'}", flush=True)
        if bd is not None:
            print(f"    retrograd: NumPy buffers {rbd['numpy'] / MiB:.2f} MiB, Python objects {rbd['python'] / MiB:.2f} MiB "
                  f"(tracemalloc snapshot by domain)")
            for (shape, nb), cnt in sorted(bd.items(), key=lambda kv: -kv[0][1] * kv[1]):
                print(f"    torch saved {cnt:>5} × storage {nb:>8} B  (first seen as shape {list(shape)})")
        rows.append(dict(workload=n, label=label, config={k: v for k, v in cfg.items()},
                         retrograd_bytes=rg_bytes, torch_bytes=th_bytes,
                         retrograd_mib=rg_bytes / MiB, torch_mib=th_bytes / MiB, ratio=ratio,
                         loss_retrograd=rg_loss, loss_torch=th_loss, grad_max_rel_diff=diff, agree=agree))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(retrograd=rg.__version__, torch=torch.__version__, numpy=np.__version__,
                           warmup=not args.no_warmup, rows=rows), fh, indent=2)
        print(f"# rows written to {args.json}")
    if not ok:
        print(f"# gradients or losses disagree beyond rtol {args.rtol}: the workloads are not the same", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
