"""PNG plots with matplotlib (an optional extra: ``pip install 'retrograd[plot]'``)."""

from __future__ import annotations

import os


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _prepare(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def save_curves(path, curves: dict, title: str, xlabel: str = "step", ylabel: str = "loss",
                logy: bool = False):
    """Save ``{label: values}`` as line plots to ``path``. Returns the path, or
    None (with a note) when matplotlib is not installed."""
    plt = _pyplot()
    if plt is None:
        print("(matplotlib is not installed: pip install 'retrograd[plot]' to get the plot)")
        return None
    _prepare(path)
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


def plot_history(history, path, title: str = "training"):
    """Loss curves (and every other metric) of a ``fit`` history, one panel each."""
    plt = _pyplot()
    if plt is None:
        print("(matplotlib is not installed: pip install 'retrograd[plot]' to get the plot)")
        return None
    h = history.history if hasattr(history, "history") else history
    names = sorted({k[4:] if k.startswith("val_") else k for k in h})
    _prepare(path)
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key in (name, "val_" + name):
            if key in h and h[key]:
                ax.plot(range(1, len(h[key]) + 1), h[key], marker="o", ms=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
