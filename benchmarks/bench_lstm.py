"""retrograd's LSTM training step (full BPTT) side by side with the shared
NumPy / PyTorch / JAX references (``../shared/bench/anchors_lstm.py``).

    python benchmarks/bench_lstm.py                          # configs a–d, 2 threads
    python benchmarks/bench_lstm.py --configs a,c --impls numpy,torch_cell,retrograd

Prints the harness's correctness check against the float64 NumPy reference,
its timing tables, and retrograd's ratios to NumPy and to PyTorch.
"""

from __future__ import annotations

from bench_mlp import run_harness


def report_ratios(results):
    by = {(r["config"], r["impl"]): r["median_s"] for r in results}
    print("\n### retrograd ratios (median step time; lower is faster)\n")
    print("| config | retrograd ms | x numpy | x torch nn.LSTM | x torch LSTMCell loop |")
    print("|---|---|---|---|---|")
    for cfg in sorted({c for c, _ in by}):
        t = by.get((cfg, "retrograd"))
        if t is None:
            continue
        cells = [f"{t * 1e3:.2f}"] + [f"{t / by[(cfg, r)]:.2f}" if (cfg, r) in by else "-"
                                       for r in ("numpy", "torch_nn", "torch_cell")]
        print(f"| {cfg} | " + " | ".join(cells) + " |")


def main(argv=None):
    run_harness("anchors_lstm", {"retrograd": ("impl_retrograd", "RetrogradLSTM")},
                "numpy,torch_nn,torch_cell,retrograd", report_ratios, argv)


if __name__ == "__main__":
    main()
