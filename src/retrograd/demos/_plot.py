"""Small plotting helpers shared by the demos (matplotlib is optional)."""

from __future__ import annotations

import os


def save_curves(path, curves: dict, title: str, xlabel: str = "step", ylabel: str = "loss",
                logy: bool = False):
    """Save ``{label: values}`` as line plots to ``path`` (PNG). Returns the path,
    or None (with a note) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: pip install 'retrograd[plot]' to get the plot)")
        return None
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
