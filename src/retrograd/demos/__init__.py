"""Runnable demos, one per question the project answers: ``retrograd demo NAME``.

Each demo module has ``DESCRIPTION`` and ``run(out_dir, seed, **options)``
returning a dict of results (tests check them).
"""

from __future__ import annotations

import importlib

NAMES = ("echo", "series", "charlm", "keras-charlm", "bptt-modes", "online", "xor", "output-delta", "sine", "digits", "cnn",
         "cartpole")


def _module(name: str):
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}")


def descriptions() -> dict:
    """{demo name: one-line description}, read from each demo's ``DESCRIPTION``
    (the demos import their heavy dependencies only when they run)."""
    return {name: _module(name).DESCRIPTION for name in NAMES}


def run(name: str, **kwargs):
    """Run the demo ``name`` (see ``NAMES``) and return its results dict."""
    if name not in NAMES:
        raise SystemExit(f"unknown demo {name!r}; available: {', '.join(sorted(NAMES))}")
    return _module(name).run(**kwargs)
