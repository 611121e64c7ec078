"""Online modes: time and memory per step against n_h, and retrograd against hand-written NumPy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_online.py [--steps 300] [--long 2000] [--sizes 8 16 32 64] [--eager] [--repeats 7] [--comparison] [--leak α]

For each mode of ``rg.bptt`` (rtrl, uoro, kf_rtrl, snap(1), rflo, chunk(10)) on
Marschall et al.'s network (batch 1, online SGD, one update per step; the online modes with
``compile=True``, or as recorded on the tape every step with ``--eager``) this
prints the best time per step and the peak memory of a short run
(tracemalloc: the influence, one step's tape and its transients) for each
n_h, next to the formulas;
then, at every n_h, the ratio retrograd / NumPy for RTRL and UORO, the NumPy
column being ``benchmarks/online_numpy.py`` (the same equations written by
hand), timed in the same run: the median step of runs of ``--long`` steps, each
step timed (what a step costs once a run is going: a median is not moved by
this VM's noisy moments), what a compiled run's first steps cost beyond that
(its trace and lowering), and whole runs of ``--steps`` steps with that
included. Absolute times vary between machines; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import time
import tracemalloc
import warnings

import numpy as np

import retrograd as rg
from retrograd.nn.module import Parameter

_spec = importlib.util.spec_from_file_location("online_numpy", pathlib.Path(__file__).with_name("online_numpy.py"))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

FORMULAS = {"rtrl": ("O(n²P)", "O(nP)"), "uoro": ("O(n² + P)", "O(n + P)"), "kf_rtrl": ("O(n³ + P)", "O(n² + n)"),
            "snap(1)": ("O(n³ + P·r²)¹", "O(P·r + n²)"), "rflo": ("O(nP)", "O(nP)"), "chunk(10)": ("O(n² + P)", "O(10 n)")}


LEAK = None  # --leak α: the cells written with their leak, aₜ = (1 − α) aₜ₋₁ + α tanh(…) (None: α = 1, no term)


def _net(n_h):
    return ref.LeakyRNN.init(2, n_h, 2, 0, alpha=1.0 if LEAK is None else LEAK)


class Leaky(rg.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.W = Parameter(np.concatenate([net.W_rec, net.W_in], axis=1))
        self.b = Parameter(net.b_rec.copy())
        self.W_out, self.b_out = Parameter(net.W_out), Parameter(net.b_out)
        self.alpha = None if LEAK is None else net.alpha

    def forward(self, x, a):
        h = rg.tanh(rg.linear(rg.cat([a, x], -1), self.W, self.b))
        a = h if self.alpha is None else (1 - self.alpha) * a + self.alpha * h
        return rg.linear(a, self.W_out, self.b_out), a


def modes(compile=True):
    c = {"compile": compile}
    return {"rtrl": rg.bptt.rtrl(**c), "uoro": rg.bptt.uoro(seed=0, **c), "kf_rtrl": rg.bptt.kf_rtrl(seed=0, **c),
            "snap(1)": rg.bptt.snap(1, **c), "rflo": rg.bptt.rflo(0.0, **c), "chunk(10)": rg.bptt.chunk(10)}


def time_retrograd(mode, n_h, steps, repeats=3):
    net = _net(n_h)
    xs, ys = ref.add_task(steps, 0)
    best = np.inf
    for _ in range(repeats):
        model = Leaky(net)
        opt = rg.optim.SGD(model.parameters(), lr=0.0)
        t0 = time.perf_counter()
        rg.bptt.train(model, xs[:, None], ys[:, None], rg.cross_entropy, opt, mode, state=rg.zeros(1, n_h))
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def time_numpy(algorithm, n_h, steps, repeats=3):
    xs, ys = ref.add_task(steps, 0)
    best = np.inf
    for _ in range(repeats):
        net = _net(n_h)
        alg = algorithm()
        t0 = time.perf_counter()
        ref.train_online(net, alg, xs, ys, lr=0.0)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


FIRST = 10  # steps a run takes to get going (the trace, the lowering): 'once' in the comparison


def retrograd_step_times(mode, n_h, steps):
    """Each step's time in one ``rg.bptt.train`` run (s): the gaps between the optimizer's steps,
    stamped by a step post-hook (its own cost, about half a microsecond, included)."""
    net = _net(n_h)
    xs, ys = ref.add_task(steps, 0)
    model = Leaky(net)
    opt = rg.optim.SGD(model.parameters(), lr=0.0)
    stamps = []
    opt.register_step_post_hook(lambda *_: stamps.append(time.perf_counter()))
    start = time.perf_counter()
    rg.bptt.train(model, xs[:, None], ys[:, None], rg.cross_entropy, opt, mode, state=rg.zeros(1, n_h))
    return np.diff([start] + stamps)


def numpy_step_times(algorithm, n_h, steps):
    """Each step's time in one run of the hand-written loop (s), stamped the same way: after its update."""
    net = _net(n_h)
    xs, ys = ref.add_task(steps, 0)
    stamps, sgd = [], net.sgd

    def stamped(grads, lr):
        sgd(grads, lr)
        stamps.append(time.perf_counter())

    net.sgd = stamped
    start = time.perf_counter()
    ref.train_online(net, algorithm(), xs, ys, lr=0.0)
    return np.diff([start] + stamps)


