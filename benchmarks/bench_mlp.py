"""retrograd's MLP training step side by side with the shared NumPy / PyTorch /
JAX references (``../shared/bench/anchors_mlp.py``), in one run.

    python benchmarks/bench_mlp.py                       # xor and mnist, 2 threads
    python benchmarks/bench_mlp.py --configs xor --threads 1

Prints the harness's correctness check (every implementation against a
float64 NumPy reference) and timing tables, then the ratios the issues set as
targets: retrograd / numpy and retrograd / torch (nn + optim).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.environ.get("RETROGRAD_BENCH_DIR",
                       os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench")))


def run_harness(script: str, extra_impls: dict, default_impls: str, report, argv=None):
    """Run one of the harness's anchor scripts with retrograd's classes
    registered, then ``report(json results)``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not os.path.isdir(BENCH):
        raise SystemExit(f"shared benchmark harness not found at {BENCH} (set RETROGRAD_BENCH_DIR)")
    sys.path[:0] = [BENCH, HERE]
    anchors = __import__(script)
    anchors.IMPLS.update(extra_impls)
    if not any(a.startswith("--impls") for a in argv):
        argv += ["--impls", default_impls]
    json_path = None
    if not any(a.startswith("--json") for a in argv):
        json_path = os.path.join(tempfile.mkdtemp(), "results.json")
        argv += ["--json", json_path]
    sys.argv = [script + ".py"] + argv
    try:
        anchors.main()
    finally:
        if json_path and os.path.exists(json_path):
            with open(json_path) as f:
                report(json.load(f)["results"])


def main(argv=None):
    run_harness("anchors_mlp", {"retrograd": ("impl_retrograd", "RetrogradMLP"),
                                "retrograd_raw": ("impl_retrograd", "RetrogradMLPRaw")},
                "numpy,torch,torch_raw,retrograd,retrograd_raw", report_ratios, argv)


def report_ratios(results):
    by = {(r["config"], r["impl"]): r["median_s"] for r in results}
    print("\n### retrograd ratios (median step time; lower is faster)\n")
    print("| config | impl | us | x numpy | x torch (nn+optim) | x torch raw |")
    print("|---|---|---|---|---|---|")
    for cfg in sorted({c for c, _ in by}):
        for impl in ("retrograd", "retrograd_raw"):
            rg_t = by.get((cfg, impl))
            if rg_t is None:
                continue
            cells = [f"{rg_t * 1e6:.1f}"]
            for ref in ("numpy", "torch", "torch_raw"):
                t = by.get((cfg, ref))
                cells.append(f"{rg_t / t:.2f}" if t else "-")
            print(f"| {cfg} | {impl} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
