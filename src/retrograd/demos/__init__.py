"""Runnable demos, one per question of the seed pages: ``retrograd demo NAME``.

Each demo module has ``DESCRIPTION`` and ``run(out_dir, seed, **options)``
returning a dict of results (tests check them).
"""

from __future__ import annotations

import importlib

DEMOS = {
    "xor": "2-3-1 sigmoid network learning XOR with plain gradient descent (seed page 001)",
}


def run(name: str, **kwargs):
    if name not in DEMOS:
        raise SystemExit(f"unknown demo {name!r}; available: {', '.join(sorted(DEMOS))}")
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    return module.run(**kwargs)