def peak_bytes(mode, n_h, steps=30):
    """tracemalloc's peak over a run of ``steps`` online steps (NumPy reports its buffers to it),
    above what was allocated before: the influence, one step's tape and its transients."""
    net = _net(n_h)
    xs, ys = ref.add_task(steps, 0)
    model = Leaky(net)
    opt = rg.optim.SGD(model.parameters(), lr=0.0)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rg.bptt.train(model, xs[:, None], ys[:, None], rg.cross_entropy, opt, mode, state=rg.zeros(1, n_h))
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--eager", action="store_true", help="the table for compile=False (every step on the tape)")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved runs of each column in the comparison")
    ap.add_argument("--long", type=int, default=2000, help="steps of the comparison's runs timed step by step")
    ap.add_argument("--comparison", action="store_true", help="the comparison with NumPy alone (no table)")
    ap.add_argument("--leak", type=float, default=None,
                    help="write the cells with their leak, (1 − α)·a + α·tanh(…), at this α (default: none, α = 1)")
    args = ap.parse_args()
    global LEAK
    LEAK = args.leak
    rg.set_default_dtype(np.float64)
    # two small logits can sum to 1: they are logits all the same (the demo filters this warning too)
    warnings.filterwarnings("ignore", message="cross_entropy: the input looks like probabilities")
    compiled = not args.eager
    names = [] if args.comparison else list(modes())
    if names:
        print(f"ms per step (batch 1, best of {args.repeats} runs of {args.steps} steps, compile={compiled}) / peak kB "
              f"over a 30-step run (tracemalloc)")
        print(f"{'mode':<11}" + "".join(f"{'n_h=' + str(n):>13}" for n in args.sizes) + f"{'time':>14}{'memory':>12}")
    for name in names:
        cells = []
        for n in args.sizes:
            mode = modes(compiled)[name]
            cells.append(f"{time_retrograd(mode, n, args.steps, args.repeats) * 1e3:6.2f}/{peak_bytes(mode, n) / 1024:<5.0f}")
        print(f"{name:<11}" + "".join(f"{c:>13}" for c in cells) + f"{FORMULAS[name][0]:>14}{FORMULAS[name][1]:>12}")
    print(f"\nretrograd against hand-written NumPy (benchmarks/online_numpy.py), same run: the median step of "
          f"{args.long}-step runs (each step timed, from one parameter update to the next), best of 3 interleaved "
          f"runs of each; 'once': what the first {FIRST} steps cost beyond that (compile=True traces the first step "
          f"and lowers it); and the ratio of whole runs of {args.steps} steps (best of {args.repeats}), that included")
    for name, algorithm in [("rtrl", ref.RTRL), ("uoro", lambda: ref.UORO(np.random.default_rng(0)))]:
        for n in args.sizes:
            columns = {"numpy": lambda s: numpy_step_times(algorithm, n, s),
                       "compiled": lambda s: retrograd_step_times(modes()[name], n, s),
                       "eager": lambda s: retrograd_step_times(modes(compile=False)[name], n, s)}
            median, once = {}, {}
            for _ in range(3):  # interleaved: a noisy moment costs every column alike
                for column, step_times in columns.items():
                    times = step_times(args.long)
                    typical = float(np.median(times[FIRST:]))
                    if typical < median.get(column, np.inf):
                        median[column], once[column] = typical, float(times[:FIRST].sum() - FIRST * typical)
            short = {"numpy": np.inf, "compiled": np.inf}
            for _ in range(args.repeats):
                short["numpy"] = min(short["numpy"], time_numpy(algorithm, n, args.steps, repeats=1))
                short["compiled"] = min(short["compiled"], time_retrograd(modes()[name], n, args.steps, repeats=1))
            print(f"{name:<6} n_h={n:<4} numpy {median['numpy'] * 1e3:.3f} ms   retrograd compiled "
                  f"{median['compiled'] * 1e3:.3f} ms (ratio {median['compiled'] / median['numpy']:.2f}; once "
                  f"{once['compiled'] * 1e3:.1f} ms; runs of {args.steps}: {short['compiled'] / short['numpy']:.2f})   "
                  f"eager {median['eager'] * 1e3:.3f} ms (ratio {median['eager'] / median['numpy']:.2f})")


if __name__ == "__main__":
    main()
