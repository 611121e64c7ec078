"""retrograd's LSTM training step (full BPTT) side by side with the shared
NumPy / PyTorch / JAX references (``../shared/bench/anchors_lstm.py``).

    python benchmarks/bench_lstm.py                          # configs a–d, 2 threads
    python benchmarks/bench_lstm.py --configs a,c --impls numpy,torch_cell,retrograd

Prints the harness's correctness check against the float64 NumPy reference,
its timing tables, and retrograd's ratios to NumPy and to PyTorch.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

from bench_mlp import BENCH, HERE


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not os.path.isdir(BENCH):
        raise SystemExit(f"shared benchmark harness not found at {BENCH} (set RETROGRAD_BENCH_DIR)")
    sys.path[:0] = [BENCH, HERE]
    import anchors_lstm

    anchors_lstm.IMPLS["retrograd"] = ("impl_retrograd", "RetrogradLSTM")
    if not any(a.startswith("--impls") for a in argv):
        argv += ["--impls", "numpy,torch_nn,torch_cell,retrograd"]
    json_path = None
    if not any(a.startswith("--json") for a in argv):
        json_path = os.path.join(tempfile.mkdtemp(), "lstm.json")
        argv += ["--json", json_path]
    sys.argv = ["anchors_lstm.py"] + argv
    try:
        anchors_lstm.main()
    finally:
        if json_path and os.path.exists(json_path):
            with open(json_path) as f:
                results = json.load(f)["results"]
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


if __name__ == "__main__":
    main()
